//! A request id and one tracing span per request.
//!
//! The id is taken from an incoming `x-request-id` header or generated
//! (a UUID v4), recorded on the span and returned in the response header,
//! so a buyer's support ticket can be matched to the log.

use std::time::Duration;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::Router;
use http::{Request, Response};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Wraps every route of `router` so that each request gets an id and a
/// span carrying the method, the matched route and that id.
pub(crate) fn with_request_tracing<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_request(())
        .on_response(log_response);

    // `Router::layer` makes each later layer the outer one, so a request
    // passes SetRequestId, then the trace span, then PropagateRequestId.
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn request_span(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("(no route)");
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        http.method = %request.method(),
        http.route = route,
        request.id = request_id,
    )
}

fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let duration_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        http.status = response.status().as_u16(),
        duration_ms,
        "request finished"
    );
}
