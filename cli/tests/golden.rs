//! Golden-output tests: each command in both formats, compared byte for
//! byte with `cli/tests/golden/`. `S3_CORS_BLESS=1 cargo test -p
//! tower-s3-cors-cli --test golden` rewrites the files after a deliberate
//! change; review the diff before committing it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{golden, json, s3_cors};

/// Runs `args` in text and in JSON, checks the exit status of both, and
/// compares each standard output with `NAME.txt` and `NAME.json`.
fn both(name: &str, args: &[&str], status: i32) {
    let text = s3_cors(args, None);
    assert_eq!(text.status, status, "{args:?}: {}", text.stderr);
    golden(&format!("{name}.txt"), &text.stdout);

    let mut with_json = args.to_vec();
    with_json.extend(["--format", "json"]);
    let out = s3_cors(&with_json, None);
    assert_eq!(out.status, status, "{with_json:?}: {}", out.stderr);
    json(&out.stdout);
    golden(&format!("{name}.json"), &out.stdout);
}

#[test]
fn validate_valid_documents() {
    both(
        "validate-valid",
        &["validate", "uploads.xml", "console.json", "messy.json"],
        0,
    );
}

#[test]
fn validate_invalid_documents() {
    both(
        "validate-invalid",
        &[
            "validate",
            "uploads.xml",
            "bad-method.json",
            "malformed.xml",
        ],
        1,
    );
}

/// Documents of the wrong shape say where, and what shape is expected;
/// OPTIONS in AllowedMethod gets its own fix.
#[test]
fn validate_documents_people_write() {
    both(
        "validate-shapes",
        &[
            "validate",
            "cloudformation.json",
            "bare-rule.json",
            "options.json",
            "malformed.xml",
        ],
        1,
    );
}

#[test]
fn lint_a_document_with_every_mistake() {
    both("lint-messy", &["lint", "messy.json"], 1);
}

#[test]
fn lint_a_clean_document() {
    both("lint-clean", &["lint", "uploads.xml"], 0);
}

#[test]
fn lint_an_invalid_document() {
    both("lint-invalid", &["lint", "bad-method.json"], 1);
}

#[test]
fn explain_an_allowed_preflight() {
    both(
        "explain-preflight-allowed",
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://app.example.com",
            "--method",
            "PUT",
            "--preflight",
            "--header",
            "Content-Type",
            "--header",
            "x-amz-date",
        ],
        0,
    );
}

#[test]
fn explain_a_preflight_refused_for_a_header() {
    both(
        "explain-preflight-refused",
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://app.example.com",
            "--method",
            "PUT",
            "--preflight",
            "--header",
            "Authorization",
            "--path",
            "/photos/cat.jpg",
            "--s3-exact",
        ],
        1,
    );
}

#[test]
fn explain_an_actual_request() {
    both(
        "explain-actual",
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://elsewhere.example",
            "--method",
            "GET",
        ],
        0,
    );
}

#[test]
fn explain_with_the_layers_vary_and_a_note_on_the_preflight() {
    both(
        "explain-actual-vary-always",
        &[
            "explain",
            "uploads.xml",
            "--origin",
            "https://app.example.com",
            "--method",
            "PUT",
            "--header",
            "x-amz-date",
            "--vary-always",
        ],
        0,
    );
}

#[test]
fn diff_two_documents() {
    both(
        "diff-changes",
        &["diff", "diff-old.json", "diff-new.json"],
        1,
    );
    both(
        "diff-equivalent",
        &["diff", "diff-old.json", "diff-same.xml"],
        0,
    );
}

#[test]
fn lint_several_files() {
    both(
        "lint-files",
        &["lint", "uploads.xml", "cors.json", "bad-method.json"],
        1,
    );
}

#[test]
fn convert_to_each_shape() {
    both(
        "convert-xml-to-json",
        &["convert", "uploads.xml", "--to", "json"],
        0,
    );
    both(
        "convert-xml-to-console",
        &["convert", "uploads.xml", "--to", "console"],
        0,
    );
    both(
        "convert-console-to-xml",
        &["convert", "console.json", "--to", "xml"],
        0,
    );
}

#[test]
fn fmt_prints_and_checks() {
    both("fmt-stdout", &["fmt", "messy.json", "--stdout"], 0);
    both("fmt-check", &["fmt", "uploads.xml", "--check"], 1);
}

/// The example runs in `cli/README.md` and the repository's README are
/// these golden files, verbatim.
#[test]
fn readme_examples_are_real_output() {
    let lint = s3_cors(&["lint", "cors.json"], None);
    assert_eq!(lint.status, 1);
    golden("readme-lint.txt", &lint.stdout);
    let explain = s3_cors(
        &[
            "explain",
            "cors.json",
            "--origin",
            "https://app.example.com",
            "--method",
            "PUT",
            "--preflight",
            "--header",
            "content-type",
        ],
        None,
    );
    assert_eq!(explain.status, 1);
    golden("readme-explain.txt", &explain.stdout);
    let diff = s3_cors(&["diff", "diff-old.json", "diff-new.json"], None);
    assert_eq!(diff.status, 1);
    golden("readme-diff.txt", &diff.stdout);
    let validate = s3_cors(
        &[
            "validate",
            "cors.json",
            "bad-method.json",
            "cloudformation.json",
            "options.json",
        ],
        None,
    );
    assert_eq!(validate.status, 1);
    let cli_readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(
        cli_readme.contains(&validate.stdout),
        "cli/README.md does not show this output verbatim:\n{}",
        validate.stdout
    );

    for readme in ["README.md", "../README.md"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(readme);
        let text = std::fs::read_to_string(&path).unwrap();
        for output in [&lint.stdout, &explain.stdout, &diff.stdout] {
            assert!(
                text.contains(output.as_str()),
                "{} does not show this output verbatim:\n{output}",
                path.display()
            );
        }
    }
}
