//! The rootlesskit role (`u7s rootlesskit`) run for real as u7s-admin, each
//! run in its own tree: env file, XDG dirs, state dir, a CNI plugin dir.
//!
//! The role forwards FIXED host ports (6443, 10250, ... from 0.0.0.0), so two
//! roles must never run at once: every test holds [`serial`] while it runs.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{chown, Gid, Pid, Uid};
use u7s::settings::Role;

use super::*;

/// One role at a time (see the module documentation).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the role tests need beyond [`host_problem`].
pub fn role_problem() -> Option<String> {
    host_problem().or_else(|| {
        [
            "/usr/bin/rootlessctl",
            "/usr/bin/python3",
            "/sbin/ip",
            "/usr/bin/findmnt",
        ]
        .iter()
        .find(|t| !Path::new(t).exists())
        .map(|t| format!("{t} is not installed"))
    })
}

pub fn require_role_host() -> bool {
    prerequisite(role_problem())
}

/// The advertise address the tests give the node (tap0 carries it as /32).
pub const ADVERTISE: Ipv4Addr = Ipv4Addr::new(10, 20, 30, 40);
/// The slirp4netns address rootlesskit gives tap0 for 10.96.0.0/12.
pub const SLIRP: &str = "10.96.0.100";

pub struct RoleTree {
    pub tree: Tree,
    /// XDG_CONFIG_HOME (holds usernetes/env and usernetes/ports).
    pub config: PathBuf,
    pub data: PathBuf,
    pub state: PathBuf,
    pub cni: PathBuf,
}

fn own_by_admin(path: &Path) {
    let a = admin();
    chown(path, Some(Uid::from_raw(a.uid)), Some(Gid::from_raw(a.gid))).unwrap();
}

impl RoleTree {
    pub fn new(tag: &str) -> RoleTree {
        let tree = Tree::new(&format!("role-{tag}"));
        let admin_dir = |name: &str| {
            let dir = tree.root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            own_by_admin(&dir);
            dir
        };
        let config = admin_dir("config");
        let data = admin_dir("data");
        let run = admin_dir("run");
        let cni = tree.root.join("cni");
        std::fs::create_dir_all(&cni).unwrap();
        std::fs::write(cni.join("bridge"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&cni, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(cni.join("bridge"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let dir = config.join("usernetes");
        std::fs::create_dir_all(&dir).unwrap();
        own_by_admin(&dir);
        RoleTree {
            tree,
            config,
            data,
            state: run.join("rootlesskit"),
            cni,
        }
    }

    pub fn env_path(&self) -> PathBuf {
        self.config.join("usernetes/env")
    }

    pub fn ports_path(&self) -> PathBuf {
        self.config.join("usernetes/ports")
    }

    /// Writes the env file (through the crate's EnvFile) for `role`.
    pub fn write_env(&self, role: Role) {
        let mut env = u7s::settings::envfile::fixture::env_file("initMaster");
        env.control_plane = role;
        env.advertise_address = ADVERTISE;
        env.uid = admin().uid;
        env.write(&self.env_path()).unwrap();
        own_by_admin(&self.env_path());
    }

    /// `program` as u7s-admin with this tree's environment; `pdeathsig` ends
    /// it when the spawning thread (the test) ends.
    pub fn admin_cmd(&self, program: &Path) -> Command {
        let a = admin();
        let mut c = Command::new("/usr/bin/setpriv");
        c.arg(format!("--reuid={}", a.uid))
            .arg(format!("--regid={}", a.gid))
            .arg("--init-groups")
            .arg("--pdeathsig=KILL")
            .arg("--")
            .arg(program)
            .env_clear()
            .env("HOME", &a.home)
            .env("USER", ADMIN)
            .env("XDG_RUNTIME_DIR", format!("/run/user/{}", a.uid))
            .env("XDG_CONFIG_HOME", &self.config)
            .env("XDG_DATA_HOME", &self.data)
            .env("U7S_ROOTLESSKIT_STATE_DIR", &self.state)
            .env("U7S_CNI_BIN_DIR", &self.cni)
            .env(
                "PATH",
                format!(
                    "{}:/usr/sbin:/usr/bin:/sbin:/bin",
                    self.tree.bin().display()
                ),
            )
            .env("SHELL", "/bin/sh");
        c
    }

    /// `u7s rootlesskit ARGS` as u7s-admin.
    pub fn role_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.admin_cmd(&self.tree.bin().join("u7s"));
        c.arg("rootlesskit").args(args);
        c
    }

    /// Runs the role to completion.
    pub fn run_role(&self, args: &[&str]) -> Output {
        run(&mut self.role_cmd(args))
    }

    /// Starts the role with `cmd` and waits until it is ready.
    pub fn start(&self, cmd: &[&str]) -> RoleRun {
        let log = self.tree.root.join("role.log");
        let mut c = self.role_cmd(&[]);
        c.arg("--")
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = spawn(&mut c);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ready_pid().is_some() {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the role exited ({status}) before it was ready: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "the role was not ready in 30 s: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        RoleRun { child, log }
    }

    fn read_trimmed(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.state.join(name))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    pub fn child_pid(&self) -> Option<String> {
        self.read_trimmed("child_pid")
    }

    pub fn ready_pid(&self) -> Option<String> {
        self.read_trimmed("_child_pid.u7s-ready")
    }

    /// `nsenter_u7s ARGS` as u7s-admin, with this tree's environment.
    pub fn nsenter(&self, args: &[&str]) -> Output {
        let mut c = self.admin_cmd(&self.tree.applet("nsenter_u7s"));
        c.args(args);
        run(&mut c)
    }

    /// The forwards rootlesskit has, as `PARENTIP:PARENTPORT:CHILDPORT/PROTO`, sorted.
    pub fn forwards(&self) -> Vec<String> {
        let out = self.nsenter(&["rootlessctl", "list-ports", "--json"]);
        assert!(out.status.success(), "list-ports: {}", text(&out.stderr));
        let mut v: Vec<String> = u7s::stack::ports::parse_list_ports_json(&text(&out.stdout))
            .unwrap()
            .into_iter()
            .map(|(_, spec)| spec.expect("a plain spec").to_string())
            .collect();
        v.sort();
        v
    }
}

impl Drop for RoleTree {
    /// Runs after the test's [`RoleRun`]s are dropped (declared later), so
    /// nothing is mounted from here any more.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tree.root);
    }
}

/// A running role; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct RoleRun {
    pub child: Child,
    pub log: PathBuf,
}

impl RoleRun {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait (10 s, then SIGKILL).
    pub fn stop(&mut self) -> ExitStatus {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RoleRun {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A stand-in for crio: answers every connection on PORT with a greeting.
pub const LISTENER: &str = r#"#!/usr/bin/python3
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(b"hello from inside")
    c.close()
"#;

/// Connects to 127.0.0.1:`port` on the host until the greeting comes back
/// (the listener inside may still be starting), for up to 10 s.
pub fn greeting(port: u16) -> String {
    use std::io::Read;
    let mut reply = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while reply.is_empty() && Instant::now() < deadline {
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = conn.read_to_string(&mut reply);
        }
        if reply.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    reply
}
