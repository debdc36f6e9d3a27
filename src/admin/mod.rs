//! S3's `?cors` sub-resource (`PutBucketCors`, `GetBucketCors`,
//! `DeleteBucketCors`) as a tower middleware, for S3-compatible servers.
//!
//! [`CorsAdminLayer`] answers `PUT`, `GET` and `DELETE` on a bucket root with
//! the `cors` query parameter (`PUT /photos?cors`) through the write side of
//! any [`BucketCors`](crate::source::BucketCors) source (a
//! [`SharedPolicy`](crate::SharedPolicy), a
//! [`Buckets`](crate::source::Buckets) map, a read-through cache over a
//! store, or your own), exactly as S3 answers them (see
//! `docs/s3-behaviour.md`, §6); every other request goes to the inner
//! service untouched. The source's errors become S3's answers: a store
//! that fails gets `503 ServiceUnavailable`, a bucket that does not exist
//! `404 NoSuchBucket`, and nothing changes. Put
//! it *inside* [`S3CorsLayer`](crate::S3CorsLayer), so the admin answers get CORS
//! headers like any other response, and put your authentication in front of
//! it: this layer checks none.
//!
//! What a `PUT ?cors` must be, checked as S3 checks it:
//!
//! - **Size.** A declared `Content-Length` (or a body size hint) over 64 KiB
//!   is refused at once with `400 MalformedXML`, before any of the body is
//!   polled, so hyper never grants `100 Continue` to it; a body that grows
//!   past 64 KiB while read is refused there.
//! - **Digests.** `Content-MD5` (`BadDigest`, `InvalidDigest`) and S3's five
//!   `x-amz-checksum-*` headers (CRC32, CRC32C, CRC64NVME, SHA1, SHA256):
//!   a mismatch is `400 BadDigest` "The CRC32 you specified did not match
//!   the calculated checksum.", a value that is not the base64 of a
//!   checksum of the right length `400 InvalidRequest` "Value for
//!   x-amz-checksum-crc32 header is invalid.", two checksums
//!   `400 InvalidRequest`. Both `Content-MD5` and a checksum are checked
//!   when both are sent. Without either, `400 InvalidRequest` (unless
//!   [`require_content_md5(false)`](CorsAdminLayer::require_content_md5)).
//! - **Time.** A body that stops arriving for
//!   [`body_timeout`](CorsAdminLayer::body_timeout) (20 seconds by default)
//!   gets S3's `400 RequestTimeout`.
//! - **A body that breaks off** is `400 IncompleteBody`: with S3's message
//!   about `Content-Length` when the request declared one, and one about
//!   the chunked coding or the connection when it did not.
//!
//! `?cors` is a bucket sub-resource. On an object path
//! (`PUT /photos/cat.jpg?cors`), `PUT`, `DELETE` and `POST` get S3's
//! `405 MethodNotAllowed` (`<ResourceType>OBJECT</ResourceType>`) and never
//! reach the inner service, so a misdirected `PutBucketCors` neither stores
//! the document as an object nor deletes one; `GET` and `HEAD` go on to the
//! inner service, since `?cors` is a common cache-busting query on object
//! URLs, and so does every request for a bucket the source knows does not
//! exist (the inner service answers `NoSuchBucket`). What S3 does there is
//! not recorded; this is our choice.
//!
//! ```
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_s3_cors::S3CorsLayer;
//! use tower_s3_cors::admin::CorsAdminLayer;
//! use tower_s3_cors::source::Buckets;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let buckets = Buckets::path_style();
//! buckets.create("photos");
//! let service = ServiceBuilder::new()
//!     .layer(S3CorsLayer::new(buckets.clone()))
//!     .layer(CorsAdminLayer::new(buckets.clone()))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//!     }));
//!
//! let document = r#"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>
//!     <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"#;
//! let put = Request::put("/photos?cors")
//!     .header("content-md5", "7KHwbz2XwP6OY3u5j3A7eQ==") // base64 of the body's MD5
//!     .body(document.to_owned())?;
//! let response = service.clone().oneshot(put).await?;
//! assert_eq!(response.status(), 200);
//! assert!(buckets.get("photos").unwrap().is_configured());
//!
//! let delete = Request::delete("/photos?cors").body(String::new())?;
//! assert_eq!(service.oneshot(delete).await?.status(), 204);
//! assert!(!buckets.get("photos").unwrap().is_configured());
//! # Ok(())
//! # }
//! ```

mod checksum;
mod digest;
pub mod future;
mod layer;
mod limits;
mod linger;
mod reply;
mod service;
mod timer;

pub use layer::CorsAdminLayer;
pub use limits::DEFAULT_BODY_TIMEOUT;
pub use linger::{DEFAULT_LINGER_BYTES, DEFAULT_LINGER_TIME};

pub use service::CorsAdmin;
