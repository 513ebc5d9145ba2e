//! `prefix`: a code keeps its first characters (`050123` → `0501`), as a ladder: the first
//! `length` characters, one fewer at each level, down to one, then `*`.
//!
//! Codes are built from the left: a postal code's first digits name the region, a phone
//! number's the operator or area, an account class's the family. Cutting from the right keeps
//! what analysts group by and drops what narrows down to a street or a line. The value stays
//! text at every level, so leading zeros stay, and Mondrian climbs the ladder instead of cutting
//! the codes as numbers: a range of codes means nothing, and `160101-160110` reads as an IIN to
//! the leak scan.
//!
//! The levels for `length = N`, defined once here and documented in the README:
//! - level `l` from 0 to N − 1 keeps the first N − l characters: with `length = 6`, `050123` is
//!   `050123` at level 0, `0501` at level 2 and `0` at level 5;
//! - level N is `*`.
//!
//! Characters are Unicode scalar values (an account class may be Cyrillic), counted after
//! surrounding white space is trimmed. A value shorter than a level's length stays whole: it is
//! its own prefix, so every level still follows from the one below it (they nest). Any text has
//! a prefix, so no value is unreadable; a blank one is missing, as in every method.

use std::sync::Arc;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params};

/// The longest `length`: codes are short, and each character is a level of the search.
pub const MAX_LENGTH: usize = 32;

/// The first `chars` characters of `value`, trimmed, into `out`.
pub fn prefix(value: &str, chars: usize, out: &mut String) {
    let v = value.trim();
    let end = v.char_indices().nth(chars).map_or(v.len(), |(i, _)| i);
    out.push_str(&v[..end]);
}

/// `method = "prefix"`: `length`, the characters kept at level 0.
pub struct Prefix;

impl Method for Prefix {
    fn name(&self) -> &'static str {
        "prefix"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["length"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        match p.length {
            None => Err(format!(
                "method `prefix` needs `length`, the characters kept at level 0 (1 to \
                 {MAX_LENGTH}): `length = 6` keeps `050123` whole, and each level keeps one \
                 fewer"
            )),
            Some(n) if !(1..=MAX_LENGTH).contains(&n) => Err(format!(
                "`length` is the characters a prefix keeps at level 0, from 1 to {MAX_LENGTH}; \
                 got {n}"
            )),
            Some(length) => Ok(Arc::new(PrefixLadder { length })),
        }
    }
}

/// The first `length` characters, then one fewer at each level, then `*`.
#[derive(Debug)]
pub struct PrefixLadder {
    length: usize,
}

impl PrefixLadder {
    /// The characters `level` keeps; `None` at the top.
    fn chars(&self, level: usize) -> Option<usize> {
        (level < self.length).then(|| self.length - level)
    }
}

impl Generalize for PrefixLadder {
    fn method(&self) -> &'static str {
        "prefix"
    }

    fn levels(&self) -> usize {
        self.length + 1
    }

    fn describe(&self, level: usize) -> String {
        match self.chars(level) {
            Some(1) => "first character".into(),
            Some(n) => format!("first {n} characters"),
            None => "* (everything)".into(),
        }
    }

    fn level_name(&self, level: usize) -> String {
        match self.chars(level) {
            Some(1) => "1 character".into(),
            Some(n) => format!("{n} characters"),
            None => "*".into(),
        }
    }

    // `length = 3` alone keeps three characters, as the key reads; a search or `level` picks
    // from the ladder.
    fn default_level(&self) -> Option<usize> {
        Some(0)
    }

    fn output(&self, level: usize) -> Output {
        if level < self.length {
            Output::Text
        } else {
            Output::Star
        }
    }

    fn apply(&self, level: usize, value: &str, _: &Env, out: &mut String) -> Outcome {
        match self.chars(level) {
            Some(n) => prefix(value, n, out),
            None => out.push('*'),
        }
        Outcome::Text
    }

    fn base(&self, value: &str, _: &Env, out: &mut String) -> bool {
        prefix(value, self.length, out);
        true
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        match (self.chars(level), base) {
            (Some(n), Some(b)) => {
                prefix(b, n, out);
                true
            }
            (Some(_), None) => false,
            (None, _) => super::star(base, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(length: usize) -> PrefixLadder {
        PrefixLadder { length }
    }

    fn at(g: &PrefixLadder, level: usize, value: &str) -> String {
        let mut out = String::new();
        let env = Env {
            run_date: chrono::NaiveDate::default(),
        };
        assert_eq!(g.apply(level, value, &env, &mut out), Outcome::Text);
        out
    }

    /// The ladder as the README defines it: level l keeps length − l characters, leading zeros
    /// included, and level `length` is `*`.
    #[test]
    fn the_ladder_keeps_leading_zeros_and_ends_in_a_star() {
        let g = ladder(6);
        assert_eq!(g.levels(), 7);
        let want = ["050123", "05012", "0501", "050", "05", "0", "*"];
        for (level, want) in want.iter().enumerate() {
            assert_eq!(at(&g, level, "050123"), *want, "level {level}");
        }
        assert!(g.everything(6) && !g.everything(5));
        assert_eq!(g.level_name(2), "4 characters");
        assert_eq!(g.level_name(5), "1 character");
        assert_eq!(g.level_name(6), "*");
        assert_eq!(g.describe(2), "first 4 characters");
    }

    /// Characters, not bytes; white space around is not a character of the code; a shorter
    /// value is its own prefix.
    #[test]
    fn characters_trimmed_and_short_values() {
        let g = ladder(3);
        assert_eq!(at(&g, 0, "  050123 "), "050");
        assert_eq!(at(&g, 1, "АБВГ-7"), "АБ");
        assert_eq!(at(&g, 0, "05"), "05");
        assert_eq!(at(&g, 2, "05"), "0");
    }

    /// The search's labels are the output's, and each level follows from the one below.
    #[test]
    fn labels_of_the_base_equal_the_output_and_nest() {
        let g = ladder(6);
        let env = Env {
            run_date: chrono::NaiveDate::default(),
        };
        for value in ["050123", "0501", " 71000 ", "АБВГДЕЖ"] {
            let mut base = String::new();
            assert!(g.base(value, &env, &mut base));
            let mut previous: Option<String> = None;
            for level in 0..g.levels() {
                let mut label = String::new();
                assert!(g.label(Some(&base), level, &mut label));
                assert_eq!(label, at(&g, level, value), "{value} at {level}");
                if let Some(p) = previous.filter(|_| label != "*") {
                    assert!(p.starts_with(&label), "{label} is not a prefix of {p}");
                }
                previous = Some(label);
            }
        }
        let mut out = String::new();
        assert!(!g.label(None, 0, &mut out), "missing stays missing");
        assert!(!g.label(None, 6, &mut out), "even at the top");
    }

    #[test]
    fn length_is_required_and_bounded() {
        let build = |length| {
            Prefix.build(&Params {
                length,
                ..Params::default()
            })
        };
        assert!(build(None).unwrap_err().contains("needs `length`"));
        assert!(build(Some(0)).unwrap_err().contains("from 1 to 32"));
        assert!(build(Some(MAX_LENGTH + 1)).is_err());
        assert_eq!(build(Some(6)).map(|g| g.levels()).ok(), Some(7));
    }
}
