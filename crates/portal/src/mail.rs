//! The portal's e-mail. Messages are composed here and queued in the
//! store's outbox, in the same request that causes them, so none is lost
//! when SMTP is down or not configured. [`run_delivery`] sends due messages
//! over SMTP and retries failed ones with backoff. Without SMTP the messages
//! stay in the outbox, where `pobridge mail list` and `pobridge mail show`
//! let the operator read them.

mod delivery;

use chrono::Duration;
use pobridge_engine::Engine;
use pobridge_store::{Account, LinkPurpose, NewMail, OneTimeLink, StoreResult, User};

use crate::auth::{new_token, token_hash};
use crate::PortalConfig;

pub use delivery::{
    check_smtp, deliver_due, retry_delay, run_delivery, run_delivery_every, Delivered,
    SmtpSettings, SmtpTls, POLL_INTERVAL,
};

/// Outbox kind of the first user's set-password message.
pub const KIND_WELCOME: &str = "welcome";
/// Outbox kind of an invitation to an account.
pub const KIND_INVITATION: &str = "invitation";
/// Outbox kind of a password-reset message.
pub const KIND_RESET: &str = "password_reset";

/// How long a password-reset link works, in hours.
pub const RESET_LINK_HOURS: i64 = 1;

/// The messages that carry a one-time password link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMail {
    /// To the first user of a new account.
    Welcome,
    /// To a user invited by another user or by the operator.
    Invitation,
    /// To a user who asked to reset a forgotten password.
    Reset,
}

impl PasswordMail {
    fn purpose(self) -> LinkPurpose {
        match self {
            Self::Welcome | Self::Invitation => LinkPurpose::SetPassword,
            Self::Reset => LinkPurpose::ResetPassword,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Welcome => KIND_WELCOME,
            Self::Invitation => KIND_INVITATION,
            Self::Reset => KIND_RESET,
        }
    }

    /// Returns the path of the page the link opens, without its token.
    fn path(self) -> &'static str {
        match self {
            Self::Welcome | Self::Invitation => "/password/set/",
            Self::Reset => "/password/reset/",
        }
    }

    fn valid_for(self, config: &PortalConfig) -> Duration {
        match self {
            Self::Welcome | Self::Invitation => Duration::hours(config.link_hours),
            Self::Reset => Duration::hours(RESET_LINK_HOURS),
        }
    }

    fn subject(self, account: &Account) -> String {
        match self {
            Self::Welcome => format!("Your pobridge account {} is ready", account.slug),
            Self::Invitation => format!("You are invited to pobridge account {}", account.slug),
            Self::Reset => "Reset your pobridge password".to_owned(),
        }
    }

    fn body(self, account: &Account, url: &str, hours: i64) -> String {
        let opening = match self {
            Self::Welcome => format!(
                "The pobridge account {} was created for you. Choose your password \
                 to log in:",
                account.slug
            ),
            Self::Invitation => format!(
                "You were invited to the pobridge account {}. Choose your password \
                 to log in:",
                account.slug
            ),
            Self::Reset => "Someone asked to reset the password of this address on \
                 pobridge. Choose a new password here:"
                .to_owned(),
        };
        let closing = match self {
            Self::Welcome | Self::Invitation => {
                "If you did not expect this message, you can ignore it."
            }
            Self::Reset => {
                "If you did not ask for this, ignore this message: your password \
                 stays as it is."
            }
        };
        let unit = if hours == 1 { "hour" } else { "hours" };
        format!(
            "Hello,\n\n{opening}\n\n{url}\n\nThe link works once, for {hours} {unit}.\n\
             {closing}\n\n-- pobridge\n"
        )
    }
}

/// Creates a one-time link for `user` and queues the message that carries
/// it. Only the link token's SHA-256 is stored; the token itself is only in
/// the message.
pub async fn queue_password_link(
    engine: &Engine,
    config: &PortalConfig,
    account: &Account,
    user: &User,
    mail: PasswordMail,
) -> StoreResult<()> {
    let token = new_token();
    let now = engine.clock.now();
    let valid_for = mail.valid_for(config);
    let link = OneTimeLink {
        token_hash: token_hash(&token),
        account: account.id,
        user: user.id,
        purpose: mail.purpose(),
        data: String::new(),
        created_at: now,
        expires_at: now + valid_for,
    };
    engine.store.create_link(&link).await?;

    let url = config.url(&format!("{}{token}", mail.path()));
    let message = NewMail {
        account: Some(account.id),
        recipient: user.email.clone(),
        subject: mail.subject(account),
        body: mail.body(account, &url, valid_for.num_hours()),
        kind: mail.kind().to_owned(),
        dedupe_key: None,
    };
    engine.store.queue_mail(&message, None, now).await?;
    tracing::info!(tenant.id = %account.id, user.id = %user.id, kind = mail.kind(), "password link queued");
    Ok(())
}

/// A message to every user of an account, such as an alert about failed
/// orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountMail<'a> {
    /// The outbox kind of the message, such as `orders_failed`.
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// With a key, a user gets no second message with the same key within
    /// `window`, so a repeating alert is sent once.
    pub dedupe: Option<(&'a str, Duration)>,
}

/// Queues `mail` to every user of `account`, or to the account's notice
/// address when it has no users yet, and returns how many messages were
/// queued (fewer when the dedupe window held some back).
pub async fn queue(
    engine: &Engine,
    account: &Account,
    mail: &AccountMail<'_>,
) -> StoreResult<usize> {
    let users = engine.store.list_users(account.id).await?;
    let mut recipients: Vec<String> = users.into_iter().map(|user| user.email).collect();
    if recipients.is_empty() {
        recipients.push(account.email.clone());
    }

    let now = engine.clock.now();
    let mut queued = 0;
    for recipient in recipients {
        // The store deduplicates per account and key, so each recipient
        // needs a key of their own.
        let dedupe_key = mail.dedupe.map(|(key, _)| format!("{key}:{recipient}"));
        let message = NewMail {
            account: Some(account.id),
            recipient,
            subject: mail.subject.to_owned(),
            body: mail.body.to_owned(),
            kind: mail.kind.to_owned(),
            dedupe_key,
        };
        let since = mail.dedupe.map(|(_, window)| now - window);
        if engine
            .store
            .queue_mail(&message, since, now)
            .await?
            .is_some()
        {
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use pobridge_core::{AccountId, AccountSettings, AccountSlug};

    use super::*;

    fn account() -> Account {
        Account {
            id: AccountId(1),
            slug: AccountSlug::parse("acme").unwrap(),
            email: "ops@acme.example".to_owned(),
            settings: AccountSettings::default(),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn bodies_carry_link_and_lifetime() {
        let url = "https://pobridge.example/password/set/abc";
        let welcome = PasswordMail::Welcome.body(&account(), url, 24);
        let reset = PasswordMail::Reset.body(&account(), url, 1);

        assert!(welcome.contains("\n\nhttps://pobridge.example/password/set/abc\n\n"));
        assert!(welcome.contains("for 24 hours"), "{welcome}");
        assert!(welcome.contains("account acme"), "{welcome}");
        assert!(reset.contains("for 1 hour."), "{reset}");
        assert!(reset.contains("password stays as it is"), "{reset}");
    }

    #[test]
    fn links_open_the_page_of_their_purpose() {
        let config = PortalConfig::new("https://pobridge.example/");

        assert_eq!(PasswordMail::Welcome.path(), "/password/set/");
        assert_eq!(PasswordMail::Invitation.path(), "/password/set/");
        assert_eq!(PasswordMail::Reset.path(), "/password/reset/");
        assert_eq!(
            PasswordMail::Invitation.valid_for(&config),
            Duration::hours(24)
        );
        assert_eq!(PasswordMail::Reset.valid_for(&config), Duration::hours(1));
        assert_eq!(PasswordMail::Reset.purpose(), LinkPurpose::ResetPassword);
        assert_eq!(PasswordMail::Welcome.purpose(), LinkPurpose::SetPassword);
    }
}
