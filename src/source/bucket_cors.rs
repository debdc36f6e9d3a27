//! [`BucketCors`]: the CORS of buckets, the one trait the layer, the `?cors`
//! layer and the s3s glue ask.

use std::future::{Future, ready};

use super::locate::key_of;
use super::{BucketError, BucketPolicy, Located, RequestHead, Resolution};
use crate::config::CorsConfiguration;
use crate::policy::Policy;

/// The CORS of buckets: where a request's bucket is ([`locate`]), what its
/// policy is ([`resolve`], on the request path), and its document
/// ([`get_document`], [`put_document`], [`delete_document`], for S3's
/// `?cors` API).
///
/// One trait, several keepers: [`SharedPolicy`](super::SharedPolicy) (the
/// whole service is one bucket), [`Buckets`](super::Buckets) (many, in
/// memory), [`ReadThrough`](super::ReadThrough) (feature `store`: many,
/// cached from a [store](crate::store)), and a fixed
/// [`Policy`](crate::Policy). Hand the same value to
/// [`S3CorsLayer`](crate::S3CorsLayer), to the `?cors` layer
/// (`admin::CorsAdminLayer`) and to the s3s glue; implement the trait to keep
/// bucket CORS anywhere else.
///
/// - **Read side** ([`locate`], [`resolve`], [`is_configured`]): runs on
///   every request, synchronously: lookups only, no I/O, no locks. A source
///   that must load a policy answers [`Resolution::Pending`] and completes
///   the load on its own time.
/// - **Shadows** ([`put_shadow_document`], [`delete_shadow`], [`shadow`]):
///   a candidate document kept beside a bucket's live one, in this process
///   only, and answered by [`resolve`] with the live policy
///   ([`Resolution::Shadowed`]). The layer evaluates it on the same
///   requests and counts and logs where it would answer otherwise; the
///   answer is always the live one. Synchronous, since a shadow is never
///   stored: the provided methods keep none (a write is refused as
///   [read-only](BucketError::is_read_only)).
/// - **Write side** ([`get_document`], [`put_document`],
///   [`delete_document`], and the bucket's life, [`bucket_created`] and
///   [`bucket_deleted`]): futures, since a store may have to answer first.
///   Every error is a [`BucketError`], which knows S3's answer. The
///   provided methods make a read-only source: its documents cannot be
///   written (`501 NotImplemented`), and the bucket's life changes nothing.
///
/// `Clone` must be cheap (a handle): the layers clone the source into every
/// service they build and into the futures of `?cors` requests.
///
/// Bucket names reach [`resolve`] and the write side as [`Located`] gives
/// them: in ASCII lower case.
///
/// ```
/// use std::future::Future;
/// use tower_s3_cors::Policy;
/// use tower_s3_cors::source::{BucketCors, BucketPolicy, Located, RequestHead, Resolution};
///
/// /// CORS only under /public: one bucket, "public"; the rest has none.
/// #[derive(Clone)]
/// struct PublicOnly(Policy);
///
/// impl BucketCors for PublicOnly {
///     fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
///         let path = request.uri().path();
///         Some(match path.strip_prefix("/public") {
///             Some(rest) => Located::new("public", rest.trim_start_matches('/')),
///             None => Located::new("other", path.trim_start_matches('/')),
///         })
///     }
///
///     fn resolve(&self, bucket: &str) -> Resolution {
///         Resolution::Ready(match bucket {
///             "public" => BucketPolicy::Configured(self.0.clone()),
///             _ => BucketPolicy::NotConfigured,
///         })
///     }
/// }
///
/// let source = PublicOnly(Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?);
/// let request = http::Request::get("/private/x").body(())?;
/// let located = source.locate(&RequestHead::new(&request)).unwrap();
/// assert!(matches!(source.resolve(located.bucket()), Resolution::Ready(BucketPolicy::NotConfigured)));
/// assert!(source.is_configured("public"));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
///
/// [`locate`]: Self::locate
/// [`resolve`]: Self::resolve
/// [`is_configured`]: Self::is_configured
/// [`get_document`]: Self::get_document
/// [`put_document`]: Self::put_document
/// [`delete_document`]: Self::delete_document
/// [`bucket_created`]: Self::bucket_created
/// [`bucket_deleted`]: Self::bucket_deleted
/// [`put_shadow_document`]: Self::put_shadow_document
/// [`delete_shadow`]: Self::delete_shadow
/// [`shadow`]: Self::shadow
pub trait BucketCors: Clone + Send + Sync + 'static {
    /// The bucket `request` is for, or `None` when it names none (the layer
    /// then treats it as a bucket that does not exist).
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>>;

    /// The policy of `bucket`, or why there is none, or the load to wait
    /// for.
    fn resolve(&self, bucket: &str) -> Resolution;

    /// Whether `bucket` has (or may have: a load in progress, a store that
    /// cannot tell) a policy. The layer asks this, instead of resolving,
    /// for requests without `Origin`, which only need to know whether to
    /// add `Vary`: a source that can answer without taking a policy handle
    /// saves that work on the most common kind of request. The provided
    /// method resolves.
    fn is_configured(&self, bucket: &str) -> bool {
        match self.resolve(bucket) {
            Resolution::Ready(policy) | Resolution::Shadowed(policy, _) => policy.may_apply(),
            Resolution::Pending(_) => true,
        }
    }

    /// Whether the bucket `request` is for is configured
    /// ([`is_configured`](Self::is_configured)); `false` when the request
    /// names no bucket. The layer's one question for a request without
    /// `Origin` in the default [`VaryMode`](crate::VaryMode). The provided
    /// method locates the request, then asks `is_configured`; a source that
    /// is one bucket for the whole service answers without locating.
    fn is_configured_for(&self, request: &RequestHead<'_>) -> bool {
        self.locate(request)
            .is_some_and(|located| self.is_configured(located.bucket()))
    }

    /// `GetBucketCors`: the bucket's configuration, or `None` when it has
    /// none.
    ///
    /// # Errors
    ///
    /// A bucket that [does not exist](BucketError::is_no_such_bucket),
    /// a store's error; the provided method answers
    /// [read-only](BucketError::is_read_only).
    fn get_document(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<CorsConfiguration>, BucketError>> + Send {
        let _ = bucket;
        ready(Err(BucketError::read_only()))
    }

    /// `PutBucketCors`: validates `document` (S3's XML or either JSON
    /// shape) as S3 does and, if it is valid, replaces the bucket's
    /// configuration; requests that start after the future completes see
    /// it.
    ///
    /// # Errors
    ///
    /// A [document](BucketError::is_document) error for a document S3
    /// would refuse (nothing changes), and as for
    /// [`get_document`](Self::get_document).
    fn put_document(
        &self,
        bucket: &str,
        document: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send {
        let _ = (bucket, document);
        ready(Err(BucketError::read_only()))
    }

    /// `DeleteBucketCors`: the bucket has no CORS configuration any more.
    /// Deleting none succeeds.
    ///
    /// # Errors
    ///
    /// As for [`get_document`](Self::get_document).
    fn delete_document(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send {
        let _ = bucket;
        ready(Err(BucketError::read_only()))
    }

    /// Sets `bucket`'s shadow: `document` (S3's XML or either JSON shape),
    /// validated as the bucket's own documents are, is evaluated beside the
    /// live policy on every CORS request of the bucket from now on, and
    /// replaces the shadow it had. The live policy does not change, and
    /// the answers do not either. Shadows live in this process's memory
    /// (not in a store): each instance of a fleet has its own.
    ///
    /// To promote a shadow, [`put_document`](Self::put_document) the same
    /// document (`PUT ?cors`), then [`delete_shadow`](Self::delete_shadow).
    ///
    /// # Errors
    ///
    /// A [document](BucketError::is_document) error with the document's
    /// [`ConfigError`](crate::ConfigError) for a document S3 would refuse
    /// (nothing changes, the live policy least of all); a bucket that
    /// [does not exist](BucketError::is_no_such_bucket) where the source
    /// can tell at once; the provided method answers
    /// [read-only](BucketError::is_read_only).
    fn put_shadow_document(&self, bucket: &str, document: &str) -> Result<(), BucketError> {
        let _ = (bucket, document);
        Err(BucketError::read_only())
    }

    /// Removes `bucket`'s shadow, if it has one; its requests are then
    /// evaluated by the live policy alone.
    ///
    /// # Errors
    ///
    /// As for [`put_shadow_document`](Self::put_shadow_document).
    fn delete_shadow(&self, bucket: &str) -> Result<(), BucketError> {
        let _ = bucket;
        Err(BucketError::read_only())
    }

    /// `bucket`'s shadow, if it has one. The provided method has none.
    fn shadow(&self, bucket: &str) -> Option<Policy> {
        let _ = bucket;
        None
    }

    /// The server has just created `bucket`: it exists, without CORS (S3
    /// keeps no configuration across a delete and a re-create). The
    /// provided method does nothing.
    ///
    /// # Errors
    ///
    /// A store's error.
    fn bucket_created(&self, bucket: &str) -> impl Future<Output = Result<(), BucketError>> + Send {
        let _ = bucket;
        ready(Ok(()))
    }

    /// The server has just deleted `bucket`: it does not exist any more,
    /// and its configuration goes with it. The provided method does
    /// nothing.
    ///
    /// # Errors
    ///
    /// A store's error (the bucket is gone all the same: preflights for it
    /// get "Bucket not found" from then on).
    fn bucket_deleted(&self, bucket: &str) -> impl Future<Output = Result<(), BucketError>> + Send {
        let _ = bucket;
        ready(Ok(()))
    }
}

/// Where a source that is one bucket for the whole service (a
/// [`SharedPolicy`](super::SharedPolicy), a [`Policy`](crate::Policy))
/// locates a request: the bucket without a name, whose root is the path `/`.
#[inline]
pub(crate) fn whole_service<'a>(request: &RequestHead<'a>) -> Located<'a> {
    Located::new("", key_of(request.uri().path()))
}

/// A fixed policy: one bucket for the whole service, always configured;
/// `GetBucketCors` gives its configuration, and it cannot be written.
impl BucketCors for Policy {
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        Some(whole_service(request))
    }

    fn resolve(&self, _bucket: &str) -> Resolution {
        Resolution::Ready(BucketPolicy::Configured(self.clone()))
    }

    fn is_configured(&self, _bucket: &str) -> bool {
        true
    }

    fn is_configured_for(&self, _request: &RequestHead<'_>) -> bool {
        true
    }

    fn get_document(
        &self,
        _bucket: &str,
    ) -> impl Future<Output = Result<Option<CorsConfiguration>, BucketError>> + Send {
        ready(Ok(Some(self.to_configuration())))
    }
}
