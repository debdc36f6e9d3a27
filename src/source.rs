//! Where the layer gets its policy: the [`PolicySource`] trait, the
//! hot-swappable [`SharedPolicy`] and the per-bucket [`Buckets`] map.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use http::{Extensions, HeaderMap, Method, Request, Uri};

use crate::config::{ConfigError, CorsConfiguration, Validation};
use crate::policy::{Compiled, Policy};

/// Gives the layer, per request, the policy that applies to it.
///
/// Implemented by [`SharedPolicy`] (one policy for the whole service),
/// [`Buckets`] (one per bucket, S3-style) and [`Policy`] (fixed). Implement
/// it to find policies elsewhere (a tenant header, a database cache…).
/// `resolve` runs on every request: keep it to lookups, no I/O and no
/// locks, and keep `Clone` cheap (the layer clones the source into every
/// service it builds).
///
/// ```
/// use http::Request;
/// use tower_s3_cors::{Policy, PolicySource, RequestHead, Resolution, ResourceType};
///
/// /// CORS only under /public; everything else is "not configured".
/// #[derive(Clone)]
/// struct PublicOnly(Policy);
///
/// impl PolicySource for PublicOnly {
///     fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
///         match request.uri().path().strip_prefix("/public") {
///             Some(rest) => Resolution::Configured(self.0.clone(), ResourceType::from_key_path(rest)),
///             None => Resolution::NotConfigured,
///         }
///     }
/// }
///
/// let source = PublicOnly(Policy::from_json(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?);
/// let request = Request::get("/private/x").body(())?;
/// assert!(matches!(source.resolve(&RequestHead::new(&request)), Resolution::NotConfigured));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub trait PolicySource {
    /// The policy for this request, or why there is none.
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution;

    /// Whether [`resolve`](Self::resolve) would find a policy for this
    /// request. The layer asks this, instead of resolving, for requests
    /// without `Origin` (they only need to know whether to add `Vary`), so
    /// an implementation that can answer without taking a policy handle
    /// saves that work on the most common kind of request. The provided
    /// method resolves.
    fn is_configured(&self, request: &RequestHead<'_>) -> bool {
        matches!(self.resolve(request), Resolution::Configured(..))
    }
}

/// What a [`PolicySource`] found for a request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Resolution {
    /// This policy applies; the URL names a bucket root or an object.
    Configured(Policy, ResourceType),
    /// The resource exists but has no CORS configuration: preflights get
    /// `403 CORSResponse: CORS is not enabled for this bucket.`, actual
    /// requests pass untouched.
    NotConfigured,
    /// The bucket does not exist: preflights get
    /// `403 CORSResponse: Bucket not found`, actual requests pass untouched
    /// (the inner service answers them, typically `404 NoSuchBucket`).
    NoSuchBucket,
}

/// Whether a URL names a bucket's root or an object in it: S3 reports it in
/// the `<ResourceType>` of a refused preflight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// The bucket root (`BUCKET`).
    Bucket,
    /// An object, existing or not (`OBJECT`).
    Object,
}

impl ResourceType {
    /// `"BUCKET"` or `"OBJECT"`, as in S3's error XML.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bucket => "BUCKET",
            Self::Object => "OBJECT",
        }
    }

    /// The resource named by the part of a path after the bucket: empty or
    /// `/` is the bucket root, anything else an object.
    ///
    /// ```
    /// use tower_s3_cors::ResourceType;
    /// assert_eq!(ResourceType::from_key_path("/"), ResourceType::Bucket);
    /// assert_eq!(ResourceType::from_key_path(""), ResourceType::Bucket);
    /// assert_eq!(ResourceType::from_key_path("/photos/cat.jpg"), ResourceType::Object);
    /// ```
    #[must_use]
    pub fn from_key_path(path: &str) -> Self {
        if path.is_empty() || path == "/" {
            Self::Bucket
        } else {
            Self::Object
        }
    }
}

/// The head of a request (method, URI, headers, extensions), as a
/// [`PolicySource`] sees it. Borrowed, never copied.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// Borrows the head of `request`.
    #[must_use]
    pub fn new<B>(request: &'a Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// Borrows the head from request parts.
    #[must_use]
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            extensions: &parts.extensions,
        }
    }

    /// The request method.
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request URI.
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request headers.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request extensions (an outer layer may have stored a tenant or a
    /// bucket name there).
    #[must_use]
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

impl PolicySource for Policy {
    /// A fixed policy: always configured; the path `/` is the bucket root.
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
        Resolution::Configured(
            self.clone(),
            ResourceType::from_key_path(request.uri().path()),
        )
    }

    fn is_configured(&self, _request: &RequestHead<'_>) -> bool {
        true
    }
}

/// A policy that can be replaced at run time, without a restart and without
/// a lock on the request path.
///
/// A cheap handle (`Clone` copies an [`Arc`]) over an atomically swapped
/// pointer ([`arc_swap`]). Keep one clone in the layer and one wherever new
/// documents come from (an admin endpoint, a file watcher). Each request
/// takes one snapshot when it starts and uses it to the end: a swap never
/// mixes two policies in one answer.
///
/// A document is parsed and validated before anything is stored: a bad one
/// returns an error and the previous policy keeps serving.
///
/// ```
/// use tower_s3_cors::SharedPolicy;
///
/// let cors = SharedPolicy::from_json(
///     r#"[{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]"#,
/// )?;
/// let admin = cors.clone(); // hand this to whatever updates the rules
///
/// // A bad document is refused and changes nothing.
/// let err = admin.store_json(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#);
/// assert_eq!(err.unwrap_err().s3_code(), "InvalidRequest");
/// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_methods, ["GET"]);
///
/// // A good one replaces the policy for every request that starts after it.
/// admin.store_json(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]}]"#)?;
/// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_methods, ["GET", "PUT"]);
///
/// // Without a policy, preflights are answered "CORS is not enabled".
/// admin.clear();
/// assert!(cors.load().is_none());
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct SharedPolicy {
    /// The policy's shared part itself (not a `Policy` handle in another
    /// `Arc`): a load reaches the rules through one pointer.
    current: Arc<ArcSwapOption<Compiled>>,
}

impl SharedPolicy {
    /// A handle serving `policy`.
    #[must_use]
    pub fn new(policy: Policy) -> Self {
        Self {
            current: Arc::new(ArcSwapOption::new(Some(policy.into_shared()))),
        }
    }

    /// A handle with no policy yet (CORS not configured).
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// A handle serving an XML document.
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`], as for [`Policy::from_xml`].
    #[cfg(feature = "xml")]
    pub fn from_xml(doc: &str) -> Result<Self, ConfigError> {
        Policy::from_xml(doc).map(Self::new)
    }

    /// A handle serving a JSON document (either shape).
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`], as for [`Policy::from_json`].
    #[cfg(feature = "json")]
    pub fn from_json(doc: &str) -> Result<Self, ConfigError> {
        Policy::from_json(doc).map(Self::new)
    }

    /// A handle serving a document in either format.
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`], as for [`Policy::from_document`].
    pub fn from_document(doc: &str) -> Result<Self, ConfigError> {
        Policy::from_document(doc).map(Self::new)
    }

    /// The policy now serving, if any. Requests that start after this call
    /// may see a newer one.
    #[must_use]
    pub fn load(&self) -> Option<Policy> {
        self.current.load_full().map(Policy::from_shared)
    }

    /// Whether a policy is serving.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.current.load().is_some()
    }

    /// Replaces the policy; returns the one it replaced.
    ///
    /// ```
    /// use tower_s3_cors::{Policy, SharedPolicy};
    ///
    /// let cors = SharedPolicy::empty();
    /// let first = Policy::from_json(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// let second = Policy::from_json(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PUT"]}]"#)?;
    /// assert!(cors.store(first).is_none());
    /// let replaced = cors.store(second).unwrap();
    /// assert_eq!(replaced.configuration().rules[0].allowed_methods, ["GET"]);
    /// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_methods, ["PUT"]);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    #[allow(clippy::must_use_candidate)] // dropping the old policy is the common case
    pub fn store(&self, policy: Policy) -> Option<Policy> {
        #[cfg(feature = "tracing")]
        tracing::info!(rules = policy.len(), "CORS policy stored");
        self.current
            .swap(Some(policy.into_shared()))
            .map(Policy::from_shared)
    }

    /// Validates (as S3 does), compiles and stores a configuration.
    ///
    /// # Errors
    ///
    /// The first validation error; the previous policy keeps serving.
    pub fn store_configuration(&self, config: &CorsConfiguration) -> Result<(), ConfigError> {
        self.store_configuration_with(config, Validation::s3())
    }

    /// Validates with `validation`, compiles and stores a configuration.
    ///
    /// # Errors
    ///
    /// The first validation error; the previous policy keeps serving.
    pub fn store_configuration_with(
        &self,
        config: &CorsConfiguration,
        validation: Validation,
    ) -> Result<(), ConfigError> {
        self.store_checked(Policy::compile_with(config, validation))
    }

    /// Parses, validates, compiles and stores an XML document.
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`]; the previous policy keeps serving.
    #[cfg(feature = "xml")]
    pub fn store_xml(&self, doc: &str) -> Result<(), ConfigError> {
        self.store_checked(Policy::from_xml(doc))
    }

    /// Parses, validates, compiles and stores a JSON document (either shape).
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`]; the previous policy keeps serving.
    #[cfg(feature = "json")]
    pub fn store_json(&self, doc: &str) -> Result<(), ConfigError> {
        self.store_checked(Policy::from_json(doc))
    }

    /// Parses, validates, compiles and stores a document in either format.
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`]; the previous policy keeps serving.
    pub fn store_document(&self, doc: &str) -> Result<(), ConfigError> {
        self.store_checked(Policy::from_document(doc))
    }

    fn store_checked(&self, policy: Result<Policy, ConfigError>) -> Result<(), ConfigError> {
        match policy {
            Ok(policy) => {
                let _ = self.store(policy);
                Ok(())
            }
            Err(err) => {
                #[cfg(feature = "tracing")]
                tracing::info!(error = %err, "CORS document refused; the previous policy stays");
                Err(err)
            }
        }
    }

    /// Removes the policy: CORS is no longer configured. Returns the policy
    /// that was serving.
    #[allow(clippy::must_use_candidate)]
    pub fn clear(&self) -> Option<Policy> {
        #[cfg(feature = "tracing")]
        tracing::info!("CORS policy cleared");
        self.current.swap(None).map(Policy::from_shared)
    }
}

impl From<Policy> for SharedPolicy {
    fn from(policy: Policy) -> Self {
        Self::new(policy)
    }
}

impl PolicySource for SharedPolicy {
    /// The current policy, or "not configured"; the path `/` is the bucket
    /// root.
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
        match self.load() {
            Some(policy) => {
                Resolution::Configured(policy, ResourceType::from_key_path(request.uri().path()))
            }
            None => Resolution::NotConfigured,
        }
    }

    /// Looks, without taking a handle on the policy.
    fn is_configured(&self, _request: &RequestHead<'_>) -> bool {
        SharedPolicy::is_configured(self)
    }
}

impl fmt::Debug for SharedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedPolicy").field(&self.load()).finish()
    }
}

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
/// use tower_s3_cors::{Buckets, PolicySource, RequestHead, Resolution, ResourceType};
///
/// let buckets = Buckets::path_style();
/// let photos = buckets.create("photos");
/// photos.store_json(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
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
    /// use tower_s3_cors::{Buckets, PolicySource, RequestHead, Resolution};
    ///
    /// let buckets = Buckets::virtual_hosted("s3.example.test");
    /// buckets.create("media").store_json(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
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
    /// use tower_s3_cors::{Buckets, SharedPolicy};
    ///
    /// let buckets = Buckets::path_style();
    /// let shared = SharedPolicy::from_json(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
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
    /// use tower_s3_cors::{Buckets, RequestHead};
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
    fn is_configured(&self, request: &RequestHead<'_>) -> bool {
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
