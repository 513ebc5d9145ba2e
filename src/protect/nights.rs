//! Across nights: what the releases of several nights say about a person, together.
//!
//! Stable pseudonyms let an analyst who kept every night put a person's rows side by side.
//! Where the generalization differs between nights, the nights together say more than either:
//! Mondrian's `31-35` one night and `33-38` the next make `33-35`; an age band that moves on the
//! night of a birthday gives the birth date. Each release can hold k while their intersection
//! does not. This module computes the intersected view, engine-free, from the people's labels.
//!
//! A person's knowledge is kept column by column as a list of segments:
//! - a value compatible with the last segment narrows it: equal labels stay; `*` (generalized
//!   away) gives the other; two numeric ranges give their overlap (`31-35` ∩ `33-38` = `33-35`,
//!   closed ranges, `70+` open above, `<5000` open below; ranges that only share an edge have
//!   moved);
//! - any other value (two disjoint ranges, two different hierarchy nodes, a date at another
//!   precision, a missing value beside a present one) starts a new segment, **marked with the
//!   last night the old value was seen and the night the new one appeared**: a band that moves
//!   on a given night is a fact about that night.
//!
//! The whole list is the person's class in the intersected view (counted by a 128-bit
//! fingerprint of it). It is a function of what the releases show, so two people with the same
//! list are indistinguishable to that analyst; two people with different lists may still be (a
//! segment kept apart where a hierarchy would have nested), so the check errs towards smaller
//! classes, never larger. Values are held as numbers, each pair narrowed once.
//!
//! The check counts the people of the current release by that list. People new tonight are
//! classed by tonight's values alone; people with history by their whole list. A class under k
//! names the people to suppress; [`Check::moved`] names the columns whose values moved for them.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

/// A missing value's label: no release writes it.
const MISSING: &str = "\u{0}";
/// The top of every hierarchy and the label of a value generalized away.
const STAR: &str = "*";
/// In a fingerprint: tonight's value of a person tonight's release leaves out.
const ABSENT: u32 = u32::MAX;
/// In a fingerprint: between a person's knowledge and tonight's values.
const TONIGHT: u32 = u32::MAX - 1;

/// One person's knowledge of one column, as value numbers (see [`Values`]): the first value and
/// its narrowings, then every value that could not nest with the one before, with the last
/// night the one before was seen and the night it appeared (the nights between bound when it
/// moved: a night the person was left out does not hide the move).
#[derive(Debug, Clone, Default, PartialEq)]
struct Known {
    first: u32,
    moves: Vec<(u32, u32, u32)>,
    /// The last night the last value was seen.
    seen: u32,
}

impl Known {
    fn new(night: u32, value: u32) -> Known {
        Known {
            first: value,
            moves: Vec::new(),
            seen: night,
        }
    }

    fn last(&self) -> u32 {
        self.moves.last().map_or(self.first, |m| m.2)
    }

    /// `value` as released on night `night`.
    fn see(&mut self, night: u32, value: u32, values: &mut Values) {
        match values.narrow(self.last(), value) {
            Some(n) => match self.moves.last_mut() {
                Some(m) => m.2 = n,
                None => self.first = n,
            },
            None => self.moves.push((self.seen, night, value)),
        }
        self.seen = night;
    }

    /// Whether it says more than `value` alone.
    fn differs(&self, value: u32) -> bool {
        !self.moves.is_empty() || self.first != value
    }

    fn hash_into(&self, h: &mut Sha256) {
        h.update(self.first.to_le_bytes());
        h.update((self.moves.len() as u32).to_le_bytes());
        for (before, after, v) in &self.moves {
            h.update(before.to_le_bytes());
            h.update(after.to_le_bytes());
            h.update(v.to_le_bytes());
        }
    }
}

/// Every value of the history's columns as a number (one table for all columns: a value means
/// the same in any), with the narrowing of two values remembered: the history holds numbers,
/// not text, and narrows each pair of values once.
#[derive(Debug, Default)]
struct Values {
    ids: HashMap<String, u32>,
    text: Vec<String>,
    narrowed: HashMap<(u32, u32), Option<u32>>,
}

impl Values {
    fn id(&mut self, value: Option<&str>) -> u32 {
        let v = value.unwrap_or(MISSING);
        if let Some(id) = self.ids.get(v) {
            return *id;
        }
        let id = self.text.len() as u32;
        self.text.push(v.to_string());
        self.ids.insert(v.to_string(), id);
        id
    }

    fn narrow(&mut self, a: u32, b: u32) -> Option<u32> {
        if a == b {
            return Some(a);
        }
        if let Some(n) = self.narrowed.get(&(a, b)) {
            return *n;
        }
        let n = narrow(&self.text[a as usize], &self.text[b as usize])
            .map(|n| self.id(Some(n.as_str())));
        self.narrowed.insert((a, b), n);
        n
    }
}

/// A fingerprint of a person's knowledge (and, with `tonight`, their values tonight): the first
/// 128 bits of SHA-256. Classes of the view are counted by it, and a linking table counts its
/// rows' people by it; it is only compared within one history.
fn fingerprint(known: &[Known], tonight: Option<&[u32]>) -> [u64; 2] {
    let mut h = Sha256::new();
    for k in known {
        k.hash_into(&mut h);
    }
    if let Some(t) = tonight {
        h.update(TONIGHT.to_le_bytes());
        for v in t {
            h.update(v.to_le_bytes());
        }
    }
    let d = h.finalize();
    let half = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[i..i + 8]);
        u64::from_le_bytes(b)
    };
    [half(0), half(8)]
}

/// A closed range of numbers; the ends may be infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    lo: f64,
    hi: f64,
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A label as a range: `33`, `31-35`, `-5--1`, `70+`, `<5000`.
fn range(s: &str) -> Option<Range> {
    if let Some(x) = s.strip_suffix('+').and_then(number) {
        return Some(Range {
            lo: x,
            hi: f64::INFINITY,
        });
    }
    if let Some(x) = s
        .strip_prefix("<=")
        .or_else(|| s.strip_prefix('<'))
        .and_then(number)
    {
        return Some(Range {
            lo: f64::NEG_INFINITY,
            hi: x,
        });
    }
    if let Some(x) = number(s) {
        return Some(Range { lo: x, hi: x });
    }
    s.match_indices('-')
        .filter(|(i, _)| *i > 0)
        .find_map(|(i, _)| {
            let (lo, hi) = (number(&s[..i])?, number(&s[i + 1..])?);
            (lo <= hi).then_some(Range { lo, hi })
        })
}

fn range_label(r: Range) -> String {
    if r.lo == r.hi {
        format!("{}", r.lo)
    } else if r.hi == f64::INFINITY {
        format!("{}+", r.lo)
    } else if r.lo == f64::NEG_INFINITY {
        format!("<={}", r.hi)
    } else {
        format!("{}-{}", r.lo, r.hi)
    }
}

/// The narrower of two compatible values (`None`: they are not compatible). Ranges overlap;
/// an overlap that leaves only the edge two ranges share is a move, not a value (`bins`'
/// `<5000` and `5000-20000` do not meet).
fn narrow(a: &str, b: &str) -> Option<String> {
    if a == b || b == STAR {
        return Some(a.to_string());
    }
    if a == STAR {
        return Some(b.to_string());
    }
    let (x, y) = (range(a)?, range(b)?);
    let r = Range {
        lo: x.lo.max(y.lo),
        hi: x.hi.min(y.hi),
    };
    if r.lo > r.hi || (r.lo == r.hi && x.lo < x.hi && y.lo < y.hi) {
        return None;
    }
    Some(if r == x {
        a.to_string()
    } else if r == y {
        b.to_string()
    } else {
        range_label(r)
    })
}

/// One person of a night's release: their pseudonym and their values, one per column (`None`:
/// missing).
pub type Entry<'a> = (&'a str, Vec<Option<&'a str>>);

/// What the nights read so far say about each person, by pseudonym.
#[derive(Debug, Default)]
pub struct History {
    columns: usize,
    values: Values,
    people: HashMap<Box<str>, Box<[Known]>>,
    /// The nights read, oldest first.
    pub nights: u32,
}

impl History {
    /// A history of `columns` quasi-identifiers, empty.
    pub fn new(columns: usize) -> History {
        History {
            columns,
            ..History::default()
        }
    }

    /// Adds the next night's release, one entry a person: their pseudonym and their values,
    /// one per column (`None`: missing).
    pub fn add<'a>(&mut self, rows: impl IntoIterator<Item = Entry<'a>>) {
        let night = self.nights;
        for (person, values) in rows {
            let ids: Vec<u32> = values.into_iter().map(|v| self.values.id(v)).collect();
            match self.people.get_mut(person) {
                Some(known) => {
                    for (k, v) in known.iter_mut().zip(ids) {
                        k.see(night, v, &mut self.values);
                    }
                }
                None => {
                    let known = ids.into_iter().map(|v| Known::new(night, v)).collect();
                    self.people.insert(person.into(), known);
                }
            }
        }
        self.nights += 1;
    }

    /// The people seen on any night.
    pub fn people(&self) -> usize {
        self.people.len()
    }

    /// The people of earlier nights who are not in `tonight`, with the class of what the nights
    /// say of them (and of their absence tonight): an analyst joins their rows in a linking table
    /// to that.
    pub fn absent(&self, tonight: &HashSet<&str>) -> Vec<(&str, [u64; 2])> {
        let gone = vec![ABSENT; self.columns];
        self.people
            .iter()
            .filter(|(p, _)| !tonight.contains(p.as_ref()))
            .map(|(p, known)| (&**p, fingerprint(known, Some(&gone))))
            .collect()
    }

    /// Counts tonight's release (one entry a person, as in [`History::add`]) in the view the
    /// earlier nights and tonight give together; classes under `k` name their people.
    pub fn check(&mut self, tonight: &[Entry<'_>], k: u64) -> Check {
        let night = self.nights;
        let mut compared = 0u64;
        let mut differing = 0u64;
        let mut classes: HashMap<[u64; 2], Vec<usize>> = HashMap::new();
        let mut fingerprints = Vec::with_capacity(tonight.len());
        // By person, then column (one flat vector, not one a person): whether the knowledge says
        // more than tonight's value.
        let mut more: Vec<bool> = Vec::with_capacity(tonight.len() * self.columns);
        for (i, (person, values)) in tonight.iter().enumerate() {
            let now: Vec<u32> = values.iter().map(|v| self.values.id(*v)).collect();
            let known: Vec<Known> = match self.people.get(*person) {
                Some(known) => {
                    compared += 1;
                    let mut known = known.to_vec();
                    for (k, v) in known.iter_mut().zip(&now) {
                        k.see(night, *v, &mut self.values);
                    }
                    known
                }
                None => now.iter().map(|v| Known::new(night, *v)).collect(),
            };
            let start = more.len();
            more.extend(known.iter().zip(&now).map(|(k, v)| k.differs(*v)));
            differing += u64::from(more[start..].iter().any(|d| *d));
            classes
                .entry(fingerprint(&known, None))
                .or_default()
                .push(i);
            // Tonight's values too: a linking table's classes must hold k for an analyst with
            // tonight's release alone as well as for one with every night.
            fingerprints.push(fingerprint(&known, Some(&now)));
        }
        let mut under_k: Vec<usize> = Vec::new();
        let mut smallest: Option<u64> = None;
        for people in classes.values() {
            let n = people.len() as u64;
            smallest = Some(smallest.map_or(n, |s| s.min(n)));
            if n < k {
                under_k.extend(people);
            }
        }
        under_k.sort_unstable();
        let mut moved = vec![false; self.columns];
        for &i in &under_k {
            let says = &more[i * self.columns..(i + 1) * self.columns];
            for (m, d) in moved.iter_mut().zip(says) {
                *m |= *d;
            }
        }
        Check {
            compared,
            classes: classes.len() as u64,
            smallest,
            under_k,
            moved,
            fingerprints,
            differing,
        }
    }
}

/// Tonight's release in the view of every night so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Tonight's people who were in an earlier night's release.
    pub compared: u64,
    /// Classes of the intersected view, over tonight's people.
    pub classes: u64,
    /// The fewest people in one of them (`None`: nobody tonight).
    pub smallest: Option<u64>,
    /// Tonight's people (their indexes) in classes under k.
    pub under_k: Vec<usize>,
    /// By column: whether the nights together know more of one of those people than tonight
    /// says (the column moved for them).
    pub moved: Vec<bool>,
    /// Tonight's people of whom the nights together say more than tonight does.
    pub differing: u64,
    /// By person of tonight: their class in the view and tonight's values together (see
    /// [`History::absent`]).
    pub fingerprints: Vec<[u64; 2]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn narrowed(a: &str, b: &str) -> Option<String> {
        narrow(a, b)
    }

    #[test]
    fn ranges_overlap_and_stars_give_way() {
        assert_eq!(narrowed("31-35", "33-38").as_deref(), Some("33-35"));
        assert_eq!(narrowed("30-39", "35").as_deref(), Some("35"));
        assert_eq!(narrowed("70+", "60-79").as_deref(), Some("70-79"));
        assert_eq!(narrowed("<5000", "1000-9000").as_deref(), Some("1000-5000"));
        assert_eq!(narrowed("-5--1", "-3-2").as_deref(), Some("-3--1"));
        assert_eq!(narrowed("*", "South").as_deref(), Some("South"));
        assert_eq!(narrowed("South", "*").as_deref(), Some("South"));
        assert_eq!(narrowed("South", "South").as_deref(), Some("South"));
        // What cannot nest is kept apart.
        assert_eq!(narrowed("30-39", "40-49"), None);
        // Ranges that only touch have moved (half-open bins do not even share the edge).
        assert_eq!(narrowed("<5000", "5000-20000"), None);
        assert_eq!(narrowed("31-35", "35-38"), None);
        assert_eq!(narrowed("35", "31-35").as_deref(), Some("35"));
        assert_eq!(narrowed("South", "Almaty"), None);
        assert_eq!(narrowed("2024-03-01", "2024-01-01"), None);
        assert_eq!(narrow(MISSING, "5"), None);
        // Dates are not ranges.
        assert_eq!(range("2024-03-01"), None);
    }

    #[test]
    fn values_keep_their_text() {
        let mut v = Values::default();
        assert_ne!(v.id(Some("050000")), v.id(Some("50000")));
        assert_ne!(v.id(None), v.id(Some("")));
        assert_eq!(v.id(Some("1980-1989")), v.id(Some("1980-1989")));
        let (a, b) = (v.id(Some("31-35")), v.id(Some("33-38")));
        let n = v.narrow(a, b).unwrap();
        assert_eq!(v.text[n as usize], "33-35");
        assert_eq!(v.narrow(a, b), Some(n), "remembered");
    }

    #[test]
    fn a_night_left_out_does_not_hide_a_move() {
        // p moves on night 1 but is left out that night; q moves on night 2. Seen on night 2
        // only, both went from 30-39 to 40-49, but p's move is bounded by nights 0 and 2.
        let mut h = History::new(1);
        h.add(night(&[("p", "30-39"), ("q", "30-39")]));
        h.add(night(&[("q", "30-39")]));
        let c = h.check(&night(&[("p", "40-49"), ("q", "40-49")]), 2);
        assert_eq!(c.classes, 2, "{c:?}");
    }

    fn night<'a>(rows: &[(&'a str, &'a str)]) -> Vec<(&'a str, Vec<Option<&'a str>>)> {
        rows.iter().map(|(p, v)| (*p, vec![Some(*v)])).collect()
    }

    #[test]
    fn moving_ranges_narrow_people_below_k() {
        // Night 1: five people in 31-35. Night 2: three of them are in 33-38 with two others,
        // the other two in 29-32 with three others. Each night holds k = 5; together the
        // three are 33-35 and the two 31-32.
        let mut h = History::new(1);
        h.add(night(&[
            ("a", "31-35"),
            ("b", "31-35"),
            ("c", "31-35"),
            ("d", "31-35"),
            ("e", "31-35"),
        ]));
        let tonight = night(&[
            ("a", "33-38"),
            ("b", "33-38"),
            ("c", "33-38"),
            ("f", "33-38"),
            ("g", "33-38"),
            ("d", "29-32"),
            ("e", "29-32"),
            ("h", "29-32"),
            ("i", "29-32"),
            ("j", "29-32"),
        ]);
        let c = h.check(&tonight, 5);
        assert_eq!(c.compared, 5);
        assert_eq!(c.under_k.len(), 10, "every class splits: {c:?}");
        assert_eq!(c.smallest, Some(2));
        assert_eq!(c.moved, vec![true]);
        // Ranges that stay put hold k.
        let same = night(&[
            ("a", "31-35"),
            ("b", "31-35"),
            ("c", "31-35"),
            ("d", "31-35"),
            ("e", "31-35"),
        ]);
        let c = h.check(&same, 5);
        assert!(c.under_k.is_empty());
        assert_eq!((c.classes, c.smallest), (1, Some(5)));
    }

    #[test]
    fn a_band_that_moves_is_dated_to_its_night() {
        // Two people cross from 30-39 to 40-49, one on night 1, one on night 2. Each night they
        // sit in large classes; their histories differ by the night they moved.
        let mut h = History::new(1);
        let mut everyone: Vec<(String, &str)> =
            (0..8).map(|i| (format!("p{i}"), "40-49")).collect();
        everyone.push(("x".into(), "30-39"));
        everyone.push(("y".into(), "30-39"));
        let first: Vec<(&str, &str)> = everyone.iter().map(|(p, v)| (p.as_str(), *v)).collect();
        h.add(night(&first));
        let mut second = first.clone();
        second[8].1 = "40-49"; // x's birthday
        h.add(night(&second));
        let mut third = second.clone();
        third[9].1 = "40-49"; // y's birthday, a night later
        let c = h.check(&night(&third), 2);
        assert_eq!(c.under_k, vec![8, 9], "each mover is alone: {c:?}");
        assert_eq!(c.smallest, Some(1));
        // A band that never moves passes however many nights.
        let mut h = History::new(1);
        for _ in 0..7 {
            h.add(night(&first));
        }
        assert!(h.check(&night(&first), 2).under_k.is_empty());
    }

    #[test]
    fn the_absent_are_classed_by_their_history() {
        let mut h = History::new(1);
        h.add(night(&[("a", "30-39"), ("b", "30-39"), ("c", "40-49")]));
        let tonight = night(&[("a", "30-39")]);
        let c = h.check(&tonight, 1);
        let here: HashSet<&str> = ["a"].into();
        let mut absent = h.absent(&here);
        absent.sort();
        // b is known as a is, but absent tonight: another class, as is c.
        assert_eq!(absent.len(), 2);
        assert_ne!(absent[0].1, c.fingerprints[0]);
        assert_ne!(absent[0].1, absent[1].1);
        let mut h2 = History::new(1);
        h2.add(night(&[("d", "30-39")]));
        let here: HashSet<&str> = HashSet::new();
        // Known alike and absent alike: one class.
        assert_eq!(h2.absent(&here)[0].1, absent[0].1);
    }

    #[test]
    fn new_people_are_classed_by_tonight_alone() {
        let mut h = History::new(2);
        h.add(vec![("a", vec![Some("30-39"), Some("South")])]);
        let tonight = vec![
            ("a", vec![Some("30-39"), Some("*")]),
            ("b", vec![Some("30-39"), Some("South")]),
        ];
        // a's region is known from night 1: a and b are one class of two.
        let c = h.check(&tonight, 2);
        assert_eq!((c.compared, c.classes, c.smallest), (1, 1, Some(2)));
        assert!(c.under_k.is_empty());
        // Without b, a alone: the region moved (to `*`) and the nights know it.
        let c = h.check(&tonight[..1], 2);
        assert_eq!(c.moved, vec![false, true]);
    }
}
