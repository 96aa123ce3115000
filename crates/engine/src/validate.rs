//! Checks of a parsed purchase order that the cXML reader cannot make
//! because they are business rules: a document that fails one is answered
//! 400 and stored nowhere, so the buyer's admin sees why at once instead of
//! a supplier finding a wrong sales order later.

use std::collections::HashSet;

use pobridge_cxml::{Money, OrderRequest};
use rust_decimal::Decimal;

/// Longest PO number accepted. Coupa's are short numbers; the limit keeps a
/// hostile value out of listings and Brightpearl's customer reference.
pub const MAX_ORDER_ID_CHARS: usize = 100;

/// Quantities must stay below a trillion units, so that a quantity times
/// a mapping's quantity factor (at most a million) or a sum of quantities
/// never leaves `Decimal`'s 28 digits.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Amounts must stay below 10^18 in the order's currency: each price, each
/// line's quantity × price, and the lines, shipping and tax together. The
/// sales order and invoice add and multiply these (a tax rate, a sum of
/// rows), and the bound leaves room for that. No real order comes near it.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(2_808_348_672, 232_830_643, 0, false, 0);

/// The decimal places of a quantity as pobridge sends it to Brightpearl. A
/// quantity with more would be rounded when sent, and the invoice, which
/// bills the PO's quantity, could then never match the sales order.
pub const QUANTITY_PLACES: u32 = 4;

/// Returns why the order cannot be accepted, naming the element and value.
pub fn check_order(order: &OrderRequest) -> Result<(), String> {
    check_order_id(&order.header.order_id)?;
    check_currencies(order)?;
    check_amounts(order)?;
    let mut line_numbers = HashSet::new();
    for item in &order.items {
        let line = crate::products::line_number(item);
        if item.quantity <= Decimal::ZERO {
            return Err(format!(
                "ItemOut line {line}: quantity {} must be greater than zero",
                item.quantity
            ));
        }
        if item.quantity.normalize().scale() > QUANTITY_PLACES {
            return Err(format!(
                "ItemOut line {line}: quantity {} has more than {QUANTITY_PLACES} decimal places; pobridge sends quantities to Brightpearl with {QUANTITY_PLACES}",
                item.quantity
            ));
        }
        if let Some(number) = item.line_number {
            if !line_numbers.insert(number) {
                return Err(format!("ItemOut lineNumber {number} appears more than once; each line needs its own number"));
            }
        }
    }
    Ok(())
}

/// Checks that every amount of the order is in one currency: the Total's,
/// or without a Total the first unit price's. Prices, shipping and tax in
/// another currency would be booked as if they were in the order's.
fn check_currencies(order: &OrderRequest) -> Result<(), String> {
    let header = &order.header;
    let Some(currency) = header
        .total
        .as_ref()
        .map(|total| &total.currency)
        .or_else(|| {
            order.items.iter().find_map(|item| {
                item.detail
                    .as_ref()
                    .map(|detail| &detail.unit_price.currency)
            })
        })
    else {
        return Ok(());
    };
    let mut amounts: Vec<(String, &Money)> = Vec::new();
    for item in &order.items {
        if let Some(detail) = &item.detail {
            let line = crate::products::line_number(item);
            amounts.push((
                format!("ItemOut line {line}: the unit price"),
                &detail.unit_price,
            ));
        }
    }
    if let Some(shipping) = &header.shipping {
        amounts.push(("OrderRequestHeader/Shipping".to_owned(), &shipping.money));
    }
    if let Some(tax) = &header.tax {
        amounts.push(("OrderRequestHeader/Tax".to_owned(), &tax.money));
    }
    for item in &order.items {
        let line = crate::products::line_number(item);
        if let Some(shipping) = &item.shipping {
            amounts.push((format!("ItemOut line {line}/Shipping"), &shipping.money));
        }
        if let Some(tax) = &item.tax {
            amounts.push((format!("ItemOut line {line}/Tax"), &tax.money));
        }
    }
    for (location, money) in amounts {
        if &money.currency != currency {
            return Err(format!(
                "{location} is in {} but the order is in {currency}; one order has one currency",
                money.currency
            ));
        }
    }
    Ok(())
}

/// Checks quantities and amounts against [`MAX_QUANTITY`] and
/// [`MAX_AMOUNT`].
fn check_amounts(order: &OrderRequest) -> Result<(), String> {
    let too_large = |location: &str, what: &str, value: Decimal, limit: Decimal| {
        format!("{location}: {what} {value} is too large; it must be below {limit}")
    };
    let sum_too_large = |location: &str| {
        format!("{location}: the order's lines, shipping and tax add up to {MAX_AMOUNT} or more, which is too large")
    };
    let header = &order.header;
    let mut sum = Decimal::ZERO;
    let mut add = |amount: Decimal| -> bool {
        match sum.checked_add(amount.abs()) {
            Some(total) if total < MAX_AMOUNT => {
                sum = total;
                true
            }
            _ => false,
        }
    };
    for item in &order.items {
        let line = format!("ItemOut line {}", crate::products::line_number(item));
        if item.quantity.abs() >= MAX_QUANTITY {
            return Err(too_large(&line, "quantity", item.quantity, MAX_QUANTITY));
        }
        let Some(detail) = &item.detail else {
            continue;
        };
        let price = detail.unit_price.amount;
        if price.abs() >= MAX_AMOUNT {
            return Err(too_large(&line, "unit price", price, MAX_AMOUNT));
        }
        // The reader rejects a product that does not fit a decimal, but
        // this check does not rely on it.
        let amount = match item.quantity.checked_mul(price) {
            Some(amount) if amount.abs() < MAX_AMOUNT => amount,
            product => {
                let amount_text =
                    product.map_or_else(|| "over 10^28".to_owned(), |amount| amount.to_string());
                return Err(format!(
                    "{line}: amount (quantity × unit price) {amount_text} is too large; it must be below {MAX_AMOUNT}"
                ));
            }
        };
        let charges = [
            item.shipping.as_ref().map(|charge| charge.money.amount),
            item.tax.as_ref().map(|tax| tax.money.amount),
        ];
        if !add(amount) || !charges.into_iter().flatten().all(&mut add) {
            return Err(sum_too_large(&line));
        }
    }
    let charges = [
        (
            "Shipping",
            header.shipping.as_ref().map(|charge| charge.money.amount),
        ),
        ("Tax", header.tax.as_ref().map(|tax| tax.money.amount)),
        ("Total", header.total.as_ref().map(|total| total.amount)),
    ];
    for (name, amount) in charges {
        let Some(amount) = amount else {
            continue;
        };
        let location = format!("OrderRequestHeader/{name}");
        if amount.abs() >= MAX_AMOUNT {
            return Err(too_large(&location, "amount", amount, MAX_AMOUNT));
        }
        if name != "Total" && !add(amount) {
            return Err(sum_too_large(&location));
        }
    }
    Ok(())
}

fn check_order_id(order_id: &str) -> Result<(), String> {
    if order_id.chars().any(char::is_control) {
        return Err(format!(
            "OrderRequestHeader@orderID {order_id:?} contains control characters"
        ));
    }
    let length = order_id.chars().count();
    if length > MAX_ORDER_ID_CHARS {
        return Err(format!("OrderRequestHeader@orderID is {length} characters long; the limit is {MAX_ORDER_ID_CHARS}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(edit: impl FnOnce(&mut OrderRequest)) -> OrderRequest {
        let bytes = include_bytes!("../../e2e/tests/fixtures/order-widgets.xml");
        let envelope =
            pobridge_cxml::read_envelope(bytes, &pobridge_cxml::Limits::default()).unwrap();
        let pobridge_cxml::Body::OrderRequest { mut order, .. } = envelope.body else {
            panic!("the fixture is an order");
        };
        edit(&mut order);
        order
    }

    #[test]
    fn fixture_order_passes() {
        assert_eq!(check_order(&order(|_| {})), Ok(()));
    }

    #[test]
    fn zero_and_negative_quantities_fail() {
        for quantity in ["0", "-4"] {
            let error = check_order(&order(|order| {
                order.items[0].quantity = quantity.parse().unwrap()
            }))
            .unwrap_err();
            assert!(
                error.contains("ItemOut line 1") && error.contains("greater than zero"),
                "{error}"
            );
        }
    }

    #[test]
    fn quantity_beyond_four_decimals_fails() {
        for quantity in ["0.00001", "0.00015", "999999999999.99999"] {
            let error = check_order(&order(|order| {
                order.items[0].quantity = quantity.parse().unwrap()
            }))
            .unwrap_err();
            assert!(error.contains("more than 4 decimal places"), "{error}");
        }
        let exact = order(|order| order.items[0].quantity = "1.50000".parse().unwrap());
        assert_eq!(check_order(&exact), Ok(()));
    }

    #[test]
    fn unit_prices_without_total_share_a_currency() {
        let error = check_order(&order(|order| {
            order.header.total = None;
            order.items[1].detail.as_mut().unwrap().unit_price.currency = "EUR".to_owned();
        }))
        .unwrap_err();
        assert_eq!(
            error,
            "ItemOut line 2: the unit price is in EUR but the order is in USD; one order has one currency"
        );
    }

    fn decimal(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn amounts_out_of_bounds_fail() {
        let unit_price = |order: &mut OrderRequest, line: usize, price: &str| {
            order.items[line].detail.as_mut().unwrap().unit_price.amount = decimal(price);
        };
        type Edit = Box<dyn Fn(&mut OrderRequest)>;
        let cases: [(&str, Edit); 6] = [
            (
                "ItemOut line 1: amount (quantity × unit price) over 10^28",
                Box::new(move |order| {
                    order.items[0].quantity = decimal("99999999999");
                    unit_price(order, 0, "999999999999999999");
                }),
            ),
            (
                "ItemOut line 1: quantity 1000000000000 is too large",
                Box::new(|order| order.items[0].quantity = MAX_QUANTITY),
            ),
            (
                "ItemOut line 1: unit price 1000000000000000000 is too large",
                Box::new(move |order| unit_price(order, 0, "1000000000000000000")),
            ),
            (
                "ItemOut line 1: amount (quantity × unit price)",
                Box::new(move |order| {
                    order.items[0].quantity = decimal("1000000");
                    unit_price(order, 0, "1000000000000");
                }),
            ),
            (
                "ItemOut line 2: the order's lines, shipping and tax add up",
                Box::new(move |order| {
                    for line in 0..2 {
                        order.items[line].quantity = decimal("1");
                        unit_price(order, line, "600000000000000000");
                    }
                }),
            ),
            (
                "OrderRequestHeader/Total: amount",
                Box::new(|order| {
                    order.header.total.as_mut().unwrap().amount = -MAX_AMOUNT;
                }),
            ),
        ];
        for (expected, edit) in cases {
            let error = check_order(&order(edit)).unwrap_err();
            assert!(error.starts_with(expected), "{expected}: {error}");
        }
        let largest = order(|order| {
            order.items[0].quantity = MAX_QUANTITY - Decimal::ONE;
            unit_price(order, 0, "0.0001");
        });
        assert_eq!(check_order(&largest), Ok(()));
    }

    #[test]
    fn charges_in_other_currency_fail() {
        let shipping = check_order(&order(|order| {
            order.header.shipping.as_mut().unwrap().money.currency = "JPY".to_owned()
        }))
        .unwrap_err();
        assert_eq!(
            shipping,
            "OrderRequestHeader/Shipping is in JPY but the order is in USD; one order has one currency"
        );
        let tax = check_order(&order(|order| {
            order.header.tax.as_mut().unwrap().money.currency = "EUR".to_owned()
        }))
        .unwrap_err();
        assert!(tax.starts_with("OrderRequestHeader/Tax is in EUR"), "{tax}");
    }

    #[test]
    fn repeated_line_number_fails() {
        let error = check_order(&order(|order| order.items[1].line_number = Some(1))).unwrap_err();
        assert!(
            error.contains("lineNumber 1 appears more than once"),
            "{error}"
        );
    }

    #[test]
    fn line_in_other_currency_fails() {
        let error = check_order(&order(|order| {
            order.items[1].detail.as_mut().unwrap().unit_price.currency = "EUR".to_owned()
        }))
        .unwrap_err();
        assert!(
            error.contains("line 2") && error.contains("EUR") && error.contains("USD"),
            "{error}"
        );
    }

    #[test]
    fn control_characters_in_order_id_fail() {
        let error = check_order(&order(|order| {
            order.header.order_id = "PO-\u{1b}[31mRED".to_owned()
        }))
        .unwrap_err();
        assert!(error.contains("control characters"), "{error}");
    }

    #[test]
    fn overlong_order_id_fails() {
        let error = check_order(&order(|order| {
            order.header.order_id = "9".repeat(MAX_ORDER_ID_CHARS + 1)
        }))
        .unwrap_err();
        assert!(error.contains("101 characters"), "{error}");
    }
}
