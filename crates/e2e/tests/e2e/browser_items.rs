//! The item mapping page in real headless Chromium. A corpus order waits
//! for a mapping of one part. The user filters the list to unmapped items,
//! searches the product index and maps the part, which releases the order,
//! and the order syncs to the sandbox Brightpearl. A screenshot is taken of
//! each page, and the mapping page is checked on a phone.

use pobridge_e2e::browser::{
    assert_no_sideways_scroll, log_in_as, start_browser, Browser, WindowSize,
};
use pobridge_e2e::waiting_order::{only_order, order_awaiting_mapping};
use pobridge_e2e::TestApp;
use pobridge_store::PoStatus;

const USER: &str = "ops@acme.example";

/// Starts pobridge with the corpus order waiting for a mapping of
/// `product:1861`.
async fn app_with_held_order() -> TestApp {
    let (app, _) = order_awaiting_mapping().await;
    app.add_user(USER).await.unwrap();
    app
}

async fn log_in_to_items(browser: &Browser, app: &TestApp) {
    log_in_as(browser, app, USER, "/items", "Export and import mappings").await;
}

/// Opens the mapping page of the only unmapped item from the filtered list.
async fn open_unmapped_item(browser: &Browser) {
    browser.select("status", "Unmapped").await.unwrap();
    browser.click_text("Filter").await.unwrap();
    browser.wait_for_text("Items 1 to 1 of 1.").await.unwrap();
    let table = browser.text("table.items").await.unwrap();
    assert!(table.contains("product:1861"), "{table}");
    assert!(!table.contains("product:4884"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_unmapped_item_releases_order() {
    let app = app_with_held_order().await;
    let browser = start_browser(WindowSize::DESKTOP).await;

    log_in_to_items(&browser, &app).await;
    let text = browser.page_text().await.unwrap();
    assert!(text.contains("product:1861"), "{text}");
    assert!(text.contains("unmapped"), "{text}");
    browser.screenshot("items-list").await.unwrap();
    open_unmapped_item(&browser).await;
    browser.screenshot("items-unmapped").await.unwrap();

    browser.click_css("table.items td.actions a").await.unwrap();
    browser
        .wait_for_text("Map a Coupa item to a Brightpearl product")
        .await
        .unwrap();
    browser.fill("q", "SVC-INSTALL").await.unwrap();
    browser.click_text("Search products").await.unwrap();
    browser.wait_for("#product-1019").await.unwrap();
    let products = browser.text("table.products").await.unwrap();
    assert!(
        products.contains("Installation service, per hour"),
        "{products}"
    );
    assert!(!products.contains("Safety gloves"), "{products}");
    browser.click_css("#product-1019").await.unwrap();
    browser.screenshot("item-map").await.unwrap();
    browser.click_text("Save mapping").await.unwrap();

    browser
        .wait_for_text("1 waiting order is tried again now.")
        .await
        .unwrap();
    let notice = browser.text("p.notice").await.unwrap();
    assert!(
        notice.starts_with("Coupa part product:1861 now maps to product 1019"),
        "{notice}"
    );
    browser.screenshot("item-mapped").await.unwrap();
    app.drain(10).await;
    let po = only_order(&app).await;
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);

    browser
        .goto(&format!("{}/orders/{}", app.base_url, po.id))
        .await
        .unwrap();
    browser.wait_for_text("3309").await.unwrap();
    let page = browser.page_text().await.unwrap();
    assert!(page.to_lowercase().contains("synced"), "{page}");
    browser.screenshot("order-synced").await.unwrap();
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_pages_fit_phone() {
    let app = app_with_held_order().await;
    let browser = start_browser(WindowSize::PHONE).await;

    log_in_to_items(&browser, &app).await;
    assert_no_sideways_scroll(&browser, "item list").await;
    browser.screenshot("items-phone").await.unwrap();
    open_unmapped_item(&browser).await;
    browser.click_css("table.items td.actions a").await.unwrap();
    browser.wait_for("form.item-map-form").await.unwrap();
    assert_no_sideways_scroll(&browser, "item mapping page").await;
    browser.screenshot("item-map-phone").await.unwrap();
    browser.close().await.unwrap();
}
