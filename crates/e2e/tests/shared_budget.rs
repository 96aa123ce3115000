//! Two pobridge instances on one PostgreSQL database share each account's
//! Brightpearl request budget: together they never send more than
//! `requests_per_minute` in any sliding window, as the sandbox counts the
//! requests it receives.
//!
//! Each instance has its own store handle (with its own connection pool),
//! client pool, limiter and worker, as two `pobridge serve` processes would.
//! Only the database and the sandbox are shared. The window is shortened to a
//! few seconds so that the budget binds many times within the test.
//!
//! Skipped, with a message, when `PGTEST_DATABASE_URL` is unset.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pobridge_brightpearl::ClientConfig;
use pobridge_core::{
    api_base_from_domain, AccountId, AccountSlug, Clock, Connection, ConnectionAuth,
    ConnectionStatus, SystemClock,
};
use pobridge_engine::intake::IntakeRequest;
use pobridge_engine::worker::Worker;
use pobridge_engine::{ClientPool, Engine, EngineConfig};
use pobridge_sandbox::{Sandbox, SandboxConfig};
use pobridge_store::{
    BuyerMode, CredentialRef, NewBuyer, PoFilter, PoStatus, ReferenceKind, Store,
};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection as _};

/// Requests both instances together may send in any window.
const LIMIT: u32 = 10;
/// The window `LIMIT` counts in, in place of a minute.
const WINDOW: Duration = Duration::from_secs(3);
const ORDERS: usize = 40;
const ORDER: &str = include_str!("fixtures/order-widgets.xml");

/// A database created for this test and dropped by [`TestDatabase::drop_database`].
struct TestDatabase {
    server: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create(server_url: &str) -> Self {
        let server = PgConnectOptions::from_str(server_url)
            .unwrap_or_else(|error| panic!("PGTEST_DATABASE_URL {server_url:?}: {error}"));
        let mut admin = PgConnection::connect_with(&server)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {server_url}: {error}"));
        let name: String = sqlx::query_scalar(
            "SELECT 'pobridge_budget_' || replace(gen_random_uuid()::text, '-', '')",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        let create = format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'");
        sqlx::query(&create).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        let url = server.clone().database(&name).to_url_lossy().to_string();
        Self { server, name, url }
    }

    async fn drop_database(self) {
        let mut admin = PgConnection::connect_with(&self.server).await.unwrap();
        let drop = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        sqlx::query(&drop).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
    }
}

/// One pobridge instance: its own store handle, clients and worker.
struct Instance {
    engine: Engine,
    worker: Worker,
}

impl Instance {
    async fn start(database_url: &str, config: &ClientConfig, name: &str) -> Self {
        let store = pobridge_store::open(database_url).await.unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let clients = ClientPool::new(
            reqwest::Client::new(),
            config.clone(),
            store.clone(),
            clock.clone(),
        );
        let engine = Engine::new(store, clock, clients, EngineConfig::default());
        let worker = Worker::new(engine.clone(), name);
        Self { engine, worker }
    }

    /// Runs jobs until `expected` purchase orders are synced.
    async fn drain_until_synced(&self, account: AccountId, expected: usize, deadline: Instant) {
        loop {
            let ran = self.worker.run_once().await;
            if ran > 0 {
                continue;
            }
            if synced_orders(self.engine.store.as_ref(), account).await == expected {
                return;
            }
            if Instant::now() >= deadline {
                let unsynced = self.unsynced(account).await;
                panic!("orders still unsynced at the deadline: {unsynced}");
            }
            // The other instance has claimed the remaining jobs, so look again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Instance {
    /// Describes the orders that are not synced, for a failure message.
    async fn unsynced(&self, account: AccountId) -> String {
        let orders = self
            .engine
            .store
            .list_purchase_orders(account, &PoFilter::default())
            .await
            .unwrap();
        let unsynced: Vec<String> = orders
            .iter()
            .filter(|po| po.status != PoStatus::Synced)
            .map(|po| format!("{} {:?} {:?}", po.number, po.status, po.reason))
            .collect();
        format!(
            "{} of {}: {}",
            unsynced.len(),
            orders.len(),
            unsynced.join("; ")
        )
    }
}

async fn synced_orders(store: &dyn Store, account: AccountId) -> usize {
    store
        .list_purchase_orders(account, &PoFilter::default())
        .await
        .unwrap()
        .iter()
        .filter(|po| po.status == PoStatus::Synced)
        .count()
}

async fn start_sandbox() -> (Sandbox, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = SandboxConfig {
        api_domain: url.clone(),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::new(config, Arc::new(SystemClock));
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (sandbox, url)
}

/// Creates the account, connects it to its sandbox account, loads the
/// reference data, and sets what a sales order needs.
async fn prepare_account(instance: &Instance, sandbox: &Sandbox, code: &str) -> AccountId {
    let store = instance.engine.store.clone();
    let clock = instance.engine.clock.clone();
    let slug = AccountSlug::parse("acme").unwrap();
    let account = store
        .create_account(&slug, "ops@acme.example", clock.now())
        .await
        .unwrap();
    let grant = sandbox.connect(code);
    let connection = Connection {
        account_code: code.to_owned(),
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
    store
        .save_connection(account.id, &connection)
        .await
        .unwrap();
    instance
        .engine
        .refresh_reference(account.id)
        .await
        .expect("reference data loads");

    let mut settings = account.settings.clone();
    let channel = first_reference_id(store.as_ref(), account.id, ReferenceKind::Channels).await;
    let warehouse = first_reference_id(store.as_ref(), account.id, ReferenceKind::Warehouses).await;
    for (key, value) in [
        ("channel_id", channel.as_str()),
        ("warehouse_id", warehouse.as_str()),
        ("default_tax_code", "Z"),
        ("shipping", "omit"),
    ] {
        settings =
            pobridge_engine::settings::apply(store.as_ref(), account.id, &settings, key, value)
                .await
                .unwrap()
                .unwrap_or_else(|error| panic!("setting {key}: {error}"));
    }
    store.save_settings(account.id, &settings).await.unwrap();

    let credential = |domain: &str, identity: &str| CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    };
    let buyer = NewBuyer {
        name: "Widgets buyer".to_owned(),
        from: credential("NetworkID", "BUYER-1"),
        to: credential("DUNS", "123456789"),
        sender: credential("NetworkID", "BUYER-1"),
        shared_secret: Some("widgets-s3cret".to_owned()),
        url_token: None,
        mode: BuyerMode::Production,
        invoice_url: None,
    };
    instance
        .engine
        .create_buyer(account.id, buyer)
        .await
        .unwrap();
    account.id
}

async fn first_reference_id(store: &dyn Store, account: AccountId, kind: ReferenceKind) -> String {
    let data = store.reference_data(account, kind).await.unwrap().unwrap();
    data.data[0]["id"].as_i64().unwrap().to_string()
}

/// Posts the purchase orders numbered `range` through the first instance.
async fn receive_orders(instance: &Instance, range: std::ops::Range<usize>) {
    for index in range {
        let body = ORDER
            .replace("PO-1001", &format!("PO-B{index:03}"))
            .replace(
                "1710000000.000001@buyer.example",
                &format!("budget-{index}@buyer.example"),
            );
        let reply = instance
            .engine
            .receive_order(IntakeRequest {
                account: "acme".to_owned(),
                url_token: None,
                content_type: Some("text/xml; charset=UTF-8".to_owned()),
                body: body.into(),
            })
            .await;
        assert_eq!(reply.status, 200, "order {index}: {}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_keep_the_budget_together() {
    let Ok(server_url) = std::env::var("PGTEST_DATABASE_URL") else {
        eprintln!(
            "skipped two_instances_keep_the_budget_together: PGTEST_DATABASE_URL is not set. \
             Set it to a PostgreSQL 15 or later server whose user may create databases, such \
             as postgres://postgres@127.0.0.1:5432/postgres, to run it."
        );
        return;
    };
    let database = TestDatabase::create(&server_url).await;
    let outcome = tokio::spawn(run_two_instances(database.url.clone())).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn run_two_instances(database_url: String) {
    let (sandbox, sandbox_url) = start_sandbox().await;
    let config = ClientConfig {
        token_url_template: format!("{sandbox_url}/token/{{account}}"),
        authorize_url_template: format!("{sandbox_url}/authorize/{{account}}"),
        app_ref: SandboxConfig::default().app_ref,
        requests_per_minute: LIMIT,
        requests_window: WINDOW,
        ..ClientConfig::default()
    };
    let first = Instance::start(&database_url, &config, "first").await;
    let second = Instance::start(&database_url, &config, "second").await;
    let code = "acmebudget";
    let account = prepare_account(&first, &sandbox, code).await;
    let deadline = Instant::now() + Duration::from_secs(100);
    // The first order creates the customer's contact. Two instances syncing
    // a new company at once could each create one (a known limitation), and
    // the orders would then wait for someone to choose between them.
    receive_orders(&first, 0..1).await;
    first.drain_until_synced(account, 1, deadline).await;
    receive_orders(&first, 1..ORDERS).await;

    tokio::join!(
        first.drain_until_synced(account, ORDERS, deadline),
        second.drain_until_synced(account, ORDERS, deadline),
    );

    let log = sandbox.request_log(code);
    let busiest = sandbox.requests_in_any_window(code, WINDOW);
    assert!(
        busiest <= LIMIT,
        "{busiest} requests in one {WINDOW:?} window, budget {LIMIT}; {} in all",
        log.len()
    );
    assert!(
        log.len() > 3 * LIMIT as usize,
        "the work needed several windows ({} requests)",
        log.len()
    );
    let sent_by_first = first.engine.clients.requests_sent(account);
    let sent_by_second = second.engine.clients.requests_sent(account);
    assert!(sent_by_first > 0, "the first instance sent requests");
    assert!(sent_by_second > 0, "the second instance sent requests");
    assert_eq!(
        sent_by_first + sent_by_second,
        log.len() as u64,
        "every request went through one of the limiters"
    );
    assert_eq!(
        sandbox.sales_orders(code).len(),
        ORDERS,
        "one sales order per PO"
    );
}
