//! The pure planning core of `kubeadm init` / `kubeadm join`: from the
//! host's [`Facts`] and the admin's command line to the settings, the env
//! file, the kubeadm configuration and the host steps. No I/O: everything it
//! knows about the host is in the facts.

use std::collections::BTreeMap;
use std::ffi::OsString;

use anyhow::{anyhow, bail, Result};

use super::facts::Facts;
use super::steps::{self, HostSteps, StepsInput, WithoutSecrets};
use crate::cni;
use crate::kubeadm::config::{self, AdminFacts, ConfigInput};
use crate::kubeadm::flags::{self, FlagError, KubeMinor, ParsedCommand, Subcommand};
use crate::layout::{host, AdminDirs};
use crate::settings::{EnvFile, KubeVersion, Role, Settings, SettingsInput};
use crate::stack::ports::role_ports;
use crate::users::{admin_user_name, AdminUser};

/// The version a dry run shows when nothing names one (no U7S_KUBEVERSION,
/// no --kubernetes-version, no real kubeadm on this machine).
pub const DRY_RUN_DEFAULT_VERSION: &str = "v1.32.0";

/// Why planning failed: kubeadm's own parse errors keep kubeadm's wording.
#[derive(Debug)]
pub enum Failure {
    Flags(FlagError),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

/// kubeadm's own parse errors are printed in kubeadm's words and format.
impl From<Failure> for crate::error::Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Flags(e) => crate::error::Error::verbatim(e.exit_code(), e.kubeadm_message()),
            Failure::Other(e) => e.into(),
        }
    }
}

/// Everything `kubeadm init|join` will do, ready to print or to carry out.
#[derive(Debug)]
pub struct Plan {
    pub parsed: ParsedCommand,
    pub admin: AdminUser,
    /// u7s-admin does not exist yet: the steps create it right after the
    /// preflight, and everything after was planned with a placeholder uid.
    pub admin_missing: bool,
    pub settings: Settings,
    pub env_file: EnvFile,
    /// The kubeadm configuration with its secrets (written, never printed).
    pub kubeadm_config: String,
    pub steps: HostSteps,
    /// Messages for stderr: the fields u7s set in the admin's `--config`,
    /// assumptions a dry run made, kubeadm's deprecation warnings.
    pub notes: Vec<String>,
    pub dry_run: bool,
    /// The checks to ignore: `--ignore-preflight-errors` and the
    /// configuration file's `nodeRegistration.ignorePreflightErrors`, joined
    /// as kubeadm joins them.
    pub ignore_preflight: Vec<String>,
}

fn minor_of(version: &str) -> Option<u8> {
    KubeVersion::parse(version, crate::settings::version::VersionSource::Env)
        .ok()
        .map(|v| v.minor as u8)
}

/// The flag table to parse with: the version's own when it is known before
/// parsing, else the newest (re-parsed once `--kubernetes-version` is read).
fn table_minor(minor: Option<u8>) -> KubeMinor {
    match minor {
        Some(m) if m > KubeMinor::MAX.get() => KubeMinor::MAX,
        Some(m) => KubeMinor::new(m).unwrap_or(KubeMinor::MIN),
        None => KubeMinor::MAX,
    }
}

/// Parses `kubeadm <sub> ARGS` the way the real kubeadm of the version the
/// facts name would; a flag u7s cannot honour is refused here, before
/// anything else is read.
pub fn parse(sub: Subcommand, args: &[OsString], facts: &Facts) -> Result<ParsedCommand, Failure> {
    let parsed = parse_for_version(sub, args, facts)?;
    if let Some((name, reason)) = parsed.refused().first() {
        return Err(anyhow!("{}", crate::tr!("flag-refused", name, refusal(reason))).into());
    }
    Ok(parsed)
}

fn parse_for_version(
    sub: Subcommand,
    args: &[OsString],
    facts: &Facts,
) -> Result<ParsedCommand, Failure> {
    let known_minor = facts
        .env
        .kube_version
        .as_deref()
        .filter(|v| !v.is_empty())
        .or(facts.kubeadm_version.as_deref())
        .and_then(minor_of);
    let parsed = flags::parse(sub, table_minor(known_minor), args).map_err(Failure::Flags)?;
    match parsed.str("kubernetes-version").and_then(minor_of) {
        Some(m) if known_minor.is_none() => {
            flags::parse(sub, table_minor(Some(m)), args).map_err(Failure::Flags)
        }
        _ => Ok(parsed),
    }
}

fn flag_list(parsed: &ParsedCommand, name: &str) -> Vec<String> {
    parsed
        .list(name)
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

/// Why a flag is refused, in the admin's language (the flag table holds English).
fn refusal(reason: &str) -> String {
    match reason {
        flags::CRI_SOCKET => crate::tr!("refused-cri-socket"),
        flags::ROOTFS => crate::tr!("refused-rootfs"),
        flags::KLOG => crate::tr!("refused-klog"),
        flags::UNMAPPED => crate::tr!("refused-unmapped"),
        other => other.to_owned(),
    }
}

/// `--feature-gates=A=true,B=false` as kubeadm reads it.
pub fn parse_feature_gates(text: &str) -> Result<BTreeMap<String, bool>> {
    let mut gates = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = item
            .split_once('=')
            .ok_or_else(|| anyhow!("{}", crate::tr!("feature-gates-shape", format!("{item:?}"))))?;
        let value = match value.trim() {
            "true" => true,
            "false" => false,
            other => bail!("{}", crate::tr!("feature-gates-value", name, other)),
        };
        gates.insert(name.trim().to_owned(), value);
    }
    Ok(gates)
}

/// The account the plan is made for: u7s-admin, or a placeholder while it
/// does not exist (the plan is made again once it does).
fn admin_or_placeholder(facts: &Facts) -> (AdminUser, bool) {
    match &facts.admin {
        Some(admin) => (admin.clone(), false),
        None => {
            let line = format!(
                "{}:x:999:999::/var/lib/u7s-admin:/bin/bash",
                admin_user_name()
            );
            let placeholder = crate::users::parse_passwd(&line, &admin_user_name())
                .expect("placeholder passwd line");
            (placeholder, true)
        }
    }
}

fn role_of(sub: Subcommand, parsed: &ParsedCommand, admin_config: &AdminFacts) -> Role {
    match sub {
        Subcommand::Init => Role::InitMaster,
        Subcommand::Join
            if parsed.bool("control-plane").unwrap_or(false) || admin_config.control_plane_join =>
        {
            Role::ControlPlaneJoin
        }
        Subcommand::Join => Role::Worker,
    }
}

/// The real kubeadm's flags beside `--config`: what kubeadm cannot take in
/// a configuration; init always adds `--upload-certs`.
fn kubeadm_flags(parsed: &ParsedCommand, role: Role) -> Vec<String> {
    let mut flags: Vec<String> = parsed
        .passthrough_args()
        .into_iter()
        // --dry-run is u7s's own: the real kubeadm is not run by a dry run.
        .filter(|a| a != "--dry-run" && !a.starts_with("--dry-run="))
        .collect();
    if role == Role::InitMaster && !flags.iter().any(|a| a.starts_with("--upload-certs")) {
        flags.push("--upload-certs".into());
    }
    flags
}

/// The settings' input: the flags first, then the admin's `--config` file.
fn settings_input(
    parsed: &ParsedCommand,
    role: Role,
    uid: u32,
    file: &AdminFacts,
    facts: &Facts,
) -> Result<SettingsInput> {
    let mut input = SettingsInput::new(role, uid);
    input.advertise_address =
        owned(parsed.str("apiserver-advertise-address")).or(file.advertise_address.clone());
    input.bind_port = parsed
        .int("apiserver-bind-port")
        .map(|p| u16::try_from(p).map_err(|_| anyhow!("{}", crate::tr!("bind-port-range", p))))
        .transpose()?
        .or(file.bind_port);
    input.control_plane_endpoint = owned(parsed.str("control-plane-endpoint"));
    input.join_endpoint = owned(parsed.endpoint()).or(file.join_endpoint.clone());
    input.pod_network_cidr = owned(parsed.str("pod-network-cidr")).or(file.pod_subnet.clone());
    input.service_cidr = owned(parsed.str("service-cidr")).or(file.service_subnet.clone());
    input.token = owned(parsed.str("token").or(parsed.str("discovery-token")));
    input.ca_cert_hashes = flag_list(parsed, "discovery-token-ca-cert-hash");
    input.certificate_key = owned(parsed.str("certificate-key"));
    input.kubernetes_version =
        owned(parsed.str("kubernetes-version")).or(file.kubernetes_version.clone());
    input.node_name = owned(parsed.str("node-name"));
    input.image_repository =
        owned(parsed.str("image-repository")).or(file.image_repository.clone());
    input.kubeadm_flags = kubeadm_flags(parsed, role);
    input.kubeadm_version = facts.kubeadm_version.clone();
    Ok(input)
}

/// Plans `kubeadm <sub>` from the facts and the parsed command line.
pub fn plan(sub: Subcommand, parsed: ParsedCommand, facts: &Facts) -> Result<Plan, Failure> {
    let mut notes: Vec<String> = parsed.warnings().to_vec();
    let dry_run = parsed.bool("dry-run").unwrap_or(false);
    let (admin, admin_missing) = admin_or_placeholder(facts);
    if admin_missing && dry_run {
        notes.push(crate::tr!(
            "dry-run-no-admin",
            admin_user_name(),
            facts.passwd_shown
        ));
    }
    let file_facts = match &facts.admin_config {
        Some((path, text)) => config::admin_facts(text, path)?,
        None => AdminFacts::default(),
    };
    let role = role_of(sub, &parsed, &file_facts);
    let mut input = settings_input(&parsed, role, admin.uid.as_raw(), &file_facts, facts)?;
    let nothing_names_a_version = input.kubernetes_version.is_none()
        && facts.env.kube_version.as_deref().unwrap_or("").is_empty()
        && facts.kubeadm_version.is_none();
    if nothing_names_a_version && dry_run {
        notes.push(crate::tr!(
            "dry-run-no-kubeadm",
            facts.tools.kubeadm,
            DRY_RUN_DEFAULT_VERSION
        ));
        input.kubernetes_version = Some(DRY_RUN_DEFAULT_VERSION.to_owned());
    }
    let mut env = facts.env.clone();
    // u7s bundles one flannel release's manifest (the reference kept one per
    // release and picked it by U7S_FLANNEL_TAG). Another tag would run that
    // release's images with this release's manifest: refused, not ignored.
    let bundled = cni::flannel::FLANNEL_VERSION;
    match env.flannel_tag.as_deref().unwrap_or("") {
        "" => env.flannel_tag = Some(bundled.to_owned()),
        tag if tag == bundled => {}
        tag => {
            let why = crate::tr!(
                "flannel-tag-not-bundled",
                format!("{tag:?}"),
                bundled,
                bundled
            );
            return Err(anyhow!("{why}").into());
        }
    }
    let settings = Settings::derive(&input, &env, &facts.host)?;
    let env_file = EnvFile::from_settings(&settings);
    let dirs = AdminDirs::standard(&admin);
    let config_input = config_input(&settings, &parsed, &dirs, role)?;
    let kubeadm_config = match &facts.admin_config {
        Some((path, text)) => {
            let (yaml, fields) = config::overlay(text, path, &config_input)?;
            notes.extend(
                fields
                    .into_iter()
                    .map(|field| crate::tr!("config-field-set", path, field)),
            );
            yaml
        }
        None => config::render(&config_input)?,
    };
    let without_secrets = if env_file.has_secrets() || config::has_secrets(&kubeadm_config)? {
        Some(WithoutSecrets {
            env_file: env_file.without_secrets().render(true)?,
            kubeadm_config: config::strip_secrets(&kubeadm_config)?,
        })
    } else {
        None
    };
    let steps = steps::host_steps(&StepsInput {
        role,
        admin_name: admin.name.clone(),
        admin: dirs,
        env_file: env_file.render(true)?,
        kubeadm_config: kubeadm_config.clone(),
        kubeadm_flags: input.kubeadm_flags.clone(),
        kubeadm: facts.tools.kubeadm.clone(),
        kubectl: facts.tools.kubectl.clone(),
        systemctl: facts.tools.systemctl.clone(),
        skopeo: facts.tools.skopeo.clone(),
        crictl: facts.tools.crictl.clone(),
        cni_manifest: cni_manifest(&settings)?,
        cni_images: cni::images(settings.cni, cni_registry(&settings).as_deref())?,
        cni_conf: cni::conf_files(settings.cni)
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect(),
        audit_policy: include_str!("../../data/audit/policy.yaml").to_owned(),
        tools: facts.tools.node.clone(),
        create_admin: admin_missing.then(|| facts.tools.account.clone()),
        ports: role_ports(role, settings.cni, settings.bind_port),
        image_flags: vec![
            "--kubernetes-version".into(),
            settings.kube_version.to_string(),
            "--image-repository".into(),
            settings.image_repository(),
        ],
        without_secrets,
    });
    let mut ignore_preflight = parsed
        .list("ignore-preflight-errors")
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    ignore_preflight.extend(file_facts.ignore_preflight.iter().cloned());
    Ok(Plan {
        ignore_preflight,
        parsed,
        admin,
        admin_missing,
        settings,
        env_file,
        kubeadm_config,
        steps,
        notes,
        dry_run,
    })
}

/// Where the CNI plugin's images come from: the chosen registry when it is
/// an ALT one, else (`None`) upstream's.
fn cni_registry(settings: &Settings) -> Option<String> {
    settings
        .registry
        .is_alt()
        .then(|| settings.image_repository())
}

/// The first master's CNI manifest: (path, contents), its images in the
/// chosen registry when that is an ALT one.
fn cni_manifest(settings: &Settings) -> Result<Option<(String, String)>> {
    if settings.role != Role::InitMaster {
        return Ok(None);
    }
    let registry = cni_registry(settings);
    let manifest = cni::manifest(
        settings.cni,
        registry.as_deref(),
        &settings.pod_network.to_string(),
    )?;
    Ok(Some((
        cni::manifest_path(settings.cni).to_owned(),
        manifest,
    )))
}

/// Maps the settings and the configuration flags onto the configuration input.
fn config_input(
    settings: &Settings,
    parsed: &ParsedCommand,
    dirs: &AdminDirs,
    role: Role,
) -> Result<ConfigInput> {
    let feature_gates = parsed
        .str("feature-gates")
        .map(parse_feature_gates)
        .transpose()?;
    Ok(ConfigInput {
        role,
        kubernetes_version: settings.kube_version.to_string(),
        minor: settings.kube_version.minor,
        image_repository: settings.image_repository(),
        advertise_address: settings.advertise_address.to_string(),
        bind_port: settings.bind_port,
        control_plane_endpoint: (role == Role::InitMaster)
            .then(|| settings.control_plane_endpoint.to_string()),
        join_endpoint: (role != Role::InitMaster)
            .then(|| settings.control_plane_endpoint.to_string()),
        token: settings.token.clone(),
        ca_cert_hashes: settings.ca_cert_hashes.clone(),
        unsafe_skip_ca_verification: parsed
            .bool("discovery-token-unsafe-skip-ca-verification")
            .unwrap_or(false),
        certificate_key: settings.certificate_key.clone(),
        node_name: Some(settings.node_name.clone()),
        pod_subnet: settings.pod_network.to_string(),
        service_subnet: settings.service_network.to_string(),
        service_dns_domain: owned(parsed.str("service-dns-domain")),
        cert_sans: flag_list(parsed, "apiserver-cert-extra-sans"),
        cert_dir: owned(parsed.str("cert-dir")),
        feature_gates,
        patches_dir: owned(parsed.str("patches")),
        // --skip-phases reaches the real kubeadm as a flag (allowed beside --config).
        skip_phases: Vec::new(),
        token_ttl: owned(parsed.duration("token-ttl")),
        discovery_file: owned(parsed.str("discovery-file")),
        discovery_timeout: None,
        tls_bootstrap_token: owned(parsed.str("tls-bootstrap-token")),
        kubelet_extra_args: Vec::new(),
        cluster_dns: settings.service_addrs.cluster_dns.to_string(),
        kubelet_volume_plugin_dir: Some(dirs.kubelet_plugins_dir().display().to_string()),
    })
}

/// The dry run's stdout: the env file lines (secrets hidden), the kubeadm
/// configuration (secrets hidden), then the numbered host steps.
pub fn dry_run_output(p: &Plan) -> Result<String> {
    let mut out = String::new();
    out.push_str(&format!("# Settings: {} (mode 0600)\n", host::ENV_FILE));
    out.push_str(&p.env_file.render(false)?);
    out.push_str(&format!(
        "# kubeadm configuration for `kubeadm {}`\n",
        p.settings.role.subcommand()
    ));
    out.push_str(&config::mask_secrets(&p.kubeadm_config)?);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "# Host steps of a real `kubeadm {}` (a dry run changes nothing)\n",
        p.settings.role.subcommand()
    ));
    out.push_str(&super::step::render(&p.steps.all()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_gates_parse_like_kubeadm() {
        let gates = parse_feature_gates("A=true, B=false").unwrap();
        assert_eq!(gates.get("A"), Some(&true));
        assert_eq!(gates.get("B"), Some(&false));
        assert!(parse_feature_gates("A").is_err());
        assert!(parse_feature_gates("A=yes").is_err());
    }

    #[test]
    fn the_flag_table_follows_the_known_version() {
        assert_eq!(table_minor(None), KubeMinor::MAX);
        assert_eq!(table_minor(Some(28)).get(), 28);
        assert_eq!(table_minor(Some(40)), KubeMinor::MAX);
        assert_eq!(minor_of("v1.30.2"), Some(30));
        assert_eq!(minor_of("junk"), None);
    }
}
