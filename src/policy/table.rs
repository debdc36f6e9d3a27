//! Hash tables over the literal text of patterns, built once per policy:
//! [`ExactTable`] finds a value by its whole text, [`AffixIndex`] finds the
//! `prefix*suffix` patterns that match a value through the text on one side
//! of the `*`. Both keep lookups independent of how many patterns a policy
//! lists, and fall back to comparing one by one when there are only a few
//! (cheaper than hashing).
//!
//! The rules are fixed when the policy is compiled and a request only
//! chooses what to look up, so a crafted request can make a probe no longer
//! than the longest run of taken slots; stored hashes are compared before
//! any bytes.
//!
//! What they are worth is measured by `benches/engine.rs`
//! (`evaluate_get` with 100 wildcard-origin rules, `evaluate_acrh_patterns`)
//! and `benches/instructions.sh evaluate/…`; the README's Performance
//! section has the figures (a preflight listing 20 names, against a rule of
//! 1,000 exact patterns: 1,380,749 instructions walking the patterns,
//! 18,458 with the table; 100 wildcard-origin rules: 16,994 and 1,230).

use super::ascii::{eq_ignore_case, lower_word, short_word, word};

/// Up to this many entries, comparing them all is cheaper than hashing
/// (a comparison of different lengths is one test).
const LINEAR: usize = 4;

/// What a pattern leads to: merged when two patterns have the same text.
pub(crate) trait Target: Copy {
    /// Adds `other` to `self`.
    fn merge(&mut self, other: Self);
}

/// Nothing but "it matches" (header names).
impl Target for () {
    fn merge(&mut self, (): ()) {}
}

/// A set of rules, one bit each (a policy has at most 100 rules).
impl Target for u128 {
    fn merge(&mut self, other: Self) {
        *self |= other;
    }
}

/// Whether `a` and `b` are equal: byte for byte, or with `FOLD`
/// ASCII-case-insensitively (keys are then stored lower-cased).
#[inline]
fn eq<const FOLD: bool>(a: &[u8], b: &[u8]) -> bool {
    if FOLD { eq_ignore_case(a, b) } else { a == b }
}

/// The byte `b` as keys store it.
#[inline]
fn fold<const FOLD: bool>(b: u8) -> u8 {
    if FOLD { b.to_ascii_lowercase() } else { b }
}

/// The number of slots for `entries` keys: a power of two at least twice
/// as many, so a probe reaches an empty slot after a short run.
fn slot_count(entries: usize) -> usize {
    (entries * 2).next_power_of_two().max(2)
}

/// The slot a hash starts its probe at, in a table of `len` slots (a power
/// of two): the high bits of a multiplicative hash are the well-mixed ones.
#[inline]
fn start_slot(hash: u64, len: usize) -> usize {
    (hash.wrapping_mul(K) >> (64 - len.trailing_zeros())) as usize
}

const K: u64 = 0x517c_c1b7_2722_0a95;

/// A hash of the whole of `bytes` (lower-cased with `FOLD`), a word at a
/// time.
#[inline]
fn word_hash<const FOLD: bool>(bytes: &[u8]) -> u64 {
    let step = |hash: u64, word: u64| {
        let word = if FOLD { lower_word(word) } else { word };
        (hash.rotate_left(5) ^ word).wrapping_mul(K)
    };
    let mut hash = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        hash = step(
            hash,
            word(chunk.try_into().expect("chunks_exact(8) gives 8 bytes")),
        );
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        hash = step(hash, short_word(rest));
    }
    hash
}

/// Values found by their whole text; with `FOLD`, ASCII case does not
/// count.
///
/// The keys are not copied: they are spans of a text the owner keeps (a
/// policy's document, a rule's lower-cased names), given again to each
/// lookup.
#[derive(Debug)]
pub(crate) struct ExactTable<T, const FOLD: bool> {
    /// Where each key is in the text (start, length), and its value; keys
    /// distinct.
    entries: Box<[(KeySpan, T)]>,
    /// Open addressing over `entries`: index plus one, or 0 when empty.
    /// Empty when `entries` is short enough to compare one by one.
    slots: Box<[u32]>,
}

/// Where a key is in its text: start and length.
type KeySpan = (u32, u32);

impl<T: Target, const FOLD: bool> ExactTable<T, FOLD> {
    /// A table of `entries`, keys given as (start, length) in `text` (with
    /// `FOLD`, in lower case); the values of equal keys are merged.
    pub(crate) fn new(text: &[u8], entries: impl IntoIterator<Item = ((usize, usize), T)>) -> Self {
        let mut merged: Vec<(KeySpan, T)> = Vec::new();
        let mut hashes: Vec<u64> = Vec::new();
        for ((start, len), value) in entries {
            let key = &text[start..start + len];
            debug_assert!(!FOLD || !key.iter().any(u8::is_ascii_uppercase));
            let hash = word_hash::<FOLD>(key);
            match merged
                .iter_mut()
                .zip(&hashes)
                .find(|((span, _), h)| **h == hash && key_in(text, *span) == key)
            {
                Some(((_, existing), _)) => existing.merge(value),
                None => {
                    let fits = |n: usize| u32::try_from(n).expect("a policy's text fits in 4 GiB");
                    merged.push(((fits(start), fits(len)), value));
                    hashes.push(hash);
                }
            }
        }
        let slots = if merged.len() <= LINEAR {
            Box::default()
        } else {
            let mut slots = vec![0_u32; slot_count(merged.len())];
            let mask = slots.len() - 1;
            for (entry, hash) in hashes.iter().enumerate() {
                let mut slot = start_slot(*hash, slots.len());
                // Twice as many slots as entries: a free slot exists.
                while slots[slot] != 0 {
                    slot = (slot + 1) & mask;
                }
                slots[slot] = u32::try_from(entry + 1).expect("a policy has far fewer patterns");
            }
            slots.into()
        };
        Self {
            entries: merged.into(),
            slots,
        }
    }

    /// Whether the table has no key at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, if the table has it; `text` is the one the
    /// table was built over.
    #[inline]
    pub(crate) fn get(&self, text: &[u8], key: &[u8]) -> Option<&T> {
        if self.slots.is_empty() {
            return self
                .entries
                .iter()
                .find(|(span, _)| {
                    span.1 as usize == key.len() && eq::<FOLD>(key_in(text, *span), key)
                })
                .map(|(_, value)| value);
        }
        let mask = self.slots.len() - 1;
        let mut slot = start_slot(word_hash::<FOLD>(key), self.slots.len());
        // The table is never full, so the probe ends at an empty slot.
        loop {
            match self.slots[slot] {
                0 => return None,
                taken => {
                    let (span, value) = &self.entries[taken as usize - 1];
                    if eq::<FOLD>(key_in(text, *span), key) {
                        return Some(value);
                    }
                    slot = (slot + 1) & mask;
                }
            }
        }
    }
}

/// The key at `span` of `text`.
#[inline]
fn key_in(text: &[u8], (start, len): KeySpan) -> &[u8] {
    let start = start as usize;
    &text[start..start + len as usize]
}

/// A pattern's prefix, suffix and target, stored (one side may be a key,
/// the other the rest).
type Parts<T> = (Box<[u8]>, Box<[u8]>, T);

/// One `prefix*suffix` pattern, for [`AffixIndex::new`].
#[derive(Debug)]
pub(crate) struct Affix<'a, T> {
    pub(crate) prefix: &'a [u8],
    pub(crate) suffix: &'a [u8],
    pub(crate) target: T,
}

/// Which end of a value a [`Side`] reads its keys from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Keys are prefixes; the other side of each pattern is its suffix.
    Start,
    /// Keys are suffixes; the other side is the prefix.
    End,
}

/// `prefix*suffix` patterns, found through the text on one side of the `*`:
/// each pattern is filed under its prefix or its suffix, whichever fewer
/// patterns share (ties: the longer one). A lookup probes each side's table
/// at each length some key has, with a hash of the value's text of that
/// length: a word at a time when the keys have a few distinct lengths, else
/// one byte at a time in one pass from that end, so that its cost depends
/// on the value's length, never on how many patterns there are.
///
/// With `FOLD`, ASCII case does not count.
#[derive(Debug)]
pub(crate) struct AffixIndex<T, const FOLD: bool> {
    /// Few patterns: (prefix, suffix, target), compared one by one.
    linear: Box<[Parts<T>]>,
    prefixes: Side<T, FOLD>,
    suffixes: Side<T, FOLD>,
}

/// Up to this many distinct key lengths, a lookup hashes the value's text
/// at each of them a word at a time; with more, one byte at a time, once.
const FEW_LENGTHS: usize = 8;

/// The patterns filed under one side.
#[derive(Debug)]
struct Side<T, const FOLD: bool> {
    end: End,
    /// The distinct key lengths, ascending, when there are few of them
    /// (keys hashed with [`word_hash`]); empty otherwise.
    few_lengths: Box<[usize]>,
    /// When there are more: `lengths[n]`, some key is `n` bytes long (keys
    /// hashed with [`step`]s, a byte at a time from the side's end). Empty
    /// when there is no key or few lengths.
    lengths: Box<[bool]>,
    keys: Box<[SideKey<T>]>,
    /// Open addressing over `keys`: index plus one, or 0 when empty.
    slots: Box<[u32]>,
}

/// One key of a [`Side`] and the patterns filed under it.
#[derive(Debug)]
struct SideKey<T> {
    /// The key's [`word_hash`] when the side has few lengths, else
    /// [`step`]s over its bytes read from the side's end.
    hash: u64,
    /// The key, in the order it appears in values; lower-cased for
    /// [`Case::Insensitive`].
    key: Box<[u8]>,
    /// The other side of each pattern filed here, and its target.
    patterns: Box<[(Box<[u8]>, T)]>,
}

/// The hash of a key after one more byte (FNV-1a's step).
#[inline]
fn step(hash: u64, byte: u8) -> u64 {
    (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// The hash of the empty key.
const EMPTY: u64 = 0xcbf2_9ce4_8422_2325;

impl<T: Target, const FOLD: bool> Side<T, FOLD> {
    /// `patterns` are (key, other side, target).
    fn new(end: End, patterns: Vec<Parts<T>>) -> Self {
        // (key, other) -> target, merged; then grouped by key.
        let mut keys: Vec<SideKey<T>> = Vec::new();
        for (key, other, target) in patterns {
            match keys.iter_mut().find(|k| k.key == key) {
                Some(existing) => {
                    let mut list = std::mem::take(&mut existing.patterns).into_vec();
                    match list.iter_mut().find(|(o, _)| *o == other) {
                        Some((_, t)) => t.merge(target),
                        None => list.push((other, target)),
                    }
                    existing.patterns = list.into();
                }
                None => keys.push(SideKey {
                    hash: 0, // once the hashing is chosen
                    key,
                    patterns: vec![(other, target)].into(),
                }),
            }
        }
        let mut few_lengths: Vec<usize> = keys.iter().map(|k| k.key.len()).collect();
        few_lengths.sort_unstable();
        few_lengths.dedup();
        let mut lengths = Vec::new();
        if few_lengths.len() > FEW_LENGTHS {
            lengths = vec![false; few_lengths.last().map_or(0, |n| n + 1)];
            for &n in &few_lengths {
                lengths[n] = true;
            }
            few_lengths.clear();
        }
        for key in &mut keys {
            key.hash = if lengths.is_empty() {
                word_hash::<FOLD>(&key.key)
            } else {
                match end {
                    End::Start => key.key.iter().fold(EMPTY, |h, &b| step(h, b)),
                    End::End => key.key.iter().rev().fold(EMPTY, |h, &b| step(h, b)),
                }
            };
        }
        let mut slots = vec![
            0_u32;
            if keys.is_empty() {
                0
            } else {
                slot_count(keys.len())
            }
        ];
        if !slots.is_empty() {
            let mask = slots.len() - 1;
            for (index, key) in keys.iter().enumerate() {
                let mut slot = start_slot(key.hash, slots.len());
                while slots[slot] != 0 {
                    slot = (slot + 1) & mask;
                }
                slots[slot] = u32::try_from(index + 1).expect("a policy has far fewer patterns");
            }
        }
        Self {
            end,
            few_lengths: few_lengths.into(),
            lengths: lengths.into(),
            keys: keys.into(),
            slots: slots.into(),
        }
    }

    /// Calls `found` with the target of every pattern filed here that
    /// matches `value`, until it returns `true`; returns whether it did.
    #[inline]
    fn find(&self, value: &[u8], found: &mut impl FnMut(T) -> bool) -> bool {
        for &len in &self.few_lengths {
            let Some(start) = value.len().checked_sub(len) else {
                break; // ascending: no longer key fits either
            };
            let here = match self.end {
                End::Start => &value[..len],
                End::End => &value[start..],
            };
            if self.probe(word_hash::<FOLD>(here), len, value, found) {
                return true;
            }
        }
        let Some(longest) = self.lengths.len().checked_sub(1) else {
            return false;
        };
        let longest = longest.min(value.len());
        let lengths = &self.lengths[..=longest];
        if lengths[0] && self.probe(EMPTY, 0, value, found) {
            return true;
        }
        let as_stored = |b: &u8| fold::<FOLD>(*b);
        match self.end {
            End::Start => {
                let bytes = value[..longest].iter().map(as_stored);
                self.scan(bytes, lengths, value, found)
            }
            End::End => {
                let bytes = value[value.len() - longest..].iter().rev().map(as_stored);
                self.scan(bytes, lengths, value, found)
            }
        }
    }

    /// Hashes `bytes` (the value's, from this side's end, as keys store
    /// them) one at a time, probing at each length some key has.
    #[inline]
    fn scan(
        &self,
        bytes: impl Iterator<Item = u8>,
        lengths: &[bool],
        value: &[u8],
        found: &mut impl FnMut(T) -> bool,
    ) -> bool {
        let mut hash = EMPTY;
        for (len, (byte, &present)) in (1..).zip(bytes.zip(&lengths[1..])) {
            hash = step(hash, byte);
            if present && self.probe(hash, len, value, found) {
                return true;
            }
        }
        false
    }

    /// The patterns under the key of `len` bytes whose hash is `hash`.
    #[inline]
    fn probe(
        &self,
        hash: u64,
        len: usize,
        value: &[u8],
        found: &mut impl FnMut(T) -> bool,
    ) -> bool {
        let mask = self.slots.len() - 1;
        let mut slot = start_slot(hash, self.slots.len());
        loop {
            let key = match self.slots[slot] {
                0 => return false,
                taken => &self.keys[taken as usize - 1],
            };
            slot = (slot + 1) & mask;
            if key.hash != hash || key.key.len() != len {
                continue;
            }
            let (here, rest) = match self.end {
                End::Start => value.split_at(len),
                End::End => {
                    let (rest, here) = value.split_at(value.len() - len);
                    (here, rest)
                }
            };
            if !eq::<FOLD>(&key.key, here) {
                continue;
            }
            for (other, target) in &key.patterns {
                // The other side must fit in what is left: prefix and
                // suffix do not overlap.
                let fits = rest.len() >= other.len()
                    && match self.end {
                        End::Start => eq::<FOLD>(&rest[rest.len() - other.len()..], other),
                        End::End => eq::<FOLD>(&rest[..other.len()], other),
                    };
                if fits && found(*target) {
                    return true;
                }
            }
            // Keys are distinct: no other key has this text.
            return false;
        }
    }
}

impl<T: Target, const FOLD: bool> AffixIndex<T, FOLD> {
    /// Indexes `patterns`; equal patterns' targets are merged.
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = Affix<'a, T>>) -> Self {
        let lower =
            |bytes: &[u8]| -> Box<[u8]> { bytes.iter().map(|&b| fold::<FOLD>(b)).collect() };
        let patterns: Vec<Parts<T>> = patterns
            .into_iter()
            .map(|p| (lower(p.prefix), lower(p.suffix), p.target))
            .collect();
        if patterns.len() <= LINEAR {
            return Self {
                linear: patterns.into(),
                prefixes: Side::new(End::Start, Vec::new()),
                suffixes: Side::new(End::End, Vec::new()),
            };
        }
        // File each pattern under the side fewer patterns share.
        let sharing = |key: &[u8], prefix: bool| {
            patterns
                .iter()
                .filter(|(p, s, _)| **(if prefix { p } else { s }) == *key)
                .count()
        };
        let (mut by_prefix, mut by_suffix) = (Vec::new(), Vec::new());
        for (prefix, suffix, target) in &patterns {
            let (p, s) = (sharing(prefix, true), sharing(suffix, false));
            if p < s || (p == s && prefix.len() > suffix.len()) {
                by_prefix.push((prefix.clone(), suffix.clone(), *target));
            } else {
                by_suffix.push((suffix.clone(), prefix.clone(), *target));
            }
        }
        Self {
            linear: Box::default(),
            prefixes: Side::new(End::Start, by_prefix),
            suffixes: Side::new(End::End, by_suffix),
        }
    }

    /// Calls `found` with the target of each pattern that matches `value`
    /// (in no particular order), until it returns `true`; returns whether
    /// it did.
    #[inline]
    pub(crate) fn find(&self, value: &[u8], mut found: impl FnMut(T) -> bool) -> bool {
        for (prefix, suffix, target) in &self.linear {
            if value.len() >= prefix.len() + suffix.len()
                && eq::<FOLD>(&value[..prefix.len()], prefix)
                && eq::<FOLD>(&value[value.len() - suffix.len()..], suffix)
                && found(*target)
            {
                return true;
            }
        }
        self.prefixes.find(value, &mut found) || self.suffixes.find(value, &mut found)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::{Affix, AffixIndex, ExactTable};
    use crate::policy::pattern::{Case, Pattern};

    /// The index finds exactly the patterns that match, whatever side it
    /// filed them under; the exact table exactly the equal keys.
    fn agree<const FOLD: bool>(
        patterns: &[String],
        values: &[String],
    ) -> Result<(), TestCaseError> {
        let case = if FOLD {
            Case::Insensitive
        } else {
            Case::Sensitive
        };
        let compiled: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p, case)).collect();
        let index = AffixIndex::<u128, FOLD>::new(compiled.iter().enumerate().filter_map(
            |(i, p)| match p {
                Pattern::Affix { prefix, suffix } => Some(Affix {
                    prefix,
                    suffix,
                    target: 1_u128 << i,
                }),
                Pattern::Any | Pattern::Exact(_) => None,
            },
        ));
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
        let index =
            AffixIndex::<u128, false>::new(suffixes.iter().enumerate().map(|(i, s)| Affix {
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
}
