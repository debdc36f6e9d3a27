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
//! `evaluate/KIND_N` cases count `Policy::evaluate` alone (with building
//! its `CorsRequest`), on the policies and requests of benches/engine.rs:
//! `exact_N`, `wildcard_N`, `tenants_N` (N rules, the last one matching),
//! `acrh_exact_N`, `acrh_wildcard_N` (a rule with N `AllowedHeader`
//! patterns, a preflight listing 20 names).
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
use tower_s3_cors::policy::CorsRequest;
use tower_s3_cors::{Policy, S3CorsLayer, SharedPolicy, VaryMode};

use support::semantic::SemanticFloor;
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

/// One `Policy::evaluate` (with its `CorsRequest`), as the engine bench
/// times it; the only code callgrind counts in an `evaluate/…` case.
#[inline(never)]
fn measured_evaluate(policy: &Policy, request: &Request<Body>) -> bool {
    let cors = CorsRequest::new(request.method(), request.headers()).expect("has an Origin");
    policy.evaluate(&cors).is_ok()
}

/// The `evaluate/…` cases: the policies and requests of benches/engine.rs.
fn evaluate_case(name: &str) -> Option<(Policy, Request<Body>)> {
    let (kind, n) = name.rsplit_once('_')?;
    let n: usize = n.parse().ok()?;
    Some(match kind {
        "exact" => (support::policy(n, false), support::get_with_origin()),
        "wildcard" => (support::policy(n, true), support::get_with_origin()),
        "tenants" => (
            support::tenant_policy(n),
            support::get_from(&support::tenant_origin(n - 1)),
        ),
        "acrh_exact" | "acrh_wildcard" => {
            let wildcard = kind == "acrh_wildcard";
            let names = support::names_for_patterns(20, n, wildcard);
            (
                support::header_pattern_policy(n, wildcard),
                support::preflight(&names),
            )
        }
        _ => return None,
    })
}

fn run_evaluate(name: &str, times: u64) -> bool {
    let Some((policy, request)) = evaluate_case(name) else {
        return false;
    };
    assert!(
        measured_evaluate(&policy, &request),
        "the benchmark request is allowed"
    );
    for _ in 0..times {
        black_box(measured_evaluate(black_box(&policy), black_box(&request)));
    }
    true
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
        "semantic",
        "origin_lookup",
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
    for kind in ["exact", "wildcard", "tenants"] {
        for n in [1, 10, 100] {
            cases.push(format!("evaluate/{kind}_{n}"));
        }
    }
    for kind in ["acrh_exact", "acrh_wildcard"] {
        for n in [1, 10, 100, 1000] {
            cases.push(format!("evaluate/{kind}_{n}"));
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
    if service == "evaluate" {
        let known = run_evaluate(request, times);
        assert!(known, "unknown case {case:?}; known: {}", cases().join(" "));
        return;
    }
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
        "semantic" => run(SemanticFloor::new(inner), request, clone, times),
        "origin_lookup" => run(support::OriginLookup(inner), request, clone, times),
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
