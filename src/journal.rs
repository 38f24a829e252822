//! Logging to the systemd journal through its native protocol, when stderr is
//! connected to the journal (systemd sets `JOURNAL_STREAM` to the device and
//! inode of that stream). The protocol is tracing-journald's: each message
//! keeps its priority and carries `SYSLOG_IDENTIFIER`, multi-line messages
//! are sent length-encoded, and one too large for a datagram goes through a
//! sealed memfd. journald adds the unit itself (`_SYSTEMD_UNIT`), so
//! `journalctl -u <unit>` finds it.

use std::os::unix::fs::MetadataExt;

use tracing_journald::{Priority, PriorityMappings};

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

/// The syslog priority of each tracing level, as the stderr logger ranks
/// them: an info line is informational (6), not a notice (tracing-journald's
/// default), and debug and trace are both debug (7).
pub fn priorities() -> PriorityMappings {
    PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    }
}

/// A tracing layer that sends every event to journald's socket
/// (`/run/systemd/journal/socket`) as `identifier`; an error when nothing
/// listens there.
pub fn layer(identifier: &str) -> std::io::Result<tracing_journald::Layer> {
    Ok(tracing_journald::Layer::new()?
        .with_syslog_identifier(identifier.to_owned())
        .with_priority_mappings(priorities()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_keep_the_syslog_priorities_of_the_stderr_logger() {
        let p = priorities();
        // tracing-journald's Priority is the digit journald reads.
        let digits = [p.error, p.warn, p.info, p.debug, p.trace].map(|p| p as u8 as char);
        assert_eq!(digits, ['3', '4', '6', '7', '7']);
    }
}
