//! `kubeadm init`, `kubeadm join` and `kubeadm reset` for real: as root, on a
//! host tree (`U7S_ROOT`), with the real rootlesskit, slirp4netns, nsenter and
//! u7s-admin of this machine, the kubeadm model (testbin/kubeadm_model) of
//! each tested release in place of kubeadm, and recording stand-ins for
//! kubelet, crio, crun, conmon, systemctl and kubectl.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use support::flowhost::{FlowHost, RECORDER};
use support::kubeadm_model::{self, VERSIONS};
use support::*;

/// The flows share the real rootlesskit and u7s-admin's files: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The release the single-version tests run with.
const NEWEST: &str = "v1.31.2";

/// A flow host (support::flowhost) with the kubeadm model of one release.
struct Host(FlowHost);

impl std::ops::Deref for Host {
    type Target = FlowHost;
    fn deref(&self) -> &FlowHost {
        &self.0
    }
}

fn host(tag: &str, version: &str) -> Host {
    // Someone else's subordinate range already there: u7s-admin's goes after it.
    Host(FlowHost::of_release(tag, version, "alice:100000:65536\n"))
}

impl Host {
    fn kubeadm(&self, args: &[&str]) -> Output {
        run(&mut self.0.kubeadm(args))
    }

    fn record(&self, tool: &str) -> String {
        std::fs::read_to_string(self.records.join(tool)).unwrap_or_default()
    }

    fn read(&self, abs: &str) -> String {
        std::fs::read_to_string(self.path(abs)).unwrap_or_else(|e| panic!("{abs}: {e}"))
    }

    /// The kubeadm calls that ran inside the namespaces, each asserted to
    /// have run as uid 0 in the rootlesskit child's net namespace.
    fn inside_calls(&self) -> Vec<kubeadm_model::Call> {
        let child_net = ns_of(&rootlesskit().child_pid().to_string(), "net");
        let calls = self.model.work_calls();
        for c in &calls {
            assert_eq!((c.uid, c.net.as_str()), (0, child_net.as_str()), "{c:?}");
        }
        calls
    }
}

/// N of the `[1/N] Checking the host` progress line: how many steps the
/// plan has (the plan decides, not the test).
fn step_total(stderr: &str) -> usize {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("[1/")?.split_once("] Checking the host"))
        .filter_map(|(n, _)| n.parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no progress line: {stderr}"))
}

/// skopeo was asked for the tag list of each of kubeadm's and flannel's
/// repositories, and crictl pulled flannel's two images, through CRI-O's
/// socket inside.
fn assert_registry_asked_and_cni_pulled(h: &Host) {
    let repo = "registry.altlinux.org/k8s-p10";
    let child_net = ns_of(&rootlesskit().child_pid().to_string(), "net");
    let inside = |tool: &str| -> Vec<String> {
        h.model
            .calls_of(tool)
            .into_iter()
            .map(|c| {
                assert_eq!(
                    (c.uid, c.net.as_str(), c.exit),
                    (0, child_net.as_str(), Some(0)),
                    "{c:?}"
                );
                c.args.join(" ")
            })
            .collect()
    };
    let asked = inside("skopeo");
    for name in [
        "kube-apiserver",
        "etcd",
        "coredns",
        "pause",
        "flannel",
        "flannel-cni-plugin",
    ] {
        let call = format!("list-tags docker://{repo}/{name}");
        assert!(asked.contains(&call), "{call}: {asked:?}");
    }
    let pulled = inside("crictl");
    assert_eq!(
        pulled,
        [
            format!("--runtime-endpoint unix:///run/crio/crio.sock pull {repo}/flannel-cni-plugin:v1.7.1-flannel1"),
            format!("--runtime-endpoint unix:///run/crio/crio.sock pull {repo}/flannel:v0.26.7"),
        ]
    );
}

/// The audit edit, on the manifest kubeadm wrote, as podsec's reference
/// makes it: policy and log in the host's /etc/kubernetes/audit (u7s-admin's,
/// for the apiserver writes the log), 500 MB, 3 old files.
fn assert_audited(h: &Host) {
    let apiserver = h.read("/etc/kubernetes/manifests/kube-apiserver.yaml");
    for line in [
        "- --audit-policy-file=/etc/kubernetes/audit/policy.yaml\n",
        "- --audit-log-path=/etc/kubernetes/audit/audit.log\n",
        "- --audit-log-maxsize=500\n",
        "- --audit-log-maxbackup=3\n",
        "mountPath: /etc/kubernetes/audit\n",
        "path: /etc/kubernetes/audit\n",
        // kubeadm's own flags stay.
        "- --etcd-servers=https://127.0.0.1:2379\n",
    ] {
        assert!(apiserver.contains(line), "{line}: {apiserver}");
    }
    assert_eq!(
        mode_owner(&h.path("/etc/kubernetes/audit")),
        (0o755, admin().uid)
    );
    assert_eq!(
        mode_owner(&h.path("/etc/kubernetes/audit/policy.yaml")),
        (0o644, admin().uid)
    );
    // The identity admin.conf gives (its certificate's organisation:
    // system:masters before 1.29, kubeadm:cluster-admins from 1.29) is
    // audited in full.
    let group = admin_conf_group(h);
    let policy = h.read("/etc/kubernetes/audit/policy.yaml");
    let full = policy
        .split("- level: ")
        .find(|rule| rule.starts_with("RequestResponse"))
        .unwrap_or_else(|| panic!("no RequestResponse rule: {policy}"));
    assert!(
        full.contains("userGroups:") && full.contains(&format!("\"{group}\"")),
        "admin.conf's group {group} is not audited in full: {policy}"
    );
}

/// The organisation (O) of admin.conf's client certificate, read with
/// openssl.
fn admin_conf_group(h: &Host) -> String {
    let conf = h.read("/etc/kubernetes/admin.conf");
    let data = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-certificate-data: "))
        .unwrap_or_else(|| panic!("no client certificate: {conf}"));
    let dir = h.stubs.root.join("admin-cert");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.b64"), data).unwrap();
    let decoded = run(Command::new("openssl")
        .args(["base64", "-d", "-A", "-in"])
        .arg(dir.join("cert.b64"))
        .arg("-out")
        .arg(dir.join("cert.pem")));
    assert!(decoded.status.success(), "{decoded:?}");
    let subject = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(dir.join("cert.pem")));
    let subject = text(&subject.stdout);
    subject
        .trim()
        .trim_start_matches("subject=")
        .split(',')
        .find_map(|part| part.strip_prefix("O="))
        .unwrap_or_else(|| panic!("no O in {subject:?}"))
        .to_owned()
}

fn mode_owner(path: &Path) -> (u32, u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
    (m.permissions().mode() & 0o7777, m.uid())
}

/// No file anywhere in the tree that holds `secret` is readable by others;
/// returns the files that hold it.
fn secrets_are_private(root: &Path, secret: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, secret: &str, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(&path, secret, found);
            } else if meta.is_file() {
                let text = std::fs::read(&path).unwrap_or_default();
                if String::from_utf8_lossy(&text).contains(secret) {
                    assert_eq!(
                        meta.permissions().mode() & 0o077,
                        0,
                        "{} holds a secret and is readable by others",
                        path.display()
                    );
                    found.push(path);
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(root, secret, &mut found);
    found
}

#[test]
fn kubeadm_init_prepares_the_host_runs_kubeadm_inside_and_finishes() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (version, api) in VERSIONS {
        init_on_a_fresh_host(version, api);
    }
}

/// A registry without the release's tag stops init at the pull, before
/// anything is pulled or kubeadm init runs, with one line naming the image,
/// the tags the registry has and the fix (issue #10: the reference checks
/// the registry's tag list before pulling).
#[test]
fn a_tag_missing_from_the_registry_stops_init_before_any_pull() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = host("missing-tag", NEWEST);
    let stock = kubeadm_model::stock_registry(NEWEST);
    let without: String = stock
        .lines()
        .filter(|l| !l.starts_with("*/kube-apiserver "))
        .map(|l| format!("{l}\n"))
        .collect();
    h.model.set_registry(&format!(
        "{without}*/kube-apiserver v1.30.5 v1.31.1 v1.31.3\n"
    ));
    let out = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("the registry has no registry.altlinux.org/k8s-p10/kube-apiserver:v1.31.2; its tags: v1.31.1, v1.31.3 (of 3); set U7S_KUBEVERSION to a version it has, or U7S_REGISTRY/U7S_PLATFORM"),
        "{err}"
    );
    let calls = h.inside_calls();
    assert_eq!(calls.len(), 1, "only the image list ran: {calls:?}");
    assert!(
        calls[0].starts_with(&["config", "images", "list"]),
        "{calls:?}"
    );
    assert!(h.model.calls_of("crictl").is_empty(), "nothing pulled");

    // The same in Russian.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_u7s"));
    cmd.args(["kubeadm", "init", "--ignore-preflight-errors=Port"]);
    h.configure(&mut cmd, rootlesskit());
    cmd.env("LC_ALL", "ru_RU.UTF-8");
    let out = run(&mut cmd);
    let err = text(&out.stderr);
    assert!(
        err.contains("в регистраторе нет registry.altlinux.org/k8s-p10/kube-apiserver:v1.31.2; есть теги: v1.31.1, v1.31.3 (из 3)"),
        "{err}"
    );

    // With ImagePull ignored, as kubeadm's own flag: a warning, and init goes on.
    let out = h.kubeadm(&["init", "--ignore-preflight-errors=Port,ImagePull"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("[WARNING ImagePull]: the registry has no registry.altlinux.org/k8s-p10/kube-apiserver:v1.31.2"),
        "{err}"
    );
    let calls = h.inside_calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with(&["config", "images", "pull"])),
        "the pull was still tried: {calls:?}"
    );
    assert!(calls.iter().any(|c| c.starts_with(&["init"])), "{calls:?}");
}

fn init_on_a_fresh_host(version: &str, api: &str) {
    let h = host(&format!("init-{api}"), version);
    let out = h.kubeadm(&["init", "--ignore-preflight-errors=Port", "-v", "1"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{version}: init failed:\n{err}");
    // kubeadm's closing block reached stdout, and only kubeadm's bytes did.
    let stdout = text(&out.stdout);
    let secrets = kubeadm_model::join_secrets(&stdout);
    assert_eq!(secrets.endpoint, "10.10.0.5:6443", "{stdout}");
    assert!(
        secrets.certificate_key.is_some(),
        "--upload-certs: {stdout}"
    );
    assert!(
        stdout.contains(&format!("\n[init] Using Kubernetes version: {version}\n")),
        "{stdout}"
    );
    assert!(!stdout.contains("[1/"), "progress belongs on stderr");
    let total = step_total(&err);
    assert!(
        err.contains(&format!("[{total}/{total}] Restarting u7s.service")),
        "{err}"
    );

    let a = admin();
    for (path, mode, uid) in [
        ("/etc/podsec/u7s/config/env", 0o600, 0),
        ("/var/lib/u7s-admin/.config/usernetes/env", 0o600, a.uid),
        (
            "/var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml",
            0o600,
            a.uid,
        ),
        ("/etc/sysctl.d/90-u7s-ipforward.conf", 0o644, 0),
        // Written as u7s-admin, in directories that are its own.
        ("/etc/kubernetes/audit/policy.yaml", 0o644, a.uid),
        ("/etc/kubernetes/manifests/kube-flannel.yml", 0o644, a.uid),
        ("/etc/cni/net.d/99-loopback.conf", 0o644, a.uid),
        ("/etc/cni/net.d/10-flannel.conflist", 0o644, a.uid),
        ("/root/.kube/config", 0o600, 0),
        ("/var/lib/u7s-admin/.kube/config", 0o600, a.uid),
        ("/etc/kubernetes", 0o755, a.uid),
        ("/var/lib/podsec/u7s/etcd", 0o700, a.uid),
        ("/etc/cni/net.d", 0o755, a.uid),
        // What kubeadm wrote, as u7s-admin inside.
        ("/etc/kubernetes/admin.conf", 0o600, a.uid),
        ("/etc/kubernetes/pki/ca.key", 0o600, a.uid),
        ("/etc/kubernetes/pki/ca.crt", 0o644, a.uid),
        (
            "/etc/kubernetes/manifests/kube-apiserver.yaml",
            0o600,
            a.uid,
        ),
        ("/var/lib/kubelet/config.yaml", 0o644, a.uid),
    ] {
        assert_eq!(mode_owner(&h.path(path)), (mode, uid), "{version}: {path}");
    }
    assert_eq!(
        h.path("/etc/kubernetes/super-admin.conf").exists(),
        h.model.minor() >= 29,
        "{version}: super-admin.conf"
    );
    let config = h.read("/var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml");
    assert!(
        config.contains(&format!("apiVersion: kubeadm.k8s.io/{api}\n")),
        "{config}"
    );
    assert!(
        config.contains(&format!("kubernetesVersion: {version}\n")),
        "{config}"
    );
    let env = h.read("/etc/podsec/u7s/config/env");
    assert!(
        env.contains(&format!("U7S_KUBEVERSION='{version}'")),
        "{env}"
    );
    assert_eq!(h.read("/proc/sys/net/ipv4/ip_forward"), "1\n");
    assert!(h.read("/etc/subuid").contains("u7s-admin:165536:65536"));
    assert_eq!(h.read("/etc/podsec/u7s/config/state"), "done init\n");
    // Rebuilt from admin.conf through the whitelist, never a copy of it.
    let admin_conf = h.read("/etc/kubernetes/admin.conf");
    assert_eq!(
        h.read("/root/.kube/config"),
        u7s::kubeconfig::rebuild(&admin_conf).unwrap()
    );
    assert_audited(&h);

    // kubeadm ran inside the namespaces (uid 0, the child's netns): first
    // the image list for the registry check, the image pull, then init with
    // the generated config.
    let calls = h.inside_calls();
    let config_path = "/var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml";
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(
        calls[0].args,
        ["config", "images", "list", "--config", config_path]
    );
    assert!(
        calls[1].starts_with(&["config", "images", "pull"]),
        "{calls:?}"
    );
    assert_eq!(calls[1].exit, Some(0), "{calls:?}");
    let pause = if h.model.minor() >= 31 { "3.10" } else { "3.9" };
    assert!(
        calls[1]
            .pulled()
            .contains(&format!("registry.altlinux.org/k8s-p10/pause:{pause}")),
        "{calls:?}"
    );
    assert_eq!(
        calls[2].args,
        [
            "init",
            "--config",
            config_path,
            "--ignore-preflight-errors=Port",
            "--v=1",
            "--upload-certs"
        ]
    );
    assert_eq!(calls[2].exit, Some(0));
    // The registry was asked for every image's tags, then the CNI images
    // were pulled into CRI-O.
    assert_registry_asked_and_cni_pulled(&h);
    let systemctl = h.record("systemctl");
    for line in [
        "--user -M u7s-admin@ start u7s.target",
        "enable --now u7s.service",
        "restart u7s.service",
    ] {
        assert!(systemctl.contains(line), "{line}: {systemctl}");
    }
    assert!(h
        .record("kubectl")
        .contains("apply -f /etc/kubernetes/manifests/kube-flannel.yml"));

    // A second init refuses, names the reason and the way out, changes nothing.
    let before = h.tree.snapshot();
    let again = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("kubeadm reset"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(before, h.tree.snapshot());
}

/// A worker and a second master join a first master (made with the model on
/// another "host") with what its init printed, on both API versions.
#[test]
fn kubeadm_join_as_worker_and_as_control_plane() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (version, api) in VERSIONS {
        for control_plane in [false, true] {
            let tag = format!(
                "join-{}-{api}",
                if control_plane { "master" } else { "worker" }
            );
            let h = host(&tag, version);
            let seed_root = h.stubs.root.join("master0");
            let s = kubeadm_model::seed_cluster(&h.model, &seed_root, "10.10.0.9");
            let key = s.certificate_key.clone().unwrap();
            let mut args = s.join_args();
            args.push("--ignore-preflight-errors=Port");
            if control_plane {
                args.extend(["--control-plane", "--certificate-key", &key]);
            }
            // The worker's join runs again after one killed in kubeadm's
            // TLS bootstrap: its state mark and bootstrap-kubelet.conf,
            // which join's preflight refuses (FileAvailable--etc-kubernetes-
            // bootstrap-kubelet.conf), are this run's to set aside.
            let interrupted = !control_plane && *version == NEWEST;
            if interrupted {
                h.tree
                    .write("etc/podsec/u7s/config/state", "in-progress join\n");
                let k = h.path("/etc/kubernetes");
                std::fs::create_dir_all(&k).unwrap();
                std::fs::write(
                    k.join("bootstrap-kubelet.conf"),
                    "apiVersion: v1\nkind: Config\n",
                )
                .unwrap();
                for p in [k.clone(), k.join("bootstrap-kubelet.conf")] {
                    std::os::unix::fs::chown(&p, Some(admin().uid), Some(admin().gid)).unwrap();
                }
            }
            let out = h.kubeadm(&args);
            assert!(out.status.success(), "{tag}: {}", text(&out.stderr));
            let config = h.read("/var/lib/u7s-admin/.config/usernetes/kubeadm-join.yaml");
            assert!(
                config.contains("apiServerEndpoint: 10.10.0.9:6443"),
                "{config}"
            );
            assert!(
                config.contains(&format!("apiVersion: kubeadm.k8s.io/{api}\n")),
                "{config}"
            );
            assert_eq!(
                config.contains("\ncontrolPlane:\n"),
                control_plane,
                "{tag}: {config}"
            );
            if interrupted {
                let kept = std::fs::read_dir(h.path("/etc/kubernetes"))
                    .unwrap()
                    .filter_map(|e| e.ok())
                    .any(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("bootstrap-kubelet.conf.u7s-backup-")
                    });
                assert!(
                    kept,
                    "{tag}: the interrupted join's file is set aside, not lost"
                );
            }
            // Every kubeadm call inside succeeded; the join one is the last.
            let calls = h.inside_calls();
            assert!(calls.iter().all(|c| c.exit == Some(0)), "{tag}: {calls:?}");
            assert!(calls.last().unwrap().starts_with(&["join"]), "{calls:?}");
            assert!(!calls
                .iter()
                .any(|c| c.pulled().is_empty() && c.starts_with(&["config", "images", "pull"])));
            // Every node runs the CNI DaemonSet: its images are checked and
            // pulled on joins too.
            assert_registry_asked_and_cni_pulled(&h);
            // What kubeadm join wrote: the cluster's CA, the kubelet's files.
            assert_eq!(
                h.read("/etc/kubernetes/pki/ca.crt"),
                std::fs::read_to_string(seed_root.join("etc/kubernetes/pki/ca.crt")).unwrap()
            );
            assert!(h.path("/etc/kubernetes/kubelet.conf").exists());
            assert!(h.path("/var/lib/kubelet/config.yaml").exists());
            assert_eq!(
                h.path("/root/.kube/config").exists(),
                control_plane,
                "{tag}: admin kubeconfig only on masters"
            );
            if control_plane {
                assert_eq!(
                    h.read("/root/.kube/config"),
                    u7s::kubeconfig::rebuild(&h.read("/etc/kubernetes/admin.conf")).unwrap()
                );
                assert!(h.path("/etc/kubernetes/manifests/etcd.yaml").exists());
                assert_audited(&h);
            } else {
                assert!(!h.path("/etc/kubernetes/audit").exists(), "{tag}");
            }
            assert!(
                !h.record("kubectl").contains("apply"),
                "{tag}: the CNI is applied by the first master only"
            );
            let env = h.read("/etc/podsec/u7s/config/env");
            assert!(
                env.contains(&format!(
                    "U7S_CONTROLPLANE='{}'",
                    if control_plane { "master" } else { "" }
                )),
                "{env}"
            );
            // The files u7s wrote the join secrets into keep none of them
            // once kubeadm has used them (files of the model's own, like
            // its call record, may).
            let ours = [
                "/etc/podsec/u7s/config/env",
                "/var/lib/u7s-admin/.config/usernetes/env",
                "/var/lib/u7s-admin/.config/usernetes/kubeadm-join.yaml",
            ];
            let hash = s.hash.trim_start_matches("sha256:");
            for secret in [s.token.as_str(), hash, key.as_str()] {
                let holders = secrets_are_private(&h.tree.root, secret);
                for file in ours {
                    assert!(
                        !h.read(file).contains(secret),
                        "{tag}: {file} still holds a join secret:\n{}",
                        h.read(file)
                    );
                    assert!(!holders.contains(&h.path(file)));
                }
            }
            assert!(h.read(ours[0]).contains("U7S_TOKEN=''\n"));
        }
    }
}

#[test]
fn every_preflight_failure_is_one_line_exit_1_and_changes_nothing() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    type Break = fn(&Host);
    let cases: [(&str, Break, &str); 6] = [
        (
            "tun",
            |h| {
                std::fs::set_permissions(
                    h.path("/dev/net/tun"),
                    std::fs::Permissions::from_mode(0o600),
                )
                .unwrap()
            },
            "chmod 0666 /dev/net/tun",
        ),
        (
            "userns",
            |h| h.tree.write("proc/sys/user/max_user_namespaces", "0\n"),
            "user namespaces are disabled",
        ),
        (
            "cgroup",
            |h| {
                std::fs::remove_file(h.path("/etc/systemd/system/user@.service.d/delegate.conf"))
                    .unwrap()
            },
            "delegate.conf",
        ),
        (
            "linger",
            |h| std::fs::remove_file(h.path("/var/lib/systemd/linger/u7s-admin")).unwrap(),
            "loginctl enable-linger u7s-admin",
        ),
        (
            "etcd",
            |h| std::fs::create_dir_all(h.path("/var/lib/podsec/u7s/etcd/member")).unwrap(),
            "etcd data of an earlier cluster",
        ),
        (
            "tool",
            |h| std::fs::remove_file(h.stubs.root.join("stubs/crio")).unwrap(),
            // The path the admin set (U7S_CRIO), not the default.
            "/stubs/crio; install it",
        ),
    ];
    for (tag, break_it, needle) in cases {
        let h = host(&format!("preflight-{tag}"), NEWEST);
        break_it(&h);
        let before = h.tree.snapshot();
        let out = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
        assert_eq!(out.status.code(), Some(1), "{tag}");
        assert!(out.stdout.is_empty(), "{tag}");
        let err = text(&out.stderr);
        // kubeadm's format: `[ERROR Name]: text`, the name one that
        // --ignore-preflight-errors takes.
        let failures: Vec<&str> = err.lines().filter(|l| l.starts_with("[ERROR ")).collect();
        assert_eq!(failures.len(), 1, "{tag}: exactly one failure line:\n{err}");
        assert!(
            failures[0].contains(needle),
            "{tag}: {needle:?} not in {:?}",
            failures[0]
        );
        let name = failures[0]
            .strip_prefix("[ERROR ")
            .and_then(|l| l.split_once("]: "))
            .map(|(name, _)| name.to_owned())
            .unwrap_or_else(|| panic!("{tag}: not [ERROR Name]: ... {:?}", failures[0]));
        assert!(
            err.contains(&format!("--ignore-preflight-errors={name}")),
            "{tag}: the summary names {name}:\n{err}"
        );
        assert_eq!(before, h.tree.snapshot(), "{tag}: the host changed");
        assert!(h.model.work_calls().is_empty(), "{tag}: kubeadm ran");
        // The name is one --ignore-preflight-errors accepts: the failure
        // becomes `[WARNING Name]: ...` and the preflight passes.
        let ignore = format!("--ignore-preflight-errors=Port,{name}");
        let out = h.kubeadm(&["init", &ignore]);
        let err = text(&out.stderr);
        assert!(
            !err.lines().any(|l| l.starts_with("[ERROR ")),
            "{tag}: still an error with {ignore}:\n{err}"
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("[WARNING {name}]: "))),
            "{tag}: no [WARNING {name}] line:\n{err}"
        );
    }
}

#[test]
fn kubeadm_reset_sets_the_cluster_aside_and_init_works_again() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (version, api) in VERSIONS {
        let h = host(&format!("reset-{api}"), version);
        let out = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
        assert!(out.status.success(), "{version}: {}", text(&out.stderr));
        let admin_conf = h.read("/etc/kubernetes/admin.conf");
        let ca_key = h.read("/etc/kubernetes/pki/ca.key");
        let etcd_db = h.read("/var/lib/podsec/u7s/etcd/member/snap/db");

        // Without -f and without a terminal to ask on: refused, nothing changed.
        let before = h.tree.snapshot();
        let out = h.kubeadm(&["reset"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("run it with -f"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(
            before,
            h.tree.snapshot(),
            "{version}: a refused reset changed the host"
        );

        let out = h.kubeadm(&["reset", "-f", "--cri-socket", "unix:///run/crio/crio.sock"]);
        assert!(
            out.status.success(),
            "{version}: reset: {}",
            text(&out.stderr)
        );
        let calls = h.inside_calls();
        let reset = calls.last().unwrap();
        assert_eq!(
            reset.args,
            ["reset", "-f", "--cri-socket", "unix:///run/crio/crio.sock"],
            "the real reset ran inside with the arguments verbatim"
        );
        assert_eq!(reset.exit, Some(0));
        assert!(h.record("systemctl").contains("disable --now u7s.service"));
        assert!(!h.path("/etc/kubernetes").exists(), "set aside");
        assert!(!h.path("/etc/podsec/u7s/config/state").exists());
        // Nothing lost: the backups hold the cluster's CA key, kubeconfigs
        // and etcd data, which the real reset deletes.
        assert!(
            backups_hold(&h, "admin.conf", &admin_conf),
            "{version}: admin.conf lost"
        );
        assert!(
            backups_hold(&h, "ca.key", &ca_key),
            "{version}: the CA key lost"
        );
        assert!(
            backups_hold(&h, "db", &etcd_db),
            "{version}: etcd's data lost"
        );

        let again = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
        assert!(
            again.status.success(),
            "{version}: init after reset: {}",
            text(&again.stderr)
        );
        assert_eq!(h.read("/etc/podsec/u7s/config/state"), "done init\n");
    }
}

/// The host tree's state after a flow, leaving out the backups (their names
/// carry the time) and keyed by path relative to the tree. Keys,
/// certificates and kubeconfigs are new in every kubeadm run: for them only
/// the mode counts.
fn end_state(h: &Host) -> std::collections::BTreeMap<String, (u32, Vec<u8>)> {
    let random = |p: &str| {
        p.contains("/pki/")
            || p.ends_with(".conf")
            || p.ends_with(".kube/config")
            || p.contains("kubelet-client")
    };
    h.tree
        .snapshot()
        .into_iter()
        .map(|(p, v)| {
            (
                p.strip_prefix(&h.tree.root).unwrap().display().to_string(),
                v,
            )
        })
        .filter(|(p, _)| !p.contains(".u7s-backup-"))
        .map(|(p, (mode, bytes))| {
            let bytes = if random(&p) { Vec::new() } else { bytes };
            (p, (mode, bytes))
        })
        .collect()
}

/// Files of an earlier cluster (made without u7s's state file), which the
/// flow must keep in a backup.
fn seed_earlier_cluster(h: &Host) {
    h.tree
        .write("etc/kubernetes/admin.conf", "EARLIER-ADMIN-CONF\n");
    h.tree.write("etc/kubernetes/pki/ca.crt", "EARLIER-CA\n");
}

/// Whether a backup (`<name>.u7s-backup-*`, or a file named `name` inside a
/// backed-up directory) holds `contents`.
fn backups_hold(h: &Host, name: &str, contents: &str) -> bool {
    fn walk(dir: &Path, name: &str, contents: &str, in_backup: bool) -> bool {
        std::fs::read_dir(dir).unwrap().any(|e| {
            let p = e.unwrap().path();
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            let is_backup = in_backup || file.contains(".u7s-backup-");
            if p.is_dir() && !p.is_symlink() {
                return walk(&p, name, contents, is_backup);
            }
            let named = file == name || file.starts_with(&format!("{name}.u7s-backup-"));
            named && is_backup && std::fs::read_to_string(&p).is_ok_and(|t| t == contents)
        })
    }
    walk(&h.tree.root, name, contents, false)
}

#[test]
fn init_killed_at_each_step_then_rerun_converges_and_loses_nothing() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let reference = host("crash-reference", NEWEST);
    seed_earlier_cluster(&reference);
    let out = reference.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = end_state(&reference);
    let total = step_total(&text(&out.stderr));
    for step in 1..=total {
        let h = host(&format!("crash-{step}"), NEWEST);
        seed_earlier_cluster(&h);
        // Start the flow in its own process group and SIGKILL the whole group
        // as soon as it announces step `step`.
        let rk = rootlesskit();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_u7s"));
        cmd.args(["kubeadm", "init", "--ignore-preflight-errors=Port"]);
        h.configure(&mut cmd, rk);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = spawn(&mut cmd);
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let marker = format!("[{step}/{total}]");
        let mut killed = false;
        for line in std::io::BufRead::lines(stderr) {
            if line.unwrap().starts_with(&marker) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                killed = true;
                break;
            }
        }
        let _ = child.wait();
        assert!(killed, "step {step} was never announced");
        let rerun = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
        assert!(
            rerun.status.success(),
            "rerun after a kill at step {step}: {}",
            text(&rerun.stderr)
        );
        let got = end_state(&h);
        let differs: Vec<&String> = expected
            .keys()
            .chain(got.keys())
            .filter(|k| expected.get(*k) != got.get(*k))
            .collect();
        assert!(
            differs.is_empty(),
            "killed at step {step}: end state differs at {differs:?}"
        );
        assert!(
            backups_hold(&h, "admin.conf", "EARLIER-ADMIN-CONF\n"),
            "step {step}: the earlier admin.conf is lost"
        );
        assert!(
            backups_hold(&h, "ca.crt", "EARLIER-CA\n"),
            "step {step}: the earlier CA is lost"
        );
    }
}

#[test]
fn kubeadm_init_creates_a_missing_u7s_admin_after_the_preflight() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = host("create-admin", NEWEST);
    let a = admin();
    // No u7s-admin and no lingering on this host yet.
    h.tree
        .write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    std::fs::remove_file(h.path("/var/lib/systemd/linger/u7s-admin")).unwrap();
    // Stand-ins that do what shadow's tools and loginctl do, in the tree (the
    // account gets the uid of this machine's real u7s-admin, whose namespaces
    // the test uses).
    h.stubs.script("groupadd", RECORDER);
    h.stubs.script(
        "useradd",
        &format!(
            "#!/bin/sh\necho \"$*\" >> \"$U7S_TEST_RECORDS/useradd\"\necho 'u7s-admin:x:{}:{}:usernet user account:/var/lib/u7s-admin:/bin/sh' >> \"$U7S_ROOT/etc/passwd\"\n",
            a.uid, a.gid
        ),
    );
    h.stubs.script(
        "loginctl",
        "#!/bin/sh\necho \"$*\" >> \"$U7S_TEST_RECORDS/loginctl\"\nmkdir -p \"$U7S_ROOT/var/lib/systemd/linger\" && : > \"$U7S_ROOT/var/lib/systemd/linger/$2\"\n",
    );
    let stub = |name: &str| h.stubs.root.join("stubs").join(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_u7s"));
    cmd.args(["kubeadm", "init", "--ignore-preflight-errors=Port"]);
    h.configure(&mut cmd, rootlesskit());
    cmd.env("U7S_USERADD", stub("useradd"))
        .env("U7S_GROUPADD", stub("groupadd"))
        .env("U7S_LOGINCTL", stub("loginctl"));
    let out = run(&mut cmd);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Preflight and the account first, then the whole plan made again with
    // the account's real uid.
    let created = err.find("] Creating u7s-admin").expect("the account step");
    let remade = err
        .find(&format!("[1/{}] Checking the host", step_total(&err)))
        .expect("the remade plan");
    assert!(created < remade, "{err}");
    assert_eq!(h.record("groupadd"), "-r -f u7s-admin\n");
    assert_eq!(
        h.record("useradd"),
        "-r -M -g u7s-admin -d /var/lib/u7s-admin -s /bin/sh -c usernet user account u7s-admin\n"
    );
    assert_eq!(h.record("loginctl"), "enable-linger u7s-admin\n");
    assert_eq!(mode_owner(&h.path("/var/lib/u7s-admin")), (0o700, a.uid));
    assert!(std::fs::read_to_string(h.path("/etc/subuid"))
        .unwrap()
        .contains("u7s-admin:"));
    assert_eq!(
        std::fs::read_to_string(h.path("/etc/podsec/u7s/config/state")).unwrap(),
        "done init\n"
    );
    let env = std::fs::read_to_string(h.path("/etc/podsec/u7s/config/env")).unwrap();
    assert!(
        env.contains(&format!("U7S_UID='{}'", a.uid)),
        "the real uid, not the placeholder: {env}"
    );
}

/// On a terminal, the admin may answer the etcd-data failure: yes moves the
/// data to a dated backup and goes on, no leaves everything as it was.
#[test]
fn on_a_terminal_earlier_etcd_data_is_moved_aside_only_when_confirmed() {
    if !require_host() {
        return;
    }
    if !prerequisite(
        (!Path::new("/usr/bin/script").exists()).then(|| "util-linux script is missing".into()),
    ) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (answer, confirmed) in [("n\n", false), ("y\n", true)] {
        let h = host(&format!("etcd-confirm-{confirmed}"), NEWEST);
        h.tree
            .write("var/lib/podsec/u7s/etcd/member/snap/db", "EARLIER-ETCD\n");
        let before = h.tree.snapshot();
        // `script` gives the flow a terminal (a pty) and types the answer.
        let mut cmd = Command::new("/usr/bin/script");
        cmd.args(["-qec"])
            .arg(format!(
                "{} kubeadm init --ignore-preflight-errors=Port",
                env!("CARGO_BIN_EXE_u7s")
            ))
            .arg("/dev/null");
        h.configure(&mut cmd, rootlesskit());
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = spawn(&mut cmd);
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), answer.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let shown = text(&out.stdout);
        assert!(
            shown.contains("Move it aside to a dated backup and go on? [y/N]"),
            "{shown}"
        );
        if confirmed {
            // kubeadm found the data dir empty (its preflight refuses any
            // leftover there); the data now is the new cluster's.
            assert!(out.status.success(), "{shown}");
            assert_ne!(
                h.read("/var/lib/podsec/u7s/etcd/member/snap/db"),
                "EARLIER-ETCD\n"
            );
            assert!(
                backups_hold(&h, "db", "EARLIER-ETCD\n"),
                "the etcd data is in a backup"
            );
        } else {
            assert_eq!(out.status.code(), Some(1), "{shown}");
            assert_eq!(before, h.tree.snapshot(), "a no changes nothing");
        }
    }
}
