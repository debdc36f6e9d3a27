//! Replays every vector recorded from Amazon S3 (`fixtures/s3-recorded.json`)
//! through the full layer, in-process, in both Vary modes and with both the
//! per-bucket and the single shared source.
//!
//! S3-exact mode must reproduce the recorded `Access-Control-*` and `Vary`
//! headers exactly, the status, and the error XML byte for byte. The default
//! cache-safe mode may differ in one way only: `Vary` with the CORS tokens on
//! every response of a configured bucket, where S3 sends none.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use serde_json::Value;
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::source::{BucketCors, Buckets};
use tower_s3_cors::{S3CorsLayer, SharedPolicy, VaryMode};

const VECTORS: &str = include_str!("../fixtures/s3-recorded.json");

#[derive(Clone, Copy, Debug)]
enum Source {
    /// `Buckets::path_style()`, bucket `b`; paths are `/b{path}`.
    Buckets,
    /// One `SharedPolicy`; paths as recorded.
    Shared,
}

struct Outcome {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
    size_hint: Option<u64>,
    inner_calls: usize,
}

async fn replay(fixture: &Value, vector: &Value, source: Source, mode: VaryMode) -> Outcome {
    let config = &fixture["configs"][vector["config"].as_str().unwrap()];
    let document = (!config.is_null()).then(|| config.to_string());
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let calls = calls.clone();
        service_fn(move |_req: Request<Empty<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
        })
    };
    let path = vector["path"].as_str().unwrap();
    let (uri, response) = match source {
        Source::Buckets => {
            let buckets = Buckets::path_style();
            if vector["bucket"] == "exists" {
                let handle = buckets.create("b");
                if let Some(doc) = &document {
                    handle.put_document(doc).unwrap();
                }
            }
            let uri = format!("/b{path}");
            (uri, layered(buckets, mode, inner))
        }
        Source::Shared => {
            let shared = match &document {
                Some(doc) => SharedPolicy::from_document(doc).unwrap(),
                None => SharedPolicy::empty(),
            };
            (path.to_owned(), layered(shared, mode, inner))
        }
    };

    let mut request = Request::builder()
        .method(Method::from_bytes(vector["method"].as_str().unwrap().as_bytes()).unwrap())
        .uri(uri);
    for (name, value) in vector["request_headers"].as_object().unwrap() {
        request = request.header(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let response = response(request.body(Empty::new()).unwrap()).await;
    let (parts, body) = response.into_parts();
    Outcome {
        status: parts.status,
        headers: parts.headers,
        size_hint: http_body::Body::size_hint(&body).exact(),
        body: body.collect().await.unwrap().to_bytes(),
        inner_calls: calls.load(Ordering::SeqCst),
    }
}

type Call = Box<
    dyn FnOnce(
        Request<Empty<Bytes>>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Response<tower_s3_cors::body::ResponseBody<Empty<Bytes>>>,
                >,
        >,
    >,
>;

fn layered<P, S>(source: P, mode: VaryMode, inner: S) -> Call
where
    P: BucketCors,
    S: tower::Service<Request<Empty<Bytes>>, Response = Response<Empty<Bytes>>, Error = Infallible>
        + 'static,
    S::Future: 'static,
{
    let service = S3CorsLayer::new(source).vary_mode(mode).layer(inner);
    Box::new(move |request| Box::pin(async move { service.oneshot(request).await.unwrap() }))
}

fn expected_error_body(error: &Value) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
        error["code"].as_str().unwrap(),
        error["message"].as_str().unwrap()
    );
    if let Some(method) = error["method"].as_str() {
        xml.push_str(&format!(
            "<Method>{method}</Method><ResourceType>{}</ResourceType>",
            error["resource_type"].as_str().unwrap()
        ));
    }
    xml.push_str("</Error>");
    xml
}

async fn check_all(source: Source, mode: VaryMode) -> usize {
    let fixture: Value = serde_json::from_str(VECTORS).unwrap();
    let vary = fixture["vary"].as_str().unwrap();
    let mut replayed = 0;
    for vector in fixture["vectors"].as_array().unwrap() {
        if matches!(source, Source::Shared) && vector["bucket"] == "missing" {
            continue; // a single shared policy cannot tell a bucket is missing
        }
        let id = &vector["id"];
        let context = format!("vector {id} ({source:?}, {mode:?})");
        let out = replay(&fixture, vector, source, mode).await;
        replayed += 1;

        assert_eq!(
            out.status.as_u16(),
            vector["status"].as_u64().unwrap() as u16,
            "{context}"
        );

        // The exact set of Access-Control-* and Vary headers.
        let mut expected: Vec<(String, String)> = vector["cors_headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let configured = !fixture["configs"][vector["config"].as_str().unwrap()].is_null()
            && vector["bucket"] == "exists";
        if mode == VaryMode::CacheSafe && configured && !expected.iter().any(|(k, _)| k == "vary") {
            expected.push(("vary".to_owned(), vary.to_owned()));
        }
        expected.sort();
        let mut got: Vec<(String, String)> = out
            .headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("access-control-") || *name == "vary")
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        got.sort();
        assert_eq!(got, expected, "{context}");

        let is_preflight = vector["method"] == "OPTIONS";
        assert_eq!(
            out.inner_calls,
            usize::from(!is_preflight),
            "{context}: inner service calls"
        );

        if let Some(error) = vector.get("error") {
            assert_eq!(out.headers["content-type"], "application/xml", "{context}");
            assert_eq!(
                std::str::from_utf8(&out.body).unwrap(),
                expected_error_body(error),
                "{context}"
            );
            // The length goes out as the body's exact size hint, which
            // servers send as Content-Length.
            assert_eq!(out.size_hint, Some(out.body.len() as u64), "{context}");
        } else if is_preflight {
            assert!(
                out.body.is_empty(),
                "{context}: a preflight 200 has an empty body"
            );
            assert_eq!(out.headers["content-length"], "0", "{context}");
            assert!(out.headers.get("content-type").is_none(), "{context}");
        }
    }
    replayed
}

#[tokio::test]
async fn every_vector_replays_exactly_in_s3_exact_mode() {
    assert_eq!(check_all(Source::Buckets, VaryMode::S3Exact).await, 30);
}

#[tokio::test]
async fn every_vector_replays_in_cache_safe_mode_with_vary_as_the_only_difference() {
    assert_eq!(check_all(Source::Buckets, VaryMode::CacheSafe).await, 30);
}

#[tokio::test]
async fn shared_policy_source_replays_every_single_bucket_vector_in_both_modes() {
    assert_eq!(check_all(Source::Shared, VaryMode::S3Exact).await, 28);
    assert_eq!(check_all(Source::Shared, VaryMode::CacheSafe).await, 28);
}
