//! The installed units and the service roles, without systemd:
//! - an audit of the installed tree: every file a unit executes (ExecStart=
//!   and the other Exec*= lines, and absolute paths among their arguments) is
//!   root-owned and not writable by group or others, nor is any directory
//!   above it; so are the units themselves;
//! - the unit contents the stack relies on;
//! - the role applets through the binary, with stand-ins for crio and kubelet.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

const INSTALLED_UNITS: &[&str] = &[
    "usr/lib/systemd/system/u7s.service",
    "usr/lib/systemd/user/u7s.target",
    "usr/lib/systemd/user/u7s-rootlesskit.service",
    "usr/lib/systemd/user/u7s-kubelet.service",
    "etc/systemd/system/user@.service.d/delegate.conf",
];

/// `(section, key, value)` of a unit file (comments and blank lines dropped,
/// continuation lines joined).
fn parse_unit(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        if let Some(stripped) = line.strip_suffix('\\') {
            pending.push_str(stripped.trim_end());
            pending.push(' ');
            continue;
        }
        let line = format!("{pending}{line}");
        pending.clear();
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((section.clone(), k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// The argv of an Exec*= value, its prefixes (`-@:+!|`) removed. The units
/// use no quoting, so white space splits.
fn exec_argv(value: &str) -> Vec<String> {
    let value = value.trim_start_matches(['-', '@', ':', '+', '!', '|']);
    value.split_whitespace().map(str::to_owned).collect()
}

fn install(dest: &Path) {
    let out = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
            .arg(env!("CARGO_BIN_EXE_u7s"))
            .env("DESTDIR", dest),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Checks `path` (inside `dest`) and every directory up to `dest`: not
/// writable by group or others, and root-owned when we are root. Symlinks are
/// followed inside `dest`, and their targets checked the same way.
fn audit(dest: &Path, path: &Path, problems: &mut Vec<String>) {
    let mut current = path.to_path_buf();
    for _ in 0..16 {
        let Ok(meta) = std::fs::symlink_metadata(&current) else {
            problems.push(format!("{} does not exist", current.display()));
            return;
        };
        let mut dir = current.clone();
        loop {
            let m = std::fs::symlink_metadata(&dir).unwrap();
            if !m.file_type().is_symlink() && m.permissions().mode() & 0o022 != 0 {
                problems.push(format!(
                    "{} is writable by group or others ({:o})",
                    dir.display(),
                    m.permissions().mode() & 0o7777
                ));
            }
            if is_root() && m.uid() != 0 {
                problems.push(format!("{} is owned by uid {}", dir.display(), m.uid()));
            }
            if dir == dest || !dir.pop() {
                break;
            }
        }
        if !meta.file_type().is_symlink() {
            return;
        }
        let target = std::fs::read_link(&current).unwrap();
        current = if target.is_absolute() {
            dest.join(target.strip_prefix("/").unwrap())
        } else {
            current.parent().unwrap().join(target)
        };
    }
    problems.push(format!("{}: too many symlinks", path.display()));
}

#[test]
fn unit_parser_reads_sections_continuations_and_prefixes() {
    let units = parse_unit(
        "# c\n[Unit]\nDescription=x\n\n[Service]\nExecStart=-/bin/a \\\n  b c\n; c\nDelegate=yes\n",
    );
    assert_eq!(
        units,
        vec![
            ("Unit".into(), "Description".into(), "x".into()),
            ("Service".into(), "ExecStart".into(), "-/bin/a b c".into()),
            ("Service".into(), "Delegate".into(), "yes".into()),
        ]
    );
    assert_eq!(exec_argv("-/bin/a b  c"), ["/bin/a", "b", "c"]);
    assert_eq!(exec_argv("+@/bin/a"), ["/bin/a"]);
}

#[test]
fn everything_the_units_execute_is_root_owned_and_not_writable_by_others() {
    let tree = Tree::new("units-audit");
    let dest = tree.root.join("dest");
    install(&dest);
    let mut problems = Vec::new();
    let mut executed = Vec::new();
    for unit in INSTALLED_UNITS {
        let path = dest.join(unit);
        audit(&dest, &path, &mut problems);
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o644, "{unit}");
        let text = std::fs::read_to_string(&path).unwrap();
        for (_, key, value) in parse_unit(&text) {
            if !key.starts_with("Exec") {
                continue;
            }
            let argv = exec_argv(&value);
            assert!(
                argv.first().is_some_and(|p| p.starts_with('/')),
                "{unit}: {key}={value} does not start with an absolute path"
            );
            for arg in argv.iter().filter(|a| a.starts_with('/')) {
                executed.push((unit.to_string(), arg.clone()));
                audit(&dest, &dest.join(&arg[1..]), &mut problems);
            }
        }
    }
    assert!(
        executed.len() >= 6,
        "too few Exec lines found: {executed:?}"
    );
    assert!(problems.is_empty(), "{problems:#?}");
    if !is_root() {
        prerequisite(Some("ownership is checked only as root".into()));
    }
}

#[test]
fn an_executed_file_writable_by_others_is_caught() {
    let tree = Tree::new("units-audit-neg");
    let dest = tree.root.join("dest");
    install(&dest);
    let u7s = dest.join("usr/libexec/podsec/u7s/bin/u7s");
    std::fs::set_permissions(&u7s, std::fs::Permissions::from_mode(0o775)).unwrap();
    let mut problems = Vec::new();
    audit(&dest, &u7s, &mut problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
    std::fs::set_permissions(&u7s, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = dest.join("usr/libexec/podsec");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut problems = Vec::new();
    audit(
        &dest,
        &dest.join("usr/libexec/podsec/u7s/bin/kubeadm"),
        &mut problems,
    );
    assert!(
        problems.iter().any(|p| p.contains("usr/libexec/podsec ")),
        "{problems:?}"
    );
}

fn unit(dest: &Path, path: &str) -> Vec<(String, String, String)> {
    parse_unit(&std::fs::read_to_string(dest.join(path)).unwrap())
}

fn values(u: &[(String, String, String)], key: &str) -> Vec<String> {
    u.iter()
        .filter(|(_, k, _)| k == key)
        .map(|(_, _, v)| v.clone())
        .collect()
}

#[test]
fn units_say_what_the_stack_relies_on() {
    let tree = Tree::new("units-content");
    let dest = tree.root.join("dest");
    install(&dest);
    let bin = "/usr/libexec/podsec/u7s/bin/u7s";

    let system = unit(&dest, "usr/lib/systemd/system/u7s.service");
    // The main process watches the user units (so a failed stack fails the
    // service) and stops the target on SIGTERM: no ExecStop, no oneshot.
    assert_eq!(values(&system, "ExecStart"), [format!("{bin} service run")]);
    assert_eq!(values(&system, "Type"), ["notify"]);
    assert_eq!(values(&system, "KillMode"), ["mixed"]);
    assert!(values(&system, "ExecStop").is_empty());
    assert!(values(&system, "RemainAfterExit").is_empty());
    assert_eq!(values(&system, "WantedBy"), ["multi-user.target"]);
    assert_eq!(
        values(&system, "User"),
        Vec::<String>::new(),
        "runs as root"
    );

    let rk = unit(&dest, "usr/lib/systemd/user/u7s-rootlesskit.service");
    assert_eq!(
        values(&rk, "ExecStart"),
        [format!("{bin} rootlesskit -- {bin} crio")]
    );
    assert_eq!(values(&rk, "Delegate"), ["yes"]);

    let kubelet = unit(&dest, "usr/lib/systemd/user/u7s-kubelet.service");
    assert_eq!(values(&kubelet, "ExecStart"), [format!("{bin} kubelet")]);
    assert_eq!(
        values(&kubelet, "ExecStartPre"),
        [format!("{bin} init-crio")]
    );
    assert_eq!(values(&kubelet, "Delegate"), ["yes"]);
    assert_eq!(values(&kubelet, "BindsTo"), ["u7s-rootlesskit.service"]);

    let target = unit(&dest, "usr/lib/systemd/user/u7s.target");
    assert_eq!(values(&target, "Requires"), ["u7s-rootlesskit.service"]);
    assert_eq!(values(&target, "Wants"), ["u7s-kubelet.service"]);

    let dropin = unit(&dest, "etc/systemd/system/user@.service.d/delegate.conf");
    assert_eq!(values(&dropin, "Delegate"), ["cpu cpuset io memory pids"]);

    // Every applet a unit names exists in this binary.
    let usage = text(&run(Command::new(env!("CARGO_BIN_EXE_u7s")).arg("--help")).stdout);
    for u in [&system, &rk, &kubelet] {
        for (_, key, value) in u.iter().filter(|(_, k, _)| k.starts_with("Exec")) {
            let argv = exec_argv(value);
            let applet = &argv[1];
            assert!(
                usage
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{applet} "))),
                "{key}={value}: u7s has no applet {applet}"
            );
        }
    }

    // No unit reaches the user manager through machinectl shell.
    for path in INSTALLED_UNITS {
        let text = std::fs::read_to_string(dest.join(path)).unwrap();
        assert!(!text.contains("machinectl"), "{path}");
    }

    let modules = std::fs::read_to_string(dest.join("usr/lib/modules-load.d/u7s.conf")).unwrap();
    let names: Vec<&str> = modules
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for m in [
        "overlay",
        "br_netfilter",
        "ip_tables",
        "iptable_nat",
        "tun",
        "xt_conntrack",
    ] {
        assert!(
            names.contains(&m),
            "{m} missing from modules-load.d/u7s.conf"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate module names");
    assert!(names.iter().all(|n| n
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')));
}

#[test]
fn another_prefix_is_written_into_the_units() {
    let tree = Tree::new("units-prefix");
    let dest = tree.root.join("dest");
    let out = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
            .arg(env!("CARGO_BIN_EXE_u7s"))
            .env("DESTDIR", &dest)
            .env("PREFIX", "/opt/u7s"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rk = std::fs::read_to_string(dest.join("opt/u7s/lib/systemd/user/u7s-rootlesskit.service"))
        .unwrap();
    assert!(rk.contains(
        "ExecStart=/opt/u7s/libexec/podsec/u7s/bin/u7s rootlesskit -- /opt/u7s/libexec/podsec/u7s/bin/u7s crio"
    ));
    assert!(!rk.contains("/usr/libexec"));
    assert!(dest
        .join("etc/systemd/system/user@.service.d/delegate.conf")
        .exists());
}

// --- the role applets through the binary -----------------------------------

fn env_text() -> String {
    u7s::settings::envfile::fixture::text_with(&[
        ("U7S_EXTIP", "192.0.2.2"),
        ("U7S_APISERVER_ADVERTISE_ADDRESS", "192.0.2.2"),
        ("U7S_APISERVERENDPOINT", "192.0.2.2:6443"),
    ])
}

/// `u7s APPLET` with the admin account set to the current user, XDG dirs and
/// the env file under `base`.
fn role(tree: &Tree, base: &Path, applet: &str) -> Command {
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap();
    let mut cmd = Command::new(tree.bin().join("u7s"));
    cmd.arg(applet)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("U7S_ADMIN_USER", &me.name)
        .env("XDG_RUNTIME_DIR", base.join("run"))
        .env("XDG_CONFIG_HOME", base.join("config"))
        .env("XDG_DATA_HOME", base.join("data"))
        .env("U7S_ENV_FILE", base.join("env"));
    cmd
}

fn base(tree: &Tree) -> PathBuf {
    let base = tree.root.join("home");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("env"), env_text()).unwrap();
    base
}

#[test]
fn crio_role_writes_its_config_and_becomes_crio() {
    let tree = Tree::new("role-crio");
    let base = base(&tree);
    let record = base.join("crio.record");
    let stub = tree.script(
        "crio",
        &format!(
            "#!/bin/sh\n{{ echo \"$@\"; env | grep -E '^_CR|^_CONTAINERS' | sort; }} > '{}'\nexit 5\n",
            record.display()
        ),
    );
    let out = run(role(&tree, &base, "crio")
        .arg("--log-level")
        .arg("debug")
        .env("U7S_CRIO", &stub));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let conf_path = base.join("config/usernetes/crio/crio.conf");
    let rec = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        rec.lines().next().unwrap(),
        format!("--config {} --log-level debug", conf_path.display())
    );
    assert!(rec.contains("_CRIO_ROOTLESS=1"), "{rec}");
    assert!(rec.contains("_CONTAINERS_USERNS_CONFIGURED=1"), "{rec}");
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    assert!(conf.contains(&format!(
        "listen = \"{}\"",
        base.join("run/usernetes/crio/crio.sock").display()
    )));
    assert!(conf.contains("pause_image = \"registry.local/k8s-p10/pause:3.9\""));
    assert!(base.join("run/usernetes/crio").is_dir());
    assert!(base.join("data/usernetes/containers/storage").is_dir());
}

#[test]
fn roles_refuse_a_missing_or_malformed_env_file_in_one_line() {
    let tree = Tree::new("role-env");
    let base = base(&tree);
    let stub = tree.script("crio", "#!/bin/sh\nexit 0\n");
    for (content, label) in [(None, "missing"), (Some("U7S_UID=`id`\n"), "malformed")] {
        let env = base.join(format!("env-{label}"));
        if let Some(c) = content {
            std::fs::write(&env, c).unwrap();
        }
        for applet in ["crio", "kubelet"] {
            let out = run(role(&tree, &base, applet)
                .env("U7S_ENV_FILE", &env)
                .env("U7S_CRIO", &stub));
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{applet} {label}: {err}");
            assert_eq!(err.lines().count(), 1, "{applet} {label}: {err}");
            assert!(err.contains(&env.display().to_string()), "{err}");
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn inner_kubelet_refuses_to_run_outside_the_namespaces() {
    let tree = Tree::new("role-kubelet-outside");
    let base = base(&tree);
    let out = run(&mut role(&tree, &base, "_kubelet"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("u7s kubelet"));
}

#[test]
fn init_crio_waits_for_the_socket_within_its_bound() {
    let tree = Tree::new("role-init-crio");
    let base = base(&tree);
    let started = std::time::Instant::now();
    let out = run(role(&tree, &base, "init-crio").env("U7S_CRIO_WAIT_SECS", "1"));
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        text(&out.stderr).contains("crio.sock"),
        "{}",
        text(&out.stderr)
    );
    assert!(base.join("run/usernetes/crio").is_dir());
    // With a listener it returns at once.
    let sock = base.join("run/usernetes/crio/crio.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let waiter = std::thread::spawn(move || {
        let _ = listener.accept();
    });
    let out = run(role(&tree, &base, "init-crio").env("U7S_CRIO_WAIT_SECS", "5"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    waiter.join().unwrap();
}

#[test]
fn service_role_drives_systemctl_for_the_admin_user_manager() {
    let tree = Tree::new("role-service");
    let base = base(&tree);
    let record = base.join("systemctl.record");
    let stub = tree.script(
        "systemctl",
        &format!("#!/bin/sh\necho \"$@\" >> '{}'\n", record.display()),
    );
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap();
    let out = run(role(&tree, &base, "service")
        .arg("start")
        .env("U7S_SYSTEMCTL", &stub));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(role(&tree, &base, "service")
        .arg("stop")
        .env("U7S_SYSTEMCTL", &stub));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        format!(
            "start user@{uid}.service\n--user -M {name}@ reset-failed\n--user -M {name}@ start u7s.target\n--user -M {name}@ stop u7s.target\n",
            uid = me.uid,
            name = me.name
        )
    );
    let out = run(role(&tree, &base, "service").arg("restart"));
    assert_eq!(out.status.code(), Some(2));
    // A failing first step stops the start there, with its status.
    let failing = tree.script("systemctl-fail", "#!/bin/sh\nexit 4\n");
    let out = run(role(&tree, &base, "service")
        .arg("start")
        .env("U7S_SYSTEMCTL", &failing));
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn ping_group_range_role_writes_under_the_root_prefix() {
    let tree = Tree::new("role-ping");
    let base = base(&tree);
    let root = tree.root.join("hostroot");
    let file = root.join("proc/sys/net/ipv4/ping_group_range");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "1\t0\n").unwrap();
    let out = run(role(&tree, &base, "ping-group-range").env("U7S_ROOT", &root));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Only the admin's group (here the account running the test) may ping.
    let gid = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{gid} {gid}\n")
    );
}
