//! The order endpoint's responses and what each leaves behind: credentials,
//! test and production modes, revisions, conflicts and unusable documents.
//! The test of identical posts at once also runs on PostgreSQL.

use pobridge_e2e::{configure_defaults, on_each_backend, ship_as_row, Backend, Options, TestApp};
use pobridge_store::{BuyerMode, CredentialRef, NewBuyer, PoFilter, PoStatus, RevisionStatus};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");

fn widgets_buyer(mode: BuyerMode, secret: Option<&str>, url_token: Option<&str>) -> NewBuyer {
    NewBuyer {
        name: "widgets-buyer".to_owned(),
        from: CredentialRef {
            domain: "networkid".to_owned(),
            identity: "BUYER-1".to_owned(),
        },
        to: CredentialRef {
            domain: "duns".to_owned(),
            identity: "123456789".to_owned(),
        },
        sender: CredentialRef {
            domain: "NETWORKID".to_owned(),
            identity: "BUYER-1".to_owned(),
        },
        shared_secret: secret.map(str::to_owned),
        url_token: url_token.map(str::to_owned),
        mode,
        invoice_url: None,
    }
}

async fn app_with_buyer(mode: BuyerMode) -> TestApp {
    app_with_buyer_on(Backend::Sqlite, mode).await
}

async fn app_with_buyer_on(backend: Backend, mode: BuyerMode) -> TestApp {
    let options = Options {
        backend,
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    ship_as_row(&mut app).await.unwrap();
    app.buyer(widgets_buyer(mode, Some("widgets-s3cret"), None))
        .await
        .unwrap();
    app
}

fn order(replacements: &[(&str, &str)]) -> Vec<u8> {
    let mut text = ORDER.to_owned();
    for (from, to) in replacements {
        assert!(text.contains(from), "the fixture contains {from:?}");
        text = text.replacen(from, to, 1);
    }
    text.into_bytes()
}

fn cxml_code(body: &str) -> &str {
    let start = body
        .find("<Status code=\"")
        .map(|index| index + 14)
        .unwrap_or(0);
    &body[start..start + 3]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_and_failures_name_the_element() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let cases = [
        (
            "From",
            order(&[(
                "<Identity>BUYER-1</Identity>\n      </Credential>\n    </From>",
                "<Identity>SOMEONE-ELSE</Identity>\n      </Credential>\n    </From>",
            )]),
        ),
        ("Sender", order(&[("widgets-s3cret", "wrong-secret")])),
        (
            "To",
            order(&[(
                "<Identity>123456789</Identity>",
                "<Identity>987654321</Identity>",
            )]),
        ),
    ];
    for (element, body) in cases {
        let (status, answer) = app.post_cxml(body).await.unwrap();
        assert_eq!(status, 401, "{element}: {answer}");
        assert_eq!(cxml_code(&answer), "401");
        assert!(
            answer.contains(&format!("{element}:")),
            "the answer names {element}: {answer}"
        );
        assert!(
            !answer.contains("widgets-s3cret") && !answer.contains("wrong-secret"),
            "no secret is echoed: {answer}"
        );
    }
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert!(orders.is_empty(), "a rejected document stores no order");
}

/// The order endpoint keeps each account's buyers for up to a second. A
/// secret changed by another process (here a second store on the same
/// database, as the command line would open) must still be accepted at
/// once: the endpoint reads the buyers again before it rejects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_rotated_elsewhere_is_accepted() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let (status, answer) = app.post_cxml(order(&[])).await.unwrap();
    assert_eq!(status, 200, "{answer}");

    let other = pobridge_store::open(&app.database_url).await.unwrap();
    let mut buyer = other
        .buyer_by_name(app.account.id, "widgets-buyer")
        .await
        .unwrap();
    buyer.shared_secret = Some(pobridge_engine::auth::digest_secret("rotated-s3cret"));
    other.update_buyer(app.account.id, &buyer).await.unwrap();

    let rotated = order(&[
        ("widgets-s3cret", "rotated-s3cret"),
        (
            "1710000000.000001@buyer.example",
            "1710000000.000002@buyer.example",
        ),
        ("orderID=\"PO-1001\"", "orderID=\"PO-1002\""),
    ]);
    let (status, answer) = app.post_cxml(rotated).await.unwrap();
    assert_eq!(status, 200, "the new secret is accepted at once: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spaces_around_order_id_name_the_same_order() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let padded = [("orderID=\"PO-1001\"", "orderID=\" PO-1001 \"")];
    let (status, answer) = app.post_cxml(order(&padded)).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let resent = order(&[(
        "1710000000.000001@buyer.example",
        "1710000000.000009@buyer.example",
    )]);
    let (status, answer) = app.post_cxml(resent).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    app.drain(20).await;

    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].number.as_str(), "PO-1001");
    assert_eq!(app.sandbox.sales_orders(&app.brightpearl_code).len(), 1);

    let blank = [("orderID=\"PO-1001\"", "orderID=\"  \"")];
    let (status, answer) = app.post_cxml(order(&blank)).await.unwrap();
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("missing attribute orderID"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_in_from_instead_of_sender_is_rejected() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let body = order(&[
        ("<Identity>BUYER-1</Identity>\n      </Credential>\n    </From>", "<Identity>BUYER-1</Identity><SharedSecret>widgets-s3cret</SharedSecret>\n      </Credential>\n    </From>"),
        ("<SharedSecret>widgets-s3cret</SharedSecret>\n      </Credential>\n      <UserAgent>", "</Credential>\n      <UserAgent>"),
    ]);
    let (status, answer) = app.post_cxml(body).await.unwrap();
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("Sender:"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secretless_buyer_needs_own_url() {
    let mut app = TestApp::start().await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    app.buyer(widgets_buyer(
        BuyerMode::Production,
        None,
        Some("k3Jq9vTzXw-unguessable-token"),
    ))
    .await
    .unwrap();
    let without_secret = order(&[("<SharedSecret>widgets-s3cret</SharedSecret>", "")]);

    let (status, answer) = app.post_cxml(without_secret.clone()).await.unwrap();
    assert_eq!(status, 401, "the shared URL is refused: {answer}");

    let wrong = format!(
        "{}/cxml/{}/not-the-token",
        app.base_url,
        pobridge_e2e::ACCOUNT
    );
    let (status, _) = app
        .post_to(&wrong, "text/xml", without_secret.clone())
        .await
        .unwrap();
    assert_eq!(status, 401, "a wrong token is refused");

    let url = format!(
        "{}/cxml/{}/k3Jq9vTzXw-unguessable-token",
        app.base_url,
        pobridge_e2e::ACCOUNT
    );
    let (status, answer) = app
        .post_to(&url, "text/xml", without_secret.clone())
        .await
        .unwrap();
    assert_eq!(status, 200, "the buyer's own URL is accepted: {answer}");

    let text = String::from_utf8(without_secret).unwrap();
    let start = text.find("<OrderRequest>").unwrap();
    let end = text.find("</OrderRequest>").unwrap() + "</OrderRequest>".len();
    let profile = format!("{}<ProfileRequest/>{}", &text[..start], &text[end..]);
    let (status, answer) = app
        .post_to(&url, "text/xml", profile.into_bytes())
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let own_url = format!("<URL>{url}</URL>");
    assert_eq!(
        answer.matches(&own_url).count(),
        2,
        "the profile names the buyer's own URL: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_syncs_with_rows_tax_and_shipping() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let (status, answer) = app.post_cxml(order(&[])).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    app.drain(20).await;

    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    let po = &orders[0];
    // SVC-INSTALL-HR is not stock-tracked, so 1.5 hours are fine.
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    let sales_orders = app.sandbox.sales_orders(&app.brightpearl_code);
    let sales_order = &sales_orders[0];
    let rows: Vec<&serde_json::Value> = sales_order["orderRows"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(rows.len(), 3, "two lines and the shipping row: {rows:?}");
    let row = |sku: &str| {
        rows.iter()
            .find(|row| row["productSku"].as_str() == Some(sku))
            .copied()
    };
    let widget = row("WID-BLU-10").expect("the widget row");
    assert_eq!(
        widget["quantity"]["magnitude"]
            .as_str()
            .map(|text| text.parse::<rust_decimal::Decimal>().unwrap()),
        Some("4".parse().unwrap())
    );
    assert_eq!(
        widget["rowValue"]["rowNet"]["value"]
            .as_str()
            .map(|text| text.parse::<rust_decimal::Decimal>().unwrap()),
        Some("50".parse().unwrap())
    );
    assert_eq!(
        widget["rowValue"]["rowTax"]["value"]
            .as_str()
            .map(|text| text.parse::<rust_decimal::Decimal>().unwrap()),
        Some("10".parse().unwrap()),
        "T20 on 50.00"
    );
    let service = row("SVC-INSTALL-HR").expect("the service row");
    assert_eq!(
        service["rowValue"]["rowNet"]["value"]
            .as_str()
            .map(|text| text.parse::<rust_decimal::Decimal>().unwrap()),
        Some("120".parse().unwrap())
    );
    assert!(
        rows.iter()
            .any(|row| row["productName"].as_str() == Some("Shipping: Ground")),
        "the shipping row: {rows:?}"
    );
    assert_eq!(sales_order["reference"].as_str(), Some("PO-1001"));
    let tracked = app
        .store()
        .tracked_orders_for_po(app.account.id, po.id)
        .await
        .unwrap();
    assert_eq!(
        tracked.len(),
        1,
        "the created order is tracked for invoicing"
    );
    assert_eq!(
        Some(tracked[0].brightpearl_order_id),
        po.brightpearl_order_id
    );
    assert_eq!(tracked[0].kind, pobridge_store::TrackedKind::Created);
    assert_eq!(
        sales_order["parties"]["delivery"]["postalCode"].as_str(),
        Some("62701")
    );

    let events = app.store().events(app.account.id, po.id).await.unwrap();
    assert!(
        events.iter().any(|event| event
            .message
            .contains("the PO's Tax is 10.00 USD but the rows' tax codes give")),
        "the tax difference is a warning: {events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fractional_quantity_of_stock_item_is_held() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let (status, _) = app
        .post_cxml(order(&[(r#"quantity="4""#, r#"quantity="2.5""#)]))
        .await
        .unwrap();
    assert_eq!(status, 200);
    app.drain(20).await;
    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::AwaitingMapping);
    let reason = po.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("quantity 2.5 is fractional") && reason.contains("WID-BLU-10"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_document_from_production_buyer_is_not_synced() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let (status, answer) = app
        .post_cxml(order(&[(
            r#"deploymentMode="production""#,
            r#"deploymentMode="test""#,
        )]))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    app.drain(20).await;
    assert!(app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(app.sandbox.sales_orders(&app.brightpearl_code).is_empty());
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM documents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(outcome, "test_not_synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_buyer_against_production_brightpearl_is_validated_only() {
    let app = app_with_buyer(BuyerMode::Test).await;
    let mut connection = app
        .store()
        .connection(app.account.id)
        .await
        .unwrap()
        .unwrap();
    connection.is_sandbox = false;
    app.store()
        .save_connection(app.account.id, &connection)
        .await
        .unwrap();

    let (status, _) = app.post_cxml(order(&[])).await.unwrap();
    assert_eq!(status, 200);
    app.drain(20).await;
    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Validated, "{:?}", po.reason);
    assert!(
        app.sandbox.sales_orders(&app.brightpearl_code).is_empty(),
        "nothing is written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_after_sync_awaits_review() {
    let app = app_with_buyer(BuyerMode::Production).await;
    app.post_cxml(order(&[])).await.unwrap();
    app.drain(20).await;
    let update = order(&[
        (
            "1710000000.000001@buyer.example",
            "1710000000.000002@buyer.example",
        ),
        (r#"type="new""#, r#"type="update""#),
        (r#"quantity="4""#, r#"quantity="6""#),
    ]);
    let (status, answer) = app.post_cxml(update).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    app.drain(20).await;

    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::HeldForReview);
    let reason = po.reason.clone().unwrap_or_default();
    assert!(reason.contains("line 1 quantity 4 → 6"), "{reason}");
    assert_eq!(
        app.sandbox.sales_orders(&app.brightpearl_code).len(),
        1,
        "no second order"
    );
    let revisions = app.store().revisions(app.account.id, po.id).await.unwrap();
    assert_eq!(revisions.len(), 2);
    assert!(revisions
        .iter()
        .any(|revision| revision.status == RevisionStatus::HeldForReview));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_arriving_before_its_new_is_used() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let update = order(&[
        (
            "1710000000.000001@buyer.example",
            "1710000000.000002@buyer.example",
        ),
        (
            "timestamp=\"2026-03-02T10:00:00+01:00\"",
            "timestamp=\"2026-03-02T11:00:00+01:00\"",
        ),
        (r#"type="new""#, r#"type="update""#),
        (r#"quantity="4""#, r#"quantity="6""#),
    ]);
    let (status, _) = app.post_cxml(update).await.unwrap();
    assert_eq!(status, 200);
    let (status, _) = app.post_cxml(order(&[])).await.unwrap();
    assert_eq!(status, 200);
    app.drain(20).await;

    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    let sales_orders = app.sandbox.sales_orders(&app.brightpearl_code);
    assert_eq!(sales_orders.len(), 1);
    let widget = sales_orders[0]["orderRows"]
        .as_object()
        .unwrap()
        .values()
        .find(|row| row["productSku"].as_str() == Some("WID-BLU-10"))
        .cloned()
        .unwrap();
    let quantity: rust_decimal::Decimal = widget["quantity"]["magnitude"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        quantity,
        "6".parse().unwrap(),
        "the later update's quantity is used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_before_sync_cancels_without_order() {
    let app = app_with_buyer(BuyerMode::Production).await;
    app.post_cxml(order(&[])).await.unwrap();
    let delete = order(&[
        (
            "1710000000.000001@buyer.example",
            "1710000000.000003@buyer.example",
        ),
        (
            "timestamp=\"2026-03-02T10:00:00+01:00\"",
            "timestamp=\"2026-03-02T12:00:00+01:00\"",
        ),
        (r#"type="new""#, r#"type="delete""#),
    ]);
    app.post_cxml(delete).await.unwrap();
    app.drain(20).await;
    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Cancelled);
    assert!(app.sandbox.sales_orders(&app.brightpearl_code).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_of_invoiced_po_is_a_conflict() {
    let app = app_with_buyer(BuyerMode::Production).await;
    app.post_cxml(order(&[])).await.unwrap();
    app.drain(20).await;
    let po = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()
        .remove(0);
    let invoiced = pobridge_store::PoStatusUpdate {
        status: PoStatus::Invoiced,
        reason: None,
        brightpearl_order_id: None,
        synced_revision: None,
        event: "invoiced".to_owned(),
    };
    app.store()
        .set_po_status(app.account.id, po.id, &invoiced, app.engine.clock.now())
        .await
        .unwrap();

    let update = order(&[
        (
            "1710000000.000001@buyer.example",
            "1710000000.000009@buyer.example",
        ),
        (r#"type="new""#, r#"type="update""#),
    ]);
    let (status, answer) = app.post_cxml(update).await.unwrap();
    assert_eq!(status, 409, "{answer}");
    assert_eq!(cxml_code(&answer), "409");
    assert!(answer.contains("already invoiced"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_documents_get_the_right_code() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let no_lines = {
        let text = ORDER.to_owned();
        let start = text.find("<ItemOut").unwrap();
        let end = text.rfind("</ItemOut>").unwrap() + "</ItemOut>".len();
        format!("{}{}", &text[..start], &text[end..]).into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("no ItemOut", no_lines, 400, "ItemOut"),
        (
            "no orderID",
            order(&[(r#"orderID="PO-1001""#, r#"orderID="""#)]),
            400,
            "orderID",
        ),
        (
            "bad quantity",
            order(&[(r#"quantity="4""#, r#"quantity="four""#)]),
            400,
            "quantity",
        ),
        (
            "bad price",
            order(&[(
                "<Money currency=\"USD\">12.50</Money>",
                "<Money currency=\"USD\">12,50</Money>",
            )]),
            400,
            "12,50",
        ),
        (
            "bad currency",
            order(&[(
                "<Money currency=\"USD\">12.50</Money>",
                "<Money currency=\"dollars\">12.50</Money>",
            )]),
            400,
            "currency",
        ),
        (
            "wrong-case type",
            order(&[(r#"type="new""#, r#"type="Update""#)]),
            400,
            "Update",
        ),
        ("not XML", b"this is not xml".to_vec(), 406, ""),
        (
            "not cXML",
            b"<Invoice><Total>1</Total></Invoice>".to_vec(),
            406,
            "cXML",
        ),
    ];
    for (name, body, expected, mentions) in cases {
        let (status, answer) = app.post_cxml(body).await.unwrap();
        assert_eq!(status, expected, "{name}: {answer}");
        assert_eq!(cxml_code(&answer), expected.to_string(), "{name}");
        assert!(
            answer.contains(mentions),
            "{name}: the answer mentions {mentions:?}: {answer}"
        );
    }
    assert!(app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_request_gets_profile_response() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let text = ORDER.to_owned();
    let start = text.find("<OrderRequest>").unwrap();
    let end = text.find("</OrderRequest>").unwrap() + "</OrderRequest>".len();
    let profile = format!("{}<ProfileRequest/>{}", &text[..start], &text[end..]);
    let (status, answer) = app.post_cxml(profile.into_bytes()).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<ProfileResponse"), "{answer}");
    assert!(answer.contains("OrderRequest"), "{answer}");
    let order_url = format!("<URL>{}/cxml/{}</URL>", app.base_url, pobridge_e2e::ACCOUNT);
    assert_eq!(answer.matches(&order_url).count(), 2, "{answer}");
    assert!(!answer.contains("<URL/>"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_order_stores_its_attachment() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let boundary = "pobridge-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-ID: <payload.xml>\r\n\r\n").as_bytes());
    body.extend_from_slice(&order(&[]));
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <spec.pdf>\r\n\r\nJVBERi0xLjQK\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!(
        r#"multipart/related; boundary="{boundary}"; type="text/xml"; start="<payload.xml>""#
    );
    let url = format!("{}/cxml/{}", app.base_url, pobridge_e2e::ACCOUNT);
    let (status, answer) = app.post_to(&url, &content_type, body).await.unwrap();
    assert_eq!(status, 200, "{answer}");

    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let (content_id, bytes): (String, Vec<u8>) =
        sqlx::query_as("SELECT content_id, bytes FROM attachments")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(content_id, "spec.pdf");
    assert_eq!(bytes, b"%PDF-1.4\n");
}

/// No setting can give a line a price, so the order fails instead of
/// waiting for settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_without_price_fails_the_order() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let detail = "<ItemDetail>\n          <UnitPrice>\n            <Money currency=\"USD\">80.00</Money>\n          </UnitPrice>\n          <Description xml:lang=\"en\">Installation service, per hour</Description>\n          <UnitOfMeasure>HUR</UnitOfMeasure>\n          <Classification domain=\"UNSPSC\">72101500</Classification>\n        </ItemDetail>";
    app.post_cxml(order(&[(detail, "")])).await.unwrap();
    app.drain(20).await;

    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Failed);
    let reason = po.reason.clone().unwrap_or_default();
    assert!(reason.contains("line 2 has no unit price"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_setting_holds_order_until_set() {
    let mut app = TestApp::start().await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    app.set("shipping", "row").await.unwrap();
    app.buyer(widgets_buyer(
        BuyerMode::Production,
        Some("widgets-s3cret"),
        None,
    ))
    .await
    .unwrap();
    app.post_cxml(order(&[])).await.unwrap();
    app.drain(20).await;

    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::AwaitingSettings);
    let reason = po.reason.clone().unwrap_or_default();
    assert!(reason.contains("shipping_nominal_code"), "{reason}");

    let nominal = app
        .store()
        .reference_data(app.account.id, pobridge_store::ReferenceKind::NominalCodes)
        .await
        .unwrap()
        .unwrap()
        .data[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    pobridge_engine::admin::set_setting(
        &app.engine,
        pobridge_e2e::ACCOUNT,
        "shipping_nominal_code",
        &nominal,
    )
    .await
    .unwrap();
    app.drain(20).await;
    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_contact_gone_from_brightpearl_is_replaced() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let buyer = app
        .store()
        .buyer_by_name(app.account.id, "widgets-buyer")
        .await
        .unwrap();
    let stale = pobridge_store::CustomerMapping {
        buyer: buyer.id,
        bill_to_address_id: Some("BILL-1".to_owned()),
        contact_id: 999_999,
    };
    app.store()
        .upsert_customer_mapping(app.account.id, &stale, app.engine.clock.now())
        .await
        .unwrap();

    app.post_cxml(order(&[])).await.unwrap();
    app.drain(20).await;

    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    let mappings = app
        .store()
        .customer_mappings(app.account.id, buyer.id)
        .await
        .unwrap();
    assert!(
        mappings.iter().all(|mapping| mapping.contact_id != 999_999),
        "the stale mapping is replaced: {mappings:?}"
    );
    let events = app.store().events(app.account.id, po.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|event| event.message.contains("contact 999999 no longer exists")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_rule_violations_get_400() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "zero quantity",
            order(&[(r#"quantity="4""#, r#"quantity="0""#)]),
            "greater than zero",
        ),
        (
            "negative quantity",
            order(&[(r#"quantity="4""#, r#"quantity="-4""#)]),
            "greater than zero",
        ),
        (
            "repeated line number",
            order(&[(r#"lineNumber="2""#, r#"lineNumber="1""#)]),
            "appears more than once",
        ),
        (
            "mixed currency",
            order(&[(
                "<Money currency=\"USD\">80.00</Money>",
                "<Money currency=\"EUR\">80.00</Money>",
            )]),
            "one order has one currency",
        ),
        (
            "control character",
            order(&[(r#"orderID="PO-1001""#, r#"orderID="PO-&#x1b;[31mRED""#)]),
            "control characters",
        ),
    ];
    for (name, body, mentions) in cases {
        let (status, answer) = app.post_cxml(body).await.unwrap();
        assert_eq!(status, 400, "{name}: {answer}");
        assert!(answer.contains(mentions), "{name}: {answer}");
    }
    assert!(app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()
        .is_empty());
}

on_each_backend!(threads = 4; identical_posts_at_once_store_one_revision);

async fn identical_posts_at_once_store_one_revision(backend: Backend) {
    let app = std::sync::Arc::new(app_with_buyer_on(backend, BuyerMode::Production).await);
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let app = app.clone();
        posts.spawn(async move { app.post_cxml(order(&[])).await.unwrap() });
    }
    while let Some(posted) = posts.join_next().await {
        let (status, answer) = posted.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(cxml_code(&answer), "200");
    }
    app.drain(20).await;

    let count = |outcome: &str| {
        let sql = format!("SELECT COUNT(*) FROM documents WHERE outcome = '{outcome}'");
        let app = app.clone();
        async move { app.query_count(&sql).await.unwrap() }
    };
    assert_eq!(count("accepted").await, 1);
    assert_eq!(count("duplicate").await, 19);
    assert_eq!(
        app.query_count("SELECT COUNT(*) FROM documents")
            .await
            .unwrap(),
        20
    );
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    let revisions = app
        .store()
        .revisions(app.account.id, orders[0].id)
        .await
        .unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(orders[0].status, PoStatus::Synced, "{:?}", orders[0].reason);
    assert_eq!(app.sandbox.sales_orders(&app.brightpearl_code).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_contact_joins_local_index() {
    let app = app_with_buyer(BuyerMode::Production).await;
    let company = "Newcomer Supplies Ltd";
    let before = app.store().list_contacts(app.account.id).await.unwrap();
    assert!(before
        .iter()
        .all(|contact| contact.company_name.as_deref() != Some(company)));

    app.post_cxml(order(&[("Buyer Example Corp", company)]))
        .await
        .unwrap();
    app.drain(20).await;

    let po = &app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(po.status, PoStatus::Synced, "{:?}", po.reason);
    let buyer = app
        .store()
        .buyer_by_name(app.account.id, "widgets-buyer")
        .await
        .unwrap();
    let mappings = app
        .store()
        .customer_mappings(app.account.id, buyer.id)
        .await
        .unwrap();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    let contacts = app.store().list_contacts(app.account.id).await.unwrap();
    let listed = contacts
        .iter()
        .find(|contact| contact.contact_id == mappings[0].contact_id)
        .expect("the created contact is in the local index");
    assert_eq!(listed.company_name.as_deref(), Some(company));
}
