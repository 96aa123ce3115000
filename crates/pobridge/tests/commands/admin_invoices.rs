//! The engine's invoicing actions against a real store: the invoice log
//! and detail, retry and confirm, the poll job, a buyer's invoicing
//! settings, the invoice row rules and the invoicing account settings.

use crate::common;
use crate::invoice_seed;

use common::seed::Seed;
use invoice_seed::{buyer_invoice, invoice, invoice_with, park_send_job, record_response, reload};
use pobridge_engine::admin::{
    self, AddRowRule, InvoiceQuery, RetryOutcome, RetryTarget, RETRY_REASON,
};
use pobridge_engine::invoice_jobs::{POLL_INVOICES, SEND_INVOICE};
use pobridge_engine::invoicing::{BuyerInvoicing, CreditForm, TaxLevel};
use pobridge_store::{InvoiceKind, InvoiceStatus, InvoiceUpdate, Job, JobStatus, ReferenceKind};
use rust_decimal::Decimal;
use serde_json::json;

async fn seed() -> Seed {
    Seed::new("sqlite::memory:").await
}

fn query(status: Option<&str>, search: Option<&str>) -> InvoiceQuery {
    InvoiceQuery {
        status: status.map(str::to_owned),
        search: search.map(str::to_owned),
        limit: None,
    }
}

fn numbers(values: &[&str]) -> RetryTarget {
    RetryTarget::Numbers(values.iter().map(|value| value.to_string()).collect())
}

async fn jobs(seed: &Seed) -> Vec<Job> {
    seed.engine.store.list_jobs(seed.account.id).await.unwrap()
}

async fn stored_invoicing(seed: &Seed) -> BuyerInvoicing {
    BuyerInvoicing::from_json(&seed.buyer("buyer-1").await.invoicing).unwrap()
}

async fn set(seed: &Seed, key: &str, value: &str) -> Result<admin::ChangedBuyer, String> {
    admin::set_buyer(&seed.engine, "acme", "buyer-1", key, value)
        .await
        .map_err(|error| error.to_string())
}

async fn tax_codes(seed: &Seed) {
    let codes = json!([{ "id": 1, "code": "T20" }, { "id": 2, "code": "T0" }]);
    invoice_seed::reference(seed, ReferenceKind::TaxCodes, codes).await;
}

#[tokio::test]
async fn list_filters_by_status_and_search() {
    let seed = seed().await;
    invoice(&seed, "PO-1", "INV-100", InvoiceStatus::Failed).await;
    invoice(&seed, "PO-1", "INV-101", InvoiceStatus::Sent).await;
    invoice_with(&seed, "PO-2", "CR-200", InvoiceStatus::Sent, |new| {
        new.kind = InvoiceKind::Credit;
    })
    .await;

    let failed = admin::list_invoices(&seed.engine, "acme", &query(Some("failed"), None))
        .await
        .unwrap();
    let searched = admin::list_invoices(&seed.engine, "acme", &query(None, Some("inv-10")))
        .await
        .unwrap();
    let all = admin::list_invoices(&seed.engine, "acme", &query(None, None))
        .await
        .unwrap();

    let numbers = |rows: &[admin::InvoiceRow]| {
        let mut found: Vec<_> = rows.iter().map(|row| row.invoice_number.clone()).collect();
        found.sort();
        found
    };
    assert_eq!(numbers(&failed), ["INV-100"]);
    assert_eq!(numbers(&searched), ["INV-100", "INV-101"]);
    assert_eq!(all.len(), 3);
    let credit = all
        .iter()
        .find(|row| row.invoice_number == "CR-200")
        .unwrap();
    assert_eq!(credit.po_number, "PO-2");
    assert_eq!(credit.buyer, "buyer-1");
    assert_eq!(credit.kind, InvoiceKind::Credit);
    assert_eq!(credit.currency, "USD");
}

#[tokio::test]
async fn list_flags_totals_that_differ() {
    let seed = seed().await;
    invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Sent).await;
    invoice_with(&seed, "PO-1", "INV-2", InvoiceStatus::Sent, |new| {
        new.sent_total = "50.01".parse().unwrap();
    })
    .await;
    // Credits sent as negative quantities have a negative document total.
    for (number, sent_total) in [("CR-1", "-50.00"), ("CR-2", "-50.01")] {
        invoice_with(&seed, "PO-1", number, InvoiceStatus::Sent, |new| {
            new.kind = InvoiceKind::Credit;
            new.sent_total = sent_total.parse().unwrap();
        })
        .await;
    }

    let rows = admin::list_invoices(&seed.engine, "acme", &query(None, None))
        .await
        .unwrap();

    let row = |number: &str| {
        rows.iter()
            .find(|row| row.invoice_number == number)
            .unwrap()
    };
    assert!(!row("INV-1").totals_differ);
    assert!(row("INV-2").totals_differ);
    assert!(!row("CR-1").totals_differ);
    assert!(row("CR-2").totals_differ);
    assert_eq!(
        row("INV-2").brightpearl_total,
        "50.00".parse::<Decimal>().unwrap()
    );
    assert_eq!(
        row("INV-2").sent_total,
        Some("50.01".parse::<Decimal>().unwrap())
    );
}

#[tokio::test]
async fn list_shows_no_sent_total_before_build() {
    let seed = seed().await;
    invoice_with(&seed, "PO-1", "INV-1", InvoiceStatus::Held, |new| {
        new.document = String::new();
        new.sent_total = Decimal::ZERO;
    })
    .await;

    let rows = admin::list_invoices(&seed.engine, "acme", &query(None, None))
        .await
        .unwrap();

    assert_eq!(rows[0].sent_total, None);
    assert!(!rows[0].totals_differ);
}

#[tokio::test]
async fn list_rejects_unknown_status() {
    let seed = seed().await;

    let error = admin::list_invoices(&seed.engine, "acme", &query(Some("rejected"), None))
        .await
        .unwrap_err()
        .to_string();

    assert!(
        error.starts_with("--status: \"rejected\" is not valid"),
        "{error}"
    );
    assert!(error.contains("probably_delivered"), "{error}");
}

#[tokio::test]
async fn show_has_lines_document_and_siblings() {
    let seed = seed().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    record_response(
        &seed,
        &record,
        417,
        "Invalid attributes in document.",
        "Coupa rejected it",
    )
    .await;
    invoice_with(&seed, "PO-1", "CR-1", InvoiceStatus::Pending, |new| {
        new.kind = InvoiceKind::Credit;
    })
    .await;
    invoice(&seed, "PO-2", "INV-2", InvoiceStatus::Sent).await;

    let detail = admin::show_invoice(&seed.engine, "acme", " INV-1 ", None)
        .await
        .unwrap();

    assert_eq!(detail.summary.invoice_number, "INV-1");
    assert_eq!(detail.summary.coupa_status, Some(417));
    assert_eq!(
        detail.summary.coupa_text.as_deref(),
        Some("Invalid attributes in document.")
    );
    assert_eq!(detail.summary.reason.as_deref(), Some("Coupa rejected it"));
    assert_eq!(detail.attempts, 1);
    assert_eq!(detail.brightpearl_order_id, 7);
    assert_eq!(detail.lines.len(), 1);
    assert_eq!(detail.lines[0].po_line_number, 1);
    assert_eq!(detail.lines[0].quantity, Decimal::from(4));
    assert!(
        detail.document.contains(r#"invoiceID="INV-1""#),
        "{}",
        detail.document
    );
    let others: Vec<_> = detail
        .other_invoices
        .iter()
        .map(|row| row.invoice_number.as_str())
        .collect();
    assert_eq!(others, ["CR-1"]);
}

#[tokio::test]
async fn show_masks_secret_stored_by_mistake() {
    let seed = seed().await;
    set(&seed, "invoice-secret", "inv-s3cret").await.unwrap();
    invoice_with(&seed, "PO-1", "INV-1", InvoiceStatus::Failed, |new| {
        new.document = invoice_seed::document("INV-1", "PO-1", "inv-s3cret")
            .replace("<UserAgent>pobridge", "<UserAgent>pobridge inv-s3cret");
    })
    .await;

    let detail = admin::show_invoice(&seed.engine, "acme", "INV-1", None)
        .await
        .unwrap();

    assert!(
        !detail.document.contains("inv-s3cret"),
        "{}",
        detail.document
    );
    assert!(
        detail
            .document
            .contains("<SharedSecret>********</SharedSecret>"),
        "{}",
        detail.document
    );
}

#[tokio::test]
async fn show_unknown_number_names_list_command() {
    let seed = seed().await;
    invoice(&seed, "PO-1", "INV-10", InvoiceStatus::Sent).await;

    let error = admin::show_invoice(&seed.engine, "acme", "INV-1", None)
        .await
        .unwrap_err()
        .to_string();

    assert_eq!(
        error,
        "invoice \"INV-1\" not found in account \"acme\"; list the invoices with `pobridge invoices acme`"
    );
}

#[tokio::test]
async fn shared_invoice_number_needs_buyer() {
    let seed = seed().await;
    seed.add_buyer("buyer-2", "BUYER-2").await;
    invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Sent).await;
    let status = InvoiceStatus::Failed;
    buyer_invoice(
        &seed,
        ("buyer-2", "BUYER-2"),
        "PO-9",
        "INV-1",
        status,
        |_| {},
    )
    .await;

    let ambiguous = admin::show_invoice(&seed.engine, "acme", "INV-1", None)
        .await
        .unwrap_err()
        .to_string();
    let chosen = admin::show_invoice(&seed.engine, "acme", "INV-1", Some("buyer-2"))
        .await
        .unwrap();

    assert!(
        ambiguous.contains("several buyers (buyer-1, buyer-2)"),
        "{ambiguous}"
    );
    assert!(ambiguous.contains("--buyer"), "{ambiguous}");
    assert_eq!(chosen.summary.buyer, "buyer-2");
    assert_eq!(chosen.summary.po_number, "PO-9");
}

#[tokio::test]
async fn retry_holds_invoice_and_queues_send() {
    let seed = seed().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    let unknown = InvoiceUpdate {
        status: InvoiceStatus::Failed,
        reason: Some("Coupa rejected it".to_owned()),
        coupa_status: Some(417),
        coupa_text: Some("Invalid attributes in document.".to_owned()),
        counts_attempt: true,
        outcome_unknown: Some(true),
        document: None,
        sent_at: None,
    };
    let now = seed.engine.clock.now();
    let store = &seed.engine.store;
    store
        .update_invoice(seed.account.id, record.id, &unknown, now)
        .await
        .unwrap();

    let rows = admin::retry_invoices(&seed.engine, "acme", &numbers(&["INV-1"]), None)
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, RetryOutcome::Queued);
    assert_eq!(rows[0].status, Some(InvoiceStatus::Failed));
    assert_eq!(rows[0].buyer, "buyer-1");
    let stored = reload(&seed, &record).await;
    assert_eq!(stored.status, InvoiceStatus::Held);
    assert_eq!(stored.reason.as_deref(), Some(RETRY_REASON));
    assert_eq!(stored.coupa_status, Some(417));
    assert_eq!(
        stored.coupa_text.as_deref(),
        Some("Invalid attributes in document.")
    );
    assert!(stored.outcome_unknown);
    assert_eq!(stored.attempts, 1);
    let sends: Vec<_> = jobs(&seed)
        .await
        .into_iter()
        .filter(|job| job.kind == SEND_INVOICE)
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].key, format!("{SEND_INVOICE}:{}", record.id));
    assert_eq!(sends[0].status, JobStatus::Queued);
    assert_eq!(sends[0].payload["invoice_id"], record.id.0);
}

#[tokio::test]
async fn retry_of_held_invoice_wakes_its_parked_job() {
    let seed = seed().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Held).await;
    let parked = park_send_job(&seed, &record).await;

    let rows = admin::retry_invoices(&seed.engine, "acme", &numbers(&["INV-1"]), None)
        .await
        .unwrap();

    assert_eq!(rows[0].outcome, RetryOutcome::Queued);
    let all = jobs(&seed).await;
    let sends: Vec<_> = all.iter().filter(|job| job.kind == SEND_INVOICE).collect();
    assert_eq!(sends.len(), 1, "{all:?}");
    assert_eq!(sends[0].id, parked);
    assert_eq!(sends[0].status, JobStatus::Queued);
}

#[tokio::test]
async fn retry_rejects_sent_and_confirmable() {
    let seed = seed().await;
    let cases = [
        ("INV-1", InvoiceStatus::Sent, "never sent again"),
        (
            "INV-2",
            InvoiceStatus::ProbablyDelivered,
            "pobridge invoices acme confirm INV-2",
        ),
        (
            "INV-3",
            InvoiceStatus::ChangedAfterSending,
            "pobridge invoices acme confirm INV-3",
        ),
        (
            "INV-4",
            InvoiceStatus::Pending,
            "already waiting to be sent",
        ),
        ("INV-5", InvoiceStatus::Sending, "being sent now"),
    ];
    for (number, status, _) in cases {
        invoice(&seed, "PO-1", number, status).await;
    }
    let target = numbers(&cases.map(|(number, _, _)| number));

    let rows = admin::retry_invoices(&seed.engine, "acme", &target, None)
        .await
        .unwrap();

    for ((number, status, expected), row) in cases.iter().zip(&rows) {
        assert_eq!(row.invoice_number, *number);
        let RetryOutcome::Rejected { reason } = &row.outcome else {
            panic!("{number} was queued");
        };
        assert!(reason.contains(expected), "{number}: {reason}");
        let rows = admin::list_invoices(&seed.engine, "acme", &query(None, Some(number)))
            .await
            .unwrap();
        assert_eq!(rows[0].status, *status, "{number}");
    }
    assert!(jobs(&seed).await.iter().all(|job| job.kind != SEND_INVOICE));
}

#[tokio::test]
async fn retry_all_failed_queues_only_failed() {
    let seed = seed().await;
    let first = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;
    let second = invoice(&seed, "PO-2", "INV-2", InvoiceStatus::Failed).await;
    let attention = invoice(&seed, "PO-2", "INV-3", InvoiceStatus::NeedsAttention).await;

    let rows = admin::retry_invoices(&seed.engine, "acme", &RetryTarget::AllFailed, None)
        .await
        .unwrap();

    let mut queued: Vec<_> = rows
        .iter()
        .filter(|row| row.outcome == RetryOutcome::Queued)
        .map(|row| row.invoice_number.as_str())
        .collect();
    queued.sort();
    assert_eq!(queued, ["INV-1", "INV-2"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(reload(&seed, &first).await.status, InvoiceStatus::Held);
    assert_eq!(reload(&seed, &second).await.status, InvoiceStatus::Held);
    let untouched = reload(&seed, &attention).await;
    assert_eq!(untouched.status, InvoiceStatus::NeedsAttention);
}

#[tokio::test]
async fn retry_unknown_number_is_rejected_row() {
    let seed = seed().await;

    let rows = admin::retry_invoices(&seed.engine, "acme", &numbers(&["INV-404"]), None)
        .await
        .unwrap();

    assert_eq!(rows[0].status, None);
    let RetryOutcome::Rejected { reason } = &rows[0].outcome else {
        panic!("queued an unknown invoice");
    };
    assert!(reason.contains("not found"), "{reason}");
}

#[tokio::test]
async fn confirm_probably_delivered_becomes_sent() {
    let seed = seed().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::ProbablyDelivered).await;
    record_response(
        &seed,
        &record,
        417,
        "Invalid attributes in document.",
        "response lost",
    )
    .await;

    let confirmed = admin::confirm_invoice(&seed.engine, "acme", "INV-1", None)
        .await
        .unwrap();

    assert_eq!(confirmed.previous_status, InvoiceStatus::ProbablyDelivered);
    assert_eq!(confirmed.status, InvoiceStatus::Sent);
    let stored = reload(&seed, &record).await;
    assert_eq!(stored.status, InvoiceStatus::Sent);
    assert_eq!(stored.reason.as_deref(), Some("a person found it in Coupa"));
    assert_eq!(stored.coupa_status, Some(417));
    assert!(stored.sent_at.is_some());
}

#[tokio::test]
async fn confirm_changed_keeps_earlier_reason() {
    let seed = seed().await;
    let status = InvoiceStatus::ChangedAfterSending;
    let record = invoice_with(&seed, "PO-1", "INV-1", status, |new| {
        new.reason = Some("total 50.00 became 55.00".to_owned());
    })
    .await;

    admin::confirm_invoice(&seed.engine, "acme", "INV-1", None)
        .await
        .unwrap();

    let stored = reload(&seed, &record).await;
    assert_eq!(stored.status, InvoiceStatus::Sent);
    assert_eq!(
        stored.reason.as_deref(),
        Some(
            "changed in Brightpearl after sending; a person made the change in Coupa \
             (the change: total 50.00 became 55.00)"
        )
    );
}

#[tokio::test]
async fn confirm_rejects_other_statuses() {
    let seed = seed().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Failed).await;

    let error = admin::confirm_invoice(&seed.engine, "acme", "INV-1", None)
        .await
        .unwrap_err()
        .to_string();

    assert_eq!(
        error,
        "invoice \"INV-1\" is failed; only a held, needs_attention, probably_delivered or changed_after_sending invoice can be confirmed"
    );
    assert_eq!(reload(&seed, &record).await.status, InvoiceStatus::Failed);
}

#[tokio::test]
async fn poll_queues_one_poll_job() {
    let seed = seed().await;

    let first = admin::queue_invoice_poll(&seed.engine, "acme")
        .await
        .unwrap();
    let second = admin::queue_invoice_poll(&seed.engine, "acme")
        .await
        .unwrap();

    assert_eq!(first, second);
    let polls: Vec<_> = jobs(&seed)
        .await
        .into_iter()
        .filter(|job| job.kind == POLL_INVOICES)
        .collect();
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0].status, JobStatus::Queued);
}

#[tokio::test]
async fn buyer_invoicing_keys_are_stored() {
    let seed = seed().await;
    tax_codes(&seed).await;
    let changes = [
        ("invoice-url", "https://buyer.coupahost.com/cxml/invoices"),
        ("invoice-from", "DUNS:987654321"),
        ("invoice-secret", "inv-s3cret"),
        ("remit-to", "RT-1001"),
        ("remit-to-name", "Acme Widgets Ltd"),
        ("tax-prefix", "de"),
        ("tax-number", "123456789"),
        ("tax-map", "T20=VAT:20"),
        ("tax-level", "line"),
        ("header-charges", "yes"),
        ("credit-form", "credit-memo"),
        ("dtd-version", "1.2.069"),
        ("payment-days", "30"),
    ];

    for (key, value) in changes {
        set(&seed, key, value).await.unwrap();
    }

    let stored = stored_invoicing(&seed).await;
    let buyer = seed.buyer("buyer-1").await;
    let url = "https://buyer.coupahost.com/cxml/invoices";
    assert_eq!(stored.invoice_url.as_deref(), Some(url));
    assert_eq!(buyer.invoice_url.as_deref(), Some(url));
    assert_eq!(stored.from.unwrap().identity, "987654321");
    assert_eq!(stored.to, None);
    assert_eq!(stored.shared_secret.as_deref(), Some("inv-s3cret"));
    assert_eq!(stored.remit_to_address_id.as_deref(), Some("RT-1001"));
    assert_eq!(stored.remit_to_name.as_deref(), Some("Acme Widgets Ltd"));
    assert_eq!(stored.supplier_tax_prefix.as_deref(), Some("DE"));
    assert_eq!(stored.supplier_tax_number.as_deref(), Some("123456789"));
    assert_eq!(stored.tax_map["T20"].category, "VAT");
    assert_eq!(stored.tax_map["T20"].rate, Decimal::from(20));
    assert_eq!(stored.tax_level, TaxLevel::Line);
    assert!(stored.header_charges_allowed);
    assert_eq!(stored.credit_form, CreditForm::CreditMemo);
    assert_eq!(stored.dtd_version, "1.2.069");
    assert_eq!(stored.payment_term_days, Some(30));
    let view = admin::show_buyer(&seed.engine, "acme", "buyer-1")
        .await
        .unwrap();
    assert_eq!(view.invoicing.missing_for_coupa, Vec::<String>::new());
    assert_eq!(view.invoicing.shared_secret.as_deref(), Some("********"));
}

#[tokio::test]
async fn tax_map_code_must_be_in_brightpearl() {
    let seed = seed().await;

    let not_loaded = set(&seed, "tax-map", "T20=VAT:20").await.unwrap_err();
    tax_codes(&seed).await;
    let unknown = set(&seed, "tax-map", "T9=VAT:9").await.unwrap_err();

    assert!(not_loaded.contains("pobridge refresh acme"), "{not_loaded}");
    assert!(unknown.starts_with("tax-map: \"T9\""), "{unknown}");
    assert!(unknown.contains("known: T20, T0"), "{unknown}");
    assert!(stored_invoicing(&seed).await.tax_map.is_empty());
}

#[tokio::test]
async fn buyer_change_releases_waiting_jobs() {
    let seed = seed().await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Held).await;
    let parked = park_send_job(&seed, &record).await;
    let waiting = jobs(&seed).await;
    let job = waiting.iter().find(|job| job.id == parked).unwrap();
    assert_eq!(job.status, JobStatus::Waiting);

    let changed = set(&seed, "remit-to", "RT-1001").await.unwrap();

    assert_eq!(changed.released_jobs, 1);
    let after = jobs(&seed).await;
    let job = after.iter().find(|job| job.id == parked).unwrap();
    assert_eq!(job.status, JobStatus::Queued);
}

#[tokio::test]
async fn buyer_added_with_invoice_url_invoices_there() {
    let seed = seed().await;
    let request = admin::AddBuyer {
        from: "NetworkID:BUYER-3".to_owned(),
        to: "DUNS:123456789".to_owned(),
        sender: "NetworkID:BUYER-3".to_owned(),
        auth: admin::BuyerAuth::SharedSecret("s3cret".to_owned()),
        mode: "production".to_owned(),
        invoice_url: Some("https://buyer.coupahost.com/cxml/invoices".to_owned()),
        name: Some("buyer-3".to_owned()),
    };

    let view = admin::add_buyer(&seed.engine, "acme", &request)
        .await
        .unwrap();

    let url = "https://buyer.coupahost.com/cxml/invoices";
    assert_eq!(view.invoicing.invoice_url.as_deref(), Some(url));
    let stored = BuyerInvoicing::from_json(&seed.buyer("buyer-3").await.invoicing).unwrap();
    assert_eq!(stored.invoice_url.as_deref(), Some(url));
}

fn rule(matcher: &str, value: &str, class: &str, position: Option<usize>) -> AddRowRule {
    AddRowRule {
        matcher: matcher.to_owned(),
        value: value.to_owned(),
        class: class.to_owned(),
        position,
    }
}

async fn rule_texts(seed: &Seed) -> Vec<String> {
    admin::list_row_rules(&seed.engine, "acme")
        .await
        .unwrap()
        .into_iter()
        .map(|view| view.text)
        .collect()
}

#[tokio::test]
async fn row_rules_are_added_in_order_and_removed() {
    let seed = seed().await;
    invoice_seed::product(&seed, 901, "SHIP-GROUND").await;
    let nominal = json!([{ "id": 1, "code": "4050" }]);
    invoice_seed::reference(&seed, ReferenceKind::NominalCodes, nominal).await;
    let engine = &seed.engine;

    admin::add_row_rule(
        engine,
        "acme",
        &rule("sku", "SHIP-GROUND", "shipping", None),
    )
    .await
    .unwrap();
    admin::add_row_rule(
        engine,
        "acme",
        &rule("nominal", "4050", "special-handling", None),
    )
    .await
    .unwrap();
    let changed = admin::add_row_rule(engine, "acme", &rule("product", "901", "skip", Some(1)))
        .await
        .unwrap();

    let texts: Vec<_> = changed
        .rules
        .iter()
        .map(|view| view.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "product 901 -> skip",
            "sku SHIP-GROUND -> shipping",
            "nominal 4050 -> special-handling"
        ]
    );
    let positions: Vec<_> = changed.rules.iter().map(|view| view.position).collect();
    assert_eq!(positions, [1, 2, 3]);

    admin::remove_row_rule(engine, "acme", 2).await.unwrap();

    assert_eq!(
        rule_texts(&seed).await,
        ["product 901 -> skip", "nominal 4050 -> special-handling"]
    );
    let account = seed.engine.store.account(seed.account.id).await.unwrap();
    assert_eq!(account.settings.invoice_rows.len(), 2);
}

#[tokio::test]
async fn row_rule_values_must_exist() {
    let seed = seed().await;
    invoice_seed::product(&seed, 901, "SHIP-GROUND").await;
    let engine = &seed.engine;

    let sku = admin::add_row_rule(engine, "acme", &rule("sku", "SHIP-AIR", "shipping", None))
        .await
        .unwrap_err()
        .to_string();
    let product = admin::add_row_rule(engine, "acme", &rule("product", "902", "skip", None))
        .await
        .unwrap_err()
        .to_string();
    let nominal = admin::add_row_rule(engine, "acme", &rule("nominal", "4050", "skip", None))
        .await
        .unwrap_err()
        .to_string();

    assert!(sku.starts_with("sku: \"SHIP-AIR\""), "{sku}");
    assert!(sku.contains("pobridge refresh acme"), "{sku}");
    assert!(product.starts_with("product: \"902\""), "{product}");
    assert!(nominal.contains("nominal codes"), "{nominal}");
    assert!(nominal.contains("pobridge refresh acme"), "{nominal}");
    assert!(rule_texts(&seed).await.is_empty());
}

#[tokio::test]
async fn second_rule_for_same_rows_is_rejected() {
    let seed = seed().await;
    invoice_seed::product(&seed, 901, "SHIP-GROUND").await;
    let engine = &seed.engine;
    let first = rule("sku", "SHIP-GROUND", "shipping", None);
    admin::add_row_rule(engine, "acme", &first).await.unwrap();

    let error = admin::add_row_rule(engine, "acme", &rule("sku", "SHIP-GROUND", "skip", None))
        .await
        .unwrap_err()
        .to_string();

    assert!(error.contains("rule 1 already matches them"), "{error}");
    assert!(error.contains("pobridge rows acme remove 1"), "{error}");
    assert_eq!(rule_texts(&seed).await, ["sku SHIP-GROUND -> shipping"]);
}

#[tokio::test]
async fn removing_missing_rule_says_range() {
    let seed = seed().await;

    let error = admin::remove_row_rule(&seed.engine, "acme", 1)
        .await
        .unwrap_err()
        .to_string();

    assert!(
        error.contains("account acme has no invoice row rules"),
        "{error}"
    );
}

#[tokio::test]
async fn row_rule_change_releases_waiting_jobs() {
    let seed = seed().await;
    invoice_seed::product(&seed, 901, "SHIP-GROUND").await;
    let record = invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Held).await;
    park_send_job(&seed, &record).await;

    let changed = admin::add_row_rule(
        &seed.engine,
        "acme",
        &rule("product", "901", "shipping", None),
    )
    .await
    .unwrap();

    assert_eq!(changed.released_jobs, 1);
    let all = jobs(&seed).await;
    assert!(
        all.iter().all(|job| job.status != JobStatus::Waiting),
        "{all:?}"
    );
}

#[tokio::test]
async fn invoicing_settings_are_checked() {
    let seed = seed().await;
    let engine = &seed.engine;

    let zone = admin::set_setting(engine, "acme", "time_zone", "america/chicago")
        .await
        .unwrap();
    let minutes = admin::set_setting(engine, "acme", "invoice_poll_minutes", "5")
        .await
        .unwrap();
    admin::set_setting(engine, "acme", "invoice_sweep_hours", "12")
        .await
        .unwrap();
    let retry = admin::set_setting(engine, "acme", "invoice_retry_hours", "48")
        .await
        .unwrap();

    assert_eq!(zone.time_zone, "America/Chicago");
    assert_eq!(minutes.invoice_poll_minutes, 5);
    assert_eq!(retry.invoice_sweep_hours, 12);
    assert_eq!(retry.invoice_retry_hours, 48);
    let rejected = [
        ("time_zone", "Mars/Olympus", "IANA time zone"),
        ("invoice_poll_minutes", "0", "from 1 to 1440"),
        ("invoice_sweep_hours", "721", "from 1 to 720"),
        ("invoice_retry_hours", "1.5", "from 1 to 720"),
        ("invoice_rows", "sku", "pobridge rows acme add"),
    ];
    for (key, value, expected) in rejected {
        let error = admin::set_setting(engine, "acme", key, value)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(&format!("{key}: ")), "{error}");
        assert!(error.contains(expected), "{error}");
    }
    let stored = seed.engine.store.account(seed.account.id).await.unwrap();
    assert_eq!(stored.settings.time_zone, "America/Chicago");
    assert_eq!(stored.settings.invoice_poll_minutes, 5);
}
