//! A minimal TOML writer for the files u7s generates (crio.conf): strings,
//! integers, booleans, arrays of those, and nested tables. No new crate: the
//! subset is small, and every string goes through one escaping function.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Value {
        Value::Array(v.into_iter().map(Value::Str).collect())
    }
}

/// A table: its own key/value pairs, then its sub-tables, both in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    entries: Vec<(String, Value)>,
    tables: Vec<(String, Table)>,
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    /// Sets `key` (replacing an earlier value of the same key).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Table {
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
        self
    }

    /// The sub-table `name`, created empty when missing.
    pub fn table(&mut self, name: &str) -> &mut Table {
        let pos = match self.tables.iter().position(|(k, _)| k == name) {
            Some(pos) => pos,
            None => {
                self.tables.push((name.to_owned(), Table::new()));
                self.tables.len() - 1
            }
        };
        &mut self.tables[pos].1
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|(k, _)| k == name).map(|(_, t)| t)
    }

    /// The document: root pairs first, then `[a.b]` sections depth first.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, &mut Vec::new());
        out
    }

    fn render_into(&self, out: &mut String, path: &mut Vec<String>) {
        // A table with pairs, or an empty leaf, gets a header; a table that only
        // holds sub-tables is defined implicitly by their headers.
        if !path.is_empty() && (!self.entries.is_empty() || self.tables.is_empty()) {
            if !out.is_empty() {
                out.push('\n');
            }
            let header: Vec<String> = path.iter().map(|k| key(k)).collect();
            let _ = writeln!(out, "[{}]", header.join("."));
        }
        for (k, v) in &self.entries {
            let _ = writeln!(out, "{} = {}", key(k), value(v));
        }
        for (name, table) in &self.tables {
            path.push(name.clone());
            table.render_into(out, path);
            path.pop();
        }
    }
}

/// A key: bare when it may be, else a quoted string.
pub fn key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_owned()
    } else {
        string(k)
    }
}

/// A TOML basic string: `"` and `\` escaped, control characters as escapes.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn value(v: &Value) -> String {
    match v {
        Value::Str(s) => string(s),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("plain"), "\"plain\"");
        assert_eq!(string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(string("l1\nl2\t"), "\"l1\\nl2\\t\"");
        assert_eq!(string("\u{1}\u{7f}"), "\"\\u0001\\u007F\"");
        assert_eq!(string("ünï"), "\"ünï\"");
    }

    #[test]
    fn keys_are_bare_when_they_may_be() {
        assert_eq!(key("runtime_path"), "runtime_path");
        assert_eq!(key("a-b"), "a-b");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(key(""), "\"\"");
    }

    #[test]
    fn nested_tables_render_as_sections() {
        let mut doc = Table::new();
        doc.set("top", 1);
        let crio = doc.table("crio");
        crio.set("root", "/r").set("flag", true);
        crio.table("runtime")
            .table("runtimes")
            .table("crun")
            .set("runtime_path", "/usr/bin/crun");
        crio.table("api").set("listen", "/s");
        doc.table("crio").set("root", "/r2");
        doc.table("empty");
        assert_eq!(
            doc.render(),
            "top = 1\n\n[crio]\nroot = \"/r2\"\nflag = true\n\n[crio.runtime.runtimes.crun]\nruntime_path = \"/usr/bin/crun\"\n\n[crio.api]\nlisten = \"/s\"\n\n[empty]\n"
        );
        assert_eq!(
            value(&Value::from(vec!["a".to_owned(), "b\"".to_owned()])),
            "[\"a\", \"b\\\"\"]"
        );
    }

    /// Python's tomllib (3.11+) reads back what we write, hostile strings included.
    #[test]
    fn python_tomllib_reads_it_back() {
        let probe = std::process::Command::new("python3")
            .args(["-c", "import tomllib"])
            .output();
        if !matches!(probe, Ok(ref o) if o.status.success()) {
            eprintln!("SKIPPED: python3 with tomllib is not available");
            return;
        }
        let mut doc = Table::new();
        let hostile = "q\"uote\\back\nnew\ttab\u{1}ctl \u{7f} ü [x] = #";
        doc.set("s", hostile).set("n", -3).set("b", false);
        doc.table("a.b").set("weird key", vec![hostile.to_owned()]);
        doc.table("t").table("u").set("v", "w");
        let script = "import sys, tomllib, json; print(json.dumps(tomllib.loads(sys.stdin.read()), sort_keys=True))";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(doc.render().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", doc.render());
        let json: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
        assert_eq!(json["s"].as_str(), Some(hostile));
        assert_eq!(json["n"].as_i64(), Some(-3));
        assert_eq!(json["b"].as_bool(), Some(false));
        assert_eq!(json["a.b"]["weird key"][0].as_str(), Some(hostile));
        assert_eq!(json["t"]["u"]["v"].as_str(), Some("w"));
    }
}
