//! Brightpearl ID sets: the `1-5,7,9-12` path segment of multi-id GETs.
//!
//! Ids are de-duplicated, sorted and compressed into ranges, then split so
//! that no URL carries more than `max_parts` comma-separated parts (long
//! lists hit HTTP 414) or covers more than 200 ids (the documented cap of
//! order, product and contact GETs).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::transport::Call;

/// The maximum number of ids one multi-id GET may cover.
pub(crate) const MAX_ITEMS_PER_REQUEST: usize = 200;

/// Builds the ID-set segments for `ids`, one per request. Ids that are not
/// positive cannot exist in Brightpearl and are left out, because a minus
/// sign would read as a range.
pub(crate) fn id_sets(ids: &[i64], max_parts: usize) -> Vec<String> {
    group_ranges(ids, max_parts)
        .iter()
        .map(|parts| render(parts))
        .collect()
}

/// Splits `ids` into the groups that one multi-id GET each carries, as
/// [`id_sets`] does, with each group's ids sorted.
pub(crate) fn id_groups(ids: &[i64], max_parts: usize) -> Vec<Vec<i64>> {
    group_ranges(ids, max_parts)
        .iter()
        .map(|parts| parts.iter().flat_map(|&(low, high)| low..=high).collect())
        .collect()
}

/// Sorts, de-duplicates and compresses `ids` into ranges, grouped so that
/// no group has more than `max_parts` ranges or covers more than
/// [`MAX_ITEMS_PER_REQUEST`] ids.
fn group_ranges(ids: &[i64], max_parts: usize) -> Vec<Vec<(i64, i64)>> {
    let mut sorted: Vec<i64> = ids.iter().copied().filter(|id| *id > 0).collect();
    sorted.sort_unstable();
    sorted.dedup();

    let max_parts = max_parts.max(1);
    let mut groups = Vec::new();
    let mut parts: Vec<(i64, i64)> = Vec::new();
    let mut items = 0;
    for (low, high) in runs(&sorted) {
        let mut low = low;
        while low <= high {
            if parts.len() == max_parts || items == MAX_ITEMS_PER_REQUEST {
                groups.push(std::mem::take(&mut parts));
                items = 0;
            }
            let room = (MAX_ITEMS_PER_REQUEST - items) as i64;
            let part_high = high.min(low + room - 1);
            parts.push((low, part_high));
            items += (part_high - low + 1) as usize;
            low = part_high + 1;
        }
    }
    if !parts.is_empty() {
        groups.push(parts);
    }
    groups
}

/// Splits sorted, distinct ids into runs of consecutive values.
fn runs(sorted: &[i64]) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &id in sorted {
        match runs.last_mut() {
            Some((_, high)) if *high + 1 == id => *high = id,
            _ => runs.push((id, id)),
        }
    }
    runs
}

fn render(parts: &[(i64, i64)]) -> String {
    parts
        .iter()
        .map(|&(low, high)| {
            if low == high {
                low.to_string()
            } else {
                format!("{low}-{high}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl BrightpearlClient {
    /// Splits `ids` into the groups that one multi-id GET each fetches, so
    /// a caller can fetch and handle one group at a time.
    pub fn id_set_groups(&self, ids: &[i64]) -> Vec<Vec<i64>> {
        id_groups(ids, self.config().max_ids_per_request)
    }

    /// GETs `{path}/{id set}` for every chunk of `ids` and decodes the items,
    /// keeping each item's JSON. Missing ids are simply absent: Brightpearl
    /// replies to them with an empty list (orders) or 404 `CMNC-404`
    /// (contacts), and both mean "not found". Replies are unsorted.
    pub(crate) async fn get_many<T: DeserializeOwned>(
        &self,
        path: &str,
        ids: &[i64],
        query: &[(&str, &str)],
    ) -> Result<Vec<(T, Value)>, BrightpearlError> {
        let mut items = Vec::new();
        for set in id_sets(ids, self.config().max_ids_per_request) {
            let mut call = Call::get(format!("{path}/{set}"));
            for (name, value) in query {
                call = call.query(name, *value);
            }
            let body = match self.send(&call).await {
                Ok(body) => body,
                Err(error) if error.kind() == &ErrorKind::NotFound => {
                    tracing::debug!(%error, "no record exists for this ID set");
                    continue;
                }
                Err(error) => return Err(error),
            };
            let decoded = crate::envelope::decode_items(&body)
                .map_err(|error| error.with_request(call.name()))?;
            items.extend(decoded);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_and_sorts() {
        let sets = id_sets(&[321, 1, 2, 3, 5, 320, 2, 8, 9], 100);
        assert_eq!(sets, vec!["1-3,5,8-9,320-321"]);
    }

    #[test]
    fn groups_match_the_sets() {
        let ids = [321, 1, 2, 3, 5, 320, 2, 8, 9];
        assert_eq!(
            id_groups(&ids, 2),
            vec![vec![1, 2, 3, 5], vec![8, 9, 320, 321]]
        );
        assert_eq!(id_sets(&ids, 2), vec!["1-3,5", "8-9,320-321"]);
    }

    #[test]
    fn empty_and_non_positive_ids_give_no_sets() {
        assert!(id_sets(&[], 100).is_empty());
        assert!(id_sets(&[0, -4], 100).is_empty());
        assert_eq!(id_sets(&[-1, 7], 100), vec!["7"]);
    }

    #[test]
    fn long_range_splits_at_200_items() {
        let ids: Vec<i64> = (1..=500).collect();
        let sets = id_sets(&ids, 100);
        assert_eq!(sets, vec!["1-200", "201-400", "401-500"]);
    }

    #[test]
    fn discrete_ids_split_at_max_parts() {
        let ids: Vec<i64> = (1..=250).map(|n| n * 2).collect();
        let sets = id_sets(&ids, 100);

        assert_eq!(sets.len(), 3);
        for set in &sets {
            assert!(set.split(',').count() <= 100, "{set}");
        }
        assert!(sets[0].starts_with("2,4,6"));
        assert!(sets[2].ends_with(",498,500"));
    }

    #[test]
    fn mixed_runs_respect_both_caps() {
        let mut ids: Vec<i64> = (1..=150).collect();
        ids.extend((1..=80).map(|n| 1000 + n * 3));
        let sets = id_sets(&ids, 100);

        let mut covered = 0;
        for set in &sets {
            let mut items = 0;
            for part in set.split(',') {
                items += match part.split_once('-') {
                    Some((low, high)) => {
                        high.parse::<i64>().unwrap() - low.parse::<i64>().unwrap() + 1
                    }
                    None => 1,
                };
            }
            assert!(items <= 200, "{set}");
            assert!(set.split(',').count() <= 100, "{set}");
            covered += items;
        }
        assert_eq!(covered, 230);
        assert_eq!(sets[0].split(',').next(), Some("1-150"));
    }
}
