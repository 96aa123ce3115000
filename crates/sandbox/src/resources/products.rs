//! product-service: products by ID set, product POST, custom fields,
//! prices, availability and product-search.

use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{parse_capped_ids, parse_ids, unsorted, ApiRequest, Ctx};
use crate::account::{Account, IdCounters};
use crate::envelope::{code, parse_json_body, Reply};
use crate::idset::get_uris;
use crate::records::StoredProduct;
use crate::search::{self, Column, DataType, ExtraFilter, Row, Spec};
use crate::time::format_api;
use crate::SandboxError;

/// Serves `product-service` calls.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    request: &ApiRequest<'_>,
    rest: &[&str],
) -> Option<Reply> {
    let method = request.method.clone();
    Some(match (method, rest) {
        (Method::GET, ["product", ids]) => get(ctx, request, ids),
        (Method::OPTIONS, ["product", ids]) => options(ctx, ids, "/product", "product-options"),
        (Method::POST, ["product"] | ["product", ""]) => post(ctx, request),
        (Method::GET, ["product", id, "custom-field"]) => custom_fields(ctx, id),
        (Method::GET, ["product-search"] | ["product-search", ""]) => search(ctx, request),
        (Method::GET, ["product-search", "meta-data"]) => search::metadata_reply(&SPEC),
        (Method::GET, ["product-price", ids]) => prices(ctx, ids),
        (Method::OPTIONS, ["product-price", ids]) => {
            options(ctx, ids, "/product-price", "options-product-price")
        }
        (Method::GET, _) => return super::reference::product_service(ctx, rest),
        _ => return None,
    })
}

fn get(ctx: &Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "product-get") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let with_custom_fields = request.includes("customFields");
    let found: Vec<(u64, Value)> = ctx
        .account
        .products
        .iter()
        .filter(|(id, _)| ids.contains(**id))
        .map(|(id, p)| (*id, p.to_json(with_custom_fields)))
        .collect();
    if found.is_empty() {
        return Reply::not_found("No Product Found", "product-get");
    }
    Reply::ok(json!(unsorted(found)), "product-get")
}

/// OPTIONS on a product or product-price ID set: `getUris` holding only
/// ids that exist.
fn options(ctx: &Ctx<'_>, segment: &str, resource: &str, message_type: &str) -> Reply {
    let ids = match parse_ids(segment, message_type) {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let existing: Vec<u64> = ctx
        .account
        .products
        .values()
        .filter(|p| ids.contains(p.id()))
        .filter(|p| resource != "/product-price" || !p.prices.is_empty())
        .map(StoredProduct::id)
        .collect();
    Reply::ok(
        json!({ "getUris": get_uris(resource, &existing) }),
        message_type,
    )
}

fn post(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let body = match parse_json_body(request.body, "post-product") {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if body.get("brandId").and_then(Value::as_u64).is_none() {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::BRAND_MISSING,
            "You must supply a brand ID.",
            "post-product",
        );
    }
    let product = complete_posted_product(ctx, body);
    match insert_product(ctx.account, product) {
        Ok(id) => {
            ctx.raise("product.created", id);
            Reply::ok(json!(id), "post-product")
        }
        Err(error) => Reply::error(
            StatusCode::BAD_REQUEST,
            code::BODY_INVALID,
            error.to_string(),
            "post-product",
        ),
    }
}

/// Fills what Brightpearl adds to a posted product.
fn complete_posted_product(ctx: &Ctx<'_>, mut body: Value) -> Value {
    let now = format_api(ctx.now, ctx.account.catalogue.offset);
    let defaults = [
        ("identity", json!({})),
        ("featured", json!(false)),
        ("stock", json!({ "stockTracked": false })),
        ("composition", json!({ "bundle": false })),
        ("variations", json!([])),
        ("status", json!("LIVE")),
        ("createdOn", json!(now)),
        ("updatedOn", json!(now)),
        ("version", json!(ctx.now.timestamp_millis())),
    ];
    if let Some(object) = body.as_object_mut() {
        for (key, value) in defaults {
            object.entry(key).or_insert(value);
        }
    }
    if let Some(tax_id) = body
        .pointer("/financialDetails/taxCode/id")
        .and_then(Value::as_u64)
    {
        if let Some(tax) = ctx
            .account
            .catalogue
            .tax_codes
            .iter()
            .find(|t| t.id == tax_id)
        {
            body["financialDetails"]["taxCode"]["code"] = json!(tax.code);
        }
    }
    body
}

/// Stores a product given in the Product GET shape and returns its id.
pub(crate) fn insert_product(
    account: &mut Account,
    mut product: Value,
) -> Result<u64, SandboxError> {
    let Some(object) = product.as_object_mut() else {
        return Err(SandboxError::InvalidRecord(
            "a product must be a JSON object".to_owned(),
        ));
    };
    let custom_fields = match object.remove("customFields") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let id = match object.get("id").and_then(Value::as_u64) {
        Some(id) if account.products.contains_key(&id) => {
            return Err(SandboxError::InvalidRecord(format!(
                "product {id} already exists"
            )));
        }
        Some(id) => {
            account.ids.product = account.ids.product.max(id + 1);
            id
        }
        None => IdCounters::next(&mut account.ids.product),
    };
    object.insert("id".to_owned(), json!(id));
    let stored = StoredProduct {
        json: product,
        custom_fields,
        primary_supplier_id: None,
        channel_ids: vec![1],
        prices: Default::default(),
        on_hand: Default::default(),
    };
    account.products.insert(id, stored);
    Ok(id)
}

fn custom_fields(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let product = segment
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.account.products.get(&id));
    match product {
        Some(product) => Reply::ok(
            Value::Object(product.custom_fields.clone()),
            "get-custom-fields",
        ),
        None => Reply::not_found("No Product Found", "get-custom-fields"),
    }
}

fn prices(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "get-product-price") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let catalogue = &ctx.account.catalogue;
    let found: Vec<(u64, Value)> = ctx
        .account
        .products
        .values()
        .filter(|p| ids.contains(p.id()) && !p.prices.is_empty())
        .map(|p| {
            let lists: Vec<Value> = catalogue
                .price_lists
                .iter()
                .map(|list| {
                    let mut breaks = Map::new();
                    if let Some(price) = p.prices.get(&list.id) {
                        breaks.insert(
                            "1".to_owned(),
                            json!(crate::orders::model::fixed(*price, 4)),
                        );
                    }
                    let currency_id = catalogue.currency(&list.currency_code).map_or(0, |c| c.id);
                    json!({
                        "priceListId": list.id, "currencyCode": list.currency_code,
                        "currencyId": currency_id, "quantityPrice": breaks
                    })
                })
                .collect();
            (p.id(), json!({ "productId": p.id(), "priceLists": lists }))
        })
        .collect();
    if found.is_empty() {
        return Reply::not_found("No Product Prices Found", "get-product-price");
    }
    Reply::ok(json!(unsorted(found)), "get-product-price")
}

/// `warehouse-service/product-availability/{ids}`: a map keyed by product
/// id with totals and per-warehouse figures.
pub(crate) fn availability(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "get-product-availability") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let mut map = Map::new();
    for product in ctx
        .account
        .products
        .values()
        .filter(|p| ids.contains(p.id()))
    {
        let figures = |on_hand: i64| json!({ "inStock": on_hand, "onHand": on_hand, "allocated": 0, "inTransit": 0 });
        let warehouses: Map<String, Value> = product
            .on_hand
            .iter()
            .map(|(warehouse, on_hand)| (warehouse.to_string(), figures(*on_hand)))
            .collect();
        let total: i64 = product.on_hand.values().sum();
        map.insert(
            product.id().to_string(),
            json!({ "total": figures(total), "warehouses": warehouses }),
        );
    }
    Reply::ok(Value::Object(map), "get-product-availability")
}

const COLUMNS: [Column; 18] = [
    Column::new("productId", DataType::IdSet).with_reference(&["productCategoryMembership"]),
    Column::new("productName", DataType::SearchString),
    Column::new("SKU", DataType::String),
    Column::new("barcode", DataType::String),
    Column::new("EAN", DataType::String),
    Column::new("UPC", DataType::String),
    Column::new("ISBN", DataType::String),
    Column::new("MPN", DataType::String),
    Column::new("stockTracked", DataType::Boolean),
    Column::new("salesChannelName", DataType::String).not_filterable(),
    Column::new("createdOn", DataType::Period),
    Column::new("updatedOn", DataType::Period),
    Column::new("brightpearlCategoryCode", DataType::IdSet).not_sortable(),
    Column::new("productGroupId", DataType::Integer),
    Column::new("brandId", DataType::IdSet),
    Column::new("productTypeId", DataType::IdSet),
    Column::new("productStatus", DataType::String),
    Column::new("primarySupplierId", DataType::IdSet),
];

/// product-search as captured: 18 columns, filter `channelId`.
pub(crate) const SPEC: Spec = Spec {
    columns: &COLUMNS,
    extra_filters: &[ExtraFilter {
        name: "channelId",
        data_type: DataType::IdSet,
    }],
};

fn search_row(product: &StoredProduct) -> Row {
    let json = &product.json;
    let at = |pointer: &str| json.pointer(pointer).cloned().unwrap_or(Value::Null);
    let category = json
        .pointer("/salesChannels/0/categories/0/categoryCode")
        .and_then(|c| {
            c.as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .or_else(|| c.as_u64())
        })
        .map_or(Value::Null, |c| json!(c));
    Row {
        cells: vec![
            json!(product.id()),
            at("/salesChannels/0/productName"),
            at("/identity/sku"),
            at("/identity/barcode"),
            at("/identity/ean"),
            at("/identity/upc"),
            at("/identity/isbn"),
            at("/identity/mpn"),
            at("/stock/stockTracked"),
            at("/salesChannels/0/salesChannelName"),
            at("/createdOn"),
            at("/updatedOn"),
            category,
            at("/productGroupId"),
            at("/brandId"),
            at("/productTypeId"),
            at("/status"),
            product
                .primary_supplier_id
                .map_or(Value::Null, |id| json!(id)),
        ],
        extras: vec![("channelId", json!(product.channel_ids))],
    }
}

fn search(ctx: &Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let rows: Vec<Row> = ctx.account.products.values().map(search_row).collect();
    let outcome = match search::run(&SPEC, &rows, request, ctx.account.catalogue.offset) {
        Ok(outcome) => outcome,
        Err(reply) => return reply,
    };
    let mut membership = Map::new();
    for row in &outcome.returned {
        let Some(id) = row.cells[0].as_u64() else {
            continue;
        };
        let categories: Vec<u64> = ctx.account.products[&id]
            .json
            .pointer("/salesChannels/0/categories")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| c.get("categoryCode"))
                    .filter_map(|c| {
                        c.as_str()
                            .and_then(|s| s.parse().ok())
                            .or_else(|| c.as_u64())
                    })
                    .collect()
            })
            .unwrap_or_default();
        membership.insert(id.to_string(), json!(categories));
    }
    let reference = json!({ "productCategoryMembership": membership });
    Reply::ok_raw(
        json!({ "response": outcome.response, "reference": reference }),
        "bulk-data-search",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_get_options_drop_missing_ids() {
        let seed = crate::seed::load();
        let existing: Vec<u64> = seed
            .products
            .keys()
            .copied()
            .filter(|id| (1000..=1003).contains(id))
            .collect();
        assert_eq!(get_uris("/product", &existing), vec!["/product/1001-1003"]);
    }
}
