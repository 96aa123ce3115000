//! A test harness that runs pobridge for real on loopback: the web layer,
//! the engine and its worker, a store and the sandbox Brightpearl, each
//! bound to port 0. The store is a SQLite file in a temporary folder, or a
//! PostgreSQL database created for the test (see [`Backend`]).

pub mod bench;
pub mod browser;
pub mod captured_logs;
pub mod corpus;
pub mod invoicing;
pub mod portal_client;
pub mod waiting_order;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{
    api_base_from_domain, AccountSlug, Clock, Connection, ConnectionAuth, ConnectionStatus,
    SystemClock,
};
use pobridge_engine::worker::Worker;
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_sandbox::{Sandbox, SandboxConfig};
use pobridge_store::test_database::TestDatabase;
use pobridge_store::{Account, Buyer, BuyerMode, CredentialRef, NewBuyer, Store};

/// Account slug every harness starts with.
pub const ACCOUNT: &str = "acme";

/// One running pobridge with its sandbox Brightpearl.
pub struct TestApp {
    /// Base URL of pobridge, such as `http://127.0.0.1:41234`.
    pub base_url: String,
    pub sandbox: Sandbox,
    /// Base URL of the sandbox Brightpearl.
    pub sandbox_url: String,
    pub engine: Engine,
    pub worker: Worker,
    pub account: Account,
    /// The Brightpearl account code of this account in the sandbox.
    pub brightpearl_code: String,
    pub backend: Backend,
    /// The store's URL, `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    pub http: reqwest::Client,
    sqlite_file: PathBuf,
    _directory: tempfile::TempDir,
    /// Dropped last, which drops the PostgreSQL database.
    _postgres: Option<TestDatabase>,
}

/// The store backend a [`TestApp`] runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    #[default]
    Sqlite,
    /// A new database on the server that `PGTEST_DATABASE_URL` names,
    /// dropped with the [`TestApp`].
    Postgres,
}

/// Returns the default engine settings with private Coupa addresses allowed,
/// since every Coupa the tests post invoices to listens on loopback.
pub fn loopback_engine_config() -> EngineConfig {
    EngineConfig {
        coupa_private_addresses: pobridge_engine::PrivateAddresses::Allow,
        ..EngineConfig::default()
    }
}

/// Knobs of [`TestApp::start_with`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub sandbox: SandboxConfig,
    /// The engine settings. `None` uses [`loopback_engine_config`].
    pub engine: Option<EngineConfig>,
    /// Drive pobridge and the sandbox with this clock instead of the wall clock.
    pub clock: Option<pobridge_core::ManualClock>,
    /// The client's own budget per account, instead of the default 190.
    pub requests_per_minute: Option<u32>,
    /// Start the account without a Brightpearl connection or reference data,
    /// as a new account is before someone connects it in the portal.
    pub unconnected: bool,
    pub backend: Backend,
}

impl TestApp {
    /// Starts pobridge on a fresh SQLite file, with one account connected
    /// to its own sandbox Brightpearl account and its reference data loaded.
    pub async fn start() -> Result<Self> {
        Self::start_with(Options::default()).await
    }

    /// Starts pobridge like [`TestApp::start`], with `options`.
    ///
    /// Fails on [`Backend::Postgres`] when `PGTEST_DATABASE_URL` is unset:
    /// a test that runs on PostgreSQL checks [`postgres_server_or_skip`] first.
    pub async fn start_with(options: Options) -> Result<Self> {
        let directory = tempfile::tempdir()?;
        let sqlite_file = directory.path().join("pobridge.db");
        let postgres = match options.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let server = std::env::var(pobridge_store::test_database::SERVER_URL_VARIABLE)
                    .context("PGTEST_DATABASE_URL names no PostgreSQL server")?;
                Some(TestDatabase::create(&server).await)
            }
        };
        let database_url = match &postgres {
            Some(database) => database.url().to_owned(),
            None => format!("sqlite://{}", sqlite_file.display()),
        };
        let store = pobridge_store::open(&database_url).await?;
        let clock: Arc<dyn Clock> = match &options.clock {
            Some(manual) => Arc::new(manual.clone()),
            None => Arc::new(SystemClock),
        };

        let mut sandbox_config = options.sandbox.clone();
        let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sandbox_url = format!("http://{}", sandbox_listener.local_addr()?);
        sandbox_config.api_domain = sandbox_url.clone();
        let app_ref = sandbox_config.app_ref.clone();
        let sandbox = Sandbox::new(sandbox_config, clock.clone());
        serve(sandbox_listener, sandbox.router());

        let client_config = ClientConfig {
            token_url_template: format!("{sandbox_url}/token/{{account}}"),
            authorize_url_template: format!("{sandbox_url}/authorize/{{account}}"),
            app_ref,
            ..ClientConfig::default()
        };
        let client_config = ClientConfig {
            requests_per_minute: options
                .requests_per_minute
                .unwrap_or(client_config.requests_per_minute),
            ..client_config
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let clients = ClientPool::new(http.clone(), client_config, store.clone(), clock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address: SocketAddr = listener.local_addr()?;
        let mut engine_config = options
            .engine
            .clone()
            .unwrap_or_else(loopback_engine_config);
        engine_config
            .public_url
            .get_or_insert_with(|| format!("http://{address}"));
        let engine = Engine::new(store.clone(), clock.clone(), clients, engine_config);
        let worker = Worker::new(engine.clone(), "test-worker");

        serve(
            listener,
            pobridge_web::router_with(
                pobridge_web::AppState {
                    engine: engine.clone(),
                },
                pobridge_portal::router(pobridge_portal::PortalState::new(
                    engine.clone(),
                    pobridge_portal::PortalConfig::new(format!("http://{address}")),
                )),
            ),
        );

        let slug = AccountSlug::parse(ACCOUNT)?;
        let account = store
            .create_account(&slug, "ops@acme.example", clock.now())
            .await?;
        let brightpearl_code = "acmesandbox".to_owned();
        if !options.unconnected {
            let grant = sandbox.connect(&brightpearl_code);
            let connection = Connection {
                account_code: brightpearl_code.clone(),
                api_base: api_base_from_domain(&grant.api_domain),
                auth: ConnectionAuth::OAuth {
                    access_token: grant.access_token.clone(),
                    refresh_token: grant.refresh_token.clone(),
                    expires_at: clock.now() + chrono::Duration::seconds(grant.expires_in),
                },
                installation_instance_id: Some(grant.installation_instance_id.clone()),
                is_sandbox: true,
                status: ConnectionStatus::Connected,
                connected_at: clock.now(),
            };
            store.save_connection(account.id, &connection).await?;
            engine
                .refresh_reference(account.id)
                .await
                .context("refreshing sandbox reference data")?;
        }

        Ok(Self {
            base_url: format!("http://{address}"),
            sandbox,
            sandbox_url,
            engine,
            worker,
            account,
            brightpearl_code,
            backend: options.backend,
            database_url,
            http,
            sqlite_file,
            _directory: directory,
            _postgres: postgres,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.engine.store
    }

    /// Returns the SQLite database file, or `None` on PostgreSQL.
    pub fn sqlite_file(&self) -> Option<&Path> {
        (self.backend == Backend::Sqlite).then_some(self.sqlite_file.as_path())
    }

    /// Runs `sql`, a query that returns one integer, on the store's database
    /// past the store, on either backend.
    pub async fn query_count(&self, sql: &str) -> Result<i64> {
        let count = match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url).await?;
                let count: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await?;
                pool.close().await;
                count
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url).await?;
                let count: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await?;
                pool.close().await;
                count
            }
        };
        Ok(count)
    }

    /// Returns whether `needle` appears anywhere in the database: the
    /// bytes of the SQLite file and its write-ahead log, or every row of
    /// every PostgreSQL table as text, where `bytea` values show as hex.
    pub async fn database_contains(&self, needle: &str) -> Result<bool> {
        if let Some(file) = self.sqlite_file() {
            let path = file.display().to_string();
            for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
                let bytes = std::fs::read(&file).unwrap_or_default();
                if bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
                {
                    return Ok(true);
                }
            }
            return Ok(false);
        }

        let pool = sqlx::PgPool::connect(&self.database_url).await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(table_name) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&pool)
        .await?;
        let hex: String = needle.bytes().map(|byte| format!("{byte:02x}")).collect();
        let mut found = false;
        for table in tables {
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM {table} AS t \
                 WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0)"
            );
            found |= sqlx::query_scalar::<_, bool>(&sql)
                .bind(needle)
                .bind(&hex)
                .fetch_one(&pool)
                .await?;
        }
        pool.close().await;
        Ok(found)
    }

    /// Sets account settings as `pobridge settings SLUG set` would, failing on a rejected value.
    pub async fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let updated = pobridge_engine::settings::apply(
            &**self.store(),
            self.account.id,
            &self.account.settings,
            key,
            value,
        )
        .await?
        .map_err(|error| anyhow::anyhow!("{error}"))?;
        self.store()
            .save_settings(self.account.id, &updated)
            .await?;
        self.account = self.store().account(self.account.id).await?;
        Ok(())
    }

    /// Adds a buyer with these credentials, or returns the existing one of that name.
    pub async fn buyer(&self, new: NewBuyer) -> Result<Buyer> {
        if let Ok(buyer) = self.store().buyer_by_name(self.account.id, &new.name).await {
            return Ok(buyer);
        }
        Ok(self.engine.create_buyer(self.account.id, new).await?)
    }

    /// Posts a cXML body to the account's order URL and returns the HTTP
    /// status and body.
    pub async fn post_cxml(&self, body: Vec<u8>) -> Result<(u16, String)> {
        self.post_to(
            &format!("{}/cxml/{ACCOUNT}", self.base_url),
            "text/xml; charset=UTF-8",
            body,
        )
        .await
    }

    pub async fn post_to(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, String)> {
        let response = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    /// Runs the worker until no job is due, at most `max_rounds` batches.
    pub async fn drain(&self, max_rounds: usize) -> usize {
        let mut total = 0;
        for _ in 0..max_rounds {
            let ran = self.worker.run_once().await;
            if ran == 0 {
                break;
            }
            total += ran;
        }
        total
    }
}

/// Returns whether a test's PostgreSQL run should go ahead, printing that it
/// is skipped when `PGTEST_DATABASE_URL` is unset.
pub fn postgres_server_or_skip(test: &str) -> bool {
    pobridge_store::test_database::server_url_or_skip(test).is_some()
}

/// Turns each `async fn NAME(backend: Backend)` named into a module `NAME`
/// with the tests `NAME::sqlite` and `NAME::postgres`, so one body runs on
/// both stores. The PostgreSQL test prints that it is skipped and passes
/// when `PGTEST_DATABASE_URL` is unset. Each test runs on a runtime with
/// `worker_threads` threads, 2 unless given first as `threads = N;`.
#[macro_export]
macro_rules! on_each_backend {
    (threads = $threads:tt; $($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn sqlite() {
                super::$test($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn postgres() {
                if $crate::postgres_server_or_skip(concat!(module_path!(), "::postgres")) {
                    super::$test($crate::Backend::Postgres).await;
                }
            }
        }
    )+};
    ($($test:ident),+ $(,)?) => {
        $crate::on_each_backend!(threads = 2; $($test),+);
    };
}

/// Builds a buyer from a document's header credentials.
pub fn buyer_from_header(
    name: &str,
    header: &pobridge_cxml::Header,
    secret: &str,
    mode: BuyerMode,
) -> NewBuyer {
    let credential = |list: &[pobridge_cxml::Credential]| {
        let first = &list[0];
        CredentialRef {
            domain: first.domain.clone(),
            identity: first.identity.clone(),
        }
    };
    NewBuyer {
        name: name.to_owned(),
        from: credential(&header.from),
        to: credential(&header.to),
        sender: credential(&header.sender),
        shared_secret: Some(secret.to_owned()),
        url_token: None,
        mode,
        invoice_url: None,
    }
}

fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "test server stopped");
        }
    });
}

/// Adds one buyer per From identity of the corpus orders and returns each
/// document ready to post, with the buyer's SharedSecret added where the
/// document carries none. A buyer is in test mode when `all_test` is set or
/// any of its documents is a test document.
pub async fn add_corpus_buyers(app: &TestApp, all_test: bool) -> Result<Vec<(String, Vec<u8>)>> {
    use std::collections::BTreeMap;

    let mut buyers: BTreeMap<String, (Option<String>, BuyerMode, pobridge_cxml::Header)> =
        BTreeMap::new();
    let documents = corpus::order_documents();
    for (name, bytes) in &documents {
        let envelope = pobridge_cxml::read_envelope(bytes, &pobridge_cxml::Limits::default())
            .map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
        let header = envelope.header.context("corpus orders have a header")?;
        let test = all_test
            || matches!(
                envelope.body,
                pobridge_cxml::Body::OrderRequest {
                    deployment_test: true,
                    ..
                }
            );
        let secret = header.sender.iter().find_map(|credential| {
            credential
                .shared_secret
                .as_ref()
                .map(|secret| secret.expose().to_owned())
        });
        let entry = buyers.entry(header.from[0].identity.clone()).or_insert((
            None,
            BuyerMode::Production,
            header.clone(),
        ));
        if entry.0.is_none() {
            entry.0 = secret;
        }
        if test {
            entry.1 = BuyerMode::Test;
        }
    }

    let mut secrets = BTreeMap::new();
    for (from, (secret, mode, header)) in buyers {
        let secret = secret.unwrap_or_else(|| format!("test-secret-for-{}", from.len()));
        app.buyer(buyer_from_header(&from, &header, &secret, mode))
            .await?;
        secrets.insert(from, secret);
    }

    let mut prepared = Vec::new();
    for (name, bytes) in documents {
        let envelope = pobridge_cxml::read_envelope(&bytes, &pobridge_cxml::Limits::default())
            .map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
        let from = envelope.header.context("corpus orders have a header")?.from[0]
            .identity
            .clone();
        prepared.push((name, corpus::with_sender_secret(&bytes, &secrets[&from])));
    }
    Ok(prepared)
}

/// Maps every part of the corpus orders to one sandbox product that is not
/// stock-tracked, as `pobridge items map` does.
pub async fn map_corpus_parts(app: &TestApp) -> Result<()> {
    let product = app
        .store()
        .list_products(app.account.id, 1000, 0)
        .await?
        .into_iter()
        .find(|product| !product.stock_tracked && product.sku.is_some())
        .context("the sandbox has a product that is not stock-tracked")?;
    for (name, bytes) in corpus::order_documents() {
        let envelope = pobridge_cxml::read_envelope(&bytes, &pobridge_cxml::Limits::default())
            .map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
        let pobridge_cxml::Body::OrderRequest { order, .. } = envelope.body else {
            continue;
        };
        for item in order.items {
            let part = item.item_id.supplier_part_id.trim().to_owned();
            if part.is_empty() {
                continue;
            }
            let request = pobridge_engine::admin::MapItem {
                coupa_part_id: part,
                unit_of_measure: None,
                buyer: None,
                brightpearl: product.sku.clone().unwrap_or_default(),
                quantity_factor: None,
            };
            pobridge_engine::admin::map_item(&app.engine, ACCOUNT, &request).await?;
        }
    }
    Ok(())
}

/// Chooses the first channel and warehouse, the zero-rated tax code `Z` and
/// leaves shipping out, so a corpus order needs nothing else to sync.
pub async fn configure_defaults(app: &mut TestApp) -> Result<()> {
    let store = app.store().clone();
    let first_id = |data: Option<pobridge_store::ReferenceData>| -> Result<String> {
        let data = data.context("reference data is loaded")?;
        Ok(data.data[0]["id"]
            .as_i64()
            .context("reference items have ids")?
            .to_string())
    };
    let channel = first_id(
        store
            .reference_data(app.account.id, pobridge_store::ReferenceKind::Channels)
            .await?,
    )?;
    let warehouse = first_id(
        store
            .reference_data(app.account.id, pobridge_store::ReferenceKind::Warehouses)
            .await?,
    )?;
    app.set("channel_id", &channel).await?;
    app.set("warehouse_id", &warehouse).await?;
    app.set("default_tax_code", "Z").await?;
    app.set("shipping", "omit").await?;
    Ok(())
}

/// Keeps a PO's shipping charge as a free-text row on the first nominal code
/// of the account's reference data.
pub async fn ship_as_row(app: &mut TestApp) -> Result<()> {
    let nominal_codes = app
        .store()
        .reference_data(app.account.id, pobridge_store::ReferenceKind::NominalCodes)
        .await?
        .context("nominal codes are loaded")?;
    let first = nominal_codes.data[0]["code"]
        .as_str()
        .context("nominal codes have a code")?
        .to_owned();
    app.set("shipping", "row").await?;
    app.set("shipping_nominal_code", &first).await?;
    Ok(())
}
