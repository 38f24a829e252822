//! The audit settings of the kube-apiserver static pod, as a typed YAML edit
//! (the reference ran a chain of `yq` processes). Idempotent: a second run
//! finds everything in place and changes nothing.
//!
//! The layout and rotation are the reference's (podsec's `tuneAudit`): the
//! policy and the log share one host directory, /etc/kubernetes/audit, where
//! podsec's tools (podsec-inotify-check-kubeapi) read audit.log; the log
//! rotates at 500 MB keeping 3 old files. The apiserver runs as u7s-admin, so
//! that directory is u7s-admin's (it lies in u7s-admin's /etc/kubernetes).

use crate::yaml::Value;
use anyhow::{anyhow, Result};

pub const AUDIT_DIR: &str = "/etc/kubernetes/audit";
pub const AUDIT_LOG: &str = "/etc/kubernetes/audit/audit.log";
/// The name of the volume and mount (the reference's).
const VOLUME: &str = "audit";
/// Volumes and mounts earlier u7s versions added, replaced by [`VOLUME`].
const EARLIER_VOLUMES: &[&str] = &["audit-policy", "audit-log"];

fn flags(policy: &str) -> Vec<String> {
    vec![
        format!("--audit-policy-file={policy}"),
        format!("--audit-log-path={AUDIT_LOG}"),
        "--audit-log-maxsize=500".into(),
        "--audit-log-maxbackup=3".into(),
    ]
}

/// Flags earlier u7s versions added that the reference does not set.
const EARLIER_FLAGS: &[&str] = &["--audit-log-maxage"];

fn yaml(text: &str) -> Value {
    crate::yaml::from_str(text).expect("static YAML")
}

fn push_unique_by_name(list: &mut Vec<Value>, item: Value) {
    let name = item.get("name").cloned();
    if !list.iter().any(|v| v.get("name") == name.as_ref()) {
        list.push(item);
    }
}

fn seq<'a>(map: &'a mut Value, key: &str) -> Result<&'a mut Vec<Value>> {
    let m = map
        .as_mapping_mut()
        .ok_or_else(|| anyhow!("{}", crate::tr!("audit-no-mapping", key)))?;
    let slot = m
        .entry(Value::from(key))
        .or_insert_with(|| Value::Sequence(Vec::new()));
    slot.as_sequence_mut()
        .ok_or_else(|| anyhow!("{}", crate::tr!("audit-not-list", key)))
}

/// The manifest with the audit flags, the audit directory's volume and its
/// mount added to the kube-apiserver container (an earlier u7s's audit
/// settings are replaced).
pub fn add_audit(manifest: &str, policy: &str) -> Result<String> {
    let mut pod: Value = crate::yaml::from_str(manifest)
        .map_err(|e| anyhow!("{}", crate::tr!("audit-not-manifest", e)))?;
    if pod.get("kind").and_then(Value::as_str) != Some("Pod") {
        return Err(anyhow!("{}", crate::tr!("audit-not-pod")));
    }
    let spec = pod
        .get_mut("spec")
        .ok_or_else(|| anyhow!("{}", crate::tr!("audit-no-spec")))?;
    let earlier = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| EARLIER_VOLUMES.contains(&n))
    };
    {
        let volumes = seq(spec, "volumes")?;
        volumes.retain(|v| !earlier(v));
        push_unique_by_name(
            volumes,
            yaml(&format!(
                "{{name: {VOLUME}, hostPath: {{path: {AUDIT_DIR}, type: DirectoryOrCreate}}}}"
            )),
        );
    }
    let containers = seq(spec, "containers")?;
    let apiserver = containers
        .iter_mut()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("kube-apiserver"))
        .ok_or_else(|| anyhow!("{}", crate::tr!("audit-no-apiserver")))?;
    {
        let command = seq(apiserver, "command")?;
        let name_of = |c: &Value| {
            c.as_str()
                .and_then(|c| c.split('=').next())
                .map(str::to_owned)
        };
        command.retain(|c| !name_of(c).is_some_and(|n| EARLIER_FLAGS.contains(&n.as_str())));
        for flag in flags(policy) {
            let name = flag.split('=').next().unwrap_or_default().to_owned();
            match command
                .iter_mut()
                .find(|c| name_of(c).as_deref() == Some(name.as_str()))
            {
                Some(existing) => *existing = Value::from(flag),
                None => command.push(Value::from(flag)),
            }
        }
    }
    let mounts = seq(apiserver, "volumeMounts")?;
    mounts.retain(|v| !earlier(v));
    push_unique_by_name(
        mounts,
        yaml(&format!("{{name: {VOLUME}, mountPath: {AUDIT_DIR}}}")),
    );
    Ok(crate::yaml::to_string(&pod)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const MANIFEST: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.local/k8s-p10/kube-apiserver:v1.30.5\n    command:\n    - kube-apiserver\n    - --advertise-address=10.10.0.5\n    volumeMounts:\n    - name: k8s-certs\n      mountPath: /etc/kubernetes/pki\n      readOnly: true\n  volumes:\n  - name: k8s-certs\n    hostPath:\n      path: /etc/kubernetes/pki\n";

    fn command_of(manifest: &str) -> Vec<String> {
        let pod: Value = crate::yaml::from_str(manifest).unwrap();
        pod["spec"]["containers"][0]["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn audit_settings_are_the_references_and_added_once() {
        let once = add_audit(MANIFEST, "/etc/kubernetes/audit/policy.yaml").unwrap();
        let pod: Value = crate::yaml::from_str(&once).unwrap();
        let c = &pod["spec"]["containers"][0];
        let command = command_of(&once);
        for flag in [
            "--audit-policy-file=/etc/kubernetes/audit/policy.yaml",
            "--audit-log-path=/etc/kubernetes/audit/audit.log",
            "--audit-log-maxsize=500",
            "--audit-log-maxbackup=3",
            "--advertise-address=10.10.0.5",
        ] {
            assert!(command.iter().any(|c| c == flag), "{flag}: {command:?}");
        }
        assert_eq!(c["volumeMounts"].as_sequence().unwrap().len(), 2);
        assert_eq!(c["volumeMounts"][1]["mountPath"].as_str(), Some(AUDIT_DIR));
        assert_eq!(
            c["volumeMounts"][1]["readOnly"].as_bool(),
            None,
            "the log is written there"
        );
        let volume = &pod["spec"]["volumes"][1];
        assert_eq!(volume["hostPath"]["path"].as_str(), Some(AUDIT_DIR));
        assert_eq!(
            volume["hostPath"]["type"].as_str(),
            Some("DirectoryOrCreate")
        );
        let twice = add_audit(&once, "/etc/kubernetes/audit/policy.yaml").unwrap();
        assert_eq!(once, twice, "idempotent");
    }

    #[test]
    fn an_earlier_u7s_audit_edit_is_replaced() {
        let earlier = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --audit-policy-file=/etc/kubernetes/audit/policy.yaml\n    - --audit-log-path=/var/log/kubernetes/audit/audit.log\n    - --audit-log-maxage=30\n    - --audit-log-maxbackup=10\n    - --audit-log-maxsize=100\n    volumeMounts:\n    - name: audit-policy\n      mountPath: /etc/kubernetes/audit\n      readOnly: true\n    - name: audit-log\n      mountPath: /var/log/kubernetes/audit\n  volumes:\n  - name: audit-policy\n    hostPath: {path: /etc/kubernetes/audit}\n  - name: audit-log\n    hostPath: {path: /var/log/kubernetes/audit}\n";
        let now = add_audit(earlier, "/etc/kubernetes/audit/policy.yaml").unwrap();
        let fresh = add_audit(
            &add_audit(MANIFEST, "/etc/kubernetes/audit/policy.yaml").unwrap(),
            "/etc/kubernetes/audit/policy.yaml",
        )
        .unwrap();
        let audit_flags = |m: &str| {
            let mut f: Vec<String> = command_of(m)
                .into_iter()
                .filter(|c| c.starts_with("--audit"))
                .collect();
            f.sort();
            f
        };
        assert_eq!(
            audit_flags(&now),
            audit_flags(&fresh),
            "the same audit flags as a fresh edit"
        );
        assert!(!now.contains("/var/log/kubernetes/audit"), "{now}");
        let pod: Value = crate::yaml::from_str(&now).unwrap();
        let names = |v: &Value| -> Vec<String> {
            v.as_sequence()
                .unwrap()
                .iter()
                .filter_map(|i| i["name"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(names(&pod["spec"]["volumes"]), ["audit"]);
        assert_eq!(
            names(&pod["spec"]["containers"][0]["volumeMounts"]),
            ["audit"]
        );
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(add_audit("kind: Deployment\n", "/p").is_err());
        assert!(add_audit(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: etcd\n",
            "/p"
        )
        .is_err());
    }
}
