//! The `Access-Control-*` headers of an inner service's response: on a
//! request the layer decides, they are exactly the layer's.

use http::HeaderMap;

use crate::policy::Allowed;

/// What the layer does to the `Access-Control-*` headers of the inner
/// service's response to an actual request.
///
/// Where a policy applies to a CORS request (it has an `Origin`, and the
/// source found a policy for it), the layer decides CORS for the response:
/// its `Access-Control-*` headers are exactly the layer's. On a match the
/// inner service's other `Access-Control-*` headers are removed (an inner
/// `Access-Control-Allow-Credentials: true` must not stand beside the
/// layer's `Access-Control-Allow-Origin: *`); on a refusal every
/// `Access-Control-*` header is removed, as S3 sends none. Where no policy
/// applies (no `Origin`, no configuration, no such bucket) the inner
/// service's headers pass untouched: it may do CORS of its own there.
#[derive(Debug, Default)]
pub(crate) enum CorsHeaders {
    /// No policy applies: the inner service's headers are left alone.
    #[default]
    Untouched,
    /// A policy refused the request: no `Access-Control-*` header at all.
    Cleared,
    /// A policy matched: exactly the match's `Access-Control-*` headers.
    Exactly(Allowed),
}

impl CorsHeaders {
    /// Makes `headers`' `Access-Control-*` headers what `self` says,
    /// reserving room for `extra` more headers the caller adds next.
    #[inline]
    pub(crate) fn apply(self, headers: &mut HeaderMap, extra: usize) {
        match self {
            Self::Untouched => {}
            Self::Cleared => remove_cors_headers(headers),
            Self::Exactly(allowed) => {
                remove_cors_headers(headers);
                allowed.write_headers_reserving(headers, extra);
            }
        }
    }
}

/// Whether `name` is an `Access-Control-*` header (names are lower case).
fn is_cors_header(name: &http::HeaderName) -> bool {
    name.as_str().starts_with("access-control-")
}

/// Removes every `Access-Control-*` header. One pass over the names when
/// there is none (the common case: nothing allocated, nothing moved).
fn remove_cors_headers(headers: &mut HeaderMap) {
    while let Some(name) = headers.keys().find(|name| is_cors_header(name)).cloned() {
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::{HeaderValue, Method};

    use super::*;
    use crate::Policy;
    use crate::policy::CorsRequest;

    fn inner_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-origin", "https://inner.example"),
            ("access-control-allow-origin", "*"),
            ("access-control-allow-private-network", "true"),
            ("access-control-x-custom", "1"),
            ("content-type", "text/plain"),
            ("vary", "Accept-Encoding"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        headers
    }

    fn names(headers: &HeaderMap) -> Vec<&str> {
        let mut names: Vec<&str> = headers.keys().map(http::HeaderName::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn untouched_leaves_every_header() {
        let mut headers = inner_headers();
        CorsHeaders::Untouched.apply(&mut headers, 0);
        assert_eq!(headers, inner_headers());
    }

    #[test]
    fn cleared_removes_every_access_control_header_and_nothing_else() {
        let mut headers = inner_headers();
        CorsHeaders::Cleared.apply(&mut headers, 0);
        assert_eq!(names(&headers), ["content-type", "vary"]);
        assert_eq!(headers["vary"], "Accept-Encoding");
    }

    #[test]
    fn exactly_leaves_only_the_match_s_headers() {
        let policy =
            Policy::from_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)
                .unwrap();
        let mut request = HeaderMap::new();
        request.insert("origin", HeaderValue::from_static("https://a.example"));
        let allowed = policy
            .evaluate(&CorsRequest::new(&Method::GET, &request).unwrap())
            .expect("the rule matches");
        let mut headers = inner_headers();
        CorsHeaders::Exactly(allowed).apply(&mut headers, 1);
        assert_eq!(
            names(&headers),
            [
                "access-control-allow-methods",
                "access-control-allow-origin",
                "content-type",
                "vary"
            ]
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert!(headers.get("access-control-allow-credentials").is_none());
    }
}
