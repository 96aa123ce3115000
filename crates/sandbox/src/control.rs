//! The test controls over HTTP, under `/_sandbox/accounts/{code}/…`, so a
//! tester can drive a running `pobridge serve --sandbox` with curl.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{Faults, Sandbox, SandboxError};

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/accounts/{code}", post(create_account))
        .route("/_sandbox/accounts/{code}/connect", post(connect))
        .route(
            "/_sandbox/accounts/{code}/expire-access-tokens",
            post(expire_access_tokens),
        )
        .route(
            "/_sandbox/accounts/{code}/revoke-refresh-tokens",
            post(revoke_refresh_tokens),
        )
        .route("/_sandbox/accounts/{code}/faults", put(set_faults))
        .route(
            "/_sandbox/accounts/{code}/preconsume-quota",
            post(preconsume_quota),
        )
        .route("/_sandbox/accounts/{code}/sales-orders", get(sales_orders))
        .route("/_sandbox/accounts/{code}/requests", get(request_log))
        .route(
            "/_sandbox/accounts/{code}/requests/max-in-window",
            get(max_in_window),
        )
        .route(
            "/_sandbox/accounts/{code}/orders/{id}/invoice",
            post(invoice_order),
        )
        .route(
            "/_sandbox/accounts/{code}/orders/{id}/uninvoice",
            post(uninvoice_order),
        )
        .route(
            "/_sandbox/accounts/{code}/orders/{id}/split-back-order",
            post(split_back_order),
        )
        .route(
            "/_sandbox/accounts/{code}/orders/{id}/sales-credit",
            post(raise_sales_credit),
        )
        .route(
            "/_sandbox/accounts/{code}/orders/{id}/ship",
            post(ship_order),
        )
        .route("/_sandbox/accounts/{code}/products", post(add_product))
        .route("/_sandbox/accounts/{code}/contacts", post(add_contact))
        .route(
            "/_sandbox/accounts/{code}/postal-addresses",
            post(add_postal_address),
        )
}

fn error_response(error: &SandboxError) -> Response {
    let status = match error {
        SandboxError::UnknownAccount(_)
        | SandboxError::UnknownOrder(_)
        | SandboxError::UnknownRow { .. } => StatusCode::NOT_FOUND,
        SandboxError::AlreadyInvoiced(_) | SandboxError::NotInvoiced(_) => StatusCode::CONFLICT,
        SandboxError::InvalidRecord(_) | SandboxError::InvalidQuantity { .. } => {
            StatusCode::BAD_REQUEST
        }
    };
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}

fn created_id(result: Result<u64, SandboxError>) -> Response {
    match result {
        Ok(id) => Json(json!({ "id": id })).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn create_account(State(sandbox): State<Sandbox>, Path(code): Path<String>) -> Response {
    Json(sandbox.create_account(&code)).into_response()
}

async fn connect(State(sandbox): State<Sandbox>, Path(code): Path<String>) -> Response {
    Json(sandbox.connect(&code)).into_response()
}

async fn expire_access_tokens(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
) -> StatusCode {
    sandbox.expire_access_tokens(&code);
    StatusCode::NO_CONTENT
}

async fn revoke_refresh_tokens(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
) -> StatusCode {
    sandbox.revoke_refresh_tokens(&code);
    StatusCode::NO_CONTENT
}

/// The faults body; `slow_by_ms` stands for `Faults::slow_by`. An unknown
/// field is rejected, so a misspelt fault is never silently unset.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FaultsBody {
    fail_next_n_with_500: u32,
    fail_every_nth_with_500: u32,
    drop_connection_after_commit_next_n_posts: u32,
    drop_connection_next_n_gets: u32,
    slow_next_n: u32,
    slow_by_ms: u64,
    throttle_next_n: u32,
}

/// Replaces the account's pending faults. An invalid body gets 400 with
/// serde's message, which names an unknown field and lists the known ones.
async fn set_faults(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
    body: Result<Json<FaultsBody>, JsonRejection>,
) -> Result<StatusCode, (StatusCode, String)> {
    let Json(body) = body.map_err(|rejection| (StatusCode::BAD_REQUEST, rejection.body_text()))?;
    let faults = Faults {
        fail_next_n_with_500: body.fail_next_n_with_500,
        fail_every_nth_with_500: body.fail_every_nth_with_500,
        drop_connection_after_commit_next_n_posts: body.drop_connection_after_commit_next_n_posts,
        drop_connection_next_n_gets: body.drop_connection_next_n_gets,
        slow_next_n: body.slow_next_n,
        slow_by: Duration::from_millis(body.slow_by_ms),
        throttle_next_n: body.throttle_next_n,
    };
    sandbox.set_faults(&code, faults);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Count {
    n: u32,
}

async fn preconsume_quota(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
    Json(body): Json<Count>,
) -> StatusCode {
    sandbox.preconsume_quota(&code, body.n);
    StatusCode::NO_CONTENT
}

async fn sales_orders(State(sandbox): State<Sandbox>, Path(code): Path<String>) -> Response {
    Json(sandbox.sales_orders(&code)).into_response()
}

async fn request_log(State(sandbox): State<Sandbox>, Path(code): Path<String>) -> Response {
    Json(sandbox.request_log(&code)).into_response()
}

#[derive(Deserialize)]
struct Window {
    seconds: u64,
}

async fn max_in_window(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
    Query(window): Query<Window>,
) -> Response {
    let count = sandbox.requests_in_any_window(&code, Duration::from_secs(window.seconds));
    Json(json!({ "requests": count })).into_response()
}

async fn invoice_order(
    State(sandbox): State<Sandbox>,
    Path((code, id)): Path<(String, u64)>,
) -> Response {
    match sandbox.invoice_order(&code, id) {
        Ok(reference) => Json(json!({ "invoiceReference": reference })).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn uninvoice_order(
    State(sandbox): State<Sandbox>,
    Path((code, id)): Path<(String, u64)>,
) -> Response {
    match sandbox.uninvoice_order(&code, id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error_response(&error),
    }
}

/// The rows body of a split or a credit:
/// `{"rows": [{"rowId": 500001, "quantity": "2"}]}`, quantities as strings
/// or numbers.
#[derive(Deserialize)]
struct RowsBody {
    rows: Vec<RowPick>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RowPick {
    row_id: u64,
    quantity: Value,
}

impl RowsBody {
    fn picks(&self) -> Result<Vec<(u64, Decimal)>, SandboxError> {
        self.rows
            .iter()
            .map(|pick| {
                let quantity = crate::orders::build::decimal(&pick.quantity).ok_or_else(|| {
                    SandboxError::InvalidRecord(format!(
                        "invalid quantity {} for row {}: expected a number such as \"2\"",
                        pick.quantity, pick.row_id
                    ))
                })?;
                Ok((pick.row_id, quantity))
            })
            .collect()
    }
}

async fn split_back_order(
    State(sandbox): State<Sandbox>,
    Path((code, id)): Path<(String, u64)>,
    Json(body): Json<RowsBody>,
) -> Response {
    created_id(
        body.picks()
            .and_then(|picks| sandbox.split_back_order(&code, id, &picks)),
    )
}

async fn raise_sales_credit(
    State(sandbox): State<Sandbox>,
    Path((code, id)): Path<(String, u64)>,
    Json(body): Json<RowsBody>,
) -> Response {
    created_id(
        body.picks()
            .and_then(|picks| sandbox.raise_sales_credit(&code, id, &picks)),
    )
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ShipBody {
    tracking_reference: String,
}

async fn ship_order(
    State(sandbox): State<Sandbox>,
    Path((code, id)): Path<(String, u64)>,
    body: Option<Json<ShipBody>>,
) -> Response {
    let tracking = body.map(|Json(b)| b.tracking_reference).unwrap_or_default();
    match sandbox.ship_order(&code, id, &tracking) {
        Ok(note_id) => Json(json!({ "goodsOutNoteId": note_id })).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn add_product(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    created_id(sandbox.add_product(&code, body))
}

async fn add_contact(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    created_id(sandbox.add_contact(&code, body))
}

async fn add_postal_address(
    State(sandbox): State<Sandbox>,
    Path(code): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    created_id(sandbox.add_postal_address(&code, body))
}
