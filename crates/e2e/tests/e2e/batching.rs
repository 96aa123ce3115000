//! Sales orders and custom-field updates sent through Brightpearl's
//! multi-message, against the sandbox under each reading of the two points
//! Brightpearl leaves open: whether a multi-message costs one request or
//! one per message, and whether it may carry PATCH. The client reads the
//! first from the throttle headers.

use chrono::{Duration, TimeZone, Utc};
use pobridge_brightpearl::{
    BrightpearlClient, ClientConfig, Counting, CustomFieldOp, ErrorKind, SalesOrder, SalesOrderRow,
};
use pobridge_core::ManualClock;
use pobridge_e2e::corpus::with_identity;
use pobridge_e2e::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};
use pobridge_engine::worker::Worker;
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_sandbox::{Faults, SandboxConfig, WindowModel};
use pobridge_store::{PoFilter, PoStatus};
use rust_decimal::Decimal;
use serde_json::json;

/// A contact of the sandbox's seed data.
const CUSTOMER: i64 = 200;

async fn start(sandbox: SandboxConfig, engine: EngineConfig) -> (TestApp, ManualClock) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let options = Options {
        clock: Some(clock.clone()),
        sandbox,
        engine: Some(engine),
        ..Options::default()
    };
    let app = TestApp::start_with(options).await.expect("pobridge starts");
    (app, clock)
}

/// A client of the app's Brightpearl account with its own limiter.
async fn client(app: &TestApp, multi_message_patch: bool) -> BrightpearlClient {
    let connection = app
        .store()
        .connection(app.account.id)
        .await
        .unwrap()
        .expect("the account is connected");
    let config = ClientConfig {
        token_url_template: format!("{}/token/{{account}}", app.sandbox_url),
        authorize_url_template: format!("{}/authorize/{{account}}", app.sandbox_url),
        app_ref: SandboxConfig::default().app_ref,
        multi_message_patch,
        ..ClientConfig::default()
    };
    let pool = ClientPool::new(
        app.http.clone(),
        config,
        app.store().clone(),
        app.engine.clock.clone(),
    );
    pool.client_for(app.account.id, connection)
}

fn sales_order(number: usize, customer_id: i64) -> SalesOrder {
    SalesOrder {
        customer_id,
        reference: format!("PO-BATCH-{number}"),
        external_ref: format!("batch-test-{number}"),
        currency_code: "USD".to_owned(),
        rows: vec![SalesOrderRow {
            name: "Freight".to_owned(),
            quantity: Decimal::ONE,
            tax_code: "Z".to_owned(),
            net: Decimal::new(15, 0),
            tax: Decimal::ZERO,
            nominal_code: Some("4040".to_owned()),
            ..SalesOrderRow::default()
        }],
        ..SalesOrder::default()
    }
}

/// Counts the sandbox's logged requests with this method whose path ends so.
fn count_requests(app: &TestApp, method: &str, path_end: &str) -> usize {
    app.sandbox
        .request_log(&app.brightpearl_code)
        .iter()
        .filter(|entry| entry.method == method && entry.path_and_query.ends_with(path_end))
        .count()
}

async fn remaining(client: &BrightpearlClient) -> u32 {
    client.order_custom_fields().await.unwrap();
    client
        .limiter()
        .last_headers()
        .and_then(|headers| headers.remaining)
        .expect("the sandbox sends the remaining count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_batches_under_every_sandbox_reading() {
    for counts_as_one in [true, false] {
        for allows_patch in [true, false] {
            for client_patches in [true, false] {
                let case = format!(
                    "counts as one: {counts_as_one}, sandbox allows PATCH: {allows_patch}, client batches PATCH: {client_patches}"
                );
                let sandbox = SandboxConfig {
                    multi_message_counts_as_one: counts_as_one,
                    multi_message_allows_patch: allows_patch,
                    ..SandboxConfig::default()
                };
                let (app, _clock) = start(sandbox, EngineConfig::default()).await;
                let client = client(&app, client_patches).await;
                check_batch(
                    &app,
                    &client,
                    counts_as_one,
                    allows_patch && client_patches,
                    &case,
                )
                .await;
            }
        }
    }
}

async fn check_batch(
    app: &TestApp,
    client: &BrightpearlClient,
    counts_as_one: bool,
    patches_batched: bool,
    case: &str,
) {
    let orders: Vec<SalesOrder> = (1..=10).map(|n| sales_order(n, CUSTOMER)).collect();
    let before = remaining(client).await;

    let results = client.create_sales_orders(&orders).await;

    let after = client.limiter().last_headers().unwrap().remaining.unwrap();
    let cost = if counts_as_one { 1 } else { 10 };
    assert_eq!(before - after, cost, "quota used by the message ({case})");
    let ids: Vec<i64> = results
        .into_iter()
        .map(|result| result.expect("every order is created"))
        .collect();
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 10, "ten distinct ids ({case})");
    assert_eq!(count_requests(app, "POST", "/multi-message"), 1, "{case}");
    assert_eq!(count_requests(app, "POST", "/sales-order"), 0, "{case}");

    let updates: Vec<(i64, Vec<CustomFieldOp>)> = ids
        .iter()
        .zip(&orders)
        .map(|(id, order)| {
            let op = CustomFieldOp::Add {
                code: "PCF_COUPAPO".to_owned(),
                value: json!(order.reference),
            };
            (*id, vec![op])
        })
        .collect();
    for result in client.patch_orders_custom_fields(&updates).await {
        result.expect("every custom-field update succeeds");
    }

    let single_patches = count_requests(app, "PATCH", "/custom-field");
    let messages = count_requests(app, "POST", "/multi-message");
    if patches_batched {
        assert_eq!(single_patches, 0, "{case}");
        assert_eq!(messages, 2, "{case}");
    } else {
        assert_eq!(single_patches, 10, "{case}");
    }
    for order in app.sandbox.sales_orders(&app.brightpearl_code) {
        let reference = order["reference"].as_str().unwrap_or_default();
        assert_eq!(
            order["customFields"]["PCF_COUPAPO"],
            json!(reference),
            "custom field of {reference} ({case})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_patch_batch_falls_back_once() {
    let sandbox = SandboxConfig {
        multi_message_allows_patch: false,
        ..SandboxConfig::default()
    };
    let (app, _clock) = start(sandbox, EngineConfig::default()).await;
    let client = client(&app, true).await;
    let orders: Vec<SalesOrder> = (1..=4).map(|n| sales_order(n, CUSTOMER)).collect();
    let ids: Vec<i64> = client
        .create_sales_orders(&orders)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let update = |id: i64| {
        let op = CustomFieldOp::Add {
            code: "PCF_COUPAPO".to_owned(),
            value: json!("x"),
        };
        (id, vec![op])
    };

    let first: Vec<_> = ids[..2].iter().copied().map(update).collect();
    let second: Vec<_> = ids[2..].iter().copied().map(update).collect();
    for result in client.patch_orders_custom_fields(&first).await {
        result.unwrap();
    }
    for result in client.patch_orders_custom_fields(&second).await {
        result.unwrap();
    }

    let rejected = app
        .sandbox
        .request_log(&app.brightpearl_code)
        .iter()
        .filter(|entry| entry.path_and_query.ends_with("/multi-message") && entry.status == 400)
        .count();
    assert_eq!(rejected, 1, "only the first PATCH batch is tried");
    assert_eq!(count_requests(&app, "PATCH", "/custom-field"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failure_is_reported_per_order() {
    let (app, _clock) = start(SandboxConfig::default(), EngineConfig::default()).await;
    let client = client(&app, false).await;
    let orders = vec![
        sales_order(1, CUSTOMER),
        sales_order(2, 999_999),
        sales_order(3, CUSTOMER),
    ];

    let results = client.create_sales_orders(&orders).await;

    assert!(results[0].is_ok(), "{:?}", results[0]);
    let rejected = results[1].as_ref().unwrap_err();
    assert!(
        matches!(rejected.kind(), ErrorKind::Validation { .. }),
        "{rejected}"
    );
    assert!(results[2].is_ok(), "{:?}", results[2]);
    let references: Vec<String> = app
        .sandbox
        .sales_orders(&app.brightpearl_code)
        .iter()
        .filter_map(|order| order["reference"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(references.len(), 2);
    assert!(!references.contains(&"PO-BATCH-2".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_reply_leaves_every_order_ambiguous() {
    let (app, _clock) = start(SandboxConfig::default(), EngineConfig::default()).await;
    let client = client(&app, false).await;
    app.sandbox.set_faults(
        &app.brightpearl_code,
        Faults {
            drop_connection_after_commit_next_n_posts: 1,
            ..Faults::default()
        },
    );
    let orders: Vec<SalesOrder> = (1..=3).map(|n| sales_order(n, CUSTOMER)).collect();

    let results = client.create_sales_orders(&orders).await;

    let instance = client.connection().installation_instance_id;
    for (order, result) in orders.iter().zip(results) {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Ambiguous, "{error}");
        let found = client
            .find_orders_by_external_ref(&order.external_ref, instance.as_deref())
            .await
            .unwrap();
        assert_eq!(
            found.len(),
            1,
            "{} is found by externalRef",
            order.reference
        );
    }
    assert_eq!(app.sandbox.sales_orders(&app.brightpearl_code).len(), 3);
}

/// Posts `count` copies of the corpus orders, each a new PO, with every
/// buyer mapped to one contact so the only writes are sales orders.
async fn post_orders(app: &mut TestApp, count: usize) {
    configure_defaults(app).await.unwrap();
    map_corpus_parts(app).await.unwrap();
    let documents = add_corpus_buyers(app, true).await.unwrap();
    for buyer in app.store().list_buyers(app.account.id).await.unwrap() {
        let mapping = pobridge_store::CustomerMapping {
            buyer: buyer.id,
            bill_to_address_id: None,
            contact_id: CUSTOMER,
        };
        app.store()
            .upsert_customer_mapping(app.account.id, &mapping, app.engine.clock.now())
            .await
            .unwrap();
    }
    for index in 0..count {
        let (name, body) = &documents[index % documents.len()];
        let body = with_identity(
            body,
            &format!("batch-{index}@test.example"),
            &format!("BATCH-{index}"),
        );
        let (status, answer) = app.post_cxml(body).await.unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
    }
}

/// Runs the worker, moving the clock past each retry, until nothing is left.
async fn settle(app: &TestApp, clock: &ManualClock) {
    for _ in 0..10 {
        app.drain(50).await;
        clock.advance(Duration::minutes(90));
    }
    app.drain(50).await;
}

async fn assert_synced_once(app: &TestApp, count: usize) {
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), count);
    let sales_orders = app.sandbox.sales_orders(&app.brightpearl_code);
    for po in &orders {
        assert_eq!(
            po.status,
            PoStatus::Synced,
            "PO {}: {:?}",
            po.number,
            po.reason
        );
        let matching = sales_orders
            .iter()
            .filter(|order| order["reference"].as_str() == Some(po.number.as_str()))
            .count();
        assert_eq!(matching, 1, "PO {} has one sales order", po.number);
    }
    assert_eq!(sales_orders.len(), count, "no sales order without a PO");
}

fn batching_engine() -> EngineConfig {
    EngineConfig {
        sales_order_batch: 10,
        ..EngineConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_sends_25_orders_in_three_multi_messages() {
    let (mut app, clock) = start(SandboxConfig::default(), batching_engine()).await;
    post_orders(&mut app, 25).await;

    settle(&app, &clock).await;

    assert_synced_once(&app, 25).await;
    assert_eq!(count_requests(&app, "POST", "/multi-message"), 3);
    assert_eq!(count_requests(&app, "POST", "/sales-order"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_recovers_a_lost_batch_by_external_ref() {
    let (mut app, clock) = start(SandboxConfig::default(), batching_engine()).await;
    post_orders(&mut app, 12).await;
    app.sandbox.set_faults(
        &app.brightpearl_code,
        Faults {
            drop_connection_after_commit_next_n_posts: 1,
            ..Faults::default()
        },
    );

    settle(&app, &clock).await;

    assert_synced_once(&app, 12).await;
    let mut recovered = 0;
    for po in app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()
    {
        let events = app.store().events(app.account.id, po.id).await.unwrap();
        recovered += events
            .iter()
            .filter(|event| {
                event
                    .message
                    .contains("found the sales order an earlier attempt created")
            })
            .count();
    }
    assert_eq!(
        recovered, 10,
        "every order of the lost multi-message is found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_batches_custom_fields_when_allowed() {
    let sandbox = SandboxConfig {
        multi_message_allows_patch: true,
        ..SandboxConfig::default()
    };
    let (mut app, clock) = start(sandbox, batching_engine()).await;
    app.set("custom_fields.PCF_COUPAREQ", "Coupa")
        .await
        .unwrap();
    post_orders(&mut app, 10).await;
    // A worker whose client puts custom-field updates in multi-messages.
    let client_config = ClientConfig {
        token_url_template: format!("{}/token/{{account}}", app.sandbox_url),
        authorize_url_template: format!("{}/authorize/{{account}}", app.sandbox_url),
        app_ref: SandboxConfig::default().app_ref,
        multi_message_patch: true,
        ..ClientConfig::default()
    };
    let pool = ClientPool::new(
        app.http.clone(),
        client_config,
        app.store().clone(),
        app.engine.clock.clone(),
    );
    let engine = Engine::new(
        app.store().clone(),
        app.engine.clock.clone(),
        pool,
        batching_engine(),
    );
    let worker = Worker::new(engine, "patching-worker");

    for _ in 0..5 {
        while worker.run_once().await > 0 {}
        clock.advance(Duration::minutes(90));
    }

    assert_synced_once(&app, 10).await;
    assert_eq!(count_requests(&app, "POST", "/multi-message"), 2);
    assert_eq!(count_requests(&app, "PATCH", "/custom-field"), 0);
    for order in app.sandbox.sales_orders(&app.brightpearl_code) {
        assert_eq!(order["customFields"]["PCF_COUPAREQ"], "Coupa");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_item_small_quota_gets_no_503() {
    for window_model in [WindowModel::CalendarMinute, WindowModel::Rolling] {
        let case = format!("{window_model:?} window");
        // Room for two multi-messages of ten in each 2 s window.
        let sandbox = SandboxConfig {
            requests_per_window: 25,
            window: std::time::Duration::from_secs(2),
            window_model,
            multi_message_counts_as_one: false,
            ..SandboxConfig::default()
        };
        // The wall clock, so that the sandbox's windows end as the
        // limiter's waits do.
        let options = Options {
            sandbox,
            ..Options::default()
        };
        let app = TestApp::start_with(options).await.expect("pobridge starts");
        let client = client(&app, false).await;
        // The app's own start-up spent quota too: a reply shows how much.
        remaining(&client).await;
        let logged_before = app.sandbox.request_log(&app.brightpearl_code).len();
        let orders: Vec<SalesOrder> = (1..=50).map(|n| sales_order(n, CUSTOMER)).collect();

        let results = client.create_sales_orders(&orders).await;

        for result in results {
            result.unwrap_or_else(|error| panic!("every order is created ({case}): {error}"));
        }
        let log = app.sandbox.request_log(&app.brightpearl_code);
        let throttled: Vec<_> = log[logged_before..]
            .iter()
            .filter(|entry| entry.status == 503)
            .collect();
        // NOTE: under a rolling window, `brightpearl-next-throttle-period`
        // is when the oldest request leaves the window, not when it
        // empties, so a multi-message sent then can still get a 503 (which
        // is waited out). Only the calendar window, which the captured
        // headers show, is free of them.
        if window_model == WindowModel::CalendarMinute {
            assert!(throttled.is_empty(), "503 replies ({case}): {throttled:?}");
        }
        let carried_out = log
            .iter()
            .filter(|entry| entry.path_and_query.ends_with("/multi-message") && entry.status == 200)
            .count();
        assert_eq!(carried_out, 5, "{case}");
        let counting = client.limiter().multi_message_counting();
        if window_model == WindowModel::CalendarMinute {
            assert_eq!(counting, Counting::PerItem, "{case}");
        } else {
            // Under a rolling window two replies rarely report the same
            // window, so the cost may stay unknown (costed per message,
            // which is safe), but it must never be taken for one request.
            assert_ne!(counting, Counting::One, "{case}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_as_one_drain_claims_one_slot_each() {
    let (mut app, clock) = start(SandboxConfig::default(), batching_engine()).await;
    post_orders(&mut app, 30).await;

    settle(&app, &clock).await;

    assert_synced_once(&app, 30).await;
    assert_eq!(count_requests(&app, "POST", "/multi-message"), 3);
    let limiter = app.engine.clients.limiter(app.account.id);
    assert_eq!(limiter.multi_message_counting(), Counting::One);
    // Only a multi-message sent before the counting was read is costed at
    // ten. The first one reads it, unless a throttle window ended between
    // it and the reply before it, in which case the next one does.
    let extra = limiter.quota_claimed() - limiter.requests_sent();
    assert!(
        extra == 9 || extra == 18,
        "{extra} slots claimed beyond one per request"
    );
}
