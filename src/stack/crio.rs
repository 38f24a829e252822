//! The CRI-O role (`u7s crio`, the rootlesskit child's command): crio.conf for
//! the rootless paths as typed data, rendered to TOML by the toml crate, then
//! the real crio.
//!
//! Differences from the reference `crio.sh`: the file is written atomically;
//! only a registry under `.local` (the podsec local registry, plain HTTP) is
//! marked insecure, so a public registry's TLS is never switched off; the
//! crun state lives under `usernetes/` like the rest.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde::Serialize;

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

    /// The document crio reads, with every path checked to be text.
    fn file(&self) -> Result<CrioFile> {
        let paths = |list: &[PathBuf]| list.iter().map(|p| text(p)).collect::<Result<Vec<_>>>();
        let handler = RuntimeHandler {
            runtime_path: text(&self.runtime_path)?,
            runtime_root: text(&self.runtime_root)?,
        };
        Ok(CrioFile {
            crio: CrioTable {
                runroot: text(&self.runroot)?,
                root: text(&self.root)?,
                version_file: text(&self.version_file)?,
                storage_driver: self.storage_driver.clone(),
                api: ApiTable {
                    listen: text(&self.listen)?,
                },
                image: ImageTable {
                    signature_policy: text(&self.signature_policy)?,
                    pause_image: self.pause_image.clone(),
                    insecure_registries: self.insecure_registries.clone(),
                },
                runtime: RuntimeTable {
                    conmon: text(&self.conmon)?,
                    conmon_cgroup: self.conmon_cgroup.clone(),
                    hooks_dir: vec![text(&self.hooks_dir)?],
                    container_exits_dir: text(&self.container_exits_dir)?,
                    container_attach_socket_dir: text(&self.container_attach_socket_dir)?,
                    namespaces_dir: text(&self.namespaces_dir)?,
                    cgroup_manager: self.cgroup_manager.clone(),
                    default_runtime: self.default_runtime.clone(),
                    runtimes: BTreeMap::from([(self.default_runtime.clone(), handler)]),
                },
                network: NetworkTable {
                    network_dir: text(&self.network_dir)?,
                    plugin_dirs: paths(&self.plugin_dirs)?,
                },
            },
        })
    }

    pub fn render(&self) -> Result<String> {
        Ok(format!(
            "# Written by u7s crio at every start; edits are lost.\n{}",
            toml::to_string(&self.file()?)?
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

// crio.conf's tables and keys as crio reads them (crio's own
// `[crio.runtime.runtimes.<name>]` handler table included), in the order
// they are written.

#[derive(Serialize)]
struct CrioFile {
    crio: CrioTable,
}

#[derive(Serialize)]
struct CrioTable {
    runroot: String,
    root: String,
    version_file: String,
    storage_driver: String,
    api: ApiTable,
    image: ImageTable,
    runtime: RuntimeTable,
    network: NetworkTable,
}

#[derive(Serialize)]
struct ApiTable {
    listen: String,
}

#[derive(Serialize)]
struct ImageTable {
    signature_policy: String,
    pause_image: String,
    insecure_registries: Vec<String>,
}

#[derive(Serialize)]
struct RuntimeTable {
    conmon: String,
    conmon_cgroup: String,
    hooks_dir: Vec<String>,
    container_exits_dir: String,
    container_attach_socket_dir: String,
    namespaces_dir: String,
    cgroup_manager: String,
    default_runtime: String,
    runtimes: BTreeMap<String, RuntimeHandler>,
}

#[derive(Serialize)]
struct RuntimeHandler {
    runtime_path: String,
    runtime_root: String,
}

#[derive(Serialize)]
struct NetworkTable {
    network_dir: String,
    plugin_dirs: Vec<String>,
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

    fn config() -> CrioConfig {
        CrioConfig::rootless(&dirs(), &env_file(), &RuntimeTools::default())
    }

    /// crio.conf as a TOML parser reads it back.
    fn parsed(config: &CrioConfig) -> toml::Table {
        toml::from_str(&config.render().unwrap()).unwrap()
    }

    /// The value at `path` (tables, then the key).
    fn at<'a>(doc: &'a toml::Table, path: &[&str]) -> &'a toml::Value {
        let (key, tables) = path.split_last().unwrap();
        let table = tables.iter().fold(doc, |t, name| {
            t[*name]
                .as_table()
                .unwrap_or_else(|| panic!("{name} is no table"))
        });
        &table[*key]
    }

    fn s<'a>(doc: &'a toml::Table, path: &[&str]) -> &'a str {
        at(doc, path)
            .as_str()
            .unwrap_or_else(|| panic!("{path:?} is no string"))
    }

    #[test]
    fn rootless_paths_live_under_the_admin_xdg_dirs() {
        let doc = parsed(&config());
        assert_eq!(
            s(&doc, &["crio", "runroot"]),
            "/run/user/989/usernetes/containers/storage"
        );
        assert_eq!(
            s(&doc, &["crio", "root"]),
            "/var/lib/u7s-admin/.local/share/usernetes/containers/storage"
        );
        assert_eq!(
            s(&doc, &["crio", "api", "listen"]),
            "/run/user/989/usernetes/crio/crio.sock"
        );
        assert_eq!(s(&doc, &["crio", "runtime", "cgroup_manager"]), "cgroupfs");
        assert_eq!(s(&doc, &["crio", "runtime", "conmon"]), "/usr/bin/conmon");
        assert_eq!(s(&doc, &["crio", "runtime", "default_runtime"]), "crun");
        assert_eq!(
            s(
                &doc,
                &["crio", "runtime", "runtimes", "crun", "runtime_path"]
            ),
            "/usr/bin/crun"
        );
        assert_eq!(
            s(&doc, &["crio", "image", "pause_image"]),
            "registry.local/k8s-p10/pause:3.9"
        );
        assert_eq!(
            at(&doc, &["crio", "image", "insecure_registries"]),
            &toml::Value::Array(vec!["registry.local".into()])
        );
        assert_eq!(
            s(&doc, &["crio", "network", "network_dir"]),
            "/etc/cni/net.d/"
        );
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

    /// crio.conf as the hand-written TOML writer rendered it before the toml
    /// crate took over (tests/golden/crio.conf); `UPDATE_GOLDEN=1` rewrites it
    /// after a deliberate change.
    #[test]
    fn render_is_the_golden_crio_conf() {
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/crio.conf");
        let text = config().render().unwrap();
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &text).unwrap();
        }
        assert_eq!(text, std::fs::read_to_string(&golden).unwrap());
    }

    /// Values with quotes, backslashes, control characters and TOML syntax
    /// read back unchanged, by the toml crate and by Python's tomllib (an
    /// independent TOML parser, as crio's Go parser is).
    #[test]
    fn hostile_strings_read_back_unchanged() {
        let hostile = "q\"uote\\back\nnew\ttab\u{1}ctl \u{7f} ü [x] = # ''' \"\"\"";
        let mut c = config();
        c.pause_image = hostile.into();
        c.insecure_registries = vec![hostile.into(), "registry.local".into()];
        c.runroot = PathBuf::from(format!("/run/{hostile}"));
        let text = c.render().unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(s(&doc, &["crio", "image", "pause_image"]), hostile);
        assert_eq!(
            s(&doc, &["crio", "runroot"]),
            format!("/run/{hostile}"),
            "{text}"
        );

        let probe = std::process::Command::new("python3")
            .args(["-c", "import tomllib"])
            .output();
        if !matches!(probe, Ok(ref o) if o.status.success()) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and python3 with tomllib is missing"
            );
            eprintln!("SKIPPED: python3 with tomllib is not available");
            return;
        }
        let script =
            "import sys, tomllib, json; print(json.dumps(tomllib.loads(sys.stdin.read())))";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "tomllib refused:\n{text}");
        let python: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(python, serde_json::to_value(&doc).unwrap());
    }

    #[test]
    fn paths_that_are_not_text_are_refused_by_name() {
        use std::os::unix::ffi::OsStrExt;
        let mut c = config();
        c.hooks_dir = PathBuf::from(std::ffi::OsStr::from_bytes(b"/hooks\xff"));
        let e = c.render().unwrap_err().to_string();
        assert!(e.contains("/hooks"), "{e}");
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
