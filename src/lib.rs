//! u7s: rootless Kubernetes for ALT Linux podsec-k8s, as one multi-call binary.
//!
//! Layout (one job per module; ARCHITECTURE.md has the whole picture):
//! - `applets`: argv[0] dispatch and the user-facing applets (thin);
//! - `argv`: the arguments as typed, with secrets hidden from /proc/<pid>/cmdline;
//! - `error`: the one error type, carrying its exit status, reported where the applet returns;
//! - `log`: verbosity and the stderr message format;
//! - `tools`: where the real upstream tools live, and the recursion guard;
//! - `exec`: the one place that replaces this process with another program;
//! - `ns`: the rootlesskit namespaces: readiness of the state dir, and entering them;
//! - `os`: the one OS layer of init/join/reset (a trait; the Linux and the recording one);
//! - `idmap`: whether u7s-admin may run a privileged newuidmap/newgidmap (doctor and preflight);
//! - `users`: the u7s-admin account and the environment a process inside gets;
//! - `layout`: where every file is, the host's and u7s-admin's (one definition each);
//! - `flow`: the host steps of init/join/reset as data, shared by `--dry-run` and the real run;
//! - `kubeadm`: the kubeadm command line (flags) and the kubeadm configuration;
//! - `kubeconfig`: root's kubeconfig, rebuilt from admin.conf under a whitelist;
//! - `rootkube`: what root's kubectl (on the host) reads, and the one check that only root
//!   can have written it and that the whitelist accepts it (kubectl and doctor);
//! - `subids`: u7s-admin's subordinate id ranges, under shadow-utils' lock;
//! - `cni`: the network plugin: its ports, manifest and /etc/cni/net.d files;
//! - `stack`: the service roles the systemd units run (rootlesskit, crio, kubelet, start/stop);
//! - `settings`: host facts and everything derived from them (registry, networks, env file);
//! - `yaml`: YAML behind one module;
//! - `doctor`: `u7s doctor`, the checks of the whole stack and their report;
//! - `systemd`: unit states as `systemctl show` gives them, sd_notify, journal commands;
//! - `docs`: usage, environment and exit status of every applet as clap commands, the
//!   source of `--help`, the man pages and shell completions.

pub mod applets;
pub mod argv;
pub mod cni;
pub mod docs;
pub mod docs_ru;
pub mod doctor;
pub mod error;
pub mod exec;
pub mod flow;
pub mod fsx;
pub mod i18n;
pub mod idmap;
pub mod journal;
pub mod kubeadm;
pub mod kubeconfig;
pub mod layout;
pub mod log;
pub mod ns;
pub mod os;
pub mod pty;
pub mod rootkube;
pub mod settings;
pub mod stack;
pub mod subids;
pub mod systemd;
pub mod tools;
pub mod users;
pub mod yaml;
