//! Creating orders: Sales Order POST (atomic, de-duplicated by
//! `externalRef` + `installedIntegrationInstanceId`), Order POST and Order
//! Row POST.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};

use super::build::{self, decimal};
use super::model::{Address, Assignment, Composition, Order, OrderRow};
use super::order_id;
use crate::account::{Account, IdCounters};
use crate::envelope::{code, parse_json_body, ApiError, Reply};
use crate::resources::{ApiRequest, Ctx};

const MT_SALES_ORDER: &str = "post-sales-order";

/// `POST order-service/sales-order`.
pub(crate) fn post_sales_order(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let body = match parse_json_body(request.body, MT_SALES_ORDER) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Some(existing) = find_duplicate(ctx.account, &body) {
        // NOTE: Brightpearl documents only "200, nothing changes"; both
        // readings of the reply are offered by a configuration switch.
        return if ctx.config.duplicate_sales_order_returns_existing_id {
            Reply::ok(json!(existing), MT_SALES_ORDER)
        } else {
            Reply::ok_raw(json!({}), MT_SALES_ORDER)
        };
    }
    let order = match sales_order_from_body(ctx, &body) {
        Ok(order) => order,
        Err(errors) => return Reply::bad_request(errors, MT_SALES_ORDER),
    };
    let id = order.id;
    let rows = u32::try_from(order.rows.len()).unwrap_or(u32::MAX);
    ctx.account.orders.insert(id, order);
    ctx.raise("sales-order.created", id);
    ctx.raise("order.modified", id);
    Reply::ok(json!(id), MT_SALES_ORDER).with_rows_written(rows)
}

fn find_duplicate(account: &Account, body: &Value) -> Option<u64> {
    let external_ref = body.get("externalRef").and_then(Value::as_str)?;
    let instance = build::id(body.get("installedIntegrationInstanceId"))?;
    account
        .orders
        .values()
        .find(|o| {
            o.external_ref.as_deref() == Some(external_ref)
                && o.installed_integration_instance_id == Some(instance)
        })
        .map(|o| o.id)
}

/// Collects every validation error before giving up, as Brightpearl sends
/// several errors in one reply.
#[derive(Default)]
struct Problems(Vec<ApiError>);

impl Problems {
    fn add(&mut self, code: &'static str, message: String) {
        self.0.push(ApiError::new(code, message));
    }
}

fn sales_order_from_body(ctx: &mut Ctx<'_>, body: &Value) -> Result<Order, Vec<ApiError>> {
    let account = &*ctx.account;
    let settings = &account.catalogue.settings;
    let mut problems = Problems::default();

    let customer_id =
        build::id(body.pointer("/customer/id")).or_else(|| build::id(body.get("customerId")));
    let customer_id = match customer_id {
        Some(id) if account.contacts.contains_key(&id) => id,
        Some(id) => {
            problems.add(
                code::CUSTOMER_INVALID,
                format!("You have supplied an invalid customer id: {id}"),
            );
            0
        }
        None => {
            problems.add(
                code::CUSTOMER_INVALID,
                "You have not supplied a customer id (customer.id)".to_owned(),
            );
            0
        }
    };
    let channel_id = check_ref(&mut problems, body.get("channelId"), "channelId", |id| {
        account.catalogue.has_channel(id)
    });
    let warehouse_id = check_ref(
        &mut problems,
        body.get("warehouseId"),
        "warehouseId",
        |id| account.catalogue.has_warehouse(id),
    );
    let shipping_method_id = check_ref(
        &mut problems,
        body.pointer("/delivery/shippingMethodId"),
        "delivery.shippingMethodId",
        |id| id == 0 || account.catalogue.has_shipping_method(id),
    );
    let status_id = check_ref(&mut problems, body.get("statusId"), "statusId", |id| {
        account
            .catalogue
            .order_status(id)
            .is_some_and(|s| s.order_type_code == "SO")
    });
    let customer_price_list = account.contacts.get(&customer_id).and_then(|c| {
        c.json
            .pointer("/financialDetails/priceListId")
            .and_then(Value::as_u64)
    });
    let price_list_id = check_ref(
        &mut problems,
        body.get("priceListId"),
        "priceListId",
        |id| account.catalogue.price_list(id).is_some(),
    )
    .or(customer_price_list)
    .unwrap_or(settings.default_sales_price_list_id);
    let price_mode = body
        .get("priceModeCode")
        .and_then(Value::as_str)
        .unwrap_or("EXC")
        .to_owned();
    if !matches!(price_mode.as_str(), "INC" | "EXC") {
        problems.add(
            code::REFERENCE_DATA_INVALID,
            format!("priceModeCode must be INC or EXC, got {price_mode:?}"),
        );
    }

    let list_currency = account
        .catalogue
        .price_list(price_list_id)
        .map(|p| p.currency_code.clone());
    let currency_code = body
        .pointer("/currency/code")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(list_currency)
        .unwrap_or_else(|| settings.accounting_currency_code.clone());
    let currency = account.catalogue.currency(&currency_code).cloned();
    if currency.is_none() {
        problems.add(
            code::REFERENCE_DATA_INVALID,
            format!("currency.code {currency_code:?} is not a currency of this account"),
        );
    }
    let given_rate = body.pointer("/currency/exchangeRate").and_then(decimal);
    let exchange_rate = given_rate
        .or(currency.as_ref().map(|c| c.exchange_rate))
        .unwrap_or(Decimal::ONE);

    let mut dates = BTreeMap::new();
    for (key, pointer) in [
        ("placedOn", "/placedOn"),
        ("taxDate", "/taxDate"),
        ("delivery.date", "/delivery/date"),
    ] {
        match build::date(body.pointer(pointer), account) {
            Ok(value) => {
                dates.insert(key, value);
            }
            Err(message) => problems.add(code::BODY_INVALID, format!("{key}: {message}")),
        }
    }

    let addresses = party_addresses(account, body, customer_id, &mut problems);
    let rows = rows_from_body(account, body, &mut problems);
    if !problems.0.is_empty() {
        return Err(problems.0);
    }

    let now = ctx.now;
    let placed_on = dates.get("placedOn").copied().flatten().unwrap_or(now);
    let tax_date = dates
        .get("taxDate")
        .copied()
        .flatten()
        .unwrap_or_else(|| crate::time::local_midnight(now, account.catalogue.offset));
    let credit_days = account
        .contacts
        .get(&customer_id)
        .and_then(|c| {
            c.json
                .pointer("/financialDetails/creditTermDays")
                .and_then(Value::as_i64)
        })
        .unwrap_or(0);
    let assignment = Assignment {
        staff_owner_contact_id: build::id(body.get("staffOwnerId")).unwrap_or(0),
        project_id: build::id(body.get("projectId")).unwrap_or(0),
        channel_id: channel_id.unwrap_or(0),
        lead_source_id: build::id(body.get("leadSourceId")).unwrap_or(0),
        team_id: build::id(body.get("teamId")).unwrap_or(0),
    };
    let (party_address, billing_contact_id, billing_address, delivery_address) = addresses;

    let account = &mut *ctx.account;
    let id = IdCounters::next(&mut account.ids.order);
    let mut rows = number_rows(account, rows);
    super::bundles::add_components(account, &mut rows);
    Ok(Order {
        id,
        order_type: "SO".to_owned(),
        parent_order_id: build::id(body.get("parentId")).unwrap_or(0),
        reference: body
            .get("ref")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        external_ref: body
            .get("externalRef")
            .and_then(Value::as_str)
            .map(str::to_owned),
        installed_integration_instance_id: build::id(body.get("installedIntegrationInstanceId")),
        version: 1,
        tax_state: "READY".to_owned(),
        status_id: status_id.unwrap_or(account.catalogue.settings.default_sales_order_status_id),
        placed_on,
        created_on: now,
        updated_on: None,
        closed_on: None,
        created_by_id: account.catalogue.settings.api_user_contact_id,
        price_list_id,
        price_mode_code: price_mode,
        cost_price_list_id: account.catalogue.settings.default_cost_price_list_id,
        delivery_date: dates.get("delivery.date").copied().flatten(),
        shipping_method_id: shipping_method_id.unwrap_or(0),
        invoice_reference: String::new(),
        tax_date: Some(tax_date),
        due_date: Some(tax_date + chrono::Duration::days(credit_days)),
        order_currency: currency_code,
        accounting_currency: account.catalogue.settings.accounting_currency_code.clone(),
        exchange_rate,
        fixed_exchange_rate: body
            .pointer("/currency/fixedExchangeRate")
            .and_then(Value::as_bool)
            .unwrap_or(given_rate.is_some()),
        assignment,
        party_role: "customer",
        party_contact_id: customer_id,
        party_address,
        delivery_address,
        billing_contact_id,
        billing_address,
        rows,
        warehouse_id: warehouse_id.unwrap_or(account.catalogue.settings.default_warehouse_id),
        custom_fields: Map::new(),
        shipped: false,
        is_cancelled: false,
        invoice_pending_since: None,
        requested_tax_date: None,
        goods_out_notes: BTreeMap::new(),
    })
}

/// Checks an optional reference id; returns it when present and valid.
fn check_ref(
    problems: &mut Problems,
    value: Option<&Value>,
    field: &str,
    exists: impl Fn(u64) -> bool,
) -> Option<u64> {
    match value {
        None | Some(Value::Null) => None,
        Some(raw) => match build::id(Some(raw)) {
            Some(id) if exists(id) => Some(id),
            _ => {
                problems.add(
                    code::REFERENCE_DATA_INVALID,
                    format!("You have supplied an invalid {field}: {raw}"),
                );
                None
            }
        },
    }
}

type Parties = (Address, u64, Address, Address);

fn party_addresses(
    account: &Account,
    body: &Value,
    customer_id: u64,
    problems: &mut Problems,
) -> Parties {
    let mut read = |pointer: &str, field: &str, fallback: Address| match body.pointer(pointer) {
        Some(value) if value.is_object() => {
            build::address(value, account, field).unwrap_or_else(|error| {
                problems.0.push(error);
                fallback
            })
        }
        _ => fallback,
    };
    let party = read(
        "/customer/address",
        "customer.address",
        build::contact_address(account, customer_id, "DEF"),
    );
    let billing_contact_id = build::id(body.pointer("/billing/contactId")).unwrap_or(customer_id);
    let billing = read(
        "/billing/address",
        "billing.address",
        build::contact_address(account, billing_contact_id, "BIL"),
    );
    let delivery = read(
        "/delivery/address",
        "delivery.address",
        build::contact_address(account, customer_id, "DEL"),
    );
    (party, billing_contact_id, billing, delivery)
}

/// Reads `rows[]`: `net` and `tax` are row totals, `taxCode` must be known,
/// stock-tracked products need whole quantities, free-text rows a `name`.
fn rows_from_body(account: &Account, body: &Value, problems: &mut Problems) -> Vec<OrderRow> {
    let rows = body
        .get("rows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut built = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let field = |name: &str| format!("rows[{index}].{name}");
        let mut number = |name: &str, default: Option<Decimal>| match row.get(name) {
            None | Some(Value::Null) => default,
            Some(value) => decimal(value).or_else(|| {
                problems.add(
                    code::VALUE_NOT_NUMERIC,
                    format!("{} must be a number, got {value}", field(name)),
                );
                None
            }),
        };
        let quantity = number("quantity", Some(Decimal::ONE)).unwrap_or(Decimal::ONE);
        let net = number("net", Some(Decimal::ZERO)).unwrap_or_default();
        let given_tax = number("tax", None);

        let tax_code_text = row
            .get("taxCode")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let tax_code = account.catalogue.tax_code(tax_code_text).cloned();
        if tax_code.is_none() {
            problems.add(
                code::TAX_CODE_INVALID,
                format!(
                    "{} {tax_code_text:?} is not a tax code of this account",
                    field("taxCode")
                ),
            );
        }
        let product_id = build::id(row.get("productId")).filter(|id| *id != 0);
        let product = product_id.and_then(|id| account.products.get(&id));
        if let (Some(id), None) = (product_id, product) {
            problems.add(
                code::PRODUCT_INVALID,
                format!(
                    "{} {id} is not a product of this account",
                    field("productId")
                ),
            );
        }
        let name = row.get("name").and_then(Value::as_str).map(str::to_owned);
        if product_id.is_none() && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            problems.add(
                code::FREE_TEXT_NAME_MISSING,
                "You have not supplied a product name, which is required for all free text items."
                    .to_owned(),
            );
        }
        let stock_tracked = product.is_some_and(|p| p.stock_tracked());
        if stock_tracked && quantity.fract() != Decimal::ZERO {
            problems.add(
                code::QUANTITY_NOT_WHOLE,
                format!(
                    "{} {quantity} must be whole for stock-tracked product {}",
                    field("quantity"),
                    product_id.unwrap_or(0)
                ),
            );
        }

        let rate = tax_code
            .as_ref()
            .map(|t| t.rate_or_zero())
            .unwrap_or_default();
        let tax = given_tax.unwrap_or_else(|| {
            (net * rate / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        });
        let nominal = row
            .get("nominalCode")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| product.and_then(|p| p.nominal_code_sales()))
            .unwrap_or_else(|| {
                account
                    .catalogue
                    .settings
                    .default_sales_nominal_code
                    .clone()
            });
        let unit_price = if quantity.is_zero() {
            Decimal::ZERO
        } else {
            net / quantity
        };
        built.push(OrderRow {
            id: 0,
            sequence: u32::try_from(row.get("sequence").and_then(Value::as_u64).unwrap_or(0))
                .unwrap_or(0),
            product_id,
            name: name
                .or_else(|| product.map(|p| p.name()))
                .unwrap_or_default(),
            sku: product.and_then(|p| p.sku()),
            quantity,
            item_cost: product
                .and_then(|p| {
                    p.prices
                        .get(&account.catalogue.settings.default_cost_price_list_id)
                        .copied()
                })
                .unwrap_or_default(),
            product_price: unit_price,
            discount_percentage: Decimal::ZERO,
            tax_code: tax_code_text.to_owned(),
            tax_rate: rate,
            tax_class_id: tax_code.as_ref().map_or(0, |t| t.id),
            net,
            tax,
            nominal_code: nominal,
            external_ref: row
                .get("externalRef")
                .and_then(Value::as_str)
                .map(str::to_owned),
            stock_tracked,
            composition: Composition::default(),
            cloned_from_id: 0,
        });
    }
    built
}

/// Gives rows their ids and sequences (10, 20, … unless the request set
/// `sequence`).
fn number_rows(account: &mut Account, rows: Vec<OrderRow>) -> BTreeMap<u64, OrderRow> {
    let mut numbered = BTreeMap::new();
    for (index, mut row) in rows.into_iter().enumerate() {
        row.id = IdCounters::next(&mut account.ids.row);
        if row.sequence == 0 {
            row.sequence = u32::try_from(index + 1)
                .unwrap_or(u32::MAX)
                .saturating_mul(10);
        }
        numbered.insert(row.id, row);
    }
    numbered
}

const MT_ORDER: &str = "post-order";

/// `POST order-service/order`: the header only, validated as captured
/// (`ORDC-005`, `ORDC-006`, `ORDC-022`).
pub(crate) fn post_order(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let body = match parse_json_body(request.body, MT_ORDER) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let order = match order_from_body(ctx, &body) {
        Ok(order) => order,
        Err(errors) => return Reply::bad_request(errors, MT_ORDER),
    };
    let id = order.id;
    ctx.account.orders.insert(id, order);
    ctx.raise("order.modified", id);
    Reply::ok(json!(id), MT_ORDER)
}

fn order_from_body(ctx: &mut Ctx<'_>, body: &Value) -> Result<Order, Vec<ApiError>> {
    let type_code = match body.get("orderTypeCode").and_then(Value::as_str) {
        None => {
            return Err(vec![ApiError::new(
                code::ORDER_TYPE_MISSING,
                "You have not supplied an order type code",
            )])
        }
        Some(code) if super::model::order_type_id(code) == 0 => {
            return Err(vec![ApiError::new(
                code::ORDER_TYPE_INVALID,
                "You have supplied an invalid order type code",
            )]);
        }
        Some(code) => code.to_owned(),
    };
    let purchase = matches!(type_code.as_str(), "PO" | "PC");
    let (role, pointer) = if purchase {
        ("supplier", "/parties/supplier/contactId")
    } else {
        ("customer", "/parties/customer/contactId")
    };
    let contact_id = match build::id(body.pointer(pointer)) {
        Some(id) => id,
        None if purchase => {
            return Err(vec![ApiError::new(
                code::SUPPLIER_MISSING,
                "Suppllier ID Required.",
            )])
        }
        None => {
            return Err(vec![ApiError::new(
                code::CUSTOMER_INVALID,
                "You have not supplied a customer contact id",
            )])
        }
    };
    if !ctx.account.contacts.contains_key(&contact_id) {
        return Err(vec![ApiError::new(
            code::CUSTOMER_INVALID,
            format!("You have supplied an invalid contact id: {contact_id}"),
        )]);
    }
    let account = &*ctx.account;
    let settings = &account.catalogue.settings;
    let default_status = match type_code.as_str() {
        "PO" => settings.default_purchase_order_status_id,
        "SC" => settings.default_sales_credit_status_id,
        "PC" => settings.default_purchase_credit_status_id,
        _ => settings.default_sales_order_status_id,
    };
    let dates = (
        build::date(body.get("placedOn"), account)
            .map_err(|m| vec![ApiError::new(code::BODY_INVALID, format!("placedOn: {m}"))])?,
        build::date(body.pointer("/delivery/deliveryDate"), account).map_err(|m| {
            vec![ApiError::new(
                code::BODY_INVALID,
                format!("delivery.deliveryDate: {m}"),
            )]
        })?,
    );
    let delivery_address = match body.pointer("/parties/delivery") {
        Some(value) if value.is_object() => {
            build::address(value, account, "parties.delivery").map_err(|e| vec![e])?
        }
        _ => build::contact_address(account, contact_id, "DEL"),
    };
    let currency = body
        .pointer("/currency/orderCurrencyCode")
        .and_then(Value::as_str)
        .unwrap_or(&settings.accounting_currency_code)
        .to_owned();
    let now = ctx.now;
    let order = Order {
        id: 0,
        order_type: type_code.clone(),
        parent_order_id: build::id(body.get("parentOrderId")).unwrap_or(0),
        reference: body
            .get("reference")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        external_ref: None,
        installed_integration_instance_id: None,
        version: 1,
        tax_state: "READY".to_owned(),
        status_id: build::id(body.pointer("/orderStatus/orderStatusId")).unwrap_or(default_status),
        placed_on: dates.0.unwrap_or(now),
        created_on: now,
        updated_on: None,
        closed_on: None,
        created_by_id: settings.api_user_contact_id,
        price_list_id: build::id(body.get("priceListId"))
            .unwrap_or(settings.default_sales_price_list_id),
        price_mode_code: body
            .get("priceModeCode")
            .and_then(Value::as_str)
            .unwrap_or("EXC")
            .to_owned(),
        cost_price_list_id: settings.default_cost_price_list_id,
        delivery_date: dates.1,
        shipping_method_id: build::id(body.pointer("/delivery/shippingMethodId")).unwrap_or(0),
        invoice_reference: String::new(),
        tax_date: None,
        due_date: None,
        exchange_rate: account
            .catalogue
            .currency(&currency)
            .map_or(Decimal::ONE, |c| c.exchange_rate),
        order_currency: currency,
        accounting_currency: settings.accounting_currency_code.clone(),
        fixed_exchange_rate: true,
        assignment: Assignment {
            channel_id: build::id(body.pointer("/assignment/current/channelId")).unwrap_or(0),
            ..Assignment::default()
        },
        party_role: role,
        party_contact_id: contact_id,
        party_address: build::contact_address(account, contact_id, "DEF"),
        delivery_address,
        billing_contact_id: contact_id,
        billing_address: build::contact_address(account, contact_id, "BIL"),
        rows: BTreeMap::new(),
        warehouse_id: build::id(body.get("warehouseId")).unwrap_or(settings.default_warehouse_id),
        custom_fields: Map::new(),
        shipped: false,
        is_cancelled: false,
        invoice_pending_since: None,
        requested_tax_date: None,
        goods_out_notes: BTreeMap::new(),
    };
    let id = IdCounters::next(&mut ctx.account.ids.order);
    Ok(Order { id, ..order })
}

const MT_ROW: &str = "post-order-row";

/// `POST order-service/order/{id}/row`, with the captured `ORDC-003` and
/// `ORDC-026` checks reported together.
pub(crate) fn post_row(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    let body = match parse_json_body(request.body, MT_ROW) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut errors = Vec::new();
    let order_exists = order_id(segment).is_some_and(|id| ctx.account.orders.contains_key(&id));
    if !order_exists {
        errors.push(ApiError::new(
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
        ));
    }
    let product_id = build::id(body.get("productId")).filter(|id| *id != 0);
    let name = body
        .get("productName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if product_id.is_none() && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        errors.push(ApiError::new(
            code::FREE_TEXT_NAME_MISSING,
            "You have not supplied a product name, which is required for all free text items.",
        ));
    }
    let row = match row_from_order_row_body(ctx.account, &body, product_id, name) {
        Ok(row) => row,
        Err(error) => {
            errors.push(error);
            return Reply::bad_request(errors, MT_ROW);
        }
    };
    if !errors.is_empty() {
        return Reply::bad_request(errors, MT_ROW);
    }
    let row_id = IdCounters::next(&mut ctx.account.ids.row);
    let now = ctx.now;
    let Some(order) = order_id(segment).and_then(|id| ctx.account.orders.get_mut(&id)) else {
        return Reply::bad_request(errors, MT_ROW);
    };
    let sequence = order.next_row_sequence();
    order.rows.insert(
        row_id,
        OrderRow {
            id: row_id,
            sequence,
            ..row
        },
    );
    order.touch(now);
    Reply::ok(json!(row_id), MT_ROW).with_rows_written(1)
}

fn row_from_order_row_body(
    account: &Account,
    body: &Value,
    product_id: Option<u64>,
    name: Option<String>,
) -> Result<OrderRow, ApiError> {
    let number = |pointer: &str| body.pointer(pointer).and_then(decimal).unwrap_or_default();
    let product = product_id.and_then(|id| account.products.get(&id));
    if let (Some(id), None) = (product_id, product) {
        return Err(ApiError::new(
            code::PRODUCT_INVALID,
            format!("productId {id} is not a product of this account"),
        ));
    }
    let tax_code_text = body
        .pointer("/rowValue/taxCode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tax_code = account.catalogue.tax_code(tax_code_text).ok_or_else(|| {
        ApiError::new(
            code::TAX_CODE_INVALID,
            format!("rowValue.taxCode {tax_code_text:?} is not a tax code of this account"),
        )
    })?;
    let quantity = body
        .pointer("/quantity/magnitude")
        .and_then(decimal)
        .unwrap_or(Decimal::ONE);
    let net = number("/rowValue/rowNet/value");
    Ok(OrderRow {
        id: 0,
        sequence: 0,
        product_id,
        name: name
            .or_else(|| product.map(|p| p.name()))
            .unwrap_or_default(),
        sku: product.and_then(|p| p.sku()),
        quantity,
        item_cost: Decimal::ZERO,
        product_price: if quantity.is_zero() {
            Decimal::ZERO
        } else {
            net / quantity
        },
        discount_percentage: Decimal::ZERO,
        tax_code: tax_code.code.clone(),
        tax_rate: tax_code.rate_or_zero(),
        tax_class_id: tax_code.id,
        net,
        tax: number("/rowValue/rowTax/value"),
        nominal_code: body
            .get("nominalCode")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                account
                    .catalogue
                    .settings
                    .default_sales_nominal_code
                    .clone()
            }),
        external_ref: None,
        stock_tracked: product.is_some_and(|p| p.stock_tracked()),
        composition: Composition::default(),
        cloned_from_id: 0,
    })
}
