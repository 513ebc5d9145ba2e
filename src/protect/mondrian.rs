//! Mondrian: strict multidimensional partitioning (LeFevre, DeWitt and Ramakrishnan 2006), an
//! alternative to the full-domain level search of [`super::search`] over the same [`Base`].
//!
//! Full-domain generalization recodes every value of a column to one level, so one rare value
//! (a 90-year-old, a small country) drags the whole column up. Mondrian instead cuts the table
//! itself: starting from one partition holding everyone, it splits a partition in two (at the
//! median, for numbers) or along the hierarchy (for categories) as long as every part still
//! holds k distinct people and the privacy models, and labels each final partition with the
//! smallest range or hierarchy node covering its values. Dense regions end up finely described
//! and only sparse ones coarse, which typically loses far less than the best single level.
//!
//! It is a pure algorithm over integer codes: the result says, per base entry, which partition
//! it fell into, and per partition the labels to write, its people and rows, and Iyengar's loss
//! computed exactly as [`super::search::Searcher::evaluate`] does, so the two are comparable.
//! A partition is a range of one permuted index array (as in the classic implementations), so a
//! split only reorders a slice in place and nothing is copied per partition.
//!
//! As in the paper, a partition is split on its widest dimension (numbers: its range over the
//! table's; categories: (finest values under its node − 1) / (domain − 1)), the next widest
//! when that split is not allowed, and it is final when none is. Numbers split at the median of
//! rows (values up to it go left; when it is the largest value, that value alone goes right).
//!
//! Rules that go beyond the paper, chosen to keep the result simple and predictable:
//! - A dimension is numeric when its column's method allows ranges ([`Dimension::ranges`]:
//!   ages, birth years, kept values), all its non-missing finest labels parse as finite numbers
//!   and there are at least two distinct ones; every other dimension is categorical and climbs
//!   its own levels ([`Dimension::map`]). A hierarchy or a prefix is always climbed, never cut
//!   into ranges, even when its values look like numbers: its ladder names every coarser value
//!   the engineer allows, and a range of codes (`160101-160110`) means nothing and can read
//!   as an identifier.
//! - A missing number is a category of its own that is never inside a range: a partition
//!   holding missing and present values is first split into the two, when that is allowed;
//!   when it is not, the numbers are split at their median with the missing values on the
//!   upper side. A partition that ends with both is labelled `"31-35|missing"`
//!   ([`WITH_MISSING`]); one of missing values only keeps the missing label.
//! - A categorical split makes one child per node of the next lower level and is allowed only
//!   when every child holds k and the models; violating children are not regrouped.
//! - Nothing is suppressed except everything, when the whole table does not hold k and the
//!   models and that fits the suppression limit. `goal.metric` is not used: the result's
//!   loss is always Iyengar's.

use std::time::Instant;

use super::models::Models;
use super::search::{Base, Dimension, Goal, NO_SUBJECT};

/// The partition of a suppressed entry in [`Partitioning::entry_partition`].
pub const SUPPRESSED: u32 = u32::MAX;

/// The finest label of a missing value (as [`super::search::dimension`] makes it).
pub const MISSING: &str = "\u{0}missing";

/// Appended to the range label of a numeric partition that also holds missing values.
pub const WITH_MISSING: &str = "|missing";

/// The outcome of [`partition`].
#[derive(Debug, Clone)]
pub struct Partitioning {
    /// Per base entry: the index of its partition, or [`SUPPRESSED`].
    pub entry_partition: Vec<u32>,
    pub partitions: Vec<Partition>,
    pub rows_suppressed: u64,
    /// Iyengar's loss, 0 (nothing lost) to 1, as [`super::search::NodeReport::loss`].
    pub loss: f64,
    pub seconds: f64,
}

/// One final partition: an equivalence class of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// One label per dimension, in the base's order.
    pub labels: Vec<String>,
    pub people: u64,
    pub rows: u64,
}

/// The rank of a missing value in a numeric dimension: after every number, so that sorting by
/// rank puts the missing values in one run at the end.
const MISSING_RANK: u32 = u32::MAX;

/// How one dimension is split, labelled and costed.
enum Kind {
    Numeric {
        /// `rank[code]`: the position of the code's value among the distinct values, or
        /// [`MISSING_RANK`].
        rank: Vec<u32>,
        /// `values[r]`: the distinct values, ascending.
        values: Vec<f64>,
        /// `below[r]`: finest codes whose value has a rank below r (length `values.len() + 1`):
        /// a range covers `below[hi + 1] − below[lo]` codes of the domain.
        below: Vec<u32>,
        /// Global max − min, to normalize widths.
        span: f64,
    },
    Categorical {
        /// `cover[level][code]`: finest codes under the node.
        cover: Vec<Vec<u32>>,
    },
}

/// A dimension's extent within one partition.
#[derive(Debug, Clone, Copy)]
enum Extent {
    /// Ranks `lo..=hi` of the present values (meaningless when `!present`).
    Numeric {
        lo: u32,
        hi: u32,
        present: bool,
        missing: bool,
    },
    /// The lowest level at which all the partition's values share one node, and that node;
    /// `level == levels` when no level unites them (the label is then `*`).
    Categorical { level: usize, code: u32 },
}

fn kind(dim: &Dimension) -> Kind {
    let labels0 = dim.labels.first().map(Vec::as_slice).unwrap_or(&[]);
    let mut parsed: Vec<Option<f64>> = Vec::with_capacity(labels0.len());
    let mut numeric = true;
    for l in labels0 {
        if l == MISSING {
            parsed.push(None);
            continue;
        }
        match l.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => parsed.push(Some(v)),
            _ => {
                numeric = false;
                break;
            }
        }
    }
    let mut values: Vec<f64> = parsed.iter().flatten().copied().collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    if dim.ranges && numeric && values.len() >= 2 {
        let rank: Vec<u32> = parsed
            .iter()
            .map(|p| match p {
                // `values` holds every parsed value, so the search always finds it.
                Some(v) => values.partition_point(|x| x < v) as u32,
                None => MISSING_RANK,
            })
            .collect();
        let mut below = vec![0u32; values.len() + 1];
        for &r in &rank {
            if r != MISSING_RANK {
                below[r as usize + 1] += 1;
            }
        }
        for r in 1..below.len() {
            below[r] += below[r - 1];
        }
        let span = values[values.len() - 1] - values[0];
        return Kind::Numeric {
            rank,
            values,
            below,
            span,
        };
    }
    let cover = dim
        .map
        .iter()
        .zip(&dim.labels)
        .map(|(m, labels)| {
            let mut c = vec![0u32; labels.len()];
            for &g in m {
                if let Some(slot) = c.get_mut(g as usize) {
                    *slot += 1;
                }
            }
            c
        })
        .collect();
    Kind::Categorical { cover }
}

/// A number as a label: `39`, not `39.0`.
fn number(v: f64) -> String {
    format!("{v}")
}

/// Scratch space and the fixed inputs of one run.
struct Work<'a> {
    base: &'a Base,
    n_dims: usize,
    kinds: Vec<Kind>,
    k: u64,
    models: Models,
    /// `stamp[subject]`: the last count that saw the subject, to count distinct people in one
    /// pass without hashing.
    stamp: Vec<u32>,
    epoch: u32,
    /// Per sensitive attribute, people per code (zeroed after each use) and the codes touched.
    counts: Vec<Vec<u64>>,
    touched: Vec<u32>,
    pairs: Vec<u64>,
    hist: Vec<(u32, u64)>,
    keys: Vec<u64>,
}

impl<'a> Work<'a> {
    fn code(&self, entry: u32, d: usize) -> u32 {
        self.base.codes[entry as usize * self.n_dims + d]
    }

    fn dim(&self, d: usize) -> &'a Dimension {
        &self.base.dims[d]
    }

    /// Distinct people among `entries`: subjects, or rows without a subject column.
    fn people(&mut self, entries: &[u32]) -> u64 {
        let base = self.base;
        let Some(subjects) = &base.subjects else {
            return entries.iter().map(|&e| base.rows[e as usize]).sum();
        };
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // Wrapped: old stamps could look current.
            self.stamp.fill(0);
            self.epoch = 1;
        }
        let mut people = 0;
        for &e in entries {
            let s = subjects[e as usize];
            if s == NO_SUBJECT {
                continue;
            }
            let slot = &mut self.stamp[s as usize];
            if *slot != self.epoch {
                *slot = self.epoch;
                people += 1;
            }
        }
        people
    }

    /// Whether `entries`, as one class, hold every model for sensitive attribute `a`.
    fn models_hold(&mut self, entries: &[u32], a: usize) -> bool {
        let base = self.base;
        let sens = &base.sensitive[a];
        self.hist.clear();
        match &base.subjects {
            None => {
                // Every row is a person.
                let counts = &mut self.counts[a];
                for &e in entries {
                    let c = sens.codes[e as usize];
                    if counts[c as usize] == 0 {
                        self.touched.push(c);
                    }
                    counts[c as usize] += base.rows[e as usize];
                }
                for &c in &self.touched {
                    let n = std::mem::take(&mut counts[c as usize]);
                    if n > 0 {
                        self.hist.push((c, n));
                    }
                }
                self.touched.clear();
            }
            Some(subjects) => {
                // Distinct (value, person) pairs; entries without a subject count for no one.
                self.pairs.clear();
                self.pairs.extend(entries.iter().filter_map(|&e| {
                    let s = subjects[e as usize];
                    (s != NO_SUBJECT)
                        .then(|| (u64::from(sens.codes[e as usize]) << 32) | u64::from(s))
                }));
                self.pairs.sort_unstable();
                self.pairs.dedup();
                for &p in &self.pairs {
                    let c = (p >> 32) as u32;
                    match self.hist.last_mut() {
                        Some((last, n)) if *last == c => *n += 1,
                        _ => self.hist.push((c, 1)),
                    }
                }
            }
        }
        self.models.holds(&self.hist, &sens.attr)
    }

    /// Whether `entries`, as one class, hold k and every model.
    fn holds(&mut self, entries: &[u32]) -> bool {
        if self.people(entries) < self.k {
            return false;
        }
        if self.models.is_empty() {
            return true;
        }
        (0..self.base.sensitive.len()).all(|a| self.models_hold(entries, a))
    }

    /// The extent of dimension `d` over `entries` (not empty).
    fn extent(&self, entries: &[u32], d: usize) -> Extent {
        match &self.kinds[d] {
            Kind::Numeric { rank, .. } => {
                let (mut lo, mut hi) = (u32::MAX, 0u32);
                let (mut present, mut missing) = (false, false);
                for &e in entries {
                    let r = rank[self.code(e, d) as usize];
                    if r == MISSING_RANK {
                        missing = true;
                    } else {
                        present = true;
                        lo = lo.min(r);
                        hi = hi.max(r);
                    }
                }
                Extent::Numeric {
                    lo,
                    hi,
                    present,
                    missing,
                }
            }
            Kind::Categorical { .. } => {
                let map = &self.dim(d).map;
                let levels = map.len();
                let first = self.code(entries[0], d) as usize;
                // Levels nest, so once two values share a node they share one at every higher
                // level: the uniting level only ever climbs.
                let mut level = 0;
                for &e in &entries[1..] {
                    let c = self.code(e, d) as usize;
                    while level < levels && map[level][c] != map[level][first] {
                        level += 1;
                    }
                    if level == levels {
                        break;
                    }
                }
                let code = if level < levels { map[level][first] } else { 0 };
                Extent::Categorical { level, code }
            }
        }
    }

    /// Finest codes of dimension `d` the extent covers.
    fn covered(&self, d: usize, x: Extent) -> u64 {
        let domain = self.dim(d).map.first().map_or(0, Vec::len) as u64;
        match (&self.kinds[d], x) {
            (
                Kind::Numeric { below, .. },
                Extent::Numeric {
                    lo,
                    hi,
                    present,
                    missing,
                },
            ) => {
                let numbers = if present {
                    u64::from(below[hi as usize + 1] - below[lo as usize])
                } else {
                    0
                };
                numbers + u64::from(missing)
            }
            (Kind::Categorical { cover }, Extent::Categorical { level, code }) => cover
                .get(level)
                .and_then(|c| c.get(code as usize))
                .map_or(domain, |&c| u64::from(c)),
            _ => domain,
        }
    }

    /// The normalized width of the extent, to pick the dimension to split; 0 when it cannot be
    /// split.
    fn width(&self, d: usize, x: Extent) -> f64 {
        let domain = self.dim(d).map.first().map_or(0, Vec::len);
        match (&self.kinds[d], x) {
            (
                Kind::Numeric { values, span, .. },
                Extent::Numeric {
                    lo,
                    hi,
                    present,
                    missing,
                },
            ) => {
                let mut w = 0.0;
                if present && hi > lo && *span > 0.0 {
                    w += (values[hi as usize] - values[lo as usize]) / span;
                }
                if present && missing && domain > 1 {
                    // Missing counts as one more value beside the range.
                    w += 1.0 / (domain as f64 - 1.0);
                }
                w
            }
            (Kind::Categorical { .. }, Extent::Categorical { level, .. }) => {
                if level == 0 || domain <= 1 {
                    0.0
                } else {
                    (self.covered(d, x) as f64 - 1.0) / (domain as f64 - 1.0)
                }
            }
            _ => 0.0,
        }
    }

    fn label(&self, d: usize, x: Extent) -> String {
        let dim = self.dim(d);
        match (&self.kinds[d], x) {
            (
                Kind::Numeric { values, rank, .. },
                Extent::Numeric {
                    lo,
                    hi,
                    present,
                    missing,
                },
            ) => {
                if !present {
                    // The dimension's own label for a missing value.
                    return rank
                        .iter()
                        .position(|&r| r == MISSING_RANK)
                        .and_then(|c| dim.labels[0].get(c).cloned())
                        .unwrap_or_else(|| MISSING.to_string());
                }
                let (a, b) = (values[lo as usize], values[hi as usize]);
                let range = if lo == hi {
                    number(a)
                } else {
                    format!("{}-{}", number(a), number(b))
                };
                if missing {
                    format!("{range}{WITH_MISSING}")
                } else {
                    range
                }
            }
            (Kind::Categorical { .. }, Extent::Categorical { level, code }) => dim
                .labels
                .get(level)
                .and_then(|l| l.get(code as usize))
                .cloned()
                .unwrap_or_else(|| "*".to_string()),
            _ => "*".to_string(),
        }
    }

    /// Tries to split `entries` (a partition) along dimension `d`: reorders them and returns
    /// the children's lengths, in order, when every child holds; `None` (order unspecified)
    /// when no allowed split exists on `d`.
    fn split(&mut self, entries: &mut [u32], d: usize, x: Extent) -> Option<Vec<usize>> {
        match x {
            Extent::Numeric {
                lo,
                hi,
                present,
                missing,
            } => {
                let Kind::Numeric { rank, .. } = &self.kinds[d] else {
                    return None;
                };
                let codes = &self.base.codes;
                let n_dims = self.n_dims;
                sort_by(&mut self.keys, entries, |e| {
                    rank[codes[e as usize * n_dims + d] as usize]
                });
                let rank_at = |i: usize| rank[codes[entries[i] as usize * n_dims + d] as usize];
                let first_missing = entries.partition_point(|&e| {
                    rank[codes[e as usize * n_dims + d] as usize] != MISSING_RANK
                });
                let mut cuts = Vec::with_capacity(2);
                if present && missing {
                    cuts.push(first_missing);
                }
                if present && hi > lo {
                    // The median of rows among the numbers: values up to it go left.
                    let rows = &self.base.rows;
                    let total: u64 = entries[..first_missing]
                        .iter()
                        .map(|&e| rows[e as usize])
                        .sum();
                    let mut seen = 0u64;
                    let mut median = hi;
                    for (i, &e) in entries[..first_missing].iter().enumerate() {
                        seen += rows[e as usize];
                        if 2 * seen >= total {
                            median = rank_at(i);
                            break;
                        }
                    }
                    // When the median is the largest value, the largest value alone goes
                    // right, so both sides hold numbers.
                    let cut_rank = if median >= hi { hi } else { median + 1 };
                    cuts.push(entries[..first_missing].partition_point(|&e| {
                        rank[codes[e as usize * n_dims + d] as usize] < cut_rank
                    }));
                }
                for cut in cuts {
                    if cut == 0 || cut == entries.len() {
                        continue;
                    }
                    let (left, right) = entries.split_at(cut);
                    if self.holds(left) && self.holds(right) {
                        return Some(vec![cut, entries.len() - cut]);
                    }
                }
                None
            }
            Extent::Categorical { level, .. } => {
                if level == 0 {
                    return None;
                }
                let map = &self.dim(d).map[level - 1];
                let codes = &self.base.codes;
                let n_dims = self.n_dims;
                sort_by(&mut self.keys, entries, |e| {
                    map[codes[e as usize * n_dims + d] as usize]
                });
                let group = |e: u32| map[codes[e as usize * n_dims + d] as usize];
                let mut lens = Vec::new();
                let mut start = 0;
                while start < entries.len() {
                    let g = group(entries[start]);
                    let len = entries[start..].partition_point(|&e| group(e) == g);
                    if !self.holds(&entries[start..start + len]) {
                        return None;
                    }
                    lens.push(len);
                    start += len;
                }
                (lens.len() >= 2).then_some(lens)
            }
        }
    }
}

/// Sorts `entries` by `key`, through the scratch `keys` (the key with the entry index appended
/// is unique, so the order is deterministic whatever the sort).
fn sort_by(keys: &mut Vec<u64>, entries: &mut [u32], key: impl Fn(u32) -> u32) {
    keys.clear();
    keys.extend(
        entries
            .iter()
            .map(|&e| (u64::from(key(e)) << 32) | u64::from(e)),
    );
    keys.sort_unstable();
    for (slot, &k) in entries.iter_mut().zip(keys.iter()) {
        *slot = k as u32;
    }
}

/// Partitions `base` for `goal` with strict Mondrian. Errors when even the whole table does not
/// hold k and the models and suppressing it all exceeds the limit, or when the base is too
/// large to index.
pub fn partition(base: &Base, goal: &Goal) -> Result<Partitioning, String> {
    let started = Instant::now();
    let n = base.rows.len();
    let n_dims = base.dims.len();
    if n >= SUPPRESSED as usize {
        return Err(format!(
            "Mondrian handles fewer than {SUPPRESSED} entries, not {n}"
        ));
    }
    if base.codes.len() != n * n_dims
        || base.subjects.as_ref().is_some_and(|s| s.len() != n)
        || base.sensitive.iter().any(|s| s.codes.len() != n)
    {
        return Err("the base's codes, subjects, rows and sensitive codes disagree".into());
    }
    let total_rows: u64 = base.rows.iter().sum();
    let subjects = base.subjects.as_ref().map_or(0, |s| {
        s.iter()
            .filter(|&&s| s != NO_SUBJECT)
            .max()
            .map_or(0, |&m| m as usize + 1)
    });
    let counts = base
        .sensitive
        .iter()
        .map(|s| vec![0u64; s.codes.iter().max().map_or(0, |&m| m as usize + 1)])
        .collect();
    let mut work = Work {
        base,
        n_dims,
        kinds: base.dims.iter().map(kind).collect(),
        k: u64::from(goal.k),
        models: goal.models,
        stamp: vec![0; subjects],
        epoch: 0,
        counts,
        touched: Vec::new(),
        pairs: Vec::new(),
        hist: Vec::new(),
        keys: Vec::new(),
    };
    let mut idx: Vec<u32> = (0..n as u32).collect();
    if n == 0 {
        return Ok(Partitioning {
            entry_partition: Vec::new(),
            partitions: Vec::new(),
            rows_suppressed: 0,
            loss: 0.0,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let mut entry_partition = vec![SUPPRESSED; n];
    let mut partitions = Vec::new();
    let cells = total_rows as f64 * n_dims as f64;

    if !work.holds(&idx) {
        let allowed = super::allowed_rows(goal.max_suppression, total_rows);
        if total_rows > allowed {
            return Err(format!(
                "the whole table does not hold k = {} and the privacy models, and suppressing \
                 all {total_rows} rows exceeds the limit of {allowed}",
                goal.k
            ));
        }
        return Ok(Partitioning {
            entry_partition,
            partitions,
            rows_suppressed: total_rows,
            loss: if cells > 0.0 { 1.0 } else { 0.0 },
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    // Partitions still to split, as ranges of `idx`; depth-first, leftmost first, so the
    // partitions come out in a fixed order.
    let mut stack: Vec<(usize, usize)> = vec![(0, n)];
    let mut lost = 0.0;
    let mut order: Vec<(f64, usize, Extent)> = Vec::with_capacity(n_dims);
    while let Some((start, end)) = stack.pop() {
        let entries = &mut idx[start..end];
        order.clear();
        for d in 0..n_dims {
            let x = work.extent(entries, d);
            order.push((work.width(d, x), d, x));
        }
        // Widest first; ties by dimension, for determinism.
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut children = None;
        for &(w, d, x) in &order {
            if w <= 0.0 {
                break;
            }
            if let Some(lens) = work.split(entries, d, x) {
                children = Some(lens);
                break;
            }
        }
        match children {
            Some(lens) => {
                let mut at = end;
                for len in lens.iter().rev() {
                    stack.push((at - len, at));
                    at -= len;
                }
            }
            None => {
                // A final partition: label it and cost it.
                let id = partitions.len() as u32;
                let rows: u64 = entries.iter().map(|&e| base.rows[e as usize]).sum();
                let people = work.people(entries);
                let mut labels = Vec::with_capacity(n_dims);
                // `order` is sorted by width; label in dimension order.
                let mut extents: Vec<(usize, Extent)> =
                    order.iter().map(|&(_, d, x)| (d, x)).collect();
                extents.sort_by_key(|&(d, _)| d);
                for &(d, x) in &extents {
                    labels.push(work.label(d, x));
                    let domain = base.dims[d].map.first().map_or(0, Vec::len);
                    if domain > 1 {
                        let cell = (work.covered(d, x) as f64 - 1.0) / (domain as f64 - 1.0);
                        lost += rows as f64 * cell;
                    }
                }
                for &e in idx[start..end].iter() {
                    entry_partition[e as usize] = id;
                }
                partitions.push(Partition {
                    labels,
                    people,
                    rows,
                });
            }
        }
    }
    Ok(Partitioning {
        entry_partition,
        partitions,
        rows_suppressed: 0,
        loss: if cells > 0.0 { lost / cells } else { 0.0 },
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MetricName;
    use crate::protect::models::{Attribute, LDiversity};
    use crate::protect::search::{Searcher, SensitiveCodes, dimension};

    /// A numeric dimension over `labels` (finest level only; `None` is missing).
    fn numeric(name: &str, labels: &[Option<&str>]) -> Dimension {
        let values: Vec<Option<String>> = labels.iter().map(|v| v.map(str::to_string)).collect();
        let (dim, codes) =
            dimension(name, 1, &values, |v, _| v.map(str::to_string)).expect("a dimension");
        assert_eq!(codes, (0..labels.len() as u32).collect::<Vec<_>>());
        dim
    }

    /// Countries → continents → `*`.
    fn countries() -> Dimension {
        let values: Vec<Option<String>> = ["US", "CA", "FR", "DE", "JP"]
            .iter()
            .map(|v| Some(v.to_string()))
            .collect();
        let (dim, _) = dimension("country", 3, &values, |v, level| {
            let v = v?;
            Some(match level {
                0 => v.to_string(),
                1 => match v {
                    "US" | "CA" => "NA".into(),
                    "FR" | "DE" => "EU".into(),
                    _ => "Asia".into(),
                },
                _ => "*".into(),
            })
        })
        .expect("a dimension");
        dim
    }

    fn base(dims: Vec<Dimension>, entries: &[(&[u32], u64)]) -> Base {
        Base {
            dims,
            codes: entries.iter().flat_map(|(c, _)| c.to_vec()).collect(),
            subjects: None,
            rows: entries.iter().map(|(_, r)| *r).collect(),
            sensitive: Vec::new(),
        }
    }

    fn goal(k: u32) -> Goal {
        Goal {
            k,
            max_suppression: 0.0,
            metric: MetricName::Loss,
            models: Models::default(),
        }
    }

    fn labels(p: &Partitioning) -> Vec<String> {
        p.partitions.iter().map(|p| p.labels.join(",")).collect()
    }

    #[test]
    fn numbers_split_at_the_median_of_rows() {
        let ages: Vec<String> = (30..40).map(|a| a.to_string()).collect();
        let ages: Vec<Option<&str>> = ages.iter().map(|a| Some(a.as_str())).collect();
        let entries: Vec<Vec<u32>> = (0..10).map(|c| vec![c]).collect();
        let entries: Vec<(&[u32], u64)> = entries.iter().map(|c| (c.as_slice(), 1)).collect();
        let b = base(vec![numeric("age", &ages)], &entries);
        let p = partition(&b, &goal(2)).unwrap();
        // 30–34 | 35–39; then 30–32 | 33–34 (30–31 | 32 would leave one row), and the same
        // on the right.
        assert_eq!(labels(&p), ["30-32", "33-34", "35-37", "38-39"]);
        assert_eq!(p.rows_suppressed, 0);
        assert_eq!(p.entry_partition, [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]);
        // Ranges of 3 cost 2/9 a row, of 2 cost 1/9: (3·2 + 2·1 + 3·2 + 2·1) / 9 / 10 rows.
        assert!((p.loss - 16.0 / 90.0).abs() < 1e-12, "{}", p.loss);
        // Rows weigh the median: 30 with 9 of 18 rows is a side of its own (with 8 of 17 the
        // median would be 31).
        let mut heavy = b.clone();
        heavy.rows[0] = 9;
        let p = partition(&heavy, &goal(2)).unwrap();
        assert_eq!(p.partitions[0].labels, ["30"]);
        assert_eq!(p.partitions[0].rows, 9);
    }

    #[test]
    fn range_labels_drop_trailing_zeros_and_cover_the_domain() {
        let b = base(
            vec![
                numeric("x", &[Some("1.0"), Some("5"), Some("9.5")]),
                numeric("y", &[Some("0"), Some("10")]),
            ],
            &[(&[0, 0], 1), (&[2, 0], 1), (&[1, 1], 2)],
        );
        let p = partition(&b, &goal(2)).unwrap();
        // x and y are equally wide, x goes first: its median (5) would leave 9.5 alone. y
        // splits: 0 holds x = 1 and 9.5, 10 holds x = 5.
        assert_eq!(labels(&p), ["1-9.5,0", "5,10"]);
        // 1–9.5 covers all three values of x, 5 included though it lies in the other
        // partition: 1 a row for 2 rows, over 4 rows · 2 dims.
        assert!((p.loss - 2.0 / 8.0).abs() < 1e-12, "{}", p.loss);
    }

    #[test]
    fn categories_split_along_the_hierarchy() {
        // US 2, CA 1, FR 2, DE 2, JP 2; k = 2: `*` splits into continents; North America
        // cannot split further (CA alone), Europe can.
        let b = base(
            vec![countries()],
            &[(&[0], 2), (&[1], 1), (&[2], 2), (&[3], 2), (&[4], 2)],
        );
        let p = partition(&b, &goal(2)).unwrap();
        assert_eq!(labels(&p), ["NA", "FR", "DE", "JP"]);
        assert_eq!(p.entry_partition, [0, 0, 1, 2, 3]);
        // NA covers 2 of 5 countries: 1/4 for each of its 3 rows, over 9 rows.
        assert!((p.loss - 0.75 / 9.0).abs() < 1e-12);
        // JP with one row: Asia fails, so `*` cannot split at all.
        let mut small = b.clone();
        small.rows[4] = 1;
        let p = partition(&small, &goal(2)).unwrap();
        assert_eq!(labels(&p), ["*"]);
        assert!((p.loss - 1.0).abs() < 1e-12);
    }

    /// Postal codes through a prefix ladder: numbers to look at, but a dimension that allows no
    /// ranges climbs its levels. Regression: they were cut as numbers, which lost their leading
    /// zeros (`50140-50147`), and a range such as `160101-160110` reads as an IIN to the leak
    /// scan (tests/mondrian.rs runs that one).
    #[test]
    fn codes_without_ranges_climb_their_ladder() {
        let codes: Vec<Option<String>> = ["050140", "050147", "050210", "050215"]
            .iter()
            .map(|v| Some(v.to_string()))
            .collect();
        let ladder = |ranges: bool| {
            let (mut dim, _) = dimension("postal", 4, &codes, |v, level| {
                let v = v?;
                Some(match level {
                    0 => v.to_string(),
                    1 => v[..5].to_string(),
                    2 => v[..4].to_string(),
                    _ => "*".into(),
                })
            })
            .expect("a dimension");
            dim.ranges = ranges;
            dim
        };
        let entries: &[(&[u32], u64)] = &[(&[0], 1), (&[1], 1), (&[2], 1), (&[3], 1)];
        let as_numbers = partition(&base(vec![ladder(true)], entries), &goal(2)).unwrap();
        assert_eq!(labels(&as_numbers), ["50140-50147", "50210-50215"]);
        let climbed = partition(&base(vec![ladder(false)], entries), &goal(2)).unwrap();
        assert_eq!(labels(&climbed), ["05014", "05021"]);
        // Each covers two of the four codes: 1/3 a row.
        assert!((climbed.loss - 1.0 / 3.0).abs() < 1e-12, "{}", climbed.loss);
        // Under k = 3 neither `0501` nor `0502` holds: `*`.
        let p = partition(&base(vec![ladder(false)], entries), &goal(3)).unwrap();
        assert_eq!(labels(&p), ["*"]);
    }

    #[test]
    fn loss_matches_the_level_search_where_the_partitions_are_a_level() {
        // One row per country of NA and EU, k = 2: Mondrian stops at the continents, which is
        // level 1 of the full-domain search, and must cost the same.
        let values: Vec<Option<String>> = ["US", "CA", "FR", "DE"]
            .iter()
            .map(|v| Some(v.to_string()))
            .collect();
        let (dim, _) = dimension("country", 3, &values, |v, level| {
            let v = v?;
            Some(match level {
                0 => v.to_string(),
                1 if v == "US" || v == "CA" => "NA".into(),
                1 => "EU".into(),
                _ => "*".into(),
            })
        })
        .unwrap();
        let b = base(vec![dim], &[(&[0], 1), (&[1], 1), (&[2], 1), (&[3], 1)]);
        let p = partition(&b, &goal(2)).unwrap();
        assert_eq!(labels(&p), ["NA", "EU"]);
        let full = Searcher::new(&b).evaluate(&[1], 2);
        assert_eq!(full.rows_suppressed, 0);
        assert!(
            (p.loss - full.loss).abs() < 1e-12,
            "{} vs {}",
            p.loss,
            full.loss
        );
        assert!((p.loss - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn k_counts_distinct_people_not_rows() {
        let dim = || numeric("x", &[Some("1"), Some("2"), Some("3"), Some("4")]);
        // Person 0 has 10 rows at 1 and 2: the left half is one person.
        let mut b = base(
            vec![dim()],
            &[(&[0], 5), (&[1], 5), (&[2], 1), (&[3], 1), (&[3], 1)],
        );
        b.subjects = Some(vec![0, 0, 1, 2, NO_SUBJECT]);
        let p = partition(&b, &goal(2)).unwrap();
        assert_eq!(labels(&p), ["1-4"]);
        // The row without a subject counts for no one.
        assert_eq!((p.partitions[0].people, p.partitions[0].rows), (3, 13));
        // Two people on each side: it splits.
        b.subjects = Some(vec![0, 3, 1, 2, NO_SUBJECT]);
        let p = partition(&b, &goal(2)).unwrap();
        assert_eq!(labels(&p), ["1-2", "3-4"]);
        assert_eq!(p.partitions[1].people, 2);
        // Without the fourth person, 3–4 holds one person (and a nobody): no split.
        b.subjects = Some(vec![0, 3, 1, 1, NO_SUBJECT]);
        assert_eq!(labels(&partition(&b, &goal(2)).unwrap()), ["1-4"]);
    }

    #[test]
    fn l_diversity_blocks_a_split() {
        let mut b = base(
            vec![numeric("x", &[Some("1"), Some("2"), Some("3"), Some("4")])],
            &[(&[0], 1), (&[1], 1), (&[2], 1), (&[3], 1)],
        );
        let mut g = goal(2);
        g.models.l_diversity = Some(LDiversity::Distinct { l: 2 });
        let sensitive = |codes: Vec<u32>| SensitiveCodes {
            attr: Attribute::new("s", false, &[2, 2]),
            codes,
        };
        // Each half would hold one sensitive value.
        b.sensitive = vec![sensitive(vec![0, 0, 1, 1])];
        assert_eq!(labels(&partition(&b, &g).unwrap()), ["1-4"]);
        assert_eq!(labels(&partition(&b, &goal(2)).unwrap()), ["1-2", "3-4"]);
        // Alternating values: both halves are 2-diverse.
        b.sensitive = vec![sensitive(vec![0, 1, 0, 1])];
        assert_eq!(labels(&partition(&b, &g).unwrap()), ["1-2", "3-4"]);
        // Left half: one person, under k.
        b.subjects = Some(vec![0, 0, 1, 2]);
        assert_eq!(labels(&partition(&b, &g).unwrap()), ["1-4"]);
        // The whole table not 3-diverse, suppression 0: an error, not a wrong answer.
        g.models.l_diversity = Some(LDiversity::Distinct { l: 3 });
        assert!(partition(&b, &g).is_err());
    }

    #[test]
    fn sensitive_values_are_counted_in_people() {
        // Person 0 has value A at x = 1 and at x = 2, person 3 value B at 3 and 4: one person
        // each, not two rows. Both halves then hold A and B once each, which is entropy
        // 2-diverse; counted in rows (A twice and B once, or the reverse) they would not be.
        let mut b = base(
            vec![numeric("x", &[Some("1"), Some("2"), Some("3"), Some("4")])],
            &[
                (&[0], 1),
                (&[1], 1),
                (&[1], 1),
                (&[2], 1),
                (&[2], 1),
                (&[3], 1),
            ],
        );
        b.subjects = Some(vec![0, 0, 1, 2, 3, 3]);
        b.sensitive = vec![SensitiveCodes {
            attr: Attribute::new("s", false, &[2, 2]),
            codes: vec![0, 0, 1, 0, 1, 1],
        }];
        let mut g = goal(2);
        g.models.l_diversity = Some(LDiversity::Entropy { l: 2.0 });
        let p = partition(&b, &g).unwrap();
        assert_eq!(labels(&p), ["1-2", "3-4"]);
        assert_eq!((p.partitions[0].people, p.partitions[0].rows), (2, 3));
        // Without subjects every row is a person: the split is refused.
        b.subjects = None;
        assert_eq!(labels(&partition(&b, &g).unwrap()), ["1-4"]);
    }

    #[test]
    fn a_table_under_k_is_suppressed_whole_or_fails() {
        let b = base(
            vec![numeric("x", &[Some("1"), Some("2")]), countries()],
            &[(&[0, 0], 1), (&[1, 2], 2)],
        );
        let mut g = goal(5);
        assert!(partition(&b, &g).is_err());
        g.max_suppression = 1.0;
        let p = partition(&b, &g).unwrap();
        assert!(p.partitions.is_empty());
        assert_eq!(p.entry_partition, [SUPPRESSED, SUPPRESSED]);
        assert_eq!(p.rows_suppressed, 3);
        assert_eq!(p.loss, 1.0);
    }

    #[test]
    fn missing_numbers_stay_out_of_ranges() {
        let dim = numeric("x", &[Some("1"), Some("2"), Some("3"), Some("4"), None]);
        let entries: Vec<(&[u32], u64)> =
            vec![(&[0], 2), (&[1], 2), (&[2], 2), (&[3], 2), (&[4], 2)];
        let b = base(vec![dim], &entries);
        // k = 2: missing is split off first, then the numbers down to single values.
        let p = partition(&b, &goal(2)).unwrap();
        assert_eq!(labels(&p), ["1", "2", "3", "4", MISSING]);
        assert_eq!(p.loss, 0.0);
        // k = 3: missing (2 rows) cannot stand alone; it joins the upper half of the numbers.
        let p = partition(&b, &goal(3)).unwrap();
        assert_eq!(labels(&p), ["1-2", "3-4|missing"]);
        // Domain 5: 1–2 covers 2 (1/4 × 4 rows), 3–4|missing covers 3 (2/4 × 6 rows).
        assert!((p.loss - 4.0 / 10.0).abs() < 1e-12, "{}", p.loss);
    }

    /// Random bases with subjects and a sensitive attribute: every partition holds k and the
    /// models when recounted from `entry_partition`, the loss recomputed from the labels agrees,
    /// and the result is deterministic.
    #[test]
    fn random_bases_hold_k_and_the_models() {
        use rand::{RngExt, SeedableRng};
        for seed in 0..8u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let ages: Vec<String> = (0..20).map(|a| (a * 3).to_string()).collect();
            let ages: Vec<Option<&str>> = ages.iter().map(|a| Some(a.as_str())).collect();
            let dims = vec![numeric("age", &ages), countries()];
            let n = 400;
            let mut b = base(dims, &[]);
            let mut sens = Vec::new();
            let mut subjects = Vec::new();
            for _ in 0..n {
                b.codes.push(rng.random_range(0..20u32));
                b.codes.push(rng.random_range(0..5u32));
                b.rows.push(rng.random_range(1..4u64));
                subjects.push(rng.random_range(0..150u32));
                sens.push(rng.random_range(0..3u32));
            }
            b.subjects = Some(subjects);
            b.sensitive = vec![SensitiveCodes {
                attr: Attribute::new("s", false, &[1, 1, 1]),
                codes: sens,
            }];
            let mut g = goal(4);
            g.models.l_diversity = Some(LDiversity::Distinct { l: 2 });
            let p = partition(&b, &g).unwrap();
            assert!(
                p.partitions.len() > 3,
                "seed {seed}: {}",
                p.partitions.len()
            );
            let again = partition(&b, &g).unwrap();
            assert_eq!(p.entry_partition, again.entry_partition);
            assert_eq!(p.partitions, again.partitions);
            let subjects = b.subjects.as_ref().unwrap();
            let mut rows = 0;
            let mut lost = 0.0;
            for (id, part) in p.partitions.iter().enumerate() {
                let members: Vec<usize> = (0..n)
                    .filter(|&i| p.entry_partition[i] == id as u32)
                    .collect();
                let mut people: Vec<u32> = members.iter().map(|&i| subjects[i]).collect();
                people.sort();
                people.dedup();
                assert_eq!(people.len() as u64, part.people);
                assert!(part.people >= 4);
                let mut values: Vec<u32> =
                    members.iter().map(|&i| b.sensitive[0].codes[i]).collect();
                values.sort();
                values.dedup();
                assert!(values.len() >= 2);
                let r: u64 = members.iter().map(|&i| b.rows[i]).sum();
                assert_eq!(r, part.rows);
                rows += r;
                // Age: the range's values of the domain (multiples of 3).
                let bounds: Vec<u32> = part.labels[0]
                    .split('-')
                    .map(|x| x.parse().unwrap())
                    .collect();
                let (lo, hi) = (bounds[0], *bounds.last().unwrap());
                for &i in &members {
                    let age = b.codes[i * 2] * 3;
                    assert!(lo <= age && age <= hi);
                }
                let covered = (lo..=hi).filter(|a| a % 3 == 0).count() as f64;
                lost += r as f64 * (covered - 1.0) / 19.0;
                let country = match part.labels[1].as_str() {
                    "*" => 5.0,
                    "NA" | "EU" => 2.0,
                    _ => 1.0,
                };
                lost += r as f64 * (country - 1.0) / 4.0;
            }
            assert_eq!(rows, b.rows.iter().sum::<u64>());
            let want = lost / (rows as f64 * 2.0);
            assert!((p.loss - want).abs() < 1e-12, "{} vs {want}", p.loss);
        }
    }
}
