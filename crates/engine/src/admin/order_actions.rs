//! Actions on purchase orders: queueing a fresh sync, and marking a change
//! held for review as handled.

use pobridge_store::{
    Account, Buyer, PoFilter, PoStatus, PoStatusUpdate, PurchaseOrder, RevisionStatus,
};
use serde::Serialize;

use super::orders::{find_order, RevisionRow};
use super::{account, buyer_names, find_buyer, name_of, AdminError};
use crate::sync::sync_job;
use crate::Engine;

/// The orders [`resync_orders`] re-queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResyncTarget {
    /// These PO numbers.
    Numbers(Vec<String>),
    /// Every order whose status is `failed`.
    Failed,
}

/// The result of [`resync_orders`] for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResyncRow {
    pub po_number: String,
    /// Empty when the PO number was not found.
    pub buyer: String,
    /// The status before the re-sync; `None` when the order was not found.
    pub status: Option<PoStatus>,
    pub outcome: ResyncOutcome,
}

/// Outcome of a re-sync request for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResyncOutcome {
    /// Set back to `received`, with a sync job due now.
    Queued,
    /// A dry run: the order would have been queued.
    WouldQueue,
    /// Left unchanged, for this reason.
    Rejected { reason: String },
}

/// Queues a fresh sync of each target order with the account's current
/// settings: its status goes back to `received` with a "re-sync requested"
/// event, and its sync job is due now. Orders that a sync must not touch are
/// rejected with the reason ([`resync_rejection`]). With `dry_run`, nothing
/// is changed and the rows show which orders would be queued.
pub async fn resync_orders(
    engine: &Engine,
    slug: &str,
    target: &ResyncTarget,
    buyer: Option<&str>,
    dry_run: bool,
) -> Result<Vec<ResyncRow>, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = match buyer {
        Some(value) => Some(find_buyer(engine, &account, value).await?),
        None => None,
    };

    let mut rows = Vec::new();
    for found in target_orders(engine, &account, target, buyer.as_ref()).await? {
        rows.push(resync_one(engine, &account, found, dry_run).await?);
    }
    if rows.iter().any(|row| row.outcome == ResyncOutcome::Queued) {
        engine.wake.notify_one();
    }
    Ok(rows)
}

async fn resync_one(
    engine: &Engine,
    account: &Account,
    found: Found,
    dry_run: bool,
) -> Result<ResyncRow, AdminError> {
    let (po, owner) = match found {
        Ok(found) => found,
        Err((number, reason)) => {
            return Ok(ResyncRow {
                po_number: number,
                buyer: String::new(),
                status: None,
                outcome: ResyncOutcome::Rejected { reason },
            })
        }
    };

    let outcome = match resync_rejection(&po, account.slug.as_str()) {
        Some(reason) => ResyncOutcome::Rejected { reason },
        None if dry_run => ResyncOutcome::WouldQueue,
        None => {
            requeue(engine, account, &po).await?;
            ResyncOutcome::Queued
        }
    };
    Ok(ResyncRow {
        po_number: po.number.0,
        buyer: owner,
        status: Some(po.status),
        outcome,
    })
}

/// An order found with its buyer's name, or the PO number that could not be
/// found with the reason.
type Found = Result<(PurchaseOrder, String), (String, String)>;

async fn target_orders(
    engine: &Engine,
    account: &Account,
    target: &ResyncTarget,
    buyer: Option<&Buyer>,
) -> Result<Vec<Found>, AdminError> {
    match target {
        ResyncTarget::Numbers(numbers) => {
            let mut found = Vec::with_capacity(numbers.len());
            for number in numbers {
                match find_order(engine, account, number, buyer).await {
                    Ok((po, owner)) => found.push(Ok((po, owner.name))),
                    Err(AdminError::Store(error)) => return Err(error.into()),
                    Err(error) => found.push(Err((number.clone(), error.to_string()))),
                }
            }
            Ok(found)
        }
        ResyncTarget::Failed => {
            let filter = PoFilter {
                status: Some(PoStatus::Failed),
                buyer: buyer.map(|buyer| buyer.id),
                ..PoFilter::default()
            };
            let names = buyer_names(engine, account).await?;
            let orders = engine
                .store
                .list_purchase_orders(account.id, &filter)
                .await?;
            Ok(orders
                .into_iter()
                .map(|po| {
                    let owner = name_of(&names, po.buyer_id);
                    Ok((po, owner))
                })
                .collect())
        }
    }
}

/// Returns why a sync must not run again for this order, or `None` when it
/// may. A synced, cancelled, invoiced or shipped order is complete, an order
/// held for review waits for a person, and a test document from a
/// production buyer is never synced.
pub fn resync_rejection(po: &PurchaseOrder, slug: &str) -> Option<String> {
    let number = &po.number;
    let reason = match po.status {
        PoStatus::Synced => format!(
            "already synced as Brightpearl sales order {}",
            po.brightpearl_order_id.unwrap_or_default()
        ),
        PoStatus::HeldForReview => format!(
            "held for review: apply the change in Brightpearl by hand, then run `pobridge orders {slug} handled {number}`"
        ),
        PoStatus::Cancelled => "cancelled by the buyer before a sales order was created".to_owned(),
        PoStatus::Invoiced | PoStatus::Shipped => format!(
            "the Brightpearl sales order is {}; change it in Brightpearl by hand",
            po.status.as_str()
        ),
        PoStatus::TestNotSynced => {
            "a test document from a production buyer, which is never synced".to_owned()
        }
        PoStatus::Received
        | PoStatus::AwaitingMapping
        | PoStatus::AwaitingCustomer
        | PoStatus::AwaitingSettings
        | PoStatus::Retrying
        | PoStatus::Paused
        | PoStatus::Failed
        | PoStatus::Validated => return None,
    };
    Some(reason)
}

/// Sets the order back to `received` before its job is queued, so that a
/// worker that claims the job at once records its own status after ours.
/// An order already `received` keeps its timeline as it is, so a second
/// click before the worker runs adds no second "re-sync requested" line.
async fn requeue(engine: &Engine, account: &Account, po: &PurchaseOrder) -> Result<(), AdminError> {
    let now = engine.clock.now();
    if po.status != PoStatus::Received {
        let update = PoStatusUpdate {
            status: PoStatus::Received,
            reason: None,
            brightpearl_order_id: None,
            synced_revision: None,
            event: "re-sync requested".to_owned(),
        };
        engine
            .store
            .set_po_status(account.id, po.id, &update, now)
            .await?;
    }
    let job = sync_job(account.id, po.buyer_id, &po.number, now);
    let job_id = engine.store.enqueue_job(&job).await?;
    tracing::info!(tenant.id = %account.id, po.id = %po.id, job.id = %job_id, previous_status = po.status.as_str(), "purchase order re-sync queued");
    Ok(())
}

/// A held order after [`mark_handled`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandledOrder {
    pub po_number: String,
    pub buyer: String,
    pub brightpearl_order_id: Option<i64>,
    /// The revisions that were held for review and are now handled.
    pub handled: Vec<RevisionRow>,
}

/// Records that a person applied the change held for review, or decided
/// against it. Every `held_for_review` revision becomes `handled`, and the
/// order becomes `synced` again because its Brightpearl sales order exists.
/// Fails unless the order is `held_for_review`.
pub async fn mark_handled(
    engine: &Engine,
    slug: &str,
    number: &str,
    buyer: Option<&str>,
) -> Result<HandledOrder, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = match buyer {
        Some(value) => Some(find_buyer(engine, &account, value).await?),
        None => None,
    };
    let (po, owner) = find_order(engine, &account, number, buyer.as_ref()).await?;
    if po.status != PoStatus::HeldForReview {
        return Err(AdminError::NotHeldForReview {
            po: po.number.0,
            status: po.status.as_str(),
        });
    }

    let held: Vec<RevisionRow> = engine
        .store
        .revisions(account.id, po.id)
        .await?
        .iter()
        .filter(|revision| revision.status == RevisionStatus::HeldForReview)
        // Retention keeps every body of an order held for review.
        .map(|revision| RevisionRow::new(revision, None))
        .collect();
    for revision in &held {
        engine
            .store
            .set_revision_status(account.id, revision.id, RevisionStatus::Handled)
            .await?;
    }
    // The latest revision, once handled, is what the Brightpearl order now
    // reflects, so a later resend of it is recognised as unchanged and the
    // next change is compared with it rather than with the first sync.
    let latest_handled = held
        .iter()
        .any(|revision| revision.id == po.latest_revision)
        .then_some(po.latest_revision);
    let update = PoStatusUpdate {
        status: PoStatus::Synced,
        reason: None,
        brightpearl_order_id: None,
        synced_revision: latest_handled,
        event: handled_event(&held),
    };
    engine
        .store
        .set_po_status(account.id, po.id, &update, engine.clock.now())
        .await?;
    tracing::info!(tenant.id = %account.id, po.id = %po.id, revisions = held.len(), "held purchase order marked handled");

    Ok(HandledOrder {
        po_number: po.number.0,
        buyer: owner.name,
        brightpearl_order_id: po.brightpearl_order_id,
        handled: held,
    })
}

/// Names the handled revisions in the order's timeline.
fn handled_event(held: &[RevisionRow]) -> String {
    if held.is_empty() {
        return "marked handled; no revision was held for review".to_owned();
    }
    let revisions: Vec<String> = held.iter().map(describe_revision).collect();
    format!("marked handled: {}", revisions.join(", "))
}

fn describe_revision(revision: &RevisionRow) -> String {
    let kind = match revision.order_type {
        pobridge_store::OrderType::New => "changed new order",
        pobridge_store::OrderType::Update => "update",
        pobridge_store::OrderType::Delete => "cancellation",
    };
    let mut text = format!("{kind} (revision {}", revision.id);
    if let Some(version) = revision.order_version {
        text.push_str(&format!(", version {version}"));
    }
    if let Some(timestamp) = revision.document_timestamp {
        text.push_str(&format!(", sent {}", timestamp.to_rfc3339()));
    }
    text.push(')');
    text
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use pobridge_core::{AccountId, BuyerId, PoId, PoNumber, RevisionId};
    use pobridge_store::OrderType;

    use super::*;

    fn order(status: PoStatus) -> PurchaseOrder {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        PurchaseOrder {
            id: PoId(1),
            account_id: AccountId(1),
            buyer_id: BuyerId(1),
            number: PoNumber("PO-7".to_owned()),
            status,
            reason: None,
            brightpearl_order_id: Some(42),
            latest_revision: RevisionId(3),
            synced_revision: Some(RevisionId(2)),
            create_attempted_ref: None,
            revision_count: 2,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn unfinished_orders_may_resync() {
        for status in [
            PoStatus::Failed,
            PoStatus::Received,
            PoStatus::AwaitingMapping,
            PoStatus::AwaitingCustomer,
            PoStatus::AwaitingSettings,
            PoStatus::Retrying,
            PoStatus::Paused,
            PoStatus::Validated,
        ] {
            assert_eq!(resync_rejection(&order(status), "acme"), None, "{status:?}");
        }
    }

    #[test]
    fn complete_and_held_orders_reject_resync() {
        for status in [
            PoStatus::Synced,
            PoStatus::HeldForReview,
            PoStatus::Cancelled,
            PoStatus::Invoiced,
            PoStatus::Shipped,
            PoStatus::TestNotSynced,
        ] {
            assert!(
                resync_rejection(&order(status), "acme").is_some(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn held_rejection_names_handled_command() {
        let reason = resync_rejection(&order(PoStatus::HeldForReview), "acme").unwrap();

        assert!(
            reason.contains("pobridge orders acme handled PO-7"),
            "{reason}"
        );
    }

    #[test]
    fn handled_event_names_each_revision() {
        let timestamp = chrono::FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, 3, 9, 0, 0)
            .unwrap();
        let revision = RevisionRow {
            id: RevisionId(3),
            order_type: OrderType::Update,
            order_version: Some(2),
            document_timestamp: Some(timestamp),
            status: RevisionStatus::HeldForReview,
            test: false,
            received_at: Utc.with_ymd_and_hms(2026, 3, 3, 8, 0, 1).unwrap(),
            document_removed_at: None,
        };

        let event = handled_event(&[revision]);

        assert_eq!(
            event,
            "marked handled: update (revision 3, version 2, sent 2026-03-03T09:00:00+01:00)"
        );
    }
}
