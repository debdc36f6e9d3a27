//! The JSON reader (both shapes) on any text: no panic; whatever it accepts
//! validates and compiles consistently and writes back (XML and JSON) to the
//! same model.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_s3_cors::config::CorsConfiguration;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    tower_s3_cors_fuzz::check_read(CorsConfiguration::from_json(doc));
});
