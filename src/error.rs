//! The one error type of the applets: what to tell the admin (one line) and
//! the status to exit with. Code below the applets returns it (or an
//! `anyhow::Error`, which converts with status 1); the applet's entry point
//! reports it once, with [`exit`], where the applet returns.

use std::fmt;

/// An error that ends an applet.
#[derive(Debug)]
pub struct Error {
    message: String,
    code: i32,
    /// Printed as it is, without u7s's prefix: another tool's own words
    /// (kubeadm's flag errors keep kubeadm's format).
    verbatim: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure with status 1 (refused, or a step failed).
    pub fn fail(message: impl fmt::Display) -> Error {
        Error::with_code(1, message)
    }

    /// A bad command line of u7s's own: status 2.
    pub fn usage(message: impl fmt::Display) -> Error {
        Error::with_code(2, message)
    }

    pub fn with_code(code: i32, message: impl fmt::Display) -> Error {
        Error {
            message: one_line(&message.to_string()),
            code,
            verbatim: false,
        }
    }

    /// Another tool's message, printed on stderr exactly as given.
    pub fn verbatim(code: i32, message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            code,
            verbatim: true,
        }
    }

    pub fn code(&self) -> i32 {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Says what went wrong on stderr and returns the status to exit with.
    pub fn report(&self) -> i32 {
        if self.verbatim {
            eprintln!("{}", self.message);
        } else {
            tracing::error!("{}", self.message);
        }
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error::fail(format!("{e:#}"))
    }
}

impl From<crate::tools::ToolError> for Error {
    fn from(e: crate::tools::ToolError) -> Error {
        Error::with_code(e.exit_code(), e)
    }
}

/// The end of an applet: the status of a run that finished, or the error
/// reported once and its status.
pub fn exit(result: Result<i32>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

/// Keeps a message on one line: an anyhow chain or a YAML error may carry
/// newlines and indentation, and every message of ours is one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_carry_their_status() {
        let e = Error::fail("a\n   b\tc\n");
        assert_eq!((e.message(), e.code()), ("a b c", 1));
        assert_eq!(Error::usage("x").code(), 2);
        let from: Error = anyhow::anyhow!("inner").context("outer").into();
        assert_eq!(from.message(), "outer: inner");
        assert_eq!(from.code(), 1);
        let kubeadm = Error::verbatim(1, "unknown flag: --foo\nTo see the stack trace");
        assert!(
            kubeadm.message().contains('\n'),
            "kept as the tool wrote it"
        );
        assert_eq!(exit(Ok(7)), 7);
        assert_eq!(exit(Err(Error::with_code(127, "gone"))), 127);
    }
}
