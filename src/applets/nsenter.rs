//! `nsenter_u7s [-v N] [--] [CMD [ARGS...]]`: run CMD (default `$SHELL`) inside
//! the u7s-admin rootlesskit namespaces.

use std::ffi::OsString;

use super::{leading, run_inside};
use crate::exec::Invocation;
use crate::users::AdminUser;

fn default_shell() -> OsString {
    if let Some(shell) = std::env::var_os("SHELL").filter(|s| !s.is_empty()) {
        return shell;
    }
    AdminUser::lookup()
        .map(|a| a.shell.into_os_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into())
}

pub fn main(args: Vec<OsString>) -> i32 {
    let (verbosity, help, mut command) = match leading::parse(args, leading::Unknown::IsCommand) {
        Ok(l) => (l.verbosity, l.help, l.command),
        Err(msg) => {
            crate::log::init("nsenter_u7s", 0);
            tracing::error!("{msg}");
            return 2;
        }
    };
    crate::log::init("nsenter_u7s", verbosity);
    if help {
        // The usage lives in crate::docs, the source of the man page too.
        print!("{}", crate::docs::long_help("nsenter_u7s"));
        return 0;
    }
    if command.is_empty() {
        command.push(default_shell());
    }
    let program = command.remove(0);
    run_inside(Invocation::new(program, command))
}
