//! End-to-end: real gRPC-web and preflight requests over HTTP/1.1 against
//! `serve` running in-process (and the binary, for its command line).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;

use bytes::{Buf, Bytes};
use example_tonic_web::{EMPTY_NAME_MESSAGE, HelloReply, HelloRequest, SAY_HELLO_PATH, serve};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, CONTENT_TYPE, VARY,
};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::{TcpListener, TcpStream};

type TestResult = Result<(), Box<dyn Error + Send + Sync>>;

const ORIGIN: &str = "http://example.test";
const VARY_VALUE: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// Starts `serve` on a fresh port and returns its address.
async fn start() -> Result<SocketAddr, Box<dyn Error + Send + Sync>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(serve(listener));
    Ok(address)
}

/// A response, its body collected, and the HTTP trailers if any.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request over a fresh HTTP/1.1 connection.
async fn send(
    address: SocketAddr,
    request: http::request::Builder,
    body: Bytes,
) -> Result<Answer, Box<dyn Error + Send + Sync>> {
    let stream = TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = request
        .version(http::Version::HTTP_11)
        .header(http::header::HOST, address.to_string())
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// A gRPC-web unary call of `SayHello`.
async fn say_hello(
    address: SocketAddr,
    name: &str,
) -> Result<Answer, Box<dyn Error + Send + Sync>> {
    let message = HelloRequest { name: name.into() }.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
    frame.extend_from_slice(&message);

    let request = Request::builder()
        .method(Method::POST)
        .uri(SAY_HELLO_PATH)
        .header(CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-javascript/0.1")
        .header(http::header::ORIGIN, ORIGIN);
    send(address, request, frame.into()).await
}

/// A gRPC-web response body, split into its frames.
#[derive(Debug, Default)]
struct Frames {
    messages: Vec<Bytes>,
    trailers: Option<HashMap<String, String>>,
}

fn split_frames(mut body: Bytes) -> Result<Frames, Box<dyn Error + Send + Sync>> {
    let mut frames = Frames::default();
    while body.has_remaining() {
        if body.remaining() < 5 {
            return Err(format!("truncated frame header: {body:?}").into());
        }
        let flag = body.get_u8();
        let length = usize::try_from(body.get_u32())?;
        if body.remaining() < length {
            return Err(format!("frame of {length} bytes, {} left", body.remaining()).into());
        }
        let payload = body.split_to(length);
        match flag {
            0x00 => frames.messages.push(payload),
            0x80 => {
                // Trailers are HTTP/1-style header lines: `name:value\r\n`.
                let text = std::str::from_utf8(&payload)?;
                let mut trailers = HashMap::new();
                for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                    let (name, value) = line
                        .split_once(':')
                        .ok_or_else(|| format!("bad trailer line {line:?}"))?;
                    trailers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
                frames.trailers = Some(trailers);
            }
            other => return Err(format!("unexpected frame flag {other:#04x}").into()),
        }
    }
    Ok(frames)
}

/// `grpc-message` is percent-encoded on the wire.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(decoded)) = (b, hex) {
            out.push(decoded);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn assert_cors_headers(answer: &Answer) {
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some("*"));
    assert_eq!(
        answer.header(ACCESS_CONTROL_EXPOSE_HEADERS),
        Some("grpc-status, grpc-message")
    );
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_METHODS), Some("POST"));
    assert_eq!(answer.header(ACCESS_CONTROL_MAX_AGE), Some("600"));
    assert_eq!(answer.header(VARY), Some(VARY_VALUE));
    // ACAO is `*`: no credentials.
    assert!(
        answer
            .headers
            .get("access-control-allow-credentials")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_call_gets_reply_trailers_and_s3_cors_headers() -> TestResult {
    let address = start().await?;
    let answer = say_hello(address, "world").await?;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header(CONTENT_TYPE),
        Some("application/grpc-web+proto")
    );
    assert_cors_headers(&answer);

    let frames = split_frames(answer.body.clone())?;
    assert_eq!(frames.messages.len(), 1, "one data frame: {frames:?}");
    let reply = HelloReply::decode(frames.messages[0].clone())?;
    assert_eq!(reply.message, "Hello, world!");

    let trailers = frames.trailers.ok_or("no trailer frame")?;
    assert_eq!(trailers.get("grpc-status").map(String::as_str), Some("0"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_error_status_is_visible_and_exposed() -> TestResult {
    let address = start().await?;
    let answer = say_hello(address, "").await?;

    // gRPC errors travel in a 200: the status is in the headers of a
    // trailers-only answer, or in the trailer frame of the body.
    assert_eq!(answer.status, StatusCode::OK);
    assert_cors_headers(&answer);

    let frames = split_frames(answer.body.clone())?;
    assert!(frames.messages.is_empty(), "no reply message: {frames:?}");
    let from_headers = answer.header("grpc-status").map(|status| {
        (
            status.to_owned(),
            answer.header("grpc-message").unwrap_or_default().to_owned(),
        )
    });
    let from_trailers = frames.trailers.as_ref().and_then(|t| {
        let status = t.get("grpc-status")?.clone();
        Some((status, t.get("grpc-message").cloned().unwrap_or_default()))
    });
    let (status, message) = from_headers
        .or(from_trailers)
        .ok_or("grpc-status neither in headers nor in a trailer frame")?;
    assert_eq!(status, (tonic::Code::InvalidArgument as i32).to_string());
    assert_eq!(percent_decode(&message), EMPTY_NAME_MESSAGE);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_for_post_is_answered_by_the_s3_layer() -> TestResult {
    let address = start().await?;
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(SAY_HELLO_PATH)
        .header(http::header::ORIGIN, ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent",
        );
    let answer = send(address, request, Bytes::new()).await?;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some("*"));
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_METHODS), Some("POST"));
    assert_eq!(
        answer.header(ACCESS_CONTROL_ALLOW_HEADERS),
        Some("content-type, x-grpc-web, x-user-agent")
    );
    assert_eq!(
        answer.header(ACCESS_CONTROL_EXPOSE_HEADERS),
        Some("grpc-status, grpc-message")
    );
    assert_eq!(answer.header(ACCESS_CONTROL_MAX_AGE), Some("600"));
    assert_eq!(answer.header(VARY), Some(VARY_VALUE));
    assert_eq!(answer.header(http::header::CONTENT_LENGTH), Some("0"));
    assert!(answer.headers.get(CONTENT_TYPE).is_none());
    assert!(answer.body.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_for_get_gets_s3s_403() -> TestResult {
    let address = start().await?;
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(SAY_HELLO_PATH)
        .header(http::header::ORIGIN, ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "content-type,x-grpc-web");
    let answer = send(address, request, Bytes::new()).await?;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.header(CONTENT_TYPE), Some("application/xml"));
    assert!(answer.headers.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let body = std::str::from_utf8(&answer.body)?;
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
        "{body}"
    );
    assert!(body.contains("<Code>AccessForbidden</Code>"), "{body}");
    assert!(
        body.contains("<Message>CORSResponse: This CORS request is not allowed."),
        "{body}"
    );
    assert!(body.contains("<Method>GET</Method>"), "{body}");
    assert!(
        body.contains("<ResourceType>OBJECT</ResourceType>"),
        "{body}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_without_origin_gets_s3s_400_not_tonic_webs() -> TestResult {
    let address = start().await?;
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(SAY_HELLO_PATH)
        .header("access-control-request-method", "POST");
    let answer = send(address, request, Bytes::new()).await?;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let body = std::str::from_utf8(&answer.body)?;
    assert!(body.contains("<Code>BadRequest</Code>"), "{body}");
    assert!(
        body.contains("Insufficient information. Origin request header needed."),
        "{body}"
    );
    Ok(())
}

/// The binary: first stdout line, `--cors FILE`, clean exit on SIGINT.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_address_honours_cors_file_and_stops_on_ctrl_c() -> TestResult {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("example-tonic-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cors = dir.join("cors.xml");
    std::fs::write(
        &cors,
        "<CORSConfiguration><CORSRule>\
         <AllowedOrigin>http://only.test</AllowedOrigin>\
         <AllowedMethod>POST</AllowedMethod>\
         <AllowedHeader>*</AllowedHeader>\
         </CORSRule></CORSConfiguration>",
    )?;

    let child = Command::new(env!("CARGO_BIN_EXE_example-tonic-web"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--cors")
        .arg(&cors)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    // Kills the server if the test fails before it has stopped it.
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;

    let address: SocketAddr = first_line
        .trim_end()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("unexpected first line {first_line:?}"))?
        .parse()?;

    let preflight = |origin: &'static str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(SAY_HELLO_PATH)
            .header(http::header::ORIGIN, origin)
            .header("access-control-request-method", "POST")
    };
    let allowed = send(address, preflight("http://only.test"), Bytes::new()).await?;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(
        allowed.header(ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("http://only.test")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let refused = send(address, preflight(ORIGIN), Bytes::new()).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let _ = std::fs::remove_dir_all(&dir);

    // Ctrl-C, then the process must exit on its own, successfully.
    let interrupted = Command::new("kill")
        .arg("-INT")
        .arg(child.0.id().to_string())
        .status()?;
    assert!(interrupted.success());
    for _ in 0..100 {
        if let Some(exit) = child.0.try_wait()? {
            assert!(exit.success(), "exit status {exit}");
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err("the server did not exit within 10 s of SIGINT".into())
}

#[cfg(unix)]
struct KillOnDrop(std::process::Child);

#[cfg(unix)]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
