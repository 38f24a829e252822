//! The units under a real systemd: a Debian bookworm container booted with
//! systemd-nspawn, the package layout installed by packaging/install.sh, the
//! u7s-admin user lingering, stand-ins for crio and kubelet. `systemctl start
//! u7s.service` must bring up rootlesskit (child: `u7s crio`) and kubelet in
//! u7s-admin's user manager, nsenter_u7s must work, and `systemctl stop
//! u7s.service` must leave nothing behind; then it starts again.
//!
//! Skips locally (with the reason) without root, debootstrap, systemd-nspawn
//! or /dev/net/tun; fails under CI=true.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use support::nspawn::{self, chown_tree, write_file, Container};
use support::{prerequisite, text};

const BIN: &str = "/usr/libexec/podsec/u7s/bin";
const HOME: &str = nspawn::ADMIN_HOME;

/// Stand-in kubelet: records its arguments and the configuration it was
/// given, then waits for SIGTERM.
const KUBELET: &str = r#"#!/bin/sh
set -eu
{ echo "args: $*"; echo "uid: $(id -u)"; } > "$HOME/kubelet-standin.record"
cp /var/lib/kubelet/config.yaml "$HOME/kubelet-standin.config.yaml"
exec python3 -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(3600)
' u7s-kubelet-standin
"#;

fn env_file(uid: u32) -> String {
    u7s::settings::envfile::fixture::text_with(&[
        ("U7S_UID", &uid.to_string()),
        ("U7S_EXTIP", "192.0.2.2"),
        ("U7S_APISERVER_ADVERTISE_ADDRESS", "192.0.2.2"),
        ("U7S_EXTDEV", "host0"),
        ("U7S_CONTROLPLANE", ""),
        ("U7S_APISERVERENDPOINT", "192.0.2.10:6443"),
    ])
}

/// Installs the package layout and the test's user, stand-ins and settings
/// into the container root. Returns u7s-admin's uid.
fn prepare(root: &Path) -> u32 {
    nspawn::install_u7s(root, KUBELET);
    let ids = nspawn::add_admin(root);
    let home = root.join(HOME.trim_start_matches('/'));
    write_file(&home, ".config/usernetes/env", &env_file(ids.0), 0o600);
    write_file(
        &home,
        ".local/share/usernetes/_var_lib_kubelet/config.yaml",
        nspawn::KUBELET_CONFIG,
        0o644,
    );
    chown_tree(&home, ids);
    ids.0
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

fn wait_until(c: &Container, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        if Instant::now() > deadline {
            let units = c.exec(&[
                "systemctl",
                "--user",
                "-M",
                "u7s-admin@",
                "status",
                "--no-pager",
                "u7s.target",
                "u7s-rootlesskit.service",
                "u7s-kubelet.service",
            ]);
            panic!(
                "timed out after {limit:?} waiting for {what}\n--- user units\n{}{}\n{}",
                text(&units.stdout),
                text(&units.stderr),
                c.diagnostics()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The stack's processes still alive in u7s-admin's user manager.
fn stack_processes(c: &Container, uid: u32) -> Vec<(i32, String, String)> {
    c.processes(&[&format!("user@{uid}.service")])
        .into_iter()
        .filter(|(_, comm, cmd)| {
            comm == "rootlesskit"
                || comm == "slirp4netns"
                || cmd.contains("u7s-crio-standin")
                || cmd.contains("u7s-kubelet-standin")
        })
        .collect()
}

/// Starts u7s.service and waits until the stack is up; returns the child pid.
fn start_and_wait(c: &Container, uid: u32) -> i32 {
    let t = Instant::now();
    ok(
        &c.exec(&["systemctl", "start", "u7s.service"]),
        "systemctl start u7s.service",
        c,
    );
    // /run is the container's own tmpfs: read it from inside.
    let ready = format!("/run/user/{uid}/usernetes/rootlesskit/_child_pid.u7s-ready");
    let mut pid = None;
    wait_until(c, "the readiness file", Duration::from_secs(60), || {
        pid = text(&c.exec(&["cat", &ready]).stdout)
            .trim()
            .parse::<i32>()
            .ok();
        pid.is_some()
    });
    wait_until(
        c,
        "the crio and kubelet stand-ins",
        Duration::from_secs(60),
        || {
            let procs = stack_processes(c, uid);
            procs
                .iter()
                .any(|(_, _, cmd)| cmd.contains("u7s-crio-standin"))
                && procs
                    .iter()
                    .any(|(_, _, cmd)| cmd.contains("u7s-kubelet-standin"))
        },
    );
    eprintln!(
        "nspawn: u7s.service up in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    pid.unwrap()
}

#[test]
fn mirror_is_read_from_deb822_sources() {
    let sources = "\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
";
    assert_eq!(
        nspawn::mirror_from_sources(sources).as_deref(),
        Some("http://mirror.example/debian")
    );
    assert_eq!(
        nspawn::mirror_from_sources("Suites: bookworm-security\nURIs: x\n"),
        None
    );
}

#[test]
fn u7s_service_runs_the_stack_in_the_user_manager_of_a_real_systemd() {
    if !prerequisite(nspawn::problem()) {
        return;
    }
    let t = Instant::now();
    let base = match nspawn::rootfs() {
        Ok(base) => base,
        Err(e) => {
            prerequisite(Some(format!(
                "cannot build the Debian root file system: {e}"
            )));
            return;
        }
    };
    eprintln!(
        "nspawn: root file system ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut uid = 0;
    let c = Container::boot("u7s-units", &base, |root| uid = prepare(root));
    eprintln!(
        "nspawn: booted in {:.2} s (systemd started after {:.2} s)",
        c.boot_time.as_secs_f64(),
        c.pid1_time.as_secs_f64()
    );
    let child = start_and_wait(&c, uid);

    // The process tree: rootlesskit with slirp4netns and the crio stand-in
    // under u7s-rootlesskit.service, kubelet under u7s-kubelet.service, in the
    // user manager of u7s-admin.
    let user = format!("user@{uid}.service");
    let rk = c.processes(&[&user, "u7s-rootlesskit.service"]);
    assert!(
        rk.iter().any(|(_, comm, _)| comm == "rootlesskit"),
        "{rk:?}"
    );
    assert!(
        rk.iter().any(|(_, comm, _)| comm == "slirp4netns"),
        "{rk:?}"
    );
    assert!(
        rk.iter()
            .any(|(_, _, cmd)| cmd.contains("u7s-crio-standin")),
        "{rk:?}"
    );
    let kl = c.processes(&[&user, "u7s-kubelet.service"]);
    assert!(
        kl.iter()
            .any(|(_, _, cmd)| cmd.contains("u7s-kubelet-standin")),
        "{kl:?}"
    );

    // crio got our configuration and the rootless environment, as uid 0 inside.
    let home = c.root.join(HOME.trim_start_matches('/'));
    let record = std::fs::read_to_string(home.join("crio-standin.record")).unwrap();
    assert!(
        record.contains(&format!(
            "args: --config {HOME}/.config/usernetes/crio/crio.conf"
        )),
        "{record}"
    );
    assert!(record.contains("uid: 0"), "{record}");
    assert!(record.contains("_CRIO_ROOTLESS=1"), "{record}");
    let conf = std::fs::read_to_string(home.join("crio-standin.conf")).unwrap();
    assert!(
        conf.contains(&format!(
            "listen = \"/run/user/{uid}/usernetes/crio/crio.sock\""
        )),
        "{conf}"
    );
    assert!(conf.contains("cgroup_manager = \"cgroupfs\""), "{conf}");

    // kubelet ran inside with the flags and the merged configuration.
    let record = std::fs::read_to_string(home.join("kubelet-standin.record")).unwrap();
    assert!(record.contains("uid: 0"), "{record}");
    assert!(
        record.contains(&format!(
            "--container-runtime-endpoint=unix:///run/user/{uid}/usernetes/crio/crio.sock"
        )),
        "{record}"
    );
    assert!(
        record.contains("--config /var/lib/kubelet/config.yaml"),
        "{record}"
    );
    let config = std::fs::read_to_string(home.join("kubelet-standin.config.yaml")).unwrap();
    assert!(config.contains("cgroupDriver: cgroupfs"), "{config}");
    assert!(config.contains("KubeletInUserNamespace: true"), "{config}");
    assert!(
        config.contains("staticPodPath: /etc/kubernetes/manifests"),
        "{config}"
    );

    // nsenter_u7s as u7s-admin, through its user manager: uid 0 inside, in the
    // network namespace with tap0, and the command's exit status comes back.
    let nsenter = format!("{BIN}/nsenter_u7s");
    let out = c.as_user(
        "u7s-admin",
        &[
            &nsenter,
            "sh",
            "-c",
            "id -u; ip -o -4 addr show dev tap0; exit 7",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "{} {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().next(), Some("0"), "{stdout}");
    assert!(stdout.contains("192.0.2.2/32"), "{stdout}");
    // And as root in the container.
    let out = c.exec(&[&nsenter, "id", "-u"]);
    ok(&out, "nsenter_u7s id -u as root", &c);
    assert_eq!(text(&out.stdout), "0\n");

    // Stop: nothing of the stack is left.
    let t = Instant::now();
    ok(
        &c.exec(&["systemctl", "stop", "u7s.service"]),
        "systemctl stop u7s.service",
        &c,
    );
    wait_until(&c, "the stack to be gone", Duration::from_secs(10), || {
        stack_processes(&c, uid).is_empty()
    });
    eprintln!(
        "nspawn: u7s.service stopped in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let out = c.exec(&[
        "systemctl",
        "--user",
        "-M",
        "u7s-admin@",
        "is-active",
        "u7s.target",
    ]);
    assert_eq!(text(&out.stdout).trim(), "inactive");

    // And it starts again, with a new rootlesskit child.
    let again = start_and_wait(&c, uid);
    assert_ne!(again, child, "the readiness file is from the first run");
    let out = c.as_user("u7s-admin", &[&nsenter, "true"]);
    ok(&out, "nsenter_u7s after a restart", &c);
    ok(
        &c.exec(&["systemctl", "stop", "u7s.service"]),
        "second stop",
        &c,
    );
    wait_until(
        &c,
        "the stack to be gone again",
        Duration::from_secs(10),
        || stack_processes(&c, uid).is_empty(),
    );
}
