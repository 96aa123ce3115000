//! Draining a backlog of queued orders into a sandbox Brightpearl that
//! throttles and responds as slowly as the real one, under each setting of
//! the sandbox's multi-message switches.

use std::time::{Duration, Instant};

use anyhow::Result;
use pobridge_engine::EngineConfig;
use pobridge_sandbox::SandboxConfig;

use super::setup::{corpus_app, post_backlog, synced_orders};
use crate::Options;

/// Brightpearl's request budget per account and minute.
pub const BRIGHTPEARL_REQUESTS_PER_MINUTE: u32 = 200;
/// The latency the sandbox adds to every reply.
pub const LATENCY: Duration = Duration::from_millis(300);
/// The latency the sandbox adds per order row a call writes.
pub const LATENCY_PER_ROW: Duration = Duration::from_millis(30);

/// One combination of the sandbox's multi-message switches.
#[derive(Debug, Clone, Copy)]
pub struct DrainCase {
    /// True: a multi-message costs one request of the budget. False: one
    /// per message.
    pub counts_as_one: bool,
    /// Whether a multi-message may carry PATCH messages.
    pub allows_patch: bool,
}

impl DrainCase {
    /// Every combination of the switches, the one the targets name first.
    // TODO: add the client's own switch for PATCH messages inside
    // multi-messages once the Brightpearl client has one.
    pub const ALL: [DrainCase; 4] = [
        DrainCase {
            counts_as_one: true,
            allows_patch: false,
        },
        DrainCase {
            counts_as_one: true,
            allows_patch: true,
        },
        DrainCase {
            counts_as_one: false,
            allows_patch: false,
        },
        DrainCase {
            counts_as_one: false,
            allows_patch: true,
        },
    ];

    pub fn label(&self) -> String {
        format!(
            "multi-message counts as {}, PATCH inside {}",
            if self.counts_as_one {
                "one request"
            } else {
                "one request per item inside"
            },
            if self.allows_patch {
                "allowed"
            } else {
                "rejected"
            }
        )
    }
}

/// What one drain measured.
#[derive(Debug, Clone)]
pub struct Drained {
    pub case: DrainCase,
    pub queued: usize,
    pub synced: usize,
    pub elapsed: Duration,
    /// Brightpearl requests during the drain, and how many of them were
    /// multi-messages or got HTTP 503.
    pub requests: usize,
    pub multi_messages: usize,
    pub throttled: usize,
    /// Jobs the worker runs at once.
    pub concurrency: i64,
    /// The client's own budget per minute, below Brightpearl's.
    pub client_requests_per_minute: u32,
}

impl Drained {
    /// Returns the shortest drain the client's budget allows for the
    /// quota it used: every request past the first minute's budget waits
    /// for a later minute.
    pub fn budget_bound(&self) -> Duration {
        let budget = f64::from(self.client_requests_per_minute);
        let beyond_first_minute = (self.quota_used() as f64 - budget).max(0.0);
        Duration::from_secs_f64(beyond_first_minute / budget * 60.0)
    }

    /// Returns the requests of quota the drain used. When a multi-message
    /// costs one per message, each synced order counts in place of its
    /// multi-message, because every order went out in one.
    pub fn quota_used(&self) -> usize {
        if self.case.counts_as_one || self.multi_messages == 0 {
            self.requests
        } else {
            self.requests - self.multi_messages + self.synced
        }
    }

    pub fn requests_per_order(&self) -> f64 {
        self.requests as f64 / self.synced.max(1) as f64
    }
}

/// Queues `orders` orders, then runs the worker until all of them are
/// synced or `timeout` passes, against a sandbox with Brightpearl's budget
/// and latency and `case`'s switches.
pub async fn drain_backlog(case: DrainCase, orders: usize, timeout: Duration) -> Result<Drained> {
    // Ten sales orders to a multi-message, as `[worker] sales_order_batch`
    // defaults to in the service; the engine's own default of 1 sends none.
    let engine = EngineConfig {
        sales_order_batch: 10,
        ..EngineConfig::default()
    };
    let options = Options {
        sandbox: SandboxConfig {
            requests_per_window: BRIGHTPEARL_REQUESTS_PER_MINUTE,
            latency: LATENCY,
            latency_per_row: LATENCY_PER_ROW,
            multi_message_counts_as_one: case.counts_as_one,
            multi_message_allows_patch: case.allows_patch,
            ..SandboxConfig::default()
        },
        engine: Some(engine.clone()),
        ..Options::default()
    };
    let (app, documents) = corpus_app(options).await?;
    let client_requests_per_minute = app.engine.clients.config().requests_per_minute;
    let already_synced = synced_orders(&app).await?;
    post_backlog(&app, &documents, orders, "drain").await?;

    let log_before = app.sandbox.request_log(&app.brightpearl_code).len();
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(app.worker.clone().run(stop));
    let started = Instant::now();
    let mut synced = 0;
    while started.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(250)).await;
        synced = synced_orders(&app).await? - already_synced;
        if synced >= orders {
            break;
        }
    }
    let elapsed = started.elapsed();
    let _ = shutdown.send(true);
    let _ = worker.await;

    let log = app.sandbox.request_log(&app.brightpearl_code);
    let during = &log[log_before.min(log.len())..];
    Ok(Drained {
        case,
        queued: orders,
        synced,
        elapsed,
        requests: during.len(),
        multi_messages: during
            .iter()
            .filter(|request| request.path_and_query.contains("multi-message"))
            .count(),
        throttled: during
            .iter()
            .filter(|request| request.status == 503)
            .count(),
        concurrency: engine.job_batch,
        client_requests_per_minute,
    })
}
