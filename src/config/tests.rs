//! Reading, writing and validating documents (`docs/s3-behaviour.md`, §5 and §6).

#![allow(clippy::unwrap_used)]

use super::*;

const THREE_RULES_XML: &str = include_str!("../../tests/fixtures/three-rules.xml");
const THREE_RULES_JSON: &str = include_str!("../../tests/fixtures/three-rules.json");
const THREE_RULES_CONSOLE: &str = include_str!("../../tests/fixtures/three-rules.console.json");
const EXPOSE_XML: &str = include_str!("../../tests/fixtures/expose-max-age.xml");
const EXPOSE_JSON: &str = include_str!("../../tests/fixtures/expose-max-age.json");
const EXPOSE_CONSOLE: &str = include_str!("../../tests/fixtures/expose-max-age.console.json");

const MALFORMED: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";

fn xml_rules(rules: &str) -> String {
    format!("<CORSConfiguration>{rules}</CORSConfiguration>")
}

fn xml_rule(members: &str) -> String {
    xml_rules(&format!("<CORSRule>{members}</CORSRule>"))
}

/// Parses and validates, as `PutBucketCors` does.
fn put(doc: &str) -> Result<CorsConfiguration, ConfigError> {
    let config = CorsConfiguration::from_document(doc)?;
    config.validate()?;
    Ok(config)
}

fn put_err(doc: &str) -> ConfigError {
    put(doc).expect_err("the document must be refused")
}

#[track_caller]
fn assert_s3_error(err: &ConfigError, code: &str, message: &str) {
    assert_eq!(err.s3_code(), code, "{err}");
    assert_eq!(err.s3_message(), message, "{err}");
    assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
}

// ---- seed documents: every form reads to the same model, and round-trips ----

#[test]
fn three_rule_seed_reads_the_same_in_xml_and_both_json_shapes() {
    let xml = put(THREE_RULES_XML).unwrap();
    assert_eq!(xml.rules.len(), 3);
    assert_eq!(xml.rules[0].allowed_origins, ["http://www.example1.com"]);
    assert_eq!(xml.rules[0].allowed_methods, ["PUT", "POST", "DELETE"]);
    assert_eq!(xml.rules[2].allowed_origins, ["*"]);
    assert!(xml.rules[2].allowed_headers.is_empty());
    assert_eq!(put(THREE_RULES_JSON).unwrap(), xml);
    assert_eq!(put(THREE_RULES_CONSOLE).unwrap(), xml);
}

#[test]
fn expose_header_seed_reads_the_same_in_xml_and_both_json_shapes() {
    let xml = put(EXPOSE_XML).unwrap();
    let rule = &xml.rules[0];
    assert_eq!(rule.max_age_seconds, Some(3000));
    assert_eq!(
        rule.expose_headers,
        [
            "x-amz-server-side-encryption",
            "x-amz-request-id",
            "x-amz-id-2"
        ]
    );
    assert_eq!(put(EXPOSE_JSON).unwrap(), xml);
    assert_eq!(put(EXPOSE_CONSOLE).unwrap(), xml);
}

#[test]
fn xml_to_json_to_xml_is_the_identity_on_every_seed_document() {
    for doc in [
        THREE_RULES_XML,
        THREE_RULES_JSON,
        THREE_RULES_CONSOLE,
        EXPOSE_XML,
        EXPOSE_JSON,
        EXPOSE_CONSOLE,
    ] {
        let model = put(doc).unwrap();
        let xml = model.to_xml();
        let from_xml = CorsConfiguration::from_xml(&xml).unwrap();
        assert_eq!(from_xml, model);
        let from_json = CorsConfiguration::from_json(&from_xml.to_json()).unwrap();
        assert_eq!(from_json, model);
        assert_eq!(from_json.to_xml(), xml, "XML output is stable");
    }
}

#[test]
fn written_xml_has_declaration_namespace_and_s3_element_order() {
    let xml = put(EXPOSE_XML).unwrap().to_xml();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule>\
         <AllowedHeader>*</AllowedHeader>\
         <AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod>\
         <AllowedOrigin>http://www.example.com</AllowedOrigin>\
         <ExposeHeader>x-amz-server-side-encryption</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader>\
         <ExposeHeader>x-amz-id-2</ExposeHeader>\
         <MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    );
}

#[test]
fn written_json_has_only_the_members_that_are_set() {
    let config = CorsConfiguration::new().rule(
        CorsRule::new()
            .id("r1")
            .allowed_origin("*")
            .allowed_method("GET"),
    );
    let json: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"CORSRules": [{"ID": "r1", "AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})
    );
}

#[test]
fn values_keep_case_order_and_escapes_through_a_round_trip() {
    let config = CorsConfiguration::new().rule(
        CorsRule::new()
            .id("a<b>&c")
            .allowed_origins(["http://B.example", "http://a.example"])
            .allowed_methods(["PUT", "GET"])
            .allowed_headers(["X-Amz-Date", "content-type"])
            .expose_headers(["ETag", "x-amz-id-2"]),
    );
    let xml = config.to_xml();
    assert!(xml.contains("<ID>a&lt;b&gt;&amp;c</ID>"), "{xml}");
    assert_eq!(CorsConfiguration::from_xml(&xml).unwrap(), config);
    assert_eq!(
        CorsConfiguration::from_json(&config.to_json()).unwrap(),
        config
    );
}

// ---- XML form (`docs/s3-behaviour.md`, §5) ----

#[test]
fn xml_namespace_may_be_present_or_absent() {
    let rule =
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
    let plain = put(&xml_rules(rule)).unwrap();
    let namespaced = put(&format!(
        r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{rule}</CORSConfiguration>"#
    ))
    .unwrap();
    let prefixed = put(
        r#"<s3:CORSConfiguration xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:CORSRule>
           <s3:AllowedOrigin>*</s3:AllowedOrigin><s3:AllowedMethod>GET</s3:AllowedMethod>
           </s3:CORSRule></s3:CORSConfiguration>"#,
    )
    .unwrap();
    assert_eq!(plain, namespaced);
    assert_eq!(plain, prefixed);
}

#[test]
fn another_xml_namespace_is_malformed() {
    let err = put_err(
        r#"<CORSConfiguration xmlns="http://example.com/other"><CORSRule>
           <AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>
           </CORSRule></CORSConfiguration>"#,
    );
    assert_eq!(err.kind(), ConfigErrorKind::Malformed);
    assert_s3_error(&err, "MalformedXML", MALFORMED);
    let err =
        put_err(r#"<x:CORSConfiguration xmlns:x="urn:x"><x:CORSRule/></x:CORSConfiguration>"#);
    assert_eq!(err.kind(), ConfigErrorKind::Malformed);
}

#[test]
fn xml_element_order_inside_a_rule_is_free() {
    let a = put(&xml_rule(
        "<MaxAgeSeconds>5</MaxAgeSeconds><AllowedMethod>GET</AllowedMethod><ID>x</ID>\
         <AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>",
    ))
    .unwrap();
    let b = put(&xml_rule(
        "<ID>x</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
         <AllowedMethod>PUT</AllowedMethod><MaxAgeSeconds>5</MaxAgeSeconds>",
    ))
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.rules[0].allowed_methods, ["GET", "PUT"]);
}

#[test]
fn xml_structure_errors_are_malformed() {
    for doc in [
        "",
        "<CORSConfiguration>",
        "<CORSConfiguration><CORSRule></CORSConfiguration>",
        "<Other/>",
        "<CORSConfiguration><Rule/></CORSConfiguration>",
        &xml_rule(
            "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Color>red</Color>",
        ),
        &xml_rule("<AllowedOrigin><b>*</b></AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
        &xml_rules(
            "text<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
        ),
        "<CORSConfiguration/><CORSConfiguration/>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><CORSConfiguration/>",
        &xml_rule("<AllowedOrigin>&unknown;</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
        &xml_rule(
            "<ID>a</ID><ID>b</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
        ),
    ] {
        let err = CorsConfiguration::from_xml(doc).expect_err(doc);
        assert_eq!(err.kind(), ConfigErrorKind::Malformed, "{doc}: {err}");
        assert_s3_error(&err, "MalformedXML", MALFORMED);
    }
}

#[test]
fn xml_entities_cdata_and_empty_elements_are_read() {
    let config = put(&xml_rule(
        "<AllowedOrigin>http://a.example?x=1&amp;y=&#50;</AllowedOrigin>\
         <AllowedOrigin><![CDATA[http://<b>.example]]></AllowedOrigin>\
         <AllowedOrigin/>\
         <AllowedMethod>GET</AllowedMethod><!-- a comment -->",
    ))
    .unwrap();
    assert_eq!(
        config.rules[0].allowed_origins,
        ["http://a.example?x=1&y=2", "http://<b>.example", ""]
    );
}

#[test]
fn an_empty_configuration_element_has_no_rules() {
    let err = put_err(r#"<?xml version="1.0"?><CORSConfiguration/>"#);
    assert_eq!(err.kind(), ConfigErrorKind::NoRules);
    assert_s3_error(&err, "MalformedXML", MALFORMED);
}

// ---- JSON form ----

#[test]
fn json_unknown_keys_wrong_types_and_bad_syntax_are_malformed() {
    for doc in [
        "{",
        "[",
        r#"{"Rules": []}"#,
        r#"{"CORSRules": [{"AllowedOrigin": ["*"], "AllowedMethods": ["GET"]}]}"#,
        r#"{"CORSRules": [{"AllowedOrigins": "*", "AllowedMethods": ["GET"]}]}"#,
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedMethods": ["PUT"]}]"#,
        r#"{"CORSRules": {}}"#,
    ] {
        let err = CorsConfiguration::from_json(doc).expect_err(doc);
        assert_eq!(err.kind(), ConfigErrorKind::Malformed, "{doc}: {err}");
        assert_s3_error(&err, "MalformedXML", MALFORMED);
    }
}

#[test]
fn json_empty_arrays_mean_none() {
    let err = put_err(r#"[{"AllowedOrigins": [], "AllowedMethods": ["GET"]}]"#);
    assert_eq!(err.kind(), ConfigErrorKind::MissingAllowedOrigin);
    let err = put_err(r#"{"CORSRules": []}"#);
    assert_eq!(err.kind(), ConfigErrorKind::NoRules);
}

#[test]
fn the_format_is_told_by_the_first_character() {
    use super::DocumentFormat;
    assert_eq!(
        DocumentFormat::detect("  <CORSConfiguration/>"),
        Some(DocumentFormat::Xml)
    );
    assert_eq!(
        DocumentFormat::detect("\u{feff}[]"),
        Some(DocumentFormat::Json)
    );
    assert_eq!(DocumentFormat::detect("{}"), Some(DocumentFormat::Json));
    assert_eq!(DocumentFormat::detect("CORSRules"), None);
}

#[test]
fn undetectable_document_is_malformed() {
    let err = put_err("CORSRules: []");
    assert_eq!(err.kind(), ConfigErrorKind::Malformed);
    assert!(err.to_string().contains("neither XML"), "{err}");
}

// ---- validation: one test per row of `docs/s3-behaviour.md` §6 ----

#[test]
fn row_unsupported_method_names_the_first_offender() {
    for (methods, offender) in [
        (
            "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PATCH</AllowedMethod><AllowedMethod>COPY</AllowedMethod>",
            "PATCH",
        ),
        ("<AllowedMethod>get</AllowedMethod>", "get"),
        ("<AllowedMethod>OPTIONS</AllowedMethod>", "OPTIONS"),
        ("<AllowedMethod></AllowedMethod>", ""),
    ] {
        let err = put_err(&xml_rule(&format!(
            "<AllowedOrigin>*</AllowedOrigin>{methods}"
        )));
        assert_eq!(err.kind(), ConfigErrorKind::UnsupportedMethod);
        assert_s3_error(
            &err,
            "InvalidRequest",
            &format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {offender}"
            ),
        );
        assert_eq!(err.value(), Some(offender));
        assert_eq!(err.field(), Some("AllowedMethod"));
    }
}

#[test]
fn row_schema_violations_are_malformed_xml() {
    let cases = [
        (xml_rules(""), ConfigErrorKind::NoRules),
        (
            xml_rule("<AllowedMethod>GET</AllowedMethod>"),
            ConfigErrorKind::MissingAllowedOrigin,
        ),
        (
            xml_rule("<AllowedOrigin>*</AllowedOrigin>"),
            ConfigErrorKind::MissingAllowedMethod,
        ),
        (
            "<CORSConfiguration><CORSRule>".to_owned(),
            ConfigErrorKind::Malformed,
        ),
        (
            xml_rule(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>ten</MaxAgeSeconds>",
            ),
            ConfigErrorKind::InvalidMaxAge,
        ),
        (
            xml_rule(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds>",
            ),
            ConfigErrorKind::InvalidMaxAge,
        ),
        (
            xml_rule(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>1.5</MaxAgeSeconds>",
            ),
            ConfigErrorKind::InvalidMaxAge,
        ),
        (
            xml_rule(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
                      <MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>",
            ),
            ConfigErrorKind::InvalidMaxAge,
        ),
        (
            r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": -1}]"#
                .to_owned(),
            ConfigErrorKind::InvalidMaxAge,
        ),
        (
            r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 3.5}]"#
                .to_owned(),
            ConfigErrorKind::InvalidMaxAge,
        ),
    ];
    for (doc, kind) in cases {
        let err = put_err(&doc);
        assert_eq!(err.kind(), kind, "{doc}: {err}");
        assert_s3_error(&err, "MalformedXML", MALFORMED);
    }
}

#[test]
fn row_max_age_zero_and_surrounding_space_are_accepted() {
    let config = put(&xml_rule(
        "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds> 0 </MaxAgeSeconds>",
    ))
    .unwrap();
    assert_eq!(config.rules[0].max_age_seconds, Some(0));
}

#[test]
fn row_origin_with_two_wildcards() {
    let err = put_err(&xml_rule(
        "<AllowedOrigin>http://*.example.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
    ));
    assert_eq!(err.kind(), ConfigErrorKind::OriginWildcards);
    assert_s3_error(
        &err,
        "InvalidRequest",
        r#"AllowedOrigin "http://*.example.*" can not have more than one wildcard."#,
    );
}

#[test]
fn row_header_with_two_wildcards() {
    let err = put_err(&xml_rule(
        "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader>",
    ));
    assert_eq!(err.kind(), ConfigErrorKind::HeaderWildcards);
    assert_s3_error(
        &err,
        "InvalidRequest",
        r#"AllowedHeader "x-*-*" can not have more than one wildcard."#,
    );
}

#[test]
fn row_expose_header_with_a_wildcard() {
    let err = put_err(&xml_rule(
        "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-amz-*</ExposeHeader>",
    ));
    assert_eq!(err.kind(), ConfigErrorKind::ExposeHeaderWildcard);
    assert_s3_error(
        &err,
        "InvalidRequest",
        r#"ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard for ExposeHeader."#,
    );
}

#[test]
fn row_more_than_100_rules() {
    let rule =
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
    assert!(
        put(&xml_rules(&rule.repeat(100))).is_ok(),
        "100 rules are allowed"
    );
    let err = put_err(&xml_rules(&rule.repeat(101)));
    assert_eq!(err.kind(), ConfigErrorKind::TooManyRules);
    assert_s3_error(
        &err,
        "InvalidRequest",
        "The number of CORS rules should not exceed allowed limit of 100 rules.",
    );
}

#[test]
fn row_document_over_64_kib() {
    let rule =
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
    let mut doc = xml_rules(rule);
    let padding = MAX_DOCUMENT_BYTES - doc.len();
    doc.push_str(&" ".repeat(padding));
    assert_eq!(doc.len(), MAX_DOCUMENT_BYTES);
    assert!(put(&doc).is_ok(), "exactly 64 KiB is allowed");
    doc.push(' ');
    for err in [
        put_err(&doc),
        CorsConfiguration::from_xml(&doc).unwrap_err(),
        CorsConfiguration::from_document(&doc).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ConfigErrorKind::DocumentTooLarge);
        assert_s3_error(
            &err,
            "MalformedXML",
            "The CORS XML document is limited to 64 KB in size.",
        );
    }
}

/// JSON reaches S3 as XML (the AWS CLI and SDKs convert it): its size is
/// its XML's, not its text's.
#[test]
fn row_json_document_measured_as_s3_s_xml() {
    // Compact JSON under 64 KiB whose XML is over: 2,000 origins.
    let origins: Vec<String> = (0..2_000)
        .map(|i| format!("\"https://o{i}.example\""))
        .collect();
    let compact = format!(
        "[{{\"AllowedOrigins\":[{}],\"AllowedMethods\":[\"GET\"]}}]",
        origins.join(",")
    );
    assert!(compact.len() < MAX_DOCUMENT_BYTES, "{}", compact.len());
    for err in [
        CorsConfiguration::from_json(&compact).unwrap_err(),
        CorsConfiguration::from_document(&compact).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ConfigErrorKind::DocumentTooLarge);
        assert!(err.to_string().contains("as S3's XML"), "{err}");
    }
    // Indented JSON over 64 KiB whose XML is small.
    let indented = format!(
        "[{}{{\"AllowedOrigins\": [\"*\"], \"AllowedMethods\": [\"GET\"]}}]",
        " ".repeat(70_000)
    );
    assert!(CorsConfiguration::from_json(&indented).is_ok());
    assert!(CorsConfiguration::from_document(&indented).is_ok());
    // More than 1 MiB of text is not read.
    let huge = format!("[{}]", " ".repeat(1024 * 1024));
    let err = CorsConfiguration::from_json(&huge).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::DocumentTooLarge);
}

#[test]
fn row_id_over_255_characters() {
    let members = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>";
    // Characters, not bytes: 255 two-byte characters are fine.
    assert!(put(&xml_rule(&format!("<ID>{}</ID>{members}", "é".repeat(255)))).is_ok());
    let err = put_err(&xml_rule(&format!("<ID>{}</ID>{members}", "a".repeat(256))));
    assert_eq!(err.kind(), ConfigErrorKind::IdTooLong);
    assert_s3_error(
        &err,
        "InvalidArgument",
        "ID length should not exceed allowed limit of 255",
    );
}

#[test]
fn accepted_as_is_empty_origin_wildcard_beside_others_and_duplicate_ids() {
    let config = put(&xml_rules(
        "<CORSRule><ID>same</ID><AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>\
         <CORSRule><ID>same</ID><AllowedOrigin>http://a.example</AllowedOrigin><AllowedOrigin>*</AllowedOrigin>\
         <AllowedMethod>GET</AllowedMethod></CORSRule>",
    ))
    .unwrap();
    assert_eq!(config.rules.len(), 2);
}

#[test]
fn schema_errors_come_before_rule_errors_and_name_the_rule() {
    // Rule #1 has a bad method, rule #2 has no origin: S3 checks the schema first.
    let err = put_err(&xml_rules(
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule>\
         <CORSRule><ID>second</ID><AllowedMethod>GET</AllowedMethod></CORSRule>",
    ));
    assert_eq!(err.kind(), ConfigErrorKind::MissingAllowedOrigin);
    assert_eq!(err.rule_index(), Some(1));
    assert_eq!(err.rule_id(), Some("second"));
    assert_eq!(
        err.to_string(),
        r#"CORSRule #2 (ID "second"): AllowedOrigin: no AllowedOrigin"#
    );
}

#[test]
fn display_is_short_and_quotes_the_value() {
    let err = put_err(&xml_rule(
        "<ID>uploads</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>",
    ));
    assert_eq!(
        err.to_string(),
        r#"CORSRule #1 (ID "uploads"): AllowedMethod "PATCH": unsupported AllowedMethod"#
    );
    let debug = format!("{err:?}");
    assert!(
        debug.contains("UnsupportedMethod") && debug.contains("InvalidRequest"),
        "{debug}"
    );
}

#[test]
fn extended_methods_accept_tokens_but_not_garbage() {
    let extended = Validation::s3().allow_extended_methods();
    let with = |m: &str| {
        CorsConfiguration::new().rule(CorsRule::new().allowed_origin("*").allowed_method(m))
    };
    for ok in ["PATCH", "PROPFIND", "GET", "get"] {
        assert!(with(ok).validate_with(extended).is_ok(), "{ok}");
    }
    for bad in ["", "GET PUT", "GET,PUT", "(x)"] {
        let err = with(bad).validate_with(extended).unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::UnsupportedMethod, "{bad:?}");
    }
}

#[test]
fn expose_header_with_a_control_character_is_refused() {
    let config = CorsConfiguration::new().rule(
        CorsRule::new()
            .allowed_origin("*")
            .allowed_method("GET")
            .expose_header("x-bad\nheader"),
    );
    assert_eq!(
        config.validate().unwrap_err().kind(),
        ConfigErrorKind::InvalidExposeHeader
    );
}

#[test]
fn row_max_age_beyond_xs_int_is_malformed_xml_on_every_path() {
    let rule = |seconds: &str| {
        xml_rule(&format!(
            "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
             <MaxAgeSeconds>{seconds}</MaxAgeSeconds>"
        ))
    };
    let json = |seconds: &str| {
        format!(
            r#"[{{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": {seconds}}}]"#
        )
    };
    for seconds in ["2147483648", "4294967295", "4294967296", "99999999999"] {
        for doc in [rule(seconds), json(seconds)] {
            let err = CorsConfiguration::from_document(&doc).unwrap_err();
            assert_eq!(err.kind(), ConfigErrorKind::InvalidMaxAge, "{doc}");
            assert_eq!(err.field(), Some("MaxAgeSeconds"));
            assert_eq!(err.value(), Some(seconds));
            assert_s3_error(&err, "MalformedXML", MALFORMED);
        }
    }
    for doc in [rule("2147483647"), json("2147483647"), rule("+2147483647")] {
        assert_eq!(
            put(&doc).unwrap().rules[0].max_age_seconds,
            Some(MAX_AGE_SECONDS_LIMIT)
        );
    }
    // Built in code: refused at validation, and so by every store.
    for seconds in [2_147_483_648, u32::MAX] {
        let config = CorsConfiguration::new().rule(
            CorsRule::new()
                .id("r")
                .allowed_origin("*")
                .allowed_method("GET")
                .max_age_seconds(seconds),
        );
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::InvalidMaxAge);
        assert_eq!(err.rule_index(), Some(0));
        assert_eq!(err.rule_id(), Some("r"));
        assert_eq!(err.value(), Some(seconds.to_string().as_str()));
        assert_s3_error(&err, "MalformedXML", MALFORMED);
        assert!(crate::Policy::compile(&config).is_err());
    }
}

/// Every character XML 1.0 cannot carry, as the readers see them.
const NOT_XML: [char; 6] = ['\0', '\u{1}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'];

#[test]
fn values_xml_cannot_carry_are_refused_by_the_json_reader() {
    for c in NOT_XML {
        let escaped = format!("\\u{:04x}", u32::from(c));
        for (field, doc) in [
            (
                "AllowedOrigin",
                format!(
                    r#"[{{"AllowedOrigins": ["https://a{escaped}.example"], "AllowedMethods": ["GET"]}}]"#
                ),
            ),
            (
                "AllowedHeader",
                format!(
                    r#"{{"CORSRules": [{{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-{escaped}"]}}]}}"#
                ),
            ),
            (
                "ID",
                format!(
                    r#"[{{"ID": "r{escaped}", "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}}]"#
                ),
            ),
            (
                "AllowedMethod",
                format!(r#"[{{"AllowedOrigins": ["*"], "AllowedMethods": ["GET{escaped}"]}}]"#),
            ),
            (
                "ExposeHeader",
                format!(
                    r#"[{{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["{escaped}"]}}]"#
                ),
            ),
        ] {
            let err = CorsConfiguration::from_json(&doc).unwrap_err();
            assert_eq!(err.kind(), ConfigErrorKind::InvalidCharacter, "{doc}");
            assert_eq!(err.field(), Some(field), "{doc}");
            assert_eq!(err.rule_index(), Some(0));
            assert_s3_error(&err, "MalformedXML", MALFORMED);
            // People see the character escaped, never raw.
            assert!(!err.to_string().contains(c), "{err}");
        }
    }
}

#[test]
fn values_xml_cannot_carry_are_refused_by_the_xml_reader() {
    for c in NOT_XML {
        let code = u32::from(c);
        let mut docs = vec![
            xml_rule(&format!(
                "<AllowedOrigin>a&#{code};</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
            )),
            xml_rule(&format!(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ID>&#x{code:x};</ID>"
            )),
        ];
        if c != '\0' {
            // quick-xml refuses a raw NUL itself; the others reach our check.
            docs.push(xml_rule(&format!(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x{c}</AllowedHeader>"
            )));
        }
        for doc in docs {
            let err = CorsConfiguration::from_xml(&doc).unwrap_err();
            assert_s3_error(&err, "MalformedXML", MALFORMED);
            if code != 0 {
                assert_eq!(err.kind(), ConfigErrorKind::InvalidCharacter, "{doc:?}");
            }
        }
    }
    // Form feed is not XML white space, even between elements.
    let err = CorsConfiguration::from_xml(&xml_rules("\u{c}")).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Malformed);
}

#[test]
fn values_xml_cannot_carry_are_refused_at_validation() {
    for c in NOT_XML {
        let rule = || CorsRule::new().allowed_origin("*").allowed_method("GET");
        for (field, rule) in [
            ("ID", rule().id(format!("id{c}"))),
            (
                "AllowedOrigin",
                rule().allowed_origin(format!("https://{c}")),
            ),
            ("AllowedHeader", rule().allowed_header(c.to_string())),
            ("AllowedMethod", rule().allowed_method(format!("{c}"))),
            ("ExposeHeader", rule().expose_header(format!("x{c}"))),
        ] {
            let config = CorsConfiguration::new().rule(rule);
            let err = config
                .validate_with(Validation::s3().allow_extended_methods())
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ConfigErrorKind::InvalidCharacter,
                "{field} {c:?}"
            );
            assert_eq!(err.field(), Some(field));
            assert_s3_error(&err, "MalformedXML", MALFORMED);
        }
    }
}

#[test]
fn tab_line_feed_and_carriage_return_are_kept_and_written_back() {
    let config = CorsConfiguration::new().rule(
        CorsRule::new()
            .id("a\tb\nc\rd")
            .allowed_origin("https://x\r\n")
            .allowed_method("GET")
            .allowed_header("x\t"),
    );
    config.validate().unwrap();
    assert_eq!(
        CorsConfiguration::from_xml(&config.to_xml()).unwrap(),
        config
    );
    assert_eq!(
        CorsConfiguration::from_json(&config.to_json()).unwrap(),
        config
    );
}
