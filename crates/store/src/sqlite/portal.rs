//! Portal users, sessions, one-time links, the mail outbox and the audit trail.

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;

use super::codec::{decode_optional_time, decode_time, encode_time};
use super::SqliteStore;
use crate::codec::{
    conflict_on_unique, decode_enum, encode_enum, missing_on_foreign_key, not_found,
};
use crate::{
    AuditEntry, LinkPurpose, Mail, MailId, NewAuditEntry, NewMail, OneTimeLink, Session,
    StoreError, StoreResult, User, UserId,
};

const USER_COLUMNS: &str = "id, account_id, email, password_hash, created_at, password_set_at";
const MAIL_COLUMNS: &str = "id, account_id, recipient, subject, body, kind, dedupe_key, \
     created_at, sent_at, attempts, last_error, next_attempt_at";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    account_id: i64,
    email: String,
    password_hash: Option<String>,
    created_at: String,
    password_set_at: Option<String>,
}

impl UserRow {
    fn into_user(self) -> StoreResult<User> {
        Ok(User {
            id: UserId(self.id),
            account: AccountId(self.account_id),
            email: self.email,
            password_hash: self.password_hash,
            created_at: decode_time("user", &self.created_at)?,
            password_set_at: decode_optional_time("user", self.password_set_at)?,
        })
    }
}

pub(super) async fn create_user(
    store: &SqliteStore,
    account: AccountId,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let email = email.trim().to_lowercase();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (account_id, email, created_at) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(account.0)
    .bind(&email)
    .bind(encode_time(now))
    .fetch_one(&store.writer)
    .await
    .map_err(|err| user_insert_error(err, account, &email))?;
    Ok(User {
        id: UserId(id),
        account,
        email,
        password_hash: None,
        created_at: now,
        password_set_at: None,
    })
}

/// Reports a missing account as `NotFound` and a taken e-mail as `Conflict`.
fn user_insert_error(err: sqlx::Error, account: AccountId, email: &str) -> StoreError {
    match missing_on_foreign_key(err, "account", account) {
        StoreError::Database(err) => conflict_on_unique(err, "user", email),
        other => other,
    }
}

pub(super) async fn user_by_email(store: &SqliteStore, email: &str) -> StoreResult<User> {
    let email = email.trim().to_lowercase();
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?");
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(&email)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("user", &email))?
        .into_user()
}

pub(super) async fn user(store: &SqliteStore, account: AccountId, id: UserId) -> StoreResult<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = ? AND id = ?");
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("user", id))?
        .into_user()
}

pub(super) async fn list_users(store: &SqliteStore, account: AccountId) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = ? ORDER BY id");
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(account.0)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}

pub(super) async fn set_password_hash(
    store: &SqliteStore,
    account: AccountId,
    user: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE users SET password_hash = ?, password_set_at = ? WHERE account_id = ? AND id = ?",
    )
    .bind(hash)
    .bind(encode_time(now))
    .bind(account.0)
    .bind(user.0)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("user", user));
    }
    sqlx::query("DELETE FROM sessions WHERE account_id = ? AND user_id = ?")
        .bind(account.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_hash: String,
    account_id: i64,
    user_id: i64,
    csrf_token: String,
    created_at: String,
    expires_at: String,
}

pub(super) async fn create_session(store: &SqliteStore, session: &Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, user_id, csrf_token, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&session.token_hash)
    .bind(session.account.0)
    .bind(session.user.0)
    .bind(&session.csrf_token)
    .bind(encode_time(session.created_at))
    .bind(encode_time(session.expires_at))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "user", session.user))?;
    Ok(())
}

pub(super) async fn session(
    store: &SqliteStore,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Session>> {
    let row = sqlx::query_as::<_, SessionRow>(
        "SELECT token_hash, account_id, user_id, csrf_token, created_at, expires_at \
         FROM sessions WHERE token_hash = ? AND expires_at > ?",
    )
    .bind(token_hash)
    .bind(encode_time(now))
    .fetch_optional(&store.reader)
    .await?;
    row.map(|row| {
        Ok(Session {
            token_hash: row.token_hash,
            account: AccountId(row.account_id),
            user: UserId(row.user_id),
            csrf_token: row.csrf_token,
            created_at: decode_time("session", &row.created_at)?,
            expires_at: decode_time("session", &row.expires_at)?,
        })
    })
    .transpose()
}

pub(super) async fn delete_session(store: &SqliteStore, token_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn purge_expired_sessions(
    store: &SqliteStore,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let now = encode_time(now);
    let mut tx = store.begin_write().await?;
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let links = sqlx::query("DELETE FROM one_time_links WHERE expires_at <= ?")
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(sessions + links)
}

pub(super) async fn create_link(store: &SqliteStore, link: &OneTimeLink) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO one_time_links \
         (token_hash, account_id, user_id, purpose, data, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&link.token_hash)
    .bind(link.account.0)
    .bind(link.user.0)
    .bind(encode_enum(&link.purpose))
    .bind(&link.data)
    .bind(encode_time(link.created_at))
    .bind(encode_time(link.expires_at))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "user", link.user))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    token_hash: String,
    account_id: i64,
    user_id: i64,
    purpose: String,
    data: String,
    created_at: String,
    expires_at: String,
}

impl LinkRow {
    fn into_link(self) -> StoreResult<OneTimeLink> {
        Ok(OneTimeLink {
            token_hash: self.token_hash,
            account: AccountId(self.account_id),
            user: UserId(self.user_id),
            purpose: decode_enum("one-time link", &self.purpose)?,
            data: self.data,
            created_at: decode_time("one-time link", &self.created_at)?,
            expires_at: decode_time("one-time link", &self.expires_at)?,
        })
    }
}

pub(super) async fn use_link(
    store: &SqliteStore,
    token_hash: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> StoreResult<Option<OneTimeLink>> {
    let now = encode_time(now);
    let row = sqlx::query_as::<_, LinkRow>(
        "UPDATE one_time_links SET used_at = ? \
         WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? \
         RETURNING token_hash, account_id, user_id, purpose, data, created_at, expires_at",
    )
    .bind(&now)
    .bind(token_hash)
    .bind(encode_enum(&purpose))
    .bind(&now)
    .fetch_optional(&store.writer)
    .await?;
    row.map(LinkRow::into_link).transpose()
}

pub(super) async fn link(
    store: &SqliteStore,
    token_hash: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> StoreResult<Option<OneTimeLink>> {
    let row = sqlx::query_as::<_, LinkRow>(
        "SELECT token_hash, account_id, user_id, purpose, data, created_at, expires_at \
         FROM one_time_links \
         WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?",
    )
    .bind(token_hash)
    .bind(encode_enum(&purpose))
    .bind(encode_time(now))
    .fetch_optional(&store.reader)
    .await?;
    row.map(LinkRow::into_link).transpose()
}

#[derive(sqlx::FromRow)]
struct MailRow {
    id: i64,
    account_id: Option<i64>,
    recipient: String,
    subject: String,
    body: String,
    kind: String,
    dedupe_key: Option<String>,
    created_at: String,
    sent_at: Option<String>,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: String,
}

impl MailRow {
    fn into_mail(self) -> StoreResult<Mail> {
        Ok(Mail {
            id: MailId(self.id),
            account: self.account_id.map(AccountId),
            recipient: self.recipient,
            subject: self.subject,
            body: self.body,
            kind: self.kind,
            dedupe_key: self.dedupe_key,
            created_at: decode_time("mail", &self.created_at)?,
            sent_at: decode_optional_time("mail", self.sent_at)?,
            attempts: self.attempts,
            last_error: self.last_error,
            next_attempt_at: decode_time("mail", &self.next_attempt_at)?,
        })
    }
}

pub(super) async fn queue_mail(
    store: &SqliteStore,
    mail: &NewMail,
    dedupe_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<Option<MailId>> {
    let mut tx = store.begin_write().await?;
    if let (Some(key), Some(since)) = (&mail.dedupe_key, dedupe_since) {
        let recent: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM mail_outbox WHERE account_id IS ? AND dedupe_key = ? AND created_at > ? \
             LIMIT 1",
        )
        .bind(mail.account.map(|account| account.0))
        .bind(key)
        .bind(encode_time(since))
        .fetch_optional(&mut *tx)
        .await?;
        if recent.is_some() {
            return Ok(None);
        }
    }
    let now = encode_time(now);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO mail_outbox \
         (account_id, recipient, subject, body, kind, dedupe_key, created_at, next_attempt_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(mail.account.map(|account| account.0))
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(&mail.kind)
    .bind(&mail.dedupe_key)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", format!("{:?}", mail.account)))?;
    tx.commit().await?;
    Ok(Some(MailId(id)))
}

pub(super) async fn due_mail(
    store: &SqliteStore,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<Mail>> {
    let sql = format!(
        "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= ? \
         ORDER BY next_attempt_at, id LIMIT ?"
    );
    sqlx::query_as::<_, MailRow>(&sql)
        .bind(encode_time(now))
        .bind(limit)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(MailRow::into_mail)
        .collect()
}

pub(super) async fn list_mail(
    store: &SqliteStore,
    account: Option<AccountId>,
    limit: i64,
) -> StoreResult<Vec<Mail>> {
    let sql = match account {
        Some(_) => format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE account_id = ? ORDER BY id DESC LIMIT ?"
        ),
        None => format!("SELECT {MAIL_COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT ?"),
    };
    let mut query = sqlx::query_as::<_, MailRow>(&sql);
    if let Some(account) = account {
        query = query.bind(account.0);
    }
    query
        .bind(limit)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(MailRow::into_mail)
        .collect()
}

pub(super) async fn mail(store: &SqliteStore, id: MailId) -> StoreResult<Mail> {
    let sql = format!("SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE id = ?");
    sqlx::query_as::<_, MailRow>(&sql)
        .bind(id.0)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("mail", id))?
        .into_mail()
}

pub(super) async fn mark_mail_sent(
    store: &SqliteStore,
    id: MailId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let updated =
        sqlx::query("UPDATE mail_outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?")
            .bind(encode_time(now))
            .bind(id.0)
            .execute(&store.writer)
            .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("mail", id));
    }
    Ok(())
}

pub(super) async fn mark_mail_failed(
    store: &SqliteStore,
    id: MailId,
    error: &str,
    retry_at: DateTime<Utc>,
) -> StoreResult<()> {
    let updated = sqlx::query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? \
         WHERE id = ?",
    )
    .bind(error)
    .bind(encode_time(retry_at))
    .bind(id.0)
    .execute(&store.writer)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("mail", id));
    }
    Ok(())
}

pub(super) async fn record_audit(
    store: &SqliteStore,
    account: AccountId,
    entry: &NewAuditEntry,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (account_id, user_id, actor, action, detail, at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(account.0)
    .bind(entry.user.map(|user| user.0))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.detail)
    .bind(encode_time(now))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    account_id: i64,
    user_id: Option<i64>,
    actor: String,
    action: String,
    detail: String,
    at: String,
}

pub(super) async fn audit_log(
    store: &SqliteStore,
    account: AccountId,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    audit_page(store, account, None, limit).await
}

pub(super) async fn audit_page(
    store: &SqliteStore,
    account: AccountId,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    sqlx::query_as::<_, AuditRow>(
        "SELECT id, account_id, user_id, actor, action, detail, at FROM audit_log \
         WHERE account_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
    )
    .bind(account.0)
    .bind(before)
    .bind(before)
    .bind(limit)
    .fetch_all(&store.reader)
    .await?
    .into_iter()
    .map(|row| {
        Ok(AuditEntry {
            id: row.id,
            account: AccountId(row.account_id),
            user: row.user_id.map(UserId),
            actor: row.actor,
            action: row.action,
            detail: row.detail,
            at: decode_time("audit entry", &row.at)?,
        })
    })
    .collect()
}
