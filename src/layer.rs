//! [`S3CorsLayer`]: applies [`S3Cors`] to a service.

use tower_layer::Layer;

use crate::options::{Options, RefusalReport, VaryMode};
use crate::service::S3Cors;
use crate::source::SharedPolicy;

/// A [`Layer`] that gives a service S3's CORS behaviour; see the
/// [crate documentation](crate) for the whole picture.
///
/// The layer holds a [`BucketCors`](crate::source::BucketCors) source (by
/// default a [`SharedPolicy`]) and clones it into each service: building a
/// service never fails and never copies a rule.
///
/// ```
/// use tower_s3_cors::{RefusalReport, S3CorsLayer, SharedPolicy, VaryMode};
///
/// let cors = SharedPolicy::from_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
/// let layer = S3CorsLayer::new(cors)
///     .vary_mode(VaryMode::S3Exact)
///     .forward_options_without_origin(true)
///     .report_refusals(RefusalReport::Reason);
/// # let _ = layer;
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct S3CorsLayer<P = SharedPolicy> {
    source: P,
    options: Options,
}

impl<P> S3CorsLayer<P> {
    /// A layer whose services take their policy from `source`.
    pub fn new(source: P) -> Self {
        Self {
            source,
            options: Options::default(),
        }
    }

    /// When to add the CORS `Vary` tokens; [`VaryMode::CacheSafe`] by default.
    pub fn vary_mode(mut self, mode: VaryMode) -> Self {
        self.options.vary = mode;
        self
    }

    /// S3 answers every `OPTIONS` request itself, and one without `Origin`
    /// with `400 BadRequest`. With `true`, an `OPTIONS` request without
    /// `Origin` goes to the inner service instead, for applications that
    /// answer `OPTIONS` themselves (WebDAV, `Allow` discovery). `OPTIONS`
    /// requests with an `Origin` are preflights either way. Off by default.
    pub fn forward_options_without_origin(mut self, forward: bool) -> Self {
        self.options.forward_options_without_origin = forward;
        self
    }

    /// What refused responses carry in their extensions;
    /// [`RefusalReport::Off`] by default.
    pub fn report_refusals(mut self, report: RefusalReport) -> Self {
        self.options.report = report;
        self
    }

    /// The policy source.
    pub fn source(&self) -> &P {
        &self.source
    }
}

impl<S, P: Clone> Layer<S> for S3CorsLayer<P> {
    type Service = S3Cors<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        S3Cors::from_parts(inner, self.source.clone(), self.options)
    }
}
