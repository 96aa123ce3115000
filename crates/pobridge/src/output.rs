//! Printing results: aligned columns for people, JSON for programs.

use comfy_table::{presets, Table};
use serde::Serialize;

/// Prints `value` as pretty JSON on standard output.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints rows under a header as aligned columns, or `empty` when there
/// are no rows.
pub fn print_table(header: &[&str], rows: Vec<Vec<String>>, empty: &str) {
    if rows.is_empty() {
        println!("{empty}");
        return;
    }
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(header.iter().map(|title| title.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    println!("{}", trim_lines(&table.to_string()));
}

/// Prints `key  value` pairs as two aligned columns.
pub fn print_pairs(pairs: &[(String, String)]) {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    for (key, value) in pairs {
        table.add_row([key.as_str(), value.as_str()]);
    }
    println!("{}", trim_lines(&table.to_string()));
}

/// `text` or an empty cell.
pub fn or_blank(value: Option<impl ToString>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
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
