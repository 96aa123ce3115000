//! Durable state of pobridge: accounts, buyers, received documents, purchase
//! orders and their revisions, mappings, Brightpearl reference data, the
//! invoices sent back to Coupa and the job queue.
//!
//! [`Store`] is the only way other crates reach the database. Every call that
//! reads or writes tenant data takes the [`AccountId`] first, and a record of
//! another account is reported as [`StoreError::NotFound`], never as
//! forbidden. Implementations: [`sqlite::SqliteStore`] and
//! [`postgres::PostgresStore`]; the shared behaviour suite in `tests/` runs
//! against each.

mod codec;
pub mod customers_page;
pub mod group_commit;
pub mod identities;
pub mod invoicing;
mod job_finish;
mod known_items;
pub mod model;
pub mod portal;
pub mod postgres;
pub mod retention;
pub mod revision_order;
pub mod secrets;
pub mod send_slots;
pub mod sqlite;
#[cfg(feature = "test-database")]
pub mod test_database;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pobridge_core::{
    AccountId, AccountSlug, BuyerId, DocumentId, JobId, PoId, PoNumber, RevisionId,
};
use rust_decimal::Decimal;

pub use customers_page::*;
pub use identities::IDENTITY_TTL;
pub use invoicing::*;
pub use known_items::KNOWN_ITEMS_TTL;
pub use model::*;
pub use portal::*;
pub use retention::{RemovedBodies, FINAL_INVOICE_STATUS, FINAL_PO_STATUSES};
pub use secrets::{
    SecretBox, SecretKeyError, INVOICING_SEALED_SECRET, INVOICING_SECRET_UNREADABLE,
};
pub use send_slots::SendSlot;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or belongs to another account.
    #[error("{entity} not found: {key}")]
    NotFound { entity: &'static str, key: String },
    /// A unique key already exists, or other records still refer to the
    /// record to delete. `reason` says which, such as "already exists".
    #[error("{entity} {key} {reason}")]
    Conflict {
        entity: &'static str,
        key: String,
        reason: &'static str,
    },
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("stored {entity} is corrupt: {detail}")]
    Corrupt {
        entity: &'static str,
        detail: String,
    },
    /// A stored secret is sealed and cannot be opened with the configured
    /// key. `reason` states whether the key is missing or wrong.
    #[error(
        "stored {entity} contains an encrypted secret, but {reason}: set secrets_key \
         (or POBRIDGE_SECRETS_KEY) to the key it was written with"
    )]
    SecretKey {
        entity: &'static str,
        reason: &'static str,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The transaction that was storing this document together with others
    /// failed, so none of them was stored. `detail` is its cause.
    #[error("the transaction storing this document with others failed: {detail}")]
    GroupFailed { detail: String },
    /// The store had no room for this write in time, and wrote nothing.
    /// Trying again later may succeed. `detail` names what it waited for.
    #[error("the store is busy: {detail}")]
    Busy { detail: String },
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How far a Coupa item's `last_seen` may lag behind the latest order that
/// names it unchanged. Moving it on every order would write the same row for
/// each order of a busy buyer; see the PostgreSQL `upsert_coupa_items`.
pub const LAST_SEEN_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// How many products [`Store::upsert_products`] writes in one transaction.
/// Until a product write commits, it holds the account's item-match lock
/// on PostgreSQL and the only writer on SQLite, and orders that bring new
/// items wait for them. A full refresh of 50,000 products in one
/// transaction held them back for 9 s on PostgreSQL and 3 s on SQLite, in
/// the item page benchmark's seeding. A transaction of this size takes
/// tens of milliseconds.
pub const PRODUCTS_PER_TRANSACTION: usize = 250;

/// Opens the store named by a database URL and runs pending migrations:
/// `sqlite://PATH` or `sqlite:PATH` (created when missing) or
/// `sqlite::memory:` for SQLite, `postgres://` or `postgresql://` for an
/// existing PostgreSQL database.
///
/// Any other scheme fails with [`StoreError::Database`] wrapping an
/// `sqlx::Error::Configuration` that names the scheme.
///
/// Secrets are stored unencrypted; [`open_with_secrets`] encrypts them.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    open_with_secrets(url, SecretBox::without_key()).await
}

/// Opens the store like [`open`], sealing the Brightpearl tokens and the
/// invoicing shared secrets it writes with `secrets` (see [`secrets`]).
pub async fn open_with_secrets(url: &str, secrets: SecretBox) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::open(url).await?;
        return Ok(Arc::new(store.with_secrets(secrets)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open(url).await?;
        return Ok(Arc::new(store.with_secrets(secrets)));
    }
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    let message = format!(
        "unsupported database URL scheme {scheme:?}: expected sqlite://PATH or postgres://HOST/DATABASE"
    );
    Err(StoreError::Database(sqlx::Error::Configuration(
        message.into(),
    )))
}

/// Everything pobridge keeps. See the module documentation for the tenant rule.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- accounts -------------------------------------------------------
    async fn create_account(
        &self,
        slug: &AccountSlug,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Account>;
    async fn account_by_slug(&self, slug: &AccountSlug) -> StoreResult<Account>;
    async fn account(&self, id: AccountId) -> StoreResult<Account>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;
    async fn save_settings(
        &self,
        account: AccountId,
        settings: &pobridge_core::AccountSettings,
    ) -> StoreResult<()>;

    // ---- Brightpearl connection ----------------------------------------
    async fn save_connection(&self, account: AccountId, connection: &Connection)
        -> StoreResult<()>;
    /// Returns `None` when the account has never been connected.
    async fn connection(&self, account: AccountId) -> StoreResult<Option<Connection>>;

    // ---- buyers ----------------------------------------------------------
    async fn create_buyer(
        &self,
        account: AccountId,
        buyer: &NewBuyer,
        now: DateTime<Utc>,
    ) -> StoreResult<Buyer>;
    async fn update_buyer(&self, account: AccountId, buyer: &Buyer) -> StoreResult<()>;
    async fn buyer(&self, account: AccountId, id: BuyerId) -> StoreResult<Buyer>;
    async fn buyer_by_name(&self, account: AccountId, name: &str) -> StoreResult<Buyer>;
    async fn list_buyers(&self, account: AccountId) -> StoreResult<Vec<Buyer>>;
    /// Returns the account with `slug` and its buyers ordered by name, as
    /// [`Self::account_by_slug`] and [`Self::list_buyers`] do. The order
    /// endpoint calls it for every document, so a backend may read both in
    /// one statement.
    async fn account_with_buyers(&self, slug: &AccountSlug) -> StoreResult<(Account, Vec<Buyer>)> {
        let account = self.account_by_slug(slug).await?;
        let buyers = self.list_buyers(account.id).await?;
        Ok((account, buyers))
    }
    /// Returns what [`Self::account_with_buyers`] returns, possibly from a
    /// copy read up to [`IDENTITY_TTL`] ago (see [`identities`]). Changes
    /// made through this store show at once, and changes made by another
    /// process within that time. The order endpoint calls it for every
    /// document.
    async fn recent_account_with_buyers(
        &self,
        slug: &AccountSlug,
    ) -> StoreResult<(Account, Vec<Buyer>)> {
        self.account_with_buyers(slug).await
    }
    /// Deletes the buyer in one transaction together with what only it
    /// refers to: its stored documents and their attachments, its Coupa
    /// items, its item mappings and its customer mappings. Fails with
    /// `Conflict`, deleting nothing, while the buyer has purchase orders.
    async fn delete_buyer(&self, account: AccountId, buyer: BuyerId) -> StoreResult<()>;
    /// Finds the buyer whose per-buyer URL token equals `token` (constant-time
    /// comparison is the caller's job; this is an indexed lookup).
    async fn buyer_by_url_token(&self, account: AccountId, token: &str) -> StoreResult<Buyer>;

    // ---- inbound documents and purchase orders ---------------------------
    /// Finds an earlier document with the same buyer, payloadID and body hash.
    async fn find_duplicate_document(
        &self,
        account: AccountId,
        buyer: BuyerId,
        payload_id: &str,
        body_sha256: &str,
    ) -> StoreResult<Option<DocumentId>>;
    /// Stores a document, its attachments and (when present) the parsed
    /// revision in one transaction, creating the purchase order on first
    /// sight, marking older revisions superseded and queueing `job` when given.
    /// Nothing is stored if any part fails.
    ///
    /// An `Accepted` document with the same buyer, payloadID and body hash
    /// as an earlier one is stored as a `Duplicate` of the earliest such
    /// document, without its revision or job, and
    /// [`RecordedDocument::duplicate_of`] names that document. The check runs
    /// in the write transaction, so of identical documents recorded at the
    /// same time exactly one is accepted.
    async fn record_document(
        &self,
        account: AccountId,
        document: &NewDocument,
        revision: Option<&NewRevision>,
        job: Option<&NewJob>,
    ) -> StoreResult<RecordedDocument>;
    async fn document(&self, account: AccountId, id: DocumentId) -> StoreResult<Document>;
    async fn attachments(
        &self,
        account: AccountId,
        document: DocumentId,
    ) -> StoreResult<Vec<Attachment>>;

    async fn purchase_order(&self, account: AccountId, id: PoId) -> StoreResult<PurchaseOrder>;
    async fn purchase_order_by_number(
        &self,
        account: AccountId,
        buyer: BuyerId,
        number: &PoNumber,
    ) -> StoreResult<Option<PurchaseOrder>>;
    async fn list_purchase_orders(
        &self,
        account: AccountId,
        filter: &PoFilter,
    ) -> StoreResult<Vec<PurchaseOrder>>;
    async fn revisions(&self, account: AccountId, po: PoId) -> StoreResult<Vec<Revision>>;
    async fn revision(&self, account: AccountId, id: RevisionId) -> StoreResult<Revision>;
    /// Sets the order's status and reason and appends an event to its timeline.
    async fn set_po_status(
        &self,
        account: AccountId,
        po: PoId,
        update: &PoStatusUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records that a Brightpearl create was attempted for this order, before
    /// the request is sent, so a later attempt knows to search first.
    async fn mark_create_attempted(
        &self,
        account: AccountId,
        po: PoId,
        external_ref: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn events(&self, account: AccountId, po: PoId) -> StoreResult<Vec<PoEvent>>;
    async fn set_revision_status(
        &self,
        account: AccountId,
        revision: RevisionId,
        status: RevisionStatus,
    ) -> StoreResult<()>;

    // ---- retention ----------------------------------------------------------
    /// Removes the bodies of at most `limit` of the account's received
    /// documents and at most `limit` of its sent invoices' documents, the
    /// oldest first, marking each removed at `now`. A received document
    /// qualifies when it arrived before `before` and every purchase order
    /// it is a revision of is in one of [`FINAL_PO_STATUSES`]; its
    /// attachments' bytes go with it. An invoice qualifies when it is
    /// [`FINAL_INVOICE_STATUS`] and was sent (or, without a send time, last
    /// changed) before `before`. Rows and metadata stay.
    async fn remove_document_bodies(
        &self,
        account: AccountId,
        before: DateTime<Utc>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<RemovedBodies>;

    // ---- items, mappings, reference data ----------------------------------
    /// Inserts or refreshes the Coupa items seen on an order.
    async fn record_coupa_items(
        &self,
        account: AccountId,
        buyer: BuyerId,
        items: &[CoupaItem],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn list_coupa_items(
        &self,
        account: AccountId,
        filter: &ItemFilter,
    ) -> StoreResult<Vec<CoupaItemRow>>;
    async fn upsert_item_mapping(
        &self,
        account: AccountId,
        mapping: &ItemMapping,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn item_mappings(
        &self,
        account: AccountId,
        part_id: &str,
    ) -> StoreResult<Vec<ItemMapping>>;
    /// Inserts or replaces several mappings in one transaction, as
    /// [`Store::upsert_item_mapping`] does each: all of them or none.
    async fn upsert_item_mappings(
        &self,
        account: AccountId,
        mappings: &[ItemMapping],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Lists every manual mapping of the account by part id, then
    /// account-wide before buyer-specific and any unit before one unit.
    async fn list_item_mappings(&self, account: AccountId) -> StoreResult<Vec<ItemMappingRow>>;
    /// Lists a page of the account's Coupa items with each one's mapping
    /// status, and counts the items that match the query.
    ///
    /// The status follows the sync's matching rules against the local
    /// product index and the account's stored `coupa_id_field` and
    /// `brightpearl_id_field`. The store keeps it current as items,
    /// mappings, products and settings change, so filtering and counting by
    /// status read an index.
    async fn item_page(&self, account: AccountId, query: &ItemPageQuery) -> StoreResult<ItemPage>;
    /// Returns the account's item with exactly this buyer, part id and unit,
    /// as [`Store::item_page`] lists it, or `None`.
    async fn item_page_entry(
        &self,
        account: AccountId,
        buyer: BuyerId,
        part_id: &str,
        unit_of_measure: &str,
    ) -> StoreResult<Option<ItemPageEntry>>;
    async fn upsert_customer_mapping(
        &self,
        account: AccountId,
        mapping: &CustomerMapping,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn customer_mappings(
        &self,
        account: AccountId,
        buyer: BuyerId,
    ) -> StoreResult<Vec<CustomerMapping>>;

    /// Inserts or replaces products of the local product index, in product
    /// id order, [`PRODUCTS_PER_TRANSACTION`] to a transaction. When one
    /// transaction fails, those before it stay committed; writing the same
    /// products again changes nothing more.
    async fn upsert_products(&self, account: AccountId, products: &[Product]) -> StoreResult<()>;
    /// Products whose identifier `field` equals `value` exactly.
    async fn products_by_identifier(
        &self,
        account: AccountId,
        field: pobridge_core::BrightpearlIdField,
        value: &str,
    ) -> StoreResult<Vec<Product>>;
    async fn product(&self, account: AccountId, product_id: i64) -> StoreResult<Option<Product>>;
    async fn list_products(
        &self,
        account: AccountId,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Product>>;
    async fn upsert_contacts(&self, account: AccountId, contacts: &[Contact]) -> StoreResult<()>;
    async fn list_contacts(&self, account: AccountId) -> StoreResult<Vec<Contact>>;
    /// Replaces one kind of reference data (channels, warehouses, ...) with `data`.
    async fn save_reference_data(
        &self,
        account: AccountId,
        kind: ReferenceKind,
        data: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn reference_data(
        &self,
        account: AccountId,
        kind: ReferenceKind,
    ) -> StoreResult<Option<ReferenceData>>;

    // ---- invoicing -----------------------------------------------------------
    /// Inserts the tracked order, or replaces every field of the one with the
    /// same Brightpearl order id. Fails with `NotFound` unless its purchase
    /// order belongs to `account`.
    async fn upsert_tracked_order(
        &self,
        account: AccountId,
        order: &TrackedOrder,
    ) -> StoreResult<()>;
    async fn tracked_order(
        &self,
        account: AccountId,
        brightpearl_order_id: i64,
    ) -> StoreResult<Option<TrackedOrder>>;
    /// Lists the account's tracked orders by Brightpearl order id, only the
    /// open ones when `open_only`.
    async fn tracked_orders(
        &self,
        account: AccountId,
        open_only: bool,
    ) -> StoreResult<Vec<TrackedOrder>>;
    /// Lists one purchase order's tracked orders by Brightpearl order id.
    async fn tracked_orders_for_po(
        &self,
        account: AccountId,
        po: PoId,
    ) -> StoreResult<Vec<TrackedOrder>>;
    /// Links Brightpearl order rows to lines of `po` in one transaction,
    /// replacing the link of a row already linked.
    async fn save_row_links(
        &self,
        account: AccountId,
        po: PoId,
        links: &[RowLink],
    ) -> StoreResult<()>;
    /// Lists the row links of `po` by Brightpearl order id, then row id.
    async fn row_links(&self, account: AccountId, po: PoId) -> StoreResult<Vec<RowLink>>;
    /// Stores an invoice or credit with its lines and, when given, enqueues
    /// `job`, in one transaction. Fails with `Conflict` when the buyer already
    /// has an invoice with that number, and with `NotFound` when the purchase
    /// order is not one of `account` from `invoice.buyer` or the job is for
    /// another account. Nothing is stored if any part fails.
    async fn create_invoice(
        &self,
        account: AccountId,
        invoice: &NewInvoice,
        job: Option<&NewJob>,
        now: DateTime<Utc>,
    ) -> StoreResult<InvoiceRecord>;
    /// Stores an invoice or credit with its lines and enqueues the job that
    /// `job_for` makes from the new invoice's id, in one transaction, so
    /// the job can name the invoice it is for. Fails as
    /// [`Store::create_invoice`] does, storing nothing.
    async fn create_invoice_with_job(
        &self,
        account: AccountId,
        invoice: &NewInvoice,
        job_for: &(dyn Fn(InvoiceId) -> NewJob + Send + Sync),
        now: DateTime<Utc>,
    ) -> StoreResult<InvoiceRecord>;
    async fn invoice(&self, account: AccountId, id: InvoiceId) -> StoreResult<InvoiceRecord>;
    async fn invoice_by_number(
        &self,
        account: AccountId,
        buyer: BuyerId,
        number: &str,
    ) -> StoreResult<Option<InvoiceRecord>>;
    /// Lists a purchase order's invoices and credits in the order they were created.
    async fn invoices_for_po(
        &self,
        account: AccountId,
        po: PoId,
    ) -> StoreResult<Vec<InvoiceRecord>>;
    /// Lists invoices and credits newest first.
    async fn list_invoices(
        &self,
        account: AccountId,
        filter: &InvoiceFilter,
    ) -> StoreResult<Vec<InvoiceRecord>>;
    /// Records a send attempt's result or a person's action. See
    /// [`InvoiceUpdate`] for which fields are replaced and which are kept.
    async fn update_invoice(
        &self,
        account: AccountId,
        id: InvoiceId,
        update: &InvoiceUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Applies `update` only while the invoice's status is `from`, and
    /// returns whether it did. A job and a person, or two jobs, that act on
    /// what they read earlier thereby never undo each other's change. Fails
    /// with `NotFound` for an invoice of another account.
    async fn update_invoice_from(
        &self,
        account: AccountId,
        id: InvoiceId,
        from: InvoiceStatus,
        update: &InvoiceUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Replaces an invoice's date, currency, totals, document, status,
    /// reason and lines in one transaction, after it was rebuilt, only while
    /// its status is `from`. Returns whether it did. Fails with `NotFound`
    /// for an invoice of another account.
    async fn replace_invoice_content(
        &self,
        account: AccountId,
        id: InvoiceId,
        from: InvoiceStatus,
        content: &InvoiceContent,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Sums the lines of the purchase order's invoices and credits that are
    /// neither failed nor held, per PO line number: `(line, invoiced minus
    /// credited, credited)`, ordered by line number. Lines never invoiced are
    /// absent.
    async fn invoiced_quantities(
        &self,
        account: AccountId,
        po: PoId,
    ) -> StoreResult<Vec<(u32, Decimal, Decimal)>>;
    /// Replaces the named poller's cursor.
    async fn save_poll_cursor(
        &self,
        account: AccountId,
        name: &str,
        cursor: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Returns `None` until the named poller has saved a cursor.
    async fn poll_cursor(
        &self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<serde_json::Value>>;

    // ---- dashboard ------------------------------------------------------------
    /// Reads the account's order and invoice activity from `since` (included)
    /// to `until` (excluded). See [`DashboardActivity`] for what each list
    /// holds. The lists hold one entry per record, so the range bounds their
    /// length.
    async fn dashboard_activity(
        &self,
        account: AccountId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<DashboardActivity>;
    /// Lists every purchase order of the account whose status is one of
    /// `statuses`, longest waiting first.
    async fn waiting_orders(
        &self,
        account: AccountId,
        statuses: &[PoStatus],
    ) -> StoreResult<Vec<WaitingOrder>>;

    // ---- customers page -------------------------------------------------------
    /// Lists the BillTo addresses seen on the latest revisions of the
    /// account's purchase orders, one per buyer and trimmed `addressID`, by
    /// buyer and then `addressID` (the group without one first).
    async fn seen_bill_tos(&self, account: AccountId) -> StoreResult<Vec<SeenBillTo>>;
    /// Lists the account's purchase orders whose status is one of
    /// `statuses`, with the BillTo `addressID` of each one's latest revision,
    /// by id.
    async fn bill_to_orders(
        &self,
        account: AccountId,
        statuses: &[PoStatus],
    ) -> StoreResult<Vec<BillToOrder>>;
    /// Inserts the mapping or replaces the one with the same buyer and
    /// BillTo address, as [`Store::upsert_customer_mapping`] does, and
    /// records that `chosen_by` chose its contact.
    async fn choose_customer_mapping(
        &self,
        account: AccountId,
        mapping: &CustomerMapping,
        chosen_by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Lists every customer mapping of the account, by buyer and then BillTo
    /// `addressID` (the whole-buyer mapping first).
    async fn chosen_customer_mappings(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<ChosenCustomerMapping>>;

    // ---- product search ------------------------------------------------------
    /// Finds up to `limit` products of the local index whose product id is
    /// `text`, or whose name, SKU, barcode, EAN, UPC, MPN or ISBN contains
    /// `text`, ignoring the case of ASCII letters. An exact identifier or
    /// id comes first, then a SKU or name that starts with `text`, then the
    /// rest, each group by name and then product id. An empty `text` lists
    /// every product in that order.
    async fn search_products(
        &self,
        account: AccountId,
        text: &str,
        limit: i64,
    ) -> StoreResult<Vec<Product>>;

    // ---- job queue ----------------------------------------------------------
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<JobId>;
    /// Claims up to `limit` jobs that are due at `now`, including jobs whose
    /// previous claim expired (its worker died). A claim lasts until `now + lease`.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<Job>>;
    /// Claims up to `limit` due jobs of one account and kind, like
    /// [`Store::claim_jobs`]. The worker tops up a claim with it so that
    /// jobs sent to Brightpearl together, such as an account's ready sync
    /// jobs, run together.
    async fn claim_account_jobs(
        &self,
        worker: &str,
        account: AccountId,
        kind: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<Job>>;
    /// Moves the expiry of `worker`'s claim on a running job to `until`, so a
    /// job that runs longer than its lease is not claimed by another worker.
    /// Returns false, changing nothing, when the claim is no longer
    /// `worker`'s: the job finished or another worker claimed it.
    async fn extend_claim(
        &self,
        job: JobId,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Ends a claimed job with `outcome`. Ignored (returns false) when the
    /// claim is no longer `worker`'s, so a worker whose lease ran out cannot
    /// overwrite the newer claim.
    async fn finish_job(
        &self,
        job: JobId,
        worker: &str,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Makes waiting jobs of the account runnable now (after a mapping, a
    /// customer or a reconnection) and returns how many were released.
    async fn release_waiting_jobs(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    async fn list_jobs(&self, account: AccountId) -> StoreResult<Vec<Job>>;
    /// Counts jobs still queued, claimed or waiting, across all accounts.
    async fn pending_job_count(&self) -> StoreResult<i64>;
    /// Counts unfinished jobs, purchase orders and invoices by status across
    /// all accounts, and finds the earliest queued job due at `now`.
    async fn status_counts(&self, now: DateTime<Utc>) -> StoreResult<StatusCounts>;

    // ---- portal: users, sessions, one-time links, mail, audit --------------
    /// Adds a user to the account. The e-mail is stored in lower case and is
    /// unique across the installation (`Conflict` when taken).
    async fn create_user(
        &self,
        account: AccountId,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;
    /// Finds a user by e-mail in any account: only for logging in and for
    /// password resets, where the account is not known yet.
    async fn user_by_email(&self, email: &str) -> StoreResult<User>;
    async fn user(&self, account: AccountId, id: UserId) -> StoreResult<User>;
    async fn list_users(&self, account: AccountId) -> StoreResult<Vec<User>>;
    /// Stores a new password hash and ends the user's sessions, all in one
    /// transaction.
    async fn set_password_hash(
        &self,
        account: AccountId,
        user: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The session whose token hashes to `token_hash`, unless it has expired
    /// by `now`.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes sessions and one-time links that expired before `now`.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    async fn create_link(&self, link: &OneTimeLink) -> StoreResult<()>;
    /// Marks the link used and returns it, once: an unknown, used, expired
    /// or differently purposed link gives `None`.
    async fn use_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeLink>>;
    /// Returns the link without using it up, so a page can show its form.
    /// It returns `None` in the same cases as [`Store::use_link`].
    async fn link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeLink>>;
    /// Queues a message, due at once. With a `dedupe_key`, returns `None`
    /// and queues nothing when the account already has a message with that
    /// key created after `dedupe_since`.
    async fn queue_mail(
        &self,
        mail: &NewMail,
        dedupe_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<MailId>>;
    /// Unsent messages due by `now`, oldest first.
    async fn due_mail(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Mail>>;
    /// The newest messages, of one account or of all when `account` is `None`.
    async fn list_mail(&self, account: Option<AccountId>, limit: i64) -> StoreResult<Vec<Mail>>;
    /// Finds one message of any account, for the operator's `pobridge mail show`.
    async fn mail(&self, id: MailId) -> StoreResult<Mail>;
    async fn mark_mail_sent(&self, id: MailId, now: DateTime<Utc>) -> StoreResult<()>;
    async fn mark_mail_failed(
        &self,
        id: MailId,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn record_audit(
        &self,
        account: AccountId,
        entry: &NewAuditEntry,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The account's audit trail, newest first.
    async fn audit_log(&self, account: AccountId, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// Reads one page of the account's audit trail, newest first. The page
    /// starts below the id `before`, or at the newest entry when it is `None`.
    async fn audit_page(
        &self,
        account: AccountId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;

    // ---- Brightpearl request budget -----------------------------------------
    /// Claims `count` Brightpearl send slots for the account, one per
    /// request of quota the request may cost. When the sends recorded in
    /// the last `window` leave room for `count` more under `limit`, records
    /// them now and returns [`SendSlot::Granted`]; otherwise records
    /// nothing and returns [`SendSlot::Full`] with the time until enough
    /// slots free. A `count` outside 1 to `limit` is taken as the nearer
    /// end. Claims of one account are serialized. On PostgreSQL every
    /// process on the database shares the slots and the server's clock is
    /// used; on SQLite they are kept in this store's memory (see
    /// [`send_slots`]).
    async fn claim_send_slot(
        &self,
        account: AccountId,
        limit: u32,
        window: std::time::Duration,
        count: u32,
    ) -> StoreResult<SendSlot>;
}
