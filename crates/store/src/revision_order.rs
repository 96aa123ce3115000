//! The rule that decides which revision of a purchase order is the latest,
//! shared by every store implementation.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use pobridge_core::RevisionId;

use crate::OrderType;

/// The fields of a revision that decide its place among the revisions of
/// the same purchase order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionOrderKey {
    /// `OrderRequestHeader@orderVersion`.
    pub order_version: Option<i64>,
    /// The document's `timestamp`, in UTC so that offsets do not matter.
    pub document_timestamp: Option<DateTime<Utc>>,
    /// Arrival order: revision ids grow with every stored revision.
    pub arrival: RevisionId,
}

impl RevisionOrderKey {
    /// Builds the key of a revision of `order_type`. A `new` order without
    /// an `orderVersion` counts as version 1, since it is the first version
    /// of its purchase order. Otherwise a resent original with the same
    /// timestamp as an update, arriving after it, would rank above the
    /// update, and an update of a lower version arriving next would then
    /// rank above both.
    pub fn new(
        order_type: OrderType,
        order_version: Option<i64>,
        document_timestamp: Option<DateTime<Utc>>,
        arrival: RevisionId,
    ) -> Self {
        let order_version = match (order_type, order_version) {
            (OrderType::New, None) => Some(1),
            (_, version) => version,
        };
        Self {
            order_version,
            document_timestamp,
            arrival,
        }
    }
}

/// Orders two revisions of one purchase order; `Greater` means `a` is later.
///
/// The order versions decide when both revisions have one and they differ.
/// Otherwise the document timestamps decide when both have one and they
/// differ. Otherwise the revision that arrived last is later.
///
/// The relation is not transitive when some revisions lack a version or a
/// timestamp, so the store compares a new revision only with the current
/// latest one.
pub fn compare_revisions(a: &RevisionOrderKey, b: &RevisionOrderKey) -> Ordering {
    if let (Some(version_a), Some(version_b)) = (a.order_version, b.order_version) {
        if version_a != version_b {
            return version_a.cmp(&version_b);
        }
    }
    if let (Some(time_a), Some(time_b)) = (a.document_timestamp, b.document_timestamp) {
        if time_a != time_b {
            return time_a.cmp(&time_b);
        }
    }
    a.arrival.cmp(&b.arrival)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(version: Option<i64>, minute: Option<u32>, arrival: i64) -> RevisionOrderKey {
        RevisionOrderKey {
            order_version: version,
            document_timestamp: minute.map(|m| {
                Utc.with_ymd_and_hms(2024, 5, 1, 9, m, 0)
                    .single()
                    .expect("valid fixed time")
            }),
            arrival: RevisionId(arrival),
        }
    }

    #[test]
    fn comparison_follows_version_then_timestamp_then_arrival() {
        use Ordering::{Greater, Less};
        // (a, b, expected ordering of a against b)
        let cases = [
            // Both versions present: version wins over timestamp and arrival.
            (key(Some(2), Some(0), 1), key(Some(1), Some(30), 2), Greater),
            (key(Some(1), Some(30), 2), key(Some(2), Some(0), 1), Less),
            // Equal versions: the timestamp decides.
            (key(Some(1), Some(10), 1), key(Some(1), Some(20), 2), Less),
            (
                key(Some(1), Some(20), 1),
                key(Some(1), Some(10), 2),
                Greater,
            ),
            // Equal versions and timestamps: arrival decides.
            (
                key(Some(1), Some(10), 3),
                key(Some(1), Some(10), 2),
                Greater,
            ),
            // One version missing: timestamps decide.
            (key(None, Some(5), 2), key(Some(9), Some(6), 1), Less),
            (key(Some(1), Some(7), 1), key(None, Some(6), 2), Greater),
            // One version and one timestamp missing: arrival decides.
            (key(Some(3), None, 1), key(None, Some(6), 2), Less),
            (key(None, None, 2), key(None, None, 1), Greater),
            // Versions missing, timestamps equal: arrival decides.
            (key(None, Some(6), 1), key(None, Some(6), 2), Less),
        ];
        for (index, (a, b, expected)) in cases.iter().enumerate() {
            assert_eq!(
                compare_revisions(a, b),
                *expected,
                "case {index}: {a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn offsets_do_not_affect_timestamp_order() {
        let plus_two = chrono::FixedOffset::east_opt(2 * 3600).expect("valid offset");
        let earlier_local_later_utc = plus_two
            .with_ymd_and_hms(2024, 5, 1, 10, 30, 0)
            .single()
            .expect("valid fixed time");
        let a = RevisionOrderKey {
            order_version: None,
            document_timestamp: Some(earlier_local_later_utc.with_timezone(&Utc)),
            arrival: RevisionId(1),
        };
        // 10:30+02:00 is 08:30 UTC, so 09:00 UTC is later.
        let b = key(None, Some(0), 2);
        assert_eq!(compare_revisions(&a, &b), Ordering::Less);
    }

    #[test]
    fn new_order_without_version_is_version_one() {
        let minute = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).single();
        let update_three = RevisionOrderKey::new(OrderType::Update, Some(3), minute, RevisionId(1));
        let resent_new = RevisionOrderKey::new(OrderType::New, None, minute, RevisionId(2));
        let update_two = RevisionOrderKey::new(OrderType::Update, Some(2), minute, RevisionId(3));

        assert_eq!(resent_new.order_version, Some(1));
        assert_eq!(
            compare_revisions(&resent_new, &update_three),
            Ordering::Less
        );
        assert_eq!(
            compare_revisions(&update_two, &update_three),
            Ordering::Less
        );
        assert_eq!(
            compare_revisions(&update_two, &resent_new),
            Ordering::Greater
        );
    }

    #[test]
    fn update_without_version_keeps_none() {
        let key = RevisionOrderKey::new(OrderType::Update, None, None, RevisionId(1));
        assert_eq!(key.order_version, None);
    }
}
