//! Searching the local product index for the item mapping page.

use pobridge_core::AccountId;

use super::catalog::{product_from_row, PRODUCT_COLUMNS};
use super::PostgresStore;
use crate::{Product, StoreResult};

/// Finds products as [`crate::Store::search_products`] describes. Unlike
/// SQLite, `lower()` here folds non-ASCII letters too. Names sort by code
/// point (`COLLATE "C"`), as SQLite sorts them.
pub(super) async fn search_products(
    store: &PostgresStore,
    account: AccountId,
    text: &str,
    limit: i64,
) -> StoreResult<Vec<Product>> {
    let text = text.trim();
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products \
         WHERE account_id = $1 AND ($2 = '' OR product_id::text = $2 \
             OR strpos(lower(name), $3) > 0 OR strpos(lower(sku), $3) > 0 \
             OR strpos(lower(barcode), $3) > 0 OR strpos(lower(ean), $3) > 0 \
             OR strpos(lower(upc), $3) > 0 OR strpos(lower(mpn), $3) > 0 \
             OR strpos(lower(isbn), $3) > 0) \
         ORDER BY CASE \
             WHEN $2 = '' THEN 2 \
             WHEN product_id::text = $2 OR lower(sku) = $3 OR lower(barcode) = $3 \
                 OR lower(ean) = $3 OR lower(upc) = $3 OR lower(mpn) = $3 \
                 OR lower(isbn) = $3 THEN 0 \
             WHEN starts_with(lower(sku), $3) OR starts_with(lower(name), $3) THEN 1 \
             ELSE 2 END, \
             name COLLATE \"C\", product_id \
         LIMIT $4"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(text)
        .bind(text.to_lowercase())
        .bind(limit.max(0))
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(product_from_row)
        .collect()
}
