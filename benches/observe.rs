//! What counting and shadows cost the layer: a matched `GET` (inner
//! response with a `Content-Type`) and a matched preflight listing two
//! names, each through the layer over a `SharedPolicy` without a shadow,
//! with a shadow that agrees, and (feature `metrics`) with per-bucket
//! counters, timed in interleaved batches (see `benches/interleaved.rs`
//! for the method) or run one at a time for callgrind.
//!
//! Built with the `metrics` feature, the bench installs a recorder whose
//! counters are atomics behind the facade's handles, as exporters' are (the
//! Prometheus exporter's are too), so that "metrics on" counts for real.
//! Built without it, the same cases run on the layer without metrics: the
//! shadow is then stored but never evaluated (nothing would observe it).
//! `benches/observe.sh` builds both and compares them: instructions per
//! request (callgrind, both binaries at one path), and times from
//! interleaved runs of the two binaries in turn.
//!
//! ```text
//! cargo bench --bench observe [--features metrics]            # interleaved batches
//! target/release/deps/observe-* CASE N                          # N requests of one case (callgrind)
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Instant;

use http::{Request, Response};
use tower::{Layer, Service};
use tower_s3_cors::source::Buckets;
use tower_s3_cors::{S3CorsLayer, SharedPolicy};

use support::Body;

/// A source without a shadow.
fn plain() -> SharedPolicy {
    SharedPolicy::new(support::policy(1, false))
}

/// A source whose shadow is its own policy again (so it agrees).
fn shadowed() -> SharedPolicy {
    let cors = plain();
    cors.put_shadow(support::policy(1, false));
    cors
}

/// Path-style buckets, `photos` (the requests' bucket) with the policy.
fn photos() -> Buckets {
    let buckets = Buckets::path_style();
    buckets.insert("photos", plain());
    buckets
}

fn preflight_two_names() -> Request<Body> {
    support::preflight(support::TWO_NAMES)
}

/// What every case's service answers.
type Answer = Response<tower_s3_cors::body::ResponseBody<Body>>;

/// A case's service and requests.
type Case = (
    &'static str,
    Box<dyn FnMut(Request<Body>) -> Answer>,
    fn() -> Request<Body>,
);

/// Boxes `service` so that every case has one type.
fn case<S>(name: &'static str, mut service: S, request: fn() -> Request<Body>) -> Case
where
    S: Service<Request<Body>, Response = Answer, Error = Infallible> + 'static,
{
    (
        name,
        Box::new(move |request| support::call(&mut service, request)),
        request,
    )
}

fn cases() -> Vec<Case> {
    let ct = support::inner_with_content_type;
    let get = support::get_with_origin;
    #[allow(unused_mut)]
    let mut cases = vec![
        case("get/plain", S3CorsLayer::new(plain()).layer(ct()), get),
        case(
            "get/shadowed",
            S3CorsLayer::new(shadowed()).layer(ct()),
            get,
        ),
        case(
            "preflight/plain",
            S3CorsLayer::new(plain()).layer(support::inner()),
            preflight_two_names,
        ),
        case(
            "preflight/shadowed",
            S3CorsLayer::new(shadowed()).layer(support::inner()),
            preflight_two_names,
        ),
    ];
    // Per-bucket counters need buckets: the request's is `photos`.
    cases.push(case(
        "get/buckets",
        S3CorsLayer::new(photos()).layer(ct()),
        get,
    ));
    #[cfg(feature = "metrics")]
    cases.push(case(
        "get/bucket_labels",
        S3CorsLayer::new(photos()).bucket_metrics(10).layer(ct()),
        get,
    ));
    cases
}

/// A recorder whose counters, gauges and histograms are atomics, as an
/// exporter's are.
#[cfg(feature = "metrics")]
mod recorder {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};

    struct Atomics;

    impl metrics::Recorder for Atomics {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(AtomicU64::new(0)))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(Arc::new(AtomicU64::new(0)))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    pub(crate) fn install() {
        metrics::set_global_recorder(Atomics).unwrap();
    }
}

/// One request through a case; the only code callgrind counts.
#[inline(never)]
fn measured(run: &mut dyn FnMut(Request<Body>) -> Answer, request: Request<Body>) -> Answer {
    run(request)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    #[cfg(feature = "metrics")]
    recorder::install();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mut cases = cases();
    if let [name, times] = &args[..] {
        // One case, for callgrind.
        let times: usize = times.parse().unwrap();
        let (_, run, request) = cases
            .iter_mut()
            .find(|(case, _, _)| case == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        drop(measured(run, request()));
        for _ in 0..times {
            let request = request();
            drop(black_box(measured(run, request)));
        }
        return;
    }
    let (rounds, n) = (env("ROUNDS", 400), env("BATCH", 1000));
    println!(
        "observe (metrics feature {}): {rounds} rounds of {n} requests per case; ns per request",
        if cfg!(feature = "metrics") {
            "on"
        } else {
            "off"
        }
    );
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut responses = Vec::with_capacity(n);
    for round in 0..=rounds {
        for (i, (_, run, request)) in cases.iter_mut().enumerate() {
            let requests: Vec<Request<Body>> = (0..n).map(|_| request()).collect();
            let start = Instant::now();
            for request in requests {
                responses.push(run(black_box(request)));
            }
            let elapsed = start.elapsed().as_nanos() as f64 / n as f64;
            responses.clear();
            if round > 0 {
                times[i].push(elapsed);
            }
        }
    }
    for ((name, _, _), mut times) in cases.iter().zip(times) {
        times.sort_by(f64::total_cmp);
        let p10 = times[(times.len() - 1) / 10];
        println!("{name:<22} lowest {:>7.1}  p10 {:>7.1}", times[0], p10);
    }
}
