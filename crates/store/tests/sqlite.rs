//! Runs the storage behaviour suite against SQLite: each scenario gets a
//! fresh database file in its own temporary directory.

mod suite;

use std::sync::Arc;

use pobridge_store::{Store, StoreError};
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

on_fresh_sqlite!(
    account_round_trip,
    account_slug_is_unique,
    unknown_account_is_not_found,
    settings_round_trip,
    connection_is_saved_and_replaced,
    buyer_round_trip,
    buyer_update_replaces_fields,
    buyer_name_and_token_are_unique_per_account,
    record_document_stores_everything,
    document_without_revision_stores_no_order,
    failed_record_document_stores_nothing,
    duplicate_lookup_matches_buyer_payload_and_hash,
    accepted_copy_is_stored_as_duplicate,
    only_accepted_documents_are_checked_for_copies,
    duplicate_of_another_account_is_rejected,
    other_accounts_records_are_not_found,
    latest_revision_follows_ordering_table,
    new_latest_supersedes_only_pending_revisions,
    late_revision_is_superseded_whatever_its_status,
    status_updates_keep_ids_and_append_events,
    synced_revision_must_belong_to_the_order,
    create_attempt_is_recorded,
    order_list_filters_and_pages_newest_first,
    claim_takes_due_jobs_in_run_order,
    expired_claim_passes_to_another_worker,
    extended_claim_is_kept_from_others,
    retries_count_attempts_and_track_first_failure,
    failed_job_stays_failed,
    enqueue_merges_unfinished_jobs_with_the_same_key,
    enqueue_during_run_queues_the_job_again,
    waiting_jobs_are_released_per_account,
    coupa_items_refresh_and_keep_first_seen,
    coupa_item_list_filters_searches_and_pages,
    item_mappings_replace_on_their_key,
    customer_mappings_replace_on_their_key,
    deleted_buyer_takes_only_its_records,
    buyer_with_orders_is_not_deleted,
    products_upsert_and_match_each_identifier,
    contacts_upsert_and_list,
    reference_data_is_replaced_per_kind,
    invoice_round_trip_is_exact,
    invoice_number_is_unique_per_buyer,
    invoice_must_name_the_orders_buyer,
    failed_create_invoice_stores_nothing,
    invoice_updates_replace_or_keep_fields,
    invoice_job_names_the_new_invoice,
    replaced_content_replaces_lines_and_keeps_identity,
    invoiced_quantities_exclude_failed_and_held,
    invoice_list_filters_and_pages_newest_first,
    tracked_orders_upsert_and_filter_open,
    row_links_replace_on_order_and_row,
    poll_cursor_is_replaced_per_name,
    other_accounts_invoicing_is_not_found,
);

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
async fn postgres_url_reports_missing_backend() {
    let error = pobridge_store::open("postgres://localhost/pobridge")
        .await
        .err()
        .unwrap();
    let StoreError::Database(sqlx::Error::Configuration(cause)) = &error else {
        panic!("expected a configuration error, got {error:?}");
    };
    assert!(cause
        .to_string()
        .contains("PostgreSQL backend is not built"));

    let error = pobridge_store::open("mysql://localhost/pobridge")
        .await
        .err()
        .unwrap();
    assert!(format!("{error:?}").contains("unsupported database URL scheme \\\"mysql\\\""));
}
