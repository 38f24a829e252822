//! The root prefix under which every host file is read.
//!
//! Tests and image builds point `U7S_ROOT` at a directory tree that looks like a
//! host; production leaves it unset and reads `/`. The prefix is a convenience for
//! tests, not a security boundary: symlinks inside it are followed as usual.

use std::path::{Component, Path, PathBuf};

/// Where host paths such as `/etc/hosts` are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoot {
    base: PathBuf,
}

impl Default for HostRoot {
    fn default() -> Self {
        HostRoot::new("/")
    }
}

impl HostRoot {
    /// A root at `base` (any path; relative ones are taken as given).
    pub fn new(base: impl Into<PathBuf>) -> HostRoot {
        HostRoot { base: base.into() }
    }

    /// `U7S_ROOT`, or `/` when it is unset or empty.
    pub fn from_env() -> HostRoot {
        Self::from_value(std::env::var_os("U7S_ROOT").map(PathBuf::from))
    }

    /// The rule of [`HostRoot::from_env`] with the value given, so it is testable
    /// without touching the process environment.
    pub fn from_value(value: Option<PathBuf>) -> HostRoot {
        match value {
            Some(v) if !v.as_os_str().is_empty() => HostRoot::new(v),
            _ => HostRoot::default(),
        }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// True when host paths are read from the real `/` (so facts that are not
    /// files, such as uname, may be asked of the running kernel).
    pub fn is_system_root(&self) -> bool {
        self.base
            .components()
            .all(|c| matches!(c, Component::RootDir))
    }

    /// `abs` (a host path such as `/etc/hosts`) under the root. `..` is resolved
    /// lexically and never climbs above the root, so `/../../etc/shadow` stays
    /// `<root>/etc/shadow`.
    pub fn path(&self, abs: &str) -> PathBuf {
        let mut rel: Vec<&std::ffi::OsStr> = Vec::new();
        for comp in Path::new(abs).components() {
            match comp {
                Component::Normal(part) => rel.push(part),
                Component::ParentDir => {
                    rel.pop();
                }
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
        let mut out = self.base.clone();
        out.extend(rel);
        out
    }

    /// Reads a host file as text; `Ok(None)` when it does not exist, an error
    /// naming the file (as seen on the host and under the root) otherwise.
    pub fn read_optional(&self, abs: &str) -> anyhow::Result<Option<String>> {
        let p = self.path(abs);
        match std::fs::read_to_string(&p) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!(
                "{}",
                crate::tr!("cannot-read-err", p.display(), e)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_under_the_base() {
        let r = HostRoot::new("/tmp/fake");
        assert_eq!(r.path("/etc/hosts"), PathBuf::from("/tmp/fake/etc/hosts"));
        assert_eq!(r.path("etc/hosts"), PathBuf::from("/tmp/fake/etc/hosts"));
        assert_eq!(
            HostRoot::default().path("/proc/net/route"),
            PathBuf::from("/proc/net/route")
        );
    }

    #[test]
    fn dot_dot_cannot_escape() {
        let r = HostRoot::new("/tmp/fake");
        assert_eq!(
            r.path("/../../etc/shadow"),
            PathBuf::from("/tmp/fake/etc/shadow")
        );
        assert_eq!(r.path("/etc/../../../x"), PathBuf::from("/tmp/fake/x"));
        assert_eq!(
            r.path("/etc/./a/../hosts"),
            PathBuf::from("/tmp/fake/etc/hosts")
        );
        assert_eq!(r.path("/.."), PathBuf::from("/tmp/fake"));
    }

    #[test]
    fn env_value_rule() {
        assert_eq!(HostRoot::from_value(None), HostRoot::new("/"));
        assert_eq!(
            HostRoot::from_value(Some(PathBuf::new())),
            HostRoot::new("/")
        );
        assert_eq!(
            HostRoot::from_value(Some("/srv/root".into())),
            HostRoot::new("/srv/root")
        );
        assert!(HostRoot::new("/").is_system_root());
        assert!(HostRoot::new("//").is_system_root());
        assert!(!HostRoot::new("/srv/root").is_system_root());
    }

    #[test]
    fn read_optional_distinguishes_missing() {
        let dir = std::env::temp_dir().join(format!("u7s-root-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/hostname"), "node1\n").unwrap();
        let r = HostRoot::new(&dir);
        assert_eq!(
            r.read_optional("/etc/hostname").unwrap().as_deref(),
            Some("node1\n")
        );
        assert_eq!(r.read_optional("/etc/missing").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
