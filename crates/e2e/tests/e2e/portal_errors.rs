//! Rejected query strings, form bodies and CSRF tokens over HTTP: each gets
//! the portal's HTML error page with a message that names what is wrong.

use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::TestApp;

const EMAIL: &str = "ops@acme.example";

async fn start() -> (TestApp, PortalClient) {
    let app = TestApp::start().await.expect("pobridge starts");
    let client = app.portal_as(EMAIL).await.unwrap();
    (app, client)
}

fn assert_html_error(page: &Page, status: u16, message: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    let content_type = page
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.body.contains("<h1>"), "{}", page.body);
    assert!(page.body.contains(message), "{}", page.body);
    assert!(
        !page.body.contains("Failed to deserialize"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_query_parameter_is_named() {
    let (_app, mut client) = start().await;

    let page = client
        .get("/orders?status=failed&status=synced")
        .await
        .unwrap();

    assert_html_error(&page, 400, "is given more than once");
    assert!(page.body.contains("status"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_form_field_is_named() {
    let (_app, mut client) = start().await;
    client.get("/settings/users").await.unwrap();

    let page = client.post("/settings/users", &[]).await.unwrap();

    assert_html_error(&page, 400, "the field `email` is missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_page_number_is_explained_in_logs() {
    let (_app, mut client) = start().await;

    for path in ["/orders?page=abc", "/invoices?page=abc"] {
        let page = client.get(path).await.unwrap();
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(page.body.contains("id=\"page-error\""), "{path}");
        assert!(page.body.contains("is not a page number"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_rejection_is_error_page() {
    let (_app, mut client) = start().await;
    client.get("/settings/users").await.unwrap();

    let page = client
        .post_without_csrf("/settings/users", &[("email", "ann@acme.example")])
        .await
        .unwrap();

    assert_html_error(
        &page,
        403,
        "The form expired or came from elsewhere; reload the page and try again.",
    );
}
