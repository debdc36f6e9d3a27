//! External programs the tests run: found on `PATH` or named by an
//! environment variable; skipped loudly when missing, except under CI.

use std::fs;
use std::path::{Path, PathBuf};

use crate::skip;

/// An external program some tests need.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// What it is, for messages (`etcd`, `Chromium`).
    pub name: &'static str,
    /// The environment variable that names its binary.
    pub env: &'static str,
    /// The names looked up on `PATH`, in order, when the variable is unset.
    pub candidates: &'static [&'static str],
    /// How to get it (Debian).
    pub install: &'static str,
}

/// etcd: `$ETCD`, or `etcd` on `PATH`.
pub const ETCD: Tool = Tool {
    name: "etcd",
    env: "ETCD",
    candidates: &["etcd"],
    install: "apt-get install etcd-server",
};

/// etcdctl, etcd's command line: `$ETCDCTL`, or `etcdctl` on `PATH`.
pub const ETCDCTL: Tool = Tool {
    name: "etcdctl",
    env: "ETCDCTL",
    candidates: &["etcdctl"],
    install: "apt-get install etcd-client",
};

/// Chromium: `$CHROMIUM`, or the first of `chromium`, `chromium-browser`,
/// `google-chrome`, `google-chrome-stable` on `PATH`.
pub const CHROMIUM: Tool = Tool {
    name: "Chromium",
    env: "CHROMIUM",
    candidates: &[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ],
    install: "apt-get update && apt-get install -y chromium",
};

impl Tool {
    /// Its binary: the one `$ENV` names (if it is executable), else the
    /// first candidate found on `PATH`.
    #[must_use]
    pub fn find(&self) -> Option<PathBuf> {
        if let Some(explicit) = std::env::var_os(self.env) {
            let path = PathBuf::from(explicit);
            return is_executable(&path).then_some(path);
        }
        let dirs = std::env::var_os("PATH")?;
        std::env::split_paths(&dirs)
            .flat_map(|dir| self.candidates.iter().map(move |name| dir.join(name)))
            .find(|path| is_executable(path))
    }

    /// Its binary for `what` (the tests that need it, named in the skip
    /// message); `None`, after a loud message on stderr, when there is none
    /// and this is not CI.
    ///
    /// # Panics
    ///
    /// Under CI (`CI=true`) when it is missing.
    #[must_use]
    pub fn require(&self, what: &str) -> Option<PathBuf> {
        if let Some(path) = self.find() {
            return Some(path);
        }
        let message = format!(
            "no {} found (set ${} or put `{}` on PATH; Debian: {})",
            self.name,
            self.env,
            self.candidates.first().copied().unwrap_or_default(),
            self.install
        );
        skip(what, &message);
        None
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
