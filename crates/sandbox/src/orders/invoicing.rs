//! Invoicing: Sales Order Close (`""` → `"pending"` → `SI-nnnn`) and the
//! test hook that invoices at once.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::order_id;
use crate::account::{Account, IdCounters};
use crate::envelope::{code, Reply};
use crate::resources::Ctx;
use crate::SandboxError;

/// How long an invoice stays `"pending"` after a close.
const PENDING_SECONDS: i64 = 2;

/// `POST order-service/sales-order/{id}/close`: the reference becomes
/// `"pending"` and, [`PENDING_SECONDS`] later, the real invoice number.
/// Closing an invoiced order is refused. Replies `{}`.
pub(crate) fn close(ctx: &mut Ctx<'_>, segment: &str) -> Reply {
    const MT: &str = "post-sales-order-close";
    let now = ctx.now;
    let Some(order) = order_id(segment)
        .and_then(|id| ctx.account.orders.get_mut(&id))
        .filter(|o| o.order_type == "SO")
    else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            MT,
        );
    };
    if !order.invoice_reference.is_empty() {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ALREADY_INVOICED,
            format!(
                "Sales order {} is already invoiced or being invoiced",
                order.id
            ),
            MT,
        );
    }
    order.invoice_reference = "pending".to_owned();
    order.invoice_pending_since = Some(now);
    order.touch(now);
    Reply::ok_raw(json!({}), MT)
}

/// Finishes closes that have been pending long enough.
pub(crate) fn settle_pending(account: &mut Account, now: DateTime<Utc>) {
    let due: Vec<u64> = account
        .orders
        .values()
        .filter(|o| {
            o.invoice_pending_since
                .is_some_and(|since| since + Duration::seconds(PENDING_SECONDS) <= now)
        })
        .map(|o| o.id)
        .collect();
    for id in due {
        finish(account, id, now);
    }
}

/// Invoices an order at once; the test hook behind
/// [`crate::Sandbox::invoice_order`].
pub(crate) fn invoice_now(
    account: &mut Account,
    id: u64,
    now: DateTime<Utc>,
) -> Result<String, SandboxError> {
    let order = account
        .orders
        .get(&id)
        .ok_or(SandboxError::UnknownOrder(id))?;
    if !order.invoice_reference.is_empty() && order.invoice_reference != "pending" {
        return Err(SandboxError::AlreadyInvoiced(id));
    }
    Ok(finish(account, id, now))
}

fn finish(account: &mut Account, id: u64, now: DateTime<Utc>) -> String {
    let reference = format!("SI-{}", IdCounters::next(&mut account.ids.invoice));
    if let Some(order) = account.orders.get_mut(&id) {
        order.invoice_reference = reference.clone();
        order.invoice_pending_since = None;
        order.tax_state = "INVOICED".to_owned();
        order.closed_on = Some(now);
        order.touch(now);
    }
    reference
}
