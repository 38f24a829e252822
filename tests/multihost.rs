//! The guide's cluster on three simulated hosts (issue #12): master1, worker1
//! and master2, plus haproxy in front of the masters, each a Debian container
//! booted with systemd-nspawn on a private bridge (see `support::lan`), with
//! u7s installed by packaging/install.sh. Stand-ins only for kubeadm (the
//! kubeadm model, testbin/kubeadm_model, whose cluster directory is shared by
//! the three cluster machines as its documented cross-host interface), the
//! API server, kubelet and crio (tests/multihost/*); everything else is real:
//! systemd and user managers, u7s's units, rootlesskit with slirp4netns and
//! its port forwards, haproxy, kubectl, openssl.
//!
//! The test types what the guide's admin types, as root on each machine with
//! the u7s directory first on PATH, and then checks the paths between the
//! hosts that rootless Kubernetes depends on. Each step's time is printed.
//!
//! Skips locally (with the reason) without root, debootstrap, systemd-nspawn,
//! /dev/net/tun or kubectl; fails under CI=true.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::lan::{self, Lan};
use support::nspawn::{self, write_file, BootOptions, Container};
use support::{prerequisite, text};

const BIN: &str = "/usr/libexec/podsec/u7s/bin";
const ADMIN_PATH: &str =
    "/usr/libexec/podsec/u7s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where the stand-ins live in each machine (root-owned, read-only to others).
const STANDINS: &str = "/usr/local/lib/u7s-test";
const PROBE: &str = "/usr/local/lib/u7s-test/probe.py";
/// The kubeadm model's cluster directory, shared by the cluster's machines:
/// the stand-in for what the API server (etcd) would hold.
const CLUSTER_DIR: &str = "/srv/kubeadm-model-cluster";
const KUBE_VERSION: &str = "v1.31.2";

const APISERVER: &str = include_str!("multihost/apiserver.py");
const KUBELET: &str = include_str!("multihost/kubelet.py");
const PROBE_PY: &str = include_str!("multihost/probe.py");

/// name, address, role in the cluster (None: the load balancer).
const MACHINES: &[(&str, &str)] = &[
    ("haproxy", "192.0.2.10"),
    ("master1", "192.0.2.11"),
    ("master2", "192.0.2.12"),
    ("worker1", "192.0.2.21"),
];

fn address(name: &str) -> &'static str {
    MACHINES.iter().find(|(n, _)| *n == name).unwrap().1
}

fn hosts_file() -> String {
    let mut s = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
    for (name, addr) in MACHINES {
        s.push_str(&format!("{addr}\t{name}\n"));
    }
    s
}

/// Each step's wall-clock time, printed as it ends and summed up at the end.
/// Written to stderr itself, past the test harness's capture, so that CI's
/// log has the times of a passing run too.
struct Steps {
    started: Instant,
    last: Instant,
    done: Vec<(String, Duration)>,
}

impl Steps {
    fn new() -> Steps {
        let now = Instant::now();
        Steps {
            started: now,
            last: now,
            done: Vec::new(),
        }
    }

    fn step(&mut self, name: &str) {
        let now = Instant::now();
        let took = now - self.last;
        self.last = now;
        say(&format!(
            "multihost: [{:>6.1} s] {name}",
            took.as_secs_f64()
        ));
        self.done.push((name.to_owned(), took));
    }

    fn summary(&self) {
        say("multihost: step times");
        for (name, took) in &self.done {
            say(&format!(
                "multihost:   {:>6.1} s  {name}",
                took.as_secs_f64()
            ));
        }
        say(&format!(
            "multihost:   {:>6.1} s  total",
            self.started.elapsed().as_secs_f64()
        ));
    }
}

fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The real kubectl for the machines: the one of the model's minor version
/// beside the host's kubectl when there is one (the host's may be a version
/// dispatcher that needs its siblings), else the host's itself.
fn kubectl_binary() -> Option<PathBuf> {
    let real = std::fs::canonicalize("/usr/bin/kubectl").ok()?;
    let minor = KUBE_VERSION
        .rsplit_once('.')
        .unwrap()
        .0
        .trim_start_matches('v');
    let versioned = real.with_file_name(format!("kubectl.{minor}"));
    Some(if versioned.exists() { versioned } else { real })
}

fn problem() -> Option<String> {
    if let Some(p) = nspawn::problem() {
        return Some(p);
    }
    if !Path::new("/usr/sbin/ip").exists() && !Path::new("/sbin/ip").exists() {
        return Some("ip is missing (apt-get install iproute2)".into());
    }
    if kubectl_binary().is_none() {
        return Some("/usr/bin/kubectl is not installed".into());
    }
    None
}

struct Machine {
    name: &'static str,
    c: Container,
}

impl Machine {
    /// A command as root on this machine, with the guide's PATH.
    fn admin(&self, args: &[&str]) -> Command {
        let mut cmd = self.c.command(args);
        cmd.env("PATH", ADMIN_PATH).env("LC_ALL", "C");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.admin(args).output().expect("nsenter")
    }

    /// Runs and requires success.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}: {} failed: {}\nstdout:\n{}\nstderr:\n{}",
            self.name,
            args.join(" "),
            out.status,
            text(&out.stdout),
            text(&out.stderr),
        );
        text(&out.stdout)
    }

    /// A command inside u7s-admin's namespaces, entered by root with nsenter_u7s.
    fn inside(&self, args: &[&str]) -> Command {
        let mut all = vec!["nsenter_u7s"];
        all.extend_from_slice(args);
        self.admin(&all)
    }

    /// As u7s-admin, through its user manager (a login of its own).
    fn as_admin(&self, args: &[&str]) -> Output {
        let mut all = vec![
            "systemd-run",
            "-M",
            "u7s-admin@",
            "--user",
            "--pipe",
            "--wait",
            "--quiet",
            "--setenv=PATH=/usr/libexec/podsec/u7s/bin:/usr/bin:/bin",
            "--",
        ];
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn journal(&self, unit: &str) -> String {
        text(
            &self
                .run(&["journalctl", "--no-pager", "-q", "-o", "cat", "-u", unit])
                .stdout,
        )
    }

    /// The rootlesskit child pid once the readiness file names it.
    fn ready_child(&self) -> Option<i32> {
        let out = self.run(&[
            "sh",
            "-c",
            "cat /run/user/$(id -u u7s-admin)/usernetes/rootlesskit/_child_pid.u7s-ready",
        ]);
        text(&out.stdout).trim().parse().ok()
    }

    fn diagnostics(&self) -> String {
        let units = self.run(&[
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
        format!(
            "=== {}\n--- user units\n{}{}\n{}",
            self.name,
            text(&units.stdout),
            text(&units.stderr),
            self.c.diagnostics()
        )
    }
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    started.elapsed()
}

/// What every cluster machine gets before it boots: the package layout,
/// /etc/hosts, the stand-ins and the model's configuration. u7s-admin is not
/// created: `kubeadm init`/`join` create it, as on a fresh ALT host.
fn prepare_node(root: &Path) {
    nspawn::install_u7s(root, KUBELET);
    // The kubeadm model as /usr/bin/kubeadm; join must reach the endpoint
    // over the network before it reads the shared cluster directory.
    let kubeadm = root.join("usr/bin/kubeadm");
    std::fs::copy(env!("CARGO_BIN_EXE_kubeadm-model"), &kubeadm).unwrap();
    std::fs::set_permissions(&kubeadm, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The same program answers as skopeo and crictl, from a registry that
    // mirrors the release.
    for tool in ["skopeo", "crictl"] {
        let link = root.join("usr/bin").join(tool);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("kubeadm", &link).unwrap();
    }
    write_file(
        root,
        "/usr/share/kubeadm-model/registry",
        &support::kubeadm_model::stock_registry(KUBE_VERSION),
        0o644,
    );
    write_file(
        root,
        "/usr/bin/kubeadm-model.conf",
        &format!("version={KUBE_VERSION}\ncluster={CLUSTER_DIR}\nprobe_endpoint=true\nregistry=/usr/share/kubeadm-model/registry\n"),
        0o644,
    );
    write_file(root, &format!("{STANDINS}/apiserver.py"), APISERVER, 0o755);
    // The load balancer runs on its own machine only.
    let link = root.join("etc/systemd/system/haproxy.service");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
}

fn prepare_common(root: &Path, name: &str) {
    write_file(root, "/etc/hosts", &hosts_file(), 0o644);
    write_file(root, "/etc/hostname", &format!("{name}\n"), 0o644);
    write_file(root, PROBE, PROBE_PY, 0o755);
}

/// The join commands of `kubeadm init`'s closing block, as an admin copies
/// them: (worker, control plane), continuation lines joined.
fn join_commands(stdout: &str) -> (Vec<String>, Vec<String>) {
    let mut commands = Vec::new();
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if !line.starts_with("kubeadm join ") {
            continue;
        }
        let mut full = line.to_owned();
        while full.ends_with('\\') {
            full.pop();
            full.push(' ');
            full.push_str(lines.next().unwrap_or("").trim());
        }
        commands.push(
            full.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    let master = commands
        .iter()
        .find(|c| c.iter().any(|a| a == "--control-plane"))
        .cloned()
        .unwrap_or_else(|| panic!("no control-plane join command in:\n{stdout}"));
    let worker = commands
        .iter()
        .find(|c| !c.iter().any(|a| a == "--control-plane"))
        .cloned()
        .unwrap_or_else(|| panic!("no worker join command in:\n{stdout}"));
    (worker, master)
}

/// The answers of `count` requests to https://haproxy:8443/version from `m`.
fn through_haproxy(m: &Machine, count: usize) -> Vec<String> {
    let out = m.ok(&[
        "python3",
        PROBE,
        "https",
        "haproxy",
        "8443",
        "/version",
        &count.to_string(),
        "/etc/kubernetes/pki/ca.crt",
    ]);
    out.lines().map(str::to_owned).collect()
}

fn answered_by(lines: &[String], master: &str) -> bool {
    let want = format!("200 apiserver {}", address(master));
    lines.contains(&want)
}

/// Lines of haproxy's log saying `server` went `state` (UP or DOWN).
fn haproxy_says(haproxy: &Machine, server: &str, state: &str) -> Vec<String> {
    let needle = format!("Server apiserver/{server} is {state}");
    haproxy
        .journal("haproxy.service")
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// Waits until haproxy logs a new `state` line for `server`; returns it.
fn haproxy_marks(haproxy: &Machine, server: &str, state: &str, before: usize) -> String {
    let mut lines = Vec::new();
    wait_until(
        &format!("haproxy to mark {server} {state}"),
        Duration::from_secs(90),
        || {
            lines = haproxy_says(haproxy, server, state);
            lines.len() > before
        },
    );
    lines.pop().unwrap()
}

fn only_answered_by(lines: &[String], master: &str) -> bool {
    let want = format!("200 apiserver {}", address(master));
    lines.iter().all(|l| *l == want)
}

/// A datagram sent from inside `from`'s namespaces to `to`'s address on
/// `port` arrives inside `to`'s namespaces.
fn udp_crosses(from: &Machine, to: &Machine, port: &str) {
    let payload = format!("vxlan {} to {}", from.name, to.name);
    let mut listener = to
        .inside(&["python3", PROBE, "udp-listen", port, "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // UDP is not retried by anyone: send until one arrives.
        let _ = from
            .inside(&[
                "python3",
                PROBE,
                "udp-send",
                address(to.name),
                port,
                &payload,
            ])
            .output();
        if listener.try_wait().unwrap().is_some() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = listener.wait_with_output().unwrap();
    assert!(
        text(&out.stdout).contains(&format!("got {payload}")),
        "{port}/udp from inside {} to inside {}: {}\nstdout: {}\nstderr: {}",
        from.name,
        to.name,
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A NodePort backend inside `m`'s namespaces for `seconds` (it ends with
/// the namespaces when rootlesskit stops).
fn nodeport_backend(m: &Machine, port: &str, body: &str) -> std::process::Child {
    let mut child = m
        .inside(&["python3", PROBE, "http-serve", port, body, "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "serving" once it listens.
    use std::io::BufRead as _;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "serving", "NodePort backend on {}", m.name);
    child
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn join_commands_are_read_as_an_admin_copies_them() {
    let out = "\
You can now join any number of control-plane nodes running the following command on each as root:

  kubeadm join haproxy:8443 --token abcdef.0123456789abcdef \\
\t--discovery-token-ca-cert-hash sha256:00ff \\
\t--control-plane --certificate-key 0a0b

Then you can join any number of worker nodes by running the following on each as root:

kubeadm join haproxy:8443 --token abcdef.0123456789abcdef \\
\t--discovery-token-ca-cert-hash sha256:00ff 
";
    let (worker, master) = join_commands(out);
    assert_eq!(
        worker.join(" "),
        "kubeadm join haproxy:8443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00ff"
    );
    assert_eq!(
        master[master.len() - 3..].join(" "),
        "--control-plane --certificate-key 0a0b"
    );
}

#[test]
fn lan_names_carry_their_owner() {
    assert_eq!(lan::owner_pid("u7s-multi", "u7s-multi-42"), Some(42));
    assert_eq!(
        lan::owner_pid("u7s-multi", "u7s-multi-42-master1"),
        Some(42)
    );
    assert_eq!(lan::owner_pid("u7s-multi", "u7s-multiple-42"), None);
    assert_eq!(lan::owner_pid("u7s-multi", "other-42"), None);
}

#[test]
fn the_guides_cluster_on_three_hosts_behind_haproxy() {
    if !prerequisite(problem()) {
        return;
    }
    let mut steps = Steps::new();
    let base = match nspawn::rootfs() {
        Ok(base) => base,
        Err(e) => {
            prerequisite(Some(format!(
                "cannot build the Debian root file system: {e}"
            )));
            return;
        }
    };
    steps.step("root file system (cached)");

    // The network first, so that it is dropped last (after the machines).
    let mut lan = Lan::new("u7s-multi").expect("the test network");
    let cluster = std::env::temp_dir().join(format!("u7s-multi-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cluster);
    std::fs::create_dir_all(&cluster).unwrap();
    // u7s-admin of each machine writes it (as uid 0 of its namespaces).
    std::fs::set_permissions(&cluster, std::fs::Permissions::from_mode(0o777)).unwrap();
    let _cluster_cleanup = RemoveOnDrop(cluster.clone());
    let kubectl = kubectl_binary().unwrap();
    let mut plans = Vec::new();
    for (name, addr) in MACHINES {
        let netns = lan.add_host(name, addr).expect("a machine's network");
        let mut binds = Vec::new();
        if *name != "haproxy" {
            binds.push((kubectl.clone(), "/usr/bin/kubectl".to_owned(), true));
            binds.push((cluster.clone(), CLUSTER_DIR.to_owned(), false));
        }
        plans.push((
            *name,
            BootOptions {
                netns: Some(netns),
                binds,
            },
        ));
    }
    let machines: Vec<Machine> = std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .iter()
            .map(|(name, options)| {
                let base = &base;
                s.spawn(move || Machine {
                    name,
                    c: Container::boot_with(name, base, options, |root| {
                        prepare_common(root, name);
                        if *name != "haproxy" {
                            prepare_node(root);
                        }
                    }),
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    steps.step("four machines booted in parallel (systemd running)");
    let m = |name: &str| machines.iter().find(|m| m.name == name).unwrap();
    let (haproxy, master1, master2, worker1) =
        (m("haproxy"), m("master1"), m("master2"), m("worker1"));
    let dump = || {
        machines
            .iter()
            .map(Machine::diagnostics)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let guard = Diagnose(&dump);

    // The load balancer, configured as the guide says (u7s writes it).
    let config = master1.ok(&[
        "u7s",
        "haproxy-config",
        "--master",
        "master1:6443",
        "--master",
        "master2:6443",
    ]);
    write_file(&haproxy.c.root, "/etc/haproxy/haproxy.cfg", &config, 0o644);
    haproxy.ok(&["systemctl", "enable", "haproxy"]);
    haproxy.ok(&["systemctl", "restart", "haproxy"]);
    steps.step("haproxy configured by u7s haproxy-config and started");

    // 1. The first master, behind the load balancer.
    let out = master1.run(&[
        "kubeadm",
        "init",
        "--control-plane-endpoint",
        "haproxy:8443",
        "--upload-certs",
    ]);
    let init_out = text(&out.stdout);
    assert!(
        out.status.success(),
        "kubeadm init on master1: {}\nstdout:\n{init_out}\nstderr:\n{}",
        out.status,
        text(&out.stderr)
    );
    let (worker_join, master_join) = join_commands(&init_out);
    steps.step("master1: kubeadm init --control-plane-endpoint haproxy:8443 --upload-certs");

    // 2. The worker, with the command copied from master1's output.
    let args: Vec<&str> = worker_join.iter().map(String::as_str).collect();
    let joined = worker1.ok(&args);
    assert!(
        joined.contains("This node has joined the cluster"),
        "{joined}"
    );
    steps.step("worker1: kubeadm join (worker)");

    // 3. The second master.
    let args: Vec<&str> = master_join.iter().map(String::as_str).collect();
    let joined = master2.ok(&args);
    assert!(
        joined.contains("a new control plane instance was created"),
        "{joined}"
    );
    steps.step("master2: kubeadm join --control-plane --certificate-key");

    // 4. kubectl as root on master2, through haproxy to an API server.
    let nodes = master2.ok(&["kubectl", "get", "nodes"]);
    for name in ["master1", "master2", "worker1"] {
        assert!(
            nodes
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} in kubectl get nodes:\n{nodes}"
        );
    }
    steps.step("master2: kubectl get nodes");

    // Both API servers answer from worker1 through haproxy:8443, with the
    // cluster's certificate valid for the endpoint's name.
    // Each API server names its own advertise address.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = through_haproxy(worker1, 6);
    while !(answered_by(&seen, "master1") && answered_by(&seen, "master2")) {
        assert!(
            Instant::now() < deadline,
            "both masters, each advertising its own address, answer through haproxy; the last answers: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
        seen = through_haproxy(worker1, 6);
    }
    steps.step("worker1 -> haproxy:8443 reaches the API of master1 and master2");

    // haproxy's health checks follow u7s.service on master1.
    let downs = haproxy_says(haproxy, "master01", "DOWN").len();
    let ups = haproxy_says(haproxy, "master01", "UP").len();
    master1.ok(&["systemctl", "stop", "u7s.service"]);
    haproxy_marks(haproxy, "master01", "DOWN", downs);
    let answers = through_haproxy(worker1, 4);
    assert!(
        only_answered_by(&answers, "master2"),
        "with master1 down every request goes to master2: {answers:?}"
    );
    steps.step("master1: systemctl stop u7s -> haproxy marks it DOWN");
    master1.ok(&["systemctl", "start", "u7s.service"]);
    let up = haproxy_marks(haproxy, "master01", "UP", ups);
    assert!(up.contains("Layer7 check passed"), "{up}");
    wait_until(
        "master1 answering through haproxy again",
        Duration::from_secs(30),
        || answered_by(&through_haproxy(worker1, 4), "master1"),
    );
    steps.step("master1: systemctl start u7s -> haproxy marks it UP (GET /healthz)");

    // An API server that runs but fails /healthz is taken out too: the
    // check is the HTTP one, not only a TLS handshake.
    let downs = haproxy_says(haproxy, "master02", "DOWN").len();
    let ups = haproxy_says(haproxy, "master02", "UP").len();
    let flag = write_file(
        &master2.c.root,
        "/etc/kubernetes/u7s-standin-unhealthy",
        "",
        0o644,
    );
    let down = haproxy_marks(haproxy, "master02", "DOWN", downs);
    assert!(down.contains("Layer7 wrong status"), "{down}");
    let answers = through_haproxy(worker1, 4);
    assert!(
        only_answered_by(&answers, "master1"),
        "with master2 unhealthy every request goes to master1: {answers:?}"
    );
    std::fs::remove_file(flag).unwrap();
    haproxy_marks(haproxy, "master02", "UP", ups);
    steps.step("master2: /healthz fails then recovers -> haproxy marks it DOWN, UP");

    // worker1's kubelet port answers from master1.
    let out = master1.ok(&[
        "python3", PROBE, "https", "worker1", "10250", "/healthz", "1",
    ]);
    assert_eq!(
        out.trim(),
        "200 kubelet worker1",
        "worker1:10250 from master1"
    );
    steps.step("master1 -> worker1:10250 (kubelet)");

    // flannel's VXLAN port between the hosts' namespaces, both ways.
    udp_crosses(master1, worker1, "8472");
    udp_crosses(worker1, master2, "8472");
    steps.step("8472/udp inside master1 -> inside worker1 -> inside master2");

    // A NodePort on worker1, exposed by u7s-admin, answers from master1 ...
    let out = worker1.as_admin(&[
        &format!("{BIN}/nsenter_u7s"),
        "rootlessctl",
        "add-ports",
        "0.0.0.0:30080:30080/tcp",
    ]);
    assert!(
        out.status.success(),
        "add-ports as u7s-admin: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let backend = nodeport_backend(worker1, "30080", "nodeport on worker1");
    let got = master1.ok(&["python3", PROBE, "http-get", "worker1", "30080"]);
    assert_eq!(got.trim(), "nodeport on worker1");
    steps.step("worker1: add-ports 30080/tcp answers from master1");
    // ... and again after u7s restarts on worker1 (the forward is re-applied).
    let child = worker1.ready_child();
    worker1.ok(&["systemctl", "restart", "u7s"]);
    stop(backend);
    wait_until(
        "worker1's rootlesskit ready again",
        Duration::from_secs(60),
        || worker1.ready_child().is_some_and(|p| Some(p) != child),
    );
    let backend = nodeport_backend(worker1, "30080", "nodeport after restart");
    let got = master1.ok(&["python3", PROBE, "http-get", "worker1", "30080"]);
    assert_eq!(got.trim(), "nodeport after restart");
    stop(backend);
    steps.step("worker1: systemctl restart u7s, the NodePort answers again");

    // kubeadm reset on worker1, then the same join again.
    worker1.ok(&["kubeadm", "reset", "-f"]);
    let state = worker1.run(&["systemctl", "is-active", "u7s.service"]);
    assert_eq!(text(&state.stdout).trim(), "inactive", "u7s after reset");
    let out = master1.ok(&[
        "python3", PROBE, "https", "worker1", "10250", "/healthz", "1",
    ]);
    assert!(
        out.starts_with("error "),
        "worker1's kubelet is gone after reset: {out}"
    );
    let args: Vec<&str> = worker_join.iter().map(String::as_str).collect();
    let joined = worker1.ok(&args);
    assert!(
        joined.contains("This node has joined the cluster"),
        "{joined}"
    );
    let nodes = master1.ok(&["kubectl", "get", "nodes"]);
    assert!(
        nodes.lines().any(|l| l.starts_with("worker1 ")),
        "worker1 is back:\n{nodes}"
    );
    wait_until(
        "worker1's kubelet after the new join",
        Duration::from_secs(60),
        || {
            master1
                .run(&[
                    "python3", PROBE, "https", "worker1", "10250", "/healthz", "1",
                ])
                .stdout
                .starts_with(b"200 kubelet worker1")
        },
    );
    steps.step("worker1: kubeadm reset -f, the same join again");

    std::mem::forget(guard);
    steps.summary();
    drop(machines);
    drop(lan);
}

/// Prints every machine's diagnostics when the test panics.
struct Diagnose<'a>(&'a dyn Fn() -> String);

impl Drop for Diagnose<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", (self.0)());
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
