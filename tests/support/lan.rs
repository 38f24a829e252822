//! A private LAN for test machines: a network namespace holding a bridge,
//! and one network namespace per machine joined to it by a veth pair (`eth0`
//! inside, with its address and a default route). Nothing in it is connected
//! to the host's own network, so the test's traffic cannot leave it.
//!
//! Everything is named `<tag>-<pid>…` so parallel runs do not collide;
//! dropping the [`Lan`] deletes the namespaces (and with them the bridge and
//! the veth pairs). Leftovers of runs whose process is gone (killed before
//! their `Drop` ran) are swept by [`Lan::new`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The test network: TEST-NET-1 (RFC 5737), never routed anywhere.
pub const PREFIX: &str = "192.0.2";
pub const GATEWAY: &str = "192.0.2.1";

pub struct Lan {
    /// The namespace of the bridge (`<tag>-<pid>`).
    pub netns: String,
    hosts: Vec<String>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn netns_names() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The pid in `<tag>-<pid>[-...]`, if `name` is one of ours.
pub fn owner_pid(tag: &str, name: &str) -> Option<i32> {
    let rest = name.strip_prefix(tag)?.strip_prefix('-')?;
    rest.split('-').next()?.parse().ok()
}

impl Lan {
    /// The bridge namespace with `br0` up and [`GATEWAY`]/24 on it.
    pub fn new(tag: &str) -> Result<Lan, String> {
        for stale in netns_names() {
            if let Some(pid) = owner_pid(tag, &stale) {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = ip(&["netns", "del", &stale]);
                }
            }
        }
        let netns = format!("{tag}-{}", std::process::id());
        ip(&["netns", "add", &netns])?;
        let lan = Lan {
            netns,
            hosts: Vec::new(),
        };
        let n = lan.netns.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        ip(&["-n", n, "link", "add", "br0", "type", "bridge"])?;
        ip(&[
            "-n",
            n,
            "addr",
            "add",
            &format!("{GATEWAY}/24"),
            "dev",
            "br0",
        ])?;
        ip(&["-n", n, "link", "set", "br0", "up"])?;
        Ok(lan)
    }

    /// A machine's namespace `<lan>-<name>` with `eth0` = `addr`/24 on the
    /// bridge and the default route through [`GATEWAY`]. Returns its path,
    /// for `systemd-nspawn --network-namespace-path`.
    pub fn add_host(&mut self, name: &str, addr: &str) -> Result<PathBuf, String> {
        let ns = format!("{}-{name}", self.netns);
        ip(&["netns", "add", &ns])?;
        self.hosts.push(ns.clone());
        let port = format!("v-{name}");
        if port.len() > 15 {
            return Err(format!("{port}: interface names have at most 15 bytes"));
        }
        ip(&[
            "-n",
            &self.netns,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &ns,
        ])?;
        ip(&["-n", &self.netns, "link", "set", &port, "master", "br0"])?;
        ip(&["-n", &self.netns, "link", "set", &port, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", &ns, "route", "add", "default", "via", GATEWAY])?;
        Ok(PathBuf::from("/run/netns").join(ns))
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.hosts.iter().chain(std::iter::once(&self.netns)) {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("lan: {e}");
            }
        }
    }
}
