//! Helpers for the attack tests: acting as u7s-admin, running root's command
//! with a deadline, and comparing snapshots of trees before and after.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// Runs `script` with `sh -c` as u7s-admin (setpriv), like an attacker's shell.
pub fn as_admin(script: &str) -> Output {
    let a = admin();
    let out = Command::new("/usr/bin/setpriv")
        .arg(format!("--reuid={}", a.uid))
        .arg(format!("--regid={}", a.gid))
        .arg("--init-groups")
        .args(["--", "/bin/sh", "-c", script])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", &a.home)
        .stdin(Stdio::null())
        .output()
        .expect("setpriv");
    assert!(
        out.status.success(),
        "u7s-admin's {script:?} failed: {}",
        text(&out.stderr)
    );
    out
}

/// A process u7s-admin leaves running; killed when dropped.
pub struct AdminProcess {
    child: std::process::Child,
}

impl AdminProcess {
    /// `argv` as u7s-admin, on the host.
    pub fn start(argv: &[&str]) -> AdminProcess {
        let a = admin();
        let child = Command::new("/usr/bin/setpriv")
            .arg(format!("--reuid={}", a.uid))
            .arg(format!("--regid={}", a.gid))
            .arg("--init-groups")
            .arg("--")
            .args(argv)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("setpriv");
        AdminProcess { child }
    }

    /// The pid of the program (setpriv execs it, so it is the same process).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for AdminProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` (stdin closed, English) and kills it if it is not done
/// within `limit`; panics then, so a hang fails the test instead of CI.
pub fn run_within(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = spawn(cmd);
    loop {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return (out, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} did not finish within {limit:?}; stderr: {}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts the shape of a refusal: status 1, nothing on stdout, exactly one
/// line on stderr that contains each of `words`.
pub fn assert_refused(out: &Output, words: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "status; stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", text(&out.stdout));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for w in words {
        assert!(err.contains(w), "{w:?} not in: {err}");
    }
}

/// What a snapshot records of one path (not following symlinks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ns: i128,
    /// A hash of the contents of a regular file, or the target of a link.
    pub content: u64,
}

/// Every path under the roots (the roots included), with what it holds.
pub fn snapshot(roots: &[&Path]) -> BTreeMap<PathBuf, Entry> {
    fn add(path: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if meta.file_type().is_symlink() {
            std::fs::read_link(path).ok().hash(&mut hasher);
        } else if meta.is_file() {
            std::fs::read(path).ok().hash(&mut hasher);
        }
        out.insert(
            path.to_path_buf(),
            Entry {
                mode: meta.mode(),
                uid: meta.uid(),
                gid: meta.gid(),
                size: if meta.is_dir() { 0 } else { meta.size() },
                mtime_ns: if meta.is_dir() {
                    0
                } else {
                    meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
                },
                content: hasher.finish(),
            },
        );
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    add(&e.path(), out);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for root in roots {
        add(root, &mut out);
    }
    out
}

/// Asserts that nothing under the snapshot's roots changed.
pub fn assert_unchanged(before: &BTreeMap<PathBuf, Entry>, roots: &[&Path]) {
    let after = snapshot(roots);
    for (path, entry) in &after {
        match before.get(path) {
            None => panic!("{} was created", path.display()),
            Some(old) if old != entry => panic!("{} changed: {old:?} -> {entry:?}", path.display()),
            _ => {}
        }
    }
    for path in before.keys() {
        assert!(after.contains_key(path), "{} was removed", path.display());
    }
}
