//! The kubeadm configuration documents u7s generates, as typed serde structs.
