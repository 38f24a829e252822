//! The host side of `kubeadm init` / `kubeadm join`: the steps, as data.
//!
//! A plan is a list of numbered steps, each a list of `Action`s. The same plan is
//! printed by `--dry-run` and carried out by the executor, so what the dry run
//! shows is exactly what a real run does.

pub mod action;
pub mod audit;
pub mod command;
pub mod execute;
pub mod plan;
pub mod preflight;
pub mod reset;
