//! Searches over HTTP: rows mapped by column name, exact re-checks of
//! filters, query encoding and paging.

mod common;

use chrono::DateTime;
use common::{fixture_json, Harness, Reply};
use pobridge_brightpearl::{ContactQuery, IdentifierColumn, OrderRef, ProductQuery, SearchRequest};
use serde_json::{json, Value};

#[tokio::test]
async fn customer_ref_search_exact_by_column_name() {
    let harness =
        Harness::start(|_| Reply::fixture(200, "order-search-customer-ref-reordered.json")).await;

    let found = harness
        .client
        .find_orders_by_customer_ref("PO-1001")
        .await
        .unwrap();

    assert_eq!(
        found,
        vec![
            OrderRef {
                id: 501,
                order_type_id: Some(1),
                customer_ref: Some("PO-1001".into()),
                external_ref: Some("coupa:7:PO-1001:r1".into()),
            },
            OrderRef {
                id: 502,
                order_type_id: Some(3),
                customer_ref: Some("PO-1001".into()),
                external_ref: Some("coupa:7:PO-1001:r1".into()),
            },
        ]
    );
    let request = &harness.api_requests()[0];
    assert_eq!(request.api_path(), "order-service/order-search");
    assert_eq!(
        request.query_value("customerRef").as_deref(),
        Some("PO-1001")
    );
    assert_eq!(request.query_value("pageSize").as_deref(), Some("500"));
    assert_eq!(request.query_value("firstResult").as_deref(), Some("1"));
    assert_eq!(request.query_value("sort").as_deref(), Some("orderId.ASC"));
}

#[tokio::test]
async fn customer_ref_from_capture_is_url_encoded() {
    let harness =
        Harness::start(|_| Reply::corpus(200, "order-search-by-customer-ref.response.json")).await;

    let found = harness
        .client
        .find_orders_by_customer_ref("#0001")
        .await
        .unwrap();

    let ids: Vec<i64> = found.iter().map(|order| order.id).collect();
    assert_eq!(ids, [322, 323, 324, 325]);
    let query = harness.api_requests()[0].query.clone().unwrap();
    assert!(query.starts_with("customerRef=%230001&"), "{query}");
}

#[tokio::test]
async fn external_ref_search_checks_ref_and_installation() {
    let harness = Harness::start(|_| Reply::fixture(200, "order-search-external-ref.json")).await;

    let ours = harness
        .client
        .find_orders_by_external_ref("coupa:7:PO-9:r1", Some("13"))
        .await
        .unwrap();
    let any = harness
        .client
        .find_orders_by_external_ref("coupa:7:PO-9:r1", None)
        .await
        .unwrap();

    assert_eq!(ours, [601]);
    assert_eq!(any, [601, 602]);
    let requests = harness.api_requests();
    assert_eq!(
        requests[0]
            .query_value("installedIntegrationInstanceId")
            .as_deref(),
        Some("13")
    );
    assert_eq!(
        requests[0].query_value("externalRef").as_deref(),
        Some("coupa:7:PO-9:r1")
    );
    assert_eq!(
        requests[1].query_value("installedIntegrationInstanceId"),
        None
    );
}

#[tokio::test]
async fn blank_search_values_send_no_request() {
    let harness = Harness::start(|_| Reply::empty(500)).await;

    let orders = harness
        .client
        .find_orders_by_external_ref("  ", None)
        .await
        .unwrap();
    let refs = harness
        .client
        .find_orders_by_customer_ref("")
        .await
        .unwrap();
    let contacts = harness
        .client
        .search_contacts(&ContactQuery::Email(" ".into()))
        .await
        .unwrap();
    let query = ProductQuery {
        identifier: Some((IdentifierColumn::Sku, "".into())),
        ..ProductQuery::default()
    };
    let products = harness.client.search_products(&query).await.unwrap();

    assert!(orders.is_empty());
    assert!(refs.is_empty());
    assert!(contacts.is_empty());
    assert!(products.is_empty());
    assert!(harness.api_requests().is_empty());
}

#[tokio::test]
async fn email_search_encodes_plus_and_matches_exactly() {
    let harness = Harness::start(|_| Reply::fixture(200, "contact-search-near-misses.json")).await;

    let rows = harness
        .client
        .search_contacts(&ContactQuery::Email("ap+billing@buyer.example".into()))
        .await
        .unwrap();

    let ids: Vec<i64> = rows.iter().map(|row| row.contact_id).collect();
    assert_eq!(ids, [12, 13]);
    assert_eq!(rows[0].company_name.as_deref(), Some("Buyer Corp"));
    assert!(rows[0].is_customer);
    assert!(!rows[1].is_customer);
    assert_eq!(rows[1].first_name, None);
    let query = harness.api_requests()[0].query.clone().unwrap();
    assert!(
        query.starts_with("primaryEmail=ap%2Bbilling%40buyer.example&"),
        "{query}"
    );
}

#[tokio::test]
async fn company_search_ignores_case_and_spaces_only() {
    let harness = Harness::start(|_| Reply::fixture(200, "contact-search-near-misses.json")).await;

    let rows = harness
        .client
        .search_contacts(&ContactQuery::CompanyName("BUYER CORP".into()))
        .await
        .unwrap();

    let ids: Vec<i64> = rows.iter().map(|row| row.contact_id).collect();
    assert_eq!(ids, [10, 12]);
    let query = harness.api_requests()[0].query.clone().unwrap();
    assert!(query.starts_with("companyName=BUYER%20CORP&"), "{query}");
}

#[tokio::test]
async fn product_search_rechecks_the_identifier_exactly() {
    let harness =
        Harness::start(|_| Reply::fixture(200, "product-search-sku-near-misses.json")).await;
    let query = ProductQuery {
        identifier: Some((IdentifierColumn::Sku, "WID-1".into())),
        ..ProductQuery::default()
    };

    let rows = harness.client.search_products(&query).await.unwrap();

    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.product_id, 7);
    assert_eq!(row.sku.as_deref(), Some("WID-1"));
    assert_eq!(row.barcode, None);
    assert_eq!(row.name.as_deref(), Some("Widget one"));
    assert_eq!(row.stock_tracked, Some(true));
    assert_eq!(row.status.as_deref(), Some("LIVE"));
    assert_eq!(
        row.updated_on.unwrap().to_rfc3339(),
        "2024-05-03T14:01:10-06:00"
    );
    assert_eq!(
        harness.api_requests()[0].query_value("SKU").as_deref(),
        Some("WID-1")
    );
}

#[tokio::test]
async fn product_search_sends_period_with_encoded_offset() {
    let harness =
        Harness::start(|_| Reply::corpus(200, "product-search-by-name.response.json")).await;
    let from = DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let to = DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z")
        .unwrap()
        .to_utc();
    let query = ProductQuery {
        created_on: Some((from, Some(to))),
        updated_on: Some((from, None)),
        identifier: None,
    };

    let rows = harness.client.search_products(&query).await.unwrap();

    assert_eq!(rows.len(), 44);
    let query = harness.api_requests()[0].query.clone().unwrap();
    assert!(
        query.contains(
            "createdOn=2024-05-01T00%3A00%3A00%2B00%3A00%2F2024-05-02T00%3A00%3A00%2B00%3A00&"
        ),
        "{query}"
    );
    assert!(
        query.contains("updatedOn=2024-05-01T00%3A00%3A00%2B00%3A00%2F&"),
        "{query}"
    );
    assert!(!query.contains('+'), "{query}");
}

/// Builds a product-search page of `count` rows starting at id `first_id`, with the
/// wrong `resultsAvailable` one search is known to report.
fn product_page(first_id: i64, count: usize, more_pages: bool) -> Value {
    let template = fixture_json("product-search-sku-near-misses.json");
    let columns = template["response"]["metaData"]["columns"].clone();
    let rows: Vec<Value> = (0..count as i64)
        .map(|offset| {
            let id = first_id + offset;
            json!([
                "LIVE",
                format!("SKU-{id}"),
                id,
                "Generated",
                null,
                false,
                null
            ])
        })
        .collect();
    json!({
        "response": {
            "metaData": {
                "morePagesAvailable": more_pages,
                "resultsAvailable": 500,
                "resultsReturned": count,
                "firstResult": 1,
                "lastResult": count,
                "columns": columns
            },
            "results": rows
        },
        "reference": {"productCategoryMembership": {first_id.to_string(): [300]}}
    })
}

#[tokio::test]
async fn paging_continues_past_a_wrong_results_available() {
    let harness = Harness::start(
        |request| match request.query_value("firstResult").as_deref() {
            Some("1") => Reply::json(200, product_page(1, 500, false)),
            Some("501") => Reply::json(200, product_page(501, 120, false)),
            other => Reply::text(400, format!("unexpected firstResult {other:?}")),
        },
    )
    .await;

    let rows = harness
        .client
        .search_products(&ProductQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 620);
    assert_eq!(rows.first().unwrap().product_id, 1);
    assert_eq!(rows.last().unwrap().product_id, 620);
    assert_eq!(harness.api_requests().len(), 2);
}

#[tokio::test]
async fn short_page_flagged_with_more_pages_is_followed() {
    let harness = Harness::start(
        |request| match request.query_value("firstResult").as_deref() {
            Some("1") => Reply::json(200, product_page(1, 200, true)),
            Some("201") => Reply::json(200, product_page(201, 0, false)),
            other => Reply::text(400, format!("unexpected firstResult {other:?}")),
        },
    )
    .await;

    let rows = harness
        .client
        .search_products(&ProductQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 200);
    assert_eq!(harness.api_requests().len(), 2);
}

#[tokio::test]
async fn repeated_page_stops_paging() {
    let harness = Harness::start(|_| Reply::json(200, product_page(1, 500, true))).await;

    let rows = harness
        .client
        .search_products(&ProductQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 500);
    assert_eq!(harness.api_requests().len(), 2);
}

#[tokio::test]
async fn search_keeps_reference_beside_response() {
    let harness = Harness::start(
        |request| match request.query_value("firstResult").as_deref() {
            Some("1") => Reply::json(200, product_page(1, 500, false)),
            _ => Reply::json(200, product_page(501, 3, false)),
        },
    )
    .await;
    let request = SearchRequest::new("product-service/product-search", "productId")
        .boolean("stockTracked", false);

    let results = harness.client.search(&request).await.unwrap();

    assert_eq!(results.rows.len(), 503);
    assert_eq!(
        results.reference["productCategoryMembership"]["1"],
        json!([300])
    );
    assert_eq!(
        results.reference["productCategoryMembership"]["501"],
        json!([300])
    );
    assert_eq!(
        harness.api_requests()[0]
            .query_value("stockTracked")
            .as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn order_search_reference_names_statuses() {
    let harness =
        Harness::start(|_| Reply::corpus(200, "order-search-by-customer-ref.response.json")).await;
    let request =
        SearchRequest::new("order-service/order-search", "orderId").text("customerRef", "#0001");

    let results = harness.client.search(&request).await.unwrap();

    assert_eq!(
        results.reference["orderStatusNames"]["3"],
        "New phone order"
    );
    assert_eq!(results.rows[1].integer("orderStatusId"), Some(6));
    assert_eq!(
        results.rows[1]
            .timestamp("deliveryDate")
            .unwrap()
            .to_rfc3339(),
        "2022-02-02T10:46:31-06:00"
    );
    assert_eq!(results.rows[1].get("updatedOn"), Some(&Value::Null));
    assert_eq!(
        results.rows[1].timestamp("createdOn").unwrap().to_rfc3339(),
        "2022-01-26T10:46:30-06:00"
    );
}
