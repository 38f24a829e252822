//! Findings and how they are printed: one line each, kubeadm's style of
//! `[ERROR Name]` for what must be fixed, and JSON for scripts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Error,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One check's outcome: its name (stable, for scripts), what was found and,
/// unless it is fine, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: &'static str,
    pub level: Level,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(name: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            name,
            level: Level::Ok,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warn(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            name,
            level: Level::Warn,
            message: message.into(),
            fix: Some(fix.into()).filter(|f: &String| !f.is_empty()),
        }
    }

    pub fn error(
        name: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            name,
            level: Level::Error,
            message: message.into(),
            fix: Some(fix.into()).filter(|f: &String| !f.is_empty()),
        }
    }

    /// `[OK] Name: message`, `[WARN] Name: message; fix`, `[ERROR Name]
    /// message; fix`, on one line whatever the texts hold.
    pub fn line(&self) -> String {
        let text = match &self.fix {
            Some(fix) => format!("{}; {fix}", self.message),
            None => self.message.clone(),
        };
        let text = crate::error::one_line(&text);
        match self.level {
            Level::Ok => format!("[OK] {}: {text}", self.name),
            Level::Warn => format!("[WARN] {}: {text}", self.name),
            Level::Error => format!("[ERROR {}] {text}", self.name),
        }
    }
}

/// Every finding, in the order the checks ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Errors of the checks in `names` (or of every check, with `all`)
    /// become warnings that say they were ignored.
    pub fn ignore(&mut self, names: &[String]) {
        let all = names.iter().any(|n| n.eq_ignore_ascii_case("all"));
        for f in &mut self.findings {
            if f.level == Level::Error
                && (all || names.iter().any(|n| n.eq_ignore_ascii_case(f.name)))
            {
                f.level = Level::Warn;
                f.message = crate::tr!("doc-ignored", f.message);
            }
        }
    }

    pub fn healthy(&self) -> bool {
        !self.findings.iter().any(|f| f.level == Level::Error)
    }

    /// 0 when nothing is in error (warnings allowed), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.healthy() {
            0
        } else {
            1
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&f.line());
            out.push('\n');
        }
        out
    }

    /// `{"healthy":B,"checks":[{"name":..,"status":"ok|warn|error","message":..,"fix":..|null}]}`
    pub fn json(&self) -> String {
        let checks: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name,
                    "status": f.level.word(),
                    "message": f.message,
                    "fix": f.fix,
                })
            })
            .collect();
        let mut out = serde_json::json!({"healthy": self.healthy(), "checks": checks}).to_string();
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_check_and_stay_one_line() {
        assert_eq!(
            Finding::ok("Linger", "lingering is on for u7s-admin").line(),
            "[OK] Linger: lingering is on for u7s-admin"
        );
        assert_eq!(
            Finding::error("CrioSocket", "no socket\nat x", "restart it").line(),
            "[ERROR CrioSocket] no socket at x; restart it"
        );
        assert_eq!(
            Finding::warn("Node", "no kubeconfig", "").line(),
            "[WARN] Node: no kubeconfig"
        );
    }

    #[test]
    fn exit_status_and_json() {
        let mut r = Report::default();
        r.push(Finding::ok("A", "fine"));
        r.push(Finding::warn("B", "hm \"q\"", "do x"));
        assert_eq!(r.exit_code(), 0);
        r.push(Finding::error("C", "bad\u{1b}", "fix"));
        assert_eq!(r.exit_code(), 1);
        let json = r.json();
        assert!(json.starts_with("{\"healthy\":false,\"checks\":[{\"name\":\"A\",\"status\":\"ok\",\"message\":\"fine\",\"fix\":null}"), "{json}");
        assert!(
            json.contains("\"message\":\"hm \\\"q\\\"\",\"fix\":\"do x\""),
            "{json}"
        );
        assert!(json.contains("\"message\":\"bad\\u001b\""), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["checks"][1]["message"], "hm \"q\"");
        r.ignore(&["c".into()]);
        assert_eq!(r.exit_code(), 0);
        assert_eq!(
            r.findings[2].line(),
            "[WARN] C: bad\u{1b} (error ignored); fix"
        );
    }
}
