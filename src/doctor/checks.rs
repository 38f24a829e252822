//! The checks of `u7s doctor`, in the order the stack is built: systemd,
//! the account's manager and its cgroups, newuidmap, the user units,
//! rootlesskit (with the proof that its child is u7s-admin's), slirp4netns,
//! CRI-O and kubelet inside, the forwarded ports, the node and its pods,
//! the certificates. Each gathers its facts and gives one finding.

use std::path::{Path, PathBuf};

use super::report::{Finding, Report};
use super::{inside, listen, saferead, x509};
use crate::exec::{self, Invocation};
use crate::layout::AdminDirs;
use crate::settings::EnvFile;
use crate::stack::service::{KUBELET_UNIT, ROOTLESSKIT_UNIT};
use crate::systemd::{self, Health, UnitState};
use crate::users::AdminUser;

/// Warn when a certificate expires within this many days.
pub const CERT_WARN_DAYS: i64 = 30;

/// Who asks and with which tools.
#[derive(Debug, Clone)]
pub struct Context {
    pub admin: AdminUser,
    pub dirs: AdminDirs,
    /// Root (else u7s-admin itself).
    pub as_root: bool,
    pub systemctl: PathBuf,
    pub kubectl: Option<PathBuf>,
    /// The kubeconfig kubectl gets: root's own, or u7s-admin's.
    pub kubeconfig: PathBuf,
    /// Seconds since the epoch.
    pub now: i64,
}

fn show(ctx: &Context, user: bool, units: &[&str]) -> Result<Vec<UnitState>, String> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    if user {
        args.push("--user".into());
        if ctx.as_root {
            args.push("-M".into());
            args.push(format!("{}@", ctx.admin.name).into());
        }
    }
    args.extend(["show".into(), "-p".into(), systemd::SHOW_PROPERTIES.into()]);
    args.extend(units.iter().map(Into::into));
    match exec::run_captured(&Invocation::new(&ctx.systemctl, args)) {
        Ok(out) if out.status.success() => {
            Ok(systemd::parse_show(&String::from_utf8_lossy(&out.stdout)))
        }
        Ok(out) => Err(crate::error::one_line(&String::from_utf8_lossy(
            &out.stderr,
        ))),
        Err(e) => Err(crate::tr!("cannot-run-err", ctx.systemctl.display(), e)),
    }
}

fn journal(ctx: &Context, unit: &str) -> String {
    systemd::journal_command(ctx.admin.uid.as_raw(), unit)
}

fn unit_finding(name: &'static str, state: &UnitState, fix: String) -> Finding {
    match state.health() {
        Health::Up => Finding::ok(name, crate::tr!("doc-unit-up", state.id, state.describe())),
        Health::Starting => Finding::warn(
            name,
            crate::tr!("doc-unit-starting", state.id, state.describe()),
            fix,
        ),
        Health::Missing => Finding::error(
            name,
            crate::tr!("unit-missing", state.id),
            crate::tr!("doc-fix-install"),
        ),
        _ => Finding::error(
            name,
            crate::tr!("doc-unit-down", state.id, state.describe()),
            fix,
        ),
    }
}

/// Every check, in order.
pub fn run(ctx: &Context) -> Report {
    let mut report = Report::default();
    let uid = ctx.admin.uid.as_raw();
    let user_manager = format!("user@{uid}.service");
    let service = crate::layout::host::SERVICE;
    let service_fix = crate::tr!("doc-fix-service", service, service);

    match show(ctx, false, &[service, &user_manager]) {
        Ok(units) => {
            report.push(unit_finding(
                "Service",
                &systemd::find(&units, service),
                service_fix.clone(),
            ));
            report.push(unit_finding(
                "UserManager",
                &systemd::find(&units, &user_manager),
                crate::tr!("doc-fix-user-manager", ctx.admin.name, user_manager),
            ));
        }
        Err(e) => report.push(Finding::error(
            "Service",
            crate::tr!("doc-systemd-unreachable", e),
            "",
        )),
    }
    report.push(linger(ctx));
    report.push(cgroup_delegation(ctx));
    for (tool, name) in crate::idmap::TOOLS {
        report.push(id_map_tool(ctx, tool, name));
    }
    match show(ctx, true, &[ROOTLESSKIT_UNIT, KUBELET_UNIT]) {
        Ok(units) => {
            for (name, unit) in [
                ("RootlessKitUnit", ROOTLESSKIT_UNIT),
                ("KubeletUnit", KUBELET_UNIT),
            ] {
                let fix = crate::tr!("doc-fix-unit", journal(ctx, unit), service);
                report.push(unit_finding(name, &systemd::find(&units, unit), fix));
            }
        }
        Err(e) => report.push(Finding::error(
            "RootlessKitUnit",
            crate::tr!("doc-user-manager-unreachable", ctx.admin.name, e),
            service_fix.clone(),
        )),
    }
    let child = rootlesskit(ctx, &mut report);
    if let Some(pid) = child {
        report.push(slirp4netns(ctx, pid));
        match inside::probe(pid, &ctx.admin, &ctx.dirs.crio_socket()) {
            Ok(found) => {
                let sock = ctx.dirs.crio_socket();
                report.push(match found.crio {
                    Ok(()) => Finding::ok("CrioSocket", crate::tr!("doc-crio-ok", sock.display())),
                    Err(e) => Finding::error(
                        "CrioSocket",
                        crate::tr!("doc-crio-down", sock.display(), e),
                        crate::tr!("doc-fix-unit", journal(ctx, ROOTLESSKIT_UNIT), service),
                    ),
                });
                report.push(match found.kubelet {
                    Ok(()) => Finding::ok(
                        "KubeletHealth",
                        crate::tr!("doc-kubelet-ok", inside::KUBELET_HEALTHZ),
                    ),
                    Err(e) => Finding::error(
                        "KubeletHealth",
                        crate::tr!("doc-kubelet-down", inside::KUBELET_HEALTHZ, e),
                        crate::tr!("doc-fix-unit", journal(ctx, KUBELET_UNIT), service),
                    ),
                });
            }
            Err(why) => report.push(Finding::error(
                "RootlessKit",
                crate::tr!("doc-refused", why),
                service_fix.clone(),
            )),
        }
    }
    let env = read_env(ctx);
    report.push(ports(ctx, &env));
    let (node, pods) = cluster(ctx, &env);
    report.push(node);
    if let Some(pods) = pods {
        report.push(pods);
    }
    report.push(certificates(ctx));
    report
}

fn linger(ctx: &Context) -> Finding {
    let file = Path::new("/var/lib/systemd/linger").join(&ctx.admin.name);
    if std::fs::symlink_metadata(&file).is_ok() {
        Finding::ok("Linger", crate::tr!("doc-linger-ok", ctx.admin.name))
    } else {
        Finding::error(
            "Linger",
            crate::tr!("doc-linger-off", ctx.admin.name),
            crate::tr!("doc-fix-linger", ctx.admin.name),
        )
    }
}

/// The controllers the delegate drop-in gives user managers, which kubelet
/// needs to limit pods (cpuset and io are optional).
const NEEDED_CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

fn cgroup_delegation(ctx: &Context) -> Finding {
    let uid = ctx.admin.uid.as_raw();
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return Finding::error("CgroupDelegation", crate::tr!("pf-cgroup-v2"), "");
    }
    let file =
        format!("/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service/cgroup.controllers");
    let have = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => {
            return Finding::error(
                "CgroupDelegation",
                crate::tr!("cannot-read-err", file, e),
                crate::tr!(
                    "doc-fix-user-manager",
                    ctx.admin.name,
                    format!("user@{uid}.service")
                ),
            )
        }
    };
    let have: Vec<&str> = have.split_whitespace().collect();
    let missing: Vec<&str> = NEEDED_CONTROLLERS
        .into_iter()
        .filter(|c| !have.contains(c))
        .collect();
    if missing.is_empty() {
        Finding::ok(
            "CgroupDelegation",
            crate::tr!("doc-cgroup-ok", have.join(" ")),
        )
    } else {
        Finding::error(
            "CgroupDelegation",
            crate::tr!(
                "doc-cgroup-missing",
                missing.join(" "),
                format!("user@{uid}.service")
            ),
            crate::tr!("pf-cgroup-delegate"),
        )
    }
}

/// newuidmap/newgidmap: installed, privileged and executable by u7s-admin
/// (`crate::idmap`, the check preflight makes too).
pub fn id_map_tool(ctx: &Context, tool: &str, name: &'static str) -> Finding {
    let path = PathBuf::from("/usr/bin").join(tool);
    let ids = crate::os::Ids {
        uid: ctx.admin.uid.as_raw(),
        gid: ctx.admin.gid.as_raw(),
    };
    let os = crate::os::linux::LinuxOs::from_env();
    match crate::idmap::problem(&os, tool, &path, &ctx.admin.name, ids) {
        None => Finding::ok(
            name,
            crate::tr!("doc-idmap-ok", path.display(), ctx.admin.name),
        ),
        Some(p) => Finding::error(name, p.message, p.fix),
    }
}

/// The readiness of the state dir; the child pid when ready.
fn rootlesskit(ctx: &Context, report: &mut Report) -> Option<nix::unistd::Pid> {
    let dir = ctx.dirs.state_dir();
    // The files must be small regular files of u7s-admin's, read without
    // following a link (ns::state); the proof of the pid comes in `inside`.
    match crate::ns::state::check_owned(&dir, Some(ctx.admin.uid.as_raw())) {
        Ok(pid) => {
            report.push(Finding::ok(
                "RootlessKit",
                crate::tr!("doc-rootlesskit-ok", pid, dir.display()),
            ));
            Some(pid)
        }
        Err(reason) => {
            report.push(Finding::error(
                "RootlessKit",
                crate::tr!("doc-rootlesskit-down", dir.display(), reason),
                crate::tr!(
                    "doc-fix-unit",
                    journal(ctx, ROOTLESSKIT_UNIT),
                    crate::layout::host::SERVICE
                ),
            ));
            None
        }
    }
}

/// A field of `/proc/<pid>/status`.
fn status_field(pid: i32, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
}

fn slirp4netns(ctx: &Context, child: nix::unistd::Pid) -> Finding {
    let parent = status_field(child.as_raw(), "PPid:").and_then(|p| p.parse::<i32>().ok());
    let uid = ctx.admin.uid.as_raw().to_string();
    let found = parent.and_then(|parent| {
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let ok = comm.trim() == "slirp4netns"
                && status_field(pid, "PPid:")?.parse::<i32>().ok()? == parent
                && status_field(pid, "Uid:")?.split_whitespace().next()? == uid;
            ok.then_some(pid)
        })
    });
    match found {
        Some(pid) => Finding::ok("Slirp4netns", crate::tr!("doc-slirp-ok", pid)),
        None => Finding::error(
            "Slirp4netns",
            crate::tr!("doc-slirp-down", parent.unwrap_or(0)),
            crate::tr!(
                "doc-fix-unit",
                journal(ctx, ROOTLESSKIT_UNIT),
                crate::layout::host::SERVICE
            ),
        ),
    }
}

/// The cluster's env file: root reads the host's copy (never following a
/// link), u7s-admin its own.
fn read_env(ctx: &Context) -> Result<EnvFile, String> {
    let path = if ctx.as_root {
        PathBuf::from(crate::layout::host::ENV_FILE)
    } else {
        ctx.dirs.env_file()
    };
    match saferead::read(&path) {
        Ok(Some(text)) => EnvFile::parse_named(&text, &path.display().to_string())
            .map_err(|e| crate::error::one_line(&format!("{e:#}"))),
        Ok(None) => Err(crate::tr!("doc-no-env", path.display())),
        Err(e) => Err(crate::tr!("cannot-read-err", path.display(), e)),
    }
}

fn ports(ctx: &Context, env: &Result<EnvFile, String>) -> Finding {
    let env = match env {
        Ok(env) => env,
        Err(e) => return Finding::error("Ports", e.clone(), crate::tr!("doc-fix-init")),
    };
    let wanted = crate::stack::ports::role_ports(env.control_plane, env.cni, env.bind_port);
    let gone = listen::missing(&wanted, &listen::host_sockets(), ctx.admin.uid.as_raw());
    if gone.is_empty() {
        let list: Vec<String> = wanted
            .iter()
            .map(|s| format!("{}/{}", s.parent_port, s.proto.name()))
            .collect();
        Finding::ok("Ports", crate::tr!("doc-ports-ok", list.join(" ")))
    } else {
        let list: Vec<String> = gone
            .iter()
            .map(|s| format!("{}/{}", s.parent_port, s.proto.name()))
            .collect();
        Finding::error(
            "Ports",
            crate::tr!("doc-ports-missing", list.join(" ")),
            crate::tr!("doc-fix-ports", crate::layout::host::SERVICE),
        )
    }
}

fn kubectl_raw(ctx: &Context, kubectl: &Path, path: &str) -> Result<serde_json::Value, String> {
    let inv = Invocation::new(
        kubectl,
        vec![
            format!("--kubeconfig={}", ctx.kubeconfig.display()).into(),
            "--request-timeout=10s".into(),
            "get".into(),
            "--raw".into(),
            path.into(),
        ],
    );
    let out =
        exec::run_captured(&inv).map_err(|e| crate::tr!("cannot-run-err", kubectl.display(), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(crate::error::one_line(
            &err.chars().take(300).collect::<String>(),
        ));
    }
    if out.stdout.len() > 8 << 20 {
        return Err("answer too large".into());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn node_name() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// The node's Ready condition and, when it answers, its kube-system pods.
fn cluster(ctx: &Context, env: &Result<EnvFile, String>) -> (Finding, Option<Finding>) {
    let Some(kubectl) = &ctx.kubectl else {
        return (
            Finding::warn(
                "Node",
                crate::tr!("doc-no-kubectl"),
                crate::tr!("doc-fix-client", crate::tools::alt_package("kubectl", None)),
            ),
            None,
        );
    };
    // Root's kubectl gets root's kubeconfig only after the check root's
    // `kubectl` makes: only root can have written it, and it runs nothing.
    let exists = if ctx.as_root {
        match crate::rootkube::kubeconfig(&ctx.kubeconfig) {
            Ok(found) => found.is_some(),
            Err(refusal) => {
                return (Finding::error("Node", refusal.to_string(), ""), None);
            }
        }
    } else {
        std::fs::symlink_metadata(&ctx.kubeconfig).is_ok()
    };
    if !exists {
        return (
            Finding::warn(
                "Node",
                crate::tr!("doc-no-kubeconfig", ctx.kubeconfig.display()),
                crate::tr!("doc-fix-kubeconfig"),
            ),
            None,
        );
    }
    let name = node_name();
    let node = match kubectl_raw(ctx, kubectl, &format!("/api/v1/nodes/{name}")) {
        Ok(v) => v,
        Err(e) => {
            return (
                Finding::error(
                    "Node",
                    crate::tr!("doc-api-error", name, e),
                    crate::tr!("doc-fix-api"),
                ),
                None,
            )
        }
    };
    let ready = condition(&node, "Ready");
    let node_finding = if ready.as_deref() == Some("True") {
        Finding::ok("Node", crate::tr!("doc-node-ready", name))
    } else {
        Finding::error(
            "Node",
            crate::tr!(
                "doc-node-not-ready",
                name,
                ready.unwrap_or_else(|| "?".into())
            ),
            crate::tr!("doc-fix-node", journal(ctx, KUBELET_UNIT)),
        )
    };
    let control_plane = env
        .as_ref()
        .map(|e| e.control_plane.is_control_plane())
        .unwrap_or(false);
    let pods = kubectl_raw(
        ctx,
        kubectl,
        &format!("/api/v1/namespaces/kube-system/pods?fieldSelector=spec.nodeName%3D{name}"),
    )
    .map(|list| pods_finding(&list, control_plane))
    .unwrap_or_else(|e| {
        Finding::error(
            "Pods",
            crate::tr!("doc-api-error", name, e),
            crate::tr!("doc-fix-api"),
        )
    });
    (node_finding, Some(pods))
}

fn condition(node: &serde_json::Value, kind: &str) -> Option<String> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

/// The control-plane static pods a master runs.
pub const CONTROL_PLANE_PODS: [&str; 4] = [
    "etcd-",
    "kube-apiserver-",
    "kube-controller-manager-",
    "kube-scheduler-",
];

/// kube-system pods of this node: every one Running with all containers
/// ready, and on a master the four control-plane pods among them.
pub fn pods_finding(list: &serde_json::Value, control_plane: bool) -> Finding {
    let items = list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut names = Vec::new();
    let mut bad = Vec::new();
    for pod in items {
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or("?")
            .chars()
            .filter(|c| !c.is_control())
            .take(253)
            .collect::<String>();
        let phase = pod["status"]["phase"].as_str().unwrap_or("Unknown");
        let ready = match pod["status"]["containerStatuses"].as_array() {
            Some(cs) => !cs.is_empty() && cs.iter().all(|c| c["ready"].as_bool() == Some(true)),
            None => false,
        };
        if phase != "Running" || !ready {
            bad.push(format!("{name} ({phase})"));
        }
        names.push(name);
    }
    let absent: Vec<&str> = if control_plane {
        CONTROL_PLANE_PODS
            .into_iter()
            .filter(|p| !names.iter().any(|n| n.starts_with(p)))
            .map(|p| p.trim_end_matches('-'))
            .collect()
    } else {
        Vec::new()
    };
    if bad.is_empty() && absent.is_empty() {
        Finding::ok("Pods", crate::tr!("doc-pods-ok", names.len()))
    } else {
        let mut what = bad;
        what.extend(absent.iter().map(|a| crate::tr!("doc-pod-absent", a)));
        Finding::error(
            "Pods",
            crate::tr!("doc-pods-bad", what.join(", ")),
            crate::tr!("doc-fix-pods"),
        )
    }
}

/// Certificates under /etc/kubernetes/pki (and etcd/), and the client
/// certificates embedded in the kubeconfigs of /etc/kubernetes.
fn certificates(ctx: &Context) -> Finding {
    let mut expiries: Vec<(String, i64)> = Vec::new();
    for dir in ["/etc/kubernetes/pki", "/etc/kubernetes/pki/etcd"] {
        for name in saferead::list(Path::new(dir)).unwrap_or_default() {
            if !name.ends_with(".crt") {
                continue;
            }
            let path = Path::new(dir).join(&name);
            if let Ok(Some(text)) = saferead::read(&path) {
                for t in x509::not_after_all(&text) {
                    expiries.push((path.display().to_string(), t));
                }
            }
        }
    }
    for name in saferead::list(Path::new("/etc/kubernetes")).unwrap_or_default() {
        if !name.ends_with(".conf") {
            continue;
        }
        let path = Path::new("/etc/kubernetes").join(&name);
        if let Ok(Some(text)) = saferead::read(&path) {
            for t in embedded_certificates(&text) {
                expiries.push((path.display().to_string(), t));
            }
        }
    }
    if expiries.is_empty() {
        return Finding::warn("Certificates", crate::tr!("doc-certs-none"), "");
    }
    expiries.sort_by_key(|(_, t)| *t);
    let (file, first) = &expiries[0];
    let days = (first - ctx.now).div_euclid(86_400);
    if *first <= ctx.now {
        Finding::error(
            "Certificates",
            crate::tr!("doc-cert-expired", file),
            crate::tr!("doc-fix-certs"),
        )
    } else if days < CERT_WARN_DAYS {
        Finding::warn(
            "Certificates",
            crate::tr!("doc-cert-soon", file, days),
            crate::tr!("doc-fix-certs"),
        )
    } else {
        Finding::ok(
            "Certificates",
            crate::tr!("doc-certs-ok", expiries.len(), days, file),
        )
    }
}

/// Expiries of the `client-certificate-data:` values of a kubeconfig.
pub fn embedded_certificates(kubeconfig: &str) -> Vec<i64> {
    kubeconfig
        .lines()
        .filter_map(|l| l.trim().strip_prefix("client-certificate-data:"))
        .filter_map(|v| x509::base64(v.trim().trim_matches('"')))
        .filter_map(|pem| String::from_utf8(pem).ok())
        .flat_map(|pem| x509::not_after_all(&pem))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_on_a_master_need_the_control_plane() {
        let list = serde_json::from_str::<serde_json::Value>(
            r#"{"items":[
            {"metadata":{"name":"etcd-n1"},"status":{"phase":"Running","containerStatuses":[{"ready":true}]}},
            {"metadata":{"name":"kube-apiserver-n1"},"status":{"phase":"Running","containerStatuses":[{"ready":false}]}},
            {"metadata":{"name":"kube-proxy-x"},"status":{"phase":"Pending"}}
            ]}"#,
        )
        .unwrap();
        let f = pods_finding(&list, true);
        assert_eq!(f.level, super::super::Level::Error);
        assert!(
            f.message.contains("kube-apiserver-n1 (Running)"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("kube-proxy-x (Pending)"),
            "{}",
            f.message
        );
        assert!(f.message.contains("kube-scheduler"), "{}", f.message);
        assert!(!f.message.contains("etcd"), "{}", f.message);
        let worker = serde_json::from_str::<serde_json::Value>(
            r#"{"items":[{"metadata":{"name":"kube-proxy-x"},"status":{"phase":"Running","containerStatuses":[{"ready":true}]}}]}"#,
        )
        .unwrap();
        assert_eq!(pods_finding(&worker, false).level, super::super::Level::Ok);
        assert_eq!(
            pods_finding(&worker, true).level,
            super::super::Level::Error
        );
    }

    #[test]
    fn client_certificates_in_a_kubeconfig() {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut b64 = String::new();
        for chunk in x509::tests::CERT.as_bytes().chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    b64.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    b64.push('=');
                }
            }
        }
        let conf = format!("users:\n- name: a\n  user:\n    client-certificate-data: {b64}\n    client-key-data: eA==\n");
        assert_eq!(embedded_certificates(&conf), vec![2_111_494_139]);
        assert!(embedded_certificates("client-certificate-data: !!!\n").is_empty());
    }
}
