//! The buyer form, for adding a buyer and for changing one: what it holds,
//! the changes it requests, and where each rejected value's message goes.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use pobridge_cxml::DEFAULT_INVOICE_DTD_VERSION;
use pobridge_engine::admin::buyer_changes::{
    check_buyer_changes, parse_tax_map, set_buyer_fields, BuyerChange, RejectedChange, TaxMapChange,
};
use pobridge_engine::admin::{self, AddBuyer, AdminError, BuyerAuth, BuyerView, INVOICING_KEYS};
use pobridge_engine::invoicing::{CreditForm, TaxLevel};
use serde::Deserialize;

use super::{audit, buyer_path, find_buyer, BuyerRow};
use crate::auth::{new_token, Member};
use crate::extract::Form;
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// The fields of the buyer form, as typed. Secrets are never sent back to
/// the browser, so `Debug` is not derived.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct BuyerForm {
    pub name: String,
    pub from_domain: String,
    pub from_identity: String,
    pub to_domain: String,
    pub to_identity: String,
    pub sender_domain: String,
    pub sender_identity: String,
    pub secret: String,
    /// Ticked on a new buyer that authenticates by its own order URL.
    pub no_secret: Option<String>,
    pub mode: String,
    pub invoice_url: String,
    pub invoice_from_domain: String,
    pub invoice_from_identity: String,
    pub invoice_to_domain: String,
    pub invoice_to_identity: String,
    pub invoice_sender_domain: String,
    pub invoice_sender_identity: String,
    pub invoice_secret: String,
    /// Ticked to remove the invoicing secret.
    pub invoice_secret_clear: Option<String>,
    pub remit_to: String,
    pub remit_to_name: String,
    pub tax_prefix: String,
    pub tax_number: String,
    /// One `CODE=CATEGORY:RATE` a line.
    pub tax_map: String,
    pub tax_level: String,
    pub header_charges: String,
    pub credit_form: String,
    pub dtd_version: String,
    pub payment_days: String,
    /// The text fields as the edit page first showed them, as JSON, so a
    /// save can tell a person's edits from changes made elsewhere since.
    pub shown: String,
}

/// Compares two values of a field as the browser sends them: a form sends
/// line breaks as CR LF, and spaces at either end do not count.
fn same_text(one: &str, other: &str) -> bool {
    one.replace('\r', "").trim() == other.replace('\r', "").trim()
}

/// The form's text fields that [`BuyerForm::shown`] records, with the id
/// of the error paragraph each belongs to. Secrets and tick boxes are not
/// among them: secrets are never shown, and a tick is always an edit.
const SHOWN_FIELDS: [(&str, &str); 25] = [
    ("name", "name"),
    ("from_domain", "from"),
    ("from_identity", "from"),
    ("to_domain", "to"),
    ("to_identity", "to"),
    ("sender_domain", "sender"),
    ("sender_identity", "sender"),
    ("mode", "mode"),
    ("invoice_url", "invoice_url"),
    ("invoice_from_domain", "invoice_from"),
    ("invoice_from_identity", "invoice_from"),
    ("invoice_to_domain", "invoice_to"),
    ("invoice_to_identity", "invoice_to"),
    ("invoice_sender_domain", "invoice_sender"),
    ("invoice_sender_identity", "invoice_sender"),
    ("remit_to", "remit_to"),
    ("remit_to_name", "remit_to_name"),
    ("tax_prefix", "tax_prefix"),
    ("tax_number", "tax_number"),
    ("tax_map", "tax_map"),
    ("tax_level", "tax_level"),
    ("header_charges", "header_charges"),
    ("credit_form", "credit_form"),
    ("dtd_version", "dtd_version"),
    ("payment_days", "payment_days"),
];

/// Messages to show next to fields, by the id of the field's error
/// paragraph without its `-error` suffix.
#[derive(Debug, Clone, Default)]
pub(super) struct FieldErrors {
    messages: BTreeMap<String, String>,
}

impl FieldErrors {
    /// Adds every message of `other`.
    fn extend(&mut self, other: FieldErrors) {
        for (id, message) in other.messages {
            self.add(&id, message);
        }
    }

    /// Returns the message for field `id`, if any.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.messages.get(id).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Adds a message; a second one for the same field is appended.
    fn add(&mut self, id: &str, message: String) {
        self.messages
            .entry(id.to_owned())
            .and_modify(|text| {
                text.push(' ');
                text.push_str(&message);
            })
            .or_insert(message);
    }

    fn add_rejected(&mut self, rejected: &[RejectedChange]) {
        for change in rejected {
            self.add(&field_id(change.key), field_message(&change.error));
        }
    }
}

/// Returns the form field of a `set_buyer` key, such as `invoice_url` for
/// `invoice-url`.
fn field_id(key: &str) -> String {
    key.trim_start_matches("--").replace('-', "_")
}

/// Words an engine error for the field it is shown next to.
fn field_message(error: &AdminError) -> String {
    match error {
        AdminError::Invalid {
            value, expected, ..
        } if value.is_empty() => format!("Enter {expected}."),
        AdminError::Invalid {
            value, expected, ..
        } => format!("{value:?} is not valid; expected {expected}."),
        AdminError::BuyerExists(name) => {
            format!("Another buyer is already named {name:?}; choose another name.")
        }
        AdminError::FromInUse { buyer, .. } => {
            format!("Buyer {buyer:?} already uses this From credential; each buyer needs its own.")
        }
        other => other.to_string(),
    }
}

const CREDENTIAL_EXAMPLE: &str = "such as NetworkID and AN01000000001";

/// Joins a domain and an identity as `DOMAIN:IDENTITY`, or `None` when both
/// are blank.
fn credential(domain: &str, identity: &str) -> Result<Option<String>, String> {
    let (domain, identity) = (domain.trim(), identity.trim());
    match (domain.is_empty(), identity.is_empty()) {
        (true, true) => Ok(None),
        (false, false) if domain.contains(':') => Err(format!(
            "The domain {domain:?} contains a colon; enter the domain without it, \
             {CREDENTIAL_EXAMPLE}."
        )),
        (false, false) => Ok(Some(format!("{domain}:{identity}"))),
        _ => Err(format!(
            "Enter both the domain and the identity, {CREDENTIAL_EXAMPLE}."
        )),
    }
}

/// Splits `DOMAIN:IDENTITY` at its first colon, as the engine does.
fn split_credential(text: &str) -> (String, String) {
    match text.split_once(':') {
        Some((domain, identity)) => (domain.to_owned(), identity.to_owned()),
        None => (text.to_owned(), String::new()),
    }
}

fn tax_level_name(level: TaxLevel) -> &'static str {
    match level {
        TaxLevel::Line => "line",
        TaxLevel::Summary => "summary",
    }
}

fn credit_form_name(form: CreditForm) -> &'static str {
    match form {
        CreditForm::NegativeQuantities => "negative-quantities",
        CreditForm::CreditMemo => "credit-memo",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

impl BuyerForm {
    /// Returns the form of a new buyer, with the command line's defaults.
    pub fn blank() -> Self {
        Self {
            mode: "production".to_owned(),
            tax_level: tax_level_name(TaxLevel::default()).to_owned(),
            header_charges: "no".to_owned(),
            credit_form: credit_form_name(CreditForm::default()).to_owned(),
            dtd_version: DEFAULT_INVOICE_DTD_VERSION.to_owned(),
            ..Self::default()
        }
    }

    /// Fills the form with a buyer's stored values. Secrets stay blank,
    /// and so do invoice credentials taken by default from the orders.
    pub fn from_view(view: &BuyerView) -> Self {
        let invoicing = &view.invoicing;
        let configured = |credential: &admin::CredentialView| {
            if credential.is_default {
                (String::new(), String::new())
            } else {
                split_credential(&credential.credential)
            }
        };
        let (from_domain, from_identity) = split_credential(&view.from);
        let (to_domain, to_identity) = split_credential(&view.to);
        let (sender_domain, sender_identity) = split_credential(&view.sender);
        let (invoice_from_domain, invoice_from_identity) = configured(&invoicing.from);
        let (invoice_to_domain, invoice_to_identity) = configured(&invoicing.to);
        let (invoice_sender_domain, invoice_sender_identity) = configured(&invoicing.sender);
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Self {
            name: view.name.clone(),
            from_domain,
            from_identity,
            to_domain,
            to_identity,
            sender_domain,
            sender_identity,
            mode: super::mode_name(view.mode).to_owned(),
            invoice_url: text(&current_invoice_url(view)),
            invoice_from_domain,
            invoice_from_identity,
            invoice_to_domain,
            invoice_to_identity,
            invoice_sender_domain,
            invoice_sender_identity,
            remit_to: text(&invoicing.remit_to_address_id),
            remit_to_name: text(&invoicing.remit_to_name),
            tax_prefix: text(&invoicing.supplier_tax_prefix),
            tax_number: text(&invoicing.supplier_tax_number),
            tax_map: invoicing
                .tax_map
                .iter()
                .map(|(code, tax)| format!("{code}={}:{}", tax.category, tax.rate))
                .collect::<Vec<_>>()
                .join("\n"),
            tax_level: tax_level_name(invoicing.tax_level).to_owned(),
            header_charges: yes_no(invoicing.header_charges_allowed).to_owned(),
            credit_form: credit_form_name(invoicing.credit_form).to_owned(),
            dtd_version: invoicing.dtd_version.clone(),
            payment_days: invoicing
                .payment_term_days
                .map(|days| days.to_string())
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    /// Returns the text field named `name`, one of [`SHOWN_FIELDS`].
    fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        let field = match name {
            "name" => &mut self.name,
            "from_domain" => &mut self.from_domain,
            "from_identity" => &mut self.from_identity,
            "to_domain" => &mut self.to_domain,
            "to_identity" => &mut self.to_identity,
            "sender_domain" => &mut self.sender_domain,
            "sender_identity" => &mut self.sender_identity,
            "mode" => &mut self.mode,
            "invoice_url" => &mut self.invoice_url,
            "invoice_from_domain" => &mut self.invoice_from_domain,
            "invoice_from_identity" => &mut self.invoice_from_identity,
            "invoice_to_domain" => &mut self.invoice_to_domain,
            "invoice_to_identity" => &mut self.invoice_to_identity,
            "invoice_sender_domain" => &mut self.invoice_sender_domain,
            "invoice_sender_identity" => &mut self.invoice_sender_identity,
            "remit_to" => &mut self.remit_to,
            "remit_to_name" => &mut self.remit_to_name,
            "tax_prefix" => &mut self.tax_prefix,
            "tax_number" => &mut self.tax_number,
            "tax_map" => &mut self.tax_map,
            "tax_level" => &mut self.tax_level,
            "header_charges" => &mut self.header_charges,
            "credit_form" => &mut self.credit_form,
            "dtd_version" => &mut self.dtd_version,
            "payment_days" => &mut self.payment_days,
            _ => return None,
        };
        Some(field)
    }

    /// Returns the form with [`BuyerForm::shown`] set to its own text fields,
    /// as the edit page sends it.
    pub fn with_shown(mut self) -> Self {
        let shown: BTreeMap<&str, String> = SHOWN_FIELDS
            .iter()
            .filter_map(|(name, _)| Some((*name, self.field_mut(name)?.clone())))
            .collect();
        self.shown = serde_json::to_string(&shown).unwrap_or_default();
        self
    }

    /// Keeps the stored value of each field the person left as the page
    /// showed it, so a page loaded before another change does not undo it.
    /// A field edited here that was also changed elsewhere keeps the typed
    /// value and gets a message naming the value stored now. Without
    /// `shown`, as from a client that does not send it, every typed value
    /// counts as an edit. Returns `None` when `shown` is there but is not
    /// a JSON object of text values, which no page of pobridge sends.
    fn merged_with(mut self, stored: &BuyerForm, errors: &mut FieldErrors) -> Option<Self> {
        if self.shown.trim().is_empty() {
            return Some(self);
        }
        let shown = serde_json::from_str::<BTreeMap<String, String>>(&self.shown).ok()?;
        let mut stored = stored.clone();
        for (name, error_id) in SHOWN_FIELDS {
            let (Some(was), Some(now)) = (shown.get(name), stored.field_mut(name)) else {
                continue;
            };
            let now = now.clone();
            let Some(typed) = self.field_mut(name) else {
                continue;
            };
            if same_text(typed, was) {
                *typed = now;
            } else if !same_text(&now, was) && !same_text(&now, typed) {
                let shown_now = if now.trim().is_empty() {
                    "empty"
                } else {
                    now.trim()
                };
                errors.add(
                    error_id,
                    format!(
                        "Changed by someone else since this page was loaded, to {shown_now}. \
                         Save again to replace it with your value."
                    ),
                );
            }
        }
        Some(self)
    }

    /// Clears the secrets, which never go back to the browser, so a
    /// rejected submission is shown again with every other value as typed.
    fn without_secrets(mut self) -> Self {
        self.secret.clear();
        self.invoice_secret.clear();
        self
    }

    fn wants_url_token(&self) -> bool {
        self.no_secret.is_some()
    }

    /// Lists the changes that add a buyer: its own fields, then each invoicing
    /// setting that differs from a new buyer's default.
    fn add_changes(&self) -> (Vec<BuyerChange>, FieldErrors) {
        let mut changes = Vec::new();
        let mut errors = FieldErrors::default();
        for (id, key, domain, identity) in [
            ("from", "from", &self.from_domain, &self.from_identity),
            ("to", "to", &self.to_domain, &self.to_identity),
            (
                "sender",
                "sender",
                &self.sender_domain,
                &self.sender_identity,
            ),
        ] {
            match credential(domain, identity) {
                Ok(Some(value)) => changes.push(BuyerChange::new(key, value)),
                Ok(None) => errors.add(
                    id,
                    format!("Enter the domain and the identity, {CREDENTIAL_EXAMPLE}."),
                ),
                Err(message) => errors.add(id, message),
            }
        }
        if !self.name.trim().is_empty() {
            changes.push(BuyerChange::new("name", self.name.trim()));
        }
        changes.push(BuyerChange::new("mode", self.mode.clone()));
        match (self.wants_url_token(), self.secret.trim().is_empty()) {
            (true, false) => errors.add(
                "secret",
                "Leave the secret blank for a buyer with its own order URL, or untick that box."
                    .to_owned(),
            ),
            (true, true) => {}
            (false, _) => changes.push(BuyerChange::new("secret", self.secret.clone())),
        }
        let defaults = BuyerForm::blank();
        self.invoicing_changes(&defaults, &BTreeMap::new(), &mut changes, &mut errors);
        (changes, errors)
    }

    /// Lists the changes from `current` that the form requests.
    fn edit_changes(&self, current: &BuyerView) -> (Vec<BuyerChange>, FieldErrors) {
        let stored = BuyerForm::from_view(current);
        let mut changes = Vec::new();
        let mut errors = FieldErrors::default();
        if self.name.trim() != stored.name {
            changes.push(BuyerChange::new("name", self.name.trim()));
        }
        for (key, domain, identity, before) in [
            ("to", &self.to_domain, &self.to_identity, &current.to),
            (
                "sender",
                &self.sender_domain,
                &self.sender_identity,
                &current.sender,
            ),
        ] {
            match credential(domain, identity) {
                Ok(Some(value)) if &value != before => changes.push(BuyerChange::new(key, value)),
                Ok(Some(_)) => {}
                Ok(None) => errors.add(
                    key,
                    format!("Enter the domain and the identity, {CREDENTIAL_EXAMPLE}."),
                ),
                Err(message) => errors.add(key, message),
            }
        }
        if self.mode.trim() != stored.mode {
            changes.push(BuyerChange::new("mode", self.mode.trim()));
        }
        if !self.secret.trim().is_empty() {
            changes.push(BuyerChange::new("secret", self.secret.clone()));
        }
        let tax_map = current
            .invoicing
            .tax_map
            .iter()
            .map(|(code, tax)| (code.clone(), (tax.category.clone(), tax.rate)))
            .collect();
        let has_secret = current.invoicing.shared_secret.is_some();
        self.invoicing_changes(&stored, &tax_map, &mut changes, &mut errors);
        if self.invoice_secret_clear.is_some() && has_secret {
            changes.push(BuyerChange::new("invoice-secret", "none"));
        }
        (changes, errors)
    }

    /// Adds a change for each invoicing field that differs from `stored`. A
    /// blank field clears its setting.
    fn invoicing_changes(
        &self,
        stored: &BuyerForm,
        stored_tax_map: &TaxMap,
        changes: &mut Vec<BuyerChange>,
        errors: &mut FieldErrors,
    ) {
        let texts = [
            (
                "invoice-url",
                &self.invoice_url,
                &stored.invoice_url,
                "none",
            ),
            ("remit-to", &self.remit_to, &stored.remit_to, "none"),
            (
                "remit-to-name",
                &self.remit_to_name,
                &stored.remit_to_name,
                "none",
            ),
            ("tax-prefix", &self.tax_prefix, &stored.tax_prefix, "none"),
            ("tax-number", &self.tax_number, &stored.tax_number, "none"),
            (
                "payment-days",
                &self.payment_days,
                &stored.payment_days,
                "none",
            ),
            (
                "dtd-version",
                &self.dtd_version,
                &stored.dtd_version,
                "default",
            ),
            ("tax-level", &self.tax_level, &stored.tax_level, ""),
            (
                "header-charges",
                &self.header_charges,
                &stored.header_charges,
                "",
            ),
            ("credit-form", &self.credit_form, &stored.credit_form, ""),
        ];
        for (key, typed, before, blank) in texts {
            let typed = typed.trim();
            if typed == before.trim() {
                continue;
            }
            let value = if typed.is_empty() { blank } else { typed };
            changes.push(BuyerChange::new(key, value));
        }

        let credentials = [
            (
                "invoice-from",
                &self.invoice_from_domain,
                &self.invoice_from_identity,
                (&stored.invoice_from_domain, &stored.invoice_from_identity),
            ),
            (
                "invoice-to",
                &self.invoice_to_domain,
                &self.invoice_to_identity,
                (&stored.invoice_to_domain, &stored.invoice_to_identity),
            ),
            (
                "invoice-sender",
                &self.invoice_sender_domain,
                &self.invoice_sender_identity,
                (
                    &stored.invoice_sender_domain,
                    &stored.invoice_sender_identity,
                ),
            ),
        ];
        for (key, domain, identity, before) in credentials {
            let before = credential(before.0, before.1).ok().flatten();
            match credential(domain, identity) {
                Ok(typed) if typed == before => {}
                Ok(Some(value)) => changes.push(BuyerChange::new(key, value)),
                Ok(None) => changes.push(BuyerChange::new(key, "none")),
                Err(message) => errors.add(&field_id(key), message),
            }
        }

        if !self.invoice_secret.trim().is_empty() {
            if self.invoice_secret_clear.is_some() {
                errors.add(
                    "invoice_secret",
                    "Either type a new invoicing secret or tick the box to remove it, not both."
                        .to_owned(),
                );
            } else {
                changes.push(BuyerChange::new(
                    "invoice-secret",
                    self.invoice_secret.clone(),
                ));
            }
        }
        tax_map_changes(&self.tax_map, stored_tax_map, changes, errors);
    }
}

/// A tax map as compared: code to category and rate.
type TaxMap = BTreeMap<String, (String, rust_decimal::Decimal)>;

/// Adds a `tax-map` change for each line that maps a code anew or
/// differently, and a removal for each stored code the text no longer has.
fn tax_map_changes(
    text: &str,
    stored: &TaxMap,
    changes: &mut Vec<BuyerChange>,
    errors: &mut FieldErrors,
) {
    let mut kept = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        match parse_tax_map(line) {
            Ok(TaxMapChange::Set { code, mapping }) => {
                let unchanged =
                    stored.get(&code) == Some(&(mapping.category.clone(), mapping.rate));
                if !unchanged {
                    changes.push(BuyerChange::new("tax-map", line));
                }
                kept.push(code);
            }
            Ok(TaxMapChange::Remove { .. }) => changes.push(BuyerChange::new("tax-map", line)),
            Err(error) => errors.add("tax_map", field_message(&error)),
        }
    }
    for code in stored.keys().filter(|code| !kept.contains(code)) {
        changes.push(BuyerChange::new("tax-map", format!("{code}=none")));
    }
}

/// Returns the invoice URL in force: the invoicing settings' own, else
/// the buyer's.
fn current_invoice_url(view: &BuyerView) -> Option<String> {
    view.invoicing
        .invoice_url
        .clone()
        .or_else(|| view.invoice_url.clone())
}

/// The add and edit page.
#[derive(Template)]
#[template(path = "buyers_form.html")]
pub(super) struct FormPage {
    pub layout: Layout,
    /// The buyer being changed; `None` on the add page.
    pub buyer: Option<BuyerRow>,
    pub values: BuyerForm,
    pub errors: FieldErrors,
    /// A problem with the whole submission, shown above the form.
    pub problem: Option<String>,
    pub default_dtd: &'static str,
}

impl FormPage {
    pub fn new(
        layout: Layout,
        buyer: Option<BuyerRow>,
        values: BuyerForm,
        errors: FieldErrors,
    ) -> Self {
        let problem = (!errors.is_empty()).then(|| {
            "Nothing was saved. Fix the fields marked below and save again. Type any \
                 shared secret again too, because pobridge never sends secrets back to the browser."
                .to_owned()
        });
        Self {
            layout,
            buyer,
            values: values.without_secrets(),
            errors,
            problem,
            default_dtd: DEFAULT_INVOICE_DTD_VERSION,
        }
    }

    /// Returns the URL the form posts to.
    pub fn action(&self) -> String {
        match &self.buyer {
            Some(buyer) => buyer.path.clone(),
            None => "/settings/buyers/new".to_owned(),
        }
    }

    /// Returns whether the buyer has an invoicing secret stored.
    pub fn has_invoice_secret(&self) -> bool {
        self.buyer
            .as_ref()
            .is_some_and(|buyer| buyer.view.invoicing.shared_secret.is_some())
    }

    fn rejected(self) -> Response {
        let html = page_with_layout(&self.layout.clone(), self);
        (StatusCode::UNPROCESSABLE_ENTITY, html).into_response()
    }
}

/// Words a list of changes for the audit trail, without secret values.
fn describe(changes: &[BuyerChange]) -> String {
    changes
        .iter()
        .map(BuyerChange::audit_text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `POST /settings/buyers/new`.
pub(super) async fn add(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<BuyerForm>,
) -> Result<Response, PortalError> {
    let (changes, mut errors) = form.add_changes();
    let rejected = check_buyer_changes(&state.engine, member.slug(), None, &changes).await?;
    errors.add_rejected(&rejected);
    let layout = Layout::new(&member, &jar, "settings");
    if !errors.is_empty() {
        return Ok(FormPage::new(layout, None, form, errors).rejected());
    }

    let request = add_request(&form, &changes);
    let added = match admin::add_buyer(&state.engine, member.slug(), &request).await {
        Ok(added) => added,
        Err(AdminError::Store(error)) => return Err(error.into()),
        Err(error) => {
            let key = match &error {
                AdminError::FromInUse { .. } => "from",
                AdminError::BuyerExists(_) => "name",
                AdminError::Invalid { field, .. } => field,
                _ => return Err(error.into()),
            };
            errors.add(&field_id(key), field_message(&error));
            return Ok(FormPage::new(layout, None, form, errors).rejected());
        }
    };
    audit(
        &state,
        &member,
        "buyer.add",
        format!("added buyer {}: {}", added.name, describe(&changes)),
    )
    .await?;

    let invoicing: Vec<BuyerChange> = changes
        .into_iter()
        .filter(|change| change.key == "invoice-url" || INVOICING_KEYS.contains(&change.key))
        .collect();
    let saved = set_buyer_fields(&state.engine, member.slug(), &added.name, &invoicing).await?;
    let view = admin::show_buyer(&state.engine, member.slug(), &added.name).await?;
    if let Err(rejected) = saved {
        errors.add_rejected(&rejected.rejected);
        let row = BuyerRow::new(&state, view);
        let mut page = FormPage::new(layout, Some(row), form, errors);
        page.problem = Some(format!(
            "Buyer {} was added, but the invoicing settings marked below were not saved.",
            added.name
        ));
        return Ok(page.rejected());
    }

    if added.shared_secret.is_none() {
        let page = AddedPage {
            order_url: state.config.url(&added.order_path),
            buyer: BuyerRow::new(&state, view),
            layout,
        };
        return Ok(page_with_layout(&page.layout.clone(), page));
    }
    let notice = format!(
        "Buyer {} added. Give Coupa the order URL shown below.",
        added.name
    );
    Ok(redirect_with_notice(&buyer_path(&added.name), &notice))
}

fn add_request(form: &BuyerForm, changes: &[BuyerChange]) -> AddBuyer {
    let value = |key: &str| {
        changes
            .iter()
            .find(|change| change.key == key)
            .map(|change| change.value.clone())
    };
    let auth = if form.wants_url_token() {
        BuyerAuth::UrlToken(new_token())
    } else {
        BuyerAuth::SharedSecret(form.secret.clone())
    };
    AddBuyer {
        from: value("from").unwrap_or_default(),
        to: value("to").unwrap_or_default(),
        sender: value("sender").unwrap_or_default(),
        auth,
        mode: form.mode.clone(),
        // Set with the other invoicing settings once the buyer exists.
        invoice_url: None,
        name: value("name"),
    }
}

/// The page shown once after adding a buyer without a shared secret: the
/// only page that shows its order URL's token in full.
#[derive(Template)]
#[template(path = "buyers_added.html")]
struct AddedPage {
    layout: Layout,
    buyer: BuyerRow,
    order_url: String,
}

/// `POST /settings/buyers/{name}`.
pub(super) async fn save(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(name): Path<String>,
    Form(form): Form<BuyerForm>,
) -> Result<Response, PortalError> {
    let current = find_buyer(&state, &member, &name).await?;
    let stored = BuyerForm::from_view(&current);

    let layout = Layout::new(&member, &jar, "settings");
    let mut conflicts = FieldErrors::default();
    let Some(form) = form.merged_with(&stored, &mut conflicts) else {
        // Shows the stored values, not the post's, because without readable
        // shown values an edit and a stale value look the same.
        let row = BuyerRow::new(&state, current);
        let mut page = FormPage::new(layout, Some(row), stored.with_shown(), conflicts);
        page.problem = Some(
            "Nothing was saved: the form did not say which values it showed, so pobridge \
             cannot tell your changes from changes made since. Make your changes again here."
                .to_owned(),
        );
        return Ok(page.rejected());
    };
    let (changes, mut errors) = form.edit_changes(&current);
    errors.extend(conflicts);
    // Sent again, the page's values replace what is stored now.
    let form = BuyerForm {
        shown: stored.with_shown().shown,
        ..form
    };
    if !errors.is_empty() {
        let row = BuyerRow::new(&state, current);
        return Ok(FormPage::new(layout, Some(row), form, errors).rejected());
    }
    if changes.is_empty() {
        return Ok(redirect_with_notice(
            &buyer_path(&current.name),
            "Nothing changed.",
        ));
    }

    let outcome = set_buyer_fields(&state.engine, member.slug(), &current.name, &changes).await?;
    let changed = match outcome {
        Ok(changed) => changed,
        Err(rejected) => {
            errors.add_rejected(&rejected.rejected);
            let view = admin::show_buyer(&state.engine, member.slug(), &current.name).await?;
            // The fields saved just now are stored values for the next send.
            let form = BuyerForm {
                shown: BuyerForm::from_view(&view).with_shown().shown,
                ..form
            };
            let row = BuyerRow::new(&state, view);
            let mut page = FormPage::new(layout, Some(row), form, errors);
            if !rejected.saved.is_empty() {
                page.problem = Some(format!(
                    "Saved {}, but not the fields marked below.",
                    rejected.saved.join(", ")
                ));
            }
            return Ok(page.rejected());
        }
    };
    audit(
        &state,
        &member,
        "buyer.update",
        format!("changed buyer {}: {}", current.name, describe(&changes)),
    )
    .await?;

    let notice = format!(
        "Saved buyer {}: {} changed; {} waiting jobs released.",
        changed.buyer.name,
        changes.len(),
        changed.released_jobs
    );
    Ok(redirect_with_notice(
        &buyer_path(&changed.buyer.name),
        &notice,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_needs_both_parts() {
        assert_eq!(
            credential(" DUNS ", " 123 "),
            Ok(Some("DUNS:123".to_owned()))
        );
        assert_eq!(credential("", " "), Ok(None));
        assert!(credential("DUNS", "").unwrap_err().contains("both"));
        assert!(credential("Net:ID", "AN01").unwrap_err().contains("colon"));
    }

    #[test]
    fn blank_form_adds_only_own_fields() {
        let form = BuyerForm {
            from_domain: "NetworkID".to_owned(),
            from_identity: "BUYER-1".to_owned(),
            to_domain: "DUNS".to_owned(),
            to_identity: "123".to_owned(),
            sender_domain: "NetworkID".to_owned(),
            sender_identity: "BUYER-1".to_owned(),
            secret: "s3cret".to_owned(),
            ..BuyerForm::blank()
        };

        let (changes, errors) = form.add_changes();

        assert!(errors.is_empty(), "{errors:?}");
        let keys: Vec<&str> = changes.iter().map(|change| change.key).collect();
        assert_eq!(keys, ["from", "to", "sender", "mode", "secret"]);
    }

    #[test]
    fn missing_credentials_are_named() {
        let (_, errors) = BuyerForm::blank().add_changes();

        for id in ["from", "to", "sender"] {
            assert!(errors.get(id).is_some(), "{id}");
        }
    }

    #[test]
    fn tax_map_text_becomes_changes() {
        let stored: TaxMap = [
            ("T20".to_owned(), ("VAT".to_owned(), 20.into())),
            ("Z".to_owned(), ("VAT".to_owned(), 0.into())),
        ]
        .into();
        let mut changes = Vec::new();
        let mut errors = FieldErrors::default();

        tax_map_changes(
            "T20=VAT:20.0\nT5=GST:7.5\n\nbad line",
            &stored,
            &mut changes,
            &mut errors,
        );

        let values: Vec<&str> = changes.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["T5=GST:7.5", "Z=none"]);
        assert!(errors.get("tax_map").unwrap().contains("bad line"));
    }
}
