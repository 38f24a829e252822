//! `u7s haproxy-config` output is accepted by Debian's haproxy (`haproxy -c`).

mod support;

use std::process::Command;

use support::*;

#[test]
fn haproxy_accepts_the_generated_configuration() {
    let tree = Tree::new("haproxy");
    let out = run(Command::new(tree.applet("u7s")).args([
        "haproxy-config",
        "--master",
        "10.0.0.11:6443",
        "--master",
        "10.0.0.12",
        "--master",
        "[fd00::13]:6443",
        "--port",
        "18443",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = tree.root.join("haproxy.cfg");
    std::fs::write(&config, &out.stdout).unwrap();
    let body = text(&out.stdout);
    assert!(
        body.contains("server master02 10.0.0.12:6443 check"),
        "{body}"
    );
    assert!(body.contains("bind *:18443"), "{body}");
    if !prerequisite(
        (!std::path::Path::new("/usr/sbin/haproxy").exists())
            .then(|| "haproxy is not installed".into()),
    ) {
        return;
    }
    let check = run(Command::new("/usr/sbin/haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&config));
    assert!(
        check.status.success(),
        "haproxy -c refused it:\n{}{}\n{body}",
        text(&check.stdout),
        text(&check.stderr)
    );
}

#[test]
fn bad_masters_are_one_line_errors_with_nothing_on_stdout() {
    let tree = Tree::new("haproxy-bad");
    for args in [
        vec!["haproxy-config"],
        vec!["haproxy-config", "--master", "10.0.0.1:99999"],
        vec!["haproxy-config", "--master", "a", "--master", "a:6443"],
    ] {
        let out = run(Command::new(tree.applet("u7s")).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}
