//! Layer behaviour beyond the recorded vectors: explanations in extensions,
//! request IDs in error bodies, forwarding `OPTIONS`, per-bucket sources,
//! bodies and headers of the layer's own answers.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::policy::{Explanation, Refusal, RuleVerdict};
use tower_s3_cors::s3::{AmzRequestIds, ResourceType};
use tower_s3_cors::source::{BucketCors, Buckets};
use tower_s3_cors::{Policy, RefusalReport, S3CorsLayer, SharedPolicy};

use crate::support::{self, Answer, Body, echo, request};

const RULES: &str = r#"[
    {"ID": "uploads", "AllowedOrigins": ["https://app.example"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*"]},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
]"#;

/// Sends `request` through `layer` over the echo service.
async fn send<P: BucketCors>(layer: S3CorsLayer<P>, request: Request<Body>) -> (Answer, String) {
    let mut answer = support::send(layer.layer(echo()), request).await;
    let body = std::mem::take(&mut answer.body);
    (answer, body)
}

#[tokio::test]
async fn refused_preflight_carries_the_explanation_when_asked() {
    let layer = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap())
        .report_refusals(RefusalReport::Explanation);
    let (parts, _) = send(
        layer,
        request(
            Method::OPTIONS,
            "/k",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PUT"),
                (
                    "access-control-request-headers",
                    "x-amz-date, authorization",
                ),
            ],
        ),
    )
    .await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    assert_eq!(
        parts.extensions.get::<Refusal>(),
        Some(&Refusal::NoRuleMatched)
    );
    let explanation = parts
        .extensions
        .get::<Explanation>()
        .expect("explanation attached");
    assert_eq!(explanation.refusal(), Some(Refusal::NoRuleMatched));
    assert_eq!(explanation.rule_id(0), Some("uploads"));
    assert_eq!(
        explanation.rules()[0],
        RuleVerdict::HeaderNotAllowed("authorization".into())
    );
    assert_eq!(explanation.rules()[1], RuleVerdict::MethodNotAllowed);
}

#[tokio::test]
async fn unmatched_actual_request_carries_the_explanation_when_asked_and_no_cors_headers() {
    let layer = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap())
        .report_refusals(RefusalReport::Explanation);
    let (parts, body) = send(
        layer,
        request(Method::DELETE, "/k", &[("origin", "https://app.example")]),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, "DELETE /k", "the inner service answered");
    assert!(parts.headers.get("access-control-allow-origin").is_none());
    let explanation = parts.extensions.get::<Explanation>().unwrap();
    assert_eq!(explanation.method(), Some("DELETE"));
    assert_eq!(explanation.matched_rule(), None);
}

#[tokio::test]
async fn refusals_carry_nothing_by_default_and_a_copy_reason_when_asked() {
    let preflight = || {
        request(
            Method::OPTIONS,
            "/k",
            &[
                ("origin", "https://x"),
                ("access-control-request-method", "PUT"),
            ],
        )
    };
    let actual = || request(Method::DELETE, "/k", &[("origin", "https://x")]);
    let layer = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap());
    for make in [preflight, actual] {
        let (parts, _) = send(layer.clone(), make()).await;
        assert!(parts.extensions.get::<Refusal>().is_none());
        assert!(parts.extensions.get::<Explanation>().is_none());
        let (parts, _) = send(layer.clone().report_refusals(RefusalReport::Reason), make()).await;
        assert_eq!(
            parts.extensions.get::<Refusal>(),
            Some(&Refusal::NoRuleMatched)
        );
        assert!(parts.extensions.get::<Explanation>().is_none());
    }
    // Refusals before any policy: no Origin, no configuration, no bucket.
    let reason = |layer: S3CorsLayer<Buckets>,
                  uri: &'static str,
                  headers: &'static [(&'static str, &'static str)]| async move {
        let (parts, _) = send(
            layer.report_refusals(RefusalReport::Explanation),
            request(Method::OPTIONS, uri, headers),
        )
        .await;
        assert!(
            parts.extensions.get::<Explanation>().is_none(),
            "no policy, nothing to explain"
        );
        parts.extensions.get::<Refusal>().copied()
    };
    let buckets = Buckets::path_style();
    buckets.create("plain");
    let preflight_headers: &[(&str, &str)] = &[
        ("origin", "https://x"),
        ("access-control-request-method", "GET"),
    ];
    assert_eq!(
        reason(S3CorsLayer::new(buckets.clone()), "/plain/k", &[]).await,
        Some(Refusal::NoOrigin)
    );
    assert_eq!(
        reason(
            S3CorsLayer::new(buckets.clone()),
            "/plain/k",
            preflight_headers
        )
        .await,
        Some(Refusal::NotConfigured)
    );
    assert_eq!(
        reason(S3CorsLayer::new(buckets), "/nope/k", preflight_headers).await,
        Some(Refusal::NoSuchBucket)
    );
}

#[tokio::test]
async fn invalid_request_method_answers_400_with_the_value() {
    let layer = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap())
        .report_refusals(RefusalReport::Explanation);
    for (acrm, shown) in [
        (Some("get"), "get"),
        (Some("PATCH"), "PATCH"),
        (None, "null"),
    ] {
        let mut headers = vec![("origin", "https://app.example")];
        if let Some(acrm) = acrm {
            headers.push(("access-control-request-method", acrm));
        }
        let (parts, body) = send(layer.clone(), request(Method::OPTIONS, "/k", &headers)).await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>BadRequest</Code>\
                 <Message>Invalid Access-Control-Request-Method: {shown}</Message></Error>"
            )
        );
        let refusal = parts.extensions.get::<Explanation>().unwrap().refusal();
        let expected = if acrm.is_some() {
            Refusal::InvalidRequestMethod
        } else {
            Refusal::MissingRequestMethod
        };
        assert_eq!(refusal, Some(expected));
    }
}

#[tokio::test]
async fn request_ids_from_the_extension_appear_in_error_bodies_and_headers() {
    let layer = S3CorsLayer::new(SharedPolicy::empty());
    let mut req = request(
        Method::OPTIONS,
        "/k",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "GET"),
        ],
    );
    req.extensions_mut()
        .insert(AmzRequestIds::new("REQ123", "host<&>id"));
    let (parts, body) = send(layer, req).await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessForbidden</Code>\
         <Message>CORSResponse: CORS is not enabled for this bucket.</Message>\
         <Method>GET</Method><ResourceType>BUCKET</ResourceType>\
         <RequestId>REQ123</RequestId><HostId>host&lt;&amp;&gt;id</HostId></Error>"
    );
    assert_eq!(parts.headers["x-amz-request-id"], "REQ123");
    assert_eq!(parts.headers["x-amz-id-2"], "host<&>id");
}

#[tokio::test]
async fn request_ids_from_the_extension_are_sent_on_allowed_preflights_too() {
    let layer = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap());
    let mut req = request(
        Method::OPTIONS,
        "/k",
        &[
            ("origin", "https://x"),
            ("access-control-request-method", "GET"),
        ],
    );
    req.extensions_mut()
        .insert(AmzRequestIds::new("REQ9", "HOST9"));
    let (parts, body) = send(layer, req).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(parts.headers["x-amz-request-id"], "REQ9");
    assert_eq!(parts.headers["x-amz-id-2"], "HOST9");
}

#[tokio::test]
async fn options_without_origin_can_be_forwarded_to_the_inner_service() {
    let cors = SharedPolicy::from_document(RULES).unwrap();
    let (parts, _) = send(
        S3CorsLayer::new(cors.clone()),
        request(Method::OPTIONS, "/k", &[]),
    )
    .await;
    assert_eq!(
        parts.status,
        StatusCode::BAD_REQUEST,
        "S3 answers it itself by default"
    );

    let forwarding = S3CorsLayer::new(cors).forward_options_without_origin(true);
    let (parts, body) = send(forwarding.clone(), request(Method::OPTIONS, "/k", &[])).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, "OPTIONS /k");
    assert!(
        parts.headers.get("vary").is_some(),
        "still a response of a configured resource"
    );
    // With an Origin it is still a preflight.
    let (parts, _) = send(
        forwarding,
        request(
            Method::OPTIONS,
            "/k",
            &[
                ("origin", "https://x"),
                ("access-control-request-method", "GET"),
            ],
        ),
    )
    .await;
    assert_eq!(parts.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn layer_answers_have_exact_size_hints_and_end() {
    let service = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap()).layer(echo());
    let ok = service
        .clone()
        .oneshot(request(
            Method::OPTIONS,
            "/k",
            &[
                ("origin", "https://x"),
                ("access-control-request-method", "GET"),
            ],
        ))
        .await
        .unwrap();
    assert!(ok.body().is_end_stream());
    assert_eq!(ok.body().size_hint().exact(), Some(0));
    let refused = service
        .oneshot(request(
            Method::OPTIONS,
            "/k",
            &[
                ("origin", "https://x"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    // No Content-Length header: the exact size hint gives it to servers.
    assert!(refused.headers().get("content-length").is_none());
    assert!(!refused.body().is_end_stream());
    let hint = refused.body().size_hint().exact();
    let body = http_body_util::BodyExt::collect(refused.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(hint, Some(body.len() as u64));
}

#[tokio::test]
async fn a_fixed_policy_is_a_source_too() {
    let layer = S3CorsLayer::new(Policy::from_document(RULES).unwrap());
    let (parts, _) = send(layer, request(Method::GET, "/", &[("origin", "https://x")])).await;
    assert_eq!(parts.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn buckets_are_added_configured_and_removed_at_run_time() {
    let buckets = Buckets::path_style();
    let layer = S3CorsLayer::new(buckets.clone());
    let preflight = |uri: &str| {
        request(
            Method::OPTIONS,
            uri,
            &[
                ("origin", "https://x"),
                ("access-control-request-method", "GET"),
            ],
        )
    };
    let message = |body: String| support::error_of(&body).1.to_owned();

    let (parts, body) = send(layer.clone(), preflight("/media/a.png")).await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    assert_eq!(message(body), "CORSResponse: Bucket not found");

    let media = buckets.create("media");
    let (_, body) = send(layer.clone(), preflight("/media/a.png")).await;
    assert_eq!(
        message(body),
        "CORSResponse: CORS is not enabled for this bucket."
    );

    media.put_document(RULES).unwrap();
    let (parts, _) = send(layer.clone(), preflight("/media/a.png")).await;
    assert_eq!(parts.status, StatusCode::OK);
    let (parts, body) = send(
        layer.clone(),
        request(
            Method::OPTIONS,
            "/media",
            &[
                ("origin", "https://x"),
                ("access-control-request-method", "PUT"),
            ],
        ),
    )
    .await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    assert!(body.contains("<ResourceType>BUCKET</ResourceType>"));

    assert!(
        buckets.remove("MEDIA").is_some(),
        "names are case-insensitive"
    );
    let (_, body) = send(layer, preflight("/media/a.png")).await;
    assert_eq!(message(body), "CORSResponse: Bucket not found");
}

#[tokio::test]
async fn virtual_hosted_buckets_come_from_the_host() {
    let buckets = Buckets::virtual_hosted("s3.example.test");
    buckets.create("media").put_document(RULES).unwrap();
    let resolve = |host: &str, path: &str| {
        let req = Request::builder()
            .uri(path)
            .header("host", host)
            .body(())
            .unwrap();
        buckets
            .locate(&tower_s3_cors::source::RequestHead::new(&req))
            .map(|located| (located.bucket().to_owned(), located.resource()))
    };
    let media = |resource| Some(("media".to_owned(), resource));
    assert_eq!(
        resolve("media.s3.example.test", "/a.png"),
        media(ResourceType::Object)
    );
    assert_eq!(
        resolve("media.s3.example.test:9000", "/"),
        media(ResourceType::Bucket)
    );
    assert_eq!(
        resolve("MEDIA.S3.Example.Test", "/x"),
        media(ResourceType::Object)
    );
    assert_eq!(
        resolve("s3.example.test", "/media/a.png"),
        media(ResourceType::Object)
    );
    assert_eq!(
        resolve("s3.example.test:443", "/media"),
        media(ResourceType::Bucket)
    );
    assert_eq!(resolve("media.other.test", "/a.png"), None);
    assert_eq!(resolve(".s3.example.test", "/a.png"), None);
    assert_eq!(resolve("xs3.example.test", "/a.png"), None);
    assert_eq!(resolve("[::1]:9000", "/a.png"), None);

    let layer = S3CorsLayer::new(buckets);
    let mut req = request(Method::GET, "/a.png", &[("origin", "https://x")]);
    req.headers_mut()
        .insert("host", "Media.s3.example.test".parse().unwrap());
    let (parts, _) = send(layer, req).await;
    assert_eq!(parts.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn headers_the_inner_service_set_are_replaced_not_duplicated() {
    let service = S3CorsLayer::new(SharedPolicy::from_document(RULES).unwrap()).layer(service_fn(
        |_req: Request<Full<Bytes>>| async {
            let mut response = Response::new(Full::new(Bytes::new()));
            response.headers_mut().insert(
                "access-control-allow-origin",
                "https://stale.example".parse().unwrap(),
            );
            Ok::<_, Infallible>(response)
        },
    ));
    let response = service
        .oneshot(request(Method::GET, "/k", &[("origin", "https://x")]))
        .await
        .unwrap();
    let values: Vec<_> = response
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(values, ["*"]);
}

#[test]
fn is_configured_agrees_with_resolve_for_every_source() {
    use tower_s3_cors::source::{BucketPolicy, RequestHead, Resolution};
    let buckets = Buckets::path_style();
    buckets.create("with").put_document(RULES).unwrap();
    buckets.create("without");
    let shared = SharedPolicy::from_document(RULES).unwrap();
    let empty = SharedPolicy::empty();
    let fixed = Policy::from_document(RULES).unwrap();
    fn agree(source: &impl BucketCors, uri: &str) {
        let request = Request::get(uri).body(()).unwrap();
        let head = RequestHead::new(&request);
        let Some(located) = source.locate(&head) else {
            return;
        };
        assert_eq!(
            source.is_configured(located.bucket()),
            matches!(
                source.resolve(located.bucket()),
                Resolution::Ready(BucketPolicy::Configured(_))
            ),
            "{uri}"
        );
    }
    for uri in ["/", "/with", "/with/k", "/WITH/k", "/without/k", "/nope/k"] {
        agree(&buckets, uri);
        agree(&shared, uri);
        agree(&empty, uri);
        agree(&fixed, uri);
    }
}
