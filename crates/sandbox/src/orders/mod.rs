//! order-service: creating, reading, editing, searching and invoicing
//! orders.

pub(crate) mod build;
pub(crate) mod bundles;
pub(crate) mod create;
pub(crate) mod custom_fields;
pub(crate) mod derived;
pub(crate) mod edit;
pub(crate) mod goods_out;
pub(crate) mod invoicing;
pub(crate) mod model;
pub(crate) mod search;

use axum::http::Method;
use serde_json::{json, Value};

use crate::envelope::Reply;
use crate::idset::get_uris;
use crate::resources::{parse_capped_ids, parse_ids, unsorted, ApiRequest, Ctx};

/// Serves `order-service` calls.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    request: &ApiRequest<'_>,
    rest: &[&str],
) -> Option<Reply> {
    let method = request.method.clone();
    Some(match (method, rest) {
        (Method::POST, ["sales-order"] | ["sales-order", ""]) => {
            create::post_sales_order(ctx, request)
        }
        (Method::GET, ["sales-order", ids]) => get_sales_orders(ctx, ids),
        (Method::POST, ["sales-order", id, "close"]) => invoicing::close(ctx, request, id),
        (Method::POST, ["order"] | ["order", ""]) => create::post_order(ctx, request),
        (Method::GET, ["order", ids]) => get_orders(ctx, request, ids),
        (Method::OPTIONS, ["order", ids]) => options(ctx, ids),
        (Method::PATCH, ["order", id]) => edit::patch_order(ctx, request, id),
        (Method::POST, ["order", id, "row"]) => create::post_row(ctx, request, id),
        (Method::PATCH, ["order", id, "row", row]) => edit::patch_row(ctx, request, id, row),
        (Method::DELETE, ["order", id, "row", row]) => edit::delete_row(ctx, id, row),
        (Method::PUT, ["order", id, "status"]) => edit::put_status(ctx, request, id),
        (Method::GET, ["order", id, "custom-field"]) => custom_fields::get(ctx, id),
        (Method::PATCH, ["order", id, "custom-field"]) => custom_fields::patch(ctx, request, id),
        (Method::GET, ["order-search"] | ["order-search", ""]) => {
            search::order_search(ctx, request)
        }
        (Method::GET, ["order-search", "meta-data"]) => {
            crate::search::metadata_reply(&search::ORDER_SPEC)
        }
        (Method::GET, ["sales-order-search"] | ["sales-order-search", ""]) => {
            search::sales_order_search(ctx, request)
        }
        (Method::GET, ["sales-order-search", "meta-data"]) => {
            crate::search::metadata_reply(&search::SALES_ORDER_SPEC)
        }
        (Method::GET, _) => return crate::resources::reference::order_service(ctx, rest),
        _ => return None,
    })
}

/// Order GET: found orders in no particular order; missing ids are left
/// out, and if none exist the reply is `200 {"response": []}`.
fn get_orders(ctx: &Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "get-order") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let with_custom_fields = request.includes("customFields");
    let with_nulls = request.includes("nullCustomFields");
    let catalogue = &ctx.account.catalogue;
    let found: Vec<(u64, Value)> = ctx
        .account
        .orders
        .values()
        .filter(|o| ids.contains(o.id))
        .map(|o| {
            let mut item = o.to_order_json(catalogue, with_custom_fields);
            if with_custom_fields && with_nulls {
                custom_fields::add_null_fields(
                    &mut item,
                    catalogue.order_custom_fields(&o.order_type),
                );
            }
            (o.id, item)
        })
        .collect();
    Reply::ok(json!(unsorted(found)), "get-order")
}

fn get_sales_orders(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "get-sales-order") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let found: Vec<(u64, Value)> = ctx
        .account
        .orders
        .values()
        .filter(|o| o.order_type == "SO" && ids.contains(o.id))
        .map(|o| (o.id, o.to_sales_order_json(&ctx.account.catalogue)))
        .collect();
    Reply::ok(json!(unsorted(found)), "get-sales-order")
}

fn options(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_ids(segment, "options-order") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let existing: Vec<u64> = ctx
        .account
        .orders
        .keys()
        .copied()
        .filter(|id| ids.contains(*id))
        .collect();
    Reply::ok(
        json!({ "getUris": get_uris("/order", &existing) }),
        "options-order",
    )
}

/// Parses an order id path segment.
pub(crate) fn order_id(segment: &str) -> Option<u64> {
    segment.trim().parse().ok()
}
