//! Records the store reads and writes. Status enums are stored as their
//! snake_case names.

use chrono::{DateTime, FixedOffset, Utc};
use pobridge_core::{
    AccountId, AccountSettings, AccountSlug, BuyerId, DocumentId, JobId, PoId, PoNumber, RevisionId,
};
pub use pobridge_core::{Connection, ConnectionAuth, ConnectionStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One supplier using pobridge.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub slug: AccountSlug,
    /// Where notices for the account's users go.
    pub email: String,
    pub settings: AccountSettings,
    pub created_at: DateTime<Utc>,
}

/// One cXML credential: domain (compared case-insensitively) and identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRef {
    pub domain: String,
    pub identity: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerMode {
    Test,
    Production,
}

/// A buyer as given to [`crate::Store::create_buyer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuyer {
    /// Short name used in the CLI and the portal; unique within the account.
    pub name: String,
    pub from: CredentialRef,
    pub to: CredentialRef,
    pub sender: CredentialRef,
    /// A salted digest of the shared secret, never the secret itself (the
    /// engine makes it when it creates the buyer). `None` only for a buyer
    /// configured explicitly without a secret; such a buyer is reached
    /// through its `url_token`.
    pub shared_secret: Option<String>,
    pub url_token: Option<String>,
    pub mode: BuyerMode,
    pub invoice_url: Option<String>,
}

/// A Coupa buyer of an account, with the credentials its documents carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    pub id: BuyerId,
    pub account_id: AccountId,
    pub name: String,
    pub from: CredentialRef,
    pub to: CredentialRef,
    pub sender: CredentialRef,
    pub shared_secret: Option<String>,
    pub url_token: Option<String>,
    pub mode: BuyerMode,
    pub invoice_url: Option<String>,
    /// Invoicing settings, owned by the invoicing code; `{}` until set.
    pub invoicing: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// What happened to an inbound document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentOutcome {
    /// A new revision of a purchase order was stored.
    Accepted,
    /// Same buyer, payloadID and body hash as an earlier document.
    Duplicate,
    /// A `deploymentMode="test"` document from a production buyer.
    TestNotSynced,
    /// Stored, but not an order (a ProfileRequest).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// Content-ID without angle brackets, as `cid:` URLs name it.
    pub content_id: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub content_id: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An inbound document as given to [`crate::Store::record_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub buyer: Option<BuyerId>,
    pub payload_id: String,
    /// Hex SHA-256 of the bytes exactly as received, before masking.
    pub body_sha256: String,
    /// The document with shared secrets and card numbers masked.
    pub masked_body: Vec<u8>,
    pub content_type: String,
    /// `OrderRequest`, `ProfileRequest`, ...
    pub request_kind: String,
    pub deployment_test: bool,
    pub outcome: DocumentOutcome,
    pub duplicate_of: Option<DocumentId>,
    pub received_at: DateTime<Utc>,
    pub attachments: Vec<NewAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: DocumentId,
    pub account_id: AccountId,
    pub buyer: Option<BuyerId>,
    pub payload_id: String,
    pub body_sha256: String,
    pub masked_body: Vec<u8>,
    pub content_type: String,
    pub request_kind: String,
    pub deployment_test: bool,
    pub outcome: DocumentOutcome,
    pub duplicate_of: Option<DocumentId>,
    pub received_at: DateTime<Utc>,
    /// When the retention job removed the body and attachments; `masked_body`
    /// is then empty.
    pub body_removed_at: Option<DateTime<Utc>>,
}

/// `OrderRequestHeader@type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    New,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionStatus {
    /// The latest revision, not yet synced.
    Pending,
    /// A later revision exists; this one is never synced.
    Superseded,
    Synced,
    /// An update or delete that arrived after the Brightpearl order existed.
    HeldForReview,
    /// A person marked the held revision as handled.
    Handled,
    /// From a test buyer into a production Brightpearl: checked, not written.
    Validated,
    /// A `deploymentMode="test"` document from a production buyer.
    TestNotSynced,
}

/// A parsed order as JSON text, written once when the revision is built.
///
/// The order endpoint hashes this text, the group commit copies it, and the
/// store binds it. Holding the text instead of a [`serde_json::Value`]
/// saves a deep copy and a second serialization per order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderJson(String);

impl OrderJson {
    /// Serializes `value`. Objects come out with their keys sorted, so
    /// equal values give equal text.
    pub fn new(value: &serde_json::Value) -> Self {
        Self(value.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<serde_json::Value> for OrderJson {
    fn from(value: serde_json::Value) -> Self {
        Self::new(&value)
    }
}

/// A parsed purchase-order revision as given to [`crate::Store::record_document`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRevision {
    pub buyer: BuyerId,
    pub po_number: PoNumber,
    pub order_type: OrderType,
    pub order_version: Option<i64>,
    /// The document's `timestamp` attribute when it could be read.
    pub document_timestamp: Option<DateTime<FixedOffset>>,
    /// Hex SHA-256 of the canonical parsed order, to tell a changed `new`
    /// from a resend.
    pub content_sha256: String,
    /// The parsed order, serialized by the engine.
    pub order: OrderJson,
    pub status: RevisionStatus,
    pub test: bool,
    /// The Coupa items on the order's lines, recorded with the revision.
    pub items: Vec<CoupaItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub id: RevisionId,
    pub po_id: PoId,
    pub document_id: DocumentId,
    pub order_type: OrderType,
    pub order_version: Option<i64>,
    pub document_timestamp: Option<DateTime<FixedOffset>>,
    pub content_sha256: String,
    pub order: serde_json::Value,
    pub status: RevisionStatus,
    /// From a test-mode buyer, or a `deploymentMode="test"` document.
    pub test: bool,
    pub received_at: DateTime<Utc>,
}

/// Result of [`crate::Store::record_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDocument {
    pub document: DocumentId,
    pub po: Option<PoId>,
    pub revision: Option<RevisionId>,
    /// True when the new revision is the latest of its purchase order.
    pub is_latest: bool,
    /// The earlier document this one repeats, when an `Accepted` document
    /// was stored as a [`DocumentOutcome::Duplicate`] instead. Such a
    /// document has no purchase order, revision or job.
    pub duplicate_of: Option<DocumentId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoStatus {
    /// Stored and queued for sync.
    Received,
    Synced,
    AwaitingMapping,
    AwaitingCustomer,
    /// An account setting is missing or no longer valid; changing it
    /// releases the order.
    AwaitingSettings,
    /// A change arrived after the Brightpearl order existed; a person decides.
    HeldForReview,
    /// A transient failure; the job retries.
    Retrying,
    /// Waiting for a person to reconnect Brightpearl.
    Paused,
    Failed,
    /// A test document from a production buyer.
    TestNotSynced,
    /// A test buyer's order checked against a production Brightpearl, not written.
    Validated,
    /// Cancelled by a `delete` before any Brightpearl order existed.
    Cancelled,
    /// The Brightpearl order is shipped; updates and deletes are refused.
    Shipped,
    /// The Brightpearl order is invoiced; updates and deletes are refused.
    Invoiced,
}

impl PoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PoStatus::Received => "received",
            PoStatus::Synced => "synced",
            PoStatus::AwaitingMapping => "awaiting_mapping",
            PoStatus::AwaitingCustomer => "awaiting_customer",
            PoStatus::AwaitingSettings => "awaiting_settings",
            PoStatus::HeldForReview => "held_for_review",
            PoStatus::Retrying => "retrying",
            PoStatus::Paused => "paused",
            PoStatus::Failed => "failed",
            PoStatus::TestNotSynced => "test_not_synced",
            PoStatus::Validated => "validated",
            PoStatus::Cancelled => "cancelled",
            PoStatus::Shipped => "shipped",
            PoStatus::Invoiced => "invoiced",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            PoStatus::Received,
            PoStatus::Synced,
            PoStatus::AwaitingMapping,
            PoStatus::AwaitingCustomer,
            PoStatus::AwaitingSettings,
            PoStatus::HeldForReview,
            PoStatus::Retrying,
            PoStatus::Paused,
            PoStatus::Failed,
            PoStatus::TestNotSynced,
            PoStatus::Validated,
            PoStatus::Cancelled,
            PoStatus::Shipped,
            PoStatus::Invoiced,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

/// A purchase order: one per (buyer, orderID), whatever its revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseOrder {
    pub id: PoId,
    pub account_id: AccountId,
    pub buyer_id: BuyerId,
    pub number: PoNumber,
    pub status: PoStatus,
    pub reason: Option<String>,
    pub brightpearl_order_id: Option<i64>,
    pub latest_revision: RevisionId,
    pub synced_revision: Option<RevisionId>,
    /// The `externalRef` of a create that was sent (or about to be) and whose
    /// outcome may be unknown.
    pub create_attempted_ref: Option<String>,
    /// Number of revisions received.
    pub revision_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Change to a purchase order's status, with the line its timeline gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoStatusUpdate {
    pub status: PoStatus,
    pub reason: Option<String>,
    /// Set once, when the Brightpearl order is known; `None` leaves it unchanged.
    pub brightpearl_order_id: Option<i64>,
    /// `None` leaves it unchanged.
    pub synced_revision: Option<RevisionId>,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoEvent {
    pub at: DateTime<Utc>,
    pub status: PoStatus,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoFilter {
    pub status: Option<PoStatus>,
    pub buyer: Option<BuyerId>,
    /// Substring of the PO number.
    pub search: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A Coupa item as it appears on an order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoupaItem {
    pub part_id: String,
    pub auxiliary_id: Option<String>,
    pub buyer_part_id: Option<String>,
    pub manufacturer_part_id: Option<String>,
    pub unit_of_measure: String,
    pub description: String,
}

/// A Coupa item as listed, keyed by (buyer, part id, unit of measure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoupaItemRow {
    pub buyer_id: BuyerId,
    pub item: CoupaItem,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    pub buyer: Option<BuyerId>,
    /// Substring of the part id or description, case-insensitive.
    pub search: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A manual mapping from a Coupa part to a Brightpearl product. A mapping
/// without a buyer applies account-wide; one without a unit applies to every unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMapping {
    pub buyer: Option<BuyerId>,
    pub coupa_part_id: String,
    pub unit_of_measure: Option<String>,
    pub product_id: i64,
    /// Brightpearl quantity per Coupa unit (1 unless the units differ).
    pub quantity_factor: Decimal,
}

/// A manual item mapping with the SKU of the product it names, which is
/// `None` when the product has no SKU or is not in the local index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMappingRow {
    pub mapping: ItemMapping,
    pub sku: Option<String>,
}

/// How a Coupa item reaches a Brightpearl product, as the sync decides it
/// from the local product index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingStatus {
    /// A manual item mapping applies.
    MappedByHand,
    /// No manual mapping applies, and exactly one product's chosen
    /// identifier equals the item's.
    MappedByUniqueId,
    /// Orders with the item wait for a mapping.
    Unmapped,
}

impl MappingStatus {
    pub const ALL: [MappingStatus; 3] = [
        MappingStatus::MappedByHand,
        MappingStatus::MappedByUniqueId,
        MappingStatus::Unmapped,
    ];
}

/// Which items [`crate::Store::item_page`] returns, ordered by part id,
/// then buyer and unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemPageQuery {
    /// Only items with this status; `None` for every status.
    pub status: Option<MappingStatus>,
    pub buyer: Option<BuyerId>,
    /// Substring of the part id or description, case-insensitive (Unicode
    /// lower-casing, as [`ItemFilter::search`]).
    pub search: Option<String>,
    /// Items per page; `None` returns every item from `offset` on.
    pub limit: Option<i64>,
    /// Items skipped before the page; negative counts as 0.
    pub offset: i64,
}

/// Why an item is unmapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnmappedReason {
    /// The part has manual mappings, but none for this buyer and unit.
    OtherMappingsOnly,
    /// The item has no value in the account's chosen Coupa identifier.
    NoIdentifier,
    /// No product's chosen identifier equals `value`.
    NoProduct { value: String },
    /// `count` products (two or more) have `value`.
    SeveralProducts { value: String, count: i64 },
}

/// An item's mapping status, with the product it maps to: `sku` and `name`
/// come from the local index and are `None` when a manual mapping names a
/// product that is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemMatch {
    MappedByHand {
        product_id: i64,
        sku: Option<String>,
        name: Option<String>,
    },
    MappedByUniqueId {
        product_id: i64,
        sku: Option<String>,
        name: Option<String>,
    },
    Unmapped(UnmappedReason),
}

impl ItemMatch {
    pub fn status(&self) -> MappingStatus {
        match self {
            ItemMatch::MappedByHand { .. } => MappingStatus::MappedByHand,
            ItemMatch::MappedByUniqueId { .. } => MappingStatus::MappedByUniqueId,
            ItemMatch::Unmapped(_) => MappingStatus::Unmapped,
        }
    }
}

/// One item of an [`ItemPage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPageEntry {
    pub item: CoupaItemRow,
    pub matched: ItemMatch,
}

/// Item counts per mapping status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MappingStatusCounts {
    pub mapped_by_hand: i64,
    pub mapped_by_unique_id: i64,
    pub unmapped: i64,
}

impl MappingStatusCounts {
    /// Returns the count of one status, or of all of them for `None`.
    pub fn get(&self, status: Option<MappingStatus>) -> i64 {
        match status {
            Some(MappingStatus::MappedByHand) => self.mapped_by_hand,
            Some(MappingStatus::MappedByUniqueId) => self.mapped_by_unique_id,
            Some(MappingStatus::Unmapped) => self.unmapped,
            None => self.mapped_by_hand + self.mapped_by_unique_id + self.unmapped,
        }
    }

    pub(crate) fn add(&mut self, status: MappingStatus, count: i64) {
        match status {
            MappingStatus::MappedByHand => self.mapped_by_hand += count,
            MappingStatus::MappedByUniqueId => self.mapped_by_unique_id += count,
            MappingStatus::Unmapped => self.unmapped += count,
        }
    }
}

/// One page of items from [`crate::Store::item_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPage {
    pub entries: Vec<ItemPageEntry>,
    /// Items that match every filter of the query, on all pages.
    pub total: i64,
    /// Items per status that match the buyer and search filters, whatever
    /// the status filter, for tab badges.
    pub counts: MappingStatusCounts,
}

/// The stored columns an item's [`ItemMatch`] is read from; both stores
/// select them under these names.
pub(crate) struct ItemMatchColumns {
    pub mapping_status: MappingStatus,
    pub match_value: Option<String>,
    pub match_count: i64,
    pub part_mapped: bool,
    pub product_id: Option<i64>,
    pub sku: Option<String>,
    pub name: Option<String>,
}

impl ItemMatchColumns {
    /// Builds the match, or fails with `Corrupt` when the columns
    /// contradict the status (a stored status the triggers did not write).
    pub(crate) fn into_match(self) -> crate::StoreResult<ItemMatch> {
        let missing_product = || {
            crate::codec::corrupt(
                "coupa item",
                format!("{:?} without a product id", self.mapping_status),
            )
        };
        let matched = match self.mapping_status {
            MappingStatus::MappedByHand => ItemMatch::MappedByHand {
                product_id: self.product_id.ok_or_else(missing_product)?,
                sku: self.sku,
                name: self.name,
            },
            MappingStatus::MappedByUniqueId => ItemMatch::MappedByUniqueId {
                product_id: self.product_id.ok_or_else(missing_product)?,
                sku: self.sku,
                name: self.name,
            },
            MappingStatus::Unmapped => ItemMatch::Unmapped(self.unmapped_reason()?),
        };
        Ok(matched)
    }

    fn unmapped_reason(&self) -> crate::StoreResult<UnmappedReason> {
        if self.part_mapped {
            return Ok(UnmappedReason::OtherMappingsOnly);
        }
        let Some(value) = self.match_value.clone() else {
            return Ok(UnmappedReason::NoIdentifier);
        };
        match self.match_count {
            0 => Ok(UnmappedReason::NoProduct { value }),
            count if count > 1 => Ok(UnmappedReason::SeveralProducts { value, count }),
            count => Err(crate::codec::corrupt(
                "coupa item",
                format!("unmapped although {count} product matches {value:?}"),
            )),
        }
    }
}

/// Maps a buyer, or one of its BillTo addresses, to a Brightpearl contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMapping {
    pub buyer: BuyerId,
    /// `None` maps the whole buyer.
    pub bill_to_address_id: Option<String>,
    pub contact_id: i64,
}

/// A product of the local product index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub product_id: i64,
    pub name: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub ean: Option<String>,
    pub upc: Option<String>,
    pub mpn: Option<String>,
    pub isbn: Option<String>,
    pub stock_tracked: bool,
    /// Tax code string, such as `T20`.
    pub tax_code: Option<String>,
    pub updated_on: Option<DateTime<Utc>>,
}

/// A Brightpearl contact known locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub contact_id: i64,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_customer: bool,
}

/// Kinds of Brightpearl reference data kept per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    Channels,
    Warehouses,
    PriceLists,
    OrderStatuses,
    TaxCodes,
    NominalCodes,
    OrderCustomFields,
    ShippingMethods,
    /// Cursor of the product index refresh (createdOn/updatedOn windows).
    ProductSyncCursor,
}

impl ReferenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::Channels => "channels",
            ReferenceKind::Warehouses => "warehouses",
            ReferenceKind::PriceLists => "price_lists",
            ReferenceKind::OrderStatuses => "order_statuses",
            ReferenceKind::TaxCodes => "tax_codes",
            ReferenceKind::NominalCodes => "nominal_codes",
            ReferenceKind::OrderCustomFields => "order_custom_fields",
            ReferenceKind::ShippingMethods => "shipping_methods",
            ReferenceKind::ProductSyncCursor => "product_sync_cursor",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceData {
    pub kind: ReferenceKind,
    pub data: serde_json::Value,
    pub fetched_at: DateTime<Utc>,
}

/// A job as given to [`crate::Store::enqueue_job`]. While an unfinished job
/// with the same account and `key` exists, enqueueing makes that job due at
/// `run_at` (if sooner) instead of adding a second one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub account: AccountId,
    /// `sync_order`, `refresh_reference`, ...
    pub kind: String,
    /// De-duplication key, such as `sync_order:42`.
    pub key: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    /// Waiting on a person (mapping, customer, reconnection).
    Waiting,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub account: AccountId,
    pub kind: String,
    pub key: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    /// Attempts that counted; throttled or disconnected attempts do not.
    pub attempts: i32,
    pub run_at: DateTime<Utc>,
    pub claimed_by: Option<String>,
    pub claim_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// When the current run of transient failures began.
    pub first_failure_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Run again at `run_at`. `counts` is false for throttling and
    /// disconnection, which must not use up attempts.
    Retry {
        run_at: DateTime<Utc>,
        error: String,
        counts: bool,
    },
    /// Park until [`crate::Store::release_waiting_jobs`].
    Wait {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// Record counts across every account, read for the metrics endpoint. Keys
/// are statuses as stored (`queued`, `sent`, ...). A status with no records
/// is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Unfinished jobs by status: `queued`, `running` and `waiting` only.
    pub jobs: std::collections::BTreeMap<String, i64>,
    /// The `run_at` of the earliest queued job that is due, if any is.
    pub oldest_due_job: Option<DateTime<Utc>>,
    pub purchase_orders: std::collections::BTreeMap<String, i64>,
    pub invoices: std::collections::BTreeMap<String, i64>,
}

/// An account's order and invoice activity in a time range, read for the
/// dashboard. Times are UTC, so the engine can group them by the account's
/// local day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardActivity {
    /// The creation time of each purchase order created in the range, which
    /// is when its first document arrived.
    pub orders_received: Vec<DateTime<Utc>>,
    /// The time of each purchase order's first `synced` event, when its
    /// Brightpearl sales order was created, for orders whose first such
    /// event is in the range.
    pub orders_synced: Vec<DateTime<Utc>>,
    /// Each change of an order's status to `failed` in the range, oldest
    /// first. An event that repeats `failed` is not a change.
    pub order_failures: Vec<OrderFailure>,
    /// The time Coupa accepted each invoice or credit (`sent_at`) in the
    /// range, whatever its status now.
    pub invoices_sent: Vec<DateTime<Utc>>,
    /// The invoices and credits now `failed` or `needs_attention` whose last
    /// change is in the range, oldest first.
    pub invoice_failures: Vec<InvoiceFailure>,
}

/// A purchase order's change to `failed`, with the event's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFailure {
    pub po: PoId,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// An invoice or credit that failed or needs attention, at its last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFailure {
    pub invoice: crate::InvoiceId,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A purchase order whose status is one that waits for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingOrder {
    pub po: PoId,
    pub buyer: BuyerId,
    pub number: PoNumber,
    pub status: PoStatus,
    pub reason: Option<String>,
    /// When the order entered its current status: the first event of the
    /// latest run of events with that status, or its last update when it
    /// has no such event.
    pub since: DateTime<Utc>,
}
