//! `pobridge buyer add | list | set | remove` as the built binary: secrets
//! read from standard input, masked order-URL tokens, changed fields, and
//! removal, which is rejected for a buyer with orders.

use crate::common;

use common::seed::Seed;
use common::{assert_one_line_error, Cli};
use pobridge_core::AccountSlug;
use pobridge_engine::auth::verify_secret;
use pobridge_engine::IntakeRequest;
use pobridge_store::{Buyer, StoreError};

const SECRET: &str = "correct-horse-battery-staple";
const ORDER: &str = include_str!("../fixtures/order-widgets.xml");

fn add_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "buyer",
        "add",
        "acme",
        "--from",
        "NetworkID:coupa-buyer",
        "--to",
        "DUNS:128293714",
        "--sender",
        "NetworkID:coupa-sender",
        "--name",
        "coupa",
    ];
    args.extend_from_slice(extra);
    args
}

/// Reads the stored buyer straight from the database.
async fn stored_buyer(cli: &Cli, name: &str) -> Buyer {
    let store = pobridge_store::open(&cli.database_url()).await.unwrap();
    let slug = AccountSlug::parse("acme").unwrap();
    let account = store.account_by_slug(&slug).await.unwrap();
    store.buyer_by_name(account.id, name).await.unwrap()
}

/// Returns the order URL that `buyer add --no-secret` printed.
fn printed_url(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:8080/cxml/acme/"))
        .unwrap_or_else(|| panic!("no order URL in {stdout}"))
        .to_owned()
}

#[tokio::test]
async fn add_reads_secret_from_stdin() {
    let cli = Cli::new().with_account();

    let run = cli.run_with_stdin(&add_args(&["--secret", "-"]), &format!("  {SECRET}\n"));

    assert!(run.success, "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
    assert!(run.stdout.contains("********"), "{}", run.stdout);
    let stored = stored_buyer(&cli, "coupa").await.shared_secret.unwrap();
    assert!(verify_secret(SECRET, &stored));
    assert!(!stored.contains(SECRET), "{stored}");
}

#[test]
fn add_with_empty_stdin_is_rejected() {
    let cli = Cli::new().with_account();

    let run = cli.run_with_stdin(&add_args(&["--secret", "-"]), "\n");

    assert!(!run.success, "{}", run.stdout);
    assert_one_line_error(&run.stderr);
    assert!(
        run.stderr.contains("no shared secret on standard input"),
        "{}",
        run.stderr
    );
}

#[test]
fn list_masks_url_token_but_add_prints_it() {
    let cli = Cli::new().with_account();

    let added = cli.ok(&add_args(&["--no-secret"]));
    let listed = cli.ok(&["buyer", "list", "acme"]);
    let listed_json = cli.ok(&["buyer", "list", "acme", "--json"]);

    let url = printed_url(&added);
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 43, "{url}");
    let masked = format!("/cxml/acme/{}********", &token[..4]);
    for output in [&listed, &listed_json] {
        assert!(!output.contains(token), "{output}");
        assert!(output.contains(&masked), "{output}");
    }
}

#[tokio::test]
async fn set_secret_from_stdin_replaces_url_token() {
    let cli = Cli::new().with_account();
    let added = cli.ok(&add_args(&["--no-secret"]));
    let url = printed_url(&added);

    let run = cli.run_with_stdin(&["buyer", "set", "acme", "coupa", "secret", "-"], SECRET);

    assert!(run.success, "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
    assert!(
        run.stdout.contains("Changed secret of buyer coupa"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("now posts to http://127.0.0.1:8080/cxml/acme with"),
        "{}",
        run.stdout
    );
    let buyer = stored_buyer(&cli, "coupa").await;
    assert!(verify_secret(
        SECRET,
        buyer.shared_secret.as_deref().unwrap()
    ));
    assert_eq!(buyer.url_token, None);
    let listed = cli.ok(&["buyer", "list", "acme"]);
    assert!(!listed.contains(&url), "{listed}");
    assert!(listed.contains("********"), "{listed}");
}

#[tokio::test]
async fn set_changes_each_plain_field() {
    let cli = Cli::new().with_account();
    cli.ok(&add_args(&[
        "--secret",
        SECRET,
        "--invoice-url",
        "https://coupa.example/inv",
    ]));

    // The rename comes last, so every change finds the buyer as "coupa".
    for (key, value) in [
        ("to", "DUNS:999"),
        ("sender", "NetworkID:other-sender"),
        ("mode", "test"),
        ("invoice-url", "none"),
        ("name", "globex"),
    ] {
        cli.ok(&["buyer", "set", "acme", "coupa", key, value]);
    }

    let buyer = stored_buyer(&cli, "globex").await;
    assert_eq!(buyer.to.identity, "999");
    assert_eq!(buyer.sender.identity, "other-sender");
    assert_eq!(buyer.mode, pobridge_store::BuyerMode::Test);
    assert_eq!(buyer.invoice_url, None);
    assert!(verify_secret(
        SECRET,
        buyer.shared_secret.as_deref().unwrap()
    ));
}

#[test]
fn set_rejects_invalid_value() {
    let cli = Cli::new().with_account();
    cli.ok(&add_args(&["--secret", SECRET]));

    let stderr = cli.fails(&["buyer", "set", "acme", "coupa", "to", "nodomain"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("to: \"nodomain\" is not valid"), "{stderr}");
    assert!(stderr.contains("DOMAIN:IDENTITY"), "{stderr}");
}

#[test]
fn private_invoice_url_follows_the_setting() {
    let cli = Cli::new().with_account();
    cli.ok(&add_args(&["--secret", SECRET]));
    let url = "http://127.0.0.1:8080/sandbox-coupa/cxml/invoices";
    let set = ["buyer", "set", "acme", "coupa", "invoice-url", url];
    // Without an app_ref the configuration runs the sandbox, whose Coupa is
    // on loopback, so private addresses are allowed unless set otherwise.
    let rejecting = [("POBRIDGE_COUPA__ALLOW_PRIVATE_ADDRESSES", "false")];
    let with_app = [("POBRIDGE_BRIGHTPEARL__APP_REF", "pobridge")];

    let explicit = cli.run_with_env(&rejecting, &set, "");
    let real_app = cli.run_with_env(&with_app, &set, "");

    for run in [&explicit, &real_app] {
        assert!(!run.success, "{}", run.stdout);
        assert_one_line_error(&run.stderr);
        assert!(
            run.stderr.contains("127.0.0.1 is a loopback address"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("coupa.allow_private_addresses = true"),
            "{}",
            run.stderr
        );
    }
    cli.ok(&set);
}

#[test]
fn set_rejects_unknown_key_and_buyer() {
    let cli = Cli::new().with_account();
    cli.ok(&add_args(&["--secret", SECRET]));

    let key = cli.run(&["buyer", "set", "acme", "coupa", "from", "a:b"]);
    let buyer = cli.fails(&["buyer", "set", "acme", "initech", "mode", "test"]);

    assert!(!key.success);
    assert!(key.stderr.contains("invoice-url"), "{}", key.stderr);
    assert_one_line_error(&buyer);
    assert!(buyer.contains("buyer \"initech\" not found"), "{buyer}");
    assert!(buyer.contains("known buyers: coupa"), "{buyer}");
}

#[tokio::test]
async fn remove_rejects_buyer_with_orders() {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    seed.receive("BUYER-1", "PO-1", 1).await;
    seed.receive("BUYER-1", "PO-2", 1).await;

    let stderr = cli.fails(&["buyer", "remove", "acme", "buyer-1"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("buyer \"buyer-1\" has 2 purchase orders and cannot be removed"),
        "{stderr}"
    );
    let listed = cli.ok(&["buyer", "list", "acme"]);
    assert!(listed.contains("buyer-1"), "{listed}");
}

#[tokio::test]
async fn remove_deletes_buyer_without_orders() {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    seed.add_buyer("buyer-2", "BUYER-2").await;
    seed.receive("BUYER-1", "PO-1", 1).await;
    // A test document from a production buyer is stored without an order.
    let test_document = ORDER
        .replace("BUYER-1", "BUYER-2")
        .replace(r#"deploymentMode="production""#, r#"deploymentMode="test""#);
    let reply = seed
        .engine
        .receive_order(IntakeRequest {
            account: "acme".to_owned(),
            url_token: None,
            content_type: Some("text/xml".to_owned()),
            content_encoding: None,
            client_ip: None,
            body: test_document.into(),
        })
        .await;
    assert_eq!(reply.log, "test, not synced");

    let stdout = cli.ok(&["buyer", "remove", "acme", "buyer-2"]);

    assert!(
        stdout.contains("Removed buyer buyer-2 from account acme."),
        "{stdout}"
    );
    let removed = seed
        .engine
        .store
        .buyer_by_name(seed.account.id, "buyer-2")
        .await;
    assert!(
        matches!(removed, Err(StoreError::NotFound { .. })),
        "{removed:?}"
    );
    let listed = cli.ok(&["buyer", "list", "acme"]);
    assert!(!listed.contains("buyer-2"), "{listed}");
    assert!(listed.contains("buyer-1"), "{listed}");
}
