//! [`OriginIndex`]: finds the rules that allow an origin without walking
//! every rule, keeping document order.

use super::pattern::Pattern;
use super::rule::CompiledRule;
use super::table::{Affix, AffixIndex, ExactTable};

/// A set of rules, one bit per rule index (validation caps a policy at 100
/// rules).
pub(crate) type RuleSet = u128;

/// Every origin pattern of every rule, indexed: exact origins in a hash
/// table, `prefix*suffix` origins by the literal text around the `*`, and
/// the rules that list `*`. A lookup gives the set of rules whose origins
/// allow the request's origin, exactly; the walk takes them in document
/// order from the set.
#[derive(Debug)]
pub(crate) struct OriginIndex {
    /// Exact origin → the rules that list it (byte for byte).
    exact: ExactTable<RuleSet, false>,
    /// `prefix*suffix` origins → the rules that list them.
    affixes: AffixIndex<RuleSet, false>,
    /// The rules that list the origin `*`.
    any: RuleSet,
}

impl OriginIndex {
    pub(crate) fn new(rules: &[CompiledRule]) -> Self {
        assert!(
            rules.len() <= RuleSet::BITS as usize,
            "validation caps a policy at 100 rules"
        );
        let mut exact = Vec::new();
        let mut affixes = Vec::new();
        let mut any = 0;
        for (index, rule) in rules.iter().enumerate() {
            let bit: RuleSet = 1 << index;
            for pattern in rule.origins.iter() {
                match pattern {
                    Pattern::Any => any |= bit,
                    Pattern::Exact(origin) => exact.push((origin.clone(), bit)),
                    Pattern::Affix { prefix, suffix } => affixes.push(Affix {
                        prefix,
                        suffix,
                        target: bit,
                    }),
                }
            }
        }
        Self {
            exact: ExactTable::new(exact),
            affixes: AffixIndex::new(affixes),
            any,
        }
    }

    /// The rules whose origins allow `origin`.
    #[inline]
    pub(crate) fn candidates(&self, origin: &[u8]) -> RuleSet {
        let mut rules = self.any;
        if !self.exact.is_empty() {
            rules |= self.exact.get(origin).copied().unwrap_or(0);
        }
        if !self.affixes.is_empty() {
            self.affixes.find(origin, |found| {
                rules |= found;
                false
            });
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::OriginIndex;
    use crate::config::CorsRule;
    use crate::policy::rule::CompiledRule;

    fn compile(rules: &[Vec<String>]) -> Vec<CompiledRule> {
        rules
            .iter()
            .map(|origins| {
                let rule = CorsRule::new()
                    .allowed_origins(origins.clone())
                    .allowed_method("GET");
                let config = crate::config::CorsConfiguration::new().rule(rule.clone());
                let values = config.validated(crate::config::Validation::s3()).unwrap();
                CompiledRule::compile(&rule, values.into_iter().next().unwrap())
            })
            .collect()
    }

    /// The rules a naive walk finds for `probe`, ascending.
    fn walked(compiled: &[CompiledRule], probe: &str) -> Vec<usize> {
        compiled
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.allows_origin(probe.as_bytes()))
            .map(|(i, _)| i)
            .collect()
    }

    fn found(index: &OriginIndex, probe: &str) -> Vec<usize> {
        let set = index.candidates(probe.as_bytes());
        (0..128).filter(|i| set & (1 << i) != 0).collect()
    }

    proptest! {
        /// The index gives exactly the rules a walk would match, in order.
        #[test]
        fn candidates_are_the_rules_that_allow_the_origin(
            rules in proptest::collection::vec(
                proptest::collection::vec("(https://[ab]{0,9}\\.example|https://\\*\\.example|\\*)", 1..3),
                1..40,
            ),
            probe in "https://[ab]{0,9}\\.example",
        ) {
            let compiled = compile(&rules);
            let index = OriginIndex::new(&compiled);
            prop_assert_eq!(found(&index, &probe), walked(&compiled, &probe));
        }

        /// The same with many wildcard origins, so that they are hashed:
        /// shared prefixes and suffixes, `*` at either end or in the
        /// middle, several per rule, up to 100 rules.
        #[test]
        fn wildcard_candidates_are_the_rules_that_allow_the_origin(
            rules in proptest::collection::vec(
                proptest::collection::vec(
                    "(https?://[ab]{0,2}\\*(\\.t[0-9]{1,2})?\\.example|https://[ab]{1,3}|\\*\\.t[0-9]\\.example|https://t[0-9]-\\*|\\*)",
                    1..4,
                ),
                1..100,
            ),
            probes in proptest::collection::vec(
                "https?://[ab]{0,3}(\\.t[0-9]{1,2})?\\.example|https://t[0-9]-[ab]{0,2}|https://[ab]{1,3}",
                1..6,
            ),
        ) {
            let compiled = compile(&rules);
            let index = OriginIndex::new(&compiled);
            for probe in &probes {
                prop_assert_eq!(found(&index, probe), walked(&compiled, probe), "{}", probe);
            }
        }
    }

    #[test]
    fn a_hundred_tenants_are_told_apart() {
        let rules: Vec<Vec<String>> = (0..100)
            .map(|i| vec![format!("https://*.tenant{i}.example")])
            .collect();
        let compiled = compile(&rules);
        let index = OriginIndex::new(&compiled);
        assert_eq!(found(&index, "https://app.tenant99.example"), [99]);
        assert_eq!(found(&index, "https://app.tenant9.example"), [9]);
        assert_eq!(found(&index, "https://app.tenant100.example"), [0_usize; 0]);
    }
}
