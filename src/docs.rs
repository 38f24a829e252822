//! What u7s and each applet take and give back (usage, options, environment,
//! exit status) as clap `Command`s: the one source for `nsenter_u7s --help`,
//! the man pages and the shell completions that `u7s generate-docs OUTDIR`
//! writes at build time.
//!
//! The wrappers (kubeadm, kubectl, rootlessctl) pass their arguments to the
//! real tool untouched, so their `Command`s describe the wrapper, not the
//! tool: one pass-through ARGS, no help flag of their own.
//!
//! Man page names never clash with upstream pages: `u7s.1`, `nsenter_u7s.1`
//! (already a name of its own) and `u7s-<applet>.1` for every other applet, so
//! `man kubeadm` still opens kubeadm's own page.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command};
use clap_complete::Shell;
use clap_mangen::Man;

use crate::applets;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An environment variable and what it does.
type Var = (&'static str, &'static str);
/// An exit status (or range of them) and when it is returned.
type Status = (&'static str, &'static str);

/// The documentation of one applet.
pub struct Doc {
    /// The applet's name in `applets::APPLETS` (its symlink).
    pub applet: &'static str,
    build: fn() -> Command,
    pub environment: &'static [Var],
    pub exit_status: &'static [Status],
    /// Other pages worth reading, as `name(section)`.
    pub see_also: &'static [&'static str],
}

const ADMIN_VARS: &[Var] = &[
    (
        "U7S_ADMIN_USER",
        "the account that owns the namespaces (default u7s-admin)",
    ),
    (
        "U7S_ROOTLESSKIT_STATE_DIR",
        "the rootlesskit state dir holding child_pid, api.sock and _child_pid.u7s-ready \
         (default /run/user/<uid of u7s-admin>/usernetes/rootlesskit)",
    ),
];

const WAIT_VARS: &[Var] = &[
    (
        "U7S_NSENTER_RETRIES",
        "readiness checks of the rootlesskit child before giving up (default 10)",
    ),
    (
        "U7S_NSENTER_INTERVAL_MS",
        "milliseconds between two readiness checks (default 1000)",
    ),
];

const DEBUG_VAR: Var = (
    "U7S_DEBUG",
    "1 shows u7s's debug messages on stderr, as -v 3 would",
);

const LOCALE_VAR: Var = (
    "LC_ALL, LC_MESSAGES, LANG",
    "the first one set and not empty picks the language of u7s's own messages on \
     stderr: a value starting with ru gives Russian, anything else English (the real \
     tools' output is never touched)",
);

const DEPTH_VAR: Var = (
    "U7S_SHIM_DEPTH",
    "set by u7s for the tools it runs; counts nested u7s calls so that a tool override \
     pointing back at a shim stops with status 127 instead of looping",
);

const WRAPPER_STATUS: &[Status] = &[
    (
        "the tool's own",
        "the real tool's exit status, unchanged; 128+N when it was killed by signal N",
    ),
    (
        "1",
        "the rootlesskit child of u7s-admin is not running or not ready, or the \
         namespaces could not be entered",
    ),
    ("126", "the real tool is not executable"),
    (
        "127",
        "the real tool is not installed, its override is not an absolute path, or it \
         leads back to u7s",
    ),
];

/// Every documented applet. An applet missing here still gets a short page
/// and a completion entry from its line in `applets::APPLETS`.
pub const DOCS: &[Doc] = &[
    Doc {
        applet: "kubeadm",
        build: kubeadm,
        environment: &[
            (
                "U7S_KUBEADM",
                "absolute path of the real kubeadm (default /usr/bin/kubeadm); never searched in PATH",
            ),
            (
                "U7S_KUBECTL",
                "absolute path of the real kubectl that init uses (default /usr/bin/kubectl)",
            ),
            (
                "U7S_SYSTEMCTL",
                "absolute path of systemctl (default /usr/bin/systemctl)",
            ),
            (
                "U7S_SKOPEO",
                "init/join: absolute path of skopeo, which lists the registry's tags before the pull (default /usr/bin/skopeo)",
            ),
            (
                "U7S_CRICTL",
                "init/join: absolute path of crictl, which pulls the CNI plugin's images (default /usr/bin/crictl)",
            ),
            (
                "U7S_REGISTRY",
                "init/join: the image registry with its platform path; empty means \
                 registry.k8s.io; unset: registry.local if /etc/hosts names it, else \
                 registry.altlinux.org, with the platform of /etc/os-release",
            ),
            (
                "U7S_PLATFORM",
                "init/join: the platform path on the registry (k8s-p10, k8s-c10f1, p11, ...), \
                 replacing the computed one",
            ),
            (
                "U7S_KUBEVERSION",
                "init/join: the Kubernetes version (v1.26.0 or later; default: the real \
                 kubeadm's own version)",
            ),
            (
                "U7S_CNI_PLUGIN",
                "init/join: the network plugin, flannel (default) or calico",
            ),
            (
                "U7S_FLANNEL_TAG",
                "init/join: the flannel release; only the bundled one's (v0.26.7) is accepted",
            ),
            (
                "U7S_ROOT",
                "the root of the host files that init/join read and write (default /); for tests",
            ),
            ADMIN_VARS[0],
            ADMIN_VARS[1],
            WAIT_VARS[0],
            WAIT_VARS[1],
            DEBUG_VAR,
            LOCALE_VAR,
            DEPTH_VAR,
        ],
        exit_status: &[
            WRAPPER_STATUS[0],
            (
                "1",
                "init/join refused (an unknown flag or a missing value, not root, an \
                 overlapping network, ...) before anything was changed; or rootlesskit \
                 is not ready for another subcommand",
            ),
            WRAPPER_STATUS[2],
            WRAPPER_STATUS[3],
        ],
        see_also: &["u7s(1)", "nsenter_u7s(1)", "kubeadm(1)"],
    },
    Doc {
        applet: "kubectl",
        build: kubectl,
        environment: &[
            (
                "U7S_KUBECTL",
                "absolute path of the real kubectl (default /usr/bin/kubectl); never searched in PATH",
            ),
            (
                "KUBECONFIG",
                "root: the kubeconfigs kubectl reads, each checked as above (unset: \
                 $HOME/.kube/config); u7s-admin: passed to kubectl as it is (unset: its own \
                 ~/.kube/config)",
            ),
            (
                "HOME",
                "root: kubectl's ~/.kube (the default kubeconfig, caches, preferences) is \
                 checked like the kubeconfig",
            ),
            ADMIN_VARS[0],
            ADMIN_VARS[1],
            WAIT_VARS[0],
            WAIT_VARS[1],
            DEBUG_VAR,
            LOCALE_VAR,
            DEPTH_VAR,
        ],
        exit_status: &[
            WRAPPER_STATUS[0],
            (
                "1",
                "root: a file kubectl would read is not root's alone, the kubeconfig holds an \
                 entry off the whitelist, or /root/.kube/config is missing; u7s-admin: the \
                 rootlesskit child is not running or not ready, or the namespaces could not \
                 be entered",
            ),
            WRAPPER_STATUS[2],
            WRAPPER_STATUS[3],
        ],
        see_also: &["u7s(1)", "nsenter_u7s(1)", "kubectl(1)"],
    },
    Doc {
        applet: "nsenter_u7s",
        build: nsenter_u7s,
        environment: &[
            (
                "SHELL",
                "the command to run when none is given (default: u7s-admin's login shell, \
                 then /bin/sh)",
            ),
            ADMIN_VARS[0],
            ADMIN_VARS[1],
            WAIT_VARS[0],
            WAIT_VARS[1],
            DEBUG_VAR,
            LOCALE_VAR,
        ],
        exit_status: &[
            (
                "the command's own",
                "the command's exit status, unchanged; 128+N when it was killed by signal N",
            ),
            (
                "1",
                "the rootlesskit child of u7s-admin is not running or not ready, its \
                 state or process failed the proof, or the namespaces could not be entered",
            ),
            ("2", "a bad option of nsenter_u7s itself (-v without a number)"),
            ("126, 127", "the command could not be run or was not found"),
        ],
        see_also: &["u7s(1)", "nsenter(1)", "rootlesskit(1)"],
    },
    Doc {
        applet: "rootlessctl",
        build: rootlessctl,
        environment: &[
            (
                "U7S_ROOTLESSCTL",
                "absolute path of the real rootlessctl (default /usr/bin/rootlessctl); never \
                 searched in PATH",
            ),
            ADMIN_VARS[0],
            ADMIN_VARS[1],
            DEBUG_VAR,
            LOCALE_VAR,
            DEPTH_VAR,
        ],
        exit_status: &[
            WRAPPER_STATUS[0],
            ("1", "the u7s-admin account does not exist"),
            WRAPPER_STATUS[2],
            WRAPPER_STATUS[3],
        ],
        see_also: &["u7s(1)", "nsenter_u7s(1)", "rootlessctl(1)"],
    },
    Doc {
        applet: "rootlesskit",
        build: rootlesskit,
        environment: &[
            (
                "U7S_ENV_FILE",
                "the env file the role reads (default $XDG_CONFIG_HOME/usernetes/env)",
            ),
            (
                "U7S_ROOTLESSKIT_STATE_DIR",
                "rootlesskit's state dir (default $XDG_RUNTIME_DIR/usernetes/rootlesskit)",
            ),
            (
                "U7S_ROOTLESSKIT",
                "absolute path of the real rootlesskit (default /usr/bin/rootlesskit)",
            ),
            (
                "U7S_ROOTLESSCTL",
                "absolute path of the real rootlessctl (default /usr/bin/rootlessctl)",
            ),
            ("U7S_IP", "absolute path of iproute2's ip (default /sbin/ip)"),
            (
                "U7S_CNI_BIN_DIR",
                "the CNI plugins bound on /opt/cni/bin (default /usr/libexec/cni)",
            ),
            DEBUG_VAR,
            LOCALE_VAR,
        ],
        exit_status: &[
            (
                "the command's own",
                "the command's exit status; 128+N when it was killed by signal N, or when \
                 signal N stopped the role",
            ),
            (
                "1",
                "a setup step failed (the message names it), or the role was started as \
                 root or outside a rootlesskit user namespace",
            ),
            ("2", "a bad option of the role itself"),
        ],
        see_also: &["u7s(1)", "rootlesskit(1)", "nsenter_u7s(1)"],
    },
    Doc {
        applet: "doctor",
        build: doctor,
        environment: &[
            (
                "U7S_SYSTEMCTL",
                "absolute path of systemctl (default /usr/bin/systemctl)",
            ),
            (
                "U7S_KUBECTL",
                "absolute path of the real kubectl for the node and pod checks (default /usr/bin/kubectl)",
            ),
            ADMIN_VARS[0],
            ADMIN_VARS[1],
            LOCALE_VAR,
        ],
        exit_status: &[
            ("0", "every check passed (warnings allowed)"),
            ("1", "a check failed: its [ERROR Name] line says what and how to fix it"),
            ("2", "a bad option, or run by someone other than root and u7s-admin"),
        ],
        see_also: &["u7s(1)", "u7s-kubeadm(1)", "systemctl(1)", "journalctl(1)"],
    },
    Doc {
        applet: "haproxy-config",
        build: haproxy_config,
        environment: &[],
        exit_status: &[
            ("0", "the configuration was printed"),
            ("2", "a bad or repeated --master, or a bad option"),
        ],
        see_also: &["u7s(1)", "u7s-kubeadm(1)", "haproxy(1)"],
    },
];

fn passthrough(help: &'static str) -> Arg {
    Arg::new("args")
        .value_name("ARGS")
        .num_args(0..)
        .trailing_var_arg(true)
        .allow_hyphen_values(true)
        .action(ArgAction::Append)
        .help(help)
}

/// A wrapper: no options of its own, every argument is the real tool's.
fn wrapper(name: &'static str, about: &'static str, long_about: &'static str) -> Command {
    Command::new(name)
        .about(about)
        .long_about(long_about)
        .override_usage(format!("{name} [ARGS]...\n       u7s {name} [ARGS]..."))
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(passthrough(
            "the real tool's arguments, passed byte for byte (its own --help included)",
        ))
}

fn kubeadm() -> Command {
    wrapper(
        "kubeadm",
        "kubeadm for rootless u7s clusters",
        "kubeadm for rootless Kubernetes clusters of ALT Linux podsec-k8s. Run it as root, \
         with the u7s bin folder first on PATH, exactly as upstream kubeadm.\n\n\
         kubeadm init and kubeadm join take kubeadm's own flags: u7s rewrites them into a \
         kubeadm configuration, prepares the host, starts the rootless stack of the \
         u7s-admin user (rootlesskit, slirp4netns, cri-o, kubelet) and runs the real kubeadm \
         inside its namespaces. --dry-run prints the settings, the configuration and the \
         host steps and changes nothing. The help of init and join ends with a section on \
         the variables u7s adds.\n\n\
         Help, version and completion run the real kubeadm directly. Every other subcommand \
         (token, reset, certs, upgrade, ...) runs the real kubeadm inside the namespaces \
         with the arguments byte for byte. -v N (0..9) also sets u7s's own verbosity.",
    )
}

fn kubectl() -> Command {
    wrapper(
        "kubectl",
        KUBECTL_ABOUT,
        "For root, runs the real kubectl on the host, as root, with root's own kubeconfig \
         (/root/.kube/config, or what KUBECONFIG or --kubeconfig name), against the API \
         endpoint in it: rootlesskit forwards that port from the host into the namespaces. \
         So files by relative or absolute path, the working directory, -f -, -k, kubectl cp \
         to local paths, kubectl edit with root's editor and the listeners of port-forward \
         and proxy are root's and the host's, as with upstream Kubernetes. Before kubectl \
         starts, everything it reads as configuration must be root's alone: every directory \
         from / down owned by root and not writable by group or others, no symbolic link, \
         the file root's too; and the kubeconfig may hold only servers, CA data, client \
         certificates and keys, and names, the whitelist its copy was made under at init and \
         join. exec, auth-provider, tokenFile, file paths and YAML merge keys are refused \
         with one line naming the entry; for a kubeconfig you trust with them, run \
         /usr/bin/kubectl yourself. Without /root/.kube/config it says how to get one \
         (kubeadm init or join --control-plane writes it on a master; copy it to a worker); \
         help, completion, kustomize, config and version work without one.\n\n\
         For u7s-admin, runs the real kubectl inside its user, mount, network, cgroup, pid, \
         ipc and uts namespaces (uid 0 inside), with its own ~/.kube/config unless \
         KUBECONFIG is set.\n\n\
         The arguments pass byte for byte and kubectl is exec'd, so its exit status and \
         stdout are its own. -v N (0..9) also sets u7s's own verbosity.",
    )
}

/// What the kubectl applet is, in one line (usage listing and man page).
pub const KUBECTL_ABOUT: &str =
    "the real kubectl: root's on the host with its own checked kubeconfig, u7s-admin's inside its namespaces";

fn rootlessctl() -> Command {
    wrapper(
        "rootlessctl",
        "the real rootlessctl on the u7s-admin rootlesskit API socket",
        "Runs the real rootlessctl with --socket $XDG_RUNTIME_DIR/usernetes/rootlesskit/api.sock \
         of u7s-admin, followed by the arguments byte for byte; for example \
         rootlessctl add-ports 0.0.0.0:30080:30080/tcp exposes a NodePort on the host. \
         Usually run as u7s-admin, through nsenter_u7s.",
    )
}

fn nsenter_u7s() -> Command {
    Command::new("nsenter_u7s")
        .about("run a command inside the u7s-admin rootlesskit namespaces")
        .long_about(
            "Runs COMMAND (default: $SHELL) inside the namespaces of the u7s-admin \
             rootlesskit child: user, mount, network, cgroup, pid, ipc and uts. As \
             u7s-admin the credentials are kept (uid 0 inside); as root the command runs \
             as uid 0 inside, which is u7s-admin outside, with u7s-admin's HOME, USER and \
             XDG_* variables. The working directory is kept (/ when it does not exist \
             inside) and ROOTLESSKIT_STATE_DIR is exported.\n\n\
             The target is proven first: the pid in the state files must be a process \
             of u7s-admin in a user namespace that u7s-admin created and that shares \
             no namespace with the caller; the state files must be small regular \
             files of u7s-admin, and no symbolic link in the state dir's path is \
             followed. Otherwise nothing runs and the status is 1.\n\n\
             A command root runs is kept apart from root's session: it gets a session \
             of its own; a pseudo-terminal takes the place of each of stdin, stdout \
             and stderr that is a terminal, relayed by nsenter_u7s (window size and \
             keys included), so it cannot type into root's terminal; no file \
             descriptor above 2; and of root's environment only PATH, TERM, \
             COLORTERM, NO_COLOR, LANG, LANGUAGE, LC_*, TZ, KUBECONFIG, KUBE_EDITOR, \
             EDITOR, VISUAL and U7S_*.\n\n\
             Only options before COMMAND are nsenter_u7s's own; everything from COMMAND on \
             is the command's, options included.",
        )
        .override_usage(
            "nsenter_u7s [-v N] [--] [COMMAND [ARGS]...]\n       u7s nsenter_u7s [-v N] [--] [COMMAND [ARGS]...]",
        )
        .disable_version_flag(true)
        .arg(verbosity_arg())
        .arg(command_arg("the command and its arguments, passed untouched (default: $SHELL)"))
}

fn rootlesskit() -> Command {
    Command::new("rootlesskit")
        .about("service role (u7s-admin): rootlesskit with the podsec setup inside, then COMMAND")
        .long_about(
            "Runs the real rootlesskit with the podsec flags and sets up its namespaces \
             for the rootless Kubernetes stack: bind mounts, the CNI plugins on \
             /opt/cni/bin, the node role's port forwards and the recorded NodePorts, \
             tap0's address, and the readiness file; then runs COMMAND inside (default: \
             wait for a signal) and exits with its status. Run as u7s-admin, by the \
             u7s-rootlesskit.service user unit.",
        )
        .override_usage("u7s rootlesskit [-v N] [--] [COMMAND [ARGS]...]")
        .disable_version_flag(true)
        .arg(verbosity_arg())
        .arg(command_arg(
            "the command to run inside, and its arguments (default: wait for a signal)",
        ))
}

/// `COMMAND [ARGS]...` after the leading options (nsenter_u7s and the
/// rootlesskit role): everything from COMMAND on is the command's.
fn command_arg(help: &'static str) -> Arg {
    Arg::new("command")
        .value_name("COMMAND")
        .num_args(0..)
        .trailing_var_arg(true)
        .allow_hyphen_values(true)
        .action(ArgAction::Append)
        .help(help)
}

/// `-v N`, u7s's own verbosity (nsenter_u7s and the rootlesskit role).
fn verbosity_arg() -> Arg {
    Arg::new("verbosity")
        .short('v')
        .long("v")
        .value_name("N")
        .value_parser(clap::value_parser!(u8))
        .help("verbosity of u7s's own messages on stderr, 0 to 9")
}

/// `u7s doctor`: the clap definition the applet parses with.
pub fn doctor() -> Command {
    Command::new("doctor")
        .about("check the whole rootless stack and say what is broken and how to fix it")
        .long_about(
            "Checks the rootless stack in the order it is built and prints one line per \
             check: [OK] Name: ..., [WARN] Name: ... or [ERROR Name] ... with the fix. The \
             checks: u7s.service and the user manager of u7s-admin, lingering, cgroup \
             delegation, newuidmap and newgidmap (ALT's control facility may restrict them \
             to a group), the user units u7s-rootlesskit.service and u7s-kubelet.service, the \
             rootlesskit child (its state files, and the proof that it is u7s-admin's), \
             slirp4netns, CRI-O's socket and kubelet's health inside the namespaces, the \
             ports forwarded to the host for the node's role, the node and its kube-system \
             pods through kubectl (root's own ~/.kube/config, or u7s-admin's), and the expiry \
             of the certificates in /etc/kubernetes.\n\n\
             Run it as root or as u7s-admin. Root never follows a symlink of u7s-admin's \
             and treats everything u7s-admin's processes answer as data. The journal \
             commands it suggests work for root: systemd keeps the logs of a system user's \
             user units in the system journal.",
        )
        .override_usage("u7s doctor [-o|--output text|json] [--ignore-errors NAME,...]")
        .disable_version_flag(true)
        .arg(
            Arg::new("ignore-errors")
                .long("ignore-errors")
                .value_name("NAME,...")
                .value_delimiter(',')
                .action(ArgAction::Append)
                .help(
                    "report these checks' errors as warnings (names as printed, or all), \
                     for a host where a known problem is accepted",
                ),
        )
        .arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .value_name("FORMAT")
                .value_parser(["text", "json"])
                .default_value("text")
                .help("text (one line per check) or json (for scripts)"),
        )
}

fn haproxy_config() -> Command {
    applets::haproxy_command()
}

/// `u7s generate-docs OUTDIR`: a build step, hidden from the usage listing.
pub fn generate_docs() -> Command {
    Command::new("generate-docs")
        .about("write the man pages and shell completions of u7s into OUTDIR")
        .long_about(
            "Writes OUTDIR/man/man1/*.1, OUTDIR/man/ru/man1/*.1 (Russian), \
             OUTDIR/completions/bash/u7s and OUTDIR/completions/zsh/_u7s, generated from the same command definitions \
             the binary uses. A build step (make install runs it).",
        )
        .disable_version_flag(true)
        .arg(
            Arg::new("outdir")
                .value_name("OUTDIR")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("the folder to write into (created if missing)"),
        )
}

/// The documentation of `applet`, if it has its own.
pub fn doc(applet: &str) -> Option<&'static Doc> {
    DOCS.iter().find(|d| d.applet == applet)
}

/// The man page name of an applet: its own name when that already says u7s,
/// otherwise `u7s-<applet>`, so no upstream page is shadowed.
pub fn page_name(applet: &str) -> String {
    if applet.contains("u7s") {
        applet.to_owned()
    } else {
        format!("u7s-{applet}")
    }
}

/// The aligned `NAME  meaning` lines that `--help` shows for a table.
fn table(heading: &str, rows: &[(&str, &str)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text = format!("{heading}:\n");
    for (key, meaning) in rows {
        let _ = writeln!(text, "  {key:<width$}  {meaning}");
    }
    text
}

impl Doc {
    /// The applet's `Command`, with environment and exit status in its long help.
    pub fn command(&self) -> Command {
        let mut after = table("Environment", self.environment);
        if !after.is_empty() {
            after.push('\n');
        }
        after.push_str(&table("Exit status", self.exit_status));
        (self.build)()
            .display_name(page_name(self.applet))
            .after_long_help(after.trim_end().to_owned())
    }
}

/// The `Command` of any visible applet: its own doc, or a short one from its
/// line in the applet table.
pub fn applet_command(name: &str) -> Option<Command> {
    if let Some(doc) = doc(name) {
        return Some(doc.command());
    }
    if name == "generate-docs" {
        return Some(generate_docs());
    }
    let (name, about, _) = applets::APPLETS.iter().find(|(n, _, _)| *n == name)?;
    Some(
        Command::new(*name)
            .display_name(page_name(name))
            .about(*about)
            .disable_help_flag(true)
            .disable_version_flag(true)
            .arg(passthrough("the applet's arguments")),
    )
}

/// `u7s` itself, with every applet as a subcommand (hidden ones hidden).
pub fn u7s() -> Command {
    u7s_with(true)
}

/// `u7s` with or without its hidden applets (completions offer only the
/// visible ones: clap_complete lists hidden subcommands too).
fn u7s_with(hidden: bool) -> Command {
    let mut cmd = Command::new("u7s")
        .version(VERSION)
        .about("rootless Kubernetes for ALT Linux podsec-k8s, as one multi-call binary")
        .long_about(
            "u7s runs Kubernetes with no root privileges: every control-plane and node \
             process runs inside the user namespace of the system user u7s-admin, created \
             by rootlesskit. It is one binary, /usr/libexec/podsec/u7s/bin/u7s, with a \
             symlink per applet beside it; it picks the applet from the name it was \
             started under (argv[0]), and u7s APPLET ARGS... reaches every applet without \
             a symlink.\n\n\
             An administrator puts /usr/libexec/podsec/u7s/bin first on PATH and runs \
             kubeadm init, kubeadm join and kubectl exactly as with upstream Kubernetes.",
        )
        .override_usage(
            "u7s [-h|--help] [-V|--version]\n       u7s APPLET [ARGS]...\n       APPLET [ARGS]...   (through a symlink named like the applet)",
        )
        .subcommand_value_name("APPLET")
        .subcommand_help_heading("Applets")
        .disable_help_subcommand(true);
    for (name, _, _) in applets::APPLETS {
        let hide = applets::is_hidden(name);
        if hide && !hidden {
            continue;
        }
        if let Some(sub) = applet_command(name) {
            cmd = cmd.subcommand(sub.hide(hide));
        }
    }
    cmd
}

/// The long help of a documented applet, as plain text.
pub fn long_help(applet: &str) -> String {
    match applet_command(applet) {
        Some(mut cmd) => cmd.render_long_help().to_string(),
        None => String::new(),
    }
}

/// Escapes text for a roff text line.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// `.TP` paragraphs: a bold tag and its text (both in `lang`; a tag that is
/// a name, like a variable, stays as it is).
fn roff_list(out: &mut String, heading: &'static str, rows: &[(&str, &str)], lang: ManLang) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, ".SH \"{}\"", lang.heading(heading));
    for (tag, text) in rows {
        let tag = if lang == ManLang::Ru && crate::docs_ru::has(tag) {
            crate::docs_ru::ru(tag)
        } else {
            tag.to_string()
        };
        let _ = writeln!(
            out,
            ".TP\n\\fB{}\\fR\n{}",
            roff_text(&tag),
            roff_text(&lang.text(text))
        );
    }
}

/// `name(1)` references as `\fBname\fR(1), ...`.
fn roff_refs(out: &mut String, refs: &[String], lang: ManLang) {
    if refs.is_empty() {
        return;
    }
    let _ = writeln!(out, ".SH \"{}\"", lang.heading("SEE ALSO"));
    let list: Vec<String> = refs
        .iter()
        .map(|r| match r.split_once('(') {
            Some((name, section)) => format!("\\fB{}\\fR({section}", roff_text(name)),
            None => format!("\\fB{}\\fR", roff_text(r)),
        })
        .collect();
    let _ = writeln!(out, "{}", list.join(",\n"));
}

/// The language of a man page: English (`man/man1`) or Russian (`man/ru/man1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManLang {
    En,
    Ru,
}

impl ManLang {
    /// A text of these docs in this language.
    fn text(self, en: &str) -> String {
        match self {
            ManLang::En => en.to_owned(),
            ManLang::Ru => crate::docs_ru::ru(en),
        }
    }

    /// A section heading of our own.
    fn heading(self, en: &'static str) -> &'static str {
        match (self, en) {
            (ManLang::En, _) => en,
            (ManLang::Ru, "ENVIRONMENT") => "ОКРУЖЕНИЕ",
            (ManLang::Ru, "EXIT STATUS") => "КОД ЗАВЕРШЕНИЯ",
            (ManLang::Ru, "SEE ALSO") => "СМОТРИТЕ ТАКЖЕ",
            (ManLang::Ru, "APPLETS") => "АППЛЕТЫ",
            (ManLang::Ru, "PREFLIGHT CHECKS") => "ПРЕДВАРИТЕЛЬНЫЕ ПРОВЕРКИ",
            (ManLang::Ru, other) => other,
        }
    }

    /// The folder of its pages under the docs output.
    pub fn dir(self) -> &'static str {
        match self {
            ManLang::En => "man/man1",
            ManLang::Ru => "man/ru/man1",
        }
    }
}

fn man_head(cmd: Command, page: &str, lang: ManLang) -> io::Result<(Vec<u8>, bool)> {
    let mut cmd = cmd;
    cmd.build();
    if lang == ManLang::Ru {
        cmd = crate::docs_ru::localize(cmd);
    }
    let has_args = cmd.get_arguments().any(|a| !a.is_hide_set());
    let man = Man::new(cmd)
        .title(page.to_uppercase())
        .section("1")
        .source(format!("u7s {VERSION}"))
        .manual(lang.text("u7s manual"));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if has_args {
        man.render_options_section(&mut out)?;
    }
    if lang == ManLang::Ru {
        let mut text = String::from_utf8_lossy(&out).into_owned();
        for (en, ru) in crate::docs_ru::HEADINGS {
            text = text.replace(&format!("{en}\n"), &format!("{ru}\n"));
        }
        out = text.into_bytes();
    }
    Ok((out, has_args))
}

/// The roff source of `applet`'s page.
pub fn man_page(applet: &str) -> io::Result<Vec<u8>> {
    man_page_in(applet, ManLang::En)
}

/// The roff source of `applet`'s page in `lang`.
pub fn man_page_in(applet: &str, lang: ManLang) -> io::Result<Vec<u8>> {
    let cmd = applet_command(applet)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no applet {applet}")))?;
    let page = page_name(applet);
    let (mut out, _) = man_head(cmd, &page, lang)?;
    let mut tail = String::new();
    let mut refs = vec!["u7s(1)".to_owned()];
    if applet == "kubeadm" {
        roff_list(
            &mut tail,
            "PREFLIGHT CHECKS",
            crate::flow::preflight::NAMES,
            lang,
        );
    }
    if let Some(doc) = doc(applet) {
        roff_list(&mut tail, "ENVIRONMENT", doc.environment, lang);
        roff_list(&mut tail, "EXIT STATUS", doc.exit_status, lang);
        refs = doc.see_also.iter().map(|s| s.to_string()).collect();
    }
    roff_refs(&mut tail, &refs, lang);
    out.extend_from_slice(tail.as_bytes());
    Ok(out)
}

/// The roff source of `u7s.1`: the dispatcher and the list of applets.
pub fn u7s_man_page() -> io::Result<Vec<u8>> {
    u7s_man_page_in(ManLang::En)
}

/// `u7s.1` in `lang`.
pub fn u7s_man_page_in(lang: ManLang) -> io::Result<Vec<u8>> {
    let (mut out, _) = man_head(u7s(), "u7s", lang)?;
    let mut tail = String::new();
    let see = lang.text("see");
    let rows: Vec<(String, String)> = applets::APPLETS
        .iter()
        .filter(|(name, _, _)| !applets::is_hidden(name))
        .map(|(name, about, _)| {
            (
                name.to_string(),
                format!("{}; {see} {}(1)", lang.text(about), page_name(name)),
            )
        })
        .collect();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    // Already in `lang`: a translation of a translation is the same text.
    roff_list(&mut tail, "APPLETS", &rows, ManLang::En);
    let mut tail = tail.replacen(
        ".SH \"APPLETS\"",
        &format!(".SH \"{}\"", lang.heading("APPLETS")),
        1,
    );
    roff_list(
        &mut tail,
        "EXIT STATUS",
        &[
            ("the applet's own", "the applet's exit status"),
            ("2", "no applet or an unknown applet was named"),
        ],
        lang,
    );
    let refs: Vec<String> = applets::APPLETS
        .iter()
        .filter(|(name, _, _)| !applets::is_hidden(name))
        .map(|(name, _, _)| format!("{}(1)", page_name(name)))
        .collect();
    roff_refs(&mut tail, &refs, lang);
    out.extend_from_slice(tail.as_bytes());
    Ok(out)
}

/// The completion script of `u7s` for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = u7s_with(false);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "u7s", &mut out);
    out
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes every man page and completion script under `outdir`; returns the
/// files written, relative to `outdir`.
pub fn write_all(outdir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for lang in [ManLang::En, ManLang::Ru] {
        let dir = lang.dir();
        files.push((
            PathBuf::from(format!("{dir}/u7s.1")),
            u7s_man_page_in(lang)?,
        ));
        for (name, _, _) in applets::APPLETS {
            if applets::is_hidden(name) {
                continue;
            }
            let path = PathBuf::from(format!("{dir}/{}.1", page_name(name)));
            files.push((path, man_page_in(name, lang)?));
        }
    }
    files.push((
        PathBuf::from("completions/bash/u7s"),
        completion(Shell::Bash),
    ));
    files.push((
        PathBuf::from("completions/zsh/_u7s"),
        completion(Shell::Zsh),
    ));
    for (path, bytes) in &files {
        write_file(&outdir.join(path), bytes)?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_consistent() {
        u7s().debug_assert();
        generate_docs().debug_assert();
        for doc in DOCS {
            doc.command().debug_assert();
        }
    }

    #[test]
    fn every_visible_applet_has_a_page_and_a_subcommand() {
        let cmd = u7s();
        for (name, _, _) in applets::APPLETS {
            let sub = cmd.find_subcommand(name).expect(name);
            assert_eq!(sub.is_hide_set(), applets::is_hidden(name), "{name}");
        }
        for doc in DOCS {
            assert!(
                applets::APPLETS.iter().any(|(n, _, _)| *n == doc.applet),
                "{} documented but not an applet",
                doc.applet
            );
        }
    }

    #[test]
    fn page_names_never_shadow_upstream_pages() {
        assert_eq!(page_name("kubeadm"), "u7s-kubeadm");
        assert_eq!(page_name("kubectl"), "u7s-kubectl");
        assert_eq!(page_name("rootlessctl"), "u7s-rootlessctl");
        assert_eq!(page_name("nsenter_u7s"), "nsenter_u7s");
        assert_eq!(page_name("haproxy-config"), "u7s-haproxy-config");
    }

    #[test]
    fn wrapper_pages_name_the_environment_and_exit_status() {
        let page = String::from_utf8(man_page("kubeadm").unwrap()).unwrap();
        for needle in [
            ".TH U7S-KUBEADM 1",
            "U7S_KUBEADM",
            "U7S_REGISTRY",
            ".SH \"EXIT STATUS\"",
            "128+N",
        ] {
            assert!(page.contains(needle), "{needle} missing:\n{page}");
        }
        let nsenter = long_help("nsenter_u7s");
        for needle in ["Usage: nsenter_u7s", "-v", "U7S_NSENTER_RETRIES", "COMMAND"] {
            assert!(nsenter.contains(needle), "{needle} missing:\n{nsenter}");
        }
        assert!(!nsenter.contains('\x1b'), "plain text, no colours");
    }

    #[test]
    fn roff_escapes_leading_dots_and_hyphens() {
        assert_eq!(roff_text(".x -y"), "\\&.x \\-y");
        assert_eq!(roff_text("a\\b"), "a\\eb");
    }
}
