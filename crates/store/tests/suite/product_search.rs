//! Searching the local product index, as the item mapping page does.

use pobridge_store::{Product, Store};

use super::*;

fn indexed(product_id: i64, name: &str, sku: Option<&str>) -> Product {
    Product {
        product_id,
        name: name.to_owned(),
        sku: sku.map(str::to_owned),
        barcode: None,
        ean: None,
        upc: None,
        mpn: None,
        isbn: None,
        stock_tracked: true,
        tax_code: None,
        updated_on: None,
    }
}

async fn found_ids(store: &dyn Store, account: AccountId, text: &str, limit: i64) -> Vec<i64> {
    let products = store.search_products(account, text, limit).await.unwrap();
    products.iter().map(|product| product.product_id).collect()
}

pub async fn product_search_matches_identifiers_and_ranks_exact_first(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let other_id = account(store, "globex").await;
    let mut gloves = indexed(1, "Safety gloves, large", Some("GLV-L"));
    gloves.barcode = Some("5060000000035".to_owned());
    let mut vest = indexed(2, "Hi-vis vest", Some("VEST-YEL"));
    vest.mpn = Some("glv-l".to_owned());
    vest.ean = Some("4006381333931".to_owned());
    let mut manual = indexed(3, "Printed manual", None);
    manual.isbn = Some("9780000000002".to_owned());
    manual.upc = Some("012345678905".to_owned());
    let glove_box = indexed(4, "Box for GLV-L gloves", Some("BOX-1"));
    let products = [
        gloves.clone(),
        vest,
        manual,
        glove_box,
        indexed(5, "Glue stick", Some("GLU-2")),
    ];
    store.upsert_products(account_id, &products).await.unwrap();
    let foreign = indexed(9, "Safety gloves, large", Some("GLV-L"));
    store.upsert_products(other_id, &[foreign]).await.unwrap();

    // Exact identifiers first (an SKU and an MPN, in any case), then the
    // names and SKUs that start with the text, then the rest, by name.
    assert_eq!(found_ids(store, account_id, "glv-l", 10).await, [2, 1, 4]);
    assert_eq!(found_ids(store, account_id, "GL", 10).await, [5, 1, 4, 2]);
    assert_eq!(found_ids(store, account_id, "  gloves ", 10).await, [4, 1]);
    // Each identifier is searched, and a product id matches exactly.
    assert_eq!(found_ids(store, account_id, "50600000", 10).await, [1]);
    assert_eq!(found_ids(store, account_id, "4006381", 10).await, [2]);
    assert_eq!(found_ids(store, account_id, "0123456", 10).await, [3]);
    assert_eq!(found_ids(store, account_id, "978000", 10).await, [3]);
    assert_eq!(found_ids(store, account_id, "3", 10).await, [3, 2, 1]);
    assert_eq!(
        found_ids(store, account_id, "nothing like it", 10).await,
        Vec::<i64>::new()
    );

    // An empty text lists every product by name, and the limit applies.
    assert_eq!(found_ids(store, account_id, "", 10).await, [4, 5, 2, 3, 1]);
    assert_eq!(found_ids(store, account_id, "", 2).await, [4, 5]);
    let full = store
        .search_products(account_id, "5060000000035", 1)
        .await
        .unwrap();
    assert_eq!(full, [gloves]);

    // Another account's index is never searched.
    assert_eq!(found_ids(store, other_id, "gloves", 10).await, [9]);
    assert_eq!(
        found_ids(store, other_id, "vest", 10).await,
        Vec::<i64>::new()
    );
}
