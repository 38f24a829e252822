//! argv[0] dispatch, in the manner of rustup's proxies and uutils' multicall
//! binary: the basename the binary was started under picks the applet (symlinks
//! are not resolved), and `u7s <applet> ARGS...` reaches every applet without one.

use std::ffi::{OsStr, OsString};
use std::path::Path;

mod crio;
mod doctor;
mod generate_docs;
mod haproxy;
mod init_crio;
mod inside;
mod kubeadm;
mod kubeadm_help;
mod kubectl;
mod kubelet;
mod leading;
mod nsenter;
mod ping_group_range;
mod rootlessctl;
mod rootlesskit;
mod service;

pub use inside::run_inside;
pub use kubeadm::subcommand as kubeadm_subcommand;

use crate::exec::Invocation;
use crate::tools::{self, Tool};

/// The real `tool` with `args`, ready to run, carrying the recursion-guard
/// depth; the error carries the status for a tool that cannot be used.
pub fn real_tool(tool: Tool, args: Vec<OsString>) -> crate::error::Result<Invocation> {
    let depth = tools::next_depth()?;
    let path = tools::resolve(tool)?;
    Ok(Invocation::new(path, args).with_env(tools::DEPTH_VAR, depth.to_string()))
}

/// Root on the host: uid 0 in the initial user namespace (not the mapped
/// u7s-admin, who is uid 0 inside the rootlesskit namespaces).
pub(crate) fn root_on_host() -> bool {
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    nix::unistd::geteuid().is_root() && crate::stack::rootlesskit::is_initial_uid_map(&uid_map)
}

type Main = fn(Vec<OsString>) -> i32;

/// Every applet: its name (the symlink), what it does (for usage), its entry.
pub const APPLETS: &[(&str, &str, Main)] = &[
    (
        "kubeadm",
        "kubeadm wrapper: init/join for rootless clusters, everything else inside the namespaces",
        kubeadm::main,
    ),
    ("kubectl", crate::docs::KUBECTL_ABOUT, kubectl::main),
    (
        "nsenter_u7s",
        "run a command (default $SHELL) inside the u7s-admin rootlesskit namespaces",
        nsenter::main,
    ),
    (
        "rootlessctl",
        "the real rootlessctl on the u7s-admin rootlesskit API socket",
        rootlessctl::main,
    ),
    (
        "rootlesskit",
        "service role (u7s-admin): rootlesskit with the podsec setup inside, then COMMAND",
        rootlesskit::main,
    ),
    (
        "doctor",
        "check the whole rootless stack; one line per check, with the fix",
        doctor::main,
    ),
    (
        "haproxy-config",
        "print an haproxy configuration balancing the API over the masters",
        haproxy::main,
    ),
    (
        "crio",
        "service role (rootlesskit child): write the rootless crio.conf, run the real crio",
        crio::main,
    ),
    (
        "kubelet",
        "service role: the real kubelet inside the namespaces, with the rootless settings",
        kubelet::main,
    ),
    (
        "_kubelet",
        "second half of `kubelet`, already inside the namespaces",
        kubelet::inside,
    ),
    (
        "init-crio",
        "service role: wait (bounded) until CRI-O answers on its socket",
        init_crio::main,
    ),
    (
        "ping-group-range",
        "service role (root): let u7s-admin's group use ping sockets (slirp4netns ICMP)",
        ping_group_range::main,
    ),
    (
        "service",
        "service role (root): start|stop u7s.target in the u7s-admin user manager",
        service::main,
    ),
    (
        "generate-docs",
        "write the man pages and shell completions into OUTDIR (a build step)",
        generate_docs::main,
    ),
];

/// Applets that the usage listing and the man pages leave out: build steps,
/// not something an administrator runs.
pub const HIDDEN: &[&str] = &["generate-docs", "_kubelet"];

pub fn is_hidden(name: &str) -> bool {
    HIDDEN.contains(&name)
}

/// The clap definition of `haproxy-config` (for the man page and completions).
pub fn haproxy_command() -> clap::Command {
    <haproxy::Args as clap::CommandFactory>::command()
}

/// Exit status for a command line that names no applet (usage error).
pub const USAGE_EXIT: i32 = 2;

pub fn usage() -> String {
    let mut text = String::from(
        "Usage: u7s <applet> [ARGS...]\n   or: <applet> [ARGS...]  (through a symlink named like the applet)\n\nApplets:\n",
    );
    let visible = || APPLETS.iter().filter(|(n, _, _)| !is_hidden(n));
    let width = visible().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    for (name, about, _) in visible() {
        text.push_str(&format!("  {name:<width$} {about}\n"));
    }
    text
}

/// The applet name for an argv[0]: its basename, symlinks not resolved.
pub fn applet_name(argv0: &OsStr) -> String {
    Path::new(argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn find(name: &str) -> Option<Main> {
    APPLETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, f)| *f)
}

/// Runs the applet that `argv` names and returns the exit status.
pub fn main(argv: Vec<OsString>) -> i32 {
    let mut args = argv.into_iter();
    let argv0 = args.next().unwrap_or_default();
    let name = applet_name(&argv0);
    let rest: Vec<OsString> = args.collect();
    if let Some(applet) = find(&name) {
        return applet(rest);
    }
    if name == "u7s" || name.starts_with("u7s-") || name.is_empty() {
        return multicall(rest);
    }
    eprint!(
        "u7s: {}\n\n{}",
        crate::tr!("unknown-applet-name", format!("{name:?}")),
        usage()
    );
    USAGE_EXIT
}

fn multicall(args: Vec<OsString>) -> i32 {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        eprint!("{}", usage());
        return USAGE_EXIT;
    };
    let first = first.to_string_lossy().into_owned();
    match first.as_str() {
        "-h" | "--help" | "help" => {
            // Help was asked for: it is the command's output, so stdout.
            print!("{}", usage());
            0
        }
        "-V" | "--version" | "version" => {
            println!("u7s {}", env!("CARGO_PKG_VERSION"));
            0
        }
        name => match find(name) {
            Some(applet) => applet(args.collect()),
            None => {
                eprint!(
                    "u7s: {}\n\n{}",
                    crate::tr!("unknown-applet", format!("{name:?}")),
                    usage()
                );
                USAGE_EXIT
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_picks_the_applet_without_resolving_symlinks() {
        assert_eq!(
            applet_name(OsStr::new("/usr/libexec/podsec/u7s/bin/kubeadm")),
            "kubeadm"
        );
        assert_eq!(applet_name(OsStr::new("nsenter_u7s")), "nsenter_u7s");
        assert_eq!(applet_name(OsStr::new("")), "");
        assert!(find("kubectl").is_some());
        assert!(find("kubelet").is_some());
        assert!(find("kubelets").is_none());
    }

    #[test]
    fn usage_lists_every_applet() {
        let text = usage();
        for (name, _, _) in APPLETS {
            assert_eq!(
                text.contains(name),
                !is_hidden(name),
                "{name} listed against its hidden flag"
            );
        }
    }

    #[test]
    fn unknown_names_are_usage_errors() {
        assert_eq!(main(vec!["frobnicate".into()]), USAGE_EXIT);
        assert_eq!(main(vec!["u7s".into()]), USAGE_EXIT);
        assert_eq!(main(vec!["u7s".into(), "nope".into()]), USAGE_EXIT);
        assert_eq!(main(vec!["/x/u7s".into(), "--help".into()]), 0);
    }
}
