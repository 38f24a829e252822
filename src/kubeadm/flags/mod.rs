//! kubeadm-compatible (spf13/pflag) parsing of `kubeadm init` and `kubeadm join`.
