//! The checks made from inside the namespaces: a forked child proves and
//! joins them (as nsenter_u7s does; root becomes the mapped u7s-admin, with
//! no power over the host), connects to CRI-O's socket and asks kubelet's
//! health endpoint, and writes one line per answer into a pipe. Following
//! u7s-admin's paths in there gives u7s-admin's rights only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use nix::unistd::Pid;

/// kubelet's default `healthzBindAddress:healthzPort`.
pub const KUBELET_HEALTHZ: &str = "127.0.0.1:10248";
const TIMEOUT: Duration = Duration::from_secs(3);

/// What the child found: `Ok(())` or the one-line reason, per probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    pub crio: Result<(), String>,
    pub kubelet: Result<(), String>,
}

/// Whether something accepts connections on the unix socket at `path`.
pub fn probe_socket(path: &Path) -> Result<(), String> {
    UnixStream::connect(path)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `GET /healthz` on `addr`: Ok for a 200 answer.
pub fn probe_healthz(addr: &str) -> Result<(), String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = s.take(4096).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or("").trim().to_owned();
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ if status.is_empty() => Err("no answer".into()),
        _ => Err(crate::error::one_line(
            &status.chars().take(80).collect::<String>(),
        )),
    }
}

fn encode(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("err {}", crate::error::one_line(e)),
    }
}

fn decode(line: Option<&str>) -> Result<(), String> {
    match line {
        Some("ok") => Ok(()),
        Some(l) => Err(l.strip_prefix("err ").unwrap_or(l).to_owned()),
        None => Err("no answer from the probe".into()),
    }
}

/// Forks a child that joins the namespaces of `pid` (owned by `owner`) and
/// probes `crio_socket` and kubelet; the parent reads its answers. `Err`
/// is why the namespaces could not be entered.
pub fn probe(
    pid: Pid,
    owner: &crate::users::AdminUser,
    crio_socket: &Path,
) -> Result<Inside, String> {
    let text = crate::exec::answer_from_child(8192, || {
        let who = crate::ns::enter::Owner {
            name: &owner.name,
            uid: owner.uid.as_raw(),
        };
        match crate::ns::enter::enter(pid.as_raw(), who) {
            Ok(_) => format!(
                "entered\n{}\n{}\n",
                encode(&probe_socket(crio_socket)),
                encode(&probe_healthz(KUBELET_HEALTHZ))
            ),
            Err(e) => format!("refused {}\n", crate::error::one_line(&format!("{e:#}"))),
        }
    })
    .map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    match lines.next() {
        Some("entered") => Ok(Inside {
            crio: decode(lines.next()),
            kubelet: decode(lines.next()),
        }),
        Some(l) => Err(l.strip_prefix("refused ").unwrap_or(l).to_owned()),
        None => Err("the probe died".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn healthz_wants_a_200() {
        let serve = |answer: &'static str| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap().to_string();
            std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            });
            addr
        };
        assert_eq!(probe_healthz(&serve("HTTP/1.1 200 OK\r\n\r\nok")), Ok(()));
        assert_eq!(
            probe_healthz(&serve("HTTP/1.1 500 Internal Server Error\r\n\r\n")),
            Err("HTTP/1.1 500 Internal Server Error".into())
        );
        assert_eq!(probe_healthz(&serve("")), Err("no answer".into()));
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(probe_healthz(&closed.to_string()).is_err());
    }

    #[test]
    fn answers_round_trip() {
        assert_eq!(decode(Some(&encode(&Ok(())))), Ok(()));
        assert_eq!(
            decode(Some(&encode(&Err("No such file\nor directory".into())))),
            Err("No such file or directory".into())
        );
        assert!(decode(None).is_err());
    }
}
