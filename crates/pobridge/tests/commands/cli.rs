//! The administrative commands, run as the built binary.

use crate::common;

use common::{assert_one_line_error, Cli};

const SECRET: &str = "correct-horse-battery-staple";

fn buyer_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
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
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn account_add_creates_account() {
    let cli = Cli::new();

    let stdout = cli.ok(&["account", "add", "acme", "--email", "ops@acme.example"]);

    assert!(stdout.contains("Created account acme"), "{stdout}");
    assert!(cli.path("pobridge.db").exists());
}

#[test]
fn account_add_twice_is_rejected() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["account", "add", "acme", "--email", "ops@acme.example"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("account \"acme\" already exists"),
        "{stderr}"
    );
}

#[test]
fn account_add_rejects_bad_slug() {
    let stderr = Cli::new().fails(&["account", "add", "Acme Ltd", "--email", "ops@acme.example"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("invalid account slug \"Acme Ltd\""),
        "{stderr}"
    );
}

#[test]
fn account_add_rejects_bad_email() {
    let stderr = Cli::new().fails(&["account", "add", "acme", "--email", "ops.acme.example"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("--email: \"ops.acme.example\" is not valid"),
        "{stderr}"
    );
}

#[test]
fn unknown_account_suggests_account_add() {
    let stderr = Cli::new().with_account().fails(&["orders", "ghost"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("account \"ghost\" not found"), "{stderr}");
    assert!(stderr.contains("pobridge account add ghost"), "{stderr}");
}

#[test]
fn typed_secret_is_warned_about() {
    let cli = Cli::new().with_account();

    let typed = cli.run(&buyer_args(&["--secret", SECRET]));
    let from_stdin = cli.run_with_stdin(
        &["buyer", "set", "acme", "coupa-buyer", "secret", "-"],
        "new-secret\n",
    );

    assert!(typed.success, "{}", typed.stderr);
    assert!(
        typed
            .stderr
            .contains("warning: a secret given on the command line"),
        "{}",
        typed.stderr
    );
    assert!(!typed.stderr.contains(SECRET), "{}", typed.stderr);
    assert!(from_stdin.success, "{}", from_stdin.stderr);
    assert!(
        !from_stdin.stderr.contains("warning"),
        "{}",
        from_stdin.stderr
    );
}

#[test]
fn buyer_add_with_secret_never_prints_it() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&buyer_args(&["--secret", SECRET]));
    let listed = cli.ok(&["buyer", "list", "acme"]);
    let listed_json = cli.ok(&["buyer", "list", "acme", "--json"]);

    for output in [&stdout, &listed, &listed_json] {
        assert!(!output.contains(SECRET), "{output}");
        assert!(output.contains("********"), "{output}");
    }
    assert!(
        stdout.contains("coupa-buyer"),
        "the name defaults to the From identity: {stdout}"
    );
    assert!(
        stdout.contains("http://127.0.0.1:8080/cxml/acme\n"),
        "{stdout}"
    );
}

#[test]
fn buyer_without_secret_prints_order_url() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&buyer_args(&[
        "--no-secret",
        "--name",
        "globex",
        "--mode",
        "test",
    ]));

    let url = stdout
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:8080/cxml/acme/"))
        .unwrap_or_else(|| panic!("no order URL in {stdout}"));
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 43, "{url}");
    assert!(stdout.contains("no shared secret"), "{stdout}");
    let listed = cli.ok(&["buyer", "list", "acme"]);
    let masked = format!("http://127.0.0.1:8080/cxml/acme/{}********", &token[..4]);
    assert!(listed.contains(&masked), "{listed}");
    assert!(!listed.contains(token), "{listed}");
}

#[test]
fn buyer_add_needs_secret_or_no_secret() {
    let cli = Cli::new().with_account();

    let run = cli.run(&buyer_args(&[]));

    assert!(!run.success);
    assert!(run.stderr.contains("--secret"), "{}", run.stderr);
}

#[test]
fn buyer_add_rejects_credential_without_domain() {
    let cli = Cli::new().with_account();
    let args = [
        "buyer",
        "add",
        "acme",
        "--from",
        "coupa-buyer",
        "--to",
        "DUNS:1",
        "--sender",
        "NetworkID:s",
        "--secret",
        SECRET,
    ];

    let stderr = cli.fails(&args);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("--from: \"coupa-buyer\" is not valid; expected DOMAIN:IDENTITY"),
        "{stderr}"
    );
}

#[test]
fn buyer_add_rejects_second_buyer_with_same_from() {
    let cli = Cli::new().with_account();
    cli.ok(&buyer_args(&["--secret", SECRET]));

    let stderr = cli.fails(&buyer_args(&["--secret", SECRET, "--name", "again"]));

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("already uses this From credential"),
        "{stderr}"
    );
}

#[test]
fn buyer_add_rejects_ftp_invoice_url() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&buyer_args(&[
        "--secret",
        SECRET,
        "--invoice-url",
        "ftp://coupa.example/inv",
    ]));

    assert_one_line_error(&stderr);
    assert!(stderr.contains("--invoice-url"), "{stderr}");
}

#[test]
fn settings_show_lists_defaults() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["settings", "acme", "show"]);
    let json = cli.ok(&["settings", "acme", "show", "--json"]);

    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("retry_hours") && line.ends_with("72")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("channel_id") && line.ends_with("none")),
        "{stdout}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["retry_hours"], 72);
}

#[test]
fn settings_set_changes_value() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["settings", "acme", "set", "retry_hours", "24"]);
    let shown = cli.ok(&["settings", "acme", "show"]);

    assert!(stdout.contains("Set retry_hours = 24"), "{stdout}");
    assert!(
        shown
            .lines()
            .any(|line| line.starts_with("retry_hours") && line.ends_with("24")),
        "{shown}"
    );
}

#[test]
fn settings_set_unknown_key_lists_keys() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["settings", "acme", "set", "colour", "blue"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("unknown setting \"colour\""), "{stderr}");
    assert!(stderr.contains("retry_hours"), "{stderr}");
}

#[test]
fn settings_set_unknown_custom_field_names_the_field() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["settings", "acme", "set", "custom_fields.NOPE", "1"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("custom_fields.NOPE: \"NOPE\" is not one of"),
        "{stderr}"
    );
    assert!(!stderr.contains("\"1\""), "{stderr}");
}

#[test]
fn settings_set_bad_value_is_explained() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["settings", "acme", "set", "retry_hours", "many"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("retry_hours: \"many\" is not valid"),
        "{stderr}"
    );
    assert!(stderr.contains("whole number of hours"), "{stderr}");
}

#[test]
fn settings_set_channel_needs_refresh() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["settings", "acme", "set", "channel_id", "3"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("pobridge refresh"), "{stderr}");
}

#[test]
fn settings_channel_and_warehouse_cannot_be_cleared() {
    let cli = Cli::new().with_account();

    let cases = [
        ("channel_id", "none", "channels"),
        ("warehouse_id", "none", "warehouses"),
        ("channel_id", "0", "channels"),
    ];
    for (key, value, what) in cases {
        let stderr = cli.fails(&["settings", "acme", "set", key, value]);

        assert_one_line_error(&stderr);
        assert!(
            stderr.contains(&format!("{key}: \"{value}\" is not valid")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "one of this Brightpearl account's {what}, because every new sales order needs one"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("or none"), "{stderr}");
        assert!(stderr.contains("known: none loaded yet"), "{stderr}");
        assert!(stderr.contains("pobridge refresh acme"), "{stderr}");
    }
}

#[test]
fn orders_on_empty_account() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["orders", "acme"]);
    let json = cli.ok(&["orders", "acme", "--json"]);

    assert!(
        stdout.contains("No purchase orders in account acme"),
        "{stdout}"
    );
    assert_eq!(json.trim(), "[]");
}

#[test]
fn orders_rejects_unknown_status() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["orders", "acme", "--status", "lost"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("--status: \"lost\" is not valid"),
        "{stderr}"
    );
    assert!(stderr.contains("awaiting_mapping"), "{stderr}");
}

#[test]
fn items_on_empty_account() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["items", "acme"]);
    let unmapped = cli.ok(&["items", "acme", "--unmapped", "--json"]);

    assert!(
        stdout.contains("No items seen yet in account acme"),
        "{stdout}"
    );
    assert_eq!(unmapped.trim(), "[]");
}

/// Maps part P-1 of account acme to the product with SKU SKU-1.
const MAP_P1: [&str; 7] = [
    "items",
    "map",
    "acme",
    "--coupa",
    "P-1",
    "--brightpearl",
    "SKU-1",
];

#[test]
fn items_map_unknown_sku_suggests_refresh() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&MAP_P1);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("no product with SKU \"SKU-1\""), "{stderr}");
    assert!(stderr.contains("pobridge refresh acme"), "{stderr}");
}

#[test]
fn items_map_unknown_product_id_names_the_id() {
    let cli = Cli::new().with_account();
    let args = [
        "items",
        "map",
        "acme",
        "--coupa",
        "P-1",
        "--brightpearl",
        "id:99999",
    ];

    let stderr = cli.fails(&args);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("no product with id 99999"), "{stderr}");
    assert!(!stderr.contains("SKU"), "{stderr}");
}

#[test]
fn items_map_rejects_zero_and_negative_factors() {
    let cli = Cli::new().with_account();

    // "-1" reaches pobridge's own check rather than clap's "unexpected
    // argument".
    for factor in ["0", "-1"] {
        let stderr = cli.fails(&[&MAP_P1[..], &["--factor", factor]].concat());

        assert_one_line_error(&stderr);
        let expected = format!("--factor: \"{factor}\" is not valid; expected a number from");
        assert!(stderr.contains(&expected), "{stderr}");
    }
}

#[test]
fn limits_below_one_and_negative_offsets_are_refused() {
    let cli = Cli::new().with_account();

    for args in [
        &["products", "acme", "--limit=-5"][..],
        &["products", "acme", "--limit", "-5"],
        &["products", "acme", "--limit", "0"],
        &["mail", "list", "--limit=-1"],
        &["invoices", "acme", "--limit", "0"],
    ] {
        let stderr = cli.fails(args);
        assert!(
            stderr.contains("expected a whole number of 1 or more"),
            "{args:?}: {stderr}"
        );
    }
    let stderr = cli.fails(&["products", "acme", "--offset", "-1"]);
    assert!(
        stderr.contains("expected a whole number of 0 or more"),
        "{stderr}"
    );
}

#[test]
fn products_on_empty_account_suggest_refresh() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["products", "acme"]);

    assert!(stdout.contains("pobridge refresh acme"), "{stdout}");
}

#[test]
fn refresh_without_connection_fails() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["refresh", "acme"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("no Brightpearl connection"), "{stderr}");
}

#[test]
fn refresh_can_be_queued_for_the_server() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["refresh", "acme", "--queue"]);

    assert!(stdout.contains("Queued reference refresh job"), "{stdout}");
}

#[test]
fn queued_refresh_prints_json_when_asked() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["refresh", "acme", "--queue", "--json"]);

    let job: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert_eq!(job["account"], "acme", "{stdout}");
    assert_eq!(job["kind"], "refresh_reference", "{stdout}");
    assert!(job["job"].as_i64().is_some_and(|id| id > 0), "{stdout}");
}

#[test]
fn database_flag_overrides_environment() {
    let cli = Cli::new();
    let other = format!("sqlite://{}", cli.path("other.db").display());

    cli.ok(&[
        "--database",
        &other,
        "account",
        "add",
        "acme",
        "--email",
        "ops@acme.example",
    ]);

    assert!(cli.path("other.db").exists());
    assert!(!cli.path("pobridge.db").exists());
}

#[test]
fn config_example_parses_as_the_config() {
    let cli = Cli::new();
    let example = cli.ok(&["config", "example"]);
    let path = cli.path("pobridge.toml");
    std::fs::write(&path, &example).unwrap();

    let run = cli.run(&[
        "--config",
        path.to_str().unwrap(),
        "account",
        "add",
        "acme",
        "--email",
        "ops@acme.example",
    ]);

    assert!(example.contains("[brightpearl]"), "{example}");
    assert!(run.success, "{}", run.stderr);
}

#[test]
fn config_with_unknown_key_is_rejected() {
    let cli = Cli::new();
    let path = cli.path("pobridge.toml");
    std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();

    let stderr = cli.fails(&["--config", path.to_str().unwrap(), "orders", "acme"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("invalid configuration"), "{stderr}");
    assert!(stderr.contains("lisen"), "{stderr}");
}

#[test]
fn missing_config_file_is_reported() {
    let stderr = Cli::new().fails(&["--config", "does-not-exist.toml", "orders", "acme"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("does-not-exist.toml not found"), "{stderr}");
}

#[test]
fn database_error_hides_the_password() {
    // Nothing listens on port 1 of loopback, so the connection is refused.
    let stderr = Cli::new().fails(&[
        "--database",
        "postgres://bob:hunter2pw@127.0.0.1:1/pobridge",
        "orders",
        "acme",
    ]);

    assert!(
        stderr.contains("postgres://bob:****@127.0.0.1:1/pobridge"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2pw"), "{stderr}");
}

#[test]
fn environment_sets_public_url() {
    let cli = Cli::new().with_account();

    let output = cli
        .command()
        .args([
            "buyer",
            "add",
            "acme",
            "--from",
            "a:b",
            "--to",
            "c:d",
            "--sender",
            "e:f",
            "--no-secret",
        ])
        .env("POBRIDGE_PUBLIC_URL", "https://orders.example.com/")
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("https://orders.example.com/cxml/acme/"),
        "{stdout}"
    );
}

#[test]
fn environment_reaches_nested_config_keys() {
    let cli = Cli::new();

    let output = cli
        .command()
        .args(["orders", "acme"])
        .env("POBRIDGE_LIMITS__MAX_BODY_BYTES", "plenty")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("for key \"POBRIDGE_LIMITS__MAX_BODY_BYTES\""),
        "{stderr}"
    );
}

#[test]
fn account_and_user_lists_show_what_was_added() {
    let cli = Cli::new().with_account();
    cli.ok(&["user", "add", "acme", "sam@acme.example"]);

    let accounts = cli.ok(&["account", "list"]);
    let users = cli.ok(&["user", "list", "acme"]);
    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["user", "list", "acme", "--json"])).unwrap();

    let acme = accounts
        .lines()
        .find(|row| row.starts_with("acme "))
        .unwrap();
    assert!(acme.contains("ops@acme.example"), "{accounts}");
    assert!(acme.trim_end().ends_with("no"), "not connected: {accounts}");
    assert!(users.contains("ops@acme.example"), "{users}");
    assert!(users.contains("sam@acme.example"), "{users}");
    assert!(users.contains("not chosen yet"), "{users}");
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert!(json[0].get("password_hash").is_none());
    assert_one_line_error(&cli.fails(&["user", "list", "nosuch"]));
}
