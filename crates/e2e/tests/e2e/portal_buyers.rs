//! Settings → Coupa buyers over HTTP, without a browser. The tests add,
//! change and remove a buyer through the portal's forms, post orders with
//! its credentials, send a test order and preview an invoice. They also
//! check that another account and forms without a CSRF token change nothing.

use chrono::{TimeZone, Utc};
use pobridge_core::{ManualClock, PoNumber};
use pobridge_e2e::invoicing::{
    invoices_of, invoicing_settings, run_poll_cycle, set_invoicing, BuyerCoupas, INVOICE_SECRET,
};
use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};
use pobridge_engine::admin;
use pobridge_store::{Buyer, BuyerMode, InvoiceStatus, PoStatus, PurchaseOrder};

/// The e2e widgets PO, from NetworkID:BUYER-1 to DUNS:123456789 with the
/// shared secret `widgets-s3cret`.
const WIDGETS_PO: &str = include_str!("../fixtures/order-widgets.xml");
const SECRET: &str = "widgets-s3cret";
const USER: &str = "ops@acme.example";

/// Returns every field of the buyer form, filled for the widgets PO's buyer.
fn buyer_fields() -> Vec<(&'static str, String)> {
    [
        ("name", "BUYER-1"),
        ("from_domain", "NetworkID"),
        ("from_identity", "BUYER-1"),
        ("to_domain", "DUNS"),
        ("to_identity", "123456789"),
        ("sender_domain", "NetworkID"),
        ("sender_identity", "BUYER-1"),
        ("secret", SECRET),
        ("mode", "production"),
        ("invoice_url", ""),
        ("invoice_from_domain", ""),
        ("invoice_from_identity", ""),
        ("invoice_to_domain", ""),
        ("invoice_to_identity", ""),
        ("invoice_sender_domain", ""),
        ("invoice_sender_identity", ""),
        ("invoice_secret", ""),
        ("remit_to", ""),
        ("remit_to_name", ""),
        ("tax_prefix", ""),
        ("tax_number", ""),
        ("tax_map", ""),
        ("tax_level", "summary"),
        ("header_charges", "no"),
        ("credit_form", "negative-quantities"),
        ("dtd_version", pobridge_cxml::DEFAULT_INVOICE_DTD_VERSION),
        ("payment_days", ""),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// Replaces field values of `fields`.
fn with(
    mut fields: Vec<(&'static str, String)>,
    changes: &[(&str, &str)],
) -> Vec<(&'static str, String)> {
    for (name, value) in changes {
        let field = fields
            .iter_mut()
            .find(|(field, _)| field == name)
            .unwrap_or_else(|| panic!("the buyer form has no field {name}"));
        field.1 = (*value).to_owned();
    }
    fields
}

async fn post_form(
    client: &mut PortalClient,
    path: &str,
    fields: &[(&'static str, String)],
) -> Page {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    client.post(path, &borrowed).await.unwrap()
}

/// Adds the widgets buyer through the form and returns the buyer's page.
async fn add_buyer(client: &mut PortalClient, fields: &[(&'static str, String)]) -> Page {
    client.get("/settings/buyers/new").await.unwrap();
    let answer = post_form(client, "/settings/buyers/new", fields).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    client.follow(&answer).await.unwrap()
}

/// Starts pobridge and adds a buyer with `fields` as user [`USER`].
async fn start_with_buyer(fields: &[(&'static str, String)]) -> (TestApp, PortalClient) {
    let app = TestApp::start().await.expect("pobridge starts");
    let mut client = app.portal_as(USER).await.unwrap();
    add_buyer(&mut client, fields).await;
    (app, client)
}

async fn stored_orders(app: &TestApp) -> Vec<PurchaseOrder> {
    app.store()
        .list_purchase_orders(app.account.id, &Default::default())
        .await
        .unwrap()
}

async fn stored_buyer(app: &TestApp, name: &str) -> Buyer {
    app.store()
        .buyer_by_name(app.account.id, name)
        .await
        .unwrap()
}

fn widgets_po(secret: &str, order_id: &str) -> Vec<u8> {
    WIDGETS_PO
        .replace(SECRET, secret)
        .replace("orderID=\"PO-1001\"", &format!("orderID=\"{order_id}\""))
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_buyer_is_listed_with_order_url() {
    let app = TestApp::start().await.expect("pobridge starts");
    let mut client = app.portal_as(USER).await.unwrap();

    let page = add_buyer(&mut client, &buyer_fields()).await;

    let order_url = format!("{}/cxml/acme", app.base_url);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Buyer BUYER-1 added"), "{}", page.body);
    assert!(page.body.contains(&order_url), "{}", page.body);
    assert!(!page.body.contains(SECRET), "the secret is never shown");
    let list = client.get("/settings/buyers").await.unwrap();
    assert_eq!(list.status, 200);
    assert!(list.body.contains("BUYER-1"), "{}", list.body);
    assert!(list.body.contains(&order_url), "{}", list.body);
    assert!(list.body.contains("NetworkID:BUYER-1"), "{}", list.body);
    assert!(list.body.contains("DUNS:123456789"), "{}", list.body);
    assert!(list.body.contains("3 missing"), "invoicing is not set up");
    assert!(!list.body.contains(SECRET));

    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.mode, BuyerMode::Production);
    let audit = app.store().audit_log(app.account.id, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "buyer.add");
    assert_eq!(audit[0].actor, USER);
    assert!(
        audit[0].detail.contains("secret changed"),
        "{}",
        audit[0].detail
    );
    assert!(!audit[0].detail.contains(SECRET), "{}", audit[0].detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_with_form_credentials_are_accepted() {
    let (app, _client) = start_with_buyer(&buyer_fields()).await;

    let (status, answer) = app.post_cxml(widgets_po(SECRET, "PO-1001")).await.unwrap();
    let (wrong_status, wrong_answer) = app
        .post_cxml(widgets_po("not-the-secret", "PO-1002"))
        .await
        .unwrap();

    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(r#"code="200""#), "{answer}");
    assert_eq!(wrong_status, 401, "{wrong_answer}");
    assert!(wrong_answer.contains(r#"code="401""#), "{wrong_answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyer_without_secret_gets_own_url() {
    let app = TestApp::start().await.expect("pobridge starts");
    let mut client = app.portal_as(USER).await.unwrap();
    client.get("/settings/buyers/new").await.unwrap();
    let mut fields = with(buyer_fields(), &[("secret", "")]);
    fields.push(("no_secret", "yes".to_owned()));

    let page = post_form(&mut client, "/settings/buyers/new", &fields).await;

    assert_eq!(page.status, 200, "{}", page.body);
    let prefix = format!("{}/cxml/acme/", app.base_url);
    let at = page
        .body
        .find(&prefix)
        .expect("the page shows the order URL");
    let token: String = page.body[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{}", page.body);
    let list = client.get("/settings/buyers").await.unwrap();
    assert!(!list.body.contains(&token), "the list masks the token");
    assert!(list
        .body
        .contains(&format!("{prefix}{}********", &token[..4])));

    let order = String::from_utf8(widgets_po("", "PO-1001"))
        .unwrap()
        .replace("<SharedSecret></SharedSecret>", "");
    let url = format!("{prefix}{token}");
    let (status, answer) = app
        .post_to(&url, "text/xml", order.clone().into_bytes())
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let (account_status, _) = app.post_cxml(order.into_bytes()).await.unwrap();
    assert_eq!(account_status, 401, "the account URL needs a secret");

    let tested = client
        .post(
            "/settings/buyers/BUYER-1/test-order",
            &[("test_secret", "")],
        )
        .await
        .unwrap();
    assert!(
        tested
            .body
            .contains(r#"<span class="status ok">200</span>"#),
        "{}",
        tested.body
    );
    assert!(
        !tested.body.contains(&token),
        "the test order page masks it"
    );
}

/// Returns the buyer page's hidden `shown` field, with the HTML escapes
/// undone as a browser does before it posts the form.
fn shown_field(page: &Page) -> String {
    let start = page
        .body
        .find("name=\"shown\" value=\"")
        .expect("a shown field")
        + "name=\"shown\" value=\"".len();
    let end = start + page.body[start..].find('"').unwrap();
    page.body[start..end]
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_buyer_page_keeps_later_changes() {
    let (app, mut client) = start_with_buyer(&buyer_fields()).await;
    let page = client.get("/settings/buyers/BUYER-1").await.unwrap();
    let shown = shown_field(&page);
    let slug = app.account.slug.as_str();
    admin::set_buyer(&app.engine, slug, "BUYER-1", "remit-to", "RT-9")
        .await
        .unwrap();

    let mut stale = with(buyer_fields(), &[("secret", ""), ("tax_number", "123")]);
    stale.push(("shown", shown.clone()));
    let answer = post_form(&mut client, "/settings/buyers/BUYER-1", &stale).await;

    assert_eq!(answer.status, 303, "{}", answer.body);
    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.invoicing["supplier_tax_number"], "123");
    assert_eq!(
        buyer.invoicing["remit_to_address_id"], "RT-9",
        "the stale page kept the change made since"
    );

    admin::set_buyer(&app.engine, slug, "BUYER-1", "remit-to", "RT-10")
        .await
        .unwrap();
    let mut conflicting = with(buyer_fields(), &[("secret", ""), ("remit_to", "RT-5")]);
    conflicting.push(("shown", shown));
    let warned = post_form(&mut client, "/settings/buyers/BUYER-1", &conflicting).await;

    assert_eq!(warned.status, 422, "{}", warned.body);
    assert!(
        warned
            .body
            .contains("Changed by someone else since this page was loaded, to RT-10."),
        "{}",
        warned.body
    );
    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.invoicing["remit_to_address_id"], "RT-10");
    // As the refused page shows them: the typed value, and what is stored
    // now for the fields not edited.
    let mut again = with(
        buyer_fields(),
        &[("secret", ""), ("remit_to", "RT-5"), ("tax_number", "123")],
    );
    again.push(("shown", shown_field(&warned)));
    let replaced = post_form(&mut client, "/settings/buyers/BUYER-1", &again).await;
    assert_eq!(replaced.status, 303, "{}", replaced.body);
    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.invoicing["remit_to_address_id"], "RT-5");
    assert_eq!(buyer.invoicing["supplier_tax_number"], "123");

    let mut unreadable = with(buyer_fields(), &[("secret", ""), ("remit_to", "RT-6")]);
    unreadable.push(("shown", "{bad".to_owned()));
    let refused = post_form(&mut client, "/settings/buyers/BUYER-1", &unreadable).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Nothing was saved: the form did not say which values"),
        "{}",
        refused.body
    );
    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.invoicing["remit_to_address_id"], "RT-5");
    assert_eq!(buyer.invoicing["supplier_tax_number"], "123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_keeps_blank_secret_and_changes_given_one() {
    let (app, mut client) = start_with_buyer(&buyer_fields()).await;

    let kept = with(
        buyer_fields(),
        &[("secret", ""), ("mode", "test"), ("remit_to", "RT-1001")],
    );
    let answer = post_form(&mut client, "/settings/buyers/BUYER-1", &kept).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(&answer).await.unwrap();
    assert!(page.body.contains("2 changed"), "{}", page.body);
    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.mode, BuyerMode::Test);
    assert_eq!(buyer.invoicing["remit_to_address_id"], "RT-1001");
    let (status, answer) = app.post_cxml(widgets_po(SECRET, "PO-1")).await.unwrap();
    assert_eq!(status, 200, "the blank secret kept the old one: {answer}");

    let changed = with(
        buyer_fields(),
        &[
            ("secret", "new-s3cret"),
            ("mode", "test"),
            ("remit_to", "RT-1001"),
        ],
    );
    let answer = post_form(&mut client, "/settings/buyers/BUYER-1", &changed).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let (old_status, _) = app.post_cxml(widgets_po(SECRET, "PO-2")).await.unwrap();
    let (new_status, answer) = app
        .post_cxml(widgets_po("new-s3cret", "PO-3"))
        .await
        .unwrap();
    assert_eq!(old_status, 401, "the old secret stopped working");
    assert_eq!(new_status, 200, "{answer}");

    let audit = app.store().audit_log(app.account.id, 10).await.unwrap();
    let update = &audit[0];
    assert_eq!(update.action, "buyer.update");
    assert!(
        update.detail.contains("secret changed"),
        "{}",
        update.detail
    );
    assert!(!update.detail.contains("new-s3cret"), "{}", update.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fields_are_named_and_kept() {
    let app = TestApp::start().await.expect("pobridge starts");
    let mut client = app.portal_as(USER).await.unwrap();
    client.get("/settings/buyers/new").await.unwrap();

    let fields = with(
        buyer_fields(),
        &[
            ("to_domain", ""),
            ("to_identity", "123456789"),
            ("tax_map", "T20=VAT"),
            ("payment_days", "400"),
            ("invoice_url", "ftp://coupa.example/inv"),
            ("remit_to", "RT-9"),
        ],
    );
    let page = post_form(&mut client, "/settings/buyers/new", &fields).await;

    assert_eq!(page.status, 422, "{}", page.body);
    for field in ["to", "tax_map", "payment_days", "invoice_url"] {
        assert!(
            page.body
                .contains(&format!(r#"<p class="field-error" id="{field}-error">"#)),
            "{field}: {}",
            page.body
        );
        assert!(
            page.body
                .contains(&format!(r#"aria-describedby="{field}-error""#)),
            "{field}"
        );
    }
    assert!(page.body.contains("Enter both the domain and the identity"));
    assert!(
        page.body.contains("&#34;400&#34; is not valid"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"value="RT-9""#), "typed values stay");
    assert!(page.body.contains(r#"value="123456789""#));
    assert!(page.body.contains(">T20=VAT</textarea>"));
    assert!(page.body.contains(r#"value="ftp://coupa.example/inv""#));
    assert!(!page.body.contains(SECRET), "secrets are not sent back");
    let buyers = app.store().list_buyers(app.account.id).await.unwrap();
    assert!(buyers.is_empty(), "nothing was stored");

    add_buyer(&mut client, &buyer_fields()).await;
    let unknown_code = with(
        buyer_fields(),
        &[("secret", ""), ("tax_map", "NOPE=VAT:20")],
    );
    let page = post_form(&mut client, "/settings/buyers/BUYER-1", &unknown_code).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains(r#"id="tax_map-error""#), "{}", page.body);
    assert!(page.body.contains("tax codes"), "{}", page.body);
    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.invoicing.get("tax_map"), None, "nothing was saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_breaking_page_urls_rejected() {
    let app = TestApp::start().await.expect("pobridge starts");
    let mut client = app.portal_as(USER).await.unwrap();
    client.get("/settings/buyers/new").await.unwrap();
    let long = "b".repeat(101);

    for name in ["new", "..", long.as_str()] {
        let fields = with(buyer_fields(), &[("name", name)]);
        let page = post_form(&mut client, "/settings/buyers/new", &fields).await;
        assert_eq!(page.status, 422, "{name}");
        assert!(
            page.body
                .contains(r#"<p class="field-error" id="name-error">"#),
            "{name}: {}",
            page.body
        );
    }
    let buyers = app.store().list_buyers(app.account.id).await.unwrap();
    assert!(buyers.is_empty(), "nothing was stored");

    let page = add_buyer(
        &mut client,
        &with(buyer_fields(), &[("name", "Acme/EU?#%")]),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Acme/EU?#%"), "{}", page.body);
    let renamed = with(buyer_fields(), &[("name", "new"), ("secret", "")]);
    let page = post_form(&mut client, "/settings/buyers/Acme%2FEU%3F%23%25", &renamed).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("other than new"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_is_confirmed_and_rejected_with_orders() {
    let (app, mut client) = start_with_buyer(&buyer_fields()).await;
    let (status, answer) = app.post_cxml(widgets_po(SECRET, "PO-1001")).await.unwrap();
    assert_eq!(status, 200, "{answer}");

    let confirm = client.get("/settings/buyers/BUYER-1/remove").await.unwrap();
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("1 purchase orders"),
        "{}",
        confirm.body
    );
    let unconfirmed = client
        .post("/settings/buyers/BUYER-1/remove", &[])
        .await
        .unwrap();
    assert_eq!(unconfirmed.status, 200, "the confirmation step");
    let rejected = client
        .post("/settings/buyers/BUYER-1/remove", &[("confirm", "yes")])
        .await
        .unwrap();
    assert_eq!(rejected.status, 422);
    assert!(
        rejected.body.contains("1 purchase orders refer to it"),
        "{}",
        rejected.body
    );
    stored_buyer(&app, "BUYER-1").await;

    let other = with(
        buyer_fields(),
        &[("name", "spare"), ("from_identity", "BUYER-2")],
    );
    add_buyer(&mut client, &other).await;
    let removed = client
        .post("/settings/buyers/spare/remove", &[("confirm", "yes")])
        .await
        .unwrap();
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(removed.location(), Some("/settings/buyers"));
    let list = client.follow(&removed).await.unwrap();
    assert!(list.body.contains("Buyer spare removed."), "{}", list.body);
    let names: Vec<String> = app
        .store()
        .list_buyers(app.account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|buyer| buyer.name)
        .collect();
    assert_eq!(names, ["BUYER-1"]);
    let audit = app.store().audit_log(app.account.id, 1).await.unwrap();
    assert_eq!(audit[0].action, "buyer.remove");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_order_goes_through_intake() {
    let (app, mut client) = start_with_buyer(&with(buyer_fields(), &[("mode", "test")])).await;

    let page = client
        .post(
            "/settings/buyers/BUYER-1/test-order",
            &[("test_secret", SECRET)],
        )
        .await
        .unwrap();

    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(r#"<span class="status ok">200</span> OK"#),
        "{}",
        page.body
    );
    let orders = stored_orders(&app).await;
    assert_eq!(orders.len(), 1);
    let po = &orders[0];
    assert!(po.number.as_str().starts_with("TEST-"), "{}", po.number);
    assert!(page.body.contains(po.number.as_str()));
    assert!(page.body.contains(&format!(r#"href="/orders/{}""#, po.id)));
    let revision = app
        .store()
        .revision(app.account.id, po.latest_revision)
        .await
        .unwrap();
    assert!(revision.test, "the order is stored as a test");
    assert!(!page.body.contains(SECRET), "the typed secret is not shown");
    app.drain(10).await;
    let synced = app
        .store()
        .purchase_order(app.account.id, po.id)
        .await
        .unwrap();
    assert!(
        matches!(
            synced.status,
            PoStatus::AwaitingCustomer | PoStatus::AwaitingMapping
        ),
        "the sync waits for a person: {:?}",
        synced.status
    );
    assert_eq!(synced.brightpearl_order_id, None);

    let rejected = client
        .post(
            "/settings/buyers/BUYER-1/test-order",
            &[("test_secret", "")],
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, 200);
    assert!(
        rejected
            .body
            .contains(r#"<span class="status bad">401</span>"#),
        "{}",
        rejected.body
    );
    assert!(rejected.body.contains("No purchase order was stored."));
    let audit = app.store().audit_log(app.account.id, 1).await.unwrap();
    assert_eq!(audit[0].action, "buyer.test_order");
    assert!(audit[0].detail.contains("401"), "{}", audit[0].detail);

    let production = with(
        buyer_fields(),
        &[("name", "live"), ("from_identity", "BUYER-2")],
    );
    add_buyer(&mut client, &production).await;
    let not_synced = client
        .post(
            "/settings/buyers/live/test-order",
            &[("test_secret", SECRET)],
        )
        .await
        .unwrap();
    assert!(
        not_synced
            .body
            .contains(r#"<span class="status ok">200</span>"#),
        "{}",
        not_synced.body
    );
    assert!(
        not_synced.body.contains("created no purchase order"),
        "{}",
        not_synced.body
    );
    assert_eq!(stored_orders(&app).await.len(), 1, "only the test buyer's");
}

/// Coupa's staging PO 3309, whose parts the corpus mapping covers.
const PREVIEW_PO: &str = "3309";
const PREVIEW_FILE: &str = "coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml";

/// Starts pobridge on a manual clock with the corpus buyers and mapping,
/// and syncs PO [`PREVIEW_PO`].
async fn start_with_preview_po() -> (TestApp, ManualClock) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let options = Options {
        clock: Some(clock.clone()),
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    map_corpus_parts(&app).await.unwrap();
    let documents = add_corpus_buyers(&app, true).await.unwrap();
    let (_, body) = documents
        .into_iter()
        .find(|(name, _)| name == PREVIEW_FILE)
        .expect("the corpus has the staging PO");
    let (status, answer) = app.post_cxml(body).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    app.drain(20).await;
    (app, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_shows_invoice_or_what_is_missing() {
    let (app, _clock) = start_with_preview_po().await;
    app.engine.schedule_invoicing(app.account.id).await.unwrap();
    app.drain(20).await;
    let po = stored_orders(&app)
        .await
        .into_iter()
        .find(|po| po.number == PoNumber(PREVIEW_PO.to_owned()))
        .expect("PO 3309 is stored");
    let order_id = po.brightpearl_order_id.expect("PO 3309 synced");
    let buyer = app
        .store()
        .buyer(app.account.id, po.buyer_id)
        .await
        .unwrap();
    let path = format!(
        "/settings/buyers/{}/invoice-preview?po={PREVIEW_PO}",
        buyer.name
    );
    let mut client = app.portal_as(USER).await.unwrap();

    let not_invoiced = client.get(&path).await.unwrap();
    assert_eq!(not_invoiced.status, 200);
    assert!(
        not_invoiced
            .body
            .contains("not invoiced in Brightpearl yet"),
        "{}",
        not_invoiced.body
    );

    let number = app
        .sandbox
        .invoice_order(&app.brightpearl_code, order_id as u64)
        .unwrap();
    let missing = client.get(&path).await.unwrap();
    assert_eq!(missing.status, 200);
    assert!(missing.body.contains("would be held"), "{}", missing.body);
    assert!(
        missing.body.contains("invoice-url is missing"),
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("tax-map is empty"),
        "{}",
        missing.body
    );
    assert!(
        !missing.body.contains("pobridge buyer set"),
        "{}",
        missing.body
    );

    let settings = invoicing_settings(&app, "http://127.0.0.1:9/cxml/invoices")
        .await
        .unwrap();
    set_invoicing(&app, buyer.id, &settings).await.unwrap();
    let ready = client.get(&path).await.unwrap();
    assert_eq!(ready.status, 200);
    assert!(ready.body.contains("would be sent"), "{}", ready.body);
    assert!(
        ready.body.contains(&format!("invoice {number}")),
        "{}",
        ready.body
    );
    assert!(
        ready.body.contains("&#60;InvoiceDetailRequest&#62;"),
        "the document is shown escaped: {}",
        ready.body
    );
    assert!(!ready.body.contains(INVOICE_SECRET), "the secret is masked");
    let invoices = app
        .store()
        .invoices_for_po(app.account.id, po.id)
        .await
        .unwrap();
    assert!(invoices.is_empty(), "a preview stores no invoice");

    let unknown = client
        .get(&format!(
            "/settings/buyers/{}/invoice-preview?po=NOPE",
            buyer.name
        ))
        .await
        .unwrap();
    assert_eq!(unknown.status, 200);
    assert!(
        unknown.body.contains(r#"id="po-error""#),
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains(r#"value="NOPE""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_of_sent_invoice_excludes_it() {
    let (app, clock) = start_with_preview_po().await;
    let coupas = BuyerCoupas::start(&app, false).await.unwrap();
    let pos = coupas.issue_synced_pos(&app, |_| {}).await.unwrap();
    let po = pos
        .into_iter()
        .find(|po| po.number == PoNumber(PREVIEW_PO.to_owned()))
        .expect("PO 3309 synced");
    app.engine.schedule_invoicing(app.account.id).await.unwrap();
    app.drain(20).await;

    let order_id = po.brightpearl_order_id.expect("PO 3309 synced");
    app.sandbox
        .invoice_order(&app.brightpearl_code, order_id as u64)
        .unwrap();
    run_poll_cycle(&app, &clock).await;
    let invoices = invoices_of(&app, &po).await.unwrap();
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0].status, InvoiceStatus::Sent, "{invoices:?}");

    let buyer = app
        .store()
        .buyer(app.account.id, po.buyer_id)
        .await
        .unwrap();
    let mut client = app.portal_as(USER).await.unwrap();
    let path = format!(
        "/settings/buyers/{}/invoice-preview?po={PREVIEW_PO}",
        buyer.name
    );
    let page = client.get(&path).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("its status is sent"), "{}", page.body);
    assert!(!page.body.contains("already invoiced net"), "{}", page.body);
    assert!(page.body.contains("would be sent"), "{}", page.body);
}

/// The buyer URLs of account acme, as another account would try them.
const BUYER_PAGES: [&str; 3] = [
    "/settings/buyers/BUYER-1",
    "/settings/buyers/BUYER-1/remove",
    "/settings/buyers/BUYER-1/invoice-preview?po=PO-1001",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_account_gets_not_found() {
    let (app, _client) = start_with_buyer(&buyer_fields()).await;
    let (_, mut other) = app.other_account("globex").await.unwrap();

    for path in BUYER_PAGES {
        let page = other.get(path).await.unwrap();
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("DUNS:123456789"), "{path}");
    }
    other.get("/settings/buyers").await.unwrap();
    let edit = post_form(&mut other, "/settings/buyers/BUYER-1", &buyer_fields()).await;
    let remove = other
        .post("/settings/buyers/BUYER-1/remove", &[("confirm", "yes")])
        .await
        .unwrap();
    let test_order = other
        .post(
            "/settings/buyers/BUYER-1/test-order",
            &[("test_secret", SECRET)],
        )
        .await
        .unwrap();
    for page in [&edit, &remove, &test_order] {
        assert_eq!(page.status, 404, "{}", page.body);
    }
    let list = other.get("/settings/buyers").await.unwrap();
    assert!(!list.body.contains("BUYER-1"), "{}", list.body);
    assert!(list.body.contains("No Coupa buyers yet"));

    let buyer = stored_buyer(&app, "BUYER-1").await;
    assert_eq!(buyer.mode, BuyerMode::Production, "unchanged");
    let orders = stored_orders(&app).await;
    assert!(orders.is_empty(), "no test order was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_csrf_are_forbidden() {
    let (app, mut client) = start_with_buyer(&buyer_fields()).await;
    let before = stored_buyer(&app, "BUYER-1").await;
    let audit_before = app.store().audit_log(app.account.id, 10).await.unwrap();

    let add = with(
        buyer_fields(),
        &[("name", "spare"), ("from_identity", "B2")],
    );
    let edit = with(buyer_fields(), &[("mode", "test"), ("secret", "")]);
    let attempts: [(&str, Vec<(&'static str, String)>); 4] = [
        ("/settings/buyers/new", add),
        ("/settings/buyers/BUYER-1", edit),
        (
            "/settings/buyers/BUYER-1/remove",
            vec![("confirm", "yes".to_owned())],
        ),
        (
            "/settings/buyers/BUYER-1/test-order",
            vec![("test_secret", SECRET.to_owned())],
        ),
    ];
    for (path, fields) in &attempts {
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let page = client.post_without_csrf(path, &borrowed).await.unwrap();
        assert_eq!(page.status, 403, "{path}: {}", page.body);
    }

    assert_eq!(stored_buyer(&app, "BUYER-1").await, before);
    let buyers = app.store().list_buyers(app.account.id).await.unwrap();
    assert_eq!(buyers.len(), 1);
    let orders = stored_orders(&app).await;
    assert!(orders.is_empty(), "no test order was sent");
    let audit = app.store().audit_log(app.account.id, 10).await.unwrap();
    assert_eq!(audit, audit_before);
}
