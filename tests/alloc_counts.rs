//! Heap allocations per request, counted by a counting global allocator.
//!
//! Allocation counts, unlike times, are deterministic, so the performance
//! targets on them are asserted here: no allocation for a request without
//! `Origin`, at most one for a matched actual request, at most two for a
//! preflight listing request headers (none when it lists the names of the
//! service's preflight before).
//!
//! The counter is the `allocation-counter` crate: it installs a
//! `#[global_allocator]` that counts per thread, so this file needs no
//! `unsafe` (the crate forbids it) and nothing the test harness does on its
//! own threads is counted. It is linked only into this test binary.
//!
//! The inner service hands out a response built before counting starts, so
//! every counted allocation is the layer's. The requests carry the headers a
//! browser sends, and the inner responses carry a `Content-Type`, as every
//! real handler's do. Inserting the first header into an empty `HeaderMap`
//! allocates its table (two allocations, inside `http`); the counts for an
//! inner response without any header are printed beside the others to show
//! that cost, which no middleware that adds a header can avoid.
//!
//! `cargo test --test alloc_counts -- --nocapture` prints the table.

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, VARY};
use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tower_s3_cors::{S3CorsLayer, SharedPolicy, VaryMode};

/// The requests, policy and tower-http setup the benchmarks use.
#[path = "../benches/support/mod.rs"]
mod support;

use support::{Body, TWO_NAMES, now};

/// What the inner response carries.
#[derive(Clone, Copy)]
enum InnerKind {
    /// No header at all.
    Bare,
    /// A `Content-Type`, as every real handler's response does.
    Realistic,
    /// A `Content-Type` and `Vary: Accept-Encoding` (behind compression).
    WithVary,
    /// A `Content-Type` and a `Cache-Control`: two headers, no `Vary`.
    TwoHeaders,
}

/// The inner response of kind `kind`.
fn inner_response(kind: InnerKind) -> Response<Body> {
    let mut response = Response::new(Body::new());
    let headers = response.headers_mut();
    match kind {
        InnerKind::Bare => {}
        InnerKind::Realistic => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
        }
        InnerKind::WithVary => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        }
        InnerKind::TwoHeaders => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        }
    }
    response
}

/// An inner service that returns the response put in its slot beforehand,
/// so it allocates nothing while counting.
#[derive(Clone)]
struct Inner(Rc<RefCell<Option<Response<Body>>>>);

impl Service<Request<Body>> for Inner {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        ready(Ok(self
            .0
            .borrow_mut()
            .take()
            .expect("a response was prepared")))
    }
}

/// Allocations made by one request through `layer`, measured after one
/// warm-up request (which promotes shared header bytes and the like).
fn count<L, B>(layer: &L, request: MakeRequest, kind: InnerKind) -> u64
where
    L: Layer<Inner>,
    L::Service: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
{
    let slot = Rc::new(RefCell::new(None));
    let mut service = layer.layer(Inner(Rc::clone(&slot)));
    let mut once = || {
        let request = request();
        *slot.borrow_mut() = Some(inner_response(kind));
        allocation_counter::measure(|| {
            let mut cx = Context::from_waker(Waker::noop());
            assert!(service.poll_ready(&mut cx).is_ready());
            let response = now(service.call(request));
            drop(response);
        })
        .count_total
    };
    once();
    once()
}

/// Builds one request of a kind.
type MakeRequest = fn() -> Request<Body>;

/// The three request kinds of the targets.
const CASES: [(&str, MakeRequest); 3] = [
    ("GET without Origin", support::get_without_origin),
    ("GET with Origin, matched", support::get_with_origin),
    ("preflight, 2 ACRH names, matched", || {
        support::preflight(TWO_NAMES)
    }),
];

/// Counts for every case with `layer`: (with realistic inner responses,
/// with header-less ones).
fn counts<L, B>(name: &str, layer: &L) -> [(u64, u64); 3]
where
    L: Layer<Inner>,
    L::Service: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
{
    let counts = CASES.map(|(_, request)| {
        (
            count(layer, request, InnerKind::Realistic),
            count(layer, request, InnerKind::Bare),
        )
    });
    for ((case, _), (realistic, bare)) in CASES.iter().zip(counts) {
        println!(
            "{name:<24} {case:<34} {realistic:>2} allocations ({bare:>2} if the inner response had no header)"
        );
    }
    counts
}

#[test]
fn allocations_per_request_meet_the_targets() {
    let identity = tower::layer::util::Identity::new();
    let bare = counts("bare service", &identity);
    assert_eq!(
        bare,
        [(0, 0); 3],
        "the inner service itself allocates nothing"
    );

    let ours = counts(
        "tower-s3-cors",
        &S3CorsLayer::new(SharedPolicy::new(support::policy(1, false))),
    );
    let [no_origin, get, preflight] = ours.map(|(realistic, _)| realistic);
    assert_eq!(no_origin, 0, "a request without Origin");
    assert!(get <= 1, "a matched GET: {get}");
    assert!(preflight <= 2, "a matched preflight with ACRH: {preflight}");

    let s3_exact =
        S3CorsLayer::new(SharedPolicy::new(support::policy(1, false))).vary_mode(VaryMode::S3Exact);
    let exact = counts("tower-s3-cors (S3Exact)", &s3_exact);
    assert_eq!(
        exact[0],
        (0, 0),
        "without Origin and Vary, nothing is added"
    );

    counts("tower-http CorsLayer", &support::tower_http_layer());
}

/// A service keeps the last `Access-Control-Allow-Headers` it built: a
/// preflight listing the names of the one before allocates nothing (above),
/// one listing new names builds its value (one allocation) and shares it
/// with the service (one more, the first time).
#[test]
fn a_preflight_listing_new_names_allocates_at_most_twice() {
    let layer = S3CorsLayer::new(SharedPolicy::new(support::policy(1, false)));
    let mut service = layer.layer(support::inner());
    let mut cx = Context::from_waker(Waker::noop());
    let mut preflight = |names: &str| {
        let request = support::preflight(names);
        allocation_counter::measure(|| {
            assert!(service.poll_ready(&mut cx).is_ready());
            drop(now(service.call(request)));
        })
        .count_total
    };
    preflight("x-amz-meta-a,X-Amz-Meta-B");
    let new_names = preflight(TWO_NAMES);
    let same_names = preflight(TWO_NAMES);
    println!(
        "tower-s3-cors            preflight, 2 new ACRH names             {new_names:>2} allocations (the same names again: {same_names})"
    );
    assert!(new_names <= 2, "a preflight listing new names: {new_names}");
    assert_eq!(same_names, 0, "a preflight listing the same names again");
}

/// A shadow costs no allocation when it agrees with the live policy (one
/// more evaluation, nothing else), nor when it disagrees and no subscriber
/// takes the debug log; metrics are counted with no recorder installed (the
/// handles do nothing), as a recorder's own work is not the layer's.
#[cfg(any(feature = "metrics", feature = "tracing"))]
#[test]
fn a_shadow_costs_no_allocation() {
    let live = SharedPolicy::new(support::policy(1, false));
    let plain = counts("tower-s3-cors", &S3CorsLayer::new(live.clone()));
    let shadowed = SharedPolicy::new(support::policy(1, false));
    shadowed.put_shadow(support::policy(1, false));
    let agreeing = counts(
        "tower-s3-cors, a shadow agreeing",
        &S3CorsLayer::new(shadowed.clone()),
    );
    assert_eq!(agreeing, plain, "a shadow that agrees allocates nothing");
    shadowed.put_shadow(
        tower_s3_cors::Policy::from_document(
            r#"[{"AllowedOrigins":["https://elsewhere.example"],"AllowedMethods":["GET"]}]"#,
        )
        .unwrap(),
    );
    let disagreeing = counts(
        "tower-s3-cors, a shadow disagreeing",
        &S3CorsLayer::new(shadowed),
    );
    assert_eq!(disagreeing, plain, "nor one that disagrees, unlogged");
}

/// Refused requests cost no allocation (a preflight: only its error body),
/// and merging the CORS tokens into an inner `Vary` costs one.
#[test]
fn refusals_and_the_vary_merge_meet_the_targets() {
    let count_with = |name: &str, request: MakeRequest, kind: InnerKind, rules: usize| {
        let layer = S3CorsLayer::new(SharedPolicy::new(support::policy_with_ids(rules)));
        let n = count(&layer, request, kind);
        println!("tower-s3-cors            {name:<38} {n:>2} allocations");
        n
    };
    for rules in [1, 100] {
        let get = count_with(
            &format!("refused GET, {rules} rules with IDs"),
            support::get_refused,
            InnerKind::Realistic,
            rules,
        );
        assert_eq!(get, 0, "a refused GET allocates nothing ({rules} rules)");
        let preflight = count_with(
            &format!("refused preflight, {rules} rules with IDs"),
            support::preflight_refused,
            InnerKind::Realistic,
            rules,
        );
        assert_eq!(
            preflight, 1,
            "a refused preflight allocates its error body only"
        );
    }
    let no_origin = count_with(
        "GET without Origin, inner Vary",
        support::get_without_origin,
        InnerKind::WithVary,
        1,
    );
    let refused = count_with(
        "refused GET, inner Vary",
        support::get_refused,
        InnerKind::WithVary,
        1,
    );
    assert_eq!(
        (no_origin, refused),
        (1, 1),
        "the Vary merge allocates once"
    );
    // A matched GET adds five headers to a response that has two already:
    // `http` grows the header map for them (two allocations, whichever two
    // headers the response had), then the merge allocates once.
    let grown = count_with(
        "matched GET, inner has 2 headers, no Vary",
        support::get_with_origin,
        InnerKind::TwoHeaders,
        1,
    );
    let merged = count_with(
        "matched GET, inner Vary",
        support::get_with_origin,
        InnerKind::WithVary,
        1,
    );
    assert_eq!(
        merged,
        grown + 1,
        "the merge adds one allocation to the map's growth"
    );
}

/// The benchmarks' floor (`support::StaticHeaders`) writes, as constants,
/// exactly the status and headers the layer answers with for the requests
/// they measure; the floor of a request without `Origin` adds the layer's
/// `Vary` and nothing else. Its allocation counts are printed beside the
/// layer's.
#[test]
fn the_benchmark_floor_answers_what_the_layer_answers() {
    let layer = S3CorsLayer::new(SharedPolicy::new(support::policy(1, false)));
    let cases: [(MakeRequest, bool); 3] = [
        (support::get_with_origin, false),
        (|| support::preflight(TWO_NAMES), false),
        (support::get_without_origin, true),
    ];
    for (request, vary_only) in cases {
        let ours = support::call(
            &mut layer.layer(support::inner_with_content_type()),
            request(),
        );
        let floor = if vary_only {
            support::call(
                &mut support::StaticHeaders::vary(support::inner_with_content_type()),
                request(),
            )
        } else {
            support::call(
                &mut support::StaticHeaders::cors(support::inner_with_content_type()),
                request(),
            )
        };
        assert_eq!(floor.status(), ours.status());
        assert_eq!(floor.headers(), ours.headers());
    }
    let floor = support::StaticHeaders::cors;
    counts("floor (static headers)", &tower::layer::layer_fn(floor));
}

/// The semantic floor (`support::semantic::SemanticFloor`: S3's CORS written by hand
/// for the benchmarks' one-rule document) answers the benchmarks' requests
/// with the layer's status and headers, in the default `VaryMode`, around
/// an inner response with a `Content-Type` and around one with a `Vary`.
/// Its allocation counts are printed beside the layer's.
#[test]
fn the_semantic_floor_answers_what_the_layer_answers() {
    let requests: [MakeRequest; 6] = [
        support::get_with_origin,
        || support::preflight(TWO_NAMES),
        || support::preflight("X-Amz-Date , content-type,,x-amz-meta-a"),
        || support::preflight(""),
        support::get_without_origin,
        support::get_refused,
    ];
    for request in requests {
        same_answers(support::inner_with_content_type(), request);
        same_answers(support::inner_with_vary(), request);
    }
    counts(
        "semantic floor",
        &tower::layer::layer_fn(support::semantic::SemanticFloor::new),
    );
}

/// The layer and the semantic floor around `inner` give `request` the same
/// status and headers; `Vary` is compared token by token (the layer merges
/// it into one line, the floor adds a line beside the inner one).
fn same_answers<I>(inner: I, request: MakeRequest)
where
    I: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let layer = S3CorsLayer::new(SharedPolicy::new(support::policy(1, false)));
    let ours = support::call(&mut layer.layer(inner.clone()), request());
    let floor = support::call(&mut support::semantic::SemanticFloor::new(inner), request());
    assert_eq!(floor.status(), ours.status());
    let vary_tokens = |headers: &http::HeaderMap| {
        let mut tokens: Vec<String> = headers
            .get_all(VARY)
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect();
        tokens.sort();
        tokens
    };
    let (mut floor, mut ours) = (floor.headers().clone(), ours.headers().clone());
    assert_eq!(vary_tokens(&floor), vary_tokens(&ours));
    floor.remove(VARY);
    ours.remove(VARY);
    assert_eq!(floor, ours);
}

/// Memory per cached bucket in a read-through source, for the demo's
/// three-rule document: buckets sharing one configuration (and so one
/// compiled policy), and buckets that each have their own.
#[cfg(feature = "store")]
#[test]
fn memory_per_cached_bucket() {
    use tower_s3_cors::source::{BucketCors as _, ReadThrough};
    use tower_s3_cors::store::{CorsStore as _, MemoryStore};

    const THREE_RULES: &str = include_str!("fixtures/three-rules.xml");
    const BUCKETS: usize = 10_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let per_bucket = |unique: bool| {
        let store = MemoryStore::new();
        let source = runtime.block_on(async {
            ReadThrough::builder(store.clone())
                .capacity(2 * BUCKETS)
                .build()
                .unwrap()
        });
        // Documents are made before counting: the store's copies are the
        // store's memory, not the cache's.
        let documents: Vec<String> = (0..BUCKETS)
            .map(|i| {
                if unique {
                    THREE_RULES.replacen("<CORSRule>", &format!("<CORSRule><ID>rule-{i}</ID>"), 1)
                } else {
                    THREE_RULES.to_owned()
                }
            })
            .collect();
        let stored = allocation_counter::measure(|| {
            runtime.block_on(async {
                for (i, document) in documents.iter().enumerate() {
                    store
                        .put(&format!("bucket-{i:05}"), document)
                        .await
                        .unwrap();
                }
            });
        });
        let cached = allocation_counter::measure(|| {
            runtime.block_on(async {
                for (i, document) in documents.iter().enumerate() {
                    source
                        .put_document(&format!("bucket-{i:05}"), document)
                        .await
                        .unwrap();
                }
            });
        });
        assert!(stored.bytes_current > 0);
        // `put_document` writes the store again, replacing each document
        // with a copy of the same size: what stays is the cache's.
        cached.bytes_current / i64::try_from(BUCKETS).unwrap()
    };
    let shared = per_bucket(false);
    let unshared = per_bucket(true);
    println!(
        "memory per cached bucket, three-rule document: {shared} bytes shared, {unshared} bytes unshared"
    );
    assert!(
        shared <= 1024,
        "a bucket sharing its policy costs {shared} bytes"
    );
}
