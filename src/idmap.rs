//! Whether u7s-admin can map its subordinate ids: newuidmap and newgidmap
//! installed, privileged (setuid root or file capabilities) and executable
//! by the account. ALT's `control newuidmap` may restrict them to a group
//! (podsec's `podmanonly`: group podman) or to root; then a check of the
//! exec bit alone passes and rootlesskit fails much later. The one check of
//! both `u7s doctor` and the preflight of `kubeadm init|join`.

use std::path::Path;

use crate::os::{Ids, Os};

/// The tools and the name of their check (doctor's line, preflight's
/// `--ignore-preflight-errors` entry).
pub const TOOLS: [(&str, &str); 2] = [("newuidmap", "NewUidMap"), ("newgidmap", "NewGidMap")];

/// The check's name for `tool`, when `tool` is one of [`TOOLS`].
pub fn check_name(tool: &str) -> Option<&'static str> {
    TOOLS
        .iter()
        .find(|(t, _)| *t == tool)
        .map(|(_, name)| *name)
}

/// Why `tool` at `path` cannot map ids for `user` (whose ids are `ids`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub fix: String,
}

/// `None` when `user`'s processes can run `path` and it is privileged;
/// otherwise what is wrong and the exact fix (`apt-get install
/// shadow-submap`, `usermod -a -G GROUP USER` or `control TOOL public`).
pub fn problem(os: &dyn Os, tool: &str, path: &Path, user: &str, ids: Ids) -> Option<Problem> {
    let Some(meta) = os.program_meta(path) else {
        return Some(Problem {
            message: crate::tr!("is-missing", path.display()),
            fix: crate::tr!("doc-fix-submap"),
        });
    };
    let mode = meta.mode;
    // The kernel's order: the owner's bits, else the group's, else others'.
    let runs = if meta.uid == ids.uid {
        mode & 0o100 != 0
    } else if os.account_groups(user, ids.gid).contains(&meta.gid) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    };
    let setuid_root = mode & 0o4000 != 0 && meta.uid == 0;
    if runs && (setuid_root || os.has_file_capabilities(path)) {
        return None;
    }
    let group = os
        .group_name(meta.gid)
        .unwrap_or_else(|| meta.gid.to_string());
    let group_only = mode & 0o010 != 0 && mode & 0o001 == 0 && meta.gid != 0;
    let fix = if group_only {
        crate::tr!("doc-fix-control-group", group, group, user, tool)
    } else {
        crate::tr!("doc-fix-control", tool)
    };
    Some(Problem {
        message: crate::tr!(
            "doc-idmap-restricted",
            path.display(),
            format!("{:o}", mode & 0o7777),
            group,
            user
        ),
        fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::record::RecordingOs;

    const ADMIN: Ids = Ids { uid: 989, gid: 989 };
    const TOOL: &str = "/usr/bin/newuidmap";

    fn check(os: &RecordingOs) -> Option<Problem> {
        problem(os, "newuidmap", Path::new(TOOL), "u7s-admin", ADMIN)
    }

    #[test]
    fn a_tool_restricted_to_a_group_needs_the_account_in_it() {
        let mut os = RecordingOs::new();
        os.add_group("podman", 480, &["alice"]);
        // podsec's podmanonly: setuid root, executable by group podman only.
        os.set_program(TOOL, 0o4710, 0, 480);
        let p = check(&os).expect("u7s-admin is not in podman");
        assert!(
            p.message.contains("4710") && p.message.contains("podman"),
            "{p:?}"
        );
        assert!(p.fix.contains("usermod -a -G podman u7s-admin"), "{p:?}");
        assert!(p.fix.contains("control newuidmap public"), "{p:?}");
        os.add_group("podman", 480, &["alice", "u7s-admin"]);
        assert_eq!(check(&os), None, "a member may run it");
    }

    #[test]
    fn public_setuid_root_is_fine_and_anything_less_is_not() {
        let mut os = RecordingOs::new();
        os.set_program(TOOL, 0o4755, 0, 0);
        assert_eq!(check(&os), None, "ALT's public state");
        os.set_program(TOOL, 0o4711, 0, 0);
        assert_eq!(check(&os), None);
        // Restricted to root: executable by nobody else.
        os.set_program(TOOL, 0o4700, 0, 0);
        let p = check(&os).unwrap();
        assert!(p.fix.contains("control newuidmap public"), "{p:?}");
        assert!(!p.fix.contains("usermod"), "root's group is no fix: {p:?}");
        // Not privileged: it could not write another user's maps.
        os.set_program(TOOL, 0o755, 0, 0);
        assert!(check(&os).is_some());
        // File capabilities instead of the setuid bit.
        os.set_file_caps(TOOL);
        assert_eq!(check(&os), None);
        // setuid, but u7s-admin's own: no privilege at all.
        let mut os = RecordingOs::new();
        os.set_program(TOOL, 0o4755, ADMIN.uid, ADMIN.gid);
        assert!(check(&os).is_some());
    }

    #[test]
    fn a_missing_tool_names_the_package() {
        let os = RecordingOs::new();
        let p = check(&os).unwrap();
        assert!(p.message.contains(TOOL), "{p:?}");
        assert!(p.fix.contains("shadow-submap"), "{p:?}");
        assert_eq!(check_name("newgidmap"), Some("NewGidMap"));
        assert_eq!(check_name("crio"), None);
    }
}
