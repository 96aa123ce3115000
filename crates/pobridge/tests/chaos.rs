//! The chaos test: two `pobridge serve` processes on one PostgreSQL
//! database take purchase orders and send invoices while the sandbox
//! Brightpearl throttles, fails with 500, replies slowly and drops
//! connections after committing, the sandbox Coupa fails invoice posts with
//! 5xx and drops connections after accepting, and the processes are killed
//! with SIGKILL at random and restarted. At the end every PO has exactly
//! one Brightpearl sales order and its buyer's Coupa accepted exactly one
//! invoice for it.
//!
//! Both simulators run in this test process, so they outlive the killed
//! servers. The size comes from the environment (see [`Plan::from_env`]);
//! the default fits CI. The full-size run is
//! `CHAOS_ORDERS=10000 CHAOS_KILLS=20 cargo test --release --locked -p pobridge --test chaos -- --nocapture`.
//! Without `PGTEST_DATABASE_URL` the test prints that it is skipped and passes.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::seed::Seed;
use common::serve::{connect_sandbox, log_tail, start_server, Server, Servers};
use pobridge_core::SystemClock;
use pobridge_e2e::invoicing::coupa_buyer;
use pobridge_engine::admin;
use pobridge_sandbox::{CoupaSandbox, Faults, IssuedLine, IssuedPo, Sandbox, SandboxConfig};
use pobridge_store::test_database::{server_url_or_skip, TestDatabase};
use pobridge_store::{InvoiceFilter, InvoiceStatus, PoFilter, PoStatus, PurchaseOrder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const ORDER: &str = include_str!("fixtures/order-widgets.xml");
const INVOICE_SECRET: &str = "invoicing-s3cret";
/// The sandbox Brightpearl account the `acme` account is connected to.
const BRIGHTPEARL_CODE: &str = "acme";
/// Every how many POs one is posted a second time, unchanged.
const RESEND_EVERY: usize = 7;
/// Order posts in flight at once.
const POSTERS: usize = 8;

/// The size and pace of a run, from `CHAOS_*` environment variables.
#[derive(Debug, Clone)]
struct Plan {
    /// Distinct POs posted (`CHAOS_ORDERS`, 300).
    orders: usize,
    /// SIGKILLs, each followed by a restart (`CHAOS_KILLS`, 4).
    kills: usize,
    /// The mean pause before each kill (`CHAOS_KILL_GAP_MS`, 4000). Each
    /// pause is drawn between half and one and a half times this.
    kill_gap: Duration,
    /// Seed of the random choices (`CHAOS_SEED`, random); printed, so a
    /// run's kill and fault schedule can be drawn again.
    seed: u64,
    /// Requests the sandbox Brightpearl allows per minute
    /// (`CHAOS_BRIGHTPEARL_QUOTA`, 1200). Each process's client is given
    /// three quarters of it, so together they can exceed it.
    quota: u32,
    /// How long the run may take before the test fails
    /// (`CHAOS_TIMEOUT_SECONDS`, 240 plus a tenth of a second per order).
    timeout: Duration,
}

impl Plan {
    fn from_env() -> Self {
        let orders = env_number("CHAOS_ORDERS", 300);
        let timeout_seconds = env_number("CHAOS_TIMEOUT_SECONDS", 240 + orders / 10);
        Self {
            orders: orders as usize,
            kills: env_number("CHAOS_KILLS", 4) as usize,
            kill_gap: Duration::from_millis(env_number("CHAOS_KILL_GAP_MS", 4000)),
            seed: env_number("CHAOS_SEED", rand::random::<u32>().into()),
            quota: env_number("CHAOS_BRIGHTPEARL_QUOTA", 1200) as u32,
            timeout: Duration::from_secs(timeout_seconds),
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is invalid: expected a whole number")),
        Err(_) => default,
    }
}

/// The two simulators, the database and the account, set up in this process.
struct World {
    plan: Plan,
    database_url: String,
    sandbox: Sandbox,
    sandbox_url: String,
    coupa: CoupaSandbox,
    seed: Seed,
    logs: tempfile::TempDir,
}

/// Connects `acme` to the sandbox Brightpearl with the defaults an order
/// needs, and points buyer-1's invoices at the sandbox Coupa.
async fn prepare(plan: Plan, database_url: String) -> World {
    // A 10 s window, so a throttled client waits seconds rather than a minute.
    let sandbox_config = SandboxConfig {
        requests_per_window: (plan.quota / 6).max(1),
        window: Duration::from_secs(10),
        latency: Duration::from_millis(2),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::new(sandbox_config, Arc::new(SystemClock));
    let (sandbox_url, _sandbox_server) = sandbox.spawn_local().await;
    let coupa = CoupaSandbox::new(Arc::new(SystemClock));
    let (coupa_url, _coupa_server) = coupa.spawn_local().await;

    let seed = Seed::new(&database_url).await;
    connect_sandbox(&seed, &sandbox, BRIGHTPEARL_CODE).await;
    admin::set_setting(&seed.engine, "acme", "invoice_poll_minutes", "1")
        .await
        .unwrap();

    let mut buyer = seed.buyer("buyer-1").await;
    coupa.add_buyer(coupa_buyer(&buyer, INVOICE_SECRET, false));
    buyer.invoicing = json!({
        "invoice_url": format!("{coupa_url}/cxml/invoices"),
        "shared_secret": INVOICE_SECRET,
        "tax_map": { "T20": { "category": "VAT", "rate": "20" } },
    });
    let store = &seed.engine.store;
    store.update_buyer(seed.account.id, &buyer).await.unwrap();

    World {
        plan,
        database_url,
        sandbox,
        sandbox_url,
        coupa,
        seed,
        logs: tempfile::tempdir().unwrap(),
    }
}

impl World {
    fn log_path(&self, slot: usize) -> PathBuf {
        self.logs.path().join(format!("serve-{slot}.log"))
    }

    /// Starts `pobridge serve` number `slot` on a free port, appending its
    /// log to that slot's file, and returns it once it listens.
    fn start_server(&self, slot: usize) -> Server {
        let client_budget = (self.plan.quota * 3 / 4).max(1).to_string();
        let env = [
            ("POBRIDGE_BRIGHTPEARL__REQUESTS_PER_MINUTE", client_budget),
            (
                "POBRIDGE_BRIGHTPEARL__REQUEST_TIMEOUT_SECONDS",
                "10".to_owned(),
            ),
            ("POBRIDGE_COUPA__REQUEST_TIMEOUT_SECONDS", "10".to_owned()),
            // The Coupa simulator is on loopback, and with an app_ref set
            // private addresses are otherwise rejected.
            ("POBRIDGE_COUPA__ALLOW_PRIVATE_ADDRESSES", "true".to_owned()),
            // A killed server's jobs are claimed again within 3 s, and
            // retries come after at most 1 s instead of backing off for
            // minutes, so the run settles in the time a test has.
            ("POBRIDGE_WORKER__JOB_LEASE_SECONDS", "3".to_owned()),
            ("POBRIDGE_WORKER__MAX_RETRY_DELAY_SECONDS", "1".to_owned()),
        ];
        start_server(
            &self.database_url,
            &self.sandbox_url,
            self.logs.path(),
            &self.log_path(slot),
            &env,
        )
    }
}

/// Figures the run prints at the end.
#[derive(Default)]
struct Counters {
    order_posts: AtomicU64,
    resends: AtomicU64,
    posts_failed_in_transit: AtomicU64,
    kills: AtomicUsize,
    brightpearl_faults_armed: Mutex<BTreeMap<&'static str, u64>>,
    coupa_faults_armed: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    fn armed(map: &Mutex<BTreeMap<&'static str, u64>>, kind: &'static str, n: u32) {
        *map.lock().unwrap().entry(kind).or_default() += u64::from(n);
    }
}

fn po_number(index: usize) -> String {
    format!("PO-C{index:05}")
}

/// Returns the widgets order as PO `index`, with its own payloadID.
fn order_body(index: usize) -> String {
    ORDER
        .replacen(
            "1710000000.000001@buyer.example",
            &format!("chaos-{index}@buyer.example"),
            1,
        )
        .replacen(
            r#"orderID="PO-1001""#,
            &format!(r#"orderID="{}""#, po_number(index)),
            1,
        )
}

/// PO `index` as the buyer's Coupa issued it: the widgets order's lines.
fn issued_po(index: usize) -> IssuedPo {
    let line = |line_number, part: &str, unit: &str, quantity: &str, price: &str| IssuedLine {
        line_number,
        supplier_part_id: part.to_owned(),
        unit_of_measure: unit.to_owned(),
        quantity: quantity.parse::<Decimal>().unwrap(),
        unit_price: price.parse::<Decimal>().unwrap(),
        service: false,
    };
    IssuedPo {
        po_number: po_number(index),
        currency: "USD".to_owned(),
        lines: vec![
            line(1, "WID-BLU-10", "EA", "4", "12.50"),
            line(2, "SVC-INSTALL-HR", "HUR", "1.5", "80.00"),
        ],
    }
}

/// Posts PO `index` until a server returns 200, starting with server
/// `first` and switching servers after a failure, as a buyer's Coupa
/// resends an order that got no response.
async fn post_until_accepted(
    http: &reqwest::Client,
    servers: &Servers,
    counters: &Counters,
    (index, first): (usize, usize),
    body: &str,
) {
    for attempt in 0.. {
        let url = format!("{}/cxml/acme", servers.base_url((first + attempt) % 2));
        counters.order_posts.fetch_add(1, Ordering::Relaxed);
        let response = http
            .post(url)
            .header("content-type", "text/xml")
            .body(body.to_owned())
            .send()
            .await;
        match response {
            Ok(response) if response.status().as_u16() == 200 => return,
            Ok(response) if response.status().is_server_error() => {}
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                panic!("PO {} was rejected with {status}: {text}", po_number(index));
            }
            Err(_) => {}
        }
        counters
            .posts_failed_in_transit
            .fetch_add(1, Ordering::Relaxed);
        assert!(attempt < 200, "PO {} was never accepted", po_number(index));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Posts every PO, `POSTERS` at a time, and every `RESEND_EVERY`th a
/// second time once it was accepted. The posts are spread over the time
/// the kills are expected to take, so that some servers die mid-post.
async fn post_orders(world: &World, servers: &Servers, counters: &Counters) {
    let plan = &world.plan;
    let spread = plan.kill_gap * u32::try_from(plan.kills).unwrap_or(u32::MAX);
    let interval = spread / u32::try_from(plan.orders.max(1)).unwrap_or(u32::MAX);
    let started = tokio::time::Instant::now();
    let next = AtomicUsize::new(0);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let poster = || async {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= plan.orders {
                return;
            }
            let due = started + interval * u32::try_from(index).unwrap_or(u32::MAX);
            tokio::time::sleep_until(due).await;
            world.coupa.issue_po(issued_po(index));
            let body = order_body(index);
            post_until_accepted(&http, servers, counters, (index, index % 2), &body).await;
            if index % RESEND_EVERY == 3 {
                // The same document again, to the other server: a duplicate.
                counters.resends.fetch_add(1, Ordering::Relaxed);
                let other = (index + 1) % 2;
                post_until_accepted(&http, servers, counters, (index, other), &body).await;
            }
        }
    };
    futures::future::join_all((0..POSTERS).map(|_| poster())).await;
}

/// Kills a random server with SIGKILL after each random pause and starts it
/// again, `plan.kills` times.
async fn kill_and_restart(
    world: &World,
    servers: &Servers,
    counters: &Counters,
    rng: &Mutex<StdRng>,
) {
    let gap = world.plan.kill_gap.as_millis() as u64;
    for _ in 0..world.plan.kills {
        let (pause, slot) = {
            let mut rng = rng.lock().unwrap();
            (rng.gen_range(gap / 2..=gap + gap / 2), rng.gen_range(0..2))
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        servers.kill(slot);
        counters.kills.fetch_add(1, Ordering::Relaxed);
        let server = tokio::task::block_in_place(|| world.start_server(slot));
        servers.replace(slot, server);
    }
}

/// Arms a few random faults in both simulators every 500 ms until `stop`.
/// Arming replaces the faults still pending, so the counts are an upper
/// bound of what took effect. Throttling is armed rarely, because each
/// throttle reply makes every request of the account wait for the next
/// window.
async fn inject_faults(world: &World, counters: &Counters, rng: &Mutex<StdRng>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let (faults, coupa_fail, coupa_status, coupa_drop, coupa_slow) = {
            let mut rng = rng.lock().unwrap();
            let mut sometimes = |probability: f64, most: u32| {
                if rng.gen_bool(probability) {
                    rng.gen_range(1..=most)
                } else {
                    0
                }
            };
            let faults = Faults {
                throttle_next_n: sometimes(0.05, 1),
                fail_next_n_with_500: sometimes(0.5, 2),
                drop_connection_after_commit_next_n_posts: sometimes(0.3, 1),
                drop_connection_next_n_gets: sometimes(0.2, 1),
                slow_next_n: sometimes(0.4, 2),
                slow_by: Duration::ZERO,
                ..Faults::default()
            };
            let coupa = (sometimes(0.5, 2), sometimes(0.2, 1), sometimes(0.2, 1));
            let slow_by = Duration::from_millis(rng.gen_range(200..=1500));
            let status = if rng.gen_bool(0.5) { 500 } else { 503 };
            (
                Faults { slow_by, ..faults },
                coupa.0,
                status,
                coupa.1,
                coupa.2,
            )
        };
        let brightpearl = &counters.brightpearl_faults_armed;
        Counters::armed(brightpearl, "throttled", faults.throttle_next_n);
        Counters::armed(brightpearl, "500", faults.fail_next_n_with_500);
        Counters::armed(
            brightpearl,
            "dropped after commit",
            faults.drop_connection_after_commit_next_n_posts,
        );
        Counters::armed(
            brightpearl,
            "GET dropped",
            faults.drop_connection_next_n_gets,
        );
        Counters::armed(brightpearl, "slow", faults.slow_next_n);
        world.sandbox.set_faults(BRIGHTPEARL_CODE, faults);

        let coupa = &counters.coupa_faults_armed;
        Counters::armed(coupa, "5xx", coupa_fail);
        Counters::armed(coupa, "dropped after accept", coupa_drop);
        Counters::armed(coupa, "slow", coupa_slow);
        world.coupa.fail_next_n_with(coupa_status, coupa_fail);
        world.coupa.drop_connection_after_accept_next_n(coupa_drop);
        world
            .coupa
            .slow_next_n(coupa_slow, Duration::from_millis(1500));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    world
        .sandbox
        .set_faults(BRIGHTPEARL_CODE, Faults::default());
    world.coupa.fail_next_n_with(500, 0);
    world.coupa.drop_connection_after_accept_next_n(0);
    world.coupa.slow_next_n(0, Duration::ZERO);
}

/// Invoices, as staff would, every sales order whose PO pobridge reports
/// synced, and queues an invoice poll, every second until `stop`.
async fn invoice_synced_orders(world: &World, stop: &AtomicBool) {
    let store = &world.seed.engine.store;
    let account = world.seed.account.id;
    let mut invoiced = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        let filter = PoFilter {
            status: Some(PoStatus::Synced),
            ..PoFilter::default()
        };
        if let Ok(synced) = store.list_purchase_orders(account, &filter).await {
            for po in synced {
                let Some(order_id) = po.brightpearl_order_id else {
                    continue;
                };
                if invoiced.insert(order_id) {
                    world
                        .sandbox
                        .invoice_order(BRIGHTPEARL_CODE, order_id as u64)
                        .unwrap_or_else(|error| {
                            panic!("invoicing order {order_id} of {}: {error}", po.number)
                        });
                }
            }
        }
        // What `pobridge invoices acme poll` queues; the servers' workers run it.
        let _ = world.seed.engine.schedule_invoicing(account).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Returns whether every PO is synced, every invoice sent and Coupa has
/// accepted as many invoices as there are POs, from the store's counts.
async fn looks_settled(world: &World) -> bool {
    let store = &world.seed.engine.store;
    let Ok(counts) = store.status_counts(world.seed.engine.clock.now()).await else {
        return false;
    };
    let orders = world.plan.orders as i64;
    let synced = counts.purchase_orders.get("synced").copied().unwrap_or(0);
    let sent: i64 = ["sent", "probably_delivered"]
        .iter()
        .filter_map(|status| counts.invoices.get(*status))
        .sum();
    let all_invoices: i64 = counts.invoices.values().sum();
    let all_orders: i64 = counts.purchase_orders.values().sum();
    all_orders == orders
        && synced == orders
        && all_invoices == orders
        && sent == orders
        && world.coupa.accepted_invoices().len() >= world.plan.orders
}

/// Lists what is still unsettled: POs not synced, invoices not sent and
/// POs without an invoice accepted by Coupa.
async fn unsettled(world: &World) -> Vec<String> {
    let store = &world.seed.engine.store;
    let account = world.seed.account.id;
    let mut open = Vec::new();
    let pos = store
        .list_purchase_orders(account, &PoFilter::default())
        .await
        .unwrap();
    if pos.len() != world.plan.orders {
        open.push(format!(
            "{} POs stored, {} posted",
            pos.len(),
            world.plan.orders
        ));
    }
    for po in pos.iter().filter(|po| po.status != PoStatus::Synced) {
        open.push(format!(
            "PO {} is {} ({})",
            po.number,
            po.status.as_str(),
            po.reason.as_deref().unwrap_or("no reason")
        ));
    }
    let invoices = store
        .list_invoices(account, &InvoiceFilter::default())
        .await
        .unwrap();
    for invoice in &invoices {
        if !matches!(
            invoice.status,
            InvoiceStatus::Sent | InvoiceStatus::ProbablyDelivered
        ) {
            open.push(format!(
                "invoice {} is {} ({})",
                invoice.invoice_number,
                invoice.status.as_str(),
                invoice.reason.as_deref().unwrap_or("no reason")
            ));
        }
    }
    let accepted: BTreeSet<String> = world
        .coupa
        .accepted_invoices()
        .into_iter()
        .map(|invoice| invoice.po_number)
        .collect();
    let missing: Vec<&str> = pos
        .iter()
        .map(|po| po.number.as_str())
        .filter(|number| !accepted.contains(*number))
        .collect();
    if !missing.is_empty() {
        open.push(format!(
            "{} POs have no invoice accepted by Coupa, such as {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        ));
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_syncs_and_invoices_each_po_once() {
    let Some(server_url) = server_url_or_skip("the chaos test") else {
        return;
    };
    let plan = Plan::from_env();
    println!("chaos plan: {plan:?}");
    // Dropped when the test ends, also when it panics.
    let database = TestDatabase::create(&server_url).await;
    let world = prepare(plan, database.url().to_owned()).await;
    run(world).await;
}

async fn run(world: World) {
    let started = Instant::now();
    let world = Arc::new(world);
    let servers = Arc::new(Servers {
        running: Mutex::new(vec![world.start_server(0), world.start_server(1)]),
    });
    let counters = Arc::new(Counters::default());
    let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(world.plan.seed)));
    let stop_faults = Arc::new(AtomicBool::new(false));
    let stop_invoicing = Arc::new(AtomicBool::new(false));

    let faults = tokio::spawn({
        let (world, counters, rng, stop) = (
            world.clone(),
            counters.clone(),
            rng.clone(),
            stop_faults.clone(),
        );
        async move { inject_faults(&world, &counters, &rng, &stop).await }
    });
    let invoicing = tokio::spawn({
        let (world, stop) = (world.clone(), stop_invoicing.clone());
        async move { invoice_synced_orders(&world, &stop).await }
    });
    let killing = tokio::spawn({
        let (world, servers, counters, rng) = (
            world.clone(),
            servers.clone(),
            counters.clone(),
            rng.clone(),
        );
        async move { kill_and_restart(&world, &servers, &counters, &rng).await }
    });

    post_orders(&world, &servers, &counters).await;
    let posted_after = started.elapsed();
    killing.await.unwrap();
    let kills_done_after = started.elapsed();
    // Faults go on until Coupa has accepted every invoice, so polls,
    // sweeps and sends all meet them, but stop by half the timeout, so the
    // run can settle.
    while world.coupa.accepted_invoices().len() < world.plan.orders
        && started.elapsed() < world.plan.timeout / 2
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let faults_stopped_after = started.elapsed();
    stop_faults.store(true, Ordering::Relaxed);
    faults.await.unwrap();

    let mut last_progress = Instant::now();
    while !looks_settled(&world).await {
        if started.elapsed() > world.plan.timeout {
            servers.stop_all();
            let open = unsettled(&world).await;
            panic!(
                "not settled after {:?}; {} open items:\n{}\nserver 0 log:\n{}\nserver 1 log:\n{}",
                world.plan.timeout,
                open.len(),
                open[..open.len().min(40)].join("\n"),
                log_tail(&world.log_path(0)),
                log_tail(&world.log_path(1)),
            );
        }
        if last_progress.elapsed() > Duration::from_secs(10) {
            print_progress(&world, started).await;
            last_progress = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let settled_after = started.elapsed();
    stop_invoicing.store(true, Ordering::Relaxed);
    invoicing.await.unwrap();
    servers.stop_all();

    check_exactly_once(&world).await;
    let times = [
        posted_after,
        kills_done_after,
        faults_stopped_after,
        settled_after,
    ];
    print_figures(&world, &counters, times);
}

async fn print_progress(world: &World, started: Instant) {
    let store = &world.seed.engine.store;
    if let Ok(counts) = store.status_counts(world.seed.engine.clock.now()).await {
        println!(
            "  after {:.0} s: POs {:?}, invoices {:?}, jobs {:?}, Coupa accepted {}",
            started.elapsed().as_secs_f64(),
            counts.purchase_orders,
            counts.invoices,
            counts.jobs,
            world.coupa.accepted_invoices().len()
        );
    }
}

/// Asserts one sales order per PO in the sandbox Brightpearl, the store
/// pointing at it, and one accepted invoice per PO in the sandbox Coupa,
/// under the sales order's invoice number.
async fn check_exactly_once(world: &World) {
    let store = &world.seed.engine.store;
    let pos: Vec<PurchaseOrder> = store
        .list_purchase_orders(world.seed.account.id, &PoFilter::default())
        .await
        .unwrap();
    let numbers: BTreeSet<String> = pos.iter().map(|po| po.number.as_str().to_owned()).collect();
    let expected: BTreeSet<String> = (0..world.plan.orders).map(po_number).collect();
    assert_eq!(pos.len(), world.plan.orders, "one stored PO per posted PO");
    assert_eq!(numbers, expected, "every posted PO is stored");

    // Order GET carries the customer reference, which pobridge sets to the
    // PO number, but not the externalRef.
    let sales_orders = world.sandbox.sales_orders(BRIGHTPEARL_CODE);
    let by_reference = group(&sales_orders, |order| order["reference"].as_str());
    assert_eq!(
        sales_orders.len(),
        world.plan.orders,
        "one sales order per PO, no more"
    );
    for po in &pos {
        let orders = by_reference
            .get(po.number.as_str())
            .map_or(&[][..], Vec::as_slice);
        assert_eq!(
            orders.len(),
            1,
            "PO {} has exactly one sales order",
            po.number
        );
        assert_eq!(
            orders[0]["id"].as_i64(),
            po.brightpearl_order_id,
            "PO {} points at its sales order",
            po.number
        );
    }

    let accepted = world.coupa.accepted_invoices();
    assert_eq!(
        accepted.len(),
        world.plan.orders,
        "Coupa accepted one invoice per PO, no more"
    );
    let mut accepted_by_po: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for invoice in &accepted {
        accepted_by_po
            .entry(invoice.po_number.as_str())
            .or_default()
            .push(invoice.invoice_id.as_str());
    }
    for po in &pos {
        let invoices = accepted_by_po
            .get(po.number.as_str())
            .map_or(&[][..], Vec::as_slice);
        assert_eq!(
            invoices.len(),
            1,
            "PO {} has one accepted invoice",
            po.number
        );
        let order = &by_reference[po.number.as_str()][0];
        let reference = order["invoices"][0]["invoiceReference"].as_str();
        assert_eq!(
            Some(invoices[0]),
            reference,
            "PO {} was invoiced under its sales order's number",
            po.number
        );
    }
}

fn group<'a>(
    orders: &'a [Value],
    key: impl Fn(&'a Value) -> Option<&'a str>,
) -> BTreeMap<&'a str, Vec<&'a Value>> {
    let mut groups: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for order in orders {
        groups
            .entry(key(order).unwrap_or(""))
            .or_default()
            .push(order);
    }
    groups
}

fn print_figures(world: &World, counters: &Counters, times: [Duration; 4]) {
    let [posted, killed, faulted, settled] = times.map(|time| time.as_secs_f64());
    let log = world.sandbox.request_log(BRIGHTPEARL_CODE);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for request in &log {
        *statuses.entry(request.status).or_default() += 1;
    }
    let received = world.coupa.received();
    let coupa_5xx = received
        .iter()
        .filter(|document| document.status >= 500)
        .count();
    let coupa_dropped = received
        .iter()
        .filter(|document| document.connection_dropped)
        .count();
    let coupa_417 = received
        .iter()
        .filter(|document| document.status == 417)
        .count();
    println!("chaos figures (seed {}):", world.plan.seed);
    println!(
        "  orders {}, order posts {} (resends {}, failed in transit {})",
        world.plan.orders,
        counters.order_posts.load(Ordering::Relaxed),
        counters.resends.load(Ordering::Relaxed),
        counters.posts_failed_in_transit.load(Ordering::Relaxed)
    );
    println!("  SIGKILLs {}", counters.kills.load(Ordering::Relaxed));
    println!(
        "  Brightpearl: {} requests, by status {statuses:?}; faults armed {:?}",
        log.len(),
        counters.brightpearl_faults_armed.lock().unwrap()
    );
    println!(
        "  Coupa: {} invoice posts, {} accepted, {coupa_5xx} 5xx, {coupa_dropped} dropped after \
         accepting, {coupa_417} 417 for a reused number; faults armed {:?}",
        received.len(),
        world.coupa.accepted_invoices().len(),
        counters.coupa_faults_armed.lock().unwrap()
    );
    println!(
        "  posted after {posted:.1} s, kills done after {killed:.1} s, faults stopped after \
         {faulted:.1} s, settled after {settled:.1} s"
    );
}
