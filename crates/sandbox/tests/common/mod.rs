//! Shared helpers: a sandbox on a loopback port with a manual clock, an
//! authorised client, and corpus access.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_sandbox::{Sandbox, SandboxConfig, TokenGrant};
use serde_json::Value;

pub const ACCOUNT: &str = "acmewidgets";

pub struct TestSandbox {
    pub sandbox: Sandbox,
    pub clock: ManualClock,
    pub base_url: String,
    pub grant: TokenGrant,
    pub http: reqwest::Client,
}

impl TestSandbox {
    pub async fn start(config: SandboxConfig) -> Self {
        // 10:00:05 UTC: five seconds into a calendar minute.
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 3, 10, 0, 5).unwrap());
        let sandbox = Sandbox::new(config, Arc::new(clock.clone()));
        let (base_url, _server) = sandbox.spawn_local().await;
        let grant = sandbox.connect(ACCOUNT);
        Self {
            sandbox,
            clock,
            base_url,
            grant,
            http: reqwest::Client::new(),
        }
    }

    pub async fn default() -> Self {
        Self::start(SandboxConfig::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/public-api/{ACCOUNT}/{path}", self.base_url)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.grant.access_token)
            .header("brightpearl-app-ref", "pobridge")
            .header("brightpearl-dev-ref", "pobridge-dev")
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        send(self.request(method, path).json(body)).await
    }
}

pub async fn send(builder: reqwest::RequestBuilder) -> (u16, Value) {
    let response = builder.send().await.expect("request reaches the sandbox");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body reads");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, body)
}

pub fn corpus(name: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/brightpearl/"
    );
    let text = std::fs::read_to_string(format!("{path}{name}")).expect("corpus file exists");
    serde_json::from_str(&text).expect("corpus file is JSON")
}

pub fn fixture(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let text = std::fs::read_to_string(format!("{path}{name}")).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Reduces a JSON value to its shape: object keys with their shapes, the first
/// element of arrays, and type names for leaves.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(_) => Value::from("number"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::from("null"),
    }
}

/// Builds a sales order for the seeded customer 200, written as the engine would.
pub fn sales_order_body(external_ref: &str, instance: &str) -> Value {
    let mut body = fixture("sales-order-post.json");
    body["externalRef"] = Value::from(external_ref);
    body["installedIntegrationInstanceId"] = Value::from(instance.parse::<u64>().unwrap());
    body
}
