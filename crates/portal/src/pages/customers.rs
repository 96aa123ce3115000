//! Customers: each Coupa buyer's BillTo addresses with the Brightpearl
//! contact each one reaches and the orders waiting for a customer. A person
//! chooses a contact for a BillTo from the local contact list, which a
//! search of Brightpearl fills, or creates the contact in Brightpearl from
//! the newest order's BillTo. Either releases the waiting orders.
//!
//! A BillTo is named by its buyer's id in the path and its trimmed
//! `addressID` in the `address` query parameter, absent for the buyer's
//! orders without one, because an `addressID` may hold any character.
//! Another account's buyer is "not found". Every action goes through the
//! engine's customer actions and is recorded in the audit trail.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use pobridge_brightpearl::NAME_LIMIT;
use pobridge_core::BuyerId;
use pobridge_engine::admin::customers::{
    self, BillToView, ContactView, CreateRejection, CustomerCounts, CustomerQuery, CustomerStatus,
    MapCustomer, MappedCustomer, NewCustomer, Show, MIN_LOOKUP_CHARS,
};
use pobridge_engine::admin::AdminError;
use serde::Deserialize;

use super::audit::local_time;
use crate::auth::Member;
use crate::extract::{Form, Query};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// BillTo addresses on one page of the list.
const PAGE_SIZE: usize = 50;
/// Contacts the mapping page offers at once.
const CONTACT_CHOICES: usize = 50;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/customers", get(list_page))
        .route("/customers/{buyer}/map", get(map_page).post(map))
        .route("/customers/{buyer}/lookup", post(lookup))
        .route("/customers/{buyer}/create", get(create_page).post(create))
}

/// The list's filter as typed in the query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ListFilter {
    buyer: String,
    show: String,
    q: String,
    page: String,
}

impl ListFilter {
    fn query(&self) -> CustomerQuery {
        CustomerQuery {
            buyer: self.buyer.trim().parse().ok().map(BuyerId),
            show: Show::parse(self.show.trim()).unwrap_or_default(),
            search: Some(self.q.trim().to_owned()).filter(|text| !text.is_empty()),
        }
    }

    /// Returns the page number from 1. An unreadable one is page 1, because
    /// it comes from the pager's links rather than from a field.
    fn page_number(&self) -> usize {
        self.page.trim().parse().unwrap_or(1).max(1)
    }

    fn link(&self, page: usize) -> String {
        let page = page.to_string();
        let mut fields = vec![
            ("buyer", self.buyer.trim()),
            ("show", self.show.trim()),
            ("q", self.q.trim()),
        ];
        fields.retain(|(_, value)| !value.is_empty());
        if page != "1" {
            fields.push(("page", &page));
        }
        let query = serde_urlencoded::to_string(fields).unwrap_or_default();
        if query.is_empty() {
            "/customers".to_owned()
        } else {
            format!("/customers?{query}")
        }
    }
}

/// One BillTo as the pages show it.
struct BillToRow {
    view: BillToView,
    lines: Vec<String>,
    last_seen: String,
    waiting: Vec<WaitingRow>,
    map_href: String,
    create_href: String,
}

struct WaitingRow {
    href: String,
    number: String,
    reason: String,
    since: String,
}

impl BillToRow {
    fn new(view: BillToView, time_zone: &str) -> Self {
        let waiting = view
            .waiting
            .iter()
            .map(|order| WaitingRow {
                href: format!("/orders/{}", order.po),
                number: order.number.to_string(),
                reason: order.reason.clone().unwrap_or_default(),
                since: local_time(order.since, time_zone),
            })
            .collect();
        Self {
            lines: view.lines(),
            last_seen: local_time(view.last_seen, time_zone),
            map_href: bill_to_path(&view, "map"),
            create_href: bill_to_path(&view, "create"),
            waiting,
            view,
        }
    }

    fn address_id(&self) -> &str {
        self.view.address_id.as_deref().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.view.name()
    }

    fn email(&self) -> &str {
        self.view.email().unwrap_or("")
    }

    /// Returns the contact the BillTo reaches, if any: mapped or expected to
    /// match.
    fn contact(&self) -> Option<&ContactView> {
        match &self.view.status {
            CustomerStatus::Mapped { contact, .. } | CustomerStatus::Matches { contact, .. } => {
                Some(contact)
            }
            CustomerStatus::Unmapped { .. } => None,
        }
    }

    fn status_class(&self) -> &'static str {
        match &self.view.status {
            CustomerStatus::Mapped { .. } => "ok",
            CustomerStatus::Matches { .. } => "warn",
            CustomerStatus::Unmapped { .. } => "bad",
        }
    }

    fn status_label(&self) -> &'static str {
        match &self.view.status {
            CustomerStatus::Mapped { .. } => "mapped",
            CustomerStatus::Matches { .. } => "matches",
            CustomerStatus::Unmapped { .. } => "not mapped",
        }
    }

    /// Describes the way the BillTo reaches its contact, or the reason it
    /// reaches none.
    fn status_detail(&self) -> String {
        match &self.view.status {
            CustomerStatus::Mapped {
                whole_buyer,
                chosen_by,
                ..
            } => {
                let scope = if *whole_buyer {
                    "by the buyer's mapping"
                } else {
                    "by this BillTo's mapping"
                };
                match chosen_by {
                    Some(person) => format!("Mapped {scope}, chosen by {person}."),
                    None => format!("Mapped {scope}, stored by a sync that found or created the contact."),
                }
            }
            CustomerStatus::Matches { rule, .. } => format!(
                "Not mapped yet. This is the one contact of the local list with the BillTo's {rule}, so the next sync maps it unless Brightpearl has another."
            ),
            CustomerStatus::Unmapped { detail } => format!("Not mapped: {detail}."),
        }
    }
}

/// Returns the path of a BillTo's page `action` (`map`, `lookup` or
/// `create`).
fn bill_to_path(view: &BillToView, action: &str) -> String {
    bill_to_target(view.buyer, view.address_id.as_deref(), action)
}

/// A buyer's BillTo addresses on the list page.
struct BuyerSection {
    name: String,
    rows: Vec<BillToRow>,
}

#[derive(Template)]
#[template(path = "customers_list.html")]
struct ListPage {
    layout: Layout,
    filter: ListFilter,
    buyers: Vec<(String, String)>,
    shows: Vec<(&'static str, &'static str)>,
    counts: CustomerCounts,
    sections: Vec<BuyerSection>,
    shown: usize,
    previous: Option<String>,
    next: Option<String>,
}

/// `GET /customers`.
async fn list_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(filter): Query<ListFilter>,
) -> Result<Response, PortalError> {
    let list = customers::list_customers(&state.engine, member.slug(), &filter.query()).await?;

    let page = filter.page_number();
    let shown = list.addresses.len();
    let time_zone = &member.account.settings.time_zone;
    let mut sections: Vec<BuyerSection> = Vec::new();
    for view in list
        .addresses
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
    {
        let row = BillToRow::new(view, time_zone);
        match sections.last_mut() {
            Some(section) if section.name == row.view.buyer_name => section.rows.push(row),
            _ => sections.push(BuyerSection {
                name: row.view.buyer_name.clone(),
                rows: vec![row],
            }),
        }
    }
    let shows = [
        (Show::All, "All BillTo addresses"),
        (Show::Mapped, "Mapped"),
        (Show::Unmapped, "Not mapped"),
        (Show::Waiting, "With orders waiting"),
    ];
    let page = ListPage {
        layout: Layout::new(&member, &jar, "customers"),
        buyers: list
            .buyers
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        shows: shows
            .into_iter()
            .map(|(show, label)| (show.as_str(), label))
            .collect(),
        counts: list.counts,
        sections,
        shown,
        previous: (page > 1).then(|| filter.link(page - 1)),
        next: (shown > page * PAGE_SIZE).then(|| filter.link(page + 1)),
        filter,
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// The BillTo a page is about: its `addressID` from the query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct BillToQuery {
    address: Option<String>,
    /// Search text of the contact list on the mapping page.
    q: Option<String>,
}

impl BillToQuery {
    fn address_id(&self) -> Option<&str> {
        self.address
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
    }
}

/// Reads a buyer id from the path; anything else names no buyer.
fn buyer_id(text: &str) -> Result<BuyerId, PortalError> {
    text.parse().map(BuyerId).map_err(|_| PortalError::NotFound)
}

#[derive(Template)]
#[template(path = "customers_map.html")]
struct MapPage {
    layout: Layout,
    row: BillToRow,
    search: String,
    contacts: Vec<ContactView>,
    more: bool,
    chosen: Option<i64>,
    contact_error: Option<String>,
    search_error: Option<String>,
    problem: Option<String>,
    min_lookup: usize,
}

impl MapPage {
    fn form_action(&self, action: &str) -> String {
        bill_to_path(&self.row.view, action)
    }

    fn is_chosen(&self, id: &i64) -> bool {
        self.chosen == Some(*id)
    }
}

/// The mapping page's state besides the BillTo: the search text, the
/// contact to preselect and any problem to report.
#[derive(Default)]
struct MapState {
    search: String,
    chosen: Option<i64>,
    contact_error: Option<String>,
    search_error: Option<String>,
    problem: Option<String>,
}

async fn render_map(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    (buyer, address_id): (BuyerId, Option<&str>),
    mut map: MapState,
) -> Result<MapPage, PortalError> {
    let engine = &state.engine;
    let view = customers::show_customer(engine, member.slug(), buyer, address_id).await?;
    let (contacts, more) =
        customers::find_contacts(engine, member.slug(), &map.search, CONTACT_CHOICES).await?;

    if map.chosen.is_none() {
        map.chosen = match &view.status {
            CustomerStatus::Mapped { contact, .. } | CustomerStatus::Matches { contact, .. } => {
                Some(contact.id)
            }
            CustomerStatus::Unmapped { .. } => None,
        };
    }
    Ok(MapPage {
        layout: Layout::new(member, jar, "customers"),
        row: BillToRow::new(view, &member.account.settings.time_zone),
        search: map.search,
        contacts,
        more,
        chosen: map.chosen,
        contact_error: map.contact_error,
        search_error: map.search_error,
        problem: map.problem,
        min_lookup: MIN_LOOKUP_CHARS,
    })
}

/// `GET /customers/{buyer}/map`: the BillTo and the contacts of the local
/// list that match the search, to choose one.
async fn map_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(buyer): Path<String>,
    Query(query): Query<BillToQuery>,
) -> Result<Response, PortalError> {
    let buyer = buyer_id(&buyer)?;
    let map = MapState {
        search: query.q.clone().unwrap_or_default().trim().to_owned(),
        ..MapState::default()
    };

    let page = render_map(&state, &member, &jar, (buyer, query.address_id()), map).await?;
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// The mapping form: the chosen contact, and the search that listed it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MapForm {
    contact: String,
    q: String,
}

/// `POST /customers/{buyer}/map`: maps the BillTo to the chosen contact
/// and releases the waiting orders.
async fn map(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(buyer): Path<String>,
    Query(query): Query<BillToQuery>,
    Form(form): Form<MapForm>,
) -> Result<Response, PortalError> {
    let buyer = buyer_id(&buyer)?;
    let address_id = query.address_id();
    let rejected = |message: &str| MapState {
        search: form.q.trim().to_owned(),
        chosen: form.contact.trim().parse().ok(),
        contact_error: Some(message.to_owned()),
        ..MapState::default()
    };
    let Ok(contact_id) = form.contact.trim().parse::<i64>() else {
        let map = rejected("Choose the Brightpearl contact this BillTo is for.");
        return rerender_map(&state, &member, &jar, (buyer, address_id), map).await;
    };
    let request = MapCustomer {
        buyer,
        address_id: address_id.map(str::to_owned),
        contact_id,
    };

    let mapped = customers::map_customer(&state.engine, member.slug(), &request, &member.user);
    match mapped.await {
        Ok(mapped) => Ok(redirect_with_notice("/customers", &mapped_notice(&mapped))),
        Err(AdminError::Invalid { .. }) => {
            let map = rejected(
                "That contact is not in the local contact list. Search Brightpearl for it, then choose it.",
            );
            rerender_map(&state, &member, &jar, (buyer, address_id), map).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Shows the mapping page again with what was sent, as 422.
async fn rerender_map(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    bill_to: (BuyerId, Option<&str>),
    map: MapState,
) -> Result<Response, PortalError> {
    let page = render_map(state, member, jar, bill_to, map).await?;
    let response = page_with_layout(&page.layout.clone(), page);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
}

/// Words the notice shown after a contact was chosen or created.
fn mapped_notice(mapped: &MappedCustomer) -> String {
    let contact = &mapped.contact;
    let orders = match mapped.waiting_orders {
        0 => "No order was waiting for it.".to_owned(),
        1 => "1 order waiting for it was released and syncs now.".to_owned(),
        count => format!("{count} orders waiting for it were released and sync now."),
    };
    let done = if mapped.created {
        format!(
            "Created Brightpearl contact {} ({})",
            contact.id, contact.label
        )
    } else {
        format!(
            "Mapped to Brightpearl contact {} ({})",
            contact.id, contact.label
        )
    };
    format!("{done}. {orders}")
}

/// The Brightpearl search form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LookupForm {
    lookup: String,
}

/// `POST /customers/{buyer}/lookup`: searches Brightpearl for contacts and
/// adds them to the local list, then shows the mapping page with them.
async fn lookup(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(buyer): Path<String>,
    Query(query): Query<BillToQuery>,
    Form(form): Form<LookupForm>,
) -> Result<Response, PortalError> {
    let buyer = buyer_id(&buyer)?;
    let address_id = query.address_id();
    let search = form.lookup.trim().to_owned();
    // A BillTo that does not exist is not found before Brightpearl is asked
    // anything.
    customers::show_customer(&state.engine, member.slug(), buyer, address_id).await?;

    let failed = |message: String, field: bool| MapState {
        search: search.clone(),
        search_error: field.then(|| message.clone()),
        problem: (!field).then_some(message),
        ..MapState::default()
    };
    match customers::lookup_contacts(&state.engine, member.slug(), &search).await {
        Ok(found) => {
            let mut target = bill_to_target(buyer, address_id, "map");
            let separator = if target.contains('?') { '&' } else { '?' };
            let q = serde_urlencoded::to_string([("q", &search)]).unwrap_or_default();
            target.push(separator);
            target.push_str(&q);
            let notice = match found {
                1 => format!("Brightpearl has 1 contact matching {search:?}."),
                count => format!("Brightpearl has {count} contacts matching {search:?}."),
            };
            Ok(redirect_with_notice(&target, &notice))
        }
        Err(AdminError::Invalid { .. }) => {
            let message = format!(
                "Type at least {MIN_LOOKUP_CHARS} characters of a company name, person's name or e-mail."
            );
            rerender_map(
                &state,
                &member,
                &jar,
                (buyer, address_id),
                failed(message, true),
            )
            .await
        }
        Err(AdminError::Brightpearl(error)) => {
            let message = format!("The search in Brightpearl failed: {error}. Try again later.");
            rerender_map(
                &state,
                &member,
                &jar,
                (buyer, address_id),
                failed(message, false),
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

/// Returns the path of a BillTo's page `action`, from its parts.
fn bill_to_target(buyer: BuyerId, address_id: Option<&str>, action: &str) -> String {
    let base = format!("/customers/{buyer}/{action}");
    match address_id {
        Some(id) => {
            let query = serde_urlencoded::to_string([("address", id)]).unwrap_or_default();
            format!("{base}?{query}")
        }
        None => base,
    }
}

/// The create-contact form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct CreateForm {
    company: String,
    email: String,
    phone: String,
    street: String,
    street2: String,
    city: String,
    state: String,
    postcode: String,
    country: String,
}

impl CreateForm {
    fn from_customer(customer: NewCustomer) -> Self {
        Self {
            company: customer.company,
            email: customer.email,
            phone: customer.phone,
            street: customer.street,
            street2: customer.street2,
            city: customer.city,
            state: customer.state,
            postcode: customer.postcode,
            country: customer.country,
        }
    }

    fn to_customer(&self) -> NewCustomer {
        NewCustomer {
            company: self.company.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            street: self.street.clone(),
            street2: self.street2.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postcode: self.postcode.clone(),
            country: self.country.clone(),
        }
    }
}

/// One field of the create form, with its value and any error.
struct FormField {
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: String,
    hint: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "customers_create.html")]
struct CreatePage {
    layout: Layout,
    row: BillToRow,
    fields: Vec<FormField>,
    problem: Option<String>,
}

impl CreatePage {
    fn new(layout: Layout, row: BillToRow, form: CreateForm, errors: &[(&str, String)]) -> Self {
        let error = |id: &str| {
            errors
                .iter()
                .find(|(field, _)| *field == id)
                .map(|(_, message)| message.clone())
        };
        let field = |id, label, kind, autocomplete, value, hint: &str| FormField {
            id,
            label,
            kind,
            autocomplete,
            value,
            hint: hint.to_owned(),
            error: error(id),
        };
        let company_hint = company_hint(&form.company);
        let fields = vec![
            field(
                "company",
                "Company",
                "text",
                "organization",
                form.company,
                &company_hint,
            ),
            field("email", "E-mail", "email", "email", form.email, "Optional."),
            field("phone", "Telephone", "tel", "tel", form.phone, "Optional."),
            field("street", "Street", "text", "address-line1", form.street, ""),
            field(
                "street2",
                "Street, second line",
                "text",
                "address-line2",
                form.street2,
                "Optional.",
            ),
            field(
                "city",
                "Town or city",
                "text",
                "address-level2",
                form.city,
                "Optional.",
            ),
            field(
                "state",
                "State or county",
                "text",
                "address-level1",
                form.state,
                "Optional.",
            ),
            field(
                "postcode",
                "Postcode",
                "text",
                "postal-code",
                form.postcode,
                "Optional.",
            ),
            field(
                "country",
                "Country code",
                "text",
                "country",
                form.country,
                "The ISO 3166 code of two or three letters, such as US, DE or GBR.",
            ),
        ];
        Self {
            layout,
            fields,
            problem: None,
            row,
        }
    }

    fn form_action(&self) -> String {
        bill_to_path(&self.row.view, "create")
    }

    fn map_href(&self) -> String {
        bill_to_path(&self.row.view, "map")
    }
}

/// Describes where the company name goes in Brightpearl and, for a name
/// past Brightpearl's limit on contact names, the cut name the contact gets.
fn company_hint(company: &str) -> String {
    let base = format!(
        "Brightpearl gets the name in full as the contact's organisation, and as the \
         contact's own (last) name, which Brightpearl limits to {NAME_LIMIT} characters."
    );
    let company = company.trim();
    let length = company.chars().count();
    if length <= NAME_LIMIT {
        return base;
    }
    let cut: String = company.chars().take(NAME_LIMIT).collect();
    format!(
        "{base} This name has {length} characters, so the contact's own name will be \"{cut}\"."
    )
}

/// `GET /customers/{buyer}/create`: the create-contact form, filled from
/// the newest order waiting for this BillTo.
async fn create_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(buyer): Path<String>,
    Query(query): Query<BillToQuery>,
) -> Result<Response, PortalError> {
    let buyer = buyer_id(&buyer)?;
    let (view, customer) =
        customers::customer_form(&state.engine, member.slug(), buyer, query.address_id()).await?;

    let row = BillToRow::new(view, &member.account.settings.time_zone);
    let layout = Layout::new(&member, &jar, "customers");
    let page = CreatePage::new(layout, row, CreateForm::from_customer(customer), &[]);
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// `POST /customers/{buyer}/create`: creates the contact in Brightpearl
/// (or finds the one that exists), maps the BillTo to it and releases the
/// waiting orders. A rejected form comes back with every value as typed.
async fn create(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(buyer): Path<String>,
    Query(query): Query<BillToQuery>,
    Form(form): Form<CreateForm>,
) -> Result<Response, PortalError> {
    let buyer = buyer_id(&buyer)?;
    let address_id = query.address_id();

    let created = customers::create_customer(
        &state.engine,
        member.slug(),
        (buyer, address_id),
        &form.to_customer(),
        &member.user,
    )
    .await;
    let (errors, problem) = match created {
        Ok(mapped) => return Ok(redirect_with_notice("/customers", &mapped_notice(&mapped))),
        Err(CreateRejection::Fields(problems)) => {
            let errors = problems
                .into_iter()
                .map(|problem| (problem.field, problem.message))
                .collect();
            (errors, None)
        }
        Err(CreateRejection::Brightpearl {
            field: Some(field),
            message,
        }) => {
            let text = format!("Brightpearl rejected this value: {message}");
            (vec![(field, text)], None)
        }
        Err(CreateRejection::Brightpearl {
            field: None,
            message,
        }) => {
            let text = format!(
                "Brightpearl rejected the contact: {message}. Correct the form and send it again."
            );
            (Vec::new(), Some(text))
        }
        Err(CreateRejection::Unavailable(message)) => (Vec::new(), Some(message)),
        Err(CreateRejection::SeveralMatch(reason)) => {
            let text = format!("Nothing was created, because Brightpearl already has contacts for this BillTo: {reason}. Choose one on the mapping page.");
            (Vec::new(), Some(text))
        }
        Err(CreateRejection::Admin(error)) => return Err(error.into()),
    };

    let view = customers::show_customer(&state.engine, member.slug(), buyer, address_id).await?;
    let row = BillToRow::new(view, &member.account.settings.time_zone);
    let layout = Layout::new(&member, &jar, "customers");
    let mut page = CreatePage::new(layout, row, form, &errors);
    page.problem = problem;
    let response = page_with_layout(&page.layout.clone(), page);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
}
