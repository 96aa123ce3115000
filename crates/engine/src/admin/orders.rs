//! The purchase-order list.

use pobridge_store::{PoFilter, PoStatus};
use serde::Serialize;

use super::{account, buyer_names, invalid, name_of, AdminError};
use crate::Engine;

/// One purchase order as the order list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub po_number: String,
    pub buyer: String,
    pub revisions: i64,
    pub status: PoStatus,
    /// Reason the order is held or failed, if it is.
    pub reason: Option<String>,
    pub brightpearl_order_id: Option<i64>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Lists an account's purchase orders, newest first as the store orders
/// them, optionally only those with `status` (such as `awaiting_mapping`).
pub async fn list_orders(
    engine: &Engine,
    slug: &str,
    status: Option<&str>,
) -> Result<Vec<OrderRow>, AdminError> {
    let status = status.map(parse_status).transpose()?;
    let account = account(engine, slug).await?;
    let buyer_names = buyer_names(engine, &account).await?;

    let filter = PoFilter {
        status,
        ..PoFilter::default()
    };
    let orders = engine
        .store
        .list_purchase_orders(account.id, &filter)
        .await?;
    let rows = orders
        .into_iter()
        .map(|po| OrderRow {
            po_number: po.number.0,
            buyer: name_of(&buyer_names, po.buyer_id),
            revisions: po.revision_count,
            status: po.status,
            reason: po.reason,
            brightpearl_order_id: po.brightpearl_order_id,
            updated_at: po.updated_at,
        })
        .collect();
    Ok(rows)
}

fn parse_status(value: &str) -> Result<PoStatus, AdminError> {
    PoStatus::parse(value.trim()).ok_or_else(|| {
        invalid(
            "--status",
            value,
            "one of received, synced, awaiting_mapping, awaiting_customer, held_for_review, \
             retrying, paused, failed, test_not_synced, validated, cancelled, shipped, invoiced",
        )
    })
}
