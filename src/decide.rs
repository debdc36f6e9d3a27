//! What the layer answers, once it knows the policy: a preflight's response
//! (`docs/s3-behaviour.md`, §1), or what to do to an actual request's
//! response (§4, [`OnResponse`]). Shared by the service (a policy known at
//! once) and its future (a policy that had to be loaded); it knows nothing
//! of either.

use bytes::Bytes;
use http::header::ACCESS_CONTROL_REQUEST_METHOD;
use http::request::Parts;
use http::{Extensions, HeaderValue, Response, StatusCode};

use crate::headers::CorsHeaders;
use crate::observe::{Outcome, Tally};
use crate::options::{Options, RefusalReport, VaryMode};
use crate::policy::{
    AllowHeadersCache, Allowed, CorsRequest, Explanation, MAX_REQUEST_HEADERS_BYTES, Policy,
    Refusal,
};
use crate::s3::{AmzRequestIds, ErrorAnswer, ResourceType, S3Error, messages};
use crate::source::BucketPolicy;
use crate::vary::add_cors_vary;

static CONTENT_LENGTH_ZERO: HeaderValue = HeaderValue::from_static("0");

/// Answers an `OPTIONS` request as S3 does, reusing the request's header
/// map for the answer's headers.
///
/// `cache` gives `Access-Control-Allow-Headers` when the names are those of
/// the last preflight it answered.
pub(crate) fn preflight(
    options: &Options,
    parts: Parts,
    policy: BucketPolicy,
    resource: ResourceType,
    cache: &mut AllowHeadersCache,
    tally: &Tally,
) -> Response<Bytes> {
    // In the cache-safe mode, `Vary` goes on every answer about a resource
    // that has (or may have) a policy.
    let may_vary = policy.may_apply();
    let decided = decide_preflight(options, &parts, policy, resource, cache, tally);
    let (mut response, report) = match decided {
        Ok(allowed) => {
            let mut headers = parts.headers;
            headers.clear();
            headers.insert(http::header::CONTENT_LENGTH, CONTENT_LENGTH_ZERO.clone());
            allowed.write_headers_reserving(&mut headers, 1);
            if let Some(ids) = parts.extensions.get::<AmzRequestIds>() {
                ids.write_headers(&mut headers);
            }
            let mut response = Response::new(Bytes::new());
            *response.headers_mut() = headers;
            (response, None)
        }
        Err((answer, report)) => {
            let ids = parts.extensions.get::<AmzRequestIds>();
            (answer.into_response(parts.headers, ids), report)
        }
    };
    if may_vary && (options.vary == VaryMode::CacheSafe || response.status().is_success()) {
        add_cors_vary(response.headers_mut());
    }
    if let Some(report) = report {
        report.insert_into(response.extensions_mut());
    }
    response
}

/// The matched rule of a preflight, or S3's error answer and what to
/// report of it; counted, and compared with the bucket's shadow.
fn decide_preflight(
    options: &Options,
    parts: &Parts,
    policy: BucketPolicy,
    resource: ResourceType,
    cache: &mut AllowHeadersCache,
    tally: &Tally,
) -> Result<Allowed, (ErrorAnswer, Option<Report>)> {
    let cors = CorsRequest::new(&parts.method, &parts.headers);
    let (refusal, walked) = match (cors, policy) {
        (None, _) => (Refusal::NoOrigin, None),
        (Some(_), BucketPolicy::NoSuchBucket) => (Refusal::NoSuchBucket, None),
        (Some(cors), BucketPolicy::NotConfigured) => {
            tally.compare(&cors, None, false);
            (Refusal::NotConfigured, None)
        }
        (Some(_), BucketPolicy::Unavailable) => (Refusal::Unavailable, None),
        (Some(cors), BucketPolicy::Configured(policy)) => {
            let matched = policy.first_match(&cors);
            tally.compare(&cors, Some(&policy), matched.is_ok());
            match matched {
                Ok(index) => {
                    tally.count(Some(Outcome::Allowed));
                    return Ok(Allowed::cached(policy.into_shared(), index, &cors, cache));
                }
                Err(refusal) => (refusal, Some((policy, cors))),
            }
        }
    };
    tally.count(Outcome::of_refusal(refusal));
    let requested_method = parts.headers.get(ACCESS_CONTROL_REQUEST_METHOD);
    let forbidden = |message, resource| S3Error {
        method_and_resource: Some((
            requested_method.map_or(&b"OPTIONS"[..], HeaderValue::as_bytes),
            resource,
        )),
        ..S3Error::new(StatusCode::FORBIDDEN, "AccessForbidden", message)
    };
    let answer = match refusal {
        Refusal::NoOrigin => {
            S3Error::new(StatusCode::BAD_REQUEST, "BadRequest", messages::NO_ORIGIN)
        }
        Refusal::NoSuchBucket => forbidden(messages::BUCKET_NOT_FOUND, ResourceType::Bucket),
        Refusal::NotConfigured => forbidden(messages::NOT_ENABLED, ResourceType::Bucket),
        Refusal::Unavailable => S3Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            messages::SERVICE_UNAVAILABLE,
        ),
        Refusal::NoRuleMatched => forbidden(messages::NOT_ALLOWED, resource),
        Refusal::RequestHeadersTooLarge => S3Error {
            max_size_allowed: Some(MAX_REQUEST_HEADERS_BYTES),
            ..S3Error::new(
                StatusCode::BAD_REQUEST,
                "RequestHeaderSectionTooLarge",
                messages::HEADER_SECTION_TOO_LARGE,
            )
        },
        Refusal::MissingRequestMethod | Refusal::InvalidRequestMethod => S3Error {
            message_tail: Some(requested_method.map_or(&b"null"[..], HeaderValue::as_bytes)),
            ..S3Error::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                messages::INVALID_REQUEST_METHOD,
            )
        },
    };
    let answer = S3Error {
        ids: parts.extensions.get::<AmzRequestIds>(),
        ..answer
    };
    let walked = walked.as_ref().map(|(policy, cors)| (policy, cors));
    Err((answer.into_answer(), report(options, refusal, walked)))
}

/// What to add to the inner response of an actual request with an
/// `Origin` (`docs/s3-behaviour.md`, §4).
pub(crate) fn actual(
    options: &Options,
    policy: BucketPolicy,
    cors: &CorsRequest<'_>,
    tally: &Tally,
) -> OnResponse {
    let cache_safe = options.vary == VaryMode::CacheSafe;
    let policy = match policy {
        BucketPolicy::Configured(policy) => policy,
        BucketPolicy::NotConfigured => {
            tally.compare(cors, None, false);
            tally.count(Some(Outcome::NotConfigured));
            return OnResponse::vary_only(false);
        }
        BucketPolicy::NoSuchBucket => {
            tally.count(Some(Outcome::NoSuchBucket));
            return OnResponse::vary_only(false);
        }
        // Whether the resource has a policy is not known: `Vary` is the
        // safe side, and so is no `Access-Control-*` header at all (an
        // inner service's must not answer for a policy that may say no).
        BucketPolicy::Unavailable => {
            tally.count(Some(Outcome::Unavailable));
            return OnResponse::Unmatched {
                clear: true,
                vary: cache_safe,
                report: None,
            };
        }
    };
    let matched = policy.first_match(cors);
    tally.compare(cors, Some(&policy), matched.is_ok());
    match matched {
        Ok(index) => {
            tally.count(Some(Outcome::Allowed));
            OnResponse::Matched(Allowed::new(policy.into_shared(), index, cors))
        }
        Err(refusal) => {
            tally.count(Some(Outcome::Refused));
            OnResponse::Unmatched {
                clear: true,
                vary: cache_safe,
                report: report(options, refusal, Some((&policy, cors))),
            }
        }
    }
}

/// What a refusal puts in its response's extensions, as the options say;
/// with the `tracing` feature, the refusal is logged when that event is
/// enabled.
fn report(
    options: &Options,
    reason: Refusal,
    walked: Option<(&Policy, &CorsRequest<'_>)>,
) -> Option<Report> {
    #[cfg(feature = "tracing")]
    if tracing::enabled!(tracing::Level::DEBUG) {
        match walked {
            Some((policy, cors)) => {
                let explanation = policy.explain(cors);
                tracing::debug!(?reason, %explanation, "CORS request refused");
            }
            None => tracing::debug!(?reason, "CORS request refused"),
        }
    }
    match options.report {
        RefusalReport::Off => None,
        RefusalReport::Reason => Some(Report::Reason(reason)),
        RefusalReport::Explanation => Some(match walked {
            Some((policy, cors)) => Report::Explanation(reason, Box::new(policy.explain(cors))),
            None => Report::Reason(reason),
        }),
    }
}

/// What to do to the inner service's response.
///
/// An enum whose matched state is the match alone, so that it is no larger
/// than an [`Allowed`] (96 bytes): it lives in the response future of every
/// actual request, and the future's size is what every move of it copies
/// (`benches/instructions.sh s3cors/get_origin_ct`: 25 instructions fewer
/// than a struct of the three fields, the future 208 bytes instead of 232).
#[derive(Debug)]
pub(crate) enum OnResponse {
    /// A rule matched: exactly its `Access-Control-*` headers, and `Vary`.
    Matched(Allowed),
    /// No rule answers for the response.
    Unmatched {
        /// Remove the response's own `Access-Control-*` headers.
        clear: bool,
        /// Merge the CORS `Vary` tokens.
        vary: bool,
        /// What to report of a refusal in the response's extensions.
        report: Option<Report>,
    },
}

impl Default for OnResponse {
    fn default() -> Self {
        Self::vary_only(false)
    }
}

impl OnResponse {
    /// Nothing but, if `vary`, the CORS `Vary` tokens.
    pub(crate) fn vary_only(vary: bool) -> Self {
        Self::Unmatched {
            clear: false,
            vary,
            report: None,
        }
    }

    /// Adds what was decided to `response`.
    pub(crate) fn apply<B>(self, response: &mut Response<B>) {
        let headers = response.headers_mut();
        match self {
            Self::Matched(allowed) => {
                CorsHeaders::Exactly(allowed).apply(headers, 1);
                add_cors_vary(headers);
            }
            Self::Unmatched {
                clear,
                vary,
                report,
            } => {
                if clear {
                    CorsHeaders::Cleared.apply(headers, 0);
                }
                if vary {
                    add_cors_vary(headers);
                }
                if let Some(report) = report {
                    report.insert_into(response.extensions_mut());
                }
            }
        }
    }
}

/// What a refused response carries in its extensions.
#[derive(Debug)]
pub(crate) enum Report {
    /// The reason alone.
    Reason(Refusal),
    /// The reason and the rule-by-rule explanation.
    Explanation(Refusal, Box<Explanation>),
}

impl Report {
    /// Inserts the report into a response's extensions.
    pub(crate) fn insert_into(self, extensions: &mut Extensions) {
        match self {
            Self::Reason(reason) => {
                extensions.insert(reason);
            }
            Self::Explanation(reason, explanation) => {
                extensions.insert(reason);
                extensions.insert(*explanation);
            }
        }
    }
}
