//! Typed flag values and pflag's `Value.Set` for each kind: what a string on
//! the command line becomes, and the exact reason text when it is refused.

use super::csv;
use super::golang::{self, NumError};
use super::table::Kind;

/// A flag's value after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    Bool(bool),
    /// Strings, and klog's severity / trace location / vmodule specs as given.
    Str(String),
    /// int32 / int / klog Level.
    Int(i64),
    /// klog's `--log-file-max-size`.
    Uint(u64),
    /// stringSlice: every entry, repeats appended.
    List(Vec<String>),
    /// A duration exactly as given (validated with Go's syntax).
    Duration(String),
}

impl FlagValue {
    /// The value as pflag's `Value.String()` would print it, suitable for
    /// `--flag=<this>` (lists CSV-joined, so `"a,b"` stays one entry).
    pub fn render(&self) -> String {
        match self {
            FlagValue::Bool(b) => b.to_string(),
            FlagValue::Str(s) | FlagValue::Duration(s) => s.clone(),
            FlagValue::Int(i) => i.to_string(),
            FlagValue::Uint(u) => u.to_string(),
            FlagValue::List(l) => csv::write_record(l),
        }
    }
}

/// `Value.Set(raw)` for a flag of `kind` whose current value (after earlier
/// occurrences on the command line) is `current`. `Err` is the reason pflag
/// appends to `invalid argument "RAW" for "FLAG" flag: `.
pub fn set(kind: Kind, current: Option<&FlagValue>, raw: &str) -> Result<FlagValue, String> {
    let num = |r: Result<i64, NumError>| r.map(FlagValue::Int).map_err(|e| e.message().to_owned());
    match kind {
        Kind::Bool => golang::parse_bool(raw)
            .map(FlagValue::Bool)
            .map_err(|e| e.message().to_owned()),
        Kind::GoBool => golang::parse_bool(raw)
            .map(FlagValue::Bool)
            .map_err(|e| e.go_flag_message().to_owned()),
        Kind::Str => Ok(FlagValue::Str(raw.to_owned())),
        Kind::StrSlice => {
            let new = csv::read_record(raw)?;
            Ok(match current {
                Some(FlagValue::List(old)) => {
                    let mut all = old.clone();
                    all.extend(new);
                    FlagValue::List(all)
                }
                _ => FlagValue::List(new),
            })
        }
        Kind::Int32 => num(golang::parse_int(raw, true, 32)),
        Kind::Int => num(golang::parse_int(raw, true, 64)),
        Kind::Level => num(golang::parse_int(raw, false, 32)),
        Kind::Uint64 => golang::parse_uint(raw, true, 64)
            .map(FlagValue::Uint)
            .map_err(|e| e.go_flag_message().to_owned()),
        Kind::Duration => golang::parse_duration(raw).map(|_| FlagValue::Duration(raw.to_owned())),
        Kind::Severity => severity(raw).map(|()| FlagValue::Str(raw.to_owned())),
        Kind::TraceLocation => trace_location(raw).map(|()| FlagValue::Str(raw.to_owned())),
        Kind::ModuleSpec => module_spec(raw).map(|()| FlagValue::Str(raw.to_owned())),
    }
}

/// klog `severityValue.Set`: a severity name (any case) or a decimal int32.
fn severity(raw: &str) -> Result<(), String> {
    const NAMES: [&str; 4] = ["INFO", "WARNING", "ERROR", "FATAL"];
    if NAMES.contains(&raw.to_uppercase().as_str()) {
        return Ok(());
    }
    golang::parse_int(raw, false, 32)
        .map(|_| ())
        .map_err(|e| e.message().to_owned())
}

/// klog `TraceLocation.Set`: empty, or `file.go:N` with N > 0.
fn trace_location(raw: &str) -> Result<(), String> {
    const SYNTAX: &str = "syntax error: expect file.go:234";
    if raw.is_empty() {
        return Ok(());
    }
    let fields: Vec<&str> = raw.split(':').collect();
    let [file, line] = fields[..] else {
        return Err(SYNTAX.into());
    };
    if !file.contains('.') {
        return Err(SYNTAX.into());
    }
    match golang::parse_int(line, false, 64) {
        Err(_) => Err(SYNTAX.into()),
        Ok(v) if v <= 0 => Err("negative or zero value for level".into()),
        Ok(_) => Ok(()),
    }
}

/// klog `moduleSpec.Set`: comma-separated `pattern=N`, N >= 0.
fn module_spec(raw: &str) -> Result<(), String> {
    const SYNTAX: &str = "syntax error: expect comma-separated list of filename=N";
    for pat in raw.split(',').filter(|p| !p.is_empty()) {
        let parts: Vec<&str> = pat.split('=').collect();
        let [name, level] = parts[..] else {
            return Err(SYNTAX.into());
        };
        if name.is_empty() || level.is_empty() {
            return Err(SYNTAX.into());
        }
        match golang::parse_int(level, false, 32) {
            Err(_) => return Err(SYNTAX.into()),
            Ok(v) if v < 0 => return Err("negative value for vmodule level".into()),
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(set(Kind::Bool, None, "false"), Ok(FlagValue::Bool(false)));
        assert_eq!(
            set(Kind::Bool, None, "no"),
            Err("strconv.ParseBool: parsing \"no\": invalid syntax".into())
        );
        assert_eq!(set(Kind::GoBool, None, "no"), Err("parse error".into()));
        assert_eq!(set(Kind::Int32, None, "0x1F"), Ok(FlagValue::Int(31)));
        assert_eq!(set(Kind::Level, None, "5"), Ok(FlagValue::Int(5)));
        assert_eq!(
            set(Kind::Level, None, "0x5"),
            Err("strconv.ParseInt: parsing \"0x5\": invalid syntax".into())
        );
        assert_eq!(set(Kind::Uint64, None, "x"), Err("parse error".into()));
        assert_eq!(
            set(Kind::Duration, None, "90m"),
            Ok(FlagValue::Duration("90m".into()))
        );
        assert_eq!(
            set(Kind::Duration, None, "1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".into())
        );
    }

    #[test]
    fn slices_replace_then_append() {
        let first = set(Kind::StrSlice, None, "a,b").unwrap();
        assert_eq!(first, FlagValue::List(vec!["a".into(), "b".into()]));
        let second = set(Kind::StrSlice, Some(&first), "c").unwrap();
        assert_eq!(second.render(), "a,b,c");
    }

    #[test]
    fn klog_values() {
        assert!(severity("warning").is_ok());
        assert!(severity("3").is_ok());
        assert_eq!(
            severity("loud"),
            Err("strconv.ParseInt: parsing \"loud\": invalid syntax".into())
        );
        assert!(trace_location("main.go:12").is_ok());
        assert!(trace_location("").is_ok());
        assert!(trace_location("main:12").is_err());
        assert_eq!(
            trace_location("a.go:0"),
            Err("negative or zero value for level".into())
        );
        assert!(module_spec("foo=2,bar*=3,").is_ok());
        assert!(module_spec("foo").is_err());
        assert_eq!(
            module_spec("foo=-1"),
            Err("negative value for vmodule level".into())
        );
    }
}
