//! The whole middleware against the bare service and tower-http's
//! `CorsLayer`, in the same groups so their ratios come from one run.
//!
//! Both layers are set up with the same single rule (see
//! `support::tower_http_layer`). Beside them, the floor: `static_headers`
//! writes the headers S3 answers with as constants, deciding nothing
//! (`support::StaticHeaders::cors`), and `static_vary` adds only `Vary`
//! (`support::StaticHeaders::vary`, the floor of a request without
//! `Origin` in the default `VaryMode`). The inner service answers at once and the
//! futures are polled with a no-op waker, so no runtime cost hides the
//! layers' own. Each request is built outside the timed loop.
//!
//! Run with `cargo bench --bench layer`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::convert::Infallible;
use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use tower::{Layer, Service};
use tower_s3_cors::{S3CorsLayer, SharedPolicy, VaryMode};

use support::{Body, StaticHeaders};

/// Which floor a group has beside the layers.
#[derive(Clone, Copy)]
enum Floor {
    /// `static_headers`: the five headers of a matched `GET`, S3's answer to
    /// a preflight.
    Headers,
    /// `static_vary`: `Vary` alone.
    Vary,
    /// None (the inner response's `Vary` would need merging).
    None,
}

/// Times the floor of kind `floor` around `inner`.
fn bench_floor<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    floor: Floor,
    inner: S,
    request: fn() -> Request<Body>,
    clone: bool,
) where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
    B: Default,
{
    match floor {
        Floor::Headers => bench(
            group,
            "static_headers",
            StaticHeaders::cors(inner),
            request,
            clone,
        ),
        Floor::Vary => bench(
            group,
            "static_vary",
            StaticHeaders::vary(inner),
            request,
            clone,
        ),
        Floor::None => {}
    }
}

/// Times `service` on requests from `request`; with `clone`, the service is
/// cloned for every request, as axum's router does.
fn bench<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    service: S,
    request: fn() -> Request<Body>,
    clone: bool,
) where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
{
    let mut service = service;
    group.bench_function(name, |b| {
        b.iter_batched(
            request,
            |request| {
                let response = if clone {
                    support::call(&mut black_box(&service).clone(), request)
                } else {
                    support::call(&mut service, request)
                };
                black_box(response)
            },
            BatchSize::SmallInput,
        );
    });
}

fn s3cors(rules: usize) -> S3CorsLayer {
    S3CorsLayer::new(SharedPolicy::new(support::policy(rules, false)))
}

/// Bare, the floor, tower-s3-cors and tower-http side by side for one kind
/// of request.
fn three_ways(c: &mut Criterion, group: &str, request: fn() -> Request<Body>, clone: bool) {
    let mut group = c.benchmark_group(group);
    bench(&mut group, "bare", support::inner(), request, clone);
    bench_floor(&mut group, Floor::Headers, support::inner(), request, clone);
    bench(
        &mut group,
        "s3cors",
        s3cors(1).layer(support::inner()),
        request,
        clone,
    );
    let tower_http = support::tower_http_layer().layer(support::inner());
    bench(&mut group, "tower_http", tower_http, request, clone);
    group.finish();
}

fn preflight_two_names() -> Request<Body> {
    support::preflight(support::TWO_NAMES)
}

fn get_with_origin(c: &mut Criterion) {
    three_ways(c, "get_origin", support::get_with_origin, false);
    three_ways(c, "get_origin_cloned", support::get_with_origin, true);
}

fn preflight(c: &mut Criterion) {
    three_ways(c, "preflight_2_names", preflight_two_names, false);
    three_ways(c, "preflight_2_names_cloned", preflight_two_names, true);
}

/// Bare, the floor, tower-s3-cors in both `Vary` modes, and tower-http for
/// one kind of request, each around a fresh service from `inner`.
fn four_ways<S, B>(
    c: &mut Criterion,
    group: &str,
    floor: Floor,
    inner: fn() -> S,
    request: fn() -> Request<Body>,
) where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
    B: Default,
{
    let mut group = c.benchmark_group(group);
    bench(&mut group, "bare", inner(), request, false);
    bench_floor(&mut group, floor, inner(), request, false);
    bench(
        &mut group,
        "s3cors",
        s3cors(1).layer(inner()),
        request,
        false,
    );
    let s3_exact = s3cors(1).vary_mode(VaryMode::S3Exact);
    bench(
        &mut group,
        "s3cors_s3_exact",
        s3_exact.layer(inner()),
        request,
        false,
    );
    let tower_http = support::tower_http_layer().layer(inner());
    bench(&mut group, "tower_http", tower_http, request, false);
    group.finish();
}

fn get_without_origin(c: &mut Criterion) {
    four_ways(
        c,
        "get_no_origin",
        Floor::Vary,
        support::inner,
        support::get_without_origin,
    );
}

/// The same, with an inner response that has a `Content-Type` already: no
/// layer then pays for the response's header table.
fn with_content_type(c: &mut Criterion) {
    let inner = support::inner_with_content_type;
    four_ways(
        c,
        "get_origin_ct",
        Floor::Headers,
        inner,
        support::get_with_origin,
    );
    four_ways(
        c,
        "get_no_origin_ct",
        Floor::Vary,
        inner,
        support::get_without_origin,
    );
}

/// 1 and 100 rules, the match on the last: exact origins (`s3cors_N`), and
/// wildcard origins `https://*.exampleN.org` (`s3cors_wildcard_N`).
fn many_rules(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_origin_rules");
    for wildcard in [false, true] {
        for rules in [1, 100] {
            let layer = S3CorsLayer::new(SharedPolicy::new(support::policy(rules, wildcard)));
            let name = if wildcard {
                format!("s3cors_wildcard_{rules}")
            } else {
                format!("s3cors_{rules}")
            };
            let service = layer.layer(support::inner());
            bench(&mut group, &name, service, support::get_with_origin, false);
        }
    }
    group.finish();
}

/// Builds one request of a kind.
type MakeRequest = fn() -> Request<Body>;

/// Refused requests against matched ones, with 1 and 100 rules that have
/// IDs: a refusal should cost no more than a match.
fn refusals(c: &mut Criterion) {
    let mut group = c.benchmark_group("refusals");
    for rules in [1, 100] {
        let layer = S3CorsLayer::new(SharedPolicy::new(support::policy_with_ids(rules)));
        let cases: [(&str, MakeRequest); 4] = [
            ("get_matched", support::get_with_origin),
            ("get_refused", support::get_refused),
            ("preflight_matched", preflight_two_names),
            ("preflight_refused", support::preflight_refused),
        ];
        for (name, request) in cases {
            let service = layer.layer(support::inner_with_content_type());
            bench(
                &mut group,
                &format!("{name}_{rules}"),
                service,
                request,
                false,
            );
        }
    }
    group.finish();
}

/// The inner response carries `Vary: Accept-Encoding` already (any
/// compression layer does that): the CORS tokens are merged into it.
fn vary_merge(c: &mut Criterion) {
    let inner = support::inner_with_vary;
    four_ways(
        c,
        "vary_merge_get_origin",
        Floor::None,
        inner,
        support::get_with_origin,
    );
    four_ways(
        c,
        "vary_merge_no_origin",
        Floor::None,
        inner,
        support::get_without_origin,
    );
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = get_with_origin, preflight, get_without_origin, with_content_type, many_rules,
        refusals, vary_merge
}
criterion_main!(benches);
