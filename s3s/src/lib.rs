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
//!   s3s always agree on the bucket.
//! - [`S3sBuckets`]: the layer's [`PolicySource`](tower_s3_cors::source::PolicySource):
//!   that bucket, then its policy from any [`BucketPolicies`] (the core's
//!   [`Buckets`](tower_s3_cors::source::Buckets), or your store's cache).
//! - [`CorsS3`]: an `S3` decorator that answers the `?cors` operations from a
//!   [`CorsConfigs`] store, after s3s's authentication, with S3's
//!   validation, codes and messages; every other operation goes to your
//!   implementation.
//! - [`dto`]: conversions between s3s's `CORSConfiguration` and
//!   [`CorsConfiguration`](tower_s3_cors::config::CorsConfiguration), for
//!   servers that keep the configuration in their own `S3` implementation.
//!
//! # The stack
//!
//! ```no_run
//! use s3s::{auth::SimpleAuth, host::SingleDomain, service::S3ServiceBuilder};
//! use tower::Layer as _;
//! use tower_s3_cors::S3CorsLayer;
//! use tower_s3_cors::source::Buckets;
//! use tower_s3_cors_s3s::{CorsS3, S3sAddressing, S3sBuckets};
//!
//! # fn stack(backend: impl s3s::S3) -> Result<(), Box<dyn std::error::Error>> {
//! let cors = Buckets::path_style(); // in memory; add the backend's buckets at start-up
//! let addressing = S3sAddressing::virtual_hosted(SingleDomain::new("s3.example.test")?);
//! let mut s3 = S3ServiceBuilder::new(CorsS3::new(backend, cors.clone()));
//! s3.set_auth(SimpleAuth::from_single("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
//! addressing.install(&mut s3); // one host parser for s3s and for the layer
//! let service = S3CorsLayer::new(S3sBuckets::new(addressing, cors)).layer(s3.build());
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
//! - `PutBucketCors` goes through s3s like any operation: authenticated,
//!   access-checked, then stored by [`CorsS3`] and served by the layer from
//!   the next request on.
//!
//! # Why a decorator and not an `S3Route`
//!
//! s3s also offers custom routes (`s3s::route::S3Route`). They run after the
//! signature check too, but they see the raw request instead of the parsed
//! operation, skip s3s's `S3Access` hooks, and a service has only one. The
//! decorator keeps s3s's parsing, access checks and error answers; its one
//! cost is forwarding every other operation, which this crate does for all
//! of the `S3` trait's operations and checks in a test against the s3s
//! sources in use.
//!
//! # Rust version
//!
//! s3s 0.14 needs Rust 1.92, newer than the core crate's MSRV (1.85); that
//! is why this glue is its own crate and the core does not depend on s3s.
//! This crate's MSRV is s3s's.

mod addressing;
mod decorator;
pub mod dto;
pub mod forward;
mod source;

pub use addressing::{Located, S3sAddressing};
pub use decorator::{CorsConfigs, CorsS3};
pub use source::{BucketPolicies, S3sBuckets};
