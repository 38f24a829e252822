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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

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

fn valid_image(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"./:_@-".contains(&b))
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

fn valid_repo(s: &str) -> bool {
    match s.split_once('/') {
        Some((h, p)) => valid_host(h) && valid_path(p),
        None => valid_host(s),
    }
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
        let mut raw: BTreeMap<String, (String, usize, usize)> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let lineno = i + 1;
            let Some((key, value, col)) =
                parse_line(line).map_err(|(col, msg)| anyhow!("{origin}:{lineno}:{col}: {msg}"))?
            else {
                continue;
            };
            if raw.contains_key(&key) {
                bail!("{origin}:{lineno}:1: {}", crate::tr!("env-set-twice", key));
            }
            order.push(key.clone());
            raw.insert(key, (value, lineno, col));
        }
        let mut extra = Vec::new();
        for k in &order {
            if !KEYS.contains(&k.as_str()) {
                tracing::warn!("{origin}: {}", crate::tr!("env-unknown-key", k));
                extra.push((k.clone(), raw[k].0.clone()));
            }
        }
        let get = |key: &str| -> Result<(&str, String)> {
            match raw.get(key) {
                Some((v, l, c)) => Ok((v.as_str(), format!("{origin}:{l}:{c}: {key}"))),
                None => Err(anyhow!("{origin}: {}", crate::tr!("is-missing", key))),
            }
        };
        // Parses KEY with f, prefixing errors with the value's position.
        fn val<T>((v, at): (&str, String), f: impl FnOnce(&str) -> Result<T>) -> Result<T> {
            f(v).map_err(|e| anyhow!("{at}: {e}"))
        }
        fn check(ok: bool, what: &str) -> Result<()> {
            if ok {
                Ok(())
            } else {
                bail!("{what}")
            }
        }
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let words =
            |v: &str| -> Vec<String> { v.split_ascii_whitespace().map(str::to_owned).collect() };

        let kube_version = val(get("U7S_KUBEVERSION")?, |v| {
            KubeVersion::parse(v, VersionSource::Env)
        })?;
        let kubeadm_flags = val(get("U7S_KUBEADMFLAGS")?, |v| Ok(words(v)))?;
        let platform = val(get("U7S_PLATFORM")?, |v| {
            check(
                v.is_empty() || valid_path(v),
                &crate::tr!("env-not-registry-path"),
            )?;
            Ok(v.to_owned())
        })?;
        let registry = val(get("U7S_REGISTRY")?, |v| {
            check(valid_host(v), &crate::tr!("env-not-registry-host"))?;
            Ok(v.to_owned())
        })?;
        let registry_platform = val(get("U7S_REGISTRY_PLATFORM")?, |v| {
            let want = if platform.is_empty() {
                registry.clone()
            } else {
                format!("{registry}/{platform}")
            };
            check(v == want, &crate::tr!("env-not-registry-platform", want))?;
            Ok(v.to_owned())
        })?;
        let flannel_registry = val(get("U7S_FLANNEL_REGISTRY")?, |v| {
            check(valid_repo(v), &crate::tr!("env-not-registry"))?;
            Ok(v.to_owned())
        })?;
        let flannel_tag = val(get("U7S_FLANNEL_TAG")?, |v| {
            check(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                &crate::tr!("env-not-tag"),
            )?;
            Ok(opt(v))
        })?;
        let images = val(get("U7S_IMAGES")?, |v| {
            let w = words(v);
            check(
                w.iter().all(|i| valid_image(i)),
                &crate::tr!("env-malformed-image"),
            )?;
            Ok(w)
        })?;
        let pause_image = val(get("U7S_PAUSE_IMAGE")?, |v| {
            check(valid_image(v), &crate::tr!("env-not-image"))?;
            Ok(v.to_owned())
        })?;
        let uid = val(get("U7S_UID")?, |v| {
            v.parse::<u32>()
                .map_err(|_| anyhow!("{}", crate::tr!("env-not-uid")))
        })?;
        let ip = |v: &str| {
            v.parse::<Ipv4Addr>()
                .map_err(|_| anyhow!("{}", crate::tr!("env-not-ipv4")))
        };
        let advertise_address = val(get("U7S_APISERVER_ADVERTISE_ADDRESS")?, ip)?;
        let bind_port = val(get("U7S_APISERVER_BIND_PORT")?, |v| {
            match v.parse::<u16>() {
                Ok(p) if p > 0 && !v.starts_with('0') => Ok(p),
                _ => bail!("{}", crate::tr!("env-not-port")),
            }
        })?;
        let ext_dev = val(get("U7S_EXTDEV")?, |v| {
            check(valid_ifname(v), &crate::tr!("env-not-ifname"))?;
            Ok(v.to_owned())
        })?;
        let control_plane = val(get("U7S_CONTROLPLANE")?, |v| {
            Role::from_env_value(v).ok_or_else(|| anyhow!("{}", crate::tr!("env-not-role")))
        })?;
        let apiserver_endpoint = val(get("U7S_APISERVERENDPOINT")?, |v| v.parse::<Endpoint>())?;
        let token = val(get("U7S_TOKEN")?, |v| {
            if !v.is_empty() {
                check_token(v)?;
            }
            Ok(opt(v))
        })?;
        let ca_cert_hashes = val(get("U7S_CACERTHASH")?, |v| {
            let hs: Vec<String> = v
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
            for h in &hs {
                check_ca_cert_hash(h)?;
            }
            Ok(hs)
        })?;
        let certificate_key = val(get("U7S_CERIFICATEKEY")?, |v| {
            if !v.is_empty() {
                check_certificate_key(v)?;
            }
            Ok(opt(v))
        })?;
        let service_cidr = val(get("U7S_SERVICECIDR")?, |v| {
            let c: Cidr = v.parse()?;
            ServiceAddrs::derive(&c)?;
            Ok(c)
        })?;
        let pod_network_cidr = val(get("U7S_PODNETWORKCIDR")?, |v| v.parse::<Cidr>())?;
        let cni = val(get("U7S_CNI_PLUGIN")?, |v| v.parse::<CniPlugin>())?;

        let file = EnvFile {
            kube_version,
            kubeadm_flags,
            platform,
            registry,
            registry_platform,
            flannel_registry,
            flannel_tag,
            images,
            pause_image,
            uid,
            advertise_address,
            bind_port,
            ext_dev,
            control_plane,
            apiserver_endpoint,
            token,
            ca_cert_hashes,
            certificate_key,
            service_cidr,
            pod_network_cidr,
            cni,
            extra,
        };
        // The derived keys, when present, must say what they derive from.
        let expected: BTreeMap<String, String> = file.pairs(true)?.into_iter().collect();
        for key in DERIVED_KEYS {
            if let Some((v, l, c)) = raw.get(*key) {
                let want = &expected[*key];
                if v != want {
                    bail!(
                        "{origin}:{l}:{c}: {}",
                        crate::tr!(
                            "env-derived-mismatch",
                            key,
                            format!("{v:?}"),
                            format!("{want:?}")
                        )
                    );
                }
            }
        }
        Ok(file)
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
fn parse_line(line: &str) -> std::result::Result<Option<Assignment>, (usize, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t' || chars[i] == '\r') {
        i += 1;
    }
    if i == chars.len() || chars[i] == '#' || chars[i] == ';' {
        return Ok(None);
    }
    let key_start = i;
    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    let key: String = chars[key_start..i].iter().collect();
    if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
        return Err((key_start + 1, crate::tr!("env-expected-kv")));
    }
    if i == chars.len() || chars[i] != '=' {
        return Err((i + 1, crate::tr!("env-expected-eq", key)));
    }
    i += 1;
    let value_col = i + 1;
    let mut value = String::new();
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                let open = i;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    value.push(chars[i]);
                    i += 1;
                }
                if i == chars.len() {
                    return Err((open + 1, crate::tr!("env-unterminated-quote")));
                }
                i += 1;
            }
            '\\' => {
                if i + 1 == chars.len() {
                    return Err((i + 1, crate::tr!("env-trailing-backslash")));
                }
                value.push(chars[i + 1]);
                i += 2;
            }
            ' ' | '\t' | '\r' => {
                let ws = i;
                while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\r') {
                    i += 1;
                }
                if i < chars.len() {
                    return Err((ws + 1, crate::tr!("env-unquoted-space")));
                }
            }
            c @ ('"' | '$' | '`') => {
                return Err((i + 1, crate::tr!("env-outside-quotes", c)));
            }
            c if c.is_control() => return Err((i + 1, crate::tr!("env-control-in-value"))),
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    Ok(Some((key, value, value_col)))
}

/// Writes `bytes` to `path` so that readers see the old file or the new one,
/// never half of it: a temporary file in the same directory, created with
/// `mode` (so a secret is never readable by others, not even briefly), synced,
/// renamed over `path`, and the directory synced.
pub use crate::fsx::write_atomic;

/// The env file every test shares, the unit tests and the integration
/// tests alike (one fixture, not a copy per test file). Not used by u7s.
#[doc(hidden)]
pub mod fixture {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::derive::tests::{env, host, CERT_KEY, HASH, TOKEN};
    use crate::settings::derive::SettingsInput;
    use crate::settings::registry::EnvInputs;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> EnvFile {
        let mut i = SettingsInput::new(Role::ControlPlaneJoin, 989);
        i.join_endpoint = Some("192.0.2.10:6443".into());
        i.token = Some(TOKEN.into());
        i.ca_cert_hashes = vec![HASH.into()];
        i.certificate_key = Some(CERT_KEY.into());
        i.kubeadm_flags = vec![
            "-v".into(),
            "5".into(),
            "--ignore-preflight-errors=all".into(),
        ];
        i.service_cidr = Some("172.20.16.0/20".into());
        i.kubeadm_images = Some(
            "registry.local/k8s-p10/kube-apiserver:v1.26.3\nregistry.local/k8s-p10/pause:3.9\n"
                .into(),
        );
        let e = EnvInputs {
            flannel_tag: Some("v0.25.1".into()),
            ..env()
        };
        EnvFile::from_settings(&Settings::derive(&i, &e, &host()).unwrap())
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("u7s-env-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn renders_reference_variables() {
        let text = sample().render(true).unwrap();
        for line in [
            "U7S_KUBEVERSION='v1.26.3'",
            "U7S_KUBEADMFLAGS='-v 5 --ignore-preflight-errors=all'",
            "U7S_PLATFORM='k8s-p10'",
            "U7S_REGISTRY='registry.local'",
            "U7S_REGISTRY_PLATFORM='registry.local/k8s-p10'",
            "U7S_FLANNEL_REGISTRY='registry.local'",
            "U7S_FLANNEL_TAG='v0.25.1'",
            "U7S_IMAGES='k8s-p10/kube-apiserver:v1.26.3 k8s-p10/pause:3.9'",
            "U7S_PAUSE_IMAGE='k8s-p10/pause:3.9'",
            "U7S_UID='989'",
            "U7S_EXTIP='192.0.2.2'",
            "U7S_APISERVER_ADVERTISE_ADDRESS='192.0.2.2'",
            "U7S_APISERVER_BIND_PORT='6443'",
            "U7S_EXTDEV='eth0'",
            "U7S_CONTROLPLANE='master'",
            "U7S_APISERVERENDPOINT='192.0.2.10:6443'",
            &format!("U7S_TOKEN='{TOKEN}'"),
            &format!("U7S_CACERTHASH='{HASH}'"),
            &format!("U7S_CERIFICATEKEY='{CERT_KEY}'"),
            "U7S_SERVICECIDR='172.20.16.0/20'",
            "U7S_SERVICECIDRIP='172.20.16.0'",
            "U7S_SERVICEMASK='20'",
            "U7S_PODNETWORKCIDR='10.244.0.0/16'",
            "U7S_PODNETWORKCIDRIP='10.244.0.0'",
            "U7S_PODNETWORKMASK='16'",
            "U7S_CNI_PLUGIN='flannel'",
            "U7S_ROOTLESSKIT_FLAGS='--cidr=172.20.16.0/20'",
            "U7S_KUBERNETESCLUSTERIP='172.20.16.1'",
            "U7S_KUBERNETESCLUSTERDNS='172.20.16.10'",
            "U7S_SLIRP4IP='172.20.16.100'",
            "_CONTAINERS_ROOTLESS_UID='989'",
            "_CONTAINERS_USERNS_CONFIGURED='1'",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
    }

    #[test]
    fn secrets_hidden_unless_asked() {
        let text = sample().render(false).unwrap();
        for s in [TOKEN, HASH, CERT_KEY] {
            assert!(!text.contains(s), "secret leaked:\n{text}");
        }
        assert!(text.contains("U7S_TOKEN='<hidden>'"));
        assert!(text.contains("U7S_CACERTHASH='<hidden>'"));
        assert!(text.contains("U7S_CERIFICATEKEY='<hidden>'"));
        // a hidden rendering is not a valid file
        assert!(EnvFile::parse(&text).is_err());
        // absent secrets stay empty, not "<hidden>"
        let mut f = sample();
        f.token = None;
        assert!(f.render(false).unwrap().contains("U7S_TOKEN=''\n"));
    }

    #[test]
    fn round_trip() {
        let f = sample();
        assert_eq!(EnvFile::parse(&f.render(true).unwrap()).unwrap(), f);
        let mut g = f.clone();
        g.token = None;
        g.ca_cert_hashes = vec![HASH.into(), HASH.replace("sha256:6", "sha256:7")];
        g.certificate_key = None;
        g.flannel_tag = None;
        g.images = vec![];
        g.kubeadm_flags = vec![];
        g.control_plane = Role::Worker;
        g.extra = vec![
            ("PATH".into(), "/usr/libexec/podsec/u7s/bin:/bin".into()),
            (
                "U7S_ODD".into(),
                "it's \"quoted\" $HOME `x` \\ ; # end".into(),
            ),
            ("U7S_EMPTY".into(), String::new()),
        ];
        let text = g.render(true).unwrap();
        assert_eq!(EnvFile::parse(&text).unwrap(), g);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        let (k, v, col) = parse_line(&format!("K={}", quote("a'b'c")))
            .unwrap()
            .unwrap();
        assert_eq!((k.as_str(), v.as_str(), col), ("K", "a'b'c", 3));
        assert_eq!(parse_line("K=bare").unwrap().unwrap().1, "bare");
        assert_eq!(parse_line("K=a\\ b").unwrap().unwrap().1, "a b");
        assert_eq!(parse_line("K='x'  ").unwrap().unwrap().1, "x");
        assert_eq!(parse_line("  # comment").unwrap(), None);
        assert_eq!(parse_line("; comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
    }

    #[test]
    fn syntax_errors_are_positioned() {
        let cases = [
            ("K='abc", "env file:1:3: unterminated single quote"),
            ("K=a b", "env file:1:4: unquoted white space"),
            ("K=\"x\"", "env file:1:3: \" outside single quotes"),
            ("K=$HOME", "env file:1:3: $ outside single quotes"),
            ("export K=1", "env file:1:7: expected = after export"),
            ("=1", "env file:1:1: expected KEY=value"),
            ("K x", "env file:1:2: expected = after K"),
        ];
        for (text, want) in cases {
            let e = EnvFile::parse(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
            assert!(!e.contains('\n'));
        }
        let text = "# head\n\nU7S_UID='1'\nU7S_UID='2'\n";
        let e = EnvFile::parse(text).unwrap_err().to_string();
        assert_eq!(e, "env file:4:1: U7S_UID is set twice");
    }

    fn replace_line(text: &str, key: &str, value: &str) -> String {
        text.lines()
            .map(|l| {
                if l.starts_with(&format!("{key}=")) {
                    format!("{key}={}", quote(value))
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn values_are_validated_on_read() {
        let good = sample().render(true).unwrap();
        let cases = [
            (
                "U7S_APISERVER_ADVERTISE_ADDRESS",
                "192.0.2.300",
                "is not an IPv4 address",
            ),
            ("U7S_APISERVER_BIND_PORT", "70000", "is not a port"),
            ("U7S_APISERVER_BIND_PORT", "0", "is not a port"),
            ("U7S_SERVICECIDR", "10.96.0.0/33", "not a CIDR"),
            ("U7S_PODNETWORKCIDR", "10.244.0.1/16", "host bits"),
            ("U7S_KUBEVERSION", "v1.25.0", "not supported"),
            ("U7S_UID", "-1", "not a uid"),
            ("U7S_EXTDEV", "eth0; reboot", "interface name"),
            ("U7S_CONTROLPLANE", "boss", "initMaster"),
            ("U7S_TOKEN", "nope", "bootstrap token"),
            ("U7S_CNI_PLUGIN", "weave", "flannel or calico"),
            (
                "U7S_REGISTRY_PLATFORM",
                "evil.example.com/x",
                "is not U7S_REGISTRY/U7S_PLATFORM",
            ),
            (
                "U7S_SLIRP4IP",
                "10.0.0.100",
                "the other values make it \"172.20.16.100\"",
            ),
            (
                "U7S_ROOTLESSKIT_FLAGS",
                "--cidr=10.96.0.0/12 --net=host",
                "U7S_ROOTLESSKIT_FLAGS is",
            ),
            (
                "_CONTAINERS_ROOTLESS_UID",
                "0",
                "_CONTAINERS_ROOTLESS_UID is",
            ),
        ];
        for (key, value, want) in cases {
            let text = replace_line(&good, key, value);
            let e = EnvFile::parse_named(&text, "/etc/podsec/u7s/config/env")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("/etc/podsec/u7s/config/env:"), "{e}");
            assert!(e.contains(key) && e.contains(want), "{key}={value}: {e}");
        }
        // the position points at the value
        let text = replace_line(&good, "U7S_APISERVER_BIND_PORT", "x");
        let line = text
            .lines()
            .position(|l| l.starts_with("U7S_APISERVER_BIND_PORT"))
            .unwrap()
            + 1;
        let e = EnvFile::parse(&text).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("env file:{line}:25: U7S_APISERVER_BIND_PORT")),
            "{e}"
        );
        // missing keys are named
        let text: String = good
            .lines()
            .filter(|l| !l.starts_with("U7S_EXTDEV="))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            EnvFile::parse(&text).unwrap_err().to_string(),
            "env file: U7S_EXTDEV is missing"
        );
        // derived keys may be absent
        let text: String = good
            .lines()
            .filter(|l| !l.starts_with("U7S_SLIRP4IP="))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(EnvFile::parse(&text).unwrap(), sample());
    }

    #[test]
    fn unknown_keys_are_kept() {
        let text = format!(
            "{}U7S_SKIP_PHASES='addon/kube-proxy'\n",
            sample().render(true).unwrap()
        );
        let f = EnvFile::parse(&text).unwrap();
        assert_eq!(
            f.extra,
            [("U7S_SKIP_PHASES".to_owned(), "addon/kube-proxy".to_owned())]
        );
    }

    #[test]
    fn write_is_atomic_and_private() {
        let d = tmpdir("write");
        let p = d.join("env");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let f = sample();
        f.write(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(EnvFile::read(&p).unwrap(), f);
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("env")], "no temp file left");
        // a failed write leaves the old file and no temp file
        let e = write_atomic(&d.join("nodir/env"), b"x", 0o600)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nodir"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn read_names_the_file() {
        let d = tmpdir("read");
        let p = d.join("env");
        let e = EnvFile::read(&p).unwrap_err().to_string();
        assert!(e.contains(&p.display().to_string()), "{e}");
        std::fs::write(&p, "U7S_UID='x\n").unwrap();
        let e = EnvFile::read(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:1:9: unterminated", p.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
