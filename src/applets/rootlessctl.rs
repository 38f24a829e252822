//! `rootlessctl ARGS...`: the real rootlessctl on u7s-admin's rootlesskit API socket.

use std::ffi::OsString;

use super::real_tool;
use crate::exec;
use crate::ns::state;
use crate::tools::Tool;
use crate::users::AdminUser;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("rootlessctl", 0);
    let admin = match AdminUser::lookup() {
        Ok(admin) => admin,
        Err(e) => {
            tracing::error!("{e:#}");
            return 1;
        }
    };
    let socket = state::state_dir_for(&admin).join(state::API_SOCK);
    let mut full = vec![OsString::from("--socket"), socket.into_os_string()];
    full.extend(args);
    match real_tool(Tool::Rootlessctl, full) {
        Ok(inv) => exec::exec(&inv),
        Err(code) => code,
    }
}
