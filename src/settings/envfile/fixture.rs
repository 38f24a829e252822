//! The env file every test shares, the unit tests and the integration
//! tests alike (one fixture, not a copy per test file). Not used by u7s.

use super::EnvFile;

const BASE: &str = "U7S_KUBEVERSION='v1.26.3'
U7S_KUBEADMFLAGS=''
U7S_PLATFORM='k8s-p10'
U7S_REGISTRY='registry.local'
U7S_REGISTRY_PLATFORM='registry.local/k8s-p10'
U7S_FLANNEL_REGISTRY='registry.local/k8s-p10'
U7S_FLANNEL_TAG=''
U7S_IMAGES='k8s-p10/pause:3.9'
U7S_PAUSE_IMAGE='k8s-p10/pause:3.9'
U7S_UID='989'
U7S_EXTIP='10.20.30.40'
U7S_APISERVER_ADVERTISE_ADDRESS='10.20.30.40'
U7S_APISERVER_BIND_PORT='6443'
U7S_EXTDEV='eth0'
U7S_CONTROLPLANE='initMaster'
U7S_APISERVERENDPOINT='10.20.30.40:6443'
U7S_TOKEN=''
U7S_CACERTHASH=''
U7S_CERIFICATEKEY=''
U7S_SERVICECIDR='10.96.0.0/12'
U7S_PODNETWORKCIDR='10.244.0.0/16'
U7S_CNI_PLUGIN='flannel'
";

/// An env file as `u7s kubeadm init` writes it, with the values of
/// `fields` (each variable must be one of the file's) replaced.
pub fn text_with(fields: &[(&str, &str)]) -> String {
    let mut lines: Vec<String> = BASE.lines().map(str::to_owned).collect();
    for (key, value) in fields {
        let line = lines
            .iter_mut()
            .find(|l| l.split_once('=').is_some_and(|(k, _)| k == *key))
            .unwrap_or_else(|| panic!("{key} is not a variable of the env file"));
        *line = format!("{key}='{value}'");
    }
    lines.join("\n") + "\n"
}

/// The env file of a node whose `U7S_CONTROLPLANE` is `role`
/// (`initMaster`, `master` or empty).
pub fn text(role: &str) -> String {
    text_with(&[("U7S_CONTROLPLANE", role)])
}

pub fn env_file(role: &str) -> EnvFile {
    EnvFile::parse(&text(role)).expect("the fixture parses")
}
