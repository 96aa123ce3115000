//! The logged-in pages. Each module owns one area of the portal and its
//! routes; every handler takes a [`crate::Member`] and scopes its work to
//! the member's account.

mod buyers;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;

use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .merge(buyers::routes())
}
