//! Root's rootlessctl and the API socket path u7s-admin chooses (issue #9,
//! item 8): u7s-admin points `api.sock` at a socket only root may use; root's
//! `rootlessctl` must connect as u7s-admin, so the connection is refused by
//! the kernel and the root-only service never sees it.

mod support;

use std::os::unix::net::UnixListener;
use std::process::Command;
use std::time::Duration;

use support::attack::*;
use support::*;

#[test]
fn roots_rootlessctl_cannot_reach_a_root_only_socket_through_the_admins_link() {
    if !require_host() {
        return;
    }
    let tree = Tree::new("attack-rootlessctl");
    // A service only root may talk to.
    let private = tree.root.join("root-only");
    std::fs::create_dir(&private).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = private.join("service.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    // Counts connections and hangs up on each at once.
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let accepted = || connections.swap(0, std::sync::atomic::Ordering::SeqCst);
    // u7s-admin's state dir, with api.sock leading there.
    let run = tree.root.join("run-user");
    std::fs::create_dir(&run).unwrap();
    let a = admin();
    std::os::unix::fs::chown(&run, Some(a.uid), Some(a.gid)).unwrap();
    let state = run.join("rootlesskit");
    as_admin(&format!(
        "mkdir '{s}' && ln -s '{sock}' '{s}/api.sock'",
        s = state.display(),
        sock = socket.display()
    ));
    // Control: the real rootlessctl run by root itself does connect.
    let _ = run_within(
        Command::new("/usr/bin/rootlessctl")
            .arg("--socket")
            .arg(state.join("api.sock"))
            .arg("info"),
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        accepted() > 0,
        "the control did not connect: the test proves nothing"
    );
    for args in [
        &["info"][..],
        &["list-ports"],
        &["add-ports", "0.0.0.0:30999:30999/tcp"],
    ] {
        let mut cmd = command_as(Who::Root, &tree.applet("rootlessctl"), &tree);
        cmd.args(args).env("U7S_ROOTLESSKIT_STATE_DIR", &state);
        let (out, took) = run_within(&mut cmd, Duration::from_secs(20));
        assert_ne!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(took < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(accepted(), 0, "{args:?} reached the root-only socket");
    }
}
