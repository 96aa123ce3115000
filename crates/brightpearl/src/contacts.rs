//! Contacts (customers): finding one by e-mail or company name, reading by
//! id, and creating a postal address and a contact.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::search::{SearchRequest, SearchRow};
use crate::transport::Call;

/// Brightpearl's limit on contact name fields, in characters.
pub const NAME_LIMIT: usize = 32;

/// How to look a contact up. Brightpearl matches both as substrings, so
/// the client keeps only exact, case-insensitive matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactQuery {
    /// The primary e-mail address.
    Email(String),
    CompanyName(String),
}

/// One contact-search row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub contact_id: i64,
    pub company_name: Option<String>,
    /// The primary e-mail address.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_customer: bool,
}

impl ContactRow {
    fn from_row(row: &SearchRow) -> Option<Self> {
        Some(Self {
            contact_id: row.integer("contactId")?,
            company_name: row.text("companyName"),
            email: row.text("primaryEmail"),
            first_name: row.text("firstName"),
            last_name: row.text("lastName"),
            is_customer: row.boolean("isCustomer").unwrap_or(false),
        })
    }
}

/// A contact as read by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The organisation name.
    pub company_name: Option<String>,
    /// The primary e-mail address.
    pub email: Option<String>,
    /// The primary telephone number.
    pub telephone: Option<String>,
    /// Postal address ids by type: `DEF` default, `BIL` billing, `DEL` delivery.
    pub post_address_ids: BTreeMap<String, i64>,
    pub is_supplier: bool,
    pub is_staff: bool,
    pub price_list_id: Option<i64>,
    pub currency_id: Option<i64>,
    pub created_on: Option<DateTime<FixedOffset>>,
    pub updated_on: Option<DateTime<FixedOffset>>,
    pub raw: Value,
}

/// A postal address to create. Lines 3 and 4 are by convention the town
/// and the county or state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress {
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub address_line3: Option<String>,
    pub address_line4: Option<String>,
    pub postal_code: Option<String>,
    // NOTE: sent as given. Brightpearl documents 3-letter codes here; whether
    // it also takes 2-letter codes on this resource is unverified.
    pub country_iso_code: Option<String>,
}

/// A contact to create. First and last names longer than Brightpearl's
/// 32-character limit are truncated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub telephone: Option<String>,
    /// Used as the default, billing and delivery address.
    pub postal_address_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    contact_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    last_name: Option<String>,
    #[serde(default)]
    post_address_ids: BTreeMap<String, Value>,
    #[serde(default)]
    communication: Value,
    #[serde(default)]
    relationship_to_account: Value,
    #[serde(default)]
    financial_details: Value,
    #[serde(default)]
    organisation: Value,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    created_on: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    updated_on: Option<DateTime<FixedOffset>>,
}

impl ContactWire {
    fn into_contact(self, raw: Value) -> Option<Contact> {
        let text = |value: &Value| crate::de::text_value(value);
        let flag = |value: &Value| crate::de::bool_value(value).unwrap_or(false);
        let int = |value: &Value| crate::de::int_value(value);
        Some(Contact {
            id: self.contact_id?,
            first_name: self.first_name,
            last_name: self.last_name,
            company_name: text(&self.organisation["name"]),
            email: text(&self.communication["emails"]["PRI"]["email"]),
            telephone: text(&self.communication["telephones"]["PRI"]),
            post_address_ids: self
                .post_address_ids
                .iter()
                .filter_map(|(kind, id)| Some((kind.clone(), int(id)?)))
                .collect(),
            is_supplier: flag(&self.relationship_to_account["isSupplier"]),
            is_staff: flag(&self.relationship_to_account["isStaff"]),
            price_list_id: int(&self.financial_details["priceListId"]),
            currency_id: int(&self.financial_details["currencyId"]),
            created_on: self.created_on,
            updated_on: self.updated_on,
            raw,
        })
    }
}

impl BrightpearlClient {
    /// Finds contacts whose primary e-mail or company name equals the
    /// query, ignoring case and surrounding spaces, sorted by id. A blank
    /// query matches nothing and sends no request.
    pub async fn search_contacts(
        &self,
        query: &ContactQuery,
    ) -> Result<Vec<ContactRow>, BrightpearlError> {
        let (column, expected) = match query {
            ContactQuery::Email(email) => ("primaryEmail", email.trim()),
            ContactQuery::CompanyName(name) => ("companyName", name.trim()),
        };
        if expected.is_empty() {
            return Ok(Vec::new());
        }
        let request = SearchRequest::new("contact-service/contact-search", "contactId")
            .text(column, expected);
        let results = self.search(&request).await?;

        let expected = expected.to_lowercase();
        Ok(results
            .rows
            .iter()
            .filter(|row| {
                row.text(column)
                    .is_some_and(|cell| cell.trim().to_lowercase() == expected)
            })
            .filter_map(ContactRow::from_row)
            .collect())
    }

    /// Reads contacts by id, sorted by id. Ids that do not exist are left out.
    pub async fn get_contacts(&self, ids: &[i64]) -> Result<Vec<Contact>, BrightpearlError> {
        let items = self
            .get_many::<ContactWire>("contact-service/contact", ids, &[])
            .await?;
        let mut contacts: Vec<Contact> = items
            .into_iter()
            .filter_map(|(wire, raw)| wire.into_contact(raw))
            .collect();
        contacts.sort_by_key(|contact| contact.id);
        contacts.dedup_by_key(|contact| contact.id);
        Ok(contacts)
    }

    /// Reads one contact; a missing contact is `ErrorKind::NotFound`.
    pub async fn get_contact(&self, id: i64) -> Result<Contact, BrightpearlError> {
        self.get_contacts(&[id]).await?.pop().ok_or_else(|| {
            BrightpearlError::new(ErrorKind::NotFound, format!("contact {id} does not exist"))
                .with_request(format!("GET contact-service/contact/{id}"))
        })
    }

    /// Creates a postal address and returns its id. The POST is not
    /// idempotent: on `ErrorKind::Ambiguous` the address may exist.
    pub async fn create_postal_address(
        &self,
        address: &PostalAddress,
    ) -> Result<i64, BrightpearlError> {
        let call = Call::post(
            "contact-service/postal-address",
            postal_address_body(address),
        );
        self.create(&call).await
    }

    /// Creates a contact and returns its id. The POST is not idempotent: on
    /// `ErrorKind::Ambiguous` search for the contact before trying again.
    pub async fn create_contact(&self, contact: &NewContact) -> Result<i64, BrightpearlError> {
        let call = Call::post("contact-service/contact", contact_body(contact));
        self.create(&call).await
    }

    /// Sends a creating POST and reads the new id from `{"response": id}`.
    /// A success reply without an id leaves the outcome unknown.
    pub(crate) async fn create(&self, call: &Call) -> Result<i64, BrightpearlError> {
        let body = self.inner.send(call).await?;
        crate::envelope::new_id(&body).ok_or_else(|| {
            BrightpearlError::new(
                ErrorKind::Ambiguous,
                "the reply carries no new id, so the outcome is unknown; search before sending again",
            )
            .with_request(call.name())
        })
    }
}

fn postal_address_body(address: &PostalAddress) -> Value {
    let mut body = Map::new();
    body.insert("addressLine1".into(), json!(address.address_line1));
    let optional = [
        ("addressLine2", &address.address_line2),
        ("addressLine3", &address.address_line3),
        ("addressLine4", &address.address_line4),
        ("postalCode", &address.postal_code),
        ("countryIsoCode", &address.country_iso_code),
    ];
    for (key, value) in optional {
        if let Some(text) = present(value) {
            body.insert(key.into(), json!(text));
        }
    }
    Value::Object(body)
}

fn contact_body(contact: &NewContact) -> Value {
    let id = contact.postal_address_id;
    let mut body = Map::new();
    if let Some(name) = present(&contact.first_name) {
        body.insert("firstName".into(), json!(truncate(name)));
    }
    if let Some(name) = present(&contact.last_name) {
        body.insert("lastName".into(), json!(truncate(name)));
    }
    body.insert(
        "postAddressIds".into(),
        json!({"DEF": id, "BIL": id, "DEL": id}),
    );

    let mut communication = Map::new();
    if let Some(email) = present(&contact.email) {
        communication.insert("emails".into(), json!({"PRI": {"email": email}}));
    }
    if let Some(telephone) = present(&contact.telephone) {
        communication.insert("telephones".into(), json!({"PRI": telephone}));
    }
    if !communication.is_empty() {
        body.insert("communication".into(), Value::Object(communication));
    }
    if let Some(company) = present(&contact.company_name) {
        body.insert("organisation".into(), json!({"name": company}));
    }
    body.insert(
        "relationshipToAccount".into(),
        json!({"isSupplier": false, "isStaff": false}),
    );
    Value::Object(body)
}

/// Trims the text, returning `None` when it is absent or blank.
fn present(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn truncate(text: &str) -> String {
    text.chars().take(NAME_LIMIT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_body_truncates_names_and_omits_blanks() {
        let body = contact_body(&NewContact {
            first_name: Some("   ".into()),
            last_name: Some("Procurement Department of Example Buyer Co.".into()),
            company_name: Some("Example Buyer Co.".into()),
            email: None,
            telephone: Some("+1 555 0100".into()),
            postal_address_id: 9001,
        });

        assert_eq!(body["lastName"], "Procurement Department of Exampl");
        assert_eq!(body["lastName"].as_str().unwrap().chars().count(), 32);
        assert!(body.get("firstName").is_none());
        assert_eq!(
            body["postAddressIds"],
            json!({"DEF": 9001, "BIL": 9001, "DEL": 9001})
        );
        assert_eq!(
            body["communication"],
            json!({"telephones": {"PRI": "+1 555 0100"}})
        );
        assert_eq!(body["organisation"], json!({"name": "Example Buyer Co."}));
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        let name = "Ünïcödé ".repeat(6);
        let truncated = truncate(&name);
        assert_eq!(truncated.chars().count(), 32);
    }

    #[test]
    fn postal_address_body_has_no_empty_fields() {
        let body = postal_address_body(&PostalAddress {
            address_line1: "100 Procurement Way".into(),
            address_line2: Some(String::new()),
            address_line3: Some("Springfield".into()),
            address_line4: None,
            postal_code: Some("62701".into()),
            country_iso_code: Some("USA".into()),
        });
        assert_eq!(
            body,
            json!({
                "addressLine1": "100 Procurement Way",
                "addressLine3": "Springfield",
                "postalCode": "62701",
                "countryIsoCode": "USA"
            })
        );
    }

    #[test]
    fn contact_reads_from_capture() {
        let path = format!(
            "{}/../../../shared/corpus/brightpearl/contact-get-doc-example.response.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let item = crate::envelope::items(&body).remove(0);
        let contact = serde_json::from_value::<ContactWire>(item.clone())
            .unwrap()
            .into_contact(item)
            .unwrap();

        assert!(contact.id > 0);
        assert!(!contact.post_address_ids.is_empty());
        assert!(contact.email.is_some());
    }
}
