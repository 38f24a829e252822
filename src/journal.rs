//! Logging to the systemd journal through its native protocol, when stderr is
//! connected to the journal (systemd sets `JOURNAL_STREAM` to the device and
//! inode of that stream). Each message keeps its priority and carries
//! `SYSLOG_IDENTIFIER`; journald adds the unit itself (`_SYSTEMD_UNIT`), so
//! `journalctl -u <unit>` finds it.

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

pub const SOCKET: &str = "/run/systemd/journal/socket";

/// Whether stderr is the journal stream systemd gave this process.
pub fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var("JOURNAL_STREAM").ok() else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse::<u64>().ok() == Some(meta.dev()) && ino.parse::<u64>().ok() == Some(meta.ino())
}

/// syslog priority of a tracing level.
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// One journal entry in the native protocol: `KEY=value\n` lines, or for a
/// value with a newline `KEY\n<u64 LE length><value>\n`.
pub fn encode(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in fields {
        if value.contains('\n') {
            out.extend_from_slice(key.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        } else {
            out.extend_from_slice(format!("{key}={value}\n").as_bytes());
        }
    }
    out
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// A tracing layer that sends every event to the journal.
pub struct JournalLayer {
    socket: UnixDatagram,
    path: PathBuf,
    identifier: String,
}

impl JournalLayer {
    pub fn new(identifier: &str, path: &Path) -> std::io::Result<JournalLayer> {
        Ok(JournalLayer {
            socket: UnixDatagram::unbound()?,
            path: path.to_owned(),
            identifier: identifier.to_owned(),
        })
    }
}

impl<S: Subscriber> Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = Message::default();
        event.record(&mut message);
        let priority = priority(event.metadata().level()).to_string();
        let entry = encode(&[
            ("PRIORITY", &priority),
            ("SYSLOG_IDENTIFIER", &self.identifier),
            ("MESSAGE", &message.0),
        ]);
        if self.socket.send_to(&entry, &self.path).is_err() {
            // The journal is gone: say it where it would have gone anyway.
            eprintln!("{}: {}", self.identifier, message.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_use_the_native_protocol() {
        assert_eq!(
            encode(&[("PRIORITY", "3"), ("MESSAGE", "boom")]),
            b"PRIORITY=3\nMESSAGE=boom\n".to_vec()
        );
        let two_lines = encode(&[("MESSAGE", "a\nb")]);
        let mut expected = b"MESSAGE\n".to_vec();
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"a\nb\n");
        assert_eq!(two_lines, expected);
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::DEBUG), 7);
    }

    #[test]
    fn events_reach_the_socket_with_priority_and_identifier() {
        let dir = std::env::temp_dir().join(format!("u7s-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("socket");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        let layer = JournalLayer::new("kubelet", &path).unwrap();
        let subscriber =
            tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("crio.sock did not appear");
        });
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.contains("PRIORITY=3\n"), "{text}");
        assert!(text.contains("SYSLOG_IDENTIFIER=kubelet\n"), "{text}");
        assert!(
            text.contains("MESSAGE=crio.sock did not appear\n"),
            "{text}"
        );
    }
}
