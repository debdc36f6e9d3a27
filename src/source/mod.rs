//! Where the layer gets its policy: the [`PolicySource`] trait and what a
//! source answers ([`Resolution`]), the hot-swappable
//! [`SharedPolicy`] and the per-bucket [`Buckets`] map.
//!
//! A source is asked once per request, on the request path: it looks
//! policies up, without I/O and without locks. A source that must load a
//! policy (a cache over a store) answers [`Resolution::Pending`] and
//! completes the load on its own time: a preflight waits for it, an actual
//! request joins it when the inner response comes.

mod addressing;
mod buckets;
mod pending;
#[cfg(feature = "store")]
mod read_through;
mod shared;

pub use addressing::Addressing;
pub use buckets::Buckets;
pub use pending::{Completer, Loaded, Pending};
#[cfg(feature = "store")]
pub use read_through::{
    DEFAULT_CAPACITY, DEFAULT_LOAD_TIMEOUT, DEFAULT_RETRY_AFTER, DEFAULT_TTL, NoRuntime,
    ReadThrough, ReadThroughBuilder, ReadThroughError, ReadThroughErrorKind,
};
pub use shared::SharedPolicy;

use http::{Extensions, HeaderMap, Method, Request, Uri};

use crate::policy::Policy;
use crate::s3::ResourceType;

/// Gives the layer, per request, the policy that applies to it.
///
/// Implemented by [`SharedPolicy`] (one policy for the
/// whole service), [`Buckets`] (one per bucket, S3-style) and [`Policy`]
/// (fixed). Implement
/// it to find policies elsewhere (a tenant header, a database cache…).
/// `resolve` runs on every request: keep it to lookups, no I/O and no
/// locks, and keep `Clone` cheap (the layer clones the source into every
/// service it builds).
///
/// ```
/// use http::Request;
/// use tower_s3_cors::Policy;
/// use tower_s3_cors::s3::ResourceType;
/// use tower_s3_cors::source::{PolicySource, RequestHead, Resolution};
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
/// let source = PublicOnly(Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?);
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
    /// saves that work on the most common kind of request.
    ///
    /// A source that does not know yet (a load in progress, a store that is
    /// down) should answer `true`: a `Vary` too many costs a cache some
    /// sharing, one too few lets it serve a CORS-less answer to a browser.
    /// The provided method resolves, and does so.
    fn is_configured_for(&self, request: &RequestHead<'_>) -> bool {
        match self.resolve(request) {
            Resolution::Configured(..) | Resolution::Unavailable | Resolution::Pending(..) => true,
            Resolution::NotConfigured | Resolution::NoSuchBucket => false,
        }
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
    /// The source cannot tell now (its store is down and nothing is
    /// cached): preflights get S3's `503 ServiceUnavailable`, actual
    /// requests pass without CORS headers (with `Vary` in the cache-safe
    /// mode).
    Unavailable,
    /// The policy is being loaded: a preflight waits for it; an actual
    /// request goes to the inner service at once and joins the load when
    /// its response comes.
    Pending(Pending, ResourceType),
}

impl Resolution {
    /// The outcome for a policy source, or the load to wait for.
    pub(crate) fn settle(self) -> Result<(Loaded, ResourceType), (Pending, ResourceType)> {
        Ok(match self {
            Self::Configured(policy, resource) => (Loaded::Configured(policy), resource),
            Self::NotConfigured => (Loaded::NotConfigured, ResourceType::Bucket),
            Self::NoSuchBucket => (Loaded::NoSuchBucket, ResourceType::Bucket),
            Self::Unavailable => (Loaded::Unavailable, ResourceType::Bucket),
            Self::Pending(pending, resource) => return Err((pending, resource)),
        })
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

    fn is_configured_for(&self, _request: &RequestHead<'_>) -> bool {
        true
    }
}
