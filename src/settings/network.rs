//! IPv4 networks: the CIDR type, the addresses derived from the service network,
//! the pod network default per CNI plugin, and the overlap refusals.
//!
//! The network arithmetic is ipnet's (`Ipv4Net`); what is ours is the
//! strictness of parsing, the refusal of host bits and the derivation rules.
//! The reference pasted `.1`, `.10`, `.100` after the first three octets, which
//! lands outside the network whenever its address does not end in `.0`
//! (e.g. 10.0.0.128/25); here it is network + n, checked against the size.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use ipnet::Ipv4Net;

use super::host::HostAddr;

/// An IPv4 network: the network address (host bits zero) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr(Ipv4Net);

impl Cidr {
    /// A network from an address and prefix; refuses set host bits so that a
    /// typo such as `10.96.0.1/12` is not silently turned into another network.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Cidr> {
        let net = Ipv4Net::new(addr, prefix)
            .map_err(|_| anyhow!("{}", crate::tr!("prefix-range", prefix)))?;
        if net.network() != addr {
            bail!("{}", crate::tr!("host-bits-set", net, net.trunc()));
        }
        Ok(Cidr(net))
    }

    /// The network holding `addr` with `prefix` (host bits cleared), e.g. the
    /// connected subnet of an interface address.
    pub fn containing(addr: Ipv4Addr, prefix: u8) -> Cidr {
        Cidr(Ipv4Net::new_assert(addr, prefix.min(32)).trunc())
    }

    pub fn network(&self) -> Ipv4Addr {
        self.0.network()
    }

    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// The netmask, e.g. 255.240.0.0 for /12.
    pub fn mask(&self) -> Ipv4Addr {
        self.0.netmask()
    }

    /// The last address of the network.
    pub fn broadcast(&self) -> Ipv4Addr {
        self.0.broadcast()
    }

    /// Number of addresses in the network (2^(32-prefix)).
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix()))
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.0.contains(&addr)
    }

    /// Two networks overlap iff one contains the other.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0) || other.0.contains(&self.0)
    }

    /// `network + n`, refused unless it is a host address (neither the network
    /// address nor the broadcast address, both excluded by `0 < n < size - 1`).
    pub fn nth_host(&self, n: u32) -> Result<Ipv4Addr> {
        if n == 0 || u64::from(n) >= self.size().saturating_sub(1) {
            bail!("{}", crate::tr!("no-host-number", self, n, self.size()));
        }
        Ok(Ipv4Addr::from(u32::from(self.network()) + n))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix())
    }
}

impl FromStr for Cidr {
    type Err = anyhow::Error;

    /// `a.b.c.d/n`, strictly: four decimal octets without leading zeros (which
    /// some parsers read as octal), a prefix 0..32, no host bits.
    fn from_str(s: &str) -> Result<Cidr> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| anyhow!("{}", crate::tr!("not-a-cidr", format!("{s:?}"))))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| {
            anyhow!(
                "{}",
                crate::tr!("cidr-bad-addr", format!("{s:?}"), format!("{addr:?}"))
            )
        })?;
        let ok_digits = !prefix.is_empty()
            && prefix.len() <= 2
            && prefix.bytes().all(|b| b.is_ascii_digit())
            && !(prefix.len() > 1 && prefix.starts_with('0'));
        let prefix: u8 = match prefix.parse() {
            Ok(p) if ok_digits && p <= 32 => p,
            _ => bail!(
                "{}",
                crate::tr!("cidr-bad-prefix", format!("{s:?}"), format!("{prefix:?}"))
            ),
        };
        Cidr::new(addr, prefix)
            .map_err(|e| anyhow!("{}", crate::tr!("not-a-network", format!("{s:?}"), e)))
    }
}

/// The CNI plugin (`U7S_CNI_PLUGIN`); it decides the default pod network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CniPlugin {
    #[default]
    Flannel,
    Calico,
}

impl CniPlugin {
    /// `U7S_CNI_PLUGIN`: unset or empty means flannel; other names are refused.
    pub fn from_env_value(value: Option<&str>) -> Result<CniPlugin> {
        match value {
            None | Some("") => Ok(CniPlugin::Flannel),
            Some(v) => v.parse(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CniPlugin::Flannel => "flannel",
            CniPlugin::Calico => "calico",
        }
    }

    /// The network each plugin's stock manifest expects.
    pub fn default_pod_network(self) -> Cidr {
        match self {
            CniPlugin::Flannel => Cidr::containing(Ipv4Addr::new(10, 244, 0, 0), 16),
            CniPlugin::Calico => Cidr::containing(Ipv4Addr::new(192, 168, 0, 0), 16),
        }
    }
}

impl FromStr for CniPlugin {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<CniPlugin> {
        match s {
            "flannel" => Ok(CniPlugin::Flannel),
            "calico" => Ok(CniPlugin::Calico),
            other => bail!("{}", crate::tr!("cni-unsupported", format!("{other:?}"))),
        }
    }
}

impl fmt::Display for CniPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// kubeadm's default `--service-cidr`.
pub fn default_service_network() -> Cidr {
    Cidr::containing(Ipv4Addr::new(10, 96, 0, 0), 12)
}

/// The addresses the stack takes from the service network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAddrs {
    /// The `kubernetes` service (first host).
    pub cluster_ip: Ipv4Addr,
    /// kube-dns / coredns (host number 10, kubeadm's choice).
    pub cluster_dns: Ipv4Addr,
    /// slirp4netns' own address on tap0 (host number 100, the reference's choice).
    pub slirp4_ip: Ipv4Addr,
}

impl ServiceAddrs {
    pub fn derive(service: &Cidr) -> Result<ServiceAddrs> {
        let ctx = |e: anyhow::Error| anyhow!("{}", crate::tr!("service-cidr-small", service, e));
        Ok(ServiceAddrs {
            cluster_ip: service.nth_host(1).map_err(ctx)?,
            cluster_dns: service.nth_host(10).map_err(ctx)?,
            slirp4_ip: service.nth_host(100).map_err(ctx)?,
        })
    }
}

/// Where a network came from, so refusals name what the admin can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetSource {
    Flag,
    Default,
}

/// Checks the sizes kube-apiserver and the node allocator accept, so the
/// refusal comes before anything is touched.
pub fn check_sizes(pod: &Cidr, service: &Cidr) -> Result<()> {
    if service.prefix() < 12 {
        bail!("{}", crate::tr!("service-cidr-large", service));
    }
    if pod.prefix() > 24 {
        bail!("{}", crate::tr!("pod-cidr-small", pod));
    }
    Ok(())
}

fn describe(flag: &str, net: &Cidr, src: NetSource, cni: CniPlugin) -> String {
    match src {
        NetSource::Flag => format!("{flag} {net}"),
        NetSource::Default if flag == "--pod-network-cidr" => {
            crate::tr!("net-cni-default", flag, net, cni)
        }
        NetSource::Default => crate::tr!("net-default", flag, net),
    }
}

/// Refuses a pod or service network that overlaps an address on a host
/// interface (routing to it would break), or each other.
pub fn check_overlaps(
    pod: (&Cidr, NetSource),
    service: (&Cidr, NetSource),
    cni: CniPlugin,
    host_addrs: &[HostAddr],
) -> Result<()> {
    let nets = [
        ("--pod-network-cidr", pod.0, pod.1),
        ("--service-cidr", service.0, service.1),
    ];
    for (flag, net, src) in nets {
        for a in host_addrs {
            if net.overlaps(&a.subnet()) {
                bail!(
                    "{}",
                    crate::tr!(
                        "net-overlaps-host",
                        describe(flag, net, src, cni),
                        format!("{}/{}", a.addr, a.prefix),
                        a.iface_label()
                    )
                );
            }
        }
    }
    if pod.0.overlaps(service.0) {
        bail!(
            "{}",
            crate::tr!(
                "nets-overlap",
                describe("--pod-network-cidr", pod.0, pod.1, cni),
                describe("--service-cidr", service.0, service.1, cni)
            )
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        for s in [
            "10.96.0.0/12",
            "172.20.16.0/20",
            "192.168.1.0/24",
            "0.0.0.0/0",
            "10.0.0.7/32",
        ] {
            assert_eq!(c(s).to_string(), s);
        }
        assert_eq!(c("10.96.0.0/12").mask(), ip("255.240.0.0"));
        assert_eq!(c("172.20.16.0/20").mask(), ip("255.255.240.0"));
        assert_eq!(c("0.0.0.0/0").mask(), ip("0.0.0.0"));
        assert_eq!(c("10.0.0.7/32").mask(), ip("255.255.255.255"));
    }

    #[test]
    fn refuses_junk() {
        for s in [
            "10.96.0.0",
            "10.96.0.0/",
            "10.96.0.0/33",
            "10.96.0.0/-1",
            "10.96.0.0/012",
            "10.96.0/12",
            "10.96.0.0.0/12",
            "10.096.0.0/12",
            "256.0.0.0/8",
            "a.b.c.d/8",
            " 10.96.0.0/12",
            "10.96.0.0/12 ",
            "",
        ] {
            assert!(s.parse::<Cidr>().is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn refuses_host_bits() {
        let e = "10.96.0.1/12".parse::<Cidr>().unwrap_err().to_string();
        assert!(e.contains("host bits") && e.contains("10.96.0.0/12"), "{e}");
        assert!("172.20.17.0/20".parse::<Cidr>().is_err());
        assert!("192.168.1.0/16".parse::<Cidr>().is_err());
    }

    #[test]
    fn network_edges() {
        let n = c("172.20.16.0/20");
        assert_eq!(n.broadcast(), ip("172.20.31.255"));
        assert_eq!(n.size(), 4096);
        assert!(n.contains(ip("172.20.16.0")));
        assert!(n.contains(ip("172.20.31.255")));
        assert!(!n.contains(ip("172.20.32.0")));
        assert!(!n.contains(ip("172.20.15.255")));
        let n = c("10.96.0.0/12");
        assert_eq!(n.broadcast(), ip("10.111.255.255"));
        assert!(n.contains(ip("10.111.0.1")));
        assert!(!n.contains(ip("10.112.0.0")));
        assert_eq!(Cidr::containing(ip("192.168.1.5"), 24), c("192.168.1.0/24"));
        assert_eq!(Cidr::containing(ip("10.1.2.3"), 0), c("0.0.0.0/0"));
    }

    #[test]
    fn overlaps_both_ways() {
        assert!(c("192.168.0.0/16").overlaps(&c("192.168.1.0/24")));
        assert!(c("192.168.1.0/24").overlaps(&c("192.168.0.0/16")));
        assert!(c("10.96.0.0/12").overlaps(&c("10.100.0.0/16")));
        assert!(!c("10.96.0.0/12").overlaps(&c("10.112.0.0/16")));
        assert!(!c("10.96.0.0/12").overlaps(&c("10.244.0.0/16")));
        assert!(!c("172.20.16.0/20").overlaps(&c("172.20.32.0/20")));
        assert!(c("0.0.0.0/0").overlaps(&c("8.8.8.8/32")));
    }

    #[test]
    fn nth_host_bounds() {
        let n = c("192.168.5.0/24");
        assert_eq!(n.nth_host(1).unwrap(), ip("192.168.5.1"));
        assert_eq!(n.nth_host(254).unwrap(), ip("192.168.5.254"));
        assert!(n.nth_host(255).is_err(), "broadcast is not a host");
        assert!(n.nth_host(0).is_err(), "network is not a host");
        assert!(c("10.0.0.0/30").nth_host(10).is_err());
        assert_eq!(c("10.0.0.0/30").nth_host(2).unwrap(), ip("10.0.0.2"));
        assert!(c("10.0.0.1/32").nth_host(1).is_err());
        // crosses an octet boundary
        assert_eq!(c("10.0.0.0/16").nth_host(300).unwrap(), ip("10.0.1.44"));
    }

    #[test]
    fn service_addresses_use_real_arithmetic() {
        let a = ServiceAddrs::derive(&c("10.96.0.0/12")).unwrap();
        assert_eq!(
            (a.cluster_ip, a.cluster_dns, a.slirp4_ip),
            (ip("10.96.0.1"), ip("10.96.0.10"), ip("10.96.0.100"))
        );
        let a = ServiceAddrs::derive(&c("172.20.16.0/20")).unwrap();
        assert_eq!(
            (a.cluster_ip, a.cluster_dns, a.slirp4_ip),
            (ip("172.20.16.1"), ip("172.20.16.10"), ip("172.20.16.100"))
        );
        let a = ServiceAddrs::derive(&c("192.168.200.0/24")).unwrap();
        assert_eq!(a.slirp4_ip, ip("192.168.200.100"));
        let a = ServiceAddrs::derive(&c("10.0.0.128/25")).unwrap();
        assert_eq!(a.cluster_ip, ip("10.0.0.129"));
        assert_eq!(a.slirp4_ip, ip("10.0.0.228"));
        let e = ServiceAddrs::derive(&c("10.0.0.0/26"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--service-cidr 10.0.0.0/26 is too small"), "{e}");
    }

    #[test]
    fn cni_defaults_and_refusal() {
        assert_eq!(CniPlugin::from_env_value(None).unwrap(), CniPlugin::Flannel);
        assert_eq!(
            CniPlugin::from_env_value(Some("")).unwrap(),
            CniPlugin::Flannel
        );
        assert_eq!(
            CniPlugin::from_env_value(Some("calico")).unwrap(),
            CniPlugin::Calico
        );
        assert_eq!(CniPlugin::Flannel.default_pod_network(), c("10.244.0.0/16"));
        assert_eq!(CniPlugin::Calico.default_pod_network(), c("192.168.0.0/16"));
        for bad in ["cilium", "Flannel", " flannel", "weave"] {
            let e = CniPlugin::from_env_value(Some(bad))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("U7S_CNI_PLUGIN") && e.contains("flannel or calico"),
                "{e}"
            );
        }
    }

    fn eth0(addr: &str, prefix: u8) -> HostAddr {
        HostAddr {
            iface: Some("eth0".into()),
            addr: ip(addr),
            prefix,
        }
    }

    #[test]
    fn overlap_with_host_is_refused_naming_both() {
        let host = [eth0("192.168.1.5", 24)];
        let e = check_overlaps(
            (&c("192.168.0.0/16"), NetSource::Flag),
            (&c("10.96.0.0/12"), NetSource::Default),
            CniPlugin::Calico,
            &host,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "--pod-network-cidr 192.168.0.0/16 overlaps 192.168.1.5/24 on eth0; choose another network"
        );
        let e = check_overlaps(
            (&c("192.168.0.0/16"), NetSource::Default),
            (&c("10.96.0.0/12"), NetSource::Default),
            CniPlugin::Calico,
            &host,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("(the calico default)"), "{e}");
        // host network larger than the service network, containing it
        let host = [eth0("10.0.0.2", 8)];
        let e = check_overlaps(
            (&c("172.16.0.0/16"), NetSource::Flag),
            (&c("10.96.0.0/12"), NetSource::Flag),
            CniPlugin::Flannel,
            &host,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "--service-cidr 10.96.0.0/12 overlaps 10.0.0.2/8 on eth0; choose another network"
        );
    }

    #[test]
    fn disjoint_networks_pass() {
        let host = [
            eth0("192.0.2.2", 24),
            HostAddr {
                iface: Some("lo".into()),
                addr: ip("127.0.0.1"),
                prefix: 8,
            },
        ];
        check_overlaps(
            (&c("10.244.0.0/16"), NetSource::Default),
            (&c("10.96.0.0/12"), NetSource::Default),
            CniPlugin::Flannel,
            &host,
        )
        .unwrap();
    }

    #[test]
    fn pod_and_service_must_be_disjoint() {
        let e = check_overlaps(
            (&c("10.96.0.0/16"), NetSource::Flag),
            (&c("10.96.0.0/12"), NetSource::Default),
            CniPlugin::Flannel,
            &[],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "--pod-network-cidr 10.96.0.0/16 overlaps --service-cidr 10.96.0.0/12 (the default); the pod and service networks must be disjoint"
        );
    }

    #[test]
    fn size_limits() {
        check_sizes(&c("10.244.0.0/16"), &c("10.96.0.0/12")).unwrap();
        check_sizes(&c("10.244.0.0/24"), &c("10.96.0.0/24")).unwrap();
        assert!(check_sizes(&c("10.244.0.0/16"), &c("10.0.0.0/8")).is_err());
        assert!(check_sizes(&c("10.244.0.0/25"), &c("10.96.0.0/12")).is_err());
    }
}
