//! The service roles: what the systemd units run, as pure logic plus the few
//! thin functions that touch the system (reference `rootlesskit.sh`,
//! `crio.sh`, `kubelet.sh`/`_kubelet.sh`, `init-crio.sh`, `u7sinit.sh`,
//! `u7s-start-stop.sh`). The applets in `crate::applets` are their entry
//! points; where their files are is `crate::layout`.
//!
//! u7s-admin's user units (the rootless stack):
//! - `rootlesskit`: the parent's command line and the child-side setup inside
//!   the namespaces;
//! - `ports`: the port forwards of a node role and the persistent NodePort list;
//! - `crio`: crio.conf as typed data, crio's argv and environment;
//! - `crio_wait`: waiting, bounded, for CRI-O's socket;
//! - `kubelet`: the rootless kubelet configuration merge and kubelet's argv.
//!
//! The system unit `u7s.service` (root):
//! - `service`: the systemctl calls that start and stop `u7s.target`;
//! - `ping_group_range`: the ping sockets slirp4netns needs.
//!
//! Formats: crio.conf is written with the toml crate, `rootlessctl
//! list-ports --json` is read with serde_json.

pub mod crio;
pub mod crio_wait;
pub mod kubelet;
pub mod ping_group_range;
pub mod ports;
pub mod rootlesskit;
pub mod service;
