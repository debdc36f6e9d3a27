//! [`ConnectError`], and how etcd's errors become [`BucketError`]s.

use std::fmt;
use std::time::Duration;

use tower_s3_cors::source::BucketError;

use crate::UrlError;

/// Why [`EtcdStore::connect`](crate::EtcdStore::connect) could not make a
/// store. An unreachable etcd is *not* one of the reasons: the store
/// connects lazily.
pub struct ConnectError {
    kind: ConnectErrorKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The kinds of [`ConnectError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// The `etcd://` URL could not be read (the source is a [`UrlError`]).
    Url,
    /// No endpoint was given, or the etcd client refused one.
    Endpoint,
    /// Not called from within a Tokio runtime, which the store needs for
    /// its connections and change streams.
    NoRuntime,
}

impl ConnectError {
    pub(crate) fn new(
        kind: ConnectErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> ConnectErrorKind {
        self.kind
    }
}

impl From<UrlError> for ConnectError {
    fn from(error: UrlError) -> Self {
        Self::new(ConnectErrorKind::Url, error)
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            // The URL error says it all.
            ConnectErrorKind::Url => fmt::Display::fmt(&self.source, f),
            ConnectErrorKind::Endpoint => write!(f, "bad etcd endpoint: {}", self.source),
            ConnectErrorKind::NoRuntime => write!(
                f,
                "the etcd store must be created within a Tokio runtime: {}",
                self.source
            ),
        }
    }
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// etcd did not answer in time.
#[derive(Debug)]
pub(crate) struct TimedOut(pub(crate) Duration);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "etcd did not answer within {:?}", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// The store error for a failed etcd call (see [`is_refusal`]).
pub(crate) fn store_error(error: etcd_client::Error, doing: String) -> BucketError {
    let error = if is_refusal(&error) {
        BucketError::invalid(error)
    } else {
        BucketError::unavailable(error)
    };
    error.with_context(doing)
}

/// Whether etcd refused a request as malformed (too large, for one): an
/// [invalid](BucketError::is_invalid) error. Everything else (no
/// connection, no leader, no space, timeouts, refused credentials) is an
/// [unavailable](BucketError::is_unavailable) store, which S3 answers with
/// `503`, and worth trying on another member.
pub(crate) fn is_refusal(error: &etcd_client::Error) -> bool {
    use etcd_client::Error as E;
    match error {
        E::GRpcStatus(status) => match status.code() as i32 {
            grpc_code::INVALID_ARGUMENT | grpc_code::OUT_OF_RANGE => true,
            // gRPC's own limit on message sizes; etcd's full disk is the
            // same code with another message, and is an outage.
            grpc_code::RESOURCE_EXHAUSTED => status.message().contains("larger than max"),
            _ => false,
        },
        E::InvalidArgs(_) => true,
        _ => false,
    }
}

/// Whether etcd refused a read at a revision because it does not have it:
/// compacted, or in the future (an etcd that lost or replaced its data).
pub(crate) fn is_missing_revision(error: &etcd_client::Error) -> bool {
    matches!(error, etcd_client::Error::GRpcStatus(status)
        if status.code() as i32 == grpc_code::OUT_OF_RANGE)
}

/// The gRPC status codes that are not outages (their numbers are fixed by
/// the gRPC protocol), without a dependency on `tonic` for its `Code`.
mod grpc_code {
    pub(super) const INVALID_ARGUMENT: i32 = 3;
    pub(super) const RESOURCE_EXHAUSTED: i32 = 8;
    pub(super) const OUT_OF_RANGE: i32 = 11;
}
