//! A random-input harness for every parser of text that reaches u7s from
//! outside: the env file, /etc/hosts, /etc/os-release, /proc/net/route,
//! CIDRs, kubeadm's flags and kubeconfigs. For each: no input makes it
//! panic, and every error is one line. Inputs are random bytes or mutations
//! of real examples (bytes flipped, tokens of the format inserted, parts cut,
//! doubled or spliced from another example).
//!
//! CI runs a few thousand inputs per parser. A long run, e.g. a million:
//!
//!     U7S_FUZZ_ITERS=1000000 cargo test --release --test fuzz_parsers -- --nocapture
//!
//! `U7S_FUZZ_SEED=N` replays a run; a failure prints the seed and the input.

mod support;

use std::ffi::OsString;
use std::panic::{catch_unwind, AssertUnwindSafe};

use support::hosttree::{HOSTS_COMMENT, HOSTS_LOCAL, OS_P10, OS_SP};
use u7s::settings::envfile::fixture;

/// xorshift64*: small, fast, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn iterations() -> usize {
    std::env::var("U7S_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn seed() -> u64 {
    std::env::var("U7S_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// Bytes a parser of this format cares about, for mutations.
const COMMON: &[&str] = &[
    "\n",
    "\r\n",
    "\t",
    " ",
    "#",
    "=",
    ":",
    "/",
    ".",
    "'",
    "\"",
    "\\",
    "$(",
    "`",
    "\0",
    "\u{feff}",
    "é",
    "日本",
    "-",
    "--",
    "0",
    "4294967295",
    "18446744073709551616",
    "-1",
    "255",
    "256",
];

/// One input: random bytes, or a seed mutated a few times.
fn input(rng: &mut Rng, seeds: &[&str], tokens: &[&str]) -> String {
    if rng.below(8) == 0 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 => rng.next() as u8,
                _ => b" \n\t=:#./-'\"\\0123456789abcdefxyzU7S_"[rng.below(35)],
            })
            .collect();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let mut text: Vec<u8> = rng.pick(seeds).as_bytes().to_vec();
    for _ in 0..=rng.below(6) {
        let at = rng.below(text.len() + 1);
        match rng.below(7) {
            0 if !text.is_empty() => {
                let i = rng.below(text.len());
                text[i] ^= 1 << rng.below(8);
            }
            1 | 2 => {
                let token = if rng.below(2) == 0 {
                    rng.pick(tokens)
                } else {
                    rng.pick(COMMON)
                };
                text.splice(at..at, token.bytes());
            }
            3 => {
                let end = (at + rng.below(40)).min(text.len());
                text.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(60)).min(text.len());
                let part = text[at..end].to_vec();
                text.splice(at..at, part);
            }
            5 => {
                let other = rng.pick(seeds).as_bytes();
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(80)).min(other.len());
                text.splice(at..at, other[from..end].iter().copied());
            }
            _ => text.truncate(at),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Runs `parse` on `iterations()` inputs; `parse` returns the error text of
/// a refused input (or None). Fails on a panic or a multi-line error.
fn fuzz(name: &str, seeds: &[&str], tokens: &[&str], parse: impl Fn(&str) -> Option<String>) {
    fuzz_with(name, seeds, tokens, true, parse)
}

/// `fuzz`; with `seeds_valid`, every seed must be accepted first (so the
/// mutations start from inputs that reach the parser's accepting paths).
fn fuzz_with(
    name: &str,
    seeds: &[&str],
    tokens: &[&str],
    seeds_valid: bool,
    parse: impl Fn(&str) -> Option<String>,
) {
    if seeds_valid {
        for s in seeds {
            assert_eq!(parse(s), None, "{name}: the seed {s:?} is refused");
        }
    }
    let seed = seed();
    let mut rng = Rng(seed);
    let (mut refused, n) = (0, iterations());
    for _ in 0..n {
        let text = input(&mut rng, seeds, tokens);
        match catch_unwind(AssertUnwindSafe(|| parse(&text))) {
            Err(_) => panic!("{name}: panicked (U7S_FUZZ_SEED={seed}) on {text:?}"),
            Ok(Some(err)) => {
                refused += 1;
                assert!(
                    !err.contains('\n') && !err.is_empty(),
                    "{name}: error is not one line (U7S_FUZZ_SEED={seed}) for {text:?}: {err:?}"
                );
            }
            Ok(None) => {}
        }
    }
    eprintln!("{name}: {n} inputs, {refused} refused, seed {seed}");
}

fn one_line<T>(r: anyhow::Result<T>) -> Option<String> {
    r.err().map(|e| format!("{e:#}"))
}

#[test]
fn env_file() {
    let tokens = [
        "U7S_TOKEN=",
        "U7S_KUBEVERSION='v1.30.5'",
        "U7S_SERVICECIDR=",
        "10.96.0.0/12",
        "export ",
        "U7S_UID='",
        "U7S_APISERVER_BIND_PORT='",
        "'\\''",
        "U7S_X=1\n",
    ];
    let seeds = [
        fixture::text("initMaster"),
        fixture::text_with(&[
            ("U7S_TOKEN", "abcdef.0123456789abcdef"),
            ("U7S_CONTROLPLANE", ""),
        ]),
    ];
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    fuzz("env file", &seeds, &tokens, |t| {
        one_line(u7s::settings::EnvFile::parse(t))
    });
}

#[test]
fn hosts_and_os_release() {
    let tokens = [
        "registry.local",
        "# ",
        "::1",
        "127.0.0.1",
        "CPE_NAME=",
        "spserver",
        "ALT_BRANCH_ID=",
    ];
    fuzz("hosts", &[HOSTS_LOCAL, HOSTS_COMMENT], &tokens, |t| {
        let entries = u7s::settings::host::parse_hosts(t);
        // A name that appears only after a `#` is never a host entry.
        if !t
            .lines()
            .any(|l| l.split('#').next().unwrap_or("").contains("registry.local"))
        {
            let mapped = format!("{entries:?}").contains("\"registry.local\"");
            assert!(!mapped, "registry.local mapped from a comment: {t:?}");
        }
        None
    });
    fuzz("os-release", &[OS_P10, OS_SP], &tokens, |t| {
        let _ = u7s::settings::host::parse_os_release(t);
        None
    });
}

#[test]
fn proc_net_route() {
    let route =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t01000A0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t00000A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    let tokens = [
        "eth0",
        "00000000",
        "FFFFFFFF",
        "0003",
        "\t",
        "zz",
        "1234567890ABCDEF",
    ];
    fuzz("route", &[route], &tokens, |t| {
        one_line(u7s::settings::host::parse_route(t))
    });
}

#[test]
fn cidrs() {
    let seeds = [
        "10.96.0.0/12",
        "192.168.0.0/16",
        "10.244.0.0/16",
        "0.0.0.0/0",
        "1.2.3.4/32",
    ];
    let tokens = ["/", "33", "/0", "999", ".", "::", "0x10"];
    fuzz("cidr", &seeds, &tokens, |t| {
        one_line(t.parse::<u7s::settings::Cidr>())
    });
}

#[test]
fn kubeadm_flags() {
    use u7s::kubeadm::flags::{parse, KubeMinor, Subcommand};
    let seeds = [
        "join 10.10.0.9:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00 --control-plane --certificate-key 00",
        "init --pod-network-cidr=10.244.0.0/16 --service-cidr 10.96.0.0/12 -v=5 --ignore-preflight-errors=Port,Swap",
        "init --config /x.yaml --dry-run --apiserver-bind-port 7443 --upload-certs=false",
    ];
    let tokens = [
        " --",
        " -",
        " --token",
        " --config",
        " -v",
        " --v=9",
        "=",
        " --dry-run=maybe",
        " --cri-socket",
        " --feature-gates=a=b,c",
        " x:y",
        " --apiserver-bind-port=65536",
        " --token-ttl=1h2m",
    ];
    let minors: Vec<KubeMinor> = KubeMinor::all().collect();
    let rng = std::cell::RefCell::new(Rng(seed() ^ 0x5555));
    let accepted = std::cell::Cell::new(0);
    // The subcommand is sometimes the other one on purpose: seeds may fail.
    fuzz_with("kubeadm flags", &seeds, &tokens, false, |t| {
        let mut r = rng.borrow_mut();
        // The subcommand the line names (mostly), as the router would pick it.
        let sub = match (t.contains("join"), r.below(8)) {
            (_, 0) => Subcommand::Init,
            (_, 1) => Subcommand::Join,
            (true, _) => Subcommand::Join,
            (false, _) => Subcommand::Init,
        };
        let minor = *r.pick(&minors);
        let args: Vec<OsString> = t.split(' ').map(OsString::from).collect();
        let result = parse(sub, minor, &args);
        if result.is_ok() {
            accepted.set(accepted.get() + 1);
        }
        result.err().map(|e| e.to_string())
    });
    // Most mutations break a command line, but not all: the harness reaches
    // the parser's accepting paths too.
    assert!(accepted.get() > 0, "no command line was accepted");
}

#[test]
fn kubeconfigs() {
    let admin = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTg==\n    server: https://10.10.0.5:6443\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n";
    let flow = "{apiVersion: v1, kind: Config, clusters: [{name: a, cluster: {server: 'https://h:1'}}], users: [{name: u, user: {}}], contexts: [{name: c, context: {cluster: a, user: u}}]}";
    let tokens = [
        "<<: ",
        "exec: {command: /x}",
        "tokenFile: /etc/shadow",
        "&a ",
        "*a",
        "!!binary ",
        "!x ",
        "\n  ",
        "\n- ",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "? ",
        "---\n",
        "auth-provider:",
        "token: t",
    ];
    fuzz(
        "kubeconfig",
        &[admin, flow],
        &tokens,
        |t| match u7s::kubeconfig::rebuild(t) {
            Err(e) => Some(e.to_string()),
            Ok(out) => {
                // What passes is re-emitted from the whitelist: stable, and
                // with nothing that runs, reads or hides anything.
                assert_eq!(u7s::kubeconfig::rebuild(&out).as_ref(), Ok(&out), "{t:?}");
                for bad in ["exec", "tokenFile", "auth-provider", "<<", "!"] {
                    let keys = out.lines().map(|l| l.split(':').next().unwrap_or(""));
                    assert!(
                        !keys.clone().any(|k| k.contains(bad)),
                        "{bad} in {out:?} from {t:?}"
                    );
                }
                None
            }
        },
    );
}
