//! The customers page over HTTP. A corpus order whose customer is missing
//! waits and is listed with its BillTo. Choosing an existing sandbox
//! contact, or creating one from the filled-in form, releases it. Rejected
//! input names its field and keeps what was typed, another account's
//! BillTo is "not found", and every form needs the CSRF token.

use pobridge_brightpearl::{BrightpearlClient, ContactQuery};
use pobridge_core::PoId;
use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::waiting_order::{only_order, order_awaiting_customer};
use pobridge_e2e::TestApp;
use pobridge_store::{PoStatus, PurchaseOrder};

/// The waiting corpus order's number and BillTo, which is "Network" and
/// matches no sandbox contact.
const PO_NUMBER: &str = "3309";
const ADDRESS_ID: &str = "21444";
/// A sandbox contact the order can be mapped to.
const INITECH: i64 = 202;

/// A running pobridge whose corpus order waits for a customer, and a
/// client logged in to its account.
struct Waiting {
    app: TestApp,
    client: PortalClient,
    po: PoId,
    /// The BillTo's pages, such as `/customers/3/map?address=21444`.
    map_path: String,
    create_path: String,
    lookup_path: String,
}

async fn waiting_order() -> Waiting {
    let (app, po) = order_awaiting_customer().await;
    let client = app.portal_as("ops@acme.example").await.unwrap();
    let path = |action: &str| format!("/customers/{}/{action}?address={ADDRESS_ID}", po.buyer_id);
    Waiting {
        map_path: path("map"),
        create_path: path("create"),
        lookup_path: path("lookup"),
        po: po.id,
        app,
        client,
    }
}

/// Counts the contact POSTs the sandbox Brightpearl received.
fn contacts_created(app: &TestApp) -> usize {
    app.sandbox
        .request_log(&app.brightpearl_code)
        .iter()
        .filter(|entry| entry.method == "POST")
        .filter(|entry| entry.path_and_query.ends_with("contact-service/contact"))
        .count()
}

/// Returns the contact of the sandbox sales order that `po` became.
fn sales_order_customer(app: &TestApp, po: &PurchaseOrder) -> Option<i64> {
    let id = po.brightpearl_order_id?;
    app.sandbox
        .sales_orders(&app.brightpearl_code)
        .into_iter()
        .find(|order| order["id"].as_i64() == Some(id))
        .and_then(|order| order["parties"]["customer"]["contactId"].as_i64())
}

/// pobridge's client of the account's sandbox Brightpearl.
async fn brightpearl(app: &TestApp) -> BrightpearlClient {
    let clients = &app.engine.clients;
    let client = clients.client(app.account.id).await.unwrap();
    client.expect("the account is connected")
}

/// The create form exactly as the page filled it in.
const FILLED_FORM: [(&str, &str); 9] = [
    ("company", "Network"),
    ("email", "billto.person@example.com"),
    ("phone", ""),
    ("street", "Main Street"),
    ("street2", ""),
    ("city", "New York"),
    ("state", "NY"),
    ("postcode", "10018"),
    ("country", "US"),
];

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    FILLED_FORM
        .iter()
        .map(|(name, value)| {
            let changed = changes.iter().find(|(field, _)| field == name);
            (*name, changed.map_or(*value, |(_, new)| *new))
        })
        .collect()
}

fn assert_field_error(page: &Page, field: &str, text: &str) {
    let marker = format!(r#"<p class="field-error" id="{field}-error">"#);
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no error for {field}: {}", page.body));
    let message = &page.body[at..at + page.body[at..].find("</p>").unwrap()];
    assert!(message.contains(text), "{field}: {message}");
    assert!(
        page.body.contains(&format!(
            r#"aria-invalid="true" aria-describedby="{field}-error""#
        )),
        "{field} is marked invalid"
    );
}

#[tokio::test]
async fn page_lists_bill_to_and_waiting_order() {
    let Waiting {
        app,
        mut client,
        po,
        ..
    } = waiting_order().await;
    let buyer = only_order(&app).await.buyer_id;

    let page = client.get("/customers").await.unwrap();

    assert_eq!(page.status, 200);
    for text in [
        ADDRESS_ID,
        "Network",
        "Main Street",
        "New York, NY 10018",
        "billto.person@example.com",
        "not mapped",
        "creating contacts is off",
        &format!(r#"<a href="/orders/{po}">{PO_NUMBER}</a>"#),
        &format!(r#"href="/customers/{buyer}/map?address={ADDRESS_ID}""#),
        &format!(r#"href="/customers/{buyer}/create?address={ADDRESS_ID}""#),
    ] {
        assert!(page.body.contains(text), "{text:?} in {}", page.body);
    }
    let filters = [
        (format!("/customers?show=waiting&buyer={buyer}"), true),
        ("/customers?show=unmapped".to_owned(), true),
        ("/customers?show=mapped".to_owned(), false),
        (format!("/customers?q={PO_NUMBER}"), true),
        ("/customers?q=billto.PERSON".to_owned(), true),
        ("/customers?q=nothing-like-this".to_owned(), false),
        (format!("/customers?buyer={}", buyer.0 + 1000), false),
    ];
    for (path, listed) in filters {
        let filtered = client.get(&path).await.unwrap();
        assert_eq!(filtered.status, 200, "{path}");
        assert_eq!(
            filtered.body.contains("billto.person@example.com"),
            listed,
            "{path}"
        );
    }
}

#[tokio::test]
async fn mapping_existing_contact_releases_order() {
    let Waiting {
        app,
        mut client,
        map_path,
        lookup_path,
        ..
    } = waiting_order().await;
    let empty = client.get(&map_path).await.unwrap();
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("The local list has no contacts yet."));

    let looked_up = client
        .post(&lookup_path, &[("lookup", "Initech")])
        .await
        .unwrap();
    assert_eq!(looked_up.status, 303, "{}", looked_up.body);
    let choices = client.follow(&looked_up).await.unwrap();
    assert!(choices.body.contains("Brightpearl has 1 contact matching"));
    assert!(choices.body.contains("Initech Ltd"));
    assert!(choices.body.contains(&format!(
        r#"name="contact" id="contact-{INITECH}" value="{INITECH}""#
    )));
    let answer = client
        .post(&map_path, &[("contact", "202"), ("q", "Initech")])
        .await
        .unwrap();

    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), Some("/customers"));
    let list = client.follow(&answer).await.unwrap();
    assert!(
        list.body.contains(
            "Mapped to Brightpearl contact 202 (Initech Ltd). 1 order waiting for it was released"
        ),
        "{}",
        list.body
    );
    assert!(list.body.contains("chosen by ops@acme.example"));
    let audit = app.store().audit_log(app.account.id, 10).await.unwrap();
    assert_eq!(audit[0].action, "customer_mapping.set");
    assert_eq!(audit[0].actor, "ops@acme.example");
    assert!(
        audit[0].detail.contains("202 (Initech Ltd)"),
        "{:?}",
        audit[0]
    );
    app.drain(10).await;
    let po = only_order(&app).await;
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    assert_eq!(sales_order_customer(&app, &po), Some(INITECH));
    assert_eq!(contacts_created(&app), 0);
}

#[tokio::test]
async fn created_contact_is_mapped_and_order_released() {
    let Waiting {
        app,
        mut client,
        create_path,
        ..
    } = waiting_order().await;

    let form = client.get(&create_path).await.unwrap();
    assert_eq!(form.status, 200);
    for (name, value) in FILLED_FORM {
        let field = format!(r#"name="{name}" value="{value}""#);
        assert!(form.body.contains(&field), "{field} in {}", form.body);
    }
    let answer = client.post(&create_path, &FILLED_FORM).await.unwrap();

    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(contacts_created(&app), 1);
    let brightpearl = brightpearl(&app).await;
    let query = ContactQuery::CompanyName("Network".to_owned());
    let found = brightpearl.search_contacts(&query).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let created = found[0].contact_id;
    let list = client.follow(&answer).await.unwrap();
    assert!(
        list.body.contains(&format!(
            "Created Brightpearl contact {created} (Network). 1 order waiting for it was released"
        )),
        "{}",
        list.body
    );
    let contact = brightpearl.get_contact(created).await.unwrap();
    assert_eq!(contact.email.as_deref(), Some("billto.person@example.com"));
    assert_eq!(contact.company_name.as_deref(), Some("Network"));
    let audit = app.store().audit_log(app.account.id, 10).await.unwrap();
    assert_eq!(audit[0].action, "customer.create");
    app.drain(10).await;
    let po = only_order(&app).await;
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    assert_eq!(sales_order_customer(&app, &po), Some(created));

    let again = client.post(&create_path, &FILLED_FORM).await.unwrap();
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(contacts_created(&app), 1, "the existing contact is mapped");
    let notice = client.follow(&again).await.unwrap();
    assert!(notice.body.contains(&format!(
        "Mapped to Brightpearl contact {created} (Network)."
    )));
}

/// A company name of 57 characters, past Brightpearl's 32 for contact names.
const LONG_COMPANY: &str = "Northwind Consolidated Procurement Services International";

#[tokio::test]
async fn long_company_and_blank_town_are_created_as_hinted() {
    let Waiting {
        app,
        mut client,
        create_path,
        ..
    } = waiting_order().await;
    let form = client.get(&create_path).await.unwrap();
    for id in ["city", "postcode"] {
        let field = format!(r#"id="{id}" name="{id}""#);
        let at = form.body.find(&field).expect("the field is shown");
        let rest = &form.body[at..];
        let hint = &rest[..rest.find("</label>").unwrap_or(rest.len())];
        assert!(hint.contains("Optional."), "{id}: {hint}");
    }

    let no_street = with(&[
        ("company", LONG_COMPANY),
        ("street", ""),
        ("city", ""),
        ("postcode", ""),
    ]);
    let refused = client.post(&create_path, &no_street).await.unwrap();
    assert_eq!(refused.status, 422);
    assert_field_error(&refused, "street", "first line of the street");
    assert!(!refused.body.contains(r#"id="city-error""#));
    assert!(!refused.body.contains(r#"id="postcode-error""#));
    let cut: String = LONG_COMPANY.chars().take(32).collect();
    assert!(
        refused.body.contains(&format!(
            "This name has 57 characters, so the contact&#39;s own name will be &#34;{cut}&#34;."
        )),
        "{}",
        refused.body
    );

    let typed = with(&[("company", LONG_COMPANY), ("city", ""), ("postcode", "")]);
    let answer = client.post(&create_path, &typed).await.unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    let brightpearl = brightpearl(&app).await;
    let query = ContactQuery::CompanyName(LONG_COMPANY.to_owned());
    let found = brightpearl.search_contacts(&query).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let contact = brightpearl.get_contact(found[0].contact_id).await.unwrap();
    assert_eq!(contact.company_name.as_deref(), Some(LONG_COMPANY));
    assert_eq!(contact.last_name.as_deref(), Some(cut.as_str()));
}

#[tokio::test]
async fn rejected_form_names_fields_and_keeps_values() {
    let Waiting {
        app,
        mut client,
        map_path,
        create_path,
        ..
    } = waiting_order().await;
    client.get(&create_path).await.unwrap();

    let typed = with(&[
        ("company", " "),
        ("email", "not-an-address"),
        ("street", "Main Street"),
        ("country", "U5"),
    ]);
    let refused = client.post(&create_path, &typed).await.unwrap();
    let unknown_country = with(&[("country", "ZZ"), ("phone", "+1 212 555 0100")]);
    let rejected = client.post(&create_path, &unknown_country).await.unwrap();
    let lookup_path = map_path.replace("/map", "/lookup");
    client
        .post(&lookup_path, &[("lookup", "Initech")])
        .await
        .unwrap();
    let unchosen = client.post(&map_path, &[("q", "Init")]).await.unwrap();
    let unlisted = client
        .post(&map_path, &[("contact", "999999"), ("q", "Init")])
        .await
        .unwrap();
    let short = client.post(&lookup_path, &[("lookup", "I")]).await.unwrap();

    assert_eq!(refused.status, 422);
    assert_field_error(&refused, "company", "Enter the company name");
    assert_field_error(&refused, "email", "e-mail address such as");
    assert_field_error(&refused, "country", "ISO code of two or three letters");
    assert!(!refused.body.contains(r#"id="street-error""#));
    for kept in [
        r#"value="not-an-address""#,
        r#"value="Main Street""#,
        r#"value="U5""#,
        r#"value="New York""#,
    ] {
        assert!(refused.body.contains(kept), "{kept} kept");
    }
    assert_eq!(rejected.status, 422);
    assert_field_error(&rejected, "country", "not a known country");
    assert!(rejected.body.contains(r#"value="+1 212 555 0100""#));
    assert!(rejected.body.contains(r#"value="ZZ""#));
    assert_eq!(unchosen.status, 422);
    assert_field_error(&unchosen, "contact", "Choose the Brightpearl contact");
    assert!(unchosen.body.contains(r#"id="q" name="q" value="Init""#));
    assert_eq!(unlisted.status, 422);
    assert_field_error(&unlisted, "contact", "not in the local contact list");
    assert_eq!(short.status, 422);
    assert_field_error(&short, "lookup", "at least 2 characters");
    assert_eq!(contacts_created(&app), 0);
    let po = only_order(&app).await;
    assert_eq!(po.status, PoStatus::AwaitingCustomer);
    let mappings = app
        .store()
        .chosen_customer_mappings(app.account.id)
        .await
        .unwrap();
    assert!(mappings.is_empty(), "{mappings:?}");
}

#[tokio::test]
async fn other_account_gets_not_found() {
    let Waiting {
        app,
        map_path,
        create_path,
        lookup_path,
        ..
    } = waiting_order().await;
    let (_, mut other) = app.other_account("globex").await.unwrap();
    let requests_before = app.sandbox.request_log(&app.brightpearl_code).len();

    let list = other.get("/customers").await.unwrap();
    let pages = [
        other.get(&map_path).await.unwrap(),
        other.get(&create_path).await.unwrap(),
        other.post(&map_path, &[("contact", "202")]).await.unwrap(),
        other
            .post(&lookup_path, &[("lookup", "Initech")])
            .await
            .unwrap(),
        other.post(&create_path, &FILLED_FORM).await.unwrap(),
    ];

    assert_eq!(list.status, 200);
    for text in [
        ADDRESS_ID,
        "Network",
        "billto.person@example.com",
        PO_NUMBER,
    ] {
        assert!(!list.body.contains(text), "{text} leaked: {}", list.body);
    }
    for page in &pages {
        assert_eq!(page.status, 404, "{}", page.body);
        assert!(!page.body.contains("Network"));
    }
    assert_eq!(contacts_created(&app), 0);
    assert_eq!(
        app.sandbox.request_log(&app.brightpearl_code).len(),
        requests_before,
        "Brightpearl was not asked anything"
    );
    let mappings = app
        .store()
        .chosen_customer_mappings(app.account.id)
        .await
        .unwrap();
    assert!(mappings.is_empty());
    let mut own = app.portal_as("boss@acme.example").await.unwrap();
    let unseen = own
        .get(&map_path.replace(ADDRESS_ID, "no-such-address"))
        .await
        .unwrap();
    let not_a_buyer = own.get("/customers/buyer-1/map").await.unwrap();
    assert_eq!(unseen.status, 404);
    assert_eq!(not_a_buyer.status, 404);
}

#[tokio::test]
async fn forms_without_csrf_token_change_nothing() {
    let Waiting {
        app,
        mut client,
        po,
        map_path,
        create_path,
        lookup_path,
    } = waiting_order().await;
    let requests_before = app.sandbox.request_log(&app.brightpearl_code).len();

    let answers = [
        client
            .post_without_csrf(&map_path, &[("contact", "202")])
            .await
            .unwrap(),
        client
            .post_without_csrf(&lookup_path, &[("lookup", "Initech")])
            .await
            .unwrap(),
        client
            .post_without_csrf(&create_path, &FILLED_FORM)
            .await
            .unwrap(),
    ];

    for answer in &answers {
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
    assert_eq!(
        app.sandbox.request_log(&app.brightpearl_code).len(),
        requests_before,
        "Brightpearl was not asked anything"
    );
    let mappings = app
        .store()
        .chosen_customer_mappings(app.account.id)
        .await
        .unwrap();
    assert!(mappings.is_empty());
    let contacts = app.store().list_contacts(app.account.id).await.unwrap();
    assert!(contacts.is_empty());
    assert!(app
        .store()
        .audit_log(app.account.id, 10)
        .await
        .unwrap()
        .is_empty());
    let waiting = app
        .store()
        .purchase_order(app.account.id, po)
        .await
        .unwrap();
    assert_eq!(waiting.status, PoStatus::AwaitingCustomer);
}
