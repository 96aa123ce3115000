//! The real `pobridge serve` killed with SIGKILL while an invoice post to
//! Coupa is in flight, then restarted: the buyer's Coupa ends with exactly
//! one accepted invoice, under Brightpearl's number.
//!
//! The Brightpearl and Coupa simulators run in this test process rather
//! than mounted in the server (`serve --sandbox`), because the mounted ones
//! keep their orders and received invoices in the server's memory, which
//! SIGKILL wipes. Here they outlive the server, so the test can see what
//! Coupa received across the restart.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::seed::Seed;
use common::Cli;
use pobridge_core::SystemClock;
use pobridge_cxml::OrderRequest;
use pobridge_e2e::invoicing::{coupa_buyer, issued_po};
use pobridge_engine::admin::{self, GrantedTokens};
use pobridge_engine::invoice_out::send::PROBABLY_DELIVERED;
use pobridge_engine::worker::Worker;
use pobridge_sandbox::{CoupaSandbox, Sandbox};
use pobridge_store::{InvoiceRecord, InvoiceStatus, PoStatus, PurchaseOrder};
use serde_json::json;

const PO_NUMBER: &str = "PO-1001";
const INVOICE_SECRET: &str = "invoicing-s3cret";
/// How long the Coupa simulator holds back its reply to the first post: far
/// longer than the test needs to kill the server.
const COUPA_DELAY: Duration = Duration::from_secs(30);
/// The job lease the server runs with, so the killed server's send job is
/// claimed again soon after the restart.
const LEASE_SECONDS: &str = "2";

/// The simulators and the database, prepared in this process.
struct Setup {
    cli: Cli,
    seed: Seed,
    sandbox: Sandbox,
    sandbox_url: String,
    coupa: CoupaSandbox,
    po: PurchaseOrder,
    order_id: u64,
}

/// Connects account `acme` to an in-process sandbox Brightpearl, syncs the
/// widgets PO into it, and points buyer-1's invoicing at an in-process
/// sandbox Coupa that has the PO.
async fn prepare() -> Setup {
    let cli = Cli::new();
    let sandbox = Sandbox::new(Default::default(), Arc::new(SystemClock));
    let (sandbox_url, _sandbox_server) = sandbox.spawn_local().await;
    let coupa = CoupaSandbox::new(Arc::new(SystemClock));
    let (coupa_url, _coupa_server) = coupa.spawn_local().await;

    let seed = Seed::new(&cli.database_url()).await;
    let grant = sandbox.connect("acme");
    let tokens = GrantedTokens {
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_in: grant.expires_in,
        installation_instance_id: grant.installation_instance_id,
        api_domain: grant.api_domain,
    };
    admin::connect_sandbox(&seed.engine, &seed.account, &tokens)
        .await
        .unwrap();
    seed.engine
        .refresh_reference(seed.account.id)
        .await
        .unwrap();
    for (key, value) in [
        ("channel_id", "1"),
        ("warehouse_id", "2"),
        ("default_tax_code", "T20"),
        ("shipping", "omit"),
    ] {
        admin::set_setting(&seed.engine, "acme", key, value)
            .await
            .unwrap();
    }
    seed.receive("BUYER-1", PO_NUMBER, 1).await;
    let worker = Worker::new(seed.engine.clone(), "prepare");
    while worker.run_once().await > 0 {}

    let po = seed.order("buyer-1", PO_NUMBER).await;
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    let order_id = po.brightpearl_order_id.unwrap() as u64;
    let mut buyer = seed.buyer("buyer-1").await;
    coupa.add_buyer(coupa_buyer(&buyer, INVOICE_SECRET, false));
    coupa.issue_po(issued_po(&synced_order(&seed, &po).await));
    buyer.invoicing = json!({
        "invoice_url": format!("{coupa_url}/cxml/invoices"),
        "shared_secret": INVOICE_SECRET,
        "tax_map": {
            "T20": { "category": "VAT", "rate": "20" },
            "T5": { "category": "VAT", "rate": "5" },
            "T": { "category": "sales", "rate": "8.25" },
            "Z": { "category": "VAT", "rate": "0" },
        },
    });
    let store = &seed.engine.store;
    store.update_buyer(seed.account.id, &buyer).await.unwrap();

    Setup {
        cli,
        seed,
        sandbox,
        sandbox_url,
        coupa,
        po,
        order_id,
    }
}

async fn synced_order(seed: &Seed, po: &PurchaseOrder) -> OrderRequest {
    let revision = po.synced_revision.unwrap_or(po.latest_revision);
    let store = &seed.engine.store;
    let revision = store.revision(seed.account.id, revision).await.unwrap();
    serde_json::from_value(revision.order).unwrap()
}

/// Starts `pobridge serve` against the in-process Brightpearl (no mounted
/// sandbox) and returns it once it prints where it listens.
fn start_server(setup: &Setup) -> Child {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(setup.cli.path("serve.log"))
        .unwrap();
    let sandbox = &setup.sandbox_url;
    let mut child = setup
        .cli
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("POBRIDGE_BRIGHTPEARL__APP_REF", "pobridge")
        .env(
            "POBRIDGE_BRIGHTPEARL__TOKEN_URL_TEMPLATE",
            format!("{sandbox}/token/{{account}}"),
        )
        .env(
            "POBRIDGE_BRIGHTPEARL__AUTHORIZE_URL_TEMPLATE",
            format!("{sandbox}/authorize/{{account}}"),
        )
        .env("POBRIDGE_WORKER__JOB_LEASE_SECONDS", LEASE_SECONDS)
        // The Coupa simulator is on loopback, and with an app_ref set
        // private addresses are otherwise rejected.
        .env("POBRIDGE_COUPA__ALLOW_PRIVATE_ADDRESSES", "true")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("pobridge starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(
        line.starts_with("pobridge listening on "),
        "unexpected first line {line:?}; log:\n{}",
        server_log(setup)
    );
    child
}

fn server_log(setup: &Setup) -> String {
    std::fs::read_to_string(setup.cli.path("serve.log")).unwrap_or_default()
}

/// Waits for `condition`, checking every 50 ms, for at most `limit`.
async fn wait_for<F, Fut>(setup: &Setup, limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}; log:\n{}",
            server_log(setup)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn invoices(setup: &Setup) -> Vec<InvoiceRecord> {
    let store = &setup.seed.engine.store;
    store
        .invoices_for_po(setup.seed.account.id, setup.po.id)
        .await
        .unwrap()
}

fn invoice_id(document: &str) -> Option<&str> {
    let start = document.find(" invoiceID=\"")? + " invoiceID=\"".len();
    let length = document[start..].find('"')?;
    Some(&document[start..start + length])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_post_leaves_one_invoice() {
    let setup = prepare().await;
    setup.coupa.slow_next_n(1, COUPA_DELAY);
    let number = setup.sandbox.invoice_order("acme", setup.order_id).unwrap();

    let mut server = start_server(&setup);
    let coupa = setup.coupa.clone();
    wait_for(&setup, Duration::from_secs(60), "the invoice post", || {
        let coupa = coupa.clone();
        async move { !coupa.received().is_empty() }
    })
    .await;
    server.kill().expect("SIGKILL is sent");
    server.wait().unwrap();

    assert_eq!(
        setup.coupa.accepted_invoices().len(),
        1,
        "Coupa took the first post"
    );
    let in_flight = invoices(&setup).await;
    assert_eq!(in_flight.len(), 1, "{in_flight:#?}");
    assert_eq!(in_flight[0].invoice_number, number);
    assert_eq!(
        in_flight[0].status,
        InvoiceStatus::Sending,
        "the killed server never read Coupa's reply"
    );

    let mut server = start_server(&setup);
    wait_for(
        &setup,
        Duration::from_secs(60),
        "the resend to settle",
        || async {
            let all = invoices(&setup).await;
            all.len() == 1
                && !matches!(
                    all[0].status,
                    InvoiceStatus::Sending | InvoiceStatus::Pending
                )
        },
    )
    .await;
    server.kill().unwrap();
    server.wait().unwrap();

    let accepted = setup.coupa.accepted_invoices();
    assert_eq!(accepted.len(), 1, "exactly one accepted invoice");
    assert_eq!(accepted[0].invoice_id, number);
    assert_eq!(accepted[0].po_number, PO_NUMBER);
    let received = setup.coupa.received();
    let statuses: Vec<u16> = received.iter().map(|document| document.status).collect();
    assert_eq!(
        statuses,
        [200, 417],
        "the resend is refused as a reused number"
    );
    for document in &received {
        assert_eq!(invoice_id(&document.raw), Some(number.as_str()));
    }

    let settled = invoices(&setup).await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].invoice_number, number);
    assert_eq!(settled[0].status, InvoiceStatus::ProbablyDelivered);
    assert_eq!(settled[0].reason.as_deref(), Some(PROBABLY_DELIVERED));
}
