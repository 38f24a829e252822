//! A host for running `u7s kubeadm init|join|reset` for real, as root, on a
//! tree under `U7S_ROOT` with the real rootlesskit namespaces of u7s-admin:
//! the tree's directories are 0755 (a child dropped to u7s-admin must reach
//! it), and stand-ins replace kubeadm, systemctl and the node tools.
//!
//! The stand-in kubeadm writes what kubeadm writes inside the namespaces (as
//! u7s-admin), then runs `$U7S_TEST_RECORDS/after-kubeadm.sh` if the test
//! put one there: what a compromised u7s-admin would do next.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::hosttree::*;
use super::*;

const KUBEADM: &str = r#"#!/bin/sh
[ "$1" = version ] && { echo v1.30.5; exit 0; }
[ "$1 $2 $3" = "config images list" ] && { echo registry.altlinux.org/k8s-p10/pause:3.9; exit 0; }
case "$1" in
init|join)
    config="$3"
    [ -r "$U7S_ROOT$config" ] || { echo "cannot read $config" >&2; exit 9; }
    k="$U7S_ROOT/etc/kubernetes"
    mkdir -p "$k/pki/etcd" "$k/manifests" || exit 7
    echo cert > "$k/pki/ca.crt"; echo key > "$k/pki/ca.key"; chmod 600 "$k/pki/ca.key"
    printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: u7s\n  cluster: {server: "https://10.10.0.5:6443"}\nusers:\n- name: kubernetes-admin\n  user: {client-certificate-data: QQ==}\ncontexts: []\n' > "$k/admin.conf"
    chmod 600 "$k/admin.conf"
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - name: kube-apiserver\n    command:\n    - kube-apiserver\n' > "$k/manifests/kube-apiserver.yaml"
    [ -f "$U7S_TEST_RECORDS/after-kubeadm.sh" ] && sh "$U7S_TEST_RECORDS/after-kubeadm.sh"
    ;;
esac
exit 0
"#;

const SYSTEMCTL: &str = r#"#!/bin/sh
case "$*" in
*"start u7s.target"*)
    mkdir -p "$U7S_ROOT/run/user/$U7S_TEST_UID/usernetes/crio"
    : > "$U7S_ROOT/run/user/$U7S_TEST_UID/usernetes/crio/crio.sock"
    mkdir -p "$U7S_ROOT/run/crio"
    ln -sfn "../user/$U7S_TEST_UID/usernetes/crio/crio.sock" "$U7S_ROOT/run/crio/crio.sock" ;;
esac
exit 0
"#;

/// The node tools the flows' tests replace with [`RECORDER`].
pub const RECORDED_TOOLS: [&str; 5] = ["kubectl", "kubelet", "crio", "crun", "conmon"];

/// A stand-in that appends its arguments to `$U7S_TEST_RECORDS/<name>`.
pub const RECORDER: &str =
    "#!/bin/sh\necho \"$*\" >> \"$U7S_TEST_RECORDS/$(basename \"$0\")\"\nexit 0\n";

/// Points `cmd` at the [`RECORDED_TOOLS`] in `dir` (`U7S_KUBECTL`, ...).
pub fn use_recorded_tools(cmd: &mut Command, dir: &Path) {
    for name in RECORDED_TOOLS {
        cmd.env(format!("U7S_{}", name.to_uppercase()), dir.join(name));
    }
}

/// The host the flows' tests start from: a p10 host with eth0 10.10.0.5/24,
/// u7s-admin (this machine's uid), lingering, delegation, /dev/net/tun,
/// `subids` as /etc/subuid and /etc/subgid, nothing of a cluster yet, and
/// its directories 0755 (a child dropped to u7s-admin must reach it).
pub fn host_tree(tag: &str, subids: &str) -> HostTree {
    let tree = HostTree::new(tag, OS_P10, HOSTS_PLAIN);
    let a = admin();
    tree.write(
        "etc/passwd",
        &format!(
            "root:x:0:0:root:/root:/bin/bash\nu7s-admin:x:{}:{}:usernet user account:/var/lib/u7s-admin:/bin/bash\n",
            a.uid, a.gid
        ),
    );
    for (path, text) in [
        ("proc/sys/user/max_user_namespaces", "1000\n"),
        ("proc/sys/net/ipv4/ip_forward", "0\n"),
        ("proc/net/tcp", "  sl  local_address rem_address   st\n"),
        ("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n"),
        (
            "etc/systemd/system/user@.service.d/delegate.conf",
            "[Service]\nDelegate=yes\n",
        ),
        ("var/lib/systemd/linger/u7s-admin", ""),
        ("dev/net/tun", ""),
        ("etc/subuid", subids),
        ("etc/subgid", subids),
    ] {
        tree.write(path, text);
    }
    std::fs::set_permissions(
        tree.root.join("dev/net/tun"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    for dir in ["", "root", "var", "var/lib", "etc"] {
        std::fs::create_dir_all(tree.root.join(dir)).unwrap();
        std::fs::set_permissions(tree.root.join(dir), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    tree
}

/// skopeo and crictl: the kubeadm model called by those names, with a
/// registry that has the pause image and the CNI images.
fn registry_tools(stubs: &Tree, root: &Path, records: &Path) {
    let dir = stubs.root.join("stubs");
    let model = dir.join("kubeadm-model");
    std::fs::copy(env!("CARGO_BIN_EXE_kubeadm-model"), &model).unwrap();
    std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o755)).unwrap();
    for tool in ["skopeo", "crictl"] {
        std::os::unix::fs::symlink("kubeadm-model", dir.join(tool)).unwrap();
    }
    let registry = dir.join("registry");
    std::fs::write(
        &registry,
        format!("*/pause 3.9\n{}", super::kubeadm_model::CNI_IMAGES),
    )
    .unwrap();
    std::fs::write(
        dir.join("kubeadm-model.conf"),
        format!(
            "version=v1.30.5\nroot={}\nrecords={}\nregistry={}\n",
            root.display(),
            records.display(),
            registry.display()
        ),
    )
    .unwrap();
}

pub struct FlowHost {
    pub tree: HostTree,
    pub records: PathBuf,
    pub stubs: Tree,
}

impl FlowHost {
    /// A p10 host with eth0 10.10.0.5/24, u7s-admin (this machine's uid),
    /// lingering, delegation, /dev/net/tun, and nothing of a cluster yet.
    pub fn new(tag: &str) -> FlowHost {
        let tree = host_tree(tag, "");
        let stubs = Tree::new(&format!("stubs-{tag}"));
        stubs.script("kubeadm", KUBEADM);
        stubs.script("systemctl", SYSTEMCTL);
        for name in RECORDED_TOOLS {
            stubs.script(name, RECORDER);
        }
        let records = stubs.open_dir("records");
        registry_tools(&stubs, &tree.root, &records);
        FlowHost {
            tree,
            records,
            stubs,
        }
    }

    /// `u7s kubeadm ARGS` as root against this host.
    pub fn kubeadm(&self, args: &[&str]) -> Command {
        let mut cmd = u7s_command(&["kubeadm"]);
        cmd.args(args);
        let stub = |name: &str| self.stubs.root.join("stubs").join(name);
        cmd.env("U7S_ROOT", &self.tree.root)
            .env("U7S_KUBEVERSION", "v1.30.5")
            .env("U7S_ROOTLESSKIT_STATE_DIR", &rootlesskit().state_dir)
            .env("U7S_TEST_RECORDS", &self.records)
            .env("U7S_TEST_UID", admin().uid.to_string())
            .env("U7S_KUBEADM", stub("kubeadm"))
            .env("U7S_SYSTEMCTL", stub("systemctl"))
            .env("U7S_SKOPEO", stub("skopeo"))
            .env("U7S_CRICTL", stub("crictl"))
            .env("LC_ALL", "C");
        use_recorded_tools(&mut cmd, &self.stubs.root.join("stubs"));
        cmd
    }

    /// A host path in the tree.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.tree.root.join(abs.trim_start_matches('/'))
    }

    /// What a compromised u7s-admin does right after kubeadm (inside the
    /// namespaces, `$U7S_ROOT` set): a shell script.
    pub fn after_kubeadm(&self, script: &str) {
        std::fs::write(self.records.join("after-kubeadm.sh"), script).unwrap();
    }

    /// A directory of u7s-admin's in the tree, as u7s-admin would have it
    /// (its home, or /etc/kubernetes after an earlier init).
    pub fn admin_dir(&self, abs: &str, mode: u32) -> PathBuf {
        let path = self.path(abs);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let a = admin();
        nix::unistd::chown(
            &path,
            Some(nix::unistd::Uid::from_raw(a.uid)),
            Some(nix::unistd::Gid::from_raw(a.gid)),
        )
        .unwrap();
        path
    }
}

/// A root-owned directory outside the tree, standing for a directory of
/// the real host (/etc, /etc/bash_completion.d) that an attack points a
/// link at: root must never write into it, chown or chmod it.
pub fn victim_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("u7s-victim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("shadow"), "root:$6$secret:19000::::::\n").unwrap();
    std::fs::set_permissions(dir.join("shadow"), std::fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

/// Whether `path` is a symbolic link.
pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}
