//! Helpers for tests and benchmarks of invoices sent to Coupa.
//!
//! They start a sandbox Coupa per buyer with the synced POs issued in it,
//! point the buyers' invoicing settings at them, change Brightpearl rows as
//! staff would, and check a sent document against the InvoiceDetail DTD it
//! names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use pobridge_core::BuyerId;
use pobridge_core::ManualClock;
use pobridge_cxml::OrderRequest;
use pobridge_engine::invoicing::{BuyerInvoicing, TaxMapping};
use pobridge_sandbox::{
    AcceptedInvoice, CoupaBuyerConfig, CoupaSandbox, IssuedLine, IssuedPo, ReceivedDocument,
    SandboxConfig,
};
use pobridge_store::{Buyer, PoFilter, PoStatus, PurchaseOrder, ReferenceKind};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::{corpus, TestApp};

/// The invoicing shared secret that [`BuyerCoupas::start`] registers and
/// [`invoicing_settings`] gives pobridge.
pub const INVOICE_SECRET: &str = "invoicing-s3cret";
/// The supplier name every buyer's Coupa has for us.
pub const SUPPLIER_NAME: &str = "Acme Supplies";

/// Returns the ids of the account's sales orders in the sandbox, ascending.
pub fn sales_order_ids(app: &TestApp) -> Vec<u64> {
    let mut ids: Vec<u64> = app
        .sandbox
        .sales_orders(&app.brightpearl_code)
        .iter()
        .filter_map(|order| order["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

/// One buyer's Coupa instance, a sandbox Coupa on loopback.
pub struct BuyerCoupa {
    pub buyer: BuyerId,
    pub coupa: CoupaSandbox,
    /// The invoice endpoint, such as `http://127.0.0.1:41234/cxml/invoices`.
    pub invoice_url: String,
}

/// A Coupa instance for every buyer of a [`TestApp`], as each customer runs
/// its own. Two buyers may issue POs with the same number, which one shared
/// simulator would mix up.
pub struct BuyerCoupas {
    pub instances: Vec<BuyerCoupa>,
}

impl BuyerCoupas {
    /// Starts a sandbox Coupa on the app's clock for every buyer, each with
    /// a supplier record expecting the PO credentials swapped and
    /// [`INVOICE_SECRET`].
    pub async fn start(app: &TestApp, allow_header_charges: bool) -> Result<Self> {
        let mut instances = Vec::new();
        for buyer in app.store().list_buyers(app.account.id).await? {
            let coupa = CoupaSandbox::new(app.engine.clock.clone());
            let (base_url, _server) = coupa.spawn_local().await;
            coupa.add_buyer(coupa_buyer(&buyer, INVOICE_SECRET, allow_header_charges));
            instances.push(BuyerCoupa {
                buyer: buyer.id,
                coupa,
                invoice_url: format!("{base_url}/cxml/invoices"),
            });
        }
        Ok(Self { instances })
    }

    /// Returns the Coupa of `buyer`.
    pub fn of(&self, buyer: BuyerId) -> &CoupaSandbox {
        &self.instance(buyer).coupa
    }

    fn instance(&self, buyer: BuyerId) -> &BuyerCoupa {
        self.instances
            .iter()
            .find(|instance| instance.buyer == buyer)
            .unwrap_or_else(|| panic!("buyer {buyer} has a Coupa"))
    }

    /// Issues every synced PO of the app in its buyer's Coupa, line for
    /// line, and gives every buyer complete invoicing settings for its
    /// Coupa, changed by `edit`. Returns the synced POs by number.
    pub async fn issue_synced_pos(
        &self,
        app: &TestApp,
        edit: impl Fn(&mut BuyerInvoicing),
    ) -> Result<Vec<PurchaseOrder>> {
        for instance in &self.instances {
            let mut settings = invoicing_settings(app, &instance.invoice_url).await?;
            edit(&mut settings);
            set_invoicing(app, instance.buyer, &settings).await?;
        }
        let mut synced = synced_pos(app).await?;
        synced.sort_by(|a, b| a.number.as_str().cmp(b.number.as_str()));
        for po in &synced {
            let issued = issued_po(&synced_order(app, po).await?);
            self.of(po.buyer_id).issue_po(issued);
        }
        Ok(synced)
    }

    /// Returns the invoices every Coupa accepted.
    pub fn accepted_invoices(&self) -> Vec<AcceptedInvoice> {
        self.instances
            .iter()
            .flat_map(|instance| instance.coupa.accepted_invoices())
            .collect()
    }

    /// Returns the documents every Coupa received.
    pub fn received(&self) -> Vec<ReceivedDocument> {
        self.instances
            .iter()
            .flat_map(|instance| instance.coupa.received())
            .collect()
    }
}

/// Returns a buyer's supplier record in its Coupa. Invoices come from the
/// credential the buyer's POs were sent to and go to the one they came from.
pub fn coupa_buyer(buyer: &Buyer, secret: &str, allow_header_charges: bool) -> CoupaBuyerConfig {
    let pair = |credential: &pobridge_store::CredentialRef| {
        (credential.domain.clone(), credential.identity.clone())
    };
    CoupaBuyerConfig {
        invoice_from: pair(&buyer.to),
        invoice_to: pair(&buyer.from),
        sender: pair(&buyer.to),
        shared_secret: secret.to_owned(),
        allow_header_charges,
        supplier_name: SUPPLIER_NAME.to_owned(),
    }
}

/// Returns the PO as its Coupa issued it, line for line, with the line
/// type pobridge reads from the `LineType` extrinsic.
pub fn issued_po(po: &OrderRequest) -> IssuedPo {
    let lines = po
        .items
        .iter()
        .filter_map(|item| {
            let detail = item.detail.as_ref()?;
            Some(IssuedLine {
                line_number: item.line_label(),
                supplier_part_id: item.item_id.supplier_part_id.clone(),
                unit_of_measure: detail.unit_of_measure.clone(),
                quantity: item.quantity,
                unit_price: detail.unit_price.amount,
                service: pobridge_engine::invoicing::line_kind(item)
                    == pobridge_cxml::InvoiceLineKind::Service,
            })
        })
        .collect();
    let currency = po
        .items
        .iter()
        .find_map(|item| item.detail.as_ref())
        .map(|detail| detail.unit_price.currency.clone())
        .or_else(|| po.header.total.as_ref().map(|total| total.currency.clone()))
        .unwrap_or_default();
    IssuedPo {
        po_number: po.header.order_id.clone(),
        lines,
        currency,
    }
}

/// Lists the account's purchase orders that have a sales order.
pub async fn synced_pos(app: &TestApp) -> Result<Vec<PurchaseOrder>> {
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await?;
    Ok(orders
        .into_iter()
        .filter(|po| po.status == PoStatus::Synced)
        .collect())
}

/// Loads the PO revision that `po`'s sales order was made from.
pub async fn synced_order(app: &TestApp, po: &PurchaseOrder) -> Result<OrderRequest> {
    let revision = po.synced_revision.unwrap_or(po.latest_revision);
    let revision = app.store().revision(app.account.id, revision).await?;
    Ok(serde_json::from_value(revision.order)?)
}

/// Returns a buyer's complete invoicing settings for `invoice_url`: the
/// shared secret [`INVOICE_SECRET`] and every tax code of the account
/// mapped to VAT at its rate.
pub async fn invoicing_settings(app: &TestApp, invoice_url: &str) -> Result<BuyerInvoicing> {
    let tax_codes = app
        .store()
        .reference_data(app.account.id, ReferenceKind::TaxCodes)
        .await?
        .context("tax codes are loaded")?;
    let mut tax_map = BTreeMap::new();
    for code in tax_codes.data.as_array().context("tax codes are a list")? {
        let name = code["code"].as_str().context("a tax code has a code")?;
        let rate = match &code["rate"] {
            Value::String(text) => text.parse()?,
            Value::Number(number) => number.to_string().parse()?,
            _ => Decimal::ZERO,
        };
        let mapping = TaxMapping {
            category: "VAT".to_owned(),
            rate: rate.normalize(),
        };
        tax_map.insert(name.to_owned(), mapping);
    }
    Ok(BuyerInvoicing {
        invoice_url: Some(invoice_url.to_owned()),
        shared_secret: Some(INVOICE_SECRET.to_owned()),
        tax_map,
        ..BuyerInvoicing::default()
    })
}

/// Replaces a buyer's invoicing settings, which `pobridge buyers set`
/// changes one field at a time.
pub async fn set_invoicing(app: &TestApp, buyer: BuyerId, settings: &BuyerInvoicing) -> Result<()> {
    let mut stored = app.store().buyer(app.account.id, buyer).await?;
    stored.invoicing = serde_json::to_value(settings)?;
    app.store().update_buyer(app.account.id, &stored).await?;
    Ok(())
}

/// Moves the clock past the account's poll interval and runs the worker
/// until no job is due, so the poll and every send it queues run.
pub async fn run_poll_cycle(app: &TestApp, clock: &ManualClock) {
    let minutes = app.account.settings.invoice_poll_minutes.max(1);
    clock.advance(chrono::Duration::minutes(i64::from(minutes) + 1));
    app.drain(100).await;
}

/// Returns the account's invoice records of one PO, oldest first.
pub async fn invoices_of(
    app: &TestApp,
    po: &PurchaseOrder,
) -> Result<Vec<pobridge_store::InvoiceRecord>> {
    Ok(app.store().invoices_for_po(app.account.id, po.id).await?)
}

/// Fetches an order (a sales order, back order or credit) from the sandbox
/// with pobridge's own client, as the poll reads it.
pub async fn brightpearl_order(
    app: &TestApp,
    order_id: u64,
) -> Result<pobridge_brightpearl::Order> {
    let client = app
        .engine
        .clients
        .client(app.account.id)
        .await?
        .context("the account is connected")?;
    let id = i64::try_from(order_id)?;
    let mut orders = client.get_orders(&[id]).await?;
    orders
        .pop()
        .with_context(|| format!("order {order_id} not found"))
}

/// Sends an API request to the sandbox Brightpearl as staff tooling would,
/// with the account's private-app token, and returns the `response` value.
async fn sandbox_api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Result<Value> {
    let handle = app.sandbox.create_account(&app.brightpearl_code);
    let url = format!(
        "{}/public-api/{}/{path}",
        app.sandbox_url, app.brightpearl_code
    );
    let response = app
        .http
        .request(method, &url)
        .header("brightpearl-app-ref", SandboxConfig::default().app_ref)
        .header("brightpearl-account-token", handle.account_token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let reply: Value = response.json().await?;
    if !status.is_success() {
        bail!("{path}: HTTP {status}: {reply}");
    }
    Ok(reply["response"].clone())
}

/// Adds a row to a sandbox order with Order Row POST, as staff add a
/// charge or a product after the order was created. Returns the row id.
pub async fn add_order_row(app: &TestApp, order_id: u64, row: Value) -> Result<u64> {
    let path = format!("order-service/order/{order_id}/row");
    let reply = sandbox_api(app, reqwest::Method::POST, &path, row).await?;
    reply.as_u64().context("Order Row POST returns the row id")
}

/// Changes a row's quantity in a sandbox order, as staff would.
pub async fn set_row_quantity(
    app: &TestApp,
    order_id: u64,
    row_id: u64,
    quantity: Decimal,
) -> Result<()> {
    let path = format!("order-service/order/{order_id}/row/{row_id}");
    let patch = json!([{
        "op": "replace",
        "path": "/quantity/magnitude",
        "value": quantity.to_string(),
    }]);
    sandbox_api(app, reqwest::Method::PATCH, &path, patch).await?;
    Ok(())
}

/// Returns the corpus's InvoiceDetail DTD of the version a document's
/// DOCTYPE names.
pub fn invoice_dtd(document: &str) -> Result<PathBuf> {
    let start = document
        .find("<!DOCTYPE")
        .context("the document has no DOCTYPE")?;
    let doctype = &document[start..];
    let marker = "/cXML/";
    let after = &doctype[doctype
        .find(marker)
        .context("the DOCTYPE names no cXML DTD")?
        + marker.len()..];
    let version = &after[..after
        .find('/')
        .context("the DOCTYPE's DTD URL has no version")?];
    let dtd = corpus::corpus_dir()
        .join("cxml/dtd")
        .join(version)
        .join("InvoiceDetail.dtd");
    if !dtd.is_file() {
        bail!(
            "no InvoiceDetail.dtd {version} in the corpus at {}",
            dtd.display()
        );
    }
    Ok(dtd)
}

/// Validates a cXML invoice with `xmllint --nonet --noout --dtdvalid`
/// against the InvoiceDetail DTD its DOCTYPE names. Fails when xmllint is
/// missing, so a machine without it cannot pass.
pub fn check_valid_invoice(document: &str) -> Result<()> {
    let dtd = invoice_dtd(document)?;
    let mut file = tempfile::NamedTempFile::new()?;
    file.write_all(document.as_bytes())?;
    let output = Command::new("xmllint")
        .args(["--nonet", "--noout", "--dtdvalid"])
        .arg(&dtd)
        .arg(file.path())
        .output()
        .context("running xmllint, which these tests need (apt-get install -y libxml2-utils)")?;
    if !output.status.success() {
        bail!(
            "invalid against {}:\n{}\n{document}",
            dtd.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
