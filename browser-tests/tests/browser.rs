//! S3 CORS behaviour judged by a real browser.
//!
//! Headless Chromium loads `tests/page/cases.js` from origin A (the page
//! server) and makes cross-origin `fetch()` calls to origin B (an object
//! store behind `S3CorsLayer`, one bucket and policy per case) and origin C
//! (the tonic-web example) and origin D (the s3s example, SigV4 required,
//! reached through presigned URLs). Each case is judged on what JavaScript
//! could see *and* on what the servers received.
//!
//! Without a Chromium the suite is skipped with a loud message, except under
//! `CI=true`, where that is a failure. `$CHROMIUM` names the binary.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use browser_tests::chromium::{self, Browser};
use browser_tests::page_server::{self, Control, Page, PageEvent};
use browser_tests::s3_server::{self, Exchange, S3Server};
use browser_tests::s3s_server::{self, S3sServer, file_holds};
use serde_json::{Value, json};
use tower_s3_cors::SharedPolicy;
use tower_s3_cors::source::Buckets;

/// Set (to anything) to print every exchange with all its headers.
const VERBOSE_ENV: &str = "BROWSER_TESTS_VERBOSE";

/// How long the page may take for all cases.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// A policy that admits no browser origin: the page's origin is refused.
const REFUSED_ORIGIN: &str = "http://refused.example";

/// Writes straight to the process's stderr, past libtest's output capture,
/// so that the per-case report shows on success too.
fn say(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Every bucket of the server under test and its CORS document (JSON, in
/// either of S3's shapes); `{page}` stands for the page's origin,
/// `{refused}` for [`REFUSED_ORIGIN`].
const POLICIES: &[(&str, &str)] = &[
    (
        "c01-allowed",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c01-refused",
        r#"[{"AllowedOrigins": ["{refused}"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c02",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["x-custom-token"]}]"#,
    ),
    (
        "c03",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*"]}]"#,
    ),
    (
        "c04-exposed",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["GET"], "ExposeHeaders": ["ETag", "x-amz-meta-note"]}]"#,
    ),
    (
        "c04-hidden",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c05-specific",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c05-star",
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c06-wild",
        r#"[{"AllowedOrigins": ["http://127.0.0.1:*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["x-custom-token"]}]"#,
    ),
    (
        "c06-https-only",
        r#"[{"AllowedOrigins": ["https://127.0.0.1:*"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c07-600",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-custom-token"], "MaxAgeSeconds": 600}]"#,
    ),
    (
        "c07-0",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-custom-token"], "MaxAgeSeconds": 0}]"#,
    ),
    (
        "c07-unset",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-custom-token"]}]"#,
    ),
    (
        "c08",
        r#"{"CORSRules": [
            {"ID": "origin-only", "AllowedOrigins": ["{page}"], "AllowedMethods": ["GET"]},
            {"ID": "put", "AllowedOrigins": ["{page}"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-custom-token"], "ExposeHeaders": ["ETag"]}
        ]}"#,
    ),
    (
        "c09",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["GET"]}]"#,
    ),
    (
        "c10",
        r#"[{"AllowedOrigins": ["{refused}"], "AllowedMethods": ["GET"]}]"#,
    ),
];

/// The buckets of the s3s server (origin D) and their CORS documents, put
/// through the example's CORS store; `{page}` and `{refused}` as above.
const S3S_POLICIES: &[(&str, &str)] = &[
    (
        "c12",
        r#"[{"AllowedOrigins": ["{page}"], "AllowedMethods": ["PUT", "GET"], "AllowedHeaders": ["content-type"], "ExposeHeaders": ["ETag"]}]"#,
    ),
    (
        "c12-refused",
        r#"[{"AllowedOrigins": ["{refused}"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]"#,
    ),
];

/// What case 12 uploads.
const C12_BODY: &str = "uploaded by the browser through a presigned URL";

/// The document case 10 swaps in while the server runs.
const C10_AFTER_SWAP: &str = r#"<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>{page}</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
  </CORSRule>
</CORSConfiguration>"#;

fn document(template: &str, page: &str) -> String {
    template
        .replace("{page}", page)
        .replace("{refused}", REFUSED_ORIGIN)
}

/// The cases in page order, with what each one shows.
const CASES: &[(&str, &str, Checker)] = &[
    (
        "c01",
        "simple GET: allowed origin reads the body; refused origin is blocked, yet served",
        c01_simple_get,
    ),
    (
        "c02",
        "preflighted PUT with a custom header; refused header, refused method",
        c02_preflighted_put,
    ),
    (
        "c03",
        "AllowedHeader x-amz-* admits x-amz-meta-foo",
        c03_amz_wildcard_header,
    ),
    (
        "c04",
        "ExposeHeaders: ETag and x-amz-meta-note readable only when exposed",
        c04_expose_headers,
    ),
    (
        "c05",
        "credentials: 'include' works with a specific origin, fails with *",
        c05_credentials,
    ),
    (
        "c06",
        "wildcard origin http://127.0.0.1:* admits the page",
        c06_wildcard_origin,
    ),
    (
        "c07",
        "MaxAgeSeconds 600 / 0 / unset: preflights counted",
        c07_max_age,
    ),
    (
        "c08",
        "rule order: origin-only first rule falls through to the second",
        c08_rule_order,
    ),
    (
        "c09",
        "404 from the inner service carries CORS headers",
        c09_not_found,
    ),
    (
        "c10",
        "hot swap through SharedPolicy while the server runs",
        c10_hot_swap,
    ),
    (
        "c11",
        "gRPC-web through the tonic-web example",
        c11_grpc_web,
    ),
    (
        "c12",
        "s3s example: presigned PUT after the preflight, exposed ETag; refused origin blocked",
        c12_s3s_presigned_upload,
    ),
];

type Checker = fn(&Value, &Ctx, &mut Verdict);

/// What a check can see besides the page's observations.
struct Ctx {
    page_origin: String,
    server: S3Server,
    s3s: S3sServer,
    /// Chromium's console lines (its CORS errors among them).
    console: Vec<String>,
}

impl Ctx {
    /// What the servers under test received for the URL of a page step (its
    /// path and query: the two servers never see the same one).
    fn exchanges(&self, step: &Value) -> Vec<Exchange> {
        let target = step["target"].as_str().unwrap_or("");
        let mut exchanges = self.server.log.for_target(target);
        exchanges.extend(self.s3s.log.for_target(target));
        exchanges
    }

    /// Chromium's reason for blocking the URL of a page step, if it logged
    /// one.
    fn cors_error(&self, step: &Value) -> Option<String> {
        let url = step["url"].as_str()?;
        let needle = format!("'{url}'");
        self.console
            .iter()
            .filter(|line| line.contains(&needle) && line.contains("CORS"))
            .find_map(|line| {
                let start = line.find("CORS policy: ")? + "CORS policy: ".len();
                let rest = line.get(start..)?;
                let end = rest.find("\", source").unwrap_or(rest.len());
                rest.get(..end).map(str::to_owned)
            })
    }
}

/// The outcome of one case: failures, and notes worth printing either way.
#[derive(Default)]
struct Verdict {
    failures: Vec<String>,
    notes: Vec<String>,
}

impl Verdict {
    fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        if !ok {
            self.failures.push(what.into());
        }
        ok
    }

    fn equal(&mut self, actual: Option<&str>, expected: Option<&str>, what: &str) -> bool {
        self.check(
            actual == expected,
            format!("{what}: expected {expected:?}, got {actual:?}"),
        )
    }

    /// The page's fetch of `name` resolved (status readable).
    fn fetched(&mut self, observed: &Value, name: &str, ctx: &Ctx) -> bool {
        let step = &observed[name];
        let ok = step["fetched"].as_bool() == Some(true);
        if !ok {
            let reason = ctx.cors_error(step).unwrap_or_else(|| {
                step["error"]
                    .as_str()
                    .unwrap_or("no observation")
                    .to_owned()
            });
            self.failures.push(format!(
                "{name}: fetch() should have resolved, but: {reason}"
            ));
        }
        ok
    }

    /// The page's fetch of `name` resolved with `status`.
    fn fetched_status(&mut self, observed: &Value, name: &str, status: u64, ctx: &Ctx) -> bool {
        self.fetched(observed, name, ctx)
            && self.check(
                observed[name]["status"].as_u64() == Some(status),
                format!(
                    "{name}: status {} instead of {status}",
                    observed[name]["status"]
                ),
            )
    }

    /// The page's fetch of `name` was blocked (fetch() rejected).
    fn blocked(&mut self, observed: &Value, name: &str, ctx: &Ctx) -> bool {
        let step = &observed[name];
        let blocked = step["fetched"].as_bool() == Some(false);
        if blocked {
            let reason = ctx
                .cors_error(step)
                .unwrap_or_else(|| step["error"].as_str().unwrap_or("?").to_owned());
            self.notes.push(format!("{name} blocked: {reason}"));
        } else {
            self.failures.push(format!(
                "{name}: fetch() should have been blocked, but resolved with {}",
                step["status"]
            ));
        }
        blocked
    }

    /// The one request of a page step that reached the inner service.
    fn served(
        &mut self,
        ctx: &Ctx,
        observed: &Value,
        name: &str,
        method: &str,
    ) -> Option<Exchange> {
        let all = ctx.exchanges(&observed[name]);
        let mut actual = all.iter().filter(|e| !e.is_preflight());
        match (actual.next(), actual.next()) {
            (Some(e), None) if e.method == method && e.reached_inner => Some(e.clone()),
            _ => {
                self.failures.push(format!(
                    "{name}: the server should have served exactly one {method}; it saw: {}",
                    describe(&all)
                ));
                None
            }
        }
    }

    /// A refused preflight: `403` and, as S3, no CORS header at all.
    fn refused_preflight(&mut self, preflight: &Exchange, name: &str) {
        self.check(
            preflight.status == 403
                && !preflight
                    .response_headers
                    .iter()
                    .any(|(k, _)| k.starts_with("access-control-")),
            format!(
                "{name}: the preflight should be a 403 without CORS headers: {}",
                preflight.summary()
            ),
        );
    }

    /// The page step `name` caused no actual request at the server.
    fn not_served(&mut self, ctx: &Ctx, observed: &Value, name: &str) {
        let all = ctx.exchanges(&observed[name]);
        self.check(
            all.iter().all(Exchange::is_preflight),
            format!(
                "{name}: the actual request must not reach the server, it saw: {}",
                describe(&all)
            ),
        );
    }

    /// The preflights of page step `name`, checked to be exactly `count`.
    fn preflights(
        &mut self,
        ctx: &Ctx,
        observed: &Value,
        name: &str,
        count: usize,
    ) -> Vec<Exchange> {
        let all = ctx.exchanges(&observed[name]);
        let preflights: Vec<Exchange> = all.iter().filter(|e| e.is_preflight()).cloned().collect();
        self.check(
            preflights.len() == count,
            format!(
                "{name}: expected {count} preflight(s), the server saw: {}",
                describe(&all)
            ),
        );
        preflights
    }
}

fn describe(exchanges: &[Exchange]) -> String {
    if exchanges.is_empty() {
        return "nothing".into();
    }
    exchanges
        .iter()
        .map(Exchange::summary)
        .collect::<Vec<_>>()
        .join(" | ")
}

fn header<'a>(step: &'a Value, name: &str) -> Option<&'a str> {
    step["headers"][name].as_str()
}

fn c01_simple_get(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    let page = ctx.page_origin.as_str();
    if v.fetched_status(o, "allowed", 200, ctx) {
        v.equal(
            o["allowed"]["body"].as_str(),
            Some("hello from c01-allowed"),
            "allowed: body",
        );
    }
    v.preflights(ctx, o, "allowed", 0);
    if let Some(e) = v.served(ctx, o, "allowed", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            Some(page),
            "allowed: ACAO sent",
        );
    }

    v.blocked(o, "refused", ctx);
    v.preflights(ctx, o, "refused", 0);
    if let Some(e) = v.served(ctx, o, "refused", "GET") {
        v.equal(
            e.request_header("origin"),
            Some(page),
            "refused: Origin received",
        );
        v.check(
            e.status == 200,
            format!("refused: the server answered {}", e.status),
        );
        v.equal(
            e.response_header("access-control-allow-origin"),
            None,
            "refused: ACAO sent",
        );
    }
}

fn c02_preflighted_put(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    v.fetched_status(o, "put", 200, ctx);
    if let Some(p) = v.preflights(ctx, o, "put", 1).first() {
        v.equal(
            p.request_header("access-control-request-method"),
            Some("PUT"),
            "put: ACRM",
        );
        v.equal(
            p.request_header("access-control-request-headers"),
            Some("x-custom-token"),
            "put: ACRH",
        );
        v.check(
            p.status == 200,
            format!("put: preflight answered {}", p.status),
        );
        v.equal(
            p.response_header("access-control-allow-headers"),
            Some("x-custom-token"),
            "put: preflight ACAH",
        );
        v.equal(
            p.response_header("access-control-allow-methods"),
            Some("GET, PUT"),
            "put: preflight ACAM",
        );
    }
    if let Some(e) = v.served(ctx, o, "put", "PUT") {
        v.equal(
            e.request_header("x-custom-token"),
            Some("token-1"),
            "put: custom header received",
        );
        v.equal(
            e.inner_body
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok()),
            Some("uploaded by the browser"),
            "put: body received",
        );
    }

    v.blocked(o, "headerRefused", ctx);
    if let Some(p) = v.preflights(ctx, o, "headerRefused", 1).first() {
        v.refused_preflight(p, "headerRefused");
        v.equal(
            p.request_header("access-control-request-headers"),
            Some("x-not-allowed"),
            "headerRefused: ACRH",
        );
    }
    v.not_served(ctx, o, "headerRefused");

    v.blocked(o, "methodRefused", ctx);
    if let Some(p) = v.preflights(ctx, o, "methodRefused", 1).first() {
        v.refused_preflight(p, "methodRefused");
        v.equal(
            p.request_header("access-control-request-method"),
            Some("DELETE"),
            "methodRefused: ACRM",
        );
    }
    v.not_served(ctx, o, "methodRefused");

    // The refused PUT stored nothing and the refused DELETE removed nothing.
    if v.fetched_status(o, "readBack", 200, ctx) {
        v.equal(
            o["readBack"]["body"].as_str(),
            Some("uploaded by the browser"),
            "readBack: body",
        );
    }
}

fn c03_amz_wildcard_header(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    v.fetched_status(o, "amz", 200, ctx);
    if let Some(p) = v.preflights(ctx, o, "amz", 1).first() {
        v.check(
            p.status == 200,
            format!("amz: preflight answered {}", p.status),
        );
        v.equal(
            p.response_header("access-control-allow-headers"),
            Some("x-amz-meta-foo"),
            "amz: preflight ACAH",
        );
    }
    if let Some(e) = v.served(ctx, o, "amz", "PUT") {
        v.equal(
            e.request_header("x-amz-meta-foo"),
            Some("bar"),
            "amz: x-amz-meta-foo received",
        );
    }

    v.blocked(o, "other", ctx);
    if let Some(p) = v.preflights(ctx, o, "other", 1).first() {
        v.refused_preflight(p, "other");
    }
    v.not_served(ctx, o, "other");
}

fn c04_expose_headers(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    for (name, exposed) in [("exposed", true), ("hidden", false)] {
        if !v.fetched_status(o, name, 200, ctx) {
            continue;
        }
        let step = &o[name];
        let Some(e) = v.served(ctx, o, name, "GET") else {
            continue;
        };
        let sent_etag = e.response_header("etag");
        let sent_note = e.response_header("x-amz-meta-note");
        v.check(
            sent_etag.is_some() && sent_note == Some("seeded note"),
            format!(
                "{name}: the server should send ETag and x-amz-meta-note: {}",
                e.summary()
            ),
        );
        v.equal(
            header(step, "content-type"),
            Some("text/plain"),
            &format!("{name}: content-type (safelisted)"),
        );
        if exposed {
            v.equal(
                e.response_header("access-control-expose-headers"),
                Some("ETag, x-amz-meta-note"),
                "exposed: ACEH sent",
            );
            v.equal(header(step, "etag"), sent_etag, "exposed: ETag seen by JS");
            v.equal(
                header(step, "x-amz-meta-note"),
                sent_note,
                "exposed: x-amz-meta-note seen by JS",
            );
        } else {
            v.equal(header(step, "etag"), None, "hidden: ETag seen by JS");
            v.equal(
                header(step, "x-amz-meta-note"),
                None,
                "hidden: x-amz-meta-note seen by JS",
            );
        }
    }
}

fn c05_credentials(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    let page = ctx.page_origin.as_str();
    v.fetched_status(o, "specific", 200, ctx);
    if let Some(e) = v.served(ctx, o, "specific", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            Some(page),
            "specific: ACAO",
        );
        v.equal(
            e.response_header("access-control-allow-credentials"),
            Some("true"),
            "specific: ACAC",
        );
    }

    v.blocked(o, "starWithCredentials", ctx);
    if let Some(e) = v.served(ctx, o, "starWithCredentials", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            Some("*"),
            "star: ACAO",
        );
        v.equal(
            e.response_header("access-control-allow-credentials"),
            None,
            "star: ACAC",
        );
    }

    v.fetched_status(o, "starWithout", 200, ctx);
    v.served(ctx, o, "starWithout", "GET");
}

fn c06_wildcard_origin(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    let page = ctx.page_origin.as_str();
    v.fetched_status(o, "get", 200, ctx);
    if let Some(e) = v.served(ctx, o, "get", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            Some(page),
            "get: ACAO echoes the origin",
        );
    }
    v.fetched_status(o, "put", 200, ctx);
    if let Some(p) = v.preflights(ctx, o, "put", 1).first() {
        v.equal(
            p.response_header("access-control-allow-origin"),
            Some(page),
            "put: preflight ACAO",
        );
    }
    v.served(ctx, o, "put", "PUT");

    v.blocked(o, "otherScheme", ctx);
    if let Some(e) = v.served(ctx, o, "otherScheme", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            None,
            "otherScheme: ACAO",
        );
    }
}

fn c07_max_age(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    for (name, preflights, max_age) in [
        ("max600", 1, Some("600")),
        ("max0", 2, Some("0")),
        ("unset", 1, None),
    ] {
        let pair = &o[name];
        for index in 0..2 {
            let label = format!("{name}[{index}]");
            let step = &pair[index];
            if step["fetched"].as_bool() != Some(true) || step["status"].as_u64() != Some(200) {
                let reason = ctx.cors_error(step).unwrap_or_else(|| step.to_string());
                v.failures
                    .push(format!("{label}: should succeed: {reason}"));
            }
        }
        let all = ctx
            .server
            .log
            .for_target(pair[0]["target"].as_str().unwrap_or(""));
        let seen: Vec<&Exchange> = all.iter().filter(|e| e.is_preflight()).collect();
        let puts = all
            .iter()
            .filter(|e| e.method == "PUT" && e.reached_inner)
            .count();
        v.check(
            seen.len() == preflights && puts == 2,
            format!(
                "{name}: expected {preflights} preflight(s) and 2 PUTs, the server saw: {}",
                describe(&all)
            ),
        );
        if let Some(p) = seen.first() {
            v.equal(
                p.response_header("access-control-max-age"),
                max_age,
                &format!("{name}: ACMA"),
            );
        }
        v.notes.push(format!(
            "{name}: {} preflight(s) for 2 requests",
            seen.len()
        ));
    }
}

fn c08_rule_order(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    v.fetched_status(o, "put", 200, ctx);
    if let Some(p) = v.preflights(ctx, o, "put", 1).first() {
        v.equal(
            p.response_header("access-control-allow-methods"),
            Some("PUT"),
            "put: preflight ACAM (second rule)",
        );
    }
    if let Some(e) = v.served(ctx, o, "put", "PUT") {
        v.equal(
            e.response_header("access-control-allow-methods"),
            Some("PUT"),
            "put: ACAM (second rule)",
        );
        // The second rule exposes ETag: the script reads it.
        v.equal(
            header(&o["put"], "etag"),
            e.response_header("etag"),
            "put: ETag seen by JS",
        );
    }
    v.fetched_status(o, "get", 200, ctx);
    if let Some(e) = v.served(ctx, o, "get", "GET") {
        v.equal(
            e.response_header("access-control-allow-methods"),
            Some("GET"),
            "get: ACAM (first rule)",
        );
        v.equal(
            header(&o["get"], "etag"),
            None,
            "get: ETag seen by JS (first rule exposes nothing)",
        );
    }
}

fn c09_not_found(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    if v.fetched_status(o, "missing", 404, ctx) {
        v.check(
            o["missing"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("<Code>NoSuchKey</Code>")),
            format!("missing: body {}", o["missing"]["body"]),
        );
    }
    if let Some(e) = v.served(ctx, o, "missing", "GET") {
        v.check(
            e.status == 404,
            format!("missing: the server answered {}", e.status),
        );
        v.equal(
            e.response_header("access-control-allow-origin"),
            Some(ctx.page_origin.as_str()),
            "missing: ACAO on the 404",
        );
    }
}

fn c10_hot_swap(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    v.blocked(o, "before", ctx);
    v.served(ctx, o, "before", "GET");
    v.check(
        o["swap"]["status"].as_u64() == Some(200),
        format!("swap: {}", o["swap"]),
    );
    if v.fetched_status(o, "after", 200, ctx) {
        v.equal(
            o["after"]["body"].as_str(),
            Some("hello from c10"),
            "after: body",
        );
    }
    if let Some(e) = v.served(ctx, o, "after", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            Some(ctx.page_origin.as_str()),
            "after: ACAO",
        );
    }
    v.check(
        o["clear"]["status"].as_u64() == Some(200),
        format!("clear: {}", o["clear"]),
    );
    v.blocked(o, "cleared", ctx);
    if let Some(e) = v.served(ctx, o, "cleared", "GET") {
        v.equal(
            e.response_header("access-control-allow-origin"),
            None,
            "cleared: ACAO",
        );
    }
}

fn c11_grpc_web(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    let hello = &o["hello"];
    if hello["fetched"].as_bool() != Some(true) {
        let reason = ctx.cors_error(hello).unwrap_or_else(|| {
            hello["error"]
                .as_str()
                .unwrap_or("no observation")
                .to_owned()
        });
        v.failures
            .push(format!("hello: fetch() should have resolved: {reason}"));
    } else {
        let name = hello["name"].as_str().unwrap_or("?");
        v.check(
            hello["status"].as_u64() == Some(200),
            format!("hello: HTTP {}", hello["status"]),
        );
        let message = hello["decoded"]["messages"][0].as_str();
        v.equal(
            message,
            Some(format!("Hello, {name}!").as_str()),
            "hello: HelloReply.message",
        );
        // A full answer carries grpc-status in its trailer frame.
        let status = hello["grpcStatusHeader"]
            .as_str()
            .or_else(|| hello["decoded"]["trailers"]["grpc-status"].as_str());
        v.equal(status, Some("0"), "hello: grpc-status");
        v.notes
            .push(format!("hello: reply {message:?}, grpc-status {status:?}"));
    }

    let invalid = &o["invalid"];
    if invalid["fetched"].as_bool() != Some(true) {
        v.failures.push(format!(
            "invalid: fetch() should have resolved: {}",
            invalid["error"]
        ));
    } else {
        // Trailers-only: grpc-status/grpc-message are response headers, which
        // a script reads only because the policy exposes them.
        v.equal(
            invalid["grpcStatusHeader"].as_str(),
            Some("3"),
            "invalid: exposed grpc-status header",
        );
        v.equal(
            invalid["grpcMessageHeader"].as_str(),
            Some(example_tonic_web::EMPTY_NAME_MESSAGE),
            "invalid: exposed grpc-message header",
        );
        v.notes.push(format!(
            "invalid: grpc-status {} grpc-message {}",
            invalid["grpcStatusHeader"], invalid["grpcMessageHeader"]
        ));
    }
}

fn c12_s3s_presigned_upload(o: &Value, ctx: &Ctx, v: &mut Verdict) {
    let page = ctx.page_origin.as_str();
    // The upload: one preflight, answered by the layer before s3s's
    // signature check, then the signed PUT, served by s3s.
    v.fetched_status(o, "upload", 200, ctx);
    if let Some(p) = v.preflights(ctx, o, "upload", 1).first() {
        v.check(
            p.status == 200 && !p.reached_inner,
            format!("upload: preflight {}", p.summary()),
        );
        v.equal(
            p.request_header("access-control-request-method"),
            Some("PUT"),
            "upload: ACRM",
        );
        v.equal(
            p.request_header("access-control-request-headers"),
            Some("content-type"),
            "upload: ACRH",
        );
        v.equal(
            p.response_header("access-control-allow-origin"),
            Some(page),
            "upload: preflight ACAO",
        );
        v.check(
            p.target.contains("X-Amz-Signature="),
            format!(
                "upload: the preflight went to the presigned URL: {}",
                p.target
            ),
        );
    }
    let sent_etag = v
        .served(ctx, o, "upload", "PUT")
        .and_then(|e| e.response_header("etag").map(str::to_owned));
    v.check(sent_etag.is_some(), "upload: s3s sent an ETag");
    v.equal(
        header(&o["upload"], "etag"),
        sent_etag.as_deref(),
        "upload: ETag seen by JS (exposed)",
    );
    v.check(
        file_holds(&ctx.s3s.object_path("c12", "upload.txt"), C12_BODY),
        "upload: s3s-fs holds the uploaded body",
    );
    v.notes
        .push(format!("upload: ETag {sent_etag:?} read by the page"));

    // Read back with a presigned GET: the body, and the same ETag.
    if v.fetched_status(o, "readBack", 200, ctx) {
        v.equal(
            o["readBack"]["body"].as_str(),
            Some(C12_BODY),
            "readBack: body",
        );
        v.equal(
            header(&o["readBack"], "etag"),
            sent_etag.as_deref(),
            "readBack: ETag seen by JS",
        );
    }

    // A bucket whose rules do not list the page: the preflight is refused,
    // the PUT never sent, nothing stored.
    v.blocked(o, "refused", ctx);
    if let Some(p) = v.preflights(ctx, o, "refused", 1).first() {
        v.refused_preflight(p, "refused");
    }
    v.not_served(ctx, o, "refused");
    v.check(
        !ctx.s3s.object_path("c12-refused", "upload.txt").exists(),
        "refused: nothing may be stored",
    );
}

fn seed(server: &S3Server) {
    for (bucket, _) in POLICIES {
        server.store.put(
            &format!("/{bucket}/hello.txt"),
            format!("hello from {bucket}"),
            None,
        );
    }
    for bucket in ["c04-exposed", "c04-hidden"] {
        server.store.put(
            &format!("/{bucket}/note.txt"),
            "a note",
            Some("seeded note"),
        );
    }
}

fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", std::process::id(), nanos)
}

fn html(config: &Value) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tower-s3-cors in Chromium</title>\n\
         <script id=\"config\" type=\"application/json\">{config}</script></head>\n\
         <body><script src=\"/cases.js\"></script></body></html>\n"
    )
}

#[test]
fn s3_cors_in_headless_chromium() {
    let started = Instant::now();
    let Some(binary) = chromium::require() else {
        return;
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    // Origin B: the server under test, one bucket per case.
    let buckets = Buckets::path_style();
    let server = runtime
        .block_on(s3_server::start(buckets.clone()))
        .expect("start the server under test");
    seed(&server);

    // Origin C: the tonic-web example, in-process.
    let grpc_listener = runtime
        .block_on(s3_server::bind_loopback())
        .expect("bind the gRPC-web listener");
    let grpc_origin = format!(
        "http://{}",
        grpc_listener.local_addr().expect("gRPC-web address")
    );
    runtime.spawn(example_tonic_web::serve(grpc_listener));

    // Origin D: the s3s example, reached through presigned URLs.
    let buckets_d: Vec<&str> = S3S_POLICIES.iter().map(|(bucket, _)| *bucket).collect();
    let s3s = runtime
        .block_on(s3s_server::start(&buckets_d))
        .expect("start the s3s example");
    let s3s_config = json!({
        "origin": s3s.origin(),
        "body": C12_BODY,
        "put": s3s.presign("PUT", "c12", "upload.txt"),
        "get": s3s.presign("GET", "c12", "upload.txt"),
        "refusedPut": s3s.presign("PUT", "c12-refused", "upload.txt"),
    });

    // Origin A: the page. Its control endpoint swaps case 10's policy.
    let page_origin_cell: Arc<OnceLock<String>> = Arc::default();
    let c10: SharedPolicy = buckets.create("c10");
    let control: Control = {
        let page_origin = page_origin_cell.clone();
        let c10 = c10.clone();
        Arc::new(move |action: &str| {
            let page = page_origin.get().ok_or("page origin unknown")?;
            match action {
                "swap-c10" => c10
                    .put_document(&document(C10_AFTER_SWAP, page))
                    .map(|()| "stored".to_owned())
                    .map_err(|e| e.to_string()),
                "clear-c10" => Ok(format!("cleared: {}", c10.delete_document().is_some())),
                other => Err(format!("unknown action {other}")),
            }
        })
    };
    let run = run_id();
    let config =
        json!({ "s3": server.origin(), "grpc": grpc_origin, "s3s": s3s_config, "run": run });
    let page = Page {
        html: html(&config),
        script: include_str!("page/cases.js").to_owned(),
    };
    let (page_addr, events) = runtime
        .block_on(page_server::start(page, control))
        .expect("start the page server");
    let page_origin = format!("http://{page_addr}");
    let _ = page_origin_cell.set(page_origin.clone());

    for (bucket, template) in POLICIES {
        buckets
            .create(bucket)
            .put_document(&document(template, &page_origin))
            .unwrap_or_else(|e| panic!("policy of {bucket}: {e}"));
    }
    // Through the s3s example's CORS store, as its PutBucketCors would.
    for (bucket, template) in S3S_POLICIES {
        let document = document(template, &page_origin);
        runtime
            .block_on(tower_s3_cors::source::BucketCors::put_document(
                &s3s.cors, bucket, &document,
            ))
            .unwrap_or_else(|e| panic!("storing the policy of {bucket}: {e:?}"));
    }

    say(&format!(
        "browser-tests: {} | page {page_origin} | S3 {} | gRPC-web {grpc_origin} | s3s {}",
        binary.display(),
        server.origin(),
        s3s.origin()
    ));
    let mut browser = Browser::launch(&binary, &format!("{page_origin}/")).expect("start Chromium");

    // Wait for every case to report.
    let deadline = Instant::now() + PAGE_TIMEOUT;
    let mut reports: BTreeMap<String, Value> = BTreeMap::new();
    let mut page_log = Vec::new();
    let mut problem = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            problem = Some(format!(
                "the page did not finish within {PAGE_TIMEOUT:?} ({} of {} cases reported)",
                reports.len(),
                CASES.len()
            ));
            break;
        }
        match events.recv_timeout(left.min(Duration::from_millis(250))) {
            Ok(PageEvent::Report(report)) => {
                let id = report["id"].as_str().unwrap_or("?").to_owned();
                reports.insert(id, report);
            }
            Ok(PageEvent::Done) => break,
            Ok(PageEvent::Log(line)) => page_log.push(line),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(status) = browser.exited() {
                    problem = Some(format!("Chromium exited early ({status})"));
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                problem = Some("the page server stopped".into());
                break;
            }
        }
    }
    browser.kill();
    let chromium_log = browser.log_text();
    let console = browser.console_lines();
    drop(browser); // removes the profile directory

    let ctx = Ctx {
        page_origin,
        server,
        s3s,
        console,
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    say("");
    for (id, title, checker) in CASES {
        let mut verdict = Verdict::default();
        let ms = match reports.get(*id) {
            Some(report) => {
                let observed = &report["observed"];
                if let Some(exception) = observed["exception"].as_str() {
                    verdict
                        .failures
                        .push(format!("the page's case threw: {exception}"));
                } else {
                    checker(observed, &ctx, &mut verdict);
                }
                report["ms"]
                    .as_u64()
                    .map_or_else(String::new, |ms| format!(" ({ms} ms)"))
            }
            None => {
                verdict.failures.push("no report from the page".into());
                String::new()
            }
        };
        let mark = if verdict.failures.is_empty() {
            "PASS"
        } else {
            "FAIL"
        };
        say(&format!("{mark} {id} {title}{ms}"));
        for note in &verdict.notes {
            say(&format!("       . {note}"));
        }
        for failure in &verdict.failures {
            say(&format!("       ! {failure}"));
        }
        if verdict.failures.is_empty() {
            passed += 1;
        } else {
            failed.push(format!("{id}: {}", verdict.failures.join("; ")));
        }
    }
    if let Some(problem) = &problem {
        failed.push(problem.clone());
    }
    let elapsed = started.elapsed();
    say(&format!(
        "\nbrowser-tests: {passed} of {} cases passed in {:.1} s (whole run, Chromium start included)",
        CASES.len(),
        elapsed.as_secs_f64()
    ));

    if !failed.is_empty() {
        say("\n--- page log ---");
        for line in &page_log {
            say(line);
        }
        say("--- Chromium console and CORS lines ---");
        for line in &ctx.console {
            say(line);
        }
        if problem.is_some() {
            say("--- Chromium log (last 60 lines) ---");
            let lines: Vec<&str> = chromium_log.lines().collect();
            for line in &lines[lines.len().saturating_sub(60)..] {
                say(line);
            }
        }
    }
    let verbose = std::env::var_os(VERBOSE_ENV).is_some();
    if !failed.is_empty() || verbose {
        say("--- server exchanges (recorded in front of the CORS layer) ---");
        for exchange in ctx.server.log.snapshot() {
            say(&if verbose {
                exchange.detail()
            } else {
                exchange.summary()
            });
        }
        say("--- s3s example exchanges (recorded in front of the CORS layer) ---");
        for exchange in ctx.s3s.log.snapshot() {
            say(&if verbose {
                exchange.detail()
            } else {
                exchange.summary()
            });
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    assert!(
        failed.is_empty(),
        "browser cases failed:\n{}",
        failed.join("\n")
    );
}
