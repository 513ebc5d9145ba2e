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

/// The canonical form of a value before hashing (`None`: nothing left, which stays null).
pub fn normalize(v: &str, how: Normalize) -> Option<String> {
    let out = match how {
        Normalize::Email | Normalize::TrimLower => v.trim().to_lowercase(),
        Normalize::Phone => {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            // KZ numbers: 8 XXX … and XXX … (10 digits) are +7 XXX ….
            let digits = match digits.len() {
                11 if digits.starts_with('8') => format!("7{}", &digits[1..]),
                10 => format!("7{digits}"),
                _ => digits,
            };
            if digits.is_empty() {
                String::new()
            } else {
                format!("+{digits}")
            }
        }
    };
    (!out.is_empty()).then_some(out)
}

/// The column's values in their canonical form, as text: what a pseudonymized subject is
/// counted by (the pseudonym maps it one to one).
pub fn normalized_expr(input: Expr, how: Normalize) -> Expr {
    // A value with nothing left is missing: null (the tally of "unreadable" is not needed).
    super::map_text(
        input,
        super::Tally::default(),
        move |v, out| match normalize(v, how) {
            Some(n) => {
                out.push_str(&n);
                true
            }
            None => false,
        },
    )
}

pub fn expr(input: Expr, key: &Key, length: usize, how: Option<Normalize>) -> Expr {
    let p = Pseudonymizer::new(key, length);
    input.map(
        move |c: Column| {
            let text = super::as_text(&c)?;
            let mut buf = [0u8; 64];
            let mut builder = StringChunkedBuilder::new(c.name().clone(), text.len());
            for v in text.iter() {
                let canonical = match (v, how) {
                    (Some(v), Some(how)) => normalize(v, how).map(std::borrow::Cow::Owned),
                    (v, None) => v.map(std::borrow::Cow::Borrowed),
                    (None, _) => None,
                };
                match canonical {
                    // Empty and blank stay null: a pseudonym of "" would make all the empties
                    // one person.
                    None => builder.append_null(),
                    Some(v) if v.trim().is_empty() => builder.append_null(),
                    Some(v) => {
                        p.write(v.as_bytes(), &mut buf);
                        // hex digits are ASCII, so this is valid UTF-8.
                        builder.append_value(std::str::from_utf8(&buf[..p.length]).unwrap_or(""));
                    }
                }
            }
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
            normalize(" A@Mail.KZ ", Normalize::Email).as_deref(),
            Some("a@mail.kz")
        );
        for phone in [
            "+77011234567",
            "8 (701) 123-45-67",
            "+7 701 123 4567",
            "7011234567",
        ] {
            assert_eq!(
                normalize(phone, Normalize::Phone).as_deref(),
                Some("+77011234567"),
                "{phone}"
            );
        }
        assert_eq!(normalize("  ", Normalize::TrimLower), None);
        assert_eq!(normalize("n/a", Normalize::Phone), None);
        let df = df!("v" => [Some("A@Mail.kz "), Some("a@mail.kz"), Some(" ")]).unwrap();
        let k = key(b'a');
        let out = df
            .lazy()
            .select([expr(col("v"), &k, 32, Some(Normalize::Email))])
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
            .select([expr(col("v"), &k, 32, None)])
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
            .select([expr(col("v"), &k, 32, None)])
            .collect()
            .unwrap();
        assert_eq!(out.column("v").unwrap().str().unwrap().get(0), v.get(0));
    }
}
