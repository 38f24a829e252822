//! Under systemd (stderr is the journal stream named by JOURNAL_STREAM), u7s
//! writes its messages to the journal's native socket with their priority and
//! identifier, and nothing to stderr.

mod support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

#[test]
fn messages_go_to_the_journal_when_stderr_is_the_journal_stream() {
    let socket = std::path::Path::new("/run/systemd/journal/socket");
    let problem = if !is_root() {
        Some("binding the journal socket needs root".to_string())
    } else if socket.exists() {
        Some("a real journald owns /run/systemd/journal/socket here".to_string())
    } else {
        None
    };
    if !prerequisite(problem) {
        return;
    }
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let server = UnixDatagram::bind(socket).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let tree = Tree::new("journal");
    let stderr_path = tree.root.join("stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let meta = stderr.metadata().unwrap();
    let status = Command::new(tree.applet("nsenter_u7s"))
        .arg("true")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("U7S_ADMIN_USER", "root")
        .env("U7S_ROOTLESSKIT_STATE_DIR", tree.root.join("no-state"))
        .env("U7S_NSENTER_RETRIES", "1")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap();
    let mut buf = [0u8; 4096];
    let received = server.recv(&mut buf);
    let _ = std::fs::remove_file(socket);
    assert_eq!(status.code(), Some(1));
    let entry = String::from_utf8_lossy(&buf[..received.expect("a journal entry")]).into_owned();
    assert!(entry.contains("PRIORITY=3\n"), "{entry}");
    assert!(entry.contains("SYSLOG_IDENTIFIER=nsenter_u7s\n"), "{entry}");
    assert!(
        entry.contains("MESSAGE=rootlesskit of root is not running"),
        "{entry}"
    );
    assert_eq!(
        std::fs::read_to_string(&stderr_path).unwrap(),
        "",
        "nothing on stderr"
    );
}
