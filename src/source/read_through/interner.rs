//! [`Interner`]: one compiled policy for every bucket with the same
//! configuration.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, Weak};

use super::cache::lock;
use crate::config::{ConfigError, CorsConfiguration, Validation};
use crate::policy::{Compiled, Policy};

/// Compiled policies by configuration, held weakly: a policy lives as long
/// as a cached bucket (or a request) uses it.
#[derive(Default)]
pub(super) struct Interner {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_hash: HashMap<u64, Vec<Weak<Compiled>>>,
    /// Policies interned since the table was last swept.
    since_sweep: usize,
}

/// How many policies are interned between two sweeps of the dead ones.
const SWEEP_EVERY: usize = 1024;

impl Interner {
    /// The compiled policy of `document` under `validation`, shared with
    /// every bucket that has the same configuration.
    pub(super) fn intern(
        &self,
        document: &str,
        validation: Validation,
    ) -> Result<Arc<Compiled>, ConfigError> {
        let config = CorsConfiguration::from_document(document)?;
        let mut hasher = DefaultHasher::new();
        config.hash(&mut hasher);
        validation.hash(&mut hasher);
        let hash = hasher.finish();
        let same = |compiled: &Arc<Compiled>| {
            let policy = Policy::from_shared(Arc::clone(compiled));
            policy.validation() == validation && *policy.configuration() == config
        };
        if let Some(shared) = lock(&self.table)
            .by_hash
            .get(&hash)
            .into_iter()
            .flatten()
            .filter_map(Weak::upgrade)
            .find(same)
        {
            return Ok(shared);
        }
        // Compiled without the lock: loads of other documents go on.
        let compiled = Policy::compile_with(&config, validation)?.into_shared();
        let mut table = lock(&self.table);
        let list = table.by_hash.entry(hash).or_default();
        list.retain(|weak| weak.strong_count() > 0);
        list.push(Arc::downgrade(&compiled));
        table.since_sweep += 1;
        if table.since_sweep >= SWEEP_EVERY {
            table.since_sweep = 0;
            table.by_hash.retain(|_, list| {
                list.retain(|weak| weak.strong_count() > 0);
                !list.is_empty()
            });
        }
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                       <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
    const JSON: &str = r#"{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}"#;
    const PUT: &str = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]"#;

    #[test]
    fn the_same_configuration_in_either_format_is_one_policy() {
        let interner = Interner::default();
        let s3 = Validation::s3();
        let xml = interner.intern(XML, s3).expect("valid");
        let json = interner.intern(JSON, s3).expect("valid");
        let put = interner.intern(PUT, s3).expect("valid");
        assert!(Arc::ptr_eq(&xml, &json));
        assert!(!Arc::ptr_eq(&xml, &put));
    }

    #[test]
    fn a_policy_nobody_holds_is_compiled_again() {
        let interner = Interner::default();
        let first = Arc::downgrade(&interner.intern(XML, Validation::s3()).expect("valid"));
        assert!(first.upgrade().is_none(), "held weakly");
        let again = interner.intern(XML, Validation::s3()).expect("valid");
        assert_eq!(Arc::strong_count(&again), 1);
    }
}
