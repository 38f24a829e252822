//! Which files the real kubectl will read or write for a command line and an
//! environment, by kubectl's own rules (client-go's loading rules):
//!
//! - kubeconfigs: every `--kubeconfig` value (the flag wins); else each
//!   entry of `$KUBECONFIG` (a colon-separated list; empty entries skipped);
//!   else `$HOME/.kube/config`, and when that is missing kubectl copies
//!   `$HOME/.kube/.kubeconfig` (the old place) into it;
//! - its directory `$HOME/.kube` (the discovery and HTTP caches, `kuberc`),
//!   and `--cache-dir`/`KUBECACHEDIR`;
//! - preference files: `--kuberc`/`KUBERC` (`off` turns them off).
//!
//! Flags are read up to `--` (what follows belongs to the command kubectl
//! runs). Every occurrence of a flag counts, so the set is never smaller than
//! what kubectl uses. Relative paths are taken from the working directory, as
//! kubectl opens them; with `HOME` unset kubectl's default is `.kube/config`
//! in the working directory, and so it is here. Pure: the environment comes
//! in as a function.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What root's kubectl will touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubectlFiles {
    /// Kubeconfigs named on the command line or in `$KUBECONFIG`.
    pub kubeconfigs: Vec<PathBuf>,
    /// The default kubeconfig, when nothing names one: `$HOME/.kube/config`.
    pub default_kubeconfig: Option<PathBuf>,
    /// What kubectl copies into the default one when that is missing.
    pub migrated_from: Option<PathBuf>,
    /// Directories kubectl writes into or reads preferences from.
    pub dirs: Vec<PathBuf>,
    /// Other files kubectl reads as configuration (`kuberc`).
    pub files: Vec<PathBuf>,
}

/// The values of `flag` (`--flag=V` or `--flag V`) before `--`.
fn flag_values(args: &[OsString], flag: &str) -> Vec<OsString> {
    let long = format!("--{flag}");
    let with_eq = format!("--{flag}=");
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            break;
        }
        if bytes == long.as_bytes() {
            if let Some(value) = it.next() {
                out.push(value.clone());
            }
        } else if let Some(value) = bytes.strip_prefix(with_eq.as_bytes()) {
            out.push(OsStr::from_bytes(value).to_os_string());
        }
    }
    out
}

fn absolute(path: &OsStr, cwd: Option<&Path>) -> PathBuf {
    let path = Path::new(path);
    match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    }
}

fn push_unique(list: &mut Vec<PathBuf>, path: PathBuf) {
    if !list.contains(&path) {
        list.push(path);
    }
}

/// The files kubectl run with `args` in this environment (`var`) and working
/// directory (`cwd`, when known) reads or writes as configuration.
pub fn kubectl_files(
    args: &[OsString],
    var: &dyn Fn(&str) -> Option<OsString>,
    cwd: Option<&Path>,
) -> KubectlFiles {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    let mut files = KubectlFiles::default();
    let explicit: Vec<OsString> = flag_values(args, "kubeconfig")
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect();
    let home = absolute(&set("HOME").unwrap_or_default(), cwd);
    let kube_dir = home.join(".kube");
    if !explicit.is_empty() {
        for value in explicit {
            push_unique(&mut files.kubeconfigs, absolute(&value, cwd));
        }
    } else if let Some(list) = set("KUBECONFIG") {
        for entry in list.as_bytes().split(|b| *b == b':') {
            if !entry.is_empty() {
                push_unique(
                    &mut files.kubeconfigs,
                    absolute(OsStr::from_bytes(entry), cwd),
                );
            }
        }
    } else {
        files.default_kubeconfig = Some(kube_dir.join("config"));
        files.migrated_from = Some(kube_dir.join(".kubeconfig"));
    }
    files.dirs.push(kube_dir);
    let cache_dirs = flag_values(args, "cache-dir")
        .into_iter()
        .chain(set("KUBECACHEDIR"));
    for dir in cache_dirs.filter(|v| !v.is_empty()) {
        push_unique(&mut files.dirs, absolute(&dir, cwd));
    }
    let kubercs = flag_values(args, "kuberc").into_iter().chain(set("KUBERC"));
    for file in kubercs.filter(|v| !v.is_empty() && v != "off") {
        push_unique(&mut files.files, absolute(&file, cwd));
    }
    files
}

/// kubectl's global flags that take a value (as `--flag value`), for finding
/// the subcommand word.
const VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "--context",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--kubeconfig",
    "--cache-dir",
    "--kuberc",
    "-v",
    "--v",
    "--vmodule",
    "--request-timeout",
    "--as",
    "--as-group",
    "--as-uid",
    "--token",
    "--username",
    "--password",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--tls-server-name",
    "--profile",
    "--profile-output",
    "--log-file",
    "--log-dir",
    "--log-flush-frequency",
];

/// Subcommands that do their work without a cluster.
const OFFLINE: &[&str] = &[
    "help",
    "completion",
    "__complete",
    "__completeNoDesc",
    "kustomize",
    "version",
    "config",
    "plugin",
    "options",
];

/// Whether kubectl does what `args` ask without a kubeconfig (help,
/// completion, kustomize, the client's version, editing the kubeconfig
/// itself): then a missing default kubeconfig is no reason to stop.
pub fn works_without_kubeconfig(args: &[OsString]) -> bool {
    let before_dashes = || args.iter().take_while(|a| *a != "--");
    // `kubectl get --help` prints help wherever the flag is.
    if before_dashes().any(|a| a == "-h" || a == "--help") {
        return true;
    }
    let mut it = before_dashes();
    while let Some(arg) = it.next() {
        let a = arg.to_string_lossy();
        if a.starts_with('-') {
            if VALUE_FLAGS.contains(&a.as_ref()) {
                it.next();
            }
            continue;
        }
        return OFFLINE.contains(&a.as_ref());
    }
    // Bare `kubectl` prints its help; `kubectl -- x` is an unknown command.
    !args.iter().any(|a| a == "--")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    fn files(a: &[&str], e: &[(&str, &str)]) -> KubectlFiles {
        kubectl_files(&args(a), &env(e), Some(Path::new("/work/dir")))
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn the_default_is_home_kube_config_and_its_old_place() {
        let f = files(&["get", "pods"], &[("HOME", "/root")]);
        assert_eq!(f.kubeconfigs, Vec::<PathBuf>::new());
        assert_eq!(
            f.default_kubeconfig.as_deref(),
            Some(Path::new("/root/.kube/config"))
        );
        assert_eq!(
            f.migrated_from.as_deref(),
            Some(Path::new("/root/.kube/.kubeconfig"))
        );
        assert_eq!(f.dirs, paths(&["/root/.kube"]));
        assert!(f.files.is_empty());
        // No HOME: kubectl's default is relative to the working directory.
        let f = files(&["get", "pods"], &[("HOME", "")]);
        assert_eq!(
            f.default_kubeconfig.as_deref(),
            Some(Path::new("/work/dir/.kube/config"))
        );
    }

    #[test]
    fn kubeconfig_env_is_a_list_and_the_flag_wins() {
        let f = files(
            &["get", "pods"],
            &[("HOME", "/root"), ("KUBECONFIG", "/a/c1::rel/c2:/a/c1")],
        );
        assert_eq!(f.kubeconfigs, paths(&["/a/c1", "/work/dir/rel/c2"]));
        assert_eq!(f.default_kubeconfig, None);
        let f = files(
            &["--kubeconfig", "/x/one", "get", "--kubeconfig=two", "pods"],
            &[("HOME", "/root"), ("KUBECONFIG", "/a/c1")],
        );
        assert_eq!(f.kubeconfigs, paths(&["/x/one", "/work/dir/two"]));
        assert_eq!(f.default_kubeconfig, None);
        // An empty flag value is no flag, as for kubectl.
        let f = files(&["--kubeconfig="], &[("HOME", "/root")]);
        assert!(f.default_kubeconfig.is_some());
    }

    #[test]
    fn what_follows_a_double_dash_is_the_commands() {
        let f = files(
            &["exec", "pod", "--", "sh", "--kubeconfig=/evil"],
            &[("HOME", "/root")],
        );
        assert!(f.kubeconfigs.is_empty());
        assert!(f.default_kubeconfig.is_some());
    }

    #[test]
    fn cache_dirs_and_preference_files_are_listed() {
        let f = files(
            &["--cache-dir", "/c", "--kuberc=/k", "get"],
            &[
                ("HOME", "/root"),
                ("KUBECACHEDIR", "/c2"),
                ("KUBERC", "off"),
            ],
        );
        assert_eq!(f.dirs, paths(&["/root/.kube", "/c", "/c2"]));
        assert_eq!(f.files, paths(&["/k"]));
        let f = files(&["get"], &[("HOME", "/root"), ("KUBERC", "/r")]);
        assert_eq!(f.files, paths(&["/r"]));
    }

    #[test]
    fn offline_commands_are_found_past_global_flags() {
        for ok in [
            &["kustomize", "."][..],
            &["-n", "kube-system", "version", "--client"],
            &["--context=x", "completion", "bash"],
            &["get", "--help"],
            &["config", "view"],
            &[],
        ] {
            assert!(works_without_kubeconfig(&args(ok)), "{ok:?}");
        }
        for not in [
            &["get", "pods"][..],
            &["-n", "version", "get"],
            &["apply", "-f", "-"],
            &["exec", "p", "--", "sh", "--help"],
        ] {
            assert!(!works_without_kubeconfig(&args(not)), "{not:?}");
        }
    }
}
