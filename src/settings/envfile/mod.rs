//! The env file (`/etc/podsec/u7s/config/env`, copied to
//! `~u7s-admin/.config/usernetes/env`): the `U7S_*` variables the service roles
//! read.
//!
//! Every value is written single-quoted (`'` as `'\''`), which systemd's
//! EnvironmentFile parser and a POSIX shell read the same way, so the file
//! never needs a shell. It is read back by our own parser, never sourced: the
//! copy in u7s-admin's home is writable by u7s-admin, so every value is
//! validated as it is read (addresses as addresses, ports as ports, CIDRs as
//! CIDRs, the derived values against what they derive from).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::derive::{
    check_ca_cert_hash, check_certificate_key, check_token, Endpoint, Role, Settings,
};
use super::network::{Cidr, CniPlugin, ServiceAddrs};
use super::registry::{valid_host, valid_path};
use super::version::{KubeVersion, VersionSource};

/// What a hidden secret renders as when secrets are not shown.
pub const HIDDEN: &str = "<hidden>";

/// The largest env file we read (it is a few hundred bytes in practice).
const MAX_LEN: u64 = 1 << 20;

/// The env file, typed. The values derived from others (`SERVICECIDRIP`,
/// `SLIRP4IP`, ...) are not stored: they are computed when rendering and
/// checked when parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    pub kube_version: KubeVersion,
    pub kubeadm_flags: Vec<String>,
    pub platform: String,
    pub registry: String,
    pub registry_platform: String,
    pub flannel_registry: String,
    pub flannel_tag: Option<String>,
    pub images: Vec<String>,
    pub pause_image: String,
    pub uid: u32,
    /// `U7S_EXTIP` and `U7S_APISERVER_ADVERTISE_ADDRESS` (always the same).
    pub advertise_address: Ipv4Addr,
    pub bind_port: u16,
    pub ext_dev: String,
    pub control_plane: Role,
    pub apiserver_endpoint: Endpoint,
    pub token: Option<String>,
    pub ca_cert_hashes: Vec<String>,
    pub certificate_key: Option<String>,
    pub service_cidr: Cidr,
    pub pod_network_cidr: Cidr,
    pub cni: CniPlugin,
    /// Keys we do not know, in file order: kept (an older or newer u7s may
    /// have written them) and warned about when read.
    pub extra: Vec<(String, String)>,
}

/// The keys of the file, in the order they are written.
pub const KEYS: &[&str] = &[
    "U7S_KUBEVERSION",
    "U7S_KUBEADMFLAGS",
    "U7S_PLATFORM",
    "U7S_REGISTRY",
    "U7S_REGISTRY_PLATFORM",
    "U7S_FLANNEL_REGISTRY",
    "U7S_FLANNEL_TAG",
    "U7S_IMAGES",
    "U7S_PAUSE_IMAGE",
    "U7S_UID",
    "U7S_EXTIP",
    "U7S_APISERVER_ADVERTISE_ADDRESS",
    "U7S_APISERVER_BIND_PORT",
    "U7S_EXTDEV",
    "U7S_CONTROLPLANE",
    "U7S_APISERVERENDPOINT",
    "U7S_TOKEN",
    "U7S_CACERTHASH",
    "U7S_CERIFICATEKEY",
    "U7S_SERVICECIDR",
    "U7S_SERVICECIDRIP",
    "U7S_SERVICEMASK",
    "U7S_PODNETWORKCIDR",
    "U7S_PODNETWORKCIDRIP",
    "U7S_PODNETWORKMASK",
    "U7S_CNI_PLUGIN",
    "U7S_ROOTLESSKIT_FLAGS",
    "U7S_KUBERNETESCLUSTERIP",
    "U7S_KUBERNETESCLUSTERDNS",
    "U7S_SLIRP4IP",
    "_CONTAINERS_ROOTLESS_UID",
    "_CONTAINERS_USERNS_CONFIGURED",
];

const SECRET_KEYS: &[&str] = &["U7S_TOKEN", "U7S_CACERTHASH", "U7S_CERIFICATEKEY"];

/// Keys whose value is computed from others; checked on parse, not stored.
const DERIVED_KEYS: &[&str] = &[
    "U7S_EXTIP",
    "U7S_SERVICECIDRIP",
    "U7S_SERVICEMASK",
    "U7S_PODNETWORKCIDRIP",
    "U7S_PODNETWORKMASK",
    "U7S_ROOTLESSKIT_FLAGS",
    "U7S_KUBERNETESCLUSTERIP",
    "U7S_KUBERNETESCLUSTERDNS",
    "U7S_SLIRP4IP",
    "_CONTAINERS_ROOTLESS_UID",
    "_CONTAINERS_USERNS_CONFIGURED",
];

/// `'...'` with `'` written as `'\''`: the same value for systemd and sh.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

impl EnvFile {
    pub fn from_settings(s: &Settings) -> EnvFile {
        EnvFile {
            kube_version: s.kube_version.clone(),
            kubeadm_flags: s.kubeadm_flags.clone(),
            platform: s.registry.platform.clone(),
            registry: s.registry.registry.clone(),
            registry_platform: s.registry.repository(),
            flannel_registry: s.flannel_registry.clone(),
            flannel_tag: s.flannel_tag.clone(),
            images: s.images.clone(),
            pause_image: s.pause_image.clone(),
            uid: s.admin_uid,
            advertise_address: s.advertise_address,
            bind_port: s.bind_port,
            ext_dev: s.ext_dev.clone(),
            control_plane: s.role,
            apiserver_endpoint: s.control_plane_endpoint.clone(),
            token: s.token.clone(),
            ca_cert_hashes: s.ca_cert_hashes.clone(),
            certificate_key: s.certificate_key.clone(),
            service_cidr: s.service_network,
            pod_network_cidr: s.pod_network,
            cni: s.cni,
            extra: Vec::new(),
        }
    }

    /// The addresses derived from the service network. The network was
    /// checked when the file was made or read, so this cannot fail for a
    /// value of this type built by [`EnvFile::from_settings`] or parsed.
    pub fn service_addrs(&self) -> Result<ServiceAddrs> {
        ServiceAddrs::derive(&self.service_cidr)
    }

    /// Whether it holds a bootstrap token, CA hash or certificate key.
    pub fn has_secrets(&self) -> bool {
        self.token.is_some() || !self.ca_cert_hashes.is_empty() || self.certificate_key.is_some()
    }

    /// The same settings without the one-time join secrets: what stays on
    /// disk once kubeadm has used them (nothing later reads them; a new
    /// join or init is given its own).
    pub fn without_secrets(&self) -> EnvFile {
        EnvFile {
            token: None,
            ca_cert_hashes: Vec::new(),
            certificate_key: None,
            ..self.clone()
        }
    }

    /// All `(key, value)` pairs, in file order, with secrets replaced by
    /// [`HIDDEN`] unless `show_secrets`.
    pub fn pairs(&self, show_secrets: bool) -> Result<Vec<(String, String)>> {
        let svc = self.service_addrs()?;
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let values: Vec<String> = vec![
            self.kube_version.to_string(),
            self.kubeadm_flags.join(" "),
            self.platform.clone(),
            self.registry.clone(),
            self.registry_platform.clone(),
            self.flannel_registry.clone(),
            opt(&self.flannel_tag),
            self.images.join(" "),
            self.pause_image.clone(),
            self.uid.to_string(),
            self.advertise_address.to_string(),
            self.advertise_address.to_string(),
            self.bind_port.to_string(),
            self.ext_dev.clone(),
            self.control_plane.env_value().to_owned(),
            self.apiserver_endpoint.to_string(),
            opt(&self.token),
            self.ca_cert_hashes.join(","),
            opt(&self.certificate_key),
            self.service_cidr.to_string(),
            self.service_cidr.network().to_string(),
            self.service_cidr.prefix().to_string(),
            self.pod_network_cidr.to_string(),
            self.pod_network_cidr.network().to_string(),
            self.pod_network_cidr.prefix().to_string(),
            self.cni.to_string(),
            format!("--cidr={}", self.service_cidr),
            svc.cluster_ip.to_string(),
            svc.cluster_dns.to_string(),
            svc.slirp4_ip.to_string(),
            self.uid.to_string(),
            "1".to_owned(),
        ];
        debug_assert_eq!(values.len(), KEYS.len());
        let mut out: Vec<(String, String)> = KEYS
            .iter()
            .zip(values)
            .map(|(k, v)| {
                let v = if !show_secrets && SECRET_KEYS.contains(k) && !v.is_empty() {
                    HIDDEN.to_owned()
                } else {
                    v
                };
                (k.to_string(), v)
            })
            .collect();
        out.extend(self.extra.iter().cloned());
        for (k, v) in &out {
            if v.chars().any(char::is_control) {
                bail!("{}", crate::tr!("env-control-char", k));
            }
        }
        Ok(out)
    }

    /// `KEY='value'` lines. `show_secrets: false` is for display.
    pub fn render(&self, show_secrets: bool) -> Result<String> {
        let mut out = String::from("# Written by u7s kubeadm; read by u7s, never sourced.\n");
        for (k, v) in self.pairs(show_secrets)? {
            let _ = writeln!(out, "{k}={}", quote(&v));
        }
        Ok(out)
    }

    /// Parses `text` (errors are named `env file:LINE:COL`).
    pub fn parse(text: &str) -> Result<EnvFile> {
        Self::parse_named(text, "env file")
    }

    /// Parses `text`, naming `origin` (a path) in errors.
    pub fn parse_named(text: &str, origin: &str) -> Result<EnvFile> {
        parse::parse_named(text, origin)
    }

    /// Reads and parses the file at `path`; errors name it.
    pub fn read(path: &Path) -> Result<EnvFile> {
        let meta =
            std::fs::metadata(path).with_context(|| crate::tr!("cannot-read", path.display()))?;
        if meta.len() > MAX_LEN {
            bail!(
                "{}",
                crate::tr!("env-too-large", path.display(), meta.len())
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| crate::tr!("cannot-read", path.display()))?;
        EnvFile::parse_named(&text, &path.display().to_string())
    }

    /// Writes the file (secrets included) atomically with mode 0600.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.render(true)?.as_bytes(), 0o600)
    }
}

/// `(key, value, 1-based column of the value)`.
type Assignment = (String, String, usize);

/// One line: `None` for blank and comment lines, else key, value and the
/// 1-based column where the value starts. Errors carry a column.
/// Writes `bytes` to `path` so that readers see the old file or the new one,
/// never half of it: a temporary file in the same directory, created with
/// `mode` (so a secret is never readable by others, not even briefly), synced,
/// renamed over `path`, and the directory synced.
pub use crate::fsx::write_atomic;

mod parse;

#[doc(hidden)]
pub mod fixture;

#[cfg(test)]
mod tests;
