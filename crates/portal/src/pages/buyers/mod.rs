//! Settings → Coupa buyers. The pages list the account's buyers with the
//! order URL each gives Coupa, and add, change and remove buyers with their
//! invoicing settings. A buyer's page also sends a test order through
//! pobridge's own order URL and previews the invoice of a purchase order.
//!
//! Every page finds the buyer by name within the member's account, so
//! another account's buyer is "not found". Changes go through the engine's
//! buyer actions, the ones `pobridge buyer` uses, so the portal and the
//! command line accept the same values.

mod form;
mod tools;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use pobridge_engine::admin::{self, BuyerView};
use pobridge_store::{BuyerMode, NewAuditEntry};

use self::form::{BuyerForm, FieldErrors, FormPage};
use crate::auth::Member;
use crate::render::{page_with_layout, Layout, PortalError};
use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/settings/buyers", get(list_page))
        .route("/settings/buyers/new", get(new_page).post(form::add))
        .route("/settings/buyers/{name}", get(edit_page).post(form::save))
        .route(
            "/settings/buyers/{name}/remove",
            get(tools::remove_page).post(tools::remove),
        )
        .route(
            "/settings/buyers/{name}/test-order",
            post(tools::test_order),
        )
        .route(
            "/settings/buyers/{name}/invoice-preview",
            get(tools::invoice_preview),
        )
}

/// A buyer as the pages show it.
pub(super) struct BuyerRow {
    pub view: BuyerView,
    /// The absolute URL Coupa posts this buyer's orders to. A per-buyer
    /// token is masked, as everywhere but right after the buyer is added.
    pub order_url: String,
    /// The buyer's page, with the name encoded for a path.
    pub path: String,
    /// Each invoicing setting Coupa still needs, worded for this page.
    pub missing: Vec<String>,
}

impl BuyerRow {
    pub fn new(state: &PortalState, view: BuyerView) -> Self {
        let missing = view
            .invoicing
            .missing_for_coupa
            .iter()
            .map(|text| without_command(text))
            .collect();
        Self {
            order_url: state.config.url(&view.order_path),
            path: buyer_path(&view.name),
            missing,
            view,
        }
    }

    pub fn mode(&self) -> &'static str {
        mode_name(self.view.mode)
    }

    /// Returns whether Coupa authenticates with the order URL's token
    /// instead of a shared secret.
    pub fn uses_url_token(&self) -> bool {
        self.view.shared_secret.is_none()
    }
}

pub(super) fn mode_name(mode: BuyerMode) -> &'static str {
    match mode {
        BuyerMode::Test => "test",
        BuyerMode::Production => "production",
    }
}

/// Drops the `pobridge buyer set ...` command from a message the engine
/// words for the command line, keeping what to enter.
pub(super) fn without_command(text: &str) -> String {
    match text.find(" with `pobridge ") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// Builds the path of a buyer's page. Names may contain any character, so each byte
/// outside the URL-safe set is percent-encoded.
pub(super) fn buyer_path(name: &str) -> String {
    let mut encoded = String::from("/settings/buyers/");
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Returns the buyer named `name` in the member's account. A buyer of
/// another account, or none, is "not found", as a 404 page.
pub(super) async fn find_buyer(
    state: &PortalState,
    member: &Member,
    name: &str,
) -> Result<BuyerView, PortalError> {
    admin::show_buyer(&state.engine, member.slug(), name)
        .await
        .map_err(not_found)
}

/// Turns an unknown buyer into a 404 page; `PortalError` alone shows the
/// engine's message, which lists the account's buyers, as a rejection.
pub(super) fn not_found(error: admin::AdminError) -> PortalError {
    match error {
        admin::AdminError::BuyerNotFound { .. } => PortalError::NotFound,
        other => other.into(),
    }
}

/// Records a change in the account's audit trail. `detail` must hold no
/// secret.
pub(super) async fn audit(
    state: &PortalState,
    member: &Member,
    action: &str,
    detail: String,
) -> Result<(), PortalError> {
    let entry = NewAuditEntry {
        user: Some(member.user.id),
        actor: member.user.email.clone(),
        action: action.to_owned(),
        detail,
    };
    let now = state.engine.clock.now();
    state
        .engine
        .store
        .record_audit(member.account.id, &entry, now)
        .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "buyers_list.html")]
struct ListPage {
    layout: Layout,
    buyers: Vec<BuyerRow>,
    account_url: String,
}

/// `GET /settings/buyers`.
async fn list_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    let buyers = admin::list_buyers(&state.engine, member.slug()).await?;

    let layout = Layout::new(&member, &jar, "settings");
    let page = ListPage {
        account_url: state.config.url(&format!("/cxml/{}", member.slug())),
        buyers: buyers
            .into_iter()
            .map(|view| BuyerRow::new(&state, view))
            .collect(),
        layout,
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// `GET /settings/buyers/new`.
async fn new_page(member: Member, jar: CookieJar) -> Result<Response, PortalError> {
    let layout = Layout::new(&member, &jar, "settings");
    let page = FormPage::new(layout, None, BuyerForm::blank(), FieldErrors::default());
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// `GET /settings/buyers/{name}`: the buyer's order URL, its settings form
/// and its tools.
async fn edit_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(name): Path<String>,
) -> Result<Response, PortalError> {
    let view = find_buyer(&state, &member, &name).await?;

    let layout = Layout::new(&member, &jar, "settings");
    let values = BuyerForm::from_view(&view).with_shown();
    let row = BuyerRow::new(&state, view);
    let page = FormPage::new(layout, Some(row), values, FieldErrors::default());
    Ok(page_with_layout(&page.layout.clone(), page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_path_encodes_reserved_characters() {
        assert_eq!(buyer_path("BUYER-1"), "/settings/buyers/BUYER-1");
        assert_eq!(buyer_path("a/b c?é"), "/settings/buyers/a%2Fb%20c%3F%C3%A9");
    }

    #[test]
    fn command_is_cut_from_missing_settings() {
        let text = "invoice-url is missing: set it to the address with \
                    `pobridge buyer set ACCOUNT BUYER invoice-url URL`";
        assert_eq!(
            without_command(text),
            "invoice-url is missing: set it to the address"
        );
        assert_eq!(without_command("plain"), "plain");
    }
}
