//! Starting other programs: the one place that execs or forks.
//!
//! Arguments always travel as argv vectors, never through a shell. `exec`
//! replaces this process, so the tool's exit status and death signal reach the
//! caller unchanged; `fork_exec_wait` is for the pid namespace, where only a child
//! can be inside and the parent must relay signals and the child's status.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

/// A program to run: what it is called with and what changes in its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Absolute path, or a bare name searched in the (possibly changed) PATH.
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// Directory to run in; `None` keeps the current one.
    pub cwd: Option<PathBuf>,
    /// Start from an empty environment: only `env` reaches the program.
    pub clear_env: bool,
    /// Run as this uid and gid (no supplementary groups): root dropping to
    /// u7s-admin before the program touches anything u7s-admin controls.
    pub user: Option<(u32, u32)>,
}

impl Invocation {
    pub fn new(program: impl Into<OsString>, args: Vec<OsString>) -> Invocation {
        Invocation {
            program: program.into(),
            args,
            ..Default::default()
        }
    }

    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if self.clear_env {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        if let Some((uid, gid)) = self.user {
            // std drops the supplementary groups (setgroups(0)), then sets
            // the gid and the uid (all three of each, as root).
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}

/// The shell's statuses for a program that could not be started.
fn status_for_exec_error(err: &io::Error) -> i32 {
    match err.kind() {
        io::ErrorKind::NotFound => 127,
        _ => 126,
    }
}

/// Replaces this process with `inv`. Returns only on failure, with the status
/// to exit with (127 not found, 126 not runnable) after saying why on stderr.
/// std restores SIGPIPE to its default before exec; the signal mask is kept
/// (std clears it only when spawning), so callers must not exec with signals blocked.
pub fn exec(inv: &Invocation) -> i32 {
    let err = inv.command().exec();
    tracing::error!(
        "{}",
        crate::tr!("cannot-run-err", inv.program.to_string_lossy(), err)
    );
    status_for_exec_error(&err)
}

/// Runs `inv` with this process's stdio (its output streams to the admin as
/// it comes) and returns its exit status, 128+N for death by signal N.
pub fn run_wait(inv: &Invocation) -> io::Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    let status = inv.command().status()?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}

/// Runs `inv` to completion with stdin closed and stdout and stderr captured,
/// for tools whose output is ours to read or log (a setup step's `ip`,
/// `rootlessctl list-ports --json`), not the user's.
pub fn run_captured(inv: &Invocation) -> io::Result<Output> {
    inv.command().stdin(Stdio::null()).output()
}

/// Runs `inv` with stdin closed and stdout captured, at most `limit` bytes
/// (stderr streams to the admin): for a program whose answer is data from
/// someone else (u7s-admin's processes inside the namespaces). `None` when it
/// wrote more; it is killed then. Otherwise its status as [`run_wait`] gives.
pub fn run_bounded(inv: &Invocation, limit: u64) -> io::Result<Option<(i32, Vec<u8>)>> {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = inv
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdout = Vec::new();
    let read = match child.stdout.take() {
        Some(out) => out.take(limit + 1).read_to_end(&mut stdout).map(drop),
        None => Ok(()),
    };
    if stdout.len() as u64 > limit {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(None);
    }
    let status = child.wait()?;
    read?;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Ok(Some((code, stdout)))
}

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn relay(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Signals the parent passes on to the child. SIGINT and SIGQUIT are not among
/// them: a terminal sends those to the whole foreground group, child included,
/// so the parent ignores them instead of delivering them twice.
const RELAYED: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGCONT,
];

/// The signals `fork_exec_wait` handles: relayed ones, SIGINT and SIGQUIT.
fn handled_signals() -> SigSet {
    let mut set: SigSet = RELAYED.into_iter().collect();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGQUIT);
    set
}

/// Runs `work` in a forked child and returns the text it produced (at most
/// `limit` bytes), once the child is gone. For work that must not change
/// this process: entering namespaces or dropping privileges happens in the
/// child only. Must be called while the process is single-threaded.
pub fn answer_from_child(limit: u64, work: impl FnOnce() -> String) -> io::Result<String> {
    use std::io::{Read, Write};
    let (read_end, write_end) = nix::unistd::pipe().map_err(io::Error::from)?;
    // SAFETY: u7s starts no threads, so the child may do anything after fork.
    match unsafe { fork() }.map_err(io::Error::from)? {
        ForkResult::Child => {
            drop(read_end);
            let text = work();
            let _ = std::fs::File::from(write_end).write_all(text.as_bytes());
            // SAFETY: _exit skips the parent's atexit handlers and buffers.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut text = String::new();
            let read = std::fs::File::from(read_end)
                .take(limit)
                .read_to_string(&mut text);
            let _ = waitpid(child, None);
            read.map(|_| text)
        }
    }
}

/// Exit status for a wait status, shell style: death by signal N gives 128+N.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// How a program is kept apart from the session of the process that starts
/// it (root's commands inside the namespaces, see `applets::inside`).
#[derive(Default)]
pub struct Confinement {
    /// A session of its own (setsid): no controlling terminal in common with
    /// us, so no TIOCSTI into it and no signals from its keyboard.
    pub new_session: bool,
    /// A pty in place of each standard stream that is a terminal, relayed.
    pub pty: Option<crate::pty::Pty>,
    /// No descriptor above 2 reaches the program (close_range(3, ~0)).
    pub close_fds: bool,
}

/// Forks; the child execs `inv`, the parent relays signals and returns the
/// child's exit status. Must be called while the process is single-threaded
/// (it is, in every applet: nothing here starts threads).
pub fn fork_exec_wait(inv: &Invocation) -> i32 {
    fork_exec_wait_confined(inv, Confinement::default())
}

/// In the child between fork and exec: the confinement, or why it failed.
fn confine_child(c: &Confinement) -> Result<(), (&'static str, io::Error)> {
    if c.new_session {
        nix::unistd::setsid().map_err(|e| ("setsid", io::Error::from(e)))?;
    }
    if let Some(pty) = &c.pty {
        pty.attach_in_child().map_err(|e| ("TIOCSCTTY", e))?;
    }
    if c.close_fds {
        // Marked close-on-exec rather than closed: if exec fails, the error
        // is still reported; if it succeeds, none of them is left.
        // SAFETY: a plain syscall on our own descriptor table.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if ret < 0 {
            return Err(("close_range", io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// `fork_exec_wait` with the child kept apart as `c` says.
pub fn fork_exec_wait_confined(inv: &Invocation, c: Confinement) -> i32 {
    if c.pty.is_some() {
        if let Err(e) = crate::pty::prepare_wakeups() {
            tracing::error!("{}", crate::tr!("pty-failed", e));
            return 1;
        }
    }
    // SAFETY: the process is single-threaded, so the child may allocate freely.
    match unsafe { fork() } {
        Err(e) => {
            tracing::error!("{}", crate::tr!("fork-failed", e));
            1
        }
        Ok(ForkResult::Child) => {
            // exec keeps the signal mask (std resets it for spawn, not
            // exec): the program must not start with these blocked.
            let _ = handled_signals().thread_unblock();
            let code = match confine_child(&c) {
                Ok(()) => exec(inv),
                Err((what, e)) => {
                    tracing::error!("{}", crate::tr!("confine-failed", what, e));
                    126
                }
            };
            // SAFETY: leave without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            CHILD.store(child.as_raw(), Ordering::SeqCst);
            let relay_action = SigAction::new(
                SigHandler::Handler(relay),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
            // In its own session the child does not hear our terminal's
            // Ctrl-C: relay SIGINT and SIGQUIT like the rest. Otherwise the
            // terminal sends them to both, and we ignore them.
            let keyboard = if c.new_session {
                &relay_action
            } else {
                &ignore
            };
            // SAFETY: the handler only calls kill(2) with an atomic pid.
            unsafe {
                for sig in RELAYED {
                    let _ = sigaction(sig, &relay_action);
                }
                let _ = sigaction(Signal::SIGINT, keyboard);
                let _ = sigaction(Signal::SIGQUIT, keyboard);
            }
            // A caller may have blocked these so that none could kill it
            // before the handlers were in place (the exec'd child starts
            // with an empty mask); one that is pending is relayed now.
            let _ = handled_signals().thread_unblock();
            if let Some(pty) = c.pty {
                let status = pty.relay(child.as_raw());
                return WaitStatus::from_raw(child, status)
                    .ok()
                    .and_then(exit_code)
                    .unwrap_or(1);
            }
            loop {
                match waitpid(child, None) {
                    Ok(status) => {
                        if let Some(code) = exit_code(status) {
                            return code;
                        }
                    }
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        tracing::error!("{}", crate::tr!("wait-failed", child, e));
                        return 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_childs_answer_comes_back_and_its_changes_stay_in_the_child() {
        let here = std::env::current_dir().unwrap();
        let answer = answer_from_child(64, || {
            std::env::set_current_dir("/").unwrap();
            format!("{}\n{}", std::process::id(), "x".repeat(100))
        })
        .unwrap();
        let (pid, rest) = answer.split_once('\n').unwrap();
        assert_ne!(
            pid,
            std::process::id().to_string(),
            "it ran in another process"
        );
        assert_eq!(answer.len(), 64, "the answer is cut at the limit");
        assert!(rest.starts_with('x'));
        assert_eq!(std::env::current_dir().unwrap(), here);
    }
    use nix::unistd::Pid;

    /// A program inside the namespaces is u7s-admin's to replace: what it
    /// prints is read up to the bound, and one that prints more is killed.
    #[test]
    fn bounded_capture_stops_a_flood() {
        let sh = |script: &str| Invocation::new("/bin/sh", vec!["-c".into(), script.into()]);
        assert_eq!(
            run_bounded(&sh("printf abc; exit 3"), 16).unwrap(),
            Some((3, b"abc".to_vec()))
        );
        let start = std::time::Instant::now();
        assert_eq!(run_bounded(&sh("exec yes"), 1 << 16).unwrap(), None);
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn signal_deaths_map_to_128_plus_n() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 7)), Some(7));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            Some(143)
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, true)),
            Some(137)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }

    #[test]
    fn exec_errors_use_shell_statuses() {
        assert_eq!(
            status_for_exec_error(&io::Error::from(io::ErrorKind::NotFound)),
            127
        );
        assert_eq!(
            status_for_exec_error(&io::Error::from(io::ErrorKind::PermissionDenied)),
            126
        );
    }
}
