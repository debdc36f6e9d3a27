//! [`Buckets`]: one [`SharedPolicy`] per bucket.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use papaya::{Compute, Operation};

use super::{
    Addressing, BucketCors, BucketError, BucketPolicy, Locate, Located, RequestHead, Resolution,
    SharedPolicy, bucket_name,
};
use crate::config::CorsConfiguration;
use crate::policy::Policy;

/// One [`SharedPolicy`] per bucket, for S3-compatible servers.
///
/// The bucket comes from the path (`/{bucket}/{key}`, [`Buckets::path_style`])
/// or from the host (`{bucket}.{base domain}`, [`Buckets::virtual_hosted`],
/// which also takes path-style requests to the base domain itself). Buckets
/// are added and removed at run time, each in constant time whatever the
/// number of buckets (a concurrent hash map, `papaya`); lookups take no
/// lock and allocate nothing.
///
/// A bucket that is not in the map resolves to
/// [`BucketPolicy::NoSuchBucket`]; a bucket without CORS to
/// [`BucketPolicy::NotConfigured`]. Through [`BucketCors`], `?cors` writes
/// to a bucket that is not in the map are refused with `NoSuchBucket`;
/// [`bucket_created`](BucketCors::bucket_created) and
/// [`bucket_deleted`](BucketCors::bucket_deleted) add and remove buckets.
/// A bucket's shadow ([`BucketCors::put_shadow_document`]) is kept in its
/// handle: buckets that share a handle share its shadow.
///
/// ```
/// use tower_s3_cors::source::{BucketCors, BucketPolicy, Buckets, Resolution};
///
/// let buckets = Buckets::path_style();
/// let photos = buckets.create("photos");
/// photos.put_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
/// buckets.create("private"); // no CORS
///
/// assert!(matches!(buckets.resolve("photos"), Resolution::Ready(BucketPolicy::Configured(_))));
/// assert!(matches!(buckets.resolve("private"), Resolution::Ready(BucketPolicy::NotConfigured)));
/// assert!(matches!(buckets.resolve("nope"), Resolution::Ready(BucketPolicy::NoSuchBucket)));
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Buckets {
    inner: Arc<BucketsInner>,
}

struct BucketsInner {
    addressing: Addressing,
    /// Bucket name (lower case) → its policy handle; `None` for a bucket
    /// that was removed. A removal marks the entry instead of taking it out
    /// of the table: the hash table does not reuse the slots of removed
    /// entries, so removing and adding one name again and again would fill
    /// its probe sequence and rebuild the whole table every few times.
    /// Marked entries are purged once they outnumber the live ones.
    map: papaya::HashMap<Box<str>, Option<SharedPolicy>>,
    /// How many entries are marked removed.
    removed: AtomicUsize,
}

impl Buckets {
    /// Buckets addressed path-style: `/{bucket}` or `/{bucket}/` is the
    /// bucket root, `/{bucket}/{key}` an object.
    #[must_use]
    pub fn path_style() -> Self {
        Self::with_addressing(Addressing::path_style())
    }

    /// Buckets addressed virtual-host-style: the `Host` header (or the URI's
    /// authority) is `{bucket}.{base_domain}`, with an optional port; the
    /// path `/` is the bucket root. A request whose host is `base_domain`
    /// itself is read path-style.
    ///
    /// ```
    /// use http::Request;
    /// use tower_s3_cors::source::{BucketCors, Buckets, RequestHead};
    ///
    /// let buckets = Buckets::virtual_hosted("s3.example.test");
    /// let request = Request::get("/a.png").header("host", "Media.S3.example.test:9000").body(())?;
    /// assert_eq!(buckets.locate(&RequestHead::new(&request)).unwrap().bucket(), "media");
    /// let request = Request::get("/media/a.png").header("host", "s3.example.test").body(())?;
    /// assert_eq!(buckets.locate(&RequestHead::new(&request)).unwrap().bucket(), "media");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn virtual_hosted(base_domain: impl Into<String>) -> Self {
        Self::with_addressing(Addressing::virtual_hosted(base_domain))
    }

    /// Buckets located with `addressing` (an [`Addressing`], or anything
    /// that converts into one, such as the s3s glue's addressing).
    #[must_use]
    pub fn with_addressing(addressing: impl Into<Addressing>) -> Self {
        let addressing = addressing.into();
        Self {
            inner: Arc::new(BucketsInner {
                addressing,
                // Resizes block writers (a miss, an insert) rather than proceed
                // chunk by chunk with later writes: a map being resized incrementally
                // makes every read search two tables until enough writes finish it, and
                // these maps are read far more than written (measured: a hit at 1 M
                // buckets took 1.48 µs instead of 90 ns after a burst of inserts).
                map: papaya::HashMap::builder()
                    .resize_mode(papaya::ResizeMode::Blocking)
                    .build(),
                removed: AtomicUsize::new(0),
            }),
        }
    }

    /// Adds (or replaces) a bucket served by `policy`; returns the handle it
    /// replaced. The bucket name is matched ASCII-case-insensitively.
    ///
    /// ```
    /// use tower_s3_cors::SharedPolicy;
    /// use tower_s3_cors::source::Buckets;
    ///
    /// let buckets = Buckets::path_style();
    /// let shared = SharedPolicy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// // Two buckets served by one policy handle: a store on it changes both.
    /// assert!(buckets.insert("Photos", shared.clone()).is_none());
    /// assert!(buckets.insert("videos", shared).is_none());
    /// assert_eq!(buckets.names(), ["photos", "videos"]);
    /// assert!(buckets.remove("PHOTOS").is_some());
    /// assert!(buckets.get("photos").is_none());
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    #[allow(clippy::must_use_candidate)]
    pub fn insert(&self, bucket: &str, policy: SharedPolicy) -> Option<SharedPolicy> {
        let name: Box<str> = key(bucket).into();
        match self.inner.map.pin().insert(name, Some(policy)) {
            Some(Some(replaced)) => Some(replaced.clone()),
            Some(None) => {
                self.inner.removed.fetch_sub(1, Ordering::Relaxed);
                None
            }
            None => None,
        }
    }

    /// The handle of `bucket`, creating the bucket (without CORS) if it does
    /// not exist.
    #[allow(clippy::must_use_candidate)]
    pub fn create(&self, bucket: &str) -> SharedPolicy {
        if let Some(existing) = self.get(bucket) {
            return existing;
        }
        let fresh = SharedPolicy::empty();
        let map = self.inner.map.pin();
        let outcome = map.compute(key(bucket).into(), |current| match current {
            Some((_, Some(existing))) => Operation::Abort(existing.clone()),
            Some((_, None)) | None => Operation::Insert(Some(fresh.clone())),
        });
        match outcome {
            Compute::Aborted(existing) => existing,
            Compute::Updated { .. } => {
                // It took the place of a removed bucket.
                self.inner.removed.fetch_sub(1, Ordering::Relaxed);
                fresh
            }
            Compute::Inserted(..) | Compute::Removed(..) => fresh,
        }
    }

    /// Removes a bucket; it then resolves to [`BucketPolicy::NoSuchBucket`].
    #[allow(clippy::must_use_candidate)]
    pub fn remove(&self, bucket: &str) -> Option<SharedPolicy> {
        let map = self.inner.map.pin();
        let outcome = map.compute(key(bucket).into(), |current| match current {
            Some((_, Some(_))) => Operation::Insert(None),
            Some((_, None)) | None => Operation::Abort(()),
        });
        let removed = match outcome {
            Compute::Updated { old: (_, old), .. } => old.clone(),
            Compute::Aborted(()) | Compute::Inserted(..) | Compute::Removed(..) => return None,
        };
        let marked = self.inner.removed.fetch_add(1, Ordering::Relaxed) + 1;
        if marked > 1024 && marked > map.len() / 2 {
            // More removed than live: take them out of the table for good.
            self.inner.removed.store(0, Ordering::Relaxed);
            map.retain(|_, handle| handle.is_some());
        }
        removed
    }

    /// The policy handle of a bucket, if it exists.
    #[must_use]
    pub fn get(&self, bucket: &str) -> Option<SharedPolicy> {
        self.with_bucket(bucket, SharedPolicy::clone)
    }

    /// `f` applied to the handle of `bucket`, if it exists, without cloning
    /// the handle.
    #[inline]
    fn with_bucket<T>(&self, bucket: &str, f: impl FnOnce(&SharedPolicy) -> T) -> Option<T> {
        self.inner
            .map
            .pin()
            .get(&*key(bucket))
            .and_then(Option::as_ref)
            .map(f)
    }

    /// The number of buckets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner
            .map
            .len()
            .saturating_sub(self.inner.removed.load(Ordering::Relaxed))
    }

    /// Whether there is no bucket.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of all buckets, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .map
            .pin()
            .iter()
            .filter(|(_, handle)| handle.is_some())
            .map(|(name, _)| name.to_string())
            .collect();
        names.sort();
        names
    }

    /// Whether `bucket` exists.
    #[must_use]
    pub fn contains(&self, bucket: &str) -> bool {
        self.with_bucket(bucket, |_| ()).is_some()
    }

    /// How requests name their buckets.
    #[must_use]
    pub fn addressing(&self) -> &Addressing {
        &self.inner.addressing
    }

    /// The handle of `bucket`, or `NoSuchBucket`.
    fn existing(&self, bucket: &str) -> Result<SharedPolicy, BucketError> {
        self.get(bucket).ok_or_else(BucketError::no_such_bucket)
    }
}

/// The map key of a bucket name.
#[inline]
fn key(bucket: &str) -> Cow<'_, str> {
    bucket_name(Cow::Borrowed(bucket))
}

impl BucketCors for Buckets {
    #[inline]
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        self.inner.addressing.locate(request)
    }

    fn resolve(&self, bucket: &str) -> Resolution {
        self.with_bucket(bucket, SharedPolicy::resolution)
            .unwrap_or(Resolution::Ready(BucketPolicy::NoSuchBucket))
    }

    /// Looks, without cloning the bucket's handle or taking its policy.
    fn is_configured(&self, bucket: &str) -> bool {
        self.with_bucket(bucket, SharedPolicy::is_configured) == Some(true)
    }

    fn get_document(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<CorsConfiguration>, BucketError>> + Send {
        ready(
            self.existing(bucket)
                .map(|handle| handle.load().map(|policy| policy.to_configuration())),
        )
    }

    fn put_document(
        &self,
        bucket: &str,
        document: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send {
        ready(
            self.existing(bucket)
                .and_then(|handle| handle.put_document(document).map_err(BucketError::document)),
        )
    }

    fn delete_document(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send {
        ready(self.existing(bucket).map(|handle| {
            handle.delete_document();
        }))
    }

    /// Sets the shadow of the bucket's handle (buckets that share one
    /// handle share its shadow).
    fn put_shadow_document(&self, bucket: &str, document: &str) -> Result<(), BucketError> {
        self.existing(bucket).and_then(|handle| {
            handle
                .put_shadow_document(document)
                .map_err(BucketError::document)
        })
    }

    fn delete_shadow(&self, bucket: &str) -> Result<(), BucketError> {
        self.existing(bucket).map(|handle| {
            handle.delete_shadow();
        })
    }

    fn shadow(&self, bucket: &str) -> Option<Policy> {
        self.with_bucket(bucket, SharedPolicy::shadow).flatten()
    }

    /// Adds the bucket without CORS (with a handle of its own, whatever it
    /// had before, and so without a shadow).
    fn bucket_created(&self, bucket: &str) -> impl Future<Output = Result<(), BucketError>> + Send {
        self.insert(bucket, SharedPolicy::empty());
        ready(Ok(()))
    }

    /// Removes the bucket: its preflights then get "Bucket not found".
    fn bucket_deleted(&self, bucket: &str) -> impl Future<Output = Result<(), BucketError>> + Send {
        self.remove(bucket);
        ready(Ok(()))
    }
}

impl fmt::Debug for Buckets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buckets")
            .field("addressing", &self.inner.addressing)
            .field("buckets", &self.names())
            .finish()
    }
}
