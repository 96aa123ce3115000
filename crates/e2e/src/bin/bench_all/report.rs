//! The table `bench-all` prints: each figure beside its target.

/// One row of the table.
pub struct Row {
    pub figure: String,
    pub measured: String,
    /// The target, or empty when the figure has none.
    pub target: String,
    /// Whether the figure met its target; `None` when it has none.
    pub met: Option<bool>,
}

/// The rows gathered so far.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// Adds a figure without a target.
    pub fn figure(&mut self, figure: impl Into<String>, measured: impl Into<String>) {
        self.rows.push(Row {
            figure: figure.into(),
            measured: measured.into(),
            target: String::new(),
            met: None,
        });
    }

    /// Adds a figure with its target and whether it met it.
    pub fn checked(
        &mut self,
        figure: impl Into<String>,
        measured: impl Into<String>,
        target: impl Into<String>,
        met: bool,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            measured: measured.into(),
            target: target.into(),
            met: Some(met),
        });
    }

    /// Returns whether every figure with a target met it.
    pub fn all_met(&self) -> bool {
        self.rows.iter().all(|row| row.met != Some(false))
    }

    /// Prints the rows as a Markdown table.
    pub fn print(&self) {
        println!("| figure | measured | target | result |");
        println!("|---|---|---|---|");
        for row in &self.rows {
            let result = match row.met {
                Some(true) => "PASS",
                Some(false) => "MISS",
                None => "",
            };
            println!(
                "| {} | {} | {} | {result} |",
                row.figure, row.measured, row.target
            );
        }
    }
}

/// Formats a duration in milliseconds with two decimals.
pub fn milliseconds(duration: std::time::Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Formats a byte count in mebibytes with one decimal.
pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
