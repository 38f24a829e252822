//! u7s: rootless Kubernetes for ALT Linux podsec-k8s, as one multi-call binary.
//!
//! Layout (one job per module):
//! - `applets`: argv[0] dispatch and the user-facing applets (thin);
//! - `log`: verbosity and the stderr message format;
//! - `tools`: where the real upstream tools live, and the recursion guard;
//! - `exec`: the one place that replaces this process with another program;
//! - `ns`: the rootlesskit namespaces: readiness of the state dir, and entering them;
//! - `users`: the u7s-admin account and the environment a process inside gets;
//! - `flow`: the host steps of init/join as data, shared by `--dry-run` and the real run;
//! - `kubeadm`: the kubeadm command line (flags) and the kubeadm configuration;
//! - `roles`: the service roles the systemd units run (crio, kubelet, start/stop);
//! - `settings`: host facts and everything derived from them (registry, networks, env file);
//! - `docs`: usage, environment and exit status of every applet as clap commands, the
//!   source of the man pages and shell completions.

pub mod applets;
pub mod docs;
pub mod exec;
pub mod flow;
pub mod fsx;
pub mod i18n;
pub mod journal;
pub mod kubeadm;
pub mod log;
pub mod ns;
pub mod roles;
pub mod settings;
pub mod stack;
pub mod tools;
pub mod users;
