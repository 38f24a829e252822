//! Running a program inside the u7s-admin rootlesskit namespaces: the common
//! path of nsenter_u7s, kubectl and kubeadm.
//!
//! When root runs it, the program is u7s-admin's to control once it runs, so
//! it is kept apart from root's session: a session of its own, a pty in
//! place of root's terminal (opened here, on the host, before entering), the
//! environment of `ns::env`, and no descriptor above 2. The namespaces give
//! it no capability over the host.

use nix::unistd::geteuid;

use crate::exec::{self, Confinement, Invocation};
use crate::ns::{enter, env, state};
use crate::pty::Pty;
use crate::users::AdminUser;

/// Waits for the rootlesskit child to be ready, proves it is u7s-admin's,
/// joins its namespaces and runs `inv` there. Returns the status to exit
/// with; on success in a pid namespace that is the child's status,
/// otherwise this process has been replaced.
pub fn run_inside(mut inv: Invocation) -> i32 {
    let admin = match AdminUser::lookup() {
        Ok(admin) => admin,
        Err(e) => {
            tracing::error!("{e:#}");
            return 1;
        }
    };
    let dir = state::state_dir_for(&admin);
    let budget = state::RetryBudget::from_env();
    let pid = match state::wait_ready(&dir, Some(admin.uid.as_raw()), budget) {
        Ok(pid) => pid,
        Err(reason) if reason.is_refusal() => {
            tracing::error!("{}", crate::tr!("enter-refused", admin.name, reason));
            return 1;
        }
        Err(reason) => {
            tracing::error!(
                "{}",
                crate::tr!("not-ready", admin.name, dir.display(), reason)
            );
            return 1;
        }
    };
    let root = geteuid().is_root();
    // Opened before entering: the host's /dev/ptmx, not one u7s-admin mounts.
    let pty = match root.then(Pty::for_stdio).transpose() {
        Ok(pty) => pty.flatten(),
        Err(e) => {
            tracing::error!("{}", crate::tr!("pty-failed", e));
            return 1;
        }
    };
    let owner = enter::Owner {
        name: &admin.name,
        uid: admin.uid.as_raw(),
    };
    let entered = match enter::enter(pid.as_raw(), owner) {
        Ok(entered) => entered,
        Err(refusal) => {
            tracing::error!("{}", crate::tr!("enter-refused", admin.name, refusal));
            return 1;
        }
    };
    let mut vars = Vec::new();
    if root {
        // Inside, root is the mapped u7s-admin: u7s-admin's session, and of
        // root's environment only the whitelist.
        vars = env::for_root_inside(std::env::vars_os(), &admin);
        inv.clear_env = true;
    }
    vars.push(("ROOTLESSKIT_STATE_DIR".into(), dir.into_os_string()));
    vars.append(&mut inv.env);
    inv.env = vars;
    if root {
        let confinement = Confinement {
            new_session: true,
            pty,
            close_fds: true,
        };
        return exec::fork_exec_wait_confined(&inv, confinement);
    }
    if entered.pid_namespace {
        exec::fork_exec_wait(&inv)
    } else {
        exec::exec(&inv)
    }
}
