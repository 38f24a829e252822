//! Every `kubeadm init` / `kubeadm join` flag of every version in the
//! contract (data/kubeadm-contract/flags.json) ends up where it should: in
//! the generated configuration at each of its fields, in the real kubeadm's
//! argv, or refused with a one-line reason.
//!
//! Twice: in process, over the pure planner (`flow::planner`), where the
//! configuration still holds the secrets, so each secret flag's value is
//! checked at its field and each bool flag is given both `true` and
//! `false`; and through the binary's dry run against a host tree, where the
//! secrets show as `<hidden>` and nothing else may.

mod support;

use std::ffi::OsString;
use std::path::PathBuf;

use support::hosttree::*;
use support::{run, text, u7s_command};
use u7s::flow::action::Action;
use u7s::flow::facts::{Facts, ToolPaths};
use u7s::flow::planner;
use u7s::flow::step::StepKind;
use u7s::kubeadm::flags::{disposition, Disposition, KubeMinor, Subcommand};
use u7s::settings::{EnvInputs, HostFacts, HostRoot};
use u7s::yaml::Value;

const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN: &str = "abcdef.0123456789abcdef";
const CERT_KEY: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// Flags whose values are secrets: the dry run shows `<hidden>` for them.
const SECRET: &[&str] = &[
    "token",
    "discovery-token",
    "tls-bootstrap-token",
    "certificate-key",
    "discovery-token-ca-cert-hash",
];

fn contract() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/kubeadm-contract/flags.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the contract is part of the checkout)",
            path.display()
        )
    });
    u7s::yaml::from_str(&text).expect("flags.json parses")
}

/// A value of the right type that the settings also accept; `None` for a
/// bool (given as `=true` and `=false`).
fn sample(name: &str, kind: &str, minor: u8) -> Option<String> {
    Some(match name {
        "apiserver-advertise-address" => HOST_ADDR.into(),
        "apiserver-bind-port" => "7443".into(),
        "apiserver-cert-extra-sans" => "san1.example,10.1.2.3".into(),
        "cert-dir" => "/etc/kubernetes/pki-u7s".into(),
        "certificate-key" => CERT_KEY.into(),
        "control-plane-endpoint" => "lb.example:8443".into(),
        "feature-gates" => "SomeGate=true".into(),
        "ignore-preflight-errors" => "Swap,NumCPU".into(),
        "image-repository" => "mirror.example/k8s".into(),
        "kubernetes-version" => format!("v1.{minor}.3"),
        "node-name" => "node-a".into(),
        "patches" => "/etc/kubernetes/patches".into(),
        "pod-network-cidr" => "10.128.0.0/16".into(),
        "service-cidr" => "172.20.0.0/16".into(),
        "service-dns-domain" => "cluster.example".into(),
        "skip-phases" => "addon/kube-proxy".into(),
        "token" | "discovery-token" | "tls-bootstrap-token" => TOKEN.into(),
        "token-ttl" => "2h0m0s".into(),
        "discovery-token-ca-cert-hash" => HASH.into(),
        "discovery-file" => "/etc/kubernetes/discovery.conf".into(),
        "v" => "3".into(),
        _ => match kind {
            "bool" => return None,
            "string" => "/var/log/u7s-test".into(),
            "duration" => "1m0s".into(),
            "int32" | "int" | "uint" | "Level" => "2".into(),
            "severity" => "ERROR".into(),
            "moduleSpec" => "file=2".into(),
            "traceLocation" => "file.go:10".into(),
            "stringSlice" => "a,b".into(),
            other => panic!("no sample for {name} of type {other}"),
        },
    })
}

/// One flag of one release: what to give and where it must go.
struct Case {
    sub: Subcommand,
    minor: u8,
    name: String,
    /// The flag's value (`true`/`false` for a bool).
    value: String,
    bool_flag: bool,
    disposition: Disposition,
}

impl Case {
    fn what(&self) -> String {
        format!(
            "{} --{}={} on 1.{}",
            self.sub.name(),
            self.name,
            self.value,
            self.minor
        )
    }

    /// The command line: the subcommand, what a join needs, the flag.
    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![self.sub.name().into()];
        if self.sub == Subcommand::Join {
            args.extend(
                [
                    "10.10.0.9:6443",
                    "--token",
                    TOKEN,
                    "--discovery-token-ca-cert-hash",
                    HASH,
                ]
                .map(String::from),
            );
            let control_plane_only = [
                "apiserver-advertise-address",
                "apiserver-bind-port",
                "certificate-key",
            ];
            if control_plane_only.contains(&self.name.as_str()) {
                args.extend(["--control-plane", "--certificate-key", CERT_KEY].map(String::from));
            }
        }
        args.push(format!("--{}={}", self.name, self.value));
        args
    }
}

/// Every (subcommand, release, flag, value) of the contract that has a
/// destination (help, --config and --dry-run are not destinations).
fn cases() -> Vec<Case> {
    let contract = contract();
    let mut cases = Vec::new();
    for (sub, command) in [(Subcommand::Init, "init"), (Subcommand::Join, "join")] {
        let mut flags: Vec<Value> = contract["commands"][command]["flags"]
            .as_sequence()
            .unwrap()
            .clone();
        flags.extend(
            contract["global_flags"]
                .as_sequence()
                .unwrap()
                .iter()
                .cloned(),
        );
        for minor in 26u8..=32 {
            let version = format!("1.{minor}");
            for flag in &flags {
                let versions = flag["versions"].as_sequence().unwrap();
                if !versions.iter().any(|v| v.as_str() == Some(&version)) {
                    continue;
                }
                let name = flag["name"].as_str().unwrap();
                let kind = flag["type"].as_str().unwrap();
                let disposition = disposition(sub, KubeMinor::new(minor).unwrap(), name)
                    .unwrap_or_else(|| panic!("{command} --{name} ({version}) has no disposition"));
                if matches!(disposition, Disposition::Help | Disposition::BaseConfig)
                    || name == "dry-run"
                {
                    continue;
                }
                let values = match sample(name, kind, minor) {
                    Some(v) => vec![(v, false)],
                    None => vec![("true".to_string(), true), ("false".to_string(), true)],
                };
                for (value, bool_flag) in values {
                    cases.push(Case {
                        sub,
                        minor,
                        name: name.to_owned(),
                        value,
                        bool_flag,
                        disposition,
                    });
                }
            }
        }
    }
    cases
}

/// Values at `Kind.a.b[].c` in the documents.
fn lookup(docs: &[Value], path: &str) -> Vec<Value> {
    let (kind, rest) = path.split_once('.').unwrap_or((path, ""));
    let mut found: Vec<Value> = docs
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
        .cloned()
        .collect();
    for seg in rest.split('.').filter(|s| !s.is_empty()) {
        let (key, each) = match seg.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (seg, false),
        };
        found = found
            .iter()
            .filter_map(|v| v.get(key).cloned())
            .flat_map(|v| match (each, v) {
                (true, Value::Sequence(items)) => items,
                (_, v) => vec![v],
            })
            .collect();
    }
    found
}

/// Whether `value` is exactly what the flag said. `shown` is what a string
/// must read (the flag's value, or `<hidden>` where secrets are masked).
fn holds_exactly(value: &Value, case: &Case, shown: &str) -> bool {
    match value {
        Value::String(s) => s == shown,
        Value::Number(n) => n.to_string() == case.value,
        Value::Bool(b) => b.to_string() == case.value,
        // A list flag: every item given is in the list.
        Value::Sequence(items) => shown
            .split(',')
            .all(|want| items.iter().any(|i| i.as_str() == Some(want))),
        // `Name=bool` pairs: each name with exactly its value.
        Value::Mapping(map) if !case.bool_flag => case.value.split(',').all(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.get(k).and_then(Value::as_bool).map(|b| b.to_string()) == Some(v.to_owned())
        }),
        // A bool that switches a section on: the section is there, filled.
        Value::Mapping(map) => case.value == "true" && !map.is_empty(),
        _ => false,
    }
}

/// Checks that `docs` hold the case's value at every one of `paths`.
fn assert_at_every_path(docs: &[Value], case: &Case, paths: &[&str], shown: &str) {
    for path in paths {
        let found = lookup(docs, path);
        if case.bool_flag && case.value == "false" {
            // Off: the field says false, or (a section) it is not there.
            assert!(
                found.iter().all(|v| v == &Value::Bool(false)),
                "{}: {path} is {found:?}",
                case.what()
            );
            continue;
        }
        assert!(
            !found.is_empty() && found.iter().any(|v| holds_exactly(v, case, shown)),
            "{}: {path} holds {found:?}, not {shown:?}",
            case.what()
        );
    }
}

fn host_facts() -> HostFacts {
    let tree = HostTree::new("flagdest-facts", OS_P10, HOSTS_PLAIN);
    HostFacts::read(&HostRoot::new(&tree.root)).expect("the host tree's facts")
}

/// The facts of the host tree, read once: the planner needs nothing else.
fn facts(minor: u8, host: &HostFacts) -> Facts {
    Facts {
        env: EnvInputs {
            kube_version: Some(format!("v1.{minor}.3")),
            ..EnvInputs::default()
        },
        kubeadm_version: None,
        tools: ToolPaths {
            kubeadm: "/usr/bin/kubeadm".into(),
            kubectl: "/usr/bin/kubectl".into(),
            systemctl: "/usr/bin/systemctl".into(),
            ..ToolPaths::default()
        },
        admin: u7s::users::parse_passwd(
            "u7s-admin:x:999:999::/var/lib/u7s-admin:/bin/bash",
            "u7s-admin",
        ),
        passwd_shown: "/etc/passwd".into(),
        host: host.clone(),
        admin_config: None,
    }
}

/// The real kubeadm's argv in the plan (the init or join step).
fn kubeadm_argv(plan: &planner::Plan) -> Vec<String> {
    plan.steps
        .all()
        .iter()
        .filter(|s| matches!(s.kind, StepKind::KubeadmInit | StepKind::KubeadmJoin))
        .flat_map(|s| &s.actions)
        .find_map(|a| match a {
            Action::Run { argv, .. } => Some(argv.clone()),
            _ => None,
        })
        .expect("a kubeadm step")
}

#[test]
fn every_flag_reaches_its_field_exactly_in_the_planner() {
    let host = host_facts();
    let mut checked = 0;
    for case in cases() {
        let facts = facts(case.minor, &host);
        let args: Vec<OsString> = case.args().into_iter().map(OsString::from).collect();
        let planned = planner::parse(case.sub, &args, &facts)
            .and_then(|parsed| planner::plan(case.sub, parsed, &facts));
        match case.disposition {
            Disposition::Refused(_) => {
                let e = u7s::error::Error::from(planned.expect_err(&case.what()));
                assert!(
                    e.message().contains(&format!("--{}", case.name)),
                    "{}: {e}",
                    case.what()
                );
            }
            Disposition::Passthrough => {
                let plan = planned.unwrap_or_else(|e| panic!("{}: {:?}", case.what(), e));
                let argv = kubeadm_argv(&plan);
                let want = format!("--{}={}", case.name, case.value);
                assert!(
                    argv.contains(&want),
                    "{}: {want} not in {argv:?}",
                    case.what()
                );
            }
            Disposition::Config(paths) | Disposition::Settings(paths) => {
                let plan = planned.unwrap_or_else(|e| panic!("{}: {:?}", case.what(), e));
                let docs = u7s::yaml::parse_documents(&plan.kubeadm_config).unwrap();
                assert_at_every_path(&docs, &case, paths, &case.value);
            }
            Disposition::Help | Disposition::BaseConfig => unreachable!(),
        }
        checked += 1;
    }
    assert!(checked > 250, "only {checked} flag/version/value cases");
    eprintln!("{checked} cases planned in process");
}

fn dry_run(tree: &HostTree, minor: u8, args: &[String]) -> std::process::Output {
    let mut cmd = u7s_command(&["kubeadm"]);
    cmd.args(args);
    cmd.env("U7S_ROOT", &tree.root)
        .env("U7S_KUBEVERSION", format!("v1.{minor}.3"))
        .env("U7S_KUBEADM", "/nonexistent/kubeadm");
    run(&mut cmd)
}

/// The configuration documents of a dry run's output.
fn documents(stdout: &str) -> Vec<Value> {
    let start = stdout
        .find("# kubeadm configuration")
        .expect("config section");
    let end = stdout.find("# Host steps").expect("steps section");
    u7s::yaml::parse_documents(&stdout[start..end]).unwrap()
}

#[test]
fn every_flag_ends_up_where_it_should_through_the_binary() {
    let tree = HostTree::new("flagdest", OS_P10, HOSTS_PLAIN);
    let mut checked = 0;
    for case in cases() {
        let mut args = case.args();
        args.push("--dry-run".into());
        let out = dry_run(&tree, case.minor, &args);
        let what = case.what();
        match case.disposition {
            Disposition::Refused(_) => {
                assert_eq!(out.status.code(), Some(1), "{what}: must be refused");
                let err = text(&out.stderr);
                assert!(
                    err.contains(&format!("--{}", case.name)) && err.lines().count() == 1,
                    "{what}: {err}"
                );
            }
            Disposition::Passthrough => {
                assert!(out.status.success(), "{what}: {}", text(&out.stderr));
                let stdout = text(&out.stdout);
                let kubeadm_line = stdout
                    .lines()
                    .find(|l| l.contains(&format!("/kubeadm {} --config ", case.sub.name())))
                    .unwrap_or_else(|| panic!("{what}: no kubeadm step"));
                let rendered = format!("--{}={}", case.name, case.value);
                assert!(
                    kubeadm_line.split(' ').any(|w| w == rendered),
                    "{what}: {rendered} not in {kubeadm_line}"
                );
            }
            Disposition::Config(paths) | Disposition::Settings(paths) => {
                assert!(out.status.success(), "{what}: {}", text(&out.stderr));
                let stdout = text(&out.stdout);
                let docs = documents(&stdout);
                let shown = if SECRET.contains(&case.name.as_str()) {
                    assert!(!stdout.contains(&case.value), "{what}: the secret is shown");
                    "<hidden>"
                } else {
                    case.value.as_str()
                };
                assert_at_every_path(&docs, &case, paths, shown);
            }
            Disposition::Help | Disposition::BaseConfig => unreachable!(),
        }
        checked += 1;
    }
    assert!(checked > 250, "only {checked} flag/version/value cases");
    eprintln!("{checked} cases through the binary");
}
