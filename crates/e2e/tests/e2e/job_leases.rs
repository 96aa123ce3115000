//! Job claims are leases: a worker renews the claim of a job while it runs,
//! so a job that outlives its lease is not claimed by a second worker.
//!
//! These tests run on the wall clock, because the renewal and the sandbox's
//! slow answers both wait in real time. They run on SQLite and on
//! PostgreSQL, whose claims lock the jobs they take.

use std::time::Duration;

use pobridge_e2e::{
    buyer_from_header, configure_defaults, on_each_backend, ship_as_row, Backend, Options, TestApp,
};
use pobridge_engine::worker::Worker;
use pobridge_engine::EngineConfig;
use pobridge_sandbox::Faults;
use pobridge_store::{BuyerMode, JobStatus, PoFilter, PoStatus};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");
const LEASE: Duration = Duration::from_secs(1);

/// Starts pobridge with a one-second job lease and the buyer of the widgets order.
async fn app_with_short_lease(backend: Backend) -> TestApp {
    let engine = EngineConfig {
        job_lease: chrono::Duration::from_std(LEASE).unwrap(),
        ..EngineConfig::default()
    };
    let options = Options {
        engine: Some(engine),
        backend,
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    ship_as_row(&mut app).await.unwrap();
    let envelope =
        pobridge_cxml::read_envelope(ORDER.as_bytes(), &pobridge_cxml::Limits::default()).unwrap();
    let header = envelope.header.unwrap();
    app.buyer(buyer_from_header(
        "widgets-buyer",
        &header,
        "widgets-s3cret",
        BuyerMode::Production,
    ))
    .await
    .unwrap();
    app
}

/// Waits, for at most 10 seconds, until `worker` holds the claim on the
/// account's only job.
async fn wait_until_claimed(app: &TestApp, worker: &str) {
    let started = std::time::Instant::now();
    loop {
        let jobs = app.store().list_jobs(app.account.id).await.unwrap();
        if jobs[0].status == JobStatus::Running {
            assert_eq!(jobs[0].claimed_by.as_deref(), Some(worker));
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{worker} did not claim the job: {:?}",
            jobs[0]
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

on_each_backend!(threads = 4; renewed_claim_outlives_its_lease);

async fn renewed_claim_outlives_its_lease(backend: Backend) {
    let app = app_with_short_lease(backend).await;
    let (status, answer) = app.post_cxml(ORDER.as_bytes().to_vec()).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    // Every Brightpearl response takes 800 ms, so the sync of about four requests
    // runs for several leases.
    app.sandbox.set_faults(
        &app.brightpearl_code,
        Faults {
            slow_next_n: 100,
            slow_by: Duration::from_millis(800),
            ..Faults::default()
        },
    );

    let first = app.worker.clone();
    let started = std::time::Instant::now();
    let mut running = tokio::spawn(async move { first.run_once().await });
    // On PostgreSQL the spawned worker's claim takes long enough that the
    // second worker's first check could claim the job before it.
    wait_until_claimed(&app, "test-worker").await;
    let second = Worker::new(app.engine.clone(), "second-worker");
    let mut checks = tokio::time::interval(LEASE / 4);
    let mut latest_expiry = None;
    let ran = loop {
        tokio::select! {
            ran = &mut running => break ran.unwrap(),
            _ = checks.tick() => {
                assert_eq!(second.run_once().await, 0, "the second worker claimed the running job");
                let jobs = app.store().list_jobs(app.account.id).await.unwrap();
                if jobs[0].status == JobStatus::Running {
                    assert_eq!(jobs[0].claimed_by.as_deref(), Some("test-worker"));
                    latest_expiry = latest_expiry.max(jobs[0].claim_expires_at);
                }
            }
        }
    };
    let elapsed = started.elapsed();

    assert_eq!(ran, 1);
    assert!(
        elapsed > LEASE * 2,
        "the job ran for {elapsed:?}, not past its lease"
    );
    let jobs = app.store().list_jobs(app.account.id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Done, "{:?}", jobs[0].last_error);
    let created = jobs[0].created_at;
    let renewed_until = latest_expiry.expect("the running job was seen");
    assert!(
        renewed_until > created + chrono::Duration::from_std(LEASE * 2).unwrap(),
        "the claim was renewed past its first lease: {renewed_until}"
    );
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders[0].status, PoStatus::Synced, "{:?}", orders[0].reason);
    assert_eq!(app.sandbox.sales_orders(&app.brightpearl_code).len(), 1);
}
