//! Settings → Audit trail: who changed what in the account, newest first,
//! a page at a time.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pobridge_store::AuditEntry;
use serde::Deserialize;

use crate::auth::Member;
use crate::extract::Query;
use crate::render::{page_with_layout, Layout, PortalError};
use crate::PortalState;

/// Entries per page.
pub const PAGE_SIZE: i64 = 50;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new().route("/settings/audit", get(audit_page))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    /// The settings tab to highlight.
    tab: &'static str,
    entries: Vec<EntryRow>,
    /// Whether this page starts below the newest entry.
    paged: bool,
    /// The `before` value of the next, older page, when there is one.
    older: Option<i64>,
}

struct EntryRow {
    at: String,
    actor: String,
    action: String,
    detail: String,
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    /// Kept as text so a mangled link shows the newest page instead of an error.
    before: Option<String>,
}

async fn audit_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PortalError> {
    let before = query
        .before
        .and_then(|text| text.trim().parse::<i64>().ok());

    let mut entries = state
        .engine
        .store
        .audit_page(member.account.id, before, PAGE_SIZE + 1)
        .await?;

    let older = page_cut(&mut entries);
    let time_zone = &member.account.settings.time_zone;
    let rows = entries
        .into_iter()
        .map(|entry| EntryRow {
            at: local_time(entry.at, time_zone),
            actor: entry.actor,
            action: entry.action,
            detail: entry.detail,
        })
        .collect();
    let layout = Layout::new(&member, &jar, "settings");
    let page = AuditPage {
        layout,
        tab: "audit",
        entries: rows,
        paged: before.is_some(),
        older,
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

/// Cuts the one entry read beyond [`PAGE_SIZE`] and returns the `before`
/// value of the older page when that entry existed.
fn page_cut(entries: &mut Vec<AuditEntry>) -> Option<i64> {
    let page_size = usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    if entries.len() <= page_size {
        return None;
    }
    entries.truncate(page_size);
    entries.last().map(|entry| entry.id)
}

/// Formats `at` in the account's IANA time zone as the settings pages do,
/// such as `1 May 2024, 10:00 BST`. An unknown zone name shows UTC.
pub(super) fn local_time(at: DateTime<Utc>, time_zone: &str) -> String {
    let zone: Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    at.with_timezone(&zone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64) -> AuditEntry {
        AuditEntry {
            id,
            account: pobridge_core::AccountId(1),
            user: None,
            actor: "cli".to_owned(),
            action: "user.invite".to_owned(),
            detail: String::new(),
            at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn extra_entry_means_an_older_page() {
        let mut full: Vec<AuditEntry> = (0..=PAGE_SIZE).rev().map(entry).collect();
        let mut short: Vec<AuditEntry> = (1..=3).rev().map(entry).collect();

        let older = page_cut(&mut full);
        let none = page_cut(&mut short);

        assert_eq!(older, Some(1));
        assert_eq!(full.len(), 50);
        assert_eq!(none, None);
        assert_eq!(short.len(), 3);
    }

    #[test]
    fn times_show_in_the_account_zone() {
        let at: DateTime<Utc> = "2024-05-01T09:00:00Z".parse().unwrap();

        assert_eq!(local_time(at, "Europe/London"), "1 May 2024, 10:00 BST");
        assert_eq!(local_time(at, "America/New_York"), "1 May 2024, 05:00 EDT");
        assert_eq!(local_time(at, "Mars/Base"), "1 May 2024, 09:00 UTC");
    }
}
