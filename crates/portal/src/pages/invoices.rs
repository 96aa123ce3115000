//! The invoice log lists the account's invoices and credits, filtered by
//! status, invoice or PO number and invoice date. Each invoice has a page
//! with Coupa's responses explained and the document sent. Invoices are
//! retried or confirmed one at a time, or every failed invoice that matches
//! the filter is retried after a dry run.
//!
//! Invoices are named by their store id in URLs, because invoice numbers
//! are unique only per buyer. Another account's id is "not found". Every
//! action goes through the engine's invoice actions, the ones behind
//! `pobridge invoices`, and is recorded in the audit trail.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use chrono_tz::Tz;
use pobridge_engine::admin::invoice_bulk::{
    failed_invoice_ids, retry_by_id, PlannedOutcome, PlannedRetry,
};
use pobridge_engine::admin::invoice_log::{
    invoice_log, InvoiceLogQuery, InvoiceLogRow, INVOICE_STATUSES,
};
use pobridge_engine::admin::invoice_record::{invoice_record, InvoiceRecordView};
use pobridge_engine::admin::order_log::account_zone;
use pobridge_engine::admin::{self, InvoiceRow};
use pobridge_engine::retention::removed_notice;
use pobridge_store::{InvoiceId, InvoiceKind, InvoiceStatus};
use rust_decimal::Decimal;

use super::buyers::audit;
use super::orders::{
    bulk_notice, parse_id, parse_ids, status_words, when, BulkForm, FilterErrors, LogFilter,
    LogView,
};
use crate::auth::Member;
use crate::extract::{Form, Query};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/invoices", get(list_page))
        .route("/invoices/retry-failed", post(retry_failed))
        .route("/invoices/{id}", get(detail_page))
        .route("/invoices/{id}/retry", post(retry))
        .route("/invoices/{id}/confirm", post(confirm))
}

/// Returns the class of an invoice's status badge: `ok`, `warn`, `bad` or none.
pub(super) fn status_class(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Sent => "ok",
        InvoiceStatus::Failed
        | InvoiceStatus::NeedsAttention
        | InvoiceStatus::ChangedAfterSending => "bad",
        InvoiceStatus::Held | InvoiceStatus::ProbablyDelivered => "warn",
        InvoiceStatus::Pending | InvoiceStatus::Sending | InvoiceStatus::Superseded => "",
    }
}

fn kind_word(kind: InvoiceKind) -> &'static str {
    match kind {
        InvoiceKind::Invoice => "invoice",
        InvoiceKind::Credit => "credit",
    }
}

fn money(amount: Decimal, currency: &str) -> String {
    format!("{amount} {currency}")
}

/// One invoice in the log.
struct ListRow {
    href: String,
    invoice_number: String,
    po_href: String,
    po_number: String,
    buyer: String,
    kind: &'static str,
    status: String,
    class: &'static str,
    reason: String,
    brightpearl_total: String,
    sent_total: String,
    date: String,
    updated: String,
}

impl ListRow {
    fn new(row: InvoiceLogRow, zone: Tz) -> Self {
        Self {
            href: format!("/invoices/{}", row.id),
            po_href: format!("/orders/{}", row.po),
            kind: kind_word(row.kind),
            status: status_words(row.status.as_str()),
            class: status_class(row.status),
            reason: row.reason.unwrap_or_default(),
            brightpearl_total: money(row.brightpearl_total, &row.currency),
            sent_total: row
                .sent_total
                .map(|total| money(total, &row.currency))
                .unwrap_or_else(|| "not built".to_owned()),
            date: row
                .invoice_date
                .with_timezone(&zone)
                .format("%Y-%m-%d")
                .to_string(),
            updated: when(row.updated_at, zone),
            invoice_number: row.invoice_number,
            po_number: row.po_number,
            buyer: row.buyer,
        }
    }
}

#[derive(Template)]
#[template(path = "invoices_list.html")]
struct ListPage {
    layout: Layout,
    log: LogView<ListRow>,
}

/// `GET /invoices`.
async fn list_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(filter): Query<LogFilter>,
) -> Result<Response, PortalError> {
    let mut errors = FilterErrors::default();
    let query = invoice_query(&filter, &mut errors);
    let zone = account_zone(&member.account);
    let mut found = (Vec::new(), false);
    if errors.is_empty() {
        let log = invoice_log(&state.engine, member.slug(), &query, filter.log_page()).await?;
        let rows = log.rows.into_iter().map(|row| ListRow::new(row, zone));
        found = (rows.collect(), log.has_more);
    }

    let name = InvoiceStatus::as_str as fn(InvoiceStatus) -> &'static str;
    let page = ListPage {
        layout: Layout::new(&member, &jar, "invoices"),
        log: LogView::new(
            "/invoices",
            filter,
            errors,
            (INVOICE_STATUSES.as_slice(), name),
            zone,
            found,
        ),
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

fn invoice_query(filter: &LogFilter, errors: &mut FilterErrors) -> InvoiceLogQuery {
    let status = filter.status_in(&INVOICE_STATUSES, InvoiceStatus::as_str, errors);
    let (dated_from, dated_to) = filter.dates(errors);
    InvoiceLogQuery {
        status,
        search: filter.search(),
        dated_from,
        dated_to,
    }
}

/// A link to another invoice of the same purchase order.
struct SiblingView {
    href: String,
    number: String,
    kind: &'static str,
    status: String,
}

/// One entry of the invoice's timeline.
struct EventView {
    at: String,
    message: String,
}

/// The invoice's page with every time in the account's zone.
#[derive(Template)]
#[template(path = "invoices_detail.html")]
struct DetailPage {
    layout: Layout,
    view: InvoiceRecordView,
    kind: &'static str,
    status: String,
    class: &'static str,
    po_href: String,
    brightpearl_total: String,
    sent_total: String,
    date: String,
    created: String,
    sent: String,
    /// Shown in place of the document when retention removed it.
    removed: Option<String>,
    events: Vec<EventView>,
    siblings: Vec<SiblingView>,
}

/// `GET /invoices/{id}`.
async fn detail_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PortalError> {
    let id = InvoiceId(parse_id(&id)?);
    let view = invoice_record(&state.engine, member.slug(), id).await?;

    let layout = Layout::new(&member, &jar, "invoices");
    let page = DetailPage::new(layout, view, account_zone(&member.account));
    Ok(page_with_layout(&page.layout.clone(), page))
}

impl DetailPage {
    fn new(layout: Layout, view: InvoiceRecordView, zone: Tz) -> Self {
        let summary: &InvoiceRow = &view.detail.summary;
        let events = view
            .timeline
            .iter()
            .map(|event| EventView {
                at: when(event.at, zone),
                message: event.message.clone(),
            })
            .collect();
        let siblings = view
            .siblings
            .iter()
            .map(|sibling| SiblingView {
                href: format!("/invoices/{}", sibling.id),
                number: sibling.invoice_number.clone(),
                kind: kind_word(sibling.kind),
                status: status_words(sibling.status.as_str()),
            })
            .collect();
        Self {
            layout,
            kind: kind_word(summary.kind),
            status: status_words(summary.status.as_str()),
            class: status_class(summary.status),
            po_href: format!("/orders/{}", view.po),
            brightpearl_total: money(summary.brightpearl_total, &summary.currency),
            sent_total: summary
                .sent_total
                .map(|total| money(total, &summary.currency))
                .unwrap_or_else(|| "no document built yet".to_owned()),
            date: summary
                .invoice_date
                .with_timezone(&zone)
                .format("%Y-%m-%d")
                .to_string(),
            created: when(view.detail.created_at, zone),
            sent: view
                .detail
                .sent_at
                .map(|at| when(at, zone))
                .unwrap_or_else(|| "not yet".to_owned()),
            removed: view
                .detail
                .document_removed_at
                .map(|at| removed_notice(at.with_timezone(&zone).date_naive())),
            events,
            siblings,
            view,
        }
    }
}

/// Loads the invoice `id` of the member's account and its buyer's name.
async fn invoice_and_buyer(
    state: &PortalState,
    member: &Member,
    id: &str,
) -> Result<(pobridge_store::InvoiceRecord, String), PortalError> {
    let id = InvoiceId(parse_id(id)?);
    let store = &state.engine.store;
    let record = store.invoice(member.account.id, id).await?;
    let buyer = store.buyer(member.account.id, record.buyer).await?;
    Ok((record, buyer.name))
}

/// `POST /invoices/{id}/retry`: rebuilds the invoice from Brightpearl with
/// the current settings and sends it under the same number.
async fn retry(
    State(state): State<PortalState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, PortalError> {
    let (record, buyer) = invoice_and_buyer(&state, &member, &id).await?;

    let planned = retry_by_id(&state.engine, member.slug(), &[record.id], false).await?;
    if let Some(PlannedOutcome::Rejected { reason }) = planned.first().map(|row| &row.outcome) {
        return Err(PortalError::Refused(format!(
            "Invoice {} was not retried: {reason}",
            record.invoice_number
        )));
    }
    let detail = format!(
        "queued invoice {} (buyer {buyer}) to be rebuilt and sent again; it was {}",
        record.invoice_number,
        record.status.as_str()
    );
    audit(&state, &member, "invoice.retry", detail).await?;
    let notice = format!(
        "Invoice {} is queued: pobridge rebuilds it with the current settings and sends it under the same number.",
        record.invoice_number
    );
    Ok(redirect_with_notice(
        &format!("/invoices/{}", record.id),
        &notice,
    ))
}

/// `POST /invoices/{id}/confirm`: records that a person found the invoice
/// in Coupa, or made the change there by hand.
async fn confirm(
    State(state): State<PortalState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, PortalError> {
    let (record, buyer) = invoice_and_buyer(&state, &member, &id).await?;

    let confirmed = admin::confirm_invoice(
        &state.engine,
        member.slug(),
        &record.invoice_number,
        Some(&buyer),
    )
    .await?;
    audit(&state, &member, "invoice.confirm", confirmed.audit_detail()).await?;
    let notice = if confirmed.previous_status == InvoiceStatus::Held {
        format!(
            "Invoice {} is recorded as entered in Coupa by hand.",
            confirmed.invoice_number
        )
    } else {
        format!(
            "Invoice {} is confirmed as delivered to Coupa.",
            confirmed.invoice_number
        )
    };
    Ok(redirect_with_notice(
        &format!("/invoices/{}", record.id),
        &notice,
    ))
}

/// One invoice of a bulk retry.
struct BulkRow {
    href: String,
    invoice_number: String,
    buyer: String,
    status: String,
    /// `would retry`, `queued` or `left unchanged`.
    outcome: &'static str,
    class: &'static str,
    reason: String,
}

impl BulkRow {
    fn new(planned: PlannedRetry) -> Self {
        let (outcome, class, reason) = match planned.outcome {
            PlannedOutcome::WouldQueue => ("would retry", "warn", String::new()),
            PlannedOutcome::Queued => ("queued", "ok", String::new()),
            PlannedOutcome::Rejected { reason } => ("left unchanged", "", reason),
        };
        Self {
            href: format!("/invoices/{}", planned.id),
            invoice_number: planned.invoice_number,
            buyer: planned.buyer,
            status: planned
                .status
                .map(|status| status_words(status.as_str()))
                .unwrap_or_default(),
            outcome,
            class,
            reason,
        }
    }
}

#[derive(Template)]
#[template(path = "invoices_bulk.html")]
struct BulkPage {
    layout: Layout,
    filter: LogFilter,
    back: String,
    rows: Vec<BulkRow>,
    /// The ids the confirm form retries, comma-separated.
    ids: String,
}

/// `POST /invoices/retry-failed`. With `dry_run=1`, it lists which failed
/// invoices that match the filter a retry would queue, and changes nothing.
/// With the ids of a dry run, it retries them.
async fn retry_failed(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<BulkForm>,
) -> Result<Response, PortalError> {
    let back = form.filter.link("/invoices", 1);
    if !form.is_dry_run() {
        let ids: Vec<InvoiceId> = parse_ids(&form.ids)?.into_iter().map(InvoiceId).collect();
        let done = retry_by_id(&state.engine, member.slug(), &ids, false).await?;
        let queued: Vec<&str> = done
            .iter()
            .filter(|row| row.outcome == PlannedOutcome::Queued)
            .map(|row| row.invoice_number.as_str())
            .collect();
        let notice = bulk_notice("Retry", ("invoice", "invoices"), &queued, done.len());
        let detail = format!("bulk retry of failed invoices: {notice}");
        audit(&state, &member, "invoices.retry_failed", detail).await?;
        return Ok(redirect_with_notice(&back, &notice));
    }

    let mut errors = FilterErrors::default();
    let query = invoice_query(&form.filter, &mut errors);
    if !errors.is_empty() {
        return Err(PortalError::Refused(
            "The filter has an invalid value. Go back to the invoice log and correct it."
                .to_owned(),
        ));
    }
    let ids = failed_invoice_ids(&state.engine, member.slug(), &query).await?;
    let planned = retry_by_id(&state.engine, member.slug(), &ids, true).await?;
    let queued: Vec<String> = planned
        .iter()
        .filter(|row| row.outcome == PlannedOutcome::WouldQueue)
        .map(|row| row.id.to_string())
        .collect();

    let page = BulkPage {
        layout: Layout::new(&member, &jar, "invoices"),
        filter: form.filter,
        back,
        rows: planned.into_iter().map(BulkRow::new).collect(),
        ids: queued.join(","),
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}
