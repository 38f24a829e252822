//! The API server stand-in of tests/multihost/apiserver.py (TLS, client
//! certificates of the cluster CA, discovery, OpenAPI, create/get/list/delete)
//! with a test CA, a serving certificate for 127.0.0.1 and a client
//! certificate made by openssl, and the kubeconfig kubeadm would write for it.
//! On the host it also serves pods/exec from files a test puts in place.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const APISERVER: &str = include_str!("../multihost/apiserver.py");

/// How long the certificates are valid: years, so that `u7s doctor` finds
/// none about to expire.
const DAYS: &str = "3650";

/// What the stand-in needs on this machine, if anything is missing.
pub fn standin_problem() -> Option<String> {
    for tool in ["/usr/bin/python3", "/usr/bin/openssl"] {
        if !Path::new(tool).exists() {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("/usr/bin/openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a serving certificate for 127.0.0.1 and a client certificate of
/// system:masters, as PEM files in `dir` (readable by anyone: test keys).
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn make(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            DAYS,
            "-subj",
            "/CN=u7s-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca);
        for (name, subject, ext, serial) in [
            (
                "server",
                "/CN=kube-apiserver",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
                "2",
            ),
            (
                "client",
                "/O=system:masters/CN=kubernetes-admin",
                "extendedKeyUsage=clientAuth\n",
                "3",
            ),
        ] {
            let (key, csr, crt, extfile) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.crt"),
                format!("{name}.ext"),
            );
            std::fs::write(dir.join(&extfile), ext).unwrap();
            let mut req = vec!["req"];
            req.extend(ec);
            req.extend(["-keyout", &key, "-out", &csr, "-subj", subject]);
            openssl(dir, &req);
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-set_serial",
                    serial,
                    "-days",
                    DAYS,
                    "-out",
                    &crt,
                    "-extfile",
                    &extfile,
                ],
            );
        }
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        Certs {
            dir: dir.to_path_buf(),
        }
    }

    fn base64(&self, name: &str) -> String {
        let out = Command::new("/usr/bin/base64")
            .arg("-w0")
            .arg(self.dir.join(name))
            .output()
            .expect("base64");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    /// The kubeconfig kubeadm writes (admin.conf), for `server`.
    pub fn kubeconfig(&self, server: &str) -> String {
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {{}}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
            self.base64("ca.crt"),
            self.base64("client.crt"),
            self.base64("client.key"),
        )
    }

    /// The stand-in's flags for these certificates.
    pub fn flags(&self, port: u16) -> Vec<String> {
        let at = |n: &str| self.dir.join(n).display().to_string();
        vec![
            format!("--secure-port={port}"),
            format!("--tls-cert-file={}", at("server.crt")),
            format!("--tls-private-key-file={}", at("server.key")),
            format!("--client-ca-file={}", at("ca.crt")),
            "--advertise-address=127.0.0.1".into(),
        ]
    }

    /// The stand-in's script, written beside the certificates.
    pub fn script(&self) -> PathBuf {
        let path = self.dir.join("apiserver.py");
        std::fs::write(&path, APISERVER).unwrap();
        path
    }
}

fn pod_root(dir: &Path) -> PathBuf {
    dir.join("pods")
}

/// A running stand-in; stopped (by its pid) when dropped.
pub struct StandinApi {
    pub certs: Certs,
    /// The port it serves on.
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl StandinApi {
    /// The stand-in started by `cmd` (which ends in the script and its
    /// flags; stderr goes to `log`), once it says which port it serves.
    pub fn start_with(certs: Certs, mut cmd: Command, log: PathBuf) -> StandinApi {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the API stand-in");
        let mut api = StandinApi {
            certs,
            port: 0,
            child,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&api.log).unwrap_or_default();
            let port = text
                .lines()
                .find_map(|l| l.split("serving on :").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|p| p.parse().ok());
            if let Some(port) = port {
                api.port = port;
                return api;
            }
            if Instant::now() > deadline || api.child.try_wait().unwrap().is_some() {
                panic!("the API stand-in did not start:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The stand-in as root on the host's 127.0.0.1, certificates in `dir`,
    /// its pods' files under [`StandinApi::pod_root`].
    pub fn on_host(dir: &Path) -> StandinApi {
        let certs = Certs::make(dir);
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(certs.script())
            .args(certs.flags(0))
            .env("U7S_STANDIN_POD_ROOT", pod_root(dir));
        let log = dir.join("apiserver.log");
        StandinApi::start_with(certs, cmd, log)
    }

    /// Where `on_host`'s stand-in finds the files of a pod's container
    /// (`<namespace>/<pod>/<container>/` below it), which its pods/exec
    /// runs in.
    pub fn pod_root(&self) -> PathBuf {
        pod_root(&self.certs.dir)
    }

    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn kubeconfig(&self) -> String {
        self.certs.kubeconfig(&self.server())
    }

    /// What it logged (one line per request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for StandinApi {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}
