//! Facts first: everything `kubeadm init|join` needs to know about the host,
//! read through the OS layer into one plain value, so that the planner that
//! follows does no I/O at all.

use std::path::Path;

use anyhow::Result;

use super::steps::AccountTools;
use crate::os::{At, Os, OsFiles, READ_LIMIT};
use crate::settings::{EnvInputs, HostFacts};
use crate::tools::{Tool, NODE_TOOLS};
use crate::users::{admin_user_name, parse_passwd, AdminUser};

/// The real tools as the plan will run them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolPaths {
    pub kubeadm: String,
    pub kubectl: String,
    pub systemctl: String,
    pub skopeo: String,
    pub crictl: String,
    /// useradd, groupadd and loginctl, for creating u7s-admin.
    pub account: AccountTools,
    /// Every real tool a node needs: (name, path), for preflight.
    pub node: Vec<(String, String)>,
}

/// What the host says. Gathered in two parts: [`Facts::gather`] reads what
/// decides how to parse the command line (the environment and the real
/// kubeadm's version), [`Facts::complete`] the rest once the flags are known.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `U7S_REGISTRY`, `U7S_PLATFORM`, `U7S_KUBEVERSION`, ...
    pub env: EnvInputs,
    /// `kubeadm version -o short` of the real kubeadm, when it could be run.
    pub kubeadm_version: Option<String>,
    pub tools: ToolPaths,
    /// u7s-admin's passwd entry (`U7S_ADMIN_USER` may rename it); `None`
    /// while the account does not exist.
    pub admin: Option<AdminUser>,
    /// Where the passwd file is, for messages.
    pub passwd_shown: String,
    /// /etc/hosts, /etc/os-release, the hostname, routes and addresses.
    pub host: HostFacts,
    /// The admin's own `--config` file: (path, text), once the flags name it.
    pub admin_config: Option<(String, String)>,
}

/// The real tool's path as the plan will run it: resolved when possible;
/// else the path the admin set (preflight then says that one is missing),
/// else the default. A dry run needs no real tools.
fn tool_path(os: &dyn Os, tool: Tool) -> (String, bool) {
    match os.resolve_tool(tool) {
        Ok(path) => (path.display().to_string(), true),
        Err(_) => {
            let set = os
                .env(&tool.env_var())
                .map(|v| v.to_string_lossy().into_owned())
                .filter(|v| v.starts_with('/'));
            (
                set.unwrap_or_else(|| tool.default_path().display().to_string()),
                false,
            )
        }
    }
}

fn env_inputs(os: &dyn Os) -> EnvInputs {
    EnvInputs::from_lookup(|k| os.env(k).map(|v| v.to_string_lossy().into_owned()))
}

/// `kubeadm version -o short`, when the real kubeadm answers.
fn kubeadm_version(os: &dyn Os, kubeadm: &str) -> Option<String> {
    let argv = [kubeadm, "version", "-o", "short"].map(String::from);
    match os.capture(&argv, crate::os::Place::Host) {
        Ok(out) if out.code == 0 => Some(out.stdout.trim().to_owned()).filter(|v| !v.is_empty()),
        _ => None,
    }
}

impl ToolPaths {
    /// Where the real tools are (or would be).
    pub fn locate(os: &dyn Os) -> ToolPaths {
        ToolPaths {
            kubeadm: tool_path(os, Tool::Kubeadm).0,
            kubectl: tool_path(os, Tool::Kubectl).0,
            systemctl: tool_path(os, Tool::Systemctl).0,
            skopeo: tool_path(os, Tool::Skopeo).0,
            crictl: tool_path(os, Tool::Crictl).0,
            account: AccountTools {
                useradd: tool_path(os, Tool::Useradd).0,
                groupadd: tool_path(os, Tool::Groupadd).0,
                loginctl: tool_path(os, Tool::Loginctl).0,
            },
            node: NODE_TOOLS
                .iter()
                .map(|t| (t.name().to_owned(), tool_path(os, *t).0))
                .collect(),
        }
    }
}

impl Facts {
    /// The environment and the real tools (the kubeadm version among them).
    pub fn gather(os: &dyn Os) -> Facts {
        let tools = ToolPaths::locate(os);
        let kubeadm_version = os
            .resolve_tool(Tool::Kubeadm)
            .is_ok()
            .then(|| kubeadm_version(os, &tools.kubeadm))
            .flatten();
        Facts {
            env: env_inputs(os),
            kubeadm_version,
            tools,
            ..Facts::default()
        }
    }

    /// u7s-admin's passwd entry, the admin's `--config` file (if the flags
    /// name one) and the host files.
    pub fn complete(&mut self, os: &dyn Os, config: Option<&str>) -> Result<()> {
        let passwd = crate::os::read_text(os, At::root("/etc/passwd"))?.unwrap_or_default();
        self.admin = parse_passwd(&passwd, &admin_user_name());
        self.passwd_shown = os.shown("/etc/passwd");
        self.admin_config = match config {
            Some(path) => {
                let bytes = os.read_given(Path::new(path), READ_LIMIT)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("{}", crate::tr!("config-cannot-read", path)))?;
                Some((path.to_owned(), text))
            }
            None => None,
        };
        self.host = HostFacts::read(&OsFiles(os))?;
        Ok(())
    }
}
