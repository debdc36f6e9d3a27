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
use super::public_suffix::{self, Kind, Open};
use super::punycode;

/// The problems of one `AllowedOrigin` value, in a fixed order.
pub(crate) fn problems(pattern: &str) -> Vec<Code> {
    if pattern == "null" {
        return vec![Code::OriginNull];
    }
    let trimmed = pattern.trim();
    if trimmed.is_empty() {
        return vec![Code::OriginEmpty];
    }
    if trimmed.contains(',') || trimmed.contains(char::is_whitespace) {
        return vec![Code::OriginList];
    }
    let mut found = Vec::new();
    if trimmed != pattern {
        found.push(Code::OriginWhitespace);
    }
    if trimmed
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
    {
        found.push(Code::OriginFileScheme);
        return found;
    }
    let pattern = trimmed;
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

/// Who can get an origin that a wildcard `AllowedOrigin` matches. S3
/// answers each such origin with itself and
/// `Access-Control-Allow-Credentials: true`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Hosts of one owner: `https://*.example.com`, `http://localhost:*`.
    Owned,
    /// Every site (of a scheme, or of a port): `https://*`, `http://*:8080`.
    EverySite {
        /// Which sites, in words: "every https site".
        which: String,
    },
    /// Hosts that strangers can get.
    Strangers {
        /// An origin the pattern matches that a stranger can hold, when one
        /// can be named.
        example: Option<String>,
        /// How strangers get such hosts.
        how: String,
    },
}

/// Who can get an origin `pattern` matches: `pattern` has one `*` and is
/// not `*` itself, and [`problems`] found nothing (it can match).
///
/// The `*` may stand for part of the host. The host's end is then fixed by
/// the text after the `*` (without a `:port`), and the Public Suffix List
/// tells whether strangers can get a host that ends so; when nothing
/// follows the `*`, the host is open at its end (`https://app.example.com*`
/// also matches `https://app.example.com.attacker.net`).
pub(crate) fn reach(pattern: &str) -> Reach {
    let Some((prefix, suffix)) = pattern.split_once('*') else {
        return Reach::Owned;
    };
    if suffix.contains("://") {
        // The '*' stands for (part of) the scheme; the host is written out.
        return Reach::Owned;
    }
    let prefix_host = prefix.split_once("://").map_or("", |(_, host)| host);
    let suffix_host = port_of(suffix)
        .and_then(|port| suffix.get(..suffix.len() - port.len() - 1))
        .unwrap_or(suffix);
    if suffix_host.is_empty() {
        return if prefix_host.is_empty() {
            let scheme = prefix.split_once("://").map(|(scheme, _)| scheme);
            let which = match (scheme, port_of(suffix)) {
                (Some(scheme), None) => format!("every {scheme} site"),
                (Some(scheme), Some(port)) => format!("every {scheme} site on port {port}"),
                (None, Some(port)) => format!("every site on port {port}"),
                (None, None) => "every site".to_owned(),
            };
            Reach::EverySite { which }
        } else if prefix_host.ends_with(':') {
            Reach::Owned // only a port follows
        } else {
            let dot = if prefix_host.ends_with('.') { "" } else { "." };
            let example = format!("{prefix}{dot}attacker.net{suffix}");
            Reach::Strangers {
                how: format!(
                    "nothing follows the '*', so the host is open at its end: {example} matches, \
                     and anyone can register a domain such as attacker.net"
                ),
                example: Some(example),
            }
        };
    }
    let example = |fill: &str| format!("{prefix}{fill}{suffix}");
    if let Some(domain) = suffix_host.strip_prefix('.') {
        return match public_suffix::open(domain) {
            None => Reach::Owned,
            Some(Open::Suffix(kind)) => {
                let example = example("attacker");
                Reach::Strangers {
                    how: match kind {
                        Kind::Service => format!(
                            "{domain} is on the Public Suffix List, a hosting service's: anyone \
                             can publish a site at {example}"
                        ),
                        Kind::Registry => format!(
                            "{domain} is on the Public Suffix List: anyone can register a name \
                             such as {example}"
                        ),
                    },
                    example: Some(example),
                }
            }
            Some(Open::Below) => Reach::Strangers {
                example: None,
                how: format!(
                    "the Public Suffix List has public suffixes under {domain}: hosts there \
                     belong to whoever publishes on them"
                ),
            },
        };
    }
    // The '*' ends inside a label: `*example.com` ends with `example.com`
    // but also matches `attackerexample.com`.
    let (label, domain) = suffix_host.split_once('.').unwrap_or(("", suffix_host));
    match public_suffix::open(domain) {
        Some(Open::Suffix(_)) => {
            let example = if label.is_empty() {
                example("attacker.")
            } else {
                example("attacker")
            };
            Reach::Strangers {
                how: format!(
                    "the '*' also stands for the start of a name under {domain}, which anyone \
                     can register: {example} matches"
                ),
                example: Some(example),
            }
        }
        _ => Reach::Owned,
    }
}

/// The fix for a value that never matches: the value corrected, split, or
/// removed.
pub(crate) fn fix(pattern: &str) -> String {
    let trimmed = pattern.trim();
    if trimmed.is_empty() {
        return "remove this empty AllowedOrigin".to_owned();
    }
    if trimmed
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
    {
        return "remove it, and open the page from a web server (http://localhost:8080 for \
                local work) rather than from a file"
            .to_owned();
    }
    let parts: Vec<String> = trimmed
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| format!("AllowedOrigin {:?}", suggestion(part)))
        .collect();
    match parts.as_slice() {
        [] => "remove this AllowedOrigin".to_owned(),
        [one] => one.clone(),
        [first @ .., last] => format!("split it: {} and {last}", first.join(", ")),
    }
}

/// The origin a browser would send where `value` is written, when one can
/// be told (not for a list, an empty value or a `file:` URL).
pub(crate) fn corrected(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let unfixable = trimmed.is_empty()
        || trimmed.contains(',')
        || trimmed.contains(char::is_whitespace)
        || trimmed
            .get(..5)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"));
    (!unfixable).then(|| suggestion(trimmed))
}

/// The value with every problem above fixed, as a suggestion: a scheme
/// added, lower case, Punycode hosts, no path, no default port.
fn suggestion(pattern: &str) -> String {
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

    use super::{Code, Reach, fix, problems, reach, suggestion};

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
            codes("https://a.example,https://b.example"),
            ["origin-list"]
        );
        assert_eq!(
            codes("https://a.example https://b.example"),
            ["origin-list"]
        );
        assert_eq!(codes("https://a.example "), ["origin-whitespace"]);
        assert_eq!(
            codes("\n  https://A.example/\n"),
            [
                "origin-whitespace",
                "origin-not-lowercase",
                "origin-trailing-slash"
            ]
        );
        assert_eq!(codes(""), ["origin-empty"]);
        assert_eq!(codes(" "), ["origin-empty"]);
        assert_eq!(codes("file://"), ["origin-file-scheme"]);
        assert_eq!(codes("FILE:///home/me/index.html"), ["origin-file-scheme"]);
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
    fn who_can_get_a_host_a_wildcard_matches() {
        for owned in [
            "https://*.example.com",
            "*.example.com",
            "http://localhost:*",
            "https://app-*.example.com",
            "https://*.myapp.vercel.app",
            "*://example.com",
            "https://*.example.com:8443",
        ] {
            assert_eq!(reach(owned), Reach::Owned, "{owned}");
        }
        assert_eq!(
            reach("https://*"),
            Reach::EverySite {
                which: "every https site".to_owned()
            }
        );
        assert_eq!(
            reach("http://*:8080"),
            Reach::EverySite {
                which: "every http site on port 8080".to_owned()
            }
        );
        for (open, example) in [
            ("https://*.vercel.app", Some("https://attacker.vercel.app")),
            ("https://*.co.uk", Some("https://attacker.co.uk")),
            ("https://*example.com", Some("https://attackerexample.com")),
            ("https://*com", Some("https://attacker.com")),
            (
                "https://app.example.com*",
                Some("https://app.example.com.attacker.net"),
            ),
            ("https://app.*", Some("https://app.attacker.net")),
            ("https://*.railway.app", None),
        ] {
            match reach(open) {
                Reach::Strangers { example: found, .. } => {
                    assert_eq!(found.as_deref(), example, "{open}");
                }
                other => panic!("{open}: {other:?}"),
            }
        }
    }

    #[test]
    fn fixes_split_trim_or_remove() {
        assert_eq!(
            fix("https://a.example,https://b.example"),
            "split it: AllowedOrigin \"https://a.example\" and AllowedOrigin \"https://b.example\""
        );
        assert_eq!(
            fix("https://a.example, https://b.example,https://c.example"),
            "split it: AllowedOrigin \"https://a.example\", AllowedOrigin \"https://b.example\" \
             and AllowedOrigin \"https://c.example\""
        );
        assert_eq!(
            fix("\n      https://app.example.com\n    "),
            "AllowedOrigin \"https://app.example.com\""
        );
        assert_eq!(
            fix("https://a.example,"),
            "AllowedOrigin \"https://a.example\""
        );
        assert_eq!(fix(""), "remove this empty AllowedOrigin");
        assert_eq!(fix("  "), "remove this empty AllowedOrigin");
        assert!(fix("file:///home/me/index.html").starts_with("remove it"));
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
