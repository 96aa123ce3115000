//! The fields the checks read from a DTD-valid invoice: the header
//! credentials, the purchase orders it references, its lines and the
//! summary amounts.

use rust_decimal::Decimal;

use super::tree::Element;

/// One `Credential` of From, To or Sender, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub domain: String,
    pub identity: String,
    pub shared_secret: Option<String>,
}

/// The header's credentials.
#[derive(Debug, Clone, Default)]
pub(crate) struct Header {
    pub from: Vec<Credential>,
    pub to: Vec<Credential>,
    pub sender: Vec<Credential>,
}

/// An `InvoiceDetailRequest`.
#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub invoice_id: String,
    /// `standard` unless the header says otherwise.
    pub purpose: String,
    /// The header `DocumentReference@payloadID`, which names the original
    /// invoice of a credit memo.
    pub original_invoice_id: Option<String>,
    pub orders: Vec<InvoiceOrder>,
    pub summary: Summary,
}

/// One `InvoiceDetailOrder` or `InvoiceDetailHeaderOrder`.
#[derive(Debug, Clone)]
pub(crate) struct InvoiceOrder {
    /// `OrderReference/DocumentReference@payloadID`; `None` for contract or
    /// other blocks without an order reference.
    pub po_number: Option<String>,
    pub lines: Vec<InvoiceLine>,
}

/// One `InvoiceDetailItem` or `InvoiceDetailServiceItem`.
#[derive(Debug, Clone)]
pub(crate) struct InvoiceLine {
    pub service: bool,
    /// The PO line number; `None` when absent or blank.
    pub line_number: Option<String>,
    pub supplier_part_id: Option<String>,
    pub unit_of_measure: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub subtotal: Option<Decimal>,
}

/// `InvoiceDetailSummary` amounts; an empty `Money` reads as `None`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub currency: String,
    pub subtotal: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub special_handling: Option<Decimal>,
    pub shipping: Option<Decimal>,
    pub discount: Option<Decimal>,
    pub net: Option<Decimal>,
}

impl Summary {
    /// `NetAmount` when given, else subtotal + tax + handling + shipping −
    /// discount.
    pub fn total(&self) -> Decimal {
        self.net.unwrap_or_else(|| {
            let sum = [
                self.subtotal,
                self.tax,
                self.special_handling,
                self.shipping,
            ]
            .iter()
            .flatten()
            .sum::<Decimal>();
            sum - self.discount.unwrap_or_default()
        })
    }
}

/// A number Coupa could not read, by where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadNumber(pub String);

pub(crate) fn header(root: &Element) -> Header {
    let credentials = |name: &str| -> Vec<Credential> {
        root.find(&["Header", name])
            .map(|party| party.children_named("Credential").map(credential).collect())
            .unwrap_or_default()
    };
    Header {
        from: credentials("From"),
        to: credentials("To"),
        sender: credentials("Sender"),
    }
}

fn credential(element: &Element) -> Credential {
    Credential {
        domain: element.attribute("domain").unwrap_or("").trim().to_owned(),
        identity: text_of(element.child("Identity")).unwrap_or_default(),
        shared_secret: text_of(element.child("SharedSecret")),
    }
}

/// Reads the invoice, or returns `None` when the request is not an
/// `InvoiceDetailRequest`.
pub(crate) fn invoice(root: &Element) -> Result<Option<Invoice>, BadNumber> {
    let Some(request) = root.find(&["Request", "InvoiceDetailRequest"]) else {
        return Ok(None);
    };
    let header = request.child("InvoiceDetailRequestHeader");
    let header_attribute = |name: &str| {
        header
            .and_then(|h| h.attribute(name))
            .map(|value| value.trim().to_owned())
    };
    let invoice_id = header_attribute("invoiceID").unwrap_or_default();
    let purpose = header_attribute("purpose").unwrap_or_else(|| "standard".to_owned());
    let original_invoice_id = header
        .and_then(|h| h.child("DocumentReference"))
        .and_then(|reference| reference.attribute("payloadID"))
        .map(|payload_id| payload_id.trim().to_owned())
        .filter(|payload_id| !payload_id.is_empty());
    let mut orders = Vec::new();
    for block in &request.children {
        if block.name == "InvoiceDetailOrder" || block.name == "InvoiceDetailHeaderOrder" {
            orders.push(order(block)?);
        }
    }
    let summary = summary(request.child("InvoiceDetailSummary"))?;
    Ok(Some(Invoice {
        invoice_id,
        purpose,
        original_invoice_id,
        orders,
        summary,
    }))
}

fn order(block: &Element) -> Result<InvoiceOrder, BadNumber> {
    let po_number = block
        .find(&[
            "InvoiceDetailOrderInfo",
            "OrderReference",
            "DocumentReference",
        ])
        .and_then(|reference| reference.attribute("payloadID"))
        .map(|payload_id| payload_id.trim().to_owned());
    let lines = block
        .children
        .iter()
        .filter(|c| c.name == "InvoiceDetailItem" || c.name == "InvoiceDetailServiceItem")
        .map(line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InvoiceOrder { po_number, lines })
}

fn line(item: &Element) -> Result<InvoiceLine, BadNumber> {
    let service = item.name == "InvoiceDetailServiceItem";
    let reference = item.child(if service {
        "InvoiceDetailServiceItemReference"
    } else {
        "InvoiceDetailItemReference"
    });
    let line_number = reference
        .and_then(|r| r.attribute("lineNumber"))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let quantity = match item.attribute("quantity") {
        Some(text) => Some(number(text, "InvoiceDetailItem@quantity")?),
        None => None,
    };
    let unit_of_measure = text_of(item.child("UnitOfMeasure"))
        .or_else(|| text_of(item.find(&["UnitRate", "UnitOfMeasure"])));
    Ok(InvoiceLine {
        service,
        line_number,
        supplier_part_id: text_of(reference.and_then(|r| r.find(&["ItemID", "SupplierPartID"]))),
        unit_of_measure,
        quantity,
        unit_price: money(item.find(&["UnitPrice", "Money"]))?,
        subtotal: money(item.find(&["SubtotalAmount", "Money"]))?,
    })
}

fn summary(element: Option<&Element>) -> Result<Summary, BadNumber> {
    let Some(summary) = element else {
        return Ok(Summary::default());
    };
    let amount = |name: &str| money(summary.find(&[name, "Money"]));
    Ok(Summary {
        currency: summary
            .find(&["SubtotalAmount", "Money"])
            .and_then(|m| m.attribute("currency"))
            .unwrap_or("")
            .trim()
            .to_owned(),
        subtotal: amount("SubtotalAmount")?,
        tax: amount("Tax")?,
        special_handling: amount("SpecialHandlingAmount")?,
        shipping: amount("ShippingAmount")?,
        discount: amount("InvoiceDetailDiscount")?,
        net: amount("NetAmount")?,
    })
}

fn money(element: Option<&Element>) -> Result<Option<Decimal>, BadNumber> {
    match text_of(element) {
        None => Ok(None),
        Some(text) => number(&text, "Money").map(Some),
    }
}

/// Reads a decimal written with a point; `1505,0` is refused, not guessed.
fn number(text: &str, place: &str) -> Result<Decimal, BadNumber> {
    let text = text.trim();
    let normalised = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_owned()
    };
    normalised
        .parse::<Decimal>()
        .map_err(|_| BadNumber(format!("{place} {text:?}")))
}

/// Returns the trimmed text of an element, or `None` when it is missing or
/// blank.
fn text_of(element: Option<&Element>) -> Option<String> {
    element
        .map(|e| e.text.trim())
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn numbers_accept_leading_point_and_refuse_commas() {
        assert_eq!(number(".34", "x").unwrap(), dec!(0.34));
        assert_eq!(number(" 2.00 ", "x").unwrap(), dec!(2.00));
        assert!(number("1505,0", "x").is_err());
    }

    #[test]
    fn total_without_net_is_the_sum() {
        let summary = Summary {
            subtotal: Some(dec!(365)),
            tax: Some(dec!(8)),
            special_handling: Some(dec!(5)),
            shipping: Some(dec!(30)),
            discount: Some(dec!(3)),
            ..Summary::default()
        };
        assert_eq!(summary.total(), dec!(405));
        let stated = Summary {
            net: Some(dec!(400)),
            ..summary
        };
        assert_eq!(stated.total(), dec!(400));
    }
}
