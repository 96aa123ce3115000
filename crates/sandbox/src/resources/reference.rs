//! Reference-data GETs: channels, warehouses, price lists, order statuses
//! and code lists, tax and nominal codes, shipping methods, and order
//! custom-field metadata. All take an optional ID set.

use axum::http::Method;
use serde_json::{json, Value};

use super::{id_segment, parse_ids, ApiRequest, Ctx};
use crate::catalogue::id_of;
use crate::envelope::Reply;
use crate::idset::IdSet;

/// Serves `accounting-service` and `warehouse-service` calls.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    request: &ApiRequest<'_>,
    service: &str,
    rest: &[&str],
) -> Option<Reply> {
    if request.method != Method::GET {
        return None;
    }
    let catalogue = &ctx.account.catalogue;
    let ids = id_segment(rest.get(1..).unwrap_or_default());
    match (service, rest.first().copied()?) {
        ("accounting-service", "tax-code") => {
            let items = catalogue
                .tax_codes
                .iter()
                .map(|t| (t.id, t.to_json()))
                .collect();
            Some(list(items, ids, "tax code", "get-tax-code"))
        }
        ("accounting-service", "nominal-code") => Some(list(
            keyed(&catalogue.nominal_codes, "id"),
            ids,
            "nominal code",
            "get-nominal-code",
        )),
        ("warehouse-service", "warehouse") => Some(list(
            keyed(&catalogue.warehouses, "id"),
            ids,
            "warehouse",
            "get-warehouse",
        )),
        ("warehouse-service", "shipping-method") => Some(list(
            keyed(&catalogue.shipping_methods, "id"),
            ids,
            "shipping method",
            "get-shipping-method",
        )),
        ("warehouse-service", "product-availability") => {
            Some(super::products::availability(ctx, ids))
        }
        ("warehouse-service", "order") => crate::orders::goods_out::get(ctx, rest),
        _ => None,
    }
}

/// Pairs each reference item with its id under `key`.
pub(crate) fn keyed(items: &[Value], key: &str) -> Vec<(u64, Value)> {
    items
        .iter()
        .filter_map(|item| id_of(item, key).map(|id| (id, item.clone())))
        .collect()
}

/// Answers a reference GET: every item sorted by id, or those in the ID set.
/// An ID set that matches nothing gets 404 `CMNC-404`.
pub(crate) fn list(
    mut items: Vec<(u64, Value)>,
    segment: &str,
    label: &str,
    message_type: &str,
) -> Reply {
    let ids = match parse_ids(segment, message_type) {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    items.sort_by_key(|(id, _)| *id);
    let found: Vec<Value> = items
        .into_iter()
        .filter(|(id, _)| ids.contains(*id))
        .map(|(_, item)| item)
        .collect();
    if found.is_empty() && matches!(ids, IdSet::Ids(_)) {
        // NOTE: the 404 wording follows the captured webhook reply; reference
        // GETs for missing ids were never captured.
        return Reply::not_found(
            format!("No {label}s available in ID Set {segment}"),
            message_type,
        );
    }
    Reply::ok(json!(found), message_type)
}

/// Serves the order-service reference GETs; `None` when the path is not one.
pub(crate) fn order_service(ctx: &Ctx<'_>, rest: &[&str]) -> Option<Reply> {
    let catalogue = &ctx.account.catalogue;
    let ids = id_segment(rest.get(1..).unwrap_or_default());
    let reply = match rest.first().copied()? {
        "order-status" => {
            let items = catalogue
                .order_statuses
                .iter()
                .map(|s| (s.status_id, s.json.clone()))
                .collect();
            list(items, ids, "order status", "get-order-status")
        }
        "order-type" => list(
            keyed(&catalogue.order_types, "id"),
            ids,
            "order type",
            "get-order-type",
        ),
        "order-shipping-status" => list(
            keyed(&catalogue.order_shipping_statuses, "id"),
            ids,
            "order shipping status",
            "get-order-shipping-status",
        ),
        "order-stock-status" => list(
            keyed(&catalogue.order_stock_statuses, "id"),
            ids,
            "order stock status",
            "get-order-stock-status",
        ),
        "sale" | "purchase" if rest.get(1) == Some(&"custom-field-meta-data") => {
            let fields = if rest[0] == "sale" {
                &catalogue.sale_custom_fields
            } else {
                &catalogue.purchase_custom_fields
            };
            let items = fields.iter().map(|f| (f.id, json!(f))).collect();
            let ids = id_segment(rest.get(2..).unwrap_or_default());
            list(items, ids, "custom field", "get-custom-fields-metadata")
        }
        _ => return None,
    };
    Some(reply)
}

/// Serves the product-service reference GETs (channels and price lists).
pub(crate) fn product_service(ctx: &Ctx<'_>, rest: &[&str]) -> Option<Reply> {
    let catalogue = &ctx.account.catalogue;
    let ids = id_segment(rest.get(1..).unwrap_or_default());
    let reply = match rest.first().copied()? {
        "channel" => list(
            keyed(&catalogue.channels, "id"),
            ids,
            "channel",
            "get-channel",
        ),
        "price-list" => {
            let items = catalogue
                .price_lists
                .iter()
                .map(|p| (p.id, p.json.clone()))
                .collect();
            list(items, ids, "price list", "get-price-list")
        }
        _ => return None,
    };
    Some(reply)
}
