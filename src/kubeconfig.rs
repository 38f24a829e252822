//! Root's kubeconfig, rebuilt rather than copied.
//!
//! kubeadm writes `admin.conf` where u7s-admin can change it, and root then
//! uses a kubeconfig made from it. A kubeconfig can make kubectl run a program
//! (`exec`, `auth-provider`), read a file (`tokenFile`, `client-key`,
//! `certificate-authority`) or send a bearer token, and YAML merge keys can
//! hide any of that from a check that looks at the usual places. So the text
//! is parsed into typed values under a whitelist and root's kubeconfig is
//! emitted afresh from those values only: cluster names, servers (https) and
//! CA data; user names with client certificate and key data; contexts that
//! tie them together; the current context. Anything else, and any merge key
//! or YAML tag anywhere, is refused with one line naming the field.
//!
//! The parse is pure (text in, text out), so it is also fuzzed
//! (tests/fuzz_parsers.rs).

use std::fmt;

use crate::yaml::{Mapping, Value};

/// The largest kubeconfig we read (kubeadm's admin.conf is about 6 KiB).
pub const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub server: String,
    pub certificate_authority_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub client_certificate_data: Option<String>,
    pub client_key_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    pub cluster: String,
    pub user: String,
}

/// A kubeconfig holding only what root may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kubeconfig {
    pub clusters: Vec<Cluster>,
    pub users: Vec<User>,
    pub contexts: Vec<Context>,
    pub current_context: Option<String>,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not YAML, several documents, too large: the parser's words.
    Syntax(String),
    TooLarge(usize),
    /// `<<` (a YAML merge key).
    MergeKey,
    /// A YAML tag (`!foo`, `!!binary`).
    Tag,
    /// `exec`, `auth-provider`: kubectl would run a program as root.
    RunsProgram,
    /// `tokenFile`, `client-key`, ...: kubectl would read a file as root.
    NamesFile,
    /// `token`, `username`, `password`: credentials root would send.
    Credential,
    /// Any other field: not on the whitelist.
    Unknown,
    Missing,
    /// The value has the wrong shape; the text says what it must be.
    Value(String),
    /// A context names a cluster or user that is not there.
    Dangling(String),
    Duplicate(String),
}

/// A refused kubeconfig: the field (a path like `users[0].user.exec`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: String,
    pub problem: Problem,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match &self.problem {
            Problem::Syntax(e) => crate::tr!("kubeconfig-syntax", one_line(e)),
            Problem::TooLarge(n) => crate::tr!("kubeconfig-too-large", n, MAX_BYTES),
            Problem::MergeKey => crate::tr!("kubeconfig-merge-key"),
            Problem::Tag => crate::tr!("kubeconfig-tag"),
            Problem::RunsProgram => crate::tr!("kubeconfig-runs-program"),
            Problem::NamesFile => crate::tr!("kubeconfig-names-file"),
            Problem::Credential => crate::tr!("kubeconfig-credential"),
            Problem::Unknown => crate::tr!("kubeconfig-unknown"),
            Problem::Missing => crate::tr!("kubeconfig-missing"),
            Problem::Value(want) => crate::tr!("kubeconfig-value", want),
            Problem::Dangling(name) => crate::tr!("kubeconfig-dangling", format!("{name:?}")),
            Problem::Duplicate(name) => crate::tr!("kubeconfig-duplicate", format!("{name:?}")),
        };
        let field = if self.field.is_empty() {
            "kubeconfig"
        } else {
            &self.field
        };
        f.write_str(&crate::tr!("kubeconfig-refused", field, why))
    }
}

impl std::error::Error for Refused {}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn refuse<T>(field: impl Into<String>, problem: Problem) -> Result<T, Refused> {
    Err(Refused {
        field: field.into(),
        problem,
    })
}

/// Fields that are known and refused for what they do.
fn known_bad(key: &str) -> Option<Problem> {
    Some(match key {
        "exec" | "auth-provider" => Problem::RunsProgram,
        "tokenFile" | "client-certificate" | "client-key" | "certificate-authority" => {
            Problem::NamesFile
        }
        "token" | "username" | "password" => Problem::Credential,
        _ => return None,
    })
}

/// The first merge key or tag anywhere in `value`, with its path.
fn find_forbidden(value: &Value, path: &str) -> Option<(String, Problem)> {
    match value {
        Value::Tagged(_) => Some((path.to_owned(), Problem::Tag)),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_forbidden(v, &format!("{path}[{i}]"))),
        Value::Mapping(map) => map.iter().find_map(|(k, v)| {
            let name = key_text(k);
            let here = join(path, &name);
            if matches!(k, Value::Tagged(_)) {
                return Some((here, Problem::Tag));
            }
            if name == "<<" {
                return Some((here, Problem::MergeKey));
            }
            find_forbidden(k, &here).or_else(|| find_forbidden(v, &here))
        }),
        _ => None,
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "~".into(),
        _ => "?".into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The string keys of `map`, each checked against `allowed`.
fn fields<'a>(
    map: &'a Mapping,
    path: &str,
    allowed: &[&str],
) -> Result<Vec<(&'a str, &'a Value)>, Refused> {
    let mut out = Vec::new();
    for (k, v) in map {
        let Value::String(key) = k else {
            return refuse(
                join(path, &key_text(k)),
                Problem::Value(crate::tr!("kubeconfig-want-string-key")),
            );
        };
        if !allowed.contains(&key.as_str()) {
            let problem = known_bad(key).unwrap_or(Problem::Unknown);
            return refuse(join(path, key), problem);
        }
        out.push((key.as_str(), v));
    }
    Ok(out)
}

fn mapping<'a>(value: &'a Value, path: &str) -> Result<&'a Mapping, Refused> {
    match value {
        Value::Mapping(m) => Ok(m),
        _ => refuse(path, Problem::Value(crate::tr!("kubeconfig-want-mapping"))),
    }
}

fn sequence<'a>(value: &'a Value, path: &str) -> Result<&'a [Value], Refused> {
    match value {
        Value::Sequence(s) => Ok(s),
        Value::Null => Ok(&[]),
        _ => refuse(path, Problem::Value(crate::tr!("kubeconfig-want-list"))),
    }
}

fn string(value: &Value, path: &str) -> Result<String, Refused> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => refuse(path, Problem::Value(crate::tr!("kubeconfig-want-string"))),
    }
}

/// A name: not empty, at most 253 characters, no control characters.
fn name(value: &Value, path: &str) -> Result<String, Refused> {
    let s = string(value, path)?;
    if s.is_empty() || s.chars().count() > 253 || s.chars().any(char::is_control) {
        return refuse(path, Problem::Value(crate::tr!("kubeconfig-want-name")));
    }
    Ok(s)
}

/// Base64 data (kubeadm writes it on one line).
fn data(value: &Value, path: &str) -> Result<String, Refused> {
    let s = string(value, path)?;
    let ok = !s.is_empty()
        && s.len() % 4 == 0
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        && !s.trim_end_matches('=').contains('=')
        && s.len() - s.trim_end_matches('=').len() <= 2;
    if !ok {
        return refuse(path, Problem::Value(crate::tr!("kubeconfig-want-base64")));
    }
    Ok(s)
}

/// An https URL with a host, without spaces, control characters or user info.
fn server(value: &Value, path: &str) -> Result<String, Refused> {
    let s = string(value, path)?;
    let rest = s.strip_prefix("https://").unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let ok = !authority.is_empty()
        && !authority.starts_with(':')
        && !authority.contains('@')
        && s.len() <= 2048
        && s.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return refuse(path, Problem::Value(crate::tr!("kubeconfig-want-https")));
    }
    Ok(s)
}

fn required<'a>(found: &[(&str, &'a Value)], key: &str, path: &str) -> Result<&'a Value, Refused> {
    found
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .map_or_else(|| refuse(join(path, key), Problem::Missing), Ok)
}

fn optional<'a>(found: &[(&str, &'a Value)], key: &str) -> Option<&'a Value> {
    found.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Parses `text` under the whitelist.
pub fn parse(text: &str) -> Result<Kubeconfig, Refused> {
    if text.len() > MAX_BYTES {
        return refuse("", Problem::TooLarge(text.len()));
    }
    let doc: Value =
        crate::yaml::from_str(text).or_else(|e| refuse("", Problem::Syntax(e.to_string())))?;
    if let Some((field, problem)) = find_forbidden(&doc, "") {
        return refuse(field, problem);
    }
    let top = mapping(&doc, "")?;
    let found = fields(
        top,
        "",
        &[
            "apiVersion",
            "kind",
            "preferences",
            "clusters",
            "users",
            "contexts",
            "current-context",
        ],
    )?;
    if let Some(v) = optional(&found, "apiVersion") {
        if string(v, "apiVersion")? != "v1" {
            return refuse("apiVersion", Problem::Value("v1".into()));
        }
    }
    if let Some(v) = optional(&found, "kind") {
        if string(v, "kind")? != "Config" {
            return refuse("kind", Problem::Value("Config".into()));
        }
    }
    if let Some(v) = optional(&found, "preferences") {
        if !matches!(v, Value::Null) && !mapping(v, "preferences")?.is_empty() {
            let (k, _) = mapping(v, "preferences")?.iter().next().expect("not empty");
            return refuse(join("preferences", &key_text(k)), Problem::Unknown);
        }
    }
    let mut config = Kubeconfig::default();
    if let Some(list) = optional(&found, "clusters") {
        for (i, item) in sequence(list, "clusters")?.iter().enumerate() {
            let path = format!("clusters[{i}]");
            let entry = fields(mapping(item, &path)?, &path, &["name", "cluster"])?;
            let cpath = join(&path, "cluster");
            let inner = fields(
                mapping(required(&entry, "cluster", &path)?, &cpath)?,
                &cpath,
                &["server", "certificate-authority-data"],
            )?;
            config.clusters.push(Cluster {
                name: name(required(&entry, "name", &path)?, &join(&path, "name"))?,
                server: server(required(&inner, "server", &cpath)?, &join(&cpath, "server"))?,
                certificate_authority_data: optional(&inner, "certificate-authority-data")
                    .map(|v| data(v, &join(&cpath, "certificate-authority-data")))
                    .transpose()?,
            });
        }
    }
    if let Some(list) = optional(&found, "users") {
        for (i, item) in sequence(list, "users")?.iter().enumerate() {
            let path = format!("users[{i}]");
            let entry = fields(mapping(item, &path)?, &path, &["name", "user"])?;
            let upath = join(&path, "user");
            let inner = fields(
                mapping(required(&entry, "user", &path)?, &upath)?,
                &upath,
                &["client-certificate-data", "client-key-data"],
            )?;
            let get = |key: &str| {
                optional(&inner, key)
                    .map(|v| data(v, &join(&upath, key)))
                    .transpose()
            };
            config.users.push(User {
                name: name(required(&entry, "name", &path)?, &join(&path, "name"))?,
                client_certificate_data: get("client-certificate-data")?,
                client_key_data: get("client-key-data")?,
            });
        }
    }
    if let Some(list) = optional(&found, "contexts") {
        for (i, item) in sequence(list, "contexts")?.iter().enumerate() {
            let path = format!("contexts[{i}]");
            let entry = fields(mapping(item, &path)?, &path, &["name", "context"])?;
            let cpath = join(&path, "context");
            let inner = fields(
                mapping(required(&entry, "context", &path)?, &cpath)?,
                &cpath,
                &["cluster", "user"],
            )?;
            let cluster = name(
                required(&inner, "cluster", &cpath)?,
                &join(&cpath, "cluster"),
            )?;
            let user = name(required(&inner, "user", &cpath)?, &join(&cpath, "user"))?;
            if !config.clusters.iter().any(|c| c.name == cluster) {
                return refuse(join(&cpath, "cluster"), Problem::Dangling(cluster));
            }
            if !config.users.iter().any(|u| u.name == user) {
                return refuse(join(&cpath, "user"), Problem::Dangling(user));
            }
            config.contexts.push(Context {
                name: name(required(&entry, "name", &path)?, &join(&path, "name"))?,
                cluster,
                user,
            });
        }
    }
    for (list, what) in [
        (
            config.clusters.iter().map(|c| &c.name).collect::<Vec<_>>(),
            "clusters",
        ),
        (config.users.iter().map(|u| &u.name).collect(), "users"),
        (
            config.contexts.iter().map(|c| &c.name).collect(),
            "contexts",
        ),
    ] {
        for (i, n) in list.iter().enumerate() {
            if list[..i].contains(n) {
                return refuse(
                    format!("{what}[{i}].name"),
                    Problem::Duplicate((*n).clone()),
                );
            }
        }
    }
    if let Some(v) = optional(&found, "current-context") {
        let current = string(v, "current-context")?;
        if !current.is_empty() {
            if !config.contexts.iter().any(|c| c.name == current) {
                return refuse("current-context", Problem::Dangling(current));
            }
            config.current_context = Some(current);
        }
    }
    Ok(config)
}

/// A YAML double-quoted scalar (the values hold no control characters).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Kubeconfig {
    /// The kubeconfig as YAML, from the typed values only.
    pub fn render(&self) -> String {
        let mut out = String::from("apiVersion: v1\nkind: Config\npreferences: {}\n");
        let list = |out: &mut String, key: &str, empty: bool| {
            out.push_str(key);
            out.push_str(if empty { ": []\n" } else { ":\n" });
        };
        list(&mut out, "clusters", self.clusters.is_empty());
        for c in &self.clusters {
            out.push_str(&format!("- name: {}\n  cluster:\n", quoted(&c.name)));
            out.push_str(&format!("    server: {}\n", quoted(&c.server)));
            if let Some(ca) = &c.certificate_authority_data {
                out.push_str(&format!("    certificate-authority-data: {}\n", quoted(ca)));
            }
        }
        list(&mut out, "users", self.users.is_empty());
        for u in &self.users {
            let empty = u.client_certificate_data.is_none() && u.client_key_data.is_none();
            out.push_str(&format!(
                "- name: {}\n  user:{}\n",
                quoted(&u.name),
                if empty { " {}" } else { "" }
            ));
            if let Some(cert) = &u.client_certificate_data {
                out.push_str(&format!("    client-certificate-data: {}\n", quoted(cert)));
            }
            if let Some(key) = &u.client_key_data {
                out.push_str(&format!("    client-key-data: {}\n", quoted(key)));
            }
        }
        list(&mut out, "contexts", self.contexts.is_empty());
        for c in &self.contexts {
            out.push_str(&format!(
                "- name: {}\n  context:\n    cluster: {}\n    user: {}\n",
                quoted(&c.name),
                quoted(&c.cluster),
                quoted(&c.user)
            ));
        }
        if let Some(current) = &self.current_context {
            out.push_str(&format!("current-context: {}\n", quoted(current)));
        }
        out
    }
}

/// Root's kubeconfig from `text` (e.g. kubeadm's admin.conf): parsed under
/// the whitelist and emitted afresh, or the one-line reason it is refused.
pub fn rebuild(text: &str) -> Result<String, Refused> {
    parse(text).map(|k| k.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kubeadm writes (shortened data).
    const ADMIN_CONF: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://10.10.0.5:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
";

    fn refused(text: &str) -> Refused {
        let err = rebuild(text).unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
        err
    }

    fn with_user(user: &str) -> String {
        ADMIN_CONF.replace(
            "  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n",
            user,
        )
    }

    #[test]
    fn kubeadms_admin_conf_is_rebuilt_with_the_same_meaning() {
        let k = parse(ADMIN_CONF).unwrap();
        assert_eq!(k.clusters[0].server, "https://10.10.0.5:6443");
        assert_eq!(k.users[0].client_key_data.as_deref(), Some("S0VZ"));
        assert_eq!(
            k.current_context.as_deref(),
            Some("kubernetes-admin@kubernetes")
        );
        let text = k.render();
        // Emitted afresh, it parses back to the same values, and again.
        assert_eq!(parse(&text).unwrap(), k);
        assert_eq!(rebuild(&text).unwrap(), text);
        let generic: Value = crate::yaml::from_str(&text).unwrap();
        assert_eq!(
            generic["users"][0]["user"]["client-certificate-data"],
            "Q0VSVA=="
        );
    }

    #[test]
    fn programs_files_and_tokens_are_refused_by_name() {
        for (user, field, what) in [
            (
                "  user:\n    exec:\n      command: /tmp/evil\n",
                "users[0].user.exec",
                "runs a program",
            ),
            (
                "  user:\n    auth-provider: {name: gcp}\n",
                "users[0].user.auth-provider",
                "runs a program",
            ),
            (
                "  user:\n    tokenFile: /etc/shadow\n",
                "users[0].user.tokenFile",
                "file",
            ),
            (
                "  user:\n    client-key: /root/.ssh/id_rsa\n",
                "users[0].user.client-key",
                "file",
            ),
            (
                "  user:\n    token: abc\n",
                "users[0].user.token",
                "credential",
            ),
            (
                "  user:\n    password: abc\n",
                "users[0].user.password",
                "credential",
            ),
            (
                "  user:\n    as: system:admin\n",
                "users[0].user.as",
                "not allowed",
            ),
        ] {
            let err = refused(&with_user(user));
            assert_eq!(err.field, field, "{err}");
            let text = err.to_string();
            assert!(text.contains(field) && text.contains(what), "{text}");
        }
        let err = refused(&ADMIN_CONF.replace(
            "    server: https://10.10.0.5:6443\n",
            "    server: https://10.10.0.5:6443\n    certificate-authority: /etc/shadow\n",
        ));
        assert_eq!(err.field, "clusters[0].cluster.certificate-authority");
        let err = refused(&ADMIN_CONF.replace("kind: Config\n", "kind: Config\nextensions: []\n"));
        assert_eq!(err.field, "extensions");
    }

    #[test]
    fn merge_keys_anywhere_are_refused() {
        for (text, field) in [
            (
                with_user("  user: {<<: {exec: {command: /tmp/evil}}}\n"),
                "users[0].user.<<",
            ),
            (
                format!(
                    "{ADMIN_CONF}<<: {{users: [{{name: x, user: {{exec: {{command: e}}}}}}]}}\n"
                ),
                "<<",
            ),
            (
                with_user("  user:\n    client-key-data: S0VZ\n    <<: &a {}\n"),
                "users[0].user.<<",
            ),
            (
                ADMIN_CONF.replace("preferences: {}\n", "preferences: {<<: {colors: true}}\n"),
                "preferences.<<",
            ),
        ] {
            let err = refused(&text);
            assert_eq!(err.field, field);
            assert_eq!(err.problem, Problem::MergeKey, "{err}");
            assert!(err.to_string().contains("merge key"), "{err}");
        }
    }

    #[test]
    fn tags_shapes_and_references_are_checked() {
        let err = refused(&with_user("  user:\n    client-key-data: !evil S0VZ\n"));
        assert_eq!(err.problem, Problem::Tag);
        let err = refused(&ADMIN_CONF.replace("https://10.10.0.5:6443", "http://10.10.0.5:6443"));
        assert_eq!(err.field, "clusters[0].cluster.server");
        let err = refused(&ADMIN_CONF.replace("S0VZ", "not base64!"));
        assert_eq!(err.field, "users[0].user.client-key-data");
        let err =
            refused(&ADMIN_CONF.replace("    user: kubernetes-admin\n", "    user: someone\n"));
        assert_eq!(err.problem, Problem::Dangling("someone".into()));
        let err = refused(&ADMIN_CONF.replace(
            "current-context: kubernetes-admin@kubernetes",
            "current-context: x",
        ));
        assert_eq!(err.field, "current-context");
        assert!(matches!(refused("a: [").problem, Problem::Syntax(_)));
        assert!(matches!(
            refused("---\na: 1\n---\nb: 2\n").problem,
            Problem::Syntax(_)
        ));
        assert!(matches!(refused("- 1\n").problem, Problem::Value(_)));
        assert_eq!(
            refused(&" ".repeat(MAX_BYTES + 1)).problem,
            Problem::TooLarge(MAX_BYTES + 1)
        );
        let twice = ADMIN_CONF.replace(
            "contexts:\n",
            "contexts:\n- context: {cluster: kubernetes, user: kubernetes-admin}\n  name: kubernetes-admin@kubernetes\n",
        );
        assert!(matches!(refused(&twice).problem, Problem::Duplicate(_)));
    }

    #[test]
    fn names_with_quotes_survive_the_emitter() {
        let text = ADMIN_CONF
            .replace("name: kubernetes\n", "name: 'a \"b\" \\ c: d'\n")
            .replace(
                "    cluster: kubernetes\n",
                "    cluster: 'a \"b\" \\ c: d'\n",
            );
        let k = parse(&text).unwrap();
        assert_eq!(k.clusters[0].name, "a \"b\" \\ c: d");
        assert_eq!(parse(&k.render()).unwrap(), k);
    }
}
