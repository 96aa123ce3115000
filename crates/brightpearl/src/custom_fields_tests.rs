use super::*;

fn meta(field_type: CustomFieldType) -> CustomFieldMeta {
    CustomFieldMeta {
        id: 1,
        code: "PCF_TEST".into(),
        name: "Test".into(),
        field_type,
        required: false,
        options: vec![(160, "Coupa".into()), (161, "Phone".into())],
        raw: Value::Null,
    }
}

#[test]
fn values_take_the_field_type() {
    let cases = [
        (
            CustomFieldType::Text,
            json!(42),
            CustomFieldValue::Text("42".into()),
        ),
        (
            CustomFieldType::TextArea,
            json!("x"),
            CustomFieldValue::Text("x".into()),
        ),
        (
            CustomFieldType::Integer,
            json!("17"),
            CustomFieldValue::Integer(17),
        ),
        (
            CustomFieldType::Integer,
            json!(17),
            CustomFieldValue::Integer(17),
        ),
        (
            CustomFieldType::YesNo,
            json!("yes"),
            CustomFieldValue::YesNo(true),
        ),
        (
            CustomFieldType::YesNo,
            json!("false"),
            CustomFieldValue::YesNo(false),
        ),
        (
            CustomFieldType::YesNo,
            json!(true),
            CustomFieldValue::YesNo(true),
        ),
        (
            CustomFieldType::Date,
            json!("2024-06-03"),
            CustomFieldValue::Date(NaiveDate::from_ymd_opt(2024, 6, 3).unwrap()),
        ),
        (
            CustomFieldType::Select,
            json!("phone"),
            CustomFieldValue::Select(161),
        ),
        (
            CustomFieldType::Select,
            json!(160),
            CustomFieldValue::Select(160),
        ),
        (
            CustomFieldType::Select,
            json!({"id": 161}),
            CustomFieldValue::Select(161),
        ),
        (CustomFieldType::Select, json!(null), CustomFieldValue::Null),
    ];
    for (field_type, input, expected) in cases {
        let value = CustomFieldValue::from_json(&meta(field_type.clone()), &input);
        assert_eq!(value, Ok(expected), "{field_type:?} {input}");
    }
}

#[test]
fn mismatched_values_are_rejected_with_the_code() {
    let cases = [
        (CustomFieldType::Integer, json!("twelve")),
        (CustomFieldType::YesNo, json!("perhaps")),
        (CustomFieldType::Date, json!("next week")),
        (CustomFieldType::Select, json!("Fax")),
        (CustomFieldType::Select, json!(999)),
        (CustomFieldType::Text, json!({"a": 1})),
        (CustomFieldType::Other("COLOUR".into()), json!("red")),
    ];
    for (field_type, input) in cases {
        let error = CustomFieldValue::from_json(&meta(field_type.clone()), &input).unwrap_err();
        assert_eq!(error.code, "PCF_TEST", "{field_type:?}");
        assert!(error.to_string().contains(&input.to_string()), "{error}");
    }
}

fn metadata() -> Vec<CustomFieldMeta> {
    let field = |code: &str, field_type| CustomFieldMeta {
        code: code.into(),
        ..meta(field_type)
    };
    vec![
        field("PCF_COUPAPO", CustomFieldType::Text),
        field("PCF_APPROVED", CustomFieldType::YesNo),
        field("PCF_CHANNEL", CustomFieldType::Select),
        field("PCF_DUE", CustomFieldType::Date),
        field("PCF_COUNT", CustomFieldType::Integer),
    ]
}

#[test]
fn patch_body_types_values_and_skips_nulls() {
    let body = patch_body(
        &[
            CustomFieldOp::Add {
                code: "PCF_COUPAPO".into(),
                value: json!("PO-104233"),
            },
            CustomFieldOp::Add {
                code: "PCF_APPROVED".into(),
                value: json!("true"),
            },
            CustomFieldOp::Replace {
                code: "PCF_CHANNEL".into(),
                value: json!("Coupa"),
            },
            CustomFieldOp::Add {
                code: "PCF_DUE".into(),
                value: json!("2024-06-03"),
            },
            CustomFieldOp::Add {
                code: "PCF_COUNT".into(),
                value: json!("12"),
            },
            CustomFieldOp::Add {
                code: "PCF_COUPAPO".into(),
                value: Value::Null,
            },
            CustomFieldOp::Remove {
                code: "PCF_COUPAREQ".into(),
            },
        ],
        &metadata(),
    )
    .unwrap();
    insta::assert_json_snapshot!(body);
}

#[test]
fn patch_body_rejects_unknown_codes_and_bad_values() {
    let unknown = patch_body(
        &[CustomFieldOp::Add {
            code: "PCF_NOPE".into(),
            value: json!("x"),
        }],
        &metadata(),
    )
    .unwrap_err();
    assert_eq!(unknown.kind(), &ErrorKind::Other);
    assert!(unknown.to_string().contains("PCF_NOPE"), "{unknown}");

    let mismatched = patch_body(
        &[CustomFieldOp::Add {
            code: "PCF_APPROVED".into(),
            value: json!("perhaps"),
        }],
        &metadata(),
    )
    .unwrap_err();
    assert!(
        mismatched.to_string().contains("PCF_APPROVED"),
        "{mismatched}"
    );
}

#[test]
fn metadata_round_trips_through_raw() {
    let raw = json!({"id": 133, "code": "PCF_APPROVED", "name": "Approved", "customFieldType": "YES_NO", "required": true});
    let meta = CustomFieldMeta::from_raw(raw.clone()).unwrap();
    assert_eq!(meta.field_type, CustomFieldType::YesNo);
    assert!(meta.required);
    assert_eq!(meta.raw, raw);
}

#[test]
fn metadata_reads_select_options() {
    let path = format!(
        "{}/../../../shared/corpus/brightpearl/order-custom-field-metadata-sale-get.response.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (wire, raw) = crate::envelope::decode_items::<MetaWire>(&body)
        .unwrap()
        .remove(0);
    let meta = wire.into_meta(raw).unwrap();

    assert_eq!(meta.code, "PCF_TIPONEG");
    assert_eq!(meta.field_type, CustomFieldType::Select);
    assert_eq!(meta.options.len(), 5);
    assert_eq!(
        meta.options[0],
        (156, "Negocio Pequeno ($0-$10K)".to_owned())
    );
    assert_eq!(
        CustomFieldValue::from_json(&meta, &json!("regalos")),
        Ok(CustomFieldValue::Select(159))
    );
}

#[test]
fn pointer_escapes_slash_and_tilde() {
    assert_eq!(pointer("PCF_A/B~C"), "/PCF_A~1B~0C");
}
