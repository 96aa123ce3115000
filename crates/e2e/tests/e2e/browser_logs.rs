//! The order and invoice logs in real headless Chromium: an order that
//! failed while Brightpearl was down is re-synced from its page once
//! Brightpearl works again, and the dashboard then counts it, with its
//! count cards and chart inside a 1280×800 viewport. Screenshots of each
//! page go to `target/portal-screenshots/<test name>/`.

use chrono::{Duration, TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_e2e::browser::{Browser, BrowserOptions, WindowSize};
use pobridge_e2e::corpus::with_identity;
use pobridge_e2e::invoicing::{run_poll_cycle, BuyerCoupas};
use pobridge_e2e::portal_client::TEST_PASSWORD;
use pobridge_e2e::{buyer_from_header, configure_defaults, Options, TestApp};
use pobridge_sandbox::Faults;
use pobridge_store::{BuyerMode, InvoiceStatus, PoFilter, PoStatus, PurchaseOrder};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");
const EMAIL: &str = "ops@acme.example";

/// Returns the widgets order with its number and payloadID replaced.
fn numbered(number: &str) -> Vec<u8> {
    with_identity(ORDER.as_bytes(), &format!("{number}@buyer.example"), number)
}

async fn find(app: &TestApp, number: &str) -> PurchaseOrder {
    let filter = PoFilter {
        search: Some(number.to_owned()),
        ..PoFilter::default()
    };
    let found = app
        .store()
        .list_purchase_orders(app.account.id, &filter)
        .await
        .unwrap();
    found.into_iter().next().expect("the order is stored")
}

/// pobridge with PO-1001 synced and its invoice accepted by Coupa, and
/// PO-3003 failed because the sandbox Brightpearl returned 500 for longer
/// than the account's one-hour retry window. Brightpearl works normally
/// again when this returns.
async fn failed_while_brightpearl_was_down() -> (TestApp, BuyerCoupas) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let options = Options {
        clock: Some(clock.clone()),
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    app.set("retry_hours", "1").await.unwrap();
    let envelope =
        pobridge_cxml::read_envelope(ORDER.as_bytes(), &pobridge_cxml::Limits::default()).unwrap();
    let header = envelope.header.expect("the order has a header");
    let buyer = buyer_from_header("widgets", &header, "widgets-s3cret", BuyerMode::Production);
    app.buyer(buyer).await.unwrap();

    app.post_cxml(numbered("PO-1001")).await.unwrap();
    app.drain(20).await;
    let coupas = BuyerCoupas::start(&app, false).await.unwrap();
    coupas.issue_synced_pos(&app, |_| {}).await.unwrap();
    app.engine.schedule_invoicing(app.account.id).await.unwrap();
    app.drain(20).await;
    let order_id = find(&app, "PO-1001").await.brightpearl_order_id.unwrap();
    app.sandbox
        .invoice_order(&app.brightpearl_code, order_id as u64)
        .unwrap();
    run_poll_cycle(&app, &clock).await;

    let outage = Faults {
        fail_next_n_with_500: 10_000,
        ..Faults::default()
    };
    app.sandbox.set_faults(&app.brightpearl_code, outage);
    app.post_cxml(numbered("PO-3003")).await.unwrap();
    for _ in 0..12 {
        app.drain(20).await;
        clock.advance(Duration::minutes(10));
    }
    assert_eq!(find(&app, "PO-3003").await.status, PoStatus::Failed);
    app.sandbox
        .set_faults(&app.brightpearl_code, Faults::default());
    (app, coupas)
}

async fn log_in(browser: &Browser, app: &TestApp) {
    browser
        .goto(&format!("{}/login", app.base_url))
        .await
        .unwrap();
    browser.fill("email", EMAIL).await.unwrap();
    browser.fill("password", TEST_PASSWORD).await.unwrap();
    browser.click_text("Log in").await.unwrap();
    browser.wait_for("#card-received").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_order_resynced_from_its_page() {
    let (app, coupas) = failed_while_brightpearl_was_down().await;
    assert_eq!(coupas.accepted_invoices().len(), 1);
    app.add_user(EMAIL).await.unwrap();
    let browser = Browser::start().await.unwrap();
    log_in(&browser, &app).await;

    browser
        .goto(&format!("{}/orders", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("PO-3003").await.unwrap();
    browser.screenshot("order-log").await.unwrap();
    browser.click_text("PO-3003").await.unwrap();
    browser.wait_for_text("Where it stands").await.unwrap();
    let standing = browser.text("section.now").await.unwrap();
    assert!(standing.contains("Failed:"), "{standing}");
    assert!(standing.contains("HTTP 500"), "{standing}");
    browser.screenshot("order-failed").await.unwrap();

    browser.click_text("Re-sync").await.unwrap();
    browser.wait_for_text("Re-sync queued").await.unwrap();
    app.drain(20).await;
    let order_page = browser.current_url().await.unwrap();
    browser.goto(&order_page).await.unwrap();
    browser
        .wait_for_text("Synced: its Brightpearl sales order exists.")
        .await
        .unwrap();
    browser.screenshot("order-synced").await.unwrap();
    assert_eq!(find(&app, "PO-3003").await.status, PoStatus::Synced);

    browser
        .goto(&format!("{}/dashboard", app.base_url))
        .await
        .unwrap();
    browser.wait_for("#daily-chart svg").await.unwrap();
    for (id, expected) in [
        ("#received-today", "2"),
        ("#synced-today", "2"),
        ("#failed-today", "1"),
        ("#invoices-sent-today", "1"),
        ("#invoices-failed-today", "0"),
        ("#rate-today", "33.3%"),
    ] {
        assert_eq!(browser.text(id).await.unwrap(), expected, "{id}");
    }
    for selector in [".cards.counts", "#daily-chart svg"] {
        let measured = browser.bounding_box(selector).await.unwrap();
        assert!(measured.inside_viewport(), "{selector}: {measured:?}");
    }
    browser.screenshot("dashboard").await.unwrap();

    browser
        .goto(&format!("{}/invoices", app.base_url))
        .await
        .unwrap();
    let invoice = app
        .store()
        .invoices_for_po(app.account.id, find(&app, "PO-1001").await.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(invoice.status, InvoiceStatus::Sent);
    browser
        .wait_for_text(&invoice.invoice_number)
        .await
        .unwrap();
    browser.screenshot("invoice-log").await.unwrap();
    browser.click_text(&invoice.invoice_number).await.unwrap();
    browser.wait_for_text("Coupa total").await.unwrap();
    browser.screenshot("invoice-detail").await.unwrap();
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_fits_a_phone() {
    let (app, _coupas) = failed_while_brightpearl_was_down().await;
    app.add_user(EMAIL).await.unwrap();
    let options = BrowserOptions {
        window: WindowSize::PHONE,
        ..BrowserOptions::default()
    };
    let browser = Browser::start_with(options).await.unwrap();

    log_in(&browser, &app).await;

    assert_eq!(browser.text("#failed-today").await.unwrap(), "1");
    for selector in [".cards.counts", "#daily-chart svg", "main"] {
        let measured = browser.bounding_box(selector).await.unwrap();
        assert!(measured.fits_viewport_width(), "{selector}: {measured:?}");
    }
    browser.screenshot("dashboard-phone").await.unwrap();
    browser
        .goto(&format!("{}/orders", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("PO-3003").await.unwrap();
    let main = browser.bounding_box("main").await.unwrap();
    assert!(main.fits_viewport_width(), "{main:?}");
    browser.screenshot("order-log-phone").await.unwrap();
    browser.close().await.unwrap();
}
