//! The configurations init and join run with (from `--config` or from flags,
//! defaulted as kubeadm defaults them) and kubeadm's validation of them
//! (apis/kubeadm/validation/validation.go texts, config-loading.json).

use std::net::IpAddr;

use serde_yaml::Value;

use crate::cli::Parsed;
use crate::config::{Doc, InitDocs};
use crate::error::{self, Result};
use crate::settings::Model;
use crate::versions::{parse_kubernetes_version, Version};

pub const DEFAULT_REPOSITORY: &str = "registry.k8s.io";

#[derive(Debug, Clone, Default)]
pub struct NodeReg {
    pub name: String,
    pub cri_socket: String,
    pub kubelet_args: Vec<(String, String)>,
    pub ignore_preflight: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterCfg {
    pub kubernetes_version: String,
    pub image_repository: String,
    pub control_plane_endpoint: String,
    pub cluster_name: String,
    pub service_subnet: String,
    pub pod_subnet: String,
    pub dns_domain: String,
    pub cert_sans: Vec<String>,
    pub apiserver_args: Vec<(String, String)>,
    pub controller_manager_args: Vec<(String, String)>,
    pub scheduler_args: Vec<(String, String)>,
    pub etcd_local: bool,
    pub etcd_data_dir: String,
    pub etcd_image_repository: String,
    pub etcd_image_tag: String,
    pub etcd_args: Vec<(String, String)>,
    pub etcd_server_sans: Vec<String>,
    pub etcd_peer_sans: Vec<String>,
    pub dns_image_repository: String,
    pub dns_image_tag: String,
    pub dns_disabled: bool,
    pub proxy_disabled: bool,
    pub certificates_dir: String,
    /// The ClusterConfiguration document as given (stored for join and reset).
    pub document: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct InitCfg {
    pub cluster: ClusterCfg,
    pub node: NodeReg,
    pub advertise: String,
    pub bind_port: i64,
    pub tokens: Vec<String>,
    pub certificate_key: String,
    pub skip_phases: Vec<String>,
    pub kubelet: Option<Value>,
    pub proxy: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct JoinCfg {
    pub node: NodeReg,
    pub endpoint: String,
    pub token: String,
    pub tls_token: String,
    pub hashes: Vec<String>,
    pub unsafe_skip: bool,
    pub discovery_file: String,
    pub ca_cert_path: String,
    /// (advertise address, bind port, certificate key) for a control-plane join.
    pub control_plane: Option<(String, i64, String)>,
    pub skip_phases: Vec<String>,
}

fn field_invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value:?}: {detail}")
}

fn field_required(path: &str, detail: &str) -> String {
    format!("{path}: Required value: {detail}")
}

pub fn is_token(t: &str) -> bool {
    let Some((id, secret)) = t.split_once('.') else {
        return false;
    };
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    ok(id, 6) && ok(secret, 16)
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn check_node(node: &NodeReg, errs: &mut Vec<String>) {
    if node.name.is_empty() {
        errs.push(field_required("nodeRegistration.name", "--node-name or .nodeRegistration.name in the config file is a required value. It seems like this value couldn't be automatically detected in your environment, please specify the desired value using the CLI or config file."));
    } else if !is_dns1123_subdomain(&node.name) {
        errs.push(field_invalid(
            "nodeRegistration.name",
            &node.name,
            SUBDOMAIN_MSG,
        ));
    }
    if !node.cri_socket.is_empty() {
        if let Some((scheme, _)) = node.cri_socket.split_once("://") {
            if scheme != "unix" {
                errs.push(field_invalid(
                    "nodeRegistration.criSocket",
                    &node.cri_socket,
                    &format!("only URL scheme \"unix\" is supported, got {scheme:?}"),
                ));
            }
        }
    }
}

fn check_certificate_key(path: &str, key: &str, errs: &mut Vec<String>) {
    if key.is_empty() {
        return;
    }
    if let Some(bad) = key.chars().find(|c| !c.is_ascii_hexdigit()) {
        errs.push(field_invalid(
            path,
            key,
            &format!(
                "certificate key decoding error: encoding/hex: invalid byte: U+{:04X} {bad:?}",
                bad as u32
            ),
        ));
    } else if key.len() % 2 == 1 {
        errs.push(field_invalid(
            path,
            key,
            "certificate key decoding error: encoding/hex: odd length hex string",
        ));
    } else if key.len() != 64 {
        errs.push(field_invalid(
            path,
            key,
            &format!(
                "invalid certificate key size {}, the key must be an AES key of size 32",
                key.len() / 2
            ),
        ));
    }
}

/// (address, prefix length) of `a.b.c.d/n` or an IPv6 CIDR.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u32)> {
    let (addr, len) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn check_subnets(c: &ClusterCfg, errs: &mut Vec<String>) {
    let bits = |a: &IpAddr| if a.is_ipv4() { 32 } else { 128 };
    for cidr in c.service_subnet.split(',').filter(|s| !s.is_empty()) {
        let Some((addr, len)) = parse_cidr(cidr) else {
            errs.push(field_invalid(
                "networking.serviceSubnet",
                &c.service_subnet,
                "couldn't parse subnet",
            ));
            continue;
        };
        let max_bits = 20;
        if bits(&addr) - len > max_bits {
            errs.push(field_invalid(
                "networking.serviceSubnet",
                cidr,
                &format!(
                    "specified service subnet is too large; for {}-bit addresses, the mask must be >= {}",
                    bits(&addr),
                    bits(&addr) - max_bits
                ),
            ));
        } else if bits(&addr) - len < 4 {
            let n = 1u64 << (bits(&addr) - len);
            errs.push(field_invalid(
                "networking.serviceSubnet",
                cidr,
                &format!("subnet with {n} address(es) is too small, the minimum is 10"),
            ));
        }
    }
    let node_cidrs = c
        .controller_manager_args
        .iter()
        .all(|(k, v)| k != "allocate-node-cidrs" || v != "false");
    for cidr in c.pod_subnet.split(',').filter(|s| !s.is_empty()) {
        let Some((addr, len)) = parse_cidr(cidr) else {
            errs.push(field_invalid(
                "networking.podSubnet",
                &c.pod_subnet,
                "couldn't parse subnet",
            ));
            continue;
        };
        if bits(&addr) - len < 4 {
            let n = 1u64 << (bits(&addr) - len);
            errs.push(field_invalid(
                "networking.podSubnet",
                cidr,
                &format!("subnet with {n} address(es) is too small, the minimum is 14"),
            ));
            continue;
        }
        let node_mask: u32 = c
            .controller_manager_args
            .iter()
            .find(|(k, _)| {
                k == if addr.is_ipv4() {
                    "node-cidr-mask-size-ipv4"
                } else {
                    "node-cidr-mask-size-ipv6"
                } || k == "node-cidr-mask-size"
            })
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(if addr.is_ipv4() { 24 } else { 64 });
        if node_cidrs && len > node_mask {
            errs.push(field_invalid(
                "networking.podSubnet",
                cidr,
                &format!("the size of pod subnet with mask {len} is smaller than the size of node subnet with mask {node_mask}"),
            ));
        }
    }
}

fn is_image_repository(repo: &str) -> bool {
    !repo.is_empty()
        && !repo.contains("://")
        && !repo.ends_with('/')
        && !repo
            .chars()
            .any(|c| c.is_ascii_uppercase() || c.is_whitespace())
}

fn is_altname(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
        || is_dns1123_subdomain(s)
        || s.strip_prefix("*.").is_some_and(is_dns1123_subdomain)
}

fn check_cluster(c: &ClusterCfg, errs: &mut Vec<String>) {
    check_subnets(c, errs);
    if !is_dns1123_subdomain(&c.dns_domain) {
        errs.push(field_invalid(
            "networking.dnsDomain",
            &c.dns_domain,
            SUBDOMAIN_MSG,
        ));
    }
    for (i, san) in c.cert_sans.iter().enumerate() {
        if !is_altname(&san.to_lowercase()) {
            errs.push(field_invalid(
                &format!("apiServer.certSANs[{i}]"),
                san,
                &format!("altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards: {SUBDOMAIN_MSG}"),
            ));
        }
    }
    for (path, repo) in [
        ("imageRepository", &c.image_repository),
        ("dns.imageRepository", &c.dns_image_repository),
        ("etcd.local.imageRepository", &c.etcd_image_repository),
    ] {
        if !repo.is_empty() && !is_image_repository(repo) {
            errs.push(field_invalid(path, repo, "invalid image repository format"));
        }
    }
    if c.etcd_local && !c.etcd_data_dir.starts_with('/') {
        errs.push(field_invalid(
            "etcd.local.dataDir",
            &c.etcd_data_dir,
            "path is not absolute",
        ));
    }
    if !c.certificates_dir.starts_with('/') {
        errs.push(field_invalid(
            "certificatesDir",
            &c.certificates_dir,
            "path is not absolute",
        ));
    }
    for (path, args) in [
        ("apiServer.extraArgs", &c.apiserver_args),
        ("controllerManager.extraArgs", &c.controller_manager_args),
        ("scheduler.extraArgs", &c.scheduler_args),
        ("etcd.local.extraArgs", &c.etcd_args),
    ] {
        for (i, (name, _)) in args.iter().enumerate() {
            if name.is_empty() {
                errs.push(field_required(
                    &format!("{path}[{i}].name"),
                    "argument has no name",
                ));
            }
        }
    }
}

/// `ParseHostPort` as `SetClusterDynamicDefaults` runs it on controlPlaneEndpoint.
fn check_endpoint(endpoint: &str) -> Result<()> {
    if endpoint.is_empty() {
        return Ok(());
    }
    let (host, port) = match endpoint.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') || h.starts_with('[') => {
            (h.trim_matches(['[', ']']), Some(p))
        }
        _ => (endpoint, None),
    };
    if let Some(p) = port {
        if !matches!(p.parse::<u32>(), Ok(1..=65535)) {
            return Err(error::plain(
                "port must be a valid number between 1 and 65535, inclusive",
            ));
        }
    }
    if host.parse::<IpAddr>().is_err() && !is_dns1123_subdomain(host) {
        return Err(error::plain(
            "host must be a valid IP address or a valid RFC-1123 DNS subdomain",
        ));
    }
    Ok(())
}

/// The Kubernetes version to deploy, normalized, and the version rules of
/// `NormalizeKubernetesVersion` and the minimum supported control plane.
fn kubernetes_version(given: Option<String>, version: &Version) -> Result<String> {
    let text = match given.filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => {
            crate::error::klog_warning(
                "version.go:104",
                "could not fetch a Kubernetes version from the internet: unable to get URL \"https://dl.k8s.io/release/stable-1.txt\": kubeadm-model: no network",
            );
            crate::error::klog_warning(
                "version.go:105",
                &format!("falling back to the local client version: {}", version.text),
            );
            version.text.clone()
        }
    };
    let Some((major, minor, normalized)) = parse_kubernetes_version(&text) else {
        return Err(error::plain(format!(
            "version {text:?} doesn't match patterns for neither semantic version nor labels (stable, latest, ...)"
        )));
    };
    let min_minor = version.minor - 1;
    if major < 1 || (major == 1 && minor < min_minor) {
        return Err(error::plain(format!(
            "this version of kubeadm only supports deploying clusters with the control plane version >= 1.{min_minor}.0. Current version: {normalized}"
        )));
    }
    Ok(normalized)
}

impl ClusterCfg {
    fn defaults() -> ClusterCfg {
        ClusterCfg {
            image_repository: DEFAULT_REPOSITORY.into(),
            cluster_name: "kubernetes".into(),
            service_subnet: "10.96.0.0/12".into(),
            dns_domain: "cluster.local".into(),
            etcd_local: true,
            etcd_data_dir: "/var/lib/etcd".into(),
            certificates_dir: "/etc/kubernetes/pki".into(),
            ..ClusterCfg::default()
        }
    }

    fn from_doc(doc: &Doc) -> ClusterCfg {
        let mut c = ClusterCfg::defaults();
        let s = |p: &str| doc.str(p).filter(|v| !v.is_empty());
        if let Some(v) = s("kubernetesVersion") {
            c.kubernetes_version = v;
        }
        if let Some(v) = s("imageRepository") {
            c.image_repository = v;
        }
        c.control_plane_endpoint = s("controlPlaneEndpoint").unwrap_or_default();
        if let Some(v) = s("clusterName") {
            c.cluster_name = v;
        }
        if let Some(v) = s("networking.serviceSubnet") {
            c.service_subnet = v;
        }
        c.pod_subnet = s("networking.podSubnet").unwrap_or_default();
        if let Some(v) = s("networking.dnsDomain") {
            c.dns_domain = v;
        }
        c.cert_sans = doc.strings("apiServer.certSANs");
        c.apiserver_args = doc.args("apiServer.extraArgs");
        c.controller_manager_args = doc.args("controllerManager.extraArgs");
        c.scheduler_args = doc.args("scheduler.extraArgs");
        if doc.get("etcd.external").is_some() && doc.get("etcd.local").is_none() {
            c.etcd_local = false;
        }
        if let Some(v) = s("etcd.local.dataDir") {
            c.etcd_data_dir = v;
        }
        c.etcd_image_repository = s("etcd.local.imageRepository").unwrap_or_default();
        c.etcd_image_tag = s("etcd.local.imageTag").unwrap_or_default();
        c.etcd_args = doc.args("etcd.local.extraArgs");
        c.etcd_server_sans = doc.strings("etcd.local.serverCertSANs");
        c.etcd_peer_sans = doc.strings("etcd.local.peerCertSANs");
        c.dns_image_repository = s("dns.imageRepository").unwrap_or_default();
        c.dns_image_tag = s("dns.imageTag").unwrap_or_default();
        c.dns_disabled = doc.bool("dns.disabled");
        c.proxy_disabled = doc.bool("proxy.disabled");
        if let Some(v) = s("certificatesDir") {
            c.certificates_dir = v;
        }
        c.document = Some(doc.value.clone());
        c
    }
}

/// The ClusterConfiguration of a document (the one init stored, for join and reset).
pub fn cluster_from_doc(doc: &Doc) -> ClusterCfg {
    ClusterCfg::from_doc(doc)
}

fn node_from_doc(doc: &Doc, model: &Model) -> NodeReg {
    NodeReg {
        name: doc
            .str("nodeRegistration.name")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| model.hostname()),
        cri_socket: doc.str("nodeRegistration.criSocket").unwrap_or_default(),
        kubelet_args: doc.args("nodeRegistration.kubeletExtraArgs"),
        ignore_preflight: doc.strings("nodeRegistration.ignorePreflightErrors"),
    }
}

/// A criSocket without a scheme gets `unix://` and a warning.
fn normalize_socket(node: &mut NodeReg) {
    if !node.cri_socket.is_empty() && !node.cri_socket.contains("://") {
        crate::error::klog_warning(
            "initconfiguration.go:126",
            &format!(
                "Usage of CRI endpoints without URL scheme is deprecated and can cause kubelet errors in the future. Automatically prepending scheme \"unix\" to the \"criSocket\" with value {:?}. Please update your configuration!",
                node.cri_socket
            ),
        );
        node.cri_socket = format!("unix://{}", node.cri_socket);
    }
}

/// The InitConfiguration/ClusterConfiguration init runs with: from the file
/// when `--config` is given (the flags then only add what is allowed beside
/// it), else from the flags; defaulted; validated.
pub fn init_config(
    model: &Model,
    parsed: &Parsed,
    docs: Option<InitDocs>,
    upload_certs: bool,
    images_only: bool,
) -> Result<InitCfg> {
    let version = &model.version;
    let mut cfg = InitCfg {
        bind_port: 6443,
        ..InitCfg::default()
    };
    match docs {
        Some(docs) => {
            cfg.cluster = docs
                .cluster
                .as_ref()
                .map(ClusterCfg::from_doc)
                .unwrap_or_else(ClusterCfg::defaults);
            if let Some(init) = &docs.init {
                cfg.node = node_from_doc(init, model);
                cfg.advertise = init
                    .str("localAPIEndpoint.advertiseAddress")
                    .unwrap_or_default();
                if let Some(p) = init
                    .get("localAPIEndpoint.bindPort")
                    .and_then(Value::as_i64)
                {
                    cfg.bind_port = p;
                }
                cfg.tokens = init
                    .get("bootstrapTokens")
                    .and_then(Value::as_sequence)
                    .map(|ts| {
                        ts.iter()
                            .map(|t| {
                                t.get("token")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                cfg.certificate_key = init.str("certificateKey").unwrap_or_default();
                cfg.skip_phases = init.strings("skipPhases");
            } else {
                cfg.node.name = model.hostname();
            }
            cfg.kubelet = docs.kubelet.map(|d| d.value);
            cfg.proxy = docs.proxy.map(|d| d.value);
        }
        None => {
            cfg.cluster = ClusterCfg::defaults();
            let c = &mut cfg.cluster;
            let f = |n: &str| parsed.str(n).map(str::to_owned);
            if let Some(v) = f("kubernetes-version") {
                c.kubernetes_version = v;
            }
            if let Some(v) = f("image-repository") {
                c.image_repository = v;
            }
            c.control_plane_endpoint = f("control-plane-endpoint").unwrap_or_default();
            if let Some(v) = f("service-cidr") {
                c.service_subnet = v;
            }
            c.pod_subnet = f("pod-network-cidr").unwrap_or_default();
            if let Some(v) = f("service-dns-domain") {
                c.dns_domain = v;
            }
            if let Some(v) = f("cert-dir") {
                c.certificates_dir = v;
            }
            c.cert_sans = parsed.list("apiserver-cert-extra-sans");
            cfg.advertise = f("apiserver-advertise-address").unwrap_or_default();
            if let Some(p) = f("apiserver-bind-port").and_then(|p| p.parse().ok()) {
                cfg.bind_port = p;
            }
            cfg.node.name = f("node-name").unwrap_or_else(|| model.hostname());
            cfg.node.cri_socket = f("cri-socket").unwrap_or_default();
            cfg.tokens = f("token").into_iter().collect();
            cfg.certificate_key = f("certificate-key").unwrap_or_default();
        }
    }
    // --node-name is allowed beside --config, and wins.
    if let Some(n) = parsed.str("node-name") {
        cfg.node.name = n.to_owned();
    }
    cfg.skip_phases.extend(parsed.list("skip-phases"));
    normalize_socket(&mut cfg.node);
    cfg.cluster.kubernetes_version =
        kubernetes_version(Some(cfg.cluster.kubernetes_version.clone()), version)?;
    check_endpoint(&cfg.cluster.control_plane_endpoint)?;
    // SetAPIEndpointDynamicDefaults: an empty or unspecified address is
    // replaced by the one on the default route's interface.
    let unspecified = cfg
        .advertise
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if cfg.advertise.is_empty() || unspecified {
        cfg.advertise = default_route_address(model).unwrap_or_else(|| {
            crate::error::klog_warning(
                "initconfiguration.go:120",
                "WARNING: could not obtain a bind address for the API Server: no default routes found in \"/proc/net/route\" or \"/proc/net/ipv6_route\"; using: 0.0.0.0",
            );
            "0.0.0.0".into()
        });
    }
    if cfg.advertise.parse::<IpAddr>().is_err() {
        return Err(error::plain(format!(
            "couldn't use {:?} as \"apiserver-advertise-address\", must be ipv4 or ipv6 address",
            cfg.advertise
        )));
    }
    if cfg.tokens.is_empty() {
        cfg.tokens.push(crate::crypto::new_token());
    }
    if upload_certs && cfg.certificate_key.is_empty() {
        cfg.certificate_key = crate::crypto::hex(&crate::crypto::random_bytes(32));
    }
    let mut errs = Vec::new();
    for (i, t) in cfg.tokens.iter().enumerate() {
        if !is_token(t) {
            errs.push(field_invalid(
                &format!("bootstrapTokens[{i}].token"),
                t,
                "the bootstrap token is invalid",
            ));
        }
    }
    check_node(&cfg.node, &mut errs);
    // `config images` and `token create` never bind the API server.
    if !images_only {
        check_bind_address(
            "localAPIEndpoint.advertiseAddress",
            &cfg.advertise,
            &mut errs,
        );
    }
    if !(1..=65535).contains(&cfg.bind_port) {
        errs.push(format!(
            "localAPIEndpoint.bindPort: Invalid value: {}: port number is not valid",
            cfg.bind_port
        ));
    }
    check_certificate_key("certificateKey", &cfg.certificate_key, &mut errs);
    check_cluster(&cfg.cluster, &mut errs);
    let ignore = parsed.list("ignore-preflight-errors");
    check_ignore_list(&ignore, &mut errs);
    if !errs.is_empty() {
        return Err(error::aggregate(&errs));
    }
    cfg.node.ignore_preflight.extend(ignore);
    Ok(cfg)
}

/// `VerifyAPIServerBindAddress`: only a global unicast address will do.
fn check_bind_address(path: &str, address: &str, errs: &mut Vec<String>) {
    let Ok(ip) = address.parse::<IpAddr>() else {
        return;
    };
    let global = match ip {
        IpAddr::V4(a) => {
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_link_local()
                || a.is_broadcast())
        }
        IpAddr::V6(a) => {
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (a.segments()[0] & 0xffc0) == 0xfe80)
        }
    };
    if !global {
        errs.push(field_invalid(
            path,
            address,
            &format!("cannot use {address:?} as the bind address for the API Server"),
        ));
    }
}

fn check_ignore_list(ignore: &[String], errs: &mut Vec<String>) {
    let lower: Vec<String> = ignore.iter().map(|s| s.to_lowercase()).collect();
    if lower.iter().any(|s| s == "all") && lower.len() > 1 {
        errs.push(field_invalid(
            "ignore-preflight-errors",
            &lower.join(","),
            "don't specify individual checks if 'all' is used",
        ));
    }
}

/// The address on the interface of the default route, from
/// `/proc/net/route` and `/proc/net/fib_trie` under the root prefix
/// (kubeadm's `ChooseHostInterface`).
pub fn default_route_address(model: &Model) -> Option<String> {
    let route = std::fs::read_to_string(model.host("/proc/net/route")).ok()?;
    let gateway = route.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| f[2].to_owned())
    })?;
    let gw = u32::from_str_radix(&gateway, 16).ok()?.to_le_bytes();
    let trie = std::fs::read_to_string(model.host("/proc/net/fib_trie")).ok()?;
    let lines: Vec<&str> = trie.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if lines
            .get(i + 1)
            .is_some_and(|n| n.contains("/32 host LOCAL"))
        {
            let addr = l.trim().trim_start_matches("|-- ").trim();
            if let Ok(std::net::IpAddr::V4(a)) = addr.parse::<IpAddr>() {
                let o = a.octets();
                if o[0] == gw[0] && o[1] == gw[1] && o[2] == gw[2] && !a.is_loopback() {
                    return Some(addr.to_owned());
                }
            }
        }
    }
    None
}

/// The JoinConfiguration join runs with.
pub fn join_config(model: &Model, parsed: &Parsed, doc: Option<Doc>) -> Result<JoinCfg> {
    let mut cfg = JoinCfg::default();
    match doc {
        Some(doc) => {
            cfg.node = node_from_doc(&doc, model);
            cfg.endpoint = doc
                .str("discovery.bootstrapToken.apiServerEndpoint")
                .unwrap_or_default();
            cfg.token = doc
                .str("discovery.bootstrapToken.token")
                .unwrap_or_default();
            cfg.hashes = doc.strings("discovery.bootstrapToken.caCertHashes");
            cfg.unsafe_skip = doc.bool("discovery.bootstrapToken.unsafeSkipCAVerification");
            cfg.discovery_file = doc.str("discovery.file.kubeConfigPath").unwrap_or_default();
            cfg.tls_token = doc.str("discovery.tlsBootstrapToken").unwrap_or_default();
            cfg.ca_cert_path = doc.str("caCertPath").unwrap_or_default();
            if doc.get("discovery.bootstrapToken").is_none() {
                cfg.token.clear();
            }
            if doc.get("controlPlane").is_some_and(|v| !v.is_null()) {
                cfg.control_plane = Some((
                    doc.str("controlPlane.localAPIEndpoint.advertiseAddress")
                        .unwrap_or_default(),
                    doc.get("controlPlane.localAPIEndpoint.bindPort")
                        .and_then(Value::as_i64)
                        .unwrap_or(6443),
                    doc.str("controlPlane.certificateKey").unwrap_or_default(),
                ));
            }
            cfg.skip_phases = doc.strings("skipPhases");
            if doc.get("discovery.bootstrapToken").is_none() && cfg.discovery_file.is_empty() {
                cfg.endpoint.clear();
            }
        }
        None => {
            let f = |n: &str| parsed.str(n).map(str::to_owned);
            cfg.node.name = f("node-name").unwrap_or_else(|| model.hostname());
            cfg.node.cri_socket = f("cri-socket").unwrap_or_default();
            cfg.endpoint = parsed.positionals.first().cloned().unwrap_or_default();
            cfg.token = f("discovery-token")
                .or_else(|| f("token"))
                .unwrap_or_default();
            cfg.tls_token = f("tls-bootstrap-token")
                .or_else(|| f("token"))
                .unwrap_or_default();
            cfg.hashes = parsed.list("discovery-token-ca-cert-hash");
            cfg.unsafe_skip = parsed.bool("discovery-token-unsafe-skip-ca-verification");
            cfg.discovery_file = f("discovery-file").unwrap_or_default();
            if parsed.bool("control-plane") {
                cfg.control_plane = Some((
                    f("apiserver-advertise-address").unwrap_or_default(),
                    f("apiserver-bind-port")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(6443),
                    f("certificate-key").unwrap_or_default(),
                ));
            }
        }
    }
    if let Some(n) = parsed.str("node-name") {
        cfg.node.name = n.to_owned();
    }
    cfg.skip_phases.extend(parsed.list("skip-phases"));
    normalize_socket(&mut cfg.node);
    if cfg.tls_token.is_empty() {
        cfg.tls_token = cfg.token.clone();
    }
    if let Some((addr, _, _)) = cfg.control_plane.as_mut() {
        if addr.is_empty() {
            *addr = default_route_address(model)
                .ok_or_else(|| error::plain("unable to select an IP from default routes."))?;
        }
    }
    let mut errs = Vec::new();
    let bootstrap = !cfg.token.is_empty() || !cfg.endpoint.is_empty();
    let file = !cfg.discovery_file.is_empty();
    if !bootstrap && !file {
        errs.push(field_invalid(
            "discovery",
            "",
            "bootstrapToken or file must be set",
        ));
    }
    if bootstrap && file {
        errs.push(field_invalid(
            "discovery",
            "",
            "bootstrapToken and file cannot both be set",
        ));
    }
    if bootstrap {
        if cfg.endpoint.is_empty() {
            errs.push(field_required(
                "discovery.bootstrapToken",
                "APIServerEndpoint is not set",
            ));
        }
        if cfg.hashes.is_empty() && !cfg.unsafe_skip {
            errs.push(field_invalid("discovery.bootstrapToken", "", "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue"));
        }
        if !is_token(&cfg.token) {
            errs.push(field_invalid(
                "discovery.bootstrapToken.token",
                &cfg.token,
                "the bootstrap token is invalid",
            ));
        }
        if !cfg.endpoint.is_empty() {
            if let Err(e) = split_host_port(&cfg.endpoint) {
                errs.push(field_invalid(
                    "discovery.bootstrapToken.apiServerEndpoints",
                    &cfg.endpoint,
                    &e,
                ));
            }
        }
    }
    if !is_token(&cfg.tls_token) {
        errs.push(field_invalid(
            "discovery.tlsBootstrapToken",
            &cfg.tls_token,
            "the bootstrap token is invalid",
        ));
    }
    if !cfg.ca_cert_path.is_empty()
        && (!cfg.ca_cert_path.starts_with('/') || !cfg.ca_cert_path.ends_with(".crt"))
    {
        errs.push(field_invalid(
            "caCertPath",
            &cfg.ca_cert_path,
            "the ca certificate path must be an absolute path",
        ));
    }
    if let Some((addr, port, key)) = &cfg.control_plane {
        if addr.parse::<IpAddr>().is_err() {
            errs.push(field_invalid(
                "controlPlane.localAPIEndpoint.advertiseAddress",
                addr,
                "ip address is not valid",
            ));
        } else {
            check_bind_address(
                "controlPlane.localAPIEndpoint.advertiseAddress",
                addr,
                &mut errs,
            );
        }
        if !(1..=65535).contains(port) {
            errs.push(format!("controlPlane.localAPIEndpoint.bindPort: Invalid value: {port}: port number is not valid"));
        }
        check_certificate_key("controlPlane.certificateKey", key, &mut errs);
    }
    check_node(&cfg.node, &mut errs);
    let ignore = parsed.list("ignore-preflight-errors");
    check_ignore_list(&ignore, &mut errs);
    if !errs.is_empty() {
        return Err(error::aggregate(&errs));
    }
    cfg.node.ignore_preflight.extend(ignore);
    Ok(cfg)
}

/// Go's `net.SplitHostPort` errors.
pub fn split_host_port(s: &str) -> std::result::Result<(String, String), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((host, tail)) = rest.split_once(']') else {
            return Err(format!("address {s}: missing ']' in address"));
        };
        let Some(port) = tail.strip_prefix(':') else {
            return Err(format!("address {s}: missing port in address"));
        };
        return Ok((host.to_owned(), port.to_owned()));
    }
    match s.rsplit_once(':') {
        None => Err(format!("address {s}: missing port in address")),
        Some((h, _)) if h.contains(':') => Err(format!("address {s}: too many colons in address")),
        Some((h, p)) => Ok((h.to_owned(), p.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token("abcdef.0123456789abcdef"));
        assert!(!is_token("ABCDEF.0123456789abcdef"));
        assert!(!is_token("abcdef0123456789abcdef"));
    }

    #[test]
    fn host_ports() {
        assert_eq!(
            split_host_port("10.0.0.1").unwrap_err(),
            "address 10.0.0.1: missing port in address"
        );
        assert!(split_host_port("10.0.0.1:6443").is_ok());
    }

    #[test]
    fn certificate_keys() {
        let mut errs = Vec::new();
        check_certificate_key("k", "zz", &mut errs);
        check_certificate_key("k", "abc", &mut errs);
        check_certificate_key("k", "abcd", &mut errs);
        check_certificate_key("k", &"a".repeat(64), &mut errs);
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("invalid byte: U+007A 'z'"));
        assert!(errs[1].contains("odd length hex string"));
        assert!(errs[2]
            .contains("invalid certificate key size 2, the key must be an AES key of size 32"));
    }

    #[test]
    fn subnets() {
        let mut c = ClusterCfg::defaults();
        c.service_subnet = "10.0.0.0/8".into();
        c.pod_subnet = "10.244.0.0/25".into();
        let mut errs = Vec::new();
        check_subnets(&c, &mut errs);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("the mask must be >= 12"));
        assert!(errs[1].contains("mask 25 is smaller than the size of node subnet with mask 24"));
    }
}
