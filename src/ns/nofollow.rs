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

use std::ffi::CString;
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
    Other(PathBuf, io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::NotPlain(p) => f.write_str(&crate::tr!("nofollow-not-plain", p.display())),
            OpenError::Symlink(p) => f.write_str(&crate::tr!("nofollow-symlink", p.display())),
            OpenError::Missing(p) => f.write_str(&crate::tr!("nofollow-missing", p.display())),
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
        self.is_dir()
            && self.uid == 0
            && (self.mode & 0o022 == 0 || self.mode & libc::S_ISVTX as u32 != 0)
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

/// Opens directory `path` (O_PATH) without following a symbolic link anywhere
/// in it; see the module comment for how.
pub fn open_dir(path: &Path) -> Result<OwnedFd, OpenError> {
    let mut names = Vec::new();
    for comp in path.components() {
        match comp {
            Component::RootDir => {}
            Component::CurDir => {}
            Component::Normal(name) => names.push(name),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(OpenError::NotPlain(path.to_path_buf()))
            }
        }
    }
    if !path.is_absolute() {
        return Err(OpenError::NotPlain(path.to_path_buf()));
    }
    let dir_flags = libc::O_PATH | libc::O_DIRECTORY;
    let root = cstring(Path::new("/")).expect("no NUL");
    // SAFETY: a constant path.
    let mut dir =
        owned(unsafe { libc::open(root.as_ptr(), dir_flags | libc::O_CLOEXEC) as libc::c_long })
            .map_err(|e| OpenError::Other("/".into(), e))?;
    let mut walked = PathBuf::from("/");
    let mut i = 0;
    let root_trusted = Meta::of(dir.as_raw_fd())
        .map_err(|e| OpenError::Other(walked.clone(), e))?
        .is_trusted_dir();
    while root_trusted && i < names.len() {
        let name = cstring(Path::new(names[i])).map_err(|e| classify(walked.clone(), e))?;
        // SAFETY: a NUL-terminated single component.
        let next = owned(unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                dir_flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            ) as libc::c_long
        });
        let at = walked.join(names[i]);
        let next = match next {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                // O_NOFOLLOW|O_PATH on a symlink opens the link itself, and
                // O_DIRECTORY then refuses it: tell a link from a file.
                // SAFETY: lstat-like fstatat without following.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                let is_link = unsafe {
                    libc::fstatat(
                        dir.as_raw_fd(),
                        name.as_ptr(),
                        &mut st,
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                } == 0
                    && st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                return Err(if is_link {
                    OpenError::Symlink(at)
                } else {
                    OpenError::Other(at, e)
                });
            }
            Err(e) => return Err(classify(at, e)),
        };
        let meta = Meta::of(next.as_raw_fd()).map_err(|e| OpenError::Other(at.clone(), e))?;
        if !meta.is_trusted_dir() {
            break;
        }
        dir = next;
        walked = at;
        i += 1;
    }
    if i == names.len() {
        return Ok(dir);
    }
    let rest: PathBuf = names[i..].iter().collect();
    openat2_beneath(dir.as_raw_fd(), &rest, dir_flags).map_err(|e| classify(path.into(), e))
}

/// Opens `name` in directory `dir` for reading: no symbolic link, no
/// blocking on a FIFO, no controlling terminal.
pub fn open_file_in(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
    openat2_beneath(
        dir.as_raw_fd(),
        Path::new(name),
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
}
