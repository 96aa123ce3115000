//! `pobridge invoices`: the invoice log, one invoice in full, queueing
//! invoices again, confirming what a person saw in Coupa, and queueing a
//! poll for new invoices.

use pobridge_engine::admin::{
    self, ConfirmedInvoice, InvoiceDetail, InvoiceQuery, InvoiceRow, RetryOutcome, RetryRow,
    RetryTarget,
};
use pobridge_engine::retention::removed_notice;
use pobridge_engine::Engine;
use pobridge_store::InvoiceKind;

use super::audit;
use crate::cli::{InvoiceRetryArgs, InvoicesAction, InvoicesArgs};
use crate::output::{
    enum_name, line, or_blank, print_json, print_pairs, print_queued_job, print_table, time_text,
    QueuedJob,
};

/// Invoices listed when `--limit` is not given.
const DEFAULT_LIMIT: i64 = 100;

/// Runs `invoices SLUG` or one of its subcommands.
pub async fn run(engine: &Engine, args: InvoicesArgs) -> anyhow::Result<()> {
    let Some(action) = args.action else {
        return list(engine, &args).await;
    };
    if args.status.is_some() || args.search.is_some() || args.limit.is_some() {
        anyhow::bail!(
            "--status, --search and --limit filter only the invoice list; remove them to use a subcommand"
        );
    }
    let slug = args.slug.as_str();
    match action {
        InvoicesAction::Show { number, buyer } => {
            let invoice = admin::show_invoice(engine, slug, &number, buyer.as_deref()).await?;
            if args.json {
                return print_json(&invoice);
            }
            print_detail(&invoice)
        }
        InvoicesAction::Retry(retry_args) => retry(engine, slug, retry_args, args.json).await,
        InvoicesAction::Confirm { number, buyer } => {
            let confirmed = admin::confirm_invoice(engine, slug, &number, buyer.as_deref()).await?;
            audit::record(engine, slug, "invoice.confirm", confirmed.audit_detail()).await;
            if args.json {
                return print_json(&confirmed);
            }
            print_confirmed(&confirmed)
        }
        InvoicesAction::Poll => {
            let job = admin::queue_invoice_poll(engine, slug).await?;
            let detail = format!("queued a poll of Brightpearl for invoices (job {job})");
            audit::record(engine, slug, "invoices.poll", detail).await;
            let queued = QueuedJob {
                account: slug,
                job: job.0,
                kind: pobridge_engine::invoice_jobs::POLL_INVOICES,
            };
            let sentence = format!(
                "Queued invoice poll job {job} for account {slug}; a running server's worker runs it."
            );
            print_queued_job(&queued, args.json, &sentence)
        }
    }
}

async fn list(engine: &Engine, args: &InvoicesArgs) -> anyhow::Result<()> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    let query = InvoiceQuery {
        status: args.status.clone(),
        search: args.search.clone(),
        limit: Some(limit),
    };

    let invoices = admin::list_invoices(engine, &args.slug, &query).await?;

    if args.json {
        return print_json(&invoices);
    }
    let empty = match (&args.status, &args.search) {
        (None, None) => format!("No invoices in account {}.", args.slug),
        _ => format!("No matching invoices in account {}.", args.slug),
    };
    print_table(&LOG_HEADER, log_rows(&invoices), &empty)?;
    if invoices.len() as i64 == limit {
        line(format_args!(
            "Showing the newest {limit}; pass --limit to see more."
        ))?;
    }
    Ok(())
}

const LOG_HEADER: [&str; 10] = [
    "invoice",
    "PO",
    "buyer",
    "kind",
    "status",
    "Brightpearl total",
    "Coupa total",
    "totals",
    "Coupa response",
    "reason",
];

fn log_rows(invoices: &[InvoiceRow]) -> Vec<Vec<String>> {
    invoices
        .iter()
        .map(|invoice| {
            vec![
                invoice.invoice_number.clone(),
                invoice.po_number.clone(),
                invoice.buyer.clone(),
                enum_name(&invoice.kind),
                invoice.status.as_str().to_owned(),
                money(invoice, invoice.brightpearl_total),
                sent_money(invoice),
                totals_flag(invoice).to_owned(),
                coupa_response(invoice),
                or_blank(invoice.reason.as_ref()),
            ]
        })
        .collect()
}

fn money(invoice: &InvoiceRow, amount: impl std::fmt::Display) -> String {
    format!("{amount} {}", invoice.currency)
}

/// Formats the total of the document built for Coupa, sent or not, or `-`
/// while no document is built.
fn sent_money(invoice: &InvoiceRow) -> String {
    match invoice.sent_total {
        Some(total) => money(invoice, total),
        None => "-".to_owned(),
    }
}

/// Flags the totals, or `-` while there is no Coupa total to compare.
fn totals_flag(invoice: &InvoiceRow) -> &'static str {
    match (invoice.sent_total, invoice.totals_differ) {
        (None, _) => "-",
        (Some(_), true) => "DIFFER",
        (Some(_), false) => "match",
    }
}

/// Formats Coupa's last response as `417 Invalid attributes in document.`.
fn coupa_response(invoice: &InvoiceRow) -> String {
    let status = invoice.coupa_status.map(|code| code.to_string());
    [status, invoice.coupa_text.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_detail(invoice: &InvoiceDetail) -> anyhow::Result<()> {
    let summary = &invoice.summary;
    let pairs: Vec<(String, String)> = [
        ("invoice", summary.invoice_number.clone()),
        ("kind", enum_name(&summary.kind)),
        ("PO", summary.po_number.clone()),
        ("buyer", summary.buyer.clone()),
        ("status", summary.status.as_str().to_owned()),
        ("reason", or_blank(summary.reason.as_ref())),
        ("Coupa response", coupa_response(summary)),
        (
            "Brightpearl order",
            invoice.brightpearl_order_id.to_string(),
        ),
        (
            "Brightpearl total",
            money(summary, summary.brightpearl_total),
        ),
        ("Coupa total", sent_money(summary)),
        ("totals", totals_flag(summary).to_owned()),
        ("invoice date", time_text(&summary.invoice_date)),
        ("attempts", invoice.attempts.to_string()),
        (
            "outcome unknown",
            if invoice.outcome_unknown { "yes" } else { "no" }.to_owned(),
        ),
        ("created", time_text(&invoice.created_at)),
        ("last changed", time_text(&summary.updated_at)),
        ("sent", or_blank(invoice.sent_at.as_ref().map(time_text))),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    print_pairs(&pairs)?;

    line("")?;
    line("Lines:")?;
    let (quantity_header, negate) = quantity_column(summary);
    let lines = invoice
        .lines
        .iter()
        .map(|line| {
            let quantity = if negate {
                -line.quantity
            } else {
                line.quantity
            };
            vec![line.po_line_number.to_string(), quantity.to_string()]
        })
        .collect();
    print_table(&["PO line", quantity_header], lines, "No lines.")?;

    line("")?;
    line("Other invoices of this purchase order:")?;
    print_table(&LOG_HEADER, log_rows(&invoice.other_invoices), "None.")?;

    line("")?;
    match invoice.document_removed_at {
        Some(at) => line(format!("Document: {}", removed_notice(at.date_naive())))?,
        None => {
            line("Document (shared secrets and card numbers masked):")?;
            line(invoice.document.trim_end())?;
        }
    }
    Ok(())
}

/// Returns the header of the line table's quantity column and whether a
/// stored quantity, positive for credits too, is shown negated. A credit
/// whose document total is negative was sent as negative quantities, so its
/// quantities are shown negative, as sent.
fn quantity_column(summary: &InvoiceRow) -> (&'static str, bool) {
    match (summary.kind, summary.sent_total) {
        (InvoiceKind::Credit, Some(total)) if total.is_sign_negative() => ("quantity sent", true),
        (InvoiceKind::Credit, _) => ("quantity credited", false),
        (InvoiceKind::Invoice, _) => ("quantity", false),
    }
}

async fn retry(
    engine: &Engine,
    slug: &str,
    args: InvoiceRetryArgs,
    json: bool,
) -> anyhow::Result<()> {
    let target = if args.all_failed {
        RetryTarget::AllFailed
    } else {
        RetryTarget::Numbers(args.number)
    };

    let rows = admin::retry_invoices(engine, slug, &target, args.buyer.as_deref()).await?;
    record_retry(engine, slug, &rows).await;

    if json {
        print_json(&rows)?;
    } else if let [row] = rows.as_slice() {
        if let RetryOutcome::Rejected { reason } = &row.outcome {
            anyhow::bail!("invoice {} was not queued: {reason}", row.invoice_number);
        }
        print_queued(slug, &rows)?;
    } else {
        print_retry_table(slug, &rows)?;
        print_queued(slug, &rows)?;
    }
    let rejected = rows
        .iter()
        .filter(|row| matches!(row.outcome, RetryOutcome::Rejected { .. }))
        .count();
    if rejected > 0 {
        anyhow::bail!(
            "did not queue {rejected} of {}; the reasons are listed above",
            invoices(rows.len())
        );
    }
    Ok(())
}

/// Records the invoices a retry queued, if any, as one audit entry.
async fn record_retry(engine: &Engine, slug: &str, rows: &[RetryRow]) {
    let queued: Vec<String> = rows
        .iter()
        .filter(|row| row.outcome == RetryOutcome::Queued)
        .map(|row| {
            let was = row.status.map_or("unknown", |status| status.as_str());
            format!(
                "invoice {} (buyer {}), which was {was}",
                row.invoice_number, row.buyer
            )
        })
        .collect();
    if queued.is_empty() {
        return;
    }
    let detail = format!("queued to be rebuilt and sent again: {}", queued.join("; "));
    audit::record(engine, slug, "invoice.retry", detail).await;
}

fn print_retry_table(slug: &str, rows: &[RetryRow]) -> anyhow::Result<()> {
    let table = rows
        .iter()
        .map(|row| {
            let outcome = match &row.outcome {
                RetryOutcome::Queued => "queued".to_owned(),
                RetryOutcome::Rejected { reason } => format!("rejected: {reason}"),
            };
            vec![
                row.invoice_number.clone(),
                row.buyer.clone(),
                or_blank(row.status.map(|status| status.as_str())),
                outcome,
            ]
        })
        .collect();
    let empty = format!("No failed invoices in account {slug}.");
    print_table(&["invoice", "buyer", "status", "result"], table, &empty)?;
    Ok(())
}

fn print_queued(slug: &str, rows: &[RetryRow]) -> anyhow::Result<()> {
    let queued = rows
        .iter()
        .filter(|row| matches!(row.outcome, RetryOutcome::Queued))
        .count();
    if queued > 0 {
        line(format_args!(
            "Queued {}; the worker of `pobridge serve` rebuilds each from Brightpearl with the current settings, under the same number, and sends it once its check passes. Follow them with `pobridge invoices {slug}`.",
            invoices(queued)
        ))?;
    }
    Ok(())
}

fn invoices(count: usize) -> String {
    match count {
        1 => "1 invoice".to_owned(),
        _ => format!("{count} invoices"),
    }
}

fn print_confirmed(confirmed: &ConfirmedInvoice) -> anyhow::Result<()> {
    line(format_args!(
        "Marked invoice {} of buyer {} {} (it was {}): {}.",
        confirmed.invoice_number,
        confirmed.buyer,
        confirmed.status.as_str(),
        confirmed.previous_status.as_str(),
        confirmed.reason
    ))?;
    Ok(())
}
