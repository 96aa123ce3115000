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
//! Each fetched order's rows are linked to PO lines on its first fetch. A
//! newly invoiced order's invoice is stored with its send job before the
//! new reference is saved on the tracked order. So a poll that stops in
//! between finds the order again, and stores nothing twice
//! ([`crate::invoice_out`]).
//!
//! A poll or sweep sends each failed read again a few times
//! ([`READ_RETRIES`]) before it fails, and records the orders of each ID
//! set as soon as that set is fetched, so what it found before a failure is
//! kept. The poll's window moves on only when every request succeeded: a
//! failed poll leaves the saved start in place, and the next poll searches
//! from there again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use pobridge_brightpearl::{BrightpearlClient, Order, ReadRetries, SearchRequest, SearchRow};
use pobridge_core::{AccountId, PoId};
use pobridge_store::{Account, InvoiceId, PoFilter, StoreError, TrackedKind, TrackedOrder};
use serde::Serialize;

use crate::sync::SyncError;
use crate::Engine;

/// Name of the poll cursor in the store.
const CURSOR: &str = "order_poll";
/// How far each window reaches back before the previous poll.
const OVERLAP_MINUTES: i64 = 15;
/// `orderTypeId` of a sales credit in order-search.
const SALES_CREDIT_TYPE: i64 = 3;
/// The resends of a read that failed transiently in a poll or sweep: four
/// more times, after 0.25, 0.5, 1 and 2 seconds. A poll makes a request per page
/// of search results and per ID set, so without resends one 500 among a
/// hundred requests would fail it as a whole.
pub const READ_RETRIES: ReadRetries = ReadRetries {
    retries: 4,
    first_delay: std::time::Duration::from_millis(250),
};

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
    /// Invoices stored for newly invoiced orders, pending or held.
    pub invoices_stored: Vec<InvoiceId>,
}

impl Engine {
    /// Runs one incremental poll of the account's orders.
    pub async fn poll_invoices(&self, account: AccountId) -> Result<PollSummary, SyncError> {
        let client = self.poll_client(account).await?;
        let account = self.store.account(account).await?;
        let now = self.clock.now();
        let since = self.cursor(account.id).await?;
        let tracked = self.tracked(account.id).await?;
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
                self.link_new_orders(account.id, &tracked, &rows, now, &mut summary)
                    .await?
            }
        };
        let tracked = self.tracked(account.id).await?;
        self.check_orders(&client, &account, &tracked, candidates, now, &mut summary)
            .await?;
        let cursor = serde_json::json!({ "since": now });
        self.store
            .save_poll_cursor(account.id, CURSOR, &cursor, now)
            .await?;
        Ok(summary)
    }

    /// Fetches every open tracked order by ID set and records changes.
    pub async fn sweep_open_orders(&self, account: AccountId) -> Result<PollSummary, SyncError> {
        let client = self.poll_client(account).await?;
        let account = self.store.account(account).await?;
        let now = self.clock.now();
        let tracked = self.tracked(account.id).await?;
        let open = tracked
            .values()
            .filter(|order| order.open)
            .map(|order| order.brightpearl_order_id)
            .collect();
        let mut summary = PollSummary::default();
        self.check_orders(&client, &account, &tracked, open, now, &mut summary)
            .await?;
        Ok(summary)
    }

    async fn poll_client(&self, account: AccountId) -> Result<BrightpearlClient, SyncError> {
        let client = self.clients.client(account).await?.ok_or_else(|| {
            SyncError::Store(StoreError::NotFound {
                entity: "Brightpearl connection",
                key: account.to_string(),
            })
        })?;
        Ok(client.with_read_retries(READ_RETRIES))
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

    /// Fetches `ids`, links the rows of orders seen for the first time and
    /// records each tracked order's invoice state, parents before their
    /// back orders and credits. Each ID set is recorded once it is fetched,
    /// so a failure keeps what the sets before it found.
    async fn check_orders(
        &self,
        client: &BrightpearlClient,
        account: &Account,
        tracked: &HashMap<i64, TrackedOrder>,
        ids: BTreeSet<i64>,
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<(), SyncError> {
        for set in id_sets_parents_first(client, tracked, ids) {
            let orders = client
                .get_orders(&set)
                .await
                .map_err(SyncError::Brightpearl)?;
            let mut fetched: Vec<(TrackedOrder, Order)> = orders
                .into_iter()
                .filter_map(|order| Some((tracked.get(&order.id)?.clone(), order)))
                .collect();
            fetched.sort_by_key(|(known, _)| (depth(known, tracked), known.brightpearl_order_id));

            self.link_rows(account.id, &fetched).await?;
            for (known, order) in &fetched {
                summary.checked += 1;
                self.record_invoice_state(account, known, order, now, summary)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records a change of the order's invoice reference (a new invoice, or
    /// what happens to the earlier one) and then saves the tracked order.
    async fn record_invoice_state(
        &self,
        account: &Account,
        known: &TrackedOrder,
        order: &Order,
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<(), SyncError> {
        let issued = order
            .issued_invoice()
            .map(|invoice| invoice.invoice_reference.trim().to_owned());
        let changed = issued != known.invoice_reference;
        if changed {
            if let Some(previous) = &known.invoice_reference {
                summary.changed_after_invoicing.push(order.id);
                self.record_invoice_change(account, known, previous, issued.as_deref())
                    .await?;
            }
            if let Some(number) = &issued {
                summary.newly_invoiced.push(order.id);
                let stored = self
                    .record_new_invoice(account, known, order, number)
                    .await?;
                summary.invoices_stored.extend(stored);
            }
        }

        // An order stays open, and swept, until Coupa has its invoice.
        let open = match &issued {
            None => true,
            Some(_) if !changed && !known.open => false,
            Some(number) => !self.invoice_settled(account, known, number).await?,
        };
        let updated = TrackedOrder {
            invoice_reference: issued,
            version: order.version,
            open,
            checked_at: now,
            ..known.clone()
        };
        self.store
            .upsert_tracked_order(account.id, &updated)
            .await?;
        Ok(())
    }
}

/// Counts the tracked parents above an order, so sorting by it puts
/// parents first. Stops at a parent that is not tracked or after as many
/// steps as there are orders, in case of a cycle.
fn depth(order: &TrackedOrder, tracked: &HashMap<i64, TrackedOrder>) -> usize {
    let mut depth = 0;
    let mut parent = order.parent_order_id;
    while let Some(id) = parent {
        let Some(next) = tracked.get(&id) else {
            break;
        };
        depth += 1;
        if depth > tracked.len() {
            break;
        }
        parent = next.parent_order_id;
    }
    depth
}

/// Splits `ids` into the ID sets of one request each, every set of
/// parents before the sets of their back orders and credits, so a child's
/// rows find the links that its parent's fetch saved.
fn id_sets_parents_first(
    client: &BrightpearlClient,
    tracked: &HashMap<i64, TrackedOrder>,
    ids: BTreeSet<i64>,
) -> Vec<Vec<i64>> {
    let mut by_depth: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for id in ids {
        let level = tracked.get(&id).map_or(0, |known| depth(known, tracked));
        by_depth.entry(level).or_default().push(id);
    }
    by_depth
        .values()
        .flat_map(|level| client.id_set_groups(level))
        .collect()
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn tracked(id: i64, parent: Option<i64>) -> TrackedOrder {
        TrackedOrder {
            brightpearl_order_id: id,
            po_id: PoId(1),
            kind: match parent {
                Some(_) => TrackedKind::BackOrder,
                None => TrackedKind::Created,
            },
            parent_order_id: parent,
            invoice_reference: None,
            version: None,
            open: true,
            checked_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        }
    }

    fn map(orders: &[TrackedOrder]) -> HashMap<i64, TrackedOrder> {
        orders
            .iter()
            .map(|order| (order.brightpearl_order_id, order.clone()))
            .collect()
    }

    #[test]
    fn depth_counts_tracked_parents() {
        let orders = [
            tracked(10, None),
            tracked(20, Some(10)),
            tracked(30, Some(20)),
            tracked(40, Some(99)),
        ];
        let all = map(&orders);
        let depths: Vec<usize> = orders.iter().map(|order| depth(order, &all)).collect();
        assert_eq!(depths, [0, 1, 2, 0]);
    }

    #[test]
    fn depth_stops_on_a_cycle() {
        let orders = [tracked(10, Some(20)), tracked(20, Some(10))];
        let all = map(&orders);
        assert!(depth(&orders[0], &all) <= orders.len() + 1);
    }
}
