//! Carrying out steps through the OS layer: the one place where init, join
//! and reset change the host. Progress goes to stderr as `[n/N] title`; a
//! failure names its step and where to look.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::action::{Action, Domain, Owner, Place};
use super::retry::{self, Retry};
use super::step::{Step, StepKind};
use super::{audit, images, preflight};
use crate::layout::host;
use crate::os::{At, Ids, Os, Within};

pub struct Executor<'a> {
    pub os: &'a dyn Os,
    /// u7s-admin's ids (`Owner::Admin`).
    pub admin: Ids,
    /// Suffix of this run's backups, e.g. `20261126-195900`.
    pub stamp: String,
    /// `--ignore-preflight-errors` entries.
    pub ignore_preflight: Vec<String>,
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

/// `YYYYMMDD-HHMMSS` in UTC, for backup names that sort by time.
pub fn utc_stamp(now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

impl<'a> Executor<'a> {
    /// An executor whose backups carry the time of now.
    pub fn new(os: &'a dyn Os, admin: Ids, ignore_preflight: Vec<String>) -> Executor<'a> {
        Executor {
            os,
            admin,
            stamp: utc_stamp(os.now()),
            ignore_preflight,
        }
    }

    pub fn run(&self, steps: &[&Step]) -> Result<(), StepFailure> {
        let total = steps.len();
        for (i, step) in steps.iter().enumerate() {
            let n = i + 1;
            let title = step.title_in(crate::i18n::current());
            tracing::warn!(target: crate::log::PROGRESS, "[{n}/{total}] {title}");
            let start = Instant::now();
            let mut failed_action = None;
            let result = if step.kind.is_preflight() {
                self.preflight(step)
            } else if step.kind == StepKind::PullImages
                && preflight::ignores(&self.ignore_preflight, preflight::IMAGE_PULL)
            {
                self.pull_ignoring_failures(step);
                Ok(())
            } else {
                step.actions.iter().try_for_each(|a| {
                    failed_action = Some(a);
                    self.apply(a)
                })
            };
            if let Err(e) = result {
                let detail = crate::error::one_line(&format!("{e:#}"));
                let hint_id = failed_action
                    .and_then(Action::hint_id)
                    .unwrap_or(step.kind.hint_id());
                let log = self.log_for_hint(hint_id);
                let hint = crate::i18n::render(crate::i18n::current(), hint_id, &[&log]);
                return Err(StepFailure {
                    message: format!(
                        "[{n}/{total}] {}",
                        crate::tr!("step-failed", title, detail, hint)
                    ),
                });
            }
            // At the default verbosity: a step may take minutes.
            tracing::warn!(
                target: crate::log::PROGRESS,
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
        let failures = preflight::run_all(&checks, self.os, self.admin, &self.ignore_preflight);
        if failures.is_empty() {
            return Ok(());
        }
        // Each failure on its own line, as kubeadm prints them, then the
        // step's one-line summary with the names to ignore them by.
        for failure in &failures {
            tracing::error!(target: crate::log::PROGRESS, "{failure}");
        }
        let names: Vec<&str> = failures.iter().map(|f| f.name.as_str()).collect();
        bail!(
            "{}",
            crate::tr!("preflight-failed", failures.len(), names.join(","))
        )
    }

    /// The journal command a hint names (a hint without `{}` takes none):
    /// rootlesskit's for the stack, else kubelet's, pinned to u7s-admin's
    /// uid so that no other local user's messages can pass for the unit's.
    fn log_for_hint(&self, hint_id: &str) -> String {
        use crate::stack::service::{KUBELET_UNIT, ROOTLESSKIT_UNIT};
        let unit = if hint_id == crate::tr_id!("hint-rootlesskit") {
            ROOTLESSKIT_UNIT
        } else {
            KUBELET_UNIT
        };
        crate::systemd::journal_command(self.admin.uid, unit)
    }

    /// The image step with `ImagePull` ignored: every action runs, and each
    /// failure is a `[WARNING ImagePull]` line, as kubeadm's preflight
    /// prints an ignored error.
    fn pull_ignoring_failures(&self, step: &Step) {
        for action in &step.actions {
            if let Err(e) = self.apply(action) {
                tracing::warn!(
                    target: crate::log::PROGRESS,
                    "[WARNING {}]: {}",
                    preflight::IMAGE_PULL,
                    crate::error::one_line(&format!("{e:#}"))
                );
            }
        }
    }

    /// `path` in `domain`, as the OS layer takes it.
    fn at<'p>(&self, path: &'p str, domain: Domain) -> At<'p> {
        At {
            path,
            within: match domain {
                Domain::Root => Within::Root,
                Domain::Admin => Within::Admin(self.admin),
            },
        }
    }

    fn owner(&self, owner: Owner) -> Option<Ids> {
        match owner {
            Owner::Root => None,
            Owner::Admin => Some(self.admin),
        }
    }

    fn apply(&self, action: &Action) -> Result<()> {
        tracing::debug!("{action}");
        let os = self.os;
        match action {
            Action::Check(_) => Ok(()),
            Action::SetSysctl { key, value } => {
                let path = format!("/proc/sys/{}", key.replace('.', "/"));
                os.write_in_place(At::root(&path), format!("{value}\n").as_bytes())
                    .with_context(|| crate::tr!("cannot-set-sysctl", key, path))
            }
            Action::WriteFile {
                path,
                domain,
                mode,
                owner,
                contents,
                ..
            } => os.write(
                self.at(path, *domain),
                contents.as_bytes(),
                *mode,
                self.owner(*owner),
            ),
            Action::MarkState { state } => os.write(
                At::root(host::STATE_FILE),
                format!("{state}\n").as_bytes(),
                0o644,
                None,
            ),
            Action::MoveAside { path, domain } => self.move_aside(self.at(path, *domain)),
            Action::MoveAsideIfNotEmpty { path, domain } => {
                let at = self.at(path, *domain);
                if os.dir_holds_anything(at)? {
                    self.move_aside(at)?;
                }
                Ok(())
            }
            Action::MakeDir {
                path,
                domain,
                mode,
                owner,
            } => os.make_dir(self.at(path, *domain), *mode, self.owner(*owner)),
            Action::Run {
                argv,
                place,
                retries,
            } => self.run_command(argv, *place, *retries),
            Action::CheckImages { list, cni, skopeo } => self.check_images(list, cni, skopeo),
            Action::WaitForSocket {
                path,
                domain,
                timeout,
            } => self.wait_for(self.at(path, *domain), *timeout),
            Action::AuditApiserver {
                manifest,
                domain,
                policy,
            } => self.audit_apiserver(self.at(manifest, *domain), policy),
            Action::EnsureSubordinateIds { user } => self.ensure_subids(user),
            Action::InstallKubeconfig {
                from,
                to,
                domain,
                mode,
                owner,
            } => self.install_kubeconfig(from, self.at(to, *domain), *mode, *owner),
        }
    }

    /// Renames `at` to `<path>.u7s-backup-<stamp>` if it exists.
    fn move_aside(&self, at: At) -> Result<()> {
        let suffix = format!(".u7s-backup-{}", self.stamp);
        if let Some(backup) = self.os.move_aside(at, &suffix)? {
            tracing::warn!(target: crate::log::PROGRESS, "{}", crate::tr!("moved-aside", at.path, backup));
        }
        Ok(())
    }

    /// Every image's tag in the registry's tag list, each repository asked
    /// once, inside the namespaces (u7s-admin's network and registry
    /// configuration, as CRI-O will pull). What comes back is u7s-admin's
    /// data: `images` reads it bounded and checked.
    fn check_images(&self, list: &[String], cni: &[String], skopeo: &str) -> Result<()> {
        let listed = self.os.capture(list, Place::Inside)?;
        if listed.code != 0 {
            bail!("{}", crate::tr!("exited-with", list.join(" "), listed.code));
        }
        let kubeadm = images::parse_list(&listed.stdout)?;
        let wanted = kubeadm
            .iter()
            .map(|i| (i.as_str(), images::Fix::Kubernetes))
            .chain(cni.iter().map(|i| (i.as_str(), images::Fix::Cni)));
        let mut known: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (image, fix) in wanted {
            let (repo, tag) = images::split(image)?;
            if !known.contains_key(repo) {
                let argv = [skopeo, "list-tags", &format!("docker://{repo}")].map(String::from);
                let answer = self.os.capture(&argv, Place::Inside)?;
                if answer.code != 0 {
                    bail!("{}", crate::tr!("image-tags-unlisted", repo, answer.code));
                }
                known.insert(
                    repo.to_owned(),
                    images::tags_from_skopeo(repo, &answer.stdout)?,
                );
            }
            let tags = &known[repo];
            if !tags.iter().any(|t| t == tag) {
                bail!("{}", images::missing_tag(image, tag, tags, fix));
            }
        }
        Ok(())
    }

    fn wait_for(&self, at: At, timeout: Duration) -> Result<()> {
        let start = self.os.now();
        let mut said = false;
        while self.os.stat(at)?.is_none() {
            if !said {
                tracing::warn!(
                    target: crate::log::PROGRESS,
                    "{}",
                    crate::tr!("waiting-for", at.path, timeout.as_secs())
                );
                said = true;
            }
            let waited = self.os.now().duration_since(start).unwrap_or_default();
            if waited > timeout {
                bail!(
                    "{}",
                    crate::tr!("did-not-appear", at.path, timeout.as_secs())
                );
            }
            self.os.sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// The audit flags, volume and mount in the apiserver manifest, as a
    /// typed YAML edit of what kubeadm wrote inside (read and written back
    /// in its domain, with the mode it had).
    fn audit_apiserver(&self, at: At, policy: &str) -> Result<()> {
        let manifest = at.path;
        let text = crate::os::read_text(self.os, at)?
            .ok_or_else(|| anyhow!("{}", crate::tr!("cannot-read", manifest)))?;
        let edited = audit::add_audit(&text, policy).with_context(|| manifest.to_owned())?;
        if edited == text {
            return Ok(());
        }
        let meta = self
            .os
            .stat(at)?
            .ok_or_else(|| anyhow!("{}", crate::tr!("cannot-read", manifest)))?;
        let owner = (meta.uid != 0).then_some(self.admin);
        self.os.write(at, edited.as_bytes(), meta.mode, owner)
    }

    /// The admin kubeconfig at `to`: made from what kubeadm wrote inside
    /// (read as u7s-admin: it is u7s-admin's file), through the one function
    /// that decides what root keeps of it.
    fn install_kubeconfig(&self, from: &str, to: At, mode: u32, owner: Owner) -> Result<()> {
        let read = self.at(from, Domain::Admin);
        let text = crate::os::read_text(self.os, read)?
            .ok_or_else(|| anyhow!("{}", crate::tr!("cannot-read", from)))?;
        let text = kubeconfig_for_root(&text).with_context(|| from.to_owned())?;
        self.os.write(to, text.as_bytes(), mode, self.owner(owner))
    }

    /// Runs `argv`; after a failure, tries again as `retries` says, and
    /// gives up once the next try would begin after its deadline.
    fn run_command(&self, argv: &[String], place: Place, retries: Option<Retry>) -> Result<()> {
        let started = self.os.now();
        loop {
            let code = self.os.run(argv, place)?;
            if code == 0 {
                return Ok(());
            }
            let Some(retry) = retries else {
                bail!("{}", crate::tr!("exited-with", argv.join(" "), code));
            };
            let elapsed = retry::elapsed(started, self.os.now());
            let Some(pause) = retry.after_failure(elapsed) else {
                bail!(
                    "{}",
                    crate::tr!(
                        "retry-deadline",
                        argv.join(" "),
                        code,
                        retry.deadline.as_secs()
                    )
                );
            };
            tracing::warn!(
                target: crate::log::PROGRESS,
                "{}",
                crate::tr!(
                    "retrying",
                    argv[0],
                    code,
                    pause.as_secs(),
                    retry.deadline.saturating_sub(elapsed).as_secs()
                )
            );
            self.os.sleep(pause);
        }
    }

    /// Subordinate ids for u7s-admin where it has none, under the lock
    /// shadow's useradd takes (`crate::subids`), so neither loses the
    /// other's line.
    fn ensure_subids(&self, user: &str) -> Result<()> {
        let lock = self.os.lock_subids()?;
        for file in [host::SUBUID, host::SUBGID] {
            let at = At::root(file);
            let text = crate::os::read_text(self.os, at)?.unwrap_or_default();
            let new = crate::subids::with_range(&text, user, self.admin.uid, crate::subids::COUNT)
                .map_err(|e| anyhow!("{file}: {e}"))?;
            if let Some(new) = new {
                self.os.write(at, new.as_bytes(), 0o644, None)?;
                tracing::info!("{}", crate::tr!("gave-subids", user, file));
            }
        }
        drop(lock);
        Ok(())
    }
}

/// The kubeconfig root installs, rebuilt from the one kubeadm wrote inside
/// the namespaces (u7s-admin could have changed it): parsed into typed
/// values under a whitelist (server, CA data, client certificate and key
/// data, names) and emitted afresh (`crate::kubeconfig`); exec,
/// auth-provider, tokenFile, file paths and merge keys are refused.
pub fn kubeconfig_for_root(text: &str) -> Result<String> {
    crate::kubeconfig::rebuild(text).map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_gets_a_rebuilt_kubeconfig_and_no_program() {
        let plain = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://10.0.0.1:6443\", certificate-authority-data: QQ==}\nusers:\n- name: admin\n  user:\n    client-certificate-data: QQ==\n    client-key-data: QQ==\ncontexts:\n- name: x\n  context: {cluster: c, user: admin}\ncurrent-context: x\n";
        let rebuilt = kubeconfig_for_root(plain).unwrap();
        assert!(rebuilt.contains("https://10.0.0.1:6443"), "{rebuilt}");
        let exec = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    exec:\n      command: /tmp/evil\n";
        assert!(kubeconfig_for_root(exec)
            .unwrap_err()
            .to_string()
            .contains("exec"));
    }

    #[test]
    fn backup_stamps_are_utc_civil_time() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101-000000");
        assert_eq!(at(951_782_400), "20000229-000000");
        assert_eq!(at(1_795_722_000), "20261126-194000");
    }
}
