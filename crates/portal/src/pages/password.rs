//! Choosing a password from an e-mailed link, and asking for a reset link.
//!
//! These pages work without a login. A link's token is only used up when
//! its form is posted with an acceptable password, so opening the link, or
//! a mail scanner fetching it, does not spend it. A link made before the
//! user's latest password change is treated as used, so an older invitation
//! cannot overwrite a password chosen since.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::cookie::CookieJar;
use chrono::Duration;
use pobridge_core::throttle::client_key;
use pobridge_store::{LinkPurpose, NewAuditEntry, OneTimeLink, StoreError, User};
use serde::Deserialize;

use crate::auth::{
    hash_password, lookup_email, password_problem, start_session, token_hash, ClientIp, Throttle,
    MIN_PASSWORD_CHARS,
};
use crate::csrf::Visitor;
use crate::extract::Form;
use crate::mail::{queue_password_link, PasswordMail, RESET_LINK_HOURS};
use crate::render::{page, redirect_with_notice, PortalError};
use crate::PortalState;

/// Reset e-mails per address within [`RESET_WINDOW_MINUTES`].
const RESETS_PER_ADDRESS: usize = 3;
/// Reset requests per client IP address within [`RESET_WINDOW_MINUTES`].
const RESETS_PER_IP: usize = 20;
const RESET_WINDOW_MINUTES: i64 = 15;

/// Audit action of a password chosen from a set-password link.
const AUDIT_PASSWORD_SET: &str = "user.password_set";
/// Audit action of a password chosen from a reset link.
const AUDIT_PASSWORD_RESET: &str = "user.password_reset";

pub(crate) fn routes() -> Router<PortalState> {
    let window = Duration::minutes(RESET_WINDOW_MINUTES);
    let limits = Arc::new(ResetLimits {
        per_address: Throttle::new(RESETS_PER_ADDRESS, window),
        per_ip: Throttle::new(RESETS_PER_IP, window),
    });
    Router::new()
        .route("/password/{kind}/{token}", get(choose_page).post(choose))
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/forgot/sent", get(forgot_sent))
        .layer(Extension(limits))
}

/// The kind of link that a password page serves.
#[derive(Debug, Clone, Copy)]
enum LinkPage {
    Set,
    Reset,
}

impl LinkPage {
    /// Reads the `set` or `reset` of a link's path.
    fn from_path(kind: &str) -> Option<Self> {
        match kind {
            "set" => Some(Self::Set),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }

    fn purpose(self) -> LinkPurpose {
        match self {
            Self::Set => LinkPurpose::SetPassword,
            Self::Reset => LinkPurpose::ResetPassword,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Set => "Choose your password",
            Self::Reset => "Choose a new password",
        }
    }

    fn action(self, token: &str) -> String {
        match self {
            Self::Set => format!("/password/set/{token}"),
            Self::Reset => format!("/password/reset/{token}"),
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            Self::Set => AUDIT_PASSWORD_SET,
            Self::Reset => AUDIT_PASSWORD_RESET,
        }
    }
}

#[derive(Template)]
#[template(path = "password_choose.html")]
struct ChoosePage {
    title: &'static str,
    csrf: String,
    action: String,
    email: String,
    min_chars: usize,
    problem: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "password_link_invalid.html")]
struct InvalidLinkPage;

#[derive(Debug, Deserialize)]
struct ChooseForm {
    password: String,
    confirm: String,
}

/// Shows the form of a live link, without using the link up.
async fn choose_page(
    State(state): State<PortalState>,
    visitor: Visitor,
    Path((kind, token)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let kind = LinkPage::from_path(&kind).ok_or(PortalError::NotFound)?;

    let Some((_, user)) = live_link(&state, kind, &token).await? else {
        return Ok(invalid_link());
    };
    Ok(page(ChoosePage {
        title: kind.title(),
        csrf: visitor.form_token,
        action: kind.action(&token),
        email: user.email,
        min_chars: MIN_PASSWORD_CHARS,
        problem: None,
    }))
}

/// Checks the new password, uses up the link, stores the password and
/// logs the user in.
async fn choose(
    State(state): State<PortalState>,
    visitor: Visitor,
    jar: CookieJar,
    Path((kind, token)): Path<(String, String)>,
    Form(form): Form<ChooseForm>,
) -> Result<Response, PortalError> {
    let kind = LinkPage::from_path(&kind).ok_or(PortalError::NotFound)?;

    let Some((_, user)) = live_link(&state, kind, &token).await? else {
        return Ok(invalid_link());
    };
    if let Some(problem) = password_problem(&form.password, &form.confirm) {
        // The passwords are not sent back into the form, so the user types
        // both again. The link stays unused.
        let page = page(ChoosePage {
            title: kind.title(),
            csrf: visitor.form_token,
            action: kind.action(&token),
            email: user.email,
            min_chars: MIN_PASSWORD_CHARS,
            problem: Some(problem),
        });
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }

    let store = &state.engine.store;
    let now = state.engine.clock.now();
    // Another tab may have used the link since it was read above.
    if store
        .use_link(&token_hash(&token), kind.purpose(), now)
        .await?
        .is_none()
    {
        return Ok(invalid_link());
    }
    let hash = hash_password(form.password).await?;
    store
        .set_password_hash(user.account, user.id, &hash, now)
        .await?;
    let entry = NewAuditEntry {
        user: Some(user.id),
        actor: user.email.clone(),
        action: kind.audit_action().to_owned(),
        detail: format!("{} chose a password from an e-mailed link", user.email),
    };
    store.record_audit(user.account, &entry, now).await?;

    // Setting the password ended every session of the user, the visitor's too.
    let jar = start_session(&state, jar, &user).await?;
    tracing::info!(tenant.id = %user.account, user.id = %user.id, "password chosen from a link");
    let notice = redirect_with_notice("/dashboard", "Your password is saved. You are logged in.");
    Ok((jar, notice).into_response())
}

/// Finds the link of `token` and its user, unless it is unknown, used,
/// expired, or older than the user's latest password.
async fn live_link(
    state: &PortalState,
    kind: LinkPage,
    token: &str,
) -> Result<Option<(OneTimeLink, User)>, PortalError> {
    let store = &state.engine.store;
    let now = state.engine.clock.now();
    let Some(link) = store.link(&token_hash(token), kind.purpose(), now).await? else {
        return Ok(None);
    };
    let user = match store.user(link.account, link.user).await {
        Ok(user) => user,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let superseded = user
        .password_set_at
        .is_some_and(|set_at| set_at >= link.created_at);
    if superseded {
        return Ok(None);
    }
    Ok(Some((link, user)))
}

fn invalid_link() -> Response {
    let page = page(InvalidLinkPage);
    (axum::http::StatusCode::GONE, page).into_response()
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    csrf: String,
    email: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "password_forgot_sent.html")]
struct ForgotSentPage {
    hours: i64,
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    email: String,
}

/// Limits on reset e-mails, so the form cannot flood someone's inbox.
struct ResetLimits {
    per_address: Throttle,
    per_ip: Throttle,
}

async fn forgot_page(visitor: Visitor) -> Response {
    page(ForgotPage {
        csrf: visitor.form_token,
        email: String::new(),
        error: None,
    })
}

/// Queues a reset link when the address belongs to a user, and returns the
/// same redirect whether it does or not.
async fn forgot(
    State(state): State<PortalState>,
    Extension(limits): Extension<Arc<ResetLimits>>,
    client: ClientIp,
    visitor: Visitor,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PortalError> {
    let email = form.email.trim().to_lowercase();
    if email.is_empty() || !email.contains('@') {
        let page = page(ForgotPage {
            csrf: visitor.form_token,
            email: form.email,
            error: Some("Enter the e-mail address you log in with, such as ops@example.com."),
        });
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }

    let now = state.engine.clock.now();
    let ip_key = client.0.map(client_key);
    let blocked = limits.per_address.blocked_for(&email, now).is_some()
        || ip_key
            .as_deref()
            .is_some_and(|ip| limits.per_ip.blocked_for(ip, now).is_some());
    if blocked {
        tracing::info!(client.ip = ?client.0, "password reset request dropped: too many requests");
    } else {
        limits.per_address.record_failure(&email, now);
        if let Some(ip) = &ip_key {
            limits.per_ip.record_failure(ip, now);
        }
        // Queued in the background, so that the response for a known address
        // takes no longer than for an unknown one.
        tokio::spawn(queue_reset(state, email));
    }
    Ok(Redirect::to("/password/forgot/sent").into_response())
}

async fn queue_reset(state: PortalState, email: String) {
    let user = match state
        .engine
        .store
        .user_by_email(&lookup_email(&email))
        .await
    {
        Ok(user) => user,
        Err(StoreError::NotFound { .. }) => return,
        Err(error) => {
            tracing::error!(error = %error, "looking up the address of a reset request failed");
            return;
        }
    };
    let queued = async {
        let account = state.engine.store.account(user.account).await?;
        queue_password_link(
            &state.engine,
            &state.config,
            &account,
            &user,
            PasswordMail::Reset,
        )
        .await
    };
    if let Err(error) = queued.await {
        tracing::error!(error = %error, tenant.id = %user.account, user.id = %user.id, "queueing a reset link failed");
    }
}

async fn forgot_sent() -> Response {
    page(ForgotSentPage {
        hours: RESET_LINK_HOURS,
    })
}
