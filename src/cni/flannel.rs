//! The bundled flannel manifest (`data/manifests/flannel/<version>/kube-flannel.yml`),
//! adapted to the chosen registry and pod network.
//!
//! Image naming follows the reference (`kubeflannelYMLToALT`,
//! `FlannelNameToAlt`, `u7s_images`): in an ALT registry flannel's images are
//! `<registry>/<platform>/flannel:<tag>` and
//! `<registry>/<platform>/flannel-cni-plugin:<tag>`, with the upstream tags. The
//! caller passes `<registry>/<platform>` (e.g. `registry.local/k8s-p10`, its
//! image repository) or `None` for the upstream images (`docker.io/flannel/...`).

use crate::yaml::Value;
use anyhow::{anyhow, bail, Context, Result};

use super::workload::{
    check_ipv4_cidr, checked_registry, for_each_container, images, rename_image,
};
use crate::yaml::{documents_to_string, parse_documents};

/// The flannel version u7s ships.
pub const FLANNEL_VERSION: &str = "v0.26.7";
/// The flannel-cni-plugin tag that flannel v0.26.7's manifest uses.
pub const FLANNEL_CNI_PLUGIN_TAG: &str = "v1.7.1-flannel1";

const MANIFEST: &str = include_str!("../../data/manifests/flannel/v0.26.7/kube-flannel.yml");

/// The bundled manifest as shipped (upstream images, pod network 10.244.0.0/16).
pub fn bundled() -> &'static str {
    MANIFEST
}

/// `kube-flannel.yml` with every DaemonSet (init) container image moved to
/// `registry` (see the module documentation) and net-conf.json's `Network`
/// set to `pod_cidr`.
pub fn flannel_manifest(registry: Option<&str>, pod_cidr: &str) -> Result<String> {
    let registry = checked_registry("flannel", registry)?;
    check_ipv4_cidr("flannel", pod_cidr)?;

    let mut docs =
        parse_documents(MANIFEST).with_context(|| crate::tr!("flannel-bundled-manifest"))?;
    let mut images = 0;
    let mut net_conf = 0;
    for doc in docs.iter_mut() {
        match doc.get("kind").and_then(Value::as_str) {
            Some("DaemonSet") => {
                if let Some(registry) = registry {
                    for_each_container("flannel", doc, |c| {
                        if rename_image("flannel", c, |old| alt_image(registry, old))? {
                            images += 1;
                        }
                        Ok(())
                    })?;
                }
            }
            Some("ConfigMap") => {
                if let Some(slot) = doc.get_mut("data").and_then(|d| d.get_mut("net-conf.json")) {
                    *slot = Value::from(set_network(slot, pod_cidr)?);
                    net_conf += 1;
                }
            }
            _ => {}
        }
    }
    if net_conf != 1 || (registry.is_some() && images == 0) {
        bail!("{}", crate::tr!("flannel-manifest-incomplete"));
    }
    documents_to_string(&docs)
}

/// The images `flannel_manifest(registry, ..)` refers to, without duplicates,
/// in manifest order (for pre-pulling them into u7s-admin's storage).
pub fn flannel_images(registry: Option<&str>) -> Result<Vec<String>> {
    images(
        &flannel_manifest(registry, "10.244.0.0/16")?,
        &["DaemonSet"],
    )
}

/// `docker.io/flannel/flannel-cni-plugin:v1.7.1-flannel1` →
/// `<registry>/flannel-cni-plugin:v1.7.1-flannel1`; any other flannel image →
/// `<registry>/flannel:<tag>`.
fn alt_image(registry: &str, image: &str) -> Result<String> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let (name, tag) = last.split_once(':').ok_or_else(|| {
        anyhow!(
            "{}",
            crate::tr!("flannel-image-no-tag", format!("{image:?}"))
        )
    })?;
    let name = if name.contains("flannel-cni-plugin") {
        "flannel-cni-plugin"
    } else {
        "flannel"
    };
    Ok(format!("{registry}/{name}:{tag}"))
}

/// net-conf.json with `Network` set; the other keys stay as they are, in
/// order (serde_json's `preserve_order`), indented by two as in the manifest.
fn set_network(net_conf: &Value, pod_cidr: &str) -> Result<String> {
    let text = net_conf
        .as_str()
        .ok_or_else(|| anyhow!("{}", crate::tr!("flannel-netconf-not-string")))?;
    let mut conf: serde_json::Value =
        serde_json::from_str(text).context("flannel net-conf.json")?;
    let map = conf
        .as_object_mut()
        .ok_or_else(|| anyhow!("{}", crate::tr!("flannel-netconf-not-object")))?;
    map.insert("Network".into(), pod_cidr.into());
    let mut out = serde_json::to_string_pretty(&conf)?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<Value> {
        parse_documents(text).unwrap()
    }

    fn daemonset(docs: &[Value]) -> &Value {
        docs.iter()
            .find(|d| d["kind"] == "DaemonSet")
            .expect("a DaemonSet")
    }

    fn images(ds: &Value) -> Vec<String> {
        let spec = &ds["spec"]["template"]["spec"];
        ["initContainers", "containers"]
            .iter()
            .flat_map(|l| spec[*l].as_sequence().unwrap().iter())
            .map(|c| c["image"].as_str().unwrap().to_string())
            .collect()
    }

    fn net_conf(docs: &[Value]) -> Value {
        let cm = docs
            .iter()
            .find(|d| d["metadata"]["name"] == "kube-flannel-cfg")
            .unwrap();
        crate::yaml::from_str(cm["data"]["net-conf.json"].as_str().unwrap()).unwrap()
    }

    #[test]
    fn the_bundled_manifest_is_the_upstream_deployment() {
        let d = docs(bundled());
        let kinds: Vec<&str> = d.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "ConfigMap",
                "DaemonSet"
            ]
        );
        let ds = daemonset(&d);
        assert_eq!(
            images(ds),
            [
                format!("docker.io/flannel/flannel-cni-plugin:{FLANNEL_CNI_PLUGIN_TAG}"),
                format!("docker.io/flannel/flannel:{FLANNEL_VERSION}"),
                format!("docker.io/flannel/flannel:{FLANNEL_VERSION}"),
            ]
        );
        let init: Vec<&str> = ds["spec"]["template"]["spec"]["initContainers"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(init, ["install-cni-plugin", "install-cni"]);
        assert_eq!(net_conf(&d)["Backend"]["Type"], Value::from("vxlan"));
        let cm = d.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
        let cni: Value =
            crate::yaml::from_str(cm["data"]["cni-conf.json"].as_str().unwrap()).unwrap();
        assert_eq!(cni["plugins"][0]["type"], Value::from("flannel"));
    }

    #[test]
    fn every_image_moves_to_the_registry_and_the_network_is_set() {
        let out = flannel_manifest(Some("registry.local/k8s-p10/"), "10.10.0.0/16").unwrap();
        let d = docs(&out);
        assert_eq!(d.len(), docs(bundled()).len());
        assert!(!out.contains("docker.io"), "{out}");
        assert_eq!(
            images(daemonset(&d)),
            [
                format!("registry.local/k8s-p10/flannel-cni-plugin:{FLANNEL_CNI_PLUGIN_TAG}"),
                format!("registry.local/k8s-p10/flannel:{FLANNEL_VERSION}"),
                format!("registry.local/k8s-p10/flannel:{FLANNEL_VERSION}"),
            ]
        );
        let nc = net_conf(&d);
        assert_eq!(nc["Network"], Value::from("10.10.0.0/16"));
        assert_eq!(nc["Backend"]["Type"], Value::from("vxlan"));
        assert_eq!(nc["EnableNFTables"], Value::from(false));
        // The rest of the manifest is untouched.
        let ds = daemonset(&d);
        assert_eq!(ds["metadata"]["namespace"], Value::from("kube-flannel"));
        assert_eq!(
            ds["spec"]["template"]["spec"]["containers"][0]["args"][1],
            Value::from("--kube-subnet-mgr")
        );
    }

    #[test]
    fn no_registry_keeps_the_upstream_images() {
        let out = flannel_manifest(None, "10.244.0.0/16").unwrap();
        let d = docs(&out);
        assert_eq!(images(daemonset(&d)), images(daemonset(&docs(bundled()))));
        assert_eq!(net_conf(&d)["Network"], Value::from("10.244.0.0/16"));
    }

    #[test]
    fn net_conf_stays_valid_json() {
        let out = flannel_manifest(None, "10.20.0.0/16").unwrap();
        let d = docs(&out);
        let cm = d.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
        let text = cm["data"]["net-conf.json"].as_str().unwrap();
        assert!(text.trim_start().starts_with('{'), "{text}");
        assert!(text.contains("\"Network\": \"10.20.0.0/16\""), "{text}");
        assert!(text.contains("\"EnableNFTables\": false"), "{text}");
    }

    #[test]
    fn bad_inputs_are_refused() {
        for cidr in [
            "10.244.0.0",
            "10.244.0.0/33",
            "fd00::/64",
            "x/16",
            "10.0.0.0/16\"}",
        ] {
            assert!(flannel_manifest(None, cidr).is_err(), "{cidr}");
        }
        for reg in ["", "https://registry.local", "a b"] {
            assert!(
                flannel_manifest(Some(reg), "10.244.0.0/16").is_err(),
                "{reg}"
            );
        }
    }

    #[test]
    fn images_for_pre_pulling() {
        assert_eq!(
            flannel_images(Some("registry.altlinux.org/p10")).unwrap(),
            [
                format!("registry.altlinux.org/p10/flannel-cni-plugin:{FLANNEL_CNI_PLUGIN_TAG}"),
                format!("registry.altlinux.org/p10/flannel:{FLANNEL_VERSION}"),
            ]
        );
        assert_eq!(flannel_images(None).unwrap().len(), 2);
    }

    /// net-conf.json as flannel's manifest writes it: the keys in their
    /// order, two-space indentation, only `Network` changed.
    #[test]
    fn net_conf_keeps_the_manifests_layout() {
        let out = flannel_manifest(None, "10.20.0.0/16").unwrap();
        let d = docs(&out);
        let cm = d.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
        assert_eq!(
            cm["data"]["net-conf.json"].as_str().unwrap(),
            "{\n  \"Network\": \"10.20.0.0/16\",\n  \"EnableNFTables\": false,\n  \
             \"Backend\": {\n    \"Type\": \"vxlan\"\n  }\n}\n"
        );
    }
}
