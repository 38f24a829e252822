//! Shared test support: the u7s binary laid out like an installation, stand-ins,
//! and a real rootlesskit running as u7s-admin.
//!
//! Tests that need root, u7s-admin and rootlesskit call `require_host()`. Locally
//! a missing prerequisite skips the test with the reason printed; under `CI=true`
//! it is a failure, so CI can never pass by skipping.

#![allow(dead_code)]

pub mod attack;
pub mod flowhost;
pub mod hosttree;
pub mod kubeadm_model;
pub mod lan;
pub mod nspawn;
pub mod rk_role;
pub mod standin_api;
pub mod trees;

use std::ffi::OsStr;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// crio's stand-in for the systemd-booted containers: it checks and
/// records how the crio role starts it and listens on crio's socket.
pub const CRIO_STANDIN: &str = include_str!("crio-standin.sh");

pub const APPLETS: &[&str] = &["kubeadm", "kubectl", "nsenter_u7s", "rootlessctl"];
pub const ADMIN: &str = "u7s-admin";

pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Skips (locally) or fails (CI) when `reason` is Some.
pub fn prerequisite(reason: Option<String>) -> bool {
    match reason {
        None => true,
        Some(reason) if in_ci() => panic!("CI=true and a prerequisite is missing: {reason}"),
        Some(reason) => {
            eprintln!("SKIPPED: {reason} (run tests/setup-host.sh as root)");
            false
        }
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The problem that keeps the end-to-end tests from running here, if any.
pub fn host_problem() -> Option<String> {
    if !is_root() {
        return Some("end-to-end tests need root".into());
    }
    if nix::unistd::User::from_name(ADMIN).ok().flatten().is_none() {
        return Some(format!("user {ADMIN} does not exist"));
    }
    for tool in [
        "/usr/bin/rootlesskit",
        "/usr/bin/slirp4netns",
        "/usr/bin/newuidmap",
        "/usr/bin/newgidmap",
        "/usr/bin/setpriv",
    ] {
        if !Path::new(tool).exists() {
            return Some(format!("{tool} is not installed"));
        }
    }
    match std::fs::metadata("/dev/net/tun") {
        Ok(m) if m.permissions().mode() & 0o006 == 0o006 => None,
        _ => Some("/dev/net/tun is not usable by u7s-admin (chmod 666 /dev/net/tun)".into()),
    }
}

pub fn require_host() -> bool {
    prerequisite(host_problem())
}

pub struct Admin {
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub fn admin() -> Admin {
    let user = nix::unistd::User::from_name(ADMIN)
        .unwrap()
        .expect("u7s-admin");
    Admin {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    }
}

/// A world-readable scratch tree: u7s-admin must reach the binary and the
/// stand-ins, and the checkout may live under root's 0700 home.
pub struct Tree {
    pub root: PathBuf,
}

impl Tree {
    pub fn new(tag: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("u7s-{tag}-{}", std::process::id()));
        let _ = trees::remove_tree(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tree = Tree { root };
        tree.install_binary();
        tree
    }

    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }

    pub fn applet(&self, name: &str) -> PathBuf {
        self.bin().join(name)
    }

    fn install_binary(&self) {
        let bin = self.bin();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_u7s"), bin.join("u7s")).unwrap();
        std::fs::set_permissions(bin.join("u7s"), std::fs::Permissions::from_mode(0o755)).unwrap();
        for applet in APPLETS {
            symlink("u7s", bin.join(applet)).unwrap();
        }
    }

    /// A directory anyone may write into (for stand-ins' records).
    pub fn open_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        dir
    }

    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let dir = self.root.join("stubs");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

/// Removed when dropped, unless `U7S_KEEP_TEST_TREES=1` ([`trees`]).
impl Drop for Tree {
    fn drop(&mut self) {
        trees::dispose(&self.root);
    }
}

/// A command that runs `program` as u7s-admin (through setpriv) or as root,
/// with a clean, predictable environment.
pub fn command_as(user: Who, program: &Path, tree: &Tree) -> Command {
    let path_var = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", tree.bin().display());
    let mut cmd = match user {
        Who::Root => Command::new(program),
        Who::Admin => {
            let a = admin();
            let mut c = Command::new("/usr/bin/setpriv");
            c.arg(format!("--reuid={}", a.uid))
                .arg(format!("--regid={}", a.gid))
                .arg("--init-groups")
                .arg("--")
                .arg(program);
            // What a login session of u7s-admin (pam_systemd) would have.
            c.env("HOME", &a.home)
                .env("USER", ADMIN)
                .env("XDG_RUNTIME_DIR", format!("/run/user/{}", a.uid))
                // u7s-admin's own files (the recorded NodePorts) stay in the test tree.
                .env("XDG_CONFIG_HOME", tree.open_dir("xdg-config"));
            c
        }
    };
    cmd.env_remove("U7S_DEBUG")
        .env("PATH", path_var)
        .env("SHELL", "/bin/sh");
    if let Who::Root = user {
        cmd.env("HOME", "/root").env("USER", "root");
    }
    cmd
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Root,
    Admin,
}

/// The built binary with `args`, and none of this process's `U7S_*`
/// variables (each test sets the ones it means): the one way the tests
/// start u7s against a host tree. Run it with [`run`] or [`spawn`].
pub fn u7s_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_u7s"));
    cmd.args(args);
    without_u7s_env(&mut cmd);
    cmd
}

/// Removes this process's `U7S_*` variables from `cmd`'s environment.
pub fn without_u7s_env(cmd: &mut Command) {
    for (key, _) in std::env::vars() {
        if key.starts_with("U7S_") {
            cmd.env_remove(key);
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The locale variables u7s reads (POSIX precedence) to pick its language.
pub const LOCALE_VARS: [&str; 3] = ["LC_ALL", "LC_MESSAGES", "LANG"];

/// English messages (`LC_ALL=C`) unless the test chose a locale itself: the
/// tests assert English texts and must not break on a Russian-locale machine.
pub fn english_unless_chosen(cmd: &mut Command) {
    let chosen = cmd
        .get_envs()
        .any(|(k, _)| LOCALE_VARS.iter().any(|v| k == *v));
    if !chosen {
        cmd.env("LC_ALL", "C");
    }
}

/// Runs `cmd` to completion with no stdin (in English unless the test chose a locale).
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    english_unless_chosen(cmd);
    retry_busy(|| cmd.output())
}

/// Spawns `cmd` (stdio as the caller set it; English unless the test chose a locale).
/// Runs `cmd` with `input` on its stdin and its stdout captured (stderr is
/// left as `cmd` has it); its output once it ends.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = spawn(cmd.stdin(Stdio::piped()).stdout(Stdio::piped()));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

pub fn spawn(cmd: &mut Command) -> std::process::Child {
    english_unless_chosen(cmd);
    retry_busy(|| cmd.spawn())
}

/// Tests copy executables while other test threads fork; a fork that happens
/// while a copy is open for writing makes exec of that file fail with ETXTBSY
/// until the forked child execs. That is brief, so try again.
fn retry_busy<T>(mut f: impl FnMut() -> std::io::Result<T>) -> T {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.expect("spawn"),
        }
    }
}

/// A real rootlesskit as u7s-admin, with the podsec flags and a child that
/// writes the readiness file once `child_pid` exists, then sleeps.
pub struct Rootlesskit {
    pub state_dir: PathBuf,
    pub tree: Tree,
    /// rootlesskit's pid (setpriv execs it).
    pub pid: u32,
}

impl Rootlesskit {
    pub fn child_pid(&self) -> i32 {
        std::fs::read_to_string(self.state_dir.join("child_pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// The environment that points u7s at this rootlesskit.
    pub fn cmd(&self, who: Who, applet: &str) -> Command {
        let mut cmd = command_as(who, &self.tree.applet(applet), &self.tree);
        cmd.env("U7S_ROOTLESSKIT_STATE_DIR", &self.state_dir);
        cmd
    }
}

const CHILD_SCRIPT: &str = r#"#!/bin/sh
# Stand-in for the child-side setup: mark readiness the way u7s's setup does.
state=$1
# What the child-side setup binds over /var/lib/kubelet (a mount point inside).
mkdir -p /var/lib/kubelet && mount --bind /var/lib/kubelet /var/lib/kubelet || exit 1
while [ ! -s "$state/child_pid" ]; do sleep 0.05; done
cat "$state/child_pid" > "$state/_child_pid.u7s-ready.tmp"
mv "$state/_child_pid.u7s-ready.tmp" "$state/_child_pid.u7s-ready"
exec sleep 86400
"#;

static RK: OnceLock<Rootlesskit> = OnceLock::new();

/// The rootlesskit shared by the tests of one test binary. It is started from a
/// thread that lives as long as the process, so `--pdeathsig` (which fires when
/// the spawning *thread* exits) ends it when the test binary ends.
pub fn rootlesskit() -> &'static Rootlesskit {
    RK.get_or_init(|| {
        let tree = Tree::new("rk");
        let state_dir = tree.root.join("state");
        let a = admin();
        std::fs::create_dir_all(&state_dir).unwrap();
        nix::unistd::chown(
            &state_dir,
            Some(nix::unistd::Uid::from_raw(a.uid)),
            Some(nix::unistd::Gid::from_raw(a.gid)),
        )
        .unwrap();
        let child = tree.script("rk-child.sh", CHILD_SCRIPT);
        let log = tree.root.join("rootlesskit.log");
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.arg(format!("--reuid={}", a.uid))
            .arg(format!("--regid={}", a.gid))
            .arg("--init-groups")
            .arg("--pdeathsig=TERM")
            .arg("--")
            .arg("/usr/bin/rootlesskit")
            .arg("--state-dir")
            .arg(&state_dir)
            // The podsec layout, exactly as the rootlesskit role passes it.
            .args(u7s::stack::rootlesskit::FLAGS)
            .arg(&child)
            .arg(&state_dir)
            .env_clear()
            .env("HOME", &a.home)
            .env("USER", ADMIN)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("XDG_RUNTIME_DIR", format!("/run/user/{}", a.uid))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let spawned = cmd.spawn();
            let ok = spawned.is_ok();
            tx.send(spawned.map(|c| c.id()).map_err(|e| e.to_string()))
                .unwrap();
            if ok {
                loop {
                    std::thread::park();
                }
            }
        });
        let pid = rx.recv().unwrap().expect("start rootlesskit");
        // A static is never dropped: its tree goes when the process exits.
        // SAFETY: registers a plain function; atexit has no other contract.
        unsafe { nix::libc::atexit(end_shared_rootlesskit) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = state_dir.join("_child_pid.u7s-ready");
        while !ready.exists() {
            if Instant::now() > deadline {
                panic!(
                    "rootlesskit did not become ready in 30 s: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Rootlesskit {
            state_dir,
            tree,
            pid,
        }
    })
}

/// At exit: ends the shared rootlesskit (before its `--pdeathsig` would)
/// and removes its tree, which it writes into until then.
extern "C" fn end_shared_rootlesskit() {
    let Some(rk) = RK.get() else { return };
    let pid = nix::unistd::Pid::from_raw(rk.pid as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => break,
        }
    }
    trees::dispose(&rk.tree.root);
}

pub fn ns_of(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}
