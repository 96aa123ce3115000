//! The web portal of pobridge: server-rendered pages where a supplier's
//! operations staff log in, connect Brightpearl, set up their Coupa buyers
//! and defaults, map items and customers, and follow orders and invoices.
//!
//! Pages are askama templates, escaped by default, and plain HTML forms that
//! work without JavaScript. Every page and action runs as a [`Member`]: a
//! logged-in user of one account, whose account id scopes every store call,
//! so another account's record is "not found" as the store reports it.
//! Every form carries a CSRF token checked by [`csrf::protect`] before the
//! handler runs. Handlers call the engine's `admin` actions, the same ones
//! the command line uses; this crate writes no SQL.

pub mod auth;
pub mod chart;
pub mod csrf;
pub mod extract;
pub mod mail;
mod pages;
pub mod render;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use pobridge_engine::Engine;

pub use auth::Member;

/// Settings of the portal, read from the service configuration.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The base URL people reach pobridge at, such as
    /// `https://pobridge.example.com`, used in e-mailed links and in the
    /// OAuth redirect URI. Cookies are marked `Secure` when it is HTTPS.
    pub public_url: String,
    /// How long a login lasts.
    pub session_hours: i64,
    /// How long a set-password or reset link in an e-mail works.
    pub link_hours: i64,
}

impl PortalConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            session_hours: 12,
            link_hours: 24,
        }
    }

    /// Whether cookies must carry the `Secure` attribute.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// An absolute URL for `path`, which starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// State shared by every portal handler.
#[derive(Clone)]
pub struct PortalState {
    pub engine: Engine,
    pub config: Arc<PortalConfig>,
}

impl PortalState {
    pub fn new(engine: Engine, config: PortalConfig) -> Self {
        Self {
            engine,
            config: Arc::new(config),
        }
    }
}

/// The portal's routes, ready to merge into the service's router. Every
/// route, including the login forms, sits behind the CSRF check.
pub fn router(state: PortalState) -> Router {
    let routes = Router::new()
        .route("/static/portal.css", get(render::stylesheet))
        .merge(auth::routes())
        .merge(pages::routes());
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        .layer(axum::middleware::from_fn(render::security_headers))
        .with_state(state)
}
