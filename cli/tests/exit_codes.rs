//! Exit statuses, standard input, and documents that are not documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{data_dir, json, s3_cors};

const VALID_XML: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                         <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

#[test]
fn validate_exits_0_1_or_2() {
    assert_eq!(
        s3_cors(&["validate", "uploads.xml", "console.json"], None).status,
        0
    );
    assert_eq!(
        s3_cors(&["validate", "uploads.xml", "bad-method.json"], None).status,
        1
    );
    assert_eq!(s3_cors(&["validate", "malformed.xml"], None).status, 1);

    // A file that cannot be read: 2, and the other files are still checked.
    let out = s3_cors(&["validate", "no-such-file.xml", "bad-method.json"], None);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("no-such-file.xml: cannot read"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("bad-method.json:3:92: invalid"),
        "{}",
        out.stdout
    );
    let out = s3_cors(&["validate", "no-such-file.xml", "--format", "json"], None);
    assert_eq!(out.status, 2);
    assert_eq!(json(&out.stdout)["files"][0]["status"], "unreadable");

    // Usage errors.
    assert_eq!(s3_cors(&["validate"], None).status, 2);
    assert_eq!(
        s3_cors(&["validate", "x", "--no-such-flag"], None).status,
        2
    );
    assert_eq!(s3_cors(&["no-such-command"], None).status, 2);
    assert_eq!(
        s3_cors(&["validate", "x", "--format", "yaml"], None).status,
        2
    );
    assert_eq!(s3_cors(&[], None).status, 2);
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["validate", "--help"],
        &["lint", "--help"],
        &["explain", "--help"],
        &["convert", "--help"],
        &["fmt", "--help"],
        &["diff", "--help"],
    ] {
        let out = s3_cors(args, None);
        assert_eq!(out.status, 0, "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn every_command_reads_standard_input() {
    let out = s3_cors(&["validate", "-"], Some(VALID_XML));
    assert_eq!(out.status, 0);
    assert_eq!(
        out.stdout,
        "<stdin>: valid (xml document, 1 rule, 213 bytes as S3's XML)\n"
    );

    let out = s3_cors(&["lint", "-"], Some(VALID_XML));
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "<stdin>: no findings\n")
    );

    let out = s3_cors(
        &[
            "explain",
            "-",
            "--origin",
            "https://a.example",
            "--method",
            "GET",
            "--format",
            "json",
        ],
        Some(VALID_XML),
    );
    assert_eq!(out.status, 0);
    assert_eq!(json(&out.stdout)["matched_rule"], 1);

    let out = s3_cors(&["convert", "-", "--to", "console"], Some(VALID_XML));
    assert_eq!(out.status, 0);
    assert_eq!(
        out.stdout,
        "[\n  {\n    \"AllowedMethods\": [\"GET\"],\n    \"AllowedOrigins\": [\"*\"]\n  }\n]\n"
    );

    // fmt on standard input prints the canonical document.
    let out = s3_cors(&["fmt", "-"], Some(VALID_XML));
    assert_eq!(out.status, 0);
    assert!(
        out.stdout
            .contains("\n  <CORSRule>\n    <AllowedMethod>GET</AllowedMethod>\n")
    );
}

#[test]
fn text_that_is_not_a_document_is_invalid_not_a_crash() {
    // Not UTF-8.
    let bytes = {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_s3-cors"))
            .args(["validate", "-", "--format", "json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"<CORSConfiguration>\xff</CORSConfiguration>")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert_eq!(bytes.status.code(), Some(1));
    let report = json(std::str::from_utf8(&bytes.stdout).unwrap());
    assert_eq!(report["files"][0]["error"]["code"], "MalformedXML");
    assert!(
        report["files"][0]["error"]["description"]
            .as_str()
            .unwrap()
            .contains("not UTF-8"),
        "{report}"
    );

    // Neither XML nor JSON, and empty.
    for text in ["CORSRules", ""] {
        let out = s3_cors(&["validate", "-"], Some(text));
        assert_eq!(out.status, 1, "{text:?}");
        assert!(out.stdout.contains("MalformedXML"), "{}", out.stdout);
    }

    // Larger than anything worth reading (1 MiB): refused as S3 refuses
    // a document over its limit, with the size counted, not kept.
    let huge = format!("{}{}", " ".repeat(2_000_000), VALID_XML);
    let out = s3_cors(&["validate", "-", "--format", "json"], Some(&huge));
    assert_eq!(out.status, 1);
    let report = json(&out.stdout);
    let error = &report["files"][0]["error"];
    assert_eq!(error["code"], "MalformedXML");
    assert_eq!(
        error["message"],
        "The CORS XML document is limited to 64 KB in size."
    );
    assert!(
        error["description"]
            .as_str()
            .unwrap()
            .contains(&format!("the input is {} bytes", huge.len())),
        "{report}"
    );
}

/// S3's limit applies to the XML `PutBucketCors` receives: the document
/// converted to S3's XML, whatever shape the file is in.
#[test]
fn the_64_kib_limit_is_measured_on_the_xml_s3_receives() {
    let rule = |i: usize| {
        format!(
            r#"{{"AllowedOrigins": ["https://app{i}.example.com"], "AllowedMethods": ["GET"]}}"#
        )
    };
    // 100 KB of indentation around 100 small rules: about 11 KB as XML.
    let pretty = format!(
        "{{\"CORSRules\": [{}]}}",
        (0..100)
            .map(|i| format!("\n{}{}", " ".repeat(1000), rule(i)))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(pretty.len() > 100_000);
    let out = s3_cors(&["validate", "-", "--format", "json"], Some(&pretty));
    assert_eq!(out.status, 0, "{}", out.stdout);
    let xml_bytes = json(&out.stdout)["files"][0]["xml_bytes"].as_u64().unwrap();
    assert!(xml_bytes < 16_000, "{xml_bytes}");
    let xml = s3_cors(&["convert", "-", "--to", "xml"], Some(&pretty)).stdout;
    assert!(xml.len() < 65_536);
    assert_eq!(s3_cors(&["validate", "-"], Some(&xml)).status, 0);

    // 40 KB of terse JSON: well over 64 KiB as XML (each value gets an
    // element of its own), so S3 refuses it, and so does validate.
    let origins: Vec<String> = (0..40)
        .map(|j| format!("\"https://a{j}.example.com\""))
        .collect();
    let dense_rule = format!(
        r#"{{"AllowedOrigins":[{}],"AllowedMethods":["GET","PUT"]}}"#,
        origins.join(",")
    );
    let dense = format!("[{}]", vec![dense_rule; 36].join(","));
    assert!(dense.len() < 50_000, "{}", dense.len());
    let out = s3_cors(&["validate", "-", "--format", "json"], Some(&dense));
    assert_eq!(out.status, 1, "{}", out.stdout);
    let error = &json(&out.stdout)["files"][0]["error"];
    assert_eq!(
        error["message"],
        "The CORS XML document is limited to 64 KB in size."
    );
    let described: usize = error["description"]
        .as_str()
        .unwrap()
        .split_once("it is ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(described > 65_536, "{error}");
    // convert writes the same XML, one element a line.
    let xml = s3_cors(&["convert", "-", "--to", "xml"], Some(&dense)).stdout;
    assert!(xml.len() > described, "{}", xml.len());
    assert_eq!(s3_cors(&["validate", "-"], Some(&xml)).status, 1);
    // lint and explain refuse it too.
    assert_eq!(s3_cors(&["lint", "-"], Some(&dense)).status, 1);
}

#[test]
fn other_commands_on_bad_input() {
    // An invalid document: 1, S3's error on standard error (text) or
    // standard output (JSON).
    let args = [
        "explain",
        "bad-method.json",
        "--origin",
        "https://a.example",
        "--method",
        "GET",
    ];
    let out = s3_cors(&args, None);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("Unsupported method is PATCH"),
        "{}",
        out.stderr
    );
    let mut with_json = args.to_vec();
    with_json.extend(["--format", "json"]);
    let out = s3_cors(&with_json, None);
    assert_eq!(out.status, 1);
    assert_eq!(json(&out.stdout)["error"]["rule"], 2);

    // convert and fmt need a well-formed document, not a valid one.
    assert_eq!(
        s3_cors(&["convert", "bad-method.json", "--to", "xml"], None).status,
        0
    );
    assert_eq!(
        s3_cors(&["convert", "malformed.xml", "--to", "json"], None).status,
        1
    );

    // Missing files: 2.
    for args in [
        &["lint", "missing.xml"][..],
        &["convert", "missing.xml", "--to", "json"],
        &["fmt", "missing.xml"],
        &[
            "explain",
            "missing.xml",
            "--origin",
            "https://a",
            "--method",
            "GET",
        ],
    ] {
        let out = s3_cors(args, None);
        assert_eq!(out.status, 2, "{args:?}");
        assert!(
            out.stderr.contains("missing.xml: cannot read"),
            "{args:?}: {}",
            out.stderr
        );
    }

    // Requests that cannot be sent: 2.
    for bad in [
        &["--method", "G T"][..],
        &["--method", "GET", "--header", "bad header"],
        &["--method", "GET", "--request-header", "no colon"],
        &["--method", "GET", "--path", "no-slash"],
    ] {
        let mut args = vec!["explain", "uploads.xml", "--origin", "https://a.example"];
        args.extend_from_slice(bad);
        assert_eq!(s3_cors(&args, None).status, 2, "{args:?}");
    }
    let out = s3_cors(
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://a\nb",
            "--method",
            "GET",
        ],
        None,
    );
    assert_eq!(out.status, 2);
}

#[test]
fn fmt_rewrites_in_place_and_check_agrees() {
    let dir = std::env::temp_dir().join(format!("s3-cors-fmt-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cors.xml");
    std::fs::copy(data_dir().join("uploads.xml"), &file).unwrap();
    let path = file.to_str().unwrap();

    assert_eq!(s3_cors(&["fmt", path, "--check"], None).status, 1);
    let out = s3_cors(&["fmt", path], None);
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout, format!("{path}: rewritten\n"));
    assert_eq!(s3_cors(&["fmt", path, "--check"], None).status, 0);
    let out = s3_cors(&["fmt", path, "--format", "json"], None);
    assert_eq!(json(&out.stdout)["action"], "already canonical");

    // The rewritten file holds the same rules, and nothing else was left.
    let before = s3_cors(&["convert", "uploads.xml", "--to", "json"], None).stdout;
    let after = s3_cors(&["convert", path, "--to", "json"], None).stdout;
    assert_eq!(before, after);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_exits_1_when_the_request_is_refused() {
    let ask = |origin: &str, method: &str| {
        s3_cors(
            &[
                "explain",
                "uploads.xml",
                "--origin",
                origin,
                "--method",
                method,
                "--preflight",
            ],
            None,
        )
        .status
    };
    assert_eq!(ask("https://app.example.com", "PUT"), 0);
    assert_eq!(ask("https://elsewhere.example", "PUT"), 1);
    assert_eq!(ask("https://elsewhere.example", "GET"), 0);
}

#[test]
fn explain_refuses_requests_no_browser_sends_and_says_what_was_meant() {
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", "uploads.xml"];
        args.extend_from_slice(extra);
        s3_cors(&args, None)
    };
    for (args, meant) in [
        (
            &["--origin", "https://app.example.com", "--method", "put"][..],
            "did you mean --method PUT?",
        ),
        (
            &["--origin", "https://app.example.com", "--method", "OPTIONS"],
            "--preflight",
        ),
        (
            &["--origin", "https://app.example.com/", "--method", "GET"],
            "did you mean --origin https://app.example.com?",
        ),
        (
            &["--origin", "https://App.example.com:443", "--method", "GET"],
            "did you mean --origin https://app.example.com?",
        ),
        (
            &["--origin", "app.example.com", "--method", "GET"],
            "did you mean --origin https://app.example.com?",
        ),
        (
            &["--origin", "https://*.example.com", "--method", "GET"],
            "a pattern, not an origin",
        ),
        (
            &["--origin", "", "--method", "GET"],
            "never sends an empty Origin",
        ),
    ] {
        let out = explain(args);
        assert_eq!(out.status, 2, "{args:?}");
        assert!(out.stderr.contains(meant), "{args:?}: {}", out.stderr);
    }
    // --as-given sends them all the same: S3 refuses a lower-case method.
    let out = explain(&[
        "--origin",
        "https://app.example.com",
        "--method",
        "put",
        "--preflight",
        "--as-given",
        "--format",
        "json",
    ]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert_eq!(json(&out.stdout)["status"], 400);
    // null is an origin browsers send.
    assert_eq!(explain(&["--origin", "null", "--method", "GET"]).status, 0);
}

#[test]
fn explain_notes_the_preflight_a_browser_sends_first() {
    let out = s3_cors(
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://app.example.com",
            "--method",
            "GET",
            "--header",
            "x-amz-date",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(
        json(&out.stdout)["preflight_first"],
        "it lists x-amz-date in Access-Control-Request-Headers"
    );
    let out = s3_cors(
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://app.example.com",
            "--method",
            "GET",
        ],
        None,
    );
    assert!(!out.stdout.contains("Note:"), "{}", out.stdout);
}

#[test]
fn explain_sends_vary_as_s3_does_unless_asked() {
    let refused = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            "uploads.xml",
            "--origin",
            "https://elsewhere.example",
            "--method",
            "PUT",
            "--preflight",
        ];
        args.extend_from_slice(extra);
        s3_cors(&args, None).stdout
    };
    assert!(!refused(&[]).contains("vary:"));
    assert_eq!(refused(&[]), refused(&["--s3-exact"]));
    assert!(refused(&["--vary-always"]).contains("vary: Origin"));
    assert_eq!(
        s3_cors(
            &[
                "explain",
                "uploads.xml",
                "--origin",
                "https://a",
                "--method",
                "GET",
                "--s3-exact",
                "--vary-always"
            ],
            None
        )
        .status,
        2
    );
}

#[test]
fn lint_reports_each_file_and_exits_with_the_worst() {
    let lint = |files: &[&str]| {
        let mut args = vec!["lint"];
        args.extend_from_slice(files);
        s3_cors(&args, None)
    };
    assert_eq!(lint(&["uploads.xml", "console.json"]).status, 0);
    assert_eq!(lint(&["uploads.xml", "cors.json"]).status, 1);
    let out = lint(&["no-such-file.xml", "cors.json", "uploads.xml"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("no-such-file.xml: cannot read"));
    // The other files are still reported.
    assert!(
        out.stdout.contains("cors.json: 0 errors, 2 warnings"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("uploads.xml: no findings"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("3 files: 0 errors, 2 warnings, 2 info\n"),
        "{}",
        out.stdout
    );

    // One file: the report as it always was. Several: a list of them.
    let one = json(&s3_cors(&["lint", "cors.json", "--format", "json"], None).stdout);
    assert_eq!(one["file"], "cors.json");
    let several = json(
        &s3_cors(
            &[
                "lint",
                "cors.json",
                "uploads.xml",
                "missing.json",
                "--format",
                "json",
            ],
            None,
        )
        .stdout,
    );
    assert_eq!(several["failed"], true);
    assert_eq!(several["summary"]["warning"], 2);
    let files = several["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0], one);
    assert_eq!(files[1]["findings"], serde_json::json!([]));
    assert!(files[2]["io_error"].is_string());
}
