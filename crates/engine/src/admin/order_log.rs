//! The order log of the portal: an account's purchase orders filtered by
//! status, PO number and the local day they were first received, one page
//! at a time.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use pobridge_core::{BuyerId, PoId};
use pobridge_store::{Account, PoFilter, PoStatus, PurchaseOrder};
use serde::Serialize;

use super::{account, buyer_names, name_of, AdminError};
use crate::Engine;

/// Every purchase-order status, in the order a status filter lists them.
pub const PO_STATUSES: [PoStatus; 14] = [
    PoStatus::Received,
    PoStatus::Synced,
    PoStatus::AwaitingMapping,
    PoStatus::AwaitingCustomer,
    PoStatus::AwaitingSettings,
    PoStatus::HeldForReview,
    PoStatus::Retrying,
    PoStatus::Paused,
    PoStatus::Failed,
    PoStatus::TestNotSynced,
    PoStatus::Validated,
    PoStatus::Cancelled,
    PoStatus::Shipped,
    PoStatus::Invoiced,
];

/// Orders read from the store at once while the log looks for matches.
const SCAN_BATCH: i64 = 500;

/// A selection of the order log. The dates are local days of the account's
/// `time_zone` setting, both included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderLogQuery {
    pub status: Option<PoStatus>,
    /// Part of the PO number, ignoring case.
    pub search: Option<String>,
    /// The first day an order's first document may have arrived on.
    pub received_from: Option<NaiveDate>,
    /// The last day an order's first document may have arrived on.
    pub received_to: Option<NaiveDate>,
}

/// One page of a log: the rows after the first `offset`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPage {
    pub offset: usize,
    pub limit: usize,
}

/// One purchase order as the order log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLogRow {
    pub id: PoId,
    pub po_number: String,
    pub buyer: String,
    pub status: PoStatus,
    /// The reason the order waits or failed, if it does.
    pub reason: Option<String>,
    pub brightpearl_order_id: Option<i64>,
    pub revisions: i64,
    /// When the order's first document arrived.
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of the order log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLog {
    /// Newest first.
    pub rows: Vec<OrderLogRow>,
    /// Whether more rows match after this page.
    pub has_more: bool,
    /// The IANA name of the time zone whose days the dates select.
    pub time_zone: String,
}

/// Reads one page of the account's purchase orders that match `query`,
/// newest first.
pub async fn order_log(
    engine: &Engine,
    slug: &str,
    query: &OrderLogQuery,
    page: LogPage,
) -> Result<OrderLog, AdminError> {
    let account = account(engine, slug).await?;
    let zone = account_zone(&account);
    let end = page.offset + page.limit;

    let orders = matching_orders(engine, &account, query, Some(end + 1)).await?;
    let names = buyer_names(engine, &account).await?;
    let has_more = orders.len() > end;
    let rows = orders
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .map(|po| log_row(po, &names))
        .collect();
    Ok(OrderLog {
        rows,
        has_more,
        time_zone: zone.name().to_owned(),
    })
}

fn log_row(po: PurchaseOrder, names: &HashMap<BuyerId, String>) -> OrderLogRow {
    OrderLogRow {
        id: po.id,
        po_number: po.number.0,
        buyer: name_of(names, po.buyer_id),
        status: po.status,
        reason: po.reason,
        brightpearl_order_id: po.brightpearl_order_id,
        revisions: po.revision_count,
        received_at: po.created_at,
        updated_at: po.updated_at,
    }
}

/// Reads the account's orders that match `query`, newest first, and stops
/// once `max_rows` are found.
///
/// NOTE: the store filters by status and PO number but not by date, so the
/// dates are checked here on batches of [`SCAN_BATCH`] orders. A range that
/// ends long ago reads every newer order first; a received-at range in
/// `PoFilter` would let the database skip them.
pub(super) async fn matching_orders(
    engine: &Engine,
    account: &Account,
    query: &OrderLogQuery,
    max_rows: Option<usize>,
) -> Result<Vec<PurchaseOrder>, AdminError> {
    let zone = account_zone(account);
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned);
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let filter = PoFilter {
            status: query.status,
            buyer: None,
            search: search.clone(),
            limit: Some(SCAN_BATCH),
            offset: Some(offset),
        };
        let batch = engine
            .store
            .list_purchase_orders(account.id, &filter)
            .await?;
        let exhausted = (batch.len() as i64) < SCAN_BATCH;
        offset += batch.len() as i64;

        for po in batch {
            let day = local_day(po.created_at, zone);
            if query.received_from.is_some_and(|from| day < from) {
                // The store lists newest first, so every order after this
                // one arrived earlier still.
                return Ok(found);
            }
            if query.received_to.is_some_and(|to| day > to) {
                continue;
            }
            found.push(po);
            if max_rows.is_some_and(|max_rows| found.len() >= max_rows) {
                return Ok(found);
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
}

/// Returns the time zone of the account's `time_zone` setting, or UTC when
/// it is not an IANA name.
pub fn account_zone(account: &Account) -> Tz {
    account.settings.time_zone.trim().parse().unwrap_or(Tz::UTC)
}

/// Returns the calendar day of `at` in `zone`.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// Returns, in plain words, what an order's status means and what, if
/// anything, a person should do about it.
pub fn status_explanation(status: PoStatus) -> &'static str {
    match status {
        PoStatus::Received => "Received and waiting for its turn to sync to Brightpearl.",
        PoStatus::Synced => "Synced: its Brightpearl sales order exists.",
        PoStatus::AwaitingMapping => {
            "Waiting for an item mapping: a line matches no Brightpearl product. \
             Map the item on the Items page and the order syncs by itself."
        }
        PoStatus::AwaitingCustomer => {
            "Waiting for a customer: pobridge could not choose a Brightpearl contact for the \
             bill-to. Map the customer on the Customers page and the order syncs by itself."
        }
        PoStatus::AwaitingSettings => {
            "Waiting for a setting that the sales order needs. Complete it on the Settings \
             page and the order syncs by itself."
        }
        PoStatus::HeldForReview => {
            "Held for review: the buyer changed or cancelled the order after its Brightpearl \
             sales order was created. Apply the change in Brightpearl by hand, then mark it \
             handled."
        }
        PoStatus::Retrying => {
            "Retrying: Brightpearl could not be reached or gave an error that may pass. \
             pobridge tries again by itself."
        }
        PoStatus::Paused => {
            "Paused: Brightpearl no longer accepts pobridge's authorization. Reconnect \
             Brightpearl on the Settings page and the order syncs by itself."
        }
        PoStatus::Failed => {
            "Failed: Brightpearl rejected the order, or retrying ran out of time. Fix the \
             cause below, then re-sync."
        }
        PoStatus::TestNotSynced => {
            "A test document from a production buyer, which pobridge never syncs."
        }
        PoStatus::Validated => {
            "Checked only: an order of a test buyer is validated against a production \
             Brightpearl but not written to it."
        }
        PoStatus::Cancelled => "Cancelled by the buyer before a sales order was created.",
        PoStatus::Shipped => "Its Brightpearl sales order has shipped.",
        PoStatus::Invoiced => "Its Brightpearl sales order has been invoiced.",
    }
}

#[cfg(test)]
mod tests {
    use pobridge_core::AccountId;

    use super::*;
    use crate::admin::log_fixtures::{account_with_buyer, engine_at, receive, set_zone, utc};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn numbers(log: &OrderLog) -> Vec<&str> {
        log.rows.iter().map(|row| row.po_number.as_str()).collect()
    }

    const ALL: LogPage = LogPage {
        offset: 0,
        limit: 100,
    };

    /// Three orders around midnight in Los Angeles: PO-1 on 9 May local
    /// time, PO-2 and PO-3 on 10 May.
    async fn three_orders() -> Engine {
        let (engine, clock) = engine_at("2024-05-09T12:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        set_zone(&engine, account, "America/Los_Angeles").await;
        for (number, at) in [
            ("PO-1", "2024-05-10T06:59:00Z"),
            ("PO-2", "2024-05-10T07:01:00Z"),
            ("PO-3", "2024-05-11T06:00:00Z"),
        ] {
            clock.set(utc(at));
            receive(&engine, account, buyer, number, at, "<cXML/>").await;
        }
        engine
    }

    #[tokio::test]
    async fn dates_select_local_days() {
        let engine = three_orders().await;
        let query = |from: Option<&str>, to: Option<&str>| OrderLogQuery {
            received_from: from.map(day),
            received_to: to.map(day),
            ..OrderLogQuery::default()
        };

        let tenth = order_log(
            &engine,
            "acme",
            &query(Some("2024-05-10"), Some("2024-05-10")),
            ALL,
        )
        .await
        .unwrap();
        let ninth = order_log(&engine, "acme", &query(None, Some("2024-05-09")), ALL)
            .await
            .unwrap();
        let all = order_log(&engine, "acme", &query(None, None), ALL)
            .await
            .unwrap();

        assert_eq!(numbers(&tenth), ["PO-3", "PO-2"]);
        assert_eq!(numbers(&ninth), ["PO-1"]);
        assert_eq!(numbers(&all), ["PO-3", "PO-2", "PO-1"]);
        assert_eq!(all.time_zone, "America/Los_Angeles");
    }

    #[tokio::test]
    async fn pages_say_whether_more_follow() {
        let engine = three_orders().await;
        let first = LogPage {
            offset: 0,
            limit: 2,
        };
        let second = LogPage {
            offset: 2,
            limit: 2,
        };

        let one = order_log(&engine, "acme", &OrderLogQuery::default(), first)
            .await
            .unwrap();
        let two = order_log(&engine, "acme", &OrderLogQuery::default(), second)
            .await
            .unwrap();

        assert_eq!(numbers(&one), ["PO-3", "PO-2"]);
        assert!(one.has_more);
        assert_eq!(numbers(&two), ["PO-1"]);
        assert!(!two.has_more);
    }

    #[tokio::test]
    async fn search_and_status_narrow_the_log() {
        let engine = three_orders().await;
        let search = OrderLogQuery {
            search: Some(" po-2 ".to_owned()),
            ..OrderLogQuery::default()
        };
        let failed = OrderLogQuery {
            status: Some(PoStatus::Failed),
            ..OrderLogQuery::default()
        };

        let found = order_log(&engine, "acme", &search, ALL).await.unwrap();
        let none = order_log(&engine, "acme", &failed, ALL).await.unwrap();

        assert_eq!(numbers(&found), ["PO-2"]);
        assert!(none.rows.is_empty());
    }

    #[tokio::test]
    async fn other_accounts_orders_are_not_listed() {
        let engine = three_orders().await;
        account_with_buyer(&engine, "globex").await;

        let log = order_log(&engine, "globex", &OrderLogQuery::default(), ALL)
            .await
            .unwrap();

        assert!(log.rows.is_empty());
    }

    #[test]
    fn unknown_zone_counts_in_utc() {
        let mut account = pobridge_store::Account {
            id: AccountId(1),
            slug: pobridge_core::AccountSlug::parse("acme").unwrap(),
            email: "ops@acme.example".to_owned(),
            settings: pobridge_core::AccountSettings::default(),
            created_at: utc("2024-05-10T00:00:00Z"),
        };
        account.settings.time_zone = "Mars/Olympus".to_owned();

        assert_eq!(account_zone(&account), Tz::UTC);
    }
}
