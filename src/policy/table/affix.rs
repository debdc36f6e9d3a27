//! [`AffixIndex`]: `prefix*suffix` patterns found through the text on one
//! side of the `*`.

use super::{LINEAR, Target, eq, fold, slot_count, start_slot, word_hash};

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
