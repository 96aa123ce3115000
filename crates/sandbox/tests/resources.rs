//! Searches, ID sets, reference data, products, contacts and multi-message.

mod common;

use common::{corpus, sales_order_body, shape, TestSandbox};
use serde_json::{json, Value};

#[tokio::test]
async fn product_search_duplicate_sku() {
    let t = TestSandbox::default().await;
    let (status, body) = t.get("product-service/product-search?SKU=CT-200").await;
    assert_eq!(status, 200);
    let captured = corpus("product-search-by-name.response.json");
    assert_eq!(
        body["response"]["metaData"]["columns"],
        captured["response"]["metaData"]["columns"]
    );
    assert_eq!(
        body["response"]["metaData"]["sorting"],
        captured["response"]["metaData"]["sorting"]
    );
    assert_eq!(body["response"]["results"].as_array().unwrap().len(), 2);
    assert!(body["reference"]["productCategoryMembership"].is_object());

    let (_, body) = t.get("product-service/product-search?productName=safety%20GLOVES&columns=SKU,productId&sort=productId.DESC").await;
    assert_eq!(body["response"]["results"][0], json!(["GLV-XL", 1008]));
    assert_eq!(body["response"]["metaData"]["resultsAvailable"], 4);

    let (status, body) = t
        .get("product-service/product-search?productId=BAD%20PARAM")
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        corpus("product-search-error-500-bad-filter.response.json")
    );

    let (_, body) = t
        .get("product-service/product-search?stockTracked=false&countOnly=true")
        .await;
    assert_eq!(body["response"]["metaData"]["resultsAvailable"], 6);
    assert_eq!(body["response"]["results"], json!([]));
}

#[tokio::test]
async fn contact_search_by_shared_email_returns_both() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .get("contact-service/contact-search?primaryEmail=buyer%40hooli.example")
        .await;
    let captured = corpus("contact-search-by-email.response.json");
    assert_eq!(
        body["response"]["metaData"]["columns"],
        captured["response"]["metaData"]["columns"]
    );
    let ids: Vec<&Value> = body["response"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r[0])
        .collect();
    assert_eq!(ids, [&json!(205), &json!(206)]);
}

#[tokio::test]
async fn product_and_contact_gets_by_idset() {
    let t = TestSandbox::default().await;
    let (status, body) = t.get("product-service/product/1001-1003").await;
    assert_eq!(status, 200);
    assert_eq!(body["response"].as_array().unwrap().len(), 3);
    let product = body["response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == 1001)
        .unwrap();
    assert_eq!(
        product["salesChannels"][0]["productName"],
        "Blue widget, 10 pack"
    );
    assert_eq!(product["stock"]["stockTracked"], true);
    assert_eq!(product["financialDetails"]["taxCode"]["code"], "T20");

    let (status, body) = t.get("contact-service/contact/1").await;
    assert_eq!(status, 404);
    assert_eq!(body, corpus("contact-get-404-not-found.response.json"));
    let (_, body) = t.get("contact-service/contact/200").await;
    assert_eq!(
        shape(&body["pagination"]),
        shape(&corpus("contact-get-single.response.json")["pagination"])
    );
    assert_eq!(
        body["response"][0]["communication"]["emails"]["PRI"]["email"],
        "ap@globex.example"
    );

    let (status, body) = t.get("product-service/product/1-201").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "CMNC-033");
}

#[tokio::test]
async fn options_returns_existing_ids_only() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .call(
            reqwest::Method::OPTIONS,
            "product-service/product/1-100,320,321",
            &json!(null),
        )
        .await;
    assert_eq!(body, corpus("product-options-empty.response.json"));
    let (_, body) = t
        .call(
            reqwest::Method::OPTIONS,
            "product-service/product/1000-1005,1020",
            &json!(null),
        )
        .await;
    assert_eq!(
        body["response"]["getUris"],
        json!(["/product/1001-1005,1020"])
    );
}

#[tokio::test]
async fn long_uri_gets_414() {
    let t = TestSandbox::default().await;
    let ids: Vec<String> = (1..3000).map(|n| (n * 3).to_string()).collect();
    let response = t
        .request(
            reqwest::Method::GET,
            &format!("product-service/product/{}", ids.join(",")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 414);
}

#[tokio::test]
async fn reference_data_gets() {
    let t = TestSandbox::default().await;
    let (_, body) = t.get("accounting-service/tax-code/").await;
    let codes: Vec<&Value> = body["response"].as_array().unwrap().iter().collect();
    assert!(codes
        .iter()
        .any(|c| c["code"] == "T20" && c["rate"] == json!(20.0)));
    assert!(codes
        .iter()
        .any(|c| c["code"] == "Z" && c.get("rate").is_none()));
    let (_, body) = t.get("product-service/price-list/0").await;
    assert_eq!(body["response"][0]["priceListTypeCode"], "BUY");
    let (_, body) = t.get("order-service/order-status/4").await;
    assert_eq!(
        shape(&body),
        shape(&corpus("order-status-get.response.json"))
    );
    let (_, body) = t.get("order-service/sale/custom-field-meta-data/134").await;
    assert_eq!(body["response"][0]["options"]["160"]["value"], "Coupa");
    for path in [
        "product-service/channel",
        "warehouse-service/warehouse",
        "accounting-service/nominal-code/",
        "warehouse-service/shipping-method/",
        "order-service/order-shipping-status",
    ] {
        let (status, body) = t.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body["response"].as_array().unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn contact_post_then_legacy_get() {
    let t = TestSandbox::default().await;
    let (status, body) = t
        .post(
            "contact-service/postal-address",
            &json!({"addressLine1": "1 New St", "postalCode": "62701", "countryIsoCode": "USA"}),
        )
        .await;
    assert_eq!(status, 200);
    let address = body["response"].as_u64().unwrap();
    let contact = json!({"firstName": "New", "lastName": "Buyer", "postAddressIds": {"DEF": address, "BIL": address, "DEL": address},
        "communication": {"emails": {"PRI": {"email": "new@buyer.example"}}}, "organisation": {"name": "Buyer Corp"}});
    let (status, body) = t.post("contact-service/contact", &contact).await;
    assert_eq!(status, 200);
    let id = body["response"].as_u64().unwrap();
    let legacy = format!(
        "{}/2.0.0/acmewidgets/contact-service/contact/{id}",
        t.base_url
    );
    let response = t
        .http
        .get(legacy)
        .bearer_auth(&t.grant.access_token)
        .header("brightpearl-app-ref", "pobridge")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response"][0]["organisation"]["name"], "Buyer Corp");
}

#[tokio::test]
async fn multi_message_success_and_stop_on_fail() {
    let t = TestSandbox::default().await;
    let message = |label: &str, body: Value| json!({"label": label, "uri": "/order-service/sales-order", "httpMethod": "POST", "body": body});
    let batch = json!({"processingMode": "SEQUENTIAL", "onFail": "STOP", "messages": [
        message("o1", sales_order_body("mm-1", "13")), message("o2", sales_order_body("mm-2", "13"))]});
    let (status, body) = t.post("multi-message", &batch).await;
    assert_eq!(status, 200);
    assert_eq!(
        shape(&body),
        shape(&corpus("multi-message-success.response.json"))
    );
    let content: Value = serde_json::from_str(
        body["response"]["processedMessages"][0]["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(content["response"].is_u64());

    let mut bad = sales_order_body("mm-3", "13");
    bad["customer"]["id"] = json!(999_999);
    let batch = json!({"processingMode": "SEQUENTIAL", "onFail": "STOP", "messages": [
        message("o3", bad), message("o4", sales_order_body("mm-4", "13"))]});
    let (status, body) = t.post("multi-message", &batch).await;
    assert_eq!(status, 207);
    assert_eq!(body["response"]["processedMessages"][0]["statusCode"], 400);
    assert_eq!(body["response"]["unprocessedMessages"], json!(["o4"]));

    let patch = json!({"processingMode": "SEQUENTIAL", "onFail": "CONTINUE", "messages": [
        {"label": "p1", "uri": "/order-service/order/1/custom-field", "httpMethod": "PATCH", "body": []},
        message("o5", sales_order_body("mm-5", "13"))]});
    let (status, _) = t.post("multi-message", &patch).await;
    assert_eq!(status, 400);
}
