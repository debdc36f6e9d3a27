//! [`OriginIndex`]: finds the rules that allow an origin without walking
//! every rule, keeping document order.

use std::ops::Range;

use super::pattern::{Case, Pattern};
use super::table::{Affix, AffixIndex, ExactTable};

/// A set of rules, one bit per rule index (validation caps a policy at 100
/// rules).
pub(crate) type RuleSet = u128;

/// Every origin pattern of every rule, indexed: exact origins in a hash
/// table, `prefix*suffix` origins by the literal text around the `*`, and
/// the rules that list `*`. A lookup gives the set of rules whose origins
/// allow the request's origin, exactly; the walk takes them in document
/// order from the set.
///
/// The exact origins are not copied: the table's keys are ranges of the
/// text the policy keeps its configuration in, which a lookup is given.
#[derive(Debug)]
pub(crate) struct OriginIndex {
    /// Exact origin → the rules that list it (byte for byte).
    exact: ExactTable<RuleSet, false>,
    /// `prefix*suffix` origins → the rules that list them; boxed, as most
    /// policies have none.
    affixes: Option<Box<AffixIndex<RuleSet, false>>>,
    /// The rules that list the origin `*`.
    any: RuleSet,
}

impl OriginIndex {
    /// Indexes the origins of each rule, in order: ranges of `text`.
    pub(crate) fn new<R>(text: &[u8], rules: impl IntoIterator<Item = R>) -> Self
    where
        R: IntoIterator<Item = Range<usize>>,
    {
        let mut exact = Vec::new();
        let mut wildcards = Vec::new();
        let mut any = 0;
        for (index, origins) in rules.into_iter().enumerate() {
            assert!(
                index < RuleSet::BITS as usize,
                "validation caps a policy at 100 rules"
            );
            let bit: RuleSet = 1 << index;
            for range in origins {
                let origin =
                    std::str::from_utf8(&text[range.clone()]).expect("stored from a String");
                match Pattern::new(origin, Case::Sensitive) {
                    Pattern::Any => any |= bit,
                    Pattern::Exact(_) => exact.push(((range.start, range.len()), bit)),
                    affix @ Pattern::Affix { .. } => wildcards.push((affix, bit)),
                }
            }
        }
        let affixes = wildcards.iter().filter_map(|(pattern, bit)| match pattern {
            Pattern::Affix { prefix, suffix } => Some(Affix {
                prefix,
                suffix,
                target: *bit,
            }),
            Pattern::Any | Pattern::Exact(_) => None,
        });
        Self {
            exact: ExactTable::new(text, exact),
            affixes: (!wildcards.is_empty()).then(|| Box::new(AffixIndex::new(affixes))),
            any,
        }
    }

    /// The rules whose origins allow `origin`; `text` is the one the index
    /// was built over.
    #[inline]
    pub(crate) fn candidates(&self, text: &[u8], origin: &[u8]) -> RuleSet {
        let mut rules = self.any;
        if !self.exact.is_empty() {
            rules |= self.exact.get(text, origin).copied().unwrap_or(0);
        }
        if let Some(affixes) = &self.affixes {
            rules |= wildcard_candidates(affixes, origin);
        }
        rules
    }
}

/// The rules whose `prefix*suffix` origins allow `origin`. Kept out of
/// line: most policies list no such origin, and inlined into the walk this
/// search made every walk pay for its registers.
#[inline(never)]
fn wildcard_candidates(affixes: &AffixIndex<RuleSet, false>, origin: &[u8]) -> RuleSet {
    let mut rules = 0;
    affixes.find(origin, |found| {
        rules |= found;
        false
    });
    rules
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use std::ops::Range;

    use super::OriginIndex;
    use crate::policy::pattern::{Case, Pattern};

    /// Rules' origins as a policy keeps them: ranges of one text.
    struct Origins {
        text: Vec<u8>,
        rules: Vec<Vec<Range<usize>>>,
    }

    impl Origins {
        fn index(&self) -> OriginIndex {
            OriginIndex::new(&self.text, self.rules.iter().cloned())
        }
    }

    fn compile(rules: &[Vec<String>]) -> Origins {
        let mut text = Vec::new();
        let rules = rules
            .iter()
            .map(|origins| {
                origins
                    .iter()
                    .map(|origin| {
                        let start = text.len();
                        text.extend_from_slice(origin.as_bytes());
                        text.push(0);
                        start..start + origin.len()
                    })
                    .collect()
            })
            .collect();
        Origins { text, rules }
    }

    /// The rules a naive walk finds for `probe`, ascending.
    fn walked(compiled: &Origins, probe: &str) -> Vec<usize> {
        let allows = |origins: &Vec<Range<usize>>| {
            origins.iter().any(|range| {
                let origin = std::str::from_utf8(&compiled.text[range.clone()]).unwrap();
                Pattern::new(origin, Case::Sensitive).matches(probe.as_bytes(), Case::Sensitive)
            })
        };
        (0..compiled.rules.len())
            .filter(|&i| allows(&compiled.rules[i]))
            .collect()
    }

    fn found(compiled: &Origins, index: &OriginIndex, probe: &str) -> Vec<usize> {
        let set = index.candidates(&compiled.text, probe.as_bytes());
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
            let index = compiled.index();
            prop_assert_eq!(found(&compiled, &index, &probe), walked(&compiled, &probe));
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
            let index = compiled.index();
            for probe in &probes {
                prop_assert_eq!(found(&compiled, &index, probe), walked(&compiled, probe), "{}", probe);
            }
        }
    }

    #[test]
    fn a_hundred_tenants_are_told_apart() {
        let rules: Vec<Vec<String>> = (0..100)
            .map(|i| vec![format!("https://*.tenant{i}.example")])
            .collect();
        let compiled = compile(&rules);
        let index = compiled.index();
        assert_eq!(
            found(&compiled, &index, "https://app.tenant99.example"),
            [99]
        );
        assert_eq!(found(&compiled, &index, "https://app.tenant9.example"), [9]);
        assert_eq!(
            found(&compiled, &index, "https://app.tenant100.example"),
            [0_usize; 0]
        );
    }
}
