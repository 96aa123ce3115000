//! The per-account settings that decide how a purchase order becomes a
//! Brightpearl sales order. Keys are the names `pobridge settings SLUG set`
//! takes; values are checked against Brightpearl's reference data by the
//! engine before they are stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The Coupa identifier a line is matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CoupaIdField {
    #[default]
    SupplierPartId,
    SupplierPartAuxiliaryId,
    ManufacturerPartId,
    BuyerPartId,
}

impl CoupaIdField {
    /// Returns the cXML element that carries the identifier, as people see
    /// it in the order document.
    pub fn element_name(self) -> &'static str {
        match self {
            Self::SupplierPartId => "SupplierPartID",
            Self::SupplierPartAuxiliaryId => "SupplierPartAuxiliaryID",
            Self::ManufacturerPartId => "ManufacturerPartID",
            Self::BuyerPartId => "BuyerPartID",
        }
    }
}

/// The Brightpearl product identifier the Coupa value must equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BrightpearlIdField {
    #[default]
    Sku,
    Barcode,
    Ean,
    Upc,
    Mpn,
    Isbn,
}

impl BrightpearlIdField {
    /// Returns the identifier's name as Brightpearl's screens show it.
    pub fn label(self) -> &'static str {
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

/// The rule that finds a customer when no mapping exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContactMatch {
    /// Exact, case-insensitive company name of the BillTo address.
    #[default]
    CompanyName,
    /// Exact, case-insensitive e-mail of the BillTo address.
    Email,
    /// Only explicit mappings; never search.
    None,
}

/// The treatment of the PO's header Shipping amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ShippingTreatment {
    /// A free-text row on the shipping nominal code.
    #[default]
    Row,
    /// Left out of the sales order.
    Omit,
}

/// The part of an invoice that a Brightpearl order row becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowClass {
    /// An invoice line for a purchase-order line.
    Line,
    /// Freight: the summary's `ShippingAmount`.
    Shipping,
    /// A handling fee: the summary's `SpecialHandlingAmount`.
    SpecialHandling,
    /// Left off the invoice: the skip list.
    Skip,
}

/// The rows a [`RowRule`] applies to. Texts are compared exactly after
/// trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum RowMatcher {
    ProductId(i64),
    Sku(String),
    NominalCode(String),
}

/// Classifies the rows a matcher names, such as the shipping product as
/// [`RowClass::Shipping`]. The first rule that matches a row decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRule {
    pub matcher: RowMatcher,
    pub class: RowClass,
}

/// Settings of one account. Every field has a default so that a new account
/// works once its Brightpearl connection exists and a channel and warehouse
/// are chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSettings {
    pub channel_id: Option<i64>,
    pub warehouse_id: Option<i64>,
    pub price_list_id: Option<i64>,
    pub order_status_id: Option<i64>,
    pub staff_owner_id: Option<i64>,
    pub project_id: Option<i64>,
    pub lead_source_id: Option<i64>,
    /// Tax code (the code string, such as `T20`) used for rows whose product has none.
    pub default_tax_code: Option<String>,
    pub shipping: ShippingTreatment,
    /// Nominal code (such as `4040`) of the shipping row.
    pub shipping_nominal_code: Option<String>,
    pub coupa_id_field: CoupaIdField,
    pub brightpearl_id_field: BrightpearlIdField,
    pub contact_match: ContactMatch,
    /// Whether pobridge may create a contact in Brightpearl when none matches.
    pub create_contacts: bool,
    /// Whether test-mode buyers' orders are written to a Brightpearl account
    /// that is not a sandbox.
    pub sync_test_orders: bool,
    /// Order custom fields set on every created order: code (`PCF_...`) to value.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// How long a transiently failing job is retried before it fails, in hours.
    pub retry_hours: u32,
    /// Rules for what each Brightpearl order row becomes on an invoice. The
    /// first matching rule decides. Without one, a row with a product is a
    /// line and a free-text row is skipped.
    pub invoice_rows: Vec<RowRule>,
    /// The IANA time zone of the Brightpearl account (such as
    /// `America/Chicago`), whose calendar date of a tax date is the invoice
    /// date.
    pub time_zone: String,
    /// Minutes between incremental polls for newly invoiced orders.
    pub invoice_poll_minutes: u32,
    /// Hours between sweeps of every open tracked order.
    pub invoice_sweep_hours: u32,
    /// Hours an invoice is retried after a 5xx or a missing response from
    /// Coupa, before it needs attention.
    pub invoice_retry_hours: u32,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            channel_id: None,
            warehouse_id: None,
            price_list_id: None,
            order_status_id: None,
            staff_owner_id: None,
            project_id: None,
            lead_source_id: None,
            default_tax_code: None,
            shipping: ShippingTreatment::Row,
            shipping_nominal_code: None,
            coupa_id_field: CoupaIdField::SupplierPartId,
            brightpearl_id_field: BrightpearlIdField::Sku,
            contact_match: ContactMatch::CompanyName,
            create_contacts: true,
            sync_test_orders: false,
            custom_fields: BTreeMap::new(),
            retry_hours: 72,
            invoice_rows: Vec::new(),
            time_zone: "UTC".to_owned(),
            invoice_poll_minutes: 10,
            invoice_sweep_hours: 24,
            invoice_retry_hours: 24,
        }
    }
}
