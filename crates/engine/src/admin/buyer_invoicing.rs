//! A buyer's invoicing settings as the operator sees and changes them: the
//! `invoice-*`, remit-to, tax and document keys of `pobridge buyer set`.

use std::collections::BTreeMap;
use std::str::FromStr;

use pobridge_cxml::{InvoiceCredential, DEFAULT_INVOICE_DTD_VERSION};
use pobridge_store::Buyer;
use rust_decimal::Decimal;
use serde::Serialize;

use super::buyers::parse_credential;
use super::{invalid, AdminError, MASKED_SECRET};
use crate::invoicing::{
    missing_for_coupa, BuyerCredentials, BuyerInvoicing, CreditForm, TaxLevel, TaxMapping,
};

/// The keys of `set_buyer` that change the invoicing settings, apart from
/// `invoice-url`, which also changes the buyer's own invoice URL.
pub const INVOICING_KEYS: [&str; 14] = [
    "invoice-from",
    "invoice-to",
    "invoice-sender",
    "invoice-secret",
    "remit-to",
    "remit-to-name",
    "tax-prefix",
    "tax-number",
    "tax-map",
    "tax-level",
    "header-charges",
    "credit-form",
    "dtd-version",
    "payment-days",
];

/// The InvoiceDetail DTD versions accepted for `dtd-version`. The invoice
/// writer's output is validated against the first and the last of them, and
/// the versions between only add optional elements.
const DTD_VERSIONS: std::ops::RangeInclusive<u32> = 20..=69;

/// One invoice credential and whether it is the default taken from the
/// purchase orders' credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialView {
    /// `DOMAIN:IDENTITY`.
    pub credential: String,
    /// True when no credential is set and the purchase orders' one is used.
    pub is_default: bool,
}

/// A buyer's invoicing settings as shown to the operator, with the shared
/// secret masked and what Coupa still needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoicingView {
    pub invoice_url: Option<String>,
    pub from: CredentialView,
    pub to: CredentialView,
    pub sender: CredentialView,
    /// [`MASKED_SECRET`] when a secret is set.
    pub shared_secret: Option<String>,
    pub remit_to_address_id: Option<String>,
    pub remit_to_name: Option<String>,
    pub supplier_tax_prefix: Option<String>,
    pub supplier_tax_number: Option<String>,
    pub tax_map: BTreeMap<String, TaxMapping>,
    pub tax_level: TaxLevel,
    pub header_charges_allowed: bool,
    pub credit_form: CreditForm,
    pub dtd_version: String,
    pub payment_term_days: Option<u32>,
    /// Each setting Coupa requires that is missing, with what to enter.
    pub missing_for_coupa: Vec<String>,
}

impl InvoicingView {
    /// Builds the view of the stored settings of `buyer`, of account
    /// `slug`. Settings that cannot be read are shown as the defaults, with
    /// the reason in `missing_for_coupa`.
    pub fn new(slug: &str, buyer: &Buyer) -> Self {
        let (settings, unreadable) = match BuyerInvoicing::from_json(&buyer.invoicing) {
            Ok(settings) => (settings, None),
            Err(error) => (BuyerInvoicing::default(), Some(unreadable_text(&error))),
        };
        let mut missing = missing_for_coupa(&settings, slug, &buyer.name);
        missing.extend(unreadable);
        let effective = settings.credentials(&BuyerCredentials::from(buyer));
        let view =
            |configured: &Option<InvoiceCredential>, used: &InvoiceCredential| CredentialView {
                credential: format!("{}:{}", used.domain, used.identity),
                is_default: configured.is_none(),
            };
        Self {
            from: view(&settings.from, &effective.from),
            to: view(&settings.to, &effective.to),
            sender: view(&settings.sender, &effective.sender),
            shared_secret: settings
                .shared_secret
                .as_ref()
                .map(|_| MASKED_SECRET.to_owned()),
            invoice_url: settings.invoice_url,
            remit_to_address_id: settings.remit_to_address_id,
            remit_to_name: settings.remit_to_name,
            supplier_tax_prefix: settings.supplier_tax_prefix,
            supplier_tax_number: settings.supplier_tax_number,
            tax_map: settings.tax_map,
            tax_level: settings.tax_level,
            header_charges_allowed: settings.header_charges_allowed,
            credit_form: settings.credit_form,
            dtd_version: settings.dtd_version,
            payment_term_days: settings.payment_term_days,
            missing_for_coupa: missing,
        }
    }
}

fn unreadable_text(error: &serde_json::Error) -> String {
    format!("the stored invoicing settings cannot be read ({error}); set each of them again")
}

/// Reads the buyer's invoicing settings for a change. Unreadable settings
/// are rejected rather than replaced by defaults, which would drop the
/// others silently.
pub(super) fn read_settings(buyer: &Buyer) -> Result<BuyerInvoicing, AdminError> {
    BuyerInvoicing::from_json(&buyer.invoicing).map_err(|error| AdminError::Invalid {
        field: "invoicing",
        value: buyer.name.clone(),
        expected: unreadable_text(&error),
    })
}

/// Reads the buyer's invoicing settings for a change of `key`. While the
/// stored shared secret cannot be read, only `invoice-secret` may change:
/// writing the other settings back would lose the sealed secret.
pub(super) fn settings_for_change(buyer: &Buyer, key: &str) -> Result<BuyerInvoicing, AdminError> {
    let settings = read_settings(buyer)?;
    match &settings.shared_secret_unreadable {
        Some(reason) if key != "invoice-secret" => Err(AdminError::Invalid {
            field: "invoicing",
            value: buyer.name.clone(),
            expected: format!(
                "settings whose shared secret can be read, but {reason}, or set \
                 invoice-secret again before changing {key}"
            ),
        }),
        _ => Ok(settings),
    }
}

/// Stores `settings` as the buyer's invoicing JSON.
pub(super) fn write_settings(buyer: &mut Buyer, settings: &BuyerInvoicing) {
    // A struct of strings, numbers, maps and enums always serializes.
    buyer.invoicing = serde_json::to_value(settings).expect("invoicing settings serialize to JSON");
}

/// A `tax-map` value: add or replace one code, or remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxMapChange {
    Set { code: String, mapping: TaxMapping },
    Remove { code: String },
}

/// Parses `CODE=CATEGORY:RATE`, such as `T20=VAT:20`, or `CODE=none`.
pub fn parse_tax_map(value: &str) -> Result<TaxMapChange, AdminError> {
    let expected = "CODE=CATEGORY:RATE, such as T20=VAT:20 (the Brightpearl tax code, \
                    the Coupa tax category and the percentage rate), or CODE=none to remove a code";
    let Some((code, mapping)) = value.trim().split_once('=') else {
        return Err(invalid("tax-map", value, expected));
    };
    let code = code.trim();
    if code.is_empty() {
        return Err(invalid("tax-map", value, expected));
    }
    if mapping.trim().eq_ignore_ascii_case("none") {
        return Ok(TaxMapChange::Remove {
            code: code.to_owned(),
        });
    }
    let Some((category, rate)) = mapping.split_once(':') else {
        return Err(invalid("tax-map", value, expected));
    };
    let category = category.trim();
    if category.is_empty() || category.chars().any(char::is_whitespace) {
        return Err(invalid("tax-map", value, expected));
    }
    let rate = Decimal::from_str(rate.trim())
        .ok()
        .filter(|rate| (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(rate))
        .ok_or_else(|| {
            invalid(
                "tax-map",
                value,
                "a rate from 0 to 100 with a decimal point, such as T20=VAT:20 or T5=GST:7.5",
            )
        })?;
    Ok(TaxMapChange::Set {
        code: code.to_owned(),
        mapping: TaxMapping {
            category: category.to_owned(),
            rate,
        },
    })
}

/// Changes one invoicing setting named by a key of [`INVOICING_KEYS`].
/// The value `none` clears an optional setting, and returns a credential to
/// the default taken from the purchase orders.
pub fn apply_invoicing_field(
    settings: &mut BuyerInvoicing,
    key: &str,
    value: &str,
) -> Result<(), AdminError> {
    match key {
        "invoice-from" => settings.from = optional_credential("invoice-from", value)?,
        "invoice-to" => settings.to = optional_credential("invoice-to", value)?,
        "invoice-sender" => settings.sender = optional_credential("invoice-sender", value)?,
        "invoice-secret" => {
            settings.shared_secret = optional_text("invoice-secret", value, SECRET_EXPECTED)?;
        }
        "remit-to" => {
            settings.remit_to_address_id = optional_text("remit-to", value, REMIT_TO_EXPECTED)?;
        }
        "remit-to-name" => {
            settings.remit_to_name = optional_text("remit-to-name", value, NAME_EXPECTED)?;
        }
        "tax-prefix" => settings.supplier_tax_prefix = tax_prefix(value)?,
        "tax-number" => settings.supplier_tax_number = tax_number(value)?,
        "tax-map" => match parse_tax_map(value)? {
            TaxMapChange::Set { code, mapping } => {
                settings.tax_map.insert(code, mapping);
            }
            TaxMapChange::Remove { code } => {
                if settings.tax_map.remove(&code).is_none() {
                    let mapped = settings.tax_map.keys().cloned().collect::<Vec<_>>();
                    let expected = format!(
                        "a mapped tax code to remove; mapped: {}",
                        super::known_list(mapped.into_iter())
                    );
                    return Err(invalid("tax-map", value, expected));
                }
            }
        },
        "tax-level" => settings.tax_level = tax_level(value)?,
        "header-charges" => settings.header_charges_allowed = header_charges(value)?,
        "credit-form" => settings.credit_form = credit_form(value)?,
        "dtd-version" => settings.dtd_version = dtd_version(value)?,
        "payment-days" => settings.payment_term_days = payment_days(value)?,
        _ => {
            let expected = format!("one of {}", INVOICING_KEYS.join(", "));
            return Err(invalid("key", key, expected));
        }
    }
    Ok(())
}

const SECRET_EXPECTED: &str =
    "the invoicing shared secret of our supplier record in the buyer's Coupa, or none";
const REMIT_TO_EXPECTED: &str =
    "the remit-to code created in the Coupa Supplier Portal, such as RT-1001, or none";
const NAME_EXPECTED: &str = "our company name as the buyer's Coupa knows it, or none";

fn is_none(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("none")
}

fn optional_credential(
    field: &'static str,
    value: &str,
) -> Result<Option<InvoiceCredential>, AdminError> {
    if is_none(value) {
        return Ok(None);
    }
    let parsed = parse_credential(field, value)?;
    Ok(Some(InvoiceCredential {
        domain: parsed.domain,
        identity: parsed.identity,
    }))
}

fn optional_text(
    field: &'static str,
    value: &str,
    expected: &str,
) -> Result<Option<String>, AdminError> {
    let text = value.trim();
    if text.is_empty() {
        return Err(invalid(field, value, expected));
    }
    if is_none(text) {
        return Ok(None);
    }
    Ok(Some(text.to_owned()))
}

fn tax_prefix(value: &str) -> Result<Option<String>, AdminError> {
    if is_none(value) {
        return Ok(None);
    }
    let prefix = value.trim();
    let letters = prefix.chars().all(|c| c.is_ascii_alphabetic());
    if !letters || !(2..=3).contains(&prefix.len()) {
        let expected =
            "the VAT country prefix of our tax number: 2 or 3 letters such as DE or EL, or none";
        return Err(invalid("tax-prefix", value, expected));
    }
    Ok(Some(prefix.to_ascii_uppercase()))
}

fn tax_number(value: &str) -> Result<Option<String>, AdminError> {
    let expected = "our VAT or tax number without the country prefix, such as 123456789, or none";
    let number = optional_text("tax-number", value, expected)?;
    if number
        .as_deref()
        .is_some_and(|text| !text.chars().any(|c| c.is_ascii_alphanumeric()))
    {
        return Err(invalid("tax-number", value, expected));
    }
    Ok(number)
}

fn tax_level(value: &str) -> Result<TaxLevel, AdminError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "line" => Ok(TaxLevel::Line),
        "summary" => Ok(TaxLevel::Summary),
        _ => Err(invalid(
            "tax-level",
            value,
            "line (tax on each invoice line) or summary (tax in the invoice summary only)",
        )),
    }
}

fn header_charges(value: &str) -> Result<bool, AdminError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(invalid(
            "header-charges",
            value,
            "yes (the buyer accepts shipping and handling charges) or no",
        )),
    }
}

fn credit_form(value: &str) -> Result<CreditForm, AdminError> {
    match value.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "negative-quantities" => Ok(CreditForm::NegativeQuantities),
        "credit-memo" => Ok(CreditForm::CreditMemo),
        _ => Err(invalid(
            "credit-form",
            value,
            "negative-quantities (a standard invoice with negative quantities) or credit-memo \
             (a creditMemo naming the original invoice, only if the buyer confirms it takes them)",
        )),
    }
}

fn dtd_version(value: &str) -> Result<String, AdminError> {
    let version = value.trim();
    if version.eq_ignore_ascii_case("default") {
        return Ok(DEFAULT_INVOICE_DTD_VERSION.to_owned());
    }
    let minor = version
        .strip_prefix("1.2.")
        .filter(|digits| digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u32>().ok());
    match minor {
        Some(minor) if DTD_VERSIONS.contains(&minor) => Ok(version.to_owned()),
        _ => Err(invalid(
            "dtd-version",
            value,
            format!(
                "an InvoiceDetail DTD version from 1.2.020 to 1.2.069, or default ({DEFAULT_INVOICE_DTD_VERSION})"
            ),
        )),
    }
}

fn payment_days(value: &str) -> Result<Option<u32>, AdminError> {
    if is_none(value) {
        return Ok(None);
    }
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|days| *days <= 365)
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "payment-days",
                value,
                "the payment term in whole days from 0 to 365, such as 30, or none to send no payment term",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(key: &str, value: &str) -> BuyerInvoicing {
        let mut settings = BuyerInvoicing::default();
        apply_invoicing_field(&mut settings, key, value).unwrap();
        settings
    }

    #[test]
    fn credential_keys_take_domain_identity_or_none() {
        let settings = applied("invoice-from", "DUNS:123456789");
        let mut cleared = settings.clone();

        apply_invoicing_field(&mut cleared, "invoice-from", "none").unwrap();

        let from = settings.from.unwrap();
        assert_eq!(from.domain, "DUNS");
        assert_eq!(from.identity, "123456789");
        assert_eq!(cleared.from, None);
    }

    #[test]
    fn tax_map_adds_replaces_and_removes() {
        let mut settings = applied("tax-map", "T20=VAT:20");
        apply_invoicing_field(&mut settings, "tax-map", "T5 = GST : 7.5").unwrap();
        apply_invoicing_field(&mut settings, "tax-map", "T20=VAT:19").unwrap();

        assert_eq!(settings.tax_map["T20"].rate, Decimal::from(19));
        assert_eq!(settings.tax_map["T5"].category, "GST");
        assert_eq!(settings.tax_map["T5"].rate, Decimal::new(75, 1));

        apply_invoicing_field(&mut settings, "tax-map", "T20=none").unwrap();

        assert_eq!(settings.tax_map.keys().collect::<Vec<_>>(), ["T5"]);
    }

    #[test]
    fn removing_unmapped_tax_code_lists_mapped() {
        let mut settings = applied("tax-map", "T20=VAT:20");

        let error = apply_invoicing_field(&mut settings, "tax-map", "T0=none")
            .unwrap_err()
            .to_string();

        assert!(error.contains("mapped: T20"), "{error}");
    }

    #[test]
    fn tax_map_rejects_bad_values() {
        for value in [
            "T20",
            "=VAT:20",
            "T20=VAT",
            "T20=:20",
            "T20=V AT:20",
            "T20=VAT:20,5",
            "T20=VAT:-1",
            "T20=VAT:101",
        ] {
            let error = parse_tax_map(value).unwrap_err().to_string();
            assert!(error.starts_with("tax-map: "), "{value:?}: {error}");
            assert!(error.contains("T20=VAT:20"), "{value:?}: {error}");
        }
    }

    #[test]
    fn enumerations_accept_documented_words() {
        assert_eq!(applied("tax-level", "line").tax_level, TaxLevel::Line);
        assert!(applied("header-charges", "yes").header_charges_allowed);
        assert_eq!(
            applied("credit-form", "credit-memo").credit_form,
            CreditForm::CreditMemo
        );
        assert_eq!(
            applied("credit-form", "negative_quantities").credit_form,
            CreditForm::NegativeQuantities
        );
        assert_eq!(applied("dtd-version", "1.2.069").dtd_version, "1.2.069");
        assert_eq!(applied("payment-days", "30").payment_term_days, Some(30));
        assert_eq!(
            applied("tax-prefix", "de").supplier_tax_prefix.unwrap(),
            "DE"
        );
    }

    #[test]
    fn dtd_version_default_restores_it() {
        let mut settings = applied("dtd-version", "1.2.037");

        apply_invoicing_field(&mut settings, "dtd-version", "default").unwrap();

        assert_eq!(settings.dtd_version, DEFAULT_INVOICE_DTD_VERSION);
    }

    #[test]
    fn invalid_values_name_key_and_leave_settings() {
        let cases = [
            ("invoice-to", "DUNS"),
            ("invoice-secret", " "),
            ("remit-to", ""),
            ("tax-prefix", "D1"),
            ("tax-prefix", "GERM"),
            ("tax-number", "--"),
            ("tax-level", "header"),
            ("header-charges", "maybe"),
            ("credit-form", "memo"),
            ("dtd-version", "1.2.014"),
            ("dtd-version", "1.2.70"),
            ("dtd-version", "2.0.020"),
            ("payment-days", "-1"),
            ("payment-days", "366"),
        ];
        let mut settings = BuyerInvoicing::default();

        for (key, value) in cases {
            let error = apply_invoicing_field(&mut settings, key, value)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(&format!("{key}: ")), "{key}: {error}");
            assert!(error.contains("expected"), "{key}: {error}");
        }
        assert_eq!(settings, BuyerInvoicing::default());
    }

    #[test]
    fn view_masks_secret_and_marks_default_credentials() {
        let mut buyer = crate::admin::test_buyer();
        let mut settings = applied("invoice-secret", "inv-s3cret");
        apply_invoicing_field(&mut settings, "invoice-to", "NetworkID:COUPA-INV").unwrap();
        write_settings(&mut buyer, &settings);

        let view = InvoicingView::new("acme", &buyer);

        assert_eq!(view.shared_secret.as_deref(), Some(MASKED_SECRET));
        assert!(!format!("{view:?}").contains("inv-s3cret"));
        assert!(view.from.is_default);
        assert_eq!(view.from.credential, "NetworkID:AN01");
        assert!(!view.to.is_default);
        assert_eq!(view.to.credential, "NetworkID:COUPA-INV");
        let missing = view.missing_for_coupa.join("\n");
        assert!(missing.contains("invoice-url is missing"), "{missing}");
        assert!(missing.contains("tax-map is empty"), "{missing}");
        assert!(!missing.contains("shared_secret"), "{missing}");
    }

    #[test]
    fn unreadable_secret_allows_only_new_secret() {
        let mut buyer = crate::admin::test_buyer();
        buyer.invoicing = serde_json::json!({
            "invoice_url": "https://coupa.example/cxml/invoices",
            "shared_secret": null,
            (pobridge_store::INVOICING_SEALED_SECRET): "enc:v1:sealed",
            (pobridge_store::INVOICING_SECRET_UNREADABLE): "no secrets_key is configured",
        });

        let view = InvoicingView::new("acme", &buyer);
        let missing = view.missing_for_coupa.join("\n");
        let rejected = settings_for_change(&buyer, "tax-map")
            .unwrap_err()
            .to_string();
        let mut replaced = settings_for_change(&buyer, "invoice-secret").unwrap();
        apply_invoicing_field(&mut replaced, "invoice-secret", "new-s3cret").unwrap();
        write_settings(&mut buyer, &replaced);

        assert!(
            missing.contains("invoice-secret cannot be read: no secrets_key is configured"),
            "{missing}"
        );
        assert!(!missing.contains("invoice-secret is missing"), "{missing}");
        assert!(
            rejected.contains("no secrets_key is configured"),
            "{rejected}"
        );
        assert!(rejected.contains("invoice-secret again"), "{rejected}");
        assert_eq!(buyer.invoicing["shared_secret"], "new-s3cret");
        assert!(buyer
            .invoicing
            .get(pobridge_store::INVOICING_SECRET_UNREADABLE)
            .is_none());
        assert!(
            missing_for_coupa(&read_settings(&buyer).unwrap(), "acme", &buyer.name)
                .iter()
                .all(|entry| !entry.contains("invoice-secret"))
        );
    }

    #[test]
    fn unreadable_settings_are_reported() {
        let mut buyer = crate::admin::test_buyer();
        buyer.invoicing = serde_json::json!({ "tax_level": "header" });

        let view = InvoicingView::new("acme", &buyer);
        let error = read_settings(&buyer).unwrap_err().to_string();

        assert!(
            view.missing_for_coupa
                .iter()
                .any(|entry| entry.contains("cannot be read")),
            "{:?}",
            view.missing_for_coupa
        );
        assert!(error.contains("cannot be read"), "{error}");
    }
}
