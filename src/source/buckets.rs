//! [`Buckets`]: one [`SharedPolicy`] per bucket.

use std::fmt;
use std::sync::Arc;

use super::addressing::lower_case;
use super::{Addressing, PolicySource, RequestHead, Resolution, SharedPolicy};
use crate::s3::ResourceType;

/// One [`SharedPolicy`] per bucket, for S3-compatible servers.
///
/// The bucket comes from the path (`/{bucket}/{key}`, [`Buckets::path_style`])
/// or from the host (`{bucket}.{base domain}`, [`Buckets::virtual_hosted`],
/// which also takes path-style requests to the base domain itself). Buckets
/// are added and removed at run time, each in constant time whatever the
/// number of buckets (a concurrent hash map, `papaya`); lookups take no
/// lock and allocate nothing.
///
/// A request for a bucket that is not in the map resolves to
/// [`Resolution::NoSuchBucket`]; a bucket without CORS to
/// [`Resolution::NotConfigured`].
///
/// ```
/// use http::Request;
/// use tower_s3_cors::s3::ResourceType;
/// use tower_s3_cors::source::{Buckets, PolicySource, RequestHead, Resolution};
///
/// let buckets = Buckets::path_style();
/// let photos = buckets.create("photos");
/// photos.store_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
/// buckets.create("private"); // no CORS
///
/// let resolve = |uri: &str| buckets.resolve(&RequestHead::new(&Request::get(uri).body(()).unwrap()));
/// assert!(matches!(resolve("/photos/cat.jpg"), Resolution::Configured(_, ResourceType::Object)));
/// assert!(matches!(resolve("/photos/"), Resolution::Configured(_, ResourceType::Bucket)));
/// assert!(matches!(resolve("/private/x"), Resolution::NotConfigured));
/// assert!(matches!(resolve("/nope/x"), Resolution::NoSuchBucket));
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Buckets {
    inner: Arc<BucketsInner>,
}

struct BucketsInner {
    addressing: Addressing,
    /// Bucket name (lower case) → its policy handle.
    map: papaya::HashMap<Box<str>, SharedPolicy>,
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
    /// use tower_s3_cors::source::{Buckets, PolicySource, RequestHead, Resolution};
    ///
    /// let buckets = Buckets::virtual_hosted("s3.example.test");
    /// buckets.create("media").store_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// let request = Request::get("/a.png").header("host", "Media.S3.example.test:9000").body(())?;
    /// assert!(matches!(buckets.resolve(&RequestHead::new(&request)), Resolution::Configured(..)));
    /// let request = Request::get("/media/a.png").header("host", "s3.example.test").body(())?;
    /// assert!(matches!(buckets.resolve(&RequestHead::new(&request)), Resolution::Configured(..)));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn virtual_hosted(base_domain: impl Into<String>) -> Self {
        Self::with_addressing(Addressing::virtual_hosted(base_domain))
    }

    /// Buckets located with `addressing`.
    #[must_use]
    pub fn with_addressing(addressing: Addressing) -> Self {
        Self {
            inner: Arc::new(BucketsInner {
                addressing,
                map: papaya::HashMap::new(),
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
        let name: Box<str> = lower_case(bucket).into();
        self.inner.map.pin().insert(name, policy).cloned()
    }

    /// The handle of `bucket`, creating the bucket (without CORS) if it does
    /// not exist.
    #[allow(clippy::must_use_candidate)]
    pub fn create(&self, bucket: &str) -> SharedPolicy {
        let map = self.inner.map.pin();
        if let Some(existing) = map.get(&*lower_case(bucket)) {
            return existing.clone();
        }
        map.get_or_insert_with(lower_case(bucket).into(), SharedPolicy::empty)
            .clone()
    }

    /// Removes a bucket; its requests then resolve to
    /// [`Resolution::NoSuchBucket`].
    #[allow(clippy::must_use_candidate)]
    pub fn remove(&self, bucket: &str) -> Option<SharedPolicy> {
        self.inner.map.pin().remove(&*lower_case(bucket)).cloned()
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
        self.inner.map.pin().get(&*lower_case(bucket)).map(f)
    }

    /// The number of buckets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// Whether there is no bucket.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    /// The names of all buckets, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.map.pin().keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    }

    /// The bucket a request is for, as the request wrote it, and the rest of
    /// its path (the key part, starting with `/`, or empty).
    ///
    /// ```
    /// use http::Request;
    /// use tower_s3_cors::source::{Buckets, RequestHead};
    ///
    /// let request = Request::get("/photos/2024/cat.jpg").body(())?;
    /// let head = RequestHead::new(&request);
    /// assert_eq!(Buckets::path_style().locate(&head), Some(("photos", "/2024/cat.jpg")));
    /// # Ok::<_, http::Error>(())
    /// ```
    #[must_use]
    pub fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<(&'a str, &'a str)> {
        self.inner.addressing.locate_as_sent(request)
    }

    /// The resolution of a request for `resource` in `bucket` (matched
    /// ASCII-case-insensitively), for sources that locate buckets their
    /// own way and delegate to a `Buckets`.
    #[must_use]
    pub fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        match self.with_bucket(bucket, SharedPolicy::load) {
            None => Resolution::NoSuchBucket,
            Some(Some(policy)) => Resolution::Configured(policy, resource),
            Some(None) => Resolution::NotConfigured,
        }
    }
}

impl PolicySource for Buckets {
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
        match self.locate(request) {
            Some((bucket, key)) => self.resolve_bucket(bucket, ResourceType::from_key_path(key)),
            None => Resolution::NoSuchBucket,
        }
    }

    /// Looks, without cloning the bucket's handle or taking its policy.
    fn is_configured_for(&self, request: &RequestHead<'_>) -> bool {
        self.locate(request).is_some_and(|(bucket, _)| {
            self.with_bucket(bucket, SharedPolicy::is_configured) == Some(true)
        })
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
