//! The real `pobridge serve` binary against a sandbox Brightpearl that runs
//! in this test process, so that it outlives the server: killed with SIGKILL
//! mid-batch and restarted, releasing a held order from the CLI, and the
//! request and job spans on its JSON log lines.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pobridge_brightpearl::ClientConfig;
use pobridge_core::{
    api_base_from_domain, AccountSlug, Clock, Connection, ConnectionAuth, ConnectionStatus,
    SystemClock,
};
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_sandbox::{Sandbox, SandboxConfig};
use pobridge_store::{BuyerMode, CredentialRef, NewBuyer, PoFilter, PoStatus, Store};
use serde_json::Value;

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");
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

/// Starts `pobridge serve` on a free loopback port, logging warnings only,
/// and returns it with its base URL.
fn start_server(database_url: &str) -> (Child, String) {
    let mut child = serve_command(database_url)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .expect("pobridge starts");
    let base_url = listening_url(&mut child);
    (child, base_url)
}

/// Starts `pobridge serve` like [`start_server`], but with JSON log lines at
/// info level, and returns a thread that collects its standard error until
/// the server exits.
fn start_server_logging_json(database_url: &str) -> (Child, String, JoinHandle<String>) {
    let mut child = serve_command(database_url)
        .env("POBRIDGE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("pobridge starts");
    let mut stderr = child.stderr.take().unwrap();
    let collector = std::thread::spawn(move || {
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        log
    });
    let base_url = listening_url(&mut child);
    (child, base_url, collector)
}

/// Builds `pobridge serve` on a free loopback port with a short job lease,
/// without the caller's `POBRIDGE_` variables.
fn serve_command(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pobridge"));
    for (name, _) in std::env::vars() {
        if name.starts_with("POBRIDGE_") {
            command.env_remove(name);
        }
    }
    command
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
        .stdout(Stdio::piped());
    command
}

/// Reads the server's standard output up to its `pobridge listening on`
/// line, and returns the base URL that follows.
fn listening_url(child: &mut Child) -> String {
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
    base_url
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

/// Parses JSON log lines. Only the last line may be cut short, by the kill
/// that ended the server.
fn parse_json_lines(log: &str) -> Vec<Value> {
    let lines: Vec<&str> = log.lines().collect();
    let mut parsed = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(value) => parsed.push(value),
            Err(_) if index + 1 == lines.len() => {}
            Err(error) => panic!("log line {index} is not JSON ({error}): {line}"),
        }
    }
    parsed
}

/// Returns the first log line whose message is `message`.
fn line_with_message<'a>(lines: &'a [Value], message: &str) -> &'a Value {
    lines
        .iter()
        .find(|line| line["fields"]["message"] == message)
        .unwrap_or_else(|| panic!("no log line has the message {message:?}"))
}

/// Returns the span named `name` among those a log line was emitted in.
fn enclosing_span<'a>(line: &'a Value, name: &str) -> &'a Value {
    line["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|span| span["name"] == name))
        .unwrap_or_else(|| panic!("no {name:?} span around {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_and_job_spans() {
    const REQUEST_ID: &str = "served-json-logs-1";
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
    let (mut server, base_url, stderr) = start_server_logging_json(&database_url);

    let response = reqwest::Client::new()
        .post(format!("{base_url}/cxml/acme"))
        .header("content-type", "text/xml")
        .header("x-request-id", REQUEST_ID)
        .body(order(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-request-id"], REQUEST_ID);
    let login = reqwest::get(format!("{base_url}/login")).await.unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let login_request_id = login.headers()["x-request-id"].to_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let orders = store
            .list_purchase_orders(account.id, &PoFilter::default())
            .await
            .unwrap();
        if orders.first().map(|po| po.status) == Some(PoStatus::Synced) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the order did not sync: {orders:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let log = stderr.join().unwrap();
    let lines = parse_json_lines(&log);

    let stored = line_with_message(&lines, "purchase order stored");
    let request = enclosing_span(stored, "request");
    assert_eq!(request["request.id"], REQUEST_ID, "{stored}");
    assert_eq!(request["http.method"], "POST", "{stored}");
    assert_eq!(request["http.route"], "/cxml/{account}", "{stored}");

    let portal = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "request finished"
                && line["span"]["request.id"] == login_request_id.as_str()
        })
        .unwrap_or_else(|| panic!("no log line of the request {login_request_id}"));
    assert_eq!(portal["span"]["name"], "request", "{portal}");
    assert_eq!(portal["span"]["http.method"], "GET", "{portal}");
    assert_eq!(portal["span"]["http.route"], "/login", "{portal}");

    let synced = line_with_message(&lines, "purchase order synced");
    let job = enclosing_span(synced, "job");
    assert_eq!(job["job.kind"], "sync_order", "{synced}");
    assert!(
        job["job.id"].as_str().is_some_and(|id| !id.is_empty()),
        "{synced}"
    );
    assert_eq!(job["tenant.id"], account.id.to_string(), "{synced}");
    assert!(job.get("request.id").is_none(), "{synced}");

    assert!(!log.contains("widgets-s3cret"), "the log has the secret");
}
