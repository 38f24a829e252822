//! The RPM package: `make dist` gives exactly the committed tree, and
//! `rpmbuild -bb` of packaging/u7s.spec gives a package in which everything
//! the spec names is there, everything is root-owned (but u7s-admin's home),
//! nothing root runs is writable by others, and the man pages and completions
//! are in place.
//!
//! Needs git, make and Debian's `rpm` package (rpmbuild, rpmspec); without
//! them the tests skip locally and fail under CI=true. The release build inside
//! rpmbuild reuses target/tmp/rpm-cargo-target from the previous run (a build
//! of its own: ./bin points at target/release/u7s, which must stay the
//! working tree's build). The package is built from the committed tree (HEAD).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::*;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The problem that keeps the package from being built here, if any.
fn packaging_problem(tools: &[&str]) -> Option<String> {
    for tool in tools {
        if which::which(tool).is_err() {
            return Some(format!(
                "{tool} is not installed (Debian's rpm package provides rpmbuild and rpmspec)"
            ));
        }
    }
    let inside =
        run(Command::new("git").args(["-C", MANIFEST, "rev-parse", "--is-inside-work-tree"]))
            .status
            .success();
    if !inside {
        return Some(format!(
            "{MANIFEST} is not a git checkout (make dist uses git archive)"
        ));
    }
    None
}

/// A fresh folder under target/tmp named `tag`.
fn scratch(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn make_dist(into: &Path) -> PathBuf {
    let out = run(Command::new("make")
        .args(["-s", "-C", MANIFEST, "dist"])
        .arg(format!("DISTDIR={}", into.display())));
    assert!(out.status.success(), "make dist: {}", text(&out.stderr));
    let tarball = into.join(format!("u7s-{VERSION}.tar"));
    assert!(
        tarball.is_file(),
        "make dist wrote no {}",
        tarball.display()
    );
    tarball
}

fn lines(cmd: &mut Command) -> Vec<String> {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn dist_tarball_is_exactly_the_committed_tree() {
    if !prerequisite(packaging_problem(&["git", "make", "tar"])) {
        return;
    }
    let dir = scratch(&format!("dist-{}", std::process::id()));
    let tarball = make_dist(&dir);
    let prefix = format!("u7s-{VERSION}/");
    let mut in_tar: Vec<String> = lines(Command::new("tar").arg("-tf").arg(&tarball))
        .into_iter()
        .filter(|l| !l.ends_with('/'))
        .map(|l| {
            l.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{l} outside {prefix}"))
                .to_owned()
        })
        .collect();
    let mut committed =
        lines(Command::new("git").args(["-C", MANIFEST, "ls-tree", "-r", "--name-only", "HEAD"]));
    in_tar.sort();
    committed.sort();
    assert_eq!(in_tar, committed);
    for needed in ["Cargo.lock", "Cargo.toml", "Makefile", "packaging/u7s.spec"] {
        assert!(
            in_tar.iter().any(|f| f == needed),
            "{needed} missing from the tarball"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One entry of the built package.
#[derive(Debug)]
struct Entry {
    perms: String,
    user: String,
    group: String,
    path: String,
    link: String,
}

impl Entry {
    fn is_symlink(&self) -> bool {
        self.perms.starts_with('l')
    }
}

/// `*` and `?` of an rpm %files glob (neither crosses a `/`).
fn glob_match(pattern: &[u8], path: &[u8]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], path)
                || (!path.is_empty() && path[0] != b'/' && glob_match(pattern, &path[1..]))
        }
        (Some(b'?'), Some(c)) if *c != b'/' => glob_match(&pattern[1..], &path[1..]),
        (Some(p), Some(c)) if p == c => glob_match(&pattern[1..], &path[1..]),
        _ => false,
    }
}

/// The absolute paths and globs that the %files section of the parsed spec names.
fn spec_paths(parsed: &str) -> Vec<String> {
    let mut in_files = false;
    let mut paths = Vec::new();
    for line in parsed.lines() {
        let line = line.trim();
        if line.starts_with("%files") {
            in_files = true;
            continue;
        }
        if line.starts_with("%changelog") {
            in_files = false;
        }
        if !in_files || line.is_empty() || line.starts_with('#') {
            continue;
        }
        // What is left after the directives (%dir, %attr(...), %config(...), %doc).
        let mut rest = line;
        while let Some(directive) = rest.strip_prefix('%') {
            let end = match directive.find('(') {
                Some(open) if !directive[..open].contains(' ') => directive
                    .find(')')
                    .map(|c| c + 1)
                    .unwrap_or(directive.len()),
                _ => directive.find(' ').unwrap_or(directive.len()),
            };
            rest = directive[end..].trim_start();
        }
        if rest.starts_with('/') {
            paths.push(rest.to_owned());
        } else if !rest.is_empty() {
            // %doc FILE lands in the package's doc folder.
            paths.push(format!("/usr/share/doc/u7s-{VERSION}/{rest}"));
        }
    }
    paths
}

#[test]
fn spec_files_section_paths_are_read_past_the_directives() {
    let parsed = "%files -f x.files\n%doc README.md\n%dir %attr(0700,a,b) /var/lib/a\n\
                  %config(noreplace) %attr(-,root,root) /etc/x\n/usr/share/man/man1/u7s.1*\n%changelog\n* x\n/not/this\n";
    assert_eq!(
        spec_paths(parsed),
        [
            format!("/usr/share/doc/u7s-{VERSION}/README.md"),
            "/var/lib/a".into(),
            "/etc/x".into(),
            "/usr/share/man/man1/u7s.1*".into()
        ]
    );
    assert!(glob_match(b"/m/u7s-*.1*", b"/m/u7s-kubeadm.1.gz"));
    assert!(!glob_match(b"/m/u7s.1*", b"/m/u7s-kubeadm.1"));
    assert!(!glob_match(b"/b/*", b"/b/c/d"));
}

/// cargo judges the unpacked sources by their times, which git archive sets to
/// the commit's: a build of another commit could pass for fresh. So the reused
/// target dir remembers the commit it built, and the u7s crate (not its
/// dependencies) is built again when HEAD differs.
fn forget_other_commits_build(cargo_target: &Path) {
    let head = lines(Command::new("git").args(["-C", MANIFEST, "rev-parse", "HEAD"])).join("");
    let stamp = cargo_target.join("u7s-rpm-commit");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(head.as_str()) {
        return;
    }
    if let Ok(dir) = std::fs::read_dir(cargo_target.join("release/.fingerprint")) {
        for entry in dir.flatten() {
            if entry.file_name().to_string_lossy().starts_with("u7s-") {
                std::fs::remove_dir_all(entry.path()).unwrap();
            }
        }
    }
    std::fs::create_dir_all(cargo_target).unwrap();
    std::fs::write(&stamp, head).unwrap();
}

#[test]
fn rpmbuild_gives_a_root_owned_package_with_everything_the_spec_names() {
    if !prerequisite(packaging_problem(&[
        "git", "make", "rpmbuild", "rpm", "rpmspec",
    ])) {
        return;
    }
    let spec = Path::new(MANIFEST).join("packaging/u7s.spec");
    // The same _topdir every run: git archive gives the files the commit's
    // time, so an unchanged HEAD unpacks to an unchanged tree that cargo
    // does not build again.
    let topdir = scratch("rpm-topdir");
    std::fs::create_dir_all(topdir.join("SOURCES")).unwrap();
    make_dist(&topdir.join("SOURCES"));

    // The spec's version is the crate's.
    let parsed = lines(Command::new("rpmspec").arg("-P").arg(&spec)).join("\n");
    assert!(
        parsed
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Version:", VERSION]),
        "u7s.spec's Version is not {VERSION}"
    );

    // rpmbuild runs cargo in %build: the cargo running these tests.
    let cargo_target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rpm-cargo-target");
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = std::env::var_os("CARGO")
        .as_deref()
        .map(Path::new)
        .and_then(Path::parent)
    {
        let mut with_cargo = dir.as_os_str().to_owned();
        with_cargo.push(":");
        with_cargo.push(&path);
        path = with_cargo;
    }
    forget_other_commits_build(&cargo_target);
    let log = topdir.join("rpmbuild.log");
    let started = Instant::now();
    let out = run(Command::new("rpmbuild")
        .args(["-bb", "--nodeps"])
        .arg("--define")
        .arg(format!("_topdir {}", topdir.display()))
        .arg("--define")
        .arg(format!("_u7s_target_dir {}", cargo_target.display()))
        // Debian's brp-compress says #!/bin/sh but uses bash's `read -d`,
        // which fails under dash; run it with bash so man pages get compressed.
        .arg("--define")
        .arg("__brp_compress /bin/bash %{_rpmconfigdir}/brp-compress %{?_prefix}")
        .arg(&spec)
        .env("PATH", path)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(topdir.join("rpmbuild.err")).unwrap()));
    let output = std::fs::read_to_string(&log).unwrap_or_default()
        + &std::fs::read_to_string(topdir.join("rpmbuild.err")).unwrap_or_default();
    assert!(
        out.status.success(),
        "rpmbuild failed ({}); its last lines:\n{}",
        out.status,
        output
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("rpmbuild -bb took {:.0?}", started.elapsed());

    let rpm = std::fs::read_dir(topdir.join("RPMS"))
        .unwrap()
        .flat_map(|arch| std::fs::read_dir(arch.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("u7s-{VERSION}-"))
        })
        .expect("no u7s rpm under RPMS");

    // `rpm -qlpv`, with full user and group names (-v cuts them at 8 characters).
    let entries: Vec<Entry> = lines(Command::new("rpm").args(["-qp", "--qf"]).arg(
        "[%{FILEMODES:perms}\\t%{FILEUSERNAME}\\t%{FILEGROUPNAME}\\t%{FILENAMES}\\t%{FILELINKTOS}\\n]",
    ).arg(&rpm))
    .into_iter()
    .map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 5, "{l}");
        Entry {
            perms: f[0].into(),
            user: f[1].into(),
            group: f[2].into(),
            path: f[3].into(),
            link: f[4].into(),
        }
    })
    .collect();
    let listing: String = entries
        .iter()
        .map(|e| format!("{} {}:{} {} {}\n", e.perms, e.user, e.group, e.path, e.link))
        .collect();
    let find = |path: &str| entries.iter().find(|e| e.path == path);
    // The tests' kubeadm model is built beside u7s but never shipped.
    assert!(
        !entries.iter().any(|e| e.path.contains("kubeadm-model")),
        "the kubeadm model is in the package:\n{listing}"
    );

    // Everything the spec names is in the package.
    for named in spec_paths(&parsed) {
        let found = entries
            .iter()
            .any(|e| glob_match(named.as_bytes(), e.path.as_bytes()));
        assert!(
            found,
            "{named} (named in u7s.spec) is not in the package:\n{listing}"
        );
    }

    // Ownership and modes.
    let home = "/var/lib/u7s-admin";
    for e in &entries {
        if e.path == home {
            assert_eq!(
                (e.perms.as_str(), e.user.as_str(), e.group.as_str()),
                ("drwx------", ADMIN, ADMIN),
                "{home}"
            );
            continue;
        }
        assert_eq!(
            (e.user.as_str(), e.group.as_str()),
            ("root", "root"),
            "{} owner:\n{listing}",
            e.path
        );
        if !e.is_symlink() {
            let bytes = e.perms.as_bytes();
            assert!(
                bytes[5] != b'w' && bytes[8] != b'w',
                "{} is group/world-writable: {}",
                e.path,
                e.perms
            );
        }
    }
    assert!(find(home).is_some(), "{home} missing:\n{listing}");

    // The bin folder: the binary, and nothing but symlinks to it beside it.
    let bindir = "/usr/libexec/podsec/u7s/bin";
    let binary = find(&format!("{bindir}/u7s")).unwrap_or_else(|| panic!("no u7s:\n{listing}"));
    assert_eq!(binary.perms, "-rwxr-xr-x");
    for e in entries
        .iter()
        .filter(|e| e.path.starts_with(&format!("{bindir}/")) && e.path != binary.path)
    {
        assert!(
            e.is_symlink() && e.link == "u7s",
            "{} in {bindir} is not a symlink to u7s",
            e.path
        );
    }
    for applet in APPLETS {
        assert!(
            find(&format!("{bindir}/{applet}")).is_some(),
            "{applet} symlink missing:\n{listing}"
        );
    }
    for dir in ["/usr/libexec/podsec", "/usr/libexec/podsec/u7s", bindir] {
        assert_eq!(
            find(dir).map(|e| e.perms.as_str()),
            Some("drwxr-xr-x"),
            "{dir}"
        );
    }

    // Man pages (possibly compressed) and completions.
    for page in [
        "u7s",
        "u7s-kubeadm",
        "u7s-kubectl",
        "nsenter_u7s",
        "u7s-rootlessctl",
        "u7s-haproxy-config",
    ] {
        let stem = format!("/usr/share/man/man1/{page}.1");
        let found = entries
            .iter()
            .any(|e| e.path == stem || e.path.starts_with(&format!("{stem}.")));
        assert!(found, "{page}.1 missing:\n{listing}");
    }
    for file in [
        "/usr/share/bash-completion/completions/u7s",
        "/usr/share/zsh/site-functions/_u7s",
    ] {
        assert_eq!(
            find(file).map(|e| e.perms.as_str()),
            Some("-rw-r--r--"),
            "{file}"
        );
    }

    // %pre makes the u7s-admin system user with its home.
    let scripts = lines(Command::new("rpm").args(["-qp", "--scripts"]).arg(&rpm)).join("\n");
    for needle in [
        "preinstall",
        "groupadd -r",
        "useradd",
        "-r -g u7s-admin",
        home,
    ] {
        assert!(
            scripts.contains(needle),
            "{needle} missing from the scriptlets:\n{scripts}"
        );
    }
    let _ = std::fs::remove_dir_all(&topdir);
}
