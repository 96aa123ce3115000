//! `GET /items/export.csv` and `POST /items/import`: every manual mapping
//! of the account as CSV, out and back in.

/// Largest CSV file an import reads.
pub(super) const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// What the import expects, shown beside the import form.
pub(super) const COLUMNS_HINT: &str = "";
