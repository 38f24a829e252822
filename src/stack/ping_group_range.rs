//! Host settings root applies before the stack starts.
//!
//! `net.ipv4.ping_group_range`: slirp4netns forwards ICMP echo with
//! unprivileged ping sockets on the host side, which the kernel allows only to
//! groups in this range (reference `u7sinit.sh`).

use anyhow::{Context, Result};

use crate::settings::HostRoot;

pub const PING_GROUP_RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";
/// Every group (the kernel's maximum gid here is 2^31-1).
pub const ALL_GROUPS: (u32, u32) = (0, 2147483647);

/// Parses `"LOW\tHIGH"` as the kernel prints it.
pub fn parse_range(text: &str) -> Option<(u32, u32)> {
    let mut it = text.split_ascii_whitespace().map(str::parse::<u32>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi)), None) => Some((lo, hi)),
        _ => None,
    }
}

/// True when the current value already lets every group ping.
pub fn covers_all(range: (u32, u32)) -> bool {
    range.0 == ALL_GROUPS.0 && range.1 >= ALL_GROUPS.1
}

/// Sets the range under `root` unless it already covers every group.
/// Returns whether it was written.
pub fn ensure_ping_group_range(root: &HostRoot) -> Result<bool> {
    let path = root.path(PING_GROUP_RANGE);
    let current = std::fs::read_to_string(&path)
        .with_context(|| crate::tr!("cannot-read", path.display()))?;
    if parse_range(&current).is_some_and(covers_all) {
        return Ok(false);
    }
    std::fs::write(&path, format!("{} {}\n", ALL_GROUPS.0, ALL_GROUPS.1))
        .with_context(|| crate::tr!("cannot-write", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parsing() {
        assert_eq!(parse_range("1\t0\n"), Some((1, 0)));
        assert_eq!(parse_range("0 2147483647"), Some(ALL_GROUPS));
        assert_eq!(parse_range("0"), None);
        assert_eq!(parse_range("a b"), None);
        assert!(covers_all(ALL_GROUPS));
        assert!(!covers_all((1, 0)));
        assert!(!covers_all((100, 2147483647)));
    }

    #[test]
    fn writes_only_when_needed() {
        let dir = std::env::temp_dir().join(format!("u7s-host-{}", std::process::id()));
        let root = HostRoot::new(&dir);
        let path = root.path(PING_GROUP_RANGE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "1\t0\n").unwrap();
        assert!(ensure_ping_group_range(&root).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0 2147483647\n");
        assert!(!ensure_ping_group_range(&root).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ensure_ping_group_range(&root).is_err());
    }
}
