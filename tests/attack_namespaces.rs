//! Attacks on root's namespace entry, done the way a compromised u7s-admin
//! would do them (issue #9): it owns the state dir, so it can name any pid,
//! plant FIFOs and symlinks, or point the state dir elsewhere. For each, root's
//! nsenter_u7s / kubeadm refuses with one line naming the problem,
//! exits 1, finishes within a bounded time, and runs nothing: the marker file
//! the command would create stays absent and the trees are unchanged.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::attack::*;
use support::*;

/// Root's commands must give up this fast (2 tries 100 ms apart at most).
const LIMIT: Duration = Duration::from_secs(5);

/// A world like /run/user/<uid>: a root-owned tree with a directory that
/// u7s-admin owns, and the state dir inside it, made by u7s-admin.
struct Scene {
    tree: Tree,
    /// u7s-admin's directory (like /run/user/<uid>).
    run: PathBuf,
    /// What root is told is the state dir.
    state: PathBuf,
    /// What the command root runs would create if it ran anywhere.
    marker: PathBuf,
}

fn scene(tag: &str) -> Scene {
    let tree = Tree::new(&format!("attack-ns-{tag}"));
    let run = tree.root.join("run-user");
    std::fs::create_dir(&run).unwrap();
    let a = admin();
    std::os::unix::fs::chown(&run, Some(a.uid), Some(a.gid)).unwrap();
    let state = run.join("usernetes/rootlesskit");
    as_admin(&format!("mkdir -p '{}'", state.display()));
    let marker = tree.root.join("ran-as-root");
    // The stand-ins for the real tools would leave the marker too.
    let stub = format!("#!/bin/sh\ntouch '{}'\n", marker.display());
    tree.script("kubeadm", &stub);
    Scene {
        tree,
        run,
        state,
        marker,
    }
}

impl Scene {
    /// Root running `applet` against the scene's state dir.
    fn root(&self, applet: &str, args: &[&str]) -> Command {
        let mut cmd = command_as(Who::Root, &self.tree.applet(applet), &self.tree);
        cmd.args(args)
            .env("U7S_ROOTLESSKIT_STATE_DIR", &self.state)
            .env("U7S_NSENTER_RETRIES", "2")
            .env("U7S_NSENTER_INTERVAL_MS", "100")
            .env("U7S_KUBEADM", self.tree.root.join("stubs/kubeadm"));
        cmd
    }

    /// Every way root enters: nsenter_u7s, a kubeadm subcommand. (Root's
    /// kubectl no longer enters: it runs on the host, whatever the state dir
    /// says; tests/kubectl_host.rs.)
    fn root_commands(&self) -> Vec<Command> {
        let touch = format!("touch '{}'", self.marker.display());
        vec![
            self.root("nsenter_u7s", &["sh", "-c", &touch]),
            self.root("kubeadm", &["token", "list"]),
        ]
    }

    /// Runs every root command and checks the refusal; `also` are trees to
    /// compare besides the scene's (e.g. a symlink's target).
    fn assert_all_refused(&self, words: &[&str], also: &[&std::path::Path]) {
        let mut roots = vec![self.tree.root.as_path()];
        roots.extend_from_slice(also);
        let before = snapshot(&roots);
        for mut cmd in self.root_commands() {
            let (out, took) = run_within(&mut cmd, LIMIT * 2);
            assert_refused(&out, words);
            assert!(took < LIMIT, "{cmd:?} took {took:?}");
            assert!(!self.marker.exists(), "{cmd:?} ran its command");
        }
        assert_unchanged(&before, &roots);
    }
}

#[test]
fn a_host_process_of_the_admin_named_as_the_child_is_refused() {
    if !require_host() {
        return;
    }
    let s = scene("hostpid");
    let sleeper = AdminProcess::start(&["sleep", "300"]);
    let pid = sleeper.pid().to_string();
    as_admin(&format!(
        "cd '{}' && echo {pid} > child_pid && echo {pid} > _child_pid.u7s-ready",
        s.state.display()
    ));
    s.assert_all_refused(&["no user namespace would be joined", &pid], &[]);
}

#[test]
fn a_user_namespace_of_the_admins_own_is_not_a_rootlesskit_child() {
    if !require_host() {
        return;
    }
    // Its own user namespace (made by u7s-admin, so the owner check passes),
    // but the host's mount, network and other namespaces.
    let s = scene("userns");
    let sleeper = AdminProcess::start(&["unshare", "--user", "--map-root-user", "sleep", "300"]);
    let pid = sleeper.pid().to_string();
    // Let unshare switch to its namespace before naming it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ns_of(&pid, "user") == ns_of("self", "user") {
        assert!(
            std::time::Instant::now() < deadline,
            "unshare did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    as_admin(&format!(
        "cd '{}' && echo {pid} > child_pid && echo {pid} > _child_pid.u7s-ready",
        s.state.display()
    ));
    s.assert_all_refused(&["shares our mnt namespace", &pid], &[]);
}

#[test]
fn a_fifo_as_child_pid_is_refused_at_once() {
    if !require_host() {
        return;
    }
    let s = scene("fifo");
    as_admin(&format!(
        "cd '{}' && mkfifo child_pid && echo 1 > _child_pid.u7s-ready",
        s.state.display()
    ));
    s.assert_all_refused(&["child_pid", "FIFO"], &[]);
}

#[test]
fn a_dev_zero_symlink_as_child_pid_is_refused() {
    if !require_host() {
        return;
    }
    let s = scene("zero");
    as_admin(&format!(
        "cd '{}' && ln -s /dev/zero child_pid && ln -s /dev/zero _child_pid.u7s-ready",
        s.state.display()
    ));
    s.assert_all_refused(&["child_pid", "symbolic link"], &[]);
}

#[test]
fn a_symlinked_state_dir_is_not_followed_even_to_the_real_child() {
    if !require_host() {
        return;
    }
    // The link leads to the genuine rootlesskit state: following it would
    // "work", so only the rule against following can refuse it.
    let rk = rootlesskit();
    let real_tree = rk.state_dir.parent().unwrap();
    let s = scene("dirlink");
    as_admin(&format!(
        "rmdir '{state}' && ln -s '{real}' '{state}'",
        state = s.state.display(),
        real = rk.state_dir.display()
    ));
    s.assert_all_refused(&["symbolic link"], &[real_tree]);
    // A link higher up in the path: `usernetes` itself.
    let s = scene("uplink");
    as_admin(&format!(
        "rm -r '{run}/usernetes' && ln -s '{real}' '{run}/usernetes'",
        run = s.run.display(),
        real = real_tree.display()
    ));
    let mut s = s;
    s.state = s.run.join("usernetes/state");
    s.assert_all_refused(&["symbolic link"], &[real_tree]);
}

#[test]
fn state_files_of_someone_else_are_refused() {
    if !require_host() {
        return;
    }
    // A root-owned file in the admin's dir (a hard link to one, say): the
    // state must be u7s-admin's own.
    let s = scene("owner");
    let rk = rootlesskit();
    let pid = rk.child_pid().to_string();
    std::fs::write(s.state.join("child_pid"), &pid).unwrap();
    as_admin(&format!(
        "echo {pid} > '{}/_child_pid.u7s-ready'",
        s.state.display()
    ));
    s.assert_all_refused(&["child_pid", "belongs to uid 0"], &[]);
}
