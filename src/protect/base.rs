//! What the level search and Mondrian work on, apart from the data: the first pass's counts
//! as integer codes ([`Base`]: one [`Dimension`] a quasi-identifier, the distinct entries with
//! their subjects and rows) and what to look for ([`Goal`]). No polars here: a second engine only
//! has to fill a `Base`.

use std::collections::HashMap;

use super::models::{Attribute, Models};
use crate::job::{MetricName, Privacy};

/// One quasi-identifier: its finest values as codes and their generalizations at each level.
#[derive(Debug, Clone)]
pub struct Dimension {
    /// Output column name.
    pub name: String,
    /// Levels the search may choose from, inclusive.
    pub min: usize,
    pub max: usize,
    /// `map[level][code]`: the code, at `level`, of the finest value `code`. `map[0]` is the
    /// identity. Codes at each level are dense, from 0.
    pub map: Vec<Vec<u32>>,
    /// `labels[level][code]`: the value a code stands for, for reports and `explore`.
    pub labels: Vec<Vec<String>>,
    /// Whether Mondrian may label a class with a range of the finest values when they read as
    /// numbers (see [`crate::method::Generalize::ranges`]); otherwise it climbs the levels.
    /// [`dimension`] allows it; the table's base forbids it for a column whose method does not.
    pub ranges: bool,
}

impl Dimension {
    pub fn levels(&self) -> usize {
        self.map.len()
    }
    pub(crate) fn domain(&self) -> usize {
        self.map[0].len()
    }
    pub(crate) fn cardinality(&self, level: usize) -> usize {
        self.labels[level].len()
    }
}

/// The subject code of rows without a subject: they count for no one.
pub const NO_SUBJECT: u32 = u32::MAX;

/// The first pass's counts, as codes.
#[derive(Debug, Clone)]
pub struct Base {
    pub dims: Vec<Dimension>,
    /// Distinct entries: `codes[i * dims + d]` is entry i's finest code in dimension d.
    pub codes: Vec<u32>,
    /// Entry i's subject (a dense code), when the table has a subject column; entries are then
    /// distinct (codes, subject) pairs. Without subjects every row is a person.
    pub subjects: Option<Vec<u32>>,
    /// Rows per entry.
    pub rows: Vec<u64>,
    /// The sensitive attributes, when the table's models need them: entries are then distinct
    /// (codes, subject, sensitive codes…), and `sensitive[a].codes[i]` is entry i's value of
    /// attribute a.
    pub sensitive: Vec<SensitiveCodes>,
}

/// One sensitive attribute's values per entry of a [`Base`].
#[derive(Debug, Clone)]
pub struct SensitiveCodes {
    pub attr: Attribute,
    pub codes: Vec<u32>,
}

/// What to search for.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    pub k: u32,
    pub max_suppression: f64,
    pub metric: MetricName,
    /// l-diversity and t-closeness on the base's sensitive attributes.
    pub models: Models,
}

impl Goal {
    /// What a table's privacy settings ask of its search.
    pub fn of(p: &Privacy) -> Goal {
        Goal {
            k: p.k,
            max_suppression: p.max_suppression,
            metric: p.metric,
            models: p.models,
        }
    }
}

/// Builds a [`Dimension`] from a column's distinct finest values and a function giving a
/// value's label at each level, 0 being the finest level the search may choose (`None` in or
/// out: missing, a class of its own unless the label says otherwise). Returns it with the
/// level-0 code of each value, or an error when the levels do not nest: a class at one level
/// must fall wholly into one class at every coarser level, or rolling counts up would be wrong.
pub fn dimension(
    name: &str,
    levels: usize,
    values: &[Option<String>],
    label: impl Fn(Option<&str>, usize) -> Option<String>,
) -> Result<(Dimension, Vec<u32>), String> {
    const MISSING: &str = "\u{0}missing";
    let mut map: Vec<Vec<u32>> = Vec::with_capacity(levels);
    let mut labels: Vec<Vec<String>> = Vec::with_capacity(levels);
    let mut code_of_value: Vec<u32> = Vec::new();
    for level in 0..levels {
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        // The code of each value at this level.
        let codes: Vec<u32> = values
            .iter()
            .map(|v| {
                let l = label(v.as_deref(), level).unwrap_or_else(|| MISSING.to_string());
                let next = names.len() as u32;
                *index.entry(l.clone()).or_insert_with(|| {
                    names.push(l);
                    next
                })
            })
            .collect();
        if level == 0 {
            map.push((0..names.len() as u32).collect());
            code_of_value = codes;
        } else {
            let mut m = vec![u32::MAX; labels[0].len()];
            for (v, &c) in codes.iter().enumerate() {
                let c0 = code_of_value[v] as usize;
                if m[c0] != u32::MAX && m[c0] != c {
                    return Err(format!(
                        "the levels of `{name}` do not nest: one value at its lowest allowed \
                         level falls into two different values at level +{level}"
                    ));
                }
                m[c0] = c;
            }
            // Between intermediate levels too: a class at level l must map to one class above.
            for (l, finer) in map.iter().enumerate().skip(1) {
                let mut up = vec![u32::MAX; labels[l].len()];
                for (c0, &cl) in finer.iter().enumerate() {
                    let (cl, cm) = (cl as usize, m[c0]);
                    if up[cl] != u32::MAX && up[cl] != cm {
                        return Err(format!(
                            "the levels of `{name}` do not nest: one value at level +{l} falls \
                             into two different values at level +{level}"
                        ));
                    }
                    up[cl] = cm;
                }
            }
            map.push(m);
        }
        labels.push(names);
    }
    Ok((
        Dimension {
            name: name.to_string(),
            min: 0,
            max: levels - 1,
            map,
            labels,
            ranges: true,
        },
        code_of_value,
    ))
}
