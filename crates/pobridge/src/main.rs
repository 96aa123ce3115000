//! The `pobridge` command: `serve` runs the service; the other commands
//! manage accounts, buyers, settings and item mappings in the database.

mod cli;
mod commands;
mod config;
mod logging;
mod output;
mod sandbox_link;
mod serve;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::cli::{AccountCommand, Cli, Command, ConfigCommand};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output has gone (`pobridge orders acme | head -1`),
        // which is how such a pipeline ends, not a failure.
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Joins the cause chain on one line: what failed, then why. A cause whose
/// text its wrapper already printed (as sqlx and figment errors do) is left out.
/// Other control characters are escaped as in a table cell
/// ([`output::visible_message`]), since a message may quote what a buyer sent.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    output::visible_message(&line.replace('\n', " ")).into_owned()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config(ConfigCommand::Example) = cli.command {
        std::io::Write::write_all(&mut std::io::stdout(), config::EXAMPLE.as_bytes())?;
        return Ok(());
    }

    let mut config = config::load(cli.config.as_deref()).context("invalid configuration")?;
    if let Some(database) = cli.database {
        config.database_url = database;
    }

    match cli.command {
        Command::Secret(command) => commands::secret::run(&config, command),
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                config.listen = listen;
            }
            logging::init(config.log_format, &config.log_level)?;
            serve::run(config, args.sandbox).await
        }
        command => {
            // Administrative commands print their result on standard output;
            // only warnings and errors are logged.
            logging::init(config.log_format, "warn")?;
            // Only `serve` and `account add`, the first commands of a new
            // installation, may create the database.
            if !matches!(command, Command::Account(AccountCommand::Add { .. })) {
                commands::ensure_database_exists(&config.database_url)?;
            }
            // NOTE: the sandbox URL assumes the server listens on the configured
            // address, because a `serve --listen` override is not known here.
            let sandbox_base = config.runs_sandbox(false).then(|| {
                format!(
                    "{}/sandbox",
                    config::Config::loopback_base_url(config.listen)
                )
            });
            let engine = commands::engine(&config, sandbox_base.as_deref()).await?;
            commands::run(&engine, &config, command).await
        }
    }
}
