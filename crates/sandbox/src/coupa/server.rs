//! The invoice endpoint over HTTP: faults, the checks, and the cXML reply.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::status::{self, Status};
use super::{check, CoupaSandbox, FaultPlan, ReceivedDocument};

impl CoupaSandbox {
    /// Builds the simulator's routes at the root, so a binary can nest
    /// them: `POST /cxml/invoices` and the JSON controls under `/_coupa/...`.
    pub fn router(&self) -> Router {
        // NOTE: bodies over axum's default limit (2 MiB) get a plain 413;
        // Coupa's own size limit for invoices with attachments is unknown.
        Router::new()
            .route("/cxml/invoices", post(post_invoice))
            .merge(super::control::routes())
            .with_state(self.clone())
    }

    /// Serves the simulator on 127.0.0.1 at a free port, for tests. Returns
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
            .expect("binding 127.0.0.1:0 for the Coupa sandbox");
        #[allow(clippy::expect_used)]
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let router = self.router();
        let handle = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "Coupa sandbox server stopped");
            }
        });
        (format!("http://{address}"), handle)
    }

    /// Applies the faults and the checks to one request, records it, and
    /// returns the status to send with the fault plan, the response
    /// payloadID and the time.
    fn receive(
        &self,
        content_type: &str,
        body: &[u8],
    ) -> (Status, FaultPlan, String, DateTime<Utc>) {
        let now = self.now();
        let mut state = self.lock();
        let plan = state.faults.plan();
        let status = match plan.fail_with {
            Some(code) => Status::injected(code),
            None => match check::assess(&state, content_type, body, now) {
                Ok((buyer_index, invoice)) => {
                    state.accepted.push((buyer_index, invoice));
                    Status::ok()
                }
                Err(rejection) => rejection,
            },
        };
        tracing::debug!(
            status = status.code,
            text = %status.text,
            "Coupa sandbox replied to an invoice request"
        );
        state.received.push(ReceivedDocument {
            status: status.code,
            text: status.text.clone(),
            raw: String::from_utf8_lossy(body).into_owned(),
            received_at: now,
            connection_dropped: plan.drop_connection,
        });
        state.responses_sent += 1;
        let payload_id = format!(
            "{}.{}@coupa-sandbox.localhost",
            now.timestamp(),
            state.responses_sent
        );
        (status, plan, payload_id, now)
    }
}

async fn post_invoice(
    State(coupa): State<CoupaSandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let (status, plan, payload_id, now) = coupa.receive(content_type, &body);

    if plan.delay > Duration::ZERO {
        tokio::time::sleep(plan.delay).await;
    }
    if plan.drop_connection {
        return dropped_connection();
    }
    let mut response = Response::new(Body::from(status::render(&status, &payload_id, now)));
    *response.status_mut() =
        StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=UTF-8"),
    );
    response
}

/// Builds a response whose body fails before its first byte, which makes
/// hyper close the connection without writing the status line, so the
/// client sees the connection drop after its invoice was recorded.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "Coupa sandbox fault: connection dropped after the invoice was recorded",
        ))
    });
    Response::new(Body::from_stream(failing))
}
