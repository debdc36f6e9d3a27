//! Byte work on header text eight bytes at a time: lower-casing, comparing
//! without regard to ASCII case, finding a comma. Header names and origins
//! are short, so these beat a loop over bytes without any `unsafe`:
//! `benches/instructions.sh evaluate/acrh_exact_1` (a preflight listing 20
//! names) counted 15,091 instructions a byte at a time, 11,377 with these
//! (the README's Performance section).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x80 * ONES;

/// ASCII lower case of eight bytes at once; bytes from 0x80 unchanged.
#[inline]
pub(super) fn lower_word(word: u64) -> u64 {
    word | (capitals(word) >> 2)
}

/// The high bit of each byte of `word` that is an ASCII capital letter.
#[inline]
fn capitals(word: u64) -> u64 {
    // High bit of each byte: at least `A`, and above `Z`. No byte carries
    // into the next: 0x7f + 0x3f < 0x100.
    let low7 = word & (0x7f * ONES);
    let from_a = low7.wrapping_add(0x3f * ONES);
    let past_z = low7.wrapping_add(0x25 * ONES);
    from_a & !past_z & !word & HIGHS
}

/// Whether `bytes` hold an ASCII capital letter (bucket names are folded
/// only then): `benches/store.rs`'s hits, a 14-byte name, took 244
/// instructions to look a byte at a time.
#[inline]
pub(crate) fn has_capital(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let found = chunks
        .by_ref()
        .any(|chunk| capitals(word(chunk.try_into().expect("8 bytes"))) != 0);
    found || capitals(short_word(chunks.remainder())) != 0
}

/// Eight bytes as a little-endian word.
#[inline]
pub(super) fn word(bytes: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*bytes)
}

/// The bytes of `rest` (0 to 7 of them) as a little-endian word, zeros
/// above: overlapping loads instead of a copy of variable length.
#[inline]
pub(super) fn short_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let low = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        let high = u32::from_le_bytes(rest[n - 4..].try_into().expect("4 bytes"));
        u64::from(low) | u64::from(high) << (8 * (n - 4))
    } else if n > 0 {
        // n is 1, 2 or 3: the first, middle and last bytes cover them all.
        u64::from(rest[0])
            | u64::from(rest[n / 2]) << (8 * (n / 2))
            | u64::from(rest[n - 1]) << (8 * (n - 1))
    } else {
        0
    }
}

/// Whether `a` and `b` are equal without regard to ASCII case.
#[inline]
pub(super) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a_words, mut b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut a_words).zip(&mut b_words) {
        let (x, y) = (
            word(x.try_into().expect("chunks_exact(8) gives 8 bytes")),
            word(y.try_into().expect("chunks_exact(8) gives 8 bytes")),
        );
        if x != y && lower_word(x) != lower_word(y) {
            return false;
        }
    }
    let (x, y) = (
        short_word(a_words.remainder()),
        short_word(b_words.remainder()),
    );
    x == y || lower_word(x) == lower_word(y)
}

/// Lower-cases `bytes` in place, ASCII letters only.
#[inline]
pub(super) fn make_lowercase(bytes: &mut [u8]) {
    let mut words = bytes.chunks_exact_mut(8);
    for chunk in &mut words {
        let lower = lower_word(word((&*chunk).try_into().expect("8 bytes")));
        chunk.copy_from_slice(&lower.to_le_bytes());
    }
    words.into_remainder().make_ascii_lowercase();
}

/// The position of the first `,` in `bytes`.
#[inline]
pub(super) fn find_comma(bytes: &[u8]) -> Option<usize> {
    /// The lowest byte of `x` that is a comma.
    #[inline]
    fn first(x: u64) -> Option<usize> {
        const COMMAS: u64 = (b',' as u64) * ONES;
        let x = x ^ COMMAS;
        // A zero byte of `x` is a comma. Borrows only run upwards from a
        // zero byte, so the lowest flagged byte is the first comma.
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        (zeros != 0).then(|| (zeros.trailing_zeros() / 8) as usize)
    }
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        if let Some(i) = first(word(chunk.try_into().expect("8 bytes"))) {
            return Some(at + i);
        }
        at += 8;
    }
    // The padding is zeros, not commas.
    first(short_word(words.remainder())).map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{eq_ignore_case, find_comma, has_capital, lower_word, make_lowercase, short_word};

    #[test]
    fn lower_word_lowers_ascii_letters_only() {
        for b in 0..=255_u8 {
            let word = u64::from_le_bytes([b, b'A', b'z', b'@', b'[', b'Z', 0x80 | b'A', b]);
            let expected = u64::from_le_bytes([
                b.to_ascii_lowercase(),
                b'a',
                b'z',
                b'@',
                b'[',
                b'z',
                0x80 | b'A',
                b.to_ascii_lowercase(),
            ]);
            assert_eq!(lower_word(word), expected, "byte {b:#x}");
        }
    }

    #[test]
    fn short_word_reads_every_length() {
        let bytes = [1, 2, 3, 4, 5, 6, 7];
        for n in 0..=7 {
            let mut padded = [0; 8];
            padded[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                short_word(&bytes[..n]),
                u64::from_le_bytes(padded),
                "{n} bytes"
            );
        }
    }

    proptest! {
        #[test]
        fn the_word_functions_agree_with_the_byte_ones(
            a in proptest::collection::vec(prop_oneof![Just(b','), Just(b'A'), Just(b'a'), Just(b'Z'), Just(b'@'), Just(0xc1_u8), any::<u8>()], 0..40),
            b in proptest::collection::vec(prop_oneof![Just(b'A'), Just(b'a'), Just(b'Z'), Just(b'z'), any::<u8>()], 0..40),
        ) {
            prop_assert_eq!(find_comma(&a), a.iter().position(|&c| c == b','));
            prop_assert_eq!(eq_ignore_case(&a, &b), a.eq_ignore_ascii_case(&b));
            let upper = a.to_ascii_uppercase();
            prop_assert!(eq_ignore_case(&a, &upper));
            let mut lower = a.clone();
            make_lowercase(&mut lower);
            prop_assert_eq!(lower, a.to_ascii_lowercase());
            prop_assert_eq!(has_capital(&a), a.iter().any(u8::is_ascii_uppercase));
            prop_assert_eq!(has_capital(&b), b.iter().any(u8::is_ascii_uppercase));
        }
    }
}
