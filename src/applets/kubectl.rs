//! `kubectl ARGS...`: the real kubectl.
//!
//! For root on the host it runs on the host, as root, with root's own
//! kubeconfig (/root/.kube/config, or what `$KUBECONFIG`/`--kubeconfig`
//! name), against the API endpoint in it: rootlesskit forwards the API port
//! from the host into the namespaces, so the endpoint answers there. kubectl
//! is then root's ordinary kubectl: files by relative or absolute path, the
//! working directory, `-f -`, `-k`, `cp` to local paths, `edit` with root's
//! editor, and `port-forward`/`proxy` listening on the host's loopback.
//! Running it inside the namespaces instead would make it the mapped
//! u7s-admin, who cannot read root's files and whose listeners the host
//! does not see. Before the exec, everything kubectl will read as
//! configuration is checked (`crate::rootkube`): nothing u7s-admin could
//! have written, and a kubeconfig only from the whitelist, so kubectl runs
//! no program and reads no file a kubeconfig names.
//!
//! For u7s-admin (and uid 0 inside a user namespace) it runs inside the
//! namespaces as before, with u7s-admin's own ~/.kube/config.

use std::ffi::OsString;

use super::{real_tool, root_on_host, run_inside};
use crate::exec;
use crate::rootkube::{self, Verdict};
use crate::tools::Tool;

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("kubectl", crate::log::peek_verbosity(&args).unwrap_or(0));
    let on_host = root_on_host();
    let files = on_host.then(|| {
        let cwd = std::env::current_dir().ok();
        rootkube::kubectl_files(&args, &|k| std::env::var_os(k), cwd.as_deref())
    });
    let offline = rootkube::works_without_kubeconfig(&args);
    let inv = match real_tool(Tool::Kubectl, args) {
        Ok(inv) => inv,
        Err(e) => return e.report(),
    };
    let Some(files) = files else {
        return run_inside(inv);
    };
    match rootkube::check_all(&files) {
        Ok(Verdict::Run) => exec::exec(&inv),
        Ok(Verdict::NoKubeconfig(_)) if offline => exec::exec(&inv),
        Ok(Verdict::NoKubeconfig(path)) => {
            tracing::error!("{}", crate::tr!("rootkube-no-kubeconfig", path.display()));
            1
        }
        Err(refusal) => {
            tracing::error!("{refusal}");
            1
        }
    }
}
