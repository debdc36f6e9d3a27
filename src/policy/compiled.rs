//! [`Compiled`]: what a [`Policy`](super::Policy) shares, and the one walk
//! over its rules that both [`evaluate`](super::Policy::evaluate) and
//! [`explain`](super::Policy::explain) make.

use std::ops::Range;

use super::index::OriginIndex;
use super::refusal::Refusal;
use super::request::{CorsRequest, MAX_REQUEST_HEADERS_BYTES};
use super::rule::{Check, CompiledRule};
use crate::config::{ConfigError, CorsConfiguration, Validation};

/// A validated configuration, compiled: the rules and the origin index.
pub(crate) struct Compiled {
    pub(super) config: CorsConfiguration,
    pub(super) validation: Validation,
    pub(super) rules: Box<[CompiledRule]>,
    index: OriginIndex,
}

/// Watches the [walk](Compiled::walk): told about every rule, in document
/// order, up to the first that matches.
pub(super) trait Observer<'a> {
    /// The origin index showed that none of these rules allows the origin,
    /// so they were not looked at.
    fn skipped(&mut self, rules: Range<usize>);
    /// What rule `index` made of the request.
    fn checked(&mut self, index: usize, rule: &CompiledRule, check: Check<'a>);
}

/// [`evaluate`](super::Policy::evaluate)'s observer: watches nothing, costs
/// nothing.
impl Observer<'_> for () {
    #[inline]
    fn skipped(&mut self, _: Range<usize>) {}
    #[inline]
    fn checked(&mut self, _: usize, _: &CompiledRule, _: Check<'_>) {}
}

impl Compiled {
    /// Validates `config` with `validation` and compiles it.
    pub(super) fn new(
        config: CorsConfiguration,
        validation: Validation,
    ) -> Result<Self, ConfigError> {
        let values = config.validated(validation)?;
        let rules: Box<[CompiledRule]> = config
            .rules
            .iter()
            .zip(values)
            .map(|(rule, values)| CompiledRule::compile(rule, values))
            .collect();
        let index = OriginIndex::new(&rules);
        Ok(Self {
            config,
            validation,
            rules,
            index,
        })
    }

    /// The rule at `index`.
    ///
    /// # Panics
    ///
    /// If `index` is not one of this policy's rules. Indexes come from
    /// [`walk`](Self::walk) over the same policy, so this never happens.
    pub(super) fn rule(&self, index: usize) -> &CompiledRule {
        &self.rules[index]
    }

    /// Decides `request` as S3 does (`docs/s3-behaviour.md`, §1 steps 4 to 7, §3, §4): the
    /// index of the first rule whose origin, method and headers all match,
    /// or why none does.
    ///
    /// `Access-Control-Request-Headers` over
    /// [`MAX_REQUEST_HEADERS_BYTES`] is refused first; then, for a
    /// preflight, an `Access-Control-Request-Method` that is missing or not
    /// a method the policy's validation accepts. Both before any rule is
    /// looked at. Then the rules that allow the origin (from the origin
    /// index, in document order) are checked in turn for method and
    /// headers; `observer` is told about each rule, skipped or checked, in
    /// document order.
    #[inline]
    pub(super) fn walk<'a, O: Observer<'a>>(
        &self,
        request: &CorsRequest<'a>,
        observer: &mut O,
    ) -> Result<usize, Refusal> {
        let requested = request.requested_header_lines();
        if requested.byte_len() > MAX_REQUEST_HEADERS_BYTES {
            return Err(Refusal::RequestHeadersTooLarge);
        }
        let method = request
            .method_to_match()
            .ok_or(Refusal::MissingRequestMethod)?;
        if request.is_preflight() && !self.validation.accepts_method(method) {
            return Err(Refusal::InvalidRequestMethod);
        }
        let origin = request.origin().as_bytes();
        let mut next = 0;
        let mut candidates = self.index.candidates(origin);
        while candidates != 0 {
            // The lowest rule left, in document order.
            let index = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            observer.skipped(next..index);
            let rule = self.rule(index);
            let check = rule.check(method, requested);
            observer.checked(index, rule, check);
            if check == Check::Matched {
                return Ok(index);
            }
            next = index + 1;
        }
        observer.skipped(next..self.rules.len());
        Err(Refusal::NoRuleMatched)
    }
}
