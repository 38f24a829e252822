//! `kubeadm init --help` and `kubeadm join --help` through the shim: the
//! real kubeadm's help (here the kubeadm model's), then the u7s section; with
//! no kubeadm the u7s section still prints and a line says kubeadm is
//! missing (before, `kubeadm --help` exited 127 with nothing).

mod support;

use std::process::Command;

use support::kubeadm_model::KubeadmModel;
use support::*;

fn kubeadm(tree: &Tree) -> Command {
    let mut cmd = Command::new(tree.applet("kubeadm"));
    cmd.env_remove("U7S_DEBUG").env("LC_ALL", "C");
    cmd
}

const SECTION: &str = "u7s (rootless Kubernetes for ALT Linux):";

#[test]
fn help_of_init_and_join_is_kubeadms_then_the_u7s_section() {
    let tree = Tree::new("help-model");
    let model = KubeadmModel::install(
        &tree.root.join("model"),
        "v1.31.2",
        &tree.root.join("host"),
        &tree.root.join("records"),
        &tree.root.join("cluster"),
    );
    for sub in ["init", "join"] {
        let out = run(kubeadm(&tree)
            .args([sub, "--help"])
            .env("U7S_KUBEADM", model.program()));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let theirs = stdout
            .find(&format!("kubeadm {sub} [flags]"))
            .unwrap_or_else(|| panic!("no kubeadm help: {stdout}"));
        let ours = stdout
            .find(SECTION)
            .unwrap_or_else(|| panic!("no u7s section: {stdout}"));
        assert!(theirs < ours, "kubeadm's help first: {stdout}");
        for var in [
            "U7S_REGISTRY",
            "U7S_PLATFORM",
            "U7S_KUBEVERSION",
            "U7S_CNI_PLUGIN",
        ] {
            assert!(stdout[ours..].contains(var), "{var}: {stdout}");
        }
        assert!(stdout.contains("/etc/podsec/u7s/config/env"), "{stdout}");
        assert!(
            stdout.contains(&format!("kubeadm {sub} runs as root")),
            "{stdout}"
        );
        // The preflight names --ignore-preflight-errors takes.
        for name in ["DevNetTun", "CgroupDelegation", "Linger", "Port"] {
            assert!(stdout[ours..].contains(name), "{name}: {stdout}");
        }
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
    // Other subcommands' help is kubeadm's alone.
    let out = run(kubeadm(&tree)
        .args(["token", "--help"])
        .env("U7S_KUBEADM", model.program()));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stdout).contains(SECTION),
        "{}",
        text(&out.stdout)
    );
    without_kubeadm_the_u7s_section_still_prints_and_says_kubeadm_is_missing();
}

/// One test function with the one above: a model binary copied while
/// another test thread forks can fail to exec with ETXTBSY.
fn without_kubeadm_the_u7s_section_still_prints_and_says_kubeadm_is_missing() {
    let tree = Tree::new("help-missing");
    let missing = tree.root.join("no/kubeadm");
    for args in [&["init", "--help"][..], &["join", "-h"], &["--help"]] {
        let out = run(kubeadm(&tree).args(args).env("U7S_KUBEADM", &missing));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        assert!(stdout.contains(SECTION), "{args:?}: {stdout}");
        assert!(stdout.contains("U7S_REGISTRY"), "{stdout}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "kubeadm is not installed at {}",
                missing.display()
            )) && stderr.contains("kubernetes1.NN-kubeadm"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // Russian too.
    let out = run(kubeadm(&tree)
        .args(["init", "--help"])
        .env("U7S_KUBEADM", &missing)
        .env("LC_ALL", "ru_RU.UTF-8"));
    assert!(
        text(&out.stderr).contains("kubeadm не установлен"),
        "{}",
        text(&out.stderr)
    );
}
