//! Invoices, reference data and parked send jobs put straight into a test
//! database through the store, in the states that the invoice, buyer and
//! rows commands act on. No Brightpearl or Coupa is involved.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use pobridge_core::{JobId, PoNumber};
use pobridge_engine::invoice_jobs::send_job;
use pobridge_store::{
    InvoiceKind, InvoiceRecord, InvoiceStatus, InvoiceUpdate, InvoicedLine, JobOutcome, NewInvoice,
    Product, ReferenceKind,
};
use rust_decimal::Decimal;

use crate::common::seed::Seed;

const DOCUMENT: &str = include_str!("../fixtures/invoice-widgets.xml");

/// Brightpearl's total of every seeded invoice, in USD.
pub const TOTAL: &str = "50.00";

/// The fixture invoice with its number, PO number and the content of its
/// `SharedSecret`, which the store keeps masked.
pub fn document(number: &str, po: &str, secret: &str) -> String {
    DOCUMENT
        .replace("INVOICE-NUMBER", number)
        .replace("PO-NUMBER", po)
        .replace("SECRET-SLOT", secret)
}

/// Stores invoice `number` of buyer-1 for purchase order `po` (received
/// first if it is new) with `status`, a total of [`TOTAL`] and one line.
pub async fn invoice(seed: &Seed, po: &str, number: &str, status: InvoiceStatus) -> InvoiceRecord {
    invoice_with(seed, po, number, status, |_| {}).await
}

/// Stores an invoice of buyer-1 as [`invoice`] does, after `change`
/// adjusts it.
pub async fn invoice_with(
    seed: &Seed,
    po: &str,
    number: &str,
    status: InvoiceStatus,
    change: impl FnOnce(&mut NewInvoice),
) -> InvoiceRecord {
    buyer_invoice(seed, ("buyer-1", "BUYER-1"), po, number, status, change).await
}

/// Stores an invoice of the buyer named `buyer.0`, whose From identity is
/// `buyer.1`.
pub async fn buyer_invoice(
    seed: &Seed,
    (name, identity): (&str, &str),
    po: &str,
    number: &str,
    status: InvoiceStatus,
    change: impl FnOnce(&mut NewInvoice),
) -> InvoiceRecord {
    let buyer = seed.buyer(name).await;
    let store = &seed.engine.store;
    let known = store
        .purchase_order_by_number(seed.account.id, buyer.id, &PoNumber(po.to_owned()))
        .await
        .unwrap();
    if known.is_none() {
        seed.receive(identity, po, 1).await;
    }
    let order = seed.order(name, po).await;
    let total: Decimal = TOTAL.parse().unwrap();
    let mut new = NewInvoice {
        po: order.id,
        buyer: buyer.id,
        brightpearl_order_id: 7,
        invoice_number: number.to_owned(),
        kind: InvoiceKind::Invoice,
        invoice_date: "2026-03-02T10:00:00+00:00".parse().unwrap(),
        currency: "USD".to_owned(),
        brightpearl_total: total,
        sent_total: total,
        document: document(number, po, "********"),
        status,
        reason: None,
        lines: vec![InvoicedLine {
            po_line_number: 1,
            quantity: Decimal::from(4),
        }],
    };
    change(&mut new);
    let now = seed.engine.clock.now();
    store
        .create_invoice(seed.account.id, &new, None, now)
        .await
        .unwrap()
}

/// Records Coupa's response and a reason on an invoice, keeping its status.
pub async fn record_response(
    seed: &Seed,
    record: &InvoiceRecord,
    code: u16,
    text: &str,
    reason: &str,
) {
    let update = InvoiceUpdate {
        status: record.status,
        reason: Some(reason.to_owned()),
        coupa_status: Some(code),
        coupa_text: Some(text.to_owned()),
        counts_attempt: true,
        outcome_unknown: Some(record.outcome_unknown),
        document: None,
        sent_at: None,
    };
    let now = seed.engine.clock.now();
    let store = &seed.engine.store;
    store
        .update_invoice(seed.account.id, record.id, &update, now)
        .await
        .unwrap();
}

/// Reads an invoice back from the store.
pub async fn reload(seed: &Seed, record: &InvoiceRecord) -> InvoiceRecord {
    let store = &seed.engine.store;
    store.invoice(seed.account.id, record.id).await.unwrap()
}

/// Queues the invoice's send job and parks it as waiting, as a send job
/// does when the invoice's pre-flight check fails.
pub async fn park_send_job(seed: &Seed, record: &InvoiceRecord) -> JobId {
    let store = &seed.engine.store;
    let now = seed.engine.clock.now();
    let job = send_job(seed.account.id, record.id, now);
    let id = store.enqueue_job(&job).await.unwrap();
    let claimed = store
        .claim_jobs("seed", now, chrono::Duration::minutes(1), 100)
        .await
        .unwrap();
    let wait = JobOutcome::Wait {
        reason: "tax code T20 has no Coupa tax".to_owned(),
    };
    for job in claimed.iter().filter(|job| job.id == id) {
        store.finish_job(job.id, "seed", &wait, now).await.unwrap();
    }
    id
}

/// Stores Brightpearl reference data of `kind` as the refresh would.
pub async fn reference(seed: &Seed, kind: ReferenceKind, items: serde_json::Value) {
    let store = &seed.engine.store;
    let now = seed.engine.clock.now();
    store
        .save_reference_data(seed.account.id, kind, &items, now)
        .await
        .unwrap();
}

/// Adds a product to the local product index.
pub async fn product(seed: &Seed, product_id: i64, sku: &str) {
    let product = Product {
        product_id,
        name: format!("Product {sku}"),
        sku: Some(sku.to_owned()),
        barcode: None,
        ean: None,
        upc: None,
        mpn: None,
        isbn: None,
        stock_tracked: false,
        tax_code: None,
        updated_on: None,
    };
    let store = &seed.engine.store;
    store
        .upsert_products(seed.account.id, &[product])
        .await
        .unwrap();
}
