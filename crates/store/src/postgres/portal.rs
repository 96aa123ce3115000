//! Portal users, sessions, one-time links, the mail outbox and the audit trail.

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::codec::enum_column;
use super::PostgresStore;
use crate::codec::{conflict_on_unique, encode_enum, missing_on_foreign_key, not_found};
use crate::{
    AuditEntry, LinkPurpose, Mail, MailId, NewAuditEntry, NewMail, OneTimeLink, Session,
    StoreError, StoreResult, User, UserId,
};

const USER_COLUMNS: &str = "id, account_id, email, password_hash, created_at, password_set_at";
const SESSION_COLUMNS: &str = "token_hash, account_id, user_id, csrf_token, created_at, expires_at";
const LINK_COLUMNS: &str = "token_hash, account_id, user_id, purpose, data, created_at, expires_at";
const MAIL_COLUMNS: &str = "id, account_id, recipient, subject, body, kind, dedupe_key, \
     created_at, sent_at, attempts, last_error, next_attempt_at";

fn user_from_row(row: PgRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        account: AccountId(row.try_get("account_id")?),
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        password_set_at: row.try_get("password_set_at")?,
    })
}

fn session_from_row(row: PgRow) -> StoreResult<Session> {
    Ok(Session {
        token_hash: row.try_get("token_hash")?,
        account: AccountId(row.try_get("account_id")?),
        user: UserId(row.try_get("user_id")?),
        csrf_token: row.try_get("csrf_token")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn link_from_row(row: PgRow) -> StoreResult<OneTimeLink> {
    Ok(OneTimeLink {
        token_hash: row.try_get("token_hash")?,
        account: AccountId(row.try_get("account_id")?),
        user: UserId(row.try_get("user_id")?),
        purpose: enum_column(&row, "purpose", "one-time link")?,
        data: row.try_get("data")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn mail_from_row(row: PgRow) -> StoreResult<Mail> {
    let account: Option<i64> = row.try_get("account_id")?;
    Ok(Mail {
        id: MailId(row.try_get("id")?),
        account: account.map(AccountId),
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        kind: row.try_get("kind")?,
        dedupe_key: row.try_get("dedupe_key")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
    })
}

pub(super) async fn create_user(
    store: &PostgresStore,
    account: AccountId,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let email = email.trim().to_lowercase();
    let sql = format!(
        "INSERT INTO users (account_id, email, created_at) VALUES ($1, $2, $3) \
         RETURNING {USER_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(account.0)
        .bind(&email)
        .bind(now)
        .fetch_one(&store.pool)
        .await
        .map_err(
            |err| match missing_on_foreign_key(err, "account", account) {
                StoreError::Database(err) => conflict_on_unique(err, "user", &email),
                other => other,
            },
        )?;
    user_from_row(row)
}

pub(super) async fn user_by_email(store: &PostgresStore, email: &str) -> StoreResult<User> {
    let email = email.trim().to_lowercase();
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    let row = sqlx::query(&sql)
        .bind(&email)
        .fetch_optional(&store.pool)
        .await?;
    user_from_row(row.ok_or_else(|| not_found("user", &email))?)
}

pub(super) async fn user(
    store: &PostgresStore,
    account: AccountId,
    id: UserId,
) -> StoreResult<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&store.pool)
        .await?;
    user_from_row(row.ok_or_else(|| not_found("user", id))?)
}

pub(super) async fn list_users(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 ORDER BY id");
    sqlx::query(&sql)
        .bind(account.0)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(user_from_row)
        .collect()
}

pub(super) async fn set_password_hash(
    store: &PostgresStore,
    account: AccountId,
    user: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    let updated = sqlx::query(
        "UPDATE users SET password_hash = $1, password_set_at = $2 \
         WHERE account_id = $3 AND id = $4",
    )
    .bind(hash)
    .bind(now)
    .bind(account.0)
    .bind(user.0)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("user", user));
    }
    sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND user_id = $2")
        .bind(account.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_session(store: &PostgresStore, session: &Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, user_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&session.token_hash)
    .bind(session.account.0)
    .bind(session.user.0)
    .bind(&session.csrf_token)
    .bind(session.created_at)
    .bind(session.expires_at)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "user", session.user))?;
    Ok(())
}

pub(super) async fn session(
    store: &PostgresStore,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Session>> {
    let sql =
        format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND expires_at > $2");
    sqlx::query(&sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&store.pool)
        .await?
        .map(session_from_row)
        .transpose()
}

pub(super) async fn delete_session(store: &PostgresStore, token_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn purge_expired_sessions(
    store: &PostgresStore,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut tx = store.begin().await?;
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let links = sqlx::query("DELETE FROM one_time_links WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(sessions + links)
}

pub(super) async fn create_link(store: &PostgresStore, link: &OneTimeLink) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO one_time_links \
         (token_hash, account_id, user_id, purpose, data, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&link.token_hash)
    .bind(link.account.0)
    .bind(link.user.0)
    .bind(encode_enum(&link.purpose))
    .bind(&link.data)
    .bind(link.created_at)
    .bind(link.expires_at)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "user", link.user))?;
    Ok(())
}

pub(super) async fn use_link(
    store: &PostgresStore,
    token_hash: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> StoreResult<Option<OneTimeLink>> {
    let sql = format!(
        "UPDATE one_time_links SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING {LINK_COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(now)
        .bind(token_hash)
        .bind(encode_enum(&purpose))
        .fetch_optional(&store.pool)
        .await?
        .map(link_from_row)
        .transpose()
}

pub(super) async fn link(
    store: &PostgresStore,
    token_hash: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> StoreResult<Option<OneTimeLink>> {
    let sql = format!(
        "SELECT {LINK_COLUMNS} FROM one_time_links \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
    );
    sqlx::query(&sql)
        .bind(token_hash)
        .bind(encode_enum(&purpose))
        .bind(now)
        .fetch_optional(&store.pool)
        .await?
        .map(link_from_row)
        .transpose()
}

pub(super) async fn queue_mail(
    store: &PostgresStore,
    mail: &NewMail,
    dedupe_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<Option<MailId>> {
    let mut tx = store.begin().await?;
    if let (Some(key), Some(since)) = (&mail.dedupe_key, dedupe_since) {
        // Two processes queueing the same alert at once would both see no
        // earlier message; the lock on the key makes the second wait.
        let lock_key = format!("mail:{:?}:{key}", mail.account);
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&lock_key)
            .execute(&mut *tx)
            .await?;
        let recent: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM mail_outbox \
             WHERE account_id IS NOT DISTINCT FROM $1 AND dedupe_key = $2 AND created_at > $3 \
             LIMIT 1",
        )
        .bind(mail.account.map(|account| account.0))
        .bind(key)
        .bind(since)
        .fetch_optional(&mut *tx)
        .await?;
        if recent.is_some() {
            return Ok(None);
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO mail_outbox \
         (account_id, recipient, subject, body, kind, dedupe_key, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(mail.account.map(|account| account.0))
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(&mail.kind)
    .bind(&mail.dedupe_key)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", format!("{:?}", mail.account)))?;
    tx.commit().await?;
    Ok(Some(MailId(id)))
}

pub(super) async fn due_mail(
    store: &PostgresStore,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<Mail>> {
    let sql = format!(
        "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2"
    );
    sqlx::query(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(mail_from_row)
        .collect()
}

pub(super) async fn list_mail(
    store: &PostgresStore,
    account: Option<AccountId>,
    limit: i64,
) -> StoreResult<Vec<Mail>> {
    let sql = format!(
        "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE ($1::bigint IS NULL OR account_id = $1) \
         ORDER BY id DESC LIMIT $2"
    );
    sqlx::query(&sql)
        .bind(account.map(|account| account.0))
        .bind(limit)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(mail_from_row)
        .collect()
}

pub(super) async fn mail(store: &PostgresStore, id: MailId) -> StoreResult<Mail> {
    let sql = format!("SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&store.pool)
        .await?
        .ok_or_else(|| not_found("mail", id))?;
    mail_from_row(row)
}

pub(super) async fn mark_mail_sent(
    store: &PostgresStore,
    id: MailId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let updated =
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&store.pool)
            .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("mail", id));
    }
    Ok(())
}

pub(super) async fn mark_mail_failed(
    store: &PostgresStore,
    id: MailId,
    error: &str,
    retry_at: DateTime<Utc>,
) -> StoreResult<()> {
    let updated = sqlx::query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
         WHERE id = $3",
    )
    .bind(error)
    .bind(retry_at)
    .bind(id.0)
    .execute(&store.pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("mail", id));
    }
    Ok(())
}

pub(super) async fn record_audit(
    store: &PostgresStore,
    account: AccountId,
    entry: &NewAuditEntry,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (account_id, user_id, actor, action, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account.0)
    .bind(entry.user.map(|user| user.0))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.detail)
    .bind(now)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

pub(super) async fn audit_log(
    store: &PostgresStore,
    account: AccountId,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    audit_page(store, account, None, limit).await
}

pub(super) async fn audit_page(
    store: &PostgresStore,
    account: AccountId,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    sqlx::query(
        "SELECT id, account_id, user_id, actor, action, detail, at FROM audit_log \
         WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(account.0)
    .bind(before)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?
    .into_iter()
    .map(|row| {
        let user: Option<i64> = row.try_get("user_id")?;
        Ok(AuditEntry {
            id: row.try_get("id")?,
            account: AccountId(row.try_get("account_id")?),
            user: user.map(UserId),
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            detail: row.try_get("detail")?,
            at: row.try_get("at")?,
        })
    })
    .collect()
}
