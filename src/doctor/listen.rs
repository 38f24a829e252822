//! Which host ports a user listens on, from `/proc/net/tcp`, `tcp6`, `udp`
//! and `udp6` of the host's network namespace: rootlesskit's builtin port
//! driver listens on the host, as u7s-admin, for every forward.

use crate::stack::ports::{listening_sockets as parse, PortSpec, Proto, Socket};

/// The forwards of `wanted` that no socket of `uid` listens on.
pub fn missing(wanted: &[PortSpec], sockets: &[Socket], uid: u32) -> Vec<PortSpec> {
    wanted
        .iter()
        .filter(|spec| {
            !sockets
                .iter()
                .any(|s| s.uid == uid && s.proto == spec.proto && s.port == spec.parent_port)
        })
        .copied()
        .collect()
}

/// Every listening socket of the host, read from `/proc/net`.
pub fn host_sockets() -> Vec<Socket> {
    let mut out = Vec::new();
    for (file, proto) in [
        ("/proc/net/tcp", Proto::Tcp),
        ("/proc/net/tcp6", Proto::Tcp),
        ("/proc/net/udp", Proto::Udp),
        ("/proc/net/udp6", Proto::Udp),
    ] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(parse(&text, proto));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000   997        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:28CA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:192C 0100007F:9C40 01 00000000:00000000 00:00000000 00000000   997        0 3 1 0000000000000000 100 0 0 10 0
garbage
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 00000000:2118 00000000:0000 07 00000000:00000000 00:00000000 00000000   997        0 4 2 0000000000000000 0
";

    #[test]
    fn listening_sockets_with_their_owner() {
        let tcp = parse(TCP, Proto::Tcp);
        assert_eq!(
            tcp,
            vec![
                Socket {
                    port: 6443,
                    proto: Proto::Tcp,
                    uid: 997
                },
                Socket {
                    port: 10442,
                    proto: Proto::Tcp,
                    uid: 0
                },
            ]
        );
        let udp = parse(UDP, Proto::Udp);
        assert_eq!(
            udp,
            vec![Socket {
                port: 8472,
                proto: Proto::Udp,
                uid: 997
            }]
        );
    }

    #[test]
    fn a_forward_counts_only_when_the_admin_listens_on_it() {
        let mut sockets = parse(TCP, Proto::Tcp);
        sockets.extend(parse(UDP, Proto::Udp));
        let wanted: Vec<PortSpec> = [
            "0.0.0.0:6443:6443/tcp",
            "0.0.0.0:10442:10442/tcp",
            "0.0.0.0:8472:8472/udp",
            "0.0.0.0:6444:6444/tcp",
            "0.0.0.0:6443:6443/udp",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let gone: Vec<String> = missing(&wanted, &sockets, 997)
            .iter()
            .map(|s| s.to_string())
            .collect();
        // 10442 is root's, not rootlesskit's; the port of another protocol does not count.
        assert_eq!(
            gone,
            [
                "0.0.0.0:10442:10442/tcp",
                "0.0.0.0:6444:6444/tcp",
                "0.0.0.0:6443:6443/udp"
            ]
        );
    }
}
