//! Where a policy applies to a request with an `Origin`, the response's
//! `Access-Control-*` headers are exactly the layer's (issue 12, finding 6);
//! where none applies, the inner service's pass untouched. Also the 8 KiB
//! limit on `Access-Control-Request-Headers` (finding 5).

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use tower_s3_cors::policy::{MAX_REQUEST_HEADERS_BYTES, Refusal};
use tower_s3_cors::source::Buckets;
use tower_s3_cors::{RefusalReport, S3CorsLayer, SharedPolicy};

use crate::support::{self, Answer, Body, request};

/// What a careless inner service adds to every answer.
const INNER_CORS: [(&str, &str); 5] = [
    ("access-control-allow-credentials", "true"),
    ("access-control-allow-origin", "https://inner.example"),
    ("access-control-allow-private-network", "true"),
    ("access-control-expose-headers", "x-secret"),
    ("access-control-max-age", "86400"),
];

/// An inner service that answers `200` with [`INNER_CORS`] and `x-inner`.
fn inner_with_cors()
-> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future = impl Send>
+ Clone
+ Send {
    service_fn(|_req: Request<Body>| async move {
        let mut response = Response::new(Full::new(Bytes::from_static(b"inner")));
        for (name, value) in INNER_CORS {
            response
                .headers_mut()
                .insert(name, http::HeaderValue::from_static(value));
        }
        response
            .headers_mut()
            .insert("x-inner", http::HeaderValue::from_static("1"));
        Ok::<_, Infallible>(response)
    })
}

/// The `Access-Control-*` headers of an answer, sorted, as text.
fn cors_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut cors: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    cors.sort();
    cors
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = list
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

async fn send(layer: S3CorsLayer<SharedPolicy>, req: Request<Body>) -> Answer {
    support::send(layer.layer(inner_with_cors()), req).await
}

#[tokio::test]
async fn on_a_wildcard_match_no_inner_credentials_stand_beside_the_star() {
    let cors = SharedPolicy::from_document(
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["ETag"]}]"#,
    )
    .unwrap();
    let answer = send(
        S3CorsLayer::new(cors),
        request(Method::GET, "/k", &[("origin", "https://a.example")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        cors_headers(&answer.headers),
        pairs(&[
            ("access-control-allow-methods", "GET"),
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "ETag"),
        ])
    );
    assert_eq!(answer.headers["x-inner"], "1");
    assert_eq!(answer.body, "inner");
}

#[tokio::test]
async fn on_an_exact_match_the_headers_are_the_rule_s() {
    let cors = SharedPolicy::from_document(
        r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"]}]"#,
    )
    .unwrap();
    let answer = send(
        S3CorsLayer::new(cors),
        request(Method::PUT, "/k", &[("origin", "https://app.example")]),
    )
    .await;
    assert_eq!(
        cors_headers(&answer.headers),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", "GET, PUT"),
            ("access-control-allow-origin", "https://app.example"),
        ])
    );
}

#[tokio::test]
async fn on_a_refusal_every_inner_cors_header_is_removed() {
    let cors = SharedPolicy::from_document(
        r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]"#,
    )
    .unwrap();
    let layer = S3CorsLayer::new(cors).report_refusals(RefusalReport::Reason);
    let answer = send(
        layer,
        request(Method::GET, "/k", &[("origin", "https://evil.example")]),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "actual requests are never blocked"
    );
    assert_eq!(cors_headers(&answer.headers), []);
    assert_eq!(answer.headers["x-inner"], "1");
    assert_eq!(
        answer.extensions.get::<Refusal>(),
        Some(&Refusal::NoRuleMatched)
    );
}

#[tokio::test]
async fn where_no_policy_applies_inner_cors_headers_pass_untouched() {
    // No configuration.
    let answer = send(
        S3CorsLayer::new(SharedPolicy::empty()),
        request(Method::GET, "/k", &[("origin", "https://a.example")]),
    )
    .await;
    assert_eq!(cors_headers(&answer.headers), pairs(&INNER_CORS));
    // A configuration, but no Origin: not a CORS request.
    let cors =
        SharedPolicy::from_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)
            .unwrap();
    let answer = send(S3CorsLayer::new(cors), request(Method::GET, "/k", &[])).await;
    assert_eq!(cors_headers(&answer.headers), pairs(&INNER_CORS));
    // An unknown bucket.
    let buckets = Buckets::path_style();
    let service = S3CorsLayer::new(buckets).layer(inner_with_cors());
    let answer = support::send(
        service,
        request(Method::GET, "/nope/k", &[("origin", "https://a.example")]),
    )
    .await;
    assert_eq!(cors_headers(&answer.headers), pairs(&INNER_CORS));
}

/// `n` bytes of requested header names: `x-a,x-a,…`, padded.
fn requested_names(n: usize) -> String {
    let mut line = "x-a,".repeat(n / 4 + 1);
    line.truncate(n);
    while line.ends_with(',') {
        line.pop();
        line.push('b');
    }
    line
}

#[tokio::test]
async fn requested_headers_over_8_kib_get_s3_s_400_on_a_preflight_and_nothing_on_an_actual_request()
{
    let cors = SharedPolicy::from_document(
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]}]"#,
    )
    .unwrap();
    let over = requested_names(MAX_REQUEST_HEADERS_BYTES + 1);
    let at = requested_names(MAX_REQUEST_HEADERS_BYTES);
    let preflight = |acrh: &str| {
        request(
            Method::OPTIONS,
            "/k",
            &[
                ("origin", "https://a.example"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", acrh),
            ],
        )
    };
    let answer = send(S3CorsLayer::new(cors.clone()), preflight(&at)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["access-control-allow-headers"].len(), {
        // Every name echoed, joined by ", ".
        let names = at.split(',').count();
        at.len() + names - 1
    });

    let answer = send(S3CorsLayer::new(cors.clone()), preflight(&over)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.headers["content-type"], "application/xml");
    assert_eq!(cors_headers(&answer.headers), []);
    assert_eq!(
        answer.body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestHeaderSectionTooLarge</Code>\
         <Message>Your request header section exceeds the maximum allowed size.</Message>\
         <MaxSizeAllowed>8192</MaxSizeAllowed></Error>"
    );

    let answer = send(
        S3CorsLayer::new(cors),
        request(
            Method::GET,
            "/k",
            &[
                ("origin", "https://a.example"),
                ("access-control-request-headers", &over),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(cors_headers(&answer.headers), []);
}

#[tokio::test]
async fn while_the_policy_is_unavailable_no_inner_cors_header_answers_for_it() {
    let answer = support::send(
        S3CorsLayer::new(support::Down).layer(inner_with_cors()),
        request(Method::GET, "/k", &[("origin", "https://a.example")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(cors_headers(&answer.headers), []);
    assert_eq!(answer.headers["x-inner"], "1");
}
