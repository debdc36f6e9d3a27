//! [`Compiled`]: what a [`Policy`](super::Policy) shares, and the one walk
//! over its rules that both [`evaluate`](super::Policy::evaluate) and
//! [`explain`](super::Policy::explain) make.

use std::ops::Range;
use std::sync::OnceLock;

use http::HeaderValue;

use super::document::{Document, DocumentWriter};
use super::index::OriginIndex;
use super::refusal::Refusal;
use super::request::{CorsRequest, MAX_REQUEST_HEADERS_BYTES};
use super::rule::{Answer, Check, CompiledRule};
use crate::config::{ConfigError, CorsConfiguration, Validation};

/// A validated configuration, compiled: the rules, the origin index, the
/// answers' header values, and the configuration's own values.
///
/// A server may hold a compiled policy per bucket, so this is laid out for
/// size (about 0.7 KiB for a three-rule document, measured by
/// `benches/memory.rs`): the configuration's values in one buffer (a
/// [`Document`]) instead of a `String` each, the answers' header values
/// slices of that buffer and shared by the rules that give the same one,
/// the origin index's keys read from it too.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(super) validation: Validation,
    pub(super) rules: Box<[CompiledRule]>,
    document: Document,
    /// The answers' header values (`Access-Control-Allow-Methods`,
    /// `-Expose-Headers`, `-Max-Age`), each once; rules hold indexes.
    values: Box<[HeaderValue]>,
    index: OriginIndex,
    /// The configuration, rebuilt from `document` the first time
    /// [`configuration`](Self::configuration) is asked for, then kept.
    config: OnceLock<Box<CorsConfiguration>>,
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
    pub(crate) fn new(
        config: &CorsConfiguration,
        validation: Validation,
    ) -> Result<Self, ConfigError> {
        let validated = config.validated(validation)?;
        let mut writer = DocumentWriter::default();
        let spans: Vec<_> = config.rules.iter().map(|rule| writer.rule(rule)).collect();
        // The answers' values follow the document's.
        let answers_start = writer.offset() as usize;
        let mut ranges: Vec<Range<usize>> = Vec::new();
        let mut answer = |bytes: &[u8]| -> u16 {
            let range = writer.answer(answers_start, bytes);
            let index = match ranges.iter().position(|r| *r == range) {
                Some(index) => index,
                None => {
                    ranges.push(range);
                    ranges.len() - 1
                }
            };
            u16::try_from(index).expect("a policy has at most 100 rules, 3 values each")
        };
        let answers: Vec<Answer> = config
            .rules
            .iter()
            .zip(&validated)
            .map(|(rule, values)| Answer {
                allow_methods: answer(values.allow_methods.as_bytes()),
                expose_headers: values.expose_headers.as_ref().map(|v| answer(v.as_bytes())),
                max_age: rule
                    .max_age_seconds
                    .map(|seconds| answer(seconds.to_string().as_bytes())),
            })
            .collect();
        let document = writer.finish();
        let values = ranges
            .into_iter()
            .map(|range| {
                HeaderValue::from_maybe_shared(document.slice(range))
                    .expect("validated values and digits are header values")
            })
            .collect();
        let rules: Box<[CompiledRule]> = config
            .rules
            .iter()
            .zip(spans)
            .zip(answers)
            .map(|((rule, span), answer)| CompiledRule::compile(rule, span, answer))
            .collect();
        let index = OriginIndex::new(
            document.text(),
            rules.iter().map(|rule| document.origins(rule.span)),
        );
        Ok(Self {
            validation,
            rules,
            document,
            values,
            index,
            config: OnceLock::new(),
        })
    }

    /// The rule at `index`.
    ///
    /// # Panics
    ///
    /// If `index` is not one of this policy's rules. Indexes come from
    /// [`walk`](Self::walk) over the same policy, so this never happens.
    pub(crate) fn rule(&self, index: usize) -> &CompiledRule {
        &self.rules[index]
    }

    /// The header value at `index` (an index a rule's [`Answer`] holds).
    #[inline]
    pub(crate) fn value(&self, index: u16) -> &HeaderValue {
        &self.values[usize::from(index)]
    }

    /// The `ID` of rule `index`, if it has one.
    pub(crate) fn rule_id(&self, index: usize) -> Option<&str> {
        self.document.id(self.rule(index).span)
    }

    /// The configuration this policy was compiled from.
    pub(crate) fn configuration(&self) -> &CorsConfiguration {
        self.config
            .get_or_init(|| Box::new(self.rebuild_configuration()))
    }

    /// The configuration, rebuilt from the document (not kept).
    pub(crate) fn rebuild_configuration(&self) -> CorsConfiguration {
        self.document.configuration(self.rules.iter().map(|rule| {
            let max_age = rule.answer.max_age.map(|index| {
                let digits = self.value(index).to_str().expect("digits");
                digits.parse().expect("written from a u32")
            });
            (rule.span, max_age)
        }))
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
        let mut candidates = self.index.candidates(self.document.text(), origin);
        while candidates != 0 {
            // The lowest rule left, in document order.
            let index = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            observer.skipped(next..index);
            let rule = self.rule(index);
            let check = rule.check(method, requested, || self.document.methods(rule.span));
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

#[cfg(test)]
mod tests {
    use super::{Compiled, CompiledRule};

    /// A server may hold a compiled policy per bucket: the parts every
    /// policy has keep their size (`benches/memory.rs` measures the whole,
    /// about 0.7 KiB for the demo's three-rule document).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn the_parts_of_every_policy_stay_small() {
        assert!(
            size_of::<CompiledRule>() <= 48,
            "{}",
            size_of::<CompiledRule>()
        );
        assert!(size_of::<Compiled>() <= 160, "{}", size_of::<Compiled>());
    }
}
