//! A buyer's invoicing settings, stored as the JSON in `Buyer.invoicing`,
//! and the rules that decide what each Brightpearl order row becomes on an
//! invoice.

use std::collections::BTreeMap;
use std::fmt;

use pobridge_brightpearl::OrderRow;
pub use pobridge_core::{RowClass, RowMatcher, RowRule};
use pobridge_cxml::{InvoiceCredential, DEFAULT_INVOICE_DTD_VERSION};
use pobridge_store::{Buyer, CredentialRef};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A buyer's settings for sending invoices to its Coupa. Every field has a
/// default, so `{}` reads as a buyer with nothing configured yet.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuyerInvoicing {
    /// The buyer's Coupa cXML invoice address, such as
    /// `https://buyer.coupahost.com/cxml/invoices`.
    pub invoice_url: Option<String>,
    /// `From` of the invoice. When absent, the buyer's `To` credential.
    pub from: Option<InvoiceCredential>,
    /// `To` of the invoice. When absent, the buyer's `From` credential.
    pub to: Option<InvoiceCredential>,
    /// `Sender` of the invoice. When absent, the buyer's `To` credential.
    pub sender: Option<InvoiceCredential>,
    /// The invoicing `SharedSecret` set on the buyer's supplier record.
    /// Stored as given because every invoice must carry it, and hidden
    /// from `Debug`.
    pub shared_secret: Option<String>,
    /// The reason the stored shared secret cannot be read, in place of
    /// `shared_secret`: the store sets it when the secret was sealed with a
    /// `secrets_key` this process does not have. Never written back.
    #[serde(rename = "shared_secret_unreadable", skip_serializing, default)]
    pub shared_secret_unreadable: Option<String>,
    /// The remit-to code from the Coupa Supplier Portal. No remit-to
    /// partner is written without it.
    pub remit_to_address_id: Option<String>,
    /// Our company name, written with the remit-to code.
    pub remit_to_name: Option<String>,
    /// The VAT country prefix written with the remit-to code, such as `DE`.
    pub supplier_tax_prefix: Option<String>,
    /// Our VAT or tax number, written with the remit-to code.
    pub supplier_tax_number: Option<String>,
    /// The Coupa tax category and rate of each Brightpearl tax code.
    pub tax_map: BTreeMap<String, TaxMapping>,
    pub tax_level: TaxLevel,
    /// True when the buyer accepts shipping and handling charges in the
    /// invoice summary. Otherwise rows classified as charges are left out.
    pub header_charges_allowed: bool,
    pub credit_form: CreditForm,
    /// The InvoiceDetail DTD version written in the DOCTYPE.
    pub dtd_version: String,
    /// `PaymentTerm@payInNumberOfDays`, when the buyer wants it sent.
    pub payment_term_days: Option<u32>,
}

impl Default for BuyerInvoicing {
    fn default() -> Self {
        Self {
            invoice_url: None,
            from: None,
            to: None,
            sender: None,
            shared_secret: None,
            shared_secret_unreadable: None,
            remit_to_address_id: None,
            remit_to_name: None,
            supplier_tax_prefix: None,
            supplier_tax_number: None,
            tax_map: BTreeMap::new(),
            tax_level: TaxLevel::default(),
            header_charges_allowed: false,
            credit_form: CreditForm::default(),
            dtd_version: DEFAULT_INVOICE_DTD_VERSION.to_owned(),
            payment_term_days: None,
        }
    }
}

impl fmt::Debug for BuyerInvoicing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = self.shared_secret.as_ref().map(|_| "********");
        f.debug_struct("BuyerInvoicing")
            .field("invoice_url", &self.invoice_url)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("sender", &self.sender)
            .field("shared_secret", &secret)
            .field("shared_secret_unreadable", &self.shared_secret_unreadable)
            .field("remit_to_address_id", &self.remit_to_address_id)
            .field("remit_to_name", &self.remit_to_name)
            .field("supplier_tax_prefix", &self.supplier_tax_prefix)
            .field("supplier_tax_number", &self.supplier_tax_number)
            .field("tax_map", &self.tax_map)
            .field("tax_level", &self.tax_level)
            .field("header_charges_allowed", &self.header_charges_allowed)
            .field("credit_form", &self.credit_form)
            .field("dtd_version", &self.dtd_version)
            .field("payment_term_days", &self.payment_term_days)
            .finish()
    }
}

impl BuyerInvoicing {
    /// Reads the settings from a buyer's `invoicing` JSON. `{}` and `null`
    /// give the defaults.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        if value.is_null() {
            return Ok(Self::default());
        }
        Self::deserialize(value)
    }

    /// Returns the `From`, `To` and `Sender` credentials of an invoice: the
    /// configured ones, or else the purchase order's credentials swapped,
    /// because the supplier sends what the buyer received.
    pub fn credentials(&self, buyer: &BuyerCredentials) -> InvoiceCredentials {
        InvoiceCredentials {
            from: self.from.clone().unwrap_or_else(|| credential(&buyer.to)),
            to: self.to.clone().unwrap_or_else(|| credential(&buyer.from)),
            sender: self.sender.clone().unwrap_or_else(|| credential(&buyer.to)),
        }
    }
}

fn credential(value: &CredentialRef) -> InvoiceCredential {
    InvoiceCredential {
        domain: value.domain.clone(),
        identity: value.identity.clone(),
    }
}

/// The credentials a buyer's purchase orders carry, as stored on the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerCredentials {
    pub from: CredentialRef,
    pub to: CredentialRef,
    pub sender: CredentialRef,
}

impl From<&Buyer> for BuyerCredentials {
    fn from(buyer: &Buyer) -> Self {
        Self {
            from: buyer.from.clone(),
            to: buyer.to.clone(),
            sender: buyer.sender.clone(),
        }
    }
}

/// The header credentials of one invoice, without the shared secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceCredentials {
    pub from: InvoiceCredential,
    pub to: InvoiceCredential,
    pub sender: InvoiceCredential,
}

/// The Coupa tax of one Brightpearl tax code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxMapping {
    /// `TaxDetail@category`, such as `sales`, `VAT` or `GST`.
    pub category: String,
    /// `TaxDetail@percentageRate`, such as `20` for 20 %.
    pub rate: Decimal,
}

/// The place of an invoice's tax: each line, or the summary only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxLevel {
    /// On each line, with the summary tax as their sum.
    Line,
    /// Only in the summary, one `TaxDetail` per category and rate.
    #[default]
    Summary,
}

/// The form a Brightpearl sales credit takes in Coupa.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditForm {
    /// A standard invoice with negative quantities and positive prices,
    /// the form Coupa documents without contradiction.
    #[default]
    NegativeQuantities,
    /// `purpose="creditMemo"` with positive amounts, naming the original
    /// invoice.
    CreditMemo,
}

/// Returns each setting that Coupa needs and the buyer has not set, named
/// as the setting is named, with what to enter and the command that sets
/// it for the buyer `buyer` of account `slug`.
pub fn missing_for_coupa(settings: &BuyerInvoicing, slug: &str, buyer: &str) -> Vec<String> {
    let set = |rest: &str| format!("`pobridge buyer set {slug} {} {rest}`", shell_word(buyer));
    let mut missing = Vec::new();
    if is_blank(settings.invoice_url.as_deref()) {
        missing.push(format!(
            "invoice-url is missing: set it to the buyer's Coupa cXML invoice address with {}",
            set("invoice-url URL")
        ));
    }
    if let Some(reason) = &settings.shared_secret_unreadable {
        missing.push(format!(
            "invoice-secret cannot be read: {reason}, or set the secret again with {}",
            set("invoice-secret -")
        ));
    } else if is_blank(settings.shared_secret.as_deref()) {
        missing.push(format!(
            "invoice-secret is missing: set it to the invoicing shared secret of our \
             supplier record in the buyer's Coupa with {}",
            set("invoice-secret -")
        ));
    }
    if settings.tax_map.is_empty() {
        missing.push(format!(
            "tax-map is empty: map each Brightpearl tax code used on this buyer's orders \
             to a Coupa tax category and rate with {}",
            set("tax-map CODE=CATEGORY:RATE")
        ));
    }
    missing
}

/// Quotes a buyer name for a POSIX shell where it needs quoting. A name
/// with a NUL byte cannot be typed, so it is shown as `BUYER`.
fn shell_word(name: &str) -> std::borrow::Cow<'_, str> {
    shlex::try_quote(name).unwrap_or(std::borrow::Cow::Borrowed("BUYER"))
}

fn is_blank(value: Option<&str>) -> bool {
    value.is_none_or(|text| text.trim().is_empty())
}

/// Returns true when `row` is one `matcher` names.
pub fn row_matches(matcher: &RowMatcher, row: &OrderRow) -> bool {
    let same = |expected: &str, actual: Option<&str>| {
        actual.is_some_and(|actual| actual.trim() == expected.trim())
    };
    match matcher {
        RowMatcher::ProductId(id) => row.product_id == Some(*id),
        RowMatcher::Sku(sku) => same(sku, row.sku.as_deref()),
        RowMatcher::NominalCode(code) => same(code, row.nominal_code.as_deref()),
    }
}

/// Returns the first rule that matches `row`.
pub fn matching_rule<'a>(rules: &'a [RowRule], row: &OrderRow) -> Option<&'a RowRule> {
    rules.iter().find(|rule| row_matches(&rule.matcher, row))
}

/// Classifies `row` by the first matching rule. Without one, a row with a
/// product is a line and a free-text row is skipped.
pub fn classify(rules: &[RowRule], row: &OrderRow) -> RowClass {
    match matching_rule(rules, row) {
        Some(rule) => rule.class,
        None if row.product_id.is_some() => RowClass::Line,
        None => RowClass::Skip,
    }
}

/// Describes a rule as the `rows` commands take it, such as
/// `sku SHIP-1 -> shipping`.
pub fn describe_rule(rule: &RowRule) -> String {
    let matcher = match &rule.matcher {
        RowMatcher::ProductId(id) => format!("product {id}"),
        RowMatcher::Sku(sku) => format!("sku {sku}"),
        RowMatcher::NominalCode(code) => format!("nominal {code}"),
    };
    let class = match rule.class {
        RowClass::Line => "line",
        RowClass::Shipping => "shipping",
        RowClass::SpecialHandling => "special-handling",
        RowClass::Skip => "skip",
    };
    format!("{matcher} -> {class}")
}
