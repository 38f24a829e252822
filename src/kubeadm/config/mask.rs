//! Hiding the secrets of a kubeadm configuration before it is shown.
//!
//! The dry run prints the configuration, and SPEC allows secrets on screen
//! only where kubeadm itself prints them. Masking works on the parsed
//! documents, so it catches the secrets wherever the admin's own `--config`
//! file put them, not only where u7s writes them.

use crate::yaml::Value;
use anyhow::Result;

use crate::yaml::{documents_to_string, parse_documents};

/// The fields that hold a bootstrap token, a certificate key or a CA hash.
const SECRET_KEYS: &[&str] = &[
    "token",
    "certificateKey",
    "tlsBootstrapToken",
    "caCertHashes",
];

pub const HIDDEN: &str = "<hidden>";

fn mask(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            for (key, v) in map.iter_mut() {
                if key.as_str().is_some_and(|k| SECRET_KEYS.contains(&k)) {
                    *v = match v {
                        Value::Sequence(items) => {
                            Value::Sequence(items.iter().map(|_| Value::from(HIDDEN)).collect())
                        }
                        _ => Value::from(HIDDEN),
                    };
                } else {
                    mask(v);
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(mask),
        Value::Tagged(tagged) => mask(&mut tagged.value),
        _ => {}
    }
}

/// `value` without the secret fields (keys removed, not masked), so that a
/// record of the configuration kept on disk after kubeadm used it still
/// loads in kubeadm (which generates a fresh token or key where one is
/// missing) and holds nothing worth stealing.
fn strip(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            map.retain(|key, _| !key.as_str().is_some_and(|k| SECRET_KEYS.contains(&k)));
            map.values_mut().for_each(strip);
        }
        Value::Sequence(items) => items.iter_mut().for_each(strip),
        Value::Tagged(tagged) => strip(&mut tagged.value),
        _ => {}
    }
}

fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Mapping(map) => map.iter().any(|(key, v)| {
            key.as_str().is_some_and(|k| SECRET_KEYS.contains(&k)) || holds_secret(v)
        }),
        Value::Sequence(items) => items.iter().any(holds_secret),
        Value::Tagged(tagged) => holds_secret(&tagged.value),
        _ => false,
    }
}

/// Whether any document of `yaml` has a secret field.
pub fn has_secrets(yaml: &str) -> Result<bool> {
    Ok(parse_documents(yaml)?.iter().any(holds_secret))
}

/// The multi-document `yaml` with the secret fields removed.
pub fn strip_secrets(yaml: &str) -> Result<String> {
    let mut docs = parse_documents(yaml)?;
    docs.iter_mut().for_each(strip);
    documents_to_string(&docs)
}

/// The multi-document `yaml` with every secret replaced by `<hidden>`.
pub fn mask_secrets(yaml: &str) -> Result<String> {
    let mut docs = parse_documents(yaml)?;
    docs.iter_mut().for_each(mask);
    documents_to_string(&docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_everywhere_and_nothing_else_changes() {
        let yaml = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: abcdef.0123456789abcdef\n    caCertHashes:\n    - sha256:aaaa\n  tlsBootstrapToken: abcdef.0123456789abcdef\ncontrolPlane:\n  certificateKey: 0123456789abcdef\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 24h0m0s\n";
        let masked = mask_secrets(yaml).unwrap();
        assert!(!masked.contains("0123456789abcdef"), "{masked}");
        assert!(!masked.contains("sha256:aaaa"), "{masked}");
        assert!(
            masked.contains("apiServerEndpoint: 10.0.0.1:6443"),
            "{masked}"
        );
        assert!(masked.contains("ttl: 24h0m0s"), "{masked}");
        assert_eq!(masked.matches(HIDDEN).count(), 5, "{masked}");
    }

    #[test]
    fn stripping_removes_the_secret_fields_and_keeps_the_rest() {
        let yaml = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: abcdef.0123456789abcdef\n    caCertHashes:\n    - sha256:aaaa\n  tlsBootstrapToken: abcdef.0123456789abcdef\ncontrolPlane:\n  certificateKey: 0123456789abcdef\n  localAPIEndpoint:\n    bindPort: 6443\n";
        let stripped = strip_secrets(yaml).unwrap();
        for gone in [
            "0123456789abcdef",
            "sha256:aaaa",
            "token:",
            "certificateKey",
            "caCertHashes",
        ] {
            assert!(!stripped.contains(gone), "{gone} in {stripped}");
        }
        for kept in [
            "apiServerEndpoint: 10.0.0.1:6443",
            "bindPort: 6443",
            "kind: JoinConfiguration",
        ] {
            assert!(stripped.contains(kept), "{kept} missing in {stripped}");
        }
        assert_eq!(strip_secrets(&stripped).unwrap(), stripped);
        assert!(has_secrets(yaml).unwrap());
        assert!(!has_secrets(&stripped).unwrap());
    }
}
