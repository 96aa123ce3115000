//! Runs the built `pobridge` binary against a SQLite file in a temporary
//! directory.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod seed;
pub mod serve;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A temporary working directory with its own database.
pub struct Cli {
    pub dir: TempDir,
}

/// The outcome of one run.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("pobridge.db").display())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Builds a command with a clean environment: no configuration file,
    /// no `POBRIDGE_` variables from the caller, and this directory's database.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pobridge"));
        for (name, _) in std::env::vars() {
            if name.starts_with("POBRIDGE_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command
            .current_dir(self.dir.path())
            .env("POBRIDGE_DATABASE_URL", self.database_url());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command().args(args).output().unwrap();
        Run::from(output)
    }

    /// Runs with `input` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        self.run_with_env(&[], args, input)
    }

    /// Runs with `env` added to the clean environment and `input` on
    /// standard input.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str], input: &str) -> Run {
        let mut child = self
            .command()
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        Run::from(child.wait_with_output().unwrap())
    }

    /// Runs and panics with both streams unless the command succeeded.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(
            run.success,
            "{args:?} failed\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    /// Runs, expects failure, and returns the error output.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(!run.success, "{args:?} succeeded\nstdout: {}", run.stdout);
        run.stderr
    }

    /// Creates the account `acme`.
    pub fn with_account(self) -> Self {
        self.ok(&["account", "add", "acme", "--email", "ops@acme.example"]);
        self
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Asserts that an error was reported as one `error:` line, not a panic
/// or a debug dump.
pub fn assert_one_line_error(stderr: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
