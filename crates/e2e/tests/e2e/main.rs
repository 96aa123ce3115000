//! The end-to-end tests, one module per area, built as one test binary.
//!
//! Each file under `tests/` would be a binary of its own that links the
//! whole service, about 75 MB apiece. As modules of one binary they link
//! once. `orders_in.rs` and `portal_users.rs` stay binaries of their own:
//! they capture every log line of their process to check it for secrets,
//! and a shared process would fill that buffer with every other test's
//! logs.

mod batching;
mod browser_buyers;
mod browser_customers;
mod browser_first_login;
mod browser_items;
mod browser_logs;
mod browser_settings;
mod browser_smoke;
mod exactly_once;
mod hostile_input;
mod intake;
mod invoice_flow;
mod invoice_poll;
mod invoices_out;
mod job_leases;
mod portal_buyers;
mod portal_customers;
mod portal_errors;
mod portal_isolation;
mod portal_items;
mod portal_login;
mod portal_logs;
mod portal_settings;
mod throttling;
