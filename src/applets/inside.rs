//! Running a program inside the u7s-admin rootlesskit namespaces: the common
//! path of nsenter_u7s, kubectl and kubeadm.

use nix::unistd::geteuid;

use crate::exec::{self, Invocation};
use crate::ns::{enter, state};
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
    let mut env = Vec::new();
    if root {
        // Inside, root is the mapped u7s-admin: give it u7s-admin's session.
        env.extend(admin.session_env());
    }
    env.push(("ROOTLESSKIT_STATE_DIR".into(), dir.into_os_string()));
    env.append(&mut inv.env);
    inv.env = env;
    if entered.pid_namespace {
        exec::fork_exec_wait(&inv)
    } else {
        exec::exec(&inv)
    }
}
