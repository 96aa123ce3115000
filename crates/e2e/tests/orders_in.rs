//! Every corpus purchase order, posted to a running pobridge, becomes one
//! Brightpearl sales order in the sandbox or is held naming what is missing,
//! on SQLite and on PostgreSQL.

use pobridge_cxml::OrderRequest;
use pobridge_e2e::captured_logs::{capture_logs, captured_text};
use pobridge_e2e::{
    add_corpus_buyers, configure_defaults, on_each_backend, ship_as_row, Backend, Options, TestApp,
};
use pobridge_store::{PoFilter, PoStatus};
use rust_decimal::Decimal;
use serde_json::Value;

/// Uses the account defaults of every end-to-end test, but keeps the PO's
/// shipping charge as a row on the sandbox's first nominal code.
async fn configure(app: &mut TestApp) {
    configure_defaults(app).await.unwrap();
    ship_as_row(app).await.unwrap();
}

on_each_backend!(corpus_orders_sync_or_hold_then_release);

async fn corpus_orders_sync_or_hold_then_release(backend: Backend) {
    let logs = capture_logs();
    let options = Options {
        backend,
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure(&mut app).await;
    let documents = add_corpus_buyers(&app, false).await.unwrap();
    assert_eq!(
        documents.len(),
        7,
        "the corpus has seven OrderRequest documents"
    );

    for (name, body) in &documents {
        let (status, answer) = app.post_cxml(body.clone()).await.unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
        assert!(answer.contains(r#"code="200""#), "{name}: {answer}");
    }
    app.drain(100).await;

    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(
        orders.len(),
        6,
        "seven documents, two of them revisions of one PO"
    );
    for po in &orders {
        eprintln!(
            "PO {} after the first drain: {:?}: {:?}",
            po.number, po.status, po.reason
        );
        match po.status {
            PoStatus::Synced => {}
            PoStatus::AwaitingMapping => {
                let reason = po.reason.clone().unwrap_or_default();
                assert!(
                    reason.contains("no Brightpearl product has SKU"),
                    "PO {}: {reason}",
                    po.number
                );
            }
            other => panic!("PO {} ended {:?}: {:?}", po.number, other, po.reason),
        }
    }

    map_every_unmapped_item(&app).await;
    app.drain(100).await;

    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    let sandbox_orders = app.sandbox.sales_orders(&app.brightpearl_code);
    assert_eq!(sandbox_orders.len(), orders.len(), "one sales order per PO");
    for po in &orders {
        assert_eq!(
            po.status,
            PoStatus::Synced,
            "PO {} is {:?}: {:?}",
            po.number,
            po.status,
            po.reason
        );
        let revision = app
            .store()
            .revision(app.account.id, po.latest_revision)
            .await
            .unwrap();
        let order: OrderRequest = serde_json::from_value(revision.order).unwrap();
        let id = po
            .brightpearl_order_id
            .expect("synced PO has a sales order");
        let sales_order = sandbox_orders
            .iter()
            .find(|candidate| candidate["id"].as_i64() == Some(id))
            .expect("the sales order exists");
        assert_matches_po(&order, sales_order);
    }

    let logged = captured_text(&logs);
    assert!(
        logged.contains("purchase order synced"),
        "the logs were captured"
    );
    for secret in CORPUS_SECRETS {
        assert!(!logged.contains(secret), "the logs contain {secret:?}");
        let stored = app.database_contains(secret).await.unwrap();
        assert!(!stored, "the {backend:?} database contains {secret:?}");
    }
}

/// Shared secrets and the card number that appear in the corpus orders.
const CORPUS_SECRETS: [&str; 4] = [
    "alsdkfjalksdjflaksjdfklj",
    "abracadabra",
    "coyote",
    "1234567890123456",
];

/// Maps every Coupa item that no product matches to a sandbox product, the
/// way `pobridge items map` does, which releases the waiting orders.
async fn map_every_unmapped_item(app: &TestApp) {
    let products = app
        .store()
        .list_products(app.account.id, 1000, 0)
        .await
        .unwrap();
    let candidate = products
        .iter()
        .find(|product| !product.stock_tracked && product.sku.is_some())
        .expect("the sandbox has a product that is not stock-tracked");
    let items = pobridge_engine::admin::list_items(&app.engine, pobridge_e2e::ACCOUNT, true)
        .await
        .unwrap();
    assert!(!items.is_empty(), "some corpus items are unmapped");
    for item in items {
        let request = pobridge_engine::admin::MapItem {
            coupa_part_id: item.part_id.clone(),
            unit_of_measure: None,
            buyer: None,
            brightpearl: candidate.sku.clone().unwrap(),
            quantity_factor: None,
        };
        pobridge_engine::admin::map_item(&app.engine, pobridge_e2e::ACCOUNT, &request)
            .await
            .unwrap();
    }
}

fn assert_matches_po(order: &OrderRequest, sales_order: &Value) {
    let number = &order.header.order_id;
    assert_eq!(
        sales_order["reference"].as_str(),
        Some(number.as_str()),
        "customer reference of PO {number}"
    );
    let currency = order
        .header
        .total
        .as_ref()
        .map(|total| total.currency.clone())
        .unwrap();
    assert_eq!(
        sales_order["currency"]["orderCurrencyCode"].as_str(),
        Some(currency.as_str()),
        "currency of PO {number}"
    );

    let rows: Vec<&Value> = sales_order["orderRows"]
        .as_object()
        .expect("orderRows is an object")
        .values()
        .collect();
    for item in &order.items {
        let price = item.detail.as_ref().unwrap().unit_price.amount;
        let net = (item.quantity * price).round_dp(2);
        let found = rows.iter().any(|row| {
            let quantity: Decimal = row["quantity"]["magnitude"]
                .as_str()
                .and_then(|text| text.parse().ok())
                .unwrap_or_default();
            let row_net: Decimal = row["rowValue"]["rowNet"]["value"]
                .as_str()
                .and_then(|text| text.parse().ok())
                .unwrap_or_default();
            quantity == item.quantity && row_net.round_dp(2) == net
        });
        assert!(
            found,
            "PO {number} line {:?}: no row with quantity {} and net {net} in {rows:?}",
            item.line_number, item.quantity
        );
    }

    if let Some(ship_to) = &order.header.ship_to {
        let postal = ship_to.postal_address.as_ref().unwrap();
        let delivery = &sales_order["parties"]["delivery"];
        assert_eq!(
            delivery["addressLine1"].as_str().map(str::trim),
            postal.streets.first().map(|street| street.trim()),
            "delivery street of PO {number}"
        );
        if let Some(code) = &postal.postal_code {
            assert_eq!(
                delivery["postalCode"].as_str(),
                Some(code.trim()),
                "delivery postal code of PO {number}"
            );
        }
    }
}
