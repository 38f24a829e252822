//! Secrets typed on root's command line kept out of /proc/<pid>/cmdline.
//!
//! The admin types `kubeadm join HOST:PORT --token T
//! --discovery-token-ca-cert-hash sha256:H --certificate-key K`, and for the
//! whole run anyone (u7s-admin included) could read T, H and K in
//! /proc/<pid>/cmdline of u7s. glibc passes argc, argv and envp to the
//! functions in `.init_array` of the program before `main`; the binary's
//! hook (src/main.rs) keeps a copy of the arguments here and overwrites the
//! secret values in place, in the memory the kernel shows as cmdline. From
//! then on `/proc/<pid>/cmdline` shows `--token *****...`; u7s itself works on
//! the copy ([`original`]). What remains is the moment between exec and that
//! hook, while the dynamic loader runs, and what the admin's shell keeps.
//!
//! The secrets then reach kubeadm through its configuration file (mode 0600)
//! only: no argv that u7s builds holds them.

use std::ffi::OsString;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

/// kubeadm's flags whose values are secrets (init and join).
pub const SECRET_FLAGS: [&str; 5] = [
    "token",
    "discovery-token",
    "tls-bootstrap-token",
    "certificate-key",
    "discovery-token-ca-cert-hash",
];

/// The applet `argv` runs: the basename of argv[0], or for `u7s APPLET`
/// the next argument; and where that applet's own arguments start.
fn applet(argv: &[&[u8]]) -> Option<(Vec<u8>, usize)> {
    let base = |arg: &[u8]| -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        Path::new(std::ffi::OsStr::from_bytes(arg))
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default()
    };
    let first = base(argv.first()?);
    if first == b"u7s" || first.starts_with(b"u7s-") || first.is_empty() {
        return Some((base(argv.get(1)?), 2));
    }
    Some((first, 1))
}

/// For each argument of a `kubeadm` command line that holds a secret, its
/// index in `argv` and the byte range of the secret within it.
pub fn secret_spans(argv: &[&[u8]]) -> Vec<(usize, Range<usize>)> {
    let mut spans = Vec::new();
    let Some((name, start)) = applet(argv) else {
        return spans;
    };
    if name != b"kubeadm" {
        return spans;
    }
    let mut i = start;
    while i < argv.len() {
        let arg = argv[i];
        if arg == b"--" {
            break;
        }
        for flag in SECRET_FLAGS {
            let long = format!("--{flag}");
            if arg == long.as_bytes() {
                if let Some(value) = argv.get(i + 1) {
                    spans.push((i + 1, 0..value.len()));
                }
                i += 1;
            } else if arg.starts_with(format!("{long}=").as_bytes()) {
                spans.push((i, long.len() + 1..arg.len()));
            }
        }
        i += 1;
    }
    spans
}

static ORIGINAL: OnceLock<Vec<OsString>> = OnceLock::new();

/// Keeps the arguments as they were typed, for [`original`]; called once,
/// from the hook, before the secrets are overwritten.
pub fn keep_original(args: Vec<OsString>) {
    let _ = ORIGINAL.set(args);
}

/// The arguments as typed, if the hook ran (it does with glibc); otherwise
/// `None`, and std's own copy is the same.
pub fn original() -> Option<Vec<OsString>> {
    ORIGINAL.get().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(args: &[&str]) -> Vec<(usize, String)> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        secret_spans(&bytes)
            .into_iter()
            .map(|(i, r)| (i, args[i][r].to_owned()))
            .collect()
    }

    #[test]
    fn every_secret_form_is_found() {
        let found = spans(&[
            "/usr/libexec/podsec/u7s/bin/kubeadm",
            "join",
            "10.0.0.1:6443",
            "--token",
            "abcdef.0123456789abcdef",
            "--discovery-token-ca-cert-hash=sha256:00ff",
            "--control-plane",
            "--certificate-key",
            "c0ffee",
            "--tls-bootstrap-token=t2",
            "--discovery-token",
            "d3",
            "-v",
            "5",
        ]);
        assert_eq!(
            found,
            [
                (4, "abcdef.0123456789abcdef".to_owned()),
                (5, "sha256:00ff".to_owned()),
                (8, "c0ffee".to_owned()),
                (9, "t2".to_owned()),
                (11, "d3".to_owned()),
            ]
        );
        // The multi-call form, and nothing after `--`.
        assert_eq!(
            spans(&["u7s", "kubeadm", "init", "--token=x", "--", "--token", "y"]),
            [(3, "x".to_owned())]
        );
    }

    #[test]
    fn other_applets_and_lookalikes_are_left_alone() {
        assert!(spans(&["kubectl", "--token", "x"]).is_empty());
        assert!(spans(&["u7s", "nsenter_u7s", "kubeadm", "--token", "x"]).is_empty());
        assert!(spans(&["kubeadm", "--token-ttl", "1h", "--tokens=x"]).is_empty());
        assert!(spans(&["kubeadm", "--token"]).is_empty());
        assert!(spans(&[]).is_empty());
        assert!(spans(&["u7s"]).is_empty());
    }
}
