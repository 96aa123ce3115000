//! The invoice preview: the InvoiceDetailRequest that one purchase order's
//! Brightpearl order would produce now, built and checked exactly as a poll
//! would build it, and stored nowhere.

use pobridge_brightpearl::Order;
use pobridge_store::{
    Account, InvoiceKind, InvoiceStatus, PurchaseOrder, TrackedKind, TrackedOrder,
};
use rust_decimal::Decimal;

use super::buyer_invoicing::InvoicingView;
use super::orders::find_order;
use super::{account, find_buyer, AdminError};
use crate::Engine;

/// A preview of the invoice of one purchase order.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoicePreview {
    pub po_number: String,
    pub buyer: String,
    /// The Brightpearl sales order pobridge created for the PO.
    pub brightpearl_order_id: Option<i64>,
    /// Each invoicing setting Coupa needs that the buyer lacks.
    pub missing_for_coupa: Vec<String>,
    pub outcome: PreviewOutcome,
}

/// How far the preview got.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewOutcome {
    /// The PO has no sales order yet; `status` is the PO's status.
    NotSynced { status: &'static str },
    /// Brightpearl could not be asked for the order.
    FetchFailed(String),
    /// The sales order has no invoice number in Brightpearl yet.
    NotInvoiced,
    /// The invoice as a poll would build it now.
    Built(BuiltPreview),
}

/// An invoice built for the preview.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltPreview {
    pub invoice_number: String,
    pub kind: InvoiceKind,
    pub currency: String,
    pub brightpearl_total: Decimal,
    pub sent_total: Decimal,
    /// The cXML with the shared secret masked; empty when the invoice
    /// could not be built.
    pub document: String,
    /// Reasons the invoice would be held; empty when it would be sent.
    pub held_because: Vec<String>,
    pub warnings: Vec<String>,
    /// The status of the invoice with this number that pobridge stored
    /// already, if any.
    pub stored_status: Option<InvoiceStatus>,
}

/// Builds the invoice of `po_number`'s sales order, a PO of `buyer`, with
/// the current settings and a fresh fetch of the order from Brightpearl.
///
/// NOTE: the builder reads the order's row links, which are saved when a
/// poll first fetches the order. An order invoiced before any poll saw it
/// previews without them, so its lines may show as unlinked here although
/// the poll that finds it links them before building.
pub async fn preview_invoice(
    engine: &Engine,
    slug: &str,
    buyer: &str,
    po_number: &str,
) -> Result<InvoicePreview, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = find_buyer(engine, &account, buyer).await?;
    let (po, buyer) = find_order(engine, &account, po_number, Some(&buyer)).await?;

    let mut preview = InvoicePreview {
        po_number: po.number.to_string(),
        buyer: buyer.name.clone(),
        brightpearl_order_id: po.brightpearl_order_id,
        missing_for_coupa: InvoicingView::new(account.slug.as_str(), &buyer).missing_for_coupa,
        outcome: PreviewOutcome::NotInvoiced,
    };
    let Some(order_id) = po.brightpearl_order_id else {
        preview.outcome = PreviewOutcome::NotSynced {
            status: po.status.as_str(),
        };
        return Ok(preview);
    };
    let order = match fetch_order(engine, &account, order_id).await? {
        Ok(order) => order,
        Err(reason) => {
            preview.outcome = PreviewOutcome::FetchFailed(reason);
            return Ok(preview);
        }
    };
    if order.issued_invoice().is_none() {
        return Ok(preview);
    }
    preview.outcome = PreviewOutcome::Built(build(engine, &account, &po, &order).await?);
    Ok(preview)
}

async fn fetch_order(
    engine: &Engine,
    account: &Account,
    order_id: i64,
) -> Result<Result<Order, String>, AdminError> {
    let Some(client) = engine.clients.client(account.id).await? else {
        return Err(AdminError::NotConnected(account.slug.to_string()));
    };
    let orders = match client.get_orders(&[order_id]).await {
        Ok(orders) => orders,
        Err(error) => {
            return Ok(Err(format!(
                "Brightpearl order {order_id} could not be fetched: {error}"
            )))
        }
    };
    Ok(orders
        .into_iter()
        .find(|order| order.id == order_id)
        .ok_or_else(|| format!("Brightpearl order {order_id} no longer exists")))
}

async fn build(
    engine: &Engine,
    account: &Account,
    po: &PurchaseOrder,
    order: &Order,
) -> Result<BuiltPreview, AdminError> {
    let tracked = match engine.store.tracked_order(account.id, order.id).await? {
        Some(tracked) => tracked,
        None => TrackedOrder {
            brightpearl_order_id: order.id,
            po_id: po.id,
            kind: TrackedKind::Created,
            parent_order_id: None,
            invoice_reference: None,
            version: None,
            open: true,
            checked_at: engine.clock.now(),
        },
    };
    // The preflight leaves the stored invoice with this number out of the
    // quantities already invoiced, so an invoice already sent is not
    // counted against itself.
    let prepared = engine.prepare_invoice(account, &tracked, order).await?;
    let stored = engine
        .store
        .invoice_by_number(account.id, po.buyer_id, &prepared.number)
        .await?;

    let content = prepared.content;
    // prepare_invoice joins its reasons with "; ", and none of them
    // contains that separator itself.
    let held_because = content
        .reason
        .map(|reason| reason.split("; ").map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(BuiltPreview {
        invoice_number: prepared.number,
        kind: prepared.kind,
        currency: content.currency,
        brightpearl_total: content.brightpearl_total,
        sent_total: content.sent_total,
        document: content.document,
        held_because,
        warnings: prepared.warnings,
        stored_status: stored.map(|invoice| invoice.status),
    })
}
