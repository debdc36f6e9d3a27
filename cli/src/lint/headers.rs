//! What browsers do with headers and hosts, for the checks: which request
//! headers a preflight can list, which names are methods, which hosts are
//! the machine itself.

use crate::pattern::Pattern;

/// The request headers a script may not set, so that a browser never lists
/// them in `Access-Control-Request-Headers`: the Fetch standard's forbidden
/// request-header names (besides every name that starts with `proxy-` or
/// `sec-`).
const FORBIDDEN: [&str; 21] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// The prefixes of the names a script may not set.
const FORBIDDEN_PREFIXES: [&str; 2] = ["proxy-", "sec-"];

/// Whether no header name that `pattern` (an `AllowedHeader`) admits is
/// ever listed by a browser: a forbidden name, or a pattern whose every
/// name starts with `proxy-` or `sec-`.
pub(crate) fn never_requested(pattern: &str) -> bool {
    match Pattern::folded(pattern) {
        Pattern::Any => false,
        Pattern::Exact(name) => {
            FORBIDDEN.contains(&name.as_str())
                || FORBIDDEN_PREFIXES.iter().any(|p| name.starts_with(p))
        }
        Pattern::Affix(prefix, _) => FORBIDDEN_PREFIXES.iter().any(|p| prefix.starts_with(p)),
    }
}

/// Whether a request listing `name` (lower case) passes `allowed`, a rule's
/// `AllowedHeader`s.
pub(crate) fn admitted(allowed: &[String], name: &str) -> bool {
    allowed.iter().any(|a| Pattern::folded(a).matches(name))
}

/// Whether `value` is an HTTP method's name (ASCII case ignored), as found
/// in an `ExposeHeader` by mistake.
pub(crate) fn is_method_name(value: &str) -> bool {
    ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(value.trim()))
}

/// Whether `authority` (`host[:port]`, after `http://`) is this machine:
/// `localhost` and its subdomains, `127.x.x.x`, `[::1]`.
pub(crate) fn is_loopback(authority: &str) -> bool {
    let host = if authority.starts_with('[') {
        authority
            .split_once(']')
            .map_or(authority, |(host, _)| host)
            .trim_start_matches('[')
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.") || host == "::1"
}

#[cfg(test)]
mod tests {
    use super::{admitted, is_loopback, is_method_name, never_requested};

    #[test]
    fn headers_a_browser_never_lists() {
        for name in [
            "Host",
            "origin",
            "Cookie",
            "Content-Length",
            "Sec-Fetch-Mode",
            "sec-*",
        ] {
            assert!(never_requested(name), "{name}");
        }
        for name in [
            "*",
            "content-type",
            "Authorization",
            "x-amz-*",
            "s*",
            "Access-Control-Allow-Origin",
            "accept",
        ] {
            assert!(!never_requested(name), "{name}");
        }
    }

    #[test]
    fn content_type_is_admitted_by_its_patterns() {
        let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(admitted(&list(&["Content-Type"]), "content-type"));
        assert!(admitted(&list(&["content-*"]), "content-type"));
        assert!(admitted(&list(&["*"]), "content-type"));
        assert!(!admitted(
            &list(&["x-amz-*", "authorization"]),
            "content-type"
        ));
        assert!(!admitted(&[], "content-type"));
    }

    #[test]
    fn method_names_and_loopback_hosts() {
        assert!(is_method_name("GET") && is_method_name("put") && !is_method_name("ETag"));
        for host in [
            "localhost",
            "localhost:3000",
            "127.0.0.1:8080",
            "[::1]:5173",
            "app.localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        assert!(!is_loopback("example.com") && !is_loopback("localhost.example.com"));
    }
}
