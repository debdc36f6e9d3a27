//! [`BackendBuckets`]: which buckets exist, asked of the s3s backend.

use std::fmt;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Method, Uri};
use s3s::dto::HeadBucketInput;
use s3s::{S3, S3ErrorCode, S3Request};
use tower_s3_cors::source::BucketError;
use tower_s3_cors::store::BucketExists;

/// Whether a bucket exists, asked of an s3s backend with its own
/// `HeadBucket`: give it to a read-through source
/// (`ReadThrough::builder(store).bucket_exists(BackendBuckets::new(backend))`)
/// and bucket existence is never kept in a second list. A bucket the
/// backend creates by any path (`CreateBucket`, an implicit create, a
/// directory made by hand) has CORS operations at once; preflights see it
/// once the source's "no such bucket" entry expires.
///
/// The backend is asked without credentials (it is the server asking, not
/// a client): `404 NoSuchBucket` means the bucket does not exist,
/// `NotImplemented` that the backend cannot tell (the bucket is taken to
/// exist), any other error that the backend is unavailable.
///
/// ```
/// use std::sync::Arc;
/// use tower_s3_cors::source::ReadThrough;
/// use tower_s3_cors::store::MemoryStore;
/// use tower_s3_cors_s3s::{BackendBuckets, CorsS3};
///
/// # #[derive(Debug)] struct Backend;
/// # #[async_trait::async_trait] impl s3s::S3 for Backend {}
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = Arc::new(Backend);
/// let cors = ReadThrough::builder(MemoryStore::new())
///     .bucket_exists(BackendBuckets::new(Arc::clone(&backend)))
///     .build()?;
/// let s3 = CorsS3::from_arc(backend, cors.clone()); // the same backend serves the requests
/// # let _ = s3;
/// # Ok(())
/// # }
/// ```
pub struct BackendBuckets<S> {
    backend: Arc<S>,
}

impl<S> BackendBuckets<S> {
    /// Asks `backend` (shared with the [`CorsS3`](crate::CorsS3) that serves
    /// it: [`CorsS3::from_arc`](crate::CorsS3::from_arc)).
    #[must_use]
    pub fn new(backend: Arc<S>) -> Self {
        Self { backend }
    }
}

impl<S> Clone for BackendBuckets<S> {
    fn clone(&self) -> Self {
        Self {
            backend: Arc::clone(&self.backend),
        }
    }
}

impl<S> fmt::Debug for BackendBuckets<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendBuckets").finish_non_exhaustive()
    }
}

impl<S: S3> BucketExists for BackendBuckets<S> {
    async fn exists(&self, bucket: &str) -> Result<bool, BucketError> {
        let request = S3Request {
            input: HeadBucketInput {
                bucket: bucket.to_owned(),
                expected_bucket_owner: None,
            },
            method: Method::HEAD,
            uri: Uri::builder()
                .path_and_query(format!("/{bucket}"))
                .build()
                .unwrap_or_default(),
            headers: HeaderMap::new(),
            extensions: Extensions::new(),
            credentials: None,
            region: None,
            service: None,
            trailing_headers: None,
        };
        match self.backend.head_bucket(request).await {
            Ok(_) => Ok(true),
            Err(error) if *error.code() == S3ErrorCode::NoSuchBucket => Ok(false),
            Err(error) if *error.code() == S3ErrorCode::NotImplemented => Ok(true),
            Err(error) => Err(
                BucketError::unavailable(error.to_string()).with_context(format!(
                    "asking the backend whether bucket {bucket:?} exists"
                )),
            ),
        }
    }
}
