//! `pseudonymize`: HMAC-SHA256(key, value) as fixed-length lowercase hex.
//!
//! Keyed, so nobody without the key can confirm a guess (a plain hash of a phone number is
//! reversed by hashing all phone numbers). Deterministic, so the same person gets the same
//! pseudonym in every table and every night, and `activity` joins `users`. The keyed state is
//! computed once and cloned per value: the inner and outer pads are not rehashed each time.

use hmac::{Hmac, KeyInit, Mac};
use polars::prelude::*;
use sha2::Sha256;

use crate::job::key::Key;
use crate::job::spec::Normalize;

type HmacSha256 = Hmac<Sha256>;

/// A pre-keyed pseudonymizer producing `length` hex characters.
#[derive(Clone)]
pub struct Pseudonymizer {
    keyed: HmacSha256,
    length: usize,
}

impl Pseudonymizer {
    pub fn new(key: &Key, length: usize) -> Pseudonymizer {
        debug_assert!(length.is_multiple_of(2) && (16..=64).contains(&length));
        Pseudonymizer {
            keyed: HmacSha256::new_from_slice(key.bytes()).expect("HMAC takes keys of any length"),
            length,
        }
    }

    /// Writes the pseudonym of `value` into `out` (which must hold `length` bytes) as hex.
    pub fn write(&self, value: &[u8], out: &mut [u8]) {
        let mut mac = self.keyed.clone();
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        let bytes = self.length / 2;
        // Cannot fail: out.len() == 2 * bytes by construction.
        let _ = hex::encode_to_slice(&digest[..bytes], &mut out[..self.length]);
    }

    pub fn pseudonym(&self, value: &str) -> String {
        let mut out = vec![0u8; self.length];
        self.write(value.as_bytes(), &mut out);
        String::from_utf8(out).expect("hex is ASCII")
    }
}

/// Characters a value is trimmed of at both ends: Unicode white space, and the invisible
/// characters exports carry (byte-order mark, zero-width space and joiners, word joiner).
fn blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}'
        )
}

/// The canonical form of an identifier: what tells people apart, what is hashed, what an
/// erasure request is matched by. `None` (nothing left) stays null.
/// - no `normalize`: the value trimmed of blanks at both ends (see [`blank`]): `" 1000003 "` is
///   `1000003`;
/// - `trim_lower` and `email`: trimmed, then lower-cased (Unicode);
/// - `phone`: its ASCII digits only, with a Kazakh `8 …` (11 digits) or 10-digit number written
///   `+7 …`: `8 (701) 123-45-67` is `+77011234567`.
pub fn canonical(v: &str, how: Option<Normalize>) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let out = match how {
        None => Cow::Borrowed(v.trim_matches(blank)),
        Some(Normalize::Email | Normalize::TrimLower) => {
            Cow::Owned(v.trim_matches(blank).to_lowercase())
        }
        Some(Normalize::Phone) => {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            // KZ numbers: 8 XXX … and XXX … (10 digits) are +7 XXX ….
            let digits = match digits.len() {
                11 if digits.starts_with('8') => format!("7{}", &digits[1..]),
                10 => format!("7{digits}"),
                _ => digits,
            };
            if digits.is_empty() {
                Cow::Owned(String::new())
            } else {
                Cow::Owned(format!("+{digits}"))
            }
        }
    };
    (!out.is_empty()).then_some(out)
}

/// The column's values in their canonical form (see [`canonical`]), as text: what a subject is
/// counted by (the pseudonym maps it one to one).
pub fn normalized_expr(input: Expr, how: Option<Normalize>) -> Expr {
    // A value with nothing left is missing: null (the tally of "unreadable" is not needed).
    super::map_text(
        input,
        super::Tally::default(),
        move |v, out| match canonical(v, how) {
            Some(n) => {
                out.push_str(&n);
                true
            }
            None => false,
        },
    )
}

/// The pseudonyms of the column's canonical values (see [`canonical`]); `normalized` counts the
/// values that canonicalization changed (for the report: an export that spells ids in several
/// ways is worth knowing about).
pub fn expr(
    input: Expr,
    key: &Key,
    length: usize,
    how: Option<Normalize>,
    normalized: super::Tally,
) -> Expr {
    let p = Pseudonymizer::new(key, length);
    input.map(
        move |c: Column| {
            let text = super::as_text(&c)?;
            let mut buf = [0u8; 64];
            let mut changed = 0u64;
            let mut builder = StringChunkedBuilder::new(c.name().clone(), text.len());
            for v in text.iter() {
                match v.and_then(|v| canonical(v, how).map(|c| (v, c))) {
                    // Empty and blank stay null: a pseudonym of "" would make all the empties
                    // one person.
                    None => builder.append_null(),
                    Some((raw, v)) => {
                        changed += u64::from(raw != v.as_ref());
                        p.write(v.as_bytes(), &mut buf);
                        // hex digits are ASCII, so this is valid UTF-8.
                        builder.append_value(std::str::from_utf8(&buf[..p.length]).unwrap_or(""));
                    }
                }
            }
            normalized.add(changed);
            Ok(builder.finish().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Key {
        Key::new(vec![b; 32]).unwrap()
    }

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // HMAC-SHA256 with key = 32 × 0x61 ('a') of "1000001", computed independently with
        // Python: hmac.new(b"a"*32, b"1000001", hashlib.sha256).hexdigest()
        let p = Pseudonymizer::new(&key(b'a'), 64);
        let full = p.pseudonym("1000001");
        assert_eq!(
            full,
            "f48aa788aac61088c6f342f0f2de6180095d0454f5a7db5f2137bb1abe33245d"
        );
        let short = Pseudonymizer::new(&key(b'a'), 32).pseudonym("1000001");
        assert_eq!(&full[..32], short);
        assert!(
            full.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn same_key_same_value_same_pseudonym_other_key_other() {
        let a = Pseudonymizer::new(&key(b'a'), 32);
        let b = Pseudonymizer::new(&key(b'b'), 32);
        assert_eq!(a.pseudonym("x@mail.kz"), a.pseudonym("x@mail.kz"));
        assert_ne!(a.pseudonym("x@mail.kz"), a.pseudonym("y@mail.kz"));
        assert_ne!(a.pseudonym("x@mail.kz"), b.pseudonym("x@mail.kz"));
    }

    #[test]
    fn spellings_of_one_value_get_one_pseudonym_when_normalized() {
        assert_eq!(
            canonical(" A@Mail.KZ ", Some(Normalize::Email)).as_deref(),
            Some("a@mail.kz")
        );
        for phone in [
            "+77011234567",
            "8 (701) 123-45-67",
            "+7 701 123 4567",
            "7011234567",
        ] {
            assert_eq!(
                canonical(phone, Some(Normalize::Phone)).as_deref(),
                Some("+77011234567"),
                "{phone}"
            );
        }
        assert_eq!(canonical("  ", Some(Normalize::TrimLower)), None);
        assert_eq!(canonical("n/a", Some(Normalize::Phone)), None);
        let df = df!("v" => [Some("A@Mail.kz "), Some("a@mail.kz"), Some(" ")]).unwrap();
        let k = key(b'a');
        let out = df
            .lazy()
            .select([expr(
                col("v"),
                &k,
                32,
                Some(Normalize::Email),
                Default::default(),
            )])
            .collect()
            .unwrap();
        let v: Vec<_> = out.column("v").unwrap().str().unwrap().iter().collect();
        assert_eq!(v[0], v[1]);
        assert!(v[0].is_some() && v[2].is_none());
    }

    #[test]
    fn empty_and_null_stay_null_and_numbers_hash_as_text() {
        let df = df!("v" => [Some("1000001"), Some(" "), None]).unwrap();
        let k = key(b'a');
        let out = df
            .lazy()
            .select([expr(col("v"), &k, 32, None, Default::default())])
            .collect()
            .unwrap();
        let v = out.column("v").unwrap().str().unwrap().clone();
        assert_eq!(
            v.get(0),
            Some(Pseudonymizer::new(&k, 32).pseudonym("1000001").as_str())
        );
        assert_eq!(v.get(1), None);
        assert_eq!(v.get(2), None);

        let ints = df!("v" => [1000001i64]).unwrap();
        let out = ints
            .lazy()
            .select([expr(col("v"), &k, 32, None, Default::default())])
            .collect()
            .unwrap();
        assert_eq!(out.column("v").unwrap().str().unwrap().get(0), v.get(0));
    }

    /// One person, however the export spells their id: blanks around it do not make another
    /// pseudonym, and the changed values are counted.
    #[test]
    fn blanks_around_an_id_do_not_make_another_person() {
        let df = df!("v" => [
            Some("1000003"),
            Some(" 1000003 "),
            Some("\t1000003"),
            Some("1000003\u{a0}"),
            Some("\u{feff}1000003\u{200b}"),
            Some("10 00003"),
        ])
        .unwrap();
        let k = key(b'a');
        let tally = crate::transform::Tally::default();
        let out = df
            .lazy()
            .select([expr(col("v"), &k, 32, None, tally.clone())])
            .collect()
            .unwrap();
        let v: Vec<_> = out.column("v").unwrap().str().unwrap().iter().collect();
        assert!(v[..5].iter().all(|p| *p == v[0]), "{v:?}");
        // Inner blanks are part of the id: another value.
        assert_ne!(v[5], v[0]);
        assert_eq!(tally.get(), 4);
        assert_eq!(canonical(" 1000003 ", None).as_deref(), Some("1000003"));
        assert_eq!(canonical(" \u{200b} ", None), None);
    }
}
