//! Cross-site request forgery protection for every portal form.
//!
//! [`protect`] runs before every portal handler. It finds the visitor's
//! session, if any, and the token their forms must carry: the session's
//! CSRF token once logged in, or, before that, a random token kept in a
//! short cookie (the double-submit pattern, for the login and password
//! forms). Every request that is not GET, HEAD or OPTIONS must send that
//! token as the `_csrf` field of a URL-encoded form, in the
//! `x-csrf-token` header, or, for multipart uploads, as the `_csrf` query
//! parameter of the form's action. A missing or wrong token gets 403 before
//! the handler runs.
//!
//! Hand-written because the maintained CSRF crates for axum keep their own
//! session or signing key, while pobridge's sessions live in its store.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use pobridge_store::Session;
use subtle::ConstantTimeEq;

use crate::auth::{new_token, token_hash, SESSION_COOKIE};
use crate::render::PortalError;
use crate::PortalState;

/// Name of the cookie that carries the form token before login.
pub const FORM_COOKIE: &str = "pobridge_form";

/// Largest URL-encoded form body the check reads; portal forms are small.
pub const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The requester: their live session, if any, and the token their forms carry.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: Option<Session>,
    pub form_token: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Visitor>().cloned().ok_or_else(|| {
            PortalError::Internal("the CSRF layer did not run for this route".to_owned())
                .into_response()
        })
    }
}

/// The middleware: resolves the visitor, checks the token on unsafe
/// methods, and sets the pre-login form cookie when it was missing.
pub async fn protect(
    State(state): State<PortalState>,
    jar: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    let now = state.engine.clock.now();
    let session = match jar.get(SESSION_COOKIE) {
        Some(cookie) => match state
            .engine
            .store
            .session(&token_hash(cookie.value()), now)
            .await
        {
            Ok(session) => session,
            Err(err) => return PortalError::from(err).into_response(),
        },
        None => None,
    };
    let form_cookie = jar.get(FORM_COOKIE).map(|cookie| cookie.value().to_owned());
    let (form_token, new_cookie) = match (&session, form_cookie) {
        (Some(session), _) => (session.csrf_token.clone(), None),
        (None, Some(token)) if token.len() == 64 => (token, None),
        (None, _) => {
            let token = new_token();
            (token.clone(), Some(token))
        }
    };

    let mut request = request;
    if !is_safe(request.method()) {
        let (checked, submitted) = match submitted_token(request).await {
            Ok(found) => found,
            Err(response) => return response,
        };
        request = checked;
        // A visitor without any form cookie cannot have a form from this site.
        let expected_exists = session.is_some() || new_cookie.is_none();
        let matches = submitted
            .as_deref()
            .is_some_and(|token| bool::from(token.as_bytes().ct_eq(form_token.as_bytes())));
        if !(expected_exists && matches) {
            // The route, not the path: a path can carry a link's token.
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("(no route)", MatchedPath::as_str);
            tracing::info!(route, "form rejected: missing or invalid CSRF token");
            return forbidden();
        }
    }

    request.extensions_mut().insert(Visitor {
        session,
        form_token,
    });
    let response = next.run(request).await;
    match new_cookie {
        Some(token) => {
            let cookie = Cookie::build((FORM_COOKIE, token))
                .path("/")
                .http_only(true)
                .secure(state.config.secure_cookies())
                .same_site(SameSite::Strict);
            (CookieJar::new().add(cookie), response).into_response()
        }
        None => response,
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Finds the submitted token in the header, the query string or a
/// URL-encoded body, and gives back a request whose body is intact.
async fn submitted_token(request: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(value) = request.headers().get("x-csrf-token") {
        let token = value.to_str().ok().map(str::to_owned);
        return Ok((request, token));
    }
    if let Some(token) = request
        .uri()
        .query()
        .and_then(|query| field(query.as_bytes()))
    {
        return Ok((request, Some(token)));
    }
    let url_encoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !url_encoded {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is larger than 1 MiB. Send less data, or upload a file instead.",
        )
            .into_response()
    })?;
    let token = field(&bytes);
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

fn field(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(name, _)| name == "_csrf")
        .map(|(_, value)| value.into_owned())
}

fn forbidden() -> Response {
    PortalError::Forbidden.into_response()
}
