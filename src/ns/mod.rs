//! The rootlesskit namespaces of u7s-admin: is the child ready, is it really
//! u7s-admin's, and entering it.
//!
//! - `state`: the state dir and its readiness files, read as data;
//! - `nofollow`: opening paths u7s-admin controls without following links;
//! - `env`: what of root's environment a program inside gets;
//! - `enter`: the proof that a pid is u7s-admin's rootlesskit child, and the join;
//! - `sys`: the system calls of `enter`, real or recorded.

pub mod enter;
pub mod env;
pub mod nofollow;
pub mod state;
pub mod sys;
