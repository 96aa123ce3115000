//! `pobridge account add`, `user add` and `mail`: the first user's
//! set-password e-mail and invitations, read from the outbox by an operator
//! without SMTP.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{assert_one_line_error, Cli};
use serde_json::Value;

/// The id of the newest message to `recipient` in `mail list --json`.
fn mail_id(cli: &Cli, recipient: &str) -> String {
    let listed: Value = serde_json::from_str(&cli.ok(&["mail", "list", "--json"])).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|mail| mail["recipient"] == recipient)
        .unwrap_or_else(|| panic!("no mail to {recipient}: {listed}"))["id"]
        .to_string()
}

#[test]
fn account_add_queues_the_first_users_link() {
    let cli = Cli::new();

    let stdout = cli.ok(&["account", "add", "acme", "--email", "Ops@Acme.example"]);
    let listed = cli.ok(&["mail", "list", "--account", "acme"]);
    let shown = cli.ok(&["mail", "show", &mail_id(&cli, "ops@acme.example")]);

    assert!(stdout.contains("Created account acme"), "{stdout}");
    assert!(
        stdout.contains("Queued an e-mail to ops@acme.example"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`pobridge mail list --account acme`"),
        "{stdout}"
    );
    assert!(listed.contains("ops@acme.example"), "{listed}");
    assert!(
        listed.contains("Your pobridge account acme is ready"),
        "{listed}"
    );
    assert!(listed.contains("waiting"), "{listed}");
    assert!(shown.contains("to            ops@acme.example"), "{shown}");
    assert!(
        shown.contains("http://127.0.0.1:8080/password/set/"),
        "{shown}"
    );
    assert!(shown.contains("for 24 hours"), "{shown}");
}

#[test]
fn links_start_with_the_public_url() {
    let cli = Cli::new();
    std::fs::write(
        cli.path("pobridge.toml"),
        "public_url = \"https://bridge.example.com/\"\n[portal]\nlink_hours = 48\n",
    )
    .unwrap();
    let config = cli.path("pobridge.toml").display().to_string();

    let stdout = cli.ok(&[
        "--config",
        &config,
        "account",
        "add",
        "acme",
        "--email",
        "ops@acme.example",
    ]);
    let id = mail_id(&cli, "ops@acme.example");
    let shown = cli.ok(&["mail", "show", &id, "--json"]);
    let mail: Value = serde_json::from_str(&shown).unwrap();

    assert!(stdout.contains("for 48 hours"), "{stdout}");
    let body = mail["body"].as_str().unwrap();
    assert!(
        body.contains("https://bridge.example.com/password/set/"),
        "{body}"
    );
    assert!(body.contains("for 48 hours"), "{body}");
    assert_eq!(mail["account"], "acme");
    assert_eq!(mail["kind"], "welcome");
    assert_eq!(mail["sent_at"], Value::Null);
}

#[test]
fn user_add_invites_once_per_address() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["user", "add", "acme", "ann@acme.example"]);
    let again = cli.fails(&["user", "add", "acme", "ANN@acme.example"]);
    let taken_by_account = cli.fails(&["account", "add", "globex", "--email", "ann@acme.example"]);
    let missing = cli.fails(&["user", "add", "nope", "bob@acme.example"]);
    let shown = cli.ok(&["mail", "show", &mail_id(&cli, "ann@acme.example")]);

    assert!(
        stdout.contains("Added user ann@acme.example to account acme."),
        "{stdout}"
    );
    assert!(
        shown.contains("You are invited to pobridge account acme"),
        "{shown}"
    );
    assert_one_line_error(&again);
    assert!(again.contains("taken"), "{again}");
    assert_one_line_error(&taken_by_account);
    assert!(
        taken_by_account.contains("already logs in"),
        "{taken_by_account}"
    );
    assert!(
        cli.fails(&["mail", "list", "--account", "globex"])
            .contains("not found"),
        "the rejected account was not created"
    );
    assert_one_line_error(&missing);
    assert!(missing.contains("account \"nope\" not found"), "{missing}");
}

#[test]
fn unknown_mail_is_not_found() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["mail", "show", "999"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("mail 999 not found"), "{stderr}");
    assert!(stderr.contains("pobridge mail list"), "{stderr}");
}

#[test]
fn serve_tries_configured_smtp_and_keeps_mail() {
    let cli = Cli::new().with_account();
    // A port that nothing listens on: every attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let log = std::fs::File::create(cli.path("serve.log")).unwrap();
    let mut server = cli
        .command()
        .args(["serve", "--listen", "127.0.0.1:0", "--sandbox"])
        .env("POBRIDGE_SMTP__HOST", "127.0.0.1")
        .env("POBRIDGE_SMTP__PORT", &port)
        .env("POBRIDGE_SMTP__TLS", "none")
        .env("POBRIDGE_SMTP__FROM", "pobridge@acme.example")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();

    let mut mail = Value::Null;
    for _ in 0..100 {
        let listed: Value = serde_json::from_str(&cli.ok(&["mail", "list", "--json"])).unwrap();
        mail = listed[0].clone();
        if mail["attempts"] != 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill().unwrap();
    server.wait().unwrap();

    assert!(
        first_line.starts_with("pobridge listening on"),
        "{first_line}"
    );
    assert_eq!(mail["attempts"], 1, "{mail}");
    assert_eq!(mail["sent_at"], Value::Null);
    let error = mail["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("SMTP delivery failed"), "{error}");
    let state = cli.ok(&["mail", "list"]);
    assert!(
        state.contains("failed 1 time: SMTP delivery failed"),
        "{state}"
    );
}
