//! The HTTP front: routes, the gateway steps every API call passes
//! (URI length, account, quota, credentials, faults), and the headers on
//! every reply.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use bytes::Bytes;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::envelope::Reply;
use crate::faults::FaultPlan;
use crate::resources::{self, ApiRequest, Ctx};
use crate::throttle::QuotaState;
use crate::webhooks::Event;
use crate::{oauth, LoggedRequest, Sandbox};

/// Request URIs longer than this get 414, like the front end behind the
/// "414 Request-URI Too Long" replies integrators reported.
const MAX_URI_BYTES: usize = 8 * 1024;

/// The reconstructed body of a throttled reply; clients should look at the
/// status, not these words.
const THROTTLED_MESSAGE: &str = "Please wait before sending another request";

impl Sandbox {
    /// The sandbox's routes, all at the root so a binary can nest them.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/public-api/{account}/{*path}", any(api))
            .route("/2.0.0/{account}/{*path}", any(api))
            .route(
                "/authorize/{account}",
                get(oauth::authorize_page).post(oauth::authorize_decision),
            )
            .route("/token/{account}", post(oauth::token_with_account_in_path))
            .route("/oauth/token", post(oauth::token_with_account_in_form))
            .route(
                "/{account}/oauth/token",
                post(oauth::token_with_account_in_path),
            )
            .merge(crate::control::routes())
            .with_state(self.clone())
    }

    /// Serves the sandbox on 127.0.0.1 at a free port, for tests. Returns
    /// the base URL (`http://127.0.0.1:PORT`, no trailing slash) and the
    /// server task.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound, which leaves a test nothing to
    /// run against.
    pub async fn spawn_local(&self) -> (String, JoinHandle<()>) {
        #[allow(clippy::expect_used)]
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0 for the sandbox");
        #[allow(clippy::expect_used)]
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let base_url = format!("http://{address}");
        self.set_bound_base_url(&base_url);
        let router = self.router();
        let handle = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "sandbox server stopped");
            }
        });
        (base_url, handle)
    }
}

/// What the gateway decided for one API call, before any waiting.
struct Prepared {
    reply: Reply,
    quota: Option<QuotaState>,
    instance_id: Option<u64>,
    plan: FaultPlan,
    events: Vec<Event>,
}

async fn api(
    State(sandbox): State<Sandbox>,
    Path((account, path)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.to_string().len() > MAX_URI_BYTES {
        return (StatusCode::URI_TOO_LONG, "Request-URI Too Long").into_response();
    }

    let request = ApiRequest::new(&method, &path, uri.query(), &body);
    let prepared = sandbox.prepare(&account, &request, &headers, &uri);
    sandbox.deliver_webhooks(&account, prepared.events);

    let config = sandbox.config();
    let latency =
        config.latency + config.latency_per_row * prepared.reply.rows_written + prepared.plan.delay;
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    if prepared.plan.drop_connection {
        return dropped_connection();
    }
    into_response(prepared.reply, prepared.quota, prepared.instance_id)
}

impl Sandbox {
    fn prepare(
        &self,
        code: &str,
        request: &ApiRequest<'_>,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Prepared {
        let now = self.now();
        let config = self.config();
        let mut state = self.lock();
        let Some(account) = state.accounts.get_mut(code) else {
            // NOTE: the reply to an unknown account code was never captured.
            return Prepared {
                reply: Reply::not_found(format!("Account not found: {code}"), "api-proxy"),
                quota: None,
                instance_id: None,
                plan: FaultPlan::default(),
                events: Vec::new(),
            };
        };

        let cost = multi_message_cost(request, config.multi_message_counts_as_one);
        let (reply, quota, instance_id, plan, events) = match account.quota.take(now, cost) {
            Err(refused) => (
                throttled(),
                refused,
                Some(account.instance_id),
                FaultPlan::default(),
                Vec::new(),
            ),
            Ok(quota) => match crate::auth::check(headers, account, &config.app_ref, now) {
                Err(unauthorized) => (unauthorized, quota, None, FaultPlan::default(), Vec::new()),
                Ok(()) => {
                    account.fault_requests = account.fault_requests.wrapping_add(1);
                    let plan = account.faults.plan(&request.method, account.fault_requests);
                    let instance_id = Some(account.instance_id);
                    if plan.throttle {
                        let forced = QuotaState {
                            remaining: 0,
                            ..quota
                        };
                        (throttled(), forced, instance_id, plan, Vec::new())
                    } else if plan.fail_with_500 {
                        let bare = Reply {
                            body: None,
                            ..Reply::ok(json!(null), "api-proxy")
                        };
                        let failed = Reply {
                            status: StatusCode::INTERNAL_SERVER_ERROR,
                            ..bare
                        };
                        (failed, quota, instance_id, plan, Vec::new())
                    } else {
                        let mut ctx = Ctx::new(account, config, now);
                        let reply = resources::dispatch(&mut ctx, request);
                        let events = ctx.events;
                        (reply, quota, instance_id, plan, events)
                    }
                }
            },
        };

        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        account.log.push(LoggedRequest {
            method: request.method.to_string(),
            path_and_query,
            status: reply.status.as_u16(),
            at: now,
        });
        Prepared {
            reply,
            quota: Some(quota),
            instance_id,
            plan,
            events,
        }
    }
}

/// The quota a multi-message costs: one, or one per message when the
/// configuration says messages count singly.
fn multi_message_cost(request: &ApiRequest<'_>, counts_as_one: bool) -> u32 {
    if counts_as_one
        || request.method != Method::POST
        || !crate::multi_message::is_multi_message(&request.segments)
    {
        return 1;
    }
    crate::multi_message::message_count(request.body).clamp(1, 10)
}

fn throttled() -> Reply {
    Reply::new(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "response": THROTTLED_MESSAGE }),
        "api-proxy",
    )
}

fn into_response(reply: Reply, quota: Option<QuotaState>, instance_id: Option<u64>) -> Response {
    let body = match &reply.body {
        Some(value) => Body::from(value.to_string()),
        None => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json;charset=UTF-8".to_owned());
    set("message-type", reply.message_type.clone());
    set("ruid", uuid::Uuid::new_v4().to_string());
    if let Some(quota) = quota {
        set(
            "brightpearl-requests-remaining",
            quota.remaining.to_string(),
        );
        set(
            "brightpearl-next-throttle-period",
            quota.next_period_ms.to_string(),
        );
    }
    if let Some(instance_id) = instance_id {
        set(
            "brightpearl-installed-integration-instance-id",
            instance_id.to_string(),
        );
    }
    response
}

/// A response whose body fails before its first byte, which makes hyper
/// close the connection without writing the status line: the client sees
/// the connection drop after its request was carried out.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection dropped",
        ))
    });
    Response::new(Body::from_stream(failing))
}
