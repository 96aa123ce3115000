//! Proves the browser harness in real headless Chromium against a small
//! settings form that the test serves. The tests type, choose, submit, read
//! cookies, take screenshots and check the viewport at desktop and phone
//! sizes. They also check the errors of a timed-out wait and a missing button.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Form, Router};
use pobridge_e2e::browser::{Browser, BrowserOptions, WaitTimeout, WindowSize};

const SETTINGS_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Supplier settings</title>
<style>
  body { margin: 0; font-family: sans-serif; }
  #panel { box-sizing: border-box; max-width: 40rem; margin: 0 auto; padding: 1rem; }
  label { display: block; margin-bottom: 0.5rem; }
  #wide { width: 600px; height: 1rem; background: #c33; }
</style>
</head>
<body>
<main id="panel">
  <h1>Supplier settings</h1>
  <form method="post" action="/save">
    <label>Company <input name="company" value="Old name"></label>
    <label>Currency
      <select name="currency">
        <option value="USD">US dollar</option>
        <option value="EUR">Euro</option>
        <option value="GBP">Pound sterling</option>
      </select>
    </label>
    <label>Tax level
      <select name="tax_level">
        <option value="summary">On the summary</option>
        <option value="line">On each line</option>
      </select>
    </label>
    <label><input type="checkbox" name="header_charges" value="yes"> Header charges</label>
    <button type="submit">Save settings</button>
  </form>
</main>
<div id="wide"></div>
</body>
</html>
"#;

const COOKIE_NAME: &str = "pobridge_smoke";

/// Serves the settings form on a loopback port and returns its base URL.
async fn serve_settings_page() -> String {
    let router = Router::new()
        .route("/", get(|| async { Html(SETTINGS_PAGE) }))
        .route("/save", post(save_settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port is free");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base_url
}

async fn save_settings(Form(fields): Form<HashMap<String, String>>) -> impl IntoResponse {
    let field = |name: &str| escape_html(fields.get(name).map_or("", String::as_str));
    let header_charges = if fields.contains_key("header_charges") {
        "yes"
    } else {
        "no"
    };
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Saved</title></head>\
         <body><p id=\"result\">Saved {} in {}, tax {}, header charges {header_charges}</p>\
         <a id=\"back\" href=\"/\">Back to settings</a></body></html>",
        field("company"),
        field("currency"),
        field("tax_level"),
    );
    let cookie = format!("{COOKIE_NAME}=saved; Path=/; HttpOnly; SameSite=Lax");
    ([(SET_COOKIE, cookie)], Html(page))
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn browser_at(window: WindowSize) -> Browser {
    Browser::start_with(BrowserOptions {
        window,
        ..BrowserOptions::default()
    })
    .await
    .expect("chromedriver and Chromium start")
}

/// Checks that `path` contains a PNG of `window`'s size, read from its header.
fn assert_png(path: &Path, window: WindowSize) {
    let bytes = std::fs::read(path).expect("the screenshot file exists");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 1_000,
        "{} has a picture in it",
        path.display()
    );
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(
        (width, height),
        (window.width, window.height),
        "{}",
        path.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_submission_round_trip() {
    let base_url = serve_settings_page().await;
    let browser = Browser::start()
        .await
        .expect("chromedriver and Chromium start");
    browser.goto(&format!("{base_url}/")).await.unwrap();

    browser.fill("company", "Acme Supplies").await.unwrap();
    let company = browser
        .eval("document.querySelector('[name=company]').value")
        .await
        .unwrap();
    assert_eq!(company, "Acme Supplies", "fill replaces the old value");
    browser.select("currency", "Euro").await.unwrap();
    browser.select("tax_level", "line").await.unwrap();
    browser.set_checkbox("header_charges", true).await.unwrap();
    browser.click_text("Save settings").await.unwrap();

    browser.wait_for("#result").await.unwrap();
    assert_eq!(
        browser.text("#result").await.unwrap(),
        "Saved Acme Supplies in EUR, tax line, header charges yes"
    );
    assert_eq!(
        browser.current_url().await.unwrap(),
        format!("{base_url}/save")
    );

    let cookie = browser
        .cookie(COOKIE_NAME)
        .await
        .unwrap()
        .expect("the server's cookie is stored");
    assert_eq!(cookie.value, "saved");
    assert!(cookie.http_only, "the cookie is HttpOnly");
    assert_eq!(cookie.same_site.as_deref(), Some("Lax"));
    assert_eq!(browser.cookie("no_such_cookie").await.unwrap(), None);

    let screenshot = browser.screenshot("saved").await.unwrap();
    assert!(
        screenshot
            .ends_with("portal-screenshots/browser_smoke__form_submission_round_trip/01-saved.png"),
        "screenshot path {}",
        screenshot.display()
    );
    assert_png(&screenshot, WindowSize::DESKTOP);

    browser.click_css("a#back").await.unwrap();
    browser.wait_for_text("Supplier settings").await.unwrap();
    assert_eq!(browser.current_url().await.unwrap(), format!("{base_url}/"));
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_viewport_contains_form() {
    let base_url = serve_settings_page().await;
    let browser = browser_at(WindowSize::DESKTOP).await;
    browser.goto(&format!("{base_url}/")).await.unwrap();

    let viewport = browser
        .eval("[window.innerWidth, window.innerHeight]")
        .await
        .unwrap();
    assert_eq!(viewport, serde_json::json!([1280, 800]));
    let panel_inside = browser
        .eval(
            "(() => { const r = document.querySelector('#panel').getBoundingClientRect(); \
             return r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth \
             && r.bottom <= window.innerHeight; })()",
        )
        .await
        .unwrap();
    assert_eq!(panel_inside, true, "the panel is inside the viewport");

    let panel = browser.bounding_box("#panel").await.unwrap();
    assert!(panel.inside_viewport(), "{panel:?}");
    let wide = browser.bounding_box("#wide").await.unwrap();
    assert!(wide.fits_viewport_width(), "{wide:?}");
    assert_png(
        &browser.screenshot("desktop").await.unwrap(),
        WindowSize::DESKTOP,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_viewport_shows_overflow() {
    let base_url = serve_settings_page().await;
    let browser = browser_at(WindowSize::PHONE).await;
    browser.goto(&format!("{base_url}/")).await.unwrap();

    // The layout viewport: a phone zooms out to fit the 600px strip, which
    // widens `window.innerWidth` but not the root element's client area.
    let viewport = browser
        .eval("[document.documentElement.clientWidth, document.documentElement.clientHeight]")
        .await
        .unwrap();
    assert_eq!(viewport, serde_json::json!([390, 844]));

    let panel = browser.bounding_box("#panel").await.unwrap();
    assert!(panel.inside_viewport(), "{panel:?}");
    assert_eq!(panel.viewport_width, 390.0);
    let wide = browser.bounding_box("#wide").await.unwrap();
    assert!(
        !wide.fits_viewport_width(),
        "a 600px strip overflows a 390px viewport: {wide:?}"
    );
    let overflows = browser
        .eval("document.documentElement.scrollWidth > document.documentElement.clientWidth")
        .await
        .unwrap();
    assert_eq!(overflows, true, "the page scrolls sideways");
    assert_png(
        &browser.screenshot("phone").await.unwrap(),
        WindowSize::PHONE,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_wait_names_what_and_where() {
    let base_url = serve_settings_page().await;
    let browser = Browser::start_with(BrowserOptions {
        wait_timeout: Duration::from_millis(300),
        ..BrowserOptions::default()
    })
    .await
    .expect("chromedriver and Chromium start");
    browser.goto(&format!("{base_url}/")).await.unwrap();

    let error = browser.wait_for("#never-shown").await.unwrap_err();
    let timeout = error
        .downcast_ref::<WaitTimeout>()
        .expect("a wait that runs out fails with WaitTimeout");
    assert_eq!(timeout.awaited, "an element matching `#never-shown`");
    assert_eq!(timeout.url, format!("{base_url}/"));
    assert!(
        timeout.page_text.starts_with("Supplier settings Company"),
        "{timeout:?}"
    );
    let message = error.to_string();
    assert!(message.contains("#never-shown"), "{message}");
    assert!(message.contains(&base_url), "{message}");
    assert!(message.contains("Supplier settings"), "{message}");
    let screenshot = timeout
        .screenshot
        .as_deref()
        .expect("a screenshot is taken");
    assert!(
        message.contains(&screenshot.display().to_string()),
        "{message}"
    );
    assert_png(screenshot, WindowSize::DESKTOP);

    let error = browser.wait_for_text("Payment received").await.unwrap_err();
    assert!(
        error.to_string().contains("the text \"Payment received\""),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_targets_list_what_exists() {
    let base_url = serve_settings_page().await;
    let browser = Browser::start()
        .await
        .expect("chromedriver and Chromium start");
    browser.goto(&format!("{base_url}/")).await.unwrap();

    let error = browser.click_text("Delete everything").await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("\"Delete everything\""), "{message}");
    assert!(message.contains("\"Save settings\""), "{message}");
    assert!(message.contains(&base_url), "{message}");

    let error = browser.select("currency", "Yen").await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("\"Pound sterling\" (value \"GBP\")"),
        "{message}"
    );

    let error = browser.fill("no_such_field", "x").await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("form field named \"no_such_field\""),
        "{message}"
    );
    assert!(message.contains("Supplier settings"), "{message}");

    let error = browser.fill("currency", "EUR").await.unwrap_err();
    assert!(error.to_string().contains("Browser::select"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_keep_separate_cookies() {
    let base_url = serve_settings_page().await;
    let (first, second) = tokio::join!(Browser::start(), Browser::start());
    let (first, second) = (first.unwrap(), second.unwrap());

    first.goto(&format!("{base_url}/")).await.unwrap();
    first.click_text("Save settings").await.unwrap();
    first.wait_for("#result").await.unwrap();
    second.goto(&format!("{base_url}/")).await.unwrap();

    assert!(first.cookie(COOKIE_NAME).await.unwrap().is_some());
    assert_eq!(
        second.cookie(COOKIE_NAME).await.unwrap(),
        None,
        "each browser has its own profile"
    );
}
