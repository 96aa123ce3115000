//! Settings → Users: the account's users, inviting a new one and sending
//! an invitation again.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use pobridge_engine::admin::users::{add_user, invite_again, list_users, Actor};
use pobridge_engine::admin::AdminError;
use pobridge_store::{Account, User, UserId};
use serde::Deserialize;

use super::audit::local_time;
use crate::auth::Member;
use crate::extract::Form;
use crate::mail::{queue_password_link, PasswordMail};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/settings/users", get(users_page).post(invite))
        .route("/settings/users/{id}/invite", post(invite_user_again))
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    /// The settings tab to highlight.
    tab: &'static str,
    users: Vec<UserRow>,
    email: String,
    error: Option<String>,
    /// How long an invitation link works.
    link_hours: i64,
}

/// One user as the list shows it.
struct UserRow {
    id: UserId,
    email: String,
    pending: bool,
    /// When the password was set, or when the user was invited.
    since: String,
    is_you: bool,
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    email: String,
}

async fn users_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    render(&state, &member, &jar, String::new(), None).await
}

/// Creates the user and queues an invitation with a set-password link.
async fn invite(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<InviteForm>,
) -> Result<Response, PortalError> {
    let actor = Actor::user(&member.user);

    let added = add_user(&state.engine, member.slug(), &form.email, &actor).await;
    let (account, user) = match added {
        Ok(added) => added,
        Err(AdminError::Invalid {
            field, expected, ..
        }) => {
            let error = if field == "email" {
                "This address already has a pobridge login. Enter another address.".to_owned()
            } else {
                format!("Enter {expected}.")
            };
            let page = render(&state, &member, &jar, form.email, Some(error)).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(error) => return Err(error.into()),
    };
    let notice = format!("Invitation sent to {}.", user.email);
    send_invitation(&state, &account, &user, &notice).await
}

/// Sends a new set-password link to a user who has not chosen a password.
async fn invite_user_again(
    State(state): State<PortalState>,
    member: Member,
    Path(id): Path<i64>,
) -> Result<Response, PortalError> {
    let actor = Actor::user(&member.user);

    let (account, user) = invite_again(&state.engine, member.slug(), UserId(id), &actor).await?;
    let notice = format!("Invitation sent again to {}.", user.email);
    send_invitation(&state, &account, &user, &notice).await
}

/// Queues an invitation with a new set-password link and returns to the
/// list with `notice`.
async fn send_invitation(
    state: &PortalState,
    account: &Account,
    user: &User,
    notice: &str,
) -> Result<Response, PortalError> {
    let mail = PasswordMail::Invitation;
    queue_password_link(&state.engine, &state.config, account, user, mail).await?;
    Ok(redirect_with_notice("/settings/users", notice))
}

async fn render(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    email: String,
    error: Option<String>,
) -> Result<Response, PortalError> {
    let users = list_users(&state.engine, member.slug()).await?;
    let time_zone = &member.account.settings.time_zone;
    let rows = users
        .into_iter()
        .map(|user| user_row(user, member.user.id, time_zone))
        .collect();

    let layout = Layout::new(member, jar, "settings");
    let page = UsersPage {
        layout,
        tab: "users",
        users: rows,
        email,
        error,
        link_hours: state.config.link_hours,
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

fn user_row(user: User, you: UserId, time_zone: &str) -> UserRow {
    let since = user.password_set_at.unwrap_or(user.created_at);
    UserRow {
        id: user.id,
        pending: user.password_hash.is_none(),
        since: local_time(since, time_zone),
        is_you: user.id == you,
        email: user.email,
    }
}
