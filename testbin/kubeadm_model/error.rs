//! kubeadm's errors as `CheckErr` sees them: the kind decides the exit code
//! (cmd/kubeadm/app/util/error.go).

/// What kind of error reached `CheckErr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else: exit 1 (phase failures are wrapped, so they land here).
    Plain,
    /// An unwrapped `utilerrors.Aggregate` (validation lists, duplicate kinds): exit 3.
    Aggregate,
    /// An unwrapped preflight error: exit 2. The modeled commands run their
    /// preflight as a workflow phase, which wraps it (exit 1).
    #[allow(dead_code)]
    Preflight,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Plain => 1,
            Kind::Aggregate => 3,
            Kind::Preflight => 2,
        }
    }
}

#[derive(Debug)]
pub enum Failure {
    /// kubeadm's own failure: printed as `CheckErr` prints it.
    Kubeadm { message: String, kind: Kind },
    /// Something the model refuses because it does not model it.
    NotModeled(String),
    /// The model's own trouble, not kubeadm's (a test hook that failed).
    Model(String),
    /// Leave with this code, the output already printed (help after a
    /// parent command without a subcommand).
    Exit(i32),
}

pub type Result<T> = std::result::Result<T, Failure>;

pub fn plain(message: impl Into<String>) -> Failure {
    Failure::Kubeadm {
        message: message.into(),
        kind: Kind::Plain,
    }
}

/// `utilerrors.NewAggregate(errs)`: one error alone, several in brackets.
pub fn aggregate(errors: &[String]) -> Failure {
    let message = if errors.len() == 1 {
        errors[0].clone()
    } else {
        format!("[{}]", errors.join(", "))
    };
    Failure::Kubeadm {
        message,
        kind: Kind::Aggregate,
    }
}

pub fn not_modeled(what: impl Into<String>) -> Failure {
    Failure::NotModeled(what.into())
}

/// The workflow runner wraps a phase's error: `error execution phase NAME: ...`.
pub fn in_phase(phase: &str, failure: Failure) -> Failure {
    match failure {
        Failure::Kubeadm { message, .. } => {
            plain(format!("error execution phase {phase}: {message}"))
        }
        other => other,
    }
}

/// A Go `os` error text: `open PATH: no such file or directory`.
pub fn os_error(op: &str, path: &str, e: &std::io::Error) -> String {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e
            .raw_os_error()
            .map(nix_strerror)
            .unwrap_or_else(|| e.to_string()),
    };
    format!("{op} {path}: {reason}")
}

fn nix_strerror(errno: i32) -> String {
    nix::errno::Errno::from_raw(errno).desc().to_lowercase()
}

/// A klog warning line on stderr: `W0102 15:04:05.000000    1234 file.go:1] msg`.
pub fn klog_warning(source: &str, message: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil month and day from days since 1970-01-01.
    let z = days as i64 + 719_468;
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    eprintln!(
        "W{month:02}{day:02} {:02}:{:02}:{:02}.{:06} {:>7} {source}] {message}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        now.subsec_micros(),
        std::process::id()
    );
}
