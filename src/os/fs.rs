//! File effects through directory fds: nothing here follows a symbolic link,
//! and nothing looks a path up twice (no check, then act).
//!
//! A path is reached from the root prefix one component at a time, each
//! opened with O_NOFOLLOW relative to the one before (the effect of
//! openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, with a look at every
//! directory on the way). Where root works itself ([`Trust::RootOwned`]),
//! every directory below the prefix must be root's and writable by nobody
//! else, so nobody else can swap what it holds between our calls; the
//! file itself is then created, renamed or opened relative to its
//! directory's fd: a temp file with O_CREAT|O_EXCL|O_NOFOLLOW and
//! renameat over the name, renameat2(RENAME_NOREPLACE) to move aside, mode
//! and owner set on the fd (fchmod, fchown).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use nix::libc;

use super::{Ids, Kind, Meta};

/// How far the directories on the way are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Root works here itself: every directory below the prefix must be
    /// root's (or this process's) and not writable by group or others.
    RootOwned,
    /// This process runs as u7s-admin (or only looks): no owner is
    /// required, but no symbolic link is followed either.
    NoSymlinks,
}

/// An open directory and the host path it stands for (for messages).
pub struct Dir {
    fd: OwnedFd,
    pub shown: String,
}

fn cstring(name: &Path) -> io::Result<CString> {
    CString::new(name.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn owned(ret: libc::c_int) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn openat(dir: RawFd, name: &CString, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated single name; the flags never follow a link.
    owned(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            mode as libc::c_uint,
        )
    })
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: fstat fills the zeroed struct or fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

fn lstat_at(dir: RawFd, name: &CString) -> io::Result<libc::stat> {
    // SAFETY: fstatat fills the zeroed struct or fails; a link is not followed.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

fn meta_of(st: &libc::stat) -> Meta {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Kind::File,
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    };
    Meta {
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
    }
}

/// The components of a host path (`/etc/kubernetes`), refusing `..`.
pub fn components(path: &str) -> Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    for comp in Path::new(path).components() {
        match comp {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => names.push(PathBuf::from(name)),
            _ => bail!("{}", crate::tr!("os-path-not-plain", path)),
        }
    }
    Ok(names)
}

/// The directory and the name of a host path.
pub fn split(path: &str) -> Result<(Vec<PathBuf>, PathBuf)> {
    let mut names = components(path)?;
    let name = names
        .pop()
        .ok_or_else(|| anyhow!("{}", crate::tr!("os-path-not-plain", path)))?;
    Ok((names, name))
}

impl Dir {
    /// The root prefix, opened by its path (it is the caller's to trust).
    pub fn prefix(base: &Path) -> Result<Dir> {
        let fd = std::fs::File::open(base)
            .map_err(|e| anyhow!("{}", crate::tr!("cannot-open-err", base.display(), e)))?;
        Ok(Dir {
            fd: fd.into(),
            shown: String::new(),
        })
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn child_shown(&self, name: &Path) -> String {
        format!("{}/{}", self.shown, name.display())
    }

    /// The directory `names` below this one, each opened without following
    /// a link and checked against `trust`; missing ones are created with
    /// mode 0755 and `owner` when `create` says so. `None` when one is
    /// missing and none is created.
    pub fn find(
        self,
        names: &[PathBuf],
        trust: Trust,
        create: Option<Option<Ids>>,
    ) -> Result<Option<Dir>> {
        let mut dir = self;
        for name in names {
            match dir.open_dir(name, trust, create)? {
                Some(next) => dir = next,
                None => return Ok(None),
            }
        }
        Ok(Some(dir))
    }

    /// [`Dir::find`] when a missing directory is an error.
    pub fn walk(self, names: &[PathBuf], trust: Trust, create: Option<Option<Ids>>) -> Result<Dir> {
        let shown = names
            .iter()
            .fold(self.shown.clone(), |p, n| format!("{p}/{}", n.display()));
        self.find(names, trust, create)?
            .ok_or_else(|| anyhow!("{}", crate::tr!("is-missing", shown)))
    }

    fn open_dir(
        &self,
        name: &Path,
        trust: Trust,
        create: Option<Option<Ids>>,
    ) -> Result<Option<Dir>> {
        let shown = self.child_shown(name);
        let c = cstring(name)?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let fd = match (openat(self.raw(), &c, flags, 0), create) {
            (Ok(fd), _) => fd,
            (Err(e), Some(owner)) if e.raw_os_error() == Some(libc::ENOENT) => {
                self.make_dir_fd(name, 0o755, owner)?
            }
            (Err(e), None) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            (Err(e), _) => return Err(self.why(name, e)),
        };
        if trust == Trust::RootOwned {
            let st = fstat(fd.as_raw_fd())?;
            let euid = nix::unistd::geteuid().as_raw();
            if (st.st_uid != 0 && st.st_uid != euid) || st.st_mode & 0o022 != 0 {
                bail!(
                    "{}",
                    crate::tr!(
                        "os-not-root-owned",
                        shown,
                        st.st_uid,
                        format!("{:04o}", st.st_mode & 0o7777)
                    )
                );
            }
        }
        Ok(Some(Dir { fd, shown }))
    }

    /// Why opening `name` failed, naming a symbolic link as one.
    fn why(&self, name: &Path, e: io::Error) -> anyhow::Error {
        let shown = self.child_shown(name);
        let is_link = cstring(name)
            .and_then(|c| lstat_at(self.raw(), &c))
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK);
        if is_link {
            anyhow!("{}", crate::tr!("os-symlink", shown))
        } else {
            anyhow!("{}", crate::tr!("cannot-open-err", shown, e))
        }
    }

    /// mkdirat `name` (it may exist already), then opens it without
    /// following a link and gives it exactly `mode` and `owner`.
    fn make_dir_fd(&self, name: &Path, mode: u32, owner: Option<Ids>) -> Result<OwnedFd> {
        let c = cstring(name)?;
        // SAFETY: a NUL-terminated single name.
        let made = check(unsafe { libc::mkdirat(self.raw(), c.as_ptr(), mode as libc::mode_t) });
        match made {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
                bail!(
                    "{}",
                    crate::tr!("cannot-create-err", self.child_shown(name), e)
                )
            }
            _ => {}
        }
        let fd = openat(self.raw(), &c, libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .map_err(|e| self.why(name, e))?;
        let shown = self.child_shown(name);
        // SAFETY: plain syscalls on a descriptor we own.
        check(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) })
            .map_err(|e| anyhow!("{}", crate::tr!("cannot-chmod-err", shown, e)))?;
        let ids = owner.unwrap_or(Ids { uid: 0, gid: 0 });
        if owner.is_some() || nix::unistd::geteuid().is_root() {
            check(unsafe { libc::fchown(fd.as_raw_fd(), ids.uid, ids.gid) })
                .map_err(|e| anyhow!("{}", crate::tr!("cannot-chown-err", shown, e)))?;
        }
        Ok(fd)
    }

    /// A directory `name` here, then exactly `mode` and `owner` (root when
    /// `None`) on it.
    pub fn make_dir(&self, name: &Path, mode: u32, owner: Option<Ids>) -> Result<()> {
        self.make_dir_fd(name, mode, owner).map(drop)
    }

    /// What is at `name` (a link is not followed); `None` when nothing is.
    pub fn stat(&self, name: &Path) -> Result<Option<Meta>> {
        let c = cstring(name)?;
        match lstat_at(self.raw(), &c) {
            Ok(st) => Ok(Some(meta_of(&st))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => bail!(
                "{}",
                crate::tr!("cannot-read-err", self.child_shown(name), e)
            ),
        }
    }

    /// The bytes of regular file `name`, at most `limit`; `None` when it
    /// does not exist. A link, a FIFO, a device are refused, and the open
    /// never blocks.
    pub fn read(&self, name: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
        let shown = self.child_shown(name);
        let c = cstring(name)?;
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
        let fd = match openat(self.raw(), &c, flags, 0) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(self.why(name, e)),
        };
        let st = fstat(fd.as_raw_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            bail!("{}", crate::tr!("os-not-a-file", shown));
        }
        let bytes = crate::ns::sys::read_bounded(fd.as_raw_fd(), limit as usize + 1)
            .map_err(|e| anyhow!("{}", crate::tr!("cannot-read-err", shown, e)))?;
        if bytes.len() as u64 > limit {
            bail!("{}", crate::tr!("file-too-large", shown, limit));
        }
        Ok(Some(bytes))
    }

    /// Writes file `name` whole or not at all: a temp file of our own
    /// (O_CREAT|O_EXCL|O_NOFOLLOW), mode and owner set on its fd, synced,
    /// then renamed over the name (which replaces a link, never follows it).
    pub fn write(&self, name: &Path, bytes: &[u8], mode: u32, owner: Option<Ids>) -> Result<()> {
        let shown = self.child_shown(name);
        let tmp = PathBuf::from(format!(".{}.u7s-tmp", name.display()));
        let tmp_c = cstring(&tmp)?;
        // A temp file of a writer killed mid-way: ours to clear.
        // SAFETY: a NUL-terminated single name; unlinkat never follows.
        unsafe { libc::unlinkat(self.raw(), tmp_c.as_ptr(), 0) };
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
        let fd = openat(self.raw(), &tmp_c, flags, mode)
            .map_err(|e| anyhow!("{}", crate::tr!("cannot-create-err", shown, e)))?;
        let result = (|| -> Result<()> {
            // SAFETY: plain syscalls on a descriptor we own.
            check(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) })
                .map_err(|e| anyhow!("{}", crate::tr!("cannot-chmod-err", shown, e)))?;
            if let Some(ids) = owner {
                check(unsafe { libc::fchown(fd.as_raw_fd(), ids.uid, ids.gid) })
                    .map_err(|e| anyhow!("{}", crate::tr!("cannot-chown-err", shown, e)))?;
            }
            let mut file = std::fs::File::from(fd.try_clone()?);
            std::io::Write::write_all(&mut file, bytes)
                .and_then(|_| file.sync_all())
                .map_err(|e| anyhow!("{}", crate::tr!("cannot-write-err", shown, e)))?;
            let name_c = cstring(name)?;
            // SAFETY: both names are single components in the same directory.
            check(unsafe {
                libc::renameat(self.raw(), tmp_c.as_ptr(), self.raw(), name_c.as_ptr())
            })
            .map_err(|e| anyhow!("{}", crate::tr!("cannot-write-err", shown, e)))?;
            Ok(())
        })();
        if result.is_err() {
            // SAFETY: as above.
            unsafe { libc::unlinkat(self.raw(), tmp_c.as_ptr(), 0) };
            return result;
        }
        // SAFETY: a descriptor we own.
        unsafe { libc::fsync(self.raw()) };
        Ok(())
    }

    /// Writes into existing file `name` in place (a /proc/sys setting).
    pub fn write_in_place(&self, name: &Path, bytes: &[u8]) -> Result<()> {
        let shown = self.child_shown(name);
        let c = cstring(name)?;
        let fd = openat(
            self.raw(),
            &c,
            libc::O_WRONLY | libc::O_TRUNC | libc::O_NOCTTY,
            0,
        )
        .map_err(|e| self.why(name, e))?;
        let mut file = std::fs::File::from(fd);
        std::io::Write::write_all(&mut file, bytes)
            .map_err(|e| anyhow!("{}", crate::tr!("cannot-write-err", shown, e)))
    }

    /// Renames `name` to `<name><suffix>` (or `<name><suffix>-N`, the first
    /// free one) with RENAME_NOREPLACE: nothing is ever replaced, and what
    /// was planted meanwhile only moves the name on. `None` when nothing
    /// was there.
    pub fn move_aside(&self, name: &Path, suffix: &str) -> Result<Option<PathBuf>> {
        let from = cstring(name)?;
        for n in 0..1000 {
            let to = match n {
                0 => PathBuf::from(format!("{}{suffix}", name.display())),
                n => PathBuf::from(format!("{}{suffix}-{n}", name.display())),
            };
            let to_c = cstring(&to)?;
            // SAFETY: single names relative to the same directory fd.
            let ret = unsafe {
                libc::renameat2(
                    self.raw(),
                    from.as_ptr(),
                    self.raw(),
                    to_c.as_ptr(),
                    libc::RENAME_NOREPLACE,
                )
            };
            match check(ret) {
                Ok(()) => return Ok(Some(to)),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
                Err(e) => bail!(
                    "{}",
                    crate::tr!(
                        "cannot-move-aside",
                        self.child_shown(name),
                        format!("{}: {e}", to.display())
                    )
                ),
            }
        }
        bail!(
            "{}",
            crate::tr!("cannot-move-aside", self.child_shown(name), suffix)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn scratch(tag: &str) -> (PathBuf, Dir) {
        let d = std::env::temp_dir().join(format!("u7s-osfs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let dir = Dir::prefix(&d).unwrap();
        (d, dir)
    }

    fn names(path: &str) -> Vec<PathBuf> {
        components(path).unwrap()
    }

    #[test]
    fn writes_are_whole_with_exact_mode_and_leave_no_temp_file() {
        let (d, top) = scratch("write");
        let dir = top
            .walk(&names("a/b"), Trust::RootOwned, Some(None))
            .unwrap();
        dir.write(Path::new("f"), b"one", 0o600, None).unwrap();
        dir.write(Path::new("f"), b"two", 0o640, None).unwrap();
        assert_eq!(std::fs::read(d.join("a/b/f")).unwrap(), b"two");
        let meta = dir.stat(Path::new("f")).unwrap().unwrap();
        assert_eq!((meta.kind, meta.mode), (Kind::File, 0o640));
        let names: Vec<_> = std::fs::read_dir(d.join("a/b")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left");
        assert_eq!(dir.read(Path::new("f"), 3).unwrap().unwrap(), b"two");
        assert!(dir.read(Path::new("f"), 2).is_err(), "bounded");
        assert_eq!(dir.read(Path::new("none"), 2).unwrap(), None);
    }

    #[test]
    fn no_symlink_is_followed_on_the_way_or_at_the_end() {
        let (d, _) = scratch("links");
        let victim = d.join("victim");
        std::fs::create_dir_all(&victim).unwrap();
        std::fs::write(victim.join("secret"), "S").unwrap();
        std::fs::create_dir_all(d.join("real")).unwrap();
        symlink(&victim, d.join("real/link")).unwrap();
        symlink(victim.join("secret"), d.join("real/file")).unwrap();
        let top = || Dir::prefix(&d).unwrap();
        let e = top()
            .walk(&names("real/link"), Trust::NoSymlinks, None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("symbolic link"), "{e}");
        let e = top()
            .walk(&names("real/link/sub"), Trust::NoSymlinks, Some(None))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("real/link"), "{e}");
        let real = top().walk(&names("real"), Trust::NoSymlinks, None).unwrap();
        assert!(real.read(Path::new("file"), 10).is_err());
        assert_eq!(
            real.stat(Path::new("file")).unwrap().unwrap().kind,
            Kind::Symlink
        );
        // Writing over a link replaces the link; its target is untouched.
        real.write(Path::new("file"), b"mine", 0o644, None).unwrap();
        assert_eq!(std::fs::read_to_string(victim.join("secret")).unwrap(), "S");
        assert!(real.make_dir(Path::new("link"), 0o700, None).is_err());
        assert_eq!(
            std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777,
            0o755,
            "the link's target kept its mode"
        );
        assert!(components("a/../b").is_err());
    }

    #[test]
    fn moving_aside_never_replaces() {
        let (d, top) = scratch("aside");
        std::fs::write(d.join("x"), "1").unwrap();
        std::fs::write(d.join("x.bak"), "planted").unwrap();
        let to = top.move_aside(Path::new("x"), ".bak").unwrap().unwrap();
        assert_eq!(to, PathBuf::from("x.bak-1"));
        assert_eq!(std::fs::read_to_string(d.join("x.bak")).unwrap(), "planted");
        assert_eq!(std::fs::read_to_string(d.join("x.bak-1")).unwrap(), "1");
        assert_eq!(top.move_aside(Path::new("x"), ".bak").unwrap(), None);
    }

    #[test]
    fn a_directory_writable_by_others_is_not_roots_to_work_in() {
        let (d, top) = scratch("trust");
        std::fs::create_dir_all(d.join("open")).unwrap();
        std::fs::set_permissions(d.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = top
            .walk(&names("open"), Trust::RootOwned, None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("open"), "{e}");
        let top = Dir::prefix(&d).unwrap();
        assert!(top.walk(&names("open"), Trust::NoSymlinks, None).is_ok());
    }
}
