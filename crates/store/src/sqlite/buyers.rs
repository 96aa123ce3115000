//! Coupa buyers of an account.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId};
use sqlx::SqliteConnection;

use super::codec::{
    conflict_on_unique, decode_enum, decode_json, decode_time, encode_enum, encode_json,
    encode_time, not_found,
};
use super::SqliteStore;
use crate::{Buyer, CredentialRef, NewBuyer, SecretBox, StoreError, StoreResult};

const BUYER_COLUMNS: &str = "id, account_id, name, from_domain, from_identity, to_domain, \
    to_identity, sender_domain, sender_identity, shared_secret, url_token, mode, invoice_url, \
    invoicing, created_at";

#[derive(sqlx::FromRow)]
struct BuyerRow {
    id: i64,
    account_id: i64,
    name: String,
    from_domain: String,
    from_identity: String,
    to_domain: String,
    to_identity: String,
    sender_domain: String,
    sender_identity: String,
    shared_secret: Option<String>,
    url_token: Option<String>,
    mode: String,
    invoice_url: Option<String>,
    invoicing: String,
    created_at: String,
}

impl BuyerRow {
    fn into_buyer(self, secrets: &SecretBox) -> StoreResult<Buyer> {
        Ok(Buyer {
            id: BuyerId(self.id),
            account_id: AccountId(self.account_id),
            name: self.name,
            from: credential(self.from_domain, self.from_identity),
            to: credential(self.to_domain, self.to_identity),
            sender: credential(self.sender_domain, self.sender_identity),
            shared_secret: self.shared_secret,
            url_token: self.url_token,
            mode: decode_enum("buyer", &self.mode)?,
            invoice_url: self.invoice_url,
            invoicing: secrets.open_invoicing(decode_json("buyer invoicing", &self.invoicing)?)?,
            created_at: decode_time("buyer", &self.created_at)?,
        })
    }
}

fn credential(domain: String, identity: String) -> CredentialRef {
    CredentialRef { domain, identity }
}

pub(super) async fn create_buyer(
    store: &SqliteStore,
    account: AccountId,
    new: &NewBuyer,
    now: DateTime<Utc>,
) -> StoreResult<Buyer> {
    let invoicing = serde_json::json!({});
    let mut tx = store.begin_write().await?;
    super::accounts::ensure_account(&mut tx, account).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO buyers (account_id, name, from_domain, from_identity, to_domain, \
             to_identity, sender_domain, sender_identity, shared_secret, url_token, mode, \
             invoice_url, invoicing, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
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
    .bind(encode_json(&invoicing))
    .bind(encode_time(now))
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| conflict_on_unique(err, "buyer", &new.name))?;
    tx.commit().await?;

    Ok(Buyer {
        id: BuyerId(id),
        account_id: account,
        name: new.name.clone(),
        from: new.from.clone(),
        to: new.to.clone(),
        sender: new.sender.clone(),
        shared_secret: new.shared_secret.clone(),
        url_token: new.url_token.clone(),
        mode: new.mode,
        invoice_url: new.invoice_url.clone(),
        invoicing,
        created_at: now,
    })
}

/// Replaces every field of the buyer except its id, account and creation time.
pub(super) async fn update_buyer(
    store: &SqliteStore,
    account: AccountId,
    buyer: &Buyer,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE buyers SET name = ?, from_domain = ?, from_identity = ?, to_domain = ?, \
             to_identity = ?, sender_domain = ?, sender_identity = ?, shared_secret = ?, \
             url_token = ?, mode = ?, invoice_url = ?, invoicing = ? \
         WHERE id = ? AND account_id = ?",
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
    .execute(&store.writer)
    .await
    .map_err(|err| conflict_on_unique(err, "buyer", &buyer.name))?;
    if result.rows_affected() == 0 {
        return Err(not_found("buyer", buyer.id));
    }
    Ok(())
}

pub(super) async fn delete_buyer(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
) -> StoreResult<()> {
    // Any early return drops the transaction, which rolls everything back.
    let mut tx = store.begin_write().await?;
    ensure_buyer(&mut tx, account, buyer).await?;
    let orders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM purchase_orders WHERE account_id = ? AND buyer_id = ?",
    )
    .bind(account.0)
    .bind(buyer.0)
    .fetch_one(&mut *tx)
    .await?;
    if orders > 0 {
        return Err(StoreError::Conflict {
            entity: "buyer",
            key: buyer.to_string(),
            reason: "has purchase orders",
        });
    }

    // Intake takes a duplicate's original only from the same buyer, but the
    // store accepts any document of the account as the original. Another
    // buyer's duplicate of a deleted document keeps no reference to it.
    sqlx::query(
        "UPDATE documents SET duplicate_of = NULL \
         WHERE account_id = ?1 AND buyer_id IS NOT ?2 AND duplicate_of IN \
             (SELECT id FROM documents WHERE account_id = ?1 AND buyer_id = ?2)",
    )
    .bind(account.0)
    .bind(buyer.0)
    .execute(&mut *tx)
    .await?;
    let deletes = [
        "DELETE FROM attachments WHERE document_id IN \
             (SELECT id FROM documents WHERE account_id = ?1 AND buyer_id = ?2)",
        "DELETE FROM documents WHERE account_id = ?1 AND buyer_id = ?2",
        "DELETE FROM coupa_items WHERE account_id = ?1 AND buyer_id = ?2",
        "DELETE FROM item_mappings WHERE account_id = ?1 AND buyer_id = ?2",
        "DELETE FROM customer_mappings WHERE account_id = ?1 AND buyer_id = ?2",
        "DELETE FROM buyers WHERE account_id = ?1 AND id = ?2",
    ];
    for sql in deletes {
        sqlx::query(sql)
            .bind(account.0)
            .bind(buyer.0)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn buyer(
    store: &SqliteStore,
    account: AccountId,
    id: BuyerId,
) -> StoreResult<Buyer> {
    fetch_one_buyer(store, account, "id = ?", id.0, id).await
}

pub(super) async fn buyer_by_name(
    store: &SqliteStore,
    account: AccountId,
    name: &str,
) -> StoreResult<Buyer> {
    fetch_one_buyer(store, account, "name = ?", name.to_owned(), name).await
}

pub(super) async fn buyer_by_url_token(
    store: &SqliteStore,
    account: AccountId,
    token: &str,
) -> StoreResult<Buyer> {
    // The token is a credential, so the error does not repeat it.
    fetch_one_buyer(
        store,
        account,
        "url_token = ?",
        token.to_owned(),
        "url token",
    )
    .await
}

async fn fetch_one_buyer<T>(
    store: &SqliteStore,
    account: AccountId,
    condition: &str,
    value: T,
    key: impl ToString,
) -> StoreResult<Buyer>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + 'static,
{
    let sql = format!("SELECT {BUYER_COLUMNS} FROM buyers WHERE account_id = ? AND {condition}");
    sqlx::query_as::<_, BuyerRow>(&sql)
        .bind(account.0)
        .bind(value)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("buyer", key))?
        .into_buyer(&store.secrets)
}

pub(super) async fn list_buyers(
    store: &SqliteStore,
    account: AccountId,
) -> StoreResult<Vec<Buyer>> {
    let sql = format!("SELECT {BUYER_COLUMNS} FROM buyers WHERE account_id = ? ORDER BY name, id");
    sqlx::query_as::<_, BuyerRow>(&sql)
        .bind(account.0)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(|row| row.into_buyer(&store.secrets))
        .collect()
}

/// Fails with `NotFound` unless the buyer belongs to the account; for checks
/// inside a write transaction.
pub(super) async fn ensure_buyer(
    conn: &mut SqliteConnection,
    account: AccountId,
    buyer: BuyerId,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM buyers WHERE id = ? AND account_id = ?")
            .bind(buyer.0)
            .bind(account.0)
            .fetch_optional(conn)
            .await?;
    found.map(|_| ()).ok_or_else(|| not_found("buyer", buyer))
}
