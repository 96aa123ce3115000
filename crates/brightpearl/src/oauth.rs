//! The OAuth 2.0 authorization-code grant against Brightpearl's token
//! endpoint, and the token refresh the client runs on a 401.
//!
//! The token endpoint takes a form-encoded body (every value encoded) and
//! no API headers: no bearer token, no app reference headers. It replies
//! in snake_case JSON, unlike the rest of the API.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use pobridge_core::{api_base_from_domain, Clock, Connection, ConnectionAuth, ConnectionStatus};
use serde::Deserialize;

use crate::config::ClientConfig;
use crate::encode;
use crate::error::{BrightpearlError, ErrorKind};

/// Persists a connection after its tokens were refreshed, so that a
/// rotated refresh token survives a restart.
#[async_trait]
pub trait TokenSink: Send + Sync {
    /// Stores `connection`; the error text is logged by the client.
    async fn save(&self, connection: &Connection) -> Result<(), String>;
}

/// Builds the URL that sends a user to approve the app for `account_code`.
/// Every value is URL-encoded.
pub fn authorize_url(
    config: &ClientConfig,
    account_code: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let base = fill_account(&config.authorize_url_template, account_code);
    let separator = if base.contains('?') { '&' } else { '?' };
    let query = encode::query([
        ("response_type", "code"),
        ("client_id", config.app_ref.as_str()),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ]);
    format!("{base}{separator}{query}")
}

/// Exchanges an authorization code for tokens and returns the new
/// connection: API base from `api_domain`, expiry from `expires_in`, and the
/// `installation_instance_id` that keys sales-order de-duplication.
pub async fn exchange_code(
    http: &reqwest::Client,
    config: &ClientConfig,
    account_code: &str,
    code: &str,
    redirect_uri: &str,
    clock: &dyn Clock,
) -> Result<Connection, BrightpearlError> {
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    let reply = post_token_form(http, config, account_code, form).await?;
    let now = clock.now();

    let request = token_request_name(config, account_code);
    let missing = |field: &str| {
        BrightpearlError::new(ErrorKind::Other, format!("the token reply has no {field}"))
            .with_request(request.clone())
    };
    let api_domain = reply
        .api_domain
        .clone()
        .ok_or_else(|| missing("api_domain"))?;
    let access_token = reply
        .access_token
        .clone()
        .ok_or_else(|| missing("access_token"))?;
    let refresh_token = reply
        .refresh_token
        .clone()
        .ok_or_else(|| missing("refresh_token"))?;

    Ok(Connection {
        account_code: account_code.to_owned(),
        api_base: api_base_from_domain(&api_domain),
        auth: ConnectionAuth::OAuth {
            access_token,
            refresh_token,
            expires_at: expiry(now, reply.expires_in),
        },
        installation_instance_id: reply.installation_instance_id,
        is_sandbox: false,
        status: ConnectionStatus::Connected,
        connected_at: now,
    })
}

/// Refreshes an OAuth connection's tokens. Fields the reply leaves out
/// (`installation_instance_id` always, `refresh_token` and `api_domain`
/// sometimes) keep their stored values.
pub(crate) async fn refresh(
    http: &reqwest::Client,
    config: &ClientConfig,
    connection: &Connection,
    clock: &dyn Clock,
) -> Result<Connection, BrightpearlError> {
    let ConnectionAuth::OAuth { refresh_token, .. } = &connection.auth else {
        return Err(BrightpearlError::new(
            ErrorKind::Unauthorized,
            "a private-app token cannot be refreshed; create a new token in Brightpearl",
        ));
    };
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let reply = post_token_form(http, config, &connection.account_code, form).await?;
    let access_token = reply.access_token.ok_or_else(|| {
        BrightpearlError::new(ErrorKind::Other, "the token reply has no access_token")
            .with_request(token_request_name(config, &connection.account_code))
    })?;

    let mut refreshed = connection.clone();
    refreshed.auth = ConnectionAuth::OAuth {
        access_token,
        refresh_token: reply.refresh_token.unwrap_or_else(|| refresh_token.clone()),
        expires_at: expiry(clock.now(), reply.expires_in),
    };
    if let Some(domain) = reply.api_domain {
        refreshed.api_base = api_base_from_domain(&domain);
    }
    if reply.installation_instance_id.is_some() {
        refreshed.installation_instance_id = reply.installation_instance_id;
    }
    refreshed.status = ConnectionStatus::Connected;
    Ok(refreshed)
}

/// The token endpoint's reply, success or OAuth error.
#[derive(Debug, Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "crate::de::int")]
    expires_in: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    installation_instance_id: Option<String>,
    api_domain: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn post_token_form(
    http: &reqwest::Client,
    config: &ClientConfig,
    account_code: &str,
    mut form: Vec<(&str, &str)>,
) -> Result<TokenReply, BrightpearlError> {
    form.push(("client_id", config.app_ref.as_str()));
    if let Some(secret) = &config.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    if !config.token_url_template.contains("{account}") {
        form.push(("account_code", account_code));
    }
    let request = token_request_name(config, account_code);

    let response = http
        .post(fill_account(&config.token_url_template, account_code))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .timeout(config.request_timeout)
        .send()
        .await
        .map_err(|error| {
            BrightpearlError::new(
                ErrorKind::Transient { throttled: false },
                format!("the token request failed: {error}"),
            )
            .with_request(request.clone())
            .with_source(error)
        })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|error| {
        BrightpearlError::new(
            ErrorKind::Transient { throttled: false },
            format!("reading the token reply failed: {error}"),
        )
        .with_request(request.clone())
        .with_source(error)
    })?;
    let reply: Option<TokenReply> = serde_json::from_slice(&body).ok();

    match reply {
        Some(reply) if status.is_success() && reply.error.is_none() => Ok(reply),
        reply if status.is_server_error() || status.as_u16() == 429 => Err(BrightpearlError::new(
            ErrorKind::Transient { throttled: status.as_u16() == 429 },
            format!("the token endpoint is unavailable (HTTP {}){}", status.as_u16(), oauth_error(reply.as_ref())),
        )
        .with_request(request)),
        reply if status.is_client_error() || reply.as_ref().is_some_and(|r| r.error.is_some()) => {
            Err(BrightpearlError::new(
                ErrorKind::Unauthorized,
                format!(
                    "the token endpoint rejected the request (HTTP {}){}; reconnect the account, or check the app reference and client secret",
                    status.as_u16(),
                    oauth_error(reply.as_ref())
                ),
            )
            .with_request(request))
        }
        _ => Err(BrightpearlError::new(
            ErrorKind::Other,
            format!("unexpected token reply (HTTP {})", status.as_u16()),
        )
        .with_request(request)),
    }
}

fn oauth_error(reply: Option<&TokenReply>) -> String {
    let Some(reply) = reply else {
        return String::new();
    };
    match (&reply.error, &reply.error_description) {
        (Some(error), Some(description)) => format!(": {error}: {description}"),
        (Some(error), None) => format!(": {error}"),
        _ => String::new(),
    }
}

/// Names the token request in messages: method and URL without a query.
fn token_request_name(config: &ClientConfig, account_code: &str) -> String {
    let url = fill_account(&config.token_url_template, account_code);
    let without_query = url.split('?').next().unwrap_or_default();
    format!("POST {without_query}")
}

fn fill_account(template: &str, account_code: &str) -> String {
    template.replace("{account}", &encode::component(account_code))
}

fn expiry(now: DateTime<Utc>, expires_in: Option<i64>) -> DateTime<Utc> {
    // NOTE: a reply without expires_in is assumed to last 7 days, the
    // lifetime seen on a first grant; a 401 still triggers a refresh sooner.
    let seconds = expires_in
        .filter(|seconds| *seconds > 0)
        .unwrap_or(7 * 24 * 3600);
    now + Duration::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_encodes_every_value() {
        let config = ClientConfig {
            app_ref: "pobridge app".into(),
            ..ClientConfig::default()
        };
        let url = authorize_url(
            &config,
            "acme/widgets",
            "https://pobridge.example/callback?x=1&y=2",
            "st+ate=/",
        );
        assert_eq!(
            url,
            "https://oauth.brightpearl.com/authorize/acme%2Fwidgets?response_type=code\
             &client_id=pobridge%20app\
             &redirect_uri=https%3A%2F%2Fpobridge.example%2Fcallback%3Fx%3D1%26y%3D2\
             &state=st%2Bate%3D%2F"
        );
    }

    #[test]
    fn authorize_url_appends_to_existing_query() {
        let config = ClientConfig {
            app_ref: "app".into(),
            authorize_url_template: "https://sso.example/authorize?account={account}".into(),
            ..ClientConfig::default()
        };
        let url = authorize_url(&config, "acme", "https://x.example/cb", "s");
        assert!(
            url.starts_with("https://sso.example/authorize?account=acme&response_type=code"),
            "{url}"
        );
    }

    #[test]
    fn missing_expires_in_gets_a_week() {
        let now = DateTime::parse_from_rfc3339("2024-06-03T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(expiry(now, Some(537_227)), now + Duration::seconds(537_227));
        assert_eq!(expiry(now, None), now + Duration::days(7));
        assert_eq!(expiry(now, Some(0)), now + Duration::days(7));
    }
}
