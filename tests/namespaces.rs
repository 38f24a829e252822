//! nsenter_u7s, kubectl and rootlessctl against a real rootlesskit running as
//! u7s-admin (Debian's rootlesskit + slirp4netns), from root and from u7s-admin.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const BOTH: [Who; 2] = [Who::Root, Who::Admin];

#[test]
fn inside_the_user_is_uid_0_from_root_and_from_u7s_admin() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    for who in BOTH {
        let out = run(rk.cmd(who, "nsenter_u7s").args(["id", "-u"]));
        assert_eq!(text(&out.stdout), "0\n", "{who:?}: {}", text(&out.stderr));
        assert!(out.status.success());
        assert_eq!(text(&out.stderr), "", "{who:?}: nothing on stderr at -v 0");
    }
}

#[test]
fn the_namespaces_are_the_childs_not_the_hosts() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let child = rk.child_pid().to_string();
    for who in BOTH {
        for ns in ["net", "mnt", "pid", "uts", "ipc", "user", "cgroup"] {
            let out = run(rk
                .cmd(who, "nsenter_u7s")
                .args(["readlink", &format!("/proc/self/ns/{ns}")]));
            let inside = text(&out.stdout).trim().to_owned();
            assert_eq!(
                inside,
                ns_of(&child, ns),
                "{who:?} {ns}: {}",
                text(&out.stderr)
            );
            assert_ne!(
                inside,
                ns_of("self", ns),
                "{who:?} {ns} must differ from the host's"
            );
        }
    }
}

#[test]
fn exit_statuses_and_signal_deaths_come_back() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    for who in BOTH {
        let out = run(rk.cmd(who, "nsenter_u7s").args(["sh", "-c", "exit 7"]));
        assert_eq!(out.status.code(), Some(7), "{who:?}");
        let out = run(rk
            .cmd(who, "nsenter_u7s")
            .args(["sh", "-c", "kill -TERM $$"]));
        assert_eq!(out.status.code(), Some(143), "{who:?}");
        let out = run(rk
            .cmd(who, "nsenter_u7s")
            .args(["sh", "-c", "kill -KILL $$"]));
        assert_eq!(out.status.code(), Some(137), "{who:?}");
    }
}

#[test]
fn a_sigterm_to_nsenter_reaches_the_command() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let mut child = spawn(
        rk.cmd(Who::Root, "nsenter_u7s")
            .args(["sleep", "30"])
            .stdin(Stdio::null()),
    );
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(143),
        "sleep was killed by the relayed SIGTERM"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn ten_mib_of_binary_data_pass_through_unchanged() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    // A deterministic pseudo-random payload with every byte value.
    let mut data = Vec::with_capacity(10 << 20);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while data.len() < 10 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    for who in BOTH {
        let mut child = spawn(
            rk.cmd(who, "nsenter_u7s")
                .arg("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let mut stdin = child.stdin.take().unwrap();
        let payload = data.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&payload));
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        writer.join().unwrap().unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{who:?}");
        assert_eq!(out.len(), data.len(), "{who:?}: stdout length");
        assert!(out == data, "{who:?}: stdout differs from stdin");
    }
}

#[test]
fn stdin_reaches_the_command_and_the_working_directory_is_kept() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let wd = rk.tree.open_dir("work dir");
    for who in BOTH {
        let out = output_with_stdin(
            rk.cmd(who, "nsenter_u7s")
                .args(["sh", "-c", "read line; echo \"got:$line\"; pwd"])
                .current_dir(&wd),
            b"hello u7s\n",
        );
        assert_eq!(
            text(&out.stdout),
            format!("got:hello u7s\n{}\n", wd.display()),
            "{who:?}"
        );
    }
}

#[test]
fn root_gets_the_admin_environment_and_the_state_dir_is_exported() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let a = admin();
    for who in BOTH {
        let out = run(rk.cmd(who, "nsenter_u7s").args([
            "sh",
            "-c",
            "echo \"$HOME|$USER|$XDG_RUNTIME_DIR|$ROOTLESSKIT_STATE_DIR\"",
        ]));
        assert_eq!(
            text(&out.stdout),
            format!(
                "{}|{ADMIN}|/run/user/{}|{}\n",
                a.home.display(),
                a.uid,
                rk.state_dir.display()
            ),
            "{who:?}"
        );
    }
}

#[test]
fn no_command_runs_the_shell() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let out = output_with_stdin(
        rk.cmd(Who::Root, "nsenter_u7s").env("SHELL", "/bin/sh"),
        b"id -u; exit 3\n",
    );
    assert_eq!(text(&out.stdout), "0\n");
    assert_eq!(out.status.code(), Some(3));
}

/// u7s-admin's kubectl runs inside its namespaces with its own kubeconfig;
/// root's runs on the host (tests/kubectl_host.rs).
#[test]
fn the_admins_kubectl_runs_inside_with_its_own_kubeconfig() {
    if !require_host() {
        return;
    }
    if !std::path::Path::new("/usr/bin/kubectl").exists() {
        prerequisite(Some("/usr/bin/kubectl is not installed".into()));
        return;
    }
    let rk = rootlesskit();
    let who = Who::Admin;
    let direct = run(Command::new("/usr/bin/kubectl").args(["version", "--client", "-o", "json"]));
    let records = rk.tree.open_dir("kubeconfig");
    let kubeconfig = records.join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts:\n- name: u7s-e2e\n  context: {cluster: none, user: none}\ncurrent-context: u7s-e2e\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &kubeconfig,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = run(rk
        .cmd(who, "kubectl")
        .args(["version", "--client", "-o", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, direct.stdout, "kubectl's own bytes only");
    let out = run(rk
        .cmd(who, "kubectl")
        .env("KUBECONFIG", &kubeconfig)
        .args(["config", "current-context"]));
    assert_eq!(text(&out.stdout), "u7s-e2e\n", "{}", text(&out.stderr));
    // Without KUBECONFIG, kubectl reads ~u7s-admin/.kube/config.
    let a = admin();
    let admin_config = a.home.join(".kube/config");
    let created = !admin_config.exists();
    let kube_dir = admin_config.parent().unwrap().to_path_buf();
    let created_dir = !kube_dir.exists();
    if created {
        std::fs::create_dir_all(&kube_dir).unwrap();
        std::fs::write(&admin_config, std::fs::read(&kubeconfig).unwrap()).unwrap();
        nix::unistd::chown(
            &admin_config,
            Some(nix::unistd::Uid::from_raw(a.uid)),
            Some(nix::unistd::Gid::from_raw(a.gid)),
        )
        .unwrap();
    }
    let direct = run(Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(&admin_config)
        .args(["config", "view"]));
    let out = run(rk
        .cmd(who, "kubectl")
        .args(["config", "view"])
        .env_remove("KUBECONFIG"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        text(&direct.stdout),
        "the admin's kubeconfig"
    );
    // Root's kubectl refuses that same kubeconfig: it sits in a directory
    // anyone may write, and root's kubectl reads only what root alone can.
    let out = run(rk
        .cmd(Who::Root, "kubectl")
        .env("KUBECONFIG", &kubeconfig)
        .args(["config", "current-context"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("writable by group or others"),
        "{}",
        text(&out.stderr)
    );
    if created {
        std::fs::remove_file(&admin_config).unwrap();
    }
    if created_dir {
        let _ = std::fs::remove_dir(&kube_dir);
    }
}

#[test]
fn rootlessctl_forwards_a_port_that_answers_on_the_hosts_loopback() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let port = 20000 + (std::process::id() % 20000) as u16;
    let spec = format!("127.0.0.1:{port}:{port}/tcp");
    let add = run(rk
        .cmd(Who::Admin, "nsenter_u7s")
        .args(["rootlessctl", "add-ports", &spec]));
    assert!(add.status.success(), "add-ports: {}", text(&add.stderr));
    let list = run(rk
        .cmd(Who::Admin, "rootlessctl")
        .args(["list-ports", "--json"]));
    assert!(
        text(&list.stdout).contains(&format!("\"parentPort\":{port}")),
        "{}",
        text(&list.stdout)
    );
    // A listener inside the namespaces answers one connection.
    let mut server = spawn(rk
        .cmd(Who::Admin, "nsenter_u7s")
        .args([
            "python3",
            "-c",
            &format!(
                "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',{port}))\ns.listen(1)\nprint('listening',flush=True)\nc,_=s.accept()\nc.sendall(b'hello from inside')\nc.close()"
            ),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped()));
    let mut line = [0u8; 10];
    server
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut line)
        .unwrap();
    let mut reply = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while reply.is_empty() && Instant::now() < deadline {
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = conn.read_to_string(&mut reply);
        }
        if reply.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(reply, "hello from inside");
}

/// A stand-in for the real kubeadm: records where and how it ran.
/// Each test has its own, as tests run in parallel.
fn recording_kubeadm(rk: &Rootlesskit, tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let records = rk.tree.open_dir(&format!("kubeadm-records-{tag}"));
    let log = records.join("calls");
    let stub = rk.tree.script(
        &format!("kubeadm-{tag}"),
        &format!(
            "#!/bin/sh\n{{ echo \"uid=$(id -u) net=$(readlink /proc/self/ns/net)\"; for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done; }} > {log}\necho kubeadm-stdout\necho kubeadm-stderr >&2\nexit 4\n",
            log = log.display()
        ),
    );
    (stub, log)
}

#[test]
fn kubeadm_subcommands_run_inside_with_the_arguments_byte_for_byte() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let (stub, log) = recording_kubeadm(rk, "inside");
    let pwned = rk.tree.root.join("pwned");
    let literal = format!("$(touch {})", pwned.display());
    let cases: [&[&str]; 3] = [
        &["token", "create", "--print-join-command"],
        &[
            "certs",
            "check-expiration",
            "--cert-dir",
            "/etc/kubernetes/pki",
        ],
        &[
            "token",
            "create",
            "--description",
            &literal,
            "a b\n`x` ;'\"",
        ],
    ];
    let child_net = ns_of(&rk.child_pid().to_string(), "net");
    for args in cases {
        let out = run(rk
            .cmd(Who::Root, "kubeadm")
            .args(args)
            .env("U7S_KUBEADM", &stub));
        assert_eq!(
            out.status.code(),
            Some(4),
            "exit status unchanged: {}",
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stdout),
            "kubeadm-stdout\n",
            "stdout carries only kubeadm's bytes"
        );
        assert_eq!(text(&out.stderr), "kubeadm-stderr\n");
        let record = std::fs::read_to_string(&log).unwrap();
        let mut expected = format!("uid=0 net={child_net}\n");
        for a in args {
            expected.push_str(&format!("[{a}]\n"));
        }
        assert_eq!(record, expected);
    }
    assert!(!pwned.exists(), "a value was run by a shell");
}

#[test]
fn kubeadm_help_and_version_need_no_namespaces() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let (stub, log) = recording_kubeadm(rk, "direct");
    for args in [
        vec!["version", "-o", "short"],
        vec!["--help"],
        vec![],
        vec!["reset", "-h"],
    ] {
        let _ = std::fs::remove_file(&log);
        let out = run(rk
            .cmd(Who::Root, "kubeadm")
            .args(&args)
            .env("U7S_KUBEADM", &stub)
            // Readiness would fail at once: proves no namespace was needed.
            .env(
                "U7S_ROOTLESSKIT_STATE_DIR",
                rk.tree.root.join("no-such-state"),
            ));
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let record = std::fs::read_to_string(&log).unwrap();
        assert!(
            record.contains(&ns_of("self", "net")),
            "{args:?} ran on the host: {record}"
        );
    }
}

#[test]
fn kubeadm_refuses_non_root_callers() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let (stub, log) = recording_kubeadm(rk, "nonroot");
    let _ = std::fs::remove_file(&log);
    let out = run(rk
        .cmd(Who::Admin, "kubeadm")
        .args(["reset", "-f"])
        .env("U7S_KUBEADM", &stub));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("root"), "{err}");
    assert!(!log.exists(), "the real kubeadm must not have run");
}
