//! The local copies of Brightpearl data: the product index, contacts and
//! reference data.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BrightpearlIdField};

use super::codec::{
    decode_json, decode_optional_time, decode_time, encode_json, encode_time,
    missing_on_foreign_key,
};
use super::SqliteStore;
use crate::codec::identifier_column;
use crate::{
    Contact, Product, ReferenceData, ReferenceKind, StoreResult, PRODUCTS_PER_TRANSACTION,
};

pub(super) const PRODUCT_COLUMNS: &str = "product_id, name, sku, barcode, ean, upc, mpn, isbn, \
    stock_tracked, tax_code, updated_on";

#[derive(sqlx::FromRow)]
pub(super) struct ProductRow {
    product_id: i64,
    name: String,
    sku: Option<String>,
    barcode: Option<String>,
    ean: Option<String>,
    upc: Option<String>,
    mpn: Option<String>,
    isbn: Option<String>,
    stock_tracked: bool,
    tax_code: Option<String>,
    updated_on: Option<String>,
}

impl ProductRow {
    fn into_product(self) -> StoreResult<Product> {
        Ok(Product {
            product_id: self.product_id,
            name: self.name,
            sku: self.sku,
            barcode: self.barcode,
            ean: self.ean,
            upc: self.upc,
            mpn: self.mpn,
            isbn: self.isbn,
            stock_tracked: self.stock_tracked,
            tax_code: self.tax_code,
            updated_on: decode_optional_time("product", self.updated_on)?,
        })
    }
}

/// Inserts or replaces products in product id order and commits every
/// [`PRODUCTS_PER_TRANSACTION`] of them, so that received orders wait for
/// the writer for one such transaction at most.
pub(super) async fn upsert_products(
    store: &SqliteStore,
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
    store: &SqliteStore,
    account: AccountId,
    products: &[&Product],
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    for product in products {
        sqlx::query(
            "INSERT INTO products (account_id, product_id, name, sku, barcode, ean, upc, mpn, \
                 isbn, stock_tracked, tax_code, updated_on) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
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
        .bind(product.updated_on.map(encode_time))
        .execute(&mut *tx)
        .await
        .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn products_by_identifier(
    store: &SqliteStore,
    account: AccountId,
    field: BrightpearlIdField,
    value: &str,
) -> StoreResult<Vec<Product>> {
    let column = identifier_column(field);
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE account_id = ? AND {column} = ? \
         ORDER BY product_id"
    );
    fetch_products(store, sqlx::query_as(&sql).bind(account.0).bind(value)).await
}

pub(super) async fn product(
    store: &SqliteStore,
    account: AccountId,
    product_id: i64,
) -> StoreResult<Option<Product>> {
    let sql =
        format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE account_id = ? AND product_id = ?");
    let products =
        fetch_products(store, sqlx::query_as(&sql).bind(account.0).bind(product_id)).await?;
    Ok(products.into_iter().next())
}

pub(super) async fn list_products(
    store: &SqliteStore,
    account: AccountId,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE account_id = ? \
         ORDER BY product_id LIMIT ? OFFSET ?"
    );
    let query = sqlx::query_as(&sql)
        .bind(account.0)
        .bind(limit)
        .bind(offset.max(0));
    fetch_products(store, query).await
}

pub(super) async fn fetch_products<'q>(
    store: &SqliteStore,
    query: sqlx::query::QueryAs<'q, sqlx::Sqlite, ProductRow, sqlx::sqlite::SqliteArguments<'q>>,
) -> StoreResult<Vec<Product>> {
    query
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(ProductRow::into_product)
        .collect()
}

pub(super) async fn upsert_contacts(
    store: &SqliteStore,
    account: AccountId,
    contacts: &[Contact],
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    for contact in contacts {
        sqlx::query(
            "INSERT INTO contacts (account_id, contact_id, company_name, email, first_name, \
                 last_name, is_customer) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
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

#[derive(sqlx::FromRow)]
struct ContactRow {
    contact_id: i64,
    company_name: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    is_customer: bool,
}

pub(super) async fn list_contacts(
    store: &SqliteStore,
    account: AccountId,
) -> StoreResult<Vec<Contact>> {
    let rows = sqlx::query_as::<_, ContactRow>(
        "SELECT contact_id, company_name, email, first_name, last_name, is_customer \
         FROM contacts WHERE account_id = ? ORDER BY contact_id",
    )
    .bind(account.0)
    .fetch_all(&store.reader)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Contact {
            contact_id: row.contact_id,
            company_name: row.company_name,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            is_customer: row.is_customer,
        })
        .collect())
}

pub(super) async fn save_reference_data(
    store: &SqliteStore,
    account: AccountId,
    kind: ReferenceKind,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO reference_data (account_id, kind, data, fetched_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (account_id, kind) DO UPDATE SET data = excluded.data, \
             fetched_at = excluded.fetched_at",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .bind(encode_json(data))
    .bind(encode_time(now))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

pub(super) async fn reference_data(
    store: &SqliteStore,
    account: AccountId,
    kind: ReferenceKind,
) -> StoreResult<Option<ReferenceData>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT data, fetched_at FROM reference_data WHERE account_id = ? AND kind = ?",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .fetch_optional(&store.reader)
    .await?;
    let Some((data, fetched_at)) = row else {
        return Ok(None);
    };
    Ok(Some(ReferenceData {
        kind,
        data: decode_json("reference data", &data)?,
        fetched_at: decode_time("reference data", &fetched_at)?,
    }))
}
