//! [`Os`] on this machine: host files under the root prefix, the real tools,
//! the terminal. The only place the flow touches the system.

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};

use super::{At, Captured, Ids, Kind, Meta, Os, Place};
use crate::exec::{self, Invocation};
use crate::fsx::write_atomic_owned;
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

    /// `mkdir -p` for the parent of `path`; new directories belong to `owner`.
    fn make_parents(&self, path: &Path, owner: Option<Ids>) -> Result<()> {
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut dir = parent.to_path_buf();
        while !dir.exists() {
            missing.push(dir.clone());
            if !dir.pop() {
                break;
            }
        }
        for dir in missing.iter().rev() {
            std::fs::create_dir(dir).with_context(|| crate::tr!("cannot-create", dir.display()))?;
            if let Some(ids) = owner {
                std::os::unix::fs::chown(dir, Some(ids.uid), Some(ids.gid))
                    .with_context(|| crate::tr!("cannot-chown", dir.display()))?;
            }
        }
        Ok(())
    }
}

fn ids(owner: Option<Ids>) -> (u32, u32) {
    owner.map(|i| (i.uid, i.gid)).unwrap_or((0, 0))
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

    fn capture(&self, argv: &[String]) -> Result<Captured> {
        let inv = Invocation::new(&argv[0], argv[1..].iter().map(Into::into).collect());
        let out = exec::run_captured(&inv).with_context(|| crate::tr!("cannot-run", argv[0]))?;
        Ok(Captured {
            code: out.status.code().unwrap_or(1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }

    fn run(&self, argv: &[String], place: Place) -> Result<i32> {
        let inv = match place {
            Place::Host => Invocation::new(&argv[0], argv[1..].iter().map(Into::into).collect()),
            Place::Inside => {
                let mut args: Vec<OsString> = vec!["nsenter_u7s".into(), "--".into()];
                args.extend(argv.iter().map(Into::into));
                Invocation::new(&self.self_exe, args)
            }
        };
        exec::run_wait(&inv).with_context(|| crate::tr!("cannot-run", argv[0]))
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
        let path = self.path(at);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => bail!("{}", crate::tr!("cannot-read-err", path.display(), e)),
        };
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .with_context(|| crate::tr!("cannot-read", path.display()))?;
        if bytes.len() as u64 > limit {
            bail!("{}", crate::tr!("file-too-large", at.path, limit));
        }
        Ok(Some(bytes))
    }

    fn stat(&self, at: At) -> Result<Option<Meta>> {
        let path = self.path(at);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => bail!("{}", crate::tr!("cannot-read-err", path.display(), e)),
        };
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
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
        }))
    }

    fn write(&self, at: At, bytes: &[u8], mode: u32, owner: Option<Ids>) -> Result<()> {
        let target = self.path(at);
        self.make_parents(&target, owner)?;
        write_atomic_owned(&target, bytes, mode, owner.map(|i| (i.uid, i.gid)))
    }

    fn write_in_place(&self, at: At, bytes: &[u8]) -> Result<()> {
        let path = self.path(at);
        std::fs::write(&path, bytes).with_context(|| crate::tr!("cannot-write", path.display()))
    }

    fn make_dir(&self, at: At, mode: u32, owner: Option<Ids>) -> Result<()> {
        let dir = self.path(at);
        self.make_parents(&dir, None)?;
        if !dir.is_dir() {
            std::fs::create_dir(&dir).with_context(|| crate::tr!("cannot-create", at.path))?;
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
            .with_context(|| crate::tr!("cannot-chmod", at.path))?;
        let (uid, gid) = ids(owner);
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .with_context(|| crate::tr!("cannot-chown", at.path))
    }

    fn move_aside(&self, at: At, suffix: &str) -> Result<Option<String>> {
        let source = self.path(at);
        if std::fs::symlink_metadata(&source).is_err() {
            return Ok(None);
        }
        let mut name = format!("{}{suffix}", at.path);
        let mut n = 1;
        while self.root.path(&name).exists() {
            name = format!("{}{suffix}-{n}", at.path);
            n += 1;
        }
        std::fs::rename(&source, self.root.path(&name))
            .with_context(|| crate::tr!("cannot-move-aside", at.path, name))?;
        Ok(Some(name))
    }
}
