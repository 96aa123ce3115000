//! The audit trail of changes made at the command line. Each command that
//! changes an account writes one entry after the change is stored, so that
//! the portal's audit trail and `pobridge export` show it beside the changes
//! staff made in the portal.

use pobridge_engine::admin::users::{record_change, Actor};
use pobridge_engine::admin::{self};
use pobridge_engine::Engine;

/// Characters of a login kept in the actor's name.
const LOGIN_CHARS: usize = 64;

/// Returns the operator running this command, named by the first login
/// set in `SUDO_USER`, `USER` or `LOGNAME`, so that an operator working
/// through sudo is named rather than the account sudo runs as. Control
/// characters are dropped and the login is cut to [`LOGIN_CHARS`].
pub fn operator() -> Actor {
    let login = ["SUDO_USER", "USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| {
            let value = std::env::var(name).ok()?;
            let printable: String = value
                .chars()
                .filter(|c| !c.is_control())
                .take(LOGIN_CHARS)
                .collect();
            (!printable.trim().is_empty()).then_some(printable)
        });
    Actor::command_line(login.as_deref())
}

/// Records a change already stored in account `slug`. `detail` must hold
/// no secret. A failed write is reported on standard error and does not
/// fail the command, because the change itself was stored and the rest of
/// the command, such as printing a new buyer's order URL, must still run.
pub async fn record(engine: &Engine, slug: &str, action: &str, detail: String) {
    let recorded = async {
        let account = admin::account(engine, slug).await?;
        record_change(engine, &account, &operator(), action, detail).await
    };
    if let Err(error) = recorded.await {
        tracing::error!(account.slug = %slug, action, error = %error, "audit entry not written");
        eprintln!(
            "warning: the change to account {slug} was saved, but it could not be written to the audit trail: {error}"
        );
    }
}
