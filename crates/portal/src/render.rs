//! Rendering pages and errors, the page layout, one-time notices and the
//! security headers of every portal response.

use askama::Template;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use pobridge_engine::admin::AdminError;
use pobridge_store::StoreError;

use crate::auth::Member;

/// Cookie that carries a notice to the next page, such as "Mapping saved".
pub const NOTICE_COOKIE: &str = "pobridge_notice";

/// The frame every logged-in page shows around its content.
#[derive(Debug, Clone)]
pub struct Layout {
    pub email: String,
    pub account: String,
    pub csrf: String,
    /// The navigation entry to highlight, such as `items`.
    pub active: &'static str,
    /// A notice left by the previous action.
    pub notice: Option<String>,
}

impl Layout {
    /// The layout for `member`, taking the notice left in `jar`.
    pub fn new(member: &Member, jar: &CookieJar, active: &'static str) -> Self {
        Self {
            email: member.user.email.clone(),
            account: member.account.slug.to_string(),
            csrf: member.csrf().to_owned(),
            active,
            notice: notice(jar),
        }
    }
}

/// The notice in `jar`, if any.
pub fn notice(jar: &CookieJar) -> Option<String> {
    let value = jar.get(NOTICE_COOKIE)?.value().to_owned();
    let decoded = url::form_urlencoded::parse(value.as_bytes())
        .next()
        .map(|(text, _)| text.into_owned())?;
    (!decoded.is_empty()).then_some(decoded)
}

/// Renders a page. When the layout showed a notice, the notice cookie is
/// cleared so the notice is shown once.
pub fn page_with_layout<T: Template>(layout: &Layout, template: T) -> Response {
    let response = page(template);
    if layout.notice.is_none() {
        return response;
    }
    // An empty jar has no original cookie to remove, so `remove` would send
    // nothing; an expired cookie of the same name and path clears it.
    let expired = Cookie::build((NOTICE_COOKIE, ""))
        .path("/")
        .max_age(cookie::time::Duration::ZERO);
    (CookieJar::new().add(expired), response).into_response()
}

/// Renders a template as an HTML page.
pub fn page<T: Template>(template: T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => PortalError::Internal(format!("rendering a page: {err}")).into_response(),
    }
}

/// Redirects after a successful action (303, so a reload does not repeat
/// it), leaving `text` to show on the next page.
pub fn redirect_with_notice(to: &str, text: &str) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let cookie = Cookie::build((NOTICE_COOKIE, encoded))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax);
    (CookieJar::new().add(cookie), Redirect::to(to)).into_response()
}

/// A failure to show as a page.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The record does not exist or belongs to another account.
    #[error("not found")]
    NotFound,
    /// An action was rejected, and the text tells what to change.
    #[error("{0}")]
    Refused(String),
    /// A query parameter or form field could not be read, and the text
    /// names it.
    #[error("{0}")]
    BadRequest(String),
    /// A form without a valid CSRF token.
    #[error("form expired or came from elsewhere")]
    Forbidden,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for PortalError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { .. } => Self::NotFound,
            StoreError::Conflict { .. } => Self::Refused(err.to_string()),
            other => Self::Internal(format!("{other}: {other:?}")),
        }
    }
}

impl From<AdminError> for PortalError {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::Store(store) => store.into(),
            AdminError::AccountNotFound(_) => Self::NotFound,
            other => Self::Refused(other.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "Nothing is here. It may have been removed, or the link is wrong.",
            ),
            Self::Refused(text) => (StatusCode::UNPROCESSABLE_ENTITY, "Not done", text.as_str()),
            Self::BadRequest(text) => (StatusCode::BAD_REQUEST, "Invalid request", text.as_str()),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form expired or came from elsewhere; reload the page and try again.",
            ),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "portal request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "pobridge could not finish this request. Nothing was lost; \
                     try again, and tell your operator if it keeps happening.",
                )
            }
        };
        let html = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| message.to_owned());
        (status, Html(html)).into_response()
    }
}

/// `GET /static/portal.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/portal.css"),
    )
        .into_response()
}

/// Adds the headers every portal page needs: no framing, no sniffing, no
/// scripts or styles from anywhere but pobridge itself, no caching of
/// pages that show account data.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
