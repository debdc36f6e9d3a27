//! Finding and running a headless Chromium, cleaned up on drop.

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tower_s3_cors_test_support::{CHROMIUM, TempDir, temp_dir};

/// The Chromium to run the suite with: `$CHROMIUM`, or the first of
/// `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable`
/// on `PATH`. `None` (after a loud message on stderr) when there is none
/// and this is not CI.
///
/// # Panics
///
/// Under CI (`CI=true`) when no Chromium is found.
#[must_use]
pub fn require() -> Option<PathBuf> {
    CHROMIUM.require("the real-browser CORS tests")
}

/// A running headless Chromium with its own fresh profile directory.
///
/// Dropping it kills Chromium's whole process group (the browser and every
/// helper process it started) and removes the profile directory, also when a
/// test panics.
#[derive(Debug)]
pub struct Browser {
    child: Option<Child>,
    log: PathBuf,
    /// The profile and the log; removed when dropped.
    _dir: TempDir,
}

impl Browser {
    /// Starts `binary` headless on `url`, with a new profile under the
    /// system temporary directory and stdout/stderr (with Chromium's
    /// verbose logging, which includes console and CORS errors) going to a
    /// log file next to it.
    ///
    /// # Errors
    ///
    /// Creating the directory or the log file, or spawning the process.
    pub fn launch(binary: &Path, url: &str) -> io::Result<Self> {
        let dir = temp_dir("browser");
        let profile = dir.path().join("profile");
        fs::create_dir_all(&profile)?;
        let log = dir.path().join("chromium.log");
        // From here on the directory is removed on drop, whatever happens.
        let mut browser = Self {
            child: None,
            log,
            _dir: dir,
        };
        let stdout = File::create(&browser.log)?;
        let stderr = stdout.try_clone()?;
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--enable-logging=stderr",
                "--log-level=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group, so that every helper process can be
            // killed with the browser.
            .process_group(0)
            .spawn()?;
        browser.child = Some(child);
        Ok(browser)
    }

    /// The process id of the spawned Chromium (its process group id too).
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the browser has exited already, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Everything Chromium printed so far.
    #[must_use]
    pub fn log_text(&self) -> String {
        fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The lines of Chromium's log that report a CORS error or a page
    /// console message.
    #[must_use]
    pub fn console_lines(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| {
                l.contains("CORS")
                    || l.contains("Access-Control")
                    || l.contains("CONSOLE")
                    || l.contains(":CONSOLE")
            })
            .map(str::to_owned)
            .collect()
    }

    /// Kills the browser and its process group and waits for it.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The browser was spawned as a process-group leader
        // (`process_group(0)`), so its group id is its pid: signalling the
        // group reaches Chromium and its helpers and nothing else. The
        // shell's `kill` builtin takes a negative pid for a group, and needs
        // no `unsafe` here.
        let group = format!("-{}", child.id());
        signal_group("KILL", &group);
        let _ = child.kill();
        let _ = child.wait();
        // Helpers of the group may need a moment to go; give them some.
        let deadline = Instant::now() + Duration::from_secs(2);
        while signal_group("0", &group) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends `signal` (`KILL`, or `0` to probe) to the process group `group`
/// (a negative pid) with `sh`'s `kill`; whether it succeeded.
fn signal_group(signal: &str, group: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", "kill -s \"$0\" -- \"$1\" 2>/dev/null", signal, group])
        .status()
        .is_ok_and(|status| status.success())
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Before the directory goes (the field is dropped after this).
        self.kill();
    }
}
