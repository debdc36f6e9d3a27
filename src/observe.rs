//! What the layer observes of the CORS requests it answers: their outcomes,
//! counted (feature `metrics`), and the verdicts of shadow policies, taken
//! beside the live ones on the same requests, counted and, where they
//! disagree, logged (feature `tracing`). Without both features a [`Tally`]
//! holds nothing and every call here compiles to nothing.
//!
//! The decision points ([`crate::decide`]) call it where the outcome is
//! known, whether the policy was at hand when the request came or had to be
//! loaded first.

use crate::policy::{CorsRequest, Policy, Refusal};
#[cfg(any(feature = "metrics", feature = "tracing"))]
use crate::source::SHADOWS_OBSERVED;
use crate::source::{BucketPolicy, Pending};

/// A CORS request's kind, as the `kind` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Preflight,
    Actual,
}

impl Kind {
    /// Every kind, in the order of their indexes.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) const ALL: [Self; 2] = [Self::Preflight, Self::Actual];

    /// The label value.
    #[cfg_attr(not(any(feature = "metrics", feature = "tracing")), allow(dead_code))]
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::Actual => "actual",
        }
    }
}

/// What the layer answered a CORS request, as the `outcome` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A rule matched.
    Allowed,
    /// The bucket's policy refused it (no rule matched, or the request
    /// itself is malformed: a preflight without a valid
    /// `Access-Control-Request-Method`, request headers over 8 KiB).
    Refused,
    /// The bucket has no CORS configuration.
    NotConfigured,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The source could not tell (its store is down, nothing cached).
    Unavailable,
}

impl Outcome {
    /// Every outcome, in the order of their indexes.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) const ALL: [Self; 5] = [
        Self::Allowed,
        Self::Refused,
        Self::NotConfigured,
        Self::NoSuchBucket,
        Self::Unavailable,
    ];

    /// The label value.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused => "refused",
            Self::NotConfigured => "not_configured",
            Self::NoSuchBucket => "no_such_bucket",
            Self::Unavailable => "unavailable",
        }
    }

    /// The outcome of a refusal; `None` for a request that is not CORS
    /// (an `OPTIONS` without `Origin`).
    pub(crate) fn of_refusal(refusal: Refusal) -> Option<Self> {
        Some(match refusal {
            Refusal::NoOrigin => return None,
            Refusal::NoSuchBucket => Self::NoSuchBucket,
            Refusal::NotConfigured => Self::NotConfigured,
            Refusal::Unavailable => Self::Unavailable,
            Refusal::MissingRequestMethod
            | Refusal::InvalidRequestMethod
            | Refusal::NoRuleMatched
            | Refusal::RequestHeadersTooLarge => Self::Refused,
        })
    }
}

/// What the layer counts and compares for one CORS request: made when the
/// request comes, used where its outcome is decided. Small, since it
/// travels with every CORS request: the bucket's name is copied only where
/// it may be needed later.
#[derive(Debug)]
pub(crate) struct Tally {
    #[cfg(any(feature = "metrics", feature = "tracing"))]
    kind: Kind,
    /// The per-bucket counters, when the layer labels buckets.
    #[cfg(feature = "metrics")]
    bucket_counters: Option<&'static crate::metrics::Outcomes>,
    /// The bucket's shadow, evaluated beside the live policy.
    #[cfg(any(feature = "metrics", feature = "tracing"))]
    shadow: Option<Policy>,
    /// The bucket's name, for a shadow's log: copied (without allocating)
    /// when the bucket has a shadow, or its policy is being loaded.
    #[cfg(feature = "tracing")]
    bucket: Option<Name>,
    /// A request whose policy is being loaded, with buckets labelled: its
    /// bucket and the layer's bound, to pick its counters once the load is
    /// over (boxed: every CORS request carries the field, few fill it).
    #[cfg(feature = "metrics")]
    pending_label: Option<Box<(Box<str>, usize)>>,
}

impl Tally {
    /// A request of `kind`, nothing known of its bucket yet.
    #[inline]
    #[cfg_attr(
        not(any(feature = "metrics", feature = "tracing")),
        allow(unused_variables)
    )]
    pub(crate) fn new(kind: Kind) -> Self {
        Self {
            #[cfg(any(feature = "metrics", feature = "tracing"))]
            kind,
            #[cfg(feature = "metrics")]
            bucket_counters: None,
            #[cfg(any(feature = "metrics", feature = "tracing"))]
            shadow: None,
            #[cfg(feature = "tracing")]
            bucket: None,
            #[cfg(feature = "metrics")]
            pending_label: None,
        }
    }

    /// The request is for `bucket`, whose live policy is known (`shadow`
    /// beside it, if the bucket has one). `bucket_labels` is the layer's
    /// bound on labelled buckets.
    ///
    /// Inlined, down to two tests for a request of a bucket without a
    /// shadow in a layer without per-bucket counters; the rest is out of
    /// line.
    #[inline(always)]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn ready(
        &mut self,
        bucket: Option<&str>,
        live: &BucketPolicy,
        shadow: Option<Policy>,
        bucket_labels: usize,
    ) {
        #[cfg(feature = "metrics")]
        if bucket_labels > 0 {
            self.label(bucket.unwrap_or(""), live, bucket_labels);
        }
        #[cfg(any(feature = "metrics", feature = "tracing"))]
        if let Some(shadow) = shadow {
            self.shadowed(bucket.unwrap_or(""), live, shadow);
        }
    }

    /// Takes `bucket`'s counters.
    #[cfg(feature = "metrics")]
    #[inline(never)]
    fn label(&mut self, bucket: &str, live: &BucketPolicy, bound: usize) {
        self.bucket_counters = Some(crate::metrics::get().bucket(bucket, exists(live), bound));
    }

    /// Takes `bucket`'s shadow, where it is evaluated beside `live`.
    #[cfg(any(feature = "metrics", feature = "tracing"))]
    #[inline(never)]
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn shadowed(&mut self, bucket: &str, live: &BucketPolicy, shadow: Policy) {
        if SHADOWS_OBSERVED && shadowable(live) {
            #[cfg(feature = "tracing")]
            {
                self.bucket = Some(Name::new(bucket));
            }
            self.shadow = Some(shadow);
        }
    }

    /// The request is for `bucket`, whose policy is being loaded: see
    /// [`settle`](Self::settle).
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn pending(&mut self, bucket: &str, bucket_labels: usize) {
        #[cfg(feature = "tracing")]
        {
            self.bucket = Some(Name::new(bucket));
        }
        #[cfg(feature = "metrics")]
        if bucket_labels > 0 {
            self.pending_label = Some(Box::new((bucket.into(), bucket_labels)));
        }
    }

    /// The load `pending` is over with `live`: takes the shadow it was
    /// completed with and, when buckets are labelled, the bucket's
    /// counters.
    #[cfg_attr(
        not(any(feature = "metrics", feature = "tracing")),
        allow(unused_variables)
    )]
    pub(crate) fn settle(&mut self, pending: &Pending, live: &BucketPolicy) {
        #[cfg(any(feature = "metrics", feature = "tracing"))]
        if SHADOWS_OBSERVED && shadowable(live) {
            self.shadow = pending.shadow();
        }
        #[cfg(feature = "metrics")]
        if let Some(label) = self.pending_label.take() {
            let (bucket, bound) = &*label;
            self.bucket_counters = Some(crate::metrics::get().bucket(bucket, exists(live), *bound));
        }
    }

    /// Counts the request's outcome (`None`: not a CORS request).
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn count(&self, outcome: Option<Outcome>) {
        #[cfg(feature = "metrics")]
        if let Some(outcome) = outcome {
            crate::metrics::get().requests.count(self.kind, outcome);
            if let Some(counters) = self.bucket_counters {
                counters.count(self.kind, outcome);
            }
        }
    }

    /// Evaluates the shadow, if there is one, on `request`, which `live`
    /// (`None`: no configuration) allowed or not: counts both verdicts and
    /// logs a disagreement.
    #[inline]
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn compare(&self, request: &CorsRequest<'_>, live: Option<&Policy>, allowed: bool) {
        #[cfg(any(feature = "metrics", feature = "tracing"))]
        if let Some(shadow) = &self.shadow {
            let shadow_allowed = shadow.first_match(request).is_ok();
            #[cfg(feature = "metrics")]
            crate::metrics::get().count_shadow(self.kind, allowed, shadow_allowed);
            #[cfg(feature = "tracing")]
            if shadow_allowed != allowed {
                disagreement::log(
                    self.kind,
                    self.bucket.as_ref().map_or("", Name::as_str),
                    request,
                    (live, allowed),
                    (shadow, shadow_allowed),
                );
            }
        }
    }
}

/// Whether a shadow is evaluated beside `live`: where the live answer is a
/// policy's, or "not configured" (a shadow then tries CORS on a bucket that
/// has none); not for a bucket that does not exist or cannot be told.
#[cfg(any(feature = "metrics", feature = "tracing"))]
fn shadowable(live: &BucketPolicy) -> bool {
    matches!(
        live,
        BucketPolicy::Configured(_) | BucketPolicy::NotConfigured
    )
}

/// Whether a bucket may get counters of its own: it exists (so that
/// requests for made-up names cannot take up the bound).
#[cfg(feature = "metrics")]
fn exists(live: &BucketPolicy) -> bool {
    matches!(
        live,
        BucketPolicy::Configured(_) | BucketPolicy::NotConfigured
    )
}

/// A bucket's name, copied without an allocation: S3's names are at most
/// 63 bytes; a longer one (a source of one's own) is cut, on a character
/// boundary.
#[cfg(feature = "tracing")]
#[derive(Clone, Copy)]
struct Name {
    len: u8,
    bytes: [u8; Name::CAPACITY],
}

#[cfg(feature = "tracing")]
impl Name {
    const CAPACITY: usize = 63;

    fn new(name: &str) -> Self {
        let mut end = name.len().min(Self::CAPACITY);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut copy = Self {
            len: 0,
            bytes: [0; Self::CAPACITY],
        };
        copy.bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        copy.len = u8::try_from(end).unwrap_or(0);
        copy
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

#[cfg(feature = "tracing")]
impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// The log of shadows that disagree with their live policy, rate-limited.
#[cfg(feature = "tracing")]
pub(crate) mod disagreement {
    use std::sync::{Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use super::Kind;
    use crate::policy::{CorsRequest, Policy};

    /// At most this many disagreements are logged per second, in the whole
    /// process; the others are counted, and the next one logged says how
    /// many were left out.
    pub(crate) const PER_SECOND: u32 = 10;

    struct Window {
        /// When the current one-second window began.
        began: Option<Instant>,
        logged: u32,
        /// Disagreements left out since the last one logged.
        left_out: u64,
    }

    static WINDOW: Mutex<Window> = Mutex::new(Window {
        began: None,
        logged: 0,
        left_out: 0,
    });

    /// Whether one more may be logged now; if so, how many were left out
    /// before it.
    fn admit(now: Instant) -> Option<u64> {
        let mut window = WINDOW.lock().unwrap_or_else(PoisonError::into_inner);
        if window
            .began
            .is_none_or(|began| now.duration_since(began) >= Duration::from_secs(1))
        {
            window.began = Some(now);
            window.logged = 0;
        }
        if window.logged < PER_SECOND {
            window.logged += 1;
            Some(std::mem::take(&mut window.left_out))
        } else {
            window.left_out += 1;
            None
        }
    }

    /// Logs (debug) that `shadow` answers `request` otherwise than `live`
    /// (`None`: CORS not configured), with both explanations.
    #[cold]
    pub(super) fn log(
        kind: Kind,
        bucket: &str,
        request: &CorsRequest<'_>,
        (live, live_allowed): (Option<&Policy>, bool),
        (shadow, shadow_allowed): (&Policy, bool),
    ) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let Some(left_out) = admit(Instant::now()) else {
            return;
        };
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let requested_headers: Vec<String> = request.requested_headers().map(text).collect();
        let live_explanation = match live {
            Some(policy) => policy.explain(request).to_string(),
            None => "CORS is not configured for this bucket".to_owned(),
        };
        let shadow_explanation = shadow.explain(request);
        tracing::debug!(
            kind = kind.label(),
            bucket,
            origin = %text(request.origin().as_bytes()),
            method = %request.http_method(),
            requested_method = request.requested_method().map(|m| text(m.as_bytes())),
            requested_headers = ?requested_headers,
            live = verdict(live_allowed),
            shadow = verdict(shadow_allowed),
            %live_explanation,
            %shadow_explanation,
            left_out,
            "CORS shadow policy disagrees with the live one (the live one answered)"
        );
    }

    fn verdict(allowed: bool) -> &'static str {
        if allowed { "allowed" } else { "refused" }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn at_most_the_rate_is_admitted_per_second_and_the_rest_is_counted() {
            let start = Instant::now();
            let admitted = (0..25).filter(|_| admit(start).is_some()).count();
            assert_eq!(admitted, PER_SECOND as usize);
            let later = start + Duration::from_millis(1001);
            assert_eq!(admit(later), Some(25 - admitted as u64));
        }
    }
}
