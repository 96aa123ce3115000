//! Runs every pobridge benchmark in turn and prints one table with each
//! figure beside its target. The figures are the order endpoint's latency
//! against a real `pobridge serve` on SQLite and PostgreSQL, idle and while
//! its worker drains a backlog, and a drain into a throttled, slow sandbox
//! Brightpearl under each multi-message switch. Then come the Brightpearl
//! requests per order, poll and sweep, the server's memory, and reading a
//! 10,000-line order.
//!
//! Usage: `bench/run [--quick] [--postgres SERVER_URL] [--only PART]
//! [--backend NAME] [--seconds N]`, or, after `cargo build --release
//! --locked -p pobridge -p pobridge-e2e`, `target/release/bench-all` with
//! the same arguments. `--only` runs one part: `large-order`, `orders`,
//! `drain` or `polls`. `--backend` runs the order endpoint on `sqlite` or
//! `postgres` only, and `--seconds` sends its load for N seconds instead of
//! 60 (5 with `--quick`).
//! Exits with 1 when a figure misses its target.

mod large_order;
mod report;

use std::time::Duration;

use anyhow::{bail, Context, Result};
use pobridge_e2e::bench::drain::{drain_backlog, DrainCase, Drained};
use pobridge_e2e::bench::invoice_poll::measure_polls;
use pobridge_e2e::bench::order_latency::{measure_latency, LatencyRun, Load, WorkerPhase};
use pobridge_e2e::bench::pinning::{pin_current_thread, two_cores, Cores};
use pobridge_e2e::Backend;
use report::{mebibytes, milliseconds, Report};

/// The sizes of one run.
struct Sizes {
    load: Load,
    backlog: usize,
    drain_orders: usize,
    drain_timeout: Duration,
    poll_orders: usize,
}

impl Sizes {
    fn full() -> Self {
        Self {
            load: Load {
                rate: 1_000,
                duration: Duration::from_secs(60),
            },
            backlog: 1_000,
            drain_orders: 1_000,
            drain_timeout: Duration::from_secs(600),
            poll_orders: 1_000,
        }
    }

    /// Sizes for trying the benchmark out: a minute or two in all.
    fn quick() -> Self {
        Self {
            load: Load {
                rate: 1_000,
                duration: Duration::from_secs(5),
            },
            backlog: 200,
            drain_orders: 100,
            drain_timeout: Duration::from_secs(180),
            poll_orders: 200,
        }
    }
}

const LARGE_ORDER_LINES: usize = 10_000;
const LARGE_ORDER_RUNS: usize = 7;
/// The drain target: 1,000 orders in three minutes.
const DRAIN_SECONDS_PER_ORDER: f64 = 180.0 / 1_000.0;

/// The parts `--only` can pick.
const PARTS: [&str; 4] = ["large-order", "orders", "drain", "polls"];

/// The text `--help` prints.
const USAGE: &str = "\
Usage: bench-all [--quick] [--postgres SERVER_URL] [--only PART] [--backend NAME] [--seconds N]

Runs the benchmarks and prints each figure beside its target. Exits with 1
when a figure misses its target.

  --quick               5 s of load, a drain of 100 orders
  --postgres SERVER_URL also run PostgreSQL (default: PGTEST_DATABASE_URL)
  --only PART           one part: large-order, orders, drain or polls
  --backend NAME        the order endpoint on sqlite or postgres only
  --seconds N           seconds of load for the order endpoint (default 60)
";

/// The parsed command-line arguments.
struct Arguments {
    quick: bool,
    postgres: Option<String>,
    /// One of [`PARTS`], or every part when `None`.
    only: Option<String>,
    /// The order endpoint's backend, or both when `None`.
    backend: Option<Backend>,
    /// The order endpoint's load length, instead of the size's.
    seconds: Option<u64>,
}

impl Arguments {
    fn runs(&self, part: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == part)
    }
}

fn main() -> Result<()> {
    let arguments = parse_arguments()?;
    let mut sizes = if arguments.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    if let Some(seconds) = arguments.seconds {
        sizes.load.duration = Duration::from_secs(seconds);
    }
    let cores = two_cores()?;
    if let Some(cores) = cores {
        pin_current_thread(cores.load_generator)?;
    }

    let mut report = Report::default();
    // First, while this process has one thread, because the heap counter
    // counts every thread's allocations.
    if arguments.runs("large-order") {
        large_order_rows(&mut report)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the runtime")?;
    runtime.block_on(run(&mut report, &sizes, cores, &arguments))?;

    println!();
    report.print();
    if !report.all_met() {
        std::process::exit(1);
    }
    Ok(())
}

fn parse_arguments() -> Result<Arguments> {
    let mut quick = false;
    let mut only = None;
    let mut backend = None;
    let mut seconds = None;
    let mut postgres = std::env::var("PGTEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--quick" => quick = true,
            "--postgres" => {
                postgres = Some(
                    arguments
                        .next()
                        .context("--postgres needs a server URL, such as postgres://postgres@127.0.0.1:5432/postgres")?,
                );
            }
            "--only" => {
                let part = arguments.next().unwrap_or_default();
                if !PARTS.contains(&part.as_str()) {
                    bail!("--only needs one of {}, not {part:?}", PARTS.join(", "));
                }
                only = Some(part);
            }
            "--backend" => {
                backend = Some(match arguments.next().unwrap_or_default().as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" => Backend::Postgres,
                    other => bail!("--backend needs sqlite or postgres, not {other:?}"),
                });
            }
            "--seconds" => {
                let value = arguments.next().unwrap_or_default();
                seconds = match value.parse::<u64>() {
                    Ok(seconds) if seconds > 0 => Some(seconds),
                    _ => bail!("--seconds needs a whole number of seconds above 0, not {value:?}"),
                };
            }
            other => bail!(
                "unknown argument {other:?}; expected --quick, --postgres SERVER_URL, \
                 --only PART, --backend NAME or --seconds N (--help lists them)"
            ),
        }
    }
    if let Some(url) = &postgres {
        // TestApp reads the server from this variable. No other thread runs yet.
        std::env::set_var("PGTEST_DATABASE_URL", url);
    }
    Ok(Arguments {
        quick,
        postgres,
        only,
        backend,
        seconds,
    })
}

async fn run(
    report: &mut Report,
    sizes: &Sizes,
    cores: Option<Cores>,
    arguments: &Arguments,
) -> Result<()> {
    match cores {
        Some(cores) => println!(
            "load generator: this process (also the sandbox Brightpearl and the set-up), \
             pinned to core {} with sched_setaffinity; server: pobridge serve, core {}",
            cores.load_generator, cores.server
        ),
        None => println!("only one core is available: nothing is pinned"),
    }

    if arguments.runs("orders") {
        let mut backends = Vec::new();
        if arguments.backend != Some(Backend::Postgres) {
            backends.push(Backend::Sqlite);
        }
        if arguments.backend != Some(Backend::Sqlite) {
            match arguments.postgres {
                Some(_) => backends.push(Backend::Postgres),
                None if arguments.backend == Some(Backend::Postgres) => {
                    bail!("--backend postgres needs --postgres SERVER_URL or PGTEST_DATABASE_URL")
                }
                None => println!(
                    "PostgreSQL skipped: give --postgres SERVER_URL or set PGTEST_DATABASE_URL"
                ),
            }
        }
        if let (Some(url), true) = (&arguments.postgres, backends.contains(&Backend::Postgres)) {
            describe_postgres(url).await?;
        }
        for backend in backends {
            latency_rows(report, sizes, cores, backend).await?;
        }
    }
    if arguments.runs("drain") {
        drain_rows(report, sizes).await?;
    }
    if arguments.runs("polls") {
        poll_rows(report, sizes).await?;
    }
    Ok(())
}

/// The `min_wal_size` below which [`describe_postgres`] warns, in MB.
const MIN_WAL_SIZE_MB: i64 = 1024;

/// Prints the PostgreSQL server's version and the settings that move the
/// order endpoint's latency, and warns when `min_wal_size` is small.
async fn describe_postgres(url: &str) -> Result<()> {
    use sqlx::Connection as _;

    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("could not connect to the PostgreSQL server at {url}"))?;
    let (version, min_wal, min_wal_mb, max_wal, shared_buffers): (
        String,
        String,
        i64,
        String,
        String,
    ) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('min_wal_size'), \
             (SELECT setting::bigint FROM pg_settings WHERE name = 'min_wal_size'), \
             current_setting('max_wal_size'), current_setting('shared_buffers')",
    )
    .fetch_one(&mut conn)
    .await
    .context("could not read the PostgreSQL server's settings")?;
    conn.close().await?;
    println!(
        "PostgreSQL {version}: min_wal_size {min_wal}, max_wal_size {max_wal}, \
         shared_buffers {shared_buffers}"
    );
    if min_wal_mb < MIN_WAL_SIZE_MB {
        println!(
            "  min_wal_size is under {MIN_WAL_SIZE_MB}MB: once the server's spare WAL files run \
             out it creates one every few seconds of load, and each stalls commits. README \
             (PostgreSQL settings) says what to set."
        );
    }
    Ok(())
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

async fn latency_rows(
    report: &mut Report,
    sizes: &Sizes,
    cores: Option<Cores>,
    backend: Backend,
) -> Result<()> {
    let name = backend_name(backend);
    let server_core = cores.map(|cores| cores.server);
    for (phase, target) in [
        (WorkerPhase::Idle, Duration::from_millis(10)),
        (
            WorkerPhase::Draining(sizes.backlog),
            Duration::from_millis(100),
        ),
    ] {
        println!(
            "{name}: {} orders/s for {} s, worker {}",
            sizes.load.rate,
            sizes.load.duration.as_secs(),
            phase_name(phase)
        );
        let run = measure_latency(backend, phase, sizes.load, server_core).await?;
        print_latency_run(&run);
        let label = format!("{name}, worker {}", phase_name(phase));
        report.figure(
            format!("order p50, {label}"),
            milliseconds(run.load.percentile(0.50)),
        );
        let p99 = run.load.percentile(0.99);
        report.checked(
            format!("order p99, {label}"),
            milliseconds(p99),
            format!("under {}", milliseconds(target)),
            p99 < target,
        );
        report.figure(format!("order max, {label}"), milliseconds(run.load.max()));
        report.checked(
            format!("orders without HTTP 200, {label}"),
            run.load.failures.to_string(),
            "0",
            run.load.failures == 0,
        );
        if phase == WorkerPhase::Idle {
            report.checked(
                format!("server memory at rest (VmRSS), {name}"),
                mebibytes(run.at_rest.resident),
                "under 50.0 MiB",
                run.at_rest.resident < 50 * 1024 * 1024,
            );
        }
        report.figure(
            format!("server peak memory (VmHWM), {label}"),
            mebibytes(run.after_load.peak_resident),
        );
    }
    Ok(())
}

fn phase_name(phase: WorkerPhase) -> String {
    match phase {
        WorkerPhase::Idle => "idle".to_owned(),
        WorkerPhase::Draining(backlog) => format!("draining {backlog} queued orders"),
    }
}

fn print_latency_run(run: &LatencyRun) {
    println!(
        "  p50 {}, p99 {}, max {}, {} of {} without HTTP 200{}; server pinned: {}; \
         VmRSS {} at rest, {} after; VmHWM {}; {} orders synced",
        milliseconds(run.load.percentile(0.50)),
        milliseconds(run.load.percentile(0.99)),
        milliseconds(run.load.max()),
        run.load.failures,
        run.load.latencies.len() + run.load.not_sent,
        run.load
            .first_failure
            .as_ref()
            .map(|failure| format!(" (first: {failure})"))
            .unwrap_or_default(),
        if run.server_pinned {
            "yes, with taskset"
        } else {
            "no"
        },
        mebibytes(run.at_rest.resident),
        mebibytes(run.after_load.resident),
        mebibytes(run.after_load.peak_resident),
        run.synced,
    );
}

async fn drain_rows(report: &mut Report, sizes: &Sizes) -> Result<()> {
    let orders = sizes.drain_orders;
    let target = Duration::from_secs_f64(DRAIN_SECONDS_PER_ORDER * orders as f64);
    for (index, case) in DrainCase::ALL.iter().enumerate() {
        println!("drain of {orders} queued orders: {}", case.label());
        let drained = drain_backlog(*case, orders, sizes.drain_timeout).await?;
        print_drain(&drained);
        let label = format!("drain of {orders} orders, {}", case.label());
        let time = format!(
            "{} of {} synced in {:.1} s; budget bound {:.1} s; {} jobs at once",
            drained.synced,
            drained.queued,
            drained.elapsed.as_secs_f64(),
            drained.budget_bound().as_secs_f64(),
            drained.concurrency
        );
        if case.counts_as_one {
            let met = drained.synced == orders && drained.elapsed < target;
            report.checked(
                label.clone(),
                time,
                format!("all in under {:.0} s", target.as_secs_f64()),
                met,
            );
        } else {
            report.figure(label.clone(), time);
        }
        report.checked(
            format!("HTTP 503 from Brightpearl, {label}"),
            drained.throttled.to_string(),
            "0",
            drained.throttled == 0,
        );
        report.figure(
            format!("Brightpearl requests per order, {label}"),
            format!(
                "{:.2} ({} requests, {} multi-messages)",
                drained.requests_per_order(),
                drained.requests,
                drained.multi_messages
            ),
        );
        if index == 0 && drained.multi_messages == 0 {
            println!(
                "  batching is not available: the worker sent no multi-message, so the \
                 switches change nothing and the other combinations are skipped"
            );
            report.figure(
                "batching",
                "not available: the worker sent no multi-message",
            );
            break;
        }
    }
    Ok(())
}

fn print_drain(drained: &Drained) {
    println!(
        "  {} of {} synced in {:.1} s, {} requests ({} multi-messages, {} HTTP 503), \
         budget {} a minute, bound {:.1} s, {} jobs at once",
        drained.synced,
        drained.queued,
        drained.elapsed.as_secs_f64(),
        drained.requests,
        drained.multi_messages,
        drained.throttled,
        drained.client_requests_per_minute,
        drained.budget_bound().as_secs_f64(),
        drained.concurrency
    );
}

async fn poll_rows(report: &mut Report, sizes: &Sizes) -> Result<()> {
    println!(
        "invoice poll and sweep over {} tracked orders",
        sizes.poll_orders
    );
    let runs = measure_polls(sizes.poll_orders, 10).await?;
    report.figure(
        format!(
            "Brightpearl requests per incremental poll, {} tracked orders, 10 invoiced",
            runs.tracked
        ),
        runs.incremental.requests.len().to_string(),
    );
    report.figure(
        format!(
            "Brightpearl requests per sweep, {} open orders",
            runs.tracked
        ),
        runs.sweep.requests.len().to_string(),
    );
    Ok(())
}

fn large_order_rows(report: &mut Report) -> Result<()> {
    let read = large_order::measure(LARGE_ORDER_LINES, LARGE_ORDER_RUNS)?;
    let size = mebibytes(read.document_bytes as u64);
    println!(
        "reading a {}-line order of {size}: best {}, median {} of {LARGE_ORDER_RUNS}; \
         peak heap {}",
        read.lines,
        milliseconds(read.best),
        milliseconds(read.median),
        mebibytes(read.peak_heap_bytes as u64)
    );
    let target = Duration::from_millis(70);
    report.checked(
        format!(
            "read time of a {}-line order ({size}), median of {LARGE_ORDER_RUNS}",
            read.lines
        ),
        format!(
            "{} (best {})",
            milliseconds(read.median),
            milliseconds(read.best)
        ),
        format!("under {}", milliseconds(target)),
        read.median < target,
    );
    report.checked(
        "peak heap while reading it, the document included",
        mebibytes(read.peak_heap_bytes as u64),
        format!(
            "under {} (3 x its size)",
            mebibytes(3 * read.document_bytes as u64)
        ),
        read.peak_heap_bytes < 3 * read.document_bytes,
    );
    Ok(())
}
