//! Property tests: a generated `Response`, written with `write_response` or
//! `write_profile_response` and read back with pobridge's reader and with an
//! XML 1.0 reader (`xml_tree`), keeps every value.

mod common;
mod generate;
mod xml_tree;

use generate::*;
use pobridge_cxml::{read_envelope, write_profile_response, write_response, Body, Limits};
use proptest::prelude::*;

fn status_detail() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn transactions() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::vec((required_text(), prop::option::of(text())), 1..4)
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn written_response_reads_back_every_value(
        payload_id in required_text(),
        timestamp in timestamp(),
        code in any::<u16>(),
        status_text in text(),
        detail in status_detail(),
    ) {
        let xml = write_response(&payload_id, timestamp, code, &status_text, detail.as_deref());

        let root = xml_tree::parse(&xml);
        assert_eq!(root.attr("payloadID"), Some(xml_safe(&payload_id).as_str()));
        assert_same_time(root.attr("timestamp").expect("a timestamp"), &timestamp, "timestamp");
        let status = root.at(&["Response", "Status"]);
        assert_eq!(status.attr("code"), Some(code.to_string().as_str()));
        assert_eq!(status.attr("text"), Some(xml_safe(&status_text).as_str()));
        assert_eq!(status.own_text(), xml_safe(detail.as_deref().unwrap_or("")));

        let envelope = read_envelope(xml.as_bytes(), &Limits::default())
            .unwrap_or_else(|error| panic!("pobridge cannot read its own response: {error}"));
        assert_eq!(envelope.payload_id, xml_safe(&payload_id));
        let read_time = envelope.timestamp.expect("a readable timestamp");
        assert_eq!(read_time, timestamp);
        assert_eq!(read_time.offset(), timestamp.offset());
        assert_eq!(
            envelope.body,
            Body::Response { code, text: xml_safe(&status_text) }
        );
    }

    #[test]
    fn written_profile_response_reads_back_every_value(
        payload_id in required_text(),
        timestamp in timestamp(),
        transactions in transactions(),
    ) {
        let borrowed: Vec<(&str, Option<&str>)> = transactions
            .iter()
            .map(|(name, url)| (name.as_str(), url.as_deref()))
            .collect();
        let xml = write_profile_response(&payload_id, timestamp, &borrowed);

        let root = xml_tree::parse(&xml);
        assert_eq!(root.attr("payloadID"), Some(xml_safe(&payload_id).as_str()));
        let response = root.at(&["Response"]);
        assert_eq!(response.at(&["Status"]).attr("code"), Some("200"));
        let profile = response.at(&["ProfileResponse"]);
        let effective_date = profile.attr("effectiveDate").expect("an effectiveDate");
        assert_same_time(effective_date, &timestamp, "effectiveDate");
        let written: Vec<(String, String)> = profile
            .all("Transaction")
            .map(|transaction| {
                let name = transaction.attr("requestName").unwrap_or_default().to_string();
                (name, transaction.at(&["URL"]).own_text())
            })
            .collect();
        let expected: Vec<(String, String)> = transactions
            .iter()
            .map(|(name, url)| (xml_safe(name), xml_safe(url.as_deref().unwrap_or(""))))
            .collect();
        assert_eq!(written, expected);

        let envelope = read_envelope(xml.as_bytes(), &Limits::default())
            .unwrap_or_else(|error| panic!("pobridge cannot read its own response: {error}"));
        assert_eq!(envelope.body, Body::Response { code: 200, text: "OK".into() });
    }
}
