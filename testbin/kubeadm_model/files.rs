//! What kubeadm writes on a node, in its layout and modes: certificates
//! (0644) and keys (0600) under /etc/kubernetes/pki, kubeconfigs (0600),
//! static pod manifests (0600, directory 0700), /var/lib/kubelet/config.yaml
//! and kubeadm-flags.env (0644).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::crypto::{self, CertSpec, Openssl};
use crate::error::{self, Result};
use crate::settings::{Model, Record};
use crate::validate::{ClusterCfg, NodeReg};

pub struct Writer<'a> {
    pub model: &'a Model,
    pub record: &'a mut Record,
}

impl Writer<'_> {
    /// `os.WriteFile(path, data, mode)` after `os.MkdirAll(dir, dir_mode)`.
    pub fn write(&mut self, path: &str, data: &str, mode: u32, dir_mode: u32) -> Result<()> {
        let target = self.model.host(path);
        if let Some(parent) = target.parent() {
            if !parent.exists() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    error::plain(error::os_error(
                        "mkdir",
                        Path::new(path).parent().unwrap().to_str().unwrap_or(path),
                        &e,
                    ))
                })?;
                let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(dir_mode));
            }
        }
        std::fs::write(&target, data)
            .map_err(|e| error::plain(error::os_error("open", path, &e)))?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
            .map_err(|e| error::plain(error::os_error("chmod", path, &e)))?;
        self.record.event("wrote", path);
        Ok(())
    }

    pub fn mkdir(&mut self, path: &str, mode: u32) -> Result<()> {
        let target = self.model.host(path);
        if !target.exists() {
            std::fs::create_dir_all(&target)
                .map_err(|e| error::plain(error::os_error("mkdir", path, &e)))?;
            let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode));
        }
        Ok(())
    }

    pub fn read(&self, path: &str) -> Result<String> {
        std::fs::read_to_string(self.model.host(path))
            .map_err(|e| error::plain(error::os_error("open", path, &e)))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.model.host(path).exists()
    }

    /// `os.RemoveAll`.
    pub fn remove(&mut self, path: &str) {
        let target = self.model.host(path);
        let meta = std::fs::symlink_metadata(&target);
        let gone = match meta {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&target).is_ok(),
            Ok(_) => std::fs::remove_file(&target).is_ok(),
            Err(_) => false,
        };
        if gone {
            self.record.event("removed", path);
        }
    }

    /// kubeadm's `CleanDir`: the contents, not the directory.
    pub fn clean_dir(&mut self, path: &str) -> std::result::Result<(), String> {
        let target = self.model.host(path);
        let entries = match std::fs::read_dir(&target) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(error::os_error("open", path, &e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            self.remove(&format!("{}/{name}", path.trim_end_matches('/')));
        }
        Ok(())
    }
}

/// The scratch directory for openssl's files (never under the root prefix):
/// one this process created itself. A name made of the pid alone was found
/// again when the pid came round (pid_max is 32768 here, and a run that
/// failed leaves its directory): a stale one of real root's, entered by the
/// namespaces' root (u7s-admin), failed `certs/ca` with EACCES.
static SCRATCH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

pub fn scratch() -> std::path::PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let dir = SCRATCH.get_or_init(|| {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        (0u32..)
            .map(|n| base.join(format!("kubeadm-model-{pid}-{n}")))
            .find(|dir| {
                match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                    Ok(()) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                    // Not creatable at all: openssl's error will say where.
                    Err(_) => true,
                }
            })
            .expect("an unused name")
    });
    // Created again after a command removed it at its end.
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    dir.clone()
}

/// Removes the scratch directory, if this run made one: at exit, also
/// after an error (those left hundreds in /tmp).
pub fn remove_scratch() {
    if let Some(dir) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

pub struct Pki<'a> {
    pub openssl: Openssl,
    pub cert_dir: &'a str,
}

impl Pki<'_> {
    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.cert_dir.trim_end_matches('/'))
    }

    /// Generates `name`.crt/.key signed by `ca` (a name in the cert dir) or
    /// self-signed, and writes them.
    pub fn generate(
        &self,
        w: &mut Writer,
        name: &str,
        spec: &CertSpec,
        ca: Option<&str>,
    ) -> Result<(String, String)> {
        let days = if spec.ca { 3650 } else { 365 };
        let (cert, key) = self.sign(w, spec, ca, days)?;
        w.write(&self.path(&format!("{name}.crt")), &cert, 0o644, 0o755)?;
        w.write(&self.path(&format!("{name}.key")), &key, 0o600, 0o755)?;
        Ok((cert, key))
    }

    /// A certificate and key signed by `ca` in the cert dir, not written.
    pub fn sign(
        &self,
        w: &Writer,
        spec: &CertSpec,
        ca: Option<&str>,
        days: u32,
    ) -> Result<(String, String)> {
        let ca_paths = ca.map(|ca| {
            (
                w.model.host(&self.path(&format!("{ca}.crt"))),
                w.model.host(&self.path(&format!("{ca}.key"))),
            )
        });
        self.openssl
            .cert(
                spec,
                ca_paths.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
                days,
                &scratch(),
            )
            .map_err(|e| {
                error::plain(format!(
                    "failure while creating {} certificate: {e}",
                    spec.cn
                ))
            })
    }
}

pub fn b64(text: &str) -> String {
    crypto::base64(text.as_bytes())
}

/// A kubeconfig as kubeadm writes it (`kubeconfigutil.CreateWithCerts`).
pub fn kubeconfig(
    server: &str,
    cluster_name: &str,
    user: &str,
    ca_pem: &str,
    client: Option<(&str, &str)>,
    client_files: Option<&str>,
) -> String {
    let credentials = match (client, client_files) {
        (Some((cert, key)), _) => format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(cert),
            b64(key)
        ),
        (None, Some(file)) => format!("    client-certificate: {file}\n    client-key: {file}\n"),
        (None, None) => String::new(),
    };
    let users = if credentials.is_empty() {
        "users: null\n".to_owned()
    } else {
        format!("users:\n- name: {user}\n  user:\n{credentials}")
    };
    let context = if user.is_empty() {
        "contexts: null\ncurrent-context: \"\"\n".to_owned()
    } else {
        format!(
            "contexts:\n- context:\n    cluster: {cluster_name}\n    user: {user}\n  name: {user}@{cluster_name}\ncurrent-context: {user}@{cluster_name}\n"
        )
    };
    let shown_name = if cluster_name.is_empty() {
        "\"\""
    } else {
        cluster_name
    };
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: https://{server}\n  name: {shown_name}\n{context}kind: Config\npreferences: {{}}\n{users}",
        b64(ca_pem)
    )
}

/// The server of a kubeconfig and its CA (PEM), read as data.
pub fn kubeconfig_server_and_ca(text: &str) -> Option<(String, String)> {
    let doc: Value = serde_yaml::from_str(text).ok()?;
    let cluster = &doc["clusters"][0]["cluster"];
    let server = cluster["server"]
        .as_str()?
        .trim_start_matches("https://")
        .to_owned();
    let ca = crypto::unbase64(cluster["certificate-authority-data"].as_str()?)?;
    Some((server, String::from_utf8_lossy(&ca).into_owned()))
}

fn args_to_command(defaults: Vec<(String, String)>, overrides: &[(String, String)]) -> Vec<String> {
    let mut all: Vec<(String, String)> = defaults
        .into_iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .collect();
    all.extend(overrides.iter().cloned());
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().map(|(k, v)| format!("--{k}={v}")).collect()
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn probe(
    host: &str,
    path: &str,
    port: u16,
    scheme: &str,
    failure: u32,
    initial: bool,
    period: u32,
) -> String {
    let initial = if initial {
        "      initialDelaySeconds: 10\n"
    } else {
        ""
    };
    format!(
        "      failureThreshold: {failure}\n      httpGet:\n        host: {host}\n        path: {path}\n        port: {port}\n        scheme: {scheme}\n{initial}      periodSeconds: {period}\n      timeoutSeconds: 15\n"
    )
}

struct Volume {
    name: &'static str,
    host: String,
    mount: String,
    kind: &'static str,
    read_only: bool,
}

fn vol(name: &'static str, host: &str, kind: &'static str, read_only: bool) -> Volume {
    Volume {
        name,
        host: host.to_owned(),
        mount: host.to_owned(),
        kind,
        read_only,
    }
}

fn ca_volumes(pki: &str) -> Vec<Volume> {
    vec![
        vol("ca-certs", "/etc/ssl/certs", "DirectoryOrCreate", true),
        vol(
            "etc-ca-certificates",
            "/etc/ca-certificates",
            "DirectoryOrCreate",
            true,
        ),
        vol("k8s-certs", pki, "DirectoryOrCreate", true),
        vol(
            "usr-local-share-ca-certificates",
            "/usr/local/share/ca-certificates",
            "DirectoryOrCreate",
            true,
        ),
        vol(
            "usr-share-ca-certificates",
            "/usr/share/ca-certificates",
            "DirectoryOrCreate",
            true,
        ),
    ]
}

struct PodSpec<'a> {
    name: &'a str,
    annotations: Vec<(String, String)>,
    command: Vec<String>,
    image: String,
    liveness: String,
    readiness: Option<String>,
    startup: String,
    requests: &'a str,
    volumes: Vec<Volume>,
}

fn static_pod(p: PodSpec) -> String {
    let mut s = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n");
    if !p.annotations.is_empty() {
        s.push_str("  annotations:\n");
        for (k, v) in &p.annotations {
            s.push_str(&format!("    {k}: {v}\n"));
        }
    }
    s.push_str(&format!(
        "  creationTimestamp: null\n  labels:\n    component: {}\n    tier: control-plane\n  name: {}\n  namespace: kube-system\nspec:\n  containers:\n  - command:\n",
        p.name, p.name
    ));
    for c in &p.command {
        s.push_str(&format!("    - {c}\n"));
    }
    s.push_str(&format!(
        "    image: {}\n    imagePullPolicy: IfNotPresent\n    livenessProbe:\n{}    name: {}\n",
        p.image, p.liveness, p.name
    ));
    if let Some(r) = &p.readiness {
        s.push_str(&format!("    readinessProbe:\n{r}"));
    }
    s.push_str(&format!(
        "    resources:\n      requests:\n{}    startupProbe:\n{}    volumeMounts:\n",
        p.requests, p.startup
    ));
    let mut volumes: Vec<&Volume> = p.volumes.iter().collect();
    volumes.sort_by(|a, b| a.name.cmp(b.name));
    for v in &volumes {
        s.push_str(&format!(
            "    - mountPath: {}\n      name: {}\n",
            v.mount, v.name
        ));
        if v.read_only {
            s.push_str("      readOnly: true\n");
        }
    }
    s.push_str("  hostNetwork: true\n  priority: 2000001000\n  priorityClassName: system-node-critical\n  securityContext:\n    seccompProfile:\n      type: RuntimeDefault\n  volumes:\n");
    for v in &volumes {
        s.push_str(&format!(
            "  - hostPath:\n      path: {}\n      type: {}\n    name: {}\n",
            v.host, v.kind, v.name
        ));
    }
    s.push_str("status: {}\n");
    s
}

/// The `n`th address of the (first) service subnet: 1 is the API server's
/// cluster IP, 10 the DNS service's.
fn service_ip(service_subnet: &str, n: u32) -> String {
    let cidr = service_subnet.split(',').next().unwrap_or_default();
    match crate::validate::parse_cidr(cidr) {
        Some((std::net::IpAddr::V4(a), _)) => {
            std::net::Ipv4Addr::from(u32::from(a) + n).to_string()
        }
        Some((std::net::IpAddr::V6(a), _)) => {
            std::net::Ipv6Addr::from(u128::from(a) + u128::from(n)).to_string()
        }
        None => format!("10.96.0.{n}"),
    }
}

fn first_service_ip(service_subnet: &str) -> String {
    service_ip(service_subnet, 1)
}

pub fn apiserver_sans(c: &ClusterCfg, node: &str, advertise: &str) -> (Vec<String>, Vec<String>) {
    let mut dns = vec![
        "kubernetes".to_owned(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        format!("kubernetes.default.svc.{}", c.dns_domain),
        node.to_owned(),
    ];
    let mut ips = vec![first_service_ip(&c.service_subnet), advertise.to_owned()];
    let endpoint_host = c
        .control_plane_endpoint
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(&c.control_plane_endpoint)
        .trim_matches(['[', ']']);
    for extra in std::iter::once(endpoint_host).chain(c.cert_sans.iter().map(String::as_str)) {
        if extra.is_empty() {
            continue;
        }
        if extra.parse::<std::net::IpAddr>().is_ok() {
            if !ips.iter().any(|i| i == extra) {
                ips.push(extra.to_owned());
            }
        } else if !dns.iter().any(|d| d == extra) {
            dns.push(extra.to_owned());
        }
    }
    (dns, ips)
}

pub fn etcd_sans(node: &str, advertise: &str, extra: &[String]) -> (Vec<String>, Vec<String>) {
    let mut dns = vec!["localhost".to_owned(), node.to_owned()];
    let mut ips = vec![advertise.to_owned(), "127.0.0.1".into(), "::1".into()];
    for e in extra {
        if e.parse::<std::net::IpAddr>().is_ok() {
            if !ips.contains(e) {
                ips.push(e.clone());
            }
        } else if !dns.contains(e) {
            dns.push(e.clone());
        }
    }
    (dns, ips)
}

fn image(repo: &str, name: &str, tag: &str) -> String {
    format!("{repo}/{name}:{tag}")
}

pub struct ControlPlane<'a> {
    pub cluster: &'a ClusterCfg,
    pub advertise: &'a str,
    pub bind_port: i64,
}

pub fn apiserver_manifest(cp: &ControlPlane) -> String {
    let c = cp.cluster;
    let pki = &c.certificates_dir;
    let port = cp.bind_port as u16;
    let defaults = pairs(&[
        ("advertise-address", cp.advertise.to_owned()),
        ("allow-privileged", "true".into()),
        ("authorization-mode", "Node,RBAC".into()),
        ("client-ca-file", format!("{pki}/ca.crt")),
        ("enable-admission-plugins", "NodeRestriction".into()),
        ("enable-bootstrap-token-auth", "true".into()),
        ("etcd-cafile", format!("{pki}/etcd/ca.crt")),
        ("etcd-certfile", format!("{pki}/apiserver-etcd-client.crt")),
        ("etcd-keyfile", format!("{pki}/apiserver-etcd-client.key")),
        ("etcd-servers", "https://127.0.0.1:2379".into()),
        (
            "kubelet-client-certificate",
            format!("{pki}/apiserver-kubelet-client.crt"),
        ),
        (
            "kubelet-client-key",
            format!("{pki}/apiserver-kubelet-client.key"),
        ),
        (
            "kubelet-preferred-address-types",
            "InternalIP,ExternalIP,Hostname".into(),
        ),
        (
            "proxy-client-cert-file",
            format!("{pki}/front-proxy-client.crt"),
        ),
        (
            "proxy-client-key-file",
            format!("{pki}/front-proxy-client.key"),
        ),
        ("requestheader-allowed-names", "front-proxy-client".into()),
        (
            "requestheader-client-ca-file",
            format!("{pki}/front-proxy-ca.crt"),
        ),
        (
            "requestheader-extra-headers-prefix",
            "X-Remote-Extra-".into(),
        ),
        ("requestheader-group-headers", "X-Remote-Group".into()),
        ("requestheader-username-headers", "X-Remote-User".into()),
        ("secure-port", port.to_string()),
        (
            "service-account-issuer",
            format!("https://kubernetes.default.svc.{}", c.dns_domain),
        ),
        ("service-account-key-file", format!("{pki}/sa.pub")),
        ("service-account-signing-key-file", format!("{pki}/sa.key")),
        ("service-cluster-ip-range", c.service_subnet.clone()),
        ("tls-cert-file", format!("{pki}/apiserver.crt")),
        ("tls-private-key-file", format!("{pki}/apiserver.key")),
    ]);
    let mut command = vec!["kube-apiserver".to_owned()];
    command.extend(args_to_command(defaults, &c.apiserver_args));
    static_pod(PodSpec {
        name: "kube-apiserver",
        annotations: vec![(
            "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint".into(),
            format!("{}:{port}", cp.advertise),
        )],
        command,
        image: image(&c.image_repository, "kube-apiserver", &c.kubernetes_version),
        liveness: probe(cp.advertise, "/livez", port, "HTTPS", 8, true, 10),
        readiness: Some(probe(cp.advertise, "/readyz", port, "HTTPS", 3, false, 1)),
        startup: probe(cp.advertise, "/livez", port, "HTTPS", 24, true, 10),
        requests: "        cpu: 250m\n",
        volumes: ca_volumes(pki),
    })
}

pub fn controller_manager_manifest(cp: &ControlPlane) -> String {
    let c = cp.cluster;
    let pki = &c.certificates_dir;
    let conf = "/etc/kubernetes/controller-manager.conf";
    let mut defaults = pairs(&[
        ("authentication-kubeconfig", conf.into()),
        ("authorization-kubeconfig", conf.into()),
        ("bind-address", "127.0.0.1".into()),
        ("client-ca-file", format!("{pki}/ca.crt")),
        ("cluster-name", c.cluster_name.clone()),
        ("cluster-signing-cert-file", format!("{pki}/ca.crt")),
        ("cluster-signing-key-file", format!("{pki}/ca.key")),
        ("controllers", "*,bootstrapsigner,tokencleaner".into()),
        ("kubeconfig", conf.into()),
        ("leader-elect", "true".into()),
        (
            "requestheader-client-ca-file",
            format!("{pki}/front-proxy-ca.crt"),
        ),
        ("root-ca-file", format!("{pki}/ca.crt")),
        ("service-account-private-key-file", format!("{pki}/sa.key")),
        ("service-cluster-ip-range", c.service_subnet.clone()),
        ("use-service-account-credentials", "true".into()),
    ]);
    if !c.pod_subnet.is_empty() {
        defaults.push(("allocate-node-cidrs".into(), "true".into()));
        defaults.push(("cluster-cidr".into(), c.pod_subnet.clone()));
    }
    let mut command = vec!["kube-controller-manager".to_owned()];
    command.extend(args_to_command(defaults, &c.controller_manager_args));
    let mut volumes = ca_volumes(pki);
    volumes.push(vol(
        "flexvolume-dir",
        "/usr/libexec/kubernetes/kubelet-plugins/volume/exec",
        "DirectoryOrCreate",
        false,
    ));
    volumes.push(vol("kubeconfig", conf, "FileOrCreate", true));
    static_pod(PodSpec {
        name: "kube-controller-manager",
        annotations: Vec::new(),
        command,
        image: image(
            &c.image_repository,
            "kube-controller-manager",
            &c.kubernetes_version,
        ),
        liveness: probe("127.0.0.1", "/healthz", 10257, "HTTPS", 8, true, 10),
        readiness: None,
        startup: probe("127.0.0.1", "/healthz", 10257, "HTTPS", 24, true, 10),
        requests: "        cpu: 200m\n",
        volumes,
    })
}

pub fn scheduler_manifest(cp: &ControlPlane) -> String {
    let c = cp.cluster;
    let conf = "/etc/kubernetes/scheduler.conf";
    let defaults = pairs(&[
        ("authentication-kubeconfig", conf.into()),
        ("authorization-kubeconfig", conf.into()),
        ("bind-address", "127.0.0.1".into()),
        ("kubeconfig", conf.into()),
        ("leader-elect", "true".into()),
    ]);
    let mut command = vec!["kube-scheduler".to_owned()];
    command.extend(args_to_command(defaults, &c.scheduler_args));
    static_pod(PodSpec {
        name: "kube-scheduler",
        annotations: Vec::new(),
        command,
        image: image(&c.image_repository, "kube-scheduler", &c.kubernetes_version),
        liveness: probe("127.0.0.1", "/healthz", 10259, "HTTPS", 8, true, 10),
        readiness: None,
        startup: probe("127.0.0.1", "/healthz", 10259, "HTTPS", 24, true, 10),
        requests: "        cpu: 100m\n",
        volumes: vec![vol("kubeconfig", conf, "FileOrCreate", true)],
    })
}

/// The local etcd member's manifest; `initial_cluster` lists `name=peer-url`
/// (this member last), `existing` for a joining member.
pub fn etcd_manifest(
    c: &ClusterCfg,
    node: &str,
    advertise: &str,
    initial_cluster: &[String],
    existing: bool,
    etcd_tag: &str,
) -> String {
    let pki = format!("{}/etcd", c.certificates_dir);
    let mut defaults = pairs(&[
        ("advertise-client-urls", format!("https://{advertise}:2379")),
        ("cert-file", format!("{pki}/server.crt")),
        ("client-cert-auth", "true".into()),
        ("data-dir", c.etcd_data_dir.clone()),
        ("experimental-initial-corrupt-check", "true".into()),
        ("experimental-watch-progress-notify-interval", "5s".into()),
        (
            "initial-advertise-peer-urls",
            format!("https://{advertise}:2380"),
        ),
        ("initial-cluster", initial_cluster.join(",")),
        ("key-file", format!("{pki}/server.key")),
        (
            "listen-client-urls",
            format!("https://127.0.0.1:2379,https://{advertise}:2379"),
        ),
        ("listen-metrics-urls", "http://127.0.0.1:2381".into()),
        ("listen-peer-urls", format!("https://{advertise}:2380")),
        ("name", node.to_owned()),
        ("peer-cert-file", format!("{pki}/peer.crt")),
        ("peer-client-cert-auth", "true".into()),
        ("peer-key-file", format!("{pki}/peer.key")),
        ("peer-trusted-ca-file", format!("{pki}/ca.crt")),
        ("snapshot-count", "10000".into()),
        ("trusted-ca-file", format!("{pki}/ca.crt")),
    ]);
    if existing {
        defaults.push(("initial-cluster-state".into(), "existing".into()));
    }
    let mut command = vec!["etcd".to_owned()];
    command.extend(args_to_command(defaults, &c.etcd_args));
    let repo = if c.etcd_image_repository.is_empty() {
        &c.image_repository
    } else {
        &c.etcd_image_repository
    };
    let tag = if c.etcd_image_tag.is_empty() {
        etcd_tag
    } else {
        &c.etcd_image_tag
    };
    let mut data = vol("etcd-data", &c.etcd_data_dir, "DirectoryOrCreate", false);
    data.mount = c.etcd_data_dir.clone();
    static_pod(PodSpec {
        name: "etcd",
        annotations: vec![(
            "kubeadm.kubernetes.io/etcd.advertise-client-urls".into(),
            format!("https://{advertise}:2379"),
        )],
        command,
        image: image(repo, "etcd", tag),
        liveness: probe(
            "127.0.0.1",
            "/health?exclude=NOSPACE&serializable=true",
            2381,
            "HTTP",
            8,
            true,
            10,
        ),
        readiness: None,
        startup: probe(
            "127.0.0.1",
            "/health?serializable=false",
            2381,
            "HTTP",
            24,
            true,
            10,
        ),
        requests: "        cpu: 100m\n        memory: 100Mi\n",
        volumes: vec![vol("etcd-certs", &pki, "DirectoryOrCreate", false), data],
    })
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("static YAML")
}

/// /var/lib/kubelet/config.yaml: kubeadm's defaults under the admin's
/// KubeletConfiguration (top-level fields replace the defaults).
pub fn kubelet_config(c: &ClusterCfg, user: Option<&Value>) -> String {
    let dns = service_ip(&c.service_subnet, 10);
    let mut map: Mapping = match yaml(&format!(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nauthentication:\n  anonymous:\n    enabled: false\n  webhook:\n    cacheTTL: 0s\n    enabled: true\n  x509:\n    clientCAFile: {}/ca.crt\nauthorization:\n  mode: Webhook\n  webhook:\n    cacheAuthorizedTTL: 0s\n    cacheUnauthorizedTTL: 0s\ncgroupDriver: systemd\nclusterDNS:\n- {dns}\nclusterDomain: {}\ncontainerRuntimeEndpoint: \"\"\ncpuManagerReconcilePeriod: 0s\nevictionPressureTransitionPeriod: 0s\nfileCheckFrequency: 0s\nhealthzBindAddress: 127.0.0.1\nhealthzPort: 10248\nhttpCheckFrequency: 0s\nimageMaximumGCAge: 0s\nimageMinimumGCAge: 0s\nkind: KubeletConfiguration\nlogging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: \"0\"\n  verbosity: 0\nmemorySwap: {{}}\nnodeStatusReportFrequency: 0s\nnodeStatusUpdateFrequency: 0s\nrotateCertificates: true\nruntimeRequestTimeout: 0s\nshutdownGracePeriod: 0s\nshutdownGracePeriodCriticalPods: 0s\nstaticPodPath: /etc/kubernetes/manifests\nstreamingConnectionIdleTimeout: 0s\nsyncFrequency: 0s\nvolumeStatsAggPeriod: 0s\n",
        c.certificates_dir, c.dns_domain
    )) {
        Value::Mapping(m) => m,
        _ => unreachable!(),
    };
    if let Some(Value::Mapping(u)) = user {
        for (k, v) in u {
            map.insert(k.clone(), v.clone());
        }
    }
    let mut entries: Vec<(Value, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
    let sorted: Mapping = entries.into_iter().collect();
    serde_yaml::to_string(&Value::Mapping(sorted)).unwrap_or_default()
}

/// /var/lib/kubelet/kubeadm-flags.env.
pub fn kubeadm_flags_env(
    node: &NodeReg,
    cri_socket: &str,
    pause_image: &str,
    hostname: &str,
) -> String {
    let mut flags = vec![
        (
            "container-runtime-endpoint".to_owned(),
            cri_socket.to_owned(),
        ),
        (
            "pod-infra-container-image".to_owned(),
            pause_image.to_owned(),
        ),
    ];
    if node.name != hostname {
        flags.push(("hostname-override".into(), node.name.clone()));
    }
    for (k, v) in &node.kubelet_args {
        flags.retain(|(n, _)| n != k);
        flags.push((k.clone(), v.clone()));
    }
    flags.sort_by(|a, b| a.0.cmp(&b.0));
    let text: Vec<String> = flags.iter().map(|(k, v)| format!("--{k}={v}")).collect();
    format!("KUBELET_KUBEADM_ARGS=\"{}\"\n", text.join(" "))
}

/// The client certificate the kubelet keeps after its TLS bootstrap.
pub const KUBELET_CLIENT_PEM: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";
