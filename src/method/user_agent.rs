//! `user_agent`: a user-agent string becomes `"browser / OS / device"`
//! (`"Chrome / Android / smartphone"`).
//!
//! Full user-agent strings carry build numbers and device models that, combined, fingerprint a
//! person's phone. Families are what marketing needs. Parsing is woothee's (the fast parser
//! Vector also uses), never hand-written regexes. Distinct user agents are few and events many,
//! so each batch parses each distinct string once.

use std::sync::Arc;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params};

/// `"browser / OS / device"`, or `None` when woothee recognises nothing at all.
pub fn families(ua: &str) -> Option<String> {
    let r = woothee::parser::Parser::new().parse(ua.trim())?;
    let part = |s: &str| {
        if s.is_empty() {
            "UNKNOWN".to_string()
        } else {
            s.to_string()
        }
    };
    let browser = part(r.name);
    let os = part(r.os);
    let device = part(r.category);
    if browser == "UNKNOWN" && os == "UNKNOWN" {
        return None;
    }
    Some(format!("{browser} / {os} / {device}"))
}

/// `method = "user_agent"`: no keys, one level.
#[derive(Debug)]
pub struct UserAgent;

impl Method for UserAgent {
    fn name(&self) -> &'static str {
        "user_agent"
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn build(&self, _: &Params<'_>) -> Result<Generalizer, String> {
        Ok(Arc::new(UserAgent))
    }
}

impl Generalize for UserAgent {
    fn method(&self) -> &'static str {
        "user_agent"
    }

    fn levels(&self) -> usize {
        1
    }

    fn describe(&self, _: usize) -> String {
        "browser / OS / device".into()
    }

    fn level_name(&self, _: usize) -> String {
        "browser / OS / device".into()
    }

    fn output(&self, _: usize) -> Output {
        Output::Text
    }

    // Distinct user agents are few and events many: worth a per-batch cache.
    fn memoize(&self) -> bool {
        true
    }

    fn apply(&self, _: usize, value: &str, _: &Env, out: &mut String) -> Outcome {
        match families(value) {
            Some(f) => {
                out.push_str(&f);
                Outcome::Text
            }
            None => Outcome::Invalid,
        }
    }

    fn label(&self, base: Option<&str>, _: usize, out: &mut String) -> bool {
        base.and_then(families).is_some_and(|f| {
            out.push_str(&f);
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let android = "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36";
        assert_eq!(
            families(android).as_deref(),
            Some("Chrome / Android / smartphone")
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(
            families(iphone).as_deref(),
            Some("Safari / iPhone / smartphone")
        );
        let windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(
            families(windows).as_deref(),
            Some("Chrome / Windows 10 / pc")
        );
        assert_eq!(families("definitely not a browser"), None);
    }
}
