//! Settings → Defaults: the values every new sales order gets, chosen from
//! the account's Brightpearl reference data, and the invoice row rules.
//!
//! Values are checked by the engine's settings rules, the ones behind
//! `pobridge settings SLUG set`, all before any is saved, so a rejected form
//! saves nothing and comes back as typed with a message next to each field.

mod fields;
mod rows;

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use pobridge_core::{AccountSettings, ShippingTreatment};
use pobridge_engine::admin::{self, list_row_rules};
use pobridge_engine::settings;

use self::fields::{
    custom_section, form_value, order_sections, stored_value, Choice, Reference, Section,
};
use self::rows::{RuleErrors, RuleForm, RuleRow};
use super::{audit, field_message, setting_message};
use crate::auth::Member;
use crate::extract::Form;
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

pub(super) use self::rows::{add_row, remove_row};

/// The settings this page sets, besides custom fields, in the order shown.
const ORDER_KEYS: [&str; 12] = [
    "channel_id",
    "warehouse_id",
    "price_list_id",
    "order_status_id",
    "staff_owner_id",
    "project_id",
    "lead_source_id",
    "default_tax_code",
    "shipping",
    "shipping_nominal_code",
    "coupa_id_field",
    "brightpearl_id_field",
];

/// Settings a sales order cannot be created without. The engine rejects
/// `none` for them too; the page checks an empty choice first so that its
/// message names the list to choose from.
const REQUIRED_KEYS: [&str; 2] = ["channel_id", "warehouse_id"];

/// Prefix of a custom field's setting key.
const CUSTOM_PREFIX: &str = "custom_fields.";

/// Prefix of the hidden field that posts back a field's value as the page
/// first showed it.
const SHOWN_PREFIX: &str = "shown.";

#[derive(Template)]
#[template(path = "settings_defaults.html")]
struct DefaultsPage {
    layout: Layout,
    tab: &'static str,
    /// Whether any Brightpearl reference data is stored.
    loaded: bool,
    /// Whether a save was rejected.
    rejected: bool,
    sections: Vec<Section>,
    rules: Vec<RuleRow>,
    rule_form: RuleForm,
    rule_errors: RuleErrors,
    rules_error: Option<String>,
    matcher_choices: Vec<Choice>,
    class_choices: Vec<Choice>,
}

/// The typed values and messages that a rejected action shows again.
#[derive(Default)]
struct Rejected {
    /// The defaults form as typed, with a message per rejected key.
    typed: Option<BTreeMap<String, String>>,
    /// The values the form was first shown with, as posted back.
    shown: Option<BTreeMap<String, String>>,
    errors: BTreeMap<String, String>,
    rule_form: RuleForm,
    rule_errors: RuleErrors,
    rules_error: Option<String>,
}

impl Rejected {
    fn form(
        typed: BTreeMap<String, String>,
        shown: BTreeMap<String, String>,
        errors: BTreeMap<String, String>,
    ) -> Self {
        Self {
            typed: Some(typed),
            shown: Some(shown),
            errors,
            ..Self::default()
        }
    }

    fn rule(rule_form: RuleForm, rule_errors: RuleErrors) -> Self {
        Self {
            rule_form,
            rule_errors,
            ..Self::default()
        }
    }
}

/// `GET /settings/defaults`.
pub(super) async fn page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    render(&state, &member, &jar, Rejected::default(), StatusCode::OK).await
}

/// `POST /settings/defaults`: checks the values a person edited, then saves
/// the changed ones.
///
/// A field whose value is still the one the page first showed (its
/// `shown.KEY`) is left alone, so a page loaded before someone else's change
/// does not undo it. A field edited here that was also changed elsewhere
/// since the page was shown is rejected with the value it has now.
pub(super) async fn save(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PortalError> {
    let reference = Reference::load(&state, &member).await?;
    let mut shown = shown_values(&fields);
    let typed = submitted_settings(fields, &reference);
    let current = &member.account.settings;
    let edits: BTreeMap<String, String> = typed
        .iter()
        .filter(|(key, value)| !shown.get(*key).is_some_and(|was| same_text(was, value)))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();

    let (updated, mut errors) = check(&state, &member, current, &typed, &edits).await?;
    for (key, now) in changed_elsewhere(current, &edits, &shown) {
        let message = format!(
            "Changed by someone else since this page was loaded, to {}. Send the form \
             again to replace it with your value.",
            if now.is_empty() { "none" } else { now.as_str() }
        );
        errors.insert(key.clone(), message);
        // Sent again, the edit then replaces the value it was warned about.
        shown.insert(key, now);
    }
    if !errors.is_empty() {
        // Fields not edited here show what is stored now.
        let mut display = typed.clone();
        for (key, value) in display.iter_mut() {
            if !edits.contains_key(key) {
                *value = form_value(current, key);
                shown.insert(key.clone(), value.clone());
            }
        }
        let rejected = Rejected::form(display, shown, errors);
        return render_rejected(&state, &member, &jar, rejected).await;
    }

    let mut changed = changed_keys(current, &updated);
    // `set_setting` rejects a shipping row without its nominal code, so a
    // row is saved after its code and a cleared code after `omit`.
    if updated.shipping == ShippingTreatment::Row {
        changed.sort_by_key(|key| key == "shipping");
    }
    if changed.is_empty() {
        return Ok(redirect_with_notice(
            "/settings/defaults",
            "Nothing changed, so nothing was saved.",
        ));
    }
    let mut errors = BTreeMap::new();
    for key in &changed {
        let value = edits.get(key).map_or("none", String::as_str);
        // The same action as `pobridge settings SLUG set`: it checks the
        // value again, saves it and releases orders waiting for settings.
        match admin::set_setting(&state.engine, member.slug(), key, value).await {
            Ok(_) => {
                shown.insert(key.clone(), edits.get(key).cloned().unwrap_or_default());
            }
            Err(error) => {
                errors.insert(key.clone(), field_message(&error));
            }
        }
    }
    if !errors.is_empty() {
        // Reachable only when the reference data or the settings changed
        // between the check and the save; the keys before it are saved.
        let rejected = Rejected::form(typed, shown, errors);
        return render_rejected(&state, &member, &jar, rejected).await;
    }

    let entries: BTreeMap<String, String> = admin::settings_entries(&updated).into_iter().collect();
    let detail = changed
        .iter()
        .map(|key| {
            format!(
                "{key} = {}",
                entries.get(key).map_or("none", String::as_str)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    audit(&state, &member, "settings.update", detail).await?;
    Ok(redirect_with_notice(
        "/settings/defaults",
        "Defaults saved. Orders that waited for a setting are tried again.",
    ))
}

/// Applies the edited values to `current` with the engine's checks, and
/// returns the result with a message per rejected key. A required field
/// left empty is rejected whether or not it was edited.
async fn check(
    state: &PortalState,
    member: &Member,
    current: &AccountSettings,
    typed: &BTreeMap<String, String>,
    edits: &BTreeMap<String, String>,
) -> Result<(AccountSettings, BTreeMap<String, String>), PortalError> {
    let store = &*state.engine.store;
    let mut updated = current.clone();
    let mut errors = BTreeMap::new();
    for key in REQUIRED_KEYS {
        if typed.get(key).is_some_and(|value| value.trim().is_empty()) {
            errors.insert(key.to_owned(), required_message(key));
        }
    }
    for (key, value) in edits {
        if errors.contains_key(key) {
            continue;
        }
        match settings::apply(store, member.account.id, &updated, key, value).await? {
            Ok(next) => updated = next,
            Err(error) => {
                errors.insert(key.clone(), setting_message(&error));
            }
        }
    }
    let shipping_submitted =
        edits.contains_key("shipping") || edits.contains_key("shipping_nominal_code");
    let code_missing = settings::shipping_code_missing(&updated);
    if shipping_submitted && code_missing && !errors.contains_key("shipping") {
        errors
            .entry("shipping_nominal_code".to_owned())
            .or_insert_with(|| MISSING_SHIPPING_CODE.to_owned());
    }
    Ok((updated, errors))
}

/// Shown when the form keeps the shipping charge as a row but names no
/// nominal code, which would hold every order with a shipping charge.
const MISSING_SHIPPING_CODE: &str =
    "Choose a shipping nominal code: a shipping charge written as a row is \
     booked on it. Or choose to leave shipping out.";

fn required_message(key: &str) -> String {
    let choice = if key == "channel_id" {
        "channel"
    } else {
        "warehouse"
    };
    format!("Choose a {choice}: every new sales order needs one.")
}

/// Reads the `shown.KEY` fields: each field's value as the page first
/// showed it.
fn shown_values(fields: &[(String, String)]) -> BTreeMap<String, String> {
    fields
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix(SHOWN_PREFIX)?;
            Some((key.to_owned(), value.clone()))
        })
        .collect()
}

/// Lists the edited keys whose stored value is no longer the one the page
/// showed, with the value stored now as the form shows it.
fn changed_elsewhere(
    current: &AccountSettings,
    edits: &BTreeMap<String, String>,
    shown: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    edits
        .iter()
        .filter_map(|(key, typed)| {
            let was = shown.get(key)?;
            let now = form_value(current, key);
            let conflict = !same_text(&now, was) && !same_text(&now, typed);
            conflict.then(|| (key.clone(), now))
        })
        .collect()
}

/// Compares two values of a field as the browser sends them. A text input
/// drops line breaks and a form sends them as CR LF, so neither counts,
/// and nor do spaces at either end.
fn same_text(one: &str, other: &str) -> bool {
    let plain = |text: &str| text.replace(['\r', '\n'], "").trim().to_owned();
    plain(one) == plain(other)
}

/// Keeps the form fields this page owns: the order settings and the custom
/// fields the account's Brightpearl has. Anything else is ignored.
fn submitted_settings(
    fields: Vec<(String, String)>,
    reference: &Reference,
) -> BTreeMap<String, String> {
    fields
        .into_iter()
        .filter(|(key, _)| {
            ORDER_KEYS.contains(&key.as_str())
                || key
                    .strip_prefix(CUSTOM_PREFIX)
                    .is_some_and(|code| reference.has_custom_field(code))
        })
        .collect()
}

/// Lists the keys whose value differs between two settings, in the words
/// of `settings_entries`, where a custom field without a value is absent.
fn changed_keys(before: &AccountSettings, after: &AccountSettings) -> Vec<String> {
    let before: BTreeMap<String, String> = admin::settings_entries(before).into_iter().collect();
    let after: BTreeMap<String, String> = admin::settings_entries(after).into_iter().collect();
    let mut keys: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|key| before.get(*key) != after.get(*key))
        .cloned()
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Renders the page again after a rejected action, with status 422.
async fn render_rejected(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    rejected: Rejected,
) -> Result<Response, PortalError> {
    render(
        state,
        member,
        jar,
        rejected,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Renders the page: fields show the typed values of a rejected save, else
/// the stored settings.
async fn render(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    rejected: Rejected,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let reference = Reference::load(state, member).await?;
    let settings = &member.account.settings;
    let stored: BTreeMap<String, String> = ORDER_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), stored_value(settings, key)))
        .collect();
    let values = |key: &str| match &rejected.typed {
        Some(typed) => typed.get(key).cloned().unwrap_or_default(),
        None => stored.get(key).cloned().unwrap_or_default(),
    };
    let mut sections = order_sections(&reference, &values);
    sections.push(custom_section(
        &reference,
        settings,
        rejected.typed.as_ref(),
    ));
    for field in sections
        .iter_mut()
        .flat_map(|section| section.fields.iter_mut())
    {
        field.error = rejected.errors.get(&field.key).cloned();
        field.shown = match &rejected.shown {
            Some(shown) => shown
                .get(&field.key)
                .cloned()
                .unwrap_or_else(|| form_value(settings, &field.key)),
            None => form_value(settings, &field.key),
        };
    }
    let rules = list_row_rules(&state.engine, member.slug()).await?;

    let template = DefaultsPage {
        layout: Layout::new(member, jar, "settings"),
        tab: "defaults",
        loaded: reference.loaded(),
        rejected: !rejected.errors.is_empty() || rejected.rule_errors.any(),
        sections,
        rules: rows::rule_rows(&rules),
        rule_form: rejected.rule_form,
        rule_errors: rejected.rule_errors,
        rules_error: rejected.rules_error,
        matcher_choices: rows::matcher_choices(),
        class_choices: rows::class_choices(),
    };
    let layout = template.layout.clone();
    let mut response = page_with_layout(&layout, template);
    *response.status_mut() = status;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn same_text_ignores_line_breaks_and_outer_spaces() {
        // A text input drops the stored line break; the hidden field sends
        // it as CR LF.
        assert!(same_text("line1\r\nline2", "line1line2"));
        assert!(same_text("line1\nline2", "line1\r\nline2"));
        assert!(same_text(" 7 ", "7"));
        assert!(!same_text("7", "8"));
    }

    #[test]
    fn changed_keys_include_cleared_custom_fields() {
        let mut before = AccountSettings::default();
        before.custom_fields.insert("PCF_A".to_owned(), json!("x"));
        let after = AccountSettings {
            channel_id: Some(2),
            ..AccountSettings::default()
        };
        assert_eq!(
            changed_keys(&before, &after),
            ["channel_id", "custom_fields.PCF_A"]
        );
    }
}
