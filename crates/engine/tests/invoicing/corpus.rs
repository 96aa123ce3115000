//! The invoice and the credits pobridge would send for every corpus
//! purchase order that syncs. Each is built from the sales order that
//! `sales_order::plan` makes for the PO, as Order GET returns it once
//! invoiced, on an account whose SKUs equal the buyer's SupplierPartIDs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use pobridge_brightpearl::{Invoice, Order, OrderRow, OrderTotal, StatusRef};
use pobridge_core::{AccountSettings, ShippingTreatment};
use pobridge_cxml::{read_envelope, write_invoice, Body, Limits, OrderRequest};
use pobridge_engine::invoicing::{
    BuiltInvoice, BuyerCredentials, CreditForm, RowClass, RowMatcher, RowRule, TaxMapping,
};
use pobridge_engine::sales_order::{plan, PlanInput, PlannedOrder, ResolvedLine};
use pobridge_store::{CredentialRef, InvoiceKind, RowLink};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::support::{assert_valid_against, settings, time, Case};

const CORPUS_ORDERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/cxml/order"
);
/// Every InvoiceDetail DTD version the corpus holds, oldest first.
const DTD_VERSIONS: [&str; 4] = ["1.2.020", "1.2.028", "1.2.037", "1.2.069"];
/// The nominal code of the shipping row, which a row rule makes the
/// summary's shipping charge.
const SHIPPING_NOMINAL: &str = "4040";
const SALES_ORDER_ID: i64 = 5001;
const CREDIT_ID: i64 = 5002;
const FIRST_ROW_ID: i64 = 9001;
const PRODUCT_ID: i64 = 1001;

/// One corpus OrderRequest that passes pobridge's checks and plans.
struct CorpusPo {
    /// The file name without `.xml`.
    name: String,
    po: OrderRequest,
    credentials: BuyerCredentials,
}

/// Reads every corpus OrderRequest that the order endpoint accepts and the
/// sales-order plan turns into rows, sorted by file name.
fn syncing_pos() -> Vec<CorpusPo> {
    let mut files: Vec<_> = std::fs::read_dir(CORPUS_ORDERS)
        .unwrap_or_else(|error| panic!("{CORPUS_ORDERS}: {error}"))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let pos: Vec<CorpusPo> = files.iter().filter_map(|path| read_po(path)).collect();
    assert!(!pos.is_empty(), "no corpus OrderRequest syncs");
    pos
}

fn read_po(path: &Path) -> Option<CorpusPo> {
    let bytes = std::fs::read(path).unwrap();
    let envelope = read_envelope(&bytes, &Limits::default()).ok()?;
    let Body::OrderRequest { order, .. } = envelope.body else {
        return None;
    };
    pobridge_engine::validate::check_order(&order).ok()?;
    planned(&order).ok()?;
    let header = envelope.header?;
    let first = |list: &[pobridge_cxml::Credential]| {
        list.first().map(|credential| CredentialRef {
            domain: credential.domain.clone(),
            identity: credential.identity.clone(),
        })
    };
    let credentials = BuyerCredentials {
        from: first(&header.from)?,
        to: first(&header.to)?,
        sender: first(&header.sender)?,
    };
    let name = path.file_stem()?.to_string_lossy().into_owned();
    Some(CorpusPo {
        name,
        po: order,
        credentials,
    })
}

/// Plans the sales order as a sync does with every line mapped to one
/// product, the zero-rated tax code `Z` and shipping as a row.
fn planned(po: &OrderRequest) -> Result<PlannedOrder, pobridge_engine::sales_order::PlanError> {
    let lines: Vec<ResolvedLine> = po
        .items
        .iter()
        .map(|item| ResolvedLine {
            line_number: pobridge_engine::products::line_number(item),
            product_id: PRODUCT_ID,
            quantity_factor: Decimal::ONE,
            tax_code: None,
        })
        .collect();
    let settings = AccountSettings {
        default_tax_code: Some("Z".to_owned()),
        shipping: ShippingTreatment::Row,
        shipping_nominal_code: Some(SHIPPING_NOMINAL.to_owned()),
        ..AccountSettings::default()
    };
    let tax_rates = HashMap::from([("Z".to_owned(), Decimal::ZERO)]);
    plan(&PlanInput {
        order: po,
        customer_id: 200,
        external_ref: format!("pobridge-1-{}", po.header.order_id),
        lines: &lines,
        settings: &settings,
        tax_rates: &tax_rates,
    })
}

/// Returns the SKU of a planned row's product, which is the PO line's
/// SupplierPartID on this account.
fn sku_of(po: &OrderRequest, line: u32) -> Option<String> {
    po.items
        .iter()
        .find(|item| item.line_label() == line)
        .map(|item| item.item_id.supplier_part_id.trim().to_owned())
}

/// Returns the planned order as Order GET returns it after invoicing, with
/// the row links a sync records from the rows' `externalRef`.
fn invoiced_order(po: &OrderRequest) -> (Order, Vec<RowLink>) {
    let planned = planned(po).unwrap();
    let mut rows = Vec::new();
    let mut links = Vec::new();
    for (index, row) in planned.rows.iter().enumerate() {
        let id = FIRST_ROW_ID + index as i64;
        let line: Option<u32> = row.external_ref.parse().ok();
        if let Some(line) = line {
            links.push(RowLink {
                brightpearl_order_id: SALES_ORDER_ID,
                row_id: id,
                line_number: line,
            });
        }
        rows.push(OrderRow {
            id,
            sequence: Some(i64::from(row.sequence)),
            product_id: row.product_id,
            sku: line.and_then(|line| sku_of(po, line)),
            name: Some(row.name.clone()),
            quantity: row.quantity,
            net: row.net,
            tax: row.tax,
            tax_code: Some(row.tax_code.clone()),
            tax_rate: Some(Decimal::ZERO),
            nominal_code: row.nominal_code.clone(),
            external_ref: Some(row.external_ref.clone()),
            bundle_parent: false,
            bundle_child: false,
            parent_row_id: None,
            cloned_from_id: None,
        });
    }
    let order = sales_order(&planned, rows, "SI-1001", time("2026-03-10T00:00:00+00:00"));
    (order, links)
}

fn sales_order(
    planned: &PlannedOrder,
    rows: Vec<OrderRow>,
    invoice_reference: &str,
    tax_date: DateTime<FixedOffset>,
) -> Order {
    let total = rows.iter().map(|row| row.net + row.tax).sum();
    Order {
        id: SALES_ORDER_ID,
        parent_order_id: None,
        order_type_code: Some("SO".to_owned()),
        reference: Some(planned.reference.clone()),
        version: Some(2),
        status: StatusRef::default(),
        state_tax: Some("INVOICED".to_owned()),
        invoices: vec![Invoice {
            invoice_reference: invoice_reference.to_owned(),
            tax_date: Some(tax_date),
            due_date: None,
        }],
        placed_on: None,
        created_on: None,
        updated_on: None,
        closed_on: None,
        currency_code: Some(planned.currency.clone()),
        total_value: OrderTotal {
            net: None,
            tax: None,
            total: Some(total),
        },
        shipping_status_code: None,
        delivery_address: None,
        rows,
        custom_fields: Default::default(),
        raw: serde_json::Value::Null,
    }
}

/// Returns a sales credit for every row of the invoiced order, each row
/// cloned from the row it credits, as Brightpearl raises one.
fn credit_of(order: &Order) -> Order {
    let rows = order
        .rows
        .iter()
        .enumerate()
        .map(|(index, row)| OrderRow {
            id: FIRST_ROW_ID + 100 + index as i64,
            cloned_from_id: Some(row.id),
            external_ref: None,
            ..row.clone()
        })
        .collect();
    Order {
        id: CREDIT_ID,
        parent_order_id: Some(order.id),
        order_type_code: Some("SC".to_owned()),
        invoices: vec![Invoice {
            invoice_reference: "SC-3001".to_owned(),
            tax_date: Some(time("2026-03-12T00:00:00+00:00")),
            due_date: None,
        }],
        rows,
        ..order.clone()
    }
}

/// An invoice of the corpus PO with the fixture buyer's settings, the
/// zero-rated tax code mapped and the shipping row classified by rule.
fn invoice_case(entry: &CorpusPo) -> Case {
    let (order, links) = invoiced_order(&entry.po);
    let mut buyer = settings();
    buyer.tax_map.insert(
        "Z".to_owned(),
        TaxMapping {
            category: "sales".to_owned(),
            rate: Decimal::ZERO,
        },
    );
    Case {
        order,
        po: entry.po.clone(),
        links,
        quantity_factors: BTreeMap::new(),
        settings: buyer,
        credentials: entry.credentials.clone(),
        rules: vec![RowRule {
            matcher: RowMatcher::NominalCode(SHIPPING_NOMINAL.to_owned()),
            class: RowClass::Shipping,
        }],
        kind: InvoiceKind::Invoice,
        original_invoice: None,
        time_zone: chrono_tz::UTC,
    }
}

/// Builds and writes the case's document, checking that it is valid
/// against the DTD its DOCTYPE names.
fn write_valid(case: &Case, name: &str) -> (BuiltInvoice, String) {
    let built = case
        .build()
        .unwrap_or_else(|errors| panic!("{name}: {errors:#?}"));
    let xml = write_invoice(&built.document).unwrap_or_else(|error| panic!("{name}: {error}"));
    let version = doctype_version(&xml).unwrap_or_else(|| panic!("{name}: no DOCTYPE\n{xml}"));
    assert_eq!(version, case.settings.dtd_version, "{name}");
    assert_valid_against(&xml, version);
    (built, xml)
}

/// Reads the version out of `.../schemas/cXML/1.2.020/InvoiceDetail.dtd`.
fn doctype_version(xml: &str) -> Option<&str> {
    let doctype = &xml[xml.find("<!DOCTYPE")?..];
    let after = &doctype[doctype.find("/cXML/")? + "/cXML/".len()..];
    Some(&after[..after.find('/')?])
}

/// Returns the PO's quantity per line number.
fn po_quantities(po: &OrderRequest) -> Vec<(u32, Decimal)> {
    po.items
        .iter()
        .map(|item| (item.line_label(), item.quantity))
        .collect()
}

/// Returns the PO lines' subtotals plus its shipping charge, each rounded
/// to cents as the sales order's rows are.
fn po_total(po: &OrderRequest) -> Decimal {
    let lines: Decimal = po
        .items
        .iter()
        .filter_map(|item| {
            let detail = item.detail.as_ref()?;
            Some(cents(item.quantity * detail.unit_price.amount))
        })
        .sum();
    let shipping = po
        .header
        .shipping
        .as_ref()
        .map_or(Decimal::ZERO, |charge| cents(charge.money.amount));
    lines + shipping
}

fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[test]
fn corpus_invoices_valid_for_every_dtd() {
    for entry in syncing_pos() {
        for version in DTD_VERSIONS {
            let mut case = invoice_case(&entry);
            case.settings.dtd_version = version.to_owned();
            let name = format!("{} as {version}", entry.name);
            write_valid(&case, &name);
        }
    }
}

#[test]
fn corpus_invoices_bill_every_po_line() {
    for entry in syncing_pos() {
        let (built, _) = write_valid(&invoice_case(&entry), &entry.name);
        let invoice = &built.document.invoice;
        let billed: Vec<(u32, Decimal)> = invoice
            .lines
            .iter()
            .map(|line| (line.po_line_number, line.quantity))
            .collect();

        assert_eq!(billed, po_quantities(&entry.po), "{}", entry.name);
        assert_eq!(invoice.invoice_id, "SI-1001", "{}", entry.name);
        assert_eq!(invoice.order.order_id, entry.po.header.order_id);
        assert_eq!(built.sent_total, po_total(&entry.po), "{}", entry.name);
        assert_eq!(built.sent_total, built.brightpearl_total, "{}", entry.name);
    }
}

#[test]
fn corpus_invoices_match_snapshots() {
    for entry in syncing_pos() {
        let (_, xml) = write_valid(&invoice_case(&entry), &entry.name);
        insta::assert_snapshot!(format!("corpus_invoice__{}", entry.name), xml);
    }
}

#[test]
fn corpus_credits_valid_in_both_forms() {
    for entry in syncing_pos() {
        let mut case = invoice_case(&entry);
        case.order = credit_of(&case.order);
        case.kind = InvoiceKind::Credit;
        let (negative, _) = write_valid(&case, &format!("{} negative", entry.name));

        case.settings.credit_form = CreditForm::CreditMemo;
        case.original_invoice = Some(("SI-1001".to_owned(), time("2026-03-10T00:00:00+00:00")));
        let (memo, _) = write_valid(&case, &format!("{} credit memo", entry.name));

        let total = po_total(&entry.po);
        assert_eq!(negative.sent_total, -total, "{}", entry.name);
        assert_eq!(memo.sent_total, total, "{}", entry.name);
        assert!(
            negative
                .document
                .invoice
                .lines
                .iter()
                .all(|line| line.quantity < Decimal::ZERO && line.unit_price >= Decimal::ZERO),
            "{}: a negative credit has negative quantities and prices of zero or more",
            entry.name
        );
    }
}
