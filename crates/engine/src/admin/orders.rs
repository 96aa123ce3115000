//! The purchase-order list and the detail of one order.

use chrono::{DateTime, FixedOffset, Utc};
use pobridge_core::RevisionId;
use pobridge_store::{
    Account, Buyer, OrderType, PoEvent, PoFilter, PoStatus, PurchaseOrder, Revision, RevisionStatus,
};
use serde::Serialize;

use super::{account, buyer_names, find_buyer, invalid, known_list, name_of, AdminError};
use crate::Engine;

/// One purchase order as the order list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub po_number: String,
    pub buyer: String,
    pub revisions: i64,
    pub status: PoStatus,
    /// Reason the order is held or failed, if it is.
    pub reason: Option<String>,
    pub brightpearl_order_id: Option<i64>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Lists an account's purchase orders, newest first as the store orders
/// them, optionally only those with `status` (such as `awaiting_mapping`).
pub async fn list_orders(
    engine: &Engine,
    slug: &str,
    status: Option<&str>,
) -> Result<Vec<OrderRow>, AdminError> {
    let status = status.map(parse_status).transpose()?;
    let account = account(engine, slug).await?;
    let buyer_names = buyer_names(engine, &account).await?;

    let filter = PoFilter {
        status,
        ..PoFilter::default()
    };
    let orders = engine
        .store
        .list_purchase_orders(account.id, &filter)
        .await?;
    let rows = orders
        .into_iter()
        .map(|po| OrderRow {
            po_number: po.number.0,
            buyer: name_of(&buyer_names, po.buyer_id),
            revisions: po.revision_count,
            status: po.status,
            reason: po.reason,
            brightpearl_order_id: po.brightpearl_order_id,
            updated_at: po.updated_at,
        })
        .collect();
    Ok(rows)
}

fn parse_status(value: &str) -> Result<PoStatus, AdminError> {
    PoStatus::parse(value.trim()).ok_or_else(|| {
        invalid(
            "--status",
            value,
            "one of received, synced, awaiting_mapping, awaiting_customer, held_for_review, \
             retrying, paused, failed, test_not_synced, validated, cancelled, shipped, invoiced",
        )
    })
}

/// One purchase order with every revision and its timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderDetail {
    pub po_number: String,
    pub buyer: String,
    pub status: PoStatus,
    /// Reason the order is held or failed, if it is.
    pub reason: Option<String>,
    pub brightpearl_order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In the order they were received.
    pub revisions: Vec<RevisionRow>,
    /// Status changes and warnings, oldest first.
    pub events: Vec<EventRow>,
}

/// One received revision of a purchase order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionRow {
    pub id: RevisionId,
    pub order_type: OrderType,
    /// The document's `orderVersion`, when it had one.
    pub order_version: Option<i64>,
    /// The document's `timestamp` attribute, when it could be read.
    pub document_timestamp: Option<DateTime<FixedOffset>>,
    pub status: RevisionStatus,
    /// From a test-mode buyer, or a `deploymentMode="test"` document.
    pub test: bool,
    pub received_at: DateTime<Utc>,
    /// When retention removed the body of the revision's document.
    pub document_removed_at: Option<DateTime<Utc>>,
}

impl RevisionRow {
    /// Describes `revision`, whose document's body retention removed at
    /// `document_removed_at`, if it did.
    pub fn new(revision: &Revision, document_removed_at: Option<DateTime<Utc>>) -> Self {
        Self {
            id: revision.id,
            order_type: revision.order_type,
            order_version: revision.order_version,
            document_timestamp: revision.document_timestamp,
            status: revision.status,
            test: revision.test,
            received_at: revision.received_at,
            document_removed_at,
        }
    }
}

/// One entry of an order's timeline: a status change or a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    /// The order's status after the event.
    pub status: PoStatus,
    pub message: String,
}

impl From<PoEvent> for EventRow {
    fn from(event: PoEvent) -> Self {
        Self {
            at: event.at,
            status: event.status,
            message: event.message,
        }
    }
}

/// Returns one purchase order of the account with its revisions and
/// timeline. `buyer` (a name or id) is needed when several buyers used the
/// same PO number.
pub async fn show_order(
    engine: &Engine,
    slug: &str,
    number: &str,
    buyer: Option<&str>,
) -> Result<OrderDetail, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = match buyer {
        Some(value) => Some(find_buyer(engine, &account, value).await?),
        None => None,
    };
    let (po, buyer) = find_order(engine, &account, number, buyer.as_ref()).await?;

    let revisions = engine.store.revisions(account.id, po.id).await?;
    let mut rows = Vec::with_capacity(revisions.len());
    for revision in &revisions {
        // NOTE: this reads each document's body only for its removal time.
        // A store call that returns the time alone would not.
        let document = engine
            .store
            .document(account.id, revision.document_id)
            .await?;
        rows.push(RevisionRow::new(revision, document.body_removed_at));
    }
    order_detail(engine, &account, po, buyer.name, rows).await
}

/// Builds the detail of `po` of `buyer` from its revision rows and its
/// timeline.
pub(super) async fn order_detail(
    engine: &Engine,
    account: &Account,
    po: PurchaseOrder,
    buyer: String,
    revisions: Vec<RevisionRow>,
) -> Result<OrderDetail, AdminError> {
    let events = engine.store.events(account.id, po.id).await?;
    Ok(OrderDetail {
        po_number: po.number.0,
        buyer,
        status: po.status,
        reason: po.reason,
        brightpearl_order_id: po.brightpearl_order_id,
        created_at: po.created_at,
        updated_at: po.updated_at,
        revisions,
        events: events.into_iter().map(EventRow::from).collect(),
    })
}

/// Finds the purchase order with exactly this number, of `buyer` when given.
/// Fails when no buyer, or more than one, has an order with that number.
pub(super) async fn find_order(
    engine: &Engine,
    account: &Account,
    number: &str,
    buyer: Option<&Buyer>,
) -> Result<(PurchaseOrder, Buyer), AdminError> {
    let number = number.trim();
    let filter = PoFilter {
        buyer: buyer.map(|buyer| buyer.id),
        search: Some(number.to_owned()),
        ..PoFilter::default()
    };
    // The store's search matches substrings, so only exact numbers are kept.
    let mut found: Vec<PurchaseOrder> = engine
        .store
        .list_purchase_orders(account.id, &filter)
        .await?
        .into_iter()
        .filter(|po| po.number.as_str() == number)
        .collect();

    if found.len() > 1 {
        let names = buyer_names(engine, account).await?;
        return Err(AdminError::OrderAmbiguous {
            po: number.to_owned(),
            buyers: known_list(found.iter().map(|po| name_of(&names, po.buyer_id))),
        });
    }
    let Some(po) = found.pop() else {
        return Err(not_found(account, number, buyer));
    };
    let owner = match buyer {
        Some(buyer) => buyer.clone(),
        None => engine.store.buyer(account.id, po.buyer_id).await?,
    };
    Ok((po, owner))
}

fn not_found(account: &Account, number: &str, buyer: Option<&Buyer>) -> AdminError {
    let account = account.slug.to_string();
    let po = number.to_owned();
    match buyer {
        Some(buyer) => AdminError::OrderNotFoundForBuyer {
            account,
            po,
            buyer: buyer.name.clone(),
        },
        None => AdminError::OrderNotFound { account, po },
    }
}
