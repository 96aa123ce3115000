//! Setup shared by the engine's integration tests: an engine on an
//! in-memory SQLite store or a new PostgreSQL database, buyers, and orders
//! and invoices written straight to the store at chosen instants.

use std::ops::Deref;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{AccountId, BuyerId, Clock, PoId, PoNumber};
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_store::test_database::{server_url_or_skip, TestDatabase};
use pobridge_store::{
    BuyerMode, CredentialRef, DocumentOutcome, InvoiceId, InvoiceKind, InvoiceStatus, InvoicedLine,
    NewBuyer, NewDocument, NewInvoice, NewRevision, OrderType, PoStatus, PoStatusUpdate,
    RevisionStatus,
};
use rust_decimal::Decimal;

pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The store backend a test's engine runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// A new database on the server that `PGTEST_DATABASE_URL` names.
    Postgres,
}

/// An engine with, on PostgreSQL, the database it uses, which is dropped
/// with it.
pub struct TestEngine {
    engine: Engine,
    _database: Option<TestDatabase>,
}

impl Deref for TestEngine {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

/// Builds an engine that reads `clock` on a fresh in-memory SQLite store or
/// a new PostgreSQL database.
pub async fn engine(backend: Backend, clock: Arc<dyn Clock>, config: EngineConfig) -> TestEngine {
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let server = std::env::var(pobridge_store::test_database::SERVER_URL_VARIABLE)
                .expect("PGTEST_DATABASE_URL names the PostgreSQL server");
            Some(TestDatabase::create(&server).await)
        }
    };
    let url = database
        .as_ref()
        .map_or("sqlite::memory:", TestDatabase::url);
    let store = pobridge_store::open(url).await.unwrap();
    let clients = ClientPool::new(
        reqwest::Client::new(),
        ClientConfig::default(),
        store.clone(),
        clock.clone(),
    );
    TestEngine {
        engine: Engine::new(store, clock, clients, config),
        _database: database,
    }
}

/// Returns whether a test's PostgreSQL run should go ahead, printing that
/// it is skipped when `PGTEST_DATABASE_URL` is unset.
pub fn postgres_server_or_skip(test: &str) -> bool {
    server_url_or_skip(test).is_some()
}

/// Turns each `async fn NAME(backend: Backend)` named into a module `NAME`
/// with the tests `NAME::sqlite` and `NAME::postgres`, so one body runs on
/// both stores. The PostgreSQL test prints that it is skipped and passes
/// when `PGTEST_DATABASE_URL` is unset.
macro_rules! on_each_backend {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn sqlite() {
                super::$test(crate::common::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                let name = concat!(module_path!(), "::postgres");
                if crate::common::postgres_server_or_skip(name) {
                    super::$test(crate::common::Backend::Postgres).await;
                }
            }
        }
    )+};
}
pub(crate) use on_each_backend;

/// Describes the buyer `name` whose From identity is `{from}-from`.
pub fn new_buyer(name: &str, from: &str, mode: BuyerMode) -> NewBuyer {
    let credential = |identity: &str| CredentialRef {
        domain: "NetworkID".to_owned(),
        identity: identity.to_owned(),
    };
    NewBuyer {
        name: name.to_owned(),
        from: credential(&format!("{from}-from")),
        to: credential("supplier"),
        sender: credential("coupa"),
        shared_secret: Some("secret".to_owned()),
        url_token: None,
        mode,
        invoice_url: None,
    }
}

/// A writer of one account's and buyer's records straight to the store.
pub struct Records<'a> {
    pub engine: &'a Engine,
    pub account: AccountId,
    pub buyer: BuyerId,
}

impl Records<'_> {
    /// Stores an accepted order `number` received at `at`, still pending.
    pub async fn receive(&self, number: &str, at: &str) -> PoId {
        let document = NewDocument {
            buyer: Some(self.buyer),
            payload_id: format!("payload-{number}"),
            body_sha256: format!("sha-{number}"),
            masked_body: b"<cXML/>".to_vec(),
            content_type: "text/xml".to_owned(),
            request_kind: "OrderRequest".to_owned(),
            deployment_test: false,
            outcome: DocumentOutcome::Accepted,
            duplicate_of: None,
            received_at: utc(at),
            attachments: Vec::new(),
        };
        let revision = NewRevision {
            buyer: self.buyer,
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
        let store = &self.engine.store;
        let recorded = store
            .record_document(self.account, &document, Some(&revision), None)
            .await
            .unwrap();
        recorded.po.unwrap()
    }

    pub async fn set_status(&self, po: PoId, status: PoStatus, reason: &str, at: &str) {
        let update = PoStatusUpdate {
            status,
            reason: Some(reason.to_owned()),
            brightpearl_order_id: None,
            synced_revision: None,
            event: reason.to_owned(),
        };
        let store = &self.engine.store;
        store
            .set_po_status(self.account, po, &update, utc(at))
            .await
            .unwrap();
    }

    /// Stores a pending invoice of `po` for 10.00 GBP dated `at`, with
    /// `created` as the store's creation time.
    pub async fn create_invoice(
        &self,
        po: PoId,
        number: &str,
        created: &str,
        at: &str,
    ) -> InvoiceId {
        let invoice = NewInvoice {
            po,
            buyer: self.buyer,
            brightpearl_order_id: 100,
            invoice_number: number.to_owned(),
            kind: InvoiceKind::Invoice,
            invoice_date: utc(at).fixed_offset(),
            currency: "GBP".to_owned(),
            brightpearl_total: Decimal::new(1000, 2),
            sent_total: Decimal::new(1000, 2),
            document: "<cXML/>".to_owned(),
            status: InvoiceStatus::Pending,
            reason: None,
            lines: vec![InvoicedLine {
                po_line_number: 1,
                quantity: Decimal::ONE,
            }],
        };
        let store = &self.engine.store;
        let created = store
            .create_invoice(self.account, &invoice, None, utc(created))
            .await
            .unwrap();
        created.id
    }
}
