//! The rule engine alone: `Policy::evaluate` for 1, 10 and 100 rules with an
//! exact or a wildcard origin (the match is always the last rule), and for
//! preflights listing 1, 10 and 50 `Access-Control-Request-Headers` names.
//!
//! Run with `cargo bench --bench engine`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tower_s3_cors::Policy;
use tower_s3_cors::policy::CorsRequest;

fn evaluate(policy: &Policy, request: &http::Request<support::Body>) -> bool {
    let cors = CorsRequest::new(request.method(), request.headers()).expect("has an Origin");
    black_box(policy.evaluate(black_box(&cors))).is_allowed()
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

criterion_group! { name = benches; config = support::criterion(); targets = rules, request_headers }
criterion_main!(benches);
