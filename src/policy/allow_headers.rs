//! `Access-Control-Allow-Headers`: the requested names, echoed.

use bytes::Bytes;
use http::HeaderValue;

use super::ascii::make_lowercase;
use super::request::RequestedHeaders;

/// `Access-Control-Allow-Headers` for a match: the requested names,
/// lower-cased, joined by `", "`. `None` when no name was requested.
///
/// The value is built on the stack in one pass, then copied into one
/// exactly-sized allocation; when the request sent that exact text already
/// (one line, all lower case, names separated by `", "`), its value is
/// shared instead and nothing is allocated.
#[inline]
pub(crate) fn allow_headers_value(requested: RequestedHeaders<'_>) -> Option<HeaderValue> {
    match requested {
        RequestedHeaders::None => None,
        RequestedHeaders::One(_) | RequestedHeaders::Many(_) => build(requested, None),
    }
}

/// The last `Access-Control-Allow-Headers` value a service built, kept with
/// the request line it answered, so that the next preflight sending the
/// same line shares it instead of building it again: a page's preflights
/// list the same names each time.
///
/// A hit costs a comparison of the line with the kept one; the value is
/// shared (a reference count), nothing is allocated. A miss builds the
/// value as [`allow_headers_value`] does, in one allocation that also holds
/// the line it is kept under, and shares it (one more allocation, the
/// first time a value is shared). A line that is its own answer (already
/// lower case and `", "`-separated) is shared as before, and not kept: the
/// service never holds the request's own buffer. Measured by
/// `benches/instructions.sh s3cors/preflight_2_names` and
/// `cargo bench --bench interleaved`: see the README's Performance section.
#[derive(Clone, Debug, Default)]
pub(crate) struct AllowHeadersCache {
    /// The line answered last, and its answer.
    last: Option<(Bytes, HeaderValue)>,
}

impl AllowHeadersCache {
    /// [`allow_headers_value`] for `requested`, shared from the last one
    /// built when the request line is the same.
    #[inline]
    pub(crate) fn value(&mut self, requested: RequestedHeaders<'_>) -> Option<HeaderValue> {
        match requested {
            RequestedHeaders::None => None,
            RequestedHeaders::One(line) => match &self.last {
                Some((kept, value)) if kept[..] == *line.as_bytes() => Some(value.clone()),
                _ => build(requested, Some(self)),
            },
            RequestedHeaders::Many(_) => build(requested, None),
        }
    }

    /// The header value of `value`, the answer to `line`, built in one
    /// allocation that holds `line` after it, and kept.
    fn keep(&mut self, line: &HeaderValue, value: &[u8]) -> HeaderValue {
        let mut bytes = Vec::with_capacity(value.len() + line.len());
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(line.as_bytes());
        let bytes = Bytes::from(bytes);
        let answer = header_value(bytes.slice(..value.len()));
        self.last = Some((bytes.slice(value.len()..), answer.clone()));
        answer
    }
}

/// [`allow_headers_value`] when the request lists
/// `Access-Control-Request-Headers`; with `cache`, a value built for one
/// line is kept there.
fn build(
    requested: RequestedHeaders<'_>,
    cache: Option<&mut AllowHeadersCache>,
) -> Option<HeaderValue> {
    /// Longer values (dozens of names) are counted, then built in an
    /// allocation of their exact size.
    const STACK: usize = 256;
    let mut buf = [0; STACK];
    let mut len = 0;
    let mut names = requested.names();
    for name in &mut names {
        let sep: &[u8] = if len == 0 { b"" } else { b", " };
        let Some(slot) = buf.get_mut(len..len + sep.len() + name.len()) else {
            // Too long for the stack: count the rest, then build it all.
            let rest = names.fold(sep.len() + name.len(), |n, name| n + 2 + name.len());
            return Some(allow_headers_value_long(requested, len + rest));
        };
        let (slot_sep, slot_name) = slot.split_at_mut(sep.len());
        slot_sep.copy_from_slice(sep);
        slot_name.copy_from_slice(name);
        len += sep.len() + name.len();
    }
    let value = buf.get_mut(..len).filter(|v| !v.is_empty())?;
    make_lowercase(value);
    let value = &*value;
    if let RequestedHeaders::One(line) = requested {
        if line.as_bytes() == value {
            return Some(line.clone());
        }
        if let Some(cache) = cache {
            return Some(cache.keep(line, value));
        }
    }
    Some(header_value(Bytes::copy_from_slice(value)))
}

/// [`allow_headers_value`] for values too long for its stack buffer, of
/// `len` bytes: built in one allocation of exactly that size.
fn allow_headers_value_long(requested: RequestedHeaders<'_>, len: usize) -> HeaderValue {
    let mut value = Vec::with_capacity(len);
    for name in requested.names() {
        if !value.is_empty() {
            value.extend_from_slice(b", ");
        }
        value.extend_from_slice(name);
    }
    debug_assert_eq!(value.len(), len);
    make_lowercase(&mut value);
    header_value(Bytes::from(value))
}

/// The names are pieces of a valid header value (visible ASCII, spaces,
/// tabs or obs-text, no line breaks), lower-cased and joined by `", "`, so
/// they form a valid header value again.
fn header_value(bytes: Bytes) -> HeaderValue {
    HeaderValue::from_maybe_shared(bytes).expect("pieces of a header value form a header value")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::header::ACCESS_CONTROL_REQUEST_HEADERS;
    use http::{HeaderMap, HeaderValue};
    use proptest::prelude::*;

    use super::{AllowHeadersCache, allow_headers_value};
    use crate::policy::request::RequestedHeaders;

    /// The obvious definition: every line split on `,`, trimmed, empty
    /// items dropped, lower-cased, joined by `", "`.
    fn naive(lines: &[String]) -> Option<String> {
        let names: Vec<String> = lines
            .iter()
            .flat_map(|line| line.split(','))
            .map(|name| name.trim_matches(|c: char| c.is_ascii_whitespace()))
            .filter(|name| !name.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    proptest! {
        #[test]
        fn allow_headers_value_agrees_with_the_naive_definition(
            lines in proptest::collection::vec("[a-zA-Z0-9, \t-]{0,300}", 0..3),
        ) {
            let mut headers = HeaderMap::new();
            for line in &lines {
                headers.append(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_str(line).unwrap());
            }
            // HeaderValue keeps the bytes as given; the naive definition
            // sees the same text.
            let built = allow_headers_value(RequestedHeaders::new(&headers));
            let expected = naive(&lines);
            prop_assert_eq!(built.as_ref().map(|v| v.to_str().unwrap()), expected.as_deref());
        }

        /// The cache answers what building answers, whatever came before.
        #[test]
        fn the_cache_answers_what_building_answers(
            lines in proptest::collection::vec("[a-cA-C, \t-]{0,12}", 1..8),
        ) {
            let mut cache = AllowHeadersCache::default();
            for line in &lines {
                let mut headers = HeaderMap::new();
                headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_str(line).unwrap());
                let requested = RequestedHeaders::new(&headers);
                prop_assert_eq!(cache.value(requested), allow_headers_value(requested));
            }
        }
    }

    #[test]
    fn a_repeated_line_shares_the_value_built_for_it() {
        let mut cache = AllowHeadersCache::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("Content-Type,x-amz-date"),
        );
        let first = cache.value(RequestedHeaders::new(&headers)).unwrap();
        let again = cache.value(RequestedHeaders::new(&headers)).unwrap();
        assert_eq!(again, "content-type, x-amz-date");
        assert_eq!(first.as_bytes().as_ptr(), again.as_bytes().as_ptr());

        // Another line is answered on its own, and kept instead.
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("x-amz-meta-a"),
        );
        assert_eq!(
            cache.value(RequestedHeaders::new(&headers)).unwrap(),
            "x-amz-meta-a"
        );
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("X-Amz-Meta-A"),
        );
        assert_eq!(
            cache.value(RequestedHeaders::new(&headers)).unwrap(),
            "x-amz-meta-a"
        );

        // A line that is its own answer is shared from the request, not kept.
        let line = HeaderValue::from_static("content-type, x-amz-date");
        headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, line.clone());
        let mut fresh = AllowHeadersCache::default();
        let own = fresh.value(RequestedHeaders::new(&headers)).unwrap();
        assert_eq!(own.as_bytes().as_ptr(), line.as_bytes().as_ptr());
        assert!(fresh.last.is_none());
    }

    #[test]
    fn an_already_normal_line_is_shared_not_copied() {
        let mut headers = HeaderMap::new();
        let line = HeaderValue::from_static("content-type, x-amz-date");
        headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, line.clone());
        let built = allow_headers_value(RequestedHeaders::new(&headers)).unwrap();
        assert_eq!(built, line);
        assert_eq!(built.as_bytes().as_ptr(), line.as_bytes().as_ptr());

        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type,x-amz-date"),
        );
        let built = allow_headers_value(RequestedHeaders::new(&headers)).unwrap();
        assert_eq!(built, "content-type, x-amz-date");
    }
}
