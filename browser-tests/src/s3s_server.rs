//! The s3s example (s3s + s3s-fs behind `S3CorsLayer`, SigV4 required) as a
//! server under test: in process, over a temporary root, with the same
//! recorder in front of the CORS layer as [`s3_server`](crate::s3_server)
//! and a probe in front of s3s that tells which requests reached it.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use example_s3s_server::Options;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tower::{Layer as _, Service, ServiceExt as _};
use tower_s3_cors::S3CorsLayer;

use tower_s3_cors_test_support::{TempDir, temp_dir};

use crate::presign::Presign;
use crate::s3_server::{Exchange, Log, bind_loopback, header_list};

/// The region of the presigned URLs (s3s accepts any).
const REGION: &str = "us-east-1";

/// The running s3s server.
#[derive(Debug)]
pub struct S3sServer {
    /// Where it listens (`127.0.0.1:<port>`).
    pub addr: SocketAddr,
    /// Its data directory (removed when this is dropped).
    pub root: PathBuf,
    _root: TempDir,
    /// Its bucket CORS.
    pub cors: tower_s3_cors::source::ReadThrough,
    /// Every exchange, in arrival order.
    pub log: Log,
    options: Options,
}

impl S3sServer {
    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A presigned URL for `method` on `/{bucket}/{key}` (path style), valid
    /// for ten minutes.
    #[must_use]
    pub fn presign(&self, method: &str, bucket: &str, key: &str) -> String {
        Presign {
            method,
            host: &self.addr.to_string(),
            path: &format!("/{bucket}/{key}"),
            access_key: &self.options.access_key,
            secret_key: &self.options.secret_key,
            region: REGION,
            expires: 600,
        }
        .url()
    }

    /// The file s3s-fs keeps an object in.
    #[must_use]
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }
}

/// Marks, in the request's extensions, that the request reached s3s.
#[derive(Clone, Debug, Default)]
struct Reached(Arc<AtomicBool>);

/// The probe in front of s3s.
#[derive(Clone, Debug)]
struct Probe<S>(S);

impl<S, B> Service<Request<B>> for Probe<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(reached) = request.extensions().get::<Reached>() {
            reached.0.store(true, Ordering::SeqCst);
        }
        self.0.call(request)
    }
}

/// Starts the s3s example over a fresh root in which `buckets` exist, on
/// the current tokio runtime: `recorder → S3CorsLayer → probe → s3s`.
///
/// # Errors
///
/// The root or the listener could not be made, or the example refused to
/// start (its message).
pub async fn start(buckets: &[&str]) -> io::Result<S3sServer> {
    let root_dir = temp_dir("browser-tests-s3s");
    let root = root_dir.path().to_owned();
    for bucket in buckets {
        // s3s-fs's buckets are the directories of its root.
        std::fs::create_dir(root.join(bucket))?;
    }
    let listener = bind_loopback().await?;
    let addr = listener.local_addr()?;
    let options = Options::new(&root);
    let parts = example_s3s_server::build_parts(&options, &root, addr.port())
        .await
        .map_err(io::Error::other)?;
    let stack = S3CorsLayer::new(parts.cors.clone()).layer(Probe(parts.s3));
    let log = Log::default();

    let recorder_log = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let stack = stack.clone();
            let log = recorder_log.clone();
            let recorder = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                let stack = stack.clone();
                let log = log.clone();
                async move {
                    let reached = Reached::default();
                    request.extensions_mut().insert(reached.clone());
                    let method = request.method().to_string();
                    let target = request.uri().path_and_query().map_or_else(
                        || request.uri().path().to_owned(),
                        |pq| pq.as_str().to_owned(),
                    );
                    let request_headers = header_list(request.headers());
                    let response = match stack.oneshot(request).await {
                        Ok(response) => response,
                        Err(err) => return Err(err),
                    };
                    log.push(Exchange {
                        seq: 0,
                        method,
                        target,
                        request_headers,
                        reached_inner: reached.0.load(Ordering::SeqCst),
                        // s3s reads the body itself; the test reads the
                        // stored object instead.
                        inner_body: None,
                        status: response.status().as_u16(),
                        response_headers: header_list(response.headers()),
                    });
                    Ok(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), recorder)
                    .await;
            });
        }
    });
    Ok(S3sServer {
        addr,
        root,
        _root: root_dir,
        cors: parts.cors,
        log,
        options,
    })
}

/// Whether `path` holds exactly `contents`.
#[must_use]
pub fn file_holds(path: &Path, contents: &str) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes == contents.as_bytes())
}
