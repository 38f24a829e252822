//! A real systemd to test the units under: a Debian bookworm root file system
//! built once with debootstrap (cached in `.cache/rootfs-bookworm`, reused while
//! its stamp matches), a throw-away overlay on it per container, booted with
//! `systemd-nspawn -b` and entered with `nsenter -t <pid 1> -a`.
//!
//! This host runs no systemd, so nspawn gets `--register=no --keep-unit`, and
//! its own cgroup (in every hierarchy) made by us, so that its leftovers can be
//! removed. Teardown (in `Drop`, so also when a test panics) kills the
//! container's pid 1 — the kernel then kills everything in its pid namespace,
//! nested ones included — waits for nspawn, unmounts and removes it all.

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Packages the cached root file system holds (its stamp records them).
pub const PACKAGES: &[&str] = &[
    "systemd",
    "dbus",
    "dbus-user-session",
    "libpam-systemd",
    "systemd-container",
    "uidmap",
    "slirp4netns",
    "rootlesskit",
    "iproute2",
    "python3-minimal",
    // For the multi-host test (tests/multihost.rs): the stand-ins' TLS and
    // HTTP (python3's full standard library), the kubeadm model's
    // certificates (openssl), the OCI tools preflight requires (crun,
    // conmon; never run there) and the load balancer of the guide (haproxy).
    "python3",
    "openssl",
    "crun",
    "conmon",
    "haproxy",
];
pub const SUITE: &str = "bookworm";
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
const STAMP: &str = ".u7s-rootfs-stamp";

/// What keeps the nspawn tests from running here, if anything.
pub fn problem() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("systemd-nspawn tests need root".into());
    }
    for (tool, pkg) in [
        ("/usr/sbin/debootstrap", "debootstrap"),
        ("/usr/bin/systemd-nspawn", "systemd-container"),
        ("/usr/bin/nsenter", "util-linux"),
    ] {
        if !Path::new(tool).exists() {
            return Some(format!("{tool} is missing (apt-get install {pkg})"));
        }
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .is_err()
    {
        return Some("/dev/net/tun cannot be opened".into());
    }
    if std::fs::read_to_string("/proc/filesystems")
        .map(|f| !f.contains("overlay"))
        .unwrap_or(true)
    {
        return Some("the kernel has no overlay file system".into());
    }
    None
}

/// The Debian mirror: `U7S_TEST_DEBIAN_MIRROR`, else the first `URIs:` of the
/// host's deb822 sources that serves the suite (not the security archive),
/// else deb.debian.org.
pub fn mirror() -> String {
    if let Some(m) = std::env::var("U7S_TEST_DEBIAN_MIRROR")
        .ok()
        .filter(|m| !m.is_empty())
    {
        return m;
    }
    let text =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    mirror_from_sources(&text).unwrap_or_else(|| DEFAULT_MIRROR.to_owned())
}

/// The first stanza's URI whose suites name [`SUITE`] itself.
pub fn mirror_from_sources(text: &str) -> Option<String> {
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(|v| v.trim().to_owned())
            })
        };
        let (Some(uris), Some(suites)) = (field("URIs"), field("Suites")) else {
            continue;
        };
        if suites.split_whitespace().any(|s| s == SUITE) {
            if let Some(uri) = uris.split_whitespace().next() {
                return Some(uri.to_owned());
            }
        }
    }
    None
}

fn stamp_text(mirror: &str) -> String {
    format!(
        "suite={SUITE}\nmirror={mirror}\npackages={}\n",
        PACKAGES.join(",")
    )
}

pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache")
}

fn run_ok(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out)
}

/// The cached root file system, built when missing or stale. Builds go into a
/// temporary name and are renamed into place when complete; a lock file keeps
/// test binaries running at once from building it twice.
pub fn rootfs() -> Result<PathBuf, String> {
    let cache = cache_dir();
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let lock = std::fs::File::create(cache.join("rootfs.lock")).map_err(|e| e.to_string())?;
    // Held until this function returns.
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("lock the rootfs cache: {e}"))?;
    let dir = cache.join(format!("rootfs-{SUITE}"));
    let mirror = mirror();
    let want = stamp_text(&mirror);
    let stamp = std::fs::read_to_string(dir.join(STAMP)).ok();
    // A cache from another mirror is as good; only suite and packages count.
    let same = |s: &str| {
        let keep = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with("mirror="))
                .collect::<Vec<_>>()
                .join("\n")
        };
        keep(s) == keep(&want)
    };
    if stamp.as_deref().is_some_and(same) {
        return Ok(dir);
    }
    let started = Instant::now();
    let tmp = cache.join(format!("rootfs-{SUITE}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    run_ok(
        Command::new("debootstrap")
            .arg("--variant=minbase")
            .arg(format!("--include={}", PACKAGES.join(",")))
            .arg(SUITE)
            .arg(&tmp)
            .arg(&mirror),
        "debootstrap",
    )
    .inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&tmp);
    })?;
    // Downloaded packages are not needed to boot.
    if let Ok(entries) = std::fs::read_dir(tmp.join("var/cache/apt/archives")) {
        for e in entries.flatten() {
            if e.path().extension() == Some(OsStr::new("deb")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    std::fs::write(tmp.join(STAMP), &want).map_err(|e| e.to_string())?;
    if dir.exists() {
        let old = cache.join(format!("rootfs-{SUITE}.old-{}", std::process::id()));
        std::fs::rename(&dir, &old).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&old);
    }
    std::fs::rename(&tmp, &dir).map_err(|e| e.to_string())?;
    eprintln!(
        "nspawn: built {} with debootstrap from {mirror} in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(dir)
}

/// Where the cgroup hierarchies are: the cgroup2 one and, on a hybrid host,
/// the named systemd v1 one. nspawn is started inside a fresh group of each.
fn cgroup_parents() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.subtree_control").exists() {
        return vec![root.to_path_buf()];
    }
    [root.join("unified"), root.join("systemd")]
        .into_iter()
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

fn remove_cgroup_tree(dir: &Path) {
    if !dir.exists() {
        return;
    }
    let mut dirs = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(e.path());
                }
            }
        }
        dirs.push(d);
    }
    // Deepest first; processes may take a moment to leave.
    for _ in 0..50 {
        dirs.retain(|d| std::fs::remove_dir(d).is_err() && d.exists());
        if dirs.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("nspawn: could not remove cgroups {dirs:?}");
}

/// How a container is connected and what it sees of the host.
#[derive(Debug, Clone, Default)]
pub struct BootOptions {
    /// Join this network namespace (`--network-namespace-path`) instead of a
    /// private one with only a loopback device.
    pub netns: Option<PathBuf>,
    /// Host paths bound into the container: (host path, container path, read-only).
    pub binds: Vec<(PathBuf, String, bool)>,
}

/// A booted container. Dropping it tears it down.
pub struct Container {
    pub name: String,
    /// The container's pid 1 (systemd), as the host sees it.
    pub pid1: i32,
    /// The container's root (the overlay), writable from the host.
    pub root: PathBuf,
    work: PathBuf,
    nspawn: Option<Child>,
    cgroups: Vec<PathBuf>,
    /// The cgroup path of the container as host processes show it.
    pub cgroup: String,
    pub log: PathBuf,
    /// From spawning nspawn to the container's systemd running.
    pub pid1_time: Duration,
    /// From spawning nspawn to `systemctl is-system-running` answering.
    pub boot_time: Duration,
}

/// Units a test container does without: timers, the console getty, utmp, and
/// journald writing to disk (volatile is enough and skips the flush).
const MASKED: &[&str] = &[
    "console-getty.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "systemd-tmpfiles-clean.timer",
    "systemd-journal-flush.service",
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
];

fn trim_boot(root: &Path) {
    let etc = root.join("etc/systemd/system");
    std::fs::create_dir_all(&etc).unwrap();
    for unit in MASKED {
        let link = etc.join(unit);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    }
    write_file(
        root,
        "/etc/systemd/journald.conf.d/volatile.conf",
        "[Journal]\nStorage=volatile\n",
        0o644,
    );
}

fn pid_ns(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

fn parent_of(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) {
                if parent_of(p) == Some(pid) {
                    out.push(p);
                }
            }
        }
    }
    out
}

impl Container {
    /// Lays out a container on `base` (read-only lower layer), lets `prepare`
    /// write into its root, boots it and waits until systemd is up.
    pub fn boot(name: &str, base: &Path, prepare: impl FnOnce(&Path)) -> Container {
        Container::boot_with(name, base, &BootOptions::default(), prepare)
    }

    /// [`Container::boot`] with a network namespace and bind mounts of its own.
    pub fn boot_with(
        name: &str,
        base: &Path,
        options: &BootOptions,
        prepare: impl FnOnce(&Path),
    ) -> Container {
        let id = format!("{name}-{}", std::process::id());
        let work = std::env::temp_dir().join(format!("u7s-nspawn-{id}"));
        let _ = std::fs::remove_dir_all(&work);
        for d in ["upper", "work", "root"] {
            std::fs::create_dir_all(work.join(d)).unwrap();
        }
        let root = work.join("root");
        let cgroups: Vec<PathBuf> = cgroup_parents()
            .into_iter()
            .map(|p| p.join(format!("u7s-nspawn-{id}")))
            .collect();
        let mut c = Container {
            pid1_time: Duration::ZERO,
            name: name.to_owned(),
            pid1: 0,
            root: root.clone(),
            work: work.clone(),
            nspawn: None,
            cgroups: cgroups.clone(),
            cgroup: format!("/u7s-nspawn-{id}/"),
            log: work.join("console.log"),
            boot_time: Duration::ZERO,
        };
        run_ok(
            Command::new("mount")
                .args(["-t", "overlay", "overlay", "-o"])
                .arg(format!(
                    "lowerdir={},upperdir={},workdir={}",
                    base.display(),
                    work.join("upper").display(),
                    work.join("work").display()
                ))
                .arg(&root),
            "mount the overlay",
        )
        .unwrap();
        trim_boot(&root);
        prepare(&root);
        for g in &cgroups {
            std::fs::create_dir_all(g).unwrap();
        }
        // The shell joins the groups, then becomes nspawn.
        let mut script = String::new();
        for g in &cgroups {
            script.push_str(&format!("echo $$ > '{}/cgroup.procs' && ", g.display()));
        }
        script.push_str("exec \"$@\"");
        let network = match &options.netns {
            Some(path) => format!("--network-namespace-path={}", path.display()),
            None => "--private-network".to_owned(),
        };
        let binds = options.binds.iter().map(|(from, to, ro)| {
            let flag = if *ro { "--bind-ro" } else { "--bind" };
            format!("{flag}={}:{to}", from.display())
        });
        let started = Instant::now();
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .arg("sh")
            .arg("systemd-nspawn")
            .args(["-q", "-b", "-D"])
            .arg(&root)
            .args([
                "--register=no",
                "--keep-unit",
                &network,
                "--bind=/dev/net/tun",
                "--console=read-only",
            ])
            .args(binds)
            .arg(format!("--machine={name}"))
            .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1")
            // nspawn leaves /proc/sys/net writable only for a network
            // namespace of its own making; a joined one is as private.
            .env(
                "SYSTEMD_NSPAWN_API_VFS_WRITABLE",
                if options.netns.is_some() {
                    "network"
                } else {
                    "0"
                },
            )
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&c.log).unwrap())
            .stderr(std::fs::File::create(work.join("nspawn.stderr")).unwrap())
            .spawn()
            .expect("start systemd-nspawn");
        let nspawn_pid = child.id() as i32;
        c.nspawn = Some(child);
        let own = pid_ns(std::process::id() as i32);
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.pid1 == 0 {
            if let Some(p) = children_of(nspawn_pid)
                .into_iter()
                .find(|p| pid_ns(*p).is_some() && pid_ns(*p) != own)
            {
                c.pid1 = p;
                break;
            }
            if let Some(Ok(Some(status))) = c.nspawn.as_mut().map(|n| n.try_wait()) {
                panic!("systemd-nspawn exited ({status}): {}", c.diagnostics());
            }
            assert!(
                Instant::now() < deadline,
                "no container pid 1: {}",
                c.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // nspawn's child becomes systemd only after its setup; systemd's bus
        // comes a little later ("offline" until then).
        let state = loop {
            let comm =
                std::fs::read_to_string(format!("/proc/{}/comm", c.pid1)).unwrap_or_default();
            if comm.trim() == "systemd" {
                if c.pid1_time.is_zero() {
                    c.pid1_time = started.elapsed();
                }
                let out = c.exec(&["systemctl", "is-system-running", "--wait"]);
                let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if state != "offline" && !state.is_empty() {
                    break state;
                }
            }
            if Instant::now() > deadline {
                break format!("not up in time, comm {comm:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        c.boot_time = started.elapsed();
        assert!(
            state == "running" || state == "degraded",
            "container did not boot ({state}): {}",
            c.diagnostics()
        );
        c
    }

    /// `nsenter -t <pid 1> -a -- ARGS` (never the host: pid 1 is checked to be
    /// in another pid namespace).
    pub fn command(&self, args: &[&str]) -> Command {
        assert_ne!(
            pid_ns(self.pid1),
            pid_ns(std::process::id() as i32),
            "refusing to enter the host's own namespaces"
        );
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid1.to_string())
            .args(["-a", "--"])
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        cmd
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("nsenter")
    }

    /// Runs a shell script as root in the container.
    pub fn sh(&self, script: &str) -> Output {
        self.exec(&["/bin/sh", "-c", script])
    }

    /// Runs ARGS as a transient unit of `user`'s systemd user manager, with its
    /// exit status (unlike `machinectl shell`, which always exits 0).
    pub fn as_user(&self, user: &str, args: &[&str]) -> Output {
        let machine = format!("{user}@");
        let mut all = vec![
            "systemd-run",
            "-M",
            &machine,
            "--user",
            "--pipe",
            "--wait",
            "--quiet",
            "--",
        ];
        all.extend_from_slice(args);
        self.exec(&all)
    }

    /// Host pids of the container's processes in a cgroup whose path contains
    /// all of `parts`, with their comm and command line.
    pub fn processes(&self, parts: &[&str]) -> Vec<(i32, String, String)> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return out;
        };
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(cg) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
                continue;
            };
            let Some(path) = cg.lines().find_map(|l| l.strip_prefix("0::")) else {
                continue;
            };
            if !path.starts_with(&self.cgroup) || !parts.iter().all(|p| path.contains(p)) {
                continue;
            }
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            out.push((pid, comm, cmdline));
        }
        out
    }

    /// The console log, nspawn's stderr and the journal's tail, for failures.
    pub fn diagnostics(&self) -> String {
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let mut text = format!(
            "--- nspawn stderr\n{}\n--- console (tail)\n{}",
            read(self.work.join("nspawn.stderr")),
            tail(&read(self.log.clone()), 40)
        );
        if self.pid1 > 0 && std::fs::metadata(format!("/proc/{}", self.pid1)).is_ok() {
            let j = self.exec(&["journalctl", "-b", "--no-pager", "-n", "120"]);
            text.push_str(&format!(
                "\n--- journal (tail)\n{}",
                String::from_utf8_lossy(&j.stdout)
            ));
        }
        text
    }

    fn teardown(&mut self) {
        if self.pid1 > 0 {
            // SIGKILL from outside ends the whole pid namespace at once.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid1),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if let Some(mut child) = self.nspawn.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        for g in &self.cgroups {
            remove_cgroup_tree(g);
        }
        let mut unmounted = false;
        for _ in 0..50 {
            let out = Command::new("umount")
                .arg(&self.root)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if matches!(out, Ok(s) if s.success()) || !is_mounted(&self.root) {
                unmounted = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if unmounted {
            let _ = std::fs::remove_dir_all(&self.work);
        } else {
            eprintln!(
                "nspawn: {} is still mounted; left in place",
                self.root.display()
            );
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn is_mounted(path: &Path) -> bool {
    let p = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|m| m.lines().any(|l| l.split(' ').nth(4) == Some(&*p)))
        .unwrap_or(false)
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// u7s-admin's home in the containers, as useradd makes it.
pub const ADMIN_HOME: &str = "/var/lib/u7s-admin";

/// The kubelet configuration kubeadm would have written, which the
/// stand-in kubelet reads from u7s-admin's kubelet directory.
pub const KUBELET_CONFIG: &str = "\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
staticPodPath: /etc/kubernetes/manifests
";

/// What every systemd-booted test installs into its container root: u7s
/// as the package lays it out (packaging/install.sh), crio's stand-in and
/// `kubelet` as the real tools, and the CNI plugins' directory.
pub fn install_u7s(root: &Path, kubelet: &str) {
    run_ok(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
            .arg(env!("CARGO_BIN_EXE_u7s"))
            .env("DESTDIR", root),
        "install.sh",
    )
    .unwrap();
    write_file(root, "/usr/bin/crio", super::CRIO_STANDIN, 0o755);
    write_file(root, "/usr/bin/kubelet", kubelet, 0o755);
    std::fs::create_dir_all(root.join("usr/libexec/cni")).unwrap();
}

/// A single node's u7s-admin as `kubeadm init` leaves it (useradd --root,
/// home [`ADMIN_HOME`], subordinate ids, lingering) and its /etc/hosts
/// (debootstrap leaves none; rootlesskit's child copies it). Returns
/// u7s-admin's (uid, gid).
pub fn add_admin(root: &Path) -> (u32, u32) {
    run_ok(
        Command::new("useradd").arg("--root").arg(root).args([
            "-r",
            "-m",
            "-d",
            ADMIN_HOME,
            "-s",
            "/bin/bash",
            "u7s-admin",
        ]),
        "useradd",
    )
    .unwrap();
    write_file(
        root,
        "/etc/hosts",
        "127.0.0.1 localhost\n::1 localhost\n",
        0o644,
    );
    write_file(root, "/etc/subuid", "u7s-admin:100000:65536\n", 0o644);
    write_file(root, "/etc/subgid", "u7s-admin:100000:65536\n", 0o644);
    write_file(root, "/var/lib/systemd/linger/u7s-admin", "", 0o644);
    ids_in(root, "u7s-admin").expect("u7s-admin in the container")
}

/// Writes `text` to `root`/`path` with `mode`, creating the parents.
pub fn write_file(root: &Path, path: &str, text: &str, mode: u32) -> PathBuf {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// uid and gid of `user` in the passwd file under `root`.
pub fn ids_in(root: &Path, user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&user) && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

/// chown -R to `ids`, not following symlinks.
pub fn chown_tree(path: &Path, ids: (u32, u32)) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    std::os::unix::fs::lchown(path, Some(ids.0), Some(ids.1)).unwrap();
    if meta.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            chown_tree(&e.path(), ids);
        }
    }
}
