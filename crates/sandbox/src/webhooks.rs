//! Webhook subscriptions (GET, POST, DELETE with Brightpearl's checks) and
//! delivery of the events orders and goods-out notes raise.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::account::IdCounters;
use crate::envelope::{code, parse_json_body, ApiError, Reply};
use crate::resources::{id_segment, parse_ids, ApiRequest, Ctx};
use crate::Sandbox;

/// The Brightpearl version deliveries report in `${brightpearl-version}`.
const BRIGHTPEARL_VERSION: &str = "5.0.0-sandbox";

/// Waits before each retry of a failed delivery.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
];

/// Resources and the lifecycles each can be subscribed to.
// NOTE: the catalogue of subscribable events is a guess from the docs and
// integrators' reports; Brightpearl changes it over time.
const EVENTS: [(&str, &[&str]); 7] = [
    ("order", &["modified"]),
    ("sales-order", &["created"]),
    ("goods-out-note", &["created", "modified", "destroyed"]),
    ("goods-in-note", &["created", "modified", "destroyed"]),
    ("product", &["created", "modified", "destroyed"]),
    ("sales-credit", &["created"]),
    ("purchase-order", &["created"]),
];

const REQUIRED_VARIABLES: [&str; 3] = ["${lifecycle-event}", "${account-code}", "${resource-type}"];

/// A webhook subscription as GET returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Webhook {
    #[serde(default)]
    pub id: u64,
    pub subscribe_to: String,
    pub http_method: String,
    pub uri_template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default)]
    pub id_set_accepted: bool,
    #[serde(default)]
    pub quality_of_service: u8,
}

/// An event raised by a write, such as `order.modified.order-status`.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub full_event: String,
    pub id: u64,
    pub raised_on: DateTime<Utc>,
}

impl Event {
    pub fn new(full_event: &str, id: u64, raised_on: DateTime<Utc>) -> Self {
        Self {
            full_event: full_event.to_owned(),
            id,
            raised_on,
        }
    }

    fn matches(&self, subscribe_to: &str) -> bool {
        self.full_event == subscribe_to || self.full_event.starts_with(&format!("{subscribe_to}."))
    }
}

/// Serves `integration-service` calls.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    request: &ApiRequest<'_>,
    rest: &[&str],
) -> Option<Reply> {
    if rest.first() != Some(&"webhook") {
        return None;
    }
    let segment = id_segment(rest.get(1..).unwrap_or_default());
    Some(match request.method {
        Method::GET => get(ctx, segment),
        Method::POST if segment.is_empty() => post(ctx, request),
        Method::DELETE => delete(ctx, segment),
        _ => return None,
    })
}

fn get(ctx: &Ctx<'_>, segment: &str) -> Reply {
    let ids = match parse_ids(segment, "get-webhook") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let found: Vec<Value> = ctx
        .account
        .webhooks
        .values()
        .filter(|w| ids.contains(w.id))
        .map(|w| json!(w))
        .collect();
    if found.is_empty() && !segment.is_empty() {
        return Reply::not_found(
            format!("No webhooks available in ID Set {segment}"),
            "get-webhook",
        );
    }
    Reply::ok(json!(found), "get-webhook")
}

fn delete(ctx: &mut Ctx<'_>, segment: &str) -> Reply {
    match segment
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.account.webhooks.remove(&id))
    {
        Some(_) => Reply::ok_raw(json!({}), "webhook-delete"),
        None => Reply::not_found(format!("Cannot find webhook: {segment}"), "delete-webhook"),
    }
}

fn post(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let body = match parse_json_body(request.body, "post-webhook") {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut webhook: Webhook = match serde_json::from_value(body) {
        Ok(webhook) => webhook,
        Err(e) => {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                code::WEBHOOK_INVALID,
                format!("Invalid webhook: {e}"),
                "post-webhook",
            );
        }
    };
    let errors = validate(&webhook);
    if !errors.is_empty() {
        return Reply::bad_request(errors, "post-webhook");
    }
    webhook.id = IdCounters::next(&mut ctx.account.ids.webhook);
    let id = webhook.id;
    ctx.account.webhooks.insert(id, webhook);
    Reply::ok(json!(id), "post-webhook")
}

/// Validates a subscription as captured: unknown resource `INTC-064` (alone), otherwise one
/// `INTC-057` per missing template variable and `INTC-062` for a lifecycle
/// the resource does not offer.
fn validate(webhook: &Webhook) -> Vec<ApiError> {
    let mut parts = webhook.subscribe_to.splitn(3, '.');
    let resource = parts.next().unwrap_or_default();
    let lifecycle = parts.next();
    let Some((_, lifecycles)) = EVENTS.iter().find(|(name, _)| *name == resource) else {
        return vec![ApiError::new(
            code::WEBHOOK_EVENT_INVALID,
            format!(
                "{} either does not exist or cannot be subscribed too",
                webhook.subscribe_to
            ),
        )];
    };
    let mut errors = Vec::new();
    let method = webhook.http_method.to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE") {
        errors.push(ApiError::new(
            code::WEBHOOK_INVALID,
            format!(
                "httpMethod {:?} must be GET, POST, PUT or DELETE",
                webhook.http_method
            ),
        ));
    }
    let carries_body = matches!(method.as_str(), "POST" | "PUT");
    let body = if carries_body {
        webhook.body_template.as_deref().unwrap_or_default()
    } else {
        ""
    };
    for variable in REQUIRED_VARIABLES {
        if !webhook.uri_template.contains(variable) && !body.contains(variable) {
            errors.push(ApiError::new(
                code::WEBHOOK_TEMPLATE_VARIABLE,
                format!("templateUri OR templateBody (for POST/PUT) must contatin the template variable {variable}"),
            ));
        }
    }
    if let Some(lifecycle) = lifecycle {
        if !lifecycles.contains(&lifecycle) {
            errors.push(ApiError::new(
                code::WEBHOOK_LIFECYCLE_INVALID,
                format!("{lifecycle} is not a valid lifecycle"),
            ));
        }
    }
    if carries_body && webhook.content_type.as_deref().is_none_or(str::is_empty) {
        errors.push(ApiError::new(
            code::WEBHOOK_INVALID,
            "contentType is required for POST and PUT webhooks",
        ));
    }
    errors
}

/// One rendered delivery.
#[derive(Debug, Clone)]
struct Delivery {
    method: reqwest::Method,
    url: String,
    body: Option<String>,
    content_type: Option<String>,
    quality_of_service: u8,
}

fn render(template: &str, account: &str, event: &Event, ids: &str) -> String {
    let mut parts = event.full_event.splitn(2, '.');
    let resource = parts.next().unwrap_or_default();
    let lifecycle = event.full_event.split('.').nth(1).unwrap_or_default();
    template
        .replace("${account-code}", account)
        .replace("${resource-type}", resource)
        .replace("${resource-id}", ids)
        .replace("${lifecycle-event}", lifecycle)
        .replace("${full-event}", &event.full_event)
        .replace("${resource-specifier}", &event.full_event)
        .replace(
            "${raised-on}",
            &event
                .raised_on
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
        .replace("${brightpearl-version}", BRIGHTPEARL_VERSION)
}

impl Sandbox {
    /// Sends the deliveries for `events` in the background, retrying as the
    /// subscription's quality of service requires.
    pub(crate) fn deliver_webhooks(&self, account: &str, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let deliveries: Vec<Delivery> = {
            let state = self.lock();
            let Some(stored) = state.accounts.get(account) else {
                return;
            };
            stored
                .webhooks
                .values()
                .flat_map(|hook| {
                    events
                        .iter()
                        .filter(|e| e.matches(&hook.subscribe_to))
                        .map(move |event| {
                            let ids = event.id.to_string();
                            let carries_body = matches!(
                                hook.http_method.to_ascii_uppercase().as_str(),
                                "POST" | "PUT"
                            );
                            Delivery {
                                method: reqwest::Method::from_bytes(
                                    hook.http_method.to_ascii_uppercase().as_bytes(),
                                )
                                .unwrap_or(reqwest::Method::POST),
                                url: render(&hook.uri_template, account, event, &ids),
                                body: hook
                                    .body_template
                                    .as_deref()
                                    .filter(|_| carries_body)
                                    .map(|b| render(b, account, event, &ids)),
                                content_type: hook.content_type.clone(),
                                quality_of_service: hook.quality_of_service,
                            }
                        })
                })
                .collect()
        };
        for delivery in deliveries {
            let client = self.http().clone();
            tokio::spawn(send_with_retries(client, delivery));
        }
    }
}

async fn send_with_retries(client: reqwest::Client, delivery: Delivery) {
    for attempt in 0..=RETRY_DELAYS.len() {
        let mut request = client
            .request(delivery.method.clone(), &delivery.url)
            .timeout(Duration::from_secs(10));
        if let Some(body) = &delivery.body {
            request = request.body(body.clone());
        }
        if let Some(content_type) = &delivery.content_type {
            request = request.header("content-type", content_type);
        }
        let outcome = request.send().await;
        let retry = match &outcome {
            Ok(response) if response.status().is_success() => return,
            Ok(response) if delivery.quality_of_service == 0 => {
                response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
            }
            Ok(response) => !response.status().is_client_error(),
            Err(_) => delivery.quality_of_service > 0,
        };
        tracing::warn!(url = %delivery.url, attempt, retry, "sandbox webhook delivery failed");
        if !retry {
            return;
        }
        if let Some(delay) = RETRY_DELAYS.get(attempt) {
            tokio::time::sleep(*delay).await;
        }
    }
}
