//! `pobridge export`, run as the built binary against a seeded database
//! with two accounts.

use crate::common;
use crate::invoice_seed;

use common::seed::{Seed, SECRET};
use common::{assert_one_line_error, Cli};
use pobridge_core::{AccountId, BuyerId};
use pobridge_engine::admin::{self, AddBuyer, BuyerAuth};
use pobridge_engine::IntakeRequest;
use pobridge_store::{CustomerMapping, InvoiceStatus, ItemMapping, NewAuditEntry};
use rust_decimal::Decimal;

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");

const FILES: [(&str, &str); 6] = [
    (
        "orders.csv",
        "buyer,po_number,status,reason,brightpearl_order_id,received_at,updated_at",
    ),
    ("order_events.csv", "buyer,po_number,at,status,message"),
    (
        "invoices.csv",
        "buyer,invoice_number,po_number,kind,status,reason,brightpearl_order_id,invoice_date,\
         currency,brightpearl_total,sent_total,created_at,updated_at,sent_at,document_removed_at",
    ),
    (
        "item_mappings.csv",
        "buyer,part_id,unit,product_id,sku,quantity_factor",
    ),
    (
        "customer_mappings.csv",
        "buyer,bill_to_address_id,contact_id,chosen_by,updated_at",
    ),
    ("audit.csv", "at,actor,action,detail"),
];

/// Seeds `acme` with a failed order, an invoice, an item mapping, a
/// customer mapping and an audit entry, and `beta` with the same kinds of
/// records, each marked `BETA`.
async fn seeded() -> (Cli, Seed) {
    let cli = Cli::new();
    let seed = Seed::new(&cli.database_url()).await;
    seed.failed_order("PO-1").await;
    invoice_seed::invoice(&seed, "PO-1", "INV-1", InvoiceStatus::Sent).await;
    let buyer = seed.buyer("buyer-1").await.id;
    mappings(
        &seed,
        seed.account.id,
        buyer,
        "=PART-1",
        "=cmd|' /C calc'!A0",
    )
    .await;

    let beta = admin::create_account(&seed.engine, "beta", "ops@beta.example")
        .await
        .unwrap();
    let beta_buyer = beta_buyer(&seed, beta.id).await;
    receive_beta_order(&seed).await;
    mappings(&seed, beta.id, beta_buyer, "BETA-PART", "BETA audit").await;
    (cli, seed)
}

async fn mappings(seed: &Seed, account: AccountId, buyer: BuyerId, part: &str, detail: &str) {
    let store = &seed.engine.store;
    let now = seed.engine.clock.now();
    let item = ItemMapping {
        buyer: None,
        coupa_part_id: part.to_owned(),
        unit_of_measure: Some("EA".to_owned()),
        product_id: 501,
        quantity_factor: Decimal::from(12),
    };
    store
        .upsert_item_mapping(account, &item, now)
        .await
        .unwrap();
    let customer = CustomerMapping {
        buyer,
        bill_to_address_id: Some(format!("{part}-ADDR")),
        contact_id: 42,
    };
    store
        .upsert_customer_mapping(account, &customer, now)
        .await
        .unwrap();
    let audit = NewAuditEntry {
        user: None,
        actor: "cli".to_owned(),
        action: "item_mapping.set".to_owned(),
        detail: detail.to_owned(),
    };
    store.record_audit(account, &audit, now).await.unwrap();
}

async fn beta_buyer(seed: &Seed, beta: AccountId) -> BuyerId {
    let request = AddBuyer {
        from: "NetworkID:BETA-1".to_owned(),
        to: "DUNS:123456789".to_owned(),
        sender: "NetworkID:BETA-1".to_owned(),
        auth: BuyerAuth::SharedSecret(SECRET.to_owned()),
        mode: "production".to_owned(),
        invoice_url: None,
        name: Some("BETA-buyer".to_owned()),
    };
    admin::add_buyer(&seed.engine, "beta", &request)
        .await
        .unwrap();
    let store = &seed.engine.store;
    store.buyer_by_name(beta, "BETA-buyer").await.unwrap().id
}

async fn receive_beta_order(seed: &Seed) {
    let body = ORDER
        .replace("BUYER-1", "BETA-1")
        .replacen("1710000000.000001@buyer.example", "beta@buyer.example", 1)
        .replacen(r#"orderID="PO-1001""#, r#"orderID="PO-BETA""#, 1);
    let request = IntakeRequest {
        account: "beta".to_owned(),
        url_token: None,
        content_type: Some("text/xml".to_owned()),
        content_encoding: None,
        client_ip: None,
        body: body.into(),
    };
    let reply = seed.engine.receive_order(request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn read(cli: &Cli, dir: &str, name: &str) -> String {
    let bytes = std::fs::read(cli.path(dir).join(name)).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned()
}

#[tokio::test]
async fn export_writes_every_file_of_one_account() {
    let (cli, _seed) = seeded().await;

    let stdout = cli.ok(&["export", "acme", "--out", "out"]);

    assert!(
        stdout.contains("Wrote the export of account acme"),
        "{stdout}"
    );
    for (name, header) in FILES {
        let text = read(&cli, "out", name);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], header, "{name}");
        assert!(lines.len() > 1, "{name} has no rows:\n{text}");
        assert!(!text.contains("BETA"), "{name} has beta's data:\n{text}");
        assert!(stdout.contains(name), "{stdout}");
    }
}

#[tokio::test]
async fn export_rows_carry_the_records() {
    let (cli, seed) = seeded().await;
    // Held before it could be built: no amount went to Coupa.
    invoice_seed::invoice_with(&seed, "PO-1", "INV-2", InvoiceStatus::Held, |new| {
        new.document.clear();
        new.sent_total = Decimal::ZERO;
    })
    .await;

    cli.ok(&["export", "acme", "--out", "out"]);

    let orders = read(&cli, "out", "orders.csv");
    let events = read(&cli, "out", "order_events.csv");
    let invoices = read(&cli, "out", "invoices.csv");
    let items = read(&cli, "out", "item_mappings.csv");
    let customers = read(&cli, "out", "customer_mappings.csv");
    let audit = read(&cli, "out", "audit.csv");
    assert!(
        orders.contains("buyer-1,PO-1,failed,Brightpearl rejected the order,,"),
        "{orders}"
    );
    assert!(events.contains("buyer-1,PO-1,"), "{events}");
    assert!(
        invoices
            .contains("buyer-1,INV-1,PO-1,invoice,sent,,7,2026-03-02T10:00:00Z,USD,50.00,50.00,"),
        "{invoices}"
    );
    assert!(
        invoices.contains("buyer-1,INV-2,PO-1,invoice,held,,7,2026-03-02T10:00:00Z,USD,50.00,,"),
        "{invoices}"
    );
    assert!(items.contains(",'=PART-1,EA,501,,12"), "{items}");
    assert!(
        customers.contains("buyer-1,'=PART-1-ADDR,42,,"),
        "{customers}"
    );
    assert!(audit.contains(",cli,item_mapping.set,'=cmd|"), "{audit}");
}

#[tokio::test]
async fn export_prints_row_counts() {
    let (cli, _seed) = seeded().await;

    let stdout = cli.ok(&["export", "acme", "--out", "out"]);

    let counts: Vec<(&str, &str)> = stdout
        .lines()
        .filter_map(|line| {
            let mut cells = line.split_whitespace();
            Some((cells.next()?, cells.next()?))
        })
        .collect();
    assert!(counts.contains(&("orders.csv", "1")), "{stdout}");
    assert!(counts.contains(&("invoices.csv", "1")), "{stdout}");
    assert!(counts.contains(&("item_mappings.csv", "1")), "{stdout}");
}

#[tokio::test]
async fn export_default_directory_is_named_after_account() {
    let (cli, _seed) = seeded().await;

    cli.ok(&["export", "acme"]);

    let names: Vec<String> = std::fs::read_dir(cli.dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("export-acme-"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let stamp = names[0].trim_start_matches("export-acme-");
    assert_eq!(stamp.len(), "YYYYMMDD-HHMMSS".len(), "{stamp}");
    assert!(cli.path(&names[0]).join("orders.csv").exists());
}

#[tokio::test]
async fn export_rejects_non_empty_directory() {
    let (cli, _seed) = seeded().await;
    std::fs::create_dir(cli.path("out")).unwrap();
    std::fs::write(cli.path("out").join("notes.txt"), "keep").unwrap();

    let stderr = cli.fails(&["export", "acme", "--out", "out"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("the directory is not empty"), "{stderr}");
    assert!(!cli.path("out").join("orders.csv").exists());
}

#[tokio::test]
async fn export_of_unknown_account_is_rejected() {
    let (cli, _seed) = seeded().await;

    let stderr = cli.fails(&["export", "ghost", "--out", "out"]);

    assert_one_line_error(&stderr);
    assert!(stderr.contains("account \"ghost\" not found"), "{stderr}");
    assert!(!cli.path("out").exists());
}
