//! The audit settings of the kube-apiserver static pod, as a typed YAML edit
//! (the reference ran a chain of `yq` processes). Idempotent: a second run
//! finds everything in place and changes nothing.

use crate::yaml::Value;
use anyhow::{anyhow, Result};

pub const POLICY_DIR: &str = "/etc/kubernetes/audit";
pub const LOG_DIR: &str = "/var/log/kubernetes/audit";

fn flags(policy: &str) -> Vec<String> {
    vec![
        format!("--audit-policy-file={policy}"),
        format!("--audit-log-path={LOG_DIR}/audit.log"),
        "--audit-log-maxage=30".into(),
        "--audit-log-maxbackup=10".into(),
        "--audit-log-maxsize=100".into(),
    ]
}

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

/// The manifest with the audit flags, the policy and log volumes and their
/// mounts added to the kube-apiserver container.
pub fn add_audit(manifest: &str, policy: &str) -> Result<String> {
    let mut pod: Value = crate::yaml::from_str(manifest)
        .map_err(|e| anyhow!("{}", crate::tr!("audit-not-manifest", e)))?;
    if pod.get("kind").and_then(Value::as_str) != Some("Pod") {
        return Err(anyhow!("{}", crate::tr!("audit-not-pod")));
    }
    let spec = pod
        .get_mut("spec")
        .ok_or_else(|| anyhow!("{}", crate::tr!("audit-no-spec")))?;
    {
        let volumes = seq(spec, "volumes")?;
        push_unique_by_name(
            volumes,
            yaml(&format!(
                "{{name: audit-policy, hostPath: {{path: {POLICY_DIR}, type: DirectoryOrCreate}}}}"
            )),
        );
        push_unique_by_name(
            volumes,
            yaml(&format!(
                "{{name: audit-log, hostPath: {{path: {LOG_DIR}, type: DirectoryOrCreate}}}}"
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
        for flag in flags(policy) {
            let name = flag.split('=').next().unwrap_or_default().to_owned();
            let present = command.iter().any(|c| {
                c.as_str()
                    .is_some_and(|c| c.split('=').next() == Some(name.as_str()))
            });
            if !present {
                command.push(Value::from(flag));
            }
        }
    }
    let mounts = seq(apiserver, "volumeMounts")?;
    push_unique_by_name(
        mounts,
        yaml(&format!(
            "{{name: audit-policy, mountPath: {POLICY_DIR}, readOnly: true}}"
        )),
    );
    push_unique_by_name(
        mounts,
        yaml(&format!("{{name: audit-log, mountPath: {LOG_DIR}}}")),
    );
    Ok(crate::yaml::to_string(&pod)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const MANIFEST: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.local/k8s-p10/kube-apiserver:v1.30.5\n    command:\n    - kube-apiserver\n    - --advertise-address=10.10.0.5\n    volumeMounts:\n    - name: k8s-certs\n      mountPath: /etc/kubernetes/pki\n      readOnly: true\n  volumes:\n  - name: k8s-certs\n    hostPath:\n      path: /etc/kubernetes/pki\n";

    #[test]
    fn audit_settings_are_added_once() {
        let once = add_audit(MANIFEST, "/etc/kubernetes/audit/policy.yaml").unwrap();
        let pod: Value = crate::yaml::from_str(&once).unwrap();
        let c = &pod["spec"]["containers"][0];
        let command: Vec<&str> = c["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(command.contains(&"--audit-policy-file=/etc/kubernetes/audit/policy.yaml"));
        assert!(command.contains(&"--audit-log-path=/var/log/kubernetes/audit/audit.log"));
        assert!(
            command.contains(&"--advertise-address=10.10.0.5"),
            "kubeadm's flags stay"
        );
        assert_eq!(c["volumeMounts"].as_sequence().unwrap().len(), 3);
        assert_eq!(pod["spec"]["volumes"].as_sequence().unwrap().len(), 3);
        let twice = add_audit(&once, "/etc/kubernetes/audit/policy.yaml").unwrap();
        assert_eq!(once, twice, "idempotent");
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
