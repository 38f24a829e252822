//! The parser: cobra's way of finding the subcommand among the arguments, then
//! spf13/pflag's walk over them, then cobra's and kubeadm's argument checks,
//! in the same order kubeadm runs them so the first error is the same one.

use std::ffi::OsString;

use super::command::{KubeMinor, Subcommand};
use super::error::FlagError;
use super::result::{ParsedCommand, SetFlag};
use super::table::{self, allowed_with_config, FlagSet, FlagSpec};
use super::value::{self, FlagValue};

/// Parses the whole argv after `kubeadm` (global flags may come before or
/// after the subcommand) for `sub` with the flag table of 1.`minor`.
pub fn parse(
    sub: Subcommand,
    minor: KubeMinor,
    args: &[OsString],
) -> Result<ParsedCommand, FlagError> {
    parse_with_table(table::all(), sub, minor, args)
}

/// [`parse`] over another flag table (tests use synthetic ones).
pub(super) fn parse_with_table(
    table: &[FlagSpec],
    sub: Subcommand,
    minor: KubeMinor,
    args: &[OsString],
) -> Result<ParsedCommand, FlagError> {
    let args = args
        .iter()
        .map(|a| {
            a.to_str()
                .ok_or_else(|| FlagError::NotUtf8(a.to_string_lossy().into_owned()))
        })
        .collect::<Result<Vec<&str>, _>>()?;
    let root = FlagSet::new(table, None, minor);
    let own = FlagSet::new(table, Some(sub), minor);

    // cobra `Find`: the first non-flag word picks the subcommand.
    match strip_flags(&args, &root).first() {
        None => {
            // kubeadm would run the root command: parse errors first, else help.
            walk(&root, &args)?;
            return Err(FlagError::MissingSubcommand(sub));
        }
        Some(word) if *word != sub.name() => {
            return Err(FlagError::WrongSubcommand {
                expected: sub,
                found: (*word).to_owned(),
            })
        }
        Some(_) => {}
    }
    let args = args_minus_first(&args, sub.name());
    if strip_flags(&args, &own).first() == Some(&"phase") {
        return Err(FlagError::PhaseSubcommand(sub));
    }

    let walked = walk(&own, &args)?;
    let help_requested = walked
        .flags
        .iter()
        .any(|f| f.name == "help" && f.value == FlagValue::Bool(true));
    let parsed = ParsedCommand {
        subcommand: sub,
        minor,
        flags: walked.flags,
        positionals: walked.positionals,
        warnings: walked.warnings,
        help_requested,
    };
    if help_requested {
        // cobra shows help before validating arguments; kubeadm's RunE never runs.
        return Ok(parsed);
    }
    check_positionals(&parsed)?;
    check_config_mix(&parsed)?;
    Ok(parsed)
}

/// cobra's `stripFlags`: the non-flag words of `args`, skipping the value of
/// `--flag value` / `-f value` unless the flag is known to need none. An
/// unknown `--flag` is assumed to take the next word (cobra does the same).
fn strip_flags<'a>(args: &[&'a str], set: &FlagSet) -> Vec<&'a str> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = args[i];
        i += 1;
        if s == "--" {
            break;
        }
        let long_takes_value = s.starts_with("--")
            && !s.contains('=')
            && set
                .lookup(&s[2..])
                .is_none_or(|f| f.kind.no_opt_default().is_none());
        let short_takes_value = s.starts_with('-')
            && !s.contains('=')
            && s.len() == 2
            && set
                .lookup_short(s.as_bytes()[1])
                .is_none_or(|f| f.kind.no_opt_default().is_none());
        if long_takes_value || short_takes_value {
            if args.len() - i == 0 {
                break;
            }
            i += 1;
        } else if !s.is_empty() && !s.starts_with('-') {
            words.push(s);
        }
    }
    words
}

/// cobra's `argsMinusFirstX`: drop the first argument equal to `x`.
fn args_minus_first<'a>(args: &[&'a str], x: &str) -> Vec<&'a str> {
    let mut out = args.to_vec();
    if let Some(i) = out.iter().position(|a| *a == x) {
        out.remove(i);
    }
    out
}

/// What pflag's walk produced.
#[derive(Default)]
struct Walked {
    flags: Vec<SetFlag>,
    positionals: Vec<String>,
    warnings: Vec<String>,
}

impl Walked {
    /// pflag `FlagSet.Set`: convert, record (first-set order), warn if deprecated.
    fn set(&mut self, spec: &FlagSpec, raw: &str) -> Result<(), FlagError> {
        let pos = self.flags.iter().position(|f| f.name == spec.name);
        let current = pos.map(|i| &self.flags[i].value);
        let value =
            value::set(spec.kind, current, raw).map_err(|reason| FlagError::InvalidArgument {
                value: raw.to_owned(),
                flag: match spec.shorthand {
                    Some(c) => format!("-{}, --{}", c as char, spec.name),
                    None => format!("--{}", spec.name),
                },
                reason,
            })?;
        match pos {
            Some(i) => self.flags[i].value = value,
            None => self.flags.push(SetFlag {
                name: spec.name,
                value,
            }),
        }
        if let Some(msg) = spec.deprecated {
            self.warnings
                .push(format!("Flag --{} has been deprecated, {msg}", spec.name));
        }
        Ok(())
    }
}

/// pflag `FlagSet.parseArgs` (interspersed flags and arguments).
fn walk(set: &FlagSet, args: &[&str]) -> Result<Walked, FlagError> {
    let mut out = Walked::default();
    let mut i = 0;
    while i < args.len() {
        let s = args[i];
        i += 1;
        if s.len() < 2 || !s.starts_with('-') {
            out.positionals.push(s.to_owned());
            continue;
        }
        if s == "--" {
            out.positionals
                .extend(args[i..].iter().map(|a| (*a).to_owned()));
            break;
        }
        let rest = &args[i..];
        let consumed = if s.starts_with("--") {
            long_arg(set, s, rest, &mut out)?
        } else {
            short_arg(set, s, rest, &mut out)?
        };
        i += consumed;
    }
    Ok(out)
}

/// pflag `parseLongArg`; returns how many following arguments it consumed.
fn long_arg(set: &FlagSet, s: &str, rest: &[&str], out: &mut Walked) -> Result<usize, FlagError> {
    let body = &s[2..];
    if body.starts_with('-') || body.starts_with('=') {
        return Err(FlagError::BadSyntax(s.to_owned()));
    }
    let (name, inline) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    let spec = *set
        .lookup(name)
        .ok_or_else(|| FlagError::UnknownFlag(name.to_owned()))?;
    let (value, consumed) = match (inline, spec.kind.no_opt_default()) {
        (Some(v), _) => (v, 0),
        (None, Some(d)) => (d, 0),
        (None, None) => match rest.first() {
            Some(v) => (*v, 1),
            None => return Err(FlagError::NeedsArgument(s.to_owned())),
        },
    };
    out.set(&spec, value)?;
    Ok(consumed)
}

/// pflag `parseShortArg`: a group of shorthands (`-hv5`); returns how many
/// following arguments it consumed.
fn short_arg(set: &FlagSet, s: &str, rest: &[&str], out: &mut Walked) -> Result<usize, FlagError> {
    let mut group = &s[1..];
    let mut consumed = 0;
    while !group.is_empty() {
        if group.starts_with("test.") {
            // pflag skips `-test.*` (Go test flags) silently; kubeadm ignores them too.
            out.warnings
                .push(format!("ignoring -{group}, as kubeadm's flag parser does"));
            break;
        }
        let c = group.as_bytes()[0];
        let Some(spec) = set.lookup_short(c).copied() else {
            return Err(FlagError::UnknownShorthand {
                shorthand: char::from(c),
                group: group.to_owned(),
            });
        };
        // `c` is a known (ASCII) shorthand, so slicing after it is safe.
        let after = &group[1..];
        let value;
        if after.len() > 1 && after.starts_with('=') {
            value = &after[1..];
            group = "";
        } else if let Some(d) = spec.kind.no_opt_default() {
            value = d;
            group = after;
        } else if !after.is_empty() {
            value = after;
            group = "";
        } else if let Some(v) = rest.first() {
            value = v;
            consumed = 1;
            group = "";
        } else {
            return Err(FlagError::NeedsArgumentShort {
                shorthand: char::from(c),
                group: group.to_owned(),
            });
        }
        out.set(&spec, value)?;
    }
    Ok(consumed)
}

/// cobra's `Args` validators: init is `NoArgs`, join `MaximumNArgs(1)`.
fn check_positionals(parsed: &ParsedCommand) -> Result<(), FlagError> {
    let n = parsed.positionals.len();
    match parsed.subcommand {
        Subcommand::Init if n > 0 => Err(FlagError::UnknownCommand {
            arg: parsed.positionals[0].clone(),
            command_path: "kubeadm init".into(),
        }),
        Subcommand::Join if n > 1 => Err(FlagError::TooManyArgs {
            max: 1,
            received: n,
        }),
        _ => Ok(()),
    }
}

/// kubeadm's `ValidateMixedArguments`: with `--config`, only allowed flags;
/// offenders listed in pflag's `Visit` order (sorted by name).
fn check_config_mix(parsed: &ParsedCommand) -> Result<(), FlagError> {
    if !parsed.is_set("config") {
        return Ok(());
    }
    let mut bad: Vec<String> = parsed
        .flags
        .iter()
        .filter(|f| !allowed_with_config(f.name, parsed.minor))
        .map(|f| f.name.to_owned())
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort();
    Err(FlagError::ConfigMix(bad))
}
