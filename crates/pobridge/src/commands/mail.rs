//! `pobridge mail`: the portal's outgoing e-mail. Without an SMTP server
//! this is how the operator reads a set-password link.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;
use pobridge_engine::admin::{self, AdminError};
use pobridge_engine::Engine;
use pobridge_store::{Mail, MailId, StoreError};
use serde::Serialize;

use crate::cli::MailCommand;
use crate::output::{line, or_blank, print_json, print_pairs, print_table, time_text};

/// One outbox message as the commands print it.
#[derive(Debug, Serialize)]
struct MailView {
    id: i64,
    /// The account's slug, or `None` for mail to the operator.
    account: Option<String>,
    recipient: String,
    subject: String,
    kind: String,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    attempts: i64,
    last_error: Option<String>,
    /// When an unsent message is tried next.
    next_attempt_at: Option<DateTime<Utc>>,
    body: String,
}

impl MailView {
    fn new(mail: Mail, slugs: &HashMap<AccountId, String>) -> Self {
        let pending = mail.sent_at.is_none();
        Self {
            id: mail.id.0,
            account: mail.account.and_then(|id| slugs.get(&id).cloned()),
            recipient: mail.recipient,
            subject: mail.subject,
            kind: mail.kind,
            created_at: mail.created_at,
            sent_at: mail.sent_at,
            attempts: mail.attempts,
            last_error: mail.last_error,
            next_attempt_at: pending.then_some(mail.next_attempt_at),
            body: mail.body,
        }
    }

    fn state(&self) -> String {
        match (self.sent_at, &self.last_error) {
            (Some(sent), _) => format!("sent {}", time_text(&sent)),
            (None, Some(error)) => {
                let times = if self.attempts == 1 { "time" } else { "times" };
                format!("failed {} {times}: {error}", self.attempts)
            }
            (None, None) => "waiting".to_owned(),
        }
    }
}

/// Runs `mail list` or `mail show`.
pub async fn run(engine: &Engine, command: MailCommand) -> anyhow::Result<()> {
    match command {
        MailCommand::List {
            account,
            limit,
            json,
        } => list(engine, account.as_deref(), limit, json).await,
        MailCommand::Show { id, json } => show(engine, id, json).await,
    }
}

async fn list(engine: &Engine, slug: Option<&str>, limit: i64, json: bool) -> anyhow::Result<()> {
    let account = match slug {
        Some(slug) => Some(admin::account(engine, slug).await?.id),
        None => None,
    };

    let mail = engine
        .store
        .list_mail(account, limit)
        .await
        .map_err(AdminError::from)?;

    let slugs = account_slugs(engine).await?;
    let views: Vec<MailView> = mail
        .into_iter()
        .map(|mail| MailView::new(mail, &slugs))
        .collect();
    if json {
        return print_json(&views);
    }
    let rows = views
        .iter()
        .map(|view| {
            vec![
                view.id.to_string(),
                time_text(&view.created_at),
                or_blank(view.account.as_ref()),
                view.recipient.clone(),
                view.subject.clone(),
                view.state(),
            ]
        })
        .collect();
    let header = ["id", "created", "account", "to", "subject", "state"];
    print_table(&header, rows, "The outbox is empty.")?;
    Ok(())
}

async fn show(engine: &Engine, id: i64, json: bool) -> anyhow::Result<()> {
    let mail = match engine.store.mail(MailId(id)).await {
        Ok(mail) => mail,
        Err(StoreError::NotFound { .. }) => {
            anyhow::bail!("mail {id} not found; list the outbox with `pobridge mail list`")
        }
        Err(error) => return Err(AdminError::from(error).into()),
    };

    let view = MailView::new(mail, &account_slugs(engine).await?);
    if json {
        return print_json(&view);
    }
    let mut pairs = vec![
        ("to".to_owned(), view.recipient.clone()),
        ("subject".to_owned(), view.subject.clone()),
        ("account".to_owned(), or_blank(view.account.as_ref())),
        ("kind".to_owned(), view.kind.clone()),
        ("created".to_owned(), time_text(&view.created_at)),
        ("state".to_owned(), view.state()),
    ];
    if let Some(next) = view.next_attempt_at {
        pairs.push(("next attempt".to_owned(), time_text(&next)));
    }
    print_pairs(&pairs)?;
    line("")?;
    line(&view.body)?;
    Ok(())
}

async fn account_slugs(engine: &Engine) -> anyhow::Result<HashMap<AccountId, String>> {
    let accounts = engine
        .store
        .list_accounts()
        .await
        .map_err(AdminError::from)?;
    Ok(accounts
        .into_iter()
        .map(|account| (account.id, account.slug.to_string()))
        .collect())
}
