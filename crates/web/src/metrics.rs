//! Prometheus metrics at `GET /metrics`.
//!
//! Counters and histograms are recorded through the `metrics` facade where
//! the work happens: the order endpoint here, the job worker, the
//! Brightpearl client and the Coupa transport. Queue depth and record counts
//! are read from the store at each scrape. No label carries an account slug
//! or other tenant data.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::header::CONTENT_TYPE;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pobridge_store::StatusCounts;
use tokio::sync::watch;

use crate::AppState;

/// Histogram buckets in seconds for request and job durations. Jobs can wait
/// out Brightpearl throttles for minutes, hence the long tail.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The job statuses reported as queue depth, always present so a drained
/// queue shows zeros instead of stale values.
const QUEUE_STATUSES: [&str; 3] = ["queued", "running", "waiting"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder on the first call and
/// returns its handle. Metrics recorded before the first call are dropped,
/// so `serve` calls it before the worker starts.
pub fn install_recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %error, "another metrics recorder is already installed, so /metrics will contain only the store counts");
        }
        describe();
        handle
    })
}

/// Gives every metric pobridge records its `# HELP` and `# TYPE` lines.
/// A metric's lines appear once it has a value.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

    describe_counter!(
        "pobridge_order_requests_total",
        "Requests to the order endpoint, by the HTTP status of the response."
    );
    describe_histogram!(
        "pobridge_order_request_duration_seconds",
        Unit::Seconds,
        "Time from an order request's arrival to its response head, by HTTP status."
    );
    describe_counter!(
        "pobridge_jobs_total",
        "Jobs the worker ran, by kind and outcome."
    );
    describe_histogram!(
        "pobridge_job_duration_seconds",
        Unit::Seconds,
        "Time the worker spent on one job, by kind and outcome."
    );
    describe_gauge!(
        "pobridge_jobs",
        "Jobs in the queue at the last scrape, by status."
    );
    describe_gauge!(
        "pobridge_jobs_oldest_due_age_seconds",
        Unit::Seconds,
        "How long the oldest job that is due has waited, at the last scrape."
    );
    describe_gauge!(
        "pobridge_purchase_orders",
        "Purchase orders of every account, by status."
    );
    describe_gauge!(
        "pobridge_invoices",
        "Invoices and credits of every account, by status."
    );
    describe_gauge!(
        "pobridge_store_up",
        "1 when the last scrape could read the database, 0 when the counts are stale."
    );
    describe_counter!(
        "pobridge_brightpearl_requests_total",
        "Requests to Brightpearl, by outcome."
    );
    describe_counter!(
        "pobridge_brightpearl_throttle_waits_total",
        "Waits for the Brightpearl request budget, by source: this process's limiter, the \
         budget shared with other processes, or a throttled reply."
    );
    describe_counter!(
        "pobridge_brightpearl_read_resends_total",
        "Brightpearl reads sent again after a failure that a resend may fix."
    );
    describe_counter!(
        "pobridge_coupa_posts_total",
        "Invoice posts to Coupa, by outcome."
    );
}

fn build_recorder() -> metrics_exporter_prometheus::PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), DURATION_BUCKETS)
        // The bucket list is a non-empty constant, the only cause of an error.
        .expect("duration buckets are not empty")
        .build_recorder()
}

/// Drains the recorder's histogram samples every few seconds until
/// `shutdown` becomes true, so memory stays bounded between scrapes.
pub async fn run_upkeep(handle: PrometheusHandle, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    while !*shutdown.borrow() {
        tokio::select! {
            _ = ticks.tick() => handle.run_upkeep(),
            _ = shutdown.changed() => {}
        }
    }
}

/// `GET /metrics`: every recorded metric plus the store's current counts, in
/// the Prometheus text format.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    let handle = install_recorder();
    let now = state.engine.clock.now();
    match state.engine.store.status_counts(now).await {
        Ok(counts) => {
            record_counts(&counts, now);
            metrics::gauge!("pobridge_store_up").set(1.0);
        }
        Err(error) => {
            // The count gauges keep their last values, and `pobridge_store_up` = 0 marks them stale.
            tracing::error!(error = %error, "could not read the store counts for /metrics");
            metrics::gauge!("pobridge_store_up").set(0.0);
        }
    }
    let content_type = [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    (content_type, handle.render()).into_response()
}

/// Sets the gauges of queue depth, the oldest due job's age and the
/// purchase orders and invoices by status.
fn record_counts(counts: &StatusCounts, now: DateTime<Utc>) {
    for status in QUEUE_STATUSES {
        let depth = counts.jobs.get(status).copied().unwrap_or(0);
        metrics::gauge!("pobridge_jobs", "status" => status).set(depth as f64);
    }
    let age = counts
        .oldest_due_job
        .map(|run_at| (now - run_at).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    metrics::gauge!("pobridge_jobs_oldest_due_age_seconds").set(age);
    set_status_gauges("pobridge_purchase_orders", &counts.purchase_orders);
    set_status_gauges("pobridge_invoices", &counts.invoices);
}

/// The statuses each gauge has reported, so that one whose records are all
/// gone drops to zero instead of keeping its last count.
static REPORTED: Mutex<BTreeSet<(&str, String)>> = Mutex::new(BTreeSet::new());

fn set_status_gauges(name: &'static str, counts: &BTreeMap<String, i64>) {
    let mut reported = REPORTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (_, status) in reported.iter().filter(|(metric, _)| *metric == name) {
        if !counts.contains_key(status) {
            metrics::gauge!(name, "status" => status.clone()).set(0.0);
        }
    }
    for (status, count) in counts {
        metrics::gauge!(name, "status" => status.clone()).set(*count as f64);
        reported.insert((name, status.clone()));
    }
}

/// Counts each order request by the cXML status code of its response and
/// records its latency, up to the response head.
pub(crate) async fn record_order_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let code = response.status().as_u16().to_string();
    let seconds = started.elapsed().as_secs_f64();
    metrics::counter!("pobridge_order_requests_total", "code" => code.clone()).increment(1);
    metrics::histogram!("pobridge_order_request_duration_seconds", "code" => code).record(seconds);
    response
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn render_with(counts: &[StatusCounts], now: DateTime<Utc>) -> String {
        let recorder = build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            for counts in counts {
                record_counts(counts, now);
            }
        });
        handle.render()
    }

    fn statuses(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs
            .iter()
            .map(|(status, count)| ((*status).to_owned(), *count))
            .collect()
    }

    #[test]
    fn empty_queue_reports_zero_depth() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap();
        let text = render_with(&[StatusCounts::default()], now);
        assert!(
            text.contains("pobridge_jobs{status=\"queued\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("pobridge_jobs{status=\"waiting\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("pobridge_jobs_oldest_due_age_seconds 0"),
            "{text}"
        );
    }

    #[test]
    fn oldest_due_age_is_seconds_since_run_at() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap();
        let counts = StatusCounts {
            oldest_due_job: Some(now - chrono::Duration::milliseconds(90_500)),
            ..StatusCounts::default()
        };
        let text = render_with(&[counts], now);
        assert!(
            text.contains("pobridge_jobs_oldest_due_age_seconds 90.5"),
            "{text}"
        );
    }

    #[test]
    fn vanished_status_drops_to_zero() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap();
        let before = StatusCounts {
            invoices: statuses(&[("pending", 2), ("sending", 1)]),
            ..StatusCounts::default()
        };
        let after = StatusCounts {
            invoices: statuses(&[("sent", 3)]),
            ..StatusCounts::default()
        };
        let text = render_with(&[before, after], now);
        assert!(
            text.contains("pobridge_invoices{status=\"pending\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("pobridge_invoices{status=\"sending\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("pobridge_invoices{status=\"sent\"} 3"),
            "{text}"
        );
    }
}
