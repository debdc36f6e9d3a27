//! A hyper 1 server whose `tower::ServiceBuilder` stack puts a CORS layer
//! in front of a trivial handler, in one of three modes, so that the load
//! test (`benches/load.sh` at the workspace root) can compare them with one
//! binary:
//!
//! - `s3cors`: [`S3CorsLayer`] with one S3 rule: origin
//!   `https://app.example.com`, methods `GET` and `PUT`, every request
//!   header, `MaxAgeSeconds` 3000;
//! - `tower-http`: tower-http's `CorsLayer` set up to answer the same way;
//! - `bare`: no CORS layer at all;
//! - `static-headers`: no CORS layer, but the answers `s3cors` gives to the
//!   load test's requests, built from constants: every `OPTIONS` request
//!   gets S3's answer to the preflight `benches/load.sh` sends (`200`, no
//!   body, the CORS headers and `Vary`), without calling the handler, and
//!   every other response gets the five headers `s3cors` adds to a matched
//!   `GET`. What sending those answers costs by itself, deciding nothing:
//!   the floor for any CORS layer.
//!
//! The handler answers `GET /` with `hello` and everything else with `404`.
//!
//! Run with `cargo run --release -p example-hyper -- --listen 127.0.0.1:3001 --mode s3cors`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_s3_cors::{ConfigError, S3CorsLayer, SharedPolicy};

/// The origin the CORS rule allows.
pub const APP_ORIGIN: &str = "https://app.example.com";

/// The S3 CORS configuration of the `s3cors` mode.
pub const CORS_RULES: &str = r#"[{
    "AllowedOrigins": ["https://app.example.com"],
    "AllowedMethods": ["GET", "PUT"],
    "AllowedHeaders": ["*"],
    "MaxAgeSeconds": 3000
}]"#;

/// How long open connections get to finish after Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Which CORS layer the stack has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// tower-s3-cors's [`S3CorsLayer`].
    #[default]
    S3Cors,
    /// No CORS layer.
    Bare,
    /// tower-http's `CorsLayer`, set up like the S3 rule.
    TowerHttp,
    /// No CORS layer; the answers to a matched `GET` and preflight built
    /// from constants.
    StaticHeaders,
}

impl Mode {
    /// Every mode, in the order the load test runs them.
    pub const ALL: [Mode; 4] = [
        Mode::Bare,
        Mode::StaticHeaders,
        Mode::S3Cors,
        Mode::TowerHttp,
    ];

    /// The name `--mode` takes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S3Cors => "s3cors",
            Self::Bare => "bare",
            Self::TowerHttp => "tower-http",
            Self::StaticHeaders => "static-headers",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "s3cors" => Ok(Self::S3Cors),
            "bare" => Ok(Self::Bare),
            "tower-http" => Ok(Self::TowerHttp),
            "static-headers" => Ok(Self::StaticHeaders),
            other => Err(format!(
                "unknown mode {other:?}: expected s3cors, bare, tower-http or static-headers"
            )),
        }
    }
}

/// The handler: `hello` for `GET /`, `404` for everything else.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = if request.method() == Method::GET && request.uri().path() == "/" {
        (StatusCode::OK, "hello")
    } else {
        (StatusCode::NOT_FOUND, "not found")
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

/// tower-http's `CorsLayer` answering like the S3 rule: the same origin
/// (echoed, with credentials, as S3 does for a non-`*` origin), methods and
/// max age, and the requested headers mirrored.
pub fn tower_http_cors() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static(APP_ORIGIN))
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .allow_credentials(true)
        .max_age(Duration::from_secs(3000))
}

/// `Vary` of every `s3cors` answer.
const VARY_CORS: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// The headers `s3cors` adds to a matched `GET`, added unconditionally.
fn add_static_cors_headers<B>(mut response: Response<B>) -> Response<B> {
    use http::header::{
        ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_METHODS,
        ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, VARY,
    };
    let headers = response.headers_mut();
    headers.reserve(5);
    headers.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static(APP_ORIGIN),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, PUT"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3000"));
    headers.insert(VARY, HeaderValue::from_static(VARY_CORS));
    response
}

/// `s3cors`'s answer to the load test's preflight (`PUT` from
/// [`APP_ORIGIN`], `Access-Control-Request-Headers: content-type,x-amz-date`),
/// from constants, in the request's emptied header map as `s3cors` builds
/// it: `200`, `Content-Length: 0`, the CORS headers and `Vary`.
fn static_preflight<B>(request: Request<B>) -> Response<Full<Bytes>> {
    use http::header::{
        ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
        CONTENT_LENGTH, VARY,
    };
    let mut headers = request.into_parts().0.headers;
    headers.clear();
    headers.reserve(7);
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static(APP_ORIGIN),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, PUT"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-amz-date"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3000"));
    headers.insert(VARY, HeaderValue::from_static(VARY_CORS));
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.headers_mut() = headers;
    response
}

/// The `static-headers` stack: preflights answered from constants, other
/// requests handled with the `GET` headers added.
async fn static_headers(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::OPTIONS {
        return Ok(static_preflight(request));
    }
    hello(request).await.map(add_static_cors_headers)
}

/// Serves `mode`'s stack on `listener` until `shutdown` completes, then
/// gives open connections a few seconds to finish.
///
/// # Errors
///
/// The CORS configuration's error, for the `s3cors` mode (the built-in one
/// is valid).
pub async fn serve(
    listener: TcpListener,
    mode: Mode,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConfigError> {
    match mode {
        Mode::Bare => {
            let stack = ServiceBuilder::new().service_fn(hello);
            run(listener, stack, shutdown).await;
        }
        Mode::S3Cors => {
            let cors = SharedPolicy::from_document(CORS_RULES)?;
            let stack = ServiceBuilder::new()
                .layer(S3CorsLayer::new(cors))
                .service_fn(hello);
            run(listener, stack, shutdown).await;
        }
        Mode::TowerHttp => {
            let stack = ServiceBuilder::new()
                .layer(tower_http_cors())
                .service_fn(hello);
            run(listener, stack, shutdown).await;
        }
        Mode::StaticHeaders => {
            let stack = ServiceBuilder::new().service_fn(static_headers);
            run(listener, stack, shutdown).await;
        }
    }
    Ok(())
}

/// The accept loop, the same for every stack.
async fn run<S, B>(listener: TcpListener, service: S, shutdown: impl Future<Output = ()>)
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: wait, go on.
                    eprintln!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Small responses on keep-alive connections: send them at once.
        let _ = stream.set_nodelay(true);
        let connection = http1::Builder::new().serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request is not the server's error.
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Binds `addr`; the address it reports is the one bound (port 0 gives a
/// free port).
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
