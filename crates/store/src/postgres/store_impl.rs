//! [`Store`] for [`PostgresStore`]: each method forwards to the module that
//! owns its tables.

use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pobridge_core::{
    AccountId, AccountSettings, AccountSlug, BrightpearlIdField, BuyerId, DocumentId, JobId, PoId,
    PoNumber, RevisionId,
};
use rust_decimal::Decimal;

use super::send_slots;
use super::{
    accounts, buyers, catalog, counts, documents, invoices, invoicing, items, jobs, orders, portal,
    retention, revisions, PostgresStore,
};
use crate::group_commit::DocumentWrite;
use crate::{
    Account, Attachment, AuditEntry, Buyer, Connection, Contact, CoupaItem, CoupaItemRow,
    CustomerMapping, Document, InvoiceContent, InvoiceFilter, InvoiceId, InvoiceRecord,
    InvoiceStatus, InvoiceUpdate, ItemFilter, ItemMapping, Job, JobOutcome, LinkPurpose, Mail,
    MailId, NewAuditEntry, NewBuyer, NewDocument, NewInvoice, NewJob, NewMail, NewRevision,
    OneTimeLink, PoEvent, PoFilter, PoStatusUpdate, Product, PurchaseOrder, RecordedDocument,
    ReferenceData, ReferenceKind, RemovedBodies, Revision, RevisionStatus, RowLink, Session,
    StatusCounts, Store, StoreResult, TrackedOrder, User, UserId,
};

#[async_trait]
impl Store for PostgresStore {
    async fn create_account(
        &self,
        slug: &AccountSlug,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Account> {
        let _clear = self.identities.clear_after();
        accounts::create_account(self, slug, email, now).await
    }

    async fn account_by_slug(&self, slug: &AccountSlug) -> StoreResult<Account> {
        accounts::account_by_slug(self, slug).await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Account> {
        accounts::account(self, id).await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        accounts::list_accounts(self).await
    }

    async fn save_settings(
        &self,
        account: AccountId,
        settings: &AccountSettings,
    ) -> StoreResult<()> {
        let _clear = self.identities.clear_after();
        accounts::save_settings(self, account, settings).await
    }

    async fn save_connection(
        &self,
        account: AccountId,
        connection: &Connection,
    ) -> StoreResult<()> {
        accounts::save_connection(self, account, connection).await
    }

    async fn connection(&self, account: AccountId) -> StoreResult<Option<Connection>> {
        accounts::connection(self, account).await
    }

    async fn create_buyer(
        &self,
        account: AccountId,
        buyer: &NewBuyer,
        now: DateTime<Utc>,
    ) -> StoreResult<Buyer> {
        let _clear = self.identities.clear_after();
        buyers::create_buyer(self, account, buyer, now).await
    }

    async fn update_buyer(&self, account: AccountId, buyer: &Buyer) -> StoreResult<()> {
        let _clear = self.identities.clear_after();
        buyers::update_buyer(self, account, buyer).await
    }

    async fn buyer(&self, account: AccountId, id: BuyerId) -> StoreResult<Buyer> {
        buyers::buyer(self, account, id).await
    }

    async fn buyer_by_name(&self, account: AccountId, name: &str) -> StoreResult<Buyer> {
        buyers::buyer_by_name(self, account, name).await
    }

    async fn list_buyers(&self, account: AccountId) -> StoreResult<Vec<Buyer>> {
        buyers::list_buyers(self, account).await
    }

    async fn account_with_buyers(&self, slug: &AccountSlug) -> StoreResult<(Account, Vec<Buyer>)> {
        buyers::account_with_buyers(self, slug).await
    }

    async fn recent_account_with_buyers(
        &self,
        slug: &AccountSlug,
    ) -> StoreResult<(Account, Vec<Buyer>)> {
        self.identities
            .get_or_read(slug, Instant::now(), self.account_with_buyers(slug))
            .await
    }

    async fn delete_buyer(&self, account: AccountId, buyer: BuyerId) -> StoreResult<()> {
        let _clear = self.identities.clear_after();
        let deleted = buyers::delete_buyer(self, account, buyer).await;
        // The buyer's items went with it. Kept copies of them could not
        // be used, because its orders now fail, but they would linger.
        self.known_items.clear();
        deleted
    }

    async fn buyer_by_url_token(&self, account: AccountId, token: &str) -> StoreResult<Buyer> {
        buyers::buyer_by_url_token(self, account, token).await
    }

    async fn find_duplicate_document(
        &self,
        account: AccountId,
        buyer: BuyerId,
        payload_id: &str,
        body_sha256: &str,
    ) -> StoreResult<Option<DocumentId>> {
        documents::find_duplicate_document(self, account, buyer, payload_id, body_sha256).await
    }

    async fn record_document(
        &self,
        account: AccountId,
        document: &NewDocument,
        revision: Option<&NewRevision>,
        job: Option<&NewJob>,
    ) -> StoreResult<RecordedDocument> {
        let write = DocumentWrite::of(account, document, revision, job);
        self.group.record(self, write).await
    }

    async fn document(&self, account: AccountId, id: DocumentId) -> StoreResult<Document> {
        documents::document(self, account, id).await
    }

    async fn attachments(
        &self,
        account: AccountId,
        document: DocumentId,
    ) -> StoreResult<Vec<Attachment>> {
        documents::attachments(self, account, document).await
    }

    async fn remove_document_bodies(
        &self,
        account: AccountId,
        before: DateTime<Utc>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<RemovedBodies> {
        retention::remove_document_bodies(self, account, before, limit, now).await
    }

    async fn purchase_order(&self, account: AccountId, id: PoId) -> StoreResult<PurchaseOrder> {
        orders::purchase_order(self, account, id).await
    }

    async fn purchase_order_by_number(
        &self,
        account: AccountId,
        buyer: BuyerId,
        number: &PoNumber,
    ) -> StoreResult<Option<PurchaseOrder>> {
        orders::purchase_order_by_number(self, account, buyer, number).await
    }

    async fn list_purchase_orders(
        &self,
        account: AccountId,
        filter: &PoFilter,
    ) -> StoreResult<Vec<PurchaseOrder>> {
        orders::list_purchase_orders(self, account, filter).await
    }

    async fn revisions(&self, account: AccountId, po: PoId) -> StoreResult<Vec<Revision>> {
        revisions::revisions(self, account, po).await
    }

    async fn revision(&self, account: AccountId, id: RevisionId) -> StoreResult<Revision> {
        revisions::revision(self, account, id).await
    }

    async fn set_po_status(
        &self,
        account: AccountId,
        po: PoId,
        update: &PoStatusUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        orders::set_po_status(self, account, po, update, now).await
    }

    async fn mark_create_attempted(
        &self,
        account: AccountId,
        po: PoId,
        external_ref: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        orders::mark_create_attempted(self, account, po, external_ref, now).await
    }

    async fn events(&self, account: AccountId, po: PoId) -> StoreResult<Vec<PoEvent>> {
        orders::events(self, account, po).await
    }

    async fn set_revision_status(
        &self,
        account: AccountId,
        revision: RevisionId,
        status: RevisionStatus,
    ) -> StoreResult<()> {
        revisions::set_revision_status(self, account, revision, status).await
    }

    async fn record_coupa_items(
        &self,
        account: AccountId,
        buyer: BuyerId,
        items: &[CoupaItem],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        items::record_coupa_items(self, account, buyer, items, now).await
    }

    async fn list_coupa_items(
        &self,
        account: AccountId,
        filter: &ItemFilter,
    ) -> StoreResult<Vec<CoupaItemRow>> {
        items::list_coupa_items(self, account, filter).await
    }

    async fn upsert_item_mapping(
        &self,
        account: AccountId,
        mapping: &ItemMapping,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        items::upsert_item_mapping(self, account, mapping, now).await
    }

    async fn item_mappings(
        &self,
        account: AccountId,
        part_id: &str,
    ) -> StoreResult<Vec<ItemMapping>> {
        items::item_mappings(self, account, part_id).await
    }

    async fn upsert_item_mappings(
        &self,
        account: AccountId,
        mappings: &[ItemMapping],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        items::upsert_item_mappings(self, account, mappings, now).await
    }

    async fn list_item_mappings(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<crate::ItemMappingRow>> {
        items::list_item_mappings(self, account).await
    }

    async fn item_page(
        &self,
        account: AccountId,
        query: &crate::ItemPageQuery,
    ) -> StoreResult<crate::ItemPage> {
        items::item_page(self, account, query).await
    }

    async fn item_page_entry(
        &self,
        account: AccountId,
        buyer: BuyerId,
        part_id: &str,
        unit_of_measure: &str,
    ) -> StoreResult<Option<crate::ItemPageEntry>> {
        items::item_page_entry(self, account, buyer, part_id, unit_of_measure).await
    }

    async fn upsert_customer_mapping(
        &self,
        account: AccountId,
        mapping: &CustomerMapping,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        items::upsert_customer_mapping(self, account, mapping, now).await
    }

    async fn customer_mappings(
        &self,
        account: AccountId,
        buyer: BuyerId,
    ) -> StoreResult<Vec<CustomerMapping>> {
        items::customer_mappings(self, account, buyer).await
    }

    async fn upsert_products(&self, account: AccountId, products: &[Product]) -> StoreResult<()> {
        catalog::upsert_products(self, account, products).await
    }

    async fn products_by_identifier(
        &self,
        account: AccountId,
        field: BrightpearlIdField,
        value: &str,
    ) -> StoreResult<Vec<Product>> {
        catalog::products_by_identifier(self, account, field, value).await
    }

    async fn product(&self, account: AccountId, product_id: i64) -> StoreResult<Option<Product>> {
        catalog::product(self, account, product_id).await
    }

    async fn list_products(
        &self,
        account: AccountId,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Product>> {
        catalog::list_products(self, account, limit, offset).await
    }

    async fn upsert_contacts(&self, account: AccountId, contacts: &[Contact]) -> StoreResult<()> {
        catalog::upsert_contacts(self, account, contacts).await
    }

    async fn list_contacts(&self, account: AccountId) -> StoreResult<Vec<Contact>> {
        catalog::list_contacts(self, account).await
    }

    async fn save_reference_data(
        &self,
        account: AccountId,
        kind: ReferenceKind,
        data: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        catalog::save_reference_data(self, account, kind, data, now).await
    }

    async fn reference_data(
        &self,
        account: AccountId,
        kind: ReferenceKind,
    ) -> StoreResult<Option<ReferenceData>> {
        catalog::reference_data(self, account, kind).await
    }

    async fn upsert_tracked_order(
        &self,
        account: AccountId,
        order: &TrackedOrder,
    ) -> StoreResult<()> {
        invoicing::upsert_tracked_order(self, account, order).await
    }

    async fn tracked_order(
        &self,
        account: AccountId,
        brightpearl_order_id: i64,
    ) -> StoreResult<Option<TrackedOrder>> {
        invoicing::tracked_order(self, account, brightpearl_order_id).await
    }

    async fn tracked_orders(
        &self,
        account: AccountId,
        open_only: bool,
    ) -> StoreResult<Vec<TrackedOrder>> {
        invoicing::tracked_orders(self, account, open_only).await
    }

    async fn tracked_orders_for_po(
        &self,
        account: AccountId,
        po: PoId,
    ) -> StoreResult<Vec<TrackedOrder>> {
        invoicing::tracked_orders_for_po(self, account, po).await
    }

    async fn save_row_links(
        &self,
        account: AccountId,
        po: PoId,
        links: &[RowLink],
    ) -> StoreResult<()> {
        invoicing::save_row_links(self, account, po, links).await
    }

    async fn row_links(&self, account: AccountId, po: PoId) -> StoreResult<Vec<RowLink>> {
        invoicing::row_links(self, account, po).await
    }

    async fn create_invoice(
        &self,
        account: AccountId,
        invoice: &NewInvoice,
        job: Option<&NewJob>,
        now: DateTime<Utc>,
    ) -> StoreResult<InvoiceRecord> {
        invoices::create_invoice(self, account, invoice, job, now).await
    }

    async fn create_invoice_with_job(
        &self,
        account: AccountId,
        invoice: &NewInvoice,
        job_for: &(dyn Fn(InvoiceId) -> NewJob + Send + Sync),
        now: DateTime<Utc>,
    ) -> StoreResult<InvoiceRecord> {
        invoices::create_invoice_with_job(self, account, invoice, job_for, now).await
    }

    async fn invoice(&self, account: AccountId, id: InvoiceId) -> StoreResult<InvoiceRecord> {
        invoices::invoice(self, account, id).await
    }

    async fn invoice_by_number(
        &self,
        account: AccountId,
        buyer: BuyerId,
        number: &str,
    ) -> StoreResult<Option<InvoiceRecord>> {
        invoices::invoice_by_number(self, account, buyer, number).await
    }

    async fn invoices_for_po(
        &self,
        account: AccountId,
        po: PoId,
    ) -> StoreResult<Vec<InvoiceRecord>> {
        invoices::invoices_for_po(self, account, po).await
    }

    async fn list_invoices(
        &self,
        account: AccountId,
        filter: &InvoiceFilter,
    ) -> StoreResult<Vec<InvoiceRecord>> {
        invoices::list_invoices(self, account, filter).await
    }

    async fn update_invoice(
        &self,
        account: AccountId,
        id: InvoiceId,
        update: &InvoiceUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        invoices::update_invoice(self, account, id, None, update, now)
            .await
            .map(drop)
    }

    async fn update_invoice_from(
        &self,
        account: AccountId,
        id: InvoiceId,
        from: InvoiceStatus,
        update: &InvoiceUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        invoices::update_invoice(self, account, id, Some(from), update, now).await
    }

    async fn replace_invoice_content(
        &self,
        account: AccountId,
        id: InvoiceId,
        from: InvoiceStatus,
        content: &InvoiceContent,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        invoices::replace_invoice_content(self, account, id, from, content, now).await
    }

    async fn invoiced_quantities(
        &self,
        account: AccountId,
        po: PoId,
    ) -> StoreResult<Vec<(u32, Decimal, Decimal)>> {
        invoices::invoiced_quantities(self, account, po).await
    }

    async fn save_poll_cursor(
        &self,
        account: AccountId,
        name: &str,
        cursor: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        invoicing::save_poll_cursor(self, account, name, cursor, now).await
    }

    async fn poll_cursor(
        &self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<serde_json::Value>> {
        invoicing::poll_cursor(self, account, name).await
    }

    async fn dashboard_activity(
        &self,
        account: AccountId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<crate::DashboardActivity> {
        super::dashboard::dashboard_activity(self, account, since, until).await
    }

    async fn waiting_orders(
        &self,
        account: AccountId,
        statuses: &[crate::PoStatus],
    ) -> StoreResult<Vec<crate::WaitingOrder>> {
        super::dashboard::waiting_orders(self, account, statuses).await
    }

    async fn seen_bill_tos(&self, account: AccountId) -> StoreResult<Vec<crate::SeenBillTo>> {
        super::customers_page::seen_bill_tos(self, account).await
    }

    async fn bill_to_orders(
        &self,
        account: AccountId,
        statuses: &[crate::PoStatus],
    ) -> StoreResult<Vec<crate::BillToOrder>> {
        super::customers_page::bill_to_orders(self, account, statuses).await
    }

    async fn choose_customer_mapping(
        &self,
        account: AccountId,
        mapping: &CustomerMapping,
        chosen_by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        super::customers_page::choose_customer_mapping(self, account, mapping, chosen_by, now).await
    }

    async fn chosen_customer_mappings(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<crate::ChosenCustomerMapping>> {
        super::customers_page::chosen_customer_mappings(self, account).await
    }

    async fn search_products(
        &self,
        account: AccountId,
        text: &str,
        limit: i64,
    ) -> StoreResult<Vec<Product>> {
        super::product_search::search_products(self, account, text, limit).await
    }

    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<JobId> {
        jobs::enqueue_job(self, job).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        jobs::claim_jobs(self, worker, now, lease, limit).await
    }

    async fn claim_account_jobs(
        &self,
        worker: &str,
        account: AccountId,
        kind: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        jobs::claim_account_jobs(self, worker, account, kind, now, lease, limit).await
    }

    async fn extend_claim(
        &self,
        job: JobId,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        jobs::extend_claim(self, job, worker, until).await
    }

    async fn finish_job(
        &self,
        job: JobId,
        worker: &str,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        jobs::finish_job(self, job, worker, outcome, now).await
    }

    async fn release_waiting_jobs(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        jobs::release_waiting_jobs(self, account, now).await
    }

    async fn list_jobs(&self, account: AccountId) -> StoreResult<Vec<Job>> {
        jobs::list_jobs(self, account).await
    }

    async fn pending_job_count(&self) -> StoreResult<i64> {
        jobs::pending_job_count(self).await
    }

    async fn status_counts(&self, now: DateTime<Utc>) -> StoreResult<StatusCounts> {
        counts::status_counts(self, now).await
    }

    // ---- portal ----

    async fn create_user(
        &self,
        account: AccountId,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        portal::create_user(self, account, email, now).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<User> {
        portal::user_by_email(self, email).await
    }

    async fn user(&self, account: AccountId, id: UserId) -> StoreResult<User> {
        portal::user(self, account, id).await
    }

    async fn list_users(&self, account: AccountId) -> StoreResult<Vec<User>> {
        portal::list_users(self, account).await
    }

    async fn set_password_hash(
        &self,
        account: AccountId,
        user: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        portal::set_password_hash(self, account, user, hash, now).await
    }

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        portal::create_session(self, session).await
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        portal::session(self, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        portal::delete_session(self, token_hash).await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        portal::purge_expired_sessions(self, now).await
    }

    async fn create_link(&self, link: &OneTimeLink) -> StoreResult<()> {
        portal::create_link(self, link).await
    }

    async fn use_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeLink>> {
        portal::use_link(self, token_hash, purpose, now).await
    }

    async fn link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeLink>> {
        portal::link(self, token_hash, purpose, now).await
    }

    async fn queue_mail(
        &self,
        mail: &NewMail,
        dedupe_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<MailId>> {
        portal::queue_mail(self, mail, dedupe_since, now).await
    }

    async fn due_mail(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Mail>> {
        portal::due_mail(self, now, limit).await
    }

    async fn list_mail(&self, account: Option<AccountId>, limit: i64) -> StoreResult<Vec<Mail>> {
        portal::list_mail(self, account, limit).await
    }

    async fn mail(&self, id: MailId) -> StoreResult<Mail> {
        portal::mail(self, id).await
    }

    async fn mark_mail_sent(&self, id: MailId, now: DateTime<Utc>) -> StoreResult<()> {
        portal::mark_mail_sent(self, id, now).await
    }

    async fn mark_mail_failed(
        &self,
        id: MailId,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        portal::mark_mail_failed(self, id, error, retry_at).await
    }

    async fn record_audit(
        &self,
        account: AccountId,
        entry: &NewAuditEntry,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        portal::record_audit(self, account, entry, now).await
    }

    async fn audit_log(&self, account: AccountId, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        portal::audit_log(self, account, limit).await
    }

    async fn audit_page(
        &self,
        account: AccountId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        portal::audit_page(self, account, before, limit).await
    }

    async fn claim_send_slot(
        &self,
        account: AccountId,
        limit: u32,
        window: std::time::Duration,
        count: u32,
    ) -> StoreResult<crate::SendSlot> {
        send_slots::claim_send_slot(self, account, limit, window, count).await
    }
}
