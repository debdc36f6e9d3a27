//! `example-s3s-server`: an S3-compatible file server built on s3s and
//! s3s-fs, with Amazon S3's bucket CORS from `tower-s3-cors`.
//!
//! The stack, outermost first:
//!
//! 1. `S3CorsLayer`: answers preflights (before any signature check, so
//!    presigned URLs work from browsers) and adds CORS headers to every
//!    answer of s3s, errors included.
//! 2. s3s's `S3Service`: SigV4 authentication, S3's HTTP protocol.
//! 3. [`CorsRoute`]: `?cors` on the request as sent (after the signature
//!    check, before s3s's parser) with the core crate's reader and S3's
//!    validation, digests and errors, through the source the layer reads.
//! 4. [`CorsS3`]: bucket creation and deletion reach the source; the rest
//!    goes to `s3s_fs::FileSystem` (buckets are directories of the root).
//!
//! The CORS wiring is [`build_parts`]: a directory store (`{root}/.cors/`,
//! one document per bucket, edits by hand picked up), read through a cache,
//! buckets located as s3s locates them and asked of s3s-fs. `.cors` is no
//! bucket to s3s-fs: a valid bucket name never starts with a dot.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use s3s::auth::SimpleAuth;
use s3s::host::{MultiDomain, SingleDomain};
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tower_s3_cors::S3Cors;
use tower_s3_cors::source::{BucketCors as _, ReadThrough};
use tower_s3_cors::store::DirectoryStore;
use tower_s3_cors_s3s::{BackendBuckets, CorsRoute, CorsS3, S3sAddressing};

/// The access key of the AWS documentation's examples: the default.
pub const DEFAULT_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret key that goes with [`DEFAULT_ACCESS_KEY`].
pub const DEFAULT_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The directory of the root that holds the bucket CORS documents.
pub const CORS_DIR: &str = ".cors";

/// The whole HTTP service: the CORS layer in front of s3s.
pub type Service = S3Cors<S3Service, ReadThrough>;

/// What the server serves: its command line.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    version,
    about = "An S3-compatible file server (s3s + s3s-fs) with Amazon S3's bucket CORS"
)]
pub struct Options {
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8014")]
    pub listen: SocketAddr,
    /// Data directory: buckets are its directories, bucket CORS documents
    /// are in DIR/.cors/ [default: a fresh temporary directory, removed at exit]
    #[arg(long, value_name = "DIR", value_parser = existing_dir)]
    pub root: Option<PathBuf>,
    /// SigV4 access key
    #[arg(long, value_name = "KEY", default_value = DEFAULT_ACCESS_KEY, requires = "secret_key")]
    pub access_key: String,
    /// SigV4 secret key (given together with --access-key)
    #[arg(long, value_name = "SECRET", default_value = DEFAULT_SECRET_KEY, requires = "access_key")]
    pub secret_key: String,
    /// Also serve virtual-hosted-style requests to BUCKET.DOMAIN
    #[arg(long, value_name = "DOMAIN", value_parser = domain)]
    pub domain: Option<String>,
}

impl Options {
    /// Serves `root` with the default key pair, path style only.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            root: Some(root.into()),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            domain: None,
        }
    }
}

fn existing_dir(path: &str) -> Result<PathBuf, String> {
    let dir = PathBuf::from(path);
    dir.is_dir().then_some(dir).ok_or("not a directory".into())
}

/// A domain as s3s accepts one (`host` or `host:port`).
fn domain(domain: &str) -> Result<String, String> {
    SingleDomain::new(domain).map_err(|e| e.to_string())?;
    Ok(domain.to_owned())
}

/// The parts of the stack: `S3CorsLayer::new(cors).layer(s3)` is the whole
/// service (the browser tests put a probe between the two).
#[derive(Debug)]
pub struct Parts {
    /// s3s's service: authentication, the [`CorsRoute`], [`CorsS3`], s3s-fs.
    pub s3: S3Service,
    /// The bucket CORS: what the layer serves and `?cors` writes.
    pub cors: ReadThrough,
}

/// Builds the parts of the service over `root` for `options`, listening on
/// `port` (for the virtual-hosted addressing). Call it inside a Tokio
/// runtime.
///
/// # Errors
///
/// A message for people: the root cannot be used, or the domain is invalid.
pub async fn build_parts(options: &Options, root: &Path, port: u16) -> Result<Parts, String> {
    let cannot = |what: &str, error: &dyn std::fmt::Display| {
        format!("cannot {what} in {}: {error}", root.display())
    };
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| cannot("serve", &format!("{e:?}")))?;
    let fs = Arc::new(fs);
    let documents =
        DirectoryStore::open(root.join(CORS_DIR)).map_err(|e| cannot("open the CORS store", &e))?;
    let addressing = addressing(options.domain.as_deref(), port)?;
    let cors = ReadThrough::builder(documents)
        .addressing(addressing.clone())
        .bucket_exists(BackendBuckets::new(Arc::clone(&fs)))
        .on_error(|bucket, error| eprintln!("warning: CORS of bucket {bucket:?}: {error}"))
        .build()
        .map_err(|e| e.to_string())?;
    let mut s3 = S3ServiceBuilder::new(CorsS3::from_arc(fs, cors.clone()));
    s3.set_route(CorsRoute::new(cors.clone()));
    s3.set_auth(SimpleAuth::from_single(
        options.access_key.as_str(),
        options.secret_key.as_str(),
    ));
    addressing.install(&mut s3);
    Ok(Parts {
        s3: s3.build(),
        cors,
    })
}

/// The addressing for `domain` when the server listens on `port`. s3s
/// matches the `Host` header as sent, port included: a domain given without
/// a port matches both `{bucket}.{domain}` and `{bucket}.{domain}:{port}`.
fn addressing(domain: Option<&str>, port: u16) -> Result<S3sAddressing, String> {
    let Some(domain) = domain else {
        return Ok(S3sAddressing::path_style());
    };
    let with_port = format!("{domain}:{port}");
    let names = if domain.contains(':') {
        vec![domain]
    } else {
        vec![domain, &with_port]
    };
    let hosts = MultiDomain::new(names).map_err(|err| format!("--domain {domain}: {err}"))?;
    Ok(S3sAddressing::virtual_hosted(hosts))
}

/// Serves `service` on `listener` (HTTP/1.1) until `signal` completes, then
/// lets open connections finish (up to ten seconds).
///
/// # Errors
///
/// Only when the listener itself is unusable.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    service: Service,
    signal: impl Future<Output = ()>,
) -> io::Result<()> {
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
            // A reset connection, or out of file descriptors: go on.
            Err(_) => {
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
        tokio::spawn(connection);
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

/// What the server prints at start, after its `listening on` line: the
/// root, the keys, the buckets with their CORS, and how to try it.
pub async fn banner(
    addr: SocketAddr,
    options: &Options,
    root: &Path,
    cors: &ReadThrough,
) -> String {
    let kept = match options.root {
        Some(_) => "",
        None => " (temporary, removed at exit; --root DIR to keep data)",
    };
    let (key, secret) = (&options.access_key, &options.secret_key);
    let documents = root.join(CORS_DIR);
    let hosted = match &options.domain {
        Some(d) if d.contains(':') => format!(" and virtual-hosted style (http://BUCKET.{d}/KEY)"),
        Some(d) => format!(
            " and virtual-hosted style (http://BUCKET.{d}:{}/KEY)",
            addr.port()
        ),
        None => "; --domain DOMAIN for virtual-hosted style".to_owned(),
    };
    let mut buckets = Vec::new();
    for name in bucket_names(root) {
        buckets.push(match cors.get_document(&name).await {
            Ok(Some(config)) if config.rules.len() == 1 => format!("{name} (CORS: 1 rule)"),
            Ok(Some(config)) => format!("{name} (CORS: {} rules)", config.rules.len()),
            Ok(None) => name,
            Err(error) => format!("{name} (CORS not served: {error})"),
        });
    }
    let buckets = if buckets.is_empty() {
        "none yet".to_owned()
    } else {
        buckets.join(", ")
    };
    let rules = r#"'{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]}]}'"#;
    format!(
        "root: {}{kept}\naccess key: {key}\nsecret key: {secret}\n\
         bucket CORS documents: {}\naddressing: path style (http://{addr}/BUCKET/KEY){hosted}\n\
         buckets: {buckets}\ntry (AWS CLI):\n  export AWS_ACCESS_KEY_ID='{key}' \
         AWS_SECRET_ACCESS_KEY='{secret}' AWS_DEFAULT_REGION=us-east-1\n  \
         aws --endpoint-url http://{addr} s3 mb s3://demo\n  \
         aws --endpoint-url http://{addr} s3api put-bucket-cors --bucket demo --cors-configuration {rules}\n  \
         curl -i -X OPTIONS -H 'Origin: http://example.com' -H 'Access-Control-Request-Method: PUT' \
         http://{addr}/demo/hello.txt\n",
        root.display(),
        documents.display()
    )
}

/// The buckets s3s-fs serves from `root` (its directories with valid bucket
/// names), sorted.
fn bucket_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| s3s::path::check_bucket_name(name))
        .collect();
    names.sort();
    names
}
