//! What an identifier looks like: e-mail addresses, KZ and international phone numbers,
//! Kazakh IIN/BIN with a valid check digit and date, payment card numbers passing Luhn, and IP
//! addresses that are not networks. The leak scan ([`crate::protect::leaks`]) stops a run on
//! them; the `url` method ([`crate::method::url`]) turns path segments and host labels
//! holding them into `*`. One set of patterns, so that what a method lets through the scan
//! would not flag.
//!
//! Values are normalized before matching, because exports spell identifiers every way:
//! percent-encoding is undone (up to ten times: `%2540` is `%40` is `@`), letters match in any
//! case and script (Cyrillic e-mails), and digits are read in groups across the separators
//! people and systems put between them (space, `.`, `-`, brackets: `+7.701.123.45.67`,
//! `900101.300017`, `4111  1111  1111  1111`). Numbers of numeric columns are checked by their
//! digits ([`number_pattern`]).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[\p{L}\p{N}._%+-]+(@|%40)[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)*\.\p{L}{2,}")
        .expect("valid")
});
// Digits are ASCII here (`[0-9]`): other scripts' digits are mapped to them first (see
// [`ascii_digits`]).
/// International numbers written with a `+`.
static PHONE_INTL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+[0-9][0-9 .()_-]{8,}[0-9]").expect("valid"));
/// Runs of digit groups: a group, then groups after one to three separators each.
static DIGIT_GROUPS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[ .()_-]{1,3}[0-9]+)*").expect("valid"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9]+").expect("valid"));
/// An IPv4 address, with its prefix length if it has one.
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9]{1,3}(?:\.[0-9]{1,3}){3})(?:/([0-9]{1,3}))?").expect("valid")
});
/// An IPv4 address spelled with dashes or underscores, as in reverse-DNS host names
/// (`95-56-12-34.dyn.example.kz`).
static IPV4_DASHED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[^0-9])([0-9]{1,3})[-_]([0-9]{1,3})[-_]([0-9]{1,3})[-_]([0-9]{1,3})(?:[^0-9]|$)",
    )
    .expect("valid")
});
static IPV6_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]+(/([0-9]+))?").expect("valid"));

/// Group lengths a dotted spelling of an identifier has: a `.` joins digit groups only in
/// these shapes (`+7.701.123.45.67`, `900101.300017`, `4111.1111.1111.1111`), never across a
/// decimal point (`75000000.00`) or between coordinates.
const DOTTED_SHAPES: &[&[usize]] = &[
    &[1, 3, 3, 2, 2],
    &[3, 3, 2, 2],
    &[1, 3, 3, 4],
    &[3, 3, 4],
    &[1, 3, 7],
    &[6, 6],
    &[4, 4, 4, 4],
    &[4, 6, 5],
    &[4, 4, 4, 4, 3],
];

/// The zero of each block of ten decimal digits outside ASCII that exports carry (Arabic-Indic,
/// Extended Arabic-Indic, Devanagari, Bengali, Thai, full-width, mathematical).
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
];

/// `v` with other scripts' decimal digits written as ASCII digits (`７７０１…` is `7701…`).
fn ascii_digits(v: &str) -> Cow<'_, str> {
    let digit = |c: char| {
        DIGIT_ZEROS
            .iter()
            .find(|&&z| (z..z + 10).contains(&(c as u32)))
            .map(|z| char::from(b'0' + (c as u32 - z) as u8))
    };
    if v.is_ascii() || !v.chars().any(|c| digit(c).is_some()) {
        return Cow::Borrowed(v);
    }
    Cow::Owned(v.chars().map(|c| digit(c).unwrap_or(c)).collect())
}

/// Prefixes longer than these name one host (or a handful), not a network: `/32` is an address.
const MAX_NETWORK_V4: u32 = 24;
const MAX_NETWORK_V6: u32 = 64;

/// `v` with percent-encoding undone, again and again (`%252540` is `%2540` is `%40` is `@`),
/// up to ten times.
pub fn decoded(v: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(v);
    for _ in 0..10 {
        if !out.contains('%') {
            break;
        }
        let next = percent_encoding::percent_decode_str(&out)
            .decode_utf8_lossy()
            .into_owned();
        if next == out {
            break;
        }
        out = Cow::Owned(next);
    }
    out
}

/// The first identifier-like pattern in `v`, by name.
pub fn pattern(v: &str) -> Option<&'static str> {
    let v = decoded(v);
    let v = ascii_digits(&v);
    let v = v.as_ref();
    if (v.contains('@') || v.contains("%40")) && EMAIL.is_match(v) {
        return Some("e-mail address");
    }
    if let Some(p) = digit_pattern(v) {
        return Some(p);
    }
    if v.contains('+') && PHONE_INTL.is_match(v) {
        return Some("phone number");
    }
    ip_pattern(v)
}

/// Phones, IIN/BIN and cards among the digit groups of `v`. A run of groups inside a hex token
/// is not read (a UUID or a hash holds digit runs by chance). Groups joined
/// by spaces, dashes, underscores or brackets are read together: every sequence of consecutive
/// groups whose digits make 10–11 (a KZ phone), 12 (an IIN/BIN) or 13–19 (a card) is checked.
/// Groups joined by a `.` are read together only in the shapes of [`DOTTED_SHAPES`].
fn digit_pattern(v: &str) -> Option<&'static str> {
    let bytes = v.as_bytes();
    // A hex token (`0f3a9b2c…`, a UUID's parts): letters a–f and digits only, with a letter.
    let hexish =
        |t: &[u8]| t.iter().all(u8::is_ascii_hexdigit) && t.iter().any(u8::is_ascii_alphabetic);
    for run in DIGIT_GROUPS.find_iter(v) {
        let text = run.as_str();
        let groups: Vec<&str> = DIGITS.find_iter(text).map(|m| m.as_str()).collect();
        // The letters and digits that touch the run on either side make one token with its
        // first or last group: a stretch of a hex token is not a number (`tel77011234567` is).
        let (first, last) = (groups[0].len(), groups[groups.len() - 1].len());
        let mut left = run.start();
        while left > 0 && bytes[left - 1].is_ascii_alphanumeric() {
            left -= 1;
        }
        let mut right = run.end();
        while right < bytes.len() && bytes[right].is_ascii_alphanumeric() {
            right += 1;
        }
        if (left < run.start() && hexish(&bytes[left..run.start() + first]))
            || (right > run.end() && hexish(&bytes[run.end() - last..right]))
        {
            continue;
        }
        let pieces: Vec<Vec<&str>> = if text.contains('.') {
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            if DOTTED_SHAPES.contains(&lengths.as_slice()) {
                vec![groups]
            } else if text.matches('.').count() == 1
                && text
                    .rsplit('.')
                    .next()
                    .is_some_and(|cents| cents.len() <= 2)
            {
                continue; // A decimal number (`7012345678.50`), an amount.
            } else {
                // Read each dot-free piece on its own.
                text.split('.')
                    .map(|piece| DIGITS.find_iter(piece).map(|m| m.as_str()).collect())
                    .collect()
            }
        } else {
            vec![groups]
        };
        for groups in &pieces {
            for i in 0..groups.len() {
                let mut digits = String::new();
                for g in &groups[i..] {
                    digits.push_str(g);
                    if digits.len() > 19 {
                        break;
                    }
                    if let Some(p) = digits_pattern(&digits) {
                        return Some(p);
                    }
                }
            }
        }
    }
    None
}

/// Whether ten digits are a KZ mobile number without its country code: `70x`, `747`, `75x`,
/// `76x`, `77x`.
fn kz_mobile(d: &[u8]) -> bool {
    d.len() == 10 && d[0] == 7 && (matches!(d[1], 0 | 5 | 6 | 7) || (d[1] == 4 && d[2] == 7))
}

/// The length of the longest run of ASCII digits in `v`.
pub fn longest_digit_run(v: &str) -> usize {
    DIGITS.find_iter(v).map(|m| m.len()).max().unwrap_or(0)
}

/// What a string of ASCII digits alone is, if anything: a KZ mobile number (`7 7xx …`,
/// `8 7xx …`, or the ten digits alone), an IIN/BIN, a card number.
fn digits_pattern(digits: &str) -> Option<&'static str> {
    let d: Vec<u8> = digits.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if d.iter().any(|&x| x > 9) {
        return None;
    }
    match d.len() {
        11 if (d[0] == 7 || d[0] == 8) && kz_mobile(&d[1..]) => Some("phone number"),
        10 if kz_mobile(&d) => Some("phone number"),
        12 if iin_valid(&d) => Some("IIN/BIN"),
        13..=19 if luhn_valid(&d) => Some("payment card number"),
        _ => None,
    }
}

/// What a number of a numeric column is, if anything: an integral value whose digits are a KZ
/// phone number or an IIN/BIN (`77011234567.0` in a float column is a phone number). An IIN of
/// someone born in the 2000s starts with `0`, which a number loses: eleven digits are also read
/// with it. Cards are left to text columns: 13–19-digit numbers (epoch milliseconds, order ids)
/// pass Luhn one time in ten.
pub fn number_pattern(x: f64) -> Option<&'static str> {
    if !x.is_finite() || x.fract() != 0.0 || x.abs() >= 1e13 {
        return None;
    }
    integer_pattern(x.abs() as i128)
}

/// [`number_pattern`] for integers.
pub fn integer_pattern(x: i128) -> Option<&'static str> {
    let x = x.unsigned_abs();
    if !(1_000_000_000..1_000_000_000_000).contains(&x) {
        return None;
    }
    let digits = x.to_string();
    let found = digits_pattern(&digits).filter(|p| *p != "payment card number");
    match found {
        None if digits.len() == 11 => digits_pattern(&format!("0{digits}")),
        found => found,
    }
}

/// Whether an address written with `prefix` names a host rather than a network: no prefix, a
/// prefix longer than `max_network`, or `host_bits(prefix)` set (called with a prefix of at most
/// `max_network`, so the shift in it cannot overflow).
fn names_a_host(prefix: Option<u32>, max_network: u32, host_bits: impl Fn(u32) -> bool) -> bool {
    match prefix {
        None => true,
        Some(p) if p > max_network => true,
        Some(p) => host_bits(p),
    }
}

/// IP addresses that are not networks: no prefix length, a prefix longer than a network's, or
/// host bits set under the prefix (`95.56.12.34/16` still shows the address).
fn ip_pattern(v: &str) -> Option<&'static str> {
    let bytes = v.as_bytes();
    if v.contains('.') {
        for m in IPV4.captures_iter(v) {
            let whole = m.get(0).map_or(0..0, |m| m.range());
            // Not part of a longer dotted number (`1.2.3.4.5`) or a longer digit run.
            let before = whole.start.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(whole.end).copied();
            if before.is_some_and(|b| b.is_ascii_digit() || b == b'.')
                || after.is_some_and(|b| b.is_ascii_digit())
                || (after == Some(b'.') && bytes.get(whole.end + 1).is_some_and(u8::is_ascii_digit))
            {
                continue;
            }
            let Ok(addr) = m[1].parse::<std::net::Ipv4Addr>() else {
                continue;
            };
            let prefix = m.get(2).and_then(|p| p.as_str().parse::<u32>().ok());
            if names_a_host(prefix, MAX_NETWORK_V4, |p| {
                u32::from(addr) & (u32::MAX >> p) != 0
            }) {
                return Some("IP address");
            }
        }
    }
    if v.contains(['-', '_']) {
        for m in IPV4_DASHED.captures_iter(v) {
            if (1..=4).all(|i| m[i].parse::<u8>().is_ok()) {
                return Some("IP address");
            }
        }
    }
    if v.contains(':') {
        for m in IPV6_TOKEN.captures_iter(v) {
            let text = m[0].split('/').next().unwrap_or("");
            let Ok(addr) = text.parse::<std::net::Ipv6Addr>() else {
                continue;
            };
            let prefix = m.get(2).and_then(|p| p.as_str().parse::<u32>().ok());
            if names_a_host(prefix, MAX_NETWORK_V6, |p| {
                u128::from(addr) & (u128::MAX >> p) != 0
            }) {
                return Some("IP address");
            }
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

/// A name read from the data as a message or a listing shows it: itself, or `<name withheld>`
/// (see [`quoted_name`] for when).
pub fn shown_name(name: &str) -> Cow<'_, str> {
    if safe_name(name) {
        Cow::Borrowed(name)
    } else {
        Cow::Borrowed("<name withheld>")
    }
}

/// Whether a name read from the data may be printed (see [`quoted_name`]).
pub fn safe_name(name: &str) -> bool {
    let digits = name.chars().filter(|c| c.is_numeric()).count();
    let plain = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '(' | ')' | '/'));
    let person = person_like(name);
    !(name.is_empty()
        || !plain
        || digits >= 6
        || name.chars().count() > 64
        || person
        || pattern(name).is_some())
}

/// Whether `s` reads like a person's name: two to five capitalized or upper-case words or
/// initials (`Aigerim Nurlanovna`, `Айгерим Нурлановна`, `NURLAN SERIKOV`, `Serikov N.`).
pub fn person_like(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    // A word of a name: capitalized (`Nurlan`) or all capitals (`NURLAN`), or an initial (`N.`).
    let name_word = |w: &str| {
        let letters = w.trim_end_matches('.');
        let mut cs = letters.chars();
        cs.next().is_some_and(char::is_uppercase)
            && (cs
                .clone()
                .all(|c| c.is_lowercase() || matches!(c, '-' | '\''))
                || cs.all(|c| c.is_uppercase() || matches!(c, '-' | '\'')))
    };
    (2..=5).contains(&words.len()) && words.iter().all(|w| name_word(w))
}

/// A Kazakh IIN (birth date `YYMMDD`, then a century-and-sex digit 1–6) or BIN (`YYMM`, then
/// a type digit 4–6), with its check digit: weights 1..11, and if that gives 10, weights
/// 3..11,1,2.
fn iin_valid(d: &[u8]) -> bool {
    let month = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    let iin = (1..=31).contains(&day) && (1..=6).contains(&d[6]);
    let bin = (4..=6).contains(&d[4]);
    if !(1..=12).contains(&month) || !(iin || bin) {
        return false;
    }
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
