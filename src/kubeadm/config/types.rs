//! Typed documents of the kubeadm configuration u7s generates.
//!
//! Only the fields u7s sets are modelled; every field is optional and skipped
//! when unset, so the rendered YAML holds exactly what u7s decided. Field names
//! follow the json tags of the upstream Go types (see
//! `data/kubeadm-contract/config-fields.json`); the irregular ones
//! (`localAPIEndpoint`, `certSANs`, `clusterDNS`, ...) are renamed explicitly.

use std::collections::BTreeMap;

use serde::Serialize;

use super::args::ExtraArgs;

pub const KIND_INIT: &str = "InitConfiguration";
pub const KIND_JOIN: &str = "JoinConfiguration";
pub const KIND_CLUSTER: &str = "ClusterConfiguration";
pub const KIND_KUBELET: &str = "KubeletConfiguration";
pub const KIND_KUBE_PROXY: &str = "KubeProxyConfiguration";
pub const KUBELET_API: &str = "kubelet.config.k8s.io/v1beta1";
pub const KUBE_PROXY_API: &str = "kubeproxy.config.k8s.io/v1alpha1";

// ---------------------------------------------------------------- kubeadm

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_tokens: Option<Vec<BootstrapToken>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_registration: Option<NodeRegistration>,
    #[serde(rename = "localAPIEndpoint", skip_serializing_if = "Option::is_none")]
    pub local_api_endpoint: Option<ApiEndpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_phases: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapToken {
    /// Absent: kubeadm generates one (`[a-z0-9]{6}.[a-z0-9]{16}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRegistration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cri_socket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet_extra_args: Option<ExtraArgs>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiEndpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Patches {
    pub directory: String,
}

/// v1beta4 only: `timeouts` replaced `discovery.timeout` (and
/// `apiServer.timeoutForControlPlane`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_registration: Option<NodeRegistration>,
    pub discovery: Discovery,
    /// Present only for a control-plane join: its presence is what makes
    /// kubeadm join a master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<JoinControlPlane>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_phases: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<BootstrapTokenDiscovery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileDiscovery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_bootstrap_token: Option<String>,
    /// v1beta3 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapTokenDiscovery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_server_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert_hashes: Option<Vec<String>>,
    #[serde(
        rename = "unsafeSkipCAVerification",
        skip_serializing_if = "Option::is_none"
    )]
    pub unsafe_skip_ca_verification: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDiscovery {
    pub kube_config_path: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinControlPlane {
    #[serde(rename = "localAPIEndpoint", skip_serializing_if = "Option::is_none")]
    pub local_api_endpoint: Option<ApiEndpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificates_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_gates: Option<BTreeMap<String, bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd: Option<Etcd>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networking: Option<Networking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_server: Option<ApiServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller_manager: Option<ControlPlaneComponent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<ControlPlaneComponent>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Etcd {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalEtcd>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalEtcd {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_args: Option<ExtraArgs>,
    #[serde(rename = "serverCertSANs", skip_serializing_if = "Option::is_none")]
    pub server_cert_sans: Option<Vec<String>>,
    #[serde(rename = "peerCertSANs", skip_serializing_if = "Option::is_none")]
    pub peer_cert_sans: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Networking {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_domain: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_args: Option<ExtraArgs>,
    #[serde(rename = "certSANs", skip_serializing_if = "Option::is_none")]
    pub cert_sans: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_args: Option<ExtraArgs>,
}

// ---------------------------------------------------------------- kubelet

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeletConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_swap_on: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_gates: Option<BTreeMap<String, bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eviction_hard: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_storage_capacity_isolation: Option<bool>,
    #[serde(rename = "cgroupsPerQOS", skip_serializing_if = "Option::is_none")]
    pub cgroups_per_qos: Option<bool>,
    /// `Some(vec![])` renders `[]` on purpose: no enforcement at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_node_allocatable: Option<Vec<String>>,
    #[serde(rename = "clusterDNS", skip_serializing_if = "Option::is_none")]
    pub cluster_dns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_plugin_dir: Option<String>,
}

// ---------------------------------------------------------------- kube-proxy

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeProxyConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(rename = "clusterCIDR", skip_serializing_if = "Option::is_none")]
    pub cluster_cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_connection: Option<ClientConnection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conntrack: Option<Conntrack>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientConnection {
    pub kubeconfig: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conntrack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_core: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_established_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_close_wait_timeout: Option<String>,
}
