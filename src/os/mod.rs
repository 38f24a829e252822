//! The one OS layer of `kubeadm init|join|reset`: every fact the flow reads
//! from the host and every change it makes goes through the [`Os`] trait.
//!
//! - [`linux::LinuxOs`] does it: the host files under the root prefix
//!   (`U7S_ROOT`), the real tools, the terminal;
//! - [`record::RecordingOs`] records it, answering reads from an in-memory
//!   host, so that every step of init, join and reset, in order, with the
//!   domain each file effect happens in, is unit-tested without root.
//!
//! Paths are host paths (`/etc/kubernetes/admin.conf`), resolved under the
//! root prefix by the implementation. Each file effect says who controls the
//! directories on the way to it ([`Within`]), because the rule differs:
//! root works itself only where every directory is root's, and reaches
//! u7s-admin's directories only as u7s-admin.
//!
//! - [`fs`]: file effects relative to directory fds, never following a link;
//! - [`as_admin`]: work done by a child that dropped to u7s-admin.
//!
//! Namespace entry (`crate::ns`) keeps its system calls behind
//! `crate::ns::sys::NsSys` (its own recording implementation tests their
//! order); the privilege drop here goes through those same calls, so the
//! OS layer is `Os` for the flows and `NsSys` for entering, with one
//! implementation of each system call.

pub mod as_admin;
pub mod fs;
pub mod linux;
pub mod record;
pub mod signal;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::tools::{Tool, ToolError};

/// A user and group id pair (u7s-admin's, for ownership and for dropping to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// Who controls the directories on the way to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    /// Every directory on the way is root's: root works there itself.
    Root,
    /// A directory on the way belongs to u7s-admin (these ids): the work is
    /// done as u7s-admin, which can do nothing there it could not do itself.
    Admin(Ids),
}

/// A host path and the domain it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At<'a> {
    pub path: &'a str,
    pub within: Within,
}

impl<'a> At<'a> {
    pub fn root(path: &'a str) -> At<'a> {
        At {
            path,
            within: Within::Root,
        }
    }

    pub fn admin(path: &'a str, ids: Ids) -> At<'a> {
        At {
            path,
            within: Within::Admin(ids),
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path)
    }
}

/// What is at a path (a final symlink is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    /// The permission bits (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On the host, as root.
    Host,
    /// Inside the u7s-admin rootlesskit namespaces (uid 0 inside = u7s-admin).
    Inside,
}

/// What a captured command gave back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub code: i32,
    pub stdout: String,
}

/// The most output a captured command may give.
pub const CAPTURE_LIMIT: u64 = 1 << 20;

/// The largest host file the flow reads (a kubeconfig, a manifest, a passwd).
pub const READ_LIMIT: u64 = 4 << 20;

/// Everything the flow asks of the host.
pub trait Os {
    // What this process is.

    /// The effective uid.
    fn euid(&self) -> u32;
    /// A variable of this process's environment.
    fn env(&self, name: &str) -> Option<OsString>;
    fn now(&self) -> SystemTime;
    fn sleep(&self, pause: Duration);
    /// Asks the admin a yes/no question on the terminal; no terminal is a no.
    fn ask(&self, question: &str) -> bool;

    // Programs.

    /// Where the real `tool` is (see `crate::tools`).
    fn resolve_tool(&self, tool: Tool) -> Result<PathBuf, ToolError>;
    /// Whether `program` (a real path, not under the root prefix) is an
    /// executable file.
    fn executable(&self, program: &Path) -> bool;
    /// What is at `program` (a real path, not under the root prefix; links
    /// followed, as exec follows them); `None` when nothing is.
    fn program_meta(&self, program: &Path) -> Option<Meta>;
    /// Whether `program` carries file capabilities (its
    /// `security.capability` attribute), which make it privileged without
    /// the setuid bit.
    fn has_file_capabilities(&self, program: &Path) -> bool;
    /// The group ids `user`'s processes get: its primary group `gid` and
    /// every group of the system's database that lists it (what login and
    /// systemd give its user manager). Real, not under the root prefix,
    /// like the programs whose group bits they are compared with.
    fn account_groups(&self, user: &str, gid: u32) -> Vec<u32>;
    /// A group's name in the system's database, for messages.
    fn group_name(&self, gid: u32) -> Option<String>;
    /// Runs `argv` with stdin closed and stdout captured (a version query,
    /// an image list), at most [`CAPTURE_LIMIT`] bytes of it: inside the
    /// namespaces the program is u7s-admin's to replace, so its answer is
    /// bounded data.
    fn capture(&self, argv: &[String], place: Place) -> Result<Captured>;
    /// Runs `argv` with this process's stdio, so its output streams to the
    /// admin; returns its exit status (128+N for death by signal N).
    fn run(&self, argv: &[String], place: Place) -> Result<i32>;

    /// A file the admin named on the command line (`--config`): its own
    /// path, not under the root prefix. At most `limit` bytes.
    fn read_given(&self, path: &Path, limit: u64) -> Result<Vec<u8>>;

    /// Whether u7s-admin's rootlesskit child is up and ready, so that a
    /// command can run inside its namespaces.
    fn namespaces_ready(&self, admin: &crate::users::AdminUser) -> bool;

    // Host files, under the root prefix.

    /// How a message names a host path (where it is under the root prefix).
    fn shown(&self, path: &str) -> String;
    /// The host's name when /etc/hostname does not say (the running
    /// kernel's, and only when the root prefix is `/`).
    fn kernel_hostname(&self) -> Option<String>;
    /// A file's bytes, at most `limit` of them (more is an error); `None`
    /// when it does not exist.
    fn read(&self, at: At, limit: u64) -> Result<Option<Vec<u8>>>;
    /// What is at `at`; `None` when nothing is.
    fn stat(&self, at: At) -> Result<Option<Meta>>;
    /// Holds the lock shadow's useradd takes for /etc/subuid and
    /// /etc/subgid until the returned guard is dropped.
    fn lock_subids(&self) -> Result<Box<dyn std::any::Any>>;
    /// Whether the directory at `at` holds anything (`false` when there is
    /// no such directory).
    fn dir_holds_anything(&self, at: At) -> Result<bool>;
    /// Writes a whole file atomically (temp file + rename) with exactly
    /// `mode`, owned by `owner` (root when `None`); missing parent
    /// directories are created, owned like the file.
    fn write(&self, at: At, bytes: &[u8], mode: u32, owner: Option<Ids>) -> Result<()>;
    /// Writes into an existing file in place (a /proc/sys setting).
    fn write_in_place(&self, at: At, bytes: &[u8]) -> Result<()>;
    /// Creates a directory if missing (parents owned by root), then gives it
    /// exactly `mode` and `owner` (root when `None`).
    fn make_dir(&self, at: At, mode: u32, owner: Option<Ids>) -> Result<()>;
    /// Renames `at` to `<path><suffix>` (or `<path><suffix>-N`, the first
    /// free name) without ever replacing anything; returns the new path, or
    /// `None` when nothing was there.
    fn move_aside(&self, at: At, suffix: &str) -> Result<Option<String>>;
}

/// The host facts of `crate::settings`, read through the OS layer.
pub struct OsFiles<'a>(pub &'a dyn Os);

impl crate::settings::host::HostFiles for OsFiles<'_> {
    fn read_optional(&self, abs: &str) -> Result<Option<String>> {
        read_text(self.0, At::root(abs))
    }

    fn shown(&self, abs: &str) -> String {
        self.0.shown(abs)
    }

    fn kernel_hostname(&self) -> Result<Option<String>> {
        Ok(self.0.kernel_hostname())
    }
}

/// A host file as text (`None` when missing), at most [`READ_LIMIT`] bytes.
pub fn read_text(os: &dyn Os, at: At) -> Result<Option<String>> {
    Ok(os
        .read(at, READ_LIMIT)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}
