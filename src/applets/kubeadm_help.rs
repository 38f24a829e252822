//! `kubeadm init --help`, `kubeadm join --help` (and `kubeadm --help`):
//! kubeadm's own help, then what u7s adds to it (the U7S_* variables of
//! init/join, from the one source in `docs`, and where the settings go). With
//! no real kubeadm the u7s part still prints, with a line saying so.

use std::ffi::OsString;
use std::fmt::Write as _;

use crate::error::Result;
use crate::exec;
use crate::tools::{self, Tool};

/// The variables init and join read, as documented for `man u7s-kubeadm`.
const VARIABLES: [&str; 5] = [
    "U7S_REGISTRY",
    "U7S_PLATFORM",
    "U7S_KUBEVERSION",
    "U7S_CNI_PLUGIN",
    "U7S_FLANNEL_TAG",
];

/// The u7s section for a help request of `args`: `init`, `join` or kubeadm
/// itself; `None` for other subcommands' help (and `init phase ...`).
pub fn section_for(args: &[OsString], subcommand: Option<&str>) -> Option<String> {
    let words: Vec<String> = args
        .iter()
        .take_while(|a| a.as_os_str() != "--")
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if words.iter().any(|w| w == "phase") {
        return None;
    }
    let asks = words.iter().any(|w| w == "-h" || w == "--help");
    let target = match subcommand {
        // `kubeadm help init`
        Some("help") => words
            .iter()
            .skip_while(|w| *w != "help")
            .nth(1)
            .map(String::as_str),
        Some(cmd) if asks => Some(cmd),
        Some(_) => return None,
        None if asks => None,
        None => return None,
    };
    match target {
        Some("init") | Some("join") | None => Some(section(target)),
        _ => None,
    }
}

/// The text of the section.
pub fn section(subcommand: Option<&str>) -> String {
    let mut out = String::from("\nu7s (rootless Kubernetes for ALT Linux):\n");
    let what = subcommand.unwrap_or("init/join");
    let _ = writeln!(
        out,
        "  kubeadm {what} runs as root: u7s turns these flags into a kubeadm\n  \
         configuration, prepares the host, starts rootlesskit, CRI-O and kubelet as\n  \
         u7s-admin and runs the real kubeadm inside their namespaces. --dry-run shows\n  \
         all of it and changes nothing."
    );
    let vars = crate::docs::doc("kubeadm")
        .map(|d| d.environment)
        .unwrap_or(&[]);
    out.push_str("\n  Environment:\n");
    for name in VARIABLES {
        if let Some((_, meaning)) = vars.iter().find(|(n, _)| *n == name) {
            let meaning = meaning.trim_start_matches("init/join: ");
            let _ = write!(out, "    {name:<17} ");
            out.push_str(&wrap(&crate::error::one_line(meaning), 22, 80));
        }
    }
    out.push_str(
        "\n  Preflight checks, by the names --ignore-preflight-errors takes (or all):\n    ",
    );
    let names: Vec<&str> = crate::flow::preflight::NAMES
        .iter()
        .map(|(n, _)| *n)
        .collect();
    out.push_str(&wrap(&names.join(", "), 4, 80));
    let _ = writeln!(
        out,
        "\n  Settings go to {} (root's, 0600) and to\n  \
         ~u7s-admin/.config/usernetes/env as U7S_* lines; the kubeadm configuration to\n  \
         ~u7s-admin/.config/usernetes/kubeadm-<init|join>.yaml. After init, u7s doctor\n  \
         checks the node; man u7s-kubeadm says more.",
        crate::layout::host::ENV_FILE
    );
    out
}

/// `text` in lines of at most `width` columns, the first continuing a line
/// already `indent` columns in, the others indented by `indent`.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut col = indent;
    for word in text.split_whitespace() {
        if col > indent && col + 1 + word.chars().count() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if col > indent {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.chars().count();
    }
    out.push('\n');
    out
}

/// kubeadm's help (when there is a kubeadm), then `section`, on stdout.
pub fn run(args: Vec<OsString>, section: String) -> Result<i32> {
    let code = match crate::applets::real_tool(Tool::Kubeadm, args) {
        Ok(inv) => exec::run_wait(&inv).unwrap_or(126),
        Err(e) => {
            tracing::warn!(
                "{}",
                crate::tr!("help-no-kubeadm", e, tools::alt_package("kubeadm", None))
            );
            0
        }
    };
    print!("{section}");
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn sub(args: &[&str]) -> Option<String> {
        crate::applets::kubeadm_subcommand(&os(args))
    }

    fn wants(args: &[&str]) -> bool {
        section_for(&os(args), sub(args).as_deref()).is_some()
    }

    #[test]
    fn init_join_and_kubeadm_itself_get_the_section() {
        assert!(wants(&["init", "--help"]));
        assert!(wants(&["join", "-h"]));
        assert!(wants(&["-v", "3", "init", "--help"]));
        assert!(wants(&["--help"]));
        assert!(wants(&["help", "join"]));
        assert!(!wants(&["token", "--help"]));
        assert!(!wants(&["init", "phase", "preflight", "--help"]));
        assert!(!wants(&["version"]));
        assert!(!wants(&["init"]));
        assert!(!wants(&["init", "--", "--help"]));
        let text = section(Some("init"));
        for var in VARIABLES {
            assert!(text.contains(var), "{var} missing:\n{text}");
        }
        assert!(text.contains("/etc/podsec/u7s/config/env"), "{text}");
        assert!(text.contains("kubeadm init runs as root"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        for (name, _) in crate::flow::preflight::NAMES {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }
}
