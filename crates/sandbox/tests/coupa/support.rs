//! A Coupa simulator on a loopback port with a manual clock, the buyers
//! and purchase orders the fixtures reference, and fixture access.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pobridge_core::ManualClock;
use pobridge_sandbox::{CoupaBuyerConfig, CoupaSandbox, IssuedLine, IssuedPo};
use rust_decimal::Decimal;

pub struct TestCoupa {
    pub coupa: CoupaSandbox,
    pub base_url: String,
    pub http: reqwest::Client,
}

/// One reply: HTTP status, the cXML `Status@code` and `Status@text`.
#[derive(Debug)]
pub struct Reply {
    pub http_status: u16,
    pub code: String,
    pub text: String,
    pub body: String,
}

impl TestCoupa {
    pub async fn start() -> Self {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 3, 16, 0, 0).unwrap());
        let coupa = CoupaSandbox::new(Arc::new(clock));
        let (base_url, _server) = coupa.spawn_local().await;
        Self {
            coupa,
            base_url,
            http: reqwest::Client::new(),
        }
    }

    /// Starts a simulator with the buyer and PO of `invoice-standard.xml`.
    pub async fn with_standard_buyer(allow_header_charges: bool) -> Self {
        let t = Self::start().await;
        t.coupa.add_buyer(standard_buyer(allow_header_charges));
        t.coupa.issue_po(standard_po());
        t
    }

    pub fn invoices_url(&self) -> String {
        format!("{}/cxml/invoices", self.base_url)
    }

    pub async fn post(&self, body: impl Into<reqwest::Body>) -> Reply {
        let request = self
            .http
            .post(self.invoices_url())
            .header("content-type", "text/xml; charset=UTF-8")
            .body(body);
        send(request).await
    }

    pub async fn post_fixture(&self, name: &str) -> Reply {
        self.post(fixture(name)).await
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the Coupa sandbox answers");
    let http_status = response.status().as_u16();
    let body = response.text().await.expect("the body reads");
    Reply {
        http_status,
        code: attribute(&body, "code"),
        text: attribute(&body, "text"),
        body,
    }
}

/// Returns the value of a `Status` attribute, unescaped for the texts
/// Coupa uses.
fn attribute(body: &str, name: &str) -> String {
    let status = body
        .split("<Status ")
        .nth(1)
        .expect("the reply has a Status element");
    let needle = format!("{name}=\"");
    let start = status.find(&needle).expect("Status has the attribute") + needle.len();
    let end = start + status[start..].find('"').unwrap();
    status[start..end].replace("&amp;", "&")
}

/// Returns the buyer of `invoice-standard.xml`, with domains in another
/// case than the fixture's to show they compare case-insensitively.
pub fn standard_buyer(allow_header_charges: bool) -> CoupaBuyerConfig {
    CoupaBuyerConfig {
        invoice_from: ("networkid".into(), "SUPPLIER-7".into()),
        invoice_to: ("NETWORKID".into(), "ACME-BUYER".into()),
        sender: ("NetworkId".into(), "SUPPLIER-7".into()),
        shared_secret: "s3cret".into(),
        allow_header_charges,
        supplier_name: "Supplier Seven".into(),
    }
}

/// Returns PO-1001: line 1 a quantity line of WID-100 in EA, line 2 a
/// service line.
pub fn standard_po() -> IssuedPo {
    IssuedPo {
        po_number: "PO-1001".into(),
        lines: vec![
            line(1, "WID-100", "EA", "10", "4.50", false),
            line(2, "SVC-INSTALL", "HUR", "1", "85.00", true),
        ],
        currency: "USD".into(),
    }
}

pub fn line(
    line_number: u32,
    part: &str,
    unit: &str,
    quantity: &str,
    price: &str,
    service: bool,
) -> IssuedLine {
    IssuedLine {
        line_number,
        supplier_part_id: part.into(),
        unit_of_measure: unit.into(),
        quantity: quantity.parse::<Decimal>().unwrap(),
        unit_price: price.parse::<Decimal>().unwrap(),
        service,
    }
}

pub fn fixture(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/coupa/");
    std::fs::read_to_string(format!("{path}{name}")).expect("fixture exists")
}

pub fn corpus_invoice(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/cxml/invoice/"
    );
    std::fs::read_to_string(format!("{path}{name}")).expect("corpus invoice exists")
}
