//! The tokens of one account's client: the headers each request carries and
//! the single-flight refresh that concurrent 401s share.

use std::sync::{Arc, RwLock};

use pobridge_core::{Clock, Connection, ConnectionAuth, ConnectionStatus};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::ClientConfig;
use crate::error::{BrightpearlError, ErrorKind};
use crate::oauth::{self, TokenSink};

/// The current connection and a counter that changes on every refresh, so
/// a caller whose request failed with old tokens can tell whether someone
/// else already refreshed them.
pub(crate) struct TokenState {
    current: RwLock<Versioned>,
    /// Held while a refresh runs; keeps the last definitive refresh failure
    /// so callers queued behind it fail without another token request.
    gate: tokio::sync::Mutex<Option<FailedRefresh>>,
    sink: Arc<dyn TokenSink>,
}

struct Versioned {
    connection: Connection,
    generation: u64,
}

struct FailedRefresh {
    generation: u64,
    error: BrightpearlError,
}

impl TokenState {
    pub(crate) fn new(connection: Connection, sink: Arc<dyn TokenSink>) -> Self {
        Self {
            current: RwLock::new(Versioned {
                connection,
                generation: 0,
            }),
            gate: tokio::sync::Mutex::new(None),
            sink,
        }
    }

    /// Returns the current connection and its generation.
    pub(crate) fn snapshot(&self) -> (Connection, u64) {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (current.connection.clone(), current.generation)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Versioned> {
        self.current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refreshes the tokens unless they changed since generation `seen`.
    /// Concurrent callers wait for one refresh and then share its outcome.
    pub(crate) async fn refresh(
        &self,
        http: &reqwest::Client,
        config: &ClientConfig,
        clock: &dyn Clock,
        seen: u64,
    ) -> Result<(), BrightpearlError> {
        let mut failed = self.gate.lock().await;
        let (connection, generation) = self.snapshot();
        if generation != seen {
            return Ok(());
        }
        if let Some(failure) = failed.as_ref().filter(|f| f.generation == generation) {
            return Err(failure.error.clone());
        }

        match oauth::refresh(http, config, &connection, clock).await {
            Ok(refreshed) => {
                {
                    let mut current = self.write();
                    current.connection = refreshed.clone();
                    current.generation += 1;
                }
                tracing::info!(account = %refreshed.account_code, "refreshed the Brightpearl access token");
                if let Err(error) = self.sink.save(&refreshed).await {
                    // The new tokens still work in memory; the next refresh
                    // saves again.
                    tracing::error!(account = %refreshed.account_code, %error, "could not save refreshed Brightpearl tokens");
                }
                Ok(())
            }
            Err(error) => {
                let error = error.into_refresh_failure();
                tracing::warn!(account = %connection.account_code, %error, "Brightpearl token refresh failed");
                if error.kind() == &ErrorKind::Unauthorized {
                    self.write().connection.status = ConnectionStatus::NeedsReauthorization;
                    *failed = Some(FailedRefresh {
                        generation,
                        error: error.clone(),
                    });
                }
                Err(error)
            }
        }
    }

    /// Records that Brightpearl rejected tokens that cannot be refreshed.
    pub(crate) fn mark_needs_reauthorization(&self) {
        self.write().connection.status = ConnectionStatus::NeedsReauthorization;
    }
}

/// Builds the authentication headers of one API request.
pub(crate) fn headers(
    config: &ClientConfig,
    connection: &Connection,
) -> Result<HeaderMap, BrightpearlError> {
    let mut headers = HeaderMap::new();
    insert(&mut headers, "brightpearl-app-ref", &config.app_ref)?;
    match &connection.auth {
        ConnectionAuth::OAuth { access_token, .. } => {
            insert(
                &mut headers,
                "authorization",
                &format!("Bearer {access_token}"),
            )?;
            if let Some(dev_ref) = &config.dev_ref {
                insert(&mut headers, "brightpearl-dev-ref", dev_ref)?;
            }
        }
        ConnectionAuth::PrivateApp { token, staff } => {
            let name = if *staff {
                "brightpearl-staff-token"
            } else {
                "brightpearl-account-token"
            };
            insert(&mut headers, name, token)?;
        }
    }
    Ok(headers)
}

fn insert(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), BrightpearlError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        // The value is not shown: it may be a token.
        BrightpearlError::new(
            ErrorKind::Other,
            format!("the {name} header value contains characters HTTP headers cannot carry"),
        )
    })?;
    value.set_sensitive(name != "brightpearl-app-ref" && name != "brightpearl-dev-ref");
    // `from_static` panics only on names that are not lower-case tokens;
    // every caller passes such a literal.
    headers.insert(HeaderName::from_static(name), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn connection(auth: ConnectionAuth) -> Connection {
        Connection {
            account_code: "acme".into(),
            api_base: "https://ws-use.brightpearl.com".into(),
            auth,
            installation_instance_id: Some("13".into()),
            is_sandbox: false,
            status: ConnectionStatus::Connected,
            connected_at: chrono::DateTime::<Utc>::MIN_UTC,
        }
    }

    fn config() -> ClientConfig {
        ClientConfig {
            app_ref: "pobridge".into(),
            dev_ref: Some("devco".into()),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn oauth_sends_bearer_app_and_dev_ref() {
        let headers = headers(
            &config(),
            &connection(ConnectionAuth::OAuth {
                access_token: "at".into(),
                refresh_token: "rt".into(),
                expires_at: chrono::DateTime::<Utc>::MAX_UTC,
            }),
        )
        .unwrap();
        assert_eq!(headers["authorization"], "Bearer at");
        assert_eq!(headers["brightpearl-app-ref"], "pobridge");
        assert_eq!(headers["brightpearl-dev-ref"], "devco");
        assert!(headers["authorization"].is_sensitive());
        assert_eq!(headers.len(), 3);
    }

    #[test]
    fn private_app_sends_account_or_staff_token() {
        let account = headers(
            &config(),
            &connection(ConnectionAuth::PrivateApp {
                token: "tok".into(),
                staff: false,
            }),
        )
        .unwrap();
        assert_eq!(account["brightpearl-account-token"], "tok");
        assert!(account.get("authorization").is_none());
        assert!(account.get("brightpearl-dev-ref").is_none());

        let staff = headers(
            &config(),
            &connection(ConnectionAuth::PrivateApp {
                token: "tok".into(),
                staff: true,
            }),
        )
        .unwrap();
        assert_eq!(staff["brightpearl-staff-token"], "tok");
        assert!(staff.get("brightpearl-account-token").is_none());
    }

    #[test]
    fn token_with_newline_is_rejected_without_echo() {
        let error = headers(
            &config(),
            &connection(ConnectionAuth::PrivateApp {
                token: "bad\ntoken".into(),
                staff: false,
            }),
        )
        .unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Other);
        assert!(!error.to_string().contains("bad"));
    }
}
