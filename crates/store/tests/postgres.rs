//! Runs the storage behaviour suite against PostgreSQL, plus scenarios where
//! several store handles (as several processes would) race on one database.
//!
//! The server is the one `PGTEST_DATABASE_URL` names, by default
//! [`DEFAULT_SERVER_URL`]; its user must be allowed to create databases.
//! Each test creates its own database with a random name and drops it
//! afterwards, so tests run in parallel. Without a reachable server every
//! test fails with a message that explains how to start one.

#[macro_use]
mod suite;

use std::collections::HashSet;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use pobridge_core::{AccountId, BuyerId, PoNumber};
use pobridge_store::postgres::{PostgresStore, ALONE_WRITES_PER_ACCOUNT, GROUP_WRITERS};
use pobridge_store::{
    CoupaItem, DocumentOutcome, ItemFilter, JobStatus, RevisionStatus, SendSlot, Store, StoreError,
};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::task::JoinSet;

use suite::{account, at, buyer, new_document, new_job, new_revision};

/// The server the tests use when `PGTEST_DATABASE_URL` is not set:
/// the one `.ci/run` starts.
const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Handles that race in the concurrency scenarios below.
const HANDLES: usize = 4;

/// A database that exists for one test.
struct TestDatabase {
    server: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let server_url =
            std::env::var("PGTEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned());
        let server = PgConnectOptions::from_str(&server_url).unwrap_or_else(|err| {
            panic!("PGTEST_DATABASE_URL {server_url:?} is not a PostgreSQL URL: {err}")
        });
        let mut admin = connect(&server).await;
        let name: String = sqlx::query_scalar(
            "SELECT 'pobridge_test_' || replace(gen_random_uuid()::text, '-', '')",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        // template0 and UTF8, so the test does not depend on the server's defaults.
        let create = format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'");
        sqlx::query(&create).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();

        let url = server.clone().database(&name).to_url_lossy().to_string();
        Self { server, name, url }
    }

    /// Drops the database, ending any connection a failed test left open.
    async fn drop_database(self) {
        let mut admin = connect(&self.server).await;
        let drop = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        sqlx::query(&drop).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
    }
}

async fn connect(server: &PgConnectOptions) -> PgConnection {
    match PgConnection::connect_with(server).await {
        Ok(connection) => connection,
        Err(err) => panic!(
            "cannot connect to PostgreSQL as {:?} at {}:{}: {err}. These tests need a \
             PostgreSQL 15 or later server whose user may create databases: .ci/run installs \
             and starts PostgreSQL on 127.0.0.1:5432, or set PGTEST_DATABASE_URL to \
             another server.",
            server.get_username(),
            server.get_host(),
            server.get_port()
        ),
    }
}

/// Runs `scenario` with the URL of a new database and drops the database
/// afterwards, also when the scenario panics.
async fn on_fresh_database<F, Fut>(scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = TestDatabase::create().await;
    let outcome = tokio::spawn(scenario(database.url.clone())).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("scenario did not finish: {error}"),
        }
    }
}

/// Opens new handles on one database, each with its own connection pool.
fn opener(url: String) -> Box<suite::Opener> {
    Box::new(move || {
        let url = url.clone();
        Box::pin(async move { pobridge_store::open(&url).await.unwrap() })
    })
}

async fn open_handles(url: &str) -> Vec<Arc<dyn Store>> {
    let mut handles = Vec::new();
    for _ in 0..HANDLES {
        handles.push(pobridge_store::open(url).await.unwrap());
    }
    handles
}

macro_rules! on_fresh_postgres {
    ($($scenario:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $scenario() {
            on_fresh_database(|url| async move {
                let store = pobridge_store::open(&url).await.unwrap();
                suite::$scenario(store.as_ref()).await;
            })
            .await;
        }
    )+};
}

every_fresh_store_scenario!(on_fresh_postgres);

/// Reads the stored secret columns with plain SQL, past the store.
fn raw_columns(url: String) -> Box<suite::RawColumns> {
    Box::new(move |account_id, buyer_id| {
        let url = url.clone();
        Box::pin(async move {
            let mut connection = PgConnection::connect(&url).await.unwrap();
            let auth =
                sqlx::query_scalar("SELECT auth::text FROM connections WHERE account_id = $1")
                    .bind(account_id.0)
                    .fetch_one(&mut connection)
                    .await
                    .unwrap();
            let invoicing = sqlx::query_scalar("SELECT invoicing::text FROM buyers WHERE id = $1")
                .bind(buyer_id.0)
                .fetch_one(&mut connection)
                .await
                .unwrap();
            connection.close().await.unwrap();
            (auth, invoicing)
        })
    })
}

macro_rules! on_keyed_postgres {
    ($($scenario:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $scenario() {
            on_fresh_database(|url| async move {
                let raw = raw_columns(url.clone());
                suite::$scenario(suite::keyed_opener(url).as_ref(), raw.as_ref()).await;
            })
            .await;
        }
    )+};
}

on_keyed_postgres!(
    secrets_are_encrypted_with_key,
    plain_secrets_are_read_and_sealed_on_write
);

#[tokio::test]
async fn sealed_secrets_need_the_right_key() {
    on_fresh_database(|url| async move {
        suite::sealed_secrets_need_the_right_key(suite::keyed_opener(url).as_ref()).await;
    })
    .await;
}

#[tokio::test]
async fn data_survives_reopening() {
    on_fresh_database(|url| async move {
        suite::data_survives_reopening(opener(url).as_ref()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_share_a_job() {
    on_fresh_database(|url| async move {
        suite::concurrent_claims_never_share_a_job(opener(url).as_ref()).await;
    })
    .await;
}

/// Each connection `open` leaves in the pool has run a group's statements
/// with no documents, and rolled them back.
#[tokio::test]
async fn open_warms_a_connection_per_group_writer() {
    on_fresh_database(|url| async move {
        let _store = PostgresStore::open(&url).await.unwrap();

        let mut observer = PgConnection::connect(&url).await.unwrap();
        let last_statements: Vec<String> = sqlx::query_scalar(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() \
                 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut observer)
        .await
        .unwrap();
        assert_eq!(last_statements, vec!["ROLLBACK"; GROUP_WRITERS]);
        let documents: i64 = sqlx::query_scalar("SELECT count(*) FROM documents")
            .fetch_one(&mut observer)
            .await
            .unwrap();
        assert_eq!(documents, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    on_fresh_database(|url| async move {
        let mut opens = JoinSet::new();
        for _ in 0..HANDLES {
            let url = url.clone();
            opens.spawn(async move { pobridge_store::open(&url).await.map(|_| ()) });
        }
        while let Some(opened) = opens.join_next().await {
            opened.unwrap().unwrap();
        }

        let store = pobridge_store::open(&url).await.unwrap();
        suite::account_round_trip(store.as_ref()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_documents_accept_one() {
    on_fresh_database(|url| async move {
        let handles = open_handles(&url).await;
        let account_id = account(handles[0].as_ref(), "acme").await;
        let buyer_id = buyer(handles[0].as_ref(), account_id, "initech").await;

        let mut records = JoinSet::new();
        for index in 0..2 * HANDLES {
            let store = handles[index % HANDLES].clone();
            records.spawn(async move {
                let document = new_document(buyer_id, "p-1", "sha-1");
                let revision = new_revision(buyer_id, "PO-1", Some(1), None);
                let job = new_job(account_id, "sync_order:PO-1", at(1));
                store
                    .record_document(account_id, &document, Some(&revision), Some(&job))
                    .await
                    .unwrap()
            });
        }
        let mut accepted = Vec::new();
        let mut duplicates_of = Vec::new();
        while let Some(recorded) = records.join_next().await {
            let recorded = recorded.unwrap();
            match recorded.duplicate_of {
                None => accepted.push(recorded),
                Some(original) => duplicates_of.push(original),
            }
        }

        assert_eq!(accepted.len(), 1, "accepted: {accepted:?}");
        let original = accepted[0].document;
        assert!(duplicates_of.iter().all(|id| *id == original));
        let store = handles[0].as_ref();
        let stored = store.document(account_id, original).await.unwrap();
        assert_eq!(stored.outcome, DocumentOutcome::Accepted);
        let po = store
            .purchase_order(account_id, accepted[0].po.unwrap())
            .await;
        assert_eq!(po.unwrap().revision_count, 1);
        assert_eq!(store.list_jobs(account_id).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revisions_share_one_order() {
    const REVISIONS: i64 = 12;
    on_fresh_database(|url| async move {
        let handles = open_handles(&url).await;
        let account_id = account(handles[0].as_ref(), "acme").await;
        let buyer_id = buyer(handles[0].as_ref(), account_id, "initech").await;

        let mut records = JoinSet::new();
        for (version, store) in (1..=REVISIONS).zip(handles.iter().cycle().cloned()) {
            records.spawn(async move {
                let payload_id = format!("p-{version}");
                let document = new_document(buyer_id, &payload_id, &payload_id);
                let revision = new_revision(buyer_id, "PO-1", Some(version), None);
                let job = new_job(account_id, "sync_order:PO-1", at(1));
                store
                    .record_document(account_id, &document, Some(&revision), Some(&job))
                    .await
                    .unwrap()
            });
        }
        let mut orders = HashSet::new();
        while let Some(recorded) = records.join_next().await {
            orders.insert(recorded.unwrap().po.unwrap());
        }

        assert_eq!(orders.len(), 1);
        let store = handles[0].as_ref();
        let number = PoNumber("PO-1".to_owned());
        let po = store
            .purchase_order_by_number(account_id, buyer_id, &number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(po.revision_count, REVISIONS);
        let revisions = store.revisions(account_id, po.id).await.unwrap();
        let pending: Vec<_> = revisions
            .iter()
            .filter(|revision| revision.status == RevisionStatus::Pending)
            .collect();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, po.latest_revision);
        assert_eq!(pending[0].order_version, Some(REVISIONS));
        let jobs = store.list_jobs(account_id).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].status, JobStatus::Queued);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enqueues_make_one_job() {
    on_fresh_database(|url| async move {
        let handles = open_handles(&url).await;
        let account_id = account(handles[0].as_ref(), "acme").await;

        let mut enqueues = JoinSet::new();
        for (minute, store) in (0..2 * HANDLES as i64).zip(handles.iter().cycle().cloned()) {
            enqueues.spawn(async move {
                let job = new_job(account_id, "sync_order:PO-1", at(10 - minute));
                store.enqueue_job(&job).await.unwrap()
            });
        }
        let mut ids = HashSet::new();
        while let Some(id) = enqueues.join_next().await {
            ids.insert(id.unwrap());
        }

        assert_eq!(ids.len(), 1);
        let jobs = handles[0].list_jobs(account_id).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].run_at, at(10 - (2 * HANDLES as i64 - 1)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invoice_numbers_conflict() {
    on_fresh_database(|url| async move {
        let handles = open_handles(&url).await;
        let account_id = account(handles[0].as_ref(), "acme").await;
        let buyer_id = buyer(handles[0].as_ref(), account_id, "initech").await;
        let revision = new_revision(buyer_id, "PO-1", Some(1), None);
        let po = suite::receive(handles[0].as_ref(), account_id, &revision, "p-1")
            .await
            .po
            .unwrap();

        let mut creates = JoinSet::new();
        for index in 0..2 * HANDLES {
            let store = handles[index % HANDLES].clone();
            creates.spawn(async move {
                let invoice = suite::new_invoice(po, buyer_id, "INV-1", &[(1, "2.50")]);
                store
                    .create_invoice(account_id, &invoice, None, at(2))
                    .await
            });
        }
        let mut created = 0;
        while let Some(result) = creates.join_next().await {
            match result.unwrap() {
                Ok(_) => created += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(other) => panic!("expected Conflict, got {other:?}"),
            }
        }

        assert_eq!(created, 1);
        let invoices = handles[0].invoices_for_po(account_id, po).await.unwrap();
        assert_eq!(invoices.len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_send_claims_keep_the_limit() {
    on_fresh_database(|url| async move {
        let handles = open_handles(&url).await;
        let account_id = account(handles[0].as_ref(), "acme").await;
        let limit = 5;
        let window = std::time::Duration::from_secs(60);

        let mut claims = JoinSet::new();
        for index in 0..4 * HANDLES {
            let store = handles[index % HANDLES].clone();
            claims.spawn(async move {
                store
                    .claim_send_slot(account_id, limit, window, 1)
                    .await
                    .unwrap()
            });
        }
        let mut granted = 0;
        while let Some(claim) = claims.join_next().await {
            if claim.unwrap() == SendSlot::Granted {
                granted += 1;
            }
        }

        assert_eq!(granted, limit, "slots granted across {HANDLES} handles");
    })
    .await;
}

#[tokio::test]
async fn product_writes_commit_a_transaction_at_a_time() {
    on_fresh_database(|url| async move {
        let store = pobridge_store::open(&url).await.unwrap();
        let break_product: Box<suite::BreakProduct> = Box::new(move |product_id| {
            let url = url.clone();
            Box::pin(async move {
                let mut conn = PgConnection::connect(&url).await.unwrap();
                let function = format!(
                    "CREATE FUNCTION break_product() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN IF NEW.product_id = {product_id} THEN \
                     RAISE EXCEPTION 'broken by the test'; END IF; RETURN NEW; END $$"
                );
                sqlx::query(&function).execute(&mut conn).await.unwrap();
                sqlx::query(
                    "CREATE TRIGGER break_product BEFORE INSERT ON products \
                     FOR EACH ROW EXECUTE FUNCTION break_product()",
                )
                .execute(&mut conn)
                .await
                .unwrap();
                conn.close().await.unwrap();
            })
        });
        suite::product_writes_commit_a_transaction_at_a_time(
            store.as_ref(),
            break_product.as_ref(),
        )
        .await;
    })
    .await;
}

fn coupa_item(part_id: &str, description: &str) -> CoupaItem {
    CoupaItem {
        part_id: part_id.to_owned(),
        auxiliary_id: None,
        buyer_part_id: None,
        manufacturer_part_id: None,
        unit_of_measure: "EA".to_owned(),
        description: description.to_owned(),
    }
}

/// Records a new order for `number` carrying `items`, as intake does.
async fn record_order_with_items(
    store: &dyn Store,
    account_id: AccountId,
    buyer_id: BuyerId,
    number: &str,
    items: Vec<CoupaItem>,
) {
    let document = new_document(buyer_id, number, &format!("sha-{number}"));
    let mut revision = new_revision(buyer_id, number, None, None);
    revision.items = items;
    let job = new_job(account_id, &format!("sync_order:{number}"), at(1));
    store
        .record_document(account_id, &document, Some(&revision), Some(&job))
        .await
        .unwrap();
}

/// An order with a new item, and a new description of an item that another
/// transaction is writing, is stored without waiting for that transaction:
/// the description refresh skips the locked row.
#[tokio::test]
async fn locked_item_does_not_block_orders() {
    on_fresh_database(|url| async move {
        let store = pobridge_store::open(&url).await.unwrap();
        let account_id = account(store.as_ref(), "acme").await;
        let buyer_id = buyer(store.as_ref(), account_id, "initech").await;
        let router = coupa_item("ROUTER-900", "Router");
        store
            .record_coupa_items(account_id, buyer_id, &[router], at(0))
            .await
            .unwrap();

        let mut holder = PgConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
        sqlx::query(
            "UPDATE coupa_items SET description = 'Router (locked)' WHERE part_id = 'ROUTER-900'",
        )
        .execute(&mut holder)
        .await
        .unwrap();

        let items = vec![
            coupa_item("ROUTER-900", "Router (Split 1 of 3)"),
            coupa_item("SWITCH-48", "Switch"),
        ];
        let recorded = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            record_order_with_items(store.as_ref(), account_id, buyer_id, "PO-1", items),
        )
        .await;
        assert!(
            recorded.is_ok(),
            "the order waited for the transaction that holds an item"
        );
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();

        let stored = store
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        let descriptions: Vec<(&str, &str)> = stored
            .iter()
            .map(|row| (row.item.part_id.as_str(), row.item.description.as_str()))
            .collect();
        assert_eq!(
            descriptions,
            [("ROUTER-900", "Router (locked)"), ("SWITCH-48", "Switch")]
        );
    })
    .await;
}

/// Another process's change of an item reaches this process's copy within
/// [`pobridge_store::KNOWN_ITEMS_TTL`]. After that, an order that carries
/// the item as it was before writes it back.
#[tokio::test]
async fn item_changed_elsewhere_is_written_after_the_window() {
    on_fresh_database(|url| async move {
        let this_process = pobridge_store::open(&url).await.unwrap();
        let other_process = pobridge_store::open(&url).await.unwrap();
        let account_id = account(this_process.as_ref(), "acme").await;
        let buyer_id = buyer(this_process.as_ref(), account_id, "initech").await;
        let router = || vec![coupa_item("ROUTER-900", "Router")];
        record_order_with_items(
            this_process.as_ref(),
            account_id,
            buyer_id,
            "PO-1",
            router(),
        )
        .await;
        let renamed = vec![coupa_item("ROUTER-900", "Router v2")];
        record_order_with_items(
            other_process.as_ref(),
            account_id,
            buyer_id,
            "PO-2",
            renamed,
        )
        .await;

        tokio::time::sleep(pobridge_store::KNOWN_ITEMS_TTL).await;
        record_order_with_items(
            this_process.as_ref(),
            account_id,
            buyer_id,
            "PO-3",
            router(),
        )
        .await;

        let stored = this_process
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].item.description, "Router");
    })
    .await;
}

/// A refresh decided from an out-of-date copy keeps the stored identifiers,
/// and the copy takes them from the updated row. So the next order with
/// the earlier identifiers writes them back at once.
#[tokio::test]
async fn refresh_keeps_identifiers_it_did_not_write() {
    on_fresh_database(|url| async move {
        let this_process = pobridge_store::open(&url).await.unwrap();
        let other_process = pobridge_store::open(&url).await.unwrap();
        let account_id = account(this_process.as_ref(), "acme").await;
        let buyer_id = buyer(this_process.as_ref(), account_id, "initech").await;
        let with_aux = |aux: &str, description: &str| {
            let mut item = coupa_item("ROUTER-900", description);
            item.auxiliary_id = Some(aux.to_owned());
            vec![item]
        };
        let orders = [
            (this_process.as_ref(), "PO-1", with_aux("X", "Router")),
            (other_process.as_ref(), "PO-2", with_aux("Y", "Router")),
            (
                this_process.as_ref(),
                "PO-3",
                with_aux("X", "Router (Split 1 of 3)"),
            ),
            (
                this_process.as_ref(),
                "PO-4",
                with_aux("X", "Router (Split 1 of 3)"),
            ),
        ];
        for (store, number, items) in orders {
            record_order_with_items(store, account_id, buyer_id, number, items).await;
        }

        let stored = this_process
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].item.auxiliary_id.as_deref(), Some("X"));
        assert_eq!(stored[0].item.description, "Router (Split 1 of 3)");
    })
    .await;
}

/// Orders received together are written in one transaction. When one of
/// them waits for a lock, such as the match lock a product refresh holds,
/// the group gives up after its lock timeout. Each order is then stored on
/// its own, so another account's order is stored at once.
#[tokio::test]
async fn locked_account_spares_other_accounts() {
    on_fresh_database(|url| async move {
        let store = pobridge_store::open(&url).await.unwrap();
        let acme = account(store.as_ref(), "acme").await;
        let acme_buyer = buyer(store.as_ref(), acme, "initech").await;
        let globex = account(store.as_ref(), "globex").await;
        let globex_buyer = buyer(store.as_ref(), globex, "initech").await;

        let mut holder = hold_match_lock(&url, acme).await;

        let record = |account, buyer, number: &'static str| {
            let store = store.clone();
            tokio::spawn(async move {
                let items = vec![coupa_item("SWITCH-48", "Switch")];
                record_order_with_items(store.as_ref(), account, buyer, number, items).await;
            })
        };
        // Started together, so they may share a group.
        let waiting = record(acme, acme_buyer, "PO-1");
        let other = record(globex, globex_buyer, "PO-2");
        tokio::time::timeout(std::time::Duration::from_secs(10), other)
            .await
            .expect("the other account's order is stored while the lock is held")
            .unwrap();
        assert!(
            !waiting.is_finished(),
            "the item was written while a match change held the lock"
        );

        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        waiting.await.unwrap();
        for (account, buyer, number) in [(acme, acme_buyer, "PO-1"), (globex, globex_buyer, "PO-2")]
        {
            let number = PoNumber(number.to_owned());
            let stored = store
                .purchase_order_by_number(account, buyer, &number)
                .await
                .unwrap();
            assert!(stored.is_some(), "{number} is stored");
        }
    })
    .await;
}

/// A product refresh or mapping change takes the account's match lock, so
/// an order that brings a new item waits for it, then stores the item.
#[tokio::test]
async fn item_writes_wait_for_match_changes() {
    on_fresh_database(|url| async move {
        let store = pobridge_store::open(&url).await.unwrap();
        let account_id = account(store.as_ref(), "acme").await;
        let buyer_id = buyer(store.as_ref(), account_id, "initech").await;

        let mut holder = hold_match_lock(&url, account_id).await;

        let waiting = {
            let store = store.clone();
            tokio::spawn(async move {
                let items = vec![coupa_item("SWITCH-48", "Switch")];
                record_order_with_items(store.as_ref(), account_id, buyer_id, "PO-1", items).await;
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(
            !waiting.is_finished(),
            "the item was written while a match change held the lock"
        );
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        waiting.await.unwrap();

        let stored = store
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
    })
    .await;
}

/// Takes `account`'s item-match lock on a connection of its own, as a
/// product refresh or mapping change does, and holds it until `COMMIT`.
async fn hold_match_lock(url: &str, account: AccountId) -> PgConnection {
    let mut holder = PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT lock_coupa_item_matches($1)")
        .bind(account.0)
        .execute(&mut holder)
        .await
        .unwrap();
    holder
}

/// Opens a store whose documents stored alone wait at most `wait`.
async fn store_with_lock_wait(url: &str, wait: std::time::Duration) -> Arc<dyn Store> {
    Arc::new(PostgresStore::open(url).await.unwrap().with_lock_wait(wait))
}

/// Records `count` orders, PO-0 onwards, each with a part no other order
/// has, in tasks of their own.
fn spawn_orders_with_new_items(
    store: &Arc<dyn Store>,
    account_id: AccountId,
    buyer_id: BuyerId,
    count: usize,
) -> JoinSet<()> {
    let mut orders = JoinSet::new();
    for index in 0..count {
        let store = store.clone();
        orders.spawn(async move {
            let number = format!("PO-{index}");
            let items = vec![coupa_item(&format!("PART-{index}"), "New part")];
            record_order_with_items(store.as_ref(), account_id, buyer_id, &number, items).await;
        });
    }
    orders
}

/// A document stored on its own waits for a lock no longer than the
/// store's lock wait, twice. Then nothing of it is stored, so when Coupa
/// sends it again it is stored as new.
#[tokio::test]
async fn alone_document_gives_up_after_the_lock_wait() {
    on_fresh_database(|url| async move {
        let store = store_with_lock_wait(&url, std::time::Duration::from_millis(300)).await;
        let account_id = account(store.as_ref(), "acme").await;
        let buyer_id = buyer(store.as_ref(), account_id, "initech").await;
        let mut holder = hold_match_lock(&url, account_id).await;

        let document = new_document(buyer_id, "PO-1", "sha-PO-1");
        let mut revision = new_revision(buyer_id, "PO-1", None, None);
        revision.items = vec![coupa_item("SWITCH-48", "Switch")];
        let job = new_job(account_id, "sync_order:PO-1", at(1));
        let record = || store.record_document(account_id, &document, Some(&revision), Some(&job));
        let error = tokio::time::timeout(std::time::Duration::from_secs(10), record())
            .await
            .expect("the wait for the lock ends")
            .unwrap_err();
        match &error {
            StoreError::Busy { detail } => {
                assert!(detail.contains("waiting for a lock"), "{detail}")
            }
            other => panic!("expected a lock wait that ran out, got {other:?}"),
        }
        let number = PoNumber("PO-1".to_owned());
        let stored = store
            .purchase_order_by_number(account_id, buyer_id, &number)
            .await
            .unwrap();
        assert!(stored.is_none(), "nothing of the document is stored");

        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        let recorded = record().await.unwrap();
        assert_eq!(recorded.duplicate_of, None);
        assert!(recorded.po.is_some(), "sent again, the order is stored");
    })
    .await;
}

/// Documents of one account that wait for its item-match lock hold at most
/// `ALONE_WRITES_PER_ACCOUNT` of the pool's connections. The rest wait for
/// their turn without one, so another account's order is stored meanwhile.
#[tokio::test]
async fn waiting_account_leaves_connections_to_others() {
    on_fresh_database(|url| async move {
        let store = store_with_lock_wait(&url, std::time::Duration::from_secs(60)).await;
        let acme = account(store.as_ref(), "acme").await;
        let acme_buyer = buyer(store.as_ref(), acme, "initech").await;
        let globex = account(store.as_ref(), "globex").await;
        let globex_buyer = buyer(store.as_ref(), globex, "initech").await;
        let mut holder = hold_match_lock(&url, acme).await;

        // More than the pool's connections.
        let waiting_orders = pobridge_store::postgres::MAX_CONNECTIONS as usize + 8;
        let mut waiting = spawn_orders_with_new_items(&store, acme, acme_buyer, waiting_orders);
        // Their group gives up on the lock after 200 ms, and each is then
        // stored on its own.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut observer = PgConnection::connect(&url).await.unwrap();
        let blocked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks \
             WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut observer)
        .await
        .unwrap();
        assert!(
            blocked <= ALONE_WRITES_PER_ACCOUNT as i64,
            "{blocked} transactions wait for the lock"
        );
        assert!(
            waiting.try_join_next().is_none(),
            "an order of the locked account was stored"
        );

        let other = record_order_with_items(
            store.as_ref(),
            globex,
            globex_buyer,
            "PO-G1",
            vec![coupa_item("PART-G", "New part")],
        );
        tokio::time::timeout(std::time::Duration::from_secs(5), other)
            .await
            .expect("the other account's order is stored while the lock is held");

        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        while let Some(done) = waiting.join_next().await {
            done.unwrap();
        }
        let stored = store
            .list_coupa_items(acme, &ItemFilter::default())
            .await
            .unwrap();
        assert_eq!(stored.len(), waiting_orders);
    })
    .await;
}

/// Documents that wait for a lock beyond the account's turns wait for a
/// turn no longer than the store's lock wait, and each gets `Busy`.
#[tokio::test]
async fn documents_past_the_turns_are_busy() {
    on_fresh_database(|url| async move {
        let store = store_with_lock_wait(&url, std::time::Duration::from_millis(300)).await;
        let account_id = account(store.as_ref(), "acme").await;
        let buyer_id = buyer(store.as_ref(), account_id, "initech").await;
        let mut holder = hold_match_lock(&url, account_id).await;

        let mut blocked = JoinSet::new();
        for index in 0..ALONE_WRITES_PER_ACCOUNT * 3 {
            let store = store.clone();
            blocked.spawn(async move {
                let number = format!("PO-{index}");
                let document = new_document(buyer_id, &number, &format!("sha-{number}"));
                let mut revision = new_revision(buyer_id, &number, None, None);
                revision.items = vec![coupa_item(&format!("PART-{index}"), "New part")];
                let job = new_job(account_id, &format!("sync_order:{number}"), at(1));
                store
                    .record_document(account_id, &document, Some(&revision), Some(&job))
                    .await
            });
        }
        let mut waited_for_a_turn = 0;
        while let Some(result) = blocked.join_next().await {
            match result.unwrap() {
                Err(StoreError::Busy { detail }) => {
                    if detail.contains("waiting for a turn") {
                        waited_for_a_turn += 1;
                    }
                }
                other => panic!("expected Busy, got {other:?}"),
            }
        }
        assert!(
            waited_for_a_turn >= ALONE_WRITES_PER_ACCOUNT,
            "{waited_for_a_turn}"
        );
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    })
    .await;
}

/// While an account's turns are taken by documents waiting for its
/// item-match lock, a document of the same account that needs no such lock
/// is stored at once.
#[tokio::test]
async fn unlocked_document_skips_the_turns() {
    on_fresh_database(|url| async move {
        let store = store_with_lock_wait(&url, std::time::Duration::from_secs(60)).await;
        let account_id = account(store.as_ref(), "acme").await;
        let buyer_id = buyer(store.as_ref(), account_id, "initech").await;
        let mut holder = hold_match_lock(&url, account_id).await;

        let mut waiting =
            spawn_orders_with_new_items(&store, account_id, buyer_id, ALONE_WRITES_PER_ACCOUNT * 2);
        // Long enough for each to have failed its first try.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;

        // A document that starts no order, such as a ProfileRequest.
        let other = new_document(buyer_id, "PROFILE", "sha-profile");
        let recorded = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.record_document(account_id, &other, None, None),
        )
        .await
        .expect("the document is stored while the turns are taken")
        .unwrap();
        assert_eq!(recorded.duplicate_of, None);
        assert!(
            waiting.try_join_next().is_none(),
            "an order of the locked account was stored"
        );

        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        while let Some(done) = waiting.join_next().await {
            done.unwrap();
        }
    })
    .await;
}
