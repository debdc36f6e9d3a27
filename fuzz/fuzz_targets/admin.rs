//! The `?cors` admin layer on generated requests, mostly `PUT ?cors` with
//! documents made from generated configurations (XML, either JSON shape, or
//! the fuzzer's bytes), cut into frames, with right, wrong and malformed
//! digests: no panic; a `200` stores exactly the document's configuration,
//! which `GET ?cors` then returns as XML that reads back to it; an error
//! leaves the stored policy as it was.

#![no_main]

use std::convert::Infallible;

use arbitrary::Unstructured;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use libfuzzer_sys::fuzz_target;
use md5::{Digest as _, Md5};
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::admin::CorsAdminLayer;
use tower_s3_cors::config::CorsConfiguration;
use tower_s3_cors::source::Buckets;
use tower_s3_cors_fuzz::{FuzzBody, block_on};

const PATHS: &[&str] = &[
    "/demo?cors",
    "/demo/?cors",
    "/demo?cors=&x=1",
    "/demo/key?cors",
    "/other?cors",
    "/demo?corsx",
    "/?cors",
    "/demo",
];

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let buckets = Buckets::path_style();
    let demo = buckets.create("demo");
    let require_digest = u.arbitrary::<bool>()?;
    let service = CorsAdminLayer::new(buckets.clone())
        .require_content_md5(require_digest)
        .layer(service_fn(|_req: Request<FuzzBody>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
        }));

    for _ in 0..u.int_in_range(1..=3)? {
        let method = match u.int_in_range(0..=9)? {
            0 => Method::GET,
            1 => Method::DELETE,
            2 => Method::POST,
            _ => Method::PUT,
        };
        let path = *u.choose(PATHS)?;
        let body: Vec<u8> = match u.int_in_range(0..=5)? {
            0 => u.arbitrary::<Vec<u8>>()?,
            1 => tower_s3_cors_fuzz::config(u)?.to_json().into_bytes(),
            _ => tower_s3_cors_fuzz::config(u)?.to_xml().into_bytes(),
        };
        let broken = u.ratio(1, 16)?;
        let mut builder = Request::builder().method(method.clone()).uri(path);
        match u.int_in_range(0..=4)? {
            0 => {}
            1 => builder = builder.header("content-md5", "not base64!"),
            2 => builder = builder.header("content-md5", BASE64.encode(Md5::digest(b"other"))),
            _ => builder = builder.header("content-md5", BASE64.encode(Md5::digest(&body))),
        }
        if u.ratio(1, 4)? {
            builder = builder.header("x-amz-checksum-crc32", "AAAAAA==");
        }
        let request = builder
            .body(FuzzBody::new(u, &body, broken)?)
            .expect("a valid request");

        let before = demo.load().map(|p| p.configuration().clone());
        let response = block_on(service.clone().oneshot(request)).expect("never fails");
        let status = response.status();
        let text = block_on(response.into_body().collect())
            .expect("answers are in memory")
            .to_bytes();
        let after = demo.load().map(|p| p.configuration().clone());

        let admin =
            path.starts_with("/demo?cors") && path != "/demo?corsx" || path == "/demo/?cors";
        if !admin {
            assert_eq!(before, after, "{path} changed the policy");
            continue;
        }
        match method {
            Method::PUT if status == StatusCode::OK => {
                assert!(!broken, "a broken body was stored");
                let doc = std::str::from_utf8(&body).expect("a stored document is UTF-8");
                let read = CorsConfiguration::from_document(doc).expect("a stored document reads");
                assert_eq!(after.as_ref(), Some(&read));
                read.validate().expect("a stored document is valid");
            }
            Method::PUT => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{text:?}");
                assert_eq!(before, after, "a refused PUT changed the policy");
            }
            Method::GET => {
                assert_eq!(before, after);
                match &after {
                    Some(config) => {
                        assert_eq!(status, StatusCode::OK);
                        let xml = std::str::from_utf8(&text).expect("XML is UTF-8");
                        assert_eq!(
                            &CorsConfiguration::from_xml(xml).expect("GET ?cors reads"),
                            config
                        );
                    }
                    None => assert_eq!(status, StatusCode::NOT_FOUND),
                }
            }
            Method::DELETE => {
                assert_eq!(status, StatusCode::NO_CONTENT);
                assert!(after.is_none());
            }
            _ => {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
                assert_eq!(before, after);
            }
        }
    }
    Ok(())
}
