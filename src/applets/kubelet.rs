//! `u7s kubelet [ARGS...]`: enters the rootlesskit namespaces and runs the
//! second half there, `u7s _kubelet`, which merges the rootless settings into
//! `/var/lib/kubelet/config.yaml` (a path only right inside) and becomes the
//! real kubelet (`U7S_KUBELET`).

use std::ffi::OsString;

use super::{real_tool, run_inside};
use crate::exec::{self, Invocation};
use crate::roles::dirs::role_context;
use crate::roles::kubelet::{kubelet_args, update_config, CONFIG};
use crate::tools::Tool;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("kubelet", 0);
    // Settle the env file before entering, so its error comes first and alone.
    if let Err(code) = role_context() {
        return code;
    }
    let me = match std::env::current_exe() {
        Ok(me) => me,
        Err(e) => {
            tracing::error!("{}", crate::tr!("cannot-find-self", e));
            return 1;
        }
    };
    let mut inner = vec![OsString::from("_kubelet")];
    inner.extend(args);
    run_inside(Invocation::new(me, inner))
}

/// The part that runs inside the namespaces.
pub fn inside(args: Vec<OsString>) -> i32 {
    crate::log::init("kubelet", 0);
    if std::env::var_os("ROOTLESSKIT_STATE_DIR").is_none() {
        tracing::error!("{}", crate::tr!("kubelet-inside-only"));
        return 2;
    }
    let (_admin, dirs, env) = match role_context() {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    match update_config(std::path::Path::new(CONFIG), &dirs) {
        Ok(true) => tracing::info!("{}", crate::tr!("kubelet-merged", CONFIG)),
        Ok(false) => {}
        Err(e) => {
            tracing::error!("{e:#}");
            return 1;
        }
    }
    match real_tool(Tool::Kubelet, kubelet_args(&dirs, &env, args)) {
        Ok(inv) => exec::exec(&inv),
        Err(code) => code,
    }
}
