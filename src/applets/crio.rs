//! `u7s crio [ARGS...]`: the rootlesskit child's command. Writes crio.conf for
//! the rootless paths, then becomes the real crio (`U7S_CRIO`) with it.

use std::ffi::OsString;

use super::real_tool;
use crate::exec;
use crate::roles::crio::{crio_args, crio_env, prepare, CrioConfig, RuntimeTools};
use crate::roles::dirs::role_context;
use crate::tools::Tool;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("crio", 0);
    let (_admin, dirs, env) = match role_context() {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let config = CrioConfig::rootless(&dirs, &env, &RuntimeTools::new(|k| std::env::var_os(k)));
    let path = dirs.crio_config();
    if let Err(e) = prepare(&config, &path) {
        tracing::error!("{e:#}");
        return 1;
    }
    tracing::info!("{}", crate::tr!("wrote", path.display()));
    match real_tool(Tool::Crio, crio_args(&path, args)) {
        Ok(mut inv) => {
            inv.env.extend(crio_env(dirs.uid));
            exec::exec(&inv)
        }
        Err(code) => code,
    }
}
