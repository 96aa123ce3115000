//! Item mapping: every Coupa item seen on the account's orders with its
//! mapping status, filtered by status and buyer, searched and paged; the
//! form that maps an item to a product of the local product index, which
//! releases the orders waiting for a mapping; and the export and import of
//! every manual mapping as CSV.
//!
//! An item is named by its buyer's id, its part id and its unit of measure
//! in query parameters, because a part id may contain slashes, spaces or
//! any other character. Another account's item is "not found".

mod list;
mod map;
mod transfer;

use axum::routing::get;
use axum::Router;
use pobridge_store::MappingStatus;

use crate::PortalState;

/// Items on one page of the list.
const PAGE_SIZE: usize = 50;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/items", get(list::list_page))
        .route("/items/map", get(map::map_page).post(map::save))
        .merge(transfer::routes())
}

/// The value of the `status` query parameter for each status filter.
fn status_key(status: Option<MappingStatus>) -> &'static str {
    match status {
        None => "all",
        Some(MappingStatus::MappedByHand) => "mapped_by_hand",
        Some(MappingStatus::MappedByUniqueId) => "mapped_by_unique_id",
        Some(MappingStatus::Unmapped) => "unmapped",
    }
}

/// Reads a `status` query parameter; an empty one means every status.
fn parse_status(text: &str) -> Option<Option<MappingStatus>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(None);
    }
    STATUS_FILTERS
        .into_iter()
        .find(|status| status_key(*status) == text)
}

/// The status filters in the order the tabs show them.
const STATUS_FILTERS: [Option<MappingStatus>; 4] = [
    None,
    Some(MappingStatus::MappedByHand),
    Some(MappingStatus::MappedByUniqueId),
    Some(MappingStatus::Unmapped),
];

/// The label of a status filter's tab.
fn status_label(status: Option<MappingStatus>) -> &'static str {
    match status {
        None => "All",
        Some(MappingStatus::MappedByHand) => "Mapped by hand",
        Some(MappingStatus::MappedByUniqueId) => "Mapped by unique ID",
        Some(MappingStatus::Unmapped) => "Unmapped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keys_read_back() {
        for status in STATUS_FILTERS {
            assert_eq!(parse_status(status_key(status)), Some(status));
        }
        assert_eq!(parse_status(" "), Some(None));
        assert_eq!(parse_status("Unmapped"), None);
        assert_eq!(parse_status("mapped"), None);
    }
}
