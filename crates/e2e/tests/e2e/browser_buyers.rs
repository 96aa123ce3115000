//! Settings → Coupa buyers in real headless Chromium. One test logs in,
//! adds a buyer through the form, reads the order URL to give Coupa, sends
//! a test order and reads pobridge's response, with a screenshot of each
//! page. Another checks the buyer's page on a phone.

use pobridge_e2e::browser::{Browser, BrowserOptions, WindowSize};
use pobridge_e2e::portal_client::TEST_PASSWORD;
use pobridge_e2e::TestApp;
use pobridge_store::BuyerMode;

const USER: &str = "ops@acme.example";
const SECRET: &str = "widgets-s3cret";

async fn log_in(browser: &Browser, app: &TestApp) {
    browser
        .goto(&format!("{}/login?next=/settings/buyers", app.base_url))
        .await
        .unwrap();
    browser.fill("email", USER).await.unwrap();
    browser.fill("password", TEST_PASSWORD).await.unwrap();
    browser.click_text("Log in").await.unwrap();
    browser.wait_for_text("Add a Coupa buyer").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyer_added_and_test_order_answered() {
    let app = TestApp::start().await.expect("pobridge starts");
    app.add_user(USER).await.unwrap();
    let browser = Browser::start()
        .await
        .expect("chromedriver and Chromium start");

    log_in(&browser, &app).await;
    assert!(browser
        .page_text()
        .await
        .unwrap()
        .contains("No Coupa buyers yet"));
    browser.screenshot("buyers-empty").await.unwrap();

    browser.click_text("Add a Coupa buyer").await.unwrap();
    browser.wait_for("form.buyer-form").await.unwrap();
    browser.fill("from_domain", "NetworkID").await.unwrap();
    browser.fill("from_identity", "BUYER-1").await.unwrap();
    browser.fill("secret", SECRET).await.unwrap();
    browser.click_text("Add buyer").await.unwrap();

    browser.wait_for_text("Nothing was saved").await.unwrap();
    let invalid = browser
        .eval("document.querySelector('#to_domain').getAttribute('aria-invalid')")
        .await
        .unwrap();
    assert_eq!(invalid, "true");
    assert!(browser.text("#to-error").await.unwrap().contains("domain"));
    let kept = browser
        .eval("document.querySelector('#from_identity').value")
        .await
        .unwrap();
    assert_eq!(kept, "BUYER-1", "typed values stay in the form");
    browser.screenshot("add-form-errors").await.unwrap();

    browser.fill("to_domain", "DUNS").await.unwrap();
    browser.fill("to_identity", "123456789").await.unwrap();
    browser.fill("sender_domain", "NetworkID").await.unwrap();
    browser.fill("sender_identity", "BUYER-1").await.unwrap();
    browser.fill("secret", SECRET).await.unwrap();
    browser.select("mode", "test").await.unwrap();
    browser.fill("tax_map", "T20=VAT:20").await.unwrap();
    browser.eval("window.scrollTo(0, 0)").await.unwrap();
    browser.screenshot("add-form").await.unwrap();
    browser.click_text("Add buyer").await.unwrap();

    browser.wait_for_text("Buyer BUYER-1 added").await.unwrap();
    let order_url = format!("{}/cxml/acme", app.base_url);
    assert_eq!(browser.text("code.order-url.big").await.unwrap(), order_url);
    browser.screenshot("buyer-page").await.unwrap();
    let buyer = app
        .store()
        .buyer_by_name(app.account.id, "BUYER-1")
        .await
        .unwrap();
    assert_eq!(buyer.mode, BuyerMode::Test);
    assert_eq!(buyer.invoicing["tax_map"]["T20"]["category"], "VAT");

    browser.fill("test_secret", SECRET).await.unwrap();
    browser.click_text("Send test order").await.unwrap();
    browser.wait_for(".test-answer").await.unwrap();
    let answer = browser.text(".test-answer").await.unwrap();
    assert_eq!(answer, "200 OK");
    let text = browser.page_text().await.unwrap();
    assert!(text.contains("Test order TEST-"), "{text}");
    assert!(
        text.contains("was stored as purchase order TEST-"),
        "{text}"
    );
    browser.screenshot("test-order-answer").await.unwrap();
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyer_page_fits_phone() {
    let app = TestApp::start().await.expect("pobridge starts");
    let mut client = app.portal_as(USER).await.unwrap();
    client.get("/settings/buyers/new").await.unwrap();
    let added = client
        .post(
            "/settings/buyers/new",
            &[
                ("from_domain", "NetworkID"),
                ("from_identity", "AN01000000001-LONG-IDENTITY"),
                ("to_domain", "DUNS"),
                ("to_identity", "123456789"),
                ("sender_domain", "NetworkID"),
                ("sender_identity", "AN01000000001-LONG-IDENTITY"),
                ("secret", SECRET),
                ("mode", "production"),
                ("tax_level", "summary"),
                ("header_charges", "no"),
                ("credit_form", "negative-quantities"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(added.status, 303, "{}", added.body);
    let browser = Browser::start_with(BrowserOptions {
        window: WindowSize::PHONE,
        ..BrowserOptions::default()
    })
    .await
    .expect("chromedriver and Chromium start");

    log_in(&browser, &app).await;
    browser.screenshot("buyers-list-phone").await.unwrap();
    browser
        .click_text("AN01000000001-LONG-IDENTITY")
        .await
        .unwrap();
    browser.wait_for("code.order-url.big").await.unwrap();

    let url_box = browser.bounding_box("code.order-url.big").await.unwrap();
    assert!(url_box.fits_viewport_width(), "{url_box:?}");
    let form_box = browser.bounding_box("form.buyer-form").await.unwrap();
    assert!(form_box.fits_viewport_width(), "{form_box:?}");
    let overflows = browser
        .eval("document.documentElement.scrollWidth > document.documentElement.clientWidth")
        .await
        .unwrap();
    assert_eq!(overflows, false, "the buyer page does not scroll sideways");
    browser.screenshot("buyer-page-phone").await.unwrap();
    browser.close().await.unwrap();
}
