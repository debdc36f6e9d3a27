//! The `?cors` sub-resource under hostile requests (issue 12): every
//! `x-amz-checksum-*` S3 knows is verified, declared lengths over 64 KiB are
//! refused before the body is read, a body that stops arriving times out,
//! a broken chunked body says what is wrong, and `?cors` on an object path
//! neither stores nor deletes the object.

#![cfg(feature = "admin")]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::admin::{CorsAdminLayer, DEFAULT_BODY_TIMEOUT};
use tower_s3_cors::source::Buckets;

use crate::support;

const GOOD: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                    <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

/// The base64 checksums of GOOD, computed with Python (`zlib`, `hashlib`,
/// and a bit-by-bit CRC for CRC32C and CRC64NVME), not with this crate.
const CHECKSUMS: [(&str, &str, &str); 5] = [
    ("x-amz-checksum-crc32", "CRC32", "7Zz8mA=="),
    ("x-amz-checksum-crc32c", "CRC32C", "7Vv3zQ=="),
    ("x-amz-checksum-crc64nvme", "CRC64NVME", "6atMqmcgdFw="),
    (
        "x-amz-checksum-sha1",
        "SHA1",
        "ykrNBhGZUh+ID/iMdULNpigXAwk=",
    ),
    (
        "x-amz-checksum-sha256",
        "SHA256",
        "kx5nEL//97SZx+gPZlo27R9YLx/91wzOzpPz+sxI4WI=",
    ),
];

/// A body of frames given one by one; it stalls (pending forever, never
/// waking) after `stall_after` frames, or fails there when `fail`.
#[derive(Debug)]
struct ScriptedBody {
    frames: Vec<Bytes>,
    given: usize,
    /// How many frames (and ends) were given, for tests that keep count.
    given_count: Arc<AtomicUsize>,
    stall_after: Option<usize>,
    fail: bool,
    polled: Arc<AtomicBool>,
    /// Set when the body is dropped.
    dropped: Arc<AtomicBool>,
    hint: SizeHint,
}

impl Drop for ScriptedBody {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid chunk size line")
    }
}

impl std::error::Error for Broken {}

impl ScriptedBody {
    fn new(frames: &[&str]) -> Self {
        Self {
            frames: frames.iter().map(|f| Bytes::from(f.to_string())).collect(),
            given: 0,
            given_count: Arc::default(),
            stall_after: None,
            fail: false,
            polled: Arc::default(),
            dropped: Arc::default(),
            hint: SizeHint::new(),
        }
    }
}

impl HttpBody for ScriptedBody {
    type Data = Bytes;
    type Error = Broken;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Broken>>> {
        self.polled.store(true, Ordering::SeqCst);
        if self.stall_after == Some(self.given) {
            return Poll::Pending;
        }
        if self.fail && self.given == self.frames.len() {
            return Poll::Ready(Some(Err(Broken)));
        }
        let frame = self.frames.get(self.given).cloned();
        self.given += 1;
        self.given_count.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(frame.map(|data| Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

fn buckets() -> Buckets {
    let buckets = Buckets::path_style();
    buckets.create("photos");
    buckets
}

/// Sends a request through the admin layer (body timeout `idle`) in front of
/// a store that answers `200 "inner"` and counts its calls.
async fn send_with<B>(
    buckets: &Buckets,
    idle: Option<Duration>,
    request: Request<B>,
) -> (StatusCode, String, usize)
where
    B: HttpBody<Data = Bytes> + Send + 'static,
{
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service = CorsAdminLayer::new(buckets.clone())
        .body_timeout(idle)
        .layer(service_fn(move |_req: Request<B>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner")))) }
        }));
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8(body.to_vec()).unwrap(),
        calls.load(Ordering::SeqCst),
    )
}

/// Asserts a `400` with S3's `code` and `message`, and that nothing was
/// stored.
#[track_caller]
fn assert_refused(buckets: &Buckets, status: StatusCode, body: &str, code: &str, message: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(support::error_of(body), (code, message));
    assert!(!buckets.get("photos").unwrap().is_configured());
}

fn put(uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Full<Bytes>> {
    support::request_with_body(Method::PUT, uri, headers, body)
}

#[tokio::test]
async fn every_s3_checksum_is_verified() {
    for (header, name, good) in CHECKSUMS {
        let buckets = buckets();
        let (status, body, _) =
            send_with(&buckets, None, put("/photos?cors", &[(header, good)], GOOD)).await;
        assert_eq!(status, StatusCode::OK, "{header}: {body}");
        assert!(buckets.get("photos").unwrap().is_configured());

        // The same value with another body: BadDigest, nothing stored.
        let buckets = Buckets::path_style();
        buckets.create("photos");
        let other = GOOD.replace("GET", "PUT");
        let (status, body, _) = send_with(
            &buckets,
            None,
            put("/photos?cors", &[(header, good)], &other),
        )
        .await;
        assert_refused(
            &buckets,
            status,
            &body,
            "BadDigest",
            format!("The {name} you specified did not match the calculated checksum.").as_str(),
        );
    }
}

#[tokio::test]
async fn a_checksum_of_the_wrong_length_is_invalid_and_two_checksums_are_refused() {
    for (header, _, good) in CHECKSUMS {
        let buckets = buckets();
        let short = &good[..good.len() - 4];
        let (status, body, _) = send_with(
            &buckets,
            None,
            put("/photos?cors", &[(header, short)], GOOD),
        )
        .await;
        assert_refused(
            &buckets,
            status,
            &body,
            "InvalidRequest",
            format!("Value for {header} header is invalid.").as_str(),
        );
    }
    let buckets = buckets();
    let (status, body, _) = send_with(
        &buckets,
        None,
        put(
            "/photos?cors",
            &[
                ("x-amz-checksum-crc32", CHECKSUMS[0].2),
                ("x-amz-checksum-sha256", CHECKSUMS[4].2),
            ],
            GOOD,
        ),
    )
    .await;
    assert_refused(
        &buckets,
        status,
        &body,
        "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    );
}

#[tokio::test]
async fn content_md5_and_a_checksum_are_both_checked() {
    use base64::Engine as _;
    use md5::{Digest, Md5};
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(GOOD.as_bytes()));
    let wrong_md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"x"));
    let buckets = buckets();
    let (status, body, _) = send_with(
        &buckets,
        None,
        put(
            "/photos?cors",
            &[
                ("content-md5", &wrong_md5),
                (CHECKSUMS[0].0, CHECKSUMS[0].2),
            ],
            GOOD,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(support::error_of(&body).0, "BadDigest");
    let (status, _, _) = send_with(
        &buckets,
        None,
        put(
            "/photos?cors",
            &[("content-md5", &md5), ("x-amz-checksum-crc32", "AAAAAA==")],
            GOOD,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!buckets.get("photos").unwrap().is_configured());
}

#[tokio::test]
async fn a_declared_length_over_64_kib_is_refused_before_the_body_is_polled() {
    for (headers, hint) in [
        (&[("content-length", "10000000000")][..], SizeHint::new()),
        (&[("content-length", "65537")][..], SizeHint::new()),
        (&[][..], SizeHint::with_exact(10_000_000_000)),
    ] {
        let buckets = buckets();
        let mut body = ScriptedBody::new(&[GOOD]);
        body.hint = hint;
        let polled = Arc::clone(&body.polled);
        let mut request = Request::put("/photos?cors");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .header("expect", "100-continue")
            .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
            .body(body)
            .unwrap();
        let (status, text, _) = send_with(&buckets, None, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            support::error_of(&text),
            (
                "MalformedXML",
                "The CORS XML document is limited to 64 KB in size."
            )
        );
        assert!(!polled.load(Ordering::SeqCst), "the body was polled");
    }
}

/// Sends `request` through an admin layer whose lingering close is
/// `bounds`; the answer's status and text, and how long the answer took to
/// end.
async fn answer_with_linger(
    request: Request<ScriptedBody>,
    bounds: (u64, Duration),
) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let service = CorsAdminLayer::new(buckets())
        .lingering_close(bounds.0, bounds.1)
        .layer(service_fn(|_req: Request<ScriptedBody>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        }));
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8(body.to_vec()).unwrap(),
        started.elapsed(),
    )
}

/// A `PUT ?cors` of 64 KiB and more, refused before its body is read.
fn too_large(body: ScriptedBody) -> Request<ScriptedBody> {
    Request::put("/photos?cors")
        .header("content-length", "10000000000")
        .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(body)
        .unwrap()
}

/// Waits (at most 5 s) until `dropped` is set; how long it took.
fn wait_dropped(dropped: &AtomicBool) -> Duration {
    let started = Instant::now();
    while !dropped.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

/// Without `Expect: 100-continue` the client is sending: an early answer
/// is given at once and the rest of the body is read beside it (a lingering
/// close), within its bounds in bytes and in time, then dropped.
#[tokio::test]
async fn an_early_answer_reads_the_rest_of_the_body_within_bounds() {
    let chunk = " ".repeat(64 * 1024);
    let frames: Vec<&str> = vec![chunk.as_str(); 20];
    let at_once = Duration::from_secs(1);

    // To its end, when it is within the bounds.
    let body = ScriptedBody::new(&frames);
    let (given, dropped) = (Arc::clone(&body.given_count), Arc::clone(&body.dropped));
    let (status, text, took) =
        answer_with_linger(too_large(body), (8 * 1024 * 1024, Duration::from_secs(5))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(support::error_of(&text).0, "MalformedXML");
    assert!(took < at_once, "{took:?}");
    wait_dropped(&dropped);
    assert_eq!(given.load(Ordering::SeqCst), 21, "20 frames and the end");

    // Up to the byte bound: 256 KiB are 4 frames.
    let body = ScriptedBody::new(&frames);
    let (given, dropped) = (Arc::clone(&body.given_count), Arc::clone(&body.dropped));
    let (status, _, _) =
        answer_with_linger(too_large(body), (256 * 1024, Duration::from_secs(5))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    wait_dropped(&dropped);
    assert_eq!(given.load(Ordering::SeqCst), 4);

    // A body that stops arriving: the answer at once all the same, the body
    // dropped when the time bound has passed.
    let mut body = ScriptedBody::new(&frames);
    body.stall_after = Some(2);
    let dropped = Arc::clone(&body.dropped);
    let bound = Duration::from_millis(300);
    let (status, _, took) = answer_with_linger(too_large(body), (8 * 1024 * 1024, bound)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(took < bound, "{took:?}");
    let waited = took + wait_dropped(&dropped);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(waited >= bound / 2 && waited < bound * 10, "{waited:?}");

    // Bounds of zero turn it off: the body is not read.
    let body = ScriptedBody::new(&frames);
    let (polled, dropped) = (Arc::clone(&body.polled), Arc::clone(&body.dropped));
    let (status, _, _) = answer_with_linger(too_large(body), (0, Duration::from_secs(5))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!polled.load(Ordering::SeqCst));
}

/// The timer is the layer's own (real time: it needs no runtime).
#[tokio::test]
async fn a_body_that_stops_arriving_times_out_with_request_timeout() {
    let buckets = buckets();
    let mut body = ScriptedBody::new(&["<CORSConfiguration>", "<CORSRule>"]);
    body.stall_after = Some(1);
    let request = Request::put("/photos?cors")
        .header("content-length", GOOD.len().to_string())
        .header("x-amz-checksum-crc32", CHECKSUMS[0].2)
        .body(body)
        .unwrap();
    let idle = Duration::from_millis(300);
    let started = Instant::now();
    let (status, text, _) = send_with(&buckets, Some(idle), request).await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    // At least the wait; at most the wait and a generous margin for a
    // loaded machine.
    assert!(waited >= idle && waited < idle * 10, "{waited:?}");
    assert_eq!(DEFAULT_BODY_TIMEOUT, Duration::from_secs(20));
    assert_eq!(
        support::error_of(&text),
        (
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."
        )
    );
    assert!(!buckets.get("photos").unwrap().is_configured());
}

/// A runtime built without its time driver (where a tokio timer would
/// panic) times a stalled body out all the same.
#[test]
fn the_body_timeout_needs_no_time_driver() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (status, text) = runtime.block_on(async {
        let buckets = buckets();
        let mut body = ScriptedBody::new(&["<CORSConfiguration>", "<CORSRule>"]);
        body.stall_after = Some(1);
        let request = Request::put("/photos?cors")
            .header("x-amz-checksum-crc32", CHECKSUMS[0].2)
            .body(body)
            .unwrap();
        let (status, text, _) =
            send_with(&buckets, Some(Duration::from_millis(100)), request).await;
        (status, text)
    });
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(support::error_of(&text).0, "RequestTimeout");
}

/// A `PUT ?cors` whose body breaks off after its first chunk, framed by
/// `framing` (a `Content-Length` or chunked coding): the error's code and
/// message.
async fn broken_off(framing: (&str, &str)) -> (String, String) {
    let buckets = buckets();
    let mut body = ScriptedBody::new(&["<CORSConfiguration>"]);
    body.fail = true;
    let request = Request::put("/photos?cors")
        .header(framing.0, framing.1)
        .header("x-amz-checksum-crc32", "AAAAAA==")
        .body(body)
        .unwrap();
    let (status, text, _) = send_with(&buckets, None, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = support::error_of(&text);
    (code.to_owned(), message.to_owned())
}

#[tokio::test]
async fn a_broken_body_says_what_is_wrong() {
    // With a Content-Length: S3's message about it.
    let (code, message) = broken_off(("content-length", "200")).await;
    assert_eq!(code, "IncompleteBody");
    assert_eq!(
        message,
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    );
    // Chunked (no Content-Length): no word of a Content-Length.
    let (code, message) = broken_off(("transfer-encoding", "chunked")).await;
    assert_eq!(code, "IncompleteBody");
    assert!(!message.contains("Content-Length"), "{message}");
    assert!(message.contains("chunked"), "{message}");
}

#[tokio::test]
async fn cors_on_an_object_path_neither_stores_nor_deletes_the_object() {
    let buckets = buckets();
    for method in [Method::PUT, Method::DELETE, Method::POST] {
        let request = support::request_with_body(method.clone(), "/photos/key?cors", &[], GOOD);
        let (status, text, calls) = send_with(&buckets, None, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(calls, 0, "{method} reached the store");
        assert_eq!(
            support::error_of(&text),
            (
                "MethodNotAllowed",
                "The specified method is not allowed against this resource."
            )
        );
        assert!(
            text.contains(&format!(
                "<Method>{method}</Method><ResourceType>OBJECT</ResourceType>"
            )),
            "{text}"
        );
    }
    assert!(!buckets.get("photos").unwrap().is_configured());
    // Reads go on to the object: `?cors` is a common cache buster.
    for method in [Method::GET, Method::HEAD] {
        let request = support::request_with_body(method.clone(), "/photos/key?cors", &[], "");
        let (status, text, calls) = send_with(&buckets, None, request).await;
        assert_eq!(
            (status, text.as_str(), calls),
            (StatusCode::OK, "inner", 1),
            "{method}"
        );
    }
    // An unknown bucket is the store's to answer (NoSuchBucket).
    let request = support::request_with_body(Method::PUT, "/nope/key?cors", &[], GOOD);
    let (_, text, calls) = send_with(&buckets, None, request).await;
    assert_eq!((text.as_str(), calls), ("inner", 1));
}
