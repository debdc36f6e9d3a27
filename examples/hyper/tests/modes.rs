//! Starts the server on 127.0.0.1:0 in each mode and sends it real HTTP
//! requests over TCP: a preflight and a `GET` with `Origin`. The `s3cors`
//! answers are checked header by header; the binary itself is started once
//! to check its first line and its clean exit on SIGINT.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use bytes::Bytes;
use example_hyper::{APP_ORIGIN, Mode, bind, serve};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// The CORS response headers, by name, in a stable order.
const CORS_HEADERS: [&str; 7] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "vary",
];

/// A server in `mode` on a free loopback port, stopped when the sender is
/// dropped.
async fn start(mode: Mode) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (listener, addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, mode, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop, server)
}

/// Sends one request on a new connection; returns status, headers and body.
async fn send(addr: SocketAddr, request: Request<Empty<Bytes>>) -> (StatusCode, HeaderMap, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

fn preflight(addr: SocketAddr) -> Request<Empty<Bytes>> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/")
        .header("host", addr.to_string())
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type,x-amz-date")
        .body(Empty::new())
        .unwrap()
}

fn get_with_origin(addr: SocketAddr) -> Request<Empty<Bytes>> {
    Request::get("/")
        .header("host", addr.to_string())
        .header("origin", APP_ORIGIN)
        .body(Empty::new())
        .unwrap()
}

/// Every CORS header the response carries, each with all its values.
fn cors_headers(headers: &HeaderMap) -> Vec<(&'static str, Vec<String>)> {
    CORS_HEADERS
        .iter()
        .map(|name| {
            let values = headers
                .get_all(*name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (*name, values)
        })
        .filter(|(_, values): &(_, Vec<String>)| !values.is_empty())
        .collect()
}

fn expect(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, Vec<String>)> {
    pairs
        .iter()
        .map(|(name, value)| (*name, vec![(*value).to_owned()]))
        .collect()
}

#[tokio::test]
async fn s3cors_mode_answers_exactly_as_s3_does() {
    let (addr, stop, server) = start(Mode::S3Cors).await;

    let (status, headers, body) = send(addr, preflight(addr)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(headers["content-length"], "0");
    assert!(headers.get("content-type").is_none());
    assert_eq!(
        cors_headers(&headers),
        expect(&[
            ("access-control-allow-origin", APP_ORIGIN),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", "GET, PUT"),
            ("access-control-allow-headers", "content-type, x-amz-date"),
            ("access-control-max-age", "3000"),
            ("vary", VARY),
        ])
    );

    let (status, headers, body) = send(addr, get_with_origin(addr)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hello");
    assert_eq!(
        cors_headers(&headers),
        expect(&[
            ("access-control-allow-origin", APP_ORIGIN),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", "GET, PUT"),
            ("access-control-max-age", "3000"),
            ("vary", VARY),
        ])
    );

    // A refused preflight: S3's 403 XML, no CORS headers but Vary.
    let mut refused = preflight(addr);
    refused
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let (status, headers, body) = send(addr, refused).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["content-type"], "application/xml");
    assert!(String::from_utf8_lossy(&body).contains("<Code>AccessForbidden</Code>"));
    assert_eq!(cors_headers(&headers), expect(&[("vary", VARY)]));

    drop(stop);
    server.await.unwrap();
}

#[tokio::test]
async fn bare_mode_has_no_cors_layer() {
    let (addr, stop, server) = start(Mode::Bare).await;

    let (status, headers, body) = send(addr, get_with_origin(addr)).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Bytes::from_static(b"hello"))
    );
    assert_eq!(cors_headers(&headers), []);

    // The handler knows no OPTIONS.
    let (status, headers, _) = send(addr, preflight(addr)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(cors_headers(&headers), []);

    drop(stop);
    server.await.unwrap();
}

#[tokio::test]
async fn tower_http_mode_allows_the_same_requests() {
    let (addr, stop, server) = start(Mode::TowerHttp).await;

    let (status, headers, _) = send(addr, preflight(addr)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-allow-methods"], "GET,PUT");
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type,x-amz-date"
    );
    assert_eq!(headers["access-control-max-age"], "3000");

    let (status, headers, body) = send(addr, get_with_origin(addr)).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Bytes::from_static(b"hello"))
    );
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");

    drop(stop);
    server.await.unwrap();
}

/// The load test's floor answers its two requests exactly as `s3cors`
/// does: the same status, the same CORS headers, the same body length.
#[tokio::test]
async fn static_headers_mode_answers_the_load_tests_requests_as_s3cors_does() {
    let (addr, stop, server) = start(Mode::StaticHeaders).await;
    let (ours, stop_ours, server_ours) = start(Mode::S3Cors).await;
    for request in [get_with_origin, preflight] {
        let (status, headers, body) = send(addr, request(addr)).await;
        let (expected_status, expected, expected_body) = send(ours, request(ours)).await;
        assert_eq!(status, expected_status);
        assert_eq!(cors_headers(&headers), cors_headers(&expected));
        assert_eq!(body, expected_body);
        for name in ["content-length", "content-type"] {
            assert_eq!(headers.get(name), expected.get(name), "{name}");
        }
    }
    drop((stop, stop_ours));
    server.await.unwrap();
    server_ours.await.unwrap();
}

#[test]
fn the_binary_prints_its_address_first_and_stops_on_sigint() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_example-hyper"))
        .args(["--listen", "127.0.0.1:0", "--mode", "s3cors"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let addr: SocketAddr = addr.parse().unwrap();
    assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(addr.port(), 0, "the bound port is printed, not 0");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, headers, _) = runtime.block_on(send(addr, get_with_origin(addr)));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "Ctrl-C is a clean exit: {status}");
}
