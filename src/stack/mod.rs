//! The rootless stack's service roles, run as u7s-admin by systemd user units.
//!
//! - `rootlesskit`: the rootlesskit role: the parent's command line and the
//!   child-side setup inside the namespaces (reference `rootlesskit.sh`);
//! - `ports`: the port forwards of a node role and the persistent NodePort list;
//! - `json`: the little JSON that `rootlessctl list-ports --json` prints.
//!
//! Where u7s-admin's files are: [`Dirs`], from the XDG variables of the
//! u7s-admin session (systemd's user manager sets `HOME` and `XDG_RUNTIME_DIR`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

pub mod json;
pub mod ports;
pub mod rootlesskit;

/// The file names under `$XDG_CONFIG_HOME/usernetes`.
pub const ENV_FILE: &str = "env";
pub const PORTS_FILE: &str = "ports";

/// u7s-admin's directories, as the running process sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// `$XDG_CONFIG_HOME/usernetes` (default `~/.config/usernetes`).
    pub config: PathBuf,
    /// `$XDG_DATA_HOME/usernetes` (default `~/.local/share/usernetes`).
    pub data: PathBuf,
    /// `$XDG_RUNTIME_DIR` (default `/run/user/<euid>`).
    pub runtime: PathBuf,
    /// `U7S_ENV_FILE`, if set.
    env_file_override: Option<PathBuf>,
    /// `U7S_ROOTLESSKIT_STATE_DIR`, if set.
    state_dir_override: Option<PathBuf>,
}

fn absolute(value: Option<OsString>) -> Option<PathBuf> {
    value.map(PathBuf::from).filter(|p| p.is_absolute())
}

impl Dirs {
    /// From variables given by `get` (the environment in [`Dirs::from_env`]).
    /// XDG variables that are not absolute are ignored, as the XDG spec says.
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>, euid: u32) -> Result<Dirs> {
        let home = absolute(get("HOME"));
        let xdg = |var: &str, rel: &str| -> Result<PathBuf> {
            match (absolute(get(var)), &home) {
                (Some(dir), _) => Ok(dir.join("usernetes")),
                (None, Some(home)) => Ok(home.join(rel).join("usernetes")),
                (None, None) => bail!("{}", crate::tr!("no-xdg-home", var)),
            }
        };
        Ok(Dirs {
            config: xdg("XDG_CONFIG_HOME", ".config")?,
            data: xdg("XDG_DATA_HOME", ".local/share")?,
            runtime: absolute(get("XDG_RUNTIME_DIR"))
                .unwrap_or_else(|| PathBuf::from(format!("/run/user/{euid}"))),
            env_file_override: get("U7S_ENV_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            state_dir_override: absolute(get("U7S_ROOTLESSKIT_STATE_DIR")),
        })
    }

    pub fn from_env() -> Result<Dirs> {
        Dirs::from_lookup(|k| std::env::var_os(k), nix::unistd::geteuid().as_raw())
    }

    /// `U7S_ENV_FILE`, else `$XDG_CONFIG_HOME/usernetes/env`.
    pub fn env_file(&self) -> PathBuf {
        self.env_file_override
            .clone()
            .unwrap_or_else(|| self.config.join(ENV_FILE))
    }

    /// `$XDG_CONFIG_HOME/usernetes/ports`: the persistent port forwards.
    pub fn ports_file(&self) -> PathBuf {
        self.config.join(PORTS_FILE)
    }

    /// `U7S_ROOTLESSKIT_STATE_DIR`, else `$XDG_RUNTIME_DIR/usernetes/rootlesskit`.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir_override
            .clone()
            .unwrap_or_else(|| self.runtime.join("usernetes/rootlesskit"))
    }

    /// `$XDG_DATA_HOME/usernetes/_var_lib_kubelet` for `/var/lib/kubelet`:
    /// where a path hard-coded in Kubernetes or CRI-O really lives.
    pub fn data_for(&self, path: &Path) -> PathBuf {
        self.data.join(path.to_string_lossy().replace('/', "_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| {
            owned
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn defaults_follow_home() {
        let d = Dirs::from_lookup(lookup(&[("HOME", "/var/lib/u7s-admin")]), 999).unwrap();
        assert_eq!(
            d.env_file(),
            Path::new("/var/lib/u7s-admin/.config/usernetes/env")
        );
        assert_eq!(
            d.ports_file(),
            Path::new("/var/lib/u7s-admin/.config/usernetes/ports")
        );
        assert_eq!(
            d.state_dir(),
            Path::new("/run/user/999/usernetes/rootlesskit")
        );
        assert_eq!(
            d.data_for(Path::new("/var/lib/kubelet")),
            Path::new("/var/lib/u7s-admin/.local/share/usernetes/_var_lib_kubelet")
        );
    }

    #[test]
    fn xdg_and_u7s_overrides() {
        let d = Dirs::from_lookup(
            lookup(&[
                ("HOME", "/h"),
                ("XDG_CONFIG_HOME", "/c"),
                ("XDG_DATA_HOME", "relative/ignored"),
                ("XDG_RUNTIME_DIR", "/r"),
                ("U7S_ENV_FILE", "/etc/podsec/u7s/config/env"),
                ("U7S_ROOTLESSKIT_STATE_DIR", "/s"),
            ]),
            5,
        )
        .unwrap();
        assert_eq!(d.env_file(), Path::new("/etc/podsec/u7s/config/env"));
        assert_eq!(d.ports_file(), Path::new("/c/usernetes/ports"));
        assert_eq!(d.data, Path::new("/h/.local/share/usernetes"));
        assert_eq!(d.state_dir(), Path::new("/s"));
        let e = Dirs::from_lookup(lookup(&[]), 5).unwrap_err().to_string();
        assert!(e.contains("$HOME"), "{e}");
    }
}
