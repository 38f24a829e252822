//! The service roles: what the systemd units run (reference `crio.sh`,
//! `kubelet.sh`/`_kubelet.sh`, `init-crio.sh`, `u7sinit.sh`,
//! `u7s-start-stop.sh`), as pure logic the applets call.
//!
//! - `dirs`: u7s-admin's XDG directories, the CRI-O socket, the env file;
//! - `toml`: a minimal TOML writer;
//! - `crio`: crio.conf as typed data, crio's argv and environment;
//! - `kubelet`: the rootless kubelet configuration merge and kubelet's argv;
//! - `crio_wait`: waiting, bounded, for CRI-O's socket;
//! - `host`: host settings applied by root (ping_group_range);
//! - `service`: the systemctl calls of `u7s.service`.

pub mod crio;
pub mod crio_wait;
pub mod dirs;
pub mod host;
pub mod kubelet;
pub mod service;
pub mod toml;
