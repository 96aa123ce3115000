//! The command-line tests, one module per command area, built as one test
//! binary so the service is linked once. `tests/chaos.rs` stays a binary
//! of its own, run at full size by the command its comment gives.

#[path = "../common/mod.rs"]
mod common;
#[path = "../invoice_seed/mod.rs"]
mod invoice_seed;

mod admin;
mod admin_invoices;
mod admin_orders;
mod audit;
mod broken_pipe;
mod buyers;
mod cli;
mod export;
mod invoice_sigkill;
mod invoices;
mod mail_users;
mod missing_database;
mod orders;
mod serve;
mod served;
mod shared_budget;
