//! [`BucketExists`]: whether a bucket exists, as the server knows it.

use std::future::{Future, ready};

use crate::source::BucketError;

/// Whether a bucket exists, for a [`ReadThrough`](crate::source::ReadThrough)
/// whose buckets live elsewhere than their CORS documents (a directory of
/// documents, etcd): asked before a bucket's document is read or written
/// ([`ReadThroughBuilder::bucket_exists`](crate::source::ReadThroughBuilder::bucket_exists)).
///
/// Implemented for closures `Fn(&str) -> bool` (a lookup that needs no
/// I/O, or cheap I/O); implement it for a backend that must be asked
/// asynchronously (the s3s glue does, with the backend's `HeadBucket`).
/// Each answer is bounded by the source's load timeout.
///
/// ```
/// use std::path::PathBuf;
/// use tower_s3_cors::source::ReadThrough;
/// use tower_s3_cors::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let root = PathBuf::from("/srv/buckets");
/// let cors = ReadThrough::builder(MemoryStore::new())
///     .bucket_exists(move |bucket: &str| root.join(bucket).is_dir())
///     .build()?;
/// # let _ = cors;
/// # Ok(())
/// # }
/// ```
pub trait BucketExists: Send + Sync + 'static {
    /// Whether `bucket` exists.
    ///
    /// # Errors
    ///
    /// When the backend cannot tell now
    /// ([`BucketError::unavailable`](crate::source::BucketError::unavailable)).
    fn exists(&self, bucket: &str) -> impl Future<Output = Result<bool, BucketError>> + Send;
}

impl<F> BucketExists for F
where
    F: Fn(&str) -> bool + Send + Sync + 'static,
{
    fn exists(&self, bucket: &str) -> impl Future<Output = Result<bool, BucketError>> + Send {
        ready(Ok(self(bucket)))
    }
}
