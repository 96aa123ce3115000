//! Log output on standard error, as text or JSON lines.

use std::io::IsTerminal;

use anyhow::Context;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG`, when set, replaces `filter`.
pub fn init(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .with_context(|| format!("invalid RUST_LOG {directives:?}; expected tracing filter directives such as info"))?,
        _ => {
            check_levels(filter)?;
            EnvFilter::try_new(filter)
                .with_context(|| format!("invalid log_level {filter:?}; expected tracing filter directives such as info"))?
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Rejects a `log_level` directive without a level. tracing reads a bare
/// word such as `verbose` as a target to log at every level, so a mistyped
/// level would turn off every other log line without a word.
fn check_levels(filter: &str) -> anyhow::Result<()> {
    for directive in filter
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        if directive.contains('=') || directive.parse::<LevelFilter>().is_ok() {
            continue;
        }
        anyhow::bail!(
            "invalid log_level {filter:?}: {directive:?} is not a level: expected trace, debug, \
             info, warn, error or off, or TARGET=LEVEL such as pobridge=debug"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_levels;

    #[test]
    fn directives_must_name_a_level() {
        for good in ["info", "warn,pobridge=debug", " debug ", "OFF", "sqlx=warn"] {
            assert!(check_levels(good).is_ok(), "{good}");
        }
        let error = check_levels("verbose!!").unwrap_err().to_string();
        assert!(error.contains("\"verbose!!\" is not a level"), "{error}");
        assert!(check_levels("info,pobridge").is_err());
    }
}
