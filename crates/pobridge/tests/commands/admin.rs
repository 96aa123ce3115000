//! The engine's operator actions against a real store: item mapping
//! status, manual mappings releasing held orders, order listing and the
//! sandbox connection.

use crate::common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use common::seed::product;
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{Clock, ManualClock};
use pobridge_engine::admin::{self, AddBuyer, BuyerAuth, GrantedTokens, ItemStatus, MapItem};
use pobridge_engine::worker::Worker;
use pobridge_engine::{ClientPool, Engine, EngineConfig, IntakeRequest};
use pobridge_store::PoStatus;
use rust_decimal::Decimal;

const ORDER: &str =
    "cxml/order/coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml";

async fn engine() -> Engine {
    let store = pobridge_store::open("sqlite::memory:").await.unwrap();
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
    let clients = ClientPool::new(
        reqwest::Client::new(),
        ClientConfig::default(),
        store.clone(),
        clock.clone(),
    );
    let engine = Engine::new(store, clock, clients, EngineConfig::default());

    admin::create_account(&engine, "acme", "ops@acme.example")
        .await
        .unwrap();
    let buyer = AddBuyer {
        from: "NetworkID:kasdflkjasdf".to_owned(),
        to: "alksjflkasjdfasdf:development@officeluv.com".to_owned(),
        sender: "NetworkID:DAN_Coupa".to_owned(),
        auth: BuyerAuth::SharedSecret("alsdkfjalksdjflaksjdfklj".to_owned()),
        mode: "production".to_owned(),
        invoice_url: None,
        name: Some("staging".to_owned()),
    };
    admin::add_buyer(&engine, "acme", &buyer).await.unwrap();
    engine
}

/// Reads the corpus order (parts `product:1861` and `product:4884`).
fn corpus_order() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
    std::fs::read_to_string(format!("{root}/{ORDER}")).unwrap()
}

/// Posts the corpus order.
async fn receive_order(engine: &Engine) {
    receive_body(engine, corpus_order()).await;
}

async fn receive_body(engine: &Engine, body: String) {
    let request = IntakeRequest {
        account: "acme".to_owned(),
        url_token: None,
        content_type: Some("text/xml".to_owned()),
        content_encoding: None,
        client_ip: None,
        body: body.into_bytes().into(),
    };
    let reply = engine.receive_order(request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn map_request(part: &str, sku: &str) -> MapItem {
    MapItem {
        coupa_part_id: part.to_owned(),
        unit_of_measure: None,
        buyer: None,
        brightpearl: sku.to_owned(),
        quantity_factor: None,
    }
}

async fn status_of(engine: &Engine, part: &str) -> ItemStatus {
    let items = admin::list_items(engine, "acme", false).await.unwrap();
    items
        .into_iter()
        .find(|item| item.part_id == part)
        .unwrap()
        .status
}

#[tokio::test]
async fn items_show_each_mapping_status() {
    let engine = engine().await;
    receive_order(&engine).await;
    let account = admin::account(&engine, "acme").await.unwrap();
    let products = [product(11, "product:1861"), product(12, "ZING-PIMENTO")];
    engine
        .store
        .upsert_products(account.id, &products)
        .await
        .unwrap();

    let by_identifier = status_of(&engine, "product:1861").await;
    let before_mapping = status_of(&engine, "product:4884").await;
    admin::map_item(
        &engine,
        "acme",
        &map_request("product:4884", "ZING-PIMENTO"),
    )
    .await
    .unwrap();
    let by_hand = status_of(&engine, "product:4884").await;

    assert_eq!(
        by_identifier,
        ItemStatus::MappedByUniqueId {
            product_id: 11,
            sku: Some("product:1861".to_owned())
        }
    );
    assert!(
        matches!(before_mapping, ItemStatus::Unmapped { .. }),
        "{before_mapping:?}"
    );
    assert_eq!(
        by_hand,
        ItemStatus::MappedByHand {
            product_id: 12,
            sku: Some("ZING-PIMENTO".to_owned())
        }
    );
}

/// A line without a SupplierPartID (a free-form request in Coupa) is an
/// item with an empty part id, which can be mapped by hand.
#[tokio::test]
async fn empty_part_id_is_mapped_by_hand() {
    let engine = engine().await;
    let body = corpus_order().replace(
        "<SupplierPartID>product:4884</SupplierPartID>",
        "<SupplierPartID></SupplierPartID>",
    );
    receive_body(&engine, body).await;
    let account = admin::account(&engine, "acme").await.unwrap();
    engine
        .store
        .upsert_products(account.id, &[product(12, "ZING-PIMENTO")])
        .await
        .unwrap();
    let before = status_of(&engine, "").await;

    admin::map_item(&engine, "acme", &map_request("", "ZING-PIMENTO"))
        .await
        .unwrap();

    assert!(matches!(before, ItemStatus::Unmapped { .. }), "{before:?}");
    assert_eq!(
        status_of(&engine, "").await,
        ItemStatus::MappedByHand {
            product_id: 12,
            sku: Some("ZING-PIMENTO".to_owned())
        }
    );
}

#[tokio::test]
async fn unmapped_filter_hides_mapped_items() {
    let engine = engine().await;
    receive_order(&engine).await;
    let account = admin::account(&engine, "acme").await.unwrap();
    engine
        .store
        .upsert_products(account.id, &[product(11, "product:1861")])
        .await
        .unwrap();

    let unmapped = admin::list_items(&engine, "acme", true).await.unwrap();

    let parts: Vec<&str> = unmapped.iter().map(|item| item.part_id.as_str()).collect();
    assert_eq!(parts, ["product:4884"]);
}

#[tokio::test]
async fn mapping_releases_held_order() {
    let engine = engine().await;
    receive_order(&engine).await;
    let account = admin::account(&engine, "acme").await.unwrap();
    engine
        .store
        .upsert_products(account.id, &[product(12, "ZING-PIMENTO")])
        .await
        .unwrap();
    Worker::new(engine.clone(), "test-worker").run_once().await;

    let mut request = map_request("product:4884", "ZING-PIMENTO");
    request.unit_of_measure = Some("EA".to_owned());
    request.buyer = Some("staging".to_owned());
    request.quantity_factor = Some("12".to_owned());
    let mapped = admin::map_item(&engine, "acme", &request).await.unwrap();

    assert_eq!(mapped.released_jobs, 1);
    assert_eq!(mapped.product_id, 12);
    assert_eq!(mapped.quantity_factor, Decimal::from(12));
    assert_eq!(mapped.buyer.as_deref(), Some("staging"));
}

#[tokio::test]
async fn mapping_to_unknown_buyer_lists_known_buyers() {
    let engine = engine().await;
    let account = admin::account(&engine, "acme").await.unwrap();
    engine
        .store
        .upsert_products(account.id, &[product(12, "ZING-PIMENTO")])
        .await
        .unwrap();

    let mut request = map_request("product:4884", "ZING-PIMENTO");
    request.buyer = Some("initech".to_owned());
    let error = admin::map_item(&engine, "acme", &request)
        .await
        .unwrap_err()
        .to_string();

    assert!(error.contains("buyer \"initech\" not found"), "{error}");
    assert!(error.contains("known buyers: staging"), "{error}");
}

#[tokio::test]
async fn mapping_by_product_id_skips_sku_lookup() {
    let engine = engine().await;
    let account = admin::account(&engine, "acme").await.unwrap();
    let twins = [product(21, "DUP"), product(22, "DUP")];
    engine
        .store
        .upsert_products(account.id, &twins)
        .await
        .unwrap();

    let by_sku = admin::map_item(&engine, "acme", &map_request("P-1", "DUP"))
        .await
        .unwrap_err()
        .to_string();
    let by_id = admin::map_item(&engine, "acme", &map_request("P-1", "id:22"))
        .await
        .unwrap();

    assert!(
        by_sku.contains("several Brightpearl products (21, 22)"),
        "{by_sku}"
    );
    assert_eq!(by_id.product_id, 22);
}

#[tokio::test]
async fn orders_list_number_revisions_and_status() {
    let engine = engine().await;
    receive_order(&engine).await;

    let orders = admin::list_orders(&engine, "acme", None).await.unwrap();
    let received = admin::list_orders(&engine, "acme", Some("received"))
        .await
        .unwrap();
    let failed = admin::list_orders(&engine, "acme", Some("failed"))
        .await
        .unwrap();

    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].po_number, "3309");
    assert_eq!(orders[0].revisions, 1);
    assert_eq!(orders[0].buyer, "staging");
    assert_eq!(orders[0].status, PoStatus::Received);
    assert_eq!(received.len(), 1);
    assert!(failed.is_empty());
}

#[tokio::test]
async fn sandbox_connection_is_stored() {
    let engine = engine().await;
    let account = admin::account(&engine, "acme").await.unwrap();
    let tokens = GrantedTokens {
        access_token: "access".to_owned(),
        refresh_token: "refresh".to_owned(),
        expires_in: 3600,
        installation_instance_id: "13".to_owned(),
        api_domain: "http://127.0.0.1:9/sandbox/".to_owned(),
    };

    admin::connect_sandbox(&engine, &account, &tokens)
        .await
        .unwrap();

    let connection = engine.store.connection(account.id).await.unwrap().unwrap();
    assert!(connection.is_sandbox);
    assert_eq!(connection.api_base, "http://127.0.0.1:9/sandbox");
    assert_eq!(connection.account_code, "acme");
    assert_eq!(connection.installation_instance_id.as_deref(), Some("13"));
    let shown = format!("{tokens:?}");
    assert!(!shown.contains("\"refresh\""), "{shown}");
    assert!(shown.contains("********"), "{shown}");
}
