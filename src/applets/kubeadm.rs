//! `kubeadm ARGS...`: root only. Help and `version` run the real kubeadm
//! directly; `init` and `join` are u7s's own; every other subcommand runs the
//! real kubeadm inside the namespaces with the arguments byte-for-byte.

use std::ffi::OsString;

use nix::unistd::geteuid;

use super::{real_tool, run_inside};
use crate::error::{self, Error, Result};
use crate::exec::{self, Invocation};
use crate::flow::command::{self, Failure, RunContext};
use crate::flow::execute::Executor;
use crate::kubeadm::flags::{FlagError, Subcommand};
use crate::ns::state;
use crate::settings::{EnvInputs, HostRoot};
use crate::tools::{self, Tool};
use crate::users::AdminUser;

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

/// The real tool's path as the plan will run it: resolved when possible, the
/// default path otherwise (a dry run needs no real tools).
fn tool_path(tool: Tool) -> (String, bool) {
    match tools::resolve(tool) {
        Ok(path) => (path.display().to_string(), true),
        // Unusable: name the path the admin set (preflight then says that one
        // is missing), else the default.
        Err(_) => {
            let set = std::env::var(tool.env_var())
                .ok()
                .filter(|v| v.starts_with('/'));
            (
                set.unwrap_or_else(|| tool.default_path().display().to_string()),
                false,
            )
        }
    }
}

fn run_context() -> RunContext {
    let (kubeadm, have_kubeadm) = tool_path(Tool::Kubeadm);
    let kubeadm_short = have_kubeadm
        .then(|| {
            let inv = Invocation::new(
                &kubeadm,
                vec!["version".into(), "-o".into(), "short".into()],
            );
            match exec::run_captured(&inv) {
                Ok(out) if out.status.success() => {
                    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
                        .filter(|v| !v.is_empty())
                }
                _ => None,
            }
        })
        .flatten();
    RunContext {
        root: HostRoot::from_env(),
        env: EnvInputs::from_process_env(),
        kubeadm_short,
        kubeadm,
        kubectl: tool_path(Tool::Kubectl).0,
        systemctl: tool_path(Tool::Systemctl).0,
        account_tools: crate::flow::plan::AccountTools {
            useradd: tool_path(Tool::Useradd).0,
            groupadd: tool_path(Tool::Groupadd).0,
            loginctl: tool_path(Tool::Loginctl).0,
        },
        tools: tools::NODE_TOOLS
            .iter()
            .map(|t| (t.name().to_owned(), tool_path(*t).0))
            .collect(),
    }
}

/// `kubeadm init` / `kubeadm join`.
fn own(cmd: &str, args: Vec<OsString>) -> Result<i32> {
    let sub = if cmd == "init" {
        Subcommand::Init
    } else {
        Subcommand::Join
    };
    let ctx = run_context();
    let mut prepared = match command::prepare(sub, &args, &ctx) {
        Ok(prepared) => prepared,
        // `kubeadm init phase ...`: the real kubeadm's business.
        Err(Failure::Flags(FlagError::PhaseSubcommand(_))) => return inside(args),
        Err(failure) => return Err(failure.into()),
    };
    for note in &prepared.notes {
        tracing::warn!("{note}");
    }
    if prepared.dry_run {
        print!("{}", command::dry_run_output(&prepared)?);
        return Ok(0);
    }
    if !geteuid().is_root() {
        return Err(Error::fail(crate::tr!("kubeadm-own-needs-root", cmd, cmd)));
    }
    let root = HostRoot::from_env();
    let ignore = prepared
        .parsed
        .list("ignore-preflight-errors")
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    if prepared.admin_missing {
        // Preflight, then the account; the rest of the plan depends on the
        // new uid, so it is made again once the account exists.
        let first = &prepared.plan[..2];
        executor(&root, &prepared.admin, ignore.clone()).run(first)?;
        prepared = command::prepare(sub, &args, &ctx)?;
        if prepared.admin_missing {
            return Err(Error::fail(crate::tr!(
                "admin-not-created",
                crate::users::admin_user_name()
            )));
        }
    }
    executor(&root, &prepared.admin, ignore).run(&prepared.plan)?;
    Ok(0)
}

/// `YYYYMMDD-HHMMSS` in UTC, for backup names that sort by time.
pub fn utc_stamp(now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn executor<'a>(root: &'a HostRoot, admin: &'a AdminUser, ignore: Vec<String>) -> Executor<'a> {
    Executor {
        root,
        admin,
        stamp: utc_stamp(std::time::SystemTime::now()),
        ignore_preflight: ignore,
        self_exe: std::env::current_exe()
            .unwrap_or_else(|_| "/usr/libexec/podsec/u7s/bin/u7s".into()),
        euid_is_root: geteuid().is_root(),
    }
}

/// `kubeadm reset ...`: the real reset inside the namespaces while they
/// exist, then u7s.service stopped and disabled and the state moved aside.
fn reset(args: Vec<OsString>) -> Result<i32> {
    if !geteuid().is_root() {
        return Err(Error::fail(crate::tr!("kubeadm-reset-needs-root")));
    }
    let args = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Error::fail(crate::tr!("kubeadm-reset-not-utf8")))?;
    let root = HostRoot::from_env();
    let admin = AdminUser::lookup_under(&root)?.ok_or_else(|| {
        Error::fail(crate::tr!(
            "kubeadm-reset-no-admin",
            crate::users::admin_user_name()
        ))
    })?;
    let namespaces_ready = state::check(&state::state_dir_for(&admin)).is_ok();
    if !namespaces_ready {
        tracing::warn!("{}", crate::tr!("kubeadm-reset-not-running", admin.name));
    }
    let plan = crate::flow::reset::plan(&crate::flow::reset::ResetInput {
        kubeadm: tool_path(Tool::Kubeadm).0,
        args,
        systemctl: tool_path(Tool::Systemctl).0,
        admin_home: admin.home.display().to_string(),
        namespaces_ready,
    });
    executor(&root, &admin, Vec::new()).run(&plan)?;
    Ok(0)
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
        Route::Direct => real_tool(Tool::Kubeadm, args).map(|inv| exec::exec(&inv)),
        Route::Own(cmd) => own(&cmd, args),
        Route::Reset => reset(args),
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

    #[test]
    fn backup_stamps_are_utc_civil_time() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101-000000");
        assert_eq!(at(951_782_400), "20000229-000000");
        assert_eq!(at(1_795_722_000), "20261126-194000");
    }
}
