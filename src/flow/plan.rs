//! The numbered steps of `kubeadm init` / `kubeadm join` on the host, in the
//! order SPEC gives ("The host side of init / join"), with one change: the
//! previous cluster's files are moved aside before anything new is written
//! into /etc/kubernetes, so the backup never holds files of this run.

use std::time::Duration;

use super::action::{Action, Owner, Place};
use super::preflight::Check;
use crate::layout::host as paths;
use crate::layout::AdminDirs;
use crate::stack::ports::PortSpec;

pub use crate::settings::Role;

/// Everything the plan needs, already rendered.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub role: Role,
    pub admin_name: String,
    pub admin_uid: u32,
    pub admin_home: String,
    /// The env file, with its secrets (it is written, never printed).
    pub env_file: String,
    pub kubeadm_config: String,
    /// Flags for the real kubeadm beside `--config`.
    pub kubeadm_flags: Vec<String>,
    pub kubeadm: String,
    pub kubectl: String,
    pub systemctl: String,
    /// The CNI manifest to apply on the first master: (path, contents).
    pub cni_manifest: Option<(String, String)>,
    /// Files for /etc/cni/net.d: (file name, contents).
    pub cni_conf: Vec<(String, String)>,
    pub audit_policy: String,
    /// The real tools preflight checks: (name, absolute path).
    pub tools: Vec<(String, String)>,
    /// Create u7s-admin (it does not exist yet) with these tools.
    pub create_admin: Option<AccountTools>,
    /// The host ports the node forwards, which preflight checks are free.
    pub ports: Vec<PortSpec>,
}

/// The tools that create the account: (useradd, groupadd, loginctl) paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTools {
    pub useradd: String,
    pub groupadd: String,
    pub loginctl: String,
}

/// The step that creates u7s-admin as the podsec-k8s package would: a system
/// group and user with its home under /var/lib, lingering on so that its user
/// manager runs without a login. (Its subordinate ids come in a later step.)
fn create_admin_step(input: &PlanInput, tools: &AccountTools) -> Step {
    let name = input.admin_name.as_str();
    Step {
        title: crate::tr_id!("step-create-admin"),
        actions: vec![
            run(Place::Host, &[&tools.groupadd, "-r", "-f", name]),
            run(
                Place::Host,
                &[
                    &tools.useradd,
                    "-r",
                    "-M",
                    "-g",
                    name,
                    "-d",
                    &input.admin_home,
                    "-s",
                    "/bin/sh",
                    "-c",
                    "usernet user account",
                    name,
                ],
            ),
            run(Place::Host, &[&tools.loginctl, "enable-linger", name]),
        ],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The title's message id (see `crate::i18n`); render it with [`Step::title_in`].
    pub title: &'static str,
    pub actions: Vec<Action>,
}

impl Step {
    /// The title in `lang`: English for the dry run's listing, the admin's
    /// language for the progress lines on stderr.
    pub fn title_in(&self, lang: crate::i18n::Lang) -> String {
        crate::i18n::render(lang, self.title, &[])
    }
}

fn write(path: &str, mode: u32, owner: Owner, contents: &str, secret: bool) -> Action {
    Action::WriteFile {
        path: path.to_owned(),
        mode,
        owner,
        contents: contents.to_owned(),
        secret,
    }
}

fn run(place: Place, argv: &[&str]) -> Action {
    Action::Run {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        place,
        retries: None,
    }
}

/// The steps a real run takes, in order.
pub fn plan(input: &PlanInput) -> Vec<Step> {
    let role = input.role;
    let home = input.admin_home.as_str();
    let dirs = AdminDirs::from_home(home, input.admin_uid);
    let show = |p: std::path::PathBuf| p.display().to_string();
    let config = show(dirs.kubeadm_config(role.subcommand()));
    let mut steps = Vec::new();

    let mut checks = vec![Check::Root];
    checks.extend(
        input
            .tools
            .iter()
            .map(|(name, path)| Check::Tool(name.clone(), path.clone())),
    );
    checks.extend([
        Check::UserNamespaces,
        Check::Tun,
        Check::CgroupDelegation,
        Check::NotInitialised,
        Check::NoEtcdData,
        Check::PortsFree(input.ports.clone()),
    ]);
    // A new account gets lingering when it is created.
    if input.create_admin.is_none() {
        checks.push(Check::Linger(input.admin_name.clone()));
    }
    steps.push(Step {
        title: crate::tr_id!("step-check-host"),
        actions: checks.into_iter().map(Action::Check).collect(),
    });
    if let Some(tools) = &input.create_admin {
        steps.push(create_admin_step(input, tools));
    }
    steps.push(Step {
        title: crate::tr_id!("step-ip-forward"),
        actions: vec![
            write(
                paths::SYSCTL_IP_FORWARD,
                0o644,
                Owner::Root,
                "net.ipv4.ip_forward = 1\n",
                false,
            ),
            Action::SetSysctl {
                key: "net.ipv4.ip_forward".into(),
                value: "1".into(),
            },
        ],
    });
    steps.push(Step {
        title: crate::tr_id!("step-write-settings"),
        actions: vec![
            Action::MarkState {
                state: format!("in-progress {}", role.subcommand()),
            },
            write(paths::ENV_FILE, 0o600, Owner::Root, &input.env_file, true),
            write(
                &show(dirs.env_file()),
                0o600,
                Owner::Admin,
                &input.env_file,
                true,
            ),
        ],
    });
    steps.push(Step {
        title: crate::tr_id!("step-subids"),
        actions: vec![Action::EnsureSubordinateIds {
            user: input.admin_name.clone(),
        }],
    });
    steps.push(Step {
        title: crate::tr_id!("step-move-previous"),
        actions: [
            "admin.conf",
            "super-admin.conf",
            "kubelet.conf",
            "controller-manager.conf",
            "scheduler.conf",
            "pki",
            "manifests",
        ]
        .iter()
        .map(|name| format!("{}/{name}", paths::KUBERNETES_DIR))
        // Preflight lets etcd data through only if our own interrupted run left it.
        .chain([paths::ETCD_MEMBER_DIR.to_owned()])
        .map(|path| Action::MoveAside { path })
        .collect(),
    });
    // kubeadm runs inside as u7s-admin and writes these (root only reads
    // admin.conf, checked, and edits the apiserver manifest as data).
    steps.push(Step {
        title: crate::tr_id!("step-prepare-dirs"),
        actions: [
            (home, 0o700),
            (paths::KUBERNETES_DIR, 0o755),
            (paths::MANIFESTS_DIR, 0o755),
            ("/etc/kubernetes/pki", 0o700),
            (paths::ETCD_DATA_DIR, 0o700),
            // The CNI plugin's installer (calico's install-cni) writes its
            // config here from inside; root never reads or runs it.
            (paths::CNI_NET_DIR, 0o755),
        ]
        .iter()
        .map(|(path, mode)| Action::MakeDir {
            path: path.to_string(),
            mode: *mode,
            owner: Owner::Admin,
        })
        .collect(),
    });
    steps.push(Step {
        title: crate::tr_id!("step-write-kubeadm-config"),
        actions: vec![write(
            &config,
            0o600,
            Owner::Admin,
            &input.kubeadm_config,
            true,
        )],
    });
    if role.is_control_plane() {
        let mut actions = vec![write(
            paths::AUDIT_POLICY,
            0o644,
            Owner::Root,
            &input.audit_policy,
            false,
        )];
        if let Some((path, manifest)) = &input.cni_manifest {
            actions.push(write(path, 0o644, Owner::Root, manifest, false));
        }
        steps.push(Step {
            title: crate::tr_id!("step-write-audit-cni"),
            actions,
        });
    }
    steps.push(Step {
        title: crate::tr_id!("step-write-cni-conf"),
        actions: input
            .cni_conf
            .iter()
            .map(|(name, contents)| {
                write(
                    &format!("{}/{name}", paths::CNI_NET_DIR),
                    0o644,
                    Owner::Root,
                    contents,
                    false,
                )
            })
            .collect(),
    });
    // The whole target, kubelet included: kubeadm inside cannot reach systemd
    // to start the kubelet itself, and u7s-kubelet.service retries until
    // kubeadm has written its configuration.
    steps.push(Step {
        title: crate::tr_id!("step-start-stack"),
        actions: vec![
            run(
                Place::Host,
                &[
                    &input.systemctl,
                    "--user",
                    "-M",
                    &format!("{}@", input.admin_name),
                    "start",
                    "u7s.target",
                ],
            ),
            Action::WaitForSocket {
                path: show(dirs.crio_socket()),
                timeout: Duration::from_secs(120),
            },
        ],
    });
    steps.push(Step {
        title: crate::tr_id!("step-pull-images"),
        actions: vec![run(
            Place::Inside,
            &[
                &input.kubeadm,
                "config",
                "images",
                "pull",
                "--config",
                &config,
            ],
        )],
    });
    let mut kubeadm = vec![
        input.kubeadm.clone(),
        role.subcommand().to_owned(),
        "--config".into(),
        config.clone(),
    ];
    kubeadm.extend(input.kubeadm_flags.iter().cloned());
    steps.push(Step {
        title: match role {
            Role::InitMaster => crate::tr_id!("step-kubeadm-init"),
            _ => crate::tr_id!("step-kubeadm-join"),
        },
        actions: vec![Action::Run {
            argv: kubeadm,
            place: Place::Inside,
            retries: None,
        }],
    });
    steps.push(Step {
        title: crate::tr_id!("step-share-mounts"),
        actions: vec![run(
            Place::Inside,
            &["mount", "--make-rshared", "/var/lib/kubelet"],
        )],
    });
    steps.push(Step {
        title: crate::tr_id!("step-enable-service"),
        actions: vec![run(
            Place::Host,
            &[&input.systemctl, "enable", "--now", paths::SERVICE],
        )],
    });
    if role.is_control_plane() {
        steps.push(Step {
            title: crate::tr_id!("step-install-kubeconfig"),
            actions: vec![
                Action::Copy {
                    from: paths::ADMIN_CONF.into(),
                    to: paths::ROOT_KUBECONFIG.into(),
                    mode: 0o600,
                    owner: Owner::Root,
                },
                Action::Copy {
                    from: paths::ADMIN_CONF.into(),
                    to: show(dirs.kubeconfig()),
                    mode: 0o600,
                    owner: Owner::Admin,
                },
            ],
        });
    }
    if role == Role::InitMaster {
        let mut actions = Vec::new();
        if let Some((path, _)) = &input.cni_manifest {
            actions.push(Action::Run {
                argv: vec![
                    input.kubectl.clone(),
                    "apply".into(),
                    "-f".into(),
                    path.clone(),
                ],
                place: Place::Inside,
                retries: Some((30, Duration::from_secs(5))),
            });
        }
        actions.push(Action::AuditApiserver {
            manifest: paths::APISERVER_MANIFEST.into(),
            policy: paths::AUDIT_POLICY.into(),
        });
        steps.push(Step {
            title: crate::tr_id!("step-apply-cni-audit"),
            actions,
        });
    }
    steps.push(Step {
        title: crate::tr_id!("step-restart-service"),
        actions: vec![
            run(Place::Host, &[&input.systemctl, "restart", paths::SERVICE]),
            Action::MarkState {
                state: format!("done {}", role.subcommand()),
            },
        ],
    });
    steps
}

/// The dry run's listing: `[n/N] title` then one indented line per action.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, step) in steps.iter().enumerate() {
        out.push_str(&format!(
            "[{}/{}] {}\n",
            i + 1,
            steps.len(),
            step.title_in(crate::i18n::Lang::En)
        ));
        for action in &step.actions {
            out.push_str(&format!("      {action}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(role: Role) -> PlanInput {
        PlanInput {
            role,
            admin_name: "u7s-admin".into(),
            admin_uid: 999,
            admin_home: "/var/lib/u7s-admin".into(),
            env_file: "U7S_TOKEN='abcdef.0123456789abcdef'\n".into(),
            kubeadm_config: "kind: InitConfiguration\n".into(),
            kubeadm_flags: vec!["--upload-certs".into(), "-v=5".into()],
            kubeadm: "/usr/bin/kubeadm".into(),
            kubectl: "/usr/bin/kubectl".into(),
            systemctl: "/usr/bin/systemctl".into(),
            cni_manifest: (role == Role::InitMaster).then(|| {
                (
                    paths::FLANNEL_MANIFEST.to_string(),
                    "kind: DaemonSet\n".to_string(),
                )
            }),
            cni_conf: vec![("99-loopback.conf".into(), "{}\n".into())],
            audit_policy: "kind: Policy\n".into(),
            tools: vec![("kubeadm".into(), "/usr/bin/kubeadm".into())],
            create_admin: None,
            ports: crate::stack::ports::role_ports(role, crate::cni::CniPlugin::Flannel, 6443),
        }
    }

    fn titles(role: Role) -> Vec<&'static str> {
        plan(&input(role))
            .iter()
            .map(|s| crate::i18n::entry(s.title).unwrap().en)
            .collect()
    }

    #[test]
    fn masters_and_workers_differ_as_spec_says() {
        let init = titles(Role::InitMaster);
        let worker = titles(Role::Worker);
        let master = titles(Role::ControlPlaneJoin);
        assert!(init.contains(&"Applying the CNI manifest and auditing the API server"));
        assert!(!master.contains(&"Applying the CNI manifest and auditing the API server"));
        assert!(master.contains(&"Installing the admin kubeconfig"));
        assert!(!worker.contains(&"Installing the admin kubeconfig"));
        assert!(!worker.contains(&"Writing the audit policy and the CNI manifest"));
        assert_eq!(
            init.first(),
            Some(&"Checking the host"),
            "nothing changes before the checks"
        );
        assert_eq!(init.last(), Some(&"Restarting u7s.service"));
    }

    #[test]
    fn backups_come_before_anything_is_written_into_etc_kubernetes() {
        let steps = plan(&input(Role::InitMaster));
        let pos = |title: &str| {
            steps
                .iter()
                .position(|s| s.title_in(crate::i18n::Lang::En) == title)
                .unwrap()
        };
        assert!(
            pos("Moving the previous cluster's files aside")
                < pos("Writing the audit policy and the CNI manifest")
        );
        assert!(pos("Starting rootlesskit, crio and kubelet") < pos("Pulling the images"));
        assert!(pos("Pulling the images") < pos("Running kubeadm init"));
    }

    #[test]
    fn secret_files_are_0600_and_the_listing_hides_them() {
        let steps = plan(&input(Role::InitMaster));
        for action in steps.iter().flat_map(|s| &s.actions) {
            if let Action::WriteFile {
                secret: true,
                mode,
                path,
                ..
            } = action
            {
                assert_eq!(*mode, 0o600, "{path}");
            }
        }
        let text = render(&steps);
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(text.starts_with("[1/"), "{text}");
        assert!(text.contains("run inside the namespaces: /usr/bin/kubeadm init --config /var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml --upload-certs -v=5"), "{text}");
    }
}
