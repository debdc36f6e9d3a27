//! [`CompiledRule`]: one rule, ready to match, with its answer precomputed.

use http::HeaderValue;

use super::pattern::{Case, Pattern};
use super::request::RequestedHeaders;
use super::table::{Affix, AffixIndex, ExactTable};
use crate::config::{CorsRule, RuleValues};

/// One `CORSRule`, compiled: patterns split and lower-cased, methods as a bit
/// set, and the header values of a matched answer built once.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) id: Option<String>,
    pub(crate) origins: Box<[Pattern]>,
    /// The rule lists the origin `*`: the answer is `Access-Control-Allow-Origin: *`.
    pub(crate) any_origin: bool,
    methods: MethodSet,
    headers: HeaderPatterns,
    pub(crate) allow_methods: HeaderValue,
    pub(crate) expose_headers: Option<HeaderValue>,
    pub(crate) max_age: Option<HeaderValue>,
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
    /// Compiles a rule with the values its validation produced.
    pub(crate) fn compile(rule: &CorsRule, values: RuleValues) -> Self {
        let origins = rule
            .allowed_origins
            .iter()
            .map(|o| Pattern::new(o, Case::Sensitive))
            .collect::<Box<[_]>>();
        Self {
            id: rule.id.clone(),
            any_origin: origins.contains(&Pattern::Any),
            origins,
            methods: MethodSet::new(&rule.allowed_methods),
            headers: HeaderPatterns::new(&rule.allowed_headers),
            allow_methods: values.allow_methods,
            expose_headers: values.expose_headers,
            max_age: rule.max_age_seconds.map(HeaderValue::from),
        }
    }

    /// Checks method and headers, in that order, for a request whose origin
    /// this rule allows.
    #[inline]
    pub(crate) fn check<'a>(&self, method: &[u8], requested: RequestedHeaders<'a>) -> Check<'a> {
        if !self.methods.contains(method) {
            Check::Method
        } else if let Some(name) = self.refused_header(requested) {
            Check::Header(name)
        } else {
            Check::Matched
        }
    }

    /// Whether one of the rule's origins matches `origin`, pattern by
    /// pattern (the walk asks the origin index instead).
    #[cfg(test)]
    pub(crate) fn allows_origin(&self, origin: &[u8]) -> bool {
        self.origins
            .iter()
            .any(|p| p.matches(origin, Case::Sensitive))
    }

    /// The first requested header name no `AllowedHeader` admits.
    #[inline]
    fn refused_header<'a>(&self, requested: RequestedHeaders<'a>) -> Option<&'a [u8]> {
        if self.headers.any {
            return None;
        }
        requested.names().find(|name| !self.headers.allows(name))
    }
}

/// A rule's `AllowedHeader`s: whether it lists `*`, its exact names in a
/// hash set, its `prefix*suffix` patterns indexed by their literal text.
/// Checking a name costs the same however many the rule lists.
#[derive(Debug)]
struct HeaderPatterns {
    /// The rule lists `*`: every requested name is allowed.
    any: bool,
    /// Names compared ASCII-case-insensitively.
    exact: ExactTable<(), true>,
    affixes: AffixIndex<(), true>,
}

impl HeaderPatterns {
    fn new(headers: &[String]) -> Self {
        let patterns: Vec<Pattern> = headers
            .iter()
            .map(|h| Pattern::new(h, Case::Insensitive))
            .collect();
        Self {
            any: patterns.contains(&Pattern::Any),
            exact: ExactTable::new(patterns.iter().filter_map(|p| match p {
                Pattern::Exact(name) => Some((name.clone(), ())),
                Pattern::Any | Pattern::Affix { .. } => None,
            })),
            affixes: AffixIndex::new(patterns.iter().filter_map(|p| match p {
                Pattern::Affix { prefix, suffix } => Some(Affix {
                    prefix,
                    suffix,
                    target: (),
                }),
                Pattern::Any | Pattern::Exact(_) => None,
            })),
        }
    }

    /// Whether `name` matches one of the patterns, ASCII-case-insensitively.
    #[inline]
    fn allows(&self, name: &[u8]) -> bool {
        self.exact.get(name).is_some() || self.affixes.find(name, |()| true)
    }
}

/// A rule's methods: S3's five as bits, anything else (extended methods) in a
/// short list.
#[derive(Debug)]
struct MethodSet {
    bits: u8,
    others: Box<[Box<[u8]>]>,
}

impl MethodSet {
    fn new(methods: &[String]) -> Self {
        let mut bits = 0;
        let mut others = Vec::new();
        for method in methods {
            match s3_method_bit(method.as_bytes()) {
                Some(bit) => bits |= bit,
                None => others.push(method.as_bytes().into()),
            }
        }
        Self {
            bits,
            others: others.into(),
        }
    }

    #[inline]
    fn contains(&self, method: &[u8]) -> bool {
        match s3_method_bit(method) {
            Some(bit) => self.bits & bit != 0,
            None => self.others.iter().any(|m| **m == *method),
        }
    }
}

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

    use super::{Check, CompiledRule};
    use crate::config::{CorsConfiguration, CorsRule, Validation};
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
            let config = CorsConfiguration::new().rule(rule.clone());
            let values = config.validated(Validation::s3()).unwrap();
            let compiled = CompiledRule::compile(&rule, values.into_iter().next().unwrap());
            let mut headers = HeaderMap::new();
            headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_str(&names.join(",")).unwrap());
            let expected = match names.iter().find(|n| !allowed(&patterns, n)) {
                Some(name) => Check::Header(name.as_bytes()),
                None => Check::Matched,
            };
            prop_assert_eq!(compiled.check(b"GET", RequestedHeaders::new(&headers)), expected);
        }
    }
}
