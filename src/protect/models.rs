//! Privacy models beyond k, on the sensitive attributes (`role = "sensitive"`): distinct,
//! entropy and recursive (c, l)-diversity, and t-closeness. k alone leaks when everyone in a
//! class shares one sensitive value; these ask each class to hold enough different ones, or a
//! spread close to the table's.
//!
//! Like k, everything is counted in people: a class's histogram gives, per sensitive value, the
//! distinct subjects in the class who have it (ten events of one person with the same value are
//! one person). Without a subject column every row is a person. A class that breaks a model is
//! suppressed like a class under k, within the same limit. Each model is checked for each
//! sensitive attribute of the table on its own.
//!
//! All of them are monotone under generalization (merging two classes that hold a model gives a
//! class that holds it), which the level search relies on to rule out finer nodes.

pub use crate::job::models::{LDiversity, Models};
use serde::Serialize;

/// One sensitive attribute as the models see it: values as dense codes and the table's own
/// distribution over them.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Output column name.
    pub name: String,
    /// Numbers: codes follow the values' order and t-closeness uses the ordered distance.
    pub ordered: bool,
    /// The share of the table's (person, value) pairs holding each code; sums to 1.
    pub overall: Vec<f64>,
}

impl Attribute {
    /// The attribute from the people per code over the whole table (before suppression).
    pub fn new(name: impl Into<String>, ordered: bool, people_per_code: &[u64]) -> Attribute {
        let total: u64 = people_per_code.iter().sum();
        let overall = people_per_code
            .iter()
            .map(|&n| {
                if total > 0 {
                    n as f64 / total as f64
                } else {
                    0.0
                }
            })
            .collect();
        Attribute {
            name: name.into(),
            ordered,
            overall,
        }
    }
}

/// Tolerance for comparisons of computed figures with the job's thresholds: entropy and
/// distances are sums of floating-point terms, and a class exactly at the threshold holds.
const EPS: f64 = 1e-9;

impl Models {
    /// Whether a class with histogram `hist` ((code, people) pairs with people > 0, any order,
    /// each code once) holds every model for `attr`.
    pub fn holds(&self, hist: &[(u32, u64)], attr: &Attribute) -> bool {
        if let Some(l) = self.l_diversity {
            let ok = match l {
                LDiversity::Distinct { l } => distinct(hist) >= l as usize,
                LDiversity::Entropy { l } => entropy(hist) + EPS >= l.ln(),
                LDiversity::Recursive { c, l } => recursive(hist, c, l),
            };
            if !ok {
                return false;
            }
        }
        if let Some(t) = self.t_closeness
            && distance(hist, attr) > t + EPS
        {
            return false;
        }
        true
    }
}

/// Distinct sensitive values in the class.
pub fn distinct(hist: &[(u32, u64)]) -> usize {
    hist.iter().filter(|(_, n)| *n > 0).count()
}

/// The entropy (natural log) of the class's values; the class is entropy l-diverse when it is
/// at least ln(l), so exp(entropy) is the largest l it meets.
pub fn entropy(hist: &[(u32, u64)]) -> f64 {
    let total: u64 = hist.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    -hist
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(_, n)| {
            let p = *n as f64 / total;
            p * p.ln()
        })
        .sum::<f64>()
}

/// Recursive (c, l)-diversity: r1 < c · (r_l + … + r_m), frequencies in decreasing order. A
/// class with fewer than l values fails (the right side is empty).
pub fn recursive(hist: &[(u32, u64)], c: f64, l: u32) -> bool {
    let mut freq: Vec<u64> = hist.iter().map(|(_, n)| *n).filter(|n| *n > 0).collect();
    if l == 0 || freq.len() < l as usize {
        return false;
    }
    freq.sort_unstable_by(|a, b| b.cmp(a));
    let tail: u64 = freq[l as usize - 1..].iter().sum();
    (freq[0] as f64) < c * tail as f64
}

/// The earth mover's distance between the class's distribution and the table's: equal
/// distance (half the L1 distance) for unordered values, ordered distance (the cumulative
/// differences over m − 1) for ordered ones (Li et al. 2007).
pub fn distance(hist: &[(u32, u64)], attr: &Attribute) -> f64 {
    let m = attr.overall.len();
    let total: u64 = hist.iter().map(|(_, n)| n).sum();
    if m == 0 || total == 0 {
        return 0.0;
    }
    let mut p = vec![0.0; m];
    for &(code, n) in hist {
        if let Some(slot) = p.get_mut(code as usize) {
            *slot += n as f64 / total as f64;
        }
    }
    if attr.ordered {
        if m < 2 {
            return 0.0;
        }
        let mut cumulative = 0.0;
        let mut sum = 0.0;
        for (pi, qi) in p.iter().zip(&attr.overall) {
            cumulative += pi - qi;
            sum += cumulative.abs();
        }
        sum / (m as f64 - 1.0)
    } else {
        0.5 * p
            .iter()
            .zip(&attr.overall)
            .map(|(pi, qi)| (pi - qi).abs())
            .sum::<f64>()
    }
}

/// What a table's classes achieved, for the report and `verify`: the weakest class's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Achieved {
    /// The fewest distinct sensitive values in a kept class.
    pub min_distinct: Option<u64>,
    /// The lowest exp(entropy) of a kept class: the entropy l it meets.
    pub min_entropy_l: Option<f64>,
    /// The largest distance to the table's distribution of a kept class.
    pub max_distance: Option<f64>,
}

impl Achieved {
    /// Folds in one kept class's histogram.
    pub fn add(&mut self, hist: &[(u32, u64)], attr: &Attribute) {
        let d = distinct(hist) as u64;
        let e = entropy(hist).exp();
        let t = distance(hist, attr);
        self.min_distinct = Some(self.min_distinct.map_or(d, |m| m.min(d)));
        self.min_entropy_l = Some(self.min_entropy_l.map_or(e, |m| m.min(e)));
        self.max_distance = Some(self.max_distance.map_or(t, |m| m.max(t)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ordered: bool, people: &[u64]) -> Attribute {
        Attribute::new("s", ordered, people)
    }

    #[test]
    fn distinct_l_counts_values_with_people() {
        let m = Models {
            l_diversity: Some(LDiversity::Distinct { l: 3 }),
            t_closeness: None,
        };
        let a = attr(false, &[1, 1, 1, 1]);
        assert!(m.holds(&[(0, 5), (1, 1), (3, 1)], &a));
        assert!(!m.holds(&[(0, 5), (1, 1)], &a));
        // A value with nobody does not count.
        assert!(!m.holds(&[(0, 5), (1, 1), (2, 0)], &a));
    }

    #[test]
    fn entropy_l_by_hand() {
        // Two values, 1 and 1 people: entropy ln 2, so l = 2 holds exactly, 2.01 does not.
        let hist = [(0, 1), (1, 1)];
        assert!((entropy(&hist) - 2f64.ln()).abs() < 1e-12);
        let m = |l| Models {
            l_diversity: Some(LDiversity::Entropy { l }),
            t_closeness: None,
        };
        let a = attr(false, &[1, 1]);
        assert!(m(2.0).holds(&hist, &a));
        assert!(!m(2.01).holds(&hist, &a));
        // 3 and 1 people: −(¾ ln ¾ + ¼ ln ¼) = 0.5623, exp = 1.7548.
        assert!((entropy(&[(0, 3), (1, 1)]).exp() - 1.7548).abs() < 1e-4);
        assert!(!m(2.0).holds(&[(0, 3), (1, 1)], &a));
    }

    #[test]
    fn recursive_cl_by_hand() {
        // Frequencies 5, 3, 2, 1; l = 2: tail = 3 + 2 + 1 = 6. 5 < c·6 ⇔ c > 5/6.
        let hist = [(0, 5), (1, 3), (2, 2), (3, 1)];
        assert!(recursive(&hist, 1.0, 2));
        assert!(!recursive(&hist, 0.8, 2));
        // l = 3: tail = 2 + 1 = 3; c = 2: 5 < 6 holds, c = 1.5: 5 < 4.5 fails.
        assert!(recursive(&hist, 2.0, 3));
        assert!(!recursive(&hist, 1.5, 3));
        // Fewer than l values: fails whatever c.
        assert!(!recursive(&[(0, 1), (1, 1)], 100.0, 3));
        // Order of the histogram does not matter.
        assert!(recursive(&[(3, 1), (2, 2), (0, 5), (1, 3)], 2.0, 3));
    }

    #[test]
    fn equal_distance_is_half_the_l1_distance() {
        // Table: 3 values equally. Class: only value 0 → ½(⅔ + ⅓ + ⅓) = ⅔.
        let a = attr(false, &[10, 10, 10]);
        assert!((distance(&[(0, 4)], &a) - 2.0 / 3.0).abs() < 1e-12);
        // The table's own distribution is at distance 0.
        assert!(distance(&[(0, 1), (1, 1), (2, 1)], &a).abs() < 1e-12);
        let m = |t| Models {
            l_diversity: None,
            t_closeness: Some(t),
        };
        assert!(m(0.67).holds(&[(0, 4)], &a));
        assert!(!m(0.66).holds(&[(0, 4)], &a));
    }

    #[test]
    fn ordered_distance_counts_how_far_mass_moves() {
        // Li et al.'s salary example: values 3k…11k (9 values), table uniform; a class holding
        // {3k, 4k, 5k} is at 0.375, one holding {6k, 8k, 11k} at 0.167.
        let a = attr(true, &[1; 9]);
        let low = [(0, 1), (1, 1), (2, 1)];
        let spread = [(3, 1), (5, 1), (8, 1)];
        assert!((distance(&low, &a) - 0.375).abs() < 1e-3);
        assert!((distance(&spread, &a) - 0.1667).abs() < 1e-3);
        // Unordered, both are at ⅔: the order is what tells them apart.
        let u = attr(false, &[1; 9]);
        assert!((distance(&low, &u) - distance(&spread, &u)).abs() < 1e-12);
    }

    #[test]
    fn both_models_must_hold() {
        let m = Models {
            l_diversity: Some(LDiversity::Distinct { l: 2 }),
            t_closeness: Some(0.2),
        };
        let a = attr(false, &[1, 1]);
        assert!(m.holds(&[(0, 1), (1, 1)], &a));
        // Two values, but far from the table's half and half: ½(|0.9−0.5| + |0.1−0.5|) = 0.4.
        assert!(!m.holds(&[(0, 9), (1, 1)], &a));
    }

    #[test]
    fn achieved_keeps_the_weakest_class() {
        let a = attr(false, &[1, 1, 1]);
        let mut got = Achieved::default();
        got.add(&[(0, 1), (1, 1), (2, 1)], &a);
        got.add(&[(0, 2), (1, 2)], &a);
        assert_eq!(got.min_distinct, Some(2));
        assert!((got.min_entropy_l.unwrap() - 2.0).abs() < 1e-9);
        assert!((got.max_distance.unwrap() - 1.0 / 3.0).abs() < 1e-9);
    }
}
