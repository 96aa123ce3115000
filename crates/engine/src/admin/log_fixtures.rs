//! Records for the unit tests of the portal's logs: an engine on an
//! in-memory SQLite store with a manual clock, accounts with one buyer, and
//! orders and invoices written straight to the store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{AccountId, BuyerId, Clock, ManualClock, PoId, PoNumber};
use pobridge_store::{
    BuyerMode, CredentialRef, DocumentOutcome, InvoiceId, InvoiceKind, InvoiceRecord,
    InvoiceStatus, InvoiceUpdate, InvoicedLine, NewBuyer, NewDocument, NewInvoice, NewRevision,
    OrderType, PoStatus, PoStatusUpdate, RevisionStatus, StoreError,
};
use rust_decimal::Decimal;

use crate::{ClientPool, Engine, EngineConfig};

pub(super) fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Builds an engine whose clock starts at `now`, and returns the clock too.
pub(super) async fn engine_at(now: &str) -> (Engine, ManualClock) {
    let store = pobridge_store::open("sqlite::memory:").await.unwrap();
    let manual = ManualClock::new(utc(now));
    let clock: Arc<dyn Clock> = Arc::new(manual.clone());
    let clients = ClientPool::new(
        reqwest::Client::new(),
        ClientConfig::default(),
        store.clone(),
        clock.clone(),
    );
    let engine = Engine::new(store, clock, clients, EngineConfig::default());
    (engine, manual)
}

/// Creates the account `slug` with one buyer named `coupa`.
pub(super) async fn account_with_buyer(engine: &Engine, slug: &str) -> (AccountId, BuyerId) {
    let account = super::create_account(engine, slug, &format!("ops@{slug}.example"))
        .await
        .unwrap();
    let credential = |identity: &str| CredentialRef {
        domain: "NetworkID".to_owned(),
        identity: identity.to_owned(),
    };
    let buyer = NewBuyer {
        name: "coupa".to_owned(),
        from: credential(&format!("{slug}-from")),
        to: credential("supplier"),
        sender: credential("coupa"),
        shared_secret: Some("secret".to_owned()),
        url_token: None,
        mode: BuyerMode::Production,
        invoice_url: None,
    };
    let buyer = engine.create_buyer(account.id, buyer).await.unwrap();
    (account.id, buyer.id)
}

/// Sets the account's `time_zone` setting.
pub(super) async fn set_zone(engine: &Engine, account: AccountId, zone: &str) {
    let mut settings = engine.store.account(account).await.unwrap().settings;
    settings.time_zone = zone.to_owned();
    engine
        .store
        .save_settings(account, &settings)
        .await
        .unwrap();
}

/// Stores a new order's first document, `body`, received at `at`.
pub(super) async fn receive(
    engine: &Engine,
    account: AccountId,
    buyer: BuyerId,
    number: &str,
    at: &str,
    body: &str,
) -> PoId {
    let document = NewDocument {
        buyer: Some(buyer),
        payload_id: format!("payload-{number}"),
        body_sha256: format!("sha-{number}"),
        masked_body: body.as_bytes().to_vec(),
        content_type: "text/xml".to_owned(),
        request_kind: "OrderRequest".to_owned(),
        deployment_test: false,
        outcome: DocumentOutcome::Accepted,
        duplicate_of: None,
        received_at: utc(at),
        attachments: Vec::new(),
    };
    let revision = NewRevision {
        buyer,
        po_number: PoNumber(number.to_owned()),
        order_type: OrderType::New,
        order_version: Some(1),
        document_timestamp: None,
        content_sha256: format!("content-{number}"),
        order: serde_json::json!({ "number": number }).into(),
        status: RevisionStatus::Pending,
        test: false,
        items: Vec::new(),
    };
    let recorded = engine
        .store
        .record_document(account, &document, Some(&revision), None)
        .await
        .unwrap();
    recorded.po.unwrap()
}

/// Gives the order `status` with `reason`, as a sync attempt would.
pub(super) async fn set_status(
    engine: &Engine,
    account: AccountId,
    po: PoId,
    status: PoStatus,
    reason: &str,
) {
    let update = PoStatusUpdate {
        status,
        reason: Some(reason.to_owned()),
        brightpearl_order_id: None,
        synced_revision: None,
        event: reason.to_owned(),
    };
    engine
        .store
        .set_po_status(account, po, &update, engine.clock.now())
        .await
        .unwrap();
}

/// Stores an invoice of `po` with one line, dated `date` (RFC 3339).
pub(super) async fn invoice(
    engine: &Engine,
    account: AccountId,
    buyer: BuyerId,
    po: PoId,
    number: &str,
    date: &str,
) -> InvoiceRecord {
    let invoice = NewInvoice {
        po,
        buyer,
        brightpearl_order_id: 7,
        invoice_number: number.to_owned(),
        kind: InvoiceKind::Invoice,
        invoice_date: date.parse().unwrap(),
        currency: "USD".to_owned(),
        brightpearl_total: Decimal::new(12000, 2),
        sent_total: Decimal::new(12000, 2),
        document: format!("<cXML><InvoiceDetailRequest invoiceID=\"{number}\"/></cXML>"),
        status: InvoiceStatus::Pending,
        reason: None,
        lines: vec![InvoicedLine {
            po_line_number: 1,
            quantity: Decimal::ONE,
        }],
    };
    engine
        .store
        .create_invoice(account, &invoice, None, engine.clock.now())
        .await
        .unwrap()
}

/// Records Coupa's 401 for the invoice, which fails it.
pub(super) async fn fail_invoice(engine: &Engine, account: AccountId, id: InvoiceId) {
    let update = InvoiceUpdate {
        status: InvoiceStatus::Failed,
        reason: Some("Coupa refused the invoice".to_owned()),
        coupa_status: Some(401),
        coupa_text: Some("Invalid credentials".to_owned()),
        counts_attempt: true,
        outcome_unknown: None,
        document: None,
        sent_at: None,
    };
    engine
        .store
        .update_invoice(account, id, &update, engine.clock.now())
        .await
        .unwrap();
}

/// Checks that an action failed because the record is not the account's.
pub(super) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, super::AdminError>) {
    let error = result.unwrap_err();
    assert!(
        matches!(error, super::AdminError::Store(StoreError::NotFound { .. })),
        "{error:?}"
    );
}
