//! Editing orders: JSON Patch on the order and its rows, row DELETE and
//! the status PUT.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::build::{self, decimal};
use super::order_id;
use crate::envelope::{code, parse_json_body, Reply};
use crate::patch::{self, PatchOp};
use crate::resources::{ApiRequest, Ctx};

/// `PATCH order-service/order/{id}`: `replace` on the paths below; `add`
/// on an existing field is refused with 500 `CMNC-044`, as captured for
/// `/reference`.
pub(crate) fn patch_order(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    let ops = match patch::parse(request.body, "patch-order") {
        Ok(ops) => ops,
        Err(reply) => return reply,
    };
    let now = ctx.now;
    let account = &mut *ctx.account;
    let Some(mut order) = order_id(segment)
        .and_then(|id| account.orders.get(&id))
        .cloned()
    else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            "patch-order",
        );
    };
    for op in &ops {
        if op.op != "replace" {
            return patch::op_not_allowed(op, "patch-order");
        }
        let value = op.value.clone().unwrap_or(Value::Null);
        let applied = match op.path.as_str() {
            "/reference" => value
                .as_str()
                .map(|v| order.reference = v.to_owned())
                .is_some(),
            "/delivery/deliveryDate" => match build::date(Some(&value), account) {
                Ok(date) => {
                    order.delivery_date = date;
                    true
                }
                Err(_) => false,
            },
            "/delivery/shippingMethodId" => build::id(Some(&value))
                .map(|v| order.shipping_method_id = v)
                .is_some(),
            "/placedOn" => build::date(Some(&value), account)
                .ok()
                .flatten()
                .map(|d| order.placed_on = d)
                .is_some(),
            "/warehouseId" => build::id(Some(&value))
                .filter(|id| account.catalogue.has_warehouse(*id))
                .map(|v| order.warehouse_id = v)
                .is_some(),
            "/priceListId" => build::id(Some(&value))
                .filter(|id| account.catalogue.price_list(*id).is_some())
                .map(|v| order.price_list_id = v)
                .is_some(),
            "/assignment/current/channelId" => build::id(Some(&value))
                .map(|v| order.assignment.channel_id = v)
                .is_some(),
            "/assignment/current/staffOwnerContactId" => build::id(Some(&value))
                .map(|v| order.assignment.staff_owner_contact_id = v)
                .is_some(),
            _ => false,
        };
        if !applied {
            return patch::op_not_allowed(op, "patch-order");
        }
    }
    order.touch(now);
    let item = order.to_order_json(&account.catalogue, false);
    let id = order.id;
    account.orders.insert(id, order);
    ctx.raise("order.modified", id);
    Reply::ok(item, "patch-order")
}

/// `PATCH order-service/order/{id}/row/{rowId}`.
pub(crate) fn patch_row(
    ctx: &mut Ctx<'_>,
    request: &ApiRequest<'_>,
    segment: &str,
    row_segment: &str,
) -> Reply {
    let ops = match patch::parse(request.body, "patch-order-row") {
        Ok(ops) => ops,
        Err(reply) => return reply,
    };
    let now = ctx.now;
    let account = &mut *ctx.account;
    let Some(order) = order_id(segment).and_then(|id| account.orders.get_mut(&id)) else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            "patch-order-row",
        );
    };
    let Some(mut row) = order_id(row_segment)
        .and_then(|id| order.rows.get(&id))
        .cloned()
    else {
        return Reply::not_found(
            format!("No order row {row_segment} on order {segment}"),
            "patch-order-row",
        );
    };
    for op in &ops {
        if !apply_row_op(&mut row, op) {
            return patch::op_not_allowed(op, "patch-order-row");
        }
    }
    order.rows.insert(row.id, row);
    order.touch(now);
    let rendered = order.to_order_json(&account.catalogue, false);
    let row_json = rendered["orderRows"][row_segment].clone();
    Reply::ok(row_json, "patch-order-row")
}

fn apply_row_op(row: &mut super::model::OrderRow, op: &PatchOp) -> bool {
    if op.op != "replace" {
        return false;
    }
    let Some(value) = op.value.as_ref() else {
        return false;
    };
    match op.path.as_str() {
        "/rowValue/rowNet/value" => decimal(value).map(|v| {
            row.net = v;
            row.tax = (v * row.tax_rate / rust_decimal::Decimal::ONE_HUNDRED).round_dp(2);
        }),
        "/rowValue/rowTax/value" => decimal(value).map(|v| row.tax = v),
        "/quantity/magnitude" => decimal(value).map(|v| row.quantity = v),
        "/productName" => value.as_str().map(|v| row.name = v.to_owned()),
        "/nominalCode" => value.as_str().map(|v| row.nominal_code = v.to_owned()),
        _ => None,
    }
    .is_some()
}

/// `DELETE order-service/order/{id}/row/{rowId}`: `{}` on success.
pub(crate) fn delete_row(ctx: &mut Ctx<'_>, segment: &str, row_segment: &str) -> Reply {
    let now = ctx.now;
    let Some(order) = order_id(segment).and_then(|id| ctx.account.orders.get_mut(&id)) else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            "delete-order-row",
        );
    };
    if order_id(row_segment)
        .and_then(|id| order.rows.remove(&id))
        .is_none()
    {
        return Reply::not_found(
            format!("No order row {row_segment} on order {segment}"),
            "delete-order-row",
        );
    }
    order.touch(now);
    Reply::ok_raw(json!({}), "delete-order-row")
}

/// `PUT order-service/order/{id}/status`: the status must exist, be
/// enabled and belong to the order's type; moving to a cancelled status is
/// refused once invoiced or shipped. Replies `{}`.
pub(crate) fn put_status(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    const MT: &str = "put-order-status";
    let body = match parse_json_body(request.body, MT) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let now = ctx.now;
    let account = &mut *ctx.account;
    let Some(order) = order_id(segment).and_then(|id| account.orders.get_mut(&id)) else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            MT,
        );
    };
    let status_id = build::id(body.get("orderStatusId"));
    let status = status_id.and_then(|id| account.catalogue.order_status(id));
    let Some(status) = status.filter(|s| s.order_type_code == order.order_type && !s.disabled)
    else {
        let shown = body.get("orderStatusId").cloned().unwrap_or(Value::Null);
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::STATUS_NOT_ALLOWED,
            format!("Order status {shown} does not exist, is disabled, or is not a status for {} orders", order.order_type),
            MT,
        );
    };
    let cancelling = account
        .catalogue
        .settings
        .cancelled_status_ids
        .contains(&status.status_id);
    if cancelling && (!order.invoice_reference.is_empty() || order.shipped) {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::STATUS_NOT_ALLOWED,
            format!(
                "Order {} cannot be cancelled because it is invoiced or has shipped goods",
                order.id
            ),
            MT,
        );
    }
    let changed = order.status_id != status.status_id;
    order.status_id = status.status_id;
    order.is_cancelled = cancelling;
    order.touch(now);
    let id = order.id;
    if changed {
        ctx.raise("order.modified.order-status", id);
    }
    Reply::ok_raw(json!({}), MT)
}
