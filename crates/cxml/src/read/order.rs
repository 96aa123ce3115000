//! `OrderRequest`: the header and the lines of a purchase order.

use super::element::Element;
use std::fmt;

use super::sequence;
use super::values::{parse_decimal, Doc};
use crate::error::{shown, ReadError};
use crate::mask::mask_card_number;
use crate::model::{
    Classification, Distribution, ItemDetail, ItemId, ItemOut, OrderHeader, OrderKind,
    OrderRequest, PCard, Secret, Segment,
};
use crate::time::parse_timestamp;

const HEADER: &str = "OrderRequestHeader";

/// The lines of the order, each converted when its end tag is read, and
/// the error of the first line that could not be converted.
pub(crate) struct Lines {
    items: Vec<ItemOut>,
    warnings: Vec<String>,
    error: Option<ReadError>,
    expected: usize,
}

impl Lines {
    /// Starts with room for `expected` lines, reserved when the first line
    /// arrives. An `ItemOut` is 984 bytes on x86-64, so growing the vector
    /// by doubling could leave megabytes unused on a large order.
    pub fn new(expected: usize) -> Self {
        Self {
            items: Vec::new(),
            warnings: Vec::new(),
            error: None,
            expected,
        }
    }

    /// Reads the next `ItemOut`. After a line that cannot be read the rest
    /// are skipped, because only the first error is reported.
    pub fn read(&mut self, doc: &Doc<'_>, item: Element<'_, '_>) {
        if self.error.is_some() {
            return;
        }
        if self.items.capacity() == 0 {
            self.items.reserve_exact(self.expected);
        }
        let position = u32::try_from(self.items.len() + 1).unwrap_or(u32::MAX);
        match item_out(doc, item, position) {
            Ok(line) => {
                let warnings = sequence::check_item_out(item, || line_location(&line));
                self.warnings.extend(warnings);
                self.items.push(line);
            }
            Err(error) => self.error = Some(error),
        }
    }
}

/// Estimates the number of `ItemOut` start tags in `text`, at most `max`,
/// by counting `<ItemOut` without a namespace prefix wherever it occurs.
pub(crate) fn expected_lines(text: &str, max: usize) -> usize {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, b"<ItemOut")
        .filter(|start| {
            bytes
                .get(start + 8)
                .is_some_and(|next| next.is_ascii_whitespace() || matches!(next, b'>' | b'/'))
        })
        .take(max)
        .count()
}

/// Reads `OrderRequest`. It must have a header with an `orderID` and at
/// least one `ItemOut`, each with a readable quantity and price. The lines
/// were read into `lines` while the tree was built, so their first error
/// is reported here, after any error in the header.
pub(crate) fn order_request(
    doc: &Doc<'_>,
    order: Element<'_, '_>,
    lines: Lines,
) -> Result<OrderRequest, ReadError> {
    let Some(header) = order.child(HEADER) else {
        return Err(ReadError::missing(
            "OrderRequest",
            "element <OrderRequestHeader>",
        ));
    };
    let mut warnings: Vec<String> = sequence::check_order_header(header).into_iter().collect();
    let header = order_header(doc, header)?;

    if let Some(error) = lines.error {
        return Err(error);
    }
    if lines.items.is_empty() {
        return Err(ReadError::missing(
            format!("OrderRequest {}", shown(&header.order_id)),
            "<ItemOut>: an order needs at least one line",
        ));
    }
    warnings.extend(lines.warnings);
    Ok(OrderRequest {
        header,
        items: lines.items,
        warnings,
    })
}

fn order_header(doc: &Doc<'_>, header: Element<'_, '_>) -> Result<OrderHeader, ReadError> {
    let order_id = match header.attr("orderID") {
        Some(id) if !id.trim().is_empty() => id.to_string(),
        _ => {
            return Err(ReadError::missing(
                HEADER,
                "attribute orderID (the buyer's PO number)",
            ))
        }
    };
    let order_date_raw = header.attr("orderDate").unwrap_or_default().to_string();
    let requested_delivery_date_raw = header.attr("requestedDeliveryDate").map(str::to_string);
    let total = match header.child("Total") {
        Some(total) => Some(doc.money_child(total, || format!("{HEADER}/Total"))?),
        None => None,
    };
    let shipping = match header.child("Shipping") {
        Some(shipping) => Some(doc.charge(shipping, &format!("{HEADER}/Shipping"))?),
        None => None,
    };
    let tax = match header.child("Tax") {
        Some(tax) => Some(doc.tax(tax, &format!("{HEADER}/Tax"))?),
        None => None,
    };

    Ok(OrderHeader {
        order_type: order_kind(header.attr("type"))?,
        order_version: order_version(header.attr("orderVersion"))?,
        order_date: parse_timestamp(&order_date_raw),
        order_date_raw,
        total,
        ship_to: doc.address_child(header.child("ShipTo")),
        bill_to: doc.address_child(header.child("BillTo")),
        shipping,
        tax,
        payment: header
            .child("Payment")
            .and_then(|payment| payment.child("PCard"))
            .map(pcard),
        contacts: header.map_all("Contact", |contact| doc.contact(contact)),
        comments: header.map_all("Comments", |comments| doc.comments(comments)),
        document_reference: header
            .child("DocumentReference")
            .and_then(|reference| reference.attr("payloadID"))
            .map(str::to_string),
        extrinsics: doc.extrinsics(header),
        requested_delivery_date: requested_delivery_date_raw
            .as_deref()
            .and_then(parse_timestamp),
        requested_delivery_date_raw,
        order_id,
    })
}

/// Reads `type`: absent means `new`, and only the exact lower-case values
/// are accepted, so `Update` is an error rather than a silent `new`.
fn order_kind(raw: Option<&str>) -> Result<OrderKind, ReadError> {
    match raw {
        None | Some("new") => Ok(OrderKind::New),
        Some("update") => Ok(OrderKind::Update),
        Some("delete") => Ok(OrderKind::Delete),
        Some(other) => Err(ReadError::invalid(
            format!("{HEADER} type"),
            other,
            "new, update or delete, in lower case",
        )),
    }
}

fn order_version(raw: Option<&str>) -> Result<Option<i64>, ReadError> {
    let Some(raw) = raw.filter(|raw| !raw.trim().is_empty()) else {
        return Ok(None);
    };
    raw.trim().parse().map(Some).map_err(|_| {
        ReadError::invalid(
            format!("{HEADER} orderVersion"),
            raw,
            "a whole number such as 2",
        )
    })
}

fn pcard(card: Element<'_, '_>) -> PCard {
    PCard {
        number: mask_card_number(card.attr("number").unwrap_or_default()),
        expiration: Secret::new(card.attr("expiration").unwrap_or_default()),
        name: card.attr("name").map(str::to_string),
    }
}

fn item_out(doc: &Doc<'_>, item: Element<'_, '_>, position: u32) -> Result<ItemOut, ReadError> {
    let line_number = line_number(item.attr("lineNumber"), position)?;
    let line = LineName {
        line_number,
        position,
    };
    let quantity = match item.attr("quantity") {
        Some(raw) => parse_decimal(raw)
            .map_err(|expected| ReadError::invalid(format!("{line} quantity"), raw, expected))?,
        None => return Err(ReadError::missing(line.to_string(), "attribute quantity")),
    };
    let Some(item_id) = item.child("ItemID") else {
        return Err(ReadError::missing(line.to_string(), "element <ItemID>"));
    };
    let requested_delivery_date_raw = item.attr("requestedDeliveryDate").map(str::to_string);
    let detail = match item.child("ItemDetail") {
        Some(detail) => Some(item_detail(doc, detail, line)?),
        None => None,
    };
    // The line's amount is computed for the sales order and the invoice, so
    // it must fit a decimal of 28 digits as the quantity and price do.
    if let Some(detail) = &detail {
        if quantity.checked_mul(detail.unit_price.amount).is_none() {
            return Err(ReadError::invalid(
                format!("{line} quantity"),
                item.attr("quantity").unwrap_or_default(),
                format!(
                    "a quantity whose amount at the unit price {} has at most 28 digits",
                    detail.unit_price.amount
                ),
            ));
        }
    }

    Ok(ItemOut {
        line_number,
        position,
        quantity,
        requested_delivery_date: requested_delivery_date_raw
            .as_deref()
            .and_then(parse_timestamp),
        requested_delivery_date_raw,
        item_id: self::item_id(item_id, line)?,
        detail,
        ship_to: doc.address_child(item.child("ShipTo")),
        shipping: match item.child("Shipping") {
            Some(shipping) => Some(doc.charge(shipping, &format!("{line}/Shipping"))?),
            None => None,
        },
        tax: match item.child("Tax") {
            Some(tax) => Some(doc.tax(tax, &format!("{line}/Tax"))?),
            None => None,
        },
        distributions: distributions(doc, item, line)?,
        contacts: item.map_all("Contact", |contact| doc.contact(contact)),
        comments: item.map_all("Comments", |comments| doc.comments(comments)),
        extrinsics: doc.extrinsics(item),
    })
}

/// Names a line in messages by its `lineNumber`, or by its position when it
/// has none. It is formatted only for a message, because a large order has
/// thousands of lines that need none.
#[derive(Clone, Copy)]
struct LineName {
    line_number: Option<u32>,
    position: u32,
}

impl fmt::Display for LineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_number {
            Some(number) => write!(f, "ItemOut lineNumber=\"{number}\""),
            None => write!(f, "ItemOut #{} (no lineNumber)", self.position),
        }
    }
}

fn line_location(item: &ItemOut) -> String {
    LineName {
        line_number: item.line_number,
        position: item.position,
    }
    .to_string()
}

fn line_number(raw: Option<&str>, position: u32) -> Result<Option<u32>, ReadError> {
    let Some(raw) = raw.filter(|raw| !raw.trim().is_empty()) else {
        return Ok(None);
    };
    raw.trim().parse().map(Some).map_err(|_| {
        ReadError::invalid(
            format!("ItemOut #{position} lineNumber"),
            raw,
            "a positive whole number such as 1",
        )
    })
}

fn item_id(item_id: Element<'_, '_>, line: LineName) -> Result<ItemId, ReadError> {
    let Some(supplier_part_id) = item_id.child_text("SupplierPartID") else {
        return Err(ReadError::missing(
            format!("{line}/ItemID"),
            "element <SupplierPartID>",
        ));
    };
    Ok(ItemId {
        supplier_part_id,
        supplier_part_auxiliary_id: item_id.child_text("SupplierPartAuxiliaryID"),
        buyer_part_id: item_id.child_text("BuyerPartID"),
    })
}

/// Reads `ItemDetail`. A missing `UnitOfMeasure` is kept as an empty
/// string: the line is still usable and the engine decides what to do.
fn item_detail(
    doc: &Doc<'_>,
    detail: Element<'_, '_>,
    line: LineName,
) -> Result<ItemDetail, ReadError> {
    let Some(unit_price) = detail.child("UnitPrice") else {
        return Err(ReadError::missing(
            format!("{line}/ItemDetail"),
            "element <UnitPrice>",
        ));
    };
    Ok(ItemDetail {
        unit_price: doc.money_child(unit_price, || format!("{line}/ItemDetail/UnitPrice"))?,
        descriptions: detail.map_all("Description", |description| doc.description(description)),
        unit_of_measure: detail.child_text("UnitOfMeasure").unwrap_or_default(),
        classifications: detail.map_all("Classification", |classification| Classification {
            domain: classification
                .attr("domain")
                .unwrap_or_default()
                .to_string(),
            value: classification.text(),
        }),
        manufacturer_part_id: detail.child_text("ManufacturerPartID"),
        manufacturer_name: detail.child_text("ManufacturerName"),
        url: detail.child_text("URL"),
        extrinsics: doc.extrinsics(detail),
    })
}

fn distributions(
    doc: &Doc<'_>,
    item: Element<'_, '_>,
    line: LineName,
) -> Result<Vec<Distribution>, ReadError> {
    let mut distributions = Vec::with_capacity(item.all("Distribution").count());
    for (index, distribution) in item.all("Distribution").enumerate() {
        let location = || format!("{line}/Distribution[{}]", index + 1);
        let accounting = distribution.child("Accounting");
        let Some(charge) = distribution.child("Charge") else {
            return Err(ReadError::missing(location(), "element <Charge>"));
        };
        distributions.push(Distribution {
            accounting_name: accounting
                .and_then(|accounting| accounting.attr("name"))
                .unwrap_or_default()
                .to_string(),
            segments: accounting.map(segments).unwrap_or_default(),
            charge: doc.money_child(charge, || format!("{}/Charge", location()))?,
        });
    }
    Ok(distributions)
}

/// Reads `Segment` (attributes) and `AccountingSegment` (child elements,
/// later DTDs) in document order.
fn segments(accounting: Element<'_, '_>) -> Vec<Segment> {
    let attribute =
        |element: Element<'_, '_>, name: &str| element.attr(name).unwrap_or_default().to_string();
    let is_segment =
        |element: &Element<'_, '_>| matches!(element.name(), "Segment" | "AccountingSegment");
    let mut segments = Vec::with_capacity(accounting.elements().filter(is_segment).count());
    segments.extend(
        accounting
            .elements()
            .filter_map(|segment| match segment.name() {
                "Segment" => Some(Segment {
                    segment_type: attribute(segment, "type"),
                    id: attribute(segment, "id"),
                    description: attribute(segment, "description"),
                }),
                "AccountingSegment" => Some(Segment {
                    segment_type: segment.child_text("Name").unwrap_or_default(),
                    id: attribute(segment, "id"),
                    description: segment.child_text("Description").unwrap_or_default(),
                }),
                _ => None,
            }),
    );
    segments
}
