//! Accounts, their settings and their Brightpearl connection.

use chrono::Duration;
use email_address::{EmailAddress, Options};
use pobridge_core::{
    api_base_from_domain, AccountSettings, AccountSlug, Connection, ConnectionAuth,
    ConnectionStatus, JobId, RowRule,
};
use pobridge_store::{Account, NewJob, StoreError};
use serde::Serialize;

use super::rows::describe_rule;
use super::{account, invalid, AdminError, MASKED_SECRET};
use crate::reference::RefreshSummary;
use crate::settings;
use crate::sync::SyncError;
use crate::worker::REFRESH_REFERENCE;
use crate::Engine;

/// Creates an account with default settings.
pub async fn create_account(
    engine: &Engine,
    slug: &str,
    email: &str,
) -> Result<Account, AdminError> {
    let parsed = AccountSlug::parse(slug)?;
    let email = parse_email(email)?;
    let now = engine.clock.now();
    match engine.store.create_account(&parsed, &email, now).await {
        Ok(account) => {
            tracing::info!(account.slug = %account.slug, tenant.id = %account.id, "account created");
            Ok(account)
        }
        Err(StoreError::Conflict { .. }) => Err(AdminError::AccountExists(slug.to_owned())),
        Err(error) => Err(error.into()),
    }
}

/// Maximum length of an e-mail address: SMTP's 256-octet path (RFC 5321,
/// section 4.5.3.1.3) less its angle brackets.
pub const MAX_EMAIL_LENGTH: usize = 254;

/// Checks an e-mail address with the `email_address` crate and returns it
/// as it is stored: trimmed, with an internationalized domain converted to
/// its ASCII form (IDNA), so `Jürgen@bücher.example` becomes
/// `Jürgen@xn--bcher-kva.example`. The domain is converted rather than
/// rejected because mail servers accept the ASCII form everywhere. The part
/// before the `@` is kept as written, at most 64 octets, and quoted forms,
/// IP address domains and display names are rejected. Deliverability is not
/// checked.
///
/// NOTE: a part before the `@` with non-ASCII letters is accepted, but only
/// a mail server with SMTPUTF8 support can deliver to it.
pub fn parse_email(email: &str) -> Result<String, AdminError> {
    let email = email.trim();
    let rejected = |problem: &str| {
        invalid(
            "--email",
            email,
            format!("an e-mail address such as ops@example.com, {problem}"),
        )
    };

    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(rejected("with an @ between the name and the domain"));
    };
    if local.starts_with('"') {
        return Err(rejected("without quotes"));
    }
    let domain = ascii_domain(domain).map_err(rejected)?;
    let address = format!("{local}@{domain}");
    let length = address.len();
    if length > MAX_EMAIL_LENGTH {
        return Err(rejected(&format!(
            "of at most {MAX_EMAIL_LENGTH} characters; this one has {length}"
        )));
    }

    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    EmailAddress::parse_with_options(&address, options)
        .map_err(|error| rejected(email_problem(&error)))?;
    Ok(address)
}

/// Checks an e-mail address as [`parse_email`] does and drops the result.
pub fn validate_email(email: &str) -> Result<(), AdminError> {
    parse_email(email).map(drop)
}

/// Converts a domain to its ASCII form with `url`'s host parser, which
/// applies IDNA and lowercases it. Returns the problem to show otherwise.
fn ascii_domain(domain: &str) -> Result<String, &'static str> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(label_ok) {
        return Err("whose domain has letters, digits and hyphens between single dots");
    }
    match url::Host::parse(domain) {
        Ok(url::Host::Domain(ascii)) => Ok(ascii),
        Ok(_) => Err("with a domain name after the @, not an IP address"),
        Err(_) => Err("whose domain is a valid domain name"),
    }
}

/// Words a problem found by `email_address` to follow "an e-mail address
/// such as ops@example.com, ".
fn email_problem(error: &email_address::Error) -> &'static str {
    use email_address::Error;
    match error {
        Error::LocalPartEmpty => "with a name before the @",
        Error::LocalPartTooLong => "with at most 64 characters before the @",
        Error::DomainTooLong => "whose domain has at most 254 characters",
        Error::SubDomainTooLong => "whose domain has at most 63 characters between dots",
        Error::DomainTooFew => "whose domain contains a dot, as in example.com",
        _ => {
            "with only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ \
             before the @, and single dots between them"
        }
    }
}

/// Returns an account's settings.
pub async fn show_settings(engine: &Engine, slug: &str) -> Result<AccountSettings, AdminError> {
    Ok(account(engine, slug).await?.settings)
}

/// Sets one setting, checked against the account's Brightpearl reference
/// data and, for the shipping settings, [`settings::check_shipping`], stores
/// it and returns the new settings.
pub async fn set_setting(
    engine: &Engine,
    slug: &str,
    key: &str,
    value: &str,
) -> Result<AccountSettings, AdminError> {
    let account = account(engine, slug).await?;
    let store = &*engine.store;
    let updated = settings::apply(store, account.id, &account.settings, key, value)
        .await?
        .map_err(|error| settings::name_account(error, &account.slug))?;
    settings::check_shipping(&updated, key, value)?;
    store.save_settings(account.id, &updated).await?;
    // Orders held for a missing or invalid setting try again with the new one.
    let released_jobs = store
        .release_waiting_jobs(account.id, engine.clock.now())
        .await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, setting = %key, released_jobs, "account setting changed");
    Ok(updated)
}

/// Flattens settings into `(key, value)` pairs using the keys that
/// [`set_setting`] takes; an unset optional value is `none`. The invoice row
/// rules are listed as `invoice_rows.N` in the words `pobridge rows` uses.
pub fn settings_entries(settings: &AccountSettings) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(settings) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, value) in map {
        if key == "invoice_rows" {
            entries.extend(row_entries(&settings.invoice_rows));
            continue;
        }
        match value {
            serde_json::Value::Object(fields) => {
                for (code, field_value) in fields {
                    entries.push((format!("{key}.{code}"), value_text(&field_value)));
                }
            }
            other => entries.push((key, value_text(&other))),
        }
    }
    entries
}

fn row_entries(rules: &[RowRule]) -> Vec<(String, String)> {
    if rules.is_empty() {
        return vec![("invoice_rows".to_owned(), "none".to_owned())];
    }
    rules
        .iter()
        .enumerate()
        .map(|(index, rule)| (format!("invoice_rows.{}", index + 1), describe_rule(rule)))
        .collect()
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "none".to_owned(),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The counts of what [`refresh_now`] pulled, and the number of waiting jobs
/// it released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    #[serde(flatten)]
    pub summary: RefreshSummary,
    pub released_jobs: u64,
}

/// Pulls the account's Brightpearl reference data and product index now,
/// then releases the account's waiting jobs, because an order held for a
/// tax code, a setting or a product that the refresh brought in can sync now.
pub async fn refresh_now(engine: &Engine, slug: &str) -> Result<Refreshed, AdminError> {
    let account = account(engine, slug).await?;
    let summary = match engine.refresh_reference(account.id).await {
        Ok(summary) => summary,
        Err(SyncError::Store(StoreError::NotFound { .. })) => {
            return Err(AdminError::NotConnected(slug.to_owned()))
        }
        Err(SyncError::Store(error)) => return Err(error.into()),
        Err(SyncError::Brightpearl(error)) => return Err(AdminError::Brightpearl(error)),
    };

    let released_jobs = engine
        .store
        .release_waiting_jobs(account.id, engine.clock.now())
        .await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, released_jobs, "reference data refreshed");
    Ok(Refreshed {
        summary,
        released_jobs,
    })
}

/// Queues a reference refresh for the running server's worker. While one is
/// queued, queueing again only makes it due now.
pub async fn queue_refresh(engine: &Engine, slug: &str) -> Result<JobId, AdminError> {
    let account = account(engine, slug).await?;
    let job = NewJob {
        account: account.id,
        kind: REFRESH_REFERENCE.to_owned(),
        key: REFRESH_REFERENCE.to_owned(),
        payload: serde_json::Value::Null,
        run_at: engine.clock.now(),
    };
    let id = engine.store.enqueue_job(&job).await?;
    engine.wake.notify_one();
    Ok(id)
}

/// The tokens of a completed OAuth authorization-code grant.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    pub installation_instance_id: String,
    /// Host of the account's API, or a full base URL for the sandbox.
    pub api_domain: String,
}

impl std::fmt::Debug for GrantedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantedTokens")
            .field("access_token", &MASKED_SECRET)
            .field("refresh_token", &MASKED_SECRET)
            .field("expires_in", &self.expires_in)
            .field("installation_instance_id", &self.installation_instance_id)
            .field("api_domain", &self.api_domain)
            .finish()
    }
}

/// Stores a connection to pobridge's own Brightpearl sandbox for the
/// account, as if its owner had completed the OAuth flow there, releases
/// jobs that were waiting for a connection and schedules invoicing.
pub async fn connect_sandbox(
    engine: &Engine,
    account: &Account,
    grant: &GrantedTokens,
) -> Result<Connection, AdminError> {
    let now = engine.clock.now();
    let connection = Connection {
        account_code: account.slug.to_string(),
        api_base: api_base_from_domain(&grant.api_domain),
        auth: ConnectionAuth::OAuth {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
            expires_at: now + Duration::seconds(grant.expires_in),
        },
        installation_instance_id: Some(grant.installation_instance_id.clone()),
        is_sandbox: true,
        status: ConnectionStatus::Connected,
        connected_at: now,
    };
    engine
        .store
        .save_connection(account.id, &connection)
        .await?;
    let released_jobs = engine.store.release_waiting_jobs(account.id, now).await?;
    engine.schedule_invoicing(account.id).await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, api_base = %connection.api_base, released_jobs, "account connected to the Brightpearl sandbox");
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shape_is_checked() {
        assert!(validate_email("ops@example.com").is_ok());
        for value in [
            "ops",
            "@example.com",
            "ops@example",
            "ops@.com",
            "o ps@example.com",
            "a@b@c.com",
            "ops@example..com",
            "ops@-example.com",
            "ops@ex%61mple.com",
            "ops@127.0.0.1",
            "\"ops\"@example.com",
            "Ops <ops@example.com>",
            "a..b@example.com",
        ] {
            assert!(validate_email(value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn markup_in_email_rejected() {
        let error = parse_email("<script>alert(1)</script>@x.example")
            .unwrap_err()
            .to_string();

        assert!(error.starts_with("--email: "), "{error}");
        assert!(error.contains("with only letters, digits"), "{error}");
    }

    #[test]
    fn email_length_limits() {
        let local_64 = "a".repeat(64);
        let local_65 = "a".repeat(65);
        let label = "d".repeat(60);
        let long_domain = format!("{label}.{label}.{label}.{label}.example");

        assert!(parse_email(&format!("{local_64}@example.com")).is_ok());
        let error = parse_email(&format!("{local_65}@example.com")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("at most 64 characters before the @"),
            "{error}"
        );
        let error = parse_email(&format!("{}@x.example", "a".repeat(300))).unwrap_err();
        assert!(error.to_string().contains("at most 254"), "{error}");
        let error = parse_email(&format!("{local_64}@{long_domain}")).unwrap_err();
        assert!(error.to_string().contains("this one has 316"), "{error}");
    }

    #[test]
    fn international_domain_becomes_ascii() {
        let stored = parse_email(" Jürgen@Bücher.example ").unwrap();

        assert_eq!(stored, "Jürgen@xn--bcher-kva.example");
    }

    #[test]
    fn settings_entries_use_setting_keys() {
        let mut settings = AccountSettings::default();
        settings
            .custom_fields
            .insert("PCF_SRC".to_owned(), serde_json::json!("coupa"));
        let entries = settings_entries(&settings);
        assert!(entries.contains(&("channel_id".to_owned(), "none".to_owned())));
        assert!(entries.contains(&("custom_fields.PCF_SRC".to_owned(), "coupa".to_owned())));
        assert!(entries.contains(&("retry_hours".to_owned(), "72".to_owned())));
        assert!(entries.contains(&("time_zone".to_owned(), "UTC".to_owned())));
        assert!(entries.contains(&("invoice_rows".to_owned(), "none".to_owned())));
    }

    #[test]
    fn settings_entries_list_each_row_rule() {
        let settings = AccountSettings {
            invoice_rows: vec![
                RowRule {
                    matcher: pobridge_core::RowMatcher::Sku("SHIP-1".to_owned()),
                    class: pobridge_core::RowClass::Shipping,
                },
                RowRule {
                    matcher: pobridge_core::RowMatcher::ProductId(77),
                    class: pobridge_core::RowClass::Skip,
                },
            ],
            ..AccountSettings::default()
        };

        let entries = settings_entries(&settings);

        let rows: Vec<_> = entries
            .iter()
            .filter(|(key, _)| key.starts_with("invoice_rows"))
            .collect();
        assert_eq!(
            rows,
            [
                &(
                    "invoice_rows.1".to_owned(),
                    "sku SHIP-1 -> shipping".to_owned()
                ),
                &("invoice_rows.2".to_owned(), "product 77 -> skip".to_owned()),
            ]
        );
    }
}
