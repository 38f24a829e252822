//! `u7s service start|stop|run|status` (root). `run` is u7s.service's main
//! process: it starts `u7s.target` in u7s-admin's user manager, tells systemd
//! it is ready, then watches the user units so that `systemctl status u7s`
//! shows their state and u7s.service fails when rootlesskit or kubelet has
//! failed for good; SIGTERM (systemctl stop) stops the target and ends it.
//! `start` and `stop` do one of those and return systemctl's status.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};

use crate::error::{self, Error, Result};
use crate::exec::{self, Invocation};
use crate::stack::service::{
    show_call, systemctl_calls, systemctl_candidate, verdict, Action, ROOTLESSKIT_UNIT,
};
use crate::tools::{self, Tool};
use crate::users::AdminUser;

/// How often the watch looks at the user units.
const WATCH_INTERVAL: Duration = Duration::from_secs(5);
/// Failed looks in a row (the user manager gone) before the service fails.
const WATCH_TRIES: u32 = 3;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("service", 0);
    error::exit(run(args))
}

fn systemctl() -> Result<PathBuf> {
    let candidate = systemctl_candidate(std::env::var_os(Tool::Systemctl.env_var()), |p| {
        Path::new(p).exists()
    });
    let me = std::env::current_exe().ok();
    Ok(tools::resolve_with(
        Tool::Systemctl,
        Some(&candidate),
        me.as_deref(),
    )?)
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
    let systemctl = systemctl()?;
    match action {
        Action::Run => return watch(&systemctl, &admin),
        Action::Status => return status(&systemctl, &admin),
        Action::Start | Action::Stop => {}
    }
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

/// One look at the user units: `systemctl show` parsed, or why not.
fn look(
    systemctl: &Path,
    admin: &AdminUser,
) -> std::result::Result<Vec<crate::systemd::UnitState>, String> {
    let inv = Invocation::new(systemctl, show_call(&admin.name));
    match exec::run_captured(&inv) {
        Ok(out) if out.status.success() => Ok(crate::systemd::parse_show(
            &String::from_utf8_lossy(&out.stdout),
        )),
        Ok(out) => Err(crate::error::one_line(&String::from_utf8_lossy(
            &out.stderr,
        ))),
        Err(e) => Err(e.to_string()),
    }
}

fn status(systemctl: &Path, admin: &AdminUser) -> Result<i32> {
    let units = look(systemctl, admin).map_err(Error::fail)?;
    let v = verdict(&units);
    println!("{}", v.status);
    Ok(if v.fatal.is_some() { 3 } else { 0 })
}

fn watch(systemctl: &Path, admin: &AdminUser) -> Result<i32> {
    let notifier = crate::systemd::Notifier::from_env();
    // SIGTERM and SIGINT are taken with sigtimedwait between two looks;
    // children (systemctl) start with an empty mask (std resets it).
    let mut stop_signals = SigSet::empty();
    stop_signals.add(Signal::SIGTERM);
    stop_signals.add(Signal::SIGINT);
    stop_signals
        .thread_block()
        .map_err(|e| Error::fail(format!("sigprocmask: {e}")))?;
    for call in systemctl_calls(Action::Run, &admin.name, admin.uid.as_raw()) {
        let code = exec::run_wait(&Invocation::new(systemctl, call))
            .map_err(|e| Error::fail(crate::tr!("cannot-run-err", systemctl.display(), e)))?;
        if code != 0 {
            return Ok(code);
        }
    }
    notifier.notify("READY=1");
    let mut misses = 0;
    loop {
        match look(systemctl, admin) {
            Ok(units) => {
                misses = 0;
                let v = verdict(&units);
                notifier.notify(&format!("STATUS={}", v.status));
                if let Some(why) = v.fatal {
                    let logs =
                        crate::systemd::journal_command(admin.uid.as_raw(), ROOTLESSKIT_UNIT);
                    return Err(Error::fail(crate::tr!("service-stack-down", why, logs)));
                }
            }
            Err(why) => {
                misses += 1;
                if misses >= WATCH_TRIES {
                    return Err(Error::fail(crate::tr!(
                        "service-watch-lost",
                        admin.name,
                        misses,
                        why
                    )));
                }
            }
        }
        if let Some(sig) = crate::os::signal::wait_timeout(&stop_signals, WATCH_INTERVAL) {
            tracing::info!("{sig:?}: stopping {}", crate::stack::service::TARGET);
            notifier.notify("STOPPING=1");
            let mut calls = systemctl_calls(Action::Stop, &admin.name, admin.uid.as_raw());
            let call = calls.pop().unwrap_or_default();
            return exec::run_wait(&Invocation::new(systemctl, call))
                .map_err(|e| Error::fail(crate::tr!("cannot-run-err", systemctl.display(), e)));
        }
    }
}
