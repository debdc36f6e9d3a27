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

mod affix;

pub(crate) use affix::{Affix, AffixIndex};

#[cfg(test)]
mod tests;
