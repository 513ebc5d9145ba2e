//! The level search over linked tables and event histories: one lattice over the quasi-
//! identifiers of a linked table (`users`) and of the table that links it (`activity`), each
//! node judged as the run would decide it.
//!
//! A node fixes every searched column's level in both tables. At that node:
//! 1. the linked table's classes under k are suppressed (within its limit), as on its own;
//! 2. each row of the linking table takes its person's class in the linked table, or *unknown*
//!    for a person it suppressed or never held (see [`super::link`]);
//! 3. with `known_events` above 1, the facts too rare for k^m go first ([`Histories::enforce`]);
//! 4. the linked classes under k are suppressed, and everything suppressed must fit the
//!    linking table's limit.
//!
//! The node's loss is the mean of the two tables' loss metrics (Iyengar's: a suppressed row
//! costs 1 in every column), each over its own columns. Nodes are visited in increasing order of
//! that loss with nothing suppressed, a lower bound, until the bound reaches the best found.
//! The linking table is not monotone: a coarser linked table keeps people whose rows then join
//! a class of their own, so a coarser node can fail where a finer one held. Only the linked
//! table's own failures prune (a node finer than a failed one fails on its own).
//!
//! The run re-decides at the chosen levels from the data. With k on the linked view (m = 1)
//! the search's figures are the run's. With k^m a person who holds several overlapping rare sets
//! loses facts in the order of the facts' identities: the run uses class fingerprints, the
//! search a hash of the labels (never the order the counts came in, so the choice is the same
//! every run), and the two may remove a few different facts. The run never exceeds the limit:
//! if its own removals do, it stops with exit 4.
//!
//! Without a linked table the same search serves k^m on one table: every person's linked class
//! is the same.

use std::collections::HashMap;
use std::time::Instant;

use foldhash::fast::FixedState;

use super::allowed_rows;
use super::base::{Base, Goal, NO_SUBJECT};
use super::known_events::sets::{Entry, Histories};
use super::search::{Lattice, NodeReport, Outcome, Searcher};

/// The largest lattice searched; beyond it the job must pin or bound levels.
pub const MAX_NODES: usize = 200_000;

/// The linked table's evaluations kept for reuse: each holds a class a person (16 bytes: 16 MB
/// a million people).
const SEEN: usize = 8;

/// An entry's class when it has none: a fact k^m removed.
const UNKNOWN: u32 = u32::MAX;

/// A person's linked class (the hash of its labels) when the linked table does not write them.
const NOBODY: u128 = u128::MAX;

/// A class's labels (and its linked class) as 128 bits, the same whatever the order the data
/// came in: k^m's choice between a person's overlapping rare facts follows the facts' order,
/// and the search must choose the same way every run.
fn labels_hash(labels: &[&str], linked: u128) -> u128 {
    use std::hash::BuildHasher;
    let a = FixedState::with_seed(0x243f_6a88_85a3_08d3).hash_one((labels, linked));
    let b = FixedState::with_seed(0x1319_8a2e_0370_7344).hash_one((labels, linked));
    (u128::from(a) << 64) | u128::from(b)
}

/// One table of the search and what it must hold.
pub struct Side<'a> {
    pub base: &'a Base,
    pub goal: Goal,
}

/// What to search. The linking base's subjects are in the linked base's space: a subject code
/// below the linked base's people is that person; any other is a person the linked table does
/// not hold.
pub struct Joint<'a> {
    pub linked: Option<Side<'a>>,
    pub linking: Side<'a>,
    /// Each person's fingerprint, by the linking base's subject codes: k^m visits people in
    /// their order, as the run does.
    pub people: &'a [u64],
    /// `known_events` of the linking table (1: k on the linked view).
    pub known_events: usize,
}

/// The optimum: each table's levels (relative to its base's dimensions) and figures.
#[derive(Debug, Clone)]
pub struct Best {
    pub linked: Option<NodeReport>,
    pub linking: NodeReport,
    /// The mean of the tables' losses.
    pub loss: f64,
    /// Rows of the linking table that k^m removed, within its `rows_suppressed`.
    pub facts_rows: u64,
}

#[derive(Debug, Clone)]
pub struct JointOutcome {
    pub best: Option<Best>,
    pub nodes_checked: u64,
    pub lattice_nodes: u64,
    pub seconds: f64,
}

impl JointOutcome {
    /// The per-table outcome the report shows (both tables share the lattice).
    pub fn outcome(&self, best: &NodeReport) -> Outcome {
        Outcome {
            best: Some(best.clone()),
            nodes_checked: self.nodes_checked,
            lattice_nodes: self.lattice_nodes,
            seconds: self.seconds,
        }
    }
}

/// One table's figures at a node.
#[derive(Debug, Clone, Default)]
struct Figures {
    feasible: bool,
    rows_suppressed: u64,
    facts_rows: u64,
    classes: u64,
    loss: f64,
    min_people: u64,
    kept_people: u64,
    sum_sq: f64,
}

impl Figures {
    /// A class of `people` and `rows`: suppressed under k, else kept.
    fn add_class(&mut self, people: u64, rows: u64, k: u64) {
        if people < k {
            self.rows_suppressed += rows;
        } else {
            self.classes += 1;
            self.min_people = self.min_people.min(people);
            self.kept_people += people;
            self.sum_sq += (rows as f64) * (rows as f64);
        }
    }

    fn report(&self, levels: &[usize], total: u64, entropy: f64) -> NodeReport {
        let kept = total - self.rows_suppressed;
        NodeReport {
            levels: levels.to_vec(),
            rows_suppressed: self.rows_suppressed,
            equivalence_classes: self.classes,
            loss: self.loss,
            entropy,
            discernibility: self.sum_sq + self.rows_suppressed as f64 * total as f64,
            avg_class_size: if self.classes > 0 {
                kept as f64 / self.classes as f64
            } else {
                0.0
            },
            max_risk: if self.classes > 0 && self.min_people > 0 {
                1.0 / self.min_people as f64
            } else {
                0.0
            },
            avg_risk: if self.kept_people > 0 {
                self.classes as f64 / self.kept_people as f64
            } else {
                0.0
            },
        }
    }
}

/// A base with its searcher (for the loss terms) and totals.
struct Prepared<'a> {
    base: &'a Base,
    goal: Goal,
    searcher: Searcher<'a>,
    total: u64,
}

impl<'a> Prepared<'a> {
    fn new(side: &Side<'a>) -> Prepared<'a> {
        Prepared {
            base: side.base,
            goal: side.goal,
            searcher: Searcher::new(side.base),
            total: side.base.rows.iter().sum(),
        }
    }

    fn dims(&self) -> usize {
        self.base.dims.len()
    }

    /// The code of entry `i` in dimension `d` at `level`.
    fn code(&self, i: usize, d: usize, level: usize) -> u32 {
        let c0 = self.base.codes[i * self.dims() + d];
        self.base.dims[d].map[level][c0 as usize]
    }

    fn subject(&self, i: usize) -> u32 {
        self.base.subjects.as_ref().map_or(NO_SUBJECT, |s| s[i])
    }

    /// Σ over `d` of entry `i`'s loss term at `levels`.
    fn cell_loss(&self, i: usize, levels: &[usize]) -> f64 {
        (0..self.dims())
            .map(|d| {
                self.searcher
                    .cell_loss(d, levels[d], self.code(i, d, levels[d]))
            })
            .sum()
    }

    /// The loss metric from the kept rows' loss terms and the suppressed rows.
    fn loss(&self, lm_kept: f64, suppressed: u64) -> f64 {
        let total = self.total as f64;
        if total == 0.0 {
            return 0.0;
        }
        match self.dims() {
            // No columns of its own: only what it suppresses is lost.
            0 => suppressed as f64 / total,
            n => (lm_kept + suppressed as f64 * n as f64) / (total * n as f64),
        }
    }
}

/// Interns class keys (codes at a node, and the linked class) as dense ids.
#[derive(Default)]
struct Classes {
    ids: HashMap<Vec<u32>, u32, FixedState>,
}

impl Classes {
    /// Each class's [`labels_hash`]: its codes' labels at `levels` in `p`'s dimensions, and the
    /// linked class's hash from the key's last four codes when `linked`.
    fn hashes(&self, p: &Prepared<'_>, levels: &[usize], linked: bool) -> Vec<u128> {
        let mut out = vec![0u128; self.len()];
        for (key, &id) in &self.ids {
            let labels: Vec<&str> = (0..p.dims())
                .map(|d| {
                    p.base.dims[d].labels[levels[d]]
                        .get(key[d] as usize)
                        .map_or("", String::as_str)
                })
                .collect();
            let linked = if linked {
                key[p.dims()..]
                    .iter()
                    .fold(0u128, |h, &c| (h << 32) | u128::from(c))
            } else {
                0
            };
            out[id as usize] = labels_hash(&labels, linked);
        }
        out
    }

    fn id(&mut self, key: &[u32]) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(key.to_vec(), id);
        id
    }
    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The linked table at `levels`: its figures, and each person's class as the hash of its labels
/// (or [`NOBODY`] when suppressed).
fn linked_at(p: &Prepared<'_>, levels: &[usize]) -> (Figures, Vec<u128>) {
    let n = p.base.rows.len();
    let mut classes = Classes::default();
    let mut key = vec![0u32; p.dims()];
    let mut class_of = Vec::with_capacity(n);
    for i in 0..n {
        for (d, k) in key.iter_mut().enumerate() {
            *k = p.code(i, d, levels[d]);
        }
        class_of.push(classes.id(&key));
    }
    let (people, rows) = tally(&class_of, |i| p.subject(i), &p.base.rows, classes.len());
    let k = u64::from(p.goal.k);
    let mut f = Figures {
        min_people: u64::MAX,
        ..Figures::default()
    };
    let mut lm_kept = 0.0;
    for (&people, &rows) in people.iter().zip(&rows) {
        f.add_class(people, rows, k);
    }
    // Subjects are dense codes: the largest is the number of people less one.
    let people_count = p.base.subjects.as_ref().map_or(0, |s| {
        s.iter()
            .filter(|&&s| s != NO_SUBJECT)
            .max()
            .map_or(0, |m| *m as usize + 1)
    });
    let hashes = classes.hashes(p, levels, false);
    let mut person_class = vec![NOBODY; people_count];
    for (i, &c) in class_of.iter().enumerate() {
        if people[c as usize] >= k {
            lm_kept += p.base.rows[i] as f64 * p.cell_loss(i, levels);
            let s = p.subject(i);
            if s != NO_SUBJECT {
                person_class[s as usize] = hashes[c as usize];
            }
        }
    }
    f.loss = p.loss(lm_kept, f.rows_suppressed);
    f.feasible = f.rows_suppressed <= allowed_rows(p.goal.max_suppression, p.total);
    (f, person_class)
}

/// People (distinct subjects, [`NO_SUBJECT`] counting for no one) and rows per class, from each
/// entry's class.
fn tally(
    class_of: &[u32],
    subject: impl Fn(usize) -> u32,
    rows: &[u64],
    classes: usize,
) -> (Vec<u64>, Vec<u64>) {
    let mut pairs: Vec<(u32, u32)> = class_of
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != UNKNOWN)
        .map(|(i, &c)| (c, subject(i)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut people = vec![0u64; classes];
    for (c, s) in pairs {
        if s != NO_SUBJECT {
            people[c as usize] += 1;
        }
    }
    let mut per_class = vec![0u64; classes];
    for (i, &c) in class_of.iter().enumerate() {
        if c != UNKNOWN {
            per_class[c as usize] += rows[i];
        }
    }
    (people, per_class)
}

/// The linking table at `levels`, its people's linked classes given.
fn linking_at(
    p: &Prepared<'_>,
    levels: &[usize],
    person_class: &[u128],
    people_keys: &[u64],
    known_events: usize,
) -> Figures {
    let n = p.base.rows.len();
    let mut classes = Classes::default();
    let dims = p.dims();
    // The codes, then the linked class's 128 bits as four codes.
    let mut key = vec![0u32; dims + 4];
    let mut class_of = Vec::with_capacity(n);
    for i in 0..n {
        for d in 0..dims {
            key[d] = p.code(i, d, levels[d]);
        }
        let s = p.subject(i);
        let linked = person_class.get(s as usize).copied().unwrap_or(NOBODY);
        for (j, k) in key[dims..].iter_mut().enumerate() {
            *k = (linked >> (96 - 32 * j)) as u32;
        }
        class_of.push(classes.id(&key));
    }
    let k = p.goal.k;
    let limit = allowed_rows(p.goal.max_suppression, p.total);
    let mut f = Figures {
        min_people: u64::MAX,
        ..Figures::default()
    };
    // k^m: the rare facts (a person's rows of one class) leave first.
    if known_events > 1 {
        let facts = classes.hashes(p, levels, true);
        let person = |i: usize| {
            let s = p.subject(i);
            people_keys.get(s as usize).copied().unwrap_or(u64::from(s))
        };
        let entries: Vec<Entry> = (0..n)
            .filter(|&i| p.subject(i) != NO_SUBJECT)
            .map(|i| Entry {
                person: person(i),
                fact: facts[class_of[i] as usize],
                rows: p.base.rows[i],
            })
            .collect();
        let Ok(done) = Histories::new(entries).enforce(k, known_events) else {
            // Too many sets to count at this node: it cannot be chosen.
            return f;
        };
        if done.rows > allowed_rows(p.goal.max_suppression, done.rows_of_people) {
            return f;
        }
        f.facts_rows = done.rows;
        let removed: std::collections::HashSet<(u64, u128), FixedState> =
            done.removed.iter().map(|e| (e.person, e.fact)).collect();
        for (i, c) in class_of.iter_mut().enumerate() {
            if p.subject(i) != NO_SUBJECT && removed.contains(&(person(i), facts[*c as usize])) {
                *c = UNKNOWN;
            }
        }
    }
    let (people, rows) = tally(&class_of, |i| p.subject(i), &p.base.rows, classes.len());
    f.rows_suppressed = f.facts_rows;
    for (&people, &rows) in people.iter().zip(&rows) {
        // A class whose every fact k^m removed is no class.
        if rows > 0 {
            f.add_class(people, rows, u64::from(k));
        }
    }
    let mut lm_kept = 0.0;
    for (i, &c) in class_of.iter().enumerate() {
        if c != UNKNOWN && people[c as usize] >= u64::from(k) {
            lm_kept += p.base.rows[i] as f64 * p.cell_loss(i, levels);
        }
    }
    f.loss = p.loss(lm_kept, f.rows_suppressed);
    f.feasible = f.rows_suppressed <= limit;
    f
}

/// Every node of the lattice, as levels per dimension of `bases` in order.
fn lattice(bases: &[&Base]) -> Result<Vec<Vec<usize>>, String> {
    let sizes: Vec<usize> = bases
        .iter()
        .flat_map(|b| b.dims.iter().map(|d| d.levels()))
        .collect();
    sizes
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .filter(|&n| n <= MAX_NODES)
        .ok_or_else(|| {
            format!(
                "the levels to search (with a linked table's, or for known_events) make more \
                 than {MAX_NODES} combinations: pin some columns with `level`, or bound them \
                 with `levels = [a, b]`"
            )
        })?;
    let lattice = Lattice::of_sizes(sizes);
    Ok((0..lattice.nodes).map(|id| lattice.levels(id)).collect())
}

/// The levels of both tables with the least mean loss at which both hold. `Err` when the lattice
/// is too large to search.
pub fn search(j: &Joint<'_>) -> Result<JointOutcome, String> {
    let t0 = Instant::now();
    let mut linked = j.linked.as_ref().map(Prepared::new);
    let mut linking = Prepared::new(&j.linking);
    let split = linked.as_ref().map_or(0, |l| l.dims());
    let bases: Vec<&Base> = linked
        .iter()
        .map(|l| l.base)
        .chain([linking.base])
        .collect();
    let nodes = lattice(&bases)?;
    let lattice_nodes = nodes.len() as u64;
    let tables = if linked.is_some() { 2.0 } else { 1.0 };
    let floor = |node: &[usize], linked: &Option<Prepared<'_>>, linking: &Prepared<'_>| {
        let (u, a) = node.split_at(split);
        (linked.as_ref().map_or(0.0, |l| l.searcher.loss_floor(u)) + linking.searcher.loss_floor(a))
            / tables
    };
    let mut order: Vec<(f64, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (floor(n, &linked, &linking), i))
        .collect();
    // Ties go to the finer node (fewer levels in all), then to the first in lattice order.
    order.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| {
                let sum = |i: usize| nodes[i].iter().sum::<usize>();
                sum(a.1).cmp(&sum(b.1))
            })
            .then(a.1.cmp(&b.1))
    });
    // Linked levels known to fail: every finer one fails too (the linked table on its own is
    // monotone).
    let mut failed: Vec<Vec<usize>> = Vec::new();
    let mut best: Option<(f64, usize, Figures, Figures)> = None;
    let mut checked = 0u64;
    let everyone: Vec<u128> = Vec::new();
    // The linked table's figures at recently seen levels (each node of a column of the
    // lattice shares them).
    let mut seen: HashMap<Vec<usize>, (Figures, std::rc::Rc<Vec<u128>>)> = HashMap::new();
    for (bound, i) in order {
        if best.as_ref().is_some_and(|b| bound >= b.0) {
            break;
        }
        let (u, a) = nodes[i].split_at(split);
        if failed.iter().any(|f| u.iter().zip(f).all(|(x, y)| x <= y)) {
            continue;
        }
        checked += 1;
        let (fu, person_class) = match &linked {
            Some(l) => {
                let (fu, classes) = match seen.get(u) {
                    Some((f, c)) => (f.clone(), c.clone()),
                    None => {
                        let (f, c) = linked_at(l, u);
                        let c = std::rc::Rc::new(c);
                        if seen.len() < SEEN {
                            seen.insert(u.to_vec(), (f.clone(), c.clone()));
                        }
                        (f, c)
                    }
                };
                if !fu.feasible {
                    failed.push(u.to_vec());
                    continue;
                }
                (Some(fu), classes)
            }
            // Without a linked table everyone's linked class is the same: unknown.
            None => (None, std::rc::Rc::new(everyone.clone())),
        };
        let fa = linking_at(&linking, a, &person_class, j.people, j.known_events);
        if !fa.feasible {
            continue;
        }
        let loss = (fu.as_ref().map_or(0.0, |f| f.loss) + fa.loss) / tables;
        if best.as_ref().is_none_or(|b| loss < b.0) {
            best = Some((loss, i, fu.unwrap_or_default(), fa));
        }
    }
    let best = best.map(|(loss, i, fu, fa)| {
        let (u, a) = nodes[i].split_at(split);
        let linked = linked.as_mut().map(|l| {
            let entropy = l.searcher.evaluate(u, l.goal.k).entropy;
            fu.report(u, l.total, entropy)
        });
        let entropy = linking.searcher.evaluate(a, linking.goal.k).entropy;
        Best {
            linked,
            linking: fa.report(a, linking.total, entropy),
            loss,
            facts_rows: fa.facts_rows,
        }
    });
    Ok(JointOutcome {
        best,
        nodes_checked: checked,
        lattice_nodes,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::job::MetricName;
    use crate::protect::base::{Dimension, dimension};
    use crate::protect::models::Models;

    /// A numeric dimension 0..n with levels: value, value/2, value/4, `*` (`levels` of them).
    fn numeric(name: &str, n: u32, levels: usize) -> Dimension {
        let values: Vec<Option<String>> = (0..n).map(|v| Some(v.to_string())).collect();
        dimension(name, levels, &values, |v, level| {
            let x: u32 = v?.parse().ok()?;
            Some(if level == 3 {
                "*".into()
            } else {
                (x >> level).to_string()
            })
        })
        .map(|(d, _)| d)
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// users linked by activity, both held to `g`.
    fn pair<'a>(
        users: &'a Base,
        activity: &'a Base,
        g: Goal,
        people: &'a [u64],
        known_events: usize,
    ) -> Joint<'a> {
        Joint {
            linked: Some(Side {
                base: users,
                goal: g,
            }),
            linking: Side {
                base: activity,
                goal: g,
            },
            people,
            known_events,
        }
    }

    /// People's fingerprints, in no particular order of their codes.
    fn keys() -> Vec<u64> {
        (0..10_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17))
            .collect()
    }

    fn goal(k: u32, max_suppression: f64) -> Goal {
        Goal {
            k,
            max_suppression,
            metric: MetricName::Loss,
            models: Models::default(),
        }
    }

    /// `people` users (one row each: age code, gender code) and their events (month codes),
    /// some by people the users table does not hold, some by nobody.
    fn bases(seed: u64, people: u32, events: usize) -> (Base, Base) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let users = Base {
            dims: vec![numeric("age", 16, 4), numeric("gender", 2, 2)],
            codes: (0..people)
                .flat_map(|_| [rng.random_range(0..16u32), rng.random_range(0..2u32)])
                .collect(),
            subjects: Some((0..people).collect()),
            rows: vec![1; people as usize],
            sensitive: Vec::new(),
        };
        let mut entries: HashMap<(u32, u32), u64> = HashMap::new();
        for _ in 0..events {
            let month = rng.random_range(0..8u32);
            let person = match rng.random_range(0..40u32) {
                0 => NO_SUBJECT,
                1 => people + rng.random_range(0..5u32),
                _ => rng.random_range(0..people),
            };
            *entries.entry((month, person)).or_default() += 1;
        }
        let mut entries: Vec<_> = entries.into_iter().collect();
        entries.sort();
        let activity = Base {
            dims: vec![numeric("month", 8, 4)],
            codes: entries.iter().map(|((m, _), _)| *m).collect(),
            subjects: Some(entries.iter().map(|((_, s), _)| *s).collect()),
            rows: entries.iter().map(|(_, r)| *r).collect(),
            sensitive: Vec::new(),
        };
        (users, activity)
    }

    /// The oracle: every node, each table judged by the per-table searcher's own evaluation
    /// (its roll-ups), the linked view built as a base with one more column, each person's
    /// users class, and the least mean loss among the nodes that hold.
    fn exhaustive(users: &Base, activity: &Base, gu: Goal, ga: Goal) -> Option<(f64, Vec<usize>)> {
        let mut best: Option<(f64, Vec<usize>)> = None;
        let mut su = Searcher::new(users);
        let total_u: u64 = users.rows.iter().sum();
        let total_a: u64 = activity.rows.iter().sum();
        for age in 0..4 {
            for gender in 0..2 {
                let lu = [age, gender];
                let ru = su.evaluate(&lu, gu.k);
                if ru.rows_suppressed > allowed_rows(gu.max_suppression, total_u) {
                    continue;
                }
                // Each person's class, or none when suppressed.
                let mut class: HashMap<Vec<u32>, HashSet<u32>> = HashMap::new();
                let mut key_of = HashMap::new();
                for p in 0..users.rows.len() {
                    let key: Vec<u32> = (0..2)
                        .map(|d| users.dims[d].map[lu[d]][users.codes[p * 2 + d] as usize])
                        .collect();
                    class.entry(key.clone()).or_default().insert(p as u32);
                    key_of.insert(p as u32, key);
                }
                let label = |s: u32| -> Option<String> {
                    let key = key_of.get(&s)?;
                    (class[key].len() >= gu.k as usize).then(|| format!("{key:?}"))
                };
                let labels: Vec<Option<String>> = activity
                    .subjects
                    .as_ref()
                    .map(|s| s.iter().map(|&s| label(s)).collect())
                    .unwrap_or_default();
                let mut distinct: Vec<Option<String>> = labels.clone();
                distinct.sort();
                distinct.dedup();
                let (linked_dim, code_of) =
                    dimension("linked", 1, &distinct, |v, _| v.map(str::to_string))
                        .unwrap_or_else(|e| panic!("{e}"));
                let view = Base {
                    dims: vec![activity.dims[0].clone(), linked_dim],
                    codes: (0..activity.rows.len())
                        .flat_map(|i| {
                            let c = code_of[distinct.binary_search(&labels[i]).unwrap_or(0)];
                            [activity.codes[i], c]
                        })
                        .collect(),
                    subjects: activity.subjects.clone(),
                    rows: activity.rows.clone(),
                    sensitive: Vec::new(),
                };
                for month in 0..4 {
                    let ra = Searcher::new(&view).evaluate(&[month, 0], ga.k);
                    let supp = ra.rows_suppressed;
                    if supp > allowed_rows(ga.max_suppression, total_a) {
                        continue;
                    }
                    // The view's loss is over two columns, the linked one costing nothing
                    // when kept: back to one column.
                    let kept_terms = ra.loss * total_a as f64 * 2.0 - supp as f64 * 2.0;
                    let loss_a = (kept_terms + supp as f64) / total_a as f64;
                    let loss = (ru.loss + loss_a) / 2.0;
                    if best.as_ref().is_none_or(|b| loss < b.0 - 1e-12) {
                        best = Some((loss, vec![age, gender, month]));
                    }
                }
            }
        }
        best
    }

    #[test]
    fn the_joint_search_finds_the_exhaustive_optimum() {
        let mut found = 0;
        for seed in 0..12 {
            let (users, activity) = bases(seed, 120, 900);
            for (k, supp) in [(3, 0.05), (5, 0.1), (8, 0.02)] {
                let (gu, ga) = (goal(k, supp), goal(k, supp));
                let joint = Joint {
                    linked: Some(Side {
                        base: &users,
                        goal: gu,
                    }),
                    linking: Side {
                        base: &activity,
                        goal: ga,
                    },
                    people: &keys(),
                    known_events: 1,
                };
                let out = search(&joint).unwrap_or_else(|e| panic!("{e}"));
                let oracle = exhaustive(&users, &activity, gu, ga);
                match (&out.best, &oracle) {
                    (None, None) => {}
                    (Some(b), Some((loss, _))) => {
                        found += 1;
                        assert!(
                            (b.loss - loss).abs() < 1e-9,
                            "seed {seed} k {k}: search {} vs exhaustive {loss} ({oracle:?}, {:?} \
                             {:?})",
                            b.loss,
                            b.linked.as_ref().map(|r| &r.levels),
                            b.linking.levels
                        );
                    }
                    _ => panic!(
                        "seed {seed} k {k}: search {:?}, exhaustive {oracle:?}",
                        out.best.map(|b| b.loss)
                    ),
                }
                assert_eq!(out.lattice_nodes, 4 * 2 * 4);
            }
        }
        assert!(found > 10, "too few cases had a solution: {found}");
    }

    /// What the search reports for the users table is the per-table searcher's evaluation.
    #[test]
    fn the_linked_tables_figures_are_its_own() {
        let (users, activity) = bases(3, 200, 2000);
        let g = goal(5, 0.05);
        let out = search(&pair(&users, &activity, g, &keys(), 1)).unwrap_or_else(|e| panic!("{e}"));
        let best = out.best.unwrap_or_else(|| panic!("no optimum"));
        let lu = best.linked.unwrap_or_else(|| panic!("no users figures"));
        let own = Searcher::new(&users).evaluate(&lu.levels, 5);
        assert_eq!(lu.rows_suppressed, own.rows_suppressed);
        assert_eq!(lu.equivalence_classes, own.equivalence_classes);
        assert!((lu.loss - own.loss).abs() < 1e-12);
    }

    /// k^m: the chosen node's linked facts, removed as the run removes them, leave no pair of
    /// a person's facts under k; a finer month fails where the search went coarser.
    #[test]
    fn with_known_events_every_pair_holds_at_the_chosen_levels() {
        let (users, activity) = bases(5, 300, 3000);
        let g = goal(4, 0.1);
        let people = keys();
        let joint = pair(&users, &activity, g, &people, 2);
        let two = search(&joint).unwrap_or_else(|e| panic!("{e}"));
        let one = search(&Joint {
            known_events: 1,
            ..joint
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let (two, one) = (
            two.best.unwrap_or_else(|| panic!("no k^2 optimum")),
            one.best.unwrap_or_else(|| panic!("no k optimum")),
        );
        // Pairs cost more than classes: never less loss.
        assert!(two.loss >= one.loss - 1e-12, "{} < {}", two.loss, one.loss);
        assert!(two.linking.rows_suppressed >= two.facts_rows);
        // Re-derive the pairs at the chosen node, independently of the search's classes.
        let p = Prepared::new(&Side {
            base: &users,
            goal: g,
        });
        let lu = two
            .linked
            .as_ref()
            .map(|r| r.levels.clone())
            .unwrap_or_default();
        let (_, person_class) = linked_at(&p, &lu);
        let la = &two.linking.levels;
        let mut facts: HashMap<u32, HashSet<(u32, u128)>> = HashMap::new();
        for i in 0..activity.rows.len() {
            let s = activity.subjects.as_ref().map_or(NO_SUBJECT, |s| s[i]);
            if s == NO_SUBJECT {
                continue;
            }
            let month = activity.dims[0].map[la[0]][activity.codes[i] as usize];
            let linked = person_class.get(s as usize).copied().unwrap_or(NOBODY);
            facts.entry(s).or_default().insert((month, linked));
        }
        let mut ids: HashMap<(u32, u128), u128> = HashMap::new();
        let mut entries: Vec<Entry> = Vec::new();
        for (&s, f) in &facts {
            for fact in f {
                let next = ids.len() as u128;
                let id = *ids.entry(*fact).or_insert(next);
                entries.push(Entry {
                    person: u64::from(s),
                    fact: id,
                    rows: 1,
                });
            }
        }
        let done = Histories::new(entries.clone())
            .enforce(4, 2)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let removed: HashSet<(u64, u128)> =
            done.removed.iter().map(|e| (e.person, e.fact)).collect();
        let kept: Vec<Entry> = entries
            .into_iter()
            .filter(|e| !removed.contains(&(e.person, e.fact)))
            .collect();
        let shared = Histories::new(kept)
            .audit(4, 2)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(shared.iter().all(|s| s.people_under_k == 0), "{shared:?}");
    }

    #[test]
    fn a_lattice_too_large_is_refused() {
        let dims: Vec<Dimension> = (0..9).map(|i| numeric(&format!("d{i}"), 8, 4)).collect();
        let base = Base {
            codes: vec![0; dims.len()],
            dims,
            subjects: Some(vec![0]),
            rows: vec![1],
            sensitive: Vec::new(),
        };
        let err = search(&Joint {
            linked: None,
            linking: Side {
                base: &base,
                goal: goal(2, 0.0),
            },
            people: &keys(),
            known_events: 2,
        })
        .err()
        .unwrap_or_default();
        assert!(err.contains("combinations"), "{err}");
    }

    /// The data's order does not choose: the same entries, shuffled (as a parallel group-by
    /// returns them), give the same optimum and the same k^m removals.
    #[test]
    fn the_order_of_the_entries_does_not_change_the_choice() {
        for seed in 0..6 {
            shuffled_gives_the_same(seed);
        }
    }

    fn shuffled_gives_the_same(seed: u64) {
        use rand::seq::SliceRandom;
        let (users, activity) = bases(seed, 250, 2500);
        let people = keys();
        let g = goal(3, 0.3);
        let run = |activity: &Base| {
            let out =
                search(&pair(&users, activity, g, &people, 2)).unwrap_or_else(|e| panic!("{e}"));
            out.best
                .map(|b| (b.linking.levels, b.facts_rows, b.linking.rows_suppressed))
        };
        let first = run(&activity);
        assert!(first.as_ref().is_some_and(|f| f.1 > 0), "{first:?}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for _ in 0..5 {
            let mut order: Vec<usize> = (0..activity.rows.len()).collect();
            order.shuffle(&mut rng);
            let shuffled = Base {
                dims: activity.dims.clone(),
                codes: order.iter().map(|&i| activity.codes[i]).collect(),
                subjects: activity
                    .subjects
                    .as_ref()
                    .map(|s| order.iter().map(|&i| s[i]).collect()),
                rows: order.iter().map(|&i| activity.rows[i]).collect(),
                sensitive: Vec::new(),
            };
            assert_eq!(run(&shuffled), first);
        }
    }
}
