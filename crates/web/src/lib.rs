//! The HTTP layer of pobridge: the cXML order endpoint buyers post to, the
//! health checks and the Prometheus metrics.
//!
//! Handlers only move bytes between HTTP and the engine: the order endpoint
//! hands the raw body and its content type to
//! [`pobridge_engine::Engine::receive_order`] and returns its cXML response.
//! This crate writes no SQL and makes no Brightpearl calls.

mod client_ip;
mod health;
pub mod metrics;
mod orders;
mod tracing_layer;

pub use client_ip::ClientIp;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use pobridge_engine::Engine;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
}

/// Builds the router: `POST /cxml/{account}`, `POST /cxml/{account}/{token}`,
/// `GET /healthz`, `GET /readyz` and `GET /metrics`, with a request id and a
/// tracing span per request.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// Builds the router of [`router`] with `pages` (the web portal) merged in,
/// under the same request ids and tracing spans.
pub fn router_with(state: AppState, pages: Router) -> Router {
    let max_body_bytes = state.engine.config.limits.max_body_bytes;
    let body_budget = orders::BodyBudget::new(&state.engine.config);
    let orders = Router::new()
        .route("/cxml/{account}", post(orders::receive_order))
        .route("/cxml/{account}/{token}", post(orders::receive_buyer_order))
        // An order URL pasted with a slash at the end would otherwise reach
        // the portal, whose CSRF check returns an HTML page.
        .route("/cxml/{account}/", post(orders::receive_order))
        .route(
            "/cxml/{account}/{token}/",
            post(orders::receive_buyer_order),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            body_budget,
            orders::admit_within_budget,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            orders::reject_announced_oversize,
        ))
        .layer(axum::middleware::from_fn(metrics::record_order_request));

    let routes = Router::new()
        .merge(orders)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .with_state(state);
    tracing_layer::with_request_tracing(routes.merge(pages))
}
