//! Brightpearl's search resources (`order-search`, `product-search`, ...).
//!
//! Replies carry rows as positional arrays described by
//! `response.metaData.columns`, with lookup tables in a top-level
//! `reference` sibling of `response`. Rows are mapped by column name, never
//! by position, because Brightpearl adds columns over time. Paging follows
//! the rows actually returned: `resultsAvailable` is known to be wrong on
//! some searches and `morePagesAvailable` is only a hint.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::transport::Call;

/// Rows requested per page, which is Brightpearl's maximum.
pub(crate) const PAGE_SIZE: usize = 500;
/// A bound on paging, so a server that ignores `firstResult` cannot keep
/// the client busy forever: 2,000 pages are a million rows.
const MAX_PAGES: usize = 2_000;

/// A search: the resource path, its id column (used as the stable sort
/// key) and filters. Filter values are URL-encoded when sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    path: String,
    id_column: String,
    filters: Vec<(String, String)>,
}

impl SearchRequest {
    /// Creates a search of `path` (such as `order-service/order-search`)
    /// sorted on `id_column` (such as `orderId`).
    pub fn new(path: impl Into<String>, id_column: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            id_column: id_column.into(),
            filters: Vec::new(),
        }
    }

    /// Adds a text filter (STRING, SEARCH_STRING, IDSET columns).
    pub fn text(mut self, column: &str, value: impl Into<String>) -> Self {
        self.filters.push((column.to_owned(), value.into()));
        self
    }

    /// Adds an INTEGER filter.
    pub fn integer(self, column: &str, value: i64) -> Self {
        self.text(column, value.to_string())
    }

    /// Adds a BOOLEAN filter, sent as the text `true` or `false`.
    pub fn boolean(self, column: &str, value: bool) -> Self {
        self.text(column, if value { "true" } else { "false" })
    }

    /// Adds a PERIOD filter `from/to`; either end may be open.
    pub fn period(
        self,
        column: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Self {
        let format = |at: Option<DateTime<Utc>>| {
            at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, false))
                .unwrap_or_default()
        };
        let value = format!("{}/{}", format(from), format(to));
        self.text(column, value)
    }
}

/// Every row of a search, sorted by the id column, with the merged
/// `reference` lookup tables.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub rows: Vec<SearchRow>,
    /// The `reference` object beside `response`, such as
    /// `{"orderStatusNames": {"4": "Invoiced"}}`; `{}` when none.
    pub reference: Value,
}

/// One search row, read by column name.
#[derive(Debug, Clone)]
pub struct SearchRow {
    columns: Arc<HashMap<String, usize>>,
    cells: Vec<Value>,
}

impl SearchRow {
    /// Returns the cell of `column`, or `None` when the reply has no such column.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.columns
            .get(column)
            .and_then(|index| self.cells.get(*index))
    }

    /// Reads the cell as an integer, from a number or numeric text.
    pub fn integer(&self, column: &str) -> Option<i64> {
        self.get(column).and_then(crate::de::int_value)
    }

    /// Reads the cell as text. `null` and `""` are `None`.
    pub fn text(&self, column: &str) -> Option<String> {
        self.get(column).and_then(crate::de::text_value)
    }

    /// Reads the cell as a boolean.
    pub fn boolean(&self, column: &str) -> Option<bool> {
        self.get(column).and_then(crate::de::bool_value)
    }

    /// Reads the cell as a timestamp with its original offset.
    pub fn timestamp(&self, column: &str) -> Option<DateTime<FixedOffset>> {
        self.get(column).and_then(crate::de::timestamp_value)
    }
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "metaData")]
    meta: MetaData,
    #[serde(default)]
    results: Vec<Vec<Value>>,
}

#[derive(Deserialize)]
struct MetaData {
    #[serde(
        rename = "morePagesAvailable",
        default,
        deserialize_with = "crate::de::flag"
    )]
    more_pages: Option<bool>,
    #[serde(default)]
    columns: Vec<Column>,
}

#[derive(Deserialize)]
struct Column {
    name: String,
}

struct Page {
    rows: Vec<SearchRow>,
    more_pages: bool,
}

impl BrightpearlClient {
    /// Runs a search and pages through every result, `PAGE_SIZE` rows a
    /// request, until a page comes back empty or short (a short page with
    /// `morePagesAvailable` still set is followed once more).
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResults, BrightpearlError> {
        let mut rows = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut reference = Map::new();
        let mut first_result = 1;

        for _ in 0..MAX_PAGES {
            let mut call = Call::get(request.path.clone());
            for (column, value) in &request.filters {
                call = call.query(column, value.clone());
            }
            let call = call
                .query("pageSize", PAGE_SIZE.to_string())
                .query("firstResult", first_result.to_string())
                .query("sort", format!("{}.ASC", request.id_column));
            let body = self.send(&call).await?;
            let page = parse_page(&body).map_err(|error| error.with_request(call.name()))?;
            merge_reference(&mut reference, &body);

            let returned = page.rows.len();
            let mut added = 0;
            for row in page.rows {
                let fresh = row
                    .integer(&request.id_column)
                    .is_none_or(|id| seen_ids.insert(id));
                if fresh {
                    rows.push(row);
                    added += 1;
                }
            }
            let short = returned < PAGE_SIZE && !page.more_pages;
            if returned == 0 || short {
                return Ok(finish(rows, reference, &request.id_column));
            }
            if added == 0 {
                tracing::warn!(request = %call.name(), first_result, "a search page repeated earlier rows; stopping");
                return Ok(finish(rows, reference, &request.id_column));
            }
            first_result += returned;
        }
        Err(BrightpearlError::new(
            ErrorKind::Other,
            format!("the search did not end after {MAX_PAGES} pages; narrow the filters"),
        )
        .with_request(format!("GET {}", request.path)))
    }
}

fn finish(
    mut rows: Vec<SearchRow>,
    reference: Map<String, Value>,
    id_column: &str,
) -> SearchResults {
    rows.sort_by_key(|row| row.integer(id_column).unwrap_or(i64::MAX));
    SearchResults {
        rows,
        reference: Value::Object(reference),
    }
}

fn parse_page(body: &Value) -> Result<Page, BrightpearlError> {
    let payload = crate::envelope::payload(body)
        .cloned()
        .unwrap_or(Value::Null);
    let payload: Payload = serde_json::from_value(payload).map_err(|error| {
        BrightpearlError::new(
            ErrorKind::Other,
            format!("unexpected search reply: {error}"),
        )
        .with_source(error)
    })?;
    let columns: HashMap<String, usize> = payload
        .meta
        .columns
        .into_iter()
        .enumerate()
        .map(|(index, column)| (column.name, index))
        .collect();
    let columns = Arc::new(columns);
    let rows = payload
        .results
        .into_iter()
        .map(|cells| SearchRow {
            columns: columns.clone(),
            cells,
        })
        .collect();
    Ok(Page {
        rows,
        more_pages: payload.meta.more_pages.unwrap_or(false),
    })
}

/// Adds a page's `reference` tables to those already seen; tables with the
/// same name are merged key by key.
fn merge_reference(into: &mut Map<String, Value>, body: &Value) {
    let Some(Value::Object(tables)) = body.get("reference") else {
        return;
    };
    for (name, table) in tables {
        match (into.get_mut(name), table) {
            (Some(Value::Object(existing)), Value::Object(more)) => {
                existing.extend(more.iter().map(|(key, value)| (key.clone(), value.clone())));
            }
            _ => {
                into.insert(name.clone(), table.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Value {
        let path = format!(
            "{}/../../../shared/corpus/brightpearl/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn rows_are_read_by_column_name() {
        let body = corpus("order-search-by-customer-ref.response.json");
        let page = parse_page(&body).unwrap();

        assert_eq!(page.rows.len(), 4);
        let first = &page.rows[0];
        assert_eq!(first.integer("orderId"), Some(322));
        assert_eq!(first.text("customerRef").as_deref(), Some("#0001"));
        assert_eq!(first.integer("orderTypeId"), Some(1));
        assert_eq!(first.get("updatedOn"), Some(&Value::Null));
        assert_eq!(first.timestamp("updatedOn"), None);
        assert_eq!(first.get("reference"), None);
        assert!(!page.more_pages);
    }

    #[test]
    fn reference_tables_merge_across_pages() {
        let mut merged = Map::new();
        merge_reference(
            &mut merged,
            &serde_json::json!({"reference": {"names": {"1": "a"}}}),
        );
        merge_reference(
            &mut merged,
            &serde_json::json!({"reference": {"names": {"2": "b"}, "other": {}}}),
        );
        merge_reference(&mut merged, &serde_json::json!({}));

        assert_eq!(merged["names"], serde_json::json!({"1": "a", "2": "b"}));
        assert!(merged.contains_key("other"));
    }

    #[test]
    fn period_filter_leaves_open_end_empty() {
        let from = DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let request = SearchRequest::new("order-service/order-search", "orderId")
            .period("updatedOn", Some(from), None)
            .boolean("isCustomer", false);
        assert_eq!(
            request.filters,
            vec![
                (
                    "updatedOn".to_owned(),
                    "2024-05-01T00:00:00+00:00/".to_owned()
                ),
                ("isCustomer".to_owned(), "false".to_owned()),
            ]
        );
    }

    #[test]
    fn search_reply_without_metadata_is_an_error() {
        let error = parse_page(&serde_json::json!({"response": []}))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Other);
    }
}
