//! `u7s ping-group-range`: root lets every group use ping sockets, which
//! slirp4netns needs to forward ICMP echo (u7s.service's ExecStartPre).

use std::ffi::OsString;

use crate::settings::HostRoot;
use crate::stack::ping_group_range::{ensure_ping_group_range, PING_GROUP_RANGE};

pub fn main(_args: Vec<OsString>) -> i32 {
    crate::log::init("ping-group-range", 0);
    let changed = ensure_ping_group_range(&HostRoot::from_env()).map_err(Into::into);
    crate::error::exit(changed.map(|changed| {
        if changed {
            tracing::info!("{}", crate::tr!("ping-range-set", PING_GROUP_RANGE));
        }
        0
    }))
}
