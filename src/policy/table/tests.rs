//! The tables against a plain walk over the patterns.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::{Affix, AffixIndex, ExactTable};
use crate::policy::pattern::{Case, Pattern};

/// The index finds exactly the patterns that match, whatever side it
/// filed them under; the exact table exactly the equal keys.
fn agree<const FOLD: bool>(patterns: &[String], values: &[String]) -> Result<(), TestCaseError> {
    let case = if FOLD {
        Case::Insensitive
    } else {
        Case::Sensitive
    };
    let compiled: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p, case)).collect();
    let index =
        AffixIndex::<u128, FOLD>::new(compiled.iter().enumerate().filter_map(|(i, p)| match p {
            Pattern::Affix { prefix, suffix } => Some(Affix {
                prefix,
                suffix,
                target: 1_u128 << i,
            }),
            Pattern::Any | Pattern::Exact(_) => None,
        }));
    let mut keys = Vec::new();
    let mut spans = Vec::new();
    for (i, p) in compiled.iter().enumerate() {
        if let Pattern::Exact(text) = p {
            spans.push(((keys.len(), text.len()), 1_u128 << i));
            keys.extend_from_slice(text);
        }
    }
    let exact = ExactTable::<u128, FOLD>::new(&keys, spans);
    for value in values {
        let value = value.as_bytes();
        let expected = |affix: bool| {
            compiled
                .iter()
                .enumerate()
                .filter(|(_, p)| matches!(p, Pattern::Affix { .. }) == affix)
                .filter(|(_, p)| !matches!(p, Pattern::Any) && p.matches(value, case))
                .fold(0_u128, |m, (i, _)| m | 1 << i)
        };
        let mut found = 0_u128;
        let stopped = index.find(value, |t| {
            found |= t;
            false
        });
        prop_assert!(!stopped);
        prop_assert_eq!(
            found,
            expected(true),
            "value {:?}",
            String::from_utf8_lossy(value)
        );
        prop_assert_eq!(
            exact.get(&keys, value).copied().unwrap_or(0),
            expected(false)
        );
        // Stopping at the first match finds one when there is one.
        prop_assert_eq!(index.find(value, |_| true), expected(true) != 0);
    }
    Ok(())
}

/// [`agree`], case-insensitive or not.
fn agree_folding(
    insensitive: bool,
    patterns: &[String],
    values: &[String],
) -> Result<(), TestCaseError> {
    if insensitive {
        agree::<true>(patterns, values)
    } else {
        agree::<false>(patterns, values)
    }
}

proptest! {
    #[test]
    fn lookups_agree_with_matching_every_pattern(
        patterns in proptest::collection::vec("[aAb.]{0,3}(\\*[aAb.]{0,3})?", 0..24),
        values in proptest::collection::vec("[aAbB.]{0,7}", 1..8),
        insensitive in any::<bool>(),
    ) {
        agree_folding(insensitive, &patterns, &values)?;
    }

    /// Many distinct key lengths: hashed one byte at a time.
    #[test]
    fn lookups_agree_with_many_key_lengths(
        patterns in proptest::collection::vec("[ab]{0,12}\\*[ab]{0,12}", 10..40),
        values in proptest::collection::vec("[aAbB]{0,20}", 1..8),
        insensitive in any::<bool>(),
    ) {
        agree_folding(insensitive, &patterns, &values)?;
    }
}

#[test]
fn many_patterns_sharing_a_side_are_told_apart_by_the_other() {
    // Every pattern has the prefix `https://`: filed by suffix.
    let suffixes: Vec<String> = (0..100).map(|i| format!(".tenant{i}.example")).collect();
    let index = AffixIndex::<u128, false>::new(suffixes.iter().enumerate().map(|(i, s)| Affix {
        prefix: b"https://",
        suffix: s.as_bytes(),
        target: 1_u128 << i,
    }));
    let only = |value: &str| {
        let mut found = 0_u128;
        index.find(value.as_bytes(), |t| {
            found |= t;
            false
        });
        found
    };
    assert_eq!(only("https://app.tenant7.example"), 1 << 7);
    assert_eq!(only("https://app.tenant77.example"), 1 << 77);
    assert_eq!(only("http://app.tenant7.example"), 0);
    assert_eq!(only("https://.tenant7.example"), 1 << 7);
    assert_eq!(
        only("https:/.tenant7.example"),
        0,
        "prefix and suffix may not overlap"
    );

    // Every pattern has an empty suffix: filed by prefix.
    let prefixes: Vec<String> = (0..50).map(|i| format!("X-Tenant{i}-")).collect();
    let index = AffixIndex::<(), true>::new(prefixes.iter().map(|p| Affix {
        prefix: p.as_bytes(),
        suffix: b"",
        target: (),
    }));
    assert!(index.find(b"x-tenant42-meta", |()| true));
    assert!(index.find(b"X-TENANT4-", |()| true));
    assert!(!index.find(b"x-tenant50-meta", |()| true));
}
