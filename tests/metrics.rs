//! The `metrics` feature: each metric of the core crate, read from the
//! test harness's recorder, installed for the whole process before the
//! first layer is built (as the crate's docs ask). A test binary of its
//! own, since the recorder is process-wide; its tests take turns (one
//! lock) and compare counts before and after.

#![cfg(all(feature = "metrics", feature = "store"))]
#![allow(clippy::unwrap_used)]
// Each test holds the recorder's turn to its end, awaits included: each runs
// on a runtime of its own, on a thread of its own, so a test waiting for the
// turn blocks only its own thread.
#![allow(clippy::await_holding_lock)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response};
use metrics::Unit;
use tower::{Layer as _, ServiceExt as _, service_fn};
use tower_s3_cors::source::{
    BucketCors, BucketError, BucketPolicy, Buckets, Located, ReadThrough, RequestHead, Resolution,
};
use tower_s3_cors::store::{CorsStore, Lookup, MemoryStore, Version};
use tower_s3_cors::{S3CorsLayer, SharedPolicy};
use tower_s3_cors_test_support::metrics::{Registry, registry};

/// The counters that changed from `before` to now, and by how much.
fn changes(registry: &Registry, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    registry.changes(before)
}

const GET_ANY: &str = r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#;
const APP_ONLY: &str =
    r#"[{"AllowedOrigins":["https://app.example"],"AllowedMethods":["GET","PUT"]}]"#;

/// Sends `request` through `layer` over an inner service that answers 200.
async fn send<P: BucketCors>(layer: &S3CorsLayer<P>, request: Request<()>) -> u16 {
    let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    let response = layer.layer(inner).oneshot(request).await.unwrap();
    response.status().as_u16()
}

fn preflight(path: &str, origin: &str, method: &str) -> Request<()> {
    Request::options(path)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .body(())
        .unwrap()
}

fn get(path: &str, origin: Option<&str>) -> Request<()> {
    let mut request = Request::get(path);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.body(()).unwrap()
}

fn requests(kind: &str, outcome: &str) -> String {
    format!("s3_cors_requests_total{{kind={kind},outcome={outcome}}}")
}

fn shadow(kind: &str, live: &str, shadow: &str) -> String {
    format!("s3_cors_shadow_total{{kind={kind},live={live},shadow={shadow}}}")
}

/// A source whose store is down: every bucket unavailable.
#[derive(Clone)]
struct Down;

impl BucketCors for Down {
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        Some(Located::new("down", request.uri().path()))
    }
    fn resolve(&self, _: &str) -> Resolution {
        Resolution::Ready(BucketPolicy::Unavailable)
    }
}

#[tokio::test]
async fn every_cors_request_is_counted_once_by_kind_and_outcome_and_no_other_request() {
    let (registry, _turn) = registry();
    let buckets = Buckets::path_style();
    buckets.create("photos").put_document(GET_ANY).unwrap();
    buckets.create("plain");
    let layer = S3CorsLayer::new(buckets);
    let before = registry.counters();
    let app = "https://app.example";
    assert_eq!(send(&layer, preflight("/photos/a", app, "GET")).await, 200);
    assert_eq!(send(&layer, preflight("/photos/a", app, "PUT")).await, 403);
    assert_eq!(send(&layer, preflight("/plain/a", app, "GET")).await, 403);
    assert_eq!(send(&layer, preflight("/nosuch/a", app, "GET")).await, 403);
    assert_eq!(send(&layer, get("/photos/a", Some(app))).await, 200);
    assert_eq!(send(&layer, get("/plain/a", Some(app))).await, 200);
    assert_eq!(send(&layer, get("/nosuch/a", Some(app))).await, 200);
    let mut put = get("/photos/a", Some(app));
    *put.method_mut() = http::Method::PUT;
    assert_eq!(send(&layer, put).await, 200);
    // A malformed preflight (no Access-Control-Request-Method) is refused.
    let malformed = Request::options("/photos/a")
        .header("origin", app)
        .body(())
        .unwrap();
    assert_eq!(send(&layer, malformed).await, 400);
    // Not CORS: no Origin, whatever the method.
    assert_eq!(send(&layer, get("/photos/a", None)).await, 200);
    let no_origin = Request::options("/photos/a").body(()).unwrap();
    assert_eq!(send(&layer, no_origin).await, 400);
    // A source that cannot tell.
    let down = S3CorsLayer::new(Down);
    assert_eq!(send(&down, preflight("/a", app, "GET")).await, 503);
    assert_eq!(send(&down, get("/a", Some(app))).await, 200);

    let expected: BTreeMap<String, u64> = [
        (requests("preflight", "allowed"), 1),
        (requests("preflight", "refused"), 2),
        (requests("preflight", "not_configured"), 1),
        (requests("preflight", "no_such_bucket"), 1),
        (requests("preflight", "unavailable"), 1),
        (requests("actual", "allowed"), 1),
        (requests("actual", "refused"), 1),
        (requests("actual", "not_configured"), 1),
        (requests("actual", "no_such_bucket"), 1),
        (requests("actual", "unavailable"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(changes(registry, &before), expected);

    let (unit, help) = registry.description("s3_cors_requests_total").unwrap();
    assert_eq!(unit, Some(Unit::Count));
    assert!(help.starts_with("CORS requests"), "{help}");
    assert_eq!(
        registry
            .description("s3_cors_store_load_duration_seconds")
            .unwrap()
            .0,
        Some(Unit::Seconds)
    );
}

#[tokio::test]
async fn a_shadow_is_counted_for_each_combination_and_never_answers() {
    let (registry, _turn) = registry();
    let cors = SharedPolicy::from_document(GET_ANY).unwrap();
    cors.put_shadow_document(APP_ONLY).unwrap();
    let layer = S3CorsLayer::new(cors.clone());
    let before = registry.counters();
    let (app, other) = ("https://app.example", "https://other.example");
    // live GET *; shadow GET, PUT from app only.
    assert_eq!(send(&layer, preflight("/a", app, "GET")).await, 200); // allowed, allowed
    assert_eq!(send(&layer, preflight("/a", other, "GET")).await, 200); // allowed, refused
    assert_eq!(send(&layer, preflight("/a", app, "PUT")).await, 403); // refused, allowed
    assert_eq!(send(&layer, preflight("/a", other, "PUT")).await, 403); // refused, refused
    assert_eq!(send(&layer, get("/a", Some(app))).await, 200);
    assert_eq!(send(&layer, get("/a", Some(other))).await, 200);
    // A bucket without CORS and a shadow: the live answer is "not
    // configured", counted as refused beside the shadow's verdict.
    cors.delete_document();
    assert_eq!(send(&layer, preflight("/a", app, "GET")).await, 403);
    // Without a shadow, nothing more is counted.
    cors.delete_shadow();
    assert_eq!(send(&layer, preflight("/a", app, "GET")).await, 403);
    let expected: BTreeMap<String, u64> = [
        (requests("preflight", "allowed"), 2),
        (requests("preflight", "refused"), 2),
        (requests("preflight", "not_configured"), 2),
        (requests("actual", "allowed"), 2),
        (shadow("preflight", "allowed", "allowed"), 1),
        (shadow("preflight", "allowed", "refused"), 1),
        (shadow("preflight", "refused", "allowed"), 2),
        (shadow("preflight", "refused", "refused"), 1),
        (shadow("actual", "allowed", "allowed"), 1),
        (shadow("actual", "allowed", "refused"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(changes(registry, &before), expected);
}

#[tokio::test]
async fn a_load_is_counted_when_it_is_over_with_the_shadow_it_completed_with() {
    let (registry, _turn) = registry();
    let store = MemoryStore::new();
    store.put("photos", GET_ANY).await.unwrap();
    let cors = ReadThrough::builder(store).build().unwrap();
    cors.put_shadow_document("photos", APP_ONLY).unwrap();
    let layer = S3CorsLayer::new(cors.clone());
    let before = registry.counters();
    // Both miss: the preflight waits for the load, the GET joins it.
    let other = "https://other.example";
    let (preflight, get) = tokio::join!(
        send(&layer, preflight("/photos/a", other, "GET")),
        send(&layer, get("/photos/b", Some(other))),
    );
    assert_eq!((preflight, get), (200, 200));
    let changed = changes(registry, &before);
    assert_eq!(changed[&requests("preflight", "allowed")], 1);
    assert_eq!(changed[&requests("actual", "allowed")], 1);
    assert_eq!(changed[&shadow("preflight", "allowed", "refused")], 1);
    assert_eq!(changed[&shadow("actual", "allowed", "refused")], 1);
    assert_eq!(changed["s3_cors_store_loads_total"], 1, "one load, shared");
}

#[tokio::test]
async fn buckets_are_labelled_up_to_the_bound_and_the_rest_are_counted_together() {
    let (registry, _turn) = registry();
    let buckets = Buckets::path_style();
    for name in ["a", "b", "c"] {
        buckets.create(name).put_document(GET_ANY).unwrap();
    }
    let layer = S3CorsLayer::new(buckets).bucket_metrics(2);
    let before = registry.counters();
    let app = "https://app.example";
    // An unknown bucket never takes a label.
    for path in ["/nosuch/x", "/a/x", "/b/x", "/a/x", "/c/x", "/nosuch2/x"] {
        send(&layer, get(path, Some(app))).await;
    }
    let bucket = |name: &str, outcome: &str| {
        format!("s3_cors_bucket_requests_total{{bucket={name},kind=actual,outcome={outcome}}}")
    };
    let expected: BTreeMap<String, u64> = [
        (requests("actual", "allowed"), 4),
        (requests("actual", "no_such_bucket"), 2),
        (bucket("a", "allowed"), 2),
        (bucket("b", "allowed"), 1),
        (bucket("_other", "allowed"), 1),
        (bucket("_other", "no_such_bucket"), 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(changes(registry, &before), expected);
    let labelled: Vec<String> = registry
        .series("s3_cors_bucket_requests_total{bucket=")
        .into_iter()
        .filter_map(|series| {
            let rest = series.split_once("bucket=")?.1;
            Some(rest.split(',').next()?.to_owned())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(labelled, ["_other", "a", "b"], "the bound holds");
}

/// A store whose buckets say how it answers: `down` (unavailable), `slow`
/// (slower than the load timeout), `bad` (a document that does not
/// validate); any other bucket has no CORS.
#[derive(Debug)]
struct Flaky;

impl CorsStore for Flaky {
    async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
        match bucket {
            "down" => Err(BucketError::unavailable("the store is down")),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(Lookup::NotFound(Version::new(1)))
            }
            "bad" => Ok(Lookup::Found("not a document".into(), Version::new(1))),
            _ => Ok(Lookup::NotFound(Version::new(1))),
        }
    }
    async fn put(&self, _: &str, _: &str) -> Result<Version, BucketError> {
        Ok(Version::new(2))
    }
    async fn delete(&self, _: &str) -> Result<Version, BucketError> {
        Ok(Version::new(2))
    }
}

/// `bucket`'s policy, once loaded.
async fn loaded(cors: &ReadThrough, bucket: &str) -> BucketPolicy {
    match cors.resolve(bucket) {
        Resolution::Ready(policy) | Resolution::Shadowed(policy, _) => policy,
        Resolution::Pending(pending) => pending.await,
    }
}

#[tokio::test]
async fn the_cache_counts_loads_their_time_failures_by_kind_its_size_and_evictions() {
    let (registry, _turn) = registry();
    let before = registry.counters();
    let cached_before = registry.gauge("s3_cors_store_cached_buckets");
    let timed_before = registry
        .samples("s3_cors_store_load_duration_seconds")
        .len();
    let cors = ReadThrough::builder(Flaky)
        .capacity(3)
        .load_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert!(matches!(
        loaded(&cors, "down").await,
        BucketPolicy::Unavailable
    ));
    assert!(matches!(
        loaded(&cors, "slow").await,
        BucketPolicy::Unavailable
    ));
    assert!(matches!(
        loaded(&cors, "bad").await,
        BucketPolicy::Unavailable
    ));
    assert_eq!(
        registry.gauge("s3_cors_store_cached_buckets") - cached_before,
        3.0
    );
    for bucket in ["p", "q", "r"] {
        assert!(matches!(
            loaded(&cors, bucket).await,
            BucketPolicy::NotConfigured
        ));
    }
    let changed = changes(registry, &before);
    assert_eq!(changed["s3_cors_store_loads_total"], 6);
    assert_eq!(
        changed["s3_cors_store_load_failures_total{kind=unavailable}"],
        1
    );
    assert_eq!(
        changed["s3_cors_store_load_failures_total{kind=timeout}"],
        1
    );
    assert_eq!(
        changed["s3_cors_store_load_failures_total{kind=invalid}"],
        1
    );
    assert!(!changed.contains_key("s3_cors_store_load_failures_total{kind=other}"));
    assert_eq!(
        changed["s3_cors_store_evictions_total"], 3,
        "capacity 3, 6 buckets"
    );
    assert_eq!(cors.len(), 3);
    assert_eq!(
        registry.gauge("s3_cors_store_cached_buckets") - cached_before,
        3.0
    );
    let timed = registry.samples("s3_cors_store_load_duration_seconds");
    assert_eq!(timed.len() - timed_before, 6);
    assert!(
        timed[timed_before..].iter().any(|&seconds| seconds >= 0.1),
        "the timed-out load took its timeout: {timed:?}"
    );
    // A cache that goes takes its buckets out of the gauge.
    drop(cors);
    assert_eq!(
        registry.gauge("s3_cors_store_cached_buckets"),
        cached_before
    );
}
