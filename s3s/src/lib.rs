//! Amazon S3's bucket CORS for S3-compatible servers built on
//! [s3s](https://docs.rs/s3s), with [`tower-s3-cors`](tower_s3_cors).
//!
//! s3s turns an `S3` trait implementation into an HTTP service, and leaves
//! CORS to each server: it answers `OPTIONS` with `NotImplemented`, and its
//! `PutBucketCors`/`GetBucketCors`/`DeleteBucketCors` default to
//! `NotImplemented`. This crate is the glue that makes `tower-s3-cors` fit
//! it exactly:
//!
//! - [`S3sAddressing`]: the bucket of a request, found with the service's own
//!   host parser ([`s3s::host::S3Host`]), name validation and path parsing
//!   (path style, virtual-hosted style, percent-decoding), so the layer and
//!   s3s always agree on the bucket. It is a locator
//!   ([`Locate`](tower_s3_cors::source::Locate)) for the core's sources.
//! - [`CorsRoute`]: an s3s custom route that answers `PutBucketCors`,
//!   `GetBucketCors` and `DeleteBucketCors` on the request as sent, after
//!   s3s's signature check and before its parser, with the core crate's
//!   [`CorsAdminLayer`](tower_s3_cors::admin::CorsAdminLayer): the same
//!   reader, validation, digests and S3 errors as any tower server, through
//!   the write side of any [`BucketCors`](tower_s3_cors::source::BucketCors)
//!   source (in memory, or read through from your store).
//! - [`CorsS3`]: an `S3` decorator that tells the source when the backend
//!   creates or deletes a bucket, and answers the `?cors` operations that
//!   reach it (without the route, from s3s's parsed input); every other
//!   operation goes to your implementation.
//! - [`BackendBuckets`]: whether a bucket exists, asked of your backend's
//!   own `HeadBucket`, for a read-through source.
//! - [`dto`]: conversions between s3s's `CORSConfiguration` and
//!   [`CorsConfiguration`](tower_s3_cors::config::CorsConfiguration), for
//!   servers that keep the configuration in their own `S3` implementation.
//!
//! The crate defines no trait of its own: the source is the core crate's,
//! the same value for the layer and for s3s.
//!
//! # The stack
//!
//! Bucket CORS kept in a directory of documents (any
//! [`CorsStore`](tower_s3_cors::store::CorsStore) works: etcd, your
//! metadata database), bucket existence asked of the backend:
//!
//! ```no_run
//! use std::sync::Arc;
//! use s3s::{auth::SimpleAuth, host::SingleDomain, service::S3ServiceBuilder};
//! use tower::Layer as _;
//! use tower_s3_cors::S3CorsLayer;
//! use tower_s3_cors::source::ReadThrough;
//! use tower_s3_cors::store::DirectoryStore;
//! use tower_s3_cors_s3s::{BackendBuckets, CorsRoute, CorsS3, S3sAddressing};
//!
//! # async fn stack(backend: impl s3s::S3) -> Result<(), Box<dyn std::error::Error>> {
//! let backend = Arc::new(backend);
//! let addressing = S3sAddressing::virtual_hosted(SingleDomain::new("s3.example.test")?);
//! let cors = ReadThrough::builder(DirectoryStore::open("/srv/s3/.cors")?)
//!     .addressing(addressing.clone())
//!     .bucket_exists(BackendBuckets::new(Arc::clone(&backend)))
//!     .build()?;
//! let mut s3 = S3ServiceBuilder::new(CorsS3::from_arc(backend, cors.clone()));
//! s3.set_route(CorsRoute::new(cors.clone()));
//! s3.set_auth(SimpleAuth::from_single("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
//! addressing.install(&mut s3); // one host parser for s3s and for the layer
//! let service = S3CorsLayer::new(cors).layer(s3.build());
//! // serve `service` with hyper (hyper_util's TowerToHyperService) or axum
//! # let _ = service; Ok(()) }
//! ```
//!
//! The layer sits *in front of* s3s's `S3Service`, which is a
//! `tower::Service`:
//!
//! - Preflights never reach s3s: they are answered before its signature
//!   check, so the preflight a browser sends before using a presigned URL
//!   (`?X-Amz-Signature=…`) is answered from the bucket's rules, as S3 does.
//! - Every other request goes to s3s, and its answer, s3s's error responses
//!   (`403 AccessDenied`, `404 NoSuchKey`) included, gets the CORS headers
//!   of the matched rule.
//! - `PutBucketCors` goes through s3s's signature check, then the route:
//!   credentials required, your `S3Access` hooks, then the admin layer
//!   stores it and the layer serves it from the next request on.
//!
//! # Why a route and a decorator
//!
//! s3s parses `PutBucketCors` into its own DTO before an `S3`
//! implementation sees it, and that parser lets through what S3 refuses
//! (an unknown element, a foreign namespace) and checks no `Content-MD5`.
//! A custom route (`s3s::route::S3Route`) sees the request after the
//! signature check with its body as sent (an `aws-chunked` body decoded, its
//! payload hash checked), so the core crate's reader decides, as in any
//! tower server. A route cannot reach `S3Access::check` (s3s 0.14 builds its
//! context privately), so [`CorsRoute`] calls your per-operation hooks
//! instead (see [`CorsRoute::access`]). Bucket creation and deletion are
//! operations s3s parses well; the decorator hooks them, forwarding every
//! other operation (which this crate does for all of the `S3` trait's
//! operations and checks in a test against the s3s sources in use).
//!
//! # Rust version
//!
//! s3s 0.14 needs Rust 1.92, newer than the core crate's MSRV (1.85); that
//! is why this glue is its own crate and the core does not depend on s3s.
//! This crate's MSRV is s3s's.

mod addressing;
mod backend;
mod decorator;
pub mod dto;
pub mod forward;
mod route;

pub use addressing::S3sAddressing;
pub use backend::BackendBuckets;
pub use decorator::CorsS3;
pub use route::CorsRoute;
