//! A step of a plan: its kind (a type: what it is for, its title, where to
//! look when it fails) and its actions.

use super::action::Action;
use crate::i18n::Lang;

/// Every kind of step init, join and reset take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    // init / join
    CheckHost,
    CreateAdmin,
    IpForward,
    WriteSettings,
    SubordinateIds,
    MovePrevious,
    PrepareDirs,
    WriteKubeadmConfig,
    WriteAuditAndCni,
    WriteCniConf,
    StartStack,
    PullImages,
    KubeadmInit,
    KubeadmJoin,
    ForgetSecrets,
    ShareMounts,
    EnableService,
    InstallKubeconfig,
    ApplyCniAndAudit,
    AuditApiserver,
    RestartService,
    // reset
    SaveClusterState,
    KubeadmReset,
    DisableService,
    MoveState,
}

impl StepKind {
    /// The title's message id (see `crate::i18n`).
    pub fn title_id(self) -> &'static str {
        match self {
            StepKind::CheckHost => crate::tr_id!("step-check-host"),
            StepKind::CreateAdmin => crate::tr_id!("step-create-admin"),
            StepKind::IpForward => crate::tr_id!("step-ip-forward"),
            StepKind::WriteSettings => crate::tr_id!("step-write-settings"),
            StepKind::SubordinateIds => crate::tr_id!("step-subids"),
            StepKind::MovePrevious => crate::tr_id!("step-move-previous"),
            StepKind::PrepareDirs => crate::tr_id!("step-prepare-dirs"),
            StepKind::WriteKubeadmConfig => crate::tr_id!("step-write-kubeadm-config"),
            StepKind::WriteAuditAndCni => crate::tr_id!("step-write-audit-cni"),
            StepKind::WriteCniConf => crate::tr_id!("step-write-cni-conf"),
            StepKind::StartStack => crate::tr_id!("step-start-stack"),
            StepKind::PullImages => crate::tr_id!("step-pull-images"),
            StepKind::KubeadmInit => crate::tr_id!("step-kubeadm-init"),
            StepKind::KubeadmJoin => crate::tr_id!("step-kubeadm-join"),
            StepKind::ForgetSecrets => crate::tr_id!("step-forget-secrets"),
            StepKind::ShareMounts => crate::tr_id!("step-share-mounts"),
            StepKind::EnableService => crate::tr_id!("step-enable-service"),
            StepKind::InstallKubeconfig => crate::tr_id!("step-install-kubeconfig"),
            StepKind::ApplyCniAndAudit => crate::tr_id!("step-apply-cni-audit"),
            StepKind::AuditApiserver => crate::tr_id!("step-audit-apiserver"),
            StepKind::RestartService => crate::tr_id!("step-restart-service"),
            StepKind::SaveClusterState => crate::tr_id!("step-save-cluster-state"),
            StepKind::KubeadmReset => crate::tr_id!("step-kubeadm-reset"),
            StepKind::DisableService => crate::tr_id!("step-disable-service"),
            StepKind::MoveState => crate::tr_id!("step-move-state"),
        }
    }

    /// Where to look when the step fails (a message id).
    pub fn hint_id(self) -> &'static str {
        match self {
            StepKind::StartStack => crate::tr_id!("hint-rootlesskit"),
            StepKind::PullImages | StepKind::KubeadmInit | StepKind::KubeadmJoin => {
                crate::tr_id!("hint-kubeadm")
            }
            StepKind::EnableService | StepKind::RestartService => crate::tr_id!("hint-service"),
            StepKind::ApplyCniAndAudit => crate::tr_id!("hint-cni-apply"),
            StepKind::SaveClusterState | StepKind::KubeadmReset => {
                crate::tr_id!("hint-reset-backups")
            }
            _ => crate::tr_id!("hint-nothing-changed"),
        }
    }

    /// The checks before any change: their failures are each reported on a
    /// line of their own, and some may be answered on a terminal.
    pub fn is_preflight(self) -> bool {
        self == StepKind::CheckHost
    }

    pub fn title_in(self, lang: Lang) -> String {
        match self {
            // The admin sees how long it may wait before it gives up.
            StepKind::ApplyCniAndAudit => crate::i18n::render(
                lang,
                self.title_id(),
                &[&super::retry::Retry::CNI_APPLY.deadline_minutes()],
            ),
            _ => crate::i18n::render(lang, self.title_id(), &[]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub actions: Vec<Action>,
}

impl Step {
    pub fn new(kind: StepKind, actions: Vec<Action>) -> Step {
        Step { kind, actions }
    }

    /// The title in `lang`: English for the dry run's listing, the admin's
    /// language for the progress lines on stderr.
    pub fn title_in(&self, lang: Lang) -> String {
        self.kind.title_in(lang)
    }
}

/// The dry run's listing: `[n/N] title` then one indented line per action.
pub fn render(steps: &[&Step]) -> String {
    let mut out = String::new();
    for (i, step) in steps.iter().enumerate() {
        out.push_str(&format!(
            "[{}/{}] {}\n",
            i + 1,
            steps.len(),
            step.title_in(Lang::En)
        ));
        for action in &step.actions {
            out.push_str(&format!("      {action}\n"));
        }
    }
    out
}
