//! The real upstream tools: found by absolute path, never by a PATH search.
//!
//! A PATH search could find this very binary again (the admin puts the u7s bin
//! folder first on PATH), so each tool has a fixed default under /usr/bin and an
//! environment override for tests and odd hosts. Two guards stop loops: the
//! resolved program must not be this binary, and a depth counter passed through
//! the environment stops a chain of shims calling shims.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// How many real-tool execs may nest through u7s before we call it a loop.
/// nsenter_u7s -> kubectl shim -> real kubectl is 2; 8 leaves room for honest use.
pub const MAX_DEPTH: u32 = 8;
pub const DEPTH_VAR: &str = "U7S_SHIM_DEPTH";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Kubeadm,
    Kubectl,
    Rootlessctl,
    Rootlesskit,
    Slirp4netns,
    Kubelet,
    Crio,
    Crun,
    Conmon,
    /// cri-tools' CRI client: pulls the CNI plugin's images into CRI-O.
    Crictl,
    /// Lists a registry's tags before anything is pulled (the reference's
    /// check, and its package's requirement).
    Skopeo,
    Newuidmap,
    Newgidmap,
    Systemctl,
    /// iproute2's `ip`, in /sbin on ALT (and through the /usr merge elsewhere).
    Ip,
    /// shadow's account tools and logind's client, to create u7s-admin.
    Useradd,
    Groupadd,
    Loginctl,
}

/// The real tools a node needs, in the order preflight reports them.
pub const NODE_TOOLS: [Tool; 12] = [
    Tool::Rootlesskit,
    Tool::Slirp4netns,
    Tool::Newuidmap,
    Tool::Newgidmap,
    Tool::Kubeadm,
    Tool::Kubelet,
    Tool::Crio,
    Tool::Crun,
    Tool::Conmon,
    Tool::Kubectl,
    Tool::Crictl,
    Tool::Skopeo,
];

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kubeadm => "kubeadm",
            Tool::Kubectl => "kubectl",
            Tool::Rootlessctl => "rootlessctl",
            Tool::Rootlesskit => "rootlesskit",
            Tool::Slirp4netns => "slirp4netns",
            Tool::Kubelet => "kubelet",
            Tool::Crio => "crio",
            Tool::Crun => "crun",
            Tool::Conmon => "conmon",
            Tool::Crictl => "crictl",
            Tool::Skopeo => "skopeo",
            Tool::Newuidmap => "newuidmap",
            Tool::Newgidmap => "newgidmap",
            Tool::Systemctl => "systemctl",
            Tool::Ip => "ip",
            Tool::Useradd => "useradd",
            Tool::Groupadd => "groupadd",
            Tool::Loginctl => "loginctl",
        }
    }

    /// The environment variable that overrides the path, e.g. `U7S_KUBEADM`.
    pub fn env_var(self) -> String {
        format!("U7S_{}", self.name().to_ascii_uppercase())
    }

    pub fn default_path(self) -> PathBuf {
        match self {
            Tool::Ip => return PathBuf::from("/sbin/ip"),
            Tool::Useradd | Tool::Groupadd => {
                return Path::new("/usr/sbin").join(self.name());
            }
            _ => {}
        }
        Path::new("/usr/bin").join(self.name())
    }
}

/// Why a real tool cannot be used. Each maps onto the shell's conventional status.
#[derive(Debug, PartialEq, Eq)]
pub enum ToolError {
    NotAbsolute {
        var: String,
        value: String,
    },
    Missing {
        tool: &'static str,
        path: PathBuf,
        var: String,
    },
    NotExecutable {
        tool: &'static str,
        path: PathBuf,
    },
    IsSelf {
        tool: &'static str,
        path: PathBuf,
        var: String,
    },
    TooDeep {
        depth: u32,
    },
}

impl ToolError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ToolError::NotExecutable { .. } => 126,
            _ => 127,
        }
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::NotAbsolute { var, value } => {
                f.write_str(&crate::tr!("tool-not-absolute", var, format!("{value:?}")))
            }
            ToolError::Missing { tool, path, var } => {
                f.write_str(&crate::tr!("tool-missing", tool, path.display(), var))
            }
            ToolError::NotExecutable { tool, path } => {
                f.write_str(&crate::tr!("tool-not-executable", tool, path.display()))
            }
            ToolError::IsSelf { tool, path, var } => {
                f.write_str(&crate::tr!("tool-is-self", path.display(), tool, var))
            }
            ToolError::TooDeep { depth } => {
                f.write_str(&crate::tr!("tool-too-deep", depth, DEPTH_VAR))
            }
        }
    }
}

impl std::error::Error for ToolError {}

/// Resolves the real tool from an override value (if any), checking that it is
/// an existing executable file that is not `self_exe`.
pub fn resolve_with(
    tool: Tool,
    override_value: Option<&OsStr>,
    self_exe: Option<&Path>,
) -> Result<PathBuf, ToolError> {
    let var = tool.env_var();
    let path = match override_value.filter(|v| !v.is_empty()) {
        Some(value) => {
            let path = PathBuf::from(value);
            if !path.is_absolute() {
                return Err(ToolError::NotAbsolute {
                    var,
                    value: value.to_string_lossy().into_owned(),
                });
            }
            path
        }
        None => tool.default_path(),
    };
    let meta = std::fs::metadata(&path).map_err(|_| ToolError::Missing {
        tool: tool.name(),
        path: path.clone(),
        var: var.clone(),
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(ToolError::NotExecutable {
            tool: tool.name(),
            path,
        });
    }
    if let (Some(me), Ok(target)) = (self_exe, std::fs::canonicalize(&path)) {
        if std::fs::canonicalize(me)
            .map(|me| me == target)
            .unwrap_or(false)
        {
            return Err(ToolError::IsSelf {
                tool: tool.name(),
                path,
                var,
            });
        }
    }
    Ok(path)
}

/// Resolves the real tool from this process's environment.
pub fn resolve(tool: Tool) -> Result<PathBuf, ToolError> {
    let value = std::env::var_os(tool.env_var());
    let me = std::env::current_exe().ok();
    resolve_with(tool, value.as_deref(), me.as_deref())
}

/// The nesting depth this process was started at, and the guard against loops.
pub fn next_depth() -> Result<u32, ToolError> {
    let depth = std::env::var(DEPTH_VAR)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if depth >= MAX_DEPTH {
        return Err(ToolError::TooDeep { depth });
    }
    Ok(depth + 1)
}

/// The ALT package that installs `tool`. Kubernetes comes per minor version
/// (`kubernetes1.31-kubeadm`, `-kubelet`, `-client`, `-crio`, as podsec-k8s
/// installs them); with no minor known, `1.NN` stands for it.
pub fn alt_package(tool: &str, minor: Option<u32>) -> String {
    let kube = |suffix: &str| match minor {
        Some(m) => format!("kubernetes1.{m}-{suffix}"),
        None => format!("kubernetes1.NN-{suffix}"),
    };
    match tool {
        "kubeadm" => kube("kubeadm"),
        "kubelet" => kube("kubelet"),
        "kubectl" => kube("client"),
        "crio" => kube("crio"),
        "newuidmap" | "newgidmap" => "shadow-submap".into(),
        "useradd" | "groupadd" => "shadow-utils".into(),
        "systemctl" | "loginctl" => "systemd".into(),
        "rootlessctl" => "rootlesskit".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("u7s-tools-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn executable(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn alt_packages_per_minor() {
        assert_eq!(alt_package("kubeadm", Some(31)), "kubernetes1.31-kubeadm");
        assert_eq!(alt_package("kubectl", Some(26)), "kubernetes1.26-client");
        assert_eq!(alt_package("crio", None), "kubernetes1.NN-crio");
        assert_eq!(alt_package("newuidmap", Some(31)), "shadow-submap");
        assert_eq!(alt_package("slirp4netns", None), "slirp4netns");
    }

    #[test]
    fn env_var_names() {
        assert_eq!(Tool::Kubeadm.env_var(), "U7S_KUBEADM");
        assert_eq!(Tool::Rootlessctl.env_var(), "U7S_ROOTLESSCTL");
        assert_eq!(
            Tool::Kubectl.default_path(),
            PathBuf::from("/usr/bin/kubectl")
        );
    }

    #[test]
    fn override_must_be_absolute() {
        let err = resolve_with(Tool::Kubeadm, Some(OsStr::new("kubeadm")), None).unwrap_err();
        assert!(matches!(err, ToolError::NotAbsolute { .. }));
        assert_eq!(err.exit_code(), 127);
    }

    #[test]
    fn missing_and_not_executable() {
        let dir = temp_dir("missing");
        let missing = dir.join("nope");
        let err = resolve_with(Tool::Kubectl, Some(missing.as_os_str()), None).unwrap_err();
        assert!(err.to_string().contains("U7S_KUBECTL"), "{err}");
        let plain = executable(&dir, "plain", 0o644);
        let err = resolve_with(Tool::Kubectl, Some(plain.as_os_str()), None).unwrap_err();
        assert_eq!(err.exit_code(), 126);
        let good = executable(&dir, "good", 0o755);
        assert_eq!(
            resolve_with(Tool::Kubectl, Some(good.as_os_str()), None).unwrap(),
            good
        );
    }

    #[test]
    fn pointing_at_ourselves_is_refused_even_through_a_symlink() {
        let dir = temp_dir("self");
        let me = executable(&dir, "u7s", 0o755);
        let link = dir.join("kubeadm");
        std::os::unix::fs::symlink(&me, &link).unwrap();
        let err = resolve_with(Tool::Kubeadm, Some(link.as_os_str()), Some(&me)).unwrap_err();
        assert!(matches!(err, ToolError::IsSelf { .. }));
        assert_eq!(err.exit_code(), 127);
    }
}
