//! `kubeadm reset`: tear the rootless stack down as well, so that a
//! `kubeadm init` right after works. Nothing is deleted: the cluster's state
//! is moved to dated backups, and the part the real reset deletes (the PKI
//! with the CA keys, the kubeconfigs, the manifests, the etcd data) is moved
//! aside before it runs, so the backup still holds it afterwards.

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
    /// u7s-admin's directories.
    pub admin: AdminDirs,
    /// Whether the namespaces are up, so the real reset can run inside.
    pub namespaces_ready: bool,
}

/// What the real reset deletes: /etc/kubernetes (PKI, kubeconfigs,
/// manifests) and the etcd data. Both are entries of root's directories,
/// so root renames them itself; inside the namespaces they are the host's
/// (through the copy-up), so once renamed they are out of the reset's reach.
pub fn cluster_state() -> [&'static str; 2] {
    [paths::KUBERNETES_DIR, paths::ETCD_DATA_DIR]
}

/// What a reset moves aside at the end (the rootless state of the node).
pub fn state_paths(dirs: &AdminDirs) -> Vec<String> {
    let mut paths: Vec<String> = cluster_state().iter().map(|p| p.to_string()).collect();
    paths.extend([paths::CNI_NET_DIR, paths::ENV_FILE, paths::ROOT_KUBECONFIG].map(String::from));
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

/// Whether the admin's reset arguments answer kubeadm's question already
/// (`-f`, `--force`, `--force=true`, or a ResetConfiguration that may).
pub fn answers_for_itself(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| {
        matches!(a.as_str(), "-f" | "--force" | "--force=true" | "--force=1")
            || a == "--config"
            || a.starts_with("--config=")
            || (a.starts_with('-')
                && !a.starts_with("--")
                && a[1..]
                    .chars()
                    .take_while(char::is_ascii_alphabetic)
                    .any(|c| c == 'f'))
    })
}

fn move_aside(dirs: &AdminDirs, path: String) -> Action {
    Action::MoveAside {
        domain: dirs.domain_of(&path),
        path,
    }
}

pub fn plan(input: &ResetInput) -> Vec<Step> {
    let mut steps = vec![Step::new(
        StepKind::SaveClusterState,
        cluster_state()
            .iter()
            .map(|p| move_aside(&input.admin, p.to_string()))
            .collect(),
    )];
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
        state_paths(&input.admin)
            .into_iter()
            .map(|path| move_aside(&input.admin, path))
            .collect(),
    ));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_is_read_as_kubeadm_reads_it() {
        let a = |args: &[&str]| {
            answers_for_itself(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(a(&["reset", "-f"]));
        assert!(a(&["reset", "--force"]));
        assert!(a(&["reset", "-v5", "-f"]));
        assert!(a(&["reset", "-fv", "5"]));
        assert!(a(&["reset", "--config", "/r.yaml"]));
        assert!(!a(&["reset"]));
        assert!(!a(&["reset", "--force=false"]));
        assert!(!a(&["reset", "--cri-socket", "unix:///run/crio/crio.sock"]));
        assert!(!a(&["reset", "--", "-f"]));
    }
    use crate::layout::Domain;

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
            admin: AdminDirs::from_home("/var/lib/u7s-admin", 989),
            namespaces_ready: ready,
        }
    }

    fn moved(step: &Step) -> Vec<(String, Domain)> {
        step.actions
            .iter()
            .filter_map(|a| match a {
                Action::MoveAside { path, domain } => Some((path.clone(), *domain)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn what_the_real_reset_deletes_is_set_aside_before_it_runs() {
        let steps = plan(&input(true));
        let kinds: Vec<StepKind> = steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::SaveClusterState,
                StepKind::KubeadmReset,
                StepKind::DisableService,
                StepKind::MoveState
            ]
        );
        // Renamed by root in root's /etc and /var/lib/podsec/u7s.
        assert_eq!(
            moved(&steps[0]),
            [
                ("/etc/kubernetes".to_string(), Domain::Root),
                ("/var/lib/podsec/u7s/etcd".to_string(), Domain::Root)
            ]
        );
        let Action::Run { argv, place, .. } = &steps[1].actions[0] else {
            panic!()
        };
        assert_eq!(
            argv.join(" "),
            "/usr/bin/kubeadm reset -f --cri-socket unix:///run/crio/crio.sock"
        );
        assert_eq!(*place, Place::Inside);
    }

    #[test]
    fn without_namespaces_the_stack_is_still_stopped_and_set_aside() {
        let steps = plan(&input(false));
        assert_eq!(steps.len(), 3);
        let moved = moved(&steps[2]);
        assert!(moved.contains(&("/etc/kubernetes".to_string(), Domain::Root)));
        assert!(moved.contains(&("/var/lib/u7s-admin/.kube/config".to_string(), Domain::Admin)));
        assert_eq!(
            moved.last().map(|(p, _)| p.as_str()),
            Some(paths::STATE_FILE)
        );
    }
}
