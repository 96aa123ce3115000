//! Invoices back to Coupa, end to end: every corpus PO that syncs, once
//! invoiced in the sandbox Brightpearl, reaches the sandbox Coupa after one
//! poll cycle as a DTD-valid invoice, to the cent. Charge and skipped rows,
//! back orders, both credit forms, a buyer without header charges, the
//! pre-flight hold and Coupa's failures are each covered too. The clock is
//! moved by hand and the worker run until idle. Nothing sleeps. Each test
//! runs on SQLite and on PostgreSQL.

use chrono::{Duration, TimeZone, Utc};
use pobridge_brightpearl::Order;
use pobridge_core::ManualClock;
use pobridge_e2e::invoicing::{
    add_order_row, brightpearl_order, check_valid_invoice, invoices_of, run_poll_cycle,
    set_invoicing, set_row_quantity, synced_order, BuyerCoupas,
};
use pobridge_e2e::{
    add_corpus_buyers, buyer_from_header, configure_defaults, map_corpus_parts, on_each_backend,
    ship_as_row, Backend, Options, TestApp, ACCOUNT,
};
use pobridge_engine::admin::{add_row_rule, AddRowRule};
use pobridge_engine::invoicing::{BuyerInvoicing, CreditForm};
use pobridge_sandbox::AcceptedInvoice;
use pobridge_store::{
    BuyerMode, InvoiceKind, InvoiceRecord, InvoiceStatus, PurchaseOrder, ReferenceKind,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;

/// The widgets PO of the e2e fixtures: 4 EA of WID-BLU-10 at 12.50 and
/// 1.5 HUR of SVC-INSTALL-HR at 80.00, with a header shipping charge of
/// 15.00.
const WIDGETS_PO: &str = include_str!("../fixtures/order-widgets.xml");
const WIDGETS_NUMBER: &str = "PO-1001";
/// Coupa's staging PO 3309: 1 × 8.10 and 9 × 9.29.
const STAGING_NUMBER: &str = "3309";

/// What a test needs besides the corpus POs.
#[derive(Clone, Copy)]
struct Setup {
    /// Also sync the widgets PO, whose shipping charge becomes a row.
    widgets: bool,
    /// Whether the buyers' Coupa accepts header charges and pobridge is set
    /// to send them.
    header_charges: bool,
}

const CORPUS_ONLY: Setup = Setup {
    widgets: false,
    header_charges: false,
};

/// pobridge with every PO synced and issued in its buyer's Coupa, complete
/// invoicing settings, and a first poll run, which links the order rows.
struct Flow {
    app: TestApp,
    clock: ManualClock,
    coupas: BuyerCoupas,
    /// The synced POs by number.
    pos: Vec<PurchaseOrder>,
}

async fn start(setup: Setup, backend: Backend) -> Flow {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let options = Options {
        clock: Some(clock.clone()),
        backend,
        ..Options::default()
    };
    let mut app = TestApp::start_with(options).await.expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    if setup.widgets {
        ship_as_row(&mut app).await.unwrap();
    }
    map_corpus_parts(&app).await.unwrap();
    let mut documents = add_corpus_buyers(&app, true).await.unwrap();
    if setup.widgets {
        add_widgets_buyer(&app).await;
        documents.push((
            "order-widgets.xml".to_owned(),
            WIDGETS_PO.as_bytes().to_vec(),
        ));
    }
    // All before the worker runs, so a revision of a PO replaces the one
    // before it instead of being held as a change to a synced order.
    for (name, body) in documents {
        let (status, answer) = app.post_cxml(body).await.unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
    }
    app.drain(20).await;

    let coupas = BuyerCoupas::start(&app, setup.header_charges)
        .await
        .unwrap();
    let pos = coupas
        .issue_synced_pos(&app, |settings| {
            settings.header_charges_allowed = setup.header_charges;
        })
        .await
        .unwrap();
    let expected = if setup.widgets { 7 } else { 6 };
    assert_eq!(pos.len(), expected, "every PO syncs");

    app.engine.schedule_invoicing(app.account.id).await.unwrap();
    app.drain(20).await;
    Flow {
        app,
        clock,
        coupas,
        pos,
    }
}

async fn add_widgets_buyer(app: &TestApp) {
    let envelope =
        pobridge_cxml::read_envelope(WIDGETS_PO.as_bytes(), &pobridge_cxml::Limits::default())
            .unwrap();
    let header = envelope.header.unwrap();
    let buyer = buyer_from_header(
        "widgets-buyer",
        &header,
        "widgets-s3cret",
        BuyerMode::Production,
    );
    app.buyer(buyer).await.unwrap();
}

impl Flow {
    /// Returns the one synced PO with this number.
    fn po(&self, number: &str) -> &PurchaseOrder {
        let matching: Vec<&PurchaseOrder> = self
            .pos
            .iter()
            .filter(|po| po.number.as_str() == number)
            .collect();
        assert_eq!(matching.len(), 1, "one synced PO is numbered {number}");
        matching[0]
    }

    fn order_id(&self, number: &str) -> u64 {
        self.po(number)
            .brightpearl_order_id
            .expect("a synced PO has an order") as u64
    }

    /// Invoices a Brightpearl order in the sandbox and returns its number.
    fn invoice(&self, order_id: u64) -> String {
        self.app
            .sandbox
            .invoice_order(&self.app.brightpearl_code, order_id)
            .unwrap()
    }

    async fn poll_cycle(&self) {
        run_poll_cycle(&self.app, &self.clock).await;
    }

    /// Runs the worker after moving the clock by `minutes`, for retries.
    async fn later(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
        self.app.drain(100).await;
    }

    async fn invoices(&self, number: &str) -> Vec<InvoiceRecord> {
        invoices_of(&self.app, self.po(number)).await.unwrap()
    }

    async fn only_invoice(&self, number: &str) -> InvoiceRecord {
        let mut all = self.invoices(number).await;
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    fn coupa_of(&self, number: &str) -> &pobridge_sandbox::CoupaSandbox {
        self.coupas.of(self.po(number).buyer_id)
    }

    fn accepted_for(&self, number: &str) -> Vec<AcceptedInvoice> {
        self.coupas
            .accepted_invoices()
            .into_iter()
            .filter(|invoice| invoice.po_number == number)
            .collect()
    }

    /// Returns the Brightpearl row id of the PO line `line` on `order_id`,
    /// from the links the first poll stored.
    async fn row_of_line(&self, number: &str, order_id: u64, line: u32) -> u64 {
        let links = self
            .app
            .store()
            .row_links(self.app.account.id, self.po(number).id)
            .await
            .unwrap();
        let link = links
            .iter()
            .find(|link| link.brightpearl_order_id == order_id as i64 && link.line_number == line)
            .unwrap_or_else(|| panic!("line {line} of order {order_id} is linked: {links:?}"));
        link.row_id as u64
    }

    async fn set_buyer_settings(&self, number: &str, edit: impl FnOnce(&mut BuyerInvoicing)) {
        let buyer = self.po(number).buyer_id;
        let stored = self
            .app
            .store()
            .buyer(self.app.account.id, buyer)
            .await
            .unwrap();
        let mut settings = BuyerInvoicing::from_json(&stored.invoicing).unwrap();
        edit(&mut settings);
        set_invoicing(&self.app, buyer, &settings).await.unwrap();
    }
}

fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn total_of(order: &Order) -> Decimal {
    order
        .total_value
        .total
        .expect("Brightpearl orders have a total")
}

/// Sums the net and tax of the order's rows that `keep` selects.
fn rows_total(order: &Order, keep: impl Fn(&pobridge_brightpearl::OrderRow) -> bool) -> Decimal {
    order
        .rows
        .iter()
        .filter(|row| keep(row))
        .map(|row| row.net + row.tax)
        .sum()
}

/// Returns the value of the first `name="..."` attribute in a document.
fn attribute<'a>(document: &'a str, name: &str) -> Option<&'a str> {
    let start = document.find(&format!(" {name}=\""))? + name.len() + 3;
    let length = document[start..].find('"')?;
    Some(&document[start..start + length])
}

/// Returns the amount of the first `<Money>` inside `<ELEMENT>` of a
/// document, when the element is present.
fn money_in(document: &str, element: &str) -> Option<Decimal> {
    let start = document.find(&format!("<{element}>"))?;
    let rest = &document[start..];
    let money = rest.find("<Money")?;
    let value_start = money + rest[money..].find('>')? + 1;
    let value_end = value_start + rest[value_start..].find('<')?;
    rest[value_start..value_end].trim().parse().ok()
}

/// Checks one accepted invoice against its PO: each line at the PO line's
/// part, unit and price with its subtotal to the cent, and the document
/// valid against the DTD it names.
async fn assert_bills_po(flow: &Flow, accepted: &AcceptedInvoice, po: &PurchaseOrder) {
    let order = synced_order(&flow.app, po).await.unwrap();
    check_valid_invoice(&accepted.raw).unwrap_or_else(|error| panic!("PO {}: {error}", po.number));
    for line in &accepted.lines {
        let number = line
            .po_line_number
            .expect("every line references a PO line");
        let item = order
            .items
            .iter()
            .find(|item| item.line_label() == number)
            .unwrap_or_else(|| panic!("PO {} has line {number}", po.number));
        let detail = item.detail.as_ref().unwrap();
        let quantity = line.quantity.expect("a line has a quantity").abs();
        assert_eq!(
            line.supplier_part_id.as_deref(),
            Some(item.item_id.supplier_part_id.as_str())
        );
        assert_eq!(
            line.unit_of_measure.as_deref(),
            Some(detail.unit_of_measure.as_str())
        );
        assert_eq!(
            line.unit_price,
            Some(detail.unit_price.amount),
            "PO {} line {number}",
            po.number
        );
        assert_eq!(
            line.subtotal.map(|subtotal| subtotal.abs()),
            Some(cents(quantity * detail.unit_price.amount)),
            "PO {} line {number}",
            po.number
        );
    }
}

on_each_backend!(
    every_synced_po_invoiced_once,
    charge_rows_and_skip_list_follow_rules,
    refused_header_charges_left_out,
    shipping_row_is_a_charge_without_rules,
    back_order_and_rest_add_up_to_po,
    credit_as_negative_quantities,
    credit_memo_names_original_invoice,
    over_invoiced_order_held_unsent,
    coupa_5xx_then_ok_sends_once,
    dropped_connection_after_accept_sends_once,
    wrong_secret_fails_with_advice,
);

async fn every_synced_po_invoiced_once(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    let order_ids: Vec<u64> = flow
        .pos
        .iter()
        .map(|po| po.brightpearl_order_id.expect("a synced PO has an order") as u64)
        .collect();
    let numbers: Vec<String> = order_ids.iter().map(|id| flow.invoice(*id)).collect();
    flow.poll_cycle().await;

    let received = flow.coupas.received();
    assert_eq!(received.len(), flow.pos.len(), "one post per PO");
    for ((po, order_id), number) in flow.pos.iter().zip(&order_ids).zip(&numbers) {
        let accepted = accepted_number(&flow, number);
        assert_eq!(accepted.po_number, po.number.as_str());
        assert_eq!(accepted.purpose, "standard");
        assert_bills_po(&flow, &accepted, po).await;

        let order = synced_order(&flow.app, po).await.unwrap();
        let billed: Vec<(Option<u32>, Option<Decimal>)> = accepted
            .lines
            .iter()
            .map(|line| (line.po_line_number, line.quantity))
            .collect();
        let ordered: Vec<(Option<u32>, Option<Decimal>)> = order
            .items
            .iter()
            .map(|item| (Some(item.line_label()), Some(item.quantity)))
            .collect();
        assert_eq!(billed, ordered, "PO {} is billed in full", po.number);
        let subtotal: Decimal = order
            .items
            .iter()
            .map(|item| cents(item.quantity * item.detail.as_ref().unwrap().unit_price.amount))
            .sum();
        let lines: Decimal = accepted.lines.iter().filter_map(|line| line.subtotal).sum();
        assert_eq!(lines, subtotal, "PO {}", po.number);

        let brightpearl = brightpearl_order(&flow.app, *order_id).await.unwrap();
        assert_eq!(accepted.total, total_of(&brightpearl), "PO {}", po.number);
        assert_eq!(
            Some(accepted.currency.as_str()),
            brightpearl.currency_code.as_deref()
        );

        let stored = invoices_of(&flow.app, po).await.unwrap();
        assert_eq!(stored.len(), 1, "PO {}: {stored:#?}", po.number);
        assert_eq!(stored[0].status, InvoiceStatus::Sent, "PO {}", po.number);
        assert_eq!(&stored[0].invoice_number, number);
        assert_eq!(stored[0].sent_total, accepted.total);
        assert_eq!(stored[0].brightpearl_total, total_of(&brightpearl));
    }

    let sent = &received[0].raw;
    let broken = sent.replace("<InvoiceDetailHeaderIndicator/>", "");
    assert_ne!(&broken, sent);
    assert!(
        check_valid_invoice(&broken).is_err(),
        "the DTD check rejects a document without a required element"
    );
}

/// Adds the rule `matcher value -> class`, as `pobridge rows acme add` does.
async fn add_rule(app: &TestApp, matcher: &str, value: &str, class: &str) {
    let request = AddRowRule {
        matcher: matcher.to_owned(),
        value: value.to_owned(),
        class: class.to_owned(),
        position: None,
    };
    add_row_rule(&app.engine, ACCOUNT, &request).await.unwrap();
}

/// Returns the account's first `count` nominal codes.
async fn nominal_codes(app: &TestApp, count: usize) -> Vec<String> {
    let codes = app
        .store()
        .reference_data(app.account.id, ReferenceKind::NominalCodes)
        .await
        .unwrap()
        .unwrap();
    codes.data.as_array().unwrap()[..count]
        .iter()
        .map(|code| code["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Adds a 12.00 handling row and a 2.00 packaging product to the widgets
/// order, with rules that make the shipping row and the handling row
/// charges and skip the packaging. Returns the packaging's product id.
async fn add_charges_and_packaging(flow: &Flow) -> u64 {
    let app = &flow.app;
    let codes = nominal_codes(app, 2).await;
    let (shipping_code, handling_code) = (&codes[0], &codes[1]);
    let order_id = flow.order_id(WIDGETS_NUMBER);
    let sold = brightpearl_order(app, order_id).await.unwrap();
    let packaging = app
        .store()
        .list_products(app.account.id, 1000, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|product| {
            sold.rows
                .iter()
                .all(|row| row.product_id != Some(product.product_id))
        })
        .expect("the sandbox has a product not on the order");

    add_order_row(
        app,
        order_id,
        json!({
            "productName": "Handling",
            "quantity": { "magnitude": "1" },
            "rowValue": { "taxCode": "Z", "rowNet": { "value": "12.00" }, "rowTax": { "value": "0.00" } },
            "nominalCode": handling_code,
        }),
    )
    .await
    .unwrap();
    add_order_row(
        app,
        order_id,
        json!({
            "productId": packaging.product_id,
            "quantity": { "magnitude": "1" },
            "rowValue": { "taxCode": "Z", "rowNet": { "value": "2.00" }, "rowTax": { "value": "0.00" } },
        }),
    )
    .await
    .unwrap();
    add_rule(app, "nominal", shipping_code, "shipping").await;
    add_rule(app, "nominal", handling_code, "special-handling").await;
    add_rule(app, "product", &packaging.product_id.to_string(), "skip").await;
    packaging.product_id as u64
}

async fn charge_rows_and_skip_list_follow_rules(backend: Backend) {
    let flow = start(
        Setup {
            widgets: true,
            header_charges: true,
        },
        backend,
    )
    .await;
    let packaging = add_charges_and_packaging(&flow).await;
    let order_id = flow.order_id(WIDGETS_NUMBER);
    let number = flow.invoice(order_id);
    flow.poll_cycle().await;

    let accepted = flow.accepted_for(WIDGETS_NUMBER);
    assert_eq!(accepted.len(), 1, "{:#?}", flow.coupas.received());
    let accepted = &accepted[0];
    assert_eq!(accepted.invoice_id, number);
    assert_bills_po(&flow, accepted, flow.po(WIDGETS_NUMBER)).await;
    let parts: Vec<Option<&str>> = accepted
        .lines
        .iter()
        .map(|line| line.supplier_part_id.as_deref())
        .collect();
    assert_eq!(parts, [Some("WID-BLU-10"), Some("SVC-INSTALL-HR")]);
    assert_eq!(
        money_in(&accepted.raw, "ShippingAmount"),
        Some(Decimal::new(1500, 2))
    );
    assert_eq!(
        money_in(&accepted.raw, "SpecialHandlingAmount"),
        Some(Decimal::new(1200, 2))
    );

    let order = brightpearl_order(&flow.app, order_id).await.unwrap();
    let without_packaging = rows_total(&order, |row| row.product_id != Some(packaging as i64));
    assert_eq!(
        accepted.total, without_packaging,
        "everything but the skipped row"
    );
    assert_eq!(total_of(&order) - without_packaging, Decimal::new(200, 2));
    assert_eq!(
        flow.only_invoice(WIDGETS_NUMBER).await.status,
        InvoiceStatus::Sent
    );
}

async fn refused_header_charges_left_out(backend: Backend) {
    let flow = start(
        Setup {
            widgets: true,
            header_charges: false,
        },
        backend,
    )
    .await;
    let codes = nominal_codes(&flow.app, 1).await;
    add_rule(&flow.app, "nominal", &codes[0], "shipping").await;
    let order_id = flow.order_id(WIDGETS_NUMBER);
    let number = flow.invoice(order_id);
    flow.poll_cycle().await;

    let accepted = flow.accepted_for(WIDGETS_NUMBER);
    assert_eq!(accepted.len(), 1, "{:#?}", flow.coupas.received());
    let accepted = &accepted[0];
    assert_eq!(accepted.invoice_id, number);
    assert_eq!(money_in(&accepted.raw, "ShippingAmount"), None);
    assert_bills_po(&flow, accepted, flow.po(WIDGETS_NUMBER)).await;

    let order = brightpearl_order(&flow.app, order_id).await.unwrap();
    let shipping = rows_total(&order, |row| {
        row.nominal_code.as_deref() == Some(codes[0].as_str())
    });
    assert_eq!(
        shipping,
        Decimal::new(1500, 2),
        "the shipping row is zero-rated"
    );
    assert_eq!(accepted.total, total_of(&order) - shipping);
    let stored = flow.only_invoice(WIDGETS_NUMBER).await;
    assert_eq!(stored.status, InvoiceStatus::Sent);
    assert_eq!(stored.sent_total, accepted.total);
}

/// With no row rules at all, the shipping row pobridge wrote from the PO's
/// header shipping goes to the summary as shipping, so the invoice bills
/// everything Brightpearl did.
async fn shipping_row_is_a_charge_without_rules(backend: Backend) {
    let flow = start(
        Setup {
            widgets: true,
            header_charges: true,
        },
        backend,
    )
    .await;
    let order_id = flow.order_id(WIDGETS_NUMBER);
    let number = flow.invoice(order_id);
    flow.poll_cycle().await;

    let accepted = flow.accepted_for(WIDGETS_NUMBER);
    assert_eq!(accepted.len(), 1, "{:#?}", flow.coupas.received());
    let accepted = &accepted[0];
    assert_eq!(accepted.invoice_id, number);
    assert_eq!(
        money_in(&accepted.raw, "ShippingAmount"),
        Some(Decimal::new(1500, 2))
    );
    let order = brightpearl_order(&flow.app, order_id).await.unwrap();
    assert_eq!(accepted.total, total_of(&order));
    let stored = flow.only_invoice(WIDGETS_NUMBER).await;
    assert_eq!(stored.sent_total, stored.brightpearl_total);
}

async fn back_order_and_rest_add_up_to_po(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    let order_id = flow.order_id(STAGING_NUMBER);
    let full_total = total_of(&brightpearl_order(&flow.app, order_id).await.unwrap());
    let row = flow.row_of_line(STAGING_NUMBER, order_id, 2).await;
    let back_order = flow
        .app
        .sandbox
        .split_back_order(
            &flow.app.brightpearl_code,
            order_id,
            &[(row, Decimal::from(4))],
        )
        .unwrap();
    let first = flow.invoice(order_id);
    flow.poll_cycle().await;
    let second = flow.invoice(back_order);
    flow.poll_cycle().await;

    let accepted = flow.accepted_for(STAGING_NUMBER);
    assert_eq!(accepted.len(), 2, "{:#?}", flow.coupas.received());
    assert_eq!(accepted[0].invoice_id, first);
    assert_eq!(accepted[1].invoice_id, second);
    assert_ne!(first, second);
    let mut billed = std::collections::BTreeMap::<u32, Decimal>::new();
    for invoice in &accepted {
        assert_bills_po(&flow, invoice, flow.po(STAGING_NUMBER)).await;
        for line in &invoice.lines {
            *billed.entry(line.po_line_number.unwrap()).or_default() += line.quantity.unwrap();
        }
    }
    let po = synced_order(&flow.app, flow.po(STAGING_NUMBER))
        .await
        .unwrap();
    let ordered: std::collections::BTreeMap<u32, Decimal> = po
        .items
        .iter()
        .map(|item| (item.line_label(), item.quantity))
        .collect();
    assert_eq!(billed, ordered, "the two invoices bill the PO exactly");

    let rest = total_of(&brightpearl_order(&flow.app, order_id).await.unwrap());
    let split = total_of(&brightpearl_order(&flow.app, back_order).await.unwrap());
    assert_eq!(accepted[0].total, rest);
    assert_eq!(accepted[1].total, split);
    assert_eq!(rest + split, full_total);
    let stored = flow.invoices(STAGING_NUMBER).await;
    let statuses: Vec<InvoiceStatus> = stored.iter().map(|invoice| invoice.status).collect();
    assert_eq!(statuses, [InvoiceStatus::Sent, InvoiceStatus::Sent]);
}

/// Invoices PO 3309's order, sends it, then raises and invoices a credit
/// of two units of line 2. Returns the invoice and credit numbers, and the
/// credit's Brightpearl order.
async fn invoice_then_credit(flow: &Flow) -> (String, String, Order) {
    let order_id = flow.order_id(STAGING_NUMBER);
    let invoice_number = flow.invoice(order_id);
    flow.poll_cycle().await;
    assert_eq!(
        flow.only_invoice(STAGING_NUMBER).await.status,
        InvoiceStatus::Sent
    );

    let row = flow.row_of_line(STAGING_NUMBER, order_id, 2).await;
    let credit_id = flow
        .app
        .sandbox
        .raise_sales_credit(
            &flow.app.brightpearl_code,
            order_id,
            &[(row, Decimal::from(2))],
        )
        .unwrap();
    let credit_number = flow.invoice(credit_id);
    flow.poll_cycle().await;
    let credit = brightpearl_order(&flow.app, credit_id).await.unwrap();
    (invoice_number, credit_number, credit)
}

/// Returns the one accepted document with `number`.
fn accepted_number(flow: &Flow, number: &str) -> AcceptedInvoice {
    let mut found: Vec<AcceptedInvoice> = flow
        .coupas
        .accepted_invoices()
        .into_iter()
        .filter(|invoice| invoice.invoice_id == number)
        .collect();
    assert_eq!(found.len(), 1, "{:#?}", flow.coupas.received());
    found.remove(0)
}

async fn credit_as_negative_quantities(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    let (_, credit_number, credit) = invoice_then_credit(&flow).await;

    let accepted = accepted_number(&flow, &credit_number);
    assert_eq!(accepted.purpose, "standard");
    assert_eq!(accepted.original_invoice_id, None);
    assert_bills_po(&flow, &accepted, flow.po(STAGING_NUMBER)).await;
    assert_eq!(accepted.lines.len(), 1);
    assert_eq!(accepted.lines[0].po_line_number, Some(2));
    assert_eq!(accepted.lines[0].quantity, Some(Decimal::from(-2)));
    assert_eq!(accepted.lines[0].unit_price, Some(Decimal::new(929, 2)));
    assert_eq!(accepted.lines[0].subtotal, Some(Decimal::new(-1858, 2)));
    assert_eq!(accepted.total, -total_of(&credit));

    let stored = flow.invoices(STAGING_NUMBER).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].kind, InvoiceKind::Credit);
    assert_eq!(stored[1].status, InvoiceStatus::Sent);
    assert_eq!(stored[1].sent_total, accepted.total);
}

async fn credit_memo_names_original_invoice(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    flow.set_buyer_settings(STAGING_NUMBER, |settings| {
        settings.credit_form = CreditForm::CreditMemo;
    })
    .await;
    let (invoice_number, credit_number, credit) = invoice_then_credit(&flow).await;

    let accepted = accepted_number(&flow, &credit_number);
    assert_eq!(accepted.purpose, "creditMemo");
    assert_eq!(
        accepted.original_invoice_id.as_deref(),
        Some(invoice_number.as_str())
    );
    assert_bills_po(&flow, &accepted, flow.po(STAGING_NUMBER)).await;
    assert_eq!(accepted.lines.len(), 1);
    assert_eq!(accepted.lines[0].quantity, Some(Decimal::from(2)));
    assert_eq!(accepted.lines[0].subtotal, Some(Decimal::new(1858, 2)));
    assert_eq!(accepted.total, total_of(&credit));
    let stored = flow.invoices(STAGING_NUMBER).await;
    assert_eq!(stored[1].status, InvoiceStatus::Sent);
}

async fn over_invoiced_order_held_unsent(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    let order_id = flow.order_id(STAGING_NUMBER);
    let row = flow.row_of_line(STAGING_NUMBER, order_id, 2).await;
    set_row_quantity(&flow.app, order_id, row, Decimal::from(10))
        .await
        .unwrap();
    let number = flow.invoice(order_id);
    flow.poll_cycle().await;
    flow.poll_cycle().await;

    let held = flow.only_invoice(STAGING_NUMBER).await;
    assert_eq!(held.invoice_number, number);
    assert_eq!(held.status, InvoiceStatus::Held);
    let reason = held.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("PO line 2 would be invoiced 10 of the 9 ordered"),
        "{reason}"
    );
    assert!(flow.coupas.received().is_empty(), "nothing is posted");
}

async fn coupa_5xx_then_ok_sends_once(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    flow.coupa_of(STAGING_NUMBER).fail_next_n_with(503, 1);
    let order_id = flow.order_id(STAGING_NUMBER);
    let number = flow.invoice(order_id);
    flow.poll_cycle().await;
    let waiting = flow.only_invoice(STAGING_NUMBER).await;
    assert_eq!(waiting.status, InvoiceStatus::Pending);
    assert_eq!(waiting.coupa_status, Some(503));
    flow.later(5).await;

    let received = flow.coupas.received();
    let statuses: Vec<u16> = received.iter().map(|document| document.status).collect();
    assert_eq!(statuses, [503, 200]);
    for document in &received {
        assert_eq!(attribute(&document.raw, "invoiceID"), Some(number.as_str()));
    }
    let accepted = accepted_number(&flow, &number);
    let order = brightpearl_order(&flow.app, order_id).await.unwrap();
    assert_eq!(accepted.total, total_of(&order));
    let sent = flow.only_invoice(STAGING_NUMBER).await;
    assert_eq!(sent.status, InvoiceStatus::Sent);
    assert_eq!(sent.invoice_number, number);
}

async fn dropped_connection_after_accept_sends_once(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    flow.coupa_of(STAGING_NUMBER)
        .drop_connection_after_accept_next_n(1);
    let order_id = flow.order_id(STAGING_NUMBER);
    let number = flow.invoice(order_id);
    flow.poll_cycle().await;
    assert!(flow.only_invoice(STAGING_NUMBER).await.outcome_unknown);
    for _ in 0..3 {
        flow.later(5).await;
    }

    let received = flow.coupas.received();
    assert!(received[0].connection_dropped);
    for document in &received {
        assert_eq!(attribute(&document.raw, "invoiceID"), Some(number.as_str()));
    }
    let accepted = accepted_number(&flow, &number);
    let order = brightpearl_order(&flow.app, order_id).await.unwrap();
    assert_eq!(accepted.total, total_of(&order));
    let settled = flow.only_invoice(STAGING_NUMBER).await;
    assert_eq!(settled.invoice_number, number);
    assert!(
        matches!(
            settled.status,
            InvoiceStatus::Sent | InvoiceStatus::ProbablyDelivered
        ),
        "{settled:#?}"
    );
}

async fn wrong_secret_fails_with_advice(backend: Backend) {
    let flow = start(CORPUS_ONLY, backend).await;
    flow.set_buyer_settings(STAGING_NUMBER, |settings| {
        settings.shared_secret = Some("not-the-secret".to_owned());
    })
    .await;
    let number = flow.invoice(flow.order_id(STAGING_NUMBER));
    flow.poll_cycle().await;
    for _ in 0..3 {
        flow.later(30).await;
    }

    let failed = flow.only_invoice(STAGING_NUMBER).await;
    assert_eq!(failed.invoice_number, number);
    assert_eq!(failed.status, InvoiceStatus::Failed);
    assert_eq!(failed.coupa_status, Some(401));
    let reason = failed.reason.clone().unwrap_or_default();
    assert!(reason.contains("Invalid credentials"), "{reason}");
    assert!(reason.contains("shared secret"), "{reason}");
    assert_eq!(flow.coupas.received().len(), 1, "a 4xx is not retried");
    assert!(flow.coupas.accepted_invoices().is_empty());
}
