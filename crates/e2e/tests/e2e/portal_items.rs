//! The item mapping page over HTTP. A corpus order waits for one of its two
//! parts, the list shows every item with its status, filters, searches and
//! pages, and mapping the part on the page or importing it as CSV releases
//! the order, which then syncs. A CSV export imports again without a
//! change, a file with bad rows changes nothing, another account's item is
//! "not found", and every form needs the CSRF token.

use pobridge_core::{BuyerId, PoId};
use pobridge_e2e::portal_client::{Page, PortalClient};
use pobridge_e2e::waiting_order::{order_awaiting_mapping, PREMAPPED_PART};
use pobridge_e2e::TestApp;
use pobridge_store::{CoupaItem, ItemMappingRow, PoStatus};

/// The part the corpus order waits for, in unit EA like its other part.
const WAITING_PART: &str = "product:1861";
/// The part mapped by hand to `SVC-TRAIN` (product 1021) before the order
/// arrives.
const MAPPED_PART: &str = PREMAPPED_PART;
/// A sandbox product that is not stock-tracked.
const INSTALL: (i64, &str) = (1019, "SVC-INSTALL-HR");

/// A running pobridge whose corpus order waits for a mapping of
/// [`WAITING_PART`], and a client logged in to its account.
struct Held {
    app: TestApp,
    client: PortalClient,
    po: PoId,
    buyer: BuyerId,
    buyer_name: String,
    /// The mapping page of the waiting part.
    map_path: String,
}

async fn held_order() -> Held {
    let (app, po) = order_awaiting_mapping().await;
    let buyer = app
        .store()
        .buyer(app.account.id, po.buyer_id)
        .await
        .unwrap();
    let client = app.portal_as("ops@acme.example").await.unwrap();
    Held {
        map_path: map_path(po.buyer_id, WAITING_PART, "EA"),
        po: po.id,
        buyer: po.buyer_id,
        buyer_name: buyer.name,
        app,
        client,
    }
}

fn map_path(buyer: BuyerId, part: &str, unit: &str) -> String {
    let buyer = buyer.to_string();
    let fields = [("buyer", buyer.as_str()), ("part", part), ("unit", unit)];
    let url = reqwest::Url::parse_with_params("http://portal/items/map", fields).unwrap();
    format!("/items/map?{}", url.query().unwrap_or_default())
}

async fn mappings(app: &TestApp) -> Vec<ItemMappingRow> {
    let store = app.store();
    store.list_item_mappings(app.account.id).await.unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let entries = app.store().audit_log(app.account.id, 50).await.unwrap();
    entries.into_iter().map(|entry| entry.action).collect()
}

/// Adds items the buyer ordered before: `BULK-001` to `BULK-060`, which
/// no product matches, and `SVC-INSTALL-HR` in unit HR, which the SKU of
/// one product matches.
async fn seed_items(held: &Held) {
    let mut items: Vec<CoupaItem> = (1..=60)
        .map(|number| {
            item(
                &format!("BULK-{number:03}"),
                "EA",
                &format!("Bulk item {number}"),
            )
        })
        .collect();
    items.push(item(INSTALL.1, "HR", "Installation"));
    let app = &held.app;
    let now = app.engine.clock.now();
    app.store()
        .record_coupa_items(app.account.id, held.buyer, &items, now)
        .await
        .unwrap();
}

fn item(part_id: &str, unit: &str, description: &str) -> CoupaItem {
    CoupaItem {
        part_id: part_id.to_owned(),
        auxiliary_id: None,
        buyer_part_id: None,
        manufacturer_part_id: None,
        unit_of_measure: unit.to_owned(),
        description: description.to_owned(),
    }
}

/// The text of the status tab `label`, such as `Unmapped <span ...>1</span>`.
fn tab(label: &str, count: usize) -> String {
    format!(r#">{label} <span class="count">{count}</span></a>"#)
}

fn lists(page: &Page, part: &str) -> bool {
    page.body.contains(&format!("<code>{part}</code>"))
}

fn csv_file(lines: &[&str]) -> Vec<u8> {
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend_from_slice(lines.join("\r\n").as_bytes());
    file.extend_from_slice(b"\r\n\r\n");
    file
}

#[tokio::test]
async fn list_shows_status_and_counts() {
    // The app is bound, because dropping it would delete its database.
    let Held {
        app: _app,
        mut client,
        ..
    } = held_order().await;

    let page = client.get("/items").await.unwrap();

    assert_eq!(page.status, 200);
    assert!(lists(&page, WAITING_PART), "{}", page.body);
    assert!(lists(&page, MAPPED_PART));
    for text in [
        tab("All", 2),
        tab("Mapped by hand", 1),
        tab("Mapped by unique ID", 0),
        tab("Unmapped", 1),
        "SVC-TRAIN · Safety training course, per person (#1021)".to_owned(),
        "Items 1 to 2 of 2.".to_owned(),
        r#"<span class="status bad">unmapped</span>"#.to_owned(),
        r#"<span class="status ok">mapped by hand</span>"#.to_owned(),
        r#"action="/items/import?_csrf="#.to_owned(),
        "Columns: buyer, part_id, unit, product_id, sku, quantity_factor".to_owned(),
    ] {
        assert!(page.body.contains(&text), "{text:?} in {}", page.body);
    }
    assert!(page.body.contains("Yogurt Whips"));
}

#[tokio::test]
async fn status_filters_search_and_paging() {
    let held = held_order().await;
    seed_items(&held).await;
    let Held {
        mut client, buyer, ..
    } = held;

    let cases = [
        (
            "/items?status=unmapped",
            vec!["BULK-001", "BULK-050"],
            vec![MAPPED_PART, INSTALL.1],
        ),
        (
            "/items?status=unmapped&page=2",
            vec![WAITING_PART, "BULK-051"],
            vec!["BULK-050", MAPPED_PART],
        ),
        (
            "/items?status=mapped_by_hand",
            vec![MAPPED_PART],
            vec![WAITING_PART, INSTALL.1],
        ),
        (
            "/items?status=mapped_by_unique_id",
            vec![INSTALL.1],
            vec![WAITING_PART, MAPPED_PART],
        ),
        (
            "/items?q=YOGURT",
            vec![WAITING_PART],
            vec![MAPPED_PART, "BULK-001"],
        ),
        (
            "/items?q=bulk-05&status=unmapped",
            vec!["BULK-050", "BULK-059"],
            vec!["BULK-049", WAITING_PART],
        ),
    ];
    for (path, listed, unlisted) in cases {
        let page = client.get(path).await.unwrap();
        assert_eq!(page.status, 200, "{path}");
        for part in listed {
            assert!(lists(&page, part), "{path} lists {part}");
        }
        for part in unlisted {
            assert!(!lists(&page, part), "{path} does not list {part}");
        }
    }
    let by_buyer = client.get(&format!("/items?buyer={buyer}")).await.unwrap();
    assert!(
        by_buyer.body.contains("Items 1 to 50 of 63."),
        "{}",
        by_buyer.body
    );
    let search = client.get("/items?q=bulk-05").await.unwrap();
    assert!(search.body.contains("Items 1 to 10 of 10."));
    assert!(search.body.contains(&tab("Unmapped", 10)));
    assert!(search.body.contains(&tab("Mapped by hand", 0)));

    let first = client.get("/items").await.unwrap();
    let second = client.get("/items?page=2").await.unwrap();

    assert!(first.body.contains("Items 1 to 50 of 63."));
    assert!(first
        .body
        .contains(r#"<a href="/items?page=2" rel="next">Next</a>"#));
    assert!(!first.body.contains(r#"rel="prev""#));
    assert_eq!(second.status, 200);
    assert!(
        second.body.contains("Items 51 to 63 of 63."),
        "{}",
        second.body
    );
    assert!(second
        .body
        .contains(r#"<a href="/items" rel="prev">Previous</a>"#));
    assert!(!second.body.contains(r#"rel="next""#));
    let parts_on = |page: &Page| page.body.matches("<td class=\"part\"").count();
    assert_eq!(parts_on(&first), 50);
    assert_eq!(parts_on(&second), 13);
}

#[tokio::test]
async fn bad_filter_values_are_explained() {
    // The app is bound, because dropping it would delete its database.
    let Held {
        app: _app,
        mut client,
        ..
    } = held_order().await;
    let long = "x".repeat(201);

    let page = client
        .get(&format!(
            "/items?status=mapped&buyer=999&q={long}&page=zero"
        ))
        .await
        .unwrap();
    let past_end = client.get("/items?page=7").await.unwrap();

    assert_eq!(page.status, 400);
    for text in [
        "Status &#34;mapped&#34; is not one of all, mapped_by_hand, mapped_by_unique_id or unmapped, so every status is shown.",
        "No buyer of this account has the id &#34;999&#34;, so every buyer is shown.",
        "The search is longer than 200 characters, so nothing is searched.",
        "Page &#34;zero&#34; is not a page number, so the first page is shown.",
    ] {
        assert!(page.body.contains(text), "{text:?} in {}", page.body);
    }
    assert!(lists(&page, WAITING_PART), "the list is still shown");
    assert_eq!(past_end.status, 400);
    assert!(past_end
        .body
        .contains("Page 7 is past the last page, 1, so the last page is shown."));
    assert!(lists(&past_end, WAITING_PART));
}

#[tokio::test]
async fn mapping_item_releases_order_which_syncs() {
    let Held {
        app,
        mut client,
        po,
        map_path,
        ..
    } = held_order().await;

    let search = client
        .get(&format!("{map_path}&q=SVC-INSTALL"))
        .await
        .unwrap();
    assert_eq!(search.status, 200);
    assert!(search.body.contains(&format!(
        r#"name="product" id="product-{0}" value="{0}""#,
        INSTALL.0
    )));
    assert!(
        !search.body.contains(r#"id="product-1021""#),
        "the search narrows"
    );
    let answer = client
        .post(
            &map_path,
            &[
                ("product", "1019"),
                ("buyers", "all"),
                ("units", "this"),
                ("factor", ""),
                ("q", "SVC-INSTALL"),
            ],
        )
        .await
        .unwrap();

    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), Some("/items"));
    let list = client.follow(&answer).await.unwrap();
    assert!(
        list.body.contains(
            "Coupa part product:1861 now maps to product 1019 (SKU SVC-INSTALL-HR) for every buyer and unit &#34;EA&#34;. 1 waiting order is tried again now."
        ),
        "{}",
        list.body
    );
    assert!(list.body.contains(&tab("Unmapped", 0)));
    assert_eq!(audit_actions(&app).await, ["item_mapping.set"]);
    app.drain(10).await;
    let synced = app
        .store()
        .purchase_order(app.account.id, po)
        .await
        .unwrap();
    assert_eq!(synced.status, PoStatus::Synced, "{:?}", synced.reason);
    let id = synced.brightpearl_order_id.expect("a sales order was made");
    let sales_orders = app.sandbox.sales_orders(&app.brightpearl_code);
    let sales_order = sales_orders
        .iter()
        .find(|order| order["id"].as_i64() == Some(id))
        .expect("the sandbox has the sales order");
    let rows = sales_order.to_string();
    assert!(rows.contains(&INSTALL.0.to_string()), "{rows}");
}

/// A line without a SupplierPartID is an item with an empty part id. Its
/// mapping page opens, and mapping it by hand works as for any item.
#[tokio::test]
async fn item_without_part_id_maps_on_its_page() {
    let held = held_order().await;
    let app = &held.app;
    let now = app.engine.clock.now();
    app.store()
        .record_coupa_items(
            app.account.id,
            held.buyer,
            &[item("", "EA", "Free-form request")],
            now,
        )
        .await
        .unwrap();
    let mut client = held.client;
    let path = map_path(held.buyer, "", "EA");

    let page = client.get(&path).await.unwrap();
    let answer = client
        .post(
            &path,
            &[
                ("product", "1019"),
                ("buyers", "this"),
                ("units", "this"),
                ("factor", ""),
                ("q", ""),
            ],
        )
        .await
        .unwrap();

    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Free-form request"), "{}", page.body);
    assert_eq!(answer.status, 303, "{}", answer.body);
    let mapped = mappings(app).await;
    let row = mapped
        .iter()
        .find(|row| row.mapping.coupa_part_id.is_empty())
        .expect("the empty part id is mapped");
    assert_eq!(row.mapping.product_id, 1019);
    assert_eq!(row.mapping.buyer, Some(held.buyer));
}

#[tokio::test]
async fn csv_import_releases_order_and_export_round_trips() {
    let Held {
        app,
        mut client,
        po,
        buyer_name,
        ..
    } = held_order().await;
    client.get("/items").await.unwrap();
    let file = csv_file(&[
        "Part_ID,buyer,unit,sku,product_id,quantity_factor",
        &format!("{WAITING_PART},{buyer_name},EA,{},,2", INSTALL.1),
        r#""=HYPERLINK(""x""), with comma",,,,1020,0.5"#,
    ]);

    let imported = client
        .post_file("/items/import", "file", "mappings.csv", file)
        .await
        .unwrap();

    assert_eq!(imported.status, 303, "{}", imported.body);
    assert_eq!(imported.location(), Some("/items"));
    let list = client.follow(&imported).await.unwrap();
    assert!(
        list.body.contains("Imported mappings.csv: 2 rows, 2 added, 0 changed and 0 unchanged. 1 waiting order is tried again now."),
        "{}",
        list.body
    );
    assert_eq!(audit_actions(&app).await, ["item_mapping.import"]);
    app.drain(10).await;
    let synced = app
        .store()
        .purchase_order(app.account.id, po)
        .await
        .unwrap();
    assert_eq!(synced.status, PoStatus::Synced, "{:?}", synced.reason);

    let export = client.get("/items/export.csv").await.unwrap();
    assert_eq!(export.status, 200);
    let header = |name: &str| export.headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        r#"attachment; filename="item-mappings-acme.csv""#
    );
    let expected = [
        "\u{feff}buyer,part_id,unit,product_id,sku,quantity_factor",
        r#","'=HYPERLINK(""x""), with comma",,1020,SVC-MAINT-YR,0.5"#,
        &format!("{buyer_name},{WAITING_PART},EA,1019,SVC-INSTALL-HR,2"),
        &format!(",{MAPPED_PART},,1021,SVC-TRAIN,1"),
        "",
    ];
    assert_eq!(export.body, expected.join("\r\n"));

    let before = mappings(&app).await;
    let again = client
        .post_file(
            "/items/import",
            "file",
            "export.csv",
            export.body.into_bytes(),
        )
        .await
        .unwrap();

    assert_eq!(again.status, 303, "{}", again.body);
    let notice = client.follow(&again).await.unwrap();
    assert!(notice.body.contains(
        "Imported export.csv: 3 rows, all equal to the stored mappings, so nothing changed."
    ));
    assert_eq!(mappings(&app).await, before);
    assert_eq!(audit_actions(&app).await, ["item_mapping.import"]);
}

#[tokio::test]
async fn import_with_bad_rows_names_lines_and_changes_nothing() {
    let Held {
        app,
        mut client,
        po,
        ..
    } = held_order().await;
    client.get("/items").await.unwrap();
    let before = mappings(&app).await;
    let file = csv_file(&[
        "buyer,part_id,unit,product_id,sku,quantity_factor",
        &format!(",{WAITING_PART},EA,1019,,"),
        "initech,P1,,1019,,",
        "",
        ",P2,,abc,,",
        r#",P3,"EA, BX",1019,,0"#,
        ",P4,,1019,GLV-L,",
        ",P5,,,CT-200,",
        ",P6,,1019",
    ]);

    let rejected = client
        .post_file("/items/import", "file", "bad.csv", file)
        .await
        .unwrap();

    assert_eq!(rejected.status, 422, "{}", rejected.body);
    assert!(rejected.body.contains("Nothing was imported from bad.csv."));
    for text in [
        "<strong>Line 3:</strong> buyer &#34;initech&#34; is not a buyer of this account",
        "<strong>Line 5:</strong> product_id &#34;abc&#34; is not a number",
        "<strong>Line 6:</strong> quantity_factor &#34;0&#34; is not a number from 0.000001 to 1000000 with at most 6 decimal places",
        "<strong>Line 7:</strong> sku &#34;GLV-L&#34; is not the SKU of product 1019",
        "<strong>Line 8:</strong> the SKU &#34;CT-200&#34; belongs to products 1011, 1013",
        "<strong>Line 9:</strong> the row has 4 fields but the header has 6",
    ] {
        assert!(
            rejected.body.contains(text),
            "{text:?} in {}",
            rejected.body
        );
    }
    assert!(!rejected.body.contains("<strong>Line 2:</strong>"));
    assert!(rejected.body.contains(r#"action="/items/import?_csrf="#));
    assert_eq!(mappings(&app).await, before);
    assert!(audit_actions(&app).await.is_empty());
    let waiting = app
        .store()
        .purchase_order(app.account.id, po)
        .await
        .unwrap();
    assert_eq!(waiting.status, PoStatus::AwaitingMapping);

    let empty = client
        .post_file("/items/import", "file", "", Vec::new())
        .await
        .unwrap();
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Choose a CSV file to import."));
}

#[tokio::test]
async fn other_account_gets_not_found() {
    let Held {
        app,
        mut client,
        buyer,
        buyer_name,
        map_path,
        po,
        ..
    } = held_order().await;
    let (_, mut other) = app.other_account("globex").await.unwrap();
    let before = mappings(&app).await;

    let list = other.get("/items").await.unwrap();
    let page = other.get(&map_path).await.unwrap();
    let posted = other
        .post(
            &map_path,
            &[("product", "1019"), ("buyers", "all"), ("units", "this")],
        )
        .await
        .unwrap();
    let export = other.get("/items/export.csv").await.unwrap();
    let file = csv_file(&[
        "buyer,part_id,unit,product_id",
        &format!("{buyer_name},{WAITING_PART},EA,1019"),
        &format!("{buyer},{WAITING_PART},EA,1019"),
    ]);
    let import = other
        .post_file("/items/import", "file", "theirs.csv", file)
        .await
        .unwrap();

    assert_eq!(list.status, 200);
    assert!(!lists(&list, WAITING_PART), "{}", list.body);
    assert!(!lists(&list, MAPPED_PART));
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(!page.body.contains(WAITING_PART));
    assert_eq!(posted.status, 404, "{}", posted.body);
    assert_eq!(export.status, 200);
    assert_eq!(
        export.body,
        "\u{feff}buyer,part_id,unit,product_id,sku,quantity_factor\r\n"
    );
    assert_eq!(import.status, 422, "{}", import.body);
    assert!(import.body.contains("<strong>Line 2:</strong> buyer"));
    assert!(import.body.contains("<strong>Line 3:</strong> buyer"));
    assert!(
        import
            .body
            .contains("product 1019 is not in the local product index"),
        "the other account has no products: {}",
        import.body
    );
    assert_eq!(mappings(&app).await, before);
    let waiting = app
        .store()
        .purchase_order(app.account.id, po)
        .await
        .unwrap();
    assert_eq!(waiting.status, PoStatus::AwaitingMapping);
    let own_export = client.get("/items/export.csv").await.unwrap();
    assert!(own_export.body.contains(MAPPED_PART));
    let unseen = client
        .get(&map_path.replace("product%3A1861", "no-such-part"))
        .await
        .unwrap();
    let not_a_buyer = client
        .get("/items/map?buyer=x&part=a&unit=EA")
        .await
        .unwrap();
    assert_eq!(unseen.status, 404);
    assert_eq!(not_a_buyer.status, 404);
}

#[tokio::test]
async fn posts_without_csrf_token_change_nothing() {
    let Held {
        app,
        mut client,
        po,
        map_path,
        ..
    } = held_order().await;
    let before = mappings(&app).await;
    let file = csv_file(&[
        "part_id,unit,product_id",
        &format!("{WAITING_PART},EA,1019"),
    ]);

    let answers = [
        client
            .post_without_csrf(
                &map_path,
                &[("product", "1019"), ("buyers", "all"), ("units", "this")],
            )
            .await
            .unwrap(),
        client
            .post_file_without_csrf("/items/import", "file", "m.csv", file.clone())
            .await
            .unwrap(),
        client
            .post_file_without_csrf("/items/import?_csrf=wrong", "file", "m.csv", file)
            .await
            .unwrap(),
    ];

    for answer in &answers {
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
    assert_eq!(mappings(&app).await, before);
    assert!(audit_actions(&app).await.is_empty());
    let waiting = app
        .store()
        .purchase_order(app.account.id, po)
        .await
        .unwrap();
    assert_eq!(waiting.status, PoStatus::AwaitingMapping);
}
