//! Root's kubeconfig, rebuilt by `u7s::kubeconfig::rebuild`, is read by the
//! real kubectl with the same meaning as kubeadm's admin.conf, and the
//! bypasses of issue #9 (merge keys, tokenFile, exec) are refused.

mod support;

use std::process::Command;

use support::*;

const ADMIN_CONF: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://10.10.0.5:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVElGSUNBVEU=
    client-key-data: S0VZ
";

fn kubectl_view(tree: &Tree, name: &str, text: &str) -> String {
    let path = tree.root.join(name);
    std::fs::write(&path, text).unwrap();
    let out = run(Command::new("/usr/bin/kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(&path));
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    text_of(&out.stdout)
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn kubectl_reads_the_rebuilt_kubeconfig_as_the_original() {
    if !std::path::Path::new("/usr/bin/kubectl").exists() {
        prerequisite(Some("/usr/bin/kubectl is not installed".into()));
        return;
    }
    let tree = Tree::new("kubeconfig-rebuild");
    let rebuilt = u7s::kubeconfig::rebuild(ADMIN_CONF).unwrap();
    assert_eq!(
        kubectl_view(&tree, "rebuilt", &rebuilt),
        kubectl_view(&tree, "original", ADMIN_CONF)
    );
}

#[test]
fn the_bypasses_of_the_old_check_are_refused() {
    let user =
        "  user:\n    client-certificate-data: Q0VSVElGSUNBVEU=\n    client-key-data: S0VZ\n";
    for (evil, field) in [
        ("  user: {<<: {exec: {command: /tmp/evil, apiVersion: client.authentication.k8s.io/v1}}}\n", "users[0].user.<<"),
        ("  user:\n    tokenFile: /root/.ssh/id_ed25519\n", "users[0].user.tokenFile"),
        ("  user:\n    exec: {command: /tmp/evil}\n", "users[0].user.exec"),
    ] {
        let err = u7s::kubeconfig::rebuild(&ADMIN_CONF.replace(user, evil)).unwrap_err();
        assert_eq!(err.field, field);
        assert!(!err.to_string().contains('\n'));
    }
    let top = format!("{ADMIN_CONF}<<: {{users: [{{name: x, user: {{exec: {{command: e}}}}}}]}}\n");
    assert_eq!(u7s::kubeconfig::rebuild(&top).unwrap_err().field, "<<");
}
