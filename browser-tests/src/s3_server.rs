//! The server under test: a tiny object store behind `S3CorsLayer`, with a
//! recorder in front of the layer that logs every exchange (preflights
//! included, which the layer answers itself).

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};
use tower_s3_cors::S3CorsLayer;
use tower_s3_cors::source::Buckets;

/// One request as the recorder in front of the CORS layer saw it, with the
/// answer it got.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// Arrival order, from 0.
    pub seq: usize,
    /// Request method.
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Request headers (names lower-case, in arrival order).
    pub request_headers: Vec<(String, String)>,
    /// Whether the request reached the inner service (false for preflights,
    /// which the layer answers itself).
    pub reached_inner: bool,
    /// The request body as the inner service read it.
    pub inner_body: Option<Bytes>,
    /// Response status.
    pub status: u16,
    /// Response headers (names lower-case).
    pub response_headers: Vec<(String, String)>,
}

impl Exchange {
    /// The first request header `name` (lower-case).
    #[must_use]
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find(&self.request_headers, name)
    }

    /// The first response header `name` (lower-case).
    #[must_use]
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find(&self.response_headers, name)
    }

    /// Whether this is a CORS preflight.
    #[must_use]
    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS"
    }

    /// One line for failure messages.
    #[must_use]
    pub fn summary(&self) -> String {
        let cors: Vec<String> = self
            .response_headers
            .iter()
            .filter(|(k, _)| k.starts_with("access-control-"))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!(
            "#{} {} {} -> {}{} [{}]",
            self.seq,
            self.method,
            self.target,
            self.status,
            if self.reached_inner {
                " (inner)"
            } else {
                " (layer)"
            },
            cors.join("; ")
        )
    }

    /// Everything recorded, one header a line.
    #[must_use]
    pub fn detail(&self) -> String {
        let mut out = format!(
            "#{} {} {}{}\n",
            self.seq,
            self.method,
            self.target,
            if self.reached_inner {
                " (reached the inner service)"
            } else {
                " (answered by the layer)"
            }
        );
        for (k, v) in &self.request_headers {
            out.push_str(&format!("    > {k}: {v}\n"));
        }
        out.push_str(&format!("    < {}\n", self.status));
        for (k, v) in &self.response_headers {
            out.push_str(&format!("    < {k}: {v}\n"));
        }
        out
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Every exchange the server has had, shared with the test.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<Exchange>>>);

impl Log {
    /// A copy of all exchanges so far.
    #[must_use]
    pub fn snapshot(&self) -> Vec<Exchange> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The exchanges whose path and query are exactly `target`.
    #[must_use]
    pub fn for_target(&self, target: &str) -> Vec<Exchange> {
        self.snapshot()
            .into_iter()
            .filter(|e| e.target == target)
            .collect()
    }

    pub(crate) fn push(&self, mut exchange: Exchange) {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        exchange.seq = log.len();
        log.push(exchange);
    }
}

/// What the inner service saw of a request; put in the request's extensions
/// by the recorder, filled in by the inner service.
#[derive(Clone, Debug, Default)]
struct InnerProbe(Arc<Mutex<Option<Bytes>>>);

#[derive(Clone, Debug)]
struct Object {
    body: Bytes,
    etag: String,
    note: Option<String>,
}

/// The objects, by path (`/bucket/key`).
#[derive(Clone, Debug, Default)]
pub struct Store(Arc<Mutex<HashMap<String, Object>>>);

impl Store {
    /// Stores an object at `path` (`/bucket/key`), with an
    /// `x-amz-meta-note` if `note` is given.
    pub fn put(&self, path: &str, body: impl Into<Bytes>, note: Option<&str>) -> String {
        let body = body.into();
        let etag = etag_of(&body);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                path.to_owned(),
                Object {
                    body,
                    etag: etag.clone(),
                    note: note.map(str::to_owned),
                },
            );
        etag
    }

    fn get(&self, path: &str) -> Option<Object> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned()
    }

    fn remove(&self, path: &str) -> Option<Object> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(path)
    }

    /// Whether an object exists at `path`.
    #[must_use]
    pub fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }
}

fn etag_of(body: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

fn respond(
    status: StatusCode,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The inner service: an S3-ish object store. `GET`/`HEAD` return the
/// object with `ETag` and `x-amz-meta-note`, or `404 NoSuchKey`; `PUT`
/// stores the body (and an `x-amz-meta-note` request header); `DELETE`
/// removes; `POST` answers `200`.
async fn object_store(store: Store, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(probe) = parts.extensions.get::<InnerProbe>() {
        *probe.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(body.clone());
    }
    let path = parts.uri.path();
    let xml = "application/xml";
    match parts.method {
        Method::GET | Method::HEAD => match store.get(path) {
            Some(object) => {
                let mut headers = vec![
                    ("content-type", "text/plain"),
                    ("etag", object.etag.as_str()),
                ];
                if let Some(note) = &object.note {
                    headers.push(("x-amz-meta-note", note));
                }
                let body = if parts.method == Method::HEAD {
                    Bytes::new()
                } else {
                    object.body
                };
                respond(StatusCode::OK, &headers, body)
            }
            None => respond(
                StatusCode::NOT_FOUND,
                &[("content-type", xml)],
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
                     <Message>The specified key does not exist.</Message><Key>{path}</Key></Error>"
                ),
            ),
        },
        Method::PUT => {
            let note = parts
                .headers
                .get("x-amz-meta-note")
                .and_then(|v| v.to_str().ok());
            let etag = store.put(path, body, note);
            respond(StatusCode::OK, &[("etag", etag.as_str())], Bytes::new())
        }
        Method::DELETE => {
            let _ = store.remove(path);
            respond(StatusCode::NO_CONTENT, &[], Bytes::new())
        }
        Method::POST => respond(StatusCode::OK, &[("content-type", "text/plain")], "posted"),
        _ => respond(StatusCode::METHOD_NOT_ALLOWED, &[], Bytes::new()),
    }
}

/// The running server under test.
#[derive(Debug)]
pub struct S3Server {
    /// Where it listens (`127.0.0.1:<port>`).
    pub addr: SocketAddr,
    /// The per-bucket policies the layer reads (path-style).
    pub buckets: Buckets,
    /// Every exchange, in arrival order.
    pub log: Log,
    /// The inner service's objects.
    pub store: Store,
}

impl S3Server {
    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds a TCP listener on `127.0.0.1` at a port no browser refuses to use
/// (Chromium blocks a list of well-known ports, all below 10081).
///
/// # Errors
///
/// Binding failed.
pub async fn bind_loopback() -> io::Result<TcpListener> {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        if listener.local_addr()?.port() > 10080 {
            return Ok(listener);
        }
    }
}

/// Starts the server under test on the current tokio runtime:
/// `recorder → S3CorsLayer(buckets) → object store`.
///
/// # Errors
///
/// Binding the listener failed.
pub async fn start(buckets: Buckets) -> io::Result<S3Server> {
    let listener = bind_loopback().await?;
    let addr = listener.local_addr()?;
    let log = Log::default();
    let store = Store::default();

    let inner_store = store.clone();
    let inner = tower::service_fn(move |request: Request<Incoming>| {
        let store = inner_store.clone();
        async move { Ok::<_, Infallible>(object_store(store, request).await) }
    });
    let cors = S3CorsLayer::new(buckets.clone()).layer(inner);

    let recorder_log = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let cors = cors.clone();
            let log = recorder_log.clone();
            let recorder = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                let cors = cors.clone();
                let log = log.clone();
                async move {
                    let probe = InnerProbe::default();
                    request.extensions_mut().insert(probe.clone());
                    let method = request.method().to_string();
                    let target = request.uri().path_and_query().map_or_else(
                        || request.uri().path().to_owned(),
                        |pq| pq.as_str().to_owned(),
                    );
                    let request_headers = header_list(request.headers());
                    let response = cors.oneshot(request).await?;
                    let inner_body = probe
                        .0
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take();
                    log.push(Exchange {
                        seq: 0,
                        method,
                        target,
                        request_headers,
                        reached_inner: inner_body.is_some(),
                        inner_body,
                        status: response.status().as_u16(),
                        response_headers: header_list(response.headers()),
                    });
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), recorder)
                    .await;
            });
        }
    });

    Ok(S3Server {
        addr,
        buckets,
        log,
        store,
    })
}
