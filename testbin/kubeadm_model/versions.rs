//! What differs between the modeled kubeadm releases
//! (cmd/kubeadm/app/constants/constants.go and the contract's notes).

#[derive(Debug, Clone)]
pub struct Version {
    pub minor: u32,
    /// As kubeadm prints it: `v1.31.2`.
    pub text: String,
}

pub const MODELED_MINORS: &[u32] = &[26, 30, 31];

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let t = text.trim();
        let bare = t.strip_prefix('v').unwrap_or(t);
        let mut parts = bare.splitn(3, '.');
        let (major, minor, patch) = (parts.next(), parts.next(), parts.next());
        let num = |s: Option<&str>| -> Option<u32> {
            let digits: String = s?.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        match (num(major), num(minor), num(patch)) {
            (Some(1), Some(minor), Some(patch)) if MODELED_MINORS.contains(&minor) => Ok(Version {
                minor,
                text: format!("v1.{minor}.{patch}"),
            }),
            (Some(1), Some(minor), Some(_)) => Err(format!(
                "kubeadm 1.{minor} is not modeled (modeled: {})",
                MODELED_MINORS
                    .iter()
                    .map(|m| format!("1.{m}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Err(format!("version {text:?} is not vMAJOR.MINOR.PATCH")),
        }
    }

    /// "1.31": the key of flags.json's per-version data.
    pub fn key(&self) -> String {
        format!("1.{}", self.minor)
    }

    /// v1beta4 is the current configuration API (1.31+).
    pub fn v1beta4_current(&self) -> bool {
        self.minor >= 31
    }

    /// kubeadm talks to the container runtime through the CRI client
    /// library from 1.31 (kubernetes#124685); before, it ran `crictl`.
    pub fn cri_client(&self) -> bool {
        self.minor >= 31
    }

    /// super-admin.conf exists from 1.29 (KEP-4214).
    pub fn has_super_admin(&self) -> bool {
        self.minor >= 29
    }

    /// admin.conf's group: kubeadm:cluster-admins from 1.29, system:masters before.
    pub fn admin_group(&self) -> &'static str {
        if self.minor >= 29 {
            "kubeadm:cluster-admins"
        } else {
            "system:masters"
        }
    }

    pub fn pause(&self) -> &'static str {
        if self.minor >= 31 {
            "3.10"
        } else {
            "3.9"
        }
    }

    /// The etcd tag of this kubeadm's release (the patch releases that
    /// bumped it later are not modeled).
    pub fn etcd(&self) -> &'static str {
        match self.minor {
            26 => "3.5.6-0",
            30 => "3.5.12-0",
            _ => "3.5.15-0",
        }
    }

    pub fn coredns(&self) -> &'static str {
        match self.minor {
            26 => "v1.9.3",
            30 => "v1.11.1",
            _ => "v1.11.3",
        }
    }
}

/// A Kubernetes version from a configuration or a flag, as kubeadm reads it:
/// `^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-\w.+]*)?$`.
pub fn parse_kubernetes_version(text: &str) -> Option<(u32, u32, String)> {
    let bare = text.strip_prefix('v').unwrap_or(text);
    let mut numbers = Vec::new();
    let mut rest = bare;
    for i in 0..3 {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        numbers.push(digits.parse::<u32>().ok()?);
        rest = &rest[digits.len()..];
        if i < 2 {
            rest = rest.strip_prefix('.')?;
        }
    }
    let tail_ok = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
    if !tail_ok {
        return None;
    }
    Some((numbers[0], numbers[1], format!("v{bare}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("v1.31.2").unwrap().text, "v1.31.2");
        assert_eq!(Version::parse("1.26.3").unwrap().minor, 26);
        assert!(Version::parse("v1.28.0")
            .unwrap_err()
            .contains("not modeled"));
        assert!(Version::parse("v1.31").is_err());
    }

    #[test]
    fn kubernetes_versions_as_kubeadm_reads_them() {
        assert_eq!(
            parse_kubernetes_version("1.26.0"),
            Some((1, 26, "v1.26.0".into()))
        );
        assert_eq!(
            parse_kubernetes_version("v1.31.2+alt1"),
            Some((1, 31, "v1.31.2+alt1".into()))
        );
        assert_eq!(parse_kubernetes_version("v1.26"), None);
        assert_eq!(parse_kubernetes_version("v1.026.0"), None);
    }
}
