//! `pobridge orders SLUG show | resync | handled`, run as the built binary
//! against a database seeded through the engine.

use crate::common;

use common::seed::Seed;
use common::{assert_one_line_error, Cli};
use pobridge_store::PoStatus;

async fn seeded() -> (Cli, Seed) {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    (cli, seed)
}

#[tokio::test]
async fn show_prints_revisions_and_warnings() {
    let (cli, seed) = seeded().await;
    let po = seed.held_order("PO-1").await;
    seed.set_status(&po, PoStatus::HeldForReview, "warning: tax differs by 0.01")
        .await;

    let stdout = cli.ok(&["orders", "acme", "show", "PO-1"]);

    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("status") && line.ends_with("held_for_review")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("Brightpearl order") && line.ends_with('7')),
        "{stdout}"
    );
    assert!(stdout.contains("Revisions:"), "{stdout}");
    assert!(
        stdout.lines().any(|line| line.contains("update")
            && line.contains("held_for_review")
            && line.contains("2026-03-02T10:00:00+01:00")),
        "{stdout}"
    );
    assert!(stdout.contains("Timeline:"), "{stdout}");
    assert!(stdout.contains("warning: tax differs by 0.01"), "{stdout}");
}

#[tokio::test]
async fn show_escapes_control_and_direction_characters() {
    let (cli, seed) = seeded().await;
    let po = seed.held_order("PO-1").await;
    // An escape sequence that would clear the terminal, and a right-to-left
    // override that would show the rest reversed.
    seed.set_status(&po, PoStatus::HeldForReview, "\u{1b}[2J tax \u{202E}10.0")
        .await;

    let stdout = cli.ok(&["orders", "acme", "show", "PO-1"]);

    assert!(!stdout.contains(['\u{1b}', '\u{202E}']), "{stdout:?}");
    assert!(stdout.contains("\\u{1b}[2J tax \\u{202e}10.0"), "{stdout}");
}

#[tokio::test]
async fn show_says_retention_removed_a_document() {
    let (cli, seed) = seeded().await;
    seed.receive("BUYER-1", "PO-1", 1).await;
    seed.receive("BUYER-1", "PO-2", 1).await;
    let synced = seed.order("buyer-1", "PO-1").await;
    let failed = seed.order("buyer-1", "PO-2").await;
    seed.set_status(&synced, PoStatus::Synced, "synced").await;
    seed.set_status(&failed, PoStatus::Failed, "failed").await;
    let now = seed.engine.clock.now();
    let removed = seed
        .engine
        .store
        .remove_document_bodies(seed.account.id, now + chrono::Duration::days(1), 100, now)
        .await
        .unwrap();

    let shown = cli.ok(&["orders", "acme", "show", "PO-1"]);
    let kept = cli.ok(&["orders", "acme", "show", "PO-2"]);
    let json = cli.ok(&["orders", "acme", "show", "PO-1", "--json"]);

    assert_eq!(removed.documents, 1, "only the synced order's body goes");
    let notice = format!("Removed by retention on {}.", now.date_naive());
    assert!(
        shown
            .lines()
            .any(|line| line.contains("new") && line.ends_with(&notice)),
        "{shown}"
    );
    assert!(!kept.contains("Removed by retention"), "{kept}");
    assert!(
        kept.lines()
            .any(|line| line.contains("new") && line.ends_with("stored")),
        "{kept}"
    );
    let order: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        order["revisions"][0]["document_removed_at"].is_string(),
        "{json}"
    );
}

#[tokio::test]
async fn show_json_has_revisions_and_events() {
    let (cli, seed) = seeded().await;
    seed.failed_order("PO-1").await;

    let stdout = cli.ok(&["orders", "acme", "show", "PO-1", "--json"]);

    let order: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(order["po_number"], "PO-1");
    assert_eq!(order["status"], "failed");
    assert_eq!(order["reason"], "Brightpearl rejected the order");
    assert_eq!(order["revisions"][0]["order_type"], "new");
    let events = order["events"].as_array().unwrap();
    assert_eq!(
        events.last().unwrap()["message"],
        "Brightpearl rejected the order"
    );
}

#[tokio::test]
async fn show_shared_number_asks_for_buyer() {
    let (cli, seed) = seeded().await;
    seed.add_buyer("buyer-2", "BUYER-2").await;
    seed.receive("BUYER-1", "PO-9", 1).await;
    seed.receive("BUYER-2", "PO-9", 1).await;

    let stderr = cli.fails(&["orders", "acme", "show", "PO-9"]);
    let chosen = cli.ok(&["orders", "acme", "show", "PO-9", "--buyer", "buyer-2"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("several buyers (buyer-"), "{stderr}");
    assert!(stderr.contains("--buyer NAME"), "{stderr}");
    assert!(
        chosen
            .lines()
            .any(|line| line.starts_with("buyer") && line.ends_with("buyer-2")),
        "{chosen}"
    );
}

#[tokio::test]
async fn show_unknown_order_is_one_line_error() {
    let (cli, _seed) = seeded().await;

    let stderr = cli.fails(&["orders", "acme", "show", "PO-404"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("purchase order \"PO-404\" not found in account \"acme\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn resync_queues_named_failed_order() {
    let (cli, seed) = seeded().await;
    seed.failed_order("PO-1").await;

    let stdout = cli.ok(&["orders", "acme", "resync", "PO-1"]);

    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("PO-1") && line.ends_with("queued")),
        "{stdout}"
    );
    assert!(stdout.contains("Queued 1 purchase order;"), "{stdout}");
    let po = seed.order("buyer-1", "PO-1").await;
    assert_eq!(po.status, PoStatus::Received);
    let events = seed
        .engine
        .store
        .events(seed.account.id, po.id)
        .await
        .unwrap();
    assert_eq!(events.last().unwrap().message, "re-sync requested");
}

#[tokio::test]
async fn resync_failed_dry_run_lists_without_changing() {
    let (cli, seed) = seeded().await;
    seed.failed_order("PO-1").await;
    seed.failed_order("PO-2").await;

    let stdout = cli.ok(&["orders", "acme", "resync", "--failed", "--dry-run"]);

    for number in ["PO-1", "PO-2"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(number) && line.ends_with("would be queued")),
            "{stdout}"
        );
        assert_eq!(seed.order("buyer-1", number).await.status, PoStatus::Failed);
    }
    assert!(stdout.contains("Dry run: nothing was changed."), "{stdout}");
}

#[tokio::test]
async fn resync_failed_with_none_failed_says_so() {
    let (cli, _seed) = seeded().await;

    let stdout = cli.ok(&["orders", "acme", "resync", "--failed"]);

    assert_eq!(stdout.trim(), "No failed purchase orders in account acme.");
}

#[tokio::test]
async fn resync_rejects_synced_order_with_reason() {
    let (cli, seed) = seeded().await;
    seed.failed_order("PO-1").await;
    seed.receive("BUYER-1", "PO-2", 1).await;
    let synced = seed.order("buyer-1", "PO-2").await;
    seed.set_status(&synced, PoStatus::Synced, "synced").await;

    let run = cli.run(&["orders", "acme", "resync", "PO-1", "PO-2"]);

    assert!(!run.success, "{}", run.stdout);
    assert!(
        run.stdout.lines().any(|line| line.starts_with("PO-2")
            && line.contains("rejected: already synced as Brightpearl sales order 7")),
        "{}",
        run.stdout
    );
    assert_one_line_error(&run.stderr);
    assert!(
        run.stderr
            .contains("did not re-queue 1 of 2 purchase orders"),
        "{}",
        run.stderr
    );
    assert_eq!(
        seed.order("buyer-1", "PO-1").await.status,
        PoStatus::Received
    );
    assert_eq!(seed.order("buyer-1", "PO-2").await.status, PoStatus::Synced);
}

#[tokio::test]
async fn resync_held_order_points_to_handled() {
    let (cli, seed) = seeded().await;
    seed.held_order("PO-1").await;

    let run = cli.run(&["orders", "acme", "resync", "PO-1", "--json"]);

    assert!(!run.success);
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows[0]["outcome"]["kind"], "rejected");
    let reason = rows[0]["outcome"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("pobridge orders acme handled PO-1"),
        "{reason}"
    );
}

#[test]
fn resync_needs_numbers_or_failed() {
    let cli = Cli::new().with_account();

    let neither = cli.run(&["orders", "acme", "resync"]);
    let both = cli.run(&["orders", "acme", "resync", "PO-1", "--failed"]);

    assert!(!neither.success);
    assert!(
        neither.stderr.contains("<PO|--failed>"),
        "{}",
        neither.stderr
    );
    assert!(!both.success);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
}

#[tokio::test]
async fn handled_returns_order_to_synced() {
    let (cli, seed) = seeded().await;
    let held = seed.held_order("PO-1").await;

    let stdout = cli.ok(&["orders", "acme", "handled", "PO-1"]);

    assert!(
        stdout.contains(
            "Marked purchase order PO-1 of buyer buyer-1 handled; it is synced with Brightpearl sales order 7."
        ),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with(&held.latest_revision.to_string())
                && line.contains("update")),
        "{stdout}"
    );
    let po = seed.order("buyer-1", "PO-1").await;
    assert_eq!(po.status, PoStatus::Synced);
    let shown = cli.ok(&["orders", "acme", "show", "PO-1"]);
    assert!(
        shown.contains("marked handled: update (revision"),
        "{shown}"
    );
}

#[tokio::test]
async fn handled_rejects_order_not_held() {
    let (cli, seed) = seeded().await;
    seed.failed_order("PO-1").await;

    let stderr = cli.fails(&["orders", "acme", "handled", "PO-1"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("\"PO-1\" is failed, not held_for_review"),
        "{stderr}"
    );
    assert_eq!(seed.order("buyer-1", "PO-1").await.status, PoStatus::Failed);
}

#[tokio::test]
async fn status_filter_with_subcommand_is_rejected() {
    let (cli, _seed) = seeded().await;

    let stderr = cli.fails(&["orders", "acme", "--status", "failed", "show", "PO-1"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("--status filters only the order list"),
        "{stderr}"
    );
}

#[test]
fn orders_help_describes_every_flag() {
    let cli = Cli::new();

    let list = cli.ok(&["orders", "--help"]);
    let resync = cli.ok(&["orders", "acme", "resync", "--help"]);

    assert!(list.contains("Print the result as JSON"), "{list}");
    assert!(list.contains("List only orders with this status"), "{list}");
    assert!(resync.contains("without changing anything"), "{resync}");
    assert!(
        resync.contains("every order whose status is failed"),
        "{resync}"
    );
}
