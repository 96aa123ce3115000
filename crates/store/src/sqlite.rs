//! SQLite implementation of [`crate::Store`].
