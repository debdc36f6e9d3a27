//! `Policy::evaluate` against the reference model, on generated
//! configurations and requests derived from them: the same first match or
//! refusal, the same headers, `explain` in agreement, never `*` with
//! credentials, an echoed origin the request's and allowed by the matched
//! rule, and the configuration written and read back equal.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use tower_s3_cors::Policy;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(config) = tower_s3_cors_fuzz::config(&mut u) else {
        return;
    };
    let Ok(validation) = tower_s3_cors_fuzz::validation(&mut u) else {
        return;
    };
    tower_s3_cors_fuzz::check_config(&config);
    let Ok(policy) = Policy::compile_with(&config, validation) else {
        return;
    };
    for _ in 0..4 {
        let Ok(request) = tower_s3_cors_fuzz::request(&mut u, &config) else {
            return;
        };
        tower_s3_cors_fuzz::check_evaluate(&policy, &request);
        if u.is_empty() {
            return;
        }
    }
});
