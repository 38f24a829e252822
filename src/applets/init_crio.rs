//! `u7s init-crio`: u7s-kubelet.service's ExecStartPre. Creates the CRI-O socket
//! directory and waits (`U7S_CRIO_WAIT_SECS`, default 60) until CRI-O answers.

use std::ffi::OsString;
use std::time::Duration;

use crate::error::{self, Error, Result};
use crate::layout::AdminDirs;
use crate::stack::crio_wait::{wait_budget, wait_for_socket};
use crate::users::AdminUser;

pub fn main(_args: Vec<OsString>) -> i32 {
    crate::log::init("init-crio", 0);
    error::exit(run())
}

fn run() -> Result<i32> {
    let admin = AdminUser::lookup()?;
    let dirs = AdminDirs::of_this_session(&admin);
    let socket_dir = dirs.crio_runtime_dir();
    std::fs::create_dir_all(&socket_dir)
        .map_err(|e| Error::fail(crate::tr!("cannot-create-err", socket_dir.display(), e)))?;
    let budget = wait_budget(std::env::var("U7S_CRIO_WAIT_SECS").ok().as_deref());
    let log = crate::systemd::journal_command(
        admin.uid.as_raw(),
        crate::stack::service::ROOTLESSKIT_UNIT,
    );
    wait_for_socket(
        &dirs.crio_socket(),
        budget,
        Duration::from_millis(250),
        &log,
    )
    .map_err(Error::fail)?;
    Ok(0)
}
