//! A structural check of an invoice against the InvoiceDetail DTD. It checks
//! content models (child order, required children, EMPTY and text-only
//! elements), required attributes and enumerated attribute values. It
//! covers the envelope, every element of `InvoiceDetailRequest` down to
//! `Money`, and the contacts, addresses and accounting inside them.
//!
//! The models are copied from cXML 1.2.069 `InvoiceDetail.dtd`. Each later
//! 1.2.x DTD only added optional children to these elements, so a document
//! valid under an older 1.2.x DTD passes too.
// NOTE: because one table serves every 1.2.x version, a document that uses
// a child added after the version it declares is accepted.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use super::tree::Element;

/// Content models by element name, in DTD syntax.
const MODELS: &[(&str, &str)] = &[
    ("cXML", "(((Header, (Message | Request)) | Response), ds:Signature*)"),
    ("Header", "(From, To, Sender, (Path, OriginalDocument)?)"),
    ("From", "(Credential+, Correspondent?)"),
    ("To", "(Credential+, Correspondent?)"),
    ("Sender", "(Credential+, UserAgent)"),
    ("Credential", "(Identity, (SharedSecret | DigitalSignature | CredentialMac)?)"),
    ("Identity", "ANY"),
    ("SharedSecret", "ANY"),
    ("UserAgent", "(#PCDATA)"),
    ("Request", "(InvoiceDetailRequest | ProviderSetupRequest)"),
    ("InvoiceDetailRequest", "(InvoiceDetailRequestHeader, (InvoiceDetailOrder+ | InvoiceDetailHeaderOrder+), InvoiceDetailSummary)"),
    ("InvoiceDetailRequestHeader", "(InvoiceDetailHeaderIndicator, InvoiceDetailLineIndicator, InvoicePartner*, DocumentReference?, InvoiceIDInfo?, PaymentProposalIDInfo?, InvoiceDetailShipping?, ShipNoticeIDInfo?, (InvoiceDetailPaymentTerm* | PaymentTerm*), PaymentInformation?, Period?, Comments?, IdReference*, Extrinsic*)"),
    ("InvoiceDetailHeaderIndicator", "EMPTY"),
    ("InvoiceDetailLineIndicator", "EMPTY"),
    ("InvoicePartner", "(Contact, IdReference*)"),
    ("InvoiceDetailShipping", "(Contact, Contact+, (CarrierIdentifier+, ShipmentIdentifier+)?, DocumentReference?)"),
    ("PaymentTerm", "(Discount?, Extrinsic*)"),
    ("InvoiceDetailPaymentTerm", "EMPTY"),
    ("Discount", "(DiscountPercent | DiscountAmount)"),
    ("DiscountPercent", "EMPTY"),
    ("DiscountAmount", "(Money)"),
    ("InvoiceDetailOrder", "(InvoiceDetailOrderInfo, InvoiceDetailReceiptInfo?, InvoiceDetailShipNoticeInfo?, (InvoiceDetailItem | InvoiceDetailServiceItem)+)"),
    ("InvoiceDetailHeaderOrder", "(InvoiceDetailOrderInfo, InvoiceDetailOrderSummary)"),
    ("InvoiceDetailOrderSummary", "(SubtotalAmount, Period?, Tax?, InvoiceDetailLineSpecialHandling?, InvoiceDetailLineShipping?, GrossAmount?, InvoiceDetailDiscount?, NetAmount?, Comments?, Extrinsic*)"),
    ("InvoiceDetailOrderInfo", "((OrderReference, (MasterAgreementReference | MasterAgreementIDInfo)?, SupplierOrderInfo?) | (MasterAgreementReference, OrderIDInfo?, SupplierOrderInfo?) | (MasterAgreementIDInfo, OrderIDInfo?, SupplierOrderInfo?) | (OrderIDInfo, SupplierOrderInfo?) | SupplierOrderInfo)"),
    ("OrderReference", "(DocumentReference)"),
    ("MasterAgreementReference", "(DocumentReference)"),
    ("MasterAgreementIDInfo", "(IdReference*)"),
    ("OrderIDInfo", "(IdReference*)"),
    ("SupplierOrderInfo", "EMPTY"),
    ("DocumentReference", "EMPTY"),
    ("InvoiceIDInfo", "EMPTY"),
    ("InvoiceDetailItem", "(UnitOfMeasure, UnitPrice, PriceBasisQuantity?, InvoiceDetailItemReference, ReceiptLineItemReference?, ShipNoticeLineItemReference?, (ServiceEntryItemReference | ServiceEntryItemIDInfo)?, ProductMovementItemIDInfo?, SubtotalAmount?, Tax?, InvoiceDetailLineSpecialHandling?, InvoiceDetailLineShipping?, ShipNoticeIDInfo?, GrossAmount?, InvoiceDetailDiscount?, InvoiceItemModifications?, TotalCharges?, TotalAllowances?, TotalAmountWithoutTax?, NetAmount?, Distribution*, Packaging*, InvoiceDetailItemIndustry?, Comments?, CustomsInfo?, Extrinsic*)"),
    ("InvoiceDetailItemReference", "(ItemID?, Description?, Classification*, (ManufacturerPartID, ManufacturerName)?, Country?, SerialNumber*, SupplierBatchID?, InvoiceDetailItemReferenceIndustry?)"),
    ("InvoiceDetailServiceItem", "(InvoiceDetailServiceItemReference, (ServiceEntryItemReference | ServiceEntryItemIDInfo)?, SubtotalAmount, Period?, (UnitRate | (UnitOfMeasure, UnitPrice, PriceBasisQuantity?))?, Tax?, GrossAmount?, InvoiceDetailDiscount?, InvoiceItemModifications?, TotalCharges?, TotalAllowances?, TotalAmountWithoutTax?, NetAmount?, Distribution*, Comments?, (InvoiceLaborDetail)?, Extrinsic*)"),
    ("InvoiceDetailServiceItemReference", "(Classification*, ItemID?, Description?)"),
    ("ItemID", "(SupplierPartID, SupplierPartAuxiliaryID?, BuyerPartID?, IdReference*)"),
    ("SupplierPartID", "(#PCDATA)"),
    ("Description", "(#PCDATA | ShortName)*"),
    ("UnitOfMeasure", "(#PCDATA)"),
    ("PriceBasisQuantity", "(UnitOfMeasure, Description?)"),
    ("UnitRate", "(Money, UnitOfMeasure, PriceBasisQuantity?, TermReference?)"),
    ("InvoiceDetailLineShipping", "(InvoiceDetailShipping, Money, Distribution*)"),
    ("InvoiceDetailLineSpecialHandling", "(Description?, Money, Distribution*)"),
    ("InvoiceDetailSummary", "(SubtotalAmount, Tax, SpecialHandlingAmount?, ShippingAmount?, GrossAmount?, InvoiceDetailDiscount?, InvoiceHeaderModifications?, InvoiceDetailSummaryLineItemModifications?, TotalCharges?, TotalAllowances?, TotalAmountWithoutTax?, NetAmount, DepositAmount?, DueAmount?, InvoiceDetailSummaryIndustry?)"),
    ("Tax", "(Money, TaxAdjustmentAmount?, Description, TaxDetail*, Distribution*, Extrinsic*)"),
    ("TaxDetail", "(TaxableAmount?, TaxAmount, TaxLocation?, TaxAdjustmentAmount?, Description?, TriangularTransactionLawReference?, TaxRegime?, TaxExemption?, Extrinsic*)"),
    ("TaxableAmount", "(Money)"),
    ("TaxAmount", "(Money)"),
    ("TaxLocation", "(#PCDATA)"),
    ("UnitPrice", "(Money, Modifications?, PricingConditions?)"),
    ("SubtotalAmount", "(Money)"),
    ("GrossAmount", "(Money)"),
    ("NetAmount", "(Money)"),
    ("DueAmount", "(Money)"),
    ("DepositAmount", "(Money)"),
    ("ShippingAmount", "(Money, Distribution*)"),
    ("SpecialHandlingAmount", "(Money, Description?, Distribution*)"),
    ("InvoiceDetailDiscount", "(Money, Distribution*)"),
    ("Money", "(#PCDATA)"),
    ("Period", "EMPTY"),
    ("Comments", "(#PCDATA | Attachment)*"),
    ("Extrinsic", "ANY"),
    ("Contact", "(Name, PostalAddress*, Email*, Phone*, Fax*, URL*, IdReference*, Extrinsic*)"),
    ("Name", "(#PCDATA)"),
    ("PostalAddress", "(DeliverTo*, Street+, City, Municipality?, State?, PostalCode?, Country, Extrinsic*)"),
    ("DeliverTo", "(#PCDATA)"),
    ("Street", "(#PCDATA)"),
    ("City", "(#PCDATA)"),
    ("State", "(#PCDATA)"),
    ("PostalCode", "(#PCDATA)"),
    ("Country", "(#PCDATA)"),
    ("Email", "(#PCDATA)"),
    ("Phone", "(TelephoneNumber)"),
    ("TelephoneNumber", "(CountryCode, AreaOrCityCode, Number, Extension?)"),
    ("Fax", "(TelephoneNumber | URL | Email)"),
    ("URL", "(#PCDATA)"),
    ("IdReference", "(Creator?, Description?)"),
    ("Creator", "(#PCDATA)"),
    ("Distribution", "(Accounting, Charge)"),
    ("Accounting", "(Segment+ | AccountingSegment+)"),
    ("AccountingSegment", "(Name, Description)"),
    ("Segment", "EMPTY"),
    ("Charge", "(Money)"),
    ("Attachment", "(URL)"),
    ("ShortName", "(#PCDATA)"),
];

/// `#REQUIRED` attributes by element.
const REQUIRED: &[(&str, &[&str])] = &[
    ("cXML", &["payloadID", "timestamp"]),
    ("Credential", &["domain"]),
    ("InvoiceDetailRequestHeader", &["invoiceID", "invoiceDate"]),
    ("PaymentTerm", &["payInNumberOfDays"]),
    (
        "InvoiceDetailPaymentTerm",
        &["payInNumberOfDays", "percentageRate"],
    ),
    ("DiscountPercent", &["percent"]),
    ("DocumentReference", &["payloadID"]),
    ("MasterAgreementIDInfo", &["agreementID"]),
    ("OrderIDInfo", &["orderID"]),
    ("SupplierOrderInfo", &["orderID"]),
    ("InvoiceIDInfo", &["invoiceID"]),
    ("InvoiceDetailItem", &["invoiceLineNumber", "quantity"]),
    ("InvoiceDetailItemReference", &["lineNumber"]),
    ("InvoiceDetailServiceItem", &["invoiceLineNumber"]),
    ("InvoiceDetailOrderSummary", &["invoiceLineNumber"]),
    ("PriceBasisQuantity", &["quantity", "conversionFactor"]),
    ("Description", &["xml:lang"]),
    ("TaxDetail", &["category"]),
    ("TaxLocation", &["xml:lang"]),
    ("Money", &["currency"]),
    ("Period", &["startDate", "endDate"]),
    ("Name", &["xml:lang"]),
    ("Country", &["isoCountryCode"]),
    ("IdReference", &["identifier", "domain"]),
    ("Creator", &["xml:lang"]),
    ("Accounting", &["name"]),
    ("AccountingSegment", &["id"]),
    ("Segment", &["type", "id", "description"]),
];

/// Enumerated attributes and their allowed values, case-sensitive.
const ENUMERATED: &[(&str, &str, &[&str])] = &[
    ("Request", "deploymentMode", &["production", "test"]),
    (
        "InvoiceDetailRequestHeader",
        "purpose",
        &[
            "standard",
            "creditMemo",
            "debitMemo",
            "lineLevelCreditMemo",
            "lineLevelDebitMemo",
        ],
    ),
    (
        "InvoiceDetailRequestHeader",
        "operation",
        &["new", "delete"],
    ),
    (
        "InvoiceDetailRequestHeader",
        "invoiceOrigin",
        &["supplier", "buyer"],
    ),
    ("Credential", "type", &["marketplace"]),
];

/// Finds the first DTD violation in document order, described by the
/// sentence Coupa puts after "Error: ".
pub(crate) fn first_violation(root: &Element) -> Option<String> {
    if root.name != "cXML" {
        return Some(content_error(&root.name));
    }
    check(root)
}

fn check(element: &Element) -> Option<String> {
    if let Some(model) = models().get(element.name.as_str()) {
        if !model.accepts(element) {
            return Some(content_error(&element.name));
        }
    }
    if let Some(problem) = attribute_problem(element) {
        return Some(problem);
    }
    element.children.iter().find_map(check)
}

fn content_error(name: &str) -> String {
    format!("Element {name} content does not follow the DTD")
}

fn attribute_problem(element: &Element) -> Option<String> {
    let required = REQUIRED
        .iter()
        .filter(|(name, _)| *name == element.name)
        .flat_map(|(_, attributes)| attributes.iter());
    for attribute in required {
        if element.attribute(attribute).is_none() {
            return Some(format!(
                "Element {} does not carry attribute {attribute}",
                element.name
            ));
        }
    }
    for (_, attribute, allowed) in ENUMERATED.iter().filter(|(n, _, _)| *n == element.name) {
        match element.attribute(attribute) {
            Some(value) if !allowed.contains(&value) => {
                return Some(format!(
                    "Value \"{value}\" for attribute {attribute} of {} is not among the enumerated set",
                    element.name
                ));
            }
            _ => {}
        }
    }
    None
}

fn models() -> &'static HashMap<&'static str, Model> {
    static MODELS_BY_NAME: LazyLock<HashMap<&'static str, Model>> = LazyLock::new(|| {
        // Every entry parses (a unit test checks it); one that did not would
        // leave its element unchecked rather than fail a request.
        MODELS
            .iter()
            .filter_map(|(name, text)| Model::parse(text).map(|model| (*name, model)))
            .collect()
    });
    &MODELS_BY_NAME
}

/// A DTD content model.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    Empty,
    Any,
    /// `(#PCDATA)` or `(#PCDATA | a | b)*`: text plus the listed children
    /// in any order and number.
    Mixed(Vec<String>),
    Children(Particle),
}

#[derive(Debug, Clone, PartialEq)]
enum Particle {
    Name(String),
    Sequence(Vec<Particle>),
    Choice(Vec<Particle>),
    Optional(Box<Particle>),
    ZeroOrMore(Box<Particle>),
    OneOrMore(Box<Particle>),
}

impl Model {
    fn parse(text: &str) -> Option<Model> {
        match text.trim() {
            "EMPTY" => return Some(Model::Empty),
            "ANY" => return Some(Model::Any),
            _ => {}
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(inner) = compact.strip_prefix("(#PCDATA") {
            let names = inner.trim_end_matches('*').trim_end_matches(')');
            let allowed = names
                .split('|')
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            return Some(Model::Mixed(allowed));
        }
        let mut parser = ParticleParser {
            text: compact.as_bytes(),
            at: 0,
        };
        let particle = parser.particle()?;
        (parser.at == compact.len()).then_some(Model::Children(particle))
    }

    fn accepts(&self, element: &Element) -> bool {
        let has_text = !element.text.trim().is_empty();
        match self {
            Model::Any => true,
            Model::Empty => element.children.is_empty() && element.text.is_empty(),
            Model::Mixed(allowed) => element
                .children
                .iter()
                .all(|child| allowed.contains(&child.name)),
            Model::Children(particle) => {
                let names: Vec<&str> = element.children.iter().map(|c| c.name.as_str()).collect();
                !has_text && particle.ends(&names, 0).contains(&names.len())
            }
        }
    }
}

impl Particle {
    /// Returns every position at which a match of this particle starting at
    /// `start` can end.
    fn ends(&self, names: &[&str], start: usize) -> BTreeSet<usize> {
        match self {
            Particle::Name(name) => match names.get(start) {
                Some(found) if found == name => BTreeSet::from([start + 1]),
                _ => BTreeSet::new(),
            },
            Particle::Sequence(items) => items.iter().fold(BTreeSet::from([start]), |at, item| {
                at.iter().flat_map(|&i| item.ends(names, i)).collect()
            }),
            Particle::Choice(items) => items
                .iter()
                .flat_map(|item| item.ends(names, start))
                .collect(),
            Particle::Optional(inner) => {
                let mut ends = inner.ends(names, start);
                ends.insert(start);
                ends
            }
            Particle::ZeroOrMore(inner) => repeat(inner, names, BTreeSet::from([start])),
            Particle::OneOrMore(inner) => repeat(inner, names, inner.ends(names, start)),
        }
    }
}

/// Closes `reached` under further matches of `inner`.
fn repeat(inner: &Particle, names: &[&str], mut reached: BTreeSet<usize>) -> BTreeSet<usize> {
    let mut frontier: Vec<usize> = reached.iter().copied().collect();
    while let Some(at) = frontier.pop() {
        for end in inner.ends(names, at) {
            if reached.insert(end) {
                frontier.push(end);
            }
        }
    }
    reached
}

/// A recursive-descent reader of content-model syntax without whitespace:
/// `(a,(b|c)*,d?)`.
struct ParticleParser<'a> {
    text: &'a [u8],
    at: usize,
}

impl ParticleParser<'_> {
    fn particle(&mut self) -> Option<Particle> {
        let base = if self.peek() == Some(b'(') {
            self.at += 1;
            self.group()?
        } else {
            Particle::Name(self.name()?)
        };
        Some(self.occurrence(base))
    }

    fn group(&mut self) -> Option<Particle> {
        let mut items = vec![self.particle()?];
        let separator = self.peek().filter(|c| *c == b',' || *c == b'|');
        while let Some(sep) = separator {
            if self.peek() != Some(sep) {
                break;
            }
            self.at += 1;
            items.push(self.particle()?);
        }
        if self.peek() != Some(b')') {
            return None;
        }
        self.at += 1;
        Some(match (separator, items.len()) {
            (_, 1) => items.remove(0),
            (Some(b'|'), _) => Particle::Choice(items),
            _ => Particle::Sequence(items),
        })
    }

    fn occurrence(&mut self, base: Particle) -> Particle {
        let wrapped = match self.peek() {
            Some(b'?') => Particle::Optional(Box::new(base)),
            Some(b'*') => Particle::ZeroOrMore(Box::new(base)),
            Some(b'+') => Particle::OneOrMore(Box::new(base)),
            _ => return base,
        };
        self.at += 1;
        wrapped
    }

    fn name(&mut self) -> Option<String> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.' | b'-'))
        {
            self.at += 1;
        }
        let name = std::str::from_utf8(&self.text[start..self.at]).ok()?;
        (!name.is_empty()).then(|| name.to_owned())
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(name: &str, children: &[&str]) -> Element {
        Element {
            name: name.to_owned(),
            children: children
                .iter()
                .map(|child| Element {
                    name: (*child).to_owned(),
                    ..Element::default()
                })
                .collect(),
            ..Element::default()
        }
    }

    #[test]
    fn every_model_in_the_table_parses() {
        for (name, text) in MODELS {
            assert!(Model::parse(text).is_some(), "{name}: {text}");
        }
    }

    #[test]
    fn sequence_with_optional_and_repeats() {
        let model = Model::parse("(A, B?, (C | D)*, E+)").unwrap();
        for (children, expected) in [
            (&["A", "E"][..], true),
            (&["A", "B", "C", "D", "C", "E", "E"][..], true),
            (&["A", "C", "B", "E"][..], false),
            (&["A", "B"][..], false),
            (&["B", "A", "E"][..], false),
        ] {
            assert_eq!(
                model.accepts(&element("X", children)),
                expected,
                "{children:?}"
            );
        }
    }

    #[test]
    fn choice_between_repeated_groups() {
        let model = Model::parse("(H, (O+ | HO+), S)").unwrap();
        assert!(model.accepts(&element("R", &["H", "O", "O", "S"])));
        assert!(!model.accepts(&element("R", &["H", "O", "HO", "S"])));
        assert!(!model.accepts(&element("R", &["H", "S"])));
    }

    #[test]
    fn empty_and_text_models() {
        let empty = Model::parse("EMPTY").unwrap();
        assert!(empty.accepts(&element("E", &[])));
        assert!(!empty.accepts(&element("E", &["X"])));
        let text = Model::parse("(#PCDATA)").unwrap();
        assert!(!text.accepts(&element("T", &["X"])));
        let mixed = Model::parse("(#PCDATA | ShortName)*").unwrap();
        assert!(mixed.accepts(&element("D", &["ShortName", "ShortName"])));
        assert!(!mixed.accepts(&element("D", &["Name"])));
    }

    #[test]
    fn text_inside_element_content_is_a_violation() {
        let mut money_holder = element("SubtotalAmount", &["Money"]);
        money_holder.text = "12.00".to_owned();
        assert!(!models()["SubtotalAmount"].accepts(&money_holder));
    }

    /// Reads a corpus invoice's tree, whatever its prolog.
    fn corpus_invoice(name: &str) -> Element {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/cxml/invoice/"
        );
        let text = std::fs::read_to_string(format!("{path}{name}")).unwrap();
        super::super::tree::parse(&text).unwrap().0
    }

    #[test]
    fn ariba_invoice_with_line_charges_follows_the_dtd() {
        let root =
            corpus_invoice("ariba-invoice-1.2.035-line-shipping-special-handling-distribution.xml");
        assert_eq!(first_violation(&root), None);
    }

    #[test]
    fn kfs_invoice_with_one_shipping_contact_does_not() {
        let root = corpus_invoice("kfs-einvoice-1.2.014-default-namespace-license-comment.xml");
        assert_eq!(
            first_violation(&root).unwrap(),
            "Element InvoiceDetailShipping content does not follow the DTD"
        );
    }

    #[test]
    fn missing_required_attribute_is_named() {
        let mut root = element("cXML", &[]);
        root.attributes = vec![("payloadID".into(), "p".into())];
        assert_eq!(
            attribute_problem(&root).unwrap(),
            "Element cXML does not carry attribute timestamp"
        );
    }
}
