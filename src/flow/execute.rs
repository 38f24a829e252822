//! Carrying out a plan on the host: the one place where init/join change the
//! host. Every path goes through the root prefix, every command through
//! `exec`. Progress goes to stderr as `[n/N] title`; a failure names its step
//! and where to look.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::action::{Action, Owner, Place};
use super::plan::Step;
use super::{audit, preflight};
use crate::exec::{self, Invocation};
use crate::fsx::write_atomic_owned;
use crate::layout::host as paths;
use crate::settings::HostRoot;
use crate::users::AdminUser;

pub struct Executor<'a> {
    pub root: &'a HostRoot,
    pub admin: &'a AdminUser,
    /// Suffix of this run's backups, e.g. `20261126-195900`.
    pub stamp: String,
    /// `--ignore-preflight-errors` entries.
    pub ignore_preflight: Vec<String>,
    /// This binary, to run commands inside the namespaces (`u7s nsenter_u7s`).
    pub self_exe: PathBuf,
    pub euid_is_root: bool,
}

/// A failed step: what to print, one line.
#[derive(Debug)]
pub struct StepFailure {
    pub message: String,
}

impl From<StepFailure> for crate::error::Error {
    fn from(failure: StepFailure) -> Self {
        crate::error::Error::fail(failure.message)
    }
}

/// Where to look when a step fails.
fn hint(step: &Step) -> String {
    match step.title {
        "step-start-stack" => crate::tr!("hint-rootlesskit"),
        "step-pull-images" | "step-kubeadm-init" | "step-kubeadm-join" => {
            crate::tr!("hint-kubeadm")
        }
        "step-enable-service" | "step-restart-service" => crate::tr!("hint-service"),
        _ => crate::tr!("hint-nothing-changed"),
    }
}

impl Executor<'_> {
    pub fn run(&self, steps: &[Step]) -> Result<(), StepFailure> {
        let total = steps.len();
        for (i, step) in steps.iter().enumerate() {
            let n = i + 1;
            let title = step.title_in(crate::i18n::current());
            tracing::warn!(target: crate::log::PROGRESS, "[{n}/{total}] {title}");
            let start = Instant::now();
            let result = if step.actions.iter().all(|a| matches!(a, Action::Check(_))) {
                self.preflight(step)
            } else {
                step.actions.iter().try_for_each(|a| self.apply(a))
            };
            if let Err(e) = result {
                let detail = crate::error::one_line(&format!("{e:#}"));
                return Err(StepFailure {
                    message: format!(
                        "[{n}/{total}] {}",
                        crate::tr!("step-failed", title, detail, hint(step))
                    ),
                });
            }
            tracing::info!(
                "[{n}/{total}] {}",
                crate::tr!("step-done", format!("{:.1}", start.elapsed().as_secs_f64()))
            );
        }
        Ok(())
    }

    fn preflight(&self, step: &Step) -> Result<()> {
        let checks: Vec<preflight::Check> = step
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Check(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let failures = preflight::run_all(
            &checks,
            self.root,
            self.euid_is_root,
            &self.ignore_preflight,
            &ask_on_terminal,
        );
        match failures.len() {
            0 => Ok(()),
            _ => {
                // Each failure on its own line, then the step's one-line summary.
                for failure in &failures {
                    tracing::error!("{failure}");
                }
                bail!("{}", crate::tr!("preflight-failed", failures.len()))
            }
        }
    }

    fn owner_ids(&self, owner: Owner) -> Option<(u32, u32)> {
        match owner {
            Owner::Root => None,
            Owner::Admin => Some((self.admin.uid.as_raw(), self.admin.gid.as_raw())),
        }
    }

    /// `mkdir -p` for the parent of `path`; new directories belong to `owner`.
    fn make_parents(&self, path: &Path, owner: Owner) -> Result<()> {
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut dir = parent.to_path_buf();
        while !dir.exists() {
            missing.push(dir.clone());
            if !dir.pop() {
                break;
            }
        }
        for dir in missing.iter().rev() {
            std::fs::create_dir(dir).with_context(|| crate::tr!("cannot-create", dir.display()))?;
            if let Some((uid, gid)) = self.owner_ids(owner) {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                    .with_context(|| crate::tr!("cannot-chown", dir.display()))?;
            }
        }
        Ok(())
    }

    fn write(&self, path: &str, bytes: &[u8], mode: u32, owner: Owner) -> Result<()> {
        let target = self.root.path(path);
        self.make_parents(&target, owner)?;
        write_atomic_owned(&target, bytes, mode, self.owner_ids(owner))
    }

    fn apply(&self, action: &Action) -> Result<()> {
        tracing::debug!("{action}");
        match action {
            Action::Check(_) => Ok(()),
            Action::SetSysctl { key, value } => {
                let path = format!("/proc/sys/{}", key.replace('.', "/"));
                std::fs::write(self.root.path(&path), format!("{value}\n"))
                    .with_context(|| crate::tr!("cannot-set-sysctl", key, path))
            }
            Action::WriteFile {
                path,
                mode,
                owner,
                contents,
                ..
            } => self.write(path, contents.as_bytes(), *mode, *owner),
            Action::MarkState { state } => self.write(
                paths::STATE_FILE,
                format!("{state}\n").as_bytes(),
                0o644,
                Owner::Root,
            ),
            Action::MoveAside { path } => self.move_aside(path).map(|_| ()),
            Action::MakeDir { path, mode, owner } => {
                let dir = self.root.path(path);
                self.make_parents(&dir, Owner::Root)?;
                if !dir.is_dir() {
                    std::fs::create_dir(&dir).with_context(|| crate::tr!("cannot-create", path))?;
                }
                std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(*mode))
                    .with_context(|| crate::tr!("cannot-chmod", path))?;
                let (uid, gid) = self.owner_ids(*owner).unwrap_or((0, 0));
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                    .with_context(|| crate::tr!("cannot-chown", path))
            }
            Action::Run {
                argv,
                place,
                retries,
            } => self.run_command(argv, *place, *retries),
            Action::WaitForSocket { path, timeout } => {
                let target = self.root.path(path);
                let deadline = Instant::now() + *timeout;
                while !target.exists() {
                    if Instant::now() > deadline {
                        bail!("{}", crate::tr!("did-not-appear", path, timeout.as_secs()));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Ok(())
            }
            Action::AuditApiserver { manifest, policy } => {
                let target = self.root.path(manifest);
                let text = std::fs::read_to_string(&target)
                    .with_context(|| crate::tr!("cannot-read", manifest))?;
                let edited = audit::add_audit(&text, policy).with_context(|| manifest.clone())?;
                if edited != text {
                    let meta = std::fs::metadata(&target)?;
                    use std::os::unix::fs::MetadataExt;
                    write_atomic_owned(
                        &target,
                        edited.as_bytes(),
                        meta.mode() & 0o7777,
                        Some((meta.uid(), meta.gid())),
                    )?;
                }
                Ok(())
            }
            Action::EnsureSubordinateIds { user } => self.ensure_subids(user),
            Action::Copy {
                from,
                to,
                mode,
                owner,
            } => {
                let text = std::fs::read_to_string(self.root.path(from))
                    .with_context(|| crate::tr!("cannot-read", from))?;
                check_kubeconfig(&text).with_context(|| from.clone())?;
                self.write(to, text.as_bytes(), *mode, *owner)
            }
        }
    }

    /// Renames `path` to `path.u7s-backup-<stamp>` if it exists; returns the backup.
    pub fn move_aside(&self, path: &str) -> Result<Option<PathBuf>> {
        let source = self.root.path(path);
        if std::fs::symlink_metadata(&source).is_err() {
            return Ok(None);
        }
        let mut backup = PathBuf::from(format!("{}.u7s-backup-{}", source.display(), self.stamp));
        let mut n = 1;
        while backup.exists() {
            backup = PathBuf::from(format!(
                "{}.u7s-backup-{}-{n}",
                source.display(),
                self.stamp
            ));
            n += 1;
        }
        std::fs::rename(&source, &backup)
            .with_context(|| crate::tr!("cannot-move-aside", path, backup.display()))?;
        tracing::info!("{}", crate::tr!("moved-aside", path, backup.display()));
        Ok(Some(backup))
    }

    fn run_command(
        &self,
        argv: &[String],
        place: Place,
        retries: Option<(u32, Duration)>,
    ) -> Result<()> {
        let inv = match place {
            Place::Host => Invocation::new(&argv[0], argv[1..].iter().map(Into::into).collect()),
            Place::Inside => {
                let mut args: Vec<std::ffi::OsString> = vec!["nsenter_u7s".into(), "--".into()];
                args.extend(argv.iter().map(Into::into));
                Invocation::new(&self.self_exe, args)
            }
        };
        let (tries, pause) = retries.unwrap_or((1, Duration::ZERO));
        let mut last = 0;
        for attempt in 1..=tries.max(1) {
            last = exec::run_wait(&inv).with_context(|| crate::tr!("cannot-run", argv[0]))?;
            if last == 0 {
                return Ok(());
            }
            if attempt < tries {
                tracing::info!(
                    "{}",
                    crate::tr!(
                        "retrying",
                        argv[0],
                        last,
                        attempt + 1,
                        tries,
                        pause.as_secs()
                    )
                );
                std::thread::sleep(pause);
            }
        }
        Err(anyhow!(
            "{}",
            crate::tr!("exited-with", argv.join(" "), last)
        ))
    }

    fn ensure_subids(&self, user: &str) -> Result<()> {
        for file in [paths::SUBUID, paths::SUBGID] {
            let text = self.root.read_optional(file)?.unwrap_or_default();
            if let Some(new) = add_subordinate_range(&text, user) {
                write_atomic_owned(&self.root.path(file), new.as_bytes(), 0o644, None)?;
                tracing::info!("{}", crate::tr!("gave-subids", user, file));
            }
        }
        Ok(())
    }
}

/// Asks on the terminal whether to move an earlier cluster's etcd data aside
/// (never without one: scripts and CI get the failure and its fix).
fn ask_on_terminal(check: &preflight::Check) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    if !check.confirmable() || !std::io::stdin().is_terminal() {
        return false;
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "{} ",
        crate::tr!("confirm-etcd-aside", paths::ETCD_MEMBER_DIR)
    );
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    is_yes(&answer)
}

/// `y`/`yes` (and the Russian `д`/`да`), any case; anything else is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "д" | "да"
    )
}

/// `text` of /etc/subuid or /etc/subgid with a 65536-id range for `user`
/// appended after every existing range; `None` if `user` has one already.
pub fn add_subordinate_range(text: &str, user: &str) -> Option<String> {
    let mut end: u64 = 100_000;
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split(':').collect();
        if f.len() != 3 {
            continue;
        }
        if f[0] == user {
            return None;
        }
        if let (Ok(start), Ok(count)) = (f[1].parse::<u64>(), f[2].parse::<u64>()) {
            end = end.max(start + count);
        }
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{user}:{end}:65536\n"));
    Some(out)
}

/// Refuses a kubeconfig whose users run programs (`exec`, `auth-provider`).
pub fn check_kubeconfig(text: &str) -> Result<()> {
    let doc: crate::yaml::Value = crate::yaml::from_str(text)
        .map_err(|e| anyhow!("{}", crate::tr!("not-a-kubeconfig", e)))?;
    let users = doc
        .get("users")
        .and_then(|u| u.as_sequence())
        .cloned()
        .unwrap_or_default();
    for user in users {
        let name = user
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("?")
            .to_owned();
        if let Some(config) = user.get("user") {
            for key in ["exec", "auth-provider"] {
                if config.get(key).is_some() {
                    bail!(
                        "{}",
                        crate::tr!("kubeconfig-exec", format!("{name:?}"), format!("{key:?}"))
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_clear_yes_is_yes() {
        for yes in ["y", "Y\n", " yes ", "да", "Д"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yess", "нет"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }

    #[test]
    fn subordinate_ranges_do_not_overlap_anyone() {
        assert_eq!(
            add_subordinate_range("", "u7s-admin").unwrap(),
            "u7s-admin:100000:65536\n"
        );
        let text = "alice:100000:65536\nbob:300000:65536";
        assert_eq!(
            add_subordinate_range(text, "u7s-admin").unwrap(),
            "alice:100000:65536\nbob:300000:65536\nu7s-admin:365536:65536\n"
        );
        assert!(add_subordinate_range("u7s-admin:1:2\n", "u7s-admin").is_none());
    }

    #[test]
    fn kubeconfigs_that_run_programs_are_refused() {
        let plain = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-certificate-data: AAAA\n";
        assert!(check_kubeconfig(plain).is_ok());
        let exec = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    exec:\n      command: /tmp/evil\n";
        assert!(check_kubeconfig(exec)
            .unwrap_err()
            .to_string()
            .contains("exec"));
    }
}
