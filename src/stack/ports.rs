//! Port forwards through the rootlesskit API: the fixed set each node role
//! needs, and the persistent list of forwards the admin added
//! (`rootlessctl add-ports`), which the child-side setup re-applies after a
//! restart.
//!
//! The list (`$XDG_CONFIG_HOME/usernetes/ports`) belongs to u7s-admin, so it
//! is data, validated line by line as it is read: only `IP:PORT:PORT/PROTO`
//! specs (the shape `rootlessctl add-ports` takes) are accepted.

use std::fmt;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};

use serde_json::Value;

use crate::settings::envfile::write_atomic;
use crate::settings::{CniPlugin, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One forward: `PARENTIP:PARENTPORT:CHILDPORT/PROTO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortSpec {
    pub parent_ip: IpAddr,
    pub parent_port: u16,
    pub child_port: u16,
    pub proto: Proto,
}

impl PortSpec {
    /// A forward from every host address, `0.0.0.0:PARENT:CHILD/PROTO`.
    pub fn any(parent_port: u16, child_port: u16, proto: Proto) -> PortSpec {
        PortSpec {
            parent_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            parent_port,
            child_port,
            proto,
        }
    }

    /// Two specs that rootlesskit would refuse to have both (same parent
    /// address, port and protocol).
    pub fn conflicts(&self, other: &PortSpec) -> bool {
        self.proto == other.proto
            && self.parent_port == other.parent_port
            && (self.parent_ip == other.parent_ip
                || self.parent_ip.is_unspecified()
                || other.parent_ip.is_unspecified())
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parent_ip {
            IpAddr::V4(ip) => write!(f, "{ip}")?,
            IpAddr::V6(ip) => write!(f, "[{ip}]")?,
        }
        write!(
            f,
            ":{}:{}/{}",
            self.parent_port,
            self.child_port,
            self.proto.name()
        )
    }
}

fn port(s: &str) -> Result<u16> {
    let ok = !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    match s.parse::<u16>() {
        Ok(p) if ok && p > 0 && !s.starts_with('0') => Ok(p),
        _ => bail!("{}", crate::tr!("not-a-port-range", format!("{s:?}"))),
    }
}

impl FromStr for PortSpec {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<PortSpec> {
        let shape = || anyhow!("{}", crate::tr!("port-spec-shape", format!("{s:?}")));
        let (rest, proto) = s.rsplit_once('/').ok_or_else(shape)?;
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => bail!(
                "{}",
                crate::tr!("port-spec-proto", format!("{s:?}"), format!("{proto:?}"))
            ),
        };
        let (ip, ports) = if let Some(v6) = rest.strip_prefix('[') {
            let (ip, ports) = v6.split_once("]:").ok_or_else(shape)?;
            let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| shape())?;
            (IpAddr::V6(ip), ports)
        } else {
            let (ip, ports) = rest.split_once(':').ok_or_else(shape)?;
            let ip: Ipv4Addr = ip.parse().map_err(|_| shape())?;
            (IpAddr::V4(ip), ports)
        };
        let (parent, child) = ports.split_once(':').ok_or_else(shape)?;
        Ok(PortSpec {
            parent_ip: ip,
            parent_port: port(parent).with_context(|| format!("{s:?}"))?,
            child_port: port(child).with_context(|| format!("{s:?}"))?,
            proto,
        })
    }
}

/// The forwards a node of `role` needs (reference `rootlesskit.sh`): the one
/// definition, used by the rootlesskit role to forward them and by
/// preflight to check that they are free. Control-plane nodes: etcd (2379,
/// 2380) and the API server (`bind_port`, 6443 by default); every node the
/// kubelet/kube-proxy ports (10250, 10255, 10256), flannel's VXLAN
/// (8472/udp) and DNS (6053 -> 53/udp); then the plugin's own
/// ([`crate::cni::ports`]: calico's Typha 5473/tcp, VXLAN 4789/udp,
/// WireGuard 51820/udp). A port already in the list is not added twice.
pub fn role_ports(role: Role, cni: CniPlugin, bind_port: u16) -> Vec<PortSpec> {
    let mut forwards: Vec<(u16, u16, Proto)> = Vec::new();
    if role.is_control_plane() {
        forwards.extend([2379, 2380, bind_port].map(|p| (p, p, Proto::Tcp)));
    }
    forwards.extend([10250, 10255, 10256].map(|p| (p, p, Proto::Tcp)));
    forwards.extend([(8472, 8472, Proto::Udp), (6053, 53, Proto::Udp)]);
    forwards.extend(crate::cni::ports(cni));
    // TCP first, each protocol in the order above (a stable sort).
    forwards.sort_by_key(|&(_, _, proto)| proto);
    let mut out: Vec<PortSpec> = Vec::new();
    for (host, child, proto) in forwards {
        let spec = PortSpec::any(host, child, proto);
        if !out.iter().any(|o| o.conflicts(&spec)) {
            out.push(spec);
        }
    }
    out
}

/// The largest list we read.
const MAX_LEN: u64 = 1 << 20;

/// The persistent list: valid specs in file order, and a warning for every
/// line that was not one (such lines are ignored, and dropped when the list
/// is next written).
pub fn parse_list(text: &str, origin: &str) -> (Vec<PortSpec>, Vec<String>) {
    let mut specs: Vec<PortSpec> = Vec::new();
    let mut warnings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.parse::<PortSpec>() {
            Ok(spec) if !specs.contains(&spec) => specs.push(spec),
            Ok(_) => {}
            Err(e) => warnings.push(crate::tr!(
                "ports-line-ignored",
                origin,
                i + 1,
                format!("{e:#}")
            )),
        }
    }
    (specs, warnings)
}

pub fn render_list(specs: &[PortSpec]) -> String {
    let mut out = String::from(
        "# Port forwards added with `rootlessctl add-ports`, re-applied when rootlesskit starts.\n# Written by u7s; one IP:PORT:PORT/PROTO per line.\n",
    );
    for spec in specs {
        out.push_str(&spec.to_string());
        out.push('\n');
    }
    out
}

/// Reads the list at `path` (a missing file is an empty list); invalid lines
/// are logged as warnings and skipped.
pub fn read_list(path: &Path) -> Result<Vec<PortSpec>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| crate::tr!("cannot-read", path.display())),
    };
    if !meta.is_file() || meta.len() > MAX_LEN {
        bail!(
            "{}",
            crate::tr!("ports-list-not-file", path.display(), MAX_LEN)
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| crate::tr!("cannot-read", path.display()))?;
    let (specs, warnings) = parse_list(&text, &path.display().to_string());
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(specs)
}

/// Changes the list at `path` under an exclusive lock (`<path>.lock`), so
/// two concurrent `rootlessctl` calls do not lose each other's entries, and
/// writes it atomically. The directory is created if needed.
pub fn update_list(path: &Path, change: impl FnOnce(&mut Vec<PortSpec>)) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| crate::tr!("cannot-create", dir.display()))?;
    }
    let mut lock_name = path.as_os_str().to_owned();
    lock_name.push(".lock");
    let lock_file = File::create(&lock_name)
        .with_context(|| crate::tr!("cannot-create", Path::new(&lock_name).display()))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive).map_err(
        |(_, e)| {
            anyhow!(
                "{}",
                crate::tr!("cannot-lock", Path::new(&lock_name).display(), e)
            )
        },
    )?;
    let mut specs = read_list(path)?;
    let before = specs.clone();
    change(&mut specs);
    if specs == before && path.exists() {
        return Ok(());
    }
    write_atomic(path, render_list(&specs).as_bytes(), 0o644)
}

/// The forwards `rootlessctl list-ports --json` prints (one JSON object per
/// line), by id. Entries our spec shape cannot express (a child IP) are
/// returned as `None`.
pub fn parse_list_ports_json(text: &str) -> Result<Vec<(u64, Option<PortSpec>)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: &str| anyhow!("{}", crate::tr!("list-ports-json-line", i + 1, what));
        let v: Value = serde_json::from_str(line).map_err(|e| at(&e.to_string()))?;
        let id = v
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| at("no id"))?;
        let spec = v.get("spec").ok_or_else(|| at("no spec"))?;
        let text_of = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or("");
        let num = |k: &str| {
            spec.get(k)
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok())
        };
        let parsed = (|| {
            if !text_of("childIP").is_empty() {
                return None;
            }
            let proto = match text_of("proto") {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                _ => return None,
            };
            let parent_ip = match text_of("parentIP") {
                "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                ip => ip.parse().ok()?,
            };
            Some(PortSpec {
                parent_ip,
                parent_port: num("parentPort").filter(|p| *p > 0)?,
                child_port: num("childPort").filter(|p| *p > 0)?,
                proto,
            })
        })();
        out.push((id, parsed));
    }
    Ok(out)
}

/// A listening TCP socket or a bound UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    pub port: u16,
    pub proto: Proto,
    pub uid: u32,
}

/// The listening (TCP state 0A) or unconnected (UDP state 07) sockets of a
/// `/proc/net/{tcp,tcp6,udp,udp6}` table, with their owner: what a port
/// forward would need to bind, and who holds it. Lines that do not parse
/// are skipped. (Preflight asks which ports are taken; doctor whose they are.)
pub fn listening_sockets(text: &str, proto: Proto) -> Vec<Socket> {
    let wanted = match proto {
        Proto::Tcp => "0A",
        Proto::Udp => "07",
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 || f[3] != wanted {
                return None;
            }
            let (_, port) = f[1].rsplit_once(':')?;
            Some(Socket {
                port: u16::from_str_radix(port, 16).ok()?,
                proto,
                uid: f[7].parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(list: &[&str]) -> Vec<PortSpec> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn shown(v: &[PortSpec]) -> Vec<String> {
        v.iter().map(PortSpec::to_string).collect()
    }

    #[test]
    fn specs_parse_and_print() {
        for s in [
            "0.0.0.0:30080:30080/tcp",
            "127.0.0.1:6053:53/udp",
            "[::]:8080:80/tcp",
            "[fd00::1]:1:65535/udp",
        ] {
            assert_eq!(s.parse::<PortSpec>().unwrap().to_string(), s);
        }
        for bad in [
            "",
            "30080",
            "0.0.0.0:30080/tcp",
            "0.0.0.0:30080:30080",
            "0.0.0.0:30080:30080/sctp",
            "0.0.0.0:0:80/tcp",
            "0.0.0.0:65536:80/tcp",
            "0.0.0.0:080:80/tcp",
            "0.0.0.0:+80:80/tcp",
            "host:80:80/tcp",
            "0.0.0.0:80:127.0.0.1:80/tcp",
            "::80:80/tcp",
            "0.0.0.0:80:80/tcp; rm -rf /",
            " 0.0.0.0:80:80/tcp",
        ] {
            assert!(bad.parse::<PortSpec>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn masters_and_workers_differ_as_the_spec_says() {
        let master = shown(&role_ports(Role::InitMaster, CniPlugin::Flannel, 6443));
        assert_eq!(
            master,
            [
                "0.0.0.0:2379:2379/tcp",
                "0.0.0.0:2380:2380/tcp",
                "0.0.0.0:6443:6443/tcp",
                "0.0.0.0:10250:10250/tcp",
                "0.0.0.0:10255:10255/tcp",
                "0.0.0.0:10256:10256/tcp",
                "0.0.0.0:8472:8472/udp",
                "0.0.0.0:6053:53/udp",
            ]
        );
        assert_eq!(
            role_ports(Role::ControlPlaneJoin, CniPlugin::Flannel, 6443),
            role_ports(Role::InitMaster, CniPlugin::Flannel, 6443)
        );
        let worker = shown(&role_ports(Role::Worker, CniPlugin::Flannel, 6443));
        assert_eq!(
            worker,
            [
                "0.0.0.0:10250:10250/tcp",
                "0.0.0.0:10255:10255/tcp",
                "0.0.0.0:10256:10256/tcp",
                "0.0.0.0:8472:8472/udp",
                "0.0.0.0:6053:53/udp",
            ]
        );
    }

    #[test]
    fn calico_and_a_custom_bind_port() {
        let calico = shown(&role_ports(Role::Worker, CniPlugin::Calico, 6443));
        for want in [
            "0.0.0.0:5473:5473/tcp",
            "0.0.0.0:4789:4789/udp",
            "0.0.0.0:51820:51820/udp",
            "0.0.0.0:8472:8472/udp",
        ] {
            assert!(calico.iter().any(|s| s == want), "{want} missing");
        }
        let custom = shown(&role_ports(Role::InitMaster, CniPlugin::Flannel, 7443));
        assert!(custom.iter().any(|s| s == "0.0.0.0:7443:7443/tcp"));
        assert!(!custom.iter().any(|s| s.starts_with("0.0.0.0:6443:")));
        // a bind port equal to a fixed one is forwarded once
        let same = role_ports(Role::InitMaster, CniPlugin::Flannel, 10250);
        assert_eq!(same.len(), 7);
    }

    #[test]
    fn the_list_is_validated_line_by_line() {
        let text = "# comment\n\n0.0.0.0:30080:30080/tcp\nrm -rf /\n0.0.0.0:30080:30080/tcp\n 127.0.0.1:31000:31000/udp \n";
        let (got, warnings) = parse_list(text, "ports");
        assert_eq!(
            shown(&got),
            ["0.0.0.0:30080:30080/tcp", "127.0.0.1:31000:31000/udp"]
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("ports:4: "), "{}", warnings[0]);
        let again = render_list(&got);
        assert_eq!(parse_list(&again, "x"), (got, vec![]));
    }

    #[test]
    fn list_updates_are_atomic_and_deduplicated() {
        let dir = std::env::temp_dir().join(format!("u7s-ports-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("usernetes/ports");
        assert_eq!(read_list(&path).unwrap(), vec![]);
        let a = specs(&["0.0.0.0:30080:30080/tcp", "0.0.0.0:30081:30081/udp"]);
        update_list(&path, |l| l.extend(a.clone())).unwrap();
        update_list(&path, |l| {
            if !l.contains(&a[0]) {
                l.push(a[0]);
            }
        })
        .unwrap();
        assert_eq!(read_list(&path).unwrap(), a);
        update_list(&path, |l| l.retain(|s| *s != a[0])).unwrap();
        assert_eq!(read_list(&path).unwrap(), a[1..]);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| n == "ports" || n == "ports.lock"),
            "{names:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn list_ports_json_by_id() {
        let text = r#"{"id":1,"spec":{"proto":"tcp","parentIP":"0.0.0.0","parentPort":30080,"childPort":30080}}
{"id":2,"spec":{"proto":"udp","parentIP":"0.0.0.0","parentPort":6053,"childPort":53}}
{"id":3,"spec":{"proto":"tcp","parentIP":"0.0.0.0","parentPort":8080,"childIP":"127.0.0.1","childPort":80}}
{"id":4,"spec":{"proto":"tcp","parentPort":8081,"childPort":81}}
"#;
        let got = parse_list_ports_json(text).unwrap();
        assert_eq!(
            got,
            vec![
                (1, Some("0.0.0.0:30080:30080/tcp".parse().unwrap())),
                (2, Some("0.0.0.0:6053:53/udp".parse().unwrap())),
                (3, None),
                (4, Some("0.0.0.0:8081:81/tcp".parse().unwrap())),
            ]
        );
        assert!(parse_list_ports_json("{\"spec\":{}}").is_err());
        let e = parse_list_ports_json("{\"id\":1,\"spec\":{}}\n{\"id\":2,")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("rootlessctl list-ports --json, line 2: "),
            "{e}"
        );
        assert!(parse_list_ports_json("not json").is_err());
        assert!(parse_list_ports_json("{\"id\":1.5,\"spec\":{}}").is_err());
        assert_eq!(parse_list_ports_json("\n").unwrap(), vec![]);
    }
}
