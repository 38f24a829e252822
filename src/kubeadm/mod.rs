//! kubeadm: the command line of `kubeadm init` / `kubeadm join` and the generated
//! kubeadm configuration.

pub mod config;
pub mod flags;
