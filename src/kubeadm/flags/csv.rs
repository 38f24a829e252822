//! pflag's `stringSlice` reads a value as one record of Go's `encoding/csv`
//! (default settings: comma separator, `"` quoting, no lazy quotes) and
//! writes it back the same way. Reproduced here so that
//! `--ignore-preflight-errors='"a,b",c'` splits, and fails, as kubeadm's does.

/// `Reader.readLine` over the whole string: lines with their `\n`
/// (normalised from `\r\n`); the last line may lack it.
fn lines(val: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = val.as_bytes();
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let mut line = rest[..end].to_vec();
        rest = &rest[end..];
        if line.last() == Some(&b'\r') {
            // Only possible on a last line without `\n`: Go drops it.
            line.pop();
        }
        let n = line.len();
        if n >= 2 && line[n - 2] == b'\r' && line[n - 1] == b'\n' {
            line.truncate(n - 1);
            line[n - 2] = b'\n';
        }
        out.push(line);
    }
    out
}

fn length_nl(b: &[u8]) -> usize {
    usize::from(b.last() == Some(&b'\n'))
}

/// Go's `csv.ParseError` text.
fn parse_error(start_line: usize, line: usize, column: usize, what: &str) -> String {
    if start_line != line {
        format!("record on line {start_line}; parse error on line {line}, column {column}: {what}")
    } else {
        format!("parse error on line {line}, column {column}: {what}")
    }
}

const ERR_BARE_QUOTE: &str = "bare \" in non-quoted field";
const ERR_QUOTE: &str = "extraneous or missing \" in quoted-field";

/// pflag's `readAsCSV`: `""` is the empty list, otherwise the first CSV
/// record of `val`. The error is Go's text.
pub fn read_record(val: &str) -> Result<Vec<String>, String> {
    if val.is_empty() {
        return Ok(Vec::new());
    }
    let lines = lines(val);
    // Empty lines before the record are skipped.
    let Some(mut idx) = lines.iter().position(|l| l.len() != length_nl(l)) else {
        return Err("EOF".into());
    };
    let rec_line = idx + 1;
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut col = 1usize;
    let mut l: &[u8] = &lines[idx];
    'field: loop {
        if l.first() != Some(&b'"') {
            let i = l.iter().position(|&b| b == b',');
            let field = match i {
                Some(i) => &l[..i],
                None => &l[..l.len() - length_nl(l)],
            };
            if let Some(j) = field.iter().position(|&b| b == b'"') {
                return Err(parse_error(rec_line, idx + 1, col + j, ERR_BARE_QUOTE));
            }
            fields.push(field.to_vec());
            match i {
                Some(i) => {
                    l = &l[i + 1..];
                    col += i + 1;
                    continue 'field;
                }
                None => break 'field,
            }
        }
        // Quoted field: may run over several lines.
        let mut buf = Vec::new();
        l = &l[1..];
        col += 1;
        loop {
            if let Some(i) = l.iter().position(|&b| b == b'"') {
                buf.extend_from_slice(&l[..i]);
                l = &l[i + 1..];
                col += i + 1;
                match l.first() {
                    Some(b'"') => {
                        buf.push(b'"');
                        l = &l[1..];
                        col += 1;
                    }
                    Some(b',') => {
                        l = &l[1..];
                        col += 1;
                        fields.push(buf);
                        continue 'field;
                    }
                    _ if length_nl(l) == l.len() => {
                        fields.push(buf);
                        break 'field;
                    }
                    _ => return Err(parse_error(rec_line, idx + 1, col - 1, ERR_QUOTE)),
                }
            } else if !l.is_empty() {
                buf.extend_from_slice(l);
                col += l.len();
                if idx + 1 < lines.len() {
                    idx += 1;
                    l = &lines[idx];
                    col = 1;
                } else {
                    l = &[];
                }
            } else {
                return Err(parse_error(rec_line, idx + 1, col, ERR_QUOTE));
            }
        }
    }
    fields
        .into_iter()
        .map(|f| String::from_utf8(f).map_err(|e| e.to_string()))
        .collect()
}

/// pflag's `writeAsCSV`: one CSV record, without the trailing newline.
pub fn write_record(fields: &[String]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if needs_quotes(f) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out
}

fn needs_quotes(f: &str) -> bool {
    if f.is_empty() {
        return false;
    }
    if f == "\\." {
        return true;
    }
    f.bytes().any(|c| matches!(c, b'\n' | b'\r' | b'"' | b','))
        || f.chars().next().is_some_and(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_like_go() {
        assert_eq!(read_record(""), Ok(vec![]));
        assert_eq!(read_record("all,Swap"), Ok(v(&["all", "Swap"])));
        assert_eq!(read_record("a, b "), Ok(v(&["a", " b "])));
        assert_eq!(read_record("\"a,b\",c"), Ok(v(&["a,b", "c"])));
        assert_eq!(read_record("\"a\"\"b\""), Ok(v(&["a\"b"])));
        assert_eq!(read_record("a,"), Ok(v(&["a", ""])));
        assert_eq!(read_record(","), Ok(v(&["", ""])));
        assert_eq!(read_record("a\nb"), Ok(v(&["a"])));
        assert_eq!(read_record("\n\nx"), Ok(v(&["x"])));
        assert_eq!(read_record("\"a\nb\",c"), Ok(v(&["a\nb", "c"])));
        assert_eq!(read_record("a\r\n"), Ok(v(&["a"])));
    }

    #[test]
    fn errors_like_go() {
        assert_eq!(
            read_record("a\"b"),
            Err("parse error on line 1, column 2: bare \" in non-quoted field".into())
        );
        assert_eq!(
            read_record("x,a\"b"),
            Err("parse error on line 1, column 4: bare \" in non-quoted field".into())
        );
        assert_eq!(
            read_record("\"a\"b"),
            Err("parse error on line 1, column 3: extraneous or missing \" in quoted-field".into())
        );
        assert_eq!(
            read_record("\"abc"),
            Err("parse error on line 1, column 5: extraneous or missing \" in quoted-field".into())
        );
        assert_eq!(read_record("\n"), Err("EOF".into()));
    }

    #[test]
    fn writes_back() {
        assert_eq!(write_record(&v(&["all", "Swap"])), "all,Swap");
        assert_eq!(
            write_record(&v(&["a,b", "c\"d", " e"])),
            "\"a,b\",\"c\"\"d\",\" e\""
        );
        for s in [v(&["a,b", "c"]), v(&["x\"y"]), v(&["", "z"]), v(&[" lead"])] {
            assert_eq!(read_record(&write_record(&s)), Ok(s));
        }
    }
}
