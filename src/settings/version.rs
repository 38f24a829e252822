//! The Kubernetes version: where it comes from, the 1.26 floor, and what
//! depends on it (kubeadm configuration API, pause image tag).

use std::fmt;

use anyhow::{bail, Result};

/// The oldest minor version the rootless stack supports (1.26).
pub const MIN_MINOR: u32 = 26;

/// `vMAJOR.MINOR.PATCH` with an optional pre-release/build tail (`-rc.1`,
/// `+alt1`), kept verbatim so the version can be written back as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub tail: String,
}

/// Where the version was taken from; errors name it so the admin knows what to
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// `--kubernetes-version` on the kubeadm command line.
    Flag,
    /// `U7S_KUBEVERSION`.
    Env,
    /// The output of `kubeadm version -o short`.
    Kubeadm,
}

impl VersionSource {
    fn describe(self, raw: &str) -> String {
        match self {
            VersionSource::Flag => format!("--kubernetes-version {raw:?}"),
            VersionSource::Env => format!("U7S_KUBEVERSION={raw:?}"),
            VersionSource::Kubeadm => format!("kubeadm version {raw:?}"),
        }
    }

    fn fix(self) -> String {
        match self {
            VersionSource::Flag => crate::tr!("version-fix-flag"),
            VersionSource::Env => crate::tr!("version-fix-env"),
            VersionSource::Kubeadm => crate::tr!("version-fix-kubeadm"),
        }
    }
}

impl KubeVersion {
    /// Parses `raw` as given by `source`. `U7S_KUBEVERSION` and kubeadm's own
    /// output must start with `v`; the flag may omit it (kubeadm accepts both),
    /// but labels such as `stable-1` are refused: they need the network.
    /// Versions below 1.26 are refused.
    pub fn parse(raw: &str, source: VersionSource) -> Result<KubeVersion> {
        let what = source.describe(raw);
        let text = match source {
            VersionSource::Kubeadm => raw.trim(),
            _ => raw,
        };
        let body = match (text.strip_prefix('v'), source) {
            (Some(b), _) => b,
            (None, VersionSource::Flag) => text,
            (None, _) => bail!("{}", crate::tr!("version-no-v", what)),
        };
        let (core, tail) = match body.find(['-', '+']) {
            Some(i) => body.split_at(i),
            None => (body, ""),
        };
        let nums: Vec<&str> = core.split('.').collect();
        let num = |s: &str| -> Option<u32> {
            let ok = !s.is_empty()
                && s.len() <= 6
                && s.bytes().all(|b| b.is_ascii_digit())
                && !(s.len() > 1 && s.starts_with('0'));
            ok.then(|| s.parse().ok()).flatten()
        };
        let tail_ok = tail.len() <= 64
            && tail
                .bytes()
                .skip(1)
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && tail.len() != 1;
        let v = match (nums.as_slice(), tail_ok) {
            ([a, b, c], true) => match (num(a), num(b), num(c)) {
                (Some(major), Some(minor), Some(patch)) => KubeVersion {
                    major,
                    minor,
                    patch,
                    tail: tail.to_owned(),
                },
                _ => bail!("{}", crate::tr!("version-bad", what)),
            },
            _ => bail!("{}", crate::tr!("version-bad", what)),
        };
        if v.major != 1 || v.minor < MIN_MINOR {
            bail!(
                "{}",
                crate::tr!("version-too-old", what, MIN_MINOR, source.fix())
            );
        }
        Ok(v)
    }

    /// The version to deploy: `--kubernetes-version`, else `U7S_KUBEVERSION`
    /// (empty counts as unset), else what the real kubeadm reports.
    pub fn resolve(
        flag: Option<&str>,
        env: Option<&str>,
        kubeadm_short: Option<&str>,
    ) -> Result<KubeVersion> {
        if let Some(f) = flag {
            return KubeVersion::parse(f, VersionSource::Flag);
        }
        if let Some(e) = env.filter(|e| !e.is_empty()) {
            return KubeVersion::parse(e, VersionSource::Env);
        }
        match kubeadm_short {
            Some(k) => KubeVersion::parse(k, VersionSource::Kubeadm),
            None => bail!("{}", crate::tr!("version-unknown")),
        }
    }

    /// `1.26`: the minor series, as package names use it.
    pub fn minor_series(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// kubeadm's configuration API `v1beta4` exists from 1.31 (v1beta3 before).
    pub fn uses_v1beta4(&self) -> bool {
        self.minor >= 31
    }

    /// The pause image tag kubeadm of this minor version pulls (its
    /// `constants.PauseVersion`); `kubeadm config images list` says the same
    /// when it can be run, and wins then.
    pub fn pause_tag(&self) -> &'static str {
        match self.minor {
            ..=30 => "3.9",
            31..=33 => "3.10",
            _ => "3.10.1",
        }
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v{}.{}.{}{}",
            self.major, self.minor, self.patch, self.tail
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VersionSource::*;

    #[test]
    fn accepts_supported_versions() {
        let v = KubeVersion::parse("v1.26.3", Env).unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 26, 3));
        assert_eq!(v.to_string(), "v1.26.3");
        assert_eq!(v.minor_series(), "1.26");
        assert!(!v.uses_v1beta4());
        let v = KubeVersion::parse("v1.31.0-rc.1", Env).unwrap();
        assert_eq!(v.tail, "-rc.1");
        assert_eq!(v.to_string(), "v1.31.0-rc.1");
        assert!(v.uses_v1beta4());
        assert!(KubeVersion::parse("v1.30.14", Env).is_ok_and(|v| !v.uses_v1beta4()));
        assert!(KubeVersion::parse("v1.32.2", Env).is_ok_and(|v| v.uses_v1beta4()));
    }

    #[test]
    fn refuses_old_versions_naming_input_and_fix() {
        let e = KubeVersion::parse("v1.25.9", Env).unwrap_err().to_string();
        assert_eq!(
            e,
            "U7S_KUBEVERSION=\"v1.25.9\": Kubernetes below v1.26 is not supported; set U7S_KUBEVERSION to v1.26.0 or newer"
        );
        assert!(!e.contains('\n'));
        let e = KubeVersion::parse("v1.24.0\n", Kubeadm)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("kubeadm version \"v1.24.0\\n\""), "{e}");
        assert!(e.contains("install kubeadm 1.26 or newer"), "{e}");
        assert!(KubeVersion::parse("v2.0.0", Env).is_err());
        assert!(KubeVersion::parse("v0.30.0", Env).is_err());
    }

    #[test]
    fn refuses_junk() {
        for s in [
            "",
            "v",
            "1.26.3",
            "v1.26",
            "v1.26.3.4",
            "v1..3",
            "vx.y.z",
            "v1.26.3-",
            "v 1.26.3",
            "v1.26.3 ",
            "v01.26.3",
            "v1.26.3;rm",
            "v1.26.3-rc 1",
            "stable-1",
            "latest",
        ] {
            assert!(KubeVersion::parse(s, Env).is_err(), "{s:?} accepted");
        }
        let e = KubeVersion::parse("1.26.3", Env).unwrap_err().to_string();
        assert_eq!(
            e,
            "U7S_KUBEVERSION=\"1.26.3\" must start with v, e.g. v1.26.3"
        );
    }

    #[test]
    fn kubeadm_output_is_trimmed_and_flag_may_omit_v() {
        assert_eq!(KubeVersion::parse("v1.28.4\n", Kubeadm).unwrap().patch, 4);
        assert!(KubeVersion::parse("1.28.4\n", Kubeadm).is_err());
        assert_eq!(
            KubeVersion::parse("1.28.4", Flag).unwrap().to_string(),
            "v1.28.4"
        );
        assert!(KubeVersion::parse("stable-1.28", Flag).is_err());
    }

    #[test]
    fn resolve_order() {
        let r = |f, e, k| KubeVersion::resolve(f, e, k).map(|v| v.to_string());
        assert_eq!(
            r(Some("v1.29.1"), Some("v1.28.0"), Some("v1.27.0")).unwrap(),
            "v1.29.1"
        );
        assert_eq!(
            r(None, Some("v1.28.0"), Some("v1.27.0")).unwrap(),
            "v1.28.0"
        );
        assert_eq!(r(None, Some(""), Some("v1.27.0\n")).unwrap(), "v1.27.0");
        assert_eq!(r(None, None, Some("v1.27.0")).unwrap(), "v1.27.0");
        assert!(r(None, None, None)
            .unwrap_err()
            .to_string()
            .contains("U7S_KUBEVERSION"));
        // an explicit bad value is not silently replaced by the next source
        assert!(r(None, Some("v1.25.0"), Some("v1.27.0")).is_err());
    }

    #[test]
    fn pause_tags() {
        let t = |s| KubeVersion::parse(s, Env).unwrap().pause_tag();
        assert_eq!(t("v1.26.3"), "3.9");
        assert_eq!(t("v1.30.0"), "3.9");
        assert_eq!(t("v1.31.1"), "3.10");
        assert_eq!(t("v1.34.0"), "3.10.1");
    }
}
