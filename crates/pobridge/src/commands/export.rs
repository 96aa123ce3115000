//! `pobridge export`: write an account's logs and mappings as CSV files.

use std::path::{Path, PathBuf};

use anyhow::Context;
use pobridge_engine::admin::account_export::{export_account, AccountExport};
use pobridge_engine::Engine;

use crate::cli::ExportArgs;
use crate::output::{line, print_table};

/// Runs `export SLUG [--out DIR]`.
pub async fn run(engine: &Engine, args: ExportArgs) -> anyhow::Result<()> {
    if let Some(out) = &args.out {
        ensure_empty_or_absent(out)?;
    }

    let export = export_account(engine, &args.slug).await?;

    let dir = args.out.unwrap_or_else(|| default_dir(&args.slug, &export));
    ensure_empty_or_absent(&dir)?;
    write_files(&dir, &export)?;

    line(format_args!(
        "Wrote the export of account {} to {}:",
        args.slug,
        dir.display()
    ))?;
    let rows = export
        .files
        .iter()
        .map(|file| vec![file.name.to_owned(), file.rows.to_string()])
        .collect();
    print_table(&["file", "rows"], rows, "No files written.")?;
    Ok(())
}

/// Names a new directory in the working directory after the account and
/// the export's time in UTC.
fn default_dir(slug: &str, export: &AccountExport) -> PathBuf {
    let time = export.created_at.format("%Y%m%d-%H%M%S");
    PathBuf::from(format!("export-{slug}-{time}"))
}

/// Rejects a path that is a file or a directory with entries, so that an
/// export never overwrites or mixes with other files.
fn ensure_empty_or_absent(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        anyhow::bail!(
            "--out {}: the path is a file, not a directory; give a new or empty directory",
            dir.display()
        );
    }
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("could not read the directory {}", dir.display()))?;
    if entries.next().is_some() {
        anyhow::bail!(
            "--out {}: the directory is not empty; give a new or empty directory",
            dir.display()
        );
    }
    Ok(())
}

fn write_files(dir: &Path, export: &AccountExport) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not create the directory {}", dir.display()))?;
    for file in &export.files {
        let path = dir.join(file.name);
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}
