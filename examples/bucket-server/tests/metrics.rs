//! `--metrics` and `--shadow` on the real binary: a scripted mix of CORS
//! requests, and the counters scraped from `/metrics` equal to what was
//! sent; the answers of a demo with shadows equal to those of one without.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Response, Server, fixture, preflight, request, start};
use tower_s3_cors_test_support::temp_dir;

/// The shadow of bucket `photos` (its live rules: the S3 documentation's
/// three-rule example) and of bucket `plain` (no CORS): example1 may GET
/// and PUT without headers, new.example.com may GET and PUT.
const SHADOW: &str = r#"[
  {"AllowedOrigins": ["http://www.example1.com"], "AllowedMethods": ["GET", "PUT"]},
  {"AllowedOrigins": ["https://new.example.com"], "AllowedMethods": ["GET", "PUT"]}
]"#;

/// One request of the mix, and what it must count.
struct Case {
    send: common::Request,
    /// `(kind, outcome)` in `s3_cors_requests_total`; `None`: not counted.
    counted: Option<(&'static str, &'static str)>,
    /// `(live, shadow)` in `s3_cors_shadow_total`; `None`: no shadow.
    shadow: Option<(&'static str, &'static str)>,
}

fn case(
    send: common::Request,
    counted: Option<(&'static str, &'static str)>,
    shadow: Option<(&'static str, &'static str)>,
) -> Case {
    Case {
        send,
        counted,
        shadow,
    }
}

/// The mix: every combination of live and shadow verdicts for both kinds,
/// a bucket without CORS but with a shadow, one without either, an unknown
/// bucket, and requests without `Origin`.
fn mix() -> Vec<Case> {
    let get = |target: &str, origin: &str| request("GET", target).header("origin", origin);
    let with = |method: &str, target: &str, origin: &str| {
        request(method, target)
            .header("origin", origin)
            .header("content-type", "text/plain")
            .body("x")
    };
    let (e1, e2, new, evil) = (
        "http://www.example1.com",
        "http://www.example2.com",
        "https://new.example.com",
        "https://evil.example",
    );
    let pre = Some(("preflight", "allowed"));
    let pre_refused = Some(("preflight", "refused"));
    let act = Some(("actual", "allowed"));
    let act_refused = Some(("actual", "refused"));
    let aa = Some(("allowed", "allowed"));
    let ar = Some(("allowed", "refused"));
    let ra = Some(("refused", "allowed"));
    let rr = Some(("refused", "refused"));
    vec![
        // photos: live three rules, shadowed.
        case(preflight("/photos/a.txt", e1, "PUT"), pre, aa),
        case(preflight("/photos/a.txt", e2, "PUT"), pre, ar),
        case(preflight("/photos/a.txt", new, "PUT"), pre_refused, ra),
        case(preflight("/photos/a.txt", evil, "DELETE"), pre_refused, rr),
        case(
            preflight("/photos/a.txt", e1, "PUT").header("access-control-request-headers", "x-a"),
            pre,
            ar,
        ),
        case(get("/photos/a.txt", e1), act, aa),
        case(get("/photos/a.txt", evil), act, ar),
        case(with("PUT", "/photos/b.txt", new), act_refused, ra),
        case(with("DELETE", "/photos/b.txt", evil), act_refused, rr),
        case(with("PUT", "/photos/c.txt", e1), act, aa),
        // plain: no CORS, shadowed.
        case(
            preflight("/plain/a.txt", new, "GET"),
            Some(("preflight", "not_configured")),
            ra,
        ),
        case(
            preflight("/plain/a.txt", evil, "GET"),
            Some(("preflight", "not_configured")),
            rr,
        ),
        case(
            get("/plain/a.txt", e1),
            Some(("actual", "not_configured")),
            ra,
        ),
        // other: the three rules, no shadow.
        case(preflight("/other/a.txt", e2, "POST"), pre, None),
        case(preflight("/other/a.txt", evil, "PUT"), pre_refused, None),
        case(get("/other/a.txt", evil), act, None),
        case(with("POST", "/other/a.txt", evil), act_refused, None),
        // An OPTIONS with Origin but no Access-Control-Request-Method: a
        // malformed preflight, refused.
        case(
            request("OPTIONS", "/other/a.txt").header("origin", e1),
            pre_refused,
            None,
        ),
        // An unknown bucket.
        case(
            preflight("/nosuch/a.txt", e1, "PUT"),
            Some(("preflight", "no_such_bucket")),
            None,
        ),
        case(
            get("/nosuch/a.txt", e1),
            Some(("actual", "no_such_bucket")),
            None,
        ),
        // Not CORS: no Origin (an OPTIONS without one is answered 400,
        // and is not counted either).
        case(request("GET", "/photos/a.txt"), None, None),
        case(request("PUT", "/photos/d.txt").body("x"), None, None),
        case(request("OPTIONS", "/photos/a.txt"), None, None),
        case(request("GET", "/nosuch/a.txt"), None, None),
    ]
}

/// The demo's arguments: the buckets, their shadows with `shadows`, a store
/// directory with `store`.
fn args(dir: &std::path::Path, shadows: bool, store: Option<&str>) -> Vec<String> {
    let shadow = dir.join("shadow.json");
    std::fs::write(&shadow, SHADOW).unwrap();
    let three = fixture("../../../../tests/fixtures/three-rules.xml");
    let mut args = vec![
        "--metrics".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--bucket".to_owned(),
        format!("photos={three}"),
        "--bucket".to_owned(),
        format!("other={three}"),
        "--bucket".to_owned(),
        "plain".to_owned(),
    ];
    if shadows {
        for bucket in ["photos", "plain"] {
            args.push("--shadow".to_owned());
            args.push(format!("{bucket}={}", shadow.display()));
        }
    }
    if let Some(store) = store {
        args.push("--store".to_owned());
        args.push(store.to_owned());
    }
    args
}

/// The address of the metrics listener, from the second line printed.
fn metrics_addr(server: &Server) -> String {
    let line = server.next_lines(1).remove(0);
    line.strip_prefix("metrics on http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
        .to_owned()
}

/// The samples of `/metrics`: `name{label="value",…}` (labels sorted) →
/// value.
fn scrape(addr: &str) -> BTreeMap<String, f64> {
    let response = request("GET", "/metrics").send(addr);
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        response.header("content-type")
    );
    let mut samples = BTreeMap::new();
    for line in response.text().lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        samples.insert(key, value.parse().unwrap());
    }
    samples
}

/// A sample's value, 0 when absent.
fn sample(samples: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    labels.sort_unstable();
    let key = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", labels.join(","))
    };
    samples.get(&key).copied().unwrap_or(0.0)
}

/// What a response shows a client, request IDs and dates left out.
fn shown(response: &Response) -> (u16, Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = response
        .headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "x-amz-request-id" | "x-amz-id-2" | "date" | "etag"
            )
        })
        .cloned()
        .collect();
    headers.sort();
    let mut body = response.text();
    for tag in ["RequestId", "HostId"] {
        if let (Some(start), Some(end)) = (
            body.find(&format!("<{tag}>")),
            body.find(&format!("</{tag}>")),
        ) {
            body.replace_range(start..end, "");
        }
    }
    (response.status, headers, body)
}

/// Sends the mix to a demo with shadows and to one without, compares the
/// answers, and compares the counters of the first with the mix's.
fn counters_equal_the_requests_sent(store: bool) {
    let dir = temp_dir("metrics-mix");
    let stores = [dir.path().join("shadowed"), dir.path().join("plain")];
    let store_arg = |i: usize| store.then(|| stores[i].display().to_string());
    let shadowed_args = args(dir.path(), true, store_arg(0).as_deref());
    let plain_args = args(dir.path(), false, store_arg(1).as_deref());
    let shadowed = start(&shadowed_args.iter().map(String::as_str).collect::<Vec<_>>());
    let plain = start(&plain_args.iter().map(String::as_str).collect::<Vec<_>>());
    let shadowed_metrics = metrics_addr(&shadowed);
    let _ = metrics_addr(&plain);

    let before = scrape(&shadowed_metrics);
    let mut expected_requests: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    let mut expected_shadow: BTreeMap<(&str, &str, &str), f64> = BTreeMap::new();
    let mix = mix();
    for (i, case) in mix.iter().enumerate() {
        let with_shadow = shadowed.send(case.send.clone());
        let without = plain.send(case.send.clone());
        assert_eq!(
            shown(&with_shadow),
            shown(&without),
            "case {i}: a shadow changed the answer"
        );
        if let Some(counted) = case.counted {
            *expected_requests.entry(counted).or_default() += 1.0;
            if let Some((live, shadow)) = case.shadow {
                *expected_shadow
                    .entry((counted.0, live, shadow))
                    .or_default() += 1.0;
            }
        }
    }
    let after = scrape(&shadowed_metrics);
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    for kind in ["preflight", "actual"] {
        for outcome in [
            "allowed",
            "refused",
            "not_configured",
            "no_such_bucket",
            "unavailable",
        ] {
            let expected = expected_requests
                .get(&(kind, outcome))
                .copied()
                .unwrap_or(0.0);
            assert_eq!(
                delta(
                    "s3_cors_requests_total",
                    &[("kind", kind), ("outcome", outcome)]
                ),
                expected,
                "s3_cors_requests_total{{kind={kind},outcome={outcome}}}"
            );
        }
        for live in ["allowed", "refused"] {
            for shadow in ["allowed", "refused"] {
                let expected = expected_shadow
                    .get(&(kind, live, shadow))
                    .copied()
                    .unwrap_or(0.0);
                assert_eq!(
                    delta(
                        "s3_cors_shadow_total",
                        &[("kind", kind), ("live", live), ("shadow", shadow)]
                    ),
                    expected,
                    "s3_cors_shadow_total{{kind={kind},live={live},shadow={shadow}}}"
                );
            }
        }
    }
    // Every combination of live and shadow verdicts, for both kinds, was
    // sent.
    assert_eq!(expected_shadow.len(), 8, "{expected_shadow:?}");

    if store {
        // photos and other were written at start-up (cached), plain and
        // nosuch loaded by the mix's first requests.
        assert!(sample(&after, "s3_cors_store_loads_total", &[]) >= 2.0);
        assert_eq!(sample(&after, "s3_cors_store_cached_buckets", &[]), 4.0);
        assert!(sample(&after, "s3_cors_store_load_duration_seconds_count", &[]) >= 2.0);
    }
}

#[test]
fn in_memory_counters_equal_the_requests_sent_and_shadows_change_no_answer() {
    counters_equal_the_requests_sent(false);
}

#[test]
fn with_a_store_counters_equal_the_requests_sent_and_shadows_change_no_answer() {
    counters_equal_the_requests_sent(true);
}

#[test]
fn a_bad_shadow_or_a_shadow_of_an_unknown_bucket_stops_the_demo_with_status_2() {
    let dir = temp_dir("metrics-bad-shadow");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PATCH"]}]"#,
    )
    .unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, SHADOW).unwrap();
    let (status, _, stderr) =
        common::run_to_exit(&["--shadow", &format!("demo={}", bad.display())]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("InvalidRequest"), "{stderr}");
    let (status, _, stderr) =
        common::run_to_exit(&["--shadow", &format!("nosuch={}", good.display())]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no bucket \"nosuch\""), "{stderr}");
}

#[test]
fn the_metrics_listener_answers_only_metrics() {
    let server = start(&["--metrics", "127.0.0.1:0"]);
    let addr = metrics_addr(&server);
    assert_eq!(request("GET", "/").send(&addr).status, 404);
    assert_eq!(request("POST", "/metrics").send(&addr).status, 405);
    let text = request("GET", "/metrics").send(&addr).text();
    assert!(
        text.contains("# TYPE s3_cors_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# HELP s3_cors_requests_total CORS requests"),
        "{text}"
    );
    // The S3 port keeps serving a bucket named `metrics` as a bucket.
    assert_eq!(server.send(request("GET", "/metrics")).status, 404);
}
