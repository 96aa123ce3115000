//! Checks of a parsed purchase order that the cXML reader cannot make
//! because they are business rules: a document that fails one is answered
//! 400 and stored nowhere, so the buyer's admin sees why at once instead of
//! a supplier finding a wrong sales order later.

use std::collections::HashSet;

use pobridge_cxml::OrderRequest;

/// Longest PO number accepted. Coupa's are short numbers; the limit keeps a
/// hostile value out of listings and Brightpearl's customer reference.
pub const MAX_ORDER_ID_CHARS: usize = 100;

/// Returns why the order cannot be accepted, naming the element and value.
pub fn check_order(order: &OrderRequest) -> Result<(), String> {
    check_order_id(&order.header.order_id)?;
    let currency = order
        .header
        .total
        .as_ref()
        .map(|total| total.currency.as_str());
    let mut line_numbers = HashSet::new();
    for item in &order.items {
        let line = crate::products::line_number(item);
        if item.quantity <= rust_decimal::Decimal::ZERO {
            return Err(format!(
                "ItemOut line {line}: quantity {} must be greater than zero",
                item.quantity
            ));
        }
        if let Some(number) = item.line_number {
            if !line_numbers.insert(number) {
                return Err(format!("ItemOut lineNumber {number} appears more than once; each line needs its own number"));
            }
        }
        if let (Some(currency), Some(detail)) = (currency, item.detail.as_ref()) {
            if detail.unit_price.currency != currency {
                return Err(format!(
                    "ItemOut line {line}: the unit price is in {} but the order's Total is in {currency}; one order has one currency",
                    detail.unit_price.currency
                ));
            }
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
