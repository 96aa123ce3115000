//! Matching PO lines to Brightpearl products.
//!
//! A manual mapping wins: (buyer, part, unit), then (buyer, part, any unit),
//! then the account-wide (part, unit) and (part, any unit). Without one, the
//! line's chosen Coupa identifier must equal the chosen Brightpearl
//! identifier of exactly one product in the local index, with one live
//! search on a miss. Anything else parks the line with the reason.

use pobridge_brightpearl::{BrightpearlClient, IdentifierColumn, ProductQuery};
use pobridge_core::{AccountId, BrightpearlIdField, BuyerId, CoupaIdField};
use pobridge_cxml::ItemOut;
use pobridge_store::{Account, CoupaItem, ItemMapping, Product, Store};
use rust_decimal::Decimal;

use crate::sales_order::ResolvedLine;
use crate::sync::SyncError;

/// Returns the line's number: `lineNumber`, or its 1-based position.
pub fn line_number(item: &ItemOut) -> u32 {
    item.line_number.unwrap_or(item.position)
}

/// Returns the Coupa item a line carries, as the item list records it.
pub fn coupa_item(item: &ItemOut) -> CoupaItem {
    let detail = item.detail.as_ref();
    CoupaItem {
        part_id: item.item_id.supplier_part_id.trim().to_owned(),
        auxiliary_id: item.item_id.supplier_part_auxiliary_id.clone(),
        buyer_part_id: item.item_id.buyer_part_id.clone(),
        manufacturer_part_id: detail.and_then(|detail| detail.manufacturer_part_id.clone()),
        unit_of_measure: detail
            .map(|detail| detail.unit_of_measure.trim().to_owned())
            .unwrap_or_default(),
        description: detail
            .and_then(|detail| detail.descriptions.first())
            .map(|description| {
                description
                    .text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    }
}

/// Returns the value of the Coupa identifier the account matches on.
pub fn coupa_value(item: &ItemOut, field: CoupaIdField) -> Option<String> {
    let value = match field {
        CoupaIdField::SupplierPartId => Some(item.item_id.supplier_part_id.clone()),
        CoupaIdField::SupplierPartAuxiliaryId => item.item_id.supplier_part_auxiliary_id.clone(),
        CoupaIdField::BuyerPartId => item.item_id.buyer_part_id.clone(),
        CoupaIdField::ManufacturerPartId => item
            .detail
            .as_ref()
            .and_then(|detail| detail.manufacturer_part_id.clone()),
    };
    value
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// The outcome of matching every line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineMatch {
    Resolved(Vec<ResolvedLine>),
    /// One reason per line that could not be matched.
    Held(Vec<String>),
}

/// Matches every line of the PO, or lists the lines that hold it.
pub async fn resolve_lines(
    store: &dyn Store,
    client: &BrightpearlClient,
    account: &Account,
    buyer: BuyerId,
    items: &[ItemOut],
) -> Result<LineMatch, SyncError> {
    let mut resolved = Vec::with_capacity(items.len());
    let mut held = Vec::new();
    for item in items {
        match resolve_line(store, client, account, buyer, item).await? {
            Ok(line) => resolved.push(line),
            Err(reason) => held.push(reason),
        }
    }
    if held.is_empty() {
        Ok(LineMatch::Resolved(resolved))
    } else {
        Ok(LineMatch::Held(held))
    }
}

async fn resolve_line(
    store: &dyn Store,
    client: &BrightpearlClient,
    account: &Account,
    buyer: BuyerId,
    item: &ItemOut,
) -> Result<Result<ResolvedLine, String>, SyncError> {
    let settings = &account.settings;
    let slug = &account.slug;
    let account = account.id;
    let number = line_number(item);
    let part = item.item_id.supplier_part_id.trim();
    let unit = item
        .detail
        .as_ref()
        .map(|detail| detail.unit_of_measure.trim())
        .unwrap_or("");
    let label = format!("line {number} ({part}, {unit})");
    // The suggested commands quote the part and unit for a POSIX shell, so
    // that one with spaces or quotes can be pasted as shown. They join each
    // to its option with `=`, so that one starting with `-` is a value.
    let (part_word, unit_word) = (shell_word(part, "PART"), shell_word(unit, "UOM"));

    let mappings = store.item_mappings(account, part).await?;
    if let Some(mapping) = pick_mapping(&mappings, buyer, unit) {
        let product = store.product(account, mapping.product_id).await?;
        return Ok(check_quantity(
            &label,
            item,
            product.as_ref(),
            mapping.product_id,
            mapping.quantity_factor,
        ));
    }
    if !mappings.is_empty() {
        return Ok(Err(format!(
            "{label}: the part is mapped by hand for other buyers or units only, and such a part is not matched by its unique ID; map it for this buyer and unit with `pobridge items map {slug} --coupa={part_word} --uom={unit_word} --brightpearl SKU`, or for this buyer only with --buyer"
        )));
    }

    let Some(value) = coupa_value(item, settings.coupa_id_field) else {
        return Ok(Err(format!(
            "{label}: the {} is empty; map it by hand with `pobridge items map {slug} --coupa={part_word} --uom={unit_word} --brightpearl SKU`",
            settings.coupa_id_field.element_name()
        )));
    };
    let mut products = store
        .products_by_identifier(account, settings.brightpearl_id_field, &value)
        .await?;
    if products.is_empty() {
        products = live_search(
            store,
            client,
            account,
            settings.brightpearl_id_field,
            &value,
        )
        .await?;
    }
    match products.as_slice() {
        [product] => Ok(check_quantity(&label, item, Some(product), product.product_id, Decimal::ONE)),
        [] => Ok(Err(format!(
            "{label}: no Brightpearl product has {} {value:?}; map it with `pobridge items map {slug} --coupa={part_word} --brightpearl SKU`",
            settings.brightpearl_id_field.label()
        ))),
        [first, second, ..] => Ok(Err(format!(
            "{label}: {} {value:?} matches several Brightpearl products ({} and {}); map it by hand",
            settings.brightpearl_id_field.label(),
            first.product_id,
            second.product_id
        ))),
    }
}

/// Quotes `text` as one POSIX shell word where it needs quoting, and an
/// empty text as `''`. Text with a NUL byte cannot be typed, so it is
/// shown as `placeholder`.
fn shell_word<'a>(text: &'a str, placeholder: &'static str) -> std::borrow::Cow<'a, str> {
    shlex::try_quote(text).unwrap_or(std::borrow::Cow::Borrowed(placeholder))
}

/// Picks the most specific mapping for this buyer and unit.
pub fn pick_mapping<'a>(
    mappings: &'a [ItemMapping],
    buyer: BuyerId,
    unit: &str,
) -> Option<&'a ItemMapping> {
    let unit_matches = |mapping: &ItemMapping, exact: bool| match &mapping.unit_of_measure {
        Some(mapped) => exact && mapped.trim().eq_ignore_ascii_case(unit),
        None => !exact,
    };
    let candidates = [
        (Some(buyer), true),
        (Some(buyer), false),
        (None, true),
        (None, false),
    ];
    candidates.into_iter().find_map(|(wanted_buyer, exact)| {
        mappings
            .iter()
            .find(|mapping| mapping.buyer == wanted_buyer && unit_matches(mapping, exact))
    })
}

fn check_quantity(
    label: &str,
    item: &ItemOut,
    product: Option<&Product>,
    product_id: i64,
    factor: Decimal,
) -> Result<ResolvedLine, String> {
    let Some(quantity) = item.quantity.checked_mul(factor) else {
        return Err(format!(
            "{label}: quantity {} times the quantity factor {factor} is too large to compute (more than 28 digits); check the PO line's quantity and the item's quantity factor",
            item.quantity
        ));
    };
    // Quantities go to Brightpearl with four decimal places, so a row
    // quantity with more would be rounded, to 0 at worst, and the invoice
    // could not match it.
    if quantity.normalize().scale() > crate::validate::QUANTITY_PLACES {
        return Err(format!(
            "{label}: quantity {} times the quantity factor {} is {}, which has more than {} decimal places and would be rounded when sent to Brightpearl; map it with another factor",
            item.quantity.normalize(),
            factor.normalize(),
            quantity.normalize(),
            crate::validate::QUANTITY_PLACES
        ));
    }
    if let Some(product) = product {
        if product.stock_tracked && !quantity.fract().is_zero() {
            return Err(format!(
                "{label}: quantity {quantity} is fractional but product {} ({}) is stock-tracked; map it with a quantity factor or to a product that is not stock-tracked",
                product.product_id,
                product.sku.as_deref().unwrap_or("no SKU")
            ));
        }
    }
    Ok(ResolvedLine {
        line_number: line_number(item),
        product_id,
        quantity_factor: factor,
        tax_code: product.and_then(|product| product.tax_code.clone()),
    })
}

async fn live_search(
    store: &dyn Store,
    client: &BrightpearlClient,
    account: AccountId,
    field: BrightpearlIdField,
    value: &str,
) -> Result<Vec<Product>, SyncError> {
    let query = ProductQuery {
        identifier: Some((identifier_column(field), value.to_owned())),
        ..ProductQuery::default()
    };
    let rows = client
        .search_products(&query)
        .await
        .map_err(SyncError::Brightpearl)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.product_id).collect();
    let products: Vec<Product> = client
        .get_products(&ids)
        .await
        .map_err(SyncError::Brightpearl)?
        .into_iter()
        .map(crate::reference::product_record)
        .collect();
    store.upsert_products(account, &products).await?;
    Ok(products)
}

pub fn identifier_column(field: BrightpearlIdField) -> IdentifierColumn {
    match field {
        BrightpearlIdField::Sku => IdentifierColumn::Sku,
        BrightpearlIdField::Barcode => IdentifierColumn::Barcode,
        BrightpearlIdField::Ean => IdentifierColumn::Ean,
        BrightpearlIdField::Upc => IdentifierColumn::Upc,
        BrightpearlIdField::Mpn => IdentifierColumn::Mpn,
        BrightpearlIdField::Isbn => IdentifierColumn::Isbn,
    }
}

/// Keeps errors from the store distinct from parked lines in `resolve_line`.
impl From<pobridge_store::StoreError> for SyncError {
    fn from(error: pobridge_store::StoreError) -> Self {
        SyncError::Store(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_word_pastes_back_as_one_word() {
        for text in [
            "ÜBER-Teil 株",
            "it's",
            "",
            "plain-1",
            "a\"b",
            "-dash",
            "$HOME",
        ] {
            let word = shell_word(text, "PART");
            let line = format!("map --coupa={word}");
            assert_eq!(
                shlex::split(&line),
                Some(vec!["map".to_owned(), format!("--coupa={text}")]),
                "{line}"
            );
        }
        assert_eq!(shell_word("a\0b", "PART"), "PART");
    }

    fn mapping(buyer: Option<i64>, unit: Option<&str>, product: i64) -> ItemMapping {
        ItemMapping {
            buyer: buyer.map(BuyerId),
            coupa_part_id: "P-1".to_owned(),
            unit_of_measure: unit.map(str::to_owned),
            product_id: product,
            quantity_factor: Decimal::ONE,
        }
    }

    #[test]
    fn factor_overflow_is_an_error() {
        let bytes = include_bytes!("../../e2e/tests/fixtures/order-widgets.xml");
        let envelope =
            pobridge_cxml::read_envelope(bytes, &pobridge_cxml::Limits::default()).unwrap();
        let pobridge_cxml::Body::OrderRequest { order, .. } = envelope.body else {
            panic!("not an order");
        };
        let mut item = order.items[0].clone();
        item.quantity = Decimal::from(10);
        let factor = Decimal::from_i128_with_scale(10_i128.pow(28), 0);

        let error = check_quantity("line 1", &item, None, 1001, factor).unwrap_err();
        assert!(error.contains("too large to compute"), "{error}");
        assert!(check_quantity("line 1", &item, None, 1001, Decimal::TWO).is_ok());

        item.quantity = "1.5".parse().unwrap();
        let tiny = check_quantity("line 1", &item, None, 1001, Decimal::new(1, 6)).unwrap_err();
        assert!(
            tiny.contains("is 0.0000015, which has more than 4 decimal places"),
            "{tiny}"
        );
    }

    #[test]
    fn mapping_prefers_buyer_and_unit() {
        let mappings = vec![
            mapping(None, None, 1),
            mapping(None, Some("EA"), 2),
            mapping(Some(7), None, 3),
            mapping(Some(7), Some("EA"), 4),
        ];
        assert_eq!(
            pick_mapping(&mappings, BuyerId(7), "EA").map(|m| m.product_id),
            Some(4)
        );
        assert_eq!(
            pick_mapping(&mappings, BuyerId(7), "CS").map(|m| m.product_id),
            Some(3)
        );
        assert_eq!(
            pick_mapping(&mappings, BuyerId(8), "EA").map(|m| m.product_id),
            Some(2)
        );
        assert_eq!(
            pick_mapping(&mappings, BuyerId(8), "CS").map(|m| m.product_id),
            Some(1)
        );
    }

    #[test]
    fn mapping_for_other_unit_does_not_apply() {
        let mappings = vec![mapping(Some(7), Some("EA"), 4)];
        assert!(pick_mapping(&mappings, BuyerId(7), "BOX").is_none());
    }
}
