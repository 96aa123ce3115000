//! The item mapping page: each item's mapping status as the sync decides it,
//! kept current as items, mappings, products and settings change, and the
//! page's filters, paging and counts.

use pobridge_core::{AccountSettings, BrightpearlIdField, CoupaIdField};
use pobridge_store::{
    CoupaItem, ItemMapping, ItemMatch, ItemPage, ItemPageQuery, MappingStatus, MappingStatusCounts,
    Product, Store, UnmappedReason,
};

use super::*;

fn coupa_item(part_id: &str, unit: &str, description: &str) -> CoupaItem {
    CoupaItem {
        part_id: part_id.to_owned(),
        auxiliary_id: None,
        buyer_part_id: None,
        manufacturer_part_id: None,
        unit_of_measure: unit.to_owned(),
        description: description.to_owned(),
    }
}

fn indexed_product(product_id: i64, sku: Option<&str>) -> Product {
    Product {
        product_id,
        name: format!("Product {product_id}"),
        sku: sku.map(str::to_owned),
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

fn manual_mapping(
    buyer: Option<BuyerId>,
    part_id: &str,
    unit: Option<&str>,
    product_id: i64,
) -> ItemMapping {
    ItemMapping {
        buyer,
        coupa_part_id: part_id.to_owned(),
        unit_of_measure: unit.map(str::to_owned),
        product_id,
        quantity_factor: 1.into(),
    }
}

fn by_hand(product_id: i64, sku: Option<&str>) -> ItemMatch {
    ItemMatch::MappedByHand {
        product_id,
        sku: sku.map(str::to_owned),
        name: sku.map(|_| format!("Product {product_id}")),
    }
}

fn by_unique_id(product_id: i64, sku: &str) -> ItemMatch {
    ItemMatch::MappedByUniqueId {
        product_id,
        sku: Some(sku.to_owned()),
        name: Some(format!("Product {product_id}")),
    }
}

fn no_product(value: &str) -> ItemMatch {
    ItemMatch::Unmapped(UnmappedReason::NoProduct {
        value: value.to_owned(),
    })
}

async fn record(store: &dyn Store, account: AccountId, buyer: BuyerId, items: &[CoupaItem]) {
    store
        .record_coupa_items(account, buyer, items, at(1))
        .await
        .unwrap();
}

async fn map(store: &dyn Store, account: AccountId, mapping: ItemMapping) {
    store
        .upsert_item_mapping(account, &mapping, at(2))
        .await
        .unwrap();
}

async fn index(store: &dyn Store, account: AccountId, products: &[Product]) {
    store.upsert_products(account, products).await.unwrap();
}

async fn page(store: &dyn Store, account: AccountId, query: ItemPageQuery) -> ItemPage {
    store.item_page(account, &query).await.unwrap()
}

/// Returns the match of the one item with this part, buyer and unit.
async fn match_of(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
    part_id: &str,
    unit: &str,
) -> ItemMatch {
    let listed = page(store, account, ItemPageQuery::default()).await;
    let found: Vec<&ItemMatch> = listed
        .entries
        .iter()
        .filter(|entry| {
            entry.item.buyer_id == buyer
                && entry.item.item.part_id == part_id
                && entry.item.item.unit_of_measure == unit
        })
        .map(|entry| &entry.matched)
        .collect();
    assert_eq!(found.len(), 1, "{part_id} {unit} of buyer {buyer}");
    found[0].clone()
}

/// Lists (part id, buyer, unit) of a page's entries in order.
fn keys(page: &ItemPage) -> Vec<(String, BuyerId, String)> {
    page.entries
        .iter()
        .map(|entry| {
            (
                entry.item.item.part_id.clone(),
                entry.item.buyer_id,
                entry.item.item.unit_of_measure.clone(),
            )
        })
        .collect()
}

fn part_ids_of(page: &ItemPage) -> Vec<String> {
    keys(page).into_iter().map(|(part, _, _)| part).collect()
}

pub async fn item_status_picks_most_specific_mapping(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    let items = [
        coupa_item("ECR-12", "EA", "Écrou"),
        coupa_item("ECR-12", "BX", "Boîte"),
    ];
    record(store, account_id, initech, &items).await;
    record(store, account_id, hooli, &items).await;

    map(store, account_id, manual_mapping(None, "ECR-12", None, 1)).await;
    assert_eq!(
        match_of(store, account_id, initech, "ECR-12", "EA").await,
        by_hand(1, None)
    );

    map(
        store,
        account_id,
        manual_mapping(None, "ECR-12", Some("EA"), 2),
    )
    .await;
    assert_eq!(
        match_of(store, account_id, initech, "ECR-12", "EA").await,
        by_hand(2, None)
    );
    assert_eq!(
        match_of(store, account_id, initech, "ECR-12", "BX").await,
        by_hand(1, None)
    );

    let initech_any_unit = manual_mapping(Some(initech), "ECR-12", None, 3);
    map(store, account_id, initech_any_unit).await;
    assert_eq!(
        match_of(store, account_id, initech, "ECR-12", "EA").await,
        by_hand(3, None)
    );
    assert_eq!(
        match_of(store, account_id, hooli, "ECR-12", "EA").await,
        by_hand(2, None)
    );

    // Units compare trimmed and ignoring ASCII case, as the sync does.
    let initech_each = manual_mapping(Some(initech), "ECR-12", Some(" ea "), 4);
    map(store, account_id, initech_each).await;
    assert_eq!(
        match_of(store, account_id, initech, "ECR-12", "EA").await,
        by_hand(4, None)
    );
    assert_eq!(
        match_of(store, account_id, initech, "ECR-12", "BX").await,
        by_hand(3, None)
    );
    assert_eq!(
        match_of(store, account_id, hooli, "ECR-12", "BX").await,
        by_hand(1, None)
    );

    // Replacing a mapping's product changes the status.
    map(store, account_id, manual_mapping(None, "ECR-12", None, 5)).await;
    assert_eq!(
        match_of(store, account_id, hooli, "ECR-12", "BX").await,
        by_hand(5, None)
    );
}

pub async fn item_status_of_case_variant_units_takes_first_by_code_point(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    record(store, account_id, initech, &[coupa_item("P-1", "Ea", "")]).await;

    map(
        store,
        account_id,
        manual_mapping(None, "P-1", Some("ea"), 7),
    )
    .await;
    map(
        store,
        account_id,
        manual_mapping(None, "P-1", Some("EA"), 6),
    )
    .await;

    // The sync takes the first of item_mappings' list: "EA" sorts before "ea".
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "Ea").await,
        by_hand(6, None)
    );
}

pub async fn item_status_without_applicable_mapping_is_unmapped(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    record(store, account_id, initech, &[coupa_item("P-1", "EA", "")]).await;
    record(store, account_id, hooli, &[coupa_item("P-2", "EA", "")]).await;
    // Unique-ID matches exist for both parts, but mappings of the part
    // decide: the sync never falls back to the identifier then.
    let products = [
        indexed_product(1, Some("P-1")),
        indexed_product(2, Some("P-2")),
    ];
    index(store, account_id, &products).await;

    map(
        store,
        account_id,
        manual_mapping(None, "P-1", Some("BX"), 9),
    )
    .await;
    map(
        store,
        account_id,
        manual_mapping(Some(initech), "P-2", None, 9),
    )
    .await;

    let other_units = ItemMatch::Unmapped(UnmappedReason::OtherMappingsOnly);
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        other_units
    );
    assert_eq!(
        match_of(store, account_id, hooli, "P-2", "EA").await,
        other_units
    );
}

pub async fn item_status_needs_exactly_one_unique_id_match(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let items = [
        coupa_item("NONE-1", "EA", ""),
        coupa_item("ONE-1", "EA", ""),
        coupa_item("TWO-1", "EA", ""),
        coupa_item("", "EA", "no part id"),
    ];
    record(store, account_id, initech, &items).await;
    let products = [
        indexed_product(10, Some("ONE-1")),
        indexed_product(20, Some("TWO-1")),
        indexed_product(21, Some("TWO-1")),
        indexed_product(30, Some("one-1")),
    ];
    index(store, account_id, &products).await;

    assert_eq!(
        match_of(store, account_id, initech, "NONE-1", "EA").await,
        no_product("NONE-1")
    );
    assert_eq!(
        match_of(store, account_id, initech, "ONE-1", "EA").await,
        by_unique_id(10, "ONE-1")
    );
    assert_eq!(
        match_of(store, account_id, initech, "TWO-1", "EA").await,
        ItemMatch::Unmapped(UnmappedReason::SeveralProducts {
            value: "TWO-1".to_owned(),
            count: 2
        })
    );
    assert_eq!(
        match_of(store, account_id, initech, "", "EA").await,
        ItemMatch::Unmapped(UnmappedReason::NoIdentifier)
    );
}

pub async fn item_status_follows_product_changes(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    record(store, account_id, initech, &[coupa_item("P-1", "EA", "")]).await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        no_product("P-1")
    );

    index(store, account_id, &[indexed_product(1, Some("P-1"))]).await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        by_unique_id(1, "P-1")
    );

    index(store, account_id, &[indexed_product(2, Some("P-1"))]).await;
    let several = ItemMatch::Unmapped(UnmappedReason::SeveralProducts {
        value: "P-1".to_owned(),
        count: 2,
    });
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        several
    );

    index(store, account_id, &[indexed_product(1, Some("P-1-OLD"))]).await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        by_unique_id(2, "P-1")
    );

    let mut renamed = indexed_product(2, Some("P-1"));
    renamed.name = "Renamed".to_owned();
    index(store, account_id, &[renamed]).await;
    let expected = ItemMatch::MappedByUniqueId {
        product_id: 2,
        sku: Some("P-1".to_owned()),
        name: Some("Renamed".to_owned()),
    };
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        expected
    );

    index(store, account_id, &[indexed_product(2, None)]).await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        no_product("P-1")
    );
}

pub async fn item_status_follows_identifier_settings(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let mut item = coupa_item("P-1", "EA", "");
    item.manufacturer_part_id = Some(" \u{a0}MPN-7\t".to_owned());
    item.buyer_part_id = Some("   ".to_owned());
    record(store, account_id, initech, &[item]).await;
    let mut product = indexed_product(7, Some("SKU-7"));
    product.mpn = Some("MPN-7".to_owned());
    product.ean = Some("P-1".to_owned());
    index(store, account_id, &[product]).await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        no_product("P-1")
    );

    let mut settings = AccountSettings {
        brightpearl_id_field: BrightpearlIdField::Ean,
        ..AccountSettings::default()
    };
    store.save_settings(account_id, &settings).await.unwrap();
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        by_unique_id(7, "SKU-7")
    );

    // The value is trimmed of Unicode whitespace, as the sync trims it.
    settings.coupa_id_field = CoupaIdField::ManufacturerPartId;
    settings.brightpearl_id_field = BrightpearlIdField::Mpn;
    store.save_settings(account_id, &settings).await.unwrap();
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        by_unique_id(7, "SKU-7")
    );

    settings.coupa_id_field = CoupaIdField::BuyerPartId;
    store.save_settings(account_id, &settings).await.unwrap();
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        ItemMatch::Unmapped(UnmappedReason::NoIdentifier)
    );

    settings.coupa_id_field = CoupaIdField::SupplierPartAuxiliaryId;
    store.save_settings(account_id, &settings).await.unwrap();
    let mut refreshed = coupa_item("P-1", "EA", "");
    refreshed.auxiliary_id = Some("MPN-7".to_owned());
    record(store, account_id, initech, &[refreshed]).await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        by_unique_id(7, "SKU-7")
    );
}

pub async fn manual_mapping_wins_over_unique_id(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    record(store, account_id, initech, &[coupa_item("P-1", "EA", "")]).await;
    record(store, account_id, hooli, &[coupa_item("P-1", "EA", "")]).await;
    let products = [
        indexed_product(1, Some("P-1")),
        indexed_product(2, Some("OTHER")),
    ];
    index(store, account_id, &products).await;

    map(
        store,
        account_id,
        manual_mapping(Some(initech), "P-1", None, 2),
    )
    .await;
    assert_eq!(
        match_of(store, account_id, initech, "P-1", "EA").await,
        by_hand(2, Some("OTHER"))
    );

    // A mapped product missing from the index keeps the mapping.
    map(
        store,
        account_id,
        manual_mapping(Some(hooli), "P-1", None, 99),
    )
    .await;
    assert_eq!(
        match_of(store, account_id, hooli, "P-1", "EA").await,
        by_hand(99, None)
    );
}

pub async fn deleted_buyers_mappings_release_other_items(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    record(store, account_id, hooli, &[coupa_item("P-1", "EA", "")]).await;
    index(store, account_id, &[indexed_product(1, Some("P-1"))]).await;
    map(
        store,
        account_id,
        manual_mapping(Some(initech), "P-1", None, 5),
    )
    .await;
    assert_eq!(
        match_of(store, account_id, hooli, "P-1", "EA").await,
        ItemMatch::Unmapped(UnmappedReason::OtherMappingsOnly)
    );

    store.delete_buyer(account_id, initech).await.unwrap();

    assert_eq!(
        match_of(store, account_id, hooli, "P-1", "EA").await,
        by_unique_id(1, "P-1")
    );
}

/// Records items of two buyers: `A-n` mapped by hand, `B-n` by unique ID
/// and `C-n` unmapped, with descriptions to search.
async fn mixed_items(store: &dyn Store, account_id: AccountId) -> (BuyerId, BuyerId) {
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    let initech_items = [
        coupa_item("C-1", "EA", "Straße-Schraube"),
        coupa_item("A-1", "EA", "ÉCROU hexagonal"),
        coupa_item("B-1", "EA", "Washer 100%"),
        coupa_item("B-1", "BX", "Washer 100%, box"),
    ];
    let hooli_items = [
        coupa_item("A-2", "EA", "écrou"),
        coupa_item("B-1", "EA", "Washer"),
        coupa_item("C-2", "EA", "Spring"),
    ];
    record(store, account_id, initech, &initech_items).await;
    record(store, account_id, hooli, &hooli_items).await;
    index(store, account_id, &[indexed_product(1, Some("B-1"))]).await;
    map(store, account_id, manual_mapping(None, "A-1", None, 1)).await;
    map(store, account_id, manual_mapping(None, "A-2", None, 1)).await;
    (initech, hooli)
}

pub async fn item_page_filters_by_status_buyer_and_search(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let (initech, hooli) = mixed_items(store, account_id).await;
    let query = |status, buyer, search: Option<&str>| ItemPageQuery {
        status,
        buyer,
        search: search.map(str::to_owned),
        ..ItemPageQuery::default()
    };

    let all = page(store, account_id, query(None, None, None)).await;
    assert_eq!(
        keys(&all),
        [
            ("A-1".to_owned(), initech, "EA".to_owned()),
            ("A-2".to_owned(), hooli, "EA".to_owned()),
            ("B-1".to_owned(), initech, "BX".to_owned()),
            ("B-1".to_owned(), initech, "EA".to_owned()),
            ("B-1".to_owned(), hooli, "EA".to_owned()),
            ("C-1".to_owned(), initech, "EA".to_owned()),
            ("C-2".to_owned(), hooli, "EA".to_owned()),
        ]
    );
    let expected_counts = MappingStatusCounts {
        mapped_by_hand: 2,
        mapped_by_unique_id: 3,
        unmapped: 2,
    };
    assert_eq!(all.counts, expected_counts);
    assert_eq!(all.total, 7);

    for status in MappingStatus::ALL {
        let filtered = page(store, account_id, query(Some(status), None, None)).await;
        let statuses: Vec<MappingStatus> = filtered
            .entries
            .iter()
            .map(|entry| entry.matched.status())
            .collect();
        assert_eq!(statuses.len() as i64, expected_counts.get(Some(status)));
        assert!(statuses.iter().all(|each| *each == status), "{statuses:?}");
        assert_eq!(filtered.total, expected_counts.get(Some(status)));
        assert_eq!(filtered.counts, expected_counts);
    }

    let hooli_unmapped = page(
        store,
        account_id,
        query(Some(MappingStatus::Unmapped), Some(hooli), None),
    )
    .await;
    assert_eq!(part_ids_of(&hooli_unmapped), ["C-2"]);
    assert_eq!(hooli_unmapped.total, 1);
    let hooli_counts = MappingStatusCounts {
        mapped_by_hand: 1,
        mapped_by_unique_id: 1,
        unmapped: 1,
    };
    assert_eq!(hooli_unmapped.counts, hooli_counts);

    let searched = |text: &'static str| page(store, account_id, query(None, None, Some(text)));
    assert_eq!(part_ids_of(&searched("écrou").await), ["A-1", "A-2"]);
    assert_eq!(part_ids_of(&searched("ÉCROU").await), ["A-1", "A-2"]);
    assert_eq!(part_ids_of(&searched("c-").await), ["C-1", "C-2"]);
    assert_eq!(part_ids_of(&searched("straße").await), ["C-1"]);
    assert!(searched("STRASSE").await.entries.is_empty());
    // LIKE wildcards are plain text.
    assert_eq!(part_ids_of(&searched("0%").await), ["B-1", "B-1"]);
    assert!(searched("_").await.entries.is_empty());

    let washer = page(
        store,
        account_id,
        query(
            Some(MappingStatus::MappedByUniqueId),
            Some(initech),
            Some("washer"),
        ),
    )
    .await;
    assert_eq!(
        keys(&washer),
        [
            ("B-1".to_owned(), initech, "BX".to_owned()),
            ("B-1".to_owned(), initech, "EA".to_owned()),
        ]
    );
    let washer_counts = MappingStatusCounts {
        mapped_by_unique_id: 2,
        ..MappingStatusCounts::default()
    };
    assert_eq!(washer.counts, washer_counts);
    assert_eq!(washer.total, 2);
}

pub async fn item_page_pages_and_counts(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    mixed_items(store, account_id).await;
    let paged = |status, limit, offset| ItemPageQuery {
        status,
        limit,
        offset,
        ..ItemPageQuery::default()
    };

    let first = page(store, account_id, paged(None, Some(3), 0)).await;
    let second = page(store, account_id, paged(None, Some(3), 3)).await;
    let last = page(store, account_id, paged(None, Some(3), 6)).await;
    let beyond = page(store, account_id, paged(None, Some(3), 30)).await;
    let rest = page(store, account_id, paged(None, None, 5)).await;
    let negative = page(store, account_id, paged(None, Some(2), -4)).await;

    assert_eq!(part_ids_of(&first), ["A-1", "A-2", "B-1"]);
    assert_eq!(part_ids_of(&second), ["B-1", "B-1", "C-1"]);
    assert_eq!(part_ids_of(&last), ["C-2"]);
    assert!(beyond.entries.is_empty());
    assert_eq!(part_ids_of(&rest), ["C-1", "C-2"]);
    assert_eq!(part_ids_of(&negative), ["A-1", "A-2"]);
    for each in [&first, &second, &last, &beyond, &rest, &negative] {
        assert_eq!(each.total, 7);
    }

    let unmapped = Some(MappingStatus::Unmapped);
    let unmapped_second = page(store, account_id, paged(unmapped, Some(1), 1)).await;
    assert_eq!(part_ids_of(&unmapped_second), ["C-2"]);
    assert_eq!(unmapped_second.total, 2);
    assert_eq!(unmapped_second.entries[0].item.item.description, "Spring");
}

pub async fn item_entry_is_found_by_exact_key(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "initech").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    record(
        store,
        acme,
        acme_buyer,
        &[
            coupa_item("", "EA", "free-form line"),
            coupa_item("P-1", "EA", "each"),
            coupa_item("P-1", "BX", "box"),
            coupa_item("P-10", "EA", "longer part id"),
        ],
    )
    .await;
    record(
        store,
        globex,
        globex_buyer,
        &[coupa_item("P-1", "EA", "globex")],
    )
    .await;
    index(store, acme, &[indexed_product(7, Some("P-1"))]).await;

    let found = |account, buyer, part: &'static str, unit: &'static str| async move {
        store
            .item_page_entry(account, buyer, part, unit)
            .await
            .unwrap()
    };

    let each_unit = found(acme, acme_buyer, "P-1", "EA").await.unwrap();
    assert_eq!(each_unit.item.item.description, "each");
    assert_eq!(each_unit.matched, by_unique_id(7, "P-1"));
    let box_unit = found(acme, acme_buyer, "P-1", "BX").await.unwrap();
    assert_eq!(box_unit.item.item.description, "box");
    let without_part_id = found(acme, acme_buyer, "", "EA").await.unwrap();
    assert_eq!(without_part_id.item.item.description, "free-form line");
    assert!(found(acme, acme_buyer, "P-1", "ea").await.is_none());
    assert!(found(acme, acme_buyer, "P-", "EA").await.is_none());
    assert!(found(acme, globex_buyer, "P-1", "EA").await.is_none());
    assert!(found(globex, acme_buyer, "P-1", "EA").await.is_none());
    let globex_item = found(globex, globex_buyer, "P-1", "EA").await.unwrap();
    assert_eq!(globex_item.item.item.description, "globex");
    assert_eq!(globex_item.matched, no_product("P-1"));
}

pub async fn item_page_shows_only_the_accounts_items(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "initech").await;
    let globex_buyer = buyer(store, globex, "initech").await;
    record(store, acme, acme_buyer, &[coupa_item("P-1", "EA", "acme")]).await;
    record(
        store,
        globex,
        globex_buyer,
        &[coupa_item("P-1", "EA", "globex")],
    )
    .await;
    record(
        store,
        globex,
        globex_buyer,
        &[coupa_item("P-2", "EA", "globex")],
    )
    .await;
    // Globex's product and mapping must not reach Acme's item.
    index(store, globex, &[indexed_product(1, Some("P-1"))]).await;
    map(store, globex, manual_mapping(None, "P-2", None, 1)).await;

    let acme_page = page(store, acme, ItemPageQuery::default()).await;
    let globex_page = page(store, globex, ItemPageQuery::default()).await;
    let by_other_buyer = ItemPageQuery {
        buyer: Some(globex_buyer),
        ..ItemPageQuery::default()
    };

    assert_eq!(acme_page.entries.len(), 1);
    assert_eq!(acme_page.entries[0].item.item.description, "acme");
    assert_eq!(acme_page.entries[0].matched, no_product("P-1"));
    assert_eq!(acme_page.total, 1);
    assert_eq!(globex_page.total, 2);
    assert_eq!(globex_page.entries[0].matched, by_unique_id(1, "P-1"));
    assert_eq!(globex_page.entries[1].matched, by_hand(1, Some("P-1")));
    let foreign = page(store, acme, by_other_buyer).await;
    assert!(foreign.entries.is_empty());
    assert_eq!(foreign.counts, MappingStatusCounts::default());
    let unknown = account(store, "initrode").await;
    assert_eq!(
        page(store, unknown, ItemPageQuery::default()).await.total,
        0
    );
}

pub async fn item_mapping_batch_is_all_or_nothing(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let initech = buyer(store, acme, "initech").await;
    let foreign_buyer = buyer(store, globex, "hooli").await;
    index(store, acme, &[indexed_product(1, Some("SKU-1"))]).await;
    let good = [
        manual_mapping(Some(initech), "P-2", Some("EA"), 1),
        manual_mapping(None, "P-1", None, 1),
        manual_mapping(None, "P-2", None, 9),
    ];
    let mut bad = good.to_vec();
    bad.push(manual_mapping(Some(foreign_buyer), "P-3", None, 1));

    assert_not_found(store.upsert_item_mappings(acme, &bad, at(2)).await);
    assert!(store.list_item_mappings(acme).await.unwrap().is_empty());

    store
        .upsert_item_mappings(acme, &good, at(2))
        .await
        .unwrap();
    let listed = store.list_item_mappings(acme).await.unwrap();
    let mappings: Vec<&ItemMapping> = listed.iter().map(|row| &row.mapping).collect();
    assert_eq!(mappings, [&good[1], &good[2], &good[0]]);
    let skus: Vec<Option<&str>> = listed.iter().map(|row| row.sku.as_deref()).collect();
    assert_eq!(skus, [Some("SKU-1"), None, Some("SKU-1")]);
    assert!(store.list_item_mappings(globex).await.unwrap().is_empty());
    assert_not_found(store.upsert_item_mappings(globex, &good, at(3)).await);
}

/// Asserts that the stored counts equal counts from scanning the items,
/// which an empty search forces, for the account and each buyer.
async fn assert_counts_match_items(store: &dyn Store, account_id: AccountId, step: &str) {
    let buyers = store.list_buyers(account_id).await.unwrap();
    let mut filters: Vec<Option<BuyerId>> = buyers.iter().map(|each| Some(each.id)).collect();
    filters.push(None);
    for buyer in filters {
        let stored = ItemPageQuery {
            buyer,
            ..ItemPageQuery::default()
        };
        let scanned = ItemPageQuery {
            search: Some(String::new()),
            ..stored.clone()
        };
        let stored = page(store, account_id, stored).await;
        let scanned = page(store, account_id, scanned).await;
        assert_eq!(stored.counts, scanned.counts, "{step}, buyer {buyer:?}");
        assert_eq!(stored.total, scanned.entries.len() as i64, "{step}");
    }
}

pub async fn item_counts_follow_every_change(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let (initech, hooli) = mixed_items(store, account_id).await;
    assert_counts_match_items(store, account_id, "recorded").await;

    map(
        store,
        account_id,
        manual_mapping(Some(hooli), "C-2", None, 1),
    )
    .await;
    assert_counts_match_items(store, account_id, "mapped").await;

    index(store, account_id, &[indexed_product(2, Some("C-1"))]).await;
    assert_counts_match_items(store, account_id, "product added").await;

    let settings = AccountSettings {
        brightpearl_id_field: BrightpearlIdField::Mpn,
        ..AccountSettings::default()
    };
    store.save_settings(account_id, &settings).await.unwrap();
    assert_counts_match_items(store, account_id, "settings changed").await;

    let mut known = coupa_item("C-1", "EA", "Straße-Schraube");
    known.auxiliary_id = Some("AUX".to_owned());
    record(store, account_id, initech, &[known]).await;
    assert_counts_match_items(store, account_id, "item refreshed").await;

    store.delete_buyer(account_id, hooli).await.unwrap();
    assert_counts_match_items(store, account_id, "buyer deleted").await;
    let remaining = page(store, account_id, ItemPageQuery::default()).await;
    assert_eq!(remaining.total, 4);
}

/// Checks searches that the trigram index serves and shorter ones that a scan
/// serves. Each must match exactly the items whose lower-cased part id or
/// description contains the lower-cased text.
pub async fn item_search_matches_text_literally(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let mut items = vec![
        coupa_item("P-1", "EA", "50% off_sale"),
        coupa_item("P-2", "EA", "500 off sale"),
        coupa_item("P-3", "EA", r"C:\temp\new"),
        coupa_item("P-4", "EA", r#"6" bolt, "quoted""#),
        coupa_item("P-5", "EA", "O'Brien's washer"),
        coupa_item("P-6", "EA", "Ünïcode ΣΊΣΥΦΟΣ 日本語テキスト"),
        coupa_item("P-7", "EA", "plain text"),
        coupa_item("AB-8", "EA", "x"),
    ];
    record(store, account_id, initech, &items).await;
    let searches = [
        "0% o",
        "%",
        "0%",
        "_",
        "f_s",
        "f s",
        "f%s",
        r"\",
        r"\t",
        r"\temp\",
        r"p\n",
        "\"",
        "\"\"",
        "6\" b",
        "\"quoted\"",
        "'s w",
        "o'b",
        "O'BRIEN",
        "a",
        "ab",
        "AB-",
        "ü",
        "ÜNÏ",
        "σίσυφος",
        "ΣΥΦΟΣ",
        "本語",
        "日本語",
        "テキスト",
        "plain text",
        "text",
        "none",
    ];
    assert_search_matches(store, account_id, &items, &searches, "recorded").await;

    items[6].description = "Changed words".to_owned();
    record(store, account_id, initech, &items[6..7]).await;
    assert!(search(store, account_id, "plain").await.entries.is_empty());
    assert_eq!(
        part_ids_of(&search(store, account_id, "changed w").await),
        ["P-7"]
    );
    assert_search_matches(store, account_id, &items, &searches, "changed").await;
}

async fn search(store: &dyn Store, account_id: AccountId, text: &str) -> ItemPage {
    let query = ItemPageQuery {
        search: Some(text.to_owned()),
        ..ItemPageQuery::default()
    };
    page(store, account_id, query).await
}

/// Asserts that each search finds the items whose part id or description
/// contains it, ignoring case as `str::to_lowercase` does.
async fn assert_search_matches(
    store: &dyn Store,
    account_id: AccountId,
    items: &[CoupaItem],
    searches: &[&str],
    step: &str,
) {
    for text in searches {
        let folded = text.to_lowercase();
        let mut expected: Vec<String> = items
            .iter()
            .filter(|item| {
                item.part_id.to_lowercase().contains(&folded)
                    || item.description.to_lowercase().contains(&folded)
            })
            .map(|item| item.part_id.clone())
            .collect();
        expected.sort();
        let found = search(store, account_id, text).await;
        assert_eq!(part_ids_of(&found), expected, "{step}: search {text:?}");
        assert_eq!(
            found.total,
            expected.len() as i64,
            "{step}: search {text:?}"
        );
        assert_eq!(
            found.counts.unmapped,
            expected.len() as i64,
            "{step}: search {text:?}"
        );
    }
}
