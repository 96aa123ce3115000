//! Invoicing: Sales Order Close (`""` → `"pending"` → `SI-nnnn`), the test
//! hook that invoices at once, and the one that takes an invoice back.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::build;
use super::model::Order;
use super::order_id;
use crate::account::{Account, IdCounters};
use crate::envelope::{code, parse_json_body, Reply};
use crate::resources::{ApiRequest, Ctx};
use crate::time::local_midnight;
use crate::SandboxError;

/// How long an invoice stays `"pending"` after a close.
const PENDING_SECONDS: i64 = 2;

/// `POST order-service/sales-order/{id}/close` with `{}` or
/// `{"taxDate": ...}`: the reference becomes `"pending"` and,
/// [`PENDING_SECONDS`] later, the real invoice number. Closing an invoiced
/// order is rejected. Replies `{}`.
pub(crate) fn close(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    const MT: &str = "post-sales-order-close";
    let now = ctx.now;
    let requested_tax_date = match close_tax_date(ctx.account, request.body) {
        Ok(date) => date,
        Err(message) => {
            return Reply::error(StatusCode::BAD_REQUEST, code::BODY_INVALID, message, MT)
        }
    };
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
    order.requested_tax_date = requested_tax_date;
    order.touch(now);
    Reply::ok_raw(json!({}), MT)
}

/// Reads the optional `taxDate` of a close body; an empty body is `{}`.
fn close_tax_date(account: &Account, body: &[u8]) -> Result<Option<chrono::DateTime<Utc>>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body = parse_json_body(body, "post-sales-order-close")
        .map_err(|_| "The request body is not valid JSON".to_owned())?;
    build::date(body.get("taxDate"), account).map_err(|message| format!("taxDate: {message}"))
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

/// Invoices an order or a sales credit at once; the test hook behind
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

/// Issues the invoice: the next number, `state.tax` `INVOICED`, `closedOn`,
/// and the tax date (the one a close asked for, else local midnight of
/// today) with the due date kept the same number of days after it.
// NOTE: invoicing moves the provisional tax date to the invoice day, which
// is inferred from Brightpearl's documents. No capture shows an order
// invoiced on a later day than it was created.
fn finish(account: &mut Account, id: u64, now: DateTime<Utc>) -> String {
    let number = IdCounters::next(&mut account.ids.invoice);
    let offset = account.catalogue.offset;
    let Some(order) = account.orders.get_mut(&id) else {
        return String::new();
    };
    let reference = format!("{}-{number}", invoice_prefix(order));
    let tax_date = order.requested_tax_date.take().map_or_else(
        || local_midnight(now, offset),
        |d| local_midnight(d, offset),
    );
    let term = match (order.due_date, order.tax_date) {
        (Some(due), Some(tax)) => due - tax,
        _ => Duration::zero(),
    };
    order.invoice_reference = reference.clone();
    order.invoice_pending_since = None;
    order.tax_state = "INVOICED".to_owned();
    order.tax_date = Some(tax_date);
    order.due_date = Some(tax_date + term);
    order.closed_on = Some(now);
    order.touch(now);
    reference
}

/// Returns `SI` for sales invoices (Brightpearl's journal type for them)
/// and `SC` for sales credits (their order type code).
// NOTE: a credit's reference prefix was never captured, so `SC-` with the
// shared invoice counter is a guess.
fn invoice_prefix(order: &Order) -> &'static str {
    if order.order_type == "SC" {
        "SC"
    } else {
        "SI"
    }
}

/// Takes an order's invoice back, as staff would by reversing it: the
/// reference becomes `""`, `state.tax` `READY` and `closedOn` is removed.
/// The test hook behind [`crate::Sandbox::uninvoice_order`].
pub(crate) fn uninvoice_now(
    account: &mut Account,
    id: u64,
    now: DateTime<Utc>,
) -> Result<(), SandboxError> {
    let order = account
        .orders
        .get_mut(&id)
        .ok_or(SandboxError::UnknownOrder(id))?;
    if order.invoice_reference.is_empty() {
        return Err(SandboxError::NotInvoiced(id));
    }
    order.invoice_reference = String::new();
    order.invoice_pending_since = None;
    order.requested_tax_date = None;
    order.tax_state = "READY".to_owned();
    order.closed_on = None;
    order.touch(now);
    Ok(())
}
