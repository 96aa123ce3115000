//! Re-syncing orders chosen in the portal: one order from its page, or
//! every failed order that matches the order log's filter, with a dry run
//! that shows what each re-sync would do before anything is queued.

use pobridge_core::PoId;
use pobridge_store::{PoStatus, PurchaseOrder, StoreError};
use serde::Serialize;

use super::order_log::{matching_orders, OrderLogQuery};
use super::{account, resync_orders, AdminError, ResyncOutcome, ResyncRow, ResyncTarget};
use crate::Engine;

/// Orders one bulk re-sync handles at most; a larger selection is cut to
/// the newest ones, and running it again handles the rest.
pub const BULK_LIMIT: usize = 500;

/// The result of a re-sync, or of its dry run, for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedResync {
    pub id: PoId,
    #[serde(flatten)]
    pub row: ResyncRow,
    /// The effect of the sync, for an order that is queued or would be.
    pub effect: Option<String>,
}

/// Lists the ids of the account's failed orders that match `query`, newest
/// first, at most [`BULK_LIMIT`]. The query's own status is ignored.
pub async fn failed_order_ids(
    engine: &Engine,
    slug: &str,
    query: &OrderLogQuery,
) -> Result<Vec<PoId>, AdminError> {
    let account = account(engine, slug).await?;
    let failed = OrderLogQuery {
        status: Some(PoStatus::Failed),
        ..query.clone()
    };
    let orders = matching_orders(engine, &account, &failed, Some(BULK_LIMIT)).await?;
    Ok(orders.into_iter().map(|po| po.id).collect())
}

/// Re-syncs each order of the account named by id, with the account's
/// current settings, as [`resync_orders`] does. With `dry_run`, nothing
/// changes and each row shows what a re-sync would do. An id that is not an
/// order of this account gets a rejected row.
pub async fn resync_by_id(
    engine: &Engine,
    slug: &str,
    ids: &[PoId],
    dry_run: bool,
) -> Result<Vec<PlannedResync>, AdminError> {
    let account = account(engine, slug).await?;
    let mut planned = Vec::with_capacity(ids.len());
    for id in ids.iter().take(BULK_LIMIT) {
        let po = match engine.store.purchase_order(account.id, *id).await {
            Ok(po) => po,
            Err(StoreError::NotFound { .. }) => {
                planned.push(not_found(*id));
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let buyer = engine.store.buyer(account.id, po.buyer_id).await?;
        let target = ResyncTarget::Numbers(vec![po.number.0.clone()]);
        let rows = resync_orders(engine, slug, &target, Some(&buyer.name), dry_run).await?;
        for row in rows {
            let effect = matches!(
                row.outcome,
                ResyncOutcome::Queued | ResyncOutcome::WouldQueue
            )
            .then(|| resync_effect(&po));
            planned.push(PlannedResync {
                id: po.id,
                row,
                effect,
            });
        }
    }
    Ok(planned)
}

fn not_found(id: PoId) -> PlannedResync {
    PlannedResync {
        id,
        row: ResyncRow {
            po_number: String::new(),
            buyer: String::new(),
            status: None,
            outcome: ResyncOutcome::Rejected {
                reason: format!("order {id} not found in this account"),
            },
        },
        effect: None,
    }
}

/// Says what the sync job does for `po` once it is queued again, from what
/// the order records about earlier attempts.
pub fn resync_effect(po: &PurchaseOrder) -> String {
    if let Some(order_id) = po.brightpearl_order_id {
        return format!(
            "finishes Brightpearl sales order {order_id}, which an earlier attempt created; \
             no new sales order is created"
        );
    }
    if let Some(reference) = &po.create_attempted_ref {
        return format!(
            "searches Brightpearl for the sales order that an earlier attempt may have \
             created (externalRef {reference}), and creates one only if none is found"
        );
    }
    "creates a Brightpearl sales order with the current settings".to_owned()
}

#[cfg(test)]
mod tests {
    use pobridge_core::AccountId;

    use super::*;
    use crate::admin::log_fixtures::{account_with_buyer, engine_at, receive, set_status};

    async fn failed_and_synced() -> (Engine, AccountId, PoId, PoId) {
        let (engine, _clock) = engine_at("2024-05-10T06:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        let failed = receive(
            &engine,
            account,
            buyer,
            "PO-1",
            "2024-05-10T05:00:00Z",
            "<x/>",
        )
        .await;
        let synced = receive(
            &engine,
            account,
            buyer,
            "PO-2",
            "2024-05-10T05:30:00Z",
            "<x/>",
        )
        .await;
        set_status(&engine, account, failed, PoStatus::Failed, "rejected").await;
        set_status(&engine, account, synced, PoStatus::Synced, "synced").await;
        (engine, account, failed, synced)
    }

    #[tokio::test]
    async fn dry_run_changes_nothing() {
        let (engine, account, failed, synced) = failed_and_synced().await;

        let planned = resync_by_id(&engine, "acme", &[failed, synced], true)
            .await
            .unwrap();

        assert_eq!(planned.len(), 2);
        assert_eq!(planned[0].row.outcome, ResyncOutcome::WouldQueue);
        assert_eq!(
            planned[0].effect.as_deref(),
            Some("creates a Brightpearl sales order with the current settings")
        );
        assert!(matches!(
            planned[1].row.outcome,
            ResyncOutcome::Rejected { .. }
        ));
        assert_eq!(planned[1].effect, None);
        let po = engine.store.purchase_order(account, failed).await.unwrap();
        assert_eq!(po.status, PoStatus::Failed);
        assert!(engine.store.list_jobs(account).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn resync_queues_the_failed_order() {
        let (engine, account, failed, _synced) = failed_and_synced().await;

        let planned = resync_by_id(&engine, "acme", &[failed], false)
            .await
            .unwrap();

        assert_eq!(planned[0].row.outcome, ResyncOutcome::Queued);
        let po = engine.store.purchase_order(account, failed).await.unwrap();
        assert_eq!(po.status, PoStatus::Received);
        assert_eq!(engine.store.list_jobs(account).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn other_accounts_ids_are_rejected() {
        let (engine, _account, failed, _synced) = failed_and_synced().await;
        account_with_buyer(&engine, "globex").await;

        let planned = resync_by_id(&engine, "globex", &[failed], false)
            .await
            .unwrap();

        assert_eq!(planned[0].row.po_number, "");
        assert!(matches!(
            planned[0].row.outcome,
            ResyncOutcome::Rejected { .. }
        ));
    }

    #[tokio::test]
    async fn failed_ids_follow_the_filter() {
        let (engine, _account, failed, _synced) = failed_and_synced().await;
        let matching = OrderLogQuery {
            search: Some("PO-1".to_owned()),
            ..OrderLogQuery::default()
        };
        let other = OrderLogQuery {
            search: Some("PO-2".to_owned()),
            ..OrderLogQuery::default()
        };

        assert_eq!(
            failed_order_ids(&engine, "acme", &matching).await.unwrap(),
            [failed]
        );
        assert!(failed_order_ids(&engine, "acme", &other)
            .await
            .unwrap()
            .is_empty());
    }

    #[test]
    fn effect_names_an_earlier_attempt() {
        let at = "2024-05-10T06:00:00Z".parse().unwrap();
        let mut po = PurchaseOrder {
            id: PoId(1),
            account_id: AccountId(1),
            buyer_id: pobridge_core::BuyerId(1),
            number: pobridge_core::PoNumber("PO-7".to_owned()),
            status: PoStatus::Failed,
            reason: None,
            brightpearl_order_id: None,
            latest_revision: pobridge_core::RevisionId(1),
            synced_revision: None,
            create_attempted_ref: Some("pobridge-7".to_owned()),
            revision_count: 1,
            created_at: at,
            updated_at: at,
        };

        assert!(resync_effect(&po).contains("externalRef pobridge-7"));
        po.brightpearl_order_id = Some(42);
        assert!(resync_effect(&po).starts_with("finishes Brightpearl sales order 42"));
    }
}
