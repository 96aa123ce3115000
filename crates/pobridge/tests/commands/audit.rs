//! Changes made with the administrative commands are written to the
//! account's audit trail, named by the operator's login, without secrets.

use crate::common;

use common::seed::{product, Seed};
use common::Cli;
use pobridge_store::AuditEntry;

const NEW_SECRET: &str = "rotated-secret-never-in-the-trail";
const INVOICE_SECRET: &str = "invoice-secret-never-in-the-trail";

/// Runs one command as the login `ops-alice`, with `input` on standard
/// input, and fails the test unless it succeeded.
fn run_as_alice(cli: &Cli, args: &[&str], input: &str) -> String {
    run_with_logins(
        cli,
        &[("USER", "ops-alice"), ("LOGNAME", "ops-alice")],
        args,
        input,
    )
}

/// Runs one command with only the login variables `logins` set, and
/// returns its standard output.
fn run_with_logins(cli: &Cli, logins: &[(&str, &str)], args: &[&str], input: &str) -> String {
    let mut command = cli.command();
    command
        .env_remove("SUDO_USER")
        .env_remove("USER")
        .env_remove("LOGNAME");
    command.envs(logins.iter().copied()).args(args);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?} failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Reads the audit trail of account `acme` from the command's database,
/// oldest first.
async fn acme_trail(cli: &Cli) -> Vec<AuditEntry> {
    let store = pobridge_store::open(&cli.database_url()).await.unwrap();
    let slug = pobridge_core::AccountSlug::parse("acme").unwrap();
    let account = store.account_by_slug(&slug).await.unwrap();
    let mut entries = store.audit_log(account.id, 10).await.unwrap();
    entries.sort_by_key(|entry| entry.id);
    entries
}

async fn trail(seed: &Seed) -> Vec<AuditEntry> {
    let mut entries = seed
        .engine
        .store
        .audit_log(seed.account.id, 100)
        .await
        .unwrap();
    entries.sort_by_key(|entry| entry.id);
    entries
}

#[tokio::test]
async fn cli_changes_are_audited() {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    let store = &seed.engine.store;
    store
        .upsert_products(
            seed.account.id,
            &[product(501, "SHIP-1"), product(502, "WIDGET")],
        )
        .await
        .unwrap();
    seed.failed_order("PO-FAILED").await;
    seed.held_order("PO-HELD").await;
    let before = trail(&seed).await.len();

    let buyer_add = [
        "buyer",
        "add",
        "acme",
        "--name",
        "globex",
        "--from",
        "NetworkID:GLOBEX",
        "--to",
        "DUNS:123456789",
        "--sender",
        "NetworkID:GLOBEX",
        "--secret",
        "-",
    ];
    run_as_alice(&cli, &buyer_add, "first-secret-never-in-the-trail\n");
    run_as_alice(
        &cli,
        &["buyer", "set", "acme", "globex", "secret", "-"],
        NEW_SECRET,
    );
    let invoice_secret = ["buyer", "set", "acme", "globex", "invoice-secret", "-"];
    run_as_alice(&cli, &invoice_secret, INVOICE_SECRET);
    run_as_alice(
        &cli,
        &["buyer", "set", "acme", "globex", "mode", "test"],
        "",
    );
    run_as_alice(&cli, &["settings", "acme", "set", "retry_hours", "24"], "");
    run_as_alice(
        &cli,
        &["rows", "acme", "add", "sku", "SHIP-1", "shipping"],
        "",
    );
    run_as_alice(&cli, &["rows", "acme", "remove", "1"], "");
    let map = [
        "items",
        "map",
        "acme",
        "--coupa",
        "W-1",
        "--brightpearl",
        "WIDGET",
    ];
    run_as_alice(&cli, &map, "");
    run_as_alice(
        &cli,
        &["orders", "acme", "resync", "--dry-run", "PO-FAILED"],
        "",
    );
    run_as_alice(&cli, &["orders", "acme", "resync", "PO-FAILED"], "");
    run_as_alice(&cli, &["orders", "acme", "handled", "PO-HELD"], "");
    run_as_alice(&cli, &["buyer", "remove", "acme", "globex"], "");

    let entries = trail(&seed).await;
    let added = &entries[before..];
    let actions: Vec<&str> = added.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "buyer.add",
            "buyer.update",
            "buyer.update",
            "buyer.update",
            "settings.update",
            "invoice_rows.add",
            "invoice_rows.remove",
            "item_mapping.set",
            "order.resync",
            "order.mark_handled",
            "buyer.remove",
        ],
        "a dry run changes nothing and is not recorded"
    );
    for entry in added {
        assert_eq!(entry.actor, "cli (login ops-alice)", "{entry:?}");
        assert_eq!(entry.user, None, "{entry:?}");
        for secret in ["first-secret", NEW_SECRET, INVOICE_SECRET] {
            assert!(!entry.detail.contains(secret), "{entry:?}");
        }
    }
    let details: Vec<&str> = added.iter().map(|entry| entry.detail.as_str()).collect();
    assert!(
        details[0].starts_with("added buyer globex: from=NetworkID:GLOBEX"),
        "{details:?}"
    );
    assert!(details[0].contains("shared secret set"), "{details:?}");
    assert_eq!(details[1], "changed buyer globex: secret changed");
    assert_eq!(details[2], "changed buyer globex: invoice-secret changed");
    assert_eq!(details[3], "changed buyer globex: mode=test");
    assert_eq!(details[4], "retry_hours = 24");
    assert_eq!(details[5], "added rule 1: sku SHIP-1 -> shipping");
    assert_eq!(details[6], "removed rule 1 (sku SHIP-1 -> shipping)");
    assert!(
        details[7].starts_with(
            "Mapped Coupa part W-1 (every unit, every buyer) to Brightpearl product 502 (WIDGET)"
        ),
        "{details:?}"
    );
    assert_eq!(
        details[8],
        "queued a re-sync of PO PO-FAILED (buyer buyer-1)"
    );
    assert_eq!(
        details[9],
        "marked PO PO-HELD (buyer buyer-1) handled: 1 held revision(s)"
    );
    assert_eq!(details[10], "removed buyer globex");
}

#[tokio::test]
async fn account_add_audits_account_and_user() {
    let cli = Cli::new();

    run_as_alice(
        &cli,
        &["account", "add", "acme", "--email", "ops@acme.example"],
        "",
    );

    let entries = acme_trail(&cli).await;
    let recorded: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|entry| {
            (
                entry.actor.as_str(),
                entry.action.as_str(),
                entry.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            (
                "cli (login ops-alice)",
                "account.create",
                "created account acme for ops@acme.example"
            ),
            (
                "cli (login ops-alice)",
                "user.invite",
                "invited ops@acme.example"
            ),
        ]
    );
}

#[tokio::test]
async fn actor_without_login_is_cli() {
    let cli = Cli::new();

    run_with_logins(
        &cli,
        &[("USER", " \u{7}")],
        &["account", "add", "acme", "--email", "ops@acme.example"],
        "",
    );

    let entries = acme_trail(&cli).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries.iter().all(|entry| entry.actor == "cli"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn sudo_user_is_named_first() {
    let cli = Cli::new();
    let logins = [
        ("SUDO_USER", "ops-bob"),
        ("USER", "root"),
        ("LOGNAME", "root"),
    ];

    run_with_logins(
        &cli,
        &logins,
        &["account", "add", "acme", "--email", "ops@acme.example"],
        "",
    );

    let entries = acme_trail(&cli).await;
    assert!(
        entries
            .iter()
            .all(|entry| entry.actor == "cli (login ops-bob)"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn url_token_and_poll_are_audited_safely() {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    let before = trail(&seed).await.len();
    let buyer_add = [
        "buyer",
        "add",
        "acme",
        "--name",
        "initech",
        "--from",
        "NetworkID:INITECH",
        "--to",
        "DUNS:123456789",
        "--sender",
        "NetworkID:INITECH",
        "--no-secret",
    ];

    let stdout = run_as_alice(&cli, &buyer_add, "");
    run_as_alice(&cli, &["invoices", "acme", "poll"], "");

    let order_url = stdout
        .lines()
        .find(|line| line.starts_with("order URL"))
        .unwrap_or_else(|| panic!("no order URL in\n{stdout}"));
    let token = order_url.rsplit('/').next().unwrap().trim();
    assert!(token.len() > 20, "{order_url}");
    let entries = trail(&seed).await;
    let added = &entries[before..];
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!(added[0].action, "buyer.add");
    assert!(
        added[0].detail.contains("order URL token"),
        "{:?}",
        added[0]
    );
    assert!(!added[0].detail.contains(token), "{:?}", added[0]);
    assert_eq!(added[1].action, "invoices.poll");
    assert!(
        added[1]
            .detail
            .starts_with("queued a poll of Brightpearl for invoices (job "),
        "{:?}",
        added[1]
    );
}
