//! The dashboard counts the account's orders and invoices for today, the
//! last 7 and the last 30 days, with the daily chart and the failure rate.
//! It lists the most frequent failure reasons, and the orders and invoices
//! waiting for a person with links to each and to the pages that release
//! them.
//!
//! The numbers come from the engine's `dashboard` action; the chart is the
//! SVG that [`crate::chart::daily_chart`] draws and escapes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use chrono_tz::Tz;
use pobridge_core::PoId;
use pobridge_engine::admin::dashboard::{
    account_dashboard, Dashboard, FailureKind, PeriodCounts, WaitingInvoiceRow, WaitingRow,
    WAITING_STATUSES,
};
use pobridge_engine::admin::order_log::account_zone;
use pobridge_store::{InvoiceKind, InvoiceStatus, PoStatus};
use rust_decimal::Decimal;

use super::orders::{po_status_class, status_words, when};
use crate::auth::Member;
use crate::chart::{daily_chart, ChartDay};
use crate::render::{page_with_layout, Layout, PortalError};
use crate::PortalState;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new().route("/dashboard", get(page))
}

/// One count card: a measure for today, the last 7 and the last 30 days.
struct CountCard {
    /// The element id prefix of the card's values, such as `received`.
    key: &'static str,
    label: &'static str,
    today: String,
    week: String,
    month: String,
    /// `bad` when today's count is a failure above zero.
    class: &'static str,
}

impl CountCard {
    /// Reads the card's three values with `measure`; `alert` marks a
    /// failure count that is above zero today.
    fn new(
        key: &'static str,
        label: &'static str,
        periods: [&PeriodCounts; 3],
        measure: fn(&PeriodCounts) -> String,
        alert: bool,
    ) -> Self {
        let [today, week, month] = periods.map(measure);
        Self {
            key,
            label,
            today,
            week,
            month,
            class: if alert { "bad" } else { "" },
        }
    }
}

/// A failure reason as listed.
struct ReasonRow {
    kind: &'static str,
    reason: String,
    count: u64,
    last_seen: String,
    /// The group's different texts, which differ only in quoted digits.
    texts: u64,
}

/// An order waiting for a person, with what releases it.
struct WaitingView {
    href: Option<String>,
    po_number: String,
    buyer: String,
    status: String,
    class: &'static str,
    reason: String,
    since: String,
    /// The page that releases the order, and the link's text.
    fix: Option<(&'static str, &'static str)>,
}

/// An invoice or credit waiting for a person, with what releases it.
struct WaitingInvoiceView {
    href: String,
    number: String,
    kind: &'static str,
    po_number: String,
    buyer: String,
    status: String,
    class: &'static str,
    reason: String,
    since: String,
    /// The step a person takes on the invoice's page.
    fix: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    today: String,
    time_zone: String,
    cards: Vec<CountCard>,
    /// The SVG of [`daily_chart`], whose text and attributes are escaped.
    chart: String,
    reasons: Vec<ReasonRow>,
    waiting: Vec<WaitingView>,
    waiting_total: usize,
    waiting_invoices: Vec<WaitingInvoiceView>,
    waiting_invoices_total: usize,
}

/// `GET /dashboard`.
async fn page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    let dashboard = account_dashboard(&state.engine, &member.account).await?;
    let ids = waiting_ids(&state, &member).await?;

    let zone = account_zone(&member.account);
    let layout = Layout::new(&member, &jar, "dashboard");
    let page = DashboardPage::new(layout, dashboard, &ids, zone);
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// Finds the id of each waiting order by buyer name and PO number, to link
/// to its page; the dashboard names orders by number only.
async fn waiting_ids(
    state: &PortalState,
    member: &Member,
) -> Result<HashMap<(String, String), PoId>, PortalError> {
    let store = &state.engine.store;
    let names: HashMap<_, _> = store
        .list_buyers(member.account.id)
        .await?
        .into_iter()
        .map(|buyer| (buyer.id, buyer.name))
        .collect();
    let waiting = store
        .waiting_orders(member.account.id, &WAITING_STATUSES)
        .await?;
    Ok(waiting
        .into_iter()
        .filter_map(|order| {
            let buyer = names.get(&order.buyer)?.clone();
            Some(((buyer, order.number.0), order.po))
        })
        .collect())
}

fn count(value: u64) -> String {
    value.to_string()
}

fn rate(value: Option<Decimal>) -> String {
    match value {
        Some(rate) => format!("{}%", rate.normalize()),
        None => "–".to_owned(),
    }
}

impl DashboardPage {
    fn new(
        layout: Layout,
        dashboard: Dashboard,
        ids: &HashMap<(String, String), PoId>,
        zone: Tz,
    ) -> Self {
        let periods = [
            &dashboard.counts_today,
            &dashboard.counts_7_days,
            &dashboard.counts_30_days,
        ];
        let today = &dashboard.counts_today;
        let rate_above_zero = today.failure_rate.is_some_and(|rate| rate > Decimal::ZERO);
        let cards = vec![
            CountCard::new(
                "received",
                "Orders received",
                periods,
                |c| count(c.received),
                false,
            ),
            CountCard::new(
                "synced",
                "Orders synced",
                periods,
                |c| count(c.synced),
                false,
            ),
            CountCard::new(
                "awaiting",
                "Awaiting a person",
                periods,
                |c| count(c.awaiting),
                false,
            ),
            CountCard::new(
                "failed",
                "Orders failed",
                periods,
                |c| count(c.failed),
                today.failed > 0,
            ),
            CountCard::new(
                "invoices-sent",
                "Invoices sent",
                periods,
                |c| count(c.invoices_sent),
                false,
            ),
            CountCard::new(
                "invoices-failed",
                "Invoices failed",
                periods,
                |c| count(c.invoices_failed),
                today.invoices_failed > 0,
            ),
            CountCard::new(
                "rate",
                "Order failure rate",
                periods,
                |c| rate(c.failure_rate),
                rate_above_zero,
            ),
        ];
        let points: Vec<ChartDay> = dashboard
            .days
            .iter()
            .map(|day| ChartDay {
                date: day.date,
                orders_received: day.orders_received,
                orders_failed: day.orders_failed,
                invoices_sent: day.invoices_sent,
                invoices_failed: day.invoices_failed,
                failure_rate: day.failure_rate,
            })
            .collect();
        let reasons = dashboard
            .top_failure_reasons
            .iter()
            .map(|reason| ReasonRow {
                kind: match reason.kind {
                    FailureKind::Order => "order",
                    FailureKind::Invoice => "invoice",
                },
                reason: reason.reason.clone(),
                count: reason.count,
                last_seen: when(reason.last_seen, zone),
                texts: reason.texts,
            })
            .collect();
        Self {
            layout,
            today: dashboard.today.format("%A %-d %B %Y").to_string(),
            time_zone: dashboard.time_zone.clone(),
            cards,
            chart: daily_chart(&points),
            reasons,
            waiting: dashboard
                .waiting
                .iter()
                .map(|row| waiting_view(row, ids, zone))
                .collect(),
            waiting_total: dashboard.waiting_total,
            waiting_invoices: dashboard
                .waiting_invoices
                .iter()
                .map(|row| waiting_invoice_view(row, zone))
                .collect(),
            waiting_invoices_total: dashboard.waiting_invoices_total,
        }
    }
}

fn waiting_invoice_view(row: &WaitingInvoiceRow, zone: Tz) -> WaitingInvoiceView {
    WaitingInvoiceView {
        href: format!("/invoices/{}", row.id.0),
        number: row.invoice_number.clone(),
        kind: match row.kind {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::Credit => "credit",
        },
        po_number: row.po_number.clone(),
        buyer: row.buyer.clone(),
        status: status_words(row.status.as_str()),
        class: super::invoices::status_class(row.status),
        reason: row.reason.clone().unwrap_or_default(),
        since: when(row.since, zone),
        fix: invoice_fix(row.status),
    }
}

/// Returns what releases an invoice waiting with `status`, done on the
/// invoice's page.
fn invoice_fix(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Held => "Fix the reason and retry, or enter it in Coupa by hand",
        InvoiceStatus::NeedsAttention => "Check Coupa, then retry or confirm delivered",
        InvoiceStatus::ProbablyDelivered => "Find it in Coupa, then confirm delivered",
        InvoiceStatus::ChangedAfterSending => "Correct it in Coupa, then confirm",
        _ => "Open it",
    }
}

fn waiting_view(row: &WaitingRow, ids: &HashMap<(String, String), PoId>, zone: Tz) -> WaitingView {
    let key = (row.buyer.clone(), row.po_number.clone());
    WaitingView {
        href: ids.get(&key).map(|id| format!("/orders/{id}")),
        po_number: row.po_number.clone(),
        buyer: row.buyer.clone(),
        status: status_words(row.status.as_str()),
        class: po_status_class(row.status),
        reason: row.reason.clone().unwrap_or_default(),
        since: when(row.since, zone),
        fix: fix_link(row.status),
    }
}

/// Returns the page that releases an order waiting with `status`, and the link's
/// text. An order held for review is handled on its own page.
fn fix_link(status: PoStatus) -> Option<(&'static str, &'static str)> {
    match status {
        PoStatus::AwaitingMapping => Some(("/items?status=unmapped", "Map items")),
        PoStatus::AwaitingCustomer => Some(("/customers", "Map customers")),
        PoStatus::AwaitingSettings => Some(("/settings/defaults", "Complete the defaults")),
        PoStatus::Paused => Some(("/settings", "Reconnect Brightpearl")),
        _ => None,
    }
}
