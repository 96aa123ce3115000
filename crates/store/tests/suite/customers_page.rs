//! The customers page's reads and its mapping write: BillTo addresses
//! grouped by buyer and trimmed addressID, the orders of each, and who
//! chose a mapping's contact.

use chrono::{DateTime, Utc};
use pobridge_core::PoId;
use pobridge_store::{CustomerMapping, PoStatus, PoStatusUpdate, SeenBillTo, Store};
use serde_json::{json, Value};

use super::*;

/// Returns a BillTo as the engine stores it in a parsed order.
fn bill_to(address_id: Option<&str>, name: &str) -> Value {
    json!({
        "address_id": address_id,
        "iso_country_code": "US",
        "name": name,
        "postal_address": null,
        "email": format!("ap@{}.example", name.to_lowercase()),
        "phone": null,
        "fax": null,
        "url": null,
    })
}

/// Records revision `version` of `number` with `bill_to` (or none when
/// `Null`), received at `received`, and returns the purchase order.
async fn order_with(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
    (number, version): (&str, i64),
    bill_to: Value,
    received: DateTime<Utc>,
) -> PoId {
    let mut revision = new_revision(buyer, number, Some(version), None);
    revision.order =
        json!({ "header": { "order_id": number, "bill_to": bill_to }, "items": [] }).into();
    let payload = format!("payload-{number}-{version}");
    let mut document = new_document(buyer, &payload, &format!("sha-{payload}"));
    document.received_at = received;
    store
        .record_document(account, &document, Some(&revision), None)
        .await
        .unwrap()
        .po
        .unwrap()
}

fn seen<'a>(list: &'a [SeenBillTo], buyer: BuyerId, address_id: Option<&str>) -> &'a SeenBillTo {
    list.iter()
        .find(|seen| seen.buyer == buyer && seen.address_id.as_deref() == address_id)
        .unwrap_or_else(|| panic!("no BillTo {address_id:?} of buyer {buyer} in {list:?}"))
}

pub async fn bill_tos_group_by_buyer_and_trimmed_address_id(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let initech = buyer(store, account_id, "initech").await;
    let globex = buyer(store, account_id, "globex").await;
    let orders = [
        (initech, "PO-1", bill_to(Some("21444"), "Network"), at(1)),
        (
            initech,
            "PO-2",
            bill_to(Some("21444\t"), "Network Inc"),
            at(3),
        ),
        (initech, "PO-3", bill_to(Some(" \u{a0}"), "No id"), at(2)),
        (initech, "PO-4", Value::Null, at(4)),
        (initech, "PO-5", bill_to(Some("HQ"), "Head office"), at(5)),
        (globex, "PO-6", bill_to(Some("21444"), "Globex"), at(6)),
    ];
    for (buyer, number, address, received) in orders {
        order_with(store, account_id, buyer, (number, 1), address, received).await;
    }

    let list = store.seen_bill_tos(account_id).await.unwrap();

    let keys: Vec<(BuyerId, Option<&str>)> = list
        .iter()
        .map(|seen| (seen.buyer, seen.address_id.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            (initech, None),
            (initech, Some("21444")),
            (initech, Some("HQ")),
            (globex, Some("21444")),
        ]
    );
    let network = seen(&list, initech, Some("21444"));
    assert_eq!(network.orders, 2);
    assert_eq!(network.bill_to["name"], "Network Inc", "the newest BillTo");
    assert_eq!(network.bill_to["address_id"], "21444\t", "kept as received");
    assert_eq!(network.last_seen, at(3));
    let without_id = seen(&list, initech, None);
    assert_eq!(without_id.orders, 2);
    assert_eq!(
        without_id.bill_to,
        Value::Null,
        "PO-4, the newest, has none"
    );
    assert_eq!(without_id.last_seen, at(4));
    assert_eq!(seen(&list, globex, Some("21444")).orders, 1);
}

pub async fn bill_to_follows_the_latest_revision(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order_with(
        store,
        account_id,
        buyer_id,
        ("PO-1", 2),
        bill_to(Some("OLD"), "Old office"),
        at(1),
    )
    .await;

    let late = bill_to(Some("LATE"), "Late office");
    order_with(store, account_id, buyer_id, ("PO-1", 1), late, at(2)).await;
    let after_late = store.seen_bill_tos(account_id).await.unwrap();
    let newer = bill_to(Some("NEW"), "New office");
    order_with(store, account_id, buyer_id, ("PO-1", 3), newer, at(3)).await;
    let after_newer = store.seen_bill_tos(account_id).await.unwrap();

    assert_eq!(after_late.len(), 1);
    assert_eq!(
        after_late[0].address_id.as_deref(),
        Some("OLD"),
        "an older version does not move the order"
    );
    assert_eq!(after_newer.len(), 1);
    assert_eq!(after_newer[0].address_id.as_deref(), Some("NEW"));
    assert_eq!(after_newer[0].orders, 1);
    let orders = store
        .bill_to_orders(account_id, &[PoStatus::Received])
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].po, po);
    assert_eq!(orders[0].address_id.as_deref(), Some("NEW"));
    let latest = store.purchase_order(account_id, po).await.unwrap();
    assert_eq!(orders[0].latest_revision, latest.latest_revision);
}

pub async fn bill_to_orders_filter_by_status(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let waiting = order_with(
        store,
        account_id,
        buyer_id,
        ("PO-1", 1),
        bill_to(Some(" 21444 "), "Network"),
        at(1),
    )
    .await;
    let synced = order_with(
        store,
        account_id,
        buyer_id,
        ("PO-2", 1),
        bill_to(Some("21444"), "Network"),
        at(2),
    )
    .await;
    for (po, status) in [
        (waiting, PoStatus::AwaitingCustomer),
        (synced, PoStatus::Synced),
    ] {
        let update = PoStatusUpdate {
            status,
            reason: None,
            brightpearl_order_id: None,
            synced_revision: None,
            event: status.as_str().to_owned(),
        };
        store
            .set_po_status(account_id, po, &update, at(3))
            .await
            .unwrap();
    }

    let found = store
        .bill_to_orders(account_id, &[PoStatus::AwaitingCustomer])
        .await
        .unwrap();
    let both = store
        .bill_to_orders(account_id, &[PoStatus::AwaitingCustomer, PoStatus::Synced])
        .await
        .unwrap();
    let other = account(store, "globex").await;
    let others = store
        .bill_to_orders(other, &[PoStatus::AwaitingCustomer])
        .await
        .unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].po, waiting);
    assert_eq!(found[0].buyer, buyer_id);
    assert_eq!(found[0].address_id.as_deref(), Some("21444"));
    let pos: Vec<PoId> = both.iter().map(|order| order.po).collect();
    assert_eq!(pos, [waiting, synced]);
    assert!(others.is_empty());
    assert!(store.seen_bill_tos(other).await.unwrap().is_empty());
}

pub async fn chosen_mapping_names_its_chooser_until_replaced(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let site = |contact_id| CustomerMapping {
        buyer: buyer_id,
        bill_to_address_id: Some("21444".to_owned()),
        contact_id,
    };
    let whole = CustomerMapping {
        buyer: buyer_id,
        bill_to_address_id: None,
        contact_id: 300,
    };
    store
        .upsert_customer_mapping(account_id, &whole, at(1))
        .await
        .unwrap();
    store
        .choose_customer_mapping(account_id, &site(202), "ops@acme.example", at(2))
        .await
        .unwrap();
    let chosen = store.chosen_customer_mappings(account_id).await.unwrap();

    store
        .upsert_customer_mapping(account_id, &site(205), at(3))
        .await
        .unwrap();
    let replaced = store.chosen_customer_mappings(account_id).await.unwrap();
    store
        .choose_customer_mapping(account_id, &site(206), "boss@acme.example", at(4))
        .await
        .unwrap();
    let chosen_again = store.chosen_customer_mappings(account_id).await.unwrap();

    assert_eq!(chosen.len(), 2);
    assert_eq!(chosen[0].mapping, whole, "the whole-buyer mapping first");
    assert_eq!(chosen[0].chosen_by, None);
    assert_eq!(chosen[1].mapping, site(202));
    assert_eq!(chosen[1].chosen_by.as_deref(), Some("ops@acme.example"));
    assert_eq!(chosen[1].updated_at, at(2));
    assert_eq!(replaced[1].mapping, site(205));
    assert_eq!(replaced[1].chosen_by, None, "a sync replaced the contact");
    assert_eq!(chosen_again[1].mapping, site(206));
    assert_eq!(
        chosen_again[1].chosen_by.as_deref(),
        Some("boss@acme.example")
    );
    let stored = store.customer_mappings(account_id, buyer_id).await.unwrap();
    assert_eq!(
        stored,
        [whole, site(206)],
        "the sync reads the chosen mapping"
    );
    let other = account(store, "globex").await;
    assert_not_found(
        store
            .choose_customer_mapping(other, &site(1), "x@globex.example", at(5))
            .await,
    );
    assert!(store
        .chosen_customer_mappings(other)
        .await
        .unwrap()
        .is_empty());
}
