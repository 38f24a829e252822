//! What u7s does with each flag of `kubeadm init` / `kubeadm join`, so that no
//! flag is silently dropped.
//!
//! u7s always runs the real kubeadm with a generated `--config`, and kubeadm
//! refuses most flags beside `--config` (`ValidateMixedArguments`). Worse, the
//! few it allows by name are not all honoured: with `--config` the file
//! replaces the flag-built objects, so `--node-name` or (1.31+)
//! `--feature-gates` beside it would be ignored without a word. Hence:
//! - `Passthrough` only for flags kubeadm both allows beside `--config` and
//!   reads outside the configuration (`--dry-run`, `--ignore-preflight-errors`,
//!   `--upload-certs`, `-v`, `--skip-*`, ...);
//! - `Config` for everything with a field in the kubeadm configuration;
//! - `Settings` for what u7s derives its own settings from (these reach the
//!   configuration through the settings);
//! - `Refused` for what cannot work rootless.
//!
//! SPEC lists `--discovery-token-unsafe-skip-ca-verification` among the
//! passed-through flags, but kubeadm forbids it beside `--config` (flags.json);
//! it goes into `JoinConfiguration.discovery.bootstrapToken` instead.

use super::command::{KubeMinor, Subcommand};
use super::table::{allowed_with_config, FlagSet};

/// Where a flag's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Handed to the real kubeadm as `--flag=value` beside the generated `--config`.
    Passthrough,
    /// Written into the generated configuration at these field paths
    /// (`Kind.path`, as in config-fields.json; same in v1beta3 and v1beta4).
    Config(&'static [&'static str]),
    /// Consumed by u7s's settings (networks, endpoint, registry, role...),
    /// which write it to the configuration at these paths.
    Settings(&'static [&'static str]),
    /// Refused with a one-line reason.
    Refused(&'static str),
    /// `--config`: the admin's base configuration file that u7s merges into.
    BaseConfig,
    /// `-h` / `--help`: the real kubeadm's help is shown instead of running.
    Help,
}

pub const CRI_SOCKET: &str =
    "u7s always uses CRI-O at unix:///run/crio/crio.sock inside the rootless namespaces";
pub const ROOTFS: &str =
    "not supported by rootless u7s: kubeadm runs inside the rootlesskit namespaces, not in a chroot";
pub const KLOG: &str = "this klog flag cannot be given beside the generated --config (kubeadm refuses the mix) and has no configuration field";
/// Never returned for a flag of the table (a test checks it).
pub const UNMAPPED: &str = "u7s has no mapping for this flag";

/// The disposition of `--name` for `sub` in `minor`; `None` if kubeadm has no
/// such flag there.
pub fn disposition(sub: Subcommand, minor: KubeMinor, name: &str) -> Option<Disposition> {
    let spec = FlagSet::for_command(Some(sub), minor)
        .lookup(name)
        .copied()?;
    use Disposition::*;
    use Subcommand::{Init, Join};
    Some(match (sub, spec.name) {
        (_, "help") => Help,
        (_, "config") => BaseConfig,
        (_, "rootfs") => Refused(ROOTFS),
        (_, "cri-socket") => Refused(CRI_SOCKET),
        (
            _,
            "v"
            | "dry-run"
            | "ignore-preflight-errors"
            | "upload-certs"
            | "skip-phases"
            | "skip-token-print"
            | "skip-certificate-key-print",
        ) => Passthrough,

        (Init, "apiserver-advertise-address") => {
            Settings(&["InitConfiguration.localAPIEndpoint.advertiseAddress"])
        }
        (Init, "apiserver-bind-port") => Settings(&["InitConfiguration.localAPIEndpoint.bindPort"]),
        (Init, "control-plane-endpoint") => {
            Settings(&["ClusterConfiguration.controlPlaneEndpoint"])
        }
        (Init, "pod-network-cidr") => Settings(&["ClusterConfiguration.networking.podSubnet"]),
        (Init, "service-cidr") => Settings(&["ClusterConfiguration.networking.serviceSubnet"]),
        (Init, "kubernetes-version") => Settings(&["ClusterConfiguration.kubernetesVersion"]),
        (Init, "image-repository") => Settings(&["ClusterConfiguration.imageRepository"]),
        (Init, "apiserver-cert-extra-sans") => Config(&["ClusterConfiguration.apiServer.certSANs"]),
        (Init, "cert-dir") => Config(&["ClusterConfiguration.certificatesDir"]),
        (Init, "certificate-key") => Config(&["InitConfiguration.certificateKey"]),
        (Init, "feature-gates") => Config(&["ClusterConfiguration.featureGates"]),
        (Init, "node-name") => Config(&["InitConfiguration.nodeRegistration.name"]),
        (Init, "patches") => Config(&["InitConfiguration.patches.directory"]),
        (Init, "service-dns-domain") => Config(&["ClusterConfiguration.networking.dnsDomain"]),
        (Init, "token") => Config(&["InitConfiguration.bootstrapTokens[].token"]),
        (Init, "token-ttl") => Config(&["InitConfiguration.bootstrapTokens[].ttl"]),

        (Join, "apiserver-advertise-address") => {
            Settings(&["JoinConfiguration.controlPlane.localAPIEndpoint.advertiseAddress"])
        }
        (Join, "apiserver-bind-port") => {
            Settings(&["JoinConfiguration.controlPlane.localAPIEndpoint.bindPort"])
        }
        (Join, "control-plane") => Settings(&["JoinConfiguration.controlPlane"]),
        (Join, "certificate-key") => Config(&["JoinConfiguration.controlPlane.certificateKey"]),
        (Join, "discovery-file") => Config(&["JoinConfiguration.discovery.file.kubeConfigPath"]),
        (Join, "discovery-token") => Config(&["JoinConfiguration.discovery.bootstrapToken.token"]),
        (Join, "discovery-token-ca-cert-hash") => {
            Config(&["JoinConfiguration.discovery.bootstrapToken.caCertHashes"])
        }
        (Join, "discovery-token-unsafe-skip-ca-verification") => {
            Config(&["JoinConfiguration.discovery.bootstrapToken.unsafeSkipCAVerification"])
        }
        (Join, "node-name") => Config(&["JoinConfiguration.nodeRegistration.name"]),
        (Join, "patches") => Config(&["JoinConfiguration.patches.directory"]),
        (Join, "tls-bootstrap-token") => Config(&["JoinConfiguration.discovery.tlsBootstrapToken"]),
        // kubeadm: "Use this token for both discovery-token and tls-bootstrap-token
        // when those values are not provided." In a configuration the second
        // is kubeadm's own default (tlsBootstrapToken is defaulted from
        // bootstrapToken.token when empty: config-loading.json), so u7s
        // writes the first only.
        (Join, "token") => Config(&["JoinConfiguration.discovery.bootstrapToken.token"]),

        // klog's logging flags (root persistent flags).
        (_, name) if spec.scope.has(super::table::Scope::GLOBAL) => {
            if allowed_with_config(name, minor) {
                Passthrough
            } else {
                Refused(KLOG)
            }
        }
        _ => Refused(UNMAPPED),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(m: u8) -> KubeMinor {
        KubeMinor::new(m).unwrap()
    }

    /// Every flag of every version has a deliberate disposition, and passing
    /// one through never trips kubeadm's `--config` mixing check.
    #[test]
    fn every_flag_is_mapped_and_passthrough_is_allowed_with_config() {
        for sub in [Subcommand::Init, Subcommand::Join] {
            for m in KubeMinor::all() {
                for spec in FlagSet::for_command(Some(sub), m).iter() {
                    let d = disposition(sub, m, spec.name).unwrap();
                    assert_ne!(
                        d,
                        Disposition::Refused(UNMAPPED),
                        "{sub} {m} --{}",
                        spec.name
                    );
                    if d == Disposition::Passthrough {
                        assert!(
                            allowed_with_config(spec.name, m),
                            "{sub} {m} --{}",
                            spec.name
                        );
                    }
                    if let Disposition::Config(paths) | Disposition::Settings(paths) = d {
                        let kind = match sub {
                            Subcommand::Init => ["InitConfiguration.", "ClusterConfiguration."],
                            Subcommand::Join => ["JoinConfiguration.", "JoinConfiguration."],
                        };
                        for p in paths {
                            assert!(kind.iter().any(|k| p.starts_with(k)), "{sub} {p}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn examples() {
        let d = |sub, m, n| disposition(sub, minor(m), n);
        assert_eq!(
            d(Subcommand::Init, 30, "dry-run"),
            Some(Disposition::Passthrough)
        );
        assert_eq!(
            d(Subcommand::Init, 26, "pod-network-cidr"),
            Some(Disposition::Settings(&[
                "ClusterConfiguration.networking.podSubnet"
            ]))
        );
        assert!(matches!(
            d(Subcommand::Join, 32, "cri-socket"),
            Some(Disposition::Refused(r)) if r.contains("crio.sock")
        ));
        assert!(matches!(
            d(Subcommand::Init, 26, "rootfs"),
            Some(Disposition::Refused(_))
        ));
        assert_eq!(
            d(Subcommand::Init, 30, "log-file"),
            Some(Disposition::Passthrough)
        );
        assert_eq!(d(Subcommand::Init, 31, "log-file"), None);
        assert!(matches!(
            d(Subcommand::Init, 26, "vmodule"),
            Some(Disposition::Refused(_))
        ));
        assert_eq!(d(Subcommand::Join, 28, "pod-network-cidr"), None);
        // Allowed beside --config from 1.31, but ignored by init there: config.
        assert_eq!(
            d(Subcommand::Init, 31, "feature-gates"),
            Some(Disposition::Config(&["ClusterConfiguration.featureGates"]))
        );
        assert_eq!(
            d(Subcommand::Join, 27, "config"),
            Some(Disposition::BaseConfig)
        );
    }
}
