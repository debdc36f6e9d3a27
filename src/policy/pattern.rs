//! Single-`*` wildcard patterns, shared by origin and header-name matching.

/// A pattern with at most one `*`, which stands for zero or more characters
/// of any kind. Split once, when the policy is compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `*` alone: matches everything.
    Any,
    /// No `*`: matches one value.
    Exact(Box<[u8]>),
    /// `prefix*suffix`: a value that starts with `prefix` and ends with
    /// `suffix`, the two not overlapping.
    Affix {
        prefix: Box<[u8]>,
        suffix: Box<[u8]>,
    },
}

/// How a pattern compares bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// Byte for byte (origins).
    Sensitive,
    /// ASCII-case-insensitively (header names). The pattern is stored
    /// lower-cased.
    Insensitive,
}

impl Pattern {
    /// Compiles `text`, which holds at most one `*` (validation saw to it;
    /// a second `*` would only be taken literally).
    pub(crate) fn new(text: &str, case: Case) -> Self {
        let bytes = |s: &str| -> Box<[u8]> {
            match case {
                Case::Sensitive => s.as_bytes().into(),
                Case::Insensitive => s.to_ascii_lowercase().into_bytes().into(),
            }
        };
        match text.split_once('*') {
            None => Self::Exact(bytes(text)),
            Some(("", "")) => Self::Any,
            Some((prefix, suffix)) => Self::Affix {
                prefix: bytes(prefix),
                suffix: bytes(suffix),
            },
        }
    }

    /// Whether `value` matches, compared as `case` says: the definition
    /// the indexes of `table` are tested against.
    #[cfg(test)]
    pub(crate) fn matches(&self, value: &[u8], case: Case) -> bool {
        let eq = |a: &[u8], b: &[u8]| match case {
            Case::Sensitive => a == b,
            Case::Insensitive => a.eq_ignore_ascii_case(b),
        };
        match self {
            Self::Any => true,
            Self::Exact(exact) => eq(value, exact),
            Self::Affix { prefix, suffix } => {
                value.len() >= prefix.len() + suffix.len()
                    && value
                        .get(..prefix.len())
                        .is_some_and(|head| eq(head, prefix))
                    && value
                        .get(value.len() - suffix.len()..)
                        .is_some_and(|tail| eq(tail, suffix))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Case, Pattern};
    use proptest::prelude::*;

    /// The obvious definition: some split of `value` into head, middle, tail
    /// where head equals the prefix and tail the suffix.
    fn naive(pattern: &str, value: &str, case: Case) -> bool {
        let norm = |s: &str| match case {
            Case::Sensitive => s.to_owned(),
            Case::Insensitive => s.to_ascii_lowercase(),
        };
        let (pattern, value) = (norm(pattern), norm(value));
        match pattern.split_once('*') {
            None => pattern == value,
            Some((prefix, suffix)) => (0..=value.len()).any(|i| {
                (i..=value.len()).any(|j| {
                    value.is_char_boundary(i)
                        && value.is_char_boundary(j)
                        && value[..i] == *prefix
                        && value[j..] == *suffix
                })
            }),
        }
    }

    #[test]
    fn wildcard_stands_for_zero_or_more_characters() {
        let p = Pattern::new("start*end", Case::Sensitive);
        assert!(p.matches(b"startend", Case::Sensitive));
        assert!(p.matches(b"start12end", Case::Sensitive));
        assert!(!p.matches(b"0start12end", Case::Sensitive));
        assert!(!p.matches(b"startend0", Case::Sensitive));
        assert!(
            !p.matches(b"starten", Case::Sensitive),
            "prefix and suffix may not overlap"
        );
        assert!(Pattern::new("prefix*", Case::Sensitive).matches(b"prefix", Case::Sensitive));
        assert!(
            !Pattern::new("*suffix", Case::Sensitive).matches(b"foo.suffix.get", Case::Sensitive)
        );
        assert!(Pattern::new("*", Case::Sensitive).matches(b"", Case::Sensitive));
        assert!(Pattern::new("*", Case::Sensitive).matches(b"null", Case::Sensitive));
    }

    #[test]
    fn origins_are_case_sensitive_and_header_names_are_not() {
        let origin = Pattern::new("https://*.Example.com", Case::Sensitive);
        assert!(origin.matches(b"https://a.Example.com", Case::Sensitive));
        assert!(!origin.matches(b"https://a.example.com", Case::Sensitive));
        let header = Pattern::new("X-Amz-*", Case::Insensitive);
        assert!(header.matches(b"x-amz-meta-foo", Case::Insensitive));
        assert!(header.matches(b"X-AMZ-DATE", Case::Insensitive));
        assert!(!header.matches(b"x-am", Case::Insensitive));
    }

    proptest! {
        #[test]
        fn matcher_agrees_with_naive_definition(
            prefix in "[ab.*/]{0,4}",
            suffix in "[ab./]{0,4}",
            wildcard in any::<bool>(),
            value in "[abAB./]{0,8}",
            insensitive in any::<bool>(),
        ) {
            // At most one '*', as validation guarantees.
            let prefix = prefix.replace('*', "");
            let pattern = if wildcard { format!("{prefix}*{suffix}") } else { format!("{prefix}{suffix}") };
            let case = if insensitive { Case::Insensitive } else { Case::Sensitive };
            prop_assert_eq!(
                Pattern::new(&pattern, case).matches(value.as_bytes(), case),
                naive(&pattern, &value, case),
                "pattern {:?} value {:?}", pattern, value
            );
        }
    }
}
