//! `s3-cors diff OLD NEW`: exit statuses and the changes it reports, on the
//! cases the command exists for. Documents are written to a directory of
//! their own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;

use common::{json, s3_cors};
use serde_json::Value;

/// A directory for one test's documents, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("s3-cors-diff-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `diff OLD NEW --format json`: the exit status and the report.
fn diff(test: &str, old: &str, new: &str) -> (i32, Value) {
    let dir = Dir::new(test);
    let (old, new) = (dir.file("old.json", old), dir.file("new.json", new));
    let out = s3_cors(&["diff", &old, &new, "--format", "json"], None);
    (out.status, json(&out.stdout))
}

#[test]
fn equivalent_documents_exit_0() {
    let old = r#"{"CORSRules": [
        {"AllowedOrigins": ["https://a.example", "https://b.example"], "AllowedMethods": ["GET", "PUT"],
         "AllowedHeaders": ["Content-Type", "X-Amz-*"], "ExposeHeaders": ["ETag"]},
        {"AllowedOrigins": ["https://c.example"], "AllowedMethods": ["GET"]}]}"#;
    // Another shape, rules and origins and methods reordered, header
    // patterns in lower case, the exposed header too, IDs added.
    let new = r#"[
        {"ID": "c", "AllowedOrigins": ["https://c.example"], "AllowedMethods": ["GET"]},
        {"ID": "ab", "AllowedOrigins": ["https://b.example", "https://a.example"], "AllowedMethods": ["PUT", "GET"],
         "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["etag"]}]"#;
    let (status, report) = diff("equivalent", old, new);
    assert_eq!(status, 0, "{report}");
    assert_eq!(report["equivalent"], true);
    assert_eq!(report["complete"], true);
    assert!(report["requests"].as_u64().unwrap() > 0);
}

#[test]
fn a_narrowed_origin() {
    let (status, report) = diff(
        "narrowed",
        r#"[{"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET"]}]"#,
        r#"[{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]"#,
    );
    assert_eq!(status, 1);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{report}");
    let change = &changes[0];
    assert_eq!(change["change"], "allowed-to-refused");
    assert_eq!(change["why"], "origin");
    assert_eq!(
        change["old"]["origins"],
        serde_json::json!(["https://*.example.com"])
    );
    assert_eq!(change["new"], Value::Null);
    let origin = change["example"]["origin"].as_str().unwrap();
    assert!(
        origin.starts_with("https://")
            && origin.ends_with(".example.com")
            && origin != "https://app.example.com",
        "{origin}"
    );
    // A GET from a page needs no preflight: the example is the request itself.
    assert_eq!(change["example"]["preflight"], false);
    assert_eq!(change["old_answer"]["allowed"], true);
    assert_eq!(change["new_answer"]["allowed"], false);
}

#[test]
fn a_removed_method() {
    let (status, report) = diff(
        "method",
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "PUT", "DELETE"], "AllowedHeaders": ["*"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]"#,
    );
    assert_eq!(status, 1);
    let changes = report["changes"].as_array().unwrap();
    let refused = changes
        .iter()
        .find(|c| c["change"] == "allowed-to-refused")
        .unwrap();
    assert_eq!(refused["why"], "method");
    assert_eq!(refused["methods"], serde_json::json!(["DELETE"]));
    assert_eq!(refused["example"]["method"], "DELETE");
    assert_eq!(refused["example"]["preflight"], true);
    assert_eq!(refused["example"]["request_headers"], serde_json::json!([]));
    // GET and PUT are still allowed, with one method fewer in the answer.
    let narrowed = changes
        .iter()
        .find(|c| c["change"] == "answer-changed")
        .unwrap();
    assert_eq!(
        narrowed["headers"],
        serde_json::json!(["access-control-allow-methods"])
    );
}

#[test]
fn a_header_pattern_change() {
    let (status, report) = diff(
        "header",
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["content-type", "x-amz-*"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["Content-Type", "x-amz-date"]}]"#,
    );
    assert_eq!(status, 1);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{report}");
    assert_eq!(changes[0]["why"], "header");
    let headers = changes[0]["example"]["request_headers"].as_array().unwrap();
    assert_eq!(headers.len(), 1, "shrunk to the header that matters");
    let header = headers[0].as_str().unwrap();
    assert!(
        header.starts_with("x-amz-") && header != "x-amz-date",
        "{header}"
    );

    // The same pattern in another case is no change.
    let (status, report) = diff(
        "header-case",
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["X-Amz-*"]}]"#,
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*"]}]"#,
    );
    assert_eq!((status, &report["equivalent"]), (0, &Value::Bool(true)));
}

#[test]
fn reordered_rules_that_change_the_winner() {
    let public = r#"{"ID": "public", "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}"#;
    let app = r#"{"ID": "app", "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"], "ExposeHeaders": ["ETag"]}"#;
    let (status, report) = diff(
        "winner",
        &format!("[{app}, {public}]"),
        &format!("[{public}, {app}]"),
    );
    assert_eq!(status, 1);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{report}");
    let change = &changes[0];
    assert_eq!(change["change"], "answer-changed");
    assert_eq!(change["old"]["id"], "app");
    assert_eq!(change["new"]["id"], "public");
    assert_eq!(change["example"]["origin"], "https://app.example.com");
    assert_eq!(change["example"]["method"], "GET");
    // The answers as S3 sends them: the origin with credentials, then "*".
    let value = |answer: &Value, name: &str| {
        answer["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        value(&change["old_answer"], "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(
        value(&change["new_answer"], "access-control-allow-origin").as_deref(),
        Some("*")
    );
    // Reordered rules that do not overlap are no change.
    let other = r#"{"AllowedOrigins": ["https://b.example"], "AllowedMethods": ["GET"]}"#;
    let (status, _) = diff(
        "disjoint",
        &format!("[{app}, {other}]"),
        &format!("[{other}, {app}]"),
    );
    assert_eq!(status, 0);
}

#[test]
fn bad_input_exits_2() {
    let dir = Dir::new("bad");
    let good = dir.file(
        "good.json",
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#,
    );
    let invalid = dir.file(
        "invalid.json",
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["OPTIONS"]}]"#,
    );
    let malformed = dir.file("malformed.xml", "<CORSConfiguration><CORSRule>");
    for (old, new) in [
        (good.as_str(), "no-such-file.json"),
        (&invalid, &good),
        (&good, &malformed),
    ] {
        let out = s3_cors(&["diff", old, new], None);
        assert_eq!(out.status, 2, "{old} {new}: {}", out.stdout);
        assert!(!out.stderr.is_empty());
    }
    let out = s3_cors(&["diff", &invalid, &good], None);
    assert!(
        out.stderr
            .contains("remove OPTIONS; S3 answers preflights itself"),
        "{}",
        out.stderr
    );
    // Usage errors are 2 as well.
    assert_eq!(s3_cors(&["diff", &good], None).status, 2);
}

#[test]
fn either_document_may_come_from_standard_input() {
    let dir = Dir::new("stdin");
    let file = dir.file(
        "new.json",
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]}]"#,
    );
    let live = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
    let out = s3_cors(&["diff", "-", &file], Some(live));
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(out.stdout.starts_with("--- <stdin>\n"), "{}", out.stdout);
    assert!(out.stdout.contains("HEAD"), "{}", out.stdout);
}

/// A document at S3's size limit, of 1,200 wildcard origins and 150 header
/// patterns, is compared completely, in a few thousand requests.
#[test]
fn a_document_at_the_size_limit_is_compared_completely() {
    let origins: Vec<String> = (0..1200)
        .map(|i| format!("\"https://*.d{i}.co\""))
        .collect();
    let headers: Vec<String> = (0..150).map(|i| format!("\"x-{i}-*\"")).collect();
    let doc = |origins: &[String], headers: &[String]| {
        format!(
            r#"[{{"AllowedOrigins": [{}], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": [{}]}}]"#,
            origins.join(","),
            headers.join(",")
        )
    };
    let old = doc(&origins, &headers);
    let mut reversed = origins.clone();
    reversed.reverse();
    let mut narrowed = headers.clone();
    narrowed[3] = "\"x-3-a\"".to_owned();
    let new = doc(&reversed, &narrowed);
    let dir = Dir::new("limit");
    let out = s3_cors(&["validate", &dir.file("old.json", &old)], None);
    assert_eq!(out.status, 0, "{}", out.stdout);

    let (status, report) = diff("limit", &old, &new);
    assert_eq!(status, 1);
    assert_eq!(report["complete"], true);
    assert!(
        report["requests"].as_u64().unwrap() < 20_000,
        "{}",
        report["requests"]
    );
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["why"], "header");
    assert_eq!(changes[0]["old"]["origins"].as_array().unwrap().len(), 1200);
}
