//! The image registry and platform (`U7S_REGISTRY`, `U7S_PLATFORM`), and the
//! image names derived from them.
//!
//! The env file keeps the reference's split: `U7S_REGISTRY` is the registry
//! host, `U7S_PLATFORM` the path of the platform's images on it, and
//! `U7S_REGISTRY_PLATFORM` both joined (kubeadm's `imageRepository`). Images in
//! `U7S_IMAGES` and `U7S_PAUSE_IMAGE` are named relative to the registry host,
//! because the service roles prefix them with `$U7S_REGISTRY/`.

use anyhow::{bail, Result};

use super::host::HostFacts;
use super::version::KubeVersion;

pub const UPSTREAM_REGISTRY: &str = "registry.k8s.io";
pub const ALT_REGISTRY: &str = "registry.altlinux.org";
pub const LOCAL_REGISTRY: &str = "registry.local";
/// Suffix for the certified ALT SP (CPE_NAME contains `spserver`).
pub const PLATFORM_SP: &str = "k8s-c10f1";
/// Suffix for everything else (ALT p10).
pub const PLATFORM_P10: &str = "k8s-p10";
/// Where flannel comes from when the registry is not an ALT one.
pub const UPSTREAM_FLANNEL_REGISTRY: &str = "docker.io/flannel";

/// The values of the environment variables that steer the settings. Taken as
/// data so the rules are testable; `None` is unset, `Some("")` set-and-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvInputs {
    pub registry: Option<String>,
    pub platform: Option<String>,
    pub kube_version: Option<String>,
    pub cni_plugin: Option<String>,
    pub flannel_tag: Option<String>,
}

impl EnvInputs {
    /// Reads `U7S_REGISTRY`, `U7S_PLATFORM`, `U7S_KUBEVERSION`,
    /// `U7S_CNI_PLUGIN` and `U7S_FLANNEL_TAG` from the process environment.
    pub fn from_process_env() -> EnvInputs {
        EnvInputs::from_lookup(|k| std::env::var(k).ok())
    }

    /// The same variables, from `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> EnvInputs {
        EnvInputs {
            registry: get("U7S_REGISTRY"),
            platform: get("U7S_PLATFORM"),
            kube_version: get("U7S_KUBEVERSION"),
            cni_plugin: get("U7S_CNI_PLUGIN"),
            flannel_tag: get("U7S_FLANNEL_TAG"),
        }
    }
}

/// How the registry was chosen (for messages and `--dry-run` output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrySource {
    /// `U7S_REGISTRY` set and empty: upstream registry.k8s.io.
    Upstream,
    /// `U7S_REGISTRY` set to a value.
    Explicit,
    /// Computed from /etc/hosts and /etc/os-release.
    Computed,
}

/// The registry host and the platform path on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// `U7S_REGISTRY`: host[:port].
    pub registry: String,
    /// `U7S_PLATFORM`: path under the host, empty for none.
    pub platform: String,
    pub source: RegistrySource,
}

pub(crate) fn valid_host(h: &str) -> bool {
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (h, None),
    };
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0) && !p.starts_with('0'))
}

pub(crate) fn valid_path(p: &str) -> bool {
    p.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && seg
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

impl Registry {
    /// The rules of the spec:
    /// - `U7S_REGISTRY` set and empty: registry.k8s.io, no platform
    ///   (`U7S_PLATFORM` is ignored there, as upstream has no platforms);
    /// - set to `host[:port][/path]`: used as given; a path is the platform, and
    ///   `U7S_PLATFORM` may only supply one when the value has none;
    /// - unset: `registry.local` when /etc/hosts maps exactly that name, else
    ///   registry.altlinux.org; platform `U7S_PLATFORM` if set, else
    ///   `k8s-c10f1` when CPE_NAME contains `spserver`, else `k8s-p10`.
    pub fn choose(env: &EnvInputs, host: &HostFacts) -> Result<Registry> {
        let platform_env = env.platform.as_deref().filter(|p| !p.is_empty());
        if let Some(p) = platform_env {
            if !valid_path(p) {
                bail!("{}", crate::tr!("platform-bad", format!("{p:?}")));
            }
        }
        match env.registry.as_deref() {
            Some("") => Ok(Registry {
                registry: UPSTREAM_REGISTRY.into(),
                platform: String::new(),
                source: RegistrySource::Upstream,
            }),
            Some(given) => {
                let given = given.strip_suffix('/').unwrap_or(given);
                let (h, path) = match given.split_once('/') {
                    Some((h, p)) => (h, Some(p)),
                    None => (given, None),
                };
                if !valid_host(h) || !path.is_none_or(valid_path) {
                    bail!("{}", crate::tr!("registry-bad", format!("{given:?}")));
                }
                let platform = match (path, platform_env) {
                    (Some(p), Some(q)) if p != q => bail!(
                        "{}",
                        crate::tr!(
                            "registry-platform-clash",
                            format!("{given:?}"),
                            format!("{p:?}"),
                            format!("{q:?}")
                        )
                    ),
                    (Some(p), _) => p.to_owned(),
                    (None, Some(q)) => q.to_owned(),
                    (None, None) => String::new(),
                };
                Ok(Registry {
                    registry: h.to_owned(),
                    platform,
                    source: RegistrySource::Explicit,
                })
            }
            None => {
                let registry = if host.hosts_maps(LOCAL_REGISTRY) {
                    LOCAL_REGISTRY
                } else {
                    ALT_REGISTRY
                };
                let sp = host
                    .os_release
                    .cpe_name
                    .as_deref()
                    .is_some_and(|c| c.contains("spserver"));
                let platform = match platform_env {
                    Some(p) => p,
                    None if sp => PLATFORM_SP,
                    None => PLATFORM_P10,
                };
                Ok(Registry {
                    registry: registry.into(),
                    platform: platform.into(),
                    source: RegistrySource::Computed,
                })
            }
        }
    }

    /// `U7S_REGISTRY_PLATFORM`: kubeadm's `imageRepository`, also the etcd and
    /// coredns image repository.
    pub fn repository(&self) -> String {
        self.relative("")
            .map(|p| format!("{}/{p}", self.registry))
            .unwrap_or_else(|| self.registry.clone())
    }

    /// `platform/name` (or `name` without a platform): an image relative to
    /// the registry host; `None` for an empty name and no platform.
    fn relative(&self, name: &str) -> Option<String> {
        match (self.platform.is_empty(), name.is_empty()) {
            (true, true) => None,
            (true, false) => Some(name.to_owned()),
            (false, true) => Some(self.platform.clone()),
            (false, false) => Some(format!("{}/{name}", self.platform)),
        }
    }

    /// ALT registries carry flannel under the platform; others do not.
    pub fn is_alt(&self) -> bool {
        self.registry == ALT_REGISTRY || self.registry == LOCAL_REGISTRY
    }

    /// `U7S_FLANNEL_REGISTRY`.
    pub fn flannel_registry(&self) -> String {
        if self.is_alt() {
            self.registry.clone()
        } else {
            UPSTREAM_FLANNEL_REGISTRY.to_owned()
        }
    }

    /// The full flannel image for `tag`.
    pub fn flannel_image(&self, tag: &str) -> String {
        if self.is_alt() {
            format!("{}/flannel:{tag}", self.repository())
        } else {
            format!("{UPSTREAM_FLANNEL_REGISTRY}/flannel:{tag}")
        }
    }

    /// `U7S_PAUSE_IMAGE`: the pause image relative to the registry host.
    pub fn pause_image(&self, version: &KubeVersion) -> String {
        let name = format!("pause:{}", version.pause_tag());
        self.relative(&name).unwrap_or(name)
    }

    /// The images of `kubeadm config images list --image-repository
    /// <repository>` relative to the registry host (`U7S_IMAGES`), and the
    /// pause image among them. Refuses lines outside the repository.
    pub fn images_from_kubeadm_list(&self, list: &str) -> Result<(Vec<String>, Option<String>)> {
        let repo = format!("{}/", self.repository());
        let host = format!("{}/", self.registry);
        let mut images = Vec::new();
        let mut pause = None;
        for line in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some(short) = line.strip_prefix(&repo) else {
                bail!(
                    "{}",
                    crate::tr!("image-not-under", format!("{line:?}"), self.repository())
                );
            };
            if line
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b == b'\'' || b == b'"')
            {
                bail!("{}", crate::tr!("image-malformed", format!("{line:?}")));
            }
            let rel = line[host.len()..].to_owned();
            if short.starts_with("pause:") {
                pause = Some(rel.clone());
            }
            images.push(rel);
        }
        Ok((images, pause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::host::{parse_hosts, parse_os_release};
    use crate::settings::version::VersionSource;

    fn facts(hosts: &str, os: &str) -> HostFacts {
        HostFacts {
            hosts: parse_hosts(hosts),
            os_release: parse_os_release(os),
            ..HostFacts::default()
        }
    }

    const P10: &str = "NAME=\"ALT Server\"\nVERSION_ID=10.2\nCPE_NAME=\"cpe:/o:alt:server:10.2\"\nALT_BRANCH_ID=p10\n";
    const SP: &str =
        "NAME=\"ALT SP Server\"\nCPE_NAME=\"cpe:/o:alt:spserver:10\"\nALT_BRANCH_ID=c10f2\n";

    fn computed(hosts: &str, os: &str) -> String {
        Registry::choose(&EnvInputs::default(), &facts(hosts, os))
            .unwrap()
            .repository()
    }

    #[test]
    fn hosts_matrix() {
        let cases = [
            ("10.0.0.5 registry.local\n", "registry.local"),
            ("10.0.0.5\tregistry.local\n", "registry.local"),
            ("  10.0.0.5 \t registry.local  # podsec\n", "registry.local"),
            ("10.0.0.1 registry registry.local\n", "registry.local"),
            ("10.0.0.1\tregistry\tregistry.local\n", "registry.local"),
            ("fd00::5 registry.local\n", "registry.local"),
            ("", "registry.altlinux.org"),
            ("127.0.0.1 localhost\n", "registry.altlinux.org"),
            ("# 10.0.0.5 registry.local\n", "registry.altlinux.org"),
            (
                "127.0.0.1 localhost # registry.local\n",
                "registry.altlinux.org",
            ),
            ("10.0.0.5 registry.localdomain\n", "registry.altlinux.org"),
            ("10.0.0.5 my-registry.local\n", "registry.altlinux.org"),
            (
                "10.0.0.5 registry.local.example.com\n",
                "registry.altlinux.org",
            ),
            ("registry.local 10.0.0.5\n", "registry.altlinux.org"),
            ("registry.local\n", "registry.altlinux.org"),
        ];
        for (hosts, want) in cases {
            assert_eq!(
                computed(hosts, P10),
                format!("{want}/k8s-p10"),
                "hosts {hosts:?}"
            );
        }
    }

    #[test]
    fn os_release_matrix() {
        assert_eq!(computed("", P10), "registry.altlinux.org/k8s-p10");
        assert_eq!(computed("", SP), "registry.altlinux.org/k8s-c10f1");
        assert_eq!(
            computed("10.0.0.5 registry.local\n", SP),
            "registry.local/k8s-c10f1"
        );
        assert_eq!(computed("", ""), "registry.altlinux.org/k8s-p10");
        assert_eq!(
            computed("", "# CPE_NAME=\"cpe:/o:alt:spserver:10\"\n"),
            "registry.altlinux.org/k8s-p10"
        );
    }

    #[test]
    fn explicit_platform_replaces_suffix() {
        let env = EnvInputs {
            platform: Some("p11".into()),
            ..EnvInputs::default()
        };
        let r = Registry::choose(&env, &facts("", SP)).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.platform.as_str()),
            ("registry.altlinux.org", "p11")
        );
        assert_eq!(r.repository(), "registry.altlinux.org/p11");
        // empty U7S_PLATFORM counts as unset
        let env = EnvInputs {
            platform: Some(String::new()),
            ..EnvInputs::default()
        };
        assert_eq!(
            Registry::choose(&env, &facts("", SP)).unwrap().platform,
            "k8s-c10f1"
        );
        let env = EnvInputs {
            platform: Some("P11; rm".into()),
            ..EnvInputs::default()
        };
        assert!(Registry::choose(&env, &facts("", P10)).is_err());
    }

    #[test]
    fn set_and_empty_is_upstream_without_platform() {
        for platform in [None, Some("p11".to_owned())] {
            let env = EnvInputs {
                registry: Some(String::new()),
                platform,
                ..EnvInputs::default()
            };
            let r = Registry::choose(&env, &facts("10.0.0.5 registry.local\n", SP)).unwrap();
            assert_eq!(r.repository(), "registry.k8s.io");
            assert_eq!(r.platform, "");
            assert_eq!(r.source, RegistrySource::Upstream);
        }
    }

    #[test]
    fn custom_registry_as_given() {
        let choose = |reg: &str, plat: Option<&str>| {
            Registry::choose(
                &EnvInputs {
                    registry: Some(reg.into()),
                    platform: plat.map(Into::into),
                    ..EnvInputs::default()
                },
                &facts("10.0.0.5 registry.local\n", SP),
            )
        };
        let r = choose("registry.altlinux.org/k8s-p10", None).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.platform.as_str()),
            ("registry.altlinux.org", "k8s-p10")
        );
        let r = choose("harbor.example.com:5000/k8s/alt", None).unwrap();
        assert_eq!(r.registry, "harbor.example.com:5000");
        assert_eq!(r.repository(), "harbor.example.com:5000/k8s/alt");
        let r = choose("mirror.example.com", None).unwrap();
        assert_eq!(r.repository(), "mirror.example.com");
        let r = choose("mirror.example.com", Some("p11")).unwrap();
        assert_eq!(r.repository(), "mirror.example.com/p11");
        let r = choose("registry.local/k8s-p10/", Some("k8s-p10")).unwrap();
        assert_eq!(r.repository(), "registry.local/k8s-p10");
        let e = choose("registry.local/k8s-p10", Some("p11"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("already names the platform"), "{e}");
        for bad in [
            "https://registry.local",
            "reg istry",
            "registry.local//x",
            "a:99999",
            "-x.org",
            "r.org/UPPER",
            "r.org/'x'",
        ] {
            assert!(choose(bad, None).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn derived_image_names() {
        let v = KubeVersion::parse("v1.26.3", VersionSource::Env).unwrap();
        let alt = Registry::choose(&EnvInputs::default(), &facts("", P10)).unwrap();
        assert_eq!(alt.pause_image(&v), "k8s-p10/pause:3.9");
        assert_eq!(alt.flannel_registry(), "registry.altlinux.org");
        assert_eq!(
            alt.flannel_image("v0.25.1"),
            "registry.altlinux.org/k8s-p10/flannel:v0.25.1"
        );
        let up = Registry::choose(
            &EnvInputs {
                registry: Some(String::new()),
                ..EnvInputs::default()
            },
            &facts("", P10),
        )
        .unwrap();
        assert_eq!(up.pause_image(&v), "pause:3.9");
        assert_eq!(up.flannel_registry(), "docker.io/flannel");
        assert_eq!(
            up.flannel_image("v0.25.1"),
            "docker.io/flannel/flannel:v0.25.1"
        );
    }

    #[test]
    fn kubeadm_image_list() {
        let alt = Registry::choose(&EnvInputs::default(), &facts("", P10)).unwrap();
        let list = "registry.altlinux.org/k8s-p10/kube-apiserver:v1.26.3\n\
                    registry.altlinux.org/k8s-p10/pause:3.9\n\
                    registry.altlinux.org/k8s-p10/etcd:3.5.6-0\n\
                    registry.altlinux.org/k8s-p10/coredns:v1.9.3\n";
        let (images, pause) = alt.images_from_kubeadm_list(list).unwrap();
        assert_eq!(images[0], "k8s-p10/kube-apiserver:v1.26.3");
        assert_eq!(images.len(), 4);
        assert_eq!(pause.as_deref(), Some("k8s-p10/pause:3.9"));
        assert!(alt
            .images_from_kubeadm_list("registry.k8s.io/pause:3.9\n")
            .is_err());
    }
}
