//! `example-s3s-server`: an S3-compatible file server built on s3s and
//! s3s-fs, with Amazon S3's bucket CORS from `tower-s3-cors`.
//!
//! The stack, outermost first:
//!
//! 1. [`S3CorsLayer`] with [`S3sBuckets`]: answers preflights (before any
//!    signature check, so presigned URLs work from browsers) and adds CORS
//!    headers to every answer of s3s, errors included. The bucket is found
//!    with the service's own host parser.
//! 2. s3s's `S3Service`: SigV4 authentication, S3's HTTP protocol.
//! 3. [`CorsS3`]: `PutBucketCors`, `GetBucketCors`, `DeleteBucketCors` into
//!    the [`CorsStore`] (`{root}/.cors/`), everything else to s3s-fs.
//! 4. `s3s_fs::FileSystem`: buckets are directories of the root.
//!
//! The binary's command line is in `src/main.rs`; [`build`] gives the same
//! service for use in process, and [`build_parts`] its pieces (the browser
//! tests put a recorder between the layer and s3s).

pub mod cors_store;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use s3s::auth::SimpleAuth;
use s3s::host::{MultiDomain, SingleDomain};
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tower::Layer as _;
use tower_s3_cors::{S3Cors, S3CorsLayer};
use tower_s3_cors_s3s::{CorsS3, S3sAddressing, S3sBuckets};

pub use cors_store::{CorsStore, Loaded};

/// The access key of the AWS documentation's examples: the default.
pub const DEFAULT_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret key that goes with [`DEFAULT_ACCESS_KEY`].
pub const DEFAULT_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The whole HTTP service: the CORS layer in front of s3s.
pub type Service = S3Cors<S3Service, S3sBuckets<CorsStore>>;

/// What the server serves.
#[derive(Clone, Debug)]
pub struct Options {
    /// The s3s-fs data directory (it must exist).
    pub root: PathBuf,
    /// The SigV4 access key.
    pub access_key: String,
    /// The SigV4 secret key.
    pub secret_key: String,
    /// The base domain of virtual-hosted-style requests, if any.
    pub domain: Option<String>,
}

impl Options {
    /// `root`, the default key pair, no domain.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            domain: None,
        }
    }
}

/// Checks a `--domain` value as s3s does (`host` or `host:port`).
///
/// # Errors
///
/// A message for people when s3s would refuse it.
pub fn check_domain(domain: &str) -> Result<(), String> {
    SingleDomain::new(domain)
        .map(|_| ())
        .map_err(|err| format!("--domain {domain}: {err}"))
}

/// The addressing for `domain` when the server listens on `port`.
///
/// s3s matches the `Host` header as sent, port included; clients of
/// `http://localhost:8014` send `bucket.localhost:8014`. A domain given
/// without a port therefore matches both `{bucket}.{domain}` and
/// `{bucket}.{domain}:{port}`.
fn addressing(domain: Option<&str>, port: u16) -> Result<S3sAddressing, String> {
    let Some(domain) = domain else {
        return Ok(S3sAddressing::path_style());
    };
    let invalid = |err| format!("--domain {domain}: {err}");
    if domain.contains(':') {
        return Ok(S3sAddressing::virtual_hosted(
            SingleDomain::new(domain).map_err(invalid)?,
        ));
    }
    let with_port = format!("{domain}:{port}");
    Ok(S3sAddressing::virtual_hosted(
        MultiDomain::new([domain, with_port.as_str()]).map_err(invalid)?,
    ))
}

/// The parts of the stack, for callers that put something between the
/// CORS layer and s3s (the browser tests put a recorder there).
#[derive(Debug)]
pub struct Parts {
    /// s3s's service over [`CorsS3`] and s3s-fs, with authentication.
    pub s3: S3Service,
    /// The CORS layer's policy source (the same host parser as `s3`).
    pub source: S3sBuckets<CorsStore>,
    /// The CORS store `s3` writes and `source` reads.
    pub cors: CorsStore,
    /// What the store loaded.
    pub loaded: Loaded,
}

/// Builds the parts of the service for `options`, listening on `port` (for
/// the virtual-hosted addressing).
///
/// # Errors
///
/// A message for people: the root cannot be used, or the domain is invalid.
pub async fn build_parts(options: &Options, port: u16) -> Result<Parts, String> {
    let root = &options.root;
    let (cors, loaded) = CorsStore::open(root)
        .await
        .map_err(|err| format!("cannot open the CORS store in {}: {err}", root.display()))?;
    let fs = s3s_fs::FileSystem::new(root)
        .map_err(|err| format!("cannot serve {}: {err:?}", root.display()))?;
    let addressing = addressing(options.domain.as_deref(), port)?;

    let mut s3 = S3ServiceBuilder::new(CorsS3::new(fs, cors.clone()));
    s3.set_auth(SimpleAuth::from_single(
        options.access_key.as_str(),
        options.secret_key.as_str(),
    ));
    addressing.install(&mut s3);
    Ok(Parts {
        s3: s3.build(),
        source: S3sBuckets::new(addressing, cors.clone()),
        cors,
        loaded,
    })
}

/// Builds the service for `options`, listening on `port`: the CORS layer in
/// front of s3s.
///
/// # Errors
///
/// As [`build_parts`].
pub async fn build(options: &Options, port: u16) -> Result<(Service, CorsStore, Loaded), String> {
    let parts = build_parts(options, port).await?;
    let service = S3CorsLayer::new(parts.source).layer(parts.s3);
    Ok((service, parts.cors, parts.loaded))
}

/// How long open connections get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `service` on `listener` (HTTP/1.1) until `signal` completes, then
/// lets open connections finish (up to ten seconds).
///
/// # Errors
///
/// Only when the listener itself is unusable.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    service: Service,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => return Err(error),
            Err(_) => {
                // A reset connection, or out of file descriptors: go on.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(service.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

/// A future that completes on Ctrl-C (`SIGINT`) or `SIGTERM`; the handlers
/// are installed when this is called. Call it inside a tokio runtime.
///
/// # Errors
///
/// When the signal handlers cannot be installed.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// What the server prints at start, after its `listening on` line.
#[must_use]
pub fn banner(
    addr: SocketAddr,
    options: &Options,
    temporary_root: bool,
    cors: &CorsStore,
    loaded: &Loaded,
) -> String {
    let endpoint = format!("http://{addr}");
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "root: {}{}",
        options.root.display(),
        if temporary_root {
            " (temporary, removed at exit; --root DIR to keep data)"
        } else {
            ""
        }
    ));
    line(format!("access key: {}", options.access_key));
    line(format!("secret key: {}", options.secret_key));
    line(format!("bucket CORS documents: {}", cors.dir().display()));
    match &options.domain {
        Some(domain) => {
            let host = if domain.contains(':') {
                domain.clone()
            } else {
                format!("{domain}:{}", addr.port())
            };
            line(format!(
                "addressing: path style ({endpoint}/BUCKET/KEY) and virtual-hosted style (http://BUCKET.{host}/KEY)"
            ));
        }
        None => line(format!(
            "addressing: path style ({endpoint}/BUCKET/KEY); --domain DOMAIN for virtual-hosted style"
        )),
    }
    if loaded.buckets.is_empty() {
        line("buckets: none yet".to_owned());
    } else {
        let names: Vec<String> = loaded
            .buckets
            .iter()
            .map(|(name, rules)| match rules {
                Some(1) => format!("{name} (CORS: 1 rule)"),
                Some(n) => format!("{name} (CORS: {n} rules)"),
                None => name.clone(),
            })
            .collect();
        line(format!("buckets: {}", names.join(", ")));
    }
    for warning in &loaded.warnings {
        line(format!("warning: {warning}"));
    }
    line("try (AWS CLI):".to_owned());
    line(format!(
        "  export AWS_ACCESS_KEY_ID='{}' AWS_SECRET_ACCESS_KEY='{}' AWS_DEFAULT_REGION=us-east-1",
        options.access_key, options.secret_key
    ));
    line(format!("  aws --endpoint-url {endpoint} s3 mb s3://demo"));
    line(format!(
        "  aws --endpoint-url {endpoint} s3api put-bucket-cors --bucket demo --cors-configuration \
         '{{\"CORSRules\": [{{\"AllowedOrigins\": [\"*\"], \"AllowedMethods\": [\"GET\", \"PUT\"], \"AllowedHeaders\": [\"*\"], \"ExposeHeaders\": [\"ETag\"]}}]}}'"
    ));
    line(format!(
        "  curl -i -X OPTIONS -H 'Origin: http://example.com' -H 'Access-Control-Request-Method: PUT' {endpoint}/demo/hello.txt"
    ));
    out
}

/// A fresh, empty directory under the system's temporary directory.
///
/// # Errors
///
/// When it cannot be created.
pub fn temporary_root() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100_u32 {
        let dir = base.join(format!(
            "example-s3s-server-{}-{nanos:08x}-{attempt}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no fresh temporary directory name",
    ))
}
