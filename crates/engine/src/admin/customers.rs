//! Customers: the BillTo addresses seen on an account's purchase orders,
//! the Brightpearl contact each one reaches, the orders that wait for a
//! customer, and the actions that choose or create a contact.
//!
//! A BillTo is keyed by buyer and trimmed `addressID`, as the sync looks up
//! customer mappings ([`crate::customers`]). Its status follows the sync's
//! rules: its own mapping, then the buyer's whole-buyer mapping, then the
//! account's matching rule. The matching rule is applied here to the local
//! contact list only, so it predicts what the next sync finds; the sync
//! searches Brightpearl itself.
//!
//! NOTE: a customer mapping names one contact for billing and delivery
//! alike. Overriding the ship-to per address needs a ship-to field on
//! `CustomerMapping` and its use in `sales_order::plan`; neither exists yet.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use pobridge_brightpearl::{BrightpearlClient, ContactQuery, ErrorKind, SearchRequest};
use pobridge_core::{BuyerId, ContactMatch, PoId, PoNumber};
use pobridge_cxml::{Address, PostalAddress};
use pobridge_store::{
    Account, BillToOrder, ChosenCustomerMapping, Contact, CustomerMapping, NewAuditEntry, PoStatus,
    SeenBillTo, StoreError, User,
};

use super::{account, buyer_names, invalid, name_of, validate_email, AdminError};
use crate::customers::{resolve_customer, CustomerMatch, Resolve, Writes};
use crate::sync::SyncError;
use crate::Engine;

/// Audit action of a contact chosen for a BillTo.
pub const AUDIT_MAP: &str = "customer_mapping.set";
/// Audit action of a contact created in Brightpearl for a BillTo.
pub const AUDIT_CREATE: &str = "customer.create";

/// Shortest text [`lookup_contacts`] sends to Brightpearl, so one search
/// does not page through most of an account's contacts.
pub const MIN_LOOKUP_CHARS: usize = 2;

/// The BillTo addresses a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Show {
    #[default]
    All,
    /// Those with a stored mapping, their own or their buyer's.
    Mapped,
    /// Those without a stored mapping.
    Unmapped,
    /// Those with orders waiting for a customer.
    Waiting,
}

impl Show {
    pub const ALL: [Show; 4] = [Show::All, Show::Mapped, Show::Unmapped, Show::Waiting];

    pub fn as_str(self) -> &'static str {
        match self {
            Show::All => "all",
            Show::Mapped => "mapped",
            Show::Unmapped => "unmapped",
            Show::Waiting => "waiting",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|show| show.as_str() == value)
    }
}

/// The filter and search text of a BillTo listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    pub buyer: Option<BuyerId>,
    pub show: Show,
    /// Text that the addressID, name, e-mail, address lines, buyer name,
    /// contact or a waiting PO number contains, ignoring case.
    pub search: Option<String>,
}

/// A Brightpearl contact as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    pub id: i64,
    /// The company name, else the person's name, else the e-mail.
    pub label: String,
    pub email: Option<String>,
    /// False when the contact is not in the local contact list, so only its
    /// id is known.
    pub listed: bool,
}

impl ContactView {
    fn of(contact: &Contact) -> Self {
        Self {
            id: contact.contact_id,
            label: contact_label(contact),
            email: contact.email.clone(),
            listed: true,
        }
    }

    fn unlisted(id: i64) -> Self {
        Self {
            id,
            label: format!("contact {id}"),
            email: None,
            listed: false,
        }
    }
}

/// The way a BillTo reaches its Brightpearl contact, or the reason it
/// reaches none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerStatus {
    /// A stored mapping names the contact. `chosen_by` is the person who
    /// chose it; `None` when a sync stored it after finding or creating
    /// the contact.
    Mapped {
        contact: ContactView,
        whole_buyer: bool,
        chosen_by: Option<String>,
    },
    /// No mapping, but one contact of the local list matches by the
    /// account's rule, so the next sync is expected to map it.
    Matches { contact: ContactView, rule: String },
    /// No mapping and no single match. `detail` tells what the next sync does.
    Unmapped { detail: String },
}

impl CustomerStatus {
    pub fn is_mapped(&self) -> bool {
        matches!(self, CustomerStatus::Mapped { .. })
    }
}

/// A purchase order waiting for a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingOrderView {
    pub po: PoId,
    pub number: PoNumber,
    pub reason: Option<String>,
    pub since: DateTime<Utc>,
}

/// One BillTo address of a buyer, with its customer and waiting orders.
#[derive(Debug, Clone, PartialEq)]
pub struct BillToView {
    pub buyer: BuyerId,
    pub buyer_name: String,
    /// Trimmed `addressID`; `None` for the buyer's orders without one.
    pub address_id: Option<String>,
    /// The newest BillTo seen with this key.
    pub address: Option<Address>,
    /// Purchase orders whose latest revision has this BillTo.
    pub orders: i64,
    pub last_seen: DateTime<Utc>,
    pub status: CustomerStatus,
    /// Orders of this BillTo waiting for a customer, longest waiting first.
    pub waiting: Vec<WaitingOrderView>,
}

impl BillToView {
    /// Returns the BillTo's `Name`, trimmed.
    pub fn name(&self) -> &str {
        self.address
            .as_ref()
            .map_or("", |address| address.name.trim())
    }

    pub fn email(&self) -> Option<&str> {
        self.address
            .as_ref()
            .and_then(|address| address.email.as_deref())
            .map(str::trim)
            .filter(|email| !email.is_empty())
    }

    /// Returns the postal address as printed lines: attention lines,
    /// streets, "city, state postcode" and the country.
    pub fn lines(&self) -> Vec<String> {
        self.address.as_ref().map(address_lines).unwrap_or_default()
    }

    fn text(&self) -> String {
        let mut parts = vec![
            self.buyer_name.clone(),
            self.address_id.clone().unwrap_or_default(),
            self.name().to_owned(),
            self.email().unwrap_or_default().to_owned(),
        ];
        parts.extend(self.lines());
        parts.extend(self.waiting.iter().map(|order| order.number.to_string()));
        if let CustomerStatus::Mapped { contact, .. } | CustomerStatus::Matches { contact, .. } =
            &self.status
        {
            parts.push(contact.label.clone());
            parts.push(contact.id.to_string());
        }
        parts.join("\n").to_lowercase()
    }
}

/// Counts over all of an account's BillTo addresses, whatever the filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerCounts {
    pub addresses: usize,
    pub unmapped: usize,
    pub waiting_orders: usize,
}

/// BillTo addresses that match a [`CustomerQuery`], by buyer name and then
/// `addressID`, with the account's buyers for a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerList {
    pub addresses: Vec<BillToView>,
    pub buyers: Vec<(BuyerId, String)>,
    pub counts: CustomerCounts,
}

/// Lists the BillTo addresses of the account `slug` that `query` selects.
pub async fn list_customers(
    engine: &Engine,
    slug: &str,
    query: &CustomerQuery,
) -> Result<CustomerList, AdminError> {
    let account = account(engine, slug).await?;
    let all = bill_to_views(engine, &account).await?;

    let counts = CustomerCounts {
        addresses: all.len(),
        unmapped: all.iter().filter(|view| !view.status.is_mapped()).count(),
        waiting_orders: all.iter().map(|view| view.waiting.len()).sum(),
    };
    let mut buyers: Vec<(BuyerId, String)> =
        buyer_names(engine, &account).await?.into_iter().collect();
    buyers.sort_by(|left, right| left.1.cmp(&right.1));
    let search = query
        .search
        .as_deref()
        .map(|text| text.trim().to_lowercase())
        .filter(|text| !text.is_empty());
    let addresses = all
        .into_iter()
        .filter(|view| query.buyer.is_none_or(|buyer| view.buyer == buyer))
        .filter(|view| match query.show {
            Show::All => true,
            Show::Mapped => view.status.is_mapped(),
            Show::Unmapped => !view.status.is_mapped(),
            Show::Waiting => !view.waiting.is_empty(),
        })
        .filter(|view| {
            search
                .as_ref()
                .is_none_or(|text| view.text().contains(text))
        })
        .collect();
    Ok(CustomerList {
        addresses,
        buyers,
        counts,
    })
}

/// Shows one BillTo of a buyer. An address never seen on the buyer's
/// orders, or a buyer of another account, is not found.
pub async fn show_customer(
    engine: &Engine,
    slug: &str,
    buyer: BuyerId,
    address_id: Option<&str>,
) -> Result<BillToView, AdminError> {
    let account = account(engine, slug).await?;
    find_view(engine, &account, buyer, address_id).await
}

async fn find_view(
    engine: &Engine,
    account: &Account,
    buyer: BuyerId,
    address_id: Option<&str>,
) -> Result<BillToView, AdminError> {
    engine.store.buyer(account.id, buyer).await?;
    let address_id = address_id.map(str::trim).filter(|id| !id.is_empty());
    bill_to_views(engine, account)
        .await?
        .into_iter()
        .find(|view| view.buyer == buyer && view.address_id.as_deref() == address_id)
        .ok_or_else(|| {
            AdminError::Store(StoreError::NotFound {
                entity: "BillTo address",
                key: format!("{buyer}/{}", address_id.unwrap_or_default()),
            })
        })
}

/// The records a listing reads once per request.
struct Snapshot {
    buyer_names: HashMap<BuyerId, String>,
    mappings: Vec<ChosenCustomerMapping>,
    contacts: BTreeMap<i64, Contact>,
    waiting: Vec<(BillToOrder, WaitingOrderView)>,
}

async fn snapshot(engine: &Engine, account: &Account) -> Result<Snapshot, AdminError> {
    let store = &*engine.store;
    let statuses = [PoStatus::AwaitingCustomer];
    let mut details: HashMap<PoId, WaitingOrderView> = store
        .waiting_orders(account.id, &statuses)
        .await?
        .into_iter()
        .map(|order| {
            let view = WaitingOrderView {
                po: order.po,
                number: order.number,
                reason: order.reason,
                since: order.since,
            };
            (order.po, view)
        })
        .collect();
    // An order whose status changed between the two reads is left out.
    let mut waiting: Vec<(BillToOrder, WaitingOrderView)> = store
        .bill_to_orders(account.id, &statuses)
        .await?
        .into_iter()
        .filter_map(|order| details.remove(&order.po).map(|view| (order, view)))
        .collect();
    waiting.sort_by_key(|(order, view)| (view.since, order.po));
    Ok(Snapshot {
        buyer_names: buyer_names(engine, account).await?,
        mappings: store.chosen_customer_mappings(account.id).await?,
        contacts: store
            .list_contacts(account.id)
            .await?
            .into_iter()
            .map(|contact| (contact.contact_id, contact))
            .collect(),
        waiting,
    })
}

async fn bill_to_views(engine: &Engine, account: &Account) -> Result<Vec<BillToView>, AdminError> {
    let seen = engine.store.seen_bill_tos(account.id).await?;
    let snapshot = snapshot(engine, account).await?;
    let mut views: Vec<BillToView> = seen
        .into_iter()
        .map(|seen| bill_to_view(account, &snapshot, seen))
        .collect();
    views.sort_by(|left, right| {
        (&left.buyer_name, left.buyer, &left.address_id).cmp(&(
            &right.buyer_name,
            right.buyer,
            &right.address_id,
        ))
    });
    Ok(views)
}

fn bill_to_view(account: &Account, snapshot: &Snapshot, seen: SeenBillTo) -> BillToView {
    let address: Option<Address> = serde_json::from_value(seen.bill_to).unwrap_or_else(|error| {
        tracing::warn!(tenant.id = %account.id, %error, "a stored BillTo cannot be read");
        None
    });
    let waiting = snapshot
        .waiting
        .iter()
        .filter(|(order, _)| order.buyer == seen.buyer && order.address_id == seen.address_id)
        .map(|(_, view)| view.clone())
        .collect();
    let status = status_of(
        account,
        snapshot,
        seen.buyer,
        seen.address_id.as_deref(),
        address.as_ref(),
    );
    BillToView {
        buyer_name: name_of(&snapshot.buyer_names, seen.buyer),
        buyer: seen.buyer,
        address_id: seen.address_id,
        address,
        orders: seen.orders,
        last_seen: seen.last_seen,
        status,
        waiting,
    }
}

/// Returns the mapping the sync uses for a BillTo: its own, else the
/// buyer's.
fn effective_mapping<'a>(
    mappings: &'a [ChosenCustomerMapping],
    buyer: BuyerId,
    address_id: Option<&str>,
) -> Option<&'a ChosenCustomerMapping> {
    let of_buyer = || mappings.iter().filter(|row| row.mapping.buyer == buyer);
    let own = address_id.and_then(|id| {
        of_buyer().find(|row| row.mapping.bill_to_address_id.as_deref() == Some(id))
    });
    own.or_else(|| of_buyer().find(|row| row.mapping.bill_to_address_id.is_none()))
}

fn status_of(
    account: &Account,
    snapshot: &Snapshot,
    buyer: BuyerId,
    address_id: Option<&str>,
    address: Option<&Address>,
) -> CustomerStatus {
    let view = |id: i64| {
        snapshot
            .contacts
            .get(&id)
            .map_or_else(|| ContactView::unlisted(id), ContactView::of)
    };
    if let Some(row) = effective_mapping(&snapshot.mappings, buyer, address_id) {
        return CustomerStatus::Mapped {
            contact: view(row.mapping.contact_id),
            whole_buyer: row.mapping.bill_to_address_id.is_none(),
            chosen_by: row.chosen_by.clone(),
        };
    }
    let settings = &account.settings;
    let (rule, value) = match (settings.contact_match, address) {
        (ContactMatch::None, _) => {
            let detail = "automatic matching is off, so its orders wait until it is mapped";
            return unmapped(detail);
        }
        (_, None) => return unmapped("the orders have no BillTo, so they wait until it is mapped"),
        (ContactMatch::Email, Some(address)) => ("e-mail", address.email.as_deref()),
        (ContactMatch::CompanyName, Some(address)) => ("company name", Some(address.name.as_str())),
    };
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return unmapped(&format!(
            "the BillTo has no {rule} to match, so its orders wait until it is mapped"
        ));
    };
    let wanted = value.to_lowercase();
    let matches: Vec<&Contact> = snapshot
        .contacts
        .values()
        .filter(|contact| {
            let field = match settings.contact_match {
                ContactMatch::Email => contact.email.as_deref(),
                _ => contact.company_name.as_deref(),
            };
            field.is_some_and(|field| field.trim().to_lowercase() == wanted)
        })
        .collect();
    match matches.as_slice() {
        [one] => CustomerStatus::Matches {
            contact: ContactView::of(one),
            rule: rule.to_owned(),
        },
        [first, second, ..] => unmapped(&format!(
            "contacts {} and {} of the local list both have this {rule}, so its orders wait until it is mapped",
            first.contact_id, second.contact_id
        )),
        [] if settings.create_contacts => unmapped(&format!(
            "no contact of the local list has this {rule}; the next sync searches Brightpearl and creates the contact if none matches"
        )),
        [] => unmapped(&format!(
            "no contact of the local list has this {rule} and creating contacts is off, so its orders wait unless Brightpearl has one"
        )),
    }
}

fn unmapped(detail: &str) -> CustomerStatus {
    CustomerStatus::Unmapped {
        detail: detail.to_owned(),
    }
}

fn contact_label(contact: &Contact) -> String {
    let present = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let person = [&contact.first_name, &contact.last_name]
        .into_iter()
        .filter_map(present)
        .collect::<Vec<_>>()
        .join(" ");
    present(&contact.company_name)
        .or_else(|| Some(person).filter(|name| !name.is_empty()))
        .or_else(|| present(&contact.email))
        .unwrap_or_else(|| format!("contact {}", contact.contact_id))
}

/// Prints an address as lines: attention lines, streets, "city, state
/// postcode" and the country.
pub fn address_lines(address: &Address) -> Vec<String> {
    let Some(postal) = &address.postal_address else {
        return address.iso_country_code.iter().cloned().collect();
    };
    let mut lines: Vec<String> = postal
        .deliver_to
        .iter()
        .chain(&postal.streets)
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    let region = [postal.state.as_deref(), postal.postal_code.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let town = [postal.city.trim(), region.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    if !town.is_empty() {
        lines.push(town);
    }
    let country = postal
        .country_name
        .as_deref()
        .or(postal.country_code.as_deref())
        .or(address.iso_country_code.as_deref())
        .map(str::trim)
        .filter(|country| !country.is_empty());
    lines.extend(country.map(str::to_owned));
    lines
}

/// Lists contacts of the local contact list whose company, name, e-mail or
/// id contains `text`, ignoring case, by label: at most `limit`, and
/// whether more matched.
pub async fn find_contacts(
    engine: &Engine,
    slug: &str,
    text: &str,
    limit: usize,
) -> Result<(Vec<ContactView>, bool), AdminError> {
    let account = account(engine, slug).await?;
    let wanted = text.trim().to_lowercase();
    let mut found: Vec<ContactView> = engine
        .store
        .list_contacts(account.id)
        .await?
        .iter()
        .filter(|contact| wanted.is_empty() || contact_text(contact).contains(&wanted))
        .map(ContactView::of)
        .collect();
    found.sort_by(|left, right| {
        (left.label.to_lowercase(), left.id).cmp(&(right.label.to_lowercase(), right.id))
    });
    let more = found.len() > limit;
    found.truncate(limit);
    Ok((found, more))
}

fn contact_text(contact: &Contact) -> String {
    [
        &contact.company_name,
        &contact.first_name,
        &contact.last_name,
        &contact.email,
    ]
    .into_iter()
    .flatten()
    .chain([&contact.contact_id.to_string()])
    .map(|part| part.to_lowercase())
    .collect::<Vec<_>>()
    .join("\n")
}

/// Brightpearl's contact-search columns [`lookup_contacts`] searches; each
/// matches its text as a substring.
const LOOKUP_COLUMNS: [&str; 4] = ["companyName", "primaryEmail", "lastName", "firstName"];

/// Searches Brightpearl for contacts whose company, e-mail or name contains
/// `text`, adds them to the local contact list, and returns how many it
/// found.
pub async fn lookup_contacts(engine: &Engine, slug: &str, text: &str) -> Result<usize, AdminError> {
    let account = account(engine, slug).await?;
    let text = text.trim();
    if text.chars().count() < MIN_LOOKUP_CHARS {
        return Err(invalid(
            "search",
            text,
            format!(
                "at least {MIN_LOOKUP_CHARS} characters of a company name, person's name or e-mail"
            ),
        ));
    }
    let client = connected_client(engine, &account).await?;

    let mut found: BTreeMap<i64, Contact> = BTreeMap::new();
    for column in LOOKUP_COLUMNS {
        let request =
            SearchRequest::new("contact-service/contact-search", "contactId").text(column, text);
        let results = client
            .search(&request)
            .await
            .map_err(AdminError::Brightpearl)?;
        for row in &results.rows {
            let Some(id) = row.integer("contactId") else {
                continue;
            };
            found.entry(id).or_insert_with(|| Contact {
                contact_id: id,
                company_name: row.text("companyName"),
                email: row.text("primaryEmail"),
                first_name: row.text("firstName"),
                last_name: row.text("lastName"),
                is_customer: row.boolean("isCustomer").unwrap_or(false),
            });
        }
    }
    let contacts: Vec<Contact> = found.into_values().collect();
    engine.store.upsert_contacts(account.id, &contacts).await?;
    tracing::info!(tenant.id = %account.id, contacts = contacts.len(), "looked up Brightpearl contacts");
    Ok(contacts.len())
}

async fn connected_client(
    engine: &Engine,
    account: &Account,
) -> Result<BrightpearlClient, AdminError> {
    engine
        .clients
        .client(account.id)
        .await?
        .ok_or_else(|| AdminError::NotConnected(account.slug.to_string()))
}

/// A contact chosen for a BillTo of a buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapCustomer {
    pub buyer: BuyerId,
    /// The trimmed `addressID`; `None` maps the buyer's orders without one,
    /// and every BillTo of the buyer that has no mapping of its own.
    pub address_id: Option<String>,
    pub contact_id: i64,
}

/// The contact a BillTo now maps to, and the orders released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedCustomer {
    pub contact: ContactView,
    /// Whether a new contact was created in Brightpearl, as opposed to an
    /// existing one chosen or found.
    pub created: bool,
    /// Orders waiting for a customer that the mapping now serves.
    pub waiting_orders: usize,
    /// Waiting jobs of the account made runnable again, of every kind.
    pub released_jobs: u64,
}

/// Maps a BillTo to a contact of the local contact list, records that the
/// portal user `user` chose it, releases the account's waiting jobs so its
/// orders sync, and records the change in the audit trail.
pub async fn map_customer(
    engine: &Engine,
    slug: &str,
    request: &MapCustomer,
    user: &User,
) -> Result<MappedCustomer, AdminError> {
    let account = account(engine, slug).await?;
    let view = find_view(
        engine,
        &account,
        request.buyer,
        request.address_id.as_deref(),
    )
    .await?;
    let contact = engine
        .store
        .list_contacts(account.id)
        .await?
        .into_iter()
        .find(|contact| contact.contact_id == request.contact_id)
        .ok_or_else(|| {
            invalid(
                "contact",
                &request.contact_id.to_string(),
                "a contact of the local contact list; search Brightpearl for it first",
            )
        })?;

    let contact = ContactView::of(&contact);
    let detail = format!(
        "mapped {} to Brightpearl contact {} ({})",
        describe(&view),
        contact.id,
        contact.label
    );
    store_choice(
        engine,
        &account,
        &view,
        contact,
        false,
        user,
        (AUDIT_MAP, detail),
    )
    .await
}

/// Stores the chosen mapping, releases waiting jobs and records the audit
/// entry `(action, detail)`.
async fn store_choice(
    engine: &Engine,
    account: &Account,
    view: &BillToView,
    contact: ContactView,
    created: bool,
    user: &User,
    (action, detail): (&str, String),
) -> Result<MappedCustomer, AdminError> {
    let store = &*engine.store;
    let mapping = CustomerMapping {
        buyer: view.buyer,
        bill_to_address_id: view.address_id.clone(),
        contact_id: contact.id,
    };
    let now = engine.clock.now();
    store
        .choose_customer_mapping(account.id, &mapping, &user.email, now)
        .await?;
    let waiting_orders = served_waiting_orders(engine, account, &mapping).await?;
    let released_jobs = store.release_waiting_jobs(account.id, now).await?;
    engine.wake.notify_one();

    let entry = NewAuditEntry {
        user: Some(user.id),
        actor: user.email.clone(),
        action: action.to_owned(),
        detail,
    };
    store.record_audit(account.id, &entry, now).await?;
    tracing::info!(tenant.id = %account.id, contact.id = contact.id, released_jobs, "customer mapped");
    Ok(MappedCustomer {
        contact,
        created,
        waiting_orders,
        released_jobs,
    })
}

/// Counts the orders waiting for a customer whose BillTo now reaches
/// `mapping`.
async fn served_waiting_orders(
    engine: &Engine,
    account: &Account,
    mapping: &CustomerMapping,
) -> Result<usize, AdminError> {
    let store = &*engine.store;
    let mappings = store.chosen_customer_mappings(account.id).await?;
    let waiting = store
        .bill_to_orders(account.id, &[PoStatus::AwaitingCustomer])
        .await?;
    Ok(waiting
        .iter()
        .filter(|order| {
            effective_mapping(&mappings, order.buyer, order.address_id.as_deref())
                .is_some_and(|row| row.mapping == *mapping)
        })
        .count())
}

/// Names a BillTo for messages and the audit trail.
fn describe(view: &BillToView) -> String {
    match &view.address_id {
        Some(id) => format!("BillTo {id:?} of buyer {}", view.buyer_name),
        None => format!("BillTo without an addressID of buyer {}", view.buyer_name),
    }
}

/// The create-contact form, as typed. Every field is text, so a rejected
/// form comes back exactly as it was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomer {
    pub company: String,
    pub email: String,
    pub phone: String,
    pub street: String,
    pub street2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    /// ISO 3166 code, two or three letters.
    pub country: String,
}

/// A rejected field of [`NewCustomer`]: its name and what to enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl NewCustomer {
    /// Fills the form from a BillTo the way the sync would create its
    /// contact: the first street as line 1, the other streets joined.
    pub fn from_bill_to(address: Option<&Address>) -> Self {
        let Some(address) = address else {
            return Self::default();
        };
        let postal = address.postal_address.as_ref();
        let streets: Vec<String> = postal
            .map(|postal| {
                postal
                    .streets
                    .iter()
                    .map(|street| street.trim().to_owned())
                    .filter(|street| !street.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let text = |value: Option<&String>| value.map(|text| text.trim().to_owned());
        Self {
            company: address.name.trim().to_owned(),
            email: text(address.email.as_ref()).unwrap_or_default(),
            phone: text(address.phone.as_ref()).unwrap_or_default(),
            street: streets.first().cloned().unwrap_or_default(),
            street2: streets.get(1..).unwrap_or_default().join(", "),
            city: postal.map(|p| p.city.trim().to_owned()).unwrap_or_default(),
            state: text(postal.and_then(|p| p.state.as_ref())).unwrap_or_default(),
            postcode: text(postal.and_then(|p| p.postal_code.as_ref())).unwrap_or_default(),
            country: text(postal.and_then(|p| p.country_code.as_ref()))
                .or_else(|| text(address.iso_country_code.as_ref()))
                .unwrap_or_default(),
        }
    }

    /// Returns each field that Brightpearl would reject or that the
    /// contact needs, with what to enter.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut reject = |field: &'static str, message: &str| {
            problems.push(FieldProblem {
                field,
                message: message.to_owned(),
            });
        };

        if self.company.trim().is_empty() {
            reject("company", "Enter the company name the contact is for.");
        }
        let email = self.email.trim();
        if !email.is_empty() && validate_email(email).is_err() {
            reject(
                "email",
                "Enter an e-mail address such as ap@example.com, or leave it empty.",
            );
        }

        let phone_characters = |c: char| c.is_ascii_digit() || " +-()./xX".contains(c);
        if !self.phone.trim().chars().all(phone_characters) {
            reject(
                "phone",
                "Enter a telephone number of digits, spaces and + - ( ) . /, or leave it empty.",
            );
        }

        if self.street.trim().is_empty() {
            reject("street", "Enter the first line of the street address.");
        }

        let country = self.country.trim();
        let letters = country.chars().count();
        if !(2..=3).contains(&letters) || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            reject(
                "country",
                "Enter the country's ISO code of two or three letters, such as US or GBR.",
            );
        }
        problems
    }

    /// Builds the BillTo the contact is created from, keyed as `address_id`.
    fn to_address(&self, address_id: Option<&str>) -> Address {
        let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
        let country = self.country.trim().to_uppercase();
        Address {
            address_id: address_id.map(str::to_owned),
            iso_country_code: Some(country.clone()),
            name: self.company.trim().to_owned(),
            postal_address: Some(PostalAddress {
                name: None,
                deliver_to: Vec::new(),
                streets: [&self.street, &self.street2]
                    .into_iter()
                    .filter_map(|street| optional(street))
                    .collect(),
                city: self.city.trim().to_owned(),
                state: optional(&self.state),
                postal_code: optional(&self.postcode),
                country_code: Some(country),
                country_name: None,
                extrinsics: Vec::new(),
            }),
            email: optional(&self.email),
            phone: optional(&self.phone),
            fax: None,
            url: None,
        }
    }
}

/// The reason [`create_customer`] created nothing.
#[derive(Debug, thiserror::Error)]
pub enum CreateRejection {
    /// Fields to correct before anything is sent.
    #[error("{} fields need correcting", .0.len())]
    Fields(Vec<FieldProblem>),
    /// Brightpearl rejected the contact or its address. `field` names the
    /// form field its message mentions, when one does.
    #[error("Brightpearl rejected the contact: {message}")]
    Brightpearl {
        field: Option<&'static str>,
        message: String,
    },
    /// Brightpearl could not be reached, or did not say whether it stored
    /// the contact.
    #[error("{0}")]
    Unavailable(String),
    /// Several Brightpearl contacts already match, so a person must choose.
    #[error("{0}")]
    SeveralMatch(String),
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl From<StoreError> for CreateRejection {
    fn from(error: StoreError) -> Self {
        Self::Admin(AdminError::Store(error))
    }
}

/// Form fields by the Brightpearl field names their messages use, as the
/// contact and postal-address requests name them.
const BRIGHTPEARL_FIELDS: [(&str, &str); 10] = [
    ("addressline1", "street"),
    ("addressline2", "street2"),
    ("addressline3", "city"),
    ("addressline4", "state"),
    ("postalcode", "postcode"),
    ("country", "country"),
    ("email", "email"),
    ("telephone", "phone"),
    ("organisation", "company"),
    ("name", "company"),
];

fn field_of(message: &str) -> Option<&'static str> {
    let folded = message.to_lowercase();
    BRIGHTPEARL_FIELDS
        .iter()
        .find(|(name, _)| folded.contains(name))
        .map(|(_, field)| *field)
}

/// Fills the create-contact form of a BillTo from the newest order waiting
/// for it, or else the newest order with it.
pub async fn customer_form(
    engine: &Engine,
    slug: &str,
    buyer: BuyerId,
    address_id: Option<&str>,
) -> Result<(BillToView, NewCustomer), AdminError> {
    let account = account(engine, slug).await?;
    let view = find_view(engine, &account, buyer, address_id).await?;
    let store = &*engine.store;
    let newest_waiting = store
        .bill_to_orders(account.id, &[PoStatus::AwaitingCustomer])
        .await?
        .into_iter()
        .filter(|order| order.buyer == view.buyer && order.address_id == view.address_id)
        .map(|order| order.latest_revision)
        .max();
    let waiting_bill_to = match newest_waiting {
        Some(revision) => {
            let order = store.revision(account.id, revision).await?.order;
            order
                .pointer("/header/bill_to")
                .cloned()
                .and_then(|value| serde_json::from_value::<Option<Address>>(value).ok())
                .flatten()
        }
        None => None,
    };
    let form = NewCustomer::from_bill_to(waiting_bill_to.as_ref().or(view.address.as_ref()));
    Ok((view, form))
}

/// Creates a Brightpearl contact for a BillTo from the form, through the
/// sync's own path. That path holds the account's contact lock for the
/// company, searches Brightpearl first, and maps an existing contact with
/// the same company name (or e-mail, as the account matches) instead of
/// creating a second one. This function then records the mapping as the
/// portal user `user`'s choice, adds the contact to the local list,
/// releases waiting jobs and records the audit entry.
///
/// Creating contacts is allowed here even where the account's setting
/// forbids the sync to, because a person asked for this one. An account
/// that matches by nothing is searched by company name.
pub async fn create_customer(
    engine: &Engine,
    slug: &str,
    (buyer, address_id): (BuyerId, Option<&str>),
    form: &NewCustomer,
    user: &User,
) -> Result<MappedCustomer, CreateRejection> {
    let problems = form.problems();
    if !problems.is_empty() {
        return Err(CreateRejection::Fields(problems));
    }
    let account = account(engine, slug).await?;
    let view = find_view(engine, &account, buyer, address_id).await?;
    let client = connected_client(engine, &account).await?;
    let mut creating = account.clone();
    creating.settings.create_contacts = true;
    if creating.settings.contact_match == ContactMatch::None {
        creating.settings.contact_match = ContactMatch::CompanyName;
    }
    let bill_to = form.to_address(view.address_id.as_deref());

    // This search only tells an existing contact from a new one afterwards.
    // A sync that creates the contact between it and the lock below makes
    // the reply call the contact new.
    let existing = existing_contacts(&client, &creating, &bill_to).await?;
    let resolve = Resolve {
        writes: Writes::Allowed,
        use_mappings: false,
        locks: &engine.contact_locks,
    };
    let now = engine.clock.now();
    let resolved = resolve_customer(
        &*engine.store,
        &client,
        &creating,
        view.buyer,
        Some(&bill_to),
        resolve,
        now,
    )
    .await
    .map_err(rejection)?;
    let contact_id = match resolved {
        CustomerMatch::Found(id) | CustomerMatch::Mapped(id) => id,
        CustomerMatch::Held(reason) => return Err(CreateRejection::SeveralMatch(reason)),
        CustomerMatch::WouldCreate => {
            return Err(CreateRejection::Unavailable(
                "the contact was not created; try again".to_owned(),
            ))
        }
    };

    let created = !existing.contains(&contact_id);
    let contact = list_contact(engine, &account, &client, contact_id, form).await?;
    let verb = if created { "created" } else { "found" };
    let detail = format!(
        "{verb} Brightpearl contact {contact_id} ({}) for {}",
        contact.label,
        describe(&view)
    );
    let action = (AUDIT_CREATE, detail);
    Ok(store_choice(engine, &account, &view, contact, created, user, action).await?)
}

/// Returns the ids of the contacts the sync's search finds for `bill_to`.
async fn existing_contacts(
    client: &BrightpearlClient,
    account: &Account,
    bill_to: &Address,
) -> Result<Vec<i64>, CreateRejection> {
    let query = match account.settings.contact_match {
        ContactMatch::Email => bill_to.email.clone().map(ContactQuery::Email),
        _ => Some(ContactQuery::CompanyName(bill_to.name.clone())),
    };
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let rows = client
        .search_contacts(&query)
        .await
        .map_err(|error| rejection(SyncError::Brightpearl(error)))?;
    Ok(rows.iter().map(|row| row.contact_id).collect())
}

/// Reads the contact from Brightpearl into the local contact list. When
/// that read fails, the form's values are listed instead, because the
/// contact exists and the mapping must still be stored.
async fn list_contact(
    engine: &Engine,
    account: &Account,
    client: &BrightpearlClient,
    contact_id: i64,
    form: &NewCustomer,
) -> Result<ContactView, AdminError> {
    let listed = match client.get_contact(contact_id).await {
        Ok(contact) => Contact {
            contact_id,
            company_name: contact.company_name,
            email: contact.email,
            first_name: contact.first_name,
            last_name: contact.last_name,
            is_customer: true,
        },
        Err(error) => {
            tracing::warn!(tenant.id = %account.id, contact.id = contact_id, %error, "reading a new contact failed; listing the form's values");
            Contact {
                contact_id,
                company_name: Some(form.company.trim().to_owned()),
                email: Some(form.email.trim().to_owned()).filter(|email| !email.is_empty()),
                first_name: None,
                last_name: None,
                is_customer: true,
            }
        }
    };
    engine
        .store
        .upsert_contacts(account.id, std::slice::from_ref(&listed))
        .await?;
    Ok(ContactView::of(&listed))
}

fn rejection(error: SyncError) -> CreateRejection {
    let error = match error {
        SyncError::Store(error) => return error.into(),
        SyncError::Brightpearl(error) => error,
    };
    match error.kind() {
        ErrorKind::Validation { errors } => {
            let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let message = if messages.is_empty() {
                error.to_string()
            } else {
                messages.join("; ")
            };
            CreateRejection::Brightpearl {
                field: field_of(&message),
                message,
            }
        }
        ErrorKind::Ambiguous => CreateRejection::Unavailable(format!(
            "Brightpearl did not confirm the contact, so it may exist now ({error}). Search Brightpearl for it before you create it again."
        )),
        _ => CreateRejection::Unavailable(format!(
            "Brightpearl could not create the contact: {error}. Nothing was mapped; try again later."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        Address {
            address_id: Some("21444\t".to_owned()),
            iso_country_code: Some("US".to_owned()),
            name: " Network ".to_owned(),
            postal_address: Some(PostalAddress {
                name: Some("default".to_owned()),
                deliver_to: vec!["Buyer Person".to_owned()],
                streets: vec![
                    "Main Street".to_owned(),
                    " ".to_owned(),
                    "Floor 2".to_owned(),
                    "Suite 9".to_owned(),
                ],
                city: "New York".to_owned(),
                state: Some("NY".to_owned()),
                postal_code: Some("10018".to_owned()),
                country_code: Some("US".to_owned()),
                country_name: Some("United States".to_owned()),
                extrinsics: Vec::new(),
            }),
            email: Some("billto.person@example.com".to_owned()),
            phone: Some("+1 800 5551212".to_owned()),
            fax: None,
            url: None,
        }
    }

    #[test]
    fn form_fills_from_bill_to() {
        let form = NewCustomer::from_bill_to(Some(&address()));

        assert_eq!(form.company, "Network");
        assert_eq!(form.email, "billto.person@example.com");
        assert_eq!(form.phone, "+1 800 5551212");
        assert_eq!(form.street, "Main Street");
        assert_eq!(form.street2, "Floor 2, Suite 9");
        assert_eq!(form.city, "New York");
        assert_eq!(form.state, "NY");
        assert_eq!(form.postcode, "10018");
        assert_eq!(form.country, "US");
        assert!(form.problems().is_empty(), "{:?}", form.problems());
        assert_eq!(NewCustomer::from_bill_to(None), NewCustomer::default());
    }

    #[test]
    fn form_problems_name_each_field() {
        let form = NewCustomer {
            company: " ".to_owned(),
            email: "not an address".to_owned(),
            phone: "call me".to_owned(),
            street: String::new(),
            country: "U5".to_owned(),
            ..NewCustomer::default()
        };

        let fields: Vec<&str> = form.problems().iter().map(|p| p.field).collect();

        assert_eq!(fields, ["company", "email", "phone", "street", "country"]);
        let blank_optional = NewCustomer {
            company: "Network".to_owned(),
            street: "Main Street".to_owned(),
            country: "usa".to_owned(),
            ..NewCustomer::default()
        };
        assert!(blank_optional.problems().is_empty());
    }

    #[test]
    fn form_converts_to_bill_to() {
        let form = NewCustomer {
            company: " Network ".to_owned(),
            email: " ".to_owned(),
            phone: "+1 800 5551212".to_owned(),
            street: "Main Street".to_owned(),
            street2: "".to_owned(),
            city: "New York".to_owned(),
            state: "NY".to_owned(),
            postcode: "".to_owned(),
            country: "us".to_owned(),
        };

        let address = form.to_address(Some("21444"));

        assert_eq!(address.address_id.as_deref(), Some("21444"));
        assert_eq!(address.name, "Network");
        assert_eq!(address.email, None);
        let postal = address.postal_address.unwrap();
        assert_eq!(postal.streets, ["Main Street"]);
        assert_eq!(postal.postal_code, None);
        assert_eq!(postal.country_code.as_deref(), Some("US"));
    }

    #[test]
    fn brightpearl_messages_point_at_form_fields() {
        let cases = [
            (
                "countryIsoCode \"ZZ\" is not a known country",
                Some("country"),
            ),
            ("addressLine1 is required", Some("street")),
            ("postalCode is too long", Some("postcode")),
            ("lastName is longer than 32 characters", Some("company")),
            ("something else failed", None),
        ];
        for (message, field) in cases {
            assert_eq!(field_of(message), field, "{message}");
        }
    }

    #[test]
    fn address_prints_as_lines() {
        let lines = address_lines(&address());

        assert_eq!(
            lines,
            [
                "Buyer Person",
                "Main Street",
                "Floor 2",
                "Suite 9",
                "New York, NY 10018",
                "United States"
            ]
        );
    }

    #[test]
    fn contact_label_falls_back_in_order() {
        let contact = |company: Option<&str>, last: Option<&str>, email: Option<&str>| Contact {
            contact_id: 7,
            company_name: company.map(str::to_owned),
            email: email.map(str::to_owned),
            first_name: None,
            last_name: last.map(str::to_owned),
            is_customer: true,
        };

        assert_eq!(
            contact_label(&contact(Some("Initech"), Some("Lee"), None)),
            "Initech"
        );
        assert_eq!(contact_label(&contact(Some(" "), Some("Lee"), None)), "Lee");
        assert_eq!(
            contact_label(&contact(None, None, Some("a@b.example"))),
            "a@b.example"
        );
        assert_eq!(contact_label(&contact(None, None, None)), "contact 7");
    }

    #[test]
    fn whole_buyer_mapping_fills_gaps() {
        let row = |address: Option<&str>, contact_id| ChosenCustomerMapping {
            mapping: CustomerMapping {
                buyer: BuyerId(1),
                bill_to_address_id: address.map(str::to_owned),
                contact_id,
            },
            chosen_by: None,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let mappings = [row(None, 1), row(Some("A"), 2)];

        let contact = |address| {
            effective_mapping(&mappings, BuyerId(1), address).map(|row| row.mapping.contact_id)
        };

        assert_eq!(contact(Some("A")), Some(2));
        assert_eq!(contact(Some("B")), Some(1));
        assert_eq!(contact(None), Some(1));
        assert_eq!(effective_mapping(&mappings, BuyerId(2), Some("A")), None);
    }
}
