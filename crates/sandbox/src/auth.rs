//! Checks the credentials on an API call the way Brightpearl's gateway does.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::account::Account;
use crate::envelope::Reply;

/// Checks the headers of an API call against the account's tokens.
///
/// Accepted: `Authorization: Bearer {access token}` with
/// `brightpearl-app-ref` (a `brightpearl-dev-ref` may accompany it), or
/// `brightpearl-app-ref` with `brightpearl-account-token` or
/// `brightpearl-staff-token`. Failures are 401 replies with a string body.
pub(crate) fn check(
    headers: &HeaderMap,
    account: &Account,
    app_ref: &str,
    now: DateTime<Utc>,
) -> Result<(), Reply> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // NOTE: the wording of this reply is invented; no capture shows a
    // missing or wrong app ref.
    match header("brightpearl-app-ref") {
        Some(sent) if sent == app_ref => {}
        Some(sent) => {
            return Err(Reply::unauthorized(format!(
                "Invalid app reference: {sent}"
            )))
        }
        None => return Err(Reply::unauthorized("Missing brightpearl-app-ref header")),
    }
    if let Some(authorization) = header("authorization") {
        let token = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .unwrap_or(authorization)
            .trim();
        return check_bearer(token, account, now);
    }
    if let Some(token) = header("brightpearl-account-token") {
        return check_static(token, &account.tokens.account_token);
    }
    if let Some(token) = header("brightpearl-staff-token") {
        return check_static(token, &account.tokens.staff_token);
    }
    Err(Reply::unauthorized("Invalid instance token: "))
}

fn check_bearer(token: &str, account: &Account, now: DateTime<Utc>) -> Result<(), Reply> {
    match account.tokens.access.iter().find(|t| t.token == token) {
        Some(known) if known.expires_at > now => Ok(()),
        Some(_) => Err(Reply::unauthorized("Authorization token expired")),
        None => Err(Reply::unauthorized(format!(
            "Invalid instance token: {token}"
        ))),
    }
}

fn check_static(token: &str, expected: &str) -> Result<(), Reply> {
    if token == expected {
        Ok(())
    } else {
        Err(Reply::unauthorized(format!(
            "Invalid instance token: {token}"
        )))
    }
}
