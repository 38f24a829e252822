//! The cluster directory: what the API server would hold, for join, reset
//! and token on this host or another (the layout is in main.rs's header).

use std::path::{Path, PathBuf};

use crate::error::{self, Result};

pub struct Cluster {
    pub dir: PathBuf,
}

/// The certificates `--upload-certs` stores in the kubeadm-certs Secret.
pub const SHARED_CERTS: &[&str] = &[
    "ca.crt",
    "ca.key",
    "sa.key",
    "sa.pub",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "etcd/ca.crt",
    "etcd/ca.key",
];

/// The directory is the stand-in API server's storage, shared by every
/// caller: the model on each host, as whichever user it runs (root on the
/// host, u7s-admin inside the namespaces). So it is open to all (0777/0666);
/// it holds test secrets only.
fn write(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let shown = |p: &Path| p.display().to_string();
    if let Some(parent) = path.parent() {
        if !parent.exists() {
            std::fs::create_dir_all(parent)
                .map_err(|e| error::plain(error::os_error("mkdir", &shown(parent), &e)))?;
            let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o777));
        }
    }
    // Replace rather than rewrite: the file may belong to another caller.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text)
        .map_err(|e| error::plain(error::os_error("open", &shown(&tmp), &e)))?;
    let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666));
    std::fs::rename(&tmp, path)
        .map_err(|e| error::plain(error::os_error("rename", &shown(path), &e)))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Cluster {
    pub fn new(dir: &Path) -> Cluster {
        Cluster {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new cluster replaces whatever an earlier init left.
    pub fn reset_for_new_cluster(&self) -> Result<()> {
        if self.dir.exists() {
            for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            error::plain(error::os_error(
                "mkdir",
                &self.dir.display().to_string(),
                &e,
            ))
        })
    }

    pub fn write(&self, name: &str, text: &str) -> Result<()> {
        write(&self.path(name), text)
    }

    pub fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.path(name)).ok()
    }

    pub fn lines(&self, name: &str) -> Vec<String> {
        lines(&self.path(name))
    }

    pub fn add_line(&self, name: &str, line: &str) -> Result<()> {
        let mut all = self.lines(name);
        if !all.iter().any(|l| l == line) {
            all.push(line.to_owned());
        }
        self.write(name, &(all.join("\n") + "\n"))
    }

    pub fn remove_lines(&self, name: &str, keep: impl Fn(&str) -> bool) -> Result<()> {
        let all: Vec<String> = self.lines(name).into_iter().filter(|l| keep(l)).collect();
        let text = if all.is_empty() {
            String::new()
        } else {
            all.join("\n") + "\n"
        };
        self.write(name, &text)
    }

    /// Whether an API server answers on `endpoint`.
    pub fn answers_on(&self, endpoint: &str) -> bool {
        self.lines("endpoints").iter().any(|e| e == endpoint)
    }
}
