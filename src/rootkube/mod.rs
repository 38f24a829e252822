//! What root's kubectl reads, and the one check that only root can have
//! written it (used by the `kubectl` applet and by `u7s doctor`).
//!
//! Root's kubectl runs the real kubectl on the host, as root, with root's own
//! kubeconfig (see `applets/kubectl.rs` for why). kubectl reads its
//! kubeconfig as code would be read: an `exec` or `auth-provider` entry runs
//! a program, `tokenFile` and friends read files, as root. So before kubectl
//! starts, every kubeconfig it will read must
//!
//! - sit at a path that only root can change: each directory from `/` down
//!   root's and not group/other-writable, no symbolic link anywhere
//!   (`ns::nofollow::open_root_only`, the walk root's other no-follow opens
//!   share); and
//! - hold only what `crate::kubeconfig`'s whitelist accepts (servers, CA
//!   data, client certificate and key data, names): the same rules root's
//!   /root/.kube/config was rebuilt under at init/join, so a kubeconfig from
//!   kubeadm passes unchanged, and one with `exec`, `auth-provider`,
//!   `tokenFile`, file paths or merge keys is refused, naming the entry.
//!
//! kubectl's own directory (`~/.kube`: caches, preferences) and any cache
//! directory or preference file it is given must be root's in the same way
//! ([`paths`] lists them all).

pub mod paths;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::kubeconfig::{self, Kubeconfig};
use crate::ns::nofollow::{self, Found, OpenError, Want};

pub use paths::{kubectl_files, works_without_kubeconfig, KubectlFiles};

/// Why root's kubectl must not use a file.
#[derive(Debug)]
pub enum Refusal {
    /// Someone other than root could have put it there or could change it
    /// (or it is not what kubectl expects there).
    Unsafe(OpenError),
    Unreadable(PathBuf, std::io::Error),
    NotText(PathBuf),
    /// Its content is off the whitelist.
    Content(PathBuf, kubeconfig::Refused),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unsafe(e) => f.write_str(&unsafe_text(e)),
            Refusal::Unreadable(p, e) => {
                f.write_str(&crate::tr!("cannot-read-err", p.display(), e))
            }
            Refusal::NotText(p) => f.write_str(&crate::tr!("rootkube-not-text", p.display())),
            Refusal::Content(p, why) => f.write_str(&crate::tr!(
                "rootkube-kubeconfig-refused",
                p.display(),
                why,
                crate::tools::Tool::Kubectl.default_path().display()
            )),
        }
    }
}

impl std::error::Error for Refusal {}

/// What an unsafe path means for root's kubectl, and the fix.
fn unsafe_text(e: &OpenError) -> String {
    match e {
        OpenError::NotPlain(p) => crate::tr!("rootkube-not-plain", p.display()),
        OpenError::Symlink(p) => crate::tr!("rootkube-symlink", p.display()),
        OpenError::NotRoots(p, uid) => crate::tr!("rootkube-owner", p.display(), uid),
        OpenError::Writable(p, mode) => crate::tr!(
            "rootkube-writable",
            p.display(),
            format!("{:04o}", mode & 0o7777),
            p.display()
        ),
        OpenError::MissingInOpen(p, dir) => {
            crate::tr!("rootkube-missing-in-open", p.display(), dir.display())
        }
        other => other.to_string(),
    }
}

/// Checks that only root can have written the `want` at `path`; `Ok(false)`
/// when nothing is there (and only root could put something there).
pub fn only_root(path: &Path, want: Want) -> Result<bool, Refusal> {
    match nofollow::open_root_only(path, want).map_err(Refusal::Unsafe)? {
        Found::Missing => Ok(false),
        Found::File(_) | Found::Dir(_) => Ok(true),
    }
}

/// The one check of a kubeconfig that root's kubectl will read: only root
/// can have written it, and the whitelist accepts all of it. `Ok(None)` when
/// it does not exist (and only root could create it).
pub fn kubeconfig(path: &Path) -> Result<Option<Kubeconfig>, Refusal> {
    let file = match nofollow::open_root_only(path, Want::File).map_err(Refusal::Unsafe)? {
        Found::File(file) => file,
        Found::Missing => return Ok(None),
        Found::Dir(_) => unreachable!("a file was asked for"),
    };
    let mut bytes = Vec::new();
    file.take(kubeconfig::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Refusal::Unreadable(path.to_path_buf(), e))?;
    let text = String::from_utf8(bytes).map_err(|_| Refusal::NotText(path.to_path_buf()))?;
    kubeconfig::parse(&text)
        .map(Some)
        .map_err(|why| Refusal::Content(path.to_path_buf(), why))
}

/// What checking everything root's kubectl touches found.
#[derive(Debug)]
pub enum Verdict {
    /// Everything checked; kubectl may run.
    Run,
    /// The default kubeconfig (this path) does not exist.
    NoKubeconfig(PathBuf),
}

/// Checks every file in `files` as the module comment says.
pub fn check_all(files: &KubectlFiles) -> Result<Verdict, Refusal> {
    for dir in &files.dirs {
        only_root(dir, Want::Dir)?;
    }
    for file in &files.files {
        only_root(file, Want::File)?;
    }
    for path in &files.kubeconfigs {
        kubeconfig(path)?;
    }
    if let Some(default) = &files.default_kubeconfig {
        if kubeconfig(default)?.is_none() {
            // kubectl would copy the old place over; it is read as the
            // kubeconfig then.
            let old = files.migrated_from.as_deref();
            if old.map(kubeconfig).transpose()?.flatten().is_none() {
                return Ok(Verdict::NoKubeconfig(default.clone()));
            }
        }
    }
    Ok(Verdict::Run)
}
