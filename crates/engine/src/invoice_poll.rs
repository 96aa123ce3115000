//! Finding Brightpearl orders that became invoiced.
//!
//! An incremental poll searches orders created or updated since the last
//! poll, with windows that overlap it, because Brightpearl leaves
//! `updatedOn` empty until an order's first edit. Among them it links new
//! orders to their PO (a back order or sales credit whose parent is
//! tracked, or an order whose customer reference is a tracked PO number)
//! and fetches the tracked ones by ID set. A sweep fetches every open
//! tracked order by ID set, whatever the search returns. Either way an order
//! counts as invoiced by its invoice reference, never by its status name.
//!
//! NOTE: this records what changed; building and sending the cXML invoice
//! for a newly invoiced order is not wired in yet.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use pobridge_brightpearl::{BrightpearlClient, Order, SearchRequest, SearchRow};
use pobridge_core::{AccountId, PoId};
use pobridge_store::{PoFilter, StoreError, TrackedKind, TrackedOrder};
use serde::Serialize;

use crate::sync::SyncError;
use crate::Engine;

/// Name of the poll cursor in the store.
const CURSOR: &str = "order_poll";
/// How far each window reaches back before the previous poll.
const OVERLAP_MINUTES: i64 = 15;
/// `orderTypeId` of a sales credit in order-search.
const SALES_CREDIT_TYPE: i64 = 3;

/// Findings of one poll or sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    /// Orders newly linked to a PO (back orders, credits, matching references).
    pub linked: Vec<i64>,
    /// Tracked orders fetched and checked.
    pub checked: usize,
    /// Orders whose invoice reference became a real invoice number.
    pub newly_invoiced: Vec<i64>,
    /// Orders invoiced earlier whose invoice reference has since changed or
    /// gone (un-invoiced or re-invoiced).
    pub changed_after_invoicing: Vec<i64>,
}

impl Engine {
    /// Runs one incremental poll of the account's orders.
    pub async fn poll_invoices(&self, account: AccountId) -> Result<PollSummary, SyncError> {
        let client = self.poll_client(account).await?;
        let now = self.clock.now();
        let since = self.cursor(account).await?;
        let tracked = self.tracked(account).await?;
        let mut summary = PollSummary::default();

        let candidates = match since {
            // Without a cursor there is no window to search: check every open order.
            None => tracked
                .values()
                .filter(|order| order.open)
                .map(|order| order.brightpearl_order_id)
                .collect(),
            Some(since) => {
                let rows =
                    search_changed(&client, since - Duration::minutes(OVERLAP_MINUTES)).await?;
                self.link_new_orders(account, &tracked, &rows, now, &mut summary)
                    .await?
            }
        };
        let tracked = self.tracked(account).await?;
        self.check_orders(&client, account, &tracked, candidates, now, &mut summary)
            .await?;
        let cursor = serde_json::json!({ "since": now });
        self.store
            .save_poll_cursor(account, CURSOR, &cursor, now)
            .await?;
        Ok(summary)
    }

    /// Fetches every open tracked order by ID set and records changes.
    pub async fn sweep_open_orders(&self, account: AccountId) -> Result<PollSummary, SyncError> {
        let client = self.poll_client(account).await?;
        let now = self.clock.now();
        let tracked = self.tracked(account).await?;
        let open = tracked
            .values()
            .filter(|order| order.open)
            .map(|order| order.brightpearl_order_id)
            .collect();
        let mut summary = PollSummary::default();
        self.check_orders(&client, account, &tracked, open, now, &mut summary)
            .await?;
        Ok(summary)
    }

    async fn poll_client(&self, account: AccountId) -> Result<BrightpearlClient, SyncError> {
        self.clients.client(account).await?.ok_or_else(|| {
            SyncError::Store(StoreError::NotFound {
                entity: "Brightpearl connection",
                key: account.to_string(),
            })
        })
    }

    async fn cursor(&self, account: AccountId) -> Result<Option<DateTime<Utc>>, SyncError> {
        let cursor = self.store.poll_cursor(account, CURSOR).await?;
        Ok(cursor.and_then(|value| serde_json::from_value(value["since"].clone()).ok()))
    }

    async fn tracked(&self, account: AccountId) -> Result<HashMap<i64, TrackedOrder>, SyncError> {
        let orders = self.store.tracked_orders(account, false).await?;
        Ok(orders
            .into_iter()
            .map(|order| (order.brightpearl_order_id, order))
            .collect())
    }

    /// Links search rows to POs and returns the ids to fetch: tracked
    /// orders that changed, and the orders just linked.
    async fn link_new_orders(
        &self,
        account: AccountId,
        tracked: &HashMap<i64, TrackedOrder>,
        rows: &[SearchRow],
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<BTreeSet<i64>, SyncError> {
        let numbers = self.tracked_po_numbers(account, tracked).await?;
        let mut candidates = BTreeSet::new();
        for row in rows {
            let Some(id) = row.integer("orderId") else {
                continue;
            };
            if tracked.contains_key(&id) {
                candidates.insert(id);
                continue;
            }
            let Some((po, kind, parent)) = link_for(row, tracked, &numbers) else {
                continue;
            };
            let order = TrackedOrder {
                brightpearl_order_id: id,
                po_id: po,
                kind,
                parent_order_id: parent,
                invoice_reference: None,
                version: None,
                open: true,
                checked_at: now,
            };
            self.store.upsert_tracked_order(account, &order).await?;
            summary.linked.push(id);
            candidates.insert(id);
        }
        Ok(candidates)
    }

    /// PO numbers of the POs that have tracked orders, for matching
    /// customer references exactly.
    async fn tracked_po_numbers(
        &self,
        account: AccountId,
        tracked: &HashMap<i64, TrackedOrder>,
    ) -> Result<HashMap<String, PoId>, SyncError> {
        let wanted: BTreeSet<PoId> = tracked.values().map(|order| order.po_id).collect();
        let orders = self
            .store
            .list_purchase_orders(account, &PoFilter::default())
            .await?;
        Ok(orders
            .into_iter()
            .filter(|po| wanted.contains(&po.id))
            .map(|po| (po.number.0, po.id))
            .collect())
    }

    async fn check_orders(
        &self,
        client: &BrightpearlClient,
        account: AccountId,
        tracked: &HashMap<i64, TrackedOrder>,
        ids: BTreeSet<i64>,
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<(), SyncError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        let orders = client
            .get_orders(&ids)
            .await
            .map_err(SyncError::Brightpearl)?;
        for order in orders {
            let Some(known) = tracked.get(&order.id) else {
                continue;
            };
            summary.checked += 1;
            self.record_invoice_state(account, known, &order, now, summary)
                .await?;
        }
        Ok(())
    }

    async fn record_invoice_state(
        &self,
        account: AccountId,
        known: &TrackedOrder,
        order: &Order,
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<(), SyncError> {
        let issued = order
            .issued_invoice()
            .map(|invoice| invoice.invoice_reference.trim().to_owned());
        if issued != known.invoice_reference {
            if known.invoice_reference.is_some() {
                summary.changed_after_invoicing.push(order.id);
            }
            if issued.is_some() {
                summary.newly_invoiced.push(order.id);
            }
        }
        let updated = TrackedOrder {
            invoice_reference: issued,
            version: order.version,
            checked_at: now,
            ..known.clone()
        };
        self.store.upsert_tracked_order(account, &updated).await?;
        Ok(())
    }
}

/// Searches orders created, and orders updated, since `from`.
async fn search_changed(
    client: &BrightpearlClient,
    from: DateTime<Utc>,
) -> Result<Vec<SearchRow>, SyncError> {
    let mut rows = Vec::new();
    for column in ["createdOn", "updatedOn"] {
        let request = SearchRequest::new("order-service/order-search", "orderId").period(
            column,
            Some(from),
            None,
        );
        rows.extend(
            client
                .search(&request)
                .await
                .map_err(SyncError::Brightpearl)?
                .rows,
        );
    }
    Ok(rows)
}

/// Finds the PO a new order belongs to: through its parent, else through
/// its customer reference equal to a tracked PO number.
fn link_for(
    row: &SearchRow,
    tracked: &HashMap<i64, TrackedOrder>,
    numbers: &HashMap<String, PoId>,
) -> Option<(PoId, TrackedKind, Option<i64>)> {
    let credit = row.integer("orderTypeId") == Some(SALES_CREDIT_TYPE);
    if let Some(parent) = row
        .integer("parentOrderId")
        .filter(|parent| tracked.contains_key(parent))
    {
        let kind = if credit {
            TrackedKind::Credit
        } else {
            TrackedKind::BackOrder
        };
        return Some((tracked[&parent].po_id, kind, Some(parent)));
    }
    let reference = row.text("customerRef")?;
    let po = numbers.get(&reference)?;
    Some((*po, TrackedKind::CustomerReference, None))
}
