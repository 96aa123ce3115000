//! The dashboard: an account's orders and invoices counted per day of the
//! account's time zone over the last [`DAYS`] days, the most frequent
//! failure reasons and the orders and invoices that wait for a person.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use pobridge_core::{BuyerId, PoId};
use pobridge_store::{
    Account, DashboardActivity, InvoiceFilter, InvoiceId, InvoiceKind, InvoiceRecord,
    InvoiceStatus, PoStatus, StoreError, WaitingOrder,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::{account, buyer_names, name_of, AdminError};
use crate::Engine;

/// Days in the daily series, today included.
pub const DAYS: usize = 30;

/// Failure reasons listed at most.
pub const TOP_REASONS: usize = 5;

/// Waiting orders listed at most; [`Dashboard::waiting_total`] counts all.
pub const WAITING_LISTED: usize = 50;

/// The statuses of an order that waits for a person: a mapping, a
/// customer, a setting, a review of a change, or a Brightpearl reconnection.
pub const WAITING_STATUSES: [PoStatus; 5] = [
    PoStatus::AwaitingMapping,
    PoStatus::AwaitingCustomer,
    PoStatus::AwaitingSettings,
    PoStatus::HeldForReview,
    PoStatus::Paused,
];

/// The statuses of an invoice that waits for a person: held until a
/// setting changes or someone enters it in Coupa by hand, stopped after an
/// unknown outcome, probably in Coupa already, or changed in Brightpearl
/// after Coupa accepted it. A failed invoice has its own count and
/// reasons, as a failed order has.
pub const WAITING_INVOICE_STATUSES: [InvoiceStatus; 4] = [
    InvoiceStatus::Held,
    InvoiceStatus::NeedsAttention,
    InvoiceStatus::ProbablyDelivered,
    InvoiceStatus::ChangedAfterSending,
];

/// Everything the dashboard shows for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    /// The IANA name of the time zone whose days are counted.
    pub time_zone: String,
    /// The account's local date at the time the dashboard was read.
    pub today: NaiveDate,
    pub counts_today: PeriodCounts,
    /// Counts over today and the 6 days before it.
    pub counts_7_days: PeriodCounts,
    /// Counts over today and the 29 days before it.
    pub counts_30_days: PeriodCounts,
    /// One entry per day, oldest first, ending with today.
    pub days: Vec<DayCounts>,
    /// The most frequent failure texts of the last [`DAYS`] days, most
    /// frequent first, at most [`TOP_REASONS`].
    pub top_failure_reasons: Vec<FailureReason>,
    /// The orders waiting for a person, longest waiting first, at most
    /// [`WAITING_LISTED`].
    pub waiting: Vec<WaitingRow>,
    /// How many orders wait for a person now.
    pub waiting_total: usize,
    /// The invoices and credits waiting for a person, longest waiting
    /// first, at most [`WAITING_LISTED`].
    pub waiting_invoices: Vec<WaitingInvoiceRow>,
    /// How many invoices and credits wait for a person now.
    pub waiting_invoices_total: usize,
}

/// Counts over a period of whole local days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeriodCounts {
    /// Purchase orders whose first document arrived in the period.
    pub received: u64,
    /// Orders whose Brightpearl sales order was created in the period.
    pub synced: u64,
    /// Orders waiting for a person now that started waiting in the period.
    pub awaiting: u64,
    /// Orders whose status changed to `failed` in the period, each counted once.
    pub failed: u64,
    /// Invoices and credits Coupa accepted in the period.
    pub invoices_sent: u64,
    /// Invoices and credits now failed or needing attention whose last
    /// change was in the period.
    // NOTE: invoices keep no history of their statuses, so one that failed
    // and was sent after a retry no longer counts as failed. An invoice
    // event table would let it be counted as it happened.
    pub invoices_failed: u64,
    /// See [`failure_rate`].
    pub failure_rate: Option<Decimal>,
}

/// Counts of one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub date: NaiveDate,
    pub orders_received: u64,
    pub orders_synced: u64,
    /// Orders whose status changed to `failed` that day, each counted once.
    pub orders_failed: u64,
    pub invoices_sent: u64,
    pub invoices_failed: u64,
    /// See [`failure_rate`].
    pub failure_rate: Option<Decimal>,
}

/// The source of a failure: a purchase order's sync or an invoice's send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Order,
    Invoice,
}

/// A failure text and how often it occurred in the last [`DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureReason {
    pub kind: FailureKind,
    /// The newest text of the group.
    pub reason: String,
    /// The orders or invoices that failed for this reason. One that failed
    /// again after a re-sync counts once.
    pub count: u64,
    pub last_seen: DateTime<Utc>,
    /// How many different texts the group holds. Texts that differ only in
    /// the digits inside their quotes form one group, such as Coupa's
    /// "Could not find order header 123" for each purchase order.
    pub texts: u64,
}

/// An order waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingRow {
    pub po_number: String,
    pub buyer: String,
    pub status: PoStatus,
    pub reason: Option<String>,
    /// When the order entered its status.
    pub since: DateTime<Utc>,
}

/// An invoice or credit waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingInvoiceRow {
    pub id: InvoiceId,
    pub invoice_number: String,
    pub kind: InvoiceKind,
    pub po_number: String,
    pub buyer: String,
    pub status: InvoiceStatus,
    pub reason: Option<String>,
    /// When the invoice last changed. Invoices keep no history of their
    /// statuses, so a held invoice rebuilt and held again counts from the
    /// rebuild.
    pub since: DateTime<Utc>,
}

/// The reason shown for a failed invoice that has none stored.
pub const NO_REASON: &str = "no reason recorded";

/// Returns the percentage of the orders that reached an outcome (synced or
/// failed) which failed, rounded to one decimal place, or `None` when no
/// order reached one. An order that failed and was synced in the same
/// period counts in both.
pub fn failure_rate(synced: u64, failed: u64) -> Option<Decimal> {
    let outcomes = synced + failed;
    if outcomes == 0 {
        return None;
    }
    let rate = Decimal::from(failed) * Decimal::ONE_HUNDRED / Decimal::from(outcomes);
    Some(rate.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
}

/// Reads the dashboard of the account named by `slug`.
pub async fn dashboard(engine: &Engine, slug: &str) -> Result<Dashboard, AdminError> {
    let account = account(engine, slug).await?;
    account_dashboard(engine, &account).await
}

/// Reads the dashboard of `account`, counting days in its `time_zone`
/// setting, or in UTC when that is not an IANA name.
pub async fn account_dashboard(
    engine: &Engine,
    account: &Account,
) -> Result<Dashboard, AdminError> {
    let calendar = Calendar::new(zone_of(account), engine.clock.now());
    let activity = engine
        .store
        .dashboard_activity(account.id, calendar.start(), calendar.end())
        .await?;
    let waiting = engine
        .store
        .waiting_orders(account.id, &WAITING_STATUSES)
        .await?;
    let names = buyer_names(engine, account).await?;
    let mut dashboard = summarize(&calendar, &activity, &waiting, &names);
    let (invoices, total) = waiting_invoices(engine, account, &names).await?;
    dashboard.waiting_invoices = invoices;
    dashboard.waiting_invoices_total = total;
    Ok(dashboard)
}

/// Returns the first [`WAITING_LISTED`] invoices waiting for a person,
/// longest waiting first, and how many wait in all.
async fn waiting_invoices(
    engine: &Engine,
    account: &Account,
    names: &HashMap<BuyerId, String>,
) -> Result<(Vec<WaitingInvoiceRow>, usize), StoreError> {
    let mut waiting: Vec<InvoiceRecord> = Vec::new();
    for status in WAITING_INVOICE_STATUSES {
        let filter = InvoiceFilter {
            status: Some(status),
            ..InvoiceFilter::default()
        };
        waiting.extend(engine.store.list_invoices(account.id, &filter).await?);
    }
    waiting.sort_by_key(|invoice| (invoice.updated_at, invoice.id.0));
    let total = waiting.len();
    let mut rows = Vec::with_capacity(total.min(WAITING_LISTED));
    for invoice in waiting.into_iter().take(WAITING_LISTED) {
        let po = engine.store.purchase_order(account.id, invoice.po).await?;
        rows.push(WaitingInvoiceRow {
            id: invoice.id,
            invoice_number: invoice.invoice_number,
            kind: invoice.kind,
            po_number: po.number.as_str().to_owned(),
            buyer: name_of(names, invoice.buyer),
            status: invoice.status,
            reason: invoice.reason,
            since: invoice.updated_at,
        });
    }
    Ok((rows, total))
}

fn zone_of(account: &Account) -> Tz {
    let name = account.settings.time_zone.trim();
    name.parse().unwrap_or_else(|_| {
        tracing::warn!(tenant.id = %account.id, time_zone = name, "time_zone is not an IANA time zone name; the dashboard counts days in UTC");
        Tz::UTC
    })
}

/// The last [`DAYS`] local days of a time zone, ending with today.
struct Calendar {
    zone: Tz,
    first: NaiveDate,
    today: NaiveDate,
}

impl Calendar {
    fn new(zone: Tz, now: DateTime<Utc>) -> Self {
        let today = now.with_timezone(&zone).date_naive();
        let first = today - Duration::days(DAYS as i64 - 1);
        Self { zone, first, today }
    }

    /// Returns the first instant of the first day.
    fn start(&self) -> DateTime<Utc> {
        start_of_day(self.zone, self.first)
    }

    /// Returns the first instant after today.
    fn end(&self) -> DateTime<Utc> {
        start_of_day(self.zone, self.today + Duration::days(1))
    }

    /// Returns the position of the local day of `at` in the series, or
    /// `None` outside it.
    fn index(&self, at: DateTime<Utc>) -> Option<usize> {
        let date = at.with_timezone(&self.zone).date_naive();
        let offset = (date - self.first).num_days();
        usize::try_from(offset).ok().filter(|index| *index < DAYS)
    }

    fn date(&self, index: usize) -> NaiveDate {
        self.first + Duration::days(index as i64)
    }
}

/// Returns the first instant of `date` in `zone`: midnight, or the end of a
/// daylight-saving gap that skips midnight (as in America/Santiago).
fn start_of_day(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    // A gap lasts at most a day (Pacific/Apia skipped 30 December 2011), so
    // 97 quarter-hours reach its end.
    for quarter in 0..=96 {
        let local = midnight + Duration::minutes(15 * quarter);
        if let Some(start) = zone.from_local_datetime(&local).earliest() {
            return start.with_timezone(&Utc);
        }
    }
    // Not reached with the gaps of the time zone database.
    Utc.from_utc_datetime(&midnight)
}

fn summarize(
    calendar: &Calendar,
    activity: &DashboardActivity,
    waiting: &[WaitingOrder],
    names: &HashMap<BuyerId, String>,
) -> Dashboard {
    let series = DailySeries::new(calendar, activity, waiting);
    let days = (0..DAYS)
        .map(|index| series.day(calendar.date(index), index))
        .collect();
    let listed = waiting
        .iter()
        .take(WAITING_LISTED)
        .map(|order| waiting_row(order, names))
        .collect();
    Dashboard {
        time_zone: calendar.zone.name().to_owned(),
        today: calendar.today,
        counts_today: series.period(DAYS - 1),
        counts_7_days: series.period(DAYS - 7),
        counts_30_days: series.period(0),
        days,
        top_failure_reasons: top_reasons(activity),
        waiting: listed,
        waiting_total: waiting.len(),
        waiting_invoices: Vec::new(),
        waiting_invoices_total: 0,
    }
}

/// Each record's day index, kept apart per metric so that periods can
/// count an order that failed on several days once.
#[derive(Default)]
struct DailySeries {
    received: Vec<usize>,
    synced: Vec<usize>,
    awaiting: Vec<usize>,
    /// Distinct (order, day) pairs.
    failed: HashSet<(PoId, usize)>,
    invoices_sent: Vec<usize>,
    invoices_failed: Vec<usize>,
}

impl DailySeries {
    fn new(calendar: &Calendar, activity: &DashboardActivity, waiting: &[WaitingOrder]) -> Self {
        let indexes = |times: &mut dyn Iterator<Item = DateTime<Utc>>| -> Vec<usize> {
            times.filter_map(|at| calendar.index(at)).collect()
        };
        Self {
            received: indexes(&mut activity.orders_received.iter().copied()),
            synced: indexes(&mut activity.orders_synced.iter().copied()),
            awaiting: indexes(&mut waiting.iter().map(|order| order.since)),
            failed: activity
                .order_failures
                .iter()
                .filter_map(|failure| Some((failure.po, calendar.index(failure.at)?)))
                .collect(),
            invoices_sent: indexes(&mut activity.invoices_sent.iter().copied()),
            invoices_failed: indexes(&mut activity.invoice_failures.iter().map(|f| f.at)),
        }
    }

    fn day(&self, date: NaiveDate, index: usize) -> DayCounts {
        let on_day = |indexes: &[usize]| count(indexes.iter().filter(|day| **day == index));
        let orders_synced = on_day(&self.synced);
        let orders_failed = count(self.failed.iter().filter(|(_, day)| *day == index));
        DayCounts {
            date,
            orders_received: on_day(&self.received),
            orders_synced,
            orders_failed,
            invoices_sent: on_day(&self.invoices_sent),
            invoices_failed: on_day(&self.invoices_failed),
            failure_rate: failure_rate(orders_synced, orders_failed),
        }
    }

    /// Counts the days from `first` to the end of the series.
    fn period(&self, first: usize) -> PeriodCounts {
        let since = |indexes: &[usize]| count(indexes.iter().filter(|day| **day >= first));
        let failed_orders: HashSet<PoId> = self
            .failed
            .iter()
            .filter(|(_, day)| *day >= first)
            .map(|(po, _)| *po)
            .collect();
        let synced = since(&self.synced);
        let failed = failed_orders.len() as u64;
        PeriodCounts {
            received: since(&self.received),
            synced,
            awaiting: since(&self.awaiting),
            failed,
            invoices_sent: since(&self.invoices_sent),
            invoices_failed: since(&self.invoices_failed),
            failure_rate: failure_rate(synced, failed),
        }
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u64 {
    items.count() as u64
}

/// Groups the failures by kind and [`grouping_key`] of the trimmed text,
/// and returns the most frequent, the most recently seen first among
/// equals. Each group shows its newest text.
// NOTE: a number outside quotes, such as a line number, still makes a group
// of its own. Grouping by a failure code stored beside the text would
// merge those too.
fn top_reasons(activity: &DashboardActivity) -> Vec<FailureReason> {
    let orders = activity.order_failures.iter().map(|failure| {
        let reason = failure.reason.trim();
        (FailureKind::Order, failure.po.0, reason, failure.at)
    });
    let invoices = activity.invoice_failures.iter().map(|failure| {
        let reason = failure.reason.as_deref().map_or(NO_REASON, str::trim);
        (FailureKind::Invoice, failure.invoice.0, reason, failure.at)
    });

    let mut groups: HashMap<(FailureKind, String), Group<'_>> = HashMap::new();
    for (kind, record, reason, at) in orders.chain(invoices) {
        let group = groups
            .entry((kind, grouping_key(reason)))
            .or_insert_with(|| Group {
                newest: FailureReason {
                    kind,
                    reason: reason.to_owned(),
                    count: 0,
                    last_seen: at,
                    texts: 0,
                },
                records: HashSet::new(),
                texts: HashSet::new(),
            });
        if at > group.newest.last_seen {
            group.newest.last_seen = at;
            reason.clone_into(&mut group.newest.reason);
        }
        group.records.insert(record);
        group.texts.insert(reason);
    }

    let mut reasons: Vec<FailureReason> = groups
        .into_values()
        .map(|group| FailureReason {
            count: group.records.len() as u64,
            texts: group.texts.len() as u64,
            ..group.newest
        })
        .collect();
    reasons.sort_by(|a, b| {
        let first = (b.count, b.last_seen, &a.reason, a.kind);
        first.cmp(&(a.count, a.last_seen, &b.reason, b.kind))
    });
    reasons.truncate(TOP_REASONS);
    reasons
}

/// The failures of one reason while [`top_reasons`] counts them.
struct Group<'a> {
    newest: FailureReason,
    /// The ids of the orders or invoices that failed.
    records: HashSet<i64>,
    texts: HashSet<&'a str>,
}

/// Marks where the Brightpearl client names the item of a multi-message
/// batch that failed, such as `(multi-message item m2)`.
const BATCH_ITEM: &str = " (multi-message item";

/// Returns `reason` without the batch item it was sent as, and with each
/// run of digits inside double quotes replaced by `#`. The quotes hold what names one record, such as a part, an order
/// or Coupa's own text, while the digits outside them are mostly status
/// codes that tell one failure from another.
fn grouping_key(reason: &str) -> String {
    let mut unbatched = reason.to_owned();
    while let Some(start) = unbatched.find(BATCH_ITEM) {
        let Some(length) = unbatched[start..].find(')') else {
            break;
        };
        unbatched.replace_range(start..=start + length, "");
    }
    let reason = unbatched.as_str();
    let mut key = String::with_capacity(reason.len());
    let mut quoted = false;
    let mut after_digit = false;
    for character in reason.chars() {
        if character == '"' {
            quoted = !quoted;
        }
        let digit = quoted && character.is_ascii_digit();
        if !digit {
            key.push(character);
        } else if !after_digit {
            key.push('#');
        }
        after_digit = digit;
    }
    key
}

fn waiting_row(order: &WaitingOrder, names: &HashMap<BuyerId, String>) -> WaitingRow {
    WaitingRow {
        po_number: order.number.as_str().to_owned(),
        buyer: name_of(names, order.buyer),
        status: order.status,
        reason: order.reason.clone(),
        since: order.since,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_key_hides_digits_inside_quotes_only() {
        assert_eq!(
            grouping_key(r#"Coupa answered 417 "Could not find order header 123": check"#),
            r#"Coupa answered 417 "Could not find order header #": check"#
        );
        assert_eq!(
            grouping_key(r#"part "P-10" and "P-2" on line 3"#),
            r#"part "P-#" and "P-#" on line 3"#
        );
        assert_eq!(grouping_key("no quotes 42"), "no quotes 42");
    }

    #[test]
    fn grouping_key_drops_the_batch_item() {
        let alone = "POST order-service/order: 400 currency \"JPY\" unknown";
        for batched in [
            "POST order-service/order (multi-message item m2): 400 currency \"JPY\" unknown",
            "POST order-service/order (multi-message item): 400 currency \"JPY\" unknown",
        ] {
            assert_eq!(grouping_key(batched), grouping_key(alone), "{batched}");
        }
        assert_eq!(
            grouping_key("unclosed (multi-message item m1"),
            "unclosed (multi-message item m1"
        );
    }

    #[test]
    fn top_reasons_count_each_order_once() {
        let failure = |po: i64, at: &str, reason: &str| pobridge_store::OrderFailure {
            po: PoId(po),
            at: utc(at),
            reason: reason.to_owned(),
        };
        let jpy = "POST order-service/order: 400 currency \"JPY\" unknown";
        let batched =
            "POST order-service/order (multi-message item m1): 400 currency \"JPY\" unknown";
        let activity = DashboardActivity {
            orders_received: Vec::new(),
            orders_synced: Vec::new(),
            order_failures: vec![
                failure(1, "2024-03-01T10:00:00Z", batched),
                failure(1, "2024-03-01T11:00:00Z", jpy),
                failure(1, "2024-03-01T12:00:00Z", jpy),
                failure(2, "2024-03-01T09:00:00Z", "other"),
            ],
            invoices_sent: Vec::new(),
            invoice_failures: Vec::new(),
        };

        let reasons = top_reasons(&activity);

        assert_eq!(reasons.len(), 2, "{reasons:#?}");
        assert_eq!(reasons[0].reason, jpy);
        assert_eq!(reasons[0].count, 1);
        assert_eq!(reasons[0].texts, 2);
        assert_eq!(reasons[0].last_seen, utc("2024-03-01T12:00:00Z"));
        assert_eq!(reasons[1].reason, "other");
        assert_eq!(reasons[1].count, 1);
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn day_starts_at_local_midnight() {
        let london: Tz = "Europe/London".parse().unwrap();
        let summer = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
        assert_eq!(start_of_day(london, summer), utc("2024-06-30T23:00:00Z"));
    }

    #[test]
    fn day_starts_after_a_gap_over_midnight() {
        // Chile moved its clocks from 00:00 to 01:00 on 2024-09-08.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let spring = NaiveDate::from_ymd_opt(2024, 9, 8).unwrap();
        assert_eq!(start_of_day(santiago, spring), utc("2024-09-08T04:00:00Z"));
    }

    #[test]
    fn skipped_day_starts_with_the_next_day() {
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let skipped = NaiveDate::from_ymd_opt(2011, 12, 30).unwrap();
        let next = NaiveDate::from_ymd_opt(2011, 12, 31).unwrap();
        assert_eq!(start_of_day(apia, skipped), utc("2011-12-30T10:00:00Z"));
        assert_eq!(start_of_day(apia, next), utc("2011-12-30T10:00:00Z"));
    }

    #[test]
    fn failure_rate_rounds_to_one_place() {
        assert_eq!(failure_rate(0, 0), None);
        assert_eq!(failure_rate(2, 1), Some(Decimal::new(333, 1)));
        assert_eq!(failure_rate(1, 2), Some(Decimal::new(667, 1)));
        assert_eq!(failure_rate(0, 3), Some(Decimal::ONE_HUNDRED));
        assert_eq!(failure_rate(5, 0), Some(Decimal::ZERO));
    }

    #[test]
    fn series_ends_with_the_local_today() {
        let zone: Tz = "America/Los_Angeles".parse().unwrap();
        let calendar = Calendar::new(zone, utc("2024-03-10T06:30:00Z"));
        assert_eq!(calendar.today, NaiveDate::from_ymd_opt(2024, 3, 9).unwrap());
        assert_eq!(calendar.first, NaiveDate::from_ymd_opt(2024, 2, 9).unwrap());
        assert_eq!(calendar.end(), utc("2024-03-10T08:00:00Z"));
        assert_eq!(calendar.index(utc("2024-03-10T07:59:59Z")), Some(DAYS - 1));
        assert_eq!(calendar.index(utc("2024-03-10T08:00:00Z")), None);
        assert_eq!(calendar.index(calendar.start()), Some(0));
        assert_eq!(
            calendar.index(calendar.start() - Duration::seconds(1)),
            None
        );
    }
}
