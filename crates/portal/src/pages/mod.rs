//! The logged-in pages. Each module owns one area of the portal and its
//! routes; every handler takes a [`crate::Member`] and scopes its work to
//! the member's account.

mod audit;
mod buyers;
mod customers;
mod dashboard;
mod invoices;
mod items;
mod orders;
mod password;
mod settings;
mod users;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;

use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .merge(buyers::routes())
        .merge(customers::routes())
        .merge(dashboard::routes())
        .merge(invoices::routes())
        .merge(items::routes())
        .merge(orders::routes())
        .merge(settings::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(password::routes())
}
