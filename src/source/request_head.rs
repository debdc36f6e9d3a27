//! [`RequestHead`]: the borrowed head of a request.

use http::{Extensions, HeaderMap, Method, Request, Uri};

/// The head of a request (method, URI, headers, extensions), as a
/// [`BucketCors`](super::BucketCors) source sees it. Borrowed, never copied.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// Borrows the head of `request`.
    #[must_use]
    pub fn new<B>(request: &'a Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// Borrows the head from request parts.
    #[must_use]
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            extensions: &parts.extensions,
        }
    }

    /// Borrows a head given in pieces (by a router that has no
    /// `http::Request` to give, such as an s3s custom route).
    #[must_use]
    pub fn from_components(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        extensions: &'a Extensions,
    ) -> Self {
        Self {
            method,
            uri,
            headers,
            extensions,
        }
    }

    /// The request method.
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request URI.
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request headers.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request extensions (an outer layer may have stored a tenant or a
    /// bucket name there).
    #[must_use]
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}
