//! The admin's language: the same failure in `LANG=ru_RU.UTF-8` and `LANG=C`
//! gives the Russian and the English line, with the same exit status and the
//! same stdout. The locale is read as POSIX says: LC_ALL, then LC_MESSAGES,
//! then LANG.

mod support;

use std::process::Output;

use support::hosttree::*;
use support::{run, text, u7s_command, LOCALE_VARS};

/// `u7s ARGS` with exactly the locale variables in `locale` and `env` on top of
/// a u7s-clean environment.
fn u7s(
    locale: &[(&str, &str)],
    env: &[(&str, &dyn AsRef<std::ffi::OsStr>)],
    args: &[&str],
) -> Output {
    let mut cmd = u7s_command(args);
    for var in LOCALE_VARS {
        cmd.env_remove(var);
    }
    // Messages on stderr even when the tests run under systemd.
    cmd.env_remove("JOURNAL_STREAM");
    for (k, v) in locale {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v.as_ref());
    }
    run(&mut cmd)
}

const RU: &[(&str, &str)] = &[("LANG", "ru_RU.UTF-8")];
const C: &[(&str, &str)] = &[("LANG", "C")];

fn has_cyrillic(s: &str) -> bool {
    s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// The stderr of a failure: exactly one line.
fn one_line(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "not one line:\n{err}");
    err
}

fn empty_state_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("u7s-locale-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn nsenter_not_ready(locale: &[(&str, &str)], dir: &std::path::Path) -> Output {
    u7s(
        locale,
        &[
            ("U7S_ADMIN_USER", &"root"),
            ("U7S_ROOTLESSKIT_STATE_DIR", &dir),
            ("U7S_NSENTER_RETRIES", &"1"),
        ],
        &["nsenter_u7s", "true"],
    )
}

#[test]
fn rootlesskit_not_ready_is_said_in_russian_and_in_english() {
    let dir = empty_state_dir("nsenter");
    let ru = nsenter_not_ready(RU, &dir);
    let en = nsenter_not_ready(C, &dir);
    assert_eq!(ru.status.code(), Some(1));
    assert_eq!(en.status.code(), Some(1));
    assert!(ru.stdout.is_empty() && en.stdout.is_empty());
    let (ru, en) = (one_line(&ru), one_line(&en));
    let shown = dir.display().to_string();
    assert!(
        ru.starts_with(
            "nsenter_u7s: error: rootlesskit пользователя root не запущен или не готов в "
        ),
        "{ru}"
    );
    assert!(
        ru.contains(&shown) && ru.contains("`systemctl start u7s.service`"),
        "{ru}"
    );
    assert!(
        en.starts_with("nsenter_u7s: error: rootlesskit of root is not running or not ready in "),
        "{en}"
    );
    assert!(
        en.contains(&shown) && en.contains("`systemctl start u7s.service`"),
        "{en}"
    );
    assert!(!has_cyrillic(&en), "{en}");
}

#[test]
fn lc_all_beats_lc_messages_beats_lang() {
    let dir = empty_state_dir("precedence");
    let english = [("LC_ALL", "C"), ("LANG", "ru_RU.UTF-8")];
    let russian = [("LC_MESSAGES", "ru_RU.UTF-8"), ("LANG", "C")];
    let empty_all = [("LC_ALL", ""), ("LANG", "ru_RU.UTF-8")];
    assert!(!has_cyrillic(&one_line(&nsenter_not_ready(&english, &dir))));
    assert!(has_cyrillic(&one_line(&nsenter_not_ready(&russian, &dir))));
    assert!(has_cyrillic(&one_line(&nsenter_not_ready(
        &empty_all, &dir
    ))));
}

#[test]
fn a_network_overlap_in_a_dry_run_is_said_in_both_languages() {
    let tree = HostTree::new("locale-overlap", OS_P10, HOSTS_PLAIN);
    let root = tree.root.clone();
    let env: [(&str, &dyn AsRef<std::ffi::OsStr>); 4] = [
        ("U7S_ROOT", &root),
        ("U7S_KUBEVERSION", &"v1.30.5"),
        ("U7S_KUBEADM", &"/nonexistent/kubeadm"),
        ("U7S_SYSTEMCTL", &"/nonexistent/systemctl"),
    ];
    let args = [
        "kubeadm",
        "init",
        "--dry-run",
        "--pod-network-cidr",
        "10.10.0.0/16",
    ];
    let ru = u7s(RU, &env, &args);
    let en = u7s(C, &env, &args);
    assert_eq!(ru.status.code(), Some(1), "{}", text(&ru.stderr));
    assert_eq!(en.status.code(), Some(1), "{}", text(&en.stderr));
    assert!(ru.stdout.is_empty() && en.stdout.is_empty());
    let (ru, en) = (one_line(&ru), one_line(&en));
    assert!(ru.starts_with("kubeadm: error: "), "{ru}");
    assert!(
        ru.contains("--pod-network-cidr 10.10.0.0/16 пересекается с 10.10.0.5/24 на eth0; выберите другую сеть"),
        "{ru}"
    );
    assert!(
        en.contains(
            "--pod-network-cidr 10.10.0.0/16 overlaps 10.10.0.5/24 on eth0; choose another network"
        ),
        "{en}"
    );
}

#[test]
fn the_dry_run_listing_on_stdout_is_the_same_in_every_language() {
    let tree = HostTree::new("locale-listing", OS_P10, HOSTS_PLAIN);
    let root = tree.root.clone();
    let env: [(&str, &dyn AsRef<std::ffi::OsStr>); 4] = [
        ("U7S_ROOT", &root),
        ("U7S_KUBEVERSION", &"v1.30.5"),
        ("U7S_KUBEADM", &"/nonexistent/kubeadm"),
        ("U7S_SYSTEMCTL", &"/nonexistent/systemctl"),
    ];
    let args = ["kubeadm", "init", "--dry-run"];
    let ru = u7s(RU, &env, &args);
    let en = u7s(C, &env, &args);
    assert_eq!(ru.status.code(), Some(0), "{}", text(&ru.stderr));
    assert_eq!(en.status.code(), Some(0), "{}", text(&en.stderr));
    assert!(text(&en.stdout).contains("] Checking the host\n"));
    assert_eq!(
        text(&ru.stdout),
        text(&en.stdout),
        "stdout depends on the locale"
    );
}

#[test]
fn a_bad_haproxy_master_is_said_in_both_languages() {
    let args = ["haproxy-config", "--master", "h:99999"];
    let ru = u7s(RU, &[], &args);
    let en = u7s(C, &[], &args);
    assert_eq!(ru.status.code(), Some(2));
    assert_eq!(en.status.code(), Some(2));
    assert!(ru.stdout.is_empty() && en.stdout.is_empty());
    assert_eq!(
        one_line(&ru),
        "haproxy-config: error: --master \"h:99999\": порт должен быть числом от 1 до 65535; укажите HOST или HOST:PORT, например 10.0.0.11:6443\n"
    );
    assert_eq!(
        one_line(&en),
        "haproxy-config: error: --master \"h:99999\": the port must be a number from 1 to 65535; give HOST or HOST:PORT, e.g. 10.0.0.11:6443\n"
    );
}

#[test]
fn progress_titles_and_preflight_failures_follow_the_locale() {
    if !support::is_root() {
        eprintln!("SKIPPED: a real kubeadm init reaches its preflight only as root");
        return;
    }
    // A real run against a host tree without /dev/net/tun: the preflight
    // fails, so nothing beyond the checks runs and nothing is written.
    let tree = HostTree::new("locale-preflight", OS_P10, HOSTS_PLAIN);
    let before = tree.snapshot();
    let root = tree.root.clone();
    let env: [(&str, &dyn AsRef<std::ffi::OsStr>); 5] = [
        ("U7S_ROOT", &root),
        ("U7S_KUBEVERSION", &"v1.30.5"),
        ("U7S_KUBEADM", &"/nonexistent/kubeadm"),
        ("U7S_KUBECTL", &"/nonexistent/kubectl"),
        ("U7S_SYSTEMCTL", &"/nonexistent/systemctl"),
    ];
    let ru = u7s(RU, &env, &["kubeadm", "init"]);
    let en = u7s(C, &env, &["kubeadm", "init"]);
    assert_eq!(
        tree.snapshot(),
        before,
        "the failed preflight changed the tree"
    );
    assert_eq!(ru.status.code(), Some(1));
    assert_eq!(en.status.code(), Some(1));
    assert!(ru.stdout.is_empty() && en.stdout.is_empty());
    let (ru, en) = (text(&ru.stderr), text(&en.stderr));
    let ru_lines: Vec<&str> = ru.lines().collect();
    let en_lines: Vec<&str> = en.lines().collect();
    assert_eq!(ru_lines.len(), en_lines.len(), "{ru}\n{en}");
    assert!(ru_lines[0].ends_with("] Проверка хоста"), "{ru}");
    assert!(en_lines[0].ends_with("] Checking the host"), "{en}");
    // kubeadm's format, the check name untranslated, the text in the language.
    assert!(
        ru.contains("\n[ERROR DevNetTun]: /dev/net/tun отсутствует; выполните: modprobe tun\n"),
        "{ru}"
    );
    assert!(
        en.contains("\n[ERROR DevNetTun]: /dev/net/tun is missing; run: modprobe tun\n"),
        "{en}"
    );
    // ALT's package of the chosen minor (U7S_KUBEVERSION v1.30.5).
    assert!(
        en.contains("[ERROR FileExisting-kubeadm]: kubeadm is not installed at /nonexistent/kubeadm; install it (apt-get install kubernetes1.30-kubeadm)"),
        "{en}"
    );
    let last_ru = ru_lines.last().unwrap();
    let last_en = en_lines.last().unwrap();
    assert!(
        last_ru.contains("] Проверка хоста: ошибка: не пройдено проверок: "),
        "{ru}"
    );
    assert!(
        last_en.contains("] Checking the host failed: ") && last_en.contains(" check(s) failed; "),
        "{en}"
    );
    assert!(en_lines.iter().all(|l| !has_cyrillic(l)), "{en}");
}
