//! [`CompiledRule`]: one rule, ready to match, with its answer precomputed.

use http::HeaderValue;

use super::pattern::{Case, Pattern};
use super::request::RequestedHeaders;
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
    headers: Box<[Pattern]>,
    /// The rule lists the header `*`: every requested name is allowed.
    any_header: bool,
    pub(crate) allow_methods: HeaderValue,
    pub(crate) expose_headers: Option<HeaderValue>,
    pub(crate) max_age: Option<HeaderValue>,
}

/// What one rule makes of a request: the first of its checks (origin,
/// method, headers) that fails, or a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check<'a> {
    Matched,
    Origin,
    Method,
    /// This requested name (as sent) matches no `AllowedHeader`.
    Header(&'a [u8]),
}

impl CompiledRule {
    /// Compiles a rule with the values its validation produced.
    pub(crate) fn compile(rule: &CorsRule, values: RuleValues) -> Self {
        let headers = rule
            .allowed_headers
            .iter()
            .map(|h| Pattern::new(h, Case::Insensitive))
            .collect::<Box<[_]>>();
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
            any_header: headers.contains(&Pattern::Any),
            headers,
            allow_methods: values.allow_methods,
            expose_headers: values.expose_headers,
            max_age: rule.max_age_seconds.map(HeaderValue::from),
        }
    }

    /// Checks origin, method and headers, in that order. `origin_known`:
    /// the origin index has already found `origin` among this rule's.
    #[inline]
    pub(crate) fn check<'a>(
        &self,
        origin_known: bool,
        origin: &[u8],
        method: &[u8],
        requested: RequestedHeaders<'a>,
    ) -> Check<'a> {
        if !origin_known && !self.allows_origin(origin) {
            Check::Origin
        } else if !self.methods.contains(method) {
            Check::Method
        } else if let Some(name) = self.refused_header(requested) {
            Check::Header(name)
        } else {
            Check::Matched
        }
    }

    #[inline]
    pub(crate) fn allows_origin(&self, origin: &[u8]) -> bool {
        self.origins
            .iter()
            .any(|p| p.matches(origin, Case::Sensitive))
    }

    /// The first requested header name no `AllowedHeader` admits.
    #[inline]
    fn refused_header<'a>(&self, requested: RequestedHeaders<'a>) -> Option<&'a [u8]> {
        if self.any_header {
            return None;
        }
        requested.names().find(|name| {
            !self
                .headers
                .iter()
                .any(|p| p.matches(name, Case::Insensitive))
        })
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
