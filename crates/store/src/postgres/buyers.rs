//! Coupa buyers of an account.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, AccountSlug, BuyerId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::accounts::account_from_columns;
use super::codec::{
    conflict_on_unique, encode_enum, encode_json, enum_column, json_column, not_found,
};
use super::{ensure_row, PostgresStore};
use crate::{Account, Buyer, CredentialRef, NewBuyer, SecretBox, StoreError, StoreResult};

const BUYER_COLUMNS: &str = "id, account_id, name, from_domain, from_identity, to_domain, \
    to_identity, sender_domain, sender_identity, shared_secret, url_token, mode, invoice_url, \
    invoicing::text AS invoicing, created_at";

fn buyer_from_row(row: PgRow, secrets: &SecretBox) -> StoreResult<Buyer> {
    let credential = |domain: &str, identity: &str| -> StoreResult<CredentialRef> {
        Ok(CredentialRef {
            domain: row.try_get(domain)?,
            identity: row.try_get(identity)?,
        })
    };
    Ok(Buyer {
        id: BuyerId(row.try_get("id")?),
        account_id: AccountId(row.try_get("account_id")?),
        name: row.try_get("name")?,
        from: credential("from_domain", "from_identity")?,
        to: credential("to_domain", "to_identity")?,
        sender: credential("sender_domain", "sender_identity")?,
        shared_secret: row.try_get("shared_secret")?,
        url_token: row.try_get("url_token")?,
        mode: enum_column(&row, "mode", "buyer")?,
        invoice_url: row.try_get("invoice_url")?,
        invoicing: secrets.open_invoicing(json_column(&row, "invoicing", "buyer invoicing")?)?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) async fn create_buyer(
    store: &PostgresStore,
    account: AccountId,
    new: &NewBuyer,
    now: DateTime<Utc>,
) -> StoreResult<Buyer> {
    let mut tx = store.begin().await?;
    super::accounts::ensure_account(&mut tx, account).await?;
    let sql = format!(
        "INSERT INTO buyers (account_id, name, from_domain, from_identity, to_domain, \
             to_identity, sender_domain, sender_identity, shared_secret, url_token, mode, \
             invoice_url, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         RETURNING {BUYER_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(account.0)
        .bind(&new.name)
        .bind(&new.from.domain)
        .bind(&new.from.identity)
        .bind(&new.to.domain)
        .bind(&new.to.identity)
        .bind(&new.sender.domain)
        .bind(&new.sender.identity)
        .bind(&new.shared_secret)
        .bind(&new.url_token)
        .bind(encode_enum(&new.mode))
        .bind(&new.invoice_url)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|err| conflict_on_unique(err, "buyer", &new.name))?;
    tx.commit().await?;
    buyer_from_row(row, &store.secrets)
}

/// Replaces every field of the buyer except its id, account and creation time.
pub(super) async fn update_buyer(
    store: &PostgresStore,
    account: AccountId,
    buyer: &Buyer,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE buyers SET name = $1, from_domain = $2, from_identity = $3, to_domain = $4, \
             to_identity = $5, sender_domain = $6, sender_identity = $7, shared_secret = $8, \
             url_token = $9, mode = $10, invoice_url = $11, invoicing = $12::jsonb \
         WHERE id = $13 AND account_id = $14",
    )
    .bind(&buyer.name)
    .bind(&buyer.from.domain)
    .bind(&buyer.from.identity)
    .bind(&buyer.to.domain)
    .bind(&buyer.to.identity)
    .bind(&buyer.sender.domain)
    .bind(&buyer.sender.identity)
    .bind(&buyer.shared_secret)
    .bind(&buyer.url_token)
    .bind(encode_enum(&buyer.mode))
    .bind(&buyer.invoice_url)
    .bind(encode_json(&store.secrets.seal_invoicing(&buyer.invoicing)))
    .bind(buyer.id.0)
    .bind(account.0)
    .execute(&store.pool)
    .await
    .map_err(|err| conflict_on_unique(err, "buyer", &buyer.name))?;
    if result.rows_affected() == 0 {
        return Err(not_found("buyer", buyer.id));
    }
    Ok(())
}

pub(super) async fn delete_buyer(
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
) -> StoreResult<()> {
    // Any early return drops the transaction, which rolls everything back.
    let mut tx = store.begin().await?;
    // Deletes of one account's buyers run one at a time: each clears other
    // buyers' references to its documents, and two at once could deadlock.
    sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(account.0)
        .execute(&mut *tx)
        .await?;
    // The row lock keeps new documents and orders from referring to the
    // buyer until the transaction ends, so the count below stays true.
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT id FROM buyers WHERE id = $1 AND account_id = $2 FOR UPDATE")
            .bind(buyer.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
    if locked.is_none() {
        return Err(not_found("buyer", buyer));
    }
    let has_orders: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM purchase_orders WHERE account_id = $1 AND buyer_id = $2)",
    )
    .bind(account.0)
    .bind(buyer.0)
    .fetch_one(&mut *tx)
    .await?;
    if has_orders {
        return Err(StoreError::Conflict {
            entity: "buyer",
            key: buyer.to_string(),
            reason: "has purchase orders",
        });
    }

    // The store accepts any document of the account as a duplicate's
    // original, so another buyer's duplicate of a deleted document keeps no
    // reference to it.
    let statements = [
        "UPDATE documents SET duplicate_of = NULL \
         WHERE account_id = $1 AND buyer_id IS DISTINCT FROM $2 AND duplicate_of IN \
             (SELECT id FROM documents WHERE account_id = $1 AND buyer_id = $2)",
        "DELETE FROM attachments WHERE document_id IN \
             (SELECT id FROM documents WHERE account_id = $1 AND buyer_id = $2)",
        "DELETE FROM documents WHERE account_id = $1 AND buyer_id = $2",
        "DELETE FROM coupa_items WHERE account_id = $1 AND buyer_id = $2",
        "DELETE FROM item_mappings WHERE account_id = $1 AND buyer_id = $2",
        "DELETE FROM customer_mappings WHERE account_id = $1 AND buyer_id = $2",
        "DELETE FROM buyers WHERE account_id = $1 AND id = $2",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(account.0)
            .bind(buyer.0)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The column a buyer is looked up by.
enum BuyerKey<'a> {
    Id(BuyerId),
    Name(&'a str),
    UrlToken(&'a str),
}

pub(super) async fn buyer(
    store: &PostgresStore,
    account: AccountId,
    id: BuyerId,
) -> StoreResult<Buyer> {
    find_buyer(store, account, BuyerKey::Id(id)).await
}

pub(super) async fn buyer_by_name(
    store: &PostgresStore,
    account: AccountId,
    name: &str,
) -> StoreResult<Buyer> {
    find_buyer(store, account, BuyerKey::Name(name)).await
}

pub(super) async fn buyer_by_url_token(
    store: &PostgresStore,
    account: AccountId,
    token: &str,
) -> StoreResult<Buyer> {
    find_buyer(store, account, BuyerKey::UrlToken(token)).await
}

async fn find_buyer(
    store: &PostgresStore,
    account: AccountId,
    key: BuyerKey<'_>,
) -> StoreResult<Buyer> {
    let column = match key {
        BuyerKey::Id(_) => "id",
        BuyerKey::Name(_) => "name",
        BuyerKey::UrlToken(_) => "url_token",
    };
    let sql = format!("SELECT {BUYER_COLUMNS} FROM buyers WHERE account_id = $1 AND {column} = $2");
    let query = sqlx::query(&sql).bind(account.0);
    let query = match key {
        BuyerKey::Id(id) => query.bind(id.0),
        BuyerKey::Name(text) | BuyerKey::UrlToken(text) => query.bind(text),
    };
    let Some(row) = query.fetch_optional(&store.pool).await? else {
        // The token is a credential, so the error does not repeat it.
        let key = match key {
            BuyerKey::Id(id) => id.to_string(),
            BuyerKey::Name(name) => name.to_owned(),
            BuyerKey::UrlToken(_) => "url token".to_owned(),
        };
        return Err(not_found("buyer", key));
    };
    buyer_from_row(row, &store.secrets)
}

/// Reads the account with `slug` and its buyers in one statement: one row
/// per buyer, or one row without a buyer, each with the account's columns.
pub(super) async fn account_with_buyers(
    store: &PostgresStore,
    slug: &AccountSlug,
) -> StoreResult<(Account, Vec<Buyer>)> {
    let buyer_columns: Vec<String> = BUYER_COLUMNS
        .split(',')
        .map(|column| format!("b.{}", column.trim()))
        .collect();
    let sql = format!(
        "SELECT {}, a.id AS account_row_id, a.slug AS account_row_slug, \
             a.email AS account_row_email, a.settings::text AS account_row_settings, \
             a.created_at AS account_row_created_at \
         FROM accounts a LEFT JOIN buyers b ON b.account_id = a.id \
         WHERE a.slug = $1 ORDER BY b.name, b.id",
        buyer_columns.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(slug.as_str())
        .fetch_all(&store.pool)
        .await?;
    let Some(first) = rows.first() else {
        return Err(not_found("account", slug));
    };
    let account = account_from_columns(first, "account_row_")?;
    let mut buyers = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Option<i64> = row.try_get("id")?;
        if id.is_some() {
            buyers.push(buyer_from_row(row, &store.secrets)?);
        }
    }
    Ok((account, buyers))
}

pub(super) async fn list_buyers(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Vec<Buyer>> {
    let sql = format!("SELECT {BUYER_COLUMNS} FROM buyers WHERE account_id = $1 ORDER BY name, id");
    sqlx::query(&sql)
        .bind(account.0)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(|row| buyer_from_row(row, &store.secrets))
        .collect()
}

/// Fails with `NotFound` unless the buyer belongs to the account.
pub(super) async fn ensure_buyer(
    conn: &mut PgConnection,
    account: AccountId,
    buyer: BuyerId,
) -> StoreResult<()> {
    ensure_row(conn, "buyers", "account_id", buyer.0, account.0, "buyer").await
}
