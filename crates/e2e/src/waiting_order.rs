//! Setup for tests of the pages that release a waiting order: the Coupa staging
//! corpus order sent to a running pobridge, where it waits for a customer
//! or for an item mapping.

use pobridge_engine::admin::{map_item, MapItem};
use pobridge_store::{PoFilter, PoStatus, PurchaseOrder};

use crate::{add_corpus_buyers, configure_defaults, map_corpus_parts, TestApp, ACCOUNT};

/// The corpus order both setups send. It is PO 3309 with the parts
/// `product:1861` and `product:4884`, and its BillTo (addressID 21444,
/// "Network") matches no sandbox contact.
pub const STAGING_ORDER: &str =
    "coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml";

/// The part of [`STAGING_ORDER`] that [`order_awaiting_mapping`] maps
/// before the order arrives.
pub const PREMAPPED_PART: &str = "product:4884";

/// The SKU of the sandbox product that [`PREMAPPED_PART`] is mapped to.
pub const PREMAPPED_SKU: &str = "SVC-TRAIN";

/// Starts pobridge with [`STAGING_ORDER`] waiting for a customer, because
/// every part is mapped and the account may not create contacts on its own.
pub async fn order_awaiting_customer() -> (TestApp, PurchaseOrder) {
    let mut app = TestApp::start().await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    map_corpus_parts(&app).await.unwrap();
    app.set("create_contacts", "false").await.unwrap();
    let body = staging_order_body(&app).await;

    let po = send_order(&app, body).await;
    assert_eq!(po.status, PoStatus::AwaitingCustomer, "{:?}", po.reason);
    (app, po)
}

/// Starts pobridge with [`STAGING_ORDER`] waiting for a mapping of
/// `product:1861`, because [`PREMAPPED_PART`] is mapped before the order
/// arrives and no product matches the other part.
pub async fn order_awaiting_mapping() -> (TestApp, PurchaseOrder) {
    let mut app = TestApp::start().await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    let body = staging_order_body(&app).await;
    let request = MapItem {
        coupa_part_id: PREMAPPED_PART.to_owned(),
        unit_of_measure: None,
        buyer: None,
        brightpearl: PREMAPPED_SKU.to_owned(),
        quantity_factor: None,
    };
    map_item(&app.engine, ACCOUNT, &request).await.unwrap();

    let po = send_order(&app, body).await;
    assert_eq!(po.status, PoStatus::AwaitingMapping, "{:?}", po.reason);
    (app, po)
}

/// Adds the corpus buyers and returns the body of [`STAGING_ORDER`].
async fn staging_order_body(app: &TestApp) -> Vec<u8> {
    let documents = add_corpus_buyers(app, false).await.unwrap();
    documents
        .into_iter()
        .find_map(|(name, body)| (name == STAGING_ORDER).then_some(body))
        .expect("the corpus has the Coupa staging order")
}

/// Posts `body`, runs the worker until it is idle and returns the order.
async fn send_order(app: &TestApp, body: Vec<u8>) -> PurchaseOrder {
    let (status, response) = app.post_cxml(body).await.unwrap();
    assert_eq!(status, 200, "{response}");
    app.drain(10).await;
    only_order(app).await
}

/// Returns the account's purchase order, failing the test unless there is
/// exactly one.
pub async fn only_order(app: &TestApp) -> PurchaseOrder {
    let filter = PoFilter::default();
    let mut orders = app
        .store()
        .list_purchase_orders(app.account.id, &filter)
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    orders.remove(0)
}
