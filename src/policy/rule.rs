//! [`CompiledRule`]: one rule, ready to match, with its answer precomputed.

use super::document::RuleSpan;
use super::pattern::{Case, Pattern};
use super::request::RequestedHeaders;
use super::table::{Affix, AffixIndex, ExactTable};
use crate::config::CorsRule;

/// One `CORSRule`, compiled: methods as a bit set, header patterns
/// lower-cased and indexed, and the header values of a matched answer
/// built once (held by the policy, which shares them between rules).
///
/// Kept small (48 bytes): a policy is compiled per bucket, and a server
/// may hold a million. What only `Policy::configuration` and `explain`
/// read (the `ID`, the origins, the methods as written) stays in the
/// policy's [`Document`](super::document::Document); the origins are
/// matched through the policy's origin index.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    /// Where the rule's values are in the policy's document.
    pub(super) span: RuleSpan,
    /// The answer's header values, as indexes in the policy's values.
    pub(super) answer: Answer,
    /// The rule lists the origin `*`: the answer is `Access-Control-Allow-Origin: *`.
    pub(crate) any_origin: bool,
    /// S3's five methods, as bits.
    methods: u8,
    /// The rule lists methods other than S3's five (a policy compiled with
    /// extended methods): they are compared with the document's text.
    other_methods: bool,
    /// The rule lists the header `*`: every requested name is allowed.
    any_header: bool,
    /// The rule's `AllowedHeader`s, indexed, when it lists some and not
    /// `*`: boxed, as most rules list `*` or nothing, and the index is
    /// large beside a rule.
    headers: Option<Box<HeaderIndex>>,
}

/// The header values of a rule's answer: indexes in its policy's values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answer {
    pub(crate) allow_methods: u16,
    pub(crate) expose_headers: Option<u16>,
    pub(crate) max_age: Option<u16>,
}

/// What one rule whose origins allow the request's makes of it: the first
/// of its checks (method, headers) that fails, or a match. (The origin
/// index finds the rules whose origins allow it.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check<'a> {
    Matched,
    Method,
    /// This requested name (as sent) matches no `AllowedHeader`.
    Header(&'a [u8]),
}

impl CompiledRule {
    /// Compiles a rule whose values are at `span` in the policy's document
    /// and whose answer is `answer`.
    pub(crate) fn compile(rule: &CorsRule, span: RuleSpan, answer: Answer) -> Self {
        let mut methods = 0;
        let mut other_methods = false;
        for method in &rule.allowed_methods {
            match s3_method_bit(method.as_bytes()) {
                Some(bit) => methods |= bit,
                None => other_methods = true,
            }
        }
        Self {
            span,
            answer,
            any_origin: rule.allowed_origins.iter().any(|o| o == "*"),
            methods,
            other_methods,
            any_header: rule.allowed_headers.iter().any(|h| h == "*"),
            headers: HeaderIndex::new(&rule.allowed_headers),
        }
    }

    /// Checks method and headers, in that order, for a request whose origin
    /// this rule allows. `methods` gives the rule's methods as written (only
    /// read for a method other than S3's five).
    #[inline]
    pub(crate) fn check<'a, 'm>(
        &self,
        method: &[u8],
        requested: RequestedHeaders<'a>,
        methods: impl FnOnce() -> &'m [u8],
    ) -> Check<'a> {
        if !self.allows_method(method, methods) {
            Check::Method
        } else if let Some(name) = self.refused_header(requested) {
            Check::Header(name)
        } else {
            Check::Matched
        }
    }

    /// Whether `method` is one of the rule's; `methods` gives the methods
    /// as written, NUL-separated.
    #[inline]
    fn allows_method<'m>(&self, method: &[u8], methods: impl FnOnce() -> &'m [u8]) -> bool {
        match s3_method_bit(method) {
            Some(bit) => self.methods & bit != 0,
            None => self.other_methods && methods().split(|&b| b == 0).any(|m| m == method),
        }
    }

    /// The first requested header name no `AllowedHeader` admits.
    #[inline]
    fn refused_header<'a>(&self, requested: RequestedHeaders<'a>) -> Option<&'a [u8]> {
        match &self.headers {
            _ if self.any_header => None,
            None => requested.names().next(),
            Some(headers) => requested.names().find(|name| !headers.allows(name)),
        }
    }
}

/// A rule's `AllowedHeader`s other than `*`: its exact names and its
/// `prefix*suffix` patterns, indexed, compared ASCII-case-insensitively.
/// Checking a name costs the same however many the rule lists.
#[derive(Debug)]
struct HeaderIndex {
    /// The exact names, lower-cased, one after the other.
    names: Box<[u8]>,
    /// The exact names, as spans of `names`.
    exact: ExactTable<(), true>,
    affixes: AffixIndex<(), true>,
}

impl HeaderIndex {
    /// The index of `headers`; `None` when they hold `*` (everything is
    /// allowed) or nothing (nothing is).
    fn new(headers: &[String]) -> Option<Box<Self>> {
        let patterns: Vec<Pattern> = headers
            .iter()
            .map(|h| Pattern::new(h, Case::Insensitive))
            .collect();
        if patterns.is_empty() || patterns.contains(&Pattern::Any) {
            return None;
        }
        let mut names = Vec::new();
        let mut spans = Vec::new();
        for pattern in &patterns {
            if let Pattern::Exact(name) = pattern {
                spans.push(((names.len(), name.len()), ()));
                names.extend_from_slice(name);
            }
        }
        let exact = ExactTable::new(&names, spans);
        let affixes = AffixIndex::new(patterns.iter().filter_map(|p| match p {
            Pattern::Affix { prefix, suffix } => Some(Affix {
                prefix,
                suffix,
                target: (),
            }),
            Pattern::Any | Pattern::Exact(_) => None,
        }));
        Some(Box::new(Self {
            names: names.into(),
            exact,
            affixes,
        }))
    }

    /// Whether `name` matches one of the patterns, ASCII-case-insensitively.
    #[inline]
    fn allows(&self, name: &[u8]) -> bool {
        self.exact.get(&self.names, name).is_some() || self.affixes.find(name, |()| true)
    }
}

/// The bit of one of S3's five methods.
#[inline]
fn s3_method_bit(method: &[u8]) -> Option<u8> {
    Some(match method {
        b"GET" => 1,
        b"PUT" => 2,
        b"HEAD" => 4,
        b"POST" => 8,
        b"DELETE" => 16,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::header::ACCESS_CONTROL_REQUEST_HEADERS;
    use http::{HeaderMap, HeaderValue};
    use proptest::prelude::*;

    use super::Check;
    use crate::config::{CorsConfiguration, CorsRule, Validation};
    use crate::policy::Compiled;
    use crate::policy::request::RequestedHeaders;

    /// S3's definition: one `*` stands for any run of characters; names
    /// compared ASCII-case-insensitively.
    fn allowed(patterns: &[String], name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        patterns.iter().any(|p| {
            let p = p.to_ascii_lowercase();
            match p.split_once('*') {
                None => p == name,
                Some((a, b)) => {
                    name.len() >= a.len() + b.len() && name.starts_with(a) && name.ends_with(b)
                }
            }
        })
    }

    proptest! {
        /// Header checks through the hash set and the affix index agree
        /// with matching every pattern, with few patterns and many.
        #[test]
        fn header_check_agrees_with_matching_every_pattern(
            patterns in proptest::collection::vec("x-[aB]{0,2}(\\*[aB-]{0,2})?|\\*-[ab]|[ab]\\*|\\*", 1..40),
            names in proptest::collection::vec("x-[aAbB]{0,3}-?[ab]?|[aB]{1,2}-[ab]", 1..6),
        ) {
            let rule = CorsRule::new()
                .allowed_origin("*")
                .allowed_method("GET")
                .allowed_headers(patterns.clone());
            let config = CorsConfiguration::new().rule(rule);
            let compiled = Compiled::new(&config, Validation::s3()).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_str(&names.join(",")).unwrap());
            let expected = match names.iter().find(|n| !allowed(&patterns, n)) {
                Some(name) => Check::Header(name.as_bytes()),
                None => Check::Matched,
            };
            let check = compiled.rule(0).check(b"GET", RequestedHeaders::new(&headers), || b"");
            prop_assert_eq!(check, expected);
        }
    }
}
