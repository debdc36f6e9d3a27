//! [`BucketError`]: why the CORS of a bucket could not be read or written.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::config::ConfigError;

/// A cause carried by an error, for its [`source`](std::error::Error::source).
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why the CORS of a bucket could not be read or written: a document S3
/// would refuse, a bucket that does not exist, a store that cannot answer.
///
/// The one error type of the bucket model: the write side of
/// [`BucketCors`](super::BucketCors) returns it, [stores](crate::store)
/// return it, and the `?cors` layer and the s3s glue turn it into S3's
/// answer with [`status`](Self::status), [`s3_code`](Self::s3_code) and
/// [`s3_message`](Self::s3_message), the one place that mapping is made.
///
/// Opaque, as `http`'s and `hyper`'s errors are (its representation is
/// private, so no impossible combination can be built): ask what it is with
/// the `is_*` methods, get the refused document's [`ConfigError`] where
/// there is one, and the underlying error as its
/// [`source`](std::error::Error::source).
///
/// | kind | S3's answer |
/// |---|---|
/// | [`is_document`](Self::is_document): a document S3 would refuse | `400` with the document's own code (`MalformedXML`, `InvalidRequest`, …) |
/// | [`is_no_such_bucket`](Self::is_no_such_bucket) | `404 NoSuchBucket` |
/// | [`is_unavailable`](Self::is_unavailable): the store cannot answer now (down, unreachable, [too slow](Self::is_timeout)); worth retrying | `503 ServiceUnavailable` |
/// | [`is_invalid`](Self::is_invalid): the store holds something it should not (a document that does not validate, a name it cannot represent) | `500 InternalError` |
/// | [`is_read_only`](Self::is_read_only): the source keeps no documents (a fixed [`Policy`](crate::Policy)) | `501 NotImplemented` |
///
/// ```
/// use tower_s3_cors::source::BucketError;
///
/// let error = BucketError::no_such_bucket();
/// assert!(error.is_no_such_bucket());
/// assert_eq!((error.status().as_u16(), error.s3_code()), (404, "NoSuchBucket"));
///
/// let io = std::io::Error::other("connection refused");
/// let error = BucketError::unavailable(io).with_context("reading bucket photos");
/// assert_eq!(error.s3_code(), "ServiceUnavailable");
/// assert_eq!(error.to_string(), "CORS store unavailable: reading bucket photos: connection refused");
/// ```
pub struct BucketError {
    inner: Box<Inner>,
}

struct Inner {
    repr: Repr,
    /// What was being done, for people.
    context: Option<Cow<'static, str>>,
}

enum Repr {
    Document(ConfigError),
    /// A stored document that does not validate.
    Stored(ConfigError),
    NoSuchBucket,
    Unavailable(Option<Cause>),
    TimedOut(Duration),
    Invalid(Option<Cause>),
    ReadOnly,
}

impl BucketError {
    fn new(repr: Repr) -> Self {
        Self {
            inner: Box::new(Inner {
                repr,
                context: None,
            }),
        }
    }

    /// A document S3 would refuse.
    #[must_use]
    pub fn document(error: ConfigError) -> Self {
        Self::new(Repr::Document(error))
    }

    /// The bucket does not exist.
    #[must_use]
    pub fn no_such_bucket() -> Self {
        Self::new(Repr::NoSuchBucket)
    }

    /// The store cannot answer now; `cause` says why.
    #[must_use]
    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        Self::new(Repr::Unavailable(Some(cause.into())))
    }

    /// The store did not answer within `timeout`.
    #[must_use]
    pub fn timed_out(timeout: Duration) -> Self {
        Self::new(Repr::TimedOut(timeout))
    }

    /// The store holds something it should not; `cause` says what.
    #[must_use]
    pub fn invalid(cause: impl Into<Cause>) -> Self {
        Self::new(Repr::Invalid(Some(cause.into())))
    }

    /// The store holds a document that does not validate (written by hand,
    /// or under other rules): `Invalid`, with the document's error.
    #[must_use]
    pub fn invalid_document(error: ConfigError) -> Self {
        Self::new(Repr::Stored(error))
    }

    /// The source keeps no documents.
    pub(crate) fn read_only() -> Self {
        Self::new(Repr::ReadOnly)
    }

    /// Adds what was being done (`"reading bucket photos"`), for people.
    #[must_use]
    pub fn with_context(mut self, context: impl Into<Cow<'static, str>>) -> Self {
        self.inner.context = Some(context.into());
        self
    }

    /// Whether this is a document S3 would refuse.
    #[must_use]
    pub fn is_document(&self) -> bool {
        matches!(self.inner.repr, Repr::Document(_))
    }

    /// Whether the bucket does not exist.
    #[must_use]
    pub fn is_no_such_bucket(&self) -> bool {
        matches!(self.inner.repr, Repr::NoSuchBucket)
    }

    /// Whether the store cannot answer now (a timeout included).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self.inner.repr, Repr::Unavailable(_) | Repr::TimedOut(_))
    }

    /// Whether the store holds something it should not.
    #[must_use]
    pub fn is_invalid(&self) -> bool {
        matches!(self.inner.repr, Repr::Invalid(_) | Repr::Stored(_))
    }

    /// Whether the source keeps no documents.
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        matches!(self.inner.repr, Repr::ReadOnly)
    }

    /// Why the document was refused: for a [document](Self::is_document)
    /// S3 would refuse, and for an [invalid](Self::is_invalid) document in
    /// the store.
    #[must_use]
    pub fn config_error(&self) -> Option<&ConfigError> {
        match &self.inner.repr {
            Repr::Document(error) | Repr::Stored(error) => Some(error),
            Repr::NoSuchBucket
            | Repr::Unavailable(_)
            | Repr::TimedOut(_)
            | Repr::Invalid(_)
            | Repr::ReadOnly => None,
        }
    }

    /// Whether the store did not answer in time (an
    /// [unavailable](Self::is_unavailable) store).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.repr, Repr::TimedOut(_))
    }

    /// The HTTP status of S3's answer.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match &self.inner.repr {
            Repr::Document(error) => error.status(),
            Repr::NoSuchBucket => StatusCode::NOT_FOUND,
            Repr::Unavailable(_) | Repr::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            Repr::Invalid(_) | Repr::Stored(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Repr::ReadOnly => StatusCode::NOT_IMPLEMENTED,
        }
    }

    /// S3's error code (`<Code>`).
    #[must_use]
    pub fn s3_code(&self) -> &'static str {
        match &self.inner.repr {
            Repr::Document(error) => error.s3_code(),
            Repr::NoSuchBucket => "NoSuchBucket",
            Repr::Unavailable(_) | Repr::TimedOut(_) => "ServiceUnavailable",
            Repr::Invalid(_) | Repr::Stored(_) => "InternalError",
            Repr::ReadOnly => "NotImplemented",
        }
    }

    /// S3's message (`<Message>`), word for word.
    #[must_use]
    pub fn s3_message(&self) -> Cow<'static, str> {
        match &self.inner.repr {
            Repr::Document(error) => error.s3_message().into(),
            Repr::NoSuchBucket => "The specified bucket does not exist".into(),
            Repr::Unavailable(_) | Repr::TimedOut(_) => {
                "Service is unable to handle request.".into()
            }
            Repr::Invalid(_) | Repr::Stored(_) => {
                "We encountered an internal error. Please try again.".into()
            }
            Repr::ReadOnly => {
                "A header you provided implies functionality that is not implemented.".into()
            }
        }
    }

    /// Whether S3 names the bucket in this error's XML (`<BucketName>`).
    #[must_use]
    pub fn names_bucket(&self) -> bool {
        matches!(self.inner.repr, Repr::NoSuchBucket)
    }
}

impl From<ConfigError> for BucketError {
    fn from(error: ConfigError) -> Self {
        Self::document(error)
    }
}

impl fmt::Display for BucketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.inner.repr {
            Repr::Document(_) => "CORS document refused",
            Repr::NoSuchBucket => "no such bucket",
            Repr::Unavailable(_) => "CORS store unavailable",
            Repr::TimedOut(_) => "the CORS store did not answer in time",
            Repr::Invalid(_) => "invalid data in the CORS store",
            Repr::Stored(_) => "the stored CORS document does not validate",
            Repr::ReadOnly => "this CORS source keeps no documents",
        })?;
        if let Some(context) = &self.inner.context {
            write!(f, ": {context}")?;
        }
        match &self.inner.repr {
            Repr::Document(error) | Repr::Stored(error) => write!(f, ": {error}"),
            Repr::TimedOut(timeout) => write!(f, " ({timeout:?})"),
            Repr::Unavailable(Some(cause)) | Repr::Invalid(Some(cause)) => write!(f, ": {cause}"),
            Repr::NoSuchBucket | Repr::Unavailable(None) | Repr::Invalid(None) | Repr::ReadOnly => {
                Ok(())
            }
        }
    }
}

impl fmt::Debug for BucketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("BucketError");
        debug.field("code", &self.s3_code());
        if let Some(context) = &self.inner.context {
            debug.field("context", context);
        }
        match &self.inner.repr {
            Repr::Document(error) | Repr::Stored(error) => debug.field("document", error),
            Repr::TimedOut(timeout) => debug.field("timeout", timeout),
            Repr::Unavailable(Some(cause)) | Repr::Invalid(Some(cause)) => {
                debug.field("cause", cause)
            }
            Repr::NoSuchBucket | Repr::Unavailable(None) | Repr::Invalid(None) | Repr::ReadOnly => {
                &mut debug
            }
        };
        debug.finish()
    }
}

impl std::error::Error for BucketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.repr {
            Repr::Document(error) | Repr::Stored(error) => Some(error),
            Repr::Unavailable(Some(cause)) | Repr::Invalid(Some(cause)) => Some(&**cause),
            Repr::NoSuchBucket
            | Repr::Unavailable(None)
            | Repr::TimedOut(_)
            | Repr::Invalid(None)
            | Repr::ReadOnly => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigErrorKind;

    #[test]
    fn every_kind_maps_to_one_s3_answer() {
        let cases = [
            (
                BucketError::document(ConfigError::new(ConfigErrorKind::Malformed)),
                400,
                "MalformedXML",
            ),
            (BucketError::no_such_bucket(), 404, "NoSuchBucket"),
            (BucketError::unavailable("down"), 503, "ServiceUnavailable"),
            (
                BucketError::timed_out(Duration::from_secs(2)),
                503,
                "ServiceUnavailable",
            ),
            (BucketError::invalid("garbage"), 500, "InternalError"),
            (BucketError::read_only(), 501, "NotImplemented"),
        ];
        for (error, status, code) in cases {
            assert_eq!(
                (error.status().as_u16(), error.s3_code()),
                (status, code),
                "{error:?}"
            );
            assert!(!error.s3_message().is_empty());
            assert_eq!(error.names_bucket(), code == "NoSuchBucket");
        }
    }

    #[test]
    fn the_cause_is_the_source_and_in_the_message() {
        use std::error::Error as _;
        let error = BucketError::unavailable(std::io::Error::other("refused"));
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
        assert!(error.to_string().ends_with(": refused"));
        let timeout = BucketError::timed_out(Duration::from_millis(1500));
        assert!(timeout.is_timeout());
        assert!(timeout.is_unavailable());
        assert_eq!(
            timeout.to_string(),
            "the CORS store did not answer in time (1.5s)"
        );
    }
}
