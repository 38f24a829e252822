//! Preflight: read-only checks before any change, each failure one line that
//! names the missing piece and the fix. Names follow kubeadm's style so
//! `--ignore-preflight-errors=Name,...` (or `all`) can turn a failure into a
//! warning, as admins know from kubeadm.

use std::fmt;
use std::path::Path;

use crate::layout::host;
use crate::os::{read_text, At, Ids, Kind, Os};
use crate::stack::ports::{PortSpec, Proto};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The caller is root.
    Root,
    /// A real tool exists and is executable: (name, absolute path).
    Tool(String, String),
    /// newuidmap or newgidmap exists, is privileged and `user` may run it
    /// (`crate::idmap`, the same check as `u7s doctor`'s).
    IdMap {
        tool: String,
        path: String,
        user: String,
    },
    /// Unprivileged user namespaces are enabled.
    UserNamespaces,
    /// /dev/net/tun is usable by u7s-admin (slirp4netns opens it).
    Tun,
    /// cgroup v2 with controllers delegated to user managers.
    CgroupDelegation,
    /// systemd keeps u7s-admin's user manager running without a login.
    Linger(String),
    /// No etcd data of an earlier cluster.
    NoEtcdData,
    /// No earlier u7s cluster on this host.
    NotInitialised,
    /// Nothing holds the host ports the node forwards
    /// ([`crate::stack::ports::role_ports`]: its role, bind port and CNI).
    PortsFree(Vec<PortSpec>),
}

impl Check {
    /// The name `--ignore-preflight-errors` takes.
    pub fn name(&self) -> String {
        match self {
            Check::Root => "IsPrivilegedUser".into(),
            Check::Tool(tool, _) => format!("FileExisting-{tool}"),
            Check::IdMap { tool, .. } => crate::idmap::check_name(tool)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("FileExisting-{tool}")),
            Check::UserNamespaces => "UserNamespaces".into(),
            Check::Tun => "DevNetTun".into(),
            Check::CgroupDelegation => "CgroupDelegation".into(),
            Check::Linger(_) => "Linger".into(),
            Check::NoEtcdData => "DirAvailable--var-lib-podsec-u7s-etcd".into(),
            Check::NotInitialised => "NotInitialised".into(),
            Check::PortsFree(_) => "Port".into(),
        }
    }

    /// Runs the check against the host (u7s-admin has `admin`'s ids): `Err`
    /// is the one-line failure with its fix.
    pub fn run(&self, os: &dyn Os, admin: Ids) -> Result<(), String> {
        let exists = |path: &str| matches!(os.stat(At::root(path)), Ok(Some(_)));
        match self {
            Check::Root if os.euid() == 0 => Ok(()),
            Check::Root => Err(crate::tr!("pf-root")),
            Check::Tool(tool, path) => {
                if os.executable(Path::new(path)) {
                    Ok(())
                } else {
                    let minor = chosen_minor(os);
                    Err(crate::tr!(
                        "pf-tool",
                        tool,
                        path,
                        crate::tools::alt_package(tool, minor),
                        tool.to_ascii_uppercase()
                    ))
                }
            }
            Check::IdMap { tool, path, user } => {
                match crate::idmap::problem(os, tool, Path::new(path), user, admin) {
                    None => Ok(()),
                    Some(p) => Err(format!("{}; {}", p.message, p.fix)),
                }
            }
            Check::UserNamespaces => {
                let max = read_number(os, "/proc/sys/user/max_user_namespaces");
                let clone = read_number(os, "/proc/sys/kernel/unprivileged_userns_clone");
                if max == Some(0) || clone == Some(0) {
                    Err(crate::tr!("pf-userns"))
                } else {
                    Ok(())
                }
            }
            Check::Tun => match os.stat(At::root("/dev/net/tun")) {
                Ok(Some(m)) if m.kind != Kind::Dir && m.mode & 0o006 == 0o006 => Ok(()),
                Ok(Some(_)) => Err(crate::tr!("pf-tun-mode")),
                _ => Err(crate::tr!("pf-tun-missing")),
            },
            Check::CgroupDelegation => {
                let v2 = exists("/sys/fs/cgroup/cgroup.controllers");
                let dropin = exists("/etc/systemd/system/user@.service.d/delegate.conf");
                match (v2, dropin) {
                    (true, true) => Ok(()),
                    (false, _) => Err(crate::tr!("pf-cgroup-v2")),
                    (true, false) => Err(crate::tr!("pf-cgroup-delegate")),
                }
            }
            Check::Linger(user) => {
                if exists(&format!("/var/lib/systemd/linger/{user}")) {
                    Ok(())
                } else {
                    Err(crate::tr!("pf-linger", user, user))
                }
            }
            Check::NoEtcdData => {
                let dir = host::ETCD_MEMBER_DIR;
                // Data left by our own interrupted run is moved aside by the flow.
                // u7s-admin's directory: looked at without following a link.
                let there = matches!(os.stat(At::admin(dir, admin)), Ok(Some(_)));
                if there && !state_is(os, "in-progress") {
                    Err(crate::tr!("pf-etcd", dir, dir, dir))
                } else {
                    Ok(())
                }
            }
            Check::NotInitialised => {
                if state_is(os, "done") {
                    Err(crate::tr!("pf-initialised", host::STATE_FILE))
                } else {
                    Ok(())
                }
            }
            Check::PortsFree(ports) => {
                let mut taken: Vec<(u16, Proto)> = Vec::new();
                for (file, proto) in [
                    ("/proc/net/tcp", Proto::Tcp),
                    ("/proc/net/tcp6", Proto::Tcp),
                    ("/proc/net/udp", Proto::Udp),
                    ("/proc/net/udp6", Proto::Udp),
                ] {
                    if let Ok(Some(text)) = read_text(os, At::root(file)) {
                        taken.extend(ports_in_use(&text, proto).into_iter().map(|p| (p, proto)));
                    }
                }
                let busy: Vec<String> = ports
                    .iter()
                    .filter(|s| taken.contains(&(s.parent_port, s.proto)))
                    .map(|s| format!("{}/{}", s.parent_port, s.proto.name()))
                    .collect();
                if busy.is_empty() {
                    Ok(())
                } else {
                    Err(crate::tr!("pf-ports", busy.join(", ")))
                }
            }
        }
    }
}

/// What the admin is asked about an earlier cluster's etcd data.
fn confirm_question() -> String {
    crate::tr!("confirm-etcd-aside", host::ETCD_MEMBER_DIR)
}

impl Check {
    /// Whether the admin may answer this failure on a terminal: only the etcd
    /// data of an earlier cluster, which the flow moves to a dated backup.
    pub fn confirmable(&self) -> bool {
        matches!(self, Check::NoEtcdData)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Root => write!(f, "running as root"),
            Check::Tool(tool, path) => write!(f, "{tool} is installed at {path}"),
            Check::IdMap { tool, path, user } => {
                write!(f, "{tool} at {path} is privileged and {user} may run it")
            }
            Check::UserNamespaces => write!(f, "user namespaces are enabled"),
            Check::Tun => write!(f, "/dev/net/tun is usable"),
            Check::CgroupDelegation => {
                write!(f, "cgroup v2 controllers are delegated to user managers")
            }
            Check::Linger(user) => write!(f, "lingering is enabled for {user}"),
            Check::NoEtcdData => write!(
                f,
                "no etcd data of an earlier cluster in {}",
                host::ETCD_MEMBER_DIR
            ),
            Check::NotInitialised => write!(f, "no u7s cluster runs on this host yet"),
            Check::PortsFree(ports) => {
                let list = |proto: Proto| {
                    ports
                        .iter()
                        .filter(|s| s.proto == proto)
                        .map(|s| s.parent_port.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                write!(
                    f,
                    "ports {}/tcp and {}/udp are free",
                    list(Proto::Tcp),
                    list(Proto::Udp)
                )
            }
        }
    }
}

/// Whether the state file's first word is `state`.
pub fn state_is(os: &dyn Os, state: &str) -> bool {
    read_text(os, At::root(host::STATE_FILE))
        .ok()
        .flatten()
        .is_some_and(|text| text.split_whitespace().next() == Some(state))
}

fn read_number(os: &dyn Os, path: &str) -> Option<i64> {
    read_text(os, At::root(path))
        .ok()
        .flatten()?
        .trim()
        .parse()
        .ok()
}

/// `y`/`yes` (and the Russian `д`/`да`), any case; anything else is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "д" | "да"
    )
}

/// Local ports taken in /proc/net/{tcp,tcp6,udp,udp6} text.
pub fn ports_in_use(text: &str, proto: Proto) -> Vec<u16> {
    crate::stack::ports::listening_sockets(text, proto)
        .into_iter()
        .map(|socket| socket.port)
        .collect()
}

/// Whether `--ignore-preflight-errors` entries cover `check` (kubeadm lowercases).
pub fn ignored(check: &Check, ignore: &[String]) -> bool {
    ignores(ignore, &check.name())
}

/// Whether `--ignore-preflight-errors` entries cover the check `name`.
pub fn ignores(ignore: &[String], name: &str) -> bool {
    ignore
        .iter()
        .any(|i| i.eq_ignore_ascii_case("all") || i.eq_ignore_ascii_case(name))
}

/// kubeadm's name for the image pull of its preflight. u7s checks the
/// registry's tags and pulls in a step of its own (kubeadm's pull runs
/// inside the namespaces, as u7s-admin): ignored, each failure of that step
/// is a warning, as kubeadm makes it, and kubelet pulls later.
pub const IMAGE_PULL: &str = "ImagePull";

/// The Kubernetes minor the admin chose with `U7S_KUBEVERSION` (`v1.31.2`
/// gives 31), for ALT's per-minor package names; `None` when not set.
fn chosen_minor(os: &dyn Os) -> Option<u32> {
    let v = os.env("U7S_KUBEVERSION")?;
    v.to_str()?
        .strip_prefix("v1.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// One failed check, in kubeadm's words: `[ERROR Name]: text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub name: String,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[ERROR {}]: {}", self.name, self.message)
    }
}

/// Runs every check; returns the failures that are not ignored, and prints
/// the ignored ones as kubeadm does, `[WARNING Name]: text`, at the default
/// verbosity. A failure the admin may resolve on the spot (moving an earlier
/// cluster's etcd data aside, which the flow then does) is asked about on
/// the terminal; a yes turns it into a warning.
pub fn run_all(checks: &[Check], os: &dyn Os, admin: Ids, ignore: &[String]) -> Vec<Failure> {
    let mut failures = Vec::new();
    for check in checks {
        if let Err(msg) = check.run(os, admin) {
            if ignored(check, ignore) || (check.confirmable() && os.ask(&confirm_question())) {
                tracing::warn!(
                    target: crate::log::PROGRESS,
                    "[WARNING {}]: {}",
                    check.name(),
                    msg
                );
            } else {
                failures.push(Failure {
                    name: check.name(),
                    message: msg,
                });
            }
        }
    }
    failures
}

/// Every check's name as `--ignore-preflight-errors` takes it, and what it
/// checks: the list `kubeadm init --help` and `man u7s-kubeadm` show.
pub const NAMES: &[(&str, &str)] = &[
    ("IsPrivilegedUser", "kubeadm init and join run as root"),
    (
        "FileExisting-<tool>",
        "the real tool is installed where u7s looks for it (kubeadm, kubelet, kubectl, crio, crun, conmon, rootlesskit, slirp4netns, ...)",
    ),
    (
        "NewUidMap",
        "newuidmap is installed, setuid root (or has file capabilities) and u7s-admin may run it: ALT's control newuidmap may restrict it to a group",
    ),
    (
        "NewGidMap",
        "the same for newgidmap (control newgidmap)",
    ),
    ("UserNamespaces", "unprivileged user namespaces are enabled"),
    ("DevNetTun", "/dev/net/tun exists and u7s-admin can open it"),
    (
        "CgroupDelegation",
        "cgroup v2, with controllers delegated to systemd user managers",
    ),
    ("Linger", "lingering is on for u7s-admin"),
    (
        "DirAvailable--var-lib-podsec-u7s-etcd",
        "no etcd data of an earlier cluster",
    ),
    ("NotInitialised", "no u7s cluster runs on this host yet"),
    ("Port", "the host ports the node forwards are free"),
    (
        IMAGE_PULL,
        "the registry has each image's tag, and kubeadm's and the CNI plugin's images are pulled; ignored, each failure of that step is a warning and kubelet pulls later",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1A0B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1673 1 0 100 0 0 10 0\n   1: 020200C0:98F0 507100CB:0050 06 00000000:00000000 03:00001212 00000000     0        0 0 3 0\n   2: 0100007F:0948 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0\n";

    #[test]
    fn ports_in_use_are_read_from_proc_net() {
        assert_eq!(ports_in_use(TCP, Proto::Tcp), vec![6667, 2376]);
        let udp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n  1: 00000000:2118 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n  2: 0100007F:0035 0100007F:1A0B 01 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n";
        assert_eq!(ports_in_use(udp, Proto::Udp), vec![8472]);
    }

    #[test]
    fn every_check_name_is_listed_for_help_and_the_man_page() {
        let checks = [
            Check::Root,
            Check::Tool("crio".into(), "/usr/bin/crio".into()),
            id_map("newuidmap"),
            id_map("newgidmap"),
            Check::UserNamespaces,
            Check::Tun,
            Check::CgroupDelegation,
            Check::Linger("u7s-admin".into()),
            Check::NoEtcdData,
            Check::NotInitialised,
            Check::PortsFree(Vec::new()),
        ];
        for check in checks {
            let name = check.name();
            assert!(
                NAMES.iter().any(|(n, _)| *n == name
                    || n.strip_suffix("<tool>")
                        .is_some_and(|p| name.starts_with(p))),
                "{name} is not in NAMES"
            );
        }
        let f = Failure {
            name: "DevNetTun".into(),
            message: "x".into(),
        };
        assert_eq!(f.to_string(), "[ERROR DevNetTun]: x");
    }

    fn id_map(tool: &str) -> Check {
        Check::IdMap {
            tool: tool.into(),
            path: format!("/usr/bin/{tool}"),
            user: "u7s-admin".into(),
        }
    }

    #[test]
    fn id_map_tools_are_checked_as_control_leaves_them() {
        use crate::os::record::RecordingOs;
        let mut os = RecordingOs::new();
        os.add_group("podman", 480, &["alice"]);
        for tool in ["newuidmap", "newgidmap"] {
            let check = id_map(tool);
            let path = format!("/usr/bin/{tool}");
            // `control TOOL podmanonly`: u7s-admin is not in group podman.
            os.set_program(&path, 0o4710, 0, 480);
            let err = check.run(&os, ADMIN).unwrap_err();
            assert!(err.contains("usermod -a -G podman u7s-admin"), "{err}");
            assert!(err.contains(&format!("control {tool} public")), "{err}");
            assert_eq!(
                run_all(std::slice::from_ref(&check), &os, ADMIN, &[]),
                vec![Failure {
                    name: check.name(),
                    message: err
                }]
            );
            assert!(
                run_all(
                    std::slice::from_ref(&check),
                    &os,
                    ADMIN,
                    &[check.name().to_lowercase()]
                )
                .is_empty(),
                "--ignore-preflight-errors takes {}",
                check.name()
            );
            // After usermod: a member may run it.
            os.add_group("podman", 480, &["alice", "u7s-admin"]);
            assert!(check.run(&os, ADMIN).is_ok());
            os.add_group("podman", 480, &["alice"]);
            // `control TOOL public`: setuid root, 4755.
            os.set_program(&path, 0o4755, 0, 0);
            assert!(check.run(&os, ADMIN).is_ok());
        }
        assert_eq!(id_map("newuidmap").name(), "NewUidMap");
        assert_eq!(id_map("newgidmap").name(), "NewGidMap");
    }

    #[test]
    fn ignore_list_matches_like_kubeadm() {
        let check = Check::Linger("u7s-admin".into());
        assert!(ignored(&check, &["linger".into()]));
        assert!(ignored(&check, &["ALL".into()]));
        assert!(!ignored(&check, &["Port".into()]));
    }

    const ADMIN: Ids = Ids { uid: 999, gid: 999 };

    #[test]
    fn each_check_fails_with_its_fix_and_passes_when_fixed() {
        use crate::os::record::RecordingOs;
        let mut os = RecordingOs::new();
        os.euid = 1000;
        assert!(Check::Root.run(&os, ADMIN).unwrap_err().contains("root"));
        os.euid = 0;
        assert!(Check::Root.run(&os, ADMIN).is_ok());
        os.put("/proc/sys/user/max_user_namespaces", "0\n");
        assert!(Check::UserNamespaces
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("sysctl"));
        os.put("/proc/sys/user/max_user_namespaces", "1000\n");
        assert!(Check::UserNamespaces.run(&os, ADMIN).is_ok());
        assert!(Check::Tun
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("modprobe tun"));
        os.put_owned("/dev/net/tun", b"", 0o600, 0);
        assert!(Check::Tun
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("chmod 0666"));
        os.put_owned("/dev/net/tun", b"", 0o666, 0);
        assert!(Check::Tun.run(&os, ADMIN).is_ok());
        assert!(Check::CgroupDelegation
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("unified_cgroup_hierarchy"));
        os.put("/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
        assert!(Check::CgroupDelegation
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("delegate.conf"));
        os.put(
            "/etc/systemd/system/user@.service.d/delegate.conf",
            "[Service]\nDelegate=yes\n",
        );
        assert!(Check::CgroupDelegation.run(&os, ADMIN).is_ok());
        let linger = Check::Linger("u7s-admin".into());
        assert!(linger
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("loginctl enable-linger u7s-admin"));
        os.put("/var/lib/systemd/linger/u7s-admin", "");
        assert!(linger.run(&os, ADMIN).is_ok());
        assert!(Check::NoEtcdData.run(&os, ADMIN).is_ok());
        os.put_dir("/var/lib/podsec/u7s/etcd/member", 0o700, 999);
        assert!(Check::NoEtcdData
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("kubeadm reset"));
        os.put("/etc/podsec/u7s/config/state", "in-progress init\n");
        assert!(
            Check::NoEtcdData.run(&os, ADMIN).is_ok(),
            "our own interrupted run"
        );
        assert!(Check::NotInitialised.run(&os, ADMIN).is_ok());
        os.put("/etc/podsec/u7s/config/state", "done init\n");
        assert!(Check::NotInitialised
            .run(&os, ADMIN)
            .unwrap_err()
            .contains("kubeadm reset"));
        os.put("/proc/net/tcp", TCP);
        let tcp = |p| PortSpec::any(p, p, Proto::Tcp);
        let ports = Check::PortsFree(vec![tcp(6443), tcp(6667)]);
        assert!(ports.run(&os, ADMIN).unwrap_err().contains("6667/tcp"));
        assert!(Check::PortsFree(vec![tcp(6443)]).run(&os, ADMIN).is_ok());
        // The same port number over UDP is another port.
        let udp = Check::PortsFree(vec![PortSpec::any(6667, 6667, Proto::Udp)]);
        assert!(udp.run(&os, ADMIN).is_ok());
        let tool = Check::Tool("crio".into(), "/nope/crio".into());
        assert!(tool.run(&os, ADMIN).unwrap_err().contains("U7S_CRIO"));
        os.install_tool(crate::tools::Tool::Crio, "/nope/crio");
        assert!(tool.run(&os, ADMIN).is_ok());
    }

    #[test]
    fn only_a_clear_yes_is_yes() {
        for yes in ["y", "Y\n", " yes ", "да", "Д"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yess", "нет"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
