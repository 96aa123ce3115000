//! The sample catalogue every new account starts with, read from
//! `seed/account.json` and expanded into the shapes the API returns.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::catalogue::{
    Catalogue, Country, Currency, CustomFieldMeta, OrderStatus, PriceList, Settings, TaxCode,
};
use crate::records::{PostalAddress, StoredContact, StoredProduct};

const SEED_JSON: &str = include_str!("../seed/account.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedFile {
    account: Settings,
    countries: Vec<Country>,
    currencies: Vec<Currency>,
    channels: Vec<Value>,
    warehouses: Vec<Value>,
    price_lists: Vec<Value>,
    order_types: Vec<Value>,
    order_statuses: Vec<Value>,
    order_stock_statuses: Vec<Value>,
    order_shipping_statuses: Vec<Value>,
    order_payment_statuses: Vec<Value>,
    tax_codes: Vec<TaxCode>,
    nominal_codes: Vec<Value>,
    shipping_methods: Vec<Value>,
    order_custom_fields: SeedCustomFields,
    postal_addresses: Vec<SeedAddress>,
    contacts: Vec<SeedContact>,
    products: Vec<SeedProduct>,
}

#[derive(Deserialize)]
struct SeedCustomFields {
    sale: Vec<CustomFieldMeta>,
    purchase: Vec<CustomFieldMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedAddress {
    id: u64,
    #[serde(flatten)]
    fields: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedContact {
    contact_id: u64,
    salutation: String,
    first_name: String,
    last_name: String,
    email: String,
    telephone: String,
    company_name: String,
    address_ids: BTreeMap<String, u64>,
    is_supplier: bool,
    is_staff: bool,
    is_customer: bool,
    price_list_id: u64,
    currency_id: u64,
    credit_term_days: u32,
    tax_code_id: Option<String>,
    created_on: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedProduct {
    id: u64,
    name: String,
    sku: Option<String>,
    barcode: Option<String>,
    ean: Option<String>,
    upc: Option<String>,
    isbn: Option<String>,
    mpn: Option<String>,
    brand_id: u64,
    product_type_id: u64,
    product_group_id: Option<u64>,
    stock_tracked: bool,
    tax_code: String,
    category_code: String,
    status: Option<String>,
    cost: Decimal,
    price: Decimal,
    #[serde(default)]
    on_hand: BTreeMap<u64, i64>,
    weight: Option<f64>,
    #[serde(default)]
    variations: Vec<Value>,
    #[serde(default)]
    bundle_components: Vec<Value>,
    nominal_code_sales: Option<String>,
    #[serde(default)]
    custom_fields: Map<String, Value>,
    created_on: String,
    updated_on: String,
}

/// Everything a new account starts with.
pub(crate) struct Seed {
    pub catalogue: Catalogue,
    pub addresses: BTreeMap<u64, PostalAddress>,
    pub contacts: BTreeMap<u64, StoredContact>,
    pub products: BTreeMap<u64, StoredProduct>,
}

/// Builds a fresh copy of the sample account.
///
/// The seed file is compiled in and checked by this crate's tests, so a
/// parse failure is a build defect, not a runtime condition.
pub(crate) fn load() -> Seed {
    #[allow(clippy::expect_used)]
    let file: SeedFile =
        serde_json::from_str(SEED_JSON).expect("seed/account.json matches the seed schema");
    let catalogue = Catalogue {
        offset: parse_offset(&file.account.utc_offset),
        settings: file.account,
        countries: file.countries,
        currencies: file.currencies,
        channels: file.channels,
        warehouses: file.warehouses,
        price_lists: file
            .price_lists
            .into_iter()
            .filter_map(PriceList::from_json)
            .collect(),
        order_types: file.order_types,
        order_statuses: file
            .order_statuses
            .into_iter()
            .filter_map(OrderStatus::from_json)
            .collect(),
        order_stock_statuses: file.order_stock_statuses,
        order_shipping_statuses: file.order_shipping_statuses,
        order_payment_statuses: file.order_payment_statuses,
        tax_codes: file.tax_codes,
        nominal_codes: file.nominal_codes,
        shipping_methods: file.shipping_methods,
        sale_custom_fields: file.order_custom_fields.sale,
        purchase_custom_fields: file.order_custom_fields.purchase,
    };
    let addresses = file
        .postal_addresses
        .into_iter()
        .filter_map(|a| {
            let body = Value::Object(a.fields);
            PostalAddress::from_post(a.id, &body, &catalogue)
                .ok()
                .map(|p| (a.id, p))
        })
        .collect();
    let contacts = file
        .contacts
        .into_iter()
        .map(|c| (c.contact_id, contact_from_seed(c)))
        .collect();
    let products = file
        .products
        .into_iter()
        .map(|p| (p.id, product_from_seed(p, &catalogue)))
        .collect();
    Seed {
        catalogue,
        addresses,
        contacts,
        products,
    }
}

fn parse_offset(text: &str) -> FixedOffset {
    let utc = FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("zero is a valid offset"));
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("-", rest)) => (-1, rest),
        Some(("+", rest)) => (1, rest),
        _ => return utc,
    };
    let Some((hours, minutes)) = rest.split_once(':') else {
        return utc;
    };
    let (Ok(hours), Ok(minutes)) = (hours.parse::<i32>(), minutes.parse::<i32>()) else {
        return utc;
    };
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).unwrap_or(utc)
}

fn contact_from_seed(c: SeedContact) -> StoredContact {
    let mut organisation = json!({ "organisationId": c.contact_id });
    if !c.company_name.is_empty() {
        organisation["name"] = json!(c.company_name);
    }
    let mut financial = json!({
        "priceListId": c.price_list_id,
        "nominalCode": "4000",
        "creditLimit": 0,
        "creditTermDays": c.credit_term_days,
        "currencyId": c.currency_id,
        "discountPercentage": 0.0,
        "creditTermTypeId": 1
    });
    if let Some(tax_code_id) = c.tax_code_id {
        financial["taxCodeId"] = json!(tax_code_id);
    }
    let json = json!({
        "contactId": c.contact_id,
        "isPrimaryContact": true,
        "salutation": c.salutation,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "postAddressIds": c.address_ids,
        "communication": {
            "emails": { "PRI": { "email": c.email } },
            "telephones": { "PRI": c.telephone },
            "messagingVoips": {},
            "websites": {}
        },
        "contactStatus": { "current": { "contactStatusId": 0 } },
        "relationshipToAccount": { "isSupplier": c.is_supplier, "isStaff": c.is_staff },
        "marketingDetails": { "isReceiveEmailNewsletter": false },
        "financialDetails": financial,
        "assignment": { "current": {} },
        "organisation": organisation,
        "tradeStatus": "UNKNOWN",
        "createdByid": 4,
        "createdOn": c.created_on,
        "updatedOn": c.created_on,
        "contactTags": "",
        "aliases": {},
        "companyId": 0
    });
    StoredContact {
        json,
        is_customer: c.is_customer,
        custom_fields: Map::new(),
    }
}

fn product_from_seed(p: SeedProduct, catalogue: &Catalogue) -> StoredProduct {
    let mut identity = Map::new();
    for (key, value) in [
        ("sku", &p.sku),
        ("barcode", &p.barcode),
        ("ean", &p.ean),
        ("upc", &p.upc),
        ("isbn", &p.isbn),
        ("mpn", &p.mpn),
    ] {
        if let Some(value) = value {
            identity.insert(key.to_owned(), json!(value));
        }
    }
    let tax_id = catalogue.tax_code(&p.tax_code).map_or(0, |t| t.id);
    let mut stock = json!({ "stockTracked": p.stock_tracked });
    if let Some(weight) = p.weight {
        stock["weight"] = json!({ "magnitude": weight });
        stock["dimensions"] = json!({ "length": 0.0, "height": 0.0, "width": 0.0, "volume": 0.0 });
    }
    let composition = if p.bundle_components.is_empty() {
        json!({ "bundle": false })
    } else {
        json!({ "bundle": true, "bundleComponents": p.bundle_components })
    };
    let warehouses: Map<String, Value> = p
        .on_hand
        .keys()
        .map(|w| {
            let settings = json!({
                "defaultLocationId": 0, "overflowLocationId": 0,
                "reorderLevel": 0, "reorderQuantity": 0
            });
            (w.to_string(), settings)
        })
        .collect();
    let mut json = json!({
        "id": p.id,
        "brandId": p.brand_id,
        "productTypeId": p.product_type_id,
        "identity": identity,
        "featured": false,
        "stock": stock,
        "financialDetails": {
            "taxable": tax_id != 0,
            "taxCode": { "id": tax_id, "code": p.tax_code }
        },
        "salesChannels": [{
            "salesChannelName": "Brightpearl",
            "productName": p.name,
            "productCondition": "new",
            "categories": [{ "categoryCode": p.category_code }],
            "description": { "languageCode": "en", "text": "", "format": "HTML_FRAGMENT" },
            "shortDescription": { "languageCode": "en", "text": "", "format": "HTML_FRAGMENT" }
        }],
        "composition": composition,
        "variations": p.variations,
        "createdOn": p.created_on,
        "updatedOn": p.updated_on,
        "warehouses": warehouses,
        "nominalCodeStock": "1001",
        "nominalCodePurchases": "5000",
        "nominalCodeSales": p.nominal_code_sales.unwrap_or_else(|| "4000".to_owned()),
        "seasonIds": [],
        "reporting": {},
        "status": p.status.unwrap_or_else(|| "LIVE".to_owned()),
        "salesPopupMessage": "",
        "warehousePopupMessage": "",
        "version": 1_706_800_000_000_u64 + p.id
    });
    if let Some(group) = p.product_group_id {
        json["productGroupId"] = json!(group);
    }
    let prices = catalogue
        .price_lists
        .iter()
        .map(|list| {
            let value = if list.price_list_type_code == "BUY" {
                p.cost
            } else {
                p.price
            };
            (list.id, value)
        })
        .collect();
    StoredProduct {
        json,
        custom_fields: p.custom_fields,
        primary_supplier_id: Some(366),
        channel_ids: vec![1, 2],
        prices,
        on_hand: p.on_hand,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_file_loads_with_realistic_catalogue() {
        let seed = load();
        assert_eq!(seed.products.len(), 26);
        assert!(seed.contacts.len() >= 6);
        assert_eq!(seed.addresses.len(), 9);
        assert!(seed.catalogue.tax_code("T20").is_some());
        assert_eq!(
            seed.catalogue.offset,
            FixedOffset::west_opt(6 * 3600).unwrap()
        );
    }

    #[test]
    fn seed_has_one_duplicated_sku() {
        let seed = load();
        let duplicates = seed
            .products
            .values()
            .filter(|p| p.json["identity"]["sku"] == "CT-200")
            .count();
        assert_eq!(duplicates, 2);
    }
}
