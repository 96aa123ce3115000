//! The send job: takes one stored invoice to the buyer's Coupa.
//!
//! A held invoice is rebuilt first, from a fresh fetch of its order and the
//! current settings, and waits again while a check still fails. Before each
//! post the invoice is durably `sending`, so a job that finds it `sending`
//! learns that an earlier attempt's outcome is unknown. Retries send the stored
//! document unchanged, with the same invoice number and payloadID.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use pobridge_brightpearl::{BrightpearlError, Order};
use pobridge_coupa::{decide, explain, Decision, Delivery, Payload};
use pobridge_cxml::fill_shared_secret;
use pobridge_store::{
    Account, InvoiceKind, InvoiceRecord, InvoiceStatus, InvoiceUpdate, Job, JobOutcome, StoreError,
    TrackedKind, TrackedOrder,
};

use super::prepare::{buyer_settings, is_accepted};
use super::record::unchanged;
use crate::errors::{backoff, classify, retry_or_fail, FailureClass};
use crate::invoice_jobs::send_job_invoice;
use crate::invoicing::missing_for_coupa;
use crate::Engine;

/// The reason stored with an invoice whose delivery is probable but not
/// confirmed.
pub const PROBABLY_DELIVERED: &str = "probably delivered: confirm in Coupa";

/// How long a send job that cannot reach the store is retried, in hours.
const STORE_RETRY_HOURS: u32 = 24;

/// The URL and shared secret an invoice is posted with.
struct Destination {
    url: String,
    secret: String,
}

impl Engine {
    /// Runs one claimed send job and returns how it ended.
    pub async fn run_send_job(&self, job: &Job) -> JobOutcome {
        let Some(id) = send_job_invoice(&job.payload) else {
            return JobOutcome::Failed {
                error: format!("send job payload names no invoice: {}", job.payload),
            };
        };
        let loaded = async {
            let account = self.store.account(job.account).await?;
            let invoice = self.store.invoice(job.account, id).await?;
            Ok::<_, StoreError>((account, invoice))
        };
        let (account, invoice) = match loaded.await {
            Ok(loaded) => loaded,
            Err(error) => return self.send_store_failure(job, error),
        };
        match self.send(job, &account, invoice).await {
            Ok(outcome) => outcome,
            Err(error) => self.send_store_failure(job, error),
        }
    }

    async fn send(
        &self,
        job: &Job,
        account: &Account,
        invoice: InvoiceRecord,
    ) -> Result<JobOutcome, StoreError> {
        let invoice = match invoice.status {
            InvoiceStatus::Held => match self.rebuild(job, account, &invoice).await? {
                Ok(rebuilt) => rebuilt,
                Err(outcome) => return Ok(outcome),
            },
            InvoiceStatus::Pending | InvoiceStatus::Sending => invoice,
            // Sent, probably delivered, changed after sending, superseded,
            // failed or waiting for a person: nothing to send. A person queues a
            // failed invoice again by holding it first.
            _ => return Ok(JobOutcome::Done),
        };
        let destination = match self.destination(account, &invoice).await? {
            Ok(destination) => destination,
            Err(reason) => return self.hold_invoice(account, &invoice, reason).await,
        };
        self.post(job, account, invoice, &destination).await
    }

    /// Finds the buyer's current invoice URL and shared secret, or the
    /// reasons the invoice cannot go.
    async fn destination(
        &self,
        account: &Account,
        invoice: &InvoiceRecord,
    ) -> Result<Result<Destination, String>, StoreError> {
        let buyer = self.store.buyer(account.id, invoice.buyer).await?;
        let mut reasons = Vec::new();
        let settings = buyer_settings(&buyer, &mut reasons);
        reasons.extend(missing_for_coupa(
            &settings,
            account.slug.as_str(),
            &buyer.name,
        ));
        match (settings.invoice_url, settings.shared_secret) {
            (Some(url), Some(secret)) if reasons.is_empty() => Ok(Ok(Destination {
                url: url.trim().to_owned(),
                secret,
            })),
            _ => Ok(Err(reasons.join("; "))),
        }
    }

    /// Posts the stored document, with the current secret put in, and
    /// records Coupa's response.
    async fn post(
        &self,
        job: &Job,
        account: &Account,
        invoice: InvoiceRecord,
        destination: &Destination,
    ) -> Result<JobOutcome, StoreError> {
        let earlier_unknown = invoice.outcome_unknown || invoice.status == InvoiceStatus::Sending;
        let sending = InvoiceUpdate {
            outcome_unknown: earlier_unknown.then_some(true),
            ..unchanged(&invoice, InvoiceStatus::Sending)
        };
        // Written only while the invoice still has the status this job
        // read. If a person entered it in Coupa by hand since, or a poll
        // superseded it, nothing is posted.
        let marked = self
            .update_read_invoice(account.id, &invoice, &sending)
            .await?;
        if !marked {
            tracing::info!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, read_status = invoice.status.as_str(), "invoice changed before it was posted, so it is not sent");
            return Ok(JobOutcome::Done);
        }

        let body = fill_shared_secret(&invoice.document, &destination.secret);
        let delivery = self.coupa.post(&destination.url, Payload::Xml(body)).await;
        tracing::info!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, coupa.status = answered(&delivery).map(|(code, _)| code), outcome = pobridge_coupa::outcome_label(&delivery), earlier_unknown, "invoice post to Coupa ended");
        let posted = Posted {
            invoice: &invoice,
            delivery,
            earlier_unknown,
        };
        self.settle(job, account, &posted).await
    }

    /// Records the decision about one post. When the invoice left the
    /// `sending` state during the post (its Brightpearl invoice changed),
    /// that change is kept.
    async fn settle(
        &self,
        job: &Job,
        account: &Account,
        posted: &Posted<'_>,
    ) -> Result<JobOutcome, StoreError> {
        let invoice = posted.invoice;
        let decision = decide(&posted.delivery, posted.earlier_unknown);
        let current = self.store.invoice(account.id, invoice.id).await?;
        if current.status != InvoiceStatus::Sending {
            return self
                .settle_changed(account, &current, &posted.delivery, &decision)
                .await;
        }

        let now = self.clock.now();
        let (code, text) = answered(&posted.delivery).unzip();
        let answer = InvoiceUpdate {
            coupa_status: code,
            coupa_text: text.map(str::to_owned),
            counts_attempt: true,
            ..unchanged(invoice, InvoiceStatus::Sending)
        };
        let (update, outcome) = match decision.clone() {
            Decision::Sent => {
                let update = InvoiceUpdate {
                    status: InvoiceStatus::Sent,
                    reason: None,
                    sent_at: Some(now),
                    ..answer
                };
                (update, JobOutcome::Done)
            }
            Decision::ProbablyDelivered => {
                let update = InvoiceUpdate {
                    status: InvoiceStatus::ProbablyDelivered,
                    reason: Some(PROBABLY_DELIVERED.to_owned()),
                    ..answer
                };
                (update, JobOutcome::Done)
            }
            Decision::Failed { reason } => {
                let reason = posted.explain(reason);
                let update = InvoiceUpdate {
                    status: InvoiceStatus::Failed,
                    reason: Some(reason.clone()),
                    ..answer
                };
                (update, JobOutcome::Failed { error: reason })
            }
            Decision::Retry {
                reason,
                outcome_unknown,
            } => {
                let unknown = outcome_unknown || posted.earlier_unknown;
                let update = InvoiceUpdate {
                    status: InvoiceStatus::Pending,
                    reason: Some(posted.explain(reason)),
                    outcome_unknown: unknown.then_some(true),
                    ..answer
                };
                self.retry_or_give_up(job, account, invoice, update)
            }
        };
        // A poll that found the invoice changed in Brightpearl during the
        // post moved it out of `sending`, and that change is kept.
        let settled = self
            .store
            .update_invoice_from(account.id, invoice.id, InvoiceStatus::Sending, &update, now)
            .await?;
        if !settled {
            let current = self.store.invoice(account.id, invoice.id).await?;
            return self
                .settle_changed(account, &current, &posted.delivery, &decision)
                .await;
        }
        log_settled(account, invoice, &update);
        let event = settled_event(&invoice.invoice_number, &update, &outcome);
        self.po_event(account.id, invoice.po, &event).await?;
        if is_accepted(update.status) {
            self.close_tracked(account, invoice).await?;
        }
        Ok(outcome)
    }

    /// Returns `retrying` with the job's next attempt after a backoff, or,
    /// once the invoice has been retried for the account's
    /// `invoice_retry_hours` since it was stored, the update that hands it
    /// to a person.
    fn retry_or_give_up(
        &self,
        job: &Job,
        account: &Account,
        invoice: &InvoiceRecord,
        retrying: InvoiceUpdate,
    ) -> (InvoiceUpdate, JobOutcome) {
        let now = self.clock.now();
        let reason = retrying.reason.clone().unwrap_or_default();
        let hours = account.settings.invoice_retry_hours;
        if now - invoice.created_at < Duration::hours(i64::from(hours)) {
            let outcome = JobOutcome::Retry {
                run_at: now + backoff(job.attempts),
                error: reason,
                counts: true,
            };
            return (retrying, outcome);
        }

        let unknown = retrying.outcome_unknown == Some(true) || invoice.outcome_unknown;
        let check_first = if unknown {
            " Coupa may have received it, so check there before sending it again."
        } else {
            ""
        };
        let reason = format!(
            "gave up after retrying for {hours} hours, so it is not sent again unless a person \
             retries it; the last attempt: {reason}.{check_first}"
        );
        let update = InvoiceUpdate {
            status: InvoiceStatus::NeedsAttention,
            reason: Some(reason.clone()),
            ..retrying
        };
        (update, JobOutcome::Failed { error: reason })
    }

    /// Records a post whose invoice changed state while it was in flight:
    /// it becomes `changed_after_sending` when Coupa took it or may have,
    /// and `superseded` when Coupa did not. Nothing is sent again.
    async fn settle_changed(
        &self,
        account: &Account,
        current: &InvoiceRecord,
        delivery: &Delivery,
        decision: &Decision,
    ) -> Result<JobOutcome, StoreError> {
        let (code, text) = answered(delivery).unzip();
        let reason = current.reason.clone().unwrap_or_default();
        let in_coupa = match decision {
            Decision::Sent | Decision::ProbablyDelivered => true,
            Decision::Retry {
                outcome_unknown, ..
            } => *outcome_unknown,
            Decision::Failed { .. } => false,
        };
        let update = if in_coupa {
            InvoiceUpdate {
                status: InvoiceStatus::ChangedAfterSending,
                coupa_status: code,
                coupa_text: text.map(str::to_owned),
                counts_attempt: true,
                outcome_unknown: (!matches!(decision, Decision::Sent)).then_some(true),
                sent_at: matches!(decision, Decision::Sent).then(|| self.clock.now()),
                ..unchanged(current, InvoiceStatus::ChangedAfterSending)
            }
        } else {
            InvoiceUpdate {
                status: InvoiceStatus::Superseded,
                reason: Some(format!(
                    "{reason} (Coupa did not accept the attempt made while it changed)"
                )),
                coupa_status: code,
                coupa_text: text.map(str::to_owned),
                counts_attempt: true,
                ..unchanged(current, InvoiceStatus::Superseded)
            }
        };
        let applied = self
            .update_read_invoice(account.id, current, &update)
            .await?;
        if !applied {
            // Changed again since it was read, so the later change is kept.
            tracing::info!(tenant.id = %account.id, invoice.id = %current.id, "invoice changed again while its post was recorded; keeping the later change");
            return Ok(JobOutcome::Done);
        }
        tracing::warn!(tenant.id = %account.id, invoice.id = %current.id, invoice.number = %current.invoice_number, status = update.status.as_str(), "invoice changed in Brightpearl while it was being sent");
        let number = &current.invoice_number;
        let event = match update.status {
            InvoiceStatus::ChangedAfterSending => format!(
                "Coupa accepted invoice {number}, but the invoice changed in Brightpearl while \
                 it was being sent: correct it in Coupa"
            ),
            _ => format!(
                "invoice {number} changed in Brightpearl while it was being sent, and Coupa \
                 did not accept that attempt: {}",
                update.reason.as_deref().unwrap_or_default()
            ),
        };
        self.po_event(account.id, current.po, &event).await?;
        Ok(JobOutcome::Done)
    }

    /// Stops sweeping the invoice's order once Coupa has its invoice.
    async fn close_tracked(
        &self,
        account: &Account,
        invoice: &InvoiceRecord,
    ) -> Result<(), StoreError> {
        let tracked = self
            .store
            .tracked_order(account.id, invoice.brightpearl_order_id)
            .await?;
        let Some(tracked) = tracked else {
            return Ok(());
        };
        // A poll that has not yet saved this number saves the order's state
        // itself, closing it then.
        if !tracked.open || tracked.invoice_reference.as_deref() != Some(&invoice.invoice_number) {
            return Ok(());
        }
        let closed = TrackedOrder {
            open: false,
            ..tracked
        };
        self.store.upsert_tracked_order(account.id, &closed).await
    }

    /// Rebuilds a held invoice from a fresh fetch of its order with the
    /// current settings. Returns the invoice, pending again, when every
    /// check passes, and otherwise the outcome that parks the job.
    async fn rebuild(
        &self,
        job: &Job,
        account: &Account,
        invoice: &InvoiceRecord,
    ) -> Result<Result<InvoiceRecord, JobOutcome>, StoreError> {
        let order = match self.fetch_order(account, invoice).await? {
            Ok(order) => order,
            Err(Fetch::Wait(reason)) => {
                return self.hold_invoice(account, invoice, reason).await.map(Err)
            }
            Err(Fetch::Retry(error)) => {
                let classified = classify(&error);
                let counts = !matches!(classified, FailureClass::Transient { counts: false });
                let hours = account.settings.invoice_retry_hours;
                let message = format!(
                    "could not fetch Brightpearl order {} to rebuild invoice {}: {error}",
                    invoice.brightpearl_order_id, invoice.invoice_number
                );
                return Ok(Err(retry_or_fail(
                    job,
                    self.clock.now(),
                    hours,
                    counts,
                    message,
                )));
            }
        };
        let number = order
            .issued_invoice()
            .map(|issued| issued.invoice_reference.trim().to_owned());
        let tracked = self.tracked_for(account, invoice).await?;
        if number.as_deref() != Some(invoice.invoice_number.as_str()) {
            // Brightpearl took the invoice back or renumbered it. The poll
            // that saw this may have run before the invoice was held, so
            // the change is recorded here rather than left to it.
            self.record_invoice_change(
                account,
                &tracked,
                &invoice.invoice_number,
                number.as_deref(),
            )
            .await?;
            return Ok(Err(JobOutcome::Done));
        }

        let prepared = self.prepare_invoice(account, &tracked, &order).await?;
        if prepared.is_held() {
            let reason = prepared.content.reason.clone().unwrap_or_default();
            return self.hold_invoice(account, invoice, reason).await.map(Err);
        }
        let replaced = self
            .store
            .replace_invoice_content(
                account.id,
                invoice.id,
                InvoiceStatus::Held,
                &prepared.content,
                self.clock.now(),
            )
            .await?;
        if !replaced {
            // A person entered it in Coupa by hand, or a poll superseded it,
            // while it was rebuilt.
            tracing::info!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, "invoice changed while it was rebuilt, so it is not sent");
            return Ok(Err(JobOutcome::Done));
        }
        let message = format!(
            "invoice {} was rebuilt with the current settings and is queued for sending to Coupa",
            invoice.invoice_number
        );
        self.po_event(account.id, invoice.po, &message).await?;
        self.warning_events(
            account.id,
            invoice.po,
            &invoice.invoice_number,
            &prepared.warnings,
        )
        .await?;
        Ok(Ok(self.store.invoice(account.id, invoice.id).await?))
    }

    /// Fetches the invoice's Brightpearl order, or returns the reason it
    /// cannot be fetched now.
    async fn fetch_order(
        &self,
        account: &Account,
        invoice: &InvoiceRecord,
    ) -> Result<Result<Order, Fetch>, StoreError> {
        let Some(client) = self.clients.client(account.id).await? else {
            let reason = "Brightpearl is not connected; connect it to rebuild this invoice";
            return Ok(Err(Fetch::Wait(reason.to_owned())));
        };
        let order_id = invoice.brightpearl_order_id;
        let orders = match client.get_orders(&[order_id]).await {
            Ok(orders) => orders,
            Err(error) => {
                return Ok(Err(match classify(&error) {
                    FailureClass::Transient { .. } | FailureClass::Ambiguous => Fetch::Retry(error),
                    FailureClass::Reauthorize | FailureClass::Permanent => Fetch::Wait(format!(
                        "could not fetch Brightpearl order {order_id} to rebuild the invoice: \
                         {error}"
                    )),
                }))
            }
        };
        match orders.into_iter().find(|order| order.id == order_id) {
            Some(order) => Ok(Ok(order)),
            None => Ok(Err(Fetch::Wait(format!(
                "Brightpearl order {order_id} no longer exists: invoice it in Coupa by hand"
            )))),
        }
    }

    /// Loads the tracked order of the invoice, or describes it from the
    /// invoice when it is not tracked.
    async fn tracked_for(
        &self,
        account: &Account,
        invoice: &InvoiceRecord,
    ) -> Result<TrackedOrder, StoreError> {
        let tracked = self
            .store
            .tracked_order(account.id, invoice.brightpearl_order_id)
            .await?;
        Ok(tracked.unwrap_or_else(|| TrackedOrder {
            brightpearl_order_id: invoice.brightpearl_order_id,
            po_id: invoice.po,
            kind: match invoice.kind {
                InvoiceKind::Credit => TrackedKind::Credit,
                InvoiceKind::Invoice => TrackedKind::Created,
            },
            parent_order_id: None,
            invoice_reference: Some(invoice.invoice_number.clone()),
            version: None,
            open: true,
            checked_at: self.clock.now(),
        }))
    }

    /// Holds the invoice with `reason` and parks its job until settings
    /// change or Brightpearl is reconnected.
    async fn hold_invoice(
        &self,
        account: &Account,
        invoice: &InvoiceRecord,
        reason: String,
    ) -> Result<JobOutcome, StoreError> {
        let update = InvoiceUpdate {
            reason: Some(reason.clone()),
            ..unchanged(invoice, InvoiceStatus::Held)
        };
        let kept_back = self
            .update_read_invoice(account.id, invoice, &update)
            .await?;
        if !kept_back {
            tracing::info!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, "invoice changed while its job ran, so it is not held");
            return Ok(JobOutcome::Done);
        }
        tracing::info!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, %reason, "invoice held");
        let number = &invoice.invoice_number;
        let event = if invoice.status != InvoiceStatus::Held {
            Some(format!("invoice {number} is held before sending: {reason}"))
        } else if invoice.reason.as_deref() != Some(reason.as_str()) {
            Some(format!(
                "invoice {number} was rebuilt and is held again: {reason}"
            ))
        } else {
            // Held for the same reason as before: the timeline has it already.
            None
        };
        if let Some(event) = event {
            self.po_event(account.id, invoice.po, &event).await?;
        }
        Ok(JobOutcome::Wait { reason })
    }

    fn send_store_failure(&self, job: &Job, error: StoreError) -> JobOutcome {
        tracing::error!(job.id = %job.id, error = %error, "send job hit a store error");
        retry_or_fail(
            job,
            self.clock.now(),
            STORE_RETRY_HOURS,
            true,
            format!("storage error: {error}"),
        )
    }
}

/// One post of an invoice and what came of it.
struct Posted<'a> {
    invoice: &'a InvoiceRecord,
    delivery: Delivery,
    /// True when an earlier attempt got no response.
    earlier_unknown: bool,
}

impl Posted<'_> {
    /// Returns Coupa's response explained, or `fallback` when there was
    /// no response.
    fn explain(&self, fallback: String) -> String {
        match answered(&self.delivery) {
            Some((code, text)) => explain(code, text),
            None => fallback,
        }
    }
}

fn log_settled(account: &Account, invoice: &InvoiceRecord, update: &InvoiceUpdate) {
    let reason = update.reason.as_deref().unwrap_or("");
    match update.status {
        InvoiceStatus::Sent => {
            tracing::info!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, "Coupa accepted the invoice")
        }
        status => {
            tracing::warn!(tenant.id = %account.id, invoice.id = %invoice.id, invoice.number = %invoice.invoice_number, status = status.as_str(), %reason, "invoice not accepted by Coupa")
        }
    }
}

/// Builds the purchase order timeline's line for a settled post.
fn settled_event(number: &str, update: &InvoiceUpdate, outcome: &JobOutcome) -> String {
    let reason = update.reason.as_deref().unwrap_or_default();
    match (update.status, outcome) {
        (InvoiceStatus::Sent, _) => {
            let code = update.coupa_status.unwrap_or_default();
            let text = update.coupa_text.as_deref().unwrap_or_default();
            format!("Coupa accepted invoice {number} ({code} \"{text}\")")
        }
        (InvoiceStatus::ProbablyDelivered, _) => format!(
            "invoice {number} was probably delivered: an earlier attempt got no response and \
             Coupa rejected the same number sent again, so confirm it in Coupa"
        ),
        // Without a Coupa status the post never left, as for a rejected
        // invoice URL, so Coupa did not reject anything.
        (InvoiceStatus::Failed, _) if update.coupa_status.is_none() => {
            format!("invoice {number} failed: {reason}")
        }
        (InvoiceStatus::Failed, _) if matches!(update.coupa_status, Some(300..=399)) => {
            format!("Coupa redirected invoice {number}: {reason}")
        }
        (InvoiceStatus::Failed, _) => format!("Coupa rejected invoice {number}: {reason}"),
        (InvoiceStatus::NeedsAttention, _) => format!("invoice {number} needs attention: {reason}"),
        (_, JobOutcome::Retry { run_at, .. }) => format!(
            "invoice {number} was not delivered and is sent again at {}: {reason}",
            timestamp(*run_at)
        ),
        (status, _) => format!("invoice {number} is {}: {reason}", status.as_str()),
    }
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The reason an order could not be fetched.
enum Fetch {
    /// Worth trying again soon.
    Retry(BrightpearlError),
    /// A person must act first.
    Wait(String),
}

/// Coupa's status code and text, when it responded.
fn answered(delivery: &Delivery) -> Option<(u16, &str)> {
    match delivery {
        Delivery::Answered { code, text, .. } => Some((*code, text.as_str())),
        Delivery::NotSent { .. } | Delivery::NotAllowed { .. } | Delivery::Unknown { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn update(status: InvoiceStatus, reason: Option<&str>) -> InvoiceUpdate {
        InvoiceUpdate {
            status,
            reason: reason.map(str::to_owned),
            coupa_status: None,
            coupa_text: None,
            counts_attempt: true,
            outcome_unknown: None,
            document: None,
            sent_at: None,
        }
    }

    #[test]
    fn settled_event_names_each_outcome() {
        let sent = InvoiceUpdate {
            coupa_status: Some(200),
            coupa_text: Some("OK".to_owned()),
            ..update(InvoiceStatus::Sent, None)
        };
        let run_at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 0).unwrap();
        let retry = JobOutcome::Retry {
            run_at,
            error: "Coupa answered 503".to_owned(),
            counts: true,
        };
        let failed = JobOutcome::Failed {
            error: String::new(),
        };
        let cases = [
            (
                sent,
                JobOutcome::Done,
                "Coupa accepted invoice INV-7 (200 \"OK\")",
            ),
            (
                InvoiceUpdate {
                    coupa_status: Some(417),
                    ..update(
                        InvoiceStatus::Failed,
                        Some("Coupa answered 417 \"x\": advice"),
                    )
                },
                failed.clone(),
                "Coupa rejected invoice INV-7: Coupa answered 417 \"x\": advice",
            ),
            (
                InvoiceUpdate {
                    coupa_status: Some(302),
                    ..update(
                        InvoiceStatus::Failed,
                        Some("Coupa answered 302 \"redirected to x\""),
                    )
                },
                failed.clone(),
                "Coupa redirected invoice INV-7: Coupa answered 302 \"redirected to x\"",
            ),
            (
                update(
                    InvoiceStatus::Failed,
                    Some("the invoice was not sent: the invoice URL's host 10.0.0.1, ..."),
                ),
                failed.clone(),
                "invoice INV-7 failed: the invoice was not sent: the invoice URL's host \
                 10.0.0.1, ...",
            ),
            (
                update(InvoiceStatus::Pending, Some("Coupa answered 503")),
                retry,
                "invoice INV-7 was not delivered and is sent again at 2026-03-02T09:05:00Z: \
                 Coupa answered 503",
            ),
            (
                update(
                    InvoiceStatus::NeedsAttention,
                    Some("gave up after retrying"),
                ),
                failed,
                "invoice INV-7 needs attention: gave up after retrying",
            ),
        ];
        for (update, outcome, expected) in cases {
            assert_eq!(settled_event("INV-7", &update, &outcome), expected);
        }

        let probable = settled_event(
            "INV-7",
            &update(InvoiceStatus::ProbablyDelivered, Some(PROBABLY_DELIVERED)),
            &JobOutcome::Done,
        );
        assert!(
            probable.starts_with("invoice INV-7 was probably delivered"),
            "{probable}"
        );
        assert!(probable.contains("confirm it in Coupa"), "{probable}");
    }
}
