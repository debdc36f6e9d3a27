//! Merging `Vary: Origin, Access-Control-Request-Headers,
//! Access-Control-Request-Method` into a response's own `Vary`.

use bytes::Bytes;
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
/// when there is none (no allocation, one probe of the map, as any insert);
/// left alone when one line holds all three already, or `Vary: *` is there;
/// otherwise merged into one line that keeps the existing tokens first,
/// drops repeated ones and adds only the missing CORS tokens (compared
/// ASCII-case-insensitively), in one allocation of exactly its size.
pub(crate) fn add_cors_vary(headers: &mut HeaderMap) {
    if headers.len() == headers.keys_len() {
        // No header has several lines, so `Vary` has at most one: insert,
        // and look at the line it replaced, if any.
        let Some(own) = headers.insert(VARY, VARY_CORS.clone()) else {
            return;
        };
        let value = merged(|| std::slice::from_ref(&own).iter(), true).unwrap_or(own);
        headers.insert(VARY, value);
        return;
    }
    let mut lines = headers.get_all(VARY).iter();
    if lines.next().is_none() {
        headers.insert(VARY, VARY_CORS.clone());
        return;
    }
    let one_line = lines.next().is_none();
    if let Some(value) = merged(|| headers.get_all(VARY).iter(), one_line) {
        headers.insert(VARY, value);
    }
}

/// The `Vary` lines that `lines` gives (each call from the first), merged
/// with the CORS tokens; `None` when they are to be kept as they are (a
/// `*`, or `one_line` holding every CORS token).
fn merged<'a, L, I>(lines: L, one_line: bool) -> Option<HeaderValue>
where
    L: Fn() -> I,
    I: Iterator<Item = &'a HeaderValue>,
{
    // First pass: which CORS tokens are present, and the merged length.
    let mut present = [false; 3];
    let mut length = 0;
    let mut count: usize = 0;
    for (position, token) in tokens(lines()).enumerate() {
        if token == b"*" {
            return None;
        }
        for (wanted, present) in TOKENS.iter().zip(present.iter_mut()) {
            *present |= token.eq_ignore_ascii_case(wanted.as_bytes());
        }
        if !repeats_earlier(lines(), position, token) {
            length += token.len();
            count += 1;
        }
    }
    if present == [true; 3] && one_line {
        return None;
    }
    for (token, present) in TOKENS.iter().zip(present) {
        if !present {
            length += token.len();
            count += 1;
        }
    }
    length += 2 * count.saturating_sub(1);

    // Second pass: write it.
    let mut merged = Vec::with_capacity(length);
    let mut push = |token: &[u8]| {
        if !merged.is_empty() {
            merged.extend_from_slice(b", ");
        }
        merged.extend_from_slice(token);
    };
    for (position, token) in tokens(lines()).enumerate() {
        if !repeats_earlier(lines(), position, token) {
            push(token);
        }
    }
    for (token, present) in TOKENS.iter().zip(present) {
        if !present {
            push(token.as_bytes());
        }
    }
    debug_assert_eq!(merged.len(), length);
    // Tokens taken from valid header values, the constants and `", "` form a
    // valid header value; a vector exactly full becomes `Bytes` in place.
    Some(
        HeaderValue::from_maybe_shared(Bytes::from(merged))
            .expect("tokens of header values joined by \", \" form a header value"),
    )
}

/// The tokens of `lines`, trimmed, without empty items.
fn tokens<'a>(lines: impl Iterator<Item = &'a HeaderValue>) -> impl Iterator<Item = &'a [u8]> {
    lines
        .flat_map(|line| line.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Whether `token`, the `position`-th token of `lines`, repeats an earlier
/// one. Vary lists are short, and the inner service's own: comparing with
/// each earlier token is cheaper than a set.
fn repeats_earlier<'a>(
    lines: impl Iterator<Item = &'a HeaderValue>,
    position: usize,
    token: &[u8],
) -> bool {
    tokens(lines)
        .take(position)
        .any(|earlier| earlier.eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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
    fn vary_is_merged_when_another_header_has_several_lines() {
        let mut headers = HeaderMap::new();
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
        add_cors_vary(&mut headers);
        assert_eq!(
            headers.get_all(VARY).iter().collect::<Vec<_>>(),
            [
                "Accept-Encoding, Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
            ]
        );
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);

        let mut headers = HeaderMap::new();
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        add_cors_vary(&mut headers);
        assert_eq!(headers[VARY], VARY_CORS);
    }

    #[test]
    fn vary_star_is_left_alone() {
        assert_eq!(merged(&["*"]), ["*"]);
        assert_eq!(merged(&["Accept", "*"]), ["Accept", "*"]);
    }
}
