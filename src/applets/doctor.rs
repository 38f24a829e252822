//! `u7s doctor [-o text|json]`: every check of the stack, one line each
//! (see `crate::doctor`). Root or u7s-admin.

use std::ffi::OsString;

use nix::unistd::geteuid;

use crate::doctor::checks::{self, Context};
use crate::error::{self, Error, Result};
use crate::layout::AdminDirs;
use crate::stack::service::systemctl_candidate;
use crate::tools::{self, Tool};
use crate::users::AdminUser;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("doctor", 0);
    error::exit(run(args))
}

fn run(args: Vec<OsString>) -> Result<i32> {
    let mut argv = vec![OsString::from("doctor")];
    argv.extend(args);
    let matches = match crate::docs::doctor().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(code);
        }
    };
    let json = matches.get_one::<String>("output").map(String::as_str) == Some("json");
    let admin = AdminUser::lookup().map_err(|e| Error::fail(format!("[ERROR User] {e:#}")))?;
    let euid = geteuid();
    let as_root = euid.is_root();
    if !as_root && euid != admin.uid {
        return Err(Error::usage(crate::tr!("doctor-who", admin.name)));
    }
    let dirs = if as_root {
        AdminDirs::standard(&admin).with_overrides(&|k: &str| std::env::var_os(k))
    } else {
        AdminDirs::of_this_session(&admin)
    };
    let candidate = systemctl_candidate(std::env::var_os(Tool::Systemctl.env_var()), |p| {
        std::path::Path::new(p).exists()
    });
    let me = std::env::current_exe().ok();
    let systemctl = tools::resolve_with(Tool::Systemctl, Some(&candidate), me.as_deref())?;
    let kubeconfig = if as_root {
        nix::unistd::User::from_uid(euid)
            .ok()
            .flatten()
            .map(|u| u.dir)
            .unwrap_or_else(|| "/root".into())
            .join(".kube/config")
    } else {
        dirs.kubeconfig()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let ctx = Context {
        admin,
        dirs,
        as_root,
        systemctl,
        kubectl: tools::resolve(Tool::Kubectl).ok(),
        kubeconfig,
        now,
    };
    let mut report = checks::run(&ctx);
    let ignored: Vec<String> = matches
        .get_many::<String>("ignore-errors")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    report.ignore(&ignored);
    if json {
        print!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    Ok(report.exit_code())
}
