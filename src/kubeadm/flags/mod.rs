//! kubeadm-compatible (spf13/pflag) parsing of `kubeadm init` and `kubeadm join`.
//!
//! u7s runs init and join itself, so it must read their command line exactly
//! as kubeadm 1.26..=1.32 would: same flags per version, same syntax, same
//! error texts, and nothing silently dropped. The result says, per flag, where
//! its value goes (see [`Disposition`]).
//!
//! Layout (one job per file):
//! - `command`: [`Subcommand`] and [`KubeMinor`];
//! - `table` + generated `table_data` (`gen_table.py`): the flags per version;
//! - `golang`, `csv`: Go's number/duration/CSV parsing and quoting, for exact
//!   values and error texts;
//! - `value`: typed values and pflag's `Value.Set` per type;
//! - `parse`: cobra's subcommand lookup, pflag's walk, argument checks;
//! - `result`: [`ParsedCommand`]; `error`: [`FlagError`];
//! - `disposition`: passthrough / configuration / settings / refused.

mod command;
mod csv;
mod disposition;
mod error;
mod golang;
mod parse;
mod result;
mod table;
mod table_data;

#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod tests;

pub use command::{KubeMinor, Subcommand};
pub use disposition::{disposition, Disposition, CRI_SOCKET, KLOG, ROOTFS, UNMAPPED};
pub use error::FlagError;
pub use parse::parse;
pub use result::{ParsedCommand, SetFlag};
pub use table::Kind;
pub use value::FlagValue;

mod value;
