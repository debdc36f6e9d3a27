//! Random rules for the property tests: a deterministic stream of numbers
//! (a linear congruential generator, so a failure replays) and the small
//! rules made from it, whose origins and headers come from two-letter
//! alphabets so that patterns overlap often.

#![allow(clippy::indexing_slicing)]

use tower_s3_cors::config::CorsRule;

/// A deterministic stream of numbers, from a seed.
#[derive(Debug)]
pub(crate) struct Numbers(pub(crate) u64);

impl Numbers {
    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }

    /// Up to two letters of `alphabet`, and with `star` maybe a `*`.
    pub(crate) fn pattern(&mut self, alphabet: &[char], star: bool) -> String {
        let len = self.below(3);
        let mut text: String = (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect();
        if star && self.below(2) == 0 {
            text.insert(self.below(text.len() + 1), '*');
        }
        text
    }

    /// A rule of one or two origins over `a` and `b`, `GET`, `PUT` or both,
    /// and up to two header patterns over `x`, `X` and `y`.
    pub(crate) fn rule(&mut self) -> CorsRule {
        let mut rule = CorsRule::new();
        for _ in 0..=self.below(2) {
            let origin = self.pattern(&['a', 'b'], true);
            rule = rule.allowed_origin(if origin.is_empty() {
                "a".to_owned()
            } else {
                origin
            });
        }
        rule = match self.below(3) {
            0 => rule.allowed_method("GET"),
            1 => rule.allowed_method("PUT"),
            _ => rule.allowed_methods(["GET", "PUT"]),
        };
        for _ in 0..self.below(3) {
            let header = self.pattern(&['x', 'X', 'y'], true);
            rule = rule.allowed_header(header);
        }
        rule
    }
}
