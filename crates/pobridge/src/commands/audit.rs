//! The audit trail of changes made at the command line. Each command that
//! changes an account writes one entry after the change is stored, so that
//! the portal's Audit page and `pobridge export` show it beside the changes
//! staff made in the portal.

use anyhow::Context;
use pobridge_engine::admin::users::{record_change, Actor};
use pobridge_engine::admin::{self};
use pobridge_engine::Engine;

/// Returns the operator running this command, named by the login from
/// `USER` or `LOGNAME` when either is set.
pub fn operator() -> Actor {
    let login = ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok());
    Actor::command_line(login.as_deref())
}

/// Records a change already stored in account `slug`. `detail` must hold
/// no secret. The error of a failed write states that the change itself was kept.
pub async fn record(
    engine: &Engine,
    slug: &str,
    action: &str,
    detail: String,
) -> anyhow::Result<()> {
    let recorded = async {
        let account = admin::account(engine, slug).await?;
        record_change(engine, &account, &operator(), action, detail).await
    };
    recorded.await.with_context(|| {
        format!("the change to account {slug} was saved, but it could not be written to the audit trail")
    })
}
