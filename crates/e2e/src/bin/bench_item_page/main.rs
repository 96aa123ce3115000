//! Benchmark of the item mapping page: `GET /items` of the real portal
//! router over loopback HTTP, for an account with 100,000 Coupa items and
//! 50,000 products, on SQLite and on PostgreSQL. Prints p50, p95, p99 and
//! max per kind of request and PASS or FAIL against a 50 ms p95; exits
//! with 1 on FAIL.
//!
//! SQLite runs in a temporary file. PostgreSQL runs when a server URL is
//! given or `PGTEST_DATABASE_URL` is set, in a fresh database created on
//! that server and dropped at the end, so the server's user must be
//! allowed to create databases.
//!
//! Usage: `cargo run --release -p pobridge-e2e --bin bench-item-page -- [ROUNDS] [POSTGRES_SERVER_URL]`

mod seed;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{AccountSlug, Clock, SystemClock};
use pobridge_e2e::portal_client::PortalClient;
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_store::Store;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use seed::{Seeded, ITEMS, NOUNS, PRODUCTS};

/// The p95 every kind of request must stay under.
const TARGET_P95: Duration = Duration::from_millis(50);
/// Rounds over every kind of request when none is given.
const DEFAULT_ROUNDS: usize = 300;
/// Items per page of the portal's list.
const PAGE_SIZE: i64 = 50;
const EMAIL: &str = "bench@acme.example";
const PASSWORD: &str = "item page bench password";

#[tokio::main]
async fn main() -> Result<()> {
    let (rounds, postgres_server) = parse_arguments()?;
    let mut passed = true;

    println!("SQLite, in a temporary file:");
    let directory = tempfile::tempdir()?;
    let url = format!("sqlite://{}", directory.path().join("bench.db").display());
    passed &= run(&url, rounds).await?;

    if let Some(server) = postgres_server {
        let database = BenchDatabase::create(&server).await?;
        println!("PostgreSQL, in the fresh database {}:", database.name);
        let outcome = run(&database.url, rounds).await;
        database.drop_database().await?;
        passed &= outcome?;
    } else {
        println!("PostgreSQL skipped: give a server URL or set PGTEST_DATABASE_URL.");
    }

    if !passed {
        std::process::exit(1);
    }
    Ok(())
}

/// Reads `[ROUNDS] [POSTGRES_SERVER_URL]` in either order.
fn parse_arguments() -> Result<(usize, Option<String>)> {
    let mut rounds = DEFAULT_ROUNDS;
    let mut server = std::env::var("PGTEST_DATABASE_URL").ok();
    for argument in std::env::args().skip(1) {
        if let Ok(number) = argument.parse::<usize>() {
            ensure!(number > 0, "ROUNDS must be 1 or more, got 0");
            rounds = number;
        } else if argument.starts_with("postgres://") || argument.starts_with("postgresql://") {
            server = Some(argument);
        } else {
            bail!(
                "invalid argument {argument:?}: expected a number of rounds or a \
                 postgres:// server URL"
            );
        }
    }
    Ok((rounds, server))
}

/// Seeds the store at `url`, serves the portal on it and measures every
/// kind of request. Returns whether every kind met the target.
async fn run(url: &str, rounds: usize) -> Result<bool> {
    let store = pobridge_store::open(url).await?;
    let (engine, base_url) = serve_portal(store.clone()).await?;
    let slug = AccountSlug::parse("acme")?;
    let account = store
        .create_account(&slug, "ops@acme.example", engine.clock.now())
        .await?;
    add_user(&engine, account.id).await?;

    let seeded = seed::seed(&engine, account.id).await?;
    println!(
        "  {} items: {} mapped by hand, {} mapped by unique id, {} unmapped",
        seeded.counts.get(None),
        seeded.counts.mapped_by_hand,
        seeded.counts.mapped_by_unique_id,
        seeded.counts.unmapped
    );

    if url.starts_with("postgres") {
        vacuum(url).await?;
    }

    let mut client = PortalClient::new(&base_url);
    client.log_in(EMAIL, PASSWORD).await?;
    let kinds = request_kinds(&seeded);
    // One round that is not counted fills the caches and the connection pools.
    measure(&mut client, &kinds, 1).await?;
    let timings = measure(&mut client, &kinds, rounds).await?;
    Ok(print_table(&kinds, &timings))
}

/// Vacuums and analyzes the seeded tables, as autovacuum would soon after
/// the import. Without it the planner has no statistics, so it sorts all
/// 100,000 items for a page, and index-only scans visit the table for
/// every row because the visibility map is empty.
async fn vacuum(url: &str) -> Result<()> {
    let started = Instant::now();
    let mut connection = PgConnection::connect(url).await?;
    sqlx::query("VACUUM ANALYZE coupa_items, coupa_item_status_counts, products, item_mappings")
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    println!(
        "  vacuumed and analyzed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the real portal router on a port of 127.0.0.1 and returns the
/// engine behind it and its base URL. The engine has no Brightpearl
/// connection, which the item page does not use.
async fn serve_portal(store: Arc<dyn Store>) -> Result<(Engine, String)> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let http = reqwest::Client::new();
    let clients = ClientPool::new(http, ClientConfig::default(), store.clone(), clock.clone());
    let engine = Engine::new(store, clock, clients, EngineConfig::default());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let router = pobridge_portal::router(pobridge_portal::PortalState::new(
        engine.clone(),
        pobridge_portal::PortalConfig::new(base_url.clone()),
    ));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            eprintln!("the portal stopped: {error}");
        }
    });
    Ok((engine, base_url))
}

async fn add_user(engine: &Engine, account: pobridge_core::AccountId) -> Result<()> {
    let now = engine.clock.now();
    let user = engine.store.create_user(account, EMAIL, now).await?;
    let hash = pobridge_portal::auth::hash_password(PASSWORD.to_owned())
        .await
        .map_err(|error| anyhow::anyhow!("hashing the bench user's password: {error}"))?;
    engine
        .store
        .set_password_hash(account, user.id, &hash, now)
        .await?;
    Ok(())
}

/// One kind of request: a name for the table and the page's path.
struct RequestKind {
    name: String,
    path: String,
}

/// Lists the requests of one round: each status, a buyer, a search matching few
/// and many items, and deep pages, which make the database skip the most
/// rows.
fn request_kinds(seeded: &Seeded) -> Vec<RequestKind> {
    let buyer = seeded.buyers[0];
    let last_page = (seeded.counts.get(None) + PAGE_SIZE - 1) / PAGE_SIZE;
    let unmapped_last = (seeded.counts.unmapped + PAGE_SIZE - 1) / PAGE_SIZE;
    let many = NOUNS[0];
    let kinds = [
        ("all, page 1", "/items".to_owned()),
        ("mapped by hand", "/items?status=mapped_by_hand".to_owned()),
        (
            "mapped by unique id",
            "/items?status=mapped_by_unique_id".to_owned(),
        ),
        ("unmapped", "/items?status=unmapped".to_owned()),
        ("one buyer", format!("/items?buyer={buyer}")),
        (
            "one buyer, unmapped",
            format!("/items?buyer={buyer}&status=unmapped"),
        ),
        // Part ids end in six digits, so this matches about ten items.
        ("search matching few", "/items?q=01234".to_owned()),
        ("search matching many", format!("/items?q={many}")),
        (
            "search many, unmapped, page 20",
            format!("/items?q={many}&status=unmapped&page=20"),
        ),
        ("all, page 1000", "/items?page=1000".to_owned()),
        ("all, last page", format!("/items?page={last_page}")),
        (
            "unmapped, last page",
            format!("/items?status=unmapped&page={unmapped_last}"),
        ),
        (
            "mapped by unique id, page 500",
            "/items?status=mapped_by_unique_id&page=500".to_owned(),
        ),
    ];
    kinds
        .into_iter()
        .map(|(name, path)| RequestKind {
            name: name.to_owned(),
            path,
        })
        .collect()
}

/// Requests every kind once per round, in turn, one request at a time on a
/// keep-alive connection, and returns each kind's durations. A request
/// counts until its whole body is read. Any status but 200 fails the run.
async fn measure(
    client: &mut PortalClient,
    kinds: &[RequestKind],
    rounds: usize,
) -> Result<Vec<Vec<Duration>>> {
    let mut timings = vec![Vec::with_capacity(rounds); kinds.len()];
    for _ in 0..rounds {
        for (kind, durations) in kinds.iter().zip(&mut timings) {
            let started = Instant::now();
            let page = client.get(&kind.path).await?;
            durations.push(started.elapsed());
            ensure!(
                page.status == 200,
                "GET {} returned {}: {}",
                kind.path,
                page.status,
                page.body
            );
        }
    }
    Ok(timings)
}

/// Prints the figures per kind and over all requests. Returns whether
/// every kind's p95 is under [`TARGET_P95`].
fn print_table(kinds: &[RequestKind], timings: &[Vec<Duration>]) -> bool {
    println!();
    println!("| request | requests | p50 ms | p95 ms | p99 ms | max ms | p95 < 50 ms |");
    println!("|---|---|---|---|---|---|---|");
    let mut passed = true;
    for (kind, durations) in kinds.iter().zip(timings) {
        passed &= print_row(&kind.name, durations.clone());
    }
    print_row("all requests", timings.concat());
    println!();
    println!(
        "{}: {} items, {} products, every kind's p95 {} 50 ms",
        if passed { "PASS" } else { "FAIL" },
        ITEMS,
        PRODUCTS,
        if passed { "under" } else { "not under" }
    );
    println!();
    passed
}

fn print_row(name: &str, mut durations: Vec<Duration>) -> bool {
    durations.sort_unstable();
    let p95 = percentile(&durations, 95);
    let passed = p95 < TARGET_P95;
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
        durations.len(),
        milliseconds(percentile(&durations, 50)),
        milliseconds(p95),
        milliseconds(percentile(&durations, 99)),
        milliseconds(durations.last().copied().unwrap_or_default()),
        if passed { "PASS" } else { "FAIL" }
    );
    passed
}

/// Returns the nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// A database that exists for one run, on the server the URL names.
struct BenchDatabase {
    server: PgConnectOptions,
    name: String,
    url: String,
}

impl BenchDatabase {
    async fn create(server_url: &str) -> Result<Self> {
        let server = PgConnectOptions::from_str(server_url)
            .with_context(|| format!("{server_url:?} is not a PostgreSQL URL"))?;
        let mut admin = connect(&server).await?;
        let name: String = sqlx::query_scalar(
            "SELECT 'pobridge_bench_' || replace(gen_random_uuid()::text, '-', '')",
        )
        .fetch_one(&mut admin)
        .await?;
        // template0 and UTF8, so the run does not depend on the server's defaults.
        let create = format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'");
        sqlx::query(&create).execute(&mut admin).await?;
        admin.close().await?;

        let url = server.clone().database(&name).to_url_lossy().to_string();
        Ok(Self { server, name, url })
    }

    async fn drop_database(self) -> Result<()> {
        let mut admin = connect(&self.server).await?;
        let drop = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        sqlx::query(&drop).execute(&mut admin).await?;
        admin.close().await?;
        Ok(())
    }
}

async fn connect(server: &PgConnectOptions) -> Result<PgConnection> {
    PgConnection::connect_with(server).await.with_context(|| {
        format!(
            "cannot connect to PostgreSQL at {}:{}; start a server or pass another URL",
            server.get_host(),
            server.get_port()
        )
    })
}
