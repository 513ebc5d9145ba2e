//! How many people a few known facts single out in a written table: the report's estimate,
//! whatever the job enforces, so that nobody takes per-table k for an anonymous release.
//!
//! A person's **facts** are the distinct combinations of the table's quasi-identifier values
//! over their rows (an event's network, device and carrier, say). Someone who knows m of a
//! person's facts, and finds exactly one person in the release with all of them, has singled
//! that person out. For a sample of people, m of their facts are drawn at random (all of them
//! when they have fewer), and the share of the sample singled out that way is reported, for
//! m = 1, 2 and 3. The sample and the draws are seeded by the table and the run date, so a
//! re-run of a date gives the same figures.
//!
//! [`estimate`] works on plain (person, fact) pairs; [`pairs`] reads them from a written file
//! with polars.

use std::collections::HashMap;

use polars::prelude::*;
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde::Serialize;

use super::kanon::{ClassKey, subject_key};
use super::{CLASS_KEYS, SUBJECT};

/// People in the sample; all of them in smaller tables.
pub const SAMPLE: usize = 2_000;

/// What `m` known facts single out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    /// People sampled (all the table's people when they are fewer than [`SAMPLE`]).
    pub sample_people: u64,
    /// For m = 1, 2, 3: the share of the sampled people whom m of their facts, drawn at random,
    /// single out.
    pub singled_out_by: Vec<SingledOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingledOut {
    pub known_facts: usize,
    pub share: f64,
}

/// The estimate from (person, fact) pairs (duplicates allowed), with `seed` for the draws.
///
/// Only what the sample needs is gathered: the facts of the sampled people, then the people of
/// the facts drawn for them, each in one pass over the pairs (a table of every person's facts
/// would cost a list a person).
pub fn estimate(pairs: &[(u64, u64)], sample: usize, seed: u64) -> Option<Exposure> {
    let mut everyone: Vec<u64> = pairs.iter().map(|&(person, _)| person).collect();
    everyone.sort_unstable();
    everyone.dedup();
    if everyone.is_empty() {
        return None;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Sorted, so that the draw depends on the seed only.
    let chosen: Vec<u64> = if everyone.len() <= sample {
        everyone
    } else {
        everyone.sample(&mut rng, sample).copied().collect()
    };
    let mut facts: HashMap<u64, Vec<u64>> = chosen.iter().map(|&p| (p, Vec::new())).collect();
    for &(person, fact) in pairs {
        if let Some(own) = facts.get_mut(&person) {
            own.push(fact);
        }
    }
    for own in facts.values_mut() {
        own.sort_unstable();
        own.dedup();
    }
    // For m = 1, 2, 3, the facts drawn for each sampled person.
    let draws: Vec<Vec<Vec<u64>>> = (1..=3)
        .map(|m| {
            chosen
                .iter()
                .map(|p| {
                    let mut own = facts[p].clone();
                    own.shuffle(&mut rng);
                    own.truncate(m);
                    own
                })
                .collect()
        })
        .collect();
    let mut people: HashMap<u64, Vec<u64>> = draws
        .iter()
        .flatten()
        .flatten()
        .map(|&f| (f, Vec::new()))
        .collect();
    for &(person, fact) in pairs {
        if let Some(holders) = people.get_mut(&fact) {
            holders.push(person);
        }
    }
    for holders in people.values_mut() {
        holders.sort_unstable();
        holders.dedup();
    }
    let singled_out_by = draws
        .iter()
        .enumerate()
        .map(|(i, drawn)| {
            let alone = drawn
                .iter()
                .filter(|known| holders(known, &people) == 1)
                .count();
            SingledOut {
                known_facts: i + 1,
                share: alone as f64 / chosen.len() as f64,
            }
        })
        .collect();
    Some(Exposure {
        sample_people: chosen.len() as u64,
        singled_out_by,
    })
}

/// How many people hold every one of `known` facts, counted up to 2: whether the person is
/// alone is all the estimate needs, and common facts (a year) have hundreds of thousands of
/// holders, whose full intersection took 135 s at 10 M events.
fn holders(known: &[u64], people: &HashMap<u64, Vec<u64>>) -> usize {
    let mut lists: Vec<&Vec<u64>> = known.iter().filter_map(|f| people.get(f)).collect();
    if lists.len() < known.len() {
        return 0;
    }
    lists.sort_by_key(|l| l.len());
    let Some((first, rest)) = lists.split_first() else {
        return 0;
    };
    first
        .iter()
        .filter(|p| rest.iter().all(|l| l.binary_search(p).is_ok()))
        .take(2)
        .count()
}

/// The distinct (person, fact) pairs of a written table: the person from `subject`'s column,
/// the fact a fingerprint of the `qis` columns' values.
pub fn pairs(
    written: LazyFrame,
    subject: &str,
    qis: &[String],
    seed: u64,
) -> PolarsResult<Vec<(u64, u64)>> {
    // Fixed seeds: the same facts get the same fingerprints, and so the same draws, on a re-run.
    let key = ClassKey::with_seeds([seed, seed.rotate_left(32)]);
    let mut select = vec![subject_key(col(subject)).alias(SUBJECT)];
    select.extend(key.exprs(qis));
    let df = written
        .select(select)
        .filter(col(SUBJECT).is_not_null())
        .select([col(SUBJECT), col(CLASS_KEYS[0])])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let persons = df.column(SUBJECT)?.u64()?.clone();
    let facts = df.column(CLASS_KEYS[0])?.u64()?.clone();
    Ok(persons
        .iter()
        .zip(facts.iter())
        .filter_map(|(p, f)| Some((p?, f?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_by_hand() {
        // Person 1: facts 10, 11; person 2: 10, 12; person 3: 10 only.
        let pairs = [(1, 10), (1, 11), (2, 10), (2, 12), (3, 10), (1, 10)];
        let e = estimate(&pairs, 100, 7).unwrap();
        assert_eq!(e.sample_people, 3);
        // m = 2 (and 3): persons 1 and 2 know both their facts, held by them alone; person 3
        // has only fact 10, held by all three.
        assert!((e.singled_out_by[1].share - 2.0 / 3.0).abs() < 1e-9);
        assert!((e.singled_out_by[2].share - 2.0 / 3.0).abs() < 1e-9);
        // m = 1: a person is singled out only when the drawn fact is 11 or 12.
        let one = e.singled_out_by[0].share;
        assert!(
            [0.0, 1.0 / 3.0, 2.0 / 3.0]
                .iter()
                .any(|s| (one - s).abs() < 1e-9)
        );
    }

    #[test]
    fn everyone_alike_is_nobody_singled_out() {
        let pairs: Vec<(u64, u64)> = (0..50).flat_map(|p| [(p, 1), (p, 2)]).collect();
        let e = estimate(&pairs, 10, 1).unwrap();
        assert_eq!(e.sample_people, 10);
        assert!(e.singled_out_by.iter().all(|s| s.share == 0.0));
    }

    #[test]
    fn the_same_seed_gives_the_same_figures() {
        let pairs: Vec<(u64, u64)> = (0..500)
            .flat_map(|p| [(p, p % 7), (p, p % 13 + 100)])
            .collect();
        assert_eq!(estimate(&pairs, 100, 3), estimate(&pairs, 100, 3));
    }
}
