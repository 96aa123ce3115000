//! Finding the Brightpearl contact a purchase order is for.
//!
//! The rules, in order:
//! 1. the contact mapped to (buyer, BillTo addressID);
//! 2. the contact mapped to the buyer;
//! 3. the one contact whose company name or e-mail (as the account chooses)
//!    equals the BillTo's;
//! 4. a new contact created from the BillTo, when the account allows it.
//!
//! Two matching contacts park the order, naming both. A found or created contact is mapped to (buyer, addressID)
//! so later orders do not search again.
//!
//! Steps 3 and 4 run one at a time per account and matched value
//! ([`ContactLocks`]), so two orders for the same company, even from two
//! buyers, synced at once create one contact between them.

use pobridge_brightpearl::{
    BrightpearlClient, ContactQuery, ContactRow, NewContact, PostalAddress,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pobridge_core::{AccountId, BuyerId, ContactMatch};
use pobridge_cxml::Address;
use pobridge_store::{Account, Contact, CustomerMapping, Store};

use crate::sync::SyncError;

/// The outcome of resolving the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerMatch {
    Found(i64),
    /// The contact a stored mapping names; it may since have been deleted
    /// in Brightpearl.
    Mapped(i64),
    /// A person must choose or create the contact, for the reason given.
    Held(String),
    /// No contact exists and one would be created, but this is a validation run.
    WouldCreate,
}

/// Whether the resolution may write to Brightpearl (create a contact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    Allowed,
    DryRun,
}

/// How to resolve: whether to write, whether stored mappings count, and
/// the locks that keep two resolutions of one company apart. Mappings are
/// skipped when the contact a mapping names turned out to be gone from
/// Brightpearl; the contact found or created then replaces it.
#[derive(Debug, Clone, Copy)]
pub struct Resolve<'a> {
    pub writes: Writes,
    pub use_mappings: bool,
    pub locks: &'a ContactLocks,
}

/// An account and a matched value, lowercased.
type LockKey = (AccountId, String);

/// Locks that make the search and creation of a contact run one at a time
/// for the same account and matched value (company name or e-mail).
///
/// NOTE: the locks are in memory, so they serialize the workers of one
/// process only. Two processes sharing a database can still each create
/// the contact; the later orders then wait for a person to choose one.
#[derive(Debug, Clone, Default)]
pub struct ContactLocks {
    locks: Arc<Mutex<HashMap<LockKey, Arc<tokio::sync::Mutex<()>>>>>,
}

impl ContactLocks {
    /// Waits for the lock of `key` in `account` and holds it until the
    /// guard drops.
    async fn lock(&self, account: AccountId, key: String) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Locks that no task holds or waits for are dropped here, so the map
            // stays as small as the number of contacts being resolved.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            locks.entry((account, key)).or_default().clone()
        };
        lock.lock_owned().await
    }
}

pub async fn resolve_customer(
    store: &dyn Store,
    client: &BrightpearlClient,
    account: &Account,
    buyer: BuyerId,
    bill_to: Option<&Address>,
    resolve: Resolve<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CustomerMatch, SyncError> {
    let writes = resolve.writes;
    let settings = &account.settings;
    let account = account.id;
    let address_id = bill_to
        .and_then(|address| address.address_id.as_deref())
        .map(str::trim)
        .filter(|id| !id.is_empty());
    let mappings = store.customer_mappings(account, buyer).await?;
    let mapped = mappings
        .iter()
        .find(|mapping| address_id.is_some() && mapping.bill_to_address_id.as_deref() == address_id)
        .or_else(|| {
            mappings
                .iter()
                .find(|mapping| mapping.bill_to_address_id.is_none())
        });
    if let Some(mapping) = mapped.filter(|_| resolve.use_mappings) {
        return Ok(CustomerMatch::Mapped(mapping.contact_id));
    }

    if settings.contact_match == ContactMatch::None {
        return Ok(CustomerMatch::Held(
            "awaiting customer: the buyer is not mapped to a contact and automatic matching is off; map the buyer to a Brightpearl contact".to_owned(),
        ));
    }
    let Some(bill_to) = bill_to else {
        return Ok(CustomerMatch::Held("the PO has no BillTo and the buyer is not mapped to a contact; map the buyer to a Brightpearl contact".to_owned()));
    };
    let match_key = match settings.contact_match {
        ContactMatch::Email => bill_to
            .email
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        _ => company_name(bill_to),
    };
    let _guard = resolve.locks.lock(account, match_key.to_lowercase()).await;
    let found = search(client, settings.contact_match, bill_to).await?;
    let contact = match found.as_slice() {
        [one] => {
            if writes != Writes::DryRun {
                remember_contact(store, account, listed_contact(one)).await;
            }
            one.contact_id
        }
        [first, second, ..] => {
            return Ok(CustomerMatch::Held(format!(
                "awaiting customer: contacts {} ({}) and {} ({}) both match the BillTo {:?}; map the buyer to one of them",
                first.contact_id,
                contact_label(first),
                second.contact_id,
                contact_label(second),
                company_name(bill_to)
            )));
        }
        [] if !settings.create_contacts => {
            return Ok(CustomerMatch::Held(format!(
                "awaiting customer: no Brightpearl contact matches the BillTo {:?} and creating contacts is off; map the buyer to a contact",
                company_name(bill_to)
            )));
        }
        [] if writes == Writes::DryRun => return Ok(CustomerMatch::WouldCreate),
        [] => {
            let contact_id = create_contact(client, bill_to).await?;
            let created = Contact {
                contact_id,
                company_name: Some(company_name(bill_to)),
                email: bill_to.email.as_ref().map(|email| email.trim().to_owned()),
                first_name: None,
                last_name: Some(company_name(bill_to)),
                is_customer: true,
            };
            remember_contact(store, account, created).await;
            contact_id
        }
    };

    let mapping = CustomerMapping {
        buyer,
        bill_to_address_id: address_id.map(str::to_owned),
        contact_id: contact,
    };
    store
        .upsert_customer_mapping(account, &mapping, now)
        .await?;
    Ok(CustomerMatch::Found(contact))
}

/// Returns the BillTo's name with each run of spaces, tabs or line breaks
/// made one space, as a person reads it. Brightpearl's company-name search
/// matches the text with its spaces, so "Acme  Corp" with two spaces would
/// otherwise miss the contact "Acme Corp" and create a second one.
fn company_name(bill_to: &Address) -> String {
    bill_to
        .name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn search(
    client: &BrightpearlClient,
    rule: ContactMatch,
    bill_to: &Address,
) -> Result<Vec<ContactRow>, SyncError> {
    let email = bill_to
        .email
        .as_deref()
        .map(str::trim)
        .filter(|email| !email.is_empty());
    let company = Some(company_name(bill_to)).filter(|name| !name.is_empty());
    let query = match rule {
        ContactMatch::CompanyName => company.map(ContactQuery::CompanyName),
        ContactMatch::Email => email.map(|email| ContactQuery::Email(email.to_owned())),
        ContactMatch::None => None,
    };
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut rows = client
        .search_contacts(&query)
        .await
        .map_err(SyncError::Brightpearl)?;
    rows.sort_by_key(|row| row.contact_id);
    Ok(rows)
}

async fn create_contact(client: &BrightpearlClient, bill_to: &Address) -> Result<i64, SyncError> {
    let postal = bill_to.postal_address.as_ref();
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
    let address = PostalAddress {
        address_line1: streets
            .first()
            .cloned()
            .unwrap_or_else(|| company_name(bill_to)),
        address_line2: Some(
            streets
                .iter()
                .skip(1)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        )
        .filter(|text| !text.is_empty()),
        address_line3: postal
            .map(|postal| postal.city.trim().to_owned())
            .filter(|text| !text.is_empty()),
        address_line4: postal
            .and_then(|postal| postal.state.clone())
            .filter(|text| !text.trim().is_empty()),
        postal_code: postal
            .and_then(|postal| postal.postal_code.clone())
            .filter(|text| !text.trim().is_empty()),
        country_iso_code: postal
            .and_then(|postal| postal.country_code.clone())
            .or_else(|| bill_to.iso_country_code.clone()),
    };
    let address_id = client
        .create_postal_address(&address)
        .await
        .map_err(SyncError::Brightpearl)?;
    let contact = NewContact {
        first_name: None,
        last_name: Some(company_name(bill_to)),
        company_name: Some(company_name(bill_to)),
        email: bill_to.email.as_ref().map(|email| email.trim().to_owned()),
        telephone: bill_to.phone.clone(),
        postal_address_id: address_id,
    };
    let contact_id = client
        .create_contact(&contact)
        .await
        .map_err(SyncError::Brightpearl)?;
    tracing::info!(
        contact.id = contact_id,
        "created Brightpearl contact for a Coupa BillTo"
    );
    Ok(contact_id)
}

/// Adds a contact the sync found or created to the local contact index, so
/// the customers page names it. A failure is logged and not returned,
/// because the mapping that follows does not depend on the index.
async fn remember_contact(store: &dyn Store, account: AccountId, contact: Contact) {
    if let Err(error) = store
        .upsert_contacts(account, std::slice::from_ref(&contact))
        .await
    {
        tracing::warn!(tenant.id = %account, contact.id = contact.contact_id, %error, "adding a contact to the local index failed");
    }
}

fn listed_contact(row: &ContactRow) -> Contact {
    Contact {
        contact_id: row.contact_id,
        company_name: row.company_name.clone(),
        email: row.email.clone(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        is_customer: row.is_customer,
    }
}

fn contact_label(row: &ContactRow) -> String {
    row.company_name
        .clone()
        .or_else(|| row.email.clone())
        .unwrap_or_else(|| {
            format!(
                "{} {}",
                row.first_name.clone().unwrap_or_default(),
                row.last_name.clone().unwrap_or_default()
            )
            .trim()
            .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_name_collapses_inner_whitespace() {
        let bill_to = Address {
            address_id: None,
            iso_country_code: None,
            name: " Buyer  Example\tCorp\n".to_owned(),
            postal_address: None,
            email: None,
            phone: None,
            fax: None,
            url: None,
        };

        assert_eq!(company_name(&bill_to), "Buyer Example Corp");
    }
}
