//! argv[0] dispatch, usage, the real-tool recursion guards and readiness
//! failures: none of these needs rootlesskit.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

fn u7s(tree: &Tree, applet: &str) -> Command {
    let mut cmd = Command::new(tree.applet(applet));
    cmd.env_remove("U7S_DEBUG");
    cmd
}

#[test]
fn unknown_applet_names_print_usage_and_exit_2() {
    let tree = Tree::new("dispatch-unknown");
    std::os::unix::fs::symlink("u7s", tree.bin().join("kubelet-ish")).unwrap();
    let out = run(&mut u7s(&tree, "kubelet-ish"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    for applet in APPLETS {
        assert!(err.contains(applet), "usage lists {applet}: {err}");
    }
    let out = run(u7s(&tree, "u7s").arg("nope"));
    assert_eq!(out.status.code(), Some(2));
    let out = run(&mut u7s(&tree, "u7s"));
    assert_eq!(out.status.code(), Some(2));
    let out = run(u7s(&tree, "u7s").arg("--help"));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("nsenter_u7s"));
}

#[test]
fn u7s_applet_form_reaches_the_same_applet_as_the_symlink() {
    let tree = Tree::new("dispatch-multicall");
    let stub = tree.script(
        "kubeadm",
        "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\"\nexit 5\n",
    );
    for (program, pre) in [("kubeadm", vec![]), ("u7s", vec!["kubeadm"])] {
        let out = run(u7s(&tree, program)
            .args(pre)
            .args(["version", "-o", "short"])
            .env("U7S_KUBEADM", &stub));
        assert_eq!(
            out.status.code(),
            Some(5),
            "exit status comes back unchanged"
        );
        assert_eq!(
            text(&out.stdout),
            format!("{}\nversion\n-o\nshort\n", stub.display())
        );
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
}

#[test]
fn an_override_pointing_at_u7s_itself_is_refused_with_127() {
    let tree = Tree::new("dispatch-self");
    for target in ["u7s", "kubectl"] {
        let out = run(u7s(&tree, "kubeadm")
            .arg("version")
            .env("U7S_KUBEADM", tree.applet(target)));
        assert_eq!(out.status.code(), Some(127), "{target}");
        let err = text(&out.stderr);
        assert!(
            err.contains("recursion") && err.contains("U7S_KUBEADM"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_chain_of_shims_stops_at_the_depth_limit() {
    let tree = Tree::new("dispatch-depth");
    // A "real" kubeadm that is really a script calling the shim again.
    let looping = tree.script(
        "kubeadm",
        &format!(
            "#!/bin/sh\nexec {} \"$@\"\n",
            tree.applet("kubeadm").display()
        ),
    );
    let start = Instant::now();
    let out = run(u7s(&tree, "kubeadm")
        .arg("version")
        .env("U7S_KUBEADM", &looping));
    assert_eq!(out.status.code(), Some(127));
    assert!(
        text(&out.stderr).contains("U7S_SHIM_DEPTH"),
        "{}",
        text(&out.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_missing_real_tool_names_the_override() {
    let tree = Tree::new("dispatch-missing");
    let out = run(u7s(&tree, "kubeadm")
        .arg("version")
        .env("U7S_KUBEADM", tree.root.join("absent")));
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("U7S_KUBEADM"));
    let out = run(u7s(&tree, "kubeadm")
        .arg("version")
        .env("U7S_KUBEADM", "kubeadm"));
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("absolute path"));
}

/// A state dir in each of the not-ready shapes: one-line error naming the state
/// dir, exit 1, empty stdout, within the retry budget.
#[test]
fn not_ready_rootlesskit_fails_within_the_retry_budget() {
    let tree = Tree::new("dispatch-notready");
    let dead = {
        // A pid that existed and is gone now.
        let mut c = Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id().to_string()
    };
    let me = std::process::id().to_string();
    let stale_reason = format!("child pid {dead} is not running");
    let cases: [(&str, Option<&str>, Option<&str>, &str); 4] = [
        ("absent", None, None, "no child_pid"),
        ("stale", Some(&dead), Some(&dead), &stale_reason),
        ("mismatch", Some(&me), Some("1"), "differs"),
        ("unready", Some(&me), None, "_child_pid.u7s-ready"),
    ];
    for (name, child, ready, reason) in cases {
        let dir = tree.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(pid) = child {
            std::fs::write(dir.join("child_pid"), pid).unwrap();
        }
        if let Some(pid) = ready {
            std::fs::write(dir.join("_child_pid.u7s-ready"), pid).unwrap();
        }
        let start = Instant::now();
        let out = run(u7s(&tree, "nsenter_u7s")
            .args(["echo", "must not run"])
            // Any existing account works: readiness is checked before entering.
            .env("U7S_ADMIN_USER", "root")
            .env("U7S_ROOTLESSKIT_STATE_DIR", &dir)
            .env("U7S_NSENTER_RETRIES", "3")
            .env("U7S_NSENTER_INTERVAL_MS", "200"));
        let elapsed = start.elapsed();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(
            out.stdout.is_empty(),
            "{name}: stdout {:?}",
            text(&out.stdout)
        );
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(
            err.contains(&dir.display().to_string()),
            "{name}: names the dir: {err}"
        );
        assert!(err.contains(reason), "{name}: says why ({reason}): {err}");
        assert!(
            err.contains("systemctl start u7s.service"),
            "{name}: says how: {err}"
        );
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(5),
            "{name}: 3 tries 200 ms apart took {elapsed:?}"
        );
    }
}
