//! The Go standard-library parsers kubeadm's flag values go through
//! (`strconv.ParseInt/ParseUint/ParseBool`, `time.ParseDuration`) and the
//! quoting Go uses in their error texts, so that our messages match kubeadm's
//! byte for byte. Written from the Go language specification of these
//! functions' behaviour; only what the flag types need.

use std::fmt::Write;

/// Go's `strconv.Quote`: double-quoted, with Go escapes for non-printables.
/// Printability follows Rust's notion (control and format characters are
/// escaped), close to Go's `unicode.IsPrint`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `%q` of a byte/rune: single-quoted.
pub fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, delim: char) {
    match c {
        c if c == delim || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if is_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// Go's `*strconv.NumError` text.
fn num_error(func: &str, num: &str, range: bool) -> String {
    let what = if range {
        "value out of range"
    } else {
        "invalid syntax"
    };
    format!("strconv.{func}: parsing {}: {what}", quote(num))
}

/// Why a Go number parse failed; Go `flag` values report only this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumError {
    Syntax(String),
    Range(String),
}

impl NumError {
    /// The full strconv message.
    pub fn message(&self) -> &str {
        match self {
            NumError::Syntax(m) | NumError::Range(m) => m,
        }
    }

    /// Go `flag`'s rewording (`errParse` / `errRange`).
    pub fn go_flag_message(&self) -> &'static str {
        match self {
            NumError::Syntax(_) => "parse error",
            NumError::Range(_) => "value out of range",
        }
    }
}

fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let b = if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        &b[1..]
    } else {
        b
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, base, bits)` for base 0 or 10; `Err(true)` is a
/// range error, `Err(false)` a syntax error (the caller words them).
fn parse_uint_inner(s: &str, base0: bool, bits: u32) -> Result<u64, bool> {
    if s.is_empty() {
        return Err(false);
    }
    let bytes = s.as_bytes();
    let (base, digits): (u64, &[u8]) = if base0 && bytes[0] == b'0' {
        match bytes.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if bytes.len() >= 3 => (2, &bytes[2..]),
            Some(b'o') if bytes.len() >= 3 => (8, &bytes[2..]),
            Some(b'x') if bytes.len() >= 3 => (16, &bytes[2..]),
            _ => (8, &bytes[1..]),
        }
    } else {
        (10, bytes)
    };
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => (c - b'0') as u64,
            c if c.is_ascii_alphabetic() => (c.to_ascii_lowercase() - b'a' + 10) as u64,
            _ => return Err(false),
        };
        if d >= base {
            return Err(false);
        }
        match n.checked_mul(base).and_then(|m| m.checked_add(d)) {
            Some(v) if v <= max => n = v,
            // Go returns the range error at once; a later bad digit would not
            // be seen either, so stop here the same way.
            _ => return Err(true),
        }
    }
    if underscores && !underscore_ok(s) {
        return Err(false);
    }
    Ok(n)
}

/// `strconv.ParseUint(s, base, bits)` with base 0 (prefixes, `_`) or 10.
pub fn parse_uint(s: &str, base0: bool, bits: u32) -> Result<u64, NumError> {
    parse_uint_inner(s, base0, bits).map_err(|range| {
        let m = num_error("ParseUint", s, range);
        if range {
            NumError::Range(m)
        } else {
            NumError::Syntax(m)
        }
    })
}

/// `strconv.ParseInt(s, base, bits)` with base 0 (prefixes, `_`) or 10.
pub fn parse_int(s: &str, base0: bool, bits: u32) -> Result<i64, NumError> {
    let syntax = || NumError::Syntax(num_error("ParseInt", s, false));
    let range = || NumError::Range(num_error("ParseInt", s, true));
    if s.is_empty() {
        return Err(syntax());
    }
    let (neg, rest) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let un = match parse_uint_inner(rest, base0, bits) {
        Ok(v) => v,
        Err(true) => u64::MAX,
        Err(false) => return Err(syntax()),
    };
    let cutoff = 1u64 << (bits - 1);
    if !neg && un >= cutoff {
        return Err(range());
    }
    if neg && un > cutoff {
        return Err(range());
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, NumError> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(NumError::Syntax(num_error("ParseBool", s, false))),
    }
}

/// The `time` package's own quoting (not `strconv.Quote`): bytes outside
/// printable ASCII become `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for &b in s.as_bytes() {
        if !(b' '..0x80).contains(&b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(b as char);
        }
    }
    out.push('"');
    out
}

/// `time.ParseDuration`: nanoseconds, or Go's error text.
pub fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // leading int
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + (s[i] - b'0') as u64;
            if v > LIMIT {
                return Err(invalid());
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        // fraction
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let mut i = 0;
            let mut overflow = false;
            while i < s.len() && s[i].is_ascii_digit() {
                if !overflow {
                    if f > (LIMIT - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + (s[i] - b'0') as u64;
                        if y > LIMIT {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            post = i > 0;
            s = &s[i..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let unit_text = &s[..i];
        s = &s[i..];
        let unit: u64 = match unit_text {
            b"ns" => 1,
            b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60 * 1_000_000_000,
            b"h" => 3600 * 1_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(&String::from_utf8_lossy(unit_text)),
                    time_quote(orig)
                ))
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("7000x"), "\"7000x\"");
        assert_eq!(quote("a\"b\\c\n\t\x01é"), "\"a\\\"b\\\\c\\n\\t\\x01é\"");
        assert_eq!(quote("\u{200b}"), "\"\\u200b\"");
        assert_eq!(quote_rune('x'), "'x'");
        assert_eq!(quote_rune('\''), "'\\''");
    }

    #[test]
    fn ints() {
        assert_eq!(parse_int("6443", true, 32), Ok(6443));
        assert_eq!(parse_int("0x10", true, 32), Ok(16));
        assert_eq!(parse_int("010", true, 32), Ok(8));
        assert_eq!(parse_int("0b11", true, 32), Ok(3));
        assert_eq!(parse_int("-0o17", true, 32), Ok(-15));
        assert_eq!(parse_int("1_000", true, 32), Ok(1000));
        assert_eq!(parse_int("-2147483648", true, 32), Ok(-2147483648));
        assert_eq!(
            parse_int("7000x", true, 32).unwrap_err().message(),
            "strconv.ParseInt: parsing \"7000x\": invalid syntax"
        );
        assert_eq!(
            parse_int("2147483648", true, 32).unwrap_err().message(),
            "strconv.ParseInt: parsing \"2147483648\": value out of range"
        );
        for bad in ["", "_1", "1__0", "1_", "0x", "09", "+", "1_000"] {
            if bad == "1_000" {
                assert!(parse_int(bad, false, 32).is_err(), "base 10 rejects _");
                continue;
            }
            assert!(parse_int(bad, true, 32).is_err(), "{bad:?}");
        }
        assert_eq!(parse_int("-5", false, 32), Ok(-5));
        assert_eq!(parse_int("010", false, 32), Ok(10));
    }

    #[test]
    fn uints() {
        assert_eq!(parse_uint("1800", true, 64), Ok(1800));
        assert_eq!(
            parse_uint("-1", true, 64).unwrap_err().go_flag_message(),
            "parse error"
        );
        assert_eq!(
            parse_uint("18446744073709551616", true, 64)
                .unwrap_err()
                .go_flag_message(),
            "value out of range"
        );
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert_eq!(
            parse_bool("yes").unwrap_err().message(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h0m0s"), Ok(24 * 3600 * 1_000_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5400 * 1_000_000_000));
        assert_eq!(parse_duration("-1m"), Ok(-60_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_duration("1µs"), Ok(1000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(
            parse_duration("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse_duration("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
        assert_eq!(
            parse_duration("h"),
            Err("time: invalid duration \"h\"".into())
        );
        assert_eq!(
            parse_duration("99999999999h"),
            Err("time: invalid duration \"99999999999h\"".into())
        );
        assert_eq!(
            parse_duration("1é"),
            Err("time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\"".into())
        );
    }
}
