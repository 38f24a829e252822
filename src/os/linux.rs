//! [`Os`] on this machine: host files under the root prefix, the real tools,
//! the terminal. The only place the flow touches the system.

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};

use super::as_admin;
use super::fs::{self, Dir, Trust};
use super::{At, Captured, Ids, Kind, Meta, Os, Place, Within};
use crate::exec::{self, Invocation};
use crate::settings::HostRoot;
use crate::tools::{self, Tool, ToolError};

pub struct LinuxOs {
    root: HostRoot,
    /// This binary: commands inside the namespaces run as `u7s nsenter_u7s -- ARGV`.
    self_exe: PathBuf,
}

impl LinuxOs {
    pub fn new(root: HostRoot, self_exe: PathBuf) -> LinuxOs {
        LinuxOs { root, self_exe }
    }

    /// The root prefix from `U7S_ROOT`, this binary from /proc/self/exe.
    pub fn from_env() -> LinuxOs {
        LinuxOs::new(
            HostRoot::from_env(),
            std::env::current_exe().unwrap_or_else(|_| "/usr/libexec/podsec/u7s/bin/u7s".into()),
        )
    }

    fn path(&self, at: At) -> PathBuf {
        self.root.path(at.path)
    }

    /// `argv` on the host, or inside the namespaces as `u7s nsenter_u7s --
    /// ARGV`.
    fn invocation(&self, argv: &[String], place: Place) -> Invocation {
        match place {
            Place::Host => Invocation::new(&argv[0], argv[1..].iter().map(Into::into).collect()),
            Place::Inside => {
                let mut args: Vec<OsString> = vec!["nsenter_u7s".into(), "--".into()];
                args.extend(argv.iter().map(Into::into));
                Invocation::new(&self.self_exe, args)
            }
        }
    }
}

impl Os for LinuxOs {
    fn euid(&self) -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn env(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, pause: Duration) {
        std::thread::sleep(pause)
    }

    fn ask(&self, question: &str) -> bool {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            return false;
        }
        let mut err = std::io::stderr();
        let _ = write!(err, "{question} ");
        let _ = err.flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        crate::flow::preflight::is_yes(&answer)
    }

    fn resolve_tool(&self, tool: Tool) -> Result<PathBuf, ToolError> {
        tools::resolve(tool)
    }

    fn executable(&self, program: &Path) -> bool {
        std::fs::metadata(program)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }

    fn program_meta(&self, program: &Path) -> Option<Meta> {
        stat_path(program).ok().flatten()
    }

    fn has_file_capabilities(&self, program: &Path) -> bool {
        xattr_present(program, c"security.capability")
    }

    fn account_groups(&self, user: &str, gid: u32) -> Vec<u32> {
        let mut ids = vec![gid];
        if let Ok(name) = std::ffi::CString::new(user) {
            // getgrouplist: the NSS answer initgroups gives a session.
            if let Ok(list) = nix::unistd::getgrouplist(&name, nix::unistd::Gid::from_raw(gid)) {
                ids.extend(list.into_iter().map(|g| g.as_raw()).filter(|g| *g != gid));
            }
        }
        ids
    }

    fn group_name(&self, gid: u32) -> Option<String> {
        nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
            .ok()
            .flatten()
            .map(|g| g.name)
    }

    fn capture(&self, argv: &[String], place: Place) -> Result<Captured> {
        if place == Place::Host {
            // Root's own tool (a version query): its stderr is not shown.
            let out = exec::run_captured(&self.invocation(argv, place))
                .with_context(|| crate::tr!("cannot-run", argv[0]))?;
            return Ok(Captured {
                code: out.status.code().unwrap_or(1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            });
        }
        let limit = super::CAPTURE_LIMIT;
        match exec::run_bounded(&self.invocation(argv, place), limit)
            .with_context(|| crate::tr!("cannot-run", argv[0]))?
        {
            Some((code, stdout)) => Ok(Captured {
                code,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
            }),
            None => bail!("{}", crate::tr!("output-too-large", argv[0], limit)),
        }
    }

    fn run(&self, argv: &[String], place: Place) -> Result<i32> {
        exec::run_wait(&self.invocation(argv, place))
            .with_context(|| crate::tr!("cannot-run", argv[0]))
    }

    fn namespaces_ready(&self, admin: &crate::users::AdminUser) -> bool {
        use crate::ns::state;
        state::check(&state::state_dir_for(admin)).is_ok()
    }

    fn read_given(&self, path: &Path, limit: u64) -> Result<Vec<u8>> {
        let file = std::fs::File::open(path)
            .with_context(|| crate::tr!("config-cannot-read", path.display()))?;
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .with_context(|| crate::tr!("config-cannot-read", path.display()))?;
        if bytes.len() as u64 > limit {
            bail!("{}", crate::tr!("file-too-large", path.display(), limit));
        }
        Ok(bytes)
    }

    fn shown(&self, path: &str) -> String {
        self.root.path(path).display().to_string()
    }

    fn kernel_hostname(&self) -> Option<String> {
        if !self.root.is_system_root() {
            return None;
        }
        nix::sys::utsname::uname()
            .ok()
            .map(|u| u.nodename().to_string_lossy().into_owned())
    }

    fn read(&self, at: At, limit: u64) -> Result<Option<Vec<u8>>> {
        match at.within {
            // Root's own files, read by path: their symlinks are root's
            // (/etc/os-release is one on many systems).
            Within::Root => read_path(&self.path(at), at.path, limit),
            Within::Admin(ids) => {
                let (names, name) = fs::split(at.path)?;
                let base = self.root.base().to_owned();
                if let Some(dir) = self.roots_own(&names) {
                    return dir.read(&name, limit);
                }
                let wire = as_admin::run_as(ids, || {
                    let found = Dir::prefix(&base)?.find(&names, Trust::NoSymlinks, None)?;
                    let bytes = match found {
                        Some(dir) => dir.read(&name, limit)?,
                        None => None,
                    };
                    Ok(match bytes {
                        Some(bytes) => [vec![1u8], bytes].concat(),
                        None => vec![0],
                    })
                })?;
                Ok(match wire.split_first() {
                    Some((1, bytes)) => Some(bytes.to_vec()),
                    _ => None,
                })
            }
        }
    }

    fn stat(&self, at: At) -> Result<Option<Meta>> {
        match at.within {
            Within::Root => stat_path(&self.path(at)),
            // Only looking: root walks the way itself, following no link.
            Within::Admin(_) => {
                let (names, name) = fs::split(at.path)?;
                match Dir::prefix(self.root.base())?.find(&names, Trust::NoSymlinks, None)? {
                    Some(dir) => dir.stat(&name),
                    None => Ok(None),
                }
            }
        }
    }

    fn lock_subids(&self) -> Result<Box<dyn std::any::Any>> {
        Ok(Box::new(crate::subids::lock_subid_files(&self.root)?))
    }

    fn dir_holds_anything(&self, at: At) -> Result<bool> {
        // Only looking: root walks the way itself, following no link, and
        // lists the directory it reached through its descriptor.
        let names = fs::components(at.path)?;
        let Some(dir) = Dir::prefix(self.root.base())?.find(&names, Trust::NoSymlinks, None)?
        else {
            return Ok(false);
        };
        let by_fd = format!("/proc/self/fd/{}", dir.raw());
        let mut entries = std::fs::read_dir(&by_fd)
            .with_context(|| crate::tr!("cannot-read", self.shown(at.path)))?;
        Ok(entries.next().is_some())
    }

    fn write(&self, at: At, bytes: &[u8], mode: u32, owner: Option<Ids>) -> Result<()> {
        self.in_domain(at, Walk::Create, |dir, name| {
            dir.write(name, bytes, mode, owner)
        })
    }

    fn write_in_place(&self, at: At, bytes: &[u8]) -> Result<()> {
        self.in_domain(at, Walk::Existing, |dir, name| {
            dir.write_in_place(name, bytes)
        })
    }

    fn make_dir(&self, at: At, mode: u32, owner: Option<Ids>) -> Result<()> {
        self.in_domain(at, Walk::Create, |dir, name| {
            dir.make_dir(name, mode, owner)
        })
    }

    fn move_aside(&self, at: At, suffix: &str) -> Result<Option<String>> {
        let (names, _) = fs::split(at.path)?;
        let parent: String = names.iter().map(|n| format!("/{}", n.display())).collect();
        let mut moved = None;
        self.in_domain(at, Walk::SkipIfMissing, |dir, name| {
            moved = dir.move_aside(name, suffix)?;
            Ok(())
        })?;
        Ok(moved.map(|to| format!("{parent}/{}", to.display())))
    }
}

/// What to do about a missing directory on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Create it (root's, or u7s-admin's in its domain).
    Create,
    /// It must be there.
    Existing,
    /// Then there is nothing to do.
    SkipIfMissing,
}

impl LinuxOs {
    /// The directory `names` when root may work there itself: it exists
    /// and every directory on the way is root's and writable by nobody
    /// else (so nobody else can change what it holds while root works).
    fn roots_own(&self, names: &[std::path::PathBuf]) -> Option<Dir> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        Dir::prefix(self.root.base())
            .ok()?
            .find(names, Trust::RootOwned, None)
            .ok()
            .flatten()
    }

    /// Runs `work` on the directory of `at` and its name, as the domain
    /// requires. Root's domain: root itself, through directories that must
    /// all be root's. u7s-admin's domain: root itself only where it finds
    /// every directory root's after all (a host before u7s gave them to
    /// u7s-admin); otherwise a child dropped to u7s-admin.
    fn in_domain(
        &self,
        at: At,
        walk: Walk,
        work: impl FnOnce(&Dir, &Path) -> Result<()>,
    ) -> Result<()> {
        let (names, name) = fs::split(at.path)?;
        let base = self.root.base();
        let run = |trust: Trust, work: &mut dyn FnMut(&Dir, &Path) -> Result<()>| -> Result<()> {
            let top = Dir::prefix(base)?;
            let dir = match walk {
                Walk::Create => Some(top.walk(&names, trust, Some(None))?),
                Walk::Existing => Some(top.walk(&names, trust, None)?),
                Walk::SkipIfMissing => top.find(&names, trust, None)?,
            };
            match dir {
                Some(dir) => work(&dir, &name),
                None => Ok(()),
            }
        };
        let mut work = Some(work);
        let mut once = |dir: &Dir, name: &Path| match work.take() {
            Some(work) => work(dir, name),
            None => Ok(()),
        };
        match at.within {
            Within::Root => run(Trust::RootOwned, &mut once),
            Within::Admin(ids) => match self.roots_own(&names) {
                Some(dir) => once(&dir, &name),
                None => as_admin::do_as(ids, || run(Trust::NoSymlinks, &mut once)),
            },
        }
    }
}

fn read_path(path: &Path, shown: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => bail!("{}", crate::tr!("cannot-read-err", path.display(), e)),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| crate::tr!("cannot-read", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!("{}", crate::tr!("file-too-large", shown, limit));
    }
    Ok(Some(bytes))
}

fn stat_path(path: &Path) -> Result<Option<Meta>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => bail!("{}", crate::tr!("cannot-read-err", path.display(), e)),
    };
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    Ok(Some(Meta {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    }))
}

/// Whether `path` (links followed) has the extended attribute `name`.
fn xattr_present(path: &Path, name: &std::ffi::CStr) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: valid C strings and no buffer: getxattr only reports the
    // value's size (or -1).
    let n = unsafe { nix::libc::getxattr(c.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
    n > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn os() -> LinuxOs {
        LinuxOs::new(HostRoot::new("/"), PathBuf::from("/proc/self/exe"))
    }

    #[test]
    fn programs_show_their_group_and_file_capabilities() {
        let dir = std::env::temp_dir().join(format!("u7s-linuxos-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let tool = dir.join("newuidmap");
        std::fs::write(&tool, "").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o4710)).unwrap();
        let egid = nix::unistd::getegid().as_raw();
        let meta = os().program_meta(&tool).unwrap();
        assert_eq!((meta.kind, meta.mode, meta.gid), (Kind::File, 0o4710, egid));
        assert_eq!(os().program_meta(&dir.join("none")), None);
        assert!(!os().has_file_capabilities(&tool));
        if nix::unistd::geteuid().is_root() {
            // What `setcap cap_setuid+ep` writes: VFS_CAP_REVISION_2 with the
            // effective flag, CAP_SETUID (7) permitted.
            let mut cap = [0u8; 20];
            cap[..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
            cap[4..8].copy_from_slice(&(1u32 << 7).to_le_bytes());
            let path = std::ffi::CString::new(tool.as_os_str().as_bytes()).unwrap();
            // SAFETY: valid C strings and a buffer of the given length.
            let rc = unsafe {
                nix::libc::setxattr(
                    path.as_ptr(),
                    c"security.capability".as_ptr(),
                    cap.as_ptr().cast(),
                    cap.len(),
                    0,
                )
            };
            assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
            assert!(os().has_file_capabilities(&tool));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_account_has_its_primary_group_first() {
        let groups = os().account_groups("root", 0);
        assert_eq!(groups.first(), Some(&0));
        assert_eq!(os().group_name(0).as_deref(), Some("root"));
        let none = os().account_groups("no-such-user-u7s", 4242);
        assert_eq!(none, vec![4242], "only the primary group");
    }
}
