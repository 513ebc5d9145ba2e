//! `user_agent`: a user-agent string becomes `"browser / OS / device"`
//! (`"Chrome / Android / smartphone"`).
//!
//! Full user-agent strings carry build numbers and device models that, combined, fingerprint a
//! person's phone. Families are what marketing needs. Parsing is woothee's (the fast parser
//! Vector also uses), never hand-written regexes. Distinct user agents are few and events many,
//! so each batch parses each distinct string once.

use std::collections::HashMap;

use polars::prelude::*;

use super::Tally;

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

/// Distinct user agents of a batch, parsed.
type Cache = HashMap<String, Option<String>, foldhash::fast::RandomState>;

pub fn expr(input: Expr, tally: Tally) -> Expr {
    // Each batch parses each distinct user agent once.
    super::map_text_with(input, tally, |cache: &mut Cache, v, out| {
        let parsed = match cache.get(v) {
            Some(p) => p,
            None => cache.entry(v.to_string()).or_insert_with(|| families(v)),
        };
        match parsed {
            Some(f) => {
                out.push_str(f);
                true
            }
            None => false,
        }
    })
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
