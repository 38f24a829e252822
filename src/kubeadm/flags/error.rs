//! Parse errors, rendered with kubeadm's own texts (pflag, cobra and
//! kubeadm's validation), so that u7s fails exactly as kubeadm would.

use std::fmt;

use super::command::Subcommand;
use super::golang::{quote, quote_rune};

/// Why a command line was refused. `Display` gives kubeadm's message; the
/// caller prints [`FlagError::kubeadm_message`] and exits with
/// [`FlagError::exit_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagError {
    /// `unknown flag: --foo` (the name as typed, without `=value`).
    UnknownFlag(String),
    /// `unknown shorthand flag: 'x' in -xyz`.
    UnknownShorthand { shorthand: char, group: String },
    /// `flag needs an argument: --config` (the argument as typed).
    NeedsArgument(String),
    /// `flag needs an argument: 'v' in -v`.
    NeedsArgumentShort { shorthand: char, group: String },
    /// `bad flag syntax: ---dry-run`.
    BadSyntax(String),
    /// `invalid argument "7000x" for "--apiserver-bind-port" flag: <reason>`;
    /// `flag` is `--name`, or `-v, --v` for flags with a shorthand.
    InvalidArgument {
        value: String,
        flag: String,
        reason: String,
    },
    /// `unknown command "false" for "kubeadm init"` (init takes no arguments).
    UnknownCommand { arg: String, command_path: String },
    /// `accepts at most 1 arg(s), received 2` (join).
    TooManyArgs { max: usize, received: usize },
    /// `can not mix '--config' with arguments [a b]`, names sorted as pflag visits them.
    ConfigMix(Vec<String>),
    /// u7s's own: an argument is not UTF-8 (it could not go into YAML anyway).
    NotUtf8(String),
    /// u7s's own: the command line names no subcommand (routing error).
    MissingSubcommand(Subcommand),
    /// u7s's own: the command line names another subcommand (routing error).
    WrongSubcommand { expected: Subcommand, found: String },
    /// u7s's own: `kubeadm init phase ...` is not parsed here (routing error).
    PhaseSubcommand(Subcommand),
}

impl FlagError {
    /// kubeadm's `CheckErr` output for this error (below `--v=5`).
    pub fn kubeadm_message(&self) -> String {
        format!("{self}\nTo see the stack trace of this error execute with --v=5 or higher")
    }

    /// kubeadm exits 1 for every parse and argument error.
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// `s` as typed, except that control characters are escaped (`\n`,
/// `\u{1b}`): kubeadm would print them raw, and an error stays one line.
fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagError::UnknownFlag(name) => write!(f, "unknown flag: --{}", shown(name)),
            FlagError::UnknownShorthand { shorthand, group } => write!(
                f,
                "unknown shorthand flag: {} in -{}",
                quote_rune(*shorthand),
                shown(group)
            ),
            FlagError::NeedsArgument(arg) => write!(f, "flag needs an argument: {}", shown(arg)),
            FlagError::NeedsArgumentShort { shorthand, group } => write!(
                f,
                "flag needs an argument: {} in -{}",
                quote_rune(*shorthand),
                shown(group)
            ),
            FlagError::BadSyntax(arg) => write!(f, "bad flag syntax: {}", shown(arg)),
            FlagError::InvalidArgument {
                value,
                flag,
                reason,
            } => write!(
                f,
                "invalid argument {} for {} flag: {reason}",
                quote(value),
                quote(flag)
            ),
            FlagError::UnknownCommand { arg, command_path } => write!(
                f,
                "unknown command {} for {}",
                quote(arg),
                quote(command_path)
            ),
            FlagError::TooManyArgs { max, received } => {
                write!(f, "accepts at most {max} arg(s), received {received}")
            }
            FlagError::ConfigMix(names) => write!(
                f,
                "can not mix '--config' with arguments [{}]",
                shown(&names.join(" "))
            ),
            FlagError::NotUtf8(arg) => {
                write!(f, "argument {} is not valid UTF-8", quote(arg))
            }
            FlagError::MissingSubcommand(sub) => {
                write!(
                    f,
                    "u7s: no \"kubeadm {sub}\" subcommand on the command line"
                )
            }
            FlagError::WrongSubcommand { expected, found } => write!(
                f,
                "u7s: expected \"kubeadm {expected}\", the command line names {}",
                quote(found)
            ),
            FlagError::PhaseSubcommand(sub) => write!(
                f,
                "u7s: \"kubeadm {sub} phase\" is not parsed by u7s; run it through the real kubeadm"
            ),
        }
    }
}

impl std::error::Error for FlagError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(
            FlagError::UnknownFlag("foo".into()).to_string(),
            "unknown flag: --foo"
        );
        assert_eq!(
            FlagError::UnknownShorthand {
                shorthand: 'x',
                group: "x".into()
            }
            .to_string(),
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            FlagError::ConfigMix(vec!["a".into(), "b".into()]).to_string(),
            "can not mix '--config' with arguments [a b]"
        );
        // Control characters are escaped, so the error stays one line.
        assert_eq!(
            FlagError::UnknownFlag("config\n".into()).to_string(),
            "unknown flag: --config\\n"
        );
        assert_eq!(
            FlagError::BadSyntax("---dry-run".into()).kubeadm_message(),
            "bad flag syntax: ---dry-run\nTo see the stack trace of this error execute with --v=5 or higher"
        );
    }
}
