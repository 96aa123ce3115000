//! Settings → General and Settings → Defaults over HTTP: connecting the
//! sandbox Brightpearl through its real approval page, the pull of its data
//! and the mail that follows, the defaults form checked against that data,
//! the invoice row rules, and that no account sees or changes another's.

use std::collections::HashMap;

use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::{add_corpus_buyers, map_corpus_parts, Options, TestApp};
use pobridge_engine::admin;
use pobridge_store::{JobStatus, PoFilter, PoStatus, ReferenceKind};
use reqwest::redirect::Policy;
use reqwest::Url;
use serde_json::{json, Value};

const EMAIL: &str = "ops@acme.example";

async fn unconnected_app() -> TestApp {
    TestApp::start_with(Options {
        unconnected: true,
        ..Options::default()
    })
    .await
    .expect("pobridge starts")
}

/// Posts the connect form and returns where it redirects: the sandbox's
/// approval page.
async fn start_connecting(client: &mut PortalClient, account_code: &str) -> String {
    client.get("/settings").await.unwrap();
    let answer = client
        .post(
            "/settings/brightpearl/connect",
            &[("account_code", account_code), ("data_centre", "euw1")],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    answer.location().expect("a redirect").to_owned()
}

/// Presses Approve or Deny on the sandbox's approval page, as a browser
/// would, and returns the callback URL the sandbox sends the browser to.
async fn decide(authorize_url: &str, decision: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Approve"));

    let query = query_of(authorize_url);
    let form = [
        ("client_id", query["client_id"].as_str()),
        ("redirect_uri", query["redirect_uri"].as_str()),
        ("state", query["state"].as_str()),
        ("decision", decision),
    ];
    let mut action = Url::parse(authorize_url).unwrap();
    action.set_query(None);
    let answer = http.post(action).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// Returns the query parameters of a URL.
fn query_of(url: &str) -> HashMap<String, String> {
    let url = Url::parse(url).unwrap();
    url.query_pairs().into_owned().collect()
}

/// Checks that the app's account has no connection and no pull queued.
async fn assert_not_connected(app: &TestApp) {
    let connection = app.store().connection(app.account.id).await.unwrap();
    assert_eq!(connection, None);
    assert!(jobs_of_kind(app, "refresh_reference").await.is_empty());
}

/// Returns the value of the hidden input named `name`.
fn hidden(page: &Page, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker)? + marker.len();
    let end = start + page.body[start..].find('"')?;
    Some(page.body[start..end].to_owned())
}

/// Approves the sandbox for `account_code` and returns the callback page.
async fn approve(client: &mut PortalClient, account_code: &str) -> Page {
    let authorize = start_connecting(client, account_code).await;
    let callback = decide(&authorize, "approve").await;
    client.get(&callback).await.unwrap()
}

async fn jobs_of_kind(app: &TestApp, kind: &str) -> Vec<pobridge_store::Job> {
    let jobs = app.store().list_jobs(app.account.id).await.unwrap();
    jobs.into_iter().filter(|job| job.kind == kind).collect()
}

async fn audit_actions(app: &TestApp, account: pobridge_core::AccountId) -> Vec<String> {
    let log = app.store().audit_log(account, 50).await.unwrap();
    log.into_iter().map(|entry| entry.action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_connects_and_pulls_data() {
    let app = unconnected_app().await;
    let mut client = app.portal_as(EMAIL).await.unwrap();
    let before = client.get("/settings").await.unwrap();
    assert_eq!(before.status, 200);
    assert!(before.body.contains("Not connected"), "{}", before.body);
    assert!(!before.body.contains("http-equiv=\"refresh\""));

    let authorize = start_connecting(&mut client, &app.brightpearl_code).await;
    let expected_start = format!("{}/authorize/{}?", app.sandbox_url, app.brightpearl_code);
    assert!(authorize.starts_with(&expected_start), "{authorize}");
    let callback_uri = format!("{}/settings/brightpearl/callback", app.base_url);
    let query = query_of(&authorize);
    assert_eq!(query["redirect_uri"], callback_uri);
    assert_eq!(query["state"].len(), 64);

    let callback = decide(&authorize, "approve").await;
    assert!(callback.starts_with(&callback_uri), "{callback}");
    let approved = client.get(&callback).await.unwrap();
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert!(approved.body.contains("Brightpearl approved access"));
    assert!(approved.body.contains("Finish connecting"));
    let store = app.store();
    assert_eq!(
        store.connection(app.account.id).await.unwrap(),
        None,
        "the callback stores no connection"
    );

    let token = hidden(&approved, "finish").expect("a finish token");
    let finished = client
        .post(
            "/settings/brightpearl/finish",
            &[("finish", token.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(finished.status, 303, "{}", finished.body);
    assert_eq!(finished.location(), Some("/settings"));
    let connection = store
        .connection(app.account.id)
        .await
        .unwrap()
        .expect("a connection");
    assert_eq!(connection.account_code, app.brightpearl_code);
    assert_eq!(connection.api_base, app.sandbox_url);
    let refresh = jobs_of_kind(&app, "refresh_reference").await;
    assert_eq!(refresh.len(), 1);
    assert_eq!(refresh[0].status, JobStatus::Queued);

    let pulling = client.follow(&finished).await.unwrap();
    assert!(pulling.body.contains("Brightpearl is connected"));
    assert!(
        pulling.body.contains("Connected</span>"),
        "{}",
        pulling.body
    );
    assert!(pulling.body.contains("Waiting to start"));
    assert!(pulling
        .body
        .contains("<meta http-equiv=\"refresh\" content=\"3\">"));

    app.drain(20).await;

    let channels = store
        .reference_data(app.account.id, ReferenceKind::Channels)
        .await
        .unwrap()
        .expect("channels are pulled");
    let channel_count = channels.data.as_array().unwrap().len();
    assert!(channel_count > 0);
    let products = store.list_products(app.account.id, 1000, 0).await.unwrap();
    assert!(!products.is_empty());
    let mail = store.list_mail(Some(app.account.id), 10).await.unwrap();
    let ready: Vec<_> = mail
        .iter()
        .filter(|message| message.kind == "reference_data_ready")
        .collect();
    assert_eq!(ready.len(), 1, "{mail:?}");
    assert_eq!(ready[0].recipient, EMAIL);
    assert_eq!(ready[0].subject, "Brightpearl data is ready");
    assert!(ready[0]
        .body
        .contains(&format!("- {channel_count} channels")));

    let done = client.get("/settings").await.unwrap();
    assert!(!done.body.contains("http-equiv=\"refresh\""));
    assert!(done.body.contains("Finished"), "{}", done.body);
    let channel_row = format!("<td>Channels</td><td class=\"num\">{channel_count}</td>");
    assert!(done.body.contains(&channel_row), "{}", done.body);
    let product_row = format!("<td>Products</td><td class=\"num\">{}</td>", products.len());
    assert!(done.body.contains(&product_row), "{}", done.body);
    assert!(audit_actions(&app, app.account.id)
        .await
        .contains(&"brightpearl.connect".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_approval_changes_nothing() {
    let app = unconnected_app().await;
    let mut client = app.portal_as(EMAIL).await.unwrap();

    let authorize = start_connecting(&mut client, &app.brightpearl_code).await;
    let callback = decide(&authorize, "deny").await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let page = client.get(&callback).await.unwrap();

    assert_eq!(page.status, 200);
    assert!(page.body.contains("Access was denied"), "{}", page.body);
    assert!(page.body.contains("press Connect again and choose Approve"));
    assert!(!page.body.contains("Finish connecting"));
    assert_not_connected(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_state_rejected_and_finish_repeats() {
    let app = unconnected_app().await;
    let mut client = app.portal_as(EMAIL).await.unwrap();
    let authorize = start_connecting(&mut client, &app.brightpearl_code).await;
    let callback = decide(&authorize, "approve").await;
    let first = client.get(&callback).await.unwrap();
    let token = hidden(&first, "finish").unwrap();

    let replayed = client.get(&callback).await.unwrap();
    assert_eq!(replayed.status, 404);
    assert!(replayed.body.contains("already used"), "{}", replayed.body);
    assert!(!replayed.body.contains("Finish connecting"));

    let finished = client
        .post(
            "/settings/brightpearl/finish",
            &[("finish", token.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(finished.status, 303);
    // A second press right after the first, as a double click sends, shows
    // the connected result again and exchanges nothing.
    let again = client
        .post(
            "/settings/brightpearl/finish",
            &[("finish", token.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.location(), Some("/settings"));
    let settings = client.follow(&again).await.unwrap();
    assert!(
        settings.body.contains("Brightpearl is connected."),
        "{}",
        settings.body
    );
    assert!(
        settings.body.contains(r#"<option value="euw1" selected>"#),
        "the saved data centre is preselected: {}",
        settings.body
    );
    assert_eq!(
        audit_actions(&app, app.account.id).await,
        ["brightpearl.connect"]
    );

    let colleague_again = colleague_finish(&app, &token).await;
    assert_eq!(colleague_again.status, 404, "{}", colleague_again.body);
    assert!(colleague_again.body.contains("Start again with"));
}

/// Presses "Finish connecting" with `token` as another user of the account.
async fn colleague_finish(app: &TestApp, token: &str) -> Page {
    let mut colleague = app.portal_as("colleague@acme.example").await.unwrap();
    colleague.get("/settings").await.unwrap();
    colleague
        .post("/settings/brightpearl/finish", &[("finish", token)])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_state_is_rejected() {
    let app = unconnected_app().await;
    let mut owner = app.portal_as(EMAIL).await.unwrap();
    let (globex, mut stranger) = app.other_account("globex").await.unwrap();
    let mut colleague = app.portal_as("colleague@acme.example").await.unwrap();

    let authorize = start_connecting(&mut owner, &app.brightpearl_code).await;
    let callback = decide(&authorize, "approve").await;
    let page = stranger.get(&callback).await.unwrap();
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(!page.body.contains("Finish connecting"));
    assert!(!page.body.contains(&app.brightpearl_code));
    assert_eq!(app.store().connection(globex.id).await.unwrap(), None);
    let used = owner.get(&callback).await.unwrap();
    assert_eq!(used.status, 404, "a rejected state is used up");

    let approved = approve(&mut owner, &app.brightpearl_code).await;
    let token = hidden(&approved, "finish").unwrap();
    colleague.get("/settings").await.unwrap();
    let colleague_finish = colleague
        .post(
            "/settings/brightpearl/finish",
            &[("finish", token.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(
        colleague_finish.status, 404,
        "another user's approval is rejected"
    );
    assert_not_connected(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_without_code_or_state_explains() {
    let app = unconnected_app().await;
    let mut client = app.portal_as(EMAIL).await.unwrap();

    let authorize = start_connecting(&mut client, &app.brightpearl_code).await;
    let query = query_of(&authorize);
    let state = &query["state"];
    let no_code = client
        .get(&format!("/settings/brightpearl/callback?state={state}"))
        .await
        .unwrap();
    assert_eq!(no_code.status, 400);
    assert!(no_code.body.contains("without an authorization code"));
    assert!(no_code.body.contains("Start again with Connect"));

    let unknown = client
        .get("/settings/brightpearl/callback?code=abc&state=not-a-state")
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    let missing = client
        .get("/settings/brightpearl/callback?code=abc")
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    assert_not_connected(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_account_code_is_named_by_its_field() {
    let app = unconnected_app().await;
    let mut client = app.portal_as(EMAIL).await.unwrap();
    client.get("/settings").await.unwrap();

    let page = client
        .post(
            "/settings/brightpearl/connect",
            &[("account_code", "acme ltd!"), ("data_centre", "")],
        )
        .await
        .unwrap();

    assert_eq!(page.status, 422);
    assert!(page.body.contains("id=\"account_code-error\""));
    let message = escaped("\"acme ltd!\" is not valid");
    assert!(page.body.contains(&message), "{}", page.body);
    assert!(
        page.body.contains("value=\"acme ltd!\""),
        "the typed code is kept"
    );
    assert!(page.body.contains("aria-invalid=\"true\""));
    assert!(page.body.contains("id=\"data_centre-error\""));
    assert!(page.body.contains("Choose the data centre"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_queues_a_pull() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    let page = client.get("/settings").await.unwrap();
    assert!(page.body.contains("Connected</span>"));
    assert!(
        page.body.contains("Pulled</span> Last pulled"),
        "{}",
        page.body
    );

    let answer = client
        .post("/settings/brightpearl/refresh", &[])
        .await
        .unwrap();

    assert_eq!(answer.status, 303);
    let jobs = jobs_of_kind(&app, "refresh_reference").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Queued);
    let page = client.follow(&answer).await.unwrap();
    assert!(page.body.contains("Refresh queued"));
    assert!(page.body.contains("http-equiv=\"refresh\""));
    assert_eq!(
        audit_actions(&app, app.account.id).await,
        ["brightpearl.refresh"]
    );

    let unconnected = unconnected_app().await;
    let mut other = unconnected.portal_as(EMAIL).await.unwrap();
    other.get("/settings").await.unwrap();
    let not_connected = other
        .post("/settings/brightpearl/refresh", &[])
        .await
        .unwrap();
    assert_eq!(not_connected.status, 422);
    assert!(not_connected.body.contains("not connected"));
}

/// Returns the reference data of `kind` stored for the app's account.
async fn items(app: &TestApp, kind: ReferenceKind) -> Vec<Value> {
    let data = app
        .store()
        .reference_data(app.account.id, kind)
        .await
        .unwrap()
        .expect("reference data is loaded");
    data.data.as_array().unwrap().clone()
}

/// Builds a complete defaults form that chooses the last channel and warehouse, the
/// zero-rated tax code, shipping left out, and the sandbox's YES_NO and
/// SELECT custom fields.
async fn defaults_form(app: &TestApp) -> Vec<(String, String)> {
    let channels = items(app, ReferenceKind::Channels).await;
    let warehouses = items(app, ReferenceKind::Warehouses).await;
    let last_id = |list: &[Value]| list.last().unwrap()["id"].to_string();
    let mut form: Vec<(String, String)> = [
        ("channel_id", last_id(&channels)),
        ("warehouse_id", last_id(&warehouses)),
        ("price_list_id", String::new()),
        ("order_status_id", String::new()),
        ("staff_owner_id", "4".to_owned()),
        ("project_id", String::new()),
        ("lead_source_id", String::new()),
        ("default_tax_code", "Z".to_owned()),
        ("shipping", "omit".to_owned()),
        ("shipping_nominal_code", String::new()),
        ("coupa_id_field", "supplier_part_id".to_owned()),
        ("brightpearl_id_field", "sku".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    for field in items(app, ReferenceKind::OrderCustomFields).await {
        let value = match field["customFieldType"].as_str() {
            Some("YES_NO") => "yes".to_owned(),
            Some("SELECT") => field["options"]
                .as_object()
                .and_then(|options| options.values().next())
                .map(|option| option["id"].to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let code = field["code"].as_str().unwrap();
        form.push((format!("custom_fields.{code}"), value));
    }
    form
}

/// Text as the templates escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

fn with(form: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    form.iter()
        .map(|(name, old)| {
            let new = if name == key { value } else { old.as_str() };
            (name.clone(), new.to_owned())
        })
        .collect()
}

/// The `<select>` element whose id is `id`, up to its closing tag.
fn select_html<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("<select id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <select> {id}: {}", page.body));
    let end = start + page.body[start..].find("</select>").unwrap();
    &page.body[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_offer_brightpearl_data_and_save() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();

    let page = client.get("/settings/defaults").await.unwrap();
    assert_eq!(page.status, 200);
    for channel in items(&app, ReferenceKind::Channels).await {
        let option = format!(
            "<option value=\"{}\">{}</option>",
            channel["id"],
            channel["name"].as_str().unwrap()
        );
        assert!(
            select_html(&page, "channel_id").contains(&option),
            "{option}"
        );
    }
    assert!(select_html(&page, "default_tax_code").contains("value=\"Z\""));
    assert!(
        !select_html(&page, "price_list_id").contains("value=\"0\""),
        "the cost price list, id 0, is not offered"
    );
    assert!(items(&app, ReferenceKind::PriceLists)
        .await
        .iter()
        .any(|list| list["id"] == 0));
    assert!(page.body.contains("type=\"date\""), "a DATE custom field");
    assert!(page.body.contains(
        "id=\"custom_fields-PCF_REVISION\" name=\"custom_fields.PCF_REVISION\" type=\"number\""
    ));
    assert!(select_html(&page, "custom_fields-PCF_APPROVED").contains("value=\"yes\""));
    assert!(select_html(&page, "custom_fields-PCF_CHANNEL").contains(">Coupa</option>"));

    let form = defaults_form(&app).await;
    let answer = client
        .post("/settings/defaults", &pairs(&form))
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);

    let settings = app.store().account(app.account.id).await.unwrap().settings;
    let chosen = |key: &str| form.iter().find(|(name, _)| name == key).unwrap().1.clone();
    assert_eq!(
        settings.channel_id.unwrap().to_string(),
        chosen("channel_id")
    );
    assert_eq!(
        settings.warehouse_id.unwrap().to_string(),
        chosen("warehouse_id")
    );
    assert_eq!(settings.default_tax_code.as_deref(), Some("Z"));
    assert_eq!(settings.staff_owner_id, Some(4));
    assert_eq!(settings.shipping, pobridge_core::ShippingTreatment::Omit);
    assert_eq!(settings.custom_fields["PCF_APPROVED"], json!(true));
    let option: i64 = chosen("custom_fields.PCF_CHANNEL").parse().unwrap();
    assert_eq!(
        settings.custom_fields["PCF_CHANNEL"],
        json!({ "id": option })
    );
    assert!(!settings.custom_fields.contains_key("PCF_COUPAPO"));

    let saved = client.follow(&answer).await.unwrap();
    assert!(saved.body.contains("Defaults saved"));
    let selected = format!("value=\"{}\" selected", chosen("channel_id"));
    assert!(select_html(&saved, "channel_id").contains(&selected));
    assert!(select_html(&saved, "custom_fields-PCF_APPROVED").contains("value=\"yes\" selected"));
    assert!(saved
        .body
        .contains("name=\"staff_owner_id\" type=\"number\" value=\"4\""));
    let audit = app.store().audit_log(app.account.id, 10).await.unwrap();
    assert_eq!(audit[0].action, "settings.update");
    assert!(
        audit[0].detail.contains("default_tax_code = Z"),
        "{}",
        audit[0].detail
    );

    let unchanged = client
        .post("/settings/defaults", &pairs(&form))
        .await
        .unwrap();
    assert_eq!(unchanged.status, 303);
    let page = client.follow(&unchanged).await.unwrap();
    assert!(page.body.contains("Nothing changed"));
}

/// Builds the form a browser sends from `page` when no field was typed in:
/// each field's `shown.KEY` value, and the field itself with the same value.
fn form_as_shown(page: &Page) -> Vec<(String, String)> {
    let mut form = Vec::new();
    let mut rest = page.body.as_str();
    while let Some(start) = rest.find("name=\"shown.") {
        rest = &rest[start + "name=\"shown.".len()..];
        let key = &rest[..rest.find('"').unwrap()];
        let value_at = rest.find("value=\"").unwrap() + "value=\"".len();
        let value = &rest[value_at..value_at + rest[value_at..].find('"').unwrap()];
        form.push((format!("shown.{key}"), value.to_owned()));
        form.push((key.to_owned(), value.to_owned()));
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_defaults_page_keeps_later_changes() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    client.get("/settings/defaults").await.unwrap();
    let saved = client
        .post("/settings/defaults", &pairs(&defaults_form(&app).await))
        .await
        .unwrap();
    assert_eq!(saved.status, 303, "{}", saved.body);
    let other_tax_code = items(&app, ReferenceKind::TaxCodes)
        .await
        .iter()
        .filter_map(|code| code["code"].as_str().map(str::to_owned))
        .find(|code| code != "Z")
        .expect("a second tax code");

    // The page is loaded, then someone changes the tax code elsewhere.
    let stale = form_as_shown(&client.get("/settings/defaults").await.unwrap());
    let slug = app.account.slug.as_str();
    admin::set_setting(&app.engine, slug, "default_tax_code", &other_tax_code)
        .await
        .unwrap();
    let answer = client
        .post(
            "/settings/defaults",
            &pairs(&with(&stale, "staff_owner_id", "7")),
        )
        .await
        .unwrap();

    assert_eq!(answer.status, 303, "{}", answer.body);
    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert_eq!(settings.staff_owner_id, Some(7));
    assert_eq!(
        settings.default_tax_code.as_deref(),
        Some(other_tax_code.as_str()),
        "the stale page kept the change made since"
    );

    // An edit of a field that changed elsewhere is refused until sent again.
    admin::set_setting(&app.engine, slug, "staff_owner_id", "9")
        .await
        .unwrap();
    let conflicting = with(&stale, "staff_owner_id", "8");
    let warned = client
        .post("/settings/defaults", &pairs(&conflicting))
        .await
        .unwrap();
    assert_eq!(warned.status, 422, "{}", warned.body);
    assert!(
        warned
            .body
            .contains("Changed by someone else since this page was loaded"),
        "{}",
        warned.body
    );
    assert!(warned.body.contains("loaded, to 9."), "{}", warned.body);
    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert_eq!(settings.staff_owner_id, Some(9));
    // The refused page shows the typed 8 and, in every field not edited,
    // what is stored now; a browser sends those back.
    assert!(
        select_html(&warned, "default_tax_code")
            .contains(&format!("value=\"{other_tax_code}\" selected")),
        "{}",
        warned.body
    );
    let again = with(&form_as_shown(&warned), "staff_owner_id", "8");
    let replaced = client
        .post("/settings/defaults", &pairs(&again))
        .await
        .unwrap();
    assert_eq!(replaced.status, 303, "{}", replaced.body);
    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert_eq!(settings.staff_owner_id, Some(8));
    assert_eq!(
        settings.default_tax_code.as_deref(),
        Some(other_tax_code.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_defaults_are_named_and_kept() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    client.get("/settings/defaults").await.unwrap();
    let form = defaults_form(&app).await;
    let form = with(&form, "channel_id", "999999");
    let form = with(&form, "warehouse_id", "");
    let form = with(&form, "staff_owner_id", "abc");
    let form = with(&form, "custom_fields.PCF_REVISION", "twelve");
    let form = with(&form, "custom_fields.PCF_NEEDBY", "31/12/2024");

    let page = client
        .post("/settings/defaults", &pairs(&form))
        .await
        .unwrap();

    assert_eq!(page.status, 422);
    assert!(page.body.contains("Nothing was saved"));
    for id in [
        "channel_id",
        "warehouse_id",
        "staff_owner_id",
        "custom_fields-PCF_REVISION",
        "custom_fields-PCF_NEEDBY",
    ] {
        assert!(
            page.body
                .contains(&format!("<p class=\"field-error\" id=\"{id}-error\">")),
            "{id}: {}",
            page.body
        );
        assert!(
            page.body
                .contains(&format!("aria-describedby=\"{id}-error\"")),
            "{id}"
        );
    }
    let message = escaped("\"999999\" is not one of this Brightpearl account's channels");
    assert!(page.body.contains(&message), "{}", page.body);
    assert!(page.body.contains("Choose a warehouse"));
    assert!(page.body.contains("value=\"abc\""), "typed values are kept");
    assert!(page.body.contains("value=\"twelve\""));
    assert!(page.body.contains("value=\"31/12/2024\""));
    assert!(select_html(&page, "default_tax_code").contains("value=\"Z\" selected"));
    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert_eq!(settings, app.account.settings, "nothing is saved");
    assert!(audit_actions(&app, app.account.id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_reject_unusable_values() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    client.get("/settings/defaults").await.unwrap();
    let form = defaults_form(&app).await;
    let bad = with(&form, "shipping", "row");
    let bad = with(&bad, "project_id", "-5");
    let bad = with(&bad, "custom_fields.PCF_APPROVED", "maybe");

    let page = client
        .post("/settings/defaults", &pairs(&bad))
        .await
        .unwrap();

    assert_eq!(page.status, 422);
    for id in [
        "shipping_nominal_code",
        "project_id",
        "custom_fields-PCF_APPROVED",
    ] {
        assert!(
            page.body
                .contains(&format!("<p class=\"field-error\" id=\"{id}-error\">")),
            "{id}: {}",
            page.body
        );
    }
    assert!(page.body.contains("Choose a shipping nominal code"));
    assert!(page.body.contains("a whole number of 1 or more"));
    assert!(page.body.contains("enter yes or no."), "{}", page.body);
    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert_eq!(settings, app.account.settings, "nothing is saved");

    let nominal_codes = items(&app, ReferenceKind::NominalCodes).await;
    let code = nominal_codes[0]["code"].as_str().unwrap();
    let good = with(&form, "shipping", "row");
    let good = with(&good, "shipping_nominal_code", code);
    let answer = client
        .post("/settings/defaults", &pairs(&good))
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    let settings = app.store().account(app.account.id).await.unwrap().settings;
    assert_eq!(settings.shipping, pobridge_core::ShippingTreatment::Row);
    assert_eq!(settings.shipping_nominal_code.as_deref(), Some(code));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_defaults_release_waiting_orders() {
    let app = TestApp::start().await.unwrap();
    // A channel deleted in Brightpearl after it was chosen holds orders.
    let deleted_channel = pobridge_core::AccountSettings {
        channel_id: Some(999_999),
        ..app.account.settings.clone()
    };
    app.store()
        .save_settings(app.account.id, &deleted_channel)
        .await
        .unwrap();
    map_corpus_parts(&app).await.unwrap();
    let documents = add_corpus_buyers(&app, false).await.unwrap();
    let (name, body) = &documents[0];
    let (status, answer) = app.post_cxml(body.clone()).await.unwrap();
    assert_eq!(status, 200, "{name}: {answer}");
    app.drain(20).await;
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders[0].status, PoStatus::AwaitingSettings, "{name}");

    let mut client = app.portal_as(EMAIL).await.unwrap();
    let page = client.get("/settings/defaults").await.unwrap();
    let kept_option =
        "value=\"999999\" selected>999999 (not in the Brightpearl data pobridge holds)";
    assert!(
        select_html(&page, "channel_id").contains(kept_option),
        "{}",
        page.body
    );
    let form = defaults_form(&app).await;
    let answer = client
        .post("/settings/defaults", &pairs(&form))
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    app.drain(20).await;

    let order = app
        .store()
        .purchase_order(app.account.id, orders[0].id)
        .await
        .unwrap();
    assert_eq!(order.status, PoStatus::Synced, "{:?}", order.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_rules_are_added_and_removed() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    client.get("/settings/defaults").await.unwrap();
    let nominal = items(&app, ReferenceKind::NominalCodes).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();

    let added = client
        .post(
            "/settings/defaults/rows",
            &[
                ("matcher", "nominal"),
                ("value", &nominal),
                ("class", "skip"),
                ("position", ""),
            ],
        )
        .await
        .unwrap();
    assert_eq!(added.status, 303, "{}", added.body);
    let page = client.follow(&added).await.unwrap();
    assert!(
        page.body
            .contains(&format!("<td>Nominal code {nominal}</td>")),
        "{}",
        page.body
    );
    assert!(page.body.contains("<td>Left off the invoice</td>"));

    // (matcher, value, class, position, the field named, text of its message)
    let cases = [
        (
            "sku",
            "NO-SUCH-SKU",
            "shipping",
            "",
            "rule-value",
            "NO-SUCH-SKU",
        ),
        (
            "nominal",
            nominal.as_str(),
            "line",
            "",
            "rule-value",
            "exists already",
        ),
        (
            "sku",
            "WID-BLU-10",
            "freight",
            "",
            "rule-class",
            "special-handling",
        ),
        (
            "sku",
            "WID-BLU-10",
            "line",
            "first",
            "rule-position",
            "not a whole number",
        ),
    ];
    for (matcher, value, class, position, id, text) in cases {
        let fields = [
            ("matcher", matcher),
            ("value", value),
            ("class", class),
            ("position", position),
        ];
        let page = client
            .post("/settings/defaults/rows", &fields)
            .await
            .unwrap();
        assert_eq!(page.status, 422, "{fields:?}");
        let error = format!("<p class=\"field-error\" id=\"{id}-error\">");
        assert!(page.body.contains(&error), "{fields:?}: {}", page.body);
        assert!(page.body.contains(text), "{fields:?}: {text}");
        let typed = format!("value=\"{value}\"");
        assert!(
            page.body.contains(&typed),
            "{fields:?} keeps the typed value"
        );
    }
    let rules = invoice_rows(&app).await;
    assert_eq!(rules.len(), 1);

    let missing = client
        .post("/settings/defaults/rows/remove", &[("position", "5")])
        .await
        .unwrap();
    assert_eq!(missing.status, 422);
    assert!(missing.body.contains("There is no rule"));
    let removed = client
        .post("/settings/defaults/rows/remove", &[("position", "1")])
        .await
        .unwrap();
    assert_eq!(removed.status, 303);
    let rules = invoice_rows(&app).await;
    assert!(rules.is_empty());
    assert_eq!(
        audit_actions(&app, app.account.id).await,
        ["invoice_rows.remove", "invoice_rows.add"]
    );

    // A page shows the nominal rule first. Before its Remove is clicked, a
    // colleague adds a rule in front of it, so position 1 is now that
    // rule. The click removes the rule the page showed all the same.
    let seen = format!("nominal {nominal} -> skip");
    let add = |matcher: &'static str, value: String, class: &'static str, at: &'static str| {
        [
            ("matcher", matcher.to_owned()),
            ("value", value),
            ("class", class.to_owned()),
            ("position", at.to_owned()),
        ]
    };
    for fields in [
        add("nominal", nominal.clone(), "skip", ""),
        add("sku", "WID-BLU-10".to_owned(), "shipping", "1"),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let added = client
            .post("/settings/defaults/rows", &fields)
            .await
            .unwrap();
        assert_eq!(added.status, 303, "{}", added.body);
    }
    let remove = [("position", "1"), ("rule", seen.as_str())];
    let removed = client
        .post("/settings/defaults/rows/remove", &remove)
        .await
        .unwrap();
    assert_eq!(removed.status, 303, "{}", removed.body);
    let page = client.follow(&removed).await.unwrap();
    assert!(page.body.contains("Rule removed: nominal"), "{}", page.body);
    let rules = invoice_rows(&app).await;
    let left: Vec<String> = rules.iter().map(admin::describe_rule).collect();
    assert_eq!(left, ["sku WID-BLU-10 -> shipping"]);
    let again = client
        .post("/settings/defaults/rows/remove", &remove)
        .await
        .unwrap();
    assert_eq!(again.status, 422);
    assert!(
        again.body.contains("is no longer in the list"),
        "{}",
        again.body
    );
    assert_eq!(invoice_rows(&app).await, rules);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_account_never_sees_these_settings() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    client.get("/settings/defaults").await.unwrap();
    let form = defaults_form(&app).await;
    let saved = client
        .post("/settings/defaults", &pairs(&form))
        .await
        .unwrap();
    assert_eq!(saved.status, 303);
    let nominal = items(&app, ReferenceKind::NominalCodes).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let rule = [
        ("matcher", "nominal"),
        ("value", nominal.as_str()),
        ("class", "skip"),
        ("position", ""),
    ];
    client.post("/settings/defaults/rows", &rule).await.unwrap();
    let acme = app.store().account(app.account.id).await.unwrap();
    let channel_name = items(&app, ReferenceKind::Channels).await.last().unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();

    let (globex, mut stranger) = app.other_account("globex").await.unwrap();
    let general = stranger.get("/settings").await.unwrap();
    assert_eq!(general.status, 200);
    assert!(general.body.contains("Not connected"));
    assert!(!general.body.contains(&app.brightpearl_code));
    let defaults = stranger.get("/settings/defaults").await.unwrap();
    assert!(defaults.body.contains("Brightpearl data is not loaded yet"));
    assert!(!defaults.body.contains(&channel_name));
    assert!(defaults.body.contains("No rules yet"));

    let rejected_save = stranger
        .post("/settings/defaults", &pairs(&form))
        .await
        .unwrap();
    assert_eq!(rejected_save.status, 422);
    let removed = stranger
        .post("/settings/defaults/rows/remove", &[("position", "1")])
        .await
        .unwrap();
    assert_eq!(removed.status, 422);
    let refresh = stranger
        .post("/settings/brightpearl/refresh", &[])
        .await
        .unwrap();
    assert_eq!(refresh.status, 422);

    assert_eq!(
        app.store().account(app.account.id).await.unwrap().settings,
        acme.settings
    );
    let globex_now = app.store().account(globex.id).await.unwrap();
    assert_eq!(globex_now.settings, globex.settings);
    assert!(audit_actions(&app, globex.id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_csrf_are_forbidden() {
    let app = TestApp::start().await.unwrap();
    let mut client = app.portal_as(EMAIL).await.unwrap();
    let approved = approve(&mut client, &app.brightpearl_code).await;
    let token = hidden(&approved, "finish").unwrap();
    let connection = app.store().connection(app.account.id).await.unwrap();
    let form = defaults_form(&app).await;
    let before = app.store().account(app.account.id).await.unwrap().settings;

    let posts: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "/settings/brightpearl/connect",
            vec![("account_code", "other"), ("data_centre", "euw1")],
        ),
        (
            "/settings/brightpearl/finish",
            vec![("finish", token.as_str())],
        ),
        ("/settings/brightpearl/refresh", vec![]),
        ("/settings/defaults", pairs(&form)),
        (
            "/settings/defaults/rows",
            vec![
                ("matcher", "sku"),
                ("value", "WID-BLU-10"),
                ("class", "skip"),
            ],
        ),
        ("/settings/defaults/rows/remove", vec![("position", "1")]),
    ];
    for (path, fields) in posts {
        let answer = client.post_without_csrf(path, &fields).await.unwrap();
        assert_eq!(answer.status, 403, "{path}");
    }

    assert_eq!(
        app.store().connection(app.account.id).await.unwrap(),
        connection
    );
    assert_eq!(
        app.store().account(app.account.id).await.unwrap().settings,
        before
    );
    assert!(jobs_of_kind(&app, "refresh_reference").await.is_empty());
    assert!(audit_actions(&app, app.account.id).await.is_empty());
    let finished = client
        .post(
            "/settings/brightpearl/finish",
            &[("finish", token.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(
        finished.status, 303,
        "the rejected post did not use the token"
    );
}

/// Returns the account's invoice row rules as stored.
async fn invoice_rows(app: &TestApp) -> Vec<pobridge_core::RowRule> {
    app.store()
        .account(app.account.id)
        .await
        .unwrap()
        .settings
        .invoice_rows
}
