//! Logging in and out, password hashing and the logged-in [`Member`].
//!
//! A session is a random token in an HTTP-only cookie; the store keeps only
//! its SHA-256, with the user, the account and the session's CSRF token.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use askama::Template;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Duration, Utc};
use pobridge_core::throttle::client_key;
pub use pobridge_core::throttle::{Throttle, TrustForwardedFor};
use pobridge_store::{Account, Session, StoreError, User};
pub use pobridge_web::ClientIp;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::csrf::Visitor;
use crate::extract::{Form, Query};
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
    if password.trim().is_empty() {
        return Some("A password of only spaces is not allowed; add letters, digits or symbols.");
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
    // Each router gets its own counts, so two portals in one process (as in
    // tests) do not share them.
    let throttle = Arc::new(LoginThrottle::default());
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .layer(Extension(throttle))
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
/// passwords all get the same response, so the form does not reveal which
/// addresses have accounts. After too many failures for the address or from
/// the client's IP address, no password is checked until the oldest counted
/// failure leaves the window.
async fn login(
    State(state): State<PortalState>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    client: ClientIp,
    visitor: Visitor,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PortalError> {
    let rejected = |problem: String| {
        page(LoginPage {
            csrf: visitor.form_token.clone(),
            next: form.next.clone(),
            email: form.email.clone(),
            problem: Some(problem),
        })
    };
    let now = state.engine.clock.now();
    let keys = ThrottleKeys::new(&form.email, client.0);
    if let Some(wait) = throttle.blocked_for(&keys, now) {
        tracing::info!(client.ip = ?client.0, "login throttled after repeated failures");
        let minutes = whole_minutes(wait);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        let problem = format!("Too many attempts; wait {minutes} {unit} or reset your password.");
        let retry_after = [(header::RETRY_AFTER, wait.num_seconds().max(1).to_string())];
        let page = rejected(problem);
        return Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, page).into_response());
    }

    let Some(user) = checked_user(&state, &form).await? else {
        throttle.record_failure(&keys, now);
        let problem = "That e-mail and password do not match. Check both, or reset your password.";
        return Ok(rejected(problem.to_owned()));
    };
    throttle.clear_address(&keys);
    if let Some(old) = visitor.session {
        state.engine.store.delete_session(&old.token_hash).await?;
    }
    let jar = start_session(&state, jar, &user).await?;
    tracing::info!(tenant.id = %user.account, user.id = %user.id, "logged in");
    Ok((jar, Redirect::to(&safe_next(&form.next))).into_response())
}

/// Returns a typed e-mail address in the form users are stored with, so an
/// address with an internationalized domain finds its user. Text that is no
/// valid address is returned as typed and finds no user.
pub(crate) fn lookup_email(typed: &str) -> String {
    pobridge_engine::admin::parse_email(typed).unwrap_or_else(|_| typed.to_owned())
}

/// Returns the user whose e-mail and password the form carries, or `None`.
async fn checked_user(state: &PortalState, form: &LoginForm) -> Result<Option<User>, PortalError> {
    let email = lookup_email(&form.email);
    let user = match state.engine.store.user_by_email(&email).await {
        Ok(user) => user,
        Err(StoreError::NotFound { .. }) => {
            // Hash anyway, so an unknown address takes as long as a known one.
            let _ = hash_password(form.password.clone()).await;
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    let Some(stored) = user.password_hash.clone() else {
        let _ = hash_password(form.password.clone()).await;
        return Ok(None);
    };
    if !verify_password(form.password.clone(), stored).await {
        tracing::info!(tenant.id = %user.account, user.id = %user.id, "login rejected: wrong password or no password set");
        return Ok(None);
    }
    Ok(Some(user))
}

/// Rounds a wait up to whole minutes, at least one.
fn whole_minutes(wait: Duration) -> i64 {
    let seconds = wait.num_seconds().max(1);
    (seconds + 59) / 60
}

/// Failed logins allowed per e-mail address within [`THROTTLE_WINDOW_MINUTES`].
pub const MAX_FAILURES_PER_ADDRESS: usize = 5;
/// Failed logins allowed per client IP address within [`THROTTLE_WINDOW_MINUTES`].
pub const MAX_FAILURES_PER_IP: usize = 20;
/// Length of the sliding window that failures are counted in.
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// The keys that one login attempt is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKeys {
    /// The e-mail address as the store compares it: trimmed, in lower case.
    pub address: String,
    pub ip: Option<IpAddr>,
}

impl ThrottleKeys {
    pub fn new(email: &str, ip: Option<IpAddr>) -> Self {
        Self {
            address: email.trim().to_lowercase(),
            ip,
        }
    }
}

/// Failed attempts counted per e-mail address and per client IP address.
#[derive(Debug)]
pub struct LoginThrottle {
    per_address: Throttle,
    per_ip: Throttle,
}

impl Default for LoginThrottle {
    /// Applies the login limits: [`MAX_FAILURES_PER_ADDRESS`] and
    /// [`MAX_FAILURES_PER_IP`] in [`THROTTLE_WINDOW_MINUTES`].
    fn default() -> Self {
        Self::new(MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_IP)
    }
}

impl LoginThrottle {
    /// Allows these failures per address and per IP address in
    /// [`THROTTLE_WINDOW_MINUTES`].
    pub fn new(per_address: usize, per_ip: usize) -> Self {
        let window = Duration::minutes(THROTTLE_WINDOW_MINUTES);
        Self {
            per_address: Throttle::new(per_address, window),
            per_ip: Throttle::new(per_ip, window),
        }
    }

    /// Returns how long the attempt must wait, the longer of the address's
    /// and the IP address's waits, or `None` when it may go ahead.
    pub fn blocked_for(&self, keys: &ThrottleKeys, now: DateTime<Utc>) -> Option<Duration> {
        let address = self.per_address.blocked_for(&keys.address, now);
        let ip = keys
            .ip
            .and_then(|ip| self.per_ip.blocked_for(&client_key(ip), now));
        address.max(ip)
    }

    /// Counts one failed attempt under both keys.
    pub fn record_failure(&self, keys: &ThrottleKeys, now: DateTime<Utc>) {
        self.per_address.record_failure(&keys.address, now);
        if let Some(ip) = keys.ip {
            self.per_ip.record_failure(&client_key(ip), now);
        }
    }

    /// Forgets the address's failures after a successful login. The IP
    /// address keeps its count, so that one good login does not reopen
    /// guessing at other addresses.
    pub fn clear_address(&self, keys: &ThrottleKeys) {
        self.per_address.clear(&keys.address);
    }
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

    fn minute(n: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(n)
    }

    #[test]
    fn blank_password_rejected() {
        let spaces = " ".repeat(12);
        let mixed = " \t\u{a0}".repeat(4);

        for password in [spaces.as_str(), mixed.as_str()] {
            let problem = password_problem(password, password).unwrap_or_default();
            assert!(
                problem.contains("only spaces is not allowed"),
                "{password:?}: {problem}"
            );
        }
        let long = "correct horse battery";
        assert_eq!(password_problem(long, long), None);
        assert_eq!(password_problem(" padded   pass ", " padded   pass "), None);
    }

    #[test]
    fn login_throttle_counts_address_and_ip() {
        let throttle = LoginThrottle::new(2, 3);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let ann = ThrottleKeys::new(" Ann@Acme.Example", Some(ip));
        let bob = ThrottleKeys::new("bob@acme.example", Some(ip));
        let carl_elsewhere = ThrottleKeys::new("carl@acme.example", None);

        throttle.record_failure(&ann, minute(0));
        throttle.record_failure(&ann, minute(1));
        let ann_blocked =
            throttle.blocked_for(&ThrottleKeys::new("ann@acme.example", None), minute(2));
        let bob_before = throttle.blocked_for(&bob, minute(2));
        throttle.record_failure(&bob, minute(2));
        let bob_after = throttle.blocked_for(&bob, minute(3));
        let carl = throttle.blocked_for(&carl_elsewhere, minute(3));

        assert_eq!(
            ann_blocked,
            Some(Duration::minutes(13)),
            "address limit of 2"
        );
        assert_eq!(bob_before, None);
        assert_eq!(bob_after, Some(Duration::minutes(12)), "IP limit of 3");
        assert_eq!(carl, None, "another client is not blocked");
        throttle.clear_address(&bob);
        assert_eq!(
            throttle.blocked_for(&bob, minute(3)),
            Some(Duration::minutes(12)),
            "a login clears the address but not the IP"
        );
    }

    #[test]
    fn waits_round_up_to_whole_minutes() {
        assert_eq!(whole_minutes(Duration::seconds(1)), 1);
        assert_eq!(whole_minutes(Duration::seconds(60)), 1);
        assert_eq!(whole_minutes(Duration::seconds(61)), 2);
        assert_eq!(whole_minutes(Duration::minutes(14)), 14);
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
