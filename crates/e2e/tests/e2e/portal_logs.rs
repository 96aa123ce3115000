//! The portal's dashboard, order log and invoice log over HTTP, without a
//! browser, against pobridge with the sandbox Brightpearl and a sandbox
//! Coupa on loopback. The clock is moved by hand and the worker run until
//! idle, so every order and invoice reaches its state without sleeping:
//!
//! - PO-1001 synced, its invoice accepted by Coupa;
//! - PO-2002 synced, its invoice rejected by Coupa for a wrong shared
//!   secret, then an update held for review;
//! - PO-3003 failed after Brightpearl returned 500 for longer than the
//!   account's retry window;
//! - PO-4004 waiting for an item mapping (a fractional stock quantity).

use chrono::{Duration, TimeZone, Utc};
use pobridge_core::{Clock, ManualClock, PoId};
use pobridge_e2e::corpus::with_identity;
use pobridge_e2e::invoicing::{run_poll_cycle, set_invoicing, BuyerCoupas, INVOICE_SECRET};
use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::{configure_defaults, Options, TestApp};
use pobridge_engine::invoicing::BuyerInvoicing;
use pobridge_sandbox::Faults;
use pobridge_store::{
    BuyerMode, CredentialRef, InvoiceRecord, InvoiceStatus, NewBuyer, PoFilter, PoStatus,
    PurchaseOrder,
};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");
/// The shared secret the widgets buyer sends with its orders.
const ORDER_SECRET: &str = "widgets-s3cret";
/// A wrong invoicing secret, which Coupa rejects with 401.
const WRONG_SECRET: &str = "not-the-invoicing-secret";
const EMAIL: &str = "ops@acme.example";

/// pobridge with the four orders and two invoices of the module comment.
struct Scenario {
    app: TestApp,
    clock: ManualClock,
    coupas: BuyerCoupas,
}

/// Returns the widgets order numbered `number`, with the first line's quantity
/// `quantity` and its own payloadID.
fn order(number: &str, quantity: &str) -> Vec<u8> {
    let text = ORDER.replacen(r#"quantity="4""#, &format!(r#"quantity="{quantity}""#), 1);
    with_identity(text.as_bytes(), &format!("{number}@buyer.example"), number)
}

/// Returns an update of `number` that changes the first line's quantity to 6.
fn update(number: &str) -> Vec<u8> {
    let text = ORDER
        .replacen(r#"quantity="4""#, r#"quantity="6""#, 1)
        .replacen(r#"type="new""#, r#"type="update""#, 1);
    with_identity(
        text.as_bytes(),
        &format!("{number}-update@buyer.example"),
        number,
    )
}

fn widgets_buyer() -> NewBuyer {
    let credential = |domain: &str, identity: &str| CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    };
    NewBuyer {
        name: "widgets-buyer".to_owned(),
        from: credential("NetworkID", "BUYER-1"),
        to: credential("DUNS", "123456789"),
        sender: credential("NetworkID", "BUYER-1"),
        shared_secret: Some(ORDER_SECRET.to_owned()),
        url_token: None,
        mode: BuyerMode::Production,
        invoice_url: None,
    }
}

async fn post(app: &TestApp, body: Vec<u8>) {
    let (status, answer) = app.post_cxml(body).await.unwrap();
    assert_eq!(status, 200, "{answer}");
}

impl Scenario {
    async fn start() -> Self {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        let options = Options {
            clock: Some(clock.clone()),
            ..Options::default()
        };
        let mut app = TestApp::start_with(options).await.expect("pobridge starts");
        configure_defaults(&mut app).await.unwrap();
        app.set("retry_hours", "1").await.unwrap();
        app.buyer(widgets_buyer()).await.unwrap();

        post(&app, order("PO-1001", "4")).await;
        post(&app, order("PO-2002", "4")).await;
        app.drain(20).await;
        let coupas = BuyerCoupas::start(&app, false).await.unwrap();
        let synced = coupas.issue_synced_pos(&app, |_| {}).await.unwrap();
        assert_eq!(synced.len(), 2, "PO-1001 and PO-2002 sync");
        app.engine.schedule_invoicing(app.account.id).await.unwrap();
        app.drain(20).await;
        let scenario = Self { app, clock, coupas };

        scenario.invoice_in_brightpearl("PO-1001").await;
        run_poll_cycle(&scenario.app, &scenario.clock).await;
        scenario.set_invoice_secret(WRONG_SECRET).await;
        scenario.invoice_in_brightpearl("PO-2002").await;
        run_poll_cycle(&scenario.app, &scenario.clock).await;

        post(&scenario.app, update("PO-2002")).await;
        post(&scenario.app, order("PO-4004", "2.5")).await;
        scenario.app.drain(20).await;
        scenario.fail_order("PO-3003").await;

        assert_eq!(scenario.po("PO-1001").await.status, PoStatus::Synced);
        assert_eq!(scenario.po("PO-2002").await.status, PoStatus::HeldForReview);
        assert_eq!(scenario.po("PO-3003").await.status, PoStatus::Failed);
        assert_eq!(
            scenario.po("PO-4004").await.status,
            PoStatus::AwaitingMapping
        );
        assert_eq!(
            scenario.invoice_of("PO-1001").await.status,
            InvoiceStatus::Sent
        );
        assert_eq!(
            scenario.invoice_of("PO-2002").await.status,
            InvoiceStatus::Failed
        );
        scenario
    }

    /// Posts `number` while the sandbox returns 500 for every request, and
    /// runs the worker past the one-hour retry window until it fails. The
    /// sandbox works normally again afterwards, which fixes the cause.
    async fn fail_order(&self, number: &str) {
        let code = &self.app.brightpearl_code;
        let outage = Faults {
            fail_next_n_with_500: 10_000,
            ..Faults::default()
        };
        self.app.sandbox.set_faults(code, outage);
        post(&self.app, order(number, "4")).await;
        for _ in 0..12 {
            self.app.drain(20).await;
            if self.po(number).await.status == PoStatus::Failed {
                break;
            }
            self.clock.advance(Duration::minutes(10));
        }
        self.app.sandbox.set_faults(code, Faults::default());
    }

    fn order_id(&self, po: &PurchaseOrder) -> u64 {
        po.brightpearl_order_id.expect("a synced PO has an order") as u64
    }

    async fn invoice_in_brightpearl(&self, number: &str) -> String {
        let po = self.po(number).await;
        self.app
            .sandbox
            .invoice_order(&self.app.brightpearl_code, self.order_id(&po))
            .unwrap()
    }

    async fn set_invoice_secret(&self, secret: &str) {
        let po = self.po("PO-1001").await;
        let stored = self
            .app
            .store()
            .buyer(self.app.account.id, po.buyer_id)
            .await
            .unwrap();
        let mut settings = BuyerInvoicing::from_json(&stored.invoicing).unwrap();
        settings.shared_secret = Some(secret.to_owned());
        set_invoicing(&self.app, po.buyer_id, &settings)
            .await
            .unwrap();
    }

    async fn po(&self, number: &str) -> PurchaseOrder {
        let filter = PoFilter {
            search: Some(number.to_owned()),
            ..PoFilter::default()
        };
        let mut found = self
            .app
            .store()
            .list_purchase_orders(self.app.account.id, &filter)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "one PO is numbered {number}");
        found.remove(0)
    }

    async fn invoice_of(&self, number: &str) -> InvoiceRecord {
        let po = self.po(number).await;
        let mut all = self
            .app
            .store()
            .invoices_for_po(self.app.account.id, po.id)
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "{number} has one invoice: {all:#?}");
        all.remove(0)
    }

    async fn order_path(&self, number: &str) -> String {
        format!("/orders/{}", self.po(number).await.id)
    }

    async fn invoice_path(&self, number: &str) -> String {
        format!("/invoices/{}", self.invoice_of(number).await.id)
    }

    async fn client(&self) -> PortalClient {
        self.app.portal_as(EMAIL).await.unwrap()
    }

    async fn audit_actions(&self) -> Vec<(String, String)> {
        self.app
            .store()
            .audit_log(self.app.account.id, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| (entry.actor, entry.action))
            .collect()
    }

    async fn events_of(&self, number: &str) -> usize {
        let po = self.po(number).await;
        self.app
            .store()
            .events(self.app.account.id, po.id)
            .await
            .unwrap()
            .len()
    }
}

/// Returns the text of the element with `id="ID"`, up to the next tag.
fn text_of_id(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no element {id} on the page:\n{}", page.body))
        + marker.len();
    let end = start + page.body[start..].find('<').unwrap();
    page.body[start..end].trim().to_owned()
}

fn assert_ok(page: &Page) {
    assert_eq!(page.status, 200, "{}", page.body);
}

/// Checks that `page` redirects to `path` and leaves a notice.
fn assert_redirect(page: &Page, path: &str) {
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some(path));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_counts_each_outcome() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;

    let page = client.get("/dashboard").await.unwrap();

    assert_ok(&page);
    for period in ["today", "7", "30"] {
        let count = |key: &str| text_of_id(&page, &format!("{key}-{period}"));
        assert_eq!(count("received"), "4", "received, {period}");
        assert_eq!(count("synced"), "2", "synced, {period}");
        assert_eq!(count("awaiting"), "2", "awaiting, {period}");
        assert_eq!(count("failed"), "1", "failed, {period}");
        assert_eq!(count("invoices-sent"), "1", "invoices sent, {period}");
        assert_eq!(count("invoices-failed"), "1", "invoices failed, {period}");
        assert_eq!(count("rate"), "33.3%", "failure rate, {period}");
    }
    assert!(page.body.contains("<svg"), "the chart is inline SVG");
    assert!(page.body.contains("Brightpearl is unavailable (HTTP 500)"));
    assert!(page.body.contains("Invalid credentials"));
    // Each reason here has one text, so no group names how many it holds.
    assert!(!page.body.contains("texts that differ only"));
    let held = scenario.order_path("PO-2002").await;
    let unmapped = scenario.order_path("PO-4004").await;
    assert!(page.body.contains(&format!("href=\"{held}\"")));
    assert!(page.body.contains(&format!("href=\"{unmapped}\"")));
    assert!(page.body.contains("href=\"/items?status=unmapped\""));
    assert!(page.body.contains("href=\"/customers\""));
    assert!(!page.body.contains(ORDER_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_and_login_lead_to_dashboard() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;

    let root = client.get("/").await.unwrap();

    assert_eq!(root.location(), Some("/dashboard"));
    let page = client.follow(&root).await.unwrap();
    assert_ok(&page);
    assert!(page.body.contains("aria-current=\"page\">Dashboard"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_log_filters_by_status_search_and_date() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let numbers = ["PO-1001", "PO-2002", "PO-3003", "PO-4004"];
    let listed = |page: &Page| -> Vec<&str> {
        numbers
            .iter()
            .copied()
            .filter(|number| page.body.contains(&format!(">{number}</a>")))
            .collect()
    };

    let all = client.get("/orders").await.unwrap();
    let failed = client.get("/orders?status=failed").await.unwrap();
    let search = client.get("/orders?q=2002").await.unwrap();
    let today = client
        .get("/orders?from=2026-03-02&to=2026-03-02")
        .await
        .unwrap();
    let tomorrow = client.get("/orders?from=2026-03-03").await.unwrap();
    let yesterday = client.get("/orders?to=2026-03-01").await.unwrap();

    assert_ok(&all);
    assert_eq!(listed(&all), numbers);
    assert_eq!(listed(&failed), ["PO-3003"]);
    assert_eq!(listed(&search), ["PO-2002"]);
    assert_eq!(listed(&today), numbers);
    assert!(listed(&tomorrow).is_empty());
    assert!(tomorrow.body.contains("No order matches this filter."));
    assert!(listed(&yesterday).is_empty());
    assert!(all.body.contains("Brightpearl is unavailable (HTTP 500)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_log_explains_bad_filter_values() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;

    let bad_date = client
        .get("/orders?from=2026-13-01&q=PO-3003")
        .await
        .unwrap();
    let backwards = client
        .get("/orders?from=2026-03-02&to=2026-03-01")
        .await
        .unwrap();
    let bad_status = client.get("/orders?status=lost").await.unwrap();

    assert_ok(&bad_date);
    assert!(bad_date.body.contains("id=\"from-error\""));
    assert!(bad_date.body.contains("2026-13-01"));
    assert!(bad_date
        .body
        .contains("is not a date; enter it as YYYY-MM-DD"));
    assert!(bad_date
        .body
        .contains("value=\"2026-13-01\" aria-invalid=\"true\""));
    assert!(
        bad_date.body.contains("value=\"PO-3003\""),
        "the search is kept"
    );
    assert!(!bad_date.body.contains(">PO-3003</a>"), "nothing is listed");
    assert!(backwards.body.contains("id=\"to-error\""));
    assert!(backwards.body.contains("choose 2026-03-02 or later"));
    assert!(bad_status.body.contains("id=\"status-error\""));
    assert!(bad_status.body.contains("lost"));
    assert!(bad_status
        .body
        .contains("is not a status; choose one from the list."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_log_pages_by_fifty() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let options = Options {
        clock: Some(clock.clone()),
        ..Options::default()
    };
    let app = TestApp::start_with(options).await.unwrap();
    app.buyer(widgets_buyer()).await.unwrap();
    for index in 1..=52 {
        clock.advance(Duration::seconds(1));
        post(&app, order(&format!("PO-{index:03}"), "4")).await;
    }
    let mut client = app.portal_as(EMAIL).await.unwrap();

    let first = client.get("/orders").await.unwrap();
    let second = client.get("/orders?page=2").await.unwrap();

    let rows = |page: &Page| page.body.matches("<a href=\"/orders/").count();
    assert_eq!(rows(&first), 50);
    assert!(first.body.contains(">PO-052</a>"), "newest first");
    assert!(first.body.contains("href=\"/orders?page=2\" rel=\"next\""));
    assert!(!first.body.contains("rel=\"prev\""));
    assert_eq!(rows(&second), 2);
    assert!(second.body.contains(">PO-001</a>"));
    assert!(second.body.contains("href=\"/orders\" rel=\"prev\""));
    assert!(!second.body.contains("rel=\"next\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_page_shows_record_without_secrets() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;

    let failed = client
        .get(&scenario.order_path("PO-3003").await)
        .await
        .unwrap();
    let held = client
        .get(&scenario.order_path("PO-2002").await)
        .await
        .unwrap();

    assert_ok(&failed);
    assert!(failed
        .body
        .contains("Failed: Brightpearl rejected the order"));
    assert!(failed
        .body
        .contains("Brightpearl is unavailable (HTTP 500)"));
    assert!(failed.body.contains("action=\"/orders/"), "a re-sync form");
    assert!(failed.body.contains(">Re-sync</button>"));
    assert!(failed.body.contains("(gave up after retrying for 1 hours)"));
    assert!(failed.body.contains("OrderRequestHeader orderID="));
    assert!(
        !failed.body.contains("<OrderRequestHeader"),
        "cXML is escaped"
    );
    assert!(!failed.body.contains(ORDER_SECRET), "the secret is masked");
    assert_ok(&held);
    assert!(held.body.contains("line 1 quantity 4 → 6"), "{}", held.body);
    assert!(held.body.contains(">Mark handled</button>"));
    assert!(!held.body.contains(">Re-sync</button>"));
    let invoice = scenario.invoice_path("PO-2002").await;
    assert!(held.body.contains(&format!("href=\"{invoice}\"")));
    assert!(!held.body.contains(ORDER_SECRET));
    for path in ["/orders", "/invoices", "/dashboard"] {
        let page = client.get(path).await.unwrap();
        assert!(!page.body.contains(ORDER_SECRET), "{path}");
        assert!(!page.body.contains(INVOICE_SECRET), "{path}");
        assert!(!page.body.contains(WRONG_SECRET), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_say_retention_removed_a_document() {
    let scenario = Scenario::start().await;
    let now = scenario.clock.now();
    let removed = scenario
        .app
        .store()
        .remove_document_bodies(scenario.app.account.id, now + Duration::days(1), 100, now)
        .await
        .unwrap();
    let mut client = scenario.client().await;

    let order = client
        .get(&scenario.order_path("PO-1001").await)
        .await
        .unwrap();
    let invoice = client
        .get(&scenario.invoice_path("PO-1001").await)
        .await
        .unwrap();
    let held = client
        .get(&scenario.order_path("PO-2002").await)
        .await
        .unwrap();

    // Only PO-1001 is synced with its invoice sent; the others are not final.
    assert_eq!(removed.documents, 1);
    assert_eq!(removed.invoices, 1);
    let notice = format!("Removed by retention on {}.", now.date_naive());
    assert_ok(&order);
    assert!(order.body.contains(&notice), "{}", order.body);
    assert!(
        !order.body.contains("OrderRequestHeader orderID="),
        "the removed body is not shown"
    );
    assert_ok(&invoice);
    assert!(invoice.body.contains(&notice), "{}", invoice.body);
    assert!(
        !invoice.body.contains("InvoiceDetailRequest"),
        "the removed document is not shown"
    );
    assert_ok(&held);
    assert!(!held.body.contains("Removed by retention"));
    assert!(held.body.contains("OrderRequestHeader orderID="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_order_resyncs_after_its_cause_is_fixed() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let path = scenario.order_path("PO-3003").await;
    client.get(&path).await.unwrap();

    let answer = client.post(&format!("{path}/resync"), &[]).await.unwrap();

    assert_redirect(&answer, &path);
    let page = client.follow(&answer).await.unwrap();
    assert!(page
        .body
        .contains("Re-sync queued: pobridge syncs PO PO-3003 again"));
    assert_eq!(scenario.po("PO-3003").await.status, PoStatus::Received);
    scenario.app.drain(20).await;
    let synced = scenario.po("PO-3003").await;
    assert_eq!(synced.status, PoStatus::Synced);
    assert!(synced.brightpearl_order_id.is_some());
    assert_eq!(
        scenario.audit_actions().await,
        [(EMAIL.to_owned(), "order.resync".to_owned())]
    );
    let after = client.get(&path).await.unwrap();
    assert!(after
        .body
        .contains("Synced: its Brightpearl sales order exists."));
    assert!(
        !after.body.contains("Create sent with externalRef"),
        "the create's outcome is known once the order is synced"
    );
    assert!(!after.body.contains("<dt>Last error</dt>"));
    let again = client.post(&format!("{path}/resync"), &[]).await.unwrap();
    assert_eq!(again.status, 422, "a synced order is not re-synced");
    assert!(again.body.contains("already synced"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_resync_runs_dry_first() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    client.get("/orders").await.unwrap();
    let events_before = scenario.events_of("PO-3003").await;
    let filter = [("q", "PO"), ("from", "2026-03-02"), ("to", "")];

    let dry = client
        .post(
            "/orders/resync-failed",
            &[filter.as_slice(), &[("dry_run", "1")]].concat(),
        )
        .await
        .unwrap();

    assert_ok(&dry);
    assert!(dry.body.contains(">PO-3003</a>"));
    assert!(dry.body.contains("would re-sync"));
    assert!(dry
        .body
        .contains("searches Brightpearl for the sales order"));
    assert!(!dry.body.contains(">PO-1001</a>"), "only failed orders");
    assert_eq!(scenario.po("PO-3003").await.status, PoStatus::Failed);
    assert_eq!(scenario.events_of("PO-3003").await, events_before);
    assert!(scenario.audit_actions().await.is_empty());

    let id = scenario.po("PO-3003").await.id.to_string();
    let confirm = client
        .post(
            "/orders/resync-failed",
            &[filter.as_slice(), &[("ids", id.as_str())]].concat(),
        )
        .await
        .unwrap();

    assert_redirect(&confirm, "/orders?q=PO&from=2026-03-02");
    let page = client.follow(&confirm).await.unwrap();
    assert!(page.body.contains("Re-sync queued for 1 order: PO-3003."));
    scenario.app.drain(20).await;
    assert_eq!(scenario.po("PO-3003").await.status, PoStatus::Synced);
    assert_eq!(
        scenario.audit_actions().await,
        [(EMAIL.to_owned(), "orders.resync_failed".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_handled_clears_the_hold() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let path = scenario.order_path("PO-2002").await;
    client.get(&path).await.unwrap();

    let answer = client.post(&format!("{path}/handled"), &[]).await.unwrap();

    assert_redirect(&answer, &path);
    let page = client.follow(&answer).await.unwrap();
    assert!(page.body.contains("PO PO-2002 is marked handled"));
    assert_eq!(scenario.po("PO-2002").await.status, PoStatus::Synced);
    assert_eq!(
        scenario.audit_actions().await,
        [(EMAIL.to_owned(), "order.mark_handled".to_owned())]
    );
    let again = client.post(&format!("{path}/handled"), &[]).await.unwrap();
    assert_eq!(again.status, 422);
    assert!(again.body.contains("not held_for_review"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_log_filters_and_explains_coupa() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let sent = scenario.invoice_of("PO-1001").await.invoice_number;
    let failed = scenario.invoice_of("PO-2002").await.invoice_number;
    let link = |number: &str| format!(">{number}</a>");

    let all = client.get("/invoices").await.unwrap();
    let only_failed = client.get("/invoices?status=failed").await.unwrap();
    let by_po = client.get("/invoices?q=po-2002").await.unwrap();
    let by_number = client.get(&format!("/invoices?q={sent}")).await.unwrap();
    let later = client.get("/invoices?from=2026-03-03").await.unwrap();
    let bad_date = client.get("/invoices?to=yesterday").await.unwrap();
    let detail = client
        .get(&scenario.invoice_path("PO-2002").await)
        .await
        .unwrap();

    assert_ok(&all);
    assert!(all.body.contains(&link(&sent)));
    assert!(all.body.contains(&link(&failed)));
    assert!(only_failed.body.contains(&link(&failed)));
    assert!(!only_failed.body.contains(&link(&sent)));
    assert!(by_po.body.contains(&link(&failed)));
    assert!(!by_po.body.contains(&link(&sent)));
    assert!(by_number.body.contains(&link(&sent)));
    assert!(!by_number.body.contains(&link(&failed)));
    assert!(later.body.contains("No invoice matches this filter."));
    assert!(bad_date.body.contains("id=\"to-error\""));
    assert_ok(&detail);
    assert!(detail.body.contains("<code>401"));
    assert!(detail.body.contains("shared secret"));
    assert!(detail.body.contains("Brightpearl total"));
    assert!(detail.body.contains("Coupa total"));
    assert!(detail
        .body
        .contains(&format!("Coupa rejected invoice {failed}")));
    assert!(detail
        .body
        .contains("InvoiceDetailRequestHeader invoiceID="));
    assert!(
        !detail.body.contains("<InvoiceDetailRequest"),
        "cXML is escaped"
    );
    assert!(!detail.body.contains(WRONG_SECRET));
    assert!(!detail.body.contains(INVOICE_SECRET));
    assert!(detail.body.contains(">Retry</button>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_invoice_retried_after_fixing_its_secret() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let path = scenario.invoice_path("PO-2002").await;
    client.get(&path).await.unwrap();
    scenario.set_invoice_secret(INVOICE_SECRET).await;

    let answer = client.post(&format!("{path}/retry"), &[]).await.unwrap();

    assert_redirect(&answer, &path);
    assert_eq!(
        scenario.invoice_of("PO-2002").await.status,
        InvoiceStatus::Held
    );
    scenario.app.drain(20).await;
    let retried = scenario.invoice_of("PO-2002").await;
    assert_eq!(retried.status, InvoiceStatus::Sent, "{retried:#?}");
    assert_eq!(
        scenario.audit_actions().await,
        [(EMAIL.to_owned(), "invoice.retry".to_owned())]
    );
    let accepted: Vec<String> = scenario
        .coupas
        .accepted_invoices()
        .into_iter()
        .map(|invoice| invoice.invoice_id)
        .collect();
    assert!(accepted.contains(&retried.invoice_number), "{accepted:?}");
}

/// A held invoice a person entered in Coupa by hand is recorded as sent,
/// and its queued send then does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_invoice_entered_by_hand() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let path = scenario.invoice_path("PO-2002").await;
    client.get(&path).await.unwrap();
    client.post(&format!("{path}/retry"), &[]).await.unwrap();
    let held_invoice = scenario.invoice_of("PO-2002").await;
    assert_eq!(held_invoice.status, InvoiceStatus::Held);

    let page = client.get(&path).await.unwrap();
    let answer = client.post(&format!("{path}/confirm"), &[]).await.unwrap();

    assert!(page.body.contains(">Retry</button>"), "{}", page.body);
    assert!(page.body.contains(">Entered in Coupa by hand</button>"));
    assert_redirect(&answer, &path);
    let notice_page = client.follow(&answer).await.unwrap();
    let notice = format!(
        "Invoice {} is recorded as entered in Coupa by hand.",
        held_invoice.invoice_number
    );
    assert!(notice_page.body.contains(&notice), "{}", notice_page.body);
    let entered = scenario.invoice_of("PO-2002").await;
    assert_eq!(entered.status, InvoiceStatus::Sent);
    let reason = entered.reason.unwrap_or_default();
    assert!(
        reason.starts_with("a person entered it in Coupa by hand (it was held: "),
        "{reason}"
    );
    scenario.app.drain(20).await;
    assert_eq!(
        scenario.invoice_of("PO-2002").await.status,
        InvoiceStatus::Sent
    );
    let accepted: Vec<String> = scenario
        .coupas
        .accepted_invoices()
        .into_iter()
        .map(|invoice| invoice.invoice_id)
        .collect();
    assert!(
        !accepted.contains(&held_invoice.invoice_number),
        "{accepted:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_retry_runs_dry_first() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    client.get("/invoices").await.unwrap();
    let failed = scenario.invoice_of("PO-2002").await;

    let dry = client
        .post("/invoices/retry-failed", &[("dry_run", "1")])
        .await
        .unwrap();

    assert_ok(&dry);
    assert!(dry
        .body
        .contains(&format!(">{}</a>", failed.invoice_number)));
    assert!(dry.body.contains("would retry"));
    assert_eq!(
        scenario.invoice_of("PO-2002").await.status,
        InvoiceStatus::Failed
    );
    assert!(scenario.audit_actions().await.is_empty());

    let id = failed.id.to_string();
    let confirm = client
        .post("/invoices/retry-failed", &[("ids", id.as_str())])
        .await
        .unwrap();

    assert_redirect(&confirm, "/invoices");
    let page = client.follow(&confirm).await.unwrap();
    let notice = format!("Retry queued for 1 invoice: {}.", failed.invoice_number);
    assert!(page.body.contains(&notice), "{}", page.body);
    assert_eq!(
        scenario.invoice_of("PO-2002").await.status,
        InvoiceStatus::Held
    );
    assert_eq!(
        scenario.audit_actions().await,
        [(EMAIL.to_owned(), "invoices.retry_failed".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_taken_back_is_confirmed_by_hand() {
    let scenario = Scenario::start().await;
    let po = scenario.po("PO-1001").await;
    scenario
        .app
        .sandbox
        .uninvoice_order(&scenario.app.brightpearl_code, scenario.order_id(&po))
        .unwrap();
    run_poll_cycle(&scenario.app, &scenario.clock).await;
    let changed = scenario.invoice_of("PO-1001").await;
    assert_eq!(changed.status, InvoiceStatus::ChangedAfterSending);
    let mut client = scenario.client().await;
    let path = scenario.invoice_path("PO-1001").await;

    let waiting = client.get("/dashboard").await.unwrap();
    let page = client.get(&path).await.unwrap();
    let answer = client.post(&format!("{path}/confirm"), &[]).await.unwrap();
    let after = client.get("/dashboard").await.unwrap();

    assert!(
        waiting.body.contains("Invoices waiting for a person (1)"),
        "{}",
        waiting.body
    );
    let link = format!("<a href=\"{path}\">{}</a>", changed.invoice_number);
    assert!(waiting.body.contains(&link), "{}", waiting.body);
    assert!(waiting.body.contains("Correct it in Coupa, then confirm"));
    assert!(after
        .body
        .contains("No invoice or credit waits for a person."));
    assert!(page.body.contains(">Confirm corrected in Coupa</button>"));
    assert!(!page.body.contains(">Retry</button>"));
    assert_redirect(&answer, &path);
    let confirmed = scenario.invoice_of("PO-1001").await;
    assert_eq!(confirmed.status, InvoiceStatus::Sent);
    assert_eq!(
        scenario.audit_actions().await,
        [(EMAIL.to_owned(), "invoice.confirm".to_owned())]
    );
    let again = client.post(&format!("{path}/confirm"), &[]).await.unwrap();
    assert_eq!(again.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_account_sees_none_of_it() {
    let scenario = Scenario::start().await;
    let (_, mut other) = scenario.app.other_account("globex").await.unwrap();
    let orders: Vec<PoId> = [
        scenario.po("PO-1001").await.id,
        scenario.po("PO-2002").await.id,
        scenario.po("PO-3003").await.id,
        scenario.po("PO-4004").await.id,
    ]
    .into();
    let invoices = [
        scenario.invoice_of("PO-1001").await,
        scenario.invoice_of("PO-2002").await,
    ];

    let dashboard = other.get("/dashboard").await.unwrap();
    assert_ok(&dashboard);
    for key in ["received", "synced", "awaiting", "failed", "invoices-sent"] {
        assert_eq!(text_of_id(&dashboard, &format!("{key}-30")), "0", "{key}");
    }
    assert_eq!(text_of_id(&dashboard, "rate-30"), "–");
    let order_log = other.get("/orders").await.unwrap();
    let invoice_log = other.get("/invoices").await.unwrap();
    for page in [&dashboard, &order_log, &invoice_log] {
        assert!(!page.body.contains("PO-"), "{}", page.body);
        assert!(!page.body.contains(&invoices[0].invoice_number));
    }

    for id in &orders {
        let path = format!("/orders/{id}");
        assert_eq!(other.get(&path).await.unwrap().status, 404, "{path}");
        for action in ["resync", "handled"] {
            let answer = other.post(&format!("{path}/{action}"), &[]).await.unwrap();
            assert_eq!(answer.status, 404, "{path}/{action}");
            assert!(!answer.body.contains("PO-"));
        }
    }
    for invoice in &invoices {
        let path = format!("/invoices/{}", invoice.id);
        let page = other.get(&path).await.unwrap();
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains(&invoice.invoice_number));
        for action in ["retry", "confirm"] {
            let answer = other.post(&format!("{path}/{action}"), &[]).await.unwrap();
            assert_eq!(answer.status, 404, "{path}/{action}");
        }
    }
    let ids = orders
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let bulk = other
        .post("/orders/resync-failed", &[("ids", ids.as_str())])
        .await
        .unwrap();
    assert_redirect(&bulk, "/orders");
    let invoice_ids = format!("{},{}", invoices[0].id, invoices[1].id);
    let bulk_invoices = other
        .post("/invoices/retry-failed", &[("ids", invoice_ids.as_str())])
        .await
        .unwrap();
    assert_redirect(&bulk_invoices, "/invoices");

    assert_eq!(scenario.po("PO-3003").await.status, PoStatus::Failed);
    assert_eq!(scenario.po("PO-2002").await.status, PoStatus::HeldForReview);
    assert_eq!(
        scenario.invoice_of("PO-2002").await.status,
        InvoiceStatus::Failed
    );
    assert!(scenario.audit_actions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_csrf_are_forbidden() {
    let scenario = Scenario::start().await;
    let mut client = scenario.client().await;
    let failed = scenario.order_path("PO-3003").await;
    let held = scenario.order_path("PO-2002").await;
    let invoice = scenario.invoice_path("PO-2002").await;
    let failed_id = scenario.po("PO-3003").await.id.to_string();
    let invoice_id = scenario.invoice_of("PO-2002").await.id.to_string();
    let jobs_before = scenario
        .app
        .store()
        .list_jobs(scenario.app.account.id)
        .await
        .unwrap();

    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{failed}/resync"), vec![]),
        (format!("{held}/handled"), vec![]),
        ("/orders/resync-failed".to_owned(), vec![("dry_run", "1")]),
        (
            "/orders/resync-failed".to_owned(),
            vec![("ids", &failed_id)],
        ),
        (format!("{invoice}/retry"), vec![]),
        (format!("{invoice}/confirm"), vec![]),
        ("/invoices/retry-failed".to_owned(), vec![("dry_run", "1")]),
        (
            "/invoices/retry-failed".to_owned(),
            vec![("ids", &invoice_id)],
        ),
    ];
    for (path, fields) in &posts {
        let answer = client.post_without_csrf(path, fields).await.unwrap();
        assert_eq!(answer.status, 403, "{path}");
    }

    assert_eq!(scenario.po("PO-3003").await.status, PoStatus::Failed);
    assert_eq!(scenario.po("PO-2002").await.status, PoStatus::HeldForReview);
    assert_eq!(
        scenario.invoice_of("PO-2002").await.status,
        InvoiceStatus::Failed
    );
    assert!(scenario.audit_actions().await.is_empty());
    let jobs_after = scenario
        .app
        .store()
        .list_jobs(scenario.app.account.id)
        .await
        .unwrap();
    assert_eq!(jobs_after, jobs_before);
}
