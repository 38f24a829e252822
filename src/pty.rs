//! A pseudo-terminal between root's terminal and a program root runs inside
//! the namespaces (what `su --pty` does).
//!
//! The program inside is u7s-admin's to control. Given root's terminal, it
//! could push keystrokes into root's shell (TIOCSTI), change the terminal's
//! settings or hang it. So each of stdin, stdout and stderr that is a
//! terminal is replaced, for the program, by the slave side of a new pty
//! (its controlling terminal, in a session of its own); this process keeps
//! root's terminal and relays bytes both ways, the window size, and the end.
//! Streams that are not terminals (pipes, files) are passed as they are, so
//! their bytes stay exactly the program's.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::libc;

/// The pty and which of our stdin, stdout and stderr are terminals.
pub struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
    ttys: [bool; 3],
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// Which of stdin, stdout and stderr are terminals.
pub fn std_ttys() -> [bool; 3] {
    [isatty(0), isatty(1), isatty(2)]
}

impl Pty {
    /// A new pty when any of stdin, stdout, stderr is a terminal, set up like
    /// that terminal (modes and window size); `None` when none is.
    pub fn for_stdio() -> io::Result<Option<Pty>> {
        let ttys = std_ttys();
        let Some(term) = ttys.iter().position(|t| *t) else {
            return Ok(None);
        };
        // SAFETY: plain calls on the descriptor posix_openpt gives us.
        let master = unsafe {
            let fd = check(libc::posix_openpt(
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            ))?;
            OwnedFd::from_raw_fd(fd)
        };
        check(unsafe { libc::grantpt(master.as_raw_fd()) })?;
        check(unsafe { libc::unlockpt(master.as_raw_fd()) })?;
        // The peer is opened from the master, not by a path in /dev/pts.
        let slave = unsafe {
            let fd = check(libc::ioctl(
                master.as_raw_fd(),
                libc::TIOCGPTPEER,
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            ))?;
            OwnedFd::from_raw_fd(fd)
        };
        let pty = Pty {
            master,
            slave,
            ttys,
        };
        // SAFETY: termios and winsize are plain data filled by the kernel.
        unsafe {
            let mut mode: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(term as RawFd, &mut mode) == 0 {
                libc::tcsetattr(pty.slave.as_raw_fd(), libc::TCSANOW, &mode);
            }
        }
        copy_window_size(term as RawFd, pty.master.as_raw_fd());
        Ok(Some(pty))
    }

    /// In the child, after setsid(): the slave becomes the controlling
    /// terminal and takes the place of each standard stream that was a
    /// terminal. Only system calls: safe between fork and exec.
    pub fn attach_in_child(&self) -> io::Result<()> {
        let slave = self.slave.as_raw_fd();
        // SAFETY: plain ioctl and dup2 on descriptors we own.
        unsafe {
            check(libc::ioctl(slave, libc::TIOCSCTTY, 0))?;
            for fd in 0..3 {
                if self.ttys[fd as usize] {
                    check(libc::dup2(slave, fd))?;
                }
            }
        }
        Ok(())
    }

    /// In the parent: relays until `child` has ended, then returns its raw
    /// wait status. Root's terminal (if stdin is one) is in raw mode
    /// meanwhile, so keys reach the program's terminal as they are typed,
    /// Ctrl-C and Ctrl-Z included, and is restored afterwards.
    pub fn relay(self, child: libc::pid_t) -> libc::c_int {
        let Pty {
            master,
            slave,
            ttys,
        } = self;
        // Only the child holds the slave now: its end closes the terminal.
        drop(slave);
        let _raw = if ttys[0] { RawMode::enter(0) } else { None };
        pump(&master, ttys, child)
    }
}

fn pump(master: &OwnedFd, ttys: [bool; 3], child: libc::pid_t) -> libc::c_int {
    let term = term_fd(&ttys);
    let out = out_fd(&ttys);
    let master = master.as_raw_fd();
    set_nonblocking(master);
    let mut to_master: Vec<u8> = Vec::new();
    let mut read_stdin = ttys[0];
    let mut master_open = true;
    let mut status = None;
    let mut buf = [0u8; 16 * 1024];
    let wake = WAKE_READ.load(Ordering::SeqCst);
    loop {
        // Reap first: the child may have ended before we polled.
        if status.is_none() {
            status = reap(child);
        }
        if status.is_some() {
            break;
        }
        let mut fds = Vec::with_capacity(3);
        fds.push(libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        });
        if master_open {
            let mut events = libc::POLLIN;
            if !to_master.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(libc::pollfd {
                fd: master,
                events,
                revents: 0,
            });
        }
        if read_stdin && to_master.len() < 64 * 1024 {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: an array of pollfd we own.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            continue; // EINTR: a signal; loop to reap.
        }
        for p in &fds {
            if p.revents == 0 {
                continue;
            }
            if p.fd == wake {
                drain_wakeups();
                if RESIZED.swap(false, Ordering::SeqCst) {
                    copy_window_size(term, master);
                }
            } else if p.fd == master {
                if p.revents & libc::POLLOUT != 0 && !to_master.is_empty() {
                    match write_some(master, &to_master) {
                        Ok(k) => {
                            to_master.drain(..k);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => to_master.clear(),
                    }
                }
                if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    match read_some(master, &mut buf) {
                        Ok(0) => master_open = false,
                        Ok(k) => write_all(out, &buf[..k]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        // EIO: every descriptor of the slave is closed.
                        Err(_) => master_open = false,
                    }
                }
            } else if p.fd == 0 {
                match read_some(0, &mut buf) {
                    Ok(0) | Err(_) => read_stdin = false,
                    Ok(k) => to_master.extend_from_slice(&buf[..k]),
                }
            }
        }
        if !master_open && status.is_none() {
            // Nothing more can come from the program's terminal: wait.
            status = wait_blocking(child);
        }
    }
    // What the program wrote just before it ended.
    while master_open {
        match read_some(master, &mut buf) {
            Ok(k) if k > 0 => write_all(out, &buf[..k]),
            _ => master_open = false,
        }
    }
    status.unwrap_or(0)
}

/// Our terminal: the first of stdin, stdout, stderr that is one.
fn term_fd(ttys: &[bool; 3]) -> RawFd {
    ttys.iter().position(|t| *t).unwrap_or(0) as RawFd
}

/// Where the program's terminal output goes: stdout if it is a terminal,
/// else stderr, else stdin (a terminal opened read-write).
fn out_fd(ttys: &[bool; 3]) -> RawFd {
    [1, 2, 0].into_iter().find(|fd| ttys[*fd]).unwrap_or(1) as RawFd
}

fn copy_window_size(from: RawFd, to: RawFd) {
    // SAFETY: winsize is plain data filled by the kernel.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut size) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &size);
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: reading into our buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn write_some(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: writing from our buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Writes all of `data` to root's terminal (blocking); gives up on an error
/// (the terminal went away: the program's output has nowhere to go).
fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        match write_some(fd, data) {
            Ok(0) | Err(_) => return,
            Ok(k) => data = &data[k..],
        }
    }
}

/// The wait status of "exited with 1", for a child we cannot wait for.
const LOST: libc::c_int = 1 << 8;

fn reap(child: libc::pid_t) -> Option<libc::c_int> {
    let mut status = 0;
    // SAFETY: waitpid on our own child.
    let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
    match r {
        r if r == child => Some(status),
        r if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted => Some(LOST),
        _ => None,
    }
}

fn wait_blocking(child: libc::pid_t) -> Option<libc::c_int> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r == child {
            return Some(status);
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Some(LOST);
        }
    }
}

/// Root's terminal in raw mode; restored when dropped.
struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios is plain data filled by the kernel.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSADRAIN, &raw) != 0 {
                return None;
            }
            Some(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring what tcgetattr gave us.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSADRAIN, &self.saved);
        }
    }
}

/// The self-pipe that SIGCHLD and SIGWINCH write to, so poll wakes up.
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
static RESIZED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn wake(sig: libc::c_int) {
    if sig == libc::SIGWINCH {
        RESIZED.store(true, Ordering::SeqCst);
    }
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe is fine.
        unsafe {
            libc::write(fd, b"x".as_ptr().cast(), 1);
        }
    }
}

fn drain_wakeups() {
    let mut buf = [0u8; 64];
    let fd = WAKE_READ.load(Ordering::SeqCst);
    while read_some(fd, &mut buf).map(|n| n > 0).unwrap_or(false) {}
}

/// Before fork: the self-pipe and the SIGCHLD/SIGWINCH handlers, so that no
/// child exit is missed however soon it comes.
pub fn prepare_wakeups() -> io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    WAKE_READ.store(fds[0], Ordering::SeqCst);
    WAKE_WRITE.store(fds[1], Ordering::SeqCst);
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(wake),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores an atomic and calls write(2).
    for sig in [Signal::SIGCHLD, Signal::SIGWINCH] {
        unsafe { sigaction(sig, &action) }.map_err(io::Error::from)?;
    }
    Ok(())
}
