//! What a program that root runs inside the namespaces can reach of root's
//! session (issue #9, item 5). It is u7s-admin's to control, so: it must not
//! push keystrokes into root's terminal (TIOCSTI), see root's environment
//! beyond the whitelist of `ns::env`, inherit root's descriptors above 2, or
//! hold any capability over the host. Terminal use still works through the
//! pty relay: bytes, window size, Ctrl-C and exit statuses.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// The keystrokes the program inside tries to push into its terminal(s).
const INJECT: &str = r#"
import fcntl, os, sys, termios
done = []
fds = [0, 1, 2]
try:
    fds.append(os.open("/dev/tty", os.O_RDWR))
except OSError as e:
    done.append("no /dev/tty: %s" % e.strerror)
for fd in fds:
    try:
        for c in b"echo INJECTED-BY-INSIDE\n":
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
        done.append("fd %d: pushed" % fd)
    except OSError as e:
        done.append("fd %d: %s" % (fd, e.strerror))
print("; ".join(done), file=sys.stderr)
"#;

/// `bash` under util-linux `script`: a real terminal for root's side. Runs
/// `inner`, then reads one line for up to 2 s: whatever root's terminal
/// holds then was typed into it, by someone. Returns the terminal's output.
fn on_a_terminal(rk: &Rootlesskit, inner: &str, input: &[u8]) -> String {
    let shell = format!(
        "{inner}; echo \"status=$?\"; if read -t 2 line; then echo \"ROOT-READ:$line\"; else echo ROOT-READ-NOTHING; fi"
    );
    let mut cmd = command_as(Who::Root, std::path::Path::new("/usr/bin/script"), &rk.tree);
    cmd.args([
        "-qfec",
        &format!("bash --norc --noprofile -c '{shell}'"),
        "/dev/null",
    ])
    .env("U7S_ROOTLESSKIT_STATE_DIR", &rk.state_dir)
    .env("LC_ALL", "C")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = spawn(&mut cmd);
    let mut stdin = child.stdin.take().unwrap();
    if !input.is_empty() {
        std::thread::sleep(Duration::from_millis(1500));
        use std::io::Write;
        stdin.write_all(input).unwrap();
    }
    let start = Instant::now();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    drop(stdin);
    let _ = child.wait();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "the terminal session hung"
    );
    out
}

#[test]
fn tiocsti_from_inside_does_not_reach_roots_terminal() {
    if !require_host() {
        return;
    }
    // The attack is real on this kernel: the same program run by root on
    // its own terminal pushes the line into root's shell.
    let rk = rootlesskit();
    let script = rk.tree.root.join("inject.py");
    std::fs::write(&script, INJECT).unwrap();
    let direct = on_a_terminal(rk, &format!("python3 {}", script.display()), b"");
    if !prerequisite(
        (!direct.contains("ROOT-READ:echo INJECTED-BY-INSIDE")).then(|| {
            format!("TIOCSTI does not work on this kernel (dev.tty.legacy_tiocsti=0?): {direct:?}")
        }),
    ) {
        return;
    }
    let inside = on_a_terminal(
        rk,
        &format!(
            "{} python3 {}",
            rk.tree.applet("nsenter_u7s").display(),
            script.display()
        ),
        b"",
    );
    assert!(inside.contains("status=0"), "{inside:?}");
    assert!(inside.contains("ROOT-READ-NOTHING"), "{inside:?}");
    assert!(
        !inside.contains("ROOT-READ:"),
        "root's shell read injected keys: {inside:?}"
    );
    // The program had a terminal of its own (its ctty, in its own session),
    // and none of its descriptors was root's terminal.
    assert!(inside.contains("fd 0: pushed"), "{inside:?}");
}

#[test]
fn a_terminal_session_inside_works_through_the_relay() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let nsenter = rk.tree.applet("nsenter_u7s").display().to_string();
    // Output, the window size, exit statuses (also by signal) come back.
    let out = on_a_terminal(
        rk,
        &format!(
            "stty rows 33 cols 101; {nsenter} sh -c \"stty size; tty; printf \\\"a\\\\nb\\\\n\\\"; exit 7\"; echo \"first=$?\"; {nsenter} sh -c \"kill -TERM \\$\\$\""
        ),
        b"",
    );
    assert!(out.contains("33 101\r\n"), "{out:?}");
    assert!(out.contains("/dev/pts/"), "{out:?}");
    assert!(out.contains("a\r\nb\r\n"), "{out:?}");
    assert!(out.contains("first=7"), "{out:?}");
    assert!(out.contains("status=143"), "{out:?}");
    // Ctrl-C typed on root's terminal interrupts the program inside.
    let start = Instant::now();
    let out = on_a_terminal(rk, &format!("{nsenter} sleep 20"), b"\x03");
    assert!(out.contains("status=130"), "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(15));
}

#[test]
fn roots_environment_and_descriptors_stay_outside() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    let secret_file = rk.tree.root.join("roots-open-file");
    std::fs::write(&secret_file, "root's\n").unwrap();
    let file = std::fs::File::open(&secret_file).unwrap();
    let mut cmd = rk.cmd(Who::Root, "nsenter_u7s");
    cmd.args(["sh", "-c", "env; echo FDS; ls /proc/$$/fd"])
        .env("ROOTS_TOKEN", "s3cret-token")
        .env("SSH_AUTH_SOCK", "/tmp/ssh-agent.sock")
        .env("LD_PRELOAD", "")
        .env("LANG", "C.UTF-8")
        .env("KUBECONFIG", "/etc/kubernetes/admin.conf");
    {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = file.as_raw_fd();
        // SAFETY: dup2 in the child before exec, to hand it fd 7 (and 20).
        unsafe {
            cmd.pre_exec(move || {
                for target in [7, 20] {
                    if nix::libc::dup2(fd, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    let out = run(&mut cmd);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (env, fds) = stdout.split_once("FDS\n").unwrap();
    let keys: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('=').map(|p| p.0))
        .collect();
    for gone in ["ROOTS_TOKEN", "SSH_AUTH_SOCK", "LD_PRELOAD"] {
        assert!(!keys.contains(&gone), "{gone} reached inside: {env}");
    }
    assert!(env.contains("LANG=C.UTF-8\n"), "{env}");
    assert!(
        env.contains("KUBECONFIG=/etc/kubernetes/admin.conf\n"),
        "{env}"
    );
    // Each variable is whitelisted, u7s-admin's session, or the shell's own.
    let session = [
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "XDG_RUNTIME_DIR",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "ROOTLESSKIT_STATE_DIR",
        "PWD",
        "OLDPWD",
    ];
    for key in &keys {
        assert!(
            u7s::ns::env::passes(std::ffi::OsStr::new(key)) || session.contains(key),
            "{key} is not on the whitelist: {env}"
        );
    }
    let mut fds: Vec<&str> = fds.split_whitespace().collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"], "root's descriptors reached inside");
}

#[test]
fn the_command_has_no_capability_over_the_host() {
    if !require_host() {
        return;
    }
    let rk = rootlesskit();
    // Root-only things in a directory the namespaces share with the host.
    let dir = rk.tree.root.join("root-only");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), "root's secret\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = format!(
        "id -u; cat {d}/secret; echo cat=$?; touch {d}/planted; echo touch=$?; chown 0 {d}; echo chown=$?",
        d = dir.display()
    );
    let out = run(rk.cmd(Who::Root, "nsenter_u7s").args(["sh", "-c", &script]));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("0\n"), "uid 0 inside: {stdout}");
    assert!(!stdout.contains("root's secret"), "{stdout}");
    for step in ["cat=1", "touch=1", "chown=1"] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    assert!(!dir.join("planted").exists());
}

#[test]
fn the_admin_keeps_its_own_environment() {
    if !require_host() {
        return;
    }
    // The whitelist is for root's commands: u7s-admin's own nsenter_u7s
    // passes its environment as it is.
    let rk = rootlesskit();
    let out = run(rk
        .cmd(Who::Admin, "nsenter_u7s")
        .args(["sh", "-c", "echo \"$ADMINS_OWN\""])
        .env("ADMINS_OWN", "kept"));
    assert_eq!(text(&out.stdout), "kept\n");
    let _ = Command::new("true");
}
