//! Detecting invoiced Brightpearl orders: the first poll checks every open
//! tracked order, later polls search overlapping windows and link back
//! orders and credits to their PO, and an order counts as invoiced by its
//! invoice reference alone.

use pobridge_e2e::{add_corpus_buyers, configure_defaults, map_corpus_parts, TestApp};
use pobridge_store::TrackedKind;
use rust_decimal::Decimal;

async fn synced_app() -> TestApp {
    let mut app = TestApp::start().await.expect("pobridge starts");
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
