//! Choosing a table's generalization levels: the first pass counts each quasi-identifier's
//! finest values (see [`crate::transform::levels`]); here they become codes and the
//! [`search`](super::search) picks the levels with the least loss.

use std::collections::HashMap;

use polars::prelude::*;

use super::kanon::Counts;
use super::models::Attribute;
use super::search::{
    Base, Goal, NO_SUBJECT, NodeReport, Outcome, Searcher, SensitiveCodes, dimension,
};
use super::{ROWS, SUBJECT};
use crate::error::{Error, Result};
use crate::job::{Privacy, Table};
use crate::transform::levels;

/// Whether Mondrian may write ranges of the column's finest values: a method's own answer (ages,
/// birth years, a hierarchy of quantities; never a prefix or a hierarchy of codes), and yes for
/// a kept value, a number as the export has it.
fn ranges(c: &crate::job::Column) -> bool {
    match &c.action {
        crate::job::ColumnAction::Generalize(g) => g.ranges(),
        _ => true,
    }
}

/// The search's base: one dimension per quasi-identifier, in the table's order, whose level 0
/// is the column's lowest allowed level.
pub fn base(t: &Table, counts: &Counts) -> Result<Base> {
    Ok(base_with_values(t, counts)?.0)
}

/// Each quasi-identifier's distinct finest values (as [`levels::base_expr`] gives them) with
/// their code in the base: what maps rows back to the base's entries (Mondrian).
pub type FinestValues = Vec<Vec<(Option<String>, u32)>>;

/// [`base`], with the finest values of each quasi-identifier and their codes.
pub fn base_with_values(t: &Table, counts: &Counts) -> Result<(Base, FinestValues)> {
    let (base, finest, _) = base_with_people(t, counts)?;
    Ok((base, finest))
}

/// [`base_with_values`], with each subject code's person (the subject's fingerprint), which
/// lines up the people of two tables.
fn base_with_people(t: &Table, counts: &Counts) -> Result<(Base, FinestValues, Vec<u64>)> {
    let engine = |e| Error::Engine {
        context: format!("tables.{}: preparing the level search", t.name),
        source: e,
    };
    // The search's base is always counted by value (`kanon::count`).
    let Some(kept) = counts.pairs() else {
        return Err(Error::Privacy(format!(
            "tables.{}: the level search needs classes counted by value",
            t.name
        )));
    };
    let n = kept.height();
    let qis: Vec<_> = t.quasi_identifiers().collect();
    let mut dims = Vec::with_capacity(qis.len());
    let mut finest: FinestValues = Vec::with_capacity(qis.len());
    let mut codes = vec![0u32; n * qis.len()];
    for (d, c) in qis.iter().enumerate() {
        let column = kept.column(c.output.as_str()).map_err(engine)?;
        let text = column.cast(&DataType::String).map_err(engine)?;
        let text = text.str().map_err(engine)?;
        let mut index: HashMap<Option<&str>, u32> = HashMap::new();
        let mut values: Vec<Option<String>> = Vec::new();
        let mut value_of_row = Vec::with_capacity(n);
        for v in text.iter() {
            let next = values.len() as u32;
            let i = *index.entry(v).or_insert_with(|| {
                values.push(v.map(str::to_string));
                next
            });
            value_of_row.push(i);
        }
        // From the floor, which the loss counts from; the search chooses from `min` up (the
        // same level unless a lock pinned the column above its floor).
        let floor = c.levels.floor;
        let levels = c.levels.max - floor + 1;
        let (mut dim, code_of_value) = dimension(&c.output, levels, &values, |v, i| {
            levels::label(c, v, floor + i)
        })
        .map_err(|e| Error::Job(format!("tables.{}.columns.{}: {e}", t.name, c.name)))?;
        dim.min = c.levels.min - floor;
        dim.ranges = ranges(c);
        for (row, &vi) in value_of_row.iter().enumerate() {
            codes[row * qis.len() + d] = code_of_value[vi as usize];
        }
        finest.push(values.into_iter().zip(code_of_value).collect());
        dims.push(dim);
    }
    let mut people: Vec<u64> = Vec::new();
    let subjects = match kept.column(SUBJECT) {
        Ok(s) => {
            let s = s.u64().map_err(engine)?;
            let mut index: HashMap<u64, u32> = HashMap::new();
            // A missing subject is nobody (as in the k check): it counts for no one.
            Some(
                s.iter()
                    .map(|v| match v {
                        Some(v) => {
                            let next = index.len() as u32;
                            *index.entry(v).or_insert_with(|| {
                                people.push(v);
                                next
                            })
                        }
                        None => NO_SUBJECT,
                    })
                    .collect::<Vec<u32>>(),
            )
        }
        Err(_) => None,
    };
    let rows = kept
        .column(ROWS)
        .and_then(|c| c.cast(&DataType::UInt64))
        .map_err(engine)?;
    let rows: Vec<u64> = rows
        .u64()
        .map_err(engine)?
        .iter()
        .map(|r| r.unwrap_or(0))
        .collect();
    let mut sensitive = Vec::new();
    // The sensitive columns were counted when the models need them (see `pipeline::search_base`).
    let models = t.privacy.is_some_and(|p| !p.models.is_empty());
    for c in t.sensitive().filter(|_| models) {
        let column = kept.column(c.output.as_str()).map_err(engine)?;
        sensitive.push(
            sensitive_codes(
                &c.output,
                column.as_materialized_series(),
                subjects.as_deref(),
                &rows,
            )
            .map_err(engine)?,
        );
    }
    Ok((
        Base {
            dims,
            codes,
            subjects,
            rows,
            sensitive,
        },
        finest,
        people,
    ))
}

/// The bases of a linked table and of the table that links it (or of a k^m table alone), their
/// people lined up: the linking base's subject codes are the linked base's for the people both
/// hold, and codes past the linked base's people for the others.
pub struct JointBases {
    pub linked: Option<Base>,
    pub linking: Base,
    /// Each person's fingerprint, by the linking base's subject codes.
    pub people: Vec<u64>,
}

pub fn joint_bases(
    linked: Option<(&Table, &Counts)>,
    linking: (&Table, &Counts),
) -> Result<JointBases> {
    let (mut base, _, people) = base_with_people(linking.0, linking.1)?;
    let Some((t, counts)) = linked else {
        return Ok(JointBases {
            linked: None,
            linking: base,
            people,
        });
    };
    let (linked, _, mut all_people) = base_with_people(t, counts)?;
    let code: HashMap<u64, u32> = all_people
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, i as u32))
        .collect();
    let remap: Vec<u32> = people
        .iter()
        .map(|&p| {
            code.get(&p).copied().unwrap_or_else(|| {
                all_people.push(p);
                all_people.len() as u32 - 1
            })
        })
        .collect();
    if let Some(subjects) = base.subjects.as_mut() {
        for s in subjects.iter_mut().filter(|s| **s != NO_SUBJECT) {
            *s = remap[*s as usize];
        }
    }
    Ok(JointBases {
        linked: Some(linked),
        linking: base,
        people: all_people,
    })
}

/// One table's part of a joint optimum: its levels (absolute, per quasi-identifier), figures
/// and the search's outcome.
pub type Chosen = (Vec<usize>, NodeReport, Outcome);

/// The levels of a linked table and the table linking it (or of a k^m table alone) with the
/// least mean loss at which the release holds (see [`super::joint`]).
pub fn choose_joint(
    linked: Option<(&Table, &Base, &Privacy)>,
    linking: (&Table, &Base, &Privacy),
    people: &[u64],
) -> Result<(Option<Chosen>, Chosen)> {
    use super::joint::{Joint, Side, search};
    let (t, base, privacy) = linking;
    let joint = Joint {
        linked: linked.map(|(_, base, p)| Side {
            base,
            goal: Goal::of(p),
        }),
        linking: Side {
            base,
            goal: Goal::of(privacy),
        },
        people,
        known_events: privacy.known_events as usize,
    };
    let outcome = search(&joint).map_err(|e| Error::Job(format!("tables.{}: {e}", t.name)))?;
    let Some(best) = outcome.best.clone() else {
        let with = linked.map_or(String::new(), |(l, _, lp)| {
            format!(
                " while tables.{} holds k = {} with at most {}% suppressed",
                l.name,
                lp.k,
                lp.max_suppression * 100.0
            )
        });
        return Err(Error::Privacy(format!(
            "tables.{}: no combination of generalization levels meets k = {}{} with at most {}% \
             of its rows suppressed{with} (of {} level combinations, {} were evaluated). Widen \
             the levels the search may use, coarsen the facts, lower known_events, or raise \
             max_suppression. Nothing was written.",
            t.name,
            privacy.k,
            if privacy.known_events > 1 {
                format!(" for every {} known facts", privacy.known_events)
            } else {
                String::new()
            },
            privacy.max_suppression * 100.0,
            outcome.lattice_nodes,
            outcome.nodes_checked
        )));
    };
    let absolute = |t: &Table, r: &NodeReport| -> Vec<usize> {
        t.quasi_identifiers()
            .zip(&r.levels)
            .map(|(c, l)| c.levels.floor + l)
            .collect()
    };
    let linked = linked
        .zip(best.linked.as_ref())
        .map(|((lt, _, _), r)| (absolute(lt, r), r.clone(), outcome.outcome(r)));
    Ok((
        linked,
        (
            absolute(t, &best.linking),
            best.linking.clone(),
            outcome.outcome(&best.linking),
        ),
    ))
}

/// A sensitive column's values as codes, in the values' order (numbers compare in order for
/// t-closeness), with the table's distribution in people: distinct (subject, value) pairs.
fn sensitive_codes(
    name: &str,
    values: &Series,
    subjects: Option<&[u32]>,
    rows: &[u64],
) -> PolarsResult<SensitiveCodes> {
    let ordered = super::sensitive::is_ordered(values.dtype());
    let distinct = values
        .unique()?
        .sort(SortOptions::default().with_nulls_last(true))?;
    let text = values.cast(&DataType::String)?;
    let distinct_text = distinct.cast(&DataType::String)?;
    let index: HashMap<Option<&str>, u32> = distinct_text
        .str()?
        .iter()
        .enumerate()
        .map(|(i, v)| (v, i as u32))
        .collect();
    let codes: Vec<u32> = text
        .str()?
        .iter()
        .map(|v| index.get(&v).copied().unwrap_or(0))
        .collect();
    let mut pairs: Vec<(u32, u32, u64)> = codes
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, subjects.map_or(0, |s| s[i]), rows[i]))
        .collect();
    pairs.sort_unstable();
    let mut people = vec![0u64; index.len()];
    let mut last: Option<(u32, u32)> = None;
    for (c, s, r) in pairs {
        match subjects {
            // A person counts once per value; nobody (no subject) not at all.
            Some(_) if s != NO_SUBJECT && last != Some((c, s)) => people[c as usize] += 1,
            Some(_) => {}
            None => people[c as usize] += r,
        }
        last = Some((c, s));
    }
    Ok(SensitiveCodes {
        attr: Attribute::new(name, ordered, &people),
        codes,
    })
}

/// The levels with the least loss for `privacy`, as absolute levels per quasi-identifier.
pub fn choose(
    t: &Table,
    base: &Base,
    privacy: &Privacy,
) -> Result<(Vec<usize>, NodeReport, Outcome)> {
    let goal = Goal::of(privacy);
    let outcome = Searcher::new(base)
        .search(&goal)
        .map_err(|e| Error::Job(format!("tables.{}: {e}", t.name)))?;
    let Some(best) = outcome.best.clone() else {
        return Err(Error::Privacy(format!(
            "tables.{}: no combination of generalization levels meets k = {} with at most {}% of \
             rows suppressed (of {} level combinations, {} were evaluated and the others ruled \
             out by them). Widen the levels the search may use, or raise max_suppression. \
             Nothing was written.",
            t.name,
            privacy.k,
            privacy.max_suppression * 100.0,
            outcome.lattice_nodes,
            outcome.nodes_checked
        )));
    };
    let levels = t
        .quasi_identifiers()
        .zip(&best.levels)
        .map(|(c, l)| c.levels.floor + l)
        .collect();
    Ok((levels, best, outcome))
}
