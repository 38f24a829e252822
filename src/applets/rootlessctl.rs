//! `rootlessctl ARGS...`: the real rootlessctl on u7s-admin's rootlesskit API socket.
//!
//! `add-ports` and `remove-ports` also keep the persistent list of forwards
//! (`$XDG_CONFIG_HOME/usernetes/ports`) that the rootlesskit role re-applies
//! when it starts: a spec is recorded only after the real rootlessctl added
//! it, and removed only after it removed it. Their output passes through
//! unchanged; every other subcommand is simply exec'd.
//!
//! Root's rootlessctl connects to a socket in u7s-admin's state dir, a path
//! u7s-admin chooses (a link to a root-only socket, say). So as root on the
//! host the real rootlessctl runs as u7s-admin, and like a command root runs
//! inside the namespaces (`applets::inside`): its own session, a pty for
//! root's terminal, the whitelisted environment, no fds above 2. Root's
//! calls are not recorded in u7s-admin's list.

use std::ffi::OsString;

use super::real_tool;
use crate::exec::{self, Confinement, Invocation};
use crate::layout::AdminDirs;
use crate::ns::{env, state};
use crate::pty::Pty;
use crate::stack::ports::{self, PortSpec};
use crate::tools::Tool;
use crate::users::AdminUser;

/// What a command line asks of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Record {
    /// `add-ports`: the specs we can record, and the ones we cannot.
    Add(Vec<PortSpec>, Vec<String>),
    /// `remove-ports`: the port ids.
    Remove(Vec<u64>),
}

/// Splits rootlessctl's global options from the subcommand and sees whether
/// the list must follow. Help requests change nothing.
fn classify(args: &[OsString]) -> (Vec<OsString>, Option<Record>) {
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 0;
    while i < text.len() && text[i].starts_with('-') {
        if text[i] == "--socket" {
            i += 1;
        }
        i += 1;
    }
    let globals = args[..i.min(args.len())].to_vec();
    if globals
        .iter()
        .any(|g| ["-h", "--help", "-v", "--version"].contains(&g.to_string_lossy().as_ref()))
    {
        return (globals, None);
    }
    let Some(sub) = text.get(i) else {
        return (globals, None);
    };
    let rest = &text[i + 1..];
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        return (globals, None);
    }
    let operands = rest.iter().filter(|a| !a.starts_with('-'));
    let record = match sub.as_str() {
        "add-ports" => {
            let (mut ok, mut not) = (Vec::new(), Vec::new());
            for a in operands {
                match a.parse::<PortSpec>() {
                    Ok(spec) => ok.push(spec),
                    Err(_) => not.push(a.clone()),
                }
            }
            Some(Record::Add(ok, not))
        }
        "remove-ports" => Some(Record::Remove(
            operands.filter_map(|a| a.parse::<u64>().ok()).collect(),
        )),
        _ => None,
    };
    (globals, record)
}

/// How the real rootlessctl runs: replacing us, or, for root, as u7s-admin
/// and apart from root's session.
struct Runner {
    root: bool,
}

impl Runner {
    /// Makes `inv` run as u7s-admin with the whitelisted environment (root only).
    fn prepare(&self, inv: &mut Invocation, admin: &AdminUser) {
        if self.root {
            inv.user = Some((admin.uid.as_raw(), admin.gid.as_raw()));
            let mut vars = env::for_root_inside(std::env::vars_os(), admin);
            vars.append(&mut inv.env);
            inv.env = vars;
            inv.clear_env = true;
        }
    }

    /// Runs `inv` and returns its status.
    fn wait(&self, inv: &Invocation) -> i32 {
        if !self.root {
            return exec::fork_exec_wait(inv);
        }
        let pty = match Pty::for_stdio() {
            Ok(pty) => pty,
            Err(e) => {
                tracing::error!("{}", crate::tr!("pty-failed", e));
                return 1;
            }
        };
        exec::fork_exec_wait_confined(
            inv,
            Confinement {
                new_session: true,
                pty,
                close_fds: true,
            },
        )
    }

    /// Replaces this process with `inv` (u7s-admin), or runs it (root).
    fn exec(&self, inv: &Invocation) -> i32 {
        if self.root {
            self.wait(inv)
        } else {
            exec::exec(inv)
        }
    }
}

pub fn main(args: Vec<OsString>) -> i32 {
    crate::log::init("rootlessctl", 0);
    let admin = match AdminUser::lookup() {
        Ok(admin) => admin,
        Err(e) => {
            tracing::error!("{e:#}");
            return 1;
        }
    };
    let runner = Runner {
        root: super::root_on_host(),
    };
    let socket = state::state_dir_for(&admin)
        .join(state::API_SOCK)
        .into_os_string();
    let (globals, record) = classify(&args);
    // For our own `list-ports`: the same socket and global options.
    let mut base = vec![OsString::from("--socket"), socket.clone()];
    base.extend(globals);
    let mut full = vec![OsString::from("--socket"), socket];
    full.extend(args);
    let mut inv = match real_tool(Tool::Rootlessctl, full) {
        Ok(inv) => inv,
        Err(e) => return e.report(),
    };
    runner.prepare(&mut inv, &admin);
    let Some(record) = record else {
        return runner.exec(&inv);
    };
    let list = match ports_file(runner.root) {
        Ok(list) => list,
        Err(why) => {
            tracing::warn!("{}", crate::tr!("ports-not-recorded", why));
            return runner.exec(&inv);
        }
    };
    match record {
        Record::Add(specs, unrecordable) => {
            let code = runner.wait(&inv);
            if code != 0 {
                return code;
            }
            for s in unrecordable {
                tracing::warn!("{}", crate::tr!("port-spec-unrecordable", s));
            }
            record_change(&list, |l| {
                for s in specs {
                    if !l.contains(&s) {
                        l.push(s);
                    }
                }
            })
        }
        Record::Remove(ids) => {
            let known = match list_ports(&base) {
                Ok(known) => known,
                Err(e) => {
                    tracing::warn!("{}", crate::tr!("ports-cannot-list", format!("{e:#}")));
                    Vec::new()
                }
            };
            let code = runner.wait(&inv);
            if code != 0 {
                return code;
            }
            let gone: Vec<PortSpec> = known
                .into_iter()
                .filter(|(id, _)| ids.contains(id))
                .filter_map(|(_, spec)| spec)
                .collect();
            if gone.is_empty() {
                return 0;
            }
            record_change(&list, |l| l.retain(|s| !gone.contains(s)))
        }
    }
}

/// The list of the u7s-admin session this runs in. Root on the host (not
/// inside the namespaces) has no business writing u7s-admin's files.
fn ports_file(root_outside: bool) -> Result<std::path::PathBuf, String> {
    if root_outside {
        return Err(crate::tr!("ports-root-outside"));
    }
    AdminDirs::from_session_env(
        &|k: &str| std::env::var_os(k),
        nix::unistd::geteuid().as_raw(),
    )
    .map(|d| d.ports_file())
    .map_err(|e| format!("{e:#}"))
}

fn record_change(list: &std::path::Path, change: impl FnOnce(&mut Vec<PortSpec>)) -> i32 {
    match ports::update_list(list, change) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(
                "{}",
                crate::tr!("ports-record-failed", list.display(), format!("{e:#}"))
            );
            1
        }
    }
}

fn list_ports(base: &[OsString]) -> anyhow::Result<Vec<(u64, Option<PortSpec>)>> {
    let path = crate::tools::resolve(Tool::Rootlessctl).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut args = base.to_vec();
    args.extend(["list-ports".into(), "--json".into()]);
    let out = exec::run_captured(&Invocation::new(path, args))?;
    if !out.status.success() {
        anyhow::bail!(
            "{}",
            crate::tr!(
                "list-ports-failed",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        );
    }
    ports::parse_list_ports_json(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn which_calls_touch_the_list() {
        let spec: PortSpec = "0.0.0.0:30080:30080/tcp".parse().unwrap();
        assert_eq!(
            classify(&os(&["add-ports", "0.0.0.0:30080:30080/tcp"])),
            (vec![], Some(Record::Add(vec![spec], vec![])))
        );
        assert_eq!(
            classify(&os(&[
                "--debug",
                "--socket",
                "/s",
                "add-ports",
                "--json",
                "0.0.0.0:30080:30080/tcp",
                "0.0.0.0:1:127.0.0.1:1/tcp"
            ])),
            (
                os(&["--debug", "--socket", "/s"]),
                Some(Record::Add(
                    vec![spec],
                    vec!["0.0.0.0:1:127.0.0.1:1/tcp".into()]
                ))
            )
        );
        assert_eq!(
            classify(&os(&["remove-ports", "3", "x", "4"])).1,
            Some(Record::Remove(vec![3, 4]))
        );
        for passive in [
            &["list-ports", "--json"][..],
            &["info"],
            &["add-ports", "--help"],
            &["--help", "add-ports", "0.0.0.0:1:1/tcp"],
            &[],
            &["--socket"],
        ] {
            assert_eq!(classify(&os(passive)).1, None, "{passive:?}");
        }
    }
}
