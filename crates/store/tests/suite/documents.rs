//! Recording inbound documents, duplicate lookup and tenant isolation.

use pobridge_core::{DocumentId, PoId, PoNumber, RevisionId};
use pobridge_store::{
    CoupaItem, DocumentOutcome, ItemFilter, JobStatus, NewDocument, NewJob, NewRevision, OrderJson,
    OrderType, PoFilter, PoStatus, PoStatusUpdate, RevisionStatus, Store,
};

use super::*;

pub async fn record_document_stores_everything(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let mut document = with_attachment(new_document(buyer_id, "p-1@coupa", "sha-1"), "a1@coupa");
    document = with_attachment(document, "a2@coupa");
    document.attachments[1].bytes = "second – ✓".as_bytes().to_vec();
    let revision = new_revision(buyer_id, "PO-1001", Some(1), Some(at_plus_two(-5)));
    let job = new_job(account_id, "sync_order:PO-1001", at(1));

    let recorded = store
        .record_document(account_id, &document, Some(&revision), Some(&job))
        .await
        .unwrap();

    assert!(recorded.is_latest);
    let stored = store.document(account_id, recorded.document).await.unwrap();
    assert_eq!(stored.account_id, account_id);
    assert_eq!(stored.buyer, Some(buyer_id));
    assert_eq!(stored.payload_id, "p-1@coupa");
    assert_eq!(stored.body_sha256, "sha-1");
    assert_eq!(stored.masked_body, corpus_order());
    assert_eq!(stored.content_type, document.content_type);
    assert_eq!(stored.outcome, DocumentOutcome::Accepted);
    assert_eq!(stored.received_at, document.received_at);

    let attachments = store
        .attachments(account_id, recorded.document)
        .await
        .unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0].content_id, "a1@coupa");
    assert_eq!(attachments[0].bytes, attachment_bytes());
    assert_eq!(attachments[1].bytes, "second – ✓".as_bytes());

    let po = store
        .purchase_order(account_id, recorded.po.unwrap())
        .await
        .unwrap();
    assert_eq!(po.number, PoNumber("PO-1001".to_owned()));
    assert_eq!(po.buyer_id, buyer_id);
    assert_eq!(po.status, PoStatus::Received);
    assert_eq!(po.latest_revision, recorded.revision.unwrap());
    assert_eq!(po.revision_count, 1);
    assert_eq!(po.created_at, document.received_at);

    let stored_revision = store
        .revision(account_id, recorded.revision.unwrap())
        .await
        .unwrap();
    assert_eq!(stored_revision.po_id, po.id);
    assert_eq!(stored_revision.document_id, recorded.document);
    assert_eq!(stored_revision.order_type, OrderType::New);
    assert_eq!(stored_revision.order_version, Some(1));
    assert_eq!(
        stored_revision.document_timestamp,
        revision.document_timestamp
    );
    assert_eq!(
        stored_revision.document_timestamp.unwrap().offset(),
        at_plus_two(0).offset()
    );
    assert_eq!(OrderJson::new(&stored_revision.order), revision.order);
    assert_eq!(stored_revision.status, RevisionStatus::Pending);
    assert!(!stored_revision.test);
    assert_eq!(stored_revision.received_at, document.received_at);

    let jobs = store.list_jobs(account_id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].key, "sync_order:PO-1001");
    assert_eq!(jobs[0].status, JobStatus::Queued);
}

pub async fn document_without_revision_stores_no_order(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let mut document = new_document(buyer_id, "profile-1", "sha-p");
    document.request_kind = "ProfileRequest".to_owned();
    document.outcome = DocumentOutcome::Other;
    document.buyer = None;

    let recorded = store
        .record_document(account_id, &document, None, None)
        .await
        .unwrap();

    assert_eq!(recorded.po, None);
    assert_eq!(recorded.revision, None);
    assert!(!recorded.is_latest);
    let stored = store.document(account_id, recorded.document).await.unwrap();
    assert_eq!(stored.buyer, None);
    assert_eq!(stored.request_kind, "ProfileRequest");
    assert!(store
        .list_purchase_orders(account_id, &PoFilter::default())
        .await
        .unwrap()
        .is_empty());
}

pub async fn documents_stored_at_once_fail_or_succeed_alone(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "initech").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    let writes: Vec<_> = (0..20)
        .map(|index| {
            let number = format!("PO-{index}");
            // Every fifth revision names a buyer of another account, which a
            // store can tell before it writes. Every fifth job names an
            // account that does not exist, which fails only when written.
            let revision_buyer = if index % 5 == 2 {
                globex_buyer
            } else {
                acme_buyer
            };
            let job_account = if index % 5 == 4 { AccountId(999) } else { acme };
            (
                new_document(acme_buyer, &format!("p-{index}"), &format!("sha-{index}")),
                new_revision(revision_buyer, &number, Some(1), None),
                new_job(job_account, &format!("sync_order:{number}"), at(1)),
            )
        })
        .collect();

    // Recorded concurrently, so the store may write them in one group.
    let results = futures::future::join_all(writes.iter().map(|(document, revision, job)| {
        store.record_document(acme, document, Some(revision), Some(job))
    }))
    .await;

    for (index, result) in results.into_iter().enumerate() {
        let number = PoNumber(format!("PO-{index}"));
        let stored = store
            .purchase_order_by_number(acme, acme_buyer, &number)
            .await
            .unwrap();
        match index % 5 {
            2 => assert_not_found(result),
            4 => assert!(result.is_err(), "{number}: {result:?}"),
            _ => {
                let recorded = result.unwrap();
                assert_eq!(stored.map(|po| po.id), recorded.po, "{number}");
                continue;
            }
        }
        assert!(stored.is_none(), "{number} was stored");
    }
    assert_eq!(store.list_jobs(acme).await.unwrap().len(), 12);
}

pub async fn orders_stored_at_once_each_get_one_order(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let initech = buyer(store, acme, "initech").await;
    let hooli = buyer(store, acme, "hooli").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    let old_revision = new_revision(initech, "PO-OLD", Some(1), None);
    let old_job = new_job(acme, "sync_order:PO-OLD", at(1));
    let old_document = new_document(initech, "old", "sha-old");
    let old = store
        .record_document(acme, &old_document, Some(&old_revision), Some(&old_job))
        .await
        .unwrap();

    let item = |part_id: &str, description: &str| CoupaItem {
        part_id: part_id.to_owned(),
        auxiliary_id: None,
        buyer_part_id: None,
        manufacturer_part_id: None,
        unit_of_measure: "EA".to_owned(),
        description: description.to_owned(),
    };
    let mut writes: Vec<(AccountId, NewDocument, NewRevision, NewJob)> = (0..16)
        .map(|index| {
            let buyer = if index % 2 == 0 { initech } else { hooli };
            let number = format!("PO-{index}");
            let mut revision = new_revision(buyer, &number, Some(1), None);
            // Every order carries one shared item, described differently.
            revision.items = vec![
                item("BOLT-1", &format!("Bolt, batch {index}")),
                item(&format!("PART-{index}"), "Own part"),
            ];
            let document = new_document(buyer, &format!("p-{index}"), &format!("sha-{index}"));
            let job = new_job(acme, &format!("sync_order:{number}"), at(1));
            (acme, document, revision, job)
        })
        .collect();
    // 16: a copy of the first. 17: the second under a new payloadID.
    writes.push(writes[0].clone());
    let mut resent = writes[1].clone();
    resent.1.payload_id = "p-1-again".to_owned();
    resent.1.body_sha256 = "sha-1-again".to_owned();
    writes.push(resent);
    // 18: the stored order under a new payloadID. 19: a copy of its document.
    let old_again = new_document(initech, "old-again", "sha-old-again");
    writes.push((acme, old_again, old_revision.clone(), old_job.clone()));
    writes.push((acme, old_document, old_revision, old_job));
    // 20: another account's order with the same number as the first.
    writes.push((
        globex,
        new_document(globex_buyer, "p-0", "sha-0"),
        new_revision(globex_buyer, "PO-0", Some(1), None),
        new_job(globex, "sync_order:PO-0", at(1)),
    ));

    // Recorded concurrently, so the store may write them in one group.
    let results =
        futures::future::join_all(writes.iter().map(|(account, document, revision, job)| {
            store.record_document(*account, document, Some(revision), Some(job))
        }))
        .await;
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();

    let copies = (results[0].duplicate_of, results[16].duplicate_of);
    match copies {
        (None, Some(original)) => assert_eq!(original, results[0].document),
        (Some(original), None) => assert_eq!(original, results[16].document),
        other => panic!("one of two identical documents is a duplicate: {other:?}"),
    }
    assert_eq!(results[19].duplicate_of, Some(old.document));
    assert_eq!(results[18].po, old.po);
    assert_eq!(results[17].po, results[1].po);
    for (account, po) in [(acme, results[1].po), (acme, old.po)] {
        let po = store.purchase_order(account, po.unwrap()).await.unwrap();
        assert_eq!(po.revision_count, 2, "{}", po.number);
    }
    for ((account, _, revision, _), recorded) in writes.iter().zip(&results) {
        let Some(po) = recorded.po else {
            assert!(recorded.duplicate_of.is_some(), "{recorded:?}");
            continue;
        };
        let stored = store
            .revision(*account, recorded.revision.unwrap())
            .await
            .unwrap();
        assert_eq!(stored.document_id, recorded.document);
        assert_eq!(stored.po_id, po);
        assert_eq!(OrderJson::new(&stored.order), revision.order);
        let po = store.purchase_order(*account, po).await.unwrap();
        assert_eq!(po.number, revision.po_number);
        assert_eq!(po.buyer_id, revision.buyer);
    }

    let orders = store
        .list_purchase_orders(acme, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), 17, "PO-0 to PO-15 and PO-OLD, once each");
    let mut keys: Vec<String> = store
        .list_jobs(acme)
        .await
        .unwrap()
        .into_iter()
        .map(|job| job.key)
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 17, "one sync job per order: {keys:?}");
    assert_eq!(store.list_jobs(globex).await.unwrap().len(), 1);
    let items = store
        .list_coupa_items(acme, &ItemFilter::default())
        .await
        .unwrap();
    let bolts = items
        .iter()
        .filter(|row| row.item.part_id == "BOLT-1")
        .count();
    assert_eq!(bolts, 2, "the shared item once per buyer");
    assert_eq!(items.len(), 2 + 16);
}

pub async fn new_item_on_orders_stored_at_once_keeps_first_time(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let initech = buyer(store, acme, "initech").await;
    let bolt = CoupaItem {
        part_id: "BOLT-1".to_owned(),
        auxiliary_id: None,
        buyer_part_id: None,
        manufacturer_part_id: None,
        unit_of_measure: "EA".to_owned(),
        description: "Bolt".to_owned(),
    };
    let writes: Vec<_> = [1, 2]
        .into_iter()
        .map(|minute| {
            let number = format!("PO-{minute}");
            let mut document = new_document(initech, &number, &format!("sha-{minute}"));
            document.received_at = at(minute);
            let mut revision = new_revision(initech, &number, Some(1), None);
            revision.items = vec![bolt.clone()];
            let job = new_job(acme, &format!("sync_order:{number}"), at(minute));
            (document, revision, job)
        })
        .collect();

    // Recorded concurrently, so the store may write them in one group.
    let results = futures::future::join_all(writes.iter().map(|(document, revision, job)| {
        store.record_document(acme, document, Some(revision), Some(job))
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    let items = store
        .list_coupa_items(acme, &ItemFilter::default())
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].first_seen, at(1), "the first order's time");
}

pub async fn failed_record_document_stores_nothing(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "initech").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    let document = with_attachment(new_document(acme_buyer, "p-1", "sha-1"), "a1");

    // The revision names a buyer of another account.
    let foreign_revision = new_revision(globex_buyer, "PO-1", Some(1), None);
    let job = new_job(acme, "sync_order:PO-1", at(1));
    assert_not_found(
        store
            .record_document(acme, &document, Some(&foreign_revision), Some(&job))
            .await,
    );

    // The job names an account that does not exist.
    let revision = new_revision(acme_buyer, "PO-1", Some(1), None);
    let orphan_job = new_job(AccountId(999), "sync_order:PO-1", at(1));
    assert!(store
        .record_document(acme, &document, Some(&revision), Some(&orphan_job))
        .await
        .is_err());

    assert_eq!(
        store
            .find_duplicate_document(acme, acme_buyer, "p-1", "sha-1")
            .await
            .unwrap(),
        None
    );
    assert_not_found(store.document(acme, DocumentId(1)).await);
    assert!(store
        .list_purchase_orders(acme, &PoFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .purchase_order_by_number(acme, acme_buyer, &PoNumber("PO-1".to_owned()))
        .await
        .unwrap()
        .is_none());
    assert!(store.list_jobs(acme).await.unwrap().is_empty());
    assert_eq!(store.pending_job_count().await.unwrap(), 0);

    // The store still works after the rollbacks.
    let recorded = store
        .record_document(acme, &document, Some(&revision), Some(&job))
        .await
        .unwrap();
    assert_eq!(
        store
            .attachments(acme, recorded.document)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn duplicate_lookup_matches_buyer_payload_and_hash(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    let first = store
        .record_document(
            account_id,
            &new_document(initech, "p-1", "sha-1"),
            None,
            None,
        )
        .await
        .unwrap()
        .document;
    let mut resent = new_document(initech, "p-1", "sha-1");
    resent.outcome = DocumentOutcome::Duplicate;
    resent.duplicate_of = Some(first);
    let second = store
        .record_document(account_id, &resent, None, None)
        .await
        .unwrap()
        .document;

    let found = store
        .find_duplicate_document(account_id, initech, "p-1", "sha-1")
        .await
        .unwrap();
    assert_eq!(found, Some(first));
    assert_eq!(
        store
            .document(account_id, second)
            .await
            .unwrap()
            .duplicate_of,
        Some(first)
    );
    let lookups = [
        (initech, "p-1", "sha-2"),
        (initech, "p-2", "sha-1"),
        (hooli, "p-1", "sha-1"),
    ];
    for (buyer_id, payload_id, sha) in lookups {
        let found = store
            .find_duplicate_document(account_id, buyer_id, payload_id, sha)
            .await
            .unwrap();
        assert_eq!(found, None, "{buyer_id} {payload_id} {sha}");
    }
}

pub async fn accepted_copy_is_stored_as_duplicate(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let document = with_attachment(new_document(buyer_id, "p-1", "sha-1"), "a1");
    let first = store
        .record_document(
            account_id,
            &document,
            Some(&new_revision(buyer_id, "PO-1", Some(1), None)),
            Some(&new_job(account_id, "sync_order:PO-1", at(1))),
        )
        .await
        .unwrap();
    assert_eq!(first.duplicate_of, None);

    // Another PO number and job key, so a stored revision or queued job would show.
    let copy = store
        .record_document(
            account_id,
            &document,
            Some(&new_revision(buyer_id, "PO-2", Some(1), None)),
            Some(&new_job(account_id, "sync_order:PO-2", at(1))),
        )
        .await
        .unwrap();

    assert_eq!(copy.duplicate_of, Some(first.document));
    assert_eq!(copy.po, None);
    assert_eq!(copy.revision, None);
    assert!(!copy.is_latest);
    let stored = store.document(account_id, copy.document).await.unwrap();
    assert_eq!(stored.outcome, DocumentOutcome::Duplicate);
    assert_eq!(stored.duplicate_of, Some(first.document));
    assert_eq!(
        store
            .attachments(account_id, copy.document)
            .await
            .unwrap()
            .len(),
        1
    );
    let orders = store
        .list_purchase_orders(account_id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].revision_count, 1);
    let jobs = store.list_jobs(account_id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].key, "sync_order:PO-1");
}

pub async fn only_accepted_documents_are_checked_for_copies(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let first = store
        .record_document(
            account_id,
            &new_document(buyer_id, "p-1", "sha-1"),
            None,
            None,
        )
        .await
        .unwrap()
        .document;

    let mut test_copy = new_document(buyer_id, "p-1", "sha-1");
    test_copy.outcome = DocumentOutcome::TestNotSynced;
    let recorded = store
        .record_document(account_id, &test_copy, None, None)
        .await
        .unwrap();
    assert_eq!(recorded.duplicate_of, None);
    let stored = store.document(account_id, recorded.document).await.unwrap();
    assert_eq!(stored.outcome, DocumentOutcome::TestNotSynced);

    let changed_body = new_document(buyer_id, "p-1", "sha-2");
    let recorded = store
        .record_document(
            account_id,
            &changed_body,
            Some(&new_revision(buyer_id, "PO-1", Some(1), None)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(recorded.duplicate_of, None);
    assert!(recorded.revision.is_some());

    // The earliest of several matching documents is the original.
    let recorded = store
        .record_document(
            account_id,
            &new_document(buyer_id, "p-1", "sha-1"),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(recorded.duplicate_of, Some(first));
}

pub async fn duplicate_of_another_account_is_rejected(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "initech").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    let original = store
        .record_document(
            globex,
            &new_document(globex_buyer, "p-1", "sha-1"),
            None,
            None,
        )
        .await
        .unwrap()
        .document;
    let mut copy = new_document(acme_buyer, "p-1", "sha-1");
    copy.duplicate_of = Some(original);

    assert_not_found(store.record_document(acme, &copy, None, None).await);
}

/// Checks that every read and write of account A's records through account
/// B behaves as if the record did not exist.
pub async fn other_accounts_records_are_not_found(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "initech").await;
    let document = with_attachment(new_document(acme_buyer, "p-1", "sha-1"), "a1");
    let revision = new_revision(acme_buyer, "PO-1", Some(1), None);
    let job = new_job(acme, "sync_order:PO-1", at(0));
    let recorded = store
        .record_document(acme, &document, Some(&revision), Some(&job))
        .await
        .unwrap();
    let po = recorded.po.unwrap();
    let revision_id = recorded.revision.unwrap();
    let number = PoNumber("PO-1".to_owned());

    assert_buyer_hidden(store, acme, globex, acme_buyer).await;
    assert_not_found(store.document(globex, recorded.document).await);
    assert_not_found(store.attachments(globex, recorded.document).await);
    assert_eq!(
        store
            .find_duplicate_document(globex, acme_buyer, "p-1", "sha-1")
            .await
            .unwrap(),
        None
    );
    assert_order_hidden(store, globex, po, revision_id).await;
    assert!(store
        .purchase_order_by_number(globex, acme_buyer, &number)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .list_purchase_orders(globex, &PoFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_jobs(globex).await.unwrap().is_empty());

    // Nothing of account A changed.
    let po_row = store.purchase_order(acme, po).await.unwrap();
    assert_eq!(po_row.status, PoStatus::Received);
    assert_eq!(po_row.create_attempted_ref, None);
    assert!(store.events(acme, po).await.unwrap().is_empty());
    assert_eq!(
        store.revision(acme, revision_id).await.unwrap().status,
        RevisionStatus::Pending
    );
    let jobs = store.list_jobs(acme).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Queued);
}

async fn assert_buyer_hidden(
    store: &dyn Store,
    owner: AccountId,
    other: AccountId,
    buyer_id: BuyerId,
) {
    let hidden = store.buyer(owner, buyer_id).await.unwrap();
    assert_not_found(store.buyer(other, buyer_id).await);
    assert_not_found(store.buyer_by_name(other, &hidden.name).await);
    let token = hidden.url_token.as_deref().unwrap();
    assert_not_found(store.buyer_by_url_token(other, token).await);
    assert_not_found(store.update_buyer(other, &hidden).await);
    assert!(store.list_buyers(other).await.unwrap().is_empty());
    assert_not_found(store.customer_mappings(other, buyer_id).await);
    assert_not_found(store.record_coupa_items(other, buyer_id, &[], at(0)).await);
}

async fn assert_order_hidden(store: &dyn Store, other: AccountId, po: PoId, revision: RevisionId) {
    let update = PoStatusUpdate {
        status: PoStatus::Failed,
        reason: Some("hijacked".to_owned()),
        brightpearl_order_id: None,
        synced_revision: None,
        event: "hijacked".to_owned(),
    };
    assert_not_found(store.purchase_order(other, po).await);
    assert_not_found(store.revisions(other, po).await);
    assert_not_found(store.revision(other, revision).await);
    assert_not_found(store.events(other, po).await);
    assert_not_found(store.set_po_status(other, po, &update, at(5)).await);
    assert_not_found(store.mark_create_attempted(other, po, "ref", at(5)).await);
    assert_not_found(
        store
            .set_revision_status(other, revision, RevisionStatus::Synced)
            .await,
    );
}
