//! Finding the bucket of a request exactly as s3s finds it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::header::HOST;
use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};
use s3s::path::{
    S3Path, parse_path_style_with_validation, parse_virtual_hosted_style_with_validation,
};
use s3s::service::S3ServiceBuilder;
use s3s::validation::{AwsNameValidation, NameValidation};

use tower_s3_cors::source::{Addressing, Locate, Located, RequestHead};

/// How an s3s service reads the bucket out of a request: its host parser
/// ([`S3Host`], for virtual-hosted-style requests) and its bucket-name
/// validation ([`NameValidation`]).
///
/// A locator ([`Locate`]) for the core crate's bucket sources: build one,
/// [`install`](Self::install) it on the [`S3ServiceBuilder`], and give it to
/// the source (`ReadThrough::builder(store).addressing(addressing)`, or
/// `Buckets::with_addressing(addressing)`): the CORS layer then finds the
/// bucket with the very same parser s3s uses, so a request that s3s serves
/// from bucket `photos` gets the CORS rules of bucket `photos`, whatever its
/// addressing style.
///
/// ```
/// use http::Request;
/// use s3s::host::SingleDomain;
/// use tower_s3_cors::s3::ResourceType;
/// use tower_s3_cors::source::{Locate, RequestHead};
/// use tower_s3_cors_s3s::S3sAddressing;
///
/// let addressing = S3sAddressing::virtual_hosted(SingleDomain::new("s3.example.test")?);
///
/// let virtual_hosted = Request::get("/cat.jpg").header("host", "photos.s3.example.test").body(())?;
/// let located = addressing.locate(&RequestHead::new(&virtual_hosted)).unwrap();
/// assert_eq!((located.bucket(), located.resource()), ("photos", ResourceType::Object));
///
/// // Path style keeps working on the base domain and on IP addresses.
/// let path_style = Request::get("/photos/").header("host", "127.0.0.1:8014").body(())?;
/// let located = addressing.locate(&RequestHead::new(&path_style)).unwrap();
/// assert_eq!((located.bucket(), located.resource()), ("photos", ResourceType::Bucket));
///
/// // Percent-encoding is decoded first, as s3s does.
/// let encoded = Request::get("/ph%6Ftos/a%20b").header("host", "s3.example.test").body(())?;
/// assert_eq!(addressing.locate(&RequestHead::new(&encoded)).unwrap().bucket(), "photos");
///
/// // No bucket (ListBuckets), or a name s3s refuses: nothing located.
/// let root = Request::get("/").header("host", "s3.example.test").body(())?;
/// assert!(addressing.locate(&RequestHead::new(&root)).is_none());
/// let bad = Request::get("/Not_A_Bucket/x").header("host", "s3.example.test").body(())?;
/// assert!(addressing.locate(&RequestHead::new(&bad)).is_none());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct S3sAddressing {
    host: Option<Arc<dyn S3Host>>,
    validation: Option<Arc<dyn NameValidation>>,
}

impl S3sAddressing {
    /// Path-style requests only (`/{bucket}/{key}`): s3s's behaviour when no
    /// host parser is set.
    #[must_use]
    pub fn path_style() -> Self {
        Self {
            host: None,
            validation: None,
        }
    }

    /// Virtual-hosted-style requests (`{bucket}.{domain}`) through `host`
    /// (s3s's [`SingleDomain`](s3s::host::SingleDomain),
    /// [`MultiDomain`](s3s::host::MultiDomain) or your own [`S3Host`]), and
    /// path-style requests to the base domain or to an IP address.
    ///
    /// s3s hands the parser the `Host` header as sent, port included: a
    /// client of `http://localhost:8014` sends `photos.localhost:8014`, which
    /// a `SingleDomain::new("localhost")` does not match. Give the domain
    /// with its port, or a `MultiDomain` with both forms.
    #[must_use]
    pub fn virtual_hosted(host: impl S3Host) -> Self {
        Self {
            host: Some(Arc::new(host)),
            validation: None,
        }
    }

    /// Validates bucket names with `validation` instead of s3s's default
    /// ([`AwsNameValidation`]).
    #[must_use]
    pub fn with_validation(mut self, validation: impl NameValidation) -> Self {
        self.validation = Some(Arc::new(validation));
        self
    }

    /// Whether virtual-hosted-style requests are read.
    #[must_use]
    pub fn is_virtual_hosted(&self) -> bool {
        self.host.is_some()
    }

    /// Sets this host parser and name validation on an s3s service builder,
    /// so that the service and the CORS layer share them.
    pub fn install(&self, builder: &mut S3ServiceBuilder) {
        if let Some(host) = &self.host {
            builder.set_host(SharedHost(Arc::clone(host)));
        }
        if let Some(validation) = &self.validation {
            builder.set_validation(SharedValidation(Arc::clone(validation)));
        }
    }
}

impl Locate for S3sAddressing {
    /// The bucket a request is for, found as s3s finds it, or `None` when
    /// s3s would find none (a request for `/`) or refuse the request (a
    /// bucket name or `Host` header it does not accept, a path that is not
    /// UTF-8 once decoded).
    ///
    /// The steps are s3s's: the `Host` header (or, without one, the URI's
    /// authority); when a host parser is set and the host is not an IP
    /// address (with or without a port), the parser's bucket and the path as
    /// a key; otherwise the path's first segment. The path is
    /// percent-decoded first, and bucket names are validated.
    ///
    /// One difference: s3s falls back to the URI's authority only for HTTP/2
    /// and later, and this method cannot see the HTTP version; an HTTP/1.1
    /// request that has no `Host` header but an absolute-form URI (which
    /// HTTP/1.1 does not allow) is read with that authority here.
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        let host = match request.headers().get(HOST) {
            Some(value) => Some(value.to_str().ok()?),
            None => request.uri().authority().map(http::uri::Authority::as_str),
        };
        let path = urlencoding::decode(request.uri().path()).ok()?;
        let validation: &dyn NameValidation = match &self.validation {
            Some(validation) => validation.as_ref(),
            None => &AwsNameValidation::new(),
        };
        let parsed = match (host, &self.host) {
            (Some(host), Some(parser)) if !is_ip_address(host) => {
                let virtual_host = parser.parse_host_header(host).ok()?;
                parse_virtual_hosted_style_with_validation(virtual_host.bucket(), &path, validation)
            }
            _ => parse_path_style_with_validation(&path, validation),
        };
        match parsed.ok()? {
            S3Path::Root => None,
            S3Path::Bucket { bucket } => Some(Located::new(String::from(bucket), "")),
            S3Path::Object { bucket, key } => {
                Some(Located::new(String::from(bucket), String::from(key)))
            }
        }
    }
}

/// The addressing of the core crate's sources, found as s3s finds it.
impl From<S3sAddressing> for Addressing {
    fn from(addressing: S3sAddressing) -> Self {
        Addressing::custom(addressing)
    }
}

/// Whether s3s reads `host` as an address rather than a name (and so never
/// gives it to the host parser).
fn is_ip_address(host: &str) -> bool {
    host.parse::<SocketAddr>().is_ok() || host.parse::<IpAddr>().is_ok()
}

impl fmt::Debug for S3sAddressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3sAddressing")
            .field("virtual_hosted", &self.host.is_some())
            .field("custom_validation", &self.validation.is_some())
            .finish()
    }
}

/// One host parser for both the s3s service and the CORS layer.
struct SharedHost(Arc<dyn S3Host>);

impl S3Host for SharedHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        self.0.parse_host_header(host)
    }
}

/// One name validation for both the s3s service and the CORS layer.
struct SharedValidation(Arc<dyn NameValidation>);

impl NameValidation for SharedValidation {
    fn validate_bucket_name(&self, name: &str) -> bool {
        self.0.validate_bucket_name(name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use http::Request;
    use s3s::host::{MultiDomain, SingleDomain};
    use tower_s3_cors::s3::ResourceType;

    fn locate(
        addressing: &S3sAddressing,
        host: Option<&str>,
        uri: &str,
    ) -> Option<(String, ResourceType)> {
        let mut request = Request::get(uri);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let request = request.body(()).unwrap();
        addressing
            .locate(&RequestHead::new(&request))
            .map(|l| (l.bucket().to_owned(), l.resource()))
    }

    fn bucket(name: &str) -> Option<(String, ResourceType)> {
        Some((name.to_owned(), ResourceType::Bucket))
    }

    fn object(name: &str) -> Option<(String, ResourceType)> {
        Some((name.to_owned(), ResourceType::Object))
    }

    #[test]
    fn path_style_ignores_the_host() {
        let a = S3sAddressing::path_style();
        assert_eq!(
            locate(&a, Some("photos.localhost"), "/docs/a"),
            object("docs")
        );
        assert_eq!(locate(&a, None, "/docs"), bucket("docs"));
        assert_eq!(locate(&a, None, "/docs/"), bucket("docs"));
        assert_eq!(locate(&a, None, "/docs//"), object("docs"));
        assert_eq!(locate(&a, None, "/"), None);
    }

    #[test]
    fn names_s3s_refuses_are_not_located() {
        let a = S3sAddressing::path_style();
        for uri in [
            "/UPPER/x",
            "/a_b/x",
            "/ab/x",
            "/192.168.1.1/x",
            "/-x/y",
            "/%FF%FE/x",
        ] {
            assert_eq!(locate(&a, None, uri), None, "{uri}");
        }
    }

    #[test]
    fn the_path_is_percent_decoded_before_the_bucket_is_read() {
        let a = S3sAddressing::path_style();
        assert_eq!(locate(&a, None, "/my%2Dbucket/k"), object("my-bucket"));
        // An encoded slash splits too, as in s3s.
        assert_eq!(locate(&a, None, "/docs%2Fa"), object("docs"));
    }

    #[test]
    fn a_single_domain_reads_the_bucket_from_the_host() {
        let a = S3sAddressing::virtual_hosted(SingleDomain::new("localhost:8014").unwrap());
        assert_eq!(
            locate(&a, Some("photos.localhost:8014"), "/a.png"),
            object("photos")
        );
        assert_eq!(
            locate(&a, Some("photos.localhost:8014"), "/"),
            bucket("photos")
        );
        // The base domain itself, and IP addresses, are path style.
        assert_eq!(
            locate(&a, Some("localhost:8014"), "/docs/a"),
            object("docs")
        );
        assert_eq!(
            locate(&a, Some("127.0.0.1:8014"), "/docs/a"),
            object("docs")
        );
        assert_eq!(locate(&a, Some("[::1]:8014"), "/docs/a"), object("docs"));
        assert_eq!(locate(&a, Some("127.0.0.1"), "/docs"), bucket("docs"));
        // Without the port the domain does not match: s3s reads the whole
        // host as a CNAME-style bucket name.
        assert_eq!(
            locate(&a, Some("photos.localhost"), "/a.png"),
            object("photos.localhost")
        );
        assert_eq!(locate(&a, Some("other:8014"), "/a.png"), None);
        // The first path segment is part of the key, not a bucket.
        assert_eq!(
            locate(&a, Some("photos.localhost:8014"), "/docs/a"),
            object("photos")
        );
    }

    #[test]
    fn a_cname_host_is_the_bucket_name() {
        // s3s's SingleDomain treats any other valid host name as the bucket.
        let a = S3sAddressing::virtual_hosted(SingleDomain::new("s3.example.test").unwrap());
        assert_eq!(
            locate(&a, Some("media.example.org"), "/x"),
            object("media.example.org")
        );
    }

    #[test]
    fn a_multi_domain_matches_each_domain() {
        let a = S3sAddressing::virtual_hosted(
            MultiDomain::new(["localhost", "localhost:9000"]).unwrap(),
        );
        assert_eq!(locate(&a, Some("photos.localhost"), "/x"), object("photos"));
        assert_eq!(
            locate(&a, Some("photos.localhost:9000"), "/x"),
            object("photos")
        );
    }

    #[test]
    fn an_invalid_host_header_is_not_located() {
        let a = S3sAddressing::virtual_hosted(SingleDomain::new("localhost").unwrap());
        assert_eq!(locate(&a, Some("bad host!"), "/docs/a"), None);
        let request = Request::get("/docs/a")
            .header("host", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(())
            .unwrap();
        assert!(a.locate(&RequestHead::new(&request)).is_none());
    }

    #[test]
    fn without_a_host_header_the_authority_is_read() {
        let a = S3sAddressing::virtual_hosted(SingleDomain::new("localhost").unwrap());
        assert_eq!(
            locate(&a, None, "http://photos.localhost/x"),
            object("photos")
        );
        assert_eq!(locate(&a, None, "/docs/x"), object("docs"));
    }

    #[test]
    fn a_custom_validation_is_used() {
        struct Anything;
        impl NameValidation for Anything {
            fn validate_bucket_name(&self, name: &str) -> bool {
                !name.is_empty()
            }
        }
        let a = S3sAddressing::path_style().with_validation(Anything);
        // Located, in the lower case in which the core's sources know
        // every bucket (they fold the names s3s hands the decorator too).
        assert_eq!(locate(&a, None, "/Not_Valid/x"), object("not_valid"));
    }
}
