//! Accounts, their settings and their Brightpearl connection.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, AccountSettings, AccountSlug};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::codec::{
    conflict_on_unique, corrupt, encode_enum, encode_json, enum_column, json_column,
    missing_on_foreign_key, not_found,
};
use super::PostgresStore;
use crate::{Account, Connection, StoreResult};

const ACCOUNT_COLUMNS: &str = "id, slug, email, settings::text AS settings, created_at";

fn account_from_row(row: PgRow) -> StoreResult<Account> {
    account_from_columns(&row, "")
}

/// Reads an account from the columns of [`ACCOUNT_COLUMNS`], each named
/// with `prefix` in front.
pub(super) fn account_from_columns(row: &PgRow, prefix: &str) -> StoreResult<Account> {
    let column = |name: &str| format!("{prefix}{name}");
    let slug: String = row.try_get(column("slug").as_str())?;
    Ok(Account {
        id: AccountId(row.try_get(column("id").as_str())?),
        slug: AccountSlug::parse(&slug).map_err(|err| corrupt("account", err.to_string()))?,
        email: row.try_get(column("email").as_str())?,
        settings: json_column(row, &column("settings"), "account settings")?,
        created_at: row.try_get(column("created_at").as_str())?,
    })
}

pub(super) async fn create_account(
    store: &PostgresStore,
    slug: &AccountSlug,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<Account> {
    let sql = format!(
        "INSERT INTO accounts (slug, email, settings, created_at) VALUES ($1, $2, $3::jsonb, $4) \
         RETURNING {ACCOUNT_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(slug.as_str())
        .bind(email)
        .bind(encode_json(&AccountSettings::default()))
        .bind(now)
        .fetch_one(&store.pool)
        .await
        .map_err(|err| conflict_on_unique(err, "account", slug))?;
    account_from_row(row)
}

pub(super) async fn account_by_slug(
    store: &PostgresStore,
    slug: &AccountSlug,
) -> StoreResult<Account> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE slug = $1");
    let row = sqlx::query(&sql)
        .bind(slug.as_str())
        .fetch_optional(&store.pool)
        .await?;
    account_from_row(row.ok_or_else(|| not_found("account", slug))?)
}

pub(super) async fn account(store: &PostgresStore, id: AccountId) -> StoreResult<Account> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&store.pool)
        .await?;
    account_from_row(row.ok_or_else(|| not_found("account", id))?)
}

pub(super) async fn list_accounts(store: &PostgresStore) -> StoreResult<Vec<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
    sqlx::query(&sql)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(account_from_row)
        .collect()
}

pub(super) async fn save_settings(
    store: &PostgresStore,
    account: AccountId,
    settings: &AccountSettings,
) -> StoreResult<()> {
    let result = sqlx::query("UPDATE accounts SET settings = $1::jsonb WHERE id = $2")
        .bind(encode_json(settings))
        .bind(account.0)
        .execute(&store.pool)
        .await?;
    if result.rows_affected() == 0 {
        return Err(not_found("account", account));
    }
    Ok(())
}

/// Fails with `NotFound` unless the account exists; for checks inside a
/// transaction.
pub(super) async fn ensure_account(conn: &mut PgConnection, account: AccountId) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
        .bind(account.0)
        .fetch_optional(conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| not_found("account", account))
}

pub(super) async fn save_connection(
    store: &PostgresStore,
    account: AccountId,
    connection: &Connection,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO connections (account_id, account_code, api_base, auth, \
             installation_instance_id, is_sandbox, status, connected_at) \
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) \
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
    .bind(connection.connected_at)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

pub(super) async fn connection(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Option<Connection>> {
    let row = sqlx::query(
        "SELECT account_code, api_base, auth::text AS auth, installation_instance_id, \
             is_sandbox, status, connected_at \
         FROM connections WHERE account_id = $1",
    )
    .bind(account.0)
    .fetch_optional(&store.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Connection {
        account_code: row.try_get("account_code")?,
        api_base: row.try_get("api_base")?,
        auth: store
            .secrets
            .open_json("connection", &row.try_get::<String, _>("auth")?)?,
        installation_instance_id: row.try_get("installation_instance_id")?,
        is_sandbox: row.try_get("is_sandbox")?,
        status: enum_column(&row, "status", "connection")?,
        connected_at: row.try_get("connected_at")?,
    }))
}
