//! `u7s doctor`: the whole stack checked in order, one line per check.
//!
//! - `report`: a finding (`[OK]`, `[WARN]`, `[ERROR Name]`), the text and
//!   JSON renderings, the exit status (pure);
//! - `listen`: which host ports u7s-admin's rootlesskit listens on, from
//!   `/proc/net/{tcp,udp}{,6}` (pure parser);
//! - `x509`: the expiry date of a PEM certificate (pure parser);
//! - `saferead`: reading root's and the cluster's files without following a
//!   symlink anywhere in their path;
//! - `inside`: the checks that only make sense inside the namespaces (CRI-O's
//!   socket, kubelet's health), run by a forked child that proved and joined
//!   them;
//! - `checks`: gathering the facts (systemd, /proc, the state dir, kubectl)
//!   and turning each into a finding.
//!
//! Everything u7s-admin controls (its user manager's answers, its state dir,
//! the API server's JSON) is data here: parsed, bounded, never followed or run.

pub mod checks;
pub mod inside;
pub mod listen;
pub mod report;
pub mod saferead;
pub mod x509;

pub use report::{Finding, Level, Report};
