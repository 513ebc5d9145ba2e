//! The least-loss full-domain generalization: one level per quasi-identifier, chosen so that
//! k-anonymity (counted in distinct subjects) holds after suppressing at most the allowed share
//! of rows, with the least information loss for the chosen metric.
//!
//! Everything here works on integer codes, not on the data: the first pass gives, per
//! quasi-identifier, the distinct values at its finest level (codes) and how each generalizes at
//! every level (maps), plus the table of distinct (codes…, subject) entries with row counts. A
//! node of the lattice (a vector of levels) is evaluated by rolling up the class table of an
//! already evaluated, finer node — never by re-reading rows.
//!
//! The search is exact. Nodes are visited in increasing order of a lower bound of their loss
//! (the loss with every row generalized and none suppressed: a suppressed cell costs at least as
//! much as any generalized one, and the bound grows with generalization), and it stops when the
//! bound reaches the best loss found. A node that fails k makes every finer node fail
//! (monotonicity: generalizing merges classes, so suppression can only shrink), and those are
//! never evaluated.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

pub use super::base::{Base, Dimension, Goal, NO_SUBJECT, SensitiveCodes, dimension};
use super::models::Models;
use crate::job::MetricName;

/// A node's outcome and utility.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub levels: Vec<usize>,
    pub rows_suppressed: u64,
    pub equivalence_classes: u64,
    /// Iyengar's loss metric, 0 (nothing lost) to 1.
    pub loss: f64,
    /// ARX's non-uniform entropy (monotonic variant: independent of suppression).
    pub entropy: f64,
    /// Σ class size² + suppressed rows × all rows.
    pub discernibility: f64,
    /// Rows kept per class.
    pub avg_class_size: f64,
    /// Prosecutor re-identification risk of the kept classes: 1 / the smallest class's people,
    /// and the average over people (classes / people), 0 when nothing is kept.
    pub max_risk: f64,
    pub avg_risk: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The optimum, or `None` when no node meets k within the limit.
    pub best: Option<NodeReport>,
    pub nodes_checked: u64,
    pub lattice_nodes: u64,
    pub seconds: f64,
}

/// The class table of a node: distinct (codes at the node's levels, subject) with rows, sorted.
#[derive(Debug)]
struct Table {
    levels: Vec<usize>,
    codes: Vec<u32>,
    /// The codes packed into one number per entry, when they fit (else empty).
    keys: Vec<u128>,
    subjects: Vec<u32>,
    rows: Vec<u64>,
}

impl Table {
    fn len(&self) -> usize {
        self.rows.len()
    }
}

/// Per-node statistics that do not depend on suppression, precomputed per dimension and level.
struct Precomputed {
    /// `lm[d][level]`: Σ over rows of the loss-metric term of dimension d at that level.
    lm_rows: Vec<Vec<f64>>,
    /// `lm_cell[d][level][code]`: the loss term of one cell holding `code` at that level.
    lm_cell: Vec<Vec<Vec<f64>>>,
    /// `entropy[d][level]`.
    entropy: Vec<Vec<f64>>,
    /// `lift[d][from][to][code]`: a code at level `from` at level `to` (to ≥ from).
    lift: Vec<Vec<Vec<Vec<u32>>>>,
    /// `cards[d][level]`: distinct codes of dimension d at that level.
    cards: Vec<Vec<usize>>,
    total_rows: u64,
}

fn precompute(base: &Base) -> Precomputed {
    let n_dims = base.dims.len();
    let total_rows: u64 = base.rows.iter().sum();
    // Rows per finest code, per dimension.
    let mut freq0: Vec<Vec<u64>> = base.dims.iter().map(|d| vec![0; d.domain()]).collect();
    for (i, rows) in base.rows.iter().enumerate() {
        for (d, f) in freq0.iter_mut().enumerate() {
            f[base.codes[i * n_dims + d] as usize] += rows;
        }
    }
    let mut lm_rows = Vec::new();
    let mut lm_cell = Vec::new();
    let mut entropy = Vec::new();
    let mut lift = Vec::new();
    for (d, dim) in base.dims.iter().enumerate() {
        let domain = dim.domain();
        let mut dim_lm_rows = Vec::new();
        let mut dim_lm_cell = Vec::new();
        let mut dim_entropy = Vec::new();
        for level in 0..dim.levels() {
            let card = dim.cardinality(level);
            let mut cover = vec![0u64; card];
            let mut freq = vec![0u64; card];
            for (c0, &g) in dim.map[level].iter().enumerate() {
                cover[g as usize] += 1;
                freq[g as usize] += freq0[d][c0];
            }
            let cell: Vec<f64> = cover
                .iter()
                .map(|&c| {
                    if domain > 1 {
                        (c as f64 - 1.0) / (domain as f64 - 1.0)
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut rows_sum = 0.0;
            let mut ent = 0.0;
            for (c0, &g) in dim.map[level].iter().enumerate() {
                let a = freq0[d][c0] as f64;
                if a > 0.0 {
                    rows_sum += a * cell[g as usize];
                    ent += a * (freq[g as usize] as f64 / a).log2();
                }
            }
            dim_lm_rows.push(rows_sum);
            dim_lm_cell.push(cell);
            dim_entropy.push(ent);
        }
        let mut dim_lift = Vec::new();
        for from in 0..dim.levels() {
            let mut per_to = Vec::new();
            for to in 0..dim.levels() {
                let mut m = vec![0u32; dim.cardinality(from)];
                if to >= from {
                    for c0 in 0..domain {
                        m[dim.map[from][c0] as usize] = dim.map[to][c0];
                    }
                }
                per_to.push(m);
            }
            dim_lift.push(per_to);
        }
        lm_rows.push(dim_lm_rows);
        lm_cell.push(dim_lm_cell);
        entropy.push(dim_entropy);
        lift.push(dim_lift);
    }
    Precomputed {
        lm_rows,
        lm_cell,
        entropy,
        lift,
        cards: base
            .dims
            .iter()
            .map(|d| (0..d.levels()).map(|l| d.cardinality(l)).collect())
            .collect(),
        total_rows,
    }
}

/// The lattice: every combination of levels within each dimension's bounds.
pub(crate) struct Lattice {
    mins: Vec<usize>,
    sizes: Vec<usize>,
    pub(crate) nodes: usize,
}

impl Lattice {
    fn new(dims: &[Dimension]) -> Lattice {
        let mins: Vec<usize> = dims.iter().map(|d| d.min).collect();
        let sizes: Vec<usize> = dims.iter().map(|d| d.max - d.min + 1).collect();
        let nodes = sizes.iter().product();
        Lattice { mins, sizes, nodes }
    }
    /// Levels 0 to `size - 1` in each dimension (the caller has checked that their product
    /// fits).
    pub(crate) fn of_sizes(sizes: Vec<usize>) -> Lattice {
        let nodes = sizes.iter().product();
        Lattice {
            mins: vec![0; sizes.len()],
            sizes,
            nodes,
        }
    }
    /// The levels of node `id`, the last dimension varying fastest.
    pub(crate) fn levels(&self, mut id: usize) -> Vec<usize> {
        let mut out = vec![0; self.sizes.len()];
        for d in (0..self.sizes.len()).rev() {
            out[d] = self.mins[d] + id % self.sizes[d];
            id /= self.sizes[d];
        }
        out
    }
    fn id(&self, levels: &[usize]) -> usize {
        levels
            .iter()
            .zip(self.sizes.iter().zip(&self.mins))
            .fold(0, |id, (l, (size, min))| id * size + (l - min))
    }
}

/// The largest number of lattice nodes searched; beyond it the job must pin or bound levels.
pub const MAX_LATTICE_NODES: usize = 2_000_000;

/// Evaluates and searches nodes of one base, keeping recent class tables to roll up from.
pub struct Searcher<'a> {
    base: &'a Base,
    pre: Precomputed,
    bottom: Arc<Table>,
    cache: VecDeque<Arc<Table>>,
    cached_entries: usize,
    pairs: Pairs,
    /// The models of the goal being searched (l-diversity, t-closeness).
    models: Models,
    pub nodes_checked: u64,
}

/// (code1, code2, subject, rows) of a two-column projection.
type PairEntry = (u32, u32, u32, u64);
/// (d1, d2, level1, level2).
type PairLevels = (usize, usize, usize, usize);

/// Class sizes of two-column projections, for a cheap proof that a node fails: a class of the
/// projection holds every class of the node that agrees on those two columns, so rows in
/// projection classes under k are suppressed at the node too. Most failing nodes fail this way,
/// and then cost a few look-ups instead of a roll-up.
#[derive(Default)]
struct Pairs {
    /// (d1, d2) → their distinct (code1, code2, subject) at level 0, with rows.
    bottom: HashMap<(usize, usize), Vec<PairEntry>>,
    /// (d1, d2, level1, level2) → (people, rows) per projection class.
    classes: HashMap<PairLevels, Vec<(u64, u64)>>,
    /// (d1, d2, level1, level2, k) → rows in classes under k.
    small: HashMap<(usize, usize, usize, usize, u32), u64>,
}

/// Class tables kept for rolling up, in entries (each a few dozen bytes), and in tables (each
/// evaluation scans them for the best one to roll up from).
const CACHE_ENTRIES: usize = 8_000_000;
const CACHE_TABLES: usize = 256;

impl<'a> Searcher<'a> {
    pub fn new(base: &'a Base) -> Searcher<'a> {
        let pre = precompute(base);
        let bottom = Arc::new(roll_up(
            &Table {
                levels: vec![0; base.dims.len()],
                codes: base.codes.clone(),
                keys: Vec::new(),
                subjects: base.subjects.clone().unwrap_or_default(),
                rows: base.rows.clone(),
            },
            &vec![0; base.dims.len()],
            &pre,
            base.subjects.is_some(),
        ));
        Searcher {
            base,
            pre,
            bottom,
            cache: VecDeque::new(),
            cached_entries: 0,
            pairs: Pairs::default(),
            models: Models::default(),
            nodes_checked: 0,
        }
    }

    fn has_subjects(&self) -> bool {
        self.base.subjects.is_some()
    }

    /// The class table at `levels`, rolled up from the smallest cached finer table.
    fn table(&mut self, levels: &[usize]) -> Arc<Table> {
        let finer = |t: &Table| t.levels.iter().zip(levels).all(|(a, b)| a <= b);
        let mut from = self.bottom.clone();
        for t in &self.cache {
            if t.levels == levels {
                return t.clone();
            }
            if finer(t) && t.len() < from.len() {
                from = t.clone();
            }
        }
        let table = Arc::new(roll_up(&from, levels, &self.pre, self.has_subjects()));
        self.cached_entries += table.len();
        self.cache.push_back(table.clone());
        while self.cached_entries > CACHE_ENTRIES || self.cache.len() > CACHE_TABLES {
            match self.cache.pop_front() {
                Some(old) => self.cached_entries -= old.len(),
                None => break,
            }
        }
        table
    }

    /// A lower bound of the rows suppressed at `levels`: the most that any two-column
    /// projection must suppress.
    fn suppression_floor(&mut self, levels: &[usize], k: u32) -> u64 {
        let mut floor = 0;
        for d1 in 0..levels.len() {
            for d2 in d1 + 1..levels.len() {
                floor = floor.max(self.pair_small_rows(d1, d2, levels[d1], levels[d2], k));
            }
        }
        floor
    }

    fn pair_small_rows(&mut self, d1: usize, d2: usize, l1: usize, l2: usize, k: u32) -> u64 {
        if let Some(&n) = self.pairs.small.get(&(d1, d2, l1, l2, k)) {
            return n;
        }
        if !self.pairs.classes.contains_key(&(d1, d2, l1, l2)) {
            let subjects = self.has_subjects();
            let bottom = self.pairs.bottom.entry((d1, d2)).or_insert_with(|| {
                let t = &self.bottom;
                let n_dims = t.levels.len();
                let mut items: Vec<(u32, u32, u32, u64)> = (0..t.len())
                    .map(|i| {
                        let s = if subjects { t.subjects[i] } else { 0 };
                        (
                            t.codes[i * n_dims + d1],
                            t.codes[i * n_dims + d2],
                            s,
                            t.rows[i],
                        )
                    })
                    .collect();
                merge_sorted(&mut items);
                items
            });
            let (lift1, lift2) = (&self.pre.lift[d1][0][l1], &self.pre.lift[d2][0][l2]);
            let mut items: Vec<(u32, u32, u32, u64)> = bottom
                .iter()
                .map(|&(a, b, s, r)| (lift1[a as usize], lift2[b as usize], s, r))
                .collect();
            merge_sorted(&mut items);
            let mut classes = Vec::new();
            let mut i = 0;
            while i < items.len() {
                let (a, b) = (items[i].0, items[i].1);
                let (mut people, mut rows) = (0u64, 0u64);
                while i < items.len() && items[i].0 == a && items[i].1 == b {
                    people += u64::from(items[i].2 != NO_SUBJECT);
                    rows += items[i].3;
                    i += 1;
                }
                classes.push((if subjects { people } else { rows }, rows));
            }
            self.pairs.classes.insert((d1, d2, l1, l2), classes);
        }
        let n = self.pairs.classes[&(d1, d2, l1, l2)]
            .iter()
            .filter(|(people, _)| *people < u64::from(k))
            .map(|(_, rows)| rows)
            .sum();
        self.pairs.small.insert((d1, d2, l1, l2, k), n);
        n
    }

    /// Whether `levels` fails k within `allowed`: by the cheap floor when it proves it, else
    /// by evaluating (returned, to be kept).
    fn check(&mut self, levels: &[usize], k: u32, allowed: u64) -> Option<NodeReport> {
        if self.suppression_floor(levels, k) > allowed {
            return None;
        }
        let r = self.evaluate(levels, k);
        (r.rows_suppressed <= allowed).then_some(r)
    }

    /// Evaluates one node: suppression, classes and every metric.
    pub fn evaluate(&mut self, levels: &[usize], k: u32) -> NodeReport {
        self.nodes_checked += 1;
        let table = self.table(levels);
        let failing = self.model_failures(levels);
        let n_dims = levels.len();
        let total = self.pre.total_rows;
        let mut rows_suppressed = 0u64;
        let mut classes = 0u64;
        let mut lm_kept = 0.0;
        let mut sum_sq = 0.0;
        let (mut min_people, mut kept_people) = (u64::MAX, 0u64);
        let mut i = 0;
        while i < table.len() {
            let key = &table.codes[i * n_dims..(i + 1) * n_dims];
            let same = |j: usize| {
                if table.keys.is_empty() {
                    &table.codes[j * n_dims..(j + 1) * n_dims] == key
                } else {
                    table.keys[j] == table.keys[i]
                }
            };
            let mut j = i;
            let mut rows = 0u64;
            while j < table.len() && same(j) {
                rows += table.rows[j];
                j += 1;
            }
            let people = if self.has_subjects() {
                // Entries of a class are distinct subjects.
                table.subjects[i..j]
                    .iter()
                    .filter(|&&s| s != NO_SUBJECT)
                    .count() as u64
            } else {
                rows
            };
            if people < u64::from(k) || failing.contains(key) {
                rows_suppressed += rows;
            } else {
                classes += 1;
                min_people = min_people.min(people);
                kept_people += people;
                sum_sq += (rows as f64) * (rows as f64);
                for (d, &code) in key.iter().enumerate() {
                    lm_kept += rows as f64 * self.pre.lm_cell[d][levels[d]][code as usize];
                }
            }
            i = j;
        }
        let cells = (total as f64) * n_dims as f64;
        let loss = if cells > 0.0 {
            (lm_kept + rows_suppressed as f64 * n_dims as f64) / cells
        } else {
            0.0
        };
        let kept = total - rows_suppressed;
        NodeReport {
            levels: levels.to_vec(),
            rows_suppressed,
            equivalence_classes: classes,
            loss,
            entropy: self.entropy(levels),
            discernibility: sum_sq + rows_suppressed as f64 * total as f64,
            avg_class_size: if classes > 0 {
                kept as f64 / classes as f64
            } else {
                0.0
            },
            max_risk: if classes > 0 && min_people > 0 {
                1.0 / min_people as f64
            } else {
                0.0
            },
            avg_risk: if kept_people > 0 {
                classes as f64 / kept_people as f64
            } else {
                0.0
            },
        }
    }

    /// The classes at `levels` that break the models, by their codes (none without models).
    /// Counted from the base's entries, in people: per class and sensitive value, the distinct
    /// subjects (rows when the table has no subject).
    fn model_failures(&self, levels: &[usize]) -> std::collections::HashSet<Vec<u32>> {
        let mut failing = std::collections::HashSet::new();
        if self.models.is_empty() || self.base.sensitive.is_empty() {
            return failing;
        }
        let base = self.base;
        let n_dims = levels.len();
        let n = base.rows.len();
        let lifts: Vec<&[u32]> = (0..n_dims)
            .map(|d| &self.pre.lift[d][0][levels[d]][..])
            .collect();
        let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut classes: Vec<Vec<u32>> = Vec::new();
        let mut class_of = Vec::with_capacity(n);
        let mut key = vec![0u32; n_dims];
        for i in 0..n {
            for d in 0..n_dims {
                key[d] = lifts[d][base.codes[i * n_dims + d] as usize];
            }
            let id = match ids.get(&key[..]) {
                Some(&id) => id,
                None => {
                    let id = classes.len() as u32;
                    ids.insert(key.clone(), id);
                    classes.push(key.clone());
                    id
                }
            };
            class_of.push(id);
        }
        let mut fails = vec![false; classes.len()];
        for attr in &base.sensitive {
            // (class, value, subject, rows), merged: one item per person and value.
            let mut items: Vec<(u32, u32, u32, u64)> = (0..n)
                .map(|i| {
                    let s = base.subjects.as_ref().map_or(0, |s| s[i]);
                    (class_of[i], attr.codes[i], s, base.rows[i])
                })
                .collect();
            merge_sorted(&mut items);
            let mut hist: Vec<(u32, u64)> = Vec::new();
            let mut i = 0;
            while i < items.len() {
                let class = items[i].0;
                hist.clear();
                while i < items.len() && items[i].0 == class {
                    let value = items[i].1;
                    let mut people = 0u64;
                    while i < items.len() && items[i].0 == class && items[i].1 == value {
                        people += match &base.subjects {
                            Some(_) => u64::from(items[i].2 != NO_SUBJECT),
                            None => items[i].3,
                        };
                        i += 1;
                    }
                    if people > 0 {
                        hist.push((value, people));
                    }
                }
                if !self.models.holds(&hist, &attr.attr) {
                    fails[class as usize] = true;
                }
            }
        }
        for (class, fails) in classes.into_iter().zip(fails) {
            if fails {
                failing.insert(class);
            }
        }
        failing
    }

    /// The loss-metric term of one cell holding `code` (a code at `level`) in dimension `d`.
    pub(crate) fn cell_loss(&self, d: usize, level: usize, code: u32) -> f64 {
        self.pre.lm_cell[d][level][code as usize]
    }

    /// The loss metric at `levels` with nothing suppressed: a lower bound of the node's loss.
    pub(crate) fn loss_floor(&self, levels: &[usize]) -> f64 {
        self.lower_bound(levels, MetricName::Loss)
    }

    fn entropy(&self, levels: &[usize]) -> f64 {
        levels
            .iter()
            .enumerate()
            .map(|(d, &l)| self.pre.entropy[d][l])
            .sum()
    }

    /// A lower bound of the metric at `levels` that never decreases with generalization.
    fn lower_bound(&self, levels: &[usize], metric: MetricName) -> f64 {
        match metric {
            MetricName::Loss => {
                let cells = self.pre.total_rows as f64 * levels.len() as f64;
                if cells == 0.0 {
                    return 0.0;
                }
                levels
                    .iter()
                    .enumerate()
                    .map(|(d, &l)| self.pre.lm_rows[d][l])
                    .sum::<f64>()
                    / cells
            }
            // Exact: this entropy does not depend on suppression.
            MetricName::Entropy => self.entropy(levels),
            // Every row costs at least 1 (a class of one); no tighter cheap bound.
            MetricName::Discernibility => self.pre.total_rows as f64,
        }
    }

    fn metric(report: &NodeReport, metric: MetricName) -> f64 {
        match metric {
            MetricName::Loss => report.loss,
            MetricName::Entropy => report.entropy,
            MetricName::Discernibility => report.discernibility,
        }
    }

    fn allowed(&self, goal: &Goal) -> u64 {
        super::allowed_rows(goal.max_suppression, self.pre.total_rows)
    }

    /// One node's figures for `goal`, its models included: what a night whose levels were not
    /// searched (pinned or fixed) reports, measured exactly as a search would have.
    pub fn measure(&mut self, levels: &[usize], goal: &Goal) -> NodeReport {
        self.models = goal.models;
        self.evaluate(levels, goal.k)
    }

    /// The optimal node for `goal`.
    pub fn search(&mut self, goal: &Goal) -> Result<Outcome, String> {
        let started = Instant::now();
        let checked_before = self.nodes_checked;
        let lattice = Lattice::new(&self.base.dims);
        if lattice.nodes > MAX_LATTICE_NODES {
            return Err(format!(
                "the search space has {} level combinations (at most {MAX_LATTICE_NODES}): pin \
                 some quasi-identifiers with `level` or narrow them with `levels = [min, max]`",
                lattice.nodes
            ));
        }
        let allowed = self.allowed(goal);
        self.models = goal.models;
        let mut order: Vec<(f64, usize, usize)> = (0..lattice.nodes)
            .map(|id| {
                let levels = lattice.levels(id);
                let height = levels.iter().sum();
                (self.lower_bound(&levels, goal.metric), height, id)
            })
            .collect();
        // Ties: the less generalized node first, then a fixed order, so results are stable.
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

        let mut state = vec![Known::Unknown; lattice.nodes];
        let mut passed: HashMap<usize, NodeReport> = HashMap::new();
        let mut best: Option<NodeReport> = None;
        let mut best_value = f64::INFINITY;
        for (bound, _, id) in order {
            if bound >= best_value {
                break;
            }
            let report = match state[id] {
                Known::Failed => continue,
                Known::Passed if passed.contains_key(&id) => passed.remove(&id),
                _ => None,
            };
            let report = match report {
                Some(r) => r,
                None => {
                    let levels = lattice.levels(id);
                    match self.check(&levels, goal.k, allowed) {
                        None => {
                            self.climb(&lattice, levels, goal.k, allowed, &mut state, &mut passed);
                            continue;
                        }
                        Some(r) => {
                            mark(&lattice, &levels, &mut state, Known::Passed);
                            r
                        }
                    }
                }
            };
            let value = Self::metric(&report, goal.metric);
            if value < best_value {
                best_value = value;
                best = Some(report);
            }
        }
        Ok(Outcome {
            best,
            nodes_checked: self.nodes_checked - checked_before,
            lattice_nodes: lattice.nodes as u64,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// From a failing node, climbs to a maximal failing one (each step generalizes one more
    /// level and still fails) and marks everything finer than it failed: one climb rules out a
    /// whole region that visiting nodes in bound order would otherwise evaluate one by one.
    /// Passing nodes met on the way are kept, with their reports, for the search to use.
    fn climb(
        &mut self,
        lattice: &Lattice,
        mut current: Vec<usize>,
        k: u32,
        allowed: u64,
        state: &mut [Known],
        passed: &mut HashMap<usize, NodeReport>,
    ) {
        'up: loop {
            for d in 0..current.len() {
                if current[d] + 1 >= lattice.mins[d] + lattice.sizes[d] {
                    continue;
                }
                let mut next = current.clone();
                next[d] += 1;
                let id = lattice.id(&next);
                match state[id] {
                    Known::Failed => {
                        current = next;
                        continue 'up;
                    }
                    Known::Passed => continue,
                    Known::Unknown => match self.check(&next, k, allowed) {
                        None => {
                            current = next;
                            continue 'up;
                        }
                        Some(r) => {
                            mark(lattice, &next, state, Known::Passed);
                            passed.insert(id, r);
                        }
                    },
                }
            }
            break;
        }
        mark(lattice, &current, state, Known::Failed);
    }

    /// The optimum of each goal by evaluating every node once per k: for tests that prove the
    /// search optimal, and nothing else.
    pub fn exhaustive_many(&mut self, goals: &[Goal]) -> Vec<Option<NodeReport>> {
        let lattice = Lattice::new(&self.base.dims);
        let mut best: Vec<Option<NodeReport>> = vec![None; goals.len()];
        for id in 0..lattice.nodes {
            let levels = lattice.levels(id);
            let mut by_k: HashMap<u32, NodeReport> = HashMap::new();
            for (g, b) in goals.iter().zip(best.iter_mut()) {
                // Goals share their models: evaluations are kept per k only.
                self.models = g.models;
                let r = by_k
                    .entry(g.k)
                    .or_insert_with(|| self.evaluate(&levels, g.k))
                    .clone();
                if r.rows_suppressed <= self.allowed(g)
                    && b.as_ref()
                        .is_none_or(|b| Self::metric(&r, g.metric) < Self::metric(b, g.metric))
                {
                    *b = Some(r);
                }
            }
        }
        best
    }

    /// Every node, evaluated: for tests that prove the search optimal, and nothing else.
    pub fn exhaustive(&mut self, goal: &Goal) -> Option<NodeReport> {
        self.exhaustive_many(std::slice::from_ref(goal))
            .pop()
            .flatten()
    }
}

/// What is known of a node's k-anonymity within the suppression limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Unknown,
    Passed,
    Failed,
}

/// Marks `levels` and, by monotonicity, every coarser node (when it passes) or every finer
/// node (when it fails).
fn mark(lattice: &Lattice, levels: &[usize], state: &mut [Known], known: Known) {
    let mut stack = vec![levels.to_vec()];
    while let Some(node) = stack.pop() {
        let id = lattice.id(&node);
        if state[id] == known {
            continue;
        }
        state[id] = known;
        for d in 0..node.len() {
            let mut next = node.clone();
            match known {
                Known::Failed if node[d] > lattice.mins[d] => next[d] -= 1,
                Known::Passed if node[d] + 1 < lattice.mins[d] + lattice.sizes[d] => next[d] += 1,
                _ => continue,
            }
            if state[lattice.id(&next)] != known {
                stack.push(next);
            }
        }
    }
}

/// Rolls `from` up to `levels` (each ≥ from's): lifts every code, then merges equal entries.
fn roll_up(from: &Table, levels: &[usize], pre: &Precomputed, subjects: bool) -> Table {
    let n_dims = levels.len();
    let n = from.len();
    // Per dimension, the code map from `from`'s level to ours (none where they are equal).
    let lifts: Vec<Option<&[u32]>> = (0..n_dims)
        .map(|d| (from.levels[d] != levels[d]).then(|| &pre.lift[d][from.levels[d]][levels[d]][..]))
        .collect();
    // Entries are sorted by their codes, packed into one integer when the classes can be
    // numbered in 64 (or 128) bits, which is nearly always and much faster, then by subject.
    let radices: Vec<u128> = (0..n_dims)
        .map(|d| pre.cards[d][levels[d]].max(1) as u128)
        .collect();
    let product = radices.iter().try_fold(1u128, |acc, &r| acc.checked_mul(r));
    let fits = product.is_some();
    let fits_u64 = product.is_some_and(|p| p <= u64::MAX as u128);
    let mut codes = Vec::with_capacity(n * n_dims);
    let mut keys: Vec<u128> = Vec::with_capacity(if fits { n } else { 0 });
    for i in 0..n {
        let mut key = 0u128;
        for d in 0..n_dims {
            let c = from.codes[i * n_dims + d];
            let c = match lifts[d] {
                Some(lift) => lift[c as usize],
                None => c,
            };
            codes.push(c);
            if fits {
                key = key * radices[d] + c as u128;
            }
        }
        if fits {
            keys.push(key);
        }
    }
    if fits_u64 && !subjects {
        return merge_by_hash(levels, n_dims, &codes, &keys, &from.rows);
    }
    let subject = |i: usize| if subjects { from.subjects[i] } else { 0 };
    let order: Vec<u32> = if fits_u64 {
        // Sorting 16-byte items is markedly faster than 32-byte ones.
        let mut items: Vec<(u64, u32, u32)> = (0..n)
            .map(|i| (keys[i] as u64, subject(i), i as u32))
            .collect();
        items.sort_unstable();
        items.into_iter().map(|(_, _, i)| i).collect()
    } else if fits {
        let mut items: Vec<(u128, u32, u32)> =
            (0..n).map(|i| (keys[i], subject(i), i as u32)).collect();
        items.sort_unstable();
        items.into_iter().map(|(_, _, i)| i).collect()
    } else {
        let mut items: Vec<u32> = (0..n as u32).collect();
        items.sort_unstable_by(|&a, &b| {
            let (x, y) = (a as usize, b as usize);
            codes[x * n_dims..(x + 1) * n_dims]
                .cmp(&codes[y * n_dims..(y + 1) * n_dims])
                .then(subject(x).cmp(&subject(y)))
        });
        items
    };
    let same_class = |a: usize, b: usize| {
        if fits {
            keys[a] == keys[b]
        } else {
            codes[a * n_dims..(a + 1) * n_dims] == codes[b * n_dims..(b + 1) * n_dims]
        }
    };
    let mut out = Table {
        levels: levels.to_vec(),
        codes: Vec::with_capacity(n * n_dims),
        keys: Vec::with_capacity(keys.len()),
        subjects: Vec::new(),
        rows: Vec::with_capacity(n),
    };
    let mut last: Option<usize> = None;
    for &i in &order {
        let i = i as usize;
        if last.is_some_and(|l| subject(l) == subject(i) && same_class(l, i)) {
            if let Some(r) = out.rows.last_mut() {
                *r += from.rows[i];
            }
            continue;
        }
        out.codes
            .extend_from_slice(&codes[i * n_dims..(i + 1) * n_dims]);
        if fits {
            out.keys.push(keys[i]);
        }
        if subjects {
            out.subjects.push(from.subjects[i]);
        }
        out.rows.push(from.rows[i]);
        last = Some(i);
    }
    out
}

/// Sorts (code1, code2, subject, rows) items and merges equal (code1, code2, subject).
fn merge_sorted(items: &mut Vec<(u32, u32, u32, u64)>) {
    items.sort_unstable();
    items.dedup_by(|next, kept| {
        if (next.0, next.1, next.2) == (kept.0, kept.1, kept.2) {
            kept.3 += next.3;
            true
        } else {
            false
        }
    });
}

/// [`roll_up`] for tables without subjects whose keys fit 64 bits (the common case): entries
/// with equal keys are merged through a hash map instead of a sort. Keys come out unique, in
/// first-seen order, which is all [`Searcher::evaluate`] needs (each entry is a class).
fn merge_by_hash(
    levels: &[usize],
    n_dims: usize,
    codes: &[u32],
    keys: &[u128],
    rows: &[u64],
) -> Table {
    let n = rows.len();
    let mut index: HashMap<u64, u32, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(n, Default::default());
    let mut out = Table {
        levels: levels.to_vec(),
        codes: Vec::with_capacity(n * n_dims),
        keys: Vec::with_capacity(n),
        subjects: Vec::new(),
        rows: Vec::with_capacity(n),
    };
    for i in 0..n {
        let key = keys[i] as u64;
        let next = out.rows.len() as u32;
        let slot = *index.entry(key).or_insert(next);
        if slot == next {
            out.codes
                .extend_from_slice(&codes[i * n_dims..(i + 1) * n_dims]);
            out.keys.push(keys[i]);
            out.rows.push(rows[i]);
        } else {
            out.rows[slot as usize] += rows[i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// A numeric dimension 0..n with levels: value, value/2, value/4, `*`.
    fn numeric(name: &str, n: u32) -> Dimension {
        let values: Vec<Option<String>> = (0..n).map(|v| Some(v.to_string())).collect();
        let (dim, codes) = dimension(name, 4, &values, |v, level| {
            let x: u32 = v?.parse().unwrap();
            Some(match level {
                3 => "*".into(),
                l => (x >> l).to_string(),
            })
        })
        .unwrap();
        assert_eq!(codes, (0..n).collect::<Vec<_>>());
        dim
    }

    fn random_base(seed: u64, rows: usize, subjects: Option<u32>) -> Base {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let dims = vec![numeric("a", 8), numeric("b", 6), numeric("c", 4)];
        let mut entries: HashMap<(Vec<u32>, u32), u64> = HashMap::new();
        for _ in 0..rows {
            let codes = vec![
                rng.random_range(0..8u32),
                rng.random_range(0..6u32),
                rng.random_range(0..4u32),
            ];
            let s = subjects.map_or(0, |n| rng.random_range(0..n));
            *entries.entry((codes, s)).or_default() += 1;
        }
        let mut keys: Vec<_> = entries.into_iter().collect();
        keys.sort();
        Base {
            dims,
            codes: keys.iter().flat_map(|((c, _), _)| c.clone()).collect(),
            subjects: subjects.map(|_| keys.iter().map(|((_, s), _)| *s).collect()),
            rows: keys.iter().map(|(_, r)| *r).collect(),
            sensitive: Vec::new(),
        }
    }

    #[test]
    fn search_finds_the_exhaustive_optimum_for_every_metric() {
        for seed in 0..6 {
            for subjects in [None, Some(40)] {
                let base = random_base(seed, 300, subjects);
                for metric in [
                    MetricName::Loss,
                    MetricName::Entropy,
                    MetricName::Discernibility,
                ] {
                    for (k, s) in [(2, 0.0), (3, 0.05), (5, 0.1), (10, 0.02)] {
                        let goal = Goal {
                            k,
                            max_suppression: s,
                            metric,
                            models: Default::default(),
                        };
                        let found = Searcher::new(&base).search(&goal).unwrap().best;
                        let truth = Searcher::new(&base).exhaustive(&goal);
                        match (&found, &truth) {
                            (Some(f), Some(t)) => {
                                let (fv, tv) =
                                    (Searcher::metric(f, metric), Searcher::metric(t, metric));
                                assert!(
                                    (fv - tv).abs() <= 1e-9 * tv.abs().max(1.0),
                                    "seed {seed} {metric:?} k {k}: {fv} vs {tv}"
                                );
                            }
                            (None, None) => {}
                            _ => panic!("seed {seed} {metric:?} k {k}: {found:?} vs {truth:?}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn levels_that_do_not_nest_are_refused() {
        // Weeks straddle months: 2024-04-29 and 2024-05-01 share a week, not a month.
        let values = [
            Some("2024-04-29".to_string()),
            Some("2024-05-01".to_string()),
        ];
        let e = dimension("ts", 2, &values, |v, l| {
            Some(if l == 0 {
                "week 18".into()
            } else {
                v?[..7].to_string()
            })
        })
        .unwrap_err();
        assert!(e.contains("do not nest"), "{e}");
    }

    #[test]
    fn rolled_up_tables_equal_tables_computed_from_the_bottom() {
        let base = random_base(7, 500, Some(60));
        let mut s = Searcher::new(&base);
        // Warm the cache with a middle node, then ask for a coarser one (rolled up from it).
        let mid = s.evaluate(&[1, 1, 1], 3);
        let coarse = s.evaluate(&[2, 3, 1], 3);
        let mut fresh = Searcher::new(&base);
        assert_eq!(
            format!("{coarse:?}"),
            format!("{:?}", fresh.evaluate(&[2, 3, 1], 3))
        );
        assert_eq!(
            format!("{mid:?}"),
            format!("{:?}", fresh.evaluate(&[1, 1, 1], 3))
        );
    }

    #[test]
    fn people_not_rows_and_the_loss_metric_by_hand() {
        // Two dims of 2 values each; entries (a, b, subject) with rows.
        let d = |name: &str| {
            let values = [Some("x".to_string()), Some("y".to_string())];
            let label = |v: Option<&str>, l: usize| {
                if l == 0 {
                    v.map(str::to_string)
                } else {
                    Some("*".to_string())
                }
            };
            dimension(name, 2, &values, label).unwrap().0
        };
        let base = Base {
            dims: vec![d("a"), d("b")],
            codes: vec![0, 0, 0, 0, 1, 1],
            subjects: Some(vec![1, 2, 3]),
            rows: vec![5, 1, 1],
            sensitive: Vec::new(),
        };
        let mut s = Searcher::new(&base);
        // At the bottom, class (x, x) holds two people (7 rows... 6), class (y, y) one person.
        let r = s.evaluate(&[0, 0], 2);
        assert_eq!((r.rows_suppressed, r.equivalence_classes), (1, 1));
        // Loss: the suppressed row costs 1 in both cells, the rest nothing: 2 / (7 × 2).
        assert!((r.loss - 2.0 / 14.0).abs() < 1e-12, "{}", r.loss);
        // Generalizing `a` fully: (*, x) holds 2 people, (*, y) 1: still one row suppressed;
        // the 6 kept rows pay (2-1)/(2-1) = 1 in cell a.
        let r = s.evaluate(&[1, 0], 2);
        assert_eq!(r.rows_suppressed, 1);
        assert!((r.loss - (6.0 + 2.0) / 14.0).abs() < 1e-12, "{}", r.loss);
        let r = s.evaluate(&[1, 1], 2);
        assert_eq!((r.rows_suppressed, r.equivalence_classes), (0, 1));
        assert!((r.loss - 1.0).abs() < 1e-12);
    }
}
