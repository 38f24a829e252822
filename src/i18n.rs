//! Messages in the admin's language: Russian when the locale says so, English
//! otherwise.
//!
//! The locale is read the POSIX way: the first non-empty of `LC_ALL`,
//! `LC_MESSAGES`, `LANG`; a value starting with `ru` means Russian. Every
//! user-facing message of u7s lives in [`catalog::CATALOG`] under an id, with
//! `{}` placeholders filled in order by [`tr!`]. Not translated: the wrapped
//! tools' output, kubeadm's own flag-parse errors, the dry run's stdout (so the
//! plan listing stays English), and `--help` texts.

use std::fmt::Display;
use std::sync::OnceLock;

mod catalog;

pub use catalog::CATALOG;

/// The language of u7s's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

/// One message: its id, the English text and the Russian text.
#[derive(Debug)]
pub struct Entry {
    pub id: &'static str,
    pub en: &'static str,
    pub ru: &'static str,
}

/// The language from the three locale variables, in POSIX precedence; empty
/// values are skipped as if unset.
pub fn lang_from(lc_all: Option<&str>, lc_messages: Option<&str>, lang: Option<&str>) -> Lang {
    let chosen = [lc_all, lc_messages, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty());
    match chosen {
        Some(v) if v.starts_with("ru") => Lang::Ru,
        _ => Lang::En,
    }
}

/// The language of this process (read once from its environment).
pub fn current() -> Lang {
    // Unit tests assert English texts whatever the machine's locale.
    if cfg!(test) {
        return Lang::En;
    }
    static CURRENT: OnceLock<Lang> = OnceLock::new();
    *CURRENT.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok();
        lang_from(
            var("LC_ALL").as_deref(),
            var("LC_MESSAGES").as_deref(),
            var("LANG").as_deref(),
        )
    })
}

/// The catalog entry of `id`, if there is one.
pub fn entry(id: &str) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.id == id)
}

/// The text of `id` in `lang`, with its `{}` placeholders filled from `args` in
/// order. Never panics: an unknown id renders as the id itself, a missing
/// argument leaves its `{}` in place, extra arguments are dropped.
pub fn render(lang: Lang, id: &str, args: &[&dyn Display]) -> String {
    let Some(e) = entry(id) else {
        return id.to_owned();
    };
    let template = match lang {
        Lang::En => e.en,
        Lang::Ru => e.ru,
    };
    let mut out = String::with_capacity(template.len() + 16);
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        match args.next() {
            Some(a) => out.push_str(&a.to_string()),
            None => out.push_str("{}"),
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// `tr!("id", args...)`: the message `id` in the process's language, as a String.
#[macro_export]
macro_rules! tr {
    ($id:literal $(, $arg:expr)* $(,)?) => {
        $crate::i18n::render(
            $crate::i18n::current(),
            $id,
            &[$(&$arg as &dyn ::std::fmt::Display),*],
        )
    };
}

/// `tr_in!(lang, "id", args...)`: the message `id` in a given language.
#[macro_export]
macro_rules! tr_in {
    ($lang:expr, $id:literal $(, $arg:expr)* $(,)?) => {
        $crate::i18n::render($lang, $id, &[$(&$arg as &dyn ::std::fmt::Display),*])
    };
}

/// `tr_id!("id")`: a message id kept for later rendering (e.g. a step title that
/// the dry run prints in English and the real run in the admin's language).
#[macro_export]
macro_rules! tr_id {
    ($id:literal) => {
        $id
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::Path;

    #[test]
    fn lc_all_wins_over_everything() {
        assert_eq!(lang_from(Some("C"), None, Some("ru_RU.UTF-8")), Lang::En);
        assert_eq!(
            lang_from(Some("ru_RU.UTF-8"), Some("C"), Some("en_US.UTF-8")),
            Lang::Ru
        );
    }

    #[test]
    fn lc_messages_wins_over_lang() {
        assert_eq!(lang_from(None, Some("ru_RU.UTF-8"), Some("C")), Lang::Ru);
        assert_eq!(
            lang_from(None, Some("en_US.UTF-8"), Some("ru_RU")),
            Lang::En
        );
    }

    #[test]
    fn empty_values_are_skipped() {
        assert_eq!(lang_from(Some(""), Some(""), Some("ru_RU.UTF-8")), Lang::Ru);
        assert_eq!(lang_from(Some(""), None, Some("C.UTF-8")), Lang::En);
        assert_eq!(lang_from(None, None, None), Lang::En);
        assert_eq!(lang_from(Some(""), Some(""), Some("")), Lang::En);
    }

    #[test]
    fn ru_prefix_means_russian() {
        assert_eq!(lang_from(None, None, Some("ru")), Lang::Ru);
        assert_eq!(lang_from(None, None, Some("ru_UA.KOI8-U")), Lang::Ru);
        assert_eq!(lang_from(None, None, Some("POSIX")), Lang::En);
        assert_eq!(lang_from(None, None, Some("de_DE.UTF-8")), Lang::En);
    }

    #[test]
    fn render_fills_placeholders_in_order_and_never_panics() {
        let id = CATALOG[0].id;
        let _ = render(Lang::Ru, id, &[&1, &"x", &2.5, &"y", &"z"]);
        let _ = render(Lang::En, id, &[]);
        assert_eq!(render(Lang::Ru, "no-such-id", &[&1]), "no-such-id");
        assert_eq!(
            tr_in!(Lang::En, "cannot-read", "/etc/x"),
            "cannot read /etc/x"
        );
        assert_eq!(
            tr_in!(Lang::Ru, "cannot-read", "/etc/x"),
            "не удалось прочитать /etc/x"
        );
    }

    fn placeholders(s: &str) -> usize {
        s.matches("{}").count()
    }

    #[test]
    fn every_entry_is_complete() {
        let mut ids = HashSet::new();
        for e in CATALOG {
            assert!(!e.id.is_empty(), "an entry has an empty id");
            assert!(ids.insert(e.id), "id {} appears twice", e.id);
            assert!(!e.en.trim().is_empty(), "{}: empty English text", e.id);
            assert!(!e.ru.trim().is_empty(), "{}: empty Russian text", e.id);
            assert_eq!(
                placeholders(e.en),
                placeholders(e.ru),
                "{}: the English and Russian texts have different numbers of {{}}",
                e.id
            );
            assert!(
                e.ru.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                "{}: the Russian text has no Cyrillic",
                e.id
            );
            assert!(
                !e.en.contains('\n') && !e.ru.contains('\n'),
                "{}: not one line",
                e.id
            );
        }
    }

    /// Every string literal that opens a `tr!(`, `tr_in!(` or `tr_id!(` call.
    fn used_ids(text: &str, out: &mut Vec<(String, String)>, file: &str) {
        for mac in ["tr!(", "tr_in!(", "tr_id!("] {
            let mut rest = text;
            while let Some(at) = rest.find(mac) {
                // `str!(` etc. are not ours: the macro name must start a token.
                let before = rest[..at].chars().next_back();
                rest = &rest[at + mac.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let Some(q) = rest.find('"') else { break };
                let lit = &rest[q + 1..];
                let end = lit.find('"').expect("an unterminated message id");
                out.push((lit[..end].to_owned(), file.to_owned()));
            }
        }
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_used_id_is_in_the_catalog_and_every_entry_is_used() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut used = Vec::new();
        for f in &files {
            // This file's tests and the catalog itself are not uses.
            if f.ends_with("i18n.rs") || f.ends_with("i18n/catalog.rs") {
                continue;
            }
            let text = std::fs::read_to_string(f).unwrap();
            used_ids(&text, &mut used, &f.display().to_string());
        }
        assert!(
            used.len() > 50,
            "the scan found too few uses: {}",
            used.len()
        );
        for (id, file) in &used {
            assert!(
                entry(id).is_some(),
                "{file}: message id {id:?} is not in the catalog"
            );
        }
        let used: HashSet<&str> = used.iter().map(|(id, _)| id.as_str()).collect();
        for e in CATALOG {
            assert!(used.contains(e.id), "catalog id {:?} is never used", e.id);
        }
    }
}
