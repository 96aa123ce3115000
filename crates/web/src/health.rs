//! Health checks for load balancers and orchestrators.

use axum::extract::State;
use http::StatusCode;

use crate::AppState;

/// `GET /healthz`: the process is up and serving HTTP.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: succeeds when the store runs a query, so orders can be accepted.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match state.engine.store.pending_job_count().await {
        Ok(pending) => (StatusCode::OK, format!("ready; {pending} jobs pending\n")),
        Err(error) => {
            tracing::error!(error = %error, "readiness check failed: the store query failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the store is unreachable\n".to_owned(),
            )
        }
    }
}
