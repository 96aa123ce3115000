//! The real `pobridge serve` binary against a sandbox Brightpearl that runs
//! in this test process, so that it outlives the server: killed with SIGKILL
//! mid-batch and restarted, and releasing a held order from the CLI.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pobridge_brightpearl::ClientConfig;
use pobridge_core::{
    api_base_from_domain, AccountSlug, Clock, Connection, ConnectionAuth, ConnectionStatus,
    SystemClock,
};
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_sandbox::{Sandbox, SandboxConfig};
use pobridge_store::{BuyerMode, CredentialRef, NewBuyer, PoFilter, PoStatus, Store};

const ORDER: &str = include_str!("fixtures/order-widgets.xml");
const ORDERS: usize = 40;
const BRIGHTPEARL_CODE: &str = "killtest";

/// Sets up the account, its sandbox connection, reference data, defaults
/// and buyer in the database, using the engine in this process.
async fn prepare(database_url: &str, sandbox_url: &str, sandbox: &Sandbox) -> Arc<dyn Store> {
    let store = pobridge_store::open(database_url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let client_config = ClientConfig {
        app_ref: "pobridge".to_owned(),
        ..ClientConfig::default()
    };
    let clients = ClientPool::new(
        reqwest::Client::new(),
        client_config,
        store.clone(),
        clock.clone(),
    );
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        clients,
        EngineConfig::default(),
    );

    let account = store
        .create_account(
            &AccountSlug::parse("acme").unwrap(),
            "ops@acme.example",
            clock.now(),
        )
        .await
        .unwrap();
    let grant = sandbox.connect(BRIGHTPEARL_CODE);
    let connection = Connection {
        account_code: BRIGHTPEARL_CODE.to_owned(),
        api_base: api_base_from_domain(sandbox_url),
        auth: ConnectionAuth::OAuth {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            expires_at: clock.now() + chrono::Duration::days(7),
        },
        installation_instance_id: Some(grant.installation_instance_id),
        is_sandbox: true,
        status: ConnectionStatus::Connected,
        connected_at: clock.now(),
    };
    store
        .save_connection(account.id, &connection)
        .await
        .unwrap();
    engine.refresh_reference(account.id).await.unwrap();
    for (key, value) in [
        ("channel_id", "1"),
        ("warehouse_id", "2"),
        ("default_tax_code", "T20"),
        ("shipping_nominal_code", "4040"),
    ] {
        pobridge_engine::admin::set_setting(&engine, "acme", key, value)
            .await
            .unwrap();
    }
    let credential = |domain: &str, identity: &str| CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    };
    let buyer = NewBuyer {
        name: "buyer-1".to_owned(),
        from: credential("NetworkID", "BUYER-1"),
        to: credential("DUNS", "123456789"),
        sender: credential("NetworkID", "BUYER-1"),
        shared_secret: Some("widgets-s3cret".to_owned()),
        url_token: None,
        mode: BuyerMode::Production,
        invoice_url: None,
    };
    engine.create_buyer(account.id, buyer).await.unwrap();
    store
}

/// Starts `pobridge serve` on a free loopback port and returns it with its base URL.
fn start_server(database_url: &str) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pobridge"));
    for (name, _) in std::env::vars() {
        if name.starts_with("POBRIDGE_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            database_url,
        ])
        .env("POBRIDGE_BRIGHTPEARL__APP_REF", "pobridge")
        .env("POBRIDGE_WORKER__JOB_LEASE_SECONDS", "2")
        .env("POBRIDGE_WORKER__JOB_BATCH", "4")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pobridge starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base_url = loop {
        let line = lines
            .next()
            .expect("pobridge prints where it listens")
            .unwrap();
        if let Some(url) = line.strip_prefix("pobridge listening on ") {
            break url.trim().to_owned();
        }
    };
    (child, base_url)
}

fn order(index: usize) -> String {
    ORDER
        .replacen(
            "1710000000.000001@buyer.example",
            &format!("kill-{index}@buyer.example"),
            1,
        )
        .replacen(
            r#"orderID="PO-1001""#,
            &format!(r#"orderID="PO-K{index:03}""#),
            1,
        )
}

/// Waits for `condition`, checking every 50 ms, for at most `limit`.
async fn wait_for(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_sync_then_restart_leaves_one_order_each() {
    let directory = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite://{}",
        directory.path().join("pobridge.db").display()
    );
    let sandbox_config = SandboxConfig {
        latency: Duration::from_millis(60),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::new(sandbox_config, Arc::new(SystemClock));
    let (sandbox_url, _sandbox_task) = sandbox.spawn_local().await;
    let store = prepare(&database_url, &sandbox_url, &sandbox).await;

    let (mut server, base_url) = start_server(&database_url);
    let http = reqwest::Client::new();
    for index in 0..ORDERS {
        let response = http
            .post(format!("{base_url}/cxml/acme"))
            .header("content-type", "text/xml")
            .body(order(index))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "order {index}");
    }

    let watched = sandbox.clone();
    wait_for(Duration::from_secs(60), "the first sales orders", || {
        watched.sales_orders(BRIGHTPEARL_CODE).len() >= 5
    })
    .await;
    server.kill().expect("SIGKILL is sent");
    server.wait().unwrap();
    let created_before_restart = sandbox.sales_orders(BRIGHTPEARL_CODE).len();
    assert!(
        created_before_restart < ORDERS,
        "the server was killed mid-batch ({created_before_restart} of {ORDERS} done)"
    );

    let (mut server, _) = start_server(&database_url);
    let account = store
        .account_by_slug(&AccountSlug::parse("acme").unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let orders = store
            .list_purchase_orders(account.id, &PoFilter::default())
            .await
            .unwrap();
        if orders.len() == ORDERS && orders.iter().all(|po| po.status == PoStatus::Synced) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "orders did not all sync after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let sales_orders = sandbox.sales_orders(BRIGHTPEARL_CODE);
    assert_eq!(
        sales_orders.len(),
        ORDERS,
        "one sales order per PO, no more"
    );
    for po in store
        .list_purchase_orders(account.id, &PoFilter::default())
        .await
        .unwrap()
    {
        let matching: Vec<_> = sales_orders
            .iter()
            .filter(|order| order["reference"].as_str() == Some(po.number.as_str()))
            .collect();
        assert_eq!(matching.len(), 1, "PO {} has one sales order", po.number);
        assert_eq!(
            matching[0]["id"].as_i64(),
            po.brightpearl_order_id,
            "PO {} points at it",
            po.number
        );
    }
}

/// Runs the CLI against the database and returns its standard output.
fn cli(database_url: &str, arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_pobridge"))
        .args(arguments)
        .args(["--database", database_url])
        .output()
        .expect("the CLI runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "pobridge {arguments:?} failed: {stdout}{stderr}"
    );
    assert!(
        !stdout.contains("widgets-s3cret") && !stderr.contains("widgets-s3cret"),
        "pobridge {arguments:?} printed the secret"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_from_cli_releases_held_order() {
    let directory = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite://{}",
        directory.path().join("pobridge.db").display()
    );
    let sandbox = Sandbox::new(SandboxConfig::default(), Arc::new(SystemClock));
    let (sandbox_url, _sandbox_task) = sandbox.spawn_local().await;
    let store = prepare(&database_url, &sandbox_url, &sandbox).await;
    let account = store
        .account_by_slug(&AccountSlug::parse("acme").unwrap())
        .await
        .unwrap();
    let (mut server, base_url) = start_server(&database_url);

    let body = order(1).replace(
        "<SupplierPartID>WID-BLU-10</SupplierPartID>",
        "<SupplierPartID>COUPA-ONLY-77</SupplierPartID>",
    );
    let response = reqwest::Client::new()
        .post(format!("{base_url}/cxml/acme"))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let status = |store: Arc<dyn Store>| async move {
        store
            .list_purchase_orders(account.id, &PoFilter::default())
            .await
            .unwrap()
            .first()
            .map(|po| po.status)
    };
    let started = Instant::now();
    while status(store.clone()).await != Some(PoStatus::AwaitingMapping) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the order was not held for mapping"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = cli(&database_url, &["orders", "acme"]);
    assert!(
        listed.contains("awaiting_mapping") && listed.contains("COUPA-ONLY-77"),
        "{listed}"
    );
    let unmapped = cli(&database_url, &["items", "acme", "--unmapped"]);
    assert!(unmapped.contains("COUPA-ONLY-77"), "{unmapped}");

    cli(
        &database_url,
        &[
            "items",
            "map",
            "acme",
            "--coupa",
            "COUPA-ONLY-77",
            "--brightpearl",
            "WID-RED-10",
        ],
    );
    let started = Instant::now();
    while status(store.clone()).await != Some(PoStatus::Synced) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "mapping did not release the order"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let sales_orders = sandbox.sales_orders(BRIGHTPEARL_CODE);
    assert_eq!(sales_orders.len(), 1);
    let skus: Vec<&str> = sales_orders[0]["orderRows"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|row| row["productSku"].as_str())
        .collect();
    assert!(
        skus.contains(&"WID-RED-10"),
        "the mapped product is on the order: {skus:?}"
    );
    for arguments in [
        &["settings", "acme", "show"][..],
        &["orders", "acme", "--json"][..],
        &["items", "acme"][..],
    ] {
        cli(&database_url, arguments);
    }
}
