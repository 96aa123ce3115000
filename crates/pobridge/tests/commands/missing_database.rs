//! Commands other than `serve` and `account add` never create a database:
//! run in the wrong directory, they name the missing file instead.

use crate::common;

use common::{assert_one_line_error, Cli};

#[test]
fn commands_reject_missing_database() {
    let cli = Cli::new();
    let commands: [&[&str]; 9] = [
        &["orders", "acme"],
        &["orders", "acme", "show", "PO-1"],
        &["orders", "acme", "resync", "--failed"],
        &["buyer", "list", "acme"],
        &["buyer", "remove", "acme", "coupa"],
        &["settings", "acme", "show"],
        &["refresh", "acme", "--queue"],
        &["items", "acme"],
        &["products", "acme"],
    ];
    let expected = format!(
        "error: no pobridge database at {}; run the command where `pobridge serve` runs, or pass --database",
        cli.path("pobridge.db").display()
    );

    for args in commands {
        let stderr = cli.fails(args);
        assert_one_line_error(&stderr);
        assert_eq!(stderr.trim_end(), expected, "{args:?}");
    }
    assert!(!cli.path("pobridge.db").exists());
}

#[test]
fn database_flag_to_missing_file_is_rejected() {
    let cli = Cli::new().with_account();
    let other = cli.path("elsewhere.db");
    let url = format!("sqlite://{}", other.display());

    let stderr = cli.fails(&["--database", &url, "orders", "acme"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains(&format!("no pobridge database at {}", other.display())),
        "{stderr}"
    );
    assert!(!other.exists());
}

#[test]
fn relative_database_path_is_shown_absolute() {
    let cli = Cli::new();

    let output = cli
        .command()
        .args(["orders", "acme"])
        .env("POBRIDGE_DATABASE_URL", "sqlite://relative.db")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("at {};", cli.path("relative.db").display())),
        "{stderr}"
    );
    assert!(!cli.path("relative.db").exists());
}
