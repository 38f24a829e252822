//! The subcommands the model runs: version, init, join, reset, config images
//! list/pull, token create/generate, init phase upload-certs.

use std::net::TcpListener;

use crate::cli::{self, Outcome, Parsed};
use crate::cluster::{Cluster, SHARED_CERTS};
use crate::config;
use crate::crypto::{self, CertSpec, Openssl};
use crate::error::{self, Failure, Result};
use crate::files::{self, ControlPlane, Pki, Writer};
use crate::settings::{Model, Record};
use crate::validate::{self, ClusterCfg, InitCfg, JoinCfg, NodeReg, DEFAULT_REPOSITORY};

pub fn run(model: &Model, record: &mut Record, args: &[String]) -> Result<()> {
    let parsed = match cli::parse(args, &model.version)? {
        Outcome::Help => return Ok(()),
        Outcome::Run(p) => p,
    };
    match parsed.path() {
        "version" => version(model, &parsed),
        "init" => init(model, record, &parsed).and_then(|()| after_success(model)),
        "join" => join(model, record, &parsed).and_then(|()| after_success(model)),
        "reset" => reset(model, record, &parsed),
        "config images list" => images_list(model, &parsed),
        "config images pull" => images_pull(model, record, &parsed),
        "token create" => token_create(model, record, &parsed),
        "token generate" => {
            println!("{}", crypto::new_token());
            Ok(())
        }
        "init phase upload-certs" => upload_certs_phase(model, record, &parsed),
        other => Err(error::not_modeled(format!("kubeadm {other}"))),
    }
}

/// The test hook after a successful init or join (`after_success=`).
fn after_success(model: &Model) -> Result<()> {
    model.after_success().map_err(Failure::Model)
}

fn version(model: &Model, parsed: &Parsed) -> Result<()> {
    let v = &model.version;
    match parsed.str("output").unwrap_or("") {
        "short" => println!("{}", v.text),
        "" => println!(
            "kubeadm version: &version.Info{{Major:\"1\", Minor:\"{}\", GitVersion:\"{}\", GitCommit:\"0000000000000000000000000000000000000000\", GitTreeState:\"clean\", BuildDate:\"1970-01-01T00:00:00Z\", GoVersion:\"go1.22.8\", Compiler:\"gc\", Platform:\"linux/amd64\"}}",
            v.minor, v.text
        ),
        "json" => println!(
            "{{\n  \"clientVersion\": {{\n    \"major\": \"1\",\n    \"minor\": \"{}\",\n    \"gitVersion\": \"{}\",\n    \"gitCommit\": \"0000000000000000000000000000000000000000\",\n    \"gitTreeState\": \"clean\",\n    \"buildDate\": \"1970-01-01T00:00:00Z\",\n    \"goVersion\": \"go1.22.8\",\n    \"compiler\": \"gc\",\n    \"platform\": \"linux/amd64\"\n  }}\n}}",
            v.minor, v.text
        ),
        other => return Err(error::plain(format!("invalid output format: {other}"))),
    }
    Ok(())
}

/// Reads `--config` (a host path under the root prefix).
fn read_config(model: &Model, path: &str) -> Result<String> {
    std::fs::read_to_string(model.host(path)).map_err(|e| {
        error::plain(format!(
            "unable to read config from {path:?} : {}",
            error::os_error("open", path, &e)
        ))
    })
}

/// The images of a cluster configuration, in this release's order
/// (images.go `GetControlPlaneImages`).
fn images(model: &Model, c: &ClusterCfg) -> Vec<String> {
    let v = &model.version;
    let repo = &c.image_repository;
    let k = &c.kubernetes_version;
    let mut out: Vec<String> = [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ]
    .iter()
    .map(|n| format!("{repo}/{n}:{k}"))
    .collect();
    if !c.proxy_disabled {
        out.push(format!("{repo}/kube-proxy:{k}"));
    }
    let dns_repo = if c.dns_image_repository.is_empty() {
        repo.clone()
    } else {
        c.dns_image_repository.clone()
    };
    // The official image moved to registry.k8s.io/coredns/coredns.
    let dns_repo = if dns_repo == DEFAULT_REPOSITORY {
        format!("{dns_repo}/coredns")
    } else {
        dns_repo
    };
    let dns_tag = if c.dns_image_tag.is_empty() {
        v.coredns().to_owned()
    } else {
        c.dns_image_tag.clone()
    };
    let dns = (!c.dns_disabled).then(|| format!("{dns_repo}/coredns:{dns_tag}"));
    let pause = format!("{repo}/pause:{}", v.pause());
    let etcd = c.etcd_local.then(|| {
        let r = if c.etcd_image_repository.is_empty() {
            repo.clone()
        } else {
            c.etcd_image_repository.clone()
        };
        let t = if c.etcd_image_tag.is_empty() {
            v.etcd().to_owned()
        } else {
            c.etcd_image_tag.clone()
        };
        format!("{r}/etcd:{t}")
    });
    if v.minor >= 30 {
        out.extend(dns);
        out.push(pause);
        out.extend(etcd);
    } else {
        out.push(pause);
        out.extend(etcd);
        out.extend(dns);
    }
    out
}

/// The cluster configuration `config images` works from: the file, or the
/// flags (`--kubernetes-version`, `--image-repository`).
fn images_config(model: &Model, parsed: &Parsed) -> Result<(InitCfg, bool)> {
    if let Some(path) = parsed.str("config") {
        let text = read_config(model, path)?;
        let docs = config::load_init(&text, &model.version)?;
        let cfg = validate::init_config(model, parsed, Some(docs), false, true)?;
        return Ok((cfg, true));
    }
    let cfg = validate::init_config(model, parsed, None, false, true)?;
    Ok((cfg, false))
}

fn images_list(model: &Model, parsed: &Parsed) -> Result<()> {
    if let Some(o) = parsed.str("output").or(parsed.str("experimental-output")) {
        if o != "text" {
            return Err(error::not_modeled(format!("config images list -o {o}")));
        }
    }
    let (cfg, _) = images_config(model, parsed).map_err(|f| match f {
        Failure::Kubeadm { message, kind } if parsed.has("config") => Failure::Kubeadm {
            message: format!("could not convert cfg to an internal cfg: {message}"),
            kind,
        },
        other => other,
    })?;
    for image in images(model, &cfg.cluster) {
        println!("{image}");
    }
    Ok(())
}

/// The CRI socket: configured, or detected among the known ones.
fn cri_socket(model: &Model, configured: &str) -> Result<String> {
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    let known = [
        "unix:///var/run/containerd/containerd.sock",
        "unix:///var/run/crio/crio.sock",
        "unix:///var/run/cri-dockerd.sock",
    ];
    let found: Vec<&str> = known
        .iter()
        .copied()
        .filter(|s| model.host(s.trim_start_matches("unix://")).exists())
        .collect();
    match found.len() {
        0 => Ok(known[0].to_owned()),
        1 => Ok(found[0].to_owned()),
        _ => Err(error::plain(format!(
            "found multiple CRI endpoints on the host. Please define which one do you wish to use by setting the 'criSocket' field in the kubeadm configuration file: {}",
            found.join(", ")
        ))),
    }
}

/// Whether the container runtime answers on `socket` (here: it exists).
fn runtime_missing(model: &Model, socket: &str) -> bool {
    !model.host(socket.trim_start_matches("unix://")).exists()
}

/// Why `config images pull` cannot pull: the runtime is not there.
fn runtime_problem(model: &Model, socket: &str) -> Option<String> {
    runtime_missing(model, socket).then(|| {
        format!(
            "container runtime is not running: {}",
            crate::registry::unreachable("runtime", socket)
        )
    })
}

/// 1.31+: `utilruntime.CRIRuntime.Connect()` on a socket nobody listens on.
fn connect_error(socket: &str) -> String {
    format!(
        "failed to create new CRI runtime service: {}",
        crate::registry::unreachable("runtime", socket)
    )
}

/// Before 1.31 kubeadm ran crictl, and a failed crictl call is the error
/// `errors.Wrapf(err, "output: %s, error", out)`: its combined output
/// (one logrus fatal line) and its exit status.
fn crictl_failed(message: &str) -> String {
    format!(
        "output: {}\n, error: exit status 1",
        crate::registry::fatal_line(message)
    )
}

fn pull(model: &Model, record: &mut Record, images: &[String], socket: &str) -> Result<()> {
    if let Some(problem) = runtime_problem(model, socket) {
        return Err(error::plain(format!(
            "failed to pull image {:?}: {problem}",
            images.first().cloned().unwrap_or_default()
        )));
    }
    for image in images {
        if let Some(problem) = crate::registry::pull_problem(model, image) {
            return Err(error::plain(format!(
                "failed to pull image {image:?}: {problem}"
            )));
        }
        record.event("pulled", image);
        println!("[config/images] Pulled {image}");
    }
    Ok(())
}

/// `preflight.RunPullImagesCheck` of init and of a control-plane join.
/// From 1.31 it first connects to the runtime, and a failed connect is a
/// fatal error of no check, so no `--ignore-preflight-errors` gets past it
/// (`return &Error{Msg: err.Error()}`; the message has no newline of its own).
fn run_pull_images_check(
    model: &Model,
    record: &mut Record,
    images: &[String],
    socket: &str,
    ignore: &[String],
) -> std::result::Result<(), String> {
    if model.version.cri_client() && runtime_missing(model, socket) {
        return Err(fatal_errors(&connect_error(socket)));
    }
    run_checks(
        vec![image_pull_check(model, record, images, socket)],
        ignore,
    )
}

/// `preflight.ImagePullCheck`: every image is tried and each failure is an
/// error of the check `ImagePull` (`"failed to pull image %s"`), so that
/// `--ignore-preflight-errors=ImagePull` makes them warnings. Before 1.31
/// the pull is `crictl pull`, whose output is the reason; its
/// `crictl inspecti` never reports an error, so "failed to check if image
/// %s exists" does not occur.
fn image_pull_check(
    model: &Model,
    record: &mut Record,
    images: &[String],
    socket: &str,
) -> CheckResult {
    let crictl = !model.version.cri_client();
    let mut errors = Vec::new();
    for image in images {
        let problem = if runtime_missing(model, socket) {
            Some(crate::registry::unreachable("image", socket))
        } else {
            crate::registry::pull_problem(model, image).map(|p| {
                if crictl {
                    format!("pulling image: {p}")
                } else {
                    p
                }
            })
        };
        match problem {
            Some(p) if crictl => errors.push(format!(
                "failed to pull image {image}: {}",
                crictl_failed(&p)
            )),
            Some(p) => errors.push(format!("failed to pull image {image}: {p}")),
            None => record.event("pulled", image),
        }
    }
    ("ImagePull".into(), Vec::new(), errors)
}

fn images_pull(model: &Model, record: &mut Record, parsed: &Parsed) -> Result<()> {
    let (cfg, from_file) = images_config(model, parsed)?;
    // With --config, --cri-socket is read but ignored (config-loading.json).
    let configured = if from_file {
        cfg.node.cri_socket.clone()
    } else {
        parsed.str("cri-socket").unwrap_or("").to_owned()
    };
    let socket = cri_socket(model, &configured)?;
    pull(model, record, &images(model, &cfg.cluster), &socket)
}

// ---------------------------------------------------------------------------
// Preflight.

type CheckResult = (String, Vec<String>, Vec<String>);

fn port_check(port: i64) -> CheckResult {
    let free = TcpListener::bind(("0.0.0.0", port as u16)).is_ok();
    let errors = if free {
        Vec::new()
    } else {
        vec![format!("Port {port} is in use")]
    };
    (format!("Port-{port}"), Vec::new(), errors)
}

fn check_name(kind: &str, path: &str) -> String {
    format!("{kind}-{}", path.replace('/', "-"))
}

fn file_available(model: &Model, path: &str) -> CheckResult {
    let errors = if model.host(path).exists() {
        vec![format!("{path} already exists")]
    } else {
        Vec::new()
    };
    (check_name("FileAvailable", path), Vec::new(), errors)
}

fn dir_available(model: &Model, path: &str) -> CheckResult {
    let target = model.host(path);
    let empty = match std::fs::read_dir(&target) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => true,
    };
    let errors = if empty {
        Vec::new()
    } else {
        vec![format!("{path} is not empty")]
    };
    (check_name("DirAvailable", path), Vec::new(), errors)
}

fn privileged() -> CheckResult {
    let errors = if nix::unistd::geteuid().is_root() {
        Vec::new()
    } else {
        vec!["user is not running as root".to_owned()]
    };
    ("IsPrivilegedUser".into(), Vec::new(), errors)
}

/// `ContainerRuntimeCheck` ("CRI") of init's and join's common checks.
/// From 1.31 a runtime kubeadm cannot connect to leaves the check out:
/// `addCommonChecks` only logs a klog warning. Before, the check runs
/// `crictl info`, which fails.
fn cri_check(model: &Model, socket: &str) -> Option<CheckResult> {
    let mut errors = Vec::new();
    if runtime_missing(model, socket) {
        if model.version.cri_client() {
            error::klog_warning(
                "checks.go:1080",
                &format!(
                    "[preflight] WARNING: Couldn't create the interface used for talking to the container runtime: {}",
                    connect_error(socket)
                ),
            );
            return None;
        }
        errors.push(format!(
            "container runtime is not running: {}",
            crictl_failed(&crate::registry::unreachable("runtime", socket))
        ));
    }
    Some(("CRI".into(), Vec::new(), errors))
}

/// `preflight.Error`: the fatal errors, then kubeadm's advice.
fn fatal_errors(errors: &str) -> String {
    format!(
        "[preflight] Some fatal errors occurred:\n{errors}[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`"
    )
}

/// `preflight.RunChecks`: warnings go to stderr, ignored errors become
/// warnings, the rest make the preflight error.
fn run_checks(checks: Vec<CheckResult>, ignore: &[String]) -> std::result::Result<(), String> {
    let ignore: Vec<String> = ignore.iter().map(|s| s.to_lowercase()).collect();
    let mut errors = String::new();
    for (name, mut warnings, mut errs) in checks {
        if ignore
            .iter()
            .any(|i| i == "all" || *i == name.to_lowercase())
        {
            warnings.append(&mut errs);
        }
        for w in warnings {
            eprintln!("\t[WARNING {name}]: {w}");
        }
        for e in errs {
            errors.push_str(&format!("\t[ERROR {name}]: {e}\n"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(fatal_errors(&errors))
    }
}

fn control_plane_checks(model: &Model, c: &ClusterCfg, bind_port: i64) -> Vec<CheckResult> {
    let mut checks = vec![port_check(bind_port), port_check(10259), port_check(10257)];
    for m in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "etcd",
    ] {
        checks.push(file_available(
            model,
            &format!("/etc/kubernetes/manifests/{m}.yaml"),
        ));
    }
    if c.etcd_local {
        checks.push(port_check(2379));
        checks.push(port_check(2380));
        checks.push(dir_available(model, &c.etcd_data_dir));
    }
    checks
}

fn pull_notice(model: &Model) {
    println!("[preflight] Pulling images required for setting up a Kubernetes cluster");
    println!("[preflight] This might take a minute or two, depending on the speed of your internet connection");
    if model.version.minor >= 30 {
        println!("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'");
    } else {
        println!("[preflight] You can also perform this action in beforehand using 'kubeadm config images pull'");
    }
}

/// Phase names of `init` or `join` for --skip-phases (flags.json lists them).
fn check_skip_phases(model: &Model, command: &str, skip: &[String]) -> Result<()> {
    let known = phase_names(model, command);
    for s in skip {
        if !known.iter().any(|k| k == s) {
            return Err(error::plain(format!("invalid phase name: {s}")));
        }
    }
    Ok(())
}

fn phase_names(model: &Model, command: &str) -> Vec<String> {
    // flags.json's phase subcommands, as `name` and `name/sub`.
    const INIT: &[&str] = &[
        "preflight",
        "certs",
        "certs/all",
        "certs/ca",
        "certs/apiserver",
        "certs/apiserver-kubelet-client",
        "certs/front-proxy-ca",
        "certs/front-proxy-client",
        "certs/etcd-ca",
        "certs/etcd-server",
        "certs/etcd-peer",
        "certs/etcd-healthcheck-client",
        "certs/apiserver-etcd-client",
        "certs/sa",
        "kubeconfig",
        "kubeconfig/all",
        "kubeconfig/admin",
        "kubeconfig/kubelet",
        "kubeconfig/controller-manager",
        "kubeconfig/scheduler",
        "etcd",
        "etcd/local",
        "control-plane",
        "control-plane/all",
        "control-plane/apiserver",
        "control-plane/controller-manager",
        "control-plane/scheduler",
        "kubelet-start",
        "wait-control-plane",
        "upload-config",
        "upload-config/all",
        "upload-config/kubeadm",
        "upload-config/kubelet",
        "upload-certs",
        "mark-control-plane",
        "bootstrap-token",
        "kubelet-finalize",
        "kubelet-finalize/all",
        "addon",
        "addon/all",
        "addon/coredns",
        "addon/kube-proxy",
        "show-join-command",
    ];
    const JOIN: &[&str] = &[
        "preflight",
        "control-plane-prepare",
        "control-plane-prepare/all",
        "control-plane-prepare/download-certs",
        "control-plane-prepare/certs",
        "control-plane-prepare/kubeconfig",
        "control-plane-prepare/control-plane",
        "kubelet-start",
        "control-plane-join",
        "control-plane-join/all",
        "control-plane-join/etcd",
        "control-plane-join/mark-control-plane",
    ];
    let mut names: Vec<String> = match command {
        "init" => INIT.iter().map(|s| s.to_string()).collect(),
        _ => JOIN.iter().map(|s| s.to_string()).collect(),
    };
    let v = &model.version;
    if command == "init" {
        if v.has_super_admin() {
            names.push("kubeconfig/super-admin".into());
        }
        names.push(if v.minor >= 31 {
            "kubelet-finalize/enable-client-cert-rotation".into()
        } else {
            "kubelet-finalize/experimental-cert-rotation".into()
        });
    } else {
        if v.minor <= 30 {
            names.push("control-plane-join/update-status".into());
        }
        if v.minor >= 30 {
            names.push("wait-control-plane".into());
        }
    }
    names
}

const MODELED_SKIPS: &[&str] = &[
    "preflight",
    "show-join-command",
    "addon",
    "addon/all",
    "upload-certs",
    "wait-control-plane",
];

fn skips(cfg_skips: &[String], phase: &str) -> bool {
    cfg_skips.iter().any(|s| s == phase)
}

fn refuse_unmodeled_skips(skip: &[String]) -> Result<()> {
    match skip.iter().find(|s| !MODELED_SKIPS.contains(&s.as_str())) {
        Some(s) => Err(error::not_modeled(format!("--skip-phases={s}"))),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// init.

fn openssl(model: &Model) -> Openssl {
    Openssl {
        program: model.openssl.clone(),
    }
}

fn cert_spec<'a>(cn: &'a str, org: Option<&'a str>, usages: &'a [&'a str]) -> CertSpec<'a> {
    CertSpec {
        cn,
        org,
        ca: false,
        usages,
        dns: Vec::new(),
        ips: Vec::new(),
    }
}

fn ca_spec(cn: &str) -> CertSpec<'_> {
    CertSpec {
        cn,
        org: None,
        ca: true,
        usages: &[],
        dns: Vec::new(),
        ips: Vec::new(),
    }
}

const SERVER: &[&str] = &["serverAuth"];
const CLIENT: &[&str] = &["clientAuth"];
const BOTH: &[&str] = &["serverAuth", "clientAuth"];

/// The per-node certificates of a control plane (the CAs and sa exist).
fn node_certs(
    w: &mut Writer,
    pki: &Pki,
    model: &Model,
    c: &ClusterCfg,
    node: &str,
    advertise: &str,
) -> Result<()> {
    let (dns, ips) = files::apiserver_sans(c, node, advertise);
    println!("[certs] Generating \"apiserver\" certificate and key");
    println!(
        "[certs] apiserver serving cert is signed for DNS names [{}] and IPs [{}]",
        dns.join(" "),
        ips.join(" ")
    );
    let mut spec = cert_spec("kube-apiserver", None, SERVER);
    spec.dns = dns;
    spec.ips = ips;
    pki.generate(w, "apiserver", &spec, Some("ca"))?;
    println!("[certs] Generating \"apiserver-kubelet-client\" certificate and key");
    pki.generate(
        w,
        "apiserver-kubelet-client",
        &cert_spec(
            "kube-apiserver-kubelet-client",
            Some(model.version.admin_group()),
            CLIENT,
        ),
        Some("ca"),
    )?;
    println!("[certs] Generating \"front-proxy-client\" certificate and key");
    pki.generate(
        w,
        "front-proxy-client",
        &cert_spec("front-proxy-client", None, CLIENT),
        Some("front-proxy-ca"),
    )?;
    if c.etcd_local {
        for (name, extra) in [("server", &c.etcd_server_sans), ("peer", &c.etcd_peer_sans)] {
            let (dns, ips) = files::etcd_sans(node, advertise, extra);
            println!("[certs] Generating \"etcd/{name}\" certificate and key");
            println!(
                "[certs] etcd/{name} serving cert is signed for DNS names [{}] and IPs [{}]",
                dns.join(" "),
                ips.join(" ")
            );
            let mut spec = cert_spec(node, None, BOTH);
            spec.dns = dns;
            spec.ips = ips;
            pki.generate(w, &format!("etcd/{name}"), &spec, Some("etcd/ca"))?;
        }
        println!("[certs] Generating \"etcd/healthcheck-client\" certificate and key");
        pki.generate(
            w,
            "etcd/healthcheck-client",
            &cert_spec("kube-etcd-healthcheck-client", None, CLIENT),
            Some("etcd/ca"),
        )?;
        println!("[certs] Generating \"apiserver-etcd-client\" certificate and key");
        pki.generate(
            w,
            "apiserver-etcd-client",
            &cert_spec("kube-apiserver-etcd-client", None, CLIENT),
            Some("etcd/ca"),
        )?;
    }
    Ok(())
}

/// A kubeconfig with a client certificate signed by the cluster CA.
fn client_kubeconfig(
    w: &mut Writer,
    pki: &Pki,
    file: &str,
    server: &str,
    cluster_name: &str,
    user: &str,
    org: Option<&str>,
) -> Result<()> {
    println!("[kubeconfig] Writing {file:?} kubeconfig file");
    let ca = w.read(&format!("{}/ca.crt", pki.cert_dir))?;
    let (cert, key) = pki.sign(w, &cert_spec(user, org, CLIENT), Some("ca"), 365)?;
    let text = files::kubeconfig(server, cluster_name, user, &ca, Some((&cert, &key)), None);
    w.write(&format!("/etc/kubernetes/{file}"), &text, 0o600, 0o755)
}

fn local_endpoint(advertise: &str, port: i64) -> String {
    if advertise.contains(':') {
        format!("[{advertise}]:{port}")
    } else {
        format!("{advertise}:{port}")
    }
}

/// Where clients of the cluster connect: controlPlaneEndpoint (with the bind
/// port when it has none), else this node.
fn cluster_endpoint(c: &ClusterCfg, advertise: &str, port: i64) -> String {
    if c.control_plane_endpoint.is_empty() {
        local_endpoint(advertise, port)
    } else if validate::split_host_port(&c.control_plane_endpoint).is_ok() {
        c.control_plane_endpoint.clone()
    } else {
        format!("{}:{port}", c.control_plane_endpoint)
    }
}

fn kubelet_files(
    w: &mut Writer,
    model: &Model,
    c: &ClusterCfg,
    node: &NodeReg,
    socket: &str,
    kubelet_config: &str,
) -> Result<()> {
    let pause = format!("{}/pause:{}", c.image_repository, model.version.pause());
    let flags = files::kubeadm_flags_env(node, socket, &pause, &model.hostname());
    let write_env = |w: &mut Writer| -> Result<()> {
        println!("[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"");
        w.write("/var/lib/kubelet/kubeadm-flags.env", &flags, 0o644, 0o700)
    };
    let write_config = |w: &mut Writer| -> Result<()> {
        println!("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"");
        w.write("/var/lib/kubelet/config.yaml", kubelet_config, 0o644, 0o700)
    };
    if model.version.minor >= 31 {
        write_env(w)?;
        write_config(w)?;
    } else {
        write_config(w)?;
        write_env(w)?;
    }
    println!("[kubelet-start] Starting the kubelet");
    Ok(())
}

/// What etcd leaves in its data directory once it ran.
fn etcd_ran(w: &mut Writer, data_dir: &str, node: &str) -> Result<()> {
    w.mkdir(data_dir, 0o700)?;
    w.write(
        &format!("{data_dir}/member/snap/db"),
        &format!("etcd data of member {node}\n"),
        0o600,
        0o700,
    )?;
    w.write(
        &format!("{data_dir}/member/wal/0000000000000000-0000000000000000.wal"),
        "wal\n",
        0o600,
        0o700,
    )
}

/// The kubelet's TLS bootstrap: its client certificate, signed by the
/// cluster CA (held in the cluster directory, as the controller-manager
/// holds it), and kubelet.conf pointing at it.
fn kubelet_bootstrapped(
    w: &mut Writer,
    model: &Model,
    cluster: &Cluster,
    server: &str,
    (cluster_name, user_name): (&str, &str),
    node: &str,
) -> Result<()> {
    let scratch = files::scratch();
    let ca_crt = cluster
        .read("ca.crt")
        .ok_or_else(|| error::plain("the cluster has no CA"))?;
    let ca_key = cluster
        .read("ca.key")
        .ok_or_else(|| error::plain("the cluster has no CA key"))?;
    std::fs::write(scratch.join("cluster-ca.crt"), &ca_crt).ok();
    std::fs::write(scratch.join("cluster-ca.key"), &ca_key).ok();
    let user = format!("system:node:{node}");
    let (cert, key) = openssl(model)
        .cert(
            &cert_spec(&user, Some("system:nodes"), CLIENT),
            Some((
                &scratch.join("cluster-ca.crt"),
                &scratch.join("cluster-ca.key"),
            )),
            365,
            &scratch,
        )
        .map_err(error::plain)?;
    let _ = std::fs::remove_file(scratch.join("cluster-ca.key"));
    w.write(
        files::KUBELET_CLIENT_PEM,
        &format!("{cert}{key}"),
        0o600,
        0o755,
    )?;
    let text = files::kubeconfig(
        server,
        cluster_name,
        user_name,
        &ca_crt,
        None,
        Some(files::KUBELET_CLIENT_PEM),
    );
    w.write("/etc/kubernetes/kubelet.conf", &text, 0o600, 0o755)
}

fn join_command(endpoint: &str, token: &str, hash: &str, control_plane: Option<&str>) -> String {
    let mut s = format!(
        "kubeadm join {endpoint} --token {token} \\\n\t--discovery-token-ca-cert-hash {hash} "
    );
    if let Some(key) = control_plane {
        s.push_str("\\\n\t--control-plane ");
        if !key.is_empty() {
            s.push_str(&format!("--certificate-key {key}"));
        }
    }
    s
}

fn init(model: &Model, record: &mut Record, parsed: &Parsed) -> Result<()> {
    cli::check_config_mixing(parsed, &model.version, "init")?;
    if parsed.bool("dry-run") {
        return Err(error::not_modeled("init --dry-run"));
    }
    let docs = match parsed.str("config") {
        Some(path) => Some(config::load_init(
            &read_config(model, path)?,
            &model.version,
        )?),
        None => None,
    };
    let upload_certs = parsed.bool("upload-certs");
    let cfg = validate::init_config(model, parsed, docs, upload_certs, false)?;
    check_skip_phases(model, "init", &cfg.skip_phases)?;
    refuse_unmodeled_skips(&cfg.skip_phases)?;
    let c = &cfg.cluster;
    let v = &model.version;
    println!("[init] Using Kubernetes version: {}", c.kubernetes_version);
    let socket = cri_socket(model, &cfg.node.cri_socket)?;
    let node = cfg.node.name.clone();

    if !skips(&cfg.skip_phases, "preflight") {
        println!("[preflight] Running pre-flight checks");
        let mut checks = vec![privileged()];
        if let Some((_, minor, _)) =
            crate::versions::parse_kubernetes_version(&c.kubernetes_version)
        {
            if minor > v.minor {
                checks.push((
                    "KubernetesVersion".into(),
                    vec![format!(
                        "Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: {}. Kubeadm version: 1.{}.x",
                        c.kubernetes_version.trim_start_matches('v'),
                        v.minor
                    )],
                    Vec::new(),
                ));
            }
        }
        checks.extend(control_plane_checks(model, c, cfg.bind_port));
        checks.extend(cri_check(model, &socket));
        checks.push(port_check(10250));
        run_checks(checks, &cfg.node.ignore_preflight)
            .map_err(|m| error::in_phase("preflight", error::plain(m)))?;
        pull_notice(model);
        run_pull_images_check(
            model,
            record,
            &images(model, c),
            &socket,
            &cfg.node.ignore_preflight,
        )
        .map_err(|m| error::in_phase("preflight", error::plain(m)))?;
    }

    let mut w = Writer { model, record };
    let pki = Pki {
        openssl: openssl(model),
        cert_dir: &c.certificates_dir,
    };
    let phase = |name: &'static str| move |f: Failure| error::in_phase(name, f);
    // certs
    println!(
        "[certs] Using certificateDir folder {:?}",
        c.certificates_dir
    );
    println!("[certs] Generating \"ca\" certificate and key");
    let (ca_crt, ca_key) = pki
        .generate(&mut w, "ca", &ca_spec("kubernetes"), None)
        .map_err(phase("certs/ca"))?;
    println!("[certs] Generating \"front-proxy-ca\" certificate and key");
    pki.generate(&mut w, "front-proxy-ca", &ca_spec("front-proxy-ca"), None)
        .map_err(phase("certs/front-proxy-ca"))?;
    if c.etcd_local {
        println!("[certs] Generating \"etcd/ca\" certificate and key");
        pki.generate(&mut w, "etcd/ca", &ca_spec("etcd-ca"), None)
            .map_err(phase("certs/etcd-ca"))?;
    }
    node_certs(&mut w, &pki, model, c, &node, &cfg.advertise).map_err(phase("certs"))?;
    println!("[certs] Generating \"sa\" key and public key");
    let (sa_key, sa_pub) = openssl(model)
        .key_pair(&files::scratch())
        .map_err(|e| error::in_phase("certs/sa", error::plain(e)))?;
    w.write(
        &format!("{}/sa.key", c.certificates_dir),
        &sa_key,
        0o600,
        0o755,
    )
    .map_err(phase("certs/sa"))?;
    w.write(
        &format!("{}/sa.pub", c.certificates_dir),
        &sa_pub,
        0o600,
        0o755,
    )
    .map_err(phase("certs/sa"))?;

    // kubeconfig
    let endpoint = cluster_endpoint(c, &cfg.advertise, cfg.bind_port);
    let local = local_endpoint(&cfg.advertise, cfg.bind_port);
    println!("[kubeconfig] Using kubeconfig folder \"/etc/kubernetes\"");
    let name = &c.cluster_name;
    client_kubeconfig(
        &mut w,
        &pki,
        "admin.conf",
        &endpoint,
        name,
        "kubernetes-admin",
        Some(v.admin_group()),
    )
    .map_err(phase("kubeconfig/admin"))?;
    if v.has_super_admin() {
        client_kubeconfig(
            &mut w,
            &pki,
            "super-admin.conf",
            &endpoint,
            name,
            "kubernetes-super-admin",
            Some("system:masters"),
        )
        .map_err(phase("kubeconfig/super-admin"))?;
    }
    client_kubeconfig(
        &mut w,
        &pki,
        "kubelet.conf",
        &endpoint,
        name,
        &format!("system:node:{node}"),
        Some("system:nodes"),
    )
    .map_err(phase("kubeconfig/kubelet"))?;
    client_kubeconfig(
        &mut w,
        &pki,
        "controller-manager.conf",
        &local,
        name,
        "system:kube-controller-manager",
        None,
    )
    .map_err(phase("kubeconfig/controller-manager"))?;
    client_kubeconfig(
        &mut w,
        &pki,
        "scheduler.conf",
        &local,
        name,
        "system:kube-scheduler",
        None,
    )
    .map_err(phase("kubeconfig/scheduler"))?;

    let cp = ControlPlane {
        cluster: c,
        advertise: &cfg.advertise,
        bind_port: cfg.bind_port,
    };
    let kubelet_config = files::kubelet_config(c, cfg.kubelet.as_ref());
    let etcd_member = format!("{node}=https://{}:2380", cfg.advertise);
    let etcd_phase = |w: &mut Writer| -> Result<()> {
        if c.etcd_local {
            println!("[etcd] Creating static Pod manifest for local etcd in \"/etc/kubernetes/manifests\"");
            w.mkdir(&c.etcd_data_dir, 0o700)?;
            let m = files::etcd_manifest(
                c,
                &node,
                &cfg.advertise,
                std::slice::from_ref(&etcd_member),
                false,
                v.etcd(),
            );
            w.write("/etc/kubernetes/manifests/etcd.yaml", &m, 0o600, 0o700)?;
        }
        Ok(())
    };
    let control_plane_phase = |w: &mut Writer| -> Result<()> {
        println!("[control-plane] Using manifest folder \"/etc/kubernetes/manifests\"");
        println!("[control-plane] Creating static Pod manifest for \"kube-apiserver\"");
        w.write(
            "/etc/kubernetes/manifests/kube-apiserver.yaml",
            &files::apiserver_manifest(&cp),
            0o600,
            0o700,
        )?;
        println!("[control-plane] Creating static Pod manifest for \"kube-controller-manager\"");
        w.write(
            "/etc/kubernetes/manifests/kube-controller-manager.yaml",
            &files::controller_manager_manifest(&cp),
            0o600,
            0o700,
        )?;
        println!("[control-plane] Creating static Pod manifest for \"kube-scheduler\"");
        w.write(
            "/etc/kubernetes/manifests/kube-scheduler.yaml",
            &files::scheduler_manifest(&cp),
            0o600,
            0o700,
        )
    };
    if v.minor >= 31 {
        etcd_phase(&mut w).map_err(phase("etcd"))?;
        control_plane_phase(&mut w).map_err(phase("control-plane"))?;
        kubelet_files(&mut w, model, c, &cfg.node, &socket, &kubelet_config)
            .map_err(phase("kubelet-start"))?;
    } else {
        kubelet_files(&mut w, model, c, &cfg.node, &socket, &kubelet_config)
            .map_err(phase("kubelet-start"))?;
        control_plane_phase(&mut w).map_err(phase("control-plane"))?;
        etcd_phase(&mut w).map_err(phase("etcd"))?;
    }
    if !skips(&cfg.skip_phases, "wait-control-plane") {
        println!("[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory \"/etc/kubernetes/manifests\"");
        println!("[kubelet-check] The kubelet is healthy (kubeadm-model: not waited for)");
        println!("[api-check] The API server is healthy (kubeadm-model: not waited for)");
    }
    if c.etcd_local {
        etcd_ran(&mut w, &c.etcd_data_dir, &node).map_err(phase("wait-control-plane"))?;
    }

    // upload-config: the cluster's state (the stand-in API server).
    let cluster = Cluster::new(&model.cluster);
    let upload = || -> Result<()> {
        cluster.reset_for_new_cluster()?;
        let api = if v.v1beta4_current() {
            "v1beta4"
        } else {
            "v1beta3"
        };
        let mut doc = c
            .document
            .clone()
            .unwrap_or(serde_yaml::Value::Mapping(Default::default()));
        if let serde_yaml::Value::Mapping(m) = &mut doc {
            m.insert("apiVersion".into(), format!("kubeadm.k8s.io/{api}").into());
            m.insert("kind".into(), "ClusterConfiguration".into());
            m.insert(
                "kubernetesVersion".into(),
                c.kubernetes_version.clone().into(),
            );
            m.insert("controlPlaneEndpoint".into(), endpoint.clone().into());
            m.insert("certificatesDir".into(), c.certificates_dir.clone().into());
            m.insert("imageRepository".into(), c.image_repository.clone().into());
            m.insert("clusterName".into(), c.cluster_name.clone().into());
        }
        cluster.write(
            "kubeadm-config.yaml",
            &serde_yaml::to_string(&doc).unwrap_or_default(),
        )?;
        cluster.write("kubelet-config.yaml", &kubelet_config)?;
        cluster.write("ca.crt", &ca_crt)?;
        cluster.write("ca.key", &ca_key)?;
        cluster.add_line("endpoints", &endpoint)?;
        cluster.add_line("endpoints", &local)?;
        cluster.add_line("nodes", &format!("{node} control-plane"))?;
        cluster.add_line("etcd-members", &etcd_member)?;
        Ok(())
    };
    println!("[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace");
    println!("[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the kubelets in the cluster");
    upload().map_err(phase("upload-config"))?;

    if upload_certs && !skips(&cfg.skip_phases, "upload-certs") {
        store_certs(&w, &cluster, &c.certificates_dir, &cfg.certificate_key)
            .map_err(phase("upload-certs"))?;
        if !parsed.bool("skip-certificate-key-print") {
            println!(
                "[upload-certs] Using certificate key:\n{}",
                cfg.certificate_key
            );
        }
    } else {
        println!("[upload-certs] Skipping phase. Please see --upload-certs");
    }
    println!("[mark-control-plane] Marking the node {node} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]");
    println!("[mark-control-plane] Marking the node {node} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]");

    // bootstrap-token: the tokens and the cluster-info ConfigMap.
    if !parsed.bool("skip-token-print") {
        println!("[bootstrap-token] Using token: {}", cfg.tokens[0]);
    }
    println!("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles");
    let cluster_info = files::kubeconfig(&endpoint, "", "", &ca_crt, None, None);
    let bootstrap = || -> Result<()> {
        cluster.write("cluster-info", &cluster_info)?;
        for t in &cfg.tokens {
            cluster.add_line("tokens", t)?;
        }
        Ok(())
    };
    bootstrap().map_err(phase("bootstrap-token"))?;

    // kubelet-finalize: what the kubelet's bootstrap leaves.
    println!("[kubelet-finalize] Updating \"/etc/kubernetes/kubelet.conf\" to point to a rotatable kubelet client certificate and key");
    kubelet_bootstrapped(
        &mut w,
        model,
        &cluster,
        &endpoint,
        (name, &format!("system:node:{node}")),
        &node,
    )
    .map_err(phase("kubelet-finalize"))?;
    if !skips(&cfg.skip_phases, "addon") && !skips(&cfg.skip_phases, "addon/all") {
        if !c.dns_disabled {
            println!("[addons] Applied essential addon: CoreDNS");
        }
        if !c.proxy_disabled {
            println!("[addons] Applied essential addon: kube-proxy");
        }
    }

    if !skips(&cfg.skip_phases, "show-join-command") {
        let hash = openssl(model)
            .ca_hash(&ca_crt, &files::scratch())
            .map_err(error::plain)?;
        for token in &cfg.tokens {
            let shown_token = if parsed.bool("skip-token-print") {
                "<value withheld>"
            } else {
                token
            };
            let key = if parsed.bool("skip-certificate-key-print") {
                "<value withheld>".to_owned()
            } else {
                cfg.certificate_key.clone()
            };
            print!(
                "{}",
                closing_block(
                    &endpoint,
                    shown_token,
                    &hash,
                    &key,
                    !c.control_plane_endpoint.is_empty(),
                    upload_certs
                )
            );
        }
    }
    let _ = std::fs::remove_dir_all(files::scratch());
    Ok(())
}

fn store_certs(w: &Writer, cluster: &Cluster, cert_dir: &str, key: &str) -> Result<()> {
    println!("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace");
    for name in SHARED_CERTS {
        let path = format!("{cert_dir}/{name}");
        if let Ok(text) = w.read(&path) {
            cluster.write(&format!("kubeadm-certs/{name}"), &text)?;
        }
    }
    cluster.write(
        "certificate-key.sha256",
        &format!("{}\n", crypto::hex(&crypto::sha256(key.as_bytes()))),
    )
}

/// showjoincommand.go's template, for 1.26 to 1.31.
fn closing_block(
    endpoint: &str,
    token: &str,
    hash: &str,
    key: &str,
    has_endpoint: bool,
    upload_certs: bool,
) -> String {
    let mut s = String::from("\nYour Kubernetes control-plane has initialized successfully!\n\nTo start using your cluster, you need to run the following as a regular user:\n\n  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nAlternatively, if you are the root user, you can run:\n\n  export KUBECONFIG=/etc/kubernetes/admin.conf\n\nYou should now deploy a pod network to the cluster.\nRun \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n\n");
    if has_endpoint {
        let key_shown = if upload_certs { key } else { "" };
        let cp = join_command(endpoint, token, hash, Some(key_shown));
        if upload_certs {
            s.push_str(&format!("You can now join any number of the control-plane node running the following command on each as root:\n\n  {cp}\n\nPlease note that the certificate-key gives access to cluster sensitive data, keep it secret!\nAs a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n\"kubeadm init phase upload-certs --upload-certs\" to reload certs afterward.\n\n"));
        } else {
            s.push_str(&format!("You can now join any number of control-plane nodes by copying certificate authorities\nand service account keys on each node and then running the following as root:\n\n  {cp}\n\n"));
        }
    }
    s.push_str(&format!(
        "Then you can join any number of worker nodes by running the following on each as root:\n\n{}\n",
        join_command(endpoint, token, hash, None)
    ));
    s
}

fn upload_certs_phase(model: &Model, record: &mut Record, parsed: &Parsed) -> Result<()> {
    cli::check_config_mixing(parsed, &model.version, "init")?;
    if !parsed.bool("upload-certs") {
        println!("[upload-certs] Skipping phase. Please see --upload-certs");
        return Ok(());
    }
    let w = Writer { model, record };
    let kubeconfig = parsed
        .str("kubeconfig")
        .unwrap_or("/etc/kubernetes/admin.conf");
    let cluster = reach_cluster(&w, kubeconfig)?;
    let key = parsed
        .str("certificate-key")
        .map(str::to_owned)
        .unwrap_or_else(|| crypto::hex(&crypto::random_bytes(32)));
    let cert_dir = parsed.str("cert-dir").unwrap_or("/etc/kubernetes/pki");
    store_certs(&w, &cluster, cert_dir, &key).map_err(|f| error::in_phase("upload-certs", f))?;
    println!("[upload-certs] Using certificate key:\n{key}");
    Ok(())
}

/// The API server behind a kubeconfig, as the cluster directory answers
/// for it: (cluster, server, CA PEM).
fn reach_cluster(w: &Writer, kubeconfig: &str) -> Result<Cluster> {
    let (_, _, cluster) = reach_cluster_with_ca(w, kubeconfig)?;
    Ok(cluster)
}

fn reach_cluster_with_ca(w: &Writer, kubeconfig: &str) -> Result<(String, String, Cluster)> {
    let text = w.read(kubeconfig).map_err(|f| match f {
        Failure::Kubeadm { message, kind } => Failure::Kubeadm {
            message: format!("failed to load admin kubeconfig: {message}"),
            kind,
        },
        other => other,
    })?;
    let (server, ca) = files::kubeconfig_server_and_ca(&text).ok_or_else(|| {
        error::plain(format!(
            "failed to load admin kubeconfig: {kubeconfig} is not a kubeconfig"
        ))
    })?;
    let cluster = Cluster::new(&w.model.cluster);
    if !cluster.answers_on(&server) {
        return Err(refused(
            &server,
            "/api/v1/namespaces/kube-system/configmaps/kubeadm-config?timeout=10s",
        ));
    }
    Ok((server, ca, cluster))
}

fn refused(endpoint: &str, path: &str) -> Failure {
    error::plain(format!(
        "Get \"https://{endpoint}{path}\": dial tcp {endpoint}: connect: connection refused"
    ))
}

fn token_create(model: &Model, record: &mut Record, parsed: &Parsed) -> Result<()> {
    cli::check_config_mixing(parsed, &model.version, "token create")?;
    if parsed.positionals.len() > 1 {
        return Err(error::plain(format!(
            "accepts at most 1 arg(s), received {}",
            parsed.positionals.len()
        )));
    }
    if parsed.bool("dry-run") {
        return Err(error::not_modeled("token create --dry-run"));
    }
    if let Some(path) = parsed.str("config") {
        config::load_init(&read_config(model, path)?, &model.version)?;
    }
    let token = match parsed.positionals.first() {
        Some(t) if !validate::is_token(t) => {
            return Err(error::plain(format!(
                "the bootstrap token {t:?} was not of the form \"^([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})$\""
            )))
        }
        Some(t) => t.clone(),
        None => crypto::new_token(),
    };
    let key = parsed.str("certificate-key").unwrap_or("");
    if !key.is_empty() && !parsed.bool("print-join-command") {
        return Err(error::plain(
            "cannot use --certificate-key without --print-join-command",
        ));
    }
    let w = Writer { model, record };
    let kubeconfig = parsed
        .str("kubeconfig")
        .unwrap_or("/etc/kubernetes/admin.conf");
    let (server, ca, cluster) = reach_cluster_with_ca(&w, kubeconfig)?;
    cluster.add_line("tokens", &token)?;
    if parsed.bool("print-join-command") {
        let hash = openssl(model)
            .ca_hash(&ca, &files::scratch())
            .map_err(error::plain)?;
        let line = join_command(&server, &token, &hash, (!key.is_empty()).then_some(key));
        println!("{}", line.replace("\\\n", "").replace('\t', ""));
    } else {
        println!("{token}");
    }
    let _ = std::fs::remove_dir_all(files::scratch());
    Ok(())
}

// ---------------------------------------------------------------------------
// join.

/// Token discovery against the cluster directory: the endpoint must be one
/// the API server answers on, the token one of its tokens, the CA pinned.
/// Returns the cluster-info kubeconfig's (server, CA).
fn discover(model: &Model, cfg: &JoinCfg) -> Result<(String, String, Cluster)> {
    let wrap = |m: String| {
        error::plain(format!(
            "couldn't validate the identity of the API Server: {m}"
        ))
    };
    if !cfg.discovery_file.is_empty() {
        return Err(error::not_modeled("file discovery"));
    }
    if model.probe_endpoint {
        let addr = &cfg.endpoint;
        let reachable = std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|a| {
                std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(5)).is_ok()
            });
        if !reachable {
            return Err(wrap(format!(
                "failed to request the cluster-info ConfigMap: Get \"https://{addr}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp {addr}: connect: connection refused"
            )));
        }
    }
    let cluster = Cluster::new(&model.cluster);
    let info = cluster
        .read("cluster-info")
        .filter(|_| cluster.answers_on(&cfg.endpoint));
    let Some(info) = info else {
        return Err(wrap(format!(
            "failed to request the cluster-info ConfigMap: Get \"https://{}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp {}: connect: connection refused",
            cfg.endpoint, cfg.endpoint
        )));
    };
    let token_id = cfg.token.split('.').next().unwrap_or_default();
    let tokens = cluster.lines("tokens");
    if !tokens
        .iter()
        .any(|t| t.starts_with(&format!("{token_id}.")))
    {
        return Err(wrap(format!(
            "could not find a JWS signature in the cluster-info ConfigMap for token ID {token_id:?}"
        )));
    }
    if !tokens.contains(&cfg.token) {
        return Err(wrap("failed to verify JWS signature of received cluster info object, can't trust this API Server".into()));
    }
    let (server, ca) = files::kubeconfig_server_and_ca(&info).ok_or_else(|| {
        wrap("couldn't parse the kubeconfig file in the cluster-info ConfigMap".into())
    })?;
    if !cfg.hashes.is_empty() {
        for h in &cfg.hashes {
            let (format, value) = h.split_once(':').unwrap_or(("", h));
            if h.split(':').count() != 2 {
                return Err(wrap("invalid discovery token CA certificate hash: invalid hash, expected \"format:hex-value\". Known format(s) are: sha256".to_string()));
            }
            if !format.eq_ignore_ascii_case("sha256") {
                return Err(wrap(format!(
                    "invalid discovery token CA certificate hash: unknown hash format {format:?}. Known format(s) are: sha256"
                )));
            }
            if value.len() != 64 || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(wrap(format!(
                    "invalid discovery token CA certificate hash: invalid hash {h:?}, expected a 32 byte SHA-256 hash, found {} bytes",
                    value.len() / 2
                )));
            }
        }
        let actual = openssl(model)
            .ca_hash(&ca, &files::scratch())
            .map_err(error::plain)?;
        let pinned = cfg.hashes.iter().any(|h| {
            h.split_once(':').map(|(_, v)| v.to_lowercase())
                == actual.split_once(':').map(|(_, v)| v.to_owned())
        });
        if !pinned {
            return Err(wrap(format!(
                "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys {actual:?} are pinned"
            )));
        }
    }
    Ok((server, ca, cluster))
}

fn join(model: &Model, record: &mut Record, parsed: &Parsed) -> Result<()> {
    cli::check_config_mixing(parsed, &model.version, "join")?;
    if parsed.bool("dry-run") {
        return Err(error::not_modeled("join --dry-run"));
    }
    let doc = match parsed.str("config") {
        Some(path) => Some(config::load_join(
            &read_config(model, path)?,
            &model.version,
        )?),
        None => None,
    };
    let cfg = validate::join_config(model, parsed, doc)?;
    check_skip_phases(model, "join", &cfg.skip_phases)?;
    refuse_unmodeled_skips(&cfg.skip_phases)?;
    let socket = cri_socket(model, &cfg.node.cri_socket)?;
    let node = cfg.node.name.clone();
    let v = &model.version;
    let in_preflight = |f: Failure| error::in_phase("preflight", f);

    if !skips(&cfg.skip_phases, "preflight") {
        println!("[preflight] Running pre-flight checks");
        let mut checks = vec![
            privileged(),
            file_available(model, "/etc/kubernetes/kubelet.conf"),
            file_available(model, "/etc/kubernetes/bootstrap-kubelet.conf"),
        ];
        checks.extend(cri_check(model, &socket));
        checks.push(port_check(10250));
        checks.push(file_available(model, "/etc/kubernetes/pki/ca.crt"));
        run_checks(checks, &cfg.node.ignore_preflight)
            .map_err(|m| in_preflight(error::plain(m)))?;
    }
    let (server, ca, cluster) = discover(model, &cfg).map_err(in_preflight)?;
    println!("[preflight] Reading configuration from the cluster...");
    println!("[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'");
    let cluster_doc = cluster.read("kubeadm-config.yaml").ok_or_else(|| {
        in_preflight(error::plain(
            "unable to fetch the kubeadm-config ConfigMap: configmaps \"kubeadm-config\" not found",
        ))
    })?;
    let docs = config::split(&cluster_doc).map_err(in_preflight)?;
    let cluster_cfg = docs
        .iter()
        .find(|d| d.kind == "ClusterConfiguration")
        .map(validate_cluster_from)
        .ok_or_else(|| {
            in_preflight(error::plain(
                "the kubeadm-config ConfigMap holds no ClusterConfiguration",
            ))
        })?;
    let c = &cluster_cfg;
    let mut w = Writer { model, record };

    if let Some((advertise, bind_port, key)) = &cfg.control_plane {
        if !skips(&cfg.skip_phases, "preflight") {
            println!("[preflight] Running pre-flight checks before initializing the new control plane instance");
            run_checks(
                control_plane_checks(model, c, *bind_port),
                &cfg.node.ignore_preflight,
            )
            .map_err(|m| in_preflight(error::plain(m)))?;
            pull_notice(model);
            run_pull_images_check(
                w.model,
                w.record,
                &images(model, c),
                &socket,
                &cfg.node.ignore_preflight,
            )
            .map_err(|m| in_preflight(error::plain(m)))?;
        }
        let prepare = |name: &'static str| {
            move |f: Failure| error::in_phase(&format!("control-plane-prepare/{name}"), f)
        };
        // download-certs
        if key.is_empty() {
            for name in SHARED_CERTS {
                let p = format!("{}/{name}", c.certificates_dir);
                if !w.exists(&p) {
                    return Err(error::in_phase(
                        "control-plane-prepare/certs",
                        error::plain(format!("couldn't load the certificate file {p}: open {p}: no such file or directory")),
                    ));
                }
            }
        } else {
            println!("[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace");
            let stored = cluster
                .read("certificate-key.sha256")
                .map(|s| s.trim().to_owned());
            let Some(stored) = stored else {
                return Err(prepare("download-certs")(error::plain(
                    "error downloading certs: error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one",
                )));
            };
            if stored != crypto::hex(&crypto::sha256(key.as_bytes())) {
                return Err(prepare("download-certs")(error::plain(
                    "error downloading certs: error decoding secret data with provided key: cipher: message authentication failed",
                )));
            }
            for name in SHARED_CERTS {
                if let Some(text) = cluster.read(&format!("kubeadm-certs/{name}")) {
                    let mode = if name.ends_with(".crt") { 0o644 } else { 0o600 };
                    w.write(
                        &format!("{}/{name}", c.certificates_dir),
                        &text,
                        mode,
                        0o755,
                    )
                    .map_err(prepare("download-certs"))?;
                }
            }
        }
        let pki = Pki {
            openssl: openssl(model),
            cert_dir: &c.certificates_dir,
        };
        println!(
            "[certs] Using certificateDir folder {:?}",
            c.certificates_dir
        );
        node_certs(&mut w, &pki, model, c, &node, advertise).map_err(prepare("certs"))?;
        println!(
            "[certs] Valid certificates and keys now exist in {:?}",
            c.certificates_dir
        );
        println!("[certs] Using the existing \"sa\" key");
        println!("[kubeconfig] Generating kubeconfig files");
        println!("[kubeconfig] Using kubeconfig folder \"/etc/kubernetes\"");
        let endpoint = server.clone();
        let local = local_endpoint(advertise, *bind_port);
        let name = &c.cluster_name;
        client_kubeconfig(
            &mut w,
            &pki,
            "admin.conf",
            &endpoint,
            name,
            "kubernetes-admin",
            Some(v.admin_group()),
        )
        .map_err(prepare("kubeconfig"))?;
        client_kubeconfig(
            &mut w,
            &pki,
            "controller-manager.conf",
            &local,
            name,
            "system:kube-controller-manager",
            None,
        )
        .map_err(prepare("kubeconfig"))?;
        client_kubeconfig(
            &mut w,
            &pki,
            "scheduler.conf",
            &local,
            name,
            "system:kube-scheduler",
            None,
        )
        .map_err(prepare("kubeconfig"))?;
        let cp = ControlPlane {
            cluster: c,
            advertise,
            bind_port: *bind_port,
        };
        println!("[control-plane] Using manifest folder \"/etc/kubernetes/manifests\"");
        println!("[control-plane] Creating static Pod manifest for \"kube-apiserver\"");
        w.write(
            "/etc/kubernetes/manifests/kube-apiserver.yaml",
            &files::apiserver_manifest(&cp),
            0o600,
            0o700,
        )
        .map_err(prepare("control-plane"))?;
        println!("[control-plane] Creating static Pod manifest for \"kube-controller-manager\"");
        w.write(
            "/etc/kubernetes/manifests/kube-controller-manager.yaml",
            &files::controller_manager_manifest(&cp),
            0o600,
            0o700,
        )
        .map_err(prepare("control-plane"))?;
        println!("[control-plane] Creating static Pod manifest for \"kube-scheduler\"");
        w.write(
            "/etc/kubernetes/manifests/kube-scheduler.yaml",
            &files::scheduler_manifest(&cp),
            0o600,
            0o700,
        )
        .map_err(prepare("control-plane"))?;
        if c.etcd_local {
            println!("[check-etcd] Checking that the etcd cluster is healthy");
        }
    }

    // kubelet-start: the CA from cluster-info, the kubelet's files, the
    // bootstrap kubeconfig, then what the kubelet's TLS bootstrap leaves.
    let kubelet_start = |f: Failure| error::in_phase("kubelet-start", f);
    let ca_path = if cfg.ca_cert_path.is_empty() {
        format!("{}/ca.crt", c.certificates_dir)
    } else {
        cfg.ca_cert_path.clone()
    };
    w.write(&ca_path, &ca, 0o644, 0o755)
        .map_err(kubelet_start)?;
    let kubelet_config = cluster.read("kubelet-config.yaml").unwrap_or_default();
    kubelet_files(&mut w, model, c, &cfg.node, &socket, &kubelet_config).map_err(kubelet_start)?;
    let bootstrap = files::kubeconfig(
        &server,
        &c.cluster_name,
        "tls-bootstrap-token-user",
        &ca,
        None,
        None,
    )
    .replace(
        "users: null\n",
        &format!(
            "users:\n- name: tls-bootstrap-token-user\n  user:\n    token: {}\n",
            cfg.tls_token
        ),
    );
    w.write(
        "/etc/kubernetes/bootstrap-kubelet.conf",
        &bootstrap,
        0o600,
        0o755,
    )
    .map_err(kubelet_start)?;
    println!("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...");
    kubelet_bootstrapped(
        &mut w,
        model,
        &cluster,
        &server,
        ("default-cluster", "default-auth"),
        &node,
    )
    .map_err(kubelet_start)?;
    w.remove("/etc/kubernetes/bootstrap-kubelet.conf");

    match &cfg.control_plane {
        None => {
            cluster.add_line("nodes", &format!("{node} worker"))?;
            print!("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.\n\n");
        }
        Some((advertise, bind_port, _)) => {
            let join_phase = |f: Failure| error::in_phase("control-plane-join/etcd", f);
            if c.etcd_local {
                let me = format!("{node}=https://{advertise}:2380");
                let mut members: Vec<String> = cluster
                    .lines("etcd-members")
                    .into_iter()
                    .filter(|m| !m.starts_with(&format!("{node}=")))
                    .collect();
                members.push(me.clone());
                println!("[etcd] Announced new etcd member joining to the existing etcd cluster");
                println!("[etcd] Creating static Pod manifest for \"etcd\"");
                w.mkdir(&c.etcd_data_dir, 0o700).map_err(join_phase)?;
                let m = files::etcd_manifest(c, &node, advertise, &members, true, v.etcd());
                w.write("/etc/kubernetes/manifests/etcd.yaml", &m, 0o600, 0o700)
                    .map_err(join_phase)?;
                println!("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s");
                etcd_ran(&mut w, &c.etcd_data_dir, &node).map_err(join_phase)?;
                cluster.add_line("etcd-members", &me).map_err(join_phase)?;
            }
            cluster.add_line("endpoints", &local_endpoint(advertise, *bind_port))?;
            cluster.add_line("nodes", &format!("{node} control-plane"))?;
            println!("[mark-control-plane] Marking the node {node} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]");
            println!("[mark-control-plane] Marking the node {node} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]");
            print!("\nThis node has joined the cluster and a new control plane instance was created:\n\n* Certificate signing request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control plane instances scaled up.\n* A new etcd member was added to the local/stacked etcd cluster.\n\nTo start administering your cluster from this node, you need to run the following as a regular user:\n\n\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nRun 'kubectl get nodes' to see this node join the cluster.\n\n");
        }
    }
    let _ = std::fs::remove_dir_all(files::scratch());
    Ok(())
}

/// The ClusterConfiguration stored by init, as the joining node reads it.
fn validate_cluster_from(doc: &config::Doc) -> ClusterCfg {
    validate::cluster_from_doc(doc)
}

// ---------------------------------------------------------------------------
// reset.

fn reset(model: &Model, record: &mut Record, parsed: &Parsed) -> Result<()> {
    cli::check_config_mixing(parsed, &model.version, "reset")?;
    if parsed.bool("dry-run") {
        return Err(error::not_modeled("reset --dry-run"));
    }
    let mut force = parsed.bool("force");
    let mut cert_dir = parsed
        .str("cert-dir")
        .unwrap_or("/etc/kubernetes/pki")
        .to_owned();
    let mut skip = parsed.list("skip-phases");
    let mut ignore = parsed.list("ignore-preflight-errors");
    if let Some(path) = parsed.str("config") {
        let doc = config::load_reset(&read_config(model, path)?, &model.version)?;
        force = force || doc.bool("force");
        if let Some(d) = doc.str("certificatesDir") {
            cert_dir = d;
        }
        skip.extend(doc.strings("skipPhases"));
        ignore.extend(doc.strings("ignorePreflightErrors"));
    }
    let known = ["preflight", "remove-etcd-member", "cleanup-node"];
    if let Some(bad) = skip.iter().find(|s| !known.contains(&s.as_str())) {
        return Err(error::plain(format!("invalid phase name: {bad}")));
    }
    let mut w = Writer { model, record };
    let kubeconfig = parsed
        .str("kubeconfig")
        .unwrap_or("/etc/kubernetes/admin.conf");
    // newResetData: the cluster's ClusterConfiguration, if the API answers.
    let mut cfg: Option<ClusterCfg> = None;
    if w.exists(kubeconfig) {
        println!("[reset] Reading configuration from the cluster...");
        println!("[reset] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'");
        match reach_cluster(&w, kubeconfig) {
            Ok(cluster) => {
                cfg = cluster
                    .read("kubeadm-config.yaml")
                    .and_then(|t| config::split(&t).ok())
                    .and_then(|docs| docs.into_iter().find(|d| d.kind == "ClusterConfiguration"))
                    .map(|d| validate::cluster_from_doc(&d));
            }
            Err(Failure::Kubeadm { message, .. }) => error::klog_warning(
                "reset.go:124",
                &format!("[reset] Unable to fetch the kubeadm-config ConfigMap from cluster: failed to get config map: {message}"),
            ),
            Err(other) => return Err(other),
        }
    }
    if !skip.iter().any(|s| s == "preflight") {
        if !force {
            error::klog_warning("preflight.go:56", "[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.");
            use std::io::{BufRead, Write};
            print!("[reset] Are you sure you want to proceed? [y/N]: ");
            let _ = std::io::stdout().flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            let answer = answer.trim_end_matches(['\n', '\r']).to_lowercase();
            if answer != "y" && answer != "yes" {
                return Err(error::in_phase(
                    "preflight",
                    error::plain(
                        "won't proceed; the user didn't answer (Y|y) in order to continue",
                    ),
                ));
            }
        }
        println!("[preflight] Running pre-flight checks");
        run_checks(vec![privileged()], &ignore)
            .map_err(|m| error::in_phase("preflight", error::plain(m)))?;
    }
    if !skip.iter().any(|s| s == "remove-etcd-member") {
        let manifest = "/etc/kubernetes/manifests/etcd.yaml";
        let data_dir = match &cfg {
            Some(c) if c.etcd_local => Some(c.etcd_data_dir.clone()),
            Some(_) => None,
            None => {
                error::klog_warning(
                    "removeetcdmember.go:107",
                    "[reset] No kubeadm config, using etcd pod spec to get data directory",
                );
                match w.read(manifest) {
                    Ok(text) => etcd_data_dir_of(&text),
                    Err(_) => Some("/var/lib/etcd".into()),
                }
            }
        };
        match data_dir {
            Some(dir) => {
                if cfg.is_some() {
                    // The member this node runs: etcd.yaml's --name.
                    let node = w
                        .read(manifest)
                        .ok()
                        .and_then(|m| etcd_member_name(&m))
                        .unwrap_or_else(|| model.hostname());
                    let cluster = Cluster::new(&model.cluster);
                    let _ = cluster
                        .remove_lines("etcd-members", |m| !m.starts_with(&format!("{node}=")));
                    let _ = w.clean_dir(&dir);
                    println!("[reset] Deleted contents of the etcd data directory: {dir}");
                } else if !is_empty_dir(model, &dir) && w.clean_dir(&dir).is_ok() {
                    println!("[reset] Deleted contents of the etcd data directory: {dir}");
                }
            }
            None => {
                println!("[reset] No etcd config found. Assuming external etcd");
                println!("[reset] Please, manually reset etcd to prevent further issues");
            }
        }
    }
    if !skip.iter().any(|s| s == "cleanup-node") {
        println!("[reset] Stopping the kubelet service");
        error::klog_warning("cleanupnode.go:80", "[reset] The kubelet service could not be stopped by kubeadm: [exit status 1] (kubeadm-model: no init system)");
        println!("[reset] Unmounting mounted directories in \"/var/lib/kubelet\"");
        let dirs = [
            "/etc/kubernetes/manifests".to_owned(),
            "/var/lib/kubelet".into(),
            cert_dir.clone(),
        ];
        println!(
            "[reset] Deleting contents of directories: [{}]",
            dirs.join(" ")
        );
        for d in &dirs {
            if let Err(e) = w.clean_dir(d) {
                error::klog_warning(
                    "cleanupnode.go:160",
                    &format!("[reset] Failed to delete contents of {d:?} directory: {e}"),
                );
            }
        }
        let mut files = vec!["/etc/kubernetes/admin.conf".to_owned()];
        if model.version.has_super_admin() {
            files.push("/etc/kubernetes/super-admin.conf".into());
        }
        files.extend(
            [
                "kubelet.conf",
                "bootstrap-kubelet.conf",
                "controller-manager.conf",
                "scheduler.conf",
            ]
            .iter()
            .map(|f| format!("/etc/kubernetes/{f}")),
        );
        println!("[reset] Deleting files: [{}]", files.join(" "));
        for f in &files {
            w.remove(f);
        }
    }
    print!("\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n\nThe reset process does not reset or clean up iptables rules or IPVS tables.\nIf you wish to reset iptables, you must do so manually by using the \"iptables\" command.\n\nIf your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)\nto reset your system's IPVS tables.\n\nThe reset process does not clean your kubeconfig files and you must remove them manually.\nPlease, check the contents of the $HOME/.kube/config file.\n");
    Ok(())
}

fn is_empty_dir(model: &Model, dir: &str) -> bool {
    std::fs::read_dir(model.host(dir))
        .map(|mut e| e.next().is_none())
        .unwrap_or(true)
}

fn etcd_member_name(manifest: &str) -> Option<String> {
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("- --name="))
        .map(str::to_owned)
}

/// The etcd-data volume's hostPath in an etcd static pod manifest.
fn etcd_data_dir_of(manifest: &str) -> Option<String> {
    let pod: serde_yaml::Value = serde_yaml::from_str(manifest).ok()?;
    pod["spec"]["volumes"]
        .as_sequence()?
        .iter()
        .find(|v| v["name"].as_str() == Some("etcd-data"))
        .and_then(|v| v["hostPath"]["path"].as_str())
        .map(str::to_owned)
}
