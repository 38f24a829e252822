//! Test trees under /tmp are removed when their fixture is dropped: each
//! holds a copy of the u7s binary, and a suite run left gigabytes behind.
//! `U7S_KEEP_TEST_TREES=1` keeps them (and says where a failing test's tree
//! is) for debugging.
//!
//! Nothing is removed through a mount: `remove_dir_all` would delete the
//! files of whatever is mounted inside (a bind of a real directory), so the
//! mounts below the tree in this mount namespace are detached first, and a
//! tree that still has one is left in place with a warning. Processes of
//! u7s-admin (a rootlesskit of the test) may still run when a tree goes;
//! `remove_dir_all` does not follow a link they plant.

use std::path::{Path, PathBuf};

/// The variable that keeps the trees.
pub const KEEP_VAR: &str = "U7S_KEEP_TEST_TREES";

pub fn keep_requested() -> bool {
    std::env::var(KEEP_VAR).is_ok_and(|v| v == "1")
}

/// What a fixture's `Drop` does with its tree: keeps it when asked (naming
/// it when the test failed), else removes it.
pub fn dispose(root: &Path) {
    if keep_requested() {
        if std::thread::panicking() {
            eprintln!("{KEEP_VAR}=1: the test tree is kept at {}", root.display());
        }
        return;
    }
    if let Err(why) = remove_tree(root) {
        eprintln!("test tree {} left in place: {why}", root.display());
    } else if std::thread::panicking() {
        eprintln!(
            "the test tree {} was removed; {KEEP_VAR}=1 keeps it",
            root.display()
        );
    }
}

/// Removes `root` and everything below it, after detaching the mounts
/// below it; an error (and nothing removed) if one stays mounted.
pub fn remove_tree(root: &Path) -> Result<(), String> {
    // Deepest first, and again while any is left: mounts may be stacked on
    // one point, and each detach takes only the top one.
    for _ in 0..8 {
        let mounted = mounts_under(&mountinfo(), root);
        if mounted.is_empty() {
            break;
        }
        for point in mounted.iter().rev() {
            let _ = nix::mount::umount2(point, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let left = mounts_under(&mountinfo(), root);
    if !left.is_empty() {
        return Err(format!("still mounted inside: {left:?}"));
    }
    // A process that still writes into the tree can refill a directory
    // between the listing and the rmdir: try again a few times.
    let mut last = None;
    for _ in 0..5 {
        match std::fs::remove_dir_all(root) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(last.map(|e| e.to_string()).unwrap_or_default())
}

fn mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()
}

/// The mount points in `mountinfo` (the text of /proc/self/mountinfo) that
/// are `root` or below it, shallowest first.
pub fn mounts_under(mountinfo: &str, root: &Path) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        // The fifth field is the mount point, octal-escaped.
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|point| point.starts_with(root))
        .collect();
    points.sort_by(|a, b| {
        (a.components().count(), a.as_os_str()).cmp(&(b.components().count(), b.as_os_str()))
    });
    points.dedup();
    points
}

/// The kernel writes space, tab, newline and backslash in mountinfo as
/// `\040`, `\011`, `\012` and `\134`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
