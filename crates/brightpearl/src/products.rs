//! Products: searching by identifier or change window, and reading them by id.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use crate::client::BrightpearlClient;
use crate::error::BrightpearlError;
use crate::search::{SearchRequest, SearchRow};

/// A product identifier that product-search can filter on. The column
/// names are case-sensitive (`SKU` and `EAN` are upper-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierColumn {
    Sku,
    Barcode,
    Ean,
    Upc,
    Mpn,
    Isbn,
}

impl IdentifierColumn {
    /// Returns the product-search column name.
    pub fn column_name(self) -> &'static str {
        match self {
            Self::Sku => "SKU",
            Self::Barcode => "barcode",
            Self::Ean => "EAN",
            Self::Upc => "UPC",
            Self::Mpn => "MPN",
            Self::Isbn => "ISBN",
        }
    }
}

/// Filters of a product search; every filter set must match. A period is
/// `(from, to)` with an open end when `to` is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductQuery {
    pub created_on: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    pub updated_on: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Exact identifier value; checked again on the returned rows because
    /// Brightpearl's text filters are not reliably exact.
    pub identifier: Option<(IdentifierColumn, String)>,
}

/// One product-search row. A product with variants has one row per variant.
/// Blank identifiers are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRow {
    pub product_id: i64,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub ean: Option<String>,
    pub upc: Option<String>,
    pub isbn: Option<String>,
    pub mpn: Option<String>,
    pub name: Option<String>,
    pub stock_tracked: Option<bool>,
    /// `LIVE`, `DISCONTINUED` or `ENDOFLINE`.
    pub status: Option<String>,
    pub created_on: Option<DateTime<FixedOffset>>,
    pub updated_on: Option<DateTime<FixedOffset>>,
}

impl ProductRow {
    fn from_row(row: &SearchRow) -> Option<Self> {
        Some(Self {
            product_id: row.integer("productId")?,
            sku: row.text("SKU"),
            barcode: row.text("barcode"),
            ean: row.text("EAN"),
            upc: row.text("UPC"),
            isbn: row.text("ISBN"),
            mpn: row.text("MPN"),
            name: row.text("productName"),
            stock_tracked: row.boolean("stockTracked"),
            status: row.text("productStatus"),
            created_on: row.timestamp("createdOn"),
            updated_on: row.timestamp("updatedOn"),
        })
    }

    /// Returns the row's value of `column`.
    pub fn identifier(&self, column: IdentifierColumn) -> Option<&str> {
        let value = match column {
            IdentifierColumn::Sku => &self.sku,
            IdentifierColumn::Barcode => &self.barcode,
            IdentifierColumn::Ean => &self.ean,
            IdentifierColumn::Upc => &self.upc,
            IdentifierColumn::Mpn => &self.mpn,
            IdentifierColumn::Isbn => &self.isbn,
        };
        value.as_deref()
    }
}

/// A product as read by id. Blank identifiers are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    /// The name on the first sales channel (`salesChannels[0].productName`).
    pub name: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub ean: Option<String>,
    pub upc: Option<String>,
    pub mpn: Option<String>,
    pub isbn: Option<String>,
    pub stock_tracked: bool,
    /// The product's tax code, such as `T20`.
    pub tax_code: Option<String>,
    pub status: Option<String>,
    pub is_bundle: bool,
    pub updated_on: Option<DateTime<FixedOffset>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default)]
    identity: Identity,
    #[serde(default)]
    stock: Stock,
    #[serde(default)]
    financial_details: FinancialDetails,
    #[serde(default)]
    sales_channels: Vec<SalesChannel>,
    #[serde(default)]
    composition: Composition,
    #[serde(default, deserialize_with = "crate::de::text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    updated_on: Option<DateTime<FixedOffset>>,
}

#[derive(Default, Deserialize)]
struct Identity {
    #[serde(default, deserialize_with = "crate::de::text")]
    sku: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    barcode: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    ean: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    upc: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    mpn: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    isbn: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stock {
    #[serde(default, deserialize_with = "crate::de::flag")]
    stock_tracked: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FinancialDetails {
    #[serde(default)]
    tax_code: Option<CodeRef>,
}

#[derive(Default, Deserialize)]
struct CodeRef {
    #[serde(default, deserialize_with = "crate::de::text")]
    code: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SalesChannel {
    #[serde(default, deserialize_with = "crate::de::text")]
    product_name: Option<String>,
}

#[derive(Default, Deserialize)]
struct Composition {
    #[serde(default, deserialize_with = "crate::de::flag")]
    bundle: Option<bool>,
}

impl ProductWire {
    fn into_product(self) -> Option<Product> {
        Some(Product {
            id: self.id?,
            name: self
                .sales_channels
                .into_iter()
                .next()
                .and_then(|channel| channel.product_name)
                .unwrap_or_default(),
            sku: self.identity.sku,
            barcode: self.identity.barcode,
            ean: self.identity.ean,
            upc: self.identity.upc,
            mpn: self.identity.mpn,
            isbn: self.identity.isbn,
            stock_tracked: self.stock.stock_tracked.unwrap_or(false),
            tax_code: self.financial_details.tax_code.and_then(|code| code.code),
            status: self.status,
            is_bundle: self.composition.bundle.unwrap_or(false),
            updated_on: self.updated_on,
        })
    }
}

impl BrightpearlClient {
    /// Searches products. With an identifier, only rows whose identifier
    /// equals the value exactly, apart from surrounding spaces, are
    /// returned. A blank identifier matches nothing and sends no request.
    pub async fn search_products(
        &self,
        query: &ProductQuery,
    ) -> Result<Vec<ProductRow>, BrightpearlError> {
        let mut request = SearchRequest::new("product-service/product-search", "productId");
        if let Some((from, to)) = query.created_on {
            request = request.period("createdOn", Some(from), to);
        }
        if let Some((from, to)) = query.updated_on {
            request = request.period("updatedOn", Some(from), to);
        }
        let expected = match &query.identifier {
            Some((column, value)) if value.trim().is_empty() => {
                tracing::debug!(
                    column = column.column_name(),
                    "blank product identifier; not searching"
                );
                return Ok(Vec::new());
            }
            Some((column, value)) => {
                request = request.text(column.column_name(), value.trim());
                Some((*column, value.trim()))
            }
            None => None,
        };

        let results = self.search(&request).await?;
        let rows = results.rows.iter().filter_map(ProductRow::from_row);
        Ok(rows
            .filter(|row| match expected {
                Some((column, value)) => row.identifier(column).map(str::trim) == Some(value),
                None => true,
            })
            .collect())
    }

    /// Reads products by id, sorted by id. Ids that do not exist are left out.
    pub async fn get_products(&self, ids: &[i64]) -> Result<Vec<Product>, BrightpearlError> {
        let items = self
            .get_many::<ProductWire>("product-service/product", ids, &[])
            .await?;
        let mut products: Vec<Product> = items
            .into_iter()
            .filter_map(|(wire, _)| wire.into_product())
            .collect();
        products.sort_by_key(|product| product.id);
        products.dedup_by_key(|product| product.id);
        Ok(products)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_items(name: &str) -> Vec<serde_json::Value> {
        let path = format!(
            "{}/../../../shared/corpus/brightpearl/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        crate::envelope::items(&body)
    }

    #[test]
    fn product_reads_name_tax_code_and_blank_identifiers() {
        let item = corpus_items("product-get-single.response.json").remove(0);
        let product = serde_json::from_value::<ProductWire>(item)
            .unwrap()
            .into_product()
            .unwrap();

        assert_eq!(product.id, 1007);
        assert_eq!(product.name, "Nice Shirt for Summer");
        assert_eq!(product.sku.as_deref(), Some("TEST001"));
        assert_eq!(product.barcode, None);
        assert_eq!(product.tax_code.as_deref(), Some("T"));
        assert!(product.stock_tracked);
        assert!(!product.is_bundle);
        assert_eq!(product.status.as_deref(), Some("LIVE"));
        assert_eq!(
            product.updated_on.unwrap().to_rfc3339(),
            "2020-07-06T01:48:36-06:00"
        );
    }

    #[test]
    fn legacy_product_shape_still_reads() {
        for item in corpus_items("legacy2014-product-get-with-variations.response.json") {
            let product = serde_json::from_value::<ProductWire>(item)
                .unwrap()
                .into_product();
            assert!(product.is_some());
        }
    }
}
