//! `u7s service start|stop`: u7s.service's ExecStart/ExecStop (root). Starts or
//! stops `u7s.target` in u7s-admin's user manager and returns systemctl's status.

use std::ffi::OsString;
use std::path::Path;

use crate::error::{self, Error, Result};
use crate::exec::{self, Invocation};
use crate::stack::service::{systemctl_calls, systemctl_candidate, Action};
use crate::tools::{self, Tool};
use crate::users::AdminUser;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("service", 0);
    error::exit(run(args))
}

fn run(args: Vec<OsString>) -> Result<i32> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let action = match words.as_slice() {
        [w] => Action::parse(w),
        _ => None,
    }
    .ok_or_else(|| Error::usage(crate::tr!("service-usage")))?;
    let admin = AdminUser::lookup()?;
    let candidate = systemctl_candidate(std::env::var_os(Tool::Systemctl.env_var()), |p| {
        Path::new(p).exists()
    });
    let me = std::env::current_exe().ok();
    let systemctl = tools::resolve_with(Tool::Systemctl, Some(&candidate), me.as_deref())?;
    let mut calls = systemctl_calls(action, &admin.name, admin.uid.as_raw());
    let last = calls.pop().unwrap_or_default();
    for call in calls {
        let code = exec::fork_exec_wait(&Invocation::new(systemctl.clone(), call));
        if code != 0 {
            return Ok(code);
        }
    }
    Ok(exec::exec(&Invocation::new(systemctl, last)))
}
