//! Settings → General, the account's Brightpearl connection and the pull of
//! its reference data, and Settings → Defaults, what every new sales order
//! gets. The Coupa buyers and Users tabs are other modules.
//!
//! Connecting runs the OAuth authorization-code grant in [`oauth`]; saving
//! defaults goes through the engine's `set_setting`, the action behind
//! `pobridge settings SLUG set`, so the portal and the command line accept
//! the same values.

mod defaults;
mod general;
mod oauth;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use pobridge_engine::admin::AdminError;
use pobridge_engine::settings::SettingError;

// Changes are recorded in the audit trail as the Coupa buyer pages record them.
use super::buyers::audit;
use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/settings", get(general::page))
        .route("/settings/brightpearl/connect", post(oauth::connect))
        .route("/settings/brightpearl/callback", get(oauth::callback))
        .route("/settings/brightpearl/finish", post(oauth::finish))
        .route("/settings/brightpearl/refresh", post(general::refresh))
        .route(
            "/settings/defaults",
            get(defaults::page).post(defaults::save),
        )
        .route("/settings/defaults/rows", post(defaults::add_row))
        .route("/settings/defaults/rows/remove", post(defaults::remove_row))
}

/// Formats a time for people in the account's time zone, such as
/// `3 Jun 2024, 14:05 BST`. An unknown zone name shows UTC.
fn local_time(time: DateTime<Utc>, zone: &str) -> String {
    let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    time.with_timezone(&zone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

/// Words a rejected value for the page, next to its field: what is wrong
/// and what to enter instead, without the setting key that the command
/// line shows.
fn field_message(error: &AdminError) -> String {
    match error {
        AdminError::Invalid {
            value, expected, ..
        } => invalid_message(value, expected),
        AdminError::Setting(setting) => setting_message(setting),
        other => other.to_string(),
    }
}

fn setting_message(error: &SettingError) -> String {
    match error {
        SettingError::Invalid {
            value, expected, ..
        } => invalid_message(value, expected),
        SettingError::NotInBrightpearl {
            value, what, known, ..
        } => format!(
            "{value:?} is not one of this Brightpearl account's {what} (known: {}). \
             If it was added in Brightpearl recently, press Refresh data under \
             Settings → General and try again.",
            known_without_command(known)
        ),
        SettingError::UnknownKey(key) => format!("pobridge has no setting {key:?}."),
    }
}

fn invalid_message(value: &str, expected: &str) -> String {
    if value.trim().is_empty() {
        format!("Enter {expected}.")
    } else {
        format!("{value:?} is not valid: enter {expected}.")
    }
}

/// Returns the known values of a setting error without the command it
/// suggests when nothing is loaded yet.
fn known_without_command(known: &str) -> &str {
    if known.starts_with("(none loaded yet") {
        "none, because Brightpearl data is not loaded yet; connect Brightpearl first"
    } else {
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_uses_the_account_zone() {
        let time: DateTime<Utc> = "2024-06-03T13:05:00Z".parse().unwrap();
        assert_eq!(local_time(time, "Europe/London"), "3 Jun 2024, 14:05 BST");
        assert_eq!(local_time(time, "no such zone"), "3 Jun 2024, 13:05 UTC");
    }

    #[test]
    fn field_messages_name_the_value_and_the_fix() {
        let empty = AdminError::Invalid {
            field: "account code",
            value: " ".to_owned(),
            expected: "an account code".to_owned(),
        };
        assert_eq!(field_message(&empty), "Enter an account code.");
        let wrong = SettingError::NotInBrightpearl {
            key: "channel_id".to_owned(),
            value: "9".to_owned(),
            what: "channels",
            known: "1 (Coupa)".to_owned(),
            account: "acme".to_owned(),
        };
        let message = field_message(&AdminError::Setting(wrong));
        assert!(
            message.starts_with(
                "\"9\" is not one of this Brightpearl account's channels (known: 1 (Coupa))"
            ),
            "{message}"
        );
        assert!(!message.contains("pobridge refresh"), "{message}");
    }
}
