//! Accounts, their settings and their Brightpearl connection.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, AccountSettings, AccountSlug};
use sqlx::SqliteConnection;

use super::codec::{
    conflict_on_unique, corrupt, decode_enum, decode_json, decode_time, encode_enum, encode_json,
    encode_time, missing_on_foreign_key, not_found,
};
use super::SqliteStore;
use crate::{Account, Connection, StoreResult};

const ACCOUNT_COLUMNS: &str = "id, slug, email, settings, created_at";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    slug: String,
    email: String,
    settings: String,
    created_at: String,
}

impl AccountRow {
    fn into_account(self) -> StoreResult<Account> {
        let slug =
            AccountSlug::parse(&self.slug).map_err(|err| corrupt("account", err.to_string()))?;
        Ok(Account {
            id: AccountId(self.id),
            slug,
            email: self.email,
            settings: decode_json("account settings", &self.settings)?,
            created_at: decode_time("account", &self.created_at)?,
        })
    }
}

pub(super) async fn create_account(
    store: &SqliteStore,
    slug: &AccountSlug,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<Account> {
    let settings = AccountSettings::default();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (slug, email, settings, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(slug.as_str())
    .bind(email)
    .bind(encode_json(&settings))
    .bind(encode_time(now))
    .fetch_one(&store.writer)
    .await
    .map_err(|err| conflict_on_unique(err, "account", slug))?;

    Ok(Account {
        id: AccountId(id),
        slug: slug.clone(),
        email: email.to_owned(),
        settings,
        created_at: now,
    })
}

pub(super) async fn account_by_slug(
    store: &SqliteStore,
    slug: &AccountSlug,
) -> StoreResult<Account> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE slug = ?");
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(slug.as_str())
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("account", slug))?
        .into_account()
}

pub(super) async fn account(store: &SqliteStore, id: AccountId) -> StoreResult<Account> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?");
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(id.0)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("account", id))?
        .into_account()
}

pub(super) async fn list_accounts(store: &SqliteStore) -> StoreResult<Vec<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
    sqlx::query_as::<_, AccountRow>(&sql)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(AccountRow::into_account)
        .collect()
}

pub(super) async fn save_settings(
    store: &SqliteStore,
    account: AccountId,
    settings: &AccountSettings,
) -> StoreResult<()> {
    let result = sqlx::query("UPDATE accounts SET settings = ? WHERE id = ?")
        .bind(encode_json(settings))
        .bind(account.0)
        .execute(&store.writer)
        .await?;
    if result.rows_affected() == 0 {
        return Err(not_found("account", account));
    }
    Ok(())
}

/// Fails with `NotFound` unless the account exists; for checks inside a write transaction.
pub(super) async fn ensure_account(
    conn: &mut SqliteConnection,
    account: AccountId,
) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
        .bind(account.0)
        .fetch_optional(conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| not_found("account", account))
}

pub(super) async fn save_connection(
    store: &SqliteStore,
    account: AccountId,
    connection: &Connection,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO connections (account_id, account_code, api_base, auth, \
             installation_instance_id, is_sandbox, status, connected_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (account_id) DO UPDATE SET account_code = excluded.account_code, \
             api_base = excluded.api_base, auth = excluded.auth, \
             installation_instance_id = excluded.installation_instance_id, \
             is_sandbox = excluded.is_sandbox, status = excluded.status, \
             connected_at = excluded.connected_at",
    )
    .bind(account.0)
    .bind(&connection.account_code)
    .bind(&connection.api_base)
    .bind(store.secrets.seal_json(&connection.auth))
    .bind(&connection.installation_instance_id)
    .bind(connection.is_sandbox)
    .bind(encode_enum(&connection.status))
    .bind(encode_time(connection.connected_at))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    account_code: String,
    api_base: String,
    auth: String,
    installation_instance_id: Option<String>,
    is_sandbox: bool,
    status: String,
    connected_at: String,
}

pub(super) async fn connection(
    store: &SqliteStore,
    account: AccountId,
) -> StoreResult<Option<Connection>> {
    let row = sqlx::query_as::<_, ConnectionRow>(
        "SELECT account_code, api_base, auth, installation_instance_id, is_sandbox, status, \
             connected_at \
         FROM connections WHERE account_id = ?",
    )
    .bind(account.0)
    .fetch_optional(&store.reader)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Connection {
        account_code: row.account_code,
        api_base: row.api_base,
        auth: store.secrets.open_json("connection", &row.auth)?,
        installation_instance_id: row.installation_instance_id,
        is_sandbox: row.is_sandbox,
        status: decode_enum("connection", &row.status)?,
        connected_at: decode_time("connection", &row.connected_at)?,
    }))
}
