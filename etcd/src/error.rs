//! [`ConnectError`], [`EtcdError`], and how etcd's errors become
//! [`BucketError`]s.

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
    /// The TLS settings cannot be used: a certificate or key that does not
    /// read as PEM, `https://` members without a certificate authority, or
    /// TLS settings for `http://` members.
    Tls,
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
            ConnectErrorKind::Tls => write!(f, "bad TLS settings for etcd: {}", self.source),
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

/// Why etcd, or one of its members, could not do what the store asked:
/// the source of the [`BucketError`]s of an [`EtcdStore`](crate::EtcdStore)
/// (find it with [`EtcdError::of`]), and what its logs say.
///
/// It names the member (its endpoint) whose answer it reports. When every
/// member failed, that is the most telling one: a refused certificate or
/// credentials before a member that cannot be reached.
pub struct EtcdError {
    kind: EtcdErrorKind,
    member: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    detail: Option<String>,
    /// For [`EtcdErrorKind::TimedOut`]: how long the store waited.
    waited: Option<Duration>,
}

/// The kinds of [`EtcdError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EtcdErrorKind {
    /// The member cannot be reached: connection refused, reset or closed,
    /// a name that does not resolve.
    Unreachable,
    /// The member did not answer in time (it hangs, or the network lost
    /// what was sent).
    TimedOut,
    /// The member's certificate is not trusted: not signed by the
    /// configured authority, expired, or not for the member's host name or
    /// address.
    ServerCertificate,
    /// The member refused the client's certificate (not signed by an
    /// authority it trusts, expired), or asked for one and got none.
    ClientCertificate,
    /// TLS with the member failed otherwise (a member that does not speak
    /// TLS, no protocol in common).
    Tls,
    /// etcd refused the credentials: a wrong user or password, no user
    /// where etcd wants one, a token it no longer takes.
    Authentication,
    /// The user may not do this: its roles do not cover the key prefix.
    PermissionDenied,
    /// The member has no leader, or the cluster has no quorum to commit
    /// with (etcd's "no leader", "leader changed", "request timed out").
    NoQuorum,
    /// etcd refused the request as malformed (a value over its size limit).
    Invalid,
    /// Another error of etcd's.
    Other,
}

impl EtcdErrorKind {
    /// Whether the error is the configuration's: certificates or
    /// credentials that the member refuses, which will not get better
    /// without an operator.
    #[must_use]
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            Self::ServerCertificate
                | Self::ClientCertificate
                | Self::Tls
                | Self::Authentication
                | Self::PermissionDenied
        )
    }

    fn says(self) -> &'static str {
        match self {
            Self::Unreachable => "cannot be reached",
            Self::TimedOut => "did not answer in time",
            Self::ServerCertificate => "has a certificate that is not trusted",
            Self::ClientCertificate => {
                "refused the client certificate (or wanted one and got none)"
            }
            Self::Tls => "could not agree on TLS",
            Self::Authentication => "refused the credentials",
            Self::PermissionDenied => {
                "denied permission (the user's roles do not cover the key prefix)"
            }
            Self::NoQuorum => "has no leader, or the cluster has no quorum",
            Self::Invalid => "refused the request as invalid",
            Self::Other => "failed",
        }
    }
}

impl EtcdError {
    pub(crate) fn new(kind: EtcdErrorKind, member: Option<&str>) -> Self {
        Self {
            kind,
            member: member.map(str::to_owned),
            source: None,
            detail: None,
            waited: None,
        }
    }

    /// The error of etcd's client `error` on `member`, sorted into a kind.
    pub(crate) fn from_client(error: etcd_client::Error, member: &str) -> Self {
        let kind = kind_of(&error);
        let mut this = Self::new(kind, Some(member));
        this.source = Some(Box::new(error));
        this
    }

    /// With a detail said after the kind.
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// `member` did not answer within `waited`.
    pub(crate) fn timed_out(member: Option<&str>, waited: Duration) -> Self {
        let mut this = Self::new(EtcdErrorKind::TimedOut, member);
        this.waited = Some(waited);
        this
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> EtcdErrorKind {
        self.kind
    }

    /// The member (its endpoint) whose answer this is, if one.
    #[must_use]
    pub fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// The `EtcdError` behind a store error of an
    /// [`EtcdStore`](crate::EtcdStore), if there is one.
    ///
    /// ```
    /// use tower_s3_cors::source::BucketError;
    /// use tower_s3_cors_etcd::EtcdError;
    ///
    /// let error = BucketError::unavailable("not from etcd");
    /// assert!(EtcdError::of(&error).is_none());
    /// ```
    #[must_use]
    pub fn of(error: &BucketError) -> Option<&Self> {
        std::error::Error::source(error)?.downcast_ref()
    }

    /// The store error for it, saying what the store was `doing`:
    /// [invalid](BucketError::is_invalid) for a request etcd refused as
    /// malformed, [unavailable](BucketError::is_unavailable) (S3's `503`)
    /// for everything else.
    pub(crate) fn into_store_error(self, doing: &str) -> BucketError {
        let error = match self.kind {
            EtcdErrorKind::Invalid => BucketError::invalid(self),
            _ => BucketError::unavailable(self),
        };
        error.with_context(format!("could not {doing}"))
    }
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(member) => write!(f, "etcd member {member} ")?,
            None => f.write_str("etcd ")?,
        }
        match self.waited {
            Some(waited) => write!(f, "did not answer within {waited:.1?}")?,
            None => f.write_str(self.kind.says())?,
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {}", Chain(&**source))?;
        }
        Ok(())
    }
}

impl fmt::Debug for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdError")
            .field("kind", &self.kind)
            .field("member", &self.member)
            .field("detail", &self.detail)
            .field("waited", &self.waited)
            .field(
                "source",
                &self.source.as_ref().map(|s| Chain(&**s).to_string()),
            )
            .finish()
    }
}

impl std::error::Error for EtcdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error and what lies under it, each said once: for etcd's client,
/// the gRPC status's message (etcd's own words, or tonic's) and then its
/// causes (the TLS or connection error), which the client's `Display`
/// shows only in `Debug` form.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = Vec::<String>::new();
        for cause in causes(self.0) {
            let text = match cause.downcast_ref::<etcd_client::Error>() {
                Some(etcd_client::Error::GRpcStatus(status)) => status.message().to_owned(),
                Some(etcd_client::Error::TransportError(_)) => "transport error".to_owned(),
                _ => cause.to_string(),
            };
            // Layers often repeat what is below or above them.
            if text.is_empty() || said.iter().any(|s| s.contains(&text)) {
                continue;
            }
            if !said.is_empty() {
                f.write_str(": ")?;
            }
            f.write_str(&text)?;
            said.push(text);
        }
        Ok(())
    }
}

/// `error` and its causes, looking inside I/O errors (whose `source` skips
/// the error they wrap).
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    let mut next = Some(error);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        }
        .or_else(|| status_source(current));
        Some(current)
    })
}

/// The cause a tonic `Status` carries (it is its `source`; etcd's client
/// error does not pass it on).
fn status_source<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match error.downcast_ref::<etcd_client::Error>()? {
        etcd_client::Error::GRpcStatus(status) => std::error::Error::source(status),
        etcd_client::Error::TransportError(error) => std::error::Error::source(error),
        _ => None,
    }
}

/// The alerts a TLS server sends when it refuses the client's certificate
/// (or wanted one and got none).
const CLIENT_CERTIFICATE_ALERTS: [rustls::AlertDescription; 8] = {
    use rustls::AlertDescription as Alert;
    [
        Alert::CertificateRequired,
        Alert::BadCertificate,
        Alert::CertificateExpired,
        Alert::CertificateRevoked,
        Alert::CertificateUnknown,
        Alert::UnsupportedCertificate,
        Alert::UnknownCA,
        Alert::AccessDenied,
    ]
};

/// The TLS failure somewhere under `error`, if there is one.
///
/// The TLS library's error is there, typed, when the handshake itself
/// fails (the member's certificate is not trusted). An alert the member
/// sends after the client finished its part (TLS 1.3: a refused client
/// certificate) surfaces as an HTTP/2 connection error, which keeps only
/// the text of the I/O error: that text, which the TLS library writes
/// ("received fatal alert: BadCertificate"), is read then.
fn tls_kind(error: &(dyn std::error::Error + 'static)) -> Option<EtcdErrorKind> {
    for cause in causes(error) {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls_error_kind(tls));
        }
        let text = cause.to_string();
        if let Some(alert) = text.strip_prefix("received fatal alert: ") {
            let refused = CLIENT_CERTIFICATE_ALERTS
                .iter()
                .any(|known| format!("{known:?}") == alert);
            return Some(if refused {
                EtcdErrorKind::ClientCertificate
            } else {
                EtcdErrorKind::Tls
            });
        }
    }
    None
}

/// The kind of a failure of the TLS library.
pub(crate) fn tls_error_kind(error: &rustls::Error) -> EtcdErrorKind {
    match error {
        rustls::Error::InvalidCertificate(_) => EtcdErrorKind::ServerCertificate,
        rustls::Error::AlertReceived(alert) if CLIENT_CERTIFICATE_ALERTS.contains(alert) => {
            EtcdErrorKind::ClientCertificate
        }
        _ => EtcdErrorKind::Tls,
    }
}

/// Sorts an error of etcd's client into a kind.
fn kind_of(error: &etcd_client::Error) -> EtcdErrorKind {
    use etcd_client::Error as E;
    if let Some(kind) = tls_kind(error) {
        return kind;
    }
    match error {
        E::GRpcStatus(status) => {
            let message = status.message();
            match status.code() as i32 {
                grpc_code::INVALID_ARGUMENT
                    if message.contains("authentication failed")
                        || message.contains("user name is empty")
                        || message.contains("user name not found") =>
                {
                    EtcdErrorKind::Authentication
                }
                grpc_code::INVALID_ARGUMENT | grpc_code::OUT_OF_RANGE => EtcdErrorKind::Invalid,
                // gRPC's own limit on message sizes; etcd's full disk is the
                // same code with another message, and is an outage.
                grpc_code::RESOURCE_EXHAUSTED if message.contains("larger than max") => {
                    EtcdErrorKind::Invalid
                }
                grpc_code::PERMISSION_DENIED => EtcdErrorKind::PermissionDenied,
                grpc_code::UNAUTHENTICATED => EtcdErrorKind::Authentication,
                grpc_code::FAILED_PRECONDITION if message.contains("authentication") => {
                    EtcdErrorKind::Authentication
                }
                _ if message.contains("no leader")
                    || message.contains("leader changed")
                    || message.contains("request timed out") =>
                {
                    EtcdErrorKind::NoQuorum
                }
                grpc_code::UNAVAILABLE | grpc_code::UNKNOWN | grpc_code::CANCELLED => {
                    EtcdErrorKind::Unreachable
                }
                grpc_code::DEADLINE_EXCEEDED => EtcdErrorKind::TimedOut,
                _ => EtcdErrorKind::Other,
            }
        }
        E::TransportError(_) | E::IoError(_) | E::WatchError(_) => EtcdErrorKind::Unreachable,
        E::InvalidArgs(_) | E::InvalidUri(_) | E::InvalidMetadataValue(_) => EtcdErrorKind::Invalid,
        _ => EtcdErrorKind::Other,
    }
}

/// Whether etcd refused a read at a revision because it does not have it:
/// compacted, or in the future (an etcd that lost or replaced its data).
pub(crate) fn is_missing_revision(error: &etcd_client::Error) -> bool {
    matches!(error, etcd_client::Error::GRpcStatus(status)
        if status.code() as i32 == grpc_code::OUT_OF_RANGE)
}

/// The gRPC status codes the store tells apart (their numbers are fixed by
/// the gRPC protocol), without a dependency on `tonic` for its `Code`.
mod grpc_code {
    pub(super) const CANCELLED: i32 = 1;
    pub(super) const UNKNOWN: i32 = 2;
    pub(super) const INVALID_ARGUMENT: i32 = 3;
    pub(super) const DEADLINE_EXCEEDED: i32 = 4;
    pub(super) const PERMISSION_DENIED: i32 = 7;
    pub(super) const RESOURCE_EXHAUSTED: i32 = 8;
    pub(super) const FAILED_PRECONDITION: i32 = 9;
    pub(super) const OUT_OF_RANGE: i32 = 11;
    pub(super) const UNAVAILABLE: i32 = 14;
    pub(super) const UNAUTHENTICATED: i32 = 16;
}
