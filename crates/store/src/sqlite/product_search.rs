//! Searching the local product index for the item mapping page.

use pobridge_core::AccountId;

use super::catalog::{fetch_products, PRODUCT_COLUMNS};
use super::SqliteStore;
use crate::{Product, StoreResult};

/// Finds products as [`crate::Store::search_products`] describes.
///
/// NOTE: SQLite's `lower()` folds only ASCII letters, so a non-ASCII letter
/// matches only in the case it was typed; PostgreSQL folds every letter.
/// A folded search column kept by `upsert_products` would make both fold
/// alike.
pub(super) async fn search_products(
    store: &SqliteStore,
    account: AccountId,
    text: &str,
    limit: i64,
) -> StoreResult<Vec<Product>> {
    let text = text.trim();
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products \
         WHERE account_id = ?1 AND (?2 = '' OR CAST(product_id AS TEXT) = ?2 \
             OR instr(lower(name), ?3) > 0 OR instr(lower(sku), ?3) > 0 \
             OR instr(lower(barcode), ?3) > 0 OR instr(lower(ean), ?3) > 0 \
             OR instr(lower(upc), ?3) > 0 OR instr(lower(mpn), ?3) > 0 \
             OR instr(lower(isbn), ?3) > 0) \
         ORDER BY CASE \
             WHEN ?2 = '' THEN 2 \
             WHEN CAST(product_id AS TEXT) = ?2 OR lower(sku) = ?3 OR lower(barcode) = ?3 \
                 OR lower(ean) = ?3 OR lower(upc) = ?3 OR lower(mpn) = ?3 \
                 OR lower(isbn) = ?3 THEN 0 \
             WHEN substr(lower(sku), 1, length(?3)) = ?3 \
                 OR substr(lower(name), 1, length(?3)) = ?3 THEN 1 \
             ELSE 2 END, \
             name, product_id \
         LIMIT ?4"
    );
    let query = sqlx::query_as(&sql)
        .bind(account.0)
        .bind(text)
        .bind(text.to_ascii_lowercase())
        .bind(limit.max(0));
    fetch_products(store, query).await
}
