//! The `?cors` admin layer on generated requests, mostly `PUT ?cors` with
//! documents made from generated configurations (XML, JSON, or the fuzzer's
//! bytes), cut into frames, with right, wrong and malformed `Content-MD5`
//! and `x-amz-checksum-*` headers, declared lengths, broken and stalling
//! bodies: no panic, no hang; a `200` stores exactly the document's
//! configuration, which `GET ?cors` then returns as XML that reads back to
//! it; an error leaves the stored policy as it was; a declared length over
//! 64 KiB is refused, and without a lingering close before the body is
//! polled (with one, the rest is read beside the answer, off the request's
//! task); `?cors` writes on an object path are refused and reach nothing.

#![no_main]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arbitrary::Unstructured;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use libfuzzer_sys::fuzz_target;
use md5::{Digest as _, Md5};
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::admin::{CorsAdminLayer, DEFAULT_LINGER_BYTES, DEFAULT_LINGER_TIME};
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

/// How a digest header is sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Digest {
    None,
    Right,
    Wrong,
    Garbage,
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let buckets = Buckets::path_style();
    let demo = buckets.create("demo");
    let require_digest = u.arbitrary::<bool>()?;
    let timeout = u.arbitrary::<bool>()?.then_some(Duration::from_millis(5));
    let linger = u.arbitrary::<bool>()?;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service = CorsAdminLayer::new(buckets.clone())
        .require_content_md5(require_digest)
        .body_timeout(timeout)
        .lingering_close(
            if linger { DEFAULT_LINGER_BYTES } else { 0 },
            DEFAULT_LINGER_TIME,
        )
        .layer(service_fn(move |_req: Request<FuzzBody>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner")))) }
        }));

    for _ in 0..u.int_in_range(1..=3)? {
        let method = match u.int_in_range(0..=9)? {
            0 => Method::GET,
            1 => Method::DELETE,
            2 => Method::POST,
            3 => Method::HEAD,
            _ => Method::PUT,
        };
        let path = *u.choose(PATHS)?;
        let body: Vec<u8> = match u.int_in_range(0..=5)? {
            0 => u.arbitrary::<Vec<u8>>()?,
            1 => tower_s3_cors_fuzz::config(u)?.to_json().into_bytes(),
            _ => tower_s3_cors_fuzz::config(u)?.to_xml().into_bytes(),
        };
        let broken = u.ratio(1, 16)?;
        let stalls = timeout.is_some() && u.ratio(1, 16)?;
        let mut builder = Request::builder().method(method.clone()).uri(path);

        let md5 = *u.choose(&[Digest::None, Digest::Right, Digest::Wrong, Digest::Garbage])?;
        builder = match md5 {
            Digest::None => builder,
            Digest::Right => builder.header("content-md5", BASE64.encode(Md5::digest(&body))),
            Digest::Wrong => builder.header("content-md5", BASE64.encode(Md5::digest(b"x"))),
            Digest::Garbage => builder.header("content-md5", "not base64!"),
        };
        let checksum = *u.choose(&[Digest::None, Digest::Right, Digest::Wrong, Digest::Garbage])?;
        let sha = u.arbitrary::<bool>()?;
        let (name, right, wrong) = if sha {
            (
                "x-amz-checksum-sha256",
                BASE64.encode(sha2::Sha256::digest(&body)),
                BASE64.encode(sha2::Sha256::digest(b"x")),
            )
        } else {
            (
                "x-amz-checksum-crc32",
                BASE64.encode(crc32fast::hash(&body).to_be_bytes()),
                BASE64.encode(crc32fast::hash(b"x").to_be_bytes()),
            )
        };
        builder = match checksum {
            Digest::None => builder,
            Digest::Right => builder.header(name, right),
            Digest::Wrong => builder.header(name, wrong),
            Digest::Garbage => builder.header(name, "AAAA"),
        };
        let two_checksums = u.ratio(1, 32)?;
        if two_checksums {
            builder = builder.header("x-amz-checksum-crc32c", "AAAAAA==");
        }
        let declared = match u.int_in_range(0..=7)? {
            0 => Some(10_000_000_000u64),
            1 => Some(65_537),
            2 | 3 => None,
            // usize -> u64 never truncates on the targets we fuzz on.
            _ => Some(body.len() as u64),
        };
        if let Some(length) = declared {
            builder = builder.header("content-length", length);
        }
        let mut frames = FuzzBody::new(u, &body, broken)?;
        if stalls {
            frames = frames.stalling();
        }
        if u.ratio(1, 8)? {
            frames = frames.with_hint(body.len() as u64);
        }
        let polled = frames.polled();
        let request = builder.body(frames).expect("a valid request");

        let before = demo.load().map(|p| p.configuration().clone());
        let calls_before = calls.load(Ordering::SeqCst);
        let response = block_on(service.clone().oneshot(request)).expect("never fails");
        let status = response.status();
        let text = block_on(response.into_body().collect())
            .expect("answers are in memory")
            .to_bytes();
        let after = demo.load().map(|p| p.configuration().clone());
        let reached_inner = calls.load(Ordering::SeqCst) > calls_before;

        if path == "/demo/key?cors" {
            assert_eq!(before, after, "{path} changed the policy");
            if method == Method::GET || method == Method::HEAD {
                assert!(reached_inner);
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
                assert!(!reached_inner, "a ?cors write reached the object");
            }
            continue;
        }
        let admin =
            (path.starts_with("/demo?cors") && path != "/demo?corsx") || path == "/demo/?cors";
        if !admin {
            assert_eq!(before, after, "{path} changed the policy");
            continue;
        }
        assert!(!reached_inner, "a ?cors request reached the inner service");
        match method {
            Method::PUT => {
                if declared.is_some_and(|length| length > 65_536) {
                    assert_eq!(status, StatusCode::BAD_REQUEST);
                    assert!(
                        linger || !polled.load(Ordering::SeqCst),
                        "polled a body declared too large"
                    );
                }
                if status == StatusCode::OK {
                    assert!(!broken && !stalls, "an incomplete body was stored");
                    assert!(!matches!(md5, Digest::Wrong | Digest::Garbage));
                    assert!(!matches!(checksum, Digest::Wrong | Digest::Garbage));
                    assert!(!two_checksums);
                    let doc = std::str::from_utf8(&body).expect("a stored document is UTF-8");
                    let read =
                        CorsConfiguration::from_document(doc).expect("a stored document reads");
                    assert_eq!(after.as_ref(), Some(&read));
                    read.validate().expect("a stored document is valid");
                } else {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{text:?}");
                    assert_eq!(before, after, "a refused PUT changed the policy");
                }
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
