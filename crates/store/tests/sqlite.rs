//! Runs the storage behaviour suite against SQLite: each scenario gets a
//! fresh database file in its own temporary directory.

#[macro_use]
mod suite;

use std::sync::Arc;

use pobridge_store::Store;
use tempfile::TempDir;

/// Returns a database URL for a new file in a new temporary directory. The
/// directory is removed when the returned guard drops.
fn fresh_url() -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pobridge.db").display());
    (dir, url)
}

async fn fresh_store() -> (TempDir, Arc<dyn Store>) {
    let (dir, url) = fresh_url();
    let store = pobridge_store::open(&url).await.unwrap();
    (dir, store)
}

/// Opens new handles on one file, for scenarios that need several.
fn opener(url: String) -> Box<suite::Opener> {
    Box::new(move || {
        let url = url.clone();
        Box::pin(async move { pobridge_store::open(&url).await.unwrap() })
    })
}

macro_rules! on_fresh_sqlite {
    ($($scenario:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $scenario() {
            let (_dir, store) = fresh_store().await;
            suite::$scenario(store.as_ref()).await;
        }
    )+};
}

every_fresh_store_scenario!(on_fresh_sqlite);

/// Reads the stored secret columns with plain SQL, past the store.
fn raw_columns(url: String) -> Box<suite::RawColumns> {
    Box::new(move |account_id, buyer_id| {
        let url = url.clone();
        Box::pin(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let auth = sqlx::query_scalar("SELECT auth FROM connections WHERE account_id = ?")
                .bind(account_id.0)
                .fetch_one(&pool)
                .await
                .unwrap();
            let invoicing = sqlx::query_scalar("SELECT invoicing FROM buyers WHERE id = ?")
                .bind(buyer_id.0)
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            (auth, invoicing)
        })
    })
}

macro_rules! on_keyed_sqlite {
    ($($scenario:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $scenario() {
            let (_dir, url) = fresh_url();
            let raw = raw_columns(url.clone());
            suite::$scenario(suite::keyed_opener(url).as_ref(), raw.as_ref()).await;
        }
    )+};
}

on_keyed_sqlite!(
    secrets_are_encrypted_with_key,
    plain_secrets_are_read_and_sealed_on_write
);

#[tokio::test]
async fn sealed_secrets_need_the_right_key() {
    let (_dir, url) = fresh_url();
    suite::sealed_secrets_need_the_right_key(suite::keyed_opener(url).as_ref()).await;
}

#[tokio::test]
async fn product_writes_commit_a_transaction_at_a_time() {
    let (_dir, url) = fresh_url();
    let store = pobridge_store::open(&url).await.unwrap();
    let break_product: Box<suite::BreakProduct> = Box::new(move |product_id| {
        let url = url.clone();
        Box::pin(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let trigger = format!(
                "CREATE TRIGGER break_product BEFORE INSERT ON products \
                 WHEN NEW.product_id = {product_id} \
                 BEGIN SELECT RAISE(ABORT, 'broken by the test'); END"
            );
            sqlx::query(&trigger).execute(&pool).await.unwrap();
            pool.close().await;
        })
    });
    suite::product_writes_commit_a_transaction_at_a_time(store.as_ref(), break_product.as_ref())
        .await;
}

#[tokio::test]
async fn data_survives_reopening() {
    let (_dir, url) = fresh_url();
    suite::data_survives_reopening(opener(url).as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_share_a_job() {
    let (_dir, url) = fresh_url();
    // Migrate once before the handles race, as a deployment would.
    drop(pobridge_store::open(&url).await.unwrap());
    suite::concurrent_claims_never_share_a_job(opener(url).as_ref()).await;
}

#[tokio::test]
async fn url_without_slashes_and_in_memory_urls_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.db");
    let short = pobridge_store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    suite::account(short.as_ref(), "acme").await;
    assert!(path.exists());

    let memory = pobridge_store::open("sqlite::memory:").await.unwrap();
    suite::account_round_trip(memory.as_ref()).await;
    suite::record_document_stores_everything(
        pobridge_store::open("sqlite::memory:")
            .await
            .unwrap()
            .as_ref(),
    )
    .await;
}

#[tokio::test]
async fn unsupported_url_scheme_is_named() {
    let error = pobridge_store::open("mysql://localhost/pobridge")
        .await
        .err()
        .unwrap();
    assert!(format!("{error:?}").contains("unsupported database URL scheme \\\"mysql\\\""));
}
