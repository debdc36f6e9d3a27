//! [`Buckets`]: one [`SharedPolicy`] per bucket.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{PolicySource, RequestHead, Resolution, SharedPolicy};
use crate::s3::ResourceType;

/// How [`Buckets`] finds the bucket a request is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Addressing {
    /// `/{bucket}/{key}`.
    Path,
    /// `{bucket}.{base domain}`, falling back to path style when the host is
    /// the base domain itself. The base domain is stored lower-cased.
    VirtualHost(String),
}

/// One [`SharedPolicy`] per bucket, for S3-compatible servers.
///
/// The bucket comes from the path (`/{bucket}/{key}`, [`Buckets::path_style`])
/// or from the host (`{bucket}.{base domain}`, [`Buckets::virtual_hosted`],
/// which also takes path-style requests to the base domain itself). Buckets
/// are added and removed at run time; like each bucket's policy, the map is
/// swapped atomically, so lookups take no lock.
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
    map: ArcSwap<HashMap<Box<str>, SharedPolicy>>,
}

impl Buckets {
    /// Buckets addressed path-style: `/{bucket}` or `/{bucket}/` is the
    /// bucket root, `/{bucket}/{key}` an object.
    #[must_use]
    pub fn path_style() -> Self {
        Self::with(Addressing::Path)
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
        let mut base = base_domain.into();
        base.make_ascii_lowercase();
        Self::with(Addressing::VirtualHost(base))
    }

    fn with(addressing: Addressing) -> Self {
        Self {
            inner: Arc::new(BucketsInner {
                addressing,
                map: ArcSwap::from_pointee(HashMap::new()),
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
        let name: Box<str> = bucket.to_ascii_lowercase().into();
        let mut replaced = None;
        self.inner.map.rcu(|map| {
            let mut map = HashMap::clone(map);
            replaced = map.insert(name.clone(), policy.clone());
            map
        });
        replaced
    }

    /// The handle of `bucket`, creating the bucket (without CORS) if it does
    /// not exist.
    #[allow(clippy::must_use_candidate)]
    pub fn create(&self, bucket: &str) -> SharedPolicy {
        if let Some(existing) = self.get(bucket) {
            return existing;
        }
        let handle = SharedPolicy::empty();
        let name: Box<str> = bucket.to_ascii_lowercase().into();
        let mut result = handle.clone();
        self.inner.map.rcu(|map| {
            let mut map = HashMap::clone(map);
            result = map
                .entry(name.clone())
                .or_insert_with(|| handle.clone())
                .clone();
            map
        });
        result
    }

    /// Removes a bucket; its requests then resolve to
    /// [`Resolution::NoSuchBucket`].
    #[allow(clippy::must_use_candidate)]
    pub fn remove(&self, bucket: &str) -> Option<SharedPolicy> {
        let name = bucket.to_ascii_lowercase();
        let mut removed = None;
        self.inner.map.rcu(|map| {
            let mut map = HashMap::clone(map);
            removed = map.remove(name.as_str());
            map
        });
        removed
    }

    /// The policy handle of a bucket, if it exists.
    #[must_use]
    pub fn get(&self, bucket: &str) -> Option<SharedPolicy> {
        self.with_bucket(bucket, SharedPolicy::clone)
    }

    /// `f` applied to the handle of `bucket`, if it exists, without cloning
    /// the handle.
    fn with_bucket<T>(&self, bucket: &str, f: impl FnOnce(&SharedPolicy) -> T) -> Option<T> {
        let map = self.inner.map.load();
        if bucket.bytes().any(|b| b.is_ascii_uppercase()) {
            map.get(bucket.to_ascii_lowercase().as_str()).map(f)
        } else {
            map.get(bucket).map(f)
        }
    }

    /// The names of all buckets, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .map
            .load()
            .keys()
            .map(|k| k.to_string())
            .collect();
        names.sort();
        names
    }

    /// The bucket a request is for, and the rest of its path (the key part,
    /// starting with `/`, or empty).
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
        let path = request.uri().path();
        if let Addressing::VirtualHost(base) = &self.inner.addressing {
            let host = request
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| request.uri().host())?;
            let host = strip_port(host);
            if !host.eq_ignore_ascii_case(base) {
                let bucket = host
                    .len()
                    .checked_sub(base.len() + 1)
                    .filter(|&cut| {
                        host.get(cut + 1..)
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(base))
                            && host.as_bytes().get(cut) == Some(&b'.')
                    })
                    .and_then(|cut| host.get(..cut))
                    .filter(|bucket| !bucket.is_empty())?;
                return Some((bucket, path));
            }
        }
        let rest = path.strip_prefix('/')?;
        let (bucket, key) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        (!bucket.is_empty()).then_some((bucket, key))
    }
}

/// `host` without its `:port`, if it has one (`[v6]:port` included).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => host.get(..=end).unwrap_or(host),
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

impl PolicySource for Buckets {
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
        let Some((bucket, key)) = self.locate(request) else {
            return Resolution::NoSuchBucket;
        };
        match self.get(bucket) {
            None => Resolution::NoSuchBucket,
            Some(handle) => match handle.load() {
                Some(policy) => Resolution::Configured(policy, ResourceType::from_key_path(key)),
                None => Resolution::NotConfigured,
            },
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
