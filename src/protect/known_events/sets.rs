//! k^m on plain integers: people, their facts, and the sets of facts they share.
//!
//! A person's **facts** are the distinct classes of their rows (in a linked table, a class
//! includes the person's linked values). Someone who knows `m` of a person's facts looks for the
//! people who have all of them; k^m holds when, for every person and every set of at most `m`
//! of their facts, at least k people have that set (Terrovitis, Mamoulis and Kalnis,
//! "Privacy-preserving anonymization of set-valued data", VLDB 2008).
//!
//! [`Histories::enforce`] reaches it by suppression, Apriori-style, at the levels the job
//! fixed: sets of one fact first (a fact held by fewer than k people leaves everyone who has
//! it, as a class under k does), then pairs, then triples. For a set shared by fewer than k
//! people, each of its holders loses the set's least shared fact (the rows that carry it). Then
//! the counts are taken again, since removing a fact lowers the counts of others, until nothing
//! is under k. Facts are only ever removed, so this ends.
//!
//! Counting is bounded by design: a person with n facts holds C(n, j) sets of j facts, each
//! set is packed into one integer, and when the sets are many they are counted one slice of
//! their hashes at a time, so memory stays near [`SLICE_SETS`] sets whatever the table's size.
//! [`Histories::sets`] says what a count will cost before it starts.
//!
//! Nothing here knows the engine: the adapter in [`super`] gathers the entries.

use std::collections::{HashMap, HashSet};

use foldhash::fast::FixedState;

/// One person's fact: the rows of the person that carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub person: u64,
    pub fact: u128,
    pub rows: u64,
}

/// Sets counted in one slice, at most: a slice's table of counts takes about 40 bytes a
/// distinct set, so a slice stays under about 650 MB.
pub const SLICE_SETS: u64 = 16_000_000;

/// Sets a count may enumerate before the run refuses, as too costly to enumerate (about a
/// minute a round on one core): coarser facts, or a smaller `known_events`, bring it down.
pub const MAX_SETS: u64 = 4_000_000_000;

/// People and their facts, as dense integers.
pub struct Histories {
    /// Sorted by person, then fact; one entry a (person, fact).
    entries: Vec<Entry>,
    /// The dense id of each entry's fact.
    fact: Vec<u32>,
    /// The number of distinct facts.
    facts: usize,
    /// Each person's entries: a range of `entries`.
    people: Vec<std::ops::Range<usize>>,
}

/// The counts of one size of set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shared {
    /// The size of the sets: how many facts are known.
    pub known_facts: usize,
    /// The fewest people who share a set of that many facts of one person (`None`: nobody
    /// has that many facts).
    pub smallest: Option<u64>,
    /// People who hold such a set shared by fewer than k people: 0 when k^m holds.
    pub people_under_k: u64,
}

/// What [`Histories::enforce`] removed.
#[derive(Debug, Clone, Default)]
pub struct Enforced {
    /// The removed (person, fact) entries, each with its rows.
    pub removed: Vec<Entry>,
    pub rows: u64,
    pub people: u64,
    /// Rounds of counting until nothing was under k.
    pub rounds: u32,
    /// The rows of every entry, removed or not: the people's rows.
    pub rows_of_people: u64,
}

/// Why the sets were not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooMany {
    pub known_facts: usize,
    pub sets: u64,
}

impl Histories {
    /// From (person, fact, rows) entries in any order; repeated (person, fact) entries add up.
    pub fn new(mut entries: Vec<Entry>) -> Histories {
        entries.sort_unstable_by_key(|e| (e.person, e.fact));
        entries.dedup_by(|later, kept| {
            let same = later.person == kept.person && later.fact == kept.fact;
            if same {
                kept.rows += later.rows;
            }
            same
        });
        let mut ids: HashMap<u128, u32, FixedState> = HashMap::with_hasher(FixedState::default());
        let fact = entries
            .iter()
            .map(|e| {
                let next = ids.len() as u32;
                *ids.entry(e.fact).or_insert(next)
            })
            .collect();
        let mut people = Vec::new();
        let mut start = 0;
        for i in 1..=entries.len() {
            if i == entries.len() || entries[i].person != entries[start].person {
                people.push(start..i);
                start = i;
            }
        }
        Histories {
            entries,
            fact,
            facts: ids.len(),
            people,
        }
    }

    /// The sets of `j` facts the people hold, counted with repeats: what counting them costs.
    pub fn sets(&self, alive: &[bool], j: usize) -> u64 {
        self.people
            .iter()
            .map(|r| choose(alive[r.clone()].iter().filter(|a| **a).count() as u64, j))
            .sum()
    }

    /// The counts of every size of set up to `m`, over every entry: what was written holds
    /// k^m when no size has people under k.
    pub fn audit(&self, k: u32, m: usize) -> Result<Vec<Shared>, TooMany> {
        let alive = vec![true; self.entries.len()];
        let mut out = Vec::with_capacity(m);
        for j in 1..=m {
            let tally = self.tally(&alive, j, k)?;
            let mut people_under_k = 0;
            if !tally.rare.is_empty() {
                let mut ids = Vec::new();
                for r in &self.people {
                    self.alive_facts(r.clone(), &alive, &mut ids);
                    let mut hit = false;
                    for_each_set(&ids, j, &mut |key| hit |= tally.rare.contains(&key));
                    people_under_k += u64::from(hit);
                }
            }
            out.push(Shared {
                known_facts: j,
                smallest: tally.smallest,
                people_under_k,
            });
        }
        Ok(out)
    }

    /// Removes facts until every set of at most `m` facts of a person is shared by k people.
    pub fn enforce(&self, k: u32, m: usize) -> Result<Enforced, TooMany> {
        let n = self.entries.len();
        let mut alive = vec![true; n];
        let mut rounds = 0;
        loop {
            rounds += 1;
            let mut changed = false;
            // One fact: held by fewer than k people, it leaves them all.
            let support = self.support(&alive);
            for e in 0..n {
                if alive[e] && support[self.fact[e] as usize] < k {
                    alive[e] = false;
                }
            }
            let support = self.support(&alive);
            // Then the smallest size of set with one under k; the counts are taken again after.
            for j in 2..=m {
                let tally = self.tally(&alive, j, k)?;
                if tally.rare.is_empty() {
                    continue;
                }
                let mut local: Vec<(u32, usize)> = Vec::new();
                let mut ids = Vec::new();
                for r in &self.people {
                    local.clear();
                    local.extend(r.clone().filter(|&e| alive[e]).map(|e| (self.fact[e], e)));
                    local.sort_unstable();
                    ids.clear();
                    ids.extend(local.iter().map(|(f, _)| *f));
                    let mut rare_sets = Vec::new();
                    for_each_set(&ids, j, &mut |key| {
                        if tally.rare.contains(&key) {
                            rare_sets.push(key);
                        }
                    });
                    for key in rare_sets {
                        let members: Vec<usize> = unpack(key, j)
                            .map(|f| local[local.partition_point(|(g, _)| *g < f)].1)
                            .collect();
                        // Already broken by an earlier removal of this person's.
                        if members.iter().any(|&e| !alive[e]) {
                            continue;
                        }
                        // The least shared fact goes: it is the likeliest to be rare elsewhere.
                        if let Some(&e) = members
                            .iter()
                            .min_by_key(|&&e| (support[self.fact[e] as usize], self.fact[e]))
                        {
                            alive[e] = false;
                            changed = true;
                        }
                    }
                }
                break;
            }
            if !changed {
                break;
            }
        }
        let mut out = Enforced {
            rounds,
            rows_of_people: self.entries.iter().map(|e| e.rows).sum(),
            ..Enforced::default()
        };
        for r in &self.people {
            let before = out.removed.len();
            for e in r.clone().filter(|&e| !alive[e]) {
                out.rows += self.entries[e].rows;
                out.removed.push(self.entries[e]);
            }
            out.people += u64::from(out.removed.len() > before);
        }
        Ok(out)
    }

    /// People per fact among the alive entries.
    fn support(&self, alive: &[bool]) -> Vec<u32> {
        let mut support = vec![0u32; self.facts];
        for (e, f) in self.fact.iter().enumerate() {
            if alive[e] {
                support[*f as usize] += 1;
            }
        }
        support
    }

    /// A person's alive facts, ascending, into `ids`.
    fn alive_facts(&self, r: std::ops::Range<usize>, alive: &[bool], ids: &mut Vec<u32>) {
        ids.clear();
        ids.extend(r.filter(|&e| alive[e]).map(|e| self.fact[e]));
        ids.sort_unstable();
    }

    /// The sets of `j` facts held by fewer than k people, and the fewest people sharing one,
    /// counted one slice of sets at a time.
    fn tally(&self, alive: &[bool], j: usize, k: u32) -> Result<Tally, TooMany> {
        let sets = self.sets(alive, j);
        if sets > MAX_SETS {
            return Err(TooMany {
                known_facts: j,
                sets,
            });
        }
        Ok(self.count_sets(alive, j, k, sets.div_ceil(SLICE_SETS).max(1), sets))
    }

    /// [`Histories::tally`] in `slices` slices of the sets' hashes (`sets` of them in all).
    fn count_sets(&self, alive: &[bool], j: usize, k: u32, slices: u64, sets: u64) -> Tally {
        let mut out = Tally {
            rare: HashSet::with_hasher(FixedState::default()),
            smallest: None,
        };
        let mut ids = Vec::new();
        for slice in 0..slices {
            let mut counts: HashMap<u128, u32, FixedState> = HashMap::with_capacity_and_hasher(
                (sets / slices).min(SLICE_SETS) as usize / 4,
                FixedState::default(),
            );
            for r in &self.people {
                self.alive_facts(r.clone(), alive, &mut ids);
                for_each_set(&ids, j, &mut |key| {
                    if slices == 1 || slice_of(key, slices) == slice {
                        *counts.entry(key).or_insert(0) += 1;
                    }
                });
            }
            for (key, n) in counts {
                let n64 = u64::from(n);
                out.smallest = Some(out.smallest.map_or(n64, |s: u64| s.min(n64)));
                if n < k {
                    out.rare.insert(key);
                }
            }
        }
        out
    }
}

struct Tally {
    rare: HashSet<u128, FixedState>,
    smallest: Option<u64>,
}

/// n choose j, saturating.
fn choose(n: u64, j: usize) -> u64 {
    let mut c: u64 = 1;
    for i in 0..j as u64 {
        if n < j as u64 {
            return 0;
        }
        c = c.saturating_mul(n - i) / (i + 1);
    }
    c
}

/// Every set of `j` of `ids` (ascending, distinct, j ≤ 4), packed 32 bits a fact.
fn for_each_set(ids: &[u32], j: usize, f: &mut impl FnMut(u128)) {
    fn go(ids: &[u32], from: usize, left: usize, key: u128, f: &mut impl FnMut(u128)) {
        if left == 0 {
            f(key);
            return;
        }
        for i in from..=ids.len() - left {
            go(ids, i + 1, left - 1, (key << 32) | u128::from(ids[i]), f);
        }
    }
    if j >= 1 && ids.len() >= j {
        go(ids, 0, j, 0, f);
    }
}

/// The facts of a packed set of `j`.
fn unpack(key: u128, j: usize) -> impl Iterator<Item = u32> {
    (0..j).map(move |i| (key >> (32 * (j - 1 - i))) as u32)
}

fn slice_of(key: u128, slices: u64) -> u64 {
    let mixed =
        ((key as u64) ^ ((key >> 64) as u64).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 32) % slices
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(people: &[&[u128]]) -> Vec<Entry> {
        people
            .iter()
            .enumerate()
            .flat_map(|(p, facts)| {
                facts.iter().map(move |f| Entry {
                    person: p as u64,
                    fact: *f,
                    rows: 1,
                })
            })
            .collect()
    }

    /// Every set of up to `m` facts of each person, counted by brute force over all people:
    /// the smallest share and the people with a set under k.
    fn brute(people: &[Vec<u128>], k: u64, m: usize) -> Vec<(Option<u64>, u64)> {
        let mut out = Vec::new();
        for j in 1..=m {
            let mut smallest = None;
            let mut under = 0;
            for facts in people {
                let mut mine: Vec<u128> = facts.clone();
                mine.sort();
                mine.dedup();
                let mut hit = false;
                let mut sets = Vec::new();
                subsets(&mine, j, &mut Vec::new(), 0, &mut sets);
                for s in sets {
                    let n = people
                        .iter()
                        .filter(|o| s.iter().all(|f| o.contains(f)))
                        .count() as u64;
                    smallest = Some(smallest.map_or(n, |x: u64| x.min(n)));
                    hit |= n < k;
                }
                under += u64::from(hit);
            }
            out.push((smallest, under));
        }
        out
    }

    fn subsets(of: &[u128], j: usize, cur: &mut Vec<u128>, from: usize, out: &mut Vec<Vec<u128>>) {
        if cur.len() == j {
            out.push(cur.clone());
            return;
        }
        for i in from..of.len() {
            cur.push(of[i]);
            subsets(of, j, cur, i + 1, out);
            cur.pop();
        }
    }

    #[test]
    fn sets_pack_and_unpack() {
        let mut got = Vec::new();
        for_each_set(&[1, 5, 9, 12], 3, &mut |k| {
            got.push(unpack(k, 3).collect::<Vec<_>>())
        });
        assert_eq!(
            got,
            [[1, 5, 9], [1, 5, 12], [1, 9, 12], [5, 9, 12]].map(|a| a.to_vec())
        );
        assert_eq!((choose(4, 3), choose(2, 3), choose(10, 2)), (4, 0, 45));
    }

    /// Three people share {a, b}; two share {a, c}: at k = 3 and m = 2 the pair (a, c) is
    /// under k, and each of its holders loses c (the less shared fact), not a.
    #[test]
    fn a_rare_pair_costs_its_holders_the_rarer_fact() {
        let (a, b, c) = (1, 2, 3);
        let people: Vec<Vec<u128>> =
            vec![vec![a, b, c], vec![a, b, c], vec![a, b], vec![c], vec![a]];
        let refs: Vec<&[u128]> = people.iter().map(|v| v.as_slice()).collect();
        let h = Histories::new(entries(&refs));
        let before = h.audit(3, 2).unwrap();
        assert_eq!(before[0].smallest, Some(3));
        assert_eq!(before[1].smallest, Some(2));
        assert_eq!(before[1].people_under_k, 2);
        let done = h.enforce(3, 2).unwrap();
        // (a, c) is rare for people 0 and 1: c (3 holders) goes rather than a (4). Then c has
        // one holder left and leaves everyone.
        let mut gone: Vec<(u64, u128)> = done.removed.iter().map(|e| (e.person, e.fact)).collect();
        gone.sort();
        assert_eq!(gone, [(0, c), (1, c), (3, c)]);
        assert_eq!((done.rows, done.people), (3, 3));
        let left: Vec<Vec<u128>> = people
            .iter()
            .enumerate()
            .map(|(p, f)| {
                f.iter()
                    .copied()
                    .filter(|x| !gone.contains(&(p as u64, *x)))
                    .collect()
            })
            .collect();
        assert!(brute(&left, 3, 2).iter().all(|(_, under)| *under == 0));
    }

    /// On random histories, whatever k and m: after enforcing, brute force finds no set of at
    /// most m facts shared by fewer than k people, the audit agrees with brute force before and
    /// after, and counting in slices changes nothing.
    #[test]
    fn enforced_histories_hold_k_m_by_brute_force() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..30 {
            let people_n = rng.random_range(5..60);
            let facts_n = rng.random_range(2..9);
            let people: Vec<Vec<u128>> = (0..people_n)
                .map(|_| {
                    let n = rng.random_range(1..6);
                    let mut f: Vec<u128> = (0..n)
                        .map(|_| rng.random_range(0..facts_n) as u128 * 1_000_003)
                        .collect();
                    f.sort();
                    f.dedup();
                    f
                })
                .collect();
            let refs: Vec<&[u128]> = people.iter().map(|v| v.as_slice()).collect();
            let h = Histories::new(entries(&refs));
            let k = rng.random_range(2..5);
            let m = rng.random_range(1..4);
            let audit = h.audit(k, m).unwrap();
            let expect = brute(&people, u64::from(k), m);
            let got: Vec<(Option<u64>, u64)> = audit
                .iter()
                .map(|s| (s.smallest, s.people_under_k))
                .collect();
            assert_eq!(got, expect, "round {round}: audit before");
            let done = h.enforce(k, m).unwrap();
            let left: Vec<Vec<u128>> = people
                .iter()
                .enumerate()
                .map(|(p, f)| {
                    f.iter()
                        .copied()
                        .filter(|x| {
                            !done
                                .removed
                                .iter()
                                .any(|e| e.person == p as u64 && e.fact == *x)
                        })
                        .collect()
                })
                .collect();
            for (j, (_, under)) in brute(&left, u64::from(k), m).iter().enumerate() {
                assert_eq!(*under, 0, "round {round}: sets of {} under k = {k}", j + 1);
            }
            let rows: u64 = done.removed.iter().map(|e| e.rows).sum();
            assert_eq!(rows, done.rows);
        }
    }

    #[test]
    fn slices_count_as_one() {
        let people: Vec<Vec<u128>> = (0..200u128)
            .map(|p| (0..6).map(|i| (p * 7 + i * 13) % 23).collect())
            .collect();
        let refs: Vec<&[u128]> = people.iter().map(|v| v.as_slice()).collect();
        let h = Histories::new(entries(&refs));
        let alive = vec![true; h.entries.len()];
        let sets = h.sets(&alive, 2);
        let one = h.count_sets(&alive, 2, 9, 1, sets);
        assert!(!one.rare.is_empty());
        for slices in [2, 5, 17] {
            let many = h.count_sets(&alive, 2, 9, slices, sets);
            assert_eq!(one.smallest, many.smallest, "{slices} slices");
            assert_eq!(one.rare, many.rare, "{slices} slices");
        }
    }

    #[test]
    fn repeated_entries_add_up() {
        let h = Histories::new(vec![
            Entry {
                person: 1,
                fact: 5,
                rows: 2,
            },
            Entry {
                person: 1,
                fact: 5,
                rows: 3,
            },
        ]);
        assert_eq!(h.entries.len(), 1);
        assert_eq!(h.entries[0].rows, 5);
        assert_eq!(h.sets(&[true], 1), 1);
        assert_eq!(h.sets(&[true], 2), 0);
    }
}
