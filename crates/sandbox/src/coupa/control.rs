//! The Coupa simulator's test controls over HTTP, under `/_coupa/...`, so
//! a tester can drive a running simulator with curl.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::{AcceptedInvoice, CoupaBuyerConfig, CoupaSandbox, IssuedPo, ReceivedDocument};

/// The placeholder `GET /_coupa/buyers` shows in place of a shared secret.
const MASKED_SECRET: &str = "****";

pub(super) fn routes() -> Router<CoupaSandbox> {
    Router::new()
        .route("/_coupa/buyers", post(add_buyer).get(buyers))
        .route(
            "/_coupa/purchase-orders",
            post(issue_po).get(purchase_orders),
        )
        .route("/_coupa/invoices", get(accepted_invoices))
        .route("/_coupa/received", get(received))
        .route("/_coupa/faults", put(set_faults))
}

/// Adds or replaces a buyer and responds 201 with the buyer as stored, its
/// shared secret masked, so that curl shows what was set.
async fn add_buyer(
    State(coupa): State<CoupaSandbox>,
    Json(config): Json<CoupaBuyerConfig>,
) -> (StatusCode, Json<CoupaBuyerConfig>) {
    coupa.add_buyer(config.clone());
    (StatusCode::CREATED, Json(masked(config)))
}

/// Lists the buyers with each shared secret masked (empty stays empty).
async fn buyers(State(coupa): State<CoupaSandbox>) -> Json<Vec<CoupaBuyerConfig>> {
    Json(coupa.buyers().into_iter().map(masked).collect())
}

fn masked(mut buyer: CoupaBuyerConfig) -> CoupaBuyerConfig {
    if !buyer.shared_secret.is_empty() {
        buyer.shared_secret = MASKED_SECRET.to_owned();
    }
    buyer
}

/// Issues a purchase order and responds 201 with it, as stored.
async fn issue_po(
    State(coupa): State<CoupaSandbox>,
    Json(po): Json<IssuedPo>,
) -> (StatusCode, Json<IssuedPo>) {
    coupa.issue_po(po.clone());
    (StatusCode::CREATED, Json(po))
}

async fn purchase_orders(State(coupa): State<CoupaSandbox>) -> Json<Vec<IssuedPo>> {
    Json(coupa.purchase_orders())
}

async fn accepted_invoices(State(coupa): State<CoupaSandbox>) -> Json<Vec<AcceptedInvoice>> {
    Json(coupa.accepted_invoices())
}

async fn received(State(coupa): State<CoupaSandbox>) -> Json<Vec<ReceivedDocument>> {
    Json(coupa.received())
}

/// The faults body; it replaces every pending fault. `fail_with_status`
/// defaults to 500 and `slow_by_ms` is the delay of the slow fault. An
/// unknown field is rejected, so a misspelt fault is never silently unset.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FaultsBody {
    fail_next_n: u32,
    fail_with_status: u16,
    drop_connection_after_accept_next_n: u32,
    slow_next_n: u32,
    slow_by_ms: u64,
}

impl Default for FaultsBody {
    fn default() -> Self {
        Self {
            fail_next_n: 0,
            fail_with_status: 500,
            drop_connection_after_accept_next_n: 0,
            slow_next_n: 0,
            slow_by_ms: 0,
        }
    }
}

/// Replaces the pending faults. An invalid body gets 400 with serde's
/// message, which names an unknown field and lists the known ones.
async fn set_faults(
    State(coupa): State<CoupaSandbox>,
    body: Result<Json<FaultsBody>, JsonRejection>,
) -> Result<StatusCode, (StatusCode, String)> {
    let Json(body) = body.map_err(|rejection| (StatusCode::BAD_REQUEST, rejection.body_text()))?;

    coupa.fail_next_n_with(body.fail_with_status, body.fail_next_n);
    coupa.drop_connection_after_accept_next_n(body.drop_connection_after_accept_next_n);
    coupa.slow_next_n(body.slow_next_n, Duration::from_millis(body.slow_by_ms));
    Ok(StatusCode::NO_CONTENT)
}
