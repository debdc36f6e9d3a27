//! The temporary files a crash mid-write leaves behind, removed when a
//! [`DirectoryStore`](super::DirectoryStore) opens: only files named as the
//! store names them, of processes that are gone.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::bucket_error;

/// Removes the temporary files in `dir` that a write of a process that is
/// gone left behind; returns them.
pub(super) fn remove_leftovers(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let Some(pid) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(temporary_file_pid)
        else {
            continue;
        };
        // A regular file only (not a link, not a directory), of another
        // process, which is gone.
        let Ok(metadata) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !metadata.is_file() || pid == std::process::id() || !writer_is_gone(pid, &metadata) {
            continue;
        }
        if fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

/// The process id in `name` if it is the name of a temporary file of this
/// store: `.{bucket}.{pid}.{n}.tmp`, with a valid bucket name and decimal
/// numbers.
fn temporary_file_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let (n, pid, bucket) = (parts.next()?, parts.next()?, parts.next()?);
    let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !decimal(n) || !decimal(pid) || bucket_error(bucket).is_some() {
        return None;
    }
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether the process `pid` that wrote a temporary file no longer runs:
/// on a system with `/proc`, when `/proc/{pid}` is gone (a process that
/// took the pid since keeps the file, which is only left until a later
/// start); elsewhere, when the file is older than an hour (a write takes
/// far less).
fn writer_is_gone(pid: u32, metadata: &Metadata) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return !proc.join(pid.to_string()).exists();
    }
    metadata
        .modified()
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age > Duration::from_secs(3600))
}
