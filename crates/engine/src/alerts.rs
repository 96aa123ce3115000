//! Alert e-mails to an account's users about what needs a person: failed
//! orders, rejected invoices, lost Brightpearl authorization, a backlog of
//! waiting orders and buyers that stopped sending orders.
//!
//! A periodic job per account reads the current state and queues one
//! message per user and condition, each with a dedupe key that names the
//! condition (and, for a failure, when it began). The outbox queues nothing
//! for a key it already contains within the condition's window, and it
//! checks and inserts in one transaction. So a check that runs twice, after a
//! crash or in two processes at once, sends nothing twice, and a check that
//! never ran loses nothing while the condition lasts.

mod invoices;
mod orders;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use pobridge_core::{AccountId, BuyerId, ConnectionStatus};
use pobridge_store::{Account, Buyer, Job, JobOutcome, NewJob, NewMail, StoreError};

use crate::Engine;

/// Job kind of an account's periodic alert check.
pub const CHECK_ALERTS: &str = "check_alerts";

/// Mail kind of the message about a purchase order that failed.
pub const ORDER_FAILED_MAIL: &str = "alert_order_failed";
/// Mail kind of the message about an invoice Coupa rejected or that needs a person.
pub const INVOICE_MAIL: &str = "alert_invoice";
/// Mail kind of the message that Brightpearl no longer accepts pobridge's access.
pub const AUTHORIZATION_LOST_MAIL: &str = "alert_authorization_lost";
/// Mail kind of the message about orders waiting longer than the backlog age.
pub const BACKLOG_MAIL: &str = "alert_backlog";
/// Mail kind of the message about a buyer that has sent no orders for a while.
pub const BUYER_SILENT_MAIL: &str = "alert_buyer_silent";

/// A condition that lasts, such as lost authorization or a backlog, is
/// mailed again after this many hours.
const REMINDER_HOURS: i64 = 24;

/// Thresholds of the alert check, from the `[alerts]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfig {
    /// Minutes between two checks of one account. A value of 0 counts as 1.
    pub check_minutes: u32,
    /// An order waiting or queued for longer than this many minutes makes
    /// a backlog alert. A value of 0 turns the alert off.
    pub backlog_minutes: u32,
    /// A production buyer whose newest order is older than this many days
    /// makes an alert. A value of 0 turns the alert off.
    pub buyer_silent_days: u32,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            check_minutes: 15,
            backlog_minutes: 4 * 60,
            buyer_silent_days: 7,
        }
    }
}

/// One condition to tell every user of the account about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The mail kind, one of the `*_MAIL` constants.
    pub kind: &'static str,
    /// The dedupe key of the condition. Each user's message adds the user id to it.
    pub key: String,
    /// No second message with the same key is queued for this long.
    pub window: Duration,
    pub subject: String,
    pub body: String,
}

/// Counts of one check's conditions and queued messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertSummary {
    /// Conditions found, whether or not they were mailed before.
    pub alerts: usize,
    /// Messages queued by this check.
    pub queued: usize,
}

/// The account, its buyers and the time, which every condition reads.
pub(crate) struct CheckContext {
    pub account: Account,
    pub buyers: HashMap<BuyerId, Buyer>,
    pub now: DateTime<Utc>,
    zone: Tz,
}

impl CheckContext {
    /// Returns the buyer's name, or its id when the buyer is gone.
    pub fn buyer_name(&self, buyer: BuyerId) -> String {
        match self.buyers.get(&buyer) {
            Some(found) => found.name.clone(),
            None => format!("#{buyer}"),
        }
    }

    /// Formats `at` in the account's time zone, such as `2024-05-10 07:00 BST`.
    pub fn time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

/// Builds the alert check job of `account` due at `run_at`. Its fixed key
/// merges a second one queued while the first is unfinished.
pub fn alert_job(account: AccountId, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        account,
        kind: CHECK_ALERTS.to_owned(),
        key: CHECK_ALERTS.to_owned(),
        payload: serde_json::json!({}),
        run_at,
    }
}

impl Engine {
    /// Queues an alert check of the account now. A check already queued for
    /// an earlier time keeps that time.
    pub async fn schedule_alert_check(&self, account: AccountId) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store.enqueue_job(&alert_job(account, now)).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Queues an alert check of every account and returns how many there are.
    pub async fn schedule_alert_checks(&self) -> Result<usize, StoreError> {
        let accounts = self.store.list_accounts().await?;
        for account in &accounts {
            self.schedule_alert_check(account.id).await?;
        }
        Ok(accounts.len())
    }

    /// Runs one claimed alert check, having queued the next one.
    pub async fn run_alert_job(&self, job: &Job) -> JobOutcome {
        let account = job.account;
        let minutes = i64::from(self.config.alerts.check_minutes.max(1));
        let next = alert_job(account, self.clock.now() + Duration::minutes(minutes));
        if let Err(error) = self.store.enqueue_job(&next).await {
            // The next scheduling at start-up restores the chain.
            tracing::error!(tenant.id = %account, %error, "could not queue the next alert check");
        }
        match self.check_alerts(account).await {
            Ok(summary) => {
                tracing::info!(tenant.id = %account, alerts = summary.alerts, queued = summary.queued, "alert check done");
                JobOutcome::Done
            }
            Err(error) => {
                tracing::warn!(tenant.id = %account, %error, "alert check failed; the next one runs as scheduled");
                JobOutcome::Failed {
                    error: format!("storage error: {error}"),
                }
            }
        }
    }

    /// Finds the account's alert conditions and queues a message about each
    /// to every user, skipping those already mailed within their window.
    /// An account without users is not checked.
    pub async fn check_alerts(&self, account: AccountId) -> Result<AlertSummary, StoreError> {
        let users = self.store.list_users(account).await?;
        if users.is_empty() {
            return Ok(AlertSummary::default());
        }
        let context = self.check_context(account).await?;
        let alerts = self.find_alerts(&context).await?;

        let mut queued = 0;
        for alert in &alerts {
            for user in &users {
                let mail = NewMail {
                    account: Some(account),
                    recipient: user.email.clone(),
                    subject: alert.subject.clone(),
                    body: alert.body.clone(),
                    kind: alert.kind.to_owned(),
                    dedupe_key: Some(format!("{}:user:{}", alert.key, user.id)),
                };
                let since = context.now - alert.window;
                if self
                    .store
                    .queue_mail(&mail, Some(since), context.now)
                    .await?
                    .is_some()
                {
                    queued += 1;
                }
            }
        }
        Ok(AlertSummary {
            alerts: alerts.len(),
            queued,
        })
    }

    /// Lists every alert condition of the account now, without mailing.
    pub(crate) async fn find_alerts(
        &self,
        context: &CheckContext,
    ) -> Result<Vec<Alert>, StoreError> {
        let config = &self.config.alerts;
        let mut alerts = self.failed_order_alerts(context).await?;
        alerts.extend(self.invoice_alerts(context).await?);
        alerts.extend(self.authorization_alert(context).await?);
        alerts.extend(self.backlog_alert(context, config.backlog_minutes).await?);
        alerts.extend(
            self.silent_buyer_alerts(context, config.buyer_silent_days)
                .await?,
        );
        Ok(alerts)
    }

    pub(crate) async fn check_context(
        &self,
        account: AccountId,
    ) -> Result<CheckContext, StoreError> {
        let account = self.store.account(account).await?;
        let buyers = self.store.list_buyers(account.id).await?;
        // An unknown zone name falls back to UTC, as the dashboard does.
        let zone = account.settings.time_zone.trim().parse().unwrap_or(Tz::UTC);
        Ok(CheckContext {
            buyers: buyers.into_iter().map(|buyer| (buyer.id, buyer)).collect(),
            now: self.clock.now(),
            zone,
            account,
        })
    }

    /// Returns the alert that Brightpearl no longer accepts pobridge's
    /// access, while the connection needs reauthorization. The key names
    /// the connection, so a loss after reconnecting is mailed at once.
    async fn authorization_alert(
        &self,
        context: &CheckContext,
    ) -> Result<Option<Alert>, StoreError> {
        let Some(connection) = self.store.connection(context.account.id).await? else {
            return Ok(None);
        };
        if connection.status != ConnectionStatus::NeedsReauthorization {
            return Ok(None);
        }
        let code = &connection.account_code;
        let body = format!(
            "Brightpearl no longer accepts pobridge's access to Brightpearl account {code}, \
             so pobridge cannot create sales orders or read invoices there. New orders from \
             Coupa are stored and wait, paused, until you connect again.\n\n\
             What to do: log in to pobridge, open Settings, General, and connect Brightpearl \
             account {code} again under Brightpearl connection. The paused orders then sync \
             on their own.\n\n\
             This message is repeated every {REMINDER_HOURS} hours until the connection works again.\n"
        );
        Ok(Some(Alert {
            kind: AUTHORIZATION_LOST_MAIL,
            key: format!("authorization_lost:{}", connection.connected_at.timestamp()),
            window: Duration::hours(REMINDER_HOURS),
            subject: format!("pobridge lost access to Brightpearl account {code}"),
            body,
        }))
    }
}
