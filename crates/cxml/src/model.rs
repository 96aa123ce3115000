//! The parsed form of an inbound cXML document.
//!
//! Values that a supplier must echo back unchanged (part ids, unit of
//! measure, `addressID`, descriptions) are stored raw, exactly as received
//! after XML decoding. Trim them only to compare, never to store or echo.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The text written in place of a secret by `Debug`, by serialization and by
/// [`crate::mask_secrets`].
pub const REDACTED: &str = "********";

/// A secret value, such as a `SharedSecret`, that `Debug` and serialization
/// never show.
///
/// Serialization writes [`REDACTED`] so a stored document records that a
/// secret was present without storing it. Deserializing such a document
/// therefore yields `Secret("********")`, not the original value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself, for comparison with the configured value.
    /// Compare in constant time (for example with `subtle`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// A whole cXML document: the `cXML` root's attributes, its `Header` and
/// what it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// `payloadID`, the sender's unique id for this document; the
    /// idempotency key for inbound orders.
    pub payload_id: String,
    /// `timestamp` as received.
    pub timestamp_raw: String,
    /// `timestamp` parsed by [`crate::parse_timestamp`], or `None` when it
    /// is not a readable date.
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// `version`, when the root carries it.
    pub version: Option<String>,
    /// `xml:lang` of the root.
    pub lang: Option<String>,
    /// `None` for a document without `Header` (responses).
    pub header: Option<Header>,
    pub body: Body,
}

/// `Header`: who sent the document, to whom, and the sender's credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub from: Vec<Credential>,
    pub to: Vec<Credential>,
    /// `Sender/Credential`, which carries the `SharedSecret` to authenticate.
    pub sender: Vec<Credential>,
    /// `Sender/UserAgent`, such as `Coupa Procurement 1.0`.
    pub user_agent: Option<String>,
}

/// `Credential`: one party identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// `domain`, such as `NetworkID` or `DUNS`. Compare it case-insensitively.
    pub domain: String,
    /// `Identity` text, raw. Compare it exactly after trimming.
    pub identity: String,
    /// `SharedSecret` text, raw.
    pub shared_secret: Option<Secret>,
    /// `type`, such as `marketplace`.
    pub credential_type: Option<String>,
}

impl Credential {
    /// Returns true when `domain` and `identity` match this credential: the
    /// domain case-insensitively, the identity exactly, both trimmed.
    pub fn matches(&self, domain: &str, identity: &str) -> bool {
        self.domain.trim().eq_ignore_ascii_case(domain.trim())
            && self.identity.trim() == identity.trim()
    }
}

/// The content of the document: one request, a message or a response.
// One Body exists per document read, so the size of the order variant costs
// nothing worth a Box in every caller's pattern.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// `Request/OrderRequest`. `deployment_test` is true for
    /// `deploymentMode="test"`.
    OrderRequest {
        deployment_test: bool,
        order: OrderRequest,
    },
    /// `Request/ProfileRequest`.
    ProfileRequest { deployment_test: bool },
    /// Any other request, named by its element, such as
    /// `PunchOutSetupRequest`.
    OtherRequest { name: String, deployment_test: bool },
    /// `Response/Status`. `text` is the `text` attribute.
    Response { code: u16, text: String },
    /// `Message`, named by its child element, such as
    /// `PunchOutOrderMessage`.
    Message { name: String },
}

/// `OrderRequest`: a purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub header: OrderHeader,
    /// The `ItemOut` lines in document order.
    pub items: Vec<ItemOut>,
    /// Deviations that did not stop the reading, such as children out of
    /// DTD order, for logging.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The `type` attribute of `OrderRequestHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    /// `new`, also the default when `type` is absent.
    New,
    /// `update`: the whole order again, replacing the earlier version.
    Update,
    /// `delete`: the buyer cancels the order.
    Delete,
}

impl OrderKind {
    /// Returns the attribute value as cXML writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::New => "new",
            OrderKind::Update => "update",
            OrderKind::Delete => "delete",
        }
    }
}

/// `OrderRequestHeader`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderHeader {
    /// `orderID`, the buyer's PO number, raw. Never empty after trimming.
    pub order_id: String,
    /// `orderDate` as received.
    pub order_date_raw: String,
    /// `orderDate` parsed by [`crate::parse_timestamp`].
    pub order_date: Option<DateTime<FixedOffset>>,
    /// The `type` attribute (not `orderType`, which is release/regular).
    pub order_type: OrderKind,
    /// `orderVersion`, when present.
    pub order_version: Option<i64>,
    /// `Total/Money`.
    pub total: Option<Money>,
    pub ship_to: Option<Address>,
    pub bill_to: Option<Address>,
    /// Header-level `Shipping`.
    pub shipping: Option<Charge>,
    /// Header-level `Tax`.
    pub tax: Option<Tax>,
    /// `Payment/PCard`, with the card number already masked.
    pub payment: Option<PCard>,
    pub contacts: Vec<Contact>,
    /// `Comments`, of which later DTDs allow several.
    pub comments: Vec<Comments>,
    /// `DocumentReference@payloadID`: the earlier OrderRequest that an
    /// update or delete replaces.
    pub document_reference: Option<String>,
    /// Header `Extrinsic` elements in document order.
    pub extrinsics: Vec<Extrinsic>,
    /// `requestedDeliveryDate` (cXML 1.2.069 and later) as received.
    pub requested_delivery_date_raw: Option<String>,
    /// `requestedDeliveryDate` parsed by [`crate::parse_timestamp`].
    pub requested_delivery_date: Option<DateTime<FixedOffset>>,
}

/// `ItemOut`: one order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemOut {
    /// `lineNumber`, the buyer's line number that invoices must quote.
    pub line_number: Option<u32>,
    /// 1-based position of this `ItemOut` in the document, for orders
    /// without `lineNumber`.
    pub position: u32,
    /// `quantity`.
    pub quantity: Decimal,
    /// `requestedDeliveryDate` (the need-by date) as received.
    pub requested_delivery_date_raw: Option<String>,
    /// `requestedDeliveryDate` parsed by [`crate::parse_timestamp`].
    pub requested_delivery_date: Option<DateTime<FixedOffset>>,
    pub item_id: ItemId,
    pub detail: Option<ItemDetail>,
    pub ship_to: Option<Address>,
    pub shipping: Option<Charge>,
    pub tax: Option<Tax>,
    pub distributions: Vec<Distribution>,
    pub contacts: Vec<Contact>,
    pub comments: Vec<Comments>,
    /// `Extrinsic` elements directly under `ItemOut` (later DTDs).
    pub extrinsics: Vec<Extrinsic>,
}

impl ItemOut {
    /// Returns the buyer's line number, or the position when the line has
    /// none.
    pub fn line_label(&self) -> u32 {
        self.line_number.unwrap_or(self.position)
    }
}

/// `ItemID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemId {
    /// `SupplierPartID`, raw. It may be empty or arbitrary on free-text lines.
    pub supplier_part_id: String,
    /// `SupplierPartAuxiliaryID`, raw: an opaque value to echo back unchanged.
    pub supplier_part_auxiliary_id: Option<String>,
    /// `BuyerPartID`, raw.
    pub buyer_part_id: Option<String>,
}

/// `ItemDetail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDetail {
    pub unit_price: Money,
    pub descriptions: Vec<Description>,
    /// `UnitOfMeasure`, raw, because invoices must echo it unchanged.
    pub unit_of_measure: String,
    pub classifications: Vec<Classification>,
    pub manufacturer_part_id: Option<String>,
    pub manufacturer_name: Option<String>,
    pub url: Option<String>,
    /// `ItemDetail/Extrinsic`, such as Coupa's `LineType`.
    pub extrinsics: Vec<Extrinsic>,
}

/// `Description`: mixed text with an optional `ShortName` child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The text outside `ShortName`, raw (whitespace kept).
    pub text: String,
    /// `ShortName` text, raw.
    pub short_name: Option<String>,
}

/// `Classification`, such as a UNSPSC code (or the literal `unknown`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub domain: String,
    pub value: String,
}

/// `Distribution`: one accounting split of a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// `Accounting@name`.
    pub accounting_name: String,
    pub segments: Vec<Segment>,
    /// `Charge/Money`: the amount booked to this split.
    pub charge: Money,
}

/// `Segment` (or `AccountingSegment`) of an accounting split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub segment_type: String,
    pub id: String,
    pub description: String,
}

/// `Money`: an amount in a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217 code: three upper-case ASCII letters, checked on reading.
    pub currency: String,
}

/// `Address`, as in `ShipTo` and `BillTo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// `addressID`, raw and untrimmed because a real Coupa sample has a
    /// trailing tab. Echo it unchanged and trim it only to compare.
    pub address_id: Option<String>,
    /// `isoCountryCode` of `Address`.
    pub iso_country_code: Option<String>,
    /// `Name` text, required by the DTD. It is empty when a sender leaves it
    /// out.
    pub name: String,
    pub postal_address: Option<PostalAddress>,
    /// `Email` text.
    pub email: Option<String>,
    /// `Phone/TelephoneNumber` rendered as `+<CountryCode> <AreaOrCityCode>
    /// <Number> x<Extension>` without the empty parts, such as
    /// `+1 800 5551212`.
    pub phone: Option<String>,
    /// `Fax`, rendered like `phone`.
    pub fax: Option<String>,
    /// `URL` text.
    pub url: Option<String>,
}

/// `PostalAddress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// `name` attribute, such as `default`.
    pub name: Option<String>,
    /// `DeliverTo` lines (attention lines).
    pub deliver_to: Vec<String>,
    /// `Street` lines, raw. Some senders send empty or whitespace-only ones.
    pub streets: Vec<String>,
    /// `City` text, required by the DTD. It is empty when a sender leaves it
    /// out.
    pub city: String,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// `Country@isoCountryCode`.
    pub country_code: Option<String>,
    /// `Country` text.
    pub country_name: Option<String>,
    /// `PostalAddress/Extrinsic` (later DTDs).
    pub extrinsics: Vec<Extrinsic>,
}

/// `Shipping`: a charge with its description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub money: Money,
    /// `Description` text, raw. Coupa sends an empty element.
    pub description: Option<String>,
}

/// `Tax`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tax {
    pub money: Money,
    pub description: Option<String>,
    pub details: Vec<TaxDetail>,
}

/// `TaxDetail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxDetail {
    /// `category`, such as `sales` or `VAT`.
    pub category: String,
    /// `percentageRate`.
    pub percentage_rate: Option<Decimal>,
    pub taxable_amount: Option<Money>,
    pub tax_amount: Option<Money>,
    pub description: Option<String>,
}

/// `Payment/PCard`. The full card number never enters this model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PCard {
    /// `number` masked to its last four digits: `************1111`.
    pub number: String,
    /// `expiration`, secret.
    pub expiration: Secret,
    /// `name`, the card holder.
    pub name: Option<String>,
}

/// `Contact`, such as the requester (`role="endUser"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub role: Option<String>,
    /// `addressID`, raw.
    pub address_id: Option<String>,
    /// `Name` text.
    pub name: Option<String>,
    pub emails: Vec<String>,
    /// Each `Phone` rendered as text, like [`Address::phone`].
    pub phones: Vec<String>,
}

/// `Comments`: mixed text and `Attachment` elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comments {
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The text outside `Attachment`, raw.
    pub text: String,
    /// `Attachment/URL` values, such as `cid:spec.pdf`.
    pub attachment_urls: Vec<String>,
}

/// `Extrinsic`: a named value whose content may be text or elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extrinsic {
    /// `name`, such as `legacy_po` or `LineType`.
    pub name: String,
    /// All text content, including text inside child elements, raw.
    pub text: String,
    /// The inner XML exactly as received (after decoding to UTF-8), so
    /// element content survives.
    pub raw_xml: String,
}
