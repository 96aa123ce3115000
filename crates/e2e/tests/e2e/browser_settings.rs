//! Settings in real headless Chromium. One test logs in, connects the
//! sandbox Brightpearl through its Approve page, waits for the data and
//! chooses the defaults from the drop-downs. Another loads the same pages
//! on a phone.

use pobridge_e2e::browser::{assert_no_sideways_scroll, Browser, BrowserOptions, WindowSize};
use pobridge_e2e::portal_client::TEST_PASSWORD;
use pobridge_e2e::{Options, TestApp};
use pobridge_store::ReferenceKind;
use serde_json::json;

const EMAIL: &str = "ops@acme.example";

async fn log_in(browser: &Browser, app: &TestApp, next: &str) {
    browser
        .goto(&format!("{}/login?next={next}", app.base_url))
        .await
        .unwrap();
    browser.fill("email", EMAIL).await.unwrap();
    browser.fill("password", TEST_PASSWORD).await.unwrap();
    browser.click_text("Log in").await.unwrap();
}

/// Returns the display name of the first stored item of `kind`.
async fn first_name(app: &TestApp, kind: ReferenceKind) -> String {
    let data = app
        .store()
        .reference_data(app.account.id, kind)
        .await
        .unwrap()
        .expect("reference data is pulled");
    data.data[0]["name"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_then_choose_defaults() {
    let app = TestApp::start_with(Options {
        unconnected: true,
        ..Options::default()
    })
    .await
    .expect("pobridge starts");
    app.add_user(EMAIL).await.unwrap();
    let browser = Browser::start().await.expect("Chromium starts");

    log_in(&browser, &app, "/settings").await;
    browser
        .wait_for_text("Brightpearl connection")
        .await
        .unwrap();
    assert!(browser.page_text().await.unwrap().contains("Not connected"));
    browser.screenshot("general-not-connected").await.unwrap();

    browser
        .fill("account_code", &app.brightpearl_code)
        .await
        .unwrap();
    browser
        .select("data_centre", "Europe (euw1)")
        .await
        .unwrap();
    browser.click_text("Connect").await.unwrap();
    browser.wait_for_text("asks for access").await.unwrap();
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .starts_with(&app.sandbox_url));
    browser.screenshot("brightpearl-approve").await.unwrap();

    browser.click_text("Approve").await.unwrap();
    browser
        .wait_for_text("Brightpearl approved access")
        .await
        .unwrap();
    browser.screenshot("approved").await.unwrap();

    browser.click_text("Finish connecting").await.unwrap();
    browser
        .wait_for_text("Brightpearl is connected")
        .await
        .unwrap();
    assert!(browser
        .page_text()
        .await
        .unwrap()
        .contains("Waiting to start"));
    browser.screenshot("pull-waiting").await.unwrap();

    // The test's worker runs only when drained; the page reloads itself
    // every 3 seconds and shows the finished pull.
    app.drain(20).await;
    browser.wait_for_text("Finished").await.unwrap();
    let text = browser.page_text().await.unwrap();
    assert!(text.contains("Connected"), "{text}");
    assert!(text.contains(&app.brightpearl_code), "{text}");
    browser.screenshot("pull-finished").await.unwrap();

    browser.click_text("Defaults").await.unwrap();
    browser
        .wait_for_text("Where new sales orders go")
        .await
        .unwrap();
    browser.screenshot("defaults").await.unwrap();

    let channel = first_name(&app, ReferenceKind::Channels).await;
    let warehouse = first_name(&app, ReferenceKind::Warehouses).await;
    browser.select("channel_id", &channel).await.unwrap();
    browser.select("warehouse_id", &warehouse).await.unwrap();
    browser
        .select("default_tax_code", "Z – Zero rated")
        .await
        .unwrap();
    browser
        .select("shipping", "Left out of the sales order")
        .await
        .unwrap();
    browser
        .select("custom_fields.PCF_APPROVED", "Yes")
        .await
        .unwrap();
    browser
        .select("custom_fields.PCF_CHANNEL", "Coupa")
        .await
        .unwrap();
    browser.click_text("Save defaults").await.unwrap();
    browser.wait_for_text("Defaults saved").await.unwrap();
    browser.screenshot("defaults-saved").await.unwrap();

    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert!(settings.channel_id.is_some());
    assert!(settings.warehouse_id.is_some());
    assert_eq!(settings.default_tax_code.as_deref(), Some("Z"));
    assert_eq!(settings.shipping, pobridge_core::ShippingTreatment::Omit);
    assert_eq!(settings.custom_fields["PCF_APPROVED"], json!(true));
    assert_eq!(settings.custom_fields["PCF_CHANNEL"], json!({ "id": 160 }));
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_pages_fit_a_phone() {
    let app = TestApp::start().await.expect("pobridge starts");
    app.add_user(EMAIL).await.unwrap();
    let browser = Browser::start_with(BrowserOptions {
        window: WindowSize::PHONE,
        ..BrowserOptions::default()
    })
    .await
    .expect("Chromium starts");

    log_in(&browser, &app, "/settings").await;
    browser.wait_for_text("Brightpearl data").await.unwrap();
    assert_no_sideways_scroll(&browser, "Settings → General").await;
    browser.screenshot("general-phone").await.unwrap();

    browser
        .goto(&format!("{}/settings/defaults", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("Invoice row rules").await.unwrap();
    assert_no_sideways_scroll(&browser, "Settings → Defaults").await;
    let form = browser.bounding_box("form.defaults").await.unwrap();
    assert!(form.fits_viewport_width(), "{form:?}");
    browser.screenshot("defaults-phone").await.unwrap();
    browser.close().await.unwrap();
}
