//! Benchmark of invoice detection: how many Brightpearl requests one
//! incremental poll and one sweep cost when many orders are tracked and a
//! few of them were just invoiced. Prints figures and checks only that the
//! invoiced orders were found.
//!
//! Usage: `cargo run --release -p pobridge-e2e --bin bench-invoice-poll -- [ORDERS] [INVOICED]`

use anyhow::Result;
use pobridge_e2e::bench::invoice_poll::{measure_polls, Measured};

#[tokio::main]
async fn main() -> Result<()> {
    let arguments: Vec<String> = std::env::args().collect();
    let orders: usize = argument(&arguments, 1, 1_000);
    let invoiced: usize = argument(&arguments, 2, 10);

    let runs = measure_polls(orders, invoiced).await?;
    println!(
        "{} tracked Brightpearl orders, made by posting and syncing corpus orders",
        runs.tracked
    );
    print_table(&[
        ("first poll, without a cursor", &runs.first),
        ("incremental poll", &runs.incremental),
        ("sweep of open orders", &runs.sweep),
    ]);
    println!("requests of the incremental poll:");
    for request in &runs.incremental.requests {
        println!(
            "  {} {} -> {}",
            request.method, request.path_and_query, request.status
        );
    }
    println!("the incremental poll found all {invoiced} invoiced orders");
    Ok(())
}

fn argument(arguments: &[String], index: usize, default: usize) -> usize {
    arguments
        .get(index)
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn print_table(runs: &[(&str, &Measured)]) {
    println!();
    println!(
        "| run | Brightpearl requests | orders checked | newly invoiced found | invoices stored |"
    );
    println!("|---|---|---|---|---|");
    for (name, measured) in runs {
        println!(
            "| {name} | {} | {} | {} | {} |",
            measured.requests.len(),
            measured.summary.checked,
            measured.summary.newly_invoiced.len(),
            measured.summary.invoices_stored.len()
        );
    }
    println!();
}
