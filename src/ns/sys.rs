//! The system calls that namespace entry makes, behind a small trait (in the
//! manner of youki's `Syscall`): `Linux` makes them, `Recording` writes down
//! what would be made and answers from a script, so the order of the proof,
//! the setns and the privilege changes is unit-tested without root.
//!
//! The trait knows nothing of readiness, applets or flows; it is meant to be
//! folded into the one OS layer as a supertrait.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::libc;
use nix::sched::CloneFlags;

/// Identity of a namespace: device and inode of its nsfs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsId {
    pub dev: u64,
    pub ino: u64,
}

pub trait NsSys {
    /// A handle the implementation hands out (an fd on Linux).
    type Handle;

    /// pidfd_open(2) of `pid`.
    fn pidfd_open(&mut self, pid: i32) -> io::Result<Self::Handle>;
    /// `/proc/<pid>` as a directory handle; it stays bound to that process.
    fn open_proc(&mut self, pid: i32) -> io::Result<Self::Handle>;
    /// The text of `status` in a `/proc/<pid>` handle.
    fn read_status(&mut self, proc_dir: &Self::Handle) -> io::Result<String>;
    /// `ns/user` in a `/proc/<pid>` handle.
    fn open_user_ns(&mut self, proc_dir: &Self::Handle) -> io::Result<Self::Handle>;
    /// pidfd_send_signal(pidfd, 0): Ok while the process has not been reaped.
    fn pidfd_alive(&mut self, pidfd: &Self::Handle) -> io::Result<()>;
    /// ioctl(NS_GET_OWNER_UID): the uid that created a user namespace.
    fn ns_owner_uid(&mut self, ns: &Self::Handle) -> io::Result<u32>;
    /// The identity of namespace `kind` ("user", "mnt", ...) in a
    /// `/proc/<pid>` handle.
    fn ns_id(&mut self, proc_dir: &Self::Handle, kind: &str) -> io::Result<NsId>;
    /// The identity of this process's own namespace `kind`.
    fn own_ns_id(&mut self, kind: &str) -> io::Result<NsId>;
    fn geteuid(&mut self) -> u32;
    /// setns(2) through a pidfd: all of `kinds` at once, atomically.
    fn setns(&mut self, pidfd: &Self::Handle, kinds: CloneFlags) -> io::Result<()>;
    /// setgroups(0, NULL).
    fn drop_groups(&mut self) -> io::Result<()>;
    fn setresgid(&mut self, gid: u32) -> io::Result<()>;
    fn setresuid(&mut self, uid: u32) -> io::Result<()>;
}

/// The real system calls.
#[derive(Debug, Default)]
pub struct Linux;

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = check(fd)? as RawFd;
    // SAFETY: the kernel just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn openat(dir: RawFd, name: &std::ffi::CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name and plain flags.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC) };
    owned(fd as libc::c_long)
}

/// fstatat(2) following the nsfs magic link to the namespace itself.
fn stat_id(dir: RawFd, path: &str) -> io::Result<NsId> {
    let path = std::ffi::CString::new(path).expect("no NUL in a namespace path");
    // SAFETY: fstatat fills the zeroed struct or fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstatat(dir, path.as_ptr(), &mut st, 0) } as libc::c_long)?;
    Ok(NsId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// Reads at most `limit` bytes from `fd`.
pub(crate) fn read_bounded(fd: RawFd, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; limit];
    let mut len = 0;
    while len < limit {
        // SAFETY: reading into the unfilled tail of our own buffer.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), limit - len) };
        match n {
            0 => break,
            n if n > 0 => len += n as usize,
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
    buf.truncate(len);
    Ok(buf)
}

impl NsSys for Linux {
    type Handle = OwnedFd;

    fn pidfd_open(&mut self, pid: i32) -> io::Result<OwnedFd> {
        // SAFETY: a plain syscall; the result is a new descriptor or -1.
        owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })
    }

    fn open_proc(&mut self, pid: i32) -> io::Result<OwnedFd> {
        let path = std::ffi::CString::new(format!("/proc/{pid}")).expect("no NUL in a number");
        openat(
            libc::AT_FDCWD,
            &path,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )
    }

    fn read_status(&mut self, proc_dir: &OwnedFd) -> io::Result<String> {
        let fd = openat(proc_dir.as_raw_fd(), c"status", libc::O_RDONLY)?;
        let bytes = read_bounded(fd.as_raw_fd(), 64 * 1024)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn open_user_ns(&mut self, proc_dir: &OwnedFd) -> io::Result<OwnedFd> {
        openat(proc_dir.as_raw_fd(), c"ns/user", libc::O_RDONLY)
    }

    fn pidfd_alive(&mut self, pidfd: &OwnedFd) -> io::Result<()> {
        // SAFETY: signal 0 only checks; no siginfo.
        check(unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        })
        .map(|_| ())
    }

    fn ns_owner_uid(&mut self, ns: &OwnedFd) -> io::Result<u32> {
        let mut uid: libc::uid_t = 0;
        // SAFETY: NS_GET_OWNER_UID writes one uid_t.
        check(
            unsafe { libc::ioctl(ns.as_raw_fd(), libc::NS_GET_OWNER_UID, &mut uid) }
                as libc::c_long,
        )?;
        Ok(uid)
    }

    fn ns_id(&mut self, proc_dir: &OwnedFd, kind: &str) -> io::Result<NsId> {
        stat_id(proc_dir.as_raw_fd(), &format!("ns/{kind}"))
    }

    fn own_ns_id(&mut self, kind: &str) -> io::Result<NsId> {
        stat_id(libc::AT_FDCWD, &format!("/proc/self/ns/{kind}"))
    }

    fn geteuid(&mut self) -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn setns(&mut self, pidfd: &OwnedFd, kinds: CloneFlags) -> io::Result<()> {
        // SAFETY: setns on a descriptor we own.
        check(unsafe { libc::setns(pidfd.as_raw_fd(), kinds.bits()) } as libc::c_long).map(|_| ())
    }

    fn drop_groups(&mut self) -> io::Result<()> {
        // SAFETY: an empty list.
        check(unsafe { libc::setgroups(0, std::ptr::null()) } as libc::c_long).map(|_| ())
    }

    fn setresgid(&mut self, gid: u32) -> io::Result<()> {
        // SAFETY: plain ids.
        check(unsafe { libc::setresgid(gid, gid, gid) } as libc::c_long).map(|_| ())
    }

    fn setresuid(&mut self, uid: u32) -> io::Result<()> {
        // SAFETY: plain ids.
        check(unsafe { libc::setresuid(uid, uid, uid) } as libc::c_long).map(|_| ())
    }
}

/// What a `Recording` answers; every call is appended to `calls`.
#[derive(Debug, Clone)]
pub struct Recording {
    pub calls: Vec<String>,
    pub euid: u32,
    /// The target's `/proc/<pid>/status`.
    pub status: String,
    /// The target's namespaces by kind; the ones not listed differ from ours.
    pub target_ns: Vec<(&'static str, NsId)>,
    pub owner_uid: u32,
    /// Calls (by name, e.g. "pidfd_open") that fail, with the errno.
    pub fail: Vec<(&'static str, i32)>,
}

impl Recording {
    /// A target that passes every check: uid `admin` everywhere, a user
    /// namespace of its own created by `admin`; the caller has uid `euid`.
    pub fn genuine(admin: u32, euid: u32) -> Recording {
        Recording {
            calls: Vec::new(),
            euid,
            status: format!("Name:\tsleep\nUid:\t{admin}\t{admin}\t{admin}\t{admin}\nGid:\t{admin}\t{admin}\t{admin}\t{admin}\n"),
            target_ns: Vec::new(),
            owner_uid: admin,
            fail: Vec::new(),
        }
    }

    /// Our own namespace `kind` in a recording: a fixed made-up identity.
    pub fn own(kind: &str) -> NsId {
        let index = NAMESPACES
            .iter()
            .position(|(_, n)| *n == kind)
            .unwrap_or(99);
        NsId {
            dev: 4,
            ino: 4026531835 + index as u64,
        }
    }

    fn call(&mut self, name: &'static str, text: String) -> io::Result<()> {
        self.calls.push(text);
        match self.fail.iter().find(|(n, _)| *n == name) {
            Some((_, errno)) => Err(io::Error::from_raw_os_error(*errno)),
            None => Ok(()),
        }
    }
}

impl NsSys for Recording {
    type Handle = String;

    fn pidfd_open(&mut self, pid: i32) -> io::Result<String> {
        self.call("pidfd_open", format!("pidfd_open({pid})"))?;
        Ok(format!("pidfd:{pid}"))
    }

    fn open_proc(&mut self, pid: i32) -> io::Result<String> {
        self.call("open_proc", format!("open(/proc/{pid})"))?;
        Ok(format!("proc:{pid}"))
    }

    fn read_status(&mut self, proc_dir: &String) -> io::Result<String> {
        self.call("read_status", format!("read({proc_dir}/status)"))?;
        Ok(self.status.clone())
    }

    fn open_user_ns(&mut self, proc_dir: &String) -> io::Result<String> {
        self.call("open_user_ns", format!("open({proc_dir}/ns/user)"))?;
        Ok(format!("{proc_dir}/ns/user"))
    }

    fn pidfd_alive(&mut self, pidfd: &String) -> io::Result<()> {
        self.call("pidfd_alive", format!("pidfd_send_signal({pidfd}, 0)"))
    }

    fn ns_owner_uid(&mut self, ns: &String) -> io::Result<u32> {
        self.call("ns_owner_uid", format!("NS_GET_OWNER_UID({ns})"))?;
        Ok(self.owner_uid)
    }

    fn ns_id(&mut self, proc_dir: &String, kind: &str) -> io::Result<NsId> {
        self.call("ns_id", format!("stat({proc_dir}/ns/{kind})"))?;
        Ok(self
            .target_ns
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| Recording::own(kind).with_ino_offset(1000)))
    }

    fn own_ns_id(&mut self, kind: &str) -> io::Result<NsId> {
        self.call("own_ns_id", format!("stat(/proc/self/ns/{kind})"))?;
        Ok(Recording::own(kind))
    }

    fn geteuid(&mut self) -> u32 {
        self.euid
    }

    fn setns(&mut self, pidfd: &String, kinds: CloneFlags) -> io::Result<()> {
        self.call("setns", format!("setns({pidfd}, {})", kind_names(kinds)))
    }

    fn drop_groups(&mut self) -> io::Result<()> {
        self.call("drop_groups", "setgroups([])".into())
    }

    fn setresgid(&mut self, gid: u32) -> io::Result<()> {
        self.call("setresgid", format!("setresgid({gid})"))
    }

    fn setresuid(&mut self, uid: u32) -> io::Result<()> {
        self.call("setresuid", format!("setresuid({uid})"))
    }
}

impl NsId {
    fn with_ino_offset(self, offset: u64) -> NsId {
        NsId {
            dev: self.dev,
            ino: self.ino + offset,
        }
    }
}

/// The namespaces of a rootlesskit child, with their names in /proc/<pid>/ns.
pub const NAMESPACES: [(CloneFlags, &str); 7] = [
    (CloneFlags::CLONE_NEWUSER, "user"),
    (CloneFlags::CLONE_NEWNS, "mnt"),
    (CloneFlags::CLONE_NEWNET, "net"),
    (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
    (CloneFlags::CLONE_NEWPID, "pid"),
    (CloneFlags::CLONE_NEWIPC, "ipc"),
    (CloneFlags::CLONE_NEWUTS, "uts"),
];

/// `user|mnt|...` for a set of namespace kinds, in a fixed order.
pub fn kind_names(kinds: CloneFlags) -> String {
    NAMESPACES
        .iter()
        .filter(|(k, _)| kinds.contains(*k))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("|")
}
