//! Fixtures for the invoicing tests: Brightpearl orders written as JSON,
//! purchase orders read from the e2e fixtures and the corpus, and a check
//! of written invoices against InvoiceDetail.dtd with xmllint.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, FixedOffset};
use pobridge_brightpearl::{Invoice, Order, OrderRow, OrderTotal, StatusRef};
use pobridge_cxml::{read_envelope, write_invoice, Body, Limits, OrderRequest};
use pobridge_engine::invoicing::{
    build_invoice, BuildInput, BuiltInvoice, BuyerCredentials, BuyerInvoicing, RowClass,
    RowMatcher, RowRule,
};
use pobridge_store::{CredentialRef, InvoiceKind, RowLink};
use rust_decimal::Decimal;
use serde::Deserialize;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invoicing");
const WIDGETS_PO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../e2e/tests/fixtures/order-widgets.xml"
);
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// An order row as the fixtures write it: the fields invoicing reads.
#[derive(Deserialize)]
struct RowFixture {
    id: i64,
    product_id: Option<i64>,
    sku: Option<String>,
    name: Option<String>,
    quantity: Decimal,
    net: Decimal,
    tax: Decimal,
    tax_code: Option<String>,
    tax_rate: Option<Decimal>,
    nominal_code: Option<String>,
    #[serde(default)]
    bundle_parent: bool,
    #[serde(default)]
    bundle_child: bool,
    cloned_from_id: Option<i64>,
}

/// An order as the fixtures write it.
#[derive(Deserialize)]
struct OrderFixture {
    id: i64,
    parent_order_id: Option<i64>,
    order_type_code: String,
    currency: String,
    invoice_reference: String,
    tax_date: DateTime<FixedOffset>,
    total: Decimal,
    rows: Vec<RowFixture>,
}

fn fixture_text(name: &str) -> String {
    let path = Path::new(FIXTURES).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Reads a Brightpearl order from `tests/fixtures/invoicing/NAME`.
pub fn order(name: &str) -> Order {
    let fixture: OrderFixture = serde_json::from_str(&fixture_text(name)).unwrap();
    let rows = fixture
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| OrderRow {
            id: row.id,
            sequence: Some(index as i64 * 10),
            product_id: row.product_id,
            sku: row.sku,
            name: row.name,
            quantity: row.quantity,
            net: row.net,
            tax: row.tax,
            tax_code: row.tax_code,
            tax_rate: row.tax_rate,
            nominal_code: row.nominal_code,
            external_ref: None,
            bundle_parent: row.bundle_parent,
            bundle_child: row.bundle_child,
            parent_row_id: None,
            cloned_from_id: row.cloned_from_id,
        });
    Order {
        id: fixture.id,
        parent_order_id: fixture.parent_order_id,
        order_type_code: Some(fixture.order_type_code),
        reference: Some("PO-1001".to_owned()),
        version: Some(1),
        status: StatusRef::default(),
        state_tax: Some("INVOICED".to_owned()),
        invoices: vec![Invoice {
            invoice_reference: fixture.invoice_reference,
            tax_date: Some(fixture.tax_date),
            due_date: None,
        }],
        placed_on: None,
        created_on: None,
        updated_on: None,
        closed_on: None,
        currency_code: Some(fixture.currency),
        total_value: OrderTotal {
            net: None,
            tax: None,
            total: Some(fixture.total),
        },
        shipping_status_code: None,
        delivery_address: None,
        rows: rows.collect(),
        custom_fields: BTreeMap::new(),
        raw: serde_json::Value::Null,
    }
}

fn read_po(path: &Path) -> OrderRequest {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let envelope = read_envelope(&bytes, &Limits::default()).unwrap();
    match envelope.body {
        Body::OrderRequest { order, .. } => order,
        other => panic!("{} is not an OrderRequest: {other:?}", path.display()),
    }
}

/// PO-1001: line 1 is 4 EA of WID-BLU-10 at 12.50, line 2 is 1.5 HUR of
/// SVC-INSTALL-HR at 80.00, neither with a `LineType`.
pub fn widgets_po() -> OrderRequest {
    read_po(Path::new(WIDGETS_PO))
}

/// Coupa's staging PO 3309: two `Quantity` lines with auxiliary part ids.
pub fn staging_po() -> OrderRequest {
    read_po(
        &Path::new(CORPUS)
            .join("cxml/order/coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml"),
    )
}

/// Reads the settings of `buyer-invoicing.json`: summary tax, header charges
/// allowed, credits with negative quantities.
pub fn settings() -> BuyerInvoicing {
    let value: serde_json::Value =
        serde_json::from_str(&fixture_text("buyer-invoicing.json")).unwrap();
    BuyerInvoicing::from_json(&value).unwrap()
}

fn credential(domain: &str, identity: &str) -> CredentialRef {
    CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    }
}

/// Returns the credentials of the widgets PO.
pub fn buyer_credentials() -> BuyerCredentials {
    BuyerCredentials {
        from: credential("NetworkID", "BUYER-1"),
        to: credential("DUNS", "123456789"),
        sender: credential("NetworkID", "BUYER-1"),
    }
}

pub fn link(order: i64, row: i64, line: u32) -> RowLink {
    RowLink {
        brightpearl_order_id: order,
        row_id: row,
        line_number: line,
    }
}

/// Shipping by SKU, packaging skipped by product id, handling by nominal
/// code.
pub fn widgets_rules() -> Vec<RowRule> {
    vec![
        RowRule {
            matcher: RowMatcher::Sku("SHIP-GROUND".to_owned()),
            class: RowClass::Shipping,
        },
        RowRule {
            matcher: RowMatcher::ProductId(901),
            class: RowClass::Skip,
        },
        RowRule {
            matcher: RowMatcher::NominalCode("4050".to_owned()),
            class: RowClass::SpecialHandling,
        },
    ]
}

pub fn time(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// Everything one build reads, owned, so a test changes one part and
/// borrows the rest.
pub struct Case {
    pub order: Order,
    pub po: OrderRequest,
    pub links: Vec<RowLink>,
    /// Brightpearl units per PO unit by PO line; empty means 1 everywhere.
    pub quantity_factors: BTreeMap<u32, Decimal>,
    pub settings: BuyerInvoicing,
    pub credentials: BuyerCredentials,
    pub rules: Vec<RowRule>,
    pub kind: InvoiceKind,
    pub original_invoice: Option<(String, DateTime<FixedOffset>)>,
    pub time_zone: chrono_tz::Tz,
}

impl Case {
    /// An invoice of `order` against the widgets PO with the fixture
    /// settings and rules, in Chicago time.
    pub fn widgets(order_fixture: &str, links: Vec<RowLink>) -> Self {
        Self {
            order: order(order_fixture),
            po: widgets_po(),
            links,
            quantity_factors: BTreeMap::new(),
            settings: settings(),
            credentials: buyer_credentials(),
            rules: widgets_rules(),
            kind: InvoiceKind::Invoice,
            original_invoice: None,
            time_zone: chrono_tz::America::Chicago,
        }
    }

    pub fn input(&self) -> BuildInput<'_> {
        BuildInput {
            order: &self.order,
            po: &self.po,
            po_order_date: self.po.header.order_date,
            row_links: &self.links,
            quantity_factors: &self.quantity_factors,
            buyer_invoicing: &self.settings,
            buyer_credentials: &self.credentials,
            rules: &self.rules,
            kind: self.kind,
            original_invoice: self.original_invoice.clone(),
            time_zone: self.time_zone,
            payload_id: "1773000000.1@pobridge.test",
            timestamp: time("2026-03-10T09:00:00-05:00"),
            user_agent: "pobridge test",
            account_slug: "acme",
        }
    }

    pub fn build(&self) -> Result<BuiltInvoice, Vec<String>> {
        build_invoice(&self.input())
    }

    /// Builds, expecting success, and checks that the document writes and
    /// is valid against InvoiceDetail.dtd 1.2.020.
    pub fn build_valid(&self) -> BuiltInvoice {
        let built = self.build().unwrap_or_else(|errors| panic!("{errors:#?}"));
        let xml = write_invoice(&built.document).unwrap_or_else(|error| panic!("{error}"));
        assert_valid(&xml);
        built
    }
}

fn invoice_dtd(version: &str) -> PathBuf {
    let dtd = Path::new(CORPUS).join(format!("cxml/dtd/{version}/InvoiceDetail.dtd"));
    assert!(dtd.is_file(), "missing {}", dtd.display());
    dtd
}

/// Validates written cXML against InvoiceDetail.dtd 1.2.020 with xmllint.
pub fn assert_valid(xml: &str) {
    assert_valid_against(xml, "1.2.020");
}

/// Validates written cXML against the InvoiceDetail.dtd of `version` with
/// xmllint, panicking when xmllint is missing so that a machine without it
/// fails instead of passing.
pub fn assert_valid_against(xml: &str, version: &str) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml.as_bytes()).unwrap();
    let output = Command::new("xmllint")
        .arg("--nonet")
        .arg("--noout")
        .arg("--dtdvalid")
        .arg(invoice_dtd(version))
        .arg(file.path())
        .output()
        .unwrap_or_else(|error| {
            panic!("xmllint is required for this test (apt-get install -y libxml2-utils): {error}")
        });
    assert!(
        output.status.success(),
        "invalid against InvoiceDetail.dtd {version}:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts that some message contains `part`.
pub fn assert_mentions(messages: &[String], part: &str) {
    assert!(
        messages.iter().any(|message| message.contains(part)),
        "no message mentions {part:?}: {messages:#?}"
    );
}
