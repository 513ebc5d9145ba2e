//! `ip_prefix`: an IP address becomes its network, IPv4 to /`v4`, IPv6 to /`v6`
//! (`"95.56.12.0/24"`, `"2a03:32c0::/48"`).
//!
//! A full address often points at one household; its network still tells region and carrier.
//! IPv4-mapped IPv6 addresses (`::ffff:95.56.12.7`) are treated as the IPv4 they carry, so one
//! client is not two networks. Addresses with a zone (`fe80::1%eth0`) and anything that is not
//! an address are invalid.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params};

/// The network of `addr` at the given prefix lengths, as `address/len`.
pub fn network(addr: &str, v4: u8, v6: u8, out: &mut String) -> bool {
    let Ok(ip) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    match ip.to_canonical() {
        IpAddr::V4(a) => {
            let mask = if v4 == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(v4))
            };
            let _ = write!(out, "{}/{v4}", Ipv4Addr::from(u32::from(a) & mask));
        }
        IpAddr::V6(a) => {
            let mask = if v6 == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(v6))
            };
            let _ = write!(out, "{}/{v6}", Ipv6Addr::from(u128::from(a) & mask));
        }
    }
    true
}

/// `method = "ip_prefix"`: `v4` and `v6` prefix lengths (default /24 and /48), or the built-in
/// levels /32 /128, /24 /64, /16 /48, /8 /32 and `*`.
pub struct IpPrefix;

impl Method for IpPrefix {
    fn name(&self) -> &'static str {
        "ip_prefix"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["v4", "v6"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        let levels =
            if p.fixed(&[("v4", p.v4.is_some()), ("v6", p.v6.is_some())])? || !p.picks_levels {
                let v4 = p.v4.unwrap_or(24);
                let v6 = p.v6.unwrap_or(48);
                if v4 > 32 {
                    return Err(format!("`v4` is a prefix length from 0 to 32; got {v4}"));
                }
                if v6 > 128 {
                    return Err(format!("`v6` is a prefix length from 0 to 128; got {v6}"));
                }
                PrefixLevels {
                    steps: vec![(v4, v6)],
                    star: false,
                }
            } else {
                PrefixLevels {
                    steps: vec![(32, 128), (24, 64), (16, 48), (8, 32)],
                    star: true,
                }
            };
        Ok(Arc::new(levels))
    }
}

/// (IPv4, IPv6) prefix lengths, finest first, then `*` when the job picks levels.
#[derive(Debug)]
pub struct PrefixLevels {
    steps: Vec<(u8, u8)>,
    star: bool,
}

impl Generalize for PrefixLevels {
    fn method(&self) -> &'static str {
        "ip_prefix"
    }

    fn levels(&self) -> usize {
        self.steps.len() + usize::from(self.star)
    }

    fn describe(&self, level: usize) -> String {
        match self.steps.get(level) {
            Some((a, b)) => format!("IPv4 /{a}, IPv6 /{b}"),
            None => "* (everything)".into(),
        }
    }

    fn level_name(&self, level: usize) -> String {
        match self.steps.get(level) {
            Some((a, b)) => format!("/{a}, /{b}"),
            None => "*".into(),
        }
    }

    fn output(&self, level: usize) -> Output {
        if level < self.steps.len() {
            Output::Text
        } else {
            Output::Star
        }
    }

    fn apply(&self, level: usize, value: &str, _: &Env, out: &mut String) -> Outcome {
        let (v4, v6) = self
            .steps
            .get(level)
            .or(self.steps.first())
            .copied()
            .unwrap_or((32, 128));
        if !network(value, v4, v6, out) {
            return Outcome::Invalid;
        }
        if level >= self.steps.len() {
            out.clear();
            out.push('*');
        }
        Outcome::Text
    }

    fn base(&self, value: &str, _: &Env, out: &mut String) -> bool {
        match value.trim().parse::<IpAddr>() {
            Ok(ip) => write!(out, "{}", ip.to_canonical()).is_ok(),
            Err(_) => false,
        }
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        match (self.steps.get(level), base) {
            (Some((v4, v6)), Some(base)) => network(base, *v4, *v6, out),
            (Some(_), None) => false,
            (None, _) => super::star(base, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(a: &str, v4: u8, v6: u8) -> Option<String> {
        let mut s = String::new();
        network(a, v4, v6, &mut s).then_some(s)
    }

    #[test]
    fn v4_v6_mapped_and_bad() {
        assert_eq!(net("95.56.12.7", 24, 48).as_deref(), Some("95.56.12.0/24"));
        assert_eq!(net("95.56.12.7", 16, 48).as_deref(), Some("95.56.0.0/16"));
        assert_eq!(net("95.56.12.7", 32, 48).as_deref(), Some("95.56.12.7/32"));
        assert_eq!(net("95.56.12.7", 0, 48).as_deref(), Some("0.0.0.0/0"));
        assert_eq!(
            net("2a03:32c0:1:2:3:4:5:6", 24, 48).as_deref(),
            Some("2a03:32c0:1::/48")
        );
        assert_eq!(
            net("::ffff:95.56.12.7", 24, 48).as_deref(),
            Some("95.56.12.0/24")
        );
        assert_eq!(net(" 10.1.2.3 ", 8, 48).as_deref(), Some("10.0.0.0/8"));
        for bad in [
            "999.1.1.1",
            "unknown",
            "fe80::1%eth0",
            "1.2.3",
            "1.2.3.4/24",
        ] {
            assert_eq!(net(bad, 24, 48), None, "{bad}");
        }
    }
}
