//! Root's kubectl on the host (issue #13): the real kubectl runs as root, in
//! the host's namespaces, with root's own kubeconfig, against the API
//! endpoint in it (here the API stand-in of tests/multihost/apiserver.py on
//! the host's 127.0.0.1, with a test CA; tests/namespaces.rs reaches one
//! through rootlesskit's port forward). So root's files, working directory
//! and stdin reach it, what it listens on is on the host's loopback, and
//! `kubectl cp` from a pod writes into root's own directories (the stand-in
//! serves pods/exec over WebSocket, as kubectl 1.30+ speaks it).
//!
//! The kubeconfig and everything kubectl reads as configuration must be
//! root's alone, and the kubeconfig must hold only what the whitelist of
//! `u7s::kubeconfig` accepts: otherwise kubectl does not run at all (a stub
//! in place of the real kubectl would leave a marker) and one line names the
//! file or entry and the fix.
//!
//! Needs root, u7s-admin, the real kubectl, python3 and openssl; skips
//! locally with the reason, fails under CI=true.

mod support;

use std::io::{BufRead, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::attack::{as_admin, assert_refused, run_within};
use support::standin_api::{standin_problem, StandinApi};
use support::*;

/// The real kubectl: /usr/bin/kubectl, or U7S_KUBECTL of the test's
/// environment (to run these tests against another version).
fn real_kubectl() -> PathBuf {
    std::env::var_os("U7S_KUBECTL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/kubectl".into())
}
const LIMIT: Duration = Duration::from_secs(60);

const APP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  key: from-the-file\n";
const KUSTOMIZATION: &str = "resources:\n- app.yaml\n";

fn ready() -> bool {
    if !require_host() {
        return false;
    }
    let missing = if real_kubectl().exists() {
        standin_problem()
    } else {
        Some(format!("{} is not installed", real_kubectl().display()))
    };
    prerequisite(missing)
}

fn mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn write(path: &Path, text: &str, m: u32) {
    std::fs::write(path, text).unwrap();
    mode(path, m);
}

/// Root's home as an admin has it: 0700, a 0700 working directory with 0600
/// manifests, and (when given) a 0600 ~/.kube/config.
struct Home {
    tree: Tree,
    home: PathBuf,
    work: PathBuf,
    /// What the stub standing in for the real kubectl creates if it runs.
    marker: PathBuf,
}

impl Home {
    fn new(tag: &str, kubeconfig: Option<&str>) -> Home {
        let tree = Tree::new(&format!("kubectl-{tag}"));
        let home = tree.root.join("root-home");
        let work = home.join("work");
        std::fs::create_dir_all(&work).unwrap();
        mode(&home, 0o700);
        mode(&work, 0o700);
        write(&work.join("app.yaml"), APP, 0o600);
        write(&work.join("kustomization.yaml"), KUSTOMIZATION, 0o600);
        let marker = tree.root.join("kubectl-ran");
        tree.script(
            "kubectl",
            &format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        );
        let h = Home {
            tree,
            home,
            work,
            marker,
        };
        if let Some(text) = kubeconfig {
            h.install_kubeconfig(text);
        }
        h
    }

    /// Root's `kubectl ARGS` through u7s, in the working directory.
    fn kubectl(&self, args: &[&str]) -> Command {
        let mut cmd = command_as(Who::Root, &self.tree.applet("kubectl"), &self.tree);
        cmd.args(args)
            .current_dir(&self.work)
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG")
            .env_remove("KUBECACHEDIR")
            .env_remove("KUBERC")
            .env("U7S_KUBECTL", real_kubectl());
        cmd
    }

    /// The same with the stub in place of the real kubectl.
    fn stubbed(&self, args: &[&str]) -> Command {
        let mut cmd = self.kubectl(args);
        cmd.env("U7S_KUBECTL", self.tree.root.join("stubs/kubectl"));
        cmd
    }

    /// The real kubectl itself, the same way (the bytes to compare with).
    fn direct(&self, args: &[&str]) -> Command {
        let mut direct = Command::new(real_kubectl());
        direct
            .args(args)
            .current_dir(&self.work)
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG");
        direct
    }

    /// Root's ~/.kube/config (0600 in a 0700 ~/.kube).
    fn install_kubeconfig(&self, text: &str) {
        let kube = self.home.join(".kube");
        std::fs::create_dir_all(&kube).unwrap();
        mode(&kube, 0o700);
        write(&kube.join("config"), text, 0o600);
    }
}

/// A home whose kubeconfig names a stand-in API server on 127.0.0.1.
fn with_api(tag: &str) -> (Home, StandinApi) {
    let home = Home::new(tag, None);
    let api = StandinApi::on_host(&home.tree.root.join("standin"));
    home.install_kubeconfig(&api.kubeconfig());
    (home, api)
}

fn ok(cmd: &mut Command) -> String {
    let (out, _) = run_within(cmd, LIMIT);
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

#[test]
fn root_only_files_reach_kubectl_by_relative_and_absolute_path_and_stdin() {
    if !ready() {
        return;
    }
    let (h, api) = with_api("files");
    // u7s-admin (as whom kubectl used to run) cannot even read them.
    let app = h.work.join("app.yaml");
    let denied = Command::new("/usr/bin/setpriv")
        .arg(format!("--reuid={}", admin().uid))
        .arg(format!("--regid={}", admin().gid))
        .args(["--init-groups", "--", "/bin/cat"])
        .arg(&app)
        .output()
        .unwrap();
    assert!(!denied.status.success(), "u7s-admin must not read {app:?}");

    let kustomized = ok(&mut h.kubectl(&["kustomize", "."]));
    assert!(
        kustomized.contains("name: app") && kustomized.contains("key: from-the-file"),
        "{kustomized}"
    );
    assert_eq!(kustomized, ok(&mut h.direct(&["kustomize", "."])));

    let dry = "configmap/app created (dry run)\n";
    let relative = ["apply", "--dry-run=client", "-f", "app.yaml"];
    assert_eq!(ok(&mut h.kubectl(&relative)), dry);
    assert_eq!(
        ok(&mut h.direct(&relative)),
        dry,
        "the real kubectl's bytes"
    );
    let abs = app.display().to_string();
    assert_eq!(
        ok(&mut h.kubectl(&["apply", "--dry-run=client", "-f", &abs])),
        dry
    );
    assert_eq!(
        ok(&mut h.kubectl(&["apply", "--dry-run=client", "-k", "."])),
        dry
    );
    // `-f -`: root's stdin.
    let out = output_with_stdin(
        &mut h.kubectl(&["apply", "--dry-run=client", "-f", "-"]),
        APP.replace("name: app", "name: piped").as_bytes(),
    );
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "configmap/piped created (dry run)\n");
    // The requests reached the stand-in with the client certificate.
    assert!(
        api.log()
            .contains("GET /api/v1/namespaces/default/configmaps/app"),
        "{}",
        api.log()
    );
}

#[test]
fn what_kubectl_applies_from_a_root_only_file_is_what_the_server_holds() {
    if !ready() {
        return;
    }
    let (h, _api) = with_api("apply");
    assert_eq!(
        ok(&mut h.kubectl(&["apply", "-f", "app.yaml"])),
        "configmap/app created\n"
    );
    assert_eq!(
        ok(&mut h.kubectl(&["get", "configmap", "app", "-o", "jsonpath={.data.key}"])),
        "from-the-file"
    );
    // kubectl's cache went into root's ~/.kube, nowhere else.
    assert!(h.home.join(".kube/cache").is_dir());
}

#[test]
fn kubectl_edit_runs_roots_own_editor_on_the_host() {
    if !ready() {
        return;
    }
    let (h, api) = with_api("edit");
    ok(&mut h.kubectl(&["apply", "-f", "app.yaml"]));
    // Root's editor: a script in a 0700 directory of root's, which
    // u7s-admin (as whom kubectl used to run) could not even start.
    let bin = h.home.join("bin");
    std::fs::create_dir(&bin).unwrap();
    mode(&bin, 0o700);
    let editor = bin.join("edit");
    write(
        &editor,
        "#!/bin/sh\nexec /bin/sed -i 's/from-the-file/edited-by-root/' \"$1\"\n",
        0o700,
    );
    assert_eq!(
        ok(h.kubectl(&["edit", "configmap", "app"])
            .env("KUBE_EDITOR", &editor)
            .stdin(Stdio::null())),
        "configmap/app edited\n"
    );
    assert_eq!(
        ok(&mut h.kubectl(&["get", "configmap", "app", "-o", "jsonpath={.data.key}"])),
        "edited-by-root"
    );
    assert!(
        api.log()
            .contains("PATCH /api/v1/namespaces/default/configmaps/app"),
        "{}",
        api.log()
    );
}

#[test]
fn kubectl_proxy_listens_on_the_hosts_loopback() {
    if !ready() {
        return;
    }
    let (h, _api) = with_api("proxy");
    let mut child = spawn(
        h.kubectl(&["proxy", "--port=0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first
        .trim()
        .strip_prefix("Starting to serve on 127.0.0.1:")
        .unwrap_or_else(|| panic!("kubectl proxy said {first:?}"))
        .parse()
        .unwrap();
    // This process is in the host's network namespace: the listener is too.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(
        b"GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("ConfigMapList"), "{answer}");
    // The process is kubectl itself (exec): a signal reaches it and its
    // death comes back as it is.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

/// A kubectl plugin in a root-owned directory on PATH (kubectl execs it).
fn plugin(h: &Home, name: &str, body: &str) -> String {
    let dir = h.tree.root.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir.join(format!("kubectl-{name}")),
        &format!("#!/bin/sh\n{body}\n"),
        0o755,
    );
    format!("{}:/usr/bin:/bin", dir.display())
}

#[test]
fn exit_statuses_and_stdout_come_back_unchanged() {
    if !ready() {
        return;
    }
    let (h, _api) = with_api("status");
    let json = ["version", "--client", "-o", "json"];
    assert_eq!(ok(&mut h.kubectl(&json)), ok(&mut h.direct(&json)));
    let (ours, _) = run_within(&mut h.kubectl(&["get", "configmap", "nope"]), LIMIT);
    let (theirs, _) = run_within(&mut h.direct(&["get", "configmap", "nope"]), LIMIT);
    assert_eq!(ours.status.code(), Some(1), "{}", text(&ours.stderr));
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(text(&ours.stderr), text(&theirs.stderr));

    let path = plugin(&h, "u7sexit", "echo \"plugin:$*\"; exit 42");
    let (out, _) = run_within(
        h.kubectl(&["u7sexit", "a", "b c"]).env("PATH", &path),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(42), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "plugin:a b c\n");
    let path = plugin(&h, "u7skill", "kill -TERM $$");
    let (out, _) = run_within(h.kubectl(&["u7skill"]).env("PATH", &path), LIMIT);
    assert_eq!(out.status.signal(), Some(15), "{:?}", out.status);
}

#[test]
fn roots_kubectl_runs_on_the_host_as_root_whatever_the_namespaces_say() {
    if !ready() {
        return;
    }
    let (h, _api) = with_api("where");
    let path = plugin(
        &h,
        "u7swhere",
        "id -u; pwd; readlink /proc/self/ns/user /proc/self/ns/mnt /proc/self/ns/net",
    );
    // No rootlesskit at this state dir: root's kubectl does not look.
    let (out, _) = run_within(
        h.kubectl(&["u7swhere"])
            .env("PATH", &path)
            .env("U7S_ROOTLESSKIT_STATE_DIR", h.tree.root.join("no-state"))
            .env("U7S_NSENTER_RETRIES", "1"),
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = format!(
        "0\n{}\n{}\n{}\n{}\n",
        h.work.display(),
        ns_of("self", "user"),
        ns_of("self", "mnt"),
        ns_of("self", "net")
    );
    assert_eq!(text(&out.stdout), expected);
}

/// Runs root's kubectl (with the stub) and asserts a one-line refusal with
/// `words` and that nothing ran.
fn refused(h: &Home, cmd: &mut Command, words: &[&str]) {
    let (out, _) = run_within(cmd, LIMIT);
    assert_refused(&out, words);
    assert!(!h.marker.exists(), "{cmd:?} ran kubectl");
}

/// `path` given to u7s-admin (refused naming it, the uid and `words`), then
/// root's again with mode `open` (refused as writable by group); it ends
/// root's with mode `was`, where `mode_of` is `(was, open)`.
fn refused_unless_roots_alone(h: &Home, path: &Path, mode_of: (u32, u32), words: &[&str]) {
    let a = admin();
    let get = ["get", "pods"];
    let shown = path.display().to_string();
    std::os::unix::fs::chown(path, Some(a.uid), Some(a.gid)).unwrap();
    let uid = format!("uid {}", a.uid);
    let mut owner = vec![shown.as_str(), uid.as_str()];
    owner.extend(words);
    refused(h, &mut h.stubbed(&get), &owner);
    std::os::unix::fs::chown(path, Some(0), Some(0)).unwrap();
    let (mode_was, open) = mode_of;
    mode(path, open);
    let open_shown = format!("{open:04o}");
    refused(
        h,
        &mut h.stubbed(&get),
        &[&shown, "writable by group", &open_shown],
    );
    mode(path, mode_was);
}

#[test]
fn a_kubeconfig_that_u7s_admin_can_write_is_refused_and_nothing_runs() {
    if !ready() {
        return;
    }
    let a = admin();
    let (h, api) = with_api("unsafe");
    let good = api.kubeconfig();
    let config = h.home.join(".kube/config");
    let shown = config.display().to_string();
    let get = ["get", "pods"];
    // The good one runs (the stub leaves its marker), so the cases below
    // are refused for what they change.
    let (out, _) = run_within(&mut h.stubbed(&get), LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(h.marker.exists());
    std::fs::remove_file(&h.marker).unwrap();

    // Owned by u7s-admin; writable by the group (u7s-admin's, say).
    refused_unless_roots_alone(&h, &config, (0o600, 0o620), &["not root"]);

    // A symlink to a root-only kubeconfig elsewhere, and a symlinked ~/.kube.
    let elsewhere = h.tree.root.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    write(&elsewhere.join("config"), &good, 0o600);
    std::fs::rename(&config, h.home.join("config.real")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("config"), &config).unwrap();
    refused(&h, &mut h.stubbed(&get), &[&shown, "symbolic link"]);
    std::fs::remove_file(&config).unwrap();
    std::fs::rename(h.home.join("config.real"), &config).unwrap();
    let kube = h.home.join(".kube");
    std::fs::rename(&kube, h.home.join("kube.real")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &kube).unwrap();
    refused(
        &h,
        &mut h.stubbed(&get),
        &[&kube.display().to_string(), "symbolic link"],
    );
    std::fs::remove_file(&kube).unwrap();
    std::fs::rename(h.home.join("kube.real"), &kube).unwrap();

    // ~/.kube given to u7s-admin, or open to the group: it could swap the
    // root-owned config inside for its own.
    refused_unless_roots_alone(&h, &kube, (0o700, 0o770), &[]);

    // A root-owned kubeconfig in a directory of u7s-admin's, by KUBECONFIG
    // and by --kubeconfig.
    let admins = h.tree.root.join("admins");
    std::fs::create_dir(&admins).unwrap();
    write(&admins.join("config"), &good, 0o600);
    std::os::unix::fs::chown(&admins, Some(a.uid), Some(a.gid)).unwrap();
    let in_admins = admins.join("config").display().to_string();
    let dir_shown = admins.display().to_string();
    refused(
        &h,
        h.stubbed(&get)
            .env("KUBECONFIG", format!("{shown}:{in_admins}")),
        &[&dir_shown, &format!("uid {}", a.uid)],
    );
    refused(
        &h,
        &mut h.stubbed(&["--kubeconfig", &in_admins, "get", "pods"]),
        &[&dir_shown],
    );
    // u7s-admin replaces it: it can, so it was right not to trust it.
    as_admin(&format!("rm -f '{in_admins}' && echo x > '{in_admins}'"));

    // HOME pointing into u7s-admin's home.
    refused(
        &h,
        h.stubbed(&get).env("HOME", &a.home),
        &[&a.home.display().to_string()],
    );
}

#[test]
fn a_program_or_file_in_roots_own_kubeconfig_is_refused_by_name() {
    if !ready() {
        return;
    }
    let (h, api) = with_api("exec");
    let config = h.home.join(".kube/config");
    let good = api.kubeconfig();
    // kubeadm's kubeconfig ends with its one user; put another in its place.
    let users = good.find("users:\n").expect("a users list");
    let with_user = |user: &str| {
        format!(
            "{}users:\n- name: kubernetes-admin\n  user:\n{user}",
            &good[..users]
        )
    };
    let ran = h.tree.root.join("exec-ran");
    let exec = with_user(&format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /usr/bin/touch\n      args: ['{}']\n",
        ran.display()
    ));
    for (text, field) in [
        (exec.clone(), "users[0].user.exec"),
        (
            with_user("    auth-provider: {name: oidc}\n"),
            "users[0].user.auth-provider",
        ),
        (
            with_user("    tokenFile: /etc/shadow\n"),
            "users[0].user.tokenFile",
        ),
        (
            with_user(
                "    client-certificate: /etc/ssl/x.crt\n    client-key: /root/.ssh/id_rsa\n",
            ),
            "users[0].user.client-certificate",
        ),
    ] {
        write(&config, &text, 0o600);
        refused(
            &h,
            &mut h.stubbed(&["get", "pods"]),
            &[&config.display().to_string(), field, "remove that entry"],
        );
    }
    // The same with the real kubectl behind u7s: the program never ran,
    // while the real kubectl by itself runs it.
    write(&config, &exec, 0o600);
    let (out, _) = run_within(&mut h.kubectl(&["get", "pods"]), LIMIT);
    assert_refused(&out, &["users[0].user.exec"]);
    assert!(!ran.exists());
    let _ = run_within(&mut h.direct(&["get", "pods"]), LIMIT);
    assert!(
        ran.exists(),
        "the real kubectl runs exec entries: the refusal matters"
    );
}

#[test]
fn a_missing_kubeconfig_says_where_to_get_one() {
    if !ready() {
        return;
    }
    let h = Home::new("missing", None);
    let config = h.home.join(".kube/config").display().to_string();
    refused(
        &h,
        &mut h.stubbed(&["get", "pods"]),
        &[
            &config,
            "kubeadm init",
            "copy /root/.kube/config from a master",
        ],
    );
    // What needs no cluster still runs.
    let (out, _) = run_within(&mut h.stubbed(&["version", "--client"]), LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(h.marker.exists());
    let kustomized = ok(&mut h.kubectl(&["kustomize", "."]));
    assert!(kustomized.contains("key: from-the-file"), "{kustomized}");
}

/// A free TCP port on the host's loopback (for rootlesskit to forward).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn roots_kubectl_reaches_the_api_inside_through_rootlesskits_port_forward() {
    if !ready() {
        return;
    }
    // As in a cluster: the API server runs inside u7s-admin's namespaces and
    // rootlesskit forwards its port from the host.
    let rk = rootlesskit();
    let certs = support::standin_api::Certs::make(&rk.tree.root.join("standin-inside"));
    let mut cmd = rk.cmd(Who::Admin, "nsenter_u7s");
    cmd.arg("/usr/bin/python3")
        .arg(certs.script())
        .args(certs.flags(0));
    let log = certs.dir.join("apiserver.log");
    let api = StandinApi::start_with(certs, cmd, log);
    let host_port = free_port();
    let spec = format!("127.0.0.1:{host_port}:{}/tcp", api.port);
    let add = run(rk
        .cmd(Who::Admin, "nsenter_u7s")
        .args(["rootlessctl", "add-ports", &spec]));
    assert!(add.status.success(), "add-ports: {}", text(&add.stderr));
    // Inside, the API port is not the host's: only the forward leads there.
    assert_ne!(host_port, api.port);

    let h = Home::new("forwarded", None);
    h.install_kubeconfig(
        &api.certs
            .kubeconfig(&format!("https://127.0.0.1:{host_port}")),
    );
    assert_eq!(
        ok(&mut h.kubectl(&["apply", "-f", "app.yaml"])),
        "configmap/app created\n"
    );
    assert_eq!(
        ok(&mut h.kubectl(&["get", "configmap", "app", "-o", "jsonpath={.data.key}"])),
        "from-the-file"
    );
    assert!(
        api.log()
            .contains("POST /api/v1/namespaces/default/configmaps"),
        "{}",
        api.log()
    );
}

/// A pod scheduled to a node by hand (the stand-in has no scheduler).
const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: files\nspec:\n  nodeName: node-1\n  containers:\n  - name: app\n    image: registry.local/app:1\n";

/// The pod `files/web` (container `app`), created through root's kubectl,
/// whose container holds /srv/data/a.txt and /srv/data/sub/b.txt.
fn pod_with_files(h: &Home, api: &StandinApi) {
    // By absolute path: what the tests below check of the working
    // directory is their own.
    let manifest = h.home.join("pod.yaml");
    write(&manifest, POD, 0o600);
    assert_eq!(
        ok(&mut h.kubectl(&["apply", "-f", &manifest.display().to_string()])),
        "pod/web created\n"
    );
    let data = api.pod_root().join("files/web/app/srv/data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    write(&data.join("a.txt"), "alpha\n", 0o600);
    write(&data.join("sub/b.txt"), "beta\n", 0o600);
}

/// A home and stand-in with the pod of [`pod_with_files`], or None (having
/// said why) without the prerequisites.
fn with_pod(tag: &str) -> Option<(Home, StandinApi)> {
    if !ready() {
        return None;
    }
    let (h, api) = with_api(tag);
    pod_with_files(&h, &api);
    Some((h, api))
}

/// Every path below `dir`, relative to it, sorted.
fn tree_of(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{d:?}: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                todo.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Each file below `dir` holds what is said of it.
fn assert_contents(dir: &Path, files: &[(&str, &str)]) {
    for (file, content) in files {
        let path = dir.join(file);
        assert_eq!(
            &std::fs::read_to_string(&path).unwrap(),
            content,
            "{path:?}"
        );
    }
}

/// Root's `kubectl cp files/web:/srv/data ./local`, which must succeed: its
/// stderr. kubectl cp hands tar's stderr to its own stdout, and says when
/// the stream ended before it had read it all. It exits once the archive
/// has ended, whether or not those lines have come: either may be missing,
/// nothing else may be there.
fn cp_from_web(h: &Home) -> String {
    let (out, _) = run_within(
        &mut h.kubectl(&["cp", "files/web:/srv/data", "./local"]),
        LIMIT,
    );
    let (said, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}\n{said}");
    for line in said.lines() {
        assert!(
            [
                "tar: Removing leading `/' from member names",
                "Dropping out copy after 0 retries"
            ]
            .contains(&line),
            "{said}"
        );
    }
    stderr
}

#[test]
fn kubectl_cp_from_a_pod_writes_into_roots_own_directory_as_root() {
    let Some((h, api)) = with_pod("cp") else {
        return;
    };
    // The working directory is root's alone: u7s-admin, as whom kubectl
    // used to run, could not have written there.
    let work = std::fs::metadata(&h.work).unwrap();
    assert_eq!((work.uid(), work.mode() & 0o777), (0, 0o700));
    // Nothing is skipped, so kubectl has nothing to warn of.
    assert_eq!(cp_from_web(&h), "");
    let local = h.work.join("local");
    assert_eq!(tree_of(&local), ["a.txt", "sub", "sub/b.txt"]);
    assert_contents(&local, &[("a.txt", "alpha\n"), ("sub/b.txt", "beta\n")]);
    assert_kept_in_local(&h);
    // What kubectl asked for: a WebSocket (v5.channel.k8s.io) running
    // `tar cf - /srv/data` in the pod's one container.
    let log = api.log();
    assert!(
        log.contains(
            "\"GET /api/v1/namespaces/files/pods/web/exec?command=tar&command=cf&command=-&command=%2Fsrv%2Fdata&container=app&stderr=true&stdout=true HTTP/1.1\" 101"
        ),
        "{log}"
    );
    assert!(
        log.contains(
            "exec files/web/app [\"tar\", \"cf\", \"-\", \"/srv/data\"] over v5.channel.k8s.io: exit 0"
        ),
        "{log}"
    );
}

/// What kubectl 1.32 says of the symlinks it skips (untarAll in
/// kubernetes/kubectl pkg/cmd/cp/cp.go, v0.32): the first with a hint,
/// each after that on a line of its own; neither is created.
const SKIPPED_SYMLINKS: &str = concat!(
    r#"warning: skipping symlink: "local/evil" -> "/etc" (consider using "kubectl exec -n "files" "web" -- tar cf - "/srv/data" | tar xf -")"#,
    "\n",
    r#"warning: skipping symlink: "local/up" -> "../../outside""#,
    "\n",
);

/// Nothing of the copy is outside ./local: no `outside` next to the working
/// directory or above it (where the pod's relative links and `..` names
/// point), and ./local and every path in it is root's and no symlink.
fn assert_kept_in_local(h: &Home) {
    let local = h.work.join("local");
    let meta = std::fs::metadata(&local).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    for dir in [&h.work, &h.home, &h.tree.root] {
        let outside = dir.join("outside");
        assert!(
            std::fs::symlink_metadata(&outside).is_err(),
            "{outside:?} was written"
        );
    }
    for path in tree_of(&local) {
        let meta = std::fs::symlink_metadata(local.join(&path)).unwrap();
        assert!(!meta.file_type().is_symlink(), "{path} is a symlink");
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{path}");
    }
}

#[test]
fn kubectl_cp_from_a_hostile_pod_skips_its_symlinks() {
    let Some((h, api)) = with_pod("cp-symlinks") else {
        return;
    };
    // The pod's own tar (GNU tar's stream, modelled with Python's tarfile)
    // keeps symlinks as symlinks: one to the host's /etc, one that climbs
    // out of wherever it is unpacked.
    let data = api.pod_root().join("files/web/app/srv/data");
    std::os::unix::fs::symlink("/etc", data.join("evil")).unwrap();
    std::os::unix::fs::symlink("../../outside", data.join("up")).unwrap();
    assert_eq!(cp_from_web(&h), SKIPPED_SYMLINKS);
    let local = h.work.join("local");
    assert_eq!(tree_of(&local), ["a.txt", "sub", "sub/b.txt"]);
    assert_contents(&local, &[("a.txt", "alpha\n"), ("sub/b.txt", "beta\n")]);
    assert_kept_in_local(&h);
}

/// A tar for the pod's image that answers `tar cf - /srv/data` with a
/// stream no honest tar writes: files under the symlinks it has just sent,
/// a `..` name, a hard link to a host file. The image is u7s-admin's, so
/// is its tar (kubectl's CVE-2019-1002101 and CVE-2019-11246 came this way).
const LYING_TAR: &str = r#"#!/usr/bin/python3
import io, sys, tarfile
def member(tar, name, kind, link="", data=b""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data), 0o644
    tar.addfile(info, io.BytesIO(data))
sys.stderr.write("tar: Removing leading `/' from member names\n")
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.GNU_FORMAT) as tar:
    member(tar, "srv/data/a.txt", tarfile.REGTYPE, data=b"alpha\n")
    member(tar, "srv/data/evil", tarfile.SYMTYPE, "/etc")
    member(tar, "srv/data/evil/ETC_NAME", tarfile.REGTYPE, data=b"through evil\n")
    member(tar, "srv/data/up", tarfile.SYMTYPE, "../../outside")
    member(tar, "srv/data/up/escaped", tarfile.REGTYPE, data=b"through up\n")
    member(tar, "srv/data/../../outside/dotdot", tarfile.REGTYPE, data=b"dotdot\n")
    member(tar, "srv/data/passwd", tarfile.LNKTYPE, "/etc/passwd")
"#;

#[test]
fn kubectl_cp_from_a_pod_with_a_lying_tar_writes_only_into_local() {
    let Some((h, api)) = with_pod("cp-lying-tar") else {
        return;
    };
    // A name of our own in the host's /etc: had kubectl made `evil` a
    // link to /etc, the member below it would have landed there.
    let etc_name = format!("u7s-cp-through-{}", std::process::id());
    let in_etc = Path::new("/etc").join(&etc_name);
    let image = api.pod_root().join("files/web/app");
    std::fs::create_dir_all(image.join("bin")).unwrap();
    write(
        &image.join("bin/tar"),
        &LYING_TAR.replace("ETC_NAME", &etc_name),
        0o755,
    );
    let passwd = std::fs::metadata("/etc/passwd").unwrap();
    let stderr = cp_from_web(&h);
    let written_to_etc = in_etc.exists();
    let _ = std::fs::remove_file(&in_etc);
    assert!(!written_to_etc, "{in_etc:?} was written");
    // Each symlink is skipped and its name becomes a plain directory for
    // what the stream puts below it; the `..` name is skipped by name.
    assert_eq!(
        stderr,
        format!(
            "{SKIPPED_SYMLINKS}{}\n",
            r#"warning: file "../outside/dotdot" is outside target destination, skipping"#
        )
    );
    let local = h.work.join("local");
    let through = format!("evil/{etc_name}");
    assert_eq!(
        tree_of(&local),
        ["a.txt", "evil", &through, "passwd", "up", "up/escaped"]
    );
    assert_contents(
        &local,
        &[
            ("a.txt", "alpha\n"),
            (&through, "through evil\n"),
            ("up/escaped", "through up\n"),
            // A hard link is made as an empty file of its own, not a second
            // name for the host's /etc/passwd.
            ("passwd", ""),
        ],
    );
    let copy = std::fs::metadata(local.join("passwd")).unwrap();
    assert_eq!(copy.nlink(), 1);
    assert_ne!((copy.dev(), copy.ino()), (passwd.dev(), passwd.ino()));
    assert_kept_in_local(&h);
}

#[test]
fn a_command_in_a_pod_exits_with_its_own_status_through_roots_kubectl() {
    let Some((h, _api)) = with_pod("podexit") else {
        return;
    };
    for (command, code) in [
        (&["test", "-d", "/srv/data"][..], 0),
        (&["test", "-d", "/srv/data/a.txt"], 1),
        (&["tar", "cf", "-", "/srv/missing"], 2),
        (&["ls"], 127),
    ] {
        let mut args = vec!["exec", "-n", "files", "web", "--"];
        args.extend(command);
        let (ours, _) = run_within(&mut h.kubectl(&args), LIMIT);
        let (theirs, _) = run_within(&mut h.direct(&args), LIMIT);
        let stderr = text(&ours.stderr);
        assert_eq!(ours.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
        assert_eq!(stderr, text(&theirs.stderr), "{args:?}");
        if code != 0 {
            assert!(
                stderr.ends_with(&format!("command terminated with exit code {code}\n")),
                "{args:?}: {stderr}"
            );
        }
    }
}

/// Asks the stand-in for a WebSocket at `path` offering `protocol` (none if
/// empty), with the admin's client certificate; its status line, and the
/// body of a refusal.
const UPGRADE_PROBE: &str = r#"
import socket, ssl, sys
port, certs, path, protocol = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=certs + "/ca.crt")
ctx.load_cert_chain(certs + "/client.crt", certs + "/client.key")
conn = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=20), server_hostname="127.0.0.1")
head = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" % path
if protocol:
    head += "Sec-WebSocket-Protocol: %s\r\n" % protocol
conn.sendall((head + "\r\n").encode())
data = b""
while b"\r\n\r\n" not in data or not data.startswith(b"HTTP/1.1 101"):
    chunk = conn.recv(65536)
    if not chunk:
        break
    data += chunk
status, _, rest = data.partition(b"\r\n")
print(status.decode())
print(rest.partition(b"\r\n\r\n")[2].decode())
"#;

#[test]
fn the_api_stand_in_serves_exec_only_as_it_models_it() {
    let Some((h, api)) = with_pod("standin-exec") else {
        return;
    };
    let exec = "/api/v1/namespaces/files/pods/web/exec?command=ls&container=app&stdout=true";
    let probe = |path: &str, protocol: &str| {
        let out = run(Command::new("/usr/bin/python3")
            .args(["-c", UPGRADE_PROBE, &api.port.to_string()])
            .arg(&api.certs.dir)
            .args([path, protocol]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    // What kubectl offers is accepted, so the refusals below are for what
    // they change.
    assert!(probe(exec, "v5.channel.k8s.io").starts_with("HTTP/1.1 101 "));
    assert!(probe(exec, "v4.channel.k8s.io").starts_with("HTTP/1.1 101 "));
    // An unknown subprotocol: x/net's websocket server says 403.
    assert_eq!(
        probe(exec, "v9.channel.k8s.io"),
        "HTTP/1.1 403 Forbidden\n\n"
    );
    let none = probe(exec, "");
    assert!(
        none.starts_with("HTTP/1.1 400 ") && none.contains("without a subprotocol"),
        "{none}"
    );
    // An unknown pod or container, before any upgrade is looked at.
    let gone = probe(&exec.replace("/web/", "/gone/"), "v5.channel.k8s.io");
    assert!(
        gone.starts_with("HTTP/1.1 404 ") && gone.contains(r#""reason": "NotFound""#),
        "{gone}"
    );
    let other = probe(&exec.replace("=app", "=db"), "v5.channel.k8s.io");
    assert!(
        other.contains("container db is not valid for pod web"),
        "{other}"
    );
    // Without an upgrade, as the real API server answers.
    let (out, _) = run_within(&mut h.kubectl(&["get", "--raw", exec]), LIMIT);
    assert_eq!(
        text(&out.stderr),
        "Error from server (BadRequest): Upgrade request required\n"
    );
}
