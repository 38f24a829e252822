//! The two subcommands u7s parses itself, and the Kubernetes minor versions
//! whose command line it knows.

use std::fmt;

/// `kubeadm init` or `kubeadm join`: the only commands u7s does not pass through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subcommand {
    Init,
    Join,
}

impl Subcommand {
    /// The word on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Subcommand::Init => "init",
            Subcommand::Join => "join",
        }
    }
}

impl fmt::Display for Subcommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Kubernetes 1.x minor version in 26..=32: the range the flag contract
/// covers (SPEC refuses below 1.26; newer ones need a new contract first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeMinor(u8);

impl KubeMinor {
    pub const MIN: KubeMinor = KubeMinor(26);
    pub const MAX: KubeMinor = KubeMinor(32);

    /// `None` outside 26..=32.
    pub fn new(minor: u8) -> Option<KubeMinor> {
        (Self::MIN.0..=Self::MAX.0)
            .contains(&minor)
            .then_some(KubeMinor(minor))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Every supported minor, oldest first.
    pub fn all() -> impl Iterator<Item = KubeMinor> {
        (Self::MIN.0..=Self::MAX.0).map(KubeMinor)
    }
}

impl fmt::Display for KubeMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_range() {
        assert!(KubeMinor::new(25).is_none());
        assert!(KubeMinor::new(33).is_none());
        assert_eq!(KubeMinor::new(26).unwrap().to_string(), "1.26");
        assert_eq!(KubeMinor::all().count(), 7);
    }
}
