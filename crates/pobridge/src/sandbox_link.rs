//! Connecting accounts to the sandbox that `serve` runs, as if each
//! account's owner had completed the OAuth flow with its own sandbox account.

use std::time::Duration;

use pobridge_engine::admin::{self, AdminError, GrantedTokens};
use pobridge_engine::Engine;
use pobridge_sandbox::Sandbox;
use tokio::sync::watch;

/// How often the server looks for accounts added (with `pobridge account
/// add`) since it started. An order for such an account that arrives first
/// waits for the connection and is released by it.
const CONNECT_INTERVAL: Duration = Duration::from_secs(2);

/// Connects every account without a Brightpearl connection to the sandbox
/// and returns how many were connected. With `replace_sandbox`, sandbox
/// connections stored by an earlier run are replaced too, because the
/// sandbox keeps its tokens in memory only.
pub async fn connect_accounts(
    engine: &Engine,
    sandbox: &Sandbox,
    replace_sandbox: bool,
) -> Result<usize, AdminError> {
    let mut connected = 0;
    for account in engine.store.list_accounts().await? {
        let needs_connection = match engine.store.connection(account.id).await? {
            None => true,
            Some(connection) => replace_sandbox && connection.is_sandbox,
        };
        if !needs_connection {
            continue;
        }
        let grant = sandbox.connect(account.slug.as_str());
        let tokens = GrantedTokens {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            expires_in: grant.expires_in,
            installation_instance_id: grant.installation_instance_id,
            api_domain: grant.api_domain,
        };
        admin::connect_sandbox(engine, &account, &tokens).await?;
        connected += 1;
    }
    Ok(connected)
}

/// Connects accounts created while the server runs, until shutdown.
pub async fn keep_connecting(
    engine: Engine,
    sandbox: Sandbox,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CONNECT_INTERVAL) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(error) = connect_accounts(&engine, &sandbox, false).await {
            tracing::error!(error = %error, "could not connect new accounts to the Brightpearl sandbox");
        }
    }
}
