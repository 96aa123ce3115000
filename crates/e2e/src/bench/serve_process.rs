//! A real `pobridge serve` process under test, and its memory use.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};

use anyhow::{bail, Context, Result};

use super::pinning::pinned_command;

/// Settings of one `pobridge serve` run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub database_url: String,
    /// Base URL of the Brightpearl sandbox that the stored connection names.
    pub sandbox_url: String,
    /// Jobs the worker claims at once. Zero keeps the worker from running
    /// any job, so the process only serves requests.
    pub job_batch: u16,
    /// The client's request budget per account and minute.
    pub requests_per_minute: u32,
    /// The core to pin the process to, when there is one to spare.
    pub core: Option<usize>,
}

/// A running `pobridge serve`, stopped when dropped.
pub struct ServeProcess {
    child: Child,
    pub base_url: String,
    /// Whether `taskset` pinned the process to its core.
    pub pinned: bool,
}

/// Memory of a process as Linux reports it in `/proc/PID/status`, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub resident: u64,
    /// The largest resident set size so far (`VmHWM`).
    pub peak_resident: u64,
}

/// Returns the `pobridge` binary built beside the running benchmark, such as
/// `target/release/pobridge` for `target/release/bench-all`.
pub fn pobridge_binary() -> Result<PathBuf> {
    let benchmark = std::env::current_exe().context("could not find the running benchmark")?;
    let binary = benchmark.with_file_name("pobridge");
    if !binary.is_file() {
        bail!(
            "{} is missing; build it first with `cargo build --release --locked -p pobridge`",
            binary.display()
        );
    }
    Ok(binary)
}

impl ServeProcess {
    /// Starts `pobridge serve` on a free loopback port and waits until it
    /// prints the address it listens on, which it does after binding.
    pub fn start(options: &ServeOptions) -> Result<Self> {
        let (mut command, pinned) = pinned_command(&pobridge_binary()?, options.core);
        for (name, _) in std::env::vars() {
            if name.starts_with("POBRIDGE_") {
                command.env_remove(name);
            }
        }
        let sandbox = &options.sandbox_url;
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(&options.database_url)
            .env("POBRIDGE_BRIGHTPEARL__APP_REF", "pobridge")
            .env(
                "POBRIDGE_BRIGHTPEARL__TOKEN_URL_TEMPLATE",
                format!("{sandbox}/token/{{account}}"),
            )
            .env(
                "POBRIDGE_BRIGHTPEARL__AUTHORIZE_URL_TEMPLATE",
                format!("{sandbox}/authorize/{{account}}"),
            )
            .env(
                "POBRIDGE_BRIGHTPEARL__REQUESTS_PER_MINUTE",
                options.requests_per_minute.to_string(),
            )
            .env("POBRIDGE_WORKER__JOB_BATCH", options.job_batch.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start pobridge serve")?;

        let stdout = child.stdout.take().context("pobridge has a stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            let Some(line) = lines.next() else {
                let status = child.wait()?;
                bail!("pobridge serve exited ({status}) before it listened");
            };
            if let Some(url) = line?.strip_prefix("pobridge listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keeps reading, so a full pipe never blocks the server.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self {
            child,
            base_url,
            pinned,
        })
    }

    /// Reads the process's memory from `/proc/PID/status`.
    pub fn memory(&self) -> Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("could not read {path}"))?;
        let field = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .with_context(|| format!("{path} has no {name}"))?;
            let kilobytes: u64 = line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .with_context(|| format!("{path}: invalid {line:?}"))?;
            Ok(kilobytes * 1024)
        };
        Ok(Memory {
            resident: field("VmRSS:")?,
            peak_resident: field("VmHWM:")?,
        })
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
