//! `pobridge account add`, `user add` and `mail`: the first user's
//! set-password e-mail and invitations, read from the outbox by an operator
//! without SMTP.

use crate::common;

use std::io::{BufRead, BufReader, Write};
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

/// The password the encrypted-password tests configure; a space inside, as
/// `secret encrypt` keeps it.
const SMTP_PASSWORD: &str = "smtp pass-s3cret";

/// Makes a key with `secret new-key` and encrypts `plain` with it.
fn key_and_sealed(cli: &Cli, plain: &str) -> (String, String) {
    let key = cli.ok(&["secret", "new-key"]).trim().to_owned();
    let run = cli.run_with_env(
        &[("POBRIDGE_SECRETS_KEY", &key)],
        &["secret", "encrypt"],
        &format!("{plain}\n"),
    );
    assert!(run.success, "{}", run.stderr);
    (key, run.stdout.trim().to_owned())
}

/// Accepts one SMTP session on `listener`, accepts every command, and
/// returns the password its AUTH PLAIN carried.
fn smtp_server(listener: std::net::TcpListener) -> std::thread::JoinHandle<Option<String>> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        writer.write_all(b"220 localhost ESMTP\r\n").unwrap();
        let mut password = None;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return password;
            }
            let command = line.trim_end();
            let upper = command.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-localhost\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if let Some(encoded) = upper.strip_prefix("AUTH PLAIN ").map(|_| &command[11..])
            {
                password = plain_auth_password(encoded);
                b"235 2.7.0 Authentication successful\r\n"
            } else if upper == "DATA" {
                writer
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .unwrap();
                while line != ".\r\n" {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return password;
                    }
                }
                b"250 2.0.0 queued\r\n"
            } else if upper == "QUIT" {
                writer.write_all(b"221 2.0.0 Bye\r\n").unwrap();
                return password;
            } else {
                b"250 2.0.0 OK\r\n"
            };
            writer.write_all(reply).unwrap();
        }
    })
}

/// Reads the password from an AUTH PLAIN response: base64 of
/// `authzid NUL user NUL password`.
fn plain_auth_password(encoded: &str) -> Option<String> {
    use base64::Engine as _;

    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split('\0').nth(2).map(str::to_owned)
}

#[test]
fn secret_encrypt_output_decrypts_with_the_key() {
    let cli = Cli::new();

    let (key, sealed) = key_and_sealed(&cli, SMTP_PASSWORD);

    assert!(sealed.starts_with("enc:v1:"), "{sealed}");
    assert!(!sealed.contains(SMTP_PASSWORD));
    let secrets = pobridge_store::SecretBox::from_base64(&key).unwrap();
    assert_eq!(secrets.open("test", &sealed).unwrap(), SMTP_PASSWORD);
}

#[test]
fn secret_encrypt_needs_a_key() {
    let cli = Cli::new();

    let run = cli.run_with_env(&[], &["secret", "encrypt"], "pass\n");
    let empty = cli.run_with_env(
        &[("POBRIDGE_SECRETS_KEY", &cli.ok(&["secret", "new-key"]))],
        &["secret", "encrypt"],
        "",
    );

    assert!(!run.success);
    assert_one_line_error(&run.stderr);
    assert!(
        run.stderr.contains("no secrets_key is configured"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pobridge secret new-key"),
        "{}",
        run.stderr
    );
    assert!(!empty.success);
    assert!(
        empty.stderr.contains("no value on standard input"),
        "{}",
        empty.stderr
    );
}

#[test]
fn serve_rejects_an_smtp_password_it_cannot_decrypt() {
    let cli = Cli::new().with_account();
    let (_, sealed) = key_and_sealed(&cli, SMTP_PASSWORD);
    let other_key = cli.ok(&["secret", "new-key"]);
    let smtp = [
        ("POBRIDGE_SMTP__HOST", "127.0.0.1"),
        ("POBRIDGE_SMTP__FROM", "pobridge@acme.example"),
        ("POBRIDGE_SMTP__USERNAME", "pobridge"),
        ("POBRIDGE_SMTP__PASSWORD", sealed.as_str()),
    ];
    let serve = ["serve", "--listen", "127.0.0.1:0", "--sandbox"];

    let without_key = cli.run_with_env(&smtp, &serve, "");
    let mut wrong = smtp.to_vec();
    wrong.push(("POBRIDGE_SECRETS_KEY", other_key.trim()));
    let wrong_key = cli.run_with_env(&wrong, &serve, "");

    assert!(!without_key.success);
    assert_one_line_error(&without_key.stderr);
    assert!(
        without_key
            .stderr
            .contains("smtp.password is encrypted, but no secrets_key is configured"),
        "{}",
        without_key.stderr
    );
    assert!(!wrong_key.success);
    assert_one_line_error(&wrong_key.stderr);
    assert!(
        wrong_key
            .stderr
            .contains("smtp.password does not decrypt with the configured secrets_key"),
        "{}",
        wrong_key.stderr
    );
}

#[test]
fn serve_rejects_unreadable_smtp_from() {
    let cli = Cli::new().with_account();
    let smtp = [
        ("POBRIDGE_SMTP__HOST", "127.0.0.1"),
        ("POBRIDGE_SMTP__FROM", "pobridge at acme"),
    ];

    let run = cli.run_with_env(
        &smtp,
        &["serve", "--listen", "127.0.0.1:0", "--sandbox"],
        "",
    );

    assert!(!run.success);
    assert_one_line_error(&run.stderr);
    assert!(
        run.stderr
            .contains("smtp.from \"pobridge at acme\" is not an address"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("set an address such as"),
        "{}",
        run.stderr
    );
}

#[test]
fn serve_uses_decrypted_smtp_password() {
    let cli = Cli::new().with_account();
    let (key, sealed) = key_and_sealed(&cli, SMTP_PASSWORD);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let smtp = smtp_server(listener);
    let log = std::fs::File::create(cli.path("serve.log")).unwrap();
    let mut server = cli
        .command()
        .args(["serve", "--listen", "127.0.0.1:0", "--sandbox"])
        .env("POBRIDGE_LOG_LEVEL", "debug")
        .env("POBRIDGE_SECRETS_KEY", &key)
        .env("POBRIDGE_SMTP__HOST", "127.0.0.1")
        .env("POBRIDGE_SMTP__PORT", &port)
        .env("POBRIDGE_SMTP__TLS", "none")
        .env("POBRIDGE_SMTP__FROM", "pobridge@acme.example")
        .env("POBRIDGE_SMTP__USERNAME", "pobridge")
        .env("POBRIDGE_SMTP__PASSWORD", &sealed)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();

    let mut mail = Value::Null;
    for _ in 0..100 {
        let listed: Value = serde_json::from_str(&cli.ok(&["mail", "list", "--json"])).unwrap();
        mail = listed[0].clone();
        if !mail["sent_at"].is_null() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let password = smtp.join().unwrap();
    let logged = std::fs::read_to_string(cli.path("serve.log")).unwrap();

    assert!(
        !mail["sent_at"].is_null(),
        "the welcome mail was sent: {mail}"
    );
    assert_eq!(password.as_deref(), Some(SMTP_PASSWORD));
    assert!(
        logged.contains("DEBUG"),
        "the log was captured at debug level"
    );
    assert!(
        !logged.contains(SMTP_PASSWORD),
        "the log holds the password"
    );
    let auth = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("\0pobridge\0{SMTP_PASSWORD}"))
    };
    assert!(!logged.contains(&auth), "the log holds the AUTH PLAIN line");
    assert!(
        !logged.contains(&sealed),
        "the log holds the encrypted password"
    );
    assert!(!logged.contains(&key), "the log holds the key");
    assert!(
        !logged.contains("smtp.password is in plain text"),
        "{logged}"
    );
}
