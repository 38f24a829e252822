//! u7s-admin's directories: the one definition of where its files are, used
//! by root's init/join/reset, by nsenter_u7s and by every service role.
//!
//! Two views of the same rule. Root (and nsenter_u7s) know u7s-admin only by
//! its passwd entry: [`AdminDirs::standard`], the XDG defaults under its home
//! and `/run/user/<uid>` (root's own XDG variables are root's, not
//! u7s-admin's). A service role runs in u7s-admin's session and honours the
//! variables systemd's user manager gives it: [`AdminDirs::with_env`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::settings::EnvFile;
use crate::users::AdminUser;

/// The folder of u7s's files under each XDG directory.
pub const USERNETES: &str = "usernetes";
/// File names under `$XDG_CONFIG_HOME/usernetes`.
pub const ENV_FILE: &str = "env";
pub const PORTS_FILE: &str = "ports";
/// Overrides for tests and odd hosts.
pub const ENV_FILE_VAR: &str = "U7S_ENV_FILE";
pub const STATE_DIR_VAR: &str = "U7S_ROOTLESSKIT_STATE_DIR";

/// u7s-admin's directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminDirs {
    pub uid: u32,
    pub home: PathBuf,
    /// `XDG_RUNTIME_DIR`, default `/run/user/<uid>`.
    pub runtime_dir: PathBuf,
    /// `XDG_CONFIG_HOME`, default `~/.config`.
    pub config_home: PathBuf,
    /// `XDG_DATA_HOME`, default `~/.local/share`.
    pub data_home: PathBuf,
    /// `U7S_ENV_FILE`, if set.
    env_file_override: Option<PathBuf>,
    /// `U7S_ROOTLESSKIT_STATE_DIR`, if set to an absolute path.
    state_dir_override: Option<PathBuf>,
}

fn absolute(value: Option<OsString>) -> Option<PathBuf> {
    value.map(PathBuf::from).filter(|p| p.is_absolute())
}

impl AdminDirs {
    /// The defaults for the account with `home` and `uid`.
    pub fn from_home(home: impl Into<PathBuf>, uid: u32) -> AdminDirs {
        let home = home.into();
        AdminDirs {
            uid,
            runtime_dir: PathBuf::from(format!("/run/user/{uid}")),
            config_home: home.join(".config"),
            data_home: home.join(".local/share"),
            home,
            env_file_override: None,
            state_dir_override: None,
        }
    }

    /// As root sees u7s-admin: its passwd entry and the defaults.
    pub fn standard(admin: &AdminUser) -> AdminDirs {
        AdminDirs::from_home(&admin.home, admin.uid.as_raw())
    }

    /// With u7s's own overrides from `get` (`U7S_ENV_FILE`,
    /// `U7S_ROOTLESSKIT_STATE_DIR`), and nothing else: what nsenter_u7s uses,
    /// whoever calls it.
    pub fn with_overrides(mut self, get: &impl Fn(&str) -> Option<OsString>) -> AdminDirs {
        self.env_file_override = get(ENV_FILE_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        self.state_dir_override = absolute(get(STATE_DIR_VAR));
        self
    }

    /// As a process of u7s-admin's session sees them: the XDG variables that
    /// are absolute paths (the XDG rule: relative ones are ignored), then
    /// u7s's own overrides.
    pub fn with_env(mut self, get: &impl Fn(&str) -> Option<OsString>) -> AdminDirs {
        if let Some(dir) = absolute(get("XDG_RUNTIME_DIR")) {
            self.runtime_dir = dir;
        }
        if let Some(dir) = absolute(get("XDG_CONFIG_HOME")) {
            self.config_home = dir;
        }
        if let Some(dir) = absolute(get("XDG_DATA_HOME")) {
            self.data_home = dir;
        }
        self.with_overrides(get)
    }

    /// From a session's variables alone, with `HOME` from them (the
    /// rootlesskit role needs no passwd lookup): an XDG directory needs its
    /// variable or an absolute `HOME`.
    pub fn from_session_env(
        get: &impl Fn(&str) -> Option<OsString>,
        euid: u32,
    ) -> Result<AdminDirs> {
        let home = absolute(get("HOME"));
        for var in ["XDG_CONFIG_HOME", "XDG_DATA_HOME"] {
            if home.is_none() && absolute(get(var)).is_none() {
                return Err(anyhow!("{}", crate::tr!("no-xdg-home", var)));
            }
        }
        Ok(AdminDirs::from_home(home.unwrap_or_default(), euid).with_env(get))
    }

    /// Of this process, a u7s-admin service role.
    pub fn of_this_session(admin: &AdminUser) -> AdminDirs {
        AdminDirs::standard(admin).with_env(&|k: &str| std::env::var_os(k))
    }

    /// `$XDG_RUNTIME_DIR/usernetes`.
    pub fn runtime(&self) -> PathBuf {
        self.runtime_dir.join(USERNETES)
    }

    /// `$XDG_CONFIG_HOME/usernetes`.
    pub fn config(&self) -> PathBuf {
        self.config_home.join(USERNETES)
    }

    /// `$XDG_DATA_HOME/usernetes`.
    pub fn data(&self) -> PathBuf {
        self.data_home.join(USERNETES)
    }

    /// `U7S_ENV_FILE`, else `$XDG_CONFIG_HOME/usernetes/env`: the settings
    /// every role reads.
    pub fn env_file(&self) -> PathBuf {
        self.env_file_override
            .clone()
            .unwrap_or_else(|| self.config().join(ENV_FILE))
    }

    /// `$XDG_CONFIG_HOME/usernetes/ports`: the persistent port forwards.
    pub fn ports_file(&self) -> PathBuf {
        self.config().join(PORTS_FILE)
    }

    /// `$XDG_CONFIG_HOME/usernetes/kubeadm-<init|join>.yaml`.
    pub fn kubeadm_config(&self, subcommand: &str) -> PathBuf {
        self.config().join(format!("kubeadm-{subcommand}.yaml"))
    }

    /// `~/.kube/config`: u7s-admin's kubeconfig (kubectl's default).
    pub fn kubeconfig(&self) -> PathBuf {
        self.home.join(".kube/config")
    }

    /// `U7S_ROOTLESSKIT_STATE_DIR`, else `$XDG_RUNTIME_DIR/usernetes/rootlesskit`:
    /// `child_pid`, `api.sock` and the readiness file.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir_override
            .clone()
            .unwrap_or_else(|| self.runtime().join("rootlesskit"))
    }

    pub fn crio_runtime_dir(&self) -> PathBuf {
        self.runtime().join("crio")
    }

    /// `/run/user/<uid>/usernetes/crio/crio.sock`.
    pub fn crio_socket(&self) -> PathBuf {
        self.crio_runtime_dir().join("crio.sock")
    }

    /// `unix:///run/user/<uid>/usernetes/crio/crio.sock`, as kubelet takes it.
    pub fn crio_endpoint(&self) -> String {
        format!("unix://{}", self.crio_socket().display())
    }

    pub fn crio_config(&self) -> PathBuf {
        self.config().join("crio/crio.conf")
    }

    /// Where kubelet looks for FlexVolume plugins (its default is under /usr,
    /// which u7s-admin cannot write).
    pub fn kubelet_plugins_dir(&self) -> PathBuf {
        self.data().join("kubelet-plugins-exec")
    }

    /// The domain of host path `path`: u7s-admin's when it lies beneath its
    /// home, its `/run/user/<uid>` or a directory it owns
    /// ([`super::host::ADMIN_OWNED`]); root's otherwise. (The owned
    /// directories themselves are entries of root's directories.)
    pub fn domain_of(&self, path: &str) -> super::Domain {
        let beneath = |dir: &Path| {
            Path::new(path)
                .strip_prefix(dir)
                .is_ok_and(|rest| !rest.as_os_str().is_empty())
        };
        let owned = [self.home.as_path(), self.runtime_dir.as_path()]
            .into_iter()
            .chain(super::host::ADMIN_OWNED.iter().map(Path::new));
        if owned.into_iter().any(beneath) {
            super::Domain::Admin
        } else {
            super::Domain::Root
        }
    }

    /// `$XDG_DATA_HOME/usernetes/_var_lib_kubelet` for `/var/lib/kubelet`:
    /// where a path hard-coded in Kubernetes or CRI-O really lives.
    pub fn data_for(&self, path: &Path) -> PathBuf {
        self.data().join(path.to_string_lossy().replace('/', "_"))
    }
}

/// Reads the env file; the error is one line that names the file.
pub fn load_env_file(path: &Path) -> Result<EnvFile> {
    EnvFile::read(path).map_err(|e| {
        let text = crate::error::one_line(&format!("{e:#}"));
        if text.contains(&path.display().to_string()) {
            anyhow!("{}", crate::tr!("env-file-prefix", text))
        } else {
            anyhow!("{}", crate::tr!("env-file-error", path.display(), text))
        }
    })
}

/// The admin account, its directories and the env file of this process: what
/// every role starts with.
pub fn role_context() -> Result<(AdminUser, AdminDirs, EnvFile)> {
    let admin = AdminUser::lookup()?;
    let dirs = AdminDirs::of_this_session(&admin);
    let env = load_env_file(&dirs.env_file())?;
    Ok((admin, dirs, env))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nix::unistd::{Gid, Uid};

    pub fn admin() -> AdminUser {
        AdminUser {
            name: "u7s-admin".into(),
            uid: Uid::from_raw(989),
            gid: Gid::from_raw(989),
            home: "/var/lib/u7s-admin".into(),
            shell: "/bin/bash".into(),
        }
    }

    pub fn dirs() -> AdminDirs {
        AdminDirs::standard(&admin())
    }

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
    fn defaults_follow_the_admin_home_and_uid() {
        let d = dirs();
        assert_eq!(d.runtime_dir, PathBuf::from("/run/user/989"));
        assert_eq!(d.config_home, PathBuf::from("/var/lib/u7s-admin/.config"));
        assert_eq!(
            d.data_home,
            PathBuf::from("/var/lib/u7s-admin/.local/share")
        );
        assert_eq!(
            d.crio_socket(),
            PathBuf::from("/run/user/989/usernetes/crio/crio.sock")
        );
        assert_eq!(
            d.crio_endpoint(),
            "unix:///run/user/989/usernetes/crio/crio.sock"
        );
        assert_eq!(
            d.crio_config(),
            PathBuf::from("/var/lib/u7s-admin/.config/usernetes/crio/crio.conf")
        );
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
            Path::new("/run/user/989/usernetes/rootlesskit")
        );
        assert_eq!(
            d.kubeadm_config("init"),
            Path::new("/var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml")
        );
        assert_eq!(d.kubeconfig(), Path::new("/var/lib/u7s-admin/.kube/config"));
        assert_eq!(
            d.data_for(Path::new("/var/lib/kubelet")),
            Path::new("/var/lib/u7s-admin/.local/share/usernetes/_var_lib_kubelet")
        );
    }

    #[test]
    fn paths_beneath_what_u7s_admin_owns_are_its_domain() {
        use super::super::Domain::{Admin, Root};
        let d = dirs();
        for (path, domain) in [
            ("/var/lib/u7s-admin/.kube/config", Admin),
            ("/var/lib/u7s-admin", Root),
            ("/run/user/989/usernetes/crio/crio.sock", Admin),
            ("/etc/kubernetes/audit/policy.yaml", Admin),
            ("/etc/kubernetes", Root),
            ("/etc/kubernetes.u7s-backup-1", Root),
            ("/var/lib/podsec/u7s/etcd/member", Admin),
            ("/etc/cni/net.d/10-flannel.conflist", Admin),
            ("/etc/podsec/u7s/config/env", Root),
            ("/root/.kube/config", Root),
        ] {
            assert_eq!(d.domain_of(path), domain, "{path}");
        }
    }

    #[test]
    fn absolute_xdg_variables_win_relative_ones_are_ignored() {
        let d = dirs().with_env(&lookup(&[
            ("XDG_RUNTIME_DIR", "/tmp/rt"),
            ("XDG_DATA_HOME", "relative/data"),
        ]));
        assert_eq!(d.runtime_dir, PathBuf::from("/tmp/rt"));
        assert_eq!(
            d.data_home,
            PathBuf::from("/var/lib/u7s-admin/.local/share")
        );
    }

    #[test]
    fn u7s_overrides() {
        let env = lookup(&[
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "/c"),
            ("XDG_DATA_HOME", "relative/ignored"),
            ("XDG_RUNTIME_DIR", "/r"),
            ("U7S_ENV_FILE", "/etc/podsec/u7s/config/env"),
            ("U7S_ROOTLESSKIT_STATE_DIR", "/s"),
        ]);
        let d = AdminDirs::from_session_env(&env, 5).unwrap();
        assert_eq!(d.env_file(), Path::new("/etc/podsec/u7s/config/env"));
        assert_eq!(d.ports_file(), Path::new("/c/usernetes/ports"));
        assert_eq!(d.data(), Path::new("/h/.local/share/usernetes"));
        assert_eq!(d.state_dir(), Path::new("/s"));
        let e = AdminDirs::from_session_env(&lookup(&[]), 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("$XDG_CONFIG_HOME"), "{e}");
        assert_eq!(
            dirs()
                .with_overrides(&lookup(&[("U7S_ENV_FILE", "")]))
                .env_file(),
            dirs().env_file()
        );
    }

    /// Drift (issue #11): the crio and kubelet roles read the env file from
    /// `~/.config/usernetes/env` whatever `XDG_CONFIG_HOME` said, while the
    /// rootlesskit role honoured it; and nsenter_u7s took a relative
    /// `U7S_ROOTLESSKIT_STATE_DIR` that the rootlesskit role ignored. One
    /// rule now: every view agrees on both files.
    #[test]
    fn every_role_and_nsenter_agree_on_the_env_file_and_the_state_dir() {
        for env in [
            lookup(&[("HOME", "/var/lib/u7s-admin"), ("XDG_CONFIG_HOME", "/c")]),
            lookup(&[
                ("HOME", "/var/lib/u7s-admin"),
                ("U7S_ROOTLESSKIT_STATE_DIR", "relative/state"),
            ]),
            lookup(&[
                ("HOME", "/var/lib/u7s-admin"),
                ("XDG_RUNTIME_DIR", "/run/user/989"),
                ("U7S_ROOTLESSKIT_STATE_DIR", "/srv/state"),
            ]),
        ] {
            // The rootlesskit role: HOME from its session.
            let rootlesskit = AdminDirs::from_session_env(&env, 989).unwrap();
            // crio and kubelet: the passwd entry, then the session.
            let crio = dirs().with_env(&env);
            assert_eq!(rootlesskit.env_file(), crio.env_file());
            assert_eq!(rootlesskit.state_dir(), crio.state_dir());
            // nsenter_u7s, from root or u7s-admin: the passwd entry and the overrides.
            let nsenter = dirs().with_overrides(&env);
            assert_eq!(nsenter.state_dir(), rootlesskit.state_dir());
        }
        let env = lookup(&[("XDG_CONFIG_HOME", "/c")]);
        assert_eq!(
            dirs().with_env(&env).env_file(),
            Path::new("/c/usernetes/env")
        );
    }

    #[test]
    fn env_file_errors_are_one_line_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("u7s-layout-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing");
        let e = load_env_file(&missing).unwrap_err().to_string();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        assert!(!e.contains('\n'));
        let bad = dir.join("bad");
        std::fs::write(&bad, "U7S_KUBEVERSION='v1.26.3'\nU7S_UID=\"x\"\n").unwrap();
        let e = load_env_file(&bad).unwrap_err().to_string();
        assert!(e.contains(&bad.display().to_string()), "{e}");
        assert!(!e.contains('\n'));
        let good = dir.join("good");
        std::fs::write(&good, crate::settings::envfile::fixture::text("initMaster")).unwrap();
        assert_eq!(
            load_env_file(&good).unwrap(),
            crate::settings::envfile::fixture::env_file("initMaster")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
