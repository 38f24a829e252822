//! Host settings root applies before the stack starts.
//!
//! `net.ipv4.ping_group_range`: slirp4netns forwards ICMP echo from inside
//! with unprivileged ping sockets on the host side, which the kernel allows
//! only to groups in this range. slirp4netns runs as u7s-admin, so its group
//! is all that needs to be in it; the pods ping inside the child's network
//! namespace, which has a range of its own. The reference opened it to every
//! group (0 2147483647), which let every local user open ICMP sockets.

use anyhow::{Context, Result};

use crate::settings::HostRoot;

pub const PING_GROUP_RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";

/// Parses `"LOW\tHIGH"` as the kernel prints it.
pub fn parse_range(text: &str) -> Option<(u32, u32)> {
    let mut it = text.split_ascii_whitespace().map(str::parse::<u32>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi)), None) => Some((lo, hi)),
        _ => None,
    }
}

/// The range to set so that `gid` may ping, or `None` when `current`
/// allows it already. Nobody may (the kernel's default `1 0`, or a value we
/// cannot read): just `gid`. Some other groups may: the smallest range that
/// keeps them and adds `gid` (the admin's own setting is not narrowed).
pub fn range_for(current: Option<(u32, u32)>, gid: u32) -> Option<(u32, u32)> {
    match current {
        Some((lo, hi)) if lo <= gid && gid <= hi => None,
        Some((lo, hi)) if lo <= hi => Some((lo.min(gid), hi.max(gid))),
        _ => Some((gid, gid)),
    }
}

/// Lets group `gid` (u7s-admin's) ping, under `root`. Returns whether the
/// setting was written.
pub fn ensure_ping_group_range(root: &HostRoot, gid: u32) -> Result<bool> {
    let path = root.path(PING_GROUP_RANGE);
    let current = std::fs::read_to_string(&path)
        .with_context(|| crate::tr!("cannot-read", path.display()))?;
    let Some((lo, hi)) = range_for(parse_range(&current), gid) else {
        return Ok(false);
    };
    std::fs::write(&path, format!("{lo} {hi}\n"))
        .with_context(|| crate::tr!("cannot-write", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parsing() {
        assert_eq!(parse_range("1\t0\n"), Some((1, 0)));
        assert_eq!(parse_range("0 2147483647"), Some((0, 2147483647)));
        assert_eq!(parse_range("0"), None);
        assert_eq!(parse_range("a b"), None);
    }

    #[test]
    fn only_the_admins_group_is_added() {
        // The kernel's default lets nobody ping: just u7s-admin's group.
        assert_eq!(range_for(Some((1, 0)), 998), Some((998, 998)));
        assert_eq!(range_for(None, 998), Some((998, 998)));
        // Already allowed: unchanged (the distribution's 0 2147483647, too).
        assert_eq!(range_for(Some((0, 2147483647)), 998), None);
        assert_eq!(range_for(Some((998, 998)), 998), None);
        // The admin's own range is kept and stretched just to reach it.
        assert_eq!(range_for(Some((1000, 1010)), 998), Some((998, 1010)));
        assert_eq!(range_for(Some((10, 20)), 998), Some((10, 998)));
    }

    #[test]
    fn writes_only_when_needed() {
        let dir = std::env::temp_dir().join(format!("u7s-host-{}", std::process::id()));
        let root = HostRoot::new(&dir);
        let path = root.path(PING_GROUP_RANGE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "1\t0\n").unwrap();
        assert!(ensure_ping_group_range(&root, 998).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "998 998\n");
        assert!(!ensure_ping_group_range(&root, 998).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ensure_ping_group_range(&root, 998).is_err());
    }
}
