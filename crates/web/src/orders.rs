//! The order endpoint: `POST /cxml/{account}` and the per-buyer
//! `POST /cxml/{account}/{token}`.
//!
//! Every response, including one to a rejected body, is a cXML `Response` whose
//! status code is also the HTTP status, because Coupa reads either.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use pobridge_engine::intake::slug_for_log;
use pobridge_engine::{Engine, IntakeRequest};

use crate::{AppState, ClientIp};

const CXML_CONTENT_TYPE: &str = "text/xml; charset=UTF-8";

/// `POST /cxml/{account}`: a document from a buyer with a shared secret.
pub(crate) async fn receive_order(
    State(state): State<AppState>,
    Path(account): Path<String>,
    client: ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&state.engine, account, None, client, &headers, body).await
}

/// `POST /cxml/{account}/{token}`: a document from a buyer without a
/// shared secret, posted to its own order URL.
pub(crate) async fn receive_buyer_order(
    State(state): State<AppState>,
    Path((account, token)): Path<(String, String)>,
    client: ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&state.engine, account, Some(token), client, &headers, body).await
}

async fn receive(
    engine: &Engine,
    account: String,
    url_token: Option<String>,
    ClientIp(client_ip): ClientIp,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return rejected_body(engine, &account, &rejection),
    };
    // Coupa's content types vary (text/xml, application/xml, multipart/related
    // and, seen in the field, others), so any type is read and the engine
    // decides from the bytes whether the body is cXML.
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // Every line of the header, read even when it is not plain text, so
    // that any encoding is rejected.
    let encodings: Vec<String> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    let content_encoding = (!encodings.is_empty()).then(|| encodings.join(", "));

    let request = IntakeRequest {
        account,
        url_token,
        content_type,
        content_encoding,
        body,
        client_ip,
    };
    let account = request.account.clone();
    let reply = engine.receive_order(request).await;

    tracing::info!(account.slug = %slug_for_log(&account), cxml.status = reply.status, outcome = %reply.log, "cXML document handled");
    let mut response = cxml_response(reply.status, reply.body);
    if let Some(seconds) = reply.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The shared allowance of order-body bytes in memory, counted in KiB.
#[derive(Clone)]
pub(crate) struct BodyBudget {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    max_body_kib: u32,
}

impl BodyBudget {
    pub(crate) fn new(config: &pobridge_engine::EngineConfig) -> Self {
        let kib = |bytes: usize| u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        let max_body_kib = kib(config.limits.max_body_bytes).max(1);
        // A budget below one maximum body would make such a body wait forever.
        let total = kib(config.max_buffered_body_bytes).max(max_body_kib);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(total as usize)),
            max_body_kib,
        }
    }
}

/// Lets a request read its body only once its size fits in the shared
/// budget: its announced `Content-Length`, or the body limit when none is
/// announced. The permit is held until the response is built.
pub(crate) async fn admit_within_budget(
    State(budget): State<BodyBudget>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let announced_kib = announced_length(&request)
        .map(|length| u32::try_from(length.div_ceil(1024)).unwrap_or(u32::MAX));
    let weight = announced_kib
        .unwrap_or(budget.max_body_kib)
        .clamp(1, budget.max_body_kib);
    let Ok(_permit) = budget.permits.clone().acquire_many_owned(weight).await else {
        // The semaphore is never closed, so this branch does not run.
        return next.run(request).await;
    };
    next.run(request).await
}

fn announced_length(request: &axum::extract::Request) -> Option<u64> {
    request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
}

/// Answers 413 before the body is read when its announced `Content-Length`
/// is over the limit, so an oversized upload costs neither memory nor the
/// time to receive it.
pub(crate) async fn reject_announced_oversize(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.engine.config.limits.max_body_bytes;
    let announced = announced_length(&request);
    if announced.is_some_and(|length| length > limit as u64) {
        let account = request
            .uri()
            .path()
            .trim_start_matches("/cxml/")
            .split('/')
            .next()
            .unwrap_or("")
            .to_owned();
        let mut response = too_large(&state.engine, &account);
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}

fn too_large(engine: &Engine, account: &str) -> Response {
    let limit = engine.config.limits.max_body_bytes;
    let detail = format!("the request body is larger than the limit of {limit} bytes");
    cxml_error(engine, account, 413, "Request Entity Too Large", detail)
}

/// Builds the cXML response to a body that could not be read (too large, or cut off).
fn rejected_body(engine: &Engine, account: &str, rejection: &BytesRejection) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(engine, account);
    }
    let detail = format!("the request body could not be read: {rejection}");
    cxml_error(engine, account, 400, "Bad Request", detail)
}

fn cxml_error(engine: &Engine, account: &str, code: u16, text: &str, detail: String) -> Response {
    tracing::warn!(account.slug = %slug_for_log(account), cxml.status = code, reason = %detail, "cXML request body rejected");

    let now = engine.clock.now();
    let payload_id =
        pobridge_cxml::new_payload_id(now, rand::random::<u64>(), &engine.config.payload_host);
    let body =
        pobridge_cxml::write_response(&payload_id, now.fixed_offset(), code, text, Some(&detail));
    cxml_response(code, body)
}

/// Maps a cXML status code to the same HTTP status. cXML codes such as 450
/// and 560 are not registered HTTP statuses but are valid three-digit ones;
/// anything outside 100..=999 becomes 500.
fn cxml_response(code: u16, body: String) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CXML_CONTENT_TYPE));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unregistered_cxml_codes_keep_their_status() {
        for code in [200, 401, 406, 413, 450, 560] {
            let response = cxml_response(code, String::new());
            assert_eq!(response.status().as_u16(), code);
        }
    }

    #[test]
    fn response_content_type_is_xml_utf8() {
        let response = cxml_response(200, String::new());
        let content_type = response.headers().get(CONTENT_TYPE).unwrap();
        assert_eq!(content_type, "text/xml; charset=UTF-8");
    }
}
