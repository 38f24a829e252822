//! `u7s ping-group-range`: root lets every group use ping sockets, which
//! slirp4netns needs to forward ICMP echo (u7s.service's ExecStartPre).

use std::ffi::OsString;

use crate::roles::host::{ensure_ping_group_range, PING_GROUP_RANGE};
use crate::settings::HostRoot;

pub fn main(_args: Vec<OsString>) -> i32 {
    crate::log::init("ping-group-range", 0);
    match ensure_ping_group_range(&HostRoot::from_env()) {
        Ok(true) => {
            tracing::info!("{}", crate::tr!("ping-range-set", PING_GROUP_RANGE));
            0
        }
        Ok(false) => 0,
        Err(e) => {
            tracing::error!("{e:#}");
            1
        }
    }
}
