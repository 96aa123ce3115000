//! Connecting an account to its Brightpearl through the OAuth
//! authorization-code grant, and how far the pull of its reference data
//! has got.
//!
//! The portal starts the grant with [`authorize_url`], exchanges the code
//! Brightpearl sends back with [`exchange_code`] and stores the result with
//! [`finish_connection`], which also queues the first reference-data pull.

use chrono::{DateTime, Utc};
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{AccountId, Connection, JobId};
use pobridge_store::{Account, JobStatus, ReferenceKind};
use serde::Serialize;

use super::{invalid, queue_refresh, AdminError};
use crate::worker::REFRESH_REFERENCE;
use crate::Engine;

/// The text in the configured authorize and token URL templates that is
/// replaced by the data centre's code, like `{account}` by the account code.
pub const DATA_CENTRE_PLACEHOLDER: &str = "{datacentre}";

/// Maximum length of an account code, in characters. Brightpearl documents
/// no limit, and the codes seen are under 20 characters.
pub const MAX_ACCOUNT_CODE_CHARS: usize = 64;

/// Products read from the store per query when counting the product index.
const PRODUCT_PAGE: i64 = 1000;

/// A Brightpearl data centre that a connection can start at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataCentre {
    /// The short region code of the host `{code}.brightpearlconnect.com`.
    pub code: &'static str,
    pub name: &'static str,
}

/// The data centres offered when connecting.
///
/// NOTE: these are the two region codes seen in Brightpearl's documentation
/// and public client libraries. An account hosted elsewhere cannot be
/// chosen until its code is added here.
pub const DATA_CENTRES: [DataCentre; 2] = [
    DataCentre {
        code: "euw1",
        name: "Europe (euw1)",
    },
    DataCentre {
        code: "use1",
        name: "United States east (use1)",
    },
];

/// Checks an account code as a person types it: the short code in the
/// address of their Brightpearl screens. Returns it without surrounding
/// white space.
///
/// NOTE: Brightpearl does not document which characters a code may hold.
/// Every code seen is letters and digits, so those plus `-` and `_` pass.
pub fn parse_account_code(value: &str) -> Result<String, AdminError> {
    let code = value.trim();
    let expected = "the account code from the address of your Brightpearl screens, \
                    letters and digits only, such as acmeltd";
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if code.is_empty() || code.chars().count() > MAX_ACCOUNT_CODE_CHARS {
        return Err(invalid("account code", value, expected));
    }
    if !code.chars().all(allowed) {
        return Err(invalid("account code", value, expected));
    }
    Ok(code.to_owned())
}

/// Finds one of [`DATA_CENTRES`] by its code.
pub fn parse_data_centre(value: &str) -> Result<DataCentre, AdminError> {
    let code = value.trim();
    DATA_CENTRES
        .iter()
        .find(|centre| centre.code.eq_ignore_ascii_case(code))
        .copied()
        .ok_or_else(|| {
            let known: Vec<&str> = DATA_CENTRES.iter().map(|centre| centre.code).collect();
            invalid("data centre", value, format!("one of {}", known.join(", ")))
        })
}

/// Returns the client configuration with `{datacentre}` in the OAuth URL
/// templates replaced by `data_centre`. Templates without it stay unchanged.
///
/// NOTE: the data centre is not stored with the connection, so a token
/// refresh uses the configured template as it is. A token URL template that
/// names `{datacentre}` therefore works for the first grant only; storing the
/// data centre in `Connection` would fix that.
pub fn oauth_config(base: &ClientConfig, data_centre: &str) -> ClientConfig {
    ClientConfig {
        authorize_url_template: base
            .authorize_url_template
            .replace(DATA_CENTRE_PLACEHOLDER, data_centre),
        token_url_template: base
            .token_url_template
            .replace(DATA_CENTRE_PLACEHOLDER, data_centre),
        ..base.clone()
    }
}

/// Builds the address that sends a person to Brightpearl to approve
/// pobridge for `account_code`. Brightpearl sends them back to
/// `redirect_uri` with `state` and a code, or with an error.
pub fn authorize_url(
    engine: &Engine,
    account_code: &str,
    data_centre: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let config = oauth_config(engine.clients.config(), data_centre);
    pobridge_brightpearl::authorize_url(&config, account_code, redirect_uri, state)
}

/// Exchanges the code Brightpearl sent back for tokens. `redirect_uri` must
/// be the one [`authorize_url`] was given. Nothing is stored.
pub async fn exchange_code(
    engine: &Engine,
    account_code: &str,
    data_centre: &str,
    code: &str,
    redirect_uri: &str,
) -> Result<Connection, AdminError> {
    let config = oauth_config(engine.clients.config(), data_centre);
    pobridge_brightpearl::exchange_code(
        engine.clients.http(),
        &config,
        account_code,
        code,
        redirect_uri,
        &*engine.clock,
    )
    .await
    .map_err(AdminError::Brightpearl)
}

/// The result of [`finish_connection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedConnection {
    pub connection: Connection,
    /// Jobs that waited for a connection and run again now.
    pub released_jobs: u64,
    /// The queued pull of the account's reference data.
    pub refresh_job: JobId,
}

/// Stores a new connection, replacing any earlier one, releases the jobs
/// that waited for it, schedules invoice polling and queues the pull of the
/// account's reference data.
pub async fn finish_connection(
    engine: &Engine,
    account: &Account,
    connection: &Connection,
) -> Result<FinishedConnection, AdminError> {
    let store = &engine.store;
    store.save_connection(account.id, connection).await?;

    let released_jobs = store
        .release_waiting_jobs(account.id, engine.clock.now())
        .await?;
    engine.schedule_invoicing(account.id).await?;
    let refresh_job = queue_refresh(engine, account.slug.as_str()).await?;

    tracing::info!(
        tenant.id = %account.id,
        api_base = %connection.api_base,
        released_jobs,
        "account connected to Brightpearl"
    );
    Ok(FinishedConnection {
        connection: connection.clone(),
        released_jobs,
        refresh_job,
    })
}

/// The latest reference-data pull of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshState {
    pub job: JobId,
    pub status: JobStatus,
    pub attempts: i32,
    /// When the job is due, or ran last.
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

impl RefreshState {
    /// Returns true while the pull is queued or running.
    pub fn in_progress(&self) -> bool {
        matches!(self.status, JobStatus::Queued | JobStatus::Running)
    }
}

/// One kind of reference data as stored: how many items and when they
/// were pulled; `None` before the first pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PulledKind {
    pub kind: ReferenceKind,
    pub label: &'static str,
    pub count: Option<usize>,
    pub fetched_at: Option<DateTime<Utc>>,
}

/// The account's stored Brightpearl data and the state of its latest pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceStatus {
    pub refresh: Option<RefreshState>,
    pub kinds: Vec<PulledKind>,
    /// Products in the local product index.
    pub products: usize,
    /// When the product index was last refreshed.
    pub products_fetched_at: Option<DateTime<Utc>>,
    /// Brightpearl contacts stored locally.
    pub contacts: usize,
}

impl ReferenceStatus {
    /// Returns true while a pull is queued or running.
    pub fn in_progress(&self) -> bool {
        self.refresh.as_ref().is_some_and(RefreshState::in_progress)
    }
}

/// The kinds of reference data a refresh pulls, with their names as shown.
pub const PULLED_KINDS: [(ReferenceKind, &str); 8] = [
    (ReferenceKind::Channels, "Channels"),
    (ReferenceKind::Warehouses, "Warehouses"),
    (ReferenceKind::PriceLists, "Price lists"),
    (ReferenceKind::OrderStatuses, "Order statuses"),
    (ReferenceKind::TaxCodes, "Tax codes"),
    (ReferenceKind::NominalCodes, "Nominal codes"),
    (ReferenceKind::ShippingMethods, "Shipping methods"),
    (ReferenceKind::OrderCustomFields, "Order custom fields"),
];

/// Reads the account's stored reference data counts and its latest refresh job.
pub async fn reference_status(
    engine: &Engine,
    account: AccountId,
) -> Result<ReferenceStatus, AdminError> {
    let store = &engine.store;
    let mut kinds = Vec::with_capacity(PULLED_KINDS.len());
    for (kind, label) in PULLED_KINDS {
        let stored = store.reference_data(account, kind).await?;
        kinds.push(PulledKind {
            kind,
            label,
            count: stored
                .as_ref()
                .map(|data| data.data.as_array().map_or(0, Vec::len)),
            fetched_at: stored.map(|data| data.fetched_at),
        });
    }
    let products_fetched_at = store
        .reference_data(account, ReferenceKind::ProductSyncCursor)
        .await?
        .map(|data| data.fetched_at);

    Ok(ReferenceStatus {
        refresh: latest_refresh(engine, account).await?,
        kinds,
        products: count_products(engine, account).await?,
        products_fetched_at,
        contacts: store.list_contacts(account).await?.len(),
    })
}

async fn latest_refresh(
    engine: &Engine,
    account: AccountId,
) -> Result<Option<RefreshState>, AdminError> {
    let jobs = engine.store.list_jobs(account).await?;
    let latest = jobs
        .into_iter()
        .filter(|job| job.kind == REFRESH_REFERENCE)
        .max_by_key(|job| job.id.0);
    Ok(latest.map(|job| RefreshState {
        job: job.id,
        status: job.status,
        attempts: job.attempts,
        run_at: job.run_at,
        last_error: job.last_error,
    }))
}

/// Counts the product index by reading it a page at a time.
///
/// NOTE: the store has no count query for products, so this reads every
/// product; a `count_products` in the store would make it one query.
async fn count_products(engine: &Engine, account: AccountId) -> Result<usize, AdminError> {
    let mut total = 0;
    loop {
        let offset = i64::try_from(total).unwrap_or(i64::MAX);
        let page = engine
            .store
            .list_products(account, PRODUCT_PAGE, offset)
            .await?;
        total += page.len();
        if (page.len() as i64) < PRODUCT_PAGE {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pobridge_core::{
        api_base_from_domain, Clock, ConnectionAuth, ConnectionStatus, ManualClock, SystemClock,
    };
    use pobridge_sandbox::{Sandbox, SandboxConfig};
    use pobridge_store::JobOutcome;

    use super::*;
    use crate::admin::create_account;
    use crate::reference::REFERENCE_READY_MAIL;
    use crate::{ClientPool, EngineConfig};

    #[test]
    fn account_codes_are_letters_and_digits() {
        assert_eq!(parse_account_code(" acmeltd ").unwrap(), "acmeltd");
        assert_eq!(parse_account_code("acme-2_uk").unwrap(), "acme-2_uk");
        let too_long = "a".repeat(MAX_ACCOUNT_CODE_CHARS + 1);
        for value in ["", "  ", "acme ltd", "acme/ltd", "acmé", too_long.as_str()] {
            let error = parse_account_code(value).unwrap_err().to_string();
            assert!(error.starts_with("account code: "), "{value:?}: {error}");
        }
    }

    #[test]
    fn data_centres_are_found_by_code() {
        assert_eq!(parse_data_centre("EUW1").unwrap().code, "euw1");
        assert_eq!(parse_data_centre("use1").unwrap().code, "use1");
        let error = parse_data_centre("mars1").unwrap_err().to_string();
        assert!(error.contains("euw1, use1"), "{error}");
    }

    #[test]
    fn oauth_config_fills_the_data_centre() {
        let base = ClientConfig {
            authorize_url_template: "https://{datacentre}.example/authorize/{account}".into(),
            token_url_template: "https://{datacentre}.example/oauth/token".into(),
            ..ClientConfig::default()
        };

        let filled = oauth_config(&base, "euw1");

        assert_eq!(
            filled.authorize_url_template,
            "https://euw1.example/authorize/{account}"
        );
        assert_eq!(
            filled.token_url_template,
            "https://euw1.example/oauth/token"
        );
        let plain = oauth_config(&ClientConfig::default(), "euw1");
        assert_eq!(
            plain.token_url_template,
            ClientConfig::default().token_url_template
        );
    }

    /// Builds an engine on an in-memory store whose Brightpearl is a sandbox
    /// served on a loopback port.
    async fn engine_with_sandbox() -> (Engine, Sandbox) {
        engine_with_sandbox_on(Arc::new(SystemClock)).await
    }

    /// [`engine_with_sandbox`] with both on `clock`.
    async fn engine_with_sandbox_on(clock: Arc<dyn Clock>) -> (Engine, Sandbox) {
        let sandbox = Sandbox::new(SandboxConfig::default(), clock.clone());
        let (sandbox_url, _server) = sandbox.spawn_local().await;

        let store = pobridge_store::open("sqlite::memory:").await.unwrap();
        let config = ClientConfig {
            app_ref: SandboxConfig::default().app_ref,
            authorize_url_template: format!("{sandbox_url}/authorize/{{account}}"),
            token_url_template: format!("{sandbox_url}/token/{{account}}"),
            ..ClientConfig::default()
        };
        let clients = ClientPool::new(reqwest::Client::new(), config, store.clone(), clock.clone());
        let engine = Engine::new(store, clock, clients, EngineConfig::default());
        (engine, sandbox)
    }

    fn sandbox_connection(sandbox: &Sandbox, code: &str, now: DateTime<Utc>) -> Connection {
        let grant = sandbox.connect(code);
        Connection {
            account_code: code.to_owned(),
            api_base: api_base_from_domain(&grant.api_domain),
            auth: ConnectionAuth::OAuth {
                access_token: grant.access_token,
                refresh_token: grant.refresh_token,
                expires_at: now + chrono::Duration::seconds(grant.expires_in),
            },
            installation_instance_id: Some(grant.installation_instance_id),
            is_sandbox: true,
            status: ConnectionStatus::Connected,
            connected_at: now,
        }
    }

    #[tokio::test]
    async fn finish_queues_pull_that_mails_users() {
        let (engine, sandbox) = engine_with_sandbox().await;
        let account = create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap();
        let now = engine.clock.now();
        for email in ["first@acme.example", "second@acme.example"] {
            let user = engine
                .store
                .create_user(account.id, email, now)
                .await
                .unwrap();
            engine
                .store
                .set_password_hash(account.id, user.id, "$argon2id$hash", now)
                .await
                .unwrap();
        }
        // An invited user who has not chosen a password gets no data mail.
        engine
            .store
            .create_user(account.id, "pending@acme.example", now)
            .await
            .unwrap();
        let connection = sandbox_connection(&sandbox, "acmesandbox", now);

        let finished = finish_connection(&engine, &account, &connection)
            .await
            .unwrap();

        let stored = engine.store.connection(account.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(&connection));
        let before = reference_status(&engine, account.id).await.unwrap();
        let refresh = before.refresh.clone().expect("a refresh job is queued");
        assert_eq!(refresh.job, finished.refresh_job);
        assert!(before.in_progress());
        assert_eq!(before.products, 0);
        assert!(before.kinds.iter().all(|kind| kind.count.is_none()));

        assert_eq!(run_due_refresh(&engine).await, JobOutcome::Done);

        let mail = engine.store.list_mail(Some(account.id), 10).await.unwrap();
        let mut recipients: Vec<&str> = mail
            .iter()
            .filter(|message| message.kind == REFERENCE_READY_MAIL)
            .map(|message| message.recipient.as_str())
            .collect();
        recipients.sort_unstable();
        assert_eq!(recipients, ["first@acme.example", "second@acme.example"]);
        assert_eq!(mail[0].subject, "Brightpearl data is ready");
        assert!(mail[0].body.contains("channels"), "{}", mail[0].body);

        let after = reference_status(&engine, account.id).await.unwrap();
        assert!(after.products > 0);
        let channels = &after.kinds[0];
        assert_eq!(channels.kind, ReferenceKind::Channels);
        assert!(channels.count.is_some_and(|count| count > 0));
        assert!(channels.fetched_at.is_some());
    }

    /// Claims the due jobs and runs the refresh job among them.
    async fn run_due_refresh(engine: &Engine) -> JobOutcome {
        let claimed = engine
            .store
            .claim_jobs(
                "test",
                engine.clock.now(),
                chrono::Duration::seconds(60),
                10,
            )
            .await
            .unwrap();
        let job = claimed
            .iter()
            .find(|job| job.kind == REFRESH_REFERENCE)
            .expect("a refresh job is due now");
        engine.run_refresh_job(job).await
    }

    /// Runs the account's due refresh job and returns how many data-ready
    /// messages the outbox then contains.
    async fn refresh_and_count_mail(engine: &Engine, account: AccountId) -> usize {
        assert_eq!(run_due_refresh(engine).await, JobOutcome::Done);
        let mail = engine.store.list_mail(Some(account), 50).await.unwrap();
        mail.iter()
            .filter(|message| message.kind == REFERENCE_READY_MAIL)
            .count()
    }

    #[tokio::test]
    async fn ready_mail_at_most_hourly() {
        let start = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z").unwrap();
        let clock = Arc::new(ManualClock::new(start.with_timezone(&Utc)));
        let (engine, sandbox) = engine_with_sandbox_on(clock.clone()).await;
        let account = create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap();
        let user = engine
            .store
            .create_user(account.id, "first@acme.example", clock.now())
            .await
            .unwrap();
        engine
            .store
            .set_password_hash(account.id, user.id, "$argon2id$hash", clock.now())
            .await
            .unwrap();
        let connection = sandbox_connection(&sandbox, "acmesandbox", clock.now());
        finish_connection(&engine, &account, &connection)
            .await
            .unwrap();

        let first = refresh_and_count_mail(&engine, account.id).await;
        clock.advance(chrono::Duration::minutes(30));
        queue_refresh(&engine, "acme").await.unwrap();
        let within_the_hour = refresh_and_count_mail(&engine, account.id).await;
        clock.advance(chrono::Duration::minutes(31));
        queue_refresh(&engine, "acme").await.unwrap();
        let after_the_hour = refresh_and_count_mail(&engine, account.id).await;

        assert_eq!(first, 1);
        assert_eq!(within_the_hour, 1);
        assert_eq!(after_the_hour, 2);
    }
}
