//! A host for running `u7s kubeadm init|join|reset` for real, as root, on a
//! tree under `U7S_ROOT` with the real rootlesskit namespaces of u7s-admin:
//! the tree's directories are 0755 (a child dropped to u7s-admin must reach
//! it), the kubeadm model (testbin/kubeadm_model, also as skopeo and crictl)
//! replaces kubeadm, and stand-ins replace systemctl and the node tools.
//!
//! The model writes what kubeadm writes inside the namespaces (as
//! u7s-admin) and refuses what kubeadm refuses; [`FlowHost::after_kubeadm`]
//! has it run a script right after a successful init or join: what a
//! compromised u7s-admin would do next.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::hosttree::*;
use super::kubeadm_model::{self, JoinSecrets, KubeadmModel};
use super::*;

/// The release a [`FlowHost::new`] host's kubeadm models (the flows'
/// version tests use [`FlowHost::of_release`] with each of
/// `kubeadm_model::VERSIONS`).
pub const RELEASE: &str = "v1.30.5";

/// systemctl: records; starting u7s.target leaves what the stack's start
/// leaves: crio's socket, and what the child-side setup makes inside (the
/// /run/crio/crio.sock link, and /var/lib/kubelet bound from u7s-admin's
/// data dir: here a link to it).
pub const SYSTEMCTL: &str = r#"#!/bin/sh
echo "$*" >> "$U7S_TEST_RECORDS/systemctl"
case "$*" in
*"start u7s.target"*)
    r="$U7S_ROOT"
    mkdir -p "$r/run/user/$U7S_TEST_UID/usernetes/crio" "$r/run/crio"
    : > "$r/run/user/$U7S_TEST_UID/usernetes/crio/crio.sock"
    ln -sfn "../user/$U7S_TEST_UID/usernetes/crio/crio.sock" "$r/run/crio/crio.sock"
    for p in .local .local/share .local/share/usernetes .local/share/usernetes/_var_lib_kubelet; do
        d="$r/var/lib/u7s-admin/$p"
        [ -d "$d" ] || { mkdir "$d" && chown "$U7S_TEST_UID:$U7S_TEST_GID" "$d"; }
    done
    [ -L "$r/var/lib/kubelet" ] || ln -s u7s-admin/.local/share/usernetes/_var_lib_kubelet "$r/var/lib/kubelet" ;;
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

pub struct FlowHost {
    pub tree: HostTree,
    pub records: PathBuf,
    pub stubs: Tree,
    pub model: KubeadmModel,
}

impl FlowHost {
    /// A p10 host with eth0 10.10.0.5/24, u7s-admin (this machine's uid),
    /// lingering, delegation, /dev/net/tun, nothing of a cluster yet, and
    /// kubeadm of [`RELEASE`].
    pub fn new(tag: &str) -> FlowHost {
        FlowHost::of_release(tag, RELEASE, "")
    }

    /// The host of [`host_tree`] (`subids` as /etc/subuid and /etc/subgid)
    /// with the kubeadm model of `version`, recording into `records`, its
    /// cluster (what the API server would hold) in the stubs' `cluster`.
    pub fn of_release(tag: &str, version: &str, subids: &str) -> FlowHost {
        let tree = host_tree(tag, subids);
        let stubs = Tree::new(&format!("stubs-{tag}"));
        stubs.script("systemctl", SYSTEMCTL);
        for name in RECORDED_TOOLS {
            stubs.script(name, RECORDER);
        }
        let records = stubs.open_dir("records");
        let model = KubeadmModel::install(
            &stubs.root.join("stubs"),
            version,
            &tree.root,
            &records,
            &stubs.root.join("cluster"),
        );
        FlowHost {
            tree,
            records,
            stubs,
            model,
        }
    }

    /// The environment that points u7s at this host tree and its stand-ins.
    /// No U7S_KUBEVERSION: u7s asks the model for its version.
    pub fn configure(&self, cmd: &mut Command, rk: &Rootlesskit) {
        without_u7s_env(cmd);
        for (key, _) in std::env::vars() {
            if key.starts_with("KUBEADM_MODEL_") {
                cmd.env_remove(key);
            }
        }
        let a = admin();
        cmd.env("U7S_ROOT", &self.tree.root)
            .env("U7S_ROOTLESSKIT_STATE_DIR", &rk.state_dir)
            .env("U7S_TEST_RECORDS", &self.records)
            .env("U7S_TEST_UID", a.uid.to_string())
            .env("U7S_TEST_GID", a.gid.to_string())
            .env("U7S_KUBEADM", self.model.program())
            .env("U7S_SKOPEO", self.model.dir.join("skopeo"))
            .env("U7S_CRICTL", self.model.dir.join("crictl"))
            .env("U7S_SYSTEMCTL", self.stubs.root.join("stubs/systemctl"));
        use_recorded_tools(cmd, &self.stubs.root.join("stubs"));
    }

    /// `u7s kubeadm ARGS` as root against this host.
    pub fn kubeadm(&self, args: &[&str]) -> Command {
        let mut cmd = u7s_command(&["kubeadm"]);
        cmd.args(args);
        self.configure(&mut cmd, rootlesskit());
        cmd.env("LC_ALL", "C");
        cmd
    }

    /// A host path in the tree.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.tree.root.join(abs.trim_start_matches('/'))
    }

    /// What a compromised u7s-admin does right after kubeadm init or join
    /// succeeded (inside the namespaces, `$U7S_ROOT` set): a shell script,
    /// run by the model (its `after_success` test hook).
    pub fn after_kubeadm(&self, script: &str) {
        let path = self.records.join("after-kubeadm.sh");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        self.model.configure(
            &self.tree.root,
            &[("after_success", path.to_str().unwrap())],
        );
    }

    /// A first master at 10.10.0.9, made with the model alone on another
    /// "host" (the stubs' `master0`) sharing this host's cluster directory:
    /// what its init printed for joining it.
    pub fn seed_cluster(&self) -> JoinSecrets {
        kubeadm_model::seed_cluster(&self.model, &self.stubs.root.join("master0"), "10.10.0.9")
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
