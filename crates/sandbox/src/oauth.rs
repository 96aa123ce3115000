//! The OAuth 2.0 authorization-code flow: the approval page and the token
//! endpoint in each of its published URL forms.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use maud::{html, DOCTYPE};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};

use crate::account::Account;
use crate::Sandbox;

/// How long an authorization code may wait before it is exchanged.
const CODE_LIFETIME_SECONDS: i64 = 600;

const UNKNOWN_CODE: &str = "The auth token has either expired or does not exist";
const REDIRECT_MISMATCH: &str = "Redirect uri does not match that used to request auth token";

/// A code handed out by the approval page, waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub account: String,
    pub redirect_uri: String,
    pub expires_at: DateTime<Utc>,
}

/// A random opaque token with a short prefix naming its kind.
pub(crate) fn random_token(kind: &str) -> String {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{kind}-{body}")
}

/// `GET /authorize/{account}`: the page where a person approves or denies
/// the app.
pub(crate) async fn authorize_page(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let param = |key: &str| params.get(key).cloned().unwrap_or_default();
    if let Err(problem) = check_authorize_request(&sandbox, &params) {
        return error_page(StatusCode::BAD_REQUEST, &problem);
    }
    let exists = sandbox.has_account(&account);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Authorise app access" } }
            body {
                h1 { "Brightpearl sandbox" }
                p { "The app " strong { (param("client_id")) } " asks for access to account " strong { (account) } "." }
                @if !exists {
                    p { "The account does not exist yet; approving creates it with the sample catalogue." }
                }
                form method="post" {
                    input type="hidden" name="client_id" value=(param("client_id"));
                    input type="hidden" name="redirect_uri" value=(param("redirect_uri"));
                    input type="hidden" name="state" value=(param("state"));
                    button type="submit" name="decision" value="approve" { "Approve" }
                    " "
                    button type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        }
    };
    Html(page.into_string()).into_response()
}

fn check_authorize_request(
    sandbox: &Sandbox,
    params: &HashMap<String, String>,
) -> Result<(), String> {
    let response_type = params.get("response_type").map(String::as_str);
    if response_type != Some("code") {
        return Err(format!(
            "response_type must be \"code\", got {response_type:?}"
        ));
    }
    let client_id = params
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    if client_id != sandbox.config().app_ref {
        return Err(format!("client_id {client_id:?} is not a registered app"));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .map(String::as_str)
        .unwrap_or_default();
    url::Url::parse(redirect_uri)
        .map(|_| ())
        .map_err(|e| format!("redirect_uri {redirect_uri:?} is not an absolute URL: {e}"))
}

/// `POST /authorize/{account}`: the Approve or Deny button.
pub(crate) async fn authorize_decision(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let field = |key: &str| form.get(key).cloned().unwrap_or_default();
    let redirect_uri = field("redirect_uri");
    let Ok(mut target) = url::Url::parse(&redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not an absolute URL",
        );
    };
    if field("decision") == "approve" {
        let code = sandbox.issue_auth_code(&account, &redirect_uri);
        target.query_pairs_mut().append_pair("code", &code);
    } else {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied");
    }
    target
        .query_pairs_mut()
        .append_pair("state", &field("state"));
    Redirect::to(target.as_str()).into_response()
}

fn error_page(status: StatusCode, problem: &str) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Authorisation failed" } }
            body { h1 { "Authorisation failed" } p { (problem) } }
        }
    };
    (status, Html(page.into_string())).into_response()
}

/// `POST /token/{account}` and `POST /{account}/oauth/token`.
pub(crate) async fn token_with_account_in_path(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    original: OriginalUri,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&sandbox, Some(account), &original, &uri, &headers, &body)
}

/// `POST /oauth/token`, with the account code in the form body.
pub(crate) async fn token_with_account_in_form(
    State(sandbox): State<Sandbox>,
    original: OriginalUri,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&sandbox, None, &original, &uri, &headers, &body)
}

fn token(
    sandbox: &Sandbox,
    account: Option<String>,
    original: &OriginalUri,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return oauth_error(
            "invalid_request",
            Some("The token endpoint takes an application/x-www-form-urlencoded body"),
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(body) else {
        return oauth_error(
            "invalid_request",
            Some("The form body could not be decoded"),
        );
    };
    let account = account.or_else(|| {
        ["account", "accountCode", "account_code"]
            .iter()
            .find_map(|key| form.get(*key).cloned())
    });
    let Some(account) = account else {
        return oauth_error(
            "invalid_request",
            Some("No account code in the path or the form body"),
        );
    };
    let config = sandbox.config();
    let client_id = form
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let secret_ok = match &config.client_secret {
        Some(expected) => form.get("client_secret") == Some(expected),
        None => true,
    };
    if client_id != config.app_ref || !secret_ok {
        return oauth_error("invalid_client", None);
    }
    let api_domain = api_domain(sandbox, original, uri, headers);
    let result = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => sandbox.exchange_code(&account, &form, &api_domain),
        Some("refresh_token") => sandbox.refresh(&account, &form, &api_domain),
        Some(_) => Err(("unsupported_grant_type", None)),
        None => Err(("invalid_request", Some("grant_type is required"))),
    };
    match result {
        Ok(reply) => Json(reply).into_response(),
        Err((error, description)) => oauth_error(error, description),
    }
}

fn oauth_error(error: &str, description: Option<&str>) -> Response {
    let mut body = json!({ "error": error });
    if let Some(description) = description {
        body["error_description"] = json!(description);
    }
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// The configured `api_domain`, or the scheme, host and mount path this
/// request arrived on.
fn api_domain(sandbox: &Sandbox, original: &OriginalUri, uri: &Uri, headers: &HeaderMap) -> String {
    let configured = &sandbox.config().api_domain;
    if !configured.is_empty() {
        return configured.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let full = original.0.path();
    let prefix = full.strip_suffix(uri.path()).unwrap_or_default();
    format!("http://{host}{prefix}")
}

type TokenResult = Result<Value, (&'static str, Option<&'static str>)>;

impl Sandbox {
    pub(crate) fn issue_auth_code(&self, account: &str, redirect_uri: &str) -> String {
        let code = random_token("code");
        let expires_at = self.now() + Duration::seconds(CODE_LIFETIME_SECONDS);
        let mut state = self.lock();
        state.ensure_account(account, self.config());
        state.auth_codes.insert(
            code.clone(),
            AuthCode {
                account: account.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                expires_at,
            },
        );
        code
    }

    fn exchange_code(
        &self,
        account: &str,
        form: &HashMap<String, String>,
        api_domain: &str,
    ) -> TokenResult {
        let now = self.now();
        let code = form.get("code").map(String::as_str).unwrap_or_default();
        let mut state = self.lock();
        let pending = state
            .auth_codes
            .get(code)
            .filter(|c| c.account == account && c.expires_at > now)
            .cloned()
            .ok_or(("invalid_grant", Some(UNKNOWN_CODE)))?;
        if form.get("redirect_uri").map(String::as_str) != Some(pending.redirect_uri.as_str()) {
            return Err(("invalid_grant", Some(REDIRECT_MISMATCH)));
        }
        state.auth_codes.remove(code);
        let account = state
            .accounts
            .get_mut(account)
            .ok_or(("invalid_grant", Some(UNKNOWN_CODE)))?;
        Ok(grant_reply(account, now, api_domain, true))
    }

    fn refresh(
        &self,
        account: &str,
        form: &HashMap<String, String>,
        api_domain: &str,
    ) -> TokenResult {
        let now = self.now();
        let presented = form
            .get("refresh_token")
            .map(String::as_str)
            .unwrap_or_default();
        let mut state = self.lock();
        let account = state
            .accounts
            .get_mut(account)
            .ok_or(("invalid_grant", Some(UNKNOWN_CODE)))?;
        let Some(position) = account.tokens.refresh.iter().position(|t| t == presented) else {
            return Err(("invalid_grant", Some(UNKNOWN_CODE)));
        };
        // The refresh token rotates: the presented one stops working, so a
        // client must keep the one in the reply.
        account.tokens.refresh.remove(position);
        Ok(refresh_reply(account, now, api_domain))
    }
}

/// Issues a new access and refresh token pair, as after a completed grant.
pub(crate) fn grant_reply(
    account: &mut Account,
    now: DateTime<Utc>,
    api_domain: &str,
    with_instance: bool,
) -> Value {
    let access = account.issue_access_token(now);
    let refresh = account.issue_refresh_token();
    let mut reply = json!({
        "access_token": access.token,
        "refresh_token": refresh,
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": (access.expires_at - now).num_seconds()
    });
    if with_instance {
        reply["installation_instance_id"] = json!(account.instance_id.to_string());
    }
    reply
}

/// Answers a refresh: while the newest access token is alive its remaining
/// lifetime is reported, as in the captured refresh (`expires_in` 537227,
/// not a fresh 604800); once it has expired a new seven-day token is issued.
fn refresh_reply(account: &mut Account, now: DateTime<Utc>, api_domain: &str) -> Value {
    let live_expiry = account
        .tokens
        .access
        .iter()
        .map(|t| t.expires_at)
        .max()
        .filter(|expiry| *expiry > now);
    let Some(expires_at) = live_expiry else {
        return grant_reply(account, now, api_domain, false);
    };
    let access = random_token("at");
    account.tokens.access.push(crate::account::AccessToken {
        token: access.clone(),
        expires_at,
    });
    let refresh = account.issue_refresh_token();
    json!({
        "access_token": access,
        "refresh_token": refresh,
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": (expires_at - now).num_seconds()
    })
}
