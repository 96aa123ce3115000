//! Invoicing: tracked Brightpearl orders, row links, invoices and credits,
//! invoiced quantities and the pollers' cursors.

use pobridge_core::PoId;
use pobridge_store::{
    InvoiceContent, InvoiceFilter, InvoiceId, InvoiceKind, InvoiceRecord, InvoiceStatus,
    InvoiceUpdate, InvoicedLine, NewInvoice, RowLink, Store, TrackedKind, TrackedOrder,
};
use rust_decimal::Decimal;

use super::*;

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// Records a first revision of `number` and returns its purchase order.
async fn order(store: &dyn Store, account: AccountId, buyer: BuyerId, number: &str) -> PoId {
    let revision = new_revision(buyer, number, Some(1), None);
    receive(store, account, &revision, &format!("payload-{number}"))
        .await
        .po
        .unwrap()
}

pub fn new_invoice(po: PoId, buyer: BuyerId, number: &str, lines: &[(u32, &str)]) -> NewInvoice {
    NewInvoice {
        po,
        buyer,
        brightpearl_order_id: 300,
        invoice_number: number.to_owned(),
        kind: InvoiceKind::Invoice,
        invoice_date: at_plus_two(0),
        currency: "EUR".to_owned(),
        brightpearl_total: decimal("1999.99"),
        sent_total: decimal("1999.990"),
        document: format!("<cXML payloadID=\"{number}\">Zürich – ½\"</cXML>"),
        status: InvoiceStatus::Pending,
        reason: None,
        lines: lines
            .iter()
            .map(|(po_line_number, quantity)| InvoicedLine {
                po_line_number: *po_line_number,
                quantity: decimal(quantity),
            })
            .collect(),
    }
}

fn with_status(mut invoice: NewInvoice, kind: InvoiceKind, status: InvoiceStatus) -> NewInvoice {
    invoice.kind = kind;
    invoice.status = status;
    invoice
}

fn status_update(status: InvoiceStatus) -> InvoiceUpdate {
    InvoiceUpdate {
        status,
        reason: None,
        coupa_status: None,
        coupa_text: None,
        counts_attempt: false,
        outcome_unknown: None,
        document: None,
        sent_at: None,
    }
}

fn tracked(id: i64, po: PoId, kind: TrackedKind, parent: Option<i64>) -> TrackedOrder {
    TrackedOrder {
        brightpearl_order_id: id,
        po_id: po,
        kind,
        parent_order_id: parent,
        invoice_reference: None,
        version: None,
        open: true,
        checked_at: at(1),
    }
}

fn link(brightpearl_order_id: i64, row_id: i64, line_number: u32) -> RowLink {
    RowLink {
        brightpearl_order_id,
        row_id,
        line_number,
    }
}

fn numbers(invoices: &[InvoiceRecord]) -> Vec<&str> {
    invoices
        .iter()
        .map(|invoice| invoice.invoice_number.as_str())
        .collect()
}

pub async fn invoice_round_trip_is_exact(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let mut invoice = new_invoice(
        po,
        buyer_id,
        "INV-001",
        &[(1, "2.50"), (2, "0.333"), (1, "1")],
    );
    invoice.reason = Some("first invoice".to_owned());

    let created = store
        .create_invoice(account_id, &invoice, None, at(3))
        .await
        .unwrap();
    assert_eq!(created.account_id, account_id);
    assert_eq!(created.lines, invoice.lines);
    assert_eq!(created.attempts, 0);
    assert!(!created.outcome_unknown);
    assert_eq!(created.coupa_status, None);
    assert_eq!(created.created_at, at(3));
    assert_eq!(created.updated_at, at(3));
    assert_eq!(created.sent_at, None);

    let stored = store.invoice(account_id, created.id).await.unwrap();
    assert_eq!(stored, created);
    assert_eq!(stored.sent_total.to_string(), "1999.990");
    assert_eq!(stored.lines[0].quantity.to_string(), "2.50");
    assert_eq!(stored.invoice_date, at_plus_two(0));
    assert_eq!(stored.invoice_date.offset(), at_plus_two(0).offset());
    assert_eq!(stored.document, invoice.document);

    let by_number = store
        .invoice_by_number(account_id, buyer_id, "INV-001")
        .await
        .unwrap();
    assert_eq!(by_number, Some(created.clone()));
    let for_po = store.invoices_for_po(account_id, po).await.unwrap();
    assert_eq!(for_po, std::slice::from_ref(&created));
    let listed = store
        .list_invoices(account_id, &InvoiceFilter::default())
        .await
        .unwrap();
    assert_eq!(listed, [created]);
    assert_not_found(store.invoice(account_id, InvoiceId(999)).await);
    let missing = store
        .invoice_by_number(account_id, buyer_id, "INV-002")
        .await
        .unwrap();
    assert_eq!(missing, None);
}

pub async fn invoice_number_is_unique_per_buyer(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let initech = buyer(store, acme, "initech").await;
    let hooli = buyer(store, acme, "hooli").await;
    let initech_po = order(store, acme, initech, "PO-1").await;
    let hooli_po = order(store, acme, hooli, "PO-1").await;
    let first = new_invoice(initech_po, initech, "INV-1", &[(1, "1")]);
    store
        .create_invoice(acme, &first, None, at(1))
        .await
        .unwrap();

    // A credit with the number of an existing invoice conflicts too.
    let again = with_status(first.clone(), InvoiceKind::Credit, InvoiceStatus::Held);
    assert_conflict(store.create_invoice(acme, &again, None, at(2)).await);

    let other_buyer = new_invoice(hooli_po, hooli, "INV-1", &[(1, "1")]);
    store
        .create_invoice(acme, &other_buyer, None, at(2))
        .await
        .unwrap();
    let globex = account(store, "globex").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    let globex_po = order(store, globex, globex_buyer, "PO-1").await;
    let other_account = new_invoice(globex_po, globex_buyer, "INV-1", &[(1, "1")]);
    store
        .create_invoice(globex, &other_account, None, at(2))
        .await
        .unwrap();

    let stored = store.invoices_for_po(acme, initech_po).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kind, InvoiceKind::Invoice);
    assert_eq!(stored[0].created_at, at(1));
    assert_eq!(
        store.invoices_for_po(acme, hooli_po).await.unwrap().len(),
        1
    );
}

pub async fn invoice_must_name_the_orders_buyer(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let initech = buyer(store, acme, "initech").await;
    let hooli = buyer(store, acme, "hooli").await;
    let po = order(store, acme, initech, "PO-1").await;

    let wrong_buyer = new_invoice(po, hooli, "INV-1", &[(1, "1")]);
    assert_not_found(store.create_invoice(acme, &wrong_buyer, None, at(1)).await);
    let missing_po = new_invoice(PoId(999), initech, "INV-1", &[(1, "1")]);
    assert_not_found(store.create_invoice(acme, &missing_po, None, at(1)).await);
    assert!(store.invoices_for_po(acme, po).await.unwrap().is_empty());
}

pub async fn failed_create_invoice_stores_nothing(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let buyer_id = buyer(store, acme, "initech").await;
    let po = order(store, acme, buyer_id, "PO-1").await;
    let invoice = new_invoice(po, buyer_id, "INV-1", &[(1, "4")]);

    for wrong_account in [AccountId(999), globex] {
        let job = new_job(wrong_account, "send_invoice:INV-1", at(1));
        assert_not_found(
            store
                .create_invoice(acme, &invoice, Some(&job), at(1))
                .await,
        );
    }
    let stored = store
        .invoice_by_number(acme, buyer_id, "INV-1")
        .await
        .unwrap();
    assert_eq!(stored, None);
    assert!(store
        .invoiced_quantities(acme, po)
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_jobs(acme).await.unwrap().is_empty());
    assert!(store.list_jobs(globex).await.unwrap().is_empty());
    assert_eq!(store.pending_job_count().await.unwrap(), 0);

    let job = new_job(acme, "send_invoice:INV-1", at(1));
    let created = store
        .create_invoice(acme, &invoice, Some(&job), at(2))
        .await
        .unwrap();
    let jobs = store.list_jobs(acme).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].key, "send_invoice:INV-1");
    assert_eq!(jobs[0].created_at, at(2));

    // A conflicting invoice does not queue its job either.
    let second_job = new_job(acme, "send_invoice:INV-1-again", at(3));
    assert_conflict(
        store
            .create_invoice(acme, &invoice, Some(&second_job), at(3))
            .await,
    );
    assert_eq!(store.list_jobs(acme).await.unwrap().len(), 1);
    assert_eq!(store.invoices_for_po(acme, po).await.unwrap(), [created]);
}

pub async fn invoice_updates_replace_or_keep_fields(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let invoice = new_invoice(po, buyer_id, "INV-1", &[(1, "1")]);
    let id = store
        .create_invoice(account_id, &invoice, None, at(1))
        .await
        .unwrap()
        .id;

    let sending = InvoiceUpdate {
        reason: Some("connection reset".to_owned()),
        coupa_status: Some(503),
        coupa_text: Some("Service Unavailable".to_owned()),
        counts_attempt: true,
        outcome_unknown: Some(true),
        ..status_update(InvoiceStatus::Sending)
    };
    store
        .update_invoice(account_id, id, &sending, at(2))
        .await
        .unwrap();
    let stored = store.invoice(account_id, id).await.unwrap();
    assert_eq!(stored.status, InvoiceStatus::Sending);
    assert_eq!(stored.attempts, 1);
    assert!(stored.outcome_unknown);
    assert_eq!(stored.coupa_status, Some(503));
    assert_eq!(stored.document, invoice.document);
    assert_eq!(stored.created_at, at(1));
    assert_eq!(stored.updated_at, at(2));

    let resent = "<cXML payloadID=\"INV-1-2\"/>".to_owned();
    let sent = InvoiceUpdate {
        coupa_status: Some(200),
        coupa_text: Some("OK".to_owned()),
        counts_attempt: true,
        document: Some(resent.clone()),
        sent_at: Some(at(3)),
        ..status_update(InvoiceStatus::Sent)
    };
    store
        .update_invoice(account_id, id, &sent, at(3))
        .await
        .unwrap();
    let stored = store.invoice(account_id, id).await.unwrap();
    assert_eq!(stored.status, InvoiceStatus::Sent);
    assert_eq!(stored.reason, None);
    assert_eq!(stored.attempts, 2);
    assert!(stored.outcome_unknown, "None keeps outcome_unknown");
    assert_eq!(stored.coupa_text.as_deref(), Some("OK"));
    assert_eq!(stored.document, resent);
    assert_eq!(stored.sent_at, Some(at(3)));

    let changed = InvoiceUpdate {
        reason: Some("total changed in Brightpearl".to_owned()),
        outcome_unknown: Some(false),
        ..status_update(InvoiceStatus::ChangedAfterSending)
    };
    store
        .update_invoice(account_id, id, &changed, at(4))
        .await
        .unwrap();
    let stored = store.invoice(account_id, id).await.unwrap();
    assert_eq!(stored.status, InvoiceStatus::ChangedAfterSending);
    assert_eq!(stored.attempts, 2);
    assert!(!stored.outcome_unknown);
    assert_eq!(stored.coupa_status, None);
    assert_eq!(stored.coupa_text, None);
    assert_eq!(stored.document, resent);
    assert_eq!(stored.sent_at, Some(at(3)));
    assert_eq!(stored.updated_at, at(4));

    let update = status_update(InvoiceStatus::Sent);
    assert_not_found(
        store
            .update_invoice(account_id, InvoiceId(999), &update, at(5))
            .await,
    );
}

pub async fn conditional_update_needs_expected_status(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let held_invoice = with_status(
        new_invoice(po, buyer_id, "INV-1", &[(1, "1")]),
        InvoiceKind::Invoice,
        InvoiceStatus::Held,
    );
    let id = store
        .create_invoice(account_id, &held_invoice, None, at(1))
        .await
        .unwrap()
        .id;
    let sending = status_update(InvoiceStatus::Sending);
    let sent = status_update(InvoiceStatus::Sent);

    let from_pending = store
        .update_invoice_from(account_id, id, InvoiceStatus::Pending, &sending, at(2))
        .await
        .unwrap();
    let from_held = store
        .update_invoice_from(account_id, id, InvoiceStatus::Held, &sent, at(3))
        .await
        .unwrap();
    let held_again = store
        .update_invoice_from(account_id, id, InvoiceStatus::Held, &sending, at(4))
        .await
        .unwrap();

    assert!(!from_pending);
    assert!(from_held);
    assert!(!held_again);
    let stored = store.invoice(account_id, id).await.unwrap();
    assert_eq!(stored.status, InvoiceStatus::Sent);
    assert_eq!(stored.updated_at, at(3));
    let other = account(store, "globex").await;
    assert_not_found(
        store
            .update_invoice_from(other, id, InvoiceStatus::Sent, &sending, at(5))
            .await,
    );
    assert_not_found(
        store
            .update_invoice_from(
                account_id,
                InvoiceId(999),
                InvoiceStatus::Sent,
                &sending,
                at(5),
            )
            .await,
    );
}

pub async fn invoice_job_names_the_new_invoice(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let buyer_id = buyer(store, acme, "initech").await;
    let po = order(store, acme, buyer_id, "PO-1").await;
    let invoice = new_invoice(po, buyer_id, "INV-1", &[(1, "4")]);
    let job_for = |account: AccountId| {
        move |id: InvoiceId| new_job(account, &format!("send_invoice:{id}"), at(1))
    };

    assert_not_found(
        store
            .create_invoice_with_job(acme, &invoice, &job_for(globex), at(1))
            .await,
    );
    assert!(store.invoices_for_po(acme, po).await.unwrap().is_empty());
    assert!(store.list_jobs(globex).await.unwrap().is_empty());

    let created = store
        .create_invoice_with_job(acme, &invoice, &job_for(acme), at(2))
        .await
        .unwrap();
    let jobs = store.list_jobs(acme).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].key, format!("send_invoice:{}", created.id));
    assert_eq!(store.invoice(acme, created.id).await.unwrap(), created);

    assert_conflict(
        store
            .create_invoice_with_job(acme, &invoice, &job_for(acme), at(3))
            .await,
    );
    assert_eq!(store.list_jobs(acme).await.unwrap().len(), 1);
}

pub async fn replaced_content_replaces_lines_and_keeps_identity(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let held = with_status(
        new_invoice(po, buyer_id, "INV-1", &[(1, "1"), (2, "5")]),
        InvoiceKind::Invoice,
        InvoiceStatus::Held,
    );
    let id = store
        .create_invoice(account_id, &held, None, at(1))
        .await
        .unwrap()
        .id;

    let content = InvoiceContent {
        invoice_date: at_plus_two(60),
        currency: "USD".to_owned(),
        brightpearl_total: decimal("12.50"),
        sent_total: decimal("12.5"),
        document: "<cXML payloadID=\"INV-1-rebuilt\"/>".to_owned(),
        status: InvoiceStatus::Pending,
        reason: None,
        lines: vec![InvoicedLine {
            po_line_number: 3,
            quantity: decimal("2.5"),
        }],
    };
    let replaced = store
        .replace_invoice_content(account_id, id, InvoiceStatus::Held, &content, at(2))
        .await
        .unwrap();
    assert!(replaced);

    let stored = store.invoice(account_id, id).await.unwrap();
    assert_eq!(stored.invoice_number, "INV-1");
    assert_eq!(stored.kind, InvoiceKind::Invoice);
    assert_eq!(stored.invoice_date, content.invoice_date);
    assert_eq!(stored.invoice_date.offset(), content.invoice_date.offset());
    assert_eq!(stored.currency, "USD");
    assert_eq!(stored.brightpearl_total.to_string(), "12.50");
    assert_eq!(stored.sent_total.to_string(), "12.5");
    assert_eq!(stored.document, content.document);
    assert_eq!(stored.status, InvoiceStatus::Pending);
    assert_eq!(stored.reason, None);
    assert_eq!(stored.lines, content.lines);
    assert_eq!(stored.created_at, at(1));
    assert_eq!(stored.updated_at, at(2));
    let quantities = store.invoiced_quantities(account_id, po).await.unwrap();
    assert_eq!(quantities, vec![(3, decimal("2.5"), Decimal::ZERO)]);

    let other = account(store, "globex").await;
    assert_not_found(
        store
            .replace_invoice_content(other, id, InvoiceStatus::Pending, &content, at(3))
            .await,
    );
    assert_not_found(
        store
            .replace_invoice_content(
                account_id,
                InvoiceId(999),
                InvoiceStatus::Pending,
                &content,
                at(3),
            )
            .await,
    );
    // Rebuilt from a held invoice that has since changed: nothing is written.
    let stale = store
        .replace_invoice_content(account_id, id, InvoiceStatus::Held, &content, at(3))
        .await
        .unwrap();
    assert!(!stale);
    let unchanged = store.invoice(account_id, id).await.unwrap();
    assert_eq!(unchanged.updated_at, at(2));
}

pub async fn invoiced_quantities_exclude_failed_held_and_superseded(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let other_po = order(store, account_id, buyer_id, "PO-2").await;
    let invoice = |number: &str, kind, status, lines: &[(u32, &str)]| {
        with_status(new_invoice(po, buyer_id, number, lines), kind, status)
    };
    use InvoiceKind::{Credit, Invoice};
    let documents = [
        invoice(
            "INV-1",
            Invoice,
            InvoiceStatus::Sent,
            &[(1, "10"), (2, "2.5")],
        ),
        invoice("INV-2", Invoice, InvoiceStatus::Pending, &[(1, "5")]),
        invoice(
            "INV-3",
            Invoice,
            InvoiceStatus::Failed,
            &[(1, "100"), (3, "7")],
        ),
        invoice("INV-4", Invoice, InvoiceStatus::Held, &[(2, "50")]),
        invoice("INV-5", Invoice, InvoiceStatus::NeedsAttention, &[(2, "1")]),
        invoice(
            "CR-1",
            Credit,
            InvoiceStatus::ProbablyDelivered,
            &[(1, "3"), (2, "0.25")],
        ),
        invoice("CR-2", Credit, InvoiceStatus::Failed, &[(1, "1")]),
        invoice("INV-6", Invoice, InvoiceStatus::Superseded, &[(1, "40")]),
        new_invoice(other_po, buyer_id, "INV-9", &[(1, "1000")]),
    ];
    let mut ids = Vec::new();
    for document in &documents {
        let created = store
            .create_invoice(account_id, document, None, at(1))
            .await
            .unwrap();
        ids.push(created.id);
    }

    let quantities = store.invoiced_quantities(account_id, po).await.unwrap();
    assert_eq!(
        quantities,
        [
            (1, decimal("12"), decimal("3")),
            (2, decimal("3.25"), decimal("0.25")),
        ]
    );

    // The status at the time of the query counts: INV-2 failing drops its 5.
    let failed = status_update(InvoiceStatus::Failed);
    store
        .update_invoice(account_id, ids[1], &failed, at(2))
        .await
        .unwrap();
    let quantities = store.invoiced_quantities(account_id, po).await.unwrap();
    assert_eq!(quantities[0], (1, decimal("7"), decimal("3")));
    let other = store
        .invoiced_quantities(account_id, other_po)
        .await
        .unwrap();
    assert_eq!(other, [(1, decimal("1000"), decimal("0"))]);
}

pub async fn invoice_list_filters_and_pages_newest_first(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let statuses = [
        ("INV-001", InvoiceStatus::Sent),
        ("INV-002", InvoiceStatus::Failed),
        ("CR-001", InvoiceStatus::Sent),
        ("inv-100%", InvoiceStatus::Pending),
    ];
    for (minute, (number, status)) in (1..).zip(statuses) {
        let invoice = with_status(
            new_invoice(po, buyer_id, number, &[]),
            InvoiceKind::Invoice,
            status,
        );
        store
            .create_invoice(account_id, &invoice, None, at(minute))
            .await
            .unwrap();
    }
    let list = |filter: InvoiceFilter| async move {
        store.list_invoices(account_id, &filter).await.unwrap()
    };

    let all = list(InvoiceFilter::default()).await;
    assert_eq!(numbers(&all), ["inv-100%", "CR-001", "INV-002", "INV-001"]);
    assert!(all.iter().all(|invoice| invoice.lines.is_empty()));
    let sent = list(InvoiceFilter {
        status: Some(InvoiceStatus::Sent),
        ..InvoiceFilter::default()
    })
    .await;
    assert_eq!(numbers(&sent), ["CR-001", "INV-001"]);
    let search = |text: &str| InvoiceFilter {
        search: Some(text.to_owned()),
        ..InvoiceFilter::default()
    };
    assert_eq!(
        numbers(&list(search("inv-0")).await),
        ["INV-002", "INV-001"]
    );
    // LIKE wildcards are plain text here.
    assert_eq!(numbers(&list(search("0%")).await), ["inv-100%"]);
    assert!(list(search("_")).await.is_empty());
    let page = list(InvoiceFilter {
        limit: Some(2),
        offset: Some(1),
        ..InvoiceFilter::default()
    })
    .await;
    assert_eq!(numbers(&page), ["CR-001", "INV-002"]);
}

pub async fn tracked_orders_upsert_and_filter_open(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let other_po = order(store, account_id, buyer_id, "PO-2").await;
    let orders = [
        tracked(300, po, TrackedKind::Created, None),
        tracked(100, other_po, TrackedKind::CustomerReference, None),
        tracked(200, po, TrackedKind::BackOrder, Some(300)),
        tracked(400, po, TrackedKind::Credit, Some(300)),
    ];
    for order in &orders {
        store.upsert_tracked_order(account_id, order).await.unwrap();
    }

    let settled = TrackedOrder {
        invoice_reference: Some("SI-300".to_owned()),
        version: Some(7),
        open: false,
        checked_at: at(5),
        ..orders[0].clone()
    };
    store
        .upsert_tracked_order(account_id, &settled)
        .await
        .unwrap();
    let stored = store.tracked_order(account_id, 300).await.unwrap();
    assert_eq!(stored, Some(settled));
    let back_order = store.tracked_order(account_id, 200).await.unwrap();
    assert_eq!(back_order, Some(orders[2].clone()));
    assert_eq!(store.tracked_order(account_id, 999).await.unwrap(), None);

    let ids = |orders: Vec<TrackedOrder>| -> Vec<i64> {
        orders
            .iter()
            .map(|order| order.brightpearl_order_id)
            .collect()
    };
    let all = store.tracked_orders(account_id, false).await.unwrap();
    assert_eq!(ids(all), [100, 200, 300, 400]);
    let open = store.tracked_orders(account_id, true).await.unwrap();
    assert_eq!(ids(open), [100, 200, 400]);
    let for_po = store.tracked_orders_for_po(account_id, po).await.unwrap();
    assert_eq!(ids(for_po), [200, 300, 400]);

    let orphan = tracked(500, PoId(999), TrackedKind::Created, None);
    assert_not_found(store.upsert_tracked_order(account_id, &orphan).await);
    assert_not_found(store.tracked_orders_for_po(account_id, PoId(999)).await);
}

pub async fn row_links_replace_on_order_and_row(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order(store, account_id, buyer_id, "PO-1").await;
    let other_po = order(store, account_id, buyer_id, "PO-2").await;
    store
        .save_row_links(account_id, po, &[link(300, 1, 1), link(300, 2, 2)])
        .await
        .unwrap();
    store
        .save_row_links(account_id, po, &[link(300, 2, 3), link(200, 5, 1)])
        .await
        .unwrap();
    store
        .save_row_links(account_id, other_po, &[link(100, 9, 4)])
        .await
        .unwrap();

    let links = store.row_links(account_id, po).await.unwrap();
    assert_eq!(links, [link(200, 5, 1), link(300, 1, 1), link(300, 2, 3)]);
    let other = store.row_links(account_id, other_po).await.unwrap();
    assert_eq!(other, [link(100, 9, 4)]);
    assert_not_found(store.save_row_links(account_id, PoId(999), &[]).await);
    assert_not_found(store.row_links(account_id, PoId(999)).await);
}

pub async fn poll_cursor_is_replaced_per_name(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let first = serde_json::json!({ "updatedOn": "2024-05-01T09:00:00+02:00", "ids": [1, 2] });
    let newer = serde_json::json!({ "updatedOn": "2024-05-01T10:00:00+02:00", "ids": [] });
    let credits = serde_json::json!({ "page": 3 });
    store
        .save_poll_cursor(account_id, "invoices", &first, at(1))
        .await
        .unwrap();
    store
        .save_poll_cursor(account_id, "credits", &credits, at(1))
        .await
        .unwrap();
    store
        .save_poll_cursor(account_id, "invoices", &newer, at(2))
        .await
        .unwrap();

    let stored = store.poll_cursor(account_id, "invoices").await.unwrap();
    assert_eq!(stored, Some(newer));
    let stored = store.poll_cursor(account_id, "credits").await.unwrap();
    assert_eq!(stored, Some(credits.clone()));
    assert_eq!(store.poll_cursor(account_id, "orders").await.unwrap(), None);
    assert_not_found(
        store
            .save_poll_cursor(AccountId(999), "credits", &credits, at(3))
            .await,
    );
}

/// Checks that every invoicing read and write of account A's records
/// through account B behaves as if the record did not exist.
pub async fn other_accounts_invoicing_is_not_found(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let buyer_id = buyer(store, acme, "initech").await;
    let po = order(store, acme, buyer_id, "PO-1").await;
    let order_300 = tracked(300, po, TrackedKind::Created, None);
    store.upsert_tracked_order(acme, &order_300).await.unwrap();
    store
        .save_row_links(acme, po, &[link(300, 1, 1)])
        .await
        .unwrap();
    let invoice = new_invoice(po, buyer_id, "INV-1", &[(1, "2")]);
    let created = store
        .create_invoice(acme, &invoice, None, at(1))
        .await
        .unwrap();
    let cursor = serde_json::json!({ "page": 1 });
    store
        .save_poll_cursor(acme, "invoices", &cursor, at(1))
        .await
        .unwrap();

    let hijack = TrackedOrder {
        open: false,
        ..order_300.clone()
    };
    assert_not_found(store.upsert_tracked_order(globex, &hijack).await);
    assert_eq!(store.tracked_order(globex, 300).await.unwrap(), None);
    assert!(store
        .tracked_orders(globex, false)
        .await
        .unwrap()
        .is_empty());
    assert_not_found(store.tracked_orders_for_po(globex, po).await);
    assert_not_found(store.save_row_links(globex, po, &[link(300, 1, 9)]).await);
    assert_not_found(store.row_links(globex, po).await);
    let copy = new_invoice(po, buyer_id, "INV-2", &[(1, "2")]);
    assert_not_found(store.create_invoice(globex, &copy, None, at(2)).await);
    assert_not_found(store.invoice(globex, created.id).await);
    let by_number = store
        .invoice_by_number(globex, buyer_id, "INV-1")
        .await
        .unwrap();
    assert_eq!(by_number, None);
    assert_not_found(store.invoices_for_po(globex, po).await);
    let listed = store
        .list_invoices(globex, &InvoiceFilter::default())
        .await
        .unwrap();
    assert!(listed.is_empty());
    let update = status_update(InvoiceStatus::Failed);
    assert_not_found(
        store
            .update_invoice(globex, created.id, &update, at(2))
            .await,
    );
    assert_not_found(store.invoiced_quantities(globex, po).await);
    assert_eq!(store.poll_cursor(globex, "invoices").await.unwrap(), None);

    // Account B may use the same Brightpearl order id for its own order.
    let globex_buyer = buyer(store, globex, "initech").await;
    let globex_po = order(store, globex, globex_buyer, "PO-1").await;
    let globex_300 = tracked(300, globex_po, TrackedKind::CustomerReference, None);
    store
        .upsert_tracked_order(globex, &globex_300)
        .await
        .unwrap();

    // Nothing of account A changed.
    let stored = store.tracked_order(acme, 300).await.unwrap();
    assert_eq!(stored, Some(order_300));
    assert_eq!(store.row_links(acme, po).await.unwrap(), [link(300, 1, 1)]);
    assert_eq!(store.invoice(acme, created.id).await.unwrap(), created);
    assert_eq!(
        store.poll_cursor(acme, "invoices").await.unwrap(),
        Some(cursor)
    );
}
