//! Heap allocations per request, counted by a counting global allocator.
//!
//! Allocation counts, unlike times, are deterministic, so the performance
//! targets on them are asserted here: no allocation for a request without
//! `Origin`, at most one for a matched actual request, at most two for a
//! preflight listing request headers.
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

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, HOST, ORIGIN, REFERER, USER_AGENT,
};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::Empty;
use tower::{Layer, Service};
use tower_s3_cors::{Policy, S3CorsLayer, SharedPolicy, VaryMode};

type Body = Empty<Bytes>;

const APP_ORIGIN: &str = "https://app.example.com";

fn policy() -> Policy {
    Policy::from_json(
        r#"[{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
             "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}]"#,
    )
    .unwrap()
}

/// What a browser sends with every request, besides `Origin` and the
/// preflight headers.
fn browser(builder: http::request::Builder) -> http::request::Builder {
    builder
        .header(HOST, HeaderValue::from_static("api.example.com"))
        .header(
            USER_AGENT,
            HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64)"),
        )
        .header(ACCEPT, HeaderValue::from_static("*/*"))
        .header(
            ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        )
        .header(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"))
        .header(
            REFERER,
            HeaderValue::from_static("https://app.example.com/"),
        )
        .header(
            HeaderName::from_static("sec-fetch-mode"),
            HeaderValue::from_static("cors"),
        )
}

fn get(origin: Option<&'static str>) -> Request<Body> {
    let mut builder = browser(Request::get("/photos/cat.jpg"));
    if let Some(origin) = origin {
        builder = builder.header(ORIGIN, HeaderValue::from_static(origin));
    }
    builder.body(Body::new()).unwrap()
}

/// A preflight for a `PUT` listing two request headers the way Chrome does.
fn preflight() -> Request<Body> {
    browser(Request::options("/photos/cat.jpg"))
        .header(ORIGIN, HeaderValue::from_static(APP_ORIGIN))
        .header(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PUT"),
        )
        .header(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type,x-amz-date"),
        )
        .body(Body::new())
        .unwrap()
}

/// The inner response: with a `Content-Type` (`realistic`) or with no header
/// at all.
fn inner_response(realistic: bool) -> Response<Body> {
    let mut response = Response::new(Body::new());
    if realistic {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
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

fn poll_now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the test services are always ready"),
    }
}

/// Allocations made by one request through `layer`, measured after one
/// warm-up request (which promotes shared header bytes and the like).
fn count<L, B>(layer: &L, request: MakeRequest, realistic: bool) -> u64
where
    L: Layer<Inner>,
    L::Service: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
{
    let slot = Rc::new(RefCell::new(None));
    let mut service = layer.layer(Inner(Rc::clone(&slot)));
    let mut once = || {
        let request = request();
        *slot.borrow_mut() = Some(inner_response(realistic));
        allocation_counter::measure(|| {
            let mut cx = Context::from_waker(Waker::noop());
            assert!(service.poll_ready(&mut cx).is_ready());
            let response = poll_now(service.call(request));
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
    ("GET without Origin", || get(None)),
    ("GET with Origin, matched", || get(Some(APP_ORIGIN))),
    ("preflight, 2 ACRH names, matched", preflight),
];

/// Counts for every case with `layer`: (with realistic inner responses,
/// with header-less ones).
fn counts<L, B>(name: &str, layer: &L) -> [(u64, u64); 3]
where
    L: Layer<Inner>,
    L::Service: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
{
    let counts =
        CASES.map(|(_, request)| (count(layer, request, true), count(layer, request, false)));
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
        &S3CorsLayer::new(SharedPolicy::new(policy())),
    );
    let [no_origin, get, preflight] = ours.map(|(realistic, _)| realistic);
    assert_eq!(no_origin, 0, "a request without Origin");
    assert!(get <= 1, "a matched GET: {get}");
    assert!(preflight <= 2, "a matched preflight with ACRH: {preflight}");

    let s3_exact = S3CorsLayer::new(SharedPolicy::new(policy())).vary_mode(VaryMode::S3Exact);
    let exact = counts("tower-s3-cors (S3Exact)", &s3_exact);
    assert_eq!(
        exact[0],
        (0, 0),
        "without Origin and Vary, nothing is added"
    );

    let tower_http = tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static(APP_ORIGIN))
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .allow_credentials(true)
        .max_age(Duration::from_secs(3000));
    counts("tower-http CorsLayer", &tower_http);
}
