//! Checks against the kubeadm contract files in the repository
//! (`data/kubeadm-contract/`): the generated table matches flags.json, every
//! flag of every version parses in every form, and every configuration path
//! exists in config-fields.json. The files are part of the checkout, so a
//! missing one is a failure, never a skip.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use crate::yaml::Value;

use super::disposition::disposition;
use super::table::{allowed_with_config, FlagSet, Kind, Scope};
use super::*;

fn contract(name: &str) -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/kubeadm-contract")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the contract is part of the checkout)",
            path.display()
        )
    });
    Some(crate::yaml::from_str(&text).expect("contract file parses"))
}

/// A flag as flags.json describes it for one command and version.
#[derive(Debug, Clone)]
struct JsonFlag {
    shorthand: Option<String>,
    ty: String,
    klog: bool,
    hidden: bool,
    persistent_root: bool,
    forbidden_with_config: Option<bool>,
}

fn versions_of(v: &Value, key: &str) -> Vec<u8> {
    v.get(key)
        .and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .map(|x| {
                    let t = x.as_str().unwrap();
                    t.strip_prefix("1.").unwrap().parse().unwrap()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The flags flags.json gives `sub` in 1.`m`: its own plus the root's.
fn json_flags(doc: &Value, sub: Subcommand, m: u8) -> BTreeMap<String, JsonFlag> {
    let mut out = BTreeMap::new();
    let own = doc["commands"][sub.name()]["flags"].as_sequence().unwrap();
    let global = doc["global_flags"].as_sequence().unwrap();
    for (flags, root) in [(global, true), (own, false)] {
        for f in flags {
            if !versions_of(f, "versions").contains(&m) {
                continue;
            }
            let name = f["name"].as_str().unwrap().to_owned();
            let forbidden = match &f["forbidden_with_config"] {
                Value::Bool(b) => Some(*b),
                Value::Mapping(map) => map
                    .get(Value::String(format!("1.{m}")))
                    .and_then(Value::as_bool),
                _ => None,
            };
            let entry = JsonFlag {
                shorthand: f["shorthand"].as_str().map(str::to_owned),
                ty: f["type"].as_str().unwrap().to_owned(),
                klog: f["defined_in"].as_str().unwrap_or("").contains("klog"),
                hidden: versions_of(f, "hidden_in").contains(&m),
                persistent_root: root,
                forbidden_with_config: forbidden,
            };
            out.entry(name)
                .and_modify(|e: &mut JsonFlag| {
                    e.persistent_root |= root;
                    e.forbidden_with_config = e.forbidden_with_config.or(forbidden);
                })
                .or_insert(entry);
        }
    }
    out
}

fn kind_matches(ty: &str, klog: bool, kind: Kind) -> bool {
    matches!(
        (ty, klog, kind),
        ("bool", false, Kind::Bool)
            | ("bool", true, Kind::GoBool)
            | ("string", _, Kind::Str)
            | ("stringSlice", false, Kind::StrSlice)
            | ("int32", false, Kind::Int32)
            | ("int", false, Kind::Int)
            | ("duration", false, Kind::Duration)
            | ("uint", true, Kind::Uint64)
            | ("Level", true, Kind::Level)
            | ("severity", true, Kind::Severity)
            | ("traceLocation", true, Kind::TraceLocation)
            | ("moduleSpec", true, Kind::ModuleSpec)
    )
}

const SUBS: [Subcommand; 2] = [Subcommand::Init, Subcommand::Join];

#[test]
fn table_matches_flags_json() {
    let Some(doc) = contract("flags.json") else {
        return;
    };
    let mut checked = 0;
    for sub in SUBS {
        for m in KubeMinor::all() {
            let want = json_flags(&doc, sub, m.get());
            let have = FlagSet::for_command(Some(sub), m);
            let have_names: Vec<&str> = {
                let mut v: Vec<&str> = have.iter().map(|s| s.name).collect();
                v.sort();
                v
            };
            let want_names: Vec<&str> = want.keys().map(String::as_str).collect();
            assert_eq!(have_names, want_names, "{sub} {m}");
            for (name, j) in &want {
                let s = have.lookup(name).unwrap();
                assert_eq!(
                    s.shorthand.map(|c| (c as char).to_string()),
                    j.shorthand,
                    "{sub} {m} --{name} shorthand"
                );
                assert!(
                    kind_matches(&j.ty, j.klog, s.kind),
                    "{sub} {m} --{name}: {} vs {:?}",
                    j.ty,
                    s.kind
                );
                assert_eq!(s.hidden.contains(m), j.hidden, "{sub} {m} --{name} hidden");
                assert_eq!(
                    s.scope.has(Scope::GLOBAL),
                    j.persistent_root,
                    "{sub} {m} --{name} scope"
                );
                assert!(
                    s.deprecated.is_none(),
                    "flags.json has no deprecations here"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 250, "only {checked} flag/version pairs checked");
}

#[test]
fn config_mixing_matches_flags_json() {
    let Some(doc) = contract("flags.json") else {
        return;
    };
    let lists = doc["config_mixing"]["allow_list_by_version"]
        .as_mapping()
        .unwrap();
    assert_eq!(doc["config_mixing"]["prefix_rule"].as_str(), Some("skip-*"));
    let mut all_names: Vec<String> = Vec::new();
    for (_, names) in lists {
        for n in names.as_sequence().unwrap() {
            all_names.push(n.as_str().unwrap().to_owned());
        }
    }
    for (ver, names) in lists {
        let m: u8 = ver.as_str().unwrap()[2..].parse().unwrap();
        let m = KubeMinor::new(m).unwrap();
        let names: Vec<&str> = names
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        for n in &all_names {
            assert_eq!(
                allowed_with_config(n, m),
                names.contains(&n.as_str()),
                "{m} {n}"
            );
        }
    }
    // Our rule reproduces every flag's forbidden_with_config (help never
    // reaches the check: cobra shows help first).
    for sub in SUBS {
        for m in KubeMinor::all() {
            for (name, j) in json_flags(&doc, sub, m.get()) {
                let Some(forbidden) = j.forbidden_with_config else {
                    continue;
                };
                if name == "help" {
                    continue;
                }
                assert_eq!(
                    !allowed_with_config(&name, m),
                    forbidden,
                    "{sub} {m} --{name}"
                );
            }
        }
    }
}

/// A value of the flag's type, and what the parser must make of it.
fn sample(ty: &str) -> (&'static str, FlagValue) {
    match ty {
        "string" => (
            "sample/value,with=stuff",
            FlagValue::Str("sample/value,with=stuff".into()),
        ),
        "stringSlice" => ("a,b", FlagValue::List(vec!["a".into(), "b".into()])),
        "int32" | "int" => ("7001", FlagValue::Int(7001)),
        "duration" => ("1h30m", FlagValue::Duration("1h30m".into())),
        "Level" => ("4", FlagValue::Int(4)),
        "uint" => ("100", FlagValue::Uint(100)),
        "severity" => ("ERROR", FlagValue::Str("ERROR".into())),
        "traceLocation" => ("main.go:10", FlagValue::Str("main.go:10".into())),
        "moduleSpec" => ("foo=2", FlagValue::Str("foo=2".into())),
        other => panic!("no sample for type {other}"),
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Every flags.json flag of init and join, in every version, is accepted in
/// `--f=v` and `--f v` form (bools: `--f`, `--f=false`), after and (for root
/// flags) before the subcommand, lands with the right value and has a
/// disposition.
#[test]
fn every_flag_parses_in_every_form() {
    let Some(doc) = contract("flags.json") else {
        return;
    };
    let mut cases = 0;
    for sub in SUBS {
        for m in KubeMinor::all() {
            for (name, j) in json_flags(&doc, sub, m.get()) {
                let long = format!("--{name}");
                let mut forms: Vec<(Vec<String>, FlagValue)> = Vec::new();
                let sub_word = sub.name().to_owned();
                if j.ty == "bool" {
                    forms.push((vec![sub_word.clone(), long.clone()], FlagValue::Bool(true)));
                    forms.push((
                        vec![sub_word.clone(), format!("{long}=false")],
                        FlagValue::Bool(false),
                    ));
                    forms.push((
                        vec![sub_word.clone(), format!("{long}=1")],
                        FlagValue::Bool(true),
                    ));
                    if j.persistent_root {
                        forms.push((
                            vec![format!("{long}=true"), sub_word.clone()],
                            FlagValue::Bool(true),
                        ));
                    }
                } else {
                    let (raw, want) = sample(&j.ty);
                    forms.push((
                        vec![sub_word.clone(), format!("{long}={raw}")],
                        want.clone(),
                    ));
                    forms.push((
                        vec![sub_word.clone(), long.clone(), raw.into()],
                        want.clone(),
                    ));
                    if j.persistent_root {
                        forms.push((
                            vec![long.clone(), raw.into(), sub_word.clone()],
                            want.clone(),
                        ));
                        forms.push((
                            vec![format!("{long}={raw}"), sub_word.clone()],
                            want.clone(),
                        ));
                    }
                    if let Some(short) = &j.shorthand {
                        forms.push((
                            vec![sub_word.clone(), format!("-{short}{raw}")],
                            want.clone(),
                        ));
                        forms.push((
                            vec![sub_word.clone(), format!("-{short}={raw}")],
                            want.clone(),
                        ));
                        forms.push((
                            vec![sub_word.clone(), format!("-{short}"), raw.into()],
                            want.clone(),
                        ));
                    }
                }
                if let Some(short) = j.shorthand.as_ref().filter(|_| j.ty == "bool") {
                    forms.push((
                        vec![sub_word.clone(), format!("-{short}")],
                        FlagValue::Bool(true),
                    ));
                }
                for (args, want) in forms {
                    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                    let p =
                        parse(sub, m, &os(&argv)).unwrap_or_else(|e| panic!("{m} {argv:?}: {e}"));
                    assert_eq!(p.value(&name), Some(&want), "{m} {argv:?}");
                    assert_eq!(p.flags().len(), 1, "{m} {argv:?}");
                    assert!(p.positionals().is_empty(), "{m} {argv:?}");
                    cases += 1;
                }
                assert!(
                    disposition(sub, m, &name).is_some(),
                    "{sub} {m} --{name} has no disposition"
                );
            }
        }
    }
    assert!(cases > 600, "only {cases} cases ran");
}

/// A flag flags.json lists for some versions only is an unknown flag in the
/// others.
#[test]
fn flags_outside_their_versions_are_unknown() {
    let Some(doc) = contract("flags.json") else {
        return;
    };
    let mut cases = 0;
    for sub in SUBS {
        let own = doc["commands"][sub.name()]["flags"].as_sequence().unwrap();
        let global = doc["global_flags"].as_sequence().unwrap();
        for f in own.iter().chain(global) {
            let name = f["name"].as_str().unwrap();
            let versions = versions_of(f, "versions");
            for m in KubeMinor::all().filter(|m| !versions.contains(&m.get())) {
                let arg = format!("--{name}=1");
                let e = parse(sub, m, &os(&[sub.name(), &arg])).unwrap_err();
                assert_eq!(e.to_string(), format!("unknown flag: --{name}"));
                cases += 1;
            }
        }
    }
    assert!(cases >= 2 * 9 * 2, "only {cases} cases ran");
}

/// Every configuration path a disposition names exists in the kubeadm API
/// version that minor uses (v1beta3 up to 1.30, v1beta4 from 1.31).
#[test]
fn config_paths_exist() {
    let Some(doc) = contract("config-fields.json") else {
        return;
    };
    let mut checked = 0;
    for sub in SUBS {
        for m in KubeMinor::all() {
            let api = if m.get() <= 30 {
                "kubeadm.k8s.io/v1beta3"
            } else {
                "kubeadm.k8s.io/v1beta4"
            };
            let kinds = &doc["api_versions"][api]["kinds"];
            for spec in FlagSet::for_command(Some(sub), m).iter() {
                let paths = match disposition(sub, m, spec.name).unwrap() {
                    Disposition::Config(p) | Disposition::Settings(p) => p,
                    _ => continue,
                };
                for full in paths {
                    let (kind, path) = full.split_once('.').unwrap();
                    let fields = kinds[kind]
                        .as_sequence()
                        .unwrap_or_else(|| panic!("{kind}"));
                    assert!(
                        fields.iter().any(|f| f["path"].as_str() == Some(path)),
                        "{api}: no {full} (for {sub} --{})",
                        spec.name
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} paths checked");
}
