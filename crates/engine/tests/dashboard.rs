//! The dashboard over a real store, SQLite and PostgreSQL, with a manual
//! clock: records are written at chosen instants near midnight, and the
//! same records are counted in the days of London and of Los Angeles.

mod common;

use std::sync::Arc;

use chrono::NaiveDate;
use common::{new_buyer, on_each_backend, utc, Backend, Records, TestEngine};
use pobridge_core::{AccountId, BuyerId, ManualClock, PoId};
use pobridge_engine::admin::dashboard::{
    dashboard, DayCounts, FailureKind, FailureReason, PeriodCounts, WaitingRow, DAYS, NO_REASON,
    TOP_REASONS,
};
use pobridge_engine::admin::{self, AdminError};
use pobridge_engine::{Engine, EngineConfig};
use pobridge_store::{BuyerMode, InvoiceStatus, InvoiceUpdate, PoStatus};
use rust_decimal::Decimal;

/// 07:00 in London (BST) on 10 May, and 23:00 on 9 May in Los Angeles (PDT).
const NOW: &str = "2024-05-10T06:00:00Z";

const ARCHIVED: &str = "Brightpearl rejected the order: product 7 is archived";
const TIMEOUT: &str = "Brightpearl timed out";
const UNKNOWN_UNIT: &str = "Coupa rejected the invoice: unknown unit";
const HELD: &str = "the buyer's invoice-secret is missing";

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn percent(tenths: i64) -> Option<Decimal> {
    Some(Decimal::new(tenths, 1))
}

async fn engine(backend: Backend) -> TestEngine {
    let clock = Arc::new(ManualClock::new(utc(NOW)));
    common::engine(backend, clock, EngineConfig::default()).await
}

/// Creates the account `slug` with one buyer, returning both ids.
async fn account_with_buyer(engine: &Engine, slug: &str) -> (AccountId, BuyerId) {
    let account = admin::create_account(engine, slug, &format!("ops@{slug}.example"))
        .await
        .unwrap();
    let buyer = new_buyer("coupa", slug, BuyerMode::Production);
    let buyer = engine.create_buyer(account.id, buyer).await.unwrap();
    (account.id, buyer.id)
}

impl<'a> Records<'a> {
    /// Creates the account `slug` with one buyer and returns their writer.
    async fn for_new_account(engine: &'a Engine, slug: &str) -> Self {
        let (account, buyer) = account_with_buyer(engine, slug).await;
        Self {
            engine,
            account,
            buyer,
        }
    }

    /// Stores an invoice of `po` and moves it to `status` at `at`.
    async fn invoice(
        &self,
        po: PoId,
        number: &str,
        status: InvoiceStatus,
        reason: Option<&str>,
        at: &str,
    ) {
        let created = "2024-04-01T00:00:00Z";
        let id = self.create_invoice(po, number, created, at).await;
        let update = InvoiceUpdate {
            status,
            reason: reason.map(str::to_owned),
            coupa_status: None,
            coupa_text: None,
            counts_attempt: true,
            outcome_unknown: None,
            document: None,
            sent_at: (status == InvoiceStatus::Sent).then(|| utc(at)),
        };
        let store = &self.engine.store;
        store
            .update_invoice(self.account, id, &update, utc(at))
            .await
            .unwrap();
    }
}

/// Writes the scenario's records for `acme`, and a few for `globex` that
/// must never count for `acme`.
async fn scenario(engine: &Engine) {
    let acme = Records::for_new_account(engine, "acme").await;

    let synced = acme.receive("PO-1", "2024-05-09T22:30:00Z").await;
    acme.set_status(synced, PoStatus::Synced, "synced", "2024-05-09T23:30:00Z")
        .await;

    let failed = acme.receive("PO-2", "2024-05-09T23:30:00Z").await;
    acme.set_status(failed, PoStatus::Failed, ARCHIVED, "2024-05-10T05:00:00Z")
        .await;

    let mapping = acme.receive("PO-3", "2024-05-03T12:00:00Z").await;
    let wait = "Coupa part X-1 has no Brightpearl product";
    acme.set_status(
        mapping,
        PoStatus::AwaitingMapping,
        wait,
        "2024-05-03T13:00:00Z",
    )
    .await;

    let early = acme.receive("PO-4", "2024-04-10T12:00:00Z").await;
    acme.set_status(early, PoStatus::Failed, ARCHIVED, "2024-04-10T12:30:00Z")
        .await;

    let retried = acme.receive("PO-5", "2024-05-09T20:00:00Z").await;
    acme.set_status(retried, PoStatus::Failed, TIMEOUT, "2024-05-09T22:45:00Z")
        .await;
    acme.set_status(
        retried,
        PoStatus::Received,
        "re-sync",
        "2024-05-09T23:00:00Z",
    )
    .await;
    acme.set_status(retried, PoStatus::Failed, TIMEOUT, "2024-05-10T01:00:00Z")
        .await;

    let review = acme.receive("PO-6", "2024-05-08T09:00:00Z").await;
    let change = "an update arrived after the sales order was created";
    acme.set_status(
        review,
        PoStatus::HeldForReview,
        change,
        "2024-05-08T10:00:00Z",
    )
    .await;

    acme.invoice(
        synced,
        "INV-1",
        InvoiceStatus::Sent,
        None,
        "2024-05-10T05:30:00Z",
    )
    .await;
    let failed_at = "2024-05-09T22:50:00Z";
    acme.invoice(
        synced,
        "INV-2",
        InvoiceStatus::Failed,
        Some(UNKNOWN_UNIT),
        failed_at,
    )
    .await;
    let attention = InvoiceStatus::NeedsAttention;
    acme.invoice(synced, "INV-3", attention, None, "2024-04-10T12:00:00Z")
        .await;
    let held_status = InvoiceStatus::Held;
    acme.invoice(
        synced,
        "INV-4",
        held_status,
        Some(HELD),
        "2024-05-09T12:00:00Z",
    )
    .await;
    // Superseded: neither failed nor waiting for anyone.
    let superseded = InvoiceStatus::Superseded;
    let renumbered = "Brightpearl order 100 was invoiced again as INV-6";
    acme.invoice(
        synced,
        "INV-5",
        superseded,
        Some(renumbered),
        "2024-05-10T04:00:00Z",
    )
    .await;

    let globex = Records::for_new_account(engine, "globex").await;
    let other = globex.receive("PO-1", "2024-05-09T23:30:00Z").await;
    globex
        .set_status(other, PoStatus::Failed, TIMEOUT, "2024-05-10T01:00:00Z")
        .await;
    globex
        .invoice(
            other,
            "INV-1",
            InvoiceStatus::Sent,
            None,
            "2024-05-10T05:30:00Z",
        )
        .await;
}

fn counts(values: [u64; 6], failure_rate: Option<Decimal>) -> PeriodCounts {
    let [received, synced, awaiting, failed, invoices_sent, invoices_failed] = values;
    PeriodCounts {
        received,
        synced,
        awaiting,
        failed,
        invoices_sent,
        invoices_failed,
        failure_rate,
    }
}

fn day(on: &str, values: [u64; 5], failure_rate: Option<Decimal>) -> DayCounts {
    let [orders_received, orders_synced, orders_failed, invoices_sent, invoices_failed] = values;
    DayCounts {
        date: date(on),
        orders_received,
        orders_synced,
        orders_failed,
        invoices_sent,
        invoices_failed,
        failure_rate,
    }
}

fn reason(kind: FailureKind, text: &str, count: u64, last_seen: &str) -> FailureReason {
    FailureReason {
        kind,
        reason: text.to_owned(),
        count,
        last_seen: utc(last_seen),
        texts: 1,
    }
}

/// Returns the days of the series that have any count, in order.
fn active_days(days: &[DayCounts]) -> Vec<DayCounts> {
    let empty = |day: &DayCounts| day == &self::day(&day.date.to_string(), [0; 5], None);
    days.iter().filter(|day| !empty(day)).cloned().collect()
}

fn waiting_rows() -> Vec<WaitingRow> {
    vec![
        WaitingRow {
            po_number: "PO-3".to_owned(),
            buyer: "coupa".to_owned(),
            status: PoStatus::AwaitingMapping,
            reason: Some("Coupa part X-1 has no Brightpearl product".to_owned()),
            since: utc("2024-05-03T13:00:00Z"),
        },
        WaitingRow {
            po_number: "PO-6".to_owned(),
            buyer: "coupa".to_owned(),
            status: PoStatus::HeldForReview,
            reason: Some("an update arrived after the sales order was created".to_owned()),
            since: utc("2024-05-08T10:00:00Z"),
        },
    ]
}

on_each_backend!(
    london_days_count_from_london_midnight,
    los_angeles_days_count_from_los_angeles_midnight,
    other_account_sees_only_its_records,
    empty_account_has_thirty_empty_days,
    failure_reasons_keep_the_most_frequent,
    reasons_differing_in_quoted_digits_are_one_group,
    unknown_account_is_named,
);

async fn london_days_count_from_london_midnight(backend: Backend) {
    let engine = engine(backend).await;
    scenario(&engine).await;
    admin::set_setting(&engine, "acme", "time_zone", "Europe/London")
        .await
        .unwrap();

    let board = dashboard(&engine, "acme").await.unwrap();

    assert_eq!(board.time_zone, "Europe/London");
    assert_eq!(board.today, date("2024-05-10"));
    assert_eq!(board.counts_today, counts([1, 1, 0, 2, 1, 0], percent(667)));
    assert_eq!(
        board.counts_7_days,
        counts([4, 1, 1, 2, 1, 1], percent(667))
    );
    assert_eq!(
        board.counts_30_days,
        counts([5, 1, 2, 2, 1, 1], percent(667))
    );

    assert_eq!(board.days.len(), DAYS);
    assert_eq!(board.days[0].date, date("2024-04-11"));
    assert_eq!(board.days[DAYS - 1].date, date("2024-05-10"));
    let expected_days = vec![
        day("2024-05-03", [1, 0, 0, 0, 0], None),
        day("2024-05-08", [1, 0, 0, 0, 0], None),
        day("2024-05-09", [2, 0, 1, 0, 1], percent(1000)),
        day("2024-05-10", [1, 1, 2, 1, 0], percent(667)),
    ];
    assert_eq!(active_days(&board.days), expected_days);

    // PO-5 failed twice with TIMEOUT, and counts once.
    let expected_reasons = vec![
        reason(FailureKind::Order, ARCHIVED, 1, "2024-05-10T05:00:00Z"),
        reason(FailureKind::Order, TIMEOUT, 1, "2024-05-10T01:00:00Z"),
        reason(
            FailureKind::Invoice,
            UNKNOWN_UNIT,
            1,
            "2024-05-09T22:50:00Z",
        ),
    ];
    assert_eq!(board.top_failure_reasons, expected_reasons);
    assert_eq!(board.waiting, waiting_rows());
    assert_eq!(board.waiting_total, 2);
    let invoices: Vec<(&str, InvoiceStatus, &str)> = board
        .waiting_invoices
        .iter()
        .map(|row| {
            (
                row.invoice_number.as_str(),
                row.status,
                row.po_number.as_str(),
            )
        })
        .collect();
    let expected = [
        ("INV-3", InvoiceStatus::NeedsAttention, "PO-1"),
        ("INV-4", InvoiceStatus::Held, "PO-1"),
    ];
    assert_eq!(invoices, expected);
    let held_row = &board.waiting_invoices[1];
    assert_eq!(held_row.buyer, "coupa");
    assert_eq!(held_row.reason.as_deref(), Some(HELD));
    assert_eq!(held_row.since, utc("2024-05-09T12:00:00Z"));
    assert_eq!(board.waiting_invoices_total, 2);
}

async fn los_angeles_days_count_from_los_angeles_midnight(backend: Backend) {
    let engine = engine(backend).await;
    scenario(&engine).await;
    admin::set_setting(&engine, "acme", "time_zone", "America/Los_Angeles")
        .await
        .unwrap();

    let board = dashboard(&engine, "acme").await.unwrap();

    assert_eq!(board.time_zone, "America/Los_Angeles");
    assert_eq!(board.today, date("2024-05-09"));
    assert_eq!(board.counts_today, counts([3, 1, 0, 2, 1, 1], percent(667)));
    assert_eq!(
        board.counts_7_days,
        counts([5, 1, 2, 2, 1, 1], percent(667))
    );
    assert_eq!(
        board.counts_30_days,
        counts([6, 1, 2, 3, 1, 2], percent(750))
    );

    assert_eq!(board.days[0].date, date("2024-04-10"));
    assert_eq!(board.days[DAYS - 1].date, date("2024-05-09"));
    let expected_days = vec![
        day("2024-04-10", [1, 0, 1, 0, 1], percent(1000)),
        day("2024-05-03", [1, 0, 0, 0, 0], None),
        day("2024-05-08", [1, 0, 0, 0, 0], None),
        day("2024-05-09", [3, 1, 2, 1, 1], percent(667)),
    ];
    assert_eq!(active_days(&board.days), expected_days);

    let expected_reasons = vec![
        reason(FailureKind::Order, ARCHIVED, 2, "2024-05-10T05:00:00Z"),
        reason(FailureKind::Order, TIMEOUT, 1, "2024-05-10T01:00:00Z"),
        reason(
            FailureKind::Invoice,
            UNKNOWN_UNIT,
            1,
            "2024-05-09T22:50:00Z",
        ),
        reason(FailureKind::Invoice, NO_REASON, 1, "2024-04-10T12:00:00Z"),
    ];
    assert_eq!(board.top_failure_reasons, expected_reasons);
    assert_eq!(board.waiting, waiting_rows());
}

async fn other_account_sees_only_its_records(backend: Backend) {
    let engine = engine(backend).await;
    scenario(&engine).await;

    let board = dashboard(&engine, "globex").await.unwrap();

    assert_eq!(board.time_zone, "UTC");
    assert_eq!(
        board.counts_30_days,
        counts([1, 0, 0, 1, 1, 0], percent(1000))
    );
    let expected_reasons = vec![reason(
        FailureKind::Order,
        TIMEOUT,
        1,
        "2024-05-10T01:00:00Z",
    )];
    assert_eq!(board.top_failure_reasons, expected_reasons);
    assert!(board.waiting.is_empty());
    assert_eq!(board.waiting_total, 0);
    assert!(board.waiting_invoices.is_empty());
    assert_eq!(board.waiting_invoices_total, 0);
}

async fn empty_account_has_thirty_empty_days(backend: Backend) {
    let engine = engine(backend).await;
    account_with_buyer(&engine, "acme").await;

    let board = dashboard(&engine, "acme").await.unwrap();

    assert_eq!(board.today, date("2024-05-10"));
    assert_eq!(board.days.len(), DAYS);
    assert!(active_days(&board.days).is_empty());
    assert!(board.days.iter().all(|day| day.failure_rate.is_none()));
    assert_eq!(board.counts_30_days, PeriodCounts::default());
    assert!(board.top_failure_reasons.is_empty());
    assert!(board.waiting.is_empty());
}

async fn reasons_differing_in_quoted_digits_are_one_group(backend: Backend) {
    let engine = engine(backend).await;
    let acme = Records::for_new_account(&engine, "acme").await;
    let failures = [
        (
            "PO-7",
            r#"product "SKU-7" is archived"#,
            "2024-05-09T09:00:00Z",
        ),
        (
            "PO-18",
            r#"product "SKU-18" is archived"#,
            "2024-05-09T11:00:00Z",
        ),
        (
            "PO-9",
            r#"product "SKU-9" is archived"#,
            "2024-05-09T10:00:00Z",
        ),
        ("PO-20", "line 2 has no price", "2024-05-09T08:00:00Z"),
        ("PO-21", "line 3 has no price", "2024-05-09T08:30:00Z"),
    ];
    for (number, text, at) in failures {
        let po = acme.receive(number, "2024-05-09T07:00:00Z").await;
        acme.set_status(po, PoStatus::Failed, text, at).await;
    }

    let board = dashboard(&engine, "acme").await.unwrap();

    // The group shows its newest text. Digits outside quotes still part
    // texts.
    let archived = FailureReason {
        texts: 3,
        ..reason(
            FailureKind::Order,
            r#"product "SKU-18" is archived"#,
            3,
            "2024-05-09T11:00:00Z",
        )
    };
    let expected = vec![
        archived,
        reason(
            FailureKind::Order,
            "line 3 has no price",
            1,
            "2024-05-09T08:30:00Z",
        ),
        reason(
            FailureKind::Order,
            "line 2 has no price",
            1,
            "2024-05-09T08:00:00Z",
        ),
    ];
    assert_eq!(board.top_failure_reasons, expected);
}

async fn failure_reasons_keep_the_most_frequent(backend: Backend) {
    let engine = engine(backend).await;
    let acme = Records::for_new_account(&engine, "acme").await;
    // Reason N fails N times, each on its own order, so reason 1 is dropped.
    for reason_number in 1..=TOP_REASONS + 1 {
        for repeat in 0..reason_number {
            let number = format!("PO-{reason_number}-{repeat}");
            let po = acme.receive(&number, "2024-05-09T08:00:00Z").await;
            let text = format!("  reason {reason_number}\n");
            acme.set_status(po, PoStatus::Failed, &text, "2024-05-09T09:00:00Z")
                .await;
        }
    }

    let board = dashboard(&engine, "acme").await.unwrap();

    let listed: Vec<(&str, u64)> = board
        .top_failure_reasons
        .iter()
        .map(|reason| (reason.reason.as_str(), reason.count))
        .collect();
    let expected = vec![
        ("reason 6", 6),
        ("reason 5", 5),
        ("reason 4", 4),
        ("reason 3", 3),
        ("reason 2", 2),
    ];
    assert_eq!(listed, expected);
}

async fn unknown_account_is_named(backend: Backend) {
    let engine = engine(backend).await;

    let result = dashboard(&engine, "nobody").await;

    assert!(matches!(result, Err(AdminError::AccountNotFound(slug)) if slug == "nobody"));
}
