//! The bundled calico manifest (`data/manifests/calico/<version>/calico.yaml`),
//! adapted to the chosen registry and pod network.
//!
//! Image naming: upstream's images are `docker.io/calico/<name>:<tag>` (`cni`,
//! `node`, `kube-controllers`). ALT registries keep images flat under the
//! platform (`<registry>/<platform>/flannel:<tag>`, see `flannel.rs`), and a
//! bare `node` or `cni` there would be ambiguous, so in a registry u7s names
//! them `<registry>/calico-<name>:<tag>` (e.g.
//! `registry.altlinux.org/k8s-p10/calico-node:v3.28.2`), with the upstream
//! tags. That naming is an assumption, not a known ALT publication: it lives
//! in [`alt_image`] alone so that it can be corrected in one place. The
//! caller passes `<registry>/<platform>` or `None` for the upstream images.

use crate::yaml::Value;
use anyhow::{anyhow, bail, Context, Result};

use super::workload::{
    check_ipv4_cidr, checked_registry, for_each_container, images, rename_image,
};
use crate::yaml::{documents_to_string, parse_documents};

/// The calico version u7s ships (the tag of all three images).
pub const CALICO_VERSION: &str = "v3.28.2";

const MANIFEST: &str = include_str!("../../data/manifests/calico/v3.28.2/calico.yaml");

/// The kinds whose pod templates hold calico's images.
const WORKLOADS: [&str; 2] = ["DaemonSet", "Deployment"];

/// The bundled manifest as shipped (upstream images, pod network 192.168.0.0/16).
pub fn bundled() -> &'static str {
    MANIFEST
}

/// `calico.yaml` with every (init) container image of the DaemonSet and the
/// Deployment moved to `registry` (see the module documentation) and
/// calico-node's `CALICO_IPV4POOL_CIDR` set to `pod_cidr`.
pub fn calico_manifest(registry: Option<&str>, pod_cidr: &str) -> Result<String> {
    let registry = checked_registry("calico", registry)?;
    check_ipv4_cidr("calico", pod_cidr)?;

    let mut docs = parse_documents(MANIFEST).context("the bundled calico manifest")?;
    let mut images = 0;
    let mut cidrs = 0;
    for doc in docs.iter_mut() {
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if !WORKLOADS.contains(&kind.as_str()) {
            continue;
        }
        for_each_container("calico", doc, |container| {
            if let Some(registry) = registry {
                if rename_image("calico", container, |old| alt_image(registry, old))? {
                    images += 1;
                }
            }
            cidrs += set_env(container, "CALICO_IPV4POOL_CIDR", pod_cidr);
            Ok(())
        })?;
    }
    if cidrs != 1 || (registry.is_some() && images == 0) {
        bail!("{}", crate::tr!("calico-manifest-incomplete"));
    }
    documents_to_string(&docs)
}

/// The images `calico_manifest(registry, ..)` refers to, without duplicates,
/// in manifest order (for pre-pulling them into u7s-admin's storage).
pub fn calico_images(registry: Option<&str>) -> Result<Vec<String>> {
    images(&calico_manifest(registry, "192.168.0.0/16")?, &WORKLOADS)
}

/// `docker.io/calico/<name>:<tag>` → `<registry>/calico-<name>:<tag>`.
///
/// The one place that knows how calico's images are named in an ALT-style
/// registry; change it here if the registry names them otherwise.
pub fn alt_image(registry: &str, image: &str) -> Result<String> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let (name, tag) = last
        .split_once(':')
        .ok_or_else(|| anyhow!("calico image {image:?} has no tag"))?;
    if name.is_empty() || tag.is_empty() {
        bail!("calico image {image:?} has no name or tag");
    }
    let name = name.strip_prefix("calico-").unwrap_or(name);
    Ok(format!("{registry}/calico-{name}:{tag}"))
}

/// Set the value of the container's env entry `name`, if it has one; returns
/// how many entries it set (0 or 1).
fn set_env(container: &mut Value, name: &str, value: &str) -> usize {
    let Some(env) = container.get_mut("env").and_then(Value::as_sequence_mut) else {
        return 0;
    };
    let mut set = 0;
    for entry in env {
        if entry.get("name").and_then(Value::as_str) == Some(name) {
            if let Some(map) = entry.as_mapping_mut() {
                map.insert("value".into(), value.into());
                set += 1;
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CustomResourceDefinitions calico-node, the CNI plugin and
    /// calico-kube-controllers of v3.28 use (v3.28 has no Tier).
    const CRDS: [&str; 18] = [
        "bgpconfigurations",
        "bgpfilters",
        "bgppeers",
        "blockaffinities",
        "caliconodestatuses",
        "clusterinformations",
        "felixconfigurations",
        "globalnetworkpolicies",
        "globalnetworksets",
        "hostendpoints",
        "ipamblocks",
        "ipamconfigs",
        "ipamhandles",
        "ippools",
        "ipreservations",
        "kubecontrollersconfigurations",
        "networkpolicies",
        "networksets",
    ];

    fn docs(text: &str) -> Vec<Value> {
        parse_documents(text).unwrap()
    }

    fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name} missing"))
    }

    fn pod_spec<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
        &find(docs, kind, name)["spec"]["template"]["spec"]
    }

    fn names(list: &Value) -> Vec<&str> {
        list.as_sequence()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }

    fn images(docs: &[Value]) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, name) in [
            ("DaemonSet", "calico-node"),
            ("Deployment", "calico-kube-controllers"),
        ] {
            let spec = pod_spec(docs, kind, name);
            for list in ["initContainers", "containers"] {
                for c in spec[list].as_sequence().into_iter().flatten() {
                    out.push(c["image"].as_str().unwrap().to_string());
                }
            }
        }
        out
    }

    fn node_env<'a>(docs: &'a [Value], var: &str) -> &'a Value {
        let node = &pod_spec(docs, "DaemonSet", "calico-node")["containers"][0];
        assert_eq!(node["name"], Value::from("calico-node"));
        node["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == var)
            .map(|e| &e["value"])
            .unwrap_or_else(|| panic!("{var} missing"))
    }

    fn upstream_images() -> Vec<String> {
        ["cni", "cni", "node", "node", "kube-controllers"]
            .iter()
            .map(|n| format!("docker.io/calico/{n}:{CALICO_VERSION}"))
            .collect()
    }

    #[test]
    fn the_bundled_manifest_is_the_classic_calico_yaml() {
        let d = docs(bundled());
        let count = |kind: &str| d.iter().filter(|x| x["kind"] == kind).count();
        assert_eq!(count("CustomResourceDefinition"), CRDS.len());
        assert_eq!(count("ServiceAccount"), 3);
        assert_eq!(count("ClusterRole"), 3);
        assert_eq!(count("ClusterRoleBinding"), 3);
        assert_eq!(count("ConfigMap"), 1);
        assert_eq!(count("DaemonSet"), 1);
        assert_eq!(count("Deployment"), 1);
        assert_eq!(count("PodDisruptionBudget"), 1);
        assert_eq!(d.len(), 31);
        for sa in [
            "calico-node",
            "calico-cni-plugin",
            "calico-kube-controllers",
        ] {
            assert_eq!(
                find(&d, "ServiceAccount", sa)["metadata"]["namespace"],
                Value::from("kube-system")
            );
            find(&d, "ClusterRole", sa);
            let binding = find(&d, "ClusterRoleBinding", sa);
            assert_eq!(binding["roleRef"]["name"], Value::from(sa));
            assert_eq!(binding["subjects"][0]["name"], Value::from(sa));
        }
        let ds = pod_spec(&d, "DaemonSet", "calico-node");
        assert_eq!(
            names(&ds["initContainers"]),
            ["upgrade-ipam", "install-cni", "mount-bpffs"]
        );
        assert_eq!(names(&ds["containers"]), ["calico-node"]);
        assert_eq!(ds["hostNetwork"], Value::from(true));
        assert_eq!(ds["serviceAccountName"], Value::from("calico-node"));
        assert_eq!(images(&d), upstream_images());
        for (var, want) in [
            ("CALICO_IPV4POOL_CIDR", "192.168.0.0/16"),
            ("CALICO_IPV4POOL_VXLAN", "Always"),
            ("CALICO_IPV4POOL_IPIP", "Never"),
            ("DATASTORE_TYPE", "kubernetes"),
            ("FELIX_VXLANPORT", "4789"),
        ] {
            assert_eq!(node_env(&d, var), &Value::from(want), "{var}");
        }
        // The BIRD probes would fail without BIRD.
        let probes = crate::yaml::to_string(&ds["containers"][0]).unwrap();
        assert!(!probes.contains("bird"), "{probes}");
    }

    #[test]
    fn the_config_map_selects_vxlan_and_the_cni_plugins() {
        let d = docs(bundled());
        let data = &find(&d, "ConfigMap", "calico-config")["data"];
        assert_eq!(data["calico_backend"], Value::from("vxlan"));
        assert_eq!(data["typha_service_name"], Value::from("none"));
        // __CNI_MTU__ is a bare placeholder install-cni replaces by a number.
        let cni = data["cni_network_config"]
            .as_str()
            .unwrap()
            .replace("__CNI_MTU__", "1450");
        let cni: Value = crate::yaml::from_str(&cni).unwrap();
        let types: Vec<&str> = cni["plugins"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["calico", "portmap", "bandwidth"]);
        assert_eq!(
            cni["plugins"][0]["ipam"]["type"],
            Value::from("calico-ipam")
        );
        assert_eq!(
            cni["plugins"][0]["datastore_type"],
            Value::from("kubernetes")
        );
    }

    #[test]
    fn every_crd_is_a_v1_crd_with_a_schema() {
        let d = docs(bundled());
        let mut plurals: Vec<&str> = Vec::new();
        for crd in d.iter().filter(|x| x["kind"] == "CustomResourceDefinition") {
            assert_eq!(crd["apiVersion"], Value::from("apiextensions.k8s.io/v1"));
            let spec = &crd["spec"];
            let plural = spec["names"]["plural"].as_str().unwrap();
            assert_eq!(
                crd["metadata"]["name"],
                Value::from(format!("{plural}.crd.projectcalico.org"))
            );
            assert_eq!(spec["group"], Value::from("crd.projectcalico.org"));
            let namespaced = ["networkpolicies", "networksets"].contains(&plural);
            let scope = if namespaced { "Namespaced" } else { "Cluster" };
            assert_eq!(spec["scope"], Value::from(scope), "{plural}");
            let kind = spec["names"]["kind"].as_str().unwrap();
            assert_eq!(
                spec["names"]["listKind"],
                Value::from(format!("{kind}List"))
            );
            let versions = spec["versions"].as_sequence().unwrap();
            assert_eq!(versions.len(), 1, "{plural}");
            let v = &versions[0];
            assert_eq!(v["name"], Value::from("v1"));
            assert_eq!(v["served"], Value::from(true));
            assert_eq!(v["storage"], Value::from(true));
            // A structural schema: an object at the root.
            let schema = &v["schema"]["openAPIV3Schema"];
            assert_eq!(schema["type"], Value::from("object"), "{plural}");
            assert_eq!(
                schema["x-kubernetes-preserve-unknown-fields"],
                Value::from(true),
                "{plural}"
            );
            plurals.push(plural);
        }
        plurals.sort_unstable();
        assert_eq!(plurals, CRDS);
    }

    #[test]
    fn every_image_moves_to_the_registry_and_the_pool_is_set() {
        let out = calico_manifest(Some("registry.local/k8s-p10/"), "10.10.0.0/16").unwrap();
        let d = docs(&out);
        assert_eq!(d.len(), docs(bundled()).len());
        assert!(!out.contains("docker.io"), "{out}");
        let want: Vec<String> = ["cni", "cni", "node", "node", "kube-controllers"]
            .iter()
            .map(|n| format!("registry.local/k8s-p10/calico-{n}:{CALICO_VERSION}"))
            .collect();
        assert_eq!(images(&d), want);
        assert_eq!(
            node_env(&d, "CALICO_IPV4POOL_CIDR"),
            &Value::from("10.10.0.0/16")
        );
        assert!(!out.contains("192.168.0.0/16"), "{out}");
        // The rest is untouched.
        assert_eq!(
            node_env(&d, "CALICO_IPV4POOL_VXLAN"),
            &Value::from("Always")
        );
        let mut rest = docs(bundled());
        let mut got = d.clone();
        for doc in rest.iter_mut().chain(got.iter_mut()) {
            if WORKLOADS.contains(&doc["kind"].as_str().unwrap()) {
                *doc = Value::Null;
            }
        }
        assert_eq!(rest, got);
    }

    #[test]
    fn no_registry_keeps_the_upstream_images() {
        let out = calico_manifest(None, "192.168.0.0/16").unwrap();
        let d = docs(&out);
        assert_eq!(images(&d), upstream_images());
        assert_eq!(d, docs(bundled()));
    }

    #[test]
    fn bad_inputs_are_refused() {
        for cidr in [
            "192.168.0.0",
            "192.168.0.0/33",
            "fd00::/64",
            "x/16",
            "10.0.0.0/16\n",
        ] {
            assert!(calico_manifest(None, cidr).is_err(), "{cidr}");
        }
        for reg in ["", "https://registry.local", "a b"] {
            assert!(
                calico_manifest(Some(reg), "192.168.0.0/16").is_err(),
                "{reg}"
            );
        }
        assert!(alt_image("r", "docker.io/calico/node").is_err());
    }

    #[test]
    fn images_for_pre_pulling() {
        assert_eq!(
            calico_images(Some("registry.altlinux.org/k8s-p10")).unwrap(),
            [
                format!("registry.altlinux.org/k8s-p10/calico-cni:{CALICO_VERSION}"),
                format!("registry.altlinux.org/k8s-p10/calico-node:{CALICO_VERSION}"),
                format!("registry.altlinux.org/k8s-p10/calico-kube-controllers:{CALICO_VERSION}"),
            ]
        );
        assert_eq!(
            calico_images(None).unwrap(),
            [
                format!("docker.io/calico/cni:{CALICO_VERSION}"),
                format!("docker.io/calico/node:{CALICO_VERSION}"),
                format!("docker.io/calico/kube-controllers:{CALICO_VERSION}"),
            ]
        );
    }

    #[test]
    fn alt_image_naming() {
        assert_eq!(
            alt_image("reg/p", "docker.io/calico/kube-controllers:v3.28.2").unwrap(),
            "reg/p/calico-kube-controllers:v3.28.2"
        );
        assert_eq!(
            alt_image("reg/p", "calico/node:v3.28.2").unwrap(),
            "reg/p/calico-node:v3.28.2"
        );
        // Already moved: not prefixed twice.
        assert_eq!(
            alt_image("reg/p", "reg/p/calico-cni:v3.28.2").unwrap(),
            "reg/p/calico-cni:v3.28.2"
        );
    }

    /// The real kubectl (not a u7s symlink), or why the check is skipped.
    fn real_kubectl() -> Result<std::path::PathBuf, String> {
        let path = std::path::PathBuf::from("/usr/bin/kubectl");
        if !path.exists() {
            return Err("no /usr/bin/kubectl".into());
        }
        let out = kubectl(&path, &["version", "--client", "-o", "yaml"], None)
            .map_err(|e| format!("/usr/bin/kubectl does not run: {e}"))?;
        if !out.contains("gitVersion") {
            return Err("/usr/bin/kubectl is not the upstream kubectl".into());
        }
        Ok(path)
    }

    /// Run kubectl offline: no kubeconfig, a throw-away HOME, stdin `input`.
    fn kubectl(path: &std::path::Path, args: &[&str], input: Option<&str>) -> Result<String> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let home = std::env::temp_dir().join(format!("u7s-calico-kubectl-{}", std::process::id()));
        std::fs::create_dir_all(&home)?;
        let mut child = Command::new(path)
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", &home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(input) = input {
            child.stdin.take().unwrap().write_all(input.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        let _ = std::fs::remove_dir_all(&home);
        if !out.status.success() {
            bail!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// kubectl decodes the rendered manifest without a cluster: every object
    /// (`label --local`), and the DaemonSet and Deployment into their typed
    /// Go structures (`set env --local`, which fails on a wrongly typed field).
    #[test]
    fn kubectl_reads_the_rendered_manifest_offline() {
        let kubectl_path = match real_kubectl() {
            Ok(p) => p,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        let text = calico_manifest(Some("registry.local/k8s-p10"), "10.10.0.0/16").unwrap();
        let listed = kubectl(
            &kubectl_path,
            &["label", "--local", "-f", "-", "u7s-check=1", "-o", "name"],
            Some(&text),
        )
        .unwrap();
        let listed: Vec<&str> = listed.lines().collect();
        assert_eq!(listed.len(), docs(&text).len(), "{listed:?}");
        for crd in CRDS {
            let want = format!(
                "customresourcedefinition.apiextensions.k8s.io/{crd}.crd.projectcalico.org"
            );
            assert!(listed.contains(&want.as_str()), "{want} in {listed:?}");
        }
        assert!(listed.contains(&"daemonset.apps/calico-node"));
        assert!(listed.contains(&"configmap/calico-config"));

        let workloads: Vec<Value> = docs(&text)
            .into_iter()
            .filter(|d| WORKLOADS.contains(&d["kind"].as_str().unwrap_or("")))
            .collect();
        let typed = kubectl(
            &kubectl_path,
            &[
                "set",
                "env",
                "--local",
                "-f",
                "-",
                "U7S_CHECK=1",
                "-o",
                "name",
            ],
            Some(&documents_to_string(&workloads).unwrap()),
        )
        .unwrap();
        assert_eq!(
            typed.lines().collect::<Vec<_>>(),
            [
                "daemonset.apps/calico-node",
                "deployment.apps/calico-kube-controllers"
            ]
        );
    }
}
