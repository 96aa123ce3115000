//! Detecting invoiced Brightpearl orders: the first poll checks every open
//! tracked order, later polls search overlapping windows and link back
//! orders and credits to their PO, and an order counts as invoiced by its
//! invoice reference alone. Under intermittent Brightpearl 500s and
//! dropped connections, polls and sweeps still find every invoiced order,
//! and a poll that fails leaves its window where it was.

use chrono::{Duration, TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_e2e::{
    add_corpus_buyers, configure_defaults, map_corpus_parts, on_each_backend, Backend, Options,
    TestApp,
};
use pobridge_sandbox::Faults;
use pobridge_store::{InvoiceFilter, TrackedKind};
use rust_decimal::Decimal;

async fn synced_app() -> TestApp {
    synced_app_with(Options::default()).await
}

async fn synced_app_with(options: Options) -> TestApp {
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    map_corpus_parts(&app).await.unwrap();
    for (name, body) in add_corpus_buyers(&app, true).await.unwrap() {
        let (status, answer) = app.post_cxml(body).await.unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
    }
    app.drain(50).await;
    app
}

fn order_ids(app: &TestApp) -> Vec<u64> {
    let mut ids: Vec<u64> = app
        .sandbox
        .sales_orders(&app.brightpearl_code)
        .iter()
        .filter_map(|order| order["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoiced_order_is_found_by_poll() {
    let app = synced_app().await;
    let ids = order_ids(&app);
    assert_eq!(ids.len(), 6);

    let first = app.engine.poll_invoices(app.account.id).await.unwrap();
    assert_eq!(
        first.checked, 6,
        "the first poll checks every open tracked order"
    );
    assert!(first.newly_invoiced.is_empty());

    let reference = app
        .sandbox
        .invoice_order(&app.brightpearl_code, ids[0])
        .unwrap();
    let before = app.engine.clients.requests_sent(app.account.id);
    let second = app.engine.poll_invoices(app.account.id).await.unwrap();
    let requests = app.engine.clients.requests_sent(app.account.id) - before;
    assert_eq!(second.newly_invoiced, vec![ids[0] as i64]);
    assert!(
        requests <= 3,
        "an incremental poll costs two searches and one fetch, not {requests}"
    );
    let tracked = app
        .store()
        .tracked_order(app.account.id, ids[0] as i64)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tracked.invoice_reference.as_deref(),
        Some(reference.as_str())
    );

    let third = app.engine.poll_invoices(app.account.id).await.unwrap();
    assert!(
        third.newly_invoiced.is_empty(),
        "an invoice is reported once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_order_and_credit_are_linked() {
    let app = synced_app().await;
    app.engine.poll_invoices(app.account.id).await.unwrap();
    let orders = app.sandbox.sales_orders(&app.brightpearl_code);
    let (order_id, row_id) = orders
        .iter()
        .find_map(|order| {
            let (row_id, _) = order["orderRows"].as_object()?.iter().find(|(_, row)| {
                row["quantity"]["magnitude"]
                    .as_str()
                    .and_then(|text| text.parse::<Decimal>().ok())
                    .is_some_and(|quantity| quantity >= Decimal::from(2))
            })?;
            Some((order["id"].as_u64()?, row_id.parse::<u64>().ok()?))
        })
        .expect("a synced order has a row of at least two");

    let back_order = app
        .sandbox
        .split_back_order(&app.brightpearl_code, order_id, &[(row_id, Decimal::ONE)])
        .unwrap();
    app.sandbox
        .invoice_order(&app.brightpearl_code, order_id)
        .unwrap();
    let credit = app
        .sandbox
        .raise_sales_credit(&app.brightpearl_code, order_id, &[(row_id, Decimal::ONE)])
        .unwrap();
    let summary = app.engine.poll_invoices(app.account.id).await.unwrap();

    assert!(summary.linked.contains(&(back_order as i64)), "{summary:?}");
    assert!(summary.linked.contains(&(credit as i64)), "{summary:?}");
    assert!(
        summary.newly_invoiced.contains(&(order_id as i64)),
        "{summary:?}"
    );
    let po = app
        .store()
        .tracked_order(app.account.id, order_id as i64)
        .await
        .unwrap()
        .unwrap()
        .po_id;
    let tracked = app
        .store()
        .tracked_orders_for_po(app.account.id, po)
        .await
        .unwrap();
    let kind = |id: u64| {
        tracked
            .iter()
            .find(|order| order.brightpearl_order_id == id as i64)
            .map(|order| order.kind)
    };
    assert_eq!(kind(back_order), Some(TrackedKind::BackOrder));
    assert_eq!(kind(credit), Some(TrackedKind::Credit));
}

on_each_backend!(
    poll_survives_intermittent_500s,
    sweep_survives_intermittent_500s,
    failed_poll_keeps_its_window,
);

/// Invoices every synced order in the sandbox and returns their ids.
fn invoice_all(app: &TestApp) -> Vec<i64> {
    let ids = order_ids(app);
    for id in &ids {
        app.sandbox
            .invoice_order(&app.brightpearl_code, *id)
            .unwrap();
    }
    ids.into_iter().map(|id| id as i64).collect()
}

/// Makes every second request fail with 500 and drops the next GET's
/// connection, so about half of a poll's requests fail when first sent.
fn arm_intermittent_faults(app: &TestApp) {
    let faults = Faults {
        fail_every_nth_with_500: 2,
        drop_connection_next_n_gets: 1,
        ..Faults::default()
    };
    app.sandbox.set_faults(&app.brightpearl_code, faults);
}

/// Counts the 500s the sandbox sent after its first `from` requests. Its
/// log cannot show a dropped connection, which keeps the status that was
/// never sent.
fn served_500s(app: &TestApp, from: usize) -> usize {
    app.sandbox.request_log(&app.brightpearl_code)[from..]
        .iter()
        .filter(|request| request.status == 500)
        .count()
}

async fn stored_invoices(app: &TestApp) -> usize {
    app.store()
        .list_invoices(app.account.id, &InvoiceFilter::default())
        .await
        .unwrap()
        .len()
}

async fn poll_survives_intermittent_500s(backend: Backend) {
    let app = synced_app_with(Options {
        backend,
        ..Options::default()
    })
    .await;
    // The first poll sets the window, so the second one searches.
    app.engine.poll_invoices(app.account.id).await.unwrap();
    let invoiced = invoice_all(&app);
    let logged = app.sandbox.request_log(&app.brightpearl_code).len();
    arm_intermittent_faults(&app);

    let summary = app.engine.poll_invoices(app.account.id).await.unwrap();

    let mut found = summary.newly_invoiced.clone();
    found.sort_unstable();
    assert_eq!(found, invoiced, "{summary:?}");
    assert!(served_500s(&app, logged) >= 2, "the faults took effect");
    assert_eq!(stored_invoices(&app).await, invoiced.len());
}

async fn sweep_survives_intermittent_500s(backend: Backend) {
    let app = synced_app_with(Options {
        backend,
        ..Options::default()
    })
    .await;
    let invoiced = invoice_all(&app);
    let logged = app.sandbox.request_log(&app.brightpearl_code).len();
    arm_intermittent_faults(&app);

    let summary = app.engine.sweep_open_orders(app.account.id).await.unwrap();

    let mut found = summary.newly_invoiced.clone();
    found.sort_unstable();
    assert_eq!(found, invoiced, "{summary:?}");
    assert!(served_500s(&app, logged) >= 1, "the faults took effect");
    assert_eq!(stored_invoices(&app).await, invoiced.len());
}

/// A poll that cannot fetch what it searched must not move its window past
/// it: the order invoiced before the failure is found by a poll long after,
/// when a window starting at the failed poll would no longer reach it.
async fn failed_poll_keeps_its_window(backend: Backend) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let app = synced_app_with(Options {
        backend,
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    app.engine.poll_invoices(app.account.id).await.unwrap();
    let order = order_ids(&app)[0];
    clock.advance(Duration::minutes(1));
    app.sandbox
        .invoice_order(&app.brightpearl_code, order)
        .unwrap();

    clock.advance(Duration::minutes(30));
    let outage = Faults {
        fail_next_n_with_500: 1_000,
        ..Faults::default()
    };
    app.sandbox.set_faults(&app.brightpearl_code, outage);
    let failed = app.engine.poll_invoices(app.account.id).await;
    app.sandbox
        .set_faults(&app.brightpearl_code, Faults::default());
    clock.advance(Duration::minutes(30));
    let summary = app.engine.poll_invoices(app.account.id).await.unwrap();

    let error = failed.expect_err("the poll fails while every request fails");
    assert!(error.to_string().contains("500"), "{error}");
    assert_eq!(summary.newly_invoiced, vec![order as i64]);
    assert_eq!(stored_invoices(&app).await, 1);
}
