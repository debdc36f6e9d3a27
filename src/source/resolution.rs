//! What a source answers for a bucket: [`Resolution`], ready, shadowed or
//! pending, and the [`BucketPolicy`] it settles on.

use super::Pending;
use crate::policy::Policy;

/// What a [`BucketCors`](super::BucketCors) source knows of a bucket's
/// CORS when a request asks: the answer, or a load to wait for.
#[derive(Clone, Debug)]
pub enum Resolution {
    /// The answer is known.
    Ready(BucketPolicy),
    /// The answer is known, and the bucket has a *shadow*: a candidate
    /// policy to evaluate beside the live one on the same request, whose
    /// verdict is counted and logged but never answers (see
    /// [`BucketCors::put_shadow_document`](super::BucketCors::put_shadow_document)).
    /// The live policy may be [`BucketPolicy::NotConfigured`]: a shadow
    /// then tries CORS on a bucket that has none.
    ///
    /// The layer evaluates shadows only when something observes them (the
    /// crate's `metrics` or `tracing` feature); the crate's own sources
    /// answer this variant only then, so that a build without either pays
    /// nothing for them. A layer built without both treats it as
    /// [`Ready`](Self::Ready).
    Shadowed(BucketPolicy, Policy),
    /// It is being loaded: a preflight waits for it; an actual request goes
    /// to the inner service at once and joins the load when its response
    /// comes.
    Pending(Pending),
}

/// The CORS of a bucket, as a source knows it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BucketPolicy {
    /// The bucket's policy.
    Configured(Policy),
    /// The bucket exists and has no CORS configuration: preflights get
    /// `403 CORSResponse: CORS is not enabled for this bucket.`, actual
    /// requests pass untouched.
    NotConfigured,
    /// The bucket does not exist: preflights get `403 CORSResponse: Bucket
    /// not found`, actual requests pass untouched (the inner service
    /// answers them, typically `404 NoSuchBucket`).
    NoSuchBucket,
    /// The source cannot tell now (its store is down and nothing is
    /// cached): preflights get S3's `503 ServiceUnavailable`, actual
    /// requests pass without CORS headers (with `Vary` in the cache-safe
    /// mode).
    Unavailable,
}

impl BucketPolicy {
    /// Whether the bucket has, or may have, a policy: a `Vary` too many
    /// costs a cache some sharing, one too few lets it serve a CORS-less
    /// answer to a browser.
    #[must_use]
    pub fn may_apply(&self) -> bool {
        match self {
            Self::Configured(_) | Self::Unavailable => true,
            Self::NotConfigured | Self::NoSuchBucket => false,
        }
    }
}
