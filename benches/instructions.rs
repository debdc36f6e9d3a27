//! Runs one request kind through one service many times, for counting
//! instructions with callgrind: unlike times on a shared machine, the
//! counts repeat exactly from run to run. `benches/instructions.sh` runs
//! every case and prints instructions per request.
//!
//! ```text
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='*measured*' target/release/deps/instructions-* s3cors/get_origin 1000
//! ```
//!
//! A case is `service/request`, with `_cloned` (the service is cloned for
//! every request) or `_ct` (the inner response carries a `Content-Type`, as
//! a real handler's does) after the request's name.
//!
//! Only the `measured` function is counted: `poll_ready`, `call`, polling
//! the response future and dropping the request (as in the criterion
//! benches); building the request and dropping the response are not.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::convert::Infallible;
use std::hint::black_box;

use http::{Request, Response};
use tower::{Layer, Service};
use tower_s3_cors::{S3CorsLayer, SharedPolicy, VaryMode};

use support::{Body, StaticHeaders};

/// One request through `service`; the only code callgrind counts.
#[inline(never)]
fn measured<S, B>(service: &mut S, request: Request<Body>, clone: bool) -> Response<B>
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
{
    if clone {
        support::call(&mut service.clone(), request)
    } else {
        support::call(service, request)
    }
}

fn run<S, B>(mut service: S, request: fn() -> Request<Body>, clone: bool, times: u64)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
{
    // One warm-up request, uncounted, as the allocation test does.
    drop(support::call(&mut service, request()));
    for _ in 0..times {
        let request = request();
        let response = measured(&mut service, black_box(request), clone);
        drop(black_box(response));
    }
}

fn preflight_two_names() -> Request<Body> {
    support::preflight(support::TWO_NAMES)
}

fn s3cors(rules: usize) -> S3CorsLayer {
    S3CorsLayer::new(SharedPolicy::new(support::policy(rules, false)))
}

/// Builds one request of a kind.
type MakeRequest = fn() -> Request<Body>;

const REQUESTS: [(&str, MakeRequest); 5] = [
    ("get_origin", support::get_with_origin),
    ("preflight_2_names", preflight_two_names),
    ("get_no_origin", support::get_without_origin),
    ("get_refused", support::get_refused),
    ("preflight_refused", support::preflight_refused),
];

/// Every case name this binary knows.
fn cases() -> Vec<String> {
    let mut cases = Vec::new();
    for service in [
        "bare",
        "static_headers",
        "static_vary",
        "s3cors",
        "s3cors_s3_exact",
        "s3cors_100_rules",
        "s3cors_wildcard_1",
        "s3cors_wildcard_100",
        "s3cors_ids_1",
        "s3cors_ids_100",
        "tower_http",
    ] {
        for (request, _) in REQUESTS {
            cases.push(format!("{service}/{request}"));
            cases.push(format!("{service}/{request}_cloned"));
            cases.push(format!("{service}/{request}_ct"));
        }
    }
    cases
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let Some(case) = args.next() else {
        // `cargo bench` runs every bench binary; this one only runs under
        // callgrind, from benches/instructions.sh.
        println!(
            "instructions: run under callgrind with a case: {}",
            cases().join(" ")
        );
        return;
    };
    let times = args
        .next()
        .map_or(1000, |n| n.parse().expect("a number of requests"));
    let (service, request) = case.split_once('/').expect("service/request");
    let (request, clone) = match request.strip_suffix("_cloned") {
        Some(request) => (request, true),
        None => (request, false),
    };
    let (request, content_type) = match request.strip_suffix("_ct") {
        Some(request) => (request, true),
        None => (request, false),
    };
    let request = REQUESTS
        .iter()
        .find(|(name, _)| *name == request)
        .map(|(_, make)| *make)
        .unwrap_or_else(|| panic!("unknown case {case:?}; known: {}", cases().join(" ")));
    let known = if content_type {
        serve(
            service,
            support::inner_with_content_type(),
            request,
            clone,
            times,
        )
    } else {
        serve(service, support::inner(), request, clone, times)
    };
    assert!(known, "unknown case {case:?}; known: {}", cases().join(" "));
}

/// Runs `service` around `inner`; `false` if there is no such service.
fn serve<I>(service: &str, inner: I, request: MakeRequest, clone: bool, times: u64) -> bool
where
    I: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    match service {
        "bare" => run(inner, request, clone, times),
        "static_headers" => run(StaticHeaders::cors(inner), request, clone, times),
        "static_vary" => run(StaticHeaders::vary(inner), request, clone, times),
        "s3cors" => run(s3cors(1).layer(inner), request, clone, times),
        "s3cors_s3_exact" => {
            let layer = s3cors(1).vary_mode(VaryMode::S3Exact);
            run(layer.layer(inner), request, clone, times);
        }
        "s3cors_100_rules" => run(s3cors(100).layer(inner), request, clone, times),
        "s3cors_wildcard_1" | "s3cors_wildcard_100" => {
            let rules = if service == "s3cors_wildcard_1" {
                1
            } else {
                100
            };
            let layer = S3CorsLayer::new(SharedPolicy::new(support::policy(rules, true)));
            run(layer.layer(inner), request, clone, times);
        }
        "s3cors_ids_1" | "s3cors_ids_100" => {
            // Always around an inner response with a `Content-Type`.
            let rules = if service == "s3cors_ids_1" { 1 } else { 100 };
            let layer = S3CorsLayer::new(SharedPolicy::new(support::policy_with_ids(rules)));
            run(
                layer.layer(support::inner_with_content_type()),
                request,
                clone,
                times,
            );
        }
        "tower_http" => run(
            support::tower_http_layer().layer(inner),
            request,
            clone,
            times,
        ),
        _ => return false,
    }
    true
}
