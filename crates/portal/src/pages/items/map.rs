//! `GET /items/map` and `POST /items/map`: one Coupa item, the products of
//! the local index that match a search, and the form that maps the item to
//! one of them.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use pobridge_core::{BrightpearlIdField, BuyerId, CoupaIdField};
use pobridge_engine::admin::product_search::{self, MAX_SEARCH_CHARS};
use pobridge_engine::admin::{self, AdminError, MapItem, MappedItem};
use pobridge_store::{
    ItemMapping, ItemMatch, ItemPageEntry, NewAuditEntry, Product, UnmappedReason,
};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::list::{ItemRowView, ListFilter};
use crate::auth::Member;
use crate::extract::{Form, Query};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// Products the mapping page offers at once.
const PRODUCT_CHOICES: usize = 50;

/// Audit action of a mapping saved on this page.
const AUDIT_ACTION: &str = "item_mapping.set";

/// The account's buyers by id, with their names, ordered by name.
pub(super) async fn buyer_names(
    state: &PortalState,
    member: &Member,
) -> Result<Vec<(BuyerId, String)>, PortalError> {
    let mut buyers: Vec<(BuyerId, String)> = state
        .engine
        .store
        .list_buyers(member.account.id)
        .await?
        .into_iter()
        .map(|buyer| (buyer.id, buyer.name))
        .collect();
    buyers.sort_by(|left, right| left.1.cmp(&right.1));
    Ok(buyers)
}

fn name_of(buyers: &[(BuyerId, String)], id: BuyerId) -> String {
    buyers
        .iter()
        .find(|(known, _)| *known == id)
        .map_or_else(|| format!("#{id}"), |(_, name)| name.clone())
}

/// The item a mapping page is about, from its query parameters, with the
/// list filter to return to and the product search.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ItemParams {
    buyer: String,
    part: String,
    unit: String,
    /// The query string of the list page to return to.
    back: String,
    /// Search text of the product list.
    q: String,
}

impl ItemParams {
    fn for_entry(entry: &ItemPageEntry, back: String) -> Self {
        Self {
            buyer: entry.item.buyer_id.to_string(),
            part: entry.item.item.part_id.clone(),
            unit: entry.item.item.unit_of_measure.clone(),
            back,
            q: String::new(),
        }
    }

    /// The path of the mapping page, or of its form's action, for this item.
    fn path(&self) -> String {
        let mut fields = vec![
            ("buyer", self.buyer.as_str()),
            ("part", self.part.as_str()),
            ("unit", self.unit.as_str()),
        ];
        if !self.back.is_empty() {
            fields.push(("back", self.back.as_str()));
        }
        let query = serde_urlencoded::to_string(fields).unwrap_or_default();
        format!("/items/map?{query}")
    }
}

/// Finds the item the parameters name in the member's account. Anything
/// else, including another account's item, is "not found".
async fn find_item(
    state: &PortalState,
    member: &Member,
    params: &ItemParams,
) -> Result<ItemPageEntry, PortalError> {
    let buyer = params
        .buyer
        .trim()
        .parse::<i64>()
        .map(BuyerId)
        .map_err(|_| PortalError::NotFound)?;
    state
        .engine
        .store
        .item_page_entry(member.account.id, buyer, &params.part, &params.unit)
        .await?
        .ok_or(PortalError::NotFound)
}

/// Builds the table row of an item, whose mapping link returns to `filter`.
pub(super) fn row_view(
    entry: ItemPageEntry,
    buyers: &[(BuyerId, String)],
    member: &Member,
    filter: &ListFilter,
) -> ItemRowView {
    let back = filter.query_string(filter.status, filter.page);
    let map_href = ItemParams::for_entry(&entry, back).path();
    let settings = &member.account.settings;
    let (status_class, status_label, product, reason, action) = match &entry.matched {
        ItemMatch::MappedByHand {
            product_id,
            sku,
            name,
        } => (
            "ok",
            "mapped by hand",
            Some(product_text(*product_id, sku.as_deref(), name.as_deref())),
            None,
            "Change",
        ),
        ItemMatch::MappedByUniqueId {
            product_id,
            sku,
            name,
        } => (
            "ok",
            "mapped by unique ID",
            Some(product_text(*product_id, sku.as_deref(), name.as_deref())),
            None,
            "Change",
        ),
        ItemMatch::Unmapped(reason) => (
            "bad",
            "unmapped",
            None,
            Some(reason_text(
                reason,
                &entry.item.item.unit_of_measure,
                settings.coupa_id_field,
                settings.brightpearl_id_field,
            )),
            "Map",
        ),
    };
    let item = entry.item.item;
    ItemRowView {
        buyer: name_of(buyers, entry.item.buyer_id),
        part_id: item.part_id,
        unit: item.unit_of_measure,
        description: item.description,
        status_class,
        status_label,
        product,
        reason,
        map_href,
        action,
    }
}

/// A product as the pages name it, such as `GLV-L · Safety gloves (#1007)`.
fn product_text(product_id: i64, sku: Option<&str>, name: Option<&str>) -> String {
    match (sku, name) {
        (Some(sku), Some(name)) => format!("{sku} · {name} (#{product_id})"),
        (None, Some(name)) => format!("{name} (#{product_id}, no SKU)"),
        (_, None) => format!("product #{product_id}, which is not in the local product index"),
    }
}

/// Says why an item is unmapped and what to do about it.
fn reason_text(
    reason: &UnmappedReason,
    unit: &str,
    coupa_field: CoupaIdField,
    brightpearl_field: BrightpearlIdField,
) -> String {
    let coupa = coupa_field.element_name();
    let brightpearl = brightpearl_field.label();
    match reason {
        UnmappedReason::OtherMappingsOnly => format!(
            "The part is mapped by hand for other buyers or units only, not for this buyer in unit {:?}.",
            unit.trim()
        ),
        UnmappedReason::NoIdentifier => format!(
            "The item has no {coupa}, which this account matches products on."
        ),
        UnmappedReason::NoProduct { value } => format!(
            "No product in the local product index has the {brightpearl} {value:?}, the item's {coupa}."
        ),
        UnmappedReason::SeveralProducts { value, count } => format!(
            "{count} products have the {brightpearl} {value:?}, so the item needs a mapping by hand."
        ),
    }
}

/// A product the form offers.
struct ProductChoice {
    id: i64,
    sku: String,
    name: String,
    /// The product's other identifiers, such as `barcode 5060000000035`.
    identifiers: String,
    stock_tracked: bool,
}

impl ProductChoice {
    fn new(product: Product) -> Self {
        let identifiers = [
            ("barcode", &product.barcode),
            ("EAN", &product.ean),
            ("UPC", &product.upc),
            ("MPN", &product.mpn),
            ("ISBN", &product.isbn),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.as_ref().map(|value| format!("{label} {value}")))
        .collect::<Vec<_>>()
        .join(", ");
        Self {
            id: product.product_id,
            sku: product.sku.unwrap_or_default(),
            name: product.name,
            identifiers,
            stock_tracked: product.stock_tracked,
        }
    }
}

/// The mapping form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct MapForm {
    product: String,
    factor: String,
    /// `this` for the item's buyer only, `all` for every buyer.
    buyers: String,
    /// `this` for the item's unit only, `any` for every unit.
    units: String,
    q: String,
}

/// Messages next to the form's fields.
#[derive(Debug, Default)]
struct FormErrors {
    product: Option<String>,
    factor: Option<String>,
    buyers: Option<String>,
    units: Option<String>,
    search: Option<String>,
}

#[derive(Template)]
#[template(path = "items_map.html")]
struct MapPage {
    layout: Layout,
    item: ItemRowView,
    params: ItemParams,
    back_href: String,
    /// The manual mapping that applies now, in words.
    current: Option<String>,
    products: Vec<ProductChoice>,
    more: bool,
    form: MapForm,
    errors: FormErrors,
    unit: String,
}

impl MapPage {
    fn is_chosen(&self, id: &i64) -> bool {
        self.form.product.trim() == id.to_string()
    }

    fn form_action(&self) -> String {
        self.params.path()
    }
}

/// `GET /items/map`: the item, the products that match the search, and
/// the mapping form, filled in from the mapping that applies now.
pub(super) async fn map_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(params): Query<ItemParams>,
) -> Result<Response, PortalError> {
    let entry = find_item(&state, &member, &params).await?;
    let mapping = applied_mapping(&state, &member, &entry).await?;

    let mut form = MapForm {
        q: params.q.trim().to_owned(),
        buyers: "all".to_owned(),
        units: "this".to_owned(),
        ..MapForm::default()
    };
    if let Some(mapping) = &mapping {
        form.buyers = if mapping.buyer.is_some() {
            "this"
        } else {
            "all"
        }
        .to_owned();
        form.units = if mapping.unit_of_measure.is_some() {
            "this"
        } else {
            "any"
        }
        .to_owned();
        form.factor = mapping.quantity_factor.normalize().to_string();
    }
    if let Some(product_id) = mapped_product(&entry.matched) {
        form.product = product_id.to_string();
    }

    let page = render(
        &state,
        &member,
        &jar,
        (entry, mapping),
        params,
        form,
        FormErrors::default(),
    )
    .await?;
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// `POST /items/map`: maps the item as the form says, releases the orders
/// waiting for a mapping, records the change in the audit trail and goes
/// back to the list.
pub(super) async fn save(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(params): Query<ItemParams>,
    Form(form): Form<MapForm>,
) -> Result<Response, PortalError> {
    let entry = find_item(&state, &member, &params).await?;
    let buyers = buyer_names(&state, &member).await?;
    let buyer_name = name_of(&buyers, entry.item.buyer_id);

    let (request, mut errors) = check_form(&form, &entry, &buyer_name);
    if let Some(request) = request {
        match admin::map_item(&state.engine, member.slug(), &request).await {
            Ok(mapped) => {
                record(&state, &member, &mapped).await?;
                let back = ListFilter::from_query(&params.back, &buyers).link();
                return Ok(redirect_with_notice(&back, &mapped_notice(&mapped)));
            }
            Err(error) => rejected(error, &mut errors)?,
        }
    }

    let mapping = applied_mapping(&state, &member, &entry).await?;
    let page = render(
        &state,
        &member,
        &jar,
        (entry, mapping),
        params,
        form,
        errors,
    )
    .await?;
    let response = page_with_layout(&page.layout.clone(), page);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
}

/// Checks the typed form and builds the engine's request when every field
/// is usable.
fn check_form(
    form: &MapForm,
    entry: &ItemPageEntry,
    buyer_name: &str,
) -> (Option<MapItem>, FormErrors) {
    let mut errors = FormErrors::default();
    let product = form.product.trim().parse::<i64>().ok();
    if product.is_none() {
        errors.product = Some("Choose the Brightpearl product for this item.".to_owned());
    }
    let for_buyer = match form.buyers.as_str() {
        "this" => Some(buyer_name.to_owned()),
        "all" => None,
        _ => {
            errors.buyers = Some("Choose this buyer only or every buyer.".to_owned());
            None
        }
    };
    let unit = entry.item.item.unit_of_measure.trim();
    let for_unit = match form.units.as_str() {
        "this" => Some(unit.to_owned()),
        "any" => None,
        _ => {
            errors.units = Some(format!("Choose unit {unit:?} only or every unit."));
            None
        }
    };
    let factor = Some(form.factor.trim().to_owned()).filter(|text| !text.is_empty());
    let Some(product) = product.filter(|_| errors.buyers.is_none() && errors.units.is_none())
    else {
        return (None, errors);
    };
    let request = MapItem {
        coupa_part_id: entry.item.item.part_id.clone(),
        unit_of_measure: for_unit,
        buyer: for_buyer,
        brightpearl: format!("id:{product}"),
        quantity_factor: factor,
    };
    (Some(request), errors)
}

/// Puts a rejection of the engine next to the field it is about, or fails
/// the request when it is about none of them.
fn rejected(error: AdminError, errors: &mut FormErrors) -> Result<(), PortalError> {
    match error {
        AdminError::Invalid {
            field: "--factor",
            value,
            ..
        } => {
            errors.factor = Some(format!(
                "{value:?} is not a number from 0.000001 to 1000000 with at most 6 decimal places. Type how many Brightpearl units one Coupa unit is, such as 12 or 0.5, or leave it empty for 1."
            ));
        }
        AdminError::ProductNotFound { .. }
        | AdminError::Invalid {
            field: "--brightpearl",
            ..
        } => {
            errors.product = Some(
                "That product is no longer in the local product index. Search again and choose another."
                    .to_owned(),
            );
        }
        other => return Err(other.into()),
    }
    Ok(())
}

/// The manual mapping that applies to the item now, if any.
async fn applied_mapping(
    state: &PortalState,
    member: &Member,
    entry: &ItemPageEntry,
) -> Result<Option<ItemMapping>, PortalError> {
    let item = &entry.item;
    let mappings = state
        .engine
        .store
        .item_mappings(member.account.id, &item.item.part_id)
        .await?;
    let unit = item.item.unit_of_measure.trim();
    let applied = pobridge_engine::products::pick_mapping(&mappings, item.buyer_id, unit);
    Ok(applied.cloned())
}

fn mapped_product(matched: &ItemMatch) -> Option<i64> {
    match matched {
        ItemMatch::MappedByHand { product_id, .. }
        | ItemMatch::MappedByUniqueId { product_id, .. } => Some(*product_id),
        ItemMatch::Unmapped(_) => None,
    }
}

/// Builds the mapping page: the item, the product search and the form.
async fn render(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    (entry, mapping): (ItemPageEntry, Option<ItemMapping>),
    params: ItemParams,
    form: MapForm,
    mut errors: FormErrors,
) -> Result<MapPage, PortalError> {
    let buyers = buyer_names(state, member).await?;
    let filter = ListFilter::from_query(&params.back, &buyers);
    let mapped = mapped_product(&entry.matched);
    let search = form.q.trim();

    let choices = match product_search::search_products(
        &state.engine,
        member.slug(),
        search,
        PRODUCT_CHOICES,
    )
    .await
    {
        Ok(choices) => choices,
        Err(AdminError::Invalid { .. }) => {
            errors.search = Some(format!(
                "Type at most {MAX_SEARCH_CHARS} characters of a SKU, name, barcode or product id."
            ));
            product_search::search_products(&state.engine, member.slug(), "", PRODUCT_CHOICES)
                .await?
        }
        Err(error) => return Err(error.into()),
    };
    let mut products = choices.products;
    // The chosen or mapped product stays on the page while the search
    // text is empty, so a change starts from what is mapped now.
    let keep = form.product.trim().parse::<i64>().ok().or(mapped);
    if let Some(id) = keep.filter(|_| search.is_empty()) {
        if !products.iter().any(|product| product.product_id == id) {
            if let Some(product) = state.engine.store.product(member.account.id, id).await? {
                products.insert(0, product);
            }
        }
    }

    let unit = entry.item.item.unit_of_measure.trim().to_owned();
    let current = mapping.map(|mapping| mapping_text(&mapping, &buyers, &unit));
    let item = row_view(entry, &buyers, member, &filter);
    Ok(MapPage {
        layout: Layout::new(member, jar, "items"),
        item,
        back_href: filter.link(),
        params,
        current,
        products: products.into_iter().map(ProductChoice::new).collect(),
        more: choices.more,
        form,
        errors,
        unit,
    })
}

/// Describes a manual mapping's scope and factor.
fn mapping_text(mapping: &ItemMapping, buyers: &[(BuyerId, String)], unit: &str) -> String {
    let for_buyer = match mapping.buyer {
        Some(id) => format!("buyer {}", name_of(buyers, id)),
        None => "every buyer".to_owned(),
    };
    let for_unit = match &mapping.unit_of_measure {
        Some(mapped) => format!("unit {:?}", mapped.trim()),
        None => "every unit".to_owned(),
    };
    let factor = factor_text(mapping.quantity_factor, unit);
    format!("A mapping by hand for {for_buyer} and {for_unit} applies now, with {factor}.")
}

/// Such as `12 Brightpearl units per Coupa BX`.
fn factor_text(factor: Decimal, unit: &str) -> String {
    let factor = factor.normalize();
    let units = if factor == Decimal::ONE {
        "unit"
    } else {
        "units"
    };
    format!("{factor} Brightpearl {units} per Coupa {unit}")
}

/// Records the saved mapping in the audit trail.
async fn record(
    state: &PortalState,
    member: &Member,
    mapped: &MappedItem,
) -> Result<(), PortalError> {
    let entry = NewAuditEntry {
        user: Some(member.user.id),
        actor: member.user.email.clone(),
        action: AUDIT_ACTION.to_owned(),
        detail: audit_detail(mapped),
    };
    let now = state.engine.clock.now();
    state
        .engine
        .store
        .record_audit(member.account.id, &entry, now)
        .await?;
    Ok(())
}

fn scope_text(mapped: &MappedItem) -> String {
    let for_buyer = match &mapped.buyer {
        Some(name) => format!("buyer {name}"),
        None => "every buyer".to_owned(),
    };
    let for_unit = match &mapped.unit_of_measure {
        Some(unit) => format!("unit {unit:?}"),
        None => "every unit".to_owned(),
    };
    format!("for {for_buyer} and {for_unit}")
}

fn mapped_product_text(mapped: &MappedItem) -> String {
    match &mapped.sku {
        Some(sku) => format!("product {} (SKU {sku})", mapped.product_id),
        None => format!("product {}", mapped.product_id),
    }
}

fn audit_detail(mapped: &MappedItem) -> String {
    let unit = mapped.unit_of_measure.as_deref().unwrap_or("unit");
    format!(
        "Mapped Coupa part {:?} {} to {}, {}; released {} waiting {}.",
        mapped.coupa_part_id,
        scope_text(mapped),
        mapped_product_text(mapped),
        factor_text(mapped.quantity_factor, unit),
        mapped.released_jobs,
        if mapped.released_jobs == 1 {
            "order"
        } else {
            "orders"
        }
    )
}

/// The notice after a mapping was saved.
fn mapped_notice(mapped: &MappedItem) -> String {
    let released = match mapped.released_jobs {
        0 => "No order was waiting.".to_owned(),
        1 => "1 waiting order is tried again now.".to_owned(),
        count => format!("{count} waiting orders are tried again now."),
    };
    format!(
        "Coupa part {} now maps to {} {}. {released}",
        mapped.coupa_part_id,
        mapped_product_text(mapped),
        scope_text(mapped)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_fields_and_values() {
        let text = reason_text(
            &UnmappedReason::NoProduct {
                value: "HW-1".to_owned(),
            },
            "EA",
            CoupaIdField::SupplierPartId,
            BrightpearlIdField::Sku,
        );
        assert_eq!(
            text,
            "No product in the local product index has the SKU \"HW-1\", the item's SupplierPartID."
        );
        let several = reason_text(
            &UnmappedReason::SeveralProducts {
                value: "50600".to_owned(),
                count: 2,
            },
            "EA",
            CoupaIdField::BuyerPartId,
            BrightpearlIdField::Barcode,
        );
        assert!(several.starts_with("2 products have the barcode \"50600\""));
        let missing = reason_text(
            &UnmappedReason::NoIdentifier,
            "EA",
            CoupaIdField::ManufacturerPartId,
            BrightpearlIdField::Mpn,
        );
        assert!(missing.contains("no ManufacturerPartID"));
        let other = reason_text(
            &UnmappedReason::OtherMappingsOnly,
            " BX ",
            CoupaIdField::SupplierPartId,
            BrightpearlIdField::Sku,
        );
        assert!(other.contains("unit \"BX\""));
    }

    #[test]
    fn product_text_says_what_is_known() {
        assert_eq!(
            product_text(7, Some("GLV-L"), Some("Gloves")),
            "GLV-L · Gloves (#7)"
        );
        assert_eq!(product_text(7, None, Some("Gloves")), "Gloves (#7, no SKU)");
        assert!(product_text(7, None, None).contains("not in the local product index"));
    }

    #[test]
    fn notice_counts_released_orders() {
        let mut mapped = MappedItem {
            coupa_part_id: "a/b 1".to_owned(),
            unit_of_measure: Some("EA".to_owned()),
            buyer: None,
            product_id: 1019,
            sku: Some("SVC".to_owned()),
            quantity_factor: Decimal::from(12),
            released_jobs: 1,
        };
        assert_eq!(
            mapped_notice(&mapped),
            "Coupa part a/b 1 now maps to product 1019 (SKU SVC) for every buyer and unit \"EA\". 1 waiting order is tried again now."
        );
        mapped.released_jobs = 3;
        assert!(mapped_notice(&mapped).ends_with("3 waiting orders are tried again now."));
        assert!(audit_detail(&mapped).contains("12 Brightpearl units per Coupa EA"));
    }
}
