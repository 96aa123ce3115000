//! Gathering what an invoice is built from, building it, checking it and
//! writing the document to store: the step shared by a newly invoiced
//! order and by a held invoice rebuilt with the current settings.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use pobridge_brightpearl::Order;
use pobridge_core::{AccountSettings, RowClass, RowMatcher, RowRule};
use pobridge_cxml::{mask_secrets, write_invoice, OrderRequest};
use pobridge_store::{
    Account, Buyer, InvoiceContent, InvoiceKind, InvoiceRecord, InvoiceStatus, PurchaseOrder,
    StoreError, TrackedKind, TrackedOrder,
};
use rust_decimal::Decimal;

use crate::invoicing::{
    build_invoice, check, invoice_date, invoiced_lines, missing_for_coupa, BuildInput,
    BuiltInvoice, BuyerCredentials, BuyerInvoicing,
};
use crate::products::pick_mapping;
use crate::Engine;

/// `Sender/UserAgent` of the invoices pobridge writes.
const USER_AGENT: &str = concat!("pobridge ", env!("CARGO_PKG_VERSION"));

/// An invoice ready to store: its content, pending when every check
/// passed and held with all the reasons otherwise.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub number: String,
    pub kind: InvoiceKind,
    pub content: InvoiceContent,
    /// Problems that do not stop the invoice, for the PO's timeline.
    pub warnings: Vec<String>,
}

impl Prepared {
    pub fn is_held(&self) -> bool {
        self.content.status == InvoiceStatus::Held
    }
}

/// Everything an invoice is built from besides the Brightpearl order.
struct Sources {
    po: PurchaseOrder,
    request: OrderRequest,
    buyer: Buyer,
    settings: BuyerInvoicing,
    zone: Tz,
    /// Reasons to hold the invoice found while reading the settings.
    reasons: Vec<String>,
}

impl Engine {
    /// Builds, checks and writes the invoice of `tracked`'s invoiced
    /// Brightpearl order with the current settings.
    pub(crate) async fn prepare_invoice(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        order: &Order,
    ) -> Result<Prepared, StoreError> {
        let number = order
            .issued_invoice()
            .map(|invoice| invoice.invoice_reference.trim().to_owned())
            .unwrap_or_default();
        let kind = invoice_kind(tracked);
        let mut sources = self.invoice_sources(account, tracked).await?;
        let original_invoice = match kind {
            InvoiceKind::Credit => self.original_invoice(account, &sources.po, tracked).await?,
            InvoiceKind::Invoice => None,
        };

        let links = self.store.row_links(account.id, sources.po.id).await?;
        let quantity_factors = self.quantity_factors(account, &sources).await?;
        let rules = row_rules(&account.settings);
        let payload_id = self.new_payload_id();
        let timestamp = self.clock.now().with_timezone(&sources.zone).fixed_offset();
        let credentials = BuyerCredentials::from(&sources.buyer);
        let input = BuildInput {
            order,
            po: &sources.request,
            po_order_date: sources.request.header.order_date,
            row_links: &links,
            quantity_factors: &quantity_factors,
            buyer_invoicing: &sources.settings,
            buyer_credentials: &credentials,
            rules: &rules,
            kind,
            original_invoice,
            time_zone: sources.zone,
            payload_id: &payload_id,
            timestamp,
            user_agent: USER_AGENT,
            account_slug: account.slug.as_str(),
        };
        let (content, warnings) = match build_invoice(&input) {
            Ok(built) => {
                let content = self
                    .checked_content(account, &sources, built.clone())
                    .await?;
                (content, built.warnings)
            }
            Err(errors) => {
                sources.reasons.extend(errors);
                // Report every missing setting at once, not only those the
                // build stopped on, so one round of changes releases it.
                for missing in missing_for_coupa(
                    &sources.settings,
                    account.slug.as_str(),
                    &sources.buyer.name,
                ) {
                    if !sources.reasons.contains(&missing) {
                        sources.reasons.push(missing);
                    }
                }
                let mut content = unbuilt_content(order, &number, &sources, timestamp);
                // NOTE: when a row matches no PO line the invoice keeps no
                // lines, so a person who enters it in Coupa by hand leaves
                // its quantities out of the over-invoicing check.
                content.lines = invoiced_lines(&input).unwrap_or_default();
                (content, Vec::new())
            }
        };
        Ok(Prepared {
            number,
            kind,
            content,
            warnings,
        })
    }

    /// Returns the quantity factor of each PO line mapped by hand with one
    /// other than 1, as the sync job would pick the mapping.
    ///
    /// NOTE: this reads the mappings as they are now, so a factor changed
    /// after the sales order was created converts with the new factor.
    /// Storing the factor with the row links would close that window.
    async fn quantity_factors(
        &self,
        account: &Account,
        sources: &Sources,
    ) -> Result<BTreeMap<u32, Decimal>, StoreError> {
        let mut factors = BTreeMap::new();
        for item in &sources.request.items {
            let part = item.item_id.supplier_part_id.trim();
            let unit = item
                .detail
                .as_ref()
                .map(|detail| detail.unit_of_measure.trim())
                .unwrap_or("");
            let mappings = self.store.item_mappings(account.id, part).await?;
            if let Some(mapping) = pick_mapping(&mappings, sources.po.buyer_id, unit) {
                if mapping.quantity_factor != Decimal::ONE {
                    factors.insert(item.line_label(), mapping.quantity_factor);
                }
            }
        }
        Ok(factors)
    }

    async fn invoice_sources(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
    ) -> Result<Sources, StoreError> {
        let po = self.store.purchase_order(account.id, tracked.po_id).await?;
        let request = self.synced_order(account.id, &po).await?;
        let buyer = self.store.buyer(account.id, po.buyer_id).await?;
        let mut reasons = Vec::new();
        let settings = buyer_settings(&buyer, &mut reasons);
        let zone = time_zone(account, &mut reasons);
        Ok(Sources {
            po,
            request,
            buyer,
            settings,
            zone,
            reasons,
        })
    }

    /// Returns the number and date of the invoice a credit credits: the
    /// stored invoice of the order it was raised against, preferring one
    /// that Coupa accepted.
    async fn original_invoice(
        &self,
        account: &Account,
        po: &PurchaseOrder,
        tracked: &TrackedOrder,
    ) -> Result<Option<(String, DateTime<FixedOffset>)>, StoreError> {
        let Some(parent) = tracked.parent_order_id else {
            return Ok(None);
        };
        let invoices = self.store.invoices_for_po(account.id, po.id).await?;
        let candidates: Vec<&InvoiceRecord> = invoices
            .iter()
            .filter(|invoice| {
                invoice.brightpearl_order_id == parent
                    && invoice.kind == InvoiceKind::Invoice
                    && !matches!(
                        invoice.status,
                        InvoiceStatus::Failed | InvoiceStatus::Superseded
                    )
            })
            .collect();
        let chosen = candidates
            .iter()
            .find(|invoice| is_accepted(invoice.status))
            .or(candidates.first());
        Ok(chosen.map(|invoice| (invoice.invoice_number.clone(), invoice.invoice_date)))
    }

    /// Runs the preflight on a built invoice and writes its document with
    /// the shared secret masked.
    async fn checked_content(
        &self,
        account: &Account,
        sources: &Sources,
        built: BuiltInvoice,
    ) -> Result<InvoiceContent, StoreError> {
        let mut reasons = sources.reasons.clone();
        let mut invoiced = self
            .store
            .invoiced_quantities(account.id, sources.po.id)
            .await?;
        let number = built.document.invoice.invoice_id.trim();
        let stored = self
            .store
            .invoice_by_number(account.id, sources.po.buyer_id, number)
            .await?;
        if let Some(stored) = stored.filter(|stored| stored.po == sources.po.id) {
            invoiced = without_invoice(invoiced, &stored);
        }
        // The store keeps one invoice per buyer and number, so the number
        // is never another stored invoice's: a newly invoiced order whose
        // number is taken gets no invoice at all.
        let number_used_before = false;
        let missing = missing_for_coupa(
            &sources.settings,
            account.slug.as_str(),
            &sources.buyer.name,
        );
        if let Err(errors) = check(
            &built,
            &sources.request,
            &invoiced,
            number_used_before,
            &missing,
        ) {
            reasons.extend(errors);
        }

        let document = match write_invoice(&built.document) {
            Ok(xml) => String::from_utf8_lossy(&mask_secrets(xml.as_bytes())).into_owned(),
            Err(error) => {
                reasons.push(format!(
                    "the invoice document could not be written: {error}"
                ));
                String::new()
            }
        };
        let invoice = &built.document.invoice;
        Ok(InvoiceContent {
            invoice_date: invoice.invoice_date,
            currency: invoice.currency.clone(),
            brightpearl_total: built.brightpearl_total,
            sent_total: built.sent_total,
            document,
            status: status_for(&reasons),
            reason: reason_for(&reasons),
            lines: built.lines,
        })
    }
}

/// Returns the account's row rules, then one that bills the shipping row
/// pobridge writes (a free-text row on `shipping_nominal_code`) as a
/// shipping charge. Without it, an account with no rules would leave its
/// shipping off the invoice. An account rule for that code still wins.
pub(crate) fn row_rules(settings: &AccountSettings) -> Vec<RowRule> {
    let mut rules = settings.invoice_rows.clone();
    let shipping_code = settings
        .shipping_nominal_code
        .as_deref()
        .map(str::trim)
        .filter(|code| !code.is_empty());
    if let Some(code) = shipping_code {
        rules.push(RowRule {
            matcher: RowMatcher::NominalCode(code.to_owned()),
            class: RowClass::Shipping,
        });
    }
    rules
}

/// Returns true for the statuses in which Coupa has (or probably has) the
/// invoice.
pub fn is_accepted(status: InvoiceStatus) -> bool {
    matches!(
        status,
        InvoiceStatus::Sent | InvoiceStatus::ProbablyDelivered
    )
}

fn invoice_kind(tracked: &TrackedOrder) -> InvoiceKind {
    match tracked.kind {
        TrackedKind::Credit => InvoiceKind::Credit,
        _ => InvoiceKind::Invoice,
    }
}

/// Reads the buyer's invoicing settings, taking the buyer's own invoice
/// URL when the settings name none.
pub(crate) fn buyer_settings(buyer: &Buyer, reasons: &mut Vec<String>) -> BuyerInvoicing {
    let mut settings = match BuyerInvoicing::from_json(&buyer.invoicing) {
        Ok(settings) => settings,
        Err(error) => {
            reasons.push(format!(
                "the invoicing settings of buyer {} cannot be read ({error}): set them again",
                buyer.name
            ));
            BuyerInvoicing::default()
        }
    };
    let blank = |url: &Option<String>| url.as_deref().is_none_or(|url| url.trim().is_empty());
    if blank(&settings.invoice_url) {
        settings.invoice_url = buyer.invoice_url.clone();
    }
    settings
}

fn time_zone(account: &Account, reasons: &mut Vec<String>) -> Tz {
    let name = account.settings.time_zone.trim();
    name.parse().unwrap_or_else(|_| {
        reasons.push(format!(
            "time_zone {name:?} is not an IANA time zone name: set it to the Brightpearl \
             account's zone, such as Europe/London"
        ));
        Tz::UTC
    })
}

/// Returns the content of an invoice that could not be built: held, without a
/// document or lines (the caller adds those it can), with Brightpearl's
/// figures. Its date is the tax date's
/// day in the account's zone, as a built invoice's is, or `now` when the
/// order has none.
fn unbuilt_content(
    order: &Order,
    number: &str,
    sources: &Sources,
    now: DateTime<FixedOffset>,
) -> InvoiceContent {
    let issued = order
        .invoices
        .iter()
        .find(|invoice| invoice.invoice_reference.trim() == number);
    let invoice_date = issued
        .and_then(|invoice| invoice.tax_date)
        .map(|date| invoice_date(date, sources.zone))
        .unwrap_or(now);
    InvoiceContent {
        invoice_date,
        currency: order.currency_code.clone().unwrap_or_default(),
        brightpearl_total: order.total_value.total.unwrap_or_default(),
        sent_total: Decimal::ZERO,
        document: String::new(),
        status: InvoiceStatus::Held,
        reason: reason_for(&sources.reasons),
        lines: Vec::new(),
    }
}

/// Takes `invoice`'s own lines out of the PO's `invoiced` quantities, so
/// that rebuilding a stored invoice (as the invoice preview does after it
/// was sent) does not count it against itself. Invoices that do not count
/// as invoiced are not in the sums, so they are left as they are.
fn without_invoice(
    invoiced: Vec<(u32, Decimal, Decimal)>,
    invoice: &InvoiceRecord,
) -> Vec<(u32, Decimal, Decimal)> {
    if !invoice.status.counts_as_invoiced() {
        return invoiced;
    }
    let mut sums: BTreeMap<u32, (Decimal, Decimal)> = invoiced
        .into_iter()
        .map(|(line, net, credited)| (line, (net, credited)))
        .collect();
    for line in &invoice.lines {
        let (net, credited) = sums.entry(line.po_line_number).or_default();
        match invoice.kind {
            InvoiceKind::Invoice => *net -= line.quantity,
            InvoiceKind::Credit => {
                *net += line.quantity;
                *credited -= line.quantity;
            }
        }
    }
    sums.into_iter()
        .map(|(line, (net, credited))| (line, net, credited))
        .collect()
}

fn status_for(reasons: &[String]) -> InvoiceStatus {
    if reasons.is_empty() {
        InvoiceStatus::Pending
    } else {
        InvoiceStatus::Held
    }
}

fn reason_for(reasons: &[String]) -> Option<String> {
    (!reasons.is_empty()).then(|| reasons.join("; "))
}
