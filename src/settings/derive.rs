//! Everything `kubeadm init` / `kubeadm join` needs, derived once from the
//! command line, the environment and the host facts, and checked before
//! anything on the host is touched.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};

use super::host::HostFacts;
use super::network::{self, Cidr, CniPlugin, NetSource, ServiceAddrs};
use super::registry::{EnvInputs, Registry};
use super::version::{KubeVersion, VersionSource};

/// kubeadm's default `--apiserver-bind-port`.
pub const DEFAULT_BIND_PORT: u16 = 6443;

/// What this node becomes; shared by the settings, the kubeadm configuration
/// and the host plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    /// `kubeadm init`: the first control-plane node.
    #[default]
    InitMaster,
    /// `kubeadm join` without `--control-plane`.
    Worker,
    /// `kubeadm join --control-plane`: another control-plane node.
    ControlPlaneJoin,
}

impl Role {
    /// `U7S_CONTROLPLANE` as the service roles read it: `initMaster`, `master`,
    /// or empty for a worker.
    pub fn env_value(self) -> &'static str {
        match self {
            Role::InitMaster => "initMaster",
            Role::ControlPlaneJoin => "master",
            Role::Worker => "",
        }
    }

    pub fn from_env_value(v: &str) -> Option<Role> {
        match v {
            "initMaster" => Some(Role::InitMaster),
            "master" => Some(Role::ControlPlaneJoin),
            "" => Some(Role::Worker),
            _ => None,
        }
    }

    pub fn is_control_plane(self) -> bool {
        self != Role::Worker
    }

    /// The kubeadm subcommand that makes this role.
    pub fn subcommand(self) -> &'static str {
        match self {
            Role::InitMaster => "init",
            _ => "join",
        }
    }
}

/// `HOST[:PORT]`: an API server endpoint (a name, an IPv4 address, or a
/// bracketed IPv6 address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: Option<u16>,
}

impl FromStr for Endpoint {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Endpoint> {
        let bad = || anyhow!("{}", crate::tr!("not-an-endpoint", format!("{s:?}")));
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(bad)?;
            h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            match after {
                "" => (format!("[{h}]"), None),
                p => (format!("[{h}]"), Some(p.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (s.to_owned(), None),
            }
        };
        if !host.starts_with('[') {
            let ok = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return Err(bad());
            }
        }
        let port = match port {
            None => None,
            Some(p) if !p.starts_with('0') => {
                Some(p.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(bad)?)
            }
            Some(_) => return Err(bad()),
        };
        Ok(Endpoint { host, port })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// What comes from the kubeadm command line (already split into flags by the
/// flags module) plus the few facts the caller gets by running things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsInput {
    pub role: Role,
    /// `--apiserver-advertise-address`.
    pub advertise_address: Option<String>,
    /// `--apiserver-bind-port` (6443).
    pub bind_port: Option<u16>,
    /// `--control-plane-endpoint` (init only).
    pub control_plane_endpoint: Option<String>,
    /// The `HOST:PORT` positional of `kubeadm join`.
    pub join_endpoint: Option<String>,
    /// `--pod-network-cidr`.
    pub pod_network_cidr: Option<String>,
    /// `--service-cidr`.
    pub service_cidr: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--discovery-token-ca-cert-hash` (repeatable).
    pub ca_cert_hashes: Vec<String>,
    /// `--certificate-key`.
    pub certificate_key: Option<String>,
    /// `--kubernetes-version`.
    pub kubernetes_version: Option<String>,
    /// `--node-name`.
    pub node_name: Option<String>,
    /// `--image-repository`.
    pub image_repository: Option<String>,
    /// Flags passed to the real kubeadm as flags (`-v 5`, `--dry-run`, ...),
    /// one argv entry each.
    pub kubeadm_flags: Vec<String>,
    /// uid of u7s-admin.
    pub admin_uid: u32,
    /// `kubeadm version -o short`, when the real kubeadm could be run.
    pub kubeadm_version: Option<String>,
    /// `kubeadm config images list --image-repository <repo>`, when run.
    pub kubeadm_images: Option<String>,
}

impl SettingsInput {
    /// An input with only the role and uid set (everything else defaulted).
    pub fn new(role: Role, admin_uid: u32) -> SettingsInput {
        SettingsInput {
            role,
            advertise_address: None,
            bind_port: None,
            control_plane_endpoint: None,
            join_endpoint: None,
            pod_network_cidr: None,
            service_cidr: None,
            token: None,
            ca_cert_hashes: Vec::new(),
            certificate_key: None,
            kubernetes_version: None,
            node_name: None,
            image_repository: None,
            kubeadm_flags: Vec::new(),
            admin_uid,
            kubeadm_version: None,
            kubeadm_images: None,
        }
    }
}

/// Everything derived, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub role: Role,
    pub kube_version: KubeVersion,
    /// Whether the generated kubeadm configuration uses `v1beta4`: decided by
    /// the real kubeadm's version when known (it is what reads the file), else
    /// by the Kubernetes version.
    pub config_v1beta4: bool,
    pub registry: Registry,
    pub pause_image: String,
    pub images: Vec<String>,
    pub flannel_registry: String,
    pub flannel_tag: Option<String>,
    pub admin_uid: u32,
    pub hostname: String,
    pub node_name: String,
    pub advertise_address: Ipv4Addr,
    /// The interface holding the advertise address (`U7S_EXTDEV`).
    pub ext_dev: String,
    pub bind_port: u16,
    pub control_plane_endpoint: Endpoint,
    pub token: Option<String>,
    pub ca_cert_hashes: Vec<String>,
    pub certificate_key: Option<String>,
    pub cni: CniPlugin,
    pub pod_network: Cidr,
    pub service_network: Cidr,
    pub service_addrs: ServiceAddrs,
    pub kubeadm_flags: Vec<String>,
}

fn all_lower_alnum(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A bootstrap token: `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn check_token(t: &str) -> Result<()> {
    match t.split_once('.') {
        Some((id, secret))
            if id.len() == 6
                && secret.len() == 16
                && all_lower_alnum(id)
                && all_lower_alnum(secret) =>
        {
            Ok(())
        }
        // The value is a secret: never echo it.
        _ => bail!("{}", crate::tr!("bad-token")),
    }
}

/// `sha256:<64 hex>`.
pub fn check_ca_cert_hash(h: &str) -> Result<()> {
    match h.strip_prefix("sha256:") {
        Some(hex) if is_hex(hex, 64) => Ok(()),
        _ => bail!("{}", crate::tr!("bad-ca-hash")),
    }
}

/// 32 bytes as 64 hex digits.
pub fn check_certificate_key(k: &str) -> Result<()> {
    if is_hex(k, 64) {
        Ok(())
    } else {
        bail!("{}", crate::tr!("bad-certificate-key"))
    }
}

/// A node name kubeadm accepts: a lower-case DNS subdomain (kubeadm lowercases
/// the host name itself, so the host name is lowercased first).
pub fn check_node_name(name: &str, what: &str) -> Result<String> {
    let n = name.to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok {
        Ok(n)
    } else {
        bail!("{}", crate::tr!("bad-node-name", what, format!("{name:?}")))
    }
}

impl Settings {
    pub fn derive(input: &SettingsInput, env: &EnvInputs, host: &HostFacts) -> Result<Settings> {
        let role = input.role;
        let (kube_version, config_v1beta4) = versions(input, env)?;
        let (registry, images, pause_image) = registry_and_images(input, env, host, &kube_version)?;
        let flannel_tag = flannel_tag(env)?;
        let bind_port = match input.bind_port {
            Some(0) => bail!("{}", crate::tr!("bind-port-zero")),
            Some(p) => p,
            None => DEFAULT_BIND_PORT,
        };
        let (advertise_address, ext_dev) = advertise(input, host)?;
        let control_plane_endpoint = control_plane_endpoint(input, advertise_address, bind_port)?;
        check_join_inputs(input)?;
        let node_name = match &input.node_name {
            Some(n) => check_node_name(n, "--node-name")?,
            None => check_node_name(&host.hostname, &crate::tr!("the-host-name"))?,
        };
        let (cni, pod_network, service_network) = networks(input, env, host)?;
        let service_addrs = ServiceAddrs::derive(&service_network)?;
        Ok(Settings {
            role,
            kube_version,
            config_v1beta4,
            flannel_registry: registry.flannel_registry(),
            registry,
            pause_image,
            images,
            flannel_tag,
            admin_uid: input.admin_uid,
            hostname: host.hostname.clone(),
            node_name,
            advertise_address,
            ext_dev,
            bind_port,
            control_plane_endpoint,
            token: input.token.clone(),
            ca_cert_hashes: input.ca_cert_hashes.clone(),
            certificate_key: input.certificate_key.clone(),
            cni,
            pod_network,
            service_network,
            service_addrs,
            kubeadm_flags: input.kubeadm_flags.clone(),
        })
    }

    /// kubeadm's `imageRepository` (and etcd's): `U7S_REGISTRY_PLATFORM`.
    pub fn image_repository(&self) -> String {
        self.registry.repository()
    }
}

/// The Kubernetes version, and whether kubeadm takes v1beta4 configuration.
fn versions(input: &SettingsInput, env: &EnvInputs) -> Result<(KubeVersion, bool)> {
    let kube_version = KubeVersion::resolve(
        input.kubernetes_version.as_deref(),
        env.kube_version.as_deref(),
        input.kubeadm_version.as_deref(),
    )?;
    let config_v1beta4 = match &input.kubeadm_version {
        Some(k) => KubeVersion::parse(k, VersionSource::Kubeadm)?.uses_v1beta4(),
        None => kube_version.uses_v1beta4(),
    };
    Ok((kube_version, config_v1beta4))
}

/// The registry (`--image-repository` wins over `U7S_REGISTRY`), the
/// images kubeadm listed and the pause image.
fn registry_and_images(
    input: &SettingsInput,
    env: &EnvInputs,
    host: &HostFacts,
    kube_version: &KubeVersion,
) -> Result<(Registry, Vec<String>, String)> {
    let registry = match &input.image_repository {
        Some(repo) if repo.is_empty() => bail!("{}", crate::tr!("image-repository-empty")),
        Some(repo) => Registry::choose(
            &EnvInputs {
                registry: Some(repo.clone()),
                ..env.clone()
            },
            host,
        )
        .map_err(|e| anyhow!("--image-repository: {e}"))?,
        None => Registry::choose(env, host)?,
    };
    let (images, listed_pause) = match &input.kubeadm_images {
        Some(list) => registry.images_from_kubeadm_list(list)?,
        None => (Vec::new(), None),
    };
    let pause_image = listed_pause.unwrap_or_else(|| registry.pause_image(kube_version));
    Ok((registry, images, pause_image))
}

fn flannel_tag(env: &EnvInputs) -> Result<Option<String>> {
    match env.flannel_tag.as_deref() {
        None | Some("") => Ok(None),
        Some(t)
            if t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
        {
            Ok(Some(t.to_owned()))
        }
        Some(t) => bail!("{}", crate::tr!("flannel-tag-bad", format!("{t:?}"))),
    }
}

/// The advertise address (an address of this host) and its interface.
fn advertise(input: &SettingsInput, host: &HostFacts) -> Result<(Ipv4Addr, String)> {
    let Some(raw) = &input.advertise_address else {
        return match host.default_addr() {
            Some(a) => Ok((a.addr, a.iface.clone().unwrap_or_default())),
            None => bail!("{}", crate::tr!("no-default-route")),
        };
    };
    let addr: Ipv4Addr = raw
        .parse()
        .map_err(|_| anyhow!("{}", crate::tr!("advertise-not-ipv4", format!("{raw:?}"))))?;
    if addr.is_loopback() || addr.is_unspecified() {
        bail!("{}", crate::tr!("advertise-unreachable", addr));
    }
    match host.addr_info(addr).and_then(|a| a.iface.clone()) {
        Some(dev) => Ok((addr, dev)),
        None => bail!(
            "{}",
            crate::tr!("advertise-not-local", addr, host_addr_list(host))
        ),
    }
}

/// init: `--control-plane-endpoint` or ADDR:PORT; join: the positional HOST:PORT.
fn control_plane_endpoint(input: &SettingsInput, addr: Ipv4Addr, port: u16) -> Result<Endpoint> {
    if input.role == Role::InitMaster {
        if input.join_endpoint.is_some() {
            bail!("{}", crate::tr!("init-no-endpoint-arg"));
        }
        return match &input.control_plane_endpoint {
            Some(e) => e
                .parse()
                .map_err(|err| anyhow!("--control-plane-endpoint: {err}")),
            None => Ok(Endpoint {
                host: addr.to_string(),
                port: Some(port),
            }),
        };
    }
    if input.control_plane_endpoint.is_some() {
        bail!("{}", crate::tr!("join-no-cp-endpoint"));
    }
    let raw = input
        .join_endpoint
        .as_deref()
        .ok_or_else(|| anyhow!("{}", crate::tr!("join-needs-endpoint")))?;
    let e: Endpoint = raw.parse().map_err(|err| anyhow!("kubeadm join: {err}"))?;
    if e.port.is_none() {
        bail!("{}", crate::tr!("join-no-port", format!("{raw:?}"), raw));
    }
    Ok(e)
}

/// The secrets' shapes, what a role may not take, and kubeadm's flags.
fn check_join_inputs(input: &SettingsInput) -> Result<()> {
    if let Some(t) = &input.token {
        check_token(t)?;
    }
    for h in &input.ca_cert_hashes {
        check_ca_cert_hash(h)?;
    }
    if let Some(k) = &input.certificate_key {
        if input.role == Role::Worker {
            bail!("{}", crate::tr!("certificate-key-worker"));
        }
        check_certificate_key(k)?;
    }
    if input.role != Role::InitMaster && input.pod_network_cidr.is_some() {
        bail!("{}", crate::tr!("join-pod-cidr"));
    }
    for f in &input.kubeadm_flags {
        if f.is_empty() || f.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("{}", crate::tr!("flag-whitespace", format!("{f:?}")));
        }
    }
    Ok(())
}

/// The CNI plugin and the pod and service networks, checked against each
/// other and the host's addresses.
fn networks(
    input: &SettingsInput,
    env: &EnvInputs,
    host: &HostFacts,
) -> Result<(CniPlugin, Cidr, Cidr)> {
    let cni = CniPlugin::from_env_value(env.cni_plugin.as_deref())?;
    let (pod_network, pod_src) = match &input.pod_network_cidr {
        Some(s) => (
            s.parse::<Cidr>()
                .map_err(|e| anyhow!("--pod-network-cidr: {e}"))?,
            NetSource::Flag,
        ),
        None => (cni.default_pod_network(), NetSource::Default),
    };
    let (service_network, svc_src) = match &input.service_cidr {
        Some(s) => (
            s.parse::<Cidr>()
                .map_err(|e| anyhow!("--service-cidr: {e}"))?,
            NetSource::Flag,
        ),
        None => (network::default_service_network(), NetSource::Default),
    };
    network::check_sizes(&pod_network, &service_network)?;
    network::check_overlaps(
        (&pod_network, pod_src),
        (&service_network, svc_src),
        cni,
        &host.addrs,
    )?;
    Ok((cni, pod_network, service_network))
}

fn host_addr_list(host: &HostFacts) -> String {
    let v: Vec<String> = host
        .addrs
        .iter()
        .filter(|a| !a.addr.is_loopback())
        .map(|a| format!("{} on {}", a.addr, a.iface_label()))
        .collect();
    if v.is_empty() {
        "no IPv4 addresses".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::settings::host::{parse_hosts, parse_os_release, DefaultRoute, HostAddr};

    pub const TOKEN: &str = "abcdef.0123456789abcdef";
    pub const HASH: &str =
        "sha256:6d2ab3a07ab4c3cee5e8bb0b8c1b1e7e2f1e7c1f3d6f4d9d1b1b2a3c4d5e6f70";
    pub const CERT_KEY: &str = "5d7c0e5c1a3f2b4e6d8c0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abc";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    pub fn host() -> HostFacts {
        HostFacts {
            hosts: parse_hosts("127.0.0.1 localhost\n10.0.0.5 registry.local\n"),
            os_release: parse_os_release("CPE_NAME=\"cpe:/o:alt:server:10\"\n"),
            hostname: "Master01".into(),
            default_route: Some(DefaultRoute {
                iface: "eth0".into(),
                gateway: Some(ip("192.0.2.1")),
            }),
            addrs: vec![
                HostAddr {
                    iface: Some("lo".into()),
                    addr: ip("127.0.0.1"),
                    prefix: 8,
                },
                HostAddr {
                    iface: Some("eth1".into()),
                    addr: ip("198.51.100.7"),
                    prefix: 24,
                },
                HostAddr {
                    iface: Some("eth0".into()),
                    addr: ip("192.0.2.2"),
                    prefix: 24,
                },
            ],
        }
    }

    pub fn env() -> EnvInputs {
        EnvInputs {
            kube_version: Some("v1.26.3".into()),
            ..EnvInputs::default()
        }
    }

    fn init() -> SettingsInput {
        SettingsInput::new(Role::InitMaster, 989)
    }

    #[test]
    fn init_defaults() {
        let s = Settings::derive(&init(), &env(), &host()).unwrap();
        assert_eq!(s.advertise_address, ip("192.0.2.2"));
        assert_eq!(s.ext_dev, "eth0");
        assert_eq!(s.bind_port, 6443);
        assert_eq!(s.control_plane_endpoint.to_string(), "192.0.2.2:6443");
        assert_eq!(s.node_name, "master01");
        assert_eq!(s.hostname, "Master01");
        assert_eq!(s.image_repository(), "registry.local/k8s-p10");
        assert_eq!(s.pause_image, "k8s-p10/pause:3.9");
        assert_eq!(s.flannel_registry, "registry.local");
        assert_eq!(s.pod_network.to_string(), "10.244.0.0/16");
        assert_eq!(s.service_network.to_string(), "10.96.0.0/12");
        assert_eq!(s.service_addrs.cluster_dns, ip("10.96.0.10"));
        assert_eq!(s.admin_uid, 989);
        assert!(!s.config_v1beta4);
    }

    #[test]
    fn init_flags_win() {
        let mut i = init();
        i.advertise_address = Some("198.51.100.7".into());
        i.bind_port = Some(7443);
        i.control_plane_endpoint = Some("haproxy.example.com:8443".into());
        i.pod_network_cidr = Some("10.250.0.0/16".into());
        i.service_cidr = Some("172.20.16.0/20".into());
        i.node_name = Some("node-a".into());
        i.kubernetes_version = Some("v1.31.2".into());
        i.certificate_key = Some(CERT_KEY.into());
        let s = Settings::derive(&i, &env(), &host()).unwrap();
        assert_eq!(s.ext_dev, "eth1");
        assert_eq!(s.bind_port, 7443);
        assert_eq!(
            s.control_plane_endpoint.to_string(),
            "haproxy.example.com:8443"
        );
        assert_eq!(s.service_addrs.slirp4_ip, ip("172.20.16.100"));
        assert_eq!(s.node_name, "node-a");
        assert_eq!(s.kube_version.to_string(), "v1.31.2");
        assert!(s.config_v1beta4);
        assert_eq!(s.pause_image, "k8s-p10/pause:3.10");
        // no --control-plane-endpoint: ADDR:<bind port>
        let mut i = init();
        i.bind_port = Some(7443);
        let s = Settings::derive(&i, &env(), &host()).unwrap();
        assert_eq!(s.control_plane_endpoint.to_string(), "192.0.2.2:7443");
    }

    #[test]
    fn config_api_follows_kubeadm_binary() {
        let mut i = init();
        i.kubeadm_version = Some("v1.31.0\n".into());
        // deploying 1.30 with kubeadm 1.31: the file is read by kubeadm 1.31
        let e = EnvInputs {
            kube_version: Some("v1.30.5".into()),
            ..EnvInputs::default()
        };
        assert!(Settings::derive(&i, &e, &host()).unwrap().config_v1beta4);
        let s = Settings::derive(&i, &EnvInputs::default(), &host()).unwrap();
        assert_eq!(s.kube_version.to_string(), "v1.31.0");
        assert!(s.config_v1beta4);
    }

    #[test]
    fn advertise_address_refusals() {
        let mut i = init();
        i.advertise_address = Some("203.0.113.50".into());
        let e = Settings::derive(&i, &env(), &host())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--apiserver-advertise-address 203.0.113.50 is not an address of this host (it has 198.51.100.7 on eth1, 192.0.2.2 on eth0); give one of them");
        i.advertise_address = Some("fe80::1".into());
        assert!(Settings::derive(&i, &env(), &host())
            .unwrap_err()
            .to_string()
            .contains("only IPv4"));
        i.advertise_address = Some("127.0.0.1".into());
        assert!(Settings::derive(&i, &env(), &host()).is_err());
        let mut h = host();
        h.default_route = None;
        let e = Settings::derive(&init(), &env(), &h)
            .unwrap_err()
            .to_string();
        assert!(e.contains("give --apiserver-advertise-address"), "{e}");
    }

    #[test]
    fn join_roles() {
        let mut w = SettingsInput::new(Role::Worker, 989);
        w.join_endpoint = Some("192.0.2.10:6443".into());
        w.token = Some(TOKEN.into());
        w.ca_cert_hashes = vec![HASH.into()];
        let s = Settings::derive(&w, &env(), &host()).unwrap();
        assert_eq!(s.control_plane_endpoint.to_string(), "192.0.2.10:6443");
        assert_eq!(s.role.env_value(), "");
        w.certificate_key = Some(CERT_KEY.into());
        assert!(Settings::derive(&w, &env(), &host())
            .unwrap_err()
            .to_string()
            .contains("--control-plane"));
        w.role = Role::ControlPlaneJoin;
        let s = Settings::derive(&w, &env(), &host()).unwrap();
        assert_eq!(s.role.env_value(), "master");
        assert_eq!(s.certificate_key.as_deref(), Some(CERT_KEY));
        w.join_endpoint = None;
        assert!(Settings::derive(&w, &env(), &host())
            .unwrap_err()
            .to_string()
            .contains("HOST:PORT"));
        w.join_endpoint = Some("192.0.2.10".into());
        assert!(Settings::derive(&w, &env(), &host())
            .unwrap_err()
            .to_string()
            .contains("has no port"));
        w.join_endpoint = Some("192.0.2.10:6443".into());
        w.pod_network_cidr = Some("10.250.0.0/16".into());
        assert!(Settings::derive(&w, &env(), &host()).is_err());
    }

    #[test]
    fn secrets_are_validated_without_echo() {
        let mut w = SettingsInput::new(Role::Worker, 989);
        w.join_endpoint = Some("192.0.2.10:6443".into());
        w.token = Some("ABCDEF.0123456789abcdef".into());
        let e = Settings::derive(&w, &env(), &host())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--token") && !e.contains("ABCDEF"), "{e}");
        w.token = Some(TOKEN.into());
        w.ca_cert_hashes = vec!["md5:abc".into()];
        assert!(Settings::derive(&w, &env(), &host()).is_err());
        w.ca_cert_hashes = vec![];
        w.role = Role::ControlPlaneJoin;
        w.certificate_key = Some("xyz".into());
        assert!(Settings::derive(&w, &env(), &host()).is_err());
    }

    #[test]
    fn network_refusals_reach_derive() {
        let mut h = host();
        h.addrs.push(HostAddr {
            iface: Some("wlan0".into()),
            addr: ip("10.244.3.9"),
            prefix: 24,
        });
        let e = Settings::derive(&init(), &env(), &h)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--pod-network-cidr 10.244.0.0/16 (the flannel default) overlaps 10.244.3.9/24 on wlan0; choose another network"
        );
        let mut i = init();
        i.pod_network_cidr = Some("10.250.0.0/16".into());
        Settings::derive(&i, &env(), &h).unwrap();
        let e = EnvInputs {
            cni_plugin: Some("calico".into()),
            ..env()
        };
        let s = Settings::derive(&init(), &e, &host()).unwrap();
        assert_eq!(s.pod_network.to_string(), "192.168.0.0/16");
        let e = EnvInputs {
            cni_plugin: Some("cilium".into()),
            ..env()
        };
        assert!(Settings::derive(&init(), &e, &host()).is_err());
        let mut i = init();
        i.service_cidr = Some("10.96.0.1/12".into());
        let e = Settings::derive(&i, &env(), &host())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--service-cidr:"), "{e}");
    }

    #[test]
    fn version_and_registry_inputs() {
        let e = EnvInputs {
            kube_version: Some("v1.25.9".into()),
            ..EnvInputs::default()
        };
        assert!(Settings::derive(&init(), &e, &host()).is_err());
        let mut i = init();
        i.image_repository = Some("harbor.example.com/k8s".into());
        let s = Settings::derive(&i, &env(), &host()).unwrap();
        assert_eq!(s.image_repository(), "harbor.example.com/k8s");
        assert_eq!(s.pause_image, "k8s/pause:3.9");
        assert_eq!(s.flannel_registry, "docker.io/flannel");
        i.kubeadm_images = Some(
            "harbor.example.com/k8s/kube-proxy:v1.26.3\nharbor.example.com/k8s/pause:3.8\n".into(),
        );
        let s = Settings::derive(&i, &env(), &host()).unwrap();
        assert_eq!(s.pause_image, "k8s/pause:3.8", "the listed pause wins");
        assert_eq!(s.images, ["k8s/kube-proxy:v1.26.3", "k8s/pause:3.8"]);
    }

    #[test]
    fn bad_node_names_and_flags() {
        let mut h = host();
        h.hostname = "bad_name".into();
        assert!(Settings::derive(&init(), &env(), &h)
            .unwrap_err()
            .to_string()
            .contains("--node-name"));
        let mut i = init();
        i.node_name = Some("ok-name".into());
        Settings::derive(&i, &env(), &h).unwrap();
        i.kubeadm_flags = vec!["--ignore-preflight-errors=a b".into()];
        assert!(Settings::derive(&i, &env(), &h).is_err());
    }

    #[test]
    fn endpoints() {
        let e: Endpoint = "[2001:db8::1]:6443".parse().unwrap();
        assert_eq!((e.host.as_str(), e.port), ("[2001:db8::1]", Some(6443)));
        assert_eq!("lb.example.com".parse::<Endpoint>().unwrap().port, None);
        for bad in [
            "", ":6443", "h:", "h:0", "h:65536", "h:06443", "a b:1", "h:1:2", "[::1", "-h:1",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad:?} accepted");
        }
    }
}
