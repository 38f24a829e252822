//! Whether the chosen registry has every image a node pulls, asked before
//! anything is pulled, as the reference does (podsec's
//! `checkKubernetesPatchVersions` reads the registry's tag list of each
//! image). Pure: the executor runs `skopeo list-tags` inside the namespaces
//! and hands the answers here.
//!
//! Everything here reads data that u7s-admin's processes produced (kubeadm's
//! image list, skopeo's answer), so it is bounded and checked: only image
//! references and tags of the OCI grammar pass, nothing else reaches root's
//! terminal.

use anyhow::{anyhow, bail, Result};

/// How many tags a message names at most (a registry may hold hundreds).
const SHOWN_TAGS: usize = 12;

/// What the admin changes when an image's tag is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// kubeadm's images: their tags follow the Kubernetes version.
    Kubernetes,
    /// The CNI plugin's images: their tags are the bundled manifest's.
    Cni,
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A repository name: lower-case path components, a host (with a port)
/// first; no tag, no digest.
fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b))
        })
}

/// `repository:tag` split at the tag's colon (a registry port's colon comes
/// before the last slash).
pub fn split(image: &str) -> Result<(&str, &str)> {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = image[slash..]
        .rfind(':')
        .map(|i| (&image[..slash + i], &image[slash + i + 1..]))
        .ok_or_else(|| anyhow!("{}", crate::tr!("image-malformed", format!("{image:?}"))))?;
    if !valid_repository(repo) || !valid_tag(tag) {
        bail!("{}", crate::tr!("image-malformed", format!("{image:?}")));
    }
    Ok((repo, tag))
}

/// The images of `kubeadm config images list`, one per line, each checked.
pub fn parse_list(stdout: &str) -> Result<Vec<String>> {
    let images: Vec<String> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| split(l).map(|_| l.to_owned()))
        .collect::<Result<_>>()?;
    if images.is_empty() {
        bail!("{}", crate::tr!("images-list-empty"));
    }
    Ok(images)
}

/// The tags in `skopeo list-tags`'s answer (`{"Repository": ..., "Tags":
/// [...]}`); entries that are not tags are left out.
pub fn tags_from_skopeo(repo: &str, stdout: &str) -> Result<Vec<String>> {
    let answer: serde_json::Value = serde_json::from_str(stdout)
        .map_err(|e| anyhow!("{}", crate::tr!("image-tags-unreadable", repo, e)))?;
    let tags = answer
        .get("Tags")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| anyhow!("{}", crate::tr!("image-tags-unreadable", repo, "no Tags")))?;
    Ok(tags
        .iter()
        .filter_map(serde_json::Value::as_str)
        .filter(|t| valid_tag(t))
        .map(str::to_owned)
        .collect())
}

/// Compares two tags as versions: runs of digits by their value.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, xa), (db, xb)) in ca.iter().zip(&cb) {
        let order = if *da && *db {
            let (na, nb) = (xa.trim_start_matches('0'), xb.trim_start_matches('0'));
            na.len().cmp(&nb.len()).then(na.cmp(nb))
        } else {
            xa.cmp(xb)
        };
        if order.is_ne() {
            return order;
        }
    }
    ca.len().cmp(&cb.len())
}

/// The tags worth naming for `wanted`: those of its minor (`v1.31.`) if the
/// registry has any, else all; newest last, at most [`SHOWN_TAGS`].
pub fn nearest_tags(wanted: &str, tags: &[String]) -> Vec<String> {
    let minor: String = {
        let mut dots = 0;
        wanted
            .chars()
            .take_while(|c| {
                dots += usize::from(*c == '.');
                dots < 2
            })
            .collect()
    };
    let same_minor: Vec<&String> = tags
        .iter()
        .filter(|t| minor.contains('.') && t.starts_with(&format!("{minor}.")))
        .collect();
    let mut shown: Vec<String> = if same_minor.is_empty() {
        tags.iter().filter(|t| *t != "latest").cloned().collect()
    } else {
        same_minor.into_iter().cloned().collect()
    };
    shown.sort_by(|a, b| natural(a, b));
    shown.dedup();
    let skip = shown.len().saturating_sub(SHOWN_TAGS);
    shown.split_off(skip)
}

/// The one-line refusal: the image, the tags the registry has, the fix.
pub fn missing_tag(image: &str, tag: &str, tags: &[String], fix: Fix) -> String {
    let (repo, _) = split(image).unwrap_or((image, tag));
    let shown = nearest_tags(tag, tags);
    let have = if shown.is_empty() {
        crate::tr!("image-no-tags")
    } else if shown.len() < tags.len() {
        crate::tr!("image-some-tags", shown.join(", "), tags.len())
    } else {
        shown.join(", ")
    };
    match fix {
        Fix::Kubernetes => crate::tr!("image-tag-missing-kube", repo, tag, have),
        Fix::Cni => crate::tr!("image-tag-missing-cni", repo, tag, have),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn images_split_at_the_tag_not_the_port() {
        assert_eq!(
            split("registry.local:5000/k8s-p10/pause:3.9").unwrap(),
            ("registry.local:5000/k8s-p10/pause", "3.9")
        );
        assert!(split("registry.local:5000/k8s-p10/pause").is_err());
        assert!(split("r/pause:3.9\x1b[2J").is_err());
        assert!(split("r/pause:").is_err());
    }

    #[test]
    fn kubeadm_list_lines_must_be_images() {
        assert_eq!(
            parse_list("r/kube-apiserver:v1.31.2\n\nr/pause:3.10\n").unwrap(),
            ["r/kube-apiserver:v1.31.2", "r/pause:3.10"]
        );
        assert!(parse_list("r/pause:3.10 --evil\n").is_err());
        assert!(parse_list("\n").is_err());
    }

    #[test]
    fn only_real_tags_are_read_from_the_answer() {
        let answer =
            r#"{"Repository":"r/flannel","Tags":["v0.26.4","\u001b]0;owned\u0007","v0.25.1",7]}"#;
        assert_eq!(
            tags_from_skopeo("r/flannel", answer).unwrap(),
            ["v0.26.4", "v0.25.1"]
        );
        assert!(tags_from_skopeo("r/flannel", "Error: manifest unknown").is_err());
        assert!(tags_from_skopeo("r/flannel", "{}").is_err());
    }

    #[test]
    fn the_same_minor_is_named_newest_last() {
        let all = tags(&["v1.30.5", "v1.31.10", "v1.31.2", "v1.31.9", "latest"]);
        assert_eq!(
            nearest_tags("v1.31.3", &all),
            ["v1.31.2", "v1.31.9", "v1.31.10"]
        );
        assert_eq!(
            nearest_tags("v1.29.0", &all),
            ["v1.30.5", "v1.31.2", "v1.31.9", "v1.31.10"]
        );
        let many: Vec<String> = (0..40).map(|p| format!("v1.31.{p}")).collect();
        let shown = nearest_tags("v1.31.99", &many);
        assert_eq!(shown.len(), SHOWN_TAGS);
        assert_eq!(shown.last().unwrap(), "v1.31.39");
    }

    #[test]
    fn the_refusal_names_image_tags_and_fix_in_one_line() {
        let m = missing_tag(
            "registry.local/k8s-p10/kube-apiserver:v1.31.3",
            "v1.31.3",
            &tags(&["v1.31.2", "v1.30.5"]),
            Fix::Kubernetes,
        );
        assert!(!m.contains('\n'), "{m}");
        for part in [
            "registry.local/k8s-p10/kube-apiserver",
            "v1.31.3",
            "v1.31.2",
            "U7S_KUBEVERSION",
            "U7S_REGISTRY",
        ] {
            assert!(m.contains(part), "{part}: {m}");
        }
        let cni = missing_tag("r/flannel:v0.26.7", "v0.26.7", &[], Fix::Cni);
        assert!(
            cni.contains("U7S_REGISTRY") && !cni.contains("U7S_KUBEVERSION"),
            "{cni}"
        );
    }
}
