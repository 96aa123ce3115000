//! From an invoiced Brightpearl order to one invoice accepted by the
//! buyer's Coupa: the worker polls, stores the invoice and sends it, with
//! the clock moved by hand and the Coupa simulator on loopback. Coupa
//! failures, a lost response, a held invoice and an invoice taken back after
//! sending each end with at most one accepted invoice. The tests of
//! delivery at most once also run on PostgreSQL.

use chrono::{Duration, TimeZone, Utc};
use pobridge_core::{Clock, ManualClock};
use pobridge_cxml::{read_envelope, Body, Limits, OrderRequest};
use pobridge_e2e::{
    add_corpus_buyers, configure_defaults, loopback_engine_config, map_corpus_parts,
    on_each_backend, Backend, Options, TestApp,
};
use pobridge_engine::admin::{confirm_invoice, retry_invoices, RetryOutcome, RetryTarget};
use pobridge_engine::{EngineConfig, PrivateAddresses};
use pobridge_sandbox::{CoupaBuyerConfig, CoupaSandbox, Faults, IssuedLine, IssuedPo};
use pobridge_store::{
    InvoiceKind, InvoiceRecord, InvoiceStatus, Job, JobStatus, NewInvoice, PurchaseOrder, RowLink,
};
use rust_decimal::Decimal;
use serde_json::json;

/// Coupa's staging PO 3309: 1 × 8.10 and 9 × 9.29, 91.71 before tax. Its
/// parts are mapped to a sandbox product taxed at 20 % (code `T20`), so the
/// invoice adds 1.62 + 16.72 of tax.
const PO_FILE: &str = "coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml";
const PO_NUMBER: &str = "3309";
const INVOICE_SECRET: &str = "invoicing-s3cret";
/// The invoice total with tax.
const TOTAL_CENTS: i64 = 11005;

/// One synced PO, its Brightpearl order and the buyer's Coupa.
struct Flow {
    app: TestApp,
    clock: ManualClock,
    coupa: CoupaSandbox,
    coupa_url: String,
    po: PurchaseOrder,
    order_id: u64,
}

/// How the test sets the buyer up in its Coupa.
struct Setup {
    /// The invoicing shared secret given to pobridge, if any.
    secret: Option<&'static str>,
    /// Whether the PO is issued in Coupa.
    issue_po: bool,
    /// Whether invoices may go to the simulator on loopback.
    private_addresses: PrivateAddresses,
}

const READY: Setup = Setup {
    secret: Some(INVOICE_SECRET),
    issue_po: true,
    private_addresses: PrivateAddresses::Allow,
};

/// [`READY`] with the PO unknown to Coupa, so Coupa rejects its invoices.
const PO_NOT_ISSUED: Setup = Setup {
    issue_po: false,
    ..READY
};

/// [`READY`] without the invoicing secret, so every invoice is held.
const NO_SECRET: Setup = Setup {
    secret: None,
    ..READY
};

/// Syncs PO 3309, starts the buyer's Coupa with the PO issued there,
/// points the buyer's invoicing settings at it and runs the first poll,
/// which links the order's rows.
async fn synced(setup: Setup, backend: Backend) -> Flow {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let engine = EngineConfig {
        coupa_private_addresses: setup.private_addresses,
        ..loopback_engine_config()
    };
    let options = Options {
        clock: Some(clock.clone()),
        backend,
        engine: Some(engine),
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    map_corpus_parts(&app).await.unwrap();
    let documents = add_corpus_buyers(&app, true).await.unwrap();
    let (_, body) = documents
        .into_iter()
        .find(|(name, _)| name == PO_FILE)
        .expect("the corpus has the staging PO");
    let (status, answer) = app.post_cxml(body).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    app.drain(20).await;

    let po = app
        .store()
        .list_purchase_orders(app.account.id, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|po| po.number.as_str() == PO_NUMBER)
        .expect("PO 3309 is stored");
    let order_id = po.brightpearl_order_id.expect("PO 3309 synced") as u64;

    let coupa = CoupaSandbox::new(app.engine.clock.clone());
    let (coupa_url, _server) = coupa.spawn_local().await;
    let buyer = app
        .store()
        .buyer(app.account.id, po.buyer_id)
        .await
        .unwrap();
    coupa.add_buyer(CoupaBuyerConfig {
        invoice_from: (buyer.to.domain.clone(), buyer.to.identity.clone()),
        invoice_to: (buyer.from.domain.clone(), buyer.from.identity.clone()),
        sender: (buyer.to.domain.clone(), buyer.to.identity.clone()),
        shared_secret: INVOICE_SECRET.to_owned(),
        allow_header_charges: false,
        supplier_name: "Acme Supplies".to_owned(),
    });
    if setup.issue_po {
        coupa.issue_po(issued(&corpus_po()));
    }
    let flow = Flow {
        app,
        clock,
        coupa,
        coupa_url,
        po,
        order_id,
    };
    set_invoicing(&flow, setup.secret).await;

    flow.app
        .engine
        .schedule_invoicing(flow.app.account.id)
        .await
        .unwrap();
    flow.app.drain(20).await;
    flow
}

fn corpus_po() -> OrderRequest {
    let path = pobridge_e2e::corpus::corpus_dir()
        .join("cxml/order")
        .join(PO_FILE);
    let bytes = std::fs::read(path).unwrap();
    match read_envelope(&bytes, &Limits::default()).unwrap().body {
        Body::OrderRequest { order, .. } => order,
        other => panic!("not an OrderRequest: {other:?}"),
    }
}

/// Returns the PO as Coupa issued it, line for line.
fn issued(po: &OrderRequest) -> IssuedPo {
    let lines = po
        .items
        .iter()
        .map(|item| {
            let detail = item.detail.as_ref().expect("PO lines have details");
            IssuedLine {
                line_number: item.line_label(),
                supplier_part_id: item.item_id.supplier_part_id.clone(),
                unit_of_measure: detail.unit_of_measure.clone(),
                quantity: item.quantity,
                unit_price: detail.unit_price.amount,
                service: false,
            }
        })
        .collect();
    IssuedPo {
        po_number: po.header.order_id.clone(),
        lines,
        currency: "USD".to_owned(),
    }
}

/// Stores the buyer's invoicing settings: the simulator's invoice URL, the
/// sandbox's tax codes and, when given, the shared secret.
async fn set_invoicing(flow: &Flow, secret: Option<&str>) {
    let store = flow.app.store();
    let mut buyer = store
        .buyer(flow.app.account.id, flow.po.buyer_id)
        .await
        .unwrap();
    let mut settings = json!({
        "invoice_url": format!("{}/cxml/invoices", flow.coupa_url),
        "tax_map": {
            "T20": { "category": "VAT", "rate": "20" },
            "Z": { "category": "VAT", "rate": "0" },
        },
    });
    if let Some(secret) = secret {
        settings["shared_secret"] = json!(secret);
    }
    buyer.invoicing = settings;
    store
        .update_buyer(flow.app.account.id, &buyer)
        .await
        .unwrap();
}

/// Invoices the order in Brightpearl and lets the next poll find it and
/// the worker send it. Returns Brightpearl's invoice number.
async fn invoice_in_brightpearl(flow: &Flow) -> String {
    let number = flow
        .app
        .sandbox
        .invoice_order(&flow.app.brightpearl_code, flow.order_id)
        .unwrap();
    next_poll(flow).await;
    number
}

/// Moves the clock past the next poll and runs the worker until idle.
async fn next_poll(flow: &Flow) {
    flow.clock.advance(Duration::minutes(11));
    flow.app.drain(20).await;
}

async fn invoices(flow: &Flow) -> Vec<InvoiceRecord> {
    flow.app
        .store()
        .invoices_for_po(flow.app.account.id, flow.po.id)
        .await
        .unwrap()
}

async fn row_links(flow: &Flow) -> Vec<RowLink> {
    flow.app
        .store()
        .row_links(flow.app.account.id, flow.po.id)
        .await
        .unwrap()
}

async fn only_invoice(flow: &Flow) -> InvoiceRecord {
    let mut all = invoices(flow).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

/// Releases the one waiting send job and runs the worker until idle.
async fn release_waiting_jobs(flow: &Flow) {
    let now = flow.app.engine.clock.now();
    let released = flow
        .app
        .store()
        .release_waiting_jobs(flow.app.account.id, now)
        .await
        .unwrap();
    assert_eq!(released, 1);
    flow.app.drain(20).await;
}

/// Returns the messages of the PO's timeline, oldest first.
async fn timeline(flow: &Flow) -> Vec<String> {
    let events = flow
        .app
        .store()
        .events(flow.app.account.id, flow.po.id)
        .await
        .unwrap();
    events.into_iter().map(|event| event.message).collect()
}

/// Finds the send job of `invoice`.
async fn send_job(flow: &Flow, invoice: &InvoiceRecord) -> Job {
    let jobs = flow
        .app
        .store()
        .list_jobs(flow.app.account.id)
        .await
        .unwrap();
    jobs.into_iter()
        .find(|job| job.key == format!("send_invoice:{}", invoice.id))
        .expect("the invoice has a send job")
}

/// Asserts that one timeline message contains every part.
fn assert_event(timeline: &[String], parts: &[&str]) {
    assert!(
        timeline
            .iter()
            .any(|message| parts.iter().all(|part| message.contains(part))),
        "no event contains {parts:?}: {timeline:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_coupa_fails_when_private_rejected() {
    let flow = synced(
        Setup {
            private_addresses: PrivateAddresses::Reject,
            ..READY
        },
        Backend::Sqlite,
    )
    .await;
    let number = invoice_in_brightpearl(&flow).await;

    let failed = only_invoice(&flow).await;
    assert_eq!(failed.status, InvoiceStatus::Failed);
    assert_eq!(failed.coupa_status, None, "nothing reached Coupa");
    let reason = failed.reason.clone().unwrap_or_default();
    assert!(reason.contains("the invoice was not sent"), "{reason}");
    assert!(
        reason.contains("127.0.0.1 is a loopback address"),
        "{reason}"
    );
    assert!(reason.contains("coupa.allow_private_addresses"), "{reason}");
    assert!(flow.coupa.received().is_empty());
    let send = send_job(&flow, &failed).await;
    assert_eq!(send.status, JobStatus::Failed, "not retried");
    let event = format!("invoice {number} failed: the invoice was not sent");
    assert_event(&timeline(&flow).await, &[&event]);

    next_poll(&flow).await;
    assert!(flow.coupa.received().is_empty(), "nothing sent later");
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Failed);
}

fn attribute<'a>(document: &'a str, name: &str) -> Option<&'a str> {
    let start = document.find(&format!("{name}=\""))? + name.len() + 2;
    let length = document[start..].find('"')?;
    Some(&document[start..start + length])
}

on_each_backend!(
    invoiced_order_reaches_coupa_once,
    lost_response_never_delivers_twice,
    uninvoiced_after_sending_is_flagged_not_resent,
    reused_number_is_recorded_not_sent,
);

async fn invoiced_order_reaches_coupa_once(backend: Backend) {
    let flow = synced(READY, backend).await;
    let links = row_links(&flow).await;
    let lines: Vec<u32> = links.iter().map(|link| link.line_number).collect();
    assert_eq!(lines, [1, 2], "the first poll links both rows");

    let number = invoice_in_brightpearl(&flow).await;

    let accepted = flow.coupa.accepted_invoices();
    assert_eq!(accepted.len(), 1, "{:#?}", flow.coupa.received());
    assert_eq!(accepted[0].invoice_id, number);
    assert_eq!(accepted[0].po_number, PO_NUMBER);
    assert_eq!(accepted[0].total, Decimal::new(TOTAL_CENTS, 2));
    let parts: Vec<Option<&str>> = accepted[0]
        .lines
        .iter()
        .map(|line| line.supplier_part_id.as_deref())
        .collect();
    assert_eq!(parts, [Some("product:1861"), Some("product:4884")]);
    assert!(
        accepted[0].raw.contains(INVOICE_SECRET),
        "the secret is put in"
    );

    let invoice = only_invoice(&flow).await;
    assert_eq!(invoice.invoice_number, number);
    assert_eq!(invoice.status, InvoiceStatus::Sent);
    assert_eq!(invoice.sent_at, Some(flow.app.engine.clock.now()));
    assert_eq!(invoice.coupa_status, Some(200));
    assert!(!invoice.document.contains(INVOICE_SECRET), "stored masked");
    let accepted_event = format!("Coupa accepted invoice {number} (200");
    assert_event(&timeline(&flow).await, &[&accepted_event]);
    let tracked = flow
        .app
        .store()
        .tracked_order(flow.app.account.id, flow.order_id as i64)
        .await
        .unwrap()
        .unwrap();
    assert!(!tracked.open, "an accepted invoice closes its order");

    next_poll(&flow).await;
    let sweep_due = flow.clock.now() + Duration::hours(24);
    flow.clock.advance(sweep_due - flow.clock.now());
    flow.app.drain(20).await;
    assert_eq!(flow.coupa.received().len(), 1, "nothing is sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_invoice_sent_after_setting_set() {
    let flow = synced(NO_SECRET, Backend::Sqlite).await;
    let number = invoice_in_brightpearl(&flow).await;

    let held = only_invoice(&flow).await;
    assert_eq!(held.status, InvoiceStatus::Held);
    let reason = held.reason.clone().unwrap_or_default();
    assert!(reason.contains("invoice-secret is missing"), "{reason}");
    assert!(flow.coupa.received().is_empty());
    let send = send_job(&flow, &held).await;
    assert_eq!(send.status, JobStatus::Waiting);

    let mentions_hold = |timeline: Vec<String>| {
        let hold = "invoice-secret is missing";
        timeline.iter().filter(|event| event.contains(hold)).count()
    };
    assert_eq!(mentions_hold(timeline(&flow).await), 1);
    // A change to the row rules releases the job. This rule matches no row
    // of the order, so the rebuilt invoice is held for the same reason,
    // which the timeline does not repeat. Stored directly, since this flow
    // has no product index to check the product against.
    let store = flow.app.store();
    let mut settings = store.account(flow.app.account.id).await.unwrap().settings;
    settings.invoice_rows.push(pobridge_core::RowRule {
        matcher: pobridge_core::RowMatcher::ProductId(999_999),
        class: pobridge_core::RowClass::Skip,
    });
    store
        .save_settings(flow.app.account.id, &settings)
        .await
        .unwrap();
    release_waiting_jobs(&flow).await;
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Held);
    assert_eq!(send_job(&flow, &held).await.status, JobStatus::Waiting);
    assert_eq!(mentions_hold(timeline(&flow).await), 1);

    // The secret releases the hold. The tax map's rate for T20 now differs
    // from Brightpearl's 20 %, so the rebuilt invoice goes out with a
    // warning, which the timeline keeps as it would for a direct send.
    set_invoicing(&flow, Some(INVOICE_SECRET)).await;
    let mut buyer = store
        .buyer(flow.app.account.id, flow.po.buyer_id)
        .await
        .unwrap();
    buyer.invoicing["tax_map"]["T20"]["rate"] = json!("19");
    store
        .update_buyer(flow.app.account.id, &buyer)
        .await
        .unwrap();
    release_waiting_jobs(&flow).await;

    let sent = only_invoice(&flow).await;
    assert_eq!(sent.id, held.id);
    assert_eq!(sent.invoice_number, number);
    assert_eq!(sent.status, InvoiceStatus::Sent);
    assert_event(
        &timeline(&flow).await,
        &[
            &format!("invoice {number}: warning:"),
            "is taxed at 20 % in Brightpearl, but tax-map gives 19 %",
        ],
    );
    let accepted = flow.coupa.accepted_invoices();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].invoice_id, number);
}

/// A buyer with no invoicing settings at all: the build stops on the tax
/// code, and the hold still names every setting Coupa needs, so one round
/// of changes releases it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_invoice_names_every_missing_setting() {
    let flow = synced(NO_SECRET, Backend::Sqlite).await;
    let store = flow.app.store();
    let mut buyer = store
        .buyer(flow.app.account.id, flow.po.buyer_id)
        .await
        .unwrap();
    buyer.invoicing = json!({});
    buyer.invoice_url = None;
    store
        .update_buyer(flow.app.account.id, &buyer)
        .await
        .unwrap();
    invoice_in_brightpearl(&flow).await;

    let held = only_invoice(&flow).await;
    assert_eq!(held.status, InvoiceStatus::Held);
    let reason = held.reason.clone().unwrap_or_default();
    assert!(reason.contains("invoice-url is missing"), "{reason}");
    assert!(reason.contains("invoice-secret is missing"), "{reason}");
    assert!(reason.contains("tax-map is empty"), "{reason}");
    assert!(flow.coupa.received().is_empty());
    // Dated as a built invoice is: the start of the tax date's day.
    assert_eq!(
        held.invoice_date.time(),
        chrono::NaiveTime::MIN,
        "{}",
        held.invoice_date
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupa_outage_is_retried_with_same_document() {
    let flow = synced(READY, Backend::Sqlite).await;
    flow.coupa.fail_next_n_with(503, 1);
    let number = invoice_in_brightpearl(&flow).await;

    let waiting = only_invoice(&flow).await;
    assert_eq!(waiting.status, InvoiceStatus::Pending);
    assert_eq!(waiting.attempts, 1);
    assert_eq!(waiting.coupa_status, Some(503));
    let reason = waiting.reason.clone().unwrap_or_default();
    assert!(reason.contains("same number"), "{reason}");
    assert!(flow.coupa.accepted_invoices().is_empty());
    let retry_event = format!("invoice {number} was not delivered and is sent again at");
    assert_event(&timeline(&flow).await, &[&retry_event, "503"]);

    flow.clock.advance(Duration::minutes(2));
    flow.app.drain(20).await;

    let sent = only_invoice(&flow).await;
    assert_eq!(sent.status, InvoiceStatus::Sent);
    assert_eq!(sent.document, waiting.document);
    let received = flow.coupa.received();
    assert_eq!(received.len(), 2);
    for document in &received {
        assert_eq!(attribute(&document.raw, "invoiceID"), Some(number.as_str()));
    }
    assert_eq!(
        attribute(&received[0].raw, "payloadID"),
        attribute(&received[1].raw, "payloadID")
    );
    assert_eq!(flow.coupa.accepted_invoices().len(), 1);
}

async fn lost_response_never_delivers_twice(backend: Backend) {
    let flow = synced(READY, backend).await;
    flow.coupa.drop_connection_after_accept_next_n(1);
    invoice_in_brightpearl(&flow).await;

    let unknown = only_invoice(&flow).await;
    assert_eq!(unknown.status, InvoiceStatus::Pending);
    assert!(unknown.outcome_unknown);
    assert_eq!(flow.coupa.accepted_invoices().len(), 1);
    assert_event(
        &timeline(&flow).await,
        &["was not delivered and is sent again at"],
    );

    for _ in 0..3 {
        flow.clock.advance(Duration::minutes(5));
        flow.app.drain(20).await;
    }

    let settled = only_invoice(&flow).await;
    assert!(
        matches!(
            settled.status,
            InvoiceStatus::Sent | InvoiceStatus::ProbablyDelivered
        ),
        "{settled:#?}"
    );
    if settled.status == InvoiceStatus::ProbablyDelivered {
        assert_eq!(
            settled.reason.as_deref(),
            Some("probably delivered: confirm in Coupa")
        );
        assert_event(&timeline(&flow).await, &["was probably delivered"]);
    } else {
        assert_event(&timeline(&flow).await, &["Coupa accepted invoice"]);
    }
    assert_eq!(flow.coupa.accepted_invoices().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_invoice_fails_with_advice() {
    let flow = synced(PO_NOT_ISSUED, Backend::Sqlite).await;
    invoice_in_brightpearl(&flow).await;

    let failed = only_invoice(&flow).await;
    assert_eq!(failed.status, InvoiceStatus::Failed);
    assert_eq!(failed.coupa_status, Some(417));
    let reason = failed.reason.clone().unwrap_or_default();
    assert!(reason.contains("does not know the PO"), "{reason}");
    assert_event(
        &timeline(&flow).await,
        &["Coupa rejected invoice", "417", "does not know the PO"],
    );

    for _ in 0..3 {
        next_poll(&flow).await;
    }
    assert_eq!(
        flow.coupa.received().len(),
        1,
        "a refused invoice is not retried"
    );
}

/// An invoice Coupa rejected is superseded when Brightpearl renumbers it:
/// Coupa does not have it, so it is no longer a failure to retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_invoice_renumbered_is_superseded() {
    let flow = synced(PO_NOT_ISSUED, Backend::Sqlite).await;
    let first = invoice_in_brightpearl(&flow).await;
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Failed);

    let code = &flow.app.brightpearl_code;
    flow.app
        .sandbox
        .uninvoice_order(code, flow.order_id)
        .unwrap();
    let second = invoice_in_brightpearl(&flow).await;

    let all = invoices(&flow).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].invoice_number, first);
    assert_eq!(all[0].status, InvoiceStatus::Superseded);
    let reason = all[0].reason.clone().unwrap_or_default();
    let expected = format!("invoiced again as {second} after Coupa rejected invoice {first}");
    assert!(reason.contains(&expected), "{reason}");
    assert_eq!(all[0].coupa_status, Some(417), "Coupa's answer is kept");
}

async fn uninvoiced_after_sending_is_flagged_not_resent(backend: Backend) {
    let flow = synced(READY, backend).await;
    let number = invoice_in_brightpearl(&flow).await;
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Sent);

    flow.app
        .sandbox
        .uninvoice_order(&flow.app.brightpearl_code, flow.order_id)
        .unwrap();
    next_poll(&flow).await;

    let changed = only_invoice(&flow).await;
    assert_eq!(changed.status, InvoiceStatus::ChangedAfterSending);
    let reason = changed.reason.clone().unwrap_or_default();
    assert!(reason.contains("un-invoiced"), "{reason}");
    assert!(reason.contains(&number), "{reason}");
    assert_eq!(changed.coupa_status, Some(200), "Coupa's answer is kept");

    let again = invoice_in_brightpearl(&flow).await;
    assert_ne!(again, number);
    let all = invoices(&flow).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status, InvoiceStatus::ChangedAfterSending);
    assert_eq!(all[1].invoice_number, again);
    assert_eq!(all[1].status, InvoiceStatus::Held);
    let reason = all[1].reason.clone().unwrap_or_default();
    assert!(reason.contains("already invoiced"), "{reason}");

    assert_eq!(flow.coupa.received().len(), 1, "nothing is sent again");
    assert_eq!(flow.coupa.accepted_invoices().len(), 1);
}

/// Queues the invoice numbered `number` again, as the portal's Retry does,
/// and returns the outcome.
async fn retry(flow: &Flow, number: &str) -> RetryOutcome {
    let target = RetryTarget::Numbers(vec![number.to_owned()]);
    let slug = flow.app.account.slug.as_str();
    let mut rows = retry_invoices(&flow.app.engine, slug, &target, None)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    rows.remove(0).outcome
}

/// Syncs the PO for a buyer without an invoicing secret, so its invoice is
/// held, then un-invoices the order in Brightpearl without a poll. Returns
/// the held invoice's number.
async fn held_then_uninvoiced() -> (Flow, String) {
    let flow = synced(NO_SECRET, Backend::Sqlite).await;
    let number = invoice_in_brightpearl(&flow).await;
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Held);
    flow.app
        .sandbox
        .uninvoice_order(&flow.app.brightpearl_code, flow.order_id)
        .unwrap();
    (flow, number)
}

/// A held invoice that Brightpearl renumbers is superseded: it needs no
/// person, does not count as failed, and cannot be queued again, while the
/// new number is sent once the hold is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renumbered_held_invoice_is_superseded() {
    let (flow, first) = held_then_uninvoiced().await;
    let second = invoice_in_brightpearl(&flow).await;
    assert_ne!(first, second);

    let all = invoices(&flow).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].invoice_number, first);
    assert_eq!(all[0].status, InvoiceStatus::Superseded);
    let reason = all[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains(&format!("invoiced again as {second}")),
        "{reason}"
    );
    assert_eq!(all[1].invoice_number, second);
    assert_eq!(all[1].status, InvoiceStatus::Held);

    match retry(&flow, &first).await {
        RetryOutcome::Rejected { reason } => {
            assert!(reason.starts_with("superseded:"), "{reason}")
        }
        RetryOutcome::Queued => panic!("a superseded invoice was queued again"),
    }
    assert_eq!(invoices(&flow).await[0].status, InvoiceStatus::Superseded);

    set_invoicing(&flow, Some(INVOICE_SECRET)).await;
    assert_eq!(retry(&flow, &second).await, RetryOutcome::Queued);
    flow.app.drain(20).await;
    let all = invoices(&flow).await;
    assert_eq!(all[0].status, InvoiceStatus::Superseded);
    assert_eq!(all[1].status, InvoiceStatus::Sent);
    let accepted = flow.coupa.accepted_invoices();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].invoice_id, second);
}

/// An invoice retried after Brightpearl took it back, before a poll saw
/// that, is superseded by the retry itself instead of being held for a poll
/// that has nothing left to record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_supersedes_withdrawn_invoice() {
    let (flow, number) = held_then_uninvoiced().await;
    set_invoicing(&flow, Some(INVOICE_SECRET)).await;
    assert_eq!(retry(&flow, &number).await, RetryOutcome::Queued);
    flow.app.drain(20).await;

    let superseded = only_invoice(&flow).await;
    assert_eq!(superseded.status, InvoiceStatus::Superseded);
    let reason = superseded.reason.clone().unwrap_or_default();
    assert!(reason.contains("was un-invoiced"), "{reason}");
    assert_eq!(send_job(&flow, &superseded).await.status, JobStatus::Done);
    assert_event(&timeline(&flow).await, &["was un-invoiced before invoice"]);

    next_poll(&flow).await;
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Superseded);
    assert!(flow.coupa.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_credit_is_sent_as_credit() {
    let flow = synced(READY, Backend::Sqlite).await;
    let number = invoice_in_brightpearl(&flow).await;
    let links = row_links(&flow).await;
    let line_two = links
        .iter()
        .find(|link| link.line_number == 2)
        .expect("PO line 2 is linked");

    let credit_id = flow
        .app
        .sandbox
        .raise_sales_credit(
            &flow.app.brightpearl_code,
            flow.order_id,
            &[(line_two.row_id as u64, Decimal::TWO)],
        )
        .unwrap();
    let credit_number = flow
        .app
        .sandbox
        .invoice_order(&flow.app.brightpearl_code, credit_id)
        .unwrap();
    next_poll(&flow).await;

    let all = invoices(&flow).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    let credit = &all[1];
    assert_eq!(credit.invoice_number, credit_number);
    assert_eq!(credit.kind, InvoiceKind::Credit);
    assert_eq!(credit.brightpearl_order_id, credit_id as i64);
    assert_eq!(credit.status, InvoiceStatus::Sent, "{:?}", credit.reason);
    assert_eq!(credit.lines.len(), 1);
    assert_eq!(credit.lines[0].po_line_number, 2);
    assert_eq!(credit.lines[0].quantity, Decimal::TWO);

    let accepted = flow.coupa.accepted_invoices();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[0].invoice_id, number);
    assert_eq!(accepted[1].invoice_id, credit_number);
    assert_eq!(accepted[1].po_number, PO_NUMBER);
    assert!(
        accepted[1].total.is_sign_negative(),
        "{}",
        accepted[1].total
    );
    let quantities: Vec<Option<Decimal>> =
        accepted[1].lines.iter().map(|line| line.quantity).collect();
    assert_eq!(quantities, [Some(-Decimal::TWO)]);
}

/// A held invoice entered in Coupa by hand counts as invoiced, so when
/// Brightpearl renumbers it the new number is held as invoicing the goods
/// twice instead of being posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_entered_invoice_counts_as_invoiced() {
    let flow = synced(NO_SECRET, Backend::Sqlite).await;
    let first = invoice_in_brightpearl(&flow).await;
    let held_invoice = only_invoice(&flow).await;
    assert_eq!(held_invoice.status, InvoiceStatus::Held);
    assert!(
        !held_invoice.lines.is_empty(),
        "a held invoice records its lines"
    );
    let slug = flow.app.account.slug.as_str();
    confirm_invoice(&flow.app.engine, slug, &first, None)
        .await
        .unwrap();
    set_invoicing(&flow, Some(INVOICE_SECRET)).await;

    let code = &flow.app.brightpearl_code;
    flow.app
        .sandbox
        .uninvoice_order(code, flow.order_id)
        .unwrap();
    let second = invoice_in_brightpearl(&flow).await;

    let all = invoices(&flow).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].status, InvoiceStatus::ChangedAfterSending);
    assert_eq!(all[1].invoice_number, second);
    assert_eq!(all[1].status, InvoiceStatus::Held);
    let reason = all[1].reason.clone().unwrap_or_default();
    assert!(reason.contains("already invoiced"), "{reason}");
    assert!(flow.coupa.received().is_empty(), "nothing is posted");
}

/// A person who enters a held invoice in Coupa by hand while its job is
/// rebuilding it wins: the rebuild finds the invoice changed, and nothing is
/// posted. Brightpearl responds slowly to the rebuild's fetch, so the person
/// acts during it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_entry_during_rebuild_is_not_posted() {
    let flow = synced(NO_SECRET, Backend::Sqlite).await;
    let number = invoice_in_brightpearl(&flow).await;
    assert_eq!(only_invoice(&flow).await.status, InvoiceStatus::Held);
    set_invoicing(&flow, Some(INVOICE_SECRET)).await;
    let slow = Faults {
        slow_next_n: 1,
        slow_by: std::time::Duration::from_secs(2),
        ..Faults::default()
    };
    flow.app
        .sandbox
        .set_faults(&flow.app.brightpearl_code, slow);
    assert_eq!(retry(&flow, &number).await, RetryOutcome::Queued);

    let slug = flow.app.account.slug.as_str();
    let confirm_meanwhile = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        confirm_invoice(&flow.app.engine, slug, &number, None).await
    };
    let (_, confirmed) = tokio::join!(flow.app.drain(20), confirm_meanwhile);

    assert_eq!(confirmed.unwrap().previous_status, InvoiceStatus::Held);
    let entered = only_invoice(&flow).await;
    assert_eq!(entered.status, InvoiceStatus::Sent);
    let reason = entered.reason.unwrap_or_default();
    assert!(
        reason.starts_with("a person entered it in Coupa by hand"),
        "{reason}"
    );
    assert!(flow.coupa.received().is_empty(), "nothing is posted");
}

/// Returns the Brightpearl product of the order's row `row_id`.
fn row_product(flow: &Flow, row_id: i64) -> i64 {
    let orders = flow.app.sandbox.sales_orders(&flow.app.brightpearl_code);
    let order = orders
        .iter()
        .find(|order| order["id"] == json!(flow.order_id))
        .expect("the sandbox has the sales order");
    order["orderRows"][row_id.to_string()]["productId"]
        .as_i64()
        .expect("the row names a product")
}

/// A credit that refunds only a row the row rules skip has no PO line to
/// credit, and Coupa requires one. It is held with what to do, and a person
/// records entering it in Coupa by hand, after which it is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_rows_credit_entered_by_hand() {
    let flow = synced(READY, Backend::Sqlite).await;
    invoice_in_brightpearl(&flow).await;
    let links = row_links(&flow).await;
    let line_two = links
        .iter()
        .find(|link| link.line_number == 2)
        .expect("PO line 2 is linked");
    let store = flow.app.store();
    let mut settings = store.account(flow.app.account.id).await.unwrap().settings;
    settings.invoice_rows.push(pobridge_core::RowRule {
        matcher: pobridge_core::RowMatcher::ProductId(row_product(&flow, line_two.row_id)),
        class: pobridge_core::RowClass::Skip,
    });
    store
        .save_settings(flow.app.account.id, &settings)
        .await
        .unwrap();

    let code = &flow.app.brightpearl_code;
    let credit_id = flow
        .app
        .sandbox
        .raise_sales_credit(
            code,
            flow.order_id,
            &[(line_two.row_id as u64, Decimal::ONE)],
        )
        .unwrap();
    let credit_number = flow.app.sandbox.invoice_order(code, credit_id).unwrap();
    next_poll(&flow).await;

    let all = invoices(&flow).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[1].invoice_number, credit_number);
    assert_eq!(all[1].status, InvoiceStatus::Held);
    let reason = all[1].reason.clone().unwrap_or_default();
    assert!(reason.contains("refunds no PO line"), "{reason}");
    assert!(reason.contains("Entered in Coupa by hand"), "{reason}");
    let command = format!(
        "`pobridge invoices {} confirm {credit_number}`",
        flow.app.account.slug.as_str()
    );
    assert!(reason.contains(&command), "{reason}");
    assert_eq!(flow.coupa.received().len(), 1, "the credit is not sent");

    let slug = flow.app.account.slug.as_str();
    let confirmed = confirm_invoice(&flow.app.engine, slug, &credit_number, None)
        .await
        .unwrap();
    assert_eq!(confirmed.previous_status, InvoiceStatus::Held);
    assert_eq!(confirmed.status, InvoiceStatus::Sent);
    assert!(
        confirmed
            .reason
            .starts_with("a person entered it in Coupa by hand (it was held: credit"),
        "{}",
        confirmed.reason
    );

    next_poll(&flow).await;
    let all = invoices(&flow).await;
    assert_eq!(all[1].status, InvoiceStatus::Sent);
    assert_eq!(flow.coupa.received().len(), 1, "nothing is sent after");
}

async fn reused_number_is_recorded_not_sent(backend: Backend) {
    let flow = synced(READY, backend).await;
    let number = flow
        .app
        .sandbox
        .invoice_order(&flow.app.brightpearl_code, flow.order_id)
        .unwrap();
    let other_order = 999_999;
    let earlier = NewInvoice {
        po: flow.po.id,
        buyer: flow.po.buyer_id,
        brightpearl_order_id: other_order,
        invoice_number: number.clone(),
        kind: InvoiceKind::Invoice,
        invoice_date: flow.clock.now().fixed_offset(),
        currency: "USD".to_owned(),
        brightpearl_total: Decimal::ONE,
        sent_total: Decimal::ONE,
        document: String::new(),
        status: InvoiceStatus::Sent,
        reason: None,
        lines: Vec::new(),
    };
    let now = flow.clock.now();
    flow.app
        .store()
        .create_invoice(flow.app.account.id, &earlier, None, now)
        .await
        .unwrap();
    next_poll(&flow).await;

    let stored = only_invoice(&flow).await;
    assert_eq!(stored.brightpearl_order_id, other_order);
    assert!(flow.coupa.received().is_empty());
    let clash = format!("belongs to the stored invoice of order {other_order}");
    assert_event(&timeline(&flow).await, &[&clash]);
    let tracked = flow
        .app
        .store()
        .tracked_order(flow.app.account.id, flow.order_id as i64)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tracked.invoice_reference, Some(number), "not found again");
}
