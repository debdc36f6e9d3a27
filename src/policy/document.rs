//! [`Document`]: the configuration a policy was compiled from, kept in one
//! buffer.
//!
//! Every value of every rule (`ID`, origins, methods, headers, exposed
//! headers, as written) is stored in document order, each followed by a NUL
//! byte: validation refuses the characters an XML 1.0 document cannot
//! carry, NUL among them, so no value holds one. Where a
//! [`CorsConfiguration`] takes a `String` (an allocation) per value, a
//! policy takes one buffer for them all; the configuration is rebuilt from
//! it when asked for. The buffer also holds the answers' header values,
//! after the document's, so that they share its allocation.

use std::ops::Range;

use bytes::Bytes;

use crate::config::{CorsConfiguration, CorsRule};

/// Where one rule's values are in a [`Document`], and how many of each
/// kind it has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuleSpan {
    /// The offset of the rule's first value.
    start: u32,
    /// Whether the first value is an `ID`.
    has_id: bool,
    /// How many `AllowedOrigin`, `AllowedMethod`, `AllowedHeader` and
    /// `ExposeHeader` values follow it, in that order.
    counts: [u32; 4],
}

/// A configuration's values, and the answers' header values after them.
#[derive(Debug)]
pub(crate) struct Document {
    text: Bytes,
}

/// Builds the text of a [`Document`].
#[derive(Debug, Default)]
pub(crate) struct DocumentWriter {
    text: Vec<u8>,
}

impl DocumentWriter {
    /// Appends `rule`'s values.
    pub(crate) fn rule(&mut self, rule: &CorsRule) -> RuleSpan {
        let start = self.offset();
        if let Some(id) = &rule.id {
            self.value(id);
        }
        self.values(&rule.allowed_origins);
        self.values(&rule.allowed_methods);
        self.values(&rule.allowed_headers);
        self.values(&rule.expose_headers);
        RuleSpan {
            start,
            has_id: rule.id.is_some(),
            counts: [
                &rule.allowed_origins,
                &rule.allowed_methods,
                &rule.allowed_headers,
                &rule.expose_headers,
            ]
            .map(|list| offset(list.len())),
        }
    }

    /// Appends each of `values`.
    fn values(&mut self, values: &[String]) {
        for value in values {
            self.value(value);
        }
    }

    /// Appends one value and its terminating NUL.
    fn value(&mut self, value: &str) {
        debug_assert!(!value.contains('\0'), "validation refuses NUL");
        self.text.extend_from_slice(value.as_bytes());
        self.text.push(0);
    }

    /// Appends an answer's header value after the document's values, unless
    /// the same bytes are there already, at or after offset `answers` (where
    /// the answers began: rules that give the same answer share it);
    /// returns where they are. A policy has at most 300 answers (three per
    /// rule): a plain search does.
    pub(crate) fn answer(&mut self, answers: usize, bytes: &[u8]) -> Range<usize> {
        let found = (answers..=self.text.len().saturating_sub(bytes.len()))
            .find(|&at| !bytes.is_empty() && self.text[at..].starts_with(bytes));
        let start = found.unwrap_or_else(|| {
            let start = self.text.len();
            self.text.extend_from_slice(bytes);
            start
        });
        start..start + bytes.len()
    }

    /// Where the next value goes.
    pub(crate) fn offset(&self) -> u32 {
        offset(self.text.len())
    }

    /// The document, its buffer of exactly its size.
    pub(crate) fn finish(self) -> Document {
        Document {
            text: Bytes::from(self.text.into_boxed_slice()),
        }
    }
}

/// `n` as an offset or a count: a document's values fit in 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a CORS document fits in 4 GiB")
}

impl Document {
    /// The bytes at `range`, sharing the buffer.
    pub(crate) fn slice(&self, range: Range<usize>) -> Bytes {
        self.text.slice(range)
    }

    /// The whole buffer.
    #[inline]
    pub(crate) fn text(&self) -> &[u8] {
        &self.text
    }

    /// The `AllowedMethod`s of the rule at `span`, as written,
    /// NUL-separated.
    pub(crate) fn methods(&self, span: RuleSpan) -> &[u8] {
        let mut reader = Reader::new(self, span.start);
        for _ in 0..u32::from(span.has_id) + span.counts[0] {
            reader.next_range();
        }
        let start = reader.at;
        for _ in 0..span.counts[1] {
            reader.next_range();
        }
        &self.text[start..reader.at.saturating_sub(1).max(start)]
    }

    /// The `ID` of the rule at `span`, if it has one.
    pub(crate) fn id(&self, span: RuleSpan) -> Option<&str> {
        span.has_id.then(|| Reader::new(self, span.start).next())
    }

    /// The `AllowedOrigin`s of the rule at `span`: each origin's range in
    /// the text.
    pub(crate) fn origins(&self, span: RuleSpan) -> impl Iterator<Item = Range<usize>> + '_ {
        let mut reader = Reader::new(self, span.start);
        if span.has_id {
            reader.next();
        }
        (0..span.counts[0]).map(move |_| reader.next_range())
    }

    /// The rule at `span`, as written; its `MaxAgeSeconds` is `max_age`.
    pub(crate) fn rule(&self, span: RuleSpan, max_age: Option<u32>) -> CorsRule {
        let mut reader = Reader::new(self, span.start);
        let mut list = |count: u32| (0..count).map(|_| reader.next().to_owned()).collect();
        let id = span
            .has_id
            .then(|| list(1))
            .map(|mut id: Vec<String>| id.remove(0));
        let [origins, methods, headers, expose] = span.counts;
        let mut rule = CorsRule::new();
        rule.id = id;
        rule.allowed_origins = list(origins);
        rule.allowed_methods = list(methods);
        rule.allowed_headers = list(headers);
        rule.expose_headers = list(expose);
        rule.max_age_seconds = max_age;
        rule
    }

    /// The configuration of the rules at `spans`, with their
    /// `MaxAgeSeconds`.
    pub(crate) fn configuration(
        &self,
        rules: impl Iterator<Item = (RuleSpan, Option<u32>)>,
    ) -> CorsConfiguration {
        rules
            .map(|(span, max_age)| self.rule(span, max_age))
            .collect()
    }
}

/// Reads values one after the other.
struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(document: &'a Document, at: u32) -> Self {
        Self {
            text: &document.text,
            at: at as usize,
        }
    }

    /// The range of the next value (without its NUL).
    fn next_range(&mut self) -> Range<usize> {
        let start = self.at;
        let len = self.text[start..]
            .iter()
            .position(|&b| b == 0)
            .expect("every value ends with NUL");
        self.at = start + len + 1;
        start..start + len
    }

    /// The next value.
    fn next(&mut self) -> &'a str {
        let range = self.next_range();
        std::str::from_utf8(&self.text[range]).expect("stored from a String")
    }
}
