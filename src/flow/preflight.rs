//! Preflight: read-only checks before any change, each failure one line that
//! names the missing piece and the fix. Names follow kubeadm's style so
//! `--ignore-preflight-errors=Name,...` (or `all`) can turn a failure into a
//! warning, as admins know from kubeadm.

use std::fmt;
use std::os::unix::fs::PermissionsExt;

use crate::settings::HostRoot;
use crate::stack::ports::{PortSpec, Proto};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The caller is root.
    Root,
    /// A real tool exists and is executable: (name, absolute path).
    Tool(String, String),
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
            Check::UserNamespaces => "UserNamespaces".into(),
            Check::Tun => "DevNetTun".into(),
            Check::CgroupDelegation => "CgroupDelegation".into(),
            Check::Linger(_) => "Linger".into(),
            Check::NoEtcdData => "DirAvailable--var-lib-podsec-u7s-etcd".into(),
            Check::NotInitialised => "NotInitialised".into(),
            Check::PortsFree(_) => "Port".into(),
        }
    }

    /// Runs the check against the host under `root`: `Err` is the one-line
    /// failure with its fix.
    pub fn run(&self, root: &HostRoot, euid_is_root: bool) -> Result<(), String> {
        match self {
            Check::Root if euid_is_root => Ok(()),
            Check::Root => Err(crate::tr!("pf-root")),
            Check::Tool(tool, path) => {
                let ok = std::fs::metadata(path)
                    .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                    .unwrap_or(false);
                if ok {
                    Ok(())
                } else {
                    Err(crate::tr!(
                        "pf-tool",
                        tool,
                        path,
                        tool,
                        tool.to_ascii_uppercase()
                    ))
                }
            }
            Check::UserNamespaces => {
                let max = read_number(root, "/proc/sys/user/max_user_namespaces");
                let clone = read_number(root, "/proc/sys/kernel/unprivileged_userns_clone");
                if max == Some(0) || clone == Some(0) {
                    Err(crate::tr!("pf-userns"))
                } else {
                    Ok(())
                }
            }
            Check::Tun => match std::fs::metadata(root.path("/dev/net/tun")) {
                Ok(m) if m.permissions().mode() & 0o006 == 0o006 => Ok(()),
                Ok(_) => Err(crate::tr!("pf-tun-mode")),
                Err(_) => Err(crate::tr!("pf-tun-missing")),
            },
            Check::CgroupDelegation => {
                let v2 = root.path("/sys/fs/cgroup/cgroup.controllers").exists();
                let dropin = root
                    .path("/etc/systemd/system/user@.service.d/delegate.conf")
                    .exists();
                match (v2, dropin) {
                    (true, true) => Ok(()),
                    (false, _) => Err(crate::tr!("pf-cgroup-v2")),
                    (true, false) => Err(crate::tr!("pf-cgroup-delegate")),
                }
            }
            Check::Linger(user) => {
                if root
                    .path(&format!("/var/lib/systemd/linger/{user}"))
                    .exists()
                {
                    Ok(())
                } else {
                    Err(crate::tr!("pf-linger", user, user))
                }
            }
            Check::NoEtcdData => {
                let dir = crate::layout::host::ETCD_MEMBER_DIR;
                // Data left by our own interrupted run is moved aside by the flow.
                if root.path(dir).exists() && !state_is(root, "in-progress") {
                    Err(crate::tr!("pf-etcd", dir, dir, dir))
                } else {
                    Ok(())
                }
            }
            Check::NotInitialised => {
                if state_is(root, "done") {
                    Err(crate::tr!(
                        "pf-initialised",
                        crate::layout::host::STATE_FILE
                    ))
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
                    if let Ok(Some(text)) = root.read_optional(file) {
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
            Check::UserNamespaces => write!(f, "user namespaces are enabled"),
            Check::Tun => write!(f, "/dev/net/tun is usable"),
            Check::CgroupDelegation => {
                write!(f, "cgroup v2 controllers are delegated to user managers")
            }
            Check::Linger(user) => write!(f, "lingering is enabled for {user}"),
            Check::NoEtcdData => write!(
                f,
                "no etcd data of an earlier cluster in {}",
                crate::layout::host::ETCD_MEMBER_DIR
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
pub fn state_is(root: &HostRoot, state: &str) -> bool {
    root.read_optional(crate::layout::host::STATE_FILE)
        .ok()
        .flatten()
        .is_some_and(|text| text.split_whitespace().next() == Some(state))
}

fn read_number(root: &HostRoot, path: &str) -> Option<i64> {
    root.read_optional(path).ok().flatten()?.trim().parse().ok()
}

/// Local ports taken in /proc/net/{tcp,tcp6,udp,udp6} text: TCP sockets in
/// LISTEN state (st 0A), UDP sockets bound and unconnected (st 07), which is
/// what the port forward would need to bind.
pub fn ports_in_use(text: &str, proto: Proto) -> Vec<u16> {
    let wanted = match proto {
        Proto::Tcp => "0A",
        Proto::Udp => "07",
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            if state != wanted {
                return None;
            }
            let port = local.rsplit(':').next()?;
            u16::from_str_radix(port, 16).ok()
        })
        .collect()
}

/// Whether `--ignore-preflight-errors` entries cover `check` (kubeadm lowercases).
pub fn ignored(check: &Check, ignore: &[String]) -> bool {
    let name = check.name().to_ascii_lowercase();
    ignore
        .iter()
        .map(|i| i.to_ascii_lowercase())
        .any(|i| i == "all" || i == name)
}

/// Runs every check; returns the failures that are not ignored, and prints
/// the ignored ones as warnings.
/// `confirm` is asked about failures the admin may resolve on the spot
/// (moving an earlier cluster's etcd data aside, which the flow then does);
/// a yes turns the failure into a warning.
pub fn run_all(
    checks: &[Check],
    root: &HostRoot,
    euid_is_root: bool,
    ignore: &[String],
    confirm: &dyn Fn(&Check) -> bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    for check in checks {
        if let Err(msg) = check.run(root, euid_is_root) {
            if ignored(check, ignore) || (check.confirmable() && confirm(check)) {
                tracing::warn!(
                    "[preflight] {}",
                    crate::tr!("pf-ignored", check.name(), msg)
                );
            } else {
                failures.push(format!("[preflight] {msg}"));
            }
        }
    }
    failures
}

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
    fn ignore_list_matches_like_kubeadm() {
        let check = Check::Linger("u7s-admin".into());
        assert!(ignored(&check, &["linger".into()]));
        assert!(ignored(&check, &["ALL".into()]));
        assert!(!ignored(&check, &["Port".into()]));
    }

    fn tree(tag: &str) -> (std::path::PathBuf, HostRoot) {
        let dir = std::env::temp_dir().join(format!("u7s-preflight-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (dir.clone(), HostRoot::new(dir))
    }

    #[test]
    fn each_check_fails_with_its_fix_and_passes_when_fixed() {
        let (dir, root) = tree("classes");
        let put = |rel: &str, text: &str| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            p
        };
        assert!(Check::Root.run(&root, false).unwrap_err().contains("root"));
        assert!(Check::Root.run(&root, true).is_ok());
        put("proc/sys/user/max_user_namespaces", "0\n");
        assert!(Check::UserNamespaces
            .run(&root, true)
            .unwrap_err()
            .contains("sysctl"));
        put("proc/sys/user/max_user_namespaces", "1000\n");
        assert!(Check::UserNamespaces.run(&root, true).is_ok());
        assert!(Check::Tun
            .run(&root, true)
            .unwrap_err()
            .contains("modprobe tun"));
        let tun = put("dev/net/tun", "");
        std::fs::set_permissions(&tun, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Check::Tun
            .run(&root, true)
            .unwrap_err()
            .contains("chmod 0666"));
        std::fs::set_permissions(&tun, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(Check::Tun.run(&root, true).is_ok());
        assert!(Check::CgroupDelegation
            .run(&root, true)
            .unwrap_err()
            .contains("unified_cgroup_hierarchy"));
        put("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
        assert!(Check::CgroupDelegation
            .run(&root, true)
            .unwrap_err()
            .contains("delegate.conf"));
        put(
            "etc/systemd/system/user@.service.d/delegate.conf",
            "[Service]\nDelegate=yes\n",
        );
        assert!(Check::CgroupDelegation.run(&root, true).is_ok());
        let linger = Check::Linger("u7s-admin".into());
        assert!(linger
            .run(&root, true)
            .unwrap_err()
            .contains("loginctl enable-linger u7s-admin"));
        put("var/lib/systemd/linger/u7s-admin", "");
        assert!(linger.run(&root, true).is_ok());
        assert!(Check::NoEtcdData.run(&root, true).is_ok());
        std::fs::create_dir_all(dir.join("var/lib/podsec/u7s/etcd/member")).unwrap();
        assert!(Check::NoEtcdData
            .run(&root, true)
            .unwrap_err()
            .contains("kubeadm reset"));
        put("etc/podsec/u7s/config/state", "in-progress init\n");
        assert!(
            Check::NoEtcdData.run(&root, true).is_ok(),
            "our own interrupted run"
        );
        assert!(Check::NotInitialised.run(&root, true).is_ok());
        put("etc/podsec/u7s/config/state", "done init\n");
        assert!(Check::NotInitialised
            .run(&root, true)
            .unwrap_err()
            .contains("kubeadm reset"));
        put("proc/net/tcp", TCP);
        let tcp = |p| PortSpec::any(p, p, Proto::Tcp);
        let ports = Check::PortsFree(vec![tcp(6443), tcp(6667)]);
        assert!(ports.run(&root, true).unwrap_err().contains("6667/tcp"));
        assert!(Check::PortsFree(vec![tcp(6443)]).run(&root, true).is_ok());
        // The same port number over UDP is another port.
        let udp = Check::PortsFree(vec![PortSpec::any(6667, 6667, Proto::Udp)]);
        assert!(udp.run(&root, true).is_ok());
        let tool = Check::Tool("crio".into(), dir.join("nope").display().to_string());
        assert!(tool.run(&root, true).unwrap_err().contains("U7S_CRIO"));
    }
}
