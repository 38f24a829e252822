//! The network plugin (`U7S_CNI_PLUGIN`): everything that depends on which
//! one was chosen, in one place.
//!
//! - the host ports its traffic needs, forwarded by the rootlesskit role and
//!   checked free by preflight ([`ports`]);
//! - the manifest the first master applies ([`manifest`]), from the bundled
//!   `data/manifests` with images moved to the chosen registry (`flannel`,
//!   `calico`, what they share in `workload`);
//! - the files written into /etc/cni/net.d before the stack starts ([`conf_files`]).

pub mod calico;
pub mod flannel;
mod workload;

use anyhow::Result;

use crate::layout::host;
pub use crate::settings::CniPlugin;
use crate::stack::ports::Proto;

/// A host port forward the plugin needs on every node, beyond the ones every
/// node has: (host port, port inside, protocol).
pub type Forward = (u16, u16, Proto);

/// calico: Typha (5473/tcp), VXLAN (4789/udp), WireGuard (51820/udp).
/// flannel's VXLAN (8472/udp) is forwarded on every node, whatever the
/// plugin (see `stack::ports::role_ports`).
pub fn ports(plugin: CniPlugin) -> &'static [Forward] {
    match plugin {
        CniPlugin::Flannel => &[],
        CniPlugin::Calico => &[
            (5473, 5473, Proto::Tcp),
            (4789, 4789, Proto::Udp),
            (51820, 51820, Proto::Udp),
        ],
    }
}

/// Where the first master writes the plugin's manifest before applying it.
pub fn manifest_path(plugin: CniPlugin) -> &'static str {
    match plugin {
        CniPlugin::Flannel => host::FLANNEL_MANIFEST,
        CniPlugin::Calico => host::CALICO_MANIFEST,
    }
}

/// The plugin's manifest with its images in `registry` (`<registry>/<platform>`,
/// or `None` for the upstream images) and its pod network `pod_cidr`.
pub fn manifest(plugin: CniPlugin, registry: Option<&str>, pod_cidr: &str) -> Result<String> {
    match plugin {
        CniPlugin::Flannel => flannel::flannel_manifest(registry, pod_cidr),
        CniPlugin::Calico => calico::calico_manifest(registry, pod_cidr),
    }
}

/// The images of the plugin's manifest, for pre-pulling.
pub fn images(plugin: CniPlugin, registry: Option<&str>) -> Result<Vec<String>> {
    match plugin {
        CniPlugin::Flannel => flannel::flannel_images(registry),
        CniPlugin::Calico => calico::calico_images(registry),
    }
}

/// The files for /etc/cni/net.d: (file name, contents). calico's installer
/// writes its own from inside; flannel's is written ahead so kubelet finds a
/// network before the DaemonSet runs.
pub fn conf_files(plugin: CniPlugin) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![(
        "99-loopback.conf",
        include_str!("../../data/cni/99-loopback.conf"),
    )];
    if plugin == CniPlugin::Flannel {
        files.push((
            "10-flannel.conflist",
            include_str!("../../data/cni/10-flannel.conflist"),
        ));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_plugin_has_its_manifest_ports_and_files() {
        assert_eq!(
            manifest_path(CniPlugin::Flannel),
            "/etc/kubernetes/manifests/kube-flannel.yml"
        );
        assert_eq!(
            manifest_path(CniPlugin::Calico),
            "/etc/kubernetes/calico.yaml"
        );
        assert!(ports(CniPlugin::Flannel).is_empty());
        assert!(ports(CniPlugin::Calico).contains(&(5473, 5473, Proto::Tcp)));
        let names = |p| conf_files(p).iter().map(|(n, _)| *n).collect::<Vec<_>>();
        assert_eq!(
            names(CniPlugin::Flannel),
            ["99-loopback.conf", "10-flannel.conflist"]
        );
        assert_eq!(names(CniPlugin::Calico), ["99-loopback.conf"]);
        for plugin in [CniPlugin::Flannel, CniPlugin::Calico] {
            let text = manifest(plugin, Some("registry.local/k8s-p10"), "10.244.0.0/16").unwrap();
            for image in images(plugin, Some("registry.local/k8s-p10")).unwrap() {
                assert!(text.contains(&image), "{image}");
            }
        }
    }
}
