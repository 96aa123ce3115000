//! Connecting Brightpearl with the OAuth authorization-code grant.
//!
//! 1. `POST /settings/brightpearl/connect` checks the account code and data
//!    centre, stores a one-time `state` for this user and redirects to
//!    Brightpearl's approval page.
//! 2. Brightpearl sends the browser back to `GET
//!    /settings/brightpearl/callback` with the `state` and a code, or an
//!    error. The state is used up here and must belong to the member.
//! 3. The page shows one more button, `POST /settings/brightpearl/finish`,
//!    which exchanges the code, stores the connection and queues the pull of
//!    the account's reference data.
//!
//! The code is kept server-side in a second one-time link rather than in
//! the finish form: the form carries only that link's random token, which
//! works once, for this user and account only, so a forged or replayed form
//! cannot attach another Brightpearl account's code. The exchange happens
//! on a POST because a GET must change nothing, and the callback is a GET
//! only because OAuth makes it one.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::Duration;
use pobridge_core::ConnectionStatus;
use pobridge_engine::admin::connect::{
    authorize_url, exchange_code, finish_connection, parse_account_code, parse_data_centre,
};
use pobridge_engine::admin::AdminError;
use pobridge_store::{LinkPurpose, OneTimeLink};
use serde::{Deserialize, Serialize};

use super::general::{self, ConnectErrors, ConnectForm};
use super::{audit, field_message};
use crate::auth::{new_token, token_hash, Member};
use crate::extract::{Form, Query};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// How long a person has to approve pobridge in Brightpearl.
const APPROVAL_MINUTES: i64 = 15;

/// How long the "Finish connecting" button works. Brightpearl's codes are
/// short-lived (the sandbox's last 10 minutes); an exchange after the code
/// expired fails with Brightpearl's message and the advice to start again.
const FINISH_MINUTES: i64 = 10;

/// The data a one-time link of purpose `BrightpearlOauth` carries, by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum GrantStep {
    /// The `state` sent to Brightpearl's approval page.
    Authorize {
        account_code: String,
        data_centre: String,
    },
    /// The token of the "Finish connecting" form, with the approved code.
    Finish {
        account_code: String,
        data_centre: String,
        code: String,
    },
}

/// The page that reports how an approval went and what to do next.
#[derive(Template)]
#[template(path = "settings_connect.html")]
struct OutcomePage {
    layout: Layout,
    tab: &'static str,
    heading: &'static str,
    message: String,
    /// The "Finish connecting" form's token, after an approval.
    finish: Option<String>,
    account_code: String,
}

impl OutcomePage {
    fn new(member: &Member, jar: &CookieJar, heading: &'static str, message: String) -> Self {
        Self {
            layout: Layout::new(member, jar, "settings"),
            tab: "general",
            heading,
            message,
            finish: None,
            account_code: String::new(),
        }
    }

    fn respond(self, status: StatusCode) -> Response {
        let layout = self.layout.clone();
        let mut response = page_with_layout(&layout, self);
        *response.status_mut() = status;
        response
    }
}

/// `POST /settings/brightpearl/connect`.
pub(super) async fn connect(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<ConnectForm>,
) -> Result<Response, PortalError> {
    let code = parse_account_code(&form.account_code);
    let centre = parse_data_centre(&form.data_centre);
    let (Ok(code), Ok(centre)) = (&code, &centre) else {
        let errors = ConnectErrors {
            account_code: code.as_ref().err().map(field_message),
            data_centre: centre
                .as_ref()
                .err()
                .map(|_| "Choose the data centre that hosts your Brightpearl account.".to_owned()),
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return general::render(&state, &member, &jar, Some(form), errors, status).await;
    };

    let step = GrantStep::Authorize {
        account_code: code.clone(),
        data_centre: centre.code.to_owned(),
    };
    let token = new_link(&state, &member, &step, APPROVAL_MINUTES).await?;
    let url = authorize_url(
        &state.engine,
        code,
        centre.code,
        &redirect_uri(&state),
        &token,
    );
    tracing::info!(tenant.id = %member.account.id, user.id = %member.user.id, "Brightpearl approval started");
    // `Redirect::to` returns 303 See Other.
    Ok(Redirect::to(&url).into_response())
}

/// The query Brightpearl sends the browser back with.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /settings/brightpearl/callback`.
pub(super) async fn callback(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, PortalError> {
    let outcome =
        |heading, message: &str| OutcomePage::new(&member, &jar, heading, message.to_owned());
    let token = query.state.as_deref().unwrap_or_default();
    let Some(GrantStep::Authorize {
        account_code,
        data_centre,
    }) = take_link(&state, &member, token).await?
    else {
        return Ok(outcome("Approval not recognised", UNKNOWN_STATE).respond(StatusCode::NOT_FOUND));
    };

    if let Some(error) = query.error.as_deref() {
        let message = denied_message(error, query.error_description.as_deref());
        tracing::info!(tenant.id = %member.account.id, user.id = %member.user.id, error, "Brightpearl approval not given");
        return Ok(outcome("Brightpearl access not approved", &message).respond(StatusCode::OK));
    }
    let Some(code) = query.code.filter(|code| !code.trim().is_empty()) else {
        return Ok(outcome("No authorization code", MISSING_CODE).respond(StatusCode::BAD_REQUEST));
    };

    let step = GrantStep::Finish {
        account_code: account_code.clone(),
        data_centre,
        code,
    };
    let finish = new_link(&state, &member, &step, FINISH_MINUTES).await?;
    let mut page = outcome(
        "Brightpearl approved access",
        "One step is left: press Finish connecting to let pobridge collect its \
         access and start pulling your Brightpearl data.",
    );
    page.finish = Some(finish);
    page.account_code = account_code;
    Ok(page.respond(StatusCode::OK))
}

const UNKNOWN_STATE: &str = "This approval was not started from your login, or it was \
     already used, or it is older than 15 minutes. Nothing was changed. Start again with \
     Connect under Settings → General.";

const MISSING_CODE: &str = "Brightpearl sent you back without an authorization code, so \
     pobridge cannot connect. Nothing was changed. Start again with Connect under \
     Settings → General.";

fn denied_message(error: &str, description: Option<&str>) -> String {
    let next = "Nothing was changed. To connect, press Connect again and choose Approve \
                on Brightpearl's page.";
    match (error, description) {
        ("access_denied", _) => format!("Access was denied on Brightpearl's page. {next}"),
        (error, Some(description)) => {
            format!("Brightpearl reported {error:?}: {description}. {next}")
        }
        (error, None) => format!("Brightpearl reported {error:?}. {next}"),
    }
}

/// The finish form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FinishForm {
    #[serde(default)]
    finish: String,
}

/// `POST /settings/brightpearl/finish`.
pub(super) async fn finish(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<FinishForm>,
) -> Result<Response, PortalError> {
    let Some(GrantStep::Finish {
        account_code,
        data_centre,
        code,
    }) = take_link(&state, &member, &form.finish).await?
    else {
        // A second press of the button (a double click) finds the token used
        // up by the first, which connected: show that result again.
        if connected_recently_by(&state, &member).await? {
            return Ok(redirect_with_notice("/settings", CONNECTED_NOTICE));
        }
        let page = OutcomePage::new(
            &member,
            &jar,
            "Approval not recognised",
            UNKNOWN_STATE.to_owned(),
        );
        return Ok(page.respond(StatusCode::NOT_FOUND));
    };

    let engine = &state.engine;
    let redirect = redirect_uri(&state);
    let connection = match exchange_code(engine, &account_code, &data_centre, &code, &redirect)
        .await
    {
        Ok(connection) => connection,
        Err(AdminError::Brightpearl(error)) => {
            tracing::warn!(tenant.id = %member.account.id, %error, "Brightpearl code exchange failed");
            let message = format!(
                "Brightpearl did not give pobridge access: {error}. Nothing was changed. \
                     Start again with Connect under Settings → General."
            );
            let page = OutcomePage::new(&member, &jar, "Connecting failed", message);
            return Ok(page.respond(StatusCode::BAD_GATEWAY));
        }
        Err(other) => return Err(other.into()),
    };
    let finished = finish_connection(engine, &member.account, &connection).await?;

    let detail = format!(
        "connected Brightpearl account {account_code} (data centre {data_centre}); \
         released {} waiting jobs; queued a pull of reference data (job {})",
        finished.released_jobs, finished.refresh_job
    );
    audit(&state, &member, CONNECT_ACTION, detail).await?;
    Ok(redirect_with_notice("/settings", CONNECTED_NOTICE))
}

/// The audit action of a finished connection.
pub(super) const CONNECT_ACTION: &str = "brightpearl.connect";

const CONNECTED_NOTICE: &str = "Brightpearl is connected. pobridge is pulling its data now; \
     this page shows how far it has got.";

/// Returns true when the account is connected and its latest connection
/// was finished by `member` within the last [`FINISH_MINUTES`].
async fn connected_recently_by(state: &PortalState, member: &Member) -> Result<bool, PortalError> {
    let store = &state.engine.store;
    let since = state.engine.clock.now() - Duration::minutes(FINISH_MINUTES);
    let connected = store
        .connection(member.account.id)
        .await?
        .is_some_and(|connection| {
            connection.status == ConnectionStatus::Connected && connection.connected_at >= since
        });
    if !connected {
        return Ok(false);
    }
    let latest = general::latest_connect_entry(state, member.account.id).await?;
    Ok(latest.is_some_and(|entry| entry.user == Some(member.user.id) && entry.at >= since))
}

/// Returns the address Brightpearl sends the browser back to. The token
/// exchange must send the same value.
fn redirect_uri(state: &PortalState) -> String {
    state.config.url("/settings/brightpearl/callback")
}

/// Stores a one-time link for `step`, for this member, and returns its token.
async fn new_link(
    state: &PortalState,
    member: &Member,
    step: &GrantStep,
    minutes: i64,
) -> Result<String, PortalError> {
    let token = new_token();
    let now = state.engine.clock.now();
    let data = serde_json::to_string(step)
        .map_err(|error| PortalError::Internal(format!("encoding an OAuth step: {error}")))?;
    let link = OneTimeLink {
        token_hash: token_hash(&token),
        account: member.account.id,
        user: member.user.id,
        purpose: LinkPurpose::BrightpearlOauth,
        data,
        created_at: now,
        expires_at: now + Duration::minutes(minutes),
    };
    state.engine.store.create_link(&link).await?;
    Ok(token)
}

/// Uses up the link of `token` and returns its step, or `None` when the
/// token is unknown, used, expired, unreadable or another user's. The
/// store finds links by token alone, so the owner is checked here.
async fn take_link(
    state: &PortalState,
    member: &Member,
    token: &str,
) -> Result<Option<GrantStep>, PortalError> {
    if token.is_empty() {
        return Ok(None);
    }
    let now = state.engine.clock.now();
    let store = &state.engine.store;
    let Some(link) = store
        .use_link(&token_hash(token), LinkPurpose::BrightpearlOauth, now)
        .await?
    else {
        return Ok(None);
    };
    if link.account != member.account.id || link.user != member.user.id {
        tracing::warn!(
            tenant.id = %member.account.id,
            user.id = %member.user.id,
            "Brightpearl approval of another user refused"
        );
        return Ok(None);
    }
    Ok(serde_json::from_str(&link.data).ok())
}
