//! `kubeadm ARGS...`: root only. Help and `version` run the real kubeadm
//! directly; `init` and `join` are u7s's own; every other subcommand runs the
//! real kubeadm inside the namespaces with the arguments byte-for-byte.

use std::ffi::OsString;

use nix::unistd::geteuid;

use super::{real_tool, run_inside};
use crate::error::{self, Error, Result};
use crate::exec;
use crate::flow::{self, Outcome};
use crate::kubeadm::flags::Subcommand;
use crate::os::linux::LinuxOs;
use crate::tools::Tool;

/// Global flags of kubeadm that take a separate value (`--rootfs DIR`), so that
/// the value is not mistaken for the subcommand.
const VALUED_GLOBALS: &[&str] = &[
    "-v",
    "--v",
    "--rootfs",
    "--log-file",
    "--log-file-max-size",
    "--vmodule",
    "--log-dir",
    "--log_dir",
    "--log_file",
    "--stderrthreshold",
    "--log-backtrace-at",
];

/// What the command line asks for, as far as routing is concerned.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Help, version or completion: the real kubeadm, no namespaces needed.
    Direct,
    /// `init` / `join`: u7s's own flow.
    Own(String),
    /// `reset`: the real reset inside, then the rootless stack is set aside.
    Reset,
    /// Everything else: the real kubeadm inside the namespaces.
    Inside,
}

/// The first positional argument, skipping global flags and their values.
pub fn subcommand(args: &[OsString]) -> Option<String> {
    let mut iter = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            return iter.next().map(|a| a.into_owned());
        }
        if VALUED_GLOBALS.contains(&arg.as_ref()) {
            iter.next();
            continue;
        }
        if !arg.starts_with('-') {
            return Some(arg.into_owned());
        }
    }
    None
}

pub fn route(args: &[OsString]) -> Route {
    let asks_help = args
        .iter()
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a == "-h" || a == "--help");
    match subcommand(args).as_deref() {
        None | Some("help") | Some("version") | Some("completion") => Route::Direct,
        _ if asks_help => Route::Direct,
        Some(cmd @ ("init" | "join")) => Route::Own(cmd.to_owned()),
        Some("reset") => Route::Reset,
        Some(_) => Route::Inside,
    }
}

/// `kubeadm init` / `kubeadm join`: the flow, against this host.
fn own(cmd: &str, args: Vec<OsString>) -> Result<i32> {
    let sub = if cmd == "init" {
        Subcommand::Init
    } else {
        Subcommand::Join
    };
    match flow::run(&LinuxOs::from_env(), sub, &args)? {
        Outcome::Done => Ok(0),
        Outcome::DryRun(text) => {
            print!("{text}");
            Ok(0)
        }
        // `kubeadm init phase ...`: the real kubeadm's business.
        Outcome::NotOurs => inside(args),
    }
}

fn inside(args: Vec<OsString>) -> Result<i32> {
    if !geteuid().is_root() {
        return Err(Error::fail(crate::tr!("kubeadm-needs-root")));
    }
    Ok(run_inside(real_tool(Tool::Kubeadm, args)?))
}

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("kubeadm", crate::log::peek_verbosity(&args).unwrap_or(0));
    error::exit(match route(&args) {
        Route::Direct => {
            match super::kubeadm_help::section_for(&args, subcommand(&args).as_deref()) {
                Some(section) => super::kubeadm_help::run(args, section),
                None => real_tool(Tool::Kubeadm, args).map(|inv| exec::exec(&inv)),
            }
        }
        Route::Own(cmd) => own(&cmd, args),
        Route::Reset => flow::reset(&LinuxOs::from_env(), &args).map(|()| 0),
        Route::Inside => inside(args),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn routes() {
        assert_eq!(route(&os(&[])), Route::Direct);
        assert_eq!(route(&os(&["--help"])), Route::Direct);
        assert_eq!(route(&os(&["version", "-o", "short"])), Route::Direct);
        assert_eq!(route(&os(&["-v", "5", "version"])), Route::Direct);
        assert_eq!(route(&os(&["token", "create", "--help"])), Route::Direct);
        assert_eq!(
            route(&os(&["init", "--dry-run"])),
            Route::Own("init".into())
        );
        assert_eq!(
            route(&os(&["--rootfs", "/x", "join", "1.2.3.4:6443"])),
            Route::Own("join".into())
        );
        assert_eq!(
            route(&os(&["token", "create", "--print-join-command"])),
            Route::Inside
        );
        assert_eq!(route(&os(&["reset", "-f"])), Route::Reset);
        assert_eq!(route(&os(&["reset", "--help"])), Route::Direct);
        assert_eq!(
            route(&os(&["-v=3", "certs", "check-expiration"])),
            Route::Inside
        );
        // A literal "--help" after "--" is an argument, not a request for help.
        assert_eq!(route(&os(&["token", "--", "--help"])), Route::Inside);
    }
}
