//! Where the cluster's files are on the host (all relative to the root
//! prefix). u7s-admin's own files are in [`super::admin`].

pub const ENV_FILE: &str = "/etc/podsec/u7s/config/env";
/// How far init/join got: `in-progress <role>` or `done <role>`.
pub const STATE_FILE: &str = "/etc/podsec/u7s/config/state";
pub const SYSCTL_IP_FORWARD: &str = "/etc/sysctl.d/90-u7s-ipforward.conf";
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
pub const PKI_DIR: &str = "/etc/kubernetes/pki";
pub const FLANNEL_MANIFEST: &str = "/etc/kubernetes/manifests/kube-flannel.yml";
pub const CALICO_MANIFEST: &str = "/etc/kubernetes/calico.yaml";
pub const AUDIT_POLICY: &str = "/etc/kubernetes/audit/policy.yaml";
pub const APISERVER_MANIFEST: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
pub const CNI_NET_DIR: &str = "/etc/cni/net.d";
pub const ETCD_DATA_DIR: &str = "/var/lib/podsec/u7s/etcd";
pub const ETCD_MEMBER_DIR: &str = "/var/lib/podsec/u7s/etcd/member";
pub const SUBUID: &str = "/etc/subuid";
pub const SUBGID: &str = "/etc/subgid";
pub const ROOT_KUBECONFIG: &str = "/root/.kube/config";
pub const SERVICE: &str = "u7s.service";

/// The host directories u7s-admin owns (besides its home and
/// `/run/user/<uid>`), because something inside its namespaces writes
/// there through the copy-up of /etc and /var/lib, where the host's
/// directory is what is written:
/// - /etc/kubernetes: kubeadm (uid 0 inside) writes the kubeconfigs, the
///   PKI and the static pod manifests;
/// - /var/lib/podsec/u7s/etcd: etcd's data (a hostPath of its pod);
/// - /etc/cni/net.d: the CNI plugin's installer (flannel's and calico's
///   install-cni) writes its configuration (a hostPath).
///
/// Everything beneath them is u7s-admin's to change, so root reaches it
/// only as u7s-admin. Their subdirectories (manifests, pki) are made by
/// u7s-admin's own processes, not given by root.
pub const ADMIN_OWNED: [&str; 3] = [KUBERNETES_DIR, ETCD_DATA_DIR, CNI_NET_DIR];
