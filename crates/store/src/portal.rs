//! Records of the web portal: its users, their sessions, one-time links,
//! the mail outbox and the audit trail.

use std::fmt;

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;
use serde::{Deserialize, Serialize};

macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

record_id!(
    /// A person who logs in to the portal. Each belongs to one account.
    UserId
);
record_id!(
    /// One message of the mail outbox.
    MailId
);

/// A portal user. E-mail addresses are unique across the installation and
/// kept in lower case, so a login finds its account from the address alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub account: AccountId,
    pub email: String,
    /// The argon2 PHC string; `None` until the user has set a password.
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub password_set_at: Option<DateTime<Utc>>,
}

/// A logged-in browser. The cookie contains a random token and only its
/// SHA-256 is stored, so a copy of the database cannot be used to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub account: AccountId,
    pub user: UserId,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The purpose of a one-time link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// The link in the first or invitation e-mail.
    SetPassword,
    /// The link in a password-reset e-mail.
    ResetPassword,
    /// The `state` of a Brightpearl OAuth approval started by this user.
    BrightpearlOauth,
}

/// A one-time link or OAuth state, stored by the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeLink {
    pub token_hash: String,
    pub account: AccountId,
    pub user: UserId,
    pub purpose: LinkPurpose,
    /// Free data the link carries, such as the Brightpearl account code of
    /// an OAuth approval.
    pub data: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A message to queue in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    /// `None` for mail to the operator rather than to an account's users.
    pub account: Option<AccountId>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The message's subject kind, such as `set_password` or `reference_data_ready`.
    pub kind: String,
    /// When set, a second message with the same account and key is not
    /// queued while the first is younger than the caller's window.
    pub dedupe_key: Option<String>,
}

/// A message of the outbox with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub id: MailId,
    pub account: Option<AccountId>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
}

/// One change a person made, for the account's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub user: Option<UserId>,
    /// The person who acted, as shown: the user's e-mail or `cli`.
    pub actor: String,
    /// The kind of change, such as `buyer.update` or `item_mapping.set`.
    pub action: String,
    /// The change in words, without secrets.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub account: AccountId,
    pub user: Option<UserId>,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}
