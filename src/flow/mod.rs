//! `kubeadm init`, `kubeadm join` and `kubeadm reset` on the host.
//!
//! The path of a run, each part in its own module:
//! 1. [`facts`]: read everything the plan depends on, through the OS layer
//!    (`crate::os`), into one plain value;
//! 2. [`planner`]: plan from the facts and the parsed command line, with no
//!    I/O: the settings, the env file, the kubeadm configuration and the
//!    host [`steps`] (each a [`step::StepKind`] and its [`action`]s);
//! 3. `--dry-run` prints the plan; a real run goes to [`execute`], which
//!    carries the steps out through the OS layer: first the preflight
//!    ([`preflight`]), then, if u7s-admin is missing, its creation, a fresh
//!    read of the facts and a new plan for the account's real uid, then
//!    every step.
//!
//! [`run`] drives init and join, [`reset()`] the reset ([`reset`] plans it).

pub mod action;
pub mod audit;
pub mod execute;
pub mod facts;
pub mod images;
pub mod planner;
pub mod preflight;
pub mod reset;
pub mod retry;
pub mod step;
pub mod steps;

use std::ffi::OsString;

use crate::error::{Error, Result};
use crate::kubeadm::flags::{FlagError, Subcommand};
use crate::os::{Ids, Os};
use crate::users::{admin_user_name, AdminUser};
use execute::Executor;
use facts::Facts;
use planner::{Failure, Plan};

/// What `kubeadm init|join` came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The host is set up (or the run failed: that is an `Err`).
    Done,
    /// `--dry-run`: what would be done, for stdout.
    DryRun(String),
    /// `kubeadm init phase ...`: the real kubeadm's business, not ours.
    NotOurs,
}

fn ids(admin: &AdminUser) -> Ids {
    Ids {
        uid: admin.uid.as_raw(),
        gid: admin.gid.as_raw(),
    }
}

/// `kubeadm init|join ARGS` against the host `os` gives.
pub fn run(os: &dyn Os, sub: Subcommand, args: &[OsString]) -> Result<Outcome> {
    let mut facts = Facts::gather(os);
    let parsed = match planner::parse(sub, args, &facts) {
        Err(Failure::Flags(FlagError::PhaseSubcommand(_))) => return Ok(Outcome::NotOurs),
        parsed => parsed?,
    };
    facts.complete(os, parsed.config_path())?;
    let plan = planner::plan(sub, parsed.clone(), &facts)?;
    for note in &plan.notes {
        tracing::warn!("{note}");
    }
    if plan.dry_run {
        return Ok(Outcome::DryRun(planner::dry_run_output(&plan)?));
    }
    if os.euid() != 0 {
        let cmd = sub.name();
        return Err(Error::fail(crate::tr!("kubeadm-own-needs-root", cmd, cmd)));
    }
    let ignore = plan.ignore_preflight.clone();
    let plan = if plan.admin_missing {
        create_admin(os, &plan, ignore.clone())?;
        // Everything after depends on the new account's uid: read the host
        // again and plan again.
        facts.complete(os, parsed.config_path())?;
        let again: Plan = planner::plan(sub, parsed, &facts)?;
        if again.admin_missing {
            return Err(Error::fail(crate::tr!(
                "admin-not-created",
                admin_user_name()
            )));
        }
        again
    } else {
        plan
    };
    Executor::new(os, ids(&plan.admin), ignore).run(&plan.steps.all())?;
    Ok(Outcome::Done)
}

/// The preflight, then the account.
fn create_admin(os: &dyn Os, plan: &Plan, ignore: Vec<String>) -> Result<()> {
    Executor::new(os, ids(&plan.admin), ignore).run(&plan.steps.until_admin_exists())?;
    Ok(())
}

/// `kubeadm reset ARGS`: the real reset inside the namespaces while they
/// exist, then u7s.service stopped and disabled and the state moved aside.
pub fn reset(os: &dyn Os, args: &[OsString]) -> Result<()> {
    if os.euid() != 0 {
        return Err(Error::fail(crate::tr!("kubeadm-reset-needs-root")));
    }
    let args = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Error::fail(crate::tr!("kubeadm-reset-not-utf8")))?;
    let tools = facts::ToolPaths::locate(os);
    let passwd = crate::os::read_text(os, crate::os::At::root("/etc/passwd"))?.unwrap_or_default();
    let admin = crate::users::parse_passwd(&passwd, &admin_user_name())
        .ok_or_else(|| Error::fail(crate::tr!("kubeadm-reset-no-admin", admin_user_name())))?;
    let namespaces_ready = os.namespaces_ready(&admin);
    if !namespaces_ready {
        tracing::warn!("{}", crate::tr!("kubeadm-reset-not-running", admin.name));
    }
    // The cluster's files go aside before the real reset runs, so its own
    // question would come too late: ask first, then let it run with --force.
    let mut args = args;
    if !reset::answers_for_itself(&args) {
        if !os.ask(&crate::tr!("reset-confirm")) {
            return Err(Error::fail(crate::tr!("reset-declined")));
        }
        args.push("--force".into());
    }
    let steps = reset::plan(&reset::ResetInput {
        kubeadm: tools.kubeadm,
        args,
        systemctl: tools.systemctl,
        admin: crate::layout::AdminDirs::standard(&admin),
        namespaces_ready,
    });
    let steps: Vec<&step::Step> = steps.iter().collect();
    Executor::new(os, ids(&admin), Vec::new()).run(&steps)?;
    Ok(())
}

#[cfg(test)]
mod tests;
