//! `Vary` merging with the inner service's own `Vary`, for the three kinds of
//! request (not CORS, preflight, actual), in both modes.

use std::convert::Infallible;

use http::header::VARY;
use http::{Method, Request, Response};
use tower::{Layer, service_fn};
use tower_s3_cors::{S3CorsLayer, SharedPolicy, VaryMode};

use crate::support::{self, Body};

const CORS_VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

async fn vary_of(
    cors: &SharedPolicy,
    mode: VaryMode,
    inner_vary: &'static [&'static str],
    method: Method,
    headers: &[(&str, &str)],
) -> Vec<String> {
    let service = S3CorsLayer::new(cors.clone())
        .vary_mode(mode)
        .layer(service_fn(move |_req: Request<Body>| async move {
            let mut response = Response::new(Body::default());
            for v in inner_vary {
                response.headers_mut().append(VARY, v.parse().unwrap());
            }
            Ok::<_, Infallible>(response)
        }));
    let answer = support::send(service, support::request(method, "/k", headers)).await;
    answer.all("vary").into_iter().map(str::to_owned).collect()
}

fn cors() -> SharedPolicy {
    SharedPolicy::from_document(
        r#"[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET"]}]"#,
    )
    .unwrap()
}

const MATCHED: &[(&str, &str)] = &[("origin", "https://a.example")];
const REFUSED: &[(&str, &str)] = &[("origin", "https://b.example")];
const PREFLIGHT_OK: &[(&str, &str)] = &[
    ("origin", "https://a.example"),
    ("access-control-request-method", "GET"),
];
const PREFLIGHT_REFUSED: &[(&str, &str)] = &[
    ("origin", "https://b.example"),
    ("access-control-request-method", "GET"),
];

#[tokio::test]
async fn cache_safe_mode_adds_vary_to_every_response_of_a_configured_resource() {
    let cors = cors();
    let m = VaryMode::CacheSafe;
    assert_eq!(
        vary_of(&cors, m, &[], Method::GET, &[]).await,
        [CORS_VARY],
        "no Origin"
    );
    assert_eq!(
        vary_of(&cors, m, &[], Method::GET, MATCHED).await,
        [CORS_VARY]
    );
    assert_eq!(
        vary_of(&cors, m, &[], Method::GET, REFUSED).await,
        [CORS_VARY]
    );
    assert_eq!(
        vary_of(&cors, m, &[], Method::OPTIONS, PREFLIGHT_OK).await,
        [CORS_VARY]
    );
    assert_eq!(
        vary_of(&cors, m, &[], Method::OPTIONS, PREFLIGHT_REFUSED).await,
        [CORS_VARY]
    );
    assert_eq!(
        vary_of(&cors, m, &[], Method::OPTIONS, &[]).await,
        [CORS_VARY],
        "400 no Origin"
    );
}

#[tokio::test]
async fn s3_exact_mode_adds_vary_only_on_a_match() {
    let cors = cors();
    let m = VaryMode::S3Exact;
    assert!(vary_of(&cors, m, &[], Method::GET, &[]).await.is_empty());
    assert_eq!(
        vary_of(&cors, m, &[], Method::GET, MATCHED).await,
        [CORS_VARY]
    );
    assert!(
        vary_of(&cors, m, &[], Method::GET, REFUSED)
            .await
            .is_empty()
    );
    assert_eq!(
        vary_of(&cors, m, &[], Method::OPTIONS, PREFLIGHT_OK).await,
        [CORS_VARY]
    );
    assert!(
        vary_of(&cors, m, &[], Method::OPTIONS, PREFLIGHT_REFUSED)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn inner_vary_is_merged_never_clobbered_nor_duplicated() {
    let cors = cors();
    for (mode, headers) in [
        (VaryMode::CacheSafe, &[][..]),
        (VaryMode::CacheSafe, MATCHED),
        (VaryMode::CacheSafe, REFUSED),
        (VaryMode::S3Exact, MATCHED),
    ] {
        assert_eq!(
            vary_of(&cors, mode, &["Accept-Encoding"], Method::GET, headers).await,
            [format!("Accept-Encoding, {CORS_VARY}")],
            "{mode:?} {headers:?}"
        );
        assert_eq!(
            vary_of(
                &cors,
                mode,
                &["accept-encoding", "origin"],
                Method::GET,
                headers
            )
            .await,
            [
                "accept-encoding, origin, Access-Control-Request-Headers, Access-Control-Request-Method"
            ],
            "{mode:?} {headers:?}"
        );
        assert_eq!(
            vary_of(&cors, mode, &["*"], Method::GET, headers).await,
            ["*"]
        );
    }
    // S3-exact, no match: the inner Vary is left exactly as it was.
    assert_eq!(
        vary_of(
            &cors,
            VaryMode::S3Exact,
            &["Accept-Encoding", "Cookie"],
            Method::GET,
            REFUSED
        )
        .await,
        ["Accept-Encoding", "Cookie"]
    );
}

#[tokio::test]
async fn unconfigured_resources_get_no_vary_in_either_mode() {
    let cors = SharedPolicy::empty();
    for mode in [VaryMode::CacheSafe, VaryMode::S3Exact] {
        assert!(
            vary_of(&cors, mode, &[], Method::GET, MATCHED)
                .await
                .is_empty()
        );
        assert!(vary_of(&cors, mode, &[], Method::GET, &[]).await.is_empty());
        assert!(
            vary_of(&cors, mode, &[], Method::OPTIONS, PREFLIGHT_OK)
                .await
                .is_empty()
        );
    }
}
