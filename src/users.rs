//! The u7s-admin account: who owns the rootlesskit namespaces, and the
//! environment a process gets inside them.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use nix::unistd::{Gid, Uid, User};

/// The account name; `U7S_ADMIN_USER` may change it for tests and odd hosts.
pub fn admin_user_name() -> String {
    std::env::var("U7S_ADMIN_USER")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "u7s-admin".to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    pub home: PathBuf,
    pub shell: PathBuf,
}

impl AdminUser {
    /// Looks the account up in the system's user database.
    pub fn lookup() -> Result<AdminUser> {
        let name = admin_user_name();
        // u7s-admin is a local system account: /etc/passwd read directly
        // spares the NSS modules getpwnam loads, on every nsenter_u7s.
        if let Some(user) = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|text| parse_passwd(&text, &name))
        {
            return Ok(user);
        }
        let user = User::from_name(&name)
            .map_err(|e| anyhow!("{}", crate::tr!("user-db-error", name, e)))?
            .ok_or_else(|| anyhow!("{}", crate::tr!("user-missing", name, name, name)))?;
        Ok(AdminUser {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            home: user.dir,
            shell: user.shell,
        })
    }

    /// Looks the account up in `<root>/etc/passwd`, for flows that run against
    /// a root prefix (a directory tree in tests, `/` on a host). `None` when
    /// the account does not exist there.
    pub fn lookup_under(root: &crate::settings::HostRoot) -> Result<Option<AdminUser>> {
        let name = admin_user_name();
        let text = root.read_optional("/etc/passwd")?.unwrap_or_default();
        Ok(parse_passwd(&text, &name))
    }

    /// `/run/user/<uid>`: u7s-admin's XDG_RUNTIME_DIR under systemd-logind.
    pub fn runtime_dir(&self) -> PathBuf {
        PathBuf::from(format!("/run/user/{}", self.uid))
    }

    /// The environment root gets inside, so that tools there read u7s-admin's
    /// files (~/.kube/config, ~/.config/usernetes) and not root's.
    pub fn session_env(&self) -> Vec<(OsString, OsString)> {
        let home = self.home.clone();
        let pair = |k: &str, v: PathBuf| (OsString::from(k), v.into_os_string());
        vec![
            pair("HOME", home.clone()),
            (OsString::from("USER"), OsString::from(&self.name)),
            (OsString::from("LOGNAME"), OsString::from(&self.name)),
            pair("XDG_RUNTIME_DIR", self.runtime_dir()),
            pair("XDG_DATA_HOME", home.join(".local/share")),
            pair("XDG_CONFIG_HOME", home.join(".config")),
            pair("XDG_CACHE_HOME", home.join(".cache")),
        ]
    }
}

/// The entry for `name` in passwd(5) text.
pub fn parse_passwd(text: &str, name: &str) -> Option<AdminUser> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0] != name {
            return None;
        }
        Some(AdminUser {
            name: name.to_owned(),
            uid: Uid::from_raw(f[2].parse().ok()?),
            gid: Gid::from_raw(f[3].parse().ok()?),
            home: PathBuf::from(f[5]),
            shell: PathBuf::from(f[6]),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_entries_are_found_by_exact_name() {
        let text = "root:x:0:0:root:/root:/bin/bash\nu7s-admin-old:x:5:5::/x:/bin/sh\nu7s-admin:x:999:998:usernet user account:/var/lib/u7s-admin:/bin/bash\nbroken:x\n";
        let u = parse_passwd(text, "u7s-admin").unwrap();
        assert_eq!((u.uid.as_raw(), u.gid.as_raw()), (999, 998));
        assert_eq!(u.home, PathBuf::from("/var/lib/u7s-admin"));
        assert!(parse_passwd(text, "u7s").is_none());
        assert!(parse_passwd(text, "broken").is_none());
    }

    #[test]
    fn session_env_points_at_the_admin_home() {
        let user = AdminUser {
            name: "u7s-admin".into(),
            uid: Uid::from_raw(999),
            gid: Gid::from_raw(998),
            home: "/var/lib/u7s-admin".into(),
            shell: "/bin/bash".into(),
        };
        let env = user.session_env();
        let get = |k: &str| {
            env.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("HOME").as_deref(), Some("/var/lib/u7s-admin"));
        assert_eq!(get("USER").as_deref(), Some("u7s-admin"));
        assert_eq!(get("XDG_RUNTIME_DIR").as_deref(), Some("/run/user/999"));
        assert_eq!(
            get("XDG_CONFIG_HOME").as_deref(),
            Some("/var/lib/u7s-admin/.config")
        );
    }
}
