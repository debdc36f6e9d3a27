//! The app behind `example-bucket-server`: a tiny in-memory, S3-style object
//! store with Amazon S3's CORS behaviour, given by
//! [`tower_s3_cors::S3CorsLayer`] over a per-bucket [`Buckets`] source, and
//! S3's `?cors` sub-resource, given by [`tower_s3_cors::admin::CorsAdminLayer`]
//! over the same buckets.
//!
//! The binary (`src/main.rs`) only parses its command line and calls into
//! this library, so other crates (a browser test suite, say) can start the
//! very same server in-process:
//!
//! ```no_run
//! use example_bucket_server::{Config, serve};
//!
//! # async fn run() -> std::io::Result<()> {
//! let config = Config::demo(); // bucket `demo` with the three-rule document
//! let buckets = config.buckets().clone(); // swap policies, add buckets later
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! tokio::spawn(serve(listener, config));
//! # let _ = buckets;
//! # Ok(()) }
//! ```
//!
//! # What it answers
//!
//! URLs are path-style: `/{bucket}` and `/{bucket}/` are the bucket root,
//! `/{bucket}/{key}` an object (percent-escapes in the key are decoded).
//!
//! | request | answer |
//! |---|---|
//! | any `OPTIONS` | the CORS layer: `200` + CORS headers, or S3's `400`/`403` XML |
//! | `PUT /{bucket}/{key}` | stores the body and its `Content-Type`; `200` with an `ETag` |
//! | `GET`/`HEAD /{bucket}/{key}` | `200` with the body, `ETag`, `Content-Type`; or `404 NoSuchKey` |
//! | `DELETE /{bucket}/{key}` | `204`, whether the object existed or not |
//! | `POST /{bucket}/{key}` | `200`, nothing stored (a stand-in for S3's POST operations) |
//! | `GET /{bucket}` | `200`, a `ListBucketResult` (`?prefix=` filters) |
//! | `PUT /{bucket}` | `409 BucketAlreadyOwnedByYou`: buckets are made at start-up, or from Rust through [`Config::buckets`] |
//! | `PUT /{bucket}?cors` | replaces the bucket's CORS configuration (XML or JSON, at most 64 KB; a larger declared `Content-Length` is refused before the body is read; `Content-MD5` and `x-amz-checksum-*` verified when sent; a body idle for 20 s gets `400 RequestTimeout`); `200`, or `400` with S3's error, the old configuration still serving |
//! | `GET /{bucket}?cors` | `200` with the configuration as XML, or `404 NoSuchCORSConfiguration` |
//! | `DELETE /{bucket}?cors` | removes it; `204` |
//! | other methods on `/{bucket}?cors` | `405 MethodNotAllowed` |
//! | `PUT`/`DELETE`/`POST /{bucket}/{key}?cors` | `405 MethodNotAllowed` (`?cors` is a bucket sub-resource; nothing stored or deleted); `GET`/`HEAD` serve the object |
//! | `GET /` | `200`, a `ListAllMyBucketsResult` |
//! | anything on an unknown bucket | `404 NoSuchBucket` |
//!
//! The `?cors` rows are answered by the library's
//! [`CorsAdminLayer`](tower_s3_cors::admin::CorsAdminLayer), with S3's exact
//! errors; the other rows by the demo's store.
//!
//! Every answer of the store and of `?cors` carries `x-amz-request-id` and
//! `x-amz-id-2`, and its errors S3's XML body with `<RequestId>` and
//! `<HostId>`.
//!
//! # Differences from S3
//!
//! - No authentication, no versions, no multipart uploads; objects live in
//!   memory and are gone when the process ends. Buckets cannot be created or
//!   deleted over HTTP.
//! - `PUT ?cors` checks `Content-MD5` and `x-amz-checksum-*` when they are
//!   sent but, unlike S3, requires neither, so that
//!   `curl --data-binary @cors.xml` just works
//!   (`CorsAdminLayer::require_content_md5(false)`).
//! - Bucket names may hold upper-case letters and `_` and be shorter than 3
//!   characters; they are matched case-insensitively.
//! - Request heads are limited to 16 KiB ([`MAX_HEADER_BYTES`]) and 100
//!   lines ([`MAX_HEADERS`]); beyond them hyper answers
//!   `431 Request Header Fields Too Large` and closes the connection, where S3
//!   answers `400 RequestHeaderSectionTooLarge` for a header section over
//!   8 KiB. Below 16 KiB, an `Access-Control-Request-Headers` over 8 KiB gets
//!   S3's `400` from the CORS layer.

mod app;
mod banner;
mod config;
mod serve;
mod xml;

pub use app::{AppResponse, AppService, BoxError, app, is_valid_bucket_name};
pub use banner::banner;
pub use config::{Config, DEFAULT_MAX_OBJECT_BYTES, DEMO_BUCKET, DEMO_DOCUMENT};
pub use serve::{MAX_HEADER_BYTES, MAX_HEADERS, serve, serve_with_shutdown, shutdown_signal};
pub use tower_s3_cors::source::Buckets;
