//! The sync job: turns the latest revision of a purchase order into exactly
//! one Brightpearl sales order, or parks the order with a reason.
//!
//! Exactly-once rests on three layers. The store keeps one purchase order
//! per (buyer, orderID) and one unfinished sync job per order. Before the
//! create is sent, the order records the `externalRef` it is about to use.
//! Any later attempt (after a timeout, a dropped connection or a killed
//! process) therefore searches Brightpearl by that `externalRef`, and then by
//! the PO number as customer reference, before it posts again. And the create
//! carries (`externalRef`, `installedIntegrationInstanceId`), which
//! Brightpearl itself de-duplicates.

use chrono::{DateTime, Utc};
use pobridge_brightpearl::{BrightpearlClient, BrightpearlError, ErrorKind, SalesOrder};
use pobridge_core::{AccountId, BuyerId, Connection, ConnectionStatus, PoNumber};
use pobridge_cxml::OrderRequest;
use pobridge_store::{
    Account, Job, JobOutcome, NewJob, OrderType, PoStatus, PoStatusUpdate, PurchaseOrder, Revision,
    RevisionStatus, StoreError, TrackedKind, TrackedOrder,
};
use serde::{Deserialize, Serialize};

use crate::customers::{resolve_customer, CustomerMatch, Resolve, Writes};
use crate::errors::{classify, retry_or_fail, FailureClass};
use crate::products::{resolve_lines, LineMatch};
use crate::sales_order::{plan, PlanInput, PlannedOrder};
use crate::Engine;

/// Job kind of [`sync_job`].
pub const SYNC_ORDER: &str = "sync_order";

/// Payload of a sync job: the purchase order it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPayload {
    pub buyer: BuyerId,
    pub po_number: PoNumber,
}

/// Builds the job that syncs one purchase order. Its key makes a second
/// enqueue of the same order, while one is unfinished, a no-op.
pub fn sync_job(
    account: AccountId,
    buyer: BuyerId,
    number: &PoNumber,
    now: DateTime<Utc>,
) -> NewJob {
    let payload = SyncPayload {
        buyer,
        po_number: number.clone(),
    };
    NewJob {
        account,
        kind: SYNC_ORDER.to_owned(),
        key: format!("{SYNC_ORDER}:{buyer}:{number}"),
        payload: serde_json::to_value(&payload).unwrap_or_default(),
        run_at: now,
    }
}

/// Returns the stable `externalRef` of a purchase order. It is the same for
/// every revision, so a revision can never create a second order.
pub fn external_ref(buyer: BuyerId, number: &PoNumber) -> String {
    format!("coupa-{buyer}-{number}")
}

/// A failure inside a sync attempt.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Brightpearl(BrightpearlError),
}

/// Everything one attempt works with.
pub(crate) struct Attempt {
    pub(crate) account: Account,
    pub(crate) po: PurchaseOrder,
    pub(crate) revision: Revision,
    pub(crate) order: OrderRequest,
}

/// Where an attempt stands before the Sales Order POST.
pub(crate) enum Step {
    /// The attempt ended without a POST.
    Finished(JobOutcome),
    /// The sales order to create, its `externalRef` already recorded.
    Create {
        client: BrightpearlClient,
        ready: Box<ReadyOrder>,
    },
}

/// A planned sales order whose `externalRef` is recorded, ready to post.
pub(crate) struct ReadyOrder {
    pub request: SalesOrder,
    /// Plan warnings, added to the timeline once the order exists.
    pub warnings: Vec<String>,
    /// The contact id when the customer came from a mapping, which may
    /// point at a contact deleted in Brightpearl since.
    pub mapped_contact: Option<i64>,
}

impl Engine {
    /// Runs one claimed sync job and returns how it ended. The purchase
    /// order's status and timeline are updated on the way.
    pub async fn run_sync_job(&self, job: &Job) -> JobOutcome {
        let attempt = match self.start_attempt(job).await {
            Ok(attempt) => attempt,
            Err(outcome) => return outcome,
        };
        let result = self.sync(&attempt).await;
        self.outcome_of(job, &attempt, result).await
    }

    /// Turns the result of a step of `job` into the job's outcome, recording
    /// a failure on the purchase order.
    pub(crate) async fn outcome_of(
        &self,
        job: &Job,
        attempt: &Attempt,
        result: Result<JobOutcome, SyncError>,
    ) -> JobOutcome {
        match result {
            Ok(outcome) => outcome,
            Err(SyncError::Store(error)) => self.store_failure(job, error),
            Err(SyncError::Brightpearl(error)) => {
                let retry_hours = attempt.account.settings.retry_hours;
                self.brightpearl_failure(job, attempt.po.id, retry_hours, error)
                    .await
            }
        }
    }

    /// Reads a sync job's payload and loads what its attempt works with.
    /// `Err` is the job's outcome when there is nothing to attempt.
    pub(crate) async fn start_attempt(&self, job: &Job) -> Result<Attempt, JobOutcome> {
        let payload: SyncPayload = match serde_json::from_value(job.payload.clone()) {
            Ok(payload) => payload,
            Err(error) => {
                return Err(JobOutcome::Failed {
                    error: format!("unreadable sync job payload: {error}"),
                })
            }
        };
        match self.load_attempt(job.account, &payload).await {
            Ok(Some(attempt)) => Ok(attempt),
            Ok(None) => Err(JobOutcome::Done),
            Err(error) => Err(self.store_failure(job, error)),
        }
    }

    async fn load_attempt(
        &self,
        account: AccountId,
        payload: &SyncPayload,
    ) -> Result<Option<Attempt>, StoreError> {
        let account = self.store.account(account).await?;
        let Some(po) = self
            .store
            .purchase_order_by_number(account.id, payload.buyer, &payload.po_number)
            .await?
        else {
            return Ok(None);
        };
        let revision = self.store.revision(account.id, po.latest_revision).await?;
        let order: OrderRequest =
            serde_json::from_value(revision.order.clone()).map_err(|error| {
                StoreError::Corrupt {
                    entity: "purchase order revision",
                    detail: error.to_string(),
                }
            })?;
        Ok(Some(Attempt {
            account,
            po,
            revision,
            order,
        }))
    }

    async fn sync(&self, attempt: &Attempt) -> Result<JobOutcome, SyncError> {
        let (client, ready) = match self.sync_until_create(attempt).await? {
            Step::Finished(outcome) => return Ok(outcome),
            Step::Create { client, ready } => (client, ready),
        };
        let created = client.create_sales_order(&ready.request).await;
        match self
            .record_result(attempt, &client, &ready, created)
            .await?
        {
            Ok(order_id) => self.finish(attempt, &client, order_id).await,
            Err(outcome) => Ok(outcome),
        }
    }

    /// Runs an attempt up to the Sales Order POST: finishes it when the
    /// order exists, is cancelled, waits or is only validated, and
    /// otherwise returns the sales order to create.
    pub(crate) async fn sync_until_create(&self, attempt: &Attempt) -> Result<Step, SyncError> {
        if attempt.po.brightpearl_order_id.is_some() {
            return self.sync_existing(attempt).await.map(Step::Finished);
        }
        if attempt.revision.order_type == OrderType::Delete {
            self.set_status(
                attempt,
                PoStatus::Cancelled,
                None,
                "cancelled by the buyer before a sales order was created",
            )
            .await?;
            self.store
                .set_revision_status(
                    attempt.account.id,
                    attempt.revision.id,
                    RevisionStatus::Synced,
                )
                .await?;
            return Ok(Step::Finished(JobOutcome::Done));
        }

        let Some(connection) = self.store.connection(attempt.account.id).await? else {
            return self
                .pause(
                    attempt,
                    "Brightpearl is not connected; connect it to sync this order",
                )
                .await
                .map(Step::Finished);
        };
        if connection.status == ConnectionStatus::NeedsReauthorization {
            return self
                .pause(
                    attempt,
                    "Brightpearl authorization was lost; reconnect Brightpearl to resume",
                )
                .await
                .map(Step::Finished);
        }
        let client = self
            .clients
            .client_for(attempt.account.id, connection.clone());
        let dry_run = attempt.revision_is_test()
            && !(connection.is_sandbox || attempt.account.settings.sync_test_orders);

        if let Some(reference) = &attempt.po.create_attempted_ref {
            if let Some(order_id) = self
                .recover(&client, &connection, reference, &attempt.po.number)
                .await?
            {
                self.record_created(
                    attempt,
                    order_id,
                    "found the sales order an earlier attempt created",
                )
                .await?;
                return self
                    .finish(attempt, &client, order_id)
                    .await
                    .map(Step::Finished);
            }
        }
        match self
            .prepare_create(attempt, &client, &connection, dry_run)
            .await?
        {
            Ok(ready) => Ok(Step::Create {
                client,
                ready: Box::new(ready),
            }),
            Err(outcome) => Ok(Step::Finished(outcome)),
        }
    }

    /// Resolves the customer and lines and plans the sales order, then
    /// records the `externalRef` about to be used. `Err` is the outcome
    /// when the order waits or is only validated.
    async fn prepare_create(
        &self,
        attempt: &Attempt,
        client: &BrightpearlClient,
        connection: &Connection,
        dry_run: bool,
    ) -> Result<Result<ReadyOrder, JobOutcome>, SyncError> {
        let account = &attempt.account;
        let writes = if dry_run {
            Writes::DryRun
        } else {
            Writes::Allowed
        };
        let now = self.clock.now();
        let resolve = Resolve {
            writes,
            use_mappings: true,
            locks: &self.contact_locks,
        };
        let customer = resolve_customer(
            &*self.store,
            client,
            account,
            attempt.po.buyer_id,
            attempt.order.header.bill_to.as_ref(),
            resolve,
            now,
        )
        .await?;
        let mapped_customer = matches!(customer, CustomerMatch::Mapped(_));
        let customer_id = match customer {
            CustomerMatch::Found(id) | CustomerMatch::Mapped(id) => id,
            CustomerMatch::WouldCreate => 0,
            CustomerMatch::Held(reason) => {
                return self
                    .hold(attempt, PoStatus::AwaitingCustomer, reason)
                    .await
                    .map(Err)
            }
        };

        let lines = match resolve_lines(
            &*self.store,
            client,
            account,
            attempt.po.buyer_id,
            &attempt.order.items,
        )
        .await?
        {
            LineMatch::Resolved(lines) => lines,
            LineMatch::Held(reasons) => {
                let reason = format!("awaiting mapping: {}", reasons.join("; "));
                return self
                    .hold(attempt, PoStatus::AwaitingMapping, reason)
                    .await
                    .map(Err);
            }
        };

        let planned = match self.plan_order(attempt, customer_id, &lines).await? {
            Ok(planned) => planned,
            Err(Unplanned::AwaitsSettings(reason)) => {
                let reason = format!("awaiting settings: {reason}");
                return self
                    .hold(attempt, PoStatus::AwaitingSettings, reason)
                    .await
                    .map(Err);
            }
            Err(Unplanned::Unusable(reason)) => {
                self.set_status(attempt, PoStatus::Failed, Some(reason.clone()), &reason)
                    .await?;
                return Ok(Err(JobOutcome::Failed { error: reason }));
            }
        };

        if dry_run {
            let reason = format!(
                "validated, not written: the buyer is in test mode and this Brightpearl account is not a sandbox ({} rows planned)",
                planned.rows.len()
            );
            self.set_status(attempt, PoStatus::Validated, Some(reason.clone()), &reason)
                .await?;
            self.store
                .set_revision_status(account.id, attempt.revision.id, RevisionStatus::Validated)
                .await?;
            return Ok(Err(JobOutcome::Done));
        }

        self.store
            .mark_create_attempted(account.id, attempt.po.id, &planned.external_ref, now)
            .await?;
        let request = crate::reference::sales_order_request(
            &planned,
            connection.installation_instance_id.as_deref(),
        );
        Ok(Ok(ReadyOrder {
            request,
            warnings: planned.warnings,
            mapped_contact: mapped_customer.then_some(customer_id),
        }))
    }

    /// Records the result of the Sales Order POST for `ready`. Returns the
    /// new order's id, to finish with, or the job's outcome when the POST
    /// was rejected for a mapped contact that no longer exists.
    pub(crate) async fn record_result(
        &self,
        attempt: &Attempt,
        client: &BrightpearlClient,
        ready: &ReadyOrder,
        created: Result<i64, BrightpearlError>,
    ) -> Result<Result<i64, JobOutcome>, SyncError> {
        let order_id = match created {
            Ok(order_id) => order_id,
            Err(error)
                if ready.mapped_contact.is_some()
                    && matches!(error.kind(), ErrorKind::Validation { .. }) =>
            {
                let contact = ready.mapped_contact.unwrap_or_default();
                return self
                    .replace_missing_contact(attempt, client, contact, error)
                    .await
                    .map(Err);
            }
            Err(error) => return Err(SyncError::Brightpearl(error)),
        };
        self.record_created(
            attempt,
            order_id,
            &format!("created Brightpearl sales order {order_id}"),
        )
        .await?;
        for warning in &ready.warnings {
            self.event(attempt, &format!("warning: {warning}")).await?;
        }
        Ok(Ok(order_id))
    }

    /// Handles Brightpearl rejecting an order for a mapped customer. When
    /// the mapped contact is gone (deleted or merged in Brightpearl), the
    /// customer is found or created again, the mapping replaced, and the job
    /// runs again at once. Otherwise the rejection is returned.
    async fn replace_missing_contact(
        &self,
        attempt: &Attempt,
        client: &BrightpearlClient,
        contact_id: i64,
        rejection: BrightpearlError,
    ) -> Result<JobOutcome, SyncError> {
        match client.get_contact(contact_id).await {
            Ok(_) => return Err(SyncError::Brightpearl(rejection)),
            Err(error) if matches!(error.kind(), ErrorKind::NotFound) => {}
            Err(error) => return Err(SyncError::Brightpearl(error)),
        }
        let message = format!("the mapped Brightpearl contact {contact_id} no longer exists; finding the customer again");
        self.event(attempt, &message).await?;
        let resolve = Resolve {
            writes: Writes::Allowed,
            use_mappings: false,
            locks: &self.contact_locks,
        };
        let bill_to = attempt.order.header.bill_to.as_ref();
        let now = self.clock.now();
        match resolve_customer(
            &*self.store,
            client,
            &attempt.account,
            attempt.po.buyer_id,
            bill_to,
            resolve,
            now,
        )
        .await?
        {
            CustomerMatch::Held(reason) => {
                self.hold(attempt, PoStatus::AwaitingCustomer, reason).await
            }
            _ => Ok(JobOutcome::Retry {
                run_at: now,
                error: message,
                counts: false,
            }),
        }
    }

    async fn plan_order(
        &self,
        attempt: &Attempt,
        customer_id: i64,
        lines: &[crate::sales_order::ResolvedLine],
    ) -> Result<Result<PlannedOrder, Unplanned>, SyncError> {
        let account = &attempt.account;
        if let Err(reason) = crate::settings::check_defaults(
            &*self.store,
            account.id,
            &account.slug,
            &account.settings,
        )
        .await?
        {
            return Ok(Err(Unplanned::AwaitsSettings(reason)));
        }
        let tax_rates = crate::reference::tax_rates(&*self.store, account.id).await?;
        let input = PlanInput {
            order: &attempt.order,
            customer_id,
            external_ref: external_ref(attempt.po.buyer_id, &attempt.po.number),
            lines,
            settings: &account.settings,
            tax_rates: &tax_rates,
        };
        // Plan errors suggest commands with a placeholder for the account.
        Ok(plan(&input).map_err(|error| {
            let reason = error.to_string().replace("SLUG", account.slug.as_str());
            if error.awaits_settings() {
                Unplanned::AwaitsSettings(reason)
            } else {
                Unplanned::Unusable(reason)
            }
        }))
    }

    /// Applies the fixed custom-field values and marks the order synced.
    async fn finish(
        &self,
        attempt: &Attempt,
        client: &BrightpearlClient,
        order_id: i64,
    ) -> Result<JobOutcome, SyncError> {
        let operations = crate::settings::custom_field_operations(&attempt.account.settings);
        if !operations.is_empty() {
            client
                .patch_order_custom_fields(order_id, &operations)
                .await
                .map_err(SyncError::Brightpearl)?;
        }
        self.mark_synced(attempt, order_id).await
    }

    /// Marks the order synced as Brightpearl sales order `order_id`, once
    /// its custom fields are set.
    pub(crate) async fn mark_synced(
        &self,
        attempt: &Attempt,
        order_id: i64,
    ) -> Result<JobOutcome, SyncError> {
        let update = PoStatusUpdate {
            status: PoStatus::Synced,
            reason: None,
            brightpearl_order_id: Some(order_id),
            synced_revision: Some(attempt.revision.id),
            event: format!("synced as Brightpearl sales order {order_id}"),
        };
        self.store
            .set_po_status(attempt.account.id, attempt.po.id, &update, self.clock.now())
            .await?;
        self.store
            .set_revision_status(
                attempt.account.id,
                attempt.revision.id,
                RevisionStatus::Synced,
            )
            .await?;
        tracing::info!(account.slug = %attempt.account.slug, po.id = %attempt.po.id, brightpearl.order_id = order_id, "purchase order synced");
        Ok(JobOutcome::Done)
    }

    /// Handles a revision of an order whose sales order exists: finishes an
    /// interrupted sync, accepts an unchanged resend, or parks a change for
    /// review.
    async fn sync_existing(&self, attempt: &Attempt) -> Result<JobOutcome, SyncError> {
        let order_id = attempt.po.brightpearl_order_id.unwrap_or_default();
        let account = attempt.account.id;
        if attempt.po.synced_revision == Some(attempt.revision.id) {
            if attempt.po.status == PoStatus::Synced {
                return Ok(JobOutcome::Done);
            }
            let Some(client) = self.clients.client(account).await? else {
                return self
                    .pause(
                        attempt,
                        "Brightpearl is not connected; connect it to finish this order",
                    )
                    .await;
            };
            // Databases written before the order was tracked first may
            // hold a PO whose sales order is not tracked.
            self.track_created(attempt, order_id).await?;
            return self.finish(attempt, &client, order_id).await;
        }

        let synced = match attempt.po.synced_revision {
            Some(id) => Some(self.store.revision(account, id).await?),
            None => None,
        };
        if synced
            .as_ref()
            .is_some_and(|synced| synced.content_sha256 == attempt.revision.content_sha256)
        {
            let update = PoStatusUpdate {
                status: attempt.po.status,
                reason: attempt.po.reason.clone(),
                brightpearl_order_id: None,
                synced_revision: Some(attempt.revision.id),
                event: "a resend with unchanged content; nothing to do".to_owned(),
            };
            self.store
                .set_po_status(account, attempt.po.id, &update, self.clock.now())
                .await?;
            self.store
                .set_revision_status(account, attempt.revision.id, RevisionStatus::Synced)
                .await?;
            return Ok(JobOutcome::Done);
        }

        let diff = crate::settings::revision_diff(
            synced.as_ref().map(|revision| &revision.order),
            &attempt.revision.order,
        );
        let reason = format!(
            "held for review: {} arrived after Brightpearl sales order {order_id} was created; apply it by hand and mark it handled. Changes: {diff}",
            match attempt.revision.order_type {
                OrderType::New => "a changed copy of the order",
                OrderType::Update => "an update",
                OrderType::Delete => "a cancellation",
            }
        );
        self.store
            .set_revision_status(account, attempt.revision.id, RevisionStatus::HeldForReview)
            .await?;
        self.set_status(
            attempt,
            PoStatus::HeldForReview,
            Some(reason.clone()),
            &reason,
        )
        .await?;
        Ok(JobOutcome::Done)
    }

    /// Looks for a sales order an earlier attempt may have created.
    async fn recover(
        &self,
        client: &BrightpearlClient,
        connection: &Connection,
        reference: &str,
        number: &PoNumber,
    ) -> Result<Option<i64>, SyncError> {
        let by_external = client
            .find_orders_by_external_ref(reference, connection.installation_instance_id.as_deref())
            .await
            .map_err(SyncError::Brightpearl)?;
        if let Some(id) = by_external.into_iter().min() {
            return Ok(Some(id));
        }
        let by_customer_ref = client
            .find_orders_by_customer_ref(number.as_str())
            .await
            .map_err(SyncError::Brightpearl)?;
        Ok(by_customer_ref
            .into_iter()
            .filter(|found| {
                found
                    .external_ref
                    .as_deref()
                    .is_none_or(|external| external == reference)
            })
            .map(|found| found.id)
            .min())
    }

    /// Records the sales order an attempt created or found. The order is
    /// tracked for invoicing first, because a PO that names its sales order
    /// is only finished on later attempts, which do not track it again.
    async fn record_created(
        &self,
        attempt: &Attempt,
        order_id: i64,
        message: &str,
    ) -> Result<(), SyncError> {
        self.track_created(attempt, order_id).await?;
        let update = PoStatusUpdate {
            status: PoStatus::Received,
            reason: None,
            brightpearl_order_id: Some(order_id),
            synced_revision: Some(attempt.revision.id),
            event: message.to_owned(),
        };
        let now = self.clock.now();
        self.store
            .set_po_status(attempt.account.id, attempt.po.id, &update, now)
            .await?;
        Ok(())
    }

    /// Tracks the sales order pobridge created for the PO, so invoice polls
    /// follow it, unless it is tracked already: a poll may have recorded
    /// its invoice reference, which a new record would forget.
    async fn track_created(&self, attempt: &Attempt, order_id: i64) -> Result<(), SyncError> {
        let account = attempt.account.id;
        if self.store.tracked_order(account, order_id).await?.is_some() {
            return Ok(());
        }
        // Invoicing follows the orders linked to a PO; the one pobridge
        // created is the first.
        let tracked = TrackedOrder {
            brightpearl_order_id: order_id,
            po_id: attempt.po.id,
            kind: TrackedKind::Created,
            parent_order_id: None,
            invoice_reference: None,
            version: None,
            open: true,
            checked_at: self.clock.now(),
        };
        self.store.upsert_tracked_order(account, &tracked).await?;
        Ok(())
    }

    async fn hold(
        &self,
        attempt: &Attempt,
        status: PoStatus,
        reason: String,
    ) -> Result<JobOutcome, SyncError> {
        // A change to settings or mappings tries every waiting order again.
        // An order that still waits for the same thing keeps its one
        // timeline line rather than gaining a copy per change.
        let unchanged =
            attempt.po.status == status && attempt.po.reason.as_deref() == Some(reason.as_str());
        if !unchanged {
            self.set_status(attempt, status, Some(reason.clone()), &reason)
                .await?;
        }
        Ok(JobOutcome::Wait { reason })
    }

    async fn pause(&self, attempt: &Attempt, reason: &str) -> Result<JobOutcome, SyncError> {
        self.hold(attempt, PoStatus::Paused, reason.to_owned())
            .await
    }

    async fn set_status(
        &self,
        attempt: &Attempt,
        status: PoStatus,
        reason: Option<String>,
        event: &str,
    ) -> Result<(), SyncError> {
        let update = PoStatusUpdate {
            status,
            reason,
            brightpearl_order_id: None,
            synced_revision: None,
            event: event.to_owned(),
        };
        self.store
            .set_po_status(attempt.account.id, attempt.po.id, &update, self.clock.now())
            .await?;
        Ok(())
    }

    /// Appends a line to the order's timeline, keeping its status and reason.
    async fn event(&self, attempt: &Attempt, message: &str) -> Result<(), SyncError> {
        self.po_event(attempt.account.id, attempt.po.id, message)
            .await?;
        Ok(())
    }

    fn store_failure(&self, job: &Job, error: StoreError) -> JobOutcome {
        tracing::error!(job.id = %job.id, error = %error, "sync job hit a store error");
        retry_or_fail(
            job,
            self.clock.now(),
            72,
            true,
            format!("storage error: {error}"),
        )
    }

    async fn brightpearl_failure(
        &self,
        job: &Job,
        po: pobridge_core::PoId,
        retry_hours: u32,
        error: BrightpearlError,
    ) -> JobOutcome {
        let now = self.clock.now();
        let message = error.to_string();
        let (outcome, status) = match classify(&error) {
            FailureClass::Transient { counts } => (
                retry_or_fail(job, now, retry_hours, counts, message.clone()),
                PoStatus::Retrying,
            ),
            FailureClass::Ambiguous => (
                retry_or_fail(job, now, retry_hours, true, message.clone()),
                PoStatus::Retrying,
            ),
            FailureClass::Reauthorize => {
                self.lose_authorization(job.account).await;
                (
                    JobOutcome::Wait {
                        reason: message.clone(),
                    },
                    PoStatus::Paused,
                )
            }
            FailureClass::Permanent => (
                JobOutcome::Failed {
                    error: message.clone(),
                },
                PoStatus::Failed,
            ),
        };
        let status = if matches!(outcome, JobOutcome::Failed { .. }) {
            PoStatus::Failed
        } else {
            status
        };
        tracing::warn!(job.id = %job.id, po.id = %po, attempt = job.attempts + 1, error = %message, status = status.as_str(), "sync attempt failed");
        let update = PoStatusUpdate {
            status,
            reason: Some(message.clone()),
            brightpearl_order_id: None,
            synced_revision: None,
            event: message,
        };
        if let Err(error) = self
            .store
            .set_po_status(job.account, po, &update, now)
            .await
        {
            tracing::error!(job.id = %job.id, error = %error, "could not record the sync failure");
        }
        outcome
    }

    async fn lose_authorization(&self, account: AccountId) {
        match self.store.connection(account).await {
            Ok(Some(mut connection)) => {
                connection.status = ConnectionStatus::NeedsReauthorization;
                if let Err(error) = self.store.save_connection(account, &connection).await {
                    tracing::error!(account.id = %account, error = %error, "could not mark the Brightpearl connection as needing reauthorization");
                }
                tracing::warn!(account.id = %account, "Brightpearl authorization lost; the account's queue is paused until it reconnects");
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(account.id = %account, error = %error, "could not load the Brightpearl connection")
            }
        }
    }
}

impl Attempt {
    fn revision_is_test(&self) -> bool {
        self.revision.test
    }
}

/// The reason an order could not be planned.
enum Unplanned {
    /// A setting or the reference data is missing, and changing it
    /// releases the order.
    AwaitsSettings(String),
    /// The order itself cannot become a sales order, so it fails until a
    /// corrected revision arrives or a person re-syncs it.
    Unusable(String),
}
