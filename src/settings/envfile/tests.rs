use super::parse::parse_line;
use super::*;
use crate::settings::derive::tests::{env, host, CERT_KEY, HASH, TOKEN};
use crate::settings::derive::SettingsInput;
use crate::settings::registry::EnvInputs;
use std::os::unix::fs::PermissionsExt;

fn sample() -> EnvFile {
    let mut i = SettingsInput::new(Role::ControlPlaneJoin, 989);
    i.join_endpoint = Some("192.0.2.10:6443".into());
    i.token = Some(TOKEN.into());
    i.ca_cert_hashes = vec![HASH.into()];
    i.certificate_key = Some(CERT_KEY.into());
    i.kubeadm_flags = vec![
        "-v".into(),
        "5".into(),
        "--ignore-preflight-errors=all".into(),
    ];
    i.service_cidr = Some("172.20.16.0/20".into());
    i.kubeadm_images = Some(
        "registry.local/k8s-p10/kube-apiserver:v1.26.3\nregistry.local/k8s-p10/pause:3.9\n".into(),
    );
    let e = EnvInputs {
        flannel_tag: Some("v0.25.1".into()),
        ..env()
    };
    EnvFile::from_settings(&Settings::derive(&i, &e, &host()).unwrap())
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("u7s-env-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn renders_reference_variables() {
    let text = sample().render(true).unwrap();
    for line in [
        "U7S_KUBEVERSION='v1.26.3'",
        "U7S_KUBEADMFLAGS='-v 5 --ignore-preflight-errors=all'",
        "U7S_PLATFORM='k8s-p10'",
        "U7S_REGISTRY='registry.local'",
        "U7S_REGISTRY_PLATFORM='registry.local/k8s-p10'",
        "U7S_FLANNEL_REGISTRY='registry.local'",
        "U7S_FLANNEL_TAG='v0.25.1'",
        "U7S_IMAGES='k8s-p10/kube-apiserver:v1.26.3 k8s-p10/pause:3.9'",
        "U7S_PAUSE_IMAGE='k8s-p10/pause:3.9'",
        "U7S_UID='989'",
        "U7S_EXTIP='192.0.2.2'",
        "U7S_APISERVER_ADVERTISE_ADDRESS='192.0.2.2'",
        "U7S_APISERVER_BIND_PORT='6443'",
        "U7S_EXTDEV='eth0'",
        "U7S_CONTROLPLANE='master'",
        "U7S_APISERVERENDPOINT='192.0.2.10:6443'",
        &format!("U7S_TOKEN='{TOKEN}'"),
        &format!("U7S_CACERTHASH='{HASH}'"),
        &format!("U7S_CERIFICATEKEY='{CERT_KEY}'"),
        "U7S_SERVICECIDR='172.20.16.0/20'",
        "U7S_SERVICECIDRIP='172.20.16.0'",
        "U7S_SERVICEMASK='20'",
        "U7S_PODNETWORKCIDR='10.244.0.0/16'",
        "U7S_PODNETWORKCIDRIP='10.244.0.0'",
        "U7S_PODNETWORKMASK='16'",
        "U7S_CNI_PLUGIN='flannel'",
        "U7S_ROOTLESSKIT_FLAGS='--cidr=172.20.16.0/20'",
        "U7S_KUBERNETESCLUSTERIP='172.20.16.1'",
        "U7S_KUBERNETESCLUSTERDNS='172.20.16.10'",
        "U7S_SLIRP4IP='172.20.16.100'",
        "_CONTAINERS_ROOTLESS_UID='989'",
        "_CONTAINERS_USERNS_CONFIGURED='1'",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[test]
fn secrets_hidden_unless_asked() {
    let text = sample().render(false).unwrap();
    for s in [TOKEN, HASH, CERT_KEY] {
        assert!(!text.contains(s), "secret leaked:\n{text}");
    }
    assert!(text.contains("U7S_TOKEN='<hidden>'"));
    assert!(text.contains("U7S_CACERTHASH='<hidden>'"));
    assert!(text.contains("U7S_CERIFICATEKEY='<hidden>'"));
    // a hidden rendering is not a valid file
    assert!(EnvFile::parse(&text).is_err());
    // absent secrets stay empty, not "<hidden>"
    let mut f = sample();
    f.token = None;
    assert!(f.render(false).unwrap().contains("U7S_TOKEN=''\n"));
}

#[test]
fn without_secrets_keeps_everything_else_and_still_parses() {
    let f = sample();
    assert!(f.has_secrets());
    let g = f.without_secrets();
    assert!(!g.has_secrets());
    let text = g.render(true).unwrap();
    for s in [TOKEN, HASH, CERT_KEY] {
        assert!(!text.contains(s), "secret kept:\n{text}");
    }
    assert!(text.contains("U7S_TOKEN=''\n"), "{text}");
    let back = EnvFile::parse(&text).unwrap();
    assert_eq!(back, g);
    assert_eq!(
        EnvFile {
            token: f.token.clone(),
            ca_cert_hashes: f.ca_cert_hashes.clone(),
            certificate_key: f.certificate_key.clone(),
            ..back
        },
        f
    );
}

#[test]
fn round_trip() {
    let f = sample();
    assert_eq!(EnvFile::parse(&f.render(true).unwrap()).unwrap(), f);
    let mut g = f.clone();
    g.token = None;
    g.ca_cert_hashes = vec![HASH.into(), HASH.replace("sha256:6", "sha256:7")];
    g.certificate_key = None;
    g.flannel_tag = None;
    g.images = vec![];
    g.kubeadm_flags = vec![];
    g.control_plane = Role::Worker;
    g.extra = vec![
        ("PATH".into(), "/usr/libexec/podsec/u7s/bin:/bin".into()),
        (
            "U7S_ODD".into(),
            "it's \"quoted\" $HOME `x` \\ ; # end".into(),
        ),
        ("U7S_EMPTY".into(), String::new()),
    ];
    let text = g.render(true).unwrap();
    assert_eq!(EnvFile::parse(&text).unwrap(), g);
}

#[test]
fn quoting() {
    assert_eq!(quote(""), "''");
    assert_eq!(quote("a b"), "'a b'");
    assert_eq!(quote("it's"), "'it'\\''s'");
    let (k, v, col) = parse_line(&format!("K={}", quote("a'b'c")))
        .unwrap()
        .unwrap();
    assert_eq!((k.as_str(), v.as_str(), col), ("K", "a'b'c", 3));
    assert_eq!(parse_line("K=bare").unwrap().unwrap().1, "bare");
    assert_eq!(parse_line("K=a\\ b").unwrap().unwrap().1, "a b");
    assert_eq!(parse_line("K='x'  ").unwrap().unwrap().1, "x");
    assert_eq!(parse_line("  # comment").unwrap(), None);
    assert_eq!(parse_line("; comment").unwrap(), None);
    assert_eq!(parse_line("").unwrap(), None);
}

#[test]
fn syntax_errors_are_positioned() {
    let cases = [
        ("K='abc", "env file:1:3: unterminated single quote"),
        ("K=a b", "env file:1:4: unquoted white space"),
        ("K=\"x\"", "env file:1:3: \" outside single quotes"),
        ("K=$HOME", "env file:1:3: $ outside single quotes"),
        ("export K=1", "env file:1:7: expected = after export"),
        ("=1", "env file:1:1: expected KEY=value"),
        ("K x", "env file:1:2: expected = after K"),
    ];
    for (text, want) in cases {
        let e = EnvFile::parse(text).unwrap_err().to_string();
        assert!(e.starts_with(want), "{text:?}: {e}");
        assert!(!e.contains('\n'));
    }
    let text = "# head\n\nU7S_UID='1'\nU7S_UID='2'\n";
    let e = EnvFile::parse(text).unwrap_err().to_string();
    assert_eq!(e, "env file:4:1: U7S_UID is set twice");
}

fn replace_line(text: &str, key: &str, value: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) {
                format!("{key}={}", quote(value))
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn values_are_validated_on_read() {
    let good = sample().render(true).unwrap();
    let cases = [
        (
            "U7S_APISERVER_ADVERTISE_ADDRESS",
            "192.0.2.300",
            "is not an IPv4 address",
        ),
        ("U7S_APISERVER_BIND_PORT", "70000", "is not a port"),
        ("U7S_APISERVER_BIND_PORT", "0", "is not a port"),
        ("U7S_SERVICECIDR", "10.96.0.0/33", "not a CIDR"),
        ("U7S_PODNETWORKCIDR", "10.244.0.1/16", "host bits"),
        ("U7S_KUBEVERSION", "v1.25.0", "not supported"),
        ("U7S_UID", "-1", "not a uid"),
        ("U7S_EXTDEV", "eth0; reboot", "interface name"),
        ("U7S_CONTROLPLANE", "boss", "initMaster"),
        ("U7S_TOKEN", "nope", "bootstrap token"),
        ("U7S_CNI_PLUGIN", "weave", "flannel or calico"),
        (
            "U7S_REGISTRY_PLATFORM",
            "evil.example.com/x",
            "is not U7S_REGISTRY/U7S_PLATFORM",
        ),
        (
            "U7S_SLIRP4IP",
            "10.0.0.100",
            "the other values make it \"172.20.16.100\"",
        ),
        (
            "U7S_ROOTLESSKIT_FLAGS",
            "--cidr=10.96.0.0/12 --net=host",
            "U7S_ROOTLESSKIT_FLAGS is",
        ),
        (
            "_CONTAINERS_ROOTLESS_UID",
            "0",
            "_CONTAINERS_ROOTLESS_UID is",
        ),
    ];
    for (key, value, want) in cases {
        let text = replace_line(&good, key, value);
        let e = EnvFile::parse_named(&text, "/etc/podsec/u7s/config/env")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/podsec/u7s/config/env:"), "{e}");
        assert!(e.contains(key) && e.contains(want), "{key}={value}: {e}");
    }
    // the position points at the value
    let text = replace_line(&good, "U7S_APISERVER_BIND_PORT", "x");
    let line = text
        .lines()
        .position(|l| l.starts_with("U7S_APISERVER_BIND_PORT"))
        .unwrap()
        + 1;
    let e = EnvFile::parse(&text).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("env file:{line}:25: U7S_APISERVER_BIND_PORT")),
        "{e}"
    );
    // missing keys are named
    let text: String = good
        .lines()
        .filter(|l| !l.starts_with("U7S_EXTDEV="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        EnvFile::parse(&text).unwrap_err().to_string(),
        "env file: U7S_EXTDEV is missing"
    );
    // derived keys may be absent
    let text: String = good
        .lines()
        .filter(|l| !l.starts_with("U7S_SLIRP4IP="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(EnvFile::parse(&text).unwrap(), sample());
}

#[test]
fn unknown_keys_are_kept() {
    let text = format!(
        "{}U7S_SKIP_PHASES='addon/kube-proxy'\n",
        sample().render(true).unwrap()
    );
    let f = EnvFile::parse(&text).unwrap();
    assert_eq!(
        f.extra,
        [("U7S_SKIP_PHASES".to_owned(), "addon/kube-proxy".to_owned())]
    );
}

#[test]
fn write_is_atomic_and_private() {
    let d = tmpdir("write");
    let p = d.join("env");
    std::fs::write(&p, "old").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let f = sample();
    f.write(&p).unwrap();
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(EnvFile::read(&p).unwrap(), f);
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("env")], "no temp file left");
    // a failed write leaves the old file and no temp file
    let e = write_atomic(&d.join("nodir/env"), b"x", 0o600)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nodir"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn read_names_the_file() {
    let d = tmpdir("read");
    let p = d.join("env");
    let e = EnvFile::read(&p).unwrap_err().to_string();
    assert!(e.contains(&p.display().to_string()), "{e}");
    std::fs::write(&p, "U7S_UID='x\n").unwrap();
    let e = EnvFile::read(&p).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:1:9: unterminated", p.display())),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}
