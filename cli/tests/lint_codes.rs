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
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "PUT"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]"#,
    );
    // An S3 POST-policy upload from a form sends no preflight, and a
    // presigned DELETE lists no header: neither rule is flagged.
    for negative in [
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "POST"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["POST"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "DELETE"]}]"#,
    ] {
        let found = codes(negative);
        assert!(
            !found.iter().any(|(c, _)| c == "preflight-without-headers"),
            "{negative}: {found:?}"
        );
    }
}

/// The fix `lint` suggests for the first finding of `code` in `doc`.
fn fix_of(doc: &str, code: &str) -> String {
    let out = s3_cors(&["lint", "-", "--format", "json"], Some(doc));
    let report = json(&out.stdout);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {report}"))["fix"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn origins_wrapped_listed_empty_or_from_files() {
    // An XML document indented by an editor: the value keeps its white space.
    let indented = "<CORSConfiguration>\n  <CORSRule>\n    <AllowedOrigin>\n      https://app.example.com\n    </AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n  </CORSRule>\n</CORSConfiguration>";
    let tidy = "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
    check("origin-whitespace", Some(1), indented, tidy);
    assert_eq!(
        fix_of(indented, "origin-whitespace"),
        "AllowedOrigin \"https://app.example.com\""
    );
    check(
        "origin-whitespace",
        Some(1),
        &origin_doc("https://app.example.com "),
        &origin_doc("https://app.example.com"),
    );

    let listed = origin_doc("https://a.example,https://b.example");
    check(
        "origin-list",
        Some(1),
        &listed,
        r#"[{"AllowedOrigins": ["https://a.example", "https://b.example"], "AllowedMethods": ["GET"]}]"#,
    );
    assert_eq!(
        fix_of(&listed, "origin-list"),
        "split it: AllowedOrigin \"https://a.example\" and AllowedOrigin \"https://b.example\""
    );
    assert_eq!(
        codes(&listed),
        [("origin-list".to_owned(), Some(1))],
        "one finding, not a path and a port"
    );
    check(
        "origin-list",
        Some(1),
        &origin_doc("https://a.example https://b.example"),
        &origin_doc("https://a.example"),
    );

    check(
        "origin-empty",
        Some(1),
        &origin_doc(""),
        &origin_doc("https://a.example"),
    );
    assert_eq!(
        fix_of(&origin_doc(""), "origin-empty"),
        "remove this empty AllowedOrigin"
    );

    check(
        "origin-file-scheme",
        Some(1),
        &origin_doc("file://"),
        &origin_doc("http://localhost:8080"),
    );
    assert!(fix_of(&origin_doc("file://"), "origin-file-scheme").starts_with("remove it"));
}

#[test]
fn origin_every_site() {
    for every in ["https://*", "http://*", "https://*:8443"] {
        check(
            "origin-every-site",
            Some(1),
            &origin_doc(every),
            &origin_doc("https://*.example.com"),
        );
        assert!(
            !codes(&origin_doc(every))
                .iter()
                .any(|(c, _)| c == "wildcard-origin-credentials"),
            "{every} is reported once, as the warning"
        );
    }
    check(
        "origin-every-site",
        Some(1),
        &origin_doc("https://*"),
        &origin_doc("*"),
    );
}

#[test]
fn origin_anyone_can_host() {
    for open in [
        "https://*.vercel.app",
        "https://*.netlify.app",
        "https://*.github.io",
        // The list has up.railway.app, under which Railway's customers publish.
        "https://*.railway.app",
        "https://myapp-*.vercel.app",
        "https://*.com",
        // The dot left out: https://attackerexample.com matches.
        "https://*example.com",
        // Nothing after the '*': https://app.example.com.attacker.net matches.
        "https://app.example.com*",
    ] {
        check(
            "origin-anyone-can-host",
            Some(1),
            &origin_doc(open),
            &origin_doc("https://*.example.com"),
        );
    }
    for owned in [
        "https://*.myapp.vercel.app",
        "http://localhost:*",
        "https://app-*.example.com",
        "*.example.com",
    ] {
        let found = codes(&origin_doc(owned));
        assert_eq!(
            found,
            [("wildcard-origin-credentials".to_owned(), Some(1))],
            "{owned}"
        );
    }
}

#[test]
fn upload_without_content_type() {
    // ActiveStorage's direct uploads, with Content-Type left out.
    check(
        "upload-without-content-type",
        Some(1),
        r#"[{"AllowedHeaders": ["Content-MD5", "Content-Disposition"], "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://www.example.com"], "MaxAgeSeconds": 3600}]"#,
        r#"[{"AllowedHeaders": ["Content-Type", "Content-MD5", "Content-Disposition"], "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://www.example.com"], "MaxAgeSeconds": 3600}]"#,
    );
    // A pattern that admits it is enough.
    check(
        "upload-without-content-type",
        Some(1),
        r#"[{"AllowedHeaders": ["x-amz-*"], "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://a.example"]}]"#,
        r#"[{"AllowedHeaders": ["x-amz-*", "content-*"], "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://a.example"]}]"#,
    );
    // POST with headers but without content-type: form uploads do not list it.
    check(
        "upload-without-content-type",
        Some(1),
        r#"[{"AllowedHeaders": ["Authorization"], "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["https://a.example"]}]"#,
        r#"[{"AllowedHeaders": ["Authorization"], "AllowedMethods": ["GET", "POST"], "AllowedOrigins": ["https://a.example"]}]"#,
    );
}

#[test]
fn expose_header_is_method() {
    check(
        "expose-header-is-method",
        Some(1),
        r#"{"CORSRules": [{"AllowedHeaders": ["Authorization"], "AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"], "ExposeHeaders": ["GET", "PUT"]}]}"#,
        r#"{"CORSRules": [{"AllowedHeaders": ["Authorization"], "AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"], "ExposeHeaders": ["ETag"]}]}"#,
    );
}

#[test]
fn redundant_entry() {
    check(
        "redundant-entry",
        Some(1),
        r#"[{"AllowedOrigins": ["*", "https://app.example.com"], "AllowedMethods": ["GET"]}]"#,
        r#"[{"AllowedOrigins": ["https://app.example.com", "https://www.example.com"], "AllowedMethods": ["GET"]}]"#,
    );
    check(
        "redundant-entry",
        Some(1),
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*", "Content-Type"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*", "Content-Type"]}]"#,
    );
    check(
        "redundant-entry",
        Some(1),
        r#"[{"AllowedOrigins": ["https://*.example.com", "https://app.example.com"], "AllowedMethods": ["GET"]}]"#,
        r#"[{"AllowedOrigins": ["https://*.example.com", "https://example.com"], "AllowedMethods": ["GET"]}]"#,
    );
}

#[test]
fn header_never_requested() {
    check(
        "header-never-requested",
        Some(1),
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["Content-Type", "Origin", "Host", "Access-Control-Request-Method"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["Content-Type", "Authorization", "x-amz-*"]}]"#,
    );
}

#[test]
fn http_origin_writes() {
    check(
        "http-origin-writes",
        Some(1),
        r#"[{"AllowedOrigins": ["http://www.example.com", "https://www.example.com"], "AllowedMethods": ["PUT", "POST", "DELETE"], "AllowedHeaders": ["*"]}]"#,
        r#"[{"AllowedOrigins": ["http://www.example.com", "https://www.example.com"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]}]"#,
    );
    check(
        "http-origin-writes",
        Some(1),
        r#"[{"AllowedOrigins": ["http://www.example.com", "https://www.example.com"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]"#,
        r#"[{"AllowedOrigins": ["http://localhost:3000", "https://localhost:3000", "http://legacy.example.com"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]"#,
    );
}

#[test]
fn etag_not_exposed() {
    check(
        "etag-not-exposed",
        Some(1),
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"], "ExposeHeaders": ["etag"]}]"#,
    );
}

/// Documents people publish for the usual set-ups: no warning and no
/// error on any of them (information may be reported).
#[test]
fn ordinary_documents_have_no_warning() {
    for doc in [
        // The AWS documentation's example.
        r#"[{"AllowedHeaders": ["*"], "AllowedMethods": ["PUT", "POST", "DELETE"], "AllowedOrigins": ["http://www.example1.com"], "ExposeHeaders": []},
            {"AllowedHeaders": ["*"], "AllowedMethods": ["PUT", "POST", "DELETE"], "AllowedOrigins": ["http://www.example2.com"], "ExposeHeaders": []},
            {"AllowedHeaders": [], "AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "ExposeHeaders": []}]"#,
        // Uppy's AWS S3 plugin.
        r#"{"CORSRules": [{"AllowedOrigins": ["https://my-app.com"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 3000,
            "AllowedHeaders": ["Authorization", "x-amz-date", "x-amz-content-sha256", "content-type"], "ExposeHeaders": ["ETag", "Location"]},
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 3000}]}"#,
        // Rails ActiveStorage direct uploads.
        r#"[{"AllowedHeaders": ["Content-Type", "Content-MD5", "Content-Disposition"], "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://www.example.com"], "MaxAgeSeconds": 3600}]"#,
        // A form upload with an S3 POST policy, and public reads.
        r#"[{"AllowedOrigins": ["https://www.example.com"], "AllowedMethods": ["GET", "POST"]}, {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]}]"#,
        // Cloudflare R2's example.
        r#"[{"AllowedOrigins": ["http://localhost:3000", "https://example.com"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["Content-Type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}]"#,
        // A LocalStack init script.
        r#"{"CORSRules": [{"AllowedHeaders": ["*"], "AllowedMethods": ["GET", "POST", "PUT", "DELETE"], "AllowedOrigins": ["http://localhost:3000"], "ExposeHeaders": ["ETag"]}]}"#,
        // Terraform's aws_s3_bucket_cors_configuration example, converted.
        r#"{"CORSRules": [{"AllowedHeaders": ["*"], "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["https://s3-website-test.hashicorp.com"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000},
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}"#,
        // MinIO / Wasabi, in S3's XML.
        "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>",
        // Subdomains of one's own domain, and every port of localhost.
        r#"[{"AllowedOrigins": ["https://*.example.com", "http://localhost:*"], "AllowedMethods": ["GET", "HEAD"]}]"#,
    ] {
        let out = s3_cors(&["lint", "-", "--format", "json"], Some(doc));
        let report = json(&out.stdout);
        assert_eq!(out.status, 0, "{doc}\n{report}");
        assert_eq!(report["summary"]["warning"], 0, "{report}");
    }
}

#[test]
fn options_in_allowed_method_has_its_own_fix() {
    let doc =
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "OPTIONS"]}]"#;
    assert!(
        fix_of(doc, "invalid-document").starts_with("remove OPTIONS; S3 answers preflights itself"),
        "{}",
        fix_of(doc, "invalid-document")
    );
    let out = s3_cors(&["validate", "-"], Some(doc));
    assert!(
        out.stdout
            .contains("fix:      remove OPTIONS; S3 answers preflights itself"),
        "{}",
        out.stdout
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
    assert_eq!(table.len(), 26, "{table:?}");
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
