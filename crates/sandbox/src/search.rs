//! The search engine behind every `…-search` resource: type-aware filters,
//! sorting, paging, column projection and the `metaData` block.

use std::cmp::Ordering;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Value};

use crate::envelope::{code, Reply};
use crate::idset::IdSet;
use crate::resources::ApiRequest;
use crate::time::{parse_flexible, DayEnd};

/// The largest page a search returns.
pub(crate) const MAX_PAGE_SIZE: usize = 500;

/// A column's `reportDataType`, which decides how its filter is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataType {
    IdSet,
    Integer,
    String,
    SearchString,
    StringSet,
    Boolean,
    Period,
}

impl DataType {
    fn name(self) -> &'static str {
        match self {
            Self::IdSet => "IDSET",
            Self::Integer => "INTEGER",
            Self::String => "STRING",
            Self::SearchString => "SEARCH_STRING",
            Self::StringSet => "STRING_SET",
            Self::Boolean => "BOOLEAN",
            Self::Period => "PERIOD",
        }
    }
}

/// One result column of a search resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub data_type: DataType,
    pub sortable: bool,
    pub filterable: bool,
    pub reference_data: &'static [&'static str],
}

impl Column {
    /// A sortable, filterable column without reference data.
    pub const fn new(name: &'static str, data_type: DataType) -> Self {
        Self {
            name,
            data_type,
            sortable: true,
            filterable: true,
            reference_data: &[],
        }
    }

    pub const fn with_reference(mut self, reference_data: &'static [&'static str]) -> Self {
        self.reference_data = reference_data;
        self
    }

    pub const fn not_sortable(mut self) -> Self {
        self.sortable = false;
        self
    }

    pub const fn not_filterable(mut self) -> Self {
        self.filterable = false;
        self
    }

    fn descriptor(&self) -> Value {
        json!({
            "name": self.name,
            "sortable": self.sortable,
            "filterable": self.filterable,
            "reportDataType": self.data_type.name(),
            "referenceData": self.reference_data,
            "isFreeTextSearchable": false,
            "required": false
        })
    }
}

/// A filter that is not a result column, such as `channelId` on
/// product-search.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExtraFilter {
    pub name: &'static str,
    pub data_type: DataType,
}

/// A search resource's columns and extra filters.
pub(crate) struct Spec {
    pub columns: &'static [Column],
    pub extra_filters: &'static [ExtraFilter],
}

/// One candidate row: cells in column order, plus values for the extra
/// filters (a scalar or an array, matched if any element matches).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub cells: Vec<Value>,
    pub extras: Vec<(&'static str, Value)>,
}

impl Row {
    /// The cell of a column by name.
    pub fn cell(&self, spec: &Spec, name: &str) -> Option<&Value> {
        let index = spec.columns.iter().position(|c| c.name == name)?;
        self.cells.get(index)
    }
}

/// A finished search: the `response` object and the rows it returned, for
/// building the `reference` sibling.
pub(crate) struct Outcome<'r> {
    pub response: Value,
    pub returned: Vec<&'r Row>,
}

/// The `…-search/meta-data` reply.
pub(crate) fn metadata_reply(spec: &Spec) -> Reply {
    let columns: Vec<Value> = spec.columns.iter().map(Column::descriptor).collect();
    Reply::ok(json!({ "columns": columns }), "bulk-data-search")
}

const RESERVED: [&str; 6] = [
    "columns",
    "sort",
    "pageSize",
    "firstResult",
    "countOnly",
    "includeOptional",
];

/// Runs a search over `rows`.
pub(crate) fn run<'r>(
    spec: &Spec,
    rows: &'r [Row],
    request: &ApiRequest<'_>,
    offset: FixedOffset,
) -> Result<Outcome<'r>, Reply> {
    let filters = parse_filters(spec, request, offset)?;
    let mut matched: Vec<&Row> = rows
        .iter()
        .filter(|row| filters.iter().all(|f| f.matches(row)))
        .collect();

    let sorts = parse_sort(spec, request.param("sort"));
    matched.sort_by(|a, b| compare_rows(a, b, &sorts));

    let projection = parse_projection(spec, request.param("columns"));
    let available = matched.len();
    let sorting: Vec<Value> = sorts
        .iter()
        .map(|(index, descending)| {
            json!({
                "filterable": spec.columns[*index].descriptor(),
                "direction": if *descending { "DESC" } else { "ASC" }
            })
        })
        .collect();
    let columns: Vec<Value> = projection
        .iter()
        .map(|i| spec.columns[*i].descriptor())
        .collect();

    if request
        .param("countOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        let metadata = json!({
            "morePagesAvailable": false, "resultsAvailable": available, "resultsReturned": 0,
            "columns": columns, "sorting": sorting
        });
        return Ok(Outcome {
            response: json!({ "metaData": metadata, "results": [] }),
            returned: Vec::new(),
        });
    }

    let page_size = parse_count(request.param("pageSize"))
        .unwrap_or(MAX_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let first = parse_count(request.param("firstResult"))
        .unwrap_or(1)
        .max(1);
    let page: Vec<&Row> = matched
        .into_iter()
        .skip(first - 1)
        .take(page_size)
        .collect();
    let results: Vec<Value> = page
        .iter()
        .map(|row| Value::Array(projection.iter().map(|i| row.cells[*i].clone()).collect()))
        .collect();

    let mut metadata = json!({
        "morePagesAvailable": first - 1 + page.len() < available,
        "resultsAvailable": available,
        "resultsReturned": page.len(),
        "columns": columns,
        "sorting": sorting
    });
    if !page.is_empty() {
        metadata["firstResult"] = json!(first);
        metadata["lastResult"] = json!(first + page.len() - 1);
    }
    Ok(Outcome {
        response: json!({ "metaData": metadata, "results": results }),
        returned: page,
    })
}

fn parse_count(text: Option<&str>) -> Option<usize> {
    text.and_then(|t| t.trim().parse().ok())
}

/// A parsed filter, bound to a column index or an extra filter name.
struct Filter {
    target: Target,
    test: Test,
}

enum Target {
    Column(usize),
    Extra(&'static str),
}

enum Test {
    Ids(IdSet),
    Integer(i64),
    Exact(String),
    Contains(String),
    AnyOf(Vec<String>),
    Boolean(bool),
    Period(Option<DateTime<Utc>>, Option<DateTime<Utc>>),
}

impl Filter {
    fn matches(&self, row: &Row) -> bool {
        let value = match self.target {
            Target::Column(index) => row.cells.get(index),
            Target::Extra(name) => row.extras.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
        };
        match value {
            Some(Value::Array(items)) => items.iter().any(|item| self.test.matches(item)),
            Some(value) => self.test.matches(value),
            None => false,
        }
    }
}

impl Test {
    fn matches(&self, value: &Value) -> bool {
        match self {
            Self::Ids(ids) => value.as_u64().is_some_and(|id| ids.contains(id)),
            Self::Integer(expected) => value.as_i64() == Some(*expected),
            Self::Exact(expected) => value.as_str() == Some(expected.as_str()),
            Self::Contains(needle) => value
                .as_str()
                .is_some_and(|text| text.to_lowercase().contains(needle.as_str())),
            Self::AnyOf(options) => value
                .as_str()
                .is_some_and(|text| options.iter().any(|o| o == text)),
            Self::Boolean(expected) => value.as_bool() == Some(*expected),
            Self::Period(from, to) => value
                .as_str()
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                .map(|at| at.with_timezone(&Utc))
                .is_some_and(|at| from.is_none_or(|f| at >= f) && to.is_none_or(|t| at <= t)),
        }
    }
}

fn parse_filters(
    spec: &Spec,
    request: &ApiRequest<'_>,
    offset: FixedOffset,
) -> Result<Vec<Filter>, Reply> {
    let mut filters = Vec::new();
    for (name, value) in &request.query {
        if RESERVED.contains(&name.as_str()) {
            continue;
        }
        let (target, data_type) =
            if let Some(index) = spec.columns.iter().position(|c| c.name == name) {
                let column = &spec.columns[index];
                if !column.filterable {
                    continue;
                }
                (Target::Column(index), column.data_type)
            } else if let Some(extra) = spec.extra_filters.iter().find(|f| f.name == name) {
                (Target::Extra(extra.name), extra.data_type)
            } else {
                // Brightpearl ignores filters it does not know; so does the sandbox.
                tracing::debug!(filter = %name, "search filter ignored: no such column");
                continue;
            };
        let test = parse_test(data_type, value, offset).ok_or_else(|| {
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::FILTER_UNPARSABLE,
                format!(
                    "The filter {name}={value} cannot be parsed as: {}",
                    data_type.name()
                ),
                "bulk-data-search",
            )
        })?;
        filters.push(Filter { target, test });
    }
    Ok(filters)
}

fn parse_test(data_type: DataType, value: &str, offset: FixedOffset) -> Option<Test> {
    Some(match data_type {
        DataType::IdSet => match IdSet::parse(value).ok()? {
            IdSet::Ids(ids) => Test::Ids(IdSet::Ids(ids)),
            IdSet::All | IdSet::Wildcard => return None,
        },
        DataType::Integer => Test::Integer(value.trim().parse().ok()?),
        DataType::String => Test::Exact(value.to_owned()),
        DataType::SearchString => Test::Contains(value.to_lowercase()),
        DataType::StringSet => Test::AnyOf(value.split(',').map(str::to_owned).collect()),
        DataType::Boolean => match value.trim().to_ascii_lowercase().as_str() {
            "true" => Test::Boolean(true),
            "false" => Test::Boolean(false),
            _ => return None,
        },
        DataType::Period => parse_period(value, offset)?,
    })
}

/// Reads `from/to` with either side optional; a value without `/` is one
/// day (date) or one instant (date-time).
fn parse_period(value: &str, offset: FixedOffset) -> Option<Test> {
    let bound = |text: &str, end: DayEnd| -> Option<Option<DateTime<Utc>>> {
        if text.trim().is_empty() {
            Some(None)
        } else {
            parse_flexible(text, offset, end).map(Some)
        }
    };
    match value.split_once('/') {
        Some((from, to)) => Some(Test::Period(
            bound(from, DayEnd::Start)?,
            bound(to, DayEnd::End)?,
        )),
        None => Some(Test::Period(
            bound(value, DayEnd::Start)?,
            bound(value, DayEnd::End)?,
        )),
    }
}

/// Reads `sort=a.DESC,b` or the older `a|DESC`; unknown or unsortable
/// columns are skipped. Defaults to the first column ascending.
fn parse_sort(spec: &Spec, text: Option<&str>) -> Vec<(usize, bool)> {
    let mut sorts = Vec::new();
    for item in text
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        let (name, direction) = item
            .rsplit_once(['.', '|'])
            .filter(|(_, d)| matches!(d.to_ascii_uppercase().as_str(), "ASC" | "DESC"))
            .unwrap_or((item, "ASC"));
        let Some(index) = spec
            .columns
            .iter()
            .position(|c| c.name == name.trim() && c.sortable)
        else {
            continue;
        };
        sorts.push((index, direction.eq_ignore_ascii_case("DESC")));
    }
    if sorts.is_empty() {
        sorts.push((0, false));
    }
    sorts
}

fn parse_projection(spec: &Spec, text: Option<&str>) -> Vec<usize> {
    let chosen: Vec<usize> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|name| spec.columns.iter().position(|c| c.name == name.trim()))
        .collect();
    if chosen.is_empty() {
        (0..spec.columns.len()).collect()
    } else {
        chosen
    }
}

fn compare_rows(a: &Row, b: &Row, sorts: &[(usize, bool)]) -> Ordering {
    for (index, descending) in sorts {
        let ordering = compare_cells(&a.cells[*index], &b.cells[*index]);
        let ordering = if *descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    compare_cells(&a.cells[0], &b.cells[0])
}

fn compare_cells(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => {
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            text(a).cmp(&text(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    const COLUMNS: [Column; 3] = [
        Column::new("id", DataType::IdSet),
        Column::new("name", DataType::SearchString),
        Column::new("when", DataType::Period),
    ];
    const SPEC: Spec = Spec {
        columns: &COLUMNS,
        extra_filters: &[],
    };

    fn rows() -> Vec<Row> {
        [
            (1, "Blue Widget", "2024-05-01T10:00:00.000-06:00"),
            (2, "red widget", "2024-05-03T10:00:00.000-06:00"),
            (3, "Bracket", "2024-06-01T10:00:00.000-06:00"),
        ]
        .into_iter()
        .map(|(id, name, when)| Row {
            cells: vec![json!(id), json!(name), json!(when)],
            extras: vec![],
        })
        .collect()
    }

    fn search(query: &str) -> Result<Value, Reply> {
        let rows = rows();
        let request = ApiRequest::new(&Method::GET, "x", Some(query), b"");
        run(
            &SPEC,
            &rows,
            &request,
            FixedOffset::west_opt(6 * 3600).unwrap(),
        )
        .map(|o| o.response)
    }

    #[test]
    fn search_string_is_case_insensitive_contains() {
        let response = search("name=WIDGET").unwrap();
        assert_eq!(
            response["results"],
            json!([
                [1, "Blue Widget", "2024-05-01T10:00:00.000-06:00"],
                [2, "red widget", "2024-05-03T10:00:00.000-06:00"]
            ])
        );
    }

    #[test]
    fn period_with_open_end_and_sort_with_pipe() {
        let response = search("when=2024-05-02/&sort=id|DESC&columns=id").unwrap();
        assert_eq!(response["results"], json!([[3], [2]]));
        assert_eq!(response["metaData"]["sorting"][0]["direction"], "DESC");
    }

    #[test]
    fn paging_reports_more_pages() {
        let response = search("pageSize=2&firstResult=2").unwrap();
        assert_eq!(response["results"].as_array().unwrap().len(), 2);
        assert_eq!(response["metaData"]["firstResult"], 2);
        assert_eq!(response["metaData"]["lastResult"], 3);
        assert_eq!(response["metaData"]["morePagesAvailable"], false);
        let first = search("pageSize=1").unwrap();
        assert_eq!(first["metaData"]["morePagesAvailable"], true);
    }

    #[test]
    fn bad_idset_filter_is_cmnc_018() {
        let reply = search("id=BAD PARAM").unwrap_err();
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            reply.body.unwrap()["errors"][0]["message"],
            "The filter id=BAD PARAM cannot be parsed as: IDSET"
        );
    }
}
