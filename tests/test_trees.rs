//! The tests' own trees under /tmp: removed when the fixture is dropped,
//! whether the test passed or failed; kept with `U7S_KEEP_TEST_TREES=1`;
//! never removed through a mount. Each case runs this test binary again as
//! a child (`child_makes_trees`), so the variable and the failure are real.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::hosttree::*;
use support::trees::{self, KEEP_VAR};
use support::*;

/// What the child is asked to do.
const CHILD_VAR: &str = "U7S_TREES_CHILD";
/// A directory outside the trees that the child binds inside one.
const VICTIM_VAR: &str = "U7S_TREES_VICTIM";

/// Run by the tests below in a child process, never on its own.
#[test]
#[ignore = "a child of the other tests of this file"]
fn child_makes_trees() {
    let Ok(mode) = std::env::var(CHILD_VAR) else {
        return;
    };
    let tree = Tree::new("trees-child");
    let host = HostTree::new("trees-child", OS_P10, HOSTS_PLAIN);
    println!("\nTREE {}", tree.root.display());
    println!("\nTREE {}", host.root.display());
    match mode.as_str() {
        "fail" => panic!("this test fails on purpose"),
        "mount" => {
            let victim = PathBuf::from(std::env::var(VICTIM_VAR).unwrap());
            let point = tree.root.join("mnt/inner");
            std::fs::create_dir_all(&point).unwrap();
            // Two mounts stacked on one point: both must go.
            for _ in 0..2 {
                nix::mount::mount(
                    Some(&victim),
                    &point,
                    None::<&str>,
                    nix::mount::MsFlags::MS_BIND,
                    None::<&str>,
                )
                .unwrap();
            }
            assert_eq!(mounted_at(&point), 2);
            drop(tree);
            assert_eq!(mounted_at(&point), 0, "the mounts were detached");
        }
        "rootlesskit" => {
            let rk = rootlesskit();
            println!("\nTREE {}", rk.tree.root.display());
            println!("\nPID {}", rk.pid);
        }
        _ => {}
    }
}

fn mounted_at(point: &Path) -> usize {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let point = point.to_string_lossy();
    info.lines()
        .filter(|l| l.split(' ').nth(4) == Some(&*point))
        .count()
}

/// Runs `child_makes_trees` in `mode` with `env` (and the keep variable
/// only when given); returns its output and the trees it named.
fn child(mode: &str, env: &[(&str, &str)], wrapper: &[&str]) -> (Output, Vec<PathBuf>) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args([
        "--ignored",
        "--exact",
        "child_makes_trees",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_VAR, mode)
    .env_remove(KEEP_VAR);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    let trees = text(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("TREE "))
        .map(PathBuf::from)
        .collect();
    (out, trees)
}

#[test]
fn trees_are_removed_when_the_test_ends_passed_or_failed() {
    for (mode, passes) in [("pass", true), ("fail", false)] {
        let (out, made) = child(mode, &[], &[]);
        assert_eq!(out.status.success(), passes, "{}", text(&out.stderr));
        assert_eq!(made.len(), 2, "{}", text(&out.stdout));
        for tree in &made {
            assert!(!tree.exists(), "{mode}: {} is left", tree.display());
        }
        if !passes {
            assert!(
                text(&out.stderr).contains(&format!("{KEEP_VAR}=1 keeps it")),
                "a failed test says how to keep its tree: {}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn a_failing_tests_trees_are_kept_with_the_variable() {
    let (out, made) = child("fail", &[(KEEP_VAR, "1")], &[]);
    assert!(!out.status.success());
    assert_eq!(made.len(), 2, "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    for tree in &made {
        let kept = tree.join("etc/hostname").exists() || tree.join("bin/u7s").exists();
        assert!(kept, "{} was not kept", tree.display());
        assert!(
            stderr.contains(&format!("kept at {}", tree.display())),
            "{stderr}"
        );
        trees::remove_tree(tree).unwrap();
    }
}

#[test]
fn nothing_mounted_inside_a_tree_is_removed_with_it() {
    if !prerequisite((!is_root()).then(|| "bind mounts need root".into())) {
        return;
    }
    let victim = std::env::temp_dir().join(format!("u7s-trees-victim-{}", std::process::id()));
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious"), "data\n").unwrap();
    // The mounts live in a mount namespace of the child's own, so nothing
    // is left on the host even if the child dies half way.
    let (out, made) = child(
        "mount",
        &[(VICTIM_VAR, &victim.to_string_lossy())],
        &[
            "/usr/bin/unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
        ],
    );
    let precious = std::fs::read_to_string(victim.join("precious"));
    std::fs::remove_dir_all(&victim).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        precious.ok().as_deref(),
        Some("data\n"),
        "deleted through the mount"
    );
    for tree in &made {
        assert!(!tree.exists(), "{} is left", tree.display());
    }
}

#[test]
fn mount_points_below_a_tree_are_found_escaped_and_deepest_last() {
    let info = "\
22 1 0:21 / / rw - ext4 /dev/vda rw
30 22 0:30 / /tmp/u7s-a-1/run rw - tmpfs tmpfs rw
31 30 0:31 / /tmp/u7s-a-1/run/deep\\040dir rw - tmpfs tmpfs rw
32 22 0:32 / /tmp/u7s-a-10/run rw - tmpfs tmpfs rw
33 22 0:33 / /tmp/u7s-a-1 rw - tmpfs tmpfs rw
";
    assert_eq!(
        trees::mounts_under(info, Path::new("/tmp/u7s-a-1")),
        vec![
            PathBuf::from("/tmp/u7s-a-1"),
            PathBuf::from("/tmp/u7s-a-1/run"),
            PathBuf::from("/tmp/u7s-a-1/run/deep dir"),
        ],
        "u7s-a-10 is another tree"
    );
    assert!(trees::mounts_under(info, Path::new("/tmp/u7s-b-1")).is_empty());
}

#[test]
fn the_shared_rootlesskit_ends_and_its_tree_goes_when_the_tests_end() {
    if !require_host() {
        return;
    }
    let (out, made) = child("rootlesskit", &[], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(made.len(), 3, "{}", text(&out.stdout));
    for tree in &made {
        assert!(!tree.exists(), "{} is left", tree.display());
    }
    let pid: u32 = text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("PID "))
        .expect("the child named rootlesskit's pid")
        .parse()
        .unwrap();
    // Its parent (the child test binary) is gone, so it would be a
    // reparented process if it still ran.
    let alive = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.contains("rootlesskit"));
    assert!(!alive, "rootlesskit {pid} still runs");
}
