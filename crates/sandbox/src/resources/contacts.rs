//! contact-service: contacts by ID set, contact POST and PATCH, custom
//! fields, postal addresses and contact-search.

use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{parse_capped_ids, parse_ids, ApiRequest, Ctx};
use crate::account::{Account, IdCounters};
use crate::envelope::{code, parse_json_body, Reply};
use crate::idset::get_uris;
use crate::patch;
use crate::records::{PostalAddress, StoredContact};
use crate::search::{self, Column, DataType, Row, Spec};
use crate::time::format_api;
use crate::SandboxError;

/// Brightpearl documents a 32-character limit on contact name fields.
const MAX_NAME_CHARS: usize = 32;

/// Serves `contact-service` calls.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    request: &ApiRequest<'_>,
    rest: &[&str],
) -> Option<Reply> {
    let method = request.method.clone();
    Some(match (method, rest) {
        (Method::GET, ["contact", ids]) => get(ctx, ids),
        (Method::OPTIONS, ["contact", ids]) => options(ctx, ids),
        (Method::POST, ["contact"] | ["contact", ""]) => post(ctx, request),
        (Method::PATCH, ["contact", id]) => patch_contact(ctx, request, id),
        (Method::GET, ["contact", id, "custom-field"]) => custom_fields(ctx, id),
        (Method::GET, ["contact-search"] | ["contact-search", ""]) => search(ctx, request),
        (Method::GET, ["contact-search", "meta-data"]) => search::metadata_reply(&SPEC),
        (Method::POST, ["postal-address"] | ["postal-address", ""]) => post_address(ctx, request),
        (Method::GET, ["postal-address", ids]) => get_addresses(ctx, ids),
        _ => return None,
    })
}

fn get(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "get-contact") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let found: Vec<Value> = ctx
        .account
        .contacts
        .values()
        .filter(|c| ids.contains(c.id()))
        .map(|c| c.json.clone())
        .collect();
    if found.is_empty() {
        return Reply::not_found("No Contact Found", "get-contact");
    }
    let count = found.len();
    Reply::ok_raw(
        json!({
            "response": found,
            "pagination": { "morePagesAvailable": false, "resultsReturned": count, "firstResult": 1, "lastResult": count },
            "sorting": [{ "field": "contactId", "direction": "ASC" }]
        }),
        "get-contact",
    )
}

fn options(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_ids(segment, "options-contact") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let existing: Vec<u64> = ctx
        .account
        .contacts
        .keys()
        .copied()
        .filter(|id| ids.contains(*id))
        .collect();
    Reply::ok(
        json!({ "getUris": get_uris("/contact", &existing) }),
        "options-contact",
    )
}

fn invalid(message: String, message_type: &str) -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        code::CONTACT_INVALID,
        message,
        message_type,
    )
}

fn post(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let body = match parse_json_body(request.body, "post-contact") {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    for field in ["firstName", "lastName"] {
        let value = body.get(field).and_then(Value::as_str).unwrap_or_default();
        if value.chars().count() > MAX_NAME_CHARS {
            return invalid(
                format!("{field} is longer than {MAX_NAME_CHARS} characters: {value:?}"),
                "post-contact",
            );
        }
    }
    if let Some(ids) = body.get("postAddressIds").and_then(Value::as_object) {
        for (kind, id) in ids {
            let known = id
                .as_u64()
                .is_some_and(|id| ctx.account.addresses.contains_key(&id));
            if !known {
                return invalid(
                    format!("postAddressIds.{kind} {id} is not a known postal address"),
                    "post-contact",
                );
            }
        }
    }
    let contact = contact_from_post(ctx, &body);
    match insert_contact(ctx.account, contact) {
        Ok(id) => Reply::ok(json!(id), "post-contact"),
        Err(error) => invalid(error.to_string(), "post-contact"),
    }
}

/// Builds the stored Contact GET shape from a Contact POST body.
fn contact_from_post(ctx: &Ctx<'_>, body: &Value) -> Value {
    let now = format_api(ctx.now, ctx.account.catalogue.offset);
    let pick = |key: &str, default: Value| body.get(key).cloned().unwrap_or(default);
    let mut communication = pick("communication", json!({}));
    for key in ["emails", "telephones", "messagingVoips", "websites"] {
        if communication.get(key).is_none() {
            communication[key] = json!({});
        }
    }
    let mut financial = json!({
        "priceListId": ctx.account.catalogue.settings.default_sales_price_list_id,
        "nominalCode": "0", "creditLimit": 0, "creditTermDays": 0, "currencyId": 1,
        "discountPercentage": 0.0, "creditTermTypeId": 1
    });
    if let Some(given) = body.get("financialDetails").and_then(Value::as_object) {
        for (key, value) in given {
            financial[key] = value.clone();
        }
    }
    json!({
        "isPrimaryContact": true,
        "salutation": pick("salutation", json!("")),
        "firstName": pick("firstName", json!("")),
        "lastName": pick("lastName", json!("")),
        "postAddressIds": pick("postAddressIds", json!({})),
        "communication": communication,
        "contactStatus": { "current": { "contactStatusId": 0 } },
        "relationshipToAccount": pick("relationshipToAccount", json!({ "isSupplier": false, "isStaff": false })),
        "marketingDetails": pick("marketingDetails", json!({ "isReceiveEmailNewsletter": false })),
        "financialDetails": financial,
        "assignment": pick("assignment", json!({ "current": {} })),
        "organisation": pick("organisation", json!({})),
        "tradeStatus": "UNKNOWN",
        "createdByid": ctx.account.catalogue.settings.api_user_contact_id,
        "createdOn": now,
        "updatedOn": now,
        "contactTags": "",
        "aliases": {},
        "companyId": 0
    })
}

/// Stores a contact given in the Contact GET shape and returns its id.
pub(crate) fn insert_contact(
    account: &mut Account,
    mut contact: Value,
) -> Result<u64, SandboxError> {
    let Some(object) = contact.as_object_mut() else {
        return Err(SandboxError::InvalidRecord(
            "a contact must be a JSON object".to_owned(),
        ));
    };
    let id = match object.get("contactId").and_then(Value::as_u64) {
        Some(id) if account.contacts.contains_key(&id) => {
            return Err(SandboxError::InvalidRecord(format!(
                "contact {id} already exists"
            )));
        }
        Some(id) => {
            account.ids.contact = account.ids.contact.max(id + 1);
            id
        }
        None => IdCounters::next(&mut account.ids.contact),
    };
    object.insert("contactId".to_owned(), json!(id));
    let organisation = object.entry("organisation").or_insert_with(|| json!({}));
    if organisation.get("organisationId").is_none() {
        organisation["organisationId"] = json!(id);
    }
    let relationship = object.get("relationshipToAccount");
    let flag = |key: &str| {
        relationship
            .and_then(|r| r.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let is_customer = !flag("isSupplier") && !flag("isStaff");
    let stored = StoredContact {
        json: contact,
        is_customer,
        custom_fields: Map::new(),
    };
    account.contacts.insert(id, stored);
    Ok(id)
}

fn patch_contact(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    let ops = match patch::parse(request.body, "patch-contact") {
        Ok(ops) => ops,
        Err(reply) => return reply,
    };
    let now = format_api(ctx.now, ctx.account.catalogue.offset);
    let Some(contact) = segment
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.account.contacts.get_mut(&id))
    else {
        return Reply::not_found("No Contact Found", "patch-contact");
    };
    let mut updated = contact.json.clone();
    for op in &ops {
        if op.path == "/contactId" || !patch::apply_to_value(&mut updated, op, true) {
            return patch::op_not_allowed(op, "patch-contact");
        }
    }
    updated["updatedOn"] = json!(now);
    contact.json = updated.clone();
    Reply::ok(updated, "patch-contact")
}

fn custom_fields(ctx: &Ctx<'_>, segment: &str) -> Reply {
    match segment
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.account.contacts.get(&id))
    {
        Some(contact) => Reply::ok(
            Value::Object(contact.custom_fields.clone()),
            "get-custom-fields",
        ),
        None => Reply::not_found("No Contact Found", "get-custom-fields"),
    }
}

fn post_address(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let body = match parse_json_body(request.body, "post-postal-address") {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match insert_address(ctx.account, &body) {
        Ok(id) => Reply::ok(json!(id), "post-postal-address"),
        Err(message) => invalid(message, "post-postal-address"),
    }
}

/// Stores a postal address given as a Postal Address POST body.
pub(crate) fn insert_address(account: &mut Account, body: &Value) -> Result<u64, String> {
    let id = account.ids.address;
    let address = PostalAddress::from_post(id, body, &account.catalogue)?;
    account.ids.address += 1;
    account.addresses.insert(id, address);
    Ok(id)
}

fn get_addresses(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_capped_ids(segment, "get-postal-address") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let found: Vec<Value> = ctx
        .account
        .addresses
        .values()
        .filter(|a| ids.contains(a.id))
        .map(PostalAddress::to_json)
        .collect();
    if found.is_empty() {
        return Reply::not_found("No Postal Address Found", "get-postal-address");
    }
    Reply::ok(json!(found), "get-postal-address")
}

const COLUMNS: [Column; 21] = [
    Column::new("contactId", DataType::IdSet),
    Column::new("primaryEmail", DataType::SearchString),
    Column::new("secondaryEmail", DataType::SearchString),
    Column::new("tertiaryEmail", DataType::SearchString),
    Column::new("firstName", DataType::SearchString),
    Column::new("lastName", DataType::SearchString),
    Column::new("isSupplier", DataType::Boolean).not_sortable(),
    Column::new("companyName", DataType::SearchString),
    Column::new("isStaff", DataType::Boolean).not_sortable(),
    Column::new("isCustomer", DataType::Boolean).not_sortable(),
    Column::new("createdOn", DataType::Period),
    Column::new("updatedOn", DataType::Period),
    Column::new("lastContactedOn", DataType::Period),
    Column::new("lastOrderedOn", DataType::Period),
    Column::new("nominalCode", DataType::Integer),
    Column::new("isPrimary", DataType::Boolean),
    Column::new("pri", DataType::String).not_sortable(),
    Column::new("sec", DataType::String).not_sortable(),
    Column::new("mob", DataType::String).not_sortable(),
    Column::new("exactCompanyName", DataType::String),
    Column::new("title", DataType::String),
];

/// contact-search as captured: 21 columns.
pub(crate) const SPEC: Spec = Spec {
    columns: &COLUMNS,
    extra_filters: &[],
};

fn search_row(contact: &StoredContact) -> Row {
    let json = &contact.json;
    let flag = |pointer: &str| {
        json!(json
            .pointer(pointer)
            .and_then(Value::as_bool)
            .unwrap_or(false))
    };
    let text = |pointer: &str| json!(contact.text(pointer));
    let company = contact.text("/organisation/name");
    let nominal = contact
        .text("/financialDetails/nominalCode")
        .parse::<i64>()
        .unwrap_or(0);
    Row {
        cells: vec![
            json!(contact.id()),
            text("/communication/emails/PRI/email"),
            text("/communication/emails/SEC/email"),
            text("/communication/emails/TER/email"),
            text("/firstName"),
            text("/lastName"),
            flag("/relationshipToAccount/isSupplier"),
            json!(company),
            flag("/relationshipToAccount/isStaff"),
            json!(contact.is_customer),
            json.get("createdOn").cloned().unwrap_or(Value::Null),
            json.get("updatedOn").cloned().unwrap_or(Value::Null),
            Value::Null,
            Value::Null,
            json!(nominal),
            flag("/isPrimaryContact"),
            text("/communication/telephones/PRI"),
            text("/communication/telephones/SEC"),
            text("/communication/telephones/MOB"),
            json!(company),
            Value::Null,
        ],
        extras: Vec::new(),
    }
}

fn search(ctx: &Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let rows: Vec<Row> = ctx.account.contacts.values().map(search_row).collect();
    match search::run(&SPEC, &rows, request, ctx.account.catalogue.offset) {
        Ok(outcome) => Reply::ok_raw(
            json!({ "response": outcome.response, "reference": {} }),
            "bulk-data-search",
        ),
        Err(reply) => reply,
    }
}
