//! `rootlesskit [-v N] [--] [CMD [ARGS...]]`: the rootlesskit service role,
//! run as u7s-admin by its systemd user unit. See `stack::rootlesskit`.

use std::ffi::OsString;

use super::leading;
use crate::error::{self, Error};
use crate::stack::rootlesskit::{self, CHILD_MARKER};

pub fn main(args: Vec<OsString>) -> i32 {
    let (verbosity, help, cmd) = match leading::parse(args, leading::Unknown::Refuse) {
        Ok(l) => (l.verbosity, l.help, l.command),
        Err(msg) => {
            crate::log::init("rootlesskit", 0);
            return Error::usage(msg).report();
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
        // The usage lives in crate::docs, the source of the man page too.
        print!("{}", crate::docs::long_help("rootlesskit"));
        return 0;
    }
    error::exit(if child {
        rootlesskit::run_child(cmd)
    } else {
        rootlesskit::run_parent(verbosity, &cmd)
    })
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
