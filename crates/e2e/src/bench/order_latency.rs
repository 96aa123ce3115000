//! The order endpoint's latency under an open-loop load, measured against
//! a real `pobridge serve` process, with its worker idle or draining a
//! backlog.

use std::time::Duration;

use anyhow::Result;
use pobridge_sandbox::SandboxConfig;

use super::load::{open_loop, LoadResult};
use super::serve_process::{Memory, ServeOptions, ServeProcess};
use super::setup::{corpus_app, post_backlog, synced_orders};
use crate::{Backend, Options};

/// What the worker of the process under test does during the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerPhase {
    /// The worker runs no job.
    Idle,
    /// The worker drains this many queued orders, then goes on with the
    /// orders the load adds.
    Draining(usize),
}

/// The load to send.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rate: u64,
    pub duration: Duration,
}

/// What one run measured.
pub struct LatencyRun {
    pub backend: Backend,
    pub phase: WorkerPhase,
    pub load: LoadResult,
    /// The process's memory after start-up, before the load.
    pub at_rest: Memory,
    /// The process's memory after the load; its peak covers the whole run.
    pub after_load: Memory,
    /// Orders synced by the end of the load, of the backlog and the load.
    pub synced: usize,
    /// Whether `taskset` pinned the server to its core.
    pub server_pinned: bool,
}

/// Starts pobridge on `backend` with the corpus buyers, queues the phase's
/// backlog, starts `pobridge serve` on the same database (pinned to
/// `server_core`), and sends `load` to it from this process.
///
/// The sandbox has no budget and no latency, so a draining worker syncs as
/// fast as it can and competes with the order endpoint the most.
pub async fn measure_latency(
    backend: Backend,
    phase: WorkerPhase,
    load: Load,
    server_core: Option<usize>,
) -> Result<LatencyRun> {
    let options = Options {
        sandbox: SandboxConfig {
            requests_per_window: 1_000_000,
            ..SandboxConfig::default()
        },
        requests_per_minute: Some(1_000_000),
        backend,
        ..Options::default()
    };
    let (app, documents) = corpus_app(options).await?;
    let synced_before = synced_orders(&app).await?;
    let job_batch = match phase {
        WorkerPhase::Idle => 0,
        WorkerPhase::Draining(backlog) => {
            post_backlog(&app, &documents, backlog, "backlog").await?;
            pobridge_engine::EngineConfig::default().job_batch as u16
        }
    };

    let server = ServeProcess::start(&ServeOptions {
        database_url: app.database_url.clone(),
        sandbox_url: app.sandbox_url.clone(),
        job_batch,
        requests_per_minute: 1_000_000,
        core: server_core,
    })?;
    // Lets start-up work (queueing the invoice polls) finish before the
    // resting memory is read.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_rest = server.memory()?;
    // Seeding, the backlog and earlier phases leave dirty pages, which
    // Linux writes back once they are 30 s old (`vm.dirty_expire_centisecs`
    // by default), during this phase's load. Writing them now keeps one
    // phase's disk traffic out of the next one's figures. The load's own
    // writes are written back as usual.
    tokio::task::spawn_blocking(rustix::fs::sync).await?;

    let url = format!("{}/cxml/{}", server.base_url, crate::ACCOUNT);
    let result = open_loop(
        &app.http,
        &url,
        &documents,
        load.rate,
        load.duration,
        "load",
    )
    .await;
    let after_load = server.memory()?;
    let synced = synced_orders(&app).await? - synced_before;
    Ok(LatencyRun {
        backend,
        phase,
        load: result,
        at_rest,
        after_load,
        synced,
        server_pinned: server.pinned,
    })
}
