//! Printing results: aligned columns for people, JSON for programs.
//!
//! Every function here returns the write error instead of panicking as
//! `println!` does, so that a closed pipe (`pobridge orders acme | head -1`)
//! ends the command quietly; see [`is_broken_pipe`].

use std::borrow::Cow;
use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, TimeZone};
use comfy_table::{presets, Table};
use serde::Serialize;

/// Writes one line to standard output.
pub fn line(text: impl std::fmt::Display) -> io::Result<()> {
    writeln!(io::stdout().lock(), "{text}")
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    line(text)?;
    Ok(())
}

/// A job a command queued for the running server's worker, as `--json`
/// prints it.
#[derive(Debug, Serialize)]
pub struct QueuedJob<'a> {
    pub account: &'a str,
    pub job: i64,
    /// The job's kind, as the worker's log and metrics name it.
    pub kind: &'a str,
}

/// Prints a queued job: `sentence` for people, or the job as JSON.
pub fn print_queued_job(job: &QueuedJob<'_>, json: bool, sentence: &str) -> anyhow::Result<()> {
    if json {
        return print_json(job);
    }
    line(sentence)?;
    Ok(())
}

/// Returns "Released N waiting jobs.", with "job" for one.
pub fn released_text(count: u64) -> String {
    let noun = if count == 1 { "job" } else { "jobs" };
    format!("Released {count} waiting {noun}.")
}

/// Prints rows under a header as aligned columns, or `empty` when there
/// are no rows.
pub fn print_table(header: &[&str], rows: Vec<Vec<String>>, empty: &str) -> io::Result<()> {
    if rows.is_empty() {
        return line(empty);
    }
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(header.iter().map(|title| title.to_uppercase()));
    for row in rows {
        table.add_row(row.iter().map(|cell| visible(cell)));
    }
    line(trim_lines(&table.to_string()))
}

/// Prints `key  value` pairs as two aligned columns.
pub fn print_pairs(pairs: &[(String, String)]) -> io::Result<()> {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    for (key, value) in pairs {
        table.add_row([visible(key), visible(value)]);
    }
    line(trim_lines(&table.to_string()))
}

/// Returns `text` with each control character and each bidirectional
/// formatting character written as a `\u{..}` escape, and each backslash
/// doubled, so that an escape is never mistaken for text that reads like
/// one.
///
/// Cells hold what buyers and Brightpearl sent, such as PO numbers and
/// error texts. Printed as they are, an escape sequence could drive the
/// operator's terminal, a right-to-left override could show a PO number
/// reversed, and a line break would split a row.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// Returns `text` with its control and bidirectional formatting characters
/// escaped as [`visible`] does, and its backslashes as they are. Error
/// messages quote values with `{:?}`, which doubles backslashes already.
pub fn visible_message(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

fn escape(text: &str, backslashes: bool) -> Cow<'_, str> {
    let needs = |character: char| hidden(character) || (backslashes && character == '\\');
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if backslashes && character == '\\' {
            escaped.push_str("\\\\");
        } else if hidden(character) {
            escaped.extend(character.escape_unicode());
        } else {
            escaped.push(character);
        }
    }
    Cow::Owned(escaped)
}

/// Returns whether `character` is a control character or one that changes the
/// direction of the text around it (Unicode's `Bidi_Control` property).
fn hidden(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` or an empty cell.
pub fn or_blank(value: Option<impl ToString>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// Returns the snake_case name that serde gives a unit enum variant, such as
/// `held_for_review`.
pub fn enum_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Formats a time to the second, in the offset it carries (UTC for
/// pobridge's own times, the sender's offset for document timestamps).
pub fn time_text<Tz: TimeZone>(time: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Returns `true` if the error, or one of its causes, is a write to a pipe
/// whose reader has gone. Rust ignores SIGPIPE, so such a write fails with
/// `BrokenPipe` instead of ending the process.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|error| error.kind() == io::ErrorKind::BrokenPipe)
    })
}

// The NOTHING preset pads every cell with one space on each side. The
// padding at the start and end of a line is removed because it only gets in
// the way of `grep` and `cut`.
fn trim_lines(text: &str) -> String {
    text.lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_controls_and_direction_marks() {
        assert_eq!(visible("PO-1001"), "PO-1001");
        assert_eq!(visible("Zürich 東京"), "Zürich 東京");
        assert_eq!(visible("PO-\u{202E}1001"), "PO-\\u{202e}1001");
        assert_eq!(visible("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(visible("line\nbreak\u{2066}"), "line\\u{a}break\\u{2066}");
        assert_eq!(visible("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(visible("PO-\\u{202e}1"), "PO-\\\\u{202e}1");
        assert_eq!(
            visible_message("\"PO-\\\\1\u{202E}\""),
            "\"PO-\\\\1\\u{202e}\""
        );
    }

    #[test]
    fn broken_pipe_is_found_among_causes() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        let wrapped = anyhow::Error::from(pipe).context("could not print the orders");
        let other = anyhow::Error::from(io::Error::from(io::ErrorKind::NotFound));

        assert!(is_broken_pipe(&wrapped));
        assert!(!is_broken_pipe(&other));
    }

    #[test]
    fn enum_name_is_the_serde_name() {
        assert_eq!(
            enum_name(&pobridge_store::PoStatus::HeldForReview),
            "held_for_review"
        );
    }
}
