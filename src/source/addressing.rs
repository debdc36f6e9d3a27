//! [`Addressing`]: which bucket a request is for.

use std::borrow::Cow;

use super::RequestHead;

/// How a request names its bucket, S3's two ways: in the path
/// (`/{bucket}/{key}`) or in the host (`{bucket}.{base domain}`, which also
/// takes path-style requests to the base domain itself).
///
/// Bucket names are matched ASCII-case-insensitively: [`locate`](Self::locate)
/// gives them in lower case (borrowed from the request when they are
/// already).
///
/// ```
/// use http::Request;
/// use tower_s3_cors::source::{Addressing, RequestHead};
///
/// let request = Request::get("/Photos/2024/cat.jpg").body(())?;
/// let located = Addressing::path_style().locate(&RequestHead::new(&request));
/// assert_eq!(located.map(|(b, k)| (b.into_owned(), k)), Some(("photos".to_owned(), "/2024/cat.jpg")));
///
/// let request = Request::get("/cat.jpg").header("host", "media.s3.example.test:9000").body(())?;
/// let located = Addressing::virtual_hosted("S3.example.test").locate(&RequestHead::new(&request));
/// assert_eq!(located.map(|(b, k)| (b.into_owned(), k)), Some(("media".to_owned(), "/cat.jpg")));
/// # Ok::<_, http::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressing {
    /// The base domain of virtual-hosted requests, lower-cased; `None` for
    /// path style only.
    base_domain: Option<Box<str>>,
}

impl Addressing {
    /// Path style: `/{bucket}` and `/{bucket}/` are the bucket root,
    /// `/{bucket}/{key}` an object.
    #[must_use]
    pub fn path_style() -> Self {
        Self { base_domain: None }
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
            base_domain: Some(base.into()),
        }
    }

    /// The bucket a request is for (lower case) and the rest of its path
    /// (the key part, starting with `/`, or empty); `None` when the request
    /// names no bucket.
    #[must_use]
    pub fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<(Cow<'a, str>, &'a str)> {
        let (bucket, key) = self.locate_as_sent(request)?;
        Some((lower_case(bucket), key))
    }

    /// [`locate`](Self::locate), with the bucket name as the request wrote it.
    pub(crate) fn locate_as_sent<'a>(
        &self,
        request: &RequestHead<'a>,
    ) -> Option<(&'a str, &'a str)> {
        let path = request.uri().path();
        if let Some(base) = &self.base_domain {
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
                return Some((bucket, path));
            }
        }
        let rest = path.strip_prefix('/')?;
        let (bucket, key) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        (!bucket.is_empty()).then_some((bucket, key))
    }
}

/// `name` in ASCII lower case, borrowed when it is already.
pub(crate) fn lower_case(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
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
