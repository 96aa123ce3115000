//! Settings → General: the Brightpearl connection's state, the form that
//! starts connecting, and the progress and counts of the reference-data pull.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use pobridge_core::{AccountId, Connection, ConnectionStatus};
use pobridge_engine::admin::connect::{
    parse_data_centre, reference_status, DataCentre, ReferenceStatus, RefreshState, DATA_CENTRES,
};
use pobridge_engine::admin::queue_refresh;
use pobridge_store::{AuditEntry, JobStatus};
use serde::Deserialize;

use super::oauth::CONNECT_ACTION;
use super::{audit, local_time};
use crate::auth::Member;
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// The connect form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ConnectForm {
    #[serde(default)]
    pub account_code: String,
    #[serde(default)]
    pub data_centre: String,
}

/// The message for each rejected field of the connect form.
#[derive(Debug, Clone, Default)]
pub(super) struct ConnectErrors {
    pub account_code: Option<String>,
    pub data_centre: Option<String>,
}

/// The connection as the page states it.
struct ConnectionView {
    /// `none`, `connected` or `lost`.
    state: &'static str,
    account_code: String,
    since: String,
}

/// One row of the table of pulled data.
struct CountRow {
    label: &'static str,
    /// The count, or a dash before the first pull.
    count: String,
    pulled: String,
}

/// The latest pull as the page states it.
struct PullView {
    in_progress: bool,
    /// The status badge's text and class (`ok`, `warn` or `bad`).
    status: &'static str,
    class: &'static str,
    explanation: String,
    rows: Vec<CountRow>,
    /// Whether any customer contacts are stored.
    has_contacts: bool,
}

#[derive(Template)]
#[template(path = "settings_general.html")]
struct GeneralPage {
    layout: Layout,
    tab: &'static str,
    connection: ConnectionView,
    form: ConnectForm,
    errors: ConnectErrors,
    data_centres: Vec<DataCentre>,
    pull: PullView,
}

/// `GET /settings`.
pub(super) async fn page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    render(
        &state,
        &member,
        &jar,
        None,
        ConnectErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// Renders the page, with the connect form as typed when `typed` is given.
pub(super) async fn render(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    typed: Option<ConnectForm>,
    errors: ConnectErrors,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let account = member.account.id;
    let zone = member.account.settings.time_zone.as_str();
    let connection = state.engine.store.connection(account).await?;
    let reference = reference_status(&state.engine, account).await?;

    let form = match typed {
        Some(typed) => typed,
        None => ConnectForm {
            account_code: connection
                .as_ref()
                .map(|connection| connection.account_code.clone())
                .unwrap_or_default(),
            data_centre: connected_data_centre(state, account).await?,
        },
    };
    let template = GeneralPage {
        layout: Layout::new(member, jar, "settings"),
        tab: "general",
        connection: connection_view(connection.as_ref(), zone),
        form,
        errors,
        data_centres: DATA_CENTRES.to_vec(),
        pull: pull_view(&reference, zone),
    };
    let layout = template.layout.clone();
    let mut response = page_with_layout(&layout, template);
    *response.status_mut() = status;
    Ok(response)
}

/// Returns the account's newest audit entry of a finished connection.
pub(super) async fn latest_connect_entry(
    state: &PortalState,
    account: AccountId,
) -> Result<Option<AuditEntry>, PortalError> {
    let entries = state.engine.store.audit_log(account, AUDIT_SCAN).await?;
    Ok(entries
        .into_iter()
        .find(|entry| entry.action == CONNECT_ACTION))
}

/// How many of the newest audit entries are searched for the last connection.
const AUDIT_SCAN: i64 = 500;

/// Returns the code of the data centre the account was last connected
/// through, or an empty string when no connection names one.
///
/// NOTE: the stored connection has no data centre, so this reads it back
/// from the text of the last `brightpearl.connect` audit entry, which is
/// missed once 500 newer entries exist. Storing the data centre with the
/// connection would make it exact.
async fn connected_data_centre(
    state: &PortalState,
    account: AccountId,
) -> Result<String, PortalError> {
    let Some(entry) = latest_connect_entry(state, account).await? else {
        return Ok(String::new());
    };
    let code = entry
        .detail
        .split_once("(data centre ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(code, _)| code);
    Ok(code
        .and_then(|code| parse_data_centre(code).ok())
        .map(|centre| centre.code.to_owned())
        .unwrap_or_default())
}

fn connection_view(connection: Option<&Connection>, zone: &str) -> ConnectionView {
    let Some(connection) = connection else {
        return ConnectionView {
            state: "none",
            account_code: String::new(),
            since: String::new(),
        };
    };
    let state = match connection.status {
        ConnectionStatus::Connected => "connected",
        ConnectionStatus::NeedsReauthorization => "lost",
    };
    ConnectionView {
        state,
        account_code: connection.account_code.clone(),
        since: local_time(connection.connected_at, zone),
    }
}

fn pull_view(reference: &ReferenceStatus, zone: &str) -> PullView {
    let pulled = |time: Option<chrono::DateTime<chrono::Utc>>| {
        time.map_or_else(|| "not yet".to_owned(), |time| local_time(time, zone))
    };
    let mut rows = vec![CountRow {
        label: "Products",
        count: reference.products.to_string(),
        pulled: pulled(reference.products_fetched_at),
    }];
    rows.extend(reference.kinds.iter().map(|kind| {
        CountRow {
            label: kind.label,
            count: kind
                .count
                .map_or_else(|| "–".to_owned(), |count| count.to_string()),
            pulled: pulled(kind.fetched_at),
        }
    }));
    // NOTE: the refresh pulls no contacts: customers are looked up in
    // Brightpearl when an order arrives, so this row counts only contacts
    // stored some other way, and is 0 until a contact pull exists.
    rows.push(CountRow {
        label: "Customers (contacts)",
        count: reference.contacts.to_string(),
        pulled: "looked up for each order".to_owned(),
    });

    let last_pulled = reference
        .kinds
        .iter()
        .filter_map(|kind| kind.fetched_at)
        .chain(reference.products_fetched_at)
        .max()
        .map(|time| local_time(time, zone));
    let (status, class, explanation) = describe_pull(reference.refresh.as_ref(), last_pulled, zone);
    PullView {
        in_progress: reference.in_progress(),
        status,
        class,
        explanation,
        rows,
        has_contacts: reference.contacts > 0,
    }
}

/// Describes the pull: its status badge, the badge's class and a sentence
/// on what happens next.
fn describe_pull(
    refresh: Option<&RefreshState>,
    last_pulled: Option<String>,
    zone: &str,
) -> (&'static str, &'static str, String) {
    let next = "Choose the defaults for new sales orders under Defaults.";
    let Some(refresh) = refresh else {
        return match last_pulled {
            Some(time) => ("Pulled", "ok", format!("Last pulled {time}. {next}")),
            None => (
                "Not pulled yet",
                "warn",
                "pobridge pulls your Brightpearl data once you connect.".to_owned(),
            ),
        };
    };
    let error = refresh.last_error.clone().unwrap_or_default();
    match refresh.status {
        JobStatus::Queued if refresh.attempts > 0 => (
            "Trying again",
            "warn",
            format!(
                "The last attempt failed ({error}). pobridge tries again at {}.",
                local_time(refresh.run_at, zone)
            ),
        ),
        JobStatus::Queued => (
            "Waiting to start",
            "warn",
            "The pull starts within a few seconds. This page updates by itself.".to_owned(),
        ),
        JobStatus::Running => (
            "Pulling now",
            "warn",
            "The counts below grow as each kind of data arrives. This page updates by itself."
                .to_owned(),
        ),
        JobStatus::Done => (
            "Finished",
            "ok",
            format!("Last pulled {}. {next}", last_pulled.unwrap_or_default()),
        ),
        JobStatus::Waiting => (
            "Paused",
            "bad",
            format!("Brightpearl rejected pobridge's access ({error}). Connect again above."),
        ),
        JobStatus::Failed => (
            "Failed",
            "bad",
            format!("The pull failed: {error}. Press Refresh data to try again."),
        ),
    }
}

/// `POST /settings/brightpearl/refresh`: queues a new pull of the
/// account's reference data.
pub(super) async fn refresh(
    State(state): State<PortalState>,
    member: Member,
) -> Result<Response, PortalError> {
    let connection = state.engine.store.connection(member.account.id).await?;
    if connection.is_none() {
        return Err(PortalError::Refused(
            "Brightpearl is not connected, so there is nothing to refresh. \
             Connect Brightpearl under Settings → General first."
                .to_owned(),
        ));
    }

    let job = queue_refresh(&state.engine, member.slug()).await?;
    audit(
        &state,
        &member,
        "brightpearl.refresh",
        format!("queued a pull of Brightpearl reference data (job {job})"),
    )
    .await?;
    tracing::info!(tenant.id = %member.account.id, user.id = %member.user.id, job.id = %job, "reference refresh queued from the portal");
    Ok(redirect_with_notice(
        "/settings",
        "Refresh queued. The counts below update while pobridge pulls the data.",
    ))
}
