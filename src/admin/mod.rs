//! S3's `?cors` sub-resource (`PutBucketCors`, `GetBucketCors`,
//! `DeleteBucketCors`) as a tower middleware, for S3-compatible servers.
//!
//! [`CorsAdminLayer`] answers `PUT`, `GET` and `DELETE` on a bucket root with
//! the `cors` query parameter (`PUT /photos?cors`) from a
//! [`SharedPolicy`](crate::SharedPolicy) or
//! a [`Buckets`](crate::source::Buckets) map, exactly as S3 answers them
//! (spec §6); every other request goes to the inner service untouched. Put
//! it *inside* [`S3CorsLayer`](crate::S3CorsLayer), so the admin answers get CORS
//! headers like any other response, and put your authentication in front of
//! it: this layer checks none.
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

mod digest;
pub mod future;
mod layer;
mod reply;
mod service;
mod target;

pub use layer::CorsAdminLayer;
pub use service::CorsAdmin;
pub use target::AdminTarget;
