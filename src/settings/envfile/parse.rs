//! Reading an env file: its assignments as written, then each value
//! checked and parsed into the typed [`super::EnvFile`]. Never sourced.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use anyhow::{anyhow, bail, Result};

use super::*;

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

/// Parses `text`, naming `origin` (a path) in errors.
pub(super) fn parse_named(text: &str, origin: &str) -> Result<EnvFile> {
    let raw = Raw::scan(text, origin)?;
    let extra = raw.extra();
    let (kube_version, kubeadm_flags) = raw.kubeadm()?;
    let images = raw.images()?;
    let node = raw.node()?;
    let secrets = raw.secrets()?;
    let (service_cidr, pod_network_cidr, cni) = raw.networks()?;
    let file = EnvFile {
        kube_version,
        kubeadm_flags,
        platform: images.platform,
        registry: images.registry,
        registry_platform: images.registry_platform,
        flannel_registry: images.flannel_registry,
        flannel_tag: images.flannel_tag,
        images: images.images,
        pause_image: images.pause_image,
        uid: node.uid,
        advertise_address: node.advertise_address,
        bind_port: node.bind_port,
        ext_dev: node.ext_dev,
        control_plane: node.control_plane,
        apiserver_endpoint: node.apiserver_endpoint,
        token: secrets.0,
        ca_cert_hashes: secrets.1,
        certificate_key: secrets.2,
        service_cidr,
        pod_network_cidr,
        cni,
        extra,
    };
    raw.check_derived(&file)?;
    Ok(file)
}

/// The file's assignments as written: value, line and column by key.
struct Raw<'a> {
    origin: &'a str,
    values: BTreeMap<String, (String, usize, usize)>,
    order: Vec<String>,
}

/// The registry and image part of the file.
struct Images {
    platform: String,
    registry: String,
    registry_platform: String,
    flannel_registry: String,
    flannel_tag: Option<String>,
    images: Vec<String>,
    pause_image: String,
}

/// The node part of the file.
struct Node {
    uid: u32,
    advertise_address: Ipv4Addr,
    bind_port: u16,
    ext_dev: String,
    control_plane: Role,
    apiserver_endpoint: Endpoint,
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        bail!("{what}")
    }
}

fn opt(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

fn words(v: &str) -> Vec<String> {
    v.split_ascii_whitespace().map(str::to_owned).collect()
}

impl<'a> Raw<'a> {
    /// Reads the assignments; a key set twice is an error.
    fn scan(text: &str, origin: &'a str) -> Result<Raw<'a>> {
        let mut raw = Raw {
            origin,
            values: BTreeMap::new(),
            order: Vec::new(),
        };
        for (i, line) in text.split('\n').enumerate() {
            let lineno = i + 1;
            let Some((key, value, col)) =
                parse_line(line).map_err(|(col, msg)| anyhow!("{origin}:{lineno}:{col}: {msg}"))?
            else {
                continue;
            };
            if raw.values.contains_key(&key) {
                bail!("{origin}:{lineno}:1: {}", crate::tr!("env-set-twice", key));
            }
            raw.order.push(key.clone());
            raw.values.insert(key, (value, lineno, col));
        }
        Ok(raw)
    }

    /// Keys u7s does not know: kept (and warned about), in file order.
    fn extra(&self) -> Vec<(String, String)> {
        let mut extra = Vec::new();
        for k in &self.order {
            if !KEYS.contains(&k.as_str()) {
                tracing::warn!("{}: {}", self.origin, crate::tr!("env-unknown-key", k));
                extra.push((k.clone(), self.values[k].0.clone()));
            }
        }
        extra
    }

    /// `key`'s value parsed with `f`; errors name the value's position.
    fn field<T>(&self, key: &str, f: impl FnOnce(&str) -> Result<T>) -> Result<T> {
        let (v, l, c) = self
            .values
            .get(key)
            .ok_or_else(|| anyhow!("{}: {}", self.origin, crate::tr!("is-missing", key)))?;
        f(v).map_err(|e| anyhow!("{}:{l}:{c}: {key}: {e}", self.origin))
    }

    fn kubeadm(&self) -> Result<(KubeVersion, Vec<String>)> {
        let version = self.field("U7S_KUBEVERSION", |v| {
            KubeVersion::parse(v, VersionSource::Env)
        })?;
        let flags = self.field("U7S_KUBEADMFLAGS", |v| Ok(words(v)))?;
        Ok((version, flags))
    }

    fn images(&self) -> Result<Images> {
        let platform = self.field("U7S_PLATFORM", |v| {
            check(
                v.is_empty() || valid_path(v),
                &crate::tr!("env-not-registry-path"),
            )?;
            Ok(v.to_owned())
        })?;
        let registry = self.field("U7S_REGISTRY", |v| {
            check(valid_host(v), &crate::tr!("env-not-registry-host"))?;
            Ok(v.to_owned())
        })?;
        let registry_platform = self.field("U7S_REGISTRY_PLATFORM", |v| {
            let want = if platform.is_empty() {
                registry.clone()
            } else {
                format!("{registry}/{platform}")
            };
            check(v == want, &crate::tr!("env-not-registry-platform", want))?;
            Ok(v.to_owned())
        })?;
        let flannel_registry = self.field("U7S_FLANNEL_REGISTRY", |v| {
            check(valid_repo(v), &crate::tr!("env-not-registry"))?;
            Ok(v.to_owned())
        })?;
        let flannel_tag = self.field("U7S_FLANNEL_TAG", |v| {
            check(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                &crate::tr!("env-not-tag"),
            )?;
            Ok(opt(v))
        })?;
        let images = self.field("U7S_IMAGES", |v| {
            let w = words(v);
            check(
                w.iter().all(|i| valid_image(i)),
                &crate::tr!("env-malformed-image"),
            )?;
            Ok(w)
        })?;
        let pause_image = self.field("U7S_PAUSE_IMAGE", |v| {
            check(valid_image(v), &crate::tr!("env-not-image"))?;
            Ok(v.to_owned())
        })?;
        Ok(Images {
            platform,
            registry,
            registry_platform,
            flannel_registry,
            flannel_tag,
            images,
            pause_image,
        })
    }

    fn node(&self) -> Result<Node> {
        let ip = |v: &str| {
            v.parse::<Ipv4Addr>()
                .map_err(|_| anyhow!("{}", crate::tr!("env-not-ipv4")))
        };
        Ok(Node {
            uid: self.field("U7S_UID", |v| {
                v.parse::<u32>()
                    .map_err(|_| anyhow!("{}", crate::tr!("env-not-uid")))
            })?,
            advertise_address: self.field("U7S_APISERVER_ADVERTISE_ADDRESS", ip)?,
            bind_port: self.field("U7S_APISERVER_BIND_PORT", |v| match v.parse::<u16>() {
                Ok(p) if p > 0 && !v.starts_with('0') => Ok(p),
                _ => bail!("{}", crate::tr!("env-not-port")),
            })?,
            ext_dev: self.field("U7S_EXTDEV", |v| {
                check(valid_ifname(v), &crate::tr!("env-not-ifname"))?;
                Ok(v.to_owned())
            })?,
            control_plane: self.field("U7S_CONTROLPLANE", |v| {
                Role::from_env_value(v).ok_or_else(|| anyhow!("{}", crate::tr!("env-not-role")))
            })?,
            apiserver_endpoint: self.field("U7S_APISERVERENDPOINT", |v| v.parse::<Endpoint>())?,
        })
    }

    /// The bootstrap token, the CA certificate hashes, the certificate key.
    fn secrets(&self) -> Result<(Option<String>, Vec<String>, Option<String>)> {
        let token = self.field("U7S_TOKEN", |v| {
            if !v.is_empty() {
                check_token(v)?;
            }
            Ok(opt(v))
        })?;
        let hashes = self.field("U7S_CACERTHASH", |v| {
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
        let key = self.field("U7S_CERIFICATEKEY", |v| {
            if !v.is_empty() {
                check_certificate_key(v)?;
            }
            Ok(opt(v))
        })?;
        Ok((token, hashes, key))
    }

    fn networks(&self) -> Result<(Cidr, Cidr, CniPlugin)> {
        let service = self.field("U7S_SERVICECIDR", |v| {
            let c: Cidr = v.parse()?;
            ServiceAddrs::derive(&c)?;
            Ok(c)
        })?;
        let pods = self.field("U7S_PODNETWORKCIDR", |v| v.parse::<Cidr>())?;
        let cni = self.field("U7S_CNI_PLUGIN", |v| v.parse::<CniPlugin>())?;
        Ok((service, pods, cni))
    }

    /// The derived keys, when present, must say what they derive from.
    fn check_derived(&self, file: &EnvFile) -> Result<()> {
        let expected: BTreeMap<String, String> = file.pairs(true)?.into_iter().collect();
        for key in DERIVED_KEYS {
            if let Some((v, l, c)) = self.values.get(*key) {
                let want = &expected[*key];
                if v != want {
                    bail!(
                        "{}:{l}:{c}: {}",
                        self.origin,
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
        Ok(())
    }
}

pub(super) fn parse_line(line: &str) -> std::result::Result<Option<Assignment>, (usize, String)> {
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
