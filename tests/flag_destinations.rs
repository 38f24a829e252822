//! Every `kubeadm init` / `kubeadm join` flag of every version in the
//! contract (data/kubeadm-contract/flags.json) ends up where it should: in the generated
//! configuration at its field, in the real kubeadm's argv, or refused with a
//! one-line reason. Run through the binary's dry run against a host tree.

mod support;

use std::path::PathBuf;

use support::hosttree::*;
use support::{run, text, u7s_command};
use u7s::kubeadm::flags::{disposition, Disposition, KubeMinor, Subcommand};
use u7s::yaml::Value;

const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN: &str = "abcdef.0123456789abcdef";
const CERT_KEY: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn contract() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/kubeadm-contract/flags.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the contract is part of the checkout)",
            path.display()
        )
    });
    Some(u7s::yaml::from_str(&text).expect("flags.json parses"))
}

/// A value of the right type that the settings also accept.
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
    let body = &stdout[start..end];
    u7s::yaml::Deserializer::from_str(body)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

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

fn holds(value: &Value, expected: &str) -> bool {
    let hidden = |s: &str| s == "<hidden>";
    match value {
        Value::String(s) => s == expected || hidden(s),
        Value::Number(n) => n.to_string() == expected,
        Value::Bool(b) => *b || expected == "true",
        Value::Sequence(items) => expected.split(',').all(|want| {
            items
                .iter()
                .any(|i| i.as_str().is_some_and(|s| s == want || hidden(s)))
        }),
        // A bool flag that switches a section on: the section is there.
        Value::Mapping(_) if expected == "true" => true,
        Value::Mapping(map) => {
            let key = expected.split('=').next().unwrap_or(expected);
            map.keys().any(|k| k.as_str() == Some(key))
        }
        _ => false,
    }
}

#[test]
fn every_init_and_join_flag_ends_up_where_it_should() {
    let Some(contract) = contract() else { return };
    let tree = HostTree::new("flagdest", OS_P10, HOSTS_PLAIN);
    let mut checked = 0;
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
                let where_to = disposition(sub, KubeMinor::new(minor).unwrap(), name)
                    .unwrap_or_else(|| panic!("{command} --{name} ({version}) has no disposition"));
                if matches!(where_to, Disposition::Help | Disposition::BaseConfig)
                    || name == "dry-run"
                {
                    continue;
                }
                let value = sample(name, kind, minor);
                let mut args: Vec<String> = vec![command.into()];
                if sub == Subcommand::Join {
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
                        "control-plane",
                    ];
                    if control_plane_only.contains(&name) {
                        args.extend(
                            ["--control-plane", "--certificate-key", CERT_KEY].map(String::from),
                        );
                    }
                }
                match &value {
                    Some(v) => args.push(format!("--{name}={v}")),
                    None => args.push(format!("--{name}")),
                }
                args.push("--dry-run".into());
                let out = dry_run(&tree, minor, &args);
                let what = format!("{command} --{name} on {version}");
                match where_to {
                    Disposition::Refused(_) => {
                        assert_eq!(out.status.code(), Some(1), "{what}: must be refused");
                        let err = text(&out.stderr);
                        assert!(
                            err.contains(&format!("--{name}")) && err.lines().count() == 1,
                            "{what}: {err}"
                        );
                    }
                    Disposition::Passthrough => {
                        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
                        let stdout = text(&out.stdout);
                        let kubeadm_line = stdout
                            .lines()
                            .find(|l| l.contains(&format!("/kubeadm {command} --config ")))
                            .unwrap_or_else(|| panic!("{what}: no kubeadm step"));
                        let rendered = match &value {
                            Some(v) => format!("--{name}={v}"),
                            None => format!("--{name}=true"),
                        };
                        assert!(
                            kubeadm_line.contains(&rendered),
                            "{what}: {rendered} not in {kubeadm_line}"
                        );
                    }
                    Disposition::Config(paths) | Disposition::Settings(paths) => {
                        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
                        let docs = documents(&text(&out.stdout));
                        let expected = value.clone().unwrap_or_else(|| "true".into());
                        let hit = paths
                            .iter()
                            .any(|path| lookup(&docs, path).iter().any(|v| holds(v, &expected)));
                        assert!(hit, "{what}: {expected:?} not at any of {paths:?}");
                    }
                    Disposition::Help | Disposition::BaseConfig => unreachable!(),
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 250,
        "only {checked} flag/version pairs were checked"
    );
    eprintln!("{checked} flag/version pairs checked");
}
