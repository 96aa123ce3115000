//! `pobridge orders`: list an account's purchase orders, show one, queue a
//! fresh sync, or mark a change held for review as handled.

use pobridge_engine::admin::{
    self, HandledOrder, OrderDetail, ResyncOutcome, ResyncRow, ResyncTarget,
};
use pobridge_engine::retention::removed_notice;
use pobridge_engine::Engine;

use super::audit;
use crate::cli::{OrdersAction, OrdersArgs, ResyncArgs};
use crate::output::{enum_name, line, or_blank, print_json, print_pairs, print_table, time_text};

/// Runs `orders SLUG` or one of its subcommands.
pub async fn run(engine: &Engine, args: OrdersArgs) -> anyhow::Result<()> {
    let Some(action) = args.action else {
        return list(engine, &args.slug, args.status.as_deref(), args.json).await;
    };
    if args.status.is_some() {
        anyhow::bail!("--status filters only the order list; remove it to use a subcommand");
    }
    match action {
        OrdersAction::Show { po, buyer } => {
            show(engine, &args.slug, &po, buyer.as_deref(), args.json).await
        }
        OrdersAction::Resync(resync_args) => {
            resync(engine, &args.slug, resync_args, args.json).await
        }
        OrdersAction::Handled { po, buyer } => {
            let handled = admin::mark_handled(engine, &args.slug, &po, buyer.as_deref()).await?;
            let detail = format!(
                "marked PO {} (buyer {}) handled: {} held revision(s)",
                handled.po_number,
                handled.buyer,
                handled.handled.len()
            );
            audit::record(engine, &args.slug, "order.mark_handled", detail).await;
            if args.json {
                return print_json(&handled);
            }
            print_handled(&handled)
        }
    }
}

async fn list(engine: &Engine, slug: &str, status: Option<&str>, json: bool) -> anyhow::Result<()> {
    let orders = admin::list_orders(engine, slug, status).await?;

    if json {
        return print_json(&orders);
    }
    let rows = orders
        .into_iter()
        .map(|order| {
            vec![
                order.po_number,
                order.buyer,
                order.revisions.to_string(),
                order.status.as_str().to_owned(),
                or_blank(order.brightpearl_order_id),
                or_blank(order.reason),
            ]
        })
        .collect();
    let header = [
        "PO",
        "buyer",
        "revisions",
        "status",
        "Brightpearl order",
        "reason",
    ];
    print_table(
        &header,
        rows,
        &format!("No purchase orders in account {slug}."),
    )?;
    Ok(())
}

async fn show(
    engine: &Engine,
    slug: &str,
    po: &str,
    buyer: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let order = admin::show_order(engine, slug, po, buyer).await?;

    if json {
        return print_json(&order);
    }
    print_pairs(&summary_pairs(&order))?;
    line("")?;
    line("Revisions:")?;
    print_table(
        &[
            "revision",
            "type",
            "version",
            "document timestamp",
            "status",
            "received",
            "document",
        ],
        revision_rows(&order),
        "No revisions.",
    )?;
    line("")?;
    line("Timeline:")?;
    let events = order
        .events
        .iter()
        .map(|event| {
            vec![
                time_text(&event.at),
                event.status.as_str().to_owned(),
                event.message.clone(),
            ]
        })
        .collect();
    print_table(&["time", "status", "event"], events, "No events.")?;
    Ok(())
}

fn summary_pairs(order: &OrderDetail) -> Vec<(String, String)> {
    [
        ("PO", order.po_number.clone()),
        ("buyer", order.buyer.clone()),
        ("status", order.status.as_str().to_owned()),
        ("reason", or_blank(order.reason.as_ref())),
        (
            "Brightpearl order",
            or_blank(order.brightpearl_order_id.as_ref()),
        ),
        ("first received", time_text(&order.created_at)),
        ("last changed", time_text(&order.updated_at)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

fn revision_rows(order: &OrderDetail) -> Vec<Vec<String>> {
    order
        .revisions
        .iter()
        .map(|revision| {
            let mut kind = enum_name(&revision.order_type);
            if revision.test {
                kind.push_str(" (test)");
            }
            vec![
                revision.id.to_string(),
                kind,
                or_blank(revision.order_version),
                or_blank(revision.document_timestamp.as_ref().map(time_text)),
                enum_name(&revision.status),
                time_text(&revision.received_at),
                match revision.document_removed_at {
                    Some(at) => removed_notice(at.date_naive()),
                    None => "stored".to_owned(),
                },
            ]
        })
        .collect()
}

async fn resync(engine: &Engine, slug: &str, args: ResyncArgs, json: bool) -> anyhow::Result<()> {
    let target = if args.failed {
        ResyncTarget::Failed
    } else {
        ResyncTarget::Numbers(args.po)
    };

    let rows =
        admin::resync_orders(engine, slug, &target, args.buyer.as_deref(), args.dry_run).await?;
    if !args.dry_run {
        record_resync(engine, slug, &rows).await;
    }

    if json {
        print_json(&rows)?;
    } else {
        print_resync(slug, &rows, args.dry_run)?;
    }
    let rejected = rows
        .iter()
        .filter(|row| matches!(row.outcome, ResyncOutcome::Rejected { .. }))
        .count();
    if rejected > 0 {
        let verb = if args.dry_run {
            "would not re-queue"
        } else {
            "did not re-queue"
        };
        anyhow::bail!(
            "{verb} {rejected} of {}; the reasons are listed above",
            purchase_orders(rows.len())
        );
    }
    Ok(())
}

/// Records the orders a re-sync queued, if any, as one audit entry.
async fn record_resync(engine: &Engine, slug: &str, rows: &[ResyncRow]) {
    let queued: Vec<String> = rows
        .iter()
        .filter(|row| row.outcome == ResyncOutcome::Queued)
        .map(|row| format!("PO {} (buyer {})", row.po_number, row.buyer))
        .collect();
    if queued.is_empty() {
        return;
    }
    let detail = format!("queued a re-sync of {}", queued.join(", "));
    audit::record(engine, slug, "order.resync", detail).await;
}

fn print_resync(slug: &str, rows: &[ResyncRow], dry_run: bool) -> anyhow::Result<()> {
    let table = rows
        .iter()
        .map(|row| {
            let outcome = match &row.outcome {
                ResyncOutcome::Queued => "queued".to_owned(),
                ResyncOutcome::WouldQueue => "would be queued".to_owned(),
                ResyncOutcome::Rejected { reason } => format!("rejected: {reason}"),
            };
            vec![
                row.po_number.clone(),
                row.buyer.clone(),
                or_blank(row.status.map(|status| status.as_str())),
                outcome,
            ]
        })
        .collect();
    let empty = format!("No failed purchase orders in account {slug}.");
    print_table(&["PO", "buyer", "status", "result"], table, &empty)?;

    let queued = rows
        .iter()
        .filter(|row| matches!(row.outcome, ResyncOutcome::Queued))
        .count();
    if dry_run && !rows.is_empty() {
        line("Dry run: nothing was changed.")?;
    } else if queued > 0 {
        line(format_args!(
            "Queued {}; the worker of `pobridge serve` syncs each with the current settings.",
            purchase_orders(queued)
        ))?;
    }
    Ok(())
}

fn purchase_orders(count: usize) -> String {
    match count {
        1 => "1 purchase order".to_owned(),
        _ => format!("{count} purchase orders"),
    }
}

fn print_handled(handled: &HandledOrder) -> anyhow::Result<()> {
    line(format_args!(
        "Marked purchase order {} of buyer {} handled; it is synced with Brightpearl sales order {}.",
        handled.po_number,
        handled.buyer,
        or_blank(handled.brightpearl_order_id)
    ))?;
    let rows = handled
        .handled
        .iter()
        .map(|revision| {
            vec![
                revision.id.to_string(),
                enum_name(&revision.order_type),
                or_blank(revision.order_version),
                or_blank(revision.document_timestamp.as_ref().map(time_text)),
            ]
        })
        .collect();
    print_table(
        &["revision", "type", "version", "document timestamp"],
        rows,
        "No revision was held for review.",
    )?;
    Ok(())
}
