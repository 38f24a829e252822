//! Messages: stderr only, through `tracing`, one plain line each.
//!
//! stdout belongs to the wrapped tool, so nothing here ever writes to it. The level
//! comes from `-v N` (kubeadm's and kubectl's own verbosity flag, which we read but
//! never remove) or `U7S_DEBUG=1`.

use std::ffi::OsString;
use std::fmt;
use std::sync::OnceLock;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static APPLET: OnceLock<String> = OnceLock::new();

/// The tracing target of progress lines: `tracing::warn!(target: PROGRESS, ..)`
/// (warn so that they show at the default verbosity).
pub const PROGRESS: &str = "progress";

/// Maps a kubeadm/kubectl-style verbosity (0..9) onto a tracing level.
/// 0 shows warnings and errors only, so a quiet run prints nothing of ours.
pub fn level_for(verbosity: u8) -> Level {
    match verbosity {
        0 => Level::WARN,
        1..=2 => Level::INFO,
        3..=4 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// Verbosity from the environment: `U7S_DEBUG=1|true` means debug (3).
pub fn env_verbosity() -> u8 {
    match std::env::var("U7S_DEBUG").as_deref() {
        Ok("1") | Ok("true") | Ok("yes") => 3,
        _ => 0,
    }
}

/// Finds a pflag-style verbosity flag in `args` without consuming it:
/// `-v N`, `-v=N`, `-vN`, `--v N`, `--v=N`. Stops at `--`. Values that are not a
/// number are ignored here (the real tool reports them in its own words).
pub fn peek_verbosity(args: &[OsString]) -> Option<u8> {
    let mut found = None;
    let mut iter = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        let value = match arg.as_ref() {
            "--" => break,
            "-v" | "--v" => iter.next().map(|v| v.into_owned()),
            other => other
                .strip_prefix("--v=")
                .or_else(|| other.strip_prefix("-v="))
                .or_else(|| other.strip_prefix("-v").filter(|rest| !rest.is_empty()))
                .map(str::to_owned),
        };
        if let Some(n) = value.and_then(|v| v.parse::<u8>().ok()) {
            found = Some(n.min(9));
        }
    }
    found
}

struct PlainLine;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Progress lines (`[3/14] Writing ...`) are shown bare, at every level.
        if event.metadata().target() == PROGRESS {
            ctx.field_format().format_fields(writer.by_ref(), event)?;
            return writeln!(writer);
        }
        let applet = APPLET.get().map(String::as_str).unwrap_or("u7s");
        let level = match *event.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            Level::DEBUG => "debug: ",
            Level::TRACE => "trace: ",
        };
        write!(writer, "{applet}: {level}")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the stderr logger once per process. Later calls only keep the first.
pub fn init(applet: &str, verbosity: u8) {
    let _ = APPLET.set(applet.to_owned());
    let verbosity = verbosity.max(env_verbosity());
    // Under systemd, keep each message's priority in the journal.
    if crate::journal::stderr_is_journal() {
        use tracing_subscriber::layer::SubscriberExt;
        if let Ok(layer) = crate::journal::layer(applet, crate::journal::own_unit().as_ref()) {
            let filter = tracing_subscriber::filter::LevelFilter::from_level(level_for(verbosity));
            let subscriber = tracing_subscriber::registry().with(layer).with(filter);
            if tracing::subscriber::set_global_default(subscriber).is_ok() {
                return;
            }
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(level_for(verbosity))
        .event_format(PlainLine)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn verbosity_forms_are_found() {
        assert_eq!(peek_verbosity(&os(&["init", "-v", "5"])), Some(5));
        assert_eq!(peek_verbosity(&os(&["-v=4", "init"])), Some(4));
        assert_eq!(peek_verbosity(&os(&["-v3"])), Some(3));
        assert_eq!(peek_verbosity(&os(&["--v", "2"])), Some(2));
        assert_eq!(peek_verbosity(&os(&["--v=7", "get", "pods"])), Some(7));
        assert_eq!(peek_verbosity(&os(&["get", "pods"])), None);
        assert_eq!(peek_verbosity(&os(&["--", "-v", "5"])), None);
        assert_eq!(peek_verbosity(&os(&["-v", "abc"])), None);
        assert_eq!(peek_verbosity(&os(&["-v", "99"])), Some(9));
    }

    #[test]
    fn quiet_by_default() {
        assert_eq!(level_for(0), Level::WARN);
        assert_eq!(level_for(1), Level::INFO);
        assert_eq!(level_for(5), Level::TRACE);
    }
}
