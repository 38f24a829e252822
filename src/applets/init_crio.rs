//! `u7s init-crio`: u7s-kubelet.service's ExecStartPre. Creates the CRI-O socket
//! directory and waits (`U7S_CRIO_WAIT_SECS`, default 60) until CRI-O answers.

use std::ffi::OsString;
use std::time::Duration;

use crate::roles::crio_wait::{wait_budget, wait_for_socket};
use crate::roles::dirs::RoleDirs;
use crate::users::AdminUser;

pub fn main(_args: Vec<OsString>) -> i32 {
    crate::log::init("init-crio", 0);
    let admin = match AdminUser::lookup() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("{e:#}");
            return 1;
        }
    };
    let dirs = RoleDirs::from_env(&admin);
    if let Err(e) = std::fs::create_dir_all(dirs.crio_runtime_dir()) {
        tracing::error!(
            "{}",
            crate::tr!("cannot-create-err", dirs.crio_runtime_dir().display(), e)
        );
        return 1;
    }
    let budget = wait_budget(std::env::var("U7S_CRIO_WAIT_SECS").ok().as_deref());
    match wait_for_socket(&dirs.crio_socket(), budget, Duration::from_millis(250)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    }
}
