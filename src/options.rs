//! The layer's options: [`VaryMode`] and [`RefusalReport`].

/// When the layer adds `Vary: Origin, Access-Control-Request-Headers,
/// Access-Control-Request-Method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VaryMode {
    /// On every response of a resource that has a policy, matched or not,
    /// with or without `Origin` (the default). A cache in front of the
    /// service then never serves an answer made for one origin to another,
    /// nor a non-CORS answer to a browser that needs CORS headers.
    #[default]
    CacheSafe,
    /// Only on a match, as S3 does.
    S3Exact,
}

/// What the layer puts in the extensions of the responses it refuses, for
/// outer layers (a logger, a metrics layer) to read.
///
/// Refusals are the traffic of scanners and hot-linking pages, so a refusal
/// costs nothing extra by default. [`Reason`](Self::Reason) adds a small
/// `Copy` [`Refusal`](crate::policy::Refusal) (inserting into a response's extensions
/// allocates its map, two or three small allocations inside `http`);
/// [`Explanation`](Self::Explanation) adds the rule-by-rule
/// [`Explanation`](crate::policy::Explanation) as well, which costs a walk
/// over the rules and a few allocations per rule.
///
/// With the `tracing` feature, a refusal is also logged at debug level with
/// its explanation, built only when that event is enabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReport {
    /// Nothing (the default).
    #[default]
    Off,
    /// A [`Refusal`](crate::policy::Refusal) in the extensions of every
    /// refused preflight and of every actual request that a policy covers
    /// but no rule matched.
    Reason,
    /// The [`Refusal`](crate::policy::Refusal) and, where a policy was consulted, its
    /// [`Explanation`](crate::policy::Explanation).
    Explanation,
}

/// How the layer behaves where S3's behaviour is a choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) vary: VaryMode,
    pub(crate) forward_options_without_origin: bool,
    pub(crate) report: RefusalReport,
    /// How many buckets get counters of their own (0: none).
    #[cfg(feature = "metrics")]
    pub(crate) bucket_labels: usize,
}

impl Options {
    /// How many buckets get counters of their own (0: none; always 0
    /// without the `metrics` feature, whose field it is).
    #[inline]
    pub(crate) fn bucket_labels(&self) -> usize {
        #[cfg(feature = "metrics")]
        return self.bucket_labels;
        #[cfg(not(feature = "metrics"))]
        0
    }
}
