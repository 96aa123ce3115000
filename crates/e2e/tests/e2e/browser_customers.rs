//! The customers page in real headless Chromium. An order waits for its
//! customer, the contact is created in the sandbox Brightpearl from the
//! filled-in form, and the order is released and synced, with a screenshot
//! of each page. Then the same pages are checked on a phone.

use pobridge_e2e::browser::{log_in_as, start_browser, Browser, WindowSize};
use pobridge_e2e::waiting_order::{only_order, order_awaiting_customer};
use pobridge_e2e::TestApp;
use pobridge_store::PoStatus;

const USER: &str = "ops@acme.example";

/// Starts pobridge with the corpus order waiting for a customer, because
/// its BillTo (addressID 21444, "Network") matches no sandbox contact.
async fn app_with_waiting_order() -> TestApp {
    let (app, _) = order_awaiting_customer().await;
    app.add_user(USER).await.unwrap();
    app
}

async fn log_in_to_customers(browser: &Browser, app: &TestApp) {
    let ready_text = "orders waiting for a customer";
    log_in_as(browser, app, USER, "/customers", ready_text).await;
}

/// Reads the value of the form field with id `id`.
async fn field_value(browser: &Browser, id: &str) -> String {
    let script = format!("document.getElementById('{id}').value");
    let value = browser.eval(&script).await.unwrap();
    value.as_str().unwrap_or_default().to_owned()
}

async fn assert_fits_width(browser: &Browser, page: &str) {
    let main = browser.bounding_box("main").await.unwrap();
    assert!(main.fits_viewport_width(), "{page}: {main:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_created_from_form_releases_order() {
    let app = app_with_waiting_order().await;
    let browser = start_browser(WindowSize::DESKTOP).await;

    log_in_to_customers(&browser, &app).await;
    let text = browser.page_text().await.unwrap();
    for expected in [
        "21444",
        "Network",
        "billto.person@example.com",
        "not mapped",
        "3309",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert_fits_width(&browser, "customers").await;
    browser.screenshot("customers-waiting").await.unwrap();

    browser.click_text("Create in Brightpearl").await.unwrap();
    browser.wait_for("form.customer-form").await.unwrap();
    assert_eq!(field_value(&browser, "company").await, "Network");
    assert_eq!(field_value(&browser, "street").await, "Main Street");
    assert_eq!(field_value(&browser, "postcode").await, "10018");
    assert_eq!(field_value(&browser, "country").await, "US");
    browser.fill("phone", "+1 212 555 0100").await.unwrap();
    assert_fits_width(&browser, "create form").await;
    browser.screenshot("create-form").await.unwrap();
    browser
        .click_text("Create contact in Brightpearl")
        .await
        .unwrap();

    browser
        .wait_for_text("1 order waiting for it was released")
        .await
        .unwrap();
    let notice = browser.text("p.notice").await.unwrap();
    assert!(
        notice.starts_with("Created Brightpearl contact"),
        "{notice}"
    );
    browser.screenshot("contact-created").await.unwrap();
    app.drain(10).await;
    let po = only_order(&app).await;
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);

    browser
        .goto(&format!("{}/customers", app.base_url))
        .await
        .unwrap();
    browser
        .wait_for_text("chosen by ops@acme.example")
        .await
        .unwrap();
    let counts = browser.text(".customer-counts").await.unwrap();
    assert!(counts.contains("0\norders waiting"), "{counts}");
    browser.screenshot("customers-mapped").await.unwrap();
    browser
        .goto(&format!("{}/orders/{}", app.base_url, po.id))
        .await
        .unwrap();
    browser.wait_for_text("3309").await.unwrap();
    browser.screenshot("order-synced").await.unwrap();
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_pages_fit_phone() {
    let app = app_with_waiting_order().await;
    let browser = start_browser(WindowSize::PHONE).await;

    log_in_to_customers(&browser, &app).await;
    assert_fits_width(&browser, "customers").await;
    browser.screenshot("customers-phone").await.unwrap();
    browser.click_text("Choose contact").await.unwrap();
    browser.wait_for_text("Search Brightpearl").await.unwrap();
    browser.fill("lookup", "Initech").await.unwrap();
    browser.click_text("Search Brightpearl").await.unwrap();
    browser.wait_for_text("Initech Ltd").await.unwrap();
    assert_fits_width(&browser, "mapping page").await;
    browser.screenshot("map-phone").await.unwrap();
    browser
        .goto(&format!("{}/customers", app.base_url))
        .await
        .unwrap();
    browser.click_text("Create in Brightpearl").await.unwrap();
    browser.wait_for("form.customer-form").await.unwrap();
    browser.fill("country", "ZZ").await.unwrap();
    browser
        .click_text("Create contact in Brightpearl")
        .await
        .unwrap();
    browser.wait_for("#country-error").await.unwrap();
    let error = browser.text("#country-error").await.unwrap();
    assert!(error.contains("not a known country"), "{error}");
    assert_eq!(field_value(&browser, "company").await, "Network");
    assert_fits_width(&browser, "create form").await;
    let scroll = "document.getElementById('country').scrollIntoView({block: 'center'})";
    browser.eval(scroll).await.unwrap();
    browser.screenshot("create-rejected-phone").await.unwrap();
    browser.close().await.unwrap();
}
