//! `kubeadm reset`: tear the rootless stack down as well, so that a
//! `kubeadm init` right after works. Nothing is deleted: the cluster's state
//! is moved to dated backups.

use std::path::Path;

use super::action::{Action, Place};
use super::step::{Step, StepKind};
use crate::layout::host as paths;
use crate::layout::AdminDirs;

#[derive(Debug, Clone)]
pub struct ResetInput {
    pub kubeadm: String,
    /// The admin's kubeadm arguments (`reset` among them), verbatim.
    pub args: Vec<String>,
    pub systemctl: String,
    pub admin_home: String,
    /// Whether the namespaces are up, so the real reset can run inside.
    pub namespaces_ready: bool,
}

/// What a reset moves aside (the rootless state of the node).
pub fn state_paths(home: &str) -> Vec<String> {
    let mut paths = vec![
        paths::KUBERNETES_DIR.to_owned(),
        paths::ETCD_DATA_DIR.to_owned(),
        paths::CNI_NET_DIR.to_owned(),
        paths::ENV_FILE.to_owned(),
        paths::ROOT_KUBECONFIG.to_owned(),
    ];
    let dirs = AdminDirs::from_home(home, 0);
    let admin_files = [
        dirs.env_file(),
        dirs.kubeadm_config("init"),
        dirs.kubeadm_config("join"),
        dirs.kubeconfig(),
        dirs.data_for(Path::new("/var/lib/kubelet")),
        dirs.data_for(Path::new("/var/lib/cni")),
    ];
    paths.extend(admin_files.iter().map(|p| p.display().to_string()));
    // Last: until it is gone, a rerun after a crash still knows the host.
    paths.push(paths::STATE_FILE.to_owned());
    paths
}

pub fn plan(input: &ResetInput) -> Vec<Step> {
    let mut steps = Vec::new();
    if input.namespaces_ready {
        let mut argv = vec![input.kubeadm.clone()];
        argv.extend(input.args.iter().cloned());
        steps.push(Step::new(
            StepKind::KubeadmReset,
            vec![Action::Run {
                argv,
                place: Place::Inside,
                retries: None,
            }],
        ));
    }
    steps.push(Step::new(
        StepKind::DisableService,
        vec![Action::Run {
            argv: vec![
                input.systemctl.clone(),
                "disable".into(),
                "--now".into(),
                paths::SERVICE.into(),
            ],
            place: Place::Host,
            retries: None,
        }],
    ));
    steps.push(Step::new(
        StepKind::MoveState,
        state_paths(&input.admin_home)
            .into_iter()
            .map(|path| Action::MoveAside { path })
            .collect(),
    ));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ready: bool) -> ResetInput {
        ResetInput {
            kubeadm: "/usr/bin/kubeadm".into(),
            args: vec![
                "reset".into(),
                "-f".into(),
                "--cri-socket".into(),
                "unix:///run/crio/crio.sock".into(),
            ],
            systemctl: "/usr/bin/systemctl".into(),
            admin_home: "/var/lib/u7s-admin".into(),
            namespaces_ready: ready,
        }
    }

    #[test]
    fn the_real_reset_runs_inside_first_with_the_admins_arguments() {
        let steps = plan(&input(true));
        assert_eq!(
            steps[0].title_in(crate::i18n::Lang::En),
            "Running kubeadm reset inside the namespaces"
        );
        let Action::Run { argv, place, .. } = &steps[0].actions[0] else {
            panic!()
        };
        assert_eq!(
            argv.join(" "),
            "/usr/bin/kubeadm reset -f --cri-socket unix:///run/crio/crio.sock"
        );
        assert_eq!(*place, Place::Inside);
        assert_eq!(steps.len(), 3);
    }

    #[test]
    fn without_namespaces_the_stack_is_still_stopped_and_set_aside() {
        let steps = plan(&input(false));
        assert_eq!(steps.len(), 2);
        let moved: Vec<String> = steps[1]
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::MoveAside { path } => Some(path.clone()),
                _ => None,
            })
            .collect();
        assert!(moved.contains(&"/etc/kubernetes".to_string()));
        assert_eq!(moved.last().map(String::as_str), Some(paths::STATE_FILE));
    }
}
