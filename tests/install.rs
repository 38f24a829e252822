//! The install step lays out the binary and its applet symlinks, root-owned and
//! not writable by anyone else (root executes them).

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

use support::*;

#[test]
fn install_lays_out_the_applets_root_owned_and_not_writable_by_others() {
    let tree = Tree::new("install");
    let dest = tree.root.join("dest");
    let out = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
            .arg(env!("CARGO_BIN_EXE_u7s"))
            .env("DESTDIR", &dest)
            .env("PREFIX", "/usr"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bindir = dest.join("usr/libexec/podsec/u7s/bin");
    let meta = std::fs::metadata(bindir.join("u7s")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
    for applet in APPLETS {
        let link = bindir.join(applet);
        assert_eq!(
            std::fs::read_link(&link).unwrap().to_str(),
            Some("u7s"),
            "{applet}"
        );
    }
    let mut dir = bindir.clone();
    loop {
        let m = std::fs::metadata(&dir).unwrap();
        assert_eq!(
            m.permissions().mode() & 0o022,
            0,
            "{} writable by others",
            dir.display()
        );
        if dir == dest {
            break;
        }
        dir.pop();
    }
    if is_root() {
        assert_eq!((meta.uid(), meta.gid()), (0, 0));
        for applet in APPLETS {
            let l = std::fs::symlink_metadata(bindir.join(applet)).unwrap();
            assert_eq!(l.uid(), 0, "{applet} symlink owner");
        }
    } else {
        prerequisite(Some("ownership is checked only as root".into()));
    }
    // The installed layout dispatches like the checkout: usage on an unknown name.
    let out = run(&mut Command::new(bindir.join("u7s")));
    assert_eq!(out.status.code(), Some(2));
    // Reinstalling over an existing tree works (atomic renames).
    let again = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
            .arg(env!("CARGO_BIN_EXE_u7s"))
            .env("DESTDIR", &dest),
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
}
