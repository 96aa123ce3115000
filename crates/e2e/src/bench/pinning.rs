//! Pinning the benchmark and the server under test to separate cores.

use std::process::Command;

use anyhow::{Context, Result};
use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};

/// The cores a benchmark runs on: one for the load generator, one for the
/// server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cores {
    pub load_generator: usize,
    pub server: usize,
}

/// Returns the first two cores this thread may run on, or `None` when it
/// may run on only one.
pub fn two_cores() -> Result<Option<Cores>> {
    let allowed = sched_getaffinity(None).context("could not read the CPU affinity")?;
    let mut cores = (0..CpuSet::MAX_CPU).filter(|&core| allowed.is_set(core));
    Ok(match (cores.next(), cores.next()) {
        (Some(load_generator), Some(server)) => Some(Cores {
            load_generator,
            server,
        }),
        _ => None,
    })
}

/// Pins the calling thread to `core`. Threads it starts afterwards inherit
/// the pinning, so calling this first in `main`, before a runtime starts its
/// threads, pins the whole process.
pub fn pin_current_thread(core: usize) -> Result<()> {
    let mut set = CpuSet::new();
    set.set(core);
    sched_setaffinity(None, &set).with_context(|| format!("could not pin to core {core}"))
}

/// Returns `program` wrapped in `taskset -c CORE` when taskset is installed,
/// so the child is pinned before it starts a thread, or `program` alone.
pub fn pinned_command(program: &std::path::Path, core: Option<usize>) -> (Command, bool) {
    if let Some(core) = core {
        let taskset = Command::new("taskset").arg("-V").output();
        if taskset.is_ok_and(|output| output.status.success()) {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg(program);
            return (command, true);
        }
    }
    (Command::new(program), false)
}
