//! The whole layer on generated requests (origins and requested headers
//! derived from the policy, so allowed preflights with echoed origins are
//! reached), in front of an inner service that sets `Access-Control-*`
//! headers of its own: preflights answered as the reference model says and
//! never passed on; actual requests always passed on, their
//! `Access-Control-*` headers exactly the model's where a policy applies and
//! the inner service's where none does.

#![no_main]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arbitrary::Unstructured;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Empty;
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::policy::Refusal;
use tower_s3_cors::{Policy, RefusalReport, S3CorsLayer, SharedPolicy, VaryMode};
use tower_s3_cors_fuzz::{
    block_on, check_cors_invariants, cors_headers_of, reference_decision, reference_headers,
};

/// Headers an inner service may set.
const INNER: &[(&str, &str)] = &[
    ("access-control-allow-origin", "*"),
    ("access-control-allow-origin", "https://inner.example"),
    ("access-control-allow-credentials", "true"),
    ("access-control-allow-methods", "PATCH"),
    ("access-control-allow-headers", "x-secret"),
    ("access-control-allow-private-network", "true"),
    ("access-control-expose-headers", "x-secret"),
    ("access-control-max-age", "86400"),
    ("access-control-x", "y"),
    ("vary", "Accept-Encoding"),
    ("vary", "*"),
    ("content-type", "text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let config = tower_s3_cors_fuzz::config(u)?;
    let validation = tower_s3_cors_fuzz::validation(u)?;
    let Ok(policy) = Policy::compile_with(&config, validation) else {
        return Ok(());
    };
    let configured = !u.ratio(1, 8)?;
    let source = SharedPolicy::empty();
    if configured {
        source.put(policy.clone());
    }
    let vary = *u.choose(&[VaryMode::CacheSafe, VaryMode::S3Exact])?;
    let report = *u.choose(&[
        RefusalReport::Off,
        RefusalReport::Reason,
        RefusalReport::Explanation,
    ])?;
    let forward = u.arbitrary::<bool>()?;
    let status = *u.choose(&[200u16, 204, 403, 404, 500])?;
    let mut inner_headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let (name, value) = u.choose(INNER)?;
        inner_headers.push((
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    let called = Arc::new(AtomicBool::new(false));
    let inner = {
        let called = Arc::clone(&called);
        let inner_headers = inner_headers.clone();
        service_fn(move |_req: Request<Empty<Bytes>>| {
            called.store(true, Ordering::SeqCst);
            let inner_headers = inner_headers.clone();
            async move {
                let mut response = Response::new(Empty::<Bytes>::new());
                *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
                for (name, value) in inner_headers {
                    response.headers_mut().append(name, value);
                }
                Ok::<_, Infallible>(response)
            }
        })
    };
    let service = S3CorsLayer::new(source)
        .vary_mode(vary)
        .report_refusals(report)
        .forward_options_without_origin(forward)
        .layer(inner);
    let mut inner_response = http::HeaderMap::new();
    for (name, value) in &inner_headers {
        inner_response.append(name.clone(), value.clone());
    }

    for _ in 0..u.int_in_range(1..=3)? {
        let request = tower_s3_cors_fuzz::request(u, &config)?;
        called.store(false, Ordering::SeqCst);
        let response = block_on(service.clone().oneshot(request.to_http(Empty::new())))
            .expect("the inner service never fails");
        let has_origin = request.headers.get("origin").is_some_and(|o| !o.is_empty());
        let answered_by_layer = request.method == Method::OPTIONS && !(forward && !has_origin);
        let expected = reference_decision(&config, validation, &request.method, &request.headers);
        let headers = response.headers();
        if answered_by_layer {
            assert!(
                !called.load(Ordering::SeqCst),
                "a preflight reached the inner service"
            );
            let status = match (has_origin, configured, &expected) {
                (false, _, _) => 400,
                (true, false, _) => 403,
                (true, true, Some(Ok(_))) => 200,
                (true, true, Some(Err(Refusal::NoRuleMatched))) => 403,
                (true, true, Some(Err(_))) => 400,
                (true, true, None) => unreachable!("an Origin makes a CORS request"),
            };
            assert_eq!(response.status().as_u16(), status, "{request:?}");
            match (configured, &expected) {
                (true, Some(Ok(index))) => assert_eq!(
                    cors_headers_of(headers),
                    reference_headers(&config, *index, &request.headers)
                ),
                _ => assert!(cors_headers_of(headers).is_empty(), "{headers:?}"),
            }
            check_cors_invariants(&request.headers, headers);
        } else {
            assert!(
                called.load(Ordering::SeqCst),
                "an actual request was not passed on"
            );
            assert_eq!(response.status().as_u16(), status);
            match (configured, &expected) {
                (true, Some(Ok(index))) => {
                    assert_eq!(
                        cors_headers_of(headers),
                        reference_headers(&config, *index, &request.headers),
                        "{request:?}"
                    );
                    check_cors_invariants(&request.headers, headers);
                }
                (true, Some(Err(_))) => {
                    assert!(cors_headers_of(headers).is_empty(), "{headers:?}");
                }
                // No policy applies: the inner service's own headers.
                (false, _) | (true, None) => {
                    assert_eq!(cors_headers_of(headers), cors_headers_of(&inner_response));
                }
            }
        }
    }
    Ok(())
}
