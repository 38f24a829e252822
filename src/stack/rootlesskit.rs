//! The rootlesskit role (reference `usernetes/bin/rootlesskit.sh`).
//!
//! Parent side, as u7s-admin on the host: read the env file, then exec the
//! real rootlesskit with the podsec flags and this binary as the child
//! command, marked by [`CHILD_MARKER`]. Child side, as uid 0 inside the new
//! user, mount, network, pid, ipc, uts and cgroup namespaces: the setup steps
//! of [`ChildPlan`], the readiness file, then the command (crio in
//! production).
//!
//! What is decided is pure ([`parent_args`], [`child_plan`],
//! [`evacuate_cgroup2`]); what touches the system is a few thin functions
//! below them, each failure naming its step.
//!
//! `--evacuate-cgroup2` moves every process of our cgroup into a
//! `rootlesskit_evac` subgroup so that the cgroup can have its controllers
//! delegated to kubelet. It only works on a host with the unified cgroup v2
//! hierarchy alone at `/sys/fs/cgroup`, and only when our cgroup is
//! delegated to us (the unit's `Delegate=yes`). On a cgroup v1 or hybrid
//! host, or without delegation, rootlesskit would fail to start with it, so
//! the flag is added only when both hold (a warning says why it is left out
//! on a cgroup v2 host without delegation).

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::mount::{mount, MsFlags};

use super::ports::{self, PortSpec};
use crate::exec::{self, Invocation};
use crate::layout::admin::load_env_file;
use crate::layout::AdminDirs;
use crate::ns::state::{API_SOCK, CHILD_PID, READY_FILE};
use crate::settings::envfile::write_atomic;
use crate::settings::EnvFile;
use crate::tools::{self, Tool};

/// Set (to `1`) in the environment of the child command that rootlesskit
/// runs, so that this binary knows it is the child. Removed before the
/// command proper runs.
pub const CHILD_MARKER: &str = "_U7S_ROOTLESSKIT_CHILD";

/// The applet name the child is started under (`u7s rootlesskit ...`).
pub const APPLET: &str = "rootlesskit";

/// Where the CNI plugins are on the host (`U7S_CNI_BIN_DIR` overrides).
pub const DEFAULT_CNI_BIN_DIR: &str = "/usr/libexec/cni";
pub const CNI_BIN_DIR_VAR: &str = "U7S_CNI_BIN_DIR";

/// The subgroup `--evacuate-cgroup2` moves our processes into.
pub const EVAC_GROUP: &str = "rootlesskit_evac";

/// The SPEC's rootlesskit flags, without `--evacuate-cgroup2` (see the
/// module documentation) and `--cidr` (from the env file).
pub const FLAGS: &[&str] = &[
    "--net=slirp4netns",
    "--mtu=65520",
    "--disable-host-loopback",
    "--slirp4netns-sandbox=true",
    "--slirp4netns-seccomp=true",
    "--port-driver=builtin",
    "--copy-up=/etc",
    "--copy-up=/run",
    "--copy-up=/var/lib",
    "--copy-up=/opt",
    "--cgroupns",
    "--pidns",
    "--ipcns",
    "--utsns",
    "--propagation=rslave",
];

/// How long the child waits for rootlesskit's `child_pid` and `api.sock`
/// (rootlesskit issue #37: they may appear after the child starts).
pub const STATE_WAIT: Duration = Duration::from_secs(30);

/// Whether to pass `--evacuate-cgroup2`: only on a cgroup v2-only host
/// whose cgroup of ours we may write (delegated). The second value is a
/// warning for the case that loses kubelet's cgroup management.
pub fn evacuate_cgroup2(cgroup2_only: bool, delegated: bool) -> (bool, Option<String>) {
    match (cgroup2_only, delegated) {
        (true, true) => (true, None),
        (true, false) => (false, Some(crate::tr!("cgroup-not-delegated", EVAC_GROUP))),
        (false, _) => (false, None),
    }
}

/// The real rootlesskit's arguments: state dir, flags, `--cidr` of the
/// service network, then this binary (`self_exe`) as the child command, in
/// child mode, with `cmd` after `--`.
///
/// The env file's `U7S_ROOTLESSKIT_FLAGS` is, by the env file parser's
/// check, exactly `--cidr=<U7S_SERVICECIDR>`, so it is passed once, built
/// from the service network.
pub fn parent_args(
    env: &EnvFile,
    state_dir: &Path,
    evacuate: bool,
    self_exe: &Path,
    verbosity: u8,
    cmd: &[OsString],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--state-dir".into(), state_dir.into()];
    args.extend(FLAGS.iter().map(OsString::from));
    if evacuate {
        args.push(format!("--evacuate-cgroup2={EVAC_GROUP}").into());
    }
    args.push(format!("--cidr={}", env.service_cidr).into());
    args.push(self_exe.into());
    args.push(APPLET.into());
    if verbosity > 0 {
        args.push("-v".into());
        args.push(verbosity.to_string().into());
    }
    args.push("--".into());
    args.extend(cmd.iter().cloned());
    args
}

/// A bind mount of the child-side setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: PathBuf,
    /// Create the source if missing (u7s-admin's data dirs); otherwise a
    /// missing source is an error.
    pub create_source: bool,
    /// Copy the files of this host directory into the source first (the
    /// CNI plugins; a missing directory is an error).
    pub fill_from: Option<PathBuf>,
}

/// Everything the child-side setup does, decided before doing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildPlan {
    /// Links to the host's runtime state that `--copy-up` left in /run and
    /// /etc and that would confuse the runtimes inside.
    pub stale_links: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
    /// Created if possible (the host's /usr is read-only to us).
    pub optional_dirs: Vec<PathBuf>,
    pub binds: Vec<Bind>,
    /// `(link, target)` symlinks.
    pub links: Vec<(PathBuf, PathBuf)>,
    /// The role's fixed forwards, then the recorded ones that do not clash.
    pub ports: Vec<PortSpec>,
    /// How many of `ports` are the role's fixed ones (failures there are fatal).
    pub fixed_ports: usize,
    /// Recorded forwards left out because a fixed one takes their port.
    pub clashing: Vec<PortSpec>,
    pub tap_dev: String,
    /// Given to tap0 as /32: the node's advertise address.
    pub tap_address: Ipv4Addr,
    /// Taken from tap0: the slirp4netns address `x.y.z.100/<service mask>`.
    pub slirp_address: (Ipv4Addr, u8),
}

/// The paths Kubernetes and CRI-O hard-code, bound from u7s-admin's data dir.
pub const DATA_BINDS: &[&str] = &[
    "/var/lib/kubelet",
    "/var/lib/cni",
    "/var/log",
    "/var/lib/containers",
    "/var/cache",
];

pub fn child_plan(
    env: &EnvFile,
    dirs: &AdminDirs,
    cni_bin_dir: &Path,
    recorded: &[PortSpec],
) -> Result<ChildPlan> {
    let svc = env.service_addrs()?;
    let fixed = ports::role_ports(env.control_plane, env.cni, env.bind_port);
    let mut all = fixed.clone();
    let mut clashing = Vec::new();
    for spec in recorded {
        if all.iter().any(|s| s.conflicts(spec)) {
            if !fixed.contains(spec) {
                clashing.push(*spec);
            }
        } else {
            all.push(*spec);
        }
    }
    let p = PathBuf::from;
    // /opt/cni/bin is u7s-admin's own copy of the host's plugins: the CNI
    // plugin's installer (flannel's install-cni-plugin, calico's
    // install-cni) copies its binary there from inside, and crio runs the
    // plugins from there as u7s-admin. The host's directory, which root
    // runs plugins from, stays root's and read-only to u7s-admin.
    let mut binds = vec![Bind {
        source: dirs.data_for(Path::new("/opt/cni/bin")),
        target: p("/opt/cni/bin"),
        create_source: true,
        fill_from: Some(cni_bin_dir.to_owned()),
    }];
    binds.extend(DATA_BINDS.iter().map(|t| Bind {
        source: dirs.data_for(Path::new(t)),
        target: p(t),
        create_source: true,
        fill_from: None,
    }));
    Ok(ChildPlan {
        stale_links: [
            "/run/xtables.lock",
            "/run/netns",
            "/run/runc",
            "/run/crun",
            "/run/flannel",
            "/run/containerd",
            "/run/containers",
            "/run/crio",
            "/etc/containerd",
            "/etc/crio",
        ]
        .into_iter()
        .map(p)
        .collect(),
        dirs: vec![p("/etc/kubernetes/pki"), p("/run/crio")],
        optional_dirs: vec![p("/usr/libexec/kubernetes")],
        binds,
        links: vec![
            (
                p("/run/crio/crio.sock"),
                AdminDirs::from_home("", env.uid).crio_socket(),
            ),
            (dirs.data().join("kubelet"), p("_var_lib_kubelet")),
        ],
        fixed_ports: fixed.len(),
        ports: all,
        clashing,
        tap_dev: "tap0".into(),
        tap_address: env.advertise_address,
        slirp_address: (svc.slirp4_ip, env.service_cidr.prefix()),
    })
}

/// True for the initial user namespace's identity map (`0 0 4294967295`):
/// the child-side setup must never run there (it would mount over the
/// host's /var/log).
pub fn is_initial_uid_map(text: &str) -> bool {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| !f.is_empty())
        .collect();
    lines.len() == 1 && lines[0] == ["0", "0", "4294967295"]
}

// ---------------------------------------------------------------------------
// The parent side.

fn in_initial_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|t| is_initial_uid_map(&t))
        .unwrap_or(true)
}

/// Is `/sys/fs/cgroup` the unified hierarchy alone, and may we write our
/// own cgroup there?
fn cgroup2_facts() -> (bool, bool) {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
    let unified = statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC)
        .unwrap_or(false);
    if !unified {
        return (false, false);
    }
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_owned()))
        });
    let delegated = own.is_some_and(|p| {
        let dir = Path::new("/sys/fs/cgroup").join(p.trim_start_matches('/'));
        nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok()
            && nix::unistd::access(
                &dir.join("cgroup.subtree_control"),
                nix::unistd::AccessFlags::W_OK,
            )
            .is_ok()
    });
    (true, delegated)
}

/// The parent side: prepare, then exec the real rootlesskit. Returns only
/// on failure, with the status to exit with.
pub fn run_parent(verbosity: u8, cmd: &[OsString]) -> crate::error::Result<i32> {
    let inv = prepare_parent(verbosity, cmd)?;
    Ok(exec::exec(&inv))
}

fn prepare_parent(verbosity: u8, cmd: &[OsString]) -> Result<Invocation> {
    if nix::unistd::geteuid().is_root() && in_initial_user_namespace() {
        bail!("{}", crate::tr!("rootlesskit-not-root"));
    }
    let dirs = session_dirs()?;
    let env = load_env_file(&dirs.env_file())?;
    let state_dir = dirs.state_dir();
    if let Some(parent) = state_dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| crate::tr!("cannot-create", parent.display()))?;
    }
    // A readiness file left by an earlier run must not outlive it.
    match std::fs::remove_file(state_dir.join(READY_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| {
                crate::tr!("cannot-remove-stale", state_dir.join(READY_FILE).display())
            })
        }
        _ => {}
    }
    let (unified, delegated) = cgroup2_facts();
    let (evacuate, warning) = evacuate_cgroup2(unified, delegated);
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    let me = std::env::current_exe().with_context(|| crate::tr!("cannot-find-binary"))?;
    let rootlesskit = tools::resolve(Tool::Rootlesskit).map_err(|e| anyhow!("{e}"))?;
    let args = parent_args(&env, &state_dir, evacuate, &me, verbosity, cmd);
    tracing::debug!("running {} {:?}", rootlesskit.display(), args);
    let depth = tools::next_depth().map_err(|e| anyhow!("{e}"))?;
    Ok(Invocation::new(rootlesskit, args)
        .with_env(CHILD_MARKER, "1")
        .with_env(tools::DEPTH_VAR, depth.to_string()))
}

/// u7s-admin's directories as this session (systemd's user manager) gives them.
fn session_dirs() -> Result<AdminDirs> {
    AdminDirs::from_session_env(
        &|k: &str| std::env::var_os(k),
        nix::unistd::geteuid().as_raw(),
    )
}

// ---------------------------------------------------------------------------
// The child side.

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    f().map_err(|e| {
        anyhow!(
            "{}",
            crate::tr!(
                "child-setup-step",
                name,
                crate::error::one_line(&format!("{e:#}"))
            )
        )
    })
}

/// The child side: the setup, the readiness file, then `cmd` (no command:
/// wait for a signal). Returns the status to exit with.
pub fn run_child(cmd: Vec<OsString>) -> crate::error::Result<i32> {
    // The marker is for us, not for crio and what it starts.
    std::env::remove_var(CHILD_MARKER);
    // A stop request during the setup waits until it is done (the steps are
    // bounded), and is then answered without starting the command; it must
    // not kill us between the readiness file and the command.
    stop_signals()
        .thread_block()
        .map_err(|e| crate::error::Error::fail(crate::tr!("cannot-block-signals", e)))?;
    let pid = setup_child()?;
    tracing::info!("{}", crate::tr!("rootlesskit-ready", pid));
    run_command(cmd)
}

fn setup_child() -> Result<i32> {
    step("check the namespaces", || {
        if in_initial_user_namespace() {
            bail!("{}", crate::tr!("child-marker-outside", CHILD_MARKER));
        }
        Ok(())
    })?;
    let (dirs, env, state_dir, recorded) = step("read the settings", || {
        // The child inherits the parent's environment, so this is the
        // state dir the parent gave rootlesskit.
        let dirs = session_dirs()?;
        let env = load_env_file(&dirs.env_file())?;
        let state_dir = dirs.state_dir();
        let recorded = ports::read_list(&dirs.ports_file()).unwrap_or_else(|e| {
            tracing::warn!("{}", crate::tr!("forwards-not-reapplied", format!("{e:#}")));
            Vec::new()
        });
        Ok((dirs, env, state_dir, recorded))
    })?;
    let cni = std::env::var_os(CNI_BIN_DIR_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CNI_BIN_DIR));
    let plan = step("plan", || child_plan(&env, &dirs, &cni, &recorded))?;
    for spec in &plan.clashing {
        tracing::warn!("{}", crate::tr!("forward-clashes", spec));
    }
    step("remove stale links", || remove_stale(&plan.stale_links))?;
    step("create directories", || {
        for d in &plan.dirs {
            std::fs::create_dir_all(d).with_context(|| crate::tr!("cannot-create", d.display()))?;
        }
        for d in &plan.optional_dirs {
            if !d.exists() {
                if let Err(e) = std::fs::create_dir_all(d) {
                    tracing::warn!("{}", crate::tr!("cannot-create-err", d.display(), e));
                }
            }
        }
        Ok(())
    })?;
    for b in &plan.binds {
        let name = if b.fill_from.is_some() {
            format!("bind the CNI plugins on {}", b.target.display())
        } else {
            format!("bind {}", b.target.display())
        };
        step(&name, || bind(b))?;
    }
    step("create links", || {
        for (link, target) in &plan.links {
            symlink_force(target, link)?;
        }
        Ok(())
    })?;
    let pid = step("wait for rootlesskit", || {
        wait_for(&state_dir.join(API_SOCK), STATE_WAIT)?;
        wait_for_pid(&state_dir.join(CHILD_PID), STATE_WAIT)
    })?;
    let sock = state_dir.join(API_SOCK);
    step("forward the node's ports", || {
        for spec in &plan.ports[..plan.fixed_ports] {
            add_port(&sock, spec)?;
        }
        Ok(())
    })?;
    for spec in &plan.ports[plan.fixed_ports..] {
        if let Err(e) = add_port(&sock, spec) {
            tracing::warn!("{}", crate::tr!("forward-not-reapplied", format!("{e:#}")));
        }
    }
    step("address tap0", || {
        let dev = plan.tap_dev.as_str();
        let add = format!("{}/32", plan.tap_address);
        run_ip(&["addr", "add", &add, "dev", dev], 20)?;
        let (slirp, prefix) = plan.slirp_address;
        run_ip(
            &["addr", "del", &format!("{slirp}/{prefix}"), "dev", dev],
            1,
        )
    })?;
    step("write the readiness file", || {
        let path = state_dir.join(READY_FILE);
        write_atomic(&path, format!("{pid}\n").as_bytes(), 0o644)
    })?;
    Ok(pid)
}

fn remove_stale(paths: &[PathBuf]) -> Result<()> {
    for p in paths {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => tracing::debug!("{} is a directory, kept", p.display()),
            Ok(_) => {
                std::fs::remove_file(p).with_context(|| crate::tr!("cannot-remove", p.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| crate::tr!("cannot-inspect", p.display())),
        }
    }
    Ok(())
}

fn bind(b: &Bind) -> Result<()> {
    if let Some(from) = &b.fill_from {
        if !from.is_dir() {
            bail!(
                "{}",
                crate::tr!("cni-dir-missing", from.display(), CNI_BIN_DIR_VAR)
            );
        }
    }
    if b.create_source {
        std::fs::create_dir_all(&b.source)
            .with_context(|| crate::tr!("cannot-create", b.source.display()))?;
    } else if !b.source.is_dir() {
        bail!("{}", crate::tr!("is-missing", b.source.display()));
    }
    if let Some(from) = &b.fill_from {
        copy_plugins(from, &b.source)?;
    }
    // `--copy-up` made the entries of /var/lib links to the host's: replace
    // such a link by a directory of our own.
    if std::fs::symlink_metadata(&b.target).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(&b.target)
            .with_context(|| crate::tr!("cannot-remove-link", b.target.display()))?;
    }
    std::fs::create_dir_all(&b.target)
        .with_context(|| crate::tr!("cannot-create", b.target.display()))?;
    mount(
        Some(&b.source),
        &b.target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        anyhow!(
            "{}",
            crate::tr!("cannot-bind", b.source.display(), b.target.display(), e)
        )
    })
}

/// Copies the host's CNI plugins (regular files, or links to them) into
/// `to`, replacing a copy whose size or time differs, so that an update of
/// the host's plugins reaches the namespaces on the next start. Files only
/// `to` has (a plugin the CNI installer put there) stay.
pub fn copy_plugins(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let entries =
        std::fs::read_dir(from).with_context(|| crate::tr!("cannot-read", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| crate::tr!("cannot-read", from.display()))?;
        let src = entry.path();
        let Ok(meta) = std::fs::metadata(&src) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let dst = to.join(entry.file_name());
        let same = std::fs::symlink_metadata(&dst).is_ok_and(|d| {
            d.is_file() && d.len() == meta.len() && d.modified().ok() == meta.modified().ok()
        });
        if same {
            continue;
        }
        let tmp = to.join(format!(".{}.u7s-new", entry.file_name().to_string_lossy()));
        std::fs::copy(&src, &tmp).with_context(|| crate::tr!("cannot-write", tmp.display()))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
            .with_context(|| crate::tr!("cannot-chmod", tmp.display()))?;
        if let Ok(modified) = meta.modified() {
            let file = std::fs::File::options()
                .write(true)
                .open(&tmp)
                .with_context(|| crate::tr!("cannot-write", tmp.display()))?;
            let _ = file.set_modified(modified);
        }
        std::fs::rename(&tmp, &dst).with_context(|| crate::tr!("cannot-write", dst.display()))?;
    }
    Ok(())
}

fn symlink_force(target: &Path, link: &Path) -> Result<()> {
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).with_context(|| crate::tr!("cannot-create", dir.display()))?;
    }
    match std::fs::symlink_metadata(link) {
        Ok(m) if m.is_dir() => bail!("{}", crate::tr!("is-a-directory", link.display())),
        Ok(_) => std::fs::remove_file(link)
            .with_context(|| crate::tr!("cannot-remove", link.display()))?,
        Err(_) => {}
    }
    std::os::unix::fs::symlink(target, link)
        .with_context(|| crate::tr!("cannot-link", link.display(), target.display()))
}

fn wait_for(path: &Path, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > limit {
            bail!(
                "{}",
                crate::tr!("did-not-appear", path.display(), limit.as_secs())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn wait_for_pid(path: &Path, limit: Duration) -> Result<i32> {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                if pid > 0 {
                    return Ok(pid);
                }
            }
        }
        if start.elapsed() > limit {
            bail!(
                "{}",
                crate::tr!("no-pid-within", path.display(), limit.as_secs())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_tool(tool: Tool, args: &[&str]) -> Result<String> {
    let path = tools::resolve(tool).map_err(|e| anyhow!("{e}"))?;
    let inv = Invocation::new(path, args.iter().map(OsString::from).collect());
    let out = exec::run_captured(&inv)
        .with_context(|| crate::tr!("cannot-run", inv.program.to_string_lossy()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{}",
            crate::tr!(
                "tool-failed",
                format!("{} {}", tool.name(), args.join(" ")),
                out.status,
                crate::error::one_line(&err)
            )
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn add_port(sock: &Path, spec: &PortSpec) -> Result<()> {
    let sock = sock.to_string_lossy();
    let spec_text = spec.to_string();
    let id = run_tool(
        Tool::Rootlessctl,
        &["--socket", &sock, "add-ports", &spec_text],
    )?;
    tracing::debug!("forwarded {spec_text} (id {})", id.trim());
    Ok(())
}

/// `ip ARGS`, tried up to `tries` times 250 ms apart (tap0 may still be
/// coming up).
fn run_ip(args: &[&str], tries: u32) -> Result<()> {
    let mut attempt = 1;
    loop {
        match run_tool(Tool::Ip, args) {
            Ok(_) => return Ok(()),
            Err(e) if attempt >= tries => return Err(e),
            Err(_) => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
}

fn stop_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(sig);
    }
    set
}

/// Runs `cmd`, the stop signals relayed to it by `fork_exec_wait`; no command: waits for a stop signal. A stop signal
/// that came during the setup ends the role at once. Death by signal N, or
/// a stop by signal N, is 128+N (`sleep infinity` killed by N).
fn run_command(mut cmd: Vec<OsString>) -> crate::error::Result<i32> {
    let set = stop_signals();
    if cmd.is_empty() {
        let sig = set
            .wait()
            .map_err(|e| crate::error::Error::fail(crate::tr!("signal-wait-failed", e)))?;
        return Ok(128 + sig as i32);
    }
    if let Ok(pending) = crate::os::signal::pending() {
        if let Some(sig) = set.iter().find(|s| pending.contains(*s)) {
            tracing::info!("{}", crate::tr!("stopped-during-setup", sig));
            return Ok(128 + sig as i32);
        }
    }
    // Still blocked: fork_exec_wait unblocks them once its relay is in place.
    let program = cmd.remove(0);
    Ok(exec::fork_exec_wait(&Invocation::new(program, cmd)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CniPlugin, Role};

    fn env(role: &str) -> EnvFile {
        crate::settings::envfile::fixture::env_file(role)
    }

    fn dirs() -> AdminDirs {
        crate::layout::admin::tests::dirs()
    }

    fn os(v: &[OsString]) -> Vec<String> {
        v.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn parent_arguments() {
        let cmd = vec![
            OsString::from("/usr/bin/crio"),
            OsString::from("--log-level=info"),
        ];
        let args = os(&parent_args(
            &env("initMaster"),
            Path::new("/run/user/999/usernetes/rootlesskit"),
            false,
            Path::new("/usr/libexec/podsec/u7s/bin/u7s"),
            0,
            &cmd,
        ));
        let mut want = vec![
            "--state-dir".to_owned(),
            "/run/user/999/usernetes/rootlesskit".to_owned(),
        ];
        want.extend(FLAGS.iter().map(|s| s.to_string()));
        want.extend(
            [
                "--cidr=10.96.0.0/12",
                "/usr/libexec/podsec/u7s/bin/u7s",
                "rootlesskit",
                "--",
                "/usr/bin/crio",
                "--log-level=info",
            ]
            .map(String::from),
        );
        assert_eq!(args, want);
        let args = os(&parent_args(
            &env(""),
            Path::new("/s"),
            true,
            Path::new("/u7s"),
            4,
            &[],
        ));
        assert!(args.contains(&"--evacuate-cgroup2=rootlesskit_evac".to_owned()));
        assert_eq!(
            args[args.len() - 5..],
            ["/u7s", "rootlesskit", "-v", "4", "--"]
        );
        for flag in [
            "--net=slirp4netns",
            "--mtu=65520",
            "--disable-host-loopback",
            "--port-driver=builtin",
            "--copy-up=/etc",
            "--copy-up=/run",
            "--copy-up=/var/lib",
            "--copy-up=/opt",
            "--cgroupns",
            "--pidns",
            "--ipcns",
            "--utsns",
            "--propagation=rslave",
        ] {
            assert!(args.iter().any(|a| a == flag), "{flag} missing");
        }
    }

    #[test]
    fn evacuation_only_on_delegated_cgroup2() {
        assert_eq!(evacuate_cgroup2(true, true), (true, None));
        assert!(!evacuate_cgroup2(true, false).0);
        assert!(evacuate_cgroup2(true, false)
            .1
            .unwrap()
            .contains("Delegate=yes"));
        assert_eq!(evacuate_cgroup2(false, true), (false, None));
        assert_eq!(evacuate_cgroup2(false, false), (false, None));
    }

    #[test]
    fn plugins_are_copied_again_when_the_host_has_other_ones() {
        let base = std::env::temp_dir().join(format!("u7s-cni-copy-{}", std::process::id()));
        let (from, to) = (base.join("host"), base.join("copy"));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(from.join("subdir")).unwrap();
        std::fs::create_dir_all(&to).unwrap();
        std::fs::write(from.join("bridge"), "v1").unwrap();
        std::fs::write(to.join("flannel"), "installed inside").unwrap();
        copy_plugins(&from, &to).unwrap();
        assert_eq!(std::fs::read_to_string(to.join("bridge")).unwrap(), "v1");
        std::fs::write(from.join("bridge"), "v2 longer").unwrap();
        copy_plugins(&from, &to).unwrap();
        assert_eq!(
            std::fs::read_to_string(to.join("bridge")).unwrap(),
            "v2 longer"
        );
        assert_eq!(
            std::fs::read_to_string(to.join("flannel")).unwrap(),
            "installed inside",
            "what the CNI installer put there stays"
        );
        assert!(!to.join("subdir").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_child_plan_follows_the_reference() {
        let plan = child_plan(&env("master"), &dirs(), Path::new("/usr/libexec/cni"), &[]).unwrap();
        assert!(plan.stale_links.contains(&PathBuf::from("/run/crio")));
        assert!(plan.stale_links.contains(&PathBuf::from("/etc/crio")));
        assert!(plan
            .stale_links
            .contains(&PathBuf::from("/run/xtables.lock")));
        assert!(plan.dirs.contains(&PathBuf::from("/etc/kubernetes/pki")));
        assert_eq!(
            plan.binds[0],
            Bind {
                source: "/var/lib/u7s-admin/.local/share/usernetes/_opt_cni_bin".into(),
                target: "/opt/cni/bin".into(),
                create_source: true,
                fill_from: Some("/usr/libexec/cni".into()),
            },
            "u7s-admin's own copy of the host's plugins, never the host's directory"
        );
        let targets: Vec<_> = plan.binds[1..].iter().map(|b| b.target.clone()).collect();
        assert_eq!(
            targets,
            DATA_BINDS.iter().map(PathBuf::from).collect::<Vec<_>>()
        );
        assert_eq!(
            plan.binds[1].source,
            PathBuf::from("/var/lib/u7s-admin/.local/share/usernetes/_var_lib_kubelet")
        );
        assert_eq!(
            plan.binds[3].source,
            PathBuf::from("/var/lib/u7s-admin/.local/share/usernetes/_var_log")
        );
        assert!(plan.links.contains(&(
            "/run/crio/crio.sock".into(),
            "/run/user/989/usernetes/crio/crio.sock".into()
        )));
        assert_eq!(plan.tap_dev, "tap0");
        assert_eq!(plan.tap_address, Ipv4Addr::new(10, 20, 30, 40));
        assert_eq!(plan.slirp_address, (Ipv4Addr::new(10, 96, 0, 100), 12));
        assert_eq!(
            plan.ports,
            ports::role_ports(Role::ControlPlaneJoin, CniPlugin::Flannel, 6443)
        );
        assert_eq!(plan.fixed_ports, plan.ports.len());
    }

    #[test]
    fn recorded_ports_come_after_the_fixed_ones_unless_they_clash() {
        let rec: Vec<PortSpec> = [
            "0.0.0.0:30080:30080/tcp",
            "127.0.0.1:10250:10250/tcp",
            "0.0.0.0:10250:10250/tcp",
            "0.0.0.0:6443:6443/udp",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let plan = child_plan(&env(""), &dirs(), Path::new("/cni"), &rec).unwrap();
        let fixed = ports::role_ports(Role::Worker, CniPlugin::Flannel, 6443);
        assert_eq!(plan.ports[..plan.fixed_ports], fixed[..]);
        assert_eq!(plan.ports[plan.fixed_ports..], [rec[0], rec[3]]);
        // an exact copy of a fixed forward is silently the same forward
        assert_eq!(plan.clashing, [rec[1]]);
    }

    #[test]
    fn only_a_user_namespace_is_a_child() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map(
            "         0        999          1\n         1     100000      65536\n"
        ));
        assert!(!is_initial_uid_map("0 999 1\n"));
    }

    /// What the CNI plugins' installer init containers write on the host
    /// (flannel's install-cni-plugin and install-cni; calico's install-cni,
    /// which copies every binary of its image into /opt/cni/bin, overwriting
    /// same-named ones and keeping their setuid bits, and exits if no
    /// directory is writable) must be u7s-admin's inside the namespaces: a
    /// directory bound from its data dir, or one it owns on the host.
    #[test]
    fn every_hostpath_a_cni_installer_writes_is_u7s_admins() {
        let plan = child_plan(
            &env("initMaster"),
            &dirs(),
            Path::new("/usr/libexec/cni"),
            &[],
        )
        .unwrap();
        let admins = |path: &str| {
            plan.binds
                .iter()
                .any(|b| b.target == Path::new(path) && b.source.starts_with(dirs().data()))
                || crate::layout::host::ADMIN_OWNED.contains(&path)
        };
        for plugin in [CniPlugin::Flannel, CniPlugin::Calico] {
            let manifest = crate::cni::manifest(plugin, None, "10.244.0.0/16").unwrap();
            let mut written = Vec::new();
            for doc in crate::yaml::parse_documents(&manifest).unwrap() {
                let spec = &doc["spec"]["template"]["spec"];
                let host_path = |volume: &str| {
                    spec["volumes"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .find(|v| v["name"].as_str() == Some(volume))
                        .and_then(|v| v["hostPath"]["path"].as_str())
                        .map(|p| p.trim_end_matches('/').to_owned())
                };
                for c in spec["initContainers"].as_sequence().into_iter().flatten() {
                    let name = c["name"].as_str().unwrap_or_default();
                    if !name.starts_with("install-cni") {
                        continue;
                    }
                    for m in c["volumeMounts"].as_sequence().into_iter().flatten() {
                        let read_only = m["readOnly"].as_bool() == Some(true);
                        if let (false, Some(path)) =
                            (read_only, host_path(m["name"].as_str().unwrap()))
                        {
                            written.push((name.to_owned(), path));
                        }
                    }
                }
            }
            let paths: Vec<&str> = written.iter().map(|(_, p)| p.as_str()).collect();
            assert!(paths.contains(&"/opt/cni/bin"), "{plugin:?}: {written:?}");
            assert!(paths.contains(&"/etc/cni/net.d"), "{plugin:?}: {written:?}");
            for (container, path) in &written {
                assert!(
                    admins(path),
                    "{plugin:?} {container} writes {path}, not u7s-admin's"
                );
            }
        }
    }
}
