//! Lossless conversion: XML → JSON → console → XML on every fixture
//! document of the repository and of these tests, checked with the
//! library's own reader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{data_dir, fixtures_dir, s3_cors};
use tower_s3_cors::config::CorsConfiguration;

fn convert(text: &str, to: &str) -> String {
    let out = s3_cors(&["convert", "-", "--to", to], Some(text));
    assert_eq!(out.status, 0, "{}", out.stderr);
    out.stdout
}

#[test]
fn xml_json_console_xml_keeps_every_rule() {
    let mut documents = 0;
    for dir in [fixtures_dir(), data_dir()] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if !(name.ends_with(".xml") || name.ends_with(".json")) || name == "s3-recorded.json" {
                continue;
            }
            let original = std::fs::read_to_string(&path).unwrap();
            let Ok(config) = CorsConfiguration::from_document(&original) else {
                continue; // malformed on purpose
            };
            let xml = convert(&original, "xml");
            let json = convert(&xml, "json");
            let console = convert(&json, "console");
            let back = convert(&console, "xml");
            for (step, text) in [
                ("xml", &xml),
                ("json", &json),
                ("console", &console),
                ("back", &back),
            ] {
                assert_eq!(
                    CorsConfiguration::from_document(text).unwrap(),
                    config,
                    "{name}: {step}:\n{text}"
                );
            }
            assert_eq!(back, xml, "{name}: the round trip ends where it started");
            assert!(json.trim_start().starts_with('{') && console.trim_start().starts_with('['));
            documents += 1;
        }
    }
    assert!(documents >= 9, "only {documents} documents");
}

#[test]
fn fmt_is_idempotent_in_every_shape() {
    for name in ["uploads.xml", "console.json", "messy.json"] {
        let once = s3_cors(&["fmt", name, "--stdout"], None).stdout;
        let twice = s3_cors(&["fmt", "-"], Some(&once));
        assert_eq!(twice.stdout, once, "{name}");
        assert_eq!(
            s3_cors(&["fmt", "-", "--check"], Some(&once)).status,
            0,
            "{name}"
        );
    }
}
