//! `pobridge account add|list` and `pobridge user add|list`: the accounts,
//! their portal users and the e-mail that lets each choose a password.

use pobridge_engine::admin::users::add_user;
use pobridge_engine::admin::{self, AdminError};
use pobridge_engine::Engine;
use pobridge_portal::mail::{queue_password_link, PasswordMail};
use pobridge_store::{Account, StoreError, User};

use super::audit;
use crate::config::Config;
use crate::output::{line, print_json, print_table, time_text};

/// Creates the account and its first user, and queues the user's
/// set-password e-mail.
pub async fn account_add(
    engine: &Engine,
    config: &Config,
    slug: &str,
    email: &str,
) -> anyhow::Result<()> {
    let email = &admin::parse_email(email)?;
    // Both are checked first, so that a taken address leaves no account
    // without a user.
    match admin::account(engine, slug).await {
        Ok(_) => return Err(AdminError::AccountExists(slug.to_owned()).into()),
        Err(AdminError::AccountNotFound(_)) => {}
        Err(error) => return Err(error.into()),
    }
    match engine.store.user_by_email(email).await {
        Ok(_) => anyhow::bail!(
            "--email {email:?} already logs in to pobridge; give the new account another address"
        ),
        Err(StoreError::NotFound { .. }) => {}
        Err(error) => return Err(AdminError::from(error).into()),
    }

    let account = admin::create_account(engine, slug, email).await?;
    let detail = format!("created account {} for {email}", account.slug);
    audit::record(engine, slug, "account.create", detail).await;
    // A running server's worker picks the check up; at start-up every
    // account gets one anyway.
    engine.schedule_alert_check(account.id).await?;
    let (_, user) = add_user(engine, slug, email, &audit::operator()).await?;
    queue_link(engine, config, &account, &user, PasswordMail::Welcome).await?;

    line(format_args!(
        "Created account {} ({}).",
        account.slug, account.email
    ))?;
    print_queued(config, &account, &user)?;
    line(format_args!(
        "Next: pobridge buyer add {} --from DOMAIN:ID --to DOMAIN:ID --sender DOMAIN:ID --secret -",
        account.slug
    ))?;
    Ok(())
}

/// Adds a user to the account and queues an invitation.
pub async fn user_add(
    engine: &Engine,
    config: &Config,
    slug: &str,
    email: &str,
) -> anyhow::Result<()> {
    let (account, user) = add_user(engine, slug, email, &audit::operator()).await?;
    queue_link(engine, config, &account, &user, PasswordMail::Invitation).await?;

    line(format_args!(
        "Added user {} to account {}.",
        user.email, account.slug
    ))?;
    print_queued(config, &account, &user)?;
    Ok(())
}

async fn queue_link(
    engine: &Engine,
    config: &Config,
    account: &Account,
    user: &User,
    mail: PasswordMail,
) -> anyhow::Result<()> {
    let portal = config.portal_config(config.public_base_url());
    queue_password_link(engine, &portal, account, user, mail)
        .await
        .map_err(AdminError::from)?;
    Ok(())
}

fn print_queued(config: &Config, account: &Account, user: &User) -> anyhow::Result<()> {
    line(format_args!(
        "Queued an e-mail to {} with a link to choose a password; the link works once, for {} hours.",
        user.email, config.portal.link_hours
    ))?;
    if config.smtp.is_none() {
        line(format_args!(
            "No SMTP server is configured, so the e-mail waits in the outbox: read it with \
             `pobridge mail list --account {}` and `pobridge mail show ID`.",
            account.slug
        ))?;
    } else {
        line("`pobridge serve` sends it through the configured SMTP server.")?;
    }
    Ok(())
}

/// One account as `account list` prints it.
#[derive(Debug, serde::Serialize)]
struct AccountRow {
    slug: String,
    email: String,
    created_at: chrono::DateTime<chrono::Utc>,
    brightpearl_connected: bool,
}

/// Lists every account, oldest first.
pub async fn account_list(engine: &Engine, json: bool) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for account in engine
        .store
        .list_accounts()
        .await
        .map_err(AdminError::from)?
    {
        let connected = engine
            .store
            .connection(account.id)
            .await
            .map_err(AdminError::from)?
            .is_some();
        rows.push(AccountRow {
            slug: account.slug.to_string(),
            email: account.email,
            created_at: account.created_at,
            brightpearl_connected: connected,
        });
    }
    if json {
        return print_json(&rows);
    }
    let table = rows
        .iter()
        .map(|row| {
            vec![
                row.slug.clone(),
                row.email.clone(),
                time_text(&row.created_at),
                if row.brightpearl_connected {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
            ]
        })
        .collect();
    let empty = "No accounts yet; create one with `pobridge account add SLUG --email EMAIL`.";
    print_table(
        &["account", "email", "created", "brightpearl"],
        table,
        empty,
    )?;
    Ok(())
}

/// One portal user as `user list` prints it, without the password hash.
#[derive(Debug, serde::Serialize)]
struct UserRow {
    email: String,
    created_at: chrono::DateTime<chrono::Utc>,
    password_set_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Lists the account's portal users.
pub async fn user_list(engine: &Engine, slug: &str, json: bool) -> anyhow::Result<()> {
    let rows: Vec<UserRow> = admin::users::list_users(engine, slug)
        .await?
        .into_iter()
        .map(|user| UserRow {
            email: user.email,
            created_at: user.created_at,
            password_set_at: user.password_set_at,
        })
        .collect();
    if json {
        return print_json(&rows);
    }
    let table = rows
        .iter()
        .map(|row| {
            let password = match &row.password_set_at {
                Some(at) => format!("set {}", time_text(at)),
                None => "not chosen yet".to_owned(),
            };
            vec![row.email.clone(), time_text(&row.created_at), password]
        })
        .collect();
    let empty =
        format!("Account {slug} has no users; add one with `pobridge user add {slug} EMAIL`.");
    print_table(&["email", "added", "password"], table, &empty)?;
    Ok(())
}
