//! Where the roles keep things: u7s-admin's XDG directories, the CRI-O socket,
//! and the env file they read their settings from.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::settings::EnvFile;
use crate::users::AdminUser;

/// u7s-admin's directories as a role sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDirs {
    pub uid: u32,
    pub home: PathBuf,
    /// `XDG_RUNTIME_DIR`, default `/run/user/<uid>`.
    pub runtime_dir: PathBuf,
    /// `XDG_CONFIG_HOME`, default `~/.config`.
    pub config_home: PathBuf,
    /// `XDG_DATA_HOME`, default `~/.local/share`.
    pub data_home: PathBuf,
}

impl RoleDirs {
    /// The directories of `admin`, with the XDG variables `env` gives when they
    /// are absolute paths (the XDG rule: relative values are ignored).
    pub fn new(admin: &AdminUser, env: impl Fn(&str) -> Option<OsString>) -> RoleDirs {
        let xdg = |var: &str, default: PathBuf| {
            env(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or(default)
        };
        RoleDirs {
            uid: admin.uid.as_raw(),
            home: admin.home.clone(),
            runtime_dir: xdg("XDG_RUNTIME_DIR", admin.runtime_dir()),
            config_home: xdg("XDG_CONFIG_HOME", admin.home.join(".config")),
            data_home: xdg("XDG_DATA_HOME", admin.home.join(".local/share")),
        }
    }

    /// From this process's environment.
    pub fn from_env(admin: &AdminUser) -> RoleDirs {
        RoleDirs::new(admin, |k| std::env::var_os(k))
    }

    /// `$XDG_RUNTIME_DIR/usernetes`.
    pub fn runtime(&self) -> PathBuf {
        self.runtime_dir.join("usernetes")
    }

    /// `$XDG_CONFIG_HOME/usernetes`.
    pub fn config(&self) -> PathBuf {
        self.config_home.join("usernetes")
    }

    /// `$XDG_DATA_HOME/usernetes`.
    pub fn data(&self) -> PathBuf {
        self.data_home.join("usernetes")
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
}

/// `U7S_ENV_FILE`, else `~u7s-admin/.config/usernetes/env`.
pub fn env_file_path(admin: &AdminUser, override_value: Option<OsString>) -> PathBuf {
    match override_value.filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(crate::flow::paths::admin_env_file(
            &admin.home.to_string_lossy(),
        )),
    }
}

/// Reads the env file; the error is one line that names the file.
pub fn load_env_file(path: &Path) -> Result<EnvFile, String> {
    EnvFile::read(path).map_err(|e| {
        let text = format!("{e:#}");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.contains(&path.display().to_string()) {
            crate::tr!("env-file-prefix", text)
        } else {
            crate::tr!("env-file-error", path.display(), text)
        }
    })
}

/// The admin account, its directories and the env file of this process: what
/// every role starts with. Errors are logged; the status to exit with is returned.
pub fn role_context() -> Result<(AdminUser, RoleDirs, EnvFile), i32> {
    let admin = AdminUser::lookup().map_err(|e| {
        tracing::error!("{e:#}");
        1
    })?;
    let dirs = RoleDirs::from_env(&admin);
    let path = env_file_path(&admin, std::env::var_os("U7S_ENV_FILE"));
    let env = load_env_file(&path).map_err(|e| {
        tracing::error!("{e}");
        1
    })?;
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

    pub fn dirs() -> RoleDirs {
        RoleDirs::new(&admin(), |_| None)
    }

    /// An env file as `u7s kubeadm init` writes it.
    pub const ENV_TEXT: &str = "\
U7S_KUBEVERSION='v1.26.3'
U7S_KUBEADMFLAGS=''
U7S_PLATFORM='k8s-p10'
U7S_REGISTRY='registry.local'
U7S_REGISTRY_PLATFORM='registry.local/k8s-p10'
U7S_FLANNEL_REGISTRY='registry.local/k8s-p10'
U7S_FLANNEL_TAG=''
U7S_IMAGES='k8s-p10/pause:3.9'
U7S_PAUSE_IMAGE='k8s-p10/pause:3.9'
U7S_UID='989'
U7S_EXTIP='192.0.2.2'
U7S_APISERVER_ADVERTISE_ADDRESS='192.0.2.2'
U7S_APISERVER_BIND_PORT='6443'
U7S_EXTDEV='eth0'
U7S_CONTROLPLANE='initMaster'
U7S_APISERVERENDPOINT='192.0.2.2:6443'
U7S_TOKEN=''
U7S_CACERTHASH=''
U7S_CERIFICATEKEY=''
U7S_SERVICECIDR='10.96.0.0/12'
U7S_PODNETWORKCIDR='10.244.0.0/16'
U7S_CNI_PLUGIN='flannel'
";

    pub fn env_file() -> EnvFile {
        EnvFile::parse(ENV_TEXT).unwrap()
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
    }

    #[test]
    fn absolute_xdg_variables_win_relative_ones_are_ignored() {
        let d = RoleDirs::new(&admin(), |k| match k {
            "XDG_RUNTIME_DIR" => Some("/tmp/rt".into()),
            "XDG_DATA_HOME" => Some("relative/data".into()),
            _ => None,
        });
        assert_eq!(d.runtime_dir, PathBuf::from("/tmp/rt"));
        assert_eq!(
            d.data_home,
            PathBuf::from("/var/lib/u7s-admin/.local/share")
        );
    }

    #[test]
    fn env_file_path_rule() {
        assert_eq!(
            env_file_path(&admin(), None),
            PathBuf::from("/var/lib/u7s-admin/.config/usernetes/env")
        );
        assert_eq!(
            env_file_path(&admin(), Some("".into())),
            PathBuf::from("/var/lib/u7s-admin/.config/usernetes/env")
        );
        assert_eq!(
            env_file_path(&admin(), Some("/etc/x/env".into())),
            PathBuf::from("/etc/x/env")
        );
    }

    #[test]
    fn env_file_errors_are_one_line_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("u7s-roles-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing");
        let e = load_env_file(&missing).unwrap_err();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        assert!(!e.contains('\n'));
        let bad = dir.join("bad");
        std::fs::write(&bad, "U7S_KUBEVERSION='v1.26.3'\nU7S_UID=\"x\"\n").unwrap();
        let e = load_env_file(&bad).unwrap_err();
        assert!(e.contains(&bad.display().to_string()), "{e}");
        assert!(!e.contains('\n'));
        let good = dir.join("good");
        std::fs::write(&good, ENV_TEXT).unwrap();
        assert_eq!(load_env_file(&good).unwrap(), env_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
