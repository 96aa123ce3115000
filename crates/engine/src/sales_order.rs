//! Building the Brightpearl sales order for a purchase order: a pure
//! function of the PO, the resolved customer and lines, the account's
//! settings and its tax codes.

use std::collections::HashMap;

use pobridge_core::{AccountSettings, ShippingTreatment};
use pobridge_cxml::{Address, OrderRequest};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// A PO line resolved to a Brightpearl product.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLine {
    /// `ItemOut@lineNumber`, or the 1-based position when the PO has none.
    pub line_number: u32,
    pub product_id: i64,
    /// Brightpearl quantity per Coupa unit.
    pub quantity_factor: Decimal,
    pub tax_code: Option<String>,
}

/// The sales order pobridge will create, before it becomes a request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedOrder {
    pub customer_id: i64,
    /// The Coupa PO number, as the customer reference.
    pub reference: String,
    pub external_ref: String,
    pub placed_on: Option<String>,
    pub currency: String,
    pub delivery_date: Option<String>,
    pub delivery_address: Option<PlannedAddress>,
    pub channel_id: Option<i64>,
    pub warehouse_id: Option<i64>,
    pub price_list_id: Option<i64>,
    pub status_id: Option<i64>,
    pub staff_owner_id: Option<i64>,
    pub project_id: Option<i64>,
    pub lead_source_id: Option<i64>,
    pub rows: Vec<PlannedRow>,
    /// Differences worth a person's attention that do not stop the order.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAddress {
    pub full_name: Option<String>,
    pub company_name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub line4: Option<String>,
    pub postal_code: Option<String>,
    pub country_iso_code: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    pub product_id: Option<i64>,
    pub name: String,
    pub quantity: Decimal,
    pub tax_code: String,
    /// Row total before tax: quantity × unit price.
    pub net: Decimal,
    pub tax: Decimal,
    pub nominal_code: Option<String>,
    /// The Coupa line number, or `shipping`.
    pub external_ref: String,
    pub sequence: u32,
}

/// A reason a sales order cannot be planned, naming the setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("line {line}: no tax code: the product has none and the account has no default_tax_code; set one with `pobridge settings SLUG set default_tax_code CODE`")]
    NoTaxCode { line: u32 },
    #[error("the shipping row has no tax code: the account has no default_tax_code; set one with `pobridge settings SLUG set default_tax_code CODE`, or set shipping to omit")]
    NoShippingTaxCode,
    #[error("tax code {code:?} is not one of this Brightpearl account's tax codes; run `pobridge refresh SLUG` or choose another")]
    UnknownTaxCode { code: String },
    #[error("the PO has a shipping charge but shipping_nominal_code is not set; set it, or set shipping to omit")]
    NoShippingNominal,
    #[error("line {line} has no unit price")]
    NoPrice { line: u32 },
    #[error("{row}: {what} is too large to compute (more than 28 digits); check the PO's quantities and prices and the item's quantity factor")]
    TooLarge { row: String, what: &'static str },
}

impl PlanError {
    /// Returns whether changing an account setting or the reference data can
    /// clear the error. A line without a price, or amounts too large to
    /// compute, need a corrected order instead.
    pub fn awaits_settings(&self) -> bool {
        !matches!(self, PlanError::NoPrice { .. } | PlanError::TooLarge { .. })
    }
}

/// Tax rates by tax code, from the account's reference data.
pub type TaxRates = HashMap<String, Decimal>;

/// Everything [`plan`] needs besides the PO.
pub struct PlanInput<'a> {
    pub order: &'a OrderRequest,
    pub customer_id: i64,
    pub external_ref: String,
    pub lines: &'a [ResolvedLine],
    pub settings: &'a AccountSettings,
    pub tax_rates: &'a TaxRates,
}

/// Plans the sales order: one row per PO line (quantity × factor, net =
/// quantity × unit price, tax from the row's tax code), the shipping row as
/// the account chooses, the account's defaults, and warnings where the PO's
/// own Tax differs from the computed tax.
pub fn plan(input: &PlanInput<'_>) -> Result<PlannedOrder, PlanError> {
    let order = input.order;
    let mut rows = Vec::with_capacity(order.items.len() + 1);
    let mut warnings = Vec::new();

    for (item, line) in order.items.iter().zip(input.lines) {
        let detail = item.detail.as_ref().ok_or(PlanError::NoPrice {
            line: line.line_number,
        })?;
        let tax_code = line
            .tax_code
            .clone()
            .or_else(|| input.settings.default_tax_code.clone())
            .ok_or(PlanError::NoTaxCode {
                line: line.line_number,
            })?;
        let row_name = format!("line {}", line.line_number);
        let net = item
            .quantity
            .checked_mul(detail.unit_price.amount)
            .map(round_money)
            .ok_or_else(|| PlanError::TooLarge {
                row: row_name.clone(),
                what: "quantity × unit price",
            })?;
        let quantity = item
            .quantity
            .checked_mul(line.quantity_factor)
            .ok_or_else(|| PlanError::TooLarge {
                row: row_name.clone(),
                what: "quantity × quantity factor",
            })?;
        let tax = row_tax(net, &tax_code, input.tax_rates, &row_name)?;
        rows.push(PlannedRow {
            product_id: Some(line.product_id),
            name: description(item),
            quantity,
            tax_code,
            net,
            tax,
            nominal_code: None,
            external_ref: line.line_number.to_string(),
            sequence: rows.len() as u32 + 1,
        });
    }

    if let Some(row) = shipping_row(input, rows.len() as u32 + 1)? {
        rows.push(row);
    }
    // Brightpearl adds the rows up, so their totals must be computable too.
    for (what, values) in [
        (
            "the rows' net total",
            rows.iter().map(|row| row.net).collect::<Vec<_>>(),
        ),
        (
            "the rows' tax total",
            rows.iter().map(|row| row.tax).collect(),
        ),
    ] {
        if checked_sum(values).is_none() {
            return Err(PlanError::TooLarge {
                row: "the order".to_owned(),
                what,
            });
        }
    }
    compare_tax(order, &rows, &mut warnings);
    compare_total(order, &rows, &mut warnings);

    let settings = input.settings;
    Ok(PlannedOrder {
        customer_id: input.customer_id,
        reference: order.header.order_id.clone(),
        external_ref: input.external_ref.clone(),
        placed_on: order.header.order_date.map(|date| date.to_rfc3339()),
        currency: order_currency(order),
        delivery_date: delivery_date(order),
        delivery_address: order.header.ship_to.as_ref().map(planned_address),
        channel_id: settings.channel_id,
        warehouse_id: settings.warehouse_id,
        price_list_id: settings.price_list_id,
        status_id: settings.order_status_id,
        staff_owner_id: settings.staff_owner_id,
        project_id: settings.project_id,
        lead_source_id: settings.lead_source_id,
        rows,
        warnings,
    })
}

fn shipping_row(input: &PlanInput<'_>, sequence: u32) -> Result<Option<PlannedRow>, PlanError> {
    let Some(shipping) = &input.order.header.shipping else {
        return Ok(None);
    };
    if shipping.money.amount.is_zero() || input.settings.shipping == ShippingTreatment::Omit {
        return Ok(None);
    }
    let nominal = input
        .settings
        .shipping_nominal_code
        .clone()
        .ok_or(PlanError::NoShippingNominal)?;
    let tax_code = input
        .settings
        .default_tax_code
        .clone()
        .ok_or(PlanError::NoShippingTaxCode)?;
    let net = round_money(shipping.money.amount);
    let name = match shipping.description.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => format!("Shipping: {text}"),
        _ => "Shipping".to_owned(),
    };
    Ok(Some(PlannedRow {
        product_id: None,
        name,
        quantity: Decimal::ONE,
        tax: row_tax(net, &tax_code, input.tax_rates, "the shipping row")?,
        tax_code,
        net,
        nominal_code: Some(nominal),
        external_ref: "shipping".to_owned(),
        sequence,
    }))
}

/// Row tax at the code's rate, to the cent as Brightpearl keeps row tax.
/// `row_name` names the row in an error.
fn row_tax(
    net: Decimal,
    tax_code: &str,
    rates: &TaxRates,
    row_name: &str,
) -> Result<Decimal, PlanError> {
    let rate = rates
        .get(tax_code)
        .ok_or_else(|| PlanError::UnknownTaxCode {
            code: tax_code.to_owned(),
        })?;
    let tax = net.checked_mul(*rate).ok_or_else(|| PlanError::TooLarge {
        row: row_name.to_owned(),
        what: "net × tax rate",
    })?;
    Ok((tax / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// Adds `values` up, or returns `None` when the sum does not fit a `Decimal`.
fn checked_sum(values: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |sum, value| sum.checked_add(value))
}

fn round_money(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

fn compare_tax(order: &OrderRequest, rows: &[PlannedRow], warnings: &mut Vec<String>) {
    let Some(po_tax) = &order.header.tax else {
        return;
    };
    // `plan` has checked that the rows' tax adds up.
    let computed = checked_sum(rows.iter().map(|row| row.tax)).unwrap_or_default();
    let computed = computed.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    if computed != po_tax.money.amount.round_dp(2) {
        warnings.push(format!(
            "the PO's Tax is {} {} but the rows' tax codes give {} {}",
            po_tax.money.amount, po_tax.money.currency, computed, po_tax.money.currency
        ));
    }
}

fn compare_total(order: &OrderRequest, rows: &[PlannedRow], warnings: &mut Vec<String>) {
    let Some(total) = &order.header.total else {
        return;
    };
    let Some(lines) = checked_sum(
        rows.iter()
            .filter(|row| row.product_id.is_some())
            .map(|row| row.net),
    ) else {
        warnings.push(format!(
            "the PO's lines add up to more than pobridge can compute, so they were not compared with its Total of {} {}",
            total.amount, total.currency
        ));
        return;
    };
    if lines.round_dp(2) != total.amount.round_dp(2) {
        warnings.push(format!(
            "the PO's Total is {} {} but its lines add up to {} {}",
            total.amount,
            total.currency,
            lines.round_dp(2),
            total.currency
        ));
    }
}

fn order_currency(order: &OrderRequest) -> String {
    order
        .header
        .total
        .as_ref()
        .map(|money| money.currency.clone())
        .or_else(|| {
            order.items.iter().find_map(|item| {
                item.detail
                    .as_ref()
                    .map(|detail| detail.unit_price.currency.clone())
            })
        })
        .unwrap_or_default()
}

/// Returns the earliest requested delivery date of the PO's lines, or the header's.
fn delivery_date(order: &OrderRequest) -> Option<String> {
    order
        .items
        .iter()
        .filter_map(|item| item.requested_delivery_date)
        .min()
        .or(order.header.requested_delivery_date)
        .map(|date| date.to_rfc3339())
}

fn description(item: &pobridge_cxml::ItemOut) -> String {
    let text = item
        .detail
        .as_ref()
        .and_then(|detail| detail.descriptions.first())
        .map(|description| {
            description
                .short_name
                .clone()
                .unwrap_or_else(|| description.text.clone())
        })
        .unwrap_or_default();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        item.item_id.supplier_part_id.trim().to_owned()
    } else {
        text
    }
}

fn planned_address(address: &Address) -> PlannedAddress {
    let postal = address.postal_address.as_ref();
    let streets: Vec<String> = postal
        .map(|postal| {
            postal
                .streets
                .iter()
                .map(|street| street.trim().to_owned())
                .filter(|street| !street.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let deliver_to = postal
        .map(|postal| postal.deliver_to.join(", "))
        .filter(|text| !text.trim().is_empty());
    let name = non_empty(Some(address.name.clone()));
    PlannedAddress {
        full_name: deliver_to.or_else(|| name.clone()),
        company_name: name,
        line1: streets.first().cloned(),
        line2: non_empty(Some(
            streets
                .iter()
                .skip(1)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        )),
        line3: non_empty(postal.map(|postal| postal.city.clone())),
        line4: non_empty(postal.and_then(|postal| postal.state.clone())),
        postal_code: non_empty(postal.and_then(|postal| postal.postal_code.clone())),
        country_iso_code: non_empty(postal.and_then(|postal| postal.country_code.clone()))
            .or_else(|| non_empty(address.iso_country_code.clone())),
        telephone: non_empty(address.phone.clone()),
        email: non_empty(address.email.clone()),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn widgets_order() -> OrderRequest {
        let bytes = include_bytes!("../../e2e/tests/fixtures/order-widgets.xml");
        let envelope =
            pobridge_cxml::read_envelope(bytes, &pobridge_cxml::Limits::default()).unwrap();
        match envelope.body {
            pobridge_cxml::Body::OrderRequest { order, .. } => order,
            other => panic!("not an order: {other:?}"),
        }
    }

    fn lines() -> Vec<ResolvedLine> {
        vec![
            ResolvedLine {
                line_number: 1,
                product_id: 1001,
                quantity_factor: Decimal::ONE,
                tax_code: Some("T20".to_owned()),
            },
            ResolvedLine {
                line_number: 2,
                product_id: 1019,
                quantity_factor: dec!(2),
                tax_code: None,
            },
        ]
    }

    fn rates() -> TaxRates {
        TaxRates::from([
            ("T20".to_owned(), dec!(20)),
            ("Z".to_owned(), Decimal::ZERO),
            ("T".to_owned(), dec!(8.25)),
        ])
    }

    fn settings() -> AccountSettings {
        AccountSettings {
            channel_id: Some(1),
            warehouse_id: Some(2),
            default_tax_code: Some("T".to_owned()),
            shipping_nominal_code: Some("4040".to_owned()),
            ..AccountSettings::default()
        }
    }

    /// Plans the widgets order with its lines' quantities and prices
    /// replaced, both lines taxed at `tax_code`, and line 2's quantity
    /// factor.
    fn planned_with(
        values: [(Decimal, Decimal); 2],
        factor: Decimal,
        tax_code: &str,
    ) -> Result<PlannedOrder, PlanError> {
        let mut order = widgets_order();
        for (item, (quantity, price)) in order.items.iter_mut().zip(values) {
            item.quantity = quantity;
            item.detail.as_mut().unwrap().unit_price.amount = price;
        }
        let mut lines = lines();
        for line in &mut lines {
            line.tax_code = Some(tax_code.to_owned());
        }
        lines[1].quantity_factor = factor;
        plan(&PlanInput {
            order: &order,
            customer_id: 7,
            external_ref: "coupa-1-PO-1001".to_owned(),
            lines: &lines,
            settings: &settings(),
            tax_rates: &rates(),
        })
    }

    #[test]
    fn amounts_too_large_fail_the_plan() {
        let normal = (dec!(2), dec!(10));
        let power = |exponent| Decimal::from_i128_with_scale(10_i128.pow(exponent), 0);
        let cases = [
            (
                [(power(26), dec!(1000)), normal],
                dec!(1),
                "T20",
                "line 1: quantity × unit price",
            ),
            (
                [normal, (dec!(10), dec!(5))],
                power(28),
                "T20",
                "line 2: quantity × quantity factor",
            ),
            (
                [(power(28), dec!(1)), normal],
                dec!(1),
                "T20",
                "line 1: net × tax rate",
            ),
            (
                [(power(26), dec!(700)), (power(26), dec!(700))],
                dec!(1),
                "Z",
                "the order: the rows' net total",
            ),
        ];
        for (values, factor, tax_code, expected) in cases {
            let error = planned_with(values, factor, tax_code).unwrap_err();
            assert!(
                error.to_string().starts_with(expected),
                "{expected}: {error}"
            );
        }
        assert!(planned_with([normal, normal], dec!(2), "T20").is_ok());
    }

    fn planned(settings: &AccountSettings) -> Result<PlannedOrder, PlanError> {
        let order = widgets_order();
        let lines = lines();
        let rates = rates();
        plan(&PlanInput {
            order: &order,
            customer_id: 7,
            external_ref: "coupa-1-PO-1001".to_owned(),
            lines: &lines,
            settings,
            tax_rates: &rates,
        })
    }

    #[test]
    fn rows_carry_net_tax_and_factor() {
        let order = planned(&settings()).unwrap();
        assert_eq!(order.rows.len(), 3);
        let widget = &order.rows[0];
        assert_eq!(widget.quantity, dec!(4));
        assert_eq!(widget.net, dec!(50.00));
        assert_eq!(widget.tax, dec!(10.00));
        let service = &order.rows[1];
        assert_eq!(service.quantity, dec!(3.0), "1.5 hours at a factor of 2");
        assert_eq!(
            service.net,
            dec!(120.00),
            "net stays quantity × unit price of the PO"
        );
        assert_eq!(
            service.tax_code, "T",
            "the account default when the product has none"
        );
        assert_eq!(service.tax, dec!(9.90));
    }

    #[test]
    fn shipping_becomes_a_free_text_row() {
        let order = planned(&settings()).unwrap();
        let shipping = order.rows.last().unwrap();
        assert_eq!(shipping.product_id, None);
        assert_eq!(shipping.name, "Shipping: Ground");
        assert_eq!(shipping.net, dec!(15.00));
        assert_eq!(shipping.nominal_code.as_deref(), Some("4040"));
        assert_eq!(shipping.external_ref, "shipping");
    }

    #[test]
    fn shipping_can_be_left_out() {
        let settings = AccountSettings {
            shipping: ShippingTreatment::Omit,
            ..settings()
        };
        let order = planned(&settings).unwrap();
        assert_eq!(order.rows.len(), 2);
    }

    #[test]
    fn shipping_without_nominal_code_is_an_error() {
        let settings = AccountSettings {
            shipping_nominal_code: None,
            ..settings()
        };
        assert_eq!(
            planned(&settings).unwrap_err(),
            PlanError::NoShippingNominal
        );
    }

    #[test]
    fn unknown_tax_code_is_an_error() {
        let settings = AccountSettings {
            default_tax_code: Some("VAT99".to_owned()),
            ..settings()
        };
        assert_eq!(
            planned(&settings).unwrap_err(),
            PlanError::UnknownTaxCode {
                code: "VAT99".to_owned()
            }
        );
    }

    #[test]
    fn header_fields_come_from_po_and_settings() {
        let order = planned(&settings()).unwrap();
        assert_eq!(order.reference, "PO-1001");
        assert_eq!(order.currency, "USD");
        assert_eq!(order.channel_id, Some(1));
        assert_eq!(order.warehouse_id, Some(2));
        assert_eq!(
            order.delivery_date.as_deref(),
            Some("2026-03-09T00:00:00+01:00")
        );
        let address = order.delivery_address.unwrap();
        assert_eq!(address.full_name.as_deref(), Some("Dana Receiver"));
        assert_eq!(address.company_name.as_deref(), Some("Receiving Dock 3"));
        assert_eq!(address.line1.as_deref(), Some("1 Warehouse Rd"));
        assert_eq!(address.line3.as_deref(), Some("Springfield"));
        assert_eq!(address.country_iso_code.as_deref(), Some("US"));
    }

    #[test]
    fn tax_and_total_differences_are_warnings() {
        let order = planned(&settings()).unwrap();
        assert!(
            order.warnings.iter().any(|warning| warning
                .contains("the PO's Tax is 10.00 USD but the rows' tax codes give 21.14 USD")),
            "{:?}",
            order.warnings
        );
        assert!(
            order
                .warnings
                .iter()
                .all(|warning| !warning.contains("Total")),
            "170.00 equals 50.00 + 120.00: {:?}",
            order.warnings
        );
    }
}
