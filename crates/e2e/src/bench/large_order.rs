//! A large OrderRequest made from a corpus document, for timing the reader.

use anyhow::{Context, Result};

use crate::corpus;

/// The corpus document whose lines are repeated: a Coupa order whose lines
/// carry accounting segments and extrinsics, about 1.2 KB each.
const SOURCE: &str = "coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml";

/// Returns an OrderRequest with `lines` ItemOut elements: the corpus
/// document's lines in rotation, renumbered 1 to `lines`, each with its own
/// SupplierPartID.
pub fn order_with_lines(lines: usize) -> Result<Vec<u8>> {
    let path = corpus::corpus_dir().join("cxml/order").join(SOURCE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let first = text
        .find("<ItemOut")
        .context("the document has an ItemOut")?;
    let end = text
        .rfind("</ItemOut>")
        .context("the document has an ItemOut")?
        + 10;
    let templates: Vec<&str> = text[first..end]
        .split_inclusive("</ItemOut>")
        .map(|item| item.trim_start())
        .collect();

    let mut document = String::with_capacity(lines * 1300 + text.len());
    document.push_str(&text[..first]);
    for line in 1..=lines {
        let template = templates[(line - 1) % templates.len()];
        let item = renumber(template, line)?;
        document.push_str(&item);
        document.push_str("\n      ");
    }
    document.push_str(&text[end..]);
    Ok(document.into_bytes())
}

/// Returns `item` with `lineNumber` set to `line` and the line number added
/// to its SupplierPartID.
fn renumber(item: &str, line: usize) -> Result<String> {
    let number_start = item
        .find("lineNumber=\"")
        .context("an ItemOut has a lineNumber")?
        + 12;
    let number_length = item[number_start..]
        .find('"')
        .context("the lineNumber attribute is closed")?;
    let mut renumbered = format!(
        "{}{line}{}",
        &item[..number_start],
        &item[number_start + number_length..]
    );
    let part_end = renumbered
        .find("</SupplierPartID>")
        .context("an ItemOut has a SupplierPartID")?;
    renumbered.insert_str(part_end, &format!("-{line}"));
    Ok(renumbered)
}
