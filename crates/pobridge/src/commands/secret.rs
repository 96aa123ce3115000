//! `pobridge secret`: encrypt a setting with `secrets_key`, so that the
//! configuration file or environment contains no password in plain text, and
//! make a new key.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use pobridge_store::secrets::KEY_BYTES;
use rand::RngCore;

use crate::cli::SecretCommand;
use crate::config::Config;

/// Runs one `secret` subcommand. Neither opens the database.
pub fn run(config: &Config, command: SecretCommand) -> anyhow::Result<()> {
    match command {
        SecretCommand::Encrypt => encrypt(config),
        SecretCommand::NewKey => new_key(),
    }
}

/// Reads one value from standard input and prints it encrypted with
/// `secrets_key`, as `smtp.password` accepts it.
fn encrypt(config: &Config) -> anyhow::Result<()> {
    let secrets = config.secret_box()?;
    if !secrets.has_key() {
        anyhow::bail!(
            "no secrets_key is configured, so there is no key to encrypt with: set secrets_key \
             (or POBRIDGE_SECRETS_KEY) to the key `serve` uses; `pobridge secret new-key` makes one"
        );
    }
    let value = read_value()?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", secrets.seal(&value))?;
    Ok(())
}

/// Returns the first line of standard input without its line ending. Spaces
/// are kept, because they may belong to a password.
fn read_value() -> anyhow::Result<String> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprint!("Value to encrypt: ");
        io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("could not read the value from standard input")?;
    let value = line
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(&line);
    if value.is_empty() {
        anyhow::bail!(
            "no value on standard input; pipe it in, such as `printf '%s\\n' \"$PASSWORD\" | \
             pobridge secret encrypt`"
        );
    }
    Ok(value.to_owned())
}

/// Prints a new random key for `secrets_key`.
fn new_key() -> anyhow::Result<()> {
    let mut key = [0_u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", STANDARD.encode(key))?;
    Ok(())
}
