//! Pieces the benchmark binaries share: an open-loop load generator, a real
//! `pobridge serve` process and its memory, core pinning, and the order,
//! drain and invoice-poll measurements that `bench-all` puts in one table.

pub mod drain;
pub mod invoice_poll;
pub mod large_order;
pub mod load;
pub mod order_latency;
pub mod pinning;
pub mod serve_process;
pub mod setup;
