//! Malformed and hostile documents get a 4xx quickly, with
//! little memory, and leave nothing stored.

use std::time::{Duration, Instant};

use pobridge_e2e::TestApp;

/// Peak resident memory of this process in KiB (`VmHWM`).
fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn header() -> &'static str {
    r#"<Header><From><Credential domain="NetworkID"><Identity>hostile-buyer</Identity></Credential></From><To><Credential domain="DUNS"><Identity>123</Identity></Credential></To><Sender><Credential domain="NetworkID"><Identity>hostile-buyer</Identity><SharedSecret>s</SharedSecret></Credential><UserAgent>t</UserAgent></Sender></Header>"#
}

fn attacks() -> Vec<(&'static str, Vec<u8>, u16)> {
    let external_entity = format!(
        r#"<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><cXML payloadID="a" timestamp="2024-01-01T00:00:00+00:00">{}<Request><OrderRequest><OrderRequestHeader orderID="&xxe;" orderDate="2024-01-01"><Total><Money currency="USD">1</Money></Total></OrderRequestHeader></OrderRequest></Request></cXML>"#,
        header()
    );
    let mut laughs = String::from(r#"<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY l0 "lol">"#);
    for level in 1..10 {
        laughs.push_str(&format!(
            r#"<!ENTITY l{level} "{}">"#,
            format!("&l{};", level - 1).repeat(10)
        ));
    }
    laughs.push_str(&format!(r#"]><cXML payloadID="b" timestamp="2024-01-01T00:00:00+00:00">{}<Request><OrderRequest><OrderRequestHeader orderID="&l9;" orderDate="2024-01-01"/></OrderRequest></Request></cXML>"#, header()));
    let deep = format!(
        r#"<cXML payloadID="c" timestamp="t">{}{}</cXML>"#,
        "<Extrinsic>".repeat(100_000),
        "</Extrinsic>".repeat(100_000)
    );
    let huge_attribute = format!(
        r#"<cXML payloadID="{}" timestamp="t"></cXML>"#,
        "x".repeat(20 * 1024 * 1024)
    );
    let other_request = format!(
        r#"<cXML payloadID="d" timestamp="2024-01-01T00:00:00+00:00">{}<Request><PunchOutSetupRequest operation="create"><BuyerCookie>x</BuyerCookie></PunchOutSetupRequest></Request></cXML>"#,
        header()
    );
    vec![
        ("external entity", external_entity.into_bytes(), 406),
        ("entity expansion", laughs.into_bytes(), 406),
        ("deep nesting", deep.into_bytes(), 406),
        ("huge attribute", huge_attribute.into_bytes(), 406),
        ("not XML", b"{\"order\": 1}".to_vec(), 406),
        ("other request type", other_request.into_bytes(), 450),
    ]
}

/// Announces a 33 MiB body and sends only its first kilobyte: the server
/// must respond from the announced length without reading the rest. (A
/// client that keeps writing would see the connection closed under it.)
async fn oversized_request(app: &TestApp) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let address = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /cxml/{} HTTP/1.1\r\nHost: {address}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        pobridge_e2e::ACCOUNT,
        33 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b' '; 1024]).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_get_4xx_fast_and_store_nothing() {
    let app = TestApp::start().await.expect("pobridge starts");
    let buyer = pobridge_store::NewBuyer {
        name: "hostile".to_owned(),
        from: pobridge_store::CredentialRef {
            domain: "NetworkID".to_owned(),
            identity: "hostile-buyer".to_owned(),
        },
        to: pobridge_store::CredentialRef {
            domain: "DUNS".to_owned(),
            identity: "123".to_owned(),
        },
        sender: pobridge_store::CredentialRef {
            domain: "NetworkID".to_owned(),
            identity: "hostile-buyer".to_owned(),
        },
        shared_secret: Some("s".to_owned()),
        url_token: None,
        mode: pobridge_store::BuyerMode::Production,
        invoice_url: None,
    };
    app.buyer(buyer).await.unwrap();

    let attacks = attacks();
    let before = peak_memory_kib();
    for (name, body, expected) in attacks {
        let started = Instant::now();
        let (status, answer) = app.post_cxml(body).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(status, expected, "{name}: {answer}");
        assert!(
            answer.contains(&format!(r#"code="{expected}""#)),
            "{name} gets a cXML status {expected}: {answer}"
        );
        assert!(elapsed < Duration::from_secs(1), "{name} took {elapsed:?}");
    }
    let started = Instant::now();
    let (status, answer) = oversized_request(&app).await;
    assert_eq!(status, 413, "oversized body: {answer}");
    assert!(
        answer.contains(r#"code="413""#),
        "oversized body gets a cXML 413: {answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "oversized body took {:?}",
        started.elapsed()
    );

    let growth_mib = peak_memory_kib().saturating_sub(before) / 1024;
    assert!(growth_mib < 64, "peak memory grew by {growth_mib} MiB");

    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(documents, 0, "no hostile document is stored");
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &Default::default())
        .await
        .unwrap();
    assert!(orders.is_empty(), "no purchase order is stored");
}
