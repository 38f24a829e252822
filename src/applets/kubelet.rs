//! `u7s kubelet [ARGS...]`: enters the rootlesskit namespaces and runs the
//! second half there, `u7s _kubelet`, which merges the rootless settings into
//! `/var/lib/kubelet/config.yaml` (a path only right inside) and becomes the
//! real kubelet (`U7S_KUBELET`).

use std::ffi::OsString;

use super::{real_tool, run_inside};
use crate::error::{self, Error, Result};
use crate::exec::{self, Invocation};
use crate::layout::admin::role_context;
use crate::stack::kubelet::{kubelet_args, update_config, CONFIG};
use crate::tools::Tool;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("kubelet", 0);
    error::exit(enter(args))
}

fn enter(args: Vec<OsString>) -> Result<i32> {
    // Settle the env file before entering, so its error comes first and alone.
    role_context()?;
    let me = std::env::current_exe().map_err(|e| Error::fail(crate::tr!("cannot-find-self", e)))?;
    let mut inner = vec![OsString::from("_kubelet")];
    inner.extend(args);
    Ok(run_inside(Invocation::new(me, inner)))
}

/// The part that runs inside the namespaces.
pub fn inside(args: Vec<OsString>) -> i32 {
    crate::log::init("kubelet", 0);
    error::exit(run_kubelet(args))
}

fn run_kubelet(args: Vec<OsString>) -> Result<i32> {
    if std::env::var_os("ROOTLESSKIT_STATE_DIR").is_none() {
        return Err(Error::usage(crate::tr!("kubelet-inside-only")));
    }
    let (_admin, dirs, env) = role_context()?;
    if update_config(std::path::Path::new(CONFIG), &dirs)? {
        tracing::info!("{}", crate::tr!("kubelet-merged", CONFIG));
    }
    let inv = real_tool(Tool::Kubelet, kubelet_args(&dirs, &env, args))?;
    Ok(exec::exec(&inv))
}
