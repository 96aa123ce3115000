//! Benchmark of the order endpoint: an open-loop load of corpus documents in
//! rotation against pobridge on SQLite with durable commits, then a drain of
//! the queued orders into the sandbox Brightpearl. Prints figures; asserts
//! nothing.
//!
//! Usage: `cargo run --release -p pobridge-e2e --bin bench-orders -- [RATE_PER_SECOND] [SECONDS]`

use std::time::{Duration, Instant};

use anyhow::Result;
use pobridge_e2e::bench::load::{open_loop, LoadResult};
use pobridge_e2e::corpus::with_identity;
use pobridge_e2e::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};
use pobridge_sandbox::SandboxConfig;
use pobridge_store::{PoFilter, PoStatus};

#[tokio::main]
async fn main() -> Result<()> {
    let arguments: Vec<String> = std::env::args().collect();
    let rate: u64 = arguments
        .get(1)
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    let seconds: u64 = arguments
        .get(2)
        .and_then(|value| value.parse().ok())
        .unwrap_or(10);

    // The budget is raised on both sides so the drain measures pobridge's
    // requests per order rather than the wait for Brightpearl's minute.
    let options = Options {
        sandbox: SandboxConfig {
            requests_per_window: 1_000_000,
            ..SandboxConfig::default()
        },
        requests_per_minute: Some(1_000_000),
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await?;
    let documents = prepare(&mut app).await?;
    println!("order endpoint, open loop: {rate} documents/s for {seconds} s, {} corpus documents in rotation, SQLite synchronous=FULL", documents.len());

    let url = format!("{}/cxml/{}", app.base_url, pobridge_e2e::ACCOUNT);
    let duration = Duration::from_secs(seconds);
    let result = open_loop(&app.http, &url, &documents, rate, duration, "bench").await;
    report_latency(&result);
    let answered = saturate(&app, &documents, 16, 5).await?;
    println!(
        "throughput, closed loop with 16 concurrent senders for 5 s: {:.0} documents/s",
        answered as f64 / 5.0
    );

    let requests_before = app.engine.clients.requests_sent(app.account.id);
    let started = Instant::now();
    app.drain(100_000).await;
    let drained = started.elapsed();
    let requests = app.engine.clients.requests_sent(app.account.id) - requests_before;
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await?;
    let synced = orders
        .iter()
        .filter(|po| po.status == PoStatus::Synced)
        .count();
    println!(
        "drain: {synced} of {} orders synced in {:.1} s",
        orders.len(),
        drained.as_secs_f64()
    );
    if synced > 0 {
        println!(
            "Brightpearl requests per synced order: {:.2} ({requests} requests)",
            requests as f64 / synced as f64
        );
    }
    Ok(())
}

/// Adds the corpus buyers in test mode (so their orders sync into the
/// sandbox), maps every corpus part to one sandbox product and returns the
/// documents ready to post.
async fn prepare(app: &mut TestApp) -> Result<Vec<Vec<u8>>> {
    configure_defaults(app).await?;
    map_corpus_parts(app).await?;
    let documents = add_corpus_buyers(app, true).await?;
    Ok(documents.into_iter().map(|(_, body)| body).collect())
}

/// Sends documents back to back from `senders` tasks for `seconds` and
/// returns how many got HTTP 200.
async fn saturate(
    app: &TestApp,
    documents: &[Vec<u8>],
    senders: usize,
    seconds: u64,
) -> Result<usize> {
    let url = format!("{}/cxml/{}", app.base_url, pobridge_e2e::ACCOUNT);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for sender in 0..senders {
        let http = app.http.clone();
        let url = url.clone();
        let documents = documents.to_vec();
        tasks.spawn(async move {
            let mut answered = 0;
            let mut index = 0;
            while Instant::now() < deadline {
                let payload_id = format!("saturate-{sender}-{index}@pobridge.bench");
                let body = with_identity(
                    &documents[index % documents.len()],
                    &payload_id,
                    &format!("SAT-{sender}-{index}"),
                );
                index += 1;
                if let Ok(response) = http
                    .post(&url)
                    .header("content-type", "text/xml")
                    .body(body)
                    .send()
                    .await
                {
                    if response.status().as_u16() == 200 {
                        answered += 1;
                    }
                }
            }
            answered
        });
    }
    let mut total = 0;
    while let Some(result) = tasks.join_next().await {
        total += result?;
    }
    Ok(total)
}

fn report_latency(result: &LoadResult) {
    if result.failures > 0 {
        println!(
            "WARNING: {} requests did not get HTTP 200 (first: {})",
            result.failures,
            result.first_failure.as_deref().unwrap_or_default()
        );
    }
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        result.percentile(0.50).as_secs_f64() * 1000.0,
        result.percentile(0.99).as_secs_f64() * 1000.0,
        result.max().as_secs_f64() * 1000.0
    );
}
