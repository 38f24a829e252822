//! kubeadm-model: the kubeadm that u7s's tests run in place of the real one.
//!
//! A program of the tests, not of the product: it shares no code with u7s (a
//! model that used u7s's own parser would agree with its bugs). It enforces
//! kubeadm's contract as written down in `data/kubeadm-contract/` (flags.json,
//! config-fields.json, config-loading.json/.md, NOTES.md) and read from the
//! upstream sources of kubernetes/kubernetes `cmd/kubeadm`, with kubeadm's
//! own texts and exit codes, and it writes what the real one writes.
//!
//! # Choosing the version and where things go
//!
//! The model reads `kubeadm-model.conf` in the directory of its executable
//! (copy or link the binary there under the name `kubeadm`), `key=value` per
//! line; `KUBEADM_MODEL_<KEY>` in the environment overrides a key (the file is
//! what reaches the model when u7s runs it inside the namespaces with a
//! whitelisted environment):
//!
//! - `version=v1.31.2` (required): the kubeadm release modeled. Minors 1.26
//!   (v1beta3), 1.30 (v1beta3, v1beta4 experimental) and 1.31 (v1beta4,
//!   v1beta3 deprecated) are modeled; any other is refused.
//! - `root=/path` (default `/`): the root prefix; every absolute path kubeadm
//!   touches (`--config`, /etc/kubernetes, /var/lib/kubelet, the etcd data
//!   dir, the CRI socket, /proc/net/route) is taken under it.
//! - `records=/dir` (optional): each call appends a block to `<dir>/kubeadm`:
//!   `call uid=U euid=E net=net:[N] cwd=DIR version=V`, one `  [arg]` line per
//!   argument, event lines (`  pulled IMAGE`, `  wrote PATH`, `  removed PATH`)
//!   and `exit N`.
//! - `cluster=/dir` (default `<exe dir>/cluster`): the stand-in for what the
//!   API server would hold (see below).
//! - `openssl=/usr/bin/openssl`: the certificates are real, made with it.
//! - `probe_endpoint=true`: join first opens a TCP connection to the API
//!   endpoint it was given (a stand-in API server must listen there).
//! - `hostname=NAME`: the node name when the configuration has none (default:
//!   the kernel's host name, as kubeadm takes it).
//! - `registry=/file`: the image registry's contents (registry.rs). kubeadm's
//!   pulls fail for an image it lacks; copied or linked as `skopeo` or
//!   `crictl` beside the conf, the binary answers `skopeo list-tags` and
//!   `crictl pull` from it (records in `<records>/skopeo`, `<records>/crictl`).
//! - `after_success=/script` (a test hook, nothing kubeadm has): after a
//!   successful `init` or `join`, `sh /script` runs as the caller, in its
//!   namespaces, with `U7S_ROOT` set to the root prefix: what a compromised
//!   u7s-admin does the moment kubeadm has written its files
//!   (tests/attack_files.rs). A failing script fails the call (exit 1, a
//!   `kubeadm-model:` line), so an attack that did not happen cannot pass
//!   for one that was fended off.
//!
//! # The cluster directory: the cross-host interface
//!
//! What `kubeadm join` fetches from the API server lives in the cluster
//! directory, written by `init` (and `token create`, `init phase upload-certs`)
//! and read by `join`, on the same host or another (bind-mount or copy the
//! directory onto every host of a multi-host test):
//!
//! - `cluster-info` — the kubeconfig of the kube-public/cluster-info ConfigMap
//!   (server and `certificate-authority-data`); join pins its CA against
//!   `--discovery-token-ca-cert-hash` (sha256 of the CA's SubjectPublicKeyInfo)
//!   and fails with kubeadm's text when none matches;
//! - `endpoints` — the `host:port`s the API server answers on (the
//!   controlPlaneEndpoint and each master's advertise address and bind
//!   port); a join to any other endpoint fails as a refused connection;
//! - `tokens` — the bootstrap tokens, one per line; a join with another token
//!   fails as "token id ... is invalid for this cluster";
//! - `kubeadm-certs/` and `certificate-key.sha256` — the certificates init
//!   uploaded (`--upload-certs`) and the hash of the key that unlocks them; a
//!   control-plane join with another key fails as a failed decryption;
//! - `kubeadm-config.yaml`, `kubelet-config.yaml` — the ClusterConfiguration
//!   and KubeletConfiguration (the kube-system ConfigMaps join and reset read);
//! - `nodes`, `etcd-members` — one `name role` / `name peer-url` per line.
//!
//! # What it does not model
//!
//! No process is started or waited for: the kubelet, the static pods and etcd
//! are not run; instead the model writes what they would leave behind
//! (kubelet.conf pointing at /var/lib/kubelet/pki after the TLS bootstrap, the
//! etcd member directory). No network traffic apart from `probe_endpoint`;
//! discovery does not retry for five minutes but fails at once. Keys are
//! ECDSA P-256 in PKCS#8 (kubeadm's default is RSA 2048 in PKCS#1: RSA key
//! generation costs seconds per init on the CI machine); the kubeadm-certs
//! Secret is not encrypted, the key is checked by its hash. Manifests carry
//! kubeadm's flags, volumes and probes but not every field of every release.
//! Preflight checks modeled: IsPrivilegedUser, Port-N (a real bind inside),
//! FileAvailable for the manifests and kubelet.conf, DirAvailable for the etcd
//! data dir, the CRI socket's existence; not modeled: NumCPU, Mem, swap,
//! SystemVerification, the sysctl and executable checks. `--dry-run`,
//! `-o json|yaml` outputs, `upgrade`, `certs`, `kubeconfig` and most phases are
//! refused as not modeled (exit 1, a `kubeadm-model:` line), so no test can
//! pass through them by accident. klog warnings carry a klog-shaped header
//! but not kubeadm's file names and line numbers; deprecation notices of
//! flags are not printed.

mod cli;
mod cluster;
mod commands;
mod config;
mod crypto;
mod error;
mod files;
mod registry;
mod settings;
mod validate;
mod versions;

use error::Failure;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let model = match settings::Model::load() {
        Ok(model) => model,
        Err(e) => {
            eprintln!("kubeadm-model: {e}");
            std::process::exit(1);
        }
    };
    // Called as skopeo or crictl: the registry's tools (registry.rs).
    let called = std::env::args_os()
        .next()
        .map(|a| {
            let a = std::path::PathBuf::from(a);
            a.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    if called == "skopeo" || called == "crictl" {
        let mut record = settings::Record::start(&model, &called, &args);
        let code = if called == "skopeo" {
            registry::skopeo(&model, &args)
        } else {
            registry::crictl(&model, &args)
        };
        record.finish(code);
        std::process::exit(code);
    }
    let mut record = settings::Record::start(&model, "kubeadm", &args);
    let verbosity = cli::peek_verbosity(&args);
    let code = match commands::run(&model, &mut record, &args) {
        Ok(()) => 0,
        Err(failure) => report(failure, verbosity),
    };
    record.finish(code);
    files::remove_scratch();
    std::process::exit(code);
}

/// kubeadm's `CheckErr`: the error, then the hint (or, above -v=4, the bare
/// error where kubeadm prints its stack trace), and the exit code by kind.
fn report(failure: Failure, verbosity: i64) -> i32 {
    match failure {
        Failure::NotModeled(what) => {
            eprintln!("kubeadm-model: not modeled: {what}");
            1
        }
        Failure::Model(what) => {
            eprintln!("kubeadm-model: {what}");
            1
        }
        Failure::Exit(code) => code,
        Failure::Kubeadm { message, kind } => {
            let mut text = message;
            if verbosity <= 4 {
                text.push_str(
                    "\nTo see the stack trace of this error execute with --v=5 or higher",
                );
            }
            if !text.ends_with('\n') {
                text.push('\n');
            }
            eprint!("{text}");
            kind.exit_code()
        }
    }
}
