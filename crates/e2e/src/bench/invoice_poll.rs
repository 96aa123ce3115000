//! Brightpearl requests of invoice detection: one incremental poll and one
//! sweep while many orders are tracked and a few were just invoiced.
//!
//! The tracked orders are made the way production makes them: corpus
//! OrderRequests with fresh identities are posted to pobridge and synced
//! into the sandbox Brightpearl by the worker. This takes a few seconds
//! longer than writing sales orders and tracked-order rows directly. In
//! exchange, the sandbox's orders, the store's purchase orders and the
//! tracked orders agree as after real syncs, so the poll reads nothing a
//! test shortcut made.

use anyhow::{ensure, Context, Result};
use chrono::{Duration, TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_engine::invoice_poll::PollSummary;
use pobridge_engine::sync::SyncError;
use pobridge_sandbox::{LoggedRequest, SandboxConfig};
use pobridge_store::{PoFilter, PoStatus};

use crate::corpus::with_identity;
use crate::invoicing::sales_order_ids;
use crate::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};

/// How long the orders stand before the first poll. It is longer than the
/// poll's window overlap, so the incremental poll's `createdOn` window no
/// longer contains them, as in steady operation.
const AGE_BEFORE_FIRST_POLL: Duration = Duration::days(1);
/// The time between polls: the default of the `invoice_poll_minutes` setting.
const POLL_INTERVAL: Duration = Duration::minutes(10);

/// The findings of one poll or sweep and the Brightpearl requests the
/// sandbox logged while it ran.
pub struct Measured {
    pub summary: PollSummary,
    pub requests: Vec<LoggedRequest>,
}

/// The three runs of [`measure_polls`].
pub struct PollRuns {
    pub tracked: usize,
    pub first: Measured,
    pub incremental: Measured,
    pub sweep: Measured,
}

/// Tracks `orders` synced orders, invoices `invoiced` of them spread over
/// the id range, and measures a first poll, an incremental poll and a sweep.
/// Fails unless the incremental poll finds exactly the invoiced orders.
pub async fn measure_polls(orders: usize, invoiced: usize) -> Result<PollRuns> {
    ensure!(
        (1..=orders).contains(&invoiced),
        "INVOICED must be between 1 and ORDERS ({orders}), got {invoiced}"
    );
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .context("the start time is a valid UTC time")?;
    let clock = ManualClock::new(start);
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

    clock.advance(AGE_BEFORE_FIRST_POLL);
    let first = measure(&app, app.engine.poll_invoices(app.account.id)).await?;

    clock.advance(POLL_INTERVAL / 2);
    let expected = invoice_spread(&app, invoiced)?;
    clock.advance(POLL_INTERVAL / 2);
    let incremental = measure(&app, app.engine.poll_invoices(app.account.id)).await?;
    let sweep = measure(&app, app.engine.sweep_open_orders(app.account.id)).await?;

    let mut found = incremental.summary.newly_invoiced.clone();
    found.sort_unstable();
    ensure!(
        found == expected,
        "the incremental poll found {found:?} invoiced, expected {expected:?}"
    );
    Ok(PollRuns {
        tracked,
        first,
        incremental,
        sweep,
    })
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
