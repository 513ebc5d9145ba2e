//! What an identifier looks like: e-mail addresses (also percent-encoded), KZ and international
//! phone numbers, Kazakh IIN/BIN with a valid check digit, payment card numbers passing Luhn,
//! and IP addresses that are not networks. The leak scan ([`crate::protect::leaks`]) stops a
//! run on them; the `url` method ([`crate::transform::url`]) turns path segments holding them
//! into `*`. One set of patterns, so that what a method lets through the scan would not flag.

use std::sync::LazyLock;

use regex::Regex;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z0-9._%+-]+(@|%40)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}").expect("valid")
});
/// KZ mobiles in their usual spellings, and international numbers with a `+`.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\+7|\b8)[ (-]*7\d{2}[ )-]*\d{3}[ -]*\d{2}[ -]*\d{2}\b|\+\d[\d ()-]{8,}\d")
        .expect("valid")
});
static DIGIT_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d(?:[ -]?\d){11,18}").expect("valid"));
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}(\.\d{1,3}){3}\b(/\d+)?").expect("valid"));
static IPV6_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]+(/\d+)?").expect("valid"));

/// The first identifier-like pattern in `v`, by name.
pub fn pattern(v: &str) -> Option<&'static str> {
    if EMAIL.is_match(v) {
        return Some("e-mail address");
    }
    if PHONE.is_match(v) {
        return Some("phone number");
    }
    for m in DIGIT_RUN.find_iter(v) {
        let digits: Vec<u8> = m
            .as_str()
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        if digits.len() == 12 && iin_valid(&digits) {
            return Some("IIN/BIN");
        }
        if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
            return Some("payment card number");
        }
    }
    // An address with a prefix length is a network: what `ip_prefix` writes, not a leak.
    for m in IPV4.captures_iter(v) {
        if m.get(2).is_none() && m[0].parse::<std::net::Ipv4Addr>().is_ok() {
            return Some("IP address");
        }
    }
    for m in IPV6_TOKEN.captures_iter(v) {
        if m.get(1).is_none() && m[0].parse::<std::net::Ipv6Addr>().is_ok() {
            return Some("IP address");
        }
    }
    None
}

/// How a name read from the data (a CSV header, an NDJSON key, a Parquet column) is shown in a
/// message: quoted when it looks like a column's name, withheld when it could be a person's
/// data. A name is withheld when an identifier pattern matches it, when it holds six digits or
/// more (an id, a phone without `+`), when it has characters no column name has (control
/// characters, `@`, `+`, `%`, quotes), when it is over 64 characters, or when it reads like a
/// person's name (two or more capitalized words: `Aigerim Nurlanovna`).
pub fn quoted_name(name: &str) -> String {
    if safe_name(name) {
        format!("column `{name}`")
    } else {
        "a column (its name withheld: it could be a person's data)".to_string()
    }
}

/// Whether a name read from the data may be printed (see [`quoted_name`]).
pub fn safe_name(name: &str) -> bool {
    let digits = name.chars().filter(char::is_ascii_digit).count();
    let plain = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '(' | ')' | '/'));
    let words: Vec<&str> = name.split_whitespace().collect();
    let person = words.len() >= 2
        && words.iter().all(|w| {
            let mut cs = w.chars();
            cs.next().is_some_and(char::is_uppercase)
                && cs.all(|c| c.is_lowercase() || matches!(c, '-' | '\''))
        });
    !(name.is_empty()
        || !plain
        || digits >= 6
        || name.chars().count() > 64
        || person
        || pattern(name).is_some())
}

/// The check digit of a Kazakh IIN/BIN: weights 1..11, and if that gives 10, weights 3..11,1,2.
fn iin_valid(d: &[u8]) -> bool {
    let sum = |w: &dyn Fn(usize) -> u32| (0..11).map(|i| u32::from(d[i]) * w(i)).sum::<u32>() % 11;
    let mut check = sum(&|i| i as u32 + 1);
    if check == 10 {
        check = sum(&|i| ((i + 2) % 11) as u32 + 1);
    }
    check != 10 && check == u32::from(d[11])
}

fn luhn_valid(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                if x * 2 > 9 { x * 2 - 9 } else { x * 2 }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
