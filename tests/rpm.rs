//! The RPM package: `make dist` gives exactly the committed tree and a
//! vendor tarball of every crate in its Cargo.lock; `rpmbuild -bb` of
//! packaging/u7s.spec builds from those two with no network and an empty
//! cargo home, as ALT's hasher does, and gives a package in which everything
//! the spec names is there, everything is root-owned (but u7s-admin's home),
//! nothing root runs is writable by others, and the man pages and completions
//! are in place. `.gear/rules` makes the same two sources for gear.
//!
//! Needs git, make, Debian's `rpm` package (rpmbuild, rpmspec) and util-linux
//! `unshare`; without them the tests skip locally and fail under CI=true. The
//! release build inside rpmbuild reuses target/tmp/rpm-cargo-target from the
//! previous run (a build of its own: ./bin points at target/release/u7s, which
//! must stay the working tree's build), so on a fresh machine (CI) it compiles
//! every crate from the vendor tarball, and later runs compile only what
//! changed. The package is built from the committed tree (HEAD).

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

/// `make dist` into `into`: the source tarball and the vendor tarball.
fn make_dist(into: &Path) -> (PathBuf, PathBuf) {
    let out = run(Command::new("make")
        .args(["-s", "-C", MANIFEST, "dist"])
        .arg(format!("DISTDIR={}", into.display())));
    assert!(out.status.success(), "make dist: {}", text(&out.stderr));
    let tarballs = (
        into.join(format!("u7s-{VERSION}.tar")),
        into.join(format!("u7s-{VERSION}-vendor.tar")),
    );
    for tarball in [&tarballs.0, &tarballs.1] {
        assert!(
            tarball.is_file(),
            "make dist wrote no {}",
            tarball.display()
        );
    }
    tarballs
}

fn lines(cmd: &mut Command) -> Vec<String> {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

/// `name = "value"` of a TOML line, if it is one.
fn toml_string<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (key, value) = line.split_once('=')?;
    if key.trim() != name {
        return None;
    }
    value.trim().strip_prefix('"')?.strip_suffix('"')
}

/// (name, version) of every crates.io package in Cargo.lock's text.
fn locked_crates(lock: &str) -> Vec<(String, String)> {
    let mut crates = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |name: &str| block.lines().find_map(|l| toml_string(l, name));
        let from_crates_io = field("source").is_some_and(|s| s.starts_with("registry+"));
        if let (true, Some(name), Some(version)) = (from_crates_io, field("name"), field("version"))
        {
            crates.push((name.to_owned(), version.to_owned()));
        }
    }
    crates.sort();
    crates
}

/// (name, version) of every crate under `vendor` (its Cargo.toml's [package]),
/// each with the checksums cargo verifies it against.
fn vendored_crates(vendor: &Path) -> Vec<(String, String)> {
    let mut crates = Vec::new();
    for dir in std::fs::read_dir(vendor).unwrap() {
        let dir = dir.unwrap().path();
        assert!(
            dir.join(".cargo-checksum.json").is_file(),
            "{} has no .cargo-checksum.json",
            dir.display()
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let package = manifest
            .split("\n[")
            .find(|t| t.starts_with("package]"))
            .unwrap_or_else(|| panic!("{}: no [package]", dir.display()));
        let field = |name: &str| {
            package
                .lines()
                .find_map(|l| toml_string(l, name))
                .unwrap_or_else(|| panic!("{}: no {name}", dir.display()))
                .to_owned()
        };
        crates.push((field("name"), field("version")));
    }
    crates.sort();
    crates
}

#[test]
fn locked_and_vendored_crates_are_read_as_cargo_writes_them() {
    let lock = "version = 4\n\n[[package]]\nname = \"u7s\"\nversion = \"0.1.0\"\n\n\
                [[package]]\nname = \"anyhow\"\nversion = \"1.0.1\"\n\
                source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
                checksum = \"ab\"\n\n[[package]]\nname = \"g\"\nversion = \"2.0.0\"\n\
                source = \"git+https://example.invalid/g\"\n";
    assert_eq!(locked_crates(lock), [("anyhow".into(), "1.0.1".into())]);
    let vendor = scratch(&format!("vendor-parse-{}", std::process::id()));
    let krate = vendor.join("anyhow");
    std::fs::create_dir_all(&krate).unwrap();
    std::fs::write(krate.join(".cargo-checksum.json"), "{}").unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "# generated\n[package]\nedition = \"2018\"\nname = \"anyhow\"\nversion = \"1.0.1\"\n\n\
         [dependencies.x]\nversion = \"9\"\n",
    )
    .unwrap();
    assert_eq!(
        vendored_crates(&vendor),
        [("anyhow".into(), "1.0.1".into())]
    );
    let _ = std::fs::remove_dir_all(&vendor);
}

#[test]
fn dist_tarballs_are_the_committed_tree_and_its_locked_crates() {
    if !prerequisite(packaging_problem(&["git", "make", "tar", "cargo"])) {
        return;
    }
    let dir = scratch(&format!("dist-{}", std::process::id()));
    let (tarball, vendor_tarball) = make_dist(&dir);
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

    // The vendor tarball: vendor/ and .cargo/ only, no leading folder (the
    // spec unpacks it inside the source tree), every crate of the committed
    // Cargo.lock in vendor/ and nothing else, and the configuration that
    // points cargo at ./vendor.
    let tops: std::collections::BTreeSet<String> =
        lines(Command::new("tar").arg("-tf").arg(&vendor_tarball))
            .into_iter()
            .map(|l| l.split('/').next().unwrap_or_default().to_owned())
            .collect();
    assert_eq!(
        tops.into_iter().collect::<Vec<_>>(),
        [".cargo", "vendor"],
        "top level of {}",
        vendor_tarball.display()
    );
    let unpacked = dir.join("vendor-unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    lines(
        Command::new("tar")
            .arg("-xf")
            .arg(&vendor_tarball)
            .arg("-C")
            .arg(&unpacked),
    );
    let committed_lock =
        lines(Command::new("git").args(["-C", MANIFEST, "show", "HEAD:Cargo.lock"])).join("\n");
    let locked = locked_crates(&committed_lock);
    assert!(
        locked.iter().any(|(name, _)| name == "clap"),
        "Cargo.lock read wrong: {locked:?}"
    );
    assert_eq!(vendored_crates(&unpacked.join("vendor")), locked);
    let config = std::fs::read_to_string(unpacked.join(".cargo/config.toml")).unwrap();
    let settings: Vec<&str> = config
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        settings,
        [
            "[source.crates-io]",
            "replace-with = \"vendored-sources\"",
            "[source.vendored-sources]",
            "directory = \"vendor\"",
        ],
        "{config}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The archives one `tar:` rule of .gear/rules makes: (tree, archive file
/// name, leading folder), with gear's defaults and keywords (gear-rules(5)).
fn gear_tar_rule(args: &str, name: &str, version: &str) -> (String, String, String) {
    let mut words = args.split_whitespace();
    let tree = words.next().expect("a tar rule names a tree").to_owned();
    let expand = |s: &str| s.replace("@name@", name).replace("@version@", version);
    let dir = tree.rsplit('/').next().unwrap_or(&tree);
    let mut archive = if tree == "." {
        format!("{name}-{version}")
    } else {
        format!("{dir}-{version}")
    };
    let mut base = None;
    for option in words {
        if let Some(v) = option.strip_prefix("name=") {
            archive = expand(v);
        } else if let Some(v) = option.strip_prefix("base=") {
            base = Some(expand(v));
        } else {
            assert!(option.starts_with("exclude="), "unexpected {option}");
        }
    }
    let base = base.unwrap_or_else(|| archive.clone());
    (tree, format!("{archive}.tar"), base)
}

#[test]
fn gear_rules_make_the_two_sources_the_spec_takes() {
    if !prerequisite(packaging_problem(&["rpmspec"])) {
        return;
    }
    let rules = std::fs::read_to_string(Path::new(MANIFEST).join(".gear/rules")).unwrap();
    let directives: Vec<(&str, &str)> = rules
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (d, a) = l.split_once(':').unwrap_or_else(|| panic!("{l}"));
            (d.trim(), a.trim())
        })
        .collect();
    let spec = directives
        .iter()
        .find(|(d, _)| *d == "spec")
        .map(|(_, a)| *a);
    assert_eq!(spec, Some("packaging/u7s.spec"));

    let parsed = lines(
        Command::new("rpmspec")
            .arg("-P")
            .arg(Path::new(MANIFEST).join("packaging/u7s.spec")),
    );
    let tag = |name: &str| {
        parsed
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name}: in u7s.spec"))
    };
    let (name, version) = (tag("Name"), tag("Version"));
    let archives: Vec<(String, String, String)> = directives
        .iter()
        .filter(|(d, _)| *d == "tar")
        .map(|(_, args)| gear_tar_rule(args, &name, &version))
        .collect();
    // Source: the committed tree under u7s-VERSION/, as git archive in make
    // dist; Source1: .gear/vendor with no leading folder, as make gear-vendor
    // fills it and make dist's vendor tarball lays it out.
    assert_eq!(
        archives,
        [
            (".".into(), tag("Source"), format!("{name}-{version}")),
            (".gear/vendor".into(), tag("Source1"), String::new()),
        ]
    );
    assert!(
        rules.lines().any(|l| l.trim().starts_with("tar: . ")
            && l.split_whitespace().any(|w| w == "exclude=.gear/vendor")),
        "the source tarball must leave the vendored crates out:\n{rules}"
    );
    let makefile = std::fs::read_to_string(Path::new(MANIFEST).join("Makefile")).unwrap();
    assert!(
        makefile.contains("packaging/vendor.sh .gear/vendor"),
        "make gear-vendor no longer fills .gear/vendor"
    );
}

#[test]
fn gear_tar_rules_follow_gears_defaults() {
    assert_eq!(
        gear_tar_rule(". name=@name@-@version@ exclude=x", "u7s", "1.2"),
        (".".into(), "u7s-1.2.tar".into(), "u7s-1.2".into())
    );
    assert_eq!(
        gear_tar_rule("a/vendor", "u7s", "1.2"),
        (
            "a/vendor".into(),
            "vendor-1.2.tar".into(),
            "vendor-1.2".into()
        )
    );
    assert_eq!(
        gear_tar_rule(".gear/vendor name=@name@-v base=", "u7s", "1.2"),
        (".gear/vendor".into(), "u7s-v.tar".into(), String::new())
    );
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

/// The interfaces in a /proc/net/dev listing.
fn interfaces(net_dev: &str) -> Vec<String> {
    net_dev
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

/// The command prefix that runs a program in a network namespace of its own
/// (only a loopback, down): `unshare -n` as root, `unshare -r -n` (in a user
/// namespace too) otherwise; or why neither works here.
fn offline_prefix() -> Result<&'static [&'static str], String> {
    let mut why = String::new();
    for prefix in [&["-n", "--"][..], &["-r", "-n", "--"][..]] {
        let out = run(Command::new("unshare")
            .args(prefix)
            .args(["cat", "/proc/net/dev"]));
        if out.status.success() {
            let seen = interfaces(&text(&out.stdout));
            assert_eq!(seen, ["lo"], "unshare {prefix:?} left interfaces");
            return Ok(prefix);
        }
        why = text(&out.stderr);
    }
    Err(format!(
        "unshare cannot make a network namespace here: {}",
        why.trim()
    ))
}

#[test]
fn net_dev_listing_names_the_interfaces() {
    let listing =
        "Inter-|   Receive\n face |bytes    packets\n    lo:       0       0\n  eth0: 1 2\n";
    assert_eq!(interfaces(listing), ["lo", "eth0"]);
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(n)..].join("\n")
}

#[test]
fn rpmbuild_offline_gives_a_root_owned_package_with_everything_the_spec_names() {
    if !prerequisite(packaging_problem(&[
        "git", "make", "rpmbuild", "rpm", "rpmspec", "unshare", "tar",
    ])) {
        return;
    }
    let offline = match offline_prefix() {
        Ok(prefix) => prefix,
        Err(why) => {
            prerequisite(Some(why));
            return;
        }
    };
    let spec = Path::new(MANIFEST).join("packaging/u7s.spec");
    // The same _topdir every run: git archive gives the files the commit's
    // time, so an unchanged HEAD unpacks to an unchanged tree that cargo
    // does not build again.
    let topdir = scratch("rpm-topdir");
    std::fs::create_dir_all(topdir.join("SOURCES")).unwrap();
    let (source, _) = make_dist(&topdir.join("SOURCES"));

    // The spec's version is the crate's.
    let parsed = lines(Command::new("rpmspec").arg("-P").arg(&spec)).join("\n");
    assert!(
        parsed
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Version:", VERSION]),
        "u7s.spec's Version is not {VERSION}"
    );

    // rpmbuild runs cargo in %build: the cargo running these tests (the
    // toolchain's own binaries, not rustup's proxies, which would look for
    // the toolchain in a cargo home).
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
    // As in hasher: no network and a cargo home that holds nothing, so no
    // crate can come from crates.io or from an earlier download.
    let offline_cmd = |program: &str, cargo_home: &Path| {
        std::fs::create_dir_all(cargo_home).unwrap();
        let mut cmd = Command::new("unshare");
        cmd.args(offline)
            .arg(program)
            .env("PATH", &path)
            .env("CARGO_HOME", cargo_home)
            .env_remove("CARGO_TARGET_DIR");
        cmd
    };

    // In that setting the source tarball alone does not build: cargo finds
    // no crates in its home and cannot reach crates.io for them.
    let bare = topdir.join("without-vendor");
    std::fs::create_dir_all(&bare).unwrap();
    lines(
        Command::new("tar")
            .arg("-xf")
            .arg(&source)
            .arg("-C")
            .arg(&bare),
    );
    let out = run(offline_cmd("cargo", &topdir.join("control-cargo-home"))
        .args(["fetch", "--locked"])
        .env("CARGO_NET_RETRY", "0")
        .current_dir(bare.join(format!("u7s-{VERSION}"))));
    let err = text(&out.stderr);
    assert!(
        !out.status.success() && err.contains("index.crates.io"),
        "cargo fetch with no network and an empty cargo home did not fail on \
         crates.io; the test's setting is not offline:\n{err}"
    );

    forget_other_commits_build(&cargo_target);
    let log = topdir.join("rpmbuild.log");
    let started = Instant::now();
    let cargo_home = topdir.join("empty-cargo-home");
    let out = run(offline_cmd("rpmbuild", &cargo_home)
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
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(topdir.join("rpmbuild.err")).unwrap()));
    let output = std::fs::read_to_string(&log).unwrap_or_default()
        + &std::fs::read_to_string(topdir.join("rpmbuild.err")).unwrap_or_default();
    assert!(
        out.status.success(),
        "rpmbuild (no network, empty CARGO_HOME) failed ({}); its last lines:\n{}",
        out.status,
        tail(&output, 40)
    );
    assert!(
        output.contains("cargo build --release --locked --offline"),
        "%build did not run cargo --offline:\n{}",
        tail(&output, 40)
    );
    // Nothing was downloaded into the cargo home or read from a registry.
    for fetched in ["registry", "git"] {
        assert!(
            !cargo_home.join(fetched).exists(),
            "the offline build put {fetched}/ into its cargo home"
        );
    }
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
        for dir in ["man1", "ru/man1"] {
            let stem = format!("/usr/share/man/{dir}/{page}.1");
            let found = entries
                .iter()
                .any(|e| e.path == stem || e.path.starts_with(&format!("{stem}.")));
            assert!(found, "{dir}/{page}.1 missing:\n{listing}");
        }
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
