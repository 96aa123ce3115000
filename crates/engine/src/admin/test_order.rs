//! A test order: a small cXML OrderRequest written from one buyer's
//! credentials and posted to pobridge's own order URL over HTTP, so an
//! operator sees what Coupa would get back from the buyer's settings.
//!
//! The order is marked as a test twice: its orderID starts with `TEST-`,
//! and the request sets `deploymentMode="test"`. Intake then treats it as
//! any test document: a production buyer's is stored and not synced, a
//! test buyer's is synced like its other orders. The sample has no BillTo
//! and its one line names a part no mapping knows, so its sync waits for a
//! person and never creates a sales order.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use pobridge_core::{PoId, PoNumber};
use pobridge_cxml::{format_timestamp, read_envelope, Body, Limits};
use pobridge_store::{Buyer, BuyerMode, CredentialRef, PoStatus};

use super::{account, find_buyer, AdminError};
use crate::Engine;

/// Prefix of every test order's orderID.
pub const TEST_ORDER_PREFIX: &str = "TEST-";

/// `SupplierPartID` of the sample order's only line.
pub const TEST_PART_ID: &str = "POBRIDGE-TEST";

/// How long the post may take before it is reported as failed.
const POST_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum characters of the response body kept for display, which is
/// far more than a cXML Response needs.
const MAX_RESPONSE_CHARS: usize = 20_000;

/// What came of a test order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOrderOutcome {
    /// The orderID sent, starting with [`TEST_ORDER_PREFIX`].
    pub order_id: String,
    /// The order URL posted to, with a per-buyer token masked.
    pub posted_to: String,
    pub buyer_mode: BuyerMode,
    /// Whether the request carried a shared secret.
    pub sent_secret: bool,
    /// The response, or why none was received.
    pub response: Result<TestOrderResponse, String>,
    /// The purchase order the test order created, when intake stored one.
    pub po: Option<(PoId, PoStatus)>,
}

/// pobridge's response to a test order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOrderResponse {
    pub http_status: u16,
    /// `Response/Status@code` and `@text`, when the body is a cXML Response.
    pub status: Option<(u16, String)>,
    /// The body as received, cut to a length fit for a page.
    pub body: String,
}

/// Writes a test order from `buyer`'s credentials, posts it to the order
/// URL under `base_url` (pobridge's public URL, such as
/// `https://pobridge.example.com`) and reads the response. `secret` goes into
/// the Sender credential when given: the stored secret is only a digest,
/// so it cannot be sent for the operator.
pub async fn send_test_order(
    engine: &Engine,
    slug: &str,
    buyer: &str,
    base_url: &str,
    secret: Option<&str>,
) -> Result<TestOrderOutcome, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = find_buyer(engine, &account, buyer).await?;
    let now = engine.clock.now();
    let order_id = format!(
        "{TEST_ORDER_PREFIX}{}-{:04X}",
        now.format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    );
    let secret = secret.map(str::trim).filter(|secret| !secret.is_empty());
    let document = sample_order(
        &buyer,
        &order_id,
        &engine.new_payload_id(),
        now.fixed_offset(),
        secret,
    );

    let base_url = base_url.trim_end_matches('/');
    let path = match &buyer.url_token {
        Some(token) => format!("/cxml/{}/{token}", account.slug),
        None => format!("/cxml/{}", account.slug),
    };
    let response = post(engine, &format!("{base_url}{path}"), document).await;
    let number = PoNumber(order_id.clone());
    let po = engine
        .store
        .purchase_order_by_number(account.id, buyer.id, &number)
        .await?
        .map(|po| (po.id, po.status));
    tracing::info!(tenant.id = %account.id, buyer.id = %buyer.id, order_id = %order_id, stored = po.is_some(), "test order sent");

    let posted_to = match &buyer.url_token {
        Some(_) => format!("{base_url}/cxml/{}/{}", account.slug, super::MASKED_SECRET),
        None => format!("{base_url}{path}"),
    };
    Ok(TestOrderOutcome {
        order_id,
        posted_to,
        buyer_mode: buyer.mode,
        sent_secret: secret.is_some(),
        response,
        po,
    })
}

async fn post(engine: &Engine, url: &str, document: String) -> Result<TestOrderResponse, String> {
    let response = engine
        .clients
        .http()
        .post(url)
        .header("content-type", "text/xml; charset=UTF-8")
        .timeout(POST_TIMEOUT)
        .body(document)
        .send()
        .await
        .map_err(|error| format!("the order URL could not be reached: {error}"))?;
    let http_status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| format!("the response could not be read: {error}"))?;
    let status = match read_envelope(&bytes, &Limits::default()) {
        Ok(envelope) => match envelope.body {
            Body::Response { code, text } => Some((code, text)),
            _ => None,
        },
        Err(_) => None,
    };
    let body: String = String::from_utf8_lossy(&bytes)
        .chars()
        .take(MAX_RESPONSE_CHARS)
        .collect();
    Ok(TestOrderResponse {
        http_status,
        status,
        body,
    })
}

/// Writes the sample OrderRequest: the buyer's From, To and Sender, the
/// shared secret when given, one line of [`TEST_PART_ID`] at 1.00 USD and
/// `deploymentMode="test"`.
pub fn sample_order(
    buyer: &Buyer,
    order_id: &str,
    payload_id: &str,
    timestamp: DateTime<FixedOffset>,
    secret: Option<&str>,
) -> String {
    let timestamp = format_timestamp(&timestamp);
    let secret = secret
        .map(|secret| format!("<SharedSecret>{}</SharedSecret>", escape(secret)))
        .unwrap_or_default();
    let lines = [
        r#"<?xml version="1.0" encoding="UTF-8"?>"#.to_owned(),
        r#"<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">"#.to_owned(),
        format!(
            r#"<cXML payloadID="{}" timestamp="{timestamp}" xml:lang="en-US">"#,
            escape(payload_id)
        ),
        "<Header>".to_owned(),
        format!("<From>{}</From>", credential(&buyer.from, "")),
        format!("<To>{}</To>", credential(&buyer.to, "")),
        format!(
            "<Sender>{}<UserAgent>pobridge test order</UserAgent></Sender>",
            credential(&buyer.sender, &secret)
        ),
        "</Header>".to_owned(),
        r#"<Request deploymentMode="test">"#.to_owned(),
        "<OrderRequest>".to_owned(),
        format!(
            r#"<OrderRequestHeader orderID="{}" orderDate="{timestamp}" type="new">"#,
            escape(order_id)
        ),
        r#"<Total><Money currency="USD">1.00</Money></Total>"#.to_owned(),
        r#"<Comments xml:lang="en">Test order sent from the pobridge portal</Comments>"#.to_owned(),
        "</OrderRequestHeader>".to_owned(),
        r#"<ItemOut quantity="1" lineNumber="1">"#.to_owned(),
        format!("<ItemID><SupplierPartID>{TEST_PART_ID}</SupplierPartID></ItemID>"),
        concat!(
            r#"<ItemDetail><UnitPrice><Money currency="USD">1.00</Money></UnitPrice>"#,
            r#"<Description xml:lang="en">Test line, not for delivery</Description>"#,
            "<UnitOfMeasure>EA</UnitOfMeasure></ItemDetail>"
        )
        .to_owned(),
        "</ItemOut>".to_owned(),
        "</OrderRequest>".to_owned(),
        "</Request>".to_owned(),
        "</cXML>".to_owned(),
    ];
    lines.join("\n")
}

fn credential(credential: &CredentialRef, inner: &str) -> String {
    format!(
        r#"<Credential domain="{}"><Identity>{}</Identity>{inner}</Credential>"#,
        escape(&credential.domain),
        escape(&credential.identity)
    )
}

/// Escapes text for XML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn sample(secret: Option<&str>) -> pobridge_cxml::Envelope {
        let mut buyer = crate::admin::test_buyer();
        buyer.to.identity = "A&B <supplier>".to_owned();
        let time = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
            .unwrap();
        let xml = sample_order(&buyer, "TEST-1", "1.2@pobridge.local", time, secret);
        read_envelope(xml.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn sample_reads_back_as_test_order() {
        let envelope = sample(Some("s3cr\"et"));

        let header = envelope.header.unwrap();
        assert_eq!(header.to[0].identity, "A&B <supplier>");
        let sent = header.sender[0].shared_secret.as_ref().unwrap();
        assert_eq!(sent.expose(), "s3cr\"et");
        let Body::OrderRequest {
            deployment_test,
            order,
        } = envelope.body
        else {
            panic!("the sample is an OrderRequest");
        };
        assert!(deployment_test);
        assert_eq!(order.header.order_id, "TEST-1");
        assert_eq!(order.items.len(), 1);
        assert_eq!(order.items[0].item_id.supplier_part_id, TEST_PART_ID);
        assert_eq!(crate::validate::check_order(&order), Ok(()));
    }

    #[test]
    fn sample_without_secret_has_none() {
        let header = sample(None).header.unwrap();
        assert!(header.sender[0].shared_secret.is_none());
    }
}
