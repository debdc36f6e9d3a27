//! Which bucket a request is for: the [`Locate`] trait, what it finds
//! ([`Located`]), and the built-in [`Addressing`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::RequestHead;
use crate::s3::ResourceType;

/// Finds the bucket a request is for, and the key in it (none for the
/// bucket's root).
///
/// [`Addressing`] does it S3's two ways (path style, virtual-hosted style);
/// implement this trait to find buckets another way (a tenant header, a
/// host parser of your server's own) and hand it to
/// [`Addressing::custom`]. It runs on every request: no I/O, no locks.
///
/// ```
/// use tower_s3_cors::s3::ResourceType;
/// use tower_s3_cors::source::{Locate, Located, RequestHead};
///
/// /// The bucket is named by an `x-tenant` header; the path is the key.
/// struct TenantHeader;
///
/// impl Locate for TenantHeader {
///     fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
///         let tenant = request.headers().get("x-tenant")?.to_str().ok()?;
///         Some(Located::new(tenant, request.uri().path().trim_start_matches('/')))
///     }
/// }
///
/// let request = http::Request::get("/a.png").header("x-tenant", "Acme").body(())?;
/// let located = TenantHeader.locate(&RequestHead::new(&request)).unwrap();
/// assert_eq!(located.bucket(), "acme"); // bucket names are matched in lower case
/// assert_eq!((located.key(), located.resource()), ("a.png", ResourceType::Object));
/// # Ok::<_, http::Error>(())
/// ```
pub trait Locate: Send + Sync + 'static {
    /// The bucket `request` is for, or `None` when it names none (a request
    /// for `/`, a host that is no bucket's).
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>>;
}

/// A bucket found in a request, and the key the URL names in it (empty for
/// the bucket's root).
///
/// Bucket names are ASCII-case-insensitive: [`Located::new`] keeps them in
/// lower case (borrowed from the request when they are already), so every
/// locator hands the sources the same name for the same bucket. Keys are
/// kept as the locator found them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Located<'a> {
    bucket: Cow<'a, str>,
    key: Cow<'a, str>,
}

impl<'a> Located<'a> {
    /// `bucket` (in ASCII lower case) and `key`, the object the URL names in
    /// it (without a leading `/`; empty for the bucket's root).
    #[must_use]
    pub fn new(bucket: impl Into<Cow<'a, str>>, key: impl Into<Cow<'a, str>>) -> Self {
        Self {
            bucket: bucket_name(bucket.into()),
            key: key.into(),
        }
    }

    /// The bucket's name, in lower case.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key the URL names in the bucket: empty for the bucket's root.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// [`ResourceType::Bucket`] for the bucket's root, [`ResourceType::Object`]
    /// for a key in it.
    #[must_use]
    pub fn resource(&self) -> ResourceType {
        if self.key.is_empty() {
            ResourceType::Bucket
        } else {
            ResourceType::Object
        }
    }

    /// The bucket's name, owned.
    #[must_use]
    pub fn into_bucket(self) -> String {
        self.bucket.into_owned()
    }
}

/// The name by which the sources know a bucket: ASCII lower case. The one
/// place bucket names are folded.
#[inline(always)]
pub(crate) fn bucket_name(name: Cow<'_, str>) -> Cow<'_, str> {
    if crate::policy::ascii::has_capital(name.as_bytes()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        name
    }
}

/// How requests name their bucket: S3's path style (`/{bucket}/{key}`), its
/// virtual-hosted style (`{bucket}.{base domain}`, which also takes
/// path-style requests to the base domain itself), or a [`Locate`] of
/// your own.
///
/// ```
/// use http::Request;
/// use tower_s3_cors::s3::ResourceType;
/// use tower_s3_cors::source::{Addressing, Locate, RequestHead};
///
/// let request = Request::get("/Photos/2024/cat.jpg").body(())?;
/// let located = Addressing::path_style().locate(&RequestHead::new(&request)).unwrap();
/// assert_eq!((located.bucket(), located.resource()), ("photos", ResourceType::Object));
///
/// let request = Request::get("/").header("host", "media.s3.example.test:9000").body(())?;
/// let located = Addressing::virtual_hosted("S3.example.test").locate(&RequestHead::new(&request)).unwrap();
/// assert_eq!((located.bucket(), located.resource()), ("media", ResourceType::Bucket));
/// # Ok::<_, http::Error>(())
/// ```
#[derive(Clone)]
pub struct Addressing {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    PathStyle,
    /// The base domain, lower-cased.
    VirtualHosted(Box<str>),
    Custom(Arc<dyn Locate>),
}

impl Addressing {
    /// Path style: `/{bucket}` and `/{bucket}/` are the bucket root,
    /// `/{bucket}/{key}` an object.
    #[must_use]
    pub fn path_style() -> Self {
        Self {
            repr: Repr::PathStyle,
        }
    }

    /// Virtual-hosted style: the `Host` header (or the URI's authority) is
    /// `{bucket}.{base_domain}`, with an optional port; the path `/` is the
    /// bucket root. A request whose host is `base_domain` itself is read
    /// path-style.
    #[must_use]
    pub fn virtual_hosted(base_domain: impl Into<String>) -> Self {
        let mut base = base_domain.into();
        base.make_ascii_lowercase();
        Self {
            repr: Repr::VirtualHosted(base.into()),
        }
    }

    /// Buckets found by `locator`.
    #[must_use]
    pub fn custom(locator: impl Locate) -> Self {
        Self {
            repr: Repr::Custom(Arc::new(locator)),
        }
    }
}

impl Locate for Addressing {
    #[inline]
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        let base = match &self.repr {
            Repr::PathStyle => None,
            Repr::VirtualHosted(base) => Some(base),
            Repr::Custom(locator) => return locator.locate(request),
        };
        let path = request.uri().path();
        if let Some(base) = base {
            let host = request
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| request.uri().host())?;
            let host = strip_port(host);
            if !host.eq_ignore_ascii_case(base) {
                let bucket = host
                    .len()
                    .checked_sub(base.len() + 1)
                    .filter(|&cut| {
                        host.get(cut + 1..)
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(base))
                            && host.as_bytes().get(cut) == Some(&b'.')
                    })
                    .and_then(|cut| host.get(..cut))
                    .filter(|bucket| !bucket.is_empty())?;
                return Some(Located::new(bucket, key_of(path)));
            }
        }
        let rest = path.strip_prefix('/')?;
        let (bucket, key) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        (!bucket.is_empty()).then(|| Located::new(bucket, key_of(key)))
    }
}

impl fmt::Debug for Addressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::PathStyle => f.write_str("Addressing::PathStyle"),
            Repr::VirtualHosted(base) => f
                .debug_tuple("Addressing::VirtualHosted")
                .field(base)
                .finish(),
            Repr::Custom(_) => f.write_str("Addressing::Custom"),
        }
    }
}

/// The key a path names after its bucket: the path without its leading `/`
/// (`/` and the empty path name the bucket's root).
pub(crate) fn key_of(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// `host` without its `:port`, if it has one (`[v6]:port` included).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(
        addressing: &Addressing,
        host: Option<&str>,
        uri: &str,
    ) -> Option<(String, ResourceType)> {
        let mut request = http::Request::get(uri);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let request = request.body(()).expect("a valid request");
        addressing
            .locate(&RequestHead::new(&request))
            .map(|l| (l.bucket().to_owned(), l.resource()))
    }

    #[test]
    fn path_style_names_the_first_segment() {
        let path = Addressing::path_style();
        let object = Some(("photos".to_owned(), ResourceType::Object));
        let root = Some(("photos".to_owned(), ResourceType::Bucket));
        assert_eq!(locate(&path, None, "/Photos/a/b.jpg"), object);
        assert_eq!(locate(&path, None, "/photos"), root);
        assert_eq!(locate(&path, None, "/photos/"), root);
        assert_eq!(locate(&path, None, "/"), None);
        assert_eq!(locate(&path, None, "//x"), None);
    }

    #[test]
    fn virtual_hosted_reads_the_host_and_falls_back_to_path_style() {
        let hosted = Addressing::virtual_hosted("s3.example.test");
        let media = |resource| Some(("media".to_owned(), resource));
        assert_eq!(
            locate(&hosted, Some("media.s3.example.test"), "/"),
            media(ResourceType::Bucket)
        );
        assert_eq!(
            locate(&hosted, Some("MEDIA.S3.example.test:80"), "/a"),
            media(ResourceType::Object)
        );
        assert_eq!(
            locate(&hosted, Some("s3.example.test"), "/media/a"),
            media(ResourceType::Object)
        );
        assert_eq!(locate(&hosted, Some(".s3.example.test"), "/a"), None);
        assert_eq!(locate(&hosted, Some("media.other.test"), "/a"), None);
        assert_eq!(locate(&hosted, Some("[::1]:9000"), "/a"), None);
        assert_eq!(locate(&hosted, None, "/media"), None);
    }

    #[test]
    fn a_custom_locator_is_asked_and_its_names_folded() {
        struct Fixed;
        impl Locate for Fixed {
            fn locate<'a>(&self, _: &RequestHead<'a>) -> Option<Located<'a>> {
                Some(Located::new(String::from("MiXeD"), ""))
            }
        }
        let custom = Addressing::custom(Fixed);
        assert_eq!(
            locate(&custom, None, "/x/y"),
            Some(("mixed".to_owned(), ResourceType::Bucket))
        );
        assert_eq!(format!("{custom:?}"), "Addressing::Custom");
    }
}
