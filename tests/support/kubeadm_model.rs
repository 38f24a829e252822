//! The kubeadm model (testbin/kubeadm_model) placed where a test wants a
//! `kubeadm`: the binary copied as `<dir>/kubeadm` with its
//! `kubeadm-model.conf` beside it (version, root prefix, records, cluster
//! directory), and the records it leaves, parsed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The releases the flows are tested against: (kubeadm version, the API
/// version u7s must write for it).
pub const VERSIONS: &[(&str, &str)] = &[("v1.26.3", "v1beta3"), ("v1.31.2", "v1beta4")];

/// The CNI images a registry mirror holds, by the names ALT's registries
/// and upstream's give them: flannel v0.26.7 (flannel-cni-plugin
/// v1.7.1-flannel1) and calico v3.28.2.
pub const CNI_IMAGES: &str = "\
*/flannel v0.26.7
*/flannel-cni-plugin v1.7.1-flannel1
*/calico-cni v3.28.2
*/calico-node v3.28.2
*/calico-kube-controllers v3.28.2
*/cni v3.28.2
*/node v3.28.2
*/kube-controllers v3.28.2
";

/// The contents of a registry that mirrors `version`: kubeadm's images of
/// it (as the model lists them) and the CNI plugins' images u7s bundles
/// manifests for ([`CNI_IMAGES`]), under any registry path.
pub fn stock_registry(version: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeadm-model"));
    for (key, _) in std::env::vars() {
        if key.starts_with("KUBEADM_MODEL_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(["config", "images", "list", "--kubernetes-version", version])
        .env("KUBEADM_MODEL_VERSION", version)
        .env("KUBEADM_MODEL_RECORDS", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut text = String::new();
    for image in String::from_utf8(out.stdout).unwrap().lines() {
        let last = image.rsplit('/').next().unwrap();
        let (name, tag) = last.split_once(':').unwrap();
        text.push_str(&format!("*/{name} {tag}\n"));
    }
    text.push_str(CNI_IMAGES);
    text
}

pub struct KubeadmModel {
    pub dir: PathBuf,
    pub version: String,
    pub records: PathBuf,
    pub cluster: PathBuf,
}

/// One recorded call of the model.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub uid: u32,
    pub net: String,
    pub cwd: String,
    pub args: Vec<String>,
    /// (`pulled`|`wrote`|`removed`, detail).
    pub events: Vec<(String, String)>,
    pub exit: Option<i32>,
}

impl Call {
    /// The subcommand words (`init`, `config images pull`, ...).
    pub fn starts_with(&self, words: &[&str]) -> bool {
        self.args.len() >= words.len() && self.args.iter().zip(words).all(|(a, w)| a == w)
    }

    pub fn pulled(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|(k, _)| k == "pulled")
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The record's escaping of an argument (`\\` and `\n`) undone.
fn unescape(arg: &str) -> String {
    let mut out = String::new();
    let mut chars = arg.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn open_dir(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
}

impl KubeadmModel {
    /// Installs the model of `version` as `<dir>/kubeadm`, working under the
    /// root prefix `root`, recording into `records`, keeping the cluster's
    /// state in `cluster` (both created writable for u7s-admin, as whom the
    /// model runs inside the namespaces).
    pub fn install(
        dir: &Path,
        version: &str,
        root: &Path,
        records: &Path,
        cluster: &Path,
    ) -> KubeadmModel {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        open_dir(records);
        open_dir(cluster);
        // The record is appended to by root and by u7s-admin.
        let record = records.join("kubeadm");
        if !record.exists() {
            std::fs::write(&record, "").unwrap();
        }
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o666)).unwrap();
        let program = dir.join("kubeadm");
        let tmp = dir.join(".kubeadm.tmp");
        std::fs::copy(env!("CARGO_BIN_EXE_kubeadm-model"), &tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &program).unwrap();
        // The same program answers as the registry's tools (argv[0]).
        for tool in ["skopeo", "crictl"] {
            let link = dir.join(tool);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink("kubeadm", &link).unwrap();
        }
        let model = KubeadmModel {
            dir: dir.to_owned(),
            version: version.to_owned(),
            records: records.to_owned(),
            cluster: cluster.to_owned(),
        };
        model.configure(root, &[]);
        model.stock_registry();
        model
    }

    /// Rewrites the model's settings (extra `key=value` lines after the usual).
    pub fn configure(&self, root: &Path, extra: &[(&str, &str)]) {
        let mut conf = format!(
            "version={}\nroot={}\nrecords={}\ncluster={}\nregistry={}\n",
            self.version,
            root.display(),
            self.records.display(),
            self.cluster.display(),
            self.dir.join("registry").display()
        );
        for (k, v) in extra {
            conf.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(self.dir.join("kubeadm-model.conf"), conf).unwrap();
    }

    /// The registry's contents (`REPOSITORY TAG...` lines; `*/NAME` is NAME
    /// under any registry), replacing what it held.
    pub fn set_registry(&self, text: &str) {
        std::fs::write(self.dir.join("registry"), text).unwrap();
    }

    /// A registry that mirrors this release ([`stock_registry`]).
    pub fn stock_registry(&self) {
        self.set_registry(&stock_registry(&self.version));
    }

    pub fn program(&self) -> PathBuf {
        self.dir.join("kubeadm")
    }

    pub fn minor(&self) -> u32 {
        self.version.split('.').nth(1).unwrap().parse().unwrap()
    }

    /// The configuration API version kubeadm of this release writes.
    pub fn api(&self) -> &'static str {
        if self.minor() >= 31 {
            "v1beta4"
        } else {
            "v1beta3"
        }
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls_of("kubeadm")
    }

    /// Every call of the model as `tool` (`kubeadm`, `skopeo`, `crictl`).
    pub fn calls_of(&self, tool: &str) -> Vec<Call> {
        let text = std::fs::read_to_string(self.records.join(tool)).unwrap_or_default();
        let mut calls = Vec::new();
        let mut cur: Option<Call> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("call ") {
                if let Some(c) = cur.take() {
                    calls.push(c);
                }
                let mut c = Call::default();
                for field in rest.split(' ') {
                    match field.split_once('=') {
                        Some(("uid", v)) => c.uid = v.parse().unwrap_or(u32::MAX),
                        Some(("net", v)) => c.net = v.to_owned(),
                        Some(("cwd", v)) => c.cwd = v.to_owned(),
                        _ => {}
                    }
                }
                cur = Some(c);
            } else if let Some(c) = cur.as_mut() {
                if let Some(arg) = line.strip_prefix("  [").and_then(|l| l.strip_suffix(']')) {
                    c.args.push(unescape(arg));
                } else if let Some(code) = line.strip_prefix("exit ") {
                    c.exit = code.parse().ok();
                } else if let Some(event) = line.strip_prefix("  ") {
                    if let Some((k, v)) = event.split_once(' ') {
                        c.events.push((k.to_owned(), v.to_owned()));
                    }
                }
            }
        }
        calls.extend(cur);
        calls
    }

    /// The calls other than `version` (u7s asks the version on the host).
    pub fn work_calls(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| !c.starts_with(&["version"]))
            .collect()
    }

    /// Runs the model directly (as the caller, on the host).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(self.program());
        for (key, _) in std::env::vars() {
            if key.starts_with("KUBEADM_MODEL_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }
}

/// What `kubeadm init` printed for joining: the token, the CA hash and
/// (with --upload-certs) the certificate key, read from its closing block.
#[derive(Debug, Clone)]
pub struct JoinSecrets {
    pub endpoint: String,
    pub token: String,
    pub hash: String,
    pub certificate_key: Option<String>,
}

impl JoinSecrets {
    /// `join ENDPOINT --token T --discovery-token-ca-cert-hash H`, as a
    /// worker types it.
    pub fn join_args(&self) -> Vec<&str> {
        vec![
            "join",
            &self.endpoint,
            "--token",
            &self.token,
            "--discovery-token-ca-cert-hash",
            &self.hash,
        ]
    }
}

pub fn join_secrets(init_stdout: &str) -> JoinSecrets {
    let joined = init_stdout.replace("\\\n", " ");
    let worker = joined
        .lines()
        .rev()
        .find(|l| l.starts_with("kubeadm join "))
        .unwrap_or_else(|| panic!("no worker join command in:\n{init_stdout}"));
    let words: Vec<&str> = worker.split_whitespace().collect();
    let after = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .map(|i| words[i + 1].to_owned())
    };
    let certificate_key = joined
        .lines()
        .find(|l| l.contains("--certificate-key"))
        .and_then(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.iter()
                .position(|x| *x == "--certificate-key")
                .map(|i| w[i + 1].to_owned())
        });
    JoinSecrets {
        endpoint: words[2].to_owned(),
        token: after("--token").unwrap(),
        hash: after("--discovery-token-ca-cert-hash").unwrap(),
        certificate_key,
    }
}

/// A first master made with the model alone, in its own root prefix (a
/// different host): its cluster directory is what later joins talk to.
/// Returns what its init printed for joining.
pub fn seed_cluster(model: &KubeadmModel, root: &Path, advertise: &str) -> JoinSecrets {
    std::fs::create_dir_all(root.join("run/crio")).unwrap();
    std::fs::write(root.join("run/crio/crio.sock"), "").unwrap();
    let api = model.api();
    std::fs::write(
        root.join("init.yaml"),
        format!(
            "apiVersion: kubeadm.k8s.io/{api}\nkind: InitConfiguration\nnodeRegistration:\n  name: master0\n  criSocket: unix:///run/crio/crio.sock\nlocalAPIEndpoint:\n  advertiseAddress: {advertise}\n  bindPort: 6443\n---\napiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\nkubernetesVersion: {}\ncontrolPlaneEndpoint: {advertise}:6443\netcd:\n  local:\n    dataDir: /var/lib/podsec/u7s/etcd\n",
            model.version
        ),
    )
    .unwrap();
    // support::run retries the brief ETXTBSY of a copy made meanwhile.
    let out = super::run(
        model
            .command()
            .args([
                "init",
                "--config",
                "/init.yaml",
                "--upload-certs",
                "--skip-phases=preflight",
            ])
            .env("KUBEADM_MODEL_ROOT", root)
            .env("KUBEADM_MODEL_RECORDS", ""),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "seeding a cluster failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    join_secrets(&stdout)
}
