//! [`SharedPolicy`]: one policy, swapped at run time.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;

use std::future::{Future, ready};

use super::{
    BucketCors, BucketError, BucketPolicy, Located, RequestHead, Resolution, SHADOWS_OBSERVED,
    whole_service,
};
use crate::config::{ConfigError, CorsConfiguration};
use crate::policy::{Compiled, Policy};

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
/// Beside the policy, a handle may hold a *shadow* ([`put_shadow_document`]):
/// a candidate the layer evaluates on the same requests, to count and log
/// where it would answer otherwise, without changing any answer. A handle
/// without a shadow pays one more atomic load per request for it.
///
/// [`put_shadow_document`]: Self::put_shadow_document
///
/// ```
/// use tower_s3_cors::SharedPolicy;
///
/// let cors = SharedPolicy::from_document(
///     r#"[{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]"#,
/// )?;
/// let admin = cors.clone(); // hand this to whatever updates the rules
///
/// // A bad document is refused and changes nothing.
/// let err = admin.put_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#);
/// assert_eq!(err.unwrap_err().s3_code(), "InvalidRequest");
/// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_methods, ["GET"]);
///
/// // A good one (XML or JSON) replaces the policy for every request that
/// // starts after it.
/// admin.put_document(
///     "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
///      <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>",
/// )?;
/// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_methods, ["GET", "PUT"]);
///
/// // Without a policy, preflights are answered "CORS is not enabled".
/// admin.delete_document();
/// assert!(cors.load().is_none());
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct SharedPolicy {
    shared: Arc<Shared>,
}

/// What every clone of a [`SharedPolicy`] shares.
#[derive(Default)]
struct Shared {
    /// The policy's shared part itself (not a `Policy` handle in another
    /// `Arc`): a load reaches the rules through one pointer.
    current: ArcSwapOption<Compiled>,
    /// Whether `current` holds a policy: read with one plain load by
    /// requests without `Origin` (which only need to know whether to add
    /// `Vary`), where loading `current` would take and give back a hazard
    /// slot (two atomic read-modify-writes).
    configured: AtomicBool,
    /// The shadow: a candidate policy evaluated beside `current`.
    shadow: ArcSwapOption<Compiled>,
    /// Whether `shadow` holds a policy: read first, so that a handle without
    /// a shadow never takes a hazard slot for it.
    shadowed: AtomicBool,
    /// Held by writers, so that `configured` follows `current` and
    /// `shadowed` follows `shadow`.
    writer: Mutex<()>,
}

impl Shared {
    /// Replaces the policy, and `configured` with it.
    fn swap(&self, compiled: Option<Arc<Compiled>>) -> Option<Arc<Compiled>> {
        // The lock guards nothing but this order of writes: a panic while
        // it was held leaves nothing half done.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let configured = compiled.is_some();
        let old = self.current.swap(compiled);
        self.configured.store(configured, Ordering::Release);
        old
    }

    /// Replaces the shadow, and `shadowed` with it.
    fn swap_shadow(&self, compiled: Option<Arc<Compiled>>) -> Option<Arc<Compiled>> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let shadowed = compiled.is_some();
        let old = self.shadow.swap(compiled);
        self.shadowed.store(shadowed, Ordering::Release);
        old
    }
}

impl SharedPolicy {
    /// A handle serving `policy`.
    #[must_use]
    pub fn new(policy: Policy) -> Self {
        Self {
            shared: Arc::new(Shared {
                current: ArcSwapOption::new(Some(policy.into_shared())),
                configured: AtomicBool::new(true),
                shadow: ArcSwapOption::empty(),
                shadowed: AtomicBool::new(false),
                writer: Mutex::new(()),
            }),
        }
    }

    /// A handle with no policy yet (CORS not configured).
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// A handle serving a document in either format (S3's XML or either
    /// JSON shape), validated as S3 does.
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
        self.shared.current.load_full().map(Policy::from_shared)
    }

    /// Whether a policy is serving.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.shared.configured.load(Ordering::Acquire)
    }

    /// Replaces the policy; returns the one it replaced. To serve a document
    /// validated other than as S3 does, compile it with
    /// [`Policy::compile_with`] and store the policy here.
    ///
    /// ```
    /// use tower_s3_cors::{Policy, SharedPolicy};
    ///
    /// let cors = SharedPolicy::empty();
    /// let first = Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// let second = Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PUT"]}]"#)?;
    /// assert!(cors.put(first).is_none());
    /// let replaced = cors.put(second).unwrap();
    /// assert_eq!(replaced.configuration().rules[0].allowed_methods, ["GET"]);
    /// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_methods, ["PUT"]);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    #[allow(clippy::must_use_candidate)] // dropping the old policy is the common case
    pub fn put(&self, policy: Policy) -> Option<Policy> {
        #[cfg(feature = "tracing")]
        tracing::debug!(rules = policy.len(), "CORS policy stored");
        self.shared
            .swap(Some(policy.into_shared()))
            .map(Policy::from_shared)
    }

    /// Parses (either format), validates as S3 does, compiles and serves a
    /// document.
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`]; the previous policy keeps serving.
    pub fn put_document(&self, doc: &str) -> Result<(), ConfigError> {
        match Policy::from_document(doc) {
            Ok(policy) => {
                self.put(policy);
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
    pub fn delete_document(&self) -> Option<Policy> {
        #[cfg(feature = "tracing")]
        tracing::debug!("CORS policy cleared");
        self.shared.swap(None).map(Policy::from_shared)
    }

    /// Sets the shadow: a candidate policy that the layer evaluates beside
    /// the serving one on every CORS request, counting (feature `metrics`)
    /// and logging (feature `tracing`) where it would answer otherwise.
    /// The answers stay the serving policy's. Returns the shadow it
    /// replaced.
    ///
    /// ```
    /// use tower_s3_cors::{Policy, SharedPolicy};
    ///
    /// let cors = SharedPolicy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// let candidate = Policy::from_document(r#"[{"AllowedOrigins":["https://app.example"],"AllowedMethods":["GET"]}]"#)?;
    /// assert!(cors.put_shadow(candidate).is_none());
    /// assert_eq!(cors.shadow().unwrap().configuration().rules[0].allowed_origins, ["https://app.example"]);
    /// assert_eq!(cors.load().unwrap().configuration().rules[0].allowed_origins, ["*"], "still serving");
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    #[allow(clippy::must_use_candidate)]
    pub fn put_shadow(&self, policy: Policy) -> Option<Policy> {
        #[cfg(feature = "tracing")]
        tracing::debug!(rules = policy.len(), "CORS shadow policy stored");
        self.shared
            .swap_shadow(Some(policy.into_shared()))
            .map(Policy::from_shared)
    }

    /// Parses (either format), validates as S3 does and sets the shadow
    /// (see [`put_shadow`](Self::put_shadow)).
    ///
    /// # Errors
    ///
    /// The document's [`ConfigError`]; nothing changes (neither the shadow
    /// nor the serving policy).
    ///
    /// ```
    /// use tower_s3_cors::SharedPolicy;
    ///
    /// let cors = SharedPolicy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// let refused = cors.put_shadow_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PATCH"]}]"#);
    /// assert_eq!(refused.unwrap_err().s3_code(), "InvalidRequest");
    /// assert!(cors.shadow().is_none());
    /// cors.put_shadow_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PUT"]}]"#)?;
    /// assert!(cors.delete_shadow().is_some());
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    pub fn put_shadow_document(&self, doc: &str) -> Result<(), ConfigError> {
        Policy::from_document(doc).map(|policy| {
            self.put_shadow(policy);
        })
    }

    /// Removes the shadow; returns it.
    #[allow(clippy::must_use_candidate)]
    pub fn delete_shadow(&self) -> Option<Policy> {
        self.shared.swap_shadow(None).map(Policy::from_shared)
    }

    /// The shadow, if there is one.
    #[must_use]
    pub fn shadow(&self) -> Option<Policy> {
        self.shared.shadow.load_full().map(Policy::from_shared)
    }

    /// What the layer is told: the serving policy, with the shadow beside
    /// it when there is one and something observes it.
    #[inline]
    pub(crate) fn resolution(&self) -> Resolution {
        let live = match self.load() {
            Some(policy) => BucketPolicy::Configured(policy),
            None => BucketPolicy::NotConfigured,
        };
        if SHADOWS_OBSERVED && self.shared.shadowed.load(Ordering::Acquire) {
            if let Some(shadow) = self.shadow() {
                return Resolution::Shadowed(live, shadow);
            }
        }
        Resolution::Ready(live)
    }
}

impl From<Policy> for SharedPolicy {
    fn from(policy: Policy) -> Self {
        Self::new(policy)
    }
}

/// One bucket for the whole service: the path `/` is its root.
impl BucketCors for SharedPolicy {
    #[inline]
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        Some(whole_service(request))
    }

    #[inline]
    fn resolve(&self, _bucket: &str) -> Resolution {
        self.resolution()
    }

    /// Looks, without taking a handle on the policy.
    fn is_configured(&self, _bucket: &str) -> bool {
        SharedPolicy::is_configured(self)
    }

    /// Looks, without locating the request (there is one bucket).
    fn is_configured_for(&self, _request: &RequestHead<'_>) -> bool {
        SharedPolicy::is_configured(self)
    }

    fn get_document(
        &self,
        _bucket: &str,
    ) -> impl Future<Output = Result<Option<CorsConfiguration>, BucketError>> + Send {
        ready(Ok(self.load().map(|policy| policy.to_configuration())))
    }

    fn put_document(
        &self,
        _bucket: &str,
        document: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send {
        ready(SharedPolicy::put_document(self, document).map_err(BucketError::document))
    }

    fn delete_document(
        &self,
        _bucket: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send {
        SharedPolicy::delete_document(self);
        ready(Ok(()))
    }

    fn put_shadow_document(&self, _bucket: &str, document: &str) -> Result<(), BucketError> {
        SharedPolicy::put_shadow_document(self, document).map_err(BucketError::document)
    }

    fn delete_shadow(&self, _bucket: &str) -> Result<(), BucketError> {
        SharedPolicy::delete_shadow(self);
        Ok(())
    }

    fn shadow(&self, _bucket: &str) -> Option<Policy> {
        SharedPolicy::shadow(self)
    }
}

impl fmt::Debug for SharedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedPolicy").field(&self.load()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::SharedPolicy;
    use crate::Policy;

    /// `is_configured` reads a flag beside the pointer: after writers race
    /// to store and clear, it still says what `load` finds.
    #[test]
    fn is_configured_follows_racing_stores_and_clears() {
        let policy =
            Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)
                .expect("a valid document");
        for round in 0..20 {
            let cors = SharedPolicy::empty();
            std::thread::scope(|scope| {
                for writer in 0..4 {
                    let (cors, policy) = (cors.clone(), policy.clone());
                    scope.spawn(move || {
                        for i in 0..200 {
                            if (i + writer + round) % 3 == 0 {
                                cors.delete_document();
                            } else {
                                cors.put(policy.clone());
                            }
                        }
                    });
                }
            });
            assert_eq!(cors.is_configured(), cors.load().is_some(), "round {round}");
        }
    }
}
