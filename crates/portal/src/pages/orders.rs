//! The order log lists the account's purchase orders, filtered by status,
//! PO number and the day they were received. Each order has a page with its
//! timeline, documents and Brightpearl record. Orders are re-synced or
//! marked handled one at a time, or every failed order that matches the
//! filter is re-synced after a dry run.
//!
//! Orders are named by their store id in URLs, because a PO number may be
//! used by several buyers. Another account's id is "not found". Every
//! action goes through the engine's order actions, the ones behind
//! `pobridge orders`, and is recorded in the audit trail.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use pobridge_core::PoId;
use pobridge_engine::admin::order_bulk::{failed_order_ids, resync_by_id, PlannedResync};
use pobridge_engine::admin::order_log::{
    account_zone, order_log, LogPage, OrderLogQuery, OrderLogRow, PO_STATUSES,
};
use pobridge_engine::admin::order_record::{order_record, OrderRecord};
use pobridge_engine::admin::{self, ResyncOutcome};
use pobridge_engine::retention::removed_notice;
use pobridge_store::{JobStatus, PoStatus};
use serde::Deserialize;

use super::buyers::audit;
use crate::auth::Member;
use crate::extract::{Form, Query};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// Rows on one page of a log.
pub(super) const PAGE_SIZE: usize = 50;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/orders", get(list_page))
        .route("/orders/resync-failed", post(resync_failed))
        .route("/orders/{id}", get(detail_page))
        .route("/orders/{id}/resync", post(resync))
        .route("/orders/{id}/handled", post(mark_handled))
}

/// The filter of a log as typed, from the query string or a form.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct LogFilter {
    #[serde(default)]
    pub status: String,
    /// Part of a PO number, or of an invoice number in the invoice log.
    #[serde(default)]
    pub q: String,
    /// The first day, as `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    /// The last day, as `YYYY-MM-DD`.
    #[serde(default)]
    pub to: String,
    /// The page number, from 1.
    #[serde(default)]
    pub page: String,
}

/// The error message of each invalid field of a log's filter.
#[derive(Debug, Clone, Default)]
pub(super) struct FilterErrors {
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl FilterErrors {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.from.is_none() && self.to.is_none()
    }
}

impl LogFilter {
    /// Parses the status against `choices`, named as `name` names them.
    pub fn status_in<T: Copy>(
        &self,
        choices: &[T],
        name: fn(T) -> &'static str,
        errors: &mut FilterErrors,
    ) -> Option<T> {
        let typed = self.status.trim();
        if typed.is_empty() {
            return None;
        }
        let found = choices
            .iter()
            .copied()
            .find(|choice| name(*choice) == typed);
        if found.is_none() {
            errors.status = Some(format!(
                "{typed:?} is not a status; choose one from the list."
            ));
        }
        found
    }

    /// Parses both dates, and checks that the range is not backwards.
    pub fn dates(&self, errors: &mut FilterErrors) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let from = parse_day(&self.from).unwrap_or_else(|message| {
            errors.from = Some(message);
            None
        });
        let to = parse_day(&self.to).unwrap_or_else(|message| {
            errors.to = Some(message);
            None
        });
        if let (Some(first), Some(last)) = (from, to) {
            if last < first {
                errors.to = Some(format!(
                    "This date is before the first date; choose {first} or later."
                ));
            }
        }
        (from, to)
    }

    /// Returns the search text, or `None` when only spaces were typed.
    pub fn search(&self) -> Option<String> {
        let text = self.q.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// Returns the page number, from 1. A missing or unreadable number is page 1,
    /// because it comes from the pager's links rather than from a field.
    pub fn page_number(&self) -> usize {
        self.page.trim().parse().unwrap_or(1).max(1)
    }

    /// Returns the message for a `page` that is not a page number. The log
    /// still shows the first page, as [`Self::page_number`] reads it.
    pub fn page_error(&self) -> Option<String> {
        let text = self.page.trim();
        match text.parse::<usize>() {
            Ok(page) if page >= 1 => None,
            _ if text.is_empty() => None,
            _ => Some(format!(
                "Page {text:?} is not a page number, so the first page is shown. \
                 Pages are numbered from 1."
            )),
        }
    }

    pub fn log_page(&self) -> LogPage {
        LogPage {
            offset: (self.page_number() - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        }
    }

    /// Builds the link to page `page` of the log at `path` with this filter.
    pub fn link(&self, path: &str, page: usize) -> String {
        let query = self.query_string(page);
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }

    /// Builds the query string of this filter at page `page`, for the pager.
    pub fn query_string(&self, page: usize) -> String {
        let page = page.to_string();
        let mut fields = vec![
            ("status", self.status.trim()),
            ("q", self.q.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
        ];
        fields.retain(|(_, value)| !value.is_empty());
        if page != "1" {
            fields.push(("page", &page));
        }
        serde_urlencoded::to_string(fields).unwrap_or_default()
    }
}

fn parse_day(text: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{text:?} is not a date; enter it as YYYY-MM-DD, such as 2026-03-02."))
}

/// The links to the pages before and after the one shown.
pub(super) struct Pager {
    pub number: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(path: &str, filter: &LogFilter, has_more: bool) -> Self {
        let number = filter.page_number();
        Self {
            number,
            previous: (number > 1).then(|| filter.link(path, number - 1)),
            next: has_more.then(|| filter.link(path, number + 1)),
        }
    }
}

/// Formats a time in the account's time zone, such as `2026-03-02 14:05`.
pub(super) fn when(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// Writes a status as people read it: `awaiting_mapping` as "awaiting mapping".
pub(super) fn status_words(name: &str) -> String {
    name.replace('_', " ")
}

/// Returns the class of a purchase order's status badge: `ok`, `warn`, `bad` or
/// none for a neutral status.
pub(super) fn po_status_class(status: PoStatus) -> &'static str {
    match status {
        PoStatus::Synced | PoStatus::Shipped | PoStatus::Invoiced | PoStatus::Validated => "ok",
        PoStatus::Failed => "bad",
        PoStatus::AwaitingMapping
        | PoStatus::AwaitingCustomer
        | PoStatus::AwaitingSettings
        | PoStatus::HeldForReview
        | PoStatus::Retrying
        | PoStatus::Paused => "warn",
        PoStatus::Received | PoStatus::Cancelled | PoStatus::TestNotSynced => "",
    }
}

/// Reads ids from a comma-separated list, as the confirm form of a dry run
/// sends them. Fails on anything but whole numbers.
pub(super) fn parse_ids(text: &str) -> Result<Vec<i64>, PortalError> {
    let ids: Result<Vec<i64>, _> = text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect();
    match ids {
        Ok(ids) if !ids.is_empty() => Ok(ids),
        _ => Err(PortalError::Refused(
            "Nothing valid was chosen. Go back to the log, run the dry run again and confirm it."
                .to_owned(),
        )),
    }
}

/// A status filter choice.
pub(super) struct StatusChoice {
    pub value: &'static str,
    pub label: String,
}

/// The content of a log page besides the layout: the filter as typed with
/// its errors, the status choices, one page of rows and the pager.
pub(super) struct LogView<R> {
    pub filter: LogFilter,
    pub errors: FilterErrors,
    pub statuses: Vec<StatusChoice>,
    /// The IANA name of the account's time zone, whose days the dates select.
    pub time_zone: String,
    pub rows: Vec<R>,
    pub pager: Pager,
    /// Why the page number in the address was not used.
    pub page_error: Option<String>,
}

impl<R> LogView<R> {
    /// Builds the view of the log at `path`. `statuses` are named as
    /// `name` names them; `has_more` tells whether a next page exists.
    pub fn new<T: Copy>(
        path: &str,
        filter: LogFilter,
        errors: FilterErrors,
        (statuses, name): (&[T], fn(T) -> &'static str),
        zone: Tz,
        (rows, has_more): (Vec<R>, bool),
    ) -> Self {
        Self {
            statuses: statuses
                .iter()
                .map(|status| StatusChoice {
                    value: name(*status),
                    label: status_words(name(*status)),
                })
                .collect(),
            time_zone: zone.name().to_owned(),
            pager: Pager::new(path, &filter, has_more),
            page_error: filter.page_error(),
            rows,
            errors,
            filter,
        }
    }
}

/// One order in the log.
struct ListRow {
    href: String,
    po_number: String,
    buyer: String,
    status: String,
    class: &'static str,
    reason: String,
    brightpearl: String,
    received: String,
    updated: String,
}

impl ListRow {
    fn new(row: OrderLogRow, zone: Tz) -> Self {
        Self {
            href: format!("/orders/{}", row.id),
            status: status_words(row.status.as_str()),
            class: po_status_class(row.status),
            reason: row.reason.unwrap_or_default(),
            brightpearl: row
                .brightpearl_order_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            received: when(row.received_at, zone),
            updated: when(row.updated_at, zone),
            po_number: row.po_number,
            buyer: row.buyer,
        }
    }
}

#[derive(Template)]
#[template(path = "orders_list.html")]
struct ListPage {
    layout: Layout,
    log: LogView<ListRow>,
}

/// `GET /orders`.
async fn list_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(filter): Query<LogFilter>,
) -> Result<Response, PortalError> {
    let mut errors = FilterErrors::default();
    let query = order_query(&filter, &mut errors);
    let zone = account_zone(&member.account);
    let mut found = (Vec::new(), false);
    if errors.is_empty() {
        let log = order_log(&state.engine, member.slug(), &query, filter.log_page()).await?;
        let rows = log.rows.into_iter().map(|row| ListRow::new(row, zone));
        found = (rows.collect(), log.has_more);
    }

    let statuses = (
        PO_STATUSES.as_slice(),
        PoStatus::as_str as fn(PoStatus) -> &'static str,
    );
    let page = ListPage {
        layout: Layout::new(&member, &jar, "orders"),
        log: LogView::new("/orders", filter, errors, statuses, zone, found),
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

fn order_query(filter: &LogFilter, errors: &mut FilterErrors) -> OrderLogQuery {
    let status = filter.status_in(&PO_STATUSES, PoStatus::as_str, errors);
    let (received_from, received_to) = filter.dates(errors);
    OrderLogQuery {
        status,
        search: filter.search(),
        received_from,
        received_to,
    }
}

/// One entry of the order's timeline.
struct EventView {
    at: String,
    status: String,
    class: &'static str,
    message: String,
}

/// One received revision.
struct RevisionView {
    id: String,
    kind: &'static str,
    version: String,
    status: String,
    received: String,
    test: bool,
}

/// One stored document, masked.
struct DocumentView {
    title: String,
    content_type: String,
    text: String,
    /// Shown in place of the body when retention removed it.
    removed: Option<String>,
}

/// The order's page with every time in the account's zone.
#[derive(Template)]
#[template(path = "orders_detail.html")]
struct DetailPage {
    layout: Layout,
    record: OrderRecord,
    status: String,
    class: &'static str,
    held: bool,
    events: Vec<EventView>,
    revisions: Vec<RevisionView>,
    documents: Vec<DocumentView>,
    held_changes: Vec<(String, String)>,
    /// The sync job's state in words, when there is one.
    job: Option<Vec<(&'static str, String)>>,
    brightpearl_orders: Vec<(String, String, String, String)>,
    invoices: Vec<(String, String, String)>,
}

/// `GET /orders/{id}`.
async fn detail_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PortalError> {
    let id = parse_id(&id)?;
    let record = order_record(&state.engine, member.slug(), PoId(id)).await?;

    let layout = Layout::new(&member, &jar, "orders");
    let page = DetailPage::new(layout, record, account_zone(&member.account));
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// Reads an id from a path. A path that is not a number names nothing, so
/// it is "not found" like an id of another account.
pub(super) fn parse_id(text: &str) -> Result<i64, PortalError> {
    text.trim().parse().map_err(|_| PortalError::NotFound)
}

impl DetailPage {
    fn new(layout: Layout, record: OrderRecord, zone: Tz) -> Self {
        let detail = &record.detail;
        let events = detail
            .events
            .iter()
            .map(|event| EventView {
                at: when(event.at, zone),
                status: status_words(event.status.as_str()),
                class: po_status_class(event.status),
                message: event.message.clone(),
            })
            .collect();
        let revisions = detail
            .revisions
            .iter()
            .map(|revision| RevisionView {
                id: revision.id.to_string(),
                kind: match revision.order_type {
                    pobridge_store::OrderType::New => "new",
                    pobridge_store::OrderType::Update => "update",
                    pobridge_store::OrderType::Delete => "cancellation",
                },
                version: revision
                    .order_version
                    .map(|version| version.to_string())
                    .unwrap_or_default(),
                status: status_words(&serialized_name(&revision.status)),
                received: when(revision.received_at, zone),
                test: revision.test,
            })
            .collect();
        let documents = record
            .documents
            .iter()
            .map(|document| DocumentView {
                title: format!(
                    "Revision {} received {} (payloadID {})",
                    document.revision,
                    when(document.received_at, zone),
                    document.payload_id
                ),
                content_type: document.content_type.clone(),
                text: document.text.clone(),
                removed: document
                    .removed_at
                    .map(|at| removed_notice(at.with_timezone(&zone).date_naive())),
            })
            .collect();
        let held_changes = record
            .held_changes
            .iter()
            .map(|change| {
                let title = format!(
                    "Revision {} received {}",
                    change.revision,
                    when(change.received_at, zone)
                );
                (title, change.diff.clone())
            })
            .collect();
        let job = record.sync_job.as_ref().map(|job| {
            let mut facts = vec![
                ("Job status", status_words(&serialized_name(&job.status))),
                (
                    "Attempts counted toward the retry limit",
                    job.attempts.to_string(),
                ),
            ];
            if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
                facts.push(("Next run", when(job.run_at, zone)));
            }
            // A job that finished keeps the error of an earlier attempt,
            // which no longer describes the order.
            if let Some(error) = &job.last_error {
                let label = if job.status == JobStatus::Done {
                    "Error of an earlier attempt"
                } else {
                    "Last error"
                };
                facts.push((label, error.clone()));
            }
            facts
        });
        let brightpearl_orders = record
            .brightpearl_orders
            .iter()
            .map(|order| {
                let kind = match order.kind {
                    pobridge_store::TrackedKind::Created => "sales order pobridge created",
                    pobridge_store::TrackedKind::BackOrder => "back order",
                    pobridge_store::TrackedKind::Credit => "sales credit",
                    pobridge_store::TrackedKind::CustomerReference => {
                        "order with this PO number as customer reference"
                    }
                };
                let kind = match order.parent_order_id {
                    Some(parent) => format!("{kind} of order {parent}"),
                    None => kind.to_owned(),
                };
                (
                    order.order_id.to_string(),
                    kind,
                    order.invoice_reference.clone().unwrap_or_default(),
                    when(order.checked_at, zone),
                )
            })
            .collect();
        let invoices = record
            .invoices
            .iter()
            .map(|invoice| {
                (
                    format!("/invoices/{}", invoice.id),
                    invoice.invoice_number.clone(),
                    status_words(invoice.status.as_str()),
                )
            })
            .collect();
        Self {
            layout,
            status: status_words(detail.status.as_str()),
            class: po_status_class(detail.status),
            held: detail.status == PoStatus::HeldForReview,
            events,
            revisions,
            documents,
            held_changes,
            job,
            brightpearl_orders,
            invoices,
            record,
        }
    }
}

/// Returns the snake_case name that a status serializes to, such as
/// `held_for_review`, for the statuses without an `as_str`.
fn serialized_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// `POST /orders/{id}/resync`: queues a fresh sync of one order with the
/// current settings.
async fn resync(
    State(state): State<PortalState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, PortalError> {
    let id = PoId(parse_id(&id)?);
    let po = state
        .engine
        .store
        .purchase_order(member.account.id, id)
        .await?;

    let planned = resync_by_id(&state.engine, member.slug(), &[po.id], false).await?;
    let Some(row) = planned.into_iter().next() else {
        return Err(PortalError::NotFound);
    };
    if let ResyncOutcome::Rejected { reason } = &row.row.outcome {
        return Err(PortalError::Refused(format!(
            "PO {} was not re-synced: {reason}",
            po.number
        )));
    }
    let detail = format!(
        "queued a re-sync of PO {} (buyer {}): {}",
        po.number,
        row.row.buyer,
        row.effect.unwrap_or_default()
    );
    audit(&state, &member, "order.resync", detail).await?;
    let notice = format!(
        "Re-sync queued: pobridge syncs PO {} again with the current settings.",
        po.number
    );
    Ok(redirect_with_notice(&format!("/orders/{id}"), &notice))
}

/// `POST /orders/{id}/handled`: records that a person applied the held
/// change in Brightpearl, or decided against it.
async fn mark_handled(
    State(state): State<PortalState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, PortalError> {
    let id = PoId(parse_id(&id)?);
    let store = &state.engine.store;
    let po = store.purchase_order(member.account.id, id).await?;
    let buyer = store.buyer(member.account.id, po.buyer_id).await?;

    let handled = admin::mark_handled(
        &state.engine,
        member.slug(),
        po.number.as_str(),
        Some(&buyer.name),
    )
    .await?;
    let detail = format!(
        "marked PO {} (buyer {}) handled: {} held revision(s)",
        handled.po_number,
        handled.buyer,
        handled.handled.len()
    );
    audit(&state, &member, "order.mark_handled", detail).await?;
    let notice = format!(
        "PO {} is marked handled and counts as synced again.",
        po.number
    );
    Ok(redirect_with_notice(&format!("/orders/{id}"), &notice))
}

/// The bulk re-sync form: the log's filter, and either `dry_run=1` or the
/// ids the dry run listed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct BulkForm {
    #[serde(flatten)]
    pub filter: LogFilter,
    #[serde(default)]
    pub dry_run: String,
    #[serde(default)]
    pub ids: String,
}

impl BulkForm {
    pub fn is_dry_run(&self) -> bool {
        !self.dry_run.trim().is_empty() && self.dry_run.trim() != "0"
    }
}

/// One order of a bulk re-sync.
struct BulkRow {
    href: String,
    po_number: String,
    buyer: String,
    status: String,
    /// `would re-sync`, `queued` or `left unchanged`.
    outcome: &'static str,
    class: &'static str,
    detail: String,
}

impl BulkRow {
    fn new(planned: PlannedResync) -> Self {
        let (outcome, class, detail) = match planned.row.outcome {
            ResyncOutcome::WouldQueue => ("would re-sync", "warn", planned.effect),
            ResyncOutcome::Queued => ("queued", "ok", planned.effect),
            ResyncOutcome::Rejected { reason } => ("left unchanged", "", Some(reason)),
        };
        Self {
            href: format!("/orders/{}", planned.id),
            po_number: planned.row.po_number,
            buyer: planned.row.buyer,
            status: planned
                .row
                .status
                .map(|status| status_words(status.as_str()))
                .unwrap_or_default(),
            outcome,
            class,
            detail: detail.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "orders_bulk.html")]
struct BulkPage {
    layout: Layout,
    /// The log's filter, for the link back and the confirm form.
    filter: LogFilter,
    back: String,
    rows: Vec<BulkRow>,
    /// The ids the confirm form re-syncs, comma-separated.
    ids: String,
}

/// `POST /orders/resync-failed`. With `dry_run=1`, it lists what re-syncing
/// every failed order that matches the filter would do, and changes
/// nothing. With the ids of a dry run, it re-syncs them.
async fn resync_failed(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<BulkForm>,
) -> Result<Response, PortalError> {
    let back = form.filter.link("/orders", 1);
    if !form.is_dry_run() {
        let ids: Vec<PoId> = parse_ids(&form.ids)?.into_iter().map(PoId).collect();
        let done = resync_by_id(&state.engine, member.slug(), &ids, false).await?;
        let queued: Vec<&str> = done
            .iter()
            .filter(|row| row.row.outcome == ResyncOutcome::Queued)
            .map(|row| row.row.po_number.as_str())
            .collect();
        let notice = bulk_notice("Re-sync", ("order", "orders"), &queued, done.len());
        let detail = format!("bulk re-sync of failed orders: {notice}");
        audit(&state, &member, "orders.resync_failed", detail).await?;
        return Ok(redirect_with_notice(&back, &notice));
    }

    let mut errors = FilterErrors::default();
    let query = order_query(&form.filter, &mut errors);
    if !errors.is_empty() {
        return Err(PortalError::Refused(
            "The filter has an invalid value. Go back to the order log and correct it.".to_owned(),
        ));
    }
    let ids = failed_order_ids(&state.engine, member.slug(), &query).await?;
    let planned = resync_by_id(&state.engine, member.slug(), &ids, true).await?;
    let queued: Vec<String> = planned
        .iter()
        .filter(|row| row.row.outcome == ResyncOutcome::WouldQueue)
        .map(|row| row.id.to_string())
        .collect();

    let page = BulkPage {
        layout: Layout::new(&member, &jar, "orders"),
        filter: form.filter,
        back,
        rows: planned.into_iter().map(BulkRow::new).collect(),
        ids: queued.join(","),
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// Words the result of a bulk action for the notice and the audit trail.
/// `action` ("Re-sync") was queued for the records named `queued`, out of
/// `total`. `nouns` are the singular and plural of what the records are.
pub(super) fn bulk_notice(
    action: &str,
    nouns: (&str, &str),
    queued: &[&str],
    total: usize,
) -> String {
    let (one, many) = nouns;
    let mut text = match queued.len() {
        0 => format!("Nothing was queued: no {one} changed."),
        1 => format!("{action} queued for 1 {one}: {}.", queued[0]),
        count => format!("{action} queued for {count} {many}: {}.", queued.join(", ")),
    };
    let unchanged = total - queued.len();
    if unchanged > 0 {
        text.push_str(&format!(
            " {unchanged} left unchanged, because they were already queued, done or not found \
             when the form was sent."
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_notice_names_queued_and_unchanged() {
        let notice = bulk_notice("Re-sync", ("order", "orders"), &["PO-1", "PO-2"], 4);

        assert_eq!(
            notice,
            "Re-sync queued for 2 orders: PO-1, PO-2. 2 left unchanged, because they were \
             already queued, done or not found when the form was sent."
        );
        assert_eq!(
            bulk_notice("Retry", ("invoice", "invoices"), &[], 1),
            "Nothing was queued: no invoice changed. 1 left unchanged, because they were \
             already queued, done or not found when the form was sent."
        );
    }
}
