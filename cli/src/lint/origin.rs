//! `AllowedOrigin` values that no browser's `Origin` can match.
//!
//! # The origins a browser sends
//!
//! An `Origin` header is `null`, or the serialisation of a tuple origin:
//! `scheme://host` or `scheme://host:port`, where
//!
//! - the scheme is a letter followed by letters, digits, `+`, `-` or `.`,
//!   lower-cased;
//! - the host is lower-cased ASCII (an internationalised name is sent in its
//!   Punycode form, `xn--…`), or an IPv6 address in brackets;
//! - the port is omitted when it is the scheme's default (80 for `http` and
//!   `ws`, 443 for `https` and `wss`, 21 for `ftp`);
//! - there is never a path, query or fragment, so the only `/` characters
//!   are the two of `://`.
//!
//! Any scheme is allowed (apps in web views send `capacitor://localhost`,
//! extensions `chrome-extension://…`). S3 compares origins byte for byte, so
//! an `AllowedOrigin` that matches none of these strings never matches.
//!
//! Each check below reports only what holds for *every* string its pattern
//! could match: a pattern with a `*` is flagged only when no origin of that
//! form can fill the `*` (`*/app` is not flagged: `https://app` matches it).

use super::Code;
use super::punycode;

/// The problems of one `AllowedOrigin` value, in a fixed order.
pub(crate) fn problems(pattern: &str) -> Vec<Code> {
    if pattern == "null" {
        return vec![Code::OriginNull];
    }
    let mut found = Vec::new();
    if !pattern.is_ascii() {
        found.push(Code::OriginNotAscii);
    }
    if pattern.bytes().any(|b| b.is_ascii_uppercase()) {
        found.push(Code::OriginNotLowercase);
    }
    let (never_scheme, trailing, path, port) = match pattern.split_once('*') {
        None => exact_shape(pattern),
        Some((prefix, suffix)) => wildcard_shape(prefix, suffix),
    };
    for (flag, code) in [
        (never_scheme, Code::OriginNoScheme),
        (trailing, Code::OriginTrailingSlash),
        (path, Code::OriginHasPath),
        (port, Code::OriginDefaultPort),
    ] {
        if flag {
            found.push(code);
        }
    }
    found
}

/// The default port browsers leave out of `Origin` for `scheme`.
fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        "ftp" => Some("21"),
        _ => None,
    }
}

/// Whether `text` could begin a scheme (letters in either case: upper case
/// is reported on its own).
fn scheme_prefix(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_none_or(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `scheme` and the rest, when `text` starts with a well-formed `scheme://`.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    text.split_once("://")
        .filter(|(scheme, _)| !scheme.is_empty() && scheme_prefix(scheme))
}

/// The port of an authority (`host:port`), if it ends with one.
fn port_of(authority: &str) -> Option<&str> {
    let (_, port) = authority.rsplit_once(':')?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())).then_some(port)
}

/// (no scheme, trailing slash, path, default port) for a value without `*`.
fn exact_shape(value: &str) -> (bool, bool, bool, bool) {
    let Some((scheme, rest)) = split_scheme(value) else {
        return (true, false, false, false);
    };
    let (authority, trailing, path) = match rest.find(['/', '?', '#']) {
        None => (rest, false, false),
        Some(at) => {
            let only_trailing_slash = at + 1 == rest.len() && rest.ends_with('/');
            (
                rest.get(..at).unwrap_or_default(),
                only_trailing_slash,
                !only_trailing_slash,
            )
        }
    };
    let port = default_port(scheme).is_some_and(|d| port_of(authority) == Some(d));
    (false, trailing, path, port)
}

/// (no scheme, trailing slash, path, default port) for `prefix*suffix`.
fn wildcard_shape(prefix: &str, suffix: &str) -> (bool, bool, bool, bool) {
    // The origin starts with `prefix`: its scheme is the text before the
    // first ':' and "//" follows that ':'.
    let never_scheme = !prefix.is_empty()
        && match prefix.split_once(':') {
            None => !scheme_prefix(prefix),
            Some((scheme, after)) => {
                scheme.is_empty()
                    || !scheme_prefix(scheme)
                    || !(after.starts_with("//") || "//".starts_with(after))
            }
        };
    let trailing = suffix.ends_with('/');
    // The suffix without the trailing '/' already reported.
    let body = if trailing {
        suffix.get(..suffix.len() - 1).unwrap_or_default()
    } else {
        suffix
    };
    let query_or_fragment = prefix.contains(['?', '#']) || suffix.contains(['?', '#']);
    // Every '/' of an origin follows a ':' or a '/'.
    let stray = |part: &str| {
        part.as_bytes()
            .windows(2)
            .any(|w| w.get(1) == Some(&b'/') && !matches!(w.first(), Some(b':' | b'/')))
    };
    // Once "://" is seen, no '/' follows it anywhere in the origin.
    let after_separator = match (prefix.split_once("://"), body.split_once("://")) {
        (Some((_, after)), _) => after.contains('/') || body.contains('/'),
        (None, Some((_, after))) => after.contains('/'),
        (None, None) => false,
    };
    let path = query_or_fragment || stray(prefix) || stray(body) || after_separator;
    // An origin that ends with ":80" has the port 80; the scheme must be
    // known from the prefix.
    let port = split_scheme(prefix)
        .and_then(|(scheme, _)| default_port(scheme))
        .is_some_and(|d| {
            suffix
                .strip_suffix(d)
                .is_some_and(|head| head.ends_with(':'))
        });
    (never_scheme, trailing, path, port)
}

/// The value with every problem above fixed, as a suggestion: a scheme
/// added, lower case, Punycode hosts, no path, no default port.
pub(crate) fn suggestion(pattern: &str) -> String {
    let with_scheme = if split_scheme(pattern).is_some() || pattern.starts_with('*') {
        pattern.to_owned()
    } else {
        format!("https://{pattern}")
    };
    let lower: String = with_scheme
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let (scheme, rest) = match split_scheme(&lower) {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, lower.as_str()),
    };
    let authority = match rest.find(['/', '?', '#']) {
        Some(at) => rest.get(..at).unwrap_or_default(),
        None => rest,
    };
    let authority = match (scheme.and_then(default_port), port_of(authority)) {
        (Some(default), Some(port)) if default == port => authority
            .get(..authority.len() - port.len() - 1)
            .unwrap_or(authority),
        _ => authority,
    };
    let authority = if authority.is_ascii() {
        authority.to_owned()
    } else {
        let (host, port) = match port_of(authority) {
            Some(port) => (
                authority
                    .get(..authority.len() - port.len() - 1)
                    .unwrap_or(authority),
                Some(port),
            ),
            None => (authority, None),
        };
        let host = punycode::host_to_ascii(host).unwrap_or_else(|| host.to_owned());
        match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}"),
        None => authority,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::{Code, problems, suggestion};

    fn codes(pattern: &str) -> Vec<&'static str> {
        problems(pattern).into_iter().map(Code::name).collect()
    }

    #[test]
    fn exact_values() {
        assert!(codes("https://app.example.com").is_empty());
        assert!(codes("http://localhost:4200").is_empty());
        assert!(codes("capacitor://localhost").is_empty());
        assert!(codes("http://[::1]:8080").is_empty());
        assert!(codes("https://example.com:8443").is_empty());
        assert_eq!(codes("null"), ["origin-null"]);
        assert_eq!(codes("https://app.example.com/"), ["origin-trailing-slash"]);
        assert_eq!(codes("https://app.example.com/app"), ["origin-has-path"]);
        assert_eq!(codes("https://app.example.com?x"), ["origin-has-path"]);
        assert_eq!(codes("https://App.example.com"), ["origin-not-lowercase"]);
        assert_eq!(codes("https://example.com:443"), ["origin-default-port"]);
        assert_eq!(codes("http://example.com:80"), ["origin-default-port"]);
        assert!(codes("http://example.com:443").is_empty());
        assert_eq!(codes("https://bücher.example"), ["origin-not-ascii"]);
        assert_eq!(codes("example.com"), ["origin-no-scheme"]);
        assert_eq!(codes("localhost:4566"), ["origin-no-scheme"]);
        assert_eq!(
            codes("HTTPS://Example.com:443/"),
            [
                "origin-not-lowercase",
                "origin-trailing-slash",
                "origin-default-port"
            ]
        );
    }

    #[test]
    fn wildcard_values_are_flagged_only_when_nothing_can_fill_the_star() {
        for fine in [
            "*",
            "https://*.example.com",
            "*.example.com",
            "http://localhost:*",
            "*/app",
            "https:*//example.com",
            "localhost:*",
            "www.*",
            "https://*:8443",
            "*:443",
        ] {
            assert!(codes(fine).is_empty(), "{fine}: {:?}", codes(fine));
        }
        assert_eq!(codes("https://*.example.com/"), ["origin-trailing-slash"]);
        assert_eq!(codes("https://*.example.com/app"), ["origin-has-path"]);
        assert_eq!(codes("*.example.com/app"), ["origin-has-path"]);
        assert_eq!(codes("https://example.com/*"), ["origin-has-path"]);
        assert_eq!(codes("https://*.Example.com"), ["origin-not-lowercase"]);
        assert_eq!(codes("https://*.bücher.example"), ["origin-not-ascii"]);
        assert_eq!(codes("localhost:42*"), ["origin-no-scheme"]);
        assert_eq!(codes("app_1.*"), ["origin-no-scheme"]);
        assert_eq!(codes("https://*:443"), ["origin-default-port"]);
        assert_eq!(codes("https://*.example.com?x"), ["origin-has-path"]);
    }

    /// Origins a browser may send, of many forms.
    fn browser_origins() -> Vec<String> {
        let mut origins = vec!["null".to_owned()];
        for scheme in [
            "http",
            "https",
            "ws",
            "wss",
            "ftp",
            "capacitor",
            "chrome-extension",
        ] {
            for host in [
                "a",
                "app.example.com",
                "xn--bcher-kva.example",
                "127.0.0.1",
                "[::1]",
                "localhost",
            ] {
                for port in ["", "80", "443", "21", "8080", "1"] {
                    if super::default_port(scheme) == Some(port) {
                        continue; // browsers leave it out
                    }
                    let origin = if port.is_empty() {
                        format!("{scheme}://{host}")
                    } else {
                        format!("{scheme}://{host}:{port}")
                    };
                    origins.push(origin);
                }
            }
        }
        origins
    }

    /// Soundness: a value that matches some origin a browser sends is never
    /// reported as never matching. Every origin, and every pattern made from
    /// it by replacing any part of it with `*`, must pass clean.
    #[test]
    fn no_pattern_that_matches_a_browser_origin_is_flagged() {
        let mut checked = 0;
        for origin in browser_origins() {
            let never = |pattern: &str| {
                problems(pattern)
                    .into_iter()
                    .filter(|c| *c != Code::OriginNull)
                    .map(Code::name)
                    .collect::<Vec<_>>()
            };
            assert!(never(&origin).is_empty(), "{origin}: {:?}", never(&origin));
            for start in 0..=origin.len() {
                for end in start..=origin.len() {
                    let pattern = format!("{}*{}", &origin[..start], &origin[end..]);
                    assert!(
                        never(&pattern).is_empty(),
                        "{pattern} matches {origin} but is flagged {:?}",
                        never(&pattern)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50_000, "{checked}");
    }

    #[test]
    fn suggestions_fix_everything_at_once() {
        assert_eq!(
            suggestion("HTTPS://Example.com:443/app"),
            "https://example.com"
        );
        assert_eq!(suggestion("example.com"), "https://example.com");
        assert_eq!(
            suggestion("https://bücher.example:8443"),
            "https://xn--bcher-kva.example:8443"
        );
        assert_eq!(
            suggestion("https://*.example.com/"),
            "https://*.example.com"
        );
        assert_eq!(suggestion("*.Example.com"), "*.example.com");
    }
}
