//! `rootlesskit [-v N] [--] [CMD [ARGS...]]`: the rootlesskit service role,
//! run as u7s-admin by its systemd user unit. See `stack::rootlesskit`.

use std::ffi::OsString;

use super::leading;
use crate::stack::rootlesskit::{self, CHILD_MARKER};

const HELP: &str = "\
Usage: u7s rootlesskit [-v N] [--] [COMMAND [ARGS...]]

Runs the real rootlesskit with the podsec flags and sets up its namespaces
for the rootless Kubernetes stack: bind mounts, the CNI plugins on
/opt/cni/bin, the node role's port forwards and the recorded NodePorts,
tap0's address, and the readiness file; then runs COMMAND inside (default:
wait for a signal) and exits with its status. Run as u7s-admin.

Environment:
  U7S_ENV_FILE               env file (default $XDG_CONFIG_HOME/usernetes/env)
  U7S_ROOTLESSKIT_STATE_DIR  state dir (default $XDG_RUNTIME_DIR/usernetes/rootlesskit)
  U7S_ROOTLESSKIT            the real rootlesskit (default /usr/bin/rootlesskit)
  U7S_ROOTLESSCTL            the real rootlessctl (default /usr/bin/rootlessctl)
  U7S_IP                     iproute2's ip (default /sbin/ip)
  U7S_CNI_BIN_DIR            CNI plugins bound on /opt/cni/bin (default /usr/libexec/cni)
  U7S_DEBUG=1                debug messages on stderr
";

pub fn main(args: Vec<OsString>) -> i32 {
    let (verbosity, help, cmd) = match leading::parse(args, leading::Unknown::Refuse) {
        Ok(l) => (l.verbosity, l.help, l.command),
        Err(msg) => {
            crate::log::init("rootlesskit", 0);
            tracing::error!("{msg}");
            return 2;
        }
    };
    let child = std::env::var_os(CHILD_MARKER).is_some_and(|v| v == "1");
    crate::log::init(
        if child {
            "rootlesskit child"
        } else {
            "rootlesskit"
        },
        verbosity,
    );
    if help {
        print!("{HELP}");
        return 0;
    }
    if child {
        rootlesskit::run_child(cmd)
    } else {
        rootlesskit::run_parent(verbosity, &cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn parse(args: Vec<OsString>) -> Result<(u8, bool, Vec<OsString>), String> {
        leading::parse(args, leading::Unknown::Refuse).map(|l| (l.verbosity, l.help, l.command))
    }

    #[test]
    fn options_then_the_command() {
        assert_eq!(parse(os(&[])).unwrap(), (0, false, os(&[])));
        assert_eq!(
            parse(os(&["--", "crio", "-v"])).unwrap(),
            (0, false, os(&["crio", "-v"]))
        );
        assert_eq!(
            parse(os(&["-v", "3", "sh", "-c", "exit 5"])).unwrap(),
            (3, false, os(&["sh", "-c", "exit 5"]))
        );
        assert_eq!(
            parse(os(&["-v2", "--", "--x"])).unwrap(),
            (2, false, os(&["--x"]))
        );
        assert!(parse(os(&["--help"])).unwrap().1);
        assert!(parse(os(&["--net=host"])).is_err());
        assert!(parse(os(&["-v"])).is_err());
    }
}
