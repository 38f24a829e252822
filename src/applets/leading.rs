//! The leading options of the applets that run a command after their own
//! options (`nsenter_u7s [-v N] [--] CMD...`, `u7s rootlesskit [-v N] [--] CMD...`):
//! only options before the command are ours, so the command's own options
//! are never mistaken for them.

use std::ffi::OsString;

/// What the leading options said, and the command after them.
#[derive(Debug, PartialEq, Eq)]
pub struct Leading {
    pub verbosity: u8,
    pub help: bool,
    pub command: Vec<OsString>,
}

/// What to do with a leading `-x` that is not ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// It starts the command (nsenter_u7s runs whatever it is given).
    IsCommand,
    /// It is a mistake: the command must come after `--`.
    Refuse,
}

pub fn parse(args: Vec<OsString>, unknown: Unknown) -> Result<Leading, String> {
    let mut verbosity = 0;
    let mut rest = args.into_iter().peekable();
    while let Some(arg) = rest.peek().map(|a| a.to_string_lossy().into_owned()) {
        match arg.as_str() {
            "-h" | "--help" => {
                return Ok(Leading {
                    verbosity,
                    help: true,
                    command: Vec::new(),
                })
            }
            "--" => {
                rest.next();
                break;
            }
            "-v" | "--v" => {
                rest.next();
                let value = rest
                    .next()
                    .ok_or_else(|| crate::tr!("flag-needs-argument-v"))?;
                verbosity = level(&value.to_string_lossy())?;
            }
            other if other.starts_with("-v") || other.starts_with("--v=") => {
                let value = other.trim_start_matches("--v=").trim_start_matches("-v");
                verbosity = level(value.trim_start_matches('='))?;
                rest.next();
            }
            other if other.starts_with('-') && unknown == Unknown::Refuse => {
                return Err(crate::tr!("unknown-option", other))
            }
            _ => break,
        }
    }
    Ok(Leading {
        verbosity,
        help: false,
        command: rest.collect(),
    })
}

fn level(value: &str) -> Result<u8, String> {
    value
        .parse::<u8>()
        .map(|v| v.min(9))
        .map_err(|_| crate::tr!("bad-verbosity", format!("{value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn parsed(args: &[&str], unknown: Unknown) -> (u8, bool, Vec<OsString>) {
        let l = parse(os(args), unknown).unwrap();
        (l.verbosity, l.help, l.command)
    }

    #[test]
    fn leading_options_are_ours_the_rest_is_the_command() {
        let cmd = Unknown::IsCommand;
        assert_eq!(parsed(&["id", "-u"], cmd), (0, false, os(&["id", "-u"])));
        assert_eq!(
            parsed(&["-v", "3", "ls", "-v"], cmd),
            (3, false, os(&["ls", "-v"]))
        );
        assert_eq!(parsed(&["-v5", "--", "-v"], cmd), (5, false, os(&["-v"])));
        assert_eq!(parsed(&["--v=2"], cmd), (2, false, os(&[])));
        assert_eq!(parsed(&["-x", "y"], cmd), (0, false, os(&["-x", "y"])));
        assert!(parsed(&["--help"], cmd).1);
        assert!(parse(os(&["-v"]), cmd).is_err());
        assert!(parse(os(&["-v", "x", "ls"]), cmd).is_err());
    }

    #[test]
    fn unknown_options_can_be_refused() {
        assert!(parse(os(&["-x", "y"]), Unknown::Refuse).is_err());
        assert_eq!(
            parsed(&["--", "-x"], Unknown::Refuse),
            (0, false, os(&["-x"]))
        );
    }
}
