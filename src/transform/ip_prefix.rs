//! `ip_prefix`: an IP address becomes its network, IPv4 to /`v4`, IPv6 to /`v6`
//! (`"95.56.12.0/24"`, `"2a03:32c0::/48"`).
//!
//! A full address often points at one household; its network still tells region and carrier.
//! IPv4-mapped IPv6 addresses (`::ffff:95.56.12.7`) are treated as the IPv4 they carry, so one
//! client is not two networks. Addresses with a zone (`fe80::1%eth0`) and anything that is not
//! an address are invalid.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use polars::prelude::*;

use super::Tally;

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

pub fn expr(input: Expr, v4: u8, v6: u8, tally: Tally) -> Expr {
    super::map_text(input, tally, move |v, out| network(v, v4, v6, out))
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
