//! `GET /items`: the Coupa items of the account with their mapping status,
//! one page at a time.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use pobridge_core::BuyerId;
use pobridge_store::{ItemPageQuery, MappingStatus, MappingStatusCounts};
use serde::Deserialize;

use super::{parse_status, status_key, status_label, PAGE_SIZE, STATUS_FILTERS};
use crate::auth::Member;
use crate::extract::Query;
use crate::render::{page_with_layout, Layout, PortalError};
use crate::PortalState;

/// Maximum length of the search text, in characters.
pub(super) const MAX_SEARCH_CHARS: usize = 200;

/// The list's query parameters as typed, kept to show them again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListParams {
    pub status: String,
    pub buyer: String,
    pub q: String,
    pub page: String,
}

/// A checked filter of the list, from which every link is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ListFilter {
    pub status: Option<MappingStatus>,
    pub buyer: Option<BuyerId>,
    pub search: String,
    pub page: usize,
}

/// What is wrong with each query parameter, if anything.
#[derive(Debug, Default)]
struct ParamErrors {
    status: Option<String>,
    buyer: Option<String>,
    search: Option<String>,
    page: Option<String>,
}

impl ParamErrors {
    fn any(&self) -> bool {
        self.status.is_some()
            || self.buyer.is_some()
            || self.search.is_some()
            || self.page.is_some()
    }
}

impl ListFilter {
    /// Checks typed parameters against the account's buyers. A rejected
    /// parameter is left out of the filter and explained in the errors.
    fn check(params: &ListParams, buyers: &[(BuyerId, String)]) -> (Self, ParamErrors) {
        let mut errors = ParamErrors::default();
        let status = parse_status(&params.status).unwrap_or_else(|| {
            errors.status = Some(format!(
                "Status {:?} is not one of all, mapped_by_hand, mapped_by_unique_id or unmapped, so every status is shown.",
                params.status.trim()
            ));
            None
        });
        let buyer_text = params.buyer.trim();
        let buyer = buyer_text
            .parse::<i64>()
            .ok()
            .map(BuyerId)
            .filter(|id| buyers.iter().any(|(known, _)| known == id));
        if buyer.is_none() && !buyer_text.is_empty() {
            errors.buyer = Some(format!(
                "No buyer of this account has the id {buyer_text:?}, so every buyer is shown."
            ));
        }
        let mut search = params.q.trim().to_owned();
        if search.chars().count() > MAX_SEARCH_CHARS {
            errors.search = Some(format!(
                "The search is longer than {MAX_SEARCH_CHARS} characters, so nothing is searched. Type part of a part ID or description."
            ));
            search.clear();
        }
        let page_text = params.page.trim();
        let page = match page_text.parse::<usize>() {
            Ok(page) if page >= 1 => page,
            _ if page_text.is_empty() => 1,
            _ => {
                errors.page = Some(format!(
                    "Page {page_text:?} is not a page number, so the first page is shown. Pages are numbered from 1."
                ));
                1
            }
        };
        let filter = Self {
            status,
            buyer,
            search,
            page,
        };
        (filter, errors)
    }

    /// Reads the filter of a list link, such as the `back` parameter of the
    /// mapping form, leaving out whatever does not check.
    pub(super) fn from_query(query: &str, buyers: &[(BuyerId, String)]) -> Self {
        let params: ListParams = serde_urlencoded::from_str(query).unwrap_or_default();
        Self::check(&params, buyers).0
    }

    /// The query string of this filter at `page`, without the `?`.
    pub(super) fn query_string(&self, status: Option<MappingStatus>, page: usize) -> String {
        let buyer = self.buyer.map(|id| id.to_string()).unwrap_or_default();
        let page = page.to_string();
        let mut fields = vec![
            ("status", status.map(|_| status_key(status)).unwrap_or("")),
            ("buyer", buyer.as_str()),
            ("q", self.search.as_str()),
            ("page", page.as_str()),
        ];
        fields.retain(|(name, value)| {
            let first_page = *name == "page" && *value == "1";
            !(value.is_empty() || first_page)
        });
        serde_urlencoded::to_string(fields).unwrap_or_default()
    }

    /// The link to this filter at `page`, with `status` in place of the
    /// filter's own status.
    pub(super) fn link_with(&self, status: Option<MappingStatus>, page: usize) -> String {
        let query = self.query_string(status, page);
        if query.is_empty() {
            "/items".to_owned()
        } else {
            format!("/items?{query}")
        }
    }

    pub(super) fn link(&self) -> String {
        self.link_with(self.status, self.page)
    }
}

/// A status tab with its count.
struct Tab {
    label: &'static str,
    count: i64,
    href: String,
    current: bool,
}

/// One entry of the pager: a page number, or a gap when `href` is `None`
/// and `current` is false.
struct PageLink {
    label: String,
    href: Option<String>,
    current: bool,
}

/// The pager: previous and next links, and the page numbers around the
/// current page with the first and the last.
struct Pager {
    previous: Option<String>,
    next: Option<String>,
    pages: Vec<PageLink>,
}

impl Pager {
    fn new(filter: &ListFilter, last_page: usize) -> Self {
        let current = filter.page;
        let link = |page: usize| filter.link_with(filter.status, page);
        let mut pages = Vec::new();
        let mut shown_up_to = 0;
        for page in 1..=last_page {
            let near = page.abs_diff(current) <= 2;
            if !(page == 1 || page == last_page || near) {
                continue;
            }
            if page > shown_up_to + 1 {
                pages.push(PageLink {
                    label: "…".to_owned(),
                    href: None,
                    current: false,
                });
            }
            pages.push(PageLink {
                label: page.to_string(),
                href: Some(link(page)),
                current: page == current,
            });
            shown_up_to = page;
        }
        Self {
            previous: (current > 1).then(|| link(current - 1)),
            next: (current < last_page).then(|| link(current + 1)),
            pages,
        }
    }
}

/// One item as the table shows it.
pub(super) struct ItemRowView {
    pub buyer: String,
    pub part_id: String,
    pub unit: String,
    pub description: String,
    pub status_class: &'static str,
    pub status_label: &'static str,
    /// The product the item maps to, such as `GLV-L · Safety gloves`.
    pub product: Option<String>,
    /// Why the item is unmapped.
    pub reason: Option<String>,
    pub map_href: String,
    pub action: &'static str,
}

#[derive(Template)]
#[template(path = "items_list.html")]
struct ListPage {
    layout: Layout,
    params: ListParams,
    filter: ListFilter,
    buyers: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    status_error: Option<String>,
    buyer_error: Option<String>,
    search_error: Option<String>,
    page_error: Option<String>,
    tabs: Vec<Tab>,
    rows: Vec<ItemRowView>,
    total: i64,
    all_items: i64,
    first_shown: usize,
    last_shown: usize,
    pager: Pager,
    import_hint: String,
}

impl ListPage {
    fn buyer_selected(&self, id: &str) -> bool {
        self.filter.buyer.map(|buyer| buyer.to_string()).as_deref() == Some(id)
    }

    fn status_selected(&self, key: &str) -> bool {
        status_key(self.filter.status) == key
    }

    /// Whether any filter narrows the list.
    fn filtered(&self) -> bool {
        let filter = &self.filter;
        filter.status.is_some() || filter.buyer.is_some() || !filter.search.is_empty()
    }
}

/// `GET /items`.
pub(super) async fn list_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(params): Query<ListParams>,
) -> Result<Response, PortalError> {
    let buyers = super::map::buyer_names(&state, &member).await?;
    let (mut filter, mut errors) = ListFilter::check(&params, &buyers);

    let mut page = fetch(&state, &member, &filter).await?;
    let last_page = last_page(page.total);
    if filter.page > last_page {
        errors.page = Some(format!(
            "Page {} is past the last page, {last_page}, so the last page is shown.",
            filter.page
        ));
        filter.page = last_page;
        page = fetch(&state, &member, &filter).await?;
    }

    let rows = page
        .entries
        .into_iter()
        .map(|entry| super::map::row_view(entry, &buyers, &member, &filter))
        .collect::<Vec<_>>();
    let first_shown = (filter.page - 1) * PAGE_SIZE + 1;
    let status = if errors.any() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let view = ListPage {
        layout: Layout::new(&member, &jar, "items"),
        tabs: tabs(&filter, &page.counts),
        buyers: buyers
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone()))
            .collect(),
        statuses: STATUS_FILTERS
            .into_iter()
            .map(|status| (status_key(status), status_label(status)))
            .collect(),
        status_error: errors.status,
        buyer_error: errors.buyer,
        search_error: errors.search,
        page_error: errors.page,
        total: page.total,
        all_items: page.counts.get(None),
        first_shown,
        last_shown: first_shown + rows.len().saturating_sub(1),
        rows,
        pager: Pager::new(&filter, last_page),
        import_hint: super::transfer::COLUMNS_HINT.to_owned(),
        params,
        filter,
    };
    let response = page_with_layout(&view.layout.clone(), view);
    Ok((status, response).into_response())
}

/// Number of the last page for `total` items; an empty list has page 1.
fn last_page(total: i64) -> usize {
    let total = usize::try_from(total).unwrap_or(0);
    total.div_ceil(PAGE_SIZE).max(1)
}

fn tabs(filter: &ListFilter, counts: &MappingStatusCounts) -> Vec<Tab> {
    STATUS_FILTERS
        .into_iter()
        .map(|status| Tab {
            label: status_label(status),
            count: counts.get(status),
            href: filter.link_with(status, 1),
            current: filter.status == status,
        })
        .collect()
}

/// Reads one page of items for the filter.
async fn fetch(
    state: &PortalState,
    member: &Member,
    filter: &ListFilter,
) -> Result<pobridge_store::ItemPage, PortalError> {
    let query = ItemPageQuery {
        status: filter.status,
        buyer: filter.buyer,
        search: Some(filter.search.clone()).filter(|text| !text.is_empty()),
        limit: Some(PAGE_SIZE as i64),
        offset: ((filter.page - 1) * PAGE_SIZE) as i64,
    };
    Ok(state
        .engine
        .store
        .item_page(member.account.id, &query)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyers() -> Vec<(BuyerId, String)> {
        vec![(BuyerId(3), "coupa".to_owned())]
    }

    fn params(status: &str, buyer: &str, q: &str, page: &str) -> ListParams {
        ListParams {
            status: status.to_owned(),
            buyer: buyer.to_owned(),
            q: q.to_owned(),
            page: page.to_owned(),
        }
    }

    #[test]
    fn filter_links_keep_every_parameter() {
        let (filter, errors) =
            ListFilter::check(&params("unmapped", "3", " a/b c ", "2"), &buyers());
        assert!(!errors.any());
        assert_eq!(
            filter.link(),
            "/items?status=unmapped&buyer=3&q=a%2Fb+c&page=2"
        );
        assert_eq!(filter.link_with(None, 1), "/items?buyer=3&q=a%2Fb+c");
        assert_eq!(
            ListFilter::from_query("status=unmapped&buyer=3&q=a%2Fb+c&page=2", &buyers()),
            filter
        );
    }

    #[test]
    fn bad_parameters_are_explained_and_dropped() {
        let long = "x".repeat(MAX_SEARCH_CHARS + 1);
        let (filter, errors) = ListFilter::check(&params("mapped", "9", &long, "0"), &buyers());
        assert_eq!(
            filter,
            ListFilter {
                page: 1,
                ..ListFilter::default()
            }
        );
        assert!(errors.status.unwrap().contains("\"mapped\""));
        assert!(errors.buyer.unwrap().contains("\"9\""));
        assert!(errors.search.unwrap().contains("longer than 200"));
        assert!(errors.page.unwrap().contains("\"0\""));
        let (_, errors) = ListFilter::check(&params("", "", "", "two"), &buyers());
        assert!(errors.page.is_some());
    }

    #[test]
    fn pager_shows_ends_and_neighbours() {
        let filter = ListFilter {
            page: 10,
            ..ListFilter::default()
        };
        let pager = Pager::new(&filter, 40);
        let labels: Vec<&str> = pager.pages.iter().map(|page| page.label.as_str()).collect();
        assert_eq!(labels, ["1", "…", "8", "9", "10", "11", "12", "…", "40"]);
        assert_eq!(pager.previous.as_deref(), Some("/items?page=9"));
        assert_eq!(pager.next.as_deref(), Some("/items?page=11"));
        let single = Pager::new(
            &ListFilter {
                page: 1,
                ..ListFilter::default()
            },
            1,
        );
        assert_eq!(single.pages.len(), 1);
        assert!(single.previous.is_none());
        assert!(single.next.is_none());
    }

    #[test]
    fn last_page_rounds_up() {
        assert_eq!(last_page(0), 1);
        assert_eq!(last_page(50), 1);
        assert_eq!(last_page(51), 2);
        assert_eq!(last_page(100_000), 2000);
    }
}
