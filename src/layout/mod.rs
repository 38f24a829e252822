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
