//! [`AdminTarget`]: where `?cors` finds and stores documents.

use crate::s3::ResourceType;
use crate::source::{Buckets, RequestHead, SharedPolicy};

/// Where the `?cors` sub-resource stores documents: one [`SharedPolicy`]
/// (the path `/` is the bucket root), or a [`Buckets`] map.
///
/// Sealed: implemented for [`SharedPolicy`] and [`Buckets`].
pub trait AdminTarget: sealed::Sealed {
    /// The bucket (its name, when known, and its policy handle) that a
    /// request to a bucket root addresses, or `None` when the request names
    /// an object or an unknown bucket.
    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<(Option<String>, SharedPolicy)>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::SharedPolicy {}
    impl Sealed for crate::source::Buckets {}
}

impl AdminTarget for SharedPolicy {
    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<(Option<String>, SharedPolicy)> {
        (ResourceType::from_key_path(request.uri().path()) == ResourceType::Bucket)
            .then(|| (None, self.clone()))
    }
}

impl AdminTarget for Buckets {
    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<(Option<String>, SharedPolicy)> {
        let (bucket, key) = self.locate(request)?;
        if ResourceType::from_key_path(key) != ResourceType::Bucket {
            return None;
        }
        Some((Some(bucket.to_owned()), self.get(bucket)?))
    }
}
