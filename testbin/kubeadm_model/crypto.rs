//! Real certificates through the openssl command line, and the little
//! cryptography kubeadm's outputs need (SHA-256 of the CA's public key,
//! base64, random tokens and keys).

use std::path::{Path, PathBuf};
use std::process::Command;

/// SHA-256 (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut n = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = B64.iter().position(|b| *b == c)? as u32;
        acc = (acc << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    Some(out)
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    buf
}

/// A bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn new_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let pick = |n: usize| -> String {
        random_bytes(n)
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect()
    };
    format!("{}.{}", pick(6), pick(16))
}

/// The body of the first PEM block labelled `label`, decoded.
pub fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = pem[start..].find(&end)? + start;
    unbase64(&pem[start..stop])
}

/// What to put into a certificate.
pub struct CertSpec<'a> {
    pub cn: &'a str,
    pub org: Option<&'a str>,
    pub ca: bool,
    /// `serverAuth`, `clientAuth` or both.
    pub usages: &'a [&'a str],
    pub dns: Vec<String>,
    pub ips: Vec<String>,
}

pub struct Openssl {
    pub program: PathBuf,
}

impl Openssl {
    fn run(&self, args: &[&str], stdin_file: Option<&Path>) -> Result<Vec<u8>, String> {
        let mut cmd = Command::new(&self.program);
        cmd.args(args);
        if let Some(f) = stdin_file {
            cmd.stdin(std::fs::File::open(f).map_err(|e| e.to_string())?);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} {}: {}",
                self.program.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out.stdout)
    }

    /// A key and a certificate for `spec`, signed by `ca` (self-signed when
    /// None). Returns (cert PEM, key PEM).
    pub fn cert(
        &self,
        spec: &CertSpec,
        ca: Option<(&Path, &Path)>,
        days: u32,
        scratch: &Path,
    ) -> Result<(String, String), String> {
        let mut conf = String::from(
            "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[dn]\n",
        );
        if let Some(o) = spec.org {
            conf.push_str(&format!("O = {o}\n"));
        }
        conf.push_str(&format!("CN = {}\n[ext]\n", spec.cn));
        if spec.ca {
            conf.push_str("basicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature, keyEncipherment, keyCertSign\nsubjectKeyIdentifier = hash\n");
        } else {
            conf.push_str(&format!(
                "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = {}\nauthorityKeyIdentifier = keyid\n",
                spec.usages.join(", ")
            ));
            let sans: Vec<String> = spec
                .dns
                .iter()
                .map(|d| format!("DNS:{d}"))
                .chain(spec.ips.iter().map(|i| format!("IP:{i}")))
                .collect();
            if !sans.is_empty() {
                conf.push_str(&format!("subjectAltName = {}\n", sans.join(", ")));
            }
        }
        std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
        let conf_path = scratch.join("req.cnf");
        let key_path = scratch.join("key.pem");
        let crt_path = scratch.join("crt.pem");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let days = days.to_string();
        let mut args = vec![
            "req",
            "-x509",
            "-config",
            conf_path.to_str().unwrap(),
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key_path.to_str().unwrap(),
            "-days",
            &days,
            "-out",
            crt_path.to_str().unwrap(),
        ];
        if let Some((ca_crt, ca_key)) = ca {
            args.extend([
                "-CA",
                ca_crt.to_str().unwrap(),
                "-CAkey",
                ca_key.to_str().unwrap(),
            ]);
        }
        self.run(&args, None)?;
        let cert = std::fs::read_to_string(&crt_path).map_err(|e| e.to_string())?;
        let key = std::fs::read_to_string(&key_path).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&key_path);
        Ok((cert, key))
    }

    /// A bare key pair (the service-account key): (private PEM, public PEM).
    pub fn key_pair(&self, scratch: &Path) -> Result<(String, String), String> {
        std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
        let key_path = scratch.join("sa.pem");
        self.run(
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                key_path.to_str().unwrap(),
            ],
            None,
        )?;
        let public = self.run(
            &["pkey", "-pubout", "-in", key_path.to_str().unwrap()],
            None,
        )?;
        let private = std::fs::read_to_string(&key_path).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&key_path);
        Ok((private, String::from_utf8_lossy(&public).into_owned()))
    }

    /// kubeadm's CA pin: `sha256:` and the hex SHA-256 of the certificate's
    /// SubjectPublicKeyInfo (DER).
    pub fn ca_hash(&self, cert_pem: &str, scratch: &Path) -> Result<String, String> {
        std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
        let path = scratch.join("pin.crt");
        std::fs::write(&path, cert_pem).map_err(|e| e.to_string())?;
        let public = self.run(
            &["x509", "-noout", "-pubkey", "-in", path.to_str().unwrap()],
            None,
        )?;
        let der = pem_body(&String::from_utf8_lossy(&public), "PUBLIC KEY")
            .ok_or("openssl printed no public key")?;
        Ok(format!("sha256:{}", hex(&sha256(&der))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answers() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(
            hex(&sha256(&long)),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            assert_eq!(unbase64(&base64(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
    }

    #[test]
    fn tokens_have_kubeadms_shape() {
        let t = new_token();
        let (id, secret) = t.split_once('.').unwrap();
        assert_eq!((id.len(), secret.len()), (6, 16));
        assert!(t
            .chars()
            .all(|c| c == '.' || c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
