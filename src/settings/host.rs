//! Facts about the host, read from files under the root prefix.
//!
//! Every parser here is a pure function of the file's text so that it can be
//! tested with samples; [`HostFacts::read`] only does the file reads. Addresses
//! come from `/proc/net/fib_trie` (the kernel's LOCAL /32 entries) and are
//! matched to interfaces through the connected-subnet routes of
//! `/proc/net/route`, which needs neither netlink nor the `ip` tool.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{anyhow, bail, Context, Result};

use super::network::Cidr;
use super::root::HostRoot;

/// One real host entry of `/etc/hosts`: an address and its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsEntry {
    pub addr: IpAddr,
    pub names: Vec<String>,
}

/// Parses `/etc/hosts`: `#` starts a comment anywhere on a line; a line whose
/// first field is not an IP address is not a host entry and is skipped.
pub fn parse_hosts(text: &str) -> Vec<HostsEntry> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_ascii_whitespace();
            let addr: IpAddr = fields.next()?.parse().ok()?;
            let names: Vec<String> = fields.map(str::to_owned).collect();
            (!names.is_empty()).then_some(HostsEntry { addr, names })
        })
        .collect()
}

/// The fields of `/etc/os-release` that choose the image registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub cpe_name: Option<String>,
    pub alt_branch_id: Option<String>,
}

/// Parses `/etc/os-release` (`KEY=value`, value bare or in single or double
/// quotes, backslash escapes inside double quotes). Read as data, never sourced.
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut out = OsRelease::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote_os_release(raw.trim());
        match key.trim() {
            "CPE_NAME" => out.cpe_name = Some(value),
            "ALT_BRANCH_ID" => out.alt_branch_id = Some(value),
            _ => {}
        }
    }
    out
}

fn unquote_os_release(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_owned();
    }
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let mut out = String::new();
        let mut chars = raw[1..raw.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_owned()
}

/// `/etc/hostname`: the first line that is neither empty nor a comment.
pub fn parse_hostname(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
}

/// One line of `/proc/net/route` (the main IPv4 routing table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub iface: String,
    pub destination: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub flags: u16,
    pub metric: u32,
    /// `None` when the mask is not contiguous (not expressible as a prefix).
    pub prefix: Option<u8>,
}

const RTF_UP: u16 = 0x0001;
const RTF_GATEWAY: u16 = 0x0002;

impl RouteEntry {
    pub fn is_up(&self) -> bool {
        self.flags & RTF_UP != 0
    }

    pub fn is_default(&self) -> bool {
        self.is_up() && self.destination.is_unspecified() && self.prefix == Some(0)
    }

    /// A route to a directly attached subnet: what an interface address implies.
    pub fn is_connected(&self) -> bool {
        self.is_up() && self.flags & RTF_GATEWAY == 0 && self.prefix.is_some_and(|p| p > 0)
    }
}

/// The kernel prints each address as the `%08X` of a network-order u32 read in
/// host order, so the bytes in native order are the address.
fn proc_hex_addr(field: &str) -> Option<Ipv4Addr> {
    if field.len() != 8 {
        return None;
    }
    let v = u32::from_str_radix(field, 16).ok()?;
    Some(Ipv4Addr::from(v.to_ne_bytes()))
}

fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// Parses `/proc/net/route`. The header line is checked so that a file of
/// another format is an error, not an empty table.
pub fn parse_route(text: &str) -> Result<Vec<RouteEntry>> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let cols: Vec<&str> = header.split_ascii_whitespace().collect();
    let want = [
        "Iface",
        "Destination",
        "Gateway",
        "Flags",
        "RefCnt",
        "Use",
        "Metric",
        "Mask",
    ];
    if cols.len() < want.len() || cols[..want.len()] != want {
        bail!("{}", crate::tr!("route-bad-header", format!("{header:?}")));
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let bad = || {
            anyhow!(
                "{}",
                crate::tr!("route-bad-line", i + 2, format!("{line:?}"))
            )
        };
        if f.len() < 8 {
            return Err(bad());
        }
        out.push(RouteEntry {
            iface: f[0].to_owned(),
            destination: proc_hex_addr(f[1]).ok_or_else(bad)?,
            gateway: proc_hex_addr(f[2]).ok_or_else(bad)?,
            flags: u16::from_str_radix(f[3], 16).map_err(|_| bad())?,
            metric: f[6].parse().map_err(|_| bad())?,
            prefix: mask_prefix(proc_hex_addr(f[7]).ok_or_else(bad)?),
        });
    }
    Ok(out)
}

/// The local (own) IPv4 addresses from `/proc/net/fib_trie`: leaves followed by
/// a `/32 host LOCAL` alias. Both the Main and Local tables may list them;
/// the result is sorted and without duplicates.
pub fn parse_fib_trie_local(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("|-- ") {
            leaf = rest.trim().parse().ok();
        } else if let Some(alias) = t.strip_prefix('/') {
            let words: Vec<&str> = alias.split_ascii_whitespace().collect();
            if let (Some(addr), ["32", "host", "LOCAL", ..]) = (leaf, words.as_slice()) {
                out.push(addr);
            }
        } else {
            // `+-- a.b.c.d/n ...` (an inner node) or a table name ends the leaf.
            leaf = None;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// An IPv4 address on a host interface, with the prefix of its subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddr {
    /// `None` for a local address no connected route explains (e.g. added with
    /// `noprefixroute`); it is still a host address for overlap checks.
    pub iface: Option<String>,
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl HostAddr {
    pub fn subnet(&self) -> Cidr {
        Cidr::containing(self.addr, self.prefix)
    }

    pub fn iface_label(&self) -> &str {
        self.iface
            .as_deref()
            .unwrap_or("an interface with no connected route")
    }
}

/// Each local address with the interface and prefix of the most specific
/// connected route that contains it. Loopback addresses have no route in the
/// main table; they are put on `lo` with /8.
pub fn interface_addrs(routes: &[RouteEntry], locals: &[Ipv4Addr]) -> Vec<HostAddr> {
    locals
        .iter()
        .map(|&addr| {
            if addr.is_loopback() {
                return HostAddr {
                    iface: Some("lo".into()),
                    addr,
                    prefix: 8,
                };
            }
            let best = routes
                .iter()
                .filter(|r| r.is_connected())
                .filter_map(|r| r.prefix.map(|p| (r, p)))
                .filter(|(r, p)| Cidr::containing(r.destination, *p).contains(addr))
                .max_by_key(|(r, p)| (*p, std::cmp::Reverse(r.metric)));
            match best {
                Some((r, p)) => HostAddr {
                    iface: Some(r.iface.clone()),
                    addr,
                    prefix: p,
                },
                None => HostAddr {
                    iface: None,
                    addr,
                    prefix: 32,
                },
            }
        })
        .collect()
}

/// The default route with the lowest metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoute {
    pub iface: String,
    /// `None` for a default route straight onto a link (no gateway).
    pub gateway: Option<Ipv4Addr>,
}

pub fn default_route(routes: &[RouteEntry]) -> Option<DefaultRoute> {
    routes
        .iter()
        .filter(|r| r.is_default())
        .min_by_key(|r| r.metric)
        .map(|r| DefaultRoute {
            iface: r.iface.clone(),
            gateway: (r.flags & RTF_GATEWAY != 0 && !r.gateway.is_unspecified())
                .then_some(r.gateway),
        })
}

/// What the settings need to know about the host. Built by [`HostFacts::read`]
/// or directly (tests, dry runs on another machine's facts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub hosts: Vec<HostsEntry>,
    pub os_release: OsRelease,
    pub hostname: String,
    pub default_route: Option<DefaultRoute>,
    pub addrs: Vec<HostAddr>,
}

/// Where host facts are read from: the files under a root prefix
/// ([`HostRoot`]), or the flow's OS layer.
pub trait HostFiles {
    /// A host file as text; `None` when it does not exist.
    fn read_optional(&self, abs: &str) -> Result<Option<String>>;
    /// `abs` as a message names it (under the root prefix).
    fn shown(&self, abs: &str) -> String;
    /// The running kernel's host name, when the files are this machine's.
    fn kernel_hostname(&self) -> Result<Option<String>>;
}

impl HostFiles for HostRoot {
    fn read_optional(&self, abs: &str) -> Result<Option<String>> {
        HostRoot::read_optional(self, abs)
    }

    fn shown(&self, abs: &str) -> String {
        self.path(abs).display().to_string()
    }

    fn kernel_hostname(&self) -> Result<Option<String>> {
        if !self.is_system_root() {
            return Ok(None);
        }
        let uts = nix::sys::utsname::uname().with_context(|| crate::tr!("cannot-read-hostname"))?;
        Ok(Some(uts.nodename().to_string_lossy().into_owned()))
    }
}

impl HostFacts {
    /// Reads the host files. A missing `/etc/hosts` is an empty table; a
    /// missing `/etc/os-release` gives no CPE_NAME; a missing `/etc/hostname`
    /// falls back to uname only on the real root (a prefix describes another
    /// machine, whose name the running kernel does not know).
    pub fn read(root: &impl HostFiles) -> Result<HostFacts> {
        let hosts = root.read_optional("/etc/hosts")?.unwrap_or_default();
        let os = root.read_optional("/etc/os-release")?.unwrap_or_default();
        let hostname = match root
            .read_optional("/etc/hostname")?
            .as_deref()
            .and_then(parse_hostname)
        {
            Some(h) => h,
            None => root.kernel_hostname()?.ok_or_else(|| {
                anyhow!(
                    "{}",
                    crate::tr!("missing-or-empty", root.shown("/etc/hostname"))
                )
            })?,
        };
        let route_text = root.read_optional("/proc/net/route")?.ok_or_else(|| {
            anyhow!(
                "{}",
                crate::tr!("is-missing", root.shown("/proc/net/route"))
            )
        })?;
        let routes = parse_route(&route_text).with_context(|| root.shown("/proc/net/route"))?;
        let fib = root.read_optional("/proc/net/fib_trie")?.ok_or_else(|| {
            anyhow!(
                "{}",
                crate::tr!("is-missing", root.shown("/proc/net/fib_trie"))
            )
        })?;
        Ok(HostFacts {
            hosts: parse_hosts(&hosts),
            os_release: parse_os_release(&os),
            hostname,
            default_route: default_route(&routes),
            addrs: interface_addrs(&routes, &parse_fib_trie_local(&fib)),
        })
    }

    /// True iff a real host entry maps exactly `name` (case-insensitive, as
    /// host names are).
    pub fn hosts_maps(&self, name: &str) -> bool {
        self.hosts
            .iter()
            .any(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The host address on `addr`, if it is one.
    pub fn addr_info(&self, addr: Ipv4Addr) -> Option<&HostAddr> {
        self.addrs.iter().find(|a| a.addr == addr)
    }

    /// The address of the default-route interface: the one whose subnet holds
    /// the gateway (as the reference chose it), else the interface's first.
    pub fn default_addr(&self) -> Option<&HostAddr> {
        let route = self.default_route.as_ref()?;
        let on_iface = || {
            self.addrs
                .iter()
                .filter(move |a| a.iface.as_deref() == Some(route.iface.as_str()))
        };
        route
            .gateway
            .and_then(|gw| on_iface().find(|a| a.subnet().contains(gw)))
            .or_else(|| on_iface().next())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A host with two NICs and docker, default route via eth0 (little-endian
    /// hex, as x86_64 and aarch64 print it).
    pub const ROUTE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0                                                                               
eth1\t00000000\t01000A0A\t0003\t0\t0\t200\t00000000\t0\t0\t0                                                                               
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0                                                                               
eth1\t00000A0A\t00000000\t0001\t0\t0\t200\t0000FFFF\t0\t0\t0                                                                               
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0                                                                               
eth1\t001E140A\t01000A0A\t0003\t0\t0\t200\t80FFFFFF\t0\t0\t0                                                                               
";

    pub const FIB_TRIE: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.10.0.0/16 2 0 2
        |-- 10.10.0.0
           /16 link UNICAST
        |-- 10.10.0.7
           /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     |-- 172.17.0.0
        /16 link UNICAST
     |-- 172.17.0.1
        /32 host LOCAL
     |-- 172.17.255.255
        /32 link BROADCAST
     +-- 192.168.1.0/24 2 0 2
        |-- 192.168.1.0
           /24 link UNICAST
        |-- 192.168.1.5
           /32 host LOCAL
        |-- 192.168.1.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     +-- 10.10.0.0/16 2 0 2
        |-- 10.10.0.7
           /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     |-- 172.17.0.1
        /32 host LOCAL
     |-- 192.168.1.5
        /32 host LOCAL
     |-- 203.0.113.9
        /32 host LOCAL
";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// Formats an address as the kernel does, for tests that must hold on
    /// big-endian hosts too.
    fn hex(a: &str) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip(a).octets()))
    }

    #[test]
    fn hosts_entries_skip_comments_and_junk() {
        let e = parse_hosts(
            "# 10.0.0.9 registry.local\n127.0.0.1\tlocalhost localhost.localdomain\n\
             ::1 ip6-localhost # comment registry.local\nnot-an-ip name\n10.0.0.1 registry registry.local\n",
        );
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].names, ["localhost", "localhost.localdomain"]);
        assert_eq!(e[1].names, ["ip6-localhost"]);
        assert_eq!(e[2].addr, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(e[2].names, ["registry", "registry.local"]);
    }

    #[test]
    fn os_release_quotes() {
        let o = parse_os_release(
            "NAME=\"ALT SP Server\"\nCPE_NAME=\"cpe:/o:alt:spserver:10\"\n# CPE_NAME=x\nALT_BRANCH_ID=c10f2\n",
        );
        assert_eq!(o.cpe_name.as_deref(), Some("cpe:/o:alt:spserver:10"));
        assert_eq!(o.alt_branch_id.as_deref(), Some("c10f2"));
        let o = parse_os_release("CPE_NAME='cpe:/o:alt:p10'\n");
        assert_eq!(o.cpe_name.as_deref(), Some("cpe:/o:alt:p10"));
        let o = parse_os_release("CPE_NAME=\"a\\\"b\"\n");
        assert_eq!(o.cpe_name.as_deref(), Some("a\"b"));
        assert_eq!(parse_os_release("ID=debian\n"), OsRelease::default());
    }

    #[test]
    fn hostname_first_real_line() {
        assert_eq!(
            parse_hostname("\n# x\n  master01 \n").as_deref(),
            Some("master01")
        );
        assert_eq!(parse_hostname("\n\n"), None);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn route_sample_parses() {
        let r = parse_route(ROUTE).unwrap();
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].iface, "eth0");
        assert!(r[0].is_default());
        assert_eq!(r[0].gateway, ip("192.168.1.1"));
        assert_eq!(r[2].destination, ip("192.168.1.0"));
        assert_eq!(r[2].prefix, Some(24));
        assert!(r[2].is_connected());
        assert_eq!(r[5].prefix, Some(25));
        assert!(
            !r[5].is_connected(),
            "a gateway route is not a connected subnet"
        );
        assert_eq!(
            default_route(&r),
            Some(DefaultRoute {
                iface: "eth0".into(),
                gateway: Some(ip("192.168.1.1"))
            })
        );
    }

    #[test]
    fn route_lowest_metric_default_wins_and_endianness_helper() {
        let text = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             wlan0\t00000000\t{}\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
             ens3\t00000000\t{}\t0003\t0\t0\t50\t00000000\t0\t0\t0\n\
             ens3\t{}\t00000000\t0001\t0\t0\t50\t{}\t0\t0\t0\n",
            hex("10.1.0.1"),
            hex("172.20.0.1"),
            hex("172.20.0.0"),
            hex("255.255.240.0")
        );
        let r = parse_route(&text).unwrap();
        let d = default_route(&r).unwrap();
        assert_eq!(d.iface, "ens3");
        assert_eq!(d.gateway, Some(ip("172.20.0.1")));
        assert_eq!(r[2].prefix, Some(20));
    }

    #[test]
    fn route_rejects_other_formats() {
        assert!(parse_route("").is_err());
        assert!(parse_route("Iface Dest\n").is_err());
        let bad = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\tZZ\n";
        let e = parse_route(bad).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn noncontiguous_mask_has_no_prefix() {
        assert_eq!(mask_prefix(ip("255.0.255.0")), None);
        assert_eq!(mask_prefix(ip("255.255.255.255")), Some(32));
        assert_eq!(mask_prefix(ip("0.0.0.0")), Some(0));
        assert_eq!(mask_prefix(ip("255.240.0.0")), Some(12));
    }

    #[test]
    fn fib_trie_local_addresses() {
        assert_eq!(
            parse_fib_trie_local(FIB_TRIE),
            vec![
                ip("10.10.0.7"),
                ip("127.0.0.1"),
                ip("172.17.0.1"),
                ip("192.168.1.5"),
                ip("203.0.113.9")
            ]
        );
        // broadcast and subnet leaves are not own addresses
        assert!(!parse_fib_trie_local(FIB_TRIE).contains(&ip("192.168.1.255")));
        assert!(!parse_fib_trie_local(FIB_TRIE).contains(&ip("127.0.0.0")));
    }

    #[test]
    fn fib_trie_of_this_format_machine() {
        // As read on a single-NIC VM (192.0.2.2/24 on eth0).
        let t = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 192.0.2.0/24 2 0 2\n        +-- 192.0.2.0/30 2 0 2\n           |-- 192.0.2.0\n              /24 link UNICAST\n           |-- 192.0.2.2\n              /32 host LOCAL\n        |-- 192.0.2.255\n           /32 link BROADCAST\n";
        assert_eq!(parse_fib_trie_local(t), vec![ip("192.0.2.2")]);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn addresses_get_interfaces_and_prefixes() {
        let a = interface_addrs(
            &parse_route(ROUTE).unwrap(),
            &parse_fib_trie_local(FIB_TRIE),
        );
        let find = |s: &str| a.iter().find(|x| x.addr == ip(s)).unwrap().clone();
        assert_eq!(find("192.168.1.5").iface.as_deref(), Some("eth0"));
        assert_eq!(find("192.168.1.5").prefix, 24);
        assert_eq!(find("10.10.0.7").iface.as_deref(), Some("eth1"));
        assert_eq!(find("10.10.0.7").prefix, 16);
        assert_eq!(find("172.17.0.1").iface.as_deref(), Some("docker0"));
        assert_eq!(find("127.0.0.1").iface.as_deref(), Some("lo"));
        assert_eq!(find("203.0.113.9").iface, None);
        assert_eq!(find("203.0.113.9").prefix, 32);
    }

    #[test]
    fn most_specific_connected_route_wins() {
        let text = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             br0\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0\n\
             vlan5\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0\n\
             down0\t{}\t00000000\t0000\t0\t0\t0\t{}\t0\t0\t0\n",
            hex("10.0.0.0"),
            hex("255.0.0.0"),
            hex("10.5.0.0"),
            hex("255.255.0.0"),
            hex("10.5.5.0"),
            hex("255.255.255.0"),
        );
        let a = interface_addrs(
            &parse_route(&text).unwrap(),
            &[ip("10.5.5.5"), ip("10.9.9.9")],
        );
        assert_eq!(
            a[0].iface.as_deref(),
            Some("vlan5"),
            "down routes are ignored"
        );
        assert_eq!(a[0].prefix, 16);
        assert_eq!(a[1].iface.as_deref(), Some("br0"));
        assert_eq!(a[1].prefix, 8);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn default_addr_prefers_gateway_subnet() {
        let routes = parse_route(ROUTE).unwrap();
        let mut f = HostFacts {
            default_route: default_route(&routes),
            addrs: interface_addrs(&routes, &parse_fib_trie_local(FIB_TRIE)),
            ..HostFacts::default()
        };
        assert_eq!(f.default_addr().unwrap().addr, ip("192.168.1.5"));
        f.default_route = None;
        assert!(f.default_addr().is_none());
    }

    #[test]
    fn read_from_a_fake_root() {
        let dir = std::env::temp_dir().join(format!("u7s-host-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::create_dir_all(dir.join("proc/net")).unwrap();
        std::fs::write(dir.join("etc/hosts"), "10.0.0.1 registry.local\n").unwrap();
        std::fs::write(
            dir.join("etc/os-release"),
            "CPE_NAME=\"cpe:/o:alt:spserver:10\"\n",
        )
        .unwrap();
        let route = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t00000000\t{}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
             eth0\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0\n",
            hex("192.0.2.1"),
            hex("192.0.2.0"),
            hex("255.255.255.0")
        );
        std::fs::write(dir.join("proc/net/route"), route).unwrap();
        std::fs::write(
            dir.join("proc/net/fib_trie"),
            "Local:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 192.0.2.2\n        /32 host LOCAL\n",
        )
        .unwrap();
        let root = HostRoot::new(&dir);
        let e = HostFacts::read(&root).unwrap_err().to_string();
        assert!(e.contains("etc/hostname is missing"), "{e}");
        std::fs::write(dir.join("etc/hostname"), "master01\n").unwrap();
        let f = HostFacts::read(&root).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(f.hostname, "master01");
        assert!(f.hosts_maps("registry.local"));
        assert!(f.hosts_maps("REGISTRY.local"));
        assert_eq!(
            f.os_release.cpe_name.as_deref(),
            Some("cpe:/o:alt:spserver:10")
        );
        let d = f.default_addr().unwrap();
        assert_eq!(
            (d.addr, d.prefix, d.iface.as_deref()),
            (ip("192.0.2.2"), 24, Some("eth0"))
        );
    }
}
