//! Output to a pipe whose reader has gone, as in `pobridge orders acme |
//! head -1`, ends the command quietly with status 0 instead of a panic.

use crate::common;

use std::process::Stdio;

use common::Cli;

/// Runs the command with its standard output connected to a pipe that is
/// closed before the command writes, and returns the exit status and the
/// error output.
fn run_into_closed_pipe(cli: &Cli, args: &[&str]) -> (bool, String) {
    let mut child = cli
        .command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn closed_pipe_ends_commands_quietly() {
    let cli = Cli::new().with_account();
    let commands: [&[&str]; 5] = [
        &["orders", "acme"],
        &["orders", "acme", "--json"],
        &["settings", "acme", "show"],
        &["buyer", "list", "acme"],
        &["config", "example"],
    ];

    for args in commands {
        let (success, stderr) = run_into_closed_pipe(&cli, args);
        assert!(success, "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
