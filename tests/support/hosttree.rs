//! A host as a directory tree for `U7S_ROOT`: /etc/{passwd,hosts,os-release,
//! hostname} and /proc/net/{route,fib_trie} of a machine with eth0
//! 10.10.0.5/24 and its default route through 10.10.0.1.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const HOST_ADDR: &str = "10.10.0.5";

pub const OS_P10: &str = "NAME=\"ALT Workstation\"\nVERSION=\"10.2 (Sorbaronia Mitschurinii)\"\nID=altlinux\nVERSION_ID=10.2\nPRETTY_NAME=\"ALT Workstation 10.2\"\nCPE_NAME=\"cpe:/o:alt:workstation:10.2\"\nALT_BRANCH_ID=\"p10\"\n";
pub const OS_SP: &str = "NAME=\"ALT SP Server\"\nVERSION=\"10\"\nID=altlinux\nVERSION_ID=10\nPRETTY_NAME=\"ALT SP Server 10\"\nCPE_NAME=\"cpe:/o:alt:spserver:10\"\nALT_BRANCH_ID=\"c10f1\"\n";

pub const HOSTS_PLAIN: &str = "127.0.0.1\tlocalhost\n10.10.0.5\tnode1.example node1\n";
pub const HOSTS_LOCAL: &str =
    "127.0.0.1\tlocalhost\n10.10.0.5\tnode1.example node1\n10.10.0.2\tregistry.local\n";
pub const HOSTS_COMMENT: &str =
    "127.0.0.1\tlocalhost\n# 10.10.0.2 registry.local\n10.10.0.5 node1 # not registry.local\n";
pub const HOSTS_LOCALDOMAIN: &str = "127.0.0.1\tlocalhost\n10.10.0.2\tregistry.localdomain\n";

const ROUTE: &str =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t01000A0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t00000A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

const FIB_TRIE: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 10.10.0.0/24 2 0 2\n        +-- 10.10.0.0/29 2 0 2\n           |-- 10.10.0.0\n              /24 link UNICAST\n           |-- 10.10.0.5\n              /32 host LOCAL\n        |-- 10.10.0.255\n           /32 link BROADCAST\n     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n        |-- 127.255.255.255\n           /32 link BROADCAST\n";

pub struct HostTree {
    pub root: PathBuf,
}

/// Removed when dropped, unless `U7S_KEEP_TEST_TREES=1` (`support::trees`).
impl Drop for HostTree {
    fn drop(&mut self) {
        super::trees::dispose(&self.root);
    }
}

impl HostTree {
    pub fn new(tag: &str, os_release: &str, hosts: &str) -> HostTree {
        let root = std::env::temp_dir().join(format!("u7s-host-{tag}-{}", std::process::id()));
        let _ = super::trees::remove_tree(&root);
        let tree = HostTree { root };
        tree.write("etc/os-release", os_release);
        tree.write("etc/hosts", hosts);
        tree.write("etc/hostname", "node1\n");
        tree.write(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nu7s-admin:x:999:999:usernet user account:/var/lib/u7s-admin:/bin/bash\n",
        );
        tree.write("proc/net/route", ROUTE);
        tree.write("proc/net/fib_trie", FIB_TRIE);
        tree
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Every path under the tree with its mode and contents: compared before
    /// and after a run to prove nothing changed.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (u32, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let contents = if meta.is_file() {
                    std::fs::read(&path).unwrap()
                } else {
                    Vec::new()
                };
                out.insert(path.clone(), (meta.permissions().mode(), contents));
                if meta.is_dir() {
                    walk(&path, out);
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root, &mut out);
        out
    }
}
