//! Every document of the shared cXML corpus: orders read with every value
//! intact, other documents classified or rejected with a clear error.

mod common;

use common::*;
use pobridge_cxml::{Address, Body, OrderKind, ReadError, REDACTED};

const STAGING: &str = "order/coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml";
const ANNOTATED: &str = "order/coupa-published-annotated-orderrequest-1.2.014-comments.xml";
const CXMLORG: &str = "order/cxmlorg-1.1.010-orderrequest-pcard-tax-split-distribution.xml";
const EUR: &str = "order/friendsofcxml-orderrequest-1.2.050-eur-attachment-comment.xml";
const BUILDER: &str = "order/friendsofcxml-builder-orderrequest-1.2.050-buyerpartid.xml";
const ARIBA_SPLIT: &str = "order/ariba-style-orderrequest-1.2.060-split-attributes-enDash.xml";
const ARIBA_THREE: &str = "order/ariba-style-orderrequest-1.2.060-three-split-lines-same-part.xml";

fn postal(address: &Address) -> &pobridge_cxml::PostalAddress {
    address.postal_address.as_ref().expect("PostalAddress")
}

#[test]
fn coupa_staging_order_reads_every_value() {
    let (envelope, order) = read_order(&corpus(STAGING));

    assert_eq!(
        envelope.payload_id,
        "1585687161.003309@stg1565utl2.int.coupahost.com"
    );
    assert_eq!(envelope.timestamp, Some(time("2020-03-31T21:39:21+01:00")));
    assert_eq!(envelope.lang.as_deref(), Some("en-US"));
    assert!(matches!(
        envelope.body,
        Body::OrderRequest {
            deployment_test: false,
            ..
        }
    ));
    let header = envelope.header.as_ref().unwrap();
    assert!(header.from[0].matches("networkid", "kasdflkjasdf"));
    assert_eq!(header.to[0].identity, "development@officeluv.com");
    assert_eq!(header.sender[0].identity, "DAN_Coupa");
    let secret = header.sender[0].shared_secret.as_ref().unwrap();
    assert_eq!(secret.expose(), "alsdkfjalksdjflaksjdfklj");
    assert_eq!(header.user_agent.as_deref(), Some("Coupa Procurement 1.0"));

    let head = &order.header;
    assert_eq!(head.order_id, "3309");
    assert_eq!(head.order_date, Some(time("2020-03-31T21:39:22+01:00")));
    assert_eq!(head.order_type, OrderKind::New);
    assert_eq!(head.order_version, None);
    assert_eq!(head.total, Some(money("91.71", "USD")));
    let ship_to = head.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.address_id.as_deref(), Some("21444"));
    assert_eq!(ship_to.iso_country_code.as_deref(), Some("US"));
    assert_eq!(ship_to.name, "Network");
    assert_eq!(postal(ship_to).deliver_to, ["Buyer Person"]);
    assert_eq!(postal(ship_to).streets, ["Main Street"]);
    assert_eq!(postal(ship_to).city, "New York");
    assert_eq!(postal(ship_to).state.as_deref(), Some("NY"));
    assert_eq!(postal(ship_to).postal_code.as_deref(), Some("10018"));
    assert_eq!(postal(ship_to).country_code.as_deref(), Some("US"));
    assert_eq!(ship_to.email.as_deref(), Some("shipto.person@example.com"));
    let bill_to = head.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.address_id.as_deref(), Some("21444"));
    assert_eq!(postal(bill_to).streets, ["Main Street"]);
    assert_eq!(bill_to.email.as_deref(), Some("billto.person@example.com"));
    let shipping = head.shipping.as_ref().unwrap();
    assert_eq!(shipping.money, money("0.0", "USD"));
    assert_eq!(shipping.description.as_deref(), Some(""));
    assert_eq!(head.contacts.len(), 1);
    assert_eq!(head.contacts[0].role.as_deref(), Some("endUser"));
    assert_eq!(head.contacts[0].emails, ["enduser.person@example.com"]);
    assert_eq!(head.extrinsics.len(), 1);
    assert_eq!(head.extrinsics[0].name, "legacy_po");
    assert_eq!(head.extrinsics[0].text, "");
    assert_eq!(head.extrinsics[0].raw_xml, "");
    assert!(head.payment.is_none());
    assert!(order.warnings.is_empty(), "{:?}", order.warnings);

    assert_eq!(order.items.len(), 2);
    let expected = [
        (
            1,
            "1",
            "product:1861",
            "product-requisition:6236",
            "8.1",
            "Yogurt Whips, Key Lime Pie, 4oz Cup",
            "8.1",
        ),
        (
            2,
            "9",
            "product:4884",
            "product-requisition:6235",
            "9.29",
            "Zingerman's Cheese Spreads Pimento Cheese",
            "83.61",
        ),
    ];
    for (item, (line, quantity, part, auxiliary, price, description, charge)) in
        order.items.iter().zip(expected)
    {
        assert_eq!(item.line_number, Some(line));
        assert_eq!(item.quantity, decimal(quantity));
        assert_eq!(item.item_id.supplier_part_id, part);
        assert_eq!(
            item.item_id.supplier_part_auxiliary_id.as_deref(),
            Some(auxiliary)
        );
        let detail = item.detail.as_ref().unwrap();
        assert_eq!(detail.unit_price, money(price, "USD"));
        assert_eq!(detail.descriptions[0].text, description);
        assert_eq!(detail.descriptions[0].lang.as_deref(), Some("en"));
        assert_eq!(detail.unit_of_measure, "EA");
        assert_eq!(detail.classifications[0].domain, "UNSPSC");
        assert_eq!(detail.classifications[0].value, "unknown");
        assert_eq!(detail.extrinsics[0].name, "LineType");
        assert_eq!(detail.extrinsics[0].text, "Quantity");
        assert_eq!(item.distributions.len(), 1);
        let distribution = &item.distributions[0];
        assert!(distribution
            .accounting_name
            .starts_with("Amounts Invoice to Clients"));
        assert_eq!(distribution.segments.len(), 4);
        assert_eq!(
            distribution.segments[0].segment_type,
            "Main Account (PL/BS)"
        );
        assert_eq!(distribution.segments[0].id, "10012");
        assert_eq!(distribution.segments[0].description, "MAccount");
        assert_eq!(distribution.segments[3].id, "000384");
        assert_eq!(distribution.charge, money(charge, "USD"));
    }
}

#[test]
fn coupa_annotated_order_reads_through_comments() {
    let (envelope, order) = read_order(&corpus(ANNOTATED));

    assert_eq!(envelope.payload_id, "1452186890.009162@ip-10-7-14-126");
    assert_eq!(envelope.timestamp, Some(time("2008-01-07T09:14:50-08:00")));
    let header = envelope.header.as_ref().unwrap();
    assert_eq!(header.from[0].domain, "duns");
    assert_eq!(header.from[0].identity, "dell");
    assert!(header.to[0].matches("DUNS", "128293714"));
    assert!(header.sender[0].shared_secret.is_none());

    let head = &order.header;
    assert_eq!(head.order_id, "6112");
    assert_eq!(head.order_date, Some(time("2008-01-07T09:14:50-08:00")));
    assert_eq!(head.total, Some(money("1505.0", "USD")));
    let ship_to = head.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.address_id.as_deref(), Some("3119"));
    assert_eq!(ship_to.name, "jdoe");
    assert_eq!(postal(ship_to).name.as_deref(), Some("default"));
    assert_eq!(postal(ship_to).deliver_to, ["j doe"]);
    assert_eq!(postal(ship_to).streets, ["333 East Hill Dr"]);
    assert_eq!(postal(ship_to).city, "san leandro");
    let bill_to = head.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.address_id.as_deref(), Some("142"));
    assert_eq!(bill_to.name, "SOB1");
    assert_eq!(postal(bill_to).deliver_to, ["Buyer Org Attn: Buyer Person"]);
    assert_eq!(postal(bill_to).streets, ["3420 Flatiron Way"]);
    assert_eq!(head.contacts[0].name.as_deref(), Some("j doe"));
    assert_eq!(head.comments.len(), 1);
    assert_eq!(
        head.comments[0].text,
        "header comment goes here if entered by user"
    );
    assert_eq!(head.comments[0].lang.as_deref(), Some("en"));

    assert_eq!(order.items.len(), 2);
    for (item, (line, quantity)) in order.items.iter().zip([(1, "1"), (2, "2")]) {
        assert_eq!(item.line_number, Some(line));
        assert_eq!(item.quantity, decimal(quantity));
        assert_eq!(item.item_id.supplier_part_id, "223-4511");
        assert_eq!(
            item.item_id.supplier_part_auxiliary_id.as_deref(),
            Some("1005379527029\\1")
        );
        let detail = item.detail.as_ref().unwrap();
        assert_eq!(detail.unit_price, money("1505.0", "USD"));
        assert!(detail.descriptions[0]
            .text
            .starts_with("OptiPlex 755 Energy Smart Minitower;"));
        assert_eq!(detail.unit_of_measure, "EA");
        assert_eq!(detail.classifications[0].value, "44000000");
        let distribution = &item.distributions[0];
        assert_eq!(distribution.accounting_name, "bbbb");
        let segments: Vec<_> = distribution
            .segments
            .iter()
            .map(|segment| {
                (
                    segment.segment_type.as_str(),
                    segment.id.as_str(),
                    segment.description.as_str(),
                )
            })
            .collect();
        assert_eq!(
            segments,
            [
                ("Organization", "bbb", "ORG"),
                ("Department", "b", "DEPT"),
                ("Project", "bb", "PROJ")
            ]
        );
        assert_eq!(distribution.charge, money("1505.0", "USD"));
        assert_eq!(
            item.comments[0].text,
            "line item comment goes here if entered by user"
        );
    }
}

#[test]
fn cxmlorg_order_reads_pcard_tax_and_split_distribution() {
    let (envelope, order) = read_order(&corpus(CXMLORG));

    assert_eq!(envelope.payload_id, "3223232@ariba.acme.com");
    assert!(matches!(
        envelope.body,
        Body::OrderRequest {
            deployment_test: true,
            ..
        }
    ));
    let header = envelope.header.as_ref().unwrap();
    assert_eq!(header.from.len(), 2);
    assert_eq!(
        header.from[1].credential_type.as_deref(),
        Some("marketplace")
    );
    assert_eq!(header.from[1].identity, "bigadmin@marketplace.org");
    assert_eq!(
        header.sender[0].shared_secret.as_ref().unwrap().expose(),
        "abracadabra"
    );
    assert_eq!(header.user_agent.as_deref(), Some("Ariba.com Network V1.0"));

    let head = &order.header;
    assert_eq!(head.order_id, "DO1234");
    assert_eq!(head.order_date_raw, "1999-03-12");
    assert_eq!(head.order_date, Some(time("1999-03-12T00:00:00Z")));
    assert_eq!(head.total, Some(money("2.68", "USD")));
    let ship_to = head.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.address_id, None);
    assert_eq!(postal(ship_to).deliver_to, ["Joe Smith", "Mailstop M-543"]);
    assert_eq!(postal(ship_to).streets, ["123 Anystreet"]);
    assert_eq!(
        postal(head.bill_to.as_ref().unwrap()).streets,
        ["123 Anystreet"]
    );
    let tax = head.tax.as_ref().unwrap();
    assert_eq!(tax.money, money("0.19", "USD"));
    assert_eq!(tax.description.as_deref(), Some("CA Sales Tax"));
    let card = head.payment.as_ref().unwrap();
    assert_eq!(card.number, "************3456");
    assert_eq!(card.expiration.expose(), "1999-03-12");
    assert!(!format!("{card:?}").contains("1999-03-12"));
    let json = serde_json::to_string(&order).unwrap();
    assert!(!json.contains("1234567890123456"), "{json}");
    assert!(json.contains("\"expiration\":\"********\""), "{json}");

    let item = &order.items[0];
    assert_eq!(item.line_number, None);
    assert_eq!(item.position, 1);
    assert_eq!(item.line_label(), 1);
    assert_eq!(item.quantity, decimal("2"));
    assert_eq!(
        item.requested_delivery_date,
        Some(time("1999-03-12T00:00:00Z"))
    );
    assert_eq!(item.item_id.supplier_part_id, "1233244");
    let detail = item.detail.as_ref().unwrap();
    assert_eq!(detail.unit_price, money("1.34", "USD"));
    assert_eq!(detail.descriptions[0].text, "hello");
    assert_eq!(detail.classifications[0].domain, "SPSC");
    assert_eq!(detail.manufacturer_part_id.as_deref(), Some("234"));
    assert_eq!(detail.manufacturer_name.as_deref(), Some("foobar"));
    assert_eq!(detail.url.as_deref(), Some("www.foo.com"));
    let shipping = item.shipping.as_ref().unwrap();
    assert_eq!(shipping.money, money("2.5", "USD"));
    assert_eq!(shipping.description.as_deref(), Some("FedEx 2-day"));
    assert_eq!(item.distributions.len(), 2);
    assert_eq!(item.distributions[0].charge, money("0.34", "USD"));
    assert_eq!(
        item.distributions[0].segments[1].description,
        "Western Region Sales"
    );
    assert_eq!(item.distributions[1].charge, money("1", "USD"));
    assert_eq!(item.distributions[1].segments[0].id, "456");
    assert_eq!(
        item.comments[0].text,
        "Anything well formed in XML can go here."
    );
}

#[test]
fn eur_order_reads_phones_and_attachment_comment() {
    let (envelope, order) = read_order(&corpus(EUR));

    assert_eq!(envelope.payload_id, "1625586002.193314.7293@dev");
    assert!(matches!(
        envelope.body,
        Body::OrderRequest {
            deployment_test: true,
            ..
        }
    ));
    let head = &order.header;
    assert_eq!(head.order_id, "DO1234");
    assert_eq!(head.order_date, Some(time("2000-10-12T18:41:29-08:00")));
    assert_eq!(head.total, Some(money("85.00", "EUR")));
    assert_eq!(
        head.ship_to.as_ref().unwrap().phone.as_deref(),
        Some("+1 800 5551212")
    );
    let bill_to = head.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.name, "Zinc GmbH");
    assert_eq!(postal(bill_to).streets, ["An den Eichen 18"]);
    assert_eq!(postal(bill_to).state, None);
    assert_eq!(postal(bill_to).country_code.as_deref(), Some("DE"));
    assert_eq!(postal(bill_to).country_name.as_deref(), Some("Deutschland"));
    assert_eq!(bill_to.phone.as_deref(), Some("+49 761 1234567"));
    assert_eq!(head.comments[0].attachment_urls, ["delivery-note.pdf"]);
    assert_eq!(head.comments[0].text.trim(), "");

    let lines: Vec<_> = order
        .items
        .iter()
        .map(|item| {
            let detail = item.detail.as_ref().unwrap();
            (
                item.line_number,
                item.quantity,
                item.item_id.supplier_part_id.as_str(),
                detail.unit_price.clone(),
                detail.descriptions[0].text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                Some(1),
                decimal("10"),
                "1233244",
                money("2.10", "EUR"),
                "hello from item 1"
            ),
            (
                Some(2),
                decimal("20"),
                "1233245",
                money("3.20", "EUR"),
                "hello from item 2"
            ),
        ]
    );
    assert_eq!(
        order.items[0].requested_delivery_date,
        Some(time("2020-02-28T00:00:00+00:00"))
    );
    assert_eq!(order.items[1].comments[0].text, "Test comment");
    assert_eq!(order.items[1].comments[0].lang.as_deref(), Some(""));
}

#[test]
fn builder_order_reads_buyer_part_ids() {
    let (envelope, order) = read_order(&corpus(BUILDER));

    assert_eq!(envelope.payload_id, "933695160894");
    let head = &order.header;
    assert_eq!(head.order_id, "myorder-1");
    assert_eq!(head.order_date, Some(time("2022-09-14T16:12:13+00:00")));
    assert_eq!(head.total, Some(money("3420.60", "USD")));
    let bill_to = head.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.name, "name");
    assert!(bill_to.postal_address.is_none());

    let expected = [
        (1, "3", "5555", "KD5555", "763.20", "Excelsior Desk Chair"),
        (2, "5", "666", "KD666", "226.20", "Other Desk Chair"),
    ];
    for (item, (line, quantity, part, buyer_part, price, description)) in
        order.items.iter().zip(expected)
    {
        assert_eq!(item.line_number, Some(line));
        assert_eq!(item.quantity, decimal(quantity));
        assert_eq!(item.item_id.supplier_part_id, part);
        assert_eq!(item.item_id.buyer_part_id.as_deref(), Some(buyer_part));
        let detail = item.detail.as_ref().unwrap();
        assert_eq!(detail.unit_price, money(price, "USD"));
        assert_eq!(detail.descriptions[0].text, description);
        assert_eq!(detail.classifications[0].domain, "custom");
        assert_eq!(detail.classifications[0].value, "0");
    }
}

#[test]
fn ariba_order_keeps_raw_descriptions_and_order_version() {
    let (envelope, order) = read_order(&corpus(ARIBA_SPLIT));

    assert_eq!(envelope.payload_id, "PO-1234567892@buyer.com");
    assert_eq!(envelope.version.as_deref(), Some("1.2.060"));
    assert!(matches!(
        envelope.body,
        Body::OrderRequest {
            deployment_test: true,
            ..
        }
    ));
    let head = &order.header;
    assert_eq!(head.order_id, "7800459912");
    assert_eq!(head.order_date, Some(time("2026-05-06T00:00:00Z")));
    assert_eq!(head.order_version, Some(1));
    assert_eq!(head.total, Some(money("48250.00", "USD")));
    let ship_to = head.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.address_id.as_deref(), Some("WH_NY_01"));
    assert_eq!(postal(ship_to).streets, ["500 Industry Road"]);
    assert_eq!(postal(ship_to).postal_code.as_deref(), Some("07114"));
    let bill_to = head.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.address_id.as_deref(), Some("HQ_US_01"));
    assert_eq!(postal(bill_to).streets, ["200 Main Street"]);

    let expected = [
        (
            1,
            "25",
            "HW-ROUTER-900",
            "850.00",
            "Enterprise Network Router \u{2013} Model 900",
            "EA",
        ),
        (
            2,
            "40",
            "HW-SWITCH-48P",
            "620.00",
            "48-Port Managed Network Switch",
            "EA",
        ),
        (
            3,
            "120",
            "SRV-INSTALL-NET",
            "150.00",
            "On\u{2011}site Network Installation Services (per hour)",
            "HUR",
        ),
        (
            4,
            "3",
            "SUPPORT-PREM-YR",
            "3500.00",
            "Premium Support Subscription \u{2013} 12 Months",
            "EA",
        ),
    ];
    for (item, (line, quantity, part, price, description, unit)) in order.items.iter().zip(expected)
    {
        assert_eq!(item.line_number, Some(line));
        assert_eq!(item.quantity, decimal(quantity));
        assert_eq!(item.item_id.supplier_part_id, part);
        let detail = item.detail.as_ref().unwrap();
        assert_eq!(detail.unit_price, money(price, "USD"));
        assert_eq!(detail.descriptions[0].text.trim(), description);
        assert!(
            detail.descriptions[0].text.starts_with("\n"),
            "raw text keeps its whitespace"
        );
        assert_eq!(detail.unit_of_measure, unit);
    }
    assert_eq!(
        order.items[0].item_id.buyer_part_id.as_deref(),
        Some("NET-RT-900")
    );
    assert_eq!(order.items[1].item_id.buyer_part_id, None);
}

#[test]
fn ariba_three_split_lines_stay_separate() {
    let (_, order) = read_order(&corpus(ARIBA_THREE));

    assert_eq!(order.header.order_id, "7800459912");
    let lines: Vec<_> = order
        .items
        .iter()
        .map(|item| {
            (
                item.line_number,
                item.quantity,
                item.item_id.supplier_part_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (Some(1), decimal("8"), "HW-ROUTER-900"),
            (Some(2), decimal("8"), "HW-ROUTER-900"),
            (Some(3), decimal("9"), "HW-ROUTER-900"),
        ]
    );
    let description = &order.items[2].detail.as_ref().unwrap().descriptions[0].text;
    assert_eq!(
        description,
        "Enterprise Network Router \u{2013} Model 900 (Split 3 of 3)"
    );
}

#[test]
fn every_corpus_order_is_read() {
    let files = corpus_files("order");
    assert_eq!(files.len(), 7);
    for file in files {
        let (_, order) = read_order(&corpus(&file));
        assert!(!order.items.is_empty(), "{file}");
    }
}

fn request_name(file: &str) -> (String, bool) {
    match read(&corpus(file))
        .unwrap_or_else(|error| panic!("{file}: {error}"))
        .body
    {
        Body::OtherRequest {
            name,
            deployment_test,
        } => (name, deployment_test),
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn other_requests_are_classified_by_name() {
    let cases = [
        (
            "other/catalogupload-request-cid-attachment-1.2.014.xml",
            "CatalogUploadRequest",
            false,
        ),
        (
            "other/confirmationrequest-detail-officedepot-3lines.xml",
            "ConfirmationRequest",
            false,
        ),
        (
            "other/copyrequest-cxmlattachment-1.2.014.xml",
            "CopyRequest",
            false,
        ),
        (
            "other/coupa-punchoutsetuprequest-1.2.014-ruby-timestamp.xml",
            "PunchOutSetupRequest",
            false,
        ),
        (
            "other/coupa-staging-punchoutsetuprequest-1.2.014-supplier-setup.xml",
            "PunchOutSetupRequest",
            false,
        ),
        (
            "other/punchoutsetuprequest-1.2.036-shipto-transportinformation.xml",
            "PunchOutSetupRequest",
            false,
        ),
        (
            "other/punchoutsetuprequest-1.2.050-itemout-shortname.xml",
            "PunchOutSetupRequest",
            true,
        ),
        (
            "other/punchoutsetuprequest-credentialmac-template-1.2.028.xml",
            "PunchOutSetupRequest",
            true,
        ),
        (
            "other/shipnoticerequest-1.2.050-fulfill-dtd.xml",
            "ShipNoticeRequest",
            false,
        ),
        (
            "other/statusupdaterequest-1.2.050.xml",
            "StatusUpdateRequest",
            false,
        ),
        (
            "invoice/ariba-invoice-1.2.035-line-shipping-special-handling-distribution.xml",
            "InvoiceDetailRequest",
            true,
        ),
        (
            "invoice/coupa-sample-invoice-1.2.020-tax-at-line.xml",
            "InvoiceDetailRequest",
            false,
        ),
        (
            "invoice/kfs-einvoice-1.2.014-default-namespace-license-comment.xml",
            "InvoiceDetailRequest",
            false,
        ),
    ];
    for (file, name, test) in cases {
        assert_eq!(request_name(file), (name.to_string(), test), "{file}");
    }
}

#[test]
fn profile_request_without_doctype_is_read() {
    let envelope = read(&corpus("other/profilerequest-no-doctype.xml")).unwrap();
    assert_eq!(envelope.payload_id, "payload-id");
    assert_eq!(
        envelope.body,
        Body::ProfileRequest {
            deployment_test: false
        }
    );
    let sender = &envelope.header.unwrap().sender[0];
    assert_eq!(
        sender.shared_secret.as_ref().unwrap().expose(),
        "abracadabra"
    );
}

#[test]
fn messages_are_classified_by_name() {
    for file in [
        "other/punchoutordermessage-1.2.036-composite-items-fr-CA.xml",
        "other/punchoutordermessage-birchstreet-1.2.041-java-date-empty-fields.xml",
        "other/punchoutordermessage-globalindustrial-1.2.021-messy-whitespace.xml",
    ] {
        let envelope = read(&corpus(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        let expected = Body::Message {
            name: "PunchOutOrderMessage".into(),
        };
        assert_eq!(envelope.body, expected, "{file}");
    }
}

#[test]
fn odd_corpus_timestamps_parse_or_stay_raw() {
    let cases = [
        (
            "other/coupa-punchoutsetuprequest-1.2.014-ruby-timestamp.xml",
            Some("2008-05-19T18:29:48+00:00"),
        ),
        (
            "other/punchoutordermessage-birchstreet-1.2.041-java-date-empty-fields.xml",
            Some("2025-10-08T03:59:32+00:00"),
        ),
        (
            "other/punchoutordermessage-1.2.036-composite-items-fr-CA.xml",
            Some("2018-01-01T00:00:00-05:00"),
        ),
        (
            "response/punchoutsetupresponse-1.1.010-version-mismatch-no-tz.xml",
            Some("2003-01-12T08:03:00+00:00"),
        ),
        (
            "other/punchoutsetuprequest-credentialmac-template-1.2.028.xml",
            None,
        ),
    ];
    for (file, expected) in cases {
        let envelope = read(&corpus(file)).unwrap();
        assert_eq!(envelope.timestamp, expected.map(time), "{file}");
    }
    let template = read(&corpus(
        "other/punchoutsetuprequest-credentialmac-template-1.2.028.xml",
    ))
    .unwrap();
    assert_eq!(template.timestamp_raw, "?");
}

#[test]
fn responses_are_read_with_code_and_text() {
    let cases = [
        ("response/cxmlorg-1.1.010-orderresponse-200.xml", 200, "OK"),
        (
            "response/profileresponse-transactions-options.xml",
            200,
            "OK",
        ),
        (
            "response/punchoutsetupresponse-1.1.010-version-mismatch-no-tz.xml",
            200,
            "OK",
        ),
        ("response/punchoutsetupresponse-1.2.040.xml", 200, "OK"),
        (
            "response/punchoutsetupresponse-200-1.2.020-no-doctype.xml",
            200,
            "OK",
        ),
        (
            "response/response-unknown-attribute-status-with-text.xml",
            200,
            "Ok",
        ),
        ("response/status-200-with-text-content-pong.xml", 200, "OK"),
        (
            "response/status-400-no-xml-declaration-java-exception.xml",
            400,
            "java.lang.Exception: missing required parameter 'document'",
        ),
        ("response/status-401-unauthorized.xml", 401, "Unauthorized"),
        (
            "response/status-450-not-implemented.xml",
            450,
            "Not Implemented",
        ),
    ];
    for (file, code, text) in cases {
        let envelope = read(&corpus(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        let expected = Body::Response {
            code,
            text: text.to_string(),
        };
        assert_eq!(envelope.body, expected, "{file}");
        assert!(envelope.header.is_none(), "{file}");
    }
}

#[test]
fn response_without_status_is_rejected() {
    let error = read(&corpus("response/response-with-unknown-child-element.xml")).unwrap_err();
    assert_eq!(error.status(), 406);
    assert!(error.to_string().contains("no <Status> element"), "{error}");
}

#[test]
fn raw_ampersand_document_is_not_well_formed() {
    let error = read(&corpus(
        "other/punchoutordermessage-userguide-malformed-raw-ampersand.xml",
    ))
    .unwrap_err();
    assert_eq!(error.status(), 406);
    let ReadError::NotWellFormed { line, message, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*line, 2);
    assert!(message.contains("payloadID"), "{message}");
    assert!(message.contains("&amp;"), "{message}");
}

#[test]
fn index_root_is_not_cxml() {
    let error = read(&corpus("other/index-root-element-catalog-1.2.063.xml")).unwrap_err();
    assert_eq!(
        error,
        ReadError::NotCxml {
            root: "Index".into()
        }
    );
    assert_eq!(error.status(), 406);
}

#[test]
fn every_corpus_document_is_read_or_rejected_clearly() {
    let mut files = Vec::new();
    for folder in ["order", "other", "response", "invoice"] {
        files.extend(corpus_files(folder));
    }
    assert!(files.len() >= 40, "{}", files.len());
    let mut rejected = Vec::new();
    for file in &files {
        if let Err(error) = read(&corpus(file)) {
            assert_eq!(error.status(), 406, "{file}: {error}");
            rejected.push(file.as_str());
        }
    }
    assert_eq!(
        rejected,
        [
            "other/index-root-element-catalog-1.2.063.xml",
            "other/punchoutordermessage-userguide-malformed-raw-ampersand.xml",
            "response/response-with-unknown-child-element.xml",
        ]
    );
}

#[test]
fn shared_secret_absent_from_json() {
    let (envelope, _) = read_order(&corpus(STAGING));
    let json = serde_json::to_string(&envelope).unwrap();
    assert!(!json.contains("alsdkfjalksdjflaksjdfklj"), "{json}");
    assert!(json.contains(REDACTED), "{json}");
    assert!(!format!("{envelope:?}").contains("alsdkfjalksdjflaksjdfklj"));
}
