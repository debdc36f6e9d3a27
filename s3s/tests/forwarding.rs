//! `CorsS3` implements every operation of the `S3` trait of the s3s in use:
//! the list in `src/forward.rs` is compared with the trait's source, so an
//! s3s upgrade that adds an operation fails here instead of answering
//! `NotImplemented` through the decorator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The directory of the s3s package this crate is built against, from
/// `cargo metadata`.
fn s3s_source_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let run_metadata = |offline: bool| {
        let mut command = Command::new(&cargo);
        command.args(["metadata", "--format-version", "1", "--manifest-path"]);
        command.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
        if offline {
            command.arg("--offline");
        }
        command.output().expect("cargo metadata runs")
    };
    // Offline first (the build has fetched what it needs); if cargo wants
    // manifests it has not fetched (other platforms' crates), online.
    let mut output = run_metadata(true);
    if !output.status.success() {
        output = run_metadata(false);
    }
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ours = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "tower-s3-cors-s3s")
        .expect("this package");
    let requirement = ours["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .find(|d| d["name"] == "s3s")
        .expect("the s3s dependency")["req"]
        .as_str()
        .expect("a version requirement")
        .to_owned();
    // The s3s in the resolved graph (one version of it, the one we use).
    let resolve = &metadata["resolve"]["nodes"];
    let our_node = resolve
        .as_array()
        .expect("resolve nodes")
        .iter()
        .find(|n| n["id"] == ours["id"])
        .expect("our node");
    let s3s_id = our_node["deps"]
        .as_array()
        .expect("deps")
        .iter()
        .find(|d| d["name"] == "s3s")
        .expect("s3s resolved")["pkg"]
        .clone();
    let s3s = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["id"] == s3s_id)
        .expect("the s3s package");
    let manifest = PathBuf::from(s3s["manifest_path"].as_str().expect("manifest path"));
    eprintln!(
        "s3s {} (required {requirement}) at {}",
        s3s["version"],
        manifest.display()
    );
    manifest.parent().expect("package directory").to_path_buf()
}

/// The method names of `pub trait S3` in s3s's `src/s3_trait.rs`.
fn trait_operations(source: &str) -> BTreeSet<String> {
    let start = source.find("pub trait S3").expect("the S3 trait");
    let body = &source[start..];
    let mut names = BTreeSet::new();
    let mut rest = body;
    while let Some(at) = rest.find("async fn ") {
        rest = &rest[at + "async fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

#[test]
fn every_s3_operation_is_implemented_by_the_decorator() {
    let path = s3s_source_dir().join("src").join("s3_trait.rs");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let in_trait = trait_operations(&source);
    assert!(
        in_trait.len() > 90,
        "only {} operations found in {}: has the trait moved?",
        in_trait.len(),
        path.display()
    );
    let implemented: BTreeSet<String> = tower_s3_cors_s3s::forward::OPERATIONS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        implemented.len(),
        tower_s3_cors_s3s::forward::OPERATIONS.len(),
        "an operation is listed twice"
    );
    let missing: Vec<_> = in_trait.difference(&implemented).collect();
    let unknown: Vec<_> = implemented.difference(&in_trait).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "CorsS3 does not forward {missing:?}; it lists operations s3s no longer has: {unknown:?}"
    );
}
