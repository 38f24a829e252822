//! The kubeadm configuration u7s generates for `kubeadm init` / `kubeadm join`
//! and the overlay of an admin's own `--config` file. (The CNI manifests are
//! `crate::cni`'s.)
//!
//! - [`ConfigInput`]: plain data the caller maps its settings into;
//! - [`render`]: the multi-document YAML for the role and Kubernetes version;
//! - [`overlay`]: the admin's `--config` file with the rootless fields set;
//!
//! Everything is built as typed serde values and rendered by `crate::yaml`: no
//! user-given value is ever spliced into YAML (or JSON) text.
//!
//! API version: kubeadm.k8s.io/v1beta3 below Kubernetes 1.31, v1beta4 from 1.31
//! (v1beta4 is the default there, and `extraArgs` became a list of `{name, value}`).
//!
//! For `join` only the JoinConfiguration is rendered: kubeadm join reads no
//! ClusterConfiguration, KubeletConfiguration or KubeProxyConfiguration from
//! its `--config` (it warns and ignores them); a joining node gets the kubelet
//! and kube-proxy configuration from the cluster's ConfigMaps, which the init's
//! documents (with the rootless settings) filled.

mod args;
pub mod mask;
mod overlay;
pub mod types;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

pub use args::ExtraArgs;
pub use mask::{has_secrets, mask_secrets, strip_secrets};
pub use overlay::{admin_facts, overlay, AdminFacts};
use types::*;

/// The CRI socket as kubelet and kubeadm see it inside the namespaces.
pub const CRI_SOCKET: &str = "unix:///run/crio/crio.sock";
/// The etcd data dir of u7s; init refuses to reuse its `member` subdirectory.
pub const ETCD_DATA_DIR: &str = "/var/lib/podsec/u7s/etcd";
/// The etcd client URL the apiserver uses (etcd listens on loopback inside the namespace).
pub const ETCD_SERVERS: &str = "https://127.0.0.1:2379";
/// etcd peers listen on every address: rootlesskit's builtin port driver
/// delivers forwarded connections (2380/tcp) to the loopback address inside.
pub const ETCD_LISTEN_PEER_URLS: &str = "https://0.0.0.0:2380";
/// kube-proxy's kubeconfig as kubeadm's kube-proxy DaemonSet mounts it.
pub const KUBE_PROXY_KUBECONFIG: &str = "/var/lib/kube-proxy/kubeconfig.conf";
/// The oldest Kubernetes minor version u7s supports.
pub const MIN_MINOR: u32 = 26;
/// The first minor version whose kubeadm defaults to v1beta4.
pub const V1BETA4_FROM_MINOR: u32 = 31;
/// The last minor version known to accept v1beta3 (deprecated in 1.31,
/// "supported until version 1.34 or later", kubernetes PR #125029).
pub const V1BETA3_UNTIL_MINOR: u32 = 34;

/// A kubeadm configuration API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeadmApi {
    V1Beta3,
    V1Beta4,
}

impl KubeadmApi {
    pub const ALL: [KubeadmApi; 2] = [KubeadmApi::V1Beta3, KubeadmApi::V1Beta4];

    /// The version u7s generates for Kubernetes `1.<minor>`.
    pub fn for_minor(minor: u32) -> Result<Self> {
        if minor < MIN_MINOR {
            bail!("{}", crate::tr!("kube-minor-unsupported", minor, MIN_MINOR));
        }
        Ok(if minor < V1BETA4_FROM_MINOR {
            KubeadmApi::V1Beta3
        } else {
            KubeadmApi::V1Beta4
        })
    }

    /// Whether kubeadm `1.<minor>` accepts this version in a `--config` file.
    pub fn accepted_by(self, minor: u32) -> bool {
        match self {
            KubeadmApi::V1Beta3 => (MIN_MINOR..=V1BETA3_UNTIL_MINOR).contains(&minor),
            KubeadmApi::V1Beta4 => minor >= V1BETA4_FROM_MINOR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KubeadmApi::V1Beta3 => "kubeadm.k8s.io/v1beta3",
            KubeadmApi::V1Beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }

    pub fn parse(api_version: &str) -> Option<Self> {
        KubeadmApi::ALL
            .into_iter()
            .find(|api| api.as_str() == api_version)
    }
}

pub use crate::settings::Role;

/// Everything the generated configuration depends on, as plain data. The
/// caller maps its flags and settings into it; nothing here reads the host.
/// `Default` gives empty values (which [`render`] refuses) and port 6443, for
/// `ConfigInput { role, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigInput {
    pub role: Role,
    /// `v1.30.2` (must start with `v`, and match `minor`).
    pub kubernetes_version: String,
    /// The minor number of `kubernetes_version` (30 for `v1.30.2`).
    pub minor: u32,
    /// The image registry with its platform, e.g. `registry.local/k8s-p10`.
    pub image_repository: String,
    /// `--apiserver-advertise-address` or the host's default-route address.
    pub advertise_address: String,
    /// `--apiserver-bind-port` (6443).
    pub bind_port: u16,
    /// init: `--control-plane-endpoint` or `ADDR:PORT`.
    pub control_plane_endpoint: Option<String>,
    /// join: the positional `HOST:PORT`.
    pub join_endpoint: Option<String>,
    /// init: `--token` (bootstrap token to create); join: the discovery token.
    pub token: Option<String>,
    /// join: `--discovery-token-ca-cert-hash` (`sha256:<hex>`), any number.
    pub ca_cert_hashes: Vec<String>,
    /// join: `--discovery-token-unsafe-skip-ca-verification`.
    pub unsafe_skip_ca_verification: bool,
    /// init: `--certificate-key`; control-plane join: the key of the uploaded certs.
    pub certificate_key: Option<String>,
    /// `--node-name` (the hostname when unset: kubeadm's default).
    pub node_name: Option<String>,
    /// `--pod-network-cidr`.
    pub pod_subnet: String,
    /// `--service-cidr`.
    pub service_subnet: String,
    /// `--service-dns-domain` (kubeadm's default `cluster.local` when unset).
    pub service_dns_domain: Option<String>,
    /// `--apiserver-cert-extra-sans`; `127.0.0.1` is always added.
    pub cert_sans: Vec<String>,
    /// `--cert-dir`.
    pub cert_dir: Option<String>,
    /// kubeadm's `--feature-gates`, parsed.
    pub feature_gates: Option<BTreeMap<String, bool>>,
    /// `--patches`.
    pub patches_dir: Option<String>,
    /// `--skip-phases`.
    pub skip_phases: Vec<String>,
    /// init: `--token-ttl` (e.g. `24h0m0s`).
    pub token_ttl: Option<String>,
    /// join: `--discovery-file` (path or https URL), instead of token discovery.
    pub discovery_file: Option<String>,
    /// join: how long discovery may take (e.g. `5m0s`): `discovery.timeout` in
    /// v1beta3, `timeouts.discovery` in v1beta4.
    pub discovery_timeout: Option<String>,
    /// join: `--tls-bootstrap-token`.
    pub tls_bootstrap_token: Option<String>,
    /// Extra kubelet flags for `nodeRegistration.kubeletExtraArgs` (name without dashes).
    pub kubelet_extra_args: Vec<(String, String)>,
    /// The cluster DNS address for the kubelet (`x.y.z.10` of the service network).
    pub cluster_dns: String,
    /// kubelet `volumePluginDir` (the reference uses
    /// `$XDG_DATA_HOME/usernetes/kubelet-plugins-exec` of u7s-admin, since the
    /// default under `/usr/libexec` is not writable for it).
    pub kubelet_volume_plugin_dir: Option<String>,
}

impl Default for ConfigInput {
    fn default() -> Self {
        ConfigInput {
            role: Role::InitMaster,
            kubernetes_version: String::new(),
            minor: 0,
            image_repository: String::new(),
            advertise_address: String::new(),
            bind_port: 6443,
            control_plane_endpoint: None,
            join_endpoint: None,
            token: None,
            ca_cert_hashes: Vec::new(),
            unsafe_skip_ca_verification: false,
            certificate_key: None,
            node_name: None,
            pod_subnet: String::new(),
            service_subnet: String::new(),
            service_dns_domain: None,
            cert_sans: Vec::new(),
            cert_dir: None,
            feature_gates: None,
            patches_dir: None,
            skip_phases: Vec::new(),
            token_ttl: None,
            discovery_file: None,
            discovery_timeout: None,
            tls_bootstrap_token: None,
            kubelet_extra_args: Vec::new(),
            cluster_dns: String::new(),
            kubelet_volume_plugin_dir: None,
        }
    }
}

impl ConfigInput {
    /// The kubeadm API version for this input's Kubernetes version.
    pub fn api(&self) -> Result<KubeadmApi> {
        KubeadmApi::for_minor(self.minor)
    }

    fn validate(&self) -> Result<KubeadmApi> {
        let api = self.api()?;
        check_version(&self.kubernetes_version, self.minor)?;
        for (what, value) in [
            ("image repository", &self.image_repository),
            ("advertise address", &self.advertise_address),
            ("pod network", &self.pod_subnet),
            ("service network", &self.service_subnet),
            ("cluster DNS address", &self.cluster_dns),
        ] {
            if value.trim().is_empty() {
                bail!("{}", crate::tr!("config-value-empty", what));
            }
        }
        if self.role != Role::InitMaster && self.discovery_file.is_none() {
            if self.join_endpoint.as_deref().unwrap_or("").is_empty() {
                bail!("{}", crate::tr!("join-needs-endpoint-or-file"));
            }
            if self.token.as_deref().unwrap_or("").is_empty() {
                bail!("{}", crate::tr!("join-needs-token"));
            }
            if self.ca_cert_hashes.is_empty() && !self.unsafe_skip_ca_verification {
                bail!("{}", crate::tr!("join-needs-ca-hash"));
            }
        }
        Ok(api)
    }
}

/// `v1.<minor>` or `v1.<minor>.<patch>[-pre]`, with `<minor>` equal to `minor`.
fn check_version(version: &str, minor: u32) -> Result<()> {
    let bad = || {
        anyhow::anyhow!(
            "{}",
            crate::tr!("kube-version-shape", format!("{version:?}"), minor)
        )
    };
    let rest = version.strip_prefix("v1.").ok_or_else(bad)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.parse::<u32>().ok() != Some(minor) {
        return Err(bad());
    }
    let tail = &rest[digits.len()..];
    if !(tail.is_empty() || tail.starts_with('.'))
        || !tail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    {
        return Err(bad());
    }
    Ok(())
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// The items without duplicates, in their first order.
fn unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn node_registration(input: &ConfigInput, api: KubeadmApi) -> NodeRegistration {
    let kubelet_extra_args = (!input.kubelet_extra_args.is_empty()).then(|| {
        input
            .kubelet_extra_args
            .iter()
            .fold(ExtraArgs::new(api), |args, (n, v)| args.with(n, v))
    });
    NodeRegistration {
        name: input.node_name.clone(),
        cri_socket: Some(CRI_SOCKET.to_string()),
        kubelet_extra_args,
    }
}

fn patches(input: &ConfigInput) -> Option<Patches> {
    input.patches_dir.as_ref().map(|d| Patches {
        directory: d.clone(),
    })
}

fn local_api_endpoint(input: &ConfigInput) -> ApiEndpoint {
    ApiEndpoint {
        advertise_address: Some(input.advertise_address.clone()),
        bind_port: Some(input.bind_port),
    }
}

/// The InitConfiguration document (role InitMaster).
pub fn init_configuration(input: &ConfigInput, api: KubeadmApi) -> InitConfiguration {
    // A TTL without a token: an entry without `token`, for which kubeadm
    // generates one (as `kubeadm init --token-ttl` alone does).
    let bootstrap_tokens = (input.token.is_some() || input.token_ttl.is_some()).then(|| {
        vec![BootstrapToken {
            token: input.token.clone(),
            ttl: input.token_ttl.clone(),
        }]
    });
    InitConfiguration {
        api_version: api.as_str().to_string(),
        kind: KIND_INIT.to_string(),
        bootstrap_tokens,
        node_registration: Some(node_registration(input, api)),
        local_api_endpoint: Some(local_api_endpoint(input)),
        certificate_key: input.certificate_key.clone(),
        skip_phases: non_empty(&input.skip_phases),
        patches: patches(input),
    }
}

/// The JoinConfiguration document (roles Worker and ControlPlaneJoin).
pub fn join_configuration(input: &ConfigInput, api: KubeadmApi) -> JoinConfiguration {
    let mut discovery = Discovery {
        tls_bootstrap_token: input.tls_bootstrap_token.clone(),
        ..Discovery::default()
    };
    match &input.discovery_file {
        Some(path) => {
            discovery.file = Some(FileDiscovery {
                kube_config_path: path.clone(),
            })
        }
        None => {
            discovery.bootstrap_token = Some(BootstrapTokenDiscovery {
                token: input.token.clone(),
                api_server_endpoint: input.join_endpoint.clone(),
                ca_cert_hashes: non_empty(&input.ca_cert_hashes),
                unsafe_skip_ca_verification: input.unsafe_skip_ca_verification.then_some(true),
            })
        }
    }
    let mut timeouts = None;
    if let Some(t) = &input.discovery_timeout {
        match api {
            KubeadmApi::V1Beta3 => discovery.timeout = Some(t.clone()),
            KubeadmApi::V1Beta4 => {
                timeouts = Some(Timeouts {
                    discovery: Some(t.clone()),
                })
            }
        }
    }
    let control_plane = (input.role == Role::ControlPlaneJoin).then(|| JoinControlPlane {
        local_api_endpoint: Some(local_api_endpoint(input)),
        certificate_key: input.certificate_key.clone(),
    });
    JoinConfiguration {
        api_version: api.as_str().to_string(),
        kind: KIND_JOIN.to_string(),
        node_registration: Some(node_registration(input, api)),
        discovery,
        control_plane,
        skip_phases: non_empty(&input.skip_phases),
        patches: patches(input),
        timeouts,
    }
}

/// The ClusterConfiguration document (role InitMaster).
pub fn cluster_configuration(input: &ConfigInput, api: KubeadmApi) -> ClusterConfiguration {
    let loopback = "127.0.0.1".to_string();
    let etcd_sans = unique([input.advertise_address.clone(), loopback.clone()]);
    let cert_sans = unique(input.cert_sans.iter().cloned().chain([loopback]));
    ClusterConfiguration {
        api_version: api.as_str().to_string(),
        kind: KIND_CLUSTER.to_string(),
        kubernetes_version: Some(input.kubernetes_version.clone()),
        image_repository: Some(input.image_repository.clone()),
        control_plane_endpoint: input.control_plane_endpoint.clone(),
        certificates_dir: input.cert_dir.clone(),
        feature_gates: input.feature_gates.clone(),
        etcd: Some(Etcd {
            local: Some(LocalEtcd {
                image_repository: Some(input.image_repository.clone()),
                data_dir: Some(ETCD_DATA_DIR.to_string()),
                extra_args: Some(
                    ExtraArgs::new(api).with("listen-peer-urls", ETCD_LISTEN_PEER_URLS),
                ),
                server_cert_sans: Some(etcd_sans.clone()),
                peer_cert_sans: Some(etcd_sans),
            }),
        }),
        networking: Some(Networking {
            pod_subnet: Some(input.pod_subnet.clone()),
            service_subnet: Some(input.service_subnet.clone()),
            dns_domain: input.service_dns_domain.clone(),
        }),
        // No `advertise-address` here: the ClusterConfiguration is the
        // cluster's (kubeadm-config ConfigMap), and kubeadm puts extraArgs over
        // every control-plane node's manifest, so each master that joins would
        // advertise the first one's address. kubeadm takes each node's own
        // from its localAPIEndpoint.
        api_server: Some(ApiServer {
            extra_args: Some(ExtraArgs::new(api).with("etcd-servers", ETCD_SERVERS)),
            cert_sans: Some(cert_sans),
        }),
        controller_manager: Some(ControlPlaneComponent {
            extra_args: Some(
                ExtraArgs::new(api)
                    .with("allocate-node-cidrs", "true")
                    .with("cluster-cidr", &input.pod_subnet)
                    .with("service-cluster-ip-range", &input.service_subnet),
            ),
        }),
        scheduler: None,
    }
}

/// The kubelet settings rootless operation needs (reference: `_kubelet.sh`),
/// plus the cluster DNS address.
///
/// `evictionHard` is written out in full (the upstream defaults, with the disk
/// thresholds lowered to 3%): the rootless node keeps its images and pod data
/// under u7s-admin's home, usually one filesystem with the rest of the host,
/// and the upstream 10%/15% would evict pods on any ordinary disk. A full map
/// also does not depend on how a kubelet version fills a partial one.
pub fn kubelet_configuration(input: &ConfigInput) -> KubeletConfiguration {
    KubeletConfiguration {
        api_version: KUBELET_API.to_string(),
        kind: KIND_KUBELET.to_string(),
        cgroup_driver: Some("cgroupfs".to_string()),
        fail_swap_on: Some(false),
        feature_gates: Some(BTreeMap::from([(
            "KubeletInUserNamespace".to_string(),
            true,
        )])),
        eviction_hard: Some(rootless_eviction_hard()),
        local_storage_capacity_isolation: Some(false),
        cgroups_per_qos: Some(true),
        enforce_node_allocatable: Some(Vec::new()),
        cluster_dns: Some(vec![input.cluster_dns.clone()]),
        cluster_domain: input.service_dns_domain.clone(),
        volume_plugin_dir: input.kubelet_volume_plugin_dir.clone(),
    }
}

fn rootless_eviction_hard() -> BTreeMap<String, String> {
    [
        ("memory.available", "100Mi"),
        ("nodefs.available", "3%"),
        ("nodefs.inodesFree", "5%"),
        ("imagefs.available", "3%"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// kube-proxy in iptables mode; conntrack limits and timeouts at 0 ("leave the
/// sysctl as it is"): kube-proxy cannot set sysctls inside a user namespace.
pub fn kube_proxy_configuration(input: &ConfigInput) -> KubeProxyConfiguration {
    KubeProxyConfiguration {
        api_version: KUBE_PROXY_API.to_string(),
        kind: KIND_KUBE_PROXY.to_string(),
        mode: Some("iptables".to_string()),
        cluster_cidr: Some(input.pod_subnet.clone()),
        client_connection: Some(ClientConnection {
            kubeconfig: KUBE_PROXY_KUBECONFIG.to_string(),
        }),
        conntrack: Some(Conntrack {
            max_per_core: Some(0),
            tcp_established_timeout: Some("0s".to_string()),
            tcp_close_wait_timeout: Some("0s".to_string()),
        }),
    }
}

/// The kubeadm configuration for `input`: a multi-document YAML, each document
/// starting with `---`.
///
/// init: InitConfiguration, ClusterConfiguration, KubeletConfiguration,
/// KubeProxyConfiguration; join (worker or control plane): JoinConfiguration.
pub fn render(input: &ConfigInput) -> Result<String> {
    let api = input.validate()?;
    let docs = match input.role {
        Role::InitMaster => vec![
            to_value(&init_configuration(input, api))?,
            to_value(&cluster_configuration(input, api))?,
            to_value(&kubelet_configuration(input))?,
            to_value(&kube_proxy_configuration(input))?,
        ],
        Role::Worker | Role::ControlPlaneJoin => {
            vec![to_value(&join_configuration(input, api))?]
        }
    };
    crate::yaml::documents_to_string(&docs)
}

fn to_value<T: Serialize>(doc: &T) -> Result<crate::yaml::Value> {
    Ok(crate::yaml::to_value(doc)?)
}

#[cfg(test)]
mod tests;
