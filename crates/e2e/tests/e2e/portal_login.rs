//! Logging in and out of the portal over HTTP, the session cookie, the
//! CSRF check on the login forms and the security headers.

use pobridge_e2e::portal_client::{PortalClient, TEST_PASSWORD};
use pobridge_e2e::TestApp;

#[tokio::test]
async fn pages_need_a_login_and_come_back_after() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);

    let page = client.get("/orders?status=failed").await.unwrap();

    assert_eq!(page.status, 303);
    assert_eq!(
        page.location(),
        Some("/login?next=%2Forders%3Fstatus%3Dfailed")
    );
    let form = client.follow(&page).await.unwrap();
    assert_eq!(form.status, 200);
    assert!(form
        .body
        .contains(r#"name="next" value="/orders?status=failed""#));
    let answer = client
        .post(
            "/login",
            &[
                ("email", "OPS@acme.example"),
                ("password", TEST_PASSWORD),
                ("next", "/orders?status=failed"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location(), Some("/orders?status=failed"));
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);
    client.get("/login").await.unwrap();

    let answer = client
        .post(
            "/login",
            &[("email", "ops@acme.example"), ("password", TEST_PASSWORD)],
        )
        .await
        .unwrap();

    let cookie = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("pobridge_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    let token = client.cookie("pobridge_session").unwrap();
    assert_eq!(token.len(), 64);
}

#[tokio::test]
async fn wrong_password_and_unknown_address_get_one_answer() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);
    client.get("/login").await.unwrap();

    let wrong = client
        .post(
            "/login",
            &[
                ("email", "ops@acme.example"),
                ("password", "not the password"),
            ],
        )
        .await
        .unwrap();
    let unknown = client
        .post(
            "/login",
            &[
                ("email", "nobody@acme.example"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await
        .unwrap();

    let message = "That e-mail and password do not match.";
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains(message));
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains(message));
    assert!(
        wrong.body.contains(r#"value="ops@acme.example""#),
        "the address is kept"
    );
    assert_eq!(client.cookie("pobridge_session"), None);
}

#[tokio::test]
async fn login_follows_only_local_next_paths() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let mut client = PortalClient::new(&app.base_url);
    client.get("/login").await.unwrap();

    let answer = client
        .post(
            "/login",
            &[
                ("email", "ops@acme.example"),
                ("password", TEST_PASSWORD),
                ("next", "//evil.example/phish"),
            ],
        )
        .await
        .unwrap();

    assert_eq!(answer.location(), Some("/"));
}

#[tokio::test]
async fn logout_needs_the_token_and_ends_the_session() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as("ops@acme.example").await.unwrap();
    let session = client.cookie("pobridge_session").unwrap().to_owned();

    let forged = client.post_without_csrf("/logout", &[]).await.unwrap();
    assert_eq!(forged.status, 403);
    let still_in = client.get("/login").await.unwrap();
    assert_eq!(
        still_in.status, 303,
        "a logged-in visitor is sent on from /login"
    );

    let answer = client.post("/logout", &[]).await.unwrap();
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location(), Some("/login"));
    assert_eq!(client.cookie("pobridge_session"), None);
    let hash = pobridge_portal::auth::token_hash(&session);
    let now = app.engine.clock.now();
    assert_eq!(app.store().session(&hash, now).await.unwrap(), None);
}

#[tokio::test]
async fn login_form_needs_its_own_cookie_and_token() {
    let app = TestApp::start().await.unwrap();
    app.add_user("ops@acme.example").await.unwrap();
    let fields = [("email", "ops@acme.example"), ("password", TEST_PASSWORD)];

    let mut stranger = PortalClient::new(&app.base_url);
    let without_cookie = stranger.post_without_csrf("/login", &fields).await.unwrap();

    let mut visitor = PortalClient::new(&app.base_url);
    visitor.get("/login").await.unwrap();
    let without_token = visitor.post_without_csrf("/login", &fields).await.unwrap();
    let wrong_token = visitor
        .post_without_csrf(
            "/login",
            &[("_csrf", "0".repeat(64).as_str()), fields[0], fields[1]],
        )
        .await
        .unwrap();

    assert_eq!(without_cookie.status, 403);
    assert_eq!(without_token.status, 403);
    assert_eq!(wrong_token.status, 403);
    assert_eq!(visitor.cookie("pobridge_session"), None);
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = TestApp::start().await.unwrap();
    let mut client = PortalClient::new(&app.base_url);

    let page = client.get("/login").await.unwrap();

    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert!(header("content-security-policy").contains("script-src 'self'"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("x-request-id").len() > 8, "the request id is kept");
}
