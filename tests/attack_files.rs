//! Issue #9, items 2, 3, 6 and 7, done the way u7s-admin would do them:
//! links planted in the directories it owns, and a directory swapped for a
//! link while root's `kubeadm init` runs. Root must never follow them. Each
//! attack runs the real binary as root on a host tree (`U7S_ROOT`) with the
//! real u7s-admin and its rootlesskit namespaces; the links point at a
//! root-owned directory outside the tree (a stand-in for /etc or
//! /etc/bash_completion.d, so a failure here cannot damage this machine) or
//! at the real /etc/shadow for reads. For each: the command refuses (exit 1,
//! one line naming the problem) or is contained, it ends in bounded time,
//! the link targets are unchanged and the tree changed only where init
//! writes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

use support::attack::{as_admin, assert_unchanged, run_within, snapshot};
use support::flowhost::{is_link, victim_dir, FlowHost};
use support::*;

/// One flow at a time: they share u7s-admin's namespaces.
static SERIAL: Mutex<()> = Mutex::new(());

const LIMIT: Duration = Duration::from_secs(90);

/// Where `kubeadm init` may write in the tree (relative paths).
const INIT_WRITES: &[&str] = &[
    "etc/podsec/u7s/config",
    "etc/sysctl.d",
    "proc/sys/net/ipv4/ip_forward",
    "etc/subuid",
    "etc/subgid",
    "var/lib/u7s-admin",
    "etc/kubernetes",
    "var/lib/podsec",
    "etc/cni",
    "run/user",
    "root/.kube",
    "root",
    "etc",
    "var/lib",
    "var",
    "proc/sys/net/ipv4",
    "proc/sys/net",
    "proc/sys",
    "proc",
    "run",
    "",
];

fn init(h: &FlowHost) -> Output {
    let mut cmd = h.kubeadm(&["init", "--ignore-preflight-errors=Port"]);
    run_within(&mut cmd, LIMIT).0
}

/// The refusal's shape in a flow: status 1, stdout empty, and the one line
/// that reports the failure names `words`.
fn assert_refused_step(out: &Output, words: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let failures: Vec<&str> = err.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(failures.len(), 1, "one error line: {err}");
    for w in words {
        assert!(failures[0].contains(w), "{w:?} not in {:?}", failures[0]);
    }
}

/// Every path of the tree that was created or changed lies where init
/// writes, and `kept` (the attacker's link) is still the same link.
fn assert_tree_changes_are_inits(
    h: &FlowHost,
    before: &std::collections::BTreeMap<PathBuf, support::attack::Entry>,
    kept: &[&str],
) {
    let after = snapshot(&[&h.tree.root]);
    for (path, entry) in &after {
        if before.get(path) == Some(entry) {
            continue;
        }
        let rel = path
            .strip_prefix(&h.tree.root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            INIT_WRITES
                .iter()
                .any(|w| rel == *w || (!w.is_empty() && rel.starts_with(&format!("{w}/")))),
            "{rel} changed outside what init writes"
        );
        assert!(
            !kept.contains(&rel.as_str()),
            "{rel} (the planted link) changed"
        );
    }
    for k in kept {
        let p = h.tree.root.join(k);
        assert!(is_link(&p), "{k} is no longer the planted link");
    }
}

/// Item 2: admin.conf -> /etc/shadow (kubeadm's output is u7s-admin's to
/// change). Root must not copy shadow into a kubeconfig: it reads
/// admin.conf without following a link, and refuses.
#[test]
fn a_symlinked_admin_conf_is_refused_not_copied() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-adminconf");
    h.after_kubeadm(
        "rm -f \"$U7S_ROOT/etc/kubernetes/admin.conf\"; ln -s /etc/shadow \"$U7S_ROOT/etc/kubernetes/admin.conf\"\n",
    );
    let shadow = [Path::new("/etc/shadow")];
    let target = snapshot(&shadow);
    let out = init(&h);
    assert_refused_step(&out, &["/etc/kubernetes/admin.conf", "symbolic link"]);
    assert_unchanged(&target, &shadow);
    assert!(!h.path("/root/.kube/config").exists(), "root's kubeconfig");
    assert!(!h.path("/var/lib/u7s-admin/.kube/config").exists());
    let shadow_text = std::fs::read("/etc/shadow").unwrap();
    for file in [h.path("/root"), h.path("/var/lib/u7s-admin")] {
        assert!(
            !holds(&file, &shadow_text),
            "shadow was copied under {}",
            file.display()
        );
    }
}

/// Whether a file under `dir` holds `bytes`.
fn holds(dir: &Path, bytes: &[u8]) -> bool {
    snapshot(&[dir]).keys().any(|p| {
        !is_link(p)
            && p.is_file()
            && std::fs::read(p).is_ok_and(|b| !bytes.is_empty() && b == bytes)
    })
}

/// Item 2: `~/.kube` -> a root directory (bash's completion dir on a real
/// host). Root would create a u7s-admin-owned file in it that root's bash
/// sources; the kubeconfig is written as u7s-admin, refusing the link.
#[test]
fn a_symlinked_dot_kube_gets_no_file_from_root() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-dotkube");
    let victim = victim_dir("dotkube");
    let home = h.admin_dir("/var/lib/u7s-admin", 0o700);
    as_admin(&format!(
        "ln -s {} {}/.kube",
        victim.display(),
        home.display()
    ));
    let (target, tree) = (snapshot(&[&victim]), snapshot(&[&h.tree.root]));
    let out = init(&h);
    assert_refused_step(&out, &["/var/lib/u7s-admin/.kube", "symbolic link"]);
    assert_unchanged(&target, &[&victim]);
    assert_tree_changes_are_inits(&h, &tree, &["var/lib/u7s-admin/.kube"]);
}

/// Item 2: `~/.config/usernetes` -> a root directory: the env file (with
/// the join secrets) and the kubeadm configuration are written as
/// u7s-admin, refusing the link.
#[test]
fn a_symlinked_config_dir_gets_no_file_from_root() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-usernetes");
    let victim = victim_dir("usernetes");
    let home = h.admin_dir("/var/lib/u7s-admin", 0o700);
    as_admin(&format!(
        "mkdir -p {home}/.config && ln -s {} {home}/.config/usernetes",
        victim.display(),
        home = home.display()
    ));
    let (target, tree) = (snapshot(&[&victim]), snapshot(&[&h.tree.root]));
    let out = init(&h);
    assert_refused_step(
        &out,
        &["/var/lib/u7s-admin/.config/usernetes", "symbolic link"],
    );
    assert_unchanged(&target, &[&victim]);
    assert_tree_changes_are_inits(&h, &tree, &["var/lib/u7s-admin/.config/usernetes"]);
}

/// After kubeadm join, the used join secrets are written out of the env
/// files and the kubeadm configuration. A u7s-admin that swaps
/// `~/.config/usernetes` for a link to a root directory right after
/// kubeadm gets nothing written there: root's own env file loses the
/// secrets, u7s-admin's files are written as u7s-admin, refusing the link.
#[test]
fn a_config_dir_swapped_after_join_gets_nothing_from_root() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-forget");
    let victim = victim_dir("forget");
    // A cluster to join (the model's join checks the token and the CA
    // hash), made before the hook is set: the hook is this host's.
    let s = h.seed_cluster();
    h.after_kubeadm(&format!(
        "d=\"$U7S_ROOT/var/lib/u7s-admin/.config\"; mv \"$d/usernetes\" \"$d/usernetes.real\" && ln -s {} \"$d/usernetes\"\n",
        victim.display()
    ));
    let target = snapshot(&[&victim]);
    let mut args = s.join_args();
    args.push("--ignore-preflight-errors=Port");
    let mut cmd = h.kubeadm(&args);
    let out = run_within(&mut cmd, LIMIT).0;
    assert_refused_step(
        &out,
        &["/var/lib/u7s-admin/.config/usernetes", "symbolic link"],
    );
    assert_unchanged(&target, &[&victim]);
    assert!(is_link(&h.path("/var/lib/u7s-admin/.config/usernetes")));
    let root_env = std::fs::read_to_string(h.path("/etc/podsec/u7s/config/env")).unwrap();
    assert!(root_env.contains("U7S_TOKEN=''\n"), "{root_env}");
}

/// Item 3: a link at /etc/kubernetes/audit made root write the audit policy
/// into any directory. It is written as u7s-admin now, refusing the link.
#[test]
fn a_symlinked_audit_dir_gets_no_policy() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-audit");
    let victim = victim_dir("audit");
    let k = h.admin_dir("/etc/kubernetes", 0o755);
    as_admin(&format!("ln -s {} {}/audit", victim.display(), k.display()));
    let (target, tree) = (snapshot(&[&victim]), snapshot(&[&h.tree.root]));
    let out = init(&h);
    assert_refused_step(&out, &["/etc/kubernetes/audit", "symbolic link"]);
    assert_unchanged(&target, &[&victim]);
    assert_tree_changes_are_inits(&h, &tree, &["etc/kubernetes/audit"]);
}

/// Items 3 and 7: pki -> /etc, planted before init, and dangling links at
/// the very names the backups will take (one per second for the next two
/// minutes). Moving the previous pki aside renames the link itself (as
/// u7s-admin) and never replaces a name (a check, then a rename, replaced
/// a dangling link planted there); the new pki is made as u7s-admin. The
/// link's target is never chowned or chmodded, and init finishes.
#[test]
fn a_planted_pki_link_is_moved_aside_never_followed() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-pki");
    let victim = victim_dir("pki");
    let k = h.admin_dir("/etc/kubernetes", 0o755);
    as_admin(&format!("ln -s {} {}/pki", victim.display(), k.display()));
    let now = std::time::SystemTime::now();
    let mut planted = Vec::new();
    for s in 0..120 {
        let stamp = u7s::flow::execute::utc_stamp(now + Duration::from_secs(s));
        let name = format!("pki.u7s-backup-{stamp}");
        planted.push(name.clone());
        as_admin_quiet(&format!("ln -s /nonexistent-{s} {}/{name}", k.display()));
    }
    let target = snapshot(&[&victim]);
    let out = init(&h);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_unchanged(&target, &[&victim]);
    assert!(!is_link(&k.join("pki")) && k.join("pki").is_dir());
    for (s, name) in planted.iter().enumerate() {
        let link = std::fs::read_link(k.join(name)).unwrap();
        assert_eq!(
            link,
            PathBuf::from(format!("/nonexistent-{s}")),
            "{name} was replaced"
        );
    }
    let moved: Vec<PathBuf> = std::fs::read_dir(&k)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read_link(p).is_ok_and(|t| t == victim))
        .collect();
    assert_eq!(
        moved.len(),
        1,
        "the planted pki moved aside as a link: {moved:?}"
    );
}

/// `as_admin` for many small steps (no output expected).
fn as_admin_quiet(script: &str) {
    let _ = as_admin(script);
}

/// A process of u7s-admin that swaps `dir/pki` for a link to `victim` as
/// fast as the kernel lets it: renameat2(RENAME_EXCHANGE) of `pki` and a
/// prepared `pki.l` (a link), and when `pki` is gone (moved aside), the
/// link put in its place at once. The swaps are counted in memory shared
/// with the test.
struct Swapper {
    pid: libc::pid_t,
    count: *const std::sync::atomic::AtomicU64,
}

use nix::libc;

impl Swapper {
    fn start(dir: &Path, victim: &Path) -> Swapper {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let a = admin();
        as_admin(&format!(
            "ln -sfn {} {}/pki.l",
            victim.display(),
            dir.display()
        ));
        let dir_c = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let victim_c = CString::new(victim.as_os_str().as_bytes()).unwrap();
        let (pki, link) = (c"pki", c"pki.l");
        // SAFETY: an anonymous shared page for one counter.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(page, libc::MAP_FAILED);
        let count = page as *const std::sync::atomic::AtomicU64;
        // SAFETY: the child calls only async-signal-safe system calls on
        // memory prepared before the fork, and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresgid(a.gid, a.gid, a.gid) != 0
                    || libc::setresuid(a.uid, a.uid, a.uid) != 0
                {
                    libc::_exit(1);
                }
                let fd = libc::open(dir_c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY);
                loop {
                    let r =
                        libc::renameat2(fd, link.as_ptr(), fd, pki.as_ptr(), libc::RENAME_EXCHANGE);
                    if r != 0 && *libc::__errno_location() == libc::ENOENT {
                        libc::renameat(fd, link.as_ptr(), fd, pki.as_ptr());
                        libc::symlinkat(victim_c.as_ptr(), fd, link.as_ptr());
                    }
                    (*count).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    libc::sched_yield();
                }
            }
        }
        Swapper { pid, count }
    }

    fn swaps(&self) -> u64 {
        // SAFETY: the shared page lives until the test process ends.
        unsafe { (*self.count).load(std::sync::atomic::Ordering::Relaxed) }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        // SAFETY: our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// Items 3 and 7 under a race: u7s-admin swaps /etc/kubernetes/pki between
/// a directory and a link to a root directory, as fast as it can, while
/// root runs init again and again (the old code checked `pki` by path and
/// then chmodded and chowned it by path: the target became u7s-admin's).
/// Whatever each run meets, it ends in bounded time, fails with one line
/// if it fails, and the link's target is never touched.
#[test]
fn swapping_pki_for_a_link_during_init_never_reaches_the_target() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-race");
    let victim = victim_dir("race");
    let k = h.admin_dir("/etc/kubernetes", 0o755);
    std::fs::create_dir_all(k.join("pki")).unwrap();
    let target = snapshot(&[&victim]);
    let swapper = Swapper::start(&k, &victim);
    let mut runs = 0;
    let start = std::time::Instant::now();
    while runs < 6 || swapper.swaps() < 200 {
        assert!(start.elapsed() < Duration::from_secs(600), "too slow");
        // From a clean slate, so every run reaches the pki steps.
        let _ = std::fs::remove_file(h.path("/etc/podsec/u7s/config/state"));
        let out = init(&h);
        runs += 1;
        if !out.status.success() {
            assert_refused_step(&out, &["failed"]);
        }
        assert_unchanged(&target, &[&victim]);
    }
    let swaps = swapper.swaps();
    drop(swapper);
    assert_unchanged(&target, &[&victim]);
    eprintln!("{runs} init runs during {swaps} swaps");
}

/// Item 6: the real reset (the model deletes what kubeadm reset deletes,
/// inside) runs after the PKI with the CA key, the kubeconfigs, the
/// manifests and the etcd data were moved aside; the backups hold them.
#[test]
fn reset_backs_up_before_the_real_reset_deletes() {
    if !require_host() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = FlowHost::new("atk-reset");
    let out = init(&h);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::create_dir_all(h.path("/var/lib/podsec/u7s/etcd/member/snap")).unwrap();
    std::fs::write(h.path("/var/lib/podsec/u7s/etcd/member/snap/db"), "DB").unwrap();
    let key = std::fs::read(h.path("/etc/kubernetes/pki/ca.key")).unwrap();
    let mut cmd = h.kubeadm(&["reset", "-f"]);
    let (out, _) = run_within(&mut cmd, LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reset = h.model.calls().pop().unwrap();
    assert!(
        reset.starts_with(&["reset", "-f"]) && reset.exit == Some(0),
        "the real reset ran: {reset:?}"
    );
    let backup = |dir: &str| {
        let parent = h.path(dir).parent().unwrap().to_path_buf();
        let name = Path::new(dir)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        std::fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{name}.u7s-backup-"))
            })
            .unwrap_or_else(|| panic!("no backup of {dir}"))
    };
    assert_eq!(
        std::fs::read(backup("/etc/kubernetes").join("pki/ca.key")).unwrap(),
        key
    );
    assert!(backup("/etc/kubernetes").join("admin.conf").is_file());
    assert_eq!(
        std::fs::read_to_string(backup("/var/lib/podsec/u7s/etcd").join("member/snap/db")).unwrap(),
        "DB"
    );
}
