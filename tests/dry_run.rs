//! `kubeadm init|join --dry-run` against host trees (`U7S_ROOT`): golden
//! outputs over the matrix of registries, platforms, versions, roles, CNI
//! plugins and networks; errors; and proof that nothing on disk changes.

mod support;

use std::path::PathBuf;
use std::process::Output;

use support::hosttree::*;
use support::{run, text, u7s_command};

const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN: &str = "abcdef.0123456789abcdef";
const CERT_KEY: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// `u7s kubeadm ARGS` against `tree`, with a clean u7s environment and no real
/// kubeadm (a dry run needs none).
fn kubeadm(tree: &HostTree, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = u7s_command(&["kubeadm"]);
    cmd.args(args);
    cmd.env("U7S_ROOT", &tree.root)
        // No real kubeadm: nothing asks it for its version, whatever the machine has.
        .env("U7S_KUBEADM", "/nonexistent/kubeadm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/dry-run/{name}.txt"))
}

/// Compares with the golden file; `UPDATE_GOLDEN=1` rewrites it instead.
fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: output differs from {} at line {}:\n  expected: {:?}\n  actual:   {:?}\n(UPDATE_GOLDEN=1 rewrites goldens after a deliberate change)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

struct Case {
    name: &'static str,
    os: &'static str,
    hosts: &'static str,
    env: &'static [(&'static str, &'static str)],
    args: Vec<String>,
    /// Lines the output must contain, beyond the golden comparison.
    expect: &'static [&'static str],
}

fn join_args(control_plane: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "join",
        "10.10.0.9:6443",
        "--token",
        TOKEN,
        "--discovery-token-ca-cert-hash",
        HASH,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if control_plane {
        args.extend(["--control-plane", "--certificate-key", CERT_KEY].map(String::from));
    }
    args.push("--dry-run".into());
    args
}

fn init_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["init".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--dry-run".into());
    args
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "init-p10-1.26.3",
            os: OS_P10,
            hosts: HOSTS_PLAIN,
            env: &[("U7S_KUBEVERSION", "v1.26.3")],
            args: init_args(&[]),
            expect: &[
                "U7S_REGISTRY_PLATFORM='registry.altlinux.org/k8s-p10'",
                "apiVersion: kubeadm.k8s.io/v1beta3",
                "kubernetesVersion: v1.26.3",
                "  advertiseAddress: 10.10.0.5",
            ],
        },
        Case {
            name: "init-sp-registry-local-1.30.5",
            os: OS_SP,
            hosts: HOSTS_LOCAL,
            env: &[("U7S_KUBEVERSION", "v1.30.5")],
            args: init_args(&[]),
            expect: &[
                "U7S_REGISTRY_PLATFORM='registry.local/k8s-c10f1'",
                "imageRepository: registry.local/k8s-c10f1",
                "apiVersion: kubeadm.k8s.io/v1beta3",
            ],
        },
        Case {
            name: "init-p10-registry-local-in-comment-1.31.2",
            os: OS_P10,
            hosts: HOSTS_COMMENT,
            env: &[("U7S_KUBEVERSION", "v1.31.2")],
            args: init_args(&[]),
            expect: &[
                "U7S_REGISTRY_PLATFORM='registry.altlinux.org/k8s-p10'",
                "apiVersion: kubeadm.k8s.io/v1beta4",
                "  - name: etcd-servers",
            ],
        },
        Case {
            name: "init-sp-localdomain-only-1.31.2",
            os: OS_SP,
            hosts: HOSTS_LOCALDOMAIN,
            env: &[("U7S_KUBEVERSION", "v1.31.2")],
            args: init_args(&[]),
            expect: &["U7S_REGISTRY_PLATFORM='registry.altlinux.org/k8s-c10f1'"],
        },
        Case {
            name: "init-upstream-registry-1.30.5",
            os: OS_SP,
            hosts: HOSTS_LOCAL,
            env: &[("U7S_KUBEVERSION", "v1.30.5"), ("U7S_REGISTRY", "")],
            args: init_args(&[]),
            expect: &[
                "U7S_REGISTRY_PLATFORM='registry.k8s.io'",
                "imageRepository: registry.k8s.io",
            ],
        },
        Case {
            name: "init-custom-registry-1.31.2",
            os: OS_P10,
            hosts: HOSTS_LOCAL,
            env: &[
                ("U7S_KUBEVERSION", "v1.31.2"),
                ("U7S_REGISTRY", "mirror.example:5000/k8s"),
            ],
            args: init_args(&[]),
            expect: &["U7S_REGISTRY_PLATFORM='mirror.example:5000/k8s'"],
        },
        Case {
            name: "init-platform-override-1.31.2",
            os: OS_P10,
            hosts: HOSTS_PLAIN,
            env: &[("U7S_KUBEVERSION", "v1.31.2"), ("U7S_PLATFORM", "p11")],
            args: init_args(&[]),
            expect: &["U7S_REGISTRY_PLATFORM='registry.altlinux.org/p11'"],
        },
        Case {
            name: "init-custom-networks-1.30.5",
            os: OS_P10,
            hosts: HOSTS_PLAIN,
            env: &[("U7S_KUBEVERSION", "v1.30.5")],
            args: init_args(&[
                "--pod-network-cidr=10.128.0.0/16",
                "--service-cidr",
                "172.20.16.0/20",
                "--control-plane-endpoint",
                "lb.example:8443",
                "-v",
                "4",
            ]),
            expect: &[
                "U7S_KUBERNETESCLUSTERIP='172.20.16.1'",
                "U7S_KUBERNETESCLUSTERDNS='172.20.16.10'",
                "U7S_SLIRP4IP='172.20.16.100'",
                "U7S_ROOTLESSKIT_FLAGS='--cidr=172.20.16.0/20'",
                "  podSubnet: 10.128.0.0/16",
                "controlPlaneEndpoint: lb.example:8443",
            ],
        },
        Case {
            name: "join-worker-1.30.5",
            os: OS_P10,
            hosts: HOSTS_PLAIN,
            env: &[("U7S_KUBEVERSION", "v1.30.5")],
            args: join_args(false),
            expect: &[
                "kind: JoinConfiguration",
                "    apiServerEndpoint: 10.10.0.9:6443",
                "U7S_CONTROLPLANE=''",
            ],
        },
        Case {
            name: "join-control-plane-1.31.2",
            os: OS_SP,
            hosts: HOSTS_LOCAL,
            env: &[("U7S_KUBEVERSION", "v1.31.2")],
            args: join_args(true),
            expect: &[
                "controlPlane:",
                "  certificateKey: <hidden>",
                "U7S_CONTROLPLANE='master'",
            ],
        },
        Case {
            name: "init-calico-1.31.2",
            os: OS_P10,
            hosts: HOSTS_PLAIN,
            env: &[("U7S_KUBEVERSION", "v1.31.2"), ("U7S_CNI_PLUGIN", "calico")],
            args: init_args(&[]),
            expect: &[
                "U7S_CNI_PLUGIN='calico'",
                "U7S_PODNETWORKCIDR='192.168.0.0/16'",
                "as u7s-admin: write /etc/kubernetes/calico.yaml (mode 0644, owner u7s-admin,",
                "/usr/bin/kubectl apply -f /etc/kubernetes/calico.yaml",
            ],
        },
        Case {
            name: "join-worker-calico-1.26.3",
            os: OS_P10,
            hosts: HOSTS_PLAIN,
            env: &[("U7S_KUBEVERSION", "v1.26.3"), ("U7S_CNI_PLUGIN", "calico")],
            args: join_args(false),
            expect: &[
                "U7S_CNI_PLUGIN='calico'",
                "U7S_PODNETWORKCIDR='192.168.0.0/16'",
            ],
        },
    ]
}

#[test]
fn dry_run_golden_matrix() {
    for case in cases() {
        let tree = HostTree::new(case.name, case.os, case.hosts);
        let before = tree.snapshot();
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let out = kubeadm(&tree, case.env, &args);
        assert!(out.status.success(), "{}: {}", case.name, text(&out.stderr));
        let stdout = text(&out.stdout);
        for line in case.expect {
            assert!(
                stdout.contains(line),
                "{}: {line:?} missing:\n{stdout}",
                case.name
            );
        }
        for secret in [TOKEN, CERT_KEY, HASH] {
            assert!(
                !stdout.contains(secret),
                "{}: a secret reached stdout",
                case.name
            );
        }
        assert_eq!(
            before,
            tree.snapshot(),
            "{}: the dry run changed the host tree",
            case.name
        );
        check_golden(case.name, &stdout);
    }
}

#[test]
fn the_output_is_settings_then_configuration_then_steps() {
    let tree = HostTree::new("order", OS_P10, HOSTS_PLAIN);
    let out = kubeadm(
        &tree,
        &[("U7S_KUBEVERSION", "v1.30.5")],
        &["init", "--dry-run"],
    );
    let stdout = text(&out.stdout);
    let env = stdout.find("U7S_KUBEVERSION=").unwrap();
    let config = stdout.find("kind: InitConfiguration").unwrap();
    let steps = stdout.find("[1/").unwrap();
    assert!(env < config && config < steps, "{stdout}");
    assert!(
        stdout.contains("--upload-certs"),
        "init always adds --upload-certs"
    );
}

#[test]
fn a_dry_run_needs_neither_root_nor_kubeadm_nor_a_version() {
    let tree = HostTree::new("noversion", OS_P10, HOSTS_PLAIN);
    let out = kubeadm(&tree, &[], &["init", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("v1.32.0"),
        "says which version it assumed"
    );
    assert!(text(&out.stdout).contains("kubernetesVersion: v1.32.0"));
}

#[test]
fn bad_input_is_one_line_with_exit_1_and_no_change() {
    let tree = HostTree::new("errors", OS_P10, HOSTS_PLAIN);
    let before = tree.snapshot();
    let v = [("U7S_KUBEVERSION", "v1.30.5")];
    type Env<'a> = &'a [(&'a str, &'a str)];
    let other_flannel = [
        ("U7S_KUBEVERSION", "v1.30.5"),
        ("U7S_FLANNEL_TAG", "v0.25.1"),
    ];
    let cases: [(Env, &[&str], &str); 8] = [
        (&v, &["init", "--foo", "--dry-run"], "unknown flag: --foo"),
        (
            &v,
            &["init", "--apiserver-bind-port", "7000x", "--dry-run"],
            "invalid argument \"7000x\" for \"--apiserver-bind-port\" flag",
        ),
        (
            &v,
            &["init", "--dry-run", "--pod-network-cidr", "10.10.0.0/16"],
            "overlaps",
        ),
        (
            &v,
            &["init", "--dry-run", "--cri-socket", "unix:///x.sock"],
            "--cri-socket",
        ),
        (
            &v,
            &["join", "a:1", "b:2", "--dry-run"],
            "accepts at most 1 arg(s), received 2",
        ),
        (
            &[("U7S_KUBEVERSION", "v1.25.9")],
            &["init", "--dry-run"],
            "v1.26",
        ),
        (
            &v,
            &["init", "--dry-run", "--config", "/nonexistent/kubeadm.yaml"],
            "/nonexistent/kubeadm.yaml",
        ),
        // Only the bundled flannel release's manifest exists: another tag
        // is refused, not recorded and ignored.
        (
            &other_flannel,
            &["init", "--dry-run"],
            "U7S_FLANNEL_TAG=\"v0.25.1\": u7s bundles the manifest of flannel v0.26.7 only",
        ),
    ];
    for (env, args, needle) in cases {
        let out = kubeadm(&tree, env, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err:?}");
        let lines = err
            .lines()
            .filter(|l| !l.starts_with("To see the stack trace"))
            .count();
        assert_eq!(lines, 1, "{args:?}: one line: {err:?}");
    }
    assert_eq!(before, tree.snapshot());
}

#[test]
fn an_admin_config_is_the_base_and_u7s_says_what_it_set() {
    let tree = HostTree::new("adminconfig", OS_P10, HOSTS_PLAIN);
    let config = tree.root.join("admin-kubeadm.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.5\nclusterName: admins-cluster\nnetworking:\n  podSubnet: 10.128.0.0/16\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  criSocket: unix:///var/run/containerd/containerd.sock\n",
    )
    .unwrap();
    let out = kubeadm(
        &tree,
        &[("U7S_KUBEVERSION", "v1.30.5")],
        &["init", "--config", config.to_str().unwrap(), "--dry-run"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("clusterName: admins-cluster"),
        "the admin's field is kept"
    );
    assert!(
        stdout.contains("criSocket: unix:///run/crio/crio.sock"),
        "the rootless field is set"
    );
    assert!(
        stdout.contains("U7S_PODNETWORKCIDR='10.128.0.0/16'"),
        "settings follow the file"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("u7s set") && err.contains("criSocket"),
        "{err}"
    );
}

/// Drift (issue #11): preflight checked a fixed 6443 and never calico's
/// ports, while the rootlesskit role forwarded the bind port and calico's.
/// Both now take the one rule, so the check names exactly the forwards.
#[test]
fn preflight_checks_the_ports_that_are_forwarded() {
    let tree = HostTree::new("ports", OS_P10, HOSTS_PLAIN);
    let ports_line = |env: &[(&str, &str)], args: &[&str]| {
        let out = kubeadm(&tree, env, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with("check ports "))
            .unwrap_or_else(|| panic!("no port check: {stdout}"))
            .trim()
            .to_owned()
    };
    let v = ("U7S_KUBEVERSION", "v1.30.5");
    let custom = ports_line(
        &[v],
        &["init", "--dry-run", "--apiserver-bind-port", "7443"],
    );
    assert_eq!(
        custom,
        "check ports 2379, 2380, 7443, 10250, 10255, 10256/tcp and 8472, 6053/udp are free"
    );
    let calico = ports_line(&[v, ("U7S_CNI_PLUGIN", "calico")], &["init", "--dry-run"]);
    assert_eq!(
        calico,
        "check ports 2379, 2380, 6443, 10250, 10255, 10256, 5473/tcp and 8472, 6053, 4789, 51820/udp are free"
    );
    // The same list the rootlesskit role forwards, from the same rule.
    use u7s::cni::CniPlugin;
    use u7s::settings::Role;
    let forwarded = u7s::stack::ports::role_ports(Role::InitMaster, CniPlugin::Calico, 6443);
    for spec in forwarded {
        assert!(
            calico.contains(&spec.parent_port.to_string()),
            "{spec} is forwarded but not checked: {calico}"
        );
    }
}
