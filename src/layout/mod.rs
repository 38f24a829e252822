//! Where things are: the one definition of every path u7s uses, so that
//! preflight, the host steps, the service roles, nsenter_u7s, the docs and
//! the tests cannot disagree.
//!
//! - `host`: the host's files of the cluster (under the root prefix);
//! - `admin`: u7s-admin's directories (home, XDG directories, state dir,
//!   env file, CRI-O socket).

pub mod admin;
pub mod host;

pub use admin::AdminDirs;

/// Who controls the directories on the way to a host path, and so how root
/// may reach it (SPEC, "Threat model and security rules").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Every directory on the way is root's: root works there itself.
    Root,
    /// A directory on the way is u7s-admin's ([`AdminDirs::domain_of`]):
    /// root reaches it only as u7s-admin.
    Admin,
}
