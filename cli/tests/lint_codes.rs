//! One document that shows each lint code and one, as close as possible,
//! that must not: every code is reported where it applies and nowhere else.
//! Documents go through standard input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{json, s3_cors};

/// The codes reported for `doc` (console or CLI JSON), with their rule
/// numbers.
fn codes(doc: &str) -> Vec<(String, Option<u64>)> {
    let out = s3_cors(&["lint", "-", "--format", "json"], Some(doc));
    assert!(out.status == 0 || out.status == 1, "{}", out.stderr);
    let report = json(&out.stdout);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f["rule"].as_u64()))
        .collect()
}

/// `[{"AllowedOrigins": [origin], "AllowedMethods": ["GET"]}]`.
fn origin_doc(origin: &str) -> String {
    format!(
        r#"[{{"AllowedOrigins": [{}], "AllowedMethods": ["GET"]}}]"#,
        serde_json::to_string(origin).unwrap()
    )
}

/// `code` is reported for `positive` at `rule`, and not for `negative`.
fn check(code: &str, rule: Option<u64>, positive: &str, negative: &str) {
    let found = codes(positive);
    assert!(
        found.contains(&(code.to_owned(), rule)),
        "{code} not reported at rule {rule:?} for {positive}: {found:?}"
    );
    let found = codes(negative);
    assert!(
        !found.iter().any(|(c, _)| c == code),
        "{code} reported for {negative}: {found:?}"
    );
}

#[test]
fn invalid_document() {
    check(
        "invalid-document",
        Some(1),
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#,
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#,
    );
}

#[test]
fn shadowed_rule() {
    let earlier = r#"{"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["X-Amz-*"]}"#;
    let later = r#"{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-date"]}"#;
    let wider = r#"{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-date", "content-type"]}"#;
    check(
        "shadowed-rule",
        Some(2),
        &format!("[{earlier}, {later}]"),
        &format!("[{earlier}, {wider}]"),
    );
    // The other order: the narrower rule first decides some requests.
    check(
        "shadowed-rule",
        Some(2),
        &format!("[{earlier}, {later}]"),
        &format!("[{later}, {earlier}]"),
    );
    // The finding names the rule that shadows.
    let out = s3_cors(
        &["lint", "-", "--format", "json"],
        Some(&format!(r#"{{"CORSRules": [{earlier}, {later}]}}"#)),
    );
    let report = json(&out.stdout);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "shadowed-rule")
        .unwrap();
    assert_eq!(finding["shadowed_by"]["rule"], 1);
}

#[test]
fn origins_that_never_match() {
    for (code, bad, good) in [
        (
            "origin-trailing-slash",
            "https://a.example/",
            "https://a.example",
        ),
        (
            "origin-has-path",
            "https://a.example/app",
            "https://a.example",
        ),
        (
            "origin-not-lowercase",
            "https://A.example",
            "https://a.example",
        ),
        (
            "origin-default-port",
            "https://a.example:443",
            "https://a.example:8443",
        ),
        (
            "origin-not-ascii",
            "https://bücher.example",
            "https://xn--bcher-kva.example",
        ),
        ("origin-no-scheme", "a.example", "*.a.example"),
        ("origin-null", "null", "https://null.example"),
    ] {
        check(code, Some(1), &origin_doc(bad), &origin_doc(good));
    }
}

#[test]
fn duplicate_entry() {
    check(
        "duplicate-entry",
        Some(1),
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-a", "X-A"]}]"#,
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-a", "x-b"]}]"#,
    );
}

#[test]
fn public_write() {
    check(
        "public-write",
        Some(1),
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]"#,
    );
}

#[test]
fn wildcard_origin_credentials() {
    check(
        "wildcard-origin-credentials",
        Some(1),
        &origin_doc("https://*.a.example"),
        &origin_doc("*"),
    );
}

#[test]
fn max_age_over_browser_cap() {
    check(
        "max-age-over-browser-cap",
        Some(1),
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 7201}]"#,
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 7200}]"#,
    );
}

#[test]
fn preflight_without_headers() {
    check(
        "preflight-without-headers",
        Some(1),
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "DELETE"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "DELETE"], "AllowedHeaders": ["*"]}]"#,
    );
    check(
        "preflight-without-headers",
        Some(1),
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["POST"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "HEAD"]}]"#,
    );
}

#[test]
fn allow_silences_a_code_and_deny_info_counts_info() {
    let doc = origin_doc("https://*.a.example");
    // An info finding does not fail the run by default...
    let out = s3_cors(&["lint", "-"], Some(&doc));
    assert_eq!(out.status, 0, "{}", out.stdout);
    assert!(out.stdout.contains("info[wildcard-origin-credentials]"));
    // ...does with --deny info...
    assert_eq!(
        s3_cors(&["lint", "-", "--deny", "info"], Some(&doc)).status,
        1
    );
    // ...and is gone with --allow.
    let out = s3_cors(
        &[
            "lint",
            "-",
            "--deny",
            "info",
            "--allow",
            "wildcard-origin-credentials",
        ],
        Some(&doc),
    );
    assert_eq!(out.status, 0);
    assert!(out.stdout.contains("no findings"), "{}", out.stdout);
    // A warning fails the run unless it is allowed or only errors are denied.
    let doc = origin_doc("https://a.example/");
    assert_eq!(s3_cors(&["lint", "-"], Some(&doc)).status, 1);
    assert_eq!(
        s3_cors(&["lint", "-", "--deny", "error"], Some(&doc)).status,
        0
    );
    assert_eq!(
        s3_cors(
            &["lint", "-", "--allow", "origin-trailing-slash"],
            Some(&doc)
        )
        .status,
        0
    );
}

#[test]
fn unknown_codes_are_usage_errors() {
    let out = s3_cors(&["lint", "-", "--allow", "no-such-code"], Some("[]"));
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("shadowed-rule"),
        "lists the codes: {}",
        out.stderr
    );
}

/// The codes and severities `lint --help` lists.
fn help_table() -> Vec<(String, String)> {
    let out = s3_cors(&["lint", "--help"], None);
    assert_eq!(out.status, 0);
    out.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Lint codes"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace();
            (
                words.next().unwrap().to_owned(),
                words.next().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_code_is_documented_in_help_explain_and_readme() {
    let table = help_table();
    assert_eq!(table.len(), 14, "{table:?}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (code, severity) in &table {
        let out = s3_cors(&["lint", "--explain", code], None);
        assert_eq!(out.status, 0);
        assert!(
            out.stdout.starts_with(&format!("{code} ({severity})")),
            "{}",
            out.stdout
        );
        assert!(
            readme.contains(&format!("| `{code}` | {severity} |")),
            "cli/README.md lacks a table row for {code} ({severity})"
        );
    }
}
