//! The directory store: atomic writes, outside edits picked up by the
//! watch, bad files reported while the last good policy serves, removed
//! files meaning "no CORS", and names that cannot escape the directory.

#![cfg(feature = "dir-store")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tower_s3_cors::source::{BucketPolicy, ReadThrough};
use tower_s3_cors::store::{CorsStore, DirectoryStore, Lookup};
use tower_s3_cors_test_support::{TempDir, temp_dir};

const XML: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                   <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
const JSON: &str = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]}]"#;

fn entries(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn methods(source: &ReadThrough, bucket: &str) -> Option<Vec<String>> {
    match crate::support::settled(source, bucket).await {
        BucketPolicy::Configured(policy) => {
            Some(policy.configuration().rules[0].allowed_methods.clone())
        }
        _ => None,
    }
}

/// Waits (up to three seconds) until `bucket` allows `expected`.
async fn until_methods(source: &ReadThrough, bucket: &str, expected: Option<&[&str]>) -> Duration {
    let started = Instant::now();
    loop {
        let now = methods(source, bucket).await;
        let now: Option<Vec<&str>> = now.as_ref().map(|m| m.iter().map(String::as_str).collect());
        if now.as_deref() == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{bucket}: still {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn writes_are_atomic_files_in_the_document_s_own_format() {
    let dir = temp_dir("write");
    let store = DirectoryStore::open(dir.path()).unwrap();
    let v1 = store.put("photos", XML).await.unwrap();
    assert_eq!(entries(&dir), ["photos.xml"], "no temporary file left");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("photos.xml")).unwrap(),
        XML
    );
    let v2 = store.put("photos", JSON).await.unwrap();
    assert!(v1.is_older_than(v2));
    assert_eq!(entries(&dir), ["photos.json"], "one format at a time");
    match store.get("photos").await.unwrap() {
        Lookup::Found(text, version) => {
            assert_eq!(&*text, JSON);
            assert_eq!(version, v2);
        }
        Lookup::NotFound(_) => panic!("written"),
    }
    store.delete("photos").await.unwrap();
    assert!(entries(&dir).is_empty());
    assert!(matches!(
        store.get("photos").await.unwrap(),
        Lookup::NotFound(_)
    ));
    store.delete("photos").await.unwrap(); // deleting nothing succeeds
}

#[tokio::test]
async fn names_that_could_escape_the_directory_are_refused() {
    let dir = temp_dir("names");
    let store = DirectoryStore::open(dir.path()).unwrap();
    for name in [
        "../x",
        "a/b",
        "",
        ".hidden",
        "UPPER",
        "a\0b",
        &"x".repeat(251),
    ] {
        assert!(
            store.put(name, XML).await.unwrap_err().is_invalid(),
            "{name:?}"
        );
        assert!(store.get(name).await.unwrap_err().is_invalid());
    }
    assert!(entries(&dir).is_empty());
    assert!(
        store
            .put("photos", "CORS please")
            .await
            .unwrap_err()
            .is_invalid(),
        "neither XML nor JSON"
    );
}

#[tokio::test]
async fn hand_edits_bad_files_and_removals_reach_the_cache() {
    let dir = temp_dir("edits");
    let store = DirectoryStore::open(dir.path()).unwrap();
    store.put("demo", XML).await.unwrap();
    let reported = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reported);
    let source = ReadThrough::builder(store.clone())
        .on_error(move |bucket, error| {
            sink.lock()
                .unwrap()
                .push((bucket.to_owned(), error.to_string()))
        })
        .build()
        .unwrap();
    until_methods(&source, "demo", Some(&["GET"])).await;

    // An editor writes the file in place.
    std::fs::write(dir.path().join("demo.xml"), XML.replace("GET", "PUT")).unwrap();
    let took = until_methods(&source, "demo", Some(&["PUT"])).await;
    assert!(took < Duration::from_secs(1), "picked up in {took:?}");

    // A bad file: reported, and the last good policy serves.
    std::fs::write(dir.path().join("demo.xml"), XML.replace("GET", "PATCH")).unwrap();
    let started = Instant::now();
    while !reported.lock().unwrap().iter().any(|(b, _)| b == "demo") {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the bad file was not reported"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(methods(&source, "demo").await.unwrap(), ["PUT"]);
    assert!(
        reported.lock().unwrap()[0].1.contains("PATCH"),
        "{:?}",
        reported.lock().unwrap()
    );
    let bad = store.check().unwrap();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].1.s3_code(), "InvalidRequest");

    // A file of another format, written as a deployment tool would (a
    // temporary file renamed into place), replaces it.
    std::fs::remove_file(dir.path().join("demo.xml")).unwrap();
    std::fs::write(dir.path().join(".demo.json.tmp"), JSON).unwrap();
    std::fs::rename(
        dir.path().join(".demo.json.tmp"),
        dir.path().join("demo.json"),
    )
    .unwrap();
    until_methods(&source, "demo", Some(&["GET", "PUT"])).await;

    // Removing the file turns CORS off.
    std::fs::remove_file(dir.path().join("demo.json")).unwrap();
    until_methods(&source, "demo", None).await;
}

#[tokio::test]
async fn a_new_file_serves_a_bucket_cached_as_having_no_cors() {
    let dir = temp_dir("new");
    let store = DirectoryStore::open(dir.path()).unwrap();
    let source = ReadThrough::builder(store).build().unwrap();
    until_methods(&source, "late", None).await;
    std::fs::write(dir.path().join("late.json"), JSON).unwrap();
    until_methods(&source, "late", Some(&["GET", "PUT"])).await;
}

#[cfg(target_os = "linux")]
#[test]
fn open_removes_the_leftovers_of_writers_that_are_gone_and_nothing_else() {
    use std::process::Command;

    let dir = temp_dir("leftovers");
    // A process that has exited (its pid is free), one that runs, ours.
    let mut exited = Command::new("true").spawn().unwrap();
    exited.wait().unwrap();
    let gone = exited.id();
    let mut running = Command::new("sleep").arg("30").spawn().unwrap();
    let alive = running.id();
    let ours = std::process::id();

    let removed = [
        format!(".photos.{gone}.0.tmp"),
        format!(".my-bucket.v2.{gone}.17.tmp"),
    ];
    let kept = [
        // Writes in progress: of this process, of one that runs.
        format!(".photos.{ours}.3.tmp"),
        format!(".photos.{alive}.1.tmp"),
        // Not named as the store names its temporary files.
        format!("photos.{gone}.0.tmp"),
        format!(".photos.{gone}.x.tmp"),
        format!(".photos.{gone}.tmp"),
        format!(".Photos.{gone}.0.tmp"),
        format!(".photos.{gone}.0.tmp~"),
        ".demo.json.tmp".to_owned(),
        "notes.txt".to_owned(),
        "photos.xml".to_owned(),
    ];
    for name in removed.iter().chain(&kept) {
        std::fs::write(dir.path().join(name), "partial").unwrap();
    }
    // A directory and a link with a leftover's name are not files of the
    // store's.
    let directory = format!(".videos.{gone}.1.tmp");
    std::fs::create_dir(dir.path().join(&directory)).unwrap();
    let link = format!(".videos.{gone}.2.tmp");
    std::os::unix::fs::symlink(dir.path().join("notes.txt"), dir.path().join(&link)).unwrap();

    let store = DirectoryStore::open(dir.path()).unwrap();
    let mut expected: Vec<_> = removed.iter().map(|n| dir.path().join(n)).collect();
    expected.sort();
    assert_eq!(store.cleaned_up(), expected);
    let mut left: Vec<String> = kept.to_vec();
    left.extend([directory, link]);
    left.sort();
    assert_eq!(entries(&dir), left);

    // Opening again finds nothing more to remove.
    assert!(
        DirectoryStore::open(dir.path())
            .unwrap()
            .cleaned_up()
            .is_empty()
    );
    running.kill().unwrap();
    running.wait().unwrap();
}
