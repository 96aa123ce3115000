//! Alert conditions on purchase orders: a failed order, a backlog of
//! waiting orders and a buyer that stopped sending orders.

use chrono::Duration;
use pobridge_store::{BuyerMode, PoFilter, PoStatus, StoreError, WaitingOrder};

use super::{
    Alert, CheckContext, BACKLOG_MAIL, BUYER_SILENT_MAIL, ORDER_FAILED_MAIL, REMINDER_HOURS,
};
use crate::Engine;

/// A failure that began longer ago than this is not mailed, so an order
/// left failed for months does not mail each new user. A failure is mailed
/// once if a check runs within this time after it began.
const FAILURE_LOOKBACK_DAYS: i64 = 7;

/// Longer than the lookback, so a failure mailed once is never mailed again.
const FAILURE_DEDUPE_DAYS: i64 = FAILURE_LOOKBACK_DAYS + 1;

/// The statuses of an order that is queued for sync or waits for a person.
const BACKLOG_STATUSES: [PoStatus; 7] = [
    PoStatus::Received,
    PoStatus::Retrying,
    PoStatus::AwaitingMapping,
    PoStatus::AwaitingCustomer,
    PoStatus::AwaitingSettings,
    PoStatus::HeldForReview,
    PoStatus::Paused,
];

/// Orders a backlog message lists; the count covers the rest.
const BACKLOG_LISTED: usize = 10;

impl Engine {
    /// Returns one alert per order that is `failed` now and whose failure
    /// began within the lookback. pobridge confirmed every stored order to
    /// Coupa, so each failed order is one the buyer expects to be filled.
    pub(crate) async fn failed_order_alerts(
        &self,
        context: &CheckContext,
    ) -> Result<Vec<Alert>, StoreError> {
        let failed = self
            .store
            .waiting_orders(context.account.id, &[PoStatus::Failed])
            .await?;
        let oldest = context.now - Duration::days(FAILURE_LOOKBACK_DAYS);
        Ok(failed
            .iter()
            .filter(|order| order.since > oldest)
            .map(|order| failed_order_alert(context, order))
            .collect())
    }

    /// Returns one alert when an order has been queued or waiting for
    /// longer than `backlog_minutes`, listing the oldest such orders.
    pub(crate) async fn backlog_alert(
        &self,
        context: &CheckContext,
        backlog_minutes: u32,
    ) -> Result<Option<Alert>, StoreError> {
        if backlog_minutes == 0 {
            return Ok(None);
        }
        let waiting = self
            .store
            .waiting_orders(context.account.id, &BACKLOG_STATUSES)
            .await?;
        let limit = context.now - Duration::minutes(i64::from(backlog_minutes));
        let late: Vec<&WaitingOrder> = waiting
            .iter()
            .filter(|order| order.since <= limit)
            .collect();
        if late.is_empty() {
            return Ok(None);
        }
        Ok(Some(backlog_alert(context, &late, backlog_minutes)))
    }

    /// Returns one alert per production buyer whose newest order arrived
    /// more than `days` days ago. A buyer that never sent an order, and
    /// every test buyer, is left out.
    pub(crate) async fn silent_buyer_alerts(
        &self,
        context: &CheckContext,
        days: u32,
    ) -> Result<Vec<Alert>, StoreError> {
        if days == 0 {
            return Ok(Vec::new());
        }
        let limit = context.now - Duration::days(i64::from(days));
        let mut alerts = Vec::new();
        let mut buyers: Vec<_> = context.buyers.values().collect();
        buyers.sort_by_key(|buyer| buyer.id);
        for buyer in buyers {
            if buyer.mode != BuyerMode::Production {
                continue;
            }
            let newest = PoFilter {
                buyer: Some(buyer.id),
                limit: Some(1),
                ..PoFilter::default()
            };
            let orders = self
                .store
                .list_purchase_orders(context.account.id, &newest)
                .await?;
            let Some(last) = orders.first() else {
                continue;
            };
            if last.created_at > limit {
                continue;
            }
            let body = format!(
                "pobridge has received no new purchase orders from buyer {name} for more \
                 than {days} days. The last one, {number}, arrived at {at}.\n\n\
                 What to do: if the buyer usually orders more often, ask them whether their \
                 Coupa still sends orders to this pobridge. In pobridge, check the buyer's \
                 order URL and credentials under Buyers, and send a test order from there.\n\n\
                 This message is repeated every {days} days while no order arrives.\n",
                name = buyer.name,
                number = last.number,
                at = context.time(last.created_at),
            );
            alerts.push(Alert {
                kind: BUYER_SILENT_MAIL,
                key: format!("buyer_silent:{}:{}", buyer.id, last.created_at.timestamp()),
                window: Duration::days(i64::from(days)),
                subject: format!("No orders from {} for {days} days", buyer.name),
                body,
            });
        }
        Ok(alerts)
    }
}

fn failed_order_alert(context: &CheckContext, order: &WaitingOrder) -> Alert {
    let buyer = context.buyer_name(order.buyer);
    let reason = order.reason.as_deref().unwrap_or("no reason was recorded");
    let body = format!(
        "Purchase order {number} from buyer {buyer} failed at {at}, and pobridge did not \
         create a Brightpearl sales order for it. pobridge confirmed the order to Coupa, so \
         the buyer expects it to be filled.\n\n\
         Reason: {reason}\n\n\
         What to do: fix the cause above in Brightpearl or in pobridge (items, customers or \
         settings), then open the order under Orders in pobridge and press Re-sync.\n",
        number = order.number,
        at = context.time(order.since),
    );
    Alert {
        kind: ORDER_FAILED_MAIL,
        // The start of the failure distinguishes a failure after a re-sync from the first.
        key: format!("order_failed:{}:{}", order.po, order.since.timestamp()),
        window: Duration::days(FAILURE_DEDUPE_DAYS),
        subject: format!("Order {} from {buyer} failed", order.number),
        body,
    }
}

fn backlog_alert(context: &CheckContext, late: &[&WaitingOrder], backlog_minutes: u32) -> Alert {
    let count = match late.len() {
        1 => "1 purchase order has".to_owned(),
        count => format!("{count} purchase orders have"),
    };
    let mut body = format!(
        "{count} been waiting for more than {age} without a Brightpearl sales order. \
         The oldest:\n\n",
        age = minutes_text(backlog_minutes),
    );
    for order in late.iter().take(BACKLOG_LISTED) {
        let reason = order.reason.as_deref().unwrap_or("no reason was recorded");
        body.push_str(&format!(
            "- {number} from {buyer}: {status} since {since}: {reason}\n",
            number = order.number,
            buyer = context.buyer_name(order.buyer),
            status = order.status.as_str(),
            since = context.time(order.since),
        ));
    }
    if late.len() > BACKLOG_LISTED {
        body.push_str(&format!(
            "- and {} more, listed under Orders in pobridge\n",
            late.len() - BACKLOG_LISTED
        ));
    }
    body.push_str("\nWhat to do:\n");
    for status in BACKLOG_STATUSES {
        if late.iter().any(|order| order.status == status) {
            body.push_str(&format!("- {}: {}\n", status.as_str(), next_step(status)));
        }
    }
    body.push_str(&format!(
        "\nThis message is repeated every {REMINDER_HOURS} hours while orders wait this long.\n"
    ));
    Alert {
        kind: BACKLOG_MAIL,
        key: "backlog".to_owned(),
        window: Duration::hours(REMINDER_HOURS),
        subject: match late.len() {
            1 => "1 order is waiting in pobridge".to_owned(),
            count => format!("{count} orders are waiting in pobridge"),
        },
        body,
    }
}

/// Returns what a person does about an order waiting in `status`.
fn next_step(status: PoStatus) -> &'static str {
    match status {
        PoStatus::Received | PoStatus::Retrying => {
            "queued for sync; if these stay, check that pobridge is running and that \
             Brightpearl answers"
        }
        PoStatus::AwaitingMapping => "map the Coupa items to Brightpearl products under Items",
        PoStatus::AwaitingCustomer => "choose the Brightpearl customer under Customers",
        PoStatus::AwaitingSettings => "complete the defaults under Settings",
        PoStatus::HeldForReview => {
            "a change arrived after the sales order existed; open the order and decide"
        }
        PoStatus::Paused => "connect Brightpearl again under Settings, General",
        _ => "open the order in pobridge",
    }
}

fn minutes_text(minutes: u32) -> String {
    match minutes {
        1 => "1 minute".to_owned(),
        _ if minutes % 60 == 0 && minutes >= 120 => format!("{} hours", minutes / 60),
        60 => "1 hour".to_owned(),
        _ => format!("{minutes} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_age_reads_in_hours_when_whole() {
        assert_eq!(minutes_text(240), "4 hours");
        assert_eq!(minutes_text(60), "1 hour");
        assert_eq!(minutes_text(90), "90 minutes");
        assert_eq!(minutes_text(1), "1 minute");
    }
}
