//! The kubeadm model against kubeadm's contract (data/kubeadm-contract/ and
//! the upstream texts): what every test that runs "kubeadm" relies on. The
//! model runs here as a program in temporary root prefixes standing for
//! hosts; nothing of u7s is involved.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::kubeadm_model::*;
use support::text;

struct Lab {
    base: PathBuf,
    model: KubeadmModel,
}

/// Removed when dropped, unless `U7S_KEEP_TEST_TREES=1` (`support::trees`).
impl Drop for Lab {
    fn drop(&mut self) {
        support::trees::dispose(&self.base);
    }
}

fn lab(tag: &str, version: &str) -> Lab {
    let base = std::env::temp_dir().join(format!("u7s-model-{tag}-{}", std::process::id()));
    let _ = support::trees::remove_tree(&base);
    std::fs::create_dir_all(&base).unwrap();
    let model = KubeadmModel::install(
        &base.join("bin"),
        version,
        &base.join("hostA"),
        &base.join("records"),
        &base.join("cluster"),
    );
    Lab { base, model }
}

impl Lab {
    /// A host: its root prefix with a CRI socket.
    fn host(&self, name: &str) -> PathBuf {
        let root = self.base.join(name);
        std::fs::create_dir_all(root.join("run/crio")).unwrap();
        std::fs::write(root.join("run/crio/crio.sock"), "").unwrap();
        root
    }

    fn run(&self, root: &Path, hostname: &str, args: &[&str]) -> Output {
        self.run_with(root, hostname, args, "")
    }

    fn run_with(&self, root: &Path, hostname: &str, args: &[&str], stdin: &str) -> Output {
        let mut cmd = self.model.command();
        cmd.args(args)
            .env("KUBEADM_MODEL_ROOT", root)
            .env("KUBEADM_MODEL_HOSTNAME", hostname)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Another test thread may be copying a model while this one forks:
        // support::spawn retries the brief ETXTBSY that gives.
        let mut child = support::spawn(&mut cmd);
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// `init --config /init.yaml IGNORE` on the host `root` named node.
    fn init_ignoring(&self, root: &Path, ignore: &str) -> Output {
        self.run(root, "node", &["init", "--config", "/init.yaml", ignore])
    }

    fn write(&self, root: &Path, path: &str, text: &str) {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|_| panic!("{} is missing", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

const HINT: &str = "To see the stack trace of this error execute with --v=5 or higher\n";

/// stderr ends with the error and kubeadm's hint; the exit code is `code`.
fn fails(out: &Output, code: i32, message: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(
        err.ends_with(&format!("{message}\n{HINT}")),
        "want {message:?} then the hint, got:\n{err}"
    );
}

fn init_config(api: &str, version: &str, advertise: &str, endpoint: &str) -> String {
    let args = if api == "v1beta4" {
        "  extraArgs:\n  - name: etcd-servers\n    value: https://127.0.0.1:2379\n"
    } else {
        "  extraArgs:\n    etcd-servers: https://127.0.0.1:2379\n"
    };
    format!(
        "apiVersion: kubeadm.k8s.io/{api}\nkind: InitConfiguration\nnodeRegistration:\n  name: master1\n  criSocket: unix:///run/crio/crio.sock\nlocalAPIEndpoint:\n  advertiseAddress: {advertise}\n  bindPort: 6443\n---\napiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\nkubernetesVersion: {version}\nimageRepository: registry.local/k8s-p10\ncontrolPlaneEndpoint: {endpoint}\netcd:\n  local:\n    dataDir: /var/lib/podsec/u7s/etcd\nnetworking:\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\napiServer:\n{args}---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: cgroupfs\nfailSwapOn: false\n"
    )
}

/// sha256 of the certificate's SubjectPublicKeyInfo, computed by openssl
/// and sha256sum (not by the model).
fn spki_hash(cert: &Path) -> String {
    let pubkey = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let mut der = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(der.stdin.as_mut().unwrap(), &pubkey.stdout).unwrap();
    let der = der.wait_with_output().unwrap().stdout;
    let mut sum = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(sum.stdin.as_mut().unwrap(), &der).unwrap();
    let out = text(&sum.wait_with_output().unwrap().stdout);
    format!("sha256:{}", out.split_whitespace().next().unwrap())
}

fn verifies(ca: &Path, cert: &Path) -> bool {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap()
        .status
        .success()
}

/// The whole story on three "hosts", for every modeled version: init prints
/// join commands whose token, CA hash and key are real; joins on other hosts
/// check them against what init left in the cluster directory; reset
/// deletes what kubeadm's reset deletes.
#[test]
fn init_join_token_and_reset_across_hosts() {
    for (version, api) in VERSIONS {
        let l = lab(&format!("story-{api}"), version);
        let minor: u32 = version.split('.').nth(1).unwrap().parse().unwrap();
        let m1 = l.host("master1");
        l.write(
            &m1,
            "/cfg/init.yaml",
            &init_config(api, version, "10.10.0.5", "10.10.0.100:8443"),
        );
        let out = l.run(
            &m1,
            "master1",
            &[
                "init",
                "--config",
                "/cfg/init.yaml",
                "--upload-certs",
                "--ignore-preflight-errors=all",
                "-v=1",
            ],
        );
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{version}: {}", text(&out.stderr));
        assert!(
            stdout.starts_with(&format!("[init] Using Kubernetes version: {version}\n")),
            "{stdout}"
        );
        let secrets = join_secrets(&stdout);
        assert_eq!(secrets.endpoint, "10.10.0.100:8443");
        let k = |p: &str| m1.join("etc/kubernetes").join(p);
        assert_eq!(
            secrets.hash,
            spki_hash(&k("pki/ca.crt")),
            "{version}: the printed CA hash"
        );
        let key = secrets
            .certificate_key
            .clone()
            .expect("--upload-certs prints the key");
        assert_eq!(key.len(), 64);
        assert!(stdout.contains(&format!(
            "You can now join any number of the control-plane node running the following command on each as root:\n\n  kubeadm join 10.10.0.100:8443 --token {} \\\n\t--discovery-token-ca-cert-hash {} \\\n\t--control-plane --certificate-key {key}\n\nPlease note",
            secrets.token, secrets.hash
        )), "{stdout}");
        assert!(stdout.ends_with(&format!(
            "Then you can join any number of worker nodes by running the following on each as root:\n\nkubeadm join 10.10.0.100:8443 --token {} \\\n\t--discovery-token-ca-cert-hash {} \n",
            secrets.token, secrets.hash
        )), "{stdout}");
        // What init writes, with kubeadm's modes.
        for (path, want) in [
            ("pki/ca.key", 0o600),
            ("pki/ca.crt", 0o644),
            ("pki/sa.key", 0o600),
            ("pki/etcd/ca.key", 0o600),
            ("pki/apiserver.crt", 0o644),
            ("pki/front-proxy-client.key", 0o600),
            ("admin.conf", 0o600),
            ("kubelet.conf", 0o600),
            ("controller-manager.conf", 0o600),
            ("scheduler.conf", 0o600),
            ("manifests/kube-apiserver.yaml", 0o600),
            ("manifests/etcd.yaml", 0o600),
        ] {
            assert_eq!(mode(&k(path)), want, "{version}: {path}");
        }
        assert_eq!(
            k("super-admin.conf").exists(),
            minor >= 29,
            "{version}: super-admin.conf"
        );
        for cert in ["apiserver", "apiserver-kubelet-client"] {
            assert!(
                verifies(&k("pki/ca.crt"), &k(&format!("pki/{cert}.crt"))),
                "{cert}"
            );
        }
        assert!(verifies(&k("pki/etcd/ca.crt"), &k("pki/etcd/server.crt")));
        let apiserver = std::fs::read_to_string(k("manifests/kube-apiserver.yaml")).unwrap();
        assert!(
            apiserver.contains("    - --etcd-servers=https://127.0.0.1:2379\n"),
            "{apiserver}"
        );
        assert!(
            apiserver.contains("    image: registry.local/k8s-p10/kube-apiserver:"),
            "{apiserver}"
        );
        assert!(m1.join("var/lib/kubelet/config.yaml").exists());
        let kubelet = std::fs::read_to_string(m1.join("var/lib/kubelet/config.yaml")).unwrap();
        assert!(
            kubelet.contains("cgroupDriver: cgroupfs"),
            "the admin's KubeletConfiguration: {kubelet}"
        );
        assert!(
            std::fs::read_to_string(m1.join("var/lib/kubelet/kubeadm-flags.env"))
                .unwrap()
                .contains("--container-runtime-endpoint=unix:///run/crio/crio.sock")
        );
        assert!(
            m1.join("var/lib/podsec/u7s/etcd/member/snap/db").exists(),
            "etcd's data"
        );

        // A worker on another host joins with what init printed.
        let w1 = l.host("worker1");
        let join = |root: &Path, host: &str, extra: &[&str], token: &str, hash: &str| {
            let mut args = vec![
                "join",
                "10.10.0.100:8443",
                "--token",
                token,
                "--discovery-token-ca-cert-hash",
                hash,
                "--cri-socket",
                "unix:///run/crio/crio.sock",
                "--ignore-preflight-errors=all",
            ];
            args.extend_from_slice(extra);
            l.run(root, host, &args)
        };
        let wrong_token = join(
            &w1,
            "worker1",
            &[],
            "abcdef.0123456789abcdef",
            &secrets.hash,
        );
        fails(&wrong_token, 1, "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"");
        let other_hash = format!("sha256:{}", "0".repeat(64));
        let wrong_hash = join(&w1, "worker1", &[], &secrets.token, &other_hash);
        fails(&wrong_hash, 1, &format!("error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{}\" are pinned", secrets.hash));
        let out = join(&w1, "worker1", &[], &secrets.token, &secrets.hash);
        assert!(out.status.success(), "{version}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("This node has joined the cluster:\n"));
        let wk = |p: &str| w1.join("etc/kubernetes").join(p);
        assert_eq!(
            std::fs::read(wk("pki/ca.crt")).unwrap(),
            std::fs::read(k("pki/ca.crt")).unwrap()
        );
        assert!(wk("kubelet.conf").exists() && !wk("bootstrap-kubelet.conf").exists());
        assert!(
            !wk("admin.conf").exists() && !wk("pki/ca.key").exists(),
            "a worker has no admin or CA key"
        );
        let client = w1.join("var/lib/kubelet/pki/kubelet-client-current.pem");
        assert!(
            verifies(&k("pki/ca.crt"), &client),
            "the kubelet's certificate is the cluster's"
        );

        // A second master: the certificate key unlocks the uploaded certificates.
        let m2 = l.host("master2");
        let cp = |key: &str| {
            join(
                &m2,
                "master2",
                &[
                    "--control-plane",
                    "--certificate-key",
                    key,
                    "--apiserver-advertise-address",
                    "10.10.0.7",
                ],
                &secrets.token,
                &secrets.hash,
            )
        };
        let wrong_key = cp(&"1".repeat(64));
        fails(&wrong_key, 1, "error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed");
        let out = cp(&key);
        assert!(out.status.success(), "{version}: {}", text(&out.stderr));
        let mk = |p: &str| m2.join("etc/kubernetes").join(p);
        assert_eq!(
            std::fs::read(mk("pki/ca.key")).unwrap(),
            std::fs::read(k("pki/ca.key")).unwrap()
        );
        assert!(verifies(&mk("pki/ca.crt"), &mk("pki/apiserver.crt")));
        assert!(
            mk("admin.conf").exists() && !mk("super-admin.conf").exists(),
            "super-admin.conf is init's only"
        );
        let etcd = std::fs::read_to_string(mk("manifests/etcd.yaml")).unwrap();
        assert!(etcd.contains("- --initial-cluster=master1=https://10.10.0.5:2380,master2=https://10.10.0.7:2380\n"), "{etcd}");
        assert!(
            etcd.contains("- --initial-cluster-state=existing\n"),
            "{etcd}"
        );

        // token create on the first master makes a token the next join accepts.
        let out = l.run(&m1, "master1", &["token", "create", "--print-join-command"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let line = text(&out.stdout);
        assert!(
            line.starts_with("kubeadm join 10.10.0.100:8443 --token ")
                && line.ends_with(&format!(
                    " --discovery-token-ca-cert-hash {} \n",
                    secrets.hash
                )),
            "{line:?}"
        );
        let new_token = line.split_whitespace().nth(4).unwrap().to_owned();
        let w2 = l.host("worker2");
        let out = join(&w2, "worker2", &[], &new_token, &secrets.hash);
        assert!(out.status.success(), "{}", text(&out.stderr));

        // reset deletes what kubeadm's reset deletes, and nothing else.
        let out = l.run(&m2, "master2", &["reset"]);
        fails(&out, 1, "error execution phase preflight: won't proceed; the user didn't answer (Y|y) in order to continue");
        assert!(mk("admin.conf").exists(), "no answer, no change");
        l.write(&m2, "/etc/cni/net.d/10-flannel.conflist", "{}");
        let out = l.run_with(&m2, "master2", &["reset"], "y\n");
        assert!(out.status.success(), "{}", text(&out.stderr));
        for gone in [
            "admin.conf",
            "kubelet.conf",
            "controller-manager.conf",
            "scheduler.conf",
            "pki/ca.key",
            "manifests/etcd.yaml",
        ] {
            assert!(!mk(gone).exists(), "{version}: reset left {gone}");
        }
        assert!(
            mk("pki").is_dir() && mk("manifests").is_dir(),
            "directories stay, emptied"
        );
        assert_eq!(
            std::fs::read_dir(m2.join("var/lib/podsec/u7s/etcd"))
                .unwrap()
                .count(),
            0,
            "etcd data deleted"
        );
        assert_eq!(
            std::fs::read_dir(m2.join("var/lib/kubelet"))
                .unwrap()
                .count(),
            0
        );
        assert!(
            m2.join("etc/cni/net.d/10-flannel.conflist").exists(),
            "reset leaves CNI configuration"
        );
        assert!(text(&out.stdout).contains(
            "[reset] Deleted contents of the etcd data directory: /var/lib/podsec/u7s/etcd\n"
        ));
        let members = std::fs::read_to_string(l.model.cluster.join("etcd-members")).unwrap();
        assert!(
            !members.contains("master2"),
            "the member left the cluster: {members}"
        );
        let _ = std::fs::remove_dir_all(&l.base);
    }
}

/// `config images pull --config` loads the file as init does: a
/// JoinConfiguration alone is refused with kubeadm's text (issue #10).
/// `kubeadm config images pull` by flags, as u7s runs it on a joining node
/// (`VERSION` stands for the release).
const PULL_BY_FLAGS: [&str; 9] = [
    "config",
    "images",
    "pull",
    "--kubernetes-version",
    "VERSION",
    "--image-repository",
    "registry.local/k8s-p10",
    "--cri-socket",
    "unix:///run/crio/crio.sock",
];

#[test]
fn a_join_configuration_is_not_something_to_pull_images_for() {
    for (version, api) in VERSIONS {
        let l = lab(&format!("pull-{api}"), version);
        let h = l.host("node");
        l.write(&h, "/join.yaml", &format!("apiVersion: kubeadm.k8s.io/{api}\nkind: JoinConfiguration\nnodeRegistration:\n  criSocket: unix:///run/crio/crio.sock\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.10.0.9:6443\n    caCertHashes:\n    - sha256:{}\n", "0".repeat(64)));
        let out = l.run(
            &h,
            "node",
            &["config", "images", "pull", "--config", "/join.yaml"],
        );
        fails(
            &out,
            1,
            "no InitConfiguration or ClusterConfiguration kind was found in the YAML file",
        );
        let warning = format!("[config] WARNING: Ignored YAML document with GroupVersionKind kubeadm.k8s.io/{api}, Kind=JoinConfiguration");
        let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(printed.contains(&warning), "{printed}");
        assert!(l.model.calls().last().unwrap().pulled().is_empty());
        // With flags instead, the images of the version are pulled.
        let out = l.run(
            &h,
            "node",
            &PULL_BY_FLAGS.map(|a| if a == "VERSION" { *version } else { a }),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let pulled = l.model.calls().last().unwrap().pulled();
        assert_eq!(pulled.len(), 7, "{pulled:?}");
        assert!(pulled.contains(&format!("registry.local/k8s-p10/kube-proxy:{version}")));
        let _ = std::fs::remove_dir_all(&l.base);
    }
}

#[test]
fn images_per_release_and_the_coredns_path_rule() {
    let cases = [
        ("v1.26.3", "registry.k8s.io", "registry.k8s.io/kube-apiserver:v1.26.3\nregistry.k8s.io/kube-controller-manager:v1.26.3\nregistry.k8s.io/kube-scheduler:v1.26.3\nregistry.k8s.io/kube-proxy:v1.26.3\nregistry.k8s.io/pause:3.9\nregistry.k8s.io/etcd:3.5.6-0\nregistry.k8s.io/coredns/coredns:v1.9.3\n"),
        ("v1.31.2", "registry.k8s.io", "registry.k8s.io/kube-apiserver:v1.31.2\nregistry.k8s.io/kube-controller-manager:v1.31.2\nregistry.k8s.io/kube-scheduler:v1.31.2\nregistry.k8s.io/kube-proxy:v1.31.2\nregistry.k8s.io/coredns/coredns:v1.11.3\nregistry.k8s.io/pause:3.10\nregistry.k8s.io/etcd:3.5.15-0\n"),
        ("v1.31.2", "registry.local/k8s-p10", "registry.local/k8s-p10/kube-apiserver:v1.31.2\nregistry.local/k8s-p10/kube-controller-manager:v1.31.2\nregistry.local/k8s-p10/kube-scheduler:v1.31.2\nregistry.local/k8s-p10/kube-proxy:v1.31.2\nregistry.local/k8s-p10/coredns:v1.11.3\nregistry.local/k8s-p10/pause:3.10\nregistry.local/k8s-p10/etcd:3.5.15-0\n"),
    ];
    for (version, repo, want) in cases {
        let l = lab("images", version);
        let h = l.host("node");
        let out = l.run(
            &h,
            "node",
            &[
                "config",
                "images",
                "list",
                "--kubernetes-version",
                version,
                "--image-repository",
                repo,
            ],
        );
        assert_eq!(
            text(&out.stdout),
            want,
            "{version} {repo}: {}",
            text(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&l.base);
    }
}

#[test]
fn kubeadms_errors_and_exit_codes() {
    let l = lab("errors", "v1.31.2");
    let h = l.host("node");
    let b3 = lab("errors-26", "v1.26.3");
    fails(
        &l.run(&h, "n", &["init", "--foo"]),
        1,
        "unknown flag: --foo",
    );
    fails(
        &l.run(&h, "n", &["join", "--config", "/j.yaml", "--control-plane"]),
        1,
        "can not mix '--config' with arguments [control-plane]",
    );
    fails(
        &b3.run(&h, "n", &["reset", "--config", "/r.yaml"]),
        1,
        "unknown flag: --config",
    );
    // Validation lists are aggregates: exit 3.
    fails(
        &l.run(&h, "n", &["join", "10.10.0.9:6443", "--token", "bad", "--discovery-token-unsafe-skip-ca-verification"]),
        3,
        "[discovery.bootstrapToken.token: Invalid value: \"bad\": the bootstrap token is invalid, discovery.tlsBootstrapToken: Invalid value: \"bad\": the bootstrap token is invalid]",
    );
    l.write(&h, "/twice.yaml", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n");
    fails(
        &l.run(&h, "n", &["init", "--config", "/twice.yaml"]),
        3,
        "invalid configuration: kind \"InitConfiguration\" is specified twice in YAML file",
    );
    // v1beta4 does not exist for 1.26; v1beta3 is deprecated, with a warning, in 1.31.
    l.write(
        &h,
        "/b4.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n",
    );
    let out = b3.run(
        &h,
        "n",
        &["config", "images", "list", "--config", "/b4.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(
        "no kind \"ClusterConfiguration\" is registered for version \"kubeadm.k8s.io/v1beta4\""
    ));
    l.write(&h, "/b3.yaml", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.2\napiServer:\n  timeoutForControlPlane: 4m0s\n");
    let out = l.run(
        &h,
        "n",
        &["config", "images", "list", "--config", "/b3.yaml"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("your configuration file uses a deprecated API spec: \"kubeadm.k8s.io/v1beta3\" (kind: \"ClusterConfiguration\")"));
    // Strict decoding only warns: a v1beta3 field under v1beta4 is dropped.
    l.write(&h, "/b4f.yaml", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.2\napiServer:\n  timeoutForControlPlane: 4m0s\n");
    let out = l.run(
        &h,
        "n",
        &["config", "images", "list", "--config", "/b4f.yaml"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr)
        .contains("strict decoding error: unknown field \"apiServer.timeoutForControlPlane\""));
    // The control plane may be at most one minor behind kubeadm.
    let out = l.run(
        &h,
        "n",
        &[
            "config",
            "images",
            "list",
            "--kubernetes-version",
            "v1.29.0",
        ],
    );
    fails(&out, 1, "this version of kubeadm only supports deploying clusters with the control plane version >= 1.30.0. Current version: v1.29.0");
    // -v above 4: no hint (kubeadm prints its stack trace there).
    let out = l.run(&h, "n", &["init", "--foo", "-v=5"]);
    assert_eq!(text(&out.stderr), "unknown flag: --foo\n");
    for l in [l, b3] {
        let _ = std::fs::remove_dir_all(&l.base);
    }
}

/// The checks this machine fails whatever the test: ports in use, not root.
const HOST_CHECKS: &str = "--ignore-preflight-errors=Port-6443,Port-10250,Port-10257,Port-10259,Port-2379,Port-2380,IsPrivilegedUser";

/// `init --config /init.yaml IGNORE` on `h` stops in preflight with fatal
/// errors; its stderr.
fn fatal_preflight(l: &Lab, h: &Path, ignore: &str) -> String {
    let out = l.init_ignoring(h, ignore);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(
            "error execution phase preflight: [preflight] Some fatal errors occurred:\n"
        ),
        "{err}"
    );
    err
}

/// An earlier cluster's files stop init in its preflight, with kubeadm's
/// check names, unless ignored.
#[test]
fn preflight_refuses_leftovers_of_an_earlier_cluster() {
    for (version, api) in VERSIONS {
        let l = lab(&format!("preflight-{api}"), version);
        let h = l.host("node");
        l.write(
            &h,
            "/init.yaml",
            &init_config(api, version, "10.10.0.5", "10.10.0.5:6443"),
        );
        l.write(
            &h,
            "/var/lib/podsec/u7s/etcd/member.u7s-backup-20260101-000000/snap/db",
            "old",
        );
        l.write(&h, "/etc/kubernetes/manifests/kube-apiserver.yaml", "old");
        let ports = HOST_CHECKS;
        let err = fatal_preflight(&l, &h, ports);
        assert!(err.contains("\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists\n"), "{err}");
        assert!(err.contains("\t[ERROR DirAvailable--var-lib-podsec-u7s-etcd]: /var/lib/podsec/u7s/etcd is not empty\n"), "{err}");
        assert!(
            !h.join("etc/kubernetes/pki/ca.crt").exists(),
            "nothing written"
        );
        let out = l.init_ignoring(&h, &format!("{ports},FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml,DirAvailable--var-lib-podsec-u7s-etcd"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("\t[WARNING DirAvailable--var-lib-podsec-u7s-etcd]: /var/lib/podsec/u7s/etcd is not empty\n"));
        let _ = std::fs::remove_dir_all(&l.base);
    }
}

/// init's preflight pulls as kubeadm's `ImagePullCheck`: every image the
/// registry lacks is an `[ERROR ImagePull]`, and
/// `--ignore-preflight-errors=ImagePull` makes them warnings.
#[test]
fn inits_image_pull_is_the_preflight_check_image_pull() {
    let (version, api) = VERSIONS[1];
    let l = lab("imagepull", version);
    let h = l.host("node");
    l.write(
        &h,
        "/init.yaml",
        &init_config(api, version, "10.10.0.5", "10.10.0.5:6443"),
    );
    let stock = support::kubeadm_model::stock_registry(version);
    let without: String = stock
        .lines()
        .filter(|line| !line.starts_with("*/kube-apiserver ") && !line.starts_with("*/etcd "))
        .map(|line| format!("{line}\n"))
        .collect();
    l.model.set_registry(&without);
    let ports = HOST_CHECKS;
    let err = fatal_preflight(&l, &h, ports);
    for image in ["kube-apiserver", "etcd"] {
        assert!(
            err.lines().any(|line| line
                .starts_with("\t[ERROR ImagePull]: failed to pull image registry.local/")
                && line.contains(&format!("/{image}:"))),
            "{image}: {err}"
        );
    }
    assert!(
        !h.join("etc/kubernetes/pki/ca.crt").exists(),
        "nothing written"
    );

    let out = l.init_ignoring(&h, &format!("{ports},ImagePull"));
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("\t[WARNING ImagePull]: failed to pull image ")
            .count(),
        2,
        "{err}"
    );
    let pulled = l.model.calls().last().unwrap().pulled();
    assert!(
        pulled.iter().any(|i| i.contains("/kube-scheduler:")),
        "{pulled:?}"
    );
    assert!(
        !pulled.iter().any(|i| i.contains("/kube-apiserver:")),
        "{pulled:?}"
    );
    let _ = std::fs::remove_dir_all(&l.base);
}

/// A host without a container runtime. kubeadm 1.31+ connects to it before
/// its image pull, and a failed connect is a fatal error no
/// `--ignore-preflight-errors` skips (not even `all`); its earlier checks
/// only log a klog warning and leave the check CRI out. 1.26 ran crictl:
/// `[ERROR CRI]` and one `[ERROR ImagePull]` per image, all ignorable.
#[test]
fn without_a_container_runtime_init_stops_at_the_image_pull() {
    for (version, api) in VERSIONS {
        let l = lab(&format!("no-cri-{api}"), version);
        let h = l.base.join("no-cri");
        l.write(
            &h,
            "/init.yaml",
            &init_config(api, version, "10.10.0.5", "10.10.0.5:6443"),
        );
        let dial = "validate service connection: validate CRI v1 runtime API for endpoint \"unix:///run/crio/crio.sock\": rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /run/crio/crio.sock: connect: no such file or directory\"";
        if version.starts_with("v1.26.") {
            // crictl: the checks CRI and ImagePull, both ignorable.
            let err = fatal_preflight(&l, &h, HOST_CHECKS);
            assert!(
                err.contains(&format!(
                    "\t[ERROR CRI]: container runtime is not running: output: time=\"2026-01-01T00:00:00Z\" level=fatal msg={dial:?}\n, error: exit status 1\n"
                )),
                "{err}"
            );
            let ignore_cri = format!("{HOST_CHECKS},CRI");
            let out = l.init_ignoring(&h, &ignore_cri);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(
                err.contains("\t[ERROR ImagePull]: failed to pull image registry.local/k8s-p10/kube-apiserver:v1.26.3: output: time="),
                "{err}"
            );
            let out = l.init_ignoring(&h, "--ignore-preflight-errors=all");
            let err = text(&out.stderr);
            assert!(out.status.success(), "{err}");
            assert!(
                err.contains("\t[WARNING CRI]: container runtime is not running: "),
                "{err}"
            );
            assert!(
                err.contains("\t[WARNING ImagePull]: failed to pull image "),
                "{err}"
            );
            continue;
        }
        // The CRI client: a fatal error no ignore list names.
        for ignore in [
            "--ignore-preflight-errors=all",
            &format!("{HOST_CHECKS},ImagePull,CRI"),
        ] {
            let out = l.init_ignoring(&h, ignore);
            let err = text(&out.stderr);
            let fatal = format!(
                "error execution phase preflight: [preflight] Some fatal errors occurred:\nfailed to create new CRI runtime service: {dial}[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`"
            );
            fails(&out, 1, &fatal);
            let warning = format!(
                " checks.go:1080] [preflight] WARNING: Couldn't create the interface used for talking to the container runtime: failed to create new CRI runtime service: {dial}\n"
            );
            assert!(
                err.lines().next().is_some_and(
                    |line| line.starts_with('W') && format!("{line}\n").ends_with(&warning)
                ),
                "{err}"
            );
            assert!(!err.contains("CRI]"), "no check CRI: {err}");
            assert!(
                !h.join("etc/kubernetes").exists(),
                "nothing written under /etc/kubernetes"
            );
            assert!(l.model.calls().last().unwrap().pulled().is_empty());
        }
    }
}

/// The attack tests' hook (`after_success=`, nothing kubeadm has): a script
/// run with `sh` after a successful init, with `U7S_ROOT` naming the root
/// prefix, and only then; a failing script fails the call with the model's
/// own line, so an attack that did not happen cannot pass unnoticed.
#[test]
fn the_after_success_hook_runs_after_a_successful_init_only() {
    let (version, api) = VERSIONS[VERSIONS.len() - 1];
    let l = lab("hook", version);
    let h = l.host("node");
    let hook = l.base.join("hook.sh");
    // What the script saw: the root prefix, and kubeadm's files already there.
    std::fs::write(
        &hook,
        "echo \"$U7S_ROOT\" > \"$U7S_ROOT/hook-ran\"\n[ -f \"$U7S_ROOT/etc/kubernetes/admin.conf\" ]\n",
    )
    .unwrap();
    l.model
        .configure(&h, &[("after_success", hook.to_str().unwrap())]);
    let ports = HOST_CHECKS;
    // A refused init runs no hook.
    let out = l.run(&h, "node", &["init", "--config", "/missing.yaml", ports]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!h.join("hook-ran").exists(), "the hook ran after a failure");
    l.write(
        &h,
        "/init.yaml",
        &init_config(api, version, "10.10.0.5", "10.10.0.5:6443"),
    );
    let out = l.init_ignoring(&h, ports);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(h.join("hook-ran")).unwrap(),
        format!("{}\n", h.display())
    );
    // A script that fails fails the call, naming the hook.
    let l2 = lab("hook-fails", version);
    let h2 = l2.host("node");
    let failing = l2.base.join("hook.sh");
    std::fs::write(&failing, "exit 3\n").unwrap();
    l2.model
        .configure(&h2, &[("after_success", failing.to_str().unwrap())]);
    l2.write(
        &h2,
        "/init.yaml",
        &init_config(api, version, "10.10.0.5", "10.10.0.5:6443"),
    );
    let out = l2.run(&h2, "node", &["init", "--config", "/init.yaml", ports]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.ends_with(&format!(
            "kubeadm-model: the after_success hook {} failed: exit status: 3\n",
            failing.display()
        )),
        "{err}"
    );
}

/// Each call is recorded: where it ran and with what.
#[test]
fn calls_are_recorded_with_their_argv_and_exit() {
    let l = lab("records", "v1.31.2");
    let h = l.host("node");
    let out = l.run(&h, "node", &["version", "-o", "short"]);
    assert_eq!(text(&out.stdout), "v1.31.2\n");
    let _ = l.run(&h, "node", &["token", "create", "a b\n`x`"]);
    let calls = l.model.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].args, ["version", "-o", "short"]);
    assert_eq!(calls[0].exit, Some(0));
    assert_eq!(
        calls[1].args,
        ["token", "create", "a b\n`x`"],
        "argv recorded as given"
    );
    assert_eq!(calls[1].exit, Some(1));
    assert_eq!(calls[0].uid, nix::unistd::getuid().as_raw());
    assert_eq!(
        calls[0].net,
        std::fs::read_link("/proc/self/ns/net")
            .unwrap()
            .display()
            .to_string()
    );
    let _ = std::fs::remove_dir_all(&l.base);
}

/// The registry (`registry=`) and its tools: the model called `skopeo`
/// answers `list-tags` with skopeo's JSON and its errors, called `crictl`
/// pulls through the CRI socket, and kubeadm's own pull fails for an image
/// the registry lacks, with CRI-O's reason.
#[test]
fn the_registry_its_tag_lists_and_pulls() {
    let l = lab("registry", "v1.31.2");
    let h = l.host("node");
    l.model
        .set_registry("*/pause 3.10 3.9\nregistry.local/k8s-p10/flannel v0.25.1 v0.26.7\n");
    let tool = |name: &str, args: &[&str], root: &Path| -> Output {
        let mut cmd = Command::new(l.model.dir.join(name));
        for (key, _) in std::env::vars() {
            if key.starts_with("KUBEADM_MODEL_") {
                cmd.env_remove(key);
            }
        }
        cmd.args(args).env("KUBEADM_MODEL_ROOT", root);
        support::run(&mut cmd)
    };
    let out = tool(
        "skopeo",
        &["list-tags", "docker://registry.local/k8s-p10/flannel"],
        &h,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\n    \"Repository\": \"registry.local/k8s-p10/flannel\",\n    \"Tags\": [\n        \"v0.25.1\",\n        \"v0.26.7\"\n    ]\n}\n"
    );
    // `*/NAME` matches under any registry path.
    let out = tool(
        "skopeo",
        &["list-tags", "docker://registry.k8s.io/pause"],
        &h,
    );
    assert!(
        text(&out.stdout).contains("\"3.9\""),
        "{}",
        text(&out.stderr)
    );
    for (args, message) in [
        (
            &["list-tags", "docker://registry.local/k8s-p10/calico-node"][..],
            "Error listing repository tags: fetching tags list: name unknown: repository name not known to registry",
        ),
        (
            &["list-tags", "docker://registry.local/k8s-p10/flannel:v0.26.7"][..],
            "No tag or digest allowed in reference",
        ),
        (
            &["list-tags", "registry.local/k8s-p10/flannel"][..],
            "does not specify a transport",
        ),
    ] {
        let out = tool("skopeo", args, &h);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }

    let pull = |image: &str, root: &Path| {
        tool(
            "crictl",
            &[
                "--runtime-endpoint",
                "unix:///run/crio/crio.sock",
                "pull",
                image,
            ],
            root,
        )
    };
    let out = pull("registry.local/k8s-p10/flannel:v0.26.7", &h);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = pull("registry.local/k8s-p10/flannel:v0.26.8", &h);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "reading manifest v0.26.8 in registry.local/k8s-p10/flannel: manifest unknown"
        ),
        "{}",
        text(&out.stderr)
    );
    // No CRI-O, no pull.
    let out = pull(
        "registry.local/k8s-p10/flannel:v0.26.7",
        &l.base.join("no-crio"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("connect: no such file or directory"));
    let crictl = l.model.calls_of("crictl");
    assert_eq!(crictl.len(), 3);
    assert_eq!(crictl[0].exit, Some(0));

    // kubeadm's pull stops at the first image the registry lacks.
    let out = l.run(
        &h,
        "node",
        &PULL_BY_FLAGS.map(|a| if a == "VERSION" { "v1.31.2" } else { a }),
    );
    fails(
        &out,
        1,
        "failed to pull image \"registry.local/k8s-p10/kube-apiserver:v1.31.2\": rpc error: code = Unknown desc = reading manifest v1.31.2 in registry.local/k8s-p10/kube-apiserver: name unknown: repository name not known to registry",
    );
    assert!(l.model.calls().last().unwrap().pulled().is_empty());
    let _ = std::fs::remove_dir_all(&l.base);
}
