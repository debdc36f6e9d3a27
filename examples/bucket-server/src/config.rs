//! [`Config`]: which buckets the server has and how the CORS layer behaves.

use std::time::Duration;

use tower_s3_cors::VaryMode;
use tower_s3_cors::admin::DEFAULT_BODY_TIMEOUT;
use tower_s3_cors::source::{Buckets, ReadThrough};

/// The bucket the server has when it is started without `--bucket`.
pub const DEMO_BUCKET: &str = "demo";

/// The CORS configuration of the [`DEMO_BUCKET`]: the three-rule example of
/// the S3 documentation. `http://www.example1.com` and
/// `http://www.example2.com` may `PUT`, `POST` and `DELETE` with any
/// headers; every origin may `GET` (answered with
/// `Access-Control-Allow-Origin: *`).
pub const DEMO_DOCUMENT: &str = include_str!("../../../tests/fixtures/three-rules.xml");

/// The largest object body `PUT` accepts by default (16 MiB).
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;

/// What the server serves: the buckets (each with its hot-swappable CORS
/// policy) and the layer's options.
///
/// ```
/// use example_bucket_server::{Config, DEMO_BUCKET};
/// use tower_s3_cors::VaryMode;
/// use tower_s3_cors::source::Buckets;
///
/// // The zero-flag demo: one bucket, `demo`, with the three-rule document.
/// let demo = Config::demo();
/// assert!(demo.buckets().get(DEMO_BUCKET).is_some_and(|cors| cors.is_configured()));
///
/// // Your own buckets; keep a clone of `buckets` to add or change them later.
/// let buckets = Buckets::path_style();
/// buckets.create("photos").put_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
/// let config = Config::new(buckets.clone()).vary_mode(VaryMode::S3Exact);
/// assert_eq!(config.buckets().names(), ["photos"]);
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Config {
    pub(crate) buckets: Buckets,
    pub(crate) store: Option<ReadThrough>,
    pub(crate) vary_mode: VaryMode,
    pub(crate) max_object_bytes: usize,
    pub(crate) cors_body_timeout: Option<Duration>,
}

impl Config {
    /// Serves `buckets` (path-style [`Buckets::path_style`] for the demo;
    /// virtual-hosted buckets work too), with the layer's default,
    /// cache-safe `Vary`.
    pub fn new(buckets: Buckets) -> Self {
        Self {
            buckets,
            store: None,
            vary_mode: VaryMode::default(),
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            cors_body_timeout: Some(DEFAULT_BODY_TIMEOUT),
        }
    }

    /// Takes bucket CORS from `source` (a read-through cache over a store)
    /// instead of the in-memory policies of [`buckets`](Self::buckets),
    /// which then only says which buckets exist. `?cors` writes go through
    /// the store. Build the source with
    /// [`bucket_exists`](tower_s3_cors::source::ReadThroughBuilder::bucket_exists)
    /// asking [`buckets`](Self::buckets), so that it knows which buckets
    /// exist.
    pub fn with_store(mut self, source: ReadThrough) -> Self {
        self.store = Some(source);
        self
    }

    /// The read-through source, when CORS comes from a store.
    #[must_use]
    pub fn store(&self) -> Option<&ReadThrough> {
        self.store.as_ref()
    }

    /// One path-style bucket, [`DEMO_BUCKET`], whose CORS configuration is
    /// [`DEMO_DOCUMENT`].
    ///
    /// # Panics
    ///
    /// Never in practice: the built-in document is valid (a unit test checks
    /// it).
    pub fn demo() -> Self {
        let buckets = Buckets::path_style();
        buckets
            .create(DEMO_BUCKET)
            .put_document(DEMO_DOCUMENT)
            .expect("the built-in demo document is valid");
        Self::new(buckets)
    }

    /// When the CORS layer adds its `Vary` header: [`VaryMode::CacheSafe`]
    /// (the default) or [`VaryMode::S3Exact`] (`--s3-exact`).
    pub fn vary_mode(mut self, mode: VaryMode) -> Self {
        self.vary_mode = mode;
        self
    }

    /// The largest object body a `PUT` may carry; larger ones are answered
    /// `400 EntityTooLarge`. [`DEFAULT_MAX_OBJECT_BYTES`] by default.
    pub fn max_object_bytes(mut self, limit: usize) -> Self {
        self.max_object_bytes = limit;
        self
    }

    /// How long a `PUT ?cors` body may stop arriving before the answer is
    /// S3's `400 RequestTimeout` ([`CorsAdminLayer::body_timeout`]); 20
    /// seconds by default.
    ///
    /// [`CorsAdminLayer::body_timeout`]: tower_s3_cors::admin::CorsAdminLayer::body_timeout
    pub fn cors_body_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.cors_body_timeout = timeout.into();
        self
    }

    /// The buckets. A clone shares them: buckets created or CORS
    /// configurations stored through it are seen by the running server
    /// (without a store: with one, CORS comes from the store).
    #[must_use]
    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_document_is_valid_and_has_three_rules() {
        let policy = Config::demo()
            .buckets()
            .get(DEMO_BUCKET)
            .and_then(|cors| cors.load());
        assert_eq!(policy.map(|p| p.len()), Some(3));
    }
}
