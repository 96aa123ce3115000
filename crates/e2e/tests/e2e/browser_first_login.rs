//! The first login of a new account in real headless Chromium. The
//! operator creates the account as `pobridge account add` does, and the test
//! reads the link from the outbox. The new user chooses a password, lands
//! logged in, logs out and logs in again with the form. A second test shows
//! the users page and the audit trail on a phone.

use pobridge_e2e::browser::{assert_no_sideways_scroll, Browser, BrowserOptions, WindowSize};
use pobridge_e2e::TestApp;
use pobridge_engine::admin::users::{add_user, Actor};
use pobridge_engine::admin::{self};
use pobridge_portal::mail::{queue_password_link, PasswordMail};
use pobridge_portal::PortalConfig;

const EMAIL: &str = "boss@initech.example";
const PASSWORD: &str = "initech first login password";

/// Creates the account and its first user and returns the link of the
/// welcome e-mail, read from the outbox.
async fn create_account(app: &TestApp) -> String {
    admin::create_account(&app.engine, "initech", EMAIL)
        .await
        .unwrap();
    let (account, user) = add_user(&app.engine, "initech", EMAIL, &Actor::cli())
        .await
        .unwrap();
    let config = PortalConfig::new(app.base_url.clone());
    queue_password_link(&app.engine, &config, &account, &user, PasswordMail::Welcome)
        .await
        .unwrap();

    let mail = app.store().list_mail(Some(account.id), 10).await.unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipient, EMAIL);
    let start = mail[0].body.find(&app.base_url).expect("a link");
    mail[0].body[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_from_emailed_link() {
    let app = TestApp::start().await.expect("pobridge starts");
    let link = create_account(&app).await;
    let browser = Browser::start().await.expect("Chromium starts");

    browser.goto(&link).await.unwrap();
    browser.wait_for_text("Choose your password").await.unwrap();
    assert!(browser.page_text().await.unwrap().contains(EMAIL));
    browser.screenshot("choose-password").await.unwrap();

    browser.fill("password", PASSWORD).await.unwrap();
    browser
        .fill("confirm", "a different password typed")
        .await
        .unwrap();
    browser
        .click_text("Save password and log in")
        .await
        .unwrap();
    browser.wait_for("#password-error").await.unwrap();
    assert!(browser
        .text("#password-error")
        .await
        .unwrap()
        .contains("type the same password twice"));
    browser.screenshot("passwords-differ").await.unwrap();

    choose_password(&browser, PASSWORD).await;
    wait_for_path(&browser, &app, "/dashboard").await;
    let session = browser.cookie("pobridge_session").await.unwrap();
    assert!(session.is_some(), "logged in");
    browser.screenshot("landed-on-dashboard").await.unwrap();

    browser
        .goto(&format!("{}/settings/users", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("Invite a user").await.unwrap();
    assert!(browser.page_text().await.unwrap().contains("Password set"));
    browser.screenshot("users").await.unwrap();

    browser.click_text("Log out").await.unwrap();
    browser.wait_for("#password").await.unwrap();
    assert_eq!(browser.cookie("pobridge_session").await.unwrap(), None);
    browser.fill("email", EMAIL).await.unwrap();
    browser.fill("password", PASSWORD).await.unwrap();
    browser.screenshot("login-form").await.unwrap();
    browser.click_text("Log in").await.unwrap();
    wait_for_path(&browser, &app, "/dashboard").await;
    assert!(browser.cookie("pobridge_session").await.unwrap().is_some());
    browser.screenshot("logged-in-again").await.unwrap();

    browser.goto(&link).await.unwrap();
    browser
        .wait_for_text("This link no longer works")
        .await
        .unwrap();
    browser.screenshot("used-link").await.unwrap();
}

/// Types `password` twice and sends the form.
async fn choose_password(browser: &Browser, password: &str) {
    browser.fill("password", password).await.unwrap();
    browser.fill("confirm", password).await.unwrap();
    browser
        .click_text("Save password and log in")
        .await
        .unwrap();
}

/// Waits until the browser shows `path`, which may still be a 404 page
/// while the page at that path is being built.
async fn wait_for_path(browser: &Browser, app: &TestApp, path: &str) {
    let expected = format!("{}{path}", app.base_url);
    for _ in 0..100 {
        if browser.current_url().await.unwrap() == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the browser is at {}, not {expected}",
        browser.current_url().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_audit_fit_a_phone() {
    let app = TestApp::start().await.expect("pobridge starts");
    let link = create_account(&app).await;
    let browser = Browser::start_with(BrowserOptions {
        window: WindowSize::PHONE,
        ..BrowserOptions::default()
    })
    .await
    .expect("Chromium starts");

    browser.goto(&link).await.unwrap();
    browser.wait_for_text("Choose your password").await.unwrap();
    assert_no_sideways_scroll(&browser, "the password form").await;
    browser.screenshot("choose-password-phone").await.unwrap();
    choose_password(&browser, PASSWORD).await;
    wait_for_path(&browser, &app, "/dashboard").await;

    browser
        .goto(&format!("{}/settings/users", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("Invite a user").await.unwrap();
    browser
        .fill("email", "a-rather-long-address@initech.example")
        .await
        .unwrap();
    browser.click_text("Send the invitation").await.unwrap();
    browser
        .wait_for_text("Invitation sent to a-rather-long-address@initech.example.")
        .await
        .unwrap();
    assert_no_sideways_scroll(&browser, "the users page").await;
    browser.screenshot("users-phone").await.unwrap();

    browser
        .goto(&format!("{}/settings/audit", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("Audit trail").await.unwrap();
    let text = browser.page_text().await.unwrap();
    assert!(
        text.contains("invited a-rather-long-address@initech.example"),
        "{text}"
    );
    assert_no_sideways_scroll(&browser, "the audit trail").await;
    browser.screenshot("audit-phone").await.unwrap();

    browser
        .goto(&format!("{}/password/forgot", app.base_url))
        .await
        .unwrap();
    browser.wait_for_text("Reset your password").await.unwrap();
    assert_no_sideways_scroll(&browser, "the reset form").await;
    browser.screenshot("forgot-phone").await.unwrap();
}
