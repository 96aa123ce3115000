//! Element-order checks. The reader accepts children in any order, because
//! real senders (Coupa included) break the DTD sequence, but it records a
//! warning so the deviation is visible.

use super::element::Element;

/// `OrderRequestHeader` children in DTD order (cXML 1.2.071).
const ORDER_HEADER: &[&str] = &[
    "Total",
    "ShipTo",
    "BillTo",
    "BusinessPartner",
    "LegalEntity",
    "OrganizationalUnit",
    "Shipping",
    "Tax",
    "Payment",
    "PaymentTerm",
    "Contact",
    "Comments",
    "Followup",
    "ControlKeys",
    "DocumentReference",
    "SupplierOrderInfo",
    "TermsOfDelivery",
    "DeliveryPeriod",
    "IdReference",
    "OrderRequestHeaderIndustry",
    "Extrinsic",
];

/// `ItemOut` children in DTD order (cXML 1.2.071).
const ITEM_OUT: &[&str] = &[
    "ItemID",
    "Path",
    "ItemDetail",
    "BlanketItemDetail",
    "SupplierID",
    "SupplierList",
    "ShipTo",
    "Shipping",
    "Tax",
    "SpendDetail",
    "Distribution",
    "Contact",
    "TermsOfDelivery",
    "Comments",
    "Indicator",
    "Tolerances",
    "ControlKeys",
    "ScheduleLine",
    "MasterAgreementReference",
    "MasterAgreementIDInfo",
    "ItemOutIndustry",
    "Packaging",
    "ReleaseInfo",
    "Batch",
];

/// `ItemDetail` children in DTD order (cXML 1.2.071).
const ITEM_DETAIL: &[&str] = &[
    "UnitPrice",
    "Description",
    "OverallLimit",
    "ExpectedLimit",
    "UnitOfMeasure",
    "PriceBasisQuantity",
    "Classification",
    "ManufacturerPartID",
    "ManufacturerName",
    "URL",
    "LeadTime",
    "Dimension",
    "ItemDetailIndustry",
    "AttachmentReference",
    "PlannedAcceptanceDays",
    "Extrinsic",
];

/// Returns a warning when a child of `OrderRequestHeader` is out of DTD
/// order.
pub(crate) fn check_order_header(header: Element<'_, '_>) -> Option<String> {
    check(header, ORDER_HEADER, || "OrderRequestHeader".to_string())
}

/// Returns warnings for children of `ItemOut` and its `ItemDetail` that are
/// out of DTD order. `line` names the line and is only called for a
/// warning.
pub(crate) fn check_item_out(item: Element<'_, '_>, line: impl Fn() -> String) -> Vec<String> {
    let detail = item
        .child("ItemDetail")
        .and_then(|detail| check(detail, ITEM_DETAIL, || format!("{}/ItemDetail", line())));
    check(item, ITEM_OUT, &line)
        .into_iter()
        .chain(detail)
        .collect()
}

/// Compares the known children's ranks; names outside `sequence` (later
/// DTD additions, vendor elements) are ignored.
fn check(
    element: Element<'_, '_>,
    sequence: &[&str],
    location: impl FnOnce() -> String,
) -> Option<String> {
    let mut previous: Option<(usize, &str)> = None;
    for child in element.elements() {
        let Some(rank) = sequence.iter().position(|name| *name == child.name()) else {
            continue;
        };
        if let Some((previous_rank, previous_name)) = previous {
            if rank < previous_rank {
                return Some(format!(
                    "{}: <{}> comes after <{previous_name}>, which the cXML DTD \
                     puts later; the document was read anyway",
                    location(),
                    child.name()
                ));
            }
        }
        previous = Some((rank, child.name()));
    }
    None
}
