//! Subordinate id ranges for u7s-admin in /etc/subuid and /etc/subgid.
//!
//! `with_range` is pure: it finds a range of `count` ids after every range
//! already given out (at 100000 at the lowest, shadow's SUB_UID_MIN), in
//! checked arithmetic: ids are 32-bit and (uid_t)-1 is no id, so a range
//! must end at or below 2^32 - 1, and a file whose ranges leave no room is
//! refused instead of wrapping around (the old u64 sum wrapped in release
//! builds and could hand out ids past 2^32).
//!
//! `ensure_ranges` writes both files under the lock shadow-utils' useradd
//! takes for them (lib/commonio.c): first lckpwdf(3), a write lock (fcntl)
//! on /etc/.pwd.lock held for the whole change, then for each file the
//! link lock: `<file>.<pid>` holding our pid, hard-linked to `<file>.lock`
//! (a stale lock whose pid is dead is removed). So a useradd or usermod
//! running at the same time cannot hand out the same ids or lose our line.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::libc;

use crate::fsx::write_atomic_owned;
use crate::settings::HostRoot;

/// How many ids u7s-admin gets (what rootlesskit and the reference use).
pub const COUNT: u32 = 65536;
/// The lowest id given out (shadow's SUB_UID_MIN default).
pub const FIRST: u64 = 100_000;
/// One past the last id a range may hold: 2^32 - 1 is (uid_t)-1, not an id.
pub const END_LIMIT: u64 = u32::MAX as u64;

/// Why no range was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubidError {
    /// The ranges given out already end at `end`; `count` more do not fit.
    NoRoom { end: u64, count: u32 },
}

impl std::fmt::Display for SubidError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubidError::NoRoom { end, count } => {
                f.write_str(&crate::tr!("subids-no-room", end, count, END_LIMIT))
            }
        }
    }
}

impl std::error::Error for SubidError {}

/// The range of one line `name:start:count`, if the line is one.
fn line_range(line: &str) -> Option<(&str, u64, u64)> {
    let mut f = line.trim().split(':');
    let (name, start, count) = (f.next()?, f.next()?, f.next()?);
    if f.next().is_some() || name.is_empty() {
        return None;
    }
    let start: u32 = start.parse().ok()?;
    let count: u32 = count.parse().ok()?;
    Some((name, u64::from(start), u64::from(count)))
}

/// `text` (of /etc/subuid or /etc/subgid) with a range of `count` ids for
/// `user` (uid `uid`) appended after every existing range; `None` if the
/// user has a line already, by name or by uid as shadow allows.
pub fn with_range(
    text: &str,
    user: &str,
    uid: u32,
    count: u32,
) -> Result<Option<String>, SubidError> {
    let uid_text = uid.to_string();
    let mut end = FIRST;
    for line in text.lines() {
        let Some((name, start, n)) = line_range(line) else {
            continue;
        };
        if name == user || name == uid_text {
            return Ok(None);
        }
        // Both are below 2^32: the sum fits in u64.
        end = end.max(start + n);
    }
    let new_end = end + u64::from(count);
    if count == 0 || new_end > END_LIMIT {
        return Err(SubidError::NoRoom { end, count });
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{user}:{end}:{count}\n"));
    Ok(Some(out))
}

/// How long to wait for another tool's lock (shadow waits 15 s too).
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// shadow's lock on /etc/subuid and /etc/subgid, held while alive.
pub struct ShadowLock {
    /// /etc/.pwd.lock with our fcntl write lock on it.
    _pwd: OwnedFd,
    /// The `<file>.lock` links we made.
    links: Vec<PathBuf>,
}

impl Drop for ShadowLock {
    fn drop(&mut self) {
        for link in &self.links {
            let _ = std::fs::remove_file(link);
        }
        // Closing the descriptor releases the fcntl lock.
    }
}

/// lckpwdf(3) under `root`: a write lock on /etc/.pwd.lock.
fn lock_pwd(root: &HostRoot) -> Result<OwnedFd> {
    let path = root.path("/etc/.pwd.lock");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| crate::tr!("cannot-open-err", path.display(), "open"))?;
    let fd = OwnedFd::from(file);
    // The whole file, a write lock (the rest of the fields zero).
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let err = match nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETLK(&lock)) {
            Ok(_) => return Ok(fd),
            Err(errno) => std::io::Error::from(errno),
        };
        if !matches!(err.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) {
            return Err(err).with_context(|| crate::tr!("subids-lock-busy", path.display()));
        }
        if Instant::now() > deadline {
            bail!("{}", crate::tr!("subids-lock-busy", path.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// shadow's link lock for `file`: `<file>.<pid>` linked to `<file>.lock`.
fn lock_file(file: &Path) -> Result<PathBuf> {
    let pid = std::process::id();
    let mine = PathBuf::from(format!("{}.{pid}", file.display()));
    let lock = PathBuf::from(format!("{}.lock", file.display()));
    let _ = std::fs::remove_file(&mine);
    remove_stale_pid_files(file);
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_0600()
            .open(&mine)
            .with_context(|| crate::tr!("cannot-create", mine.display()))?;
        // shadow writes the pid with its terminating NUL.
        f.write_all(format!("{pid}\0").as_bytes())?;
        f.sync_data()?;
    }
    let deadline = Instant::now() + LOCK_WAIT;
    let result = loop {
        match std::fs::hard_link(&mine, &lock) {
            Ok(()) => {
                let links = std::fs::metadata(&mine).map(|m| m.nlink()).unwrap_or(0);
                break if links == 2 {
                    Ok(lock.clone())
                } else {
                    Err(anyhow!(
                        "{}",
                        crate::tr!("subids-lock-busy", lock.display())
                    ))
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if holder_is_gone(&lock) {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                if Instant::now() > deadline {
                    break Err(anyhow!(
                        "{}",
                        crate::tr!("subids-lock-busy", lock.display())
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                break Err(e).with_context(|| crate::tr!("cannot-create", lock.display()));
            }
        }
    };
    let _ = std::fs::remove_file(&mine);
    result
}

/// `<file>.<pid>` files of holders that died before they removed them (a
/// kill between making and linking it): they hold their own pid, which is
/// not a running process. Without this a rerun after a kill would leave one
/// more file beside /etc/subuid each time.
fn remove_stale_pid_files(file: &Path) {
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = entry_name.strip_prefix(&prefix) else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // What the holder writes is its pid and a NUL; killed while
        // writing, it may have left a beginning of that, or nothing.
        let whole = format!("{pid}\0");
        let path = entry.path();
        let its_own = std::fs::read(&path).is_ok_and(|b| whole.as_bytes().starts_with(&b));
        if its_own && pid_is_gone(pid) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A lock file whose pid (as shadow writes it) is not a running process.
fn holder_is_gone(lock: &Path) -> bool {
    let Ok(bytes) = std::fs::read(lock) else {
        return false;
    };
    pid_is_gone(
        String::from_utf8_lossy(&bytes)
            .trim_end_matches('\0')
            .trim(),
    )
}

/// `pid` (as text) names no running process.
fn pid_is_gone(pid: &str) -> bool {
    match pid.parse::<i32>() {
        Ok(pid) if pid > 0 => {
            // Signal 0 only checks.
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                == Err(nix::errno::Errno::ESRCH)
        }
        _ => false,
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600).custom_flags(libc::O_NOFOLLOW)
    }
}

/// Takes the lock useradd takes for /etc/subuid and /etc/subgid under
/// `root` (waiting up to 15 s for another holder); released when dropped.
pub fn lock_subid_files(root: &HostRoot) -> Result<ShadowLock> {
    use crate::layout::host::{SUBGID, SUBUID};
    let mut lock = ShadowLock {
        _pwd: lock_pwd(root)?,
        links: Vec::new(),
    };
    for file in [SUBUID, SUBGID] {
        lock.links.push(lock_file(&root.path(file))?);
    }
    Ok(lock)
}

/// Gives `user` (uid `uid`) `COUNT` subordinate uids and gids where it has
/// none, under shadow's locks; returns the files that changed.
pub fn ensure_ranges(root: &HostRoot, user: &str, uid: u32) -> Result<Vec<&'static str>> {
    use crate::layout::host::{SUBGID, SUBUID};
    let lock = lock_subid_files(root)?;
    let mut changed = Vec::new();
    for file in [SUBUID, SUBGID] {
        let text = root.read_optional(file)?.unwrap_or_default();
        if let Some(new) = with_range(&text, user, uid, COUNT)? {
            write_atomic_owned(&root.path(file), new.as_bytes(), 0o644, None)?;
            changed.push(file);
        }
    }
    drop(lock);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_files_of_dead_holders_are_cleared() {
        let dir = std::env::temp_dir().join(format!("u7s-subids-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("subuid");
        std::fs::write(&file, "").unwrap();
        // A pid above pid_max is never running; ours is.
        std::fs::write(dir.join("subuid.2147483646"), "2147483646\0").unwrap();
        let me = std::process::id();
        std::fs::write(dir.join(format!("subuid.{me}")), format!("{me}\0")).unwrap();
        std::fs::write(dir.join("subuid.2147483645"), "").unwrap();
        std::fs::write(dir.join("subuid.123"), "someone else's file").unwrap();
        remove_stale_pid_files(&file);
        assert!(!dir.join("subuid.2147483646").exists());
        assert!(
            !dir.join("subuid.2147483645").exists(),
            "killed before writing"
        );
        assert!(dir.join(format!("subuid.{me}")).exists());
        assert!(dir.join("subuid.123").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ranges_go_after_everyone_elses() {
        assert_eq!(
            with_range("", "u7s-admin", 999, COUNT).unwrap().unwrap(),
            "u7s-admin:100000:65536\n"
        );
        let text = "alice:100000:65536\nbob:300000:65536";
        assert_eq!(
            with_range(text, "u7s-admin", 999, COUNT).unwrap().unwrap(),
            "alice:100000:65536\nbob:300000:65536\nu7s-admin:365536:65536\n"
        );
        assert_eq!(
            with_range("u7s-admin:1:2\n", "u7s-admin", 999, COUNT),
            Ok(None)
        );
        // shadow also names a user by uid.
        assert_eq!(
            with_range("999:100000:65536\n", "u7s-admin", 999, COUNT),
            Ok(None)
        );
        // Lines that are not ranges take no ids.
        assert_eq!(
            with_range("# x\nbad\nc:1:2:3\nd:-1:5\n", "u7s-admin", 999, COUNT)
                .unwrap()
                .unwrap()
                .lines()
                .last(),
            Some("u7s-admin:100000:65536")
        );
    }

    #[test]
    fn no_range_passes_2_to_the_32() {
        // The old code wrapped here (u64 arithmetic, then ids past 2^32).
        let full = "x:4294901760:65535\n"; // ends at 2^32 - 1
        assert_eq!(
            with_range(full, "u7s-admin", 999, COUNT),
            Err(SubidError::NoRoom {
                end: 4294967295,
                count: COUNT
            })
        );
        let near = "x:4294836224:65535\n"; // ends at 2^32 - 65537
        assert_eq!(
            with_range(near, "u7s-admin", 999, COUNT)
                .unwrap()
                .unwrap()
                .lines()
                .last(),
            Some("u7s-admin:4294901759:65536")
        );
        let big = "x:4294967295:4294967295\n";
        assert!(with_range(big, "u7s-admin", 999, COUNT).is_err());
        assert!(with_range("", "u7s-admin", 999, 0).is_err());
        let err = with_range(full, "u7s-admin", 999, COUNT)
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n') && err.contains("4294967295"), "{err}");
    }

    fn tree(tag: &str) -> (PathBuf, HostRoot) {
        let d = std::env::temp_dir().join(format!("u7s-subids-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("etc")).unwrap();
        let root = HostRoot::new(&d);
        (d, root)
    }

    #[test]
    fn both_files_are_written_under_shadows_locks() {
        let (d, root) = tree("write");
        std::fs::write(d.join("etc/subuid"), "alice:100000:65536\n").unwrap();
        let changed = ensure_ranges(&root, "u7s-admin", 999).unwrap();
        assert_eq!(changed, ["/etc/subuid", "/etc/subgid"]);
        assert_eq!(
            std::fs::read_to_string(d.join("etc/subuid")).unwrap(),
            "alice:100000:65536\nu7s-admin:165536:65536\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("etc/subgid")).unwrap(),
            "u7s-admin:100000:65536\n"
        );
        // The locks are gone; the second run changes nothing.
        assert!(!d.join("etc/subuid.lock").exists());
        assert!(ensure_ranges(&root, "u7s-admin", 999).unwrap().is_empty());
        let names: Vec<_> = std::fs::read_dir(d.join("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, [".pwd.lock", "subgid", "subuid"]);
    }

    #[test]
    fn a_lock_held_by_a_live_process_is_waited_for_and_a_stale_one_taken() {
        let (d, root) = tree("stale");
        // A stale lock (pid above pid_max cannot be alive) is removed.
        std::fs::write(d.join("etc/subuid.lock"), "2147483646\0").unwrap();
        ensure_ranges(&root, "u7s-admin", 999).unwrap();
        assert!(!d.join("etc/subuid.lock").exists());
        // A lock of a live process (ours, as useradd would hold it) is
        // waited for, and the change waits with it.
        let (d, root) = tree("live");
        std::fs::write(
            d.join("etc/subgid.lock"),
            format!("{}\0", std::process::id()),
        )
        .unwrap();
        let lock = d.join("etc/subgid.lock");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_file(lock).unwrap();
        });
        let start = Instant::now();
        ensure_ranges(&root, "u7s-admin", 999).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(300));
        release.join().unwrap();
    }
}
