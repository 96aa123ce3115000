//! `pobridge invoices`, the invoicing keys of `pobridge buyer`, `pobridge
//! rows` and the invoicing settings, run as the built binary against a
//! database seeded through the engine and the store.

use crate::common;
use crate::invoice_seed;

use common::seed::Seed;
use common::{assert_one_line_error, Cli};
use invoice_seed::{invoice, invoice_with, record_response, reload};
use pobridge_engine::invoicing::BuyerInvoicing;
use pobridge_store::{InvoiceKind, InvoiceStatus, ReferenceKind};
use serde_json::{json, Value};

async fn seeded() -> (Cli, Seed) {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    (cli, seed)
}

/// Returns the account's newest audit entry as (action, detail).
async fn last_audit(seed: &Seed) -> (String, String) {
    let entries = seed
        .engine
        .store
        .audit_log(seed.account.id, 100)
        .await
        .unwrap();
    let newest = entries.into_iter().max_by_key(|entry| entry.id).unwrap();
    (newest.action, newest.detail)
}

/// Returns the line of `stdout` that starts with `key`, for key-value output.
fn pair<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(key))
        .unwrap_or_else(|| panic!("no {key:?} line in\n{stdout}"))
}

#[tokio::test]
async fn log_shows_coupa_response_and_totals() {
    let (cli, seed) = seeded().await;
    let failed = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    record_response(
        &seed,
        &failed,
        417,
        "Invalid attributes in document.",
        "Coupa rejected it",
    )
    .await;
    invoice_with(&seed, "PO-2", "INV-2", InvoiceStatus::Sent, |new| {
        new.sent_total = "50.01".parse().unwrap();
    })
    .await;

    let stdout = cli.ok(&["invoices", "acme"]);

    let header = stdout.lines().next().unwrap();
    for title in [
        "INVOICE",
        "PO",
        "STATUS",
        "BRIGHTPEARL TOTAL",
        "COUPA TOTAL",
        "COUPA RESPONSE",
    ] {
        assert!(header.contains(title), "{header}");
    }
    let first = pair(&stdout, "INV-1");
    assert!(first.contains("PO-1"), "{first}");
    assert!(first.contains("failed"), "{first}");
    assert!(
        first.contains("417 Invalid attributes in document."),
        "{first}"
    );
    assert!(first.contains("Coupa rejected it"), "{first}");
    assert!(first.contains("match"), "{first}");
    let second = pair(&stdout, "INV-2");
    assert!(second.contains("50.00 USD"), "{second}");
    assert!(second.contains("50.01 USD"), "{second}");
    assert!(second.contains("DIFFER"), "{second}");
}

#[tokio::test]
async fn log_matches_credit_and_skips_unbuilt() {
    let (cli, seed) = seeded().await;
    invoice_with(&seed, "PO-1", "CR-1", InvoiceStatus::Sent, |new| {
        new.kind = InvoiceKind::Credit;
        new.sent_total = "-50.00".parse().unwrap();
    })
    .await;
    invoice_with(&seed, "PO-2", "INV-2", InvoiceStatus::Held, |new| {
        new.document = String::new();
        new.sent_total = "0".parse().unwrap();
    })
    .await;

    let stdout = cli.ok(&["invoices", "acme"]);

    let credit = pair(&stdout, "CR-1");
    assert!(credit.contains("-50.00 USD"), "{credit}");
    assert!(credit.contains("match"), "{credit}");
    assert!(!credit.contains("DIFFER"), "{credit}");
    let held = pair(&stdout, "INV-2");
    assert!(!held.contains(" 0 USD"), "{held}");
    assert!(held.contains(" - "), "{held}");
    assert!(!held.contains("DIFFER"), "{held}");
    assert!(!held.contains("match"), "{held}");
}

#[tokio::test]
async fn show_prints_credit_quantities_as_sent() {
    let (cli, seed) = seeded().await;
    invoice_with(&seed, "PO-1", "CR-1", InvoiceStatus::Sent, |new| {
        new.kind = InvoiceKind::Credit;
        new.sent_total = "-50.00".parse().unwrap();
        new.lines[0].quantity = "0.5".parse().unwrap();
    })
    .await;

    let stdout = cli.ok(&["invoices", "acme", "show", "CR-1"]);

    let header = pair(&stdout, "PO LINE");
    assert!(header.contains("QUANTITY SENT"), "{stdout}");
    let line = stdout
        .lines()
        .skip_while(|line| !line.starts_with("PO LINE"))
        .nth(1)
        .unwrap_or_default();
    assert!(line.ends_with("-0.5"), "{stdout}");
    assert!(
        pair(&stdout, "Coupa total").ends_with("-50.00 USD"),
        "{stdout}"
    );
}

#[tokio::test]
async fn log_filters_and_prints_json() {
    let (cli, seed) = seeded().await;
    invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    invoice_with(&seed, "PO-1", "CR-1", InvoiceStatus::Sent, |new| {
        new.kind = InvoiceKind::Credit;
    })
    .await;

    let failed = cli.ok(&["invoices", "acme", "--status", "failed", "--json"]);
    let credits = cli.ok(&["invoices", "acme", "--search", "cr-", "--json"]);
    let none = cli.ok(&["invoices", "acme", "--status", "held"]);

    let failed: Value = serde_json::from_str(&failed).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["invoice_number"], "INV-1");
    assert_eq!(failed[0]["po_number"], "PO-1");
    assert_eq!(failed[0]["brightpearl_total"], "50.00");
    assert_eq!(failed[0]["totals_differ"], false);
    let credits: Value = serde_json::from_str(&credits).unwrap();
    assert_eq!(credits.as_array().unwrap().len(), 1);
    assert_eq!(credits[0]["kind"], "credit");
    assert_eq!(none.trim(), "No matching invoices in account acme.");
}

#[test]
fn log_rejects_unknown_status() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["invoices", "acme", "--status", "rejected"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("--status: \"rejected\" is not valid"),
        "{stderr}"
    );
    assert!(stderr.contains("changed_after_sending"), "{stderr}");
}

#[tokio::test]
async fn show_prints_fields_document_and_siblings() {
    let (cli, seed) = seeded().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    record_response(
        &seed,
        &record,
        401,
        "Invalid credentials",
        "Coupa rejected the credentials",
    )
    .await;
    invoice(&seed, "PO-1", "INV-2", InvoiceStatus::Sent).await;

    let stdout = cli.ok(&["invoices", "acme", "show", "INV-1"]);

    assert!(pair(&stdout, "status").ends_with("failed"), "{stdout}");
    assert!(
        pair(&stdout, "Coupa response").ends_with("401 Invalid credentials"),
        "{stdout}"
    );
    assert!(pair(&stdout, "attempts").ends_with('1'), "{stdout}");
    assert!(
        pair(&stdout, "Brightpearl order").ends_with('7'),
        "{stdout}"
    );
    assert!(
        stdout.contains("Other invoices of this purchase order:"),
        "{stdout}"
    );
    assert!(pair(&stdout, "INV-2").contains("sent"), "{stdout}");
    assert!(stdout.contains(r#"invoiceID="INV-1""#), "{stdout}");
    assert!(
        stdout.contains("<SharedSecret>********</SharedSecret>"),
        "{stdout}"
    );
}

#[tokio::test]
async fn show_json_never_contains_secret() {
    let (cli, seed) = seeded().await;
    cli.ok(&[
        "buyer",
        "set",
        "acme",
        "buyer-1",
        "invoice-secret",
        "inv-s3cret",
    ]);
    invoice_with(&seed, "PO-1", "INV-1", InvoiceStatus::Failed, |new| {
        new.document = invoice_seed::document("INV-1", "PO-1", "inv-s3cret");
    })
    .await;

    let stdout = cli.ok(&["invoices", "acme", "show", "INV-1", "--json"]);

    assert!(!stdout.contains("inv-s3cret"), "{stdout}");
    let detail: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(detail["invoice_number"], "INV-1");
    assert_eq!(detail["lines"][0]["quantity"], "4");
    assert_eq!(detail["other_invoices"], json!([]));
    let document = detail["document"].as_str().unwrap();
    assert!(
        document.contains("<SharedSecret>********</SharedSecret>"),
        "{document}"
    );
}

#[tokio::test]
async fn retry_queues_failed_invoice() {
    let (cli, seed) = seeded().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;

    let stdout = cli.ok(&["invoices", "acme", "retry", "INV-1"]);

    assert!(stdout.starts_with("Queued 1 invoice;"), "{stdout}");
    assert!(stdout.contains("under the same number"), "{stdout}");
    let stored = reload(&seed, &record).await;
    assert_eq!(stored.status, InvoiceStatus::Held);
    assert_eq!(
        stored.reason.as_deref(),
        Some("queued again by a person: rebuilding with the current settings")
    );
    assert_eq!(
        last_audit(&seed).await,
        (
            "invoice.retry".to_owned(),
            "queued to be rebuilt and sent again: invoice INV-1 (buyer buyer-1), which was failed"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn retry_of_sent_invoice_is_rejected() {
    let (cli, seed) = seeded().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Sent).await;

    let stderr = cli.fails(&["invoices", "acme", "retry", "INV-1"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("invoice INV-1 was not queued"), "{stderr}");
    assert!(stderr.contains("never sent again"), "{stderr}");
    assert_eq!(reload(&seed, &record).await.status, InvoiceStatus::Sent);
    let audited = seed
        .engine
        .store
        .audit_log(seed.account.id, 100)
        .await
        .unwrap();
    assert!(
        audited.iter().all(|entry| entry.action != "invoice.retry"),
        "a retry that queued nothing is not audited: {audited:?}"
    );
}

#[tokio::test]
async fn retry_all_failed_lists_each() {
    let (cli, seed) = seeded().await;
    invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    invoice(&seed, "PO-2", "INV-2", InvoiceStatus::Failed).await;
    let sent = invoice(&seed, "PO-2", "INV-3", InvoiceStatus::Sent).await;

    let stdout = cli.ok(&["invoices", "acme", "retry", "--all-failed"]);

    assert!(pair(&stdout, "INV-1").ends_with("queued"), "{stdout}");
    assert!(pair(&stdout, "INV-2").ends_with("queued"), "{stdout}");
    assert!(!stdout.contains("INV-3"), "{stdout}");
    assert!(stdout.contains("Queued 2 invoices;"), "{stdout}");
    assert_eq!(reload(&seed, &sent).await.status, InvoiceStatus::Sent);
    let (action, detail) = last_audit(&seed).await;
    assert_eq!(action, "invoice.retry");
    assert!(
        detail.contains("INV-1") && detail.contains("INV-2"),
        "{detail}"
    );
    assert!(!detail.contains("INV-3"), "{detail}");
}

#[tokio::test]
async fn confirm_marks_probably_delivered_sent() {
    let (cli, seed) = seeded().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::ProbablyDelivered).await;

    let stdout = cli.ok(&["invoices", "acme", "confirm", "INV-1"]);

    assert_eq!(
        stdout.trim(),
        "Marked invoice INV-1 of buyer buyer-1 sent (it was probably_delivered): a person found it in Coupa."
    );
    assert_eq!(reload(&seed, &record).await.status, InvoiceStatus::Sent);
    let (action, detail) = last_audit(&seed).await;
    assert_eq!(action, "invoice.confirm");
    assert!(
        detail.starts_with(
            "confirmed invoice INV-1 (buyer buyer-1) delivered: probably_delivered -> sent;"
        ),
        "{detail}"
    );
}

#[tokio::test]
async fn confirm_of_failed_invoice_is_rejected() {
    let (cli, seed) = seeded().await;
    invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;

    let stderr = cli.fails(&["invoices", "acme", "confirm", "INV-1"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("is failed; only a held, needs_attention, probably_delivered"),
        "{stderr}"
    );
}

#[test]
fn poll_queues_job() {
    let cli = Cli::new().with_account();

    let stdout = cli.ok(&["invoices", "acme", "poll"]);

    assert!(stdout.starts_with("Queued invoice poll job "), "{stdout}");
    assert!(stdout.contains("for account acme"), "{stdout}");
}

#[test]
fn poll_prints_json_when_asked() {
    let cli = Cli::new().with_account();

    let first = cli.ok(&["invoices", "acme", "poll", "--json"]);
    let second = cli.ok(&["invoices", "acme", "--json", "poll"]);

    for stdout in [&first, &second] {
        let job: serde_json::Value = serde_json::from_str(stdout).expect(stdout);
        assert_eq!(job["account"], "acme", "{stdout}");
        assert_eq!(job["kind"], "poll_invoices", "{stdout}");
        assert!(job["job"].as_i64().is_some_and(|id| id > 0), "{stdout}");
    }
}

#[test]
fn list_filters_do_not_mix_with_subcommands() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["invoices", "acme", "--status", "failed", "poll"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("filter only the invoice list"), "{stderr}");
}

#[tokio::test]
async fn buyer_invoice_secret_from_stdin_is_masked() {
    let (cli, seed) = seeded().await;
    let args = ["buyer", "set", "acme", "buyer-1", "invoice-secret", "-"];

    let run = cli.run_with_stdin(&args, "inv-s3cret\n");

    assert!(run.success, "{}", run.stderr);
    assert!(!run.stdout.contains("inv-s3cret"), "{}", run.stdout);
    assert!(
        pair(&run.stdout, "invoice-secret").ends_with("********"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Released 0 waiting jobs."),
        "{}",
        run.stdout
    );
    let buyer = seed.buyer("buyer-1").await;
    let stored = BuyerInvoicing::from_json(&buyer.invoicing).unwrap();
    assert_eq!(stored.shared_secret.as_deref(), Some("inv-s3cret"));
}

#[tokio::test]
async fn buyer_show_lists_invoicing_and_missing() {
    let (cli, _seed) = seeded().await;
    cli.ok(&[
        "buyer",
        "set",
        "acme",
        "buyer-1",
        "invoice-to",
        "NetworkID:COUPA-INV",
    ]);

    let stdout = cli.ok(&["buyer", "show", "acme", "buyer-1"]);
    let json = cli.ok(&["buyer", "show", "acme", "buyer-1", "--json"]);
    let listed = cli.ok(&["buyer", "list", "acme"]);

    assert!(
        pair(&stdout, "invoice-from").ends_with("DUNS:123456789 (default: the orders' To)"),
        "{stdout}"
    );
    assert!(
        pair(&stdout, "invoice-to").ends_with("NetworkID:COUPA-INV"),
        "{stdout}"
    );
    assert!(pair(&stdout, "tax-level").ends_with("summary"), "{stdout}");
    assert!(
        pair(&stdout, "credit-form").ends_with("negative-quantities"),
        "{stdout}"
    );
    assert!(
        pair(&stdout, "dtd-version").ends_with("1.2.020"),
        "{stdout}"
    );
    assert!(
        pair(&stdout, "missing for Coupa").contains("invoice-url is missing"),
        "{stdout}"
    );
    assert!(stdout.contains("tax-map is empty"), "{stdout}");
    let view: Value = serde_json::from_str(&json).unwrap();
    let invoicing = &view["invoicing"];
    assert_eq!(invoicing["to"]["credential"], "NetworkID:COUPA-INV");
    assert_eq!(invoicing["to"]["is_default"], false);
    assert_eq!(invoicing["missing_for_coupa"].as_array().unwrap().len(), 3);
    assert!(pair(&listed, "buyer-1").ends_with("3 missing"), "{listed}");
}

#[tokio::test]
async fn buyer_tax_map_value_is_checked() {
    let (cli, seed) = seeded().await;
    let codes = json!([{ "id": 1, "code": "T20" }]);
    invoice_seed::reference(&seed, ReferenceKind::TaxCodes, codes).await;

    let stderr = cli.fails(&["buyer", "set", "acme", "buyer-1", "tax-map", "T20=VAT"]);
    let stdout = cli.ok(&["buyer", "set", "acme", "buyer-1", "tax-map", "T20=VAT:20"]);

    assert_one_line_error(&stderr);
    assert!(
        stderr.contains("tax-map: \"T20=VAT\" is not valid"),
        "{stderr}"
    );
    assert!(stderr.contains("CODE=CATEGORY:RATE"), "{stderr}");
    assert!(pair(&stdout, "tax-map").ends_with("T20=VAT:20"), "{stdout}");
}

#[tokio::test]
async fn rows_add_list_and_remove() {
    let (cli, seed) = seeded().await;
    invoice_seed::product(&seed, 901, "SHIP-GROUND").await;

    let empty = cli.ok(&["rows", "acme"]);
    let added = cli.ok(&["rows", "acme", "add", "sku", "SHIP-GROUND", "shipping"]);
    cli.ok(&["rows", "acme", "add", "product", "901", "skip", "--at", "1"]);
    let listed = cli.ok(&["rows", "acme", "list"]);
    let json = cli.ok(&["rows", "acme", "--json"]);
    let removed = cli.ok(&["rows", "acme", "remove", "1"]);

    assert!(
        empty.starts_with("No invoice row rules in account acme"),
        "{empty}"
    );
    assert!(added.starts_with("Added the rule."), "{added}");
    assert!(added.contains("Released 0 waiting jobs."), "{added}");
    assert!(
        pair(&listed, "1").ends_with("product 901 -> skip"),
        "{listed}"
    );
    assert!(
        pair(&listed, "2").ends_with("sku SHIP-GROUND -> shipping"),
        "{listed}"
    );
    let rules: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        rules[1]["rule"]["matcher"],
        json!({ "by": "sku", "value": "SHIP-GROUND" })
    );
    assert_eq!(rules[1]["rule"]["class"], "shipping");
    assert!(removed.starts_with("Removed the rule."), "{removed}");
    assert!(
        pair(&removed, "1").ends_with("sku SHIP-GROUND -> shipping"),
        "{removed}"
    );
    let settings = cli.ok(&["settings", "acme", "show"]);
    assert!(
        pair(&settings, "invoice_rows.1").ends_with("sku SHIP-GROUND -> shipping"),
        "{settings}"
    );
}

#[tokio::test]
async fn rows_remove_by_rule_text() {
    let (cli, seed) = seeded().await;
    invoice_seed::product(&seed, 901, "SHIP-GROUND").await;
    cli.ok(&["rows", "acme", "add", "sku", "SHIP-GROUND", "shipping"]);
    // Someone else puts a rule in front after the list was read.
    cli.ok(&["rows", "acme", "add", "product", "901", "skip", "--at", "1"]);

    let removed = cli.ok(&["rows", "acme", "remove", " sku SHIP-GROUND -> shipping "]);
    let unknown = cli.fails(&["rows", "acme", "remove", "sku SHIP-GROUND"]);
    let too_large = cli.fails(&["rows", "acme", "remove", "99999999999999999999999"]);

    assert!(removed.starts_with("Removed the rule."), "{removed}");
    assert!(
        pair(&removed, "1").ends_with("product 901 -> skip"),
        "{removed}"
    );
    assert!(!removed.contains("SHIP-GROUND"), "{removed}");
    for stderr in [&unknown, &too_large] {
        assert_one_line_error(stderr);
        assert!(
            stderr.contains("a rule's number or its text as `pobridge rows acme` lists it"),
            "{stderr}"
        );
        assert!(stderr.contains("\"product 901 -> skip\""), "{stderr}");
    }
    let trail = seed
        .engine
        .store
        .audit_log(seed.account.id, 10)
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .any(|entry| entry.detail == "removed rule 2 (sku SHIP-GROUND -> shipping)"),
        "{trail:#?}"
    );
}

#[test]
fn rows_unknown_product_is_rejected() {
    let cli = Cli::new().with_account();

    let stderr = cli.fails(&["rows", "acme", "add", "product", "901", "skip"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("product: \"901\" is not valid"), "{stderr}");
    assert!(stderr.contains("pobridge refresh acme"), "{stderr}");
}

#[test]
fn settings_set_time_zone_and_intervals() {
    let cli = Cli::new().with_account();

    let zone = cli.ok(&["settings", "acme", "set", "time_zone", "Europe/London"]);
    let poll = cli.ok(&["settings", "acme", "set", "invoice_poll_minutes", "15"]);
    let stderr = cli.fails(&["settings", "acme", "set", "time_zone", "Europe/Londres"]);
    let shown = cli.ok(&["settings", "acme", "show"]);

    assert_eq!(
        zone.trim(),
        "Set time_zone = Europe/London for account acme."
    );
    assert_eq!(
        poll.trim(),
        "Set invoice_poll_minutes = 15 for account acme."
    );
    assert_one_line_error(&stderr);
    assert!(stderr.contains("IANA time zone name"), "{stderr}");
    assert!(
        pair(&shown, "time_zone").ends_with("Europe/London"),
        "{shown}"
    );
    assert!(
        pair(&shown, "invoice_sweep_hours").ends_with("24"),
        "{shown}"
    );
    assert!(pair(&shown, "invoice_rows").ends_with("none"), "{shown}");
}
