//! Loading `--config` files as kubeadm does (config-loading.json/.md):
//! splitting documents, the kinds each subcommand loads, apiVersions per
//! release, strict decoding as warnings (fields from config-fields.json), the
//! extraArgs shape, and the typed values the commands use.

use std::sync::OnceLock;

use serde_yaml::Value;

use crate::error::{self, klog_warning, Result};
use crate::versions::Version;

const FIELDS_JSON: &str = include_str!("../../data/kubeadm-contract/config-fields.json");

fn fields() -> &'static Value {
    static FIELDS: OnceLock<Value> = OnceLock::new();
    FIELDS.get_or_init(|| serde_yaml::from_str(FIELDS_JSON).expect("config-fields.json parses"))
}

pub const KUBEADM_GROUP: &str = "kubeadm.k8s.io";

/// One YAML document with its GroupVersionKind.
#[derive(Debug, Clone)]
pub struct Doc {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub value: Value,
}

impl Doc {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `%v` of a GroupVersionKind: `kubeadm.k8s.io/v1beta3, Kind=JoinConfiguration`.
    pub fn gvk(&self) -> String {
        format!("{}, Kind={}", self.api_version(), self.kind)
    }

    /// `%#v`: `schema.GroupVersionKind{Group:"...", Version:"...", Kind:"..."}`.
    fn gvk_go(&self) -> String {
        format!(
            "schema.GroupVersionKind{{Group:{:?}, Version:{:?}, Kind:{:?}}}",
            self.group, self.version, self.kind
        )
    }

    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut v = &self.value;
        for key in path.split('.') {
            v = v.get(key)?;
        }
        Some(v)
    }

    pub fn str(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn strings(&self, path: &str) -> Vec<String> {
        self.get(path)
            .and_then(Value::as_sequence)
            .map(|s| {
                s.iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn bool(&self, path: &str) -> bool {
        self.get(path).and_then(Value::as_bool).unwrap_or(false)
    }

    /// extraArgs in either shape (checked already): `(name, value)` pairs.
    pub fn args(&self, path: &str) -> Vec<(String, String)> {
        let scalar = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        };
        match self.get(path) {
            Some(Value::Mapping(m)) => m.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
            Some(Value::Sequence(s)) => s
                .iter()
                .map(|item| {
                    (
                        item.get("name").map(scalar).unwrap_or_default(),
                        item.get("value").map(scalar).unwrap_or_default(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// `SplitYAMLDocuments`: every document needs apiVersion (with a group) and
/// kind; a kind given twice is an aggregate error.
pub fn split(text: &str) -> Result<Vec<Doc>> {
    let mut docs = Vec::new();
    let mut chunks = vec![String::new()];
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") {
            chunks.push(String::new());
        } else {
            let last = chunks.last_mut().unwrap();
            last.push_str(line);
            last.push('\n');
        }
    }
    let mut twice = Vec::new();
    for chunk in chunks {
        let value: Value = serde_yaml::from_str(&chunk)
            .map_err(|e| error::plain(format!("error converting YAML to JSON: yaml: {e}")))?;
        if value.is_null() {
            continue;
        }
        let api = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (group, version) = match api.split_once('/') {
            Some((g, v)) if !v.contains('/') => (g.to_owned(), v.to_owned()),
            Some(_) => {
                return Err(error::plain(format!(
                    "unexpected GroupVersion string: {api}"
                )))
            }
            None => (String::new(), api.to_owned()),
        };
        if group.is_empty() || version.is_empty() || kind.is_empty() {
            return Err(error::plain(format!(
                "invalid configuration for GroupVersionKind {{Group:{group} Version:{version} Kind:{kind}}}: kind and apiVersion is mandatory information that must be specified"
            )));
        }
        if docs.iter().any(|d: &Doc| d.kind == kind) {
            twice.push(format!(
                "invalid configuration: kind {kind:?} is specified twice in YAML file"
            ));
            continue;
        }
        docs.push(Doc {
            group,
            version,
            kind,
            value,
        });
    }
    if !twice.is_empty() {
        return Err(error::aggregate(&twice));
    }
    Ok(docs)
}

const OLD: &[(&str, &str)] = &[
    ("v1alpha1", "v1.11"),
    ("v1alpha2", "v1.12"),
    ("v1alpha3", "v1.14"),
    ("v1beta1", "v1.15"),
];

/// `validateSupportedVersion` for a kubeadm-group document.
fn check_api_version(doc: &Doc, version: &Version) -> Result<()> {
    if doc.group != KUBEADM_GROUP {
        return Ok(());
    }
    let gv = doc.api_version();
    let with_kind = version.minor >= 31;
    let kind_note = if with_kind {
        format!(" (kind: {:?})", doc.kind)
    } else {
        String::new()
    };
    let mut old: Vec<(&str, &str)> = OLD.to_vec();
    if version.minor >= 31 {
        old.push(("v1beta2", "v1.22"));
    }
    if let Some((_, use_version)) = old.iter().find(|(v, _)| *v == doc.version) {
        return Err(error::plain(format!(
            "your configuration file uses an old API spec: {gv:?}{kind_note}. Please use kubeadm {use_version} instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version."
        )));
    }
    let deprecated = (doc.version == "v1beta2" && version.minor < 31)
        || (doc.version == "v1beta3" && version.minor >= 31);
    if deprecated {
        klog_warning(
            "common.go:128",
            &format!("your configuration file uses a deprecated API spec: {gv:?}{kind_note}. Please use 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version."),
        );
    }
    if doc.version == "v1beta2" {
        return Err(error::not_modeled("kubeadm.k8s.io/v1beta2 documents"));
    }
    if doc.version == "v1beta4" && version.minor == 30 {
        return Err(error::plain(format!(
            "experimental API spec: {gv:?} is not allowed. You can use the --allow-experimental-api flag if the command supports it."
        )));
    }
    Ok(())
}

/// Whether kubeadm of `version` has a scheme entry for the document.
fn registered(doc: &Doc, version: &Version) -> bool {
    match (doc.group.as_str(), doc.version.as_str()) {
        (KUBEADM_GROUP, "v1beta3") => {
            doc.kind != "ResetConfiguration"
                && doc.kind != "UpgradeConfiguration"
                && known_kind(doc)
        }
        (KUBEADM_GROUP, "v1beta4") => version.minor >= 30 && known_kind(doc),
        ("kubelet.config.k8s.io", "v1beta1") => doc.kind == "KubeletConfiguration",
        ("kubeproxy.config.k8s.io", "v1alpha1") => doc.kind == "KubeProxyConfiguration",
        _ => false,
    }
}

fn known_kind(doc: &Doc) -> bool {
    matches!(
        doc.kind.as_str(),
        "InitConfiguration"
            | "ClusterConfiguration"
            | "JoinConfiguration"
            | "ResetConfiguration"
            | "UpgradeConfiguration"
    )
}

fn field_paths(doc: &Doc) -> Option<Vec<String>> {
    let kinds = &fields()["api_versions"][doc.api_version().as_str()]["kinds"][doc.kind.as_str()];
    let list = kinds.as_sequence()?;
    Some(
        list.iter()
            .filter_map(|f| f["path"].as_str().map(str::to_owned))
            .collect(),
    )
}

/// Unknown fields of a kubeadm document, as apimachinery's strict decoder
/// names them. Subtrees config-fields.json does not detail are opaque.
fn unknown_fields(doc: &Doc) -> Vec<String> {
    let Some(paths) = field_paths(doc) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    fn walk(v: &Value, schema: &str, shown: &str, paths: &[String], out: &mut Vec<String>) {
        let has_children = |p: &str| {
            paths
                .iter()
                .any(|f| f.starts_with(&format!("{p}.")) || f.starts_with(&format!("{p}[]")))
        };
        match v {
            Value::Mapping(m) => {
                for (k, child) in m {
                    let Some(k) = k.as_str() else { continue };
                    let sp = if schema.is_empty() {
                        k.to_owned()
                    } else {
                        format!("{schema}.{k}")
                    };
                    let sh = if shown.is_empty() {
                        k.to_owned()
                    } else {
                        format!("{shown}.{k}")
                    };
                    if schema.is_empty() && (k == "apiVersion" || k == "kind") {
                        continue;
                    }
                    let listed = paths.contains(&sp);
                    if !listed && !has_children(&sp) {
                        out.push(sh);
                    } else if has_children(&sp) {
                        walk(child, &sp, &sh, paths, out);
                    }
                }
            }
            Value::Sequence(items) => {
                let sp = format!("{schema}[]");
                if has_children(&sp) || paths.iter().any(|f| f.starts_with(&format!("{sp}."))) {
                    for (i, item) in items.iter().enumerate() {
                        walk(item, &sp, &format!("{shown}[{i}]"), paths, out);
                    }
                }
            }
            _ => {}
        }
    }
    walk(&doc.value, "", "", &paths, &mut out);
    out
}

const EXTRA_ARGS: &[(&str, &str)] = &[
    ("apiServer.extraArgs", "ControlPlaneComponent"),
    ("controllerManager.extraArgs", "ControlPlaneComponent"),
    ("scheduler.extraArgs", "ControlPlaneComponent"),
    ("etcd.local.extraArgs", "LocalEtcd"),
    (
        "nodeRegistration.kubeletExtraArgs",
        "NodeRegistrationOptions",
    ),
];

/// The hard decode error a wrong extraArgs shape gives.
fn check_shapes(doc: &Doc) -> Result<()> {
    if doc.group != KUBEADM_GROUP {
        return Ok(());
    }
    for (path, owner) in EXTRA_ARGS {
        let Some(v) = doc.get(path) else { continue };
        let message = match (doc.version.as_str(), v) {
            ("v1beta4", Value::Mapping(_)) => Some(format!(
                "json: cannot unmarshal object into Go struct field {owner}.{path} of type []v1beta4.Arg"
            )),
            ("v1beta3", Value::Sequence(_)) => Some(format!(
                "json: cannot unmarshal array into Go struct field {owner}.{path} of type map[string]string"
            )),
            _ => None,
        };
        if let Some(m) = message {
            return Err(error::plain(m));
        }
    }
    Ok(())
}

/// `strict.VerifyUnmarshalStrict` (a warning only) and the decode into the
/// scheme (a hard error for unregistered versions and wrong shapes).
fn verify_and_decode(doc: &Doc, version: &Version) -> Result<()> {
    if !registered(doc, version) {
        klog_warning(
            "strict.go:47",
            &format!("unknown configuration {}", doc.gvk_go()),
        );
        return Err(error::plain(format!(
            "no kind {:?} is registered for version {:?} in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\"",
            doc.kind,
            doc.api_version()
        )));
    }
    check_shapes(doc)?;
    let unknown = unknown_fields(doc);
    if !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        klog_warning(
            "strict.go:54",
            &format!(
                "error unmarshaling configuration {}: strict decoding error: {}",
                doc.gvk_go(),
                list.join(", ")
            ),
        );
    }
    Ok(())
}

fn is_component_config_group(group: &str) -> bool {
    group == "kubelet.config.k8s.io" || group == "kubeproxy.config.k8s.io"
}

/// Component configs must be at the one version kubeadm knows.
fn check_component_config(doc: &Doc) -> Result<()> {
    let want = match doc.group.as_str() {
        "kubelet.config.k8s.io" => "kubelet.config.k8s.io/v1beta1",
        "kubeproxy.config.k8s.io" => "kubeproxy.config.k8s.io/v1alpha1",
        _ => return Ok(()),
    };
    if doc.api_version() != want {
        return Err(error::plain(format!(
            "unexpected apiVersion {:?}, you may have to do manual conversion to {want:?} and execute kubeadm again",
            doc.api_version()
        )));
    }
    Ok(())
}

/// What the init loader (`LoadOrDefaultInitConfiguration`) took from a file.
#[derive(Debug, Default)]
pub struct InitDocs {
    pub init: Option<Doc>,
    pub cluster: Option<Doc>,
    pub kubelet: Option<Doc>,
    pub proxy: Option<Doc>,
}

/// `documentMapToInitConfiguration`: init, `config images`, `token create`.
pub fn load_init(text: &str, version: &Version) -> Result<InitDocs> {
    let docs = split(text)?;
    let mut out = InitDocs::default();
    for doc in docs {
        check_api_version(&doc, version)?;
        if doc.group == KUBEADM_GROUP {
            match doc.kind.as_str() {
                "InitConfiguration" => {
                    verify_and_decode(&doc, version)?;
                    out.init = Some(doc);
                    continue;
                }
                "ClusterConfiguration" => {
                    verify_and_decode(&doc, version)?;
                    out.cluster = Some(doc);
                    continue;
                }
                _ => {
                    // Verified for its fields, then ignored.
                    if registered(&doc, version) {
                        let unknown = unknown_fields(&doc);
                        if !unknown.is_empty() {
                            let list: Vec<String> = unknown
                                .iter()
                                .map(|f| format!("unknown field {f:?}"))
                                .collect();
                            klog_warning(
                                "strict.go:54",
                                &format!(
                                    "error unmarshaling configuration {}: strict decoding error: {}",
                                    doc.gvk_go(),
                                    list.join(", ")
                                ),
                            );
                        }
                    } else {
                        klog_warning(
                            "strict.go:47",
                            &format!("unknown configuration {}", doc.gvk_go()),
                        );
                    }
                }
            }
        }
        if is_component_config_group(&doc.group) {
            check_component_config(&doc)?;
            match doc.kind.as_str() {
                "KubeletConfiguration" => out.kubelet = Some(doc),
                "KubeProxyConfiguration" => out.proxy = Some(doc),
                _ => {}
            }
            continue;
        }
        let line = format!(
            "[config] WARNING: Ignored YAML document with GroupVersionKind {}",
            doc.gvk()
        );
        if version.minor >= 30 {
            klog_warning("initconfiguration.go:332", &line);
        } else {
            println!("{line}");
        }
    }
    if out.init.is_none() && out.cluster.is_none() {
        return Err(error::plain(
            "no InitConfiguration or ClusterConfiguration kind was found in the YAML file",
        ));
    }
    Ok(out)
}

/// `documentMapToJoinConfiguration`: only JoinConfiguration counts, the rest
/// is skipped without a word.
pub fn load_join(text: &str, version: &Version) -> Result<Doc> {
    let docs = split(text)?;
    let mut join = None;
    for doc in docs {
        if doc.kind != "JoinConfiguration" {
            continue;
        }
        check_api_version(&doc, version)?;
        verify_and_decode(&doc, version)?;
        join = Some(doc);
    }
    join.ok_or_else(|| error::plain("no JoinConfiguration found in the supplied config"))
}

/// `documentMapToResetConfiguration` (1.28+, v1beta4 only, allowed as
/// experimental before 1.31). Its error names the wrong kind (sic, fixed in 1.34).
pub fn load_reset(text: &str, version: &Version) -> Result<Doc> {
    let docs = split(text)?;
    let mut reset = None;
    for doc in docs {
        if doc.kind != "ResetConfiguration" {
            continue;
        }
        if !(doc.version == "v1beta4" && doc.group == KUBEADM_GROUP) {
            return Err(error::plain(format!(
                "no kind {:?} is registered for version {:?} in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\"",
                doc.kind,
                doc.api_version()
            )));
        }
        let unknown = unknown_fields(&doc);
        if !unknown.is_empty() {
            let list: Vec<String> = unknown
                .iter()
                .map(|f| format!("unknown field {f:?}"))
                .collect();
            klog_warning(
                "strict.go:54",
                &format!(
                    "error unmarshaling configuration {}: strict decoding error: {}",
                    doc.gvk_go(),
                    list.join(", ")
                ),
            );
        }
        reset = Some(doc);
    }
    let _ = version;
    reset.ok_or_else(|| error::plain("no JoinConfiguration found in the supplied config"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;

    fn v(t: &str) -> Version {
        Version::parse(t).unwrap()
    }

    fn message(r: Result<impl std::fmt::Debug>) -> (String, i32) {
        match r {
            Err(Failure::Kubeadm { message, kind }) => (message, kind.exit_code()),
            other => panic!("{other:?}"),
        }
    }

    const JOIN_ONLY: &str = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.0.0.1:6443\n    caCertHashes: [sha256:00]\n";

    #[test]
    fn a_join_file_is_not_an_init_file() {
        assert_eq!(
            message(load_init(JOIN_ONLY, &v("v1.26.3"))),
            (
                "no InitConfiguration or ClusterConfiguration kind was found in the YAML file"
                    .into(),
                1
            )
        );
        assert!(load_join(JOIN_ONLY, &v("v1.26.3")).is_ok());
        let init = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n";
        assert_eq!(
            message(load_join(init, &v("v1.31.2"))).0,
            "no JoinConfiguration found in the supplied config"
        );
    }

    #[test]
    fn documents_need_kind_and_apiversion_and_kinds_come_once() {
        assert!(message(split("kind: InitConfiguration\n"))
            .0
            .ends_with("kind and apiVersion is mandatory information that must be specified"));
        let twice = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n";
        assert_eq!(
            message(split(twice)),
            (
                "invalid configuration: kind \"InitConfiguration\" is specified twice in YAML file"
                    .into(),
                3
            )
        );
    }

    #[test]
    fn api_versions_per_release() {
        let b4 = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n";
        assert!(message(load_init(b4, &v("v1.26.3"))).0.starts_with(
            "no kind \"ClusterConfiguration\" is registered for version \"kubeadm.k8s.io/v1beta4\""
        ));
        assert!(load_init(b4, &v("v1.31.2")).is_ok());
        assert!(message(load_init(b4, &v("v1.30.5")))
            .0
            .starts_with("experimental API spec"));
        let b1 = "apiVersion: kubeadm.k8s.io/v1beta1\nkind: ClusterConfiguration\n";
        assert!(message(load_init(b1, &v("v1.31.2")))
            .0
            .contains("uses an old API spec: \"kubeadm.k8s.io/v1beta1\" (kind: \"ClusterConfiguration\"). Please use kubeadm v1.15 instead"));
        let kubelet = "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n";
        assert!(message(load_init(kubelet, &v("v1.26.3")))
            .0
            .starts_with("unexpected apiVersion"));
    }

    #[test]
    fn extra_args_shape_is_a_hard_error() {
        let map = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    a: b\n";
        assert!(message(load_init(map, &v("v1.31.2")))
            .0
            .contains("[]v1beta4.Arg"));
        let list = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: a\n    value: b\n";
        assert!(message(load_init(list, &v("v1.26.3")))
            .0
            .contains("map[string]string"));
    }

    #[test]
    fn unknown_fields_are_named() {
        let doc = split("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  timeout: 5m\n  bootstrapToken:\n    token: x\n    bogus: 1\nnodeRegistration:\n  taints: []\n  kubeletExtraArgs:\n  - name: a\n    value: b\n    extra: c\n")
            .unwrap()
            .remove(0);
        assert_eq!(
            unknown_fields(&doc),
            [
                "discovery.timeout",
                "discovery.bootstrapToken.bogus",
                "nodeRegistration.kubeletExtraArgs[0].extra"
            ]
        );
        let b3 = split("apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  timeout: 5m\n")
            .unwrap()
            .remove(0);
        assert!(unknown_fields(&b3).is_empty());
    }
}
