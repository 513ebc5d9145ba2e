//! What a column's sampled values look like, by pattern and counting only: an e-mail address,
//! a phone number, a date, an id, a small set of categories… (`anonymize init` writes it as a
//! comment beside each column of a new job file).
//!
//! A [`Profile`] holds counts and the name of a shape, never a value: it is printed into a
//! file an engineer shares, and a value of a column about to be dropped must not travel.
//!
//! The shapes are what the tool's own readers accept, so that "looks like a timestamp" means
//! `truncate` reads it and "looks like a URL" means `url` does: the date and timestamp parsers
//! of [`crate::method::parse`], [`crate::method::url`], [`crate::method::user_agent`],
//! [`crate::method::ip_prefix`], and the leak scan's identifier patterns
//! ([`crate::identifiers`]) for e-mail addresses, phone numbers, IIN/BIN and names.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::identifiers;
use crate::method;

/// The share of a column's values that must have a shape for the column to be said to have it.
pub const SHARE: f64 = 0.8;
/// At most this many distinct values, each seen five times on average, make a set of
/// categories (64 cities among 1000 users are; 600 user ids among 1000 events are not).
pub const MAX_CATEGORIES: usize = 200;

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        .expect("valid")
});
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?i)[0-9a-f]{16,}$").expect("valid"));
/// One token of letters, digits and `-_.:`, with a digit (`ev-8f974eb1b8b9`, `A-10023`).
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.:-]*[0-9][A-Za-z0-9_.:-]*$").expect("valid"));
static INTEGER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[+-]?[0-9]+$").expect("valid"));
static DECIMAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[+-]?[0-9]*[.,]?[0-9]+(?:[eE][+-]?[0-9]+)?$").expect("valid"));

/// The shape of an id's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdShape {
    Integer,
    Uuid,
    Hex,
    Token,
}

impl IdShape {
    pub fn describe(self) -> &'static str {
        match self {
            IdShape::Integer => "integer-like",
            IdShape::Uuid => "UUID-like",
            IdShape::Hex => "a long hex token",
            IdShape::Token => "a token with digits",
        }
    }
}

/// What a column looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looks {
    /// No value in the sample.
    Empty,
    Email,
    Phone,
    /// Another identifier pattern of [`identifiers::pattern`] (`IIN/BIN`, `payment card number`).
    Identifier(&'static str),
    PersonName,
    Ip,
    Url,
    UserAgent,
    Date,
    Timestamp,
    /// An id: every sampled value different (`unique`), or repeated across rows (a person's or
    /// another table's id).
    Id {
        unique: bool,
        shape: IdShape,
    },
    Number {
        integer: bool,
    },
    /// A small set of values; `boolean` when they read as true and false.
    Category {
        boolean: bool,
    },
    FreeText,
    /// No shape holds for most values.
    Mixed,
    /// Values that have no text form (nested lists or structs of a Parquet or NDJSON input).
    NotText,
}

/// A column's sample, counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Rows sampled.
    pub rows: usize,
    /// Of them, the non-empty values.
    pub values: usize,
    pub distinct: usize,
    pub looks: Looks,
    /// The share of the values with the shape of `looks` (1 for shapes of the whole column:
    /// ids, categories, free text).
    pub share: f64,
    /// Mean length of the values, in characters.
    pub mean_chars: usize,
    /// How many values hold an identifier (by pattern name), in columns that are not that
    /// identifier themselves: e-mail addresses in URLs' query strings, phones in free text.
    pub holding: BTreeMap<&'static str, usize>,
}

/// Per-value shapes, in the order a column's shape is chosen: the first shape most values
/// have wins. Specific before general (an e-mail address before a URL, a date before a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Email,
    Phone,
    Identifier,
    Ip,
    Url,
    UserAgent,
    Date,
    Timestamp,
    Uuid,
    Hex,
    Integer,
    Decimal,
    PersonName,
}

const SHAPES: [Shape; 13] = [
    Shape::Email,
    Shape::Phone,
    Shape::Identifier,
    Shape::Ip,
    Shape::Url,
    Shape::UserAgent,
    Shape::Date,
    Shape::Timestamp,
    Shape::Uuid,
    Shape::Hex,
    Shape::Integer,
    Shape::Decimal,
    Shape::PersonName,
];

/// The shapes one value has (it can have several: `1995-05-27` is a date and a timestamp).
fn shapes(v: &str, pattern: Option<&'static str>, out: &mut Vec<Shape>) {
    let spaceless = !v.contains(char::is_whitespace);
    // An identifier pattern counts as the value's shape only when it is the whole value: an
    // e-mail address inside a URL makes the URL hold one, not be one.
    let phone_chars = v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    match pattern {
        Some("e-mail address") if spaceless && v.contains('@') && !v.contains('/') => {
            out.push(Shape::Email)
        }
        Some("phone number") if phone_chars => out.push(Shape::Phone),
        Some("IIN/BIN" | "payment card number") if phone_chars => out.push(Shape::Identifier),
        _ => {}
    }
    let mut scratch = String::new();
    if spaceless && method::ip_prefix::network(v, 24, 48, &mut scratch) {
        out.push(Shape::Ip);
    }
    scratch.clear();
    if spaceless && v.contains("://") && method::url::generalize(v, &mut scratch) {
        out.push(Shape::Url);
    }
    if v.contains('/') && !v.contains("://") && method::user_agent::families(v).is_some() {
        out.push(Shape::UserAgent);
    }
    if v.trim().len() == 10 && method::parse::date(v).is_some() {
        out.push(Shape::Date);
    } else if method::parse::timestamp_micros(v).is_some() {
        out.push(Shape::Timestamp);
    }
    if UUID.is_match(v) {
        out.push(Shape::Uuid);
    } else if HEX.is_match(v) && v.bytes().any(|b| b.is_ascii_alphabetic()) {
        out.push(Shape::Hex);
    }
    if INTEGER.is_match(v) {
        out.push(Shape::Integer);
    } else if DECIMAL.is_match(v) {
        out.push(Shape::Decimal);
    }
    if identifiers::person_like(v) {
        out.push(Shape::PersonName);
    }
}

/// True and false as exports write them.
fn boolean(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "t" | "f" | "yes" | "no" | "y" | "n" | "0" | "1"
    )
}

/// Counts the sampled values of one column (`None` or empty: no value) and names its shape.
pub fn profile<'a>(sample: impl IntoIterator<Item = Option<&'a str>>) -> Profile {
    let mut rows = 0usize;
    let mut values = 0usize;
    let mut chars = 0usize;
    let mut with_space = 0usize;
    let mut tokens = 0usize;
    let mut booleans = 0usize;
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut digit_lengths: HashSet<usize> = HashSet::new();
    let mut counts: BTreeMap<Shape, usize> = BTreeMap::new();
    let mut holding: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut found = Vec::new();
    for v in sample {
        rows += 1;
        let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        values += 1;
        chars += v.chars().count();
        with_space += usize::from(v.contains(char::is_whitespace));
        tokens += usize::from(TOKEN.is_match(v));
        booleans += usize::from(boolean(v));
        distinct.insert(v);
        let pattern = identifiers::pattern(v);
        found.clear();
        shapes(v, pattern, &mut found);
        for s in &found {
            *counts.entry(*s).or_default() += 1;
        }
        if INTEGER.is_match(v) {
            digit_lengths.insert(v.trim_start_matches(['+', '-']).len());
        }
        if let Some(p) = pattern {
            *holding.entry(p).or_default() += 1;
        }
    }
    let share = |n: usize| n as f64 / values.max(1) as f64;
    let mean_chars = chars / values.max(1);
    let unique = values >= 2 && distinct.len() == values;
    let mut profile = Profile {
        rows,
        values,
        distinct: distinct.len(),
        looks: Looks::Mixed,
        share: 1.0,
        mean_chars,
        holding,
    };
    if values == 0 {
        profile.looks = Looks::Empty;
        profile.holding.clear();
        return profile;
    }
    let shape = SHAPES
        .iter()
        .copied()
        .find(|s| share(counts.get(s).copied().unwrap_or(0)) >= SHARE);
    let few = distinct.len() <= MAX_CATEGORIES && distinct.len() * 5 <= values;
    let (looks, n) = match shape {
        Some(Shape::Email) => (Looks::Email, counts[&Shape::Email]),
        Some(Shape::Phone) => (Looks::Phone, counts[&Shape::Phone]),
        Some(Shape::Identifier) => {
            // The pattern most of them hold, by name.
            let name = profile
                .holding
                .iter()
                .filter(|(p, _)| matches!(**p, "IIN/BIN" | "payment card number"))
                .max_by_key(|(_, n)| **n)
                .map(|(p, _)| *p)
                .unwrap_or("IIN/BIN");
            (Looks::Identifier(name), counts[&Shape::Identifier])
        }
        Some(Shape::Ip) => (Looks::Ip, counts[&Shape::Ip]),
        Some(Shape::Url) => (Looks::Url, counts[&Shape::Url]),
        Some(Shape::UserAgent) => (Looks::UserAgent, counts[&Shape::UserAgent]),
        Some(Shape::Date) => (Looks::Date, counts[&Shape::Date]),
        Some(Shape::Timestamp) => (Looks::Timestamp, counts[&Shape::Timestamp]),
        Some(s @ (Shape::Uuid | Shape::Hex)) => {
            let shape = if s == Shape::Uuid {
                IdShape::Uuid
            } else {
                IdShape::Hex
            };
            (Looks::Id { unique, shape }, counts[&s])
        }
        Some(Shape::Integer) => {
            // An id: all different and not tiny numbers, or all of one length of six digits
            // or more (`1000001`…); other integers are numbers.
            let one_length = digit_lengths.len() == 1 && digit_lengths.iter().all(|&l| l >= 6);
            let n = counts[&Shape::Integer];
            if (unique && mean_chars >= 4) || one_length {
                (
                    Looks::Id {
                        unique,
                        shape: IdShape::Integer,
                    },
                    n,
                )
            } else if few && booleans == values {
                (Looks::Category { boolean: true }, n)
            } else {
                (Looks::Number { integer: true }, n)
            }
        }
        Some(Shape::Decimal) => (Looks::Number { integer: false }, counts[&Shape::Decimal]),
        Some(Shape::PersonName) if !few => (Looks::PersonName, counts[&Shape::PersonName]),
        _ if few => (
            Looks::Category {
                boolean: booleans == values,
            },
            values,
        ),
        _ if share(tokens) >= SHARE && with_space == 0 && distinct.len() * 2 > values => (
            Looks::Id {
                unique,
                shape: IdShape::Token,
            },
            tokens,
        ),
        _ if share(with_space) >= 0.5 && mean_chars >= 15 => (Looks::FreeText, values),
        _ => (Looks::Mixed, values),
    };
    profile.looks = looks;
    profile.share = share(n);
    // A column that is an identifier does not also "hold" it.
    let own = match looks {
        Looks::Email => Some("e-mail address"),
        Looks::Phone => Some("phone number"),
        Looks::Identifier(p) => Some(p),
        Looks::Ip => Some("IP address"),
        _ => None,
    };
    if let Some(own) = own {
        profile.holding.remove(own);
    }
    // Version numbers in user agents (`Chrome/120.0.0.0`) read as IPv4 addresses; the
    // `user_agent` method keeps only families, and saying "holds IP addresses" would mislead.
    if looks == Looks::UserAgent {
        profile.holding.remove("IP address");
    }
    profile
}

impl Profile {
    /// A column whose values have no text form, of `rows` sampled rows.
    pub fn not_text(rows: usize) -> Profile {
        Profile {
            rows,
            values: 0,
            distinct: 0,
            looks: Looks::NotText,
            share: 1.0,
            mean_chars: 0,
            holding: BTreeMap::new(),
        }
    }

    /// What the column looks like, with the counts that say so: `an e-mail address (98% of
    /// 1000 sampled values)`. Counts and shape names only, never a value.
    pub fn describe(&self) -> String {
        let pct = |share: f64| {
            let p = share * 100.0;
            if p > 99.0 && p < 100.0 {
                ">99".to_string()
            } else {
                format!("{p:.0}")
            }
        };
        let empty = self.rows - self.values;
        let of = if empty == 0 {
            format!("{} sampled values", self.values)
        } else {
            format!(
                "{} values; {empty} of {} sampled rows empty",
                self.values, self.rows
            )
        };
        let share = format!("{}% of {of}", pct(self.share));
        match self.looks {
            Looks::Empty => format!("empty in all {} sampled rows", self.rows),
            Looks::Email => format!("an e-mail address ({share})"),
            Looks::Phone => format!("a phone number ({share})"),
            Looks::Identifier(p) => format!("{} {p} ({share})", article(p)),
            Looks::PersonName => format!("a person's name ({share})"),
            Looks::Ip => format!("an IP address ({share})"),
            Looks::Url => format!("a URL ({share})"),
            Looks::UserAgent => format!("a user agent ({share})"),
            Looks::Date => format!("a date ({share})"),
            Looks::Timestamp => format!("a timestamp ({share})"),
            Looks::Id {
                unique: true,
                shape,
            } => {
                format!("an id (unique in {of}, {})", shape.describe())
            }
            Looks::Id {
                unique: false,
                shape,
            } => format!(
                "an id repeated across rows ({} distinct in {of}, {})",
                self.distinct,
                shape.describe()
            ),
            Looks::Number { integer: true } => {
                format!("a number, integers ({share}, {} distinct)", self.distinct)
            }
            Looks::Number { integer: false } => {
                format!("a number, decimals ({share}, {} distinct)", self.distinct)
            }
            Looks::Category { boolean: true } => {
                format!("a yes/no flag ({} distinct in {of})", self.distinct)
            }
            Looks::Category { boolean: false } => {
                format!("a set of categories ({} distinct in {of})", self.distinct)
            }
            Looks::FreeText => format!(
                "free text ({of}, {} characters on average)",
                self.mean_chars
            ),
            Looks::Mixed => format!(
                "no one pattern ({} distinct in {of}, {} characters on average)",
                self.distinct, self.mean_chars
            ),
            Looks::NotText => format!(
                "nested values, not text or numbers ({} sampled rows)",
                self.rows
            ),
        }
    }

    /// The action the column probably needs, in the job file's own words.
    pub fn suggestion(&self) -> &'static str {
        match self.looks {
            Looks::Empty => "drop, or look at more rows (--sample)",
            Looks::Email => {
                "a direct identifier: drop; or `pseudonymize` with `normalize = \"email\"` if \
                 people must be counted or joined by it"
            }
            Looks::Phone => {
                "a direct identifier: drop; or `pseudonymize` with `normalize = \"phone\"` if \
                 people must be counted or joined by it"
            }
            Looks::Identifier(_) => {
                "a direct identifier: drop; or `pseudonymize` if people must be counted or joined \
                 by it"
            }
            Looks::PersonName => "a direct identifier: drop",
            Looks::Ip => {
                "`generalize` with `method = \"ip_prefix\"` (a /24 network), `role = \"quasi\"`; \
                 or drop"
            }
            Looks::Url => {
                "`generalize` with `method = \"url\"` (scheme, host and path; query strings and \
                 ids go); or drop"
            }
            Looks::UserAgent => {
                "`generalize` with `method = \"user_agent\"` (browser / OS / device); or drop"
            }
            Looks::Date => {
                "a birth date: `generalize` with `method = \"birth_year\"` (or `\"age\"`); another \
                 date: `method = \"truncate\"` (`to = \"month\"`); `role = \"quasi\"` if it \
                 describes the person"
            }
            Looks::Timestamp => {
                "`generalize` with `method = \"truncate\"` (`to = \"day\"`, `\"month\"` or \
                 `\"year\"`); if it dates the row, also the table's `retention`"
            }
            Looks::Id { unique: true, .. } => {
                "`pseudonymize` if it is the person (the table's `subject`) or joins another \
                 table; else drop"
            }
            Looks::Id { unique: false, .. } => {
                "a person's or another table's id: `pseudonymize` (and `subject` if it is the \
                 person); else drop"
            }
            Looks::Number { integer: true } => {
                "`keep` with `type = \"int\"`, or `generalize` with `method = \"bins\"` \
                 (`role = \"quasi\"` if it describes the person)"
            }
            Looks::Number { integer: false } => {
                "`keep` with `type = \"float\"`, or `generalize` with `method = \"bins\"` \
                 (`role = \"quasi\"` if it describes the person)"
            }
            Looks::Category { boolean: true } => "`keep` with `type = \"bool\"`",
            Looks::Category { boolean: false } => {
                "`keep` (`role = \"quasi\"` if it describes the person: gender, city), or \
                 `generalize` with `method = \"hierarchy\"` to group values"
            }
            Looks::FreeText => "free text can say anything (names, addresses, e-mails): drop",
            Looks::Mixed => "look at it before choosing; drop until then",
            Looks::NotText => "drop (no method reads nested values)",
        }
    }

    /// The identifiers some values hold, as a sentence, if any: `3 values hold an e-mail
    /// address`.
    pub fn holds(&self) -> Option<String> {
        if self.holding.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .holding
            .iter()
            .map(|(p, n)| {
                let (verb, noun) = if *n == 1 {
                    ("value holds", format!("{} {p}", article(p)))
                } else {
                    ("values hold", plural(p))
                };
                format!("{n} {verb} {noun}")
            })
            .collect();
        Some(parts.join(", "))
    }
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

fn plural(pattern: &str) -> String {
    match pattern {
        "IIN/BIN" => "IIN/BINs".into(),
        "e-mail address" => "e-mail addresses".into(),
        "IP address" => "IP addresses".into(),
        p => format!("{p}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looks(values: &[&str]) -> Looks {
        profile(values.iter().map(|v| Some(*v))).looks
    }

    fn many(f: impl Fn(usize) -> String, n: usize) -> Vec<String> {
        (0..n).map(f).collect()
    }

    fn looks_owned(values: &[String]) -> Looks {
        profile(values.iter().map(|v| Some(v.as_str()))).looks
    }

    #[test]
    fn the_sample_exports_shapes() {
        assert_eq!(
            looks(&["a.b1@inbox.kz", "c.d2@yandex.kz", "e@mail.ru"]),
            Looks::Email
        );
        assert_eq!(
            looks(&["8 (776) 672-15-39", "+77000474940", "87011234567"]),
            Looks::Phone
        );
        assert_eq!(
            looks(&["Мадина Серикбаева", "Софья Лебедева", "Aigerim Nurlanovna"]),
            Looks::PersonName
        );
        assert_eq!(
            looks(&["5.76.78.2", "37.150.3.194", "2a03:32c0::1"]),
            Looks::Ip
        );
        assert_eq!(
            looks(&[
                "https://shop.kz/promo/back-to-school",
                "https://shop.kz/catalog/audio?q=1",
                "http://a.kz/"
            ]),
            Looks::Url
        );
        assert_eq!(
            looks(&[
                "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.210 Mobile Safari/537.36",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            ]),
            Looks::UserAgent
        );
        assert_eq!(looks(&["1995-05-27", "1973-10-27"]), Looks::Date);
        assert_eq!(
            looks(&["2022-10-08T09:40:16+06:00", "2024-01-01 12:13:25"]),
            Looks::Timestamp
        );
    }

    #[test]
    fn ids_numbers_and_categories() {
        let ids = many(|i| (1_000_001 + i).to_string(), 100);
        assert_eq!(
            looks_owned(&ids),
            Looks::Id {
                unique: true,
                shape: IdShape::Integer
            }
        );
        // The same ids repeated (a person's id in an event table): still an id, by its length.
        let repeated = many(|i| (1_000_001 + i % 30).to_string(), 100);
        assert_eq!(
            looks_owned(&repeated),
            Looks::Id {
                unique: false,
                shape: IdShape::Integer
            }
        );
        let events = many(|i| format!("ev-{:012x}", i * 7919 + 0xabc), 100);
        assert_eq!(
            looks_owned(&events),
            Looks::Id {
                unique: true,
                shape: IdShape::Token
            }
        );
        let cookies = many(
            |i| format!("{:032x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15),
            100,
        );
        assert!(matches!(
            looks_owned(&cookies),
            Looks::Id {
                shape: IdShape::Hex,
                ..
            }
        ));
        let amounts = many(|i| format!("{}.{:02}", 100 + i * 37 % 900, i % 100), 100);
        assert_eq!(looks_owned(&amounts), Looks::Number { integer: false });
        let ages = many(|i| (18 + i % 60).to_string(), 100);
        assert_eq!(looks_owned(&ages), Looks::Number { integer: true });
        let genders = many(|i| ["F", "M"][i % 2].to_string(), 100);
        assert_eq!(looks_owned(&genders), Looks::Category { boolean: false });
        let flags = many(|i| ["true", "false"][i % 2].to_string(), 100);
        assert_eq!(looks_owned(&flags), Looks::Category { boolean: true });
        let notes = many(
            |i| format!("called back on day {i}, asked about the delivery of the order"),
            100,
        );
        assert_eq!(looks_owned(&notes), Looks::FreeText);
        assert_eq!(looks(&["", ""]), Looks::Empty);
    }

    #[test]
    fn what_a_profile_says_has_counts_never_values() {
        let mut values = many(|i| format!("person{i}@mail.kz"), 98);
        values.push("n/a".into());
        values.push("unknown".into());
        let p = profile(
            values
                .iter()
                .map(|v| Some(v.as_str()))
                .chain([None, Some("  ")]),
        );
        assert_eq!(p.looks, Looks::Email);
        let said = format!("{} {}", p.describe(), p.suggestion());
        assert_eq!(
            p.describe(),
            "an e-mail address (98% of 100 values; 2 of 102 sampled rows empty)"
        );
        for v in &values {
            assert!(!said.contains(v.as_str()), "{said}");
        }
        assert!(said.contains("normalize = \"email\""));
    }

    #[test]
    fn identifiers_inside_other_values_are_counted() {
        let urls = [
            "https://shop.kz/catalog/audio",
            "https://shop.kz/unsubscribe?email=a.b%40mail.kz",
            "https://shop.kz/cart",
        ];
        let p = profile(urls.iter().map(|v| Some(*v)));
        assert_eq!(p.looks, Looks::Url);
        assert_eq!(
            p.holds().as_deref(),
            Some("1 value holds an e-mail address")
        );
        // An e-mail column does not "hold" e-mail addresses on top of being them.
        let p = profile([Some("a@b.kz"), Some("c@d.kz")]);
        assert_eq!(p.holds(), None);
    }
}
