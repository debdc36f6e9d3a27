//! [`EtcdConfig`]: where the etcd cluster is, how to be let in, where the
//! documents are in it, and how long to wait for it; and its URL form.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{EtcdTls, Password};

/// The port an `etcd://` URL means when it names none: etcd's client port.
pub const DEFAULT_PORT: u16 = 2379;

/// How to reach etcd and where the documents live in it.
///
/// Built from endpoints ([`new`](Self::new)) or from a URL
/// ([`from_url`](Self::from_url), also [`FromStr`]), then adjusted with the
/// setters. Every setting has a default suited to a service that must never
/// hang on its store: a second to connect, two seconds for a request.
///
/// # TLS and users
///
/// With [`tls`](Self::tls) every member is reached over TLS (`https://`),
/// its certificate checked against the given authority, with a client
/// certificate for etcd's `--client-cert-auth` if one is given. With
/// [`user`](Self::user) the store logs in as an etcd user (etcd's
/// authentication) and logs in again when its token expires. The password
/// and the client key appear in no `Debug` output, log or error.
///
/// # Keys
///
/// A bucket's document is the value of the key `{prefix}{bucket}`. The
/// prefix ends with `/` (the setters add it when missing), so the default
/// prefix puts the document of bucket `photos` at
/// `tower-s3-cors/buckets/photos`. The empty prefix puts documents at the
/// bucket names themselves, for an etcd given to this store alone.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_s3_cors_etcd::EtcdConfig;
///
/// let config = EtcdConfig::new(["etcd-1:2379", "etcd-2:2379"])
///     .prefix("prod/cors")
///     .request_timeout(Duration::from_millis(500));
/// assert_eq!(config.endpoints(), ["http://etcd-1:2379", "http://etcd-2:2379"]);
/// assert_eq!(config.key_prefix(), "prod/cors/");
///
/// let same = EtcdConfig::from_url("etcd://etcd-1:2379,etcd-2/prod/cors")?
///     .request_timeout(Duration::from_millis(500));
/// assert_eq!(config, same);
/// # Ok::<(), tower_s3_cors_etcd::UrlError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdConfig {
    endpoints: Vec<String>,
    prefix: String,
    pub(crate) tls: Option<EtcdTls>,
    pub(crate) user: Option<(String, Password)>,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) keep_alive: Option<(Duration, Duration)>,
    pub(crate) progress_interval: Duration,
}

impl EtcdConfig {
    /// The key prefix used unless another is set.
    pub const DEFAULT_PREFIX: &'static str = "tower-s3-cors/buckets/";

    /// Default for [`connect_timeout`](Self::connect_timeout): 1 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

    /// Default for [`request_timeout`](Self::request_timeout): 2 s.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

    /// Default for [`watch_progress`](Self::watch_progress): 1 s.
    pub const DEFAULT_WATCH_PROGRESS: Duration = Duration::from_secs(1);

    /// A configuration for the etcd members at `endpoints`, each
    /// `host:port` (kept as `http://host:port`, or `https://host:port` once
    /// [`tls`](Self::tls) is set) or a URL, with the default prefix and
    /// timeouts.
    ///
    /// Endpoints are checked when the store connects
    /// ([`EtcdStore::connect`](crate::EtcdStore::connect)); `https://`
    /// ones need [`tls`](Self::tls).
    #[must_use]
    pub fn new<I>(endpoints: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            endpoints: endpoints
                .into_iter()
                .map(|endpoint| {
                    let endpoint = endpoint.into();
                    if endpoint.contains("://") {
                        endpoint
                    } else {
                        format!("http://{endpoint}")
                    }
                })
                .collect(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            tls: None,
            user: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            keep_alive: Some((Duration::from_secs(10), Duration::from_secs(5))),
            progress_interval: Self::DEFAULT_WATCH_PROGRESS,
        }
    }

    /// A configuration from a URL `etcd://HOST[:PORT][,HOST[:PORT]…][/PREFIX]`,
    /// or `etcds://…` for members reached over TLS (`https://`; give the
    /// authority with [`tls`](Self::tls)).
    ///
    /// - `HOST` is a name, an IPv4 address or a bracketed IPv6 address;
    ///   `PORT` defaults to [`DEFAULT_PORT`] (2379). Several members are
    ///   separated by commas.
    /// - `PREFIX` is everything after the first `/`, taken as written (no
    ///   percent-decoding), with a `/` added at its end when it has none:
    ///   `etcd://127.0.0.1:2379/prod/cors` keeps bucket `photos` at
    ///   `prod/cors/photos`. Without one (or with `/` alone) the prefix is
    ///   [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX).
    ///
    /// The timeouts are the defaults; adjust them with the setters.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] saying what is wrong: another scheme, no member, a bad
    /// host or port, a prefix with spaces or control characters, or parts the
    /// form does not have (user, query, fragment). A user and password in
    /// the URL are refused, and left out of the error: give them with
    /// [`user`](Self::user).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_s3_cors_etcd::{EtcdConfig, UrlErrorKind};
    ///
    /// let config = EtcdConfig::from_url("etcd://127.0.0.1:2379")?;
    /// assert_eq!(config.endpoints(), ["http://127.0.0.1:2379"]);
    /// assert_eq!(config.key_prefix(), EtcdConfig::DEFAULT_PREFIX);
    ///
    /// let config = EtcdConfig::from_url("etcd://[::1]:23790,etcd-2/fleet")?;
    /// assert_eq!(config.endpoints(), ["http://[::1]:23790", "http://etcd-2:2379"]);
    /// assert_eq!(config.key_prefix(), "fleet/");
    ///
    /// let config = EtcdConfig::from_url("etcds://etcd-1,etcd-2:23790")?;
    /// assert_eq!(config.endpoints(), ["https://etcd-1:2379", "https://etcd-2:23790"]);
    ///
    /// let error = EtcdConfig::from_url("http://127.0.0.1:2379").unwrap_err();
    /// assert_eq!(error.kind(), UrlErrorKind::Scheme);
    /// let error = EtcdConfig::from_url("etcd://127.0.0.1:99999").unwrap_err();
    /// assert_eq!(error.kind(), UrlErrorKind::Endpoint);
    /// # Ok::<(), tower_s3_cors_etcd::UrlError>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("etcd://") {
            ("http", rest)
        } else if let Some(rest) = url.strip_prefix("etcds://") {
            ("https", rest)
        } else {
            return Err(UrlError::new(
                UrlErrorKind::Scheme,
                url,
                "it must start with etcd:// (or etcds:// for TLS)",
            ));
        };
        if let Some(c) = rest.chars().find(|c| matches!(c, '?' | '#' | '@')) {
            let part = match c {
                '?' => "a query",
                '#' => "a fragment",
                _ => "user information",
            };
            return Err(UrlError::new(
                UrlErrorKind::Unsupported,
                url,
                format!("an etcd URL has no {part}"),
            ));
        }
        let (members, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut endpoints = Vec::new();
        for member in members.split(',') {
            endpoints.push(
                parse_member(member)
                    .map(|m| format!("{scheme}://{m}"))
                    .map_err(|why| {
                        UrlError::new(
                            UrlErrorKind::Endpoint,
                            url,
                            format!("member `{member}`: {why}"),
                        )
                    })?,
            );
        }
        if let Some(c) = prefix.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::new(
                UrlErrorKind::Prefix,
                url,
                format!("the key prefix contains {c:?}"),
            ));
        }
        let mut config = Self::new(endpoints);
        if !prefix.is_empty() {
            config = config.prefix(prefix);
        }
        Ok(config)
    }

    /// Sets the key prefix; a `/` is added at its end when it has none
    /// (except to the empty prefix).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        self.prefix = prefix;
        self
    }

    /// Reaches every member over TLS with `tls`: `http://` endpoints
    /// become `https://`.
    #[must_use]
    pub fn tls(mut self, tls: EtcdTls) -> Self {
        for endpoint in &mut self.endpoints {
            if let Some(rest) = endpoint.strip_prefix("http://") {
                *endpoint = format!("https://{rest}");
            }
        }
        self.tls = Some(tls);
        self
    }

    /// Logs in as the etcd user `name` with `password` (etcd's
    /// authentication; the token etcd gives is renewed when it expires).
    /// The password appears in no `Debug` output, log or error.
    #[must_use]
    pub fn user(mut self, name: impl Into<String>, password: impl Into<Password>) -> Self {
        self.user = Some((name.into(), password.into()));
        self
    }

    /// The etcd user the store logs in as, if any.
    #[must_use]
    pub fn user_name(&self) -> Option<&str> {
        self.user.as_ref().map(|(name, _)| name.as_str())
    }

    /// The TLS settings, if members are reached over TLS.
    #[must_use]
    pub fn tls_settings(&self) -> Option<&EtcdTls> {
        self.tls.as_ref()
    }

    /// Sets how the change stream finds a member that hangs (a stopped
    /// process, a network cut no one is told of): when the member has said
    /// nothing for `interval`, the stream asks it for its progress (etcd's
    /// watch progress request, which every member answers at once); with no
    /// answer within another `interval`, it takes the member for lost, says
    /// so, and reopens the watch on the next member, with a
    /// [`Resync`](tower_s3_cors::store::Change::Resync). So a hung member is
    /// noticed within two intervals (default 1 s: within 2 s), whatever
    /// the keep-alive. The least is 10 ms.
    #[must_use]
    pub fn watch_progress(mut self, interval: Duration) -> Self {
        self.progress_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Sets how long connecting to a member may take (default 1 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long one request (`get`, `put`, `delete`, opening the
    /// watch) may take, connecting included (default 2 s). A request that
    /// takes longer fails with
    /// [unavailable](tower_s3_cors::source::BucketError::is_unavailable).
    ///
    /// With several members, a request goes to the member that answered
    /// last, and on to the next ones while a member cannot be reached; the
    /// time is shared evenly among the members still to try, so that a
    /// silent one leaves time for the others.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the delays between attempts to reopen a lost watch: the first
    /// is `initial` (at least 10 ms), each next one twice the last, up to
    /// `max`, each less a random part of up to half of it (defaults:
    /// 100 ms, 2 s). A watch that stayed open for `max` or longer starts
    /// again from `initial`.
    #[must_use]
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial.max(Duration::from_millis(10));
        self.backoff_max = max.max(self.backoff_initial);
        self
    }

    /// Sets HTTP/2 keep-alive pings, which find a member that went silent
    /// (a network cut rather than a closed connection): one every
    /// `interval`, the connection dropped when one is not answered within
    /// `timeout` (defaults: 10 s, 5 s; etcd refuses pings more frequent
    /// than every 5 s unless its `--grpc-keepalive-min-time` says
    /// otherwise). `None` turns them off.
    #[must_use]
    pub fn keep_alive(mut self, keep_alive: Option<(Duration, Duration)>) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// The endpoints, as URLs (`http://host:port`, `https://host:port`).
    #[must_use]
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The key prefix: a bucket's document is at `{key_prefix}{bucket}`.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }
}

impl FromStr for EtcdConfig {
    type Err = UrlError;

    /// As [`EtcdConfig::from_url`].
    fn from_str(url: &str) -> Result<Self, UrlError> {
        Self::from_url(url)
    }
}

/// One `HOST[:PORT]` of an `etcd://` URL, as `host:port`.
fn parse_member(member: &str) -> Result<String, &'static str> {
    if member.is_empty() {
        return Err("empty");
    }
    let (host, port) = if let Some(bracketed) = member.strip_prefix('[') {
        let (address, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address without its closing `]`")?;
        address
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| "not an IPv6 address between `[` and `]`")?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("text after `]` is not `:PORT`")?,
            ),
        };
        (format!("[{address}]"), port)
    } else {
        let (host, port) = match member.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (member, None),
        };
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !valid_host {
            return Err("the host must be a name, an IPv4 address or [IPv6]");
        }
        (host.to_owned(), port)
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
            .ok_or("the port must be a number from 1 to 65535")?,
    };
    Ok(format!("{host}:{port}"))
}

/// An `etcd://` (or `etcds://`) URL that [`EtcdConfig::from_url`] could not
/// read. A user and password in it are not kept.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlError {
    kind: UrlErrorKind,
    url: String,
    detail: String,
}

/// What is wrong with an `etcd://` URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlErrorKind {
    /// It does not start with `etcd://` or `etcds://`.
    Scheme,
    /// A member (`HOST[:PORT]`) is empty or malformed.
    Endpoint,
    /// The key prefix has whitespace or control characters.
    Prefix,
    /// It has parts an etcd URL does not have: user, query, fragment.
    Unsupported,
}

impl UrlError {
    fn new(kind: UrlErrorKind, url: &str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            url: without_user(url),
            detail: detail.into(),
        }
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> UrlErrorKind {
        self.kind
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid etcd URL `{}` (expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX], \
             or etcds:// for TLS): {}",
            self.url.escape_debug(),
            self.detail
        )
    }
}

impl fmt::Debug for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlError")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("detail", &self.detail)
            .finish()
    }
}

impl std::error::Error for UrlError {}

/// `url` without what stands between `://` and an `@` of its authority (a
/// user and password), so that no message shows them.
fn without_user(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn kind(url: &str) -> UrlErrorKind {
        EtcdConfig::from_url(url).unwrap_err().kind()
    }

    #[test]
    fn urls_that_read() {
        let config = EtcdConfig::from_url("etcd://localhost").unwrap();
        assert_eq!(config.endpoints(), ["http://localhost:2379"]);
        assert_eq!(config.key_prefix(), EtcdConfig::DEFAULT_PREFIX);

        let config = EtcdConfig::from_url("etcd://127.0.0.1:1/").unwrap();
        assert_eq!(config.endpoints(), ["http://127.0.0.1:1"]);
        assert_eq!(config.key_prefix(), EtcdConfig::DEFAULT_PREFIX);

        let config = EtcdConfig::from_url("etcd://a:1,b:2,[::1]/x/y/").unwrap();
        assert_eq!(
            config.endpoints(),
            ["http://a:1", "http://b:2", "http://[::1]:2379"]
        );
        assert_eq!(config.key_prefix(), "x/y/");

        // A leading `/` of the prefix is kept: etcd keys are bytes.
        let config = EtcdConfig::from_url("etcd://h:65535//registry/cors").unwrap();
        assert_eq!(config.key_prefix(), "/registry/cors/");

        let config: EtcdConfig = "etcd://h/é".parse().unwrap();
        assert_eq!(config.key_prefix(), "é/");

        let config = EtcdConfig::from_url("etcds://a:1,[::1]/x").unwrap();
        assert_eq!(config.endpoints(), ["https://a:1", "https://[::1]:2379"]);
        assert_eq!(config.key_prefix(), "x/");
    }

    #[test]
    fn urls_that_do_not() {
        assert_eq!(kind(""), UrlErrorKind::Scheme);
        assert_eq!(kind("http://h:1"), UrlErrorKind::Scheme);
        assert_eq!(kind("ETCD://h:1"), UrlErrorKind::Scheme);
        assert_eq!(kind("etcd://"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd:///prefix"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:1,/p"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:0"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:65536"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:+1"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:1:2"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h h:1"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://[::1:1"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://[zz]:1"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://[::1]1"), UrlErrorKind::Endpoint);
        assert_eq!(kind("etcd://h:1/a b"), UrlErrorKind::Prefix);
        assert_eq!(kind("etcd://h:1/a\nb"), UrlErrorKind::Prefix);
        assert_eq!(kind("etcd://h:1/p?x=1"), UrlErrorKind::Unsupported);
        assert_eq!(kind("etcd://h:1/p#f"), UrlErrorKind::Unsupported);
        assert_eq!(kind("etcd://user@h:1"), UrlErrorKind::Unsupported);
        assert_eq!(kind("etcds://user:pw@h:1"), UrlErrorKind::Unsupported);
        assert_eq!(kind("etcds:/h:1"), UrlErrorKind::Scheme);
        assert_eq!(kind("https://h:1"), UrlErrorKind::Scheme);
    }

    #[test]
    fn secrets_stay_out_of_errors_and_debug() {
        for url in [
            "etcds://fleet:s3cr3t@h:1/p",
            "etcd://a,fleet:s3cr3t@h:1",
            "etcd://s3cr3t@h",
        ] {
            let error = EtcdConfig::from_url(url).unwrap_err();
            assert!(!error.to_string().contains("s3cr3t"), "{error}");
            assert!(!format!("{error:?}").contains("s3cr3t"), "{error:?}");
        }
        let config = EtcdConfig::new(["h:1"])
            .user("fleet", "s3cr3t")
            .tls(EtcdTls::new("CA").identity("CERT", "s3cr3t-key"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("fleet"), "{debug}");
        assert_eq!(config.endpoints(), ["https://h:1"]);
        assert_eq!(config.user_name(), Some("fleet"));
    }

    #[test]
    fn url_errors_say_what_and_where() {
        let error = EtcdConfig::from_url("etcd://h:99999/p").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("etcd://h:99999/p"), "{text}");
        assert!(text.contains("h:99999"), "{text}");
        assert!(text.contains("65535"), "{text}");
    }

    #[test]
    fn prefixes_end_with_a_slash() {
        let config = EtcdConfig::new(["h:1"]);
        assert_eq!(config.clone().prefix("a").key_prefix(), "a/");
        assert_eq!(config.clone().prefix("a/").key_prefix(), "a/");
        assert_eq!(config.prefix("").key_prefix(), "");
    }
}
