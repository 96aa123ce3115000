//! Benchmark of invoice detection: how many Brightpearl requests one
//! incremental poll and one sweep cost when many orders are tracked and a
//! few of them were just invoiced. Prints figures and checks only that the
//! invoiced orders were found.
//!
//! The tracked orders are made the way production makes them: corpus
//! OrderRequests with fresh identities are posted to pobridge and synced
//! into the sandbox Brightpearl by the worker. This takes a few seconds
//! longer than writing sales orders and tracked-order rows directly. In
//! exchange, the sandbox's orders, the store's purchase orders and the
//! tracked orders agree as after real syncs, so the poll reads nothing a
//! test shortcut made.
//!
//! Usage: `cargo run --release -p pobridge-e2e --bin bench-invoice-poll -- [ORDERS] [INVOICED]`

use anyhow::{ensure, Context, Result};
use chrono::{Duration, TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_e2e::corpus::with_identity;
use pobridge_e2e::invoicing::sales_order_ids;
use pobridge_e2e::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};
use pobridge_engine::invoice_poll::PollSummary;
use pobridge_engine::sync::SyncError;
use pobridge_sandbox::{LoggedRequest, SandboxConfig};
use pobridge_store::{PoFilter, PoStatus};

/// How long the orders stand before the first poll. It is longer than the
/// poll's window overlap, so the incremental poll's `createdOn` window no
/// longer contains them, as in steady operation.
const AGE_BEFORE_FIRST_POLL: Duration = Duration::days(1);
/// The time between polls: the default of the `invoice_poll_minutes` setting.
const POLL_INTERVAL: Duration = Duration::minutes(10);

#[tokio::main]
async fn main() -> Result<()> {
    let arguments: Vec<String> = std::env::args().collect();
    let orders: usize = argument(&arguments, 1, 1_000);
    let invoiced: usize = argument(&arguments, 2, 10);
    ensure!(
        (1..=orders).contains(&invoiced),
        "INVOICED must be between 1 and ORDERS ({orders}), got {invoiced}"
    );

    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    // The budget is raised on both sides so that setting up the orders does
    // not wait for Brightpearl's minute. The poll's request count does not
    // depend on the budget.
    let options = Options {
        sandbox: SandboxConfig {
            requests_per_window: 1_000_000,
            ..SandboxConfig::default()
        },
        requests_per_minute: Some(1_000_000),
        clock: Some(clock.clone()),
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await?;
    let tracked = track_orders(&mut app, orders).await?;
    println!("{tracked} tracked Brightpearl orders, made by posting and syncing corpus orders");

    clock.advance(AGE_BEFORE_FIRST_POLL);
    let first = measure(&app, app.engine.poll_invoices(app.account.id)).await?;

    clock.advance(POLL_INTERVAL / 2);
    let expected = invoice_spread(&app, invoiced)?;
    clock.advance(POLL_INTERVAL / 2);
    let poll = measure(&app, app.engine.poll_invoices(app.account.id)).await?;
    let sweep = measure(&app, app.engine.sweep_open_orders(app.account.id)).await?;

    print_table(&[
        ("first poll, without a cursor", &first),
        ("incremental poll", &poll),
        ("sweep of open orders", &sweep),
    ]);
    println!("requests of the incremental poll:");
    for request in &poll.requests {
        println!(
            "  {} {} -> {}",
            request.method, request.path_and_query, request.status
        );
    }

    let mut found = poll.summary.newly_invoiced.clone();
    found.sort_unstable();
    ensure!(
        found == expected,
        "the incremental poll found {found:?} invoiced, expected {expected:?}"
    );
    println!("the incremental poll found all {invoiced} invoiced orders");
    Ok(())
}

fn argument(arguments: &[String], index: usize, default: usize) -> usize {
    arguments
        .get(index)
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Posts `count` corpus orders with fresh payloadIDs and orderIDs, syncs
/// them all and returns how many orders the store tracks.
///
/// The first order of each corpus document is synced on its own. Two
/// buyers of the corpus share a BillTo company, and when their first orders
/// sync concurrently, each creates a contact, so later orders match two
/// contacts and wait for a person to choose.
async fn track_orders(app: &mut TestApp, count: usize) -> Result<usize> {
    configure_defaults(app).await?;
    map_corpus_parts(app).await?;
    let documents = add_corpus_buyers(app, true).await?;
    for index in 0..count {
        let (name, document) = &documents[index % documents.len()];
        let body = with_identity(
            document,
            &format!("poll-bench-{index}@pobridge.bench"),
            &format!("POLL-{index}"),
        );
        let (status, answer) = app.post_cxml(body).await?;
        ensure!(
            status == 200,
            "{name} as order {index}: HTTP {status}: {answer}"
        );
        if index < documents.len() {
            app.drain(100).await;
        }
    }
    app.drain(100_000).await;

    let tracked = app.store().tracked_orders(app.account.id, false).await?;
    if tracked.len() != count {
        let orders = app
            .store()
            .list_purchase_orders(app.account.id, &PoFilter::default())
            .await?;
        for po in orders.iter().filter(|po| po.status != PoStatus::Synced) {
            println!("PO {} is {:?}: {:?}", po.number, po.status, po.reason);
        }
        anyhow::bail!(
            "{} of {count} orders are tracked: some did not sync",
            tracked.len()
        );
    }
    Ok(tracked.len())
}

/// Invoices `count` sales orders spread evenly over the account's orders,
/// so their ids are not one contiguous range, and returns their ids sorted.
fn invoice_spread(app: &TestApp, count: usize) -> Result<Vec<i64>> {
    let ids = sales_order_ids(app);
    let step = ids.len() / count;
    let mut invoiced = Vec::with_capacity(count);
    for id in ids.iter().step_by(step).take(count) {
        app.sandbox
            .invoice_order(&app.brightpearl_code, *id)
            .with_context(|| format!("invoicing order {id} in the sandbox"))?;
        invoiced.push(i64::try_from(*id)?);
    }
    Ok(invoiced)
}

/// The findings of one poll or sweep and the Brightpearl requests the
/// sandbox logged while it ran.
struct Measured {
    summary: PollSummary,
    requests: Vec<LoggedRequest>,
}

async fn measure(
    app: &TestApp,
    run: impl std::future::Future<Output = Result<PollSummary, SyncError>>,
) -> Result<Measured> {
    let before = app.sandbox.request_log(&app.brightpearl_code).len();
    let summary = run.await?;
    let log = app.sandbox.request_log(&app.brightpearl_code);
    Ok(Measured {
        summary,
        requests: log[before..].to_vec(),
    })
}

fn print_table(runs: &[(&str, &Measured)]) {
    println!();
    println!(
        "| run | Brightpearl requests | orders checked | newly invoiced found | invoices stored |"
    );
    println!("|---|---|---|---|---|");
    for (name, measured) in runs {
        println!(
            "| {name} | {} | {} | {} | {} |",
            measured.requests.len(),
            measured.summary.checked,
            measured.summary.newly_invoiced.len(),
            measured.summary.invoices_stored.len()
        );
    }
    println!();
}
