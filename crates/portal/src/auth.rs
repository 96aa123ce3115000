//! Logging in and out, password hashing and the logged-in [`Member`].
//!
//! A session is a random token in an HTTP-only cookie; the store keeps only
//! its SHA-256, with the user, the account and the session's CSRF token.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::Duration;
use pobridge_store::{Account, Session, StoreError, User};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::csrf::Visitor;
use crate::render::{page, PortalError};
use crate::PortalState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "pobridge_session";

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Returns a new random token: 32 bytes from the operating system, as hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Returns the SHA-256 of a token as hex, which the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub async fn hash_password(password: String) -> Result<String, PortalError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| PortalError::Internal(format!("hashing a password: {err}")))
    })
    .await
    .map_err(|err| PortalError::Internal(format!("hashing a password: {err}")))?
}

/// Checks a password against a stored PHC string. A malformed stored hash
/// counts as a mismatch and is logged.
pub async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(err) => {
            tracing::error!(error = %err, "a stored password hash cannot be read");
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Returns the problem with a new password, if there is one.
pub fn password_problem(password: &str, confirm: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some("Use at least 12 characters.");
    }
    if password != confirm {
        return Some("The two passwords differ; type the same password twice.");
    }
    None
}

/// Starts a session for `user` and returns the cookie jar that carries it.
pub async fn start_session(
    state: &PortalState,
    jar: CookieJar,
    user: &User,
) -> Result<CookieJar, PortalError> {
    let token = new_token();
    let now = state.engine.clock.now();
    let session = Session {
        token_hash: token_hash(&token),
        account: user.account,
        user: user.id,
        csrf_token: new_token(),
        created_at: now,
        expires_at: now + Duration::hours(state.config.session_hours),
    };
    state.engine.store.create_session(&session).await?;
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time_duration(state.config.session_hours));
    Ok(jar.add(cookie))
}

fn time_duration(hours: i64) -> cookie::time::Duration {
    cookie::time::Duration::hours(hours)
}

/// A logged-in user of one account. Extracting it from a request without a
/// live session redirects to the login page, then back.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub account: Account,
    pub session: Session,
}

impl Member {
    /// The account's slug, as the engine's admin actions take it.
    pub fn slug(&self) -> &str {
        self.account.slug.as_str()
    }

    /// The token every form of this session carries as `_csrf`.
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

impl FromRequestParts<PortalState> for Member {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Visitor>()
            .and_then(|visitor| visitor.session.clone());
        let Some(session) = session else {
            return Err(login_redirect(parts));
        };
        let store = &state.engine.store;
        let user = match store.user(session.account, session.user).await {
            Ok(user) => user,
            Err(StoreError::NotFound { .. }) => return Err(login_redirect(parts)),
            Err(err) => return Err(PortalError::from(err).into_response()),
        };
        let account = store
            .account(session.account)
            .await
            .map_err(|err| PortalError::from(err).into_response())?;
        Ok(Member {
            user,
            account,
            session,
        })
    }
}

fn login_redirect(parts: &Parts) -> Response {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |value| value.as_str());
    let next = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
    Redirect::to(&format!("/login?{next}")).into_response()
}

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    problem: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn login_page(visitor: Visitor, Query(query): Query<NextQuery>) -> Response {
    if visitor.session.is_some() {
        return Redirect::to(&safe_next(&query.next)).into_response();
    }
    page(LoginPage {
        csrf: visitor.form_token,
        next: query.next,
        email: String::new(),
        problem: None,
    })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Logs in. Unknown addresses, users without a password and wrong
/// passwords all get the same answer, so the form does not reveal which
/// addresses have accounts.
async fn login(
    State(state): State<PortalState>,
    visitor: Visitor,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PortalError> {
    let refused = |form: &LoginForm| {
        page(LoginPage {
            csrf: visitor.form_token.clone(),
            next: form.next.clone(),
            email: form.email.clone(),
            problem: Some(
                "That e-mail and password do not match. Check both, or reset your password."
                    .to_owned(),
            ),
        })
    };
    let user = match state.engine.store.user_by_email(&form.email).await {
        Ok(user) => user,
        Err(StoreError::NotFound { .. }) => {
            // Hash anyway, so an unknown address takes as long as a known one.
            let _ = hash_password(form.password.clone()).await;
            return Ok(refused(&form));
        }
        Err(err) => return Err(err.into()),
    };
    let Some(stored) = user.password_hash.clone() else {
        let _ = hash_password(form.password.clone()).await;
        return Ok(refused(&form));
    };
    if !verify_password(form.password.clone(), stored).await {
        tracing::info!(tenant.id = %user.account, user.id = %user.id, "login rejected: wrong password or no password set");
        return Ok(refused(&form));
    }
    if let Some(old) = visitor.session {
        state.engine.store.delete_session(&old.token_hash).await?;
    }
    let jar = start_session(&state, jar, &user).await?;
    tracing::info!(tenant.id = %user.account, user.id = %user.id, "logged in");
    Ok((jar, Redirect::to(&safe_next(&form.next))).into_response())
}

async fn logout(
    State(state): State<PortalState>,
    visitor: Visitor,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    if let Some(session) = visitor.session {
        state
            .engine
            .store
            .delete_session(&session.token_hash)
            .await?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}

/// Keeps a post-login redirect on this site: only a local path is followed.
pub fn safe_next(next: &str) -> String {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(
            safe_next("/items?status=unmapped"),
            "/items?status=unmapped"
        );
        for outside in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "",
        ] {
            assert_eq!(safe_next(outside), "/", "{outside:?}");
        }
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let first = new_token();
        assert_eq!(first.len(), 64);
        assert_ne!(first, new_token());
        assert_eq!(token_hash(&first), token_hash(&first));
        assert_ne!(token_hash(&first), first);
    }

    #[test]
    fn weak_or_mistyped_passwords_are_refused() {
        assert!(password_problem("short", "short").is_some());
        assert!(password_problem("long enough pass", "long enough pasS").is_some());
        assert_eq!(
            password_problem("long enough pass", "long enough pass"),
            None
        );
    }

    #[tokio::test]
    async fn password_hashes_verify_only_the_same_password() {
        let hash = hash_password("correct horse battery".to_owned())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".to_owned(), hash.clone()).await);
        assert!(!verify_password("correct horse batterY".to_owned(), hash).await);
        assert!(!verify_password("x".to_owned(), "not a hash".to_owned()).await);
    }
}
