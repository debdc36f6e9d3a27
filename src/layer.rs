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

    /// Counts requests per bucket too (feature `metrics`): the counter
    /// `s3_cors_bucket_requests_total{bucket, kind, outcome}`, beside the
    /// unlabelled `s3_cors_requests_total`. Off by default (`0`).
    ///
    /// A label per bucket is a time series per bucket and outcome in the
    /// monitoring system, so the number of buckets labelled is bounded:
    /// buckets get a label of their own in the order they are first asked
    /// for, while fewer than `max_buckets` buckets of the process have one
    /// (the bound counts every layer's buckets, the counters being the
    /// process's); the requests of the others, and of buckets that do not
    /// exist (which anyone can make up), are counted under
    /// `bucket="_other"`. At most `10 × max_buckets + 10` series, and a
    /// map lookup per CORS request.
    #[cfg(feature = "metrics")]
    pub fn bucket_metrics(mut self, max_buckets: usize) -> Self {
        self.options.bucket_labels = max_buckets;
        self
    }

    /// The policy source.
    pub fn source(&self) -> &P {
        &self.source
    }
}

impl<S, P: Clone> Layer<S> for S3CorsLayer<P> {
    type Service = S3Cors<S, P>;

    /// With the `metrics` feature, registers the crate's metrics with the
    /// recorder installed now (once per process), so that they are
    /// exported, at zero, before the first request.
    fn layer(&self, inner: S) -> Self::Service {
        #[cfg(feature = "metrics")]
        crate::metrics::get();
        S3Cors::from_parts(inner, self.source.clone(), self.options)
    }
}
