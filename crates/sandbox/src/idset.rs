//! ID sets: the `12`, `10-20`, `3,9,27` and `1-5,7` path segments that name
//! several records at once.

use std::collections::BTreeSet;

/// The most ids one GET may name on orders, products and contacts, as
/// Brightpearl documents for Order GET.
pub(crate) const MAX_IDS_PER_GET: usize = 200;

/// Ranges wider than this are rejected outright so a typo such as
/// `1-999999999` cannot make the sandbox allocate gigabytes.
const MAX_EXPANDED_IDS: u64 = 100_000;

/// A parsed ID set segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdSet {
    /// An omitted or empty segment: every record of a small resource.
    All,
    /// `*`, used in goods-out note paths for "any order".
    Wildcard,
    /// The named ids, de-duplicated, in the order first written.
    Ids(Vec<u64>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ID set {segment:?}: {reason}")]
pub(crate) struct IdSetError {
    pub segment: String,
    pub reason: String,
}

impl IdSet {
    /// Parses a path segment. A period-separated list (`1.5.3`) is accepted
    /// as an unordered set, as one Java client documents.
    pub fn parse(segment: &str) -> Result<Self, IdSetError> {
        let segment = segment.trim();
        if segment.is_empty() {
            return Ok(Self::All);
        }
        if segment == "*" {
            return Ok(Self::Wildcard);
        }
        let fail = |reason: &str| IdSetError {
            segment: segment.to_owned(),
            reason: reason.to_owned(),
        };
        let mut seen = BTreeSet::new();
        let mut ids = Vec::new();
        let mut expanded: u64 = 0;
        for part in segment.split([',', '.']) {
            let (low, high) = match part.split_once('-') {
                Some((a, b)) => (
                    parse_id(a).ok_or_else(|| fail("bad range start"))?,
                    parse_id(b).ok_or_else(|| fail("bad range end"))?,
                ),
                None => {
                    let id = parse_id(part).ok_or_else(|| fail("not a whole number"))?;
                    (id, id)
                }
            };
            if low > high {
                return Err(fail("range runs high to low"));
            }
            expanded += high - low + 1;
            if expanded > MAX_EXPANDED_IDS {
                return Err(fail("too many ids"));
            }
            for id in low..=high {
                if seen.insert(id) {
                    ids.push(id);
                }
            }
        }
        Ok(Self::Ids(ids))
    }

    /// The named ids, or `None` for `All` and `*`.
    pub fn ids(&self) -> Option<&[u64]> {
        match self {
            Self::Ids(ids) => Some(ids),
            Self::All | Self::Wildcard => None,
        }
    }

    /// True when `id` is in the set; `All` and `*` contain every id.
    pub fn contains(&self, id: u64) -> bool {
        match self {
            Self::Ids(ids) => ids.contains(&id),
            Self::All | Self::Wildcard => true,
        }
    }
}

fn parse_id(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Writes sorted ids in Brightpearl's compact form: runs of two or more
/// consecutive ids become `a-b`, as in the captured `1-2,5,8,10-41`.
pub(crate) fn format_compact(ids: &[u64]) -> String {
    let mut sorted: Vec<u64> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] == end + 1 {
            index += 1;
            end = sorted[index];
        }
        if start == end {
            parts.push(start.to_string());
        } else {
            parts.push(format!("{start}-{end}"));
        }
        index += 1;
    }
    parts.join(",")
}

/// Splits existing ids into OPTIONS `getUris` paths of at most
/// [`MAX_IDS_PER_GET`] ids each, under `resource_path` such as `/order`.
pub(crate) fn get_uris(resource_path: &str, existing: &[u64]) -> Vec<String> {
    let mut sorted: Vec<u64> = existing.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .chunks(MAX_IDS_PER_GET)
        .map(|chunk| format!("{resource_path}/{}", format_compact(chunk)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mixture_of_ranges_and_lists() {
        let set = IdSet::parse("1-3,7,9-10").unwrap();
        assert_eq!(set, IdSet::Ids(vec![1, 2, 3, 7, 9, 10]));
    }

    #[test]
    fn parses_period_list_and_dedupes() {
        let set = IdSet::parse("5.3.5").unwrap();
        assert_eq!(set, IdSet::Ids(vec![5, 3]));
    }

    #[test]
    fn empty_and_star_segments() {
        assert_eq!(IdSet::parse("").unwrap(), IdSet::All);
        assert_eq!(IdSet::parse("*").unwrap(), IdSet::Wildcard);
    }

    #[test]
    fn rejects_garbage_and_reversed_ranges() {
        assert!(IdSet::parse("abc").is_err());
        assert!(IdSet::parse("9-3").is_err());
        assert!(IdSet::parse("1,,2").is_err());
        assert!(IdSet::parse("1-999999999").is_err());
    }

    #[test]
    fn compact_form_matches_captured_options_reply() {
        let mut ids: Vec<u64> = (1..=100).collect();
        ids.retain(|id| ![3, 4, 6, 7, 9, 42, 45].contains(id));
        ids.extend([320, 321]);
        assert_eq!(format_compact(&ids), "1-2,5,8,10-41,43-44,46-100,320-321");
    }

    #[test]
    fn get_uris_chunk_at_two_hundred() {
        let ids: Vec<u64> = (1..=450).collect();
        let uris = get_uris("/order", &ids);
        assert_eq!(
            uris,
            vec!["/order/1-200", "/order/201-400", "/order/401-450"]
        );
    }
}
