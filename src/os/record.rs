//! [`Os`] for tests: an in-memory host that answers reads and records every
//! effect, in order, with the domain it happened in. Commands are scripted
//! by the test ([`RecordingOs::on_run`]), so a stand-in kubeadm can write
//! what the real one writes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Result};

use super::{At, Captured, Ids, Kind, Meta, Os, Place, Within};
use crate::tools::{Tool, ToolError};

/// One entry of the in-memory host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub node: Node,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A real program of the host (outside the root prefix): its metadata and
/// whether it carries file capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub meta: Meta,
    pub file_caps: bool,
}

/// A group of the system's database: its name and members.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    members: Vec<String>,
}

/// An effect (or a question) the flow asked of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Write {
        path: String,
        within: Within,
        mode: u32,
        owner: Option<Ids>,
    },
    WriteInPlace {
        path: String,
        text: String,
    },
    MakeDir {
        path: String,
        within: Within,
        mode: u32,
        owner: Option<Ids>,
    },
    MoveAside {
        path: String,
        within: Within,
        to: String,
    },
    /// A read of a file in u7s-admin's domain (reads of root's files are
    /// not recorded: they change nothing and need no care).
    ReadAsAdmin {
        path: String,
    },
    Run {
        argv: Vec<String>,
        place: Place,
    },
    /// A command whose output the flow read.
    Capture {
        argv: Vec<String>,
        place: Place,
    },
    Ask {
        question: String,
    },
    /// Shadow's lock for /etc/subuid and /etc/subgid taken.
    LockSubids,
}

/// What a scripted command may do to the host: the in-memory files.
pub type Files = BTreeMap<String, Entry>;

type RunScript = Box<dyn Fn(&[String], Place, &mut Files) -> i32>;
type CaptureScript = Box<dyn Fn(&[String], Place) -> Option<Captured>>;

pub struct RecordingOs {
    pub euid: u32,
    env: BTreeMap<String, String>,
    tools: BTreeMap<&'static str, PathBuf>,
    programs: BTreeMap<PathBuf, Program>,
    groups: BTreeMap<u32, Group>,
    files: RefCell<Files>,
    events: RefCell<Vec<Event>>,
    script: RunScript,
    answer: bool,
    clock: Cell<SystemTime>,
    /// Whether u7s-admin's namespaces are up.
    pub namespaces: bool,
    captures: BTreeMap<String, Captured>,
    capture_script: CaptureScript,
}

impl Default for RecordingOs {
    fn default() -> Self {
        RecordingOs::new()
    }
}

impl RecordingOs {
    /// An empty host, run as root; every command succeeds.
    pub fn new() -> RecordingOs {
        RecordingOs {
            euid: 0,
            env: BTreeMap::new(),
            tools: BTreeMap::new(),
            programs: BTreeMap::new(),
            groups: BTreeMap::new(),
            files: RefCell::new(BTreeMap::new()),
            events: RefCell::new(Vec::new()),
            script: Box::new(|_, _, _| 0),
            answer: false,
            namespaces: true,
            captures: BTreeMap::new(),
            capture_script: Box::new(|_, _| None),
            clock: Cell::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_722_000)),
        }
    }

    pub fn set_env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The real `tool` is installed at `path` (root's, mode 0755).
    pub fn install_tool(&mut self, tool: Tool, path: &str) -> &mut Self {
        self.tools.insert(tool.name(), PathBuf::from(path));
        self.set_program(path, 0o755, 0, 0)
    }

    /// The real program at `path` has this mode, owner and group.
    pub fn set_program(&mut self, path: &str, mode: u32, uid: u32, gid: u32) -> &mut Self {
        let meta = Meta {
            kind: Kind::File,
            mode,
            uid,
            gid,
        };
        self.programs
            .entry(PathBuf::from(path))
            .and_modify(|p| p.meta = meta)
            .or_insert(Program {
                meta,
                file_caps: false,
            });
        self
    }

    /// The program at `path` (set before) carries file capabilities.
    pub fn set_file_caps(&mut self, path: &str) -> &mut Self {
        if let Some(p) = self.programs.get_mut(Path::new(path)) {
            p.file_caps = true;
        }
        self
    }

    /// A group of the system's database, with its members.
    pub fn add_group(&mut self, name: &str, gid: u32, members: &[&str]) -> &mut Self {
        self.groups.insert(
            gid,
            Group {
                name: name.to_owned(),
                members: members.iter().map(|m| (*m).to_owned()).collect(),
            },
        );
        self
    }

    /// A file owned by root, its parents created as root's directories.
    pub fn put(&self, path: &str, text: &str) -> &Self {
        self.put_owned(path, text.as_bytes(), 0o644, 0)
    }

    /// A file owned by `uid` and its own group (`gid` = `uid`, as useradd
    /// makes a system account's group).
    pub fn put_owned(&self, path: &str, bytes: &[u8], mode: u32, uid: u32) -> &Self {
        let mut files = self.files.borrow_mut();
        add_parents(&mut files, path, 0);
        files.insert(
            path.to_owned(),
            Entry {
                node: Node::File(bytes.to_vec()),
                mode,
                uid,
                gid: uid,
            },
        );
        self
    }

    pub fn put_dir(&self, path: &str, mode: u32, uid: u32) -> &Self {
        let mut files = self.files.borrow_mut();
        add_parents(&mut files, path, 0);
        files.insert(
            path.to_owned(),
            Entry {
                node: Node::Dir,
                mode,
                uid,
                gid: uid,
            },
        );
        self
    }

    pub fn remove(&self, path: &str) {
        self.files.borrow_mut().remove(path);
    }

    /// What the commands do (argv, where, the host's files) and return.
    pub fn on_run(&mut self, script: impl Fn(&[String], Place, &mut Files) -> i32 + 'static) {
        self.script = Box::new(script);
    }

    /// What captured commands answer (argv, where); `None` falls back to
    /// [`RecordingOs::set_capture`]'s table.
    pub fn on_capture(&mut self, script: impl Fn(&[String], Place) -> Option<Captured> + 'static) {
        self.capture_script = Box::new(script);
    }

    /// What `argv` (joined by spaces) prints when captured; others fail.
    pub fn set_capture(&mut self, argv: &str, stdout: &str) -> &mut Self {
        self.captures.insert(
            argv.to_owned(),
            Captured {
                code: 0,
                stdout: stdout.to_owned(),
            },
        );
        self
    }

    /// The admin's answer to every question on the terminal.
    pub fn answer(&mut self, yes: bool) {
        self.answer = yes;
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.borrow().clone()
    }

    pub fn file(&self, path: &str) -> Option<Entry> {
        self.files.borrow().get(path).cloned()
    }

    pub fn text(&self, path: &str) -> Option<String> {
        match self.file(path)?.node {
            Node::File(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => None,
        }
    }

    /// Every path of the in-memory host.
    pub fn paths(&self) -> Vec<String> {
        self.files.borrow().keys().cloned().collect()
    }

    fn record(&self, event: Event) {
        self.events.borrow_mut().push(event);
    }
}

fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

/// Creates the missing parents of `path` as directories owned by `uid` (and
/// its own group).
pub fn add_parents(files: &mut Files, path: &str, uid: u32) {
    let mut missing = Vec::new();
    let mut cur = parent(path);
    while let Some(dir) = cur {
        if files.contains_key(dir) {
            break;
        }
        missing.push(dir.to_owned());
        cur = parent(dir);
    }
    for dir in missing {
        files.insert(
            dir,
            Entry {
                node: Node::Dir,
                mode: 0o755,
                uid,
                gid: uid,
            },
        );
    }
}

impl Os for RecordingOs {
    fn euid(&self) -> u32 {
        self.euid
    }

    fn env(&self, name: &str) -> Option<OsString> {
        self.env.get(name).map(OsString::from)
    }

    fn now(&self) -> SystemTime {
        self.clock.get()
    }

    fn sleep(&self, pause: Duration) {
        self.clock.set(self.clock.get() + pause);
    }

    fn ask(&self, question: &str) -> bool {
        self.record(Event::Ask {
            question: question.to_owned(),
        });
        self.answer
    }

    fn resolve_tool(&self, tool: Tool) -> Result<PathBuf, ToolError> {
        self.tools
            .get(tool.name())
            .cloned()
            .ok_or_else(|| ToolError::Missing {
                tool: tool.name(),
                path: tool.default_path(),
                var: tool.env_var(),
            })
    }

    fn executable(&self, program: &Path) -> bool {
        self.programs
            .get(program)
            .is_some_and(|p| p.meta.mode & 0o111 != 0)
    }

    fn program_meta(&self, program: &Path) -> Option<Meta> {
        self.programs.get(program).map(|p| p.meta)
    }

    fn has_file_capabilities(&self, program: &Path) -> bool {
        self.programs.get(program).is_some_and(|p| p.file_caps)
    }

    fn account_groups(&self, user: &str, gid: u32) -> Vec<u32> {
        let mut ids = vec![gid];
        ids.extend(
            self.groups
                .iter()
                .filter(|(id, g)| **id != gid && g.members.iter().any(|m| m == user))
                .map(|(id, _)| *id),
        );
        ids
    }

    fn group_name(&self, gid: u32) -> Option<String> {
        self.groups.get(&gid).map(|g| g.name.clone())
    }

    fn capture(&self, argv: &[String], place: Place) -> Result<Captured> {
        // Inside only: what u7s-admin's namespaces were asked (root's
        // version queries change nothing).
        if place == Place::Inside {
            self.record(Event::Capture {
                argv: argv.to_vec(),
                place,
            });
        }
        Ok((self.capture_script)(argv, place)
            .or_else(|| self.captures.get(&argv.join(" ")).cloned())
            .unwrap_or(Captured {
                code: 127,
                stdout: String::new(),
            }))
    }

    fn run(&self, argv: &[String], place: Place) -> Result<i32> {
        self.record(Event::Run {
            argv: argv.to_vec(),
            place,
        });
        Ok((self.script)(argv, place, &mut self.files.borrow_mut()))
    }

    fn namespaces_ready(&self, _admin: &crate::users::AdminUser) -> bool {
        self.namespaces
    }

    fn read_given(&self, path: &Path, limit: u64) -> Result<Vec<u8>> {
        match self.read(At::root(&path.to_string_lossy()), limit)? {
            Some(bytes) => Ok(bytes),
            None => bail!("{}: no such file", path.display()),
        }
    }

    fn shown(&self, path: &str) -> String {
        path.to_owned()
    }

    fn kernel_hostname(&self) -> Option<String> {
        None
    }

    fn read(&self, at: At, limit: u64) -> Result<Option<Vec<u8>>> {
        if let Within::Admin(_) = at.within {
            self.record(Event::ReadAsAdmin {
                path: at.path.to_owned(),
            });
        }
        match self.files.borrow().get(at.path).map(|e| &e.node) {
            None => Ok(None),
            Some(Node::File(bytes)) if bytes.len() as u64 > limit => {
                bail!("{} is larger than {limit} bytes", at.path)
            }
            Some(Node::File(bytes)) => Ok(Some(bytes.clone())),
            Some(other) => bail!("{} is not a file: {other:?}", at.path),
        }
    }

    fn stat(&self, at: At) -> Result<Option<Meta>> {
        Ok(self.files.borrow().get(at.path).map(|e| Meta {
            kind: match e.node {
                Node::Dir => Kind::Dir,
                Node::File(_) => Kind::File,
                Node::Symlink(_) => Kind::Symlink,
            },
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
        }))
    }

    fn lock_subids(&self) -> Result<Box<dyn std::any::Any>> {
        self.record(Event::LockSubids);
        Ok(Box::new(()))
    }

    fn dir_holds_anything(&self, at: At) -> Result<bool> {
        let prefix = format!("{}/", at.path.trim_end_matches('/'));
        Ok(self.files.borrow().keys().any(|k| k.starts_with(&prefix)))
    }

    fn write(&self, at: At, bytes: &[u8], mode: u32, owner: Option<Ids>) -> Result<()> {
        self.record(Event::Write {
            path: at.path.to_owned(),
            within: at.within,
            mode,
            owner,
        });
        let ids = owner.unwrap_or(Ids { uid: 0, gid: 0 });
        let mut files = self.files.borrow_mut();
        add_parents(&mut files, at.path, ids.uid);
        files.insert(
            at.path.to_owned(),
            Entry {
                node: Node::File(bytes.to_vec()),
                mode,
                uid: ids.uid,
                gid: ids.gid,
            },
        );
        Ok(())
    }

    fn write_in_place(&self, at: At, bytes: &[u8]) -> Result<()> {
        self.record(Event::WriteInPlace {
            path: at.path.to_owned(),
            text: String::from_utf8_lossy(bytes).into_owned(),
        });
        let mut files = self.files.borrow_mut();
        match files.get_mut(at.path) {
            Some(Entry {
                node: node @ Node::File(_),
                ..
            }) => {
                *node = Node::File(bytes.to_vec());
                Ok(())
            }
            _ => bail!("{} does not exist", at.path),
        }
    }

    fn make_dir(&self, at: At, mode: u32, owner: Option<Ids>) -> Result<()> {
        self.record(Event::MakeDir {
            path: at.path.to_owned(),
            within: at.within,
            mode,
            owner,
        });
        let mut files = self.files.borrow_mut();
        add_parents(&mut files, at.path, 0);
        files.insert(
            at.path.to_owned(),
            Entry {
                node: Node::Dir,
                mode,
                uid: owner.map(|i| i.uid).unwrap_or(0),
                gid: owner.map(|i| i.gid).unwrap_or(0),
            },
        );
        Ok(())
    }

    fn move_aside(&self, at: At, suffix: &str) -> Result<Option<String>> {
        let mut files = self.files.borrow_mut();
        if !files.contains_key(at.path) {
            return Ok(None);
        }
        let mut to = format!("{}{suffix}", at.path);
        let mut n = 1;
        while files.contains_key(&to) {
            to = format!("{}{suffix}-{n}", at.path);
            n += 1;
        }
        let prefix = format!("{}/", at.path);
        let moved: Vec<String> = files
            .keys()
            .filter(|k| *k == at.path || k.starts_with(&prefix))
            .cloned()
            .collect();
        for old in moved {
            let entry = files.remove(&old).expect("listed");
            files.insert(format!("{to}{}", &old[at.path.len()..]), entry);
        }
        drop(files);
        self.record(Event::MoveAside {
            path: at.path.to_owned(),
            within: at.within,
            to: to.clone(),
        });
        Ok(Some(to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_host_behaves_like_a_file_tree() {
        let os = RecordingOs::new();
        os.put("/etc/kubernetes/pki/ca.key", "KEY");
        assert_eq!(
            os.stat(At::root("/etc/kubernetes")).unwrap().unwrap().kind,
            Kind::Dir
        );
        let to = os
            .move_aside(At::root("/etc/kubernetes"), ".bak")
            .unwrap()
            .unwrap();
        assert_eq!(to, "/etc/kubernetes.bak");
        assert_eq!(
            os.text("/etc/kubernetes.bak/pki/ca.key").as_deref(),
            Some("KEY")
        );
        assert!(os.file("/etc/kubernetes/pki/ca.key").is_none());
        os.put("/etc/kubernetes", "x");
        assert_eq!(
            os.move_aside(At::root("/etc/kubernetes"), ".bak")
                .unwrap()
                .as_deref(),
            Some("/etc/kubernetes.bak-1"),
            "never replaces"
        );
        assert_eq!(os.move_aside(At::root("/nothing"), ".bak").unwrap(), None);
        let ids = Ids { uid: 5, gid: 5 };
        os.write(
            At::admin("/home/a/.kube/config", ids),
            b"c",
            0o600,
            Some(ids),
        )
        .unwrap();
        assert_eq!(os.file("/home/a/.kube").unwrap().uid, 5);
        assert_eq!(os.events().len(), 3);
        assert!(
            os.read(At::root("/home/a/.kube/config"), 0).is_err(),
            "bounded"
        );
    }
}
