//! The outcome of parsing: what the admin set, typed, in order, with the
//! accessors the init/join flows need.

use super::command::{KubeMinor, Subcommand};
use super::disposition::{disposition, Disposition};
use super::value::FlagValue;

/// A flag the command line set, with its final value (scalars keep the last
/// occurrence, lists collect all of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetFlag {
    pub name: &'static str,
    pub value: FlagValue,
}

/// A successfully parsed `kubeadm init|join` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    pub(super) subcommand: Subcommand,
    pub(super) minor: KubeMinor,
    pub(super) flags: Vec<SetFlag>,
    pub(super) positionals: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) help_requested: bool,
}

impl ParsedCommand {
    pub fn subcommand(&self) -> Subcommand {
        self.subcommand
    }

    /// The Kubernetes minor version whose flag table was used.
    pub fn minor(&self) -> KubeMinor {
        self.minor
    }

    /// Explicitly set flags, in the order pflag first saw them.
    pub fn flags(&self) -> &[SetFlag] {
        &self.flags
    }

    pub fn value(&self, name: &str) -> Option<&FlagValue> {
        self.flags.iter().find(|f| f.name == name).map(|f| &f.value)
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    /// A string flag's value (`None` if unset or not a string flag).
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.value(name)? {
            FlagValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.value(name)? {
            FlagValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.value(name)? {
            FlagValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn uint(&self, name: &str) -> Option<u64> {
        match self.value(name)? {
            FlagValue::Uint(u) => Some(*u),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> Option<&[String]> {
        match self.value(name)? {
            FlagValue::List(l) => Some(l),
            _ => None,
        }
    }

    /// A duration flag as given (Go syntax, already validated).
    pub fn duration(&self, name: &str) -> Option<&str> {
        match self.value(name)? {
            FlagValue::Duration(d) => Some(d),
            _ => None,
        }
    }

    /// Non-flag arguments (join: at most the API server endpoint).
    pub fn positionals(&self) -> &[String] {
        &self.positionals
    }

    /// `kubeadm join HOST:PORT`: the endpoint for bootstrap-token discovery.
    pub fn endpoint(&self) -> Option<&str> {
        match self.subcommand {
            Subcommand::Join => self.positionals.first().map(String::as_str),
            Subcommand::Init => None,
        }
    }

    /// `-v N` (klog level; 0 when unset).
    pub fn verbosity(&self) -> i32 {
        self.int("v").map_or(0, |v| v as i32)
    }

    /// Messages kubeadm would print to stderr while parsing (deprecations).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// `-h`/`--help`: show the real kubeadm's help and exit 0. When true,
    /// positional and `--config` mixing checks were skipped, as cobra does.
    pub fn help_requested(&self) -> bool {
        self.help_requested
    }

    /// `--config FILE`: the admin's base configuration.
    pub fn config_path(&self) -> Option<&str> {
        self.str("config")
    }

    /// What u7s does with `--name` for this command and version.
    pub fn disposition(&self, name: &str) -> Option<Disposition> {
        disposition(self.subcommand, self.minor, name)
    }

    /// Every set flag with its disposition, in command-line order.
    pub fn classified(&self) -> Vec<(&SetFlag, Option<Disposition>)> {
        self.flags
            .iter()
            .map(|f| (f, self.disposition(f.name)))
            .collect()
    }

    /// Set flags u7s refuses, with the reason (the caller reports them).
    pub fn refused(&self) -> Vec<(&'static str, &'static str)> {
        self.flags
            .iter()
            .filter_map(|f| match self.disposition(f.name) {
                Some(Disposition::Refused(why)) => Some((f.name, why)),
                _ => None,
            })
            .collect()
    }

    /// The passthrough flags as argv entries for the real kubeadm, one
    /// `--flag=value` each (lists CSV-joined), in command-line order.
    pub fn passthrough_args(&self) -> Vec<String> {
        self.flags
            .iter()
            .filter(|f| self.disposition(f.name) == Some(Disposition::Passthrough))
            .map(|f| format!("--{}={}", f.name, f.value.render()))
            .collect()
    }
}
