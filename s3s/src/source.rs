//! The layer's [`PolicySource`] for s3s servers: the bucket as s3s finds
//! it, then that bucket's policy.

use std::sync::Arc;

use tower_s3_cors::s3::ResourceType;
use tower_s3_cors::source::{Buckets, PolicySource, RequestHead, Resolution};

use crate::S3sAddressing;

/// Policies looked up by bucket name: what [`S3sBuckets`] asks once it has
/// found the bucket of a request.
///
/// Implemented for the core crate's [`Buckets`] (its bucket names are
/// matched ASCII-case-insensitively; s3s's default validation admits lower
/// case only), and for `Arc` and `&` of any implementation. Like
/// [`PolicySource::resolve`], these run on every request: lookups only, no
/// I/O.
pub trait BucketPolicies {
    /// The policy of `bucket` for a request on `resource`, or why there is
    /// none ([`Resolution::NotConfigured`]: the bucket has no CORS;
    /// [`Resolution::NoSuchBucket`]: it does not exist).
    fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution;

    /// Whether `bucket` has (or may have: a policy being loaded, a store
    /// that cannot tell) a policy; the layer adds `Vary` to such buckets'
    /// answers. The provided method resolves.
    fn is_bucket_configured(&self, bucket: &str) -> bool {
        match self.resolve_bucket(bucket, ResourceType::Bucket) {
            Resolution::Configured(..) | Resolution::Pending(..) | Resolution::Unavailable => true,
            Resolution::NotConfigured | Resolution::NoSuchBucket => false,
            // A resolution this crate does not know yet: `Vary` is the safe side.
            _ => true,
        }
    }
}

impl BucketPolicies for Buckets {
    fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        Buckets::resolve_bucket(self, bucket, resource)
    }

    fn is_bucket_configured(&self, bucket: &str) -> bool {
        self.get(bucket)
            .is_some_and(|handle| handle.is_configured())
    }
}

impl<T: BucketPolicies + ?Sized> BucketPolicies for Arc<T> {
    fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        (**self).resolve_bucket(bucket, resource)
    }

    fn is_bucket_configured(&self, bucket: &str) -> bool {
        (**self).is_bucket_configured(bucket)
    }
}

impl<T: BucketPolicies + ?Sized> BucketPolicies for &T {
    fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        (**self).resolve_bucket(bucket, resource)
    }

    fn is_bucket_configured(&self, bucket: &str) -> bool {
        (**self).is_bucket_configured(bucket)
    }
}

/// A [`PolicySource`] for [`S3CorsLayer`](tower_s3_cors::S3CorsLayer) in
/// front of an s3s service: finds the bucket with the service's own
/// [`S3sAddressing`], then asks `buckets` for its policy.
///
/// A request in which s3s would find no bucket (`/`, an invalid bucket name
/// or `Host`) resolves to [`Resolution::NoSuchBucket`]: a preflight gets
/// S3's `403 CORSResponse: Bucket not found`, and any other request goes to
/// s3s untouched, which answers it.
///
/// ```
/// use http::Request;
/// use s3s::host::SingleDomain;
/// use tower_s3_cors::SharedPolicy;
/// use tower_s3_cors::source::{Buckets, PolicySource, RequestHead, Resolution};
/// use tower_s3_cors_s3s::{S3sAddressing, S3sBuckets};
///
/// let buckets = Buckets::path_style(); // its own addressing is not used here
/// buckets.insert("photos", SharedPolicy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?);
/// buckets.create("private");
///
/// let addressing = S3sAddressing::virtual_hosted(SingleDomain::new("s3.example.test")?);
/// let source = S3sBuckets::new(addressing, buckets);
/// let resolve = |host: &str, uri: &str| {
///     let request = Request::get(uri).header("host", host).body(()).unwrap();
///     source.resolve(&RequestHead::new(&request))
/// };
/// assert!(matches!(resolve("photos.s3.example.test", "/cat.jpg"), Resolution::Configured(..)));
/// assert!(matches!(resolve("s3.example.test", "/photos/cat.jpg"), Resolution::Configured(..)));
/// assert!(matches!(resolve("private.s3.example.test", "/x"), Resolution::NotConfigured));
/// assert!(matches!(resolve("nope.s3.example.test", "/x"), Resolution::NoSuchBucket));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct S3sBuckets<B> {
    addressing: S3sAddressing,
    buckets: B,
}

impl<B> S3sBuckets<B> {
    /// Finds buckets with `addressing` and their policies in `buckets`.
    #[must_use]
    pub fn new(addressing: S3sAddressing, buckets: B) -> Self {
        Self {
            addressing,
            buckets,
        }
    }

    /// The addressing.
    #[must_use]
    pub fn addressing(&self) -> &S3sAddressing {
        &self.addressing
    }

    /// The per-bucket policies.
    #[must_use]
    pub fn buckets(&self) -> &B {
        &self.buckets
    }
}

impl<B: BucketPolicies> PolicySource for S3sBuckets<B> {
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
        match self.addressing.locate(request) {
            Some(located) => self
                .buckets
                .resolve_bucket(located.bucket(), located.resource()),
            None => Resolution::NoSuchBucket,
        }
    }

    fn is_configured_for(&self, request: &RequestHead<'_>) -> bool {
        self.addressing
            .locate(request)
            .is_some_and(|located| self.buckets.is_bucket_configured(located.bucket()))
    }
}
