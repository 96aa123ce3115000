//! Purchase orders: which revision is the latest, status changes, events
//! and listing.

use chrono::FixedOffset;
use pobridge_core::{PoNumber, RevisionId};
use pobridge_store::{PoFilter, PoStatus, PoStatusUpdate, RevisionStatus, Store};

use super::*;

/// One received revision: order version, and document timestamp as minutes
/// after 09:00 UTC written with an offset of the given hours. A missing
/// version or version 1 makes it a new order, a higher one an update.
type Arrival = (Option<i64>, Option<(i64, i32)>);

struct OrderingCase {
    name: &'static str,
    arrivals: &'static [Arrival],
    /// `is_latest` reported for each arrival.
    latest_on_arrival: &'static [bool],
    /// Index of the order's latest revision after all arrivals.
    latest: usize,
}

const ORDERING_CASES: &[OrderingCase] = &[
    OrderingCase {
        name: "versions ascending",
        arrivals: &[(Some(1), None), (Some(2), None)],
        latest_on_arrival: &[true, true],
        latest: 1,
    },
    OrderingCase {
        name: "older version arrives late",
        arrivals: &[(Some(2), None), (Some(1), None)],
        latest_on_arrival: &[true, false],
        latest: 0,
    },
    OrderingCase {
        name: "three versions, middle one late",
        arrivals: &[(Some(1), None), (Some(3), None), (Some(2), None)],
        latest_on_arrival: &[true, true, false],
        latest: 1,
    },
    OrderingCase {
        name: "version wins over timestamp",
        arrivals: &[(Some(2), Some((5, 0))), (Some(1), Some((10, 0)))],
        latest_on_arrival: &[true, false],
        latest: 0,
    },
    OrderingCase {
        name: "equal versions, older timestamp arrives late",
        arrivals: &[(Some(1), Some((10, 0))), (Some(1), Some((5, 0)))],
        latest_on_arrival: &[true, false],
        latest: 0,
    },
    OrderingCase {
        name: "no versions, timestamps ascending",
        arrivals: &[(None, Some((5, 0))), (None, Some((10, 0)))],
        latest_on_arrival: &[true, true],
        latest: 1,
    },
    OrderingCase {
        name: "new order without version counts as version 1",
        arrivals: &[(Some(4), Some((10, 0))), (None, Some((5, 0)))],
        latest_on_arrival: &[true, false],
        latest: 0,
    },
    OrderingCase {
        name: "resent new order and an older update, equal timestamps",
        arrivals: &[
            (Some(3), Some((5, 0))),
            (None, Some((5, 0))),
            (Some(2), Some((5, 0))),
        ],
        latest_on_arrival: &[true, false, false],
        latest: 0,
    },
    OrderingCase {
        name: "timestamps compare in UTC whatever the offset",
        // 11:00+02:00 is 09:00 UTC, earlier than 09:10 UTC.
        arrivals: &[(None, Some((10, 0))), (None, Some((0, 2)))],
        latest_on_arrival: &[true, false],
        latest: 0,
    },
    OrderingCase {
        name: "resend with equal version and timestamp",
        arrivals: &[(Some(1), Some((5, 0))), (Some(1), Some((5, 0)))],
        latest_on_arrival: &[true, true],
        latest: 1,
    },
    OrderingCase {
        name: "nothing to compare, arrival decides",
        arrivals: &[(None, None), (Some(1), None), (None, Some((5, 0)))],
        latest_on_arrival: &[true, true, true],
        latest: 2,
    },
];

fn timestamp((minutes, offset_hours): (i64, i32)) -> chrono::DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(offset_hours * 3600).unwrap();
    at(minutes).with_timezone(&offset)
}

pub async fn latest_revision_follows_ordering_table(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;

    for (case_index, case) in ORDERING_CASES.iter().enumerate() {
        let number = format!("PO-{case_index}");
        let mut ids = Vec::new();
        let mut po = None;
        for (index, (version, time)) in case.arrivals.iter().enumerate() {
            let revision = new_revision(buyer_id, &number, *version, time.map(timestamp));
            let payload = format!("{number}-{index}");
            let recorded = receive(store, account_id, &revision, &payload).await;
            assert_eq!(
                recorded.is_latest, case.latest_on_arrival[index],
                "{}: arrival {index}",
                case.name
            );
            ids.push(recorded.revision.unwrap());
            po = recorded.po;
        }

        let po = store.purchase_order(account_id, po.unwrap()).await.unwrap();
        assert_eq!(po.latest_revision, ids[case.latest], "{}", case.name);
        assert_eq!(po.revision_count, ids.len() as i64, "{}", case.name);
        let revisions = store.revisions(account_id, po.id).await.unwrap();
        let stored_ids: Vec<RevisionId> = revisions.iter().map(|revision| revision.id).collect();
        assert_eq!(stored_ids, ids, "{}: arrival order", case.name);
        for (index, revision) in revisions.iter().enumerate() {
            let expected = if index == case.latest {
                RevisionStatus::Pending
            } else {
                RevisionStatus::Superseded
            };
            assert_eq!(revision.status, expected, "{}: revision {index}", case.name);
        }
    }
}

pub async fn new_latest_supersedes_only_pending_revisions(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let first = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(1), None),
        "p1",
    )
    .await;
    let first_id = first.revision.unwrap();
    store
        .set_revision_status(account_id, first_id, RevisionStatus::Synced)
        .await
        .unwrap();
    let second = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(2), None),
        "p2",
    )
    .await;
    let third = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(3), None),
        "p3",
    )
    .await;

    assert_eq!(first.po, third.po);
    let status_of =
        |id: RevisionId| async move { store.revision(account_id, id).await.unwrap().status };
    assert_eq!(status_of(first_id).await, RevisionStatus::Synced);
    assert_eq!(
        status_of(second.revision.unwrap()).await,
        RevisionStatus::Superseded
    );
    assert_eq!(
        status_of(third.revision.unwrap()).await,
        RevisionStatus::Pending
    );
}

pub async fn late_revision_is_superseded_whatever_its_status(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let newer = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(2), None),
        "p2",
    )
    .await;
    let mut older = new_revision(buyer_id, "PO-1", Some(1), None);
    older.status = RevisionStatus::TestNotSynced;
    older.test = true;

    let late = receive(store, account_id, &older, "p1").await;

    assert!(!late.is_latest);
    let stored = store
        .revision(account_id, late.revision.unwrap())
        .await
        .unwrap();
    assert_eq!(stored.status, RevisionStatus::Superseded);
    assert!(stored.test);
    let po = store
        .purchase_order(account_id, late.po.unwrap())
        .await
        .unwrap();
    assert_eq!(po.latest_revision, newer.revision.unwrap());
    assert_eq!(
        store
            .revision(account_id, po.latest_revision)
            .await
            .unwrap()
            .status,
        RevisionStatus::Pending
    );
}

fn update(status: PoStatus, reason: Option<&str>, event: &str) -> PoStatusUpdate {
    PoStatusUpdate {
        status,
        reason: reason.map(str::to_owned),
        brightpearl_order_id: None,
        synced_revision: None,
        event: event.to_owned(),
    }
}

pub async fn status_updates_keep_ids_and_append_events(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let recorded = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(1), None),
        "p1",
    )
    .await;
    let po = recorded.po.unwrap();
    let revision = recorded.revision.unwrap();

    let synced = PoStatusUpdate {
        brightpearl_order_id: Some(7701),
        synced_revision: Some(revision),
        ..update(PoStatus::Synced, None, "created sales order 7701")
    };
    store
        .set_po_status(account_id, po, &synced, at(10))
        .await
        .unwrap();
    let held = update(
        PoStatus::HeldForReview,
        Some("update after sync – review"),
        "held",
    );
    store
        .set_po_status(account_id, po, &held, at(11))
        .await
        .unwrap();

    let row = store.purchase_order(account_id, po).await.unwrap();
    assert_eq!(row.status, PoStatus::HeldForReview);
    assert_eq!(row.reason.as_deref(), Some("update after sync – review"));
    assert_eq!(row.brightpearl_order_id, Some(7701));
    assert_eq!(row.synced_revision, Some(revision));
    assert_eq!(row.updated_at, at(11));

    store
        .set_po_status(
            account_id,
            po,
            &update(PoStatus::Synced, None, "handled"),
            at(12),
        )
        .await
        .unwrap();
    assert_eq!(
        store.purchase_order(account_id, po).await.unwrap().reason,
        None
    );

    let events = store.events(account_id, po).await.unwrap();
    let summary: Vec<(chrono::DateTime<chrono::Utc>, PoStatus, &str)> = events
        .iter()
        .map(|event| (event.at, event.status, event.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (at(10), PoStatus::Synced, "created sales order 7701"),
            (at(11), PoStatus::HeldForReview, "held"),
            (at(12), PoStatus::Synced, "handled"),
        ]
    );
}

pub async fn synced_revision_must_belong_to_the_order(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let one = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(1), None),
        "p1",
    )
    .await;
    let two = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-2", Some(1), None),
        "p2",
    )
    .await;
    let wrong = PoStatusUpdate {
        synced_revision: two.revision,
        ..update(PoStatus::Synced, None, "synced")
    };

    assert_not_found(
        store
            .set_po_status(account_id, one.po.unwrap(), &wrong, at(5))
            .await,
    );
    let row = store
        .purchase_order(account_id, one.po.unwrap())
        .await
        .unwrap();
    assert_eq!(row.status, PoStatus::Received);
    assert!(store.events(account_id, row.id).await.unwrap().is_empty());
}

pub async fn create_attempt_is_recorded(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let recorded = receive(
        store,
        account_id,
        &new_revision(buyer_id, "PO-1", Some(1), None),
        "p1",
    )
    .await;
    let po = recorded.po.unwrap();

    store
        .mark_create_attempted(account_id, po, "coupa-1-PO-1", at(20))
        .await
        .unwrap();

    let row = store.purchase_order(account_id, po).await.unwrap();
    assert_eq!(row.create_attempted_ref.as_deref(), Some("coupa-1-PO-1"));
    assert_eq!(row.updated_at, at(20));
}

pub async fn order_list_filters_and_pages_newest_first(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    let orders = [
        (initech, "PO-1001", 1),
        (hooli, "PO-1002", 2),
        (initech, "X-77", 3),
    ];
    let mut ids = Vec::new();
    for (buyer_id, number, minute) in orders {
        let mut document = new_document(buyer_id, number, number);
        document.received_at = at(minute);
        let revision = new_revision(buyer_id, number, Some(1), None);
        let recorded = store
            .record_document(account_id, &document, Some(&revision), None)
            .await
            .unwrap();
        ids.push(recorded.po.unwrap());
    }
    let failed = update(PoStatus::Failed, Some("rejected"), "failed");
    store
        .set_po_status(account_id, ids[1], &failed, at(9))
        .await
        .unwrap();

    let list = |filter: PoFilter| async move {
        let orders = store
            .list_purchase_orders(account_id, &filter)
            .await
            .unwrap();
        orders.into_iter().map(|po| po.number.0).collect::<Vec<_>>()
    };
    assert_eq!(
        list(PoFilter::default()).await,
        ["X-77", "PO-1002", "PO-1001"]
    );
    let by_status = PoFilter {
        status: Some(PoStatus::Received),
        ..PoFilter::default()
    };
    assert_eq!(list(by_status).await, ["X-77", "PO-1001"]);
    let by_buyer = PoFilter {
        buyer: Some(hooli),
        ..PoFilter::default()
    };
    assert_eq!(list(by_buyer).await, ["PO-1002"]);
    let by_number = PoFilter {
        search: Some("po-10".to_owned()),
        ..PoFilter::default()
    };
    assert_eq!(list(by_number).await, ["PO-1002", "PO-1001"]);
    let page = PoFilter {
        limit: Some(1),
        offset: Some(1),
        ..PoFilter::default()
    };
    assert_eq!(list(page).await, ["PO-1002"]);

    let found = store
        .purchase_order_by_number(account_id, initech, &PoNumber("X-77".to_owned()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, ids[2]);
    let other_buyer = store
        .purchase_order_by_number(account_id, hooli, &PoNumber("X-77".to_owned()))
        .await
        .unwrap();
    assert!(other_buyer.is_none());
}
