//! Coupa items, mappings, the product index, contacts and reference data,
//! deleting a buyer with its own records, and durability across a reopen.

use pobridge_core::BrightpearlIdField;
use pobridge_store::{
    Contact, CoupaItem, CustomerMapping, DocumentOutcome, ItemFilter, ItemMapping, Product,
    ReferenceKind, Store, PRODUCTS_PER_TRANSACTION,
};
use rust_decimal::Decimal;

use super::*;

fn item(part_id: &str, unit: &str, description: &str) -> CoupaItem {
    CoupaItem {
        part_id: part_id.to_owned(),
        auxiliary_id: None,
        buyer_part_id: None,
        manufacturer_part_id: None,
        unit_of_measure: unit.to_owned(),
        description: description.to_owned(),
    }
}

async fn part_ids(store: &dyn Store, account: AccountId, filter: ItemFilter) -> Vec<String> {
    let rows = store.list_coupa_items(account, &filter).await.unwrap();
    rows.into_iter().map(|row| row.item.part_id).collect()
}

pub async fn coupa_items_refresh_and_keep_first_seen(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let first = [
        item("ECR-12", "EA", "Écrou hexagonal M12"),
        item("ECR-12", "BX", "Boîte"),
    ];
    store
        .record_coupa_items(account_id, buyer_id, &first, at(1))
        .await
        .unwrap();

    let mut refreshed = item("ECR-12", "EA", "Écrou hexagonal M12, zingué");
    refreshed.auxiliary_id = Some("AUX-1".to_owned());
    refreshed.buyer_part_id = Some("B-77".to_owned());
    refreshed.manufacturer_part_id = Some("MPN-9".to_owned());
    store
        .record_coupa_items(account_id, buyer_id, &[refreshed.clone()], at(9))
        .await
        .unwrap();

    let rows = store
        .list_coupa_items(account_id, &ItemFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let each = rows
        .iter()
        .find(|row| row.item.unit_of_measure == "EA")
        .unwrap();
    assert_eq!(each.item, refreshed);
    assert_eq!(each.buyer_id, buyer_id);
    assert_eq!(each.first_seen, at(1));
    assert_eq!(each.last_seen, at(9));
    let boxed = rows
        .iter()
        .find(|row| row.item.unit_of_measure == "BX")
        .unwrap();
    assert_eq!(boxed.last_seen, at(1));
}

pub async fn unchanged_items_move_last_seen_once_a_minute(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let nut = item("NUT-8", "EA", "Nut M8");
    let record = |items: Vec<CoupaItem>, time| async move {
        store
            .record_coupa_items(account_id, buyer_id, &items, time)
            .await
            .unwrap();
        let rows = store
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        (rows[0].item.clone(), rows[0].last_seen)
    };
    let start = at(0);
    let seconds = |count| start + chrono::Duration::seconds(count);

    assert_eq!(record(vec![nut.clone()], start).await, (nut.clone(), start));
    // Unchanged within the resolution: nothing is written.
    assert_eq!(record(vec![nut.clone()], seconds(30)).await.1, start);
    // A change is written at once, with the time.
    let mut renamed = nut.clone();
    renamed.description = "Nut M8, zinc".to_owned();
    assert_eq!(
        record(vec![renamed.clone()], seconds(40)).await,
        (renamed.clone(), seconds(40))
    );
    // Unchanged, but more than the resolution later: last_seen moves.
    assert_eq!(
        record(vec![renamed.clone()], seconds(101)).await.1,
        seconds(101)
    );
    // An older order never moves it back.
    assert_eq!(record(vec![nut.clone()], seconds(50)).await.1, seconds(101));
}

/// Stores a part that one order lists on several lines once, as its last
/// line has it, because the lines are written in order.
pub async fn repeated_part_keeps_its_last_line(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let first = item("BOLT-4", "EA", "Bolt M4");
    let mut second = first.clone();
    second.description = "Bolt M4, stainless".to_owned();
    let lines = [first, second.clone()];
    // The second time, the same lines change nothing.
    for time in [at(0), at(1)] {
        store
            .record_coupa_items(account_id, buyer_id, &lines, time)
            .await
            .unwrap();
        let rows = store
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].item, second);
    }
}

/// Each order's version of an item is stored, even when the versions
/// alternate within a second. On PostgreSQL the items in this process's
/// copy are not read again, so its own writes must update the copy.
pub async fn item_changed_back_and_forth_keeps_the_latest(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let plain = item("VALVE-2", "EA", "Ball valve");
    let mut renumbered = plain.clone();
    renumbered.buyer_part_id = Some("BP-2".to_owned());
    let mut renamed = plain.clone();
    renamed.description = "Ball valve, brass".to_owned();
    let versions = [&plain, &renumbered, &plain, &renamed, &plain, &plain];
    for (step, version) in versions.into_iter().enumerate() {
        store
            .record_coupa_items(account_id, buyer_id, std::slice::from_ref(version), at(0))
            .await
            .unwrap();
        let rows = store
            .list_coupa_items(account_id, &ItemFilter::default())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0].item, version, "after step {step}");
    }
}

pub async fn coupa_item_list_filters_searches_and_pages(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let hooli = buyer(store, account_id, "hooli").await;
    let initech_items = [
        item("C-3", "EA", "Straße-Schraube"),
        item("A-1", "EA", "ÉCROU hexagonal"),
        item("B-2", "EA", "Washer 100%"),
    ];
    store
        .record_coupa_items(account_id, initech, &initech_items, at(1))
        .await
        .unwrap();
    store
        .record_coupa_items(account_id, hooli, &[item("A-0", "EA", "Bolt")], at(1))
        .await
        .unwrap();

    let all = part_ids(store, account_id, ItemFilter::default()).await;
    assert_eq!(all, ["A-0", "A-1", "B-2", "C-3"]);
    let search = |text: &str| ItemFilter {
        search: Some(text.to_owned()),
        ..ItemFilter::default()
    };
    assert_eq!(part_ids(store, account_id, search("écrou")).await, ["A-1"]);
    assert_eq!(
        part_ids(store, account_id, search("STRASSE")).await,
        Vec::<String>::new()
    );
    assert_eq!(part_ids(store, account_id, search("straße")).await, ["C-3"]);
    assert_eq!(part_ids(store, account_id, search("b-2")).await, ["B-2"]);
    // LIKE wildcards are plain text here.
    assert_eq!(part_ids(store, account_id, search("0%")).await, ["B-2"]);
    assert_eq!(
        part_ids(store, account_id, search("_")).await,
        Vec::<String>::new()
    );
    let by_buyer = ItemFilter {
        buyer: Some(initech),
        limit: Some(2),
        offset: Some(1),
        ..ItemFilter::default()
    };
    assert_eq!(part_ids(store, account_id, by_buyer).await, ["B-2", "C-3"]);

    let other = account(store, "globex").await;
    assert!(part_ids(store, other, ItemFilter::default())
        .await
        .is_empty());
}

fn mapping(
    buyer: Option<BuyerId>,
    unit: Option<&str>,
    product_id: i64,
    factor: &str,
) -> ItemMapping {
    ItemMapping {
        buyer,
        coupa_part_id: "ECR-12".to_owned(),
        unit_of_measure: unit.map(str::to_owned),
        product_id,
        quantity_factor: factor.parse().unwrap(),
    }
}

pub async fn item_mappings_replace_on_their_key(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let mappings = [
        mapping(None, None, 1, "1"),
        mapping(None, Some("BX"), 2, "12"),
        mapping(Some(buyer_id), None, 3, "0.3333"),
        mapping(Some(buyer_id), Some("BX"), 4, "1.50"),
    ];
    for each in &mappings {
        store
            .upsert_item_mapping(account_id, each, at(1))
            .await
            .unwrap();
    }
    // Same keys, new products: NULL buyer and unit must match themselves.
    let replaced = [
        mapping(None, None, 11, "2"),
        mapping(Some(buyer_id), None, 13, "0.3333"),
    ];
    for each in &replaced {
        store
            .upsert_item_mapping(account_id, each, at(2))
            .await
            .unwrap();
    }

    let stored = store.item_mappings(account_id, "ECR-12").await.unwrap();
    let expected = [
        replaced[0].clone(),
        mappings[1].clone(),
        replaced[1].clone(),
        mappings[3].clone(),
    ];
    assert_eq!(stored, expected);
    let third = stored[2].quantity_factor;
    assert_eq!(third.to_string(), "0.3333");
    assert_eq!(
        third * Decimal::from(3),
        "0.9999".parse::<Decimal>().unwrap()
    );
    assert_eq!(stored[3].quantity_factor.to_string(), "1.50");
    assert!(store
        .item_mappings(account_id, "OTHER")
        .await
        .unwrap()
        .is_empty());

    let other = account(store, "globex").await;
    assert!(store
        .item_mappings(other, "ECR-12")
        .await
        .unwrap()
        .is_empty());
    let foreign = mapping(Some(buyer_id), None, 5, "1");
    assert_not_found(store.upsert_item_mapping(other, &foreign, at(3)).await);
}

pub async fn customer_mappings_replace_on_their_key(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let whole = |contact_id| CustomerMapping {
        buyer: buyer_id,
        bill_to_address_id: None,
        contact_id,
    };
    let site = |contact_id| CustomerMapping {
        buyer: buyer_id,
        bill_to_address_id: Some("BT-Zürich".to_owned()),
        contact_id,
    };
    for each in [whole(100), site(200), whole(101), site(201)] {
        store
            .upsert_customer_mapping(account_id, &each, at(1))
            .await
            .unwrap();
    }

    let stored = store.customer_mappings(account_id, buyer_id).await.unwrap();
    assert_eq!(stored, [whole(101), site(201)]);
    let other = account(store, "globex").await;
    assert_not_found(store.upsert_customer_mapping(other, &whole(1), at(2)).await);
}

/// Stores a document with an attachment, a copy of it, a Coupa item, an item
/// mapping and a customer mapping for the buyer, and returns the two documents.
async fn buyer_records(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
) -> [pobridge_core::DocumentId; 2] {
    let name = store.buyer(account, buyer).await.unwrap().name;
    let document = with_attachment(new_document(buyer, &format!("{name}-p"), "sha"), "a1");
    let original = store
        .record_document(account, &document, None, None)
        .await
        .unwrap()
        .document;
    let copy = store
        .record_document(account, &document, None, None)
        .await
        .unwrap();
    assert_eq!(copy.duplicate_of, Some(original));
    store
        .record_coupa_items(account, buyer, &[item(&name, "EA", "Bolt")], at(1))
        .await
        .unwrap();
    store
        .upsert_item_mapping(account, &mapping(Some(buyer), None, 7, "1"), at(1))
        .await
        .unwrap();
    let customer = CustomerMapping {
        buyer,
        bill_to_address_id: None,
        contact_id: 200,
    };
    store
        .upsert_customer_mapping(account, &customer, at(1))
        .await
        .unwrap();
    [original, copy.document]
}

pub async fn deleted_buyer_takes_only_its_records(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let initech = buyer(store, acme, "initech").await;
    let hooli = buyer(store, acme, "hooli").await;
    let initech_documents = buyer_records(store, acme, initech).await;
    let hooli_documents = buyer_records(store, acme, hooli).await;
    store
        .upsert_item_mapping(acme, &mapping(None, None, 8, "1"), at(1))
        .await
        .unwrap();
    let mut cross_copy = new_document(hooli, "initech-p", "sha");
    cross_copy.outcome = DocumentOutcome::Duplicate;
    cross_copy.duplicate_of = Some(initech_documents[0]);
    let cross_copy = store
        .record_document(acme, &cross_copy, None, None)
        .await
        .unwrap()
        .document;

    store.delete_buyer(acme, initech).await.unwrap();

    assert_not_found(store.buyer(acme, initech).await);
    for document in initech_documents {
        assert_not_found(store.document(acme, document).await);
        assert_not_found(store.attachments(acme, document).await);
    }
    assert_not_found(store.customer_mappings(acme, initech).await);
    let mapped_products: Vec<(Option<BuyerId>, i64)> = store
        .item_mappings(acme, "ECR-12")
        .await
        .unwrap()
        .into_iter()
        .map(|mapping| (mapping.buyer, mapping.product_id))
        .collect();
    assert_eq!(mapped_products.len(), 2);
    assert!(mapped_products.contains(&(None, 8)));
    assert!(mapped_products.contains(&(Some(hooli), 7)));
    assert_eq!(
        part_ids(store, acme, ItemFilter::default()).await,
        ["hooli"]
    );

    assert_eq!(store.list_buyers(acme).await.unwrap().len(), 1);
    for document in hooli_documents {
        assert_eq!(store.attachments(acme, document).await.unwrap().len(), 1);
    }
    assert_eq!(store.customer_mappings(acme, hooli).await.unwrap().len(), 1);
    let cross_copy = store.document(acme, cross_copy).await.unwrap();
    assert_eq!(cross_copy.duplicate_of, None);
    assert_not_found(store.delete_buyer(acme, initech).await);
}

pub async fn buyer_with_orders_is_not_deleted(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let initech = buyer(store, acme, "initech").await;
    let revision = new_revision(initech, "PO-1", Some(1), None);
    let recorded = receive(store, acme, &revision, "p-1").await;

    assert_conflict(store.delete_buyer(acme, initech).await);
    assert_not_found(store.delete_buyer(globex, initech).await);

    assert_eq!(store.buyer(acme, initech).await.unwrap().id, initech);
    assert_eq!(
        store.document(acme, recorded.document).await.unwrap().buyer,
        Some(initech)
    );
    assert_eq!(
        store
            .purchase_order(acme, recorded.po.unwrap())
            .await
            .unwrap()
            .buyer_id,
        initech
    );
}

fn product(product_id: i64, sku: &str) -> Product {
    Product {
        product_id,
        name: format!("Écrou {sku}"),
        sku: Some(sku.to_owned()),
        barcode: Some(format!("bar-{sku}")),
        ean: Some(format!("ean-{sku}")),
        upc: Some(format!("upc-{sku}")),
        mpn: Some(format!("mpn-{sku}")),
        isbn: Some(format!("isbn-{sku}")),
        stock_tracked: true,
        tax_code: Some("T20".to_owned()),
        updated_on: Some(at(product_id)),
    }
}

/// Makes every later write of the product with the given id fail, with
/// plain SQL past the store (a trigger).
pub type BreakProduct = dyn Fn(i64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// Products are written in id order, a transaction at a time: when one
/// transaction fails, the products of those before it stay stored.
pub async fn product_writes_commit_a_transaction_at_a_time(
    store: &dyn Store,
    break_product: &BreakProduct,
) {
    let account_id = account(store, "acme").await;
    let per_transaction = PRODUCTS_PER_TRANSACTION as i64;
    let total = per_transaction * 3;
    // In the second transaction, whatever order they are given in.
    let broken = per_transaction + 7;
    break_product(broken).await;
    let products: Vec<Product> = (1..=total)
        .rev()
        .map(|id| product(id, &format!("NUT-{id}")))
        .collect();

    let error = store.upsert_products(account_id, &products).await;
    assert!(error.is_err(), "writing product {broken} fails");

    let stored: Vec<i64> = store
        .list_products(account_id, -1, 0)
        .await
        .unwrap()
        .iter()
        .map(|product| product.product_id)
        .collect();
    assert_eq!(stored, (1..=per_transaction).collect::<Vec<_>>());
}

pub async fn products_upsert_and_match_each_identifier(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let untracked = Product {
        barcode: None,
        stock_tracked: false,
        tax_code: None,
        updated_on: None,
        ..product(30, "BOLT")
    };
    let products = [product(20, "NUT"), untracked.clone(), product(10, "SCREW")];
    store.upsert_products(account_id, &products).await.unwrap();

    let fields = [
        (BrightpearlIdField::Sku, "NUT"),
        (BrightpearlIdField::Barcode, "bar-NUT"),
        (BrightpearlIdField::Ean, "ean-NUT"),
        (BrightpearlIdField::Upc, "upc-NUT"),
        (BrightpearlIdField::Mpn, "mpn-NUT"),
        (BrightpearlIdField::Isbn, "isbn-NUT"),
    ];
    for (field, value) in fields {
        let found = store
            .products_by_identifier(account_id, field, value)
            .await
            .unwrap();
        assert_eq!(found, [product(20, "NUT")], "{field:?}");
    }
    let wrong_case = store
        .products_by_identifier(account_id, BrightpearlIdField::Sku, "nut")
        .await
        .unwrap();
    assert!(wrong_case.is_empty());

    // A refresh replaces the whole row, so the old SKU no longer matches.
    store
        .upsert_products(account_id, &[product(20, "NUT-2")])
        .await
        .unwrap();
    let old_sku = store
        .products_by_identifier(account_id, BrightpearlIdField::Sku, "NUT")
        .await
        .unwrap();
    assert!(old_sku.is_empty());
    assert_eq!(
        store.product(account_id, 30).await.unwrap(),
        Some(untracked)
    );
    assert_eq!(store.product(account_id, 99).await.unwrap(), None);

    let listed = store.list_products(account_id, 2, 1).await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|product| product.product_id).collect();
    assert_eq!(ids, [20, 30]);
    let other = account(store, "globex").await;
    assert_eq!(store.product(other, 20).await.unwrap(), None);
    assert!(store.list_products(other, 10, 0).await.unwrap().is_empty());
}

pub async fn contacts_upsert_and_list(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let contact = |contact_id, company: &str| Contact {
        contact_id,
        company_name: Some(company.to_owned()),
        email: Some(format!("ap@{contact_id}.example")),
        first_name: Some("Zoë".to_owned()),
        last_name: None,
        is_customer: true,
    };
    store
        .upsert_contacts(account_id, &[contact(9, "Initech"), contact(4, "Hooli")])
        .await
        .unwrap();
    store
        .upsert_contacts(account_id, &[contact(9, "Initech Zürich AG")])
        .await
        .unwrap();

    let stored = store.list_contacts(account_id).await.unwrap();
    assert_eq!(
        stored,
        [contact(4, "Hooli"), contact(9, "Initech Zürich AG")]
    );
    let other = account(store, "globex").await;
    assert!(store.list_contacts(other).await.unwrap().is_empty());
}

pub async fn reference_data_is_replaced_per_kind(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let channels = serde_json::json!([{ "id": 1, "name": "Coupa – EU" }]);
    let warehouses = serde_json::json!([{ "id": 2, "name": "Main" }]);
    store
        .save_reference_data(account_id, ReferenceKind::Channels, &channels, at(1))
        .await
        .unwrap();
    store
        .save_reference_data(account_id, ReferenceKind::Warehouses, &warehouses, at(1))
        .await
        .unwrap();
    let newer = serde_json::json!([{ "id": 3, "name": "Coupa – US", "rate": 0.1 }]);
    store
        .save_reference_data(account_id, ReferenceKind::Channels, &newer, at(5))
        .await
        .unwrap();

    let stored = store
        .reference_data(account_id, ReferenceKind::Channels)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.kind, ReferenceKind::Channels);
    assert_eq!(stored.data, newer);
    assert_eq!(stored.fetched_at, at(5));
    let other_kind = store
        .reference_data(account_id, ReferenceKind::Warehouses)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other_kind.data, warehouses);
    let missing = store
        .reference_data(account_id, ReferenceKind::TaxCodes)
        .await
        .unwrap();
    assert!(missing.is_none());
    let other = account(store, "globex").await;
    let foreign = store
        .reference_data(other, ReferenceKind::Channels)
        .await
        .unwrap();
    assert!(foreign.is_none());
}

/// Data written through one handle is there after the handle is dropped and
/// the database is opened again.
pub async fn data_survives_reopening(open: &Opener) {
    let store = open().await;
    let account_id = account(store.as_ref(), "acme").await;
    let buyer_id = buyer(store.as_ref(), account_id, "initech").await;
    let revision = new_revision(buyer_id, "PO-1", Some(1), Some(at_plus_two(0)));
    let job = new_job(account_id, "sync:PO-1", at(1));
    let document = with_attachment(new_document(buyer_id, "p-1", "sha-1"), "a1");
    let recorded = store
        .record_document(account_id, &document, Some(&revision), Some(&job))
        .await
        .unwrap();
    let mapping = mapping(None, Some("EA"), 5, "0.3333");
    store
        .upsert_item_mapping(account_id, &mapping, at(2))
        .await
        .unwrap();
    drop(store);

    let reopened = open().await;
    let po = reopened
        .purchase_order(account_id, recorded.po.unwrap())
        .await
        .unwrap();
    assert_eq!(po.latest_revision, recorded.revision.unwrap());
    let stored = reopened
        .document(account_id, recorded.document)
        .await
        .unwrap();
    assert_eq!(stored.masked_body, corpus_order());
    let attachments = reopened
        .attachments(account_id, recorded.document)
        .await
        .unwrap();
    assert_eq!(attachments[0].bytes, attachment_bytes());
    let revision_row = reopened
        .revision(account_id, po.latest_revision)
        .await
        .unwrap();
    assert_eq!(revision_row.document_timestamp, Some(at_plus_two(0)));
    assert_eq!(
        reopened.item_mappings(account_id, "ECR-12").await.unwrap(),
        [mapping]
    );
    assert_eq!(reopened.pending_job_count().await.unwrap(), 1);
}
