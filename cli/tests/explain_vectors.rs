//! `s3-cors explain` agrees with Amazon S3: every vector recorded from S3
//! (`tests/fixtures/s3-recorded.json`) that has a configuration and an
//! `Origin` is replayed through the command, and its status and
//! `Access-Control-*` and `Vary` headers are compared with the recording,
//! in the default mode (S3's `Vary`) and with `--vary-always` (where `Vary`
//! may be added, as `tests/conformance.rs` allows). The requests are sent
//! `--as-given`: S3 was recorded answering requests no browser sends (a
//! lower-case method), and the command reproduces those answers too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{fixtures_dir, json, s3_cors};
use serde_json::Value;

/// The command line that sends the vector's request.
fn arguments(vector: &Value) -> Vec<String> {
    let headers = vector["request_headers"].as_object().unwrap();
    let method = vector["method"].as_str().unwrap();
    let acrm = headers
        .get("access-control-request-method")
        .and_then(Value::as_str);
    let mut args: Vec<String> = vec![
        "explain".into(),
        "-".into(),
        "--origin".into(),
        headers["origin"].as_str().unwrap().into(),
        "--path".into(),
        vector["path"].as_str().unwrap().into(),
        "--format".into(),
        "json".into(),
        "--as-given".into(),
    ];
    match (method, acrm) {
        // A preflight: OPTIONS with Access-Control-Request-Method.
        ("OPTIONS", Some(asked)) => {
            args.extend(["--preflight".into(), "--method".into(), asked.into()])
        }
        // Anything else is sent as recorded.
        (method, acrm) => {
            args.extend(["--method".into(), method.into()]);
            if let Some(asked) = acrm {
                args.extend([
                    "--request-header".into(),
                    format!("access-control-request-method: {asked}"),
                ]);
            }
        }
    }
    for (name, value) in headers {
        let value = value.as_str().unwrap();
        match name.as_str() {
            "origin" | "access-control-request-method" => {}
            "access-control-request-headers" => {
                for header in value.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                    args.extend(["--header".into(), header.into()]);
                }
            }
            _ => args.extend(["--request-header".into(), format!("{name}: {value}")]),
        }
    }
    args
}

fn replay_all(s3_exact: bool) -> usize {
    let text = std::fs::read_to_string(fixtures_dir().join("s3-recorded.json")).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let vary = fixture["vary"].as_str().unwrap();
    let mut replayed = 0;
    for vector in fixture["vectors"].as_array().unwrap() {
        let config = &fixture["configs"][vector["config"].as_str().unwrap()];
        if config.is_null()
            || vector["bucket"] != "exists"
            || vector["request_headers"].get("origin").is_none()
        {
            continue;
        }
        let mut args = arguments(vector);
        if !s3_exact {
            args.push("--vary-always".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let context = format!("vector {} ({args:?})", vector["id"]);
        let out = s3_cors(&args, Some(&config.to_string()));
        let report = json(&out.stdout);
        // 0 when a rule allows the request, 1 when it is refused.
        let expected_status = if report["matched_rule"].is_u64() {
            0
        } else {
            1
        };
        assert_eq!(out.status, expected_status, "{context}: {}", out.stderr);

        assert_eq!(report["status"], vector["status"], "{context}");

        let mut expected: Vec<(String, String)> = vector["cors_headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        if !s3_exact && !expected.iter().any(|(k, _)| k == "vary") {
            expected.push(("vary".to_owned(), vary.to_owned()));
        }
        expected.sort();
        let mut got: Vec<(String, String)> = report["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["name"].as_str().unwrap().to_owned(),
                    h["value"].as_str().unwrap().to_owned(),
                )
            })
            .filter(|(name, _)| name.starts_with("access-control-") || name == "vary")
            .collect();
        got.sort();
        assert_eq!(got, expected, "{context}");

        // The walk agrees with the answer: a rule matched exactly when S3
        // sent Access-Control-Allow-Origin.
        let allowed = vector["cors_headers"]
            .get("access-control-allow-origin")
            .is_some();
        assert_eq!(
            report["matched_rule"].is_u64(),
            allowed,
            "{context}: {report}"
        );

        // S3's error, where it sent one, is the body.
        if let Some(error) = vector.get("error") {
            let body = report["body"].as_str().unwrap();
            for part in ["code", "message", "method", "resource_type"] {
                if let Some(text) = error.get(part).and_then(Value::as_str) {
                    assert!(
                        body.contains(text),
                        "{context}: {part} {text:?} not in {body}"
                    );
                }
            }
        }
        replayed += 1;
    }
    replayed
}

#[test]
fn explain_reproduces_every_recorded_answer_by_default() {
    assert_eq!(replay_all(true), 22);
}

#[test]
fn explain_with_vary_always_differs_only_by_vary() {
    assert_eq!(replay_all(false), 22);
}
