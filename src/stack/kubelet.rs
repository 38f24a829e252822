//! The kubelet role: the rootless settings merged into kubeadm's
//! `/var/lib/kubelet/config.yaml` (inside the namespaces, where that path is
//! u7s-admin's bind mount), and the real kubelet's command line.
//!
//! The merge works on `crate::yaml::Value`, so every key kubeadm or the admin
//! wrote survives; ours replace theirs, and the maps `featureGates` and
//! `evictionHard` are merged key by key.

use std::ffi::OsString;
use std::path::Path;

use crate::yaml::{Mapping, Value};
use anyhow::{bail, Context, Result};

use crate::layout::AdminDirs;
use crate::settings::EnvFile;

pub const CONFIG: &str = "/var/lib/kubelet/config.yaml";
pub const ROOT_DIR: &str = "/var/lib/kubelet";
pub const CERT_DIR: &str = "/etc/kubernetes/pki";
pub const BOOTSTRAP_KUBECONFIG: &str = "/etc/kubernetes/bootstrap-kubelet.conf";
pub const KUBECONFIG: &str = "/etc/kubernetes/kubelet.conf";

/// Hard eviction thresholds. kubelet drops its defaults for every signal not
/// named once any is set, so all four are given; disk thresholds are low
/// because the node's disk is shared with the host's own use.
pub const EVICTION_HARD: &[(&str, &str)] = &[
    ("memory.available", "100Mi"),
    ("nodefs.available", "3%"),
    ("nodefs.inodesFree", "3%"),
    ("imagefs.available", "3%"),
];

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

/// The settings kubelet needs in a user namespace.
pub fn rootless_settings(dirs: &AdminDirs) -> Mapping {
    let mut m = Mapping::new();
    m.insert(s("cgroupDriver"), s("cgroupfs"));
    m.insert(s("failSwapOn"), Value::Bool(false));
    let mut gates = Mapping::new();
    gates.insert(s("KubeletInUserNamespace"), Value::Bool(true));
    m.insert(s("featureGates"), Value::Mapping(gates));
    let mut eviction = Mapping::new();
    for (k, v) in EVICTION_HARD {
        eviction.insert(s(k), s(v));
    }
    m.insert(s("evictionHard"), Value::Mapping(eviction));
    m.insert(s("localStorageCapacityIsolation"), Value::Bool(false));
    m.insert(s("cgroupsPerQOS"), Value::Bool(true));
    m.insert(s("enforceNodeAllocatable"), Value::Sequence(Vec::new()));
    m.insert(
        s("volumePluginDir"),
        s(&dirs.data().join("kubelet-plugins-exec").to_string_lossy()),
    );
    m
}

/// Keys whose map values are merged key by key instead of replaced.
const MERGED_MAPS: &[&str] = &["featureGates", "evictionHard"];

/// `config` with the rootless settings applied. `config` must be a mapping
/// (an empty document counts as an empty one).
pub fn merge(config: Value, dirs: &AdminDirs) -> Result<Value> {
    let mut doc = match config {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        _ => bail!("{}", crate::tr!("kubelet-config-not-mapping")),
    };
    for (k, v) in rootless_settings(dirs) {
        let merged_map = k
            .as_str()
            .map(|k| MERGED_MAPS.contains(&k))
            .unwrap_or(false);
        match (merged_map, doc.get_mut(&k), v) {
            (true, Some(Value::Mapping(existing)), Value::Mapping(ours)) => {
                for (ik, iv) in ours {
                    existing.insert(ik, iv);
                }
            }
            (_, _, v) => {
                doc.insert(k, v);
            }
        }
    }
    Ok(Value::Mapping(doc))
}

/// Reads `path`, merges, and writes it back atomically when anything changed.
/// Returns whether it was rewritten.
pub fn update_config(path: &Path, dirs: &AdminDirs) -> Result<bool> {
    let text = std::fs::read_to_string(path)
        .with_context(|| crate::tr!("kubelet-config-missing", path.display()))?;
    let before: Value =
        crate::yaml::from_str(&text).with_context(|| crate::tr!("not-yaml", path.display()))?;
    let after = merge(before.clone(), dirs).with_context(|| path.display().to_string())?;
    if after == before {
        return Ok(false);
    }
    let out = crate::yaml::to_string(&after)?;
    crate::settings::envfile::write_atomic(path, out.as_bytes(), 0o644)?;
    Ok(true)
}

/// The real kubelet's arguments, the caller's appended (so they win).
pub fn kubelet_args(dirs: &AdminDirs, env: &EnvFile, extra: Vec<OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--cert-dir",
        CERT_DIR,
        "--root-dir",
        ROOT_DIR,
        "--bootstrap-kubeconfig",
        BOOTSTRAP_KUBECONFIG,
        "--kubeconfig",
        KUBECONFIG,
        "--config",
        CONFIG,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(format!("--container-runtime-endpoint={}", dirs.crio_endpoint()).into());
    // Deprecated since 1.27 (the CRI names the sandbox image); gone in 1.35.
    if env.kube_version.minor < 35 {
        args.push(
            format!(
                "--pod-infra-container-image={}/{}",
                env.registry, env.pause_image
            )
            .into(),
        );
    }
    args.extend(extra);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::admin::tests::dirs;

    fn env_file() -> crate::settings::EnvFile {
        crate::settings::envfile::fixture::env_file("initMaster")
    }

    const KUBEADM_WRITTEN: &str = "\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
featureGates:
  SomeGate: false
evictionHard:
  memory.available: 200Mi
staticPodPath: /etc/kubernetes/manifests
";

    #[test]
    fn merge_sets_ours_and_keeps_theirs() {
        let before: Value = crate::yaml::from_str(KUBEADM_WRITTEN).unwrap();
        let after = merge(before, &dirs()).unwrap();
        assert_eq!(after["cgroupDriver"], s("cgroupfs"));
        assert_eq!(after["failSwapOn"], Value::Bool(false));
        assert_eq!(
            after["featureGates"]["KubeletInUserNamespace"],
            Value::Bool(true)
        );
        assert_eq!(after["featureGates"]["SomeGate"], Value::Bool(false));
        assert_eq!(after["evictionHard"]["nodefs.available"], s("3%"));
        assert_eq!(after["evictionHard"]["memory.available"], s("100Mi"));
        assert_eq!(after["localStorageCapacityIsolation"], Value::Bool(false));
        assert_eq!(after["enforceNodeAllocatable"], Value::Sequence(vec![]));
        assert_eq!(
            after["volumePluginDir"],
            s("/var/lib/u7s-admin/.local/share/usernetes/kubelet-plugins-exec")
        );
        assert_eq!(after["staticPodPath"], s("/etc/kubernetes/manifests"));
        assert_eq!(after["clusterDNS"][0], s("10.96.0.10"));
        assert_eq!(after["kind"], s("KubeletConfiguration"));
        // Idempotent.
        assert_eq!(merge(after.clone(), &dirs()).unwrap(), after);
    }

    #[test]
    fn merge_refuses_non_mappings_and_fills_empty_documents() {
        assert!(merge(Value::Sequence(vec![]), &dirs()).is_err());
        let filled = merge(Value::Null, &dirs()).unwrap();
        assert_eq!(filled["cgroupDriver"], s("cgroupfs"));
        // A scalar where a map is merged is replaced, not an error.
        let odd: Value = crate::yaml::from_str("featureGates: 3").unwrap();
        let fixed = merge(odd, &dirs()).unwrap();
        assert_eq!(
            fixed["featureGates"]["KubeletInUserNamespace"],
            Value::Bool(true)
        );
    }

    #[test]
    fn update_config_rewrites_only_on_change() {
        let dir = std::env::temp_dir().join(format!("u7s-kubelet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.yaml");
        assert!(update_config(&path, &dirs()).is_err(), "missing file");
        std::fs::write(&path, KUBEADM_WRITTEN).unwrap();
        assert!(update_config(&path, &dirs()).unwrap());
        let once = std::fs::read_to_string(&path).unwrap();
        assert!(!update_config(&path, &dirs()).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), once);
        std::fs::write(&path, "- a\n").unwrap();
        let e = update_config(&path, &dirs()).unwrap_err();
        assert!(format!("{e:#}").contains("config.yaml"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kubelet_flags() {
        let args = kubelet_args(&dirs(), &env_file(), vec!["--v=2".into()]);
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        for want in [
            "--config /var/lib/kubelet/config.yaml",
            "--kubeconfig /etc/kubernetes/kubelet.conf",
            "--bootstrap-kubeconfig /etc/kubernetes/bootstrap-kubelet.conf",
            "--container-runtime-endpoint=unix:///run/user/989/usernetes/crio/crio.sock",
            "--pod-infra-container-image=registry.local/k8s-p10/pause:3.9",
        ] {
            assert!(joined.contains(want), "{want} in {joined}");
        }
        assert_eq!(args.last().map(String::as_str), Some("--v=2"));
        let mut env = env_file();
        env.kube_version.minor = 35;
        let newer = kubelet_args(&dirs(), &env, vec![]);
        assert!(!newer
            .iter()
            .any(|a| a.to_string_lossy().starts_with("--pod-infra")));
    }
}
