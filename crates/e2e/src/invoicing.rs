//! Helpers for tests and benchmarks of invoices going back to Coupa: the
//! sandbox Brightpearl's orders as staff see them.

use crate::TestApp;

/// Returns the ids of the account's sales orders in the sandbox, ascending.
pub fn sales_order_ids(app: &TestApp) -> Vec<u64> {
    let mut ids: Vec<u64> = app
        .sandbox
        .sales_orders(&app.brightpearl_code)
        .iter()
        .filter_map(|order| order["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}
