//! Retrying invoices chosen in the portal: one invoice from its page, or
//! every failed invoice that matches the invoice log's filter, with a dry
//! run that lists which would be queued before anything changes.

use pobridge_store::{InvoiceId, InvoiceStatus, StoreError};
use serde::Serialize;

use super::invoice_log::{matching_invoices, InvoiceLogQuery};
use super::order_bulk::BULK_LIMIT;
use super::{account, retry_invoices, retry_rejection, AdminError, RetryTarget};
use crate::Engine;

/// The outcome of a retry, or of its dry run, for one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedOutcome {
    /// Set to `held` with a send job due now, which rebuilds it from
    /// Brightpearl with the current settings and sends it under the same
    /// number if its checks pass.
    Queued,
    /// A dry run: the invoice would have been queued.
    WouldQueue,
    /// Left unchanged, for this reason.
    Rejected { reason: String },
}

/// The result of a retry, or of its dry run, for one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRetry {
    pub id: InvoiceId,
    /// Empty when the invoice was not found.
    pub invoice_number: String,
    /// Empty when the invoice was not found.
    pub buyer: String,
    /// The status before the retry; `None` when the invoice was not found.
    pub status: Option<InvoiceStatus>,
    pub outcome: PlannedOutcome,
}

/// Lists the ids of the account's failed invoices that match `query`,
/// newest first, at most [`BULK_LIMIT`]. The query's own status is ignored.
pub async fn failed_invoice_ids(
    engine: &Engine,
    slug: &str,
    query: &InvoiceLogQuery,
) -> Result<Vec<InvoiceId>, AdminError> {
    let account = account(engine, slug).await?;
    let failed = InvoiceLogQuery {
        status: Some(InvoiceStatus::Failed),
        ..query.clone()
    };
    let rows = matching_invoices(engine, &account, &failed, Some(BULK_LIMIT)).await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Retries each invoice of the account named by id, as [`retry_invoices`]
/// does. With `dry_run`, nothing changes and each row shows whether the
/// invoice would be queued, by the same rule ([`retry_rejection`]). An id
/// that is not an invoice of this account gets a rejected row.
pub async fn retry_by_id(
    engine: &Engine,
    slug: &str,
    ids: &[InvoiceId],
    dry_run: bool,
) -> Result<Vec<PlannedRetry>, AdminError> {
    let account = account(engine, slug).await?;
    let mut planned = Vec::with_capacity(ids.len());
    for id in ids.iter().take(BULK_LIMIT) {
        let record = match engine.store.invoice(account.id, *id).await {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => {
                planned.push(PlannedRetry {
                    id: *id,
                    invoice_number: String::new(),
                    buyer: String::new(),
                    status: None,
                    outcome: PlannedOutcome::Rejected {
                        reason: format!("invoice {id} not found in this account"),
                    },
                });
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let buyer = engine.store.buyer(account.id, record.buyer).await?;

        let outcome = if dry_run {
            match retry_rejection(&record, slug) {
                Some(reason) => PlannedOutcome::Rejected { reason },
                None => PlannedOutcome::WouldQueue,
            }
        } else {
            let target = RetryTarget::Numbers(vec![record.invoice_number.clone()]);
            let rows = retry_invoices(engine, slug, &target, Some(&buyer.name)).await?;
            match rows.into_iter().next().map(|row| row.outcome) {
                Some(super::RetryOutcome::Queued) => PlannedOutcome::Queued,
                Some(super::RetryOutcome::Rejected { reason }) => {
                    PlannedOutcome::Rejected { reason }
                }
                None => PlannedOutcome::Rejected {
                    reason: format!("invoice {} was not found again", record.invoice_number),
                },
            }
        };
        planned.push(PlannedRetry {
            id: record.id,
            invoice_number: record.invoice_number,
            buyer: buyer.name,
            status: Some(record.status),
            outcome,
        });
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use pobridge_core::AccountId;

    use super::*;
    use crate::admin::log_fixtures::{
        account_with_buyer, engine_at, fail_invoice, invoice, receive,
    };

    /// INV-1 failed and INV-2 pending, of one purchase order.
    async fn failed_and_pending() -> (Engine, AccountId, InvoiceId, InvoiceId) {
        let (engine, _clock) = engine_at("2024-05-10T12:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        let po = receive(
            &engine,
            account,
            buyer,
            "PO-1",
            "2024-05-10T08:00:00Z",
            "<x/>",
        )
        .await;
        let failed = invoice(
            &engine,
            account,
            buyer,
            po,
            "INV-1",
            "2024-05-10T09:00:00+00:00",
        )
        .await;
        let pending = invoice(
            &engine,
            account,
            buyer,
            po,
            "INV-2",
            "2024-05-10T09:00:00+00:00",
        )
        .await;
        fail_invoice(&engine, account, failed.id).await;
        (engine, account, failed.id, pending.id)
    }

    #[tokio::test]
    async fn dry_run_changes_nothing() {
        let (engine, account, failed, pending) = failed_and_pending().await;

        let planned = retry_by_id(&engine, "acme", &[failed, pending], true)
            .await
            .unwrap();

        assert_eq!(planned[0].outcome, PlannedOutcome::WouldQueue);
        assert!(matches!(
            planned[1].outcome,
            PlannedOutcome::Rejected { .. }
        ));
        let stored = engine.store.invoice(account, failed).await.unwrap();
        assert_eq!(stored.status, InvoiceStatus::Failed);
        assert!(engine.store.list_jobs(account).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn retry_queues_the_failed_invoice() {
        let (engine, account, failed, _pending) = failed_and_pending().await;

        let planned = retry_by_id(&engine, "acme", &[failed], false)
            .await
            .unwrap();

        assert_eq!(planned[0].outcome, PlannedOutcome::Queued);
        assert_eq!(planned[0].status, Some(InvoiceStatus::Failed));
        let stored = engine.store.invoice(account, failed).await.unwrap();
        assert_eq!(stored.status, InvoiceStatus::Held);
        assert_eq!(engine.store.list_jobs(account).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn other_accounts_ids_are_rejected() {
        let (engine, account, failed, _pending) = failed_and_pending().await;
        account_with_buyer(&engine, "globex").await;

        let planned = retry_by_id(&engine, "globex", &[failed], false)
            .await
            .unwrap();

        assert_eq!(planned[0].invoice_number, "");
        assert!(matches!(
            planned[0].outcome,
            PlannedOutcome::Rejected { .. }
        ));
        let stored = engine.store.invoice(account, failed).await.unwrap();
        assert_eq!(stored.status, InvoiceStatus::Failed);
    }

    #[tokio::test]
    async fn failed_ids_follow_the_filter() {
        let (engine, _account, failed, _pending) = failed_and_pending().await;
        let po = InvoiceLogQuery {
            search: Some("PO-1".to_owned()),
            ..InvoiceLogQuery::default()
        };
        let other = InvoiceLogQuery {
            search: Some("INV-2".to_owned()),
            ..InvoiceLogQuery::default()
        };

        assert_eq!(
            failed_invoice_ids(&engine, "acme", &po).await.unwrap(),
            [failed]
        );
        assert!(failed_invoice_ids(&engine, "acme", &other)
            .await
            .unwrap()
            .is_empty());
    }
}
