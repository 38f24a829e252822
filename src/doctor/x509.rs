//! The expiry (`notAfter`) of the certificates in a PEM text: base64, then
//! just enough DER to walk Certificate -> TBSCertificate -> Validity. The
//! files are the cluster's (data), so every length is checked.

/// Seconds since the epoch at which each `CERTIFICATE` block of `pem`
/// expires; a block that does not parse is left out.
pub fn not_after_all(pem: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b64) = body.take() {
                if let Some(t) = base64(&b64).and_then(|der| not_after(&der)) {
                    out.push(t);
                }
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    out
}

/// Standard base64 with padding, white space ignored.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for b in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (padding <= 2).then_some(out)
}

/// One DER element at the start of `data`: (tag, contents, rest).
fn element(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `notAfter` of a DER certificate, in seconds since the epoch.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    // [0] version is optional; then serial, signature algorithm, issuer.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    match tag {
        UTC_TIME => parse_time(text, false),
        GENERALIZED_TIME => parse_time(text, true),
        _ => None,
    }
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950..2049) or `YYYYMMDDHHMMSSZ`.
fn parse_time(text: &str, four_digit_year: bool) -> Option<i64> {
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = if four_digit_year {
        (digits.get(..4)?.parse::<i64>().ok()?, digits.get(4..)?)
    } else {
        let yy = digits.get(..2)?.parse::<i64>().ok()?;
        (
            if yy < 50 { 2000 + yy } else { 1900 + yy },
            digits.get(2..)?,
        )
    };
    if rest.len() != 10 {
        return None;
    }
    let n = |i: usize| rest[i..i + 2].parse::<i64>().ok();
    let (month, day, hour, min, sec) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
    /// -subj /CN=u7s-test -days 3650`: notAfter=Nov 28 14:08:59 2036 GMT.
    pub const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBejCCASGgAwIBAgIUHzsQ//olV1urVPIIodA1w97T3SswCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIdTdzLXRlc3QwHhcNMjYxMjAxMTQwODU5WhcNMzYxMTI4MTQw
ODU5WjATMREwDwYDVQQDDAh1N3MtdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABG62SbLDSZX9Nr+DOHiPeg+o8HGjb6EQVE1acvaHy7TZ/XEbcWNYXJSXr8xA
p7LrOdJXcaFiAvs1hoeXYfO25IujUzBRMB0GA1UdDgQWBBT2Tiw9g9xbTjzd81qu
NWbWrcP+IDAfBgNVHSMEGDAWgBT2Tiw9g9xbTjzd81quNWbWrcP+IDAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIF5FyfVHOXtsMjg94TVJbErvKuh3
4wyrhi404TasCdVGAiAxg6I85HRSCn7Py12mgzi5OfnbxPsDN62eOjdxr2I12Q==
-----END CERTIFICATE-----
";

    #[test]
    fn the_expiry_of_a_real_certificate() {
        // date -d 'Nov 28 14:08:59 2036 GMT' +%s
        assert_eq!(not_after_all(CERT), vec![2_111_494_139]);
        let two = format!("{CERT}junk\n{CERT}");
        assert_eq!(not_after_all(&two).len(), 2);
    }

    #[test]
    fn damaged_input_gives_nothing() {
        assert!(
            not_after_all("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_empty()
        );
        let cut: String =
            CERT.lines().take(4).collect::<Vec<_>>().join("\n") + "\n-----END CERTIFICATE-----\n";
        assert!(not_after_all(&cut).is_empty());
        assert_eq!(base64("TWFu"), Some(b"Man".to_vec()));
        assert_eq!(base64("TWE="), Some(b"Ma".to_vec()));
        assert_eq!(base64("T!=="), None);
        assert_eq!(base64("TQ=a"), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("700101000000Z", false), Some(0));
        assert_eq!(parse_time("20000229000000Z", true), Some(951_782_400));
        assert_eq!(parse_time("491231235959Z", false), Some(2_524_607_999));
        assert_eq!(parse_time("701301000000Z", false), None);
        assert_eq!(parse_time("7001010000Z", false), None);
    }
}
