//! Merging `Vary: Origin, Access-Control-Request-Headers,
//! Access-Control-Request-Method` into a response's own `Vary`.

use http::header::VARY;
use http::{HeaderMap, HeaderValue};

/// The three request headers a CORS answer depends on.
const TOKENS: [&str; 3] = [
    "Origin",
    "Access-Control-Request-Headers",
    "Access-Control-Request-Method",
];

/// `Vary` with all three tokens: what a response without its own `Vary` gets.
pub(crate) static VARY_CORS: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
);

/// Adds the CORS tokens to `headers`' `Vary`: inserted as one static value
/// when there is none (no allocation); otherwise merged into one line that
/// keeps the existing tokens first, adds only the missing ones (compared
/// ASCII-case-insensitively) and leaves `Vary: *` alone.
pub(crate) fn add_cors_vary(headers: &mut HeaderMap) {
    let mut lines = headers.get_all(VARY).iter().peekable();
    if lines.peek().is_none() {
        headers.insert(VARY, VARY_CORS.clone());
        return;
    }
    let mut missing = [true; 3];
    let mut existing: Vec<&[u8]> = Vec::new();
    for token in lines
        .flat_map(|line| line.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
    {
        if token == b"*" {
            return;
        }
        for (wanted, missing) in TOKENS.iter().zip(missing.iter_mut()) {
            if token.eq_ignore_ascii_case(wanted.as_bytes()) {
                *missing = false;
            }
        }
        if !existing.iter().any(|t| t.eq_ignore_ascii_case(token)) {
            existing.push(token);
        }
    }
    if missing == [false; 3] && headers.get_all(VARY).iter().count() == 1 {
        return;
    }
    let added = TOKENS
        .iter()
        .zip(missing)
        .filter(|(_, missing)| *missing)
        .map(|(token, _)| token.as_bytes());
    let merged = existing
        .into_iter()
        .chain(added)
        .collect::<Vec<_>>()
        .join(&b", "[..]);
    // Every token came from a valid header value or is a constant, and the
    // separator is valid, so this cannot fail; if it did, keep what was there.
    if let Ok(value) = HeaderValue::from_bytes(&merged) {
        headers.insert(VARY, value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn merged(lines: &[&str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(VARY, HeaderValue::from_str(line).unwrap());
        }
        add_cors_vary(&mut headers);
        headers
            .get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn vary_is_inserted_when_absent() {
        assert_eq!(
            merged(&[]),
            ["Origin, Access-Control-Request-Headers, Access-Control-Request-Method"]
        );
    }

    #[test]
    fn vary_keeps_the_inner_tokens_first_and_adds_only_missing_ones() {
        assert_eq!(
            merged(&["Accept-Encoding, origin"]),
            [
                "Accept-Encoding, origin, Access-Control-Request-Headers, Access-Control-Request-Method"
            ]
        );
    }

    #[test]
    fn vary_lines_are_joined_and_duplicates_dropped() {
        assert_eq!(
            merged(&["Accept-Encoding", "accept-encoding, Cookie", "ORIGIN"]),
            [
                "Accept-Encoding, Cookie, ORIGIN, Access-Control-Request-Headers, Access-Control-Request-Method"
            ]
        );
    }

    #[test]
    fn vary_with_every_token_already_is_untouched() {
        let line = "access-control-request-method, Origin, access-control-request-headers";
        assert_eq!(merged(&[line]), [line]);
    }

    #[test]
    fn vary_star_is_left_alone() {
        assert_eq!(merged(&["*"]), ["*"]);
        assert_eq!(merged(&["Accept", "*"]), ["Accept", "*"]);
    }
}
