//! Secrets on root's command line (issue #9, item 8): the admin types
//! `kubeadm join ... --token T --discovery-token-ca-cert-hash H
//! --certificate-key K`; no process's /proc/<pid>/cmdline may show T, H or K
//! while u7s runs (u7s-admin could read them there), and kubeadm gets them
//! through its 0600 configuration file only.

mod support;

use std::process::Command;

use support::hosttree::*;
use support::*;

/// Hex digits no other process on the machine has in its command line
/// (other test runs type the usual example token).
fn unique_hex(len: usize, salt: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut x =
        nanos ^ (u64::from(std::process::id()) << 32) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{x:016x}"));
    }
    out.truncate(len);
    out
}

/// A stand-in kubeadm: u7s asks it for its version on the host while it
/// runs init/join; it then records every process's command line.
const SCANNER: &str = r#"#!/bin/sh
[ "$1" = version ] || exit 3
for f in /proc/[0-9]*/cmdline; do
    line=$(tr '\0' ' ' < "$f" 2>/dev/null) && [ -n "$line" ] && printf '%s\n' "$line"
done > "$U7S_TEST_REPORT"
echo v1.30.5
"#;

#[test]
fn no_process_shows_the_secrets_typed_for_join() {
    let tree = HostTree::new("secrets-argv", OS_P10, HOSTS_PLAIN);
    let stubs = Tree::new("secrets-argv-stubs");
    let scanner = stubs.script("kubeadm", SCANNER);
    let report = stubs.open_dir("report").join("cmdlines");
    let token = format!("{}.{}", unique_hex(6, 1), unique_hex(16, 2));
    let hash_hex = unique_hex(64, 3);
    let cert_key = unique_hex(64, 4);
    let token_flag = format!("--token={token}");
    for form in [
        vec!["--token", &token, "--discovery-token-ca-cert-hash"],
        vec![&token_flag, "--discovery-token-ca-cert-hash"],
    ] {
        let _ = std::fs::remove_file(&report);
        let hash = format!("sha256:{hash_hex}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_u7s"));
        cmd.args(["kubeadm", "join", "10.10.0.9:6443"])
            .args(&form)
            .arg(&hash)
            .args([
                "--control-plane",
                "--certificate-key",
                &cert_key,
                "--dry-run",
            ]);
        for (key, _) in std::env::vars() {
            if key.starts_with("U7S_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("U7S_ROOT", &tree.root)
            .env("U7S_KUBEADM", &scanner)
            .env("U7S_TEST_REPORT", &report);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines = std::fs::read_to_string(&report).expect("the scanner ran");
        // The scan saw u7s itself, with its arguments.
        assert!(
            lines
                .lines()
                .any(|l| l.contains("kubeadm join 10.10.0.9:6443")
                    && l.contains("--certificate-key")),
            "u7s's own command line is in the scan:\n{lines}"
        );
        for secret in [&token, &hash_hex, &cert_key] {
            assert!(
                !lines.contains(secret),
                "{secret} is in a command line:\n{lines}"
            );
        }
    }
}
