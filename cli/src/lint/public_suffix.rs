//! Domains where anyone can get a host, from the Public Suffix List (the
//! `psl` crate, which compiles the list and is republished as it changes).
//!
//! A public suffix is a name under which anyone may register or publish:
//! `com` and `co.uk` (a registry sells names), `vercel.app` and `github.io`
//! (a hosting service gives each customer a host). A wildcard origin that
//! ends at a public suffix, or above one, matches hosts that strangers
//! control.

use psl::{List, Psl, Type};

/// Why hosts under a domain are open to anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Open {
    /// The domain is itself a public suffix: in the list's ICANN section (a
    /// registry) or its private section (a hosting service).
    Suffix(Kind),
    /// A public suffix lies under the domain (`up.railway.app` under
    /// `railway.app`).
    Below,
}

/// The list's two sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A registry's suffix (`com`, `co.uk`).
    Registry,
    /// A service's suffix, where its customers publish (`vercel.app`).
    Service,
}

/// Whether hosts under `domain` (lower-case ASCII, no trailing dot) are open
/// to anyone, and why; `None` for a domain the list does not make public
/// (`example.com`, `localhost`).
pub(crate) fn open(domain: &str) -> Option<Open> {
    if domain.is_empty() || !domain.is_ascii() {
        return None;
    }
    if let Some(suffix) = List.suffix(domain.as_bytes()) {
        if suffix.as_bytes() == domain.as_bytes() && suffix.is_known() {
            let kind = match suffix.typ() {
                Some(Type::Private) => Kind::Service,
                _ => Kind::Registry,
            };
            return Some(Open::Suffix(kind));
        }
    }
    suffix_below(domain).then_some(Open::Below)
}

/// Whether the list has a rule below `domain`.
///
/// The list is compiled into a tree of `match`es over labels, read from the
/// right, and the lookup takes the next label only at a node that has
/// children. So after the labels of `domain`, one more label is taken
/// exactly when the list has rules below `domain`. The `psl` crate's own
/// lookup is the data; a test below holds this reading of it to known
/// entries (`up.railway.app` is listed, `railway.app` is not), so a `psl`
/// release that looked ahead would fail it rather than go unnoticed.
fn suffix_below(domain: &str) -> bool {
    let labels: Vec<&[u8]> = domain.rsplit('.').map(str::as_bytes).collect();
    let mut taken = 0;
    let probe: &[u8] = b"s3-cors-probe";
    let counted = labels
        .iter()
        .copied()
        .chain([probe])
        .inspect(|_| taken += 1);
    let _ = List.find(counted);
    taken > labels.len()
}

#[cfg(test)]
mod tests {
    use super::{Kind, Open, open};

    #[test]
    fn hosting_services_and_registries_are_open() {
        for service in [
            "vercel.app",
            "netlify.app",
            "github.io",
            "pages.dev",
            "herokuapp.com",
            "web.app",
            "r2.dev",
            "s3.amazonaws.com",
        ] {
            assert_eq!(
                open(service),
                Some(Open::Suffix(Kind::Service)),
                "{service}"
            );
        }
        for registry in ["com", "co.uk", "app", "io"] {
            assert_eq!(
                open(registry),
                Some(Open::Suffix(Kind::Registry)),
                "{registry}"
            );
        }
    }

    #[test]
    fn a_domain_with_a_public_suffix_below_it_is_open() {
        // The list has up.railway.app, not railway.app.
        assert_eq!(open("railway.app"), Some(Open::Below));
        assert_eq!(open("up.railway.app"), Some(Open::Suffix(Kind::Service)));
        assert_eq!(open("amazonaws.com"), Some(Open::Below));
        // A wildcard rule (*.compute.amazonaws.com) is below its parent.
        assert_eq!(open("compute.amazonaws.com"), Some(Open::Below));
    }

    #[test]
    fn ordinary_domains_are_not_open() {
        for domain in [
            "example.com",
            "app.example.com",
            "myapp.vercel.app",
            "partner.example",
            "localhost",
            "test",
            "",
        ] {
            assert_eq!(open(domain), None, "{domain}");
        }
    }
}
