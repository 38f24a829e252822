//! The host steps of `kubeadm init` / `kubeadm join`, in the order SPEC gives
//! ("The host side of init / join"), with one change: the previous
//! cluster's files are moved aside before anything new is written into
//! /etc/kubernetes, so the backup never holds files of this run. Pure: the
//! steps are data, printed by `--dry-run` and carried out by the executor.

use std::time::Duration;

use super::action::{Action, Domain, Owner, Place};
use super::preflight::Check;
use super::step::{Step, StepKind};
use crate::kubeadm::config::CRI_SOCKET;
use crate::layout::host;
use crate::layout::AdminDirs;
use crate::settings::Role;
use crate::stack::ports::PortSpec;

/// Everything the steps need, already rendered.
#[derive(Debug, Clone)]
pub struct StepsInput {
    pub role: Role,
    pub admin_name: String,
    /// u7s-admin's directories (by its passwd entry).
    pub admin: AdminDirs,
    /// The env file, with its secrets (it is written, never printed).
    pub env_file: String,
    pub kubeadm_config: String,
    /// Flags for the real kubeadm beside `--config`.
    pub kubeadm_flags: Vec<String>,
    pub kubeadm: String,
    pub kubectl: String,
    pub systemctl: String,
    pub skopeo: String,
    pub crictl: String,
    /// The CNI manifest to apply on the first master: (path, contents).
    pub cni_manifest: Option<(String, String)>,
    /// Files for /etc/cni/net.d: (file name, contents).
    pub cni_conf: Vec<(String, String)>,
    /// The CNI plugin's images (every node runs its DaemonSet).
    pub cni_images: Vec<String>,
    pub audit_policy: String,
    /// The real tools preflight checks: (name, absolute path).
    pub tools: Vec<(String, String)>,
    /// Create u7s-admin (it does not exist yet) with these tools.
    pub create_admin: Option<AccountTools>,
    /// The host ports the node forwards, which preflight checks are free.
    pub ports: Vec<PortSpec>,
    /// kubeadm's images by flags: the version and registry
    /// (`--kubernetes-version`, `--image-repository`). A joining node pulls
    /// by them: kubeadm's image commands load only an Init- or
    /// ClusterConfiguration, and the join file holds a JoinConfiguration
    /// alone (`no InitConfiguration or ClusterConfiguration kind was found`);
    /// init pulls (and lists, for the registry check) with its own
    /// configuration.
    pub image_flags: Vec<String>,
    /// The env file and the kubeadm configuration again, without the
    /// bootstrap token, CA hash and certificate key, when they held any:
    /// written once kubeadm has used them, so no secret stays on disk
    /// (SPEC: "each secret kept on disk has a reason, or goes"). The join
    /// token would let anyone who reads the files join a node until it
    /// expires; the certificate key decrypts the control plane's keys.
    pub without_secrets: Option<WithoutSecrets>,
}

/// See [`StepsInput::without_secrets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithoutSecrets {
    pub env_file: String,
    pub kubeadm_config: String,
}

/// The tools that create the account: (useradd, groupadd, loginctl) paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTools {
    pub useradd: String,
    pub groupadd: String,
    pub loginctl: String,
}

/// The steps, by what they are for: nothing changes before the preflight,
/// and a missing u7s-admin is created right after it (everything later
/// depends on its uid, so the caller plans those again once it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSteps {
    pub preflight: Step,
    pub create_admin: Option<Step>,
    pub changes: Vec<Step>,
}

impl HostSteps {
    /// Every step, in order.
    pub fn all(&self) -> Vec<&Step> {
        let mut all = vec![&self.preflight];
        all.extend(self.create_admin.as_ref());
        all.extend(self.changes.iter());
        all
    }

    /// The preflight and the account: what runs before u7s-admin exists.
    pub fn until_admin_exists(&self) -> Vec<&Step> {
        let mut first = vec![&self.preflight];
        first.extend(self.create_admin.as_ref());
        first
    }
}

impl StepsInput {
    /// Who controls the way to `path` (one rule: `AdminDirs::domain_of`).
    fn domain(&self, path: &str) -> Domain {
        self.admin.domain_of(path)
    }

    /// A whole file written at `path`. In u7s-admin's domain it is written
    /// as u7s-admin, so it is u7s-admin's whatever `owner` the caller had
    /// in mind; `owner` says so.
    fn write(&self, path: &str, mode: u32, owner: Owner, contents: &str, secret: bool) -> Action {
        let domain = self.domain(path);
        Action::WriteFile {
            path: path.to_owned(),
            domain,
            mode,
            owner: if domain == Domain::Admin {
                Owner::Admin
            } else {
                owner
            },
            contents: contents.to_owned(),
            secret,
        }
    }

    fn make_dir(&self, path: &str, mode: u32) -> Action {
        Action::MakeDir {
            path: path.to_owned(),
            domain: self.domain(path),
            mode,
            owner: Owner::Admin,
        }
    }

    fn move_aside(&self, path: String) -> Action {
        Action::MoveAside {
            domain: self.domain(&path),
            path,
        }
    }
}

fn run(place: Place, argv: &[&str]) -> Action {
    Action::Run {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        place,
        retries: None,
    }
}

fn show(path: std::path::PathBuf) -> String {
    path.display().to_string()
}

/// The steps a real run takes.
pub fn host_steps(input: &StepsInput) -> HostSteps {
    let mut changes = vec![
        ip_forward(input),
        write_settings(input),
        subordinate_ids(input),
        move_previous(input),
        prepare_dirs(input),
        write_kubeadm_config(input),
    ];
    if input.role.is_control_plane() {
        changes.push(write_audit_and_cni(input));
    }
    changes.extend([
        write_cni_conf(input),
        start_stack(input),
        pull_images(input),
        run_kubeadm(input),
    ]);
    changes.extend(forget_secrets(input));
    changes.extend([share_mounts(), enable_service(input)]);
    if input.role.is_control_plane() {
        changes.push(install_kubeconfig(input));
    }
    match input.role {
        Role::InitMaster => changes.push(apply_cni_and_audit(input)),
        // Every master's API server is audited, not the first one's only.
        Role::ControlPlaneJoin => changes.push(audit_apiserver(input)),
        Role::Worker => {}
    }
    changes.push(restart_service(input));
    HostSteps {
        preflight: check_host(input),
        create_admin: input
            .create_admin
            .as_ref()
            .map(|tools| create_admin(input, tools)),
        changes,
    }
}

fn check_host(input: &StepsInput) -> Step {
    let mut checks = vec![Check::Root];
    // newuidmap and newgidmap must also be privileged and runnable by
    // u7s-admin (ALT's control facility may restrict them to a group).
    checks.extend(
        input
            .tools
            .iter()
            .map(|(name, path)| match crate::idmap::check_name(name) {
                Some(_) => Check::IdMap {
                    tool: name.clone(),
                    path: path.clone(),
                    user: input.admin_name.clone(),
                },
                None => Check::Tool(name.clone(), path.clone()),
            }),
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
    Step::new(
        StepKind::CheckHost,
        checks.into_iter().map(Action::Check).collect(),
    )
}

/// u7s-admin as the podsec-k8s package would create it: a system group and
/// user with its home under /var/lib, lingering on so that its user manager
/// runs without a login. (Its subordinate ids come in a later step.)
fn create_admin(input: &StepsInput, tools: &AccountTools) -> Step {
    let name = input.admin_name.as_str();
    let home = show(input.admin.home.clone());
    Step::new(
        StepKind::CreateAdmin,
        vec![
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
                    &home,
                    "-s",
                    "/bin/sh",
                    "-c",
                    "usernet user account",
                    name,
                ],
            ),
            run(Place::Host, &[&tools.loginctl, "enable-linger", name]),
        ],
    )
}

fn ip_forward(input: &StepsInput) -> Step {
    Step::new(
        StepKind::IpForward,
        vec![
            input.write(
                host::SYSCTL_IP_FORWARD,
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
    )
}

/// The state mark, the env file, and its copy in u7s-admin's home (made
/// here if missing: files there are written as u7s-admin, who cannot make
/// its home in root's /var/lib).
fn write_settings(input: &StepsInput) -> Step {
    Step::new(
        StepKind::WriteSettings,
        vec![
            Action::MarkState {
                state: format!("in-progress {}", input.role.subcommand()),
            },
            input.write(host::ENV_FILE, 0o600, Owner::Root, &input.env_file, true),
            input.make_dir(&show(input.admin.home.clone()), 0o700),
            input.write(
                &show(input.admin.env_file()),
                0o600,
                Owner::Admin,
                &input.env_file,
                true,
            ),
        ],
    )
}

fn subordinate_ids(input: &StepsInput) -> Step {
    Step::new(
        StepKind::SubordinateIds,
        vec![Action::EnsureSubordinateIds {
            user: input.admin_name.clone(),
        }],
    )
}

/// The previous cluster's kubeconfigs, PKI and manifests, and its etcd data
/// (preflight lets that through only if our own interrupted run left it).
fn move_previous(input: &StepsInput) -> Step {
    let in_kubernetes = [
        "admin.conf",
        "super-admin.conf",
        "kubelet.conf",
        "controller-manager.conf",
        "scheduler.conf",
        // An interrupted join leaves it, and join's preflight refuses it.
        "bootstrap-kubelet.conf",
        "pki",
        "manifests",
    ]
    .iter()
    .map(|name| input.move_aside(format!("{}/{name}", host::KUBERNETES_DIR)));
    // The whole etcd data dir: a backup inside it would leave it non-empty,
    // which kubeadm's preflight refuses (DirAvailable--var-lib-podsec-u7s-etcd).
    let etcd = Action::MoveAsideIfNotEmpty {
        domain: input.domain(host::ETCD_DATA_DIR),
        path: host::ETCD_DATA_DIR.to_owned(),
    };
    Step::new(
        StepKind::MovePrevious,
        in_kubernetes.chain([etcd]).collect(),
    )
}

/// The directories u7s-admin owns (`host::ADMIN_OWNED`, made by root in
/// root's directories and given to u7s-admin; its home came with the
/// settings), then, as u7s-admin, the two kubeadm writes into, with the
/// modes kubeadm expects. Root only reads admin.conf there (checked) and
/// edits the apiserver manifest (as data), both as u7s-admin.
fn prepare_dirs(input: &StepsInput) -> Step {
    let dirs = [
        (host::KUBERNETES_DIR, 0o755),
        (host::MANIFESTS_DIR, 0o755),
        (host::PKI_DIR, 0o700),
        (host::ETCD_DATA_DIR, 0o700),
        (host::CNI_NET_DIR, 0o755),
    ];
    Step::new(
        StepKind::PrepareDirs,
        dirs.iter()
            .map(|(path, mode)| input.make_dir(path, *mode))
            .collect(),
    )
}

fn kubeadm_config_path(input: &StepsInput) -> String {
    show(input.admin.kubeadm_config(input.role.subcommand()))
}

fn write_kubeadm_config(input: &StepsInput) -> Step {
    Step::new(
        StepKind::WriteKubeadmConfig,
        vec![input.write(
            &kubeadm_config_path(input),
            0o600,
            Owner::Admin,
            &input.kubeadm_config,
            true,
        )],
    )
}

fn write_audit_and_cni(input: &StepsInput) -> Step {
    let mut actions = vec![input.write(
        host::AUDIT_POLICY,
        0o644,
        Owner::Root,
        &input.audit_policy,
        false,
    )];
    if let Some((path, manifest)) = &input.cni_manifest {
        actions.push(input.write(path, 0o644, Owner::Root, manifest, false));
    }
    Step::new(StepKind::WriteAuditAndCni, actions)
}

fn write_cni_conf(input: &StepsInput) -> Step {
    Step::new(
        StepKind::WriteCniConf,
        input
            .cni_conf
            .iter()
            .map(|(name, contents)| {
                let path = format!("{}/{name}", host::CNI_NET_DIR);
                input.write(&path, 0o644, Owner::Root, contents, false)
            })
            .collect(),
    )
}

/// The whole target, kubelet included: kubeadm inside cannot reach systemd
/// to start the kubelet itself, and u7s-kubelet.service retries until
/// kubeadm has written its configuration.
fn start_stack(input: &StepsInput) -> Step {
    let machine = format!("{}@", input.admin_name);
    Step::new(
        StepKind::StartStack,
        vec![
            run(
                Place::Host,
                &[
                    &input.systemctl,
                    "--user",
                    "-M",
                    &machine,
                    "start",
                    "u7s.target",
                ],
            ),
            Action::WaitForSocket {
                path: show(input.admin.crio_socket()),
                domain: input.domain(&show(input.admin.crio_socket())),
                timeout: Duration::from_secs(120),
            },
        ],
    )
}

/// The registry check first (nothing is pulled if a tag is missing), then
/// kubeadm's images, then the CNI plugin's into CRI-O, all inside.
fn pull_images(input: &StepsInput) -> Step {
    let kubeadm_images = |verb: &str| -> Vec<String> {
        [input.kubeadm.as_str(), "config", "images", verb]
            .map(String::from)
            .to_vec()
    };
    // The list names what the pull will pull: the same configuration or
    // flags (list takes no --cri-socket).
    let source = if input.role == Role::InitMaster {
        vec!["--config".to_owned(), kubeadm_config_path(input)]
    } else {
        input.image_flags.clone()
    };
    let mut list = kubeadm_images("list");
    list.extend(source.iter().cloned());
    let mut pull = kubeadm_images("pull");
    pull.extend(source);
    if input.role != Role::InitMaster {
        pull.extend(["--cri-socket".to_owned(), CRI_SOCKET.to_owned()]);
    }
    let mut actions = vec![
        Action::CheckImages {
            list,
            cni: input.cni_images.clone(),
            skopeo: input.skopeo.clone(),
        },
        Action::Run {
            argv: pull,
            place: Place::Inside,
            retries: None,
        },
    ];
    actions.extend(input.cni_images.iter().map(|image| {
        run(
            Place::Inside,
            &[
                &input.crictl,
                "--runtime-endpoint",
                CRI_SOCKET,
                "pull",
                image,
            ],
        )
    }));
    Step::new(StepKind::PullImages, actions)
}

fn run_kubeadm(input: &StepsInput) -> Step {
    let mut argv = vec![
        input.kubeadm.clone(),
        input.role.subcommand().to_owned(),
        "--config".into(),
        kubeadm_config_path(input),
    ];
    argv.extend(input.kubeadm_flags.iter().cloned());
    let kind = match input.role {
        Role::InitMaster => StepKind::KubeadmInit,
        _ => StepKind::KubeadmJoin,
    };
    Step::new(
        kind,
        vec![Action::Run {
            argv,
            place: Place::Inside,
            retries: None,
        }],
    )
}

/// Rewrites the three files that held the secrets (root's env file,
/// u7s-admin's copy, the kubeadm configuration) without them, right after
/// kubeadm used them: a failure later on leaves nothing to steal either.
fn forget_secrets(input: &StepsInput) -> Option<Step> {
    let clean = input.without_secrets.as_ref()?;
    Some(Step::new(
        StepKind::ForgetSecrets,
        vec![
            input.write(host::ENV_FILE, 0o600, Owner::Root, &clean.env_file, false),
            input.write(
                &show(input.admin.env_file()),
                0o600,
                Owner::Admin,
                &clean.env_file,
                false,
            ),
            input.write(
                &kubeadm_config_path(input),
                0o600,
                Owner::Admin,
                &clean.kubeadm_config,
                false,
            ),
        ],
    ))
}

fn share_mounts() -> Step {
    Step::new(
        StepKind::ShareMounts,
        vec![run(
            Place::Inside,
            &["mount", "--make-rshared", "/var/lib/kubelet"],
        )],
    )
}

fn enable_service(input: &StepsInput) -> Step {
    Step::new(
        StepKind::EnableService,
        vec![run(
            Place::Host,
            &[&input.systemctl, "enable", "--now", host::SERVICE],
        )],
    )
}

fn install_kubeconfig(input: &StepsInput) -> Step {
    Step::new(
        StepKind::InstallKubeconfig,
        vec![
            Action::InstallKubeconfig {
                from: host::ADMIN_CONF.into(),
                to: host::ROOT_KUBECONFIG.into(),
                domain: input.domain(host::ROOT_KUBECONFIG),
                mode: 0o600,
                owner: Owner::Root,
            },
            Action::InstallKubeconfig {
                from: host::ADMIN_CONF.into(),
                to: show(input.admin.kubeconfig()),
                domain: input.domain(&show(input.admin.kubeconfig())),
                mode: 0o600,
                owner: Owner::Admin,
            },
        ],
    )
}

fn apply_cni_and_audit(input: &StepsInput) -> Step {
    let mut actions = Vec::new();
    if let Some((path, _)) = &input.cni_manifest {
        actions.push(Action::Run {
            // Each request bounded by kubectl, the whole by the deadline.
            argv: vec![
                input.kubectl.clone(),
                "apply".into(),
                "-f".into(),
                path.clone(),
                super::retry::KUBECTL_REQUEST_TIMEOUT.into(),
            ],
            place: Place::Inside,
            retries: Some(super::retry::Retry::CNI_APPLY),
        });
    }
    actions.push(audit_edit(input));
    Step::new(StepKind::ApplyCniAndAudit, actions)
}

fn audit_edit(input: &StepsInput) -> Action {
    Action::AuditApiserver {
        manifest: host::APISERVER_MANIFEST.into(),
        domain: input.domain(host::APISERVER_MANIFEST),
        policy: host::AUDIT_POLICY.into(),
    }
}

/// A joined master's audit edit (the first master's comes with the CNI).
fn audit_apiserver(input: &StepsInput) -> Step {
    Step::new(StepKind::AuditApiserver, vec![audit_edit(input)])
}

fn restart_service(input: &StepsInput) -> Step {
    Step::new(
        StepKind::RestartService,
        vec![
            run(Place::Host, &[&input.systemctl, "restart", host::SERVICE]),
            Action::MarkState {
                state: format!("done {}", input.role.subcommand()),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn input(role: Role) -> StepsInput {
        StepsInput {
            role,
            admin_name: "u7s-admin".into(),
            admin: AdminDirs::from_home("/var/lib/u7s-admin", 999),
            env_file: "U7S_TOKEN='abcdef.0123456789abcdef'\n".into(),
            kubeadm_config: "kind: InitConfiguration\n".into(),
            kubeadm_flags: vec!["--upload-certs".into(), "-v=5".into()],
            kubeadm: "/usr/bin/kubeadm".into(),
            kubectl: "/usr/bin/kubectl".into(),
            systemctl: "/usr/bin/systemctl".into(),
            skopeo: "/usr/bin/skopeo".into(),
            crictl: "/usr/bin/crictl".into(),
            cni_manifest: (role == Role::InitMaster).then(|| {
                (
                    host::FLANNEL_MANIFEST.to_string(),
                    "kind: DaemonSet\n".to_string(),
                )
            }),
            cni_conf: vec![("99-loopback.conf".into(), "{}\n".into())],
            cni_images: vec!["r/flannel:v0.26.7".into()],
            audit_policy: "kind: Policy\n".into(),
            tools: vec![("kubeadm".into(), "/usr/bin/kubeadm".into())],
            create_admin: None,
            ports: crate::stack::ports::role_ports(role, crate::cni::CniPlugin::Flannel, 6443),
            image_flags: vec!["--kubernetes-version".into(), "v1.31.2".into()],
            without_secrets: None,
        }
    }

    #[test]
    fn every_master_is_audited() {
        for role in [Role::InitMaster, Role::ControlPlaneJoin, Role::Worker] {
            let steps = host_steps(&input(role));
            let audited = steps
                .all()
                .iter()
                .flat_map(|s| &s.actions)
                .any(|a| matches!(a, Action::AuditApiserver { .. }));
            assert_eq!(audited, role.is_control_plane(), "{role:?}");
        }
    }

    fn pull_step(role: Role) -> Step {
        host_steps(&input(role))
            .all()
            .into_iter()
            .find(|s| s.kind == StepKind::PullImages)
            .unwrap()
            .clone()
    }

    /// kubeadm's image commands read only Init/ClusterConfiguration: a
    /// joining node names the images by flags, not by its join file.
    #[test]
    fn a_joining_node_pulls_by_flags_not_with_its_join_file() {
        for role in [Role::Worker, Role::ControlPlaneJoin, Role::InitMaster] {
            let pull = match &pull_step(role).actions[1] {
                Action::Run { argv, .. } => argv.join(" "),
                other => panic!("{other:?}"),
            };
            let by_config = pull.contains("--config");
            assert_eq!(by_config, role == Role::InitMaster, "{role:?}: {pull}");
            assert_eq!(
                !by_config,
                pull.ends_with(
                    "--kubernetes-version v1.31.2 --cri-socket unix:///run/crio/crio.sock"
                ),
                "{pull}"
            );
        }
    }

    /// Every node checks the registry's tags of kubeadm's and the CNI
    /// plugin's images before it pulls anything, then pulls the CNI images
    /// into CRI-O too: its DaemonSet runs on every node.
    #[test]
    fn every_node_checks_the_tags_then_pulls_the_cni_images_too() {
        for role in [Role::Worker, Role::ControlPlaneJoin, Role::InitMaster] {
            let pull = pull_step(role);
            let Action::CheckImages { list, cni, skopeo } = &pull.actions[0] else {
                panic!("{role:?}: the check comes first: {:?}", pull.actions);
            };
            let source = if role == Role::InitMaster {
                "--config /var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml"
            } else {
                "--kubernetes-version v1.31.2"
            };
            assert_eq!(
                list.join(" "),
                format!("/usr/bin/kubeadm config images list {source}")
            );
            assert_eq!(cni, &["r/flannel:v0.26.7"]);
            assert_eq!(skopeo, "/usr/bin/skopeo");
            let last = pull.actions.last().unwrap().to_string();
            assert_eq!(
                last,
                "run inside the namespaces: /usr/bin/crictl --runtime-endpoint unix:///run/crio/crio.sock pull r/flannel:v0.26.7"
            );
        }
    }

    fn kinds(role: Role) -> Vec<StepKind> {
        host_steps(&input(role))
            .all()
            .iter()
            .map(|s| s.kind)
            .collect()
    }

    #[test]
    fn masters_and_workers_differ_as_spec_says() {
        use StepKind::*;
        let init = kinds(Role::InitMaster);
        let master = kinds(Role::ControlPlaneJoin);
        let worker = kinds(Role::Worker);
        assert!(init.contains(&ApplyCniAndAudit) && init.contains(&KubeadmInit));
        assert!(!master.contains(&ApplyCniAndAudit) && master.contains(&KubeadmJoin));
        assert!(master.contains(&InstallKubeconfig));
        assert!(!worker.contains(&InstallKubeconfig));
        assert!(!worker.contains(&WriteAuditAndCni));
        assert_eq!(
            init.first(),
            Some(&CheckHost),
            "nothing changes before the checks"
        );
        assert_eq!(init.last(), Some(&RestartService));
        assert!(!init.contains(&CreateAdmin));
    }

    #[test]
    fn a_missing_admin_is_created_right_after_the_preflight() {
        let mut i = input(Role::Worker);
        i.create_admin = Some(AccountTools::default());
        let steps = host_steps(&i);
        let first: Vec<StepKind> = steps.until_admin_exists().iter().map(|s| s.kind).collect();
        assert_eq!(first, [StepKind::CheckHost, StepKind::CreateAdmin]);
        assert_eq!(steps.all()[1].kind, StepKind::CreateAdmin);
        let checks = format!("{:?}", steps.preflight.actions);
        assert!(
            !checks.contains("Linger"),
            "lingering comes with the account"
        );
    }

    #[test]
    fn backups_come_before_anything_is_written_into_etc_kubernetes() {
        let all = kinds(Role::InitMaster);
        let pos = |kind| all.iter().position(|k| *k == kind).unwrap();
        assert!(pos(StepKind::MovePrevious) < pos(StepKind::WriteAuditAndCni));
        assert!(pos(StepKind::StartStack) < pos(StepKind::PullImages));
        assert!(pos(StepKind::PullImages) < pos(StepKind::KubeadmInit));
    }

    /// Every file written with secrets is written again, without them,
    /// right after kubeadm used them; nothing else is.
    #[test]
    fn the_files_that_held_secrets_are_rewritten_right_after_kubeadm() {
        for role in [Role::Worker, Role::ControlPlaneJoin, Role::InitMaster] {
            let mut i = input(role);
            assert!(!kinds(role).contains(&StepKind::ForgetSecrets));
            i.without_secrets = Some(WithoutSecrets {
                env_file: "U7S_TOKEN=''\n".into(),
                kubeadm_config: "kind: JoinConfiguration\n".into(),
            });
            let steps = host_steps(&i);
            let all = steps.all();
            let at = all
                .iter()
                .position(|s| s.kind == StepKind::ForgetSecrets)
                .unwrap();
            assert!(
                matches!(
                    all[at - 1].kind,
                    StepKind::KubeadmJoin | StepKind::KubeadmInit
                ),
                "{role:?}"
            );
            let paths = |secret: bool| -> Vec<String> {
                let mut paths: Vec<String> = all
                    .iter()
                    .take(at)
                    .flat_map(|s| &s.actions)
                    .filter_map(|a| match a {
                        Action::WriteFile {
                            path, secret: s, ..
                        } if *s == secret => Some(path.clone()),
                        _ => None,
                    })
                    .collect();
                paths.sort();
                paths
            };
            let mut rewritten: Vec<String> = all[at]
                .actions
                .iter()
                .map(|a| match a {
                    Action::WriteFile {
                        path,
                        secret: false,
                        mode: 0o600,
                        contents,
                        ..
                    } => {
                        assert!(!contents.contains("0123456789abcdef"), "{path}");
                        path.clone()
                    }
                    other => panic!("{other:?}"),
                })
                .collect();
            rewritten.sort();
            assert_eq!(rewritten, paths(true), "{role:?}");
        }
    }

    #[test]
    fn secret_files_are_0600_and_the_listing_hides_them() {
        let steps = host_steps(&input(Role::InitMaster));
        for action in steps.all().iter().flat_map(|s| &s.actions) {
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
        let text = super::super::step::render(&steps.all());
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(text.starts_with("[1/"), "{text}");
        assert!(text.contains("run inside the namespaces: /usr/bin/kubeadm init --config /var/lib/u7s-admin/.config/usernetes/kubeadm-init.yaml --upload-certs -v=5"), "{text}");
    }
}
