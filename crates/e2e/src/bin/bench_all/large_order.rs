//! Reading a 10,000-line OrderRequest: time and peak heap.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use peak_alloc::PeakAlloc;
use pobridge_cxml::{read_envelope, Body, Limits};
use pobridge_e2e::bench::large_order::order_with_lines;
use pobridge_e2e::bench::load::percentile;

/// Counts every allocation of this process, so that the heap one read takes
/// can be measured while nothing else runs.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// What reading the large order measured.
pub struct LargeOrderRead {
    pub lines: usize,
    pub document_bytes: usize,
    pub best: Duration,
    pub median: Duration,
    /// The maximum heap one read held at once: the document's bytes plus
    /// the maximum the read had allocated beyond them.
    pub peak_heap_bytes: usize,
}

/// Builds an order with `lines` lines and reads it `runs` times. Call it
/// before any other thread starts, because the heap counter is global.
pub fn measure(lines: usize, runs: usize) -> Result<LargeOrderRead> {
    let document = order_with_lines(lines)?;
    let limits = Limits::default();
    let mut times = Vec::with_capacity(runs);
    let mut peak_heap_bytes = 0;
    for _ in 0..runs {
        HEAP.reset_peak_usage();
        let before = HEAP.current_usage();
        let started = Instant::now();
        let envelope = read_envelope(&document, &limits)
            .map_err(|error| anyhow::anyhow!("the large order is invalid: {error}"))?;
        times.push(started.elapsed());
        let read_peak = HEAP.peak_usage().saturating_sub(before);
        peak_heap_bytes = peak_heap_bytes.max(document.len() + read_peak);

        let Body::OrderRequest { order, .. } = &envelope.body else {
            anyhow::bail!("the large order was not read as an OrderRequest");
        };
        ensure!(
            order.items.len() == lines,
            "the large order has {} lines, expected {lines}",
            order.items.len()
        );
    }
    Ok(LargeOrderRead {
        lines,
        document_bytes: document.len(),
        best: times.iter().copied().min().unwrap_or_default(),
        median: percentile(&times, 0.5),
        peak_heap_bytes,
    })
}
