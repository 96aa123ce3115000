//! Reading order fields from request bodies: decimals given as strings or
//! numbers, dates, addresses and the contact's own addresses.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::model::Address;
use crate::account::Account;
use crate::envelope::{code, ApiError};
use crate::time::{parse_flexible, DayEnd};

/// Reads a decimal from a string (`"9.0909"`) or a number.
pub(crate) fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

/// Reads an id from a number or a numeric string.
pub(crate) fn id(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a date or date-time written in any form Brightpearl accepts.
pub(crate) fn date(
    value: Option<&Value>,
    account: &Account,
) -> Result<Option<DateTime<Utc>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse_flexible(text, account.catalogue.offset, DayEnd::Start)
            .map(Some)
            .ok_or_else(|| format!("{text:?} is not a date")),
        Some(other) => Err(format!("{other} is not a date")),
    }
}

/// The address a contact has on file under `kind` (`DEF`, `BIL`, `DEL`),
/// with the contact's name, company, telephone and e-mail.
pub(crate) fn contact_address(account: &Account, contact_id: u64, kind: &str) -> Address {
    let Some(contact) = account.contacts.get(&contact_id) else {
        return Address::default();
    };
    let postal = contact
        .address_id(kind)
        .or_else(|| contact.address_id("DEF"))
        .and_then(|id| account.addresses.get(&id));
    let mut address = Address {
        full_name: contact.full_name(),
        company_name: contact.text("/organisation/name"),
        telephone: contact.text("/communication/telephones/PRI"),
        mobile_telephone: contact.text("/communication/telephones/MOB"),
        email: contact.text("/communication/emails/PRI/email"),
        ..Address::default()
    };
    if let Some(postal) = postal {
        address.lines = postal.lines.clone();
        address.postal_code = postal.postal_code.clone();
        address.country = postal.country.clone();
    }
    address
}

/// Reads an address object of a Sales Order or Order POST body.
pub(crate) fn address(value: &Value, account: &Account, field: &str) -> Result<Address, ApiError> {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let country = match value.get("countryIsoCode").and_then(Value::as_str) {
        Some(code) => Some(account.catalogue.country(code).cloned().ok_or_else(|| {
            ApiError::new(
                code::REFERENCE_DATA_INVALID,
                format!("{field}.countryIsoCode {code:?} is not a known country"),
            )
        })?),
        None => {
            id(value.get("countryId")).and_then(|id| account.catalogue.country_by_id(id).cloned())
        }
    };
    Ok(Address {
        full_name: text("addressFullName"),
        company_name: text("companyName"),
        lines: [
            text("addressLine1"),
            text("addressLine2"),
            text("addressLine3"),
            text("addressLine4"),
        ],
        postal_code: text("postalCode"),
        country,
        telephone: text("telephone"),
        mobile_telephone: text("mobileTelephone"),
        fax: text("fax"),
        email: text("email"),
    })
}
