//! kubeadm's command line: cobra's command lookup and pflag's parsing rules
//! (NOTES.md), over the flags of the modeled version from flags.json.

use std::sync::OnceLock;

use serde_yaml::Value;

use crate::error::{self, Failure, Result};
use crate::versions::Version;

const FLAGS_JSON: &str = include_str!("../../data/kubeadm-contract/flags.json");

fn catalog() -> &'static Value {
    static CATALOG: OnceLock<Value> = OnceLock::new();
    CATALOG.get_or_init(|| serde_yaml::from_str(FLAGS_JSON).expect("flags.json parses"))
}

#[derive(Debug, Clone)]
pub struct FlagSpec {
    pub name: String,
    pub shorthand: Option<char>,
    pub ty: String,
}

impl FlagSpec {
    fn takes_value(&self) -> bool {
        self.ty != "bool"
    }

    /// pflag's name of the flag in errors: `-v, --v` or `--config`.
    fn display(&self) -> String {
        match self.shorthand {
            Some(s) => format!("-{s}, --{}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

fn has_version(entry: &Value, key: &str) -> bool {
    entry["versions"]
        .as_sequence()
        .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(key)))
}

fn flag_specs(list: &Value, key: &str) -> Vec<FlagSpec> {
    list.as_sequence()
        .into_iter()
        .flatten()
        .filter(|f| has_version(f, key))
        .map(|f| FlagSpec {
            name: f["name"].as_str().unwrap_or_default().to_owned(),
            shorthand: f["shorthand"].as_str().and_then(|s| s.chars().next()),
            ty: f["type"].as_str().unwrap_or("string").to_owned(),
        })
        .collect()
}

/// flags.json lists phase subcommands for 1.30+ only; older releases had the
/// same phases, so their 1.30 entries stand in.
fn data_key(path: &str, version: &Version) -> String {
    let entry = &catalog()["commands"][path];
    if !has_version(entry, &version.key())
        && path.split(' ').any(|w| w == "phase")
        && version.minor < 30
        && has_version(entry, "1.30")
    {
        return "1.30".into();
    }
    version.key()
}

#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// `init`, `config images pull`, `` for the root.
    pub path: String,
    pub validator: Option<String>,
    pub flags: Vec<FlagSpec>,
}

fn command(path: &str, version: &Version) -> Option<CommandSpec> {
    let entry = &catalog()["commands"][path];
    let key = data_key(path, version);
    if !has_version(entry, &key) {
        return None;
    }
    let mut flags = flag_specs(&catalog()["global_flags"], &version.key());
    flags.extend(flag_specs(&entry["flags"], &key));
    Some(CommandSpec {
        path: path.to_owned(),
        validator: entry["positional_args"]["validator"]
            .as_str()
            .map(str::to_owned),
        flags,
    })
}

fn children(path: &str, version: &Version) -> Vec<String> {
    let Some(map) = catalog()["commands"].as_mapping() else {
        return Vec::new();
    };
    map.keys()
        .filter_map(Value::as_str)
        .filter_map(|k| {
            let rest = if path.is_empty() {
                k
            } else {
                k.strip_prefix(path)?.strip_prefix(' ')?
            };
            (!rest.is_empty() && !rest.contains(' ')).then_some((k, rest))
        })
        .filter(|(k, _)| command(k, version).is_some())
        .map(|(_, rest)| rest.to_owned())
        .collect()
}

/// The parsed command line.
#[derive(Debug)]
pub struct Parsed {
    pub command: CommandSpec,
    /// Explicitly set flags (canonical names) with their values in order.
    pub set: Vec<(String, String)>,
    pub positionals: Vec<String>,
}

impl Parsed {
    pub fn path(&self) -> &str {
        &self.command.path
    }

    pub fn has(&self, name: &str) -> bool {
        self.set.iter().any(|(n, _)| n == name)
    }

    /// The last value of a scalar flag.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.set
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn bool(&self, name: &str) -> bool {
        self.str(name).is_some_and(|v| parse_bool(v) == Some(true))
    }

    /// A string-slice flag: every occurrence, split like CSV.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.set
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| read_csv(v))
            .collect()
    }

    /// Flags set explicitly, sorted as pflag's `Visit` visits them.
    pub fn set_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// `-v N` as `CheckErr` sees it, read before (or without) a full parse.
pub fn peek_verbosity(args: &[String]) -> i64 {
    let mut level = 0;
    let mut it = args.iter().take_while(|a| *a != "--").peekable();
    while let Some(a) = it.next() {
        let value = match a.as_str() {
            "-v" | "--v" => it.peek().map(|v| v.to_string()),
            other => other
                .strip_prefix("--v=")
                .or_else(|| other.strip_prefix("-v="))
                .or_else(|| other.strip_prefix("-v"))
                .map(str::to_owned),
        };
        if let Some(n) = value.and_then(|v| v.parse::<i64>().ok()) {
            level = n;
        }
    }
    level
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// pflag's string slices are read as one CSV record.
pub fn read_csv(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    out.push(field);
    out
}

/// Go's strconv errors for the value of `flag`.
fn check_value(flag: &FlagSpec, value: &str) -> Result<()> {
    let syntax = |func: &str| format!("strconv.{func}: parsing {value:?}: invalid syntax");
    let problem = match flag.ty.as_str() {
        "bool" => parse_bool(value).is_none().then(|| syntax("ParseBool")),
        "int" | "int32" | "Level" => {
            let base0 = flag.ty != "Level";
            parse_go_int(value, base0).err().map(|range| {
                if range {
                    format!("strconv.ParseInt: parsing {value:?}: value out of range")
                } else {
                    syntax("ParseInt")
                }
            })
        }
        "uint" => value.parse::<u64>().is_err().then(|| syntax("ParseUint")),
        "duration" => (!is_go_duration(value)).then(|| format!("time: invalid duration {value:?}")),
        _ => None,
    };
    match problem {
        Some(p) => Err(error::plain(format!(
            "invalid argument {value:?} for {:?} flag: {p}",
            flag.display()
        ))),
        None => Ok(()),
    }
}

/// Err(true) out of range, Err(false) bad syntax.
fn parse_go_int(value: &str, base0: bool) -> std::result::Result<i64, bool> {
    let (neg, digits) = match value.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let (radix, body) = if base0 {
        if let Some(h) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            (16, h)
        } else if let Some(b) = digits.strip_prefix("0b") {
            (2, b)
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, &digits[1..])
        } else {
            (10, digits)
        }
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return Err(false);
    }
    let n = i64::from_str_radix(body, radix).map_err(|_| true)?;
    let n = if neg { -n } else { n };
    if n < i64::from(i32::MIN) || n > i64::from(i32::MAX) {
        return Err(true);
    }
    Ok(n)
}

fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if num.is_empty() || num == "." {
            return false;
        }
        rest = &rest[num.len()..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn usage(spec: &CommandSpec) -> String {
    let path = if spec.path.is_empty() {
        "kubeadm".to_owned()
    } else {
        format!("kubeadm {}", spec.path)
    };
    format!("Usage:\n  {path} [flags]\n\n(kubeadm-model: help text not modeled)\n")
}

/// Levenshtein distance, for cobra's "Did you mean this?".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What to do with the command line: run a command, or it was help.
pub enum Outcome {
    Run(Parsed),
    /// Help was printed; exit 0.
    Help,
}

/// Finds the command (cobra's `Find`) and parses its flags (pflag).
pub fn parse(args: &[String], version: &Version) -> Result<Outcome> {
    let mut path = String::new();
    let mut spec = command("", version).expect("the root command");
    let mut words: Vec<usize> = Vec::new();
    let mut i = 0;
    // Find: the first non-flag argument at each level names a subcommand.
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            if !long.contains('=') {
                let known = spec.flags.iter().find(|f| f.name == long);
                if !matches!(known, Some(f) if !f.takes_value()) {
                    i += 1;
                }
            }
            i += 1;
            continue;
        }
        if a.len() == 2 && a.starts_with('-') {
            let c = a.chars().nth(1).unwrap();
            let known = spec.flags.iter().find(|f| f.shorthand == Some(c));
            if !matches!(known, Some(f) if !f.takes_value()) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if a.starts_with('-') && a.len() > 1 {
            i += 1;
            continue;
        }
        if children(&path, version).iter().any(|c| c == a) {
            path = if path.is_empty() {
                a.clone()
            } else {
                format!("{path} {a}")
            };
            spec = command(&path, version).expect("a listed child");
            words.push(i);
            i += 1;
            continue;
        }
        break;
    }
    let rest: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| !words.contains(i))
        .map(|(_, a)| a.clone())
        .collect();
    let (set, positionals) = parse_flags(&spec, &rest)?;
    let parsed = Parsed {
        command: spec,
        set,
        positionals,
    };
    if parsed.bool("help") || (parsed.path().is_empty() && parsed.positionals.is_empty()) {
        print!("{}", usage(&parsed.command));
        return Ok(Outcome::Help);
    }
    check_positionals(&parsed, version)?;
    Ok(Outcome::Run(parsed))
}

fn check_positionals(parsed: &Parsed, version: &Version) -> Result<()> {
    let path = parsed.path();
    let n = parsed.positionals.len();
    if path.is_empty() {
        let name = &parsed.positionals[0];
        let mut msg = format!("unknown command {name:?} for \"kubeadm\"");
        let close: Vec<String> = children("", version)
            .into_iter()
            .filter(|c| distance(c, name) <= 2 || c.starts_with(name.as_str()))
            .collect();
        if !close.is_empty() {
            msg.push_str("\n\nDid you mean this?\n");
            for c in close {
                msg.push_str(&format!("\t{c}\n"));
            }
        }
        return Err(error::plain(msg));
    }
    // Parent commands with no behaviour of their own: kubeadm's SubCmdRun.
    const PARENTS: &[&str] = &[
        "config",
        "config images",
        "config print",
        "token",
        "certs",
        "certs renew",
        "kubeconfig",
        "upgrade",
        "init phase",
        "join phase",
        "reset phase",
        "upgrade node phase",
        "upgrade apply phase",
    ];
    if PARENTS.contains(&path) {
        if n == 0 {
            print!("{}", usage(&parsed.command));
            return Err(Failure::Exit(1));
        }
        return Err(error::plain(format!(
            "invalid subcommand {:?}\nSee 'kubeadm {path} -h' for help and examples",
            parsed.positionals.join(" ")
        )));
    }
    match parsed.command.validator.as_deref() {
        Some("cobra.NoArgs") if n > 0 => Err(error::plain(format!(
            "unknown command {:?} for \"kubeadm {path}\"",
            parsed.positionals[0]
        ))),
        Some(v) if v.starts_with("cobra.MaximumNArgs(") => {
            let max: usize = v
                .trim_start_matches("cobra.MaximumNArgs(")
                .trim_end_matches(')')
                .parse()
                .unwrap_or(0);
            if n > max {
                Err(error::plain(format!(
                    "accepts at most {max} arg(s), received {n}"
                )))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

type Flags = (Vec<(String, String)>, Vec<String>);

/// pflag's parse of `args` against the command's flags.
fn parse_flags(spec: &CommandSpec, args: &[String]) -> Result<Flags> {
    let mut set = Vec::new();
    let mut positionals = Vec::new();
    let mut i = 0;
    let find_long = |name: &str| spec.flags.iter().find(|f| f.name == name);
    let find_short = |c: char| spec.flags.iter().find(|f| f.shorthand == Some(c));
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            positionals.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(error::plain(format!("bad flag syntax: {a}")));
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let Some(flag) = find_long(name) else {
                return Err(error::plain(format!("unknown flag: --{name}")));
            };
            let value = match inline {
                Some(v) => v,
                None if !flag.takes_value() => "true".into(),
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => return Err(error::plain(format!("flag needs an argument: {a}"))),
            };
            check_value(flag, &value)?;
            set.push((flag.name.clone(), value));
            continue;
        }
        if a.starts_with('-') && a.len() > 1 {
            let shorts: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < shorts.len() {
                let c = shorts[j];
                let Some(flag) = find_short(c) else {
                    return Err(error::plain(format!(
                        "unknown shorthand flag: {c:?} in {a}"
                    )));
                };
                let tail: String = shorts[j + 1..].iter().collect();
                let value = if let Some(v) = tail.strip_prefix('=') {
                    j = shorts.len();
                    v.to_owned()
                } else if !flag.takes_value() {
                    j += 1;
                    "true".into()
                } else if !tail.is_empty() {
                    j = shorts.len();
                    tail
                } else if i < args.len() {
                    j = shorts.len();
                    i += 1;
                    args[i - 1].clone()
                } else {
                    return Err(error::plain(format!(
                        "flag needs an argument: {c:?} in {a}"
                    )));
                };
                check_value(flag, &value)?;
                set.push((flag.name.clone(), value));
            }
            continue;
        }
        positionals.push(a.clone());
    }
    Ok((set, positionals))
}

/// `ValidateMixedArguments`: with `--config`, every other flag set must be in
/// the allow-list or start with `skip-`.
pub fn check_config_mixing(parsed: &Parsed, version: &Version, command_name: &str) -> Result<()> {
    let mixing = &catalog()["config_mixing"];
    let checks = command_name == "token create"
        || mixing["commands_checking"][command_name]
            .as_sequence()
            .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(&version.key())));
    if !checks || !parsed.has("config") {
        return Ok(());
    }
    let allowed: Vec<&str> = mixing["allow_list_by_version"][version.key().as_str()]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let bad: Vec<String> = parsed
        .set_names()
        .into_iter()
        .filter(|n| !allowed.contains(&n.as_str()) && !n.starts_with("skip-"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(error::plain(format!(
            "can not mix '--config' with arguments [{}]",
            bad.join(" ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn run(args: &[&str], version: &str) -> std::result::Result<Parsed, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args, &v(version)) {
            Ok(Outcome::Run(p)) => Ok(p),
            Ok(Outcome::Help) => Err("help".into()),
            Err(Failure::Kubeadm { message, .. }) => Err(message),
            Err(other) => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn commands_and_flags() {
        let p = run(
            &["-v", "5", "init", "--config=/x", "--upload-certs"],
            "v1.31.2",
        )
        .unwrap();
        assert_eq!(p.path(), "init");
        assert_eq!(p.str("config"), Some("/x"));
        assert!(p.bool("upload-certs"));
        assert_eq!(p.str("v"), Some("5"));
        let p = run(&["config", "images", "pull", "--config", "/f"], "v1.26.3").unwrap();
        assert_eq!(p.path(), "config images pull");
        let p = run(&["join", "1.2.3.4:6443", "--token", "a", "-v5"], "v1.26.3").unwrap();
        assert_eq!(p.positionals, ["1.2.3.4:6443"]);
        let p = run(
            &[
                "init",
                "--ignore-preflight-errors=all,Swap",
                "--ignore-preflight-errors",
                "x",
            ],
            "v1.30.5",
        )
        .unwrap();
        assert_eq!(p.list("ignore-preflight-errors"), ["all", "Swap", "x"]);
        let p = run(
            &["init", "phase", "upload-certs", "--upload-certs"],
            "v1.26.3",
        )
        .unwrap();
        assert_eq!(p.path(), "init phase upload-certs");
    }

    #[test]
    fn kubeadms_parse_errors() {
        assert_eq!(
            run(&["init", "--foo"], "v1.31.2").unwrap_err(),
            "unknown flag: --foo"
        );
        assert_eq!(
            run(&["init", "-x"], "v1.31.2").unwrap_err(),
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            run(&["init", "--config"], "v1.31.2").unwrap_err(),
            "flag needs an argument: --config"
        );
        assert_eq!(
            run(&["init", "-v"], "v1.31.2").unwrap_err(),
            "flag needs an argument: 'v' in -v"
        );
        assert_eq!(
            run(&["init", "--apiserver-bind-port=7000x"], "v1.26.3").unwrap_err(),
            "invalid argument \"7000x\" for \"--apiserver-bind-port\" flag: strconv.ParseInt: parsing \"7000x\": invalid syntax"
        );
        assert_eq!(
            run(&["init", "-v=abc"], "v1.26.3").unwrap_err(),
            "invalid argument \"abc\" for \"-v, --v\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            run(&["init", "--dry-run", "false"], "v1.31.2").unwrap_err(),
            "unknown command \"false\" for \"kubeadm init\""
        );
        assert_eq!(
            run(&["join", "a:1", "b:2"], "v1.31.2").unwrap_err(),
            "accepts at most 1 arg(s), received 2"
        );
        assert!(run(&["ini"], "v1.31.2")
            .unwrap_err()
            .contains("Did you mean this?\n\tinit\n"));
        assert_eq!(
            run(&["init", "---dry-run"], "v1.31.2").unwrap_err(),
            "bad flag syntax: ---dry-run"
        );
        assert_eq!(
            run(&["init", "--log-file=/x"], "v1.31.2").unwrap_err(),
            "unknown flag: --log-file"
        );
        assert!(run(&["init", "--log-file=/x"], "v1.30.5").is_ok());
        assert_eq!(
            run(&["reset", "--config", "/x"], "v1.26.3").unwrap_err(),
            "unknown flag: --config"
        );
        assert!(run(&["config", "bogus"], "v1.31.2")
            .unwrap_err()
            .starts_with("invalid subcommand \"bogus\"\nSee 'kubeadm config -h'"));
    }

    #[test]
    fn config_mixing() {
        let check = |args: &[&str], version: &str, name: &str| {
            let p = run(args, version).unwrap();
            match check_config_mixing(&p, &v(version), name) {
                Ok(()) => String::new(),
                Err(Failure::Kubeadm { message, .. }) => message,
                Err(e) => format!("{e:?}"),
            }
        };
        assert_eq!(
            check(
                &[
                    "join",
                    "--config",
                    "/f",
                    "--control-plane",
                    "--certificate-key",
                    "k",
                    "--v=1"
                ],
                "v1.31.2",
                "join"
            ),
            "can not mix '--config' with arguments [certificate-key control-plane]"
        );
        assert_eq!(
            check(
                &[
                    "init",
                    "--config",
                    "/f",
                    "--upload-certs",
                    "--skip-token-print",
                    "-v",
                    "1",
                    "--ignore-preflight-errors=x"
                ],
                "v1.26.3",
                "init"
            ),
            ""
        );
        assert_eq!(
            check(
                &["init", "--config", "/f", "--feature-gates=A=true"],
                "v1.30.5",
                "init"
            ),
            "can not mix '--config' with arguments [feature-gates]"
        );
        assert_eq!(
            check(
                &["init", "--config", "/f", "--feature-gates=A=true"],
                "v1.31.2",
                "init"
            ),
            ""
        );
        assert_eq!(
            check(&["reset", "--config", "/f", "--force"], "v1.31.2", "reset"),
            "can not mix '--config' with arguments [force]"
        );
        assert_eq!(
            check(
                &[
                    "join",
                    "--config",
                    "/f",
                    "--discovery-token-unsafe-skip-ca-verification"
                ],
                "v1.26.3",
                "join"
            ),
            "can not mix '--config' with arguments [discovery-token-unsafe-skip-ca-verification]"
        );
    }

    #[test]
    fn csv() {
        assert_eq!(read_csv("a,\"b,c\",d"), ["a", "b,c", "d"]);
        assert_eq!(read_csv(" a ,b"), [" a ", "b"]);
        assert!(read_csv("").is_empty());
    }
}
