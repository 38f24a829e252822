//! The rootlesskit namespaces of u7s-admin: is the child ready, and entering it.

pub mod enter;
pub mod state;
