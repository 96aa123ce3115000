//! The CSV file of an account's manual item mappings: the export, and the
//! import that checks every row against the account's buyers and local
//! product index before it stores any.
//!
//! One row is one mapping, with these columns in any order:
//!
//! - `buyer`: a buyer's name or numeric id; empty maps the part for every
//!   buyer.
//! - `part_id`: the Coupa part id; empty for the lines Coupa sends without
//!   a SupplierPartID, as an export writes their mapping.
//! - `unit`: the Coupa unit of measure; empty maps every unit.
//! - `product_id`: the Brightpearl product id.
//! - `sku`: the product's SKU. Either `product_id` or `sku` is required,
//!   and when both are given they must name the same product.
//! - `quantity_factor`: Brightpearl units per Coupa unit; empty is 1.
//!
//! The export writes a UTF-8 byte order mark, because spreadsheets read a
//! file without one in the local code page. A text field that starts with
//! `=`, `+`, `-`, `@`, a tab, a carriage return or `'` gets a leading `'`,
//! so a spreadsheet does not run it as a formula, and the import removes
//! that one `'` again.

use std::collections::{HashMap, HashSet};
use std::fmt;

use pobridge_core::{BrightpearlIdField, BuyerId};
use pobridge_store::{Account, Buyer, ItemMapping, Product};
use serde::Serialize;

use super::items::{parse_factor, save_mappings};
use super::{account, buyer_named, known_list, AdminError};
use crate::Engine;

/// The columns of the file, in the order the export writes them.
pub const COLUMNS: [&str; 6] = [
    "buyer",
    "part_id",
    "unit",
    "product_id",
    "sku",
    "quantity_factor",
];

/// The format in one paragraph, for the page that offers the import.
pub const FORMAT_HINT: &str = "Columns: buyer, part_id, unit, product_id, sku, quantity_factor, \
    with a header line, in any order. Leave buyer empty to map the part for every buyer and unit \
    empty for every unit. Give the Brightpearl product_id or its sku, and leave quantity_factor \
    empty for 1. Rows are added or replace the mapping with the same buyer, part_id and unit; \
    mappings missing from the file are kept.";

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// A problem with one line of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// Line of the file, from 1, where the row starts.
    pub line: u64,
    /// The problem and the change that fixes it.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Counts of the rows an import stored and left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Rows that made a new mapping.
    pub added: usize,
    /// Rows that replaced a mapping with another product or factor.
    pub changed: usize,
    /// Rows equal to a stored mapping, which were left as they are.
    pub unchanged: usize,
    /// Waiting jobs made runnable again.
    pub released_jobs: u64,
}

/// The result of an import: stored, or rejected whole with every bad line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    Imported(ImportSummary),
    Rejected { errors: Vec<LineError> },
}

/// Writes every manual mapping of the account as a CSV file.
pub async fn export_item_mappings(engine: &Engine, slug: &str) -> Result<Vec<u8>, AdminError> {
    let account = account(engine, slug).await?;
    let buyers = engine.store.list_buyers(account.id).await?;
    let rows = engine.store.list_item_mappings(account.id).await?;

    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BYTE_ORDER_MARK.to_vec());
    write_record(&mut writer, COLUMNS.map(str::to_owned));
    for row in rows {
        let mapping = row.mapping;
        let buyer = mapping.buyer.map(|id| {
            buyers
                .iter()
                .find(|buyer| buyer.id == id)
                .map_or_else(|| id.to_string(), |buyer| buyer.name.clone())
        });
        write_record(
            &mut writer,
            [
                escape_formula(buyer.as_deref().unwrap_or("")),
                escape_formula(&mapping.coupa_part_id),
                escape_formula(mapping.unit_of_measure.as_deref().unwrap_or("")),
                mapping.product_id.to_string(),
                escape_formula(row.sku.as_deref().unwrap_or("")),
                mapping.quantity_factor.normalize().to_string(),
            ],
        );
    }
    // The writer's only errors are I/O errors, and writing to a Vec has none.
    Ok(writer
        .into_inner()
        .expect("writing CSV to memory cannot fail"))
}

fn write_record(writer: &mut csv::Writer<Vec<u8>>, fields: [String; 6]) {
    writer
        .write_record(&fields)
        .expect("writing CSV to memory cannot fail");
}

/// Reads a CSV file of mappings and, when every row is valid, stores them
/// in one transaction and releases the account's waiting jobs. A file with
/// any bad row changes nothing, and the outcome lists every bad line.
pub async fn import_item_mappings(
    engine: &Engine,
    slug: &str,
    file: &[u8],
) -> Result<ImportOutcome, AdminError> {
    let account = account(engine, slug).await?;
    let (rows, mut errors) = match read_rows(file) {
        Ok(rows) => (rows, Vec::new()),
        Err(Unreadable::Header(errors)) => return Ok(ImportOutcome::Rejected { errors }),
        Err(Unreadable::Rows { rows, errors }) => (rows, errors),
    };

    // The rows that were read are checked too, so one import lists every
    // bad line.
    let index = Index::load(engine, &account, &rows).await?;
    let mappings = match index.check(&rows) {
        Ok(mappings) if errors.is_empty() => mappings,
        Ok(_) => return Ok(ImportOutcome::Rejected { errors }),
        Err(mut bad) => {
            errors.append(&mut bad);
            errors.sort_by_key(|error| error.line);
            return Ok(ImportOutcome::Rejected { errors });
        }
    };

    let mut summary = ImportSummary::default();
    let mut to_store = Vec::new();
    for mapping in mappings {
        match index.existing.get(&key_of(&mapping)) {
            Some(stored) if same_target(stored, &mapping) => summary.unchanged += 1,
            Some(_) => {
                summary.changed += 1;
                to_store.push(mapping);
            }
            None => {
                summary.added += 1;
                to_store.push(mapping);
            }
        }
    }
    if !to_store.is_empty() {
        summary.released_jobs = save_mappings(engine, &account, &to_store).await?;
    }
    Ok(ImportOutcome::Imported(summary))
}

/// One data row as typed, with its fields trimmed and unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CsvRow {
    line: u64,
    buyer: String,
    part_id: String,
    unit: String,
    product_id: String,
    sku: String,
    quantity_factor: String,
}

/// The position of each known column in the file's rows.
#[derive(Debug, Default)]
struct Header {
    positions: HashMap<&'static str, usize>,
    width: usize,
}

impl Header {
    fn read(record: &csv::ByteRecord, line: u64) -> Result<Self, Vec<LineError>> {
        let mut header = Header {
            width: record.len(),
            ..Header::default()
        };
        let mut errors = Vec::new();
        let expected = COLUMNS.join(", ");
        for (position, raw) in record.iter().enumerate() {
            let name = String::from_utf8_lossy(raw)
                .trim()
                .to_ascii_lowercase()
                .replace(' ', "_");
            match COLUMNS.iter().find(|column| **column == name) {
                Some(column) if header.positions.contains_key(column) => {
                    errors.push(line_error(
                        line,
                        format!("column {name} appears twice; keep one of them"),
                    ));
                }
                Some(column) => {
                    header.positions.insert(column, position);
                }
                None if name.is_empty() => {}
                None => errors.push(line_error(
                    line,
                    format!("unknown column {name:?}; the columns are {expected}"),
                )),
            }
        }
        if !header.positions.contains_key("part_id") {
            errors.push(line_error(
                line,
                format!("the header has no part_id column; the first line must name the columns, such as {expected}"),
            ));
        }
        let has_product = ["product_id", "sku"]
            .iter()
            .any(|column| header.positions.contains_key(column));
        if !has_product {
            errors.push(line_error(
                line,
                "the header has neither a product_id nor a sku column; add one of them",
            ));
        }
        if errors.is_empty() {
            Ok(header)
        } else {
            Err(errors)
        }
    }

    fn field(&self, record: &csv::StringRecord, column: &str) -> String {
        self.positions
            .get(column)
            .and_then(|position| record.get(*position))
            .map(|text| unescape_formula(text.trim()).to_owned())
            .unwrap_or_default()
    }
}

/// Why a file could not be read whole.
#[derive(Debug)]
enum Unreadable {
    /// The file is empty or its header is not usable, so no row was read.
    Header(Vec<LineError>),
    /// Some lines could not be read, and `rows` are the lines that could.
    Rows {
        rows: Vec<CsvRow>,
        errors: Vec<LineError>,
    },
}

/// Reads the header and the data rows, skipping blank lines.
fn read_rows(file: &[u8]) -> Result<Vec<CsvRow>, Unreadable> {
    let file = file.strip_prefix(BYTE_ORDER_MARK).unwrap_or(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);

    let mut header: Option<Header> = None;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for result in reader.byte_records() {
        let record = match result {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |at| line_at(file, at.byte()));
                errors.push(line_error(
                    line,
                    format!("the line cannot be read as CSV ({error}); check its quotes"),
                ));
                break;
            }
        };
        let line = record.position().map_or(0, |at| line_at(file, at.byte()));
        if record.iter().all(|field| field.trim_ascii().is_empty()) {
            continue;
        }
        let Some(columns) = &header else {
            match Header::read(&record, line) {
                Ok(read) => header = Some(read),
                Err(mut bad) => {
                    errors.append(&mut bad);
                    return Err(Unreadable::Header(errors));
                }
            }
            continue;
        };
        match data_row(columns, record, line) {
            Ok(row) => rows.push(row),
            Err(error) => errors.push(error),
        }
    }

    if header.is_none() {
        errors.push(line_error(
            1,
            format!(
                "the file is empty; its first line must name the columns: {}",
                COLUMNS.join(",")
            ),
        ));
        return Err(Unreadable::Header(errors));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(Unreadable::Rows { rows, errors })
    }
}

/// Finds the line, from 1, of the record that starts at `byte`.
///
/// The reader's own line count (csv 1.4) does not count a CRLF line end,
/// and its byte offset can point at the line end before the record, so
/// this skips line ends and then counts the newlines before the record.
fn line_at(file: &[u8], byte: u64) -> u64 {
    let mut start = usize::try_from(byte).unwrap_or(file.len()).min(file.len());
    while matches!(file.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    let newlines = file[..start].iter().filter(|byte| **byte == b'\n').count();
    newlines as u64 + 1
}

fn data_row(header: &Header, record: csv::ByteRecord, line: u64) -> Result<CsvRow, LineError> {
    if record.len() != header.width {
        return Err(line_error(
            line,
            format!(
                "the row has {} fields but the header has {}; put double quotes around a field that contains a comma",
                record.len(),
                header.width
            ),
        ));
    }
    let record = csv::StringRecord::from_byte_record(record).map_err(|_| {
        line_error(
            line,
            "the row is not UTF-8 text; save the file as \"CSV UTF-8\" and import it again",
        )
    })?;
    Ok(CsvRow {
        line,
        buyer: header.field(&record, "buyer"),
        part_id: header.field(&record, "part_id"),
        unit: header.field(&record, "unit"),
        product_id: header.field(&record, "product_id"),
        sku: header.field(&record, "sku"),
        quantity_factor: header.field(&record, "quantity_factor"),
    })
}

fn line_error(line: u64, message: impl Into<String>) -> LineError {
    LineError {
        line,
        message: message.into(),
    }
}

/// Tells whether a spreadsheet could read `text` as a formula, or whether
/// the import would unescape it.
fn needs_escape(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r', '\''])
}

pub(super) fn escape_formula(text: &str) -> String {
    if needs_escape(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Removes the `'` that [`escape_formula`] adds. A `'` before any other
/// character is part of the value.
fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if needs_escape(rest) => rest,
        _ => text,
    }
}

/// The key of a mapping in the store: its buyer, part and unit.
type MappingKey = (Option<BuyerId>, String, Option<String>);

fn key_of(mapping: &ItemMapping) -> MappingKey {
    (
        mapping.buyer,
        mapping.coupa_part_id.clone(),
        mapping.unit_of_measure.clone(),
    )
}

fn same_target(left: &ItemMapping, right: &ItemMapping) -> bool {
    left.product_id == right.product_id && left.quantity_factor == right.quantity_factor
}

/// The account's records that the rows are checked against.
#[derive(Debug, Default)]
struct Index {
    buyers: Vec<Buyer>,
    /// Products of the local index that the rows name by id.
    products: HashMap<i64, Product>,
    /// Products of the local index with each SKU the rows name without an id.
    by_sku: HashMap<String, Vec<Product>>,
    /// The stored mappings.
    existing: HashMap<MappingKey, ItemMapping>,
}

impl Index {
    /// Reads the buyers, the stored mappings and the products the rows name.
    async fn load(engine: &Engine, account: &Account, rows: &[CsvRow]) -> Result<Self, AdminError> {
        let store = &*engine.store;
        let mut index = Index {
            buyers: store.list_buyers(account.id).await?,
            ..Index::default()
        };
        for row in store.list_item_mappings(account.id).await? {
            index.existing.insert(key_of(&row.mapping), row.mapping);
        }

        let ids: HashSet<i64> = rows
            .iter()
            .filter_map(|row| row.product_id.parse::<i64>().ok())
            .collect();
        for id in ids {
            if let Some(product) = store.product(account.id, id).await? {
                index.products.insert(id, product);
            }
        }
        let skus: HashSet<&str> = rows
            .iter()
            .filter(|row| row.product_id.is_empty() && !row.sku.is_empty())
            .map(|row| row.sku.as_str())
            .collect();
        for sku in skus {
            let products = store
                .products_by_identifier(account.id, BrightpearlIdField::Sku, sku)
                .await?;
            index.by_sku.insert(sku.to_owned(), products);
        }
        Ok(index)
    }

    /// Turns every row into a mapping, or lists every problem of every row.
    fn check(&self, rows: &[CsvRow]) -> Result<Vec<ItemMapping>, Vec<LineError>> {
        let mut mappings = Vec::new();
        let mut errors = Vec::new();
        let mut first_line: HashMap<MappingKey, u64> = HashMap::new();
        for row in rows {
            let problems = match self.check_row(row) {
                Ok(mapping) => match first_line.get(&key_of(&mapping)) {
                    Some(first) => vec![format!(
                        "the same buyer, part_id and unit as line {first}; keep one of the two rows"
                    )],
                    None => {
                        first_line.insert(key_of(&mapping), row.line);
                        mappings.push(mapping);
                        continue;
                    }
                },
                Err(problems) => problems,
            };
            errors.extend(problems.into_iter().map(|text| line_error(row.line, text)));
        }
        if errors.is_empty() {
            Ok(mappings)
        } else {
            Err(errors)
        }
    }

    fn check_row(&self, row: &CsvRow) -> Result<ItemMapping, Vec<String>> {
        let mut problems = Vec::new();
        let buyer = self.check_buyer(&row.buyer).unwrap_or_else(|problem| {
            problems.push(problem);
            None
        });
        let unit = Some(row.unit.clone()).filter(|unit| !unit.is_empty());
        let typed_factor = Some(row.quantity_factor.as_str()).filter(|text| !text.is_empty());
        let factor = parse_factor(typed_factor)
            .map_err(|_| {
                problems.push(format!(
                    "quantity_factor {:?} is not a number from 0.000001 to 1000000 with at most 6 decimal places; type how many Brightpearl units one Coupa unit is, such as 12 or 0.5, or leave it empty for 1",
                    row.quantity_factor
                ));
            })
            .ok();
        let key = (buyer, row.part_id.clone(), unit.clone());
        let product_id = self.check_product(row, &key).map_err(|problem| {
            problems.push(problem);
        });

        match (product_id, factor) {
            (Ok(product_id), Some(quantity_factor)) if problems.is_empty() => Ok(ItemMapping {
                buyer,
                coupa_part_id: row.part_id.clone(),
                unit_of_measure: unit,
                product_id,
                quantity_factor,
            }),
            _ => Err(problems),
        }
    }

    fn check_buyer(&self, value: &str) -> Result<Option<BuyerId>, String> {
        if value.is_empty() {
            return Ok(None);
        }
        match buyer_named(&self.buyers, value) {
            Some(buyer) => Ok(Some(buyer.id)),
            None => Err(format!(
                "buyer {value:?} is not a buyer of this account; use one of {}, or leave buyer empty to map the part for every buyer",
                known_list(self.buyers.iter().map(|buyer| buyer.name.clone()))
            )),
        }
    }

    /// Finds the product a row names by id or by SKU. A product missing
    /// from the local index is accepted only when the stored mapping with
    /// the same key already names it, so an exported file imports again.
    fn check_product(&self, row: &CsvRow, key: &MappingKey) -> Result<i64, String> {
        let sku = row.sku.as_str();
        if row.product_id.is_empty() {
            return self.product_by_sku(sku);
        }
        let Ok(id) = row.product_id.parse::<i64>() else {
            return Err(format!(
                "product_id {:?} is not a number; type the Brightpearl product id, such as 1019, or leave it empty and give the sku",
                row.product_id
            ));
        };
        match self.products.get(&id) {
            Some(product) if sku.is_empty() || product.sku.as_deref() == Some(sku) => Ok(id),
            Some(product) => Err(format!(
                "sku {sku:?} is not the SKU of product {id}, which is {}; correct one of them, or leave sku empty",
                product.sku.as_deref().map_or("empty".to_owned(), |own| format!("{own:?}"))
            )),
            None => {
                let stored = self.existing.get(key).map(|mapping| mapping.product_id);
                if stored == Some(id) && sku.is_empty() {
                    Ok(id)
                } else {
                    Err(format!(
                        "product {id} is not in the local product index; check the id in Brightpearl, or refresh the product index if the product is new"
                    ))
                }
            }
        }
    }

    fn product_by_sku(&self, sku: &str) -> Result<i64, String> {
        if sku.is_empty() {
            return Err(
                "product_id and sku are both empty; give the Brightpearl product_id or its sku"
                    .to_owned(),
            );
        }
        match self.by_sku.get(sku).map(Vec::as_slice).unwrap_or_default() {
            [product] => Ok(product.product_id),
            [] => Err(format!(
                "no product in the local product index has the SKU {sku:?}; check the SKU, or refresh the product index if the product is new"
            )),
            several => Err(format!(
                "the SKU {sku:?} belongs to products {}; give the product_id of one of them",
                known_list(several.iter().map(|product| product.product_id.to_string()))
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn product(id: i64, sku: &str) -> Product {
        super::super::test_product(id, &format!("Product {id}"), sku)
    }

    /// Builds an index with the buyer `globex` (id 1), products 1019 `GLV-L` and
    /// 1020 and 1021 sharing `DUP`, and a stored mapping of part `OLD` to
    /// product 7, which is no longer in the local index.
    fn index() -> Index {
        let mut index = Index {
            buyers: vec![super::super::test_buyer()],
            ..Index::default()
        };
        index.products.insert(1019, product(1019, "GLV-L"));
        index
            .by_sku
            .insert("GLV-L".to_owned(), vec![product(1019, "GLV-L")]);
        index.by_sku.insert(
            "DUP".to_owned(),
            vec![product(1020, "DUP"), product(1021, "DUP")],
        );
        let old = ItemMapping {
            buyer: None,
            coupa_part_id: "OLD".to_owned(),
            unit_of_measure: None,
            product_id: 7,
            quantity_factor: Decimal::ONE,
        };
        index.existing.insert(key_of(&old), old);
        index
    }

    fn rows(text: &str) -> Vec<CsvRow> {
        read_rows(text.as_bytes()).unwrap_or_else(|unreadable| panic!("{unreadable:?}"))
    }

    fn messages(result: Result<Vec<ItemMapping>, Vec<LineError>>) -> Vec<String> {
        result
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_bom_crlf_quotes_and_blank_lines() {
        let file = "\u{feff}buyer,part_id,unit,product_id,sku,quantity_factor\r\n\
                    globex,\"A, with comma\",EA,1019,GLV-L,12\r\n\
                    \r\n\
                    ,\"multi\nline\",,,GLV-L,\r\n\
                    ,,,,,\r\n\r\n";
        let read = rows(file);

        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(read[0].line, 2);
        assert_eq!(read[0].buyer, "globex");
        assert_eq!(read[0].part_id, "A, with comma");
        assert_eq!(read[0].quantity_factor, "12");
        assert_eq!(read[1].line, 4);
        assert_eq!(read[1].part_id, "multi\nline");
        assert_eq!(read[1].product_id, "");
    }

    #[test]
    fn header_columns_in_any_order_and_case() {
        let read = rows("SKU, Part ID ,Quantity_Factor\nGLV-L,P1,2\n");

        assert_eq!(read[0].sku, "GLV-L");
        assert_eq!(read[0].part_id, "P1");
        assert_eq!(read[0].quantity_factor, "2");
        assert_eq!(read[0].buyer, "");
    }

    #[test]
    fn bad_header_is_explained() {
        let cases = [
            ("", "line 1: the file is empty"),
            ("part,sku\n", "unknown column \"part\""),
            ("part,sku\n", "has no part_id column"),
            ("part_id,unit\n", "neither a product_id nor a sku column"),
            ("part_id,sku,sku\n", "column sku appears twice"),
        ];
        for (file, expected) in cases {
            let Err(Unreadable::Header(errors)) = read_rows(file.as_bytes()) else {
                panic!("{file:?} has a usable header");
            };
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert!(
                text.iter().any(|line| line.contains(expected)),
                "{file:?}: {text:?}"
            );
        }
    }

    #[test]
    fn short_and_non_utf8_rows_are_listed() {
        let mut file = b"part_id,sku\nP1\nP2,GLV-L\n".to_vec();
        file.extend_from_slice(b"P\xe9,GLV-L\n");
        let Err(Unreadable::Rows { rows, errors }) = read_rows(&file) else {
            panic!("the header is usable and two rows are not");
        };

        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].part_id, "P2");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("1 fields but the header has 2"));
        assert_eq!(errors[1].line, 4);
        assert!(errors[1].message.contains("CSV UTF-8"));
    }

    #[test]
    fn formula_escape_reads_back() {
        for text in ["=SUM(A1)", "+1", "-5", "@x", "'quoted", "''", "plain", ""] {
            assert_eq!(unescape_formula(&escape_formula(text)), text, "{text:?}");
        }
        assert_eq!(escape_formula("=1"), "'=1");
        assert_eq!(unescape_formula("'abc"), "'abc");
    }

    #[test]
    fn good_rows_become_mappings() {
        let file = "buyer,part_id,unit,product_id,sku,quantity_factor\n\
                    globex,P1,EA,1019,GLV-L,12.0\n\
                    1,P2,,,GLV-L,\n\
                    ,OLD,,7,,\n\
                    ,,EA,1019,,\n";
        let mappings = index().check(&rows(file)).unwrap();

        assert_eq!(mappings.len(), 4);
        assert_eq!(mappings[0].buyer, Some(BuyerId(1)));
        assert_eq!(mappings[0].unit_of_measure.as_deref(), Some("EA"));
        assert_eq!(mappings[0].quantity_factor, Decimal::from(12));
        assert_eq!(mappings[1].buyer, Some(BuyerId(1)), "buyer by id");
        assert_eq!(mappings[1].product_id, 1019, "product by SKU");
        assert_eq!(mappings[1].unit_of_measure, None);
        assert_eq!(mappings[1].quantity_factor, Decimal::ONE);
        assert_eq!(mappings[2].product_id, 7, "a stored mapping imports again");
        assert_eq!(mappings[3].coupa_part_id, "", "lines without a part id");
        assert_eq!(mappings[3].product_id, 1019);
    }

    #[test]
    fn every_bad_row_is_named() {
        let file = "buyer,part_id,unit,product_id,sku,quantity_factor\n\
                    initech,P1,EA,1019,,\n\
                    ,,EA,1019,,\n\
                    ,P3,,abc,,\n\
                    ,P4,,1019,OTHER,\n\
                    ,P5,,,,\n\
                    ,P6,,,NOPE,\n\
                    ,P7,,,DUP,\n\
                    ,P8,,1019,,0\n\
                    ,P9,,555,,\n\
                    ,P10,,1019,,\n\
                    ,P10,,1019,,2\n\
                    initech,,,,,-1\n";
        let errors = messages(index().check(&rows(file)));

        let expected = [
            "line 2: buyer \"initech\" is not a buyer of this account; use one of globex",
            "line 4: product_id \"abc\" is not a number",
            "line 5: sku \"OTHER\" is not the SKU of product 1019, which is \"GLV-L\"",
            "line 6: product_id and sku are both empty",
            "line 7: no product in the local product index has the SKU \"NOPE\"",
            "line 8: the SKU \"DUP\" belongs to products 1020, 1021",
            "line 9: quantity_factor \"0\" is not a number from 0.000001 to 1000000 with at most 6 decimal places",
            "line 10: product 555 is not in the local product index",
            "line 12: the same buyer, part_id and unit as line 11",
            "line 13: buyer \"initech\"",
            "line 13: quantity_factor \"-1\"",
            "line 13: product_id and sku are both empty",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, start) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(start),
                "{error:?} should start with {start:?}"
            );
        }
    }
}
