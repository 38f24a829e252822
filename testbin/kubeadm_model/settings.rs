//! The model's own settings (`kubeadm-model.conf` beside the executable,
//! `KUBEADM_MODEL_*` over it), the root prefix, and the call records.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::versions::Version;

pub const CONF_NAME: &str = "kubeadm-model.conf";

pub struct Model {
    pub version: Version,
    pub root: PathBuf,
    pub records: Option<PathBuf>,
    pub cluster: PathBuf,
    pub openssl: PathBuf,
    pub probe_endpoint: bool,
    pub hostname: Option<String>,
    /// The registry's contents (`registry.rs`), if there is one.
    pub registry: Option<PathBuf>,
    /// A test hook, not kubeadm: a script run with `sh` after a successful
    /// `init` or `join` (see [`Model::after_success`]).
    pub after_success: Option<PathBuf>,
}

fn parse_conf(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

impl Model {
    pub fn load() -> Result<Model, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
        let dir = exe.parent().unwrap_or(Path::new("/")).to_path_buf();
        let conf_path = dir.join(CONF_NAME);
        let mut conf = match std::fs::read_to_string(&conf_path) {
            Ok(text) => parse_conf(&text),
            Err(_) => BTreeMap::new(),
        };
        for (key, value) in std::env::vars() {
            if let Some(k) = key.strip_prefix("KUBEADM_MODEL_") {
                conf.insert(k.to_lowercase(), value);
            }
        }
        let version_text = conf.get("version").cloned().ok_or_else(|| {
            format!(
                "no version to model: write version=v1.31.2 into {} or set KUBEADM_MODEL_VERSION",
                conf_path.display()
            )
        })?;
        let version = Version::parse(&version_text)?;
        let path = |key: &str, default: PathBuf| {
            conf.get(key)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(default)
        };
        Ok(Model {
            version,
            root: path("root", PathBuf::from("/")),
            records: conf
                .get("records")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cluster: path("cluster", dir.join("cluster")),
            openssl: path("openssl", PathBuf::from("/usr/bin/openssl")),
            probe_endpoint: conf.get("probe_endpoint").map(String::as_str) == Some("true"),
            hostname: conf.get("hostname").filter(|v| !v.is_empty()).cloned(),
            registry: conf
                .get("registry")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            after_success: conf
                .get("after_success")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        })
    }

    /// Where kubeadm's path `p` is: absolute paths under the root prefix,
    /// relative ones against the working directory.
    pub fn host(&self, p: &str) -> PathBuf {
        match p.strip_prefix('/') {
            Some(rest) => self.root.join(rest),
            None => PathBuf::from(p),
        }
    }

    /// Runs the test hook `after_success=SCRIPT` (main.rs says why): `sh
    /// SCRIPT` as the caller, with `U7S_ROOT` set to the root prefix; its
    /// failure is an error.
    pub fn after_success(&self) -> Result<(), String> {
        let Some(script) = &self.after_success else {
            return Ok(());
        };
        let status = std::process::Command::new("sh")
            .arg(script)
            .env("U7S_ROOT", &self.root)
            .status()
            .map_err(|e| {
                format!(
                    "cannot run the after_success hook {}: {e}",
                    script.display()
                )
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "the after_success hook {} failed: {status}",
                script.display()
            ))
        }
    }

    /// The node name kubeadm takes when the configuration names none.
    pub fn hostname(&self) -> String {
        if let Some(h) = &self.hostname {
            return h.to_lowercase();
        }
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().trim().to_lowercase())
            .unwrap_or_else(|_| "localhost".into())
    }
}

/// One call's record block, written as the call goes (a killed call still
/// leaves its argv).
pub struct Record {
    file: Option<std::fs::File>,
}

impl Record {
    /// A call's block in `<records>/<tool>` (`kubeadm`, `skopeo`, `crictl`).
    pub fn start(model: &Model, tool: &str, args: &[String]) -> Record {
        // Calls come from root on the host and from u7s-admin inside the
        // namespaces: the record is open to both.
        let file = model.records.as_ref().and_then(|dir| {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o666)
                .open(dir.join(tool))
                .ok()?;
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
            Some(file)
        });
        let mut record = Record { file };
        let net = std::fs::read_link("/proc/self/ns/net")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut block = format!(
            "call uid={} euid={} net={net} cwd={cwd} version={}\n",
            nix::unistd::getuid(),
            nix::unistd::geteuid(),
            model.version.text
        );
        for a in args {
            // One line per argument: backslashes and newlines escaped.
            let escaped = a.replace('\\', "\\\\").replace('\n', "\\n");
            block.push_str(&format!("  [{escaped}]\n"));
        }
        record.write(&block);
        record
    }

    fn write(&mut self, text: &str) {
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// Something the call did that tests may assert (`pulled IMAGE`, ...).
    pub fn event(&mut self, what: &str, detail: &str) {
        self.write(&format!("  {what} {detail}\n"));
    }

    pub fn finish(&mut self, code: i32) {
        self.write(&format!("exit {code}\n"));
    }
}
