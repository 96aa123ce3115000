//! Two `pobridge serve` processes on one PostgreSQL database share each
//! account's Brightpearl request budget: together they never send more
//! than `requests_per_minute` in any sliding window, as the sandbox counts
//! the requests it receives.
//!
//! The processes get `brightpearl.window_seconds` of 2 and the sandbox the
//! same window, so that the budget binds many times within the test.
//! Without `PGTEST_DATABASE_URL` the test prints that it is skipped and
//! passes.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::seed::Seed;
use common::serve::{connect_sandbox, log_tail, start_server, Servers};
use pobridge_core::SystemClock;
use pobridge_sandbox::{Sandbox, SandboxConfig};
use pobridge_store::test_database::{server_url_or_skip, TestDatabase};
use pobridge_store::{PoFilter, PoStatus};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");
const BRIGHTPEARL_CODE: &str = "acme";
/// Requests both processes together may send in any window.
const LIMIT: u32 = 10;
/// The window `LIMIT` counts in, in place of a minute.
const WINDOW_SECONDS: u64 = 2;
const ORDERS: usize = 40;
/// How long the processes may take to sync every order.
const SYNC_TIMEOUT: Duration = Duration::from_secs(50);

fn order_body(index: usize) -> String {
    ORDER
        .replacen(
            "1710000000.000001@buyer.example",
            &format!("budget-{index}@buyer.example"),
            1,
        )
        .replacen(
            r#"orderID="PO-1001""#,
            &format!(r#"orderID="PO-B{index:03}""#),
            1,
        )
}

/// Counts the most of `times` inside any window of length `window`.
fn busiest_window(times: &[DateTime<Utc>], window: Duration) -> usize {
    let window = chrono::Duration::from_std(window).unwrap();
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mut start = 0;
    let mut busiest = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= window {
            start += 1;
        }
        busiest = busiest.max(end - start + 1);
    }
    busiest
}

/// Sums a server's `pobridge_brightpearl_requests_total` over its labels.
async fn brightpearl_requests(http: &reqwest::Client, base_url: &str) -> u64 {
    let text = http
        .get(format!("{base_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("pobridge_brightpearl_requests_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

async fn synced_orders(seed: &Seed) -> usize {
    let store = &seed.engine.store;
    store
        .list_purchase_orders(seed.account.id, &PoFilter::default())
        .await
        .unwrap()
        .iter()
        .filter(|po| po.status == PoStatus::Synced)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_budget() {
    let Some(server_url) = server_url_or_skip("two_processes_share_the_budget") else {
        return;
    };
    let database = TestDatabase::create(&server_url).await;
    let window = Duration::from_secs(WINDOW_SECONDS);
    let sandbox_config = SandboxConfig {
        window,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::new(sandbox_config, Arc::new(SystemClock));
    let (sandbox_url, _sandbox_server) = sandbox.spawn_local().await;
    let seed = Seed::new(database.url()).await;
    connect_sandbox(&seed, &sandbox, BRIGHTPEARL_CODE).await;
    // Only the servers' requests are counted, not the set-up's.
    let logged_before = sandbox.request_log(BRIGHTPEARL_CODE).len();
    let logs = tempfile::tempdir().unwrap();
    let env = [
        (
            "POBRIDGE_BRIGHTPEARL__REQUESTS_PER_MINUTE",
            LIMIT.to_string(),
        ),
        (
            "POBRIDGE_BRIGHTPEARL__WINDOW_SECONDS",
            WINDOW_SECONDS.to_string(),
        ),
        // One Sales Order POST per order, so that the budget binds many
        // times over.
        ("POBRIDGE_WORKER__SALES_ORDER_BATCH", "1".to_owned()),
    ];
    let log_path = |slot: usize| logs.path().join(format!("serve-{slot}.log"));
    let start = |slot: usize| {
        start_server(
            database.url(),
            &sandbox_url,
            logs.path(),
            &log_path(slot),
            &env,
        )
    };
    let servers = Servers {
        running: Mutex::new(vec![start(0), start(1)]),
    };
    let http = reqwest::Client::new();

    for index in 0..ORDERS {
        let url = format!("{}/cxml/acme", servers.base_url(index % 2));
        let response = http
            .post(url)
            .header("content-type", "text/xml")
            .body(order_body(index))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "order {index}");
    }
    let started = Instant::now();
    while synced_orders(&seed).await < ORDERS {
        assert!(
            started.elapsed() < SYNC_TIMEOUT,
            "{} of {ORDERS} orders synced after {SYNC_TIMEOUT:?}\nserver 0 log:\n{}\nserver 1 log:\n{}",
            synced_orders(&seed).await,
            log_tail(&log_path(0)),
            log_tail(&log_path(1)),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent_by_first = brightpearl_requests(&http, &servers.base_url(0)).await;
    let sent_by_second = brightpearl_requests(&http, &servers.base_url(1)).await;
    servers.stop_all();

    let log = sandbox.request_log(BRIGHTPEARL_CODE);
    let times: Vec<DateTime<Utc>> = log[logged_before..].iter().map(|entry| entry.at).collect();
    let busiest = busiest_window(&times, window);
    assert!(
        busiest <= LIMIT as usize,
        "{busiest} requests in one {window:?} window, budget {LIMIT}; {} in all",
        times.len()
    );
    assert!(
        times.len() > 3 * LIMIT as usize,
        "the work needed several windows ({} requests)",
        times.len()
    );
    assert!(sent_by_first > 0, "the first process sent requests");
    assert!(sent_by_second > 0, "the second process sent requests");
    assert_eq!(
        sent_by_first + sent_by_second,
        times.len() as u64,
        "every request the sandbox counted came from one of the processes"
    );
    let mut per_reference: BTreeMap<String, usize> = BTreeMap::new();
    for order in sandbox.sales_orders(BRIGHTPEARL_CODE) {
        let reference = order["reference"].as_str().unwrap_or_default().to_owned();
        *per_reference.entry(reference).or_default() += 1;
    }
    assert_eq!(per_reference.len(), ORDERS, "a sales order per PO");
    for (reference, count) in per_reference {
        assert_eq!(count, 1, "sales orders for {reference}");
    }
}
