//! The rule engine alone: `Policy::evaluate` for 1, 10 and 100 rules with an
//! exact or a wildcard origin (the match is always the last rule), for
//! preflights listing 1, 10 and 50 `Access-Control-Request-Headers` names,
//! and for a rule listing 1, 10, 100 and 1,000 `AllowedHeader` patterns
//! (exact names or `prefix-*` wildcards) against a preflight listing 20
//! names: criterion's throughput there is names per second, so time / 20
//! is the cost per requested name.
//!
//! Run with `cargo bench --bench engine`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tower_s3_cors::Policy;
use tower_s3_cors::policy::CorsRequest;

fn evaluate(policy: &Policy, request: &http::Request<support::Body>) -> bool {
    let cors = CorsRequest::new(request.method(), request.headers()).expect("has an Origin");
    black_box(policy.evaluate(black_box(&cors))).is_ok()
}

fn rules(c: &mut Criterion) {
    let request = support::get_with_origin();
    let mut group = c.benchmark_group("evaluate_get");
    for wildcard in [false, true] {
        let kind = if wildcard { "wildcard" } else { "exact" };
        for n in [1, 10, 100] {
            let policy = support::policy(n, wildcard);
            assert!(evaluate(&policy, &request), "the last rule matches");
            group.bench_function(BenchmarkId::new(kind, format!("{n}_rules")), |b| {
                b.iter(|| evaluate(&policy, &request));
            });
        }
    }
    // Tenants: `https://*.tenantN.example`, every suffix ending the same way.
    for n in [1, 10, 100] {
        let policy = support::tenant_policy(n);
        let request = support::get_from(&support::tenant_origin(n - 1));
        assert!(evaluate(&policy, &request), "the last rule matches");
        group.bench_function(BenchmarkId::new("tenants", format!("{n}_rules")), |b| {
            b.iter(|| evaluate(&policy, &request));
        });
    }
    group.finish();
}

/// Per requested name, by the number of `AllowedHeader` patterns.
fn header_patterns(c: &mut Criterion) {
    const NAMES: usize = 20;
    let mut group = c.benchmark_group("evaluate_acrh_patterns");
    group.throughput(Throughput::Elements(NAMES as u64));
    for wildcard in [false, true] {
        let kind = if wildcard { "wildcard" } else { "exact" };
        for patterns in [1, 10, 100, 1000] {
            let policy = support::header_pattern_policy(patterns, wildcard);
            let names = support::names_for_patterns(NAMES, patterns, wildcard);
            let request = support::preflight(&names);
            assert!(evaluate(&policy, &request), "every name is allowed");
            group.bench_function(
                BenchmarkId::new(kind, format!("{patterns}_patterns")),
                |b| {
                    b.iter(|| evaluate(&policy, &request));
                },
            );
        }
    }
    group.finish();
    // The hardening issue's case: a 350 KiB `Access-Control-Request-Headers`
    // against a rule listing 1,676 headers (271 ms of CPU per preflight
    // when every name was compared with every pattern).
    let mut group = c.benchmark_group("evaluate_acrh_large");
    let (patterns, bytes) = (1676, 350 * 1024);
    let policy = support::header_pattern_policy(patterns, false);
    let mut names = support::names_for_patterns(patterns, patterns, false);
    while names.len() < bytes {
        names = format!("{names},{names}");
    }
    names.truncate(names[..bytes].rfind(',').expect("several names"));
    let count = names.split(',').count();
    let request = support::preflight(&names);
    assert!(evaluate(&policy, &request), "every name is allowed");
    group.throughput(Throughput::Elements(count as u64));
    group.sample_size(10);
    group.bench_function(format!("{patterns}_patterns_{count}_names"), |b| {
        b.iter(|| evaluate(&policy, &request));
    });
    group.finish();
}

fn request_headers(c: &mut Criterion) {
    let policy = support::policy(1, false);
    let mut group = c.benchmark_group("evaluate_preflight");
    for n in [1, 10, 50] {
        let request = support::preflight(&support::header_names(n));
        assert!(
            evaluate(&policy, &request),
            "AllowedHeader * admits every name"
        );
        group.bench_function(BenchmarkId::new("acrh", format!("{n}_names")), |b| {
            b.iter(|| evaluate(&policy, &request));
        });
    }
    group.finish();
}

criterion_group! { name = benches; config = support::criterion(); targets = rules, request_headers, header_patterns }
criterion_main!(benches);
