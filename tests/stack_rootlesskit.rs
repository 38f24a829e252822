//! The rootlesskit role (`u7s rootlesskit`) run for real as u7s-admin with
//! Debian's rootlesskit and slirp4netns: the child-side setup, the node
//! role's port forwards, exit statuses, persistent NodePorts, and env file
//! errors. The role forwards fixed host ports, so the tests run one at a time.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use support::rk_role::*;
use support::*;
use u7s::settings::Role;

const MASTER_PORTS: [&str; 8] = [
    "0.0.0.0:10250:10250/tcp",
    "0.0.0.0:10255:10255/tcp",
    "0.0.0.0:10256:10256/tcp",
    "0.0.0.0:2379:2379/tcp",
    "0.0.0.0:2380:2380/tcp",
    "0.0.0.0:6053:53/udp",
    "0.0.0.0:6443:6443/tcp",
    "0.0.0.0:8472:8472/udp",
];

const WORKER_PORTS: [&str; 5] = [
    "0.0.0.0:10250:10250/tcp",
    "0.0.0.0:10255:10255/tcp",
    "0.0.0.0:10256:10256/tcp",
    "0.0.0.0:6053:53/udp",
    "0.0.0.0:8472:8472/udp",
];

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The mount points inside the namespaces (fifth field of mountinfo).
fn mount_points(rt: &RoleTree) -> Vec<String> {
    let out = rt.nsenter(&["cat", "/proc/self/mountinfo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
        .collect()
}

#[test]
fn a_master_gets_its_mounts_cni_tap0_readiness_and_ports() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("master");
    rt.write_env(Role::InitMaster);
    let listener = rt.tree.script("listener.py", LISTENER);
    let role = rt.start(&[listener.to_str().unwrap(), "6443"]);

    // readiness: the same pid as rootlesskit's child_pid, and alive
    let child = rt.child_pid().expect("child_pid");
    assert_eq!(rt.ready_pid().as_deref(), Some(child.as_str()));
    assert!(std::path::Path::new(&format!("/proc/{child}")).exists());

    // bind mounts
    let mounts = mount_points(&rt);
    for target in [
        "/opt/cni/bin",
        "/var/lib/kubelet",
        "/var/lib/cni",
        "/var/log",
        "/var/lib/containers",
        "/var/cache",
    ] {
        assert!(
            mounts.iter().any(|m| m == target),
            "{target} is not a mount point inside: {mounts:?}"
        );
    }
    let out = rt.nsenter(&["ls", "/opt/cni/bin"]);
    assert_eq!(text(&out.stdout), "bridge\n", "{}", text(&out.stderr));
    // /opt/cni/bin is u7s-admin's copy of the host's plugins: the CNI
    // plugin's installer (flannel's install-cni-plugin: `cp -f /flannel
    // /opt/cni/bin/flannel`) writes there; the host's directory stays root's.
    let out = rt.nsenter(&["cp", "-f", "/bin/true", "/opt/cni/bin/flannel"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copy = rt.data.join("usernetes/_opt_cni_bin");
    assert_eq!(
        std::fs::metadata(copy.join("flannel")).unwrap().uid(),
        admin().uid
    );
    assert_eq!(
        std::fs::read(copy.join("bridge")).unwrap(),
        std::fs::read(rt.cni.join("bridge")).unwrap()
    );
    assert!(
        !rt.cni.join("flannel").exists(),
        "the host's plugins are untouched"
    );
    let host_dir = std::fs::metadata(&rt.cni).unwrap();
    assert_eq!(
        (host_dir.uid(), host_dir.permissions().mode() & 0o022),
        (0, 0)
    );
    // what is written to /var/lib/kubelet inside lands in the data dir
    let out = rt.nsenter(&["touch", "/var/lib/kubelet/written-inside"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let landed = rt.data.join("usernetes/_var_lib_kubelet/written-inside");
    assert_eq!(std::fs::metadata(&landed).unwrap().uid(), admin().uid);

    // crio socket link, kubernetes dirs
    let out = rt.nsenter(&["readlink", "/run/crio/crio.sock"]);
    assert_eq!(
        text(&out.stdout),
        format!("/run/user/{}/usernetes/crio/crio.sock\n", admin().uid)
    );
    assert!(rt
        .nsenter(&["test", "-d", "/etc/kubernetes/pki"])
        .status
        .success());

    // tap0: the advertise address /32, not the slirp address
    let out = rt.nsenter(&["ip", "-4", "-o", "addr", "show", "dev", "tap0"]);
    let addrs = text(&out.stdout);
    assert!(addrs.contains(&format!("inet {ADVERTISE}/32 ")), "{addrs}");
    assert!(!addrs.contains(SLIRP), "{addrs}");

    // the master's ports, and 6443 answers on the host's loopback
    assert_eq!(rt.forwards(), sorted(&MASTER_PORTS));
    assert_eq!(greeting(6443), "hello from inside", "{}", role.log());
}

#[test]
fn a_worker_forwards_only_the_node_ports() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("worker");
    rt.write_env(Role::Worker);
    let _role = rt.start(&[]);
    assert_eq!(rt.forwards(), sorted(&WORKER_PORTS));
    assert!(std::net::TcpStream::connect(("127.0.0.1", 6443)).is_err());
}

#[test]
fn the_role_exits_with_the_commands_status() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("status");
    rt.write_env(Role::Worker);
    let out = rt.run_role(&["--", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let out = rt.run_role(&["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    // the setup ran before the command: the readiness file existed for it
    let out = rt.run_role(&[
        "--",
        "sh",
        "-c",
        "test \"$(cat $ROOTLESSKIT_STATE_DIR/_child_pid.u7s-ready)\" = \"$(cat $ROOTLESSKIT_STATE_DIR/child_pid)\"",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_stop_signal_ends_the_role_and_its_command() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("stop");
    rt.write_env(Role::Worker);
    let mut role = rt.start(&[]);
    let child = rt.child_pid().unwrap();
    let status = role.stop();
    // SIGTERM reaches the waiting child, which exits 128+15 like `sleep
    // infinity` would; rootlesskit passes that on.
    assert_eq!(status.code(), Some(143), "{status:?}: {}", role.log());
    assert!(
        !std::path::Path::new(&format!("/proc/{child}")).exists(),
        "the namespaces' init {child} outlived the role"
    );
    // with a command, the signal is relayed to it and its status comes back
    let mut role = rt.start(&["sleep", "600"]);
    let status = role.stop();
    assert_eq!(status.code(), Some(143), "{status:?}: {}", role.log());
}

#[test]
fn recorded_node_ports_are_forwarded_again_after_a_restart() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("nodeport");
    rt.write_env(Role::Worker);
    let listener = rt.tree.script("listener.py", LISTENER);
    let mut role = rt.start(&[]);
    let out = rt.nsenter(&["rootlessctl", "add-ports", "0.0.0.0:30080:30080/tcp"]);
    assert!(out.status.success(), "add-ports: {}", text(&out.stderr));
    // the real rootlessctl's output (the port id) passes through unchanged
    assert!(
        text(&out.stdout).trim().parse::<u32>().is_ok(),
        "{:?}",
        text(&out.stdout)
    );
    let list = std::fs::read_to_string(rt.ports_path()).unwrap();
    assert!(
        list.lines().any(|l| l == "0.0.0.0:30080:30080/tcp"),
        "{list}"
    );
    assert_eq!(
        std::fs::metadata(rt.ports_path()).unwrap().uid(),
        admin().uid
    );
    // a failed add-ports records nothing
    let out = rt.nsenter(&["rootlessctl", "add-ports", "0.0.0.0:30080:30080/tcp"]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(rt.ports_path()).unwrap(), list);
    role.stop();

    // started again, with no admin action in between
    let mut role = rt.start(&[listener.to_str().unwrap(), "30080"]);
    let forwards = rt.forwards();
    assert!(
        forwards.iter().any(|f| f == "0.0.0.0:30080:30080/tcp"),
        "{forwards:?}"
    );
    assert_eq!(greeting(30080), "hello from inside", "{}", role.log());

    // remove-ports ID forgets it
    let json = rt.nsenter(&["rootlessctl", "list-ports", "--json"]);
    let id = u7s::stack::ports::parse_list_ports_json(&text(&json.stdout))
        .unwrap()
        .into_iter()
        .find(|(_, s)| s.map(|s| s.parent_port) == Some(30080))
        .unwrap()
        .0;
    let out = rt.nsenter(&["rootlessctl", "remove-ports", &id.to_string()]);
    assert!(out.status.success(), "remove-ports: {}", text(&out.stderr));
    let list = std::fs::read_to_string(rt.ports_path()).unwrap();
    assert!(!list.contains("30080"), "{list}");
    role.stop();
    let _role = rt.start(&[]);
    assert_eq!(rt.forwards(), sorted(&WORKER_PORTS));
}

#[test]
fn a_missing_or_malformed_env_file_is_one_line_naming_it() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("envfile");
    let env = rt.env_path();
    let out = rt.run_role(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&env.display().to_string()), "{err}");
    assert_eq!(text(&out.stdout), "");

    std::fs::write(&env, "U7S_UID='999\n").unwrap();
    std::os::unix::fs::chown(&env, Some(admin().uid), Some(admin().gid)).unwrap();
    let out = rt.run_role(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}:1:", env.display())), "{err}");

    // U7S_ENV_FILE points elsewhere
    let other = rt.tree.root.join("elsewhere.env");
    let out = run(rt.role_cmd(&[]).env("U7S_ENV_FILE", &other));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&other.display().to_string()));
    assert!(!rt.state.exists(), "rootlesskit must not have started");
}

#[test]
fn root_is_refused_and_the_child_mode_does_nothing_on_the_host() {
    if !require_role_host() {
        return;
    }
    let rt = RoleTree::new("root");
    rt.write_env(Role::Worker);
    let u7s = rt.tree.bin().join("u7s");
    let out = run(std::process::Command::new(&u7s)
        .arg("rootlesskit")
        .env("U7S_ENV_FILE", rt.env_path()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not as root"),
        "{}",
        text(&out.stderr)
    );
    // The child marker outside rootlesskit's user namespace: refused before
    // any step. Run in a private mount namespace all the same.
    let out = run(std::process::Command::new("/usr/bin/unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(&u7s)
        .args(["rootlesskit", "--", "true"])
        .env("_U7S_ROOTLESSKIT_CHILD", "1")
        .env("U7S_ENV_FILE", rt.env_path())
        .env("U7S_CNI_BIN_DIR", &rt.cni)
        .env("XDG_DATA_HOME", &rt.data)
        .env("U7S_ROOTLESSKIT_STATE_DIR", &rt.state));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("not a rootlesskit user namespace"), "{err}");
    assert!(std::fs::read_dir(&rt.data).unwrap().next().is_none());
}

#[test]
fn help_names_the_environment() {
    let out =
        run(std::process::Command::new(env!("CARGO_BIN_EXE_u7s")).args(["rootlesskit", "--help"]));
    assert!(out.status.success());
    let help = text(&out.stdout);
    for var in [
        "U7S_ENV_FILE",
        "U7S_CNI_BIN_DIR",
        "U7S_ROOTLESSKIT",
        "U7S_IP",
    ] {
        assert!(help.contains(var), "{var} missing from help");
    }
}

#[test]
fn a_failing_setup_step_is_named_and_the_command_never_runs() {
    if !require_role_host() {
        return;
    }
    let _serial = serial();
    let rt = RoleTree::new("badstep");
    rt.write_env(Role::Worker);
    let missing = rt.tree.root.join("no-cni-here");
    let marker = rt.tree.open_dir("rec").join("ran");
    let out = run(rt
        .role_cmd(&["--", "touch", marker.to_str().unwrap()])
        .env("U7S_CNI_BIN_DIR", &missing));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("child setup"))
        .unwrap_or_else(|| panic!("no step error: {err}"));
    assert!(
        line.contains("step \"bind the CNI plugins on /opt/cni/bin\"")
            && line.contains(&missing.display().to_string())
            && line.contains("U7S_CNI_BIN_DIR"),
        "{line}"
    );
    assert!(!marker.exists(), "the command ran after a failed setup");
}
