//! Under systemd (stderr is the journal stream named by JOURNAL_STREAM), u7s
//! writes its messages to the journal's native socket with their priority and
//! identifier, and nothing to stderr; multi-line messages and messages too
//! large for one datagram (a sealed memfd passed with SCM_RIGHTS) arrive
//! whole. When stderr is not the stream JOURNAL_STREAM names, messages stay
//! on stderr.
//!
//! The tests never touch the host's journal: each program runs in a mount
//! namespace of its own (`unshare -m`, as root) in which a tmpfs hides /run
//! and /run/systemd/journal/socket is a bind mount of the test's own socket,
//! so they run beside a real journald and beside each other.

mod support;

use std::io::{IoSliceMut, Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use support::*;

/// Set for the copy of this test binary that logs inside the namespace.
const INNER: &str = "U7S_JOURNAL_TEST_INNER";

/// Inside the new mount namespace: hide /run, put the test's socket ($1) at
/// journald's path, then run the rest of the arguments.
const WITH_OUR_SOCKET: &str = r#"mount -t tmpfs -o mode=0755 u7s-journal-test /run &&
mkdir -p /run/systemd/journal && : >/run/systemd/journal/socket &&
mount --bind "$1" /run/systemd/journal/socket && shift && exec "$@""#;

/// Why these tests cannot run here, if they cannot.
fn journal_problem() -> Option<String> {
    if !is_root() {
        return Some("a mount namespace with journald's socket path needs root".into());
    }
    if which::which("unshare").is_err() {
        return Some("unshare (util-linux) is not installed".into());
    }
    None
}

/// One journal entry as journald reads it.
struct Entry {
    fields: Vec<(String, Vec<u8>)>,
    through_memfd: bool,
}

impl Entry {
    fn get(&self, key: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// The native protocol: `KEY=value\n`, or `KEY\n<u64 LE length><value>\n`.
fn fields(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let nl = data
            .iter()
            .position(|b| *b == b'\n')
            .expect("a field ends with a newline");
        let line = &data[..nl];
        if let Some(eq) = line.iter().position(|b| *b == b'=') {
            out.push((text(&line[..eq]), line[eq + 1..].to_vec()));
            data = &data[nl + 1..];
        } else {
            let len = u64::from_le_bytes(data[nl + 1..nl + 9].try_into().unwrap()) as usize;
            let value = &data[nl + 9..nl + 9 + len];
            assert_eq!(data[nl + 9 + len], b'\n', "length-encoded {}", text(line));
            out.push((text(line), value.to_vec()));
            data = &data[nl + 10 + len..];
        }
    }
    out
}

#[test]
fn native_protocol_fields_are_read_both_ways() {
    let mut data = b"PRIORITY=3\nMESSAGE\n".to_vec();
    data.extend_from_slice(&3u64.to_le_bytes());
    data.extend_from_slice(b"a\nb\nX=y=z\n");
    let f = fields(&data);
    assert_eq!(
        f,
        [
            ("PRIORITY".to_string(), b"3".to_vec()),
            ("MESSAGE".to_string(), b"a\nb".to_vec()),
            ("X".to_string(), b"y=z".to_vec()),
        ]
    );
}

/// A socket in place of journald's, for programs started through `command`.
struct Journal {
    dir: PathBuf,
    socket: PathBuf,
    server: UnixDatagram,
}

impl Journal {
    fn new(tag: &str) -> Journal {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("journal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("socket");
        let server = UnixDatagram::bind(&socket).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Journal {
            dir,
            socket,
            server,
        }
    }

    /// `program` in a mount namespace where journald's socket is this one.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "private", "--", "sh", "-c"])
            .arg(WITH_OUR_SOCKET)
            .arg("sh")
            .arg(&self.socket)
            .arg(program);
        cmd
    }

    /// The next entry that is not empty (tracing-journald sends an empty
    /// datagram to see that journald listens), or None after `timeout`.
    fn receive(&self, timeout: Duration) -> Option<Entry> {
        self.server.set_read_timeout(Some(timeout)).unwrap();
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            let mut space = nix::cmsg_space!([RawFd; 1]);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = match recvmsg::<()>(
                self.server.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => msg,
                Err(nix::errno::Errno::EAGAIN) => return None,
                Err(e) => panic!("recvmsg: {e}"),
            };
            let len = msg.bytes;
            let mut memfd = None;
            for cmsg in msg.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(fds) = cmsg {
                    memfd = fds.first().copied();
                }
            }
            let entry = match memfd {
                Some(fd) => {
                    // SAFETY: the fd just came with the message and is ours alone.
                    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
                    let mut data = Vec::new();
                    file.rewind().unwrap();
                    file.read_to_end(&mut data).unwrap();
                    Entry {
                        fields: fields(&data),
                        through_memfd: true,
                    }
                }
                None if len == 0 => continue,
                None => Entry {
                    fields: fields(&buf[..len]),
                    through_memfd: false,
                },
            };
            return Some(entry);
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nsenter_u7s, failing (no rootlesskit), with stderr on a file; the
/// JOURNAL_STREAM it gets names `stream` (that file when None).
fn failing_nsenter(journal: &Journal, tree: &Tree, stream: Option<&Path>) -> (i32, String) {
    let stderr_path = tree.root.join("stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let named = match stream {
        Some(other) => std::fs::metadata(other).unwrap(),
        None => stderr.metadata().unwrap(),
    };
    let status = journal
        .command(&tree.applet("nsenter_u7s"))
        .arg("true")
        .env("JOURNAL_STREAM", format!("{}:{}", named.dev(), named.ino()))
        .env("U7S_ADMIN_USER", "root")
        .env("U7S_ROOTLESSKIT_STATE_DIR", tree.root.join("no-state"))
        .env("U7S_NSENTER_RETRIES", "1")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&stderr_path).unwrap(),
    )
}

#[test]
fn messages_go_to_the_journal_when_stderr_is_the_journal_stream() {
    if !prerequisite(journal_problem()) {
        return;
    }
    let journal = Journal::new("stream");
    let tree = Tree::new("journal-stream");
    let (status, stderr) = failing_nsenter(&journal, &tree, None);
    let entry = journal
        .receive(Duration::from_secs(10))
        .expect("a journal entry");
    let _ = std::fs::remove_dir_all(&tree.root);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(entry.get("PRIORITY").as_deref(), Some("3"));
    assert_eq!(
        entry.get("SYSLOG_IDENTIFIER").as_deref(),
        Some("nsenter_u7s")
    );
    let message = entry.get("MESSAGE").unwrap_or_default();
    assert!(
        message.starts_with("rootlesskit of root is not running"),
        "{message}"
    );
    assert_eq!(stderr, "", "nothing on stderr");
}

#[test]
fn messages_stay_on_stderr_when_journal_stream_names_another_file() {
    if !prerequisite(journal_problem()) {
        return;
    }
    let journal = Journal::new("other");
    let tree = Tree::new("journal-other");
    let other = tree.root.join("another-stream");
    std::fs::write(&other, "").unwrap();
    let (status, stderr) = failing_nsenter(&journal, &tree, Some(&other));
    let entry = journal.receive(Duration::from_millis(500));
    let _ = std::fs::remove_dir_all(&tree.root);
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.starts_with("nsenter_u7s: error: rootlesskit of root is not running"),
        "{stderr}"
    );
    assert!(
        entry.is_none(),
        "a journal entry although stderr is no journal stream"
    );
}

/// 300 KB: more than one datagram can carry (the socket's send buffer,
/// net.core.wmem_default, is 208 KB by default).
fn large_message() -> String {
    (0..30_000).map(|i| format!("{i:09}\n")).collect()
}

/// The layer u7s logs through: every level keeps its priority, the
/// identifier and unit are the ones given, a multi-line message arrives as it was and
/// a large one arrives whole through a memfd. The events are logged by a copy
/// of this test binary (INNER set) inside the namespace.
#[test]
fn the_journal_layer_keeps_priorities_identifiers_and_large_messages() {
    if std::env::var_os(INNER).is_some() {
        use tracing_subscriber::layer::SubscriberExt;
        let layer = u7s::journal::layer(
            "u7s-journal-test",
            Some(&u7s::journal::OwnUnit::System("u7s.service".into())),
        )
        .expect("journald's socket");
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("{}", large_message());
            tracing::warn!("two\nlines");
            tracing::info!("info");
            tracing::debug!("debug");
            tracing::trace!("trace");
        });
        return;
    }
    if !prerequisite(journal_problem()) {
        return;
    }
    let journal = Journal::new("layer");
    let out = run(journal
        .command(&std::env::current_exe().unwrap())
        .args([
            "the_journal_layer_keeps_priorities_identifiers_and_large_messages",
            "--exact",
            "--test-threads=1",
        ])
        .env(INNER, "1"));
    assert!(
        out.status.success(),
        "the logging copy failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let entries: Vec<Entry> = (0..5)
        .map(|i| {
            journal
                .receive(Duration::from_secs(10))
                .unwrap_or_else(|| panic!("entry {i} missing"))
        })
        .collect();
    let priorities: Vec<String> = entries
        .iter()
        .map(|e| e.get("PRIORITY").unwrap_or_default())
        .collect();
    assert_eq!(priorities, ["3", "4", "6", "7", "7"]);
    for e in &entries {
        assert_eq!(
            e.get("SYSLOG_IDENTIFIER").as_deref(),
            Some("u7s-journal-test")
        );
        // journalctl -u u7s.service matches it from uid 0 without the cgroup.
        assert_eq!(e.get("OBJECT_SYSTEMD_UNIT").as_deref(), Some("u7s.service"));
    }
    let large = &entries[0];
    assert!(large.through_memfd, "300 KB did not go through a memfd");
    assert!(
        large.get("MESSAGE") == Some(large_message()),
        "the large message arrived changed ({} bytes)",
        large.get("MESSAGE").unwrap_or_default().len()
    );
    assert!(!entries[1].through_memfd);
    assert_eq!(entries[1].get("MESSAGE").as_deref(), Some("two\nlines"));
    assert_eq!(entries[2].get("MESSAGE").as_deref(), Some("info"));
    assert!(journal.receive(Duration::from_millis(300)).is_none());
}
