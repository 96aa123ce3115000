//! Storage behaviour every [`Store`] implementation must show. Each
//! scenario takes a fresh, empty store; scenarios that reopen a database
//! take an [`Opener`] instead. Backends run them from their own test file.

#![allow(dead_code)]

mod accounts;
mod catalog;
mod counts;
mod customers_page;
mod dashboard;
mod documents;
mod invoicing;
mod item_page;
mod jobs;
mod orders;
mod portal;
mod product_search;
mod retention;
mod secrets;
mod send_slots;

pub use accounts::*;
pub use catalog::*;
pub use counts::*;
pub use customers_page::*;
pub use dashboard::*;
pub use documents::*;
pub use invoicing::*;
pub use item_page::*;
pub use jobs::*;
pub use orders::*;
pub use portal::*;
pub use product_search::*;
pub use retention::*;
pub use secrets::*;
pub use send_slots::*;

/// Calls `$run!(scenario, ...)` with every scenario that takes a fresh
/// store, so that each backend's test file runs the same list.
macro_rules! every_fresh_store_scenario {
    ($run:ident) => {
        $run!(
            account_round_trip,
            account_slug_is_unique,
            unknown_account_is_not_found,
            settings_round_trip,
            connection_is_saved_and_replaced,
            buyer_round_trip,
            account_with_buyers_reads_both,
            recent_account_with_buyers_shows_own_writes,
            buyer_update_replaces_fields,
            buyer_name_and_token_are_unique_per_account,
            record_document_stores_everything,
            document_without_revision_stores_no_order,
            failed_record_document_stores_nothing,
            documents_stored_at_once_fail_or_succeed_alone,
            orders_stored_at_once_each_get_one_order,
            new_item_on_orders_stored_at_once_keeps_first_time,
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
            account_claim_takes_one_account_and_kind,
            expired_claim_passes_to_another_worker,
            extended_claim_is_kept_from_others,
            retries_count_attempts_and_track_first_failure,
            failed_job_stays_failed,
            enqueue_merges_unfinished_jobs_with_the_same_key,
            enqueue_during_run_queues_the_job_again,
            waiting_jobs_are_released_per_account,
            coupa_items_refresh_and_keep_first_seen,
            unchanged_items_move_last_seen_once_a_minute,
            item_changed_back_and_forth_keeps_the_latest,
            repeated_part_keeps_its_last_line,
            coupa_item_list_filters_searches_and_pages,
            item_mappings_replace_on_their_key,
            item_status_picks_most_specific_mapping,
            item_status_of_case_variant_units_takes_first_by_code_point,
            item_status_without_applicable_mapping_is_unmapped,
            item_status_needs_exactly_one_unique_id_match,
            item_status_follows_product_changes,
            item_status_follows_identifier_settings,
            manual_mapping_wins_over_unique_id,
            deleted_buyers_mappings_release_other_items,
            item_page_filters_by_status_buyer_and_search,
            item_page_pages_and_counts,
            item_page_shows_only_the_accounts_items,
            item_entry_is_found_by_exact_key,
            item_search_matches_text_literally,
            item_mapping_batch_is_all_or_nothing,
            item_counts_follow_every_change,
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
            conditional_update_needs_expected_status,
            invoice_job_names_the_new_invoice,
            replaced_content_replaces_lines_and_keeps_identity,
            invoiced_quantities_exclude_failed_held_and_superseded,
            invoice_list_filters_and_pages_newest_first,
            tracked_orders_upsert_and_filter_open,
            row_links_replace_on_order_and_row,
            poll_cursor_is_replaced_per_name,
            other_accounts_invoicing_is_not_found,
            status_counts_cover_every_account,
            dashboard_activity_reads_changes_in_the_range,
            dashboard_activity_of_another_account_is_not_read,
            waiting_orders_list_longest_waiting_first,
            waiting_order_without_events_waits_since_its_update,
            bill_tos_group_by_buyer_and_trimmed_address_id,
            bill_to_follows_the_latest_revision,
            bill_to_orders_filter_by_status,
            chosen_mapping_names_its_chooser_until_replaced,
            users_are_unique_by_email_in_lower_case,
            password_change_ends_the_users_sessions,
            sessions_expire_and_are_deleted,
            links_work_once_for_their_purpose,
            mail_is_queued_deduplicated_and_delivered,
            audit_trail_is_per_account_newest_first,
            link_lookup_leaves_the_link_usable,
            mail_is_read_by_id,
            audit_pages_go_back_by_id,
            product_search_matches_identifiers_and_ranks_exact_first,
            send_slots_fill_per_account,
            send_slots_free_as_the_window_moves,
            send_slots_claim_several_at_once,
            retention_removes_old_final_order_documents,
            retention_removes_only_old_sent_invoice_documents,
            retention_removes_at_most_the_limit_per_call,
            rebuilt_invoice_document_is_no_longer_removed,
        );
    };
}

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use pobridge_core::{AccountId, AccountSlug, BuyerId, PoNumber};
use pobridge_store::{
    BuyerMode, CredentialRef, DocumentOutcome, NewAttachment, NewBuyer, NewDocument, NewJob,
    NewRevision, OrderType, RevisionStatus, Store,
};

/// Opens another handle on the same database as the scenario's other handles.
pub type Opener = dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>> + Send + Sync;

/// Reads a real order from the corpus, with an en dash in its text, to use as a stored body.
pub fn corpus_order() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/cxml/order/ariba-style-orderrequest-1.2.060-split-attributes-enDash.xml"
    );
    std::fs::read(path).expect("corpus order is readable")
}

pub fn attachment_bytes() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/attachment.pdf"
    ))
    .expect("attachment fixture is readable")
}

/// 2024-05-01 09:00 UTC plus `minutes`.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// Returns the same instant as [`at`], written with a +02:00 offset.
pub fn at_plus_two(minutes: i64) -> DateTime<FixedOffset> {
    at(minutes).with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap())
}

pub async fn account(store: &dyn Store, slug: &str) -> AccountId {
    let slug = AccountSlug::parse(slug).unwrap();
    store
        .create_account(&slug, &format!("ops@{slug}.example"), at(0))
        .await
        .unwrap()
        .id
}

pub fn credential(domain: &str, identity: &str) -> CredentialRef {
    CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    }
}

pub fn new_buyer(name: &str) -> NewBuyer {
    NewBuyer {
        name: name.to_owned(),
        from: credential("DUNS", &format!("{name}-from")),
        to: credential("DUNS", "supplier-1"),
        sender: credential("NetworkID", &format!("{name}-sender")),
        shared_secret: Some(format!("{name}-secret")),
        url_token: Some(format!("{name}-token")),
        mode: BuyerMode::Production,
        invoice_url: Some(format!("https://{name}.example/cxml/invoices")),
    }
}

pub async fn buyer(store: &dyn Store, account: AccountId, name: &str) -> BuyerId {
    store
        .create_buyer(account, &new_buyer(name), at(0))
        .await
        .unwrap()
        .id
}

pub fn new_document(buyer: BuyerId, payload_id: &str, body_sha256: &str) -> NewDocument {
    NewDocument {
        buyer: Some(buyer),
        payload_id: payload_id.to_owned(),
        body_sha256: body_sha256.to_owned(),
        masked_body: corpus_order(),
        content_type: "text/xml; charset=UTF-8".to_owned(),
        request_kind: "OrderRequest".to_owned(),
        deployment_test: false,
        outcome: DocumentOutcome::Accepted,
        duplicate_of: None,
        received_at: at(1),
        attachments: Vec::new(),
    }
}

pub fn with_attachment(mut document: NewDocument, content_id: &str) -> NewDocument {
    document.attachments.push(NewAttachment {
        content_id: content_id.to_owned(),
        content_type: "application/pdf".to_owned(),
        bytes: attachment_bytes(),
    });
    document
}

pub fn new_revision(
    buyer: BuyerId,
    number: &str,
    version: Option<i64>,
    timestamp: Option<DateTime<FixedOffset>>,
) -> NewRevision {
    NewRevision {
        buyer,
        po_number: PoNumber(number.to_owned()),
        order_type: if version.unwrap_or(1) > 1 {
            OrderType::Update
        } else {
            OrderType::New
        },
        order_version: version,
        document_timestamp: timestamp,
        content_sha256: format!("content-{number}-{version:?}-{timestamp:?}"),
        order: serde_json::json!({ "number": number, "note": "Zürich – 2 × ½\" pipe" }).into(),
        status: RevisionStatus::Pending,
        test: false,
        items: Vec::new(),
    }
}

pub fn new_job(account: AccountId, key: &str, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        account,
        kind: "sync_order".to_owned(),
        key: key.to_owned(),
        payload: serde_json::json!({ "key": key }),
        run_at,
    }
}

/// Records a document carrying one revision and returns what was recorded.
pub async fn receive(
    store: &dyn Store,
    account: AccountId,
    revision: &NewRevision,
    payload_id: &str,
) -> pobridge_store::RecordedDocument {
    let document = new_document(revision.buyer, payload_id, &format!("sha-{payload_id}"));
    store
        .record_document(account, &document, Some(revision), None)
        .await
        .unwrap()
}

/// Asserts that `result` is `StoreError::NotFound`.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: pobridge_store::StoreResult<T>) {
    match result {
        Err(pobridge_store::StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Asserts that `result` is `StoreError::Conflict`.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: pobridge_store::StoreResult<T>) {
    match result {
        Err(pobridge_store::StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}
