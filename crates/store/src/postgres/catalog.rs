//! The local copies of Brightpearl data: the product index, contacts and
//! reference data.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BrightpearlIdField};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::codec::{encode_json, json_column, missing_on_foreign_key};
use super::PostgresStore;
use crate::codec::identifier_column;
use crate::{
    Contact, Product, ReferenceData, ReferenceKind, StoreResult, PRODUCTS_PER_TRANSACTION,
};

pub(super) const PRODUCT_COLUMNS: &str = "product_id, name, sku, barcode, ean, upc, mpn, isbn, \
    stock_tracked, tax_code, updated_on";

pub(super) fn product_from_row(row: PgRow) -> StoreResult<Product> {
    Ok(Product {
        product_id: row.try_get("product_id")?,
        name: row.try_get("name")?,
        sku: row.try_get("sku")?,
        barcode: row.try_get("barcode")?,
        ean: row.try_get("ean")?,
        upc: row.try_get("upc")?,
        mpn: row.try_get("mpn")?,
        isbn: row.try_get("isbn")?,
        stock_tracked: row.try_get("stock_tracked")?,
        tax_code: row.try_get("tax_code")?,
        updated_on: row.try_get("updated_on")?,
    })
}

/// Inserts or replaces products in product id order, so that two refreshes
/// of one account lock shared rows in the same order, and commits every
/// [`PRODUCTS_PER_TRANSACTION`] of them, so that orders waiting for the
/// account's item-match lock wait for one such transaction at most.
pub(super) async fn upsert_products(
    store: &PostgresStore,
    account: AccountId,
    products: &[Product],
) -> StoreResult<()> {
    let mut ordered: Vec<&Product> = products.iter().collect();
    ordered.sort_by_key(|product| product.product_id);
    for chunk in ordered.chunks(PRODUCTS_PER_TRANSACTION) {
        upsert_product_chunk(store, account, chunk).await?;
    }
    Ok(())
}

async fn upsert_product_chunk(
    store: &PostgresStore,
    account: AccountId,
    products: &[&Product],
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    for product in products {
        sqlx::query(
            "INSERT INTO products (account_id, product_id, name, sku, barcode, ean, upc, mpn, \
                 isbn, stock_tracked, tax_code, updated_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (account_id, product_id) DO UPDATE SET name = excluded.name, \
                 sku = excluded.sku, barcode = excluded.barcode, ean = excluded.ean, \
                 upc = excluded.upc, mpn = excluded.mpn, isbn = excluded.isbn, \
                 stock_tracked = excluded.stock_tracked, tax_code = excluded.tax_code, \
                 updated_on = excluded.updated_on",
        )
        .bind(account.0)
        .bind(product.product_id)
        .bind(&product.name)
        .bind(&product.sku)
        .bind(&product.barcode)
        .bind(&product.ean)
        .bind(&product.upc)
        .bind(&product.mpn)
        .bind(&product.isbn)
        .bind(product.stock_tracked)
        .bind(&product.tax_code)
        .bind(product.updated_on)
        .execute(&mut *tx)
        .await
        .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn products_by_identifier(
    store: &PostgresStore,
    account: AccountId,
    field: BrightpearlIdField,
    value: &str,
) -> StoreResult<Vec<Product>> {
    let column = identifier_column(field);
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE account_id = $1 AND {column} = $2 \
         ORDER BY product_id"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(value)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(product_from_row)
        .collect()
}

pub(super) async fn product(
    store: &PostgresStore,
    account: AccountId,
    product_id: i64,
) -> StoreResult<Option<Product>> {
    let sql =
        format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE account_id = $1 AND product_id = $2");
    sqlx::query(&sql)
        .bind(account.0)
        .bind(product_id)
        .fetch_optional(&store.pool)
        .await?
        .map(product_from_row)
        .transpose()
}

/// Lists products by id. A negative `limit` means no limit, as in SQLite.
pub(super) async fn list_products(
    store: &PostgresStore,
    account: AccountId,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE account_id = $1 \
         ORDER BY product_id LIMIT $2 OFFSET $3"
    );
    let (limit, offset) = super::codec::page(Some(limit), Some(offset));
    sqlx::query(&sql)
        .bind(account.0)
        .bind(limit)
        .bind(offset)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(product_from_row)
        .collect()
}

/// Inserts or replaces contacts in contact id order, so that two refreshes
/// of one account lock shared rows in the same order.
pub(super) async fn upsert_contacts(
    store: &PostgresStore,
    account: AccountId,
    contacts: &[Contact],
) -> StoreResult<()> {
    let mut ordered: Vec<&Contact> = contacts.iter().collect();
    ordered.sort_by_key(|contact| contact.contact_id);
    let mut tx = store.begin().await?;
    for contact in ordered {
        sqlx::query(
            "INSERT INTO contacts (account_id, contact_id, company_name, email, first_name, \
                 last_name, is_customer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (account_id, contact_id) DO UPDATE SET \
                 company_name = excluded.company_name, email = excluded.email, \
                 first_name = excluded.first_name, last_name = excluded.last_name, \
                 is_customer = excluded.is_customer",
        )
        .bind(account.0)
        .bind(contact.contact_id)
        .bind(&contact.company_name)
        .bind(&contact.email)
        .bind(&contact.first_name)
        .bind(&contact.last_name)
        .bind(contact.is_customer)
        .execute(&mut *tx)
        .await
        .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_contacts(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Vec<Contact>> {
    let rows = sqlx::query(
        "SELECT contact_id, company_name, email, first_name, last_name, is_customer \
         FROM contacts WHERE account_id = $1 ORDER BY contact_id",
    )
    .bind(account.0)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Contact {
                contact_id: row.try_get("contact_id")?,
                company_name: row.try_get("company_name")?,
                email: row.try_get("email")?,
                first_name: row.try_get("first_name")?,
                last_name: row.try_get("last_name")?,
                is_customer: row.try_get("is_customer")?,
            })
        })
        .collect()
}

pub(super) async fn save_reference_data(
    store: &PostgresStore,
    account: AccountId,
    kind: ReferenceKind,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO reference_data (account_id, kind, data, fetched_at) \
         VALUES ($1, $2, $3::jsonb, $4) \
         ON CONFLICT (account_id, kind) DO UPDATE SET data = excluded.data, \
             fetched_at = excluded.fetched_at",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .bind(encode_json(data))
    .bind(now)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

pub(super) async fn reference_data(
    store: &PostgresStore,
    account: AccountId,
    kind: ReferenceKind,
) -> StoreResult<Option<ReferenceData>> {
    let row = sqlx::query(
        "SELECT data::text AS data, fetched_at FROM reference_data \
         WHERE account_id = $1 AND kind = $2",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .fetch_optional(&store.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(ReferenceData {
        kind,
        data: json_column(&row, "data", "reference data")?,
        fetched_at: row.try_get("fetched_at")?,
    }))
}
