//! `u7s ping-group-range`: root lets u7s-admin's group use ping sockets,
//! which slirp4netns needs to forward ICMP echo (u7s.service's
//! ExecStartPre); no other group is added.

use std::ffi::OsString;

use crate::settings::HostRoot;
use crate::stack::ping_group_range::{ensure_ping_group_range, PING_GROUP_RANGE};
use crate::users::AdminUser;

pub fn main(_args: Vec<OsString>) -> i32 {
    crate::log::init("ping-group-range", 0);
    let changed = AdminUser::lookup().and_then(|admin| {
        let gid = admin.gid.as_raw();
        ensure_ping_group_range(&HostRoot::from_env(), gid).map(|changed| (changed, gid))
    });
    crate::error::exit(changed.map_err(Into::into).map(|(changed, gid)| {
        if changed {
            tracing::info!("{}", crate::tr!("ping-range-set", PING_GROUP_RANGE, gid));
        }
        0
    }))
}
