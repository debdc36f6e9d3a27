//! The README's quick start is `examples/quick_start.rs` and its
//! `cors.xml`, verbatim: `cargo test` (and clippy) compile that file, so the
//! README's code compiles as written.

#![allow(clippy::unwrap_used)]

fn read(relative: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_readme_quick_start_is_the_compiled_example() {
    let readme = read("../../README.md");
    for (file, language) in [
        ("examples/quick_start.rs", "rust"),
        ("examples/cors.xml", "xml"),
    ] {
        let block = format!("```{language}\n{}```\n", read(file));
        assert!(
            readme.contains(&block),
            "README.md does not show examples/axum/{file} verbatim in a ```{language} block"
        );
    }
}
