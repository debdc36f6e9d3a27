//! The layer's groups timed in interleaved batches, for a shared, noisy
//! machine: each round times one batch of every service of a group in
//! turn, so a burst of other work hits all of them alike, and the lowest
//! and the 10th-percentile batch are kept (a batch that was preempted only
//! gets slower). Complements `cargo bench --bench layer` (criterion's
//! means, whose ratios drift when the load changes between two benches).
//!
//! The services, requests and inner services are the criterion bench's
//! (`benches/support`), with the semantic floor (`support::SemanticFloor`:
//! S3's CORS written by hand for the one-rule document) beside the
//! constant-headers floor; as there, building the requests and dropping the
//! responses are outside the timed loop, dropping each request (as the
//! inner service does) inside.
//!
//! Run with `cargo bench --bench interleaved` (ROUNDS and BATCH in the
//! environment: 400 rounds of 1,000 requests by default).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Instant;

use http::{Request, Response};
use tower::{Layer, Service};
use tower_s3_cors::{S3CorsLayer, SharedPolicy, VaryMode};

use support::semantic::SemanticFloor;
use support::{Body, StaticHeaders};

/// Times one batch: ns per request.
type Batch = Box<dyn FnMut(usize) -> f64>;

/// A batch runner for `service` on requests from `request`.
fn batch<S, B>(mut service: S, request: fn() -> Request<Body>) -> Batch
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + 'static,
    B: 'static,
{
    let mut responses: Vec<Response<B>> = Vec::new();
    Box::new(move |n| {
        let requests: Vec<Request<Body>> = (0..n).map(|_| request()).collect();
        responses.reserve(n);
        let start = Instant::now();
        for request in requests {
            responses.push(support::call(&mut service, black_box(request)));
        }
        let elapsed = start.elapsed();
        responses.clear();
        elapsed.as_nanos() as f64 / n as f64
    })
}

fn s3cors(rules: usize, wildcard: bool) -> S3CorsLayer {
    S3CorsLayer::new(SharedPolicy::new(support::policy(rules, wildcard)))
}

fn preflight_two_names() -> Request<Body> {
    support::preflight(support::TWO_NAMES)
}

/// The groups: (group, [(service, batch runner)]).
fn groups() -> Vec<(&'static str, Vec<(&'static str, Batch)>)> {
    let ct = support::inner_with_content_type;
    let get = support::get_with_origin;
    let no_origin = support::get_without_origin;
    vec![
        (
            "get_origin_ct",
            vec![
                ("bare", batch(ct(), get)),
                ("static_headers", batch(StaticHeaders::cors(ct()), get)),
                ("semantic", batch(SemanticFloor::new(ct()), get)),
                ("s3cors", batch(s3cors(1, false).layer(ct()), get)),
                (
                    "tower_http",
                    batch(support::tower_http_layer().layer(ct()), get),
                ),
            ],
        ),
        (
            "preflight_2_names",
            vec![
                ("bare", batch(support::inner(), preflight_two_names)),
                (
                    "static_headers",
                    batch(StaticHeaders::cors(support::inner()), preflight_two_names),
                ),
                (
                    "semantic",
                    batch(SemanticFloor::new(support::inner()), preflight_two_names),
                ),
                (
                    "s3cors",
                    batch(
                        s3cors(1, false).layer(support::inner()),
                        preflight_two_names,
                    ),
                ),
                (
                    "tower_http",
                    batch(
                        support::tower_http_layer().layer(support::inner()),
                        preflight_two_names,
                    ),
                ),
            ],
        ),
        (
            "get_no_origin_ct",
            vec![
                ("bare", batch(ct(), no_origin)),
                ("static_vary", batch(StaticHeaders::vary(ct()), no_origin)),
                ("semantic", batch(SemanticFloor::new(ct()), no_origin)),
                (
                    "origin_lookup",
                    batch(support::OriginLookup(ct()), no_origin),
                ),
                ("s3cors", batch(s3cors(1, false).layer(ct()), no_origin)),
                (
                    "s3cors_s3_exact",
                    batch(
                        s3cors(1, false).vary_mode(VaryMode::S3Exact).layer(ct()),
                        no_origin,
                    ),
                ),
                (
                    "tower_http",
                    batch(support::tower_http_layer().layer(ct()), no_origin),
                ),
            ],
        ),
        (
            "get_origin_rules",
            vec![
                ("s3cors_1", batch(s3cors(1, false).layer(ct()), get)),
                ("s3cors_100", batch(s3cors(100, false).layer(ct()), get)),
                ("s3cors_wildcard_1", batch(s3cors(1, true).layer(ct()), get)),
                (
                    "s3cors_wildcard_100",
                    batch(s3cors(100, true).layer(ct()), get),
                ),
            ],
        ),
    ]
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `q`-quantile of sorted `values`.
fn quantile(values: &[f64], q: f64) -> f64 {
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter, if any, picks groups.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let (rounds, n) = (env("ROUNDS", 400), env("BATCH", 1000));
    println!("interleaved: {rounds} rounds of {n} requests per service; ns per request");
    for (group, mut services) in groups() {
        if filter.as_ref().is_some_and(|f| !group.contains(f.as_str())) {
            continue;
        }
        // A warm-up round, not kept.
        for (_, run) in &mut services {
            run(n);
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); services.len()];
        for _ in 0..rounds {
            for ((_, run), times) in services.iter_mut().zip(&mut times) {
                times.push(run(n));
            }
        }
        println!("\n{group}");
        let mut lows = Vec::new();
        for ((name, _), times) in services.iter().zip(&mut times) {
            times.sort_by(f64::total_cmp);
            let (min, p10, median) = (times[0], quantile(times, 0.1), quantile(times, 0.5));
            println!("  {name:<22} min {min:8.1}   p10 {p10:8.1}   median {median:8.1}");
            lows.push((*name, min, p10));
        }
        let find = |name: &str| {
            lows.iter()
                .find(|(n, ..)| *n == name)
                .map(|&(_, m, p)| (m, p))
        };
        if let (Some(bare), Some(ours)) = (find("bare"), find("s3cors")) {
            let added = |(m, p): (f64, f64)| (m - bare.0, p - bare.1);
            let ours = added(ours);
            println!("  added (min, p10): s3cors {:.1}, {:.1}", ours.0, ours.1);
            for floor in ["semantic", "static_headers", "tower_http"] {
                if let Some(other) = find(floor) {
                    let other = added(other);
                    println!(
                        "  added: s3cors / {floor}: {:.2} (min), {:.2} (p10)   [{floor} added {:.1}, {:.1}]",
                        ours.0 / other.0,
                        ours.1 / other.1,
                        other.0,
                        other.1
                    );
                }
            }
            for floor in ["static_vary", "semantic"] {
                if let (Some(floor_t), Some(_)) = (find(floor), find("static_vary")) {
                    let floor_t = added(floor_t);
                    println!(
                        "  added: s3cors - {floor}: {:.1} ns (min), {:.1} ns (p10)   [{floor} added {:.1}, {:.1}]",
                        ours.0 - floor_t.0,
                        ours.1 - floor_t.1,
                        floor_t.0,
                        floor_t.1
                    );
                }
            }
            if let Some(exact) = find("s3cors_s3_exact") {
                let exact = added(exact);
                println!(
                    "  added: s3cors_s3_exact: {:.1} ns (min), {:.1} ns (p10)",
                    exact.0, exact.1
                );
                if let Some(lookup) = find("origin_lookup") {
                    let lookup = added(lookup);
                    println!(
                        "  added: origin_lookup (the Origin lookup alone): {:.1} ns (min), {:.1} ns (p10)",
                        lookup.0, lookup.1
                    );
                    println!(
                        "  s3cors_s3_exact - origin_lookup: {:.1} ns (min), {:.1} ns (p10)",
                        exact.0 - lookup.0,
                        exact.1 - lookup.1
                    );
                }
            }
        }
        for (many, one) in [
            ("s3cors_100", "s3cors_1"),
            ("s3cors_wildcard_100", "s3cors_wildcard_1"),
        ] {
            if let (Some(many_t), Some(one_t)) = (find(many), find(one)) {
                println!(
                    "  {many} / {one}: {:.2} (min), {:.2} (p10)",
                    many_t.0 / one_t.0,
                    many_t.1 / one_t.1
                );
            }
        }
    }
}
