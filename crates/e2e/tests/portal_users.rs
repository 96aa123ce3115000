//! Portal users over HTTP: the first user's e-mailed link, invitations,
//! password resets, the audit trail, login throttling, the CSRF check on
//! every form of these pages, and delivery of the outbox over SMTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::Extension;
use chrono::Duration;
use pobridge_core::{AccountId, Clock, ManualClock};
use pobridge_e2e::captured_logs::{capture_logs, captured_text};
use pobridge_e2e::portal_client::{Page, PortalClient, TEST_PASSWORD};
use pobridge_e2e::{Options, TestApp};
use pobridge_engine::admin::users::{add_user, Actor};
use pobridge_engine::admin::{self};
use pobridge_portal::auth::TrustForwardedFor;
use pobridge_portal::mail::{
    queue_password_link, run_delivery_every, PasswordMail, SmtpSettings, SmtpTls,
};
use pobridge_portal::{PortalConfig, PortalState};
use pobridge_store::{Account, Mail, NewAuditEntry, NewMail, User};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const NEW_PASSWORD: &str = "a new and long enough password";

/// Creates an account and its first user as `pobridge account add` does,
/// and queues the welcome e-mail.
async fn account_with_first_user(app: &TestApp, slug: &str, email: &str) -> (Account, User) {
    admin::create_account(&app.engine, slug, email)
        .await
        .unwrap();
    let (account, user) = add_user(&app.engine, slug, email, &Actor::cli())
        .await
        .unwrap();
    queue_password_link(
        &app.engine,
        &portal_config(app),
        &account,
        &user,
        PasswordMail::Welcome,
    )
    .await
    .unwrap();
    (account, user)
}

fn portal_config(app: &TestApp) -> PortalConfig {
    PortalConfig::new(app.base_url.clone())
}

async fn outbox(app: &TestApp, account: AccountId) -> Vec<Mail> {
    app.store().list_mail(Some(account), 100).await.unwrap()
}

/// Returns the path of the link in the newest message to `recipient`.
async fn link_path(app: &TestApp, account: AccountId, recipient: &str) -> String {
    let mail = outbox(app, account)
        .await
        .into_iter()
        .find(|mail| mail.recipient == recipient)
        .unwrap_or_else(|| panic!("no mail to {recipient}"));
    path_in(&mail.body, &app.base_url)
}

fn path_in(body: &str, base_url: &str) -> String {
    let start = body.find(base_url).expect("the body has a link") + base_url.len();
    let rest = &body[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// Waits up to five seconds for the outbox of `account` to hold `count`
/// messages, which the reset form queues in the background.
async fn wait_for_mail(app: &TestApp, account: AccountId, count: usize) -> Vec<Mail> {
    for _ in 0..100 {
        let mail = outbox(app, account).await;
        if mail.len() >= count {
            return mail;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the outbox did not reach {count} messages");
}

fn choose(password: &str) -> [(&'static str, &str); 2] {
    [("password", password), ("confirm", password)]
}

/// Returns the text of the error shown under the form field `name`.
fn field_error(page: &Page, name: &str) -> String {
    let marker = format!(r#"id="{name}-error">"#);
    let start = page.body.find(&marker).expect("a field error") + marker.len();
    let end = start + page.body[start..].find("</p>").expect("a closed paragraph");
    page.body[start..end].to_owned()
}

fn has_session(client: &PortalClient) -> bool {
    client.cookie("pobridge_session").is_some()
}

#[tokio::test]
async fn first_user_link_sets_password() {
    let app = TestApp::start().await.unwrap();
    let (account, user) = account_with_first_user(&app, "initech", "boss@initech.example").await;
    let path = link_path(&app, account.id, "boss@initech.example").await;
    let mut client = PortalClient::new(&app.base_url);

    assert!(path.starts_with("/password/set/"), "{path}");
    let form = client.get(&path).await.unwrap();
    let again = client.get(&path).await.unwrap();
    let mismatch = client
        .post(
            &path,
            &[
                ("password", NEW_PASSWORD),
                ("confirm", "something else entirely"),
            ],
        )
        .await
        .unwrap();
    let done = client.post(&path, &choose(NEW_PASSWORD)).await.unwrap();

    assert_eq!(form.status, 200);
    assert!(form.body.contains("boss@initech.example"), "{}", form.body);
    assert_eq!(again.status, 200, "showing the form does not use the link");
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.body.contains(r#"id="password-error""#));
    assert!(mismatch.body.contains("type the same password twice"));
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), Some("/dashboard"));
    assert!(has_session(&client));
    let users = client.get("/settings/users").await.unwrap();
    assert_eq!(users.status, 200);
    assert!(users.body.contains("boss@initech.example"));
    assert!(users.body.contains("Password set"));
    let stored = app.store().user(account.id, user.id).await.unwrap();
    assert!(stored.password_hash.is_some());
    let mut fresh = PortalClient::new(&app.base_url);
    fresh
        .log_in("boss@initech.example", NEW_PASSWORD)
        .await
        .unwrap();
    let trail = app.store().audit_log(account.id, 10).await.unwrap();
    assert_eq!(trail[0].action, "user.password_set");
    assert_eq!(trail[1].action, "user.invite");
}

/// A form post rejected for its missing CSRF token is logged with its
/// route, not its path, which carries the link's token.
#[tokio::test]
async fn rejected_link_post_logs_no_token() {
    let logs = capture_logs();
    let app = TestApp::start().await.unwrap();
    let (account, _) = account_with_first_user(&app, "hooli", "gavin@hooli.example").await;
    let path = link_path(&app, account.id, "gavin@hooli.example").await;
    let token = path.trim_start_matches("/password/set/").to_owned();

    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.base_url))
        .form(&choose(NEW_PASSWORD))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    let logged = captured_text(&logs);
    assert!(
        logged.contains(r#"route="/password/{kind}/{token}""#),
        "the rejection was logged with its route: {logged}"
    );
    assert!(
        !logged.contains(&token),
        "the log contains the link's token"
    );
}

#[tokio::test]
async fn used_link_is_refused() {
    let app = TestApp::start().await.unwrap();
    let (account, _) = account_with_first_user(&app, "initech", "boss@initech.example").await;
    let path = link_path(&app, account.id, "boss@initech.example").await;
    let mut first = PortalClient::new(&app.base_url);
    first.get(&path).await.unwrap();
    first.post(&path, &choose(NEW_PASSWORD)).await.unwrap();
    let mut second = PortalClient::new(&app.base_url);

    let shown = second.get(&path).await.unwrap();
    second.get("/password/forgot").await.unwrap();
    let posted = second
        .post(&path, &choose("another long enough password"))
        .await
        .unwrap();

    assert_eq!(shown.status, 410);
    assert!(shown.body.contains("no longer works"));
    assert!(shown.body.contains(r#"href="/password/forgot""#));
    assert_eq!(posted.status, 410);
    assert!(!has_session(&second));
    let mut check = PortalClient::new(&app.base_url);
    check
        .log_in("boss@initech.example", NEW_PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_link_is_refused() {
    let clock = ManualClock::new("2024-05-10T06:00:00Z".parse().unwrap());
    let app = TestApp::start_with(Options {
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (account, _) = account_with_first_user(&app, "initech", "boss@initech.example").await;
    let path = link_path(&app, account.id, "boss@initech.example").await;
    let mut client = PortalClient::new(&app.base_url);
    let form = client.get(&path).await.unwrap();

    clock.advance(Duration::hours(24));
    let late = client.get(&path).await.unwrap();
    let posted = client.post(&path, &choose(NEW_PASSWORD)).await.unwrap();

    assert_eq!(form.status, 200);
    assert_eq!(late.status, 410);
    assert_eq!(posted.status, 410);
    assert!(!has_session(&client));
}

#[tokio::test]
async fn older_invitation_cannot_overwrite_password() {
    let app = TestApp::start().await.unwrap();
    let (account, user) = account_with_first_user(&app, "initech", "boss@initech.example").await;
    let first_path = link_path(&app, account.id, "boss@initech.example").await;
    queue_password_link(
        &app.engine,
        &portal_config(&app),
        &account,
        &user,
        PasswordMail::Invitation,
    )
    .await
    .unwrap();
    let second_path = link_path(&app, account.id, "boss@initech.example").await;
    let mut client = PortalClient::new(&app.base_url);
    client.get(&second_path).await.unwrap();
    client
        .post(&second_path, &choose(NEW_PASSWORD))
        .await
        .unwrap();

    let old = client.get(&first_path).await.unwrap();

    assert_ne!(first_path, second_path);
    assert_eq!(old.status, 410);
}

#[tokio::test]
async fn forgot_password_resets_it() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);
    let form = client.get("/password/forgot").await.unwrap();

    let invalid = client
        .post("/password/forgot", &[("email", "not-an-address")])
        .await
        .unwrap();
    let unknown = client
        .post("/password/forgot", &[("email", "nobody@acme.example")])
        .await
        .unwrap();
    let known = client
        .post("/password/forgot", &[("email", "OPS@acme.example")])
        .await
        .unwrap();
    let sent = client.follow(&known).await.unwrap();
    let mail = wait_for_mail(&app, app.account.id, 1).await;

    assert_eq!(form.status, 200);
    assert_eq!(invalid.status, 422);
    assert!(invalid.body.contains(r#"id="email-error""#));
    assert!(invalid.body.contains(r#"value="not-an-address""#));
    assert_eq!(unknown.status, 303);
    assert_eq!(
        unknown.location(),
        known.location(),
        "the same answer either way"
    );
    assert!(sent
        .body
        .contains("If that address has an account, a link is on its way."));
    assert_eq!(mail.len(), 1, "nothing is sent for an unknown address");
    assert_eq!(mail[0].recipient, "ops@acme.example");
    assert_eq!(mail[0].kind, "password_reset");
    assert!(mail[0].body.contains("for 1 hour."), "{}", mail[0].body);
    let path = path_in(&mail[0].body, &app.base_url);
    assert!(path.starts_with("/password/reset/"), "{path}");
    let reset_form = client.get(&path).await.unwrap();
    assert_eq!(reset_form.status, 200);
    assert!(reset_form.body.contains("Choose a new password"));
    let done = client.post(&path, &choose(NEW_PASSWORD)).await.unwrap();
    assert_eq!(done.status, 303);
    assert!(has_session(&client));
    let mut old = PortalClient::new(&app.base_url);
    assert!(old.log_in("ops@acme.example", TEST_PASSWORD).await.is_err());
    let mut new = PortalClient::new(&app.base_url);
    new.log_in("ops@acme.example", NEW_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn reset_requests_are_limited_per_address() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);
    client.get("/password/forgot").await.unwrap();

    for _ in 0..5 {
        let answer = client
            .post("/password/forgot", &[("email", "ops@acme.example")])
            .await
            .unwrap();
        assert_eq!(answer.status, 303);
    }
    wait_for_mail(&app, app.account.id, 3).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    assert_eq!(outbox(&app, app.account.id).await.len(), 3);
}

#[tokio::test]
async fn invitation_from_users_page() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as("ops@acme.example").await.unwrap();
    app.other_account("globex").await.unwrap();
    let page = client.get("/settings/users").await.unwrap();

    let invalid = client
        .post("/settings/users", &[("email", "ann at acme")])
        .await
        .unwrap();
    let taken = client
        .post("/settings/users", &[("email", "ops@globex.example")])
        .await
        .unwrap();
    let invited = client
        .post("/settings/users", &[("email", "Ann@Acme.Example")])
        .await
        .unwrap();
    let listed = client.follow(&invited).await.unwrap();

    assert_eq!(page.status, 200);
    assert!(page.body.contains("ops@acme.example"));
    assert_eq!(invalid.status, 422);
    assert!(invalid.body.contains(r#"id="email-error""#));
    assert!(invalid.body.contains(r#"value="ann at acme""#));
    assert!(invalid.body.contains("such as ops@example.com"));
    assert_eq!(taken.status, 422);
    let taken_error = field_error(&taken, "email");
    assert!(
        taken_error.contains("already has a pobridge login"),
        "{taken_error}"
    );
    assert!(!taken_error.contains("globex"), "{taken_error}");
    assert!(taken.body.contains(r#"value="ops@globex.example""#));
    assert_eq!(invited.status, 303);
    assert!(listed.body.contains("Invitation sent to ann@acme.example."));
    assert!(listed.body.contains("Invitation pending"));
    let mail = outbox(&app, app.account.id).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipient, "ann@acme.example");
    assert_eq!(mail[0].kind, "invitation");
    assert!(path_in(&mail[0].body, &app.base_url).starts_with("/password/set/"));
    let trail = app.store().audit_log(app.account.id, 10).await.unwrap();
    assert_eq!(trail[0].action, "user.invite");
    assert_eq!(trail[0].actor, "ops@acme.example");
    assert_eq!(trail[0].detail, "invited ann@acme.example");
}

#[tokio::test]
async fn invalid_invitation_addresses_rejected() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as("ops@acme.example").await.unwrap();
    client.get("/settings/users").await.unwrap();
    let long_local = format!("{}@acme.example", "a".repeat(300));

    for email in ["<script>alert(1)</script>@x.example", long_local.as_str()] {
        let rejected = client
            .post("/settings/users", &[("email", email)])
            .await
            .unwrap();
        assert_eq!(rejected.status, 422, "{email}");
        let error = field_error(&rejected, "email");
        assert!(error.contains("such as ops@example.com"), "{error}");
    }
    let invited = client
        .post("/settings/users", &[("email", "Jürgen@bücher.example")])
        .await
        .unwrap();

    assert_eq!(invited.status, 303);
    let mail = outbox(&app, app.account.id).await;
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].recipient.ends_with("@xn--bcher-kva.example"),
        "{}",
        mail[0].recipient
    );
}

#[tokio::test]
async fn invitation_sent_again_with_new_link() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as("ops@acme.example").await.unwrap();
    client.get("/settings/users").await.unwrap();
    client
        .post("/settings/users", &[("email", "ann@acme.example")])
        .await
        .unwrap();
    let ann = app.store().user_by_email("ann@acme.example").await.unwrap();
    let ops = app.store().user_by_email("ops@acme.example").await.unwrap();
    client.get("/settings/users").await.unwrap();

    let again = client
        .post(&format!("/settings/users/{}/invite", ann.id), &[])
        .await
        .unwrap();
    let has_password = client
        .post(&format!("/settings/users/{}/invite", ops.id), &[])
        .await
        .unwrap();

    assert_eq!(again.status, 303);
    assert_eq!(has_password.status, 422);
    assert!(has_password.body.contains("Forgot your password?"));
    let mail = outbox(&app, app.account.id).await;
    assert_eq!(mail.len(), 2);
    let links: Vec<String> = mail
        .iter()
        .map(|m| path_in(&m.body, &app.base_url))
        .collect();
    assert_ne!(links[0], links[1]);
    let trail = app.store().audit_log(app.account.id, 1).await.unwrap();
    assert_eq!(trail[0].action, "user.invite_again");
}

#[tokio::test]
async fn other_accounts_users_stay_hidden() {
    let app = TestApp::start().await.unwrap();
    let mut acme = app.portal_as("ops@acme.example").await.unwrap();
    acme.get("/settings/users").await.unwrap();
    acme.post("/settings/users", &[("email", "ann@acme.example")])
        .await
        .unwrap();
    let ann = app.store().user_by_email("ann@acme.example").await.unwrap();
    let (globex, mut other) = app.other_account("globex").await.unwrap();

    let page = other.get("/settings/users").await.unwrap();
    let resend = other
        .post(&format!("/settings/users/{}/invite", ann.id), &[])
        .await
        .unwrap();
    let audit = other.get("/settings/audit").await.unwrap();

    assert_eq!(page.status, 200);
    assert!(page.body.contains("ops@globex.example"));
    assert!(!page.body.contains("acme.example"), "{}", page.body);
    assert_eq!(resend.status, 404);
    assert!(!resend.body.contains("ann@acme.example"));
    assert_eq!(outbox(&app, app.account.id).await.len(), 1);
    assert!(outbox(&app, globex.id).await.is_empty());
    assert_eq!(audit.status, 200);
    assert!(!audit.body.contains("ann@acme.example"));
}

#[tokio::test]
async fn audit_trail_pages_newest_first() {
    let app = TestApp::start().await.unwrap();
    for n in 1..=60 {
        let entry = NewAuditEntry {
            user: None,
            actor: "cli".to_owned(),
            action: "buyer.update".to_owned(),
            detail: format!("change number {n}."),
        };
        let now = app.engine.clock.now();
        app.store()
            .record_audit(app.account.id, &entry, now)
            .await
            .unwrap();
    }
    let mut client = app.portal_as("ops@acme.example").await.unwrap();

    let first = client.get("/settings/audit").await.unwrap();
    let older_at = first
        .body
        .find("/settings/audit?before=")
        .expect("an Older link");
    let older_link: String = first.body[older_at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let second = client.get(&older_link).await.unwrap();
    let garbled = client.get("/settings/audit?before=abc").await.unwrap();

    assert_eq!(first.status, 200);
    assert!(first.body.contains("change number 60."));
    assert!(first.body.contains("change number 11."));
    assert!(!first.body.contains("change number 10."));
    let newest = first.body.find("change number 60.").unwrap();
    let next = first.body.find("change number 59.").unwrap();
    assert!(newest < next, "newest first");
    assert_eq!(second.status, 200);
    assert!(second.body.contains("change number 10."));
    assert!(second.body.contains("change number 1."));
    assert!(!second.body.contains("change number 11."));
    assert!(!second.body.contains("?before="), "no page after the last");
    assert_eq!(garbled.status, 200);
    assert!(garbled.body.contains("change number 60."));
}

#[tokio::test]
async fn posts_without_csrf_change_nothing() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as("ops@acme.example").await.unwrap();
    let (account, user) = account_with_first_user(&app, "initech", "boss@initech.example").await;
    let path = link_path(&app, account.id, "boss@initech.example").await;
    let (_, pending) = add_user(&app.engine, "acme", "ann@acme.example", &Actor::cli())
        .await
        .unwrap();
    let mut visitor = PortalClient::new(&app.base_url);
    visitor.get("/password/forgot").await.unwrap();
    let reset = format!("/password/reset/{}", "0".repeat(64));

    let answers = [
        client
            .post_without_csrf("/settings/users", &[("email", "eve@acme.example")])
            .await
            .unwrap(),
        client
            .post_without_csrf(&format!("/settings/users/{}/invite", pending.id), &[])
            .await
            .unwrap(),
        visitor
            .post_without_csrf(&path, &choose(NEW_PASSWORD))
            .await
            .unwrap(),
        visitor
            .post_without_csrf(&reset, &choose(NEW_PASSWORD))
            .await
            .unwrap(),
        visitor
            .post_without_csrf("/password/forgot", &[("email", "ops@acme.example")])
            .await
            .unwrap(),
        visitor
            .post_without_csrf(
                "/login",
                &[("email", "ops@acme.example"), ("password", TEST_PASSWORD)],
            )
            .await
            .unwrap(),
    ];

    for (index, answer) in answers.iter().enumerate() {
        assert_eq!(answer.status, 403, "form {index}");
    }
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(app.store().user_by_email("eve@acme.example").await.is_err());
    assert!(
        outbox(&app, app.account.id).await.is_empty(),
        "no mail queued"
    );
    let boss = app.store().user(account.id, user.id).await.unwrap();
    assert_eq!(boss.password_hash, None, "the link was not used");
    assert_eq!(visitor.get(&path).await.unwrap().status, 200);
    assert!(!has_session(&visitor));
}

async fn failed_login(client: &mut PortalClient, email: &str) -> Page {
    client
        .post(
            "/login",
            &[("email", email), ("password", "wrong password here")],
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn login_throttled_per_address() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    app.add_user("ann@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);
    client.get("/login").await.unwrap();

    for attempt in 0..5 {
        let answer = failed_login(&mut client, "ops@acme.example").await;
        assert_eq!(answer.status, 200, "attempt {attempt}");
    }
    let blocked = client
        .post(
            "/login",
            &[("email", "OPS@acme.example"), ("password", TEST_PASSWORD)],
        )
        .await
        .unwrap();
    let other = client
        .post(
            "/login",
            &[("email", "ann@acme.example"), ("password", TEST_PASSWORD)],
        )
        .await
        .unwrap();

    assert_eq!(blocked.status, 429);
    assert!(
        blocked
            .body
            .contains("Too many attempts; wait 15 minutes or reset your password."),
        "{}",
        blocked.body
    );
    assert!(blocked.body.contains(r#"value="OPS@acme.example""#));
    let retry_after: i64 = blocked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((840..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(other.status, 303, "another address may still log in");
}

/// Serves the portal of `app` on its own port with the peer address
/// recorded, as `pobridge serve` does, and returns its base URL.
async fn serve_with_peer_address(app: &TestApp, trust_forwarded_for: bool) -> String {
    let state = PortalState::new(app.engine.clone(), portal_config(app));
    let mut router = pobridge_portal::router(state);
    if trust_forwarded_for {
        router = router.layer(Extension(TrustForwardedFor));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    base_url
}

#[tokio::test]
async fn login_throttled_per_ip_address() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let base_url = serve_with_peer_address(&app, false).await;
    let mut client = PortalClient::new(&base_url);
    client.get("/login").await.unwrap();

    for n in 0..20 {
        let answer = failed_login(&mut client, &format!("guess{n}@acme.example")).await;
        assert_eq!(answer.status, 200, "attempt {n}");
    }
    let blocked = client
        .post(
            "/login",
            &[("email", "ops@acme.example"), ("password", TEST_PASSWORD)],
        )
        .await
        .unwrap();

    assert_eq!(blocked.status, 429);
    assert!(blocked.body.contains("Too many attempts"));
}

#[tokio::test]
async fn forwarded_address_counts_when_trusted() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let base_url = serve_with_peer_address(&app, true).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut client = PortalClient::new(&base_url);
    client.get("/login").await.unwrap();
    let token = client.csrf().unwrap().to_owned();
    let form_cookie = format!("pobridge_form={}", client.cookie("pobridge_form").unwrap());
    let post = |forwarded: &'static str, email: String, password: &'static str| {
        http.post(format!("{base_url}/login"))
            .header("cookie", form_cookie.clone())
            .header("x-forwarded-for", forwarded)
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email.as_str()),
                ("password", password),
            ])
            .send()
    };

    for n in 0..20 {
        let answer = post(
            "203.0.113.9, 198.51.100.1",
            format!("g{n}@acme.example"),
            "x",
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 200, "attempt {n}");
    }
    let blocked = post("198.51.100.1", "ops@acme.example".to_owned(), TEST_PASSWORD)
        .await
        .unwrap();
    let other_client = post("198.51.100.2", "ops@acme.example".to_owned(), TEST_PASSWORD)
        .await
        .unwrap();

    assert_eq!(blocked.status(), 429, "the last entry is the client");
    assert_eq!(other_client.status(), 303);
}

/// What the test SMTP server received in one accepted message.
#[derive(Debug, Clone)]
struct Received {
    rcpt: String,
    data: String,
}

/// Starts a minimal SMTP server on loopback. It rejects the first
/// `failures` transactions with a temporary error at MAIL FROM, then accepts.
async fn smtp_server(failures: usize) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        let mut rejected = 0;
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let reject = rejected < failures;
            if reject {
                rejected += 1;
            }
            let store = store.clone();
            tokio::spawn(async move { smtp_session(socket, reject, store).await });
        }
    });
    (port, received)
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    reject: bool,
    received: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (reader, mut writer) = socket.into_split();
    let mut lines = BufReader::new(reader).lines();
    writer.write_all(b"220 test.example ESMTP\r\n").await?;
    let mut rcpt = String::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250-test.example\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL FROM") && reject {
            b"451 4.3.0 try again later\r\n"
        } else if command.starts_with("RCPT TO") {
            rcpt = line[8..].trim().to_owned();
            b"250 OK\r\n"
        } else if command == "DATA" {
            writer.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(body_line) = lines.next_line().await? {
                if body_line == "." {
                    break;
                }
                data.push_str(&body_line);
                data.push('\n');
            }
            received.lock().unwrap().push(Received {
                rcpt: rcpt.clone(),
                data,
            });
            b"250 queued\r\n"
        } else if command == "QUIT" {
            writer.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        writer.write_all(reply).await?;
    }
    Ok(())
}

#[tokio::test]
async fn delivery_retries_after_a_failure() {
    let start = "2024-05-10T06:00:00Z".parse().unwrap();
    let clock = ManualClock::new(start);
    let app = TestApp::start_with(Options {
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (port, received) = smtp_server(1).await;
    let message = NewMail {
        account: Some(app.account.id),
        recipient: "ops@acme.example".to_owned(),
        subject: "Orders are waiting".to_owned(),
        body: "Three orders wait for a mapping.\n".to_owned(),
        kind: "orders_waiting".to_owned(),
        dedupe_key: None,
    };
    let id = app
        .store()
        .queue_mail(&message, None, clock.now())
        .await
        .unwrap()
        .unwrap();
    let smtp = SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        username: None,
        password: None,
        from: "pobridge <pobridge@acme.example>".to_owned(),
        tls: SmtpTls::None,
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let delivery = tokio::spawn(run_delivery_every(
        app.engine.clone(),
        Some(smtp),
        shutdown,
        StdDuration::from_millis(50),
    ));

    let failed = wait_for(&app, id, |mail| mail.attempts == 1).await;
    // Several rounds of the loop pass while the retry is not yet due.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let before_retry = app.store().mail(id).await.unwrap();
    clock.advance(Duration::seconds(61));
    let sent = wait_for(&app, id, |mail| mail.sent_at.is_some()).await;
    stop.send(true).unwrap();
    tokio::time::timeout(StdDuration::from_secs(5), delivery)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();

    assert!(
        failed.last_error.as_deref().unwrap_or("").contains("451"),
        "{failed:?}"
    );
    assert_eq!(failed.next_attempt_at, start + Duration::minutes(1));
    assert_eq!(before_retry.sent_at, None, "not retried before its time");
    assert_eq!(before_retry.attempts, 1);
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.sent_at, Some(clock.now()));
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].rcpt.contains("ops@acme.example"),
        "{:?}",
        received[0]
    );
    assert!(
        received[0].data.contains("Subject: Orders are waiting"),
        "{}",
        received[0].data
    );
    assert!(received[0]
        .data
        .contains("Three orders wait for a mapping."));
    assert!(received[0].data.contains("pobridge@acme.example"));
}

/// Waits up to five seconds for message `id` to meet `done`.
async fn wait_for(app: &TestApp, id: pobridge_store::MailId, done: impl Fn(&Mail) -> bool) -> Mail {
    for _ in 0..100 {
        let mail = app.store().mail(id).await.unwrap();
        if done(&mail) {
            return mail;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("mail {id} did not reach the expected state");
}
