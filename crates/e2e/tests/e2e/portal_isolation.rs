//! Every portal route against two accounts on one install. Account B, the
//! harness's `acme`, has real data of every kind: a synced order with an
//! invoice accepted by Coupa, a failed order, a buyer, a second user still
//! pending, a chosen customer mapping, a manual item mapping and an audit
//! entry. A user of account A, `globex`, then requests every route:
//!
//! - a route that names a record (an order, invoice, buyer, user, BillTo,
//!   item or OAuth state) is sent B's record and must answer 404;
//! - a route without one must show none of B's data;
//! - either way, B's stored data must be exactly as before.
//!
//! Then B's own user posts every form, as URL-encoded and as multipart form
//! data, without the CSRF token, with a made-up one and with A's real one.
//! Each post must get 403 and change nothing.
//!
//! [`ROUTES`] is the table of every route; `table_covers_every_route` reads
//! the portal's source and fails on any route the table lacks, so a new
//! route cannot skip these checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Duration, TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_e2e::corpus::with_identity;
use pobridge_e2e::invoicing::{run_poll_cycle, BuyerCoupas};
use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::{configure_defaults, Options, TestApp};
use pobridge_engine::admin::MapItem;
use pobridge_sandbox::Faults;
use pobridge_store::{
    CredentialRef, CustomerMapping, InvoiceFilter, InvoiceRecord, ItemFilter, NewAuditEntry,
    NewBuyer, PoFilter, PoStatus, PurchaseOrder, UserId,
};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");
const ORDER_SECRET: &str = "widgets-s3cret";
const BUYER: &str = "widgets-buyer";
const OWNER: &str = "ops@acme.example";
const PENDING: &str = "pending@acme.example";
const SYNCED: &str = "PO-7001";
const FAILED: &str = "PO-7003";
/// The widgets order's BillTo and the part mapped by hand, with its unit.
const BILL_TO: &str = "BILL-1";
const BILL_TO_NAME: &str = "Buyer Example Corp";
const MAPPED_PART: &str = "SVC-INSTALL-HR";
const MAPPED_UNIT: &str = "HUR";
const OTHER_PART: &str = "WID-BLU-10";
const AUDIT_DETAIL: &str = "isolation marker: only account B may read this";
/// The contact B's BillTo is mapped to, one of the sandbox's contacts.
const CONTACT: i64 = 202;

/// How a route is exercised by a user of account A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The path or query names one of B's records: A gets 404.
    Foreign,
    /// The route names no record: A's response shows only A's data.
    Own,
    /// The route works without a login (its key, if any, is itself the
    /// credential): A's response shows none of B's data.
    Public,
}

struct Route {
    method: &'static str,
    path: &'static str,
    scope: Scope,
}

const fn route(method: &'static str, path: &'static str, scope: Scope) -> Route {
    Route {
        method,
        path,
        scope,
    }
}

/// Every route of the portal, as its `.route(...)` call declares it.
const ROUTES: &[Route] = &[
    route("GET", "/static/portal.css", Scope::Public),
    route("GET", "/login", Scope::Public),
    route("POST", "/login", Scope::Public),
    route("POST", "/logout", Scope::Own),
    route("GET", "/", Scope::Own),
    route("GET", "/dashboard", Scope::Own),
    route("GET", "/orders", Scope::Own),
    route("POST", "/orders/resync-failed", Scope::Own),
    route("GET", "/orders/{id}", Scope::Foreign),
    route("POST", "/orders/{id}/resync", Scope::Foreign),
    route("POST", "/orders/{id}/handled", Scope::Foreign),
    route("GET", "/invoices", Scope::Own),
    route("POST", "/invoices/retry-failed", Scope::Own),
    route("GET", "/invoices/{id}", Scope::Foreign),
    route("POST", "/invoices/{id}/retry", Scope::Foreign),
    route("POST", "/invoices/{id}/confirm", Scope::Foreign),
    route("GET", "/customers", Scope::Own),
    route("GET", "/customers/{buyer}/map", Scope::Foreign),
    route("POST", "/customers/{buyer}/map", Scope::Foreign),
    route("POST", "/customers/{buyer}/lookup", Scope::Foreign),
    route("GET", "/customers/{buyer}/create", Scope::Foreign),
    route("POST", "/customers/{buyer}/create", Scope::Foreign),
    route("GET", "/items", Scope::Own),
    route("GET", "/items/map", Scope::Foreign),
    route("POST", "/items/map", Scope::Foreign),
    route("GET", "/items/export.csv", Scope::Own),
    route("POST", "/items/import", Scope::Own),
    route("GET", "/settings", Scope::Own),
    route("POST", "/settings/brightpearl/connect", Scope::Own),
    route("GET", "/settings/brightpearl/callback", Scope::Foreign),
    route("POST", "/settings/brightpearl/finish", Scope::Foreign),
    route("POST", "/settings/brightpearl/refresh", Scope::Own),
    route("GET", "/settings/defaults", Scope::Own),
    route("POST", "/settings/defaults", Scope::Own),
    route("POST", "/settings/defaults/rows", Scope::Own),
    route("POST", "/settings/defaults/rows/remove", Scope::Own),
    route("GET", "/settings/buyers", Scope::Own),
    route("GET", "/settings/buyers/new", Scope::Own),
    route("POST", "/settings/buyers/new", Scope::Own),
    route("GET", "/settings/buyers/{name}", Scope::Foreign),
    route("POST", "/settings/buyers/{name}", Scope::Foreign),
    route("GET", "/settings/buyers/{name}/remove", Scope::Foreign),
    route("POST", "/settings/buyers/{name}/remove", Scope::Foreign),
    route("POST", "/settings/buyers/{name}/test-order", Scope::Foreign),
    route(
        "GET",
        "/settings/buyers/{name}/invoice-preview",
        Scope::Foreign,
    ),
    route("GET", "/settings/users", Scope::Own),
    route("POST", "/settings/users", Scope::Own),
    route("POST", "/settings/users/{id}/invite", Scope::Foreign),
    route("GET", "/settings/audit", Scope::Own),
    route("GET", "/password/{kind}/{token}", Scope::Public),
    route("POST", "/password/{kind}/{token}", Scope::Public),
    route("GET", "/password/forgot", Scope::Public),
    route("POST", "/password/forgot", Scope::Public),
    route("GET", "/password/forgot/sent", Scope::Public),
];

// ---- completeness --------------------------------------------------------

/// Reads every `(METHOD, path)` that the portal's source declares.
///
/// The parser assumes that every route is added as
/// `.route("LITERAL PATH", METHOD_ROUTER)` in a `.rs` file under
/// `crates/portal/src`, where `METHOD_ROUTER` chains axum's method functions
/// (`get(..)`, `.post(..)` and the like). Lines starting with `//` are
/// skipped. Anything it cannot read (`.nest`, `.route_service`,
/// `.fallback`, a path that is not a literal, `any` or `on`) fails the test
/// so that the parser and the table are extended together.
fn declared_routes() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../portal/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 10, "found too few portal sources in {root:?}");
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        for unread in [".nest(", ".nest_service(", ".route_service(", ".fallback("] {
            assert!(
                !code.contains(unread),
                "{file:?} calls {unread}, which declared_routes cannot read; extend it and ROUTES"
            );
        }
        for (at, _) in code.match_indices(".route(") {
            let (path, methods) = read_route_call(&code[at + ".route(".len()..])
                .unwrap_or_else(|problem| panic!("{file:?}: {problem}"));
            for method in methods {
                routes.insert((method, path.clone()));
            }
        }
    }
    routes
}

fn rust_files(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Reads the arguments of one `.route(` call, from just after its `(`: the
/// path literal and the HTTP methods of its method router.
fn read_route_call(arguments: &str) -> Result<(String, Vec<String>), String> {
    let rest = arguments.trim_start();
    let Some(rest) = rest.strip_prefix('"') else {
        let start: String = rest.chars().take(40).collect();
        return Err(format!("a route's path is not a string literal: {start}"));
    };
    let end = rest
        .find('"')
        .ok_or("a route's path literal is not closed")?;
    let path = rest[..end].to_owned();

    // Identifiers called at the top level of the call are the method router's
    // functions; handlers and closures sit one parenthesis deeper.
    let mut methods = Vec::new();
    let mut depth = 1;
    let mut identifier = String::new();
    let mut in_string = false;
    for character in rest[end + 1..].chars() {
        if in_string {
            in_string = character != '"';
            continue;
        }
        match character {
            '"' => in_string = true,
            '(' => {
                if depth == 1 && !identifier.is_empty() {
                    if let Some(method) = http_method(&identifier, &path)? {
                        methods.push(method);
                    }
                }
                depth += 1;
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        if character.is_alphanumeric() || character == '_' {
            identifier.push(character);
        } else {
            identifier.clear();
        }
    }
    if methods.is_empty() {
        return Err(format!("no method found for route {path}"));
    }
    Ok((path, methods))
}

/// Maps a method-router function to its HTTP method; `None` for the
/// functions that add no method, such as `layer`.
fn http_method(function: &str, path: &str) -> Result<Option<String>, String> {
    match function {
        "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "trace" => {
            Ok(Some(function.to_ascii_uppercase()))
        }
        "layer" | "route_layer" | "with_state" => Ok(None),
        other => Err(format!(
            "route {path} uses {other}(..), which declared_routes cannot read; extend it and ROUTES"
        )),
    }
}

#[test]
fn table_covers_every_route() {
    let declared = declared_routes();
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();

    let missing: Vec<_> = declared.difference(&table).collect();
    let stale: Vec<_> = table.difference(&declared).collect();
    assert!(
        missing.is_empty(),
        "routes without isolation and CSRF coverage; add them to ROUTES and to requests(): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "ROUTES lists routes that the portal does not declare: {stale:?}"
    );
    assert_eq!(table.len(), ROUTES.len(), "ROUTES lists a route twice");
}

#[test]
fn route_parser_reads_chained_methods() {
    let call = r#"
            "/settings/buyers/{name}/remove",
            get(tools::remove_page).post(tools::remove),
        )
        .route("/next", get(next))"#;
    let (path, methods) = read_route_call(call).unwrap();
    assert_eq!(path, "/settings/buyers/{name}/remove");
    assert_eq!(methods, ["GET", "POST"]);

    let closure = r#""/", axum::routing::get(|| async { Redirect::to("/dashboard") }))"#;
    assert_eq!(read_route_call(closure).unwrap().1, ["GET"]);
    assert!(read_route_call("PATH, get(x))").is_err());
    assert!(read_route_call(r#""/any", any(handler))"#).is_err());
}

// ---- account B and its data ---------------------------------------------

/// pobridge with account B's data and the keys of its records.
struct Victim {
    app: TestApp,
    /// Kept so the sandbox Coupa that accepted B's invoice keeps running.
    _coupas: BuyerCoupas,
    synced: PurchaseOrder,
    failed: PurchaseOrder,
    invoice: InvoiceRecord,
    buyer_id: String,
    pending_user: UserId,
    /// Two OAuth states of B's user: one for A's callback, one spent by B.
    oauth_state: String,
    finish_token: String,
}

fn widgets_buyer() -> NewBuyer {
    let credential = |domain: &str, identity: &str| CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    };
    NewBuyer {
        name: BUYER.to_owned(),
        from: credential("NetworkID", "BUYER-1"),
        to: credential("DUNS", "123456789"),
        sender: credential("NetworkID", "BUYER-1"),
        shared_secret: Some(ORDER_SECRET.to_owned()),
        url_token: None,
        mode: pobridge_store::BuyerMode::Production,
        invoice_url: None,
    }
}

async fn post_order(app: &TestApp, number: &str) {
    let body = with_identity(ORDER.as_bytes(), &format!("{number}@buyer.example"), number);
    let (status, answer) = app.post_cxml(body).await.unwrap();
    assert_eq!(status, 200, "{answer}");
}

async fn po(app: &TestApp, number: &str) -> PurchaseOrder {
    let filter = PoFilter {
        search: Some(number.to_owned()),
        ..PoFilter::default()
    };
    let mut found = app
        .store()
        .list_purchase_orders(app.account.id, &filter)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "one PO is numbered {number}");
    found.remove(0)
}

impl Victim {
    /// Starts pobridge with B's data, and returns a client logged in as B's
    /// owner.
    async fn start() -> (Self, PortalClient) {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        let options = Options {
            clock: Some(clock.clone()),
            ..Options::default()
        };
        let mut app = TestApp::start_with(options).await.expect("pobridge starts");
        configure_defaults(&mut app).await.unwrap();
        app.set("retry_hours", "1").await.unwrap();
        let buyer = app.buyer(widgets_buyer()).await.unwrap();

        post_order(&app, SYNCED).await;
        app.drain(20).await;
        let coupas = invoice_synced_order(&app, &clock).await;
        fail_order(&app, &clock, FAILED).await;
        add_mappings_users_and_audit(&app, buyer.id).await;

        let synced = po(&app, SYNCED).await;
        let failed = po(&app, FAILED).await;
        assert_eq!(synced.status, PoStatus::Synced, "{:?}", synced.reason);
        assert_eq!(failed.status, PoStatus::Failed, "{:?}", failed.reason);
        let mut invoices = app
            .store()
            .invoices_for_po(app.account.id, synced.id)
            .await
            .unwrap();
        assert_eq!(invoices.len(), 1, "{SYNCED} has an invoice");
        let pending_user = app
            .store()
            .user_by_email(PENDING)
            .await
            .expect("the pending user exists")
            .id;

        let mut owner = app.portal_as(OWNER).await.unwrap();
        let oauth_state = start_connecting(&mut owner).await;
        let spent_state = start_connecting(&mut owner).await;
        let callback = format!("/settings/brightpearl/callback?state={spent_state}&code=b-code");
        let approved = owner.get(&callback).await.unwrap();
        assert_eq!(approved.status, 200, "{}", approved.body);
        let finish_token = hidden(&approved, "finish").expect("a finish form");

        let victim = Self {
            synced,
            failed,
            invoice: invoices.remove(0),
            buyer_id: buyer.id.to_string(),
            pending_user,
            oauth_state,
            finish_token,
            _coupas: coupas,
            app,
        };
        (victim, owner)
    }

    /// B's data that no page may show to A. The part numbers and the BillTo
    /// appear only in B's orders and mappings.
    fn markers(&self) -> Vec<String> {
        [
            SYNCED,
            FAILED,
            BUYER,
            OWNER,
            PENDING,
            BILL_TO,
            BILL_TO_NAME,
            MAPPED_PART,
            OTHER_PART,
            AUDIT_DETAIL,
            self.app.brightpearl_code.as_str(),
            self.invoice.invoice_number.as_str(),
        ]
        .map(str::to_owned)
        .into()
    }

    /// Everything stored for B, each part labelled, to compare before and
    /// after a request. The sandbox's request count shows whether B's
    /// Brightpearl was called.
    ///
    /// NOTE: sessions and one-time links (password links, OAuth states) are
    /// left out because the store cannot list them. A's rejected OAuth
    /// callback or finish does use up B's state or token, by design.
    async fn snapshot(&self) -> Vec<(&'static str, String)> {
        let store = self.app.store();
        let id = self.app.account.id;
        let mut parts = vec![
            ("account", format!("{:?}", store.account(id).await.unwrap())),
            ("connection", format!("{:?}", store.connection(id).await)),
            ("buyers", format!("{:?}", store.list_buyers(id).await)),
            (
                "orders",
                format!(
                    "{:?}",
                    store.list_purchase_orders(id, &PoFilter::default()).await
                ),
            ),
            (
                "invoices",
                format!(
                    "{:?}",
                    store.list_invoices(id, &InvoiceFilter::default()).await
                ),
            ),
            (
                "items",
                format!(
                    "{:?}",
                    store.list_coupa_items(id, &ItemFilter::default()).await
                ),
            ),
            (
                "item mappings",
                format!("{:?}", store.list_item_mappings(id).await),
            ),
            (
                "customer mappings",
                format!("{:?}", store.chosen_customer_mappings(id).await),
            ),
            ("contacts", format!("{:?}", store.list_contacts(id).await)),
            ("users", format!("{:?}", store.list_users(id).await)),
            ("jobs", format!("{:?}", store.list_jobs(id).await)),
            (
                "mail",
                format!("{:?}", store.list_mail(Some(id), 1000).await),
            ),
            ("audit", format!("{:?}", store.audit_log(id, 1000).await)),
        ];
        for po in [&self.synced, &self.failed] {
            parts.push(("events", format!("{:?}", store.events(id, po.id).await)));
        }
        let requests = self.app.sandbox.request_log(&self.app.brightpearl_code);
        parts.push(("Brightpearl requests", requests.len().to_string()));
        parts
    }
}

/// Invoices the synced order in Brightpearl and runs the poll, so Coupa
/// accepts its invoice.
async fn invoice_synced_order(app: &TestApp, clock: &ManualClock) -> BuyerCoupas {
    let coupas = BuyerCoupas::start(app, false).await.unwrap();
    let issued = coupas.issue_synced_pos(app, |_| {}).await.unwrap();
    assert_eq!(issued.len(), 1, "{SYNCED} synced");
    app.engine.schedule_invoicing(app.account.id).await.unwrap();
    app.drain(20).await;
    let order_id = issued[0].brightpearl_order_id.expect("a sales order") as u64;
    app.sandbox
        .invoice_order(&app.brightpearl_code, order_id)
        .unwrap();
    run_poll_cycle(app, clock).await;
    coupas
}

/// Posts `number` while B's Brightpearl returns 500 for every request, and runs
/// the worker past the one-hour retry window until the order fails.
async fn fail_order(app: &TestApp, clock: &ManualClock, number: &str) {
    let code = &app.brightpearl_code;
    let outage = Faults {
        fail_next_n_with_500: 10_000,
        ..Faults::default()
    };
    app.sandbox.set_faults(code, outage);
    post_order(app, number).await;
    for _ in 0..12 {
        app.drain(20).await;
        if po(app, number).await.status == PoStatus::Failed {
            break;
        }
        clock.advance(Duration::minutes(10));
    }
    app.sandbox.set_faults(code, Faults::default());
}

async fn add_mappings_users_and_audit(app: &TestApp, buyer: pobridge_core::BuyerId) {
    let store = app.store();
    let id = app.account.id;
    let now = app.engine.clock.now();
    let product = store
        .list_products(id, 1000, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|product| !product.stock_tracked && product.sku.is_some())
        .expect("the sandbox has a product that is not stock-tracked");
    let request = MapItem {
        coupa_part_id: MAPPED_PART.to_owned(),
        unit_of_measure: Some(MAPPED_UNIT.to_owned()),
        buyer: Some(BUYER.to_owned()),
        brightpearl: product.sku.unwrap(),
        quantity_factor: None,
    };
    pobridge_engine::admin::map_item(&app.engine, pobridge_e2e::ACCOUNT, &request)
        .await
        .unwrap();

    let mapping = CustomerMapping {
        buyer,
        bill_to_address_id: Some(BILL_TO.to_owned()),
        contact_id: CONTACT,
    };
    store
        .choose_customer_mapping(id, &mapping, OWNER, now)
        .await
        .unwrap();
    store.create_user(id, PENDING, now).await.unwrap();
    let entry = NewAuditEntry {
        user: None,
        actor: "cli".to_owned(),
        action: "isolation.marker".to_owned(),
        detail: AUDIT_DETAIL.to_owned(),
    };
    store.record_audit(id, &entry, now).await.unwrap();
}

/// Posts the connect form as `client` and returns the OAuth state of the
/// redirect to Brightpearl's approval page.
async fn start_connecting(client: &mut PortalClient) -> String {
    client.get("/settings").await.unwrap();
    let fields = [("account_code", "acmesandbox"), ("data_centre", "euw1")];
    let answer = client
        .post("/settings/brightpearl/connect", &fields)
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = reqwest::Url::parse(answer.location().expect("a redirect")).unwrap();
    let state = location.query_pairs().find(|(name, _)| name == "state");
    state.expect("the redirect carries a state").1.into_owned()
}

/// Returns the value of the hidden input named `name`.
fn hidden(page: &Page, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker)? + marker.len();
    let end = start + page.body[start..].find('"')?;
    Some(page.body[start..end].to_owned())
}

// ---- requests --------------------------------------------------------------

/// One request of a route with B's keys filled in.
struct Request {
    path: String,
    fields: Vec<(String, String)>,
    /// A CSV file sent as multipart form data instead of the fields.
    upload: Option<Vec<u8>>,
}

fn request(path: impl Into<String>, fields: &[(&str, &str)]) -> Request {
    Request {
        path: path.into(),
        fields: fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        upload: None,
    }
}

/// Builds an item import that maps B's part for B's buyer, named by name and by id.
fn import_file(buyer_id: &str) -> Vec<u8> {
    let header = "buyer,part_id,unit,product_id,sku,quantity_factor";
    let by_name = format!("{BUYER},{MAPPED_PART},{MAPPED_UNIT},,SKU-1,");
    let by_id = format!("{buyer_id},{OTHER_PART},EA,,SKU-1,");
    format!("{header}\n{by_name}\n{by_id}\n").into_bytes()
}

/// Builds the requests that exercise `route`. Foreign routes get B's records;
/// routes without a record get values chosen to find B's data if the
/// account scope were missing. Search texts are prefixes of B's values, so
/// an echo of the search is not mistaken for a leak.
fn requests(route: &Route, b: &Victim) -> Vec<Request> {
    let order = |action: &str| format!("/orders/{}{action}", b.failed.id);
    let invoice = |action: &str| format!("/invoices/{}{action}", b.invoice.id);
    let bill_to = |action: &str| format!("/customers/{}/{action}?address={BILL_TO}", b.buyer_id);
    let buyer = |action: &str| format!("/settings/buyers/{BUYER}{action}");
    let item = format!(
        "/items/map?buyer={}&part={MAPPED_PART}&unit={MAPPED_UNIT}",
        b.buyer_id
    );
    let order_ids = format!("{},{}", b.failed.id, b.synced.id);
    let invoice_id = b.invoice.id.to_string();
    match (route.method, route.path) {
        ("GET", "/static/portal.css") => vec![request("/static/portal.css", &[])],
        ("GET", "/login") => vec![request("/login", &[])],
        ("POST", "/login") => vec![request(
            "/login",
            &[
                ("email", "ops@globex.example"),
                ("password", pobridge_e2e::portal_client::TEST_PASSWORD),
                ("next", ""),
            ],
        )],
        ("POST", "/logout") => vec![request("/logout", &[])],
        ("GET", "/") => vec![request("/", &[])],
        ("GET", "/dashboard") => vec![request("/dashboard", &[])],
        ("GET", "/orders") => vec![
            request("/orders", &[]),
            request("/orders?q=PO-700", &[]),
            request("/orders?status=failed", &[]),
        ],
        ("POST", "/orders/resync-failed") => vec![
            request("/orders/resync-failed", &[("dry_run", "1")]),
            request("/orders/resync-failed", &[("ids", &order_ids)]),
        ],
        ("GET", "/orders/{id}") => vec![
            request(order(""), &[]),
            request(format!("/orders/{}", b.synced.id), &[]),
        ],
        ("POST", "/orders/{id}/resync") => vec![request(order("/resync"), &[])],
        ("POST", "/orders/{id}/handled") => vec![request(order("/handled"), &[])],
        ("GET", "/invoices") => vec![request("/invoices", &[]), request("/invoices?q=INV", &[])],
        ("POST", "/invoices/retry-failed") => vec![
            request("/invoices/retry-failed", &[("dry_run", "1")]),
            request("/invoices/retry-failed", &[("ids", &invoice_id)]),
        ],
        ("GET", "/invoices/{id}") => vec![request(invoice(""), &[])],
        ("POST", "/invoices/{id}/retry") => vec![request(invoice("/retry"), &[])],
        ("POST", "/invoices/{id}/confirm") => vec![request(invoice("/confirm"), &[])],
        ("GET", "/customers") => vec![
            request("/customers", &[]),
            request(format!("/customers?buyer={}&show=all", b.buyer_id), &[]),
        ],
        ("GET", "/customers/{buyer}/map") => vec![request(bill_to("map"), &[])],
        ("POST", "/customers/{buyer}/map") => {
            vec![request(
                bill_to("map"),
                &[("contact", &CONTACT.to_string())],
            )]
        }
        ("POST", "/customers/{buyer}/lookup") => {
            vec![request(bill_to("lookup"), &[("lookup", "Initech")])]
        }
        ("GET", "/customers/{buyer}/create") => vec![request(bill_to("create"), &[])],
        ("POST", "/customers/{buyer}/create") => vec![request(
            bill_to("create"),
            &[
                ("company", "Network"),
                ("email", "billto.person@example.com"),
                ("street", "Main Street"),
                ("city", "New York"),
                ("postcode", "10018"),
                ("country", "US"),
            ],
        )],
        ("GET", "/items") => vec![
            request("/items", &[]),
            request(format!("/items?buyer={}&q=SVC", b.buyer_id), &[]),
        ],
        ("GET", "/items/map") => vec![request(item.clone(), &[])],
        ("POST", "/items/map") => vec![request(
            item,
            &[("product", "1000"), ("quantity_factor", "")],
        )],
        ("GET", "/items/export.csv") => vec![request("/items/export.csv", &[])],
        ("POST", "/items/import") => vec![Request {
            upload: Some(import_file(&b.buyer_id)),
            ..request("/items/import", &[])
        }],
        ("GET", "/settings") => vec![request("/settings", &[])],
        ("POST", "/settings/brightpearl/connect") => vec![request(
            "/settings/brightpearl/connect",
            &[("account_code", "globexsandbox"), ("data_centre", "euw1")],
        )],
        ("GET", "/settings/brightpearl/callback") => vec![request(
            format!(
                "/settings/brightpearl/callback?state={}&code=a-code",
                b.oauth_state
            ),
            &[],
        )],
        ("POST", "/settings/brightpearl/finish") => vec![request(
            "/settings/brightpearl/finish",
            &[("finish", &b.finish_token)],
        )],
        ("POST", "/settings/brightpearl/refresh") => {
            vec![request("/settings/brightpearl/refresh", &[])]
        }
        ("GET", "/settings/defaults") => vec![request("/settings/defaults", &[])],
        ("POST", "/settings/defaults") => {
            vec![request("/settings/defaults", &[("shipping", "omit")])]
        }
        ("POST", "/settings/defaults/rows") => vec![request(
            "/settings/defaults/rows",
            &[("matcher", "sku"), ("value", "GLOBEX-1"), ("class", "skip")],
        )],
        ("POST", "/settings/defaults/rows/remove") => {
            vec![request(
                "/settings/defaults/rows/remove",
                &[("position", "1")],
            )]
        }
        ("GET", "/settings/buyers") => vec![request("/settings/buyers", &[])],
        ("GET", "/settings/buyers/new") => vec![request("/settings/buyers/new", &[])],
        ("POST", "/settings/buyers/new") => {
            vec![request("/settings/buyers/new", &[("name", "globex-buyer")])]
        }
        ("GET", "/settings/buyers/{name}") => vec![request(buyer(""), &[])],
        ("POST", "/settings/buyers/{name}") => {
            vec![request(buyer(""), &[("mode", "test"), ("secret", "")])]
        }
        ("GET", "/settings/buyers/{name}/remove") => vec![request(buyer("/remove"), &[])],
        ("POST", "/settings/buyers/{name}/remove") => {
            vec![request(buyer("/remove"), &[("confirm", "yes")])]
        }
        ("POST", "/settings/buyers/{name}/test-order") => vec![request(
            buyer("/test-order"),
            &[("test_secret", ORDER_SECRET)],
        )],
        ("GET", "/settings/buyers/{name}/invoice-preview") => vec![request(
            format!("{}?po=PO-7001", buyer("/invoice-preview")),
            &[],
        )],
        ("GET", "/settings/users") => vec![request("/settings/users", &[])],
        ("POST", "/settings/users") => {
            vec![request(
                "/settings/users",
                &[("email", "new@globex.example")],
            )]
        }
        ("POST", "/settings/users/{id}/invite") => vec![request(
            format!("/settings/users/{}/invite", b.pending_user),
            &[],
        )],
        ("GET", "/settings/audit") => vec![request("/settings/audit", &[])],
        ("GET", "/password/{kind}/{token}") => vec![
            request("/password/set/not-a-token", &[]),
            request("/password/reset/not-a-token", &[]),
        ],
        ("POST", "/password/{kind}/{token}") => vec![request(
            "/password/set/not-a-token",
            &[
                ("password", "a new password 123"),
                ("confirm", "a new password 123"),
            ],
        )],
        ("GET", "/password/forgot") => vec![request("/password/forgot", &[])],
        ("POST", "/password/forgot") => vec![request(
            "/password/forgot",
            &[("email", "nobody@globex.example")],
        )],
        ("GET", "/password/forgot/sent") => vec![request("/password/forgot/sent", &[])],
        (method, path) => panic!("no request for {method} {path}; add one to requests()"),
    }
}

// ---- sending and checking ---------------------------------------------------

/// Multipart field of the item import's file.
const UPLOAD_FIELD: &str = "file";

async fn send(client: &mut PortalClient, method: &str, request: &Request) -> Page {
    let answer = match (method, &request.upload) {
        ("GET", _) => client.get(&request.path).await,
        ("POST", Some(bytes)) => {
            let bytes = bytes.clone();
            client
                .post_file(&request.path, UPLOAD_FIELD, "mappings.csv", bytes)
                .await
        }
        ("POST", None) => client.post(&request.path, &borrowed(&request.fields)).await,
        (other, _) => panic!("no way to send {other} {}", request.path),
    };
    answer.unwrap_or_else(|error| panic!("{method} {}: {error:#}", request.path))
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Returns B's markers found in `page`, leaving out those the request itself
/// sent, because a page may echo what was typed.
fn leaked<'a>(page: &Page, request: &Request, markers: &'a [String]) -> Vec<&'a str> {
    let mut sent = request.path.clone();
    for (name, value) in &request.fields {
        sent.push_str(&format!(" {name}={value}"));
    }
    if let Some(bytes) = &request.upload {
        sent.push_str(&String::from_utf8_lossy(bytes));
    }
    let location = page.location().unwrap_or_default();
    markers
        .iter()
        .filter(|marker| !sent.contains(marker.as_str()))
        .filter(|marker| page.body.contains(marker.as_str()) || location.contains(marker.as_str()))
        .map(String::as_str)
        .collect()
}

/// Names every part of B's data that differs between two snapshots.
fn changes(before: &[(&str, String)], after: &[(&str, String)]) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .filter(|(old, new)| old != new)
        .map(|((name, old), (_, new))| format!("{name} changed:\n  before {old}\n  after  {new}"))
        .collect()
}

const INTRUDER: &str = "ops@globex.example";

fn session_of(client: &PortalClient) -> Option<String> {
    let cookie = client.cookie(pobridge_portal::auth::SESSION_COOKIE);
    cookie.map(str::to_owned)
}

/// Logs A in again after `POST /logout`, and reads a page after `POST /login`
/// started a new session, so the client sends the new session's CSRF token.
/// Returns the session now in use.
async fn renew_session(client: &mut PortalClient, last: Option<String>) -> Option<String> {
    let current = session_of(client);
    if current.is_none() {
        let password = pobridge_e2e::portal_client::TEST_PASSWORD;
        client.log_in(INTRUDER, password).await.unwrap();
    } else if current != last {
        client.get("/dashboard").await.unwrap();
    }
    session_of(client)
}

/// Sends the requests of every foreign route with `method` as B's owner and
/// returns those that are "not found" even for B, which would make A's 404
/// prove nothing. The OAuth callback and finish are left out: their state
/// and token work once, and A's rejected request has used them up, as
/// `foreign_state_is_rejected` in portal_settings.rs expects.
async fn unreachable_for_owner(owner: &mut PortalClient, b: &Victim, method: &str) -> Vec<String> {
    let mut unreachable = Vec::new();
    let foreign = ROUTES
        .iter()
        .filter(|route| route.scope == Scope::Foreign && route.method == method)
        .filter(|route| !route.path.starts_with("/settings/brightpearl/"));
    for route in foreign {
        for request in requests(route, b) {
            let page = send(owner, route.method, &request).await;
            if page.status == 404 || page.status >= 500 {
                let status = page.status;
                unreachable.push(format!("{method} {} as B: {status}", request.path));
            }
        }
    }
    unreachable
}

/// Checks that B's own list pages show B's markers, so that their absence
/// from A's pages means something, and returns those that are missing.
async fn markers_missing_for_owner(owner: &mut PortalClient, b: &Victim) -> Vec<String> {
    let invoice_number = b.invoice.invoice_number.as_str();
    let expected: [(&str, &[&str]); 8] = [
        ("/orders", &[SYNCED, FAILED, BUYER]),
        ("/invoices", &[invoice_number]),
        ("/customers", &[BILL_TO, BILL_TO_NAME]),
        ("/items", &[MAPPED_PART, OTHER_PART]),
        ("/settings/buyers", &[BUYER]),
        ("/settings/users", &[OWNER, PENDING]),
        ("/settings/audit", &[AUDIT_DETAIL]),
        ("/settings", &[b.app.brightpearl_code.as_str()]),
    ];
    let mut missing = Vec::new();
    for (path, markers) in expected {
        let page = owner.get(path).await.unwrap();
        for marker in markers {
            if !page.body.contains(marker) {
                missing.push(format!("GET {path} as B does not show {marker:?}"));
            }
        }
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_account_sees_and_changes_nothing() {
    let (b, mut owner) = Victim::start().await;
    let (_, mut intruder) = b.app.other_account("globex").await.unwrap();
    let markers = b.markers();
    let mut failures = unreachable_for_owner(&mut owner, &b, "GET").await;
    failures.extend(markers_missing_for_owner(&mut owner, &b).await);
    let mut session = session_of(&intruder);
    let mut before = b.snapshot().await;

    for route in ROUTES {
        for request in requests(route, &b) {
            let label = format!("{} {}", route.method, request.path);
            let page = send(&mut intruder, route.method, &request).await;
            let status_ok = match route.scope {
                Scope::Foreign => page.status == 404,
                Scope::Own | Scope::Public => {
                    page.status < 500 && page.status != 403 && page.status != 404
                }
            };
            if !status_ok {
                failures.push(format!(
                    "{label}: status {} ({:?})",
                    page.status, route.scope
                ));
            }
            let mut found = leaked(&page, &request, &markers);
            if page.location().is_some_and(|to| to.starts_with('/')) {
                let next = intruder.follow(&page).await.unwrap();
                found.extend(leaked(&next, &request, &markers));
            }
            if !found.is_empty() {
                failures.push(format!("{label}: shows B's {found:?}"));
            }
            let after = b.snapshot().await;
            for change in changes(&before, &after) {
                failures.push(format!("{label}: {change}"));
            }
            before = after;
            session = renew_session(&mut intruder, session).await;
        }
    }

    // Last, because B's own posts change B's data.
    failures.extend(unreachable_for_owner(&mut owner, &b, "POST").await);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let changed_by_owner = changes(&before, &b.snapshot().await);
    assert!(
        !changed_by_owner.is_empty(),
        "B's own posts change the snapshot, so it would show A's changes"
    );
}

/// Posts `request` as URL-encoded form data or multipart form data with the
/// session cookie of `client`, and `token` as `_csrf` in the body or query.
async fn post_with_token(
    client: &PortalClient,
    base_url: &str,
    request: &Request,
    multipart: bool,
    token: Option<&str>,
) -> u16 {
    let session = client
        .cookie(pobridge_portal::auth::SESSION_COOKIE)
        .expect("the client is logged in");
    let mut url = reqwest::Url::parse(&format!("{base_url}{}", request.path)).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let builder = if multipart {
        if let Some(token) = token {
            url.query_pairs_mut().append_pair("_csrf", token);
        }
        let bytes = request.upload.clone().unwrap_or_default();
        let part = reqwest::multipart::Part::bytes(bytes).file_name("mappings.csv");
        let mut form = reqwest::multipart::Form::new().part(UPLOAD_FIELD, part);
        for (name, value) in &request.fields {
            form = form.text(name.clone(), value.clone());
        }
        http.post(url).multipart(form)
    } else {
        let mut fields = borrowed(&request.fields);
        if let Some(token) = token {
            fields.insert(0, ("_csrf", token));
        }
        http.post(url).form(&fields)
    };
    let answer = builder
        .header(
            reqwest::header::COOKIE,
            format!("{}={session}", pobridge_portal::auth::SESSION_COOKIE),
        )
        .send()
        .await
        .unwrap();
    answer.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_token_change_nothing() {
    let (b, mut owner) = Victim::start().await;
    let (_, intruder) = b.app.other_account("globex").await.unwrap();
    let foreign_token = intruder.csrf().expect("A's page has a token").to_owned();
    let own_token = owner.csrf().expect("B's page has a token").to_owned();
    let made_up = "0".repeat(own_token.len());
    assert_ne!(foreign_token, own_token);
    let tokens = [
        ("no token", None),
        ("a made-up token", Some(made_up.as_str())),
        ("account A's token", Some(foreign_token.as_str())),
    ];
    let mut before = b.snapshot().await;
    let mut failures = Vec::new();

    let posts = ROUTES.iter().filter(|route| route.method == "POST");
    for route in posts {
        for request in requests(route, &b) {
            for multipart in [false, true] {
                for (token_label, token) in tokens {
                    let status =
                        post_with_token(&owner, &b.app.base_url, &request, multipart, token).await;
                    if status != 403 {
                        let body = if multipart { "multipart" } else { "form" };
                        failures.push(format!(
                            "POST {} ({body}, {token_label}): status {status}",
                            request.path
                        ));
                    }
                }
            }
            let after = b.snapshot().await;
            for change in changes(&before, &after) {
                failures.push(format!("POST {}: {change}", request.path));
            }
            before = after;
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let still_logged_in = owner.get("/dashboard").await.unwrap();
    assert_eq!(
        still_logged_in.status, 200,
        "the session survived the forged logout"
    );
}
