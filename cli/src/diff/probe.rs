//! The requests `diff` tries: origins, header names and sets of header
//! names made from the patterns of both documents.
//!
//! What a rule does with a request depends only on which of its patterns
//! the origin and each header name match. So the search needs one origin
//! for each combination of origin patterns that some origin matches, and
//! likewise for header names: each pattern instantiated (an exact value as
//! written; `prefix*suffix` with a short fill, and with none), each pair of
//! wildcard patterns combined where one value can match both, plus a value
//! outside every pattern. Values that match the same patterns of both
//! documents are one class, represented by the first found: values a
//! browser sends come first, so examples read as real requests.

use std::collections::HashSet;

use crate::lint;
use crate::pattern::Pattern;

/// At most this many wildcard patterns are combined pairwise (the pairs
/// grow as the square).
const MAX_PAIRED: usize = 200;

/// How many values outside every pattern are tried.
const OUTSIDERS: usize = 64;

/// One value of each class of `patterns`, in the order of preference:
/// the `seeds` (values as written, then realistic ones), instantiations,
/// combinations, `outsider(n)` for the first `n` that no pattern but `*`
/// matches, then `last`. Values `plausible` accepts come before the others.
fn representatives(
    patterns: &[Pattern],
    seeds: Vec<String>,
    fills: &[&str],
    plausible: impl Fn(&str) -> bool,
    outsider: impl Fn(usize) -> String,
    last: &[&str],
) -> Vec<String> {
    let mut candidates = seeds;
    let affixes: Vec<(&str, &str)> = patterns
        .iter()
        .filter_map(|p| match p {
            Pattern::Affix(prefix, suffix) => Some((prefix.as_str(), suffix.as_str())),
            Pattern::Any | Pattern::Exact(_) => None,
        })
        .collect();
    for (prefix, suffix) in &affixes {
        // Every fill, so that a class another value also falls in (the
        // pattern's "app" fill may be an origin written out) still gets a
        // value of its own; and no fill at all.
        // After a ':' comes a port: the fills that are numbers first.
        let mut ordered: Vec<&str> = fills.to_vec();
        if prefix.ends_with(':') {
            ordered.sort_by_key(|fill| !fill.bytes().all(|b| b.is_ascii_digit()));
        }
        candidates.extend(ordered.iter().map(|fill| format!("{prefix}{fill}{suffix}")));
        candidates.push(format!("{prefix}{suffix}"));
    }
    if affixes.len() <= MAX_PAIRED {
        for (p1, s1) in &affixes {
            for (p2, s2) in &affixes {
                for fill in ["", "x"] {
                    let value = format!("{p1}{fill}{s2}");
                    if Pattern::Affix((*p2).to_owned(), (*s2).to_owned()).matches(&value)
                        && Pattern::Affix((*p1).to_owned(), (*s1).to_owned()).matches(&value)
                    {
                        candidates.push(value);
                    }
                }
            }
        }
    }
    let fixed: Vec<&Pattern> = patterns
        .iter()
        .filter(|p| !matches!(p, Pattern::Any))
        .collect();
    // A pattern can catch every value of one shape (`x*` every name that
    // starts with x): the outsiders vary, and the search for one is bounded.
    if let Some(outside) = (0..OUTSIDERS)
        .map(&outsider)
        .find(|value| !fixed.iter().any(|p| p.matches(value)))
    {
        candidates.push(outside);
    }
    candidates.extend(last.iter().map(|v| (*v).to_owned()));

    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    for pass_plausible in [true, false] {
        for value in &candidates {
            if plausible(value) != pass_plausible {
                continue;
            }
            let signature: Vec<bool> = patterns.iter().map(|p| p.matches(value)).collect();
            if seen.insert(signature) {
                kept.push(value.clone());
            }
        }
    }
    kept
}

/// One origin of each class of the `AllowedOrigin` patterns (byte for
/// byte), browser origins first.
pub(super) fn origins(values: &[&str]) -> Vec<String> {
    let patterns = distinct(values.iter().map(|v| Pattern::new(v)));
    let seeds: Vec<String> = values
        .iter()
        .filter(|v| !v.contains('*'))
        .map(|v| (*v).to_owned())
        .collect();
    representatives(
        &patterns,
        seeds,
        &["app", "x", "https://app", "8080", ""],
        lint::browser_may_send,
        |n| match (n % 4, n / 4) {
            (0, 0) => "https://other.example".to_owned(),
            (0, k) => format!("https://other-{k}.example"),
            (1, k) => format!("http://other-{k}.test"),
            (2, k) => format!("capacitor://other-{k}"),
            (_, k) => format!("other-{k}"),
        },
        &["null"],
    )
}

/// One header name (in lower case) of each class of the `AllowedHeader`
/// patterns (compared without regard to case), names a script may set
/// first.
pub(super) fn header_names(values: &[&str]) -> Vec<String> {
    let patterns = distinct(values.iter().map(|v| Pattern::folded(v)));
    let mut seeds: Vec<String> = values
        .iter()
        .filter(|v| !v.contains('*'))
        .map(|v| v.to_ascii_lowercase())
        .collect();
    seeds.extend(
        [
            "content-type",
            "authorization",
            "x-amz-date",
            "x-amz-content-sha256",
            "x-requested-with",
        ]
        .map(str::to_owned),
    );
    let token = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    representatives(
        &patterns,
        seeds,
        &["example", "x", ""],
        |name| token(name) && !lint::never_requested(name),
        |n| match n % 3 {
            0 => format!("x-custom-{}", n / 3),
            1 => format!("custom-{}-q", n / 3),
            _ => format!("q{}", n / 3),
        },
        &[],
    )
}

fn distinct(patterns: impl Iterator<Item = Pattern>) -> Vec<Pattern> {
    let mut out: Vec<Pattern> = Vec::new();
    for pattern in patterns {
        if !out.contains(&pattern) {
            out.push(pattern);
        }
    }
    out
}

/// The sets of header names to try for one origin and method, as indexes
/// into the names: none, each name some rule admits alone, each rule's
/// whole admitted set, and each intersection of an old rule's set with a
/// new rule's.
///
/// `old` and `new` hold, for each rule that the origin and method reach,
/// the names it admits. A request listing a name no such rule admits is
/// refused alike by both, so only the admitted names matter. For a request
/// whose names the old document's rule `i` decides and the new document's
/// rule `k`, the intersection of their admitted sets is decided by the same
/// two rules (an earlier rule admitting it would admit the request too), so
/// the intersections cover every pair of deciding rules; the whole sets
/// cover a request that one side refuses.
pub(super) fn header_sets(old: &[Vec<usize>], new: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut admitted: Vec<usize> = old.iter().chain(new).flatten().copied().collect();
    admitted.sort_unstable();
    admitted.dedup();
    let mut sets: Vec<Vec<usize>> = vec![Vec::new()];
    sets.extend(admitted.into_iter().map(|n| vec![n]));
    sets.extend(old.iter().cloned());
    sets.extend(new.iter().cloned());
    for a in old {
        for b in new {
            sets.push(a.iter().copied().filter(|n| b.contains(n)).collect());
        }
    }
    let mut seen = HashSet::new();
    sets.retain(|set| seen.insert(set.clone()));
    sets
}

#[cfg(test)]
mod tests {
    use super::{header_names, header_sets, origins};

    #[test]
    fn one_origin_per_class_browser_origins_first() {
        let found = origins(&["https://*.example.com", "https://app.example.com", "*"]);
        // app.example.com matches all three patterns; x.example.com the
        // wildcard and "*" (so does https://.example.com, which a browser
        // never sends); https://other.example only "*", as null does.
        assert_eq!(
            found,
            [
                "https://app.example.com",
                "https://x.example.com",
                "https://other.example"
            ]
        );
        let found = origins(&["null", "https://*"]);
        assert!(found.contains(&"null".to_owned()), "{found:?}");
        assert!(found.contains(&"https://app".to_owned()), "{found:?}");
        let found = origins(&["http://localhost:*"]);
        assert_eq!(
            found.first().map(String::as_str),
            Some("http://localhost:8080")
        );
    }

    #[test]
    fn header_names_are_lower_case_and_cover_each_pattern() {
        let names = header_names(&["X-Amz-*", "Content-Type"]);
        assert!(names.contains(&"content-type".to_owned()), "{names:?}");
        assert!(names.contains(&"x-amz-date".to_owned()), "{names:?}");
        assert!(
            names.iter().any(|n| n.starts_with("x-custom-"))
                || names.contains(&"authorization".to_owned()),
            "a name outside every pattern: {names:?}"
        );
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn header_sets_include_intersections() {
        let sets = header_sets(&[vec![0, 1]], &[vec![1, 2]]);
        assert!(sets.contains(&vec![]));
        assert!(sets.contains(&vec![1]));
        assert!(sets.contains(&vec![0, 1]));
        assert!(sets.contains(&vec![1, 2]));
        assert!(sets.contains(&vec![2]));
        assert!(
            !sets.iter().any(|s| s.contains(&3)),
            "no rule admits name 3"
        );
        let unique: std::collections::HashSet<_> = sets.iter().collect();
        assert_eq!(unique.len(), sets.len());
    }
}
