//! Benchmark of the order endpoint: an open-loop load of corpus documents in
//! rotation against pobridge on SQLite with durable commits, then a drain of
//! the queued orders into the sandbox Brightpearl. Prints figures; asserts
//! nothing.
//!
//! Usage: `cargo run --release -p pobridge-e2e --bin bench-orders -- [RATE_PER_SECOND] [SECONDS]`

use std::time::{Duration, Instant};

use anyhow::Result;
use pobridge_cxml::{Body, Limits};
use pobridge_e2e::corpus::{order_documents, with_identity, with_sender_secret};
use pobridge_e2e::{buyer_from_header, TestApp};
use pobridge_store::{BuyerMode, PoFilter, PoStatus};

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

    let mut app = TestApp::start().await?;
    let documents = prepare(&mut app).await?;
    println!("order endpoint, open loop: {rate} documents/s for {seconds} s, {} corpus documents in rotation, SQLite synchronous=FULL", documents.len());

    let latencies = load(&app, &documents, rate, seconds).await?;
    report_latency(&latencies, seconds);

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
/// sandbox) and maps every corpus part to one sandbox product.
async fn prepare(app: &mut TestApp) -> Result<Vec<Vec<u8>>> {
    let channels = app
        .store()
        .reference_data(app.account.id, pobridge_store::ReferenceKind::Channels)
        .await?;
    let warehouses = app
        .store()
        .reference_data(app.account.id, pobridge_store::ReferenceKind::Warehouses)
        .await?;
    let first = |data: Option<pobridge_store::ReferenceData>| {
        data.and_then(|data| {
            data.data
                .get(0)
                .and_then(|item| item.get("id"))
                .and_then(|id| id.as_i64())
        })
        .unwrap_or_default()
    };
    app.set("channel_id", &first(channels).to_string()).await?;
    app.set("warehouse_id", &first(warehouses).to_string())
        .await?;
    app.set("shipping", "omit").await?;
    app.set("default_tax_code", "Z").await?;

    let product = app
        .store()
        .list_products(app.account.id, 1000, 0)
        .await?
        .into_iter()
        .find(|product| !product.stock_tracked && product.sku.is_some());
    let mut prepared = Vec::new();
    for (name, bytes) in order_documents() {
        let envelope = pobridge_cxml::read_envelope(&bytes, &Limits::default())
            .map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
        let header = envelope.header.expect("corpus orders have headers");
        let from = header.from[0].identity.clone();
        let secret = header
            .sender
            .iter()
            .find_map(|credential| {
                credential
                    .shared_secret
                    .as_ref()
                    .map(|secret| secret.expose().to_owned())
            })
            .unwrap_or_else(|| "bench-secret".to_owned());
        let buyer = match app.store().buyer_by_name(app.account.id, &from).await {
            Ok(buyer) => buyer,
            Err(_) => {
                app.buyer(buyer_from_header(&from, &header, &secret, BuyerMode::Test))
                    .await?
            }
        };
        let secret = buyer.shared_secret.clone().unwrap_or(secret);
        if let (Body::OrderRequest { order, .. }, Some(product)) = (&envelope.body, &product) {
            for item in &order.items {
                let part = item.item_id.supplier_part_id.trim();
                let request = pobridge_engine::admin::MapItem {
                    coupa_part_id: part.to_owned(),
                    unit_of_measure: None,
                    buyer: None,
                    brightpearl: product.sku.clone().unwrap_or_default(),
                    quantity_factor: None,
                };
                if !part.is_empty() {
                    pobridge_engine::admin::map_item(&app.engine, pobridge_e2e::ACCOUNT, &request)
                        .await?;
                }
            }
        }
        prepared.push(with_sender_secret(&bytes, &secret));
    }
    Ok(prepared)
}

/// Sends `rate` documents a second on schedule, whatever the answers'
/// latency, and measures each from its scheduled start (so slow answers
/// are not hidden by a sender that waits).
async fn load(
    app: &TestApp,
    documents: &[Vec<u8>],
    rate: u64,
    seconds: u64,
) -> Result<Vec<Duration>> {
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let url = format!("{}/cxml/{}", app.base_url, pobridge_e2e::ACCOUNT);
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..total {
        let scheduled = start + interval * index as u32;
        let body = with_identity(
            &documents[index as usize % documents.len()],
            &format!("bench-{index}@pobridge.bench"),
            &format!("BENCH-{index}"),
        );
        let http = app.http.clone();
        let url = url.clone();
        tokio::time::sleep_until(scheduled).await;
        tasks.spawn(async move {
            let response = http
                .post(&url)
                .header("content-type", "text/xml")
                .body(body)
                .send()
                .await;
            let ok = match response {
                Ok(response) => response.status().as_u16() == 200,
                Err(_) => false,
            };
            (scheduled.elapsed(), ok)
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failures = 0;
    while let Some(result) = tasks.join_next().await {
        let (latency, ok) = result?;
        if !ok {
            failures += 1;
        }
        latencies.push(latency);
    }
    if failures > 0 {
        println!("WARNING: {failures} requests did not get HTTP 200");
    }
    Ok(latencies)
}

fn report_latency(latencies: &[Duration], seconds: u64) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let percentile = |p: f64| {
        sorted[((sorted.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(sorted.len() - 1)]
    };
    println!(
        "throughput: {:.0} documents/s answered",
        sorted.len() as f64 / seconds as f64
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}
