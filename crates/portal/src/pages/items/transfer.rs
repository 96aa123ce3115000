//! `GET /items/export.csv` and `POST /items/import`: every manual mapping
//! of the account as CSV, out and back in. The format and the checks of
//! each row live in the engine's `item_csv` module.

use askama::Template;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use pobridge_engine::admin::item_csv::{self, ImportOutcome, ImportSummary, LineError};

use crate::auth::Member;
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

/// Largest CSV file an import reads.
pub(super) const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// Room in the request body for the multipart boundaries and part headers
/// around the file.
const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;

/// What the import expects, shown beside the import form.
pub(super) const COLUMNS_HINT: &str = item_csv::FORMAT_HINT;

/// Bad lines the page lists; the rest are counted.
const SHOWN_ERRORS: usize = 500;

/// Audit action of an import that changed mappings.
const AUDIT_ACTION: &str = "item_mapping.import";

pub(super) fn routes() -> Router<PortalState> {
    let body_limit = DefaultBodyLimit::max(MAX_IMPORT_BYTES + MULTIPART_OVERHEAD_BYTES);
    Router::new()
        .route("/items/export.csv", get(export))
        .route("/items/import", post(import).layer(body_limit))
}

/// `GET /items/export.csv`: every manual mapping of the account.
async fn export(State(state): State<PortalState>, member: Member) -> Result<Response, PortalError> {
    let file = item_csv::export_item_mappings(&state.engine, member.slug()).await?;

    let disposition = format!(
        "attachment; filename=\"item-mappings-{}.csv\"",
        member.slug()
    );
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    Ok((headers, file).into_response())
}

#[derive(Template)]
#[template(path = "items_import.html")]
struct ImportPage {
    layout: Layout,
    file_name: String,
    /// Why the upload could not be read, when it could not.
    problem: Option<String>,
    errors: Vec<LineError>,
    /// Bad lines past the ones listed.
    more_errors: usize,
    import_hint: &'static str,
}

/// `POST /items/import`: stores every row of the uploaded file, or none
/// of them and lists the bad lines.
async fn import(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    multipart: Multipart,
) -> Result<Response, PortalError> {
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err((status, problem)) => {
            let page = import_page(&member, &jar, String::new(), Some(problem), Vec::new());
            return Ok(with_status(status, page));
        }
    };

    let outcome =
        item_csv::import_item_mappings(&state.engine, member.slug(), &upload.bytes).await?;

    match outcome {
        ImportOutcome::Imported(summary) => {
            if summary.added + summary.changed > 0 {
                let detail = audit_detail(&upload.file_name, &summary);
                super::super::buyers::audit(&state, &member, AUDIT_ACTION, detail).await?;
            }
            let notice = imported_notice(&upload.file_name, &summary);
            Ok(redirect_with_notice("/items", &notice))
        }
        ImportOutcome::Rejected { errors } => {
            let page = import_page(&member, &jar, upload.file_name, None, errors);
            Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
    }
}

/// The uploaded file and its name as the browser sent it.
struct Upload {
    file_name: String,
    bytes: Vec<u8>,
}

/// Reads the `file` part of the form, up to [`MAX_IMPORT_BYTES`].
async fn read_upload(mut multipart: Multipart) -> Result<Upload, (StatusCode, String)> {
    loop {
        let field = multipart.next_field().await.map_err(unreadable)?;
        let Some(field) = field else {
            let problem = "Choose a CSV file to import.".to_owned();
            return Err((StatusCode::UNPROCESSABLE_ENTITY, problem));
        };
        if field.name() != Some("file") {
            continue;
        }
        let file_name = field.file_name().unwrap_or_default().trim().to_owned();
        let bytes = read_file(field).await?;
        // A form submitted without a chosen file sends an empty part
        // without a name.
        if file_name.is_empty() && bytes.is_empty() {
            let problem = "Choose a CSV file to import.".to_owned();
            return Err((StatusCode::UNPROCESSABLE_ENTITY, problem));
        }
        let file_name = if file_name.is_empty() {
            "the uploaded file".to_owned()
        } else {
            file_name
        };
        return Ok(Upload { file_name, bytes });
    }
}

async fn read_file(mut field: Field<'_>) -> Result<Vec<u8>, (StatusCode, String)> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn unreadable(error: MultipartError) -> (StatusCode, String) {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    tracing::info!(%error, "item import upload could not be read");
    let problem =
        "The upload could not be read as a file form. Choose the file again and import it.";
    (StatusCode::BAD_REQUEST, problem.to_owned())
}

fn too_large() -> (StatusCode, String) {
    let mebibytes = MAX_IMPORT_BYTES / (1024 * 1024);
    let problem = format!(
        "The file is larger than {mebibytes} MiB. Split it into smaller files and import each of them."
    );
    (StatusCode::PAYLOAD_TOO_LARGE, problem)
}

fn import_page(
    member: &Member,
    jar: &CookieJar,
    file_name: String,
    problem: Option<String>,
    mut errors: Vec<LineError>,
) -> Response {
    let more_errors = errors.len().saturating_sub(SHOWN_ERRORS);
    errors.truncate(SHOWN_ERRORS);
    let page = ImportPage {
        layout: Layout::new(member, jar, "items"),
        file_name,
        problem,
        errors,
        more_errors,
        import_hint: COLUMNS_HINT,
    };
    page_with_layout(&page.layout.clone(), page)
}

fn with_status(status: StatusCode, page: Response) -> Response {
    (status, page).into_response()
}

/// Such as `2 added, 1 changed and 4 unchanged`.
fn counts_text(summary: &ImportSummary) -> String {
    format!(
        "{} added, {} changed and {} unchanged",
        summary.added, summary.changed, summary.unchanged
    )
}

fn audit_detail(file_name: &str, summary: &ImportSummary) -> String {
    format!(
        "Imported item mappings from {file_name:?}: {}; released {} waiting {}.",
        counts_text(summary),
        summary.released_jobs,
        if summary.released_jobs == 1 {
            "order"
        } else {
            "orders"
        }
    )
}

/// The notice after an import was stored.
fn imported_notice(file_name: &str, summary: &ImportSummary) -> String {
    let rows = summary.added + summary.changed + summary.unchanged;
    let rows_text = if rows == 1 {
        "1 row".to_owned()
    } else {
        format!("{rows} rows")
    };
    let head = format!("Imported {file_name}: {rows_text}");
    let released = match summary.released_jobs {
        0 => "No order was released.".to_owned(),
        1 => "1 waiting order is tried again now.".to_owned(),
        count => format!("{count} waiting orders are tried again now."),
    };
    if summary.added + summary.changed == 0 {
        return format!("{head}, all equal to the stored mappings, so nothing changed.");
    }
    format!("{head}, {}. {released}", counts_text(summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(added: usize, changed: usize, unchanged: usize, released: u64) -> ImportSummary {
        ImportSummary {
            added,
            changed,
            unchanged,
            released_jobs: released,
        }
    }

    #[test]
    fn notice_counts_rows_and_released_orders() {
        assert_eq!(
            imported_notice("m.csv", &summary(2, 1, 4, 1)),
            "Imported m.csv: 7 rows, 2 added, 1 changed and 4 unchanged. 1 waiting order is tried again now."
        );
        assert_eq!(
            imported_notice("m.csv", &summary(0, 0, 3, 0)),
            "Imported m.csv: 3 rows, all equal to the stored mappings, so nothing changed."
        );
        assert!(imported_notice("m.csv", &summary(1, 0, 0, 0))
            .starts_with("Imported m.csv: 1 row, 1 added"));
        assert!(audit_detail("m.csv", &summary(0, 2, 0, 3)).ends_with("released 3 waiting orders."));
    }
}
