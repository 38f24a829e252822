//! Every step of `kubeadm init`, `join` and `reset`, in process and without
//! root: the flow runs against [`RecordingOs`], an in-memory host whose
//! stand-in kubeadm, systemctl and useradd write what the real ones write,
//! and the test reads back what was done, in order.

use std::ffi::OsString;

use super::{reset, run, Outcome};
use crate::kubeadm::flags::Subcommand;
use crate::os::record::{add_parents, Entry, Event, Files, Node, RecordingOs};
use crate::os::{Captured, Ids, Place, Within};
use crate::tools::Tool;

const ROUTE: &str =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t01000A0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t00000A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
const FIB_TRIE: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 10.10.0.0/24 2 0 2\n        +-- 10.10.0.0/29 2 0 2\n           |-- 10.10.0.0\n              /24 link UNICAST\n           |-- 10.10.0.5\n              /32 host LOCAL\n";
const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nu7s-admin:x:989:989:usernet user account:/var/lib/u7s-admin:/bin/bash\n";
const ADMIN: Ids = Ids { uid: 989, gid: 989 };
const TOKEN: &str = "abcdef.0123456789abcdef";
const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CERT_KEY: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn file(files: &mut Files, path: &str, text: &str, uid: u32) {
    add_parents(files, path, uid);
    files.insert(
        path.to_owned(),
        Entry {
            node: Node::File(text.as_bytes().to_vec()),
            mode: 0o600,
            uid,
            gid: uid,
        },
    );
}

/// What the stand-ins do: systemctl starting the stack makes crio's
/// socket; kubeadm init/join (inside) writes admin.conf, the PKI and the
/// apiserver manifest; useradd adds the account.
fn stand_ins(argv: &[String], place: Place, files: &mut Files) -> i32 {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    match (place, words.as_slice()) {
        (Place::Host, [_, "--user", "-M", _, "start", "u7s.target"]) => {
            file(
                files,
                "/run/user/989/usernetes/crio/crio.sock",
                "",
                ADMIN.uid,
            );
        }
        (Place::Inside, [_, "init" | "join", ..]) => {
            file(files, "/etc/kubernetes/pki/ca.key", "KEY", ADMIN.uid);
            file(
                files,
                "/etc/kubernetes/admin.conf",
                "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {client-certificate-data: QQ==}\n",
                ADMIN.uid,
            );
            file(
                files,
                "/etc/kubernetes/manifests/kube-apiserver.yaml",
                "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver]\n",
                ADMIN.uid,
            );
        }
        (Place::Inside, [_, "reset", ..]) => {
            // What the real reset deletes, where it still finds it.
            files.retain(|path, _| {
                !(path.starts_with("/etc/kubernetes/")
                    || path.starts_with("/var/lib/podsec/u7s/etcd/"))
            });
        }
        (Place::Host, [loginctl, "enable-linger", user]) if loginctl.ends_with("loginctl") => {
            file(files, &format!("/var/lib/systemd/linger/{user}"), "", 0);
        }
        (Place::Host, [useradd, ..]) if useradd.ends_with("useradd") => {
            let Some(Entry {
                node: Node::File(passwd),
                ..
            }) = files.get_mut("/etc/passwd")
            else {
                return 1;
            };
            passwd.extend_from_slice(
                b"u7s-admin:x:989:989:usernet user account:/var/lib/u7s-admin:/bin/sh\n",
            );
        }
        _ => {}
    }
    0
}

/// A host ready for init: a p10 machine with eth0 10.10.0.5/24, every tool
/// installed, u7s-admin and lingering there.
fn host() -> RecordingOs {
    let mut os = RecordingOs::new();
    os.set_env("U7S_KUBEVERSION", "v1.30.5");
    for tool in crate::tools::NODE_TOOLS.iter().chain(&[
        Tool::Systemctl,
        Tool::Useradd,
        Tool::Groupadd,
        Tool::Loginctl,
    ]) {
        os.install_tool(*tool, &tool.default_path().display().to_string());
    }
    // As `control newuidmap public` leaves them.
    for tool in [Tool::Newuidmap, Tool::Newgidmap] {
        os.set_program(&tool.default_path().display().to_string(), 0o4755, 0, 0);
    }
    os.put("/etc/passwd", PASSWD)
        .put("/etc/hosts", "127.0.0.1 localhost\n")
        .put(
            "/etc/os-release",
            "CPE_NAME=\"cpe:/o:alt:workstation:10.2\"\n",
        )
        .put("/etc/hostname", "node1\n")
        .put("/proc/net/route", ROUTE)
        .put("/proc/net/fib_trie", FIB_TRIE)
        .put("/proc/sys/user/max_user_namespaces", "1000\n")
        .put("/proc/sys/net/ipv4/ip_forward", "0\n")
        .put("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
        .put("/etc/systemd/system/user@.service.d/delegate.conf", "")
        .put("/var/lib/systemd/linger/u7s-admin", "")
        .put("/etc/subuid", "")
        .put("/etc/subgid", "")
        .put_owned("/dev/net/tun", b"", 0o666, 0);
    os.on_run(stand_ins);
    os.on_capture(|argv, place| registry(argv, place, REGISTRY, "v1.30.5"));
    os
}

/// What the registry holds: (image name, tags).
const REGISTRY: &[(&str, &[&str])] = &[
    ("kube-apiserver", &["v1.30.4", "v1.30.5"]),
    ("pause", &["3.9"]),
    ("flannel", &["v0.26.7"]),
    ("flannel-cni-plugin", &["v1.7.1-flannel1"]),
];

/// Inside the namespaces, `kubeadm config images list` (two of its images,
/// of the version it is given by flag, else `init_version`, the one in
/// init's configuration) and `skopeo list-tags docker://REPO` (the tags `registry` holds for the
/// repository's last name).
fn registry(
    argv: &[String],
    place: Place,
    registry: &[(&str, &[&str])],
    init_version: &str,
) -> Option<Captured> {
    if place == Place::Host {
        return None;
    }
    let ok = |stdout: String| Some(Captured { code: 0, stdout });
    if argv.get(1..4) == Some(&["config", "images", "list"].map(String::from)[..]) {
        // The version by flag (a join) or in the generated configuration
        // (init); the registry is the one u7s chose for this host.
        let version = match argv.iter().position(|a| a == "--kubernetes-version") {
            Some(i) => argv[i + 1].clone(),
            None => init_version.to_owned(),
        };
        let repo = "registry.altlinux.org/k8s-p10";
        return ok(format!(
            "{repo}/kube-apiserver:{version}\n{repo}/pause:3.9\n"
        ));
    }
    if argv[0].ends_with("/skopeo") && argv[1] == "list-tags" {
        let repo = argv[2].strip_prefix("docker://").unwrap();
        let name = repo.rsplit('/').next().unwrap();
        return match registry.iter().find(|(n, _)| *n == name) {
            Some((_, tags)) => ok(format!(
                "{{\"Repository\": \"{repo}\", \"Tags\": {tags:?}}}"
            )),
            None => Some(Captured {
                code: 1,
                stdout: String::new(),
            }),
        };
    }
    None
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// `join` with the discovery flags, then `extra`.
fn join_args(extra: &[&str]) -> Vec<OsString> {
    let mut list = vec![
        "join",
        "10.10.0.9:6443",
        "--token",
        TOKEN,
        "--discovery-token-ca-cert-hash",
        HASH,
    ];
    list.extend(extra);
    args(&list)
}

fn runs(os: &RecordingOs) -> Vec<String> {
    os.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Run { argv, place } => Some(format!("{place:?}: {}", argv.join(" "))),
            _ => None,
        })
        .collect()
}

/// The position of the first event that `matches`.
fn at(os: &RecordingOs, matches: impl Fn(&Event) -> bool) -> usize {
    os.events()
        .iter()
        .position(matches)
        .unwrap_or_else(|| panic!("no such event in {:#?}", os.events()))
}

fn written(path: &'static str) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Write { path: p, .. } if p == path)
}

fn ran(word: &'static str) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Run { argv, .. } if argv.iter().any(|a| a == word))
}

/// `--ignore-preflight-errors=ImagePull` (or `all`), as kubeadm's: the image
/// step's failures are warnings, every pull is still tried, and kubeadm
/// init runs (kubelet pulls later). Another name does not cover it.
#[test]
fn ignoring_image_pull_makes_the_image_step_warn_and_go_on() {
    for ignore in ["ImagePull", "imagepull", "all"] {
        let mut os = host();
        os.set_env("U7S_KUBEVERSION", "v1.30.6");
        os.on_capture(|argv, place| registry(argv, place, REGISTRY, "v1.30.6"));
        let flag = format!("--ignore-preflight-errors={ignore}");
        run(&os, Subcommand::Init, &args(&["init", &flag]))
            .unwrap_or_else(|e| panic!("{ignore}: {e:#}"));
        let runs = runs(&os);
        let pulls = runs.iter().filter(|r| r.contains(" pull")).count();
        assert_eq!(
            pulls,
            1 + 2,
            "{ignore}: kubeadm's pull and flannel's two: {runs:?}"
        );
        assert!(
            runs.iter().any(|r| r.contains(" init ")),
            "{ignore}: {runs:?}"
        );
    }
    let mut os = host();
    os.set_env("U7S_KUBEVERSION", "v1.30.6");
    os.on_capture(|argv, place| registry(argv, place, REGISTRY, "v1.30.6"));
    let err = run(
        &os,
        Subcommand::Init,
        &args(&["init", "--ignore-preflight-errors=Port"]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("the registry has no"), "{err}");
    assert!(runs(&os).iter().all(|r| !r.contains(" init ")));

    // The configuration file's list counts, joined to the flag's as kubeadm joins them.
    let mut os = host();
    os.set_env("U7S_KUBEVERSION", "v1.30.6");
    os.on_capture(|argv, place| registry(argv, place, REGISTRY, "v1.30.6"));
    os.put(
        "/root/init.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  ignorePreflightErrors: [ImagePull]\n",
    );
    let flags = [
        "init",
        "--config",
        "/root/init.yaml",
        "--ignore-preflight-errors=Port",
    ];
    run(&os, Subcommand::Init, &args(&flags))
        .unwrap_or_else(|e| panic!("the file's ImagePull: {e:#}"));
    assert!(runs(&os).iter().any(|r| r.contains(" init ")));
}

/// The registry's tag lists are read inside, before anything is pulled; a
/// missing tag stops the flow there with the tags the registry has.
#[test]
fn a_tag_missing_from_the_registry_stops_before_any_pull() {
    let mut os = host();
    os.set_env("U7S_KUBEVERSION", "v1.30.6");
    os.on_capture(|argv, place| registry(argv, place, REGISTRY, "v1.30.6"));
    let err = run(&os, Subcommand::Init, &args(&["init"])).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(
            "the registry has no registry.altlinux.org/k8s-p10/kube-apiserver:v1.30.6; its tags: v1.30.4, v1.30.5; set U7S_KUBEVERSION"
        ),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    // The hint is the registry check's, not the pull step's "kubeadm's output".
    assert!(
        message.ends_with("; set U7S_KUBEVERSION to a version it has, or U7S_REGISTRY/U7S_PLATFORM to a registry that has this one; nothing was pulled and kubeadm did not run"),
        "{message}"
    );
    assert!(!message.contains("kubeadm's output"), "{message}");
    assert!(
        runs(&os)
            .iter()
            .all(|r| !r.contains("pull") && !r.contains(" init ")),
        "{:?}",
        runs(&os)
    );
    let asked: Vec<String> = os
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Capture { argv, place } => Some(format!("{place:?}: {}", argv.join(" "))),
            _ => None,
        })
        .collect();
    assert_eq!(
        asked,
        [
            "Inside: /usr/bin/kubeadm config images list --config /var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml",
            "Inside: /usr/bin/skopeo list-tags docker://registry.altlinux.org/k8s-p10/kube-apiserver",
        ]
    );

    // The CNI plugin's images too, with their own fix; a repository the
    // registry does not have is named as such.
    const OLD_FLANNEL: &[(&str, &[&str])] = &[
        ("kube-apiserver", &["v1.30.5"]),
        ("pause", &["3.9"]),
        ("flannel-cni-plugin", &["v1.7.1-flannel1"]),
        ("flannel", &["v0.25.1", "v0.26.4"]),
    ];
    let mut os = host();
    os.on_capture(|argv, place| registry(argv, place, OLD_FLANNEL, "v1.30.5"));
    let message = run(&os, Subcommand::Init, &args(&["init"]))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("the registry has no registry.altlinux.org/k8s-p10/flannel:v0.26.7, the tag u7s's CNI manifest runs; its tags: v0.26.4 (of 2); set U7S_REGISTRY/U7S_PLATFORM"),
        "{message}"
    );
    let mut os = host();
    os.on_capture(|argv, place| registry(argv, place, &OLD_FLANNEL[..2], "v1.30.5"));
    let message = run(&os, Subcommand::Init, &args(&["init"]))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("the registry gave no tags of registry.altlinux.org/k8s-p10/flannel-cni-plugin (skopeo list-tags exited with 1"),
        "{message}"
    );
    // A registry that lists no tags at all has a way past the check.
    assert!(
        message.contains(
            "a registry that does not list tags needs --ignore-preflight-errors=ImagePull"
        ),
        "{message}"
    );
}

/// kubeadm's list and skopeo's answer come from u7s-admin's namespaces
/// (it can put its own programs there): a line that is no image stops the
/// flow, and tags that are not tags never reach root's terminal.
#[test]
fn the_registry_answers_are_data_from_u7s_admin() {
    let mut os = host();
    os.on_capture(|argv, place| {
        if place == Place::Host {
            return None;
        }
        let stdout = if argv[0].ends_with("/skopeo") {
            "{\"Tags\": [\"v1.30.4\", \"\\u001b]2;pwned\\u0007\", \"$(reboot)\"]}".to_owned()
        } else {
            "registry.altlinux.org/k8s-p10/kube-apiserver:v1.30.5\n".to_owned()
        };
        Some(Captured { code: 0, stdout })
    });
    let message = run(&os, Subcommand::Init, &args(&["init"]))
        .unwrap_err()
        .to_string();
    assert!(message.contains("its tags: v1.30.4;"), "{message}");
    assert!(
        !message.contains('\u{1b}') && !message.contains("reboot"),
        "{message:?}"
    );

    let mut os = host();
    os.on_capture(|_, place| {
        (place == Place::Inside).then(|| Captured {
            code: 0,
            stdout: "registry.altlinux.org/k8s-p10/pause:3.9 \u{1b}[2J\n".into(),
        })
    });
    let message = run(&os, Subcommand::Init, &args(&["init"]))
        .unwrap_err()
        .to_string();
    assert!(message.contains("malformed image name"), "{message:?}");
    assert!(
        runs(&os).iter().all(|r| !r.contains(" pull ")),
        "{:?}",
        runs(&os)
    );
}

#[test]
fn init_takes_every_step_in_order_and_finishes() {
    let os = host();
    assert_eq!(
        run(&os, Subcommand::Init, &args(&["init"])).unwrap(),
        Outcome::Done
    );
    assert_eq!(
        runs(&os),
        [
            "Host: /usr/bin/systemctl --user -M u7s-admin@ start u7s.target",
            "Inside: /usr/bin/kubeadm config images pull --config /var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml",
            "Inside: /usr/bin/crictl --runtime-endpoint unix:///run/crio/crio.sock pull registry.altlinux.org/k8s-p10/flannel-cni-plugin:v1.7.1-flannel1",
            "Inside: /usr/bin/crictl --runtime-endpoint unix:///run/crio/crio.sock pull registry.altlinux.org/k8s-p10/flannel:v0.26.7",
            "Inside: /usr/bin/kubeadm init --config /var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml --upload-certs",
            "Inside: mount --make-rshared /var/lib/kubelet",
            "Host: /usr/bin/systemctl enable --now u7s.service",
            "Inside: /usr/bin/kubectl apply -f /etc/kubernetes/manifests/kube-flannel.yml --request-timeout=30s",
            "Host: /usr/bin/systemctl restart u7s.service",
        ]
    );
    // The settings before the stack starts; the kubeconfigs after kubeadm
    // wrote admin.conf.
    assert!(at(&os, written("/etc/podsec/u7s/config/env")) < at(&os, ran("u7s.target")));
    assert!(at(&os, ran("init")) < at(&os, written("/root/.kube/config")));
    assert!(
        at(&os, |e| matches!(e, Event::MoveAside { .. })
            || matches!(e, Event::MakeDir { .. }))
            < at(&os, written("/etc/kubernetes/audit/policy.yaml")),
        "the previous cluster's files are set aside before anything is written there"
    );
    assert_eq!(
        os.text("/etc/podsec/u7s/config/state").as_deref(),
        Some("done init\n")
    );
    assert_eq!(
        os.text("/proc/sys/net/ipv4/ip_forward").as_deref(),
        Some("1\n")
    );
    assert_eq!(
        os.text("/etc/subuid").as_deref(),
        Some("u7s-admin:100000:65536\n")
    );
    let apiserver = os
        .text("/etc/kubernetes/manifests/kube-apiserver.yaml")
        .unwrap();
    assert!(apiserver.contains("--audit-policy-file=/etc/kubernetes/audit/policy.yaml"));
    // Secrets live in files of mode 0600 at most.
    let env = os.file("/var/lib/u7s-admin/.config/usernetes/env").unwrap();
    assert_eq!((env.mode, env.uid), (0o600, ADMIN.uid));
    assert_eq!(os.file("/etc/podsec/u7s/config/env").unwrap().mode, 0o600);
    assert_eq!(os.file("/root/.kube/config").unwrap().uid, 0);
}

#[test]
fn an_api_server_that_never_takes_the_cni_manifest_ends_init_by_the_deadline() {
    let mut os = host();
    // kubectl fails at once every time (connection refused).
    os.on_run(|argv, place, files| match argv.get(1).map(String::as_str) {
        Some("apply") => 1,
        _ => stand_ins(argv, place, files),
    });
    let e = run(&os, Subcommand::Init, &args(&["init"])).unwrap_err();
    let message = e.message();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("Applying the CNI manifest (tried for up to 5 minutes)"),
        "{message}"
    );
    assert!(
        message.contains("still exited with 1 after 300s of tries"),
        "{message}"
    );
    assert!(message.contains("`u7s doctor`"), "{message}");
    // The hint's journal command is pinned to u7s-admin's uid in every term.
    let uid = ADMIN.uid;
    assert!(
        message.ends_with(&format!(
            "kubelet's log: journalctl _UID={uid} _SYSTEMD_USER_UNIT=u7s-kubelet.service + _UID={uid} USER_UNIT=u7s-kubelet.service + _UID={uid} OBJECT_SYSTEMD_USER_UNIT=u7s-kubelet.service"
        )),
        "{message}"
    );
    // One try per pause until the next would begin at the deadline, and
    // nothing after the step.
    let runs = runs(&os);
    let applies = runs.iter().filter(|r| r.contains("kubectl apply")).count();
    assert_eq!(applies, 60, "{runs:?}");
    assert!(runs.last().unwrap().contains("kubectl apply"), "{runs:?}");
}

#[test]
fn join_as_a_worker_installs_no_kubeconfig_and_applies_no_cni() {
    let os = host();
    let out = run(&os, Subcommand::Join, &join_args(&[])).unwrap();
    assert_eq!(out, Outcome::Done);
    let runs = runs(&os);
    assert!(runs
        .iter()
        .any(|r| r.starts_with("Inside: /usr/bin/kubeadm join --config")));
    assert!(
        !runs.iter().any(|r| r.contains("kubectl apply")),
        "{runs:?}"
    );
    assert!(os.file("/root/.kube/config").is_none());
    let config = os
        .text("/var/lib/u7s-admin/.config/usernetes/kubeadm-join.yaml")
        .unwrap();
    // kubeadm has used the token: it is gone from every file u7s wrote.
    assert!(config.contains("apiServerEndpoint") && !config.contains(TOKEN));
    for env in [
        "/etc/podsec/u7s/config/env",
        "/var/lib/u7s-admin/.config/usernetes/env",
    ] {
        let env = os.text(env).unwrap();
        assert!(
            env.contains("U7S_TOKEN=''\n") && !env.contains(TOKEN),
            "{env}"
        );
    }
    assert_eq!(
        os.text("/etc/podsec/u7s/config/state").as_deref(),
        Some("done join\n")
    );
}

#[test]
fn join_as_a_master_installs_the_kubeconfigs() {
    let os = host();
    let master = ["--control-plane", "--certificate-key", CERT_KEY];
    run(&os, Subcommand::Join, &join_args(&master)).unwrap();
    assert!(os.file("/root/.kube/config").is_some());
    assert_eq!(
        os.file("/var/lib/u7s-admin/.kube/config").unwrap().uid,
        ADMIN.uid
    );
    assert!(!runs(&os).iter().any(|r| r.contains("kubectl apply")));
}

#[test]
fn a_failed_preflight_changes_nothing() {
    let os = host();
    os.put_owned("/dev/net/tun", b"", 0o600, 0);
    os.put_dir("/var/lib/podsec/u7s/etcd/member", 0o700, ADMIN.uid);
    let before = os.paths();
    let e = run(&os, Subcommand::Init, &args(&["init"])).unwrap_err();
    assert_eq!(e.code(), 1);
    assert!(e.message().contains("Checking the host"), "{e}");
    // The admin was asked about the etcd data (and said no); nothing else.
    let events = os.events();
    assert!(
        matches!(events.as_slice(), [Event::Ask { question }] if question.contains("etcd")),
        "{events:?}"
    );
    assert_eq!(before, os.paths());
}

#[test]
fn a_dry_run_changes_nothing_and_needs_no_root() {
    let mut os = host();
    os.euid = 1000;
    let out = run(&os, Subcommand::Init, &args(&["init", "--dry-run"])).unwrap();
    let Outcome::DryRun(text) = out else {
        panic!("{out:?}")
    };
    assert!(text.contains("[1/17] Checking the host"), "{text}");
    assert!(os.events().is_empty());
}

#[test]
fn a_real_run_needs_root() {
    let mut os = host();
    os.euid = 1000;
    let e = run(&os, Subcommand::Init, &args(&["init"])).unwrap_err();
    assert!(e.message().contains("must be run as root"), "{e}");
    assert!(os.events().is_empty());
}

#[test]
fn a_missing_admin_is_created_then_the_plan_is_made_again() {
    let os = host();
    os.put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    os.remove("/var/lib/systemd/linger/u7s-admin");
    run(&os, Subcommand::Init, &args(&["init"])).unwrap();
    let runs = runs(&os);
    assert_eq!(runs[0], "Host: /usr/sbin/groupadd -r -f u7s-admin");
    assert!(runs[1].starts_with("Host: /usr/sbin/useradd -r -M -g u7s-admin -d /var/lib/u7s-admin"));
    assert_eq!(runs[2], "Host: /usr/bin/loginctl enable-linger u7s-admin");
    let env = os.text("/etc/podsec/u7s/config/env").unwrap();
    assert!(env.contains("U7S_UID='989'"), "the account's uid: {env}");
}

#[test]
fn an_interrupted_init_moves_its_own_leftovers_aside() {
    let os = host();
    os.put("/etc/podsec/u7s/config/state", "in-progress init\n");
    os.put_dir("/var/lib/podsec/u7s/etcd/member", 0o700, ADMIN.uid);
    os.put("/etc/kubernetes/admin.conf", "EARLIER\n");
    run(&os, Subcommand::Init, &args(&["init"])).unwrap();
    let moved: Vec<String> = os
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::MoveAside { path, to, .. } => Some(format!("{path} -> {to}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        moved,
        [
            "/etc/kubernetes/admin.conf -> /etc/kubernetes/admin.conf.u7s-backup-20261126-194000",
            // The whole data dir: kubeadm refuses a non-empty one.
            "/var/lib/podsec/u7s/etcd -> /var/lib/podsec/u7s/etcd.u7s-backup-20261126-194000",
        ]
    );
    assert_eq!(
        os.text("/etc/kubernetes/admin.conf.u7s-backup-20261126-194000")
            .as_deref(),
        Some("EARLIER\n")
    );
}

/// Drift/security (issue #9, item 6): the real reset deleted the PKI, the
/// kubeconfigs, the manifests and the etcd data before u7s moved anything
/// aside, so the backup held almost nothing. Now they are set aside first.
#[test]
fn reset_sets_the_cluster_aside_before_the_real_reset_deletes_it() {
    let os = host();
    run(&os, Subcommand::Init, &args(&["init"])).unwrap();
    os.put_owned(
        "/var/lib/podsec/u7s/etcd/member/snap/db",
        b"DB",
        0o600,
        ADMIN.uid,
    );
    let before = os.events().len();
    reset(&os, &args(&["reset", "-f"])).unwrap();
    let events = os.events()[before..].to_vec();
    let first_moves: Vec<(String, Within)> = events
        .iter()
        .take(2)
        .filter_map(|e| match e {
            Event::MoveAside { path, within, .. } => Some((path.clone(), *within)),
            _ => None,
        })
        .collect();
    assert_eq!(
        first_moves,
        [
            ("/etc/kubernetes".to_string(), Within::Root),
            ("/var/lib/podsec/u7s/etcd".to_string(), Within::Root)
        ]
    );
    let Event::Run { argv, place } = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (argv.join(" "), *place),
        ("/usr/bin/kubeadm reset -f".into(), Place::Inside)
    );
    assert!(
        matches!(&events[3], Event::Run { argv, .. } if argv.join(" ") == "/usr/bin/systemctl disable --now u7s.service")
    );
    // The stand-in reset deleted what it found; the backups hold the CA key
    // and the etcd data.
    assert_eq!(
        os.text("/etc/kubernetes.u7s-backup-20261126-194000/pki/ca.key")
            .as_deref(),
        Some("KEY")
    );
    assert_eq!(
        os.text("/var/lib/podsec/u7s/etcd.u7s-backup-20261126-194000/member/snap/db")
            .as_deref(),
        Some("DB")
    );
    assert!(os.file("/etc/kubernetes").is_none());
    assert!(os.file("/etc/podsec/u7s/config/state").is_none());
    // u7s-admin's files are moved as u7s-admin.
    assert!(events.iter().any(|e| matches!(e, Event::MoveAside { path, within: Within::Admin(_), .. } if path == "/var/lib/u7s-admin/.kube/config")));
}

#[test]
fn reset_without_force_asks_first_and_a_no_changes_nothing() {
    for (answer, forced) in [
        (false, None),
        (true, Some("/usr/bin/kubeadm reset --force")),
    ] {
        let mut os = host();
        os.answer(answer);
        run(&os, Subcommand::Init, &args(&["init"])).unwrap();
        let before = os.events().len();
        let result = reset(&os, &args(&["reset"]));
        let events = os.events()[before..].to_vec();
        assert!(matches!(&events[0], Event::Ask { .. }), "{events:?}");
        match forced {
            None => {
                assert!(result.is_err());
                assert_eq!(events.len(), 1, "no answer, no change: {events:?}");
            }
            Some(line) => {
                result.unwrap();
                assert!(
                    events
                        .iter()
                        .any(|e| matches!(e, Event::Run { argv, .. } if argv.join(" ") == line)),
                    "{events:?}"
                );
            }
        }
    }
}

#[test]
fn reset_without_namespaces_still_stops_and_sets_aside() {
    let mut os = host();
    os.namespaces = false;
    reset(&os, &args(&["reset", "-f"])).unwrap();
    assert!(!runs(&os).iter().any(|r| r.contains("kubeadm")));
}

/// SPEC: root never follows a path component u7s-admin controls. Every file
/// effect beneath u7s-admin's home, its runtime dir or a directory it owns
/// happens as u7s-admin; every other as root, where the OS layer checks
/// that the directories are root's.
#[test]
fn every_file_effect_happens_in_the_domain_of_its_path() {
    let os = host();
    run(&os, Subcommand::Init, &args(&["init"])).unwrap();
    reset(&os, &args(&["reset", "-f"])).unwrap();
    let beneath = |path: &str| {
        ["/var/lib/u7s-admin/", "/run/user/989/"]
            .iter()
            .chain(&[
                "/etc/kubernetes/",
                "/var/lib/podsec/u7s/etcd/",
                "/etc/cni/net.d/",
            ])
            .any(|dir| path.starts_with(dir))
    };
    let mut seen = 0;
    for event in os.events() {
        let (path, within) = match &event {
            Event::Write { path, within, .. }
            | Event::MakeDir { path, within, .. }
            | Event::MoveAside { path, within, .. } => (path.clone(), *within),
            Event::ReadAsAdmin { path } => (path.clone(), Within::Admin(ADMIN)),
            _ => continue,
        };
        let expected = if beneath(&path) {
            Within::Admin(ADMIN)
        } else {
            Within::Root
        };
        assert_eq!(within, expected, "{event:?}");
        seen += 1;
    }
    assert!(seen > 30, "{seen} file effects");
    // admin.conf was read as u7s-admin, never by root.
    assert!(os.events().contains(&Event::ReadAsAdmin {
        path: "/etc/kubernetes/admin.conf".into()
    }));
}
