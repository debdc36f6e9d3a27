//! Temporary directories, from the `tempfile` crate.

use tempfile::TempDir;

/// A fresh directory under the system's temporary directory, named after
/// `label` (and made unique), removed with everything in it when the value
/// is dropped.
///
/// # Panics
///
/// When the directory cannot be created.
#[must_use]
pub fn temp_dir(label: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tower-s3-cors-{label}-"))
        .tempdir()
        .expect("a temporary directory")
}
