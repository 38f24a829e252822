//! Opening files in directories u7s-admin controls without following any
//! symbolic link it could plant.
//!
//! A path such as `/run/user/<uid>/usernetes/rootlesskit` is walked from `/`
//! one component at a time while the directories are root's and nobody else
//! can replace their entries (owned by root and not group/world-writable, or
//! sticky like /tmp). From the first directory that is someone else's, the
//! rest is resolved by one openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS) below the last root-owned directory, so a symlink
//! anywhere (planted before or during the walk) makes the open fail instead
//! of leading root elsewhere. Files are then opened from that directory fd
//! the same way, non-blocking (a FIFO cannot hang us) and without acquiring
//! a controlling terminal.
//!
//! [`open_root_only`] is the stricter walk for what root reads as its own
//! configuration (root's kubectl and its kubeconfig; `u7s doctor` checks the
//! same): every directory from `/` must be root's and nobody else's to
//! change, the end too, so a path only root can have put there. Both walks
//! take their steps through one function (`step`); `doctor::saferead` reads through
//! [`open_dir`] and [`open_file_in`].

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::libc;

/// Why a path was not opened.
#[derive(Debug)]
pub enum OpenError {
    /// Only absolute paths without `..` are walked.
    NotPlain(PathBuf),
    /// A symbolic link was met (somewhere in `path`).
    Symlink(PathBuf),
    /// Not there.
    Missing(PathBuf),
    /// ([`open_root_only`]) Owned by this uid, not root.
    NotRoots(PathBuf, u32),
    /// ([`open_root_only`]) Writable by group or others (this mode).
    Writable(PathBuf, u32),
    /// ([`open_root_only`]) Missing from this directory, which others may
    /// write to (so they could create it).
    MissingInOpen(PathBuf, PathBuf),
    /// ([`open_root_only`]) Not the kind wanted.
    Kind(PathBuf, Want),
    Other(PathBuf, io::Error),
}

impl OpenError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            OpenError::NotPlain(p)
            | OpenError::Symlink(p)
            | OpenError::Missing(p)
            | OpenError::NotRoots(p, _)
            | OpenError::Writable(p, _)
            | OpenError::MissingInOpen(p, _)
            | OpenError::Kind(p, _)
            | OpenError::Other(p, _) => p,
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::NotPlain(p) => f.write_str(&crate::tr!("nofollow-not-plain", p.display())),
            OpenError::Symlink(p) => f.write_str(&crate::tr!("nofollow-symlink", p.display())),
            OpenError::Missing(p) => f.write_str(&crate::tr!("nofollow-missing", p.display())),
            OpenError::NotRoots(p, uid) => {
                f.write_str(&crate::tr!("nofollow-not-roots", p.display(), uid))
            }
            OpenError::Writable(p, mode) => f.write_str(&crate::tr!(
                "nofollow-writable",
                p.display(),
                format!("{:04o}", mode & 0o7777)
            )),
            OpenError::MissingInOpen(p, dir) => f.write_str(&crate::tr!(
                "nofollow-missing-in-open",
                p.display(),
                dir.display()
            )),
            OpenError::Kind(p, Want::File) => {
                f.write_str(&crate::tr!("nofollow-not-file", p.display()))
            }
            OpenError::Kind(p, Want::Dir) => {
                f.write_str(&crate::tr!("nofollow-not-dir", p.display()))
            }
            OpenError::Other(p, e) => f.write_str(&crate::tr!("cannot-open-err", p.display(), e)),
        }
    }
}

/// What fstat says about an open file.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub uid: u32,
    pub mode: u32,
    pub size: u64,
}

impl Meta {
    pub fn of(fd: RawFd) -> io::Result<Meta> {
        // SAFETY: fstat fills the zeroed struct or fails.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Meta {
            uid: st.st_uid,
            mode: st.st_mode,
            size: st.st_size as u64,
        })
    }

    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// A word for the kind of file, for messages.
    pub fn kind(&self) -> &'static str {
        match self.mode & libc::S_IFMT {
            libc::S_IFREG => "regular file",
            libc::S_IFDIR => "directory",
            libc::S_IFIFO => "FIFO",
            libc::S_IFSOCK => "socket",
            libc::S_IFCHR => "character device",
            libc::S_IFBLK => "block device",
            libc::S_IFLNK => "symbolic link",
            _ => "special file",
        }
    }

    /// Root's, and nobody else can replace what it holds.
    fn is_trusted_dir(&self) -> bool {
        self.is_dir() && self.uid == 0 && (self.mode & 0o022 == 0 || self.mode & libc::S_ISVTX != 0)
    }

    /// Writable by group or others.
    fn others_write(&self) -> bool {
        self.mode & 0o022 != 0
    }

    /// Root's and nobody else's to change; a directory the walk passes
    /// through may be one anyone writes if it is sticky (/tmp): nobody but
    /// root can then rename or remove the root-owned entry we go on to.
    fn root_only(&self, at: &Path, passing: bool) -> Result<(), OpenError> {
        if self.uid != 0 {
            return Err(OpenError::NotRoots(at.to_path_buf(), self.uid));
        }
        if self.others_write() && !(passing && self.is_trusted_dir()) {
            return Err(OpenError::Writable(at.to_path_buf(), self.mode));
        }
        Ok(())
    }
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// openat2(2) of `rel` below `dir`, refusing every symbolic link.
pub fn openat2_beneath(dir: RawFd, rel: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let name = cstring(rel)?;
    // SAFETY: open_how is plain data; zeroed then filled.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    // openat2 refuses flags that mean nothing with O_PATH (O_NOCTTY among them).
    let extra = if flags & libc::O_PATH != 0 {
        0
    } else {
        libc::O_NOCTTY
    };
    how.flags = (flags | libc::O_CLOEXEC | extra) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: valid NUL-terminated path and open_how of the size we pass.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                name.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        match owned(ret) {
            // The kernel asks to retry when a rename raced the lookup.
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
            other => return other,
        }
    }
}

fn classify(at: PathBuf, err: io::Error) -> OpenError {
    match err.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::EXDEV) => OpenError::Symlink(at),
        Some(libc::ENOENT) => OpenError::Missing(at),
        _ => OpenError::Other(at, err),
    }
}

/// The names of an absolute path without `..`.
fn plain_names(path: &Path) -> Result<Vec<&OsStr>, OpenError> {
    if !path.is_absolute() {
        return Err(OpenError::NotPlain(path.to_path_buf()));
    }
    let mut names = Vec::new();
    for comp in path.components() {
        match comp {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => names.push(name),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(OpenError::NotPlain(path.to_path_buf()))
            }
        }
    }
    Ok(names)
}

/// `/`, opened O_PATH, and what it is.
fn open_slash() -> Result<(OwnedFd, Meta), OpenError> {
    let root = cstring(Path::new("/")).expect("no NUL");
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: a constant path.
    let fd = owned(unsafe { libc::open(root.as_ptr(), flags) as libc::c_long })
        .map_err(|e| OpenError::Other("/".into(), e))?;
    let meta = Meta::of(fd.as_raw_fd()).map_err(|e| OpenError::Other("/".into(), e))?;
    Ok((fd, meta))
}

/// Whether `name` in `dir` is a symbolic link (not followed).
fn is_link_at(dir: RawFd, name: &CString) -> bool {
    // SAFETY: lstat-like fstatat without following.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }) == 0
        && st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// One step of a walk: `name` in `dir` (which is `walked`), opened with
/// `flags` and O_NOFOLLOW, and what fstat says of it. A link is
/// [`OpenError::Symlink`] of `walked/name`, whatever the flags make of it.
fn step(
    dir: &OwnedFd,
    walked: &Path,
    name: &OsStr,
    flags: libc::c_int,
) -> Result<(OwnedFd, Meta), OpenError> {
    let at = walked.join(name);
    let c = cstring(Path::new(name)).map_err(|e| OpenError::Other(at.clone(), e))?;
    // SAFETY: a NUL-terminated single component.
    let next = owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        ) as libc::c_long
    });
    let next = match next {
        Ok(fd) => fd,
        // O_NOFOLLOW|O_PATH on a symlink opens the link itself, and
        // O_DIRECTORY then refuses it (ENOTDIR); without O_PATH it is ELOOP.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
            return Err(if is_link_at(dir.as_raw_fd(), &c) {
                OpenError::Symlink(at)
            } else if e.raw_os_error() == Some(libc::ENOTDIR) {
                OpenError::Kind(at, Want::Dir)
            } else {
                OpenError::Other(at, e)
            });
        }
        Err(e) => return Err(classify(at, e)),
    };
    let meta = Meta::of(next.as_raw_fd()).map_err(|e| OpenError::Other(at.clone(), e))?;
    Ok((next, meta))
}

/// A directory step ([`step`] with O_PATH|O_DIRECTORY).
fn step_dir(dir: &OwnedFd, walked: &Path, name: &OsStr) -> Result<(OwnedFd, Meta), OpenError> {
    step(dir, walked, name, libc::O_PATH | libc::O_DIRECTORY)
}

/// Opens directory `path` (O_PATH) without following a symbolic link anywhere
/// in it; see the module comment for how.
pub fn open_dir(path: &Path) -> Result<OwnedFd, OpenError> {
    let names = plain_names(path)?;
    let (mut dir, slash) = open_slash()?;
    let mut walked = PathBuf::from("/");
    let mut i = 0;
    while slash.is_trusted_dir() && i < names.len() {
        let (next, meta) = match step_dir(&dir, &walked, names[i]) {
            Err(OpenError::Kind(at, _)) => {
                return Err(OpenError::Other(
                    at,
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                ))
            }
            other => other?,
        };
        if !meta.is_trusted_dir() {
            break;
        }
        dir = next;
        walked.push(names[i]);
        i += 1;
    }
    if i == names.len() {
        return Ok(dir);
    }
    let rest: PathBuf = names[i..].iter().collect();
    openat2_beneath(dir.as_raw_fd(), &rest, libc::O_PATH | libc::O_DIRECTORY)
        .map_err(|e| classify(path.into(), e))
}

/// What [`open_root_only`] expects at the end of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    File,
    Dir,
}

/// What [`open_root_only`] found.
#[derive(Debug)]
pub enum Found {
    /// The regular file, open for reading (non-blocking).
    File(std::fs::File),
    /// The directory (O_PATH).
    Dir(OwnedFd),
    /// Not there, and only root could create it.
    Missing,
}

/// Opens `path` (absolute, no `..`) only if root alone can have put it
/// there: walked from `/` one name at a time with O_NOFOLLOW, every
/// directory root's and not writable by group or others (a sticky one like
/// /tmp may be passed through), the end root's and not group/other-writable
/// and of the kind wanted. A missing name is [`Found::Missing`] only in a
/// directory nobody else may write. A regular file is opened non-blocking
/// and without a controlling terminal, so a FIFO or device cannot hang us.
///
/// Since nobody but root can change any directory on the way, a later open
/// of the same path (by a program root runs) finds what was checked here.
pub fn open_root_only(path: &Path, want: Want) -> Result<Found, OpenError> {
    let names = plain_names(path)?;
    let (mut dir, mut dir_meta) = open_slash()?;
    let mut walked = PathBuf::from("/");
    dir_meta.root_only(&walked, !names.is_empty())?;
    let Some((last, on_the_way)) = names.split_last() else {
        return match want {
            Want::Dir => Ok(Found::Dir(dir)),
            Want::File => Err(OpenError::Kind(walked, Want::File)),
        };
    };
    let missing = |at: PathBuf, walked: &Path, dir_meta: &Meta| {
        if dir_meta.others_write() {
            Err(OpenError::MissingInOpen(at, walked.to_path_buf()))
        } else {
            Ok(Found::Missing)
        }
    };
    for name in on_the_way {
        let (next, meta) = match step_dir(&dir, &walked, name) {
            Err(OpenError::Missing(at)) => return missing(at, &walked, &dir_meta),
            other => other?,
        };
        walked.push(name);
        meta.root_only(&walked, true)?;
        (dir, dir_meta) = (next, meta);
    }
    let flags = match want {
        Want::File => libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        Want::Dir => libc::O_PATH | libc::O_DIRECTORY,
    };
    let (fd, meta) = match step(&dir, &walked, last, flags) {
        Err(OpenError::Missing(at)) => return missing(at, &walked, &dir_meta),
        other => other?,
    };
    let at = walked.join(last);
    meta.root_only(&at, false)?;
    match want {
        Want::File if meta.is_file() => Ok(Found::File(std::fs::File::from(fd))),
        Want::Dir if meta.is_dir() => Ok(Found::Dir(fd)),
        _ => Err(OpenError::Kind(at, want)),
    }
}

/// Opens `name` in directory `dir` for reading: no symbolic link, no
/// blocking on a FIFO, no controlling terminal.
pub fn open_file_in(dir: &OwnedFd, name: impl AsRef<Path>) -> io::Result<OwnedFd> {
    openat2_beneath(
        dir.as_raw_fd(),
        name.as_ref(),
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("u7s-nofollow-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn plain_directories_open() {
        let d = scratch("plain");
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        let fd = open_dir(&d.join("a/b")).unwrap();
        assert!(Meta::of(fd.as_raw_fd()).unwrap().is_dir());
        assert!(open_dir(Path::new("/")).is_ok());
        // The part below someone else's directory (always so for a non-root
        // run; as root, the walk goes to the end): one openat2 of a path.
        let top = open_dir(&d).unwrap();
        let below = openat2_beneath(
            top.as_raw_fd(),
            Path::new("a/b"),
            libc::O_PATH | libc::O_DIRECTORY,
        )
        .unwrap();
        assert!(Meta::of(below.as_raw_fd()).unwrap().is_dir());
    }

    #[test]
    fn a_symlink_anywhere_is_refused() {
        let d = scratch("links");
        std::fs::create_dir_all(d.join("real/state")).unwrap();
        symlink(d.join("real"), d.join("link")).unwrap();
        symlink(d.join("real/state"), d.join("real/statelink")).unwrap();
        for bad in ["link/state", "real/statelink", "link"] {
            match open_dir(&d.join(bad)) {
                Err(OpenError::Symlink(_)) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            open_dir(&d.join("real/none")),
            Err(OpenError::Missing(_))
        ));
        assert!(matches!(
            open_dir(&d.join("real/../real")),
            Err(OpenError::NotPlain(_))
        ));
        assert!(matches!(
            open_dir(Path::new("relative")),
            Err(OpenError::NotPlain(_))
        ));
    }

    #[test]
    fn files_open_without_following_or_blocking() {
        let d = scratch("files");
        std::fs::write(d.join("f"), "1\n").unwrap();
        symlink("/dev/zero", d.join("zero")).unwrap();
        nix::unistd::mkfifo(
            &d.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let dir = open_dir(&d).unwrap();
        assert!(open_file_in(&dir, "f").is_ok());
        let err = open_file_in(&dir, "zero").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        // Opening a FIFO with no writer returns at once; fstat tells what it is.
        let fifo = open_file_in(&dir, "fifo").unwrap();
        assert_eq!(Meta::of(fifo.as_raw_fd()).unwrap().kind(), "FIFO");
        assert!(open_file_in(&dir, "../f").is_err());
    }

    #[test]
    fn root_only_tells_kinds_links_owners_and_open_dirs_apart() {
        let d = scratch("rootonly");
        std::fs::create_dir_all(d.join("d")).unwrap();
        let mode = |p: &Path, m: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        mode(&d, 0o755);
        mode(&d.join("d"), 0o755);
        std::fs::write(d.join("d/f"), "x").unwrap();
        mode(&d.join("d/f"), 0o600);
        symlink(d.join("d"), d.join("l")).unwrap();
        symlink(d.join("d/f"), d.join("d/g")).unwrap();
        assert!(matches!(
            open_root_only(Path::new("a/b"), Want::File),
            Err(OpenError::NotPlain(_))
        ));
        assert!(matches!(
            open_root_only(Path::new("/etc/../etc/passwd"), Want::File),
            Err(OpenError::NotPlain(_))
        ));
        if !nix::unistd::geteuid().is_root() {
            // A tree of an ordinary user is not root's: the first name of
            // it that is not says so.
            let f = open_root_only(&d.join("d/f"), Want::File);
            assert!(matches!(f, Err(OpenError::NotRoots(..))), "{f:?}");
            return;
        }
        let f = open_root_only(&d.join("d/f"), Want::File);
        assert!(matches!(f, Ok(Found::File(_))), "{f:?}");
        assert!(matches!(
            open_root_only(&d.join("d"), Want::Dir),
            Ok(Found::Dir(_))
        ));
        assert!(matches!(
            open_root_only(Path::new("/"), Want::Dir),
            Ok(Found::Dir(_))
        ));
        assert!(matches!(
            open_root_only(&d.join("d/none"), Want::File),
            Ok(Found::Missing)
        ));
        assert!(matches!(
            open_root_only(&d.join("none/f"), Want::File),
            Ok(Found::Missing)
        ));
        assert!(matches!(
            open_root_only(&d.join("d"), Want::File),
            Err(OpenError::Kind(_, Want::File))
        ));
        assert!(matches!(
            open_root_only(&d.join("d/f"), Want::Dir),
            Err(OpenError::Kind(_, Want::Dir))
        ));
        assert!(matches!(
            open_root_only(&d.join("d/f/x"), Want::File),
            Err(OpenError::Kind(p, Want::Dir)) if p == d.join("d/f")
        ));
        for (link, want, at) in [
            ("l/f", Want::File, "l"),
            ("l", Want::Dir, "l"),
            ("d/g", Want::File, "d/g"),
        ] {
            let r = open_root_only(&d.join(link), want);
            assert!(
                matches!(&r, Err(OpenError::Symlink(p)) if *p == d.join(at)),
                "{link}: {r:?}"
            );
        }
        // Someone else's file, or one others may write.
        std::os::unix::fs::chown(d.join("d/f"), Some(4242), None).unwrap();
        assert!(matches!(
            open_root_only(&d.join("d/f"), Want::File),
            Err(OpenError::NotRoots(_, 4242))
        ));
        std::os::unix::fs::chown(d.join("d/f"), Some(0), None).unwrap();
        mode(&d.join("d/f"), 0o620);
        assert!(matches!(
            open_root_only(&d.join("d/f"), Want::File),
            Err(OpenError::Writable(_, m)) if m & 0o777 == 0o620
        ));
        // A sticky directory anyone writes may be passed, not ended at, and
        // a name missing from it is not proof that nobody will put it there.
        mode(&d.join("d/f"), 0o600);
        mode(&d.join("d"), 0o1777);
        assert!(matches!(
            open_root_only(&d.join("d/f"), Want::File),
            Ok(Found::File(_))
        ));
        assert!(matches!(
            open_root_only(&d.join("d"), Want::Dir),
            Err(OpenError::Writable(..))
        ));
        assert!(matches!(
            open_root_only(&d.join("d/none"), Want::File),
            Err(OpenError::MissingInOpen(p, dir)) if p == d.join("d/none") && dir == d.join("d")
        ));
        // Not sticky: not even passed.
        mode(&d.join("d"), 0o777);
        assert!(matches!(
            open_root_only(&d.join("d/f"), Want::File),
            Err(OpenError::Writable(p, _)) if p == d.join("d")
        ));
        // A FIFO does not hang the open.
        mode(&d.join("d"), 0o755);
        nix::unistd::mkfifo(
            &d.join("d/fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        assert!(matches!(
            open_root_only(&d.join("d/fifo"), Want::File),
            Err(OpenError::Kind(_, Want::File))
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
