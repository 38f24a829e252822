//! `u7s doctor` and `systemctl status u7s` under a real systemd (Debian
//! bookworm booted with systemd-nspawn, see tests/support/nspawn.rs): the
//! real rootlesskit, slirp4netns and kubectl, and stand-ins for CRI-O and
//! kubelet (the kubelet stand-in also answers kubelet's /healthz and, on
//! 0.0.0.0:6443 inside the namespaces, the few API paths doctor asks, as the
//! API server would through rootlesskit's forward).
//!
//! On the healthy stack doctor exits 0, as root and as u7s-admin; then each
//! piece is broken in turn (a port not forwarded, a stale child_pid, CRI-O's
//! socket missing, a failing user unit, rootlesskit stopped) and doctor exits
//! 1 with the line that names it. u7s.service shows the user units' state and
//! fails when rootlesskit stops. The journal command doctor suggests finds a
//! user unit's log; the commands the old hints gave do not.
//!
//! Skips locally (with the reason) without root, debootstrap, systemd-nspawn,
//! /dev/net/tun or kubectl; fails under CI=true.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use support::nspawn::{self, chown_tree, write_file, Container};
use support::standin_api::Certs;
use support::{prerequisite, text};

const BIN: &str = "/usr/libexec/podsec/u7s/bin";
const HOME: &str = nspawn::ADMIN_HOME;

/// Stand-in kubelet: fails on purpose while ~/kubelet-fail exists; else
/// answers kubelet's /healthz on 127.0.0.1:10248 and, in the API server's
/// place, a Ready node and the control-plane pods on 0.0.0.0:6443, over TLS
/// with the serving certificate in ~/standin-tls (root's kubectl and doctor
/// take only an https:// server from a kubeconfig, as kubeadm writes it).
const KUBELET: &str = r#"#!/bin/sh
set -eu
if [ -e "$HOME/kubelet-fail" ]; then
    echo "kubelet-standin: failing on purpose"
    exit 1
fi
exec python3 -c '
import signal, socket, ssl, sys, threading
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
NODE = "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"
POD = "{\"metadata\":{\"name\":\"%s-node\"},\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"ready\":true}]}}"
PODS = "{\"kind\":\"PodList\",\"items\":[" + ",".join(POD % p for p in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy-x1"]) + "]}"
def serve(addr, answer, tls=None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr)
    s.listen(16)
    while True:
        c = s.accept()[0]
        try:
            if tls:
                c.settimeout(10)
                c = tls.wrap_socket(c, server_side=True)
            words = c.recv(65536).decode(errors="replace").split(" ")
            status, body = answer(words[1].split("?")[0] if len(words) > 1 else "/")
            head = "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (status, len(body))
            c.sendall(head.encode() + body.encode())
        except OSError:
            pass
        finally:
            c.close()
def healthz(path):
    return ("200 OK", "ok") if path == "/healthz" else ("404 Not Found", "")
def api(path):
    if path.startswith("/api/v1/nodes/"):
        return ("200 OK", NODE % path.rsplit("/", 1)[1])
    if path == "/api/v1/namespaces/kube-system/pods":
        return ("200 OK", PODS)
    return ("404 Not Found", "{\"kind\":\"Status\",\"code\":404}")
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(sys.argv[1] + "/server.crt", sys.argv[1] + "/server.key")
threading.Thread(target=serve, args=(("0.0.0.0", 6443), api, tls), daemon=True).start()
serve(("127.0.0.1", 10248), healthz)
' "$HOME/standin-tls" u7s-kubelet-standin
"#;

fn env_file(uid: u32) -> String {
    u7s::settings::envfile::fixture::text_with(&[
        ("U7S_KUBEVERSION", "v1.30.4"),
        ("U7S_UID", &uid.to_string()),
        ("U7S_EXTIP", "192.0.2.2"),
        ("U7S_APISERVER_ADVERTISE_ADDRESS", "192.0.2.2"),
        ("U7S_EXTDEV", "host0"),
        ("U7S_APISERVERENDPOINT", "192.0.2.2:6443"),
    ])
}

/// The host's kubectl (static), resolved through its symlinks.
fn host_kubectl() -> Option<PathBuf> {
    std::fs::canonicalize("/usr/bin/kubectl").ok()
}

/// The package layout, the user, the stand-ins, both env files, root's
/// kubeconfig and a CA certificate. Returns u7s-admin's uid.
fn prepare(root: &Path) -> u32 {
    nspawn::install_u7s(root, KUBELET);
    let ids = nspawn::add_admin(root);
    let kubectl = host_kubectl().unwrap();
    std::fs::copy(&kubectl, root.join("usr/bin/kubectl")).unwrap();
    write_file(root, "/etc/podsec/u7s/config/env", &env_file(ids.0), 0o600);
    // A cluster CA, the API server's certificate for 127.0.0.1 and the
    // admin's client certificate, and the kubeconfig kubeadm would write.
    let certs = Certs::make(&root.with_file_name("certs"));
    let pem = |name: &str| std::fs::read_to_string(certs.dir.join(name)).unwrap();
    write_file(root, "/etc/kubernetes/pki/ca.crt", &pem("ca.crt"), 0o644);
    let kubeconfig = certs.kubeconfig("https://127.0.0.1:6443");
    write_file(root, "/root/.kube/config", &kubeconfig, 0o600);
    write_file(root, "/etc/kubernetes/admin.conf", &kubeconfig, 0o600);
    let home = root.join(HOME.trim_start_matches('/'));
    write_file(&home, "standin-tls/server.crt", &pem("server.crt"), 0o600);
    write_file(&home, "standin-tls/server.key", &pem("server.key"), 0o600);
    write_file(&home, ".config/usernetes/env", &env_file(ids.0), 0o600);
    write_file(&home, ".kube/config", &kubeconfig, 0o600);
    write_file(
        &home,
        ".local/share/usernetes/_var_lib_kubelet/config.yaml",
        nspawn::KUBELET_CONFIG,
        0o644,
    );
    chown_tree(&home, ids);
    ids.0
}

fn wait_until(c: &Container, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        if Instant::now() > deadline {
            panic!(
                "timed out after {limit:?} waiting for {what}\n{}",
                c.diagnostics()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (20 s) until `journalctl` (`argv`) shows `line`. journald reads a
/// service's output stream apart from systemd's messages about the unit:
/// under load the unit was "failed", its restarts logged, before its own
/// last words were in the journal (seen twice on a busy two-core machine).
fn journal_shows(c: &Container, argv: &[&str], line: &str) {
    wait_until(
        c,
        &format!("{line:?} from {argv:?}"),
        Duration::from_secs(20),
        || text(&c.exec(argv).stdout).contains(line),
    );
}

fn ok(out: &Output, what: &str, c: &Container) {
    assert!(
        out.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr),
        c.diagnostics()
    );
}

/// This host's cgroup v2 has no controllers to delegate (a hybrid host keeps
/// them on v1): the one check a real stack cannot pass here.
fn v2_controllers_missing() -> bool {
    [
        "/sys/fs/cgroup/cgroup.controllers",
        "/sys/fs/cgroup/unified/cgroup.controllers",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .map(|c| !c.split_whitespace().any(|w| w == "memory"))
    .unwrap_or(true)
}

struct Doctor {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Doctor {
    fn line(&self, prefix: &str) -> Option<&str> {
        self.stdout.lines().find(|l| l.starts_with(prefix))
    }

    fn explain(&self) -> String {
        format!("exit {:?}\n{}{}", self.code, self.stdout, self.stderr)
    }
}

/// `u7s doctor ARGS` as root (or as u7s-admin through its user manager).
fn doctor(c: &Container, as_admin: bool, args: &[&str], ignore: &[&str]) -> Doctor {
    let u7s = format!("{BIN}/u7s");
    let ignore = format!("--ignore-errors={}", ignore.join(","));
    let mut all = vec![u7s.as_str(), "doctor"];
    all.extend_from_slice(args);
    if !ignore.ends_with('=') {
        all.push(&ignore);
    }
    let out = if as_admin {
        c.as_user("u7s-admin", &all)
    } else {
        c.exec(&all)
    };
    Doctor {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// Doctor exits 1 and prints `[ERROR name] ...` containing `needle`.
fn broken(c: &Container, name: &str, needle: &str, ignore: &[&str]) -> Doctor {
    let d = doctor(c, false, &[], ignore);
    assert_eq!(d.code, Some(1), "{name}: {}", d.explain());
    let line = d
        .line(&format!("[ERROR {name}] "))
        .unwrap_or_else(|| panic!("no [ERROR {name}] line: {}", d.explain()));
    assert!(line.contains(needle), "{name}: {line:?} lacks {needle:?}");
    d
}

fn read_in(c: &Container, path: &str) -> String {
    text(&c.exec(&["cat", path]).stdout)
}

/// Starts u7s.service and waits until doctor's forwards and probes can pass.
fn start(c: &Container, uid: u32) -> i32 {
    ok(
        &c.exec(&["systemctl", "start", "u7s.service"]),
        "systemctl start u7s",
        c,
    );
    let ready = format!("/run/user/{uid}/usernetes/rootlesskit/_child_pid.u7s-ready");
    let mut pid = 0;
    wait_until(c, "the readiness file", Duration::from_secs(60), || {
        pid = read_in(c, &ready).trim().parse().unwrap_or(0);
        pid > 0
    });
    wait_until(c, "kubelet's stand-in", Duration::from_secs(60), || {
        c.processes(&[&format!("user@{uid}.service"), "u7s-kubelet.service"])
            .iter()
            .any(|(_, _, cmd)| cmd.contains("u7s-kubelet-standin"))
    });
    pid
}

#[test]
fn doctor_names_each_broken_piece_and_u7s_service_fails_with_the_stack() {
    if !prerequisite(nspawn::problem()) {
        return;
    }
    if !prerequisite(
        host_kubectl()
            .is_none()
            .then(|| "/usr/bin/kubectl is missing (apt-get install kubernetes-client)".to_owned()),
    ) {
        return;
    }
    let base = match nspawn::rootfs() {
        Ok(base) => base,
        Err(e) => {
            prerequisite(Some(format!(
                "cannot build the Debian root file system: {e}"
            )));
            return;
        }
    };
    let mut uid = 0;
    let c = Container::boot("u7s-doctor", &base, |root| uid = prepare(root));
    let child = start(&c, uid);
    // The one check this host cannot pass, when its cgroup v2 has no controllers.
    let accepted: &[&str] = if v2_controllers_missing() {
        &["CgroupDelegation"]
    } else {
        &[]
    };

    // Healthy: root and u7s-admin, text and JSON.
    let mut healthy = doctor(&c, false, &[], accepted);
    let deadline = Instant::now() + Duration::from_secs(30);
    while healthy.code != Some(0) && Instant::now() < deadline {
        // kubelet's stand-in and the forwards come up in their own time.
        std::thread::sleep(Duration::from_millis(500));
        healthy = doctor(&c, false, &[], accepted);
    }
    assert_eq!(healthy.code, Some(0), "{}", healthy.explain());
    for name in [
        "Service",
        "UserManager",
        "Linger",
        "NewUidMap",
        "NewGidMap",
        "RootlessKitUnit",
        "KubeletUnit",
        "RootlessKit",
        "Slirp4netns",
        "CrioSocket",
        "KubeletHealth",
        "Ports",
        "Node",
        "Pods",
        "Certificates",
    ] {
        assert!(
            healthy.line(&format!("[OK] {name}: ")).is_some(),
            "{name} is not OK: {}",
            healthy.explain()
        );
    }
    assert!(
        healthy.stdout.contains("6443/tcp") && healthy.stdout.contains("6053/udp"),
        "{}",
        healthy.stdout
    );
    assert!(
        healthy
            .stdout
            .contains(&format!("rootlesskit child {child} is ready")),
        "{}",
        healthy.stdout
    );
    let admin = doctor(&c, true, &[], accepted);
    assert_eq!(admin.code, Some(0), "as u7s-admin: {}", admin.explain());
    let json = doctor(&c, false, &["--output", "json"], accepted);
    assert_eq!(json.code, Some(0), "{}", json.explain());
    assert!(
        json.stdout.starts_with("{\"healthy\":true,\"checks\":["),
        "{}",
        json.stdout
    );
    assert!(
        json.stdout
            .contains("{\"name\":\"Ports\",\"status\":\"ok\""),
        "{}",
        json.stdout
    );

    // systemctl status u7s: running, with the user units' state.
    let status = c.exec(&["systemctl", "status", "--no-pager", "u7s.service"]);
    let status = text(&status.stdout);
    assert!(status.contains("Active: active (running)"), "{status}");
    assert!(
        status.contains("Status: \"u7s-rootlesskit.service: active (running); u7s-kubelet.service: active (running)\""),
        "{status}"
    );

    let nsenter = format!("{BIN}/nsenter_u7s");
    let rootlessctl = format!("/run/user/{uid}/usernetes/rootlesskit/api.sock");

    // A port not forwarded: rootlessctl removes the API server's forward.
    let list = c.as_user(
        "u7s-admin",
        &[
            "/usr/bin/rootlessctl",
            "--socket",
            &rootlessctl,
            "list-ports",
        ],
    );
    ok(&list, "rootlessctl list-ports", &c);
    let id = text(&list.stdout)
        .lines()
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 4 && f[1] == "tcp" && f[3] == "6443"
        })
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| panic!("no 6443 forward: {}", text(&list.stdout)));
    ok(
        &c.as_user(
            "u7s-admin",
            &[
                "/usr/bin/rootlessctl",
                "--socket",
                &rootlessctl,
                "remove-ports",
                &id,
            ],
        ),
        "remove-ports",
        &c,
    );
    let d = broken(&c, "Ports", "6443/tcp", accepted);
    assert!(
        !d.line("[ERROR Ports]").unwrap().contains("10250"),
        "{}",
        d.stdout
    );
    ok(
        &c.as_user(
            "u7s-admin",
            &[
                "/usr/bin/rootlessctl",
                "--socket",
                &rootlessctl,
                "add-ports",
                "0.0.0.0:6443:6443/tcp",
            ],
        ),
        "add-ports",
        &c,
    );
    assert_eq!(doctor(&c, false, &[], accepted).code, Some(0));

    // A stale child_pid: both state files name a process that is gone.
    let state = format!("/run/user/{uid}/usernetes/rootlesskit");
    let gone = "4194000";
    let write = |pid: &str| {
        ok(
            &c.as_user(
                "u7s-admin",
                &["sh", "-c", &format!(
                    "cd {state} && rm -f child_pid _child_pid.u7s-ready && echo {pid} > child_pid && echo {pid} > _child_pid.u7s-ready"
                )],
            ),
            "write the state files",
            &c,
        )
    };
    write(gone);
    broken(
        &c,
        "RootlessKit",
        &format!("{gone} is not running"),
        accepted,
    );
    write(&child.to_string());
    assert_eq!(doctor(&c, false, &[], accepted).code, Some(0));

    // A failing user unit: kubelet exits 1 and systemd keeps restarting it.
    ok(
        &c.as_user("u7s-admin", &["touch", &format!("{HOME}/kubelet-fail")]),
        "touch kubelet-fail",
        &c,
    );
    ok(
        &c.exec(&[
            "systemctl",
            "--user",
            "-M",
            "u7s-admin@",
            "restart",
            "u7s-kubelet.service",
        ]),
        "restart kubelet",
        &c,
    );
    let mut d = doctor(&c, false, &[], accepted);
    wait_until(&c, "kubelet to fail", Duration::from_secs(20), || {
        d = doctor(&c, false, &[], accepted);
        d.line("[ERROR KubeletUnit] ")
            .is_some_and(|l| l.contains("auto-restart"))
    });
    assert_eq!(d.code, Some(1), "{}", d.explain());
    let line = d.line("[ERROR KubeletUnit] ").unwrap();
    // The journal command in the hint finds kubelet's own output and its manager's words.
    let cmd = line
        .split("its log: ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no journal command in {line:?}"));
    let argv: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(argv[0], "journalctl", "{cmd}");
    let mut full = argv.clone();
    full.extend(["--no-pager", "-q"]);
    journal_shows(&c, &full, "kubelet-standin: failing on purpose");
    journal_shows(&c, &full, "u7s-kubelet.service: Main process exited");
    // Every term is pinned to u7s-admin's uid: a line another local user
    // sends with the unit's fields (anyone may set USER_UNIT and
    // OBJECT_SYSTEMD_USER_UNIT) does not pass for the unit's. The same line
    // from u7s-admin does, so the forgery is not missed for another reason.
    let forge = |who: &str, message: &str| {
        let script = format!(
            "printf 'MESSAGE={message}\\nUSER_UNIT=u7s-kubelet.service\\nOBJECT_SYSTEMD_USER_UNIT=u7s-kubelet.service\\n' | setpriv --reuid={who} --regid={who} --clear-groups logger --journald"
        );
        ok(&c.sh(&script), "logger --journald", &c);
    };
    forge(&uid.to_string(), "from-u7s-admin-itself");
    journal_shows(&c, &full, "from-u7s-admin-itself");
    forge("65534", "forged-by-nobody");
    journal_shows(
        &c,
        &["journalctl", "_UID=65534", "--no-pager", "-q"],
        "forged-by-nobody",
    );
    let shown = text(&c.exec(&full).stdout);
    assert!(!shown.contains("forged-by-nobody"), "{shown}");
    // What the old hints said finds nothing for root (systemd 252).
    let old = c.exec(&[
        "journalctl",
        "--user",
        "-M",
        "u7s-admin@",
        "-u",
        "u7s-kubelet.service",
        "--no-pager",
        "-q",
    ]);
    assert!(
        !text(&old.stdout).contains("failing on purpose"),
        "{}",
        text(&old.stdout)
    );
    let user_unit = c.exec(&[
        "journalctl",
        "--user-unit",
        "u7s-kubelet.service",
        "--no-pager",
        "-q",
    ]);
    assert!(!text(&user_unit.stdout).contains("failing on purpose"));
    // u7s.service shows the restarts but keeps running: kubelet restarts
    // until kubeadm has written its configuration, and that is no failure.
    let status = text(
        &c.exec(&["systemctl", "status", "--no-pager", "u7s.service"])
            .stdout,
    );
    assert!(status.contains("Active: active (running)"), "{status}");
    wait_until(
        &c,
        "the restarts in u7s.service's status",
        Duration::from_secs(15),
        || {
            text(
                &c.exec(&["systemctl", "show", "-p", "StatusText", "u7s.service"])
                    .stdout,
            )
            .contains("u7s-kubelet.service: activating (auto-restart)")
        },
    );
    ok(
        &c.as_user("u7s-admin", &["rm", &format!("{HOME}/kubelet-fail")]),
        "rm kubelet-fail",
        &c,
    );

    // CRI-O's socket missing (removed inside, where crio made it).
    let sock = format!("/run/user/{uid}/usernetes/crio/crio.sock");
    ok(
        &c.as_user("u7s-admin", &[&nsenter, "rm", &sock]),
        "rm crio.sock",
        &c,
    );
    broken(&c, "CrioSocket", "crio.sock", accepted);

    // rootlesskit stopped: doctor names it, and u7s.service fails.
    ok(
        &c.exec(&[
            "systemctl",
            "--user",
            "-M",
            "u7s-admin@",
            "stop",
            "u7s-rootlesskit.service",
        ]),
        "stop rootlesskit",
        &c,
    );
    // (rootlesskit ends a stop with a non-zero status: "failed", else "inactive")
    let d = broken(
        &c,
        "RootlessKitUnit",
        "u7s-rootlesskit.service is ",
        accepted,
    );
    assert!(d.line("[ERROR RootlessKit] ").is_some(), "{}", d.stdout);
    // A u7s applet of a user unit that exits on an error at once (as
    // `u7s kubelet` does without rootlesskit) names its unit in its last
    // words, and the journal command doctor prints finds them by it.
    let probe = c.exec(&[
        "systemd-run",
        "-M",
        "u7s-admin@",
        "--user",
        "--unit=u7s-probe.service",
        "--wait",
        "--quiet",
        "--",
        "/usr/libexec/podsec/u7s/bin/nsenter_u7s",
        "true",
    ]);
    assert!(!probe.status.success(), "{}", text(&probe.stderr));
    journal_shows(
        &c,
        &[
            "journalctl",
            &format!("_UID={uid}"),
            "OBJECT_SYSTEMD_USER_UNIT=u7s-probe.service",
            "--no-pager",
            "-q",
        ],
        "is not running",
    );
    wait_until(&c, "u7s.service to fail", Duration::from_secs(20), || {
        text(&c.exec(&["systemctl", "is-failed", "u7s.service"]).stdout).trim() == "failed"
    });
    let status = text(
        &c.exec(&["systemctl", "status", "--no-pager", "u7s.service"])
            .stdout,
    );
    assert!(status.contains("Active: failed"), "{status}");
    journal_shows(
        &c,
        &["journalctl", "-u", "u7s.service", "--no-pager", "-q"],
        "the rootless stack is down: u7s-rootlesskit.service",
    );
    // The last words name their unit themselves: journalctl -u finds them
    // even when journald no longer sees the exited process's cgroup.
    journal_shows(
        &c,
        &[
            "journalctl",
            "_UID=0",
            "OBJECT_SYSTEMD_UNIT=u7s.service",
            "--no-pager",
            "-q",
        ],
        "the rootless stack is down: u7s-rootlesskit.service",
    );
    let d = broken(&c, "Service", "u7s.service is failed", accepted);
    assert!(d
        .line("[ERROR Service] ")
        .unwrap()
        .contains("systemctl start u7s.service"));

    // And u7s.service brings the whole stack back; a stop is clean (no failure).
    let again = start(&c, uid);
    assert_ne!(again, child);
    let mut d = doctor(&c, false, &[], accepted);
    wait_until(&c, "a healthy stack again", Duration::from_secs(30), || {
        d = doctor(&c, false, &[], accepted);
        d.code == Some(0)
    });
    ok(
        &c.exec(&["systemctl", "stop", "u7s.service"]),
        "systemctl stop u7s",
        &c,
    );
    let state = text(
        &c.exec(&[
            "systemctl",
            "show",
            "-p",
            "ActiveState,Result",
            "u7s.service",
        ])
        .stdout,
    );
    assert!(
        state.contains("ActiveState=inactive") && state.contains("Result=success"),
        "{state}"
    );
    let target = c.exec(&[
        "systemctl",
        "--user",
        "-M",
        "u7s-admin@",
        "is-active",
        "u7s.target",
    ]);
    assert_eq!(text(&target.stdout).trim(), "inactive");
}
