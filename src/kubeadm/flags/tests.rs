//! Behaviour of the whole parser: kubeadm's error texts, pflag's syntax
//! corners, version differences, results and passthrough rendering.
//! (Checks against the shared contract files are in `contract_tests`.)

use std::ffi::OsString;

use super::parse::parse_with_table;
use super::table::{FlagSpec, Kind, Scope, Versions};
use super::*;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn minor(m: u8) -> KubeMinor {
    KubeMinor::new(m).unwrap()
}

fn init(m: u8, args: &[&str]) -> Result<ParsedCommand, FlagError> {
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    parse(Subcommand::Init, minor(m), &os(&all))
}

fn join(m: u8, args: &[&str]) -> Result<ParsedCommand, FlagError> {
    let mut all = vec!["join"];
    all.extend_from_slice(args);
    parse(Subcommand::Join, minor(m), &os(&all))
}

fn err(r: Result<ParsedCommand, FlagError>) -> String {
    match r {
        Ok(p) => panic!("expected an error, parsed {p:?}"),
        Err(e) => e.to_string(),
    }
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---- kubeadm's error texts (NOTES.md "Error reporting") ----

#[test]
fn error_unknown_flag() {
    assert_eq!(err(init(31, &["--foo"])), "unknown flag: --foo");
    assert_eq!(err(init(31, &["--foo=bar"])), "unknown flag: --foo");
    assert_eq!(
        err(init(26, &["--add_dir_header"])),
        "unknown flag: --add_dir_header"
    );
    // join has no --pod-network-cidr.
    assert_eq!(
        err(join(30, &["--pod-network-cidr=10.0.0.0/8"])),
        "unknown flag: --pod-network-cidr"
    );
}

#[test]
fn error_unknown_shorthand() {
    assert_eq!(err(init(32, &["-x"])), "unknown shorthand flag: 'x' in -x");
    // After a bool shorthand, the rest of the group is reported.
    assert_eq!(err(init(32, &["-hx"])), "unknown shorthand flag: 'x' in -x");
    assert_eq!(
        err(init(32, &["-xyz"])),
        "unknown shorthand flag: 'x' in -xyz"
    );
}

#[test]
fn error_needs_argument() {
    assert_eq!(
        err(init(29, &["--config"])),
        "flag needs an argument: --config"
    );
    assert_eq!(err(init(29, &["-v"])), "flag needs an argument: 'v' in -v");
    assert_eq!(err(join(29, &["-hv"])), "flag needs an argument: 'v' in -v");
}

#[test]
fn error_bad_syntax() {
    assert_eq!(
        err(init(30, &["---dry-run"])),
        "bad flag syntax: ---dry-run"
    );
    assert_eq!(err(init(30, &["--=x"])), "bad flag syntax: --=x");
}

#[test]
fn error_invalid_argument() {
    assert_eq!(
        err(init(30, &["--apiserver-bind-port", "7000x"])),
        "invalid argument \"7000x\" for \"--apiserver-bind-port\" flag: strconv.ParseInt: parsing \"7000x\": invalid syntax"
    );
    assert_eq!(
        err(join(30, &["--apiserver-bind-port=4294967296"])),
        "invalid argument \"4294967296\" for \"--apiserver-bind-port\" flag: strconv.ParseInt: parsing \"4294967296\": value out of range"
    );
    assert_eq!(
        err(init(31, &["-v=abc"])),
        "invalid argument \"abc\" for \"-v, --v\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax"
    );
    assert_eq!(
        err(init(31, &["--dry-run=yes"])),
        "invalid argument \"yes\" for \"--dry-run\" flag: strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
    assert_eq!(
        err(init(31, &["--add-dir-header=maybe"])),
        "invalid argument \"maybe\" for \"--add-dir-header\" flag: parse error"
    );
    assert_eq!(
        err(init(32, &["--token-ttl", "1d"])),
        "invalid argument \"1d\" for \"--token-ttl\" flag: time: unknown unit \"d\" in duration \"1d\""
    );
    assert_eq!(
        err(init(32, &["--token-ttl=24"])),
        "invalid argument \"24\" for \"--token-ttl\" flag: time: missing unit in duration \"24\""
    );
    assert_eq!(
        err(join(32, &["--ignore-preflight-errors=a\"b"])),
        "invalid argument \"a\\\"b\" for \"--ignore-preflight-errors\" flag: parse error on line 1, column 2: bare \" in non-quoted field"
    );
    assert_eq!(
        err(init(26, &["--log-file-max-size=-1"])),
        "invalid argument \"-1\" for \"--log-file-max-size\" flag: parse error"
    );
}

#[test]
fn error_positionals() {
    assert_eq!(
        err(init(31, &["--dry-run", "false"])),
        "unknown command \"false\" for \"kubeadm init\""
    );
    assert_eq!(
        err(init(31, &["--", "x"])),
        "unknown command \"x\" for \"kubeadm init\""
    );
    assert_eq!(
        err(join(31, &["10.0.0.1:6443", "extra"])),
        "accepts at most 1 arg(s), received 2"
    );
    assert_eq!(
        err(join(31, &["a", "b", "c"])),
        "accepts at most 1 arg(s), received 3"
    );
}

#[test]
fn error_config_mix() {
    let args = [
        "--config",
        "/root/base.yaml",
        "--token=abcdef.0123456789abcdef",
        "--pod-network-cidr",
        "10.0.0.0/16",
        "--dry-run",
        "--skip-phases=addon/kube-proxy",
        "-v5",
        "--ignore-preflight-errors=Swap",
        "--upload-certs",
        "--node-name=n1",
    ];
    // Sorted as pflag's Visit reports them, not command-line order.
    assert_eq!(
        err(init(30, &args)),
        "can not mix '--config' with arguments [pod-network-cidr token]"
    );
    // --feature-gates is on the allow list only from 1.31.
    assert_eq!(
        err(init(30, &["--feature-gates=A=true", "--config=c"])),
        "can not mix '--config' with arguments [feature-gates]"
    );
    assert!(init(31, &["--feature-gates=A=true", "--config=c"]).is_ok());
    // Root persistent flags count too; skip-* ones are allowed.
    assert_eq!(
        err(join(
            32,
            &[
                "--add-dir-header",
                "--skip-headers",
                "--config",
                "c",
                "--cri-socket=x"
            ]
        )),
        "can not mix '--config' with arguments [add-dir-header cri-socket]"
    );
    // The join endpoint is not a flag; it does not count.
    let p = join(32, &["10.0.0.1:6443", "--config", "c", "--dry-run"]).unwrap();
    assert_eq!(p.config_path(), Some("c"));
    assert_eq!(p.endpoint(), Some("10.0.0.1:6443"));
    // Positional errors come first (cobra validates before kubeadm's RunE).
    assert_eq!(
        err(init(32, &["--config", "c", "--token=t", "stray"])),
        "unknown command \"stray\" for \"kubeadm init\""
    );
}

#[test]
fn kubeadm_message_adds_the_hint() {
    let e = init(30, &["--foo"]).unwrap_err();
    assert_eq!(
        e.kubeadm_message(),
        "unknown flag: --foo\nTo see the stack trace of this error execute with --v=5 or higher"
    );
    assert_eq!(e.exit_code(), 1);
}

// ---- pflag syntax ----

#[test]
fn verbosity_forms() {
    let forms: &[&[&str]] = &[
        &["init", "-v5"],
        &["init", "-v=5"],
        &["init", "-v", "5"],
        &["init", "--v=5"],
        &["init", "--v", "5"],
        &["-v", "5", "init"],
        &["--v", "5", "init"],
        &["-v5", "init"],
        &["--v=5", "init"],
        &["init", "-hv5"],
        &["init", "-v", "1", "-v", "5"],
    ];
    for form in forms {
        let p = parse(Subcommand::Init, minor(32), &os(form)).unwrap();
        assert_eq!(p.verbosity(), 5, "{form:?}");
        assert_eq!(p.int("v"), Some(5));
    }
    assert_eq!(init(32, &[]).unwrap().verbosity(), 0);
    assert_eq!(init(32, &["-v=-1"]).unwrap().verbosity(), -1);
}

#[test]
fn grouped_shorthands() {
    let p = init(30, &["-hv5"]).unwrap();
    assert!(p.help_requested());
    assert_eq!(p.verbosity(), 5);
    let p = init(30, &["-hv=7"]).unwrap();
    assert_eq!(p.verbosity(), 7);
    let p = init(30, &["-h=false"]).unwrap();
    assert!(!p.help_requested());
    assert_eq!(p.bool("help"), Some(false));
}

#[test]
fn bools() {
    for (arg, want) in [
        ("--dry-run", true),
        ("--dry-run=true", true),
        ("--dry-run=1", true),
        ("--dry-run=false", false),
        ("--dry-run=0", false),
        ("--dry-run=F", false),
    ] {
        assert_eq!(
            init(27, &[arg]).unwrap().bool("dry-run"),
            Some(want),
            "{arg}"
        );
    }
    // `--flag false` does not consume `false`: on join it is the endpoint.
    let p = join(27, &["--control-plane", "false"]).unwrap();
    assert_eq!(p.bool("control-plane"), Some(true));
    assert_eq!(p.endpoint(), Some("false"));
    assert_eq!(
        err(init(27, &["--dry-run=", "x"])),
        "invalid argument \"\" for \"--dry-run\" flag: strconv.ParseBool: parsing \"\": invalid syntax"
    );
}

#[test]
fn double_dash_ends_flags() {
    let p = join(28, &["--token", "t", "--", "--dry-run"]).unwrap();
    assert_eq!(p.endpoint(), Some("--dry-run"));
    assert!(!p.is_set("dry-run"));
    assert_eq!(p.str("token"), Some("t"));
    // A value that looks like a flag is taken as the value.
    let p = join(28, &["--token", "--dry-run"]).unwrap();
    assert_eq!(p.str("token"), Some("--dry-run"));
    assert!(!p.is_set("dry-run"));
}

#[test]
fn lone_dash_and_empty_are_arguments() {
    assert_eq!(join(28, &["-"]).unwrap().endpoint(), Some("-"));
    assert_eq!(join(28, &[""]).unwrap().endpoint(), Some(""));
}

#[test]
fn string_slices_csv_and_repeats() {
    let p = join(
        29,
        &[
            "--ignore-preflight-errors=all,Swap",
            "--ignore-preflight-errors",
            "\"a,b\", c",
            "--discovery-token-ca-cert-hash=sha256:aa",
            "--discovery-token-ca-cert-hash=sha256:bb",
        ],
    )
    .unwrap();
    assert_eq!(
        p.list("ignore-preflight-errors"),
        Some(&strs(&["all", "Swap", "a,b", " c"])[..])
    );
    assert_eq!(
        p.list("discovery-token-ca-cert-hash"),
        Some(&strs(&["sha256:aa", "sha256:bb"])[..])
    );
    // An empty value sets an empty list.
    assert_eq!(
        init(29, &["--skip-phases="]).unwrap().list("skip-phases"),
        Some(&[][..])
    );
}

#[test]
fn repeated_scalar_keeps_last_and_first_position() {
    let p = init(
        31,
        &[
            "--node-name=a",
            "--dry-run",
            "--node-name",
            "b",
            "--apiserver-bind-port=1",
        ],
    )
    .unwrap();
    assert_eq!(p.str("node-name"), Some("b"));
    let names: Vec<&str> = p.flags().iter().map(|f| f.name).collect();
    assert_eq!(names, ["node-name", "dry-run", "apiserver-bind-port"]);
}

#[test]
fn ints_are_base_zero_like_pflag() {
    assert_eq!(
        init(31, &["--apiserver-bind-port=0x1A0B"])
            .unwrap()
            .int("apiserver-bind-port"),
        Some(6667)
    );
    assert_eq!(
        init(31, &["--apiserver-bind-port=6_443"])
            .unwrap()
            .int("apiserver-bind-port"),
        Some(6443)
    );
}

#[test]
fn durations_keep_their_text() {
    let p = init(31, &["--token-ttl=1h30m"]).unwrap();
    assert_eq!(p.duration("token-ttl"), Some("1h30m"));
    assert_eq!(
        p.value("token-ttl"),
        Some(&FlagValue::Duration("1h30m".into()))
    );
}

#[test]
fn flags_per_version() {
    for (flag, old, new) in [
        ("--log-file=/tmp/k.log", 30, 31),
        ("--one-output", 26, 31),
        ("--logtostderr=false", 29, 32),
        ("--vmodule=foo=3", 30, 31),
    ] {
        assert!(init(old, &[flag]).is_ok(), "{flag} on 1.{old}");
        let name = flag.split('=').next().unwrap();
        assert_eq!(
            err(init(new, &[flag])),
            format!("unknown flag: {name}"),
            "{flag} on 1.{new}"
        );
    }
    // Hidden in 1.30 but still accepted.
    assert!(join(30, &["--skip-log-headers"]).is_ok());
}

#[test]
fn global_flags_before_the_subcommand() {
    let p = parse(
        Subcommand::Join,
        minor(29),
        &os(&[
            "--rootfs",
            "/srv",
            "-v=2",
            "join",
            "10.0.0.1:6443",
            "--token=t",
        ]),
    )
    .unwrap();
    assert_eq!(p.str("rootfs"), Some("/srv"));
    assert_eq!(p.endpoint(), Some("10.0.0.1:6443"));
    assert_eq!(p.verbosity(), 2);
    // cobra takes the word after an unknown root flag as its value, so the
    // subcommand is not found and the root command rejects the flag...
    assert_eq!(
        err(parse(
            Subcommand::Init,
            minor(29),
            &os(&["--dry-run", "init"])
        )),
        "unknown flag: --dry-run"
    );
    // ...but a subcommand flag with a value before the subcommand works.
    let p = parse(
        Subcommand::Init,
        minor(29),
        &os(&["--node-name", "n1", "init"]),
    )
    .unwrap();
    assert_eq!(p.str("node-name"), Some("n1"));
}

#[test]
fn routing_errors() {
    assert_eq!(
        parse(Subcommand::Init, minor(30), &os(&["-v", "5"])),
        Err(FlagError::MissingSubcommand(Subcommand::Init))
    );
    assert_eq!(
        parse(Subcommand::Init, minor(30), &os(&["reset", "-f"])),
        Err(FlagError::WrongSubcommand {
            expected: Subcommand::Init,
            found: "reset".into()
        })
    );
    assert_eq!(
        init(30, &["phase", "preflight"]),
        Err(FlagError::PhaseSubcommand(Subcommand::Init))
    );
    assert_eq!(
        join(30, &["--config", "c.yaml", "phase", "preflight"]),
        Err(FlagError::PhaseSubcommand(Subcommand::Join))
    );
}

#[test]
fn non_utf8_is_refused() {
    use std::os::unix::ffi::OsStringExt;
    let args = vec![
        OsString::from("init"),
        OsString::from_vec(b"--node-name=\xff".to_vec()),
    ];
    assert!(matches!(
        parse(Subcommand::Init, minor(30), &args),
        Err(FlagError::NotUtf8(_))
    ));
}

#[test]
fn pflag_ignores_test_flags() {
    let p = init(30, &["-test.v"]).unwrap();
    assert!(p.flags().is_empty());
    assert_eq!(p.warnings().len(), 1);
}

#[test]
fn help_skips_argument_checks() {
    let p = init(30, &["--help", "stray"]).unwrap();
    assert!(p.help_requested());
    let p = init(30, &["-h", "--config=c", "--token=t"]).unwrap();
    assert!(p.help_requested());
    // Parse errors still win over help, as in pflag.
    assert_eq!(err(init(30, &["-h", "--nope"])), "unknown flag: --nope");
}

#[test]
fn deprecated_flags_warn_each_time() {
    const TABLE: &[FlagSpec] = &[
        FlagSpec {
            name: "old",
            shorthand: None,
            kind: Kind::Str,
            scope: Scope::INIT,
            versions: Versions(0b1111111),
            hidden: Versions(0b1111111),
            default: "",
            deprecated: Some("use --new instead"),
        },
        FlagSpec {
            name: "new",
            shorthand: None,
            kind: Kind::Str,
            scope: Scope::INIT,
            versions: Versions(0b1111111),
            hidden: Versions(0),
            default: "",
            deprecated: None,
        },
    ];
    let p = parse_with_table(
        TABLE,
        Subcommand::Init,
        minor(30),
        &os(&["init", "--old=a", "--new=b", "--old", "c"]),
    )
    .unwrap();
    assert_eq!(p.str("old"), Some("c"));
    assert_eq!(
        p.warnings(),
        [
            "Flag --old has been deprecated, use --new instead",
            "Flag --old has been deprecated, use --new instead"
        ]
    );
}

// ---- results ----

#[test]
fn passthrough_rendering() {
    let p = init(
        30,
        &[
            "--pod-network-cidr=10.1.0.0/16",
            "--dry-run",
            "-v",
            "3",
            "--ignore-preflight-errors",
            "Swap",
            "--ignore-preflight-errors=NumCPU,\"x,y\"",
            "--skip-phases=addon/kube-proxy",
            "--upload-certs=false",
            "--log-file=/tmp/l",
            "--cri-socket=unix:///x",
            "--token-ttl=2h",
        ],
    )
    .unwrap();
    assert_eq!(
        p.passthrough_args(),
        [
            "--dry-run=true",
            "--v=3",
            "--ignore-preflight-errors=Swap,NumCPU,\"x,y\"",
            "--skip-phases=addon/kube-proxy",
            "--upload-certs=false",
            "--log-file=/tmp/l",
        ]
    );
    assert_eq!(
        p.refused(),
        [(
            "cri-socket",
            "u7s always uses CRI-O at unix:///run/crio/crio.sock inside the rootless namespaces"
        )]
    );
    assert_eq!(
        p.disposition("token-ttl"),
        Some(Disposition::Config(&[
            "InitConfiguration.bootstrapTokens[].ttl"
        ]))
    );
    assert_eq!(
        p.disposition("pod-network-cidr"),
        Some(Disposition::Settings(&[
            "ClusterConfiguration.networking.podSubnet"
        ]))
    );
    // Every set flag is classified.
    assert!(p.classified().iter().all(|(_, d)| d.is_some()));
}

#[test]
fn typical_join() {
    let p = join(
        32,
        &[
            "10.0.0.1:6443",
            "--token",
            "abcdef.0123456789abcdef",
            "--discovery-token-ca-cert-hash",
            "sha256:00ff",
            "--control-plane",
            "--certificate-key",
            "k",
        ],
    )
    .unwrap();
    assert_eq!(p.subcommand(), Subcommand::Join);
    assert_eq!(p.minor(), minor(32));
    assert_eq!(p.endpoint(), Some("10.0.0.1:6443"));
    assert_eq!(p.positionals(), ["10.0.0.1:6443"]);
    assert_eq!(p.str("token"), Some("abcdef.0123456789abcdef"));
    assert_eq!(p.bool("control-plane"), Some(true));
    assert_eq!(p.bool("dry-run"), None);
    assert_eq!(
        p.str("control-plane"),
        None,
        "typed accessors do not cross types"
    );
    assert_eq!(p.config_path(), None);
    assert!(p.passthrough_args().is_empty());
    assert!(p.warnings().is_empty());
    assert!(!p.help_requested());
}
