//! `u7s crio [ARGS...]`: the rootlesskit child's command. Writes crio.conf for
//! the rootless paths, then becomes the real crio (`U7S_CRIO`) with it.

use std::ffi::OsString;

use super::real_tool;
use crate::error::{self, Result};
use crate::exec;
use crate::layout::admin::role_context;
use crate::stack::crio::{crio_args, crio_env, prepare, CrioConfig, RuntimeTools};
use crate::tools::Tool;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("crio", 0);
    error::exit(run(args))
}

fn run(args: Vec<OsString>) -> Result<i32> {
    let (_admin, dirs, env) = role_context()?;
    let config = CrioConfig::rootless(&dirs, &env, &RuntimeTools::new(|k| std::env::var_os(k)));
    let path = dirs.crio_config();
    prepare(&config, &path)?;
    tracing::info!("{}", crate::tr!("wrote", path.display()));
    let mut inv = real_tool(Tool::Crio, crio_args(&path, args))?;
    inv.env.extend(crio_env(dirs.uid));
    Ok(exec::exec(&inv))
}
