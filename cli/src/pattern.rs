//! The values of a rule as patterns: `*`, an exact text, or `prefix*suffix`
//! (S3 allows one `*`, which stands for any text, dots and slashes
//! included, possibly empty).
//!
//! These are the tool's own model, for reasoning about documents (which
//! rule covers which, which names a rule admits, which requests to try);
//! every answer the tool reports comes from the library's engine.

/// A value with at most one `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `*`: everything.
    Any,
    /// No `*`.
    Exact(String),
    /// `prefix*suffix`: at least `prefix` and `suffix`, not overlapping.
    Affix(String, String),
}

impl Pattern {
    /// The pattern of `text`, compared byte for byte (origins).
    pub(crate) fn new(text: &str) -> Self {
        match text.split_once('*') {
            None => Self::Exact(text.to_owned()),
            Some(("", "")) => Self::Any,
            Some((prefix, suffix)) => Self::Affix(prefix.to_owned(), suffix.to_owned()),
        }
    }

    /// The pattern of `text` in lower case, for header names, which S3
    /// compares without regard to ASCII case: match it against names in
    /// lower case.
    pub(crate) fn folded(text: &str) -> Self {
        Self::new(&text.to_ascii_lowercase())
    }

    /// Whether `value` matches.
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(exact) => exact == value,
            Self::Affix(prefix, suffix) => {
                value.len() >= prefix.len() + suffix.len()
                    && value.starts_with(prefix.as_str())
                    && value.ends_with(suffix.as_str())
            }
        }
    }

    /// Whether every value `other` matches, `self` matches.
    pub(crate) fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Any, _) => true,
            (_, Self::Any) => false,
            (_, Self::Exact(value)) => self.matches(value),
            (Self::Exact(_), Self::Affix(..)) => false,
            // c x d starts with a when c does, and ends with b when d does;
            // its length is at least |c| + |d| ≥ |a| + |b|.
            (Self::Affix(a, b), Self::Affix(c, d)) => {
                c.starts_with(a.as_str()) && d.ends_with(b.as_str())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn coverage_of_single_star_patterns() {
        let p = |s: &str| Pattern::new(s);
        assert!(p("*").covers(&p("https://a")));
        assert!(p("https://*").covers(&p("https://*.example.com")));
        assert!(p("*.example.com").covers(&p("https://*.example.com")));
        assert!(!p("https://*.example.com").covers(&p("https://*example.com")));
        assert!(p("https://*.example.com").covers(&p("https://a.example.com")));
        assert!(!p("https://a.example.com").covers(&p("https://*.example.com")));
        assert!(
            !p("ab*ba").covers(&p("aba")),
            "prefix and suffix may not overlap"
        );
        assert!(!p("https://*").covers(&p("*")));
    }
}
