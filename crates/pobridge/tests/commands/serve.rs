//! `pobridge serve --sandbox` run as the built binary: an order posted over
//! HTTP is synced against the built-in sandbox, an account added while the
//! server runs is connected, and SIGTERM stops the server cleanly.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::Cli;

const SHARED_SECRET: &str = "alsdkfjalksdjflaksjdfklj";

/// Bound on every wait for background work; each try is 100 ms apart.
const MAX_TRIES: usize = 200;

fn corpus_order() -> Vec<u8> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
    let path = format!(
        "{root}/cxml/order/coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml"
    );
    std::fs::read(path).unwrap()
}

/// Starts the server with its standard output piped and its log in
/// `serve.log`.
fn spawn_server(cli: &Cli) -> Child {
    let log = std::fs::File::create(cli.path("serve.log")).unwrap();
    cli.command()
        .args(["serve", "--listen", "127.0.0.1:0", "--sandbox"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Starts the server and returns it with the base URL it printed.
fn start_server(cli: &Cli) -> (Child, String) {
    let mut child = spawn_server(cli);
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("pobridge listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}; log: {}", read_log(cli)))
        .to_owned();
    (child, base)
}

fn read_log(cli: &Cli) -> String {
    std::fs::read_to_string(cli.path("serve.log")).unwrap_or_default()
}

fn terminate(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn order_status(cli: &Cli) -> Option<String> {
    let orders: serde_json::Value =
        serde_json::from_str(&cli.ok(&["orders", "acme", "--json"])).unwrap();
    orders[0]["status"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn serve_with_sandbox_syncs_and_stops_on_sigterm() {
    let cli = Cli::new().with_account();
    cli.ok(&[
        "buyer",
        "add",
        "acme",
        "--from",
        "NetworkID:kasdflkjasdf",
        "--to",
        "alksjflkasjdfasdf:development@officeluv.com",
        "--sender",
        "NetworkID:DAN_Coupa",
        "--secret",
        SHARED_SECRET,
    ]);
    let (mut server, base) = start_server(&cli);

    let response = reqwest::Client::new()
        .post(format!("{base}/cxml/acme"))
        .header("content-type", "text/xml")
        .body(corpus_order())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let coupa = reqwest::get(format!("{base}/sandbox-coupa/_coupa/invoices"))
        .await
        .unwrap();
    assert_eq!(coupa.status().as_u16(), 200, "the sandbox Coupa is mounted");

    let mut status = order_status(&cli);
    for _ in 0..MAX_TRIES {
        if status.as_deref().is_some_and(|status| status != "received") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = order_status(&cli);
    }
    let status = status.unwrap();
    assert_ne!(
        status,
        "received",
        "the worker never ran the sync job; log: {}",
        read_log(&cli)
    );
    assert_ne!(
        status,
        "paused",
        "the account was not connected to the sandbox; log: {}",
        read_log(&cli)
    );

    cli.ok(&["account", "add", "beta", "--email", "ops@beta.example"]);
    let mut refreshed = cli.run(&["refresh", "beta"]);
    for _ in 0..MAX_TRIES {
        if refreshed.success {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        refreshed = cli.run(&["refresh", "beta"]);
    }
    assert!(
        refreshed.success,
        "{}\nlog: {}",
        refreshed.stderr,
        read_log(&cli)
    );
    let products = cli.ok(&["products", "beta", "--json"]);
    let products: serde_json::Value = serde_json::from_str(&products).unwrap();
    assert!(
        !products.as_array().unwrap().is_empty(),
        "the sandbox catalogue was not indexed"
    );

    terminate(&server);
    let exit = server.wait().unwrap();
    assert!(exit.success(), "{exit:?}; log: {}", read_log(&cli));
    assert!(read_log(&cli).contains("pobridge stopped"));
}

#[tokio::test]
async fn one_server_per_sqlite_file() {
    let cli = Cli::new().with_account();
    let no_server = "warning: no `pobridge serve` is running on this database";
    let before = cli.run(&["invoices", "acme", "poll"]);
    assert!(before.success);
    assert!(before.stderr.contains(no_server), "{}", before.stderr);
    let (mut first, _) = start_server(&cli);

    let during = cli.run(&["invoices", "acme", "poll"]);
    assert!(during.success);
    assert!(!during.stderr.contains(no_server), "{}", during.stderr);

    let stderr = cli.fails(&["serve", "--listen", "127.0.0.1:0", "--sandbox"]);
    assert!(
        stderr.contains("another `pobridge serve` is running on the SQLite database"),
        "{stderr}"
    );
    // Other commands share the file with the server.
    assert!(cli.ok(&["orders", "acme"]).contains("No purchase orders"));

    terminate(&first);
    assert!(first.wait().unwrap().success());
    // The lock went with the first server, so a new one starts.
    let (mut again, _) = start_server(&cli);
    again.kill().unwrap();
    again.wait().unwrap();
}

#[tokio::test]
async fn closed_stdout_keeps_serving() {
    let cli = Cli::new().with_account();
    let mut server = spawn_server(&cli);
    // Closing the read end makes the server's first print fail.
    drop(server.stdout.take());

    let warning = "could not print the listening address";
    for _ in 0..MAX_TRIES {
        if read_log(&cli).contains(warning) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert!(read_log(&cli).contains(warning), "log: {}", read_log(&cli));
    assert!(server.try_wait().unwrap().is_none(), "the server stopped");
    terminate(&server);
    let exit = server.wait().unwrap();
    assert!(exit.success(), "{exit:?}; log: {}", read_log(&cli));
}
