//! [`AdminTarget`]: where `?cors` finds and stores documents.

use std::future::{Future, ready};
use std::pin::Pin;

use super::reply::AdminError;
use crate::config::CorsConfiguration;
use crate::s3::ResourceType;
use crate::source::{Buckets, RequestHead, SharedPolicy};

/// Where the `?cors` sub-resource reads and writes documents: one
/// [`SharedPolicy`] (the path `/` is the bucket root), a [`Buckets`] map,
/// or (feature `store`) a [`ReadThrough`](crate::source::ReadThrough)
/// source, whose writes go through its store (a store that fails gets S3's
/// `503 ServiceUnavailable`, and nothing changes).
///
/// Sealed: implemented by this crate's sources only.
pub trait AdminTarget: sealed::Target {}

impl<T: sealed::Target> AdminTarget for T {}

/// The future of a target's operation.
pub(super) type Op<T> = Pin<Box<dyn Future<Output = Result<T, AdminError>> + Send>>;

/// An operation that is done already.
fn done<T: Send + 'static>(result: Result<T, AdminError>) -> Op<T> {
    Box::pin(ready(result))
}

pub(super) mod sealed {
    use super::{CorsConfiguration, Op, RequestHead};

    /// What the admin layer asks of a target. Every operation is a future:
    /// a target backed by a store answers only once the store has.
    pub trait Target: Clone + Send + Sync + 'static {
        /// A bucket a request addresses.
        type Bucket: Send + 'static;

        /// The bucket whose root `request` addresses, or `None` when the
        /// request names an object or an unknown bucket (it then goes to
        /// the inner service).
        fn bucket_root(&self, request: &RequestHead<'_>) -> Option<Self::Bucket>;

        /// Whether `request` names an object (not the root) of a bucket the
        /// target knows: `?cors` is no sub-resource there.
        fn names_object(&self, request: &RequestHead<'_>) -> bool;

        /// The bucket's name, when the target knows it (`<BucketName>` of
        /// S3's errors).
        fn bucket_name(bucket: &Self::Bucket) -> Option<&str>;

        /// `GetBucketCors`: the configuration, if the bucket has one.
        fn get(&self, bucket: &Self::Bucket) -> Op<Option<CorsConfiguration>>;

        /// `PutBucketCors`: validates `document` and, if it is valid,
        /// replaces the bucket's configuration.
        fn put(&self, bucket: Self::Bucket, document: String) -> Op<()>;

        /// `DeleteBucketCors`.
        fn delete(&self, bucket: Self::Bucket) -> Op<()>;
    }
}

impl sealed::Target for SharedPolicy {
    type Bucket = Self;

    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<Self> {
        (ResourceType::from_key_path(request.uri().path()) == ResourceType::Bucket)
            .then(|| self.clone())
    }

    fn names_object(&self, request: &RequestHead<'_>) -> bool {
        ResourceType::from_key_path(request.uri().path()) == ResourceType::Object
    }

    fn bucket_name(_: &Self) -> Option<&str> {
        None
    }

    fn get(&self, bucket: &Self) -> Op<Option<CorsConfiguration>> {
        done(Ok(bucket.load().map(|p| p.to_configuration())))
    }

    fn put(&self, bucket: Self, document: String) -> Op<()> {
        done(
            bucket
                .store_document(&document)
                .map_err(|e| AdminError::from(&e)),
        )
    }

    fn delete(&self, bucket: Self) -> Op<()> {
        bucket.clear();
        done(Ok(()))
    }
}

impl sealed::Target for Buckets {
    type Bucket = (String, SharedPolicy);

    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<Self::Bucket> {
        let (bucket, key) = self.locate(request)?;
        if ResourceType::from_key_path(key) != ResourceType::Bucket {
            return None;
        }
        Some((bucket.to_owned(), self.get(bucket)?))
    }

    fn names_object(&self, request: &RequestHead<'_>) -> bool {
        self.locate(request).is_some_and(|(bucket, key)| {
            ResourceType::from_key_path(key) == ResourceType::Object && self.get(bucket).is_some()
        })
    }

    fn bucket_name((name, _): &Self::Bucket) -> Option<&str> {
        Some(name)
    }

    fn get(&self, (_, handle): &Self::Bucket) -> Op<Option<CorsConfiguration>> {
        sealed::Target::get(handle, handle)
    }

    fn put(&self, (_, handle): Self::Bucket, document: String) -> Op<()> {
        sealed::Target::put(&handle.clone(), handle, document)
    }

    fn delete(&self, (_, handle): Self::Bucket) -> Op<()> {
        sealed::Target::delete(&handle.clone(), handle)
    }
}

#[cfg(feature = "store")]
mod read_through {
    use super::{AdminError, CorsConfiguration, Op, RequestHead, ResourceType, sealed};
    use crate::source::{ReadThrough, ReadThroughError, ReadThroughErrorKind};
    use crate::store::StoreErrorKind;

    /// S3's answer when the store fails: `404 NoSuchBucket` if it knows the
    /// bucket does not exist, `503` otherwise; `write`: whether a document
    /// was being written (its refusal is the document's error).
    fn answer(error: &ReadThroughError, write: bool) -> AdminError {
        match (error.kind(), error.config_error()) {
            (ReadThroughErrorKind::Document, Some(config)) if write => AdminError::from(config),
            (ReadThroughErrorKind::Document, _) => AdminError::internal(),
            (ReadThroughErrorKind::Store, _)
                if error.store_kind() == Some(StoreErrorKind::NoSuchBucket) =>
            {
                AdminError::no_such_bucket()
            }
            (ReadThroughErrorKind::Store | ReadThroughErrorKind::Timeout, _) => {
                AdminError::unavailable()
            }
        }
    }

    /// Writes go through the store, then this instance's cache.
    impl sealed::Target for ReadThrough {
        type Bucket = String;

        fn bucket_root(&self, request: &RequestHead<'_>) -> Option<String> {
            let (bucket, key) = self.locate(request)?;
            (ResourceType::from_key_path(key) == ResourceType::Bucket)
                .then(|| bucket.to_ascii_lowercase())
        }

        /// Whether the bucket exists is the store's to say, later: every
        /// object path of a bucket this source locates counts.
        fn names_object(&self, request: &RequestHead<'_>) -> bool {
            self.locate(request)
                .is_some_and(|(_, key)| ResourceType::from_key_path(key) == ResourceType::Object)
        }

        fn bucket_name(bucket: &String) -> Option<&str> {
            Some(bucket)
        }

        fn get(&self, bucket: &String) -> Op<Option<CorsConfiguration>> {
            let (source, bucket) = (self.clone(), bucket.clone());
            Box::pin(async move {
                source
                    .configuration(&bucket)
                    .await
                    .map_err(|e| answer(&e, false))
            })
        }

        fn put(&self, bucket: String, document: String) -> Op<()> {
            let source = self.clone();
            Box::pin(async move {
                source
                    .put_document(&bucket, &document)
                    .await
                    .map(drop)
                    .map_err(|e| answer(&e, true))
            })
        }

        fn delete(&self, bucket: String) -> Op<()> {
            let source = self.clone();
            Box::pin(async move {
                source
                    .delete_document(&bucket)
                    .await
                    .map(drop)
                    .map_err(|e| answer(&e, false))
            })
        }
    }
}
