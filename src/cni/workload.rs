//! What the bundled CNI manifests (flannel, calico) share: the checks of the
//! registry and the pod network, walking the containers of a workload's pod
//! template, and the list of images for pre-pulling.

use std::net::IpAddr;

use crate::yaml::Value;
use anyhow::{anyhow, bail, Result};

use crate::yaml::parse_documents;

/// `registry` without a trailing `/`, refused if it is not `HOST[/PATH]`.
pub(crate) fn checked_registry<'a>(
    cni: &str,
    registry: Option<&'a str>,
) -> Result<Option<&'a str>> {
    registry
        .map(|r| {
            let r = r.trim_end_matches('/');
            if r.is_empty() || r.contains("://") || r.chars().any(char::is_whitespace) {
                bail!("{}", crate::tr!("cni-bad-registry", cni, format!("{r:?}")));
            }
            Ok(r)
        })
        .transpose()
}

/// Refuses a pod network that is not an IPv4 CIDR.
pub(crate) fn check_ipv4_cidr(cni: &str, cidr: &str) -> Result<()> {
    let bad = || {
        anyhow!(
            "{}",
            crate::tr!("cni-bad-network", cni, format!("{cidr:?}"))
        )
    };
    let (addr, len) = cidr.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    if !addr.is_ipv4() || len > 32 {
        return Err(bad());
    }
    Ok(())
}

/// Calls `f` on every (init) container of the workload's pod template.
pub(crate) fn for_each_container(
    cni: &str,
    workload: &mut Value,
    mut f: impl FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    let spec = workload
        .get_mut("spec")
        .and_then(|s| s.get_mut("template"))
        .and_then(|t| t.get_mut("spec"))
        .ok_or_else(|| anyhow!("{}", crate::tr!("cni-no-pod-spec", cni)))?;
    for list in ["initContainers", "containers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_sequence_mut) {
            for container in containers {
                f(container)?;
            }
        }
    }
    Ok(())
}

/// Replaces the container's image by `rename(old image)`; whether it had one.
pub(crate) fn rename_image(
    cni: &str,
    container: &mut Value,
    rename: impl Fn(&str) -> Result<String>,
) -> Result<bool> {
    let Some(image) = container.get_mut("image") else {
        return Ok(false);
    };
    let old = image
        .as_str()
        .ok_or_else(|| anyhow!("{}", crate::tr!("cni-image-not-string", cni)))?;
    *image = Value::from(rename(old)?);
    Ok(true)
}

/// The images of the pod templates of `kinds` in a rendered manifest, without
/// duplicates, in manifest order.
pub(crate) fn images(manifest: &str, kinds: &[&str]) -> Result<Vec<String>> {
    let mut images: Vec<String> = Vec::new();
    for doc in parse_documents(manifest)? {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        if !kinds.contains(&kind) {
            continue;
        }
        let spec = &doc["spec"]["template"]["spec"];
        for list in ["initContainers", "containers"] {
            for c in spec[list].as_sequence().into_iter().flatten() {
                if let Some(image) = c["image"].as_str() {
                    if !images.iter().any(|i| i == image) {
                        images.push(image.to_string());
                    }
                }
            }
        }
    }
    Ok(images)
}
