//! `nsenter_u7s [-v N] [--] [CMD [ARGS...]]`: run CMD (default `$SHELL`) inside
//! the u7s-admin rootlesskit namespaces.

use std::ffi::OsString;

use super::run_inside;
use crate::exec::Invocation;
use crate::users::AdminUser;

/// Splits our own options from the command. Only leading options are ours.
fn parse(args: Vec<OsString>) -> Result<(u8, bool, Vec<OsString>), String> {
    let mut verbosity = 0;
    let mut rest = args.into_iter().peekable();
    while let Some(arg) = rest.peek().map(|a| a.to_string_lossy().into_owned()) {
        match arg.as_str() {
            "-h" | "--help" => return Ok((verbosity, true, Vec::new())),
            "--" => {
                rest.next();
                break;
            }
            "-v" | "--v" => {
                rest.next();
                let value = rest
                    .next()
                    .ok_or_else(|| crate::tr!("flag-needs-argument-v"))?;
                verbosity = parse_level(&value.to_string_lossy())?;
            }
            other if other.starts_with("-v") || other.starts_with("--v=") => {
                let value = other.trim_start_matches("--v=").trim_start_matches("-v");
                verbosity = parse_level(value.trim_start_matches('='))?;
                rest.next();
            }
            _ => break,
        }
    }
    Ok((verbosity, false, rest.collect()))
}

fn parse_level(value: &str) -> Result<u8, String> {
    value
        .parse::<u8>()
        .map(|v| v.min(9))
        .map_err(|_| crate::tr!("bad-verbosity", format!("{value:?}")))
}

fn default_shell() -> OsString {
    if let Some(shell) = std::env::var_os("SHELL").filter(|s| !s.is_empty()) {
        return shell;
    }
    AdminUser::lookup()
        .map(|a| a.shell.into_os_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into())
}

pub fn main(args: Vec<OsString>) -> i32 {
    let (verbosity, help, mut command) = match parse(args) {
        Ok(parsed) => parsed,
        Err(msg) => {
            crate::log::init("nsenter_u7s", 0);
            tracing::error!("{msg}");
            return 2;
        }
    };
    crate::log::init("nsenter_u7s", verbosity);
    if help {
        // The usage lives in crate::docs, the source of the man page too.
        print!("{}", crate::docs::long_help("nsenter_u7s"));
        return 0;
    }
    if command.is_empty() {
        command.push(default_shell());
    }
    let program = command.remove(0);
    run_inside(Invocation::new(program, command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn leading_options_are_ours_the_rest_is_the_command() {
        assert_eq!(
            parse(os(&["id", "-u"])).unwrap(),
            (0, false, os(&["id", "-u"]))
        );
        assert_eq!(
            parse(os(&["-v", "3", "ls", "-v"])).unwrap(),
            (3, false, os(&["ls", "-v"]))
        );
        assert_eq!(
            parse(os(&["-v5", "--", "-v"])).unwrap(),
            (5, false, os(&["-v"]))
        );
        assert_eq!(parse(os(&["--v=2"])).unwrap(), (2, false, os(&[])));
        assert!(parse(os(&["--help"])).unwrap().1);
        assert!(parse(os(&["-v"])).is_err());
        assert!(parse(os(&["-v", "x", "ls"])).is_err());
    }
}
