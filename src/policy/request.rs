//! [`CorsRequest`]: the parts of an HTTP request that CORS evaluation reads.

use http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, ValueIter,
};
use http::{HeaderMap, HeaderValue, Method};

use super::ascii::find_comma;

/// A view of a cross-origin request: its `Origin`, its method, and the
/// `Access-Control-Request-Method` and `Access-Control-Request-Headers` it
/// carries. Built without allocating; borrows the request's headers.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// use tower_s3_cors::policy::CorsRequest;
///
/// let mut headers = HeaderMap::new();
/// assert!(CorsRequest::new(&Method::GET, &headers).is_none(), "no Origin: not CORS");
///
/// headers.insert("origin", HeaderValue::from_static("https://app.example.com"));
/// headers.insert("access-control-request-method", HeaderValue::from_static("PUT"));
/// let request = CorsRequest::new(&Method::OPTIONS, &headers).unwrap();
/// assert!(request.is_preflight());
/// assert_eq!(request.origin(), "https://app.example.com");
/// assert_eq!(request.http_method(), Method::OPTIONS);
/// assert_eq!(request.method_to_match(), Some(&b"PUT"[..]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CorsRequest<'a> {
    origin: &'a HeaderValue,
    http_method: &'a Method,
    requested_method: Option<&'a HeaderValue>,
    requested_headers: RequestedHeaders<'a>,
}

impl<'a> CorsRequest<'a> {
    /// Reads a request's method and headers. `None` when the request has no
    /// `Origin` (or an empty one): it is not a CORS request.
    #[must_use]
    pub fn new(http_method: &'a Method, headers: &'a HeaderMap) -> Option<Self> {
        let origin = origin(headers)?;
        Some(Self::with_origin(origin, http_method, headers))
    }

    /// [`new`](Self::new) for a caller that has looked up the `Origin`
    /// already (with [`origin`]).
    pub(crate) fn with_origin(
        origin: &'a HeaderValue,
        http_method: &'a Method,
        headers: &'a HeaderMap,
    ) -> Self {
        Self {
            origin,
            http_method,
            requested_method: headers.get(ACCESS_CONTROL_REQUEST_METHOD),
            requested_headers: RequestedHeaders::new(headers),
        }
    }

    /// Whether this is a preflight: S3 treats every `OPTIONS` request as one.
    #[must_use]
    pub fn is_preflight(&self) -> bool {
        *self.http_method == Method::OPTIONS
    }

    /// The `Origin` header.
    #[must_use]
    pub fn origin(&self) -> &'a HeaderValue {
        self.origin
    }

    /// The request's own method (`OPTIONS` for a preflight).
    #[must_use]
    pub fn http_method(&self) -> &'a Method {
        self.http_method
    }

    /// The `Access-Control-Request-Method` header, if any: the method a
    /// preflight asks about.
    #[must_use]
    pub fn requested_method(&self) -> Option<&'a HeaderValue> {
        self.requested_method
    }

    /// The method the rules are matched against: for a preflight its
    /// [`requested_method`](Self::requested_method) (`None` when it is
    /// missing); for an actual request that header when present (as S3
    /// does), else the request's own method.
    #[must_use]
    pub fn method_to_match(&self) -> Option<&'a [u8]> {
        match self.requested_method {
            Some(m) => Some(m.as_bytes()),
            None if self.is_preflight() => None,
            None => Some(self.http_method.as_str().as_bytes()),
        }
    }

    /// The header names listed in `Access-Control-Request-Headers`: split on
    /// `,`, trimmed, empty items dropped, in request order, case as sent.
    pub fn requested_headers(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.requested_headers.names()
    }

    /// The `Access-Control-Request-Headers` lines, for the engine.
    pub(crate) fn requested_header_lines(&self) -> RequestedHeaders<'a> {
        self.requested_headers
    }
}

/// The most bytes of `Access-Control-Request-Headers` (all its lines added
/// up) that a policy looks at: 8 KiB, the limit S3 puts on a request's
/// whole header section (`400 RequestHeaderSectionTooLarge`), so a longer
/// list never reaches S3's CORS evaluation either. A request over it is
/// refused ([`Refusal::RequestHeadersTooLarge`](super::Refusal::RequestHeadersTooLarge))
/// before any rule is walked: the work of a walk, and the
/// `Access-Control-Allow-Headers` echo, stay bounded by it.
pub const MAX_REQUEST_HEADERS_BYTES: usize = 8 * 1024;

/// A request's `Origin`, unless it has none or an empty one (then it is not
/// a CORS request).
#[inline]
pub(crate) fn origin(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers.get(ORIGIN).filter(|v| !v.is_empty())
}

/// The `Access-Control-Request-Headers` lines of a request. One line, the
/// common case, is kept directly so it can be walked again per rule without
/// another header-map lookup.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RequestedHeaders<'a> {
    None,
    One(&'a HeaderValue),
    Many(&'a HeaderMap),
}

impl<'a> RequestedHeaders<'a> {
    /// The bytes of every line, added up (separators between lines not
    /// counted). Reads only the values' lengths.
    #[inline]
    pub(crate) fn byte_len(self) -> usize {
        match self {
            Self::None => 0,
            Self::One(value) => value.len(),
            Self::Many(headers) => headers
                .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
                .iter()
                .map(HeaderValue::len)
                .sum(),
        }
    }

    pub(crate) fn new(headers: &'a HeaderMap) -> Self {
        let mut all = headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS).iter();
        match (all.next(), all.next()) {
            (None, _) => Self::None,
            (Some(one), None) => Self::One(one),
            (Some(_), Some(_)) => Self::Many(headers),
        }
    }

    /// The requested names, trimmed, without empty items.
    pub(crate) fn names(self) -> Names<'a> {
        match self {
            Self::None => Names {
                line: &[],
                more: None,
            },
            Self::One(value) => Names {
                line: value.as_bytes(),
                more: None,
            },
            Self::Many(headers) => Names {
                line: &[],
                more: Some(headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS).iter()),
            },
        }
    }
}

/// The names of `Access-Control-Request-Headers` lines: each line split on
/// `,`, each item trimmed of ASCII whitespace, empty items dropped. Written
/// out by hand, as it runs once per rule and per answer.
#[derive(Debug)]
pub(crate) struct Names<'a> {
    /// What is left of the line being split.
    line: &'a [u8],
    /// The lines after it, when there are several.
    more: Option<ValueIter<'a, HeaderValue>>,
}

impl<'a> Iterator for Names<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.line.is_empty() {
                self.line = self.more.as_mut()?.next()?.as_bytes();
                continue;
            }
            let item = match find_comma(self.line) {
                Some(comma) => {
                    let (item, rest) = self.line.split_at(comma);
                    self.line = &rest[1..]; // `rest` starts with the comma
                    item
                }
                None => std::mem::take(&mut self.line),
            };
            let name = item.trim_ascii();
            if !name.is_empty() {
                return Some(name);
            }
        }
    }
}
