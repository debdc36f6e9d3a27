//! [`OriginIndex`]: finds the rules that can match an origin without
//! walking every rule, keeping document order.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::pattern::Pattern;
use super::rule::CompiledRule;

/// An exact origin and the rules (ascending) that list it.
type ExactEntry = (Box<[u8]>, Box<[u16]>);

/// Rules whose origins are all exact are found by binary search on the
/// request's origin; rules with a wildcard origin are always candidates.
/// Both lists are in document order and disjoint, so merging them walks the
/// candidates in document order.
#[derive(Debug)]
pub(crate) struct OriginIndex {
    /// Exact origin → the rules (ascending) that list it. Sorted by origin.
    exact: Box<[ExactEntry]>,
    /// Rules with at least one wildcard origin, ascending.
    scan: Box<[u16]>,
}

impl OriginIndex {
    pub(crate) fn new(rules: &[Arc<CompiledRule>]) -> Self {
        let mut exact: BTreeMap<&[u8], Vec<u16>> = BTreeMap::new();
        let mut scan = Vec::new();
        // Validation caps a policy at 100 rules; indexes fit in u16 with room.
        for (index, rule) in rules.iter().enumerate().take(usize::from(u16::MAX)) {
            let index = index as u16;
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
        Self {
            exact: exact
                .into_iter()
                .map(|(origin, rules)| (origin.into(), rules.into()))
                .collect(),
            scan: scan.into(),
        }
    }

    /// The rules that may match `origin`, in document order, each with
    /// whether its origin is already known to match.
    #[inline]
    pub(crate) fn candidates(&self, origin: &[u8]) -> Candidates<'_> {
        let exact = self
            .exact
            .binary_search_by(|(key, _)| (**key).cmp(origin))
            .ok()
            .and_then(|i| self.exact.get(i))
            .map_or(&[][..], |(_, rules)| rules);
        Candidates {
            exact,
            scan: &self.scan,
        }
    }
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
