//! The CRI-O role (`u7s crio`, the rootlesskit child's command): crio.conf for
//! the rootless paths as typed data, rendered to TOML, then the real crio.
//!
//! Differences from the reference `crio.sh`: the file is written atomically;
//! only a registry under `.local` (the podsec local registry, plain HTTP) is
//! marked insecure, so a public registry's TLS is never switched off; the
//! crun state lives under `usernetes/` like the rest.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use super::toml::Table;
use crate::layout::AdminDirs;
use crate::settings::EnvFile;

/// The conmon and crun binaries crio.conf names (`U7S_CONMON`, `U7S_CRUN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeTools {
    pub conmon: PathBuf,
    pub crun: PathBuf,
}

impl Default for RuntimeTools {
    fn default() -> Self {
        RuntimeTools {
            conmon: "/usr/bin/conmon".into(),
            crun: "/usr/bin/crun".into(),
        }
    }
}

impl RuntimeTools {
    /// Defaults, replaced by absolute `U7S_CONMON` / `U7S_CRUN` values.
    pub fn new(env: impl Fn(&str) -> Option<OsString>) -> RuntimeTools {
        let pick = |var: &str, default: PathBuf| {
            env(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or(default)
        };
        let d = RuntimeTools::default();
        RuntimeTools {
            conmon: pick("U7S_CONMON", d.conmon),
            crun: pick("U7S_CRUN", d.crun),
        }
    }
}

/// crio.conf, typed: every value u7s sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrioConfig {
    pub runroot: PathBuf,
    pub root: PathBuf,
    pub version_file: PathBuf,
    pub storage_driver: String,
    pub listen: PathBuf,
    pub signature_policy: PathBuf,
    pub pause_image: String,
    pub insecure_registries: Vec<String>,
    pub conmon: PathBuf,
    pub conmon_cgroup: String,
    pub hooks_dir: PathBuf,
    pub container_exits_dir: PathBuf,
    pub container_attach_socket_dir: PathBuf,
    pub namespaces_dir: PathBuf,
    pub cgroup_manager: String,
    pub default_runtime: String,
    pub runtime_path: PathBuf,
    pub runtime_root: PathBuf,
    pub network_dir: PathBuf,
    pub plugin_dirs: Vec<PathBuf>,
}

/// True for a registry host under `.local` (`registry.local`, `registry.local:5000`).
pub fn is_local_registry(registry: &str) -> bool {
    let host = registry.split('/').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host == "local" || host.ends_with(".local")
}

fn text(p: &Path) -> Result<String> {
    p.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{}", crate::tr!("not-utf8", p.display())))
}

impl CrioConfig {
    pub fn rootless(dirs: &AdminDirs, env: &EnvFile, tools: &RuntimeTools) -> CrioConfig {
        let run = dirs.runtime();
        let data = dirs.data();
        let crio_run = dirs.crio_runtime_dir();
        CrioConfig {
            runroot: run.join("containers/storage"),
            root: data.join("containers/storage"),
            version_file: crio_run.join("version"),
            storage_driver: "overlay".into(),
            listen: dirs.crio_socket(),
            signature_policy: "/etc/containers/policy.json".into(),
            pause_image: format!("{}/{}", env.registry, env.pause_image),
            insecure_registries: if is_local_registry(&env.registry) {
                vec![env.registry.clone()]
            } else {
                Vec::new()
            },
            conmon: tools.conmon.clone(),
            conmon_cgroup: "pod".into(),
            hooks_dir: data.join("containers/oci/hooks.d"),
            container_exits_dir: crio_run.join("exits"),
            container_attach_socket_dir: crio_run.clone(),
            namespaces_dir: crio_run.join("ns"),
            cgroup_manager: "cgroupfs".into(),
            default_runtime: "crun".into(),
            runtime_path: tools.crun.clone(),
            runtime_root: run.join("crun"),
            network_dir: "/etc/cni/net.d/".into(),
            plugin_dirs: vec!["/opt/cni/bin/".into()],
        }
    }

    /// The TOML document.
    pub fn to_toml(&self) -> Result<Table> {
        let mut doc = Table::new();
        let crio = doc.table("crio");
        crio.set("runroot", text(&self.runroot)?)
            .set("root", text(&self.root)?)
            .set("version_file", text(&self.version_file)?)
            .set("storage_driver", self.storage_driver.as_str());
        crio.table("api").set("listen", text(&self.listen)?);
        crio.table("image")
            .set("signature_policy", text(&self.signature_policy)?)
            .set("pause_image", self.pause_image.as_str())
            .set("insecure_registries", self.insecure_registries.clone());
        let runtime = crio.table("runtime");
        runtime
            .set("conmon", text(&self.conmon)?)
            .set("conmon_cgroup", self.conmon_cgroup.as_str())
            .set("hooks_dir", vec![text(&self.hooks_dir)?])
            .set("container_exits_dir", text(&self.container_exits_dir)?)
            .set(
                "container_attach_socket_dir",
                text(&self.container_attach_socket_dir)?,
            )
            .set("namespaces_dir", text(&self.namespaces_dir)?)
            .set("cgroup_manager", self.cgroup_manager.as_str())
            .set("default_runtime", self.default_runtime.as_str());
        runtime
            .table("runtimes")
            .table(&self.default_runtime)
            .set("runtime_path", text(&self.runtime_path)?)
            .set("runtime_root", text(&self.runtime_root)?);
        let plugin_dirs = self
            .plugin_dirs
            .iter()
            .map(|p| text(p))
            .collect::<Result<Vec<_>>>()?;
        crio.table("network")
            .set("network_dir", text(&self.network_dir)?)
            .set("plugin_dirs", plugin_dirs);
        Ok(doc)
    }

    pub fn render(&self) -> Result<String> {
        Ok(format!(
            "# Written by u7s crio at every start; edits are lost.\n{}",
            self.to_toml()?.render()
        ))
    }

    /// Directories crio expects to exist (the socket's among them).
    pub fn dirs_to_create(&self) -> Vec<PathBuf> {
        let mut dirs = vec![
            self.runroot.clone(),
            self.root.clone(),
            self.hooks_dir.clone(),
            self.container_exits_dir.clone(),
            self.namespaces_dir.clone(),
            self.runtime_root.clone(),
        ];
        if let Some(parent) = self.listen.parent() {
            dirs.push(parent.to_path_buf());
        }
        dirs
    }
}

/// The real crio's arguments: our config first, then the caller's.
pub fn crio_args(config: &Path, extra: Vec<OsString>) -> Vec<OsString> {
    let mut args = vec![OsString::from("--config"), config.as_os_str().to_owned()];
    args.extend(extra);
    args
}

/// What crio needs in its environment to run rootless in the user namespace.
pub fn crio_env(uid: u32) -> Vec<(OsString, OsString)> {
    vec![
        ("_CRIO_ROOTLESS".into(), "1".into()),
        ("_CONTAINERS_ROOTLESS_UID".into(), uid.to_string().into()),
        ("_CONTAINERS_USERNS_CONFIGURED".into(), "1".into()),
    ]
}

/// Creates the directories and writes crio.conf (0644, atomically).
pub fn prepare(config: &CrioConfig, path: &Path) -> Result<()> {
    use anyhow::Context;
    let mut dirs = config.dirs_to_create();
    if let Some(parent) = path.parent() {
        dirs.push(parent.to_path_buf());
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir)
            .with_context(|| crate::tr!("cannot-create", dir.display()))?;
    }
    crate::settings::envfile::write_atomic(path, config.render()?.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::admin::tests::dirs;

    fn env_file() -> crate::settings::EnvFile {
        crate::settings::envfile::fixture::env_file("initMaster")
    }
    use crate::stack::toml::Value;

    fn config() -> CrioConfig {
        CrioConfig::rootless(&dirs(), &env_file(), &RuntimeTools::default())
    }

    fn s(v: Option<&Value>) -> &str {
        match v {
            Some(Value::Str(s)) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn rootless_paths_live_under_the_admin_xdg_dirs() {
        let doc = config().to_toml().unwrap();
        let crio = doc.get_table("crio").unwrap();
        assert_eq!(
            s(crio.get("runroot")),
            "/run/user/989/usernetes/containers/storage"
        );
        assert_eq!(
            s(crio.get("root")),
            "/var/lib/u7s-admin/.local/share/usernetes/containers/storage"
        );
        assert_eq!(
            s(crio.get_table("api").unwrap().get("listen")),
            "/run/user/989/usernetes/crio/crio.sock"
        );
        let runtime = crio.get_table("runtime").unwrap();
        assert_eq!(s(runtime.get("cgroup_manager")), "cgroupfs");
        assert_eq!(s(runtime.get("conmon")), "/usr/bin/conmon");
        assert_eq!(s(runtime.get("default_runtime")), "crun");
        let crun = runtime
            .get_table("runtimes")
            .and_then(|t| t.get_table("crun"))
            .unwrap();
        assert_eq!(s(crun.get("runtime_path")), "/usr/bin/crun");
        let image = crio.get_table("image").unwrap();
        assert_eq!(
            s(image.get("pause_image")),
            "registry.local/k8s-p10/pause:3.9"
        );
        assert_eq!(
            image.get("insecure_registries"),
            Some(&Value::Array(vec![Value::Str("registry.local".into())]))
        );
        let net = crio.get_table("network").unwrap();
        assert_eq!(s(net.get("network_dir")), "/etc/cni/net.d/");
    }

    #[test]
    fn only_local_registries_are_insecure() {
        assert!(is_local_registry("registry.local"));
        assert!(is_local_registry("registry.local:5000"));
        assert!(!is_local_registry("registry.altlinux.org"));
        assert!(!is_local_registry("registry.k8s.io"));
        assert!(!is_local_registry("notlocal"));
        let mut env = env_file();
        env.registry = "registry.altlinux.org".into();
        let c = CrioConfig::rootless(&dirs(), &env, &RuntimeTools::default());
        assert!(c.insecure_registries.is_empty());
        assert_eq!(c.pause_image, "registry.altlinux.org/k8s-p10/pause:3.9");
    }

    #[test]
    fn tool_overrides_must_be_absolute() {
        let t = RuntimeTools::new(|k| match k {
            "U7S_CONMON" => Some("/opt/conmon".into()),
            "U7S_CRUN" => Some("crun".into()),
            _ => None,
        });
        assert_eq!(t.conmon, PathBuf::from("/opt/conmon"));
        assert_eq!(t.crun, PathBuf::from("/usr/bin/crun"));
    }

    #[test]
    fn render_has_the_sections_crio_reads() {
        let text = config().render().unwrap();
        for section in [
            "[crio]",
            "[crio.api]",
            "[crio.image]",
            "[crio.runtime]",
            "[crio.runtime.runtimes.crun]",
            "[crio.network]",
        ] {
            assert!(text.lines().any(|l| l == section), "{section}\n{text}");
        }
        assert!(text.contains("plugin_dirs = [\"/opt/cni/bin/\"]"));
        assert!(text.contains(
            "hooks_dir = [\"/var/lib/u7s-admin/.local/share/usernetes/containers/oci/hooks.d\"]"
        ));
    }

    #[test]
    fn args_and_env() {
        assert_eq!(
            crio_args(
                Path::new("/c/crio.conf"),
                vec!["--log-level".into(), "debug".into()]
            ),
            ["--config", "/c/crio.conf", "--log-level", "debug"]
        );
        let env = crio_env(989);
        assert!(env.contains(&("_CRIO_ROOTLESS".into(), "1".into())));
        assert!(env.contains(&("_CONTAINERS_ROOTLESS_UID".into(), "989".into())));
    }

    #[test]
    fn prepare_writes_the_file_and_dirs() {
        let base = std::env::temp_dir().join(format!("u7s-crio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let d = dirs().with_env(&|k: &str| {
            let sub = match k {
                "XDG_RUNTIME_DIR" => "run",
                "XDG_CONFIG_HOME" => "config",
                "XDG_DATA_HOME" => "data",
                _ => return None,
            };
            Some(base.join(sub).into_os_string())
        });
        let c = CrioConfig::rootless(&d, &env_file(), &RuntimeTools::default());
        prepare(&c, &d.crio_config()).unwrap();
        let written = std::fs::read_to_string(d.crio_config()).unwrap();
        assert_eq!(written, c.render().unwrap());
        assert!(d.crio_runtime_dir().is_dir());
        assert!(c.root.is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
