//! [`DirectoryStore`]: one file per bucket in a directory.

mod changes;
mod leftovers;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{BucketError, Change, CorsStore, Lookup, Version};
use crate::config::{ConfigError, CorsConfiguration, DocumentFormat};

/// How long the change stream waits for a burst of file events to end
/// before it reports the buckets they touched.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(50);
/// The longest bucket name (a file name is at most 255 bytes, with `.json`).
const MAX_BUCKET_LEN: usize = 250;

/// Bucket CORS documents as files in a directory: `{bucket}.xml` or
/// `{bucket}.json`, kept as written. The embedded, persistent store.
///
/// - **Writes are atomic:** a document is written to a temporary file in
///   the directory (`.{bucket}.{pid}.{n}.tmp`), flushed to disk (`fsync`),
///   then renamed over the bucket's file, and the directory is flushed too.
///   A crash leaves the old document or the new one, never a mix. Writing
///   one format removes the other format's file.
/// - **A crash's leftovers are removed:** a process killed mid-write leaves
///   its temporary file behind; [`open`](Self::open) removes those whose
///   writer is gone (see [`cleaned_up`](Self::cleaned_up)), and never a
///   file not named as this store names them, nor one of a process that
///   still runs (several processes may share the directory).
/// - **Outside edits count:** the directory is watched (with `notify`), and
///   every bucket whose file is created, changed or removed (by hand, by a
///   deployment tool) is reported on the [change stream](CorsStore::changes)
///   after a short quiet time ([`DEFAULT_DEBOUNCE`]). A removed file means
///   "no CORS". A file that does not validate is reported by the reader
///   (the read-through source keeps serving the last good policy) and by
///   [`check`](Self::check).
/// - **Names:** a bucket's file is named in lower case: letters, digits,
///   `.`, `-` and `_`, not starting with `.` (temporary files, editors' swap
///   files and anything else in the directory are ignored). Other names are
///   [invalid](crate::source::BucketError::is_invalid).
/// - **Versions** are the files' modification times (nanoseconds since the
///   epoch). The absence of a file has no version ([`Version::UNKNOWN`]):
///   file times come from the kernel's coarse clock, so no clock reading
///   can be ordered with them.
///
/// A `DirectoryStore` knows no buckets: it never answers
/// [NoSuchBucket](crate::source::BucketError::is_no_such_bucket). Several processes may
/// share the directory: each sees the others' writes through the watch.
///
/// ```
/// use tower_s3_cors::store::{CorsStore, DirectoryStore, Lookup};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("cors-doc-{}", std::process::id()));
/// let store = DirectoryStore::open(&dir)?;
/// store.put("photos", "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
///                      <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>").await?;
/// assert!(dir.join("photos.xml").exists());
/// let Lookup::Found(text, _version) = store.get("photos").await? else { unreachable!() };
/// assert!(text.starts_with("<CORSConfiguration>"));
///
/// store.delete("photos").await?;
/// assert!(matches!(store.get("photos").await?, Lookup::NotFound(_)));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DirectoryStore {
    inner: Arc<Inner>,
    debounce: Duration,
}

struct Inner {
    dir: PathBuf,
    /// Names temporary files apart.
    counter: AtomicU64,
    /// The leftover temporary files `open` removed.
    cleaned_up: Vec<PathBuf>,
}

/// The two formats, with their file extensions.
const EXTENSIONS: [&str; 2] = ["xml", "json"];

impl DirectoryStore {
    /// A store in `dir`, created (with its parents) if it does not exist.
    ///
    /// It removes the temporary files that writes of processes that are
    /// gone left behind (a crash mid-write): files named
    /// `.{bucket}.{pid}.{n}.tmp` as this store names them, whose process
    /// `pid` no longer runs (on Linux, by `/proc`; elsewhere, files older
    /// than an hour). Nothing else is touched. [`cleaned_up`](Self::cleaned_up)
    /// lists what was removed.
    ///
    /// # Errors
    ///
    /// When `dir` cannot be created or is not a directory. A leftover that
    /// cannot be removed is left, silently: it is only a file.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        if !fs::metadata(&dir)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", dir.display()),
            ));
        }
        let cleaned_up = leftovers::remove_leftovers(&dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                counter: AtomicU64::new(0),
                cleaned_up,
            }),
            debounce: DEFAULT_DEBOUNCE,
        })
    }

    /// The leftover temporary files of writes whose process is gone, which
    /// [`open`](Self::open) removed (for a start-up report).
    #[must_use]
    pub fn cleaned_up(&self) -> &[PathBuf] {
        &self.inner.cleaned_up
    }

    /// How long the change stream waits for a burst of file events to end
    /// ([`DEFAULT_DEBOUNCE`]).
    #[must_use]
    pub fn debounce(mut self, quiet: Duration) -> Self {
        self.debounce = quiet;
        self
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Reads and validates every bucket file in the directory, as S3 would
    /// validate a `PutBucketCors`: the files that do not pass, with why
    /// (for a start-up report). Files that cannot be read are reported with
    /// a `MalformedXML` error that says so.
    ///
    /// # Errors
    ///
    /// When the directory cannot be listed.
    pub fn check(&self) -> io::Result<Vec<(PathBuf, ConfigError)>> {
        let mut bad = Vec::new();
        for entry in fs::read_dir(&self.inner.dir)? {
            let path = entry?.path();
            if bucket_of(&path).is_none() {
                continue;
            }
            let outcome = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned()))
                .map_err(|why| {
                    ConfigError::new(crate::config::ConfigErrorKind::Malformed).with_detail(why)
                })
                .and_then(|text| CorsConfiguration::from_document(&text))
                .and_then(|config| config.validate());
            if let Err(error) = outcome {
                bad.push((path, error));
            }
        }
        bad.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(bad)
    }

    /// Runs blocking file work off the executor.
    async fn blocking<T: Send + 'static>(
        &self,
        what: String,
        work: impl FnOnce(&Inner) -> io::Result<T> + Send + 'static,
    ) -> Result<T, BucketError> {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || work(&inner)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(BucketError::unavailable(error).with_context(what)),
            Err(join) => Err(BucketError::unavailable(join).with_context(what)),
        }
    }
}

impl Inner {
    fn path(&self, bucket: &str, extension: &str) -> PathBuf {
        self.dir.join(format!("{bucket}.{extension}"))
    }

    fn read(&self, bucket: &str) -> io::Result<Result<Lookup, BucketError>> {
        let mut found = Vec::new();
        for extension in EXTENSIONS {
            let path = self.path(bucket, extension);
            match fs::read(&path) {
                Ok(bytes) => found.push((path, bytes)),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        let (path, bytes) = match found.len() {
            // A file's time comes from the kernel's coarse clock: a precise
            // "now" could be later than the time of a file written after it.
            0 => return Ok(Ok(Lookup::NotFound(Version::UNKNOWN))),
            1 => found.swap_remove(0),
            _ => {
                return Ok(Err(BucketError::invalid(format!(
                    "both {bucket}.xml and {bucket}.json are in {}: keep one",
                    self.dir.display()
                ))));
            }
        };
        let version = modified(&path)?;
        Ok(match String::from_utf8(bytes) {
            Ok(text) => Ok(Lookup::Found(text.into(), version)),
            Err(error) => Err(BucketError::invalid(error)
                .with_context(format!("{} is not UTF-8", path.display()))),
        })
    }

    fn write(&self, bucket: &str, extension: &str, document: &str) -> io::Result<Version> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let temporary = self
            .dir
            .join(format!(".{bucket}.{}.{n}.tmp", std::process::id()));
        let target = self.path(bucket, extension);
        let written = (|| {
            let mut file = File::create(&temporary)?;
            file.write_all(document.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, &target)
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        for other in EXTENSIONS.iter().filter(|e| **e != extension) {
            remove_if_present(&self.path(bucket, other))?;
        }
        sync_dir(&self.dir)?;
        modified(&target)
    }

    fn remove(&self, bucket: &str) -> io::Result<Version> {
        for extension in EXTENSIONS {
            remove_if_present(&self.path(bucket, extension))?;
        }
        sync_dir(&self.dir)?;
        Ok(Version::UNKNOWN)
    }
}

/// Why `bucket` cannot name a file, if it cannot.
fn bucket_error(bucket: &str) -> Option<BucketError> {
    let valid = !bucket.is_empty()
        && bucket.len() <= MAX_BUCKET_LEN
        && !bucket.starts_with('.')
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    (!valid).then(|| {
        BucketError::invalid(format!(
            "bucket name {bucket:?} cannot name a file: use 1 to {MAX_BUCKET_LEN} lower-case \
             letters, digits, '.', '-' or '_', not starting with '.'"
        ))
    })
}

/// The bucket whose file `path` is, if it is one.
fn bucket_of(path: &Path) -> Option<String> {
    let extension = path.extension()?.to_str()?;
    if !EXTENSIONS.contains(&extension) {
        return None;
    }
    let bucket = path.file_stem()?.to_str()?;
    bucket_error(bucket).is_none().then(|| bucket.to_owned())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        Ok(()) | Err(_) => Ok(()),
    }
}

/// Flushes a directory's entries (a rename or a removal) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn nanos(time: SystemTime) -> Version {
    let nanos = time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    });
    Version::new(nanos)
}

fn modified(path: &Path) -> io::Result<Version> {
    Ok(nanos(fs::metadata(path)?.modified()?))
}

impl CorsStore for DirectoryStore {
    async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
        if let Some(error) = bucket_error(bucket) {
            return Err(error);
        }
        let name = bucket.to_owned();
        self.blocking(format!("reading bucket {bucket:?}"), move |inner| {
            inner.read(&name)
        })
        .await?
    }

    async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
        if let Some(error) = bucket_error(bucket) {
            return Err(error);
        }
        let extension = match DocumentFormat::detect(document) {
            Some(DocumentFormat::Xml) => "xml",
            Some(DocumentFormat::Json) => "json",
            None => {
                return Err(BucketError::invalid("the document is neither XML nor JSON"));
            }
        };
        let (name, text) = (bucket.to_owned(), document.to_owned());
        self.blocking(format!("writing bucket {bucket:?}"), move |inner| {
            inner.write(&name, extension, &text)
        })
        .await
    }

    async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
        if let Some(error) = bucket_error(bucket) {
            return Err(error);
        }
        let name = bucket.to_owned();
        self.blocking(format!("deleting bucket {bucket:?}"), move |inner| {
            inner.remove(&name)
        })
        .await
    }

    /// Watches the directory. `None` when the platform's watcher cannot be
    /// set up (the read-through source then falls back to a time to live).
    fn changes(&self) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
        changes::watch(&self.inner.dir, self.debounce)
    }
}

impl fmt::Debug for DirectoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryStore")
            .field("dir", &self.inner.dir)
            .field("debounce", &self.debounce)
            .field("cleaned_up", &self.inner.cleaned_up.len())
            .finish_non_exhaustive()
    }
}
