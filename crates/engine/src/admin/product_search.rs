//! Searching the local product index for the product to map a Coupa item
//! to. Only the index is searched, never Brightpearl itself, so a product
//! added in Brightpearl since the last reference refresh is not found.

use pobridge_store::Product;

use super::{account, invalid, AdminError};
use crate::Engine;

/// Maximum length of a search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// One page of products found by [`search_products`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductChoices {
    /// At most the requested number of products, best matches first.
    pub products: Vec<Product>,
    /// Whether the index has more matching products than were returned.
    pub more: bool,
}

/// Finds up to `limit` products of the account's local index by product
/// id, or by part of a name, SKU, barcode, EAN, UPC, MPN or ISBN, ignoring
/// the case of ASCII letters. Exact identifiers come first, and an empty
/// `text` lists products by name. A text longer than [`MAX_SEARCH_CHARS`]
/// fails with `AdminError::Invalid` for the field `search`.
pub async fn search_products(
    engine: &Engine,
    slug: &str,
    text: &str,
    limit: usize,
) -> Result<ProductChoices, AdminError> {
    let text = text.trim();
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(invalid(
            "search",
            text,
            format!("at most {MAX_SEARCH_CHARS} characters of a SKU, name or barcode"),
        ));
    }
    let account = account(engine, slug).await?;

    let requested = i64::try_from(limit).unwrap_or(i64::MAX - 1);
    let mut products = engine
        .store
        .search_products(account.id, text, requested + 1)
        .await?;
    let more = products.len() > limit;
    products.truncate(limit);
    Ok(ProductChoices { products, more })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pobridge_brightpearl::ClientConfig;
    use pobridge_core::{Clock, ManualClock};

    use super::*;
    use crate::{ClientPool, EngineConfig};

    /// An engine on an in-memory SQLite store, whose clock never moves.
    async fn engine() -> Engine {
        let store = pobridge_store::open("sqlite::memory:").await.unwrap();
        let now = "2024-05-10T06:00:00Z".parse().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
        let http = reqwest::Client::new();
        let clients = ClientPool::new(http, ClientConfig::default(), store.clone(), clock.clone());
        Engine::new(store, clock, clients, EngineConfig::default())
    }

    fn product(product_id: i64, name: &str, sku: &str) -> Product {
        Product {
            product_id,
            name: name.to_owned(),
            sku: Some(sku.to_owned()),
            barcode: None,
            ean: None,
            upc: None,
            mpn: None,
            isbn: None,
            stock_tracked: false,
            tax_code: None,
            updated_on: None,
        }
    }

    fn ids(choices: &ProductChoices) -> Vec<i64> {
        choices
            .products
            .iter()
            .map(|product| product.product_id)
            .collect()
    }

    #[tokio::test]
    async fn search_pages_and_rejects_long_text() {
        let engine = engine().await;
        let account = super::super::create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap();
        let products = [
            product(1, "Safety gloves, small", "GLV-S"),
            product(2, "Safety gloves, medium", "GLV-M"),
            product(3, "Hi-vis vest", "VEST-YEL"),
        ];
        engine
            .store
            .upsert_products(account.id, &products)
            .await
            .unwrap();

        let first = search_products(&engine, "acme", " glv ", 1).await.unwrap();
        assert_eq!(ids(&first), [2]);
        assert!(first.more);
        let all = search_products(&engine, "acme", "glv", 2).await.unwrap();
        assert_eq!(ids(&all), [2, 1]);
        assert!(!all.more);
        let none = search_products(&engine, "acme", "drill", 5).await.unwrap();
        assert!(none.products.is_empty());
        assert!(!none.more);

        let long = "x".repeat(MAX_SEARCH_CHARS + 1);
        let rejected = search_products(&engine, "acme", &long, 5).await;
        assert!(
            matches!(
                rejected,
                Err(AdminError::Invalid {
                    field: "search",
                    ..
                })
            ),
            "{rejected:?}"
        );
        let unknown = search_products(&engine, "globex", "glv", 5).await;
        assert!(
            matches!(unknown, Err(AdminError::AccountNotFound(_))),
            "{unknown:?}"
        );
    }
}
