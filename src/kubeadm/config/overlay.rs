//! The admin's own `kubeadm init|join --config FILE`, made to work rootless.
//!
//! The file is parsed as YAML values (not into our typed structs), so every
//! field the admin wrote survives, known to us or not. Then only what rootless
//! operation depends on is touched, in three ways:
//!
//! - **forced** (the admin's value would break the rootless node, so ours wins):
//!   `nodeRegistration.criSocket` (crio's socket inside the namespaces),
//!   `etcd.local.dataDir` (u7s's etcd dir, which init guards against reuse),
//!   the kubelet's cgroupfs driver, `failSwapOn`, the `KubeletInUserNamespace`
//!   gate (merged into the admin's gates), `localStorageCapacityIsolation`,
//!   `cgroupsPerQOS`, `enforceNodeAllocatable: []`, `volumePluginDir` (when u7s
//!   has one), and kube-proxy's iptables mode and zero conntrack settings
//!   (kube-proxy cannot write sysctls in a user namespace);
//! - **defaulted** (set only when absent; a value the admin wrote is a choice that
//!   still works): `imageRepository` (u7s's registry; the etcd image follows it),
//!   `kubernetesVersion`, etcd's `listen-peer-urls` extra argument (peers must be
//!   reachable on loopback, where rootlesskit's port driver delivers them),
//!   kubelet `evictionHard` and `clusterDNS`, kube-proxy `clusterCIDR`;
//! - **checked** (the node was prepared for one value: tap0 address, forwarded
//!   ports, rootlesskit's `--cidr`; set when absent, refused when different):
//!   the advertise address and bind port, `networking.podSubnet` and
//!   `networking.serviceSubnet`. The caller should read them with
//!   [`admin_facts`] first and prepare the node for them.
//!
//! Not touched: the apiserver's `etcd-servers` and `advertise-address` and the
//! controller-manager's node-CIDR flags (kubeadm derives the same values from
//! local etcd, `localAPIEndpoint` and `podSubnet`), certificate SANs, discovery.
//!
//! Missing documents are added (with the file's kubeadm API version) so that
//! the forced fields exist; for `join` only the JoinConfiguration matters, as
//! kubeadm join ignores the other kinds. The admin's comments are not kept.

use crate::yaml::{documents_to_string, parse_documents, Mapping, Value};
use anyhow::{anyhow, bail, Result};

use super::types::*;
use super::{
    cluster_configuration, init_configuration, kube_proxy_configuration, kubelet_configuration,
    ConfigInput, KubeadmApi, Role, CRI_SOCKET, ETCD_DATA_DIR, ETCD_LISTEN_PEER_URLS,
};

/// What the admin's file says about things the caller must prepare the node for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminFacts {
    /// The kubeadm API version of the file's kubeadm documents, if it has any.
    pub api: Option<KubeadmApi>,
    /// A JoinConfiguration with `controlPlane`: the admin asks for a control-plane join.
    pub control_plane_join: bool,
    /// InitConfiguration `localAPIEndpoint` or JoinConfiguration `controlPlane.localAPIEndpoint`.
    pub advertise_address: Option<String>,
    pub bind_port: Option<u16>,
    pub pod_subnet: Option<String>,
    pub service_subnet: Option<String>,
    pub image_repository: Option<String>,
    pub kubernetes_version: Option<String>,
    /// JoinConfiguration `discovery.bootstrapToken.apiServerEndpoint`.
    pub join_endpoint: Option<String>,
    /// Init- or JoinConfiguration `nodeRegistration.ignorePreflightErrors`,
    /// which kubeadm joins to `--ignore-preflight-errors`.
    pub ignore_preflight: Vec<String>,
}

/// One parsed document with its identity.
struct Doc {
    api_version: String,
    kind: String,
    value: Value,
}

fn parse(admin_yaml: &str, source: &str) -> Result<(Vec<Doc>, Option<KubeadmApi>)> {
    let values = parse_documents(admin_yaml).map_err(|e| {
        anyhow!(
            "{source}: {}",
            crate::tr!("config-not-yaml", one_line(&e.to_string()))
        )
    })?;
    let mut docs = Vec::new();
    let mut api: Option<KubeadmApi> = None;
    for (i, value) in values.into_iter().enumerate() {
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
            bail!("{source}: {}", crate::tr!("config-no-kind", i + 1));
        };
        if let Some(version) = api_version.strip_prefix("kubeadm.k8s.io/") {
            let this = KubeadmApi::parse(&api_version).ok_or_else(|| {
                anyhow!(
                    "{source}: {}",
                    crate::tr!("config-api-unsupported", api_version, source)
                )
            })?;
            if api.is_some_and(|a| a != this) {
                bail!(
                    "{source}: {}",
                    crate::tr!("config-api-mixed", api.unwrap().as_str(), version)
                );
            }
            api = Some(this);
        }
        let expected = match kind.as_str() {
            KIND_KUBELET => Some(KUBELET_API),
            KIND_KUBE_PROXY => Some(KUBE_PROXY_API),
            _ => None,
        };
        if let Some(expected) = expected {
            if api_version != expected {
                bail!(
                    "{source}: {}",
                    crate::tr!("config-kind-api", kind, api_version, expected)
                );
            }
        }
        docs.push(Doc {
            api_version,
            kind,
            value,
        });
    }
    Ok((docs, api))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_kubeadm(doc: &Doc, kind: &str) -> bool {
    doc.kind == kind && doc.api_version.starts_with("kubeadm.k8s.io/")
}

fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| v.get(*key))
        .filter(|v| !v.is_null())
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What `source` (the admin's `--config` file) says about the things u7s
/// prepares the node for. Errors name the file.
pub fn admin_facts(admin_yaml: &str, source: &str) -> Result<AdminFacts> {
    let (docs, api) = parse(admin_yaml, source)?;
    let mut facts = AdminFacts {
        api,
        ..AdminFacts::default()
    };
    let get = |doc: &Doc, path: &[&str]| lookup(&doc.value, path).and_then(scalar_string);
    for doc in &docs {
        if is_kubeadm(doc, KIND_INIT) || is_kubeadm(doc, KIND_JOIN) {
            let ignore = lookup(&doc.value, &["nodeRegistration", "ignorePreflightErrors"]);
            facts.ignore_preflight = ignore
                .and_then(Value::as_sequence)
                .map(|names| names.iter().filter_map(scalar_string).collect())
                .unwrap_or_default();
        }
        if is_kubeadm(doc, KIND_INIT) {
            facts.advertise_address = get(doc, &["localAPIEndpoint", "advertiseAddress"]);
            facts.bind_port =
                get(doc, &["localAPIEndpoint", "bindPort"]).and_then(|p| p.parse().ok());
        } else if is_kubeadm(doc, KIND_JOIN) {
            facts.control_plane_join = lookup(&doc.value, &["controlPlane"]).is_some();
            if facts.control_plane_join {
                let ep = ["controlPlane", "localAPIEndpoint"];
                facts.advertise_address = get(doc, &[ep[0], ep[1], "advertiseAddress"]);
                facts.bind_port =
                    get(doc, &[ep[0], ep[1], "bindPort"]).and_then(|p| p.parse().ok());
            }
            facts.join_endpoint = get(doc, &["discovery", "bootstrapToken", "apiServerEndpoint"]);
        } else if is_kubeadm(doc, KIND_CLUSTER) {
            facts.pod_subnet = get(doc, &["networking", "podSubnet"]);
            facts.service_subnet = get(doc, &["networking", "serviceSubnet"]);
            facts.image_repository = get(doc, &["imageRepository"]);
            facts.kubernetes_version = get(doc, &["kubernetesVersion"]);
        }
    }
    Ok(facts)
}

/// How a field is set; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Force,
    IfAbsent,
    Check,
}

struct Editor<'a> {
    source: &'a str,
    set: Vec<String>,
}

impl Editor<'_> {
    /// Apply `value` at `path` of `doc` (a document of kind `kind`) per `mode`.
    fn apply(
        &mut self,
        doc: &mut Value,
        kind: &str,
        path: &[&str],
        value: Value,
        mode: Mode,
    ) -> Result<()> {
        let name = format!("{kind}.{}", path.join("."));
        let (last, parents) = path.split_last().expect("a non-empty path");
        let mut cur = doc;
        for key in parents {
            cur = child_mapping(cur, key).map_err(|_| {
                anyhow!(
                    "{}: {}",
                    self.source,
                    crate::tr!(
                        "config-not-mapping",
                        format!("{kind}.{}", parents.join("."))
                    )
                )
            })?;
        }
        let map = as_mapping(cur).map_err(|_| {
            anyhow!(
                "{}: {}",
                self.source,
                crate::tr!(
                    "config-not-mapping",
                    format!("{kind}.{}", parents.join("."))
                )
            )
        })?;
        let key = Value::from(*last);
        let current = map.get(&key).filter(|v| !v.is_null());
        match (mode, current) {
            (_, None) => {}
            (Mode::IfAbsent, Some(_)) => return Ok(()),
            (_, Some(v)) if *v == value => return Ok(()),
            (Mode::Force, Some(_)) => {}
            (Mode::Check, Some(v)) => bail!(
                "{}: {}",
                self.source,
                crate::tr!(
                    "config-field-differs",
                    name,
                    scalar_string(v).unwrap_or_else(|| crate::tr!("config-not-scalar")),
                    scalar_string(&value).unwrap_or_default()
                )
            ),
        }
        map.insert(key, value);
        self.set.push(name);
        Ok(())
    }

    /// Add the extra argument `name=value` to the `extraArgs` at `path`, in the
    /// form of `api`, unless the admin already gave that argument.
    fn extra_arg_if_absent(
        &mut self,
        doc: &mut Value,
        kind: &str,
        path: &[&str],
        api: KubeadmApi,
        (name, value): (&str, &str),
    ) -> Result<()> {
        let report = format!("{kind}.{}.{name}", path.join("."));
        let bad = |source: &str| {
            anyhow!(
                "{source}: {}",
                crate::tr!(
                    "config-extra-args-form",
                    format!("{kind}.{}", path.join(".")),
                    match api {
                        KubeadmApi::V1Beta3 => "map",
                        KubeadmApi::V1Beta4 => "list-of-{name, value}",
                    },
                    api.as_str()
                )
            )
        };
        let (last, parents) = path.split_last().expect("a non-empty path");
        let mut cur = doc;
        for key in parents {
            cur = child_mapping(cur, key).map_err(|_| bad(self.source))?;
        }
        let map = as_mapping(cur).map_err(|_| bad(self.source))?;
        let slot = map.entry(Value::from(*last)).or_insert(Value::Null);
        match api {
            KubeadmApi::V1Beta3 => {
                let args = as_mapping(slot).map_err(|_| bad(self.source))?;
                if args.contains_key(name) {
                    return Ok(());
                }
                args.insert(Value::from(name), Value::from(value));
            }
            KubeadmApi::V1Beta4 => {
                if slot.is_null() {
                    *slot = Value::Sequence(Vec::new());
                }
                let args = slot.as_sequence_mut().ok_or_else(|| bad(self.source))?;
                if args
                    .iter()
                    .any(|a| a.get("name") == Some(&Value::from(name)))
                {
                    return Ok(());
                }
                let mut arg = Mapping::new();
                arg.insert("name".into(), name.into());
                arg.insert("value".into(), value.into());
                args.push(Value::Mapping(arg));
            }
        }
        self.set.push(report);
        Ok(())
    }
}

/// `value` as a mapping; null becomes an empty mapping.
fn as_mapping(value: &mut Value) -> std::result::Result<&mut Mapping, ()> {
    if value.is_null() {
        *value = Value::Mapping(Mapping::new());
    }
    value.as_mapping_mut().ok_or(())
}

/// The mapping under `key` of the mapping `value`, created when absent or null.
fn child_mapping<'v>(value: &'v mut Value, key: &str) -> std::result::Result<&'v mut Value, ()> {
    let map = as_mapping(value)?;
    let child = map.entry(Value::from(key)).or_insert(Value::Null);
    as_mapping(child)?;
    Ok(child)
}

fn typed<T: serde::Serialize>(doc: &T) -> Result<Value> {
    Ok(crate::yaml::to_value(doc)?)
}

/// A minimal document of `kind`, to be filled by the editor.
fn skeleton(api_version: &str, kind: &str) -> Value {
    let mut m = Mapping::new();
    m.insert("apiVersion".into(), api_version.into());
    m.insert("kind".into(), kind.into());
    Value::Mapping(m)
}

/// Take the value of `path` from a typed document rendered as a value.
fn from_typed(doc: &Value, path: &[&str]) -> Value {
    lookup(doc, path).cloned().unwrap_or(Value::Null)
}

/// The admin's `--config` file (text `admin_yaml`, named `source` in errors)
/// with the fields rootless operation needs set. Returns the new YAML and the
/// paths of the fields u7s set or changed (`Kind.field.path`), for the caller
/// to report on stderr.
pub fn overlay(
    admin_yaml: &str,
    source: &str,
    input: &ConfigInput,
) -> Result<(String, Vec<String>)> {
    let (mut docs, file_api) = parse(admin_yaml, source)?;
    let api = api_for(file_api, input, source)?;
    check_join_role(&admin_facts(admin_yaml, source)?, input, source)?;
    let mut ed = Editor {
        source,
        set: Vec::new(),
    };
    add_missing_documents(&mut docs, input, api, &mut ed)?;
    let ours = Ours {
        init: typed(&init_configuration(input, api))?,
        cluster: typed(&cluster_configuration(input, api))?,
        kubelet: typed(&kubelet_configuration(input))?,
        proxy: typed(&kube_proxy_configuration(input))?,
    };
    for doc in docs.iter_mut() {
        let kind = doc.kind.clone();
        let kubeadm = doc.api_version.starts_with("kubeadm.k8s.io/");
        let v = &mut doc.value;
        #[expect(
            clippy::collapsible_match,
            reason = "joins edit only their JoinConfiguration: the first arm must catch every kind \
                      for them; collapsing its `if` into the guard lets a join's \
                      ClusterConfiguration fall to the arms below"
        )]
        match kind.as_str() {
            _ if input.role != Role::InitMaster => {
                if kubeadm && kind == KIND_JOIN {
                    edit_join(&mut ed, v, &kind, input)?;
                }
            }
            KIND_INIT if kubeadm => edit_init(&mut ed, v, &kind, &ours)?,
            KIND_CLUSTER if kubeadm => edit_cluster(&mut ed, v, &kind, &ours, api)?,
            KIND_KUBELET => edit_kubelet(&mut ed, v, &kind, &ours, input)?,
            KIND_KUBE_PROXY => edit_proxy(&mut ed, v, &kind, &ours)?,
            _ => {}
        }
    }
    let values: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
    Ok((documents_to_string(&values)?, ed.set))
}

/// The documents u7s renders for the same input, as values to take fields from.
struct Ours {
    init: Value,
    cluster: Value,
    kubelet: Value,
    proxy: Value,
}

/// The API version to edit in: the file's, which this kubeadm must accept.
fn api_for(file_api: Option<KubeadmApi>, input: &ConfigInput, source: &str) -> Result<KubeadmApi> {
    let our_api = input.api()?;
    let Some(api) = file_api else {
        return Ok(our_api);
    };
    if !api.accepted_by(input.minor) {
        bail!(
            "{source}: {}",
            crate::tr!(
                "config-api-misfit",
                api.as_str(),
                input.kubernetes_version,
                input.minor,
                KubeadmApi::ALL
                    .iter()
                    .filter(|a| a.accepted_by(input.minor))
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(&crate::tr!("word-or")),
                our_api.as_str(),
                match api {
                    KubeadmApi::V1Beta3 => crate::tr!("config-api-misfit-migrate", source),
                    KubeadmApi::V1Beta4 => crate::tr!("config-api-misfit-map"),
                }
            )
        );
    }
    Ok(api)
}

/// A join's file must agree with the command line on being a control plane.
fn check_join_role(facts: &AdminFacts, input: &ConfigInput, source: &str) -> Result<()> {
    let joining = input.role != Role::InitMaster;
    let cp = input.role == Role::ControlPlaneJoin;
    if joining && facts.control_plane_join != cp {
        bail!(
            "{source}: {}",
            match (facts.control_plane_join, cp) {
                (true, _) => crate::tr!("config-join-has-cp"),
                _ => crate::tr!("config-join-has-no-cp"),
            }
        );
    }
    Ok(())
}

/// Adds the documents the role needs that the file lacks (a join file
/// without a JoinConfiguration is an error).
fn add_missing_documents(
    docs: &mut Vec<Doc>,
    input: &ConfigInput,
    api: KubeadmApi,
    ed: &mut Editor,
) -> Result<()> {
    let wanted: &[&str] = if input.role != Role::InitMaster {
        &[KIND_JOIN]
    } else {
        &[KIND_INIT, KIND_CLUSTER, KIND_KUBELET, KIND_KUBE_PROXY]
    };
    for kind in wanted {
        if docs.iter().any(|d| d.kind == *kind) {
            continue;
        }
        if *kind == KIND_JOIN {
            bail!("{}: {}", ed.source, crate::tr!("config-no-join"));
        }
        let api_version = match *kind {
            KIND_KUBELET => KUBELET_API,
            KIND_KUBE_PROXY => KUBE_PROXY_API,
            _ => api.as_str(),
        };
        docs.push(Doc {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            value: skeleton(api_version, kind),
        });
        ed.set.push(format!("{kind} (added)"));
    }
    Ok(())
}

/// CRI-O inside the namespaces, whatever the file said.
fn force_cri_socket(ed: &mut Editor, v: &mut Value, kind: &str) -> Result<()> {
    let cri = Value::from(CRI_SOCKET);
    let path = ["nodeRegistration", "criSocket"];
    ed.apply(v, kind, &path, cri, Mode::Force)
}

fn edit_join(ed: &mut Editor, v: &mut Value, kind: &str, input: &ConfigInput) -> Result<()> {
    force_cri_socket(ed, v, kind)?;
    if input.role == Role::ControlPlaneJoin {
        let ep = ["controlPlane", "localAPIEndpoint"];
        let addr = Value::from(input.advertise_address.as_str());
        ed.apply(
            v,
            kind,
            &[ep[0], ep[1], "advertiseAddress"],
            addr,
            Mode::Check,
        )?;
        let port = Value::from(input.bind_port);
        ed.apply(v, kind, &[ep[0], ep[1], "bindPort"], port, Mode::Check)?;
    }
    Ok(())
}

fn edit_init(ed: &mut Editor, v: &mut Value, kind: &str, ours: &Ours) -> Result<()> {
    force_cri_socket(ed, v, kind)?;
    for field in ["advertiseAddress", "bindPort"] {
        let path = ["localAPIEndpoint", field];
        ed.apply(v, kind, &path, from_typed(&ours.init, &path), Mode::Check)?;
    }
    Ok(())
}

fn edit_cluster(
    ed: &mut Editor,
    v: &mut Value,
    kind: &str,
    ours: &Ours,
    api: KubeadmApi,
) -> Result<()> {
    for (path, mode) in [
        (&["imageRepository"][..], Mode::IfAbsent),
        (&["kubernetesVersion"][..], Mode::IfAbsent),
        (&["networking", "podSubnet"][..], Mode::Check),
        (&["networking", "serviceSubnet"][..], Mode::Check),
    ] {
        ed.apply(v, kind, path, from_typed(&ours.cluster, path), mode)?;
    }
    if lookup(v, &["etcd", "external"]).is_none() {
        let dir = Value::from(ETCD_DATA_DIR);
        ed.apply(v, kind, &["etcd", "local", "dataDir"], dir, Mode::Force)?;
        let path = ["etcd", "local", "extraArgs"];
        let arg = ("listen-peer-urls", ETCD_LISTEN_PEER_URLS);
        ed.extra_arg_if_absent(v, kind, &path, api, arg)?;
    }
    Ok(())
}

fn edit_kubelet(
    ed: &mut Editor,
    v: &mut Value,
    kind: &str,
    ours: &Ours,
    input: &ConfigInput,
) -> Result<()> {
    for (path, mode) in [
        (&["cgroupDriver"][..], Mode::Force),
        (&["failSwapOn"][..], Mode::Force),
        (&["featureGates", "KubeletInUserNamespace"][..], Mode::Force),
        (&["localStorageCapacityIsolation"][..], Mode::Force),
        (&["cgroupsPerQOS"][..], Mode::Force),
        (&["enforceNodeAllocatable"][..], Mode::Force),
        (&["evictionHard"][..], Mode::IfAbsent),
        (&["clusterDNS"][..], Mode::IfAbsent),
    ] {
        ed.apply(v, kind, path, from_typed(&ours.kubelet, path), mode)?;
    }
    if input.kubelet_volume_plugin_dir.is_some() {
        let path = ["volumePluginDir"];
        ed.apply(
            v,
            kind,
            &path,
            from_typed(&ours.kubelet, &path),
            Mode::Force,
        )?;
    }
    Ok(())
}

fn edit_proxy(ed: &mut Editor, v: &mut Value, kind: &str, ours: &Ours) -> Result<()> {
    for (path, mode) in [
        (&["mode"][..], Mode::Force),
        (&["conntrack", "maxPerCore"][..], Mode::Force),
        (&["conntrack", "tcpEstablishedTimeout"][..], Mode::Force),
        (&["conntrack", "tcpCloseWaitTimeout"][..], Mode::Force),
        (&["clusterCIDR"][..], Mode::IfAbsent),
    ] {
        ed.apply(v, kind, path, from_typed(&ours.proxy, path), mode)?;
    }
    Ok(())
}
