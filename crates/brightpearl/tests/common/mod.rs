//! A scripted Brightpearl stand-in on 127.0.0.1:0 and a client wired to it.
//! Each test supplies a function from the recorded request to the reply,
//! usually built from a corpus capture or a fixture file.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pobridge_brightpearl::{BrightpearlClient, ClientConfig, Limiter, TokenSink};
use pobridge_core::{Connection, ConnectionAuth, ConnectionStatus, ManualClock};
use serde_json::Value;

pub const ACCOUNT: &str = "acme";

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    /// The raw query string, still percent-encoded.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// Decodes the query parameters.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let raw = self.query.as_deref().unwrap_or_default();
        url::form_urlencoded::parse(raw.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Decodes the form body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    pub fn form_value(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Returns the path after `/public-api/{account}/`.
    pub fn api_path(&self) -> &str {
        self.path
            .strip_prefix(&format!("/public-api/{ACCOUNT}/"))
            .unwrap_or(&self.path)
    }
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self::text(status, body.to_string())
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: None,
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: None,
        }
    }

    /// Builds a reply whose body is a file of the shared Brightpearl corpus.
    pub fn corpus(status: u16, name: &str) -> Self {
        Self::text(status, corpus_text(name))
    }

    /// Builds a reply whose body is a file of this crate's `tests/fixtures`.
    pub fn fixture(status: u16, name: &str) -> Self {
        Self::text(status, fixture_text(name))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn throttle(self, remaining: &str, next_period_ms: &str) -> Self {
        self.header("brightpearl-requests-remaining", remaining)
            .header("brightpearl-next-throttle-period", next_period_ms)
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

pub fn corpus_text(name: &str) -> String {
    let path = format!(
        "{}/../../../shared/corpus/brightpearl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

pub fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap()
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

struct ServerState {
    requests: Mutex<Vec<Recorded>>,
    handler: Box<Handler>,
}

/// The running stand-in.
pub struct MockServer {
    pub base: String,
    state: Arc<ServerState>,
}

impl MockServer {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let state = Arc::new(ServerState {
            requests: Mutex::new(Vec::new()),
            handler: Box::new(handler),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests whose path contains `fragment`.
    pub fn requests_to(&self, fragment: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|request| request.path.contains(fragment))
            .collect()
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    };
    state.requests.lock().unwrap().push(recorded.clone());
    let reply = (state.handler)(&recorded);
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }

    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

/// A counter for scripting "first this, then that" replies.
#[derive(Debug, Default, Clone)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Returns the number of earlier calls.
    pub fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A token sink that keeps every saved connection.
#[derive(Default)]
pub struct RecordingSink {
    pub saved: Mutex<Vec<Connection>>,
}

#[async_trait]
impl TokenSink for RecordingSink {
    async fn save(&self, connection: &Connection) -> Result<(), String> {
        self.saved.lock().unwrap().push(connection.clone());
        Ok(())
    }
}

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-06-03T12:00:00Z")
        .unwrap()
        .to_utc()
}

pub fn config(base: &str) -> ClientConfig {
    ClientConfig {
        app_ref: "pobridge-test".into(),
        dev_ref: Some("dev-test".into()),
        client_secret: Some("s3cret+/=".into()),
        authorize_url_template: format!("{base}/authorize/{{account}}"),
        token_url_template: format!("{base}/token/{{account}}"),
        ..ClientConfig::default()
    }
}

pub fn oauth_connection(base: &str) -> Connection {
    Connection {
        account_code: ACCOUNT.into(),
        api_base: base.into(),
        auth: ConnectionAuth::OAuth {
            access_token: "old-access".into(),
            refresh_token: "old-refresh".into(),
            expires_at: now() + chrono::Duration::days(3),
        },
        installation_instance_id: Some("13".into()),
        is_sandbox: false,
        status: ConnectionStatus::Connected,
        connected_at: now() - chrono::Duration::days(4),
    }
}

/// A client, its stand-in server and the parts a test inspects.
pub struct Harness {
    pub server: MockServer,
    pub client: BrightpearlClient,
    pub sink: Arc<RecordingSink>,
    pub clock: ManualClock,
    pub limiter: Arc<Limiter>,
}

impl Harness {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        Self::with(handler, |_| {}, |_| {}).await
    }

    /// Starts with a changed configuration or connection.
    pub async fn with(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        change_config: impl FnOnce(&mut ClientConfig),
        change_connection: impl FnOnce(&mut Connection),
    ) -> Self {
        let server = MockServer::start(handler).await;
        let mut config = config(&server.base);
        change_config(&mut config);
        let mut connection = oauth_connection(&server.base);
        change_connection(&mut connection);
        let sink = Arc::new(RecordingSink::default());
        let clock = ManualClock::new(now());
        let limiter = Arc::new(
            Limiter::new(config.requests_per_minute, config.throttle_reserve)
                .with_multi_message_cost(config.multi_message_cost),
        );
        let client = BrightpearlClient::new(
            reqwest::Client::new(),
            Arc::new(config),
            connection,
            limiter.clone(),
            sink.clone(),
            Arc::new(clock.clone()),
        );
        Self {
            server,
            client,
            sink,
            clock,
            limiter,
        }
    }

    /// API requests only, without token requests.
    pub fn api_requests(&self) -> Vec<Recorded> {
        self.server.requests_to("/public-api/")
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.server.requests_to("/token/")
    }
}
