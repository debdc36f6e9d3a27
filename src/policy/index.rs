//! [`OriginIndex`]: finds the rules that can match an origin without
//! walking every rule, keeping document order.

use std::collections::BTreeMap;

use super::pattern::Pattern;
use super::rule::CompiledRule;

/// An exact origin and the rules (ascending) that list it.
type ExactEntry = (Box<[u8]>, Box<[u16]>);

/// Rules whose origins are all exact are found through a hash table on the
/// request's origin; rules with a wildcard origin are always candidates.
/// Both lists are in document order and disjoint, so merging them walks the
/// candidates in document order.
#[derive(Debug)]
pub(crate) struct OriginIndex {
    /// Exact origin → the rules (ascending) that list it. Sorted by origin.
    exact: Box<[ExactEntry]>,
    /// Open addressing over `exact`: each slot holds an index into `exact`
    /// plus one, or 0 when empty. A power of two at least twice as long as
    /// `exact`, so a lookup reaches an empty slot after a short probe.
    slots: Box<[u16]>,
    /// Rules with at least one wildcard origin, ascending.
    scan: Box<[u16]>,
}

impl OriginIndex {
    pub(crate) fn new(rules: &[CompiledRule]) -> Self {
        let mut exact: BTreeMap<&[u8], Vec<u16>> = BTreeMap::new();
        let mut scan = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let index = u16::try_from(index).expect("validation caps a policy at 100 rules");
            if rule.origins.iter().all(|p| matches!(p, Pattern::Exact(_))) {
                for pattern in rule.origins.iter() {
                    if let Pattern::Exact(origin) = pattern {
                        let list = exact.entry(origin).or_default();
                        if list.last() != Some(&index) {
                            list.push(index);
                        }
                    }
                }
            } else {
                scan.push(index);
            }
        }
        let exact: Box<[ExactEntry]> = exact
            .into_iter()
            .map(|(origin, rules)| (origin.into(), rules.into()))
            .collect();
        let mut slots = vec![0_u16; (exact.len() * 2).next_power_of_two().max(2)];
        let mask = slots.len() - 1;
        for (entry, (origin, _)) in exact.iter().enumerate() {
            // At most 100 rules of at most 64 KiB of document: far fewer
            // origins than u16::MAX.
            let entry = u16::try_from(entry + 1).expect("fewer exact origins than u16::MAX");
            let mut slot = start_slot(origin, slots.len());
            // The table is at least twice as long as `exact`: a free slot
            // exists.
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = entry;
        }
        Self {
            exact,
            slots: slots.into(),
            scan: scan.into(),
        }
    }

    /// The rules that list `origin` exactly, ascending; empty if none does.
    #[inline]
    fn exact_rules(&self, origin: &[u8]) -> &[u16] {
        /// Up to this many exact origins, comparing them all is cheaper
        /// than hashing (a comparison of different lengths is one test).
        const LINEAR: usize = 4;
        if self.exact.len() <= LINEAR {
            return self
                .exact
                .iter()
                .find(|(key, _)| **key == *origin)
                .map_or(&[], |(_, rules)| rules);
        }
        let mask = self.slots.len() - 1;
        let mut slot = start_slot(origin, self.slots.len());
        // The table is never full, so the probe ends at an empty slot.
        loop {
            match self.slots[slot] {
                0 => return &[],
                taken => {
                    let (key, rules) = &self.exact[usize::from(taken) - 1];
                    if **key == *origin {
                        return rules;
                    }
                    slot = (slot + 1) & mask;
                }
            }
        }
    }

    /// The rules that may match `origin`, in document order, each with
    /// whether its origin is already known to match.
    #[inline]
    pub(crate) fn candidates(&self, origin: &[u8]) -> Candidates<'_> {
        Candidates {
            exact: self.exact_rules(origin),
            scan: &self.scan,
        }
    }
}

/// Where the probe for `origin` starts in a table of `len` slots (a power of
/// two, at least 2): a multiplicative hash of the origin taken a word at a
/// time, so a lookup costs a few multiplications and one comparison instead
/// of a binary search's several. The rules are fixed when the policy is
/// compiled and a request only chooses what to look up, so a crafted origin
/// can make a probe no longer than the longest run of taken slots.
#[inline]
fn start_slot(origin: &[u8], len: usize) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let step = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(K);
    let mut hash = origin.len() as u64;
    let mut words = origin.chunks_exact(8);
    for word in &mut words {
        hash = step(
            hash,
            u64::from_le_bytes(word.try_into().expect("chunks_exact(8) gives 8 bytes")),
        );
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0; 8];
        last[..rest.len()].copy_from_slice(rest); // the remainder is under 8 bytes
        hash = step(hash, u64::from_le_bytes(last));
    }
    // The high bits of a multiplicative hash are the well-mixed ones.
    (hash >> (64 - len.trailing_zeros())) as usize
}

/// Merges the two ascending candidate lists.
#[derive(Debug)]
pub(crate) struct Candidates<'a> {
    exact: &'a [u16],
    scan: &'a [u16],
}

impl Iterator for Candidates<'_> {
    /// (rule index, origin known to match)
    type Item = (usize, bool);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match (self.exact.split_first(), self.scan.split_first()) {
            (Some((&e, rest)), Some((&s, _))) if e < s => {
                self.exact = rest;
                Some((usize::from(e), true))
            }
            (_, Some((&s, rest))) => {
                self.scan = rest;
                Some((usize::from(s), false))
            }
            (Some((&e, rest)), None) => {
                self.exact = rest;
                Some((usize::from(e), true))
            }
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::OriginIndex;
    use crate::config::CorsRule;
    use crate::policy::rule::CompiledRule;

    proptest! {
        /// The index gives exactly the rules a walk would try, in order.
        #[test]
        fn candidates_are_the_rules_that_may_match_in_document_order(
            rules in proptest::collection::vec(
                proptest::collection::vec("(https://[ab]{0,9}\\.example|https://\\*\\.example|\\*)", 1..3),
                1..40,
            ),
            probe in "https://[ab]{0,9}\\.example",
        ) {
            let compiled: Vec<CompiledRule> = rules
                .iter()
                .map(|origins| {
                    let rule = CorsRule::new().allowed_origins(origins.clone()).allowed_method("GET");
                    let config = crate::config::CorsConfiguration::new().rule(rule.clone());
                    let values = config.validated(crate::config::Validation::s3()).unwrap();
                    CompiledRule::compile(&rule, values.into_iter().next().unwrap())
                })
                .collect();
            let index = OriginIndex::new(&compiled);
            let walked: Vec<usize> = compiled
                .iter()
                .enumerate()
                .filter(|(_, rule)| rule.allows_origin(probe.as_bytes()))
                .map(|(i, _)| i)
                .collect();
            let found: Vec<usize> = index
                .candidates(probe.as_bytes())
                .filter(|&(i, known)| known || compiled[i].allows_origin(probe.as_bytes()))
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(found, walked);
            // An exact hit is only reported for a rule that lists the origin.
            for (i, known) in index.candidates(probe.as_bytes()) {
                prop_assert!(!known || compiled[i].allows_origin(probe.as_bytes()));
            }
        }
    }
}
